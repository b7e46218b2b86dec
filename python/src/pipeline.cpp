// ltr.pipeline: the README's main job (ltr/jobs/pipeline.h), and the summary
// file it writes.
#include "ltr/jobs/pipeline.h"

#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "call.h"
#include "ltr/core/error.h"
#include "ltr/formats/pipeline_file.h"

namespace ltr::python {

namespace {

// The comparison of fitted and true updates at one CP rank, as a dict of
// numbers and arrays.
py::dict ComparisonDict(const UpdateComparison& c) {
  py::dict d;
  d["rank"] = c.rank;
  d["true_relative_error"] = c.true_relative_error;
  d["fitted_relative_error"] = c.fitted_relative_error;
  d["factor_match"] = c.factor_match;
  d["component_scores"] = FromVector(c.component_scores);
  d["trial_congruence"] = c.trial_congruence;
  d["post_congruence"] = c.post_congruence;
  d["pre_congruence"] = c.pre_congruence;
  d["update_distance"] = c.update_distance;
  d["true_trial_factors"] = FromMatrix(c.true_trial_factors);
  d["fitted_trial_factors"] = FromMatrix(c.fitted_trial_factors);
  d["true_epoch_means"] = FromMatrix(c.true_epoch_means);
  d["fitted_epoch_means"] = FromMatrix(c.fitted_epoch_means);
  d["epochs"] = FromStdVector(c.epochs);
  return d;
}

// The scores of the chosen fit (PipelineScores).
py::dict ScoresDict(const PipelineScores& s) {
  py::dict d;
  d["test_r2_per_neuron"] = FromVector(s.test_r2_per_neuron);
  d["bits_per_spike"] = s.bits_per_spike;
  d["psth_bits_per_spike"] = s.psth_bits_per_spike;
  d["grouped_by"] = s.grouped_by;
  d["labels"] = FromStdVector(s.labels);
  d["groups"] = FromStdVector(s.groups);
  d["trial_factors"] = FromMatrix(s.trial_factors);
  d["group_means"] = FromMatrix(s.group_means);
  return d;
}

py::object RunPipeline(const std::string& input,
                       const std::string& output_dir,
                       const std::string& axes,
                       const std::vector<int>& ranks,
                       int seeds,
                       bool warm_start,
                       int max_iters,
                       double max_seconds,
                       double smoothing_weight,
                       double l2,
                       int cp_restarts,
                       int compare_rank,
                       bool plots,
                       int progress_every,
                       std::uint64_t seed,
                       bool resume,
                       const std::string& loss,
                       int units,
                       const std::optional<std::string>& readout,
                       const py::object& threads,
                       const py::object& progress) {
  PipelineOptions o;
  o.input = input;
  o.output_dir = output_dir;
  o.axes = axes;
  o.ranks = ranks;
  o.seeds = seeds;
  o.warm_start = warm_start;
  o.fit.max_iterations = max_iters;
  o.fit.max_seconds = max_seconds;
  SetPipelinePriors(smoothing_weight, l2, &o.fit);
  o.cp_restarts = cp_restarts;
  o.compare_rank = compare_rank;
  o.plots = plots;
  o.fit.progress_every = progress_every;
  o.seed = seed;
  o.resume = resume;
  o.fit.loss.loss = ParseRnnLoss(loss);
  o.units = units;
  if (readout) o.readout = ParseReadoutKind(*readout);
  o.command = "ltr.pipeline (Python)";
  Call call(threads, progress);
  PipelineSummary s = call([&](const RunContext& run) {
    o.run = run;
    return RunLearningPipeline(o);
  });
  py::dict result;
  result["table"] = s.SummaryTable();
  result["chosen_rank"] = s.sweep.chosen_rank;
  result["has_truth"] = s.has_truth;
  result["has_base"] = s.has_base;
  result["baseline_test_r2"] =
      s.has_base ? py::cast(s.baseline_test_r2) : py::none();
  result["scores"] = ScoresDict(s.scores);
  result["comparison"] =
      s.has_truth ? py::object(ComparisonDict(s.comparison)) : py::none();
  result["at_fit_rank"] =
      s.has_truth ? py::object(ComparisonDict(s.at_fit_rank)) : py::none();
  result["factor_match_by_rank"] = FromStdVector(s.factor_match_by_rank);
  result["true_cp_stability"] = FromStdVector(s.true_cp_stability);
  result["fitted_cp_stability"] = FromStdVector(s.fitted_cp_stability);
  result["files"] = s.files;
  result["seconds"] = s.seconds;
  for (const std::string& w : s.warnings)
    PyErr_WarnEx(PyExc_UserWarning, w.c_str(), 1);
  // As the command: the files are written, but the run is a failure.
  const std::string failure = s.sweep.Failure();
  if (!failure.empty()) throw Error("rank sweep: " + failure);
  return py::module_::import("types").attr("SimpleNamespace")(**result);
}

}  // namespace

namespace {

void AddScores(const std::string& path, py::dict* d) {
  PipelineScoresFile s = ReadPipelineScores(path);
  (*d)["test_r2"] = s.test_r2;
  (*d)["test_r2_per_neuron"] = FromVector(std::move(s.test_r2_per_neuron));
  (*d)["bits_per_spike"] = s.bits_per_spike;
  (*d)["psth_bits_per_spike"] = s.psth_bits_per_spike;
  (*d)["grouped_by"] = s.grouped_by;
  (*d)["labels"] = FromStdVector(s.labels);
  (*d)["groups"] = FromStdVector(s.groups);
  (*d)["trial_factors"] = FromMatrix(std::move(s.trial_factors));
  (*d)["group_means"] = FromMatrix(std::move(s.group_means));
}

}  // namespace

py::object LoadPipelineScores(const std::string& path) {
  py::dict d;
  AddScores(path, &d);
  return py::module_::import("types").attr("SimpleNamespace")(**d);
}

py::object LoadPipelineSummary(const std::string& path) {
  PipelineSummaryFile s = ReadPipelineSummary(path);
  py::dict d;
  if (HasPipelineScores(path)) AddScores(path, &d);
  d["factor_match"] = s.factor_match;
  d["compare_rank"] = s.compare_rank;
  d["true_trial_factors"] = FromMatrix(std::move(s.true_trial_factors));
  d["fitted_trial_factors"] = FromMatrix(std::move(s.fitted_trial_factors));
  d["factor_match_by_rank"] = FromVector(std::move(s.factor_match_by_rank));
  d["true_cp_stability"] = FromVector(std::move(s.true_cp_stability));
  d["fitted_cp_stability"] = FromVector(std::move(s.fitted_cp_stability));
  return py::module_::import("types").attr("SimpleNamespace")(**d);
}

void BindPipeline(py::module_& m) {
  const PipelineOptions d;
  m.def("pipeline",
        &RunPipeline,
        R"(The learning-over-trials pipeline (`ltr pipeline`, docs/pipeline.md).

From a recording (`input`, HDF5; /epoch and the true weights of every trial,
/weights, optional) it fits a full RNN to the baseline trials (with /epoch),
then low-tensor-rank RNNs over `ranks` with held-out blocks choosing the
rank, decomposes the fitted weight-update tensor with CP and, with /weights,
compares it with the true one and checks the rank bounds; with `plots` it
writes figures and report.html. Every step's file goes to `output_dir`
(created if missing). `loss` is "mse" or "poisson" (counts); `units` (0 =
neurons) and `readout` (None = "free") apply without /weights only.

Returns a namespace: `table` (the summary the command prints),
`chosen_rank`, `has_truth`, `has_base`, `baseline_test_r2` (None without a
base), `scores` (dict: test_r2_per_neuron, bits_per_spike and
psth_bits_per_spike (NaN for mse), grouped_by, labels, groups,
trial_factors, group_means), `comparison` and `at_fit_rank` (dicts:
factor_match, congruences, aligned trial factors ...; None without
/weights), the CP stability and factor match per rank, `files` and
`seconds`. Raises ValueError for bad
options or input, OSError for unreadable or unwritable files, and
KeyboardInterrupt on Ctrl-C (the finished steps keep their files: call again
with resume=True).)",
        py::arg("input"),
        py::arg("output_dir"),
        py::kw_only(),
        py::arg("axes") = d.axes,
        py::arg("ranks") = d.ranks,
        py::arg("seeds") = d.seeds,
        py::arg("warm_start") = d.warm_start,
        py::arg("max_iters") = d.fit.max_iterations,
        py::arg("max_seconds") = d.fit.max_seconds,
        py::arg("smoothing_weight") = d.fit.smoothing.weight,
        py::arg("l2") = d.fit.loss.l2_w,
        py::arg("cp_restarts") = d.cp_restarts,
        py::arg("compare_rank") = d.compare_rank,
        py::arg("plots") = d.plots,
        py::arg("progress_every") = d.fit.progress_every,
        py::arg("seed") = d.seed,
        py::arg("resume") = d.resume,
        py::arg("loss") = RnnLossName(d.fit.loss.loss),
        py::arg("units") = d.units,
        py::arg("readout") = py::none(),
        py::arg("threads") = py::none(),
        py::arg("progress") = py::none());
}

}  // namespace ltr::python
