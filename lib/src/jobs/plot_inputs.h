// What `ltr plot` reads of the layouts other modules own (decomposition,
// fitted model, learning trajectory, recording), one function per layout.
// Each body reads HDF5 paths directly until that layout has its typed reader
// in the formats layer; the comment above each names the reader to switch
// to. The layouts of this module (analysis, tables, pipeline summary) are
// read through ltr/formats/{analysis,table,pipeline}_file.h.
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

// --- Decomposition (/cp, /ensemble, /crossval) -----------------------------

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

bool HasDecompositionForPlot(const std::string& path);
// formats: switch to ReadKruskal + ReadModeNames, ReadEnsemble and
// ReadCrossValidation (formats/decomposition_file.h).
PlotDecompositionInput ReadDecompositionForPlot(const std::string& path);

// --- Fitted model (/cv, /model, /fit) ---------------------------------------

struct PlotFitInput {
  std::optional<PlotRankGridInput> cv;  // train loss, test loss
  Matrix cv_test_r2;
  double cv_chosen_rank = 0;
  std::optional<Matrix> trial_factors;  // /model/c
  Vector loss, test_loss;  // /fit: per iteration, test NaN where absent
  bool has_loss = false;
};

bool HasFitForPlot(const std::string& path);
// formats: switch to ReadRankSweep / ReadFitSummary (formats/fit_file.h) and
// ReadModel (formats/model_file.h).
PlotFitInput ReadFitForPlot(const std::string& path);

// --- Learning trajectory (/loss, /weights, /step, /epoch) -------------------

struct PlotTrajectoryInput {
  std::optional<Vector> loss;
  std::string loss_axis;  // `axes` of /loss
  std::optional<Vector> grad_norm;
  std::optional<Tensor3> weights;  // (snapshots, N, N)
  std::optional<Vector> step;
  std::string step_axis;
  Epochs epoch;  // empty when absent
};

bool HasTrajectoryForPlot(const std::string& path);
// formats: switch to ReadTrajectory (formats/trajectory_file.h; its
// weights_shape, steps, step_axis, loss, loss_axis), the weights read whole.
PlotTrajectoryInput ReadTrajectoryForPlot(const std::string& path);

// --- Recording labels (/epoch, dt, input) ------------------------------------

struct PlotRecordingLabels {
  std::optional<Epochs> epoch;  // /epoch
  double dt = 0;                // root attribute dt, 0 when absent
  std::string input;            // root attribute input (provenance), or ""
};

bool HasRecordingForPlot(const std::string& path);
// formats: switch to the recording reader's labels (formats/recording.h).
PlotRecordingLabels ReadRecordingLabelsForPlot(const std::string& path);

}  // namespace ltr::plot

#endif  // LTR_SRC_JOBS_PLOT_INPUTS_H_
