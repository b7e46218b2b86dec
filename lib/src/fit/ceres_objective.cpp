// The fit's objective as Ceres sees it: the FirstOrderFunction adapter, the
// iteration callback (progress, checkpoints, held-out tracking, early
// stopping, cancellation) and the solver call (L-BFGS, or Adam).
#include <ceres/gradient_problem.h>

#include <cmath>
#include <cstdio>
#include <memory>

#include "fit/fit_internal.h"
#include "ltr/formats/fit_file.h"
#include "optim/stiefel_manifold.h"

namespace ltr::internal {

using Eigen::VectorXd;

bool CeresFunction::Evaluate(const double* x,
                             double* cost,
                             double* gradient) const {
  try {
    if (objective_->Evaluate(x, cost, gradient)) return true;
  } catch (const std::exception&) {
  }
  ++failures_;
  return false;
}

double DataLoss(const RnnObjective& objective, const double* x) {
  double cost = 0;
  RnnLossSummary s;
  try {
    if (!objective.Evaluate(x, &cost, nullptr, &s)) return kNaN;
  } catch (const std::exception&) {
    return kNaN;
  }
  return s.data;
}

FitCallback::FitCallback(const FitOptions& options,
                         const RnnObjective& train,
                         const RnnObjective* test,
                         const HoldOutMasks& masks,
                         const double* x,
                         Clock::time_point start,
                         FitSummary* summary)
    : o_(options),
      train_(train),
      test_(test),
      masks_(masks),
      x_(x),
      n_(train.NumParameters()),
      start_(start),
      summary_(summary) {
  last_good_.assign(x, x + n_);
  best_ = last_good_;
}

ceres::CallbackReturnType FitCallback::operator()(
    const ceres::IterationSummary& it) {
  // A restarted segment's first iteration is the previous one's last.
  if (offset_ > 0 && it.iteration == 0) return ceres::SOLVER_CONTINUE;
  const int i = it.iteration + offset_;
  const bool progress = o_.progress_every > 0 && i % o_.progress_every == 0;
  // Polled once per iteration: stop here with the current parameters and
  // leave a checkpoint to resume from.
  interrupted_ = o_.run.cancelled();
  const bool checkpoint =
      (o_.checkpoint_every > 0 && i > 0 && i % o_.checkpoint_every == 0) ||
      (interrupted_ && !o_.checkpoint_path.empty());
  const bool finite = std::isfinite(it.cost);
  if (finite) last_good_.assign(x_, x_ + n_);
  double test = kNaN;
  if (test_ != nullptr && (o_.patience > 0 || progress || checkpoint))
    test = DataLoss(*test_, x_);
  summary_->history.push_back({i, it.cost, test, Seconds(start_)});
  TrackBest(i, finite, test);
  if (progress) {
    char line[160];
    std::snprintf(line,
                  sizeof line,
                  "iter %6d  loss %.6e  held-out %.6e  |g| %.2e  %.1f s",
                  i,
                  it.cost,
                  test,
                  it.gradient_norm,
                  Seconds(start_));
    o_.run.Report(line);
  }
  if (checkpoint) WriteCheckpoint(i, it.cost, test);
  if (interrupted_) return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
  if (o_.patience > 0 && since_best_ >= o_.patience) {
    early_stopped_ = true;
    return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
  }
  if (WindowConverged()) {
    window_converged_ = true;
    return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
  }
  return ceres::SOLVER_CONTINUE;
}

bool FitCallback::WindowConverged() const {
  const int window = o_.convergence_window;
  const std::vector<FitIteration>& h = summary_->history;
  if (window <= 0 || h.size() <= static_cast<size_t>(window)) return false;
  const double now = h.back().loss, before = h[h.size() - 1 - window].loss;
  return std::isfinite(now) && std::isfinite(before) &&
         before - now <= o_.window_tolerance * std::abs(now);
}

void FitCallback::TrackBest(int iteration, bool finite, double test) {
  if (o_.patience > 0 && std::isfinite(test)) {
    if (test < best_test_) {
      best_test_ = test;
      best_iteration_ = iteration;
      best_.assign(x_, x_ + n_);
      since_best_ = 0;
    } else {
      ++since_best_;
    }
  } else if (finite && o_.patience == 0) {
    best_iteration_ = iteration;
  }
}

void FitCallback::WriteCheckpoint(int iteration,
                                  double cost,
                                  double test) const {
  FitSummary s;
  s.model.parameters = train_.Parameters(x_);
  NormalizeFactors(&s.model.parameters);
  s.model.loss = o_.loss.loss;
  s.model.readout = o_.readout;
  s.optimizer = FitOptimizerName(o_.optimizer);
  s.termination = interrupted_ ? "interrupted" : "running";
  s.message = interrupted_ ? "checkpoint written when a signal stopped the fit"
                           : "checkpoint written during the fit";
  s.iterations = iteration;
  s.best_iteration = iteration;
  s.seconds = Seconds(start_);
  s.initial_loss = summary_->history.front().loss;
  s.objective = cost;
  s.train_loss = DataLoss(train_, x_);
  s.test_loss = test;
  s.train_metrics.r2 = s.test_metrics.r2 = kNaN;
  s.test_metrics.nmse = s.test_metrics.r2_median = kNaN;
  s.test_metrics.bits_per_spike = kNaN;
  s.history = summary_->history;
  s.masks = masks_;
  ContinueResumed(o_, &s);
  io::OutputFile out(o_.checkpoint_path, o_.command);
  WriteFitCheckpoint(s, o_, &out);
  out.Commit();
}

namespace {

ceres::GradientProblemSolver::Options LbfgsOptions(const FitOptions& options,
                                                   FitCallback* callback) {
  ceres::GradientProblemSolver::Options solver;
  solver.line_search_direction_type = ceres::LBFGS;
  solver.max_lbfgs_rank = options.lbfgs_rank;
  solver.use_approximate_eigenvalue_bfgs_scaling = options.lbfgs_scaling;
  solver.max_num_iterations = options.max_iterations;
  solver.max_solver_time_in_seconds = options.max_seconds;
  solver.function_tolerance = options.function_tolerance;
  solver.gradient_tolerance = options.gradient_tolerance;
  solver.parameter_tolerance = options.parameter_tolerance;
  solver.logging_type = ceres::SILENT;
  solver.update_state_every_iteration = true;
  solver.callbacks.push_back(callback);
  return solver;
}

// The run's summary continued by a restarted segment's: its iterations
// after the first (the previous segment's last) counted on, its ending.
void AppendSegment(const ceres::GradientProblemSolver::Summary& segment,
                   ceres::GradientProblemSolver::Summary* run) {
  if (run->iterations.empty()) {
    *run = segment;
    return;
  }
  const int done = run->iterations.back().iteration;
  for (size_t i = 1; i < segment.iterations.size(); ++i) {
    run->iterations.push_back(segment.iterations[i]);
    run->iterations.back().iteration += done;
  }
  run->num_cost_evaluations += segment.num_cost_evaluations;
  run->num_gradient_evaluations += segment.num_gradient_evaluations;
  run->termination_type = segment.termination_type;
  run->message = segment.message;
  run->final_cost = segment.final_cost;
}

// L-BFGS from x, in segments of precondition_every iterations when the
// preconditioner depends on x (the readout's): each segment recomputes it
// at the segment's start, which restarts L-BFGS's memory.
SolverRun SolveLbfgs(const FitOptions& options,
                     const Problem& problem,
                     const RnnObjective& train,
                     FitCallback* callback,
                     VectorXd* x) {
  const Clock::time_point start = Clock::now();
  ceres::GradientProblemSolver::Options solver =
      LbfgsOptions(options, callback);
  SolverRun run;
  for (int done = 0;;) {
    auto function = std::make_unique<CeresFunction>(&train);
    const CeresFunction* function_view = function.get();
    std::unique_ptr<ceres::Manifold> manifold =
        Preconditioner(options, problem, train, *x);
    const bool refreshed = manifold != nullptr && options.precondition_readout;
    solver.max_num_iterations = options.max_iterations - done;
    if (refreshed)
      solver.max_num_iterations =
          std::min(solver.max_num_iterations, options.precondition_every);
    solver.max_solver_time_in_seconds = options.max_seconds - Seconds(start);
    const auto ceres_problem =
        manifold ? std::make_unique<ceres::GradientProblem>(function.release(),
                                                            manifold.release())
                 : std::make_unique<ceres::GradientProblem>(function.release());
    callback->set_iteration_offset(done);
    ceres::GradientProblemSolver::Summary segment;
    ceres::Solve(solver, *ceres_problem, x->data(), &segment);
    run.failures += function_view->failures();
    AppendSegment(segment, &run.summary);
    const int now = run.summary.iterations.empty()
                        ? 0
                        : run.summary.iterations.back().iteration;
    if (!refreshed || segment.termination_type != ceres::NO_CONVERGENCE ||
        now == done || now >= options.max_iterations ||
        Seconds(start) >= options.max_seconds)
      return run;
    done = now;
  }
}

}  // namespace

SolverRun Solve(const FitOptions& options,
                const Problem& problem,
                const RnnObjective& train,
                FitCallback* callback,
                VectorXd* x) {
  if (options.optimizer == FitOptimizer::kLbfgs && problem.readout_offset < 0)
    return SolveLbfgs(options, problem, train, callback, x);
  auto function = std::make_unique<CeresFunction>(&train);
  const CeresFunction* function_view = function.get();
  std::unique_ptr<ceres::GradientProblem> ceres_problem;
  const ceres::Manifold* stiefel = nullptr;  // owned by ceres_problem
  if (problem.readout_offset >= 0) {
    auto manifold = std::make_unique<BlockStiefelManifold>(
        static_cast<int>(x->size()),
        static_cast<int>(problem.readout_offset),
        static_cast<int>(problem.initial.readout.rows()),
        static_cast<int>(problem.initial.readout.cols()));
    stiefel = manifold.get();
    ceres_problem = std::make_unique<ceres::GradientProblem>(
        function.release(), manifold.release());  // takes ownership
  } else {
    ceres_problem =
        std::make_unique<ceres::GradientProblem>(function.release());
  }
  SolverRun run;
  if (options.optimizer == FitOptimizer::kAdam)
    SolveAdam(
        options, *function_view, stiefel, callback, x->data(), &run.summary);
  else
    ceres::Solve(LbfgsOptions(options, callback),
                 *ceres_problem,
                 x->data(),
                 &run.summary);
  run.failures = function_view->failures();
  return run;
}

}  // namespace ltr::internal
