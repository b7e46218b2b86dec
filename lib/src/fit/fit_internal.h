// What the files of the fit module share (internal): the prepared problem
// (fit_start.cpp), the objective's Ceres adapter and iteration callback
// (ceres_objective.cpp), Adam (adam_solver.cpp) and data checks
// (fit_options.cpp).
#ifndef LTR_SRC_FIT_FIT_INTERNAL_H_
#define LTR_SRC_FIT_FIT_INTERNAL_H_

#include <ceres/first_order_function.h>
#include <ceres/gradient_problem_solver.h>
#include <ceres/iteration_callback.h>
#include <ceres/manifold.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <vector>

#include "fit/fit_init.h"
#include "ltr/fit/fit.h"

namespace ltr::internal {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double InverseSoftplus(double y);
std::string Format(const char* format, double value);

// Calls visit(k, t, value) for every entry of neuron n that `keep(k, t)`
// accepts, in trial-major order.
template <typename Keep, typename Visit>
void ForEachEntry(const Recording& r, Index n, Keep keep, Visit visit) {
  for (Index k = 0; k < r.trials(); ++k)
    for (Index t = 0; t < r.steps(); ++t)
      if (keep(k, t)) visit(k, t, r.activity(k, t, n));
}

// Number of conditions implied by the labels and the options; throws when a
// label is out of range.
Index ResolveConditions(const FitOptions& options, const Recording& r);
// Throws ltr::Error on data FitRnn refuses (FitRnn's contract).
void ValidateData(const FitOptions& options, const Recording& r);
// kAuto: the data-driven start only where it is measured to help.
FitInitialization ResolvedInitialization(const FitOptions& o);

// Everything a fit needs, built once.
struct Problem {
  HoldOutMasks masks;
  std::vector<RnnTrial> train;
  std::vector<RnnTrial> test;  // same trials, test mask; empty = no test
  RnnParameters initial;
  RnnBlocks blocks;
  RnnLossOptions loss;       // for training
  RnnLossOptions test_loss;  // data term only
  TrialSmoothingPenalty smoothing;
  Index readout_offset = -1;  // in the packed vector, when orthonormal
  DataInitReport init;        // kData initialisation only
};
Problem BuildProblem(const FitOptions& o, const Recording& r);
// The smoothing prior on the trial factors the options ask for (no penalty
// when not ltr or none), cut at the recording's epochs if asked.
TrialSmoothingPenalty TrialPrior(const FitOptions& o, const Recording& r);

// The data term of `objective` at x; NaN when it cannot be evaluated.
double DataLoss(const RnnObjective& objective, const double* x);

// Ceres' view of the objective. Exceptions (which should not happen after
// validation) and non-finite values count as a failed evaluation.
class CeresFunction : public ceres::FirstOrderFunction {
 public:
  explicit CeresFunction(const RnnObjective* objective)
      : objective_(objective) {}
  bool Evaluate(const double* x, double* cost, double* gradient) const override;
  int NumParameters() const override {
    return static_cast<int>(objective_->NumParameters());
  }
  int failures() const { return failures_.load(); }

 private:
  const RnnObjective* objective_;
  mutable std::atomic<int> failures_{0};
};

// Progress, checkpoints, held-out tracking, cancellation and early stopping.
class FitCallback : public ceres::IterationCallback {
 public:
  FitCallback(const FitOptions& options,
              const RnnObjective& train,
              const RnnObjective* test,
              const HoldOutMasks& masks,
              const double* x,
              Clock::time_point start,
              FitSummary* summary);

  ceres::CallbackReturnType operator()(
      const ceres::IterationSummary& it) override;

  const std::vector<double>& last_good() const { return last_good_; }
  const std::vector<double>& best() const { return best_; }
  int best_iteration() const { return best_iteration_; }
  bool has_best() const { return std::isfinite(best_test_); }
  bool early_stopped() const { return early_stopped_; }
  bool window_converged() const { return window_converged_; }
  bool interrupted() const { return interrupted_; }
  // Iterations before the current solver run (a restarted L-BFGS segment).
  void set_iteration_offset(int offset) { offset_ = offset; }

 private:
  void TrackBest(int iteration, bool finite, double test);
  bool WindowConverged() const;
  void WriteCheckpoint(int iteration, double cost, double test) const;

  const FitOptions& o_;
  const RnnObjective& train_;
  const RnnObjective* test_;
  const HoldOutMasks& masks_;
  const double* x_;
  Index n_;
  Clock::time_point start_;
  FitSummary* summary_;
  std::vector<double> last_good_, best_;
  double best_test_ = std::numeric_limits<double>::infinity();
  int best_iteration_ = 0;
  int since_best_ = 0;
  bool early_stopped_ = false;
  bool window_converged_ = false;
  bool interrupted_ = false;
  int offset_ = 0;
};

// L-BFGS's linear changes of variables (fit_precondition.cpp): the trial
// factors by their smoothing prior (FitOptions::precondition_trial_factors;
// ltr with a prior, not with an orthonormal readout) and the free readout
// with its offset by the latents' Gram matrix at x
// (FitOptions::precondition_readout; mse). Null where neither applies.
std::unique_ptr<ceres::Manifold> Preconditioner(const FitOptions& o,
                                                const Problem& problem,
                                                const RnnObjective& train,
                                                const Eigen::VectorXd& x);

// [phi(x[t]); 1] of every (trial, time) entry of `trials`, one column each,
// trial-major (fit_readout.cpp).
Eigen::MatrixXd ReadoutLatents(const RnnParameters& p,
                               const std::vector<RnnTrial>& trials,
                               int num_threads);

// L-BFGS (Ceres) or Adam from x over `train`, with the callback; the
// orthonormal readout's manifold when problem.readout_offset >= 0.
struct SolverRun {
  ceres::GradientProblemSolver::Summary summary;
  int failures = 0;  // evaluations that failed (non-finite, or threw)
};
SolverRun Solve(const FitOptions& options,
                const Problem& problem,
                const RnnObjective& train,
                FitCallback* callback,
                Eigen::VectorXd* x);

// Full-batch Adam over the objective L-BFGS would see (the same function,
// manifold and callback). It fills the fields of Ceres' summary that FitRnn
// reads, so both optimisers end through one termination logic: the
// iteration or time limit is NO_CONVERGENCE, a callback stop USER_SUCCESS, a
// non-finite loss or gradient FAILURE (x is then the failed point).
void SolveAdam(const FitOptions& o,
               const ceres::FirstOrderFunction& function,
               const ceres::Manifold* manifold,
               ceres::IterationCallback* callback,
               double* x,
               ceres::GradientProblemSolver::Summary* summary);

// The summary of this run continued from options.resume (the fit before a
// resume): its history in front, iterations, seconds and the initial loss
// counted from its start. Unchanged without options.resume.
void ContinueResumed(const FitOptions& options, FitSummary* summary);

}  // namespace ltr::internal

#endif  // LTR_SRC_FIT_FIT_INTERNAL_H_
