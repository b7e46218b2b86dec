// Task training, trajectory streaming and resume, the adaptation protocol,
// trajectory analyses and the train / analyze subcommands.
#include <unistd.h>

#include <Eigen/SVD>
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "gradient_check.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/theory/analyze.h"
#include "ltr/train/train.h"
#include "signals.h"
#include "test_support.h"
#include "train/train_fixtures.h"

namespace fs = std::filesystem;

namespace ltr {
namespace {

// Built with AddressSanitizer (scripts/sanitize.sh)?
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LTR_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LTR_TEST_ASAN 1
#endif

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// Max over parameters of |analytic - central FD| / max(|analytic|, 1e-3).
double WorstGradientError(const RnnObjective& objective) {
  const VectorXd x = objective.InitialPoint();
  VectorXd g(x.size());
  double cost = 0.0;
  REQUIRE(objective.Evaluate(x.data(), &cost, g.data()));
  auto f = [&](const VectorXd& at) {
    double value = 0.0;
    objective.Evaluate(at.data(), &value, nullptr);
    return value;
  };
  return testing::CheckGradient(f, x, g).max_error;
}

// Six significant digits, as the library's progress lines print a loss.
std::string SixDigits(double v) {
  std::ostringstream out;
  out << std::setprecision(6) << v;
  return out.str();
}

using test::Small;
using test::Trials;

TEST_CASE(
    "training-loss gradients match finite differences for every task, "
    "including the reach plant hook and the tanh output",
    "[train]") {
  struct Case {
    TaskKind kind;
    bool tanh;
    double curl;
    double effort;
  };
  const Case cases[] = {{TaskKind::kFlipFlop, false, 0, 0},
                        {TaskKind::kFlipFlop, true, 0, 0},
                        {TaskKind::kMante, true, 0, 0},
                        {TaskKind::kRomo, false, 0, 0},
                        {TaskKind::kFixedPoint, false, 0, 0},
                        {TaskKind::kReach, false, 0.0, 0.0},
                        {TaskKind::kReach, false, 0.7, 0.2}};
  for (const Case& c : cases) {
    TrainOptions o = Small(c.kind, 6);
    o.task.output_tanh = c.tanh;
    o.task.curl = c.curl;
    o.task.reach_effort = c.effort;
    RnnParameters p = InitialNetwork(o);
    Rng rng(21);
    p.w = 0.3 * rng.NormalMatrix(6, 6);  // a nonzero dW
    p.readout *= 5.0;                    // outputs of order 1
    const TaskBatch batch = GenerateBatch(o.task, 2, &rng);
    const RnnObjective objective(
        p, TrainedBlocks(o), TaskLossOptions(o.task, 1), &batch.trials);
    INFO(TaskKindName(c.kind) << " tanh " << c.tanh << " curl " << c.curl);
    CHECK(WorstGradientError(objective) < 1e-6);
  }
}

TEST_CASE("reach loss is the squared position error of the point mass",
          "[train]") {
  TaskOptions task;
  task.kind = TaskKind::kReach;
  task.curl = 0.5;
  RnnTrial trial;
  trial.targets = MatrixXd::Constant(2, 6, 0.1);
  trial.mask = MatrixXd::Ones(2, 6);
  Rng rng(4);
  const MatrixXd forces = rng.NormalMatrix(2, 6);
  const MatrixXd p = ReachPlantPositions(task, forces);
  double mask_sum = 0.0;
  const double s = TaskOutputLoss(task)(trial, forces, nullptr, &mask_sum);
  CHECK(mask_sum == 12.0);
  CHECK(s == Approx(0.5 * (p.array() - 0.1).square().sum()));
}

TEST_CASE(
    "Schuessler et al. initialisation: W0 = g J, input norms sqrt(N), output "
    "norms "
    "1/sqrt(N), dW = 0",
    "[train]") {
  TrainOptions o = Small(TaskKind::kMante, 200);
  o.g = 1.5;
  const RnnParameters p = InitialNetwork(o);
  CHECK(p.w.isZero());
  CHECK(p.x0.isZero());
  CHECK(p.bias.isZero());
  // ||g J||_F^2 ~ g^2 N (entries of variance g^2 / N).
  CHECK(p.w0.squaredNorm() / (1.5 * 1.5 * 200) == Approx(1.0).epsilon(0.03));
  for (Index j = 0; j < p.w_in.cols(); ++j)
    CHECK(p.w_in.col(j).norm() == Approx(std::sqrt(200.0)));
  CHECK(p.readout.row(0).norm() == Approx(1.0 / std::sqrt(200.0)));
  CHECK(o.EffectiveLearningRate() == Approx(0.05 / 200));
}

TEST_CASE(
    "SGD on the linear task with W0 = 0 keeps rank dW <= 2; Adam does "
    "not",
    "[train]") {
  for (const char* blocks : {"rec", "in,rec,out"}) {
    TrainOptions o = Small(TaskKind::kFixedPoint, 40);
    o.g = 0.0;
    o.nonlinearity = Nonlinearity::kIdentity;
    o.optimizer = Optimizer::kSgd;
    o.learning_rate = 0.02;
    o.steps = 60;
    o.batch = 2;
    ParseTrainedBlocks(blocks, &o);
    RnnParameters p;
    const TrainSummary s = Train(o, nullptr, nullptr, &p);
    REQUIRE(s.complete);
    CHECK(s.loss.back() < 0.5 * s.loss.front());
    const VectorXd sv = Eigen::JacobiSVD<MatrixXd>(p.w).singularValues();
    INFO(blocks << " singular values " << sv.head(4).transpose());
    CHECK(sv(0) > 1e-3);
    CHECK(sv(2) <= 1e-10 * sv(0));
  }
  TrainOptions o = Small(TaskKind::kFixedPoint, 40);
  o.g = 0.0;
  o.nonlinearity = Nonlinearity::kIdentity;
  o.optimizer = Optimizer::kAdam;
  o.learning_rate = 0.002;
  o.steps = 30;
  RnnParameters p;
  Train(o, nullptr, nullptr, &p);
  const VectorXd sv = Eigen::JacobiSVD<MatrixXd>(p.w).singularValues();
  CHECK(sv(2) > 1e-6 * sv(0));
}

TEST_CASE("Adam and momentum training lower the flip-flop loss", "[train]") {
  for (Optimizer opt : {Optimizer::kAdam, Optimizer::kMomentum}) {
    TrainOptions o = Small(TaskKind::kFlipFlop, 32);
    o.optimizer = opt;
    o.steps = 80;
    o.batch = 8;
    if (opt == Optimizer::kMomentum) o.learning_rate = 0.05;
    const TrainSummary s = Train(o, nullptr);
    INFO(OptimizerName(opt) << ": " << s.BriefReport());
    CHECK(s.complete);
    CHECK(s.snapshots == 17);  // step 0 and every 5 steps
    CHECK(s.loss.back() < 0.3 * s.loss.front());
  }
}

long ResidentKilobytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST_CASE(
    "trajectory writer holds one snapshot: memory does not grow with "
    "the number of snapshots",
    "[train][io]") {
  test::ScratchDir dir;
  const Index n = 256;
  const MatrixXd w = MatrixXd::Random(n, n);
  io::AppendableFile file(
      dir / "t.h5", "test", io::AppendableFile::Mode::kCreate);
  for (int k = 0; k < 5; ++k) {
    file.AppendMatrix("/weights", w);
    file.Flush();
  }
  const long before = ResidentKilobytes();
  for (int k = 0; k < 120; ++k) {  // 120 x 512 KB = 60 MB of snapshots
    file.AppendMatrix("/weights", w);
    file.AppendValues("/loss", {1.0 * k});
    file.Flush();
  }
  long grown_kb = ResidentKilobytes() - before;
  INFO("resident memory grew by " << grown_kb << " KB");
#ifdef LTR_TEST_ASAN
  // AddressSanitizer holds freed memory back (its quarantine) on purpose.
  WARN("resident memory not checked under AddressSanitizer");
  grown_kb = 0;
#endif
  CHECK(grown_kb < 16 * 1024);
  CHECK(file.Rows("/weights") == 125);
}

std::vector<std::string> TrajectoryDatasets() {
  return {"/weights",
          "/w_in",
          "/w_out",
          "/loss",
          "/grad_norm",
          "/checkpoint/x",
          "/checkpoint/moment1",
          "/checkpoint/moment2"};
}

// Bit-for-bit equality of the trajectory datasets of two files.
void CheckSameTrajectory(const std::string& a, const std::string& b) {
  for (const std::string& d : TrajectoryDatasets()) {
    INFO(d);
    REQUIRE(io::DatasetShape(a, d) == io::DatasetShape(b, d));
    if (io::DatasetShape(a, d).size() == 3) {
      CHECK(io::ReadTensor3(a, d).values() == io::ReadTensor3(b, d).values());
    } else {
      const Vector va = io::ReadVector(a, d), vb = io::ReadVector(b, d);
      CHECK((va.array() == vb.array()).all());
    }
  }
  CHECK(io::ReadIntVector(a, "/step") == io::ReadIntVector(b, "/step"));
  CHECK(io::ReadDoubleAttribute(b, "/", "complete") == 1.0);
}

TEST_CASE(
    "an interrupted run resumed with --resume equals an uninterrupted "
    "run bit for bit",
    "[train]") {
  for (Optimizer opt : {Optimizer::kAdam, Optimizer::kMomentum}) {
    test::ScratchDir dir;
    TrainOptions o = Small(TaskKind::kFlipFlop, 16);
    o.optimizer = opt;
    o.steps = 23;
    o.record_every = 4;
    o.run.num_threads = 2;
    TrainToFile(o, dir / "full.h5", "full");
    o.stop_after_steps = 10;  // the last checkpoint is at step 8
    const TrainSummary cut = TrainToFile(o, dir / "cut.h5", "cut");
    CHECK_FALSE(cut.complete);
    // A run that stopped early stays at the partial name.
    const std::string partial = io::PartialPath(dir / "cut.h5");
    CHECK_FALSE(fs::exists(dir / "cut.h5"));
    CHECK(io::ReadDoubleAttribute(partial, "/", "complete") == 0.0);
    CHECK(io::ReadIntVector(partial, "/step").back() == 8);
    CHECK(io::DatasetShape(partial, "/loss")[0] == 8);
    const TrainSummary rest = ResumeTrainToFile(dir / "cut.h5", "resume");
    CHECK(rest.complete);
    CHECK(rest.first_step == 8);
    CHECK_FALSE(fs::exists(partial));
    CheckSameTrajectory(dir / "full.h5", dir / "cut.h5");
    CHECK_THROWS_WITH(ResumeTrainToFile(dir / "cut.h5", "again"),
                      Catch::Matchers::Contains("the run is complete"));
  }
}

TEST_CASE(
    "a token cancelled mid-run stops training at the next step, and the "
    "partial trajectory resumes to an uninterrupted run's bits",
    "[train][run]") {
  test::ScratchDir dir;
  TrainOptions o = Small(TaskKind::kFlipFlop, 16);
  o.steps = 23;
  o.record_every = 4;
  TrainToFile(o, dir / "full.h5", "full");

  CancellationToken token;
  std::vector<std::string> lines;
  o.run.cancellation = &token;
  o.run.progress = [&](const std::string& line) {
    lines.push_back(line);
    if (lines.size() == 2) token.Cancel(7);  // at the snapshot of step 8
  };
  const TrainSummary cut = TrainToFile(o, dir / "cut.h5", "cut");
  CHECK(cut.cancelled);
  CHECK_FALSE(cut.complete);
  CHECK(cut.finite);
  CHECK(cut.steps_done == 8);
  CHECK(cut.loss.size() == 8);
  CHECK(cut.message == "cancelled after 8 steps");
  CHECK(lines == std::vector<std::string>{
                     "step 4 of 23: loss " + SixDigits(cut.loss[3]),
                     "step 8 of 23: loss " + SixDigits(cut.loss[7])});
  const std::string partial = io::PartialPath(dir / "cut.h5");
  CHECK_FALSE(fs::exists(dir / "cut.h5"));
  CHECK(io::ReadIntVector(partial, "/step") ==
        std::vector<std::int64_t>{0, 4, 8});
  CHECK(io::DatasetShape(partial, "/loss")[0] == 8);
  CHECK(io::ReadDoubleAttribute(partial, "/", "complete") == 0.0);

  // The resume polls the caller's token too: still cancelled, it stops at
  // once and leaves the partial file as it was.
  RunContext run;
  run.cancellation = &token;
  const TrainSummary again = ResumeTrainToFile(dir / "cut.h5", "r", 0, run);
  CHECK(again.cancelled);
  CHECK(again.steps_done == 8);
  CHECK(io::ReadIntVector(partial, "/step").back() == 8);
  token.Reset();
  lines.clear();
  run.progress = [&](const std::string& line) { lines.push_back(line); };
  const TrainSummary rest = ResumeTrainToFile(dir / "cut.h5", "r", 0, run);
  CHECK(rest.complete);
  CHECK_FALSE(rest.cancelled);
  CHECK(rest.first_step == 8);
  CHECK(lines.size() == 4);  // steps 12, 16, 20, 23
  CHECK(lines.back().rfind("step 23 of 23: loss ", 0) == 0);
  CheckSameTrajectory(dir / "full.h5", dir / "cut.h5");
}

TEST_CASE("a token cancelled before training stops it at step 0",
          "[train][run]") {
  TrainOptions o = Small(TaskKind::kFlipFlop, 8);
  CancellationToken token;
  token.Cancel();
  o.run.cancellation = &token;
  RnnParameters p;
  const TrainSummary s = Train(o, nullptr, nullptr, &p);
  CHECK(s.cancelled);
  CHECK(s.steps_done == 0);
  CHECK(s.loss.empty());
  CHECK(s.snapshots == 1);  // the initial network
  CHECK(p.w.isZero());
}

TEST_CASE(
    "a token cancelled during the adaptation protocol stops it before the "
    "next trial, with the trials so far in the partial file",
    "[train][run]") {
  test::ScratchDir dir;
  TrainOptions o = Small(TaskKind::kReach, 12);
  o.steps = 10;
  AdaptationOptions a = Trials(3, 4, 2);
  CancellationToken token;
  std::vector<std::string> lines;
  o.run.cancellation = &token;
  o.run.progress = [&](const std::string& line) {
    lines.push_back(line);
    if (line.rfind("baseline", 0) == 0) token.Cancel();
  };
  const std::string f = dir / "reach.h5";
  const AdaptationSummary s = RunAdaptationToFile(o, a, f, "test");
  CHECK(s.cancelled);
  CHECK(s.finite);
  CHECK(s.trial_loss.size() == 3);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back() ==
        "baseline: 3 trials, last loss " + SixDigits(s.trial_loss[2]));
  CHECK(lines.size() == 3);  // pre-training's snapshots at 5 and 10, baseline
  CHECK_FALSE(fs::exists(f));
  const std::string partial = io::PartialPath(f);
  CHECK(io::ReadIntVector(partial, "/epoch") ==
        std::vector<std::int64_t>{0, 0, 0});
  CHECK(io::ReadDoubleAttribute(partial, "/", "complete") == 0.0);
}

TEST_CASE(
    "a run killed with SIGKILL is readable up to its last flushed "
    "snapshot and --resume completes it exactly",
    "[train]") {
  test::ScratchDir dir;
  const std::string common =
      " train --task flipflop --units 24 --batch 4 --record-every 200 "
      "--seed 5 ";
  // Enough steps that the kill lands mid-run. --foreground: timeout signals
  // only ltr and waits for it to die (without it, timeout kills its own
  // process group, itself included, and returns while ltr may still run).
  const std::string killed = dir / "killed.h5";
  const int code = std::system(
      ("timeout --foreground -s KILL 2.5 " + std::string(LTR_BINARY) + common +
       "--steps 1000000 -o " + killed + " >" + (dir / "err.txt") + " 2>&1")
          .c_str());
  std::ifstream err_file(dir / "err.txt");
  const std::string err((std::istreambuf_iterator<char>(err_file)),
                        std::istreambuf_iterator<char>());
  INFO("exit status " << code << ", stderr: " << err);
  REQUIRE(code != 0);          // killed, not finished
  REQUIRE(code == 137 * 256);  // SIGKILL through timeout
  // What a kill leaves is the partial file, readable up to its last flush.
  const std::string partial = io::PartialPath(killed);
  CHECK_FALSE(fs::exists(killed));
  const std::vector<std::int64_t> steps = io::ReadIntVector(partial, "/step");
  REQUIRE(steps.size() >= 1);
  const std::int64_t last = steps.back();
  CHECK(last == 200 * static_cast<std::int64_t>(steps.size() - 1));
  CHECK(io::DatasetShape(partial, "/weights") ==
        std::vector<Index>{static_cast<Index>(steps.size()), 24, 24});
  CHECK(io::DatasetShape(partial, "/loss")[0] == last);
  CHECK(io::ReadDoubleAttribute(partial, "/checkpoint", "step") == last);
  CHECK(io::ReadDoubleAttribute(partial, "/", "complete") == 0.0);

  // Resume to last + 30 steps and compare with a fresh run of that length.
  const int total = static_cast<int>(last) + 30;
  const test::RunResult resumed = test::RunLtr(
      "train --resume --steps " + std::to_string(total) + " -o " + killed);
  REQUIRE(resumed.exit_code == 0);
  const test::RunResult fresh =
      test::RunLtr(common + "--steps " + std::to_string(total) + " -o " +
                   (dir / "fresh.h5"));
  REQUIRE(fresh.exit_code == 0);
  CheckSameTrajectory(dir / "fresh.h5", killed);
}

TEST_CASE(
    "analyze on a small trained flip-flop net: functional rank agrees "
    "with the truncation losses and the singular values",
    "[train]") {
  test::ScratchDir dir;
  TrainOptions o = Small(TaskKind::kFlipFlop, 32);
  o.steps = 150;
  o.batch = 16;
  o.record_every = 10;
  TrainToFile(o, dir / "ff.h5", "test");
  AnalyzeOptions a;
  a.test_batch = 64;
  a.max_truncation_rank = 32;  // up to the full dW
  a.cp_max_rank = 3;
  const TrajectoryAnalysis r = AnalyzeTrajectory(a, dir / "ff.h5");
  INFO(r.BriefReport());
  REQUIRE(r.singular_values.rows() == 16);
  REQUIRE(r.singular_values.cols() == 32);
  CHECK(r.singular_values.row(0).isZero());
  // ||dW||_F from the singular values of the last snapshot.
  CHECK(r.singular_values.row(15).norm() == Approx(r.delta_w_norm));
  // Training worked and the test loss of the full truncation is the
  // trained network's.
  CHECK(r.test_loss < 0.1 * r.initial_test_loss);
  CHECK(r.truncation_loss.back() == Approx(r.test_loss).epsilon(1e-9));
  REQUIRE(r.functional_rank >= 1);
  const double l0 = r.truncation_loss[0];
  CHECK(r.truncation_loss[r.functional_rank] < 0.05 * l0);
  CHECK(r.truncation_loss[r.functional_rank - 1] >= 0.05 * l0);
  // The functional rank is carried by nonnegligible singular values.
  CHECK(r.singular_values(15, r.functional_rank - 1) >
        1e-3 * r.singular_values(15, 0));
  CHECK(r.convergence_step > 0);
  CHECK(r.convergence_step < 150);
  CHECK(r.shuffle_loss_ratio > 0.0);
  // The overlap fields are filled: default depth 3, flip-flop's 2 + 2
  // vectors at the first and the last snapshot, 10 singular vectors
  // compared, each a squared cosine.
  CHECK(r.io_overlap.depth == 3);
  CHECK(r.io_overlap.subspace_dim == 24);
  REQUIRE(r.io_overlap.left.size() == 10);
  for (double v : r.io_overlap.left_shuffled) CHECK((v >= 0.0 && v <= 1.0));
  CHECK(r.io_overlap.overlap > 0.0);
  CHECK(r.io_overlap.overlap <= 1.0);
  REQUIRE(r.cp_relative_error.size() == 3);
  CHECK(r.cp_relative_error[2] <= r.cp_relative_error[0] + 1e-9);
  CHECK(r.cp_relative_error[0] < 1.0);

  // S20's protocol: a fresh batch per truncation rank and for the shuffle;
  // the first batch (initial, full and rank-0 losses) is the same.
  a.fresh_test_batches = true;
  a.cp_max_rank = 0;
  const TrajectoryAnalysis f = AnalyzeTrajectory(a, dir / "ff.h5");
  CHECK(f.initial_test_loss == r.initial_test_loss);
  CHECK(f.test_loss == r.test_loss);
  CHECK(f.truncation_loss[0] == r.truncation_loss[0]);
  CHECK(f.truncation_loss[1] != r.truncation_loss[1]);
  CHECK(f.truncation_loss.back() != Approx(f.test_loss).epsilon(1e-9));
  CHECK(f.shuffle_loss != r.shuffle_loss);
}

TEST_CASE(
    "adaptation protocol records weights and activity of every trial "
    "with epochs, and learns only under the curl force and washout",
    "[train]") {
  test::ScratchDir dir;
  TrainOptions o = Small(TaskKind::kReach, 16);
  o.steps = 40;
  AdaptationOptions a = Trials(3, 4, 2);
  a.curl = 1.0;
  a.learning_rate = 0.05;
  const std::string f = dir / "reach.h5";
  const AdaptationSummary s = RunAdaptationToFile(o, a, f, "test");
  CHECK(s.trial_loss.size() == 9);
  CHECK(io::DatasetShape(f, "/activity") == std::vector<Index>{9, 50, 16});
  CHECK(io::DatasetShape(f, "/inputs") == std::vector<Index>{9, 50, 3});
  CHECK(io::DatasetShape(f, "/weights") == std::vector<Index>{9, 16, 16});
  CHECK(io::ReadIntVector(f, "/epoch") ==
        std::vector<std::int64_t>{0, 0, 0, 1, 1, 1, 1, 2, 2});
  CHECK(io::ReadDoubleAttribute(f, "/", "dt") == 0.5);
  const Tensor3 w = io::ReadTensor3(f, "/weights");
  auto slice = [&](Index k) -> MatrixXd { return w.Slice(k); };
  CHECK(slice(0) == slice(3));                // no learning in the baseline
  CHECK((slice(4) - slice(3)).norm() > 0.0);  // SGD after adaptation trial
  // The activity is phi(x) of the trial: tanh rates within (-1, 1).
  const Tensor3 act = io::ReadTensor3(f, "/activity");
  CHECK(act.AsVector().cwiseAbs().maxCoeff() <= 1.0);
  CHECK(act.AsVector().cwiseAbs().maxCoeff() > 0.0);
  // The recording is readable as one.
  CHECK(io::ReadDoubleAttribute(f, "/", "complete") == 1.0);
}

TEST_CASE(
    "adaptation steps are clipped to lr x clip_norm, and recurrent_only "
    "leaves the input and output weights as pre-trained",
    "[train]") {
  test::ScratchDir dir;
  TrainOptions o = Small(TaskKind::kReach, 16);
  o.steps = 40;
  AdaptationOptions a = Trials(2, 6, 4);
  a.curl = 1.0;
  a.learning_rate = 0.05;
  a.clip_norm = 0.2;
  a.recurrent_only = true;
  const std::string f = dir / "reach.h5";
  RunAdaptationToFile(o, a, f, "test");
  const Tensor3 w = io::ReadTensor3(f, "/weights");
  const Tensor3 w_in = io::ReadTensor3(f, "/w_in");
  const Tensor3 w_out = io::ReadTensor3(f, "/w_out");
  const Vector grad_norm = io::ReadVector(f, "/grad_norm");
  bool some_clipped = false;
  for (Index k = 0; k + 1 < w.dim(0); ++k) {
    // Only W is trained, so the step is all in W: |dW| = lr min(|g|, clip).
    const double step = (w.Slice(k + 1) - w.Slice(k)).norm();
    const double expected =
        a.learning_rate * std::min(grad_norm(k), a.clip_norm);
    CHECK(step == Approx(expected).margin(1e-12));
    some_clipped = some_clipped || grad_norm(k) > a.clip_norm;
    CHECK(MatrixXd(w_in.Slice(k + 1)) == MatrixXd(w_in.Slice(0)));
    CHECK(MatrixXd(w_out.Slice(k + 1)) == MatrixXd(w_out.Slice(0)));
  }
  CHECK(some_clipped);  // the test exercises clipping
}

TEST_CASE("train and analyze round trip on the command line", "[train][cli]") {
  test::ScratchDir dir;
  const test::RunResult t = test::RunLtr(
      "train --task mante --units 24 --steps 30 --batch 4 --record-every 10 "
      "--seed 2 -o " +
      (dir / "m.h5"));
  INFO(t.err);
  REQUIRE(t.exit_code == 0);
  CHECK(io::ReadStringAttribute(dir / "m.h5", "/config", "task") == "mante");
  CHECK(io::ReadDoubleAttribute(dir / "m.h5", "/config", "units") == 24);
  CHECK(io::DatasetShape(dir / "m.h5", "/weights") ==
        std::vector<Index>{4, 24, 24});
  CHECK(io::DatasetShape(dir / "m.h5", "/w_in") ==
        std::vector<Index>{4, 24, 4});
  CHECK(io::DatasetShape(dir / "m.h5", "/w_out") ==
        std::vector<Index>{4, 24, 1});
  CHECK(io::DatasetShape(dir / "m.h5", "/loss") == std::vector<Index>{30});
  const test::RunResult an = test::RunLtr("analyze " + (dir / "m.h5") +
                                          " --test-batch 16 --max-rank 5 "
                                          "--cp-max-rank 2 -o " +
                                          (dir / "a.h5"));
  INFO(an.err);
  REQUIRE(an.exit_code == 0);
  CHECK(io::DatasetShape(dir / "a.h5", "/delta_w/singular_values") ==
        std::vector<Index>{4, 24});
  CHECK(io::DatasetShape(dir / "a.h5", "/truncation/loss") ==
        std::vector<Index>{6});
  CHECK(io::DatasetShape(dir / "a.h5", "/update_tensor/relative_error") ==
        std::vector<Index>{2});
  for (const char* attr : {"functional_rank",
                           "convergence_step",
                           "delta_w_norm",
                           "initial_loss",
                           "final_loss",
                           "shuffle_loss_ratio"})
    CHECK(io::HasAttribute(dir / "a.h5", "/", attr));
}

// Runs `ltr train ARGS` (words separated by spaces) in-process; *err
// receives its stderr.
int RunTrainInProcess(const std::string& words, std::string* err) {
  std::vector<std::string> args = {"train"};
  std::istringstream split(words);
  for (std::string word; split >> word;) args.push_back(word);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream out, errors;
  std::streambuf* cout = std::cout.rdbuf(out.rdbuf());
  std::streambuf* cerr = std::cerr.rdbuf(errors.rdbuf());
  int code = -1;
  try {
    code = RunTrain(static_cast<int>(argv.size()), argv.data());
  } catch (...) {
    std::cout.rdbuf(cout);
    std::cerr.rdbuf(cerr);
    throw;
  }
  std::cout.rdbuf(cout);
  std::cerr.rdbuf(cerr);
  *err = errors.str();
  return code;
}

TEST_CASE(
    "ltr train stopped by the signal token exits with 128 + signal, says "
    "how to resume, and --resume then completes the run",
    "[train][cli]") {
  test::ScratchDir dir;
  const std::string out = dir / "t.h5";
  struct Signalled {
    Signalled() { cli::SignalToken().Cancel(SIGINT); }
    ~Signalled() { cli::SignalToken().Reset(); }
  };
  std::string err;
  {
    Signalled signalled;
    const int code = RunTrainInProcess(
        "--task flipflop --units 6 --steps 4 --batch 2 --record-every 2 "
        "--threads 1 -o " +
            out,
        &err);
    CHECK(code == 128 + SIGINT);
  }
  CHECK(err == "ltr train: interrupted by signal 2; " + io::PartialPath(out) +
                   " holds the run up to its last snapshot and " + out +
                   " is unchanged; continue with: ltr train --resume -o " +
                   out + "\n");
  CHECK_FALSE(fs::exists(out));
  CHECK(io::ReadIntVector(io::PartialPath(out), "/step") ==
        std::vector<std::int64_t>{0});
  CHECK(RunTrainInProcess("--resume -o " + out, &err) == 0);
  CHECK(err.empty());
  CHECK(io::ReadIntVector(out, "/step") == std::vector<std::int64_t>{0, 2, 4});
  CHECK(IsCompleteRun(out));
}

TEST_CASE("train rejects bad input with one line and leaves no output file",
          "[train][cli]") {
  test::ScratchDir dir;
  const std::string out = dir / "t.h5";
  const std::string cases[] = {
      "train --task juggle -o " + out,
      "train --task flipflop --units 0 -o " + out,
      "train --task flipflop --units -3 -o " + out,
      "train --task flipflop --train in,bias -o " + out,
      "train --task flipflop --train , -o " + out,
      "train --task flipflop --optimizer lbfgs -o " + out,
      "train --task flipflop -o " + (dir / "missing/t.h5"),
      "train --resume -o " + out,
      "analyze " + (dir / "none.h5") + " -o " + out,
      // Fails after the partial file is created: it is removed again.
      "train --task flipflop --units 2000000000 --steps 1 -o " + out,
  };
  for (const std::string& args : cases) {
    const test::RunResult r = test::RunLtr(args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code != 0);
    CHECK(test::CountLines(r.err) == 1);
    CHECK(access(out.c_str(), F_OK) != 0);
    CHECK(access(io::PartialPath(out).c_str(), F_OK) != 0);
    CHECK(access((dir / "missing/t.h5").c_str(), F_OK) != 0);
  }
}

// A corrupt /config (here units = 1e300) used to be converted to int
// unchecked: undefined behaviour, caught by scripts/sanitize.sh's UBSan.
TEST_CASE("resuming a run whose config holds an impossible count fails",
          "[train]") {
  if (!test::HavePythonH5py()) {
    WARN("python3 with h5py and numpy not found; skipped");
    return;
  }
  test::ScratchDir dir;
  TrainOptions o = Small(TaskKind::kFlipFlop, 4);
  o.steps = 4;
  o.record_every = 2;
  o.stop_after_steps = 2;
  TrainToFile(o, dir / "cut.h5", "cut");
  const std::string partial = io::PartialPath(dir / "cut.h5");
  CHECK(ReadTrainOptions(partial).units == 4);
  bool ok = false;
  test::RunPython(
      "import h5py\n"
      "with h5py.File('" +
          partial +
          "', 'a') as f:\n"
          "  f['config'].attrs['units'] = 1e300\n",
      &ok);
  REQUIRE(ok);
  CHECK_THROWS_WITH(ReadTrainOptions(partial),
                    Catch::Matchers::Contains("'units' of '/config'") &&
                        Catch::Matchers::Contains("is 1e+300"));
  CHECK_THROWS_AS(ResumeTrainToFile(dir / "cut.h5", "resume"), Error);
}

}  // namespace
}  // namespace ltr
