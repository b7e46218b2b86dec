// Rank bounds on learning checked against a learning trajectory: which
// hypotheses hold, each bound, and the measured value. Propositions 1 and 2
// are this project's own derivations (proofs in docs/theory.md §2), written
// to test the claim of Pellegrino, Cayco-Gajic and Chadwick (NeurIPS 2023)
// that learning gives low-tensor-rank weight trajectories; they are not
// theorems of that paper.
//
//   Prop 1 (fixed subspace): linear RNN, x0 = 0, bias 0, W0 = 0 or with
//     column and row spaces inside S0 = span[W_in(0), W_out(0)], an optimiser
//     whose update is a linear combination of gradients and parameters
//     (GD, SGD, momentum; not Adam). Then rank W_k <= d = dim S0
//     <= N_in + N_out, the stack [W_1 ... W_K] has multilinear rank
//     <= (d, d, min(K, d^2)) and CP rank <= d^2.
//   Prop 2 (one step): linear RNN, x0 = 0, any W0: the first update (a
//     multiple of the gradient) has rank <= min(T N_in, T N_out, N).
//   General: the gradient is a sum over P trials and T bins of rank-one
//     terms, so after K steps of an optimiser linear in gradients
//     rank(W_K - W_0) <= min(N, K P T), whatever the nonlinearity.
#ifndef LTR_BOUNDS_H_
#define LTR_BOUNDS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"
#include "ltr/decompose/rank.h"
#include "ltr/rnn/rnn.h"
#include "ltr/train/train.h"

namespace ltr {

struct Trajectory;  // ltr/formats/trajectory_file.h

// What a bound needs to know about one learning run.
struct LearningRun {
  std::string name;  // case label for tables
  Nonlinearity nonlinearity = Nonlinearity::kTanh;
  Optimizer optimizer = Optimizer::kSgd;
  // weights(k, i, j) = W_k[i, j] of snapshot k (snapshot 0 = W0), as
  // formats.md's /weights.
  Tensor3 weights;
  std::vector<std::int64_t> steps;  // optimiser step of each snapshot
  Matrix w_in;                      // N x N_in at snapshot 0
  Matrix w_out;                     // N x N_out at snapshot 0
  Index horizon = 0;                // T, bins per trial
  Index batch = 0;                  // P, trials per step
  // x0 = 0 and bias = 0, untrained. A trajectory file stores neither, so
  // for a file this is assumed from how ltr train builds its network
  // (zero_state_and_bias_assumed); the sweep's cases set it themselves.
  bool zero_state_and_bias = true;
  bool zero_state_and_bias_assumed = false;
};

struct BoundsOptions {
  // Relative tolerance of every numerical rank (s_i > tolerance * s_1); its
  // thread count is replaced by run's.
  RankOptions rank;
  // W0 counts as inside S0 (x) S0 when ||W0 - P W0 P||_F <= this * ||W0||_F.
  double subspace_tolerance = 1e-8;
  // CP rank estimate of the stack (0 max_rank in cp = up to the size); its
  // thread count is replaced by run's.
  bool estimate_cp_rank = true;
  CpRankOptions cp;
  // Threads of the multilinear and CP rank estimates.
  RunContext run;

  bool IsValid(std::string* error) const;
};

enum class BoundStatus { kHolds, kViolated, kUnknown };

struct BoundRow {
  std::string case_name;
  std::string bound;  // "prop1_rank", "prop1_mode0" ... (BoundNames())
  bool hypotheses_hold = false;
  std::string why_not;  // failed hypotheses, "" when they hold
  double bound_value = 0.0;
  double measured = 0.0;  // NaN when not measurable from the run
  // true: measured is only a lower bound (CP rank beyond the ranks tried).
  bool measured_is_lower_bound = false;
  BoundStatus status = BoundStatus::kUnknown;
};

struct BoundsSummary {
  std::string case_name;
  Index units = 0, inputs = 0, outputs = 0, snapshots = 0;
  std::int64_t optimizer_steps = 0;  // K
  int d = 0;                         // dim S0
  bool linear = false;
  bool w0_in_span = false;
  bool optimizer_linear = false;
  bool zero_state_and_bias = true;  // LearningRun's, as given
  bool zero_state_and_bias_assumed = false;
  double w0_outside_fraction = 0.0;  // ||W0 - P W0 P|| / ||W0||
  std::vector<BoundRow> rows;
  double seconds = 0.0;
  int threads = 0;  // threads of the rank estimates (options.run.num_threads)
  // Stopped by options.run.cancellation (polled in the CP fits and between
  // the steps of the estimate): the rows are incomplete.
  bool cancelled = false;
  std::string BriefReport() const;
};

// The bound names, in table order; row column `bound` is an index into it.
std::vector<std::string> BoundNames();

// Measures every bound on the run. Throws ltr::Error on inconsistent shapes.
BoundsSummary EvaluateBounds(const BoundsOptions& options,
                             const LearningRun& run);

// Reads a trajectory written by `ltr train` (formats.md "Learning
// trajectory": /weights, /w_in, /w_out, /step, /config).
LearningRun ReadLearningRun(const std::string& path);
// The same of a trajectory in memory (the Python binding's): `trajectory`
// as ReadTrainTrajectory gives it, with its snapshots in `weights`, named
// `name`. Throws ltr::Error if it has no config, W_in, W_out or steps.
LearningRun ToLearningRun(const Trajectory& trajectory,
                          Tensor3 weights,
                          const std::string& name);

// Tables (formats.md "Bounds and theory"): one row per case and bound with
// columns BoundsTableColumns(); text for the terminal.
std::vector<std::string> BoundsTableColumns();
Matrix BoundsTable(const std::vector<BoundsSummary>& cases);
std::string FormatBounds(const std::vector<BoundsSummary>& cases);
// The table on disk: WriteBounds in ltr/formats/table_file.h.
// One line per case: hypotheses, then measured/bound for each bound; a
// bound whose hypotheses fail is shown in brackets, '!' marks a measured
// value above its bound.
std::string FormatBoundsCompact(const std::vector<BoundsSummary>& cases);

// --- The synthetic sweep (docs/theory.md §2) ---------------------------------

struct BoundsSweepOptions {
  // (N_in, N_out) of the cases.
  std::vector<std::pair<int, int>> dims = {
      {1, 1}, {2, 1}, {2, 3}, {4, 4}, {6, 2}};
  std::vector<Optimizer> optimizers = {Optimizer::kSgd, Optimizer::kAdam};
  std::vector<bool> random_w0 = {false, true};  // W0 = 0 or g J
  std::vector<Nonlinearity> nonlinearities = {Nonlinearity::kIdentity,
                                              Nonlinearity::kTanh};
  int units = 64;    // N
  int horizon = 10;  // T, bins per trial
  int batch = 4;     // P, trials (one fixed batch: full-batch GD)
  int steps = 20;    // K optimiser steps; a snapshot after every step
  double g = 0.9;    // W0 = g J when random
  double alpha = 0.5;
  double sgd_learning_rate = 0.05;
  double adam_learning_rate = 0.01;
  std::uint64_t seed = 0;
  BoundsOptions bounds;  // its run is replaced by this run
  // Threads of the training and of every case's bounds.
  RunContext run;

  bool IsValid(std::string* error) const;
};

// Trains one case by full-batch GD or Adam on a fixed random regression
// task (inputs N(0, 1), targets N(0, 0.25)); W, W_in and W_out trained,
// x0 = 0, bias = 0. Loss and gradient are rnn.h's EvaluateLoss.
LearningRun TrainSweepCase(const BoundsSweepOptions& options,
                           int inputs,
                           int outputs,
                           Optimizer optimizer,
                           bool random_w0,
                           Nonlinearity nonlinearity,
                           std::uint64_t seed);

// A cancelled sweep (options.run.cancellation, polled between cases) returns
// the cases so far, the last one marked cancelled.
std::vector<BoundsSummary> RunBoundsSweep(const BoundsSweepOptions& options);

}  // namespace ltr

#endif  // LTR_BOUNDS_H_
