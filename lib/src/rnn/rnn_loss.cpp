// RNN losses and their exact gradients by backpropagation through time,
// trial-factor smoothness priors, and the flat-vector objective.
//
// Backward pass of one trial (lambda_t = dL/dx[t], the total adjoint):
//   direct_t   = phi'(x[t]) .* (readout^T e_t + l2_activity phi(x[t]))
//                with e_t = dL/dy_hat[t]
//   lambda_T-1 = direct_T-1
//   g_t+1      = alpha lambda_t+1           (adjoint of the drive of step t)
//   lambda_t   = (1 - alpha) lambda_t+1 + phi'(x[t]) .* (W_k^T g_t+1) +
//   direct_t
// and the parameter gradients are sums over steps t = 0 .. T-2 of
//   dW = g_t+1 phi_t^T,  dW_in = g_t+1 u_t^T,  dh = dbias = g_t+1,
// with dx0 = lambda_0, dreadout = sum_t e_t phi_t^T, doffset = sum_t e_t.
// For W = a diag(c_k) b^T: da = dW b diag(c_k), db = dW^T a diag(c_k),
// dc_k,r = a_r^T dW b_r, computed from kappa_t = b^T phi_t and rho_t = a^T
// g_t+1 without forming dW.
#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <exception>
#include <sstream>
#include <vector>

#include "ltr/core/error.h"
#include "ltr/rnn/rnn.h"
#include "core/parallel.h"
#include "rnn/rnn_internal.h"

namespace ltr {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

double Softplus(double z) {
  return z > 0.0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

double Logistic(double z) {
  return z >= 0.0 ? 1.0 / (1.0 + std::exp(-z))
                  : std::exp(z) / (1.0 + std::exp(z));
}

void ValidateTrial(const RnnParameters& p, const RnnTrial& trial, Index i) {
  const std::string what = "RNN trial " + std::to_string(i);
  internal::ValidateTrialShapes(
      p, trial.trial, trial.condition, trial.num_steps(), trial.inputs, what);
  if (trial.targets.rows() != p.num_outputs())
    throw Error(what + ": targets have " +
                std::to_string(trial.targets.rows()) + " rows, expected " +
                std::to_string(p.num_outputs()) + " (one per output)");
  if (trial.mask.size() > 0) {
    if (trial.mask.rows() != trial.targets.rows() ||
        trial.mask.cols() != trial.targets.cols())
      throw Error(what + ": mask shape differs from the targets");
    if (!(trial.mask.array() >= 0.0).all())
      throw Error(what + ": mask has a negative (or NaN) weight");
  }
}

// Adds the selected blocks of `from` into `to` (same shapes).
void AddInto(const RnnParameters& from, RnnParameters* to) {
  auto add = [](const MatrixXd& a, MatrixXd* b) {
    if (b->size() > 0) *b += a;
  };
  add(from.w, &to->w);
  add(from.a, &to->a);
  add(from.b, &to->b);
  add(from.c, &to->c);
  add(from.w_in, &to->w_in);
  add(from.h, &to->h);
  if (to->bias.size() > 0) to->bias += from.bias;
  add(from.x0, &to->x0);
  add(from.readout, &to->readout);
  if (to->offset.size() > 0) to->offset += from.offset;
}

void ScaleBy(double s, RnnParameters* g) {
  g->w *= s;
  g->a *= s;
  g->b *= s;
  g->c *= s;
  g->w_in *= s;
  g->h *= s;
  g->bias *= s;
  g->x0 *= s;
  g->readout *= s;
  g->offset *= s;
}

// One trial with a prepared operator: the body of EvaluateTrial.
RnnTrialLoss TrialLoss(const RnnParameters& p,
                       const internal::RecurrentOperator& op,
                       const RnnTrial& trial,
                       const RnnLossOptions& options,
                       const RnnBlocks& blocks,
                       RnnParameters* g) {
  const bool grad = g != nullptr;
  const Index t_max = trial.num_steps();
  const Index n_out = p.num_outputs();
  const Index k = trial.trial;
  const Index cond = trial.condition;
  const double alpha = p.alpha;

  internal::ForwardStates s;
  internal::RunForward(
      p, op, k, cond, t_max, trial.inputs, grad, 0.0, nullptr, &s);

  // Outputs and the data term; e = dS/dy_hat.
  MatrixXd y_hat = p.readout * s.phi;
  y_hat.colwise() += p.offset;
  MatrixXd e;
  if (grad) e.setZero(n_out, t_max);
  const bool has_mask = trial.mask.size() > 0;
  RnnTrialLoss out;
  const double floor = options.poisson_rate_floor;
  if (options.output_loss) {
    out.data =
        options.output_loss(trial, y_hat, grad ? &e : nullptr, &out.mask_sum);
  }
  for (Index t = 0; t < t_max && !options.output_loss; ++t) {
    for (Index i = 0; i < n_out; ++i) {
      const double m = has_mask ? trial.mask(i, t) : 1.0;
      if (m == 0.0) continue;  // missing targets may hold NaN
      out.mask_sum += m;
      const double y = trial.targets(i, t);
      const double z = y_hat(i, t);
      if (options.loss == RnnLoss::kMse) {
        const double r = z - y;
        out.data += 0.5 * m * r * r;
        if (grad) e(i, t) = m * r;
      } else {
        double rate = Softplus(z);
        double drate = Logistic(z);
        if (!(rate >= floor)) {
          rate = floor;
          drate = 0.0;
        }
        out.data += m * (rate - y * std::log(rate));
        if (grad) e(i, t) = m * (1.0 - y / rate) * drate;
      }
    }
  }
  out.activity = 0.5 * s.phi.squaredNorm();
  if (!grad) return out;

  // direct_t = phi'(x_t) .* (readout^T e_t + l2_activity phi_t).
  MatrixXd direct = p.readout.transpose() * e;
  if (options.l2_activity != 0.0) direct += options.l2_activity * s.phi;
  direct.array() *= s.dphi.array();

  if (blocks.readout) g->readout.noalias() += e * s.phi.transpose();
  if (blocks.offset) g->offset += e.rowwise().sum();

  // Adjoint recursion backwards in time; G(:, t) = g_t+1 drives step t.
  const Index steps = t_max - 1;
  const Index n = p.units();
  MatrixXd big_g(n, steps);
  MatrixXd rho = MatrixXd::Zero(op.factor_rank(), steps);
  VectorXd lambda = direct.col(t_max - 1);
  VectorXd back(n);
  for (Index t = steps - 1; t >= 0; --t) {
    big_g.col(t) = alpha * lambda;
    op.ApplyTranspose(k, big_g.col(t), back, rho.col(t));
    lambda = (1.0 - alpha) * lambda +
             (s.dphi.col(t).array() * back.array()).matrix() + direct.col(t);
  }
  if (blocks.x0) g->x0.col(cond) += lambda;
  if (steps == 0) return out;

  const auto phi_steps = s.phi.leftCols(steps);
  if (blocks.w) {
    if (p.kind == WeightKind::kFull) {
      g->w.noalias() += big_g * phi_steps.transpose();
    } else {
      const auto kappa = s.kappa.leftCols(steps);
      if (p.kind == WeightKind::kLowTensorRank) {
        const auto ck = p.c.row(k).transpose().asDiagonal();
        g->a.noalias() += big_g * (ck * kappa).transpose();
        g->b.noalias() += phi_steps * (ck * rho).transpose();
      } else {
        g->a.noalias() += big_g * kappa.transpose();
        g->b.noalias() += phi_steps * rho.transpose();
      }
    }
  }
  if (blocks.c && p.kind == WeightKind::kLowTensorRank) {
    g->c.row(k) += (rho.array() * s.kappa.leftCols(steps).array())
                       .rowwise()
                       .sum()
                       .transpose()
                       .matrix();
  }
  if (blocks.w_in && p.num_inputs() > 0)
    g->w_in.noalias() += big_g * trial.inputs.leftCols(steps).transpose();
  if ((blocks.h && p.h.size() > 0) || blocks.bias) {
    const VectorXd sum_g = big_g.rowwise().sum();
    if (blocks.h && p.h.size() > 0) g->h.col(cond) += sum_g;
    if (blocks.bias) g->bias += sum_g;
  }
  return out;
}

// --- Batched pass over a chunk of trials ---------------------------------
//
// The trials of a chunk are run together: the states of time bin t of all B
// trials form the N x B block X_t, stored as columns t * B .. t * B + B - 1 of
// an N x (T * B) matrix (T the longest trial of the chunk), so every product
// with a weight matrix is a matrix-matrix product and phi is applied to whole
// blocks. A trial shorter than T is padded: its states after its last bin
// are held at zero and its adjoints there are zero, so the padding changes
// nothing.

// tanh of a block with vectorised operations: (1 - e) / (1 + e),
// e = exp(-2|x|), for |x| > 0.625 and the Cephes rational approximation
// x + x s P(s) / Q(s), s = x^2, below (both within a few ulp of std::tanh).
void TanhBlock(const Eigen::Ref<const MatrixXd>& x, Eigen::Ref<MatrixXd> y) {
  const auto xa = x.array();
  const Eigen::ArrayXXd e = (-2.0 * xa.abs()).exp();
  const auto s = xa.square();
  const auto p =
      (-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s -
      1.61468768441708447952e3;
  const auto q =
      ((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s +
      4.84406305325125486048e3;
  const auto large = xa.abs() > 0.625;
  y.array() =
      large.select((xa < 0.0).select(e - 1.0, 1.0 - e), xa * (q + s * p)) /
      large.select(1.0 + e, q);
}

// phi (and phi' when dphi is given) of a block of states.
void PhiBlock(Nonlinearity f,
              const Eigen::Ref<const MatrixXd>& x,
              Eigen::Ref<MatrixXd> phi,
              Eigen::Map<MatrixXd>* dphi_all,
              Index col,
              Index cols) {
  switch (f) {
    case Nonlinearity::kTanh:
      TanhBlock(x, phi);
      if (dphi_all != nullptr)
        dphi_all->middleCols(col, cols).array() = 1.0 - phi.array().square();
      return;
    case Nonlinearity::kRelu:
      phi = x.cwiseMax(0.0);
      if (dphi_all != nullptr)
        dphi_all->middleCols(col, cols) = (x.array() > 0.0).cast<double>();
      return;
    case Nonlinearity::kSoftplus:
      phi =
          x.unaryExpr([](double v) { return Phi(Nonlinearity::kSoftplus, v); });
      if (dphi_all != nullptr)
        dphi_all->middleCols(col, cols) = x.unaryExpr(
            [](double v) { return PhiDerivative(Nonlinearity::kSoftplus, v); });
      return;
    case Nonlinearity::kIdentity:
      phi = x;
      if (dphi_all != nullptr) dphi_all->middleCols(col, cols).setOnes();
      return;
  }
}

// Grow-only buffers for the large blocks of ChunkLoss (one set per thread).
struct Workspace {
  std::vector<double> u, wu, x, phi, dphi, kappa, y_hat, e, direct, big_g, rho,
      ck_kappa, ck_rho;
};

Eigen::Map<MatrixXd> Take(std::vector<double>* buffer, Index rows, Index cols) {
  const size_t size = static_cast<size_t>(rows * cols);
  if (buffer->size() < size) buffer->resize(size);
  return Eigen::Map<MatrixXd>(buffer->data(), rows, cols);
}

// Loss of trials [begin, end) run together; per-trial losses go to
// per_trial[i], the unnormalised gradient is added to *g (if not null).
void ChunkLoss(const RnnParameters& p,
               const internal::RecurrentOperator& op,
               const std::vector<RnnTrial>& trials,
               Index begin,
               Index end,
               const RnnLossOptions& options,
               const RnnBlocks& blocks,
               RnnParameters* g,
               std::vector<RnnTrialLoss>* per_trial) {
  const bool grad = g != nullptr;
  const Index nb = end - begin;  // B
  const Index n = p.units();
  const Index n_out = p.num_outputs();
  const Index n_in = p.num_inputs();
  const Index rank = op.factor_rank();
  const bool ltr = p.kind == WeightKind::kLowTensorRank;
  const double alpha = p.alpha;
  const MatrixXd* dense = op.dense();

  std::vector<Index> len(nb);
  Index t_max = 0;
  for (Index j = 0; j < nb; ++j) {
    len[j] = trials[begin + j].num_steps();
    t_max = std::max(t_max, len[j]);
  }
  const Index steps = t_max - 1;

  // Per-trial constants: drive bias + h[:, condition], c_k (R x B).
  MatrixXd constant(n, nb);
  MatrixXd ck;
  if (ltr) ck.resize(rank, nb);
  for (Index j = 0; j < nb; ++j) {
    const RnnTrial& trial = trials[begin + j];
    constant.col(j) = p.bias;
    if (p.h.size() > 0) constant.col(j) += p.h.col(trial.condition);
    if (ltr) ck.col(j) = p.c.row(trial.trial).transpose();
  }
  // Inputs of steps 0 .. T-2 (zero after a trial's end) and W_in u.
  const bool has_inputs = n_in > 0 && steps > 0;
  // Large blocks live in per-thread buffers reused from call to call.
  // An output_loss that itself evaluated a loss on this thread would find
  // the buffers in use; it then gets fresh ones.
  thread_local Workspace shared;
  thread_local bool busy = false;
  Workspace fresh;
  Workspace& ws = busy ? fresh : shared;
  struct Claim {
    bool* flag;
    bool was;
    ~Claim() { *flag = was; }
  } claim{&busy, busy};
  busy = true;
  const Index in_cols = has_inputs ? steps * nb : 0;
  Eigen::Map<MatrixXd> u = Take(&ws.u, n_in, in_cols);
  Eigen::Map<MatrixXd> wu = Take(&ws.wu, n, in_cols);
  if (has_inputs) {
    u.setZero();
    for (Index j = 0; j < nb; ++j) {
      const RnnTrial& trial = trials[begin + j];
      for (Index t = 0; t + 1 < len[j]; ++t)
        u.col(t * nb + j) = trial.inputs.col(t);
    }
    wu.noalias() = p.w_in * u;
  }

  // Forward.
  Eigen::Map<MatrixXd> x = Take(&ws.x, n, t_max * nb);
  Eigen::Map<MatrixXd> phi = Take(&ws.phi, n, t_max * nb);
  Eigen::Map<MatrixXd> dphi = Take(&ws.dphi, n, grad ? t_max * nb : 0);
  Eigen::Map<MatrixXd> kappa = Take(&ws.kappa, rank, steps * nb);
  MatrixXd scaled(rank, nb);
  for (Index j = 0; j < nb; ++j)
    x.col(j) = p.x0.col(trials[begin + j].condition);
  for (Index t = 0; t < t_max; ++t) {
    const auto xt = x.middleCols(t * nb, nb);
    auto phit = phi.middleCols(t * nb, nb);
    PhiBlock(p.nonlinearity, xt, phit, grad ? &dphi : nullptr, t * nb, nb);
    if (t + 1 == t_max) break;
    auto next = x.middleCols((t + 1) * nb, nb);
    if (dense != nullptr) {
      next.noalias() = *dense * phit;
    } else {
      next.setZero();
    }
    if (rank > 0) {
      auto kt = kappa.middleCols(t * nb, nb);
      kt.noalias() = p.b.transpose() * phit;
      if (ltr) {
        scaled = ck.cwiseProduct(kt);
        next.noalias() += p.a * scaled;
      } else {
        next.noalias() += p.a * kt;
      }
    }
    // x[t+1] = (1 - alpha) x[t] + alpha (W phi + W_in u + constant), one
    // pass over the block (same order of additions as RunForward).
    if (has_inputs) {
      next = (1.0 - alpha) * xt +
             alpha * ((next + wu.middleCols(t * nb, nb)) + constant);
    } else {
      next = (1.0 - alpha) * xt + alpha * (next + constant);
    }
    for (Index j = 0; j < nb; ++j)
      if (len[j] <= t + 1) next.col(j).setZero();
  }

  // Outputs, data terms and e = dS/dy_hat (zero in the padding).
  Eigen::Map<MatrixXd> y_hat = Take(&ws.y_hat, n_out, t_max * nb);
  y_hat.noalias() = p.readout * phi;
  y_hat.colwise() += p.offset;
  Eigen::Map<MatrixXd> e = Take(&ws.e, n_out, grad ? t_max * nb : 0);
  e.setZero();
  const double floor = options.poisson_rate_floor;
  for (Index j = 0; j < nb; ++j) {
    const RnnTrial& trial = trials[begin + j];
    RnnTrialLoss out;
    const Index tj = len[j];
    if (options.output_loss) {
      MatrixXd yj(n_out, tj), ej;
      for (Index t = 0; t < tj; ++t) yj.col(t) = y_hat.col(t * nb + j);
      if (grad) ej.setZero(n_out, tj);
      out.data =
          options.output_loss(trial, yj, grad ? &ej : nullptr, &out.mask_sum);
      if (grad)
        for (Index t = 0; t < tj; ++t) e.col(t * nb + j) = ej.col(t);
    } else if (options.loss == RnnLoss::kMse) {
      // Whole columns at once; a missing target (mask 0) may hold NaN, so
      // its residual is selected away rather than multiplied by 0.
      const bool has_mask = trial.mask.size() > 0;
      for (Index t = 0; t < tj; ++t) {
        const Index col = t * nb + j;
        const auto z = y_hat.col(col).array();
        const auto y = trial.targets.col(t).array();
        if (has_mask) {
          const auto m = trial.mask.col(t).array();
          const auto r = (m != 0.0).select(z - y, 0.0);
          out.mask_sum += m.sum();
          out.data += 0.5 * (m * r.square()).sum();
          if (grad) e.col(col) = (m * r).matrix();
        } else {
          out.mask_sum += static_cast<double>(n_out);
          out.data += 0.5 * (z - y).square().sum();
          if (grad) e.col(col) = (z - y).matrix();
        }
      }
    } else {  // kPoisson, entry by entry
      const bool has_mask = trial.mask.size() > 0;
      for (Index t = 0; t < tj; ++t) {
        const Index col = t * nb + j;
        for (Index i = 0; i < n_out; ++i) {
          const double m = has_mask ? trial.mask(i, t) : 1.0;
          if (m == 0.0) continue;  // missing targets may hold NaN
          out.mask_sum += m;
          const double y = trial.targets(i, t);
          const double z = y_hat(i, col);
          double rate = Softplus(z);
          double drate = Logistic(z);
          if (!(rate >= floor)) {
            rate = floor;
            drate = 0.0;
          }
          out.data += m * (rate - y * std::log(rate));
          if (grad) e(i, col) = m * (1.0 - y / rate) * drate;
        }
      }
    }
    double activity = 0.0;
    for (Index t = 0; t < tj; ++t)
      activity += phi.col(t * nb + j).squaredNorm();
    out.activity = 0.5 * activity;
    (*per_trial)[begin + j] = out;
  }
  if (!grad) return;

  // direct_t = phi'(x_t) .* (readout^T e_t + l2_activity phi_t), zero in the
  // padding.
  Eigen::Map<MatrixXd> direct = Take(&ws.direct, n, t_max * nb);
  direct.noalias() = p.readout.transpose() * e;
  if (options.l2_activity != 0.0) direct += options.l2_activity * phi;
  direct.array() *= dphi.array();
  for (Index j = 0; j < nb; ++j)
    for (Index t = len[j]; t < t_max; ++t) direct.col(t * nb + j).setZero();

  if (blocks.readout) g->readout.noalias() += e * phi.transpose();
  if (blocks.offset) g->offset += e.rowwise().sum();

  // Adjoints backwards in time; G(:, t * B + j) = g_t+1 of trial j.
  Eigen::Map<MatrixXd> big_g = Take(&ws.big_g, n, steps * nb);
  Eigen::Map<MatrixXd> rho = Take(&ws.rho, rank, steps * nb);
  MatrixXd lambda = direct.middleCols(steps * nb, nb);
  MatrixXd back(n, nb);
  for (Index t = steps - 1; t >= 0; --t) {
    auto gt = big_g.middleCols(t * nb, nb);
    gt = alpha * lambda;
    if (dense != nullptr) {
      back.noalias() = dense->transpose() * gt;
    } else {
      back.setZero();
    }
    if (rank > 0) {
      auto rt = rho.middleCols(t * nb, nb);
      rt.noalias() = p.a.transpose() * gt;
      if (ltr) {
        scaled = ck.cwiseProduct(rt);
        back.noalias() += p.b * scaled;
      } else {
        back.noalias() += p.b * rt;
      }
    }
    lambda = (1.0 - alpha) * lambda +
             (dphi.middleCols(t * nb, nb).array() * back.array()).matrix() +
             direct.middleCols(t * nb, nb);
  }
  if (blocks.x0)
    for (Index j = 0; j < nb; ++j)
      g->x0.col(trials[begin + j].condition) += lambda.col(j);
  if (steps == 0) return;

  const auto phi_steps = phi.leftCols(steps * nb);
  if (blocks.w) {
    if (p.kind == WeightKind::kFull) {
      g->w.noalias() += big_g * phi_steps.transpose();
    } else if (ltr) {
      Eigen::Map<MatrixXd> ck_kappa = Take(&ws.ck_kappa, rank, steps * nb);
      Eigen::Map<MatrixXd> ck_rho = Take(&ws.ck_rho, rank, steps * nb);
      for (Index t = 0; t < steps; ++t) {
        ck_kappa.middleCols(t * nb, nb) =
            ck.cwiseProduct(kappa.middleCols(t * nb, nb));
        ck_rho.middleCols(t * nb, nb) =
            ck.cwiseProduct(rho.middleCols(t * nb, nb));
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
      g->c.row(trials[begin + j].trial) += rk.col(j).transpose();
  }
  if (blocks.w_in && has_inputs) g->w_in.noalias() += big_g * u.transpose();
  const bool want_h = blocks.h && p.h.size() > 0;
  if (want_h || blocks.bias) {
    MatrixXd sum_g = MatrixXd::Zero(n, nb);
    for (Index t = 0; t < steps; ++t) sum_g += big_g.middleCols(t * nb, nb);
    if (want_h)
      for (Index j = 0; j < nb; ++j)
        g->h.col(trials[begin + j].condition) += sum_g.col(j);
    if (blocks.bias) g->bias += sum_g.rowwise().sum();
  }
}

// Trials per chunk: chunks depend only on the batch, never on the number of
// threads, so per-trial losses have the same bits whatever the thread count.
constexpr Index kChunkTrials = 16;

// 1/2 l2 ||block||^2 and its gradient l2 * block.
template <typename Block>
double L2(double l2, const Block& value, bool want, Block* gradient) {
  if (l2 == 0.0 || value.size() == 0) return 0.0;
  if (want && gradient != nullptr && gradient->size() > 0)
    *gradient += l2 * value;
  return 0.5 * l2 * value.squaredNorm();
}

}  // namespace

// --- Options
// -----------------------------------------------------------------------

bool RnnLossOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (!(poisson_rate_floor > 0.0))
    return fail("poisson_rate_floor must be > 0");
  const double l2s[] = {l2_activity,
                        l2_w,
                        l2_c,
                        l2_w_in,
                        l2_h,
                        l2_bias,
                        l2_x0,
                        l2_readout,
                        l2_offset};
  for (double l2 : l2s)
    if (!(l2 >= 0.0) || !std::isfinite(l2))
      return fail("L2 penalty weights must be finite and >= 0");
  if (num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

bool TrialSmoothingOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (!(weight >= 0.0) || !std::isfinite(weight))
    return fail("smoothing weight must be finite and >= 0");
  if (kind == TrialSmoothing::kGaussianProcess) {
    if (!(length_scale > 0.0)) return fail("length_scale must be > 0");
    if (!(amplitude > 0.0)) return fail("amplitude must be > 0");
    if (!(shape > 0.0)) return fail("shape must be > 0");
    if (!(jitter >= 0.0)) return fail("jitter must be >= 0");
  }
  return true;
}

// --- Smoothness prior
// ------------------------------------------------------------------

TrialSmoothingPenalty::TrialSmoothingPenalty(
    const TrialSmoothingOptions& options,
    Index num_trials,
    const std::vector<int>& epochs)
    : options_(options), num_trials_(num_trials) {
  std::string error;
  if (!options.IsValid(&error)) throw Error("trial smoothing: " + error);
  if (num_trials < 0) throw Error("trial smoothing: negative number of trials");
  if (!epochs.empty() && static_cast<Index>(epochs.size()) != num_trials)
    throw Error("trial smoothing: " + std::to_string(epochs.size()) +
                " epoch labels for " + std::to_string(num_trials) + " trials");
  // Contiguous blocks of equal epoch label.
  Index begin = 0;
  for (Index k = 1; k <= num_trials; ++k) {
    if (k == num_trials || (!epochs.empty() && epochs[k] != epochs[k - 1])) {
      Block block;
      block.begin = begin;
      block.size = k - begin;
      blocks_.push_back(block);
      begin = k;
    }
  }
  if (options.kind != TrialSmoothing::kGaussianProcess) return;
  const double s2 = options.amplitude * options.amplitude;
  const double a = options.shape;
  const double l2 = options.length_scale * options.length_scale;
  for (Block& block : blocks_) {
    MatrixXd kernel(block.size, block.size);
    for (Index i = 0; i < block.size; ++i)
      for (Index j = 0; j < block.size; ++j) {
        const double d = static_cast<double>(i - j);
        kernel(i, j) = s2 * std::pow(1.0 + d * d / (2.0 * a * l2), -a);
      }
    kernel.diagonal().array() += options.jitter * s2;
    const Eigen::LLT<MatrixXd> llt(kernel);
    if (llt.info() != Eigen::Success)
      throw Error(
          "trial smoothing: the rational-quadratic kernel of a block of " +
          std::to_string(block.size) +
          " trials is not positive definite; raise the jitter");
    MatrixXd inverse = llt.solve(MatrixXd::Identity(block.size, block.size));
    block.precision = options.weight * 0.5 * (inverse + inverse.transpose());
  }
}

double TrialSmoothingPenalty::Evaluate(const MatrixXd& c,
                                       MatrixXd* gradient) const {
  if (options_.kind == TrialSmoothing::kNone || options_.weight == 0.0)
    return 0.0;
  if (c.rows() != num_trials_)
    throw Error("trial smoothing: c has " + std::to_string(c.rows()) +
                " rows, the penalty was built for " +
                std::to_string(num_trials_) + " trials");
  if (gradient != nullptr &&
      (gradient->rows() != c.rows() || gradient->cols() != c.cols()))
    throw Error("trial smoothing: gradient shape differs from c");
  double penalty = 0.0;
  const double w = options_.weight;
  for (const Block& block : blocks_) {
    if (options_.kind == TrialSmoothing::kSecondDifference) {
      for (Index r = 0; r < c.cols(); ++r) {
        for (Index k = block.begin + 1; k + 1 < block.begin + block.size; ++k) {
          const double s = c(k + 1, r) - 2.0 * c(k, r) + c(k - 1, r);
          penalty += w * s * s;
          if (gradient != nullptr) {
            (*gradient)(k - 1, r) += 2.0 * w * s;
            (*gradient)(k, r) -= 4.0 * w * s;
            (*gradient)(k + 1, r) += 2.0 * w * s;
          }
        }
      }
    } else {
      const auto c_block = c.middleRows(block.begin, block.size);
      const MatrixXd pc = block.precision * c_block;
      penalty += 0.5 * (c_block.array() * pc.array()).sum();
      if (gradient != nullptr)
        gradient->middleRows(block.begin, block.size) += pc;
    }
  }
  return penalty;
}

// --- Loss
// -----------------------------------------------------------------------------

RnnParameters ZeroGradient(const RnnParameters& p, const RnnBlocks& blocks) {
  RnnParameters g;
  g.kind = p.kind;
  g.nonlinearity = p.nonlinearity;
  g.alpha = p.alpha;
  auto zero = [](bool on, const MatrixXd& like, MatrixXd* out) {
    if (on) out->setZero(like.rows(), like.cols());
  };
  const bool factors = p.kind != WeightKind::kFull;
  zero(blocks.w && !factors, p.w, &g.w);
  zero(blocks.w && factors, p.a, &g.a);
  zero(blocks.w && factors, p.b, &g.b);
  zero(blocks.c && p.kind == WeightKind::kLowTensorRank, p.c, &g.c);
  zero(blocks.w_in, p.w_in, &g.w_in);
  zero(blocks.h, p.h, &g.h);
  if (blocks.bias) g.bias.setZero(p.bias.size());
  zero(blocks.x0, p.x0, &g.x0);
  zero(blocks.readout, p.readout, &g.readout);
  if (blocks.offset) g.offset.setZero(p.offset.size());
  return g;
}

RnnTrialLoss EvaluateTrial(const RnnParameters& parameters,
                           const RnnTrial& trial,
                           const RnnLossOptions& options,
                           const RnnBlocks& blocks,
                           RnnParameters* gradient) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  parameters.Validate();
  ValidateTrial(parameters, trial, 0);
  if (gradient != nullptr) {
    const RnnParameters like = ZeroGradient(parameters, blocks);
    auto same = [](const MatrixXd& x, const MatrixXd& y) {
      return x.rows() == y.rows() && x.cols() == y.cols();
    };
    const RnnParameters& g = *gradient;
    if (!same(g.w, like.w) || !same(g.a, like.a) || !same(g.b, like.b) ||
        !same(g.c, like.c) || !same(g.w_in, like.w_in) || !same(g.h, like.h) ||
        g.bias.size() != like.bias.size() || !same(g.x0, like.x0) ||
        !same(g.readout, like.readout) || g.offset.size() != like.offset.size())
      throw Error(
          "EvaluateTrial: the gradient is not shaped as "
          "ZeroGradient(parameters, "
          "blocks)");
  }
  const internal::RecurrentOperator op(parameters);
  return TrialLoss(parameters, op, trial, options, blocks, gradient);
}

RnnLossSummary EvaluateLoss(const RnnParameters& p,
                            const std::vector<RnnTrial>& trials,
                            const RnnLossOptions& options,
                            const RnnBlocks& blocks,
                            RnnParameters* gradient,
                            const TrialSmoothingPenalty* smoothing) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  p.Validate();
  if (trials.empty()) throw Error("RNN loss: the batch has no trials");
  const bool ltr = p.kind == WeightKind::kLowTensorRank;
  if (ltr && smoothing != nullptr &&
      smoothing->kind() != TrialSmoothing::kNone &&
      smoothing->num_trials() != p.num_trials())
    throw Error("RNN loss: the trial smoothing penalty was built for " +
                std::to_string(smoothing->num_trials()) + " trials, c has " +
                std::to_string(p.num_trials()));

  const internal::RecurrentOperator op(p);
  const Index n_trials = static_cast<Index>(trials.size());
  std::vector<RnnTrialLoss> per_trial(trials.size());
  struct Partial {
    RnnParameters gradient;
    std::string error;
  };
  const bool want = gradient != nullptr;
  // Fixed chunks of about kChunkTrials trials, run together; one contiguous
  // block of chunks per thread, each thread with its own gradient
  // accumulator; the accumulators are summed below in block order.
  const Index n_chunks = (n_trials + kChunkTrials - 1) / kChunkTrials;
  std::vector<Partial> partials = ParallelBlocks(
      n_chunks, options.num_threads, [&](Index begin, Index end) {
        Partial partial;
        try {
          if (want) partial.gradient = ZeroGradient(p, blocks);
          // Trials are validated here, in parallel: the mask check reads
          // every entry, a serial cost per evaluation otherwise.
          for (Index i = n_trials * begin / n_chunks;
               i < n_trials * end / n_chunks;
               ++i)
            ValidateTrial(p, trials[i], i);
          for (Index c = begin; c < end; ++c)
            ChunkLoss(p,
                      op,
                      trials,
                      n_trials * c / n_chunks,
                      n_trials * (c + 1) / n_chunks,
                      options,
                      blocks,
                      want ? &partial.gradient : nullptr,
                      &per_trial);
        } catch (const std::exception& e) {
          partial.error = e.what();
        }
        return partial;
      });
  for (const Partial& partial : partials)
    if (!partial.error.empty()) throw Error("RNN loss: " + partial.error);

  RnnLossSummary summary;
  double data = 0.0;
  double activity = 0.0;
  for (const RnnTrialLoss& t : per_trial) {
    data += t.data;
    activity += t.activity;
    summary.mask_sum += t.mask_sum;
  }
  if (!(summary.mask_sum > 0.0))
    throw Error("RNN loss: the mask of the batch has no observed entries");
  const double inv_m = 1.0 / summary.mask_sum;
  summary.data = data * inv_m;
  summary.activity = options.l2_activity * activity * inv_m;

  if (want) {
    *gradient = ZeroGradient(p, blocks);
    for (const Partial& partial : partials) AddInto(partial.gradient, gradient);
    ScaleBy(inv_m, gradient);
  }
  RnnParameters* g = gradient;
  double l2 = 0.0;
  const bool factors = p.kind != WeightKind::kFull;
  l2 +=
      L2(options.l2_w, p.w, want && blocks.w && !factors, g ? &g->w : nullptr);
  l2 += L2(options.l2_w, p.a, want && blocks.w && factors, g ? &g->a : nullptr);
  l2 += L2(options.l2_w, p.b, want && blocks.w && factors, g ? &g->b : nullptr);
  if (ltr) l2 += L2(options.l2_c, p.c, want && blocks.c, g ? &g->c : nullptr);
  l2 +=
      L2(options.l2_w_in, p.w_in, want && blocks.w_in, g ? &g->w_in : nullptr);
  l2 += L2(options.l2_h, p.h, want && blocks.h, g ? &g->h : nullptr);
  l2 +=
      L2(options.l2_bias, p.bias, want && blocks.bias, g ? &g->bias : nullptr);
  l2 += L2(options.l2_x0, p.x0, want && blocks.x0, g ? &g->x0 : nullptr);
  l2 += L2(options.l2_readout,
           p.readout,
           want && blocks.readout,
           g ? &g->readout : nullptr);
  l2 += L2(options.l2_offset,
           p.offset,
           want && blocks.offset,
           g ? &g->offset : nullptr);
  summary.l2 = l2;
  if (ltr && smoothing != nullptr) {
    summary.smoothing =
        smoothing->Evaluate(p.c, want && blocks.c ? &gradient->c : nullptr);
  }
  summary.total =
      summary.data + summary.activity + summary.l2 + summary.smoothing;
  return summary;
}

// --- Flat-vector objective
// ------------------------------------------------------------

RnnObjective::RnnObjective(RnnParameters parameters,
                           RnnBlocks blocks,
                           RnnLossOptions options,
                           const std::vector<RnnTrial>* trials,
                           const TrialSmoothingPenalty* smoothing)
    : parameters_(std::move(parameters)),
      blocks_(blocks),
      options_(options),
      trials_(trials),
      smoothing_(smoothing) {
  std::string error;
  if (!options_.IsValid(&error)) throw Error(error);
  parameters_.Validate();
  num_parameters_ = NumPackedParameters(parameters_, blocks_);
}

VectorXd RnnObjective::InitialPoint() const {
  return PackParameters(parameters_, blocks_);
}

RnnParameters RnnObjective::Parameters(const double* x) const {
  RnnParameters p = parameters_;
  UnpackParameters(x, blocks_, &p);
  return p;
}

bool RnnObjective::Evaluate(const double* x,
                            double* cost,
                            double* gradient,
                            RnnLossSummary* summary) const {
  if (trials_ == nullptr) throw Error("RnnObjective: no trials set");
  const RnnParameters p = Parameters(x);
  RnnParameters g;
  const RnnLossSummary s = EvaluateLoss(
      p, *trials_, options_, blocks_, gradient ? &g : nullptr, smoothing_);
  if (summary != nullptr) *summary = s;
  *cost = s.total;
  bool finite = std::isfinite(s.total);
  if (gradient != nullptr) {
    PackParameters(g, blocks_, gradient);
    for (Index i = 0; i < num_parameters_ && finite; ++i)
      finite = std::isfinite(gradient[i]);
  }
  return finite;
}

}  // namespace ltr
