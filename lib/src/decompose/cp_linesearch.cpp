#include "decompose/cp_linesearch.h"

#include <cmath>

#include "decompose/cp_kernels.h"

namespace ltr::internal {
namespace {

// Rejections in a row after which the step shrinks (p grows by one).
constexpr int kMaxFailures = 4;
// The first sweeps move far from a random start: extrapolating them wastes
// the test.
constexpr int kFirstIteration = 3;

}  // namespace

LineSearch::LineSearch(const CpOptions& options,
                       const std::array<bool, 3>& nonneg,
                       double floor)
    : enabled_(options.acceleration == CpAcceleration::kLineSearch),
      nonneg_(nonneg),
      floor_(floor) {}

bool LineSearch::Wanted(int iteration) const {
  return enabled_ && iteration >= kFirstIteration;
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

void LineSearch::Accepted() { failures_ = 0; }

void LineSearch::Rejected() {
  if (++failures_ < kMaxFailures) return;
  power_ += 1;
  failures_ = 0;
}

double InnerFromMode0(const SweepPoint& point, const Matrix& m0) {
  return (point.f[0] * point.weights.asDiagonal()).cwiseProduct(m0).sum();
}

}  // namespace ltr::internal
