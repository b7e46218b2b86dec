// The CP methods behind ltr::Cp. Each starts from `init` (already of the
// right rank and dimensions), runs its iterations, and fills the summary's
// model (not yet canonical), error history, iterations, converged and message.
// ltr::Cp validates the input, times the run and canonicalises the result.
// x_norm2: the sum of squares of the observed entries (Cp has it from its
// validation pass; one pass over the data less per fit).
#ifndef LTR_SRC_CP_INTERNAL_H_
#define LTR_SRC_CP_INTERNAL_H_

#include "ltr/core/random.h"
#include "ltr/decompose/cp.h"

namespace ltr::internal {

CpSummary CpAls(const CpOptions& options,
                const Tensor3& x,
                const Mask3* mask,
                double x_norm2,
                Ktensor init);
CpSummary CpNonnegHals(const CpOptions& options,
                       const Tensor3& x,
                       const Mask3* mask,
                       double x_norm2,
                       Ktensor init);
CpSummary CpOpt(const CpOptions& options,
                const Tensor3& x,
                const Mask3* mask,
                Ktensor init);
// Observed data must be >= 0 (ltr::Cp checks); fills deviance_history too.
CpSummary CpApr(const CpOptions& options,
                const Tensor3& x,
                const Mask3* mask,
                Ktensor init);

// Whether every observed entry of x is >= 0 (data a Poisson model can
// have). With `require` (cp-apr), a negative one is an ltr::Error naming it.
bool CheckCounts(const Tensor3& x, const Mask3* mask, bool require);

// Poisson deviance 2 sum (X log(X / M) - X + M) over the observed entries
// (mask may be null), model values floored at `floor`, 0 log 0 = 0; one
// threaded pass reconstructing the model slice by slice. Meaningful for
// data >= 0.
double PoissonDeviance(const Tensor3& x,
                       const Mask3* mask,
                       const Ktensor& model,
                       double floor,
                       int num_threads);

// The modes a fit constrains to be >= 0: all three for cp-apr; for
// ncp-hals the listed ones, or all three when none are listed.
std::array<bool, 3> NonnegativeModes(const CpOptions& options);

// x with the entries `mask` marks missing set to 0.
Tensor3 ZeroFilled(const Tensor3& x, const Mask3& mask);

// The nvecs start of one mode: the leading `rank` eigenvectors of
// X_(n) X_(n)^T (random normal columns beyond the mode's size, drawn from
// rng), absolute values on a nonnegative mode.
Matrix NvecsFactor(const Tensor3& x,
                   int mode,
                   Index rank,
                   bool nonneg,
                   Rng* rng,
                   int num_threads);

// The start of an ensemble's restart 0 (EnsembleOptions::nvecs_first) at
// `rank`: nvecs factors for every mode but the largest, whose factor is then
// the least-squares fit to the other two (the largest mode's Gram costs
// most: on 200 x 100 x 500, 5e9 of the three Grams' 8e9 multiply-adds,
// against one MTTKRP pass). Missing entries count as 0, as in nvecs.
Ktensor NvecsFirstStart(const CpOptions& cp,
                        int rank,
                        const Tensor3& x,
                        const Mask3* mask);

// Relative errors divide by ||X||: throws ltr::Error when it is 0 or
// overflows a double at the entries `mask` observes (may be null), which
// would give NaN or zero errors. Non-finite observed entries are left to
// ltr::Cp, which says where they are (the result is then not finite).
// Decompose, RunEnsemble and CrossValidate check their data with it.
// Returns the sum of squares.
double CheckSumOfSquares(const Tensor3& x, const Mask3* mask);

// ltr::Cp after its checks: options valid for x, x finite and zero at the
// missing entries, x_norm2 its sum of squares over the observed ones, init
// (may be null) of the options' rank and x's dimensions. RunEnsemble calls
// it for dense data it has checked once (one pass per fit less).
CpSummary FitCheckedData(const CpOptions& options,
                         const Tensor3& x,
                         const Mask3* mask,
                         double x_norm2,
                         const Ktensor* init);

}  // namespace ltr::internal

#endif  // LTR_SRC_CP_INTERNAL_H_
