// Held-out scores of a fitted model that `ltr fit` and `ltr pipeline` report
// beside FitSummary's metrics: the held-out R^2 of every neuron and, for
// counts, a per-condition PSTH baseline scored as the fit is (bits/spike).
#ifndef LTR_FIT_METRICS_H_
#define LTR_FIT_METRICS_H_

#include <limits>
#include <string>

#include "ltr/decompose/crossval.h"
#include "ltr/fit/fit.h"
#include "ltr/formats/recording.h"

namespace ltr {

// Per neuron n: R^2 = 1 - SS_res,n / SS_tot,n over the entries `mask`
// marks, SS_tot,n around that neuron's mean of those entries (the values
// whose median is PredictionMetrics::r2_median). NaN for a neuron with fewer
// than two marked entries or SS_tot,n = 0. Throws ltr::Error on shapes that
// differ.
Vector PerNeuronR2(const Tensor3& data,
                   const Tensor3& prediction,
                   const Mask3& mask);

// The per-condition PSTH baseline: entry (k, t, n) is predicted by the mean
// of the `train` entries of neuron n in time bin t over the trials of k's
// condition (/condition; one condition without it). A (condition, t, n)
// cell without a training entry takes neuron n's mean over all its training
// entries (0 when it has none). It uses no entry outside `train`.
Tensor3 PsthPrediction(const Recording& recording, const Mask3& train);

struct HeldOutScores {
  Vector test_r2_per_neuron;  // (neurons,), PerNeuronR2 on the test entries
  // Counts (poisson fits) with held-out entries, else NaN: the held-out
  // bits/spike of the fit (its test_metrics.bits_per_spike: Poisson
  // log-likelihood gain over each neuron's constant mean held-out rate, in
  // bits per held-out spike) and of the PSTH baseline on the same entries
  // against the same null.
  double bits_per_spike = std::numeric_limits<double>::quiet_NaN();
  double psth_bits_per_spike = std::numeric_limits<double>::quiet_NaN();
  PredictionMetrics psth_test_metrics;  // count 0 without held-out entries
  // The null model (each neuron's mean over the training entries) on the
  // held-out entries: what a fit must beat to have learned anything.
  PredictionMetrics null_test_metrics;
};

// The scores of `fit` (FitRnn's summary with its masks) on the recording it
// was fitted to. Throws ltr::Error when the fit has no masks or its shapes
// differ from the recording's.
HeldOutScores ScoreHeldOut(const FitSummary& fit,
                           const Recording& recording,
                           int num_threads = 1);

// One line when the fit predicts the held-out entries no better than the
// null model of `scores` (a higher held-out mse for the mse loss, fewer
// bits/spike for counts), "" otherwise or without held-out entries.
std::string HeldOutWarning(const FitSummary& fit, const HeldOutScores& scores);

}  // namespace ltr

#endif  // LTR_FIT_METRICS_H_
