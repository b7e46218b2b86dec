#include "decompose/cp_linesearch.h"

#include <cmath>

#include "decompose/cp_kernels.h"

namespace ltr::internal {
namespace {

// Rejections in a row after which the step shrinks (p grows by one).
constexpr int kMaxFailures = 4;
// A point is tried when the last sweep's decrease of the error was at least
// this fraction of the one before: in a swamp (ratios 0.6-0.95) the jumps
// pay; where ALS converges fast (ratios ~0.1, falling to 0) they are
// rejected and each costs a pass over the data (TCA ensemble of
// bench_ensemble_peers.py: 72 of 91 points rejected when every sweep tried
// one).
constexpr double kSlowRatio = 0.5;
// ... and only once the last decrease of the relative error is below this:
// above it ALS is still in its first descent, whose decreases jump about
// (TCA ensemble of bench_ensemble_peers.py at tol 1e-5: 16 points tried
// there, all rejected, while the sweeps stopped 1-3 sweeps later anyway).
constexpr double kSlowDecrease = 1e-2;

}  // namespace

LineSearch::LineSearch(const CpOptions& options,
                       const std::array<bool, 3>& nonneg,
                       double floor)
    : enabled_(options.acceleration == CpAcceleration::kLineSearch),
      nonneg_(nonneg),
      floor_(floor) {}

bool LineSearch::Wanted(const std::vector<double>& history) const {
  if (!enabled_) return false;
  if (last_accepted_) return true;
  const size_t n = history.size();
  if (n < 3) return false;
  const double previous = history[n - 3] - history[n - 2];
  const double last = history[n - 2] - history[n - 1];
  return previous > 0 && last >= kSlowRatio * previous && last < kSlowDecrease;
}

SweepPoint LineSearch::Extrapolate(const SweepPoint& before,
                                   const SweepPoint& after,
                                   int iteration) const {
  const double step = std::pow(static_cast<double>(iteration), 1.0 / power_);
  SweepPoint point;
  point.weights = Vector::Ones(after.weights.size());
  for (int n = 0; n < 3; ++n) {
    Matrix from = before.f[n], to = after.f[n];
    if (n == 2) {
      from = from * before.weights.asDiagonal();
      to = to * after.weights.asDiagonal();
    }
    Matrix f = to + step * (to - from);
    if (nonneg_[n]) f = f.cwiseMax(floor_);
    point.weights = point.weights.cwiseProduct(NormalizeColumns(&f));
    point.f[n] = std::move(f);
  }
  return point;
}

void LineSearch::Accepted() {
  failures_ = 0;
  last_accepted_ = true;
}

void LineSearch::Rejected() {
  last_accepted_ = false;
  if (++failures_ < kMaxFailures) return;
  power_ += 1;
  failures_ = 0;
}

double InnerFromMode0(const SweepPoint& point, const Matrix& m0) {
  return (point.f[0] * point.weights.asDiagonal()).cwiseProduct(m0).sum();
}

}  // namespace ltr::internal
