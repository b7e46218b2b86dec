// Plot's reading of the layouts other modules own (plot_inputs.h).
#include "jobs/plot_inputs.h"

#include <cmath>
#include <sstream>

#include "formats/attribute_or.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"

namespace ltr::plot {
namespace {

Vector ToVector(const std::vector<std::int64_t>& v) {
  Vector out(static_cast<Index>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) out(static_cast<Index>(i)) = v[i];
  return out;
}

std::string FirstAxis(const std::string& axes, int mode) {
  if (axes.empty()) return "mode" + std::to_string(mode);
  std::istringstream in(axes);
  std::string first;
  std::getline(in, first, ',');
  return first;
}

PlotKruskalInput ReadKruskal(const std::string& path,
                             const std::string& group) {
  PlotKruskalInput k;
  k.weights = io::ReadVector(path, group + "/weights");
  for (int n = 0; n < 3; ++n) {
    const std::string ds = group + "/factors/" + std::to_string(n);
    k.factors[n] = io::ReadMatrix(path, ds);
    if (k.factors[n].cols() != k.weights.size())
      throw Error("'" + path + "': " + ds + " has " +
                  std::to_string(k.factors[n].cols()) + " columns but " +
                  group + "/weights has " + std::to_string(k.weights.size()));
    k.axes[n] = FirstAxis(io::StringAttributeOr(path, ds, "axes"), n);
  }
  return k;
}

Matrix DoneMask(const std::string& path,
                const std::string& group,
                const Matrix& like) {
  const std::string ds = group + "/done";
  if (!io::HasDataset(path, ds)) return Matrix::Ones(like.rows(), like.cols());
  Matrix done = io::ReadMatrix(path, ds);
  if (done.rows() != like.rows() || done.cols() != like.cols())
    throw Error("'" + path + "': " + ds + " does not match its grid's shape");
  return done;
}

// The restart of row r with the lowest finite error among those done.
Index BestRestart(const PlotRankGridInput& grid, Index r) {
  Index best = -1;
  for (Index k = 0; k < grid.first.cols(); ++k)
    if (grid.done(r, k) != 0 && std::isfinite(grid.first(r, k)) &&
        (best < 0 || grid.first(r, k) < grid.first(r, best)))
      best = k;
  return best;
}

void ReadEnsemble(const std::string& path, PlotDecompositionInput* d) {
  PlotRankGridInput e;
  e.ranks = ToVector(io::ReadIntVector(path, "/ensemble/ranks"));
  e.first = io::ReadMatrix(path, "/ensemble/relative_error");
  e.second = io::ReadMatrix(path, "/ensemble/similarity");
  if (e.first.rows() != e.ranks.size() || e.second.rows() != e.first.rows() ||
      e.second.cols() != e.first.cols())
    throw Error("'" + path +
                "': /ensemble/relative_error and /similarity do not match "
                "/ensemble/ranks");
  e.done = DoneMask(path, "/ensemble", e.first);
  for (Index r = 0; r < e.ranks.size(); ++r) {
    const Index best = BestRestart(e, r);
    d->ensemble_best.push_back(best);
    const std::string group = "/ensemble/rank_" +
                              std::to_string(static_cast<int>(e.ranks(r))) +
                              "/run_" + std::to_string(best);
    if (best >= 0 && io::HasDataset(path, group + "/weights"))
      d->ensemble_best_fit.push_back(ReadKruskal(path, group));
    else
      d->ensemble_best_fit.push_back(std::nullopt);
  }
  d->ensemble = e;
}

}  // namespace

bool HasDecompositionForPlot(const std::string& path) {
  return io::HasDataset(path, "/cp/weights") ||
         io::HasDataset(path, "/ensemble/ranks") ||
         io::HasDataset(path, "/crossval/ranks");
}

PlotDecompositionInput ReadDecompositionForPlot(const std::string& path) {
  PlotDecompositionInput d;
  if (io::HasDataset(path, "/cp/weights")) {
    d.cp = ReadKruskal(path, "/cp");
    d.cp_relative_error =
        io::DoubleAttributeOr(path, "/cp", "relative_error", std::nan(""));
    d.cp_method = io::StringAttributeOr(path, "/cp", "method");
  }
  if (io::HasDataset(path, "/ensemble/ranks")) ReadEnsemble(path, &d);
  if (io::HasDataset(path, "/crossval/ranks")) {
    PlotRankGridInput c;
    c.ranks = ToVector(io::ReadIntVector(path, "/crossval/ranks"));
    c.first = io::ReadMatrix(path, "/crossval/train_error");
    c.second = io::ReadMatrix(path, "/crossval/test_error");
    if (c.first.rows() != c.ranks.size() || c.second.rows() != c.ranks.size() ||
        c.second.cols() != c.first.cols())
      throw Error("'" + path + "': /crossval errors do not match its ranks");
    c.done = DoneMask(path, "/crossval", c.first);
    d.crossval = c;
    d.crossval_test_fraction =
        io::DoubleAttributeOr(path, "/crossval", "test_fraction", std::nan(""));
  }
  return d;
}

bool HasFitForPlot(const std::string& path) {
  return io::HasDataset(path, "/cv/ranks") ||
         io::HasDataset(path, "/model/c") || io::HasDataset(path, "/fit/loss");
}

PlotFitInput ReadFitForPlot(const std::string& path) {
  PlotFitInput f;
  if (io::HasDataset(path, "/cv/ranks")) {
    PlotRankGridInput cv;
    cv.ranks = ToVector(io::ReadIntVector(path, "/cv/ranks"));
    cv.first = io::ReadMatrix(path, "/cv/train_loss");
    cv.second = io::ReadMatrix(path, "/cv/test_loss");
    f.cv_test_r2 = io::ReadMatrix(path, "/cv/test_r2");
    const Matrix& r2 = f.cv_test_r2;
    if (cv.first.rows() != cv.ranks.size() ||
        cv.second.rows() != cv.ranks.size() || r2.rows() != cv.ranks.size() ||
        cv.second.cols() != cv.first.cols() || r2.cols() != cv.first.cols())
      throw Error("'" + path + "': /cv losses do not match /cv/ranks");
    cv.done = Matrix::Ones(cv.first.rows(), cv.first.cols());
    f.cv = cv;
    f.cv_chosen_rank = io::DoubleAttributeOr(path, "/cv", "chosen_rank", 0.0);
  }
  if (io::HasDataset(path, "/model/c"))
    f.trial_factors = io::ReadMatrix(path, "/model/c");
  if (io::HasDataset(path, "/fit/loss")) {
    f.has_loss = true;
    f.loss = io::ReadVector(path, "/fit/loss");
    f.test_loss = io::HasDataset(path, "/fit/test_loss")
                      ? io::ReadVector(path, "/fit/test_loss")
                      : Vector::Constant(f.loss.size(), std::nan(""));
    if (f.test_loss.size() != f.loss.size())
      throw Error("'" + path +
                  "': /fit/test_loss and /fit/loss differ in "
                  "length");
  }
  return f;
}

bool HasTrajectoryForPlot(const std::string& path) {
  return io::HasDataset(path, "/weights") || io::HasDataset(path, "/loss");
}

PlotTrajectoryInput ReadTrajectoryForPlot(const std::string& path) {
  PlotTrajectoryInput t;
  if (io::HasDataset(path, "/loss")) {
    t.loss = io::ReadVector(path, "/loss");
    t.loss_axis = io::StringAttributeOr(path, "/loss", "axes");
    if (io::HasDataset(path, "/grad_norm"))
      t.grad_norm = io::ReadVector(path, "/grad_norm");
  }
  if (io::HasDataset(path, "/weights")) {
    const std::vector<Index> shape = io::DatasetShape(path, "/weights");
    if (shape.size() != 3 || shape[1] != shape[2] || shape[0] < 1)
      throw Error("'" + path + "': /weights should be (snapshots, N, N)");
    t.weights = io::ReadTensor3(path, "/weights");
    if (io::HasDataset(path, "/step")) {
      t.step = ToVector(io::ReadIntVector(path, "/step"));
      t.step_axis = io::StringAttributeOr(path, "/step", "axes");
    }
  }
  if (io::HasDataset(path, "/epoch"))
    t.epoch = io::ReadIntVector(path, "/epoch");
  return t;
}

bool HasRecordingForPlot(const std::string& path) {
  return io::HasDataset(path, "/activity");
}

PlotRecordingLabels ReadRecordingLabelsForPlot(const std::string& path) {
  PlotRecordingLabels labels;
  if (io::HasDataset(path, "/epoch"))
    labels.epoch = io::ReadIntVector(path, "/epoch");
  labels.dt = io::DoubleAttributeOr(path, "/", "dt", 0.0);
  labels.input = io::StringAttributeOr(path, "/", "input");
  return labels;
}

}  // namespace ltr::plot
