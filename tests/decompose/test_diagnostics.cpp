#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "../../lib/src/core/hungarian.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/decompose/diagnostics.h"
#include "planted.h"

namespace ltr {
namespace {

using testing::AddNoise;
using testing::PlantedKtensor;

// Minimum total cost over all injective maps of rows to columns, by brute
// force over the permutations of the columns.
double BruteForceMinCost(const Matrix& cost) {
  std::vector<int> columns(static_cast<size_t>(cost.cols()));
  std::iota(columns.begin(), columns.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double total = 0;
    for (Index r = 0; r < cost.rows(); ++r) total += cost(r, columns[r]);
    best = std::min(best, total);
  } while (std::next_permutation(columns.begin(), columns.end()));
  return best;
}

double MaxAbsDifference(const Tensor3& a, const Tensor3& b) {
  return (a.AsVector() - b.AsVector()).cwiseAbs().maxCoeff();
}

// `k`'s components reordered so that component r of the result is component
// order[r] of k.
Ktensor Reordered(const Ktensor& k, const std::vector<int>& order) {
  Ktensor out = k;
  out.weights.resize(static_cast<Index>(order.size()));
  for (int n = 0; n < 3; ++n)
    out.factors[n].resize(k.factors[n].rows(),
                          static_cast<Index>(order.size()));
  for (size_t r = 0; r < order.size(); ++r) {
    out.weights[r] = k.weights[order[r]];
    for (int n = 0; n < 3; ++n)
      out.factors[n].col(r) = k.factors[n].col(order[r]);
  }
  return out;
}

CpOptions FitOptions() {
  CpOptions cp;
  cp.method = CpMethod::kAls;
  cp.max_iterations = 500;
  cp.tolerance = 1e-9;
  return cp;
}

}  // namespace

TEST_CASE("Hungarian assignment matches brute force over all permutations",
          "[diagnostics]") {
  Rng rng(7);
  for (int m = 1; m <= 7; ++m) {
    for (int n = 1; n <= m; ++n) {
      for (int trial = 0; trial < 3; ++trial) {
        // Mixed signs, plus a matrix with many ties.
        Matrix cost = rng.NormalMatrix(n, m);
        if (trial == 2) cost = cost.array().round();
        const std::vector<int> column = internal::MinCostAssignment(cost);
        REQUIRE(column.size() == static_cast<size_t>(n));
        std::vector<int> sorted = column;
        std::sort(sorted.begin(), sorted.end());
        REQUIRE(std::adjacent_find(sorted.begin(), sorted.end()) ==
                sorted.end());
        double total = 0;
        for (int r = 0; r < n; ++r) {
          REQUIRE(column[r] >= 0);
          REQUIRE(column[r] < m);
          total += cost(r, column[r]);
        }
        INFO("n = " << n << ", m = " << m << ", trial " << trial);
        CHECK(total == Approx(BruteForceMinCost(cost)).margin(1e-12));
      }
    }
  }
  CHECK_THROWS_AS(internal::MinCostAssignment(Matrix::Zero(3, 2)), Error);
}

TEST_CASE("Align recovers a known permutation and sign flips with score 1",
          "[diagnostics]") {
  const Dims dims{12, 9, 7};
  const Ktensor reference = PlantedKtensor(dims, 4, 11);
  // other's component s is reference's component order[s], with signs
  // flipped in pairs and the scale moved between factors and weights, so
  // other is not canonical.
  const std::vector<int> order{2, 0, 3, 1};
  Ktensor other = Reordered(reference, order);
  other.factors[0].col(0) *= -1;
  other.factors[2].col(0) *= -1;
  other.factors[1].col(1) *= -1;
  other.factors[2].col(1) *= -1;
  other.factors[0].col(3) *= -1;
  other.factors[1].col(3) *= -1;
  other.factors[1].col(2) *= 3.0;
  other.weights[2] /= 3.0;

  const Alignment alignment = Align(reference, other);
  // Reference component r is other's component s with order[s] == r.
  REQUIRE(alignment.permutation == std::vector<int>{1, 3, 0, 2});
  CHECK(alignment.score == Approx(1.0).margin(1e-12));
  for (Index r = 0; r < 4; ++r)
    CHECK(alignment.component_scores[r] == Approx(1.0).margin(1e-12));
  CHECK(FactorMatchScore(reference, other) == Approx(1.0).margin(1e-12));
  // Equal weights after normalisation: the penalty changes nothing.
  CHECK(Align(reference, other, true).score == Approx(1.0).margin(1e-12));

  const Ktensor aligned = ApplyAlignment(reference, other, alignment);
  REQUIRE(aligned.rank() == 4);
  CHECK(MaxAbsDifference(aligned.Full(), other.Full()) < 1e-10);
  Ktensor canonical = aligned;
  canonical.Normalize();
  for (int n = 0; n < 3; ++n)
    CHECK((canonical.factors[n] - reference.factors[n]).cwiseAbs().maxCoeff() <
          1e-12);
  CHECK((canonical.weights - reference.weights).cwiseAbs().maxCoeff() <
        1e-9 * reference.weights.maxCoeff());
}

TEST_CASE("Align matches a larger fit and ApplyAlignment drops the rest",
          "[diagnostics]") {
  const Dims dims{10, 8, 6};
  const Ktensor reference = PlantedKtensor(dims, 3, 21);
  const Ktensor extra = PlantedKtensor(dims, 2, 22);
  // other = [extra 0, reference 1, extra 1, reference 0 flipped, reference 2]
  Ktensor other;
  other.weights.resize(5);
  const std::vector<std::pair<const Ktensor*, int>> parts{{&extra, 0},
                                                          {&reference, 1},
                                                          {&extra, 1},
                                                          {&reference, 0},
                                                          {&reference, 2}};
  for (int n = 0; n < 3; ++n) other.factors[n].resize(dims[n], 5);
  for (int s = 0; s < 5; ++s) {
    other.weights[s] = parts[s].first->weights[parts[s].second];
    for (int n = 0; n < 3; ++n)
      other.factors[n].col(s) = parts[s].first->factors[n].col(parts[s].second);
  }
  other.factors[1].col(3) *= -1;
  other.factors[2].col(3) *= -1;

  const Alignment alignment = Align(reference, other);
  REQUIRE(alignment.permutation == std::vector<int>{3, 1, 4});
  CHECK(alignment.score == Approx(1.0).margin(1e-12));
  const Ktensor aligned = ApplyAlignment(reference, other, alignment);
  REQUIRE(aligned.rank() == 3);
  CHECK(MaxAbsDifference(aligned.Full(), reference.Full()) <
        1e-10 * reference.weights.maxCoeff());
  for (int n = 0; n < 2; ++n)
    for (Index r = 0; r < 3; ++r)
      CHECK(aligned.factors[n].col(r).dot(reference.factors[n].col(r)) > 0);
}

TEST_CASE("Align's weight penalty scales a component by its weight ratio",
          "[diagnostics]") {
  const Ktensor reference = PlantedKtensor({8, 7, 6}, 3, 31);
  Ktensor other = reference;
  other.weights[1] *= 0.25;  // component 1 keeps a quarter of its weight
  const Alignment plain = Align(reference, other);
  CHECK(plain.score == Approx(1.0).margin(1e-12));
  const Alignment penalized = Align(reference, other, true);
  REQUIRE(penalized.permutation == std::vector<int>{0, 1, 2});
  CHECK(penalized.component_scores[0] == Approx(1.0).margin(1e-12));
  CHECK(penalized.component_scores[1] == Approx(0.25).margin(1e-12));
  CHECK(penalized.component_scores[2] == Approx(1.0).margin(1e-12));
  CHECK(penalized.score == Approx(2.25 / 3).margin(1e-12));
}

TEST_CASE("Factor match score of unrelated random Ktensors is low",
          "[diagnostics]") {
  const Dims dims{30, 20, 25};
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const Ktensor a = PlantedKtensor(dims, 4, 100 + seed);
    const Ktensor b = PlantedKtensor(dims, 4, 200 + seed);
    const double score = FactorMatchScore(a, b);
    INFO("seed " << seed);
    CHECK(score >= 0);
    CHECK(score < 0.1);  // a product of three |cos| of random unit vectors
  }
}

TEST_CASE("Align rejects mismatched dimensions and a smaller other",
          "[diagnostics]") {
  const Ktensor a = PlantedKtensor({6, 5, 4}, 3, 1);
  CHECK_THROWS_AS(Align(a, PlantedKtensor({6, 5, 3}, 3, 2)), Error);
  CHECK_THROWS_AS(Align(a, PlantedKtensor({6, 5, 4}, 2, 2)), Error);
  CHECK_THROWS_AS(FactorMatchScore(a, PlantedKtensor({7, 5, 4}, 3, 2)), Error);
  Alignment bad;
  bad.permutation = {0, 0, 1};
  CHECK_THROWS_AS(ApplyAlignment(a, a, bad), Error);
  Ktensor inconsistent = a;
  inconsistent.weights.resize(2);
  CHECK_THROWS_AS(Align(inconsistent, a), Error);
}

TEST_CASE("CORCONDIA is 100 for a tensor that is exactly CP at its rank",
          "[diagnostics]") {
  const Dims dims{15, 12, 10};
  const Ktensor planted = PlantedKtensor(dims, 3, 41);
  const Tensor3 x = planted.Full();
  CHECK(Corcondia(x, planted) == Approx(100.0).margin(1e-8));
  // Not canonical: scale moved into other modes, components reordered.
  Ktensor scrambled = Reordered(planted, {2, 0, 1});
  scrambled.factors[2] *= 5.0;
  scrambled.weights /= 5.0;
  CHECK(Corcondia(x, scrambled) == Approx(100.0).margin(1e-8));
  // Threads share the first product only; the value is the same.
  CHECK(Corcondia(x, planted, RunContext().WithThreads(2)) ==
        Approx(100.0).margin(1e-8));
  CHECK_THROWS_AS(Corcondia(x, PlantedKtensor({15, 12, 9}, 3, 41)), Error);
}

TEST_CASE("CORCONDIA drops well below 100 when the rank is too high",
          "[diagnostics]") {
  const Dims dims{25, 20, 15};
  const Ktensor planted = PlantedKtensor(dims, 3, 51);
  const Tensor3 x = AddNoise(planted.Full(), 0.01, 52);
  CpOptions cp = FitOptions();
  cp.max_iterations = 1000;
  cp.tolerance = 1e-10;
  cp.rank = 3;
  const CpSummary exact = Cp(cp, x);
  CHECK(Corcondia(x, exact.model) > 99.0);
  for (int extra = 1; extra <= 2; ++extra) {
    cp.rank = 3 + extra;
    cp.seed = 10 + extra;
    const CpSummary over = Cp(cp, x);
    INFO("rank " << cp.rank);
    CHECK(Corcondia(x, over.model) < 80.0);
  }
}

TEST_CASE("Ensemble error stops dropping at the planted rank",
          "[diagnostics]") {
  const Dims dims{30, 25, 20};
  const Ktensor planted = PlantedKtensor(dims, 3, 61);
  const Tensor3 x = AddNoise(planted.Full(), 0.01, 62);
  EnsembleOptions options;
  options.cp = FitOptions();
  options.cp.seed = 5;
  options.min_rank = 1;
  options.max_rank = 5;
  options.restarts = 5;
  const EnsembleSummary summary = RunEnsemble(options, x);
  INFO(summary.BriefReport());
  REQUIRE(summary.ranks == std::vector<int>{1, 2, 3, 4, 5});
  REQUIRE(summary.relative_error.rows() == 5);
  REQUIRE(summary.relative_error.cols() == 5);
  REQUIRE(summary.fits.size() == 5);
  for (int r = 0; r < 5; ++r) {
    REQUIRE(summary.fits[r].size() == 5);
    for (int t = 0; t < 5; ++t) {
      CHECK(summary.fits[r][t].model.rank() == r + 1);
      CHECK(summary.relative_error(r, t) == summary.fits[r][t].relative_error);
      if (t > 0)
        CHECK(summary.relative_error(r, t) >= summary.relative_error(r, t - 1));
    }
    CHECK(summary.similarity(r, 0) == 1.0);
  }
  const Vector best = summary.relative_error.col(0);
  // Sharp drops up to the planted rank, down to the noise level...
  CHECK(best[0] > 0.2);
  CHECK(best[1] > 0.1);
  CHECK(best[2] < 0.012);
  CHECK(best[1] > 5 * best[2]);
  // ... and (almost) nothing after it.
  CHECK(best[2] - best[3] < 0.001);
  CHECK(best[3] - best[4] < 0.001);
  // At the true rank the best fit is the planted model, and every restart
  // that reaches its error (ALS from a random start may also stall in a
  // local minimum) has the same factors.
  CHECK(FactorMatchScore(planted, summary.fits[2][0].model) > 0.99);
  int at_optimum = 0;
  for (int t = 0; t < 5; ++t) {
    if (summary.relative_error(2, t) > 1.01 * best[2]) continue;
    ++at_optimum;
    CHECK(summary.similarity(2, t) > 0.99);
  }
  CHECK(at_optimum >= 2);
  CHECK(summary.corcondia(2, 0) > 99.0);
  CHECK(summary.BriefReport().find("rank") != std::string::npos);
}

TEST_CASE("The same seed gives identical ensembles", "[diagnostics]") {
  const Dims dims{12, 10, 8};
  const Tensor3 x = AddNoise(PlantedKtensor(dims, 2, 71).Full(), 0.05, 72);
  EnsembleOptions options;
  options.cp = FitOptions();
  options.cp.max_iterations = 50;
  options.cp.seed = 9;
  options.min_rank = 1;
  options.max_rank = 3;
  options.restarts = 2;
  const EnsembleSummary a = RunEnsemble(options, x);
  const EnsembleSummary b = RunEnsemble(options, x);
  CHECK(a.relative_error == b.relative_error);
  CHECK(a.similarity == b.similarity);
  CHECK(a.corcondia == b.corcondia);
  for (size_t r = 0; r < a.fits.size(); ++r)
    for (size_t t = 0; t < a.fits[r].size(); ++t)
      for (int n = 0; n < 3; ++n)
        CHECK(a.fits[r][t].model.factors[n] == b.fits[r][t].model.factors[n]);
  // Another seed gives other fits from the random restarts (restart 0
  // starts from nvecs: EnsembleOptions::nvecs_first).
  options.cp.seed = 10;
  const EnsembleSummary c = RunEnsemble(options, x);
  const int a1 = a.restart(2, 0) == 1 ? 0 : 1,
            c1 = c.restart(2, 0) == 1 ? 0 : 1;
  CHECK(c.fits[2][c1].model.factors[0] != a.fits[2][a1].model.factors[0]);
  // Seeds do not depend on the thread count (the bits of each fit may, in
  // the last place, through the order of its parallel reductions).
  options.cp.seed = 9;
  options.run.num_threads = 2;
  const EnsembleSummary d = RunEnsemble(options, x);
  for (size_t r = 0; r < a.fits.size(); ++r)
    for (size_t t = 0; t < a.fits[r].size(); ++t)
      CHECK(d.fits[r][t].seed == a.fits[r][t].seed);
  CHECK((d.relative_error - a.relative_error).cwiseAbs().maxCoeff() < 1e-9);
}

TEST_CASE("The same seed gives identical cross-validations", "[diagnostics]") {
  const Dims dims{12, 10, 8};
  const Tensor3 x = AddNoise(PlantedKtensor(dims, 2, 75).Full(), 0.05, 76);
  CrossValidationOptions options;
  options.cp = FitOptions();
  options.cp.max_iterations = 50;
  options.cp.seed = 4;
  options.ranks = {1, 3};
  options.restarts = 2;
  const CrossValidationSummary a = CrossValidate(options, x);
  const CrossValidationSummary b = CrossValidate(options, x);
  CHECK(a.train_error == b.train_error);
  CHECK(a.test_error == b.test_error);
  options.cp.seed = 5;  // another hold-out set and other starts
  const CrossValidationSummary c = CrossValidate(options, x);
  CHECK(c.test_error(0, 0) != a.test_error(0, 0));
}

TEST_CASE("Ensemble and cross-validation reject invalid options",
          "[diagnostics]") {
  const Tensor3 x = PlantedKtensor({6, 5, 4}, 2, 81).Full();
  EnsembleOptions ensemble;
  ensemble.min_rank = 0;
  CHECK_THROWS_AS(RunEnsemble(ensemble, x), Error);
  ensemble.min_rank = 3;
  ensemble.max_rank = 2;
  CHECK_THROWS_AS(RunEnsemble(ensemble, x), Error);
  ensemble.max_rank = 3;
  ensemble.restarts = 0;
  CHECK_THROWS_AS(RunEnsemble(ensemble, x), Error);
  ensemble.restarts = 1;
  const Mask3 wrong_mask({6, 5, 3}, 1);
  CHECK_THROWS_AS(RunEnsemble(ensemble, x, &wrong_mask), Error);

  CrossValidationOptions cv;
  CHECK_THROWS_AS(CrossValidate(cv, x), Error);  // no ranks
  cv.ranks = {1, 0};
  CHECK_THROWS_AS(CrossValidate(cv, x), Error);
  cv.ranks = {1, 2};
  cv.test_fraction = 0;
  CHECK_THROWS_AS(CrossValidate(cv, x), Error);
  cv.test_fraction = 0.95;
  CHECK_THROWS_AS(CrossValidate(cv, x), Error);
  cv.test_fraction = 0.1;
  cv.restarts = 0;
  CHECK_THROWS_AS(CrossValidate(cv, x), Error);
  cv.restarts = 1;
  CHECK_THROWS_AS(CrossValidate(cv, x, &wrong_mask), Error);
  const Mask3 nothing_observed({6, 5, 4}, 0);
  CHECK_THROWS_AS(CrossValidate(cv, x, &nothing_observed), Error);
}

TEST_CASE("Ensemble and cross-validation refuse data that are zero or overflow",
          "[diagnostics]") {
  // ||X|| = 0 made every relative error 0 (a perfect fit of nothing), and
  // ||X||^2 = inf made them NaN: both are errors, as in ltr::Decompose.
  EnsembleOptions ensemble;
  ensemble.ranks = {1, 2};
  CrossValidationOptions cv;
  cv.ranks = {1, 2};
  const Tensor3 zero({6, 5, 4}, 0.0);
  CHECK_THROWS_WITH(RunEnsemble(ensemble, zero),
                    Catch::Contains("zero at every observed entry"));
  CHECK_THROWS_WITH(CrossValidate(cv, zero),
                    Catch::Contains("zero at every observed entry"));
  // Zero where observed: the mask decides.
  Tensor3 x = PlantedKtensor({6, 5, 4}, 2, 81).Full();
  Mask3 first_only({6, 5, 4}, 0);
  first_only.data()[0] = 1;
  x.data()[0] = 0;
  CHECK_THROWS_WITH(RunEnsemble(ensemble, x, &first_only),
                    Catch::Contains("zero at every observed entry"));
  Tensor3 huge = PlantedKtensor({6, 5, 4}, 2, 81).Full();
  huge.data()[3] = 1e200;
  CHECK_THROWS_WITH(RunEnsemble(ensemble, huge),
                    Catch::Contains("overflows a double"));
  // A NaN is Cp's to report, with its position.
  huge.data()[3] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(RunEnsemble(ensemble, huge), Catch::Contains("NaN at"));
}

TEST_CASE("Cross-validated test error is lowest from the planted rank on",
          "[diagnostics]") {
  const Dims dims{30, 25, 20};
  const Ktensor planted = PlantedKtensor(dims, 3, 91);
  const Tensor3 x = AddNoise(planted.Full(), 0.05, 92);
  CrossValidationOptions options;
  options.cp = FitOptions();
  options.cp.seed = 3;
  options.ranks = {1, 2, 3, 4, 5};
  options.restarts = 3;
  options.test_fraction = 0.2;
  const CrossValidationSummary summary = CrossValidate(options, x);
  INFO(summary.BriefReport());
  REQUIRE(summary.ranks == options.ranks);
  REQUIRE(summary.train_error.rows() == 5);
  REQUIRE(summary.test_error.cols() == 3);
  const Vector train = summary.train_error.col(0);
  const Vector test = summary.test_error.col(0);
  // At the planted rank both errors sit at the noise level (5%).
  CHECK(train[2] == Approx(0.05).margin(0.01));
  CHECK(test[2] == Approx(0.05).margin(0.01));
  CHECK(test[1] > 2 * test[2]);
  CHECK(test[0] > test[1]);
  // Beyond it training error keeps creeping down but held-out error does
  // not improve.
  for (int r = 3; r < 5; ++r) {
    CHECK(train[r] <= train[r - 1] + 1e-4);
    CHECK(test[r] > test[2] - 0.001);
  }
}

TEST_CASE("Cross-validation holds out only observed entries", "[diagnostics]") {
  const Dims dims{14, 12, 10};
  const Ktensor planted = PlantedKtensor(dims, 2, 101);
  const Tensor3 x = AddNoise(planted.Full(), 0.02, 102);
  const Mask3 mask = testing::RandomMask(dims, 0.3, 103);
  // Corrupt the missing entries: if any were used, errors would explode.
  Tensor3 corrupted = x;
  for (Index n = 0; n < x.size(); ++n)
    if (!mask.data()[n]) corrupted.data()[n] = 1e6;
  CrossValidationOptions options;
  options.cp = FitOptions();
  options.ranks = {2};
  // About 1 in 7 masked ALS fits of this small, half-observed problem stall
  // from a random start; the best of 5 is what a user would take.
  options.restarts = 5;
  options.test_fraction = 0.25;
  const CrossValidationSummary summary =
      CrossValidate(options, corrupted, &mask);
  INFO(summary.BriefReport());
  CHECK(summary.train_error(0, 0) < 0.03);
  CHECK(summary.test_error(0, 0) < 0.03);
}

}  // namespace ltr
