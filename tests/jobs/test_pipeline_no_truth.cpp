// The pipeline (pipeline.h) on recordings without true weights: a small
// synthetic one of spike counts, and a real one (the human MTL recording of
// ../shared, imported by `ltr import`).
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <utility>

#include "ltr/core/error.h"
#include "ltr/fit/fit.h"
#include "ltr/formats/fit_file.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/pipeline_file.h"
#include "ltr/jobs/pipeline.h"
#include "ltr/rnn/simulate.h"
#include "ltr/synthetic/synthetic.h"
#include "test_support.h"

namespace ltr {
namespace {

// Poisson counts of a 6-unit rank-2 teacher, 3 conditions, no /weights and
// no /epoch.
std::string MakeCountRecording(const test::ScratchDir& dir) {
  LtrTeacherOptions t;
  t.units = 6;
  t.rank = 2;
  t.trials = 24;
  t.conditions = 3;
  t.seed = 4;
  FittedModel teacher = MakeLtrTeacher(t);
  teacher.loss = RnnLoss::kPoisson;
  teacher.parameters.offset.setConstant(1.0);  // about 1.3 spikes per bin
  SimulateOptions s;
  s.steps = 16;
  s.seed = 7;
  const Recording r = SimulateRecording(teacher, s);
  const std::string path = dir / "counts.h5";
  io::OutputFile out(path, "test");
  WriteRecording(r, &out);
  out.Commit();
  return path;
}

// Poisson NLL sum(rate - y log rate) over the test entries, rates floored as
// ComputeMetrics floors them.
double Nll(const Tensor3& y, const Tensor3& rate, const Mask3& test) {
  double nll = 0;
  for (Index i = 0; i < y.size(); ++i)
    if (test.data()[i]) {
      const double r = std::max(rate.data()[i], 1e-9);
      nll += r - y.data()[i] * std::log(r);
    }
  return nll;
}

// Held-out bits/spike by hand: the gain over each neuron's mean held-out
// count of `rate`, and of the PSTH: per condition (trial k has condition
// k mod 3), bin and neuron, the mean of the training entries (a cell
// without any: the neuron's training mean).
std::pair<double, double> HandBitsPerSpike(const Recording& r,
                                           const Tensor3& rate,
                                           const Mask3& train,
                                           const Mask3& test) {
  const Index trials = r.trials(), steps = r.steps(), neurons = r.neurons();
  Tensor3 null(trials, steps, neurons), psth(trials, steps, neurons);
  double spikes = 0;
  for (Index n = 0; n < neurons; ++n) {
    double count = 0, sum = 0, train_count = 0, train_sum = 0;
    for (Index k = 0; k < trials; ++k)
      for (Index t = 0; t < steps; ++t) {
        if (test(k, t, n)) {
          count += 1;
          sum += r.activity(k, t, n);
        }
        if (train(k, t, n)) {
          train_count += 1;
          train_sum += r.activity(k, t, n);
        }
      }
    spikes += sum;
    for (Index t = 0; t < steps; ++t)
      for (Index c = 0; c < 3; ++c) {
        double m = 0, sum_c = 0;
        for (Index k = c; k < trials; k += 3)
          if (train(k, t, n)) {
            m += 1;
            sum_c += r.activity(k, t, n);
          }
        for (Index k = c; k < trials; k += 3) {
          psth(k, t, n) = m > 0 ? sum_c / m : train_sum / train_count;
          null(k, t, n) = sum / count;
        }
      }
  }
  const double null_nll = Nll(r.activity, null, test);
  return {(null_nll - Nll(r.activity, rate, test)) / (spikes * std::log(2.0)),
          (null_nll - Nll(r.activity, psth, test)) / (spikes * std::log(2.0))};
}

}  // namespace

TEST_CASE(
    "pipeline without /weights: fits counts, skips the truth, scores per "
    "neuron and against a PSTH",
    "[pipeline]") {
  test::ScratchDir dir;
  const std::string input = MakeCountRecording(dir);
  PipelineOptions o;
  o.input = input;
  o.output_dir = dir / "out";
  o.fit = FitOptions();
  o.fit.loss.loss = RnnLoss::kPoisson;
  o.fit.max_iterations = 40;
  o.fit.hold_out.block_trials = 6;
  o.fit.hold_out.test_trials = 2;
  o.fit.hold_out.block_time = 8;
  o.fit.hold_out.test_time = 4;
  o.ranks = {1, 2};
  o.seeds = 1;
  o.cp_restarts = 2;
  o.plots = false;
  o.seed = 3;
  const PipelineSummary s = RunLearningPipeline(o);
  REQUIRE(s.complete);
  CHECK_FALSE(s.has_truth);
  CHECK_FALSE(s.has_base);
  for (const char* name : {"fit.h5", "fitted_update_cp.h5", "summary.h5"})
    CHECK(std::filesystem::exists(dir / ("out/" + std::string(name))));
  for (const char* name : {"baseline_fit.h5", "true_update_cp.h5", "bounds.h5"})
    CHECK_FALSE(std::filesystem::exists(dir / ("out/" + std::string(name))));
  const std::string summary = dir / "out/summary.h5";
  CHECK_FALSE(HasPipelineSummary(summary));
  CHECK(s.SummaryTable().find("none: no true-vs-fitted comparison") !=
        std::string::npos);

  // Independently of the pipeline: the chosen model's predictions on the
  // recording, scored on fit.h5's held-out entries.
  const Recording r = ReadRecording(input);
  const FitSummary fit = ReadFitSummary(dir / "out/fit.h5");
  REQUIRE(fit.model.readout == ReadoutKind::kFree);
  const Tensor3 rate = Predict(ReadModel(dir / "out/fit.h5"), r);
  const Mask3& test = fit.masks.test;
  const Mask3& train = fit.masks.train;
  const Vector r2_file = io::ReadVector(summary, "/scores/test_r2_per_neuron");
  REQUIRE(r2_file.size() == 6);
  for (Index n = 0; n < 6; ++n) {
    double count = 0, sum = 0;
    for (Index k = 0; k < 24; ++k)
      for (Index t = 0; t < 16; ++t)
        if (test(k, t, n)) {
          count += 1;
          sum += r.activity(k, t, n);
        }
    double res = 0, tot = 0;
    for (Index k = 0; k < 24; ++k)
      for (Index t = 0; t < 16; ++t)
        if (test(k, t, n)) {
          res += std::pow(r.activity(k, t, n) - rate(k, t, n), 2);
          tot += std::pow(r.activity(k, t, n) - sum / count, 2);
        }
    CHECK(s.scores.test_r2_per_neuron(n) == Approx(1 - res / tot));
    CHECK(r2_file(n) == Approx(1 - res / tot));
  }

  const auto [bits, psth_bits] = HandBitsPerSpike(r, rate, train, test);
  CHECK(s.scores.bits_per_spike == Approx(bits));
  CHECK(s.scores.psth_bits_per_spike == Approx(psth_bits));
  CHECK(io::ReadDoubleAttribute(summary, "/", "test_bits_per_spike") ==
        Approx(bits));
  CHECK(io::ReadDoubleAttribute(summary, "/", "psth_test_bits_per_spike") ==
        Approx(psth_bits));

  // Trial factors per condition: the means of the file's trial factors over
  // each condition's trials.
  const PipelineScoresFile scores = ReadPipelineScores(summary);
  CHECK(scores.grouped_by == "condition");
  REQUIRE(scores.groups == std::vector<std::int64_t>{0, 1, 2});
  REQUIRE(scores.trial_factors.rows() == 24);
  CHECK(scores.trial_factors.cols() == std::min(s.sweep.chosen_rank, 2));
  for (Index c = 0; c < 3; ++c)
    for (Index j = 0; j < scores.trial_factors.cols(); ++j) {
      double mean = 0;
      for (Index k = c; k < 24; k += 3) mean += scores.trial_factors(k, j) / 8;
      CHECK(scores.group_means(c, j) == Approx(mean));
    }
}

TEST_CASE("pipeline warns when counts are fitted with the mse loss",
          "[pipeline]") {
  test::ScratchDir dir;
  PipelineOptions o;
  o.input = MakeCountRecording(dir);
  o.output_dir = dir / "out";
  o.fit = FitOptions();
  o.fit.max_iterations = 5;
  o.ranks = {1};
  o.seeds = 1;
  o.cp_restarts = 1;
  o.plots = false;
  const PipelineSummary s = RunLearningPipeline(o);
  bool warned = false;
  for (const std::string& w : s.warnings)
    warned = warned || w.find("--loss poisson") != std::string::npos;
  CHECK(warned);
  CHECK(std::isnan(s.scores.bits_per_spike));  // no bits/spike for mse
  CHECK_FALSE(
      io::HasAttribute(dir / "out/summary.h5", "/", "test_bits_per_spike"));
}

TEST_CASE("ltr fit of counts writes the PSTH baseline's held-out bits/spike",
          "[fit][metrics]") {
  test::ScratchDir dir;
  const std::string input = MakeCountRecording(dir);
  const test::RunResult run =
      test::RunLtr("fit " + input +
                   " --model ltr --rank 1 --loss poisson --max-iters 20 -o " +
                   dir / "fit.h5");
  REQUIRE(run.exit_code == 0);
  const FitSummary fit = ReadFitSummary(dir / "fit.h5");
  const Recording r = ReadRecording(input);
  const auto [bits, psth_bits] = HandBitsPerSpike(
      r, Predict(fit.model, r), fit.masks.train, fit.masks.test);
  CHECK(io::ReadDoubleAttribute(
            dir / "fit.h5", "/fit", "test_bits_per_spike") == Approx(bits));
  CHECK(io::ReadDoubleAttribute(
            dir / "fit.h5", "/fit", "test_psth_bits_per_spike") ==
        Approx(psth_bits));
  CHECK_THAT(run.out, Catch::Matchers::Contains("per-condition PSTH baseline"));
}

TEST_CASE(
    "pipeline on the real MTL recording: held-out bits/spike beat the "
    "per-condition PSTH",
    "[pipeline][real]") {
  const std::string nwb = "../shared/data/nwb/human_mtl_sub-4_ses-4.nwb";
  if (!std::filesystem::exists(nwb)) {
    WARN("skipped: " << nwb << " is absent (see ../shared/data/README.md)");
    return;
  }
  test::ScratchDir dir;
  const test::RunResult imported = test::RunLtr(
      "import " + nwb +
      " --table encoding_table --align start_time --window 0:1 --bin 0.05 "
      "--condition-column stimCategory -o " +
      dir / "mtl.h5");
  REQUIRE(imported.exit_code == 0);
  PipelineOptions o;
  o.input = dir / "mtl.h5";
  o.output_dir = dir / "out";
  o.fit.loss.loss = RnnLoss::kPoisson;
  o.fit.max_iterations = 150;
  SetPipelinePriors(0.0, 1e-5, &o.fit);  // trials in random condition order
  o.units = 8;
  o.ranks = {1, 2};
  o.seeds = 1;
  o.cp_restarts = 2;
  o.plots = false;
  const PipelineSummary s = RunLearningPipeline(o);
  REQUIRE(s.complete);
  INFO(s.SummaryTable());
  CHECK_FALSE(s.has_truth);
  CHECK(s.scores.test_r2_per_neuron.size() == 35);
  CHECK(s.scores.grouped_by == "condition");
  CHECK(s.scores.groups.size() == 3);
  REQUIRE(std::isfinite(s.scores.psth_bits_per_spike));
  CHECK(s.scores.bits_per_spike > s.scores.psth_bits_per_spike);
}

}  // namespace ltr
