// Nonnegative CP by hierarchical ALS (HALS, Cichocki & Phan 2009): on each
// nonnegative mode, one pass of column updates
//   a_r <- max(floor, a_r + (M_r - A V_r) / V_rr)
// per sweep (M the mode's MTTKRP, V the Hadamard product of the other modes'
// Grams); ordinary least squares on the other modes. The sweep and the
// MTTKRPs are those of CP-ALS (cp_sweep.cpp). Missing entries are always
// handled by EM imputation: HALS needs the dense MTTKRP.
#include "decompose/cp_internal.h"
#include "decompose/cp_kernels.h"

namespace ltr::internal {

CpSummary CpNonnegHals(const CpOptions& options,
                       const Tensor3& x,
                       const Mask3* mask,
                       double x_norm2,
                       Ktensor init) {
  std::array<bool, 3> nonneg{false, false, false};
  for (int mode : options.nonnegative_modes) nonneg[mode] = true;
  return RunSweeps(options, x, mask, x_norm2, std::move(init), nonneg);
}

}  // namespace ltr::internal
