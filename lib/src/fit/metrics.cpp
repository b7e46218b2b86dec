// Per-neuron held-out R^2 and the PSTH baseline (ltr/fit/metrics.h).
#include "ltr/fit/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ltr/core/error.h"

namespace ltr {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void CheckShapes(const Tensor3& data, const Dims& a, const Dims& b) {
  if (a != data.dims() || b != data.dims())
    throw Error("held-out scores: data " + DimsToString(data.dims()) +
                ", prediction and mask " + DimsToString(a) + ", " +
                DimsToString(b) + " must have one shape");
}

}  // namespace

Vector PerNeuronR2(const Tensor3& data,
                   const Tensor3& prediction,
                   const Mask3& mask) {
  CheckShapes(data, prediction.dims(), mask.dims());
  const Index n_neurons = data.dim(2);
  Vector count = Vector::Zero(n_neurons), sum = Vector::Zero(n_neurons),
         sum2 = Vector::Zero(n_neurons), res = Vector::Zero(n_neurons);
  for (Index k = 0; k < data.dim(0); ++k)
    for (Index t = 0; t < data.dim(1); ++t)
      for (Index n = 0; n < n_neurons; ++n) {
        if (mask(k, t, n) == 0) continue;
        const double y = data(k, t, n);
        count(n) += 1;
        sum(n) += y;
        sum2(n) += y * y;
        res(n) += (prediction(k, t, n) - y) * (prediction(k, t, n) - y);
      }
  Vector r2(n_neurons);
  for (Index n = 0; n < n_neurons; ++n) {
    const double ss_tot =
        count(n) >= 2 ? sum2(n) - sum(n) * sum(n) / count(n) : 0.0;
    r2(n) = ss_tot > 0 ? 1.0 - res(n) / ss_tot : kNaN;
  }
  return r2;
}

Tensor3 PsthPrediction(const Recording& recording, const Mask3& train) {
  const Tensor3& y = recording.activity;
  CheckShapes(y, y.dims(), train.dims());
  const Index trials = y.dim(0), steps = y.dim(1), neurons = y.dim(2);
  auto condition_of = [&](Index k) {
    return recording.condition.empty()
               ? Index{0}
               : static_cast<Index>(
                     recording.condition[static_cast<size_t>(k)]);
  };
  Index conditions = 1;
  for (Index k = 0; k < trials; ++k)
    conditions = std::max(conditions, condition_of(k) + 1);
  // Sums and counts per (condition, time, neuron) and per neuron.
  Tensor3 sum(conditions, steps, neurons), count(conditions, steps, neurons);
  Vector neuron_sum = Vector::Zero(neurons),
         neuron_count = Vector::Zero(neurons);
  for (Index k = 0; k < trials; ++k)
    for (Index t = 0; t < steps; ++t)
      for (Index n = 0; n < neurons; ++n) {
        if (train(k, t, n) == 0) continue;
        sum(condition_of(k), t, n) += y(k, t, n);
        count(condition_of(k), t, n) += 1;
        neuron_sum(n) += y(k, t, n);
        neuron_count(n) += 1;
      }
  Tensor3 psth(trials, steps, neurons);
  for (Index k = 0; k < trials; ++k)
    for (Index t = 0; t < steps; ++t)
      for (Index n = 0; n < neurons; ++n) {
        const Index c = condition_of(k);
        psth(k, t, n) = count(c, t, n) > 0    ? sum(c, t, n) / count(c, t, n)
                        : neuron_count(n) > 0 ? neuron_sum(n) / neuron_count(n)
                                              : 0.0;
      }
  return psth;
}

namespace {

// Each neuron's mean over its `train` entries, in every entry (0 for a
// neuron without training entries).
Tensor3 NeuronMeanPrediction(const Tensor3& y, const Mask3& train) {
  const Index neurons = y.dim(2);
  Vector sum = Vector::Zero(neurons), count = Vector::Zero(neurons);
  for (Index k = 0; k < y.dim(0); ++k)
    for (Index t = 0; t < y.dim(1); ++t)
      for (Index n = 0; n < neurons; ++n)
        if (train(k, t, n) != 0) {
          sum(n) += y(k, t, n);
          count(n) += 1;
        }
  Tensor3 mean(y.dim(0), y.dim(1), neurons);
  for (Index k = 0; k < y.dim(0); ++k)
    for (Index t = 0; t < y.dim(1); ++t)
      for (Index n = 0; n < neurons; ++n)
        mean(k, t, n) = count(n) > 0 ? sum(n) / count(n) : 0.0;
  return mean;
}

}  // namespace

HeldOutScores ScoreHeldOut(const FitSummary& fit,
                           const Recording& recording,
                           int num_threads) {
  if (fit.masks.test.empty() || fit.masks.train.empty())
    throw Error("held-out scores: the fit has no held-out masks");
  const Tensor3 prediction = Predict(fit.model, recording, num_threads);
  HeldOutScores s;
  s.test_r2_per_neuron =
      PerNeuronR2(recording.activity, prediction, fit.masks.test);
  const bool counts = fit.model.loss == RnnLoss::kPoisson;
  s.psth_test_metrics =
      ComputeMetrics(recording.activity,
                     PsthPrediction(recording, fit.masks.train),
                     fit.masks.test,
                     counts);
  s.null_test_metrics =
      ComputeMetrics(recording.activity,
                     NeuronMeanPrediction(recording.activity, fit.masks.train),
                     fit.masks.test,
                     counts);
  if (counts && fit.test_metrics.count > 0) {
    s.bits_per_spike = fit.test_metrics.bits_per_spike;
    s.psth_bits_per_spike = s.psth_test_metrics.bits_per_spike;
  }
  return s;
}

std::string HeldOutWarning(const FitSummary& fit, const HeldOutScores& scores) {
  if (fit.test_metrics.count == 0 || scores.null_test_metrics.count == 0)
    return "";
  char line[240];
  if (fit.model.loss == RnnLoss::kPoisson) {
    const double fit_bits = fit.test_metrics.bits_per_spike;
    const double null_bits = scores.null_test_metrics.bits_per_spike;
    if (!(fit_bits <= null_bits)) return "";
    std::snprintf(line,
                  sizeof line,
                  "the fit predicts the held-out counts no better than each "
                  "neuron's training mean rate (bits/spike %.4g against "
                  "%.4g)",
                  fit_bits,
                  null_bits);
  } else {
    const double fit_mse = fit.test_metrics.mse;
    const double null_mse = scores.null_test_metrics.mse;
    if (!(fit_mse >= null_mse)) return "";
    std::snprintf(line,
                  sizeof line,
                  "the fit predicts the held-out entries no better than each "
                  "neuron's training mean (held-out mse %.4g against %.4g)",
                  fit_mse,
                  null_mse);
  }
  return line;
}

}  // namespace ltr
