// Fitting RNNs to recordings: FitRnn's steps (prepare, solve, classify the
// termination, score), prediction and the summary's reports.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

#include "core/parallel.h"
#include "fit/fit_internal.h"
#include "ltr/core/error.h"

namespace ltr {

namespace internal {

double InverseSoftplus(double y) {
  y = std::max(y, 1e-6);
  return y > 30 ? y : std::log(std::expm1(y));
}

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

void ContinueResumed(const FitOptions& options, FitSummary* s) {
  if (!options.resume) return;
  const FitProgress& r = *options.resume;
  // Iteration 0 of this run is the checkpoint's last iteration.
  std::vector<FitIteration> history = r.history;
  for (size_t i = 1; i < s->history.size(); ++i) {
    FitIteration it = s->history[i];
    it.iteration += r.iterations;
    it.seconds += r.seconds;
    history.push_back(it);
  }
  s->history = std::move(history);
  s->iterations += r.iterations;
  s->best_iteration += r.iterations;
  s->seconds += r.seconds;
  s->initial_loss = r.initial_loss;
}

}  // namespace internal

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using internal::Format;
using internal::kNaN;

bool ParametersFinite(const RnnParameters& p) {
  for (const MatrixXd* m :
       {&p.w0, &p.w, &p.a, &p.b, &p.c, &p.w_in, &p.h, &p.x0, &p.readout})
    if (!m->allFinite()) return false;
  return p.bias.allFinite() && p.offset.allFinite();
}

// The data term on the `train` entries of the model that predicts each
// neuron's mean over them (rnn.h's D: 1/2 mean squared error, or mean
// Poisson NLL with the rate floored as the fit's).
double NullDataLoss(const RnnLossOptions& loss,
                    const Recording& r,
                    const Mask3& train) {
  double total = 0, count = 0;
  for (Index n = 0; n < r.neurons(); ++n) {
    auto used = [&](Index k, Index t) { return train(k, t, n) != 0; };
    double sum = 0, entries = 0;
    internal::ForEachEntry(r, n, used, [&](Index, Index, double y) {
      sum += y;
      entries += 1;
    });
    if (entries == 0) continue;
    const double mean = sum / entries;
    const double rate = std::max(mean, loss.poisson_rate_floor);
    internal::ForEachEntry(r, n, used, [&](Index, Index, double y) {
      total += loss.loss == RnnLoss::kPoisson ? rate - y * std::log(rate)
                                              : 0.5 * (y - mean) * (y - mean);
    });
    count += entries;
  }
  return count > 0 ? total / count : kNaN;
}

// The options the solver runs with: a resumed fit has the iterations left.
FitOptions SolverOptions(const FitOptions& options) {
  FitOptions o = options;
  if (o.resume)
    o.max_iterations = std::max(0, o.max_iterations - o.resume->iterations);
  return o;
}

void ReportStart(const FitOptions& options,
                 const internal::DataInitReport& init) {
  if (options.progress_every <= 0 || init.seconds <= 0) return;
  char line[160];
  std::snprintf(line,
                sizeof line,
                "data-driven start: one-step R2 %.4f, %d ALS sweeps, %.2f s",
                init.one_step_r2,
                init.als_iterations,
                init.seconds);
  options.run.Report(line);
}

// Why the solver stopped (summary->termination, message, iterations,
// diverged) and the parameters the fit returns.
std::vector<double> Terminate(const FitOptions& options,
                              const internal::SolverRun& run,
                              const internal::FitCallback& callback,
                              const VectorXd& x,
                              FitSummary* summary) {
  const ceres::GradientProblemSolver::Summary& ceres_summary = run.summary;
  summary->message = ceres_summary.message;
  summary->initial_loss = ceres_summary.initial_cost;
  summary->evaluations = std::max({0,
                                   ceres_summary.num_cost_evaluations,
                                   ceres_summary.num_gradient_evaluations});
  summary->iterations = ceres_summary.iterations.empty()
                            ? 0
                            : ceres_summary.iterations.back().iteration;
  const bool failed = ceres_summary.termination_type == ceres::FAILURE ||
                      ceres_summary.termination_type == ceres::USER_FAILURE;
  bool diverged = failed && (run.failures > 0 ||
                             !std::isfinite(ceres_summary.initial_cost));
  std::vector<double> chosen(x.data(), x.data() + x.size());
  summary->best_iteration = summary->iterations;
  if (diverged || !x.allFinite()) {
    diverged = true;
    chosen = callback.last_good();
    summary->termination = "diverged";
    summary->message = "the loss or its gradient stopped being finite (" +
                       ceres_summary.message +
                       "); the last finite parameters are kept";
  } else if (callback.interrupted()) {
    summary->termination = "interrupted";
    summary->message = "stopped by signal " +
                       std::to_string(options.run.cancellation->reason()) +
                       " at iteration " + std::to_string(summary->iterations) +
                       "; the current parameters are kept";
  } else if (callback.early_stopped()) {
    summary->termination = "early_stopped";
    summary->message = "held-out loss did not improve for " +
                       std::to_string(options.patience) + " iterations";
  } else if (callback.window_converged()) {
    summary->termination = "converged";
    summary->message =
        "the objective fell by less than " +
        Format("%g", options.window_tolerance) + " of itself over the last " +
        std::to_string(options.convergence_window) + " iterations";
  } else if (ceres_summary.termination_type == ceres::CONVERGENCE &&
             ceres_summary.message.rfind("Parameter tolerance", 0) != 0) {
    // Ceres' function or gradient tolerance: the loss has stopped falling.
    summary->termination = "converged";
  } else if (ceres_summary.termination_type == ceres::CONVERGENCE || failed) {
    // Steps too small to matter (parameter tolerance), or a line search that
    // finds no decrease: progress stopped, which says nothing about being
    // at a minimum (a sharp valley does the same).
    summary->termination = "stalled";
    summary->message = (failed ? "stopped by the line search: "
                               : "stopped on the step size: ") +
                       ceres_summary.message;
  } else {
    summary->termination = "no_convergence";
  }
  // An interrupted fit keeps its current parameters: they are what a
  // resume continues from.
  if (!diverged && options.patience > 0 && callback.has_best() &&
      !callback.interrupted()) {
    chosen = callback.best();
    summary->best_iteration = callback.best_iteration();
  }
  summary->diverged = diverged;
  return chosen;
}

// The scores of the chosen parameters: losses, null loss and metrics.
void Score(const FitOptions& options,
           const Recording& recording,
           const internal::Problem& problem,
           const RnnObjective& train,
           const RnnObjective* test,
           const std::vector<double>& chosen,
           FitSummary* summary) {
  summary->model.parameters = train.Parameters(chosen.data());
  double cost = 0;
  RnnLossSummary final_loss;
  try {
    train.Evaluate(chosen.data(), &cost, nullptr, &final_loss);
    summary->objective = final_loss.total;
    summary->train_loss = final_loss.data;
  } catch (const std::exception&) {
    summary->objective = summary->train_loss = kNaN;
  }
  summary->test_loss = test ? internal::DataLoss(*test, chosen.data()) : kNaN;
  summary->null_train_loss =
      NullDataLoss(options.loss, recording, problem.masks.train);
  NormalizeFactors(&summary->model.parameters);

  const Tensor3 prediction =
      Predict(summary->model, recording, std::max(1, options.run.num_threads));
  const bool counts = options.loss.loss == RnnLoss::kPoisson;
  summary->train_metrics = ComputeMetrics(
      recording.activity, prediction, problem.masks.train, counts);
  summary->test_metrics = ComputeMetrics(
      recording.activity, prediction, problem.masks.test, counts);
  summary->masks = problem.masks;
}

}  // namespace

FitSummary FitRnn(const FitOptions& options, const Recording& recording) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const internal::Clock::time_point start = internal::Clock::now();
  const internal::Problem problem = internal::BuildProblem(options, recording);
  ReportStart(options, problem.init);

  const RnnObjective train(problem.initial,
                           problem.blocks,
                           problem.loss,
                           &problem.train,
                           &problem.smoothing);
  std::unique_ptr<RnnObjective> test;
  if (!problem.test.empty())
    test = std::make_unique<RnnObjective>(
        problem.initial, problem.blocks, problem.test_loss, &problem.test);

  FitSummary summary;
  summary.model.loss = options.loss.loss;
  summary.model.readout = options.readout;
  VectorXd x = train.InitialPoint();
  internal::FitCallback callback(
      options, train, test.get(), problem.masks, x.data(), start, &summary);
  const internal::SolverRun run =
      internal::Solve(SolverOptions(options), problem, train, &callback, &x);

  summary.optimizer = FitOptimizerName(options.optimizer);
  summary.initialization =
      options.initial_parameters
          ? "given"
          : FitInitializationName(internal::ResolvedInitialization(options));
  summary.init_one_step_r2 = problem.init.one_step_r2;
  summary.init_seconds = problem.init.seconds;
  const std::vector<double> chosen =
      Terminate(options, run, callback, x, &summary);
  Score(options, recording, problem, train, test.get(), chosen, &summary);
  summary.seconds = internal::Seconds(start);
  internal::ContinueResumed(options, &summary);
  return summary;
}

Tensor3 Predict(const FittedModel& model,
                const Recording& recording,
                int num_threads) {
  const RnnParameters& p = model.parameters;
  p.Validate();
  if (p.num_outputs() != recording.neurons())
    throw Error("predict: the model has " + std::to_string(p.num_outputs()) +
                " outputs, the recording " +
                std::to_string(recording.neurons()) + " neurons");
  const bool inputs = p.num_inputs() > 0;
  if (inputs &&
      (recording.inputs.empty() || recording.inputs.dim(2) != p.num_inputs()))
    throw Error("predict: the model takes " + std::to_string(p.num_inputs()) +
                " inputs, the recording has a different number");
  Tensor3 out(recording.activity.dims());
  std::vector<std::string> errors(recording.trials());
  ParallelFor(recording.trials(), num_threads, [&](Index begin, Index end) {
    for (Index k = begin; k < end; ++k) {
      try {
        const Index c =
            recording.condition.empty() ? 0 : recording.condition[k];
        const MatrixXd u =
            inputs ? MatrixXd(recording.inputs.Slice(k)) : MatrixXd();
        const RnnTrajectory run = Simulate(p, k, c, recording.steps(), u);
        auto y = out.Slice(k);
        y = run.outputs;
        if (model.loss == RnnLoss::kPoisson)
          y = y.unaryExpr(
              [](double z) { return Phi(Nonlinearity::kSoftplus, z); });
      } catch (const std::exception& e) {
        errors[k] = e.what();
      }
    }
  });
  for (const std::string& e : errors)
    if (!e.empty()) throw Error("predict: " + e);
  return out;
}

std::string FitSummary::BriefReport() const {
  std::ostringstream s;
  const RnnParameters& p = model.parameters;
  s << "Fit of a " << WeightKindName(p.kind) << " RNN (N = " << p.units();
  if (p.kind != WeightKind::kFull) s << ", R = " << p.rank();
  s << ", " << RnnLossName(model.loss) << "): " << termination << " after "
    << iterations << " iterations in " << Format("%.1f", seconds) << " s\n"
    << "  loss " << Format("%.6g", initial_loss) << " -> "
    << Format("%.6g", objective) << " (train data term "
    << Format("%.6g", train_loss) << ")";
  if (initialization == "data")
    s << "; data-driven start (one-step R2 " << Format("%.4f", init_one_step_r2)
      << ", " << Format("%.2f", init_seconds) << " s)";
  s << "\n";
  if (test_metrics.count > 0) {
    s << "  held-out (" << test_metrics.count << " entries): loss "
      << Format("%.6g", test_loss) << ", nmse "
      << Format("%.4f", test_metrics.nmse) << ", R2 "
      << Format("%.4f", test_metrics.r2) << ", median R2 "
      << Format("%.4f", test_metrics.r2_median);
    if (model.loss == RnnLoss::kPoisson)
      s << ", bits/spike " << Format("%.4f", test_metrics.bits_per_spike);
    s << "\n";
  } else {
    s << "  no held-out entries; train R2 " << Format("%.4f", train_metrics.r2)
      << "\n";
  }
  if (!message.empty()) s << "  " << message << "\n";
  return s.str();
}

std::string FitSummary::Failure() const {
  if (diverged)
    return "the fit diverged: its loss or gradient stopped being finite "
           "(termination = diverged)";
  if (!std::isfinite(train_loss) || !ParametersFinite(model.parameters))
    return "the fit has non-finite parameters or training loss";
  if (std::isfinite(null_train_loss) &&
      train_loss >=
          null_train_loss - kNullLossMargin * std::abs(null_train_loss))
    return "the fit is no better than predicting each neuron's mean: "
           "training loss " +
           Format("%.6g", train_loss) +
           " >= " + Format("%.6g", null_train_loss) +
           " (the null model's); it learned nothing (more iterations, "
           "another start or seed?)";
  return "";
}

}  // namespace ltr
