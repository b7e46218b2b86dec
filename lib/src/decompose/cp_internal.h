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

// Relative errors divide by ||X||: throws ltr::Error when it is 0 or
// overflows a double at the entries `mask` observes (may be null), which
// would give NaN or zero errors. Non-finite observed entries are left to
// ltr::Cp, which says where they are. Decompose, RunEnsemble and
// CrossValidate check their data with it.
void CheckSumOfSquares(const Tensor3& x, const Mask3* mask);

}  // namespace ltr::internal

#endif  // LTR_SRC_CP_INTERNAL_H_
