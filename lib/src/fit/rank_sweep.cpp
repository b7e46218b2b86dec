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
#include "ltr/core/random.h"

namespace ltr {

namespace {

using Eigen::VectorXd;
using internal::kNaN;

// The norm of the factors of a component a warm start adds, relative to the
// smallest fitted component's. Not small: under the L2 penalty a zero
// component is a local minimum (the penalty is quadratic in its factors,
// the data term's gain cubic), and measured on the example, new components
// of 0.3 times that norm shrank to nothing at every rank (held-out loss of
// ranks 2-6 equal to rank 1's), of 1 times it grew (rank 2: 4.4 x lower).
constexpr double kNewComponentScale = 1.0;

// The options of the fit of rank index i from seed index s.
FitOptions SweepFitOptions(const RankSweepOptions& options, Index i, int s) {
  FitOptions o = options.fit;
  o.rank = options.ranks[static_cast<size_t>(i)];
  o.seed = options.fit.seed + static_cast<std::uint64_t>(s);
  // One model file cannot hold the checkpoints of many fits, and a sweep
  // is not resumable: its fits write none, also when a signal stops them.
  o.checkpoint_every = 0;
  o.checkpoint_path.clear();
  return o;
}

// The fit of task `task` (rank task / seeds, seed fit.seed + task % seeds).
FitSummary SweepFit(const RankSweepOptions& options,
                    const Recording& recording,
                    int task) {
  return FitRnn(
      SweepFitOptions(options, task / options.seeds, task % options.seeds),
      recording);
}

// Moves each component's scale between (a_r, b_r) and c_r to where the
// penalties are lowest: the fitted model's factors come normalised (unit a_r,
// b_r), which loads the scale onto c_r and inflates its prior; the fit had
// balanced them. With a_r, b_r scaled by sqrt(t) and c_r by 1 / t, the
// penalty l2_w t (|a_r|^2 + |b_r|^2) / 2 + P(c_r) / t^2 (P: L2 on c and the
// smoothing prior) is lowest at t^3 = 4 P(c_r) / (l2_w (|a_r|^2 + |b_r|^2)).
void BalanceForPenalties(const FitOptions& o,
                         const TrialSmoothingPenalty& prior,
                         RnnParameters* p) {
  if (!(o.loss.l2_w > 0)) return;
  for (Index r = 0; r < p->rank(); ++r) {
    const Eigen::MatrixXd c = p->c.col(r);
    const double pc =
        0.5 * o.loss.l2_c * c.squaredNorm() + prior.Evaluate(c, nullptr);
    const double ab = p->a.col(r).squaredNorm() + p->b.col(r).squaredNorm();
    if (!(pc > 0) || !(ab > 0)) continue;
    const double t = std::cbrt(4 * pc / (o.loss.l2_w * ab));
    p->a.col(r) *= std::sqrt(t);
    p->b.col(r) *= std::sqrt(t);
    p->c.col(r) /= t;
  }
}

// Points the new component r of *q along the steepest rank-one descent
// direction of the weights: with D = -sum_k c_kr dL/dW_k at q, its top
// singular pair, by power iterations on the gradients of a_r (-dL/da_r =
// c D b_r) and b_r (-dL/db_r = c D^T a_r), keeping their norms.
void AlignNewComponent(const FitOptions& o,
                       const Recording& recording,
                       Index r,
                       RnnParameters* q) {
  FitOptions grown = o;
  grown.initial_parameters = *q;
  const internal::Problem pr = internal::BuildProblem(grown, recording);
  const RnnObjective train(
      pr.initial, pr.blocks, pr.loss, &pr.train, &pr.smoothing);
  Eigen::VectorXd x = train.InitialPoint(), g(x.size());
  const Index n = q->units(), rank = q->rank();
  const Index a_at = r * n, b_at = n * rank + r * n;  // packed a | b | ...
  const double na = x.segment(a_at, n).norm(), nb = x.segment(b_at, n).norm();
  for (int it = 0; it < 3; ++it) {
    double cost = 0;
    if (!train.Evaluate(x.data(), &cost, g.data())) return;
    const Eigen::VectorXd ga = g.segment(a_at, n);
    if (!(ga.norm() > 0)) return;
    x.segment(a_at, n) = -na / ga.norm() * ga;
    if (!train.Evaluate(x.data(), &cost, g.data())) return;
    const Eigen::VectorXd gb = g.segment(b_at, n);
    if (!(gb.norm() > 0)) return;
    x.segment(b_at, n) = -nb / gb.norm() * gb;
  }
  q->a.col(r) = x.segment(a_at, n);
  q->b.col(r) = x.segment(b_at, n);
}

// The fitted parameters of a lower rank, balanced for the penalties, with
// `rank` - its rank new components: a_r, b_r of norm kNewComponentScale
// times the smallest balanced |a_r| and a constant c_r of that norm (which
// the smoothing prior does not see), the first along the steepest rank-one
// descent direction (AlignNewComponent; measured on the example: random
// directions of that size grew at one seed of five), the others random
// (without an L2 penalty: a unit a_r, |b_r| = 1e-2, c_r = 1).
RnnParameters GrowRank(const FitOptions& o,
                       const Recording& recording,
                       const RnnParameters& p) {
  RnnParameters q = p;
  BalanceForPenalties(o, internal::TrialPrior(o, recording), &q);
  const Index old = p.rank(), n = p.units(), rank = o.rank;
  const Index trials = p.c.rows();
  // Without an L2 penalty: a unit a_r, a b_r of norm 1e-2, c_r = 1.
  const bool l2 = o.loss.l2_w > 0 && old > 0;
  const double norm =
      l2 ? kNewComponentScale * q.a.colwise().norm().minCoeff() : 1.0;
  Rng rng(o.seed * 1000003u + static_cast<std::uint64_t>(rank));
  q.a.conservativeResize(n, rank);
  q.b.conservativeResize(n, rank);
  q.c.conservativeResize(trials, rank);
  for (Index r = old; r < rank; ++r) {
    q.a.col(r) = norm * rng.NormalMatrix(n, 1).col(0).normalized();
    q.b.col(r) =
        (l2 ? norm : 1e-2) * rng.NormalMatrix(n, 1).col(0).normalized();
    q.c.col(r).setConstant(l2 ? norm / std::sqrt(static_cast<double>(trials))
                              : 1.0);
  }
  if (rank > old) AlignNewComponent(o, recording, old, &q);
  return q;
}

// The parameters of a higher rank's fit p without its p.rank() - rank
// weakest components (smallest |a_r| |b_r| |c_r|), balanced for the
// penalties.
RnnParameters DropWeakest(const FitOptions& o,
                          const Recording& recording,
                          const RnnParameters& p,
                          Index rank) {
  std::vector<Index> order(static_cast<size_t>(p.rank()));
  for (Index r = 0; r < p.rank(); ++r) order[static_cast<size_t>(r)] = r;
  const auto strength = [&](Index r) {
    return p.a.col(r).norm() * p.b.col(r).norm() * p.c.col(r).norm();
  };
  std::stable_sort(order.begin(), order.end(), [&](Index x, Index y) {
    return strength(x) > strength(y);
  });
  order.resize(static_cast<size_t>(rank));
  std::sort(order.begin(), order.end());  // the kept ones in their order
  RnnParameters q = p;
  for (Index k = 0; k < rank; ++k) {
    const Index r = order[static_cast<size_t>(k)];
    q.a.col(k) = p.a.col(r);
    q.b.col(k) = p.b.col(r);
    q.c.col(k) = p.c.col(r);
  }
  q.a.conservativeResize(Eigen::NoChange, rank);
  q.b.conservativeResize(Eigen::NoChange, rank);
  q.c.conservativeResize(Eigen::NoChange, rank);
  BalanceForPenalties(o, internal::TrialPrior(o, recording), &q);
  return q;
}

void ReportFit(const RankSweepOptions& options,
               Index i,
               int s,
               const FitSummary& f,
               const std::string& how = "") {
  if (options.fit.progress_every <= 0) return;
  std::ostringstream line;
  line << "rank " << options.ranks[static_cast<size_t>(i)] << " seed "
       << options.fit.seed + static_cast<std::uint64_t>(s) << how << ": "
       << f.termination << ", held-out loss " << f.test_loss << " ("
       << f.iterations << " iterations, " << f.evaluations << " evaluations, "
       << internal::Format("%.1f", f.seconds) << " s)";
  options.fit.run.Report(line.str());
}

// The downward pass of a warm chain: a warm-started rank inherits the
// local solution of the rank below, and can end worse than the rank above
// it reaches (measured on the example, seed 5: rank 2 at held-out 1.19e-5,
// rank 3 grown from it at 0.986e-5, rank 2 refitted from that rank 3 at
// 0.986e-5 in 50 iterations), so that the rank rule would choose the rank
// above. From the highest rank down to the chain's second, where the rank
// above fits the held-out data better by more than the rule's relative
// tolerance, the rank is fitted again from the fit above without its
// weakest components; the refit replaces the chain's fit where its training
// objective is lower (the same problem: the better local solution). The
// lowest rank has its own start (refitted from rank 2 on the example: 0.1 %
// lower, at the cost of its whole fit again). `order`: rank indices by
// increasing rank.
void RefitFromAbove(const RankSweepOptions& options,
                    const Recording& recording,
                    int s,
                    const std::vector<Index>& order,
                    bool report,
                    std::vector<std::optional<FitSummary>>* fits) {
  for (size_t k = order.size() - 1; k-- > 1;) {
    const FitSummary& above = *(*fits)[order[k + 1]];
    FitSummary& here = *(*fits)[order[k]];
    if (!(here.test_loss > (1 + options.relative_tolerance) * above.test_loss))
      continue;
    FitOptions o = SweepFitOptions(options, order[k], s);
    o.initial_parameters =
        DropWeakest(o, recording, above.model.parameters, o.rank);
    FitSummary refit = FitRnn(o, recording);
    if (report)
      ReportFit(
          options,
          order[k],
          s,
          refit,
          " (from rank " + std::to_string(above.model.parameters.rank()) + ")");
    if (refit.termination == "interrupted") return;  // keeps the chain's
    if (refit.objective < here.objective) here = std::move(refit);
  }
}

// Warm start: the fits of seed index s over the ranks in increasing order,
// each rank started from the previous rank's fit grown by GrowRank (the
// lowest rank starts as options.fit says), then the downward pass of
// RefitFromAbove. Stops when a fit is interrupted; fits[i] is rank index
// i's fit. `report`: a line per fit as it ends.
void RunWarmChain(const RankSweepOptions& options,
                  const Recording& recording,
                  int s,
                  bool report,
                  std::vector<std::optional<FitSummary>>* fits) {
  std::vector<Index> order(options.ranks.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Index>(i);
  std::stable_sort(order.begin(), order.end(), [&](Index x, Index y) {
    return options.ranks[x] < options.ranks[y];
  });
  fits->assign(order.size(), std::nullopt);
  const FitSummary* previous = nullptr;
  for (Index i : order) {
    FitOptions o = SweepFitOptions(options, i, s);
    if (previous != nullptr && !o.initial_parameters)
      o.initial_parameters = GrowRank(o, recording, previous->model.parameters);
    (*fits)[i] = FitRnn(o, recording);
    previous = &*(*fits)[i];
    if (report) ReportFit(options, i, s, *previous);
    if (previous->termination == "interrupted") return;
  }
  RefitFromAbove(options, recording, s, order, report, fits);
}

void PutLosses(const FitSummary& f, distributed::Buffer* b) {
  b->PutDouble(f.train_loss);
  b->PutDouble(f.test_loss);
  b->PutDouble(f.test_metrics.r2);
}

// Runs every task (shared among the processes of options.fit.run, which
// gather the losses into the table of *out); `local` keeps the fits this
// process made. A task not run (cancelled) stays NaN. With warm starts a
// task is one seed's chain over the ranks.
void RunSweepFits(const RankSweepOptions& options,
                  const Recording& recording,
                  std::vector<std::optional<FitSummary>>* local,
                  RankSweepSummary* out) {
  const int seeds = options.seeds;
  const Index n_ranks = static_cast<Index>(options.ranks.size());
  const int num_tasks =
      options.warm_start ? seeds : static_cast<int>(local->size());
  const auto losses =
      distributed::RunTasks(options.fit.run, num_tasks, [&](int task) {
        distributed::Buffer b;
        if (!options.warm_start) {
          FitSummary f = SweepFit(options, recording, task);
          ReportFit(options, task / seeds, task % seeds, f);
          PutLosses(f, &b);
          (*local)[task] = std::move(f);
          return b.Release();
        }
        std::vector<std::optional<FitSummary>> chain;
        RunWarmChain(options, recording, task, true, &chain);
        for (Index i = 0; i < n_ranks; ++i) {
          b.PutDouble(chain[i] ? 1.0 : 0.0);
          if (!chain[i]) continue;
          PutLosses(*chain[i], &b);
          (*local)[i * seeds + task] = std::move(chain[i]);
        }
        return b.Release();
      });
  for (int task = 0; task < num_tasks; ++task) {
    if (!losses[task]) continue;  // interrupted: stays NaN
    distributed::Buffer b(*losses[task]);
    for (Index i = 0; i < (options.warm_start ? n_ranks : 1); ++i) {
      if (options.warm_start && b.GetDouble() == 0.0) continue;
      const Index row = options.warm_start ? i : task / seeds;
      const int col = options.warm_start ? task : task % seeds;
      out->train_loss(row, col) = b.GetDouble();
      out->test_loss(row, col) = b.GetDouble();
      out->test_r2(row, col) = b.GetDouble();
    }
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

// The chosen fit again, on a process that did not make it (the same task,
// so the same bits; with warm starts the seed's whole chain, whose downward
// pass may have refitted the rank).
FitSummary RefitChosen(const RankSweepOptions& options,
                       const Recording& recording,
                       Index chosen,
                       int seed) {
  if (!options.warm_start)
    return SweepFit(
        options, recording, static_cast<int>(chosen) * options.seeds + seed);
  std::vector<std::optional<FitSummary>> chain;
  RunWarmChain(options, recording, seed, false, &chain);
  return std::move(*chain[chosen]);
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
    out.best = RefitChosen(options, recording, chosen, best_seed);
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
