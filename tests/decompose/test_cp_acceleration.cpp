// CpOptions::acceleration: Bro's line search in ALS and HALS, in memory,
// with a mask (exact and EM) and streamed.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "../../lib/src/decompose/cp_linesearch.h"
#include "ltr/decompose/cp.h"
#include "ltr/decompose/cp_stream.h"
#include "ltr/decompose/diagnostics.h"
#include "planted.h"

namespace ltr {
namespace {

// A planted rank-3 tensor with correlated factors (ALS crawls along the
// swamp) plus 5 % noise.
struct Problem {
  Ktensor truth;
  Tensor3 x;
};

Problem CorrelatedProblem(bool nonneg) {
  Problem p;
  p.truth = testing::PlantedKtensor({40, 30, 25}, 3, 11, nonneg);
  // Mix the columns so that every pair has cosine ~0.8.
  for (int n = 0; n < 3; ++n) {
    Matrix& f = p.truth.factors[n];
    const Vector common = f.col(0);
    for (int r = 1; r < 3; ++r)
      f.col(r) = (f.col(r) + 2.0 * common).normalized();
  }
  p.x = testing::AddNoise(p.truth.Full(), 0.05, 12);
  return p;
}

CpOptions Options(CpMethod method, CpAcceleration acceleration) {
  CpOptions o;
  o.method = method;
  o.rank = 3;
  o.tolerance = 1e-9;
  o.max_iterations = 3000;
  o.seed = 5;
  o.acceleration = acceleration;
  return o;
}

// No rise beyond the roundoff of the error formula.
void CheckNeverRises(const std::vector<double>& history) {
  for (size_t t = 1; t < history.size(); ++t)
    CHECK(history[t] <= history[t - 1] * (1 + 1e-10));
}

// Line search vs plain sweeps from the same start: fewer iterations, an
// error no worse, the planted factors found, a history that never rises.
void CheckAccelerates(CpMethod method, const Problem& p, const Mask3* mask) {
  const CpSummary plain = Cp(Options(method, CpAcceleration::kNone), p.x, mask);
  const CpSummary fast =
      Cp(Options(method, CpAcceleration::kLineSearch), p.x, mask);
  INFO("plain " << plain.BriefReport() << "\nline search "
                << fast.BriefReport());
  CHECK(plain.extrapolations == 0);
  CHECK(fast.extrapolations > 0);
  CHECK(fast.converged);
  CHECK(fast.iterations < 0.7 * plain.iterations);
  CHECK(fast.relative_error <= plain.relative_error * (1 + 1e-6));
  CHECK(FactorMatchScore(p.truth, fast.model) > 0.99);
  CheckNeverRises(fast.error_history);
  CheckNeverRises(plain.error_history);
}

}  // namespace

TEST_CASE("Line search cuts CP-ALS iterations at no cost in error",
          "[cp][acceleration]") {
  const Problem p = CorrelatedProblem(false);
  CheckAccelerates(CpMethod::kAls, p, nullptr);
}

TEST_CASE("Line search cuts nonnegative HALS iterations at no cost in error",
          "[cp][acceleration]") {
  const Problem p = CorrelatedProblem(true);
  CheckAccelerates(CpMethod::kNonnegHals, p, nullptr);
}

TEST_CASE("Line search cuts masked CP-ALS iterations, exact and EM",
          "[cp][acceleration]") {
  const Problem p = CorrelatedProblem(false);
  const Mask3 mask = testing::RandomMask(p.x.dims(), 0.3, 13);
  CheckAccelerates(CpMethod::kAls, p, &mask);
  // EM: the same through the imputed sweeps.
  CpOptions plain = Options(CpMethod::kAls, CpAcceleration::kNone);
  CpOptions fast = Options(CpMethod::kAls, CpAcceleration::kLineSearch);
  plain.missing_data = fast.missing_data = MissingData::kEm;
  const CpSummary a = Cp(plain, p.x, &mask), b = Cp(fast, p.x, &mask);
  INFO("em plain " << a.BriefReport() << "\nline search " << b.BriefReport());
  CHECK(b.iterations < 0.7 * a.iterations);
  CHECK(b.relative_error <= a.relative_error * (1 + 1e-6));
  CheckNeverRises(b.error_history);
}

TEST_CASE("With every entry observed, masked line search equals the dense one",
          "[cp][acceleration]") {
  const Problem p = CorrelatedProblem(false);
  const Mask3 all(p.x.dims(), 1);
  CpOptions o = Options(CpMethod::kAls, CpAcceleration::kLineSearch);
  o.max_iterations = 60;
  o.tolerance = 0;
  const CpSummary dense = Cp(o, p.x);
  for (MissingData missing : {MissingData::kExact, MissingData::kEm}) {
    o.missing_data = missing;
    const CpSummary masked = Cp(o, p.x, &all);
    CHECK(masked.extrapolations == dense.extrapolations);
    CHECK(std::abs(masked.relative_error - dense.relative_error) < 1e-9);
    CHECK(FactorMatchScore(dense.model, masked.model) > 1 - 1e-8);
  }
}

TEST_CASE("Streamed line search takes the in-memory steps",
          "[cp][acceleration][cp_stream]") {
  const Problem p = CorrelatedProblem(false);
  CpStreamOptions options;
  options.cp = Options(CpMethod::kAls, CpAcceleration::kLineSearch);
  options.max_slab_rows = 9;  // five slabs
  const CpSummary memory = Cp(options.cp, p.x);
  const CpStreamSummary streamed = CpStream(options, InMemorySlabSource(p.x));
  INFO(memory.BriefReport() << "\n" << streamed.BriefReport());
  REQUIRE(streamed.plan.slabs == 5);
  CHECK(streamed.cp.iterations == memory.iterations);
  CHECK(streamed.cp.extrapolations == memory.extrapolations);
  CHECK(std::abs(streamed.cp.relative_error - memory.relative_error) < 1e-10);
  CHECK(FactorMatchScore(memory.model, streamed.cp.model) > 1 - 1e-8);
  for (size_t t = 0; t < memory.error_history.size(); ++t)
    CHECK(std::abs(memory.error_history[t] - streamed.cp.error_history[t]) <
          1e-10);
  // A kept point costs no read; a rejected one costs one pass more.
  const int rejected = streamed.cp.iterations - 2 - streamed.cp.extrapolations;
  CHECK(streamed.passes <= streamed.cp.iterations + rejected + 2);
}

TEST_CASE("Line search waits for slow sweeps past the first descent",
          "[cp][acceleration]") {
  CpOptions o = Options(CpMethod::kAls, CpAcceleration::kLineSearch);
  const internal::LineSearch search(o, {false, false, false}, 0.0);
  // Too few errors to judge, then decreases falling fast: no point.
  CHECK_FALSE(search.Wanted({0.9, 0.6}));
  CHECK_FALSE(search.Wanted({0.1, 0.09, 0.089}));
  // Slow (each decrease >= half the one before) but still large: ALS's first
  // descent, where the points were all rejected (planted rank 5 ensemble).
  CHECK_FALSE(search.Wanted({0.9, 0.6, 0.45}));
  CHECK_FALSE(search.Wanted({0.5, 0.45, 0.42}));
  // Slow and small: a swamp, where the points pay.
  CHECK(search.Wanted({0.1, 0.099, 0.0985}));
  CHECK(search.Wanted({0.2, 0.195, 0.1905}));
  o.acceleration = CpAcceleration::kNone;
  CHECK_FALSE(internal::LineSearch(o, {false, false, false}, 0.0)
                  .Wanted({0.1, 0.099, 0.0985}));
}

}  // namespace ltr
