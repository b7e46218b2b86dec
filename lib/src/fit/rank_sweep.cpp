// Rank sweeps: fits over ranks x seeds shared over the run's processes,
// and the rank rule that picks one.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "fit/fit_internal.h"
#include "ltr/core/distributed.h"
#include "ltr/core/error.h"

namespace ltr {

namespace {

using Eigen::VectorXd;
using internal::kNaN;

// The fit of task `task` (rank task / seeds, seed fit.seed + task % seeds).
FitSummary SweepFit(const RankSweepOptions& options,
                    const Recording& recording,
                    int task) {
  FitOptions o = options.fit;
  o.rank = options.ranks[task / options.seeds];
  o.seed = options.fit.seed + static_cast<std::uint64_t>(task % options.seeds);
  // One model file cannot hold the checkpoints of many fits, and a sweep
  // is not resumable: its fits write none, also when a signal stops them.
  o.checkpoint_every = 0;
  o.checkpoint_path.clear();
  return FitRnn(o, recording);
}

// Runs every task (shared among the processes of options.fit.run, which
// gather the losses into the table of *out); `local` keeps the fits this
// process made. A task not run (cancelled) stays NaN.
void RunSweepFits(const RankSweepOptions& options,
                  const Recording& recording,
                  std::vector<std::optional<FitSummary>>* local,
                  RankSweepSummary* out) {
  const int seeds = options.seeds;
  const int num_tasks = static_cast<int>(local->size());
  const auto losses =
      distributed::RunTasks(options.fit.run, num_tasks, [&](int task) {
        FitSummary f = SweepFit(options, recording, task);
        if (options.fit.progress_every > 0) {
          std::ostringstream line;
          line << "rank " << options.ranks[task / seeds] << " seed "
               << options.fit.seed + static_cast<std::uint64_t>(task % seeds)
               << ": " << f.termination << ", held-out loss " << f.test_loss;
          options.fit.run.Report(line.str());
        }
        distributed::Buffer b;
        b.PutDouble(f.train_loss);
        b.PutDouble(f.test_loss);
        b.PutDouble(f.test_metrics.r2);
        (*local)[task] = std::move(f);
        return b.Release();
      });
  for (int task = 0; task < num_tasks; ++task) {
    if (!losses[task]) continue;  // interrupted: stays NaN
    distributed::Buffer b(*losses[task]);
    out->train_loss(task / seeds, task % seeds) = b.GetDouble();
    out->test_loss(task / seeds, task % seeds) = b.GetDouble();
    out->test_r2(task / seeds, task % seeds) = b.GetDouble();
  }
}

// The rank rule of RankSweepOptions: the index of the chosen rank.
Index ChooseRank(const RankSweepOptions& options, const Eigen::MatrixXd& test) {
  const Index n_ranks = test.rows();
  // Per rank: the lowest held-out loss over seeds (a fit stuck in a poor
  // local minimum says nothing about the rank), and the standard error of
  // the held-out losses over seeds.
  VectorXd mean(n_ranks), se(n_ranks);
  for (Index i = 0; i < n_ranks; ++i) {
    double sum = 0, sum2 = 0, n = 0;
    double lowest = std::numeric_limits<double>::infinity();
    for (int s = 0; s < options.seeds; ++s) {
      const double v = test(i, s);
      if (!std::isfinite(v)) continue;
      sum += v;
      sum2 += v * v;
      n += 1;
      lowest = std::min(lowest, v);
    }
    mean(i) = lowest;
    se(i) = n > 1
                ? std::sqrt(std::max(0.0, (sum2 - sum * sum / n) / (n - 1)) / n)
                : 0.0;
  }
  Index best = 0;
  for (Index i = 1; i < n_ranks; ++i)
    if (mean(i) < mean(best)) best = i;
  const double threshold =
      mean(best) +
      std::max(se(best), options.relative_tolerance * std::abs(mean(best)));
  Index chosen = best;
  for (Index i = 0; i < n_ranks; ++i)
    if (mean(i) <= threshold && options.ranks[i] < options.ranks[chosen])
      chosen = i;
  return chosen;
}

}  // namespace

RankSweepSummary SweepRanks(const RankSweepOptions& options,
                            const Recording& recording) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const internal::Clock::time_point start = internal::Clock::now();
  RankSweepSummary out;
  out.ranks = options.ranks;
  const Index n_ranks = static_cast<Index>(options.ranks.size());
  out.train_loss.setConstant(n_ranks, options.seeds, kNaN);
  out.test_loss.setConstant(n_ranks, options.seeds, kNaN);
  out.test_r2.setConstant(n_ranks, options.seeds, kNaN);
  // Task i * seeds + s fits rank i from seed fit.seed + s.
  const int seeds = options.seeds;
  std::vector<std::optional<FitSummary>> local(static_cast<int>(n_ranks) *
                                               seeds);
  RunSweepFits(options, recording, &local, &out);
  const Index chosen = ChooseRank(options, out.test_loss);
  out.chosen_rank = options.ranks[chosen];
  int best_seed = 0;
  for (int s = 1; s < options.seeds; ++s)
    if (out.test_loss(chosen, s) < out.test_loss(chosen, best_seed))
      best_seed = s;
  // The process that made the chosen fit has it; the others fit it again
  // (the same task, so the same bits) so that every process returns the
  // same summary. Not after a cancellation: the table is incomplete then.
  const int chosen_task = static_cast<int>(chosen) * seeds + best_seed;
  if (local[chosen_task])
    out.best = std::move(*local[chosen_task]);
  else if (!options.fit.run.cancelled())
    out.best = SweepFit(options, recording, chosen_task);
  out.seconds = internal::Seconds(start);
  return out;
}

std::string RankSweepSummary::BriefReport() const {
  std::ostringstream s;
  s << "Rank sweep: " << ranks.size() << " ranks x " << train_loss.cols()
    << " seeds in " << internal::Format("%.1f", seconds) << " s\n"
    << "(per rank the seed with the lowest held-out loss, which the rank "
       "rule compares)\n"
    << " rank   train loss   held-out loss   held-out R2\n";
  for (size_t i = 0; i < ranks.size(); ++i) {
    const Index r = static_cast<Index>(i);
    Index seed = 0;
    for (Index k = 1; k < test_loss.cols(); ++k)
      if (test_loss(r, k) < test_loss(r, seed) ||
          !std::isfinite(test_loss(r, seed)))
        seed = k;
    char line[128];
    std::snprintf(line,
                  sizeof line,
                  " %4d   %10.5g   %13.5g   %11.4f%s\n",
                  ranks[i],
                  train_loss(r, seed),
                  test_loss(r, seed),
                  test_r2(r, seed),
                  ranks[i] == chosen_rank ? "   <- chosen" : "");
    s << line;
  }
  s << best.BriefReport();
  return s.str();
}

std::string RankSweepSummary::Failure() const {
  for (Index r = 0; r < train_loss.rows(); ++r)
    for (Index k = 0; k < train_loss.cols(); ++k)
      if (!std::isfinite(train_loss(r, k)) || !std::isfinite(test_loss(r, k)))
        return "the fit at rank " + std::to_string(ranks[r]) + ", seed " +
               std::to_string(k) +
               " has a non-finite loss (it diverged); the table holds NaN";
  const std::string why = best.Failure();
  return why.empty() ? "" : "the chosen rank's " + why.substr(4);
}

}  // namespace ltr
