// CP-OPT: the objective and its hand-written gradient, agreement with CP-ALS,
// recovery of planted factors with and without missing data.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "../../lib/src/decompose/cp_opt.h"
#include "gradient_check.h"
#include "ltr/core/random.h"
#include "ltr/decompose/cp.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/formats/io.h"
#include "planted.h"

namespace ltr {
namespace {

using testing::AddNoise;
using testing::PlantedKtensor;
using testing::RandomMask;

// f at `p` computed the slow way: build the model tensor entry by entry.
double ReferenceObjective(const Tensor3& x,
                          const Mask3* mask,
                          const std::array<Matrix, 3>& f) {
  const Dims& d = x.dims();
  double sum = 0;
  for (Index i = 0; i < d[0]; ++i)
    for (Index j = 0; j < d[1]; ++j)
      for (Index k = 0; k < d[2]; ++k) {
        if (mask && !(*mask)(i, j, k)) continue;
        double m = 0;
        for (Index r = 0; r < f[0].cols(); ++r)
          m += f[0](i, r) * f[1](j, r) * f[2](k, r);
        sum += 0.5 * (x(i, j, k) - m) * (x(i, j, k) - m);
      }
  return sum;
}

TEST_CASE("CP-OPT gradient equals central finite differences", "[cp-opt]") {
  const Dims dims{5, 4, 6};
  const int rank = 3;
  Rng rng(7);
  Tensor3 x(dims);
  for (double& v : x.values()) v = rng.Normal();
  const bool masked = GENERATE(false, true);
  Mask3 mask = RandomMask(dims, 0.4, 11);
  if (masked) {
    // Missing entries may hold anything, NaN included.
    for (Index n = 0; n < x.size(); ++n)
      if (!mask.data()[n])
        x.data()[n] = std::numeric_limits<double>::quiet_NaN();
  }
  const Mask3* m = masked ? &mask : nullptr;
  const internal::CpOptObjective objective(x, m, rank, /*num_threads=*/1);
  REQUIRE(objective.NumParameters() == (5 + 4 + 6) * rank);

  std::array<Matrix, 3> factors;
  for (int n = 0; n < 3; ++n) factors[n] = rng.NormalMatrix(dims[n], rank);
  std::vector<double> p = objective.Pack(factors);
  const auto round_trip = objective.Unpack(p.data());
  for (int n = 0; n < 3; ++n) REQUIRE(round_trip[n] == factors[n]);

  std::vector<double> gradient(p.size());
  const double f = objective.Evaluate(p.data(), gradient.data());
  CHECK(f == Approx(ReferenceObjective(x, m, factors)).epsilon(1e-12));
  CHECK(objective.Evaluate(p.data(), nullptr) == f);

  // Relative to max(|g|, 1): the objective is of order 1e3.
  const Eigen::Map<const Eigen::VectorXd> at(p.data(), p.size());
  const Eigen::Map<const Eigen::VectorXd> g(gradient.data(), gradient.size());
  auto objective_at = [&](const Eigen::VectorXd& q) {
    return objective.Evaluate(q.data(), nullptr);
  };
  const double worst =
      testing::CheckGradient(objective_at, at, g, 1e-5, 1.0).max_error;
  INFO("largest relative gradient error " << worst);
  CHECK(worst < 1e-7);
}

TEST_CASE("CP-OPT objective does not depend on the thread count", "[cp-opt]") {
  const Dims dims{37, 9, 11};
  const int rank = 4;
  Rng rng(3);
  Tensor3 x(dims);
  for (double& v : x.values()) v = rng.Normal();
  const Mask3 mask = RandomMask(dims, 0.3, 5);
  std::array<Matrix, 3> factors;
  for (int n = 0; n < 3; ++n) factors[n] = rng.NormalMatrix(dims[n], rank);

  const internal::CpOptObjective one(x, &mask, rank, 1);
  const internal::CpOptObjective three(x, &mask, rank, 3);
  const std::vector<double> p = one.Pack(factors);
  std::vector<double> g1(p.size()), g3(p.size());
  const double f1 = one.Evaluate(p.data(), g1.data());
  const double f3 = three.Evaluate(p.data(), g3.data());
  CHECK(f1 == f3);
  CHECK(g1 == g3);
}

TEST_CASE(
    "CP-OPT reaches the CP-ALS error on a planted noisy problem and recovers "
    "the planted factors",
    "[cp-opt]") {
  const Dims dims{20, 25, 30};
  const int rank = 3;
  const Ktensor planted = PlantedKtensor(dims, rank, 21);
  const Tensor3 x = AddNoise(planted.Full(), 0.1, 22);

  CpOptions options;
  options.rank = rank;
  options.seed = 4;
  options.tolerance = 1e-10;
  options.max_iterations = 1000;
  options.run.num_threads = 2;
  options.method = CpMethod::kAls;
  const CpSummary als = Cp(options, x);
  options.method = CpMethod::kOpt;
  const CpSummary opt = Cp(options, x);
  INFO(als.BriefReport());
  INFO(opt.BriefReport());

  CHECK(opt.converged);
  CHECK(opt.iterations > 0);
  CHECK(opt.iterations == static_cast<int>(opt.error_history.size()));
  CHECK(opt.error_history.back() == Approx(opt.relative_error).epsilon(1e-8));
  // The noise is 10% of the signal: the optimum fits to about that.
  CHECK(opt.relative_error == Approx(0.1).epsilon(0.1));
  CHECK(std::abs(opt.relative_error - als.relative_error) <=
        1e-4 * als.relative_error);
  CHECK(FactorMatchScore(planted, opt.model) >= 0.99);
  CHECK(FactorMatchScore(als.model, opt.model) >= 0.999);
  // Canonical form from ltr::Cp: unit columns, weights descending.
  for (int n = 0; n < 3; ++n)
    for (Index r = 0; r < rank; ++r)
      CHECK(opt.model.factors[n].col(r).norm() == Approx(1.0).epsilon(1e-12));
  for (Index r = 1; r < rank; ++r)
    CHECK(opt.model.weights[r - 1] >= opt.model.weights[r]);
}

TEST_CASE("CP-OPT recovers planted factors with 40% of entries missing",
          "[cp-opt]") {
  const Dims dims{25, 20, 30};
  const int rank = 4;
  const Ktensor planted = PlantedKtensor(dims, rank, 31);
  Tensor3 x = AddNoise(planted.Full(), 0.05, 32);
  const Mask3 mask = RandomMask(dims, 0.4, 33);
  for (Index n = 0; n < x.size(); ++n)
    if (!mask.data()[n]) x.data()[n] = std::numeric_limits<double>::quiet_NaN();

  CpOptions options;
  options.method = CpMethod::kOpt;
  options.rank = rank;
  options.seed = 8;
  options.tolerance = 1e-9;
  options.max_iterations = 1000;
  options.run.num_threads = 2;
  const CpSummary fit = Cp(options, x, &mask);
  INFO(fit.BriefReport());
  CHECK(std::isfinite(fit.relative_error));
  CHECK(fit.relative_error < 0.06);
  CHECK(FactorMatchScore(planted, fit.model) >= 0.95);
  // The missing entries are predicted from the observed ones.
  const Tensor3 full = fit.model.Full();
  const Tensor3 truth = planted.Full();
  double missing_error = 0, missing_norm = 0;
  for (Index n = 0; n < x.size(); ++n)
    if (!mask.data()[n]) {
      missing_error += std::pow(full.data()[n] - truth.data()[n], 2);
      missing_norm += std::pow(truth.data()[n], 2);
    }
  CHECK(std::sqrt(missing_error / missing_norm) < 0.05);
}

TEST_CASE("CP-OPT with tolerance 0 runs max_iterations", "[cp-opt]") {
  // Large enough (and over-fitted at rank 4) that the iterations after the
  // ALS warm-up sweeps do not reach the optimum to round-off.
  const Dims dims{20, 25, 30};
  const Tensor3 x = AddNoise(PlantedKtensor(dims, 2, 41).Full(), 0.2, 42);
  CpOptions options;
  options.method = CpMethod::kOpt;
  options.rank = 4;
  options.tolerance = 0;
  options.max_iterations = 25;
  const CpSummary fit = Cp(options, x);
  INFO(fit.BriefReport());
  CHECK(fit.iterations == 25);
  CHECK(fit.error_history.size() == 25);
  CHECK_FALSE(fit.converged);
  // L-BFGS with a Wolfe line search never increases the cost.
  for (size_t t = 1; t < fit.error_history.size(); ++t)
    CHECK(fit.error_history[t] <= fit.error_history[t - 1]);
}

TEST_CASE(
    "CP-OPT converges on noiseless data once the error meets the "
    "tolerance",
    "[cp-opt]") {
  const Dims dims{12, 10, 14};
  const Ktensor planted = PlantedKtensor(dims, 3, 51);
  CpOptions options;
  options.method = CpMethod::kOpt;
  options.rank = 3;
  options.seed = 2;
  options.tolerance = 1e-6;
  options.max_iterations = 1000;
  const CpSummary fit = Cp(options, planted.Full());
  INFO(fit.BriefReport());
  CHECK(fit.converged);
  CHECK(fit.iterations < 1000);
  CHECK(fit.relative_error <= 1e-6);
  CHECK(FactorMatchScore(planted, fit.model) >= 0.9999);
}

// Sparse counts as binned spike trains are: Poisson draws from a nonnegative
// rank-3 rate tensor of mean 0.02, so about 98% of the entries are 0.
Tensor3 PlantedSparseCounts(const Dims& dims, std::uint64_t seed) {
  Tensor3 rate = PlantedKtensor(dims, 3, seed, /*nonneg=*/true).Full();
  rate.AsVector() *= 0.02 / rate.AsVector().mean();
  Rng rng(seed + 1);
  Tensor3 counts(dims);
  for (Index n = 0; n < rate.size(); ++n)
    counts.data()[n] = static_cast<double>(
        std::poisson_distribution<int>(rate.data()[n])(rng.engine()));
  return counts;
}

TEST_CASE("CP-OPT fits sparse counts as well as CP-ALS", "[cp-opt]") {
  const Tensor3 x = PlantedSparseCounts({300, 30, 40}, 61);
  const double zeros =
      static_cast<double>((x.AsVector().array() == 0).count()) / x.size();
  REQUIRE(zeros > 0.9);
  CpOptions options;
  options.rank = 3;
  options.run.num_threads = 2;
  double best_als = 1, best_opt = 1;
  for (std::uint64_t seed : {0, 1, 2}) {
    options.seed = seed;
    options.method = CpMethod::kAls;
    const CpSummary als = Cp(options, x);
    options.method = CpMethod::kOpt;
    const CpSummary opt = Cp(options, x);
    INFO("seed " << seed << "\n"
                 << als.BriefReport() << "\n"
                 << opt.BriefReport());
    best_als = std::min(best_als, als.relative_error);
    best_opt = std::min(best_opt, opt.relative_error);
    // Measured: ALS 0.914241 at seeds 0 and 1 and 0.922797 (a local
    // minimum) at seed 2; CP-OPT 0.922791, 0.914241, 0.922789. From the raw
    // random start CP-OPT ended at 0.99984-0.99991 (a model of ~0).
    CHECK(opt.relative_error < 0.93);
  }
  CHECK(best_opt == Approx(best_als).epsilon(1e-4));
}

TEST_CASE("CP-OPT reaches CP-ALS's error on the shipped TCA example",
          "[cp-opt]") {
  const Tensor3 x = io::ReadTensor3(
      std::string(LTR_SOURCE_DIR) + "/data/example_tca.h5", "/activity");
  CpOptions options;
  options.rank = 3;
  options.run.num_threads = 2;
  const CpSummary als = Cp(options, x);
  options.method = CpMethod::kOpt;
  const CpSummary opt = Cp(options, x);
  INFO(als.BriefReport() << "\n" << opt.BriefReport());
  // Measured: ALS 0.0994865, CP-OPT 0.0994832 in 53 iterations (it was
  // 0.1517 after the 500 allowed from the raw random start).
  CHECK(opt.converged);
  CHECK(opt.relative_error <= 1.001 * als.relative_error);
}

}  // namespace
}  // namespace ltr
