#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/decompose/cp.h"
#include "ltr/decompose/diagnostics.h"
#include "planted.h"

namespace ltr {
namespace {

using testing::AddNoise;
using testing::PlantedKtensor;
using testing::RandomMask;

// ||noisy - clean|| / ||noisy||: the error of the planted model itself, which
// a good fit matches (slightly beats, by fitting some noise).
double NoiseLevel(const Tensor3& noisy, const Tensor3& clean) {
  return (noisy.AsVector() - clean.AsVector()).norm() / noisy.AsVector().norm();
}

// The fit with the smallest error over `restarts` seeds.
CpSummary BestOf(CpOptions options,
                 int restarts,
                 const Tensor3& x,
                 const Mask3* mask = nullptr) {
  CpSummary best;
  best.relative_error = std::numeric_limits<double>::infinity();
  for (int s = 0; s < restarts; ++s) {
    options.seed = 100 + s;
    CpSummary fit = Cp(options, x, mask);
    if (fit.relative_error < best.relative_error) best = std::move(fit);
  }
  return best;
}

// Khatri-Rao product of the two factors other than `mode`, with rows ordered
// as the columns of Unfold(x, mode): the later mode's index fastest.
Matrix KhatriRaoFor(const std::array<Matrix, 3>& f, int mode) {
  const int first = mode == 0 ? 1 : 0;
  const int second = mode == 2 ? 1 : 2;
  const Matrix& p = f[first];
  const Matrix& q = f[second];
  Matrix kr(p.rows() * q.rows(), p.cols());
  for (Index a = 0; a < p.rows(); ++a)
    for (Index b = 0; b < q.rows(); ++b)
      kr.row(a * q.rows() + b) = p.row(a).cwiseProduct(q.row(b));
  return kr;
}

bool Identical(const Ktensor& a, const Ktensor& b) {
  if (a.weights != b.weights) return false;
  for (int n = 0; n < 3; ++n)
    if (a.factors[n] != b.factors[n]) return false;
  return true;
}

double MaxDifference(const Ktensor& a, const Ktensor& b) {
  double d = (a.weights - b.weights).cwiseAbs().maxCoeff() /
             a.weights.cwiseAbs().maxCoeff();
  for (int n = 0; n < 3; ++n)
    d = std::max(d, (a.factors[n] - b.factors[n]).cwiseAbs().maxCoeff());
  return d;
}

TEST_CASE("Mttkrp equals the unfolding times the Khatri-Rao product", "[cp]") {
  // The second shape has K R large enough that pass 2 runs over many blocks
  // of j, split across threads.
  for (const Dims& dims : {Dims{5, 6, 7}, Dims{4, 60, 400}}) {
    Rng rng(7);
    Tensor3 x(dims);
    for (double& v : x.values()) v = rng.Normal();
    std::array<Matrix, 3> f;
    for (int n = 0; n < 3; ++n) f[n] = rng.NormalMatrix(dims[n], 3);
    for (int mode = 0; mode < 3; ++mode) {
      const Matrix expected = Unfold(x, mode) * KhatriRaoFor(f, mode);
      for (int threads : {1, 3}) {
        const Matrix m = Mttkrp(x, f, mode, threads);
        INFO("dims " << DimsToString(dims) << ", mode " << mode << ", threads "
                     << threads);
        REQUIRE(m.rows() == dims[mode]);
        CHECK((m - expected).cwiseAbs().maxCoeff() <=
              1e-12 * expected.cwiseAbs().maxCoeff());
      }
    }
  }
}

TEST_CASE("CP-ALS recovers planted factors from noisy data", "[cp]") {
  const Dims dims{30, 40, 50};
  const Ktensor truth = PlantedKtensor(dims, 4, 1);
  const Tensor3 clean = truth.Full();
  const Tensor3 x = AddNoise(clean, 0.05, 2);
  const double noise = NoiseLevel(x, clean);

  CpOptions options;
  options.rank = 4;
  options.tolerance = 1e-9;
  options.run.num_threads = 2;
  // Best of 3 random starts (each one alone almost always recovers them).
  const CpSummary fit = BestOf(options, 3, x);
  CHECK(fit.converged);
  CHECK(FactorMatchScore(truth, fit.model) >= 0.99);
  // The planted model has error `noise`; the least-squares fit may do a bit
  // better by fitting R (I + J + K) / IJK ~ 1% of the noise power.
  CHECK(fit.relative_error <= noise + 1e-9);
  CHECK(fit.relative_error >= 0.98 * noise);
  // Canonical form: unit columns, weights descending.
  for (int n = 0; n < 3; ++n)
    for (Index r = 0; r < 4; ++r)
      CHECK(fit.model.factors[n].col(r).norm() == Approx(1.0));
  for (Index r = 1; r < 4; ++r)
    CHECK(fit.model.weights[r] <= fit.model.weights[r - 1]);
}

TEST_CASE("CP-ALS from nvecs converges to the planted factors", "[cp]") {
  const Dims dims{20, 25, 30};
  const Ktensor truth = PlantedKtensor(dims, 3, 11);
  const Tensor3 x = AddNoise(truth.Full(), 0.01, 12);
  CpOptions options;
  options.rank = 3;
  options.init = CpInit::kNvecs;
  options.tolerance = 1e-10;
  const CpSummary fit = Cp(options, x);
  CHECK(FactorMatchScore(truth, fit.model) >= 0.99);
  CHECK(fit.relative_error <= NoiseLevel(x, truth.Full()) + 1e-9);
}

TEST_CASE("nvecs initialisation takes the leading eigenvectors of each mode",
          "[cp]") {
  // A rank-one tensor: the leading eigenvector of every mode Gram is the
  // planted factor column, up to sign.
  const Dims dims{6, 7, 8};
  const Ktensor truth = PlantedKtensor(dims, 1, 5);
  CpOptions options;
  options.rank = 1;
  options.init = CpInit::kNvecs;
  const Ktensor init = InitialKtensor(options, truth.Full());
  for (int n = 0; n < 3; ++n)
    CHECK(std::abs(init.factors[n].col(0).dot(truth.factors[n].col(0))) ==
          Approx(1.0).epsilon(1e-10));

  // On nonnegative modes nvecs takes absolute values.
  options.method = CpMethod::kNonnegHals;
  options.rank = 2;
  options.nonnegative_modes = {0, 2};
  Rng rng(3);
  Tensor3 x(dims);
  for (double& v : x.values()) v = rng.Normal();
  const Ktensor signed_init = InitialKtensor(options, x);
  CHECK(signed_init.factors[0].minCoeff() >= 0);
  CHECK(signed_init.factors[2].minCoeff() >= 0);
  CHECK(signed_init.factors[1].minCoeff() < 0);
}

TEST_CASE("The error from the last MTTKRP equals the error by reconstruction",
          "[cp]") {
  const Dims dims{15, 20, 25};
  const Tensor3 x = AddNoise(PlantedKtensor(dims, 3, 21).Full(), 0.2, 22);
  for (CpMethod method : {CpMethod::kAls, CpMethod::kNonnegHals}) {
    CpOptions options;
    options.method = method;
    options.rank = 4;
    options.max_iterations = 15;
    options.tolerance = 0;
    const CpSummary fit = Cp(options, x);
    // error_history comes from ||X||^2 + ||M||^2 - 2 <MTTKRP_2, C>;
    // relative_error is recomputed by Cp from the full model.
    CHECK(fit.error_history.back() ==
          Approx(RelativeError(x, fit.model)).epsilon(1e-9));
    CHECK(fit.relative_error == Approx(fit.error_history.back()).epsilon(1e-9));
  }
}

TEST_CASE(
    "Masked CP-ALS recovers planted factors with half the entries missing",
    "[cp]") {
  const Dims dims{30, 40, 50};
  const Ktensor truth = PlantedKtensor(dims, 4, 31);
  const Tensor3 clean = truth.Full();
  Tensor3 x = AddNoise(clean, 0.05, 32);
  const Mask3 mask = RandomMask(dims, 0.5, 33);
  // Missing entries may hold anything, NaN included.
  for (Index n = 0; n < x.size(); ++n)
    if (!mask.data()[n]) x.data()[n] = std::numeric_limits<double>::quiet_NaN();

  for (MissingData strategy : {MissingData::kExact, MissingData::kEm}) {
    INFO((strategy == MissingData::kExact ? "exact" : "EM"));
    CpOptions options;
    options.rank = 4;
    options.missing_data = strategy;
    options.tolerance = 1e-8;
    options.max_iterations = 1000;
    options.run.num_threads = 2;
    const CpSummary fit = BestOf(options, 2, x, &mask);
    CHECK(std::isfinite(fit.relative_error));
    CHECK(FactorMatchScore(truth, fit.model) >= 0.95);
    // Error on the observed entries ~ the noise level (5%).
    CHECK(fit.relative_error < 0.055);
    CHECK(fit.relative_error > 0.045);
    // The model also predicts the held-out (missing) entries.
    Tensor3 predicted = fit.model.Full();
    double held_out = 0, held_norm = 0;
    for (Index n = 0; n < x.size(); ++n)
      if (!mask.data()[n]) {
        held_out += std::pow(predicted.data()[n] - clean.data()[n], 2);
        held_norm += std::pow(clean.data()[n], 2);
      }
    CHECK(std::sqrt(held_out / held_norm) < 0.05);
  }
}

TEST_CASE("Nonnegative HALS keeps the chosen modes nonnegative", "[cp]") {
  // Signed planted factors: the constraint binds on modes 0 and 2.
  const Dims dims{12, 14, 16};
  const Tensor3 x = AddNoise(PlantedKtensor(dims, 3, 41).Full(), 0.05, 42);
  CpOptions options;
  options.method = CpMethod::kNonnegHals;
  options.nonnegative_modes = {0, 2};
  options.rank = 3;
  options.max_iterations = 100;
  for (CpInit init : {CpInit::kRandom, CpInit::kNvecs}) {
    options.init = init;
    const CpSummary fit = Cp(options, x);
    CHECK(fit.model.factors[0].minCoeff() >= 0);
    CHECK(fit.model.factors[2].minCoeff() >= 0);
    CHECK(fit.model.factors[1].minCoeff() < 0);  // mode 1 is free
    CHECK(fit.model.weights.minCoeff() >= 0);
  }
}

TEST_CASE("Nonnegative HALS recovers planted nonnegative factors", "[cp]") {
  const Dims dims{30, 40, 50};
  const Ktensor truth = PlantedKtensor(dims, 4, 51, /*nonneg=*/true);
  const Tensor3 clean = truth.Full();
  const Tensor3 x = AddNoise(clean, 0.05, 52);
  const double noise = NoiseLevel(x, clean);
  for (const std::vector<int>& modes :
       {std::vector<int>{0, 2}, std::vector<int>{0, 1, 2}}) {
    CpOptions options;
    options.method = CpMethod::kNonnegHals;
    options.nonnegative_modes = modes;
    options.rank = 4;
    options.tolerance = 1e-9;
    options.max_iterations = 1000;
    const CpSummary fit = BestOf(options, 2, x);
    for (int mode : modes) CHECK(fit.model.factors[mode].minCoeff() >= 0);
    CHECK(FactorMatchScore(truth, fit.model) >= 0.99);
    CHECK(fit.relative_error <= noise + 1e-6);
  }

  SECTION("with half the entries missing (EM imputation)") {
    const Mask3 mask = RandomMask(dims, 0.5, 53);
    CpOptions options;
    options.method = CpMethod::kNonnegHals;  // all modes
    options.rank = 4;
    options.tolerance = 1e-8;
    options.max_iterations = 1000;
    const CpSummary fit = BestOf(options, 2, x, &mask);
    for (int n = 0; n < 3; ++n) CHECK(fit.model.factors[n].minCoeff() >= 0);
    CHECK(FactorMatchScore(truth, fit.model) >= 0.95);
  }
}

TEST_CASE("CP-ALS error decreases monotonically", "[cp]") {
  // Rank 5 fit of noisy rank-4 data: many iterations of real progress.
  const Dims dims{20, 25, 30};
  const Tensor3 x = AddNoise(PlantedKtensor(dims, 4, 61).Full(), 0.1, 62);
  const Mask3 mask = RandomMask(dims, 0.3, 63);
  CpOptions options;
  options.rank = 5;
  options.max_iterations = 60;
  options.tolerance = 0;
  for (bool masked : {false, true}) {
    INFO((masked ? "exact masked" : "dense"));
    const CpSummary fit = Cp(options, x, masked ? &mask : nullptr);
    const auto& e = fit.error_history;
    REQUIRE(e.size() == 60);
    for (size_t t = 1; t < e.size(); ++t) CHECK(e[t] <= e[t - 1] + 1e-12);
    CHECK(e.back() < e.front());
  }
}

TEST_CASE("Tolerance 0 runs exactly max_iterations", "[cp]") {
  const Tensor3 x = PlantedKtensor({8, 9, 10}, 2, 71).Full();
  for (CpMethod method : {CpMethod::kAls, CpMethod::kNonnegHals}) {
    CpOptions options;
    options.method = method;
    options.rank = 2;
    options.max_iterations = 37;
    options.tolerance = 0;
    const CpSummary fit = Cp(options, x);
    CHECK(fit.iterations == 37);
    CHECK(fit.error_history.size() == 37);
    CHECK_FALSE(fit.converged);
  }
}

TEST_CASE("CP-ALS reports convergence when the error settles", "[cp]") {
  const Tensor3 x =
      AddNoise(PlantedKtensor({10, 12, 14}, 2, 72).Full(), 0.01, 73);
  CpOptions options;
  options.rank = 2;
  options.tolerance = 1e-7;
  const CpSummary fit = Cp(options, x);
  CHECK(fit.converged);
  CHECK(fit.iterations < options.max_iterations);
  const auto& e = fit.error_history;
  CHECK(std::abs(e[e.size() - 1] - e[e.size() - 2]) < 1e-7);
  CHECK(fit.message.find("converged") != std::string::npos);
  CHECK(fit.BriefReport().find("CP rank 2") != std::string::npos);
}

TEST_CASE("The same seed gives bit-identical fits, another seed does not",
          "[cp]") {
  const Dims dims{15, 20, 25};
  const Tensor3 x = AddNoise(PlantedKtensor(dims, 3, 81).Full(), 0.1, 82);
  const Mask3 mask = RandomMask(dims, 0.3, 83);
  CpOptions options;
  options.rank = 3;
  options.max_iterations = 20;
  options.tolerance = 0;
  options.run.num_threads = 2;
  options.seed = 5;
  const CpSummary a = Cp(options, x);
  const CpSummary b = Cp(options, x);
  CHECK(Identical(a.model, b.model));
  CHECK(a.error_history == b.error_history);
  options.missing_data = MissingData::kEm;
  CHECK(Identical(Cp(options, x, &mask).model, Cp(options, x, &mask).model));
  options.seed = 6;
  CHECK_FALSE(Identical(a.model, Cp(options, x).model));
}

TEST_CASE("One and two threads agree to roundoff", "[cp]") {
  // 6 x 80 x 500: pass 2 splits into several blocks of j.
  const Dims dims{6, 80, 500};
  const Tensor3 x = AddNoise(PlantedKtensor(dims, 3, 91).Full(), 0.05, 92);
  const Mask3 mask = RandomMask(dims, 0.3, 93);
  struct Case {
    const char* name;
    CpMethod method;
    MissingData missing;
    bool masked;
  };
  for (const Case& c :
       {Case{"ALS", CpMethod::kAls, MissingData::kExact, false},
        Case{"exact", CpMethod::kAls, MissingData::kExact, true},
        Case{"EM", CpMethod::kAls, MissingData::kEm, true},
        Case{"HALS", CpMethod::kNonnegHals, MissingData::kEm, false}}) {
    INFO(c.name);
    CpOptions options;
    options.method = c.method;
    options.missing_data = c.missing;
    options.rank = 3;
    options.max_iterations = 20;
    options.tolerance = 0;
    options.run.num_threads = 1;
    const CpSummary one = Cp(options, x, c.masked ? &mask : nullptr);
    options.run.num_threads = 2;
    const CpSummary two = Cp(options, x, c.masked ? &mask : nullptr);
    CHECK(MaxDifference(one.model, two.model) < 1e-10);
    CHECK(one.relative_error == Approx(two.relative_error).epsilon(1e-10));
  }
}

TEST_CASE("CpOptions::IsValid rejects impossible options", "[cp]") {
  const Dims dims{3, 4, 5};
  std::string error;
  CpOptions options;
  options.rank = 2;
  CHECK(options.IsValid(dims, &error));

  options.rank = 0;
  CHECK_FALSE(options.IsValid(dims, &error));
  CHECK(error.find("rank") != std::string::npos);
  options.rank = -3;
  CHECK_FALSE(options.IsValid(dims, &error));
  // The largest possible CP rank of a 3 x 4 x 5 tensor is min(IJ, IK, JK).
  options.rank = 12;
  CHECK(options.IsValid(dims, &error));
  options.rank = 13;
  CHECK_FALSE(options.IsValid(dims, &error));
  CHECK(error.find("12") != std::string::npos);
  options.rank = 2;

  options.method = CpMethod::kNonnegHals;
  options.nonnegative_modes = {0, 3};
  CHECK_FALSE(options.IsValid(dims, &error));
  CHECK(error.find("mode 3") != std::string::npos);
  options.nonnegative_modes = {-1};
  CHECK_FALSE(options.IsValid(dims, &error));
  options.nonnegative_modes = {2};
  CHECK(options.IsValid(dims, &error));
  options.method = CpMethod::kAls;  // constraints need HALS
  CHECK_FALSE(options.IsValid(dims, &error));
  options.nonnegative_modes.clear();

  options.max_iterations = 0;
  CHECK_FALSE(options.IsValid(dims, &error));
  options.max_iterations = 10;
  options.tolerance = -1e-3;
  CHECK_FALSE(options.IsValid(dims, &error));
  options.tolerance = 1e-6;
  options.run.num_threads = 0;
  CHECK_FALSE(options.IsValid(dims, &error));
  options.run.num_threads = 1;
  CHECK_FALSE(options.IsValid({3, 0, 5}, &error));

  options.rank = 13;
  CHECK_THROWS_AS(Cp(options, Tensor3(dims, 1.0)), Error);
}

TEST_CASE("Cp rejects non-finite observed data and mismatched masks", "[cp]") {
  const Dims dims{4, 5, 6};
  Tensor3 x = PlantedKtensor(dims, 2, 95).Full();
  x(1, 2, 3) = std::numeric_limits<double>::quiet_NaN();
  CpOptions options;
  options.rank = 2;
  options.max_iterations = 5;
  try {
    Cp(options, x);
    FAIL("Cp accepted a NaN without a mask");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(what.find("NaN") != std::string::npos);
    CHECK(what.find("(1, 2, 3)") != std::string::npos);
    CHECK(what.find("mask") != std::string::npos);
  }
  Mask3 mask(dims, 1);
  CHECK_THROWS_AS(Cp(options, x, &mask), Error);  // observed NaN
  mask(1, 2, 3) = 0;
  const CpSummary fit = Cp(options, x, &mask);  // masked NaN is fine
  CHECK(std::isfinite(fit.relative_error));
  CHECK(fit.model.weights.allFinite());

  const Mask3 wrong({4, 5, 7}, 1);
  CHECK_THROWS_AS(Cp(options, x, &wrong), Error);
  const Mask3 empty(dims, 0);
  CHECK_THROWS_AS(Cp(options, x, &empty), Error);
}

TEST_CASE("CP of an all-zero tensor returns zero weights, not NaN", "[cp]") {
  const Tensor3 x({5, 6, 7}, 0.0);
  CpOptions options;
  options.rank = 2;
  options.max_iterations = 5;
  const CpSummary fit = Cp(options, x);
  CHECK(fit.model.weights.allFinite());
  CHECK(fit.model.weights.cwiseAbs().maxCoeff() == 0.0);
  CHECK(fit.relative_error == 0.0);
}

}  // namespace
}  // namespace ltr
