// Synthetic data with planted structure, for examples and tests.
#ifndef LTR_SYNTHETIC_H_
#define LTR_SYNTHETIC_H_

#include <cstdint>

#include "ltr/recording.h"
#include "ltr/tensor.h"

namespace ltr {

struct TcaExampleOptions {
  int trials = 150;   // split evenly into baseline, adaptation and washout
  int time_bins = 40;
  int neurons = 50;
  // Relative Gaussian noise: ||noise|| / ||signal||.
  double noise = 0.1;
  double dt = 0.05;  // seconds per bin
  std::uint64_t seed = 1;
};

struct TcaExample {
  Recording recording;  // activity (trials, time, neurons) and epochs
  Ktensor truth;        // the planted rank-3 model, modes (trial, time, neuron)
};

// A learning-over-trials recording with three nonnegative components in the
// spirit of TCA: a stable task response (constant over trials), an
// adaptation component that grows during the adaptation epoch and decays in
// washout, and a slow drift over the session. Each has sparse nonnegative
// neuron loadings and a smooth time course.
TcaExample MakeTcaExample(const TcaExampleOptions& options);

}  // namespace ltr

#endif  // LTR_SYNTHETIC_H_
