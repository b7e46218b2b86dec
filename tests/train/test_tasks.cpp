// Task generators: inputs, targets and masks against docs/train.md (dt = 0.5,
// so one tau is two bins).
#include <catch2/catch.hpp>
#include <cmath>

#include "ltr/core/error.h"
#include "ltr/train/tasks.h"

namespace ltr {
namespace {

using Eigen::Index;

TaskOptions Task(TaskKind kind) {
  TaskOptions o;
  o.kind = kind;
  return o;
}

// First bin >= from where any input channel is nonzero (-1: none).
Index NextPulse(const RnnTrial& trial, Index from) {
  for (Index t = from; t < trial.inputs.cols(); ++t)
    if (trial.inputs.col(t).cwiseAbs().maxCoeff() > 0) return t;
  return -1;
}

TEST_CASE(
    "flip-flop (Schuessler et al.) pulses, holds the pulsed sign and masks the "
    "settling",
    "[train][tasks]") {
  const TaskOptions o = Task(TaskKind::kFlipFlop);
  const TaskShape shape = GetTaskShape(o);
  REQUIRE(shape.inputs == 2);
  REQUIRE(shape.outputs == 2);
  REQUIRE(shape.steps == 100);  // t_max 50 / dt 0.5
  Rng rng(7);
  const TaskBatch batch = GenerateBatch(o, 50, &rng);
  for (size_t k = 0; k < batch.trials.size(); ++k) {
    const RnnTrial& tr = batch.trials[k];
    // First pulse at t = 1 (bins 2, 3), amplitude 1 on one channel.
    CHECK(tr.inputs.col(0).isZero());
    CHECK(tr.inputs.col(1).isZero());
    const Index c = batch.labels[k];
    const double sign = tr.inputs(c, 2);
    CHECK(std::fabs(sign) == 1.0);
    CHECK(tr.inputs(c, 3) == sign);
    CHECK(tr.inputs(1 - c, 2) == 0.0);
    CHECK(tr.inputs.col(4).isZero());
    // Mask 0 until onset + 5 (bin 12), then the pulsed channel holds 0.5 s.
    CHECK(tr.mask.leftCols(12).isZero());
    CHECK(tr.mask(0, 12) == 1.0);
    CHECK(tr.mask(1, 12) == 1.0);
    CHECK(tr.targets(c, 12) == 0.5 * sign);
    CHECK(tr.targets(1 - c, 12) == 0.0);
    // Next onset = 1 + U(5, 25) + 5: 20 .. 60 bins after the first.
    const Index next = NextPulse(tr, 4);
    if (next < 0) continue;
    CHECK(next - 2 >= 20);
    CHECK(next - 2 <= 60);
    CHECK(tr.targets(c, next - 1) == 0.5 * sign);
    CHECK(tr.mask(0, next - 1) == 1.0);
    // 5 tau of settling after the second pulse, then its channel holds.
    CHECK(tr.mask.middleCols(next, std::min<Index>(10, 100 - next)).isZero());
    if (next + 10 < 100) {
      const Index c2 = tr.inputs(0, next) != 0.0 ? 0 : 1;
      CHECK(tr.targets(c2, next + 10) == 0.5 * tr.inputs(c2, next));
      CHECK(tr.targets(1 - c2, next + 10) == 0.0);
    }
  }
}

TEST_CASE("flip-flop bits: each channel holds its own last sign",
          "[train][tasks]") {
  const TaskOptions o = Task(TaskKind::kFlipFlopBits);
  Rng rng(3);
  const TaskBatch batch = GenerateBatch(o, 30, &rng);
  for (const RnnTrial& tr : batch.trials) {
    double held[2] = {0.0, 0.0};
    Index last_pulse[2] = {-100, -100};
    for (Index t = 0; t < 100; ++t) {
      for (Index c = 0; c < 2; ++c)
        if (tr.inputs(c, t) != 0.0 && (t == 0 || tr.inputs(c, t - 1) == 0.0)) {
          held[c] = tr.inputs(c, t);
          last_pulse[c] = t;
        }
      for (Index c = 0; c < 2; ++c) {
        CHECK(tr.targets(c, t) == 0.5 * held[c]);
        CHECK(tr.mask(c, t) == (t - last_pulse[c] < 10 ? 0.0 : 1.0));
      }
    }
  }
}

TEST_CASE("Mante task: context, coherences, noise, targets and masks",
          "[train][tasks]") {
  const TaskOptions o = Task(TaskKind::kMante);
  const TaskShape shape = GetTaskShape(o);
  REQUIRE(shape.inputs == 4);
  REQUIRE(shape.outputs == 1);
  REQUIRE(shape.steps == 96);
  Rng rng(11);
  const TaskBatch batch = GenerateBatch(o, 200, &rng);
  double noise_sum2 = 0.0;
  double noise_n = 0.0;
  for (size_t k = 0; k < batch.trials.size(); ++k) {
    const RnnTrial& tr = batch.trials[k];
    const int context = batch.labels[k] / 2;
    const bool positive = batch.labels[k] % 2 == 1;
    // Context one-hot exactly during the stimulus [3, 23) = bins [6, 46).
    for (Index t = 0; t < 96; ++t) {
      const bool stim = t >= 6 && t < 46;
      CHECK(tr.inputs(context, t) == (stim ? 1.0 : 0.0));
      CHECK(tr.inputs(1 - context, t) == 0.0);
    }
    // Stimulus mean is a coherence from {±1, ±2, ±4, ±8} / 8.
    for (Index c = 0; c < 2; ++c) {
      const double mean = tr.inputs.row(2 + c).segment(6, 40).mean();
      double best = 1e9;
      for (double v : {1.0, 2.0, 4.0, 8.0})
        best = std::min(best, std::fabs(std::fabs(mean) - v / 8.0));
      CHECK(best < 0.05);
      if (c == context) CHECK((mean > 0) == positive);
      for (Index t = 0; t < 6; ++t) {
        noise_sum2 += tr.inputs(2 + c, t) * tr.inputs(2 + c, t);
        noise_n += 1;
      }
    }
    // Targets and mask: [0, 23) target 0, delay unobserved, decision ±0.5.
    for (Index t = 0; t < 96; ++t) {
      const double m = t < 46 || t >= 56 ? 1.0 : 0.0;
      CHECK(tr.mask(0, t) == m);
      CHECK(tr.targets(0, t) == (t >= 56 ? (positive ? 0.5 : -0.5) : 0.0));
    }
  }
  // Noise N(0, 1) * 0.05 / sqrt(dt).
  CHECK(std::sqrt(noise_sum2 / noise_n) ==
        Approx(0.05 / std::sqrt(0.5)).epsilon(0.05));
}

TEST_CASE("Romo task: two separated frequencies, delay, decision window",
          "[train][tasks]") {
  const TaskOptions o = Task(TaskKind::kRomo);
  const TaskShape shape = GetTaskShape(o);
  REQUIRE(shape.inputs == 1);
  REQUIRE(shape.outputs == 2);
  REQUIRE(shape.steps == 56);  // 4 + 8 + 1 + 5 + 10 tau
  Rng rng(5);
  const TaskBatch batch = GenerateBatch(o, 200, &rng);
  for (size_t k = 0; k < batch.trials.size(); ++k) {
    const RnnTrial& tr = batch.trials[k];
    const double f1 = tr.inputs(0, 6);
    CHECK(tr.inputs(0, 7) == f1);
    CHECK(tr.inputs(0, 5) == 0.0);
    CHECK(tr.inputs(0, 8) == 0.0);
    const Index s2 = NextPulse(tr, 8);
    REQUIRE(s2 > 0);
    const double f2 = tr.inputs(0, s2);
    CHECK(tr.inputs(0, s2 + 1) == f2);
    CHECK(tr.inputs(0, s2 + 2) == 0.0);
    // f2 starts after a delay U(2, 8) from the end of f1 (bin 8).
    CHECK(s2 - 8 >= 4);
    CHECK(s2 - 8 <= 16);
    CHECK(f1 >= 0.5);
    CHECK(f1 < 1.5);
    CHECK(f2 >= 0.5);
    CHECK(f2 < 1.5);
    CHECK(std::fabs(f1 - f2) >= 0.2);
    CHECK(batch.labels[k] == (f1 > f2 ? 1 : 0));
    const Index winner = f1 > f2 ? 0 : 1;
    const Index f2_end = s2 + 2;
    for (Index t = 0; t < 56; ++t) {
      const bool decide = t >= f2_end + 10 && t < f2_end + 30;
      const double m = t < f2_end || decide ? 1.0 : 0.0;
      CHECK(tr.mask(0, t) == m);
      CHECK(tr.mask(1, t) == m);
      CHECK(tr.targets(winner, t) == (decide ? 0.5 : 0.0));
      CHECK(tr.targets(1 - winner, t) == 0.0);
    }
  }
}

TEST_CASE("fixed-point task: step input from t = 1, loss on the last 2 bins",
          "[train][tasks]") {
  TaskOptions o = Task(TaskKind::kFixedPoint);
  o.fixed_point_target = 0.7;
  Rng rng(1);
  const TaskBatch batch = GenerateBatch(o, 2, &rng);
  const RnnTrial& tr = batch.trials[0];
  REQUIRE(tr.inputs.cols() == 200);
  CHECK(tr.inputs(0, 0) == 0.0);
  CHECK(tr.inputs(0, 1) == 0.0);
  CHECK(tr.inputs.row(0).segment(2, 198).minCoeff() == 1.0);
  CHECK(tr.mask.sum() == 2.0);
  CHECK(tr.mask(0, 198) == 1.0);
  CHECK(tr.mask(0, 199) == 1.0);
  CHECK(tr.targets(0, 199) == 0.7);
}

TEST_CASE(
    "read_after_input (S20's timing): one more bin, targets and mask one "
    "bin later, the same draws",
    "[train][tasks]") {
  for (TaskKind kind : {TaskKind::kFlipFlop,
                        TaskKind::kMante,
                        TaskKind::kRomo,
                        TaskKind::kFixedPoint}) {
    TaskOptions o = Task(kind);
    Rng a(11), b(11);
    const TaskBatch base = GenerateBatch(o, 3, &a);
    o.read_after_input = true;
    const TaskBatch late = GenerateBatch(o, 3, &b);
    const Index t = base.trials[0].inputs.cols();
    CHECK(GetTaskShape(o).steps == t + 1);
    CHECK(late.labels == base.labels);
    for (size_t k = 0; k < 3; ++k) {
      const RnnTrial& x = base.trials[k];
      const RnnTrial& y = late.trials[k];
      REQUIRE(y.inputs.cols() == t + 1);
      // Input i drives the step i -> i + 1, and bin i + 1 is compared
      // with target i: the output is read after the input is applied.
      CHECK(y.inputs.leftCols(t) == x.inputs);
      CHECK(y.inputs.col(t).isZero());
      CHECK(y.targets.rightCols(t) == x.targets);
      CHECK(y.mask.rightCols(t) == x.mask);
      CHECK(y.mask.col(0).isZero());
    }
  }
  TaskOptions reach = Task(TaskKind::kReach);
  reach.read_after_input = true;
  std::string error;
  CHECK_FALSE(reach.IsValid(&error));
  CHECK(error == "read_after_input does not apply to the reach task");
}

TEST_CASE("reach task: target input, go cue, hold then reach masks",
          "[train][tasks]") {
  TaskOptions o = Task(TaskKind::kReach);
  o.reach_radius = 2.0;
  const TaskShape shape = GetTaskShape(o);
  REQUIRE(shape.inputs == 3);
  REQUIRE(shape.outputs == 2);
  REQUIRE(shape.steps == 50);
  Rng rng(9);
  const TaskBatch batch = GenerateBatch(o, 40, &rng);
  for (size_t k = 0; k < batch.trials.size(); ++k) {
    const RnnTrial& tr = batch.trials[k];
    const double angle = 2.0 * M_PI * batch.labels[k] / 8.0;
    CHECK(tr.inputs.col(1).isZero());
    CHECK(tr.inputs(0, 2) == Approx(2.0 * std::cos(angle)));
    CHECK(tr.inputs(1, 2) == Approx(2.0 * std::sin(angle)));
    CHECK(tr.inputs(0, 49) == tr.inputs(0, 2));
    for (Index t = 0; t < 50; ++t)
      CHECK(tr.inputs(2, t) == (t == 12 || t == 13 ? 1.0 : 0.0));
    for (Index t = 0; t < 50; ++t) {
      const double m = t < 12 || t >= 32 ? 1.0 : 0.0;
      CHECK(tr.mask(0, t) == m);
      CHECK(tr.targets(0, t) == (t >= 32 ? tr.inputs(0, 2) : 0.0));
      CHECK(tr.targets(1, t) == (t >= 32 ? tr.inputs(1, 2) : 0.0));
    }
  }
}

TEST_CASE("reach plant integrates forces and the curl field",
          "[train][tasks]") {
  TaskOptions o = Task(TaskKind::kReach);
  o.curl = 0.3;
  Eigen::MatrixXd f = Eigen::MatrixXd::Zero(2, 4);
  f(0, 0) = 1.0;  // one push along x
  const Eigen::MatrixXd p = ReachPlantPositions(o, f);
  // v1 = (0.5, 0); p1 = 0; p2 = (0.25, 0); v2 = v1 + 0.5 * 0.3 * (0, -0.5).
  CHECK(p(0, 1) == 0.0);
  CHECK(p(0, 2) == Approx(0.25));
  CHECK(p(1, 2) == 0.0);
  CHECK(p(0, 3) == Approx(0.5));
  CHECK(p(1, 3) == Approx(0.5 * -0.075));
}

TEST_CASE("unknown task names and bad task options are rejected",
          "[train][tasks]") {
  CHECK_THROWS_AS(ParseTaskKind("flip"), Error);
  TaskOptions o;
  o.dt = 0.0;
  std::string error;
  CHECK_FALSE(o.IsValid(&error));
  Rng rng(0);
  CHECK_THROWS_AS(GenerateBatch(Task(TaskKind::kMante), 0, &rng), Error);
}

}  // namespace
}  // namespace ltr
