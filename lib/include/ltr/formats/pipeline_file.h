// summary.h5 of `ltr pipeline` (docs/formats.md, extensions): the chosen
// fit's scores and, with true weights, the fitted-against-true update
// comparison at the compared rank.
//
//   root attributes  chosen_rank, has_truth, has_base, baseline_test_r2
//                    (with a base), test_r2, grouped_by ("epoch" |
//                    "condition"), test_bits_per_spike and
//                    psth_test_bits_per_spike (counts)
//   /scores/test_r2_per_neuron                   (neurons,)
//   /scores/trial_factors                        (trials, fit rank)
//   /scores/labels                               (trials,)
//   /scores/groups                               (groups,)
//   /scores/group_means                          (groups, fit rank)
//  with /weights:
//   root attributes  compare_rank, factor_match, factor_match_at_fit_rank,
//                    trial_congruence, post_congruence, pre_congruence,
//                    update_distance, true_cp_relative_error,
//                    fitted_cp_relative_error
//   /comparison/true_cp_stability, fitted_cp_stability,
//               factor_match_by_rank             (max CP rank,)
//   /comparison/component_scores                 (rank,)
//   /comparison/true_trial_factors, fitted_...   (trials, rank)
//   /comparison/epochs                           (epochs,)
//   /comparison/true_epoch_means, fitted_...     (epochs, rank)
#ifndef LTR_FORMATS_PIPELINE_FILE_H_
#define LTR_FORMATS_PIPELINE_FILE_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"
#include "ltr/formats/io.h"
#include "ltr/jobs/pipeline.h"

namespace ltr {

// Root attributes of every file the pipeline writes: `input` and
// `pipeline_key`, the options the results depend on (--resume reuses a file
// only under the same key); a decomposition of an update tensor also names
// it (`tensor`, "" for none).
void WritePipelineStamp(const std::string& input,
                        const std::string& key,
                        const std::string& tensor,
                        io::OutputFile* out);
// The `pipeline_key` of `file`, "" when it has none.
std::string ReadPipelineKey(const std::string& file);

void WritePipelineSummary(const PipelineSummary& summary, io::OutputFile* out);

// What a reader (ltr plot) takes back of summary.h5.
struct PipelineSummaryFile {
  double factor_match = 0;  // 0 when not recorded
  int compare_rank = 0;
  Matrix true_trial_factors, fitted_trial_factors;
  // Empty when the file has no /comparison/factor_match_by_rank.
  Vector factor_match_by_rank, true_cp_stability, fitted_cp_stability;
};

// What a reader (ltr plot, Python) takes back of the scores.
struct PipelineScoresFile {
  Vector test_r2_per_neuron;
  double test_r2 = std::numeric_limits<double>::quiet_NaN();
  // NaN when not recorded (not counts).
  double bits_per_spike = std::numeric_limits<double>::quiet_NaN();
  double psth_bits_per_spike = std::numeric_limits<double>::quiet_NaN();
  std::string grouped_by;
  Matrix trial_factors, group_means;
  std::vector<std::int64_t> labels, groups;
};

bool HasPipelineScores(const std::string& file);
// Throws ltr::Error naming the file when the group means do not match the
// groups and trial factors.
PipelineScoresFile ReadPipelineScores(const std::string& file);

// True when `file` holds the fitted-against-true comparison.
bool HasPipelineSummary(const std::string& file);
// Throws ltr::Error naming the file when the trial factors differ in shape
// or the per-rank vectors in length.
PipelineSummaryFile ReadPipelineSummary(const std::string& file);

}  // namespace ltr

#endif  // LTR_FORMATS_PIPELINE_FILE_H_
