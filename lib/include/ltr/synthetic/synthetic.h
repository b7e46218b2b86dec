// Synthetic data with planted structure, for examples and tests.
#ifndef LTR_SYNTHETIC_H_
#define LTR_SYNTHETIC_H_

#include <cstdint>
#include <functional>
#include <string>

#include "ltr/core/tensor.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"

namespace ltr {

struct TcaExampleOptions {
  int trials = 150;  // split evenly into baseline, adaptation and washout
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

struct LtrTeacherOptions {
  int units = 20;      // N
  int rank = 3;        // R
  int trials = 60;     // K: rows of the trial factors c
  int conditions = 4;  // initial states x0 (trial k has condition k mod C)
  // Observed neurons; 0 = units with an identity readout (units = neurons),
  // otherwise a random readout with orthonormal columns (or rows).
  int neurons = 0;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
  double alpha = 0.5;
  // Scale of the trial factors: c(k, r) varies smoothly over trials in
  // [0.5, 1] * coupling, so the loop gain c(k, r) b_r^T a_r crosses 1.
  double coupling = 2.0;
  double x0_scale = 1.0;  // standard deviation of the x0 entries
  std::uint64_t seed = 1;
  // Observation noise sigma of a recording simulated from the teacher
  // (`ltr synth --kind ltr-teacher --steps T`).
  double observation_noise = 0.05;
};

// A random low-tensor-rank RNN to serve as ground truth ("teacher") for
// fitting: orthonormal a_r, unit b_r close to a_r (b_r^T a_r ~ 0.9, so each
// component has strong recurrent feedback), trial factors that are smooth,
// distinct per component (sinusoids of different frequencies and phases)
// and positive, no inputs, zero bias and offset, mse loss. Factors follow
// NormalizeFactors' convention.
FittedModel MakeLtrTeacher(const LtrTeacherOptions& options);

struct TrajectoryExampleOptions {
  int units = 64;       // N
  int snapshots = 100;  // K, snapshot 0 being W0
  int rank = 3;         // R of the planted update W_k - W_0
  // Entries of W0 are N(0, w0_gain^2 / N), a random initial network.
  double w0_gain = 1.0;
  // Relative noise: ||noise|| / ||W_k - W_0|| over the whole trajectory,
  // i.i.d. Gaussian on every entry of every snapshot.
  double noise = 0.01;
  bool float32 = false;  // store /weights as float32
  std::uint64_t seed = 1;
};

// The planted parts of a learning trajectory
//   W_k = W0 + sum_r c[k, r] a_r b_r^T + E_k,
// with unit random a_r, b_r and update time courses c[:, r] that start at 0
// (c[0, r] = 0): saturating learning curves 1 - exp(-k / tau_r) for even r,
// transient bumps (k / tau_r) exp(1 - k / tau_r) for odd r, tau_r spread
// over the run, scaled so that the r-th term's norm is (R - r / 2) times N.
// No snapshot is formed here, so N = 512 x 2000 snapshots costs N^2 R.
struct TrajectoryExample {
  Matrix w0;  // N x N
  // The update tensor [W_k - W_0] without noise, modes (snapshot, post, pre),
  // in canonical form.
  Ktensor update;
  double noise_sigma = 0;  // standard deviation of each entry of E_k
};

TrajectoryExample MakeTrajectoryExample(
    const TrajectoryExampleOptions& options);

// Each snapshot W_0 .. W_{K-1} of `example` in turn, with noise drawn from
// options.seed, as snapshot(wt) with wt the column-major W_k^T (its data
// are W_k row-major); memory stays at one snapshot. The file layout is
// formats/trajectory_file.h's WriteSyntheticWeights.
void ForEachTrajectorySnapshot(
    const TrajectoryExampleOptions& options,
    const TrajectoryExample& example,
    const std::function<void(const Matrix& wt)>& snapshot);

}  // namespace ltr

#endif  // LTR_SYNTHETIC_H_
