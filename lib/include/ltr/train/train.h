// Training rate RNNs on tasks (docs/train.md) and recording the
// learning trajectory: optimisers SGD, momentum and Adam on fresh batches,
// S20's initialisation (S20: Schuessler et al., NeurIPS 2020), streaming
// snapshots with checkpoints (an interrupted run resumes bit for bit), P23's
// protocol (P23: Pellegrino et al., NeurIPS 2023) on the reach task.
//
// The network is rnn.h's kFull model viewed as in S20: W = W0 + dW with
// W0 = g J fixed (J_ij ~ N(0, 1/N)) and dW (RnnParameters::w) trained from
// 0; readout = W_out^T; x0 = 0, bias = 0. Loss and gradient come from
// rnn.h's EvaluateLoss (MSE, or the task's output loss from tasks.h).
//
// Randomness: the initial network is drawn from Rng(seed); the batch of
// step s from Rng(StepSeed(seed, s)), so the random state at any step is a
// function of (seed, step) and a resumed run draws exactly what an
// uninterrupted one would.
#ifndef LTR_TRAIN_H_
#define LTR_TRAIN_H_

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/run_context.h"
#include "ltr/rnn/rnn.h"
#include "ltr/train/tasks.h"

namespace ltr {

struct TrainOptions {
  TaskOptions task;
  int units = 256;  // N
  // W0 = g J, J_ij ~ N(0, 1/N).
  double g = 0.9;
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
  // alpha = dt / tau of the network; the task's bins use task.dt (keep
  // them equal, as S20 does: 0.5).
  double alpha = 0.5;

  Optimizer optimizer = Optimizer::kAdam;
  // Step size eta; 0 means S20's default 0.05 / N.
  double learning_rate = 0.0;
  // kMomentum: v = momentum v + grad; x -= eta v.
  double momentum = 0.9;
  // kAdam (PyTorch defaults): m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
  // x -= eta m_hat / (sqrt(v_hat) + epsilon) with bias-corrected moments.
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;

  int steps = 1000;  // optimiser steps, one fresh batch each
  int batch = 32;    // trials per batch
  // A snapshot (and a checkpoint) every record_every steps, at step 0 and
  // after the last step.
  int record_every = 5;
  // Which blocks are trained: W_in, W (= dW), W_out.
  bool train_w_in = true;
  bool train_w = true;
  bool train_w_out = true;

  std::uint64_t seed = 0;
  // run.num_threads: threads over the trials of a batch; results are
  // bit-identical for a given count (stored in the trajectory and reused on
  // resume). run.cancellation is polled before every step: a cancelled run
  // stops there as stop_after_steps does (resumable from its last
  // snapshot). run.progress gets a line per snapshot ("step 40 of 1000:
  // loss 0.0123").
  RunContext run;

  // Testing aid: stop after this many steps in total as an interrupted run
  // would (the trajectory is left without complete = 1); 0 = never.
  int stop_after_steps = 0;

  // eta actually used (learning_rate, or 0.05 / N when 0).
  double EffectiveLearningRate() const;
  bool IsValid(std::string* error) const;
};

// "in,rec,out" (any non-empty subset, comma separated) to the train_* flags.
// Throws ltr::Error on an unknown or empty entry.
void ParseTrainedBlocks(const std::string& list, TrainOptions* options);
std::string TrainedBlocksName(const TrainOptions& options);

// The seed of the batch of step `step`.
std::uint64_t StepSeed(std::uint64_t seed, std::int64_t step);

// S20's initial network for the task: w0 = g J, w = 0, input columns of norm
// sqrt(N), readout rows (= W_out columns) of norm 1/sqrt(N), x0 = 0, b = 0.
RnnParameters InitialNetwork(const TrainOptions& options);
// The blocks trained (w, w_in, readout as chosen; nothing else).
RnnBlocks TrainedBlocks(const TrainOptions& options);
// Loss options of the task: MSE or the task's output loss, with threads
// (a TrainOptions' run.num_threads).
RnnLossOptions TaskLossOptions(const TaskOptions& task, int num_threads);

// Everything needed to continue a run: the optimiser steps done, the packed
// trainable parameters (rnn.h's PackParameters order) and the optimiser's
// moments (Adam m, v; momentum's velocity in moment1).
struct TrainState {
  std::int64_t step = 0;
  Eigen::VectorXd x;
  Eigen::VectorXd moment1;
  Eigen::VectorXd moment2;
};

// Receives the run as it goes. Snapshot is called at step 0 (with no
// losses) and every record_every steps and after the last step, with the
// losses and gradient norms of the steps since the previous call.
class TrainSink {
 public:
  virtual ~TrainSink() = default;
  virtual void Snapshot(const RnnParameters& parameters,
                        const TrainState& state,
                        const std::vector<double>& loss,
                        const std::vector<double>& grad_norm) = 0;
};

struct TrainSummary {
  std::vector<double> loss;       // training loss of every step of this run
  std::vector<double> grad_norm;  // norm of the packed gradient per step
  std::int64_t first_step = 0;    // step of loss[0] (> 0 after a resume)
  std::int64_t steps_done = 0;    // optimiser steps taken in total
  std::int64_t snapshots = 0;     // snapshots written in this run
  bool complete = false;          // all options.steps steps were taken
  bool cancelled = false;         // stopped by options.run.cancellation
  // false: stopped at a non-finite loss or gradient, or a loss 1e10 times
  // the run's first (diverged); the parameters kept are the last finite.
  bool finite = true;
  double seconds = 0.0;
  std::string message;

  std::string BriefReport() const;
};

// Trains from the initial network (or from *resume). *final_parameters, if
// given, receives the parameters at the end. Throws ltr::Error on invalid
// options; numerical trouble is reported in the summary.
TrainSummary Train(const TrainOptions& options,
                   TrainSink* sink,
                   const TrainState* resume = nullptr,
                   RnnParameters* final_parameters = nullptr);

// --- Trajectory files (formats.md "Learning trajectory") -----------------

// Trains and streams the trajectory (ltr/formats/trajectory_file.h) to
// io::PartialPath(path), renamed to `path` when the run ends (complete, or
// stopped by a non-finite loss); a run stopped early (cancelled, or
// stop_after_steps) stays in the partial file, resumable: /config holds the
// options, /checkpoint (rewritten at every snapshot) the state, and each
// snapshot ends with a flush. The root attribute `complete` is 0 while
// running and 1 at the end.
TrainSummary TrainToFile(const TrainOptions& options,
                         const std::string& path,
                         const std::string& command);

// Continues an interrupted TrainToFile run in its partial file (named by the
// final `path`), and renames it to `path` at the end: reads the options from
// /config and the state from /checkpoint (ReadTrainCheckpoint), drops any
// rows written after the checkpoint, and continues; the file then equals
// that of an uninterrupted run. steps > 0 overrides the stored number of
// steps (to extend a run). `run` gives the cancellation and progress; its
// thread count is replaced by the recorded one (the same bits). Throws
// ltr::Error if there is no partial file, or it has no checkpoint.
TrainSummary ResumeTrainToFile(const std::string& path,
                               const std::string& command,
                               int steps = 0,
                               const RunContext& run = RunContext());

// --- P23's learning-over-trials protocol -------------------------------

struct AdaptationOptions {
  // Pre-training on the reach task without the curl force (options of the
  // TrainOptions given alongside: optimiser, steps, batch...).
  int baseline_trials = 50;     // epoch 0: no force, no learning
  int adaptation_trials = 100;  // epoch 1: curl force, SGD after each trial
  int washout_trials = 100;     // epoch 2: no force, SGD after each trial
  double curl = 0.5;            // k of the curl force during adaptation
  double learning_rate = 0.01;  // SGD step size of trial-by-trial learning
  // Gradients longer than this are scaled down to it (0 = no clipping).
  // The reach plant is a double integrator: without clipping, one large
  // error (the first curl or washout trial) can make SGD diverge.
  double clip_norm = 1.0;
  // Learn only W during the protocol (W_in and W_out stay as pre-trained),
  // so that all of the learning shows in the weight trajectory.
  bool recurrent_only = false;

  bool IsValid(std::string* error) const;
};

struct AdaptationSummary {
  TrainSummary pretraining;
  std::vector<double> trial_loss;  // loss of every protocol trial
  bool cancelled = false;          // stopped by options.run.cancellation
  // false: stopped at a non-finite loss or gradient (pre-training's or a
  // protocol trial's); message says where.
  bool finite = true;
  std::string message;
  double seconds = 0.0;
  std::string BriefReport() const;
};

// Pre-trains on options.task (which must be kReach), then runs the
// protocol, writing to `path` a trajectory with one snapshot per trial
// (snapshot k = the weights used in trial k, /step = k; /loss and
// /grad_norm per trial) that is also a recording: /activity (trials, time,
// units) = phi(x), /inputs, /condition, /epoch (0, 1, 2), root attribute
// dt. Streamed like TrainToFile (flushed after every trial; `complete` = 1
// at the end; renamed from its partial name when complete); not resumable.
// options.run: the threads and cancellation of pre-training (polled again
// before every trial); progress gets a line per epoch.
AdaptationSummary RunAdaptationToFile(const TrainOptions& options,
                                      const AdaptationOptions& adaptation,
                                      const std::string& path,
                                      const std::string& command);

}  // namespace ltr

#endif  // LTR_TRAIN_H_
