// Running a fitted (or teacher) RNN to make a recording: the inverse of
// FitRnn, used for posterior predictive checks and synthetic ground truth.
#ifndef LTR_SIMULATE_H_
#define LTR_SIMULATE_H_

#include <cstdint>
#include <string>

#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"

namespace ltr {

struct SimulateOptions {
  // Trials to simulate. 0 = the rows of c for an ltr model, or the trials of
  // the `inputs` recording when one is given; otherwise required. An ltr
  // model can simulate at most its c rows (trial k uses row k).
  Index trials = 0;
  // Time bins per trial (T; T - 1 Euler steps). 0 = those of `inputs`
  // when given; otherwise required.
  Index steps = 0;
  // Process noise sigma (the RNN's sqrt(alpha) sigma xi term), >= 0.
  double noise_sigma = 0.0;
  // Observation noise: for an mse model, Gaussian with this standard
  // deviation is added to the outputs. A poisson model always draws counts
  // ~ Poisson(softplus(output)) and ignores it.
  double observation_noise = 0.0;
  double dt = 1.0;  // written as the recording's dt
  std::uint64_t seed = 0;

  bool IsValid(std::string* error) const;
};

// Simulates `model` trial by trial with rnn.h's Simulate. With `inputs`
// (may be null), its /inputs drive the model (their width must equal the
// model's inputs) and its /condition labels pick x0 and h (each must be
// below the model's number of conditions); without, trial k has condition
// k mod conditions and zero inputs (a model with inputs then needs them).
// The result holds /activity, /inputs (if any), /condition and dt. Throws
// ltr::Error on invalid options, mismatched inputs or a non-finite activity
// (a model whose dynamics diverge).
Recording SimulateRecording(const FittedModel& model,
                            const SimulateOptions& options,
                            const Recording* inputs = nullptr);

}  // namespace ltr

#endif  // LTR_SIMULATE_H_
