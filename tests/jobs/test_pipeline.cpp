// The learning-over-trials pipeline (pipeline.h) end to end on a small
// reach-adaptation recording, and its refusals of unsuitable input.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ltr/core/error.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/formats/decomposition_file.h"
#include "ltr/formats/fit_file.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/pipeline_file.h"
#include "ltr/formats/table_file.h"
#include "ltr/jobs/pipeline.h"
#include "ltr/jobs/plot.h"
#include "ltr/train/train.h"
#include "test_support.h"

namespace ltr {
namespace {

// A 12-unit network through 6 baseline, 8 curl and 6 washout trials.
std::string MakeLearningRecording(const test::ScratchDir& dir) {
  TrainOptions o;
  o.task.kind = TaskKind::kReach;
  o.units = 12;
  o.g = 0.0;
  o.batch = 4;
  o.steps = 30;
  o.record_every = 10;
  o.seed = 5;
  AdaptationOptions a;
  a.baseline_trials = 6;
  a.adaptation_trials = 8;
  a.washout_trials = 6;
  a.recurrent_only = true;
  const std::string path = dir / "learning.h5";
  RunAdaptationToFile(o, a, path, "test");
  return path;
}

PipelineOptions SmallPipeline(const std::string& input,
                              const std::string& out) {
  PipelineOptions o;
  // Short, unregularised fits: FitOptions' defaults with the pipeline's start.
  o.fit = FitOptions();
  o.fit.init_tanh_saturation = 0.999;
  o.input = input;
  o.output_dir = out;
  o.ranks = {1, 2};
  o.fit.max_iterations = 60;
  o.fit.hold_out.block_trials = 5;  // 20 trials: blocks that fit
  o.fit.hold_out.test_trials = 2;
  o.cp_restarts = 2;
  o.plots = false;
  o.seed = 2;
  return o;
}

// The shipped example's main job as one warm chain (one fit per rank) at
// `seed`; `lines` collects the sweep's one line per fit.
PipelineOptions OneWarmChain(const test::ScratchDir& dir,
                             const std::vector<int>& ranks,
                             int seed,
                             std::vector<std::string>& lines) {
  PipelineOptions o;
  o.input = std::string(LTR_SOURCE_DIR) + "/data/example_learning.h5";
  o.output_dir = dir / "out";
  o.plots = false;
  o.ranks = ranks;
  o.seeds = 1;
  o.seed = seed;
  o.cp_restarts = 1;
  o.run.num_threads = 2;
  o.fit.progress_every = 100000;  // the sweep's one line per fit only
  o.run.progress = [&lines](const std::string& l) {
    if (l.rfind("rank ", 0) == 0) lines.push_back(l);
  };
  return o;
}

}  // namespace

TEST_CASE(
    "pipeline: fits, update tensors and comparison are consistent with the "
    "files it writes",
    "[pipeline]") {
  test::ScratchDir dir;
  const std::string input = MakeLearningRecording(dir);
  const PipelineOptions o = SmallPipeline(input, dir / "out");
  const PipelineSummary s = RunLearningPipeline(o);

  for (const char* name : {"baseline_fit.h5",
                           "fit.h5",
                           "true_update_cp.h5",
                           "fitted_update_cp.h5",
                           "bounds.h5",
                           "summary.h5"})
    CHECK(std::ifstream(dir / ("out/" + std::string(name))).good());
  const int rank = s.sweep.chosen_rank;
  REQUIRE((rank == 1 || rank == 2));
  CHECK(io::ReadDoubleAttribute(dir / "out/fit.h5", "/cv", "chosen_rank") ==
        rank);

  // The fitted update sum_r (c[k,r] - mean of c[:,r] over the 6 baseline
  // trials) a_r b_r^T has CP rank <= the model's rank, so its CP at that
  // rank is (numerically) exact: this checks the tensor was laid out
  // (trial, post, pre) consistently.
  const std::string fitted = dir / "out/fitted_update_cp.h5";
  const std::string group = EnsembleFitGroup(rank, 0);
  const Ktensor f = ReadKruskal(fitted, group);
  const FittedModel model = ReadModel(dir / "out/fit.h5");
  const RnnParameters& p = model.parameters;
  const Eigen::RowVectorXd baseline_c = p.c.topRows(6).colwise().mean();
  const Tensor3 reconstruction = f.Full();
  double diff = 0, norm = 0;
  for (Index k = 0; k < p.num_trials(); ++k)
    for (Index i = 0; i < p.units(); ++i)
      for (Index j = 0; j < p.units(); ++j) {
        double direct = 0;
        for (Index r = 0; r < p.rank(); ++r)
          direct += (p.c(k, r) - baseline_c(r)) * p.a(i, r) * p.b(j, r);
        diff += std::pow(reconstruction(k, i, j) - direct, 2);
        norm += direct * direct;
      }
  REQUIRE(norm > 0);
  CHECK(std::sqrt(diff / norm) < 1e-3);

  // The true update W_k - W_0 is zero over the baseline epoch (no learning
  // there), so its CP trial factors are too.
  const Ktensor t = ReadKruskal(dir / "out/true_update_cp.h5", group);
  for (Index trial = 0; trial < 6; ++trial)
    for (Index r = 0; r < t.rank(); ++r)
      CHECK(std::abs(t.weights(r) * t.factors[0](trial, r)) < 1e-8);

  // The factor match reported at the fit's rank is the alignment of those
  // two files' fits.
  CHECK(s.at_fit_rank.rank == rank);
  CHECK(s.at_fit_rank.factor_match == Approx(FactorMatchScore(t, f)));
  CHECK(io::ReadDoubleAttribute(
            dir / "out/summary.h5", "/", "factor_match_at_fit_rank") ==
        Approx(s.at_fit_rank.factor_match));
  // The compared rank is the largest, up to the fit's, at which every CP
  // restart of both tensors agrees with the best.
  const int compared = s.comparison.rank;
  REQUIRE(compared >= 1);
  REQUIRE(compared <= rank);
  for (int r = 1; r <= rank; ++r) {
    const bool stable =
        s.true_cp_stability[static_cast<size_t>(r - 1)] >= 0.9 &&
        s.fitted_cp_stability[static_cast<size_t>(r - 1)] >= 0.9;
    if (r > compared) CHECK_FALSE(stable);
    if (r == compared && compared > 1) CHECK(stable);
  }
  const std::string at = EnsembleFitGroup(compared, 0);
  CHECK(s.comparison.factor_match ==
        Approx(FactorMatchScore(ReadKruskal(dir / "out/true_update_cp.h5", at),
                                ReadKruskal(fitted, at))));
  CHECK(io::ReadDoubleAttribute(dir / "out/summary.h5", "/", "factor_match") ==
        Approx(s.comparison.factor_match));
  CHECK(io::ReadDoubleAttribute(dir / "out/summary.h5", "/", "compare_rank") ==
        compared);
  // Factor match by rank: every rank's pair of best fits, the compared and
  // fit ranks' entries equal to the headline numbers; the per-component
  // scores average to the factor match.
  const Eigen::VectorXd by_rank = io::ReadVector(
      dir / "out/summary.h5", "/comparison/factor_match_by_rank");
  REQUIRE(by_rank.size() == static_cast<Index>(s.true_cp_stability.size()));
  CHECK(by_rank(compared - 1) == Approx(s.comparison.factor_match));
  CHECK(by_rank(rank - 1) == Approx(s.at_fit_rank.factor_match));
  for (int r = 1; r <= by_rank.size(); ++r) {
    const std::string run = EnsembleFitGroup(r, 0);
    CHECK(by_rank(r - 1) == Approx(FactorMatchScore(
                                ReadKruskal(dir / "out/true_update_cp.h5", run),
                                ReadKruskal(fitted, run))));
  }
  const Eigen::VectorXd scores =
      io::ReadVector(dir / "out/summary.h5", "/comparison/component_scores");
  REQUIRE(scores.size() == compared);
  CHECK(scores.mean() == Approx(s.comparison.factor_match));
  // Its figures: the aligned trial factors and the by-rank curve, whose
  // caption names the compared rank, then the scores' per-neuron R^2 and
  // trial factors per epoch.
  PlotOptions plot;
  plot.output_dir = dir / "figs";
  const std::vector<Figure> figures = PlotFile(plot, dir / "out/summary.h5");
  REQUIRE(figures.size() == 4);
  CHECK(figures[2].name == "scores_r2_per_neuron");
  CHECK(figures[3].name == "scores_trial_factors_by_epoch");
  CHECK(figures[0].name ==
        "comparison_trial_factors_rank" + std::to_string(compared));
  CHECK(figures[1].name == "comparison_by_rank");
  CHECK_THAT(figures[1].caption,
             Catch::Matchers::Contains("compared at rank " +
                                       std::to_string(compared)));
  for (const Figure& f : figures) CHECK(std::ifstream(f.png).good());
  const Matrix trial_factors =
      io::ReadMatrix(dir / "out/summary.h5", "/comparison/true_trial_factors");
  CHECK(trial_factors.rows() == p.num_trials());
  CHECK(trial_factors.cols() == compared);
  REQUIRE(s.comparison.epochs == std::vector<std::int64_t>{0, 1, 2});
  CHECK(s.comparison.true_epoch_means.row(0).norm() < 1e-8);
  // The baseline network is fitted well (units = neurons, R^2 held out).
  CHECK(s.baseline_test_r2 > 0.9);
  CHECK(!s.bounds.rows.empty());
}

TEST_CASE(
    "pipeline: a signal stops it between steps with no half-written file, "
    "and resume reuses the finished steps to the uninterrupted result",
    "[pipeline][interrupt]") {
  test::ScratchDir dir;
  const std::string input = MakeLearningRecording(dir);
  const PipelineSummary whole =
      RunLearningPipeline(SmallPipeline(input, dir / "whole"));
  REQUIRE(whole.complete);
  // The signal arrives as step N starts; steps before it keep their files.
  const std::vector<std::vector<std::string>> kept = {
      {"baseline_fit.h5"},
      {"baseline_fit.h5", "fit.h5"},
      {"baseline_fit.h5",
       "fit.h5",
       "true_update_cp.h5",
       "fitted_update_cp.h5"}};
  for (int step = 2; step <= 4; ++step) {
    INFO("interrupted at step " << step);
    const std::string out = dir / ("cut" + std::to_string(step));
    PipelineOptions o = SmallPipeline(input, out);
    const std::string prefix = "[" + std::to_string(step) + "/5]";
    CancellationToken token;
    o.run.cancellation = &token;
    o.run.progress = [&](const std::string& line) {
      if (line.rfind(prefix, 0) == 0) token.Cancel(SIGINT);
    };
    const PipelineSummary cut = RunLearningPipeline(o);
    o.run.cancellation = nullptr;
    CHECK_FALSE(cut.complete);
    const std::vector<std::string>& expected = kept[step - 2];
    std::vector<std::string> present;
    for (const auto& f : std::filesystem::directory_iterator(out))
      present.push_back(f.path().filename().string());
    std::sort(present.begin(), present.end());
    std::vector<std::string> sorted = expected;
    std::sort(sorted.begin(), sorted.end());
    CHECK(present == sorted);

    o.resume = true;
    std::string said;
    o.run.progress = [&](const std::string& line) { said += line + "\n"; };
    const PipelineSummary resumed = RunLearningPipeline(o);
    INFO(said);
    REQUIRE(resumed.complete);
    for (const std::string& name : expected)
      CHECK_THAT(said, Catch::Contains("reused " + out + "/" + name));
    CHECK(resumed.sweep.test_loss == whole.sweep.test_loss);
    CHECK(resumed.comparison.factor_match == whole.comparison.factor_match);
    for (const char* name : {"fit.h5", "fitted_update_cp.h5", "summary.h5"})
      test::CheckSameFiles(dir / ("whole/" + std::string(name)),
                           out + "/" + name,
                           {"pipeline_key"});
  }
  // Other options: nothing is reused.
  PipelineOptions other = SmallPipeline(input, dir / "cut2");
  other.seed = 3;
  other.resume = true;
  std::string said;
  other.run.progress = [&](const std::string& line) { said += line + "\n"; };
  REQUIRE(RunLearningPipeline(other).complete);
  CHECK_THAT(said, !Catch::Contains("reused"));
}

TEST_CASE(
    "pipeline: the bounds stage runs on the pipeline's threads; summary.h5 "
    "reads back",
    "[pipeline]") {
  test::ScratchDir dir;
  const std::string input = MakeLearningRecording(dir);
  PipelineOptions o = SmallPipeline(input, dir / "out");
  o.run.num_threads = 2;
  std::vector<std::string> said;
  o.run.progress = [&](const std::string& line) { said.push_back(line); };
  const PipelineSummary s = RunLearningPipeline(o);
  REQUIRE(s.complete);
  CHECK(s.bounds.threads == 2);
  // The same table as the bounds of the input on 2 threads.
  BoundsOptions b;
  b.run.num_threads = 2;
  const BoundsSummary alone = EvaluateBounds(b, ReadLearningRun(input));
  CHECK(ReadBounds(dir / "out/bounds.h5").table.values == BoundsTable({alone}));
  // Progress: one line per step ([1/5] .. [4/5] without plots).
  int steps = 0;
  for (const std::string& line : said) steps += line.rfind("[", 0) == 0;
  CHECK(steps == 4);

  const PipelineSummaryFile f = ReadPipelineSummary(dir / "out/summary.h5");
  CHECK(f.true_trial_factors == s.comparison.true_trial_factors);
  CHECK(f.fitted_trial_factors == s.comparison.fitted_trial_factors);
  CHECK(f.factor_match == s.comparison.factor_match);
  CHECK(f.compare_rank == s.comparison.rank);
  CHECK(f.factor_match_by_rank.size() ==
        static_cast<Index>(s.factor_match_by_rank.size()));
  CHECK(f.true_cp_stability(0) == s.true_cp_stability[0]);
}

TEST_CASE("pipeline: an output file that would be the input is refused",
          "[pipeline][safety]") {
  test::ScratchDir dir;
  const std::string input = MakeLearningRecording(dir);
  std::filesystem::create_directory(dir / "out");
  std::filesystem::rename(input, dir / "out/fit.h5");
  const std::string bytes = test::ReadText(dir / "out/fit.h5");
  const PipelineOptions o = SmallPipeline(dir / "out/fit.h5", dir / "out");
  CHECK_THROWS_WITH(RunLearningPipeline(o), Catch::Contains("is the input"));
  CHECK(test::ReadText(dir / "out/fit.h5") == bytes);
}

TEST_CASE("pipeline: refuses input it cannot use with one clear error",
          "[pipeline]") {
  test::ScratchDir dir;
  const std::string input = MakeLearningRecording(dir);
  SECTION("no baseline trials") {
    PipelineOptions o = SmallPipeline(input, dir / "out");
    o.baseline_epoch = 7;
    CHECK_THROWS_WITH(RunLearningPipeline(o),
                      Catch::Contains("no trial has epoch 7"));
  }
  SECTION(
      "a readout or units with /weights (fitted and true weights must "
      "share the unit space)") {
    PipelineOptions o = SmallPipeline(input, dir / "out");
    o.readout = ReadoutKind::kFree;
    CHECK_THROWS_WITH(RunLearningPipeline(o),
                      Catch::Contains("drop the units and readout options"));
    o.readout.reset();
    o.units = 5;
    CHECK_THROWS_WITH(RunLearningPipeline(o),
                      Catch::Contains("drop the units and readout options"));
  }
  SECTION("the command exits 1 with one line") {
    const test::RunResult r =
        test::RunLtr("pipeline " + dir / "missing.h5" + " -o " + dir / "o");
    CHECK(r.exit_code == 1);
    CHECK(test::CountLines(r.err) == 1);
  }
}

TEST_CASE(
    "the main job's fits converge and the warm-started rank 2 finds the "
    "second planted component",
    "[pipeline][sweep_warm]") {
  // Before: every fit ended on the 1000-iteration limit (rank 1 held-out
  // loss 5.22e-5 after 1000). Measured with these defaults: base fit
  // converged at 834 iterations; rank 1 at 267 (held-out 5.19e-5); rank 2,
  // from rank 1 plus a new component, at 290 (held-out 9.8e-6).
  test::ScratchDir dir;
  std::vector<std::string> lines;
  // Seed 2: a random new component died at this seed; this one grows.
  const PipelineOptions o = OneWarmChain(dir, {1, 2}, 2, lines);
  const PipelineSummary s = RunLearningPipeline(o);
  INFO(s.sweep.BriefReport());
  REQUIRE(lines.size() == 2);
  for (const std::string& l : lines) {
    INFO(l);
    CHECK_THAT(l, Catch::Matchers::Contains(": converged, held-out loss"));
  }
  const FitSummary base = ReadFitSummary(dir / "out/baseline_fit.h5");
  CHECK(base.termination == "converged");
  CHECK(base.iterations < 1000);
  CHECK(s.sweep.test_loss(1, 0) < 0.5 * s.sweep.test_loss(0, 0));
  CHECK(s.sweep.chosen_rank == 2);
}

TEST_CASE(
    "a warm chain whose rank 2 ends in a worse local solution is refitted "
    "from rank 3, and the rank rule chooses 2",
    "[pipeline][sweep_warm]") {
  // Seed 5, one chain, two threads: rank 2 grown from rank 1 converges at
  // held-out 1.19e-5, rank 3 grown from it at 0.986e-5, so the rank rule
  // chose rank 3 (before the downward pass). Rank 2 refitted from rank 3
  // without its weakest component: 0.986e-5 after 50 iterations.
  test::ScratchDir dir;
  std::vector<std::string> lines;
  const PipelineOptions o = OneWarmChain(dir, {1, 2, 3}, 5, lines);
  const PipelineSummary s = RunLearningPipeline(o);
  INFO(s.sweep.BriefReport());
  REQUIRE(lines.size() == 4);  // ranks 1, 2, 3 up, then rank 2 again
  CHECK_THAT(lines[1], Catch::Matchers::Contains("rank 2 seed 5: converged"));
  CHECK_THAT(
      lines[3],
      Catch::Matchers::Contains("rank 2 seed 5 (from rank 3): converged"));
  CHECK(s.sweep.test_loss(1, 0) < 1.01 * s.sweep.test_loss(2, 0));
  CHECK(s.sweep.test_loss(1, 0) < 1.0e-5);
  CHECK(s.sweep.chosen_rank == 2);
  CHECK(s.sweep.best.model.parameters.rank() == 2);
  CHECK(s.comparison.factor_match >= 0.94);
}

TEST_CASE(
    "the main job recovers the planted weight update of the shipped "
    "reach-adaptation example",
    "[.slow][pipeline_slow]") {
  // Measured (2 threads, two fits per rank, ~90 s): chosen rank 2, relative
  // distance 0.47, compared at CP rank 2, factor match 0.943, congruence
  // trial / post / pre 0.997 / 0.985 / 0.961.
  test::ScratchDir dir;
  PipelineOptions o;
  o.input = std::string(LTR_SOURCE_DIR) + "/data/example_learning.h5";
  o.output_dir = dir / "out";
  o.plots = false;  // the fits: PipelineFitDefaults(), as `ltr pipeline`
  o.run.num_threads = 2;
  const PipelineSummary s = RunLearningPipeline(o);
  INFO(s.SummaryTable());
  CHECK(s.sweep.best.test_metrics.r2 >= 0.99);
  CHECK(s.comparison.rank >= 2);
  CHECK(s.comparison.factor_match >= 0.9);
  CHECK(s.comparison.trial_congruence >= 0.95);
  CHECK(s.comparison.update_distance <= 0.5);
  // The adaptation component rises in the curl epoch and decays in washout,
  // in the fit as in the truth: its adaptation mean exceeds both others.
  for (Index r = 0; r < s.comparison.rank; ++r) {
    const auto fitted = s.comparison.fitted_epoch_means.col(r).cwiseAbs();
    CHECK(fitted(1) > 3 * fitted(0));
    CHECK(fitted(1) > 3 * fitted(2));
  }
}

}  // namespace ltr
