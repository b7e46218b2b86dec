// Analyses of a learning trajectory (S20's rank analyses).
#include "ltr/theory/analyze.h"

#include <Eigen/SVD>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>

#include "ltr/decompose/cp.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/core/error.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/rnn/rnn.h"
#include "ltr/train/tasks.h"
#include "ltr/train/train.h"

namespace ltr {

using Eigen::MatrixXd;

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
  if (cp_max_rank < 0) return fail("cp_max_rank must be >= 0");
  if (cp_restarts < 1) return fail("cp_restarts must be >= 1");
  if (cp_max_iterations < 1) return fail("cp_max_iterations must be >= 1");
  if (num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

std::string TrajectoryAnalysis::BriefReport() const {
  std::ostringstream out;
  out.precision(4);
  out << "analyze: functional rank " << functional_rank << ", convergence step "
      << convergence_step << ", ||dW||_F " << delta_w_norm << ", loss "
      << initial_loss << " -> " << final_loss << ", test loss " << test_loss
      << ", shuffle ratio " << shuffle_loss_ratio << ", W0 alignment "
      << w0_alignment;
  if (!cp_ranks.empty()) {
    out << ", CP error";
    for (size_t i = 0; i < cp_ranks.size(); ++i)
      out << " R" << cp_ranks[i] << "=" << cp_relative_error[i];
  }
  out << " (" << seconds << " s)";
  return out.str();
}

TrajectoryAnalysis AnalyzeTrajectory(const AnalyzeOptions& options,
                                     const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const Trajectory trajectory = ReadTrainTrajectory(path);
  const TrainOptions& config = *trajectory.config;
  const Tensor3 weights = trajectory.ReadWeights();
  const Tensor3& w_in = trajectory.w_in;
  const Tensor3& w_out = trajectory.w_out;
  const Vector& loss = trajectory.loss;
  const Index snapshots = trajectory.snapshots();
  const Index n = trajectory.units();

  // Row-major (N, N) snapshot k viewed column-major is W_k^T.
  auto w_at = [&](Index k) -> MatrixXd { return weights.Slice(k).transpose(); };
  const MatrixXd w0 = w_at(0);
  const MatrixXd w_final = w_at(snapshots - 1);
  const MatrixXd dw = w_final - w0;

  TrajectoryAnalysis a;
  a.singular_values.resize(snapshots, n);
  for (Index k = 0; k < snapshots; ++k) {
    const MatrixXd d = w_at(k) - w0;
    Eigen::BDCSVD<MatrixXd> svd(d);
    a.singular_values.row(k) = svd.singularValues().transpose();
  }
  a.delta_w_norm = dw.norm();
  const double w0_norm = w0.norm();
  a.w0_alignment = a.delta_w_norm > 0.0 && w0_norm > 0.0
                       ? std::fabs((dw.array() * w0.array()).sum()) /
                             (a.delta_w_norm * w0_norm)
                       : 0.0;

  if (loss.size() > 0) {
    a.initial_loss = loss(0);
    a.final_loss = loss(loss.size() - 1);
    for (Index s = 0; s < loss.size(); ++s)
      if (loss(s) < options.convergence_threshold * loss(0)) {
        a.convergence_step = static_cast<int>(s);
        break;
      }
  }

  // The network at the end (and at the start) of training.
  RnnParameters final_net = InitialNetwork(config);
  RnnParameters initial_net = final_net;
  final_net.w0 = w0;
  final_net.w.setZero(n, n);
  final_net.w_in = w_in.Slice(snapshots - 1).transpose();
  final_net.readout = w_out.Slice(snapshots - 1);
  initial_net.w0 = w0;
  initial_net.w.setZero(n, n);
  initial_net.w_in = w_in.Slice(0).transpose();
  initial_net.readout = w_out.Slice(0);

  Rng rng(options.seed);
  const TaskBatch test = GenerateBatch(config.task, options.test_batch, &rng);
  const RnnLossOptions loss_options =
      TaskLossOptions(config.task, options.num_threads);
  const RnnBlocks none{false, false, false, false, false, false, false, false};
  auto test_loss = [&](const RnnParameters& p) {
    return EvaluateLoss(p, test.trials, loss_options, none, nullptr).total;
  };
  a.initial_test_loss = test_loss(initial_net);

  // Truncations W0 + sum_{r <= R} s_r u_r v_r^T of dW.
  Eigen::BDCSVD<MatrixXd> svd(dw, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const int max_rank =
      static_cast<int>(std::min<Index>(options.max_truncation_rank, n));
  double l_r0 = 0.0;
  for (int r = 0; r <= max_rank; ++r) {
    RnnParameters p = final_net;
    if (r > 0)
      p.w = svd.matrixU().leftCols(r) *
            svd.singularValues().head(r).asDiagonal() *
            svd.matrixV().leftCols(r).transpose();
    const double l = test_loss(p);
    a.truncation_ranks.push_back(r);
    a.truncation_loss.push_back(l);
    if (r == 0) l_r0 = l;
    if (a.functional_rank < 0 && l < options.functional_rank_threshold * l_r0)
      a.functional_rank = r;
  }

  // Trained network, and W0 with all N^2 entries permuted plus dW.
  RnnParameters trained = final_net;
  trained.w = dw;
  a.test_loss = test_loss(trained);
  RnnParameters shuffled = trained;
  std::vector<Index> order(static_cast<size_t>(n * n));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng.engine());
  for (Index e = 0; e < n * n; ++e) shuffled.w0.data()[e] = w0.data()[order[e]];
  a.shuffle_loss = test_loss(shuffled);
  a.shuffle_loss_ratio =
      a.initial_test_loss > 0.0 ? a.shuffle_loss / a.initial_test_loss : 0.0;

  // CP of the update tensor [W_k - W_0], k >= 1 (row-major like /weights).
  if (options.cp_max_rank > 0 && snapshots > 1 && a.delta_w_norm > 0.0) {
    Tensor3 updates(snapshots - 1, n, n);
    for (Index k = 1; k < snapshots; ++k)
      for (Index e = 0; e < n * n; ++e)
        updates.data()[(k - 1) * n * n + e] =
            weights.data()[k * n * n + e] - weights.data()[e];
    EnsembleOptions ensemble;
    ensemble.cp.method = CpMethod::kAls;
    ensemble.cp.max_iterations = options.cp_max_iterations;
    ensemble.cp.seed = options.seed;
    ensemble.run.num_threads = options.num_threads;
    ensemble.min_rank = 1;
    ensemble.max_rank = options.cp_max_rank;
    ensemble.restarts = options.cp_restarts;
    ensemble.compute_corcondia = false;
    const EnsembleSummary fits = RunEnsemble(ensemble, updates);
    for (size_t i = 0; i < fits.ranks.size(); ++i) {
      a.cp_ranks.push_back(fits.ranks[i]);
      a.cp_relative_error.push_back(
          fits.relative_error(static_cast<Index>(i), 0));
    }
  }
  a.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return a;
}

void WriteAnalysis(const TrajectoryAnalysis& a, io::OutputFile* out) {
  out->WriteMatrix(
      "/delta_w/singular_values", a.singular_values, "snapshot,index");
  std::vector<std::int64_t> ranks(a.truncation_ranks.begin(),
                                  a.truncation_ranks.end());
  out->WriteIntVector("/truncation/ranks", ranks, "rank");
  out->WriteVector(
      "/truncation/loss",
      Eigen::Map<const Vector>(a.truncation_loss.data(),
                               static_cast<Index>(a.truncation_loss.size())),
      "rank");
  out->SetAttribute("/", "functional_rank", a.functional_rank);
  out->SetAttribute("/", "convergence_step", a.convergence_step);
  out->SetAttribute("/", "delta_w_norm", a.delta_w_norm);
  out->SetAttribute("/", "initial_loss", a.initial_loss);
  out->SetAttribute("/", "final_loss", a.final_loss);
  out->SetAttribute("/", "initial_test_loss", a.initial_test_loss);
  out->SetAttribute("/", "test_loss", a.test_loss);
  out->SetAttribute("/", "shuffle_loss", a.shuffle_loss);
  out->SetAttribute("/", "shuffle_loss_ratio", a.shuffle_loss_ratio);
  out->SetAttribute("/", "w0_alignment", a.w0_alignment);
  if (!a.cp_ranks.empty()) {
    std::vector<std::int64_t> cp_ranks(a.cp_ranks.begin(), a.cp_ranks.end());
    out->WriteIntVector("/update_tensor/ranks", cp_ranks, "rank");
    out->WriteVector("/update_tensor/relative_error",
                     Eigen::Map<const Vector>(
                         a.cp_relative_error.data(),
                         static_cast<Index>(a.cp_relative_error.size())),
                     "rank");
  }
}

}  // namespace ltr
