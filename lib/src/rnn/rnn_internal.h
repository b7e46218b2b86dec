// Private pieces of the RNN core: the recurrent operator, THE forward pass
// and THE backward pass (forward_backward.cpp), the block nonlinearities and
// the Poisson term (nonlinearity.cpp). Simulate, the loss of a batch and the
// loss of one trial all run these, so the objective an optimiser minimises
// is computed by the code behind Simulate (and fit's Predict).
//
// Batch layout: the trials of a batch run together. Time bin t of trial j
// (of B) is column t * B + j of an N x (T * B) matrix, T the longest trial,
// so every product with a weight matrix is a matrix-matrix product over the
// batch. A trial shorter than T is padded: its states after its last bin
// are zero and its adjoints there are zero, so the padding changes nothing.
// A single trial is a batch of one (column t is bin t).
#ifndef LTR_SRC_RNN_INTERNAL_H_
#define LTR_SRC_RNN_INTERNAL_H_

#include <Eigen/Core>
#include <string>
#include <vector>

#include "core/kernels.h"
#include "ltr/core/random.h"
#include "ltr/rnn/rnn.h"

namespace ltr {
namespace internal {

// phi of a block of states, and phi' given phi (tanh' = 1 - phi^2). kTanh
// is the one tanh of the code base (also behind the scalar Phi): a
// vectorised rational/exponential form within 2 ulp of std::tanh (see
// nonlinearity.cpp and docs/fit.md).
void PhiBlock(Nonlinearity f,
              const Eigen::Ref<const Eigen::MatrixXd>& x,
              Eigen::Ref<Eigen::MatrixXd> phi);
void PhiDerivativeBlock(Nonlinearity f,
                        const Eigen::Ref<const Eigen::MatrixXd>& x,
                        const Eigen::Ref<const Eigen::MatrixXd>& phi,
                        Eigen::Ref<Eigen::MatrixXd> dphi);

// The Poisson term of one entry with weight m: returns
// m (rate - y log rate), rate = max(softplus(z), floor), and sets *d_output
// = m (1 - y / rate) softplus'(z) (zero through the floor).
double PoissonTerm(
    double m, double z, double y, double floor, double* d_output);

// W_k X and W_k^T X for a block X whose column j belongs to trial j of a
// batch, prepared once per evaluation: for kFull with a base, W0 + w is
// formed once, and the dense part is packed for the run-time kernel
// (core/kernels.h) as W and as W^T.
class RecurrentOperator {
 public:
  explicit RecurrentOperator(const RnnParameters& parameters);

  // out = W_k in (transpose: W_k^T in). For the factor kinds, factor
  // (R x B) receives b^T in (transpose: a^T in); ck (R x B) holds c_k of
  // each column's trial (kLowTensorRank; ignored otherwise).
  void Apply(bool transpose,
             const Eigen::Ref<const Eigen::MatrixXd>& in,
             const Eigen::MatrixXd& ck,
             Eigen::Ref<Eigen::MatrixXd> out,
             Eigen::Ref<Eigen::MatrixXd> factor) const;

  // Rows of the factor blocks: R for the factor kinds, 0 for kFull.
  Eigen::Index factor_rank() const { return factor_rank_; }

  // out = readout in (transpose: readout^T in). A readout of many neurons
  // (a fit's: its products are the evaluation's largest, and Eigen's own
  // are SSE2 in a portable build) runs on the run-time kernel; a task's
  // few outputs stay with Eigen, for which the kernel's panels are too tall.
  void ApplyReadout(bool transpose,
                    const Eigen::Ref<const Eigen::MatrixXd>& in,
                    Eigen::Ref<Eigen::MatrixXd> out) const;
  // out += e phi^T, the readout's gradient, on the kernel ApplyReadout uses.
  void AddReadoutGradient(const Eigen::Ref<const Eigen::MatrixXd>& e,
                          const Eigen::Ref<const Eigen::MatrixXd>& phi,
                          Eigen::MatrixXd* out) const;

 private:
  const RnnParameters& p_;
  Eigen::MatrixXd sum_;  // kFull with a base: W0 + w
  // kFull: the whole W (w or sum_); factor kinds: W0 or null.
  const Eigen::MatrixXd* dense_ = nullptr;
  PackedMatrix packed_;    // *dense_
  PackedMatrix packed_t_;  // *dense_ transposed
  bool readout_on_kernel_ = false;
  PackedMatrix readout_;    // when readout_on_kernel_
  PackedMatrix readout_t_;  // when readout_on_kernel_
  Eigen::Index factor_rank_ = 0;
};

// One trial of a batch: the row of c, the column of x0 and h, its bins and
// its inputs (N_in x bins; may be null or empty when N_in == 0).
struct BatchTrial {
  Eigen::Index trial = 0;
  Eigen::Index condition = 0;
  Eigen::Index bins = 0;
  const Eigen::MatrixXd* inputs = nullptr;
};

// A grow-only buffer viewed as a matrix: repeated evaluations of batches of
// similar sizes reuse the memory (large blocks would otherwise be mapped
// and unmapped at every call). Aligned as Eigen's own matrices, so where a
// vectorised loop starts depends on the shapes only, never on the heap: a
// result's bits do not depend on what was allocated before (tests/formats:
// "fit and simulate agree on a transposed recording" fails otherwise).
class BatchBuffer {
 public:
  Eigen::Map<Eigen::MatrixXd> Resize(Eigen::Index rows, Eigen::Index cols);
  Eigen::Map<Eigen::MatrixXd> view() {
    return Eigen::Map<Eigen::MatrixXd>(data_.data(), rows_, cols_);
  }
  Eigen::Map<const Eigen::MatrixXd> view() const {
    return Eigen::Map<const Eigen::MatrixXd>(data_.data(), rows_, cols_);
  }

 private:
  std::vector<double, Eigen::aligned_allocator<double>> data_;
  Eigen::Index rows_ = 0;
  Eigen::Index cols_ = 0;
};

// Everything the forward pass computes and the backward pass reads, in the
// batch layout (S = T - 1 steps).
struct BatchStates {
  Eigen::Index size = 0;              // B
  Eigen::Index bins = 0;              // T
  std::vector<Eigen::Index> bins_of;  // per trial
  Eigen::MatrixXd ck;                 // R x B: c_k (kLowTensorRank)
  BatchBuffer u;        // N_in x (S B): inputs of steps 0 .. T-2, 0 padded
  BatchBuffer x;        // N x (T B)
  BatchBuffer phi;      // N x (T B)
  BatchBuffer dphi;     // N x (T B), when derivatives were asked for
  BatchBuffer kappa;    // R x (S B): b^T phi (factor kinds)
  BatchBuffer outputs;  // n_out x (T B): readout phi + offset
};

// THE forward pass: runs `trials` from x0 and fills *states (outputs
// included; dphi when derivatives). With noise_sigma > 0 the process noise
// sqrt(alpha) sigma xi is drawn from *rng step by step, within a step trial
// by trial and unit by unit. Shapes must be valid.
void Forward(const RnnParameters& parameters,
             const RecurrentOperator& op,
             const std::vector<BatchTrial>& trials,
             bool derivatives,
             double noise_sigma,
             Rng* rng,
             BatchStates* states);

// Work space of the backward pass (reused like BatchStates).
struct BackwardBuffers {
  BatchBuffer direct, big_g, rho, ck_kappa, ck_rho;
};

// THE backward pass: given e = dS/dy_hat (n_out x (T B), zero in the
// padding) of a forward pass with derivatives, adds the gradient of
// sum_k S_k + l2_activity * activity_k with respect to the selected blocks
// to *gradient (shaped as ZeroGradient).
void Backward(const RnnParameters& parameters,
              const RecurrentOperator& op,
              const std::vector<BatchTrial>& trials,
              const BatchStates& states,
              const Eigen::Ref<const Eigen::MatrixXd>& e,
              double l2_activity,
              const RnnBlocks& blocks,
              BackwardBuffers* buffers,
              RnnParameters* gradient);

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
