// What `ltr plot` draws of the layouts other modules own (decomposition,
// fitted model, learning trajectory), one adapter per layout over its typed
// reader in the formats layer (decomposition_file.h, fit_file.h and
// model_file.h, trajectory_file.h): which parts a file holds, and the
// tables and factors the figures take. Recording labels are read with
// ReadRecordingLabels (recording.h); the layouts of this module (analysis,
// tables, pipeline summary) through
// ltr/formats/{analysis,table,pipeline}_file.h.
#ifndef LTR_SRC_JOBS_PLOT_INPUTS_H_
#define LTR_SRC_JOBS_PLOT_INPUTS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr::plot {

using Epochs = std::vector<std::int64_t>;

// --- Decomposition ---------------------------------------------------------

struct PlotKruskalInput {
  Vector weights;
  std::array<Matrix, 3> factors;
  std::array<std::string, 3> axes;  // axis name of each mode
};

// A (rank, restart) grid of values per rank, with 1 where a fit exists.
struct PlotRankGridInput {
  Vector ranks;
  Matrix first, second;  // relative error and similarity, or train and test
  Matrix done;
};

struct PlotDecompositionInput {
  std::optional<PlotKruskalInput> cp;
  double cp_relative_error = 0;  // NaN when not recorded
  std::string cp_method;
  std::optional<PlotRankGridInput> ensemble;  // error, similarity
  // Per ensemble rank: the restart with the lowest error among those done,
  // -1 when none, and its fit when stored.
  std::vector<Index> ensemble_best;
  std::vector<std::optional<PlotKruskalInput>> ensemble_best_fit;
  std::optional<PlotRankGridInput> crossval;  // train, test error
  double crossval_test_fraction = 0;          // NaN when not recorded
};

// A CP fit, an ensemble or a cross-validation (not a Tucker fit alone).
bool HasDecompositionForPlot(const std::string& path);
PlotDecompositionInput ReadDecompositionForPlot(const std::string& path);

// --- Fitted model and fit --------------------------------------------------

struct PlotFitInput {
  std::optional<PlotRankGridInput> cv;  // train loss, test loss
  Matrix cv_test_r2;
  double cv_chosen_rank = 0;
  std::optional<Matrix> trial_factors;  // of an ltr model
  Vector loss, test_loss;               // per iteration, test NaN where absent
  bool has_loss = false;
};

// A rank sweep, a fit's loss history or an ltr model's trial factors.
bool HasFitForPlot(const std::string& path);
PlotFitInput ReadFitForPlot(const std::string& path);

// --- Learning trajectory ---------------------------------------------------

struct PlotTrajectoryInput {
  std::optional<Vector> loss;
  std::string loss_axis;  // first axis name of the loss
  std::optional<Vector> grad_norm;
  std::optional<Tensor3> weights;  // (snapshots, N, N)
  std::optional<Vector> step;
  std::string step_axis;
  Epochs epoch;  // empty when absent
};

// Weights or losses of a training run.
bool HasTrajectoryForPlot(const std::string& path);
PlotTrajectoryInput ReadTrajectoryForPlot(const std::string& path);

}  // namespace ltr::plot

#endif  // LTR_SRC_JOBS_PLOT_INPUTS_H_
