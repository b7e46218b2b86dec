// The rate RNN shared by fitting recordings, task training and theory: its
// parameters, the one forward pass (Simulate and the loss run the same
// batched code), the loss of a batch of trials with its exact gradient by
// hand-written backpropagation through time, smoothness priors on trial
// factors, and the flat-vector view of the trainable parameters that
// optimisers use.
//
// Model (Euler discretisation of tau dx/dt = -x + W phi(x) + input):
//
//   x[0]   = x0[:, condition]
//   x[t+1] = (1 - alpha) x[t]
//            + alpha (W_k phi(x[t]) + W_in u[t] + h[:, condition] + bias)
//            + sqrt(alpha) sigma xi[t]            (sigma > 0 only in Simulate)
//   y_hat[t] = readout phi(x[t]) + offset
//
// for t = 0 .. T-1. A trial has T time bins; bin t is explained by the state
// x[t], so x[0] (the learned initial state of the trial's condition) explains
// bin 0 and the state is stepped T - 1 times. Input column u[t] drives the
// step from t to t + 1; the last input column u[T-1] is therefore never used
// (inputs have the same number of bins as the targets, as in a recording).
//
// Recurrent weights of trial k, by WeightKind (W0 is an optional fixed base):
//   kFull:          W_k = W0 + w
//   kLowRank:       W_k = W0 + a b^T                          (a, b: N x R)
//   kLowTensorRank: W_k = W0 + sum_r c(k, r) a_r b_r^T        (c: K x R)
// The columns of a and b are free parameters during optimisation (their
// scale is not identifiable against c); NormalizeFactors() moves them to the
// reported convention (unit-norm a_r, b_r; see there) without changing W_k.
//
// Time series are stored one column per time bin: inputs are N_in x T,
// targets and mask are outputs x T, states are N x T. This is the layout of
// Tensor3::Slice(trial) of a (trial, time, neuron) recording.
#ifndef LTR_RNN_H_
#define LTR_RNN_H_

#include <Eigen/Core>
#include <functional>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/random.h"

namespace ltr {

// phi and phi' elementwise, the same functions as in the forward pass.
// softplus(x) = log(1 + e^x) (computed stably; also the Poisson rate),
// softplus' = logistic; relu'(0) = 0; tanh is a vectorised form within 2 ulp
// of std::tanh (docs/fit.md).
double Phi(Nonlinearity f, double x);
double PhiDerivative(Nonlinearity f, double x);
Eigen::VectorXd Phi(Nonlinearity f, const Eigen::VectorXd& x);

// All parameters of the model. Also used to hold a gradient, with the same
// shapes (blocks that were not asked for are then empty).
struct RnnParameters {
  WeightKind kind = WeightKind::kFull;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
  double alpha = 0.5;  // dt / tau, in (0, 1]; never trained

  Eigen::MatrixXd w0;       // N x N fixed base (never trained); empty = none
  Eigen::MatrixXd w;        // N x N (kFull only; empty otherwise)
  Eigen::MatrixXd a;        // N x R column factors (kLowRank, kLowTensorRank)
  Eigen::MatrixXd b;        // N x R row factors (kLowRank, kLowTensorRank)
  Eigen::MatrixXd c;        // K x R trial factors (kLowTensorRank only)
  Eigen::MatrixXd w_in;     // N x N_in input weights (N x 0 or empty: none)
  Eigen::MatrixXd h;        // N x n_conditions learned inputs; empty = none
  Eigen::VectorXd bias;     // N
  Eigen::MatrixXd x0;       // N x n_conditions initial states
  Eigen::MatrixXd readout;  // n_outputs x N (C; W_out^T in task training)
  Eigen::VectorXd offset;   // n_outputs (d)

  Eigen::Index units() const { return x0.rows(); }
  Eigen::Index rank() const { return a.cols(); }
  Eigen::Index num_trials() const { return c.rows(); }  // kLowTensorRank
  Eigen::Index num_inputs() const { return w_in.cols(); }
  Eigen::Index num_conditions() const { return x0.cols(); }
  Eigen::Index num_outputs() const { return readout.rows(); }

  // The full N x N recurrent matrix W_k of trial k (k ignored unless
  // kLowTensorRank), W0 included.
  Eigen::MatrixXd RecurrentWeights(Eigen::Index trial = 0) const;

  // Throws ltr::Error naming the first block whose shape is inconsistent,
  // or when alpha is outside (0, 1]. Values are not checked: non-finite
  // parameters give a non-finite loss (numerical trouble, not bad input).
  void Validate() const;
};

// Zero parameters of the given sizes (x0, bias, offset zero; empty h unless
// condition_inputs; empty w0 unless base_weights, which then is zero too).
struct RnnShape {
  WeightKind kind = WeightKind::kFull;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
  double alpha = 0.5;
  Eigen::Index units = 0;         // N
  Eigen::Index rank = 0;          // R (kLowRank, kLowTensorRank)
  Eigen::Index trials = 0;        // K (kLowTensorRank)
  Eigen::Index inputs = 0;        // N_in
  Eigen::Index conditions = 1;    // columns of x0 (and h)
  Eigen::Index outputs = 0;       // rows of readout
  bool base_weights = false;      // allocate w0
  bool condition_inputs = false;  // allocate h
};
RnnParameters ZeroRnnParameters(const RnnShape& shape);

// Rescales factors to the reported convention without changing any W_k:
// kLowTensorRank: a_r, b_r unit norm, norms moved into c(:, r);
// kLowRank: ||a_r|| = ||b_r|| (balanced). A zero column is left alone.
void NormalizeFactors(RnnParameters* parameters);

// Which parameter blocks are trained (and get a gradient). `w` stands for the
// trained part of the recurrent weights: w (kFull) or a and b (kLowRank,
// kLowTensorRank). `c` applies to kLowTensorRank only. Empty blocks (an h
// that is not used, a w_in with no inputs) contribute nothing.
struct RnnBlocks {
  bool w = true;
  bool c = true;
  bool w_in = false;
  bool h = false;
  bool bias = false;
  bool x0 = false;
  bool readout = false;
  bool offset = false;

  static RnnBlocks All() {
    return {true, true, true, true, true, true, true, true};
  }
};

// Flat vector of the trainable blocks, each column-major, in the order
// w | a | b | c | w_in | h | bias | x0 | readout | offset (skipping blocks that
// are not trainable or do not exist for the kind).
Eigen::Index NumPackedParameters(const RnnParameters& parameters,
                                 const RnnBlocks& blocks);
void PackParameters(const RnnParameters& parameters,
                    const RnnBlocks& blocks,
                    double* x);
Eigen::VectorXd PackParameters(const RnnParameters& parameters,
                               const RnnBlocks& blocks);
// Overwrites the trainable blocks of *parameters (which gives the shapes and
// the values of the frozen blocks) from x.
void UnpackParameters(const double* x,
                      const RnnBlocks& blocks,
                      RnnParameters* parameters);

// One trial of data. `trial` selects the row of c (kLowTensorRank; ignored
// otherwise), `condition` the column of x0 and h.
struct RnnTrial {
  Eigen::Index trial = 0;
  Eigen::Index condition = 0;
  Eigen::MatrixXd inputs;   // N_in x T (may be empty when N_in == 0)
  Eigen::MatrixXd targets;  // n_outputs x T
  Eigen::MatrixXd mask;     // n_outputs x T weights >= 0; empty = all 1

  Eigen::Index num_steps() const { return targets.cols(); }
};

// --- Forward pass -----------------------------------------------------------

struct RnnTrajectory {
  Eigen::MatrixXd states;   // N x T: x[0] .. x[T-1]
  Eigen::MatrixXd outputs;  // n_outputs x T: y_hat[t] = readout phi(x[t]) + d
};

// Runs trial `trial` of condition `condition` for T = num_steps bins (T - 1
// steps). inputs is N_in x T (or empty when N_in == 0). With noise_sigma > 0
// the process noise sqrt(alpha) sigma xi[t], xi ~ N(0, I), is drawn from *rng
// (required then) in time order, one unit after the other.
RnnTrajectory Simulate(const RnnParameters& parameters,
                       Eigen::Index trial,
                       Eigen::Index condition,
                       Eigen::Index num_steps,
                       const Eigen::MatrixXd& inputs,
                       double noise_sigma = 0.0,
                       Rng* rng = nullptr);

// --- Smoothness priors on trial factors
// ----------------------------------------

struct TrialSmoothingOptions {
  TrialSmoothing kind = TrialSmoothing::kNone;
  // kSecondDifference: the penalty is
  //   weight * sum_r sum_k (c[k+1,r] - 2 c[k,r] + c[k-1,r])^2
  // over all k whose three trials lie in the same epoch block.
  // kGaussianProcess: the penalty is weight * 1/2 sum_r c_r^T K^-1 c_r
  // (the negative log prior up to a constant) with the rational-quadratic
  // kernel K(k, l) = amplitude^2 (1 + d^2 / (2 shape length^2))^(-shape),
  // d = k - l, plus jitter * amplitude^2 on the diagonal; K is
  // block-diagonal over epoch blocks (no coupling across a break).
  double weight = 1.0;
  double length_scale = 15.0;  // trials
  double amplitude = 1.0;      // prior standard deviation of c(k, r)
  double shape = 1.0;          // rational-quadratic a (> 0)
  double jitter = 1e-6;        // relative to amplitude^2

  bool IsValid(std::string* error) const;
};

// Holds the precomputed block inverses; cheap to evaluate many times.
class TrialSmoothingPenalty {
 public:
  TrialSmoothingPenalty() = default;  // no penalty
  // epochs: one label per trial (empty = one block); a break separates
  // consecutive trials whose labels differ. Throws ltr::Error on invalid
  // options, a wrong number of labels, or a kernel that is not positive
  // definite (raise the jitter).
  TrialSmoothingPenalty(const TrialSmoothingOptions& options,
                        Eigen::Index num_trials,
                        const std::vector<int>& epochs = {});

  // Penalty of c (K x R); adds its gradient to *gradient (K x R) if given.
  double Evaluate(const Eigen::MatrixXd& c, Eigen::MatrixXd* gradient) const;

  TrialSmoothing kind() const { return options_.kind; }
  Eigen::Index num_trials() const { return num_trials_; }

 private:
  struct Block {
    Eigen::Index begin = 0;
    Eigen::Index size = 0;
    Eigen::MatrixXd precision;  // weight * K_block^-1 (kGaussianProcess)
  };
  TrialSmoothingOptions options_;
  Eigen::Index num_trials_ = 0;
  std::vector<Block> blocks_;
};

// --- Loss and gradient ------------------------------------------------------

// A custom data term for one trial, replacing `loss` when set: given the
// trial and its outputs y_hat (n_outputs x T), returns S_k, sets *mask_sum
// (the trial's share of the normaliser M) and, when output_gradient is not
// null, writes dS_k/dy_hat into it (pre-sized n_outputs x T, zero). The one
// backward pass then carries that output gradient through the network. Used
// for a plant between the outputs and the targets (the reach task's point
// mass) or an output nonlinearity. Called concurrently for different trials.
using RnnOutputLoss = std::function<double(const RnnTrial& trial,
                                           const Eigen::MatrixXd& outputs,
                                           Eigen::MatrixXd* output_gradient,
                                           double* mask_sum)>;

struct RnnLossOptions {
  RnnLoss loss = RnnLoss::kMse;
  // When set, replaces `loss` (and the mask handling) for the data term.
  RnnOutputLoss output_loss;
  // The data term of a batch is D = sum_k S_k / M, M = sum of all mask
  // entries of the batch, with
  //   kMse:     S_k = 1/2 sum_t,i mask (y_hat - y)^2
  //   kPoisson: S_k = sum_t,i mask (rate - y log rate),
  //             rate = max(softplus(y_hat), poisson_rate_floor)
  //             (the gradient through the floor is zero).
  double poisson_rate_floor = 1e-9;
  // Activity penalty A = l2_activity * 1/2 sum_k sum_t ||phi(x[t])||^2 / M
  // (same normaliser as the data term).
  double l2_activity = 0.0;
  // Parameter penalties, each l2 * 1/2 ||block||_F^2, not normalised:
  double l2_w = 0.0;  // on w (kFull) or on a and b
  double l2_c = 0.0;
  double l2_w_in = 0.0;
  double l2_h = 0.0;
  double l2_bias = 0.0;
  double l2_x0 = 0.0;
  double l2_readout = 0.0;
  double l2_offset = 0.0;
  // Threads over trials (the library's pool). The result is bit-identical for a
  // given number of threads; different counts agree to rounding.
  int num_threads = 1;

  bool IsValid(std::string* error) const;
};

// Unnormalised contribution of one trial.
struct RnnTrialLoss {
  double data = 0.0;      // S_k
  double activity = 0.0;  // 1/2 sum_t ||phi(x[t])||^2 (before l2_activity)
  double mask_sum = 0.0;  // sum of the trial's mask
};

// Loss of one trial by a forward pass that stores the states, and, when
// gradient != nullptr, the exact gradient of
//   S_k + l2_activity * activity
// with respect to the blocks selected by `blocks`, by backpropagation
// through time, ADDED to *gradient (which must come from ZeroGradient with
// the same blocks; ltr::Error otherwise). No normalisation and no parameter
// penalties here.
RnnTrialLoss EvaluateTrial(const RnnParameters& parameters,
                           const RnnTrial& trial,
                           const RnnLossOptions& options,
                           const RnnBlocks& blocks,
                           RnnParameters* gradient);

// A gradient container: parameters' kind and scalars, the selected blocks
// zero with their shapes, the other blocks empty.
RnnParameters ZeroGradient(const RnnParameters& parameters,
                           const RnnBlocks& blocks);

struct RnnLossSummary {
  double total = 0.0;      // data + activity + l2 + smoothing
  double data = 0.0;       // D
  double activity = 0.0;   // A
  double l2 = 0.0;         // sum of the parameter penalties
  double smoothing = 0.0;  // trial-factor smoothness penalty
  double mask_sum = 0.0;   // M
};

// Total loss of a batch and, when gradient != nullptr, its gradient with
// respect to the selected blocks (*gradient is overwritten, shaped as
// ZeroGradient). Trials are processed in parallel with per-thread
// accumulators summed in thread order; per-trial losses are summed in trial
// order. smoothing (may be null) applies to c of kLowTensorRank. Throws
// ltr::Error on inconsistent shapes or a batch whose mask sums to zero.
RnnLossSummary EvaluateLoss(const RnnParameters& parameters,
                            const std::vector<RnnTrial>& trials,
                            const RnnLossOptions& options,
                            const RnnBlocks& blocks,
                            RnnParameters* gradient,
                            const TrialSmoothingPenalty* smoothing = nullptr);

// The loss as a function of the flat vector of trainable parameters: what a
// Ceres FirstOrderFunction or an Adam loop evaluates. Holds non-owning
// pointers to the trials and the smoothing penalty (both must outlive it;
// set_trials swaps the batch, e.g. a fresh batch per training step).
class RnnObjective {
 public:
  RnnObjective(RnnParameters parameters,
               RnnBlocks blocks,
               RnnLossOptions options,
               const std::vector<RnnTrial>* trials,
               const TrialSmoothingPenalty* smoothing = nullptr);

  Eigen::Index NumParameters() const { return num_parameters_; }
  // The packed starting point (the trainable blocks of the parameters given
  // to the constructor).
  Eigen::VectorXd InitialPoint() const;
  // Loss at x and (if gradient != nullptr) its gradient, NumParameters()
  // long. Returns false when the loss or gradient is not finite.
  bool Evaluate(const double* x,
                double* cost,
                double* gradient,
                RnnLossSummary* summary = nullptr) const;
  // The full parameters at x (frozen blocks as given to the constructor).
  RnnParameters Parameters(const double* x) const;

  void set_trials(const std::vector<RnnTrial>* trials) { trials_ = trials; }
  const RnnBlocks& blocks() const { return blocks_; }
  const RnnLossOptions& options() const { return options_; }

 private:
  RnnParameters parameters_;
  RnnBlocks blocks_;
  RnnLossOptions options_;
  const std::vector<RnnTrial>* trials_;
  const TrialSmoothingPenalty* smoothing_;
  Eigen::Index num_parameters_ = 0;
};

}  // namespace ltr

#endif  // LTR_RNN_H_
