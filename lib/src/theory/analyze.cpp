// Analyses of a learning trajectory (Schuessler et al. 2020).
#include "ltr/theory/analyze.h"

#include <Eigen/SVD>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/parallel.h"
#include "ltr/core/error.h"
#include "ltr/decompose/cp.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/formats/io.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/rnn/rnn.h"
#include "ltr/train/tasks.h"
#include "ltr/train/train.h"

namespace ltr {
namespace {

using Eigen::MatrixXd;

// What the analyses read of a learning trajectory.
struct TrajectoryForAnalysis {
  const TrainOptions& config;
  const Tensor3& weights;
  const Tensor3& w_in;
  const Tensor3& w_out;
  const Vector& loss;
};

// A trajectory in memory must hold what ReadTrainTrajectory requires.
void CheckInMemory(const Trajectory& t, const Tensor3& weights) {
  if (!t.config)
    throw Error(
        "analyze: the trajectory has no /config (not written by ltr "
        "train?)");
  const Index snapshots = weights.dim(0), n = weights.dim(1);
  if (snapshots < 1 || weights.dim(2) != n || n != t.config->units)
    throw Error("analyze: the weights are " + DimsToString(weights.dims()) +
                ", expected (snapshots >= 1, N, N) with N = " +
                std::to_string(t.config->units));
  for (const Tensor3* block : {&t.w_in, &t.w_out})
    if (block->dim(0) != snapshots || block->dim(1) != n)
      throw Error("analyze: W_in or W_out is " + DimsToString(block->dims()) +
                  ", expected " + std::to_string(snapshots) + " snapshots of " +
                  std::to_string(n) + " units");
}

// Row-major (N, N) snapshot k viewed column-major is W_k^T.
MatrixXd SnapshotW(const Tensor3& weights, Index k) {
  return weights.Slice(k).transpose();
}

// The network of snapshot k: W0 fixed, W = 0, W_in and W_out of step k.
RnnParameters NetworkAt(const TrajectoryForAnalysis& t, Index k) {
  RnnParameters p = InitialNetwork(t.config);
  const Index n = t.weights.dim(1);
  p.w0 = SnapshotW(t.weights, 0);
  p.w.setZero(n, n);
  p.w_in = t.w_in.Slice(k).transpose();
  p.readout = t.w_out.Slice(k);
  return p;
}

void AnalyzeLoss(const AnalyzeOptions& options,
                 const Vector& loss,
                 TrajectoryAnalysis* a) {
  if (loss.size() == 0) return;
  a->initial_loss = loss(0);
  a->final_loss = loss(loss.size() - 1);
  for (Index s = 0; s < loss.size(); ++s)
    if (loss(s) < options.convergence_threshold * loss(0)) {
      a->convergence_step = static_cast<int>(s);
      return;
    }
}

// W0 with all N^2 entries permuted (the shuffle test and its control).
MatrixXd PermutedEntries(const MatrixXd& w0, Rng* rng) {
  const Index count = w0.size();
  std::vector<Index> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng->engine());
  MatrixXd out(w0.rows(), w0.cols());
  for (Index e = 0; e < count; ++e) out.data()[e] = w0.data()[order[e]];
  return out;
}

// Test losses of the initial network, of W0 + rank-R truncations of dW
// (and the functional rank), of the trained network and of the shuffle
// test: W0 with all N^2 entries permuted, plus dW. With
// fresh_test_batches every truncation and the shuffle get their own batch.
void AnalyzeTestLosses(const AnalyzeOptions& options,
                       const TrajectoryForAnalysis& t,
                       const MatrixXd& dw,
                       TrajectoryAnalysis* a) {
  const Index snapshots = t.weights.dim(0), n = t.weights.dim(1);
  const RnnParameters final_net = NetworkAt(t, snapshots - 1);
  Rng rng(options.seed);
  TaskBatch test = GenerateBatch(t.config.task, options.test_batch, &rng);
  const RnnLossOptions loss_options =
      TaskLossOptions(t.config.task, options.run.num_threads);
  const RnnBlocks none{false, false, false, false, false, false, false, false};
  auto test_loss = [&](const RnnParameters& p) {
    return EvaluateLoss(p, test.trials, loss_options, none, nullptr).total;
  };
  auto next_batch = [&] {
    if (options.fresh_test_batches)
      test = GenerateBatch(t.config.task, options.test_batch, &rng);
  };
  a->initial_test_loss = test_loss(NetworkAt(t, 0));
  RnnParameters trained = final_net;
  trained.w = dw;
  a->test_loss = test_loss(trained);

  // Truncations W0 + sum_{r <= R} s_r u_r v_r^T of dW.
  Eigen::BDCSVD<MatrixXd> svd(dw, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const int max_rank =
      static_cast<int>(std::min<Index>(options.max_truncation_rank, n));
  double l_r0 = 0.0;
  for (int r = 0; r <= max_rank; ++r) {
    if (options.run.cancelled()) return;
    RnnParameters p = final_net;
    if (r > 0)
      p.w = svd.matrixU().leftCols(r) *
            svd.singularValues().head(r).asDiagonal() *
            svd.matrixV().leftCols(r).transpose();
    if (r > 0) next_batch();
    const double l = test_loss(p);
    a->truncation_ranks.push_back(r);
    a->truncation_loss.push_back(l);
    if (r == 0) l_r0 = l;
    if (a->functional_rank < 0 && l < options.functional_rank_threshold * l_r0)
      a->functional_rank = r;
  }

  RnnParameters shuffled = trained;
  next_batch();
  shuffled.w0 = PermutedEntries(final_net.w0, &rng);
  a->shuffle_loss = test_loss(shuffled);
  a->shuffle_loss_ratio =
      a->initial_test_loss > 0.0 ? a->shuffle_loss / a->initial_test_loss : 0.0;
}

// Columns of the first and last snapshots of a (snapshots, N, n) block, as
// N x 2n: trained W_in and W_out move (W_out by about its own norm), and dW
// is learned along the whole path between them.
MatrixXd FirstAndLast(const Tensor3& block) {
  const Index last = block.dim(0) - 1, n = block.dim(2);
  MatrixXd out(block.dim(1), 2 * n);
  out << block.Slice(0).transpose(), block.Slice(last).transpose();
  return out;
}

// The overlap of the final dW with the input and output vectors (initial
// and final) propagated through W0, against an independent permutation of
// W0.
IoOverlap AnalyzeOverlap(const AnalyzeOptions& options,
                         const TrajectoryForAnalysis& t,
                         const MatrixXd& w0,
                         const MatrixXd& dw) {
  Rng rng(options.seed ^ 0x6f7665726c6170ULL);  // not the shuffle test's
  return InputOutputOverlap(w0,
                            PermutedEntries(w0, &rng),
                            FirstAndLast(t.w_in),
                            FirstAndLast(t.w_out),
                            dw,
                            options.overlap_depth,
                            options.overlap_vectors);
}

// CP of the update tensor [W_k - W_0], k >= 1 (row-major like /weights).
void AnalyzeUpdateTensor(const AnalyzeOptions& options,
                         const Tensor3& weights,
                         TrajectoryAnalysis* a) {
  const Index snapshots = weights.dim(0), n = weights.dim(1);
  if (options.cp_max_rank <= 0 || snapshots <= 1 || !(a->delta_w_norm > 0.0))
    return;
  Tensor3 updates(snapshots - 1, n, n);
  for (Index k = 1; k < snapshots; ++k)
    for (Index e = 0; e < n * n; ++e)
      updates.data()[(k - 1) * n * n + e] =
          weights.data()[k * n * n + e] - weights.data()[e];
  EnsembleOptions ensemble;
  ensemble.cp.method = CpMethod::kAls;
  ensemble.cp.max_iterations = options.cp_max_iterations;
  ensemble.cp.seed = options.seed;
  ensemble.run = options.run;
  ensemble.run.progress = nullptr;  // one line per CP fit is too many
  ensemble.min_rank = 1;
  ensemble.max_rank = options.cp_max_rank;
  ensemble.restarts = options.cp_restarts;
  ensemble.compute_corcondia = false;
  const EnsembleSummary fits = RunEnsemble(ensemble, updates);
  for (size_t i = 0; i < fits.ranks.size(); ++i) {
    a->cp_ranks.push_back(fits.ranks[i]);
    a->cp_relative_error.push_back(
        fits.relative_error(static_cast<Index>(i), 0));
  }
}

}  // namespace

bool AnalyzeOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (test_batch < 1) return fail("test_batch must be >= 1");
  if (max_truncation_rank < 0) return fail("max_truncation_rank must be >= 0");
  if (!(functional_rank_threshold > 0.0))
    return fail("functional_rank_threshold must be > 0");
  if (!(convergence_threshold > 0.0))
    return fail("convergence_threshold must be > 0");
  if (overlap_depth < 1) return fail("overlap_depth must be >= 1");
  if (overlap_vectors < 0) return fail("overlap_vectors must be >= 0");
  if (cp_max_rank < 0) return fail("cp_max_rank must be >= 0");
  if (cp_restarts < 1) return fail("cp_restarts must be >= 1");
  if (cp_max_iterations < 1) return fail("cp_max_iterations must be >= 1");
  if (run.num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

std::string TrajectoryAnalysis::BriefReport() const {
  std::ostringstream out;
  out.precision(4);
  out << "analyze: functional rank " << functional_rank << ", convergence step "
      << convergence_step << ", ||dW||_F " << delta_w_norm << ", loss "
      << initial_loss << " -> " << final_loss << ", test loss " << test_loss
      << ", shuffle ratio " << shuffle_loss_ratio << ", io overlap "
      << io_overlap.overlap << " (shuffled W0 " << io_overlap.overlap_shuffled
      << ")";
  if (!cp_ranks.empty()) {
    out << ", CP error";
    for (size_t i = 0; i < cp_ranks.size(); ++i)
      out << " R" << cp_ranks[i] << "=" << cp_relative_error[i];
  }
  out << " (" << seconds << " s)";
  return out.str();
}

Matrix DeltaWSingularValues(const Tensor3& weights, const RunContext& run) {
  const Index snapshots = weights.dim(0);
  Matrix sv(snapshots, weights.dim(1));
  if (snapshots == 0) return sv;
  const MatrixXd w0 = SnapshotW(weights, 0);
  ParallelFor(snapshots, run.num_threads, [&](Index begin, Index end) {
    for (Index k = begin; k < end; ++k) {
      const MatrixXd d = SnapshotW(weights, k) - w0;
      sv.row(k) = Eigen::BDCSVD<MatrixXd>(d).singularValues().transpose();
    }
  });
  return sv;
}

TrajectoryAnalysis AnalyzeTrajectory(const AnalyzeOptions& options,
                                     const std::string& path) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const Trajectory trajectory = ReadTrainTrajectory(path);
  return AnalyzeTrajectory(options, trajectory, trajectory.ReadWeights());
}

TrajectoryAnalysis AnalyzeTrajectory(const AnalyzeOptions& options,
                                     const Trajectory& trajectory,
                                     const Tensor3& weights) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  CheckInMemory(trajectory, weights);
  const TrajectoryForAnalysis t{*trajectory.config,
                                weights,
                                trajectory.w_in,
                                trajectory.w_out,
                                trajectory.loss};
  const MatrixXd w0 = SnapshotW(t.weights, 0);
  const MatrixXd dw = SnapshotW(t.weights, t.weights.dim(0) - 1) - w0;

  TrajectoryAnalysis a;
  a.singular_values = DeltaWSingularValues(t.weights, options.run);
  a.delta_w_norm = dw.norm();
  a.io_overlap = AnalyzeOverlap(options, t, w0, dw);
  AnalyzeLoss(options, t.loss, &a);
  AnalyzeTestLosses(options, t, dw, &a);
  if (!options.run.cancelled()) AnalyzeUpdateTensor(options, t.weights, &a);
  a.cancelled = options.run.cancelled();
  a.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return a;
}

}  // namespace ltr
