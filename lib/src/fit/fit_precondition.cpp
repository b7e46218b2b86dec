// Preconditioning the trial factors of a low-tensor-rank fit with a
// smoothing prior (FitOptions::precondition_trial_factors; docs/fit.md).
//
// The prior's Hessian over the trials, S (second differences: eigenvalues
// up to 16 times its weight), dwarfs the data term's curvature per trial
// factor, d (the data term is a mean over all entries, so each c[k, r] moves
// 1/K of it): the Hessian of the c block, about d I + S, has a condition
// number of 1e4-1e6, and L-BFGS with a 20-pair memory crawls along its
// smooth, data-determined directions. Optimising over u with c = P u,
// P = (I + S / d)^(-1/2), makes that block's Hessian about d I. The change
// of variables is a Ceres Manifold that is linear in the c block:
// Plus(x, delta) = x + P delta there (the identity elsewhere), so the
// gradient Ceres sees is P g and L-BFGS's curvature pairs live in u.
#include <Eigen/Eigenvalues>
#include <cmath>

#include "fit/fit_internal.h"
#include "ltr/core/random.h"

namespace ltr::internal {

namespace {

using Eigen::Map;
using Eigen::MatrixXd;
using Eigen::VectorXd;

class TrialFactorManifold final : public ceres::Manifold {
 public:
  TrialFactorManifold(int size, int offset, MatrixXd p, MatrixXd p_inverse)
      : size_(size),
        offset_(offset),
        trials_(static_cast<int>(p.rows())),
        rank_(0),
        p_(std::move(p)),
        p_inverse_(std::move(p_inverse)) {}
  void set_rank(int rank) { rank_ = rank; }

  int AmbientSize() const override { return size_; }
  int TangentSize() const override { return size_; }
  bool Plus(const double* x,
            const double* delta,
            double* x_plus_delta) const override {
    for (int i = 0; i < size_; ++i) x_plus_delta[i] = x[i] + delta[i];
    Block(x_plus_delta) = Block(x) + p_ * Block(delta);
    return true;
  }
  bool PlusJacobian(const double*, double* jacobian) const override {
    Dense(p_, jacobian);
    return true;
  }
  bool RightMultiplyByPlusJacobian(const double*,
                                   const int num_rows,
                                   const double* ambient_matrix,
                                   double* tangent_matrix) const override {
    // Row-major num_rows x size; P is symmetric, so g^T J = (P g_c)^T.
    for (int row = 0; row < num_rows; ++row) {
      const double* in = ambient_matrix + static_cast<size_t>(row) * size_;
      double* out = tangent_matrix + static_cast<size_t>(row) * size_;
      std::copy(in, in + size_, out);
      Block(out) = p_ * Block(in);
    }
    return true;
  }
  bool Minus(const double* y,
             const double* x,
             double* y_minus_x) const override {
    for (int i = 0; i < size_; ++i) y_minus_x[i] = y[i] - x[i];
    const MatrixXd d = Block(y_minus_x);
    Block(y_minus_x) = p_inverse_ * d;
    return true;
  }
  bool MinusJacobian(const double*, double* jacobian) const override {
    Dense(p_inverse_, jacobian);
    return true;
  }

 private:
  Map<MatrixXd> Block(double* x) const {
    return Map<MatrixXd>(x + offset_, trials_, rank_);
  }
  Map<const MatrixXd> Block(const double* x) const {
    return Map<const MatrixXd>(x + offset_, trials_, rank_);
  }
  // The identity with P (or P^-1) on each trial-factor column's block.
  void Dense(const MatrixXd& m, double* jacobian) const {
    Map<MatrixXd> j(jacobian, size_, size_);  // symmetric: either order
    j.setIdentity();
    for (int r = 0; r < rank_; ++r)
      j.block(offset_ + r * trials_, offset_ + r * trials_, trials_, trials_) =
          m;
  }

  int size_, offset_, trials_, rank_;
  MatrixXd p_, p_inverse_;
};

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

}  // namespace

std::unique_ptr<ceres::Manifold> TrialFactorPreconditioner(
    const FitOptions& o,
    const Problem& problem,
    const RnnObjective& train,
    const VectorXd& x) {
  const RnnParameters& p = problem.initial;
  if (!o.precondition_trial_factors || p.kind != WeightKind::kLowTensorRank ||
      problem.readout_offset >= 0 ||
      problem.smoothing.kind() == TrialSmoothing::kNone || !problem.blocks.c)
    return nullptr;
  const Index trials = p.c.rows(), offset = p.a.size() + p.b.size();
  const MatrixXd prior = PriorHessian(problem.smoothing, trials);
  const double d = DataCurvature(train, x, offset, trials, p.c.cols(), prior);
  if (!(d > 0) || !std::isfinite(d)) return nullptr;
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(prior);
  const VectorXd lift =
      (1.0 + eig.eigenvalues().array().max(0.0) / d).sqrt().matrix();
  const MatrixXd& v = eig.eigenvectors();
  auto m = std::make_unique<TrialFactorManifold>(
      static_cast<int>(x.size()),
      static_cast<int>(offset),
      v * lift.cwiseInverse().asDiagonal() * v.transpose(),
      v * lift.asDiagonal() * v.transpose());
  m->set_rank(static_cast<int>(p.c.cols()));
  return m;
}

}  // namespace ltr::internal
