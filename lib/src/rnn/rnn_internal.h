// Private pieces of the RNN module shared by rnn.cpp (parameters, Simulate)
// and rnn_loss.cpp (loss and backpropagation): the recurrent operator and the
// one forward pass.
#ifndef LTR_SRC_RNN_INTERNAL_H_
#define LTR_SRC_RNN_INTERNAL_H_

#include <Eigen/Core>

#include "ltr/core/random.h"
#include "ltr/rnn/rnn.h"

namespace ltr {
namespace internal {

// W_k and W_k^T applied to a vector, prepared once per batch (for kFull with
// a base, W0 + w is formed once).
class RecurrentOperator {
 public:
  explicit RecurrentOperator(const RnnParameters& parameters);

  // out = W_k phi. For the factor kinds kappa (R) receives b^T phi.
  void Apply(Eigen::Index trial,
             const Eigen::Ref<const Eigen::VectorXd>& phi,
             Eigen::Ref<Eigen::VectorXd> out,
             Eigen::Ref<Eigen::VectorXd> kappa) const;
  // out = W_k^T g. For the factor kinds rho (R) receives a^T g.
  void ApplyTranspose(Eigen::Index trial,
                      const Eigen::Ref<const Eigen::VectorXd>& g,
                      Eigen::Ref<Eigen::VectorXd> out,
                      Eigen::Ref<Eigen::VectorXd> rho) const;

  // Length of kappa / rho: R for the factor kinds, 0 for kFull.
  Eigen::Index factor_rank() const { return factor_rank_; }
  // The dense part of W_k: the whole W for kFull, W0 (or null) for the
  // factor kinds.
  const Eigen::MatrixXd* dense() const { return dense_; }

 private:
  const RnnParameters& p_;
  Eigen::MatrixXd sum_;  // kFull with a base: W0 + w
  // kFull: the whole W (w or sum_); factor kinds: W0 or null.
  const Eigen::MatrixXd* dense_ = nullptr;
  Eigen::Index factor_rank_ = 0;
};

// States of one trial, one column per time bin.
struct ForwardStates {
  Eigen::MatrixXd x;      // N x T
  Eigen::MatrixXd phi;    // N x T, phi(x)
  Eigen::MatrixXd dphi;   // N x T, phi'(x) (only when asked for)
  Eigen::MatrixXd kappa;  // R x T, b^T phi(x[t]) (factor kinds; last col 0)
};

// THE forward pass of the code base: Simulate and the loss both call it.
// inputs: N_in x T (or empty when N_in == 0). Shapes must be valid.
void RunForward(const RnnParameters& parameters,
                const RecurrentOperator& op,
                Eigen::Index trial,
                Eigen::Index condition,
                Eigen::Index num_steps,
                const Eigen::MatrixXd& inputs,
                bool derivatives,
                double noise_sigma,
                Rng* rng,
                ForwardStates* states);

// Throws ltr::Error unless the trial's indices and shapes fit the
// parameters. `what` names the trial in the message.
void ValidateTrialShapes(const RnnParameters& parameters,
                         Eigen::Index trial,
                         Eigen::Index condition,
                         Eigen::Index num_steps,
                         const Eigen::MatrixXd& inputs,
                         const std::string& what);

}  // namespace internal
}  // namespace ltr

#endif  // LTR_SRC_RNN_INTERNAL_H_
