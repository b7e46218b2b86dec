// Reading and writing the pipeline's summary.h5 (pipeline_file.h).
#include "ltr/formats/pipeline_file.h"

#include <cmath>

#include "ltr/core/error.h"

namespace ltr {
namespace {

Eigen::Map<const Vector> AsVector(const std::vector<double>& v) {
  return Eigen::Map<const Vector>(v.data(), static_cast<Index>(v.size()));
}

}  // namespace

void WritePipelineStamp(const std::string& input,
                        const std::string& key,
                        const std::string& tensor,
                        io::OutputFile* out) {
  out->SetAttribute("/", "input", input);
  out->SetAttribute("/", "pipeline_key", key);
  if (!tensor.empty()) out->SetAttribute("/", "tensor", tensor);
}

std::string ReadPipelineKey(const std::string& file) {
  return io::StringAttributeOr(file, "/", "pipeline_key");
}

namespace {

void WriteScores(const PipelineScores& s, io::OutputFile* out) {
  out->WriteVector(
      "/scores/test_r2_per_neuron", s.test_r2_per_neuron, "neuron");
  if (std::isfinite(s.bits_per_spike)) {
    out->SetAttribute("/", "test_bits_per_spike", s.bits_per_spike);
    out->SetAttribute("/", "psth_test_bits_per_spike", s.psth_bits_per_spike);
  }
  out->SetAttribute("/", "grouped_by", s.grouped_by);
  out->WriteMatrix("/scores/trial_factors", s.trial_factors, "trial,component");
  out->WriteIntVector("/scores/labels", s.labels, "trial");
  out->WriteIntVector("/scores/groups", s.groups, "group");
  out->WriteMatrix("/scores/group_means", s.group_means, "group,component");
}

// The fitted-against-true comparison (with /weights only).
void WriteComparison(const PipelineSummary& s, io::OutputFile* out) {
  const UpdateComparison& c = s.comparison;
  out->SetAttribute("/", "compare_rank", c.rank);
  out->SetAttribute("/", "factor_match", c.factor_match);
  out->SetAttribute(
      "/", "factor_match_at_fit_rank", s.at_fit_rank.factor_match);
  out->SetAttribute("/", "trial_congruence", c.trial_congruence);
  out->SetAttribute("/", "post_congruence", c.post_congruence);
  out->SetAttribute("/", "pre_congruence", c.pre_congruence);
  out->SetAttribute("/", "update_distance", c.update_distance);
  out->SetAttribute("/", "true_cp_relative_error", c.true_relative_error);
  out->SetAttribute("/", "fitted_cp_relative_error", c.fitted_relative_error);
  out->WriteVector(
      "/comparison/true_cp_stability", AsVector(s.true_cp_stability), "rank");
  out->WriteVector("/comparison/fitted_cp_stability",
                   AsVector(s.fitted_cp_stability),
                   "rank");
  out->WriteVector("/comparison/factor_match_by_rank",
                   AsVector(s.factor_match_by_rank),
                   "rank");
  out->WriteVector(
      "/comparison/component_scores", c.component_scores, "component");
  out->WriteMatrix("/comparison/true_trial_factors",
                   c.true_trial_factors,
                   "trial,component");
  out->WriteMatrix("/comparison/fitted_trial_factors",
                   c.fitted_trial_factors,
                   "trial,component");
  out->WriteIntVector("/comparison/epochs", c.epochs, "epoch");
  out->WriteMatrix(
      "/comparison/true_epoch_means", c.true_epoch_means, "epoch,component");
  out->WriteMatrix("/comparison/fitted_epoch_means",
                   c.fitted_epoch_means,
                   "epoch,component");
}

}  // namespace

void WritePipelineSummary(const PipelineSummary& s, io::OutputFile* out) {
  out->SetAttribute("/", "chosen_rank", s.sweep.chosen_rank);
  out->SetAttribute("/", "has_truth", s.has_truth);
  out->SetAttribute("/", "has_base", s.has_base);
  if (s.has_base)
    out->SetAttribute("/", "baseline_test_r2", s.baseline_test_r2);
  out->SetAttribute("/", "test_r2", s.sweep.best.test_metrics.r2);
  if (s.has_truth) WriteComparison(s, out);
  WriteScores(s.scores, out);
}

bool HasPipelineSummary(const std::string& file) {
  return io::HasDataset(file, "/comparison/true_trial_factors");
}

bool HasPipelineScores(const std::string& file) {
  return io::HasDataset(file, "/scores/test_r2_per_neuron");
}

PipelineScoresFile ReadPipelineScores(const std::string& file) {
  PipelineScoresFile s;
  s.test_r2_per_neuron = io::ReadVector(file, "/scores/test_r2_per_neuron");
  s.test_r2 = io::DoubleAttributeOr(file, "/", "test_r2", s.test_r2);
  s.bits_per_spike =
      io::DoubleAttributeOr(file, "/", "test_bits_per_spike", s.bits_per_spike);
  s.psth_bits_per_spike = io::DoubleAttributeOr(
      file, "/", "psth_test_bits_per_spike", s.psth_bits_per_spike);
  s.grouped_by = io::StringAttributeOr(file, "/", "grouped_by");
  s.trial_factors = io::ReadMatrix(file, "/scores/trial_factors");
  s.labels = io::ReadIntVector(file, "/scores/labels");
  s.groups = io::ReadIntVector(file, "/scores/groups");
  s.group_means = io::ReadMatrix(file, "/scores/group_means");
  if (s.group_means.rows() != static_cast<Index>(s.groups.size()) ||
      s.group_means.cols() != s.trial_factors.cols() ||
      static_cast<Index>(s.labels.size()) != s.trial_factors.rows())
    throw Error("'" + file +
                "': /scores/group_means, /scores/groups, /scores/labels and "
                "/scores/trial_factors do not match");
  return s;
}

PipelineSummaryFile ReadPipelineSummary(const std::string& file) {
  PipelineSummaryFile s;
  s.true_trial_factors = io::ReadMatrix(file, "/comparison/true_trial_factors");
  s.fitted_trial_factors =
      io::ReadMatrix(file, "/comparison/fitted_trial_factors");
  if (s.true_trial_factors.rows() != s.fitted_trial_factors.rows() ||
      s.true_trial_factors.cols() != s.fitted_trial_factors.cols())
    throw Error("'" + file +
                "': true and fitted trial factors differ in shape");
  s.factor_match = io::DoubleAttributeOr(file, "/", "factor_match", 0.0);
  s.compare_rank =
      static_cast<int>(io::DoubleAttributeOr(file, "/", "compare_rank", 0.0));
  if (!io::HasDataset(file, "/comparison/factor_match_by_rank")) return s;
  s.factor_match_by_rank =
      io::ReadVector(file, "/comparison/factor_match_by_rank");
  s.true_cp_stability = io::ReadVector(file, "/comparison/true_cp_stability");
  s.fitted_cp_stability =
      io::ReadVector(file, "/comparison/fitted_cp_stability");
  if (s.true_cp_stability.size() != s.factor_match_by_rank.size() ||
      s.fitted_cp_stability.size() != s.factor_match_by_rank.size())
    throw Error("'" + file +
                "': /comparison/factor_match_by_rank and the stabilities "
                "differ in length");
  return s;
}

}  // namespace ltr
