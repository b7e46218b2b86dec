// The "Analysis of a trajectory" layout of docs/formats.md (`ltr analyze`):
//
//   /delta_w/singular_values     (snapshots, N)  singular values of W_k - W_0
//   /truncation/ranks, /loss     (R+1,)          loss of W0 + rank-R part of dW
//   /update_tensor/ranks,
//   /update_tensor/relative_error (n_ranks,)     CP of [W_k - W_0], when run
//   /io_overlap/left, /right, /left_shuffled, /right_shuffled (R,)
//                                IoOverlap (attributes depth, subspace_dim,
//                                shuffled_subspace_dim)
//   root attributes              functional_rank, convergence_step,
//                                delta_w_norm, initial_loss, final_loss,
//                                initial_test_loss, test_loss, shuffle_loss,
//                                shuffle_loss_ratio, io_overlap,
//                                io_overlap_shuffled
#ifndef LTR_FORMATS_ANALYSIS_FILE_H_
#define LTR_FORMATS_ANALYSIS_FILE_H_

#include <string>

#include "ltr/formats/io.h"
#include "ltr/theory/analyze.h"

namespace ltr {

void WriteAnalysis(const TrajectoryAnalysis& analysis, io::OutputFile* out);

// Reads what `file` holds of the layout: an absent group leaves its fields
// empty, an absent attribute reads as -1 (ranks, steps) or NaN (the rest);
// `seconds` is not stored. Throws ltr::Error naming the file when paired
// datasets differ in length.
TrajectoryAnalysis ReadAnalysis(const std::string& file);

// Whether `file` holds any part of the layout.
bool HasAnalysis(const std::string& file);

}  // namespace ltr

#endif  // LTR_FORMATS_ANALYSIS_FILE_H_
