// Preconditioning L-BFGS by linear changes of variables of single blocks
// (docs/fit.md "Solver"): the trial factors by their smoothing prior
// (FitOptions::precondition_trial_factors) and the free readout by the
// latents' Gram matrix (FitOptions::precondition_readout).
//
// Trial factors: the prior's Hessian over the trials, S (second
// differences: eigenvalues up to 16 times its weight), dwarfs the data
// term's curvature per trial factor, d (the data term is a mean over all
// entries, so each c[k, r] moves 1/K of it): the Hessian of the c block,
// about d I + S, has a condition number of 1e4-1e6, and L-BFGS with a
// 20-pair memory crawls along its smooth, data-determined directions.
// Optimising over u with c = P u, P = (I + S / d)^(-1/2), makes that
// block's Hessian about d I.
//
// Readout: the objective's Hessian in each row of [C d] is (about) the
// Gram matrix G of the latents [phi(x); 1] over the training entries plus
// the readout penalties, whose condition number is that of the latents
// (1e3 and more). Optimising over R with [C d] = R P, P = (G / g)^(-1/2), g
// its mean eigenvalue, makes that block's Hessian about g I.
//
// Each change of variables is one block of a Ceres Manifold that is linear:
// Plus(x, delta) = x + J delta, J the identity with the P's on their
// blocks, so the gradient Ceres sees is J g and L-BFGS's curvature pairs
// live in the new coordinates.
#include <Eigen/Eigenvalues>
#include <cmath>
#include <optional>

#include "fit/fit_internal.h"
#include "ltr/core/random.h"

namespace ltr::internal {

namespace {

using Eigen::Map;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// The rows x cols matrix at `offset` of the packed vector (column-major),
// multiplied by the symmetric p from the left (p: rows x rows) or from the
// right (p: cols x cols).
struct LinearBlock {
  Index offset = 0, rows = 0, cols = 0;
  bool right = false;
  MatrixXd p, p_inverse;
};

class LinearBlockManifold final : public ceres::Manifold {
 public:
  LinearBlockManifold(int size, std::vector<LinearBlock> blocks)
      : size_(size), blocks_(std::move(blocks)) {}

  int AmbientSize() const override { return size_; }
  int TangentSize() const override { return size_; }
  bool Plus(const double* x,
            const double* delta,
            double* x_plus_delta) const override {
    Apply(false, delta, x_plus_delta);
    for (int i = 0; i < size_; ++i) x_plus_delta[i] += x[i];
    return true;
  }
  bool PlusJacobian(const double*, double* jacobian) const override {
    Dense(false, jacobian);
    return true;
  }
  bool RightMultiplyByPlusJacobian(const double*,
                                   const int num_rows,
                                   const double* ambient_matrix,
                                   double* tangent_matrix) const override {
    // Row-major num_rows x size; J is symmetric, so g^T J = (J g)^T.
    for (int row = 0; row < num_rows; ++row)
      Apply(false,
            ambient_matrix + static_cast<size_t>(row) * size_,
            tangent_matrix + static_cast<size_t>(row) * size_);
    return true;
  }
  bool Minus(const double* y,
             const double* x,
             double* y_minus_x) const override {
    VectorXd d(size_);
    for (int i = 0; i < size_; ++i) d[i] = y[i] - x[i];
    Apply(true, d.data(), y_minus_x);
    return true;
  }
  bool MinusJacobian(const double*, double* jacobian) const override {
    Dense(true, jacobian);
    return true;
  }

 private:
  // out = J in (J^-1 in when inverse); in and out do not overlap.
  void Apply(bool inverse, const double* in, double* out) const {
    std::copy(in, in + size_, out);
    for (const LinearBlock& b : blocks_) {
      const MatrixXd& p = inverse ? b.p_inverse : b.p;
      const Map<const MatrixXd> from(in + b.offset, b.rows, b.cols);
      Map<MatrixXd> to(out + b.offset, b.rows, b.cols);
      if (b.right)
        to.noalias() = from * p;
      else
        to.noalias() = p * from;
    }
  }
  // J (or J^-1) as a dense matrix (symmetric: either storage order).
  void Dense(bool inverse, double* jacobian) const {
    Map<MatrixXd> j(jacobian, size_, size_);
    j.setIdentity();
    VectorXd unit = VectorXd::Zero(size_);
    for (const LinearBlock& b : blocks_)
      for (Index i = b.offset; i < b.offset + b.rows * b.cols; ++i) {
        unit[i] = 1;
        Apply(inverse, unit.data(), j.col(i).data());
        unit[i] = 0;
      }
  }

  int size_;
  std::vector<LinearBlock> blocks_;
};

// P = V diag(lift)^-1 V^T and its inverse, for the eigenvectors V of a
// symmetric matrix.
void SetSymmetric(const MatrixXd& v, const VectorXd& lift, LinearBlock* b) {
  b->p = v * lift.cwiseInverse().asDiagonal() * v.transpose();
  b->p_inverse = v * lift.asDiagonal() * v.transpose();
}

// The objective's curvature along a direction of the c block that the
// prior does not see (each column constant over the trials, random weights
// over the columns), by a finite difference of its gradient: the data
// term's (and the L2 penalty's) curvature per trial factor. NaN when it
// cannot be measured.
double DataCurvature(const RnnObjective& train,
                     const VectorXd& x,
                     Index offset,
                     Index trials,
                     Index rank,
                     const MatrixXd& prior) {
  Rng rng(7);
  VectorXd v = VectorXd::Zero(x.size());
  Map<MatrixXd>(v.data() + offset, trials, rank) =
      MatrixXd::Ones(trials, 1) * rng.NormalMatrix(1, rank);
  v /= v.norm();
  const Index size = trials * rank;
  const double step =
      1e-4 * std::max(1.0, x.segment(offset, size).cwiseAbs().maxCoeff());
  VectorXd g0(x.size()), g1(x.size());
  double cost = 0;
  const VectorXd moved = x + step * v;
  if (!train.Evaluate(x.data(), &cost, g0.data()) ||
      !train.Evaluate(moved.data(), &cost, g1.data()))
    return kNaN;
  // Zero for second differences; a Gaussian-process prior sees constants.
  const Map<const MatrixXd> vc(v.data() + offset, trials, rank);
  return v.dot(g1 - g0) / step - (vc.transpose() * prior * vc).trace();
}

std::optional<LinearBlock> TrialFactorBlock(const FitOptions& o,
                                            const Problem& problem,
                                            const RnnObjective& train,
                                            const VectorXd& x) {
  const RnnParameters& p = problem.initial;
  if (!o.precondition_trial_factors || p.kind != WeightKind::kLowTensorRank ||
      problem.readout_offset >= 0 ||
      problem.smoothing.kind() == TrialSmoothing::kNone || !problem.blocks.c)
    return std::nullopt;
  LinearBlock b;
  b.offset = p.a.size() + p.b.size();
  b.rows = p.c.rows();
  b.cols = p.c.cols();
  const MatrixXd prior = PriorHessian(problem.smoothing, b.rows);
  const double d = DataCurvature(train, x, b.offset, b.rows, b.cols, prior);
  if (!(d > 0) || !std::isfinite(d)) return std::nullopt;
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(prior);
  SetSymmetric(eig.eigenvectors(),
               (1.0 + eig.eigenvalues().array().max(0.0) / d).sqrt().matrix(),
               &b);
  return b;
}

// The latents' Gram matrix over the training entries, each entry weighted
// by the mean of its mask over the neurons, divided by the data term's
// normaliser M, plus the penalties' Hessian: the mean over the neurons of
// the objective's Hessian in one row of [C d] (mse).
MatrixXd ReadoutGram(const RnnParameters& p,
                     const std::vector<RnnTrial>& trials,
                     const RnnLossOptions& loss) {
  const MatrixXd latents = ReadoutLatents(p, trials, loss.num_threads);
  VectorXd weight(latents.cols());
  Index column = 0;
  double m = 0;
  for (const RnnTrial& trial : trials) {
    const Index steps = trial.num_steps();
    if (trial.mask.size() == 0)
      weight.segment(column, steps).setOnes();
    else
      weight.segment(column, steps) = trial.mask.colwise().mean().transpose();
    m += weight.segment(column, steps).sum() * trial.targets.rows();
    column += steps;
  }
  const Index n = p.units();
  MatrixXd gram = MatrixXd::Zero(n + 1, n + 1);
  gram.selfadjointView<Eigen::Lower>().rankUpdate(
      latents * weight.cwiseSqrt().asDiagonal(), 1.0 / std::max(m, 1.0));
  gram = gram.selfadjointView<Eigen::Lower>();
  gram.diagonal().head(n).array() += loss.l2_readout;
  gram(n, n) += loss.l2_offset;
  return gram;
}

// A free readout with its offset (mse, L-BFGS): [C d] = R P, with P from
// the Gram matrix at x. Its eigenvalues are floored at 1e-8 of the largest
// (degenerate latents and no penalty).
std::optional<LinearBlock> ReadoutBlock(const FitOptions& o,
                                        const Problem& problem,
                                        const RnnObjective& train,
                                        const VectorXd& x) {
  const RnnParameters& p = problem.initial;
  if (!o.precondition_readout || !problem.blocks.readout ||
      !problem.blocks.offset || problem.readout_offset >= 0 ||
      o.loss.loss != RnnLoss::kMse || o.loss.output_loss)
    return std::nullopt;
  LinearBlock b;
  b.rows = p.readout.rows();
  b.cols = p.readout.cols() + 1;
  b.offset = x.size() - b.rows * b.cols;  // readout | offset end the vector
  b.right = true;
  const MatrixXd gram =
      ReadoutGram(train.Parameters(x.data()), problem.train, problem.loss);
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(gram);
  if (eig.info() != Eigen::Success || !gram.allFinite()) return std::nullopt;
  const VectorXd e = eig.eigenvalues();
  const double largest = e.maxCoeff(), mean = e.mean();
  if (!(largest > 0)) return std::nullopt;
  SetSymmetric(eig.eigenvectors(),
               (e.array().max(1e-8 * largest) / mean).sqrt().matrix(),
               &b);
  return b;
}

}  // namespace

std::unique_ptr<ceres::Manifold> Preconditioner(const FitOptions& o,
                                                const Problem& problem,
                                                const RnnObjective& train,
                                                const VectorXd& x) {
  std::vector<LinearBlock> blocks;
  if (auto b = TrialFactorBlock(o, problem, train, x))
    blocks.push_back(std::move(*b));
  if (auto b = ReadoutBlock(o, problem, train, x))
    blocks.push_back(std::move(*b));
  if (blocks.empty()) return nullptr;
  return std::make_unique<LinearBlockManifold>(static_cast<int>(x.size()),
                                               std::move(blocks));
}

}  // namespace ltr::internal
