// THE forward and backward passes of the RNN over a batch of trials (the
// layout is described in rnn_internal.h).
//
// Backward pass of one trial (lambda_t = dL/dx[t], the total adjoint):
//   direct_t   = phi'(x[t]) .* (readout^T e_t + l2_activity phi(x[t]))
//                with e_t = dL/dy_hat[t]
//   lambda_T-1 = direct_T-1
//   g_t+1      = alpha lambda_t+1           (adjoint of the drive of step t)
//   lambda_t   = (1 - alpha) lambda_t+1 + phi'(x[t]) .* (W_k^T g_t+1)
//                + direct_t
// and the parameter gradients are sums over steps t = 0 .. T-2 of
//   dW = g_t+1 phi_t^T,  dW_in = g_t+1 u_t^T,  dh = dbias = g_t+1,
// with dx0 = lambda_0, dreadout = sum_t e_t phi_t^T, doffset = sum_t e_t.
// For W = a diag(c_k) b^T: da = dW b diag(c_k), db = dW^T a diag(c_k),
// dc_k,r = a_r^T dW b_r, computed from kappa_t = b^T phi_t and
// rho_t = a^T g_t+1 without forming dW.
#include <algorithm>
#include <cmath>

#include "rnn/rnn_internal.h"

namespace ltr {
namespace internal {

using Eigen::Index;
using Eigen::MatrixXd;

RecurrentOperator::RecurrentOperator(const RnnParameters& p) : p_(p) {
  if (p.kind == WeightKind::kFull) {
    if (p.w0.size() > 0) {
      sum_ = p.w0 + p.w;
      dense_ = &sum_;
    } else {
      dense_ = &p.w;
    }
  } else {
    if (p.w0.size() > 0) dense_ = &p.w0;
    factor_rank_ = p.a.cols();
  }
  if (dense_ != nullptr) {
    packed_ = PackedMatrix(*dense_, false);
    packed_t_ = PackedMatrix(*dense_, true);
  }
  // Measured: a fit's 200 x 200 readout 3-5x faster on the kernel
  // (bench_fit); training's 2 x 256 ~10 % slower there (bench_train).
  constexpr Index kMinKernelOutputs = 16;
  readout_on_kernel_ =
      p.readout.rows() >= kMinKernelOutputs && p.readout.cols() > 0;
  if (readout_on_kernel_) {
    readout_ = PackedMatrix(p.readout, false);
    readout_t_ = PackedMatrix(p.readout, true);
  }
}

void RecurrentOperator::ApplyReadout(bool transpose,
                                     const Eigen::Ref<const MatrixXd>& in,
                                     Eigen::Ref<MatrixXd> out) const {
  if (readout_on_kernel_)
    Multiply(transpose ? readout_t_ : readout_, in, out);
  else if (transpose)
    out.noalias() = p_.readout.transpose() * in;
  else
    out.noalias() = p_.readout * in;
}

void RecurrentOperator::AddReadoutGradient(
    const Eigen::Ref<const MatrixXd>& e,
    const Eigen::Ref<const MatrixXd>& phi,
    MatrixXd* out) const {
  if (readout_on_kernel_)
    AddProductTransposed(e, phi, *out);
  else
    out->noalias() += e * phi.transpose();
}

void RecurrentOperator::Apply(bool transpose,
                              const Eigen::Ref<const MatrixXd>& in,
                              const MatrixXd& ck,
                              Eigen::Ref<MatrixXd> out,
                              Eigen::Ref<MatrixXd> factor) const {
  if (dense_ == nullptr) {
    out.setZero();
  } else {
    Multiply(transpose ? packed_t_ : packed_, in, out);
  }
  if (factor_rank_ == 0) return;
  // W = a diag(c) b^T: forward b^T then a, transposed a^T then b.
  const MatrixXd& first = transpose ? p_.a : p_.b;
  const MatrixXd& second = transpose ? p_.b : p_.a;
  factor.noalias() = first.transpose() * in;
  if (p_.kind == WeightKind::kLowTensorRank) {
    out.noalias() += second * ck.cwiseProduct(factor);
  } else {
    out.noalias() += second * factor;
  }
}

Eigen::Map<MatrixXd> BatchBuffer::Resize(Index rows, Index cols) {
  const size_t size = static_cast<size_t>(rows * cols);
  if (data_.size() < size) data_.resize(size);
  rows_ = rows;
  cols_ = cols;
  return view();
}

namespace {

// Lays out the batch: lengths, c_k and the inputs of steps 0 .. T-2.
// Returns the constant drive bias + h[:, condition] (N x B).
MatrixXd PrepareBatch(const RnnParameters& p,
                      const std::vector<BatchTrial>& trials,
                      BatchStates* s) {
  const Index nb = static_cast<Index>(trials.size());
  const Index n = p.units();
  const Index n_in = p.num_inputs();
  const bool ltr = p.kind == WeightKind::kLowTensorRank;
  s->size = nb;
  s->bins = 0;
  s->bins_of.resize(nb);
  MatrixXd constant(n, nb);
  if (ltr) s->ck.resize(p.rank(), nb);
  for (Index j = 0; j < nb; ++j) {
    const BatchTrial& trial = trials[j];
    s->bins_of[j] = trial.bins;
    s->bins = std::max(s->bins, trial.bins);
    constant.col(j) = p.bias;
    if (p.h.size() > 0) constant.col(j) += p.h.col(trial.condition);
    if (ltr) s->ck.col(j) = p.c.row(trial.trial).transpose();
  }
  const Index steps = s->bins - 1;
  const Index in_cols = n_in > 0 && steps > 0 ? steps * nb : 0;
  Eigen::Map<MatrixXd> u = s->u.Resize(n_in, in_cols);
  if (in_cols > 0) {
    u.setZero();
    for (Index j = 0; j < nb; ++j)
      for (Index t = 0; t + 1 < trials[j].bins; ++t)
        u.col(t * nb + j) = trials[j].inputs->col(t);
  }
  return constant;
}

}  // namespace

void Forward(const RnnParameters& p,
             const RecurrentOperator& op,
             const std::vector<BatchTrial>& trials,
             bool derivatives,
             double noise_sigma,
             Rng* rng,
             BatchStates* s) {
  const MatrixXd constant = PrepareBatch(p, trials, s);
  const Index nb = s->size;
  const Index t_max = s->bins;
  const Index n = p.units();
  const double alpha = p.alpha;
  const double noise_scale = std::sqrt(alpha) * noise_sigma;
  const auto u = s->u.view();
  const bool has_inputs = u.size() > 0;
  Eigen::Map<MatrixXd> x = s->x.Resize(n, t_max * nb);
  Eigen::Map<MatrixXd> phi = s->phi.Resize(n, t_max * nb);
  Eigen::Map<MatrixXd> dphi = s->dphi.Resize(n, derivatives ? t_max * nb : 0);
  Eigen::Map<MatrixXd> kappa =
      s->kappa.Resize(op.factor_rank(), (t_max - 1) * nb);
  Eigen::Map<MatrixXd> outputs = s->outputs.Resize(p.num_outputs(), t_max * nb);
  for (Index j = 0; j < nb; ++j) x.col(j) = p.x0.col(trials[j].condition);
  // Bin by bin, so that each bin's blocks (N x B) are still in cache for
  // the readout and the input drive.
  for (Index t = 0; t < t_max; ++t) {
    const auto xt = x.middleCols(t * nb, nb);
    auto phit = phi.middleCols(t * nb, nb);
    PhiBlock(p.nonlinearity, xt, phit);
    if (derivatives)
      PhiDerivativeBlock(p.nonlinearity, xt, phit, dphi.middleCols(t * nb, nb));
    op.ApplyReadout(false, phit, outputs.middleCols(t * nb, nb));
    if (t + 1 == t_max) break;
    auto next = x.middleCols((t + 1) * nb, nb);
    op.Apply(false, phit, s->ck, next, kappa.middleCols(t * nb, nb));
    // x[t+1] = (1 - alpha) x[t] + alpha (W phi + W_in u + constant).
    if (has_inputs) next.noalias() += p.w_in * u.middleCols(t * nb, nb);
    next = (1.0 - alpha) * xt + alpha * (next + constant);
    for (Index j = 0; j < nb; ++j) {
      if (s->bins_of[j] <= t + 1) {
        next.col(j).setZero();
      } else if (noise_scale != 0.0) {
        for (Index i = 0; i < n; ++i) next(i, j) += noise_scale * rng->Normal();
      }
    }
  }
  outputs.colwise() += p.offset;
}

namespace {

// The adjoints: fills G (N x (S B), G(:, t B + j) = g_t+1 of trial j) and
// rho = a^T G, adds sum_t e_t phi_t^T to *d_readout and sum_t g_t+1 u_t^T
// to *d_w_in (each if not null), and returns lambda_0 (N x B). Bin by bin,
// while the bin's blocks are in cache.
MatrixXd Adjoints(const RnnParameters& p,
                  const RecurrentOperator& op,
                  const BatchStates& s,
                  const Eigen::Ref<const MatrixXd>& e,
                  double l2_activity,
                  BackwardBuffers* buffers,
                  MatrixXd* d_readout,
                  MatrixXd* d_w_in) {
  const Index nb = s.size;
  const Index t_max = s.bins;
  const Index steps = t_max - 1;
  const Index n = p.units();
  const double alpha = p.alpha;
  const auto phi = s.phi.view();
  const auto dphi = s.dphi.view();
  Eigen::Map<MatrixXd> big_g = buffers->big_g.Resize(n, steps * nb);
  Eigen::Map<MatrixXd> rho = buffers->rho.Resize(op.factor_rank(), steps * nb);
  Eigen::Map<MatrixXd> direct = buffers->direct.Resize(n, nb);
  const auto u = s.u.view();
  // direct_t = phi'(x_t) .* (readout^T e_t + l2_activity phi_t), zero in
  // the padding.
  auto direct_at = [&](Index t) {
    const auto et = e.middleCols(t * nb, nb);
    if (d_readout != nullptr)
      op.AddReadoutGradient(et, phi.middleCols(t * nb, nb), d_readout);
    op.ApplyReadout(true, et, direct);
    if (l2_activity != 0.0) direct += l2_activity * phi.middleCols(t * nb, nb);
    direct.array() *= dphi.middleCols(t * nb, nb).array();
    for (Index j = 0; j < nb; ++j)
      if (s.bins_of[j] <= t) direct.col(j).setZero();
    return direct;
  };
  MatrixXd lambda = direct_at(steps);
  MatrixXd back(n, nb);
  for (Index t = steps - 1; t >= 0; --t) {
    auto gt = big_g.middleCols(t * nb, nb);
    gt = alpha * lambda;
    if (d_w_in != nullptr)
      d_w_in->noalias() += gt * u.middleCols(t * nb, nb).transpose();
    op.Apply(true, gt, s.ck, back, rho.middleCols(t * nb, nb));
    lambda = (1.0 - alpha) * lambda +
             (dphi.middleCols(t * nb, nb).array() * back.array()).matrix() +
             direct_at(t);
  }
  return lambda;
}

// dW (or da, db) and dc from G, rho, phi and kappa.
void RecurrentGradients(const RnnParameters& p,
                        const std::vector<BatchTrial>& trials,
                        const BatchStates& s,
                        const RnnBlocks& blocks,
                        BackwardBuffers* buffers,
                        RnnParameters* g) {
  const Index nb = s.size;
  const Index steps = s.bins - 1;
  const Index rank = p.rank();
  const bool ltr = p.kind == WeightKind::kLowTensorRank;
  const auto big_g = buffers->big_g.view();
  const auto rho = buffers->rho.view();
  const auto kappa = s.kappa.view();
  const auto phi_steps = s.phi.view().leftCols(steps * nb);
  if (blocks.w) {
    if (p.kind == WeightKind::kFull) {
      AddProductTransposed(big_g, phi_steps, g->w);
    } else if (ltr) {
      Eigen::Map<MatrixXd> ck_kappa =
          buffers->ck_kappa.Resize(rank, steps * nb);
      Eigen::Map<MatrixXd> ck_rho = buffers->ck_rho.Resize(rank, steps * nb);
      for (Index t = 0; t < steps; ++t) {
        ck_kappa.middleCols(t * nb, nb) =
            s.ck.cwiseProduct(kappa.middleCols(t * nb, nb));
        ck_rho.middleCols(t * nb, nb) =
            s.ck.cwiseProduct(rho.middleCols(t * nb, nb));
      }
      g->a.noalias() += big_g * ck_kappa.transpose();
      g->b.noalias() += phi_steps * ck_rho.transpose();
    } else {
      g->a.noalias() += big_g * kappa.transpose();
      g->b.noalias() += phi_steps * rho.transpose();
    }
  }
  if (blocks.c && ltr) {
    MatrixXd rk = MatrixXd::Zero(rank, nb);
    for (Index t = 0; t < steps; ++t)
      rk +=
          rho.middleCols(t * nb, nb).cwiseProduct(kappa.middleCols(t * nb, nb));
    for (Index j = 0; j < nb; ++j)
      g->c.row(trials[j].trial) += rk.col(j).transpose();
  }
}

}  // namespace

void Backward(const RnnParameters& p,
              const RecurrentOperator& op,
              const std::vector<BatchTrial>& trials,
              const BatchStates& s,
              const Eigen::Ref<const MatrixXd>& e,
              double l2_activity,
              const RnnBlocks& blocks,
              BackwardBuffers* buffers,
              RnnParameters* g) {
  const Index nb = s.size;
  const Index steps = s.bins - 1;
  if (blocks.offset) g->offset += e.rowwise().sum();
  const bool want_w_in = blocks.w_in && s.u.view().size() > 0;
  const MatrixXd lambda0 = Adjoints(p,
                                    op,
                                    s,
                                    e,
                                    l2_activity,
                                    buffers,
                                    blocks.readout ? &g->readout : nullptr,
                                    want_w_in ? &g->w_in : nullptr);
  if (blocks.x0)
    for (Index j = 0; j < nb; ++j)
      g->x0.col(trials[j].condition) += lambda0.col(j);
  if (steps == 0) return;

  RecurrentGradients(p, trials, s, blocks, buffers, g);
  const auto big_g = buffers->big_g.view();
  const bool want_h = blocks.h && p.h.size() > 0;
  if (want_h || blocks.bias) {
    MatrixXd sum_g = MatrixXd::Zero(p.units(), nb);
    for (Index t = 0; t < steps; ++t) sum_g += big_g.middleCols(t * nb, nb);
    if (want_h)
      for (Index j = 0; j < nb; ++j)
        g->h.col(trials[j].condition) += sum_g.col(j);
    if (blocks.bias) g->bias += sum_g.rowwise().sum();
  }
}

}  // namespace internal
}  // namespace ltr
