// The pipeline's HTML report (pipeline_report.cpp) and the comparison of
// updates (pipeline_compare.cpp), apart from its steps.
#ifndef LTR_SRC_JOBS_PIPELINE_REPORT_H_
#define LTR_SRC_JOBS_PIPELINE_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ltr/jobs/pipeline.h"

namespace ltr::internal {

// The last component of a path ("dir/fit.h5" -> "fit.h5").
std::string BaseName(const std::string& path);

// The HTML report: the numbers, then every figure with its caption, written
// to a temporary name and renamed to `path`.
void WriteReport(const PipelineOptions& options,
                 const PipelineSummary& summary,
                 const std::string& path);

// pipeline_compare.cpp. The mean of the trial factors (one row per trial)
// scaled by their weights over the trials of each label, one row per label
// in increasing order; the labels are appended to `groups` (may be null).
Eigen::MatrixXd GroupMeans(const Eigen::MatrixXd& factors,
                           const Eigen::VectorXd& weights,
                           const std::vector<std::int64_t>& labels,
                           std::vector<std::int64_t>* groups);

// Per rank of the ensemble: the smallest similarity of a restart to the
// rank's best fit (1 when every restart found the same decomposition).
std::vector<double> Stability(const EnsembleSummary& e);

// Relative Frobenius distance |a - b| / |b|.
double RelativeDistance(const Tensor3& a, const Tensor3& b);

// The fitted CP aligned to the true one and compared (UpdateComparison),
// the trial factors averaged per epoch label.
UpdateComparison Compare(const CpSummary& truth,
                         const CpSummary& fitted,
                         const std::vector<std::int64_t>& epoch_labels);

}  // namespace ltr::internal

#endif  // LTR_SRC_JOBS_PIPELINE_REPORT_H_
