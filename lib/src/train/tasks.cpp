// Task generators (docs/train.md) and the reach task's point-mass plant.
#include "ltr/train/tasks.h"

#include <algorithm>
#include <cmath>

#include "ltr/core/error.h"

namespace ltr {

using Eigen::Index;
using Eigen::MatrixXd;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Bins in a duration d (in tau): int(d / dt), the convention of §3. A tiny
// tolerance keeps 3 / 0.5 at 6 despite rounding.
Index Bins(double duration, double dt) {
  return static_cast<Index>(std::floor(duration / dt + 1e-9));
}

double UniformIn(Rng* rng, double lo, double hi) {
  return lo + (hi - lo) * rng->Uniform();
}

// S20's timing (TaskOptions::read_after_input): the trial of T bins becomes
// one of T + 1 whose bin i + 1 holds target and mask i, so that the state
// after the step driven by input i explains it.
RnnTrial ReadAfterInput(const RnnTrial& trial) {
  const Index t = trial.inputs.cols();
  RnnTrial shifted = trial;
  shifted.inputs.conservativeResize(Eigen::NoChange, t + 1);
  shifted.inputs.col(t).setZero();
  shifted.targets.setZero(trial.targets.rows(), t + 1);
  shifted.targets.rightCols(t) = trial.targets;
  shifted.mask.setZero(trial.mask.rows(), t + 1);
  shifted.mask.rightCols(t) = trial.mask;
  return shifted;
}

RnnTrial EmptyTrial(const TaskShape& shape) {
  RnnTrial trial;
  trial.inputs = MatrixXd::Zero(shape.inputs, shape.steps);
  trial.targets = MatrixXd::Zero(shape.outputs, shape.steps);
  trial.mask = MatrixXd::Zero(shape.outputs, shape.steps);
  return trial;
}

// Pulse onsets (in bins) of the flip-flop tasks: the first at t = 1, then
// each previous + U(5, 25) + 5, while inside the trial.
std::vector<Index> FlipFlopOnsets(double dt, Index steps, Rng* rng) {
  std::vector<Index> onsets;
  double onset = 1.0;
  while (Bins(onset, dt) < steps) {
    onsets.push_back(Bins(onset, dt));
    onset += UniformIn(rng, 5.0, 25.0) + 5.0;
  }
  return onsets;
}

void FlipFlop(const TaskOptions& o,
              const TaskShape& shape,
              bool bits,
              Rng* rng,
              RnnTrial* trial,
              int* label) {
  const Index pulse = Bins(1.0, o.dt);
  const Index settle = Bins(5.0, o.dt);
  const std::vector<Index> onsets = FlipFlopOnsets(o.dt, shape.steps, rng);
  std::vector<double> held = {0.0, 0.0};  // bits: each channel's last sign
  for (size_t n = 0; n < onsets.size(); ++n) {
    const Index channel = static_cast<Index>(rng->Below(2));
    const double sign = rng->Uniform() < 0.5 ? -1.0 : 1.0;
    if (n == 0) *label = static_cast<int>(channel);
    const Index begin = onsets[n];
    const Index next = n + 1 < onsets.size() ? onsets[n + 1] : shape.steps;
    for (Index t = begin; t < std::min(begin + pulse, shape.steps); ++t)
      trial->inputs(channel, t) = sign;
    if (!bits) {
      // Schuessler et al.: from onset + 5 to the next onset the pulsed channel
      // holds sign * 0.5 and the other 0, both observed.
      for (Index t = begin + settle; t < next; ++t) {
        trial->targets(channel, t) = 0.5 * sign;
        trial->mask.col(t).setOnes();
      }
    } else {
      held[static_cast<size_t>(channel)] = sign;
      for (Index t = begin; t < next; ++t)
        for (Index c = 0; c < 2; ++c)
          trial->targets(c, t) = 0.5 * held[static_cast<size_t>(c)];
    }
  }
  if (bits) {
    // Observed everywhere except the pulsed channel during the 5 tau after
    // each of its pulses (the time allowed to switch).
    trial->mask.setOnes();
    for (Index begin : onsets) {
      Index channel = 0;
      for (Index t = begin; t < std::min(begin + pulse, shape.steps); ++t)
        if (trial->inputs(1, t) != 0.0) channel = 1;
      for (Index t = begin; t < std::min(begin + settle, shape.steps); ++t)
        trial->mask(channel, t) = 0.0;
    }
  }
}

void Mante(const TaskOptions& o,
           const TaskShape& shape,
           Rng* rng,
           RnnTrial* trial,
           int* label) {
  const Index stim_begin = Bins(3.0, o.dt);
  const Index stim_end = Bins(23.0, o.dt);
  const Index decision_begin = Bins(28.0, o.dt);
  const Index decision_end = Bins(48.0, o.dt);
  static const double kCoherences[] = {1, 2, 4, 8};
  double coherence[2];
  for (double& c : coherence) {
    const double magnitude = kCoherences[rng->Below(4)] / 8.0;
    c = rng->Uniform() < 0.5 ? -magnitude : magnitude;
  }
  const Index context = static_cast<Index>(rng->Below(2));
  const double noise = o.mante_noise / std::sqrt(o.dt);
  // Inputs: 0, 1 context one-hot; 2, 3 sensory channels.
  for (Index t = 0; t < shape.steps; ++t)
    for (Index c = 0; c < 2; ++c)
      trial->inputs(2 + c, t) = noise * rng->Normal();
  for (Index t = stim_begin; t < stim_end; ++t) {
    trial->inputs(context, t) = 1.0;
    for (Index c = 0; c < 2; ++c) trial->inputs(2 + c, t) += coherence[c];
  }
  const double sign = coherence[context] > 0 ? 1.0 : -1.0;
  for (Index t = 0; t < stim_end; ++t) trial->mask(0, t) = 1.0;
  for (Index t = decision_begin; t < decision_end; ++t) {
    trial->targets(0, t) = 0.5 * sign;
    trial->mask(0, t) = 1.0;
  }
  *label = static_cast<int>(2 * context + (sign > 0 ? 1 : 0));
}

void Romo(const TaskOptions& o,
          const TaskShape& shape,
          Rng* rng,
          RnnTrial* trial,
          int* label) {
  double f1 = 0.0;
  double f2 = 0.0;
  do {
    f1 = UniformIn(rng, 0.5, 1.5);
    f2 = UniformIn(rng, 0.5, 1.5);
  } while (std::fabs(f1 - f2) < 0.2);
  const double delay = UniformIn(rng, 2.0, 8.0);
  const Index f1_begin = Bins(3.0, o.dt);
  const Index f1_end = Bins(4.0, o.dt);
  const Index f2_begin = Bins(4.0 + delay, o.dt);
  const Index f2_end = f2_begin + Bins(1.0, o.dt);
  const Index decision_begin = f2_end + Bins(5.0, o.dt);
  const Index decision_end =
      std::min(decision_begin + Bins(10.0, o.dt), shape.steps);
  for (Index t = f1_begin; t < f1_end; ++t) trial->inputs(0, t) = f1;
  for (Index t = f2_begin; t < f2_end; ++t) trial->inputs(0, t) = f2;
  for (Index t = 0; t < f2_end; ++t) trial->mask.col(t).setOnes();
  const Index winner = f1 > f2 ? 0 : 1;
  for (Index t = decision_begin; t < decision_end; ++t) {
    trial->targets(winner, t) = 0.5;
    trial->mask.col(t).setOnes();
  }
  *label = f1 > f2 ? 1 : 0;
}

void FixedPoint(const TaskOptions& o, const TaskShape& shape, RnnTrial* trial) {
  for (Index t = Bins(1.0, o.dt); t < shape.steps; ++t) trial->inputs(0, t) = 1;
  for (Index t = shape.steps - 2; t < shape.steps; ++t) {
    trial->targets(0, t) = o.fixed_point_target;
    trial->mask(0, t) = 1.0;
  }
}

// Reach timing (in tau): the target appears at t = 1 and stays; the go cue
// is a pulse of 1 at t = 6; the hand must stay at the centre until the go
// cue and reach the target by t = 16; the trial ends at t = 25.
constexpr double kReachTargetOn = 1.0;
constexpr double kReachGo = 6.0;
constexpr double kReachArrive = 16.0;
constexpr double kReachEnd = 25.0;

// The direction of a reach target: one of reach_conditions angles (the
// label is its index), or a continuous one (label 0).
double ReachAngle(const TaskOptions& o, Rng* rng, int* label) {
  if (o.reach_conditions == 0) {
    *label = 0;
    return 2.0 * kPi * rng->Uniform();
  }
  const int c = static_cast<int>(
      rng->Below(static_cast<std::uint64_t>(o.reach_conditions)));
  *label = c;
  return 2.0 * kPi * c / o.reach_conditions;
}

void Reach(const TaskOptions& o,
           const TaskShape& shape,
           Rng* rng,
           RnnTrial* trial,
           int* label) {
  const double angle = ReachAngle(o, rng, label);
  const double tx = o.reach_radius * std::cos(angle);
  const double ty = o.reach_radius * std::sin(angle);
  // Inputs: 0, 1 target position (cos, sin scaled by the radius); 2 go cue.
  for (Index t = Bins(kReachTargetOn, o.dt); t < shape.steps; ++t) {
    trial->inputs(0, t) = tx;
    trial->inputs(1, t) = ty;
  }
  const Index go = Bins(kReachGo, o.dt);
  for (Index t = go; t < go + Bins(1.0, o.dt); ++t) trial->inputs(2, t) = 1.0;
  // Targets are positions: the centre until the go cue, the target from
  // the arrival time on; unobserved while moving.
  for (Index t = 0; t < go; ++t) trial->mask.col(t).setOnes();
  for (Index t = Bins(kReachArrive, o.dt); t < shape.steps; ++t) {
    trial->targets(0, t) = tx;
    trial->targets(1, t) = ty;
    trial->mask.col(t).setOnes();
  }
}

}  // namespace

bool TaskOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (!(dt > 0.0) || !(dt <= 1.0)) return fail("task dt must be in (0, 1]");
  if (!std::isfinite(fixed_point_target))
    return fail("fixed_point_target must be finite");
  if (!(mante_noise >= 0.0)) return fail("mante_noise must be >= 0");
  if (reach_conditions < 0) return fail("reach_conditions must be >= 0");
  if (!(reach_radius > 0.0)) return fail("reach_radius must be > 0");
  if (!std::isfinite(curl)) return fail("curl must be finite");
  if (!(reach_effort >= 0.0)) return fail("reach_effort must be >= 0");
  if (output_tanh && kind == TaskKind::kReach)
    return fail("output_tanh does not apply to the reach task");
  if (read_after_input && kind == TaskKind::kReach)
    return fail("read_after_input does not apply to the reach task");
  return true;
}

TaskShape GetTaskShape(const TaskOptions& o) {
  TaskShape s;
  switch (o.kind) {
    case TaskKind::kFlipFlop:
    case TaskKind::kFlipFlopBits:
      s = {2, 2, Bins(50.0, o.dt)};
      break;
    case TaskKind::kMante:
      s = {4, 1, Bins(48.0, o.dt)};
      break;
    case TaskKind::kRomo:
      // Longest trial: f1 ends at 4, delay <= 8, f2 1, wait 5, decide 10.
      s = {1,
           2,
           Bins(4.0, o.dt) + Bins(8.0, o.dt) + Bins(1.0, o.dt) +
               Bins(5.0, o.dt) + Bins(10.0, o.dt)};
      break;
    case TaskKind::kFixedPoint:
      s = {1, 1, Bins(100.0, o.dt)};
      break;
    case TaskKind::kReach:
      s = {3, 2, Bins(kReachEnd, o.dt)};
      break;
  }
  if (o.read_after_input) ++s.steps;
  return s;
}

TaskBatch GenerateBatch(const TaskOptions& options, int count, Rng* rng) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  if (count < 1) throw Error("task batch: count must be >= 1");
  TaskOptions base = options;  // the trials are drawn in ltr's timing
  base.read_after_input = false;
  const TaskShape shape = GetTaskShape(base);
  TaskBatch batch;
  batch.trials.reserve(static_cast<size_t>(count));
  for (int k = 0; k < count; ++k) {
    RnnTrial trial = EmptyTrial(shape);
    int label = 0;
    switch (options.kind) {
      case TaskKind::kFlipFlop:
        FlipFlop(options, shape, false, rng, &trial, &label);
        break;
      case TaskKind::kFlipFlopBits:
        FlipFlop(options, shape, true, rng, &trial, &label);
        break;
      case TaskKind::kMante:
        Mante(options, shape, rng, &trial, &label);
        break;
      case TaskKind::kRomo:
        Romo(options, shape, rng, &trial, &label);
        break;
      case TaskKind::kFixedPoint:
        FixedPoint(options, shape, &trial);
        break;
      case TaskKind::kReach:
        Reach(options, shape, rng, &trial, &label);
        break;
    }
    batch.trials.push_back(options.read_after_input ? ReadAfterInput(trial)
                                                    : std::move(trial));
    batch.labels.push_back(label);
  }
  return batch;
}

MatrixXd ReachPlantPositions(const TaskOptions& o, const MatrixXd& forces) {
  const Index t_max = forces.cols();
  MatrixXd p = MatrixXd::Zero(2, t_max);
  double vx = 0.0;
  double vy = 0.0;
  for (Index t = 0; t + 1 < t_max; ++t) {
    p(0, t + 1) = p(0, t) + o.dt * vx;
    p(1, t + 1) = p(1, t) + o.dt * vy;
    const double ax = forces(0, t) + o.curl * vy;
    const double ay = forces(1, t) - o.curl * vx;
    vx += o.dt * ax;
    vy += o.dt * ay;
  }
  return p;
}

RnnOutputLoss TaskOutputLoss(const TaskOptions& options) {
  if (options.kind == TaskKind::kReach) {
    const TaskOptions o = options;
    return [o](const RnnTrial& trial,
               const MatrixXd& forces,
               MatrixXd* e,
               double* mask_sum) {
      if (forces.rows() != 2)
        throw Error("reach task: the network needs 2 outputs (forces)");
      const Index t_max = forces.cols();
      const MatrixXd p = ReachPlantPositions(o, forces);
      const bool has_mask = trial.mask.size() > 0;
      MatrixXd direct = MatrixXd::Zero(2, t_max);  // dS/dp[t], direct part
      double s = 0.0;
      *mask_sum = 0.0;
      for (Index t = 0; t < t_max; ++t)
        for (Index i = 0; i < 2; ++i) {
          const double m = has_mask ? trial.mask(i, t) : 1.0;
          if (m == 0.0) continue;
          *mask_sum += m;
          const double r = p(i, t) - trial.targets(i, t);
          s += 0.5 * m * r * r;
          direct(i, t) = m * r;
        }
      s += 0.5 * o.reach_effort * forces.squaredNorm();
      if (e == nullptr) return s;
      // Adjoint of the plant: a_p[t] = dS/dp[t], a_v[t] = dS/dv[t] (totals).
      // p[t+1] = p[t] + dt v[t]; v[t+1] = (I + dt k R) v[t] + dt F[t],
      // R = [[0, 1], [-1, 0]].
      double apx = 0.0, apy = 0.0;  // a_p[t+1]
      double avx = 0.0, avy = 0.0;  // a_v[t+1]
      *e = o.reach_effort * forces;
      for (Index t = t_max - 1; t >= 0; --t) {
        // At this point apx/apy, avx/avy hold a_p[t+1], a_v[t+1] (zero for
        // t = T-1, where nothing follows).
        (*e)(0, t) += o.dt * avx;
        (*e)(1, t) += o.dt * avy;
        // (I + dt k R)^T a = a + dt k R^T a, R^T = [[0, -1], [1, 0]].
        const double nvx = o.dt * apx + avx - o.dt * o.curl * avy;
        const double nvy = o.dt * apy + avy + o.dt * o.curl * avx;
        apx = direct(0, t) + apx;
        apy = direct(1, t) + apy;
        avx = nvx;
        avy = nvy;
      }
      return s;
    };
  }
  if (options.output_tanh) {
    return [](const RnnTrial& trial,
              const MatrixXd& z,
              MatrixXd* e,
              double* mask_sum) {
      const bool has_mask = trial.mask.size() > 0;
      double s = 0.0;
      *mask_sum = 0.0;
      for (Index t = 0; t < z.cols(); ++t)
        for (Index i = 0; i < z.rows(); ++i) {
          const double m = has_mask ? trial.mask(i, t) : 1.0;
          if (m == 0.0) continue;
          *mask_sum += m;
          const double y = std::tanh(z(i, t));
          const double r = y - trial.targets(i, t);
          s += 0.5 * m * r * r;
          if (e != nullptr) (*e)(i, t) = m * r * (1.0 - y * y);
        }
      return s;
    };
  }
  return RnnOutputLoss();
}

}  // namespace ltr
