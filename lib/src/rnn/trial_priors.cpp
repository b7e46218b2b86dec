// Smoothness priors on the trial factors c of a low-tensor-rank RNN: a
// second-difference penalty or a rational-quadratic Gaussian-process prior,
// block-diagonal over epoch blocks (rnn.h: TrialSmoothingOptions).
#include <Eigen/Cholesky>
#include <cmath>
#include <string>
#include <vector>

#include "ltr/core/error.h"
#include "ltr/rnn/rnn.h"

namespace ltr {

using Eigen::Index;
using Eigen::MatrixXd;

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

// --- Smoothness prior ----------------------------------------------------

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
}  // namespace ltr
