// Analyses of a learning trajectory (Schuessler et al. 2020, docs/theory.md),
// written as formats.md "Analysis of a trajectory": the singular values of dW_k
// = W_k - W_0 over training, the loss of rank-R truncations of the final dW,
// the functional rank, the convergence step, ||dW||_F, the shuffle test, the
// overlap of dW's leading singular vectors with the input and output vectors
// propagated through W0 (docs/theory.md "What dW shares with W0"), and CP fits
// of the stacked update tensor [W_k - W_0].
#ifndef LTR_ANALYZE_H_
#define LTR_ANALYZE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"

namespace ltr {

struct Trajectory;  // ltr/formats/trajectory_file.h

// Overlap of dW's singular vectors with the subspace
//   S_K = span{ W0^k W_in, (W0^T)^k W_out : k = 0 .. K-1 }
// (the input vectors propagated forward and the output vectors propagated
// back through W0; the first K terms of the Neumann series of
// (I - W0)^-1 W_in and (I - W0)^-T W_out lie in it). For the leading
// singular pairs (s_r, u_r, v_r) of dW: left[r] = ||P u_r||^2,
// right[r] = ||P v_r||^2 with P the orthogonal projector on S_K (1 = inside,
// dim S_K / N = chance for a random vector). `overlap` is the
// s_r^2-weighted mean of (left + right) / 2; the *_shuffled fields are the
// same with S_K built from a permuted W0 (the control).
struct IoOverlap {
  int depth = 0;         // K
  int subspace_dim = 0;  // dim S_K (numerical rank of its spanning vectors)
  int shuffled_subspace_dim = 0;
  std::vector<double> left, right;
  std::vector<double> left_shuffled, right_shuffled;
  double overlap = 0.0;
  double overlap_shuffled = 0.0;
};

// w0: N x N (W[i, j] from unit j to unit i); w_in: N x N_in; w_out: N x
// N_out (the readout transposed); dw: N x N. Throws ltr::Error on
// mismatched shapes or depth < 1.
IoOverlap InputOutputOverlap(const Matrix& w0,
                             const Matrix& w0_shuffled,
                             const Matrix& w_in,
                             const Matrix& w_out,
                             const Matrix& dw,
                             int depth,
                             int vectors);

struct AnalyzeOptions {
  // Trials of the fixed test batch (drawn from Rng(seed)) on which the
  // truncation and shuffle losses are evaluated.
  int test_batch = 512;
  // Truncation ranks R = 0 .. max_truncation_rank (capped at N).
  int max_truncation_rank = 25;
  // Functional rank: smallest R with L(W_R) < threshold * L(W_{R=0}).
  double functional_rank_threshold = 0.05;
  // Convergence step: first step whose training loss is below
  // threshold * loss(step 0).
  double convergence_threshold = 0.05;
  // S20's protocol: a fresh test batch (continuing the same Rng) for every
  // truncation rank and for the shuffle test, instead of one fixed batch.
  bool fresh_test_batches = false;
  // The propagated input/output subspace S_K (InputOutputOverlap) uses the
  // powers W0^k, k < overlap_depth; the overlaps of the leading
  // overlap_vectors singular vectors of dW are reported.
  int overlap_depth = 3;
  int overlap_vectors = 10;
  // CP of the update tensor [W_k - W_0], k = 1 .. snapshots-1, for ranks
  // 1 .. cp_max_rank (0 skips it), best of cp_restarts ALS fits per rank.
  int cp_max_rank = 5;
  int cp_restarts = 1;
  int cp_max_iterations = 200;
  // Seed of the test batch, the W0 permutation and the CP starts.
  std::uint64_t seed = 12345;
  // Threads of the test losses and the CP fits; run.cancellation is polled
  // between test losses and in the CP fits.
  RunContext run;

  bool IsValid(std::string* error) const;
};

struct TrajectoryAnalysis {
  Matrix singular_values;  // snapshots x N: singular values of W_k - W_0
  std::vector<int> truncation_ranks;    // 0 .. R
  std::vector<double> truncation_loss;  // test loss of W0 + rank-R part
  int functional_rank = -1;   // -1: no R in the range met the criterion
  int convergence_step = -1;  // -1: the loss never fell below the criterion
  double delta_w_norm = 0.0;  // ||W_final - W_0||_F
  double initial_loss = 0.0;  // training loss of step 0
  double final_loss = 0.0;    // training loss of the last step
  double initial_test_loss = 0.0;  // L0: test loss of the initial network
  double test_loss = 0.0;          // test loss of the final network
  double shuffle_loss = 0.0;       // test loss of W0_perm + dW (final W_in/out)
  double shuffle_loss_ratio = 0.0;  // shuffle_loss / initial_test_loss
  // What dW shares with W0: InputOutputOverlap of the final dW with W0 and
  // the columns of both the initial and the final W_in, W_out, and with an
  // independent permutation of W0.
  IoOverlap io_overlap;
  std::vector<int> cp_ranks;
  std::vector<double> cp_relative_error;  // best ||X - M|| / ||X|| per rank
  double seconds = 0.0;
  // Stopped by options.run.cancellation (polled between the test losses
  // and in the CP fits): the fields are incomplete.
  bool cancelled = false;

  std::string BriefReport() const;
};

// Reads the trajectory (its /config, /weights, /w_in, /w_out, /loss) and
// analyses it. Throws ltr::Error on an unreadable or malformed file.
TrajectoryAnalysis AnalyzeTrajectory(const AnalyzeOptions& options,
                                     const std::string& trajectory);
// The same of a trajectory in memory (the Python binding's): `trajectory`
// as ReadTrainTrajectory gives it (its config, w_in, w_out and loss), with
// its snapshots in `weights`. Throws ltr::Error if it has no config or its
// parts disagree in shape.
TrajectoryAnalysis AnalyzeTrajectory(const AnalyzeOptions& options,
                                     const Trajectory& trajectory,
                                     const Tensor3& weights);

// Singular values of W_k - W_0 (rows, descending) for every snapshot k of a
// (snapshots, N, N) stack laid out as the trajectory's /weights; the
// snapshots are shared over run.num_threads (the same bits for any count).
Matrix DeltaWSingularValues(const Tensor3& weights, const RunContext& run);

// The layout on disk: ltr/formats/analysis_file.h.

}  // namespace ltr

#endif  // LTR_ANALYZE_H_
