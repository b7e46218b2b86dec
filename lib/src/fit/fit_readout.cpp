// The closed-form readout (SolveReadout in ltr/fit/fit.h): with the mse data
// term the readout C and offset d that minimise the objective for given
// latents phi(x) solve one ridge least-squares problem per neuron, weighted
// by that neuron's mask. Neurons whose masks agree (a held-out block spans
// several neurons) share one normal matrix.
#include <Eigen/Cholesky>
#include <Eigen/QR>
#include <cmath>
#include <map>

#include "core/parallel.h"
#include "fit/fit_internal.h"
#include "ltr/core/error.h"

namespace ltr {

namespace internal {

using Eigen::Index;
using Eigen::MatrixXd;

MatrixXd ReadoutLatents(const RnnParameters& p,
                        const std::vector<RnnTrial>& trials,
                        int num_threads) {
  Index columns = 0;
  std::vector<Index> first(trials.size());
  for (size_t k = 0; k < trials.size(); ++k) {
    first[k] = columns;
    columns += trials[k].num_steps();
  }
  MatrixXd latents(p.units() + 1, columns);
  latents.row(p.units()).setOnes();
  ParallelFor(
      static_cast<Index>(trials.size()),
      num_threads,
      [&](Index begin, Index end) {
        for (Index k = begin; k < end; ++k) {
          const RnnTrial& trial = trials[k];
          const RnnTrajectory run = Simulate(
              p, trial.trial, trial.condition, trial.num_steps(), trial.inputs);
          latents.block(0, first[k], p.units(), trial.num_steps()) =
              run.states.unaryExpr(
                  [&](double x) { return Phi(p.nonlinearity, x); });
        }
      });
  return latents;
}

}  // namespace internal

namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// Each neuron's mask weights over the entries (rows: neurons), and the
// targets (mask 0 where a target is not used).
void MasksAndTargets(const std::vector<RnnTrial>& trials,
                     Index outputs,
                     Index columns,
                     MatrixXd* weights,
                     MatrixXd* targets) {
  weights->resize(outputs, columns);
  targets->resize(outputs, columns);
  Index column = 0;
  for (const RnnTrial& trial : trials) {
    const Index steps = trial.num_steps();
    auto w = weights->middleCols(column, steps);
    if (trial.mask.size() == 0)
      w.setOnes();
    else
      w = trial.mask;
    targets->middleCols(column, steps) =
        (w.array() > 0).select(trial.targets, 0.0);
    column += steps;
  }
}

// Neurons grouped by identical mask rows (each group's first row is the
// representative).
std::vector<std::vector<Index>> GroupByMask(const MatrixXd& weights) {
  std::map<std::vector<double>, std::vector<Index>> groups;
  for (Index j = 0; j < weights.rows(); ++j) {
    const VectorXd row = weights.row(j).transpose();
    groups[std::vector<double>(row.data(), row.data() + row.size())].push_back(
        j);
  }
  std::vector<std::vector<Index>> out;
  for (auto& entry : groups) out.push_back(std::move(entry.second));
  return out;
}

// Solves (A + ridge) X = B for symmetric positive semidefinite A; the
// minimum-norm least-squares solution where A + ridge is singular.
MatrixXd SolveNormal(const MatrixXd& a, const MatrixXd& b) {
  const Eigen::LLT<MatrixXd> llt(a);
  if (llt.info() == Eigen::Success) return llt.solve(b);
  return a.completeOrthogonalDecomposition().solve(b);
}

// The readout rows and offsets of the neurons `rows`, which share one mask
// (weights' rows): the normal equations over the entries they use.
void SolveGroup(const MatrixXd& latents,
                const MatrixXd& weights,
                const MatrixXd& targets,
                const VectorXd& ridge,
                const std::vector<Index>& rows,
                RnnParameters* p) {
  const auto w = weights.row(rows.front());
  std::vector<Index> used;
  for (Index i = 0; i < w.size(); ++i)
    if (w(i) > 0) used.push_back(i);
  const Index n = latents.rows() - 1, count = static_cast<Index>(used.size());
  MatrixXd scaled(n + 1, count);  // latents * sqrt(w)
  MatrixXd y(count, static_cast<Index>(rows.size()));
  for (Index i = 0; i < count; ++i) {
    scaled.col(i) = std::sqrt(w(used[i])) * latents.col(used[i]);
    for (size_t j = 0; j < rows.size(); ++j)
      y(i, j) = std::sqrt(w(used[i])) * targets(rows[j], used[i]);
  }
  MatrixXd normal = MatrixXd::Zero(n + 1, n + 1);
  normal.selfadjointView<Eigen::Lower>().rankUpdate(scaled);
  normal = normal.selfadjointView<Eigen::Lower>();
  normal.diagonal() += ridge;
  const MatrixXd solution = SolveNormal(normal, scaled * y);
  for (size_t j = 0; j < rows.size(); ++j) {
    p->readout.row(rows[j]) = solution.col(j).head(n).transpose();
    p->offset(rows[j]) = solution(n, j);
  }
}

// Throws ltr::Error on what SolveReadout cannot solve.
void CheckReadoutProblem(const RnnParameters& p,
                         const std::vector<RnnTrial>& trials,
                         const RnnLossOptions& loss) {
  if (loss.loss != RnnLoss::kMse || loss.output_loss)
    throw Error("the closed-form readout needs the mse data term");
  if (trials.empty()) throw Error("the closed-form readout needs trials");
  for (const RnnTrial& trial : trials)
    if (trial.targets.rows() != p.num_outputs() ||
        (trial.mask.size() > 0 && (trial.mask.rows() != trial.targets.rows() ||
                                   trial.mask.cols() != trial.targets.cols())))
      throw Error(
          "the closed-form readout: a trial's targets or mask do not match "
          "the model's outputs");
}

}  // namespace

RnnParameters SolveReadout(const RnnParameters& parameters,
                           const std::vector<RnnTrial>& trials,
                           const RnnLossOptions& loss) {
  CheckReadoutProblem(parameters, trials, loss);
  RnnParameters out = parameters;
  RnnParameters* p = &out;
  const MatrixXd latents =
      internal::ReadoutLatents(*p, trials, loss.num_threads);
  MatrixXd weights, targets;
  MasksAndTargets(trials, p->num_outputs(), latents.cols(), &weights, &targets);
  // The data term's normaliser M (rnn.h) scales the penalties' share.
  const double m = weights.sum();
  if (!(m > 0)) throw Error("the closed-form readout: every mask is zero");
  const std::vector<std::vector<Index>> groups = GroupByMask(weights);
  const Index n = p->units();
  VectorXd ridge = VectorXd::Constant(n + 1, loss.l2_readout * m);
  ridge(n) = loss.l2_offset * m;
  ParallelFor(static_cast<Index>(groups.size()),
              loss.num_threads,
              [&](Index begin, Index end) {
                for (Index g = begin; g < end; ++g)
                  SolveGroup(latents, weights, targets, ridge, groups[g], p);
              });
  return out;
}

}  // namespace ltr
