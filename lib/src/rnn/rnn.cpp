// RNN parameters, nonlinearities, packing and the forward pass.
#include "ltr/rnn/rnn.h"

#include <cmath>
#include <sstream>
#include <utility>

#include "ltr/core/error.h"
#include "rnn/rnn_internal.h"

namespace ltr {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

std::string Shape(const MatrixXd& m) {
  std::ostringstream s;
  s << m.rows() << " x " << m.cols();
  return s.str();
}

void RequireShape(const MatrixXd& m,
                  Index rows,
                  Index cols,
                  const std::string& name) {
  if (m.rows() != rows || m.cols() != cols) {
    std::ostringstream s;
    s << "RNN parameters: " << name << " is " << Shape(m) << ", expected "
      << rows << " x " << cols;
    throw Error(s.str());
  }
}

void RequireSize(const VectorXd& v, Index size, const std::string& name) {
  if (v.size() != size) {
    std::ostringstream s;
    s << "RNN parameters: " << name << " has " << v.size()
      << " entries, expected " << size;
    throw Error(s.str());
  }
}

bool HasFactors(WeightKind kind) { return kind != WeightKind::kFull; }

// The blocks selected for packing, in packing order, as (data, size) pairs.
std::vector<std::pair<double*, Index>> SelectedBlocks(RnnParameters& p,
                                                      const RnnBlocks& blocks) {
  std::vector<std::pair<double*, Index>> out;
  auto add = [&out](bool on, double* data, Index size) {
    if (on && size > 0) out.emplace_back(data, size);
  };
  const bool factors = HasFactors(p.kind);
  add(blocks.w && !factors, p.w.data(), p.w.size());
  add(blocks.w && factors, p.a.data(), p.a.size());
  add(blocks.w && factors, p.b.data(), p.b.size());
  add(blocks.c && p.kind == WeightKind::kLowTensorRank, p.c.data(), p.c.size());
  add(blocks.w_in, p.w_in.data(), p.w_in.size());
  add(blocks.h, p.h.data(), p.h.size());
  add(blocks.bias, p.bias.data(), p.bias.size());
  add(blocks.x0, p.x0.data(), p.x0.size());
  add(blocks.readout, p.readout.data(), p.readout.size());
  add(blocks.offset, p.offset.data(), p.offset.size());
  return out;
}

}  // namespace

// --- Names ------------------------------------------------------------------

// --- Nonlinearities
// -----------------------------------------------------------

double Phi(Nonlinearity f, double x) {
  switch (f) {
    case Nonlinearity::kTanh:
      return std::tanh(x);
    case Nonlinearity::kRelu:
      return x > 0.0 ? x : 0.0;
    case Nonlinearity::kSoftplus:
      return x > 0.0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    case Nonlinearity::kIdentity:
      return x;
  }
  return x;
}

double PhiDerivative(Nonlinearity f, double x) {
  switch (f) {
    case Nonlinearity::kTanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
    case Nonlinearity::kRelu:
      return x > 0.0 ? 1.0 : 0.0;
    case Nonlinearity::kSoftplus:
      return x >= 0.0 ? 1.0 / (1.0 + std::exp(-x))
                      : std::exp(x) / (1.0 + std::exp(x));
    case Nonlinearity::kIdentity:
      return 1.0;
  }
  return 1.0;
}

VectorXd Phi(Nonlinearity f, const VectorXd& x) {
  VectorXd out(x.size());
  for (Index i = 0; i < x.size(); ++i) out[i] = Phi(f, x[i]);
  return out;
}

// --- Parameters
// ----------------------------------------------------------------

MatrixXd RnnParameters::RecurrentWeights(Index trial) const {
  const Index n = units();
  MatrixXd w_k = w0.size() > 0 ? w0 : MatrixXd::Zero(n, n);
  switch (kind) {
    case WeightKind::kFull:
      w_k += w;
      break;
    case WeightKind::kLowRank:
      w_k.noalias() += a * b.transpose();
      break;
    case WeightKind::kLowTensorRank:
      if (trial < 0 || trial >= c.rows())
        throw Error("RecurrentWeights: trial " + std::to_string(trial) +
                    " outside the " + std::to_string(c.rows()) + " rows of c");
      w_k.noalias() += a * c.row(trial).asDiagonal() * b.transpose();
      break;
  }
  return w_k;
}

void RnnParameters::Validate() const {
  const Index n = x0.rows();
  if (n < 1 || x0.cols() < 1)
    throw Error("RNN parameters: x0 is " + Shape(x0) +
                ", expected N x n_conditions with N, n_conditions >= 1");
  if (!(alpha > 0.0 && alpha <= 1.0))
    throw Error("RNN parameters: alpha = " + std::to_string(alpha) +
                ", expected 0 < alpha <= 1");
  if (w0.size() > 0) RequireShape(w0, n, n, "w0");
  switch (kind) {
    case WeightKind::kFull:
      RequireShape(w, n, n, "w");
      break;
    case WeightKind::kLowTensorRank:
      if (c.rows() < 1)
        throw Error("RNN parameters: c is " + Shape(c) +
                    ", expected trials x R with at least one trial");
      RequireShape(c, c.rows(), a.cols(), "c");
      [[fallthrough]];
    case WeightKind::kLowRank:
      if (a.cols() < 1)
        throw Error("RNN parameters: a is " + Shape(a) +
                    ", expected N x R with R >= 1");
      RequireShape(a, n, a.cols(), "a");
      RequireShape(b, n, a.cols(), "b");
      break;
  }
  if (w_in.size() > 0 || w_in.rows() > 0)
    RequireShape(w_in, n, w_in.cols(), "w_in");
  if (h.size() > 0) RequireShape(h, n, x0.cols(), "h");
  RequireSize(bias, n, "bias");
  RequireShape(readout, readout.rows(), n, "readout");
  RequireSize(offset, readout.rows(), "offset");
}

RnnParameters ZeroRnnParameters(const RnnShape& s) {
  RnnParameters p;
  p.kind = s.kind;
  p.nonlinearity = s.nonlinearity;
  p.alpha = s.alpha;
  const Index n = s.units;
  if (s.base_weights) p.w0 = MatrixXd::Zero(n, n);
  if (s.kind == WeightKind::kFull) {
    p.w = MatrixXd::Zero(n, n);
  } else {
    p.a = MatrixXd::Zero(n, s.rank);
    p.b = MatrixXd::Zero(n, s.rank);
    if (s.kind == WeightKind::kLowTensorRank)
      p.c = MatrixXd::Zero(s.trials, s.rank);
  }
  p.w_in = MatrixXd::Zero(n, s.inputs);
  if (s.condition_inputs) p.h = MatrixXd::Zero(n, s.conditions);
  p.bias = VectorXd::Zero(n);
  p.x0 = MatrixXd::Zero(n, s.conditions);
  p.readout = MatrixXd::Zero(s.outputs, n);
  p.offset = VectorXd::Zero(s.outputs);
  return p;
}

void NormalizeFactors(RnnParameters* p) {
  if (!HasFactors(p->kind)) return;
  for (Index r = 0; r < p->a.cols(); ++r) {
    const double na = p->a.col(r).norm();
    const double nb = p->b.col(r).norm();
    if (!(na > 0.0) || !(nb > 0.0)) continue;
    if (p->kind == WeightKind::kLowTensorRank) {
      p->a.col(r) /= na;
      p->b.col(r) /= nb;
      p->c.col(r) *= na * nb;
    } else {
      const double s = std::sqrt(na * nb);
      p->a.col(r) *= s / na;
      p->b.col(r) *= s / nb;
    }
  }
}

// --- Packing
// ----------------------------------------------------------------------

Index NumPackedParameters(const RnnParameters& parameters,
                          const RnnBlocks& blocks) {
  Index n = 0;
  for (const auto& block :
       SelectedBlocks(const_cast<RnnParameters&>(parameters), blocks))
    n += block.second;
  return n;
}

void PackParameters(const RnnParameters& parameters,
                    const RnnBlocks& blocks,
                    double* x) {
  for (const auto& block :
       SelectedBlocks(const_cast<RnnParameters&>(parameters), blocks)) {
    std::copy(block.first, block.first + block.second, x);
    x += block.second;
  }
}

VectorXd PackParameters(const RnnParameters& parameters,
                        const RnnBlocks& blocks) {
  VectorXd x(NumPackedParameters(parameters, blocks));
  PackParameters(parameters, blocks, x.data());
  return x;
}

void UnpackParameters(const double* x,
                      const RnnBlocks& blocks,
                      RnnParameters* parameters) {
  for (const auto& block : SelectedBlocks(*parameters, blocks)) {
    std::copy(x, x + block.second, block.first);
    x += block.second;
  }
}

// --- Forward pass
// -------------------------------------------------------------------

namespace internal {

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
}

void RecurrentOperator::Apply(Index trial,
                              const Eigen::Ref<const VectorXd>& phi,
                              Eigen::Ref<VectorXd> out,
                              Eigen::Ref<VectorXd> kappa) const {
  if (dense_ != nullptr) {
    out.noalias() = *dense_ * phi;
  } else {
    out.setZero();
  }
  if (factor_rank_ == 0) return;
  kappa.noalias() = p_.b.transpose() * phi;
  if (p_.kind == WeightKind::kLowTensorRank) {
    out.noalias() +=
        p_.a * (p_.c.row(trial).transpose().array() * kappa.array()).matrix();
  } else {
    out.noalias() += p_.a * kappa;
  }
}

void RecurrentOperator::ApplyTranspose(Index trial,
                                       const Eigen::Ref<const VectorXd>& g,
                                       Eigen::Ref<VectorXd> out,
                                       Eigen::Ref<VectorXd> rho) const {
  if (dense_ != nullptr) {
    out.noalias() = dense_->transpose() * g;
  } else {
    out.setZero();
  }
  if (factor_rank_ == 0) return;
  rho.noalias() = p_.a.transpose() * g;
  if (p_.kind == WeightKind::kLowTensorRank) {
    out.noalias() +=
        p_.b * (p_.c.row(trial).transpose().array() * rho.array()).matrix();
  } else {
    out.noalias() += p_.b * rho;
  }
}

void RunForward(const RnnParameters& p,
                const RecurrentOperator& op,
                Index trial,
                Index condition,
                Index num_steps,
                const MatrixXd& inputs,
                bool derivatives,
                double noise_sigma,
                Rng* rng,
                ForwardStates* s) {
  const Index n = p.units();
  const Index t_max = num_steps;
  const double alpha = p.alpha;
  const double noise_scale = std::sqrt(alpha) * noise_sigma;
  const bool has_inputs = p.num_inputs() > 0;
  const Nonlinearity f = p.nonlinearity;

  s->x.resize(n, t_max);
  s->phi.resize(n, t_max);
  if (derivatives) s->dphi.resize(n, t_max);
  s->kappa.setZero(op.factor_rank(), t_max);

  // Constant drive of the trial: bias + h[:, condition].
  VectorXd constant = p.bias;
  if (p.h.size() > 0) constant += p.h.col(condition);
  VectorXd drive(n);

  s->x.col(0) = p.x0.col(condition);
  for (Index t = 0; t < t_max; ++t) {
    for (Index i = 0; i < n; ++i) {
      const double x = s->x(i, t);
      const double y = Phi(f, x);
      s->phi(i, t) = y;
      if (derivatives) {
        // tanh' from tanh itself saves a second tanh per unit and step.
        s->dphi(i, t) =
            f == Nonlinearity::kTanh ? 1.0 - y * y : PhiDerivative(f, x);
      }
    }
    if (t + 1 == t_max) break;
    op.Apply(trial, s->phi.col(t), drive, s->kappa.col(t));
    if (has_inputs) drive.noalias() += p.w_in * inputs.col(t);
    drive += constant;
    s->x.col(t + 1) = (1.0 - alpha) * s->x.col(t) + alpha * drive;
    if (noise_scale != 0.0) {
      for (Index i = 0; i < n; ++i)
        s->x(i, t + 1) += noise_scale * rng->Normal();
    }
  }
}

void ValidateTrialShapes(const RnnParameters& p,
                         Index trial,
                         Index condition,
                         Index num_steps,
                         const MatrixXd& inputs,
                         const std::string& what) {
  if (condition < 0 || condition >= p.num_conditions())
    throw Error(what + ": condition " + std::to_string(condition) +
                " outside [0, " + std::to_string(p.num_conditions()) + ")");
  if (p.kind == WeightKind::kLowTensorRank &&
      (trial < 0 || trial >= p.num_trials()))
    throw Error(what + ": trial index " + std::to_string(trial) +
                " outside the " + std::to_string(p.num_trials()) +
                " rows of the trial factors c");
  if (num_steps < 1)
    throw Error(what + ": " + std::to_string(num_steps) +
                " time bins, expected at least 1");
  const Index n_in = p.num_inputs();
  const bool empty_ok = n_in == 0 && inputs.size() == 0;
  if (!empty_ok && (inputs.rows() != n_in || inputs.cols() != num_steps))
    throw Error(what + ": inputs are " + Shape(inputs) + ", expected " +
                std::to_string(n_in) + " x " + std::to_string(num_steps) +
                " (inputs x time bins)");
}

}  // namespace internal

RnnTrajectory Simulate(const RnnParameters& parameters,
                       Index trial,
                       Index condition,
                       Index num_steps,
                       const MatrixXd& inputs,
                       double noise_sigma,
                       Rng* rng) {
  parameters.Validate();
  internal::ValidateTrialShapes(
      parameters, trial, condition, num_steps, inputs, "Simulate");
  if (noise_sigma < 0.0) throw Error("Simulate: noise_sigma must be >= 0");
  if (noise_sigma > 0.0 && rng == nullptr)
    throw Error("Simulate: noise_sigma > 0 needs a random number generator");
  const internal::RecurrentOperator op(parameters);
  internal::ForwardStates states;
  internal::RunForward(parameters,
                       op,
                       trial,
                       condition,
                       num_steps,
                       inputs,
                       /*derivatives=*/false,
                       noise_sigma,
                       rng,
                       &states);
  RnnTrajectory out;
  out.outputs = parameters.readout * states.phi;
  out.outputs.colwise() += parameters.offset;
  out.states = std::move(states.x);
  return out;
}

}  // namespace ltr
