// Fitting rate RNNs (full, low-rank, low-tensor-rank) to trial x time x
// neuron recordings, with held-out cross-validation and rank sweeps.
//
// The model is rnn.h's: x[t+1] = (1 - alpha) x[t] + alpha (W_k phi(x[t]) +
// W_in u[t] + h[:, condition] + bias), y_hat[t] = C phi(x[t]) + d, with W_k
// full, low-rank or low-tensor-rank (optionally on a fixed random W0). The
// loss is rnn.h's masked MSE or Poisson NLL on the training entries plus L2
// penalties and a smoothness prior on the trial factors; it is minimised by
// Ceres' GradientProblemSolver (L-BFGS), or by full-batch Adam, with rnn.h's
// exact gradient, threaded over trials.
//
// An orthonormal readout is kept exactly orthonormal by optimising on the
// Stiefel manifold (a Ceres Manifold over the flat parameter vector whose
// readout block retracts by QR; see docs/fit.md), not by re-orthonormalising
// after steps, which would break L-BFGS's curvature pairs.
#ifndef LTR_FIT_H_
#define LTR_FIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/run_context.h"
#include "ltr/decompose/crossval.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"
#include "ltr/rnn/rnn.h"

namespace ltr {

struct FitIteration {
  int iteration = 0;
  double loss = 0;       // training objective (data + penalties)
  double test_loss = 0;  // held-out data term (NaN without held-out data)
  double seconds = 0;    // since the start of the fit
};

// How far a fit got before it was stopped (what its checkpoint records):
// a resumed fit continues these counts and this history.
struct FitProgress {
  int iterations = 0;
  double seconds = 0;
  double initial_loss = 0;
  std::vector<FitIteration> history;  // seconds may be NaN (not recorded)
};

struct FitOptions {
  // --- Model ---------------------------------------------------------------
  WeightKind kind = WeightKind::kLowTensorRank;
  // R of lowrank and ltr (1 <= rank <= units); ignored for full.
  int rank = 3;
  // N, the number of model units; 0 = the number of neurons. Must equal the
  // number of neurons with an identity readout.
  int units = 0;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
  double alpha = 0.5;  // dt / tau of the Euler step, in (0, 1]
  ReadoutKind readout = ReadoutKind::kFree;
  // Drive the model with the recording's /inputs through learned W_in (when
  // the recording has inputs).
  bool external_inputs = true;
  // Learn a constant input h[:, c] per condition c.
  bool condition_inputs = false;
  // Number of conditions (columns of x0 and h); 0 = 1 + the largest label.
  // Labels must be below it.
  int conditions = 0;
  // Fixed random base W0 = base_gain * J, J_ij ~ N(0, 1/N); 0 = no base.
  double base_gain = 0.0;
  // A given fixed base W0 (units x units), e.g. a full fit of the baseline
  // trials, so the structured part models the change from it. Non-empty
  // overrides base_gain.
  Eigen::MatrixXd base_weights;
  // How the fit starts (when no initial_parameters are given):
  //  kData:   data-driven (docs/fit.md "Initialisation"): the activity is
  //           mapped to estimated unit states (identity readout: phi^-1 of
  //           the activity; otherwise its principal components scaled into
  //           phi's range), the dynamics are fitted to them by one-step-ahead
  //           ridge least squares (full W), or the truncated SVD of that W
  //           refined by alternating least squares over a, b, c (low-rank,
  //           ltr), and x0 is the mean estimated first state per condition.
  //  kRandom: small random weights, c = 1, random x0 and readout.
  //  kAuto:   kData with an identity readout, kRandom otherwise (measured:
  //           through a learned readout the principal components mix the
  //           units, the one-step regression explains little and the fit
  //           from it ends worse than from a random start; docs/fit.md).
  FitInitialization initialization = FitInitialization::kAuto;
  double init_ridge = 1e-3;      // relative ridge of the least squares
  int init_als_iterations = 50;  // alternating least-squares sweeps (max)
  // Identity readout: rounds of re-estimating the entries the fit may not
  // use (held-out, guard) from the current one-step model (max).
  int init_em_iterations = 30;
  // tanh: activity is clipped to +-this before atanh. atanh amplifies
  // noise near +-1, so noisy data need a margin (measured on the teacher
  // tests: 0.999 halves the start's held-out R2); noise-free simulated
  // recordings are inverted best with little clipping (0.999).
  double init_tanh_saturation = 0.98;
  // Standard deviation of the random initial x0 entries (kRandom).
  double init_x0_scale = 0.1;
  // Warm start (e.g. a checkpoint, or another fit): when set, the fit starts
  // from these parameters instead of a random draw. They must have the shape
  // the options and the recording imply (kind, rank, units, inputs,
  // conditions, neurons, trials for ltr); a base w0 in them is kept.
  std::optional<RnnParameters> initial_parameters;
  // Continuing a stopped fit (ReadFitCheckpoint in ltr/formats/fit_file.h
  // sets it with initial_parameters): its iterations count toward
  // max_iterations, and the summary (and every checkpoint) continues its
  // history, iteration count, seconds and initial loss.
  std::optional<FitProgress> resume;

  // --- Loss ----------------------------------------------------------------
  // Data term (mse | poisson), L2 penalties and poisson floor, as rnn.h
  // documents them. loss.num_threads is overridden by run.num_threads.
  RnnLossOptions loss;
  // Smoothness prior on the trial factors c (ltr only).
  TrialSmoothingOptions smoothing;
  // Cut the smoothing prior at changes of the recording's /epoch label.
  bool smoothing_breaks_at_epochs = true;

  // --- Held-out data -------------------------------------------------------
  HoldOutOptions hold_out;

  // --- Solver --------------------------------------------------------------
  FitOptimizer optimizer = FitOptimizer::kLbfgs;
  int max_iterations = 2000;  // L-BFGS or Adam iterations
  // L-BFGS (Ceres' convergence tests): |cost change| < function_tolerance *
  // cost, projected gradient max-norm < gradient_tolerance, |step| <
  // parameter_tolerance * (|x| + parameter_tolerance). Adam stops only on
  // max_iterations, max_seconds, early stopping or a cancellation.
  double function_tolerance = 1e-9;
  double gradient_tolerance = 1e-10;
  double parameter_tolerance = 1e-10;
  double max_seconds = 1e9;  // wall-clock limit of one fit
  // Converged over a window (both optimisers): stop with termination
  // "converged" when the training objective fell by less than
  // window_tolerance * |objective| over the last convergence_window
  // iterations (0 = off). L-BFGS on noise-free data, or on a loss that
  // keeps creeping down, rarely meets Ceres' per-iteration tests, whose
  // single-iteration changes are noisy; the window measures the tail.
  int convergence_window = 0;
  double window_tolerance = 1e-4;
  int lbfgs_rank = 20;  // L-BFGS memory
  // Scale L-BFGS's initial inverse Hessian by s^T y / y^T y of the latest
  // step (Nocedal & Wright 2006, eq. 7.20; Ceres'
  // use_approximate_eigenvalue_bfgs_scaling). Off, Ceres starts every
  // two-loop recursion from the identity, so the direction has the
  // gradient's scale and the line search must find the step length anew
  // each iteration.
  bool lbfgs_scaling = false;
  // L-BFGS, ltr with a smoothing prior: optimise the trial factors in
  // coordinates u with c = (I + S / d)^(-1/2) u, S the prior's Hessian over
  // trials and d the data term's curvature per trial factor (measured at
  // the start), so that the stiff prior does not dictate the step along the
  // smooth directions the data determine (docs/fit.md).
  bool precondition_trial_factors = false;
  // L-BFGS, free readout, mse: optimise the readout and offset [C d] in
  // coordinates R with [C d] = R (G / g)^(-1/2), G the latents' Gram matrix
  // over the training entries plus the readout penalties (the objective's
  // Hessian in each row of [C d]) and g its mean eigenvalue, so that L-BFGS
  // does not crawl along the latents' weak directions. G is recomputed, and
  // L-BFGS restarted, every precondition_every iterations (docs/fit.md).
  bool precondition_readout = false;
  int precondition_every = 200;
  // Adam (Kingma & Ba 2015, bias-corrected moments; with an orthonormal
  // readout the step is taken along the Riemannian gradient and retracted).
  double learning_rate = 1e-3;
  // The rate falls to learning_rate * learning_rate_decay at max_iterations
  // along a half cosine (1 = constant, as Pellegrino et al. 2023; lower
  // values let Adam settle instead of hovering at the initial rate's noise).
  double learning_rate_decay = 1.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  // Early stopping: stop when the held-out loss has not improved for
  // `patience` iterations and return the parameters of its best iteration.
  // 0 = no early stopping (the held-out loss is then still tracked).
  int patience = 0;
  // Report one progress line (iteration, loss, held-out loss, elapsed
  // seconds) through run.Report every this many iterations; 0 = none.
  int progress_every = 0;
  // Every checkpoint_every iterations (0 = never), and when the run is
  // cancelled, write the current model with /fit attributes so far and
  // these options (formats/fit_file.h WriteFitCheckpoint) to
  // checkpoint_path (atomically: the file is either the previous checkpoint
  // or the new one). `command` and `source` are recorded in it, so that a
  // resume reads the same recording.
  int checkpoint_every = 0;
  std::string checkpoint_path;
  std::string command;
  RecordingSource source;

  std::uint64_t seed = 0;  // initialisation (the hold-out has its own seed)
  // Threads over trials in every loss evaluation, cancellation (polled
  // once per iteration: the fit stops with termination "interrupted" and
  // its current parameters), progress lines; a sweep's communicator.
  RunContext run;

  bool IsValid(std::string* error) const;
};

struct FitSummary {
  FittedModel model;  // the fitted parameters (factors normalised)

  // Why the fit stopped: "converged" (Ceres' function tolerance: relative
  // cost change below it, or gradient tolerance; or the window test of
  // convergence_window), "stalled" (steps below the
  // parameter tolerance, or a line search that finds no decrease: progress
  // stopped, not necessarily at a minimum), "no_convergence" (iteration or
  // time limit), "early_stopped" (held-out patience), "diverged" (the loss
  // or its gradient stopped being finite; the parameters are the last
  // finite ones), "interrupted" (run.cancellation).
  std::string termination;
  std::string message;    // Ceres' message, or ours
  std::string optimizer;  // "lbfgs" or "adam"
  bool diverged = false;
  int iterations = 0;
  int best_iteration = 0;  // iteration whose parameters are returned
  int evaluations = 0;     // loss-and-gradient evaluations (this run)
  double seconds = 0;
  double initial_loss = 0;
  // How the fit started: "data", "random" or "given" (initial_parameters);
  // for "data", the R^2 of its one-step regression and its seconds.
  std::string initialization;
  double init_one_step_r2 = 0;
  double init_seconds = 0;
  // Data term on training / held-out entries (rnn.h's D with the train or
  // test mask), at the returned parameters. test_loss is NaN when nothing
  // is held out.
  double train_loss = 0;
  double test_loss = 0;
  double objective = 0;  // training objective incl. penalties
  PredictionMetrics train_metrics;
  PredictionMetrics test_metrics;  // count 0 and NaNs without held-out data
  // The data term on the training entries of the null model, which predicts
  // each neuron's mean training value (the rate, for poisson).
  double null_train_loss = 0;
  std::vector<FitIteration> history;
  // The split the fit used (the recording's shape); written to /heldout so
  // that another fit can be scored on the same entries.
  HoldOutMasks masks;

  std::string BriefReport() const;
  // Why the fit must not be trusted, "" when it can: it diverged, or its
  // training data term is not below the null model's (by at least
  // kNullLossMargin of it: the fit learned nothing the neurons' means do
  // not give). One line.
  std::string Failure() const;
};

// Relative margin by which a fit's training data term must beat the null
// model's (FitSummary::Failure).
constexpr double kNullLossMargin = 1e-4;

// Likely mistakes in fitting `recording` with `options`, one line each
// (the tool prints them as warnings): integer counts fitted with the mse
// loss; no /condition and no /inputs (every trial starts from one state
// with no drive); neurons whose observed range exceeds 2 through tanh with
// an identity readout under the mse loss (tanh(x) + d spans less than 2:
// z-scored data?; not for counts, whose noise alone spans more).
// Throws ltr::Error on data FitRnn would refuse.
std::vector<std::string> FitWarnings(const FitOptions& options,
                                     const Recording& recording);

// Fits one model. Throws ltr::Error on invalid options or data (shapes that
// disagree, condition labels out of range, non-finite observed activity, a
// rank larger than the units, an identity readout with units != neurons).
// Numerical trouble is reported in the summary, not thrown.
FitSummary FitRnn(const FitOptions& options, const Recording& recording);

struct RankSweepOptions {
  // Everything but rank and seed; fit.run is the sweep's: its fits are
  // shared over run.communicator (distributed::RunTasks), each reports a
  // line "rank R seed S: TERMINATION, held-out loss L (I iterations, E
  // evaluations, T s)" when progress_every
  // > 0, and a cancellation stops the sweep (its table is then incomplete).
  FitOptions fit;
  std::vector<int> ranks;  // ranks to try
  int seeds = 1;           // fits per rank, initialised from fit.seed + s
  // Rank rule: with L(r) the lowest held-out loss over the seeds of rank r
  // (a fit stuck in a poor local minimum says nothing about the rank) and
  // r* the rank of the lowest L, choose the smallest rank with
  //   L(r) <= L(r*) + max(SE(r*), relative_tolerance * |L(r*)|),
  // SE(r*) the standard error of r*'s held-out losses over seeds (a
  // one-standard-error rule with a relative floor for a single seed).
  double relative_tolerance = 0.01;
  // Warm start over ranks: per seed, ranks in increasing order, each from
  // the previous rank's fit (scales balanced for the penalties) plus new
  // components as large as its smallest, constant over trials, the first
  // along the top singular pair of -dL/dW (small or random ones die: under
  // L2, zero is a local minimum of a trilinear term). The lowest rank starts
  // as `fit` says; the fits of one seed run in sequence (the seeds are
  // shared over the communicator). The chain ends with a downward pass: a
  // rank that fits the held-out data worse than the rank above (beyond
  // relative_tolerance) is refitted from that rank's fit without its
  // weakest component, kept where its training objective is lower.
  // docs/fit.md "Warm starts over ranks".
  bool warm_start = false;

  bool IsValid(std::string* error) const;
};

struct RankSweepSummary {
  std::vector<int> ranks;
  // (ranks x seeds): rows follow `ranks`, columns the seeds.
  Eigen::MatrixXd train_loss;
  Eigen::MatrixXd test_loss;
  Eigen::MatrixXd test_r2;
  int chosen_rank = 0;
  FitSummary best;  // the chosen rank's fit with the lowest held-out loss
  double seconds = 0;

  // The table prints, per rank, the fit the rank rule uses: the seed with
  // the lowest held-out loss.
  std::string BriefReport() const;
  // best.Failure(), or a fit of the table whose loss is not finite.
  std::string Failure() const;
};

// Needs held-out data (hold_out.scheme != kNone). All fits share one split.
// The writers and readers of fits and sweeps are in ltr/formats/fit_file.h.
RankSweepSummary SweepRanks(const RankSweepOptions& options,
                            const Recording& recording);

// The closed-form readout for given latents: the readout C and offset d
// that minimise the mse data term of `trials` (each neuron weighted by its
// mask) plus loss.l2_readout / 2 ||C||^2 and loss.l2_offset / 2 ||d||^2,
// for the latents phi(x) of `parameters` (one ridge least-squares solve per
// neuron, neurons with identical masks sharing the normal matrix; the
// minimum-norm solution where that matrix is not positive definite).
// Returns `parameters` with readout and offset replaced. Threads over
// trials and neurons by loss.num_threads. Throws ltr::Error for a loss
// other than mse, no trials, targets or masks of another shape, or masks
// that are all zero. With a teacher's parameters it gives the reference of
// what a fit through a free readout can reach on a split (bench_fit;
// docs/benchmarks.md). FitRnn does not use it: solving the readout during a
// fit was measured to end it worse (docs/fit.md "Limits").
RnnParameters SolveReadout(const RnnParameters& parameters,
                           const std::vector<RnnTrial>& trials,
                           const RnnLossOptions& loss);

// The model's predicted means for every entry of the recording's shape
// (rates, softplus of the output, for a poisson model).
Tensor3 Predict(const FittedModel& model,
                const Recording& recording,
                int num_threads = 1);

}  // namespace ltr

#endif  // LTR_FIT_H_
