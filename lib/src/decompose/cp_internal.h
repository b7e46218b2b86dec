// The CP methods behind ltr::Cp. Each starts from `init` (already of the
// right rank and dimensions), runs its iterations, and fills the summary's
// model (not yet canonical), error history, iterations, converged and message.
// ltr::Cp validates the input, times the run and canonicalises the result.
#ifndef LTR_SRC_CP_INTERNAL_H_
#define LTR_SRC_CP_INTERNAL_H_

#include "ltr/decompose/cp.h"

namespace ltr::internal {

CpSummary CpAls(const CpOptions& options,
                const Tensor3& x,
                const Mask3* mask,
                Ktensor init);
CpSummary CpNonnegHals(const CpOptions& options,
                       const Tensor3& x,
                       const Mask3* mask,
                       Ktensor init);
CpSummary CpOpt(const CpOptions& options,
                const Tensor3& x,
                const Mask3* mask,
                Ktensor init);

}  // namespace ltr::internal

#endif  // LTR_SRC_CP_INTERNAL_H_
