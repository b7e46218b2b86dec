// Bro's line search for the alternating CP sweeps (CpOptions::acceleration):
// after a sweep from F_prev to F, the point F + s (F - F_prev) for all
// factors at once, with s = it^(1/p); p starts at 3 (Bro 1998, as the N-way
// toolbox) and grows by one after 4 rejections in a row (TensorLy's rule),
// so that a problem where the jumps keep failing stops paying for them.
// A point is tried only where the sweeps are slow (the last decrease of the
// error at least half the one before, and below 0.01: past the first
// descent) or the last point was kept: a
// rejected point costs a pass over the data, and where ALS converges fast
// nearly every point is rejected.
// The callers keep the point only when its error is below the sweep's.
#ifndef LTR_SRC_CP_LINESEARCH_H_
#define LTR_SRC_CP_LINESEARCH_H_

#include <array>
#include <vector>

#include "ltr/decompose/cp.h"

namespace ltr::internal {

// Unit-column factors and the weights of a Kruskal model during the sweeps.
struct SweepPoint {
  std::array<Matrix, 3> f;
  Vector weights;
};

class LineSearch {
 public:
  // nonneg: modes whose extrapolated factors are clamped at `floor`.
  LineSearch(const CpOptions& options,
             const std::array<bool, 3>& nonneg,
             double floor);

  // Whether to try a point after the next sweep, given the errors of the
  // iterations so far (CpSummary::error_history before that sweep).
  bool Wanted(const std::vector<double>& history) const;
  // The point F + s (F - F_prev), the weights carried by the last mode
  // (as the sweeps leave them), renormalised to unit columns.
  SweepPoint Extrapolate(const SweepPoint& before,
                         const SweepPoint& after,
                         int iteration) const;
  // The caller's verdict on the last point.
  void Accepted();
  void Rejected();

 private:
  bool enabled_;
  std::array<bool, 3> nonneg_;
  double floor_;
  double power_ = 3;
  int failures_ = 0;
  bool last_accepted_ = false;
};

// sum_ir (A diag(w))(i, r) M0(i, r) = <X, M> for the mode-0 MTTKRP M0 of X
// with the point's other two factors.
double InnerFromMode0(const SweepPoint& point, const Matrix& m0);

}  // namespace ltr::internal

#endif  // LTR_SRC_CP_LINESEARCH_H_
