// Plot's view of the layouts other modules own (plot_inputs.h), read through
// their typed readers in the formats layer.
#include "jobs/plot_inputs.h"

#include <cmath>

#include "ltr/formats/decomposition_file.h"
#include "ltr/formats/fit_file.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/trajectory_file.h"

namespace ltr::plot {
namespace {

template <typename Int>
Vector ToVector(const std::vector<Int>& v) {
  Vector out(static_cast<Index>(v.size()));
  for (size_t i = 0; i < v.size(); ++i)
    out(static_cast<Index>(i)) = static_cast<double>(v[i]);
  return out;
}

PlotKruskalInput KruskalInput(const Ktensor& k,
                              const std::string& path,
                              const std::string& group) {
  return {k.weights, k.factors, ReadModeNames(path, group)};
}

// 1 where a fit exists (restart index >= 0).
Matrix DoneMask(const Eigen::MatrixXi& restart) {
  return (restart.array() >= 0).cast<double>().matrix();
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

void EnsembleInput(const std::string& path, PlotDecompositionInput* d) {
  const EnsembleSummary summary = ReadEnsemble(path);
  PlotRankGridInput e;
  e.ranks = ToVector(summary.ranks);
  e.first = summary.relative_error;
  e.second = summary.similarity;
  e.done = DoneMask(summary.restart);
  // cp-apr's best fit is the one of lowest deviance, as in the ensemble.
  PlotRankGridInput scores = e;
  if (summary.by_deviance) scores.first = summary.poisson_deviance;
  for (Index r = 0; r < e.ranks.size(); ++r) {
    const Index best = BestRestart(scores, r);
    d->ensemble_best.push_back(best);
    if (best < 0) {
      d->ensemble_best_fit.push_back(std::nullopt);
      continue;
    }
    const int rank = summary.ranks[static_cast<size_t>(r)];
    d->ensemble_best_fit.push_back(KruskalInput(
        summary.fits[r][best].model, path, EnsembleFitGroup(rank, best)));
  }
  d->ensemble = e;
}

}  // namespace

bool HasDecompositionForPlot(const std::string& path) {
  const DecompositionParts parts = FindDecompositionParts(path);
  return parts.cp || parts.ensemble || parts.cross_validation;
}

PlotDecompositionInput ReadDecompositionForPlot(const std::string& path) {
  const DecompositionParts parts = FindDecompositionParts(path);
  PlotDecompositionInput d;
  if (parts.cp) {
    const CpSummary cp = ReadCpFit(path, CpFitGroup());
    d.cp = KruskalInput(cp.model, path, CpFitGroup());
    d.cp_relative_error = cp.relative_error;
    d.cp_method = ReadCpMethod(path, CpFitGroup());
  }
  if (parts.ensemble) EnsembleInput(path, &d);
  if (parts.cross_validation) {
    const CrossValidationSummary cv =
        ReadCrossValidation(path, &d.crossval_test_fraction);
    d.crossval = PlotRankGridInput{ToVector(cv.ranks),
                                   cv.train_error,
                                   cv.test_error,
                                   DoneMask(cv.restart)};
  }
  return d;
}

bool HasFitForPlot(const std::string& path) {
  const FitParts parts = FindFitParts(path);
  return parts.rank_sweep || parts.loss_history || HasTrialFactors(path);
}

PlotFitInput ReadFitForPlot(const std::string& path) {
  const FitParts parts = FindFitParts(path);
  PlotFitInput f;
  std::optional<FitSummary> fit;
  if (parts.rank_sweep) {
    RankSweepSummary sweep = ReadRankSweep(path);
    f.cv = PlotRankGridInput{
        ToVector(sweep.ranks),
        sweep.train_loss,
        sweep.test_loss,
        Matrix::Ones(sweep.train_loss.rows(), sweep.train_loss.cols())};
    f.cv_test_r2 = sweep.test_r2;
    f.cv_chosen_rank = sweep.chosen_rank;
    fit = std::move(sweep.best);
  } else if (parts.fit) {
    fit = ReadFitSummary(path);
  }
  if (HasTrialFactors(path))
    f.trial_factors = (fit ? fit->model : ReadModel(path)).parameters.c;
  if (fit && parts.loss_history) {
    f.has_loss = true;
    const Index n = static_cast<Index>(fit->history.size());
    f.loss.resize(n);
    f.test_loss.resize(n);
    for (Index i = 0; i < n; ++i) {
      f.loss(i) = fit->history[i].loss;
      f.test_loss(i) = fit->history[i].test_loss;
    }
  }
  return f;
}

bool HasTrajectoryForPlot(const std::string& path) {
  const TrajectoryParts parts = FindTrajectoryParts(path);
  return parts.weights || parts.loss;
}

PlotTrajectoryInput ReadTrajectoryForPlot(const std::string& path) {
  const TrajectoryParts parts = FindTrajectoryParts(path);
  const Trajectory t =
      parts.weights ? ReadTrajectory(path) : ReadTrajectoryLosses(path);
  PlotTrajectoryInput p;
  if (parts.loss) {
    p.loss = t.loss;
    p.loss_axis = t.loss_axis;
    if (t.grad_norm.size() > 0) p.grad_norm = t.grad_norm;
  }
  if (parts.weights) {
    p.weights = t.ReadWeights();
    if (!t.steps.empty()) {
      p.step = ToVector(t.steps);
      p.step_axis = t.step_axis;
    }
  }
  p.epoch = t.epochs;
  return p;
}

}  // namespace ltr::plot
