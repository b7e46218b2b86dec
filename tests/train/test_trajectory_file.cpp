// The trajectory layout's reader and writer (formats/trajectory_file.h): what
// a run writes reads back as the run was, and the reader's checks.
#include <catch2/catch.hpp>
#include <filesystem>

#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/train/train.h"
#include "test_support.h"
#include "train/train_fixtures.h"

namespace ltr {
namespace {

using Catch::Matchers::Contains;

// 12 steps of momentum on 2 threads, snapshots at 0, 5, 10, 12.
TrainOptions SmallRun() {
  TrainOptions o = test::Small(TaskKind::kFlipFlop, 10);
  o.batch = 3;
  o.steps = 12;
  o.seed = 4;
  o.optimizer = Optimizer::kMomentum;
  o.momentum = 0.8;
  o.run.num_threads = 2;
  return o;
}

TEST_CASE(
    "a trajectory written by TrainToFile reads back with its options, "
    "snapshots and losses",
    "[train][formats]") {
  test::ScratchDir dir;
  const TrainOptions o = SmallRun();
  const std::string path = dir / "t.h5";
  const TrainSummary s = TrainToFile(o, path, "test");
  RnnParameters last;
  Train(o, nullptr, nullptr, &last);

  const Trajectory t = ReadTrainTrajectory(path);
  CHECK(t.complete);
  CHECK(t.weights_shape == std::vector<Index>{4, 10, 10});
  CHECK(t.steps == std::vector<std::int64_t>{0, 5, 10, 12});
  CHECK(t.step_axis == "snapshot");
  CHECK(t.loss_axis == "step");
  CHECK(t.w_in.dims() == Dims{4, 10, 2});
  CHECK(t.w_out.dims() == Dims{4, 10, 2});
  CHECK(t.epochs.empty());
  CHECK_FALSE(t.adaptation);
  REQUIRE(t.loss.size() == 12);
  for (Index k = 0; k < 12; ++k) {
    CHECK(t.loss(k) == s.loss[static_cast<size_t>(k)]);
    CHECK(t.grad_norm(k) == s.grad_norm[static_cast<size_t>(k)]);
  }
  REQUIRE(t.config.has_value());
  const TrainOptions& c = *t.config;
  CHECK(c.units == 10);
  CHECK(c.optimizer == Optimizer::kMomentum);
  CHECK(c.momentum == 0.8);
  CHECK(c.learning_rate == o.EffectiveLearningRate());
  CHECK(c.seed == 4);
  CHECK(c.run.num_threads == 2);
  CHECK(TrainedBlocksName(c) == "in,rec,out");
  CHECK_FALSE(c.task.read_after_input);

  // S20's output timing is kept in the config, and it changes the problem.
  TrainOptions late = o;
  late.task.read_after_input = true;
  TrainToFile(late, dir / "late.h5", "test");
  const Trajectory tl = ReadTrainTrajectory(dir / "late.h5");
  CHECK(tl.config->task.read_after_input);
  CHECK(tl.loss(0) != t.loss(0));

  // The last snapshot is the network Train ends with, all at once or by
  // slabs; W[i, j] is stored row-major.
  const Tensor3 w = t.ReadWeights();
  CHECK(Matrix(w.Slice(3).transpose()) == last.RecurrentWeights());
  CHECK(Matrix(t.w_in.Slice(3).transpose()) == last.w_in);
  const std::unique_ptr<io::SlabReader> slabs = t.WeightSlabs();
  std::vector<double> slab(2 * 10 * 10);
  slabs->Read(2, 4, slab.data());
  CHECK(std::equal(slab.begin(), slab.end(), w.data() + 2 * 100));
}

// A run's losses may come before its first snapshot: they read without
// /weights, as ReadTrajectory reads them.
TEST_CASE("a trajectory's losses read without its weights",
          "[train][formats]") {
  test::ScratchDir dir;
  const std::string path = dir / "t.h5";
  TrainToFile(SmallRun(), path, "test");
  const TrajectoryParts parts = FindTrajectoryParts(path);
  CHECK(parts.weights);
  CHECK(parts.loss);
  const Trajectory all = ReadTrajectory(path);
  const Trajectory losses = ReadTrajectoryLosses(path);
  CHECK(losses.weights_shape.empty());
  CHECK(losses.loss == all.loss);
  CHECK(losses.grad_norm == all.grad_norm);
  CHECK(losses.loss_axis == "step");
  CHECK(losses.epochs == all.epochs);
  const std::string loss_only = dir / "loss_only.h5";
  {
    io::OutputFile out(loss_only, "test");
    out.WriteVector("/loss", all.loss, "step");
    out.Commit();
  }
  CHECK_FALSE(FindTrajectoryParts(loss_only).weights);
  CHECK(ReadTrajectoryLosses(loss_only).loss == all.loss);
  CHECK(ReadTrajectoryLosses(loss_only).grad_norm.size() == 0);
}

TEST_CASE(
    "an interrupted run's checkpoint reads back with the snapshots to keep",
    "[train][formats]") {
  test::ScratchDir dir;
  TrainOptions o = SmallRun();
  o.stop_after_steps = 7;  // the last snapshot and checkpoint: step 5
  TrainToFile(o, dir / "t.h5", "test");
  const std::string partial = io::PartialPath(dir / "t.h5");
  REQUIRE(HasTrainCheckpoint(partial));
  CHECK_FALSE(IsCompleteRun(partial));
  const TrainCheckpoint c = ReadTrainCheckpoint(partial);
  CHECK(c.state.step == 5);
  CHECK(c.snapshots == 2);
  CHECK(c.state.x.size() == 10 * 10 + 10 * 2 + 2 * 10);
  CHECK(c.state.moment1.size() == c.state.x.size());
  CHECK(c.options.steps == 12);
  CHECK(c.options.run.num_threads == 2);
  CHECK(ReadTrajectory(partial).steps == std::vector<std::int64_t>{0, 5});
}

TEST_CASE(
    "an adaptation trajectory reads back with its protocol, trials and "
    "epochs",
    "[train][formats]") {
  test::ScratchDir dir;
  TrainOptions o = SmallRun();
  o.task.kind = TaskKind::kReach;
  o.optimizer = Optimizer::kAdam;
  AdaptationOptions a = test::Trials(2, 3, 1);
  a.curl = 0.7;
  a.clip_norm = 0.3;
  a.recurrent_only = true;
  const std::string path = dir / "reach.h5";
  const AdaptationSummary s = RunAdaptationToFile(o, a, path, "test");
  const Trajectory t = ReadTrainTrajectory(path);
  REQUIRE(t.adaptation.has_value());
  CHECK(t.adaptation->baseline_trials == 2);
  CHECK(t.adaptation->adaptation_trials == 3);
  CHECK(t.adaptation->washout_trials == 1);
  CHECK(t.adaptation->curl == 0.7);
  CHECK(t.adaptation->clip_norm == 0.3);
  CHECK(t.adaptation->recurrent_only);
  CHECK(t.steps == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(t.epochs == std::vector<std::int64_t>{0, 0, 1, 1, 1, 2});
  CHECK(t.step_axis == "trial");
  CHECK(t.loss_axis == "trial");
  REQUIRE(t.loss.size() == 6);
  CHECK(t.loss(5) == s.trial_loss[5]);
  CHECK(t.grad_norm(0) == 0.0);  // no learning in the baseline
  CHECK(t.grad_norm(2) > 0.0);
  CHECK(t.complete);
}

TEST_CASE(
    "the trajectory reader takes a synthetic trajectory and rejects what "
    "is not one",
    "[train][formats]") {
  test::ScratchDir dir;
  const std::string synthetic = dir / "synthetic.h5";
  {
    io::AppendableFile f(synthetic, "test", io::AppendableFile::Mode::kCreate);
    for (int k = 0; k < 3; ++k)
      f.AppendMatrix("/weights", Matrix::Constant(4, 4, k));
  }
  const Trajectory t = ReadTrajectory(synthetic);
  CHECK(t.snapshots() == 3);
  CHECK(t.units() == 4);
  CHECK_FALSE(t.config.has_value());
  CHECK(t.steps.empty());
  CHECK(t.loss.size() == 0);
  CHECK(t.ReadWeights().Slice(2)(1, 1) == 2.0);
  CHECK_THROWS_WITH(
      ReadTrainTrajectory(synthetic),
      Contains("no dataset '/w_in'") && Contains("not a learning trajectory"));

  // /weights missing, or not (snapshots, N, N), or /step of another length.
  const std::string other = dir / "other.h5";
  {
    io::AppendableFile f(other, "test", io::AppendableFile::Mode::kCreate);
    f.AppendMatrix("/weights", Matrix::Zero(4, 3));
    f.AppendInts("/step", {0, 1});
    f.AppendValues("/x", {1.0});
  }
  CHECK_THROWS_WITH(ReadTrajectory(other),
                    Contains("/weights is (1, 4, 3)") &&
                        Contains("expected (snapshots, N, N)"));
  const std::string steps = dir / "steps.h5";
  {
    io::AppendableFile f(steps, "test", io::AppendableFile::Mode::kCreate);
    f.AppendMatrix("/weights", Matrix::Zero(3, 3));
    f.AppendInts("/step", {0, 1});
  }
  CHECK_THROWS_WITH(ReadTrajectory(steps),
                    Contains("/step and /weights have different lengths"));
  const std::string none = dir / "none.h5";
  {
    io::AppendableFile f(none, "test", io::AppendableFile::Mode::kCreate);
    f.AppendValues("/loss", {1.0});
  }
  CHECK_THROWS_WITH(ReadTrajectory(none),
                    Contains("no dataset '/weights' in '" + none + "'"));
  CHECK_FALSE(HasTrainCheckpoint(none));
  CHECK_FALSE(IsCompleteRun(none));
}

}  // namespace
}  // namespace ltr
