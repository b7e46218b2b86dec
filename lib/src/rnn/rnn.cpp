// RNN parameters, packing, trial shapes and Simulate (on the one forward
// pass of forward_backward.cpp).
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

// --- Parameters --------------------------------------------------------------

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

// --- Packing -----------------------------------------------------------------

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

// --- Trials and Simulate -----------------------------------------------------

namespace internal {

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
  internal::BatchStates states;
  internal::Forward(parameters,
                    op,
                    {{trial, condition, num_steps, &inputs}},
                    /*derivatives=*/false,
                    noise_sigma,
                    rng,
                    &states);
  RnnTrajectory out;
  out.states = states.x.view();
  out.outputs = states.outputs.view();
  return out;
}

}  // namespace ltr
