// The pipeline's HTML report (pipeline_report.cpp), apart from its steps.
#ifndef LTR_SRC_JOBS_PIPELINE_REPORT_H_
#define LTR_SRC_JOBS_PIPELINE_REPORT_H_

#include <string>

#include "ltr/jobs/pipeline.h"

namespace ltr::internal {

// The last component of a path ("dir/fit.h5" -> "fit.h5").
std::string BaseName(const std::string& path);

// The HTML report: the numbers, then every figure with its caption, written
// to a temporary name and renamed to `path`.
void WriteReport(const PipelineOptions& options,
                 const PipelineSummary& summary,
                 const std::string& path);

}  // namespace ltr::internal

#endif  // LTR_SRC_JOBS_PIPELINE_REPORT_H_
