// The held-out scores of ltr/fit/metrics.h against hand computations.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "ltr/core/error.h"
#include "ltr/fit/metrics.h"

namespace ltr {

TEST_CASE("the PSTH baseline averages each condition's training entries",
          "[fit][metrics]") {
  // 4 trials (conditions 0, 1, 0, 1) x 2 bins x 2 neurons.
  Recording r;
  r.activity = Tensor3(4, 2, 2);
  r.condition = {0, 1, 0, 1};
  for (Index k = 0; k < 4; ++k)
    for (Index t = 0; t < 2; ++t)
      for (Index n = 0; n < 2; ++n) r.activity(k, t, n) = k + 10 * t + 100 * n;
  Mask3 train(4, 2, 2, 1);
  train(2, 0, 0) = 0;  // condition 0, bin 0, neuron 0: only trial 0 trains
  train(1, 1, 1) = 0;  // condition 1, bin 1, neuron 1: neither trial trains
  train(3, 1, 1) = 0;
  const Tensor3 p = PsthPrediction(r, train);
  CHECK(p(0, 0, 0) == 0.0);            // trial 0 alone
  CHECK(p(2, 0, 0) == 0.0);            // a held-out entry gets it too
  CHECK(p(1, 0, 0) == Approx(2.0));    // (1 + 3) / 2
  CHECK(p(0, 1, 1) == Approx(111.0));  // (110 + 112) / 2
  // No training entry in the cell: neuron 1's mean over its 6 training
  // entries (100 + 101 + 102 + 103 + 110 + 112) / 6.
  CHECK(p(1, 1, 1) == Approx(628.0 / 6));
  CHECK(p(3, 1, 1) == Approx(628.0 / 6));
}

TEST_CASE("per-neuron R^2 is 1 - SS_res / SS_tot on the marked entries",
          "[fit][metrics]") {
  Tensor3 y(1, 4, 3), p(1, 4, 3);
  const double ys[4] = {1, 2, 3, 6};
  const double ps[4] = {1.5, 2, 2, 6};
  for (Index t = 0; t < 4; ++t) {
    y(0, t, 0) = ys[t];
    p(0, t, 0) = ps[t];
    y(0, t, 1) = 5;  // constant: SS_tot = 0
    y(0, t, 2) = ys[t];
    p(0, t, 2) = ys[t];
  }
  Mask3 mask(1, 4, 3, 1);
  mask(0, 3, 2) = mask(0, 2, 2) = mask(0, 1, 2) = 0;  // one entry left
  const Vector r2 = PerNeuronR2(y, p, mask);
  // Neuron 0: mean 3, SS_tot = 4 + 1 + 0 + 9 = 14, SS_res = 0.25 + 1 = 1.25.
  CHECK(r2(0) == Approx(1.0 - 1.25 / 14.0));
  CHECK(std::isnan(r2(1)));
  CHECK(std::isnan(r2(2)));
  CHECK_THROWS_AS(PerNeuronR2(y, p, Mask3(1, 4, 2, 1)), Error);
}

TEST_CASE("a fit of pure noise is flagged: no better than the neurons' means",
          "[fit][metrics]") {
  // 30 trials x 10 bins x 4 neurons of Gaussian noise around per-neuron
  // means: nothing but the means can be predicted.
  Recording r;
  r.activity = Tensor3(30, 10, 4);
  r.condition.assign(30, 0);
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 0.3);
  for (Index k = 0; k < 30; ++k)
    for (Index t = 0; t < 10; ++t)
      for (Index n = 0; n < 4; ++n)
        r.activity(k, t, n) = 0.2 * n - 0.3 + noise(rng);
  FitOptions o;
  o.kind = WeightKind::kLowTensorRank;
  o.rank = 1;
  o.units = 4;
  o.max_iterations = 200;
  const FitSummary fit = FitRnn(o, r);
  REQUIRE(fit.test_metrics.count > 0);
  const HeldOutScores scores = ScoreHeldOut(fit, r);
  // The null model by hand: each neuron's training mean, its held-out mse.
  double sq = 0;
  Index count = 0;
  for (Index n = 0; n < 4; ++n) {
    double sum = 0, entries = 0;
    for (Index k = 0; k < 30; ++k)
      for (Index t = 0; t < 10; ++t)
        if (fit.masks.train(k, t, n) != 0) {
          sum += r.activity(k, t, n);
          entries += 1;
        }
    for (Index k = 0; k < 30; ++k)
      for (Index t = 0; t < 10; ++t)
        if (fit.masks.test(k, t, n) != 0) {
          sq += std::pow(r.activity(k, t, n) - sum / entries, 2);
          ++count;
        }
  }
  CHECK(scores.null_test_metrics.count == count);
  CHECK(scores.null_test_metrics.mse == Approx(sq / count).epsilon(1e-12));
  INFO(fit.BriefReport());
  CHECK(fit.test_metrics.mse >= scores.null_test_metrics.mse);
  CHECK(HeldOutWarning(fit, scores)
            .find("no better than each neuron's "
                  "training mean") != std::string::npos);
  // A fit that beats the null on held-out entries gets no warning.
  FitSummary better = fit;
  better.test_metrics.mse = 0.5 * scores.null_test_metrics.mse;
  CHECK(HeldOutWarning(better, scores).empty());
}

}  // namespace ltr
