// Tasks for training rate RNNs (docs/train.md): inputs, targets and masks of
// a batch of trials, drawn from an ltr::Rng. Time is measured in units of
// tau; bin i covers t = i * dt, and a duration d lasts int(d / dt) bins.
//
// Every task gives trials of the same length within a batch (Romo pads its
// variable-length trials with mask 0), laid out as rnn.h's RnnTrial:
// inputs N_in x T, targets and mask n_outputs x T; input column i drives the
// step from bin i to bin i + 1 and target column i is compared with the
// output read from the state of bin i.
#ifndef LTR_TASKS_H_
#define LTR_TASKS_H_

#include <Eigen/Core>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/random.h"
#include "ltr/rnn/rnn.h"

namespace ltr {

struct TaskOptions {
  TaskKind kind = TaskKind::kFlipFlop;
  // Bin width in units of tau (= alpha = dt / tau with tau = 1).
  double dt = 0.5;
  // An ltr option, off by default (Schuessler et al. 2020 read z linearly):
  // the loss compares tanh(z) with the target (not for kReach: forces).
  bool output_tanh = false;
  // S20's output timing: the output of bin i is read from the state after
  // the step that input i drives (one bin later than ltr's default). The
  // trial gets one more bin: inputs [u, 0], targets and mask [0, y], [0, m].
  bool read_after_input = false;

  // kFixedPoint: target z-hat read at the last two bins of a T = 100 trial.
  double fixed_point_target = 1.0;
  // kMante: standard deviation of the sensory noise per bin is
  // mante_noise / sqrt(dt).
  double mante_noise = 0.05;

  // kReach: number of target directions (angles 2 pi c / n); 0 draws a
  // continuous angle per trial (condition label 0).
  int reach_conditions = 8;
  double reach_radius = 1.0;  // distance of the targets from the centre
  // Curl force gain k: the plant adds k [[0, 1], [-1, 0]] v to the force.
  double curl = 0.0;
  // Weight of the effort term 1/2 reach_effort sum_t |F[t]|^2 (per trial,
  // normalised like the position term).
  double reach_effort = 0.0;

  bool IsValid(std::string* error) const;
};

// Sizes of the task's trials.
struct TaskShape {
  Eigen::Index inputs = 0;
  Eigen::Index outputs = 0;
  Eigen::Index steps = 0;  // bins per trial, T
};
TaskShape GetTaskShape(const TaskOptions& options);

struct TaskBatch {
  // RnnTrial.condition and .trial are 0 (one initial state for all trials).
  std::vector<RnnTrial> trials;
  // A label per trial: flip-flop the channel of the first pulse, Mante
  // 2 * context + (cued coherence > 0), Romo (f1 > f2), reach the target
  // direction index, fixed point 0.
  std::vector<int> labels;
};

// `count` fresh trials. Deterministic given the state of *rng.
// Throws ltr::Error on invalid options or count < 1.
TaskBatch GenerateBatch(const TaskOptions& options, int count, Rng* rng);

// The data term that the task trains on, for RnnLossOptions::output_loss:
// empty (plain MSE, rnn.h) unless the task has a plant (kReach) or
// output_tanh is set. For kReach the outputs F[t] drive a point mass from
// rest at the origin,
//   v[t+1] = v[t] + dt (F[t] + curl [[0, 1], [-1, 0]] v[t]),
//   p[t+1] = p[t] + dt v[t],
// and S = 1/2 sum_t,i mask(i,t) (p_i[t] - target(i,t))^2
//       + 1/2 reach_effort sum_t |F[t]|^2,
// with the gradient dS/dF by the plant's adjoint (a linear map of the
// position errors).
RnnOutputLoss TaskOutputLoss(const TaskOptions& options);

// Positions p (2 x T) of the reach plant driven by forces F (2 x T).
Eigen::MatrixXd ReachPlantPositions(const TaskOptions& options,
                                    const Eigen::MatrixXd& forces);

}  // namespace ltr

#endif  // LTR_TASKS_H_
