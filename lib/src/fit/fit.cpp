// Fitting RNNs to recordings with Ceres' L-BFGS: data preparation,
// initialisation, the solver loop with its progress / checkpoint /
// early-stopping callback, rank sweeps and the result writer.
#include "ltr/fit/fit.h"

#include <ceres/first_order_function.h>
#include <ceres/gradient_problem.h>
#include <ceres/gradient_problem_solver.h>
#include <ceres/iteration_callback.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

#include "optim/first_order.h"
#include "fit/fit_init.h"
#include "ltr/core/distributed.h"
#include "ltr/core/error.h"
#include "ltr/core/interrupt.h"
#include "ltr/core/random.h"
#include "core/parallel.h"
#include "optim/stiefel_manifold.h"

namespace ltr {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using Clock = std::chrono::steady_clock;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Softplus(double z) {
  return z > 0.0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

double InverseSoftplus(double y) {
  y = std::max(y, 1e-6);
  return y > 30 ? y : std::log(std::expm1(y));
}

// Number of conditions implied by the labels and the options; throws when a
// label is out of range.
Index ResolveConditions(const FitOptions& options, const Recording& r) {
  std::int64_t largest = -1;
  for (size_t k = 0; k < r.condition.size(); ++k) {
    const std::int64_t c = r.condition[k];
    if (options.conditions > 0 && c >= options.conditions)
      throw Error("condition label " + std::to_string(c) + " of trial " +
                  std::to_string(k) + " is outside [0, " +
                  std::to_string(options.conditions) +
                  ") (the number of conditions given)");
    largest = std::max(largest, c);
  }
  if (options.conditions > 0) return options.conditions;
  return std::max<Index>(1, largest + 1);
}

void ValidateData(const FitOptions& options, const Recording& r) {
  r.Validate("recording");
  if (r.activity.empty()) throw Error("/activity is empty");
  const Index units = options.units > 0 ? options.units : r.neurons();
  if (options.readout == ReadoutKind::kIdentity && units != r.neurons())
    throw Error("an identity readout needs units = neurons (" +
                std::to_string(r.neurons()) + "), got " +
                std::to_string(units));
  if (options.kind != WeightKind::kFull && options.rank > units)
    throw Error("rank " + std::to_string(options.rank) +
                " is larger than the number of units " + std::to_string(units));
  if (options.base_weights.size() > 0 && options.base_weights.rows() != units)
    throw Error("base weights are " +
                std::to_string(options.base_weights.rows()) + " x " +
                std::to_string(options.base_weights.cols()) +
                " but the model has " + std::to_string(units) + " units");
  for (Index k = 0; k < r.trials(); ++k)
    for (Index t = 0; t < r.steps(); ++t)
      for (Index n = 0; n < r.neurons(); ++n) {
        if (r.mask && (*r.mask)(k, t, n) == 0) continue;
        const double y = r.activity(k, t, n);
        if (!std::isfinite(y))
          throw Error("/activity has a non-finite value at trial " +
                      std::to_string(k) + ", time " + std::to_string(t) +
                      ", neuron " + std::to_string(n) +
                      " that is observed (mark it 0 in /mask)");
        if (options.loss.loss == RnnLoss::kPoisson && y < 0)
          throw Error("the poisson loss needs counts >= 0, found " +
                      std::to_string(y) + " at trial " + std::to_string(k));
      }
  if (!r.inputs.empty() && !AllFinite(r.inputs))
    throw Error("/inputs has a non-finite value");
  if (r.steps() < 2)
    throw Error("at least 2 time bins are needed to fit dynamics");
}

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
  Index readout_offset = -1;      // in the packed vector, when orthonormal
  internal::DataInitReport init;  // kData initialisation only
};

RnnParameters InitialParameters(const FitOptions& o,
                                const Recording& r,
                                const Mask3& train,
                                Index conditions,
                                bool inputs) {
  const Index n = o.units > 0 ? o.units : r.neurons();
  const Index m = r.neurons();
  RnnShape shape;
  shape.kind = o.kind;
  shape.nonlinearity = o.nonlinearity;
  shape.alpha = o.alpha;
  shape.units = n;
  shape.rank = o.kind == WeightKind::kFull ? 0 : o.rank;
  shape.trials = r.trials();
  shape.inputs = inputs ? r.inputs.dim(2) : 0;
  shape.conditions = conditions;
  shape.outputs = m;
  shape.base_weights = o.base_gain > 0 || o.base_weights.size() > 0;
  shape.condition_inputs = o.condition_inputs;
  RnnParameters p = ZeroRnnParameters(shape);

  Rng rng(o.seed);
  const double inv_sqrt_n = 1.0 / std::sqrt(static_cast<double>(n));
  if (o.base_gain > 0) p.w0 = o.base_gain * inv_sqrt_n * rng.NormalMatrix(n, n);
  if (o.base_weights.size() > 0) p.w0 = o.base_weights;
  switch (o.kind) {
    case WeightKind::kFull:
      p.w = 0.1 * inv_sqrt_n * rng.NormalMatrix(n, n);
      break;
    case WeightKind::kLowRank:
      p.a = inv_sqrt_n * rng.NormalMatrix(n, o.rank);
      p.b = inv_sqrt_n * rng.NormalMatrix(n, o.rank);
      break;
    case WeightKind::kLowTensorRank:
      p.a = inv_sqrt_n * rng.NormalMatrix(n, o.rank);
      p.b = inv_sqrt_n * rng.NormalMatrix(n, o.rank);
      // Constant trial factors: no smoothing penalty at the start; the
      // random a, b break the symmetry between components.
      p.c = MatrixXd::Ones(r.trials(), o.rank);
      break;
  }
  if (inputs)
    p.w_in = (1.0 / std::sqrt(static_cast<double>(p.w_in.cols()))) *
             rng.NormalMatrix(n, p.w_in.cols());
  p.x0 = o.init_x0_scale * rng.NormalMatrix(n, conditions);
  switch (o.readout) {
    case ReadoutKind::kFree:
      p.readout = inv_sqrt_n * rng.NormalMatrix(m, n);
      break;
    case ReadoutKind::kOrthonormal:
      p.readout = internal::BlockStiefelManifold::Orthonormalize(
          rng.NormalMatrix(m, n));
      break;
    case ReadoutKind::kIdentity:
      p.readout = MatrixXd::Identity(m, n);
      break;
  }
  // Offsets at each neuron's mean over the training entries.
  for (Index j = 0; j < m; ++j) {
    double sum = 0, count = 0;
    for (Index k = 0; k < r.trials(); ++k)
      for (Index t = 0; t < r.steps(); ++t)
        if (train(k, t, j)) {
          sum += r.activity(k, t, j);
          count += 1;
        }
    const double mean = count > 0 ? sum / count : 0.0;
    p.offset(j) =
        o.loss.loss == RnnLoss::kPoisson ? InverseSoftplus(mean) : mean;
  }
  return p;
}

// kAuto: the data-driven start only where it is measured to help.
FitInitialization ResolvedInitialization(const FitOptions& o) {
  if (o.initialization != FitInitialization::kAuto) return o.initialization;
  return o.readout == ReadoutKind::kIdentity ? FitInitialization::kData
                                             : FitInitialization::kRandom;
}

Problem BuildProblem(const FitOptions& o, const Recording& r) {
  ValidateData(o, r);
  Problem pr;
  const Index conditions = ResolveConditions(o, r);
  pr.masks = MakeHoldOutMasks(
      o.hold_out, r.activity.dims(), r.mask ? &*r.mask : nullptr);
  const bool inputs =
      o.external_inputs && !r.inputs.empty() && r.inputs.dim(2) > 0;
  pr.initial = InitialParameters(o, r, pr.masks.train, conditions, inputs);
  if (!o.initial_parameters &&
      ResolvedInitialization(o) == FitInitialization::kData)
    pr.init =
        internal::DataDrivenInitialization(o, r, pr.masks.train, &pr.initial);
  if (o.initial_parameters) {
    const RnnParameters& given = *o.initial_parameters;
    given.Validate();
    const RnnParameters& want = pr.initial;
    auto same = [](const MatrixXd& x, const MatrixXd& y) {
      return x.rows() == y.rows() && x.cols() == y.cols();
    };
    if (given.kind != want.kind || !same(given.w, want.w) ||
        !same(given.a, want.a) || !same(given.c, want.c) ||
        !same(given.x0, want.x0) || !same(given.readout, want.readout) ||
        given.num_inputs() != want.num_inputs() ||
        given.h.size() != want.h.size())
      throw Error(
          "the initial parameters do not have the shape the fit options and "
          "the recording imply (kind, rank, units, inputs, conditions, "
          "neurons, trials)");
    pr.initial = given;
    pr.initial.nonlinearity = o.nonlinearity;
    pr.initial.alpha = o.alpha;
    if (o.readout == ReadoutKind::kOrthonormal)
      pr.initial.readout =
          internal::BlockStiefelManifold::Orthonormalize(given.readout);
  }

  pr.blocks.w = true;
  pr.blocks.c = true;
  pr.blocks.w_in = inputs;
  pr.blocks.h = o.condition_inputs;
  pr.blocks.bias = true;
  pr.blocks.x0 = true;
  pr.blocks.readout = o.readout != ReadoutKind::kIdentity;
  pr.blocks.offset = true;

  pr.loss = o.loss;
  pr.loss.num_threads = std::max(1, o.num_threads);
  pr.test_loss = RnnLossOptions();
  pr.test_loss.loss = o.loss.loss;
  pr.test_loss.poisson_rate_floor = o.loss.poisson_rate_floor;
  pr.test_loss.num_threads = pr.loss.num_threads;

  double test_count = 0;
  for (Index k = 0; k < r.trials(); ++k) {
    RnnTrial trial;
    trial.trial = k;
    trial.condition = r.condition.empty() ? 0 : r.condition[k];
    if (inputs) trial.inputs = r.inputs.Slice(k);
    trial.targets = r.activity.Slice(k);
    trial.mask = pr.masks.train.Slice(k).cast<double>();
    RnnTrial test = trial;
    test.mask = pr.masks.test.Slice(k).cast<double>();
    test_count += test.mask.sum();
    pr.train.push_back(std::move(trial));
    pr.test.push_back(std::move(test));
  }
  if (test_count == 0) pr.test.clear();

  if (o.kind == WeightKind::kLowTensorRank &&
      o.smoothing.kind != TrialSmoothing::kNone) {
    std::vector<int> epochs;
    if (o.smoothing_breaks_at_epochs)
      epochs.assign(r.epoch.begin(), r.epoch.end());
    pr.smoothing = TrialSmoothingPenalty(o.smoothing, r.trials(), epochs);
  }
  if (o.readout == ReadoutKind::kOrthonormal) {
    // Packed order w|a|b|c|w_in|h|bias|x0|readout|offset: readout is
    // followed only by the offset.
    pr.readout_offset = NumPackedParameters(pr.initial, pr.blocks) -
                        pr.initial.readout.size() - pr.initial.offset.size();
  }
  return pr;
}

// Ceres' view of the objective. Exceptions (which should not happen after
// validation) and non-finite values count as a failed evaluation.
class CeresFunction : public ceres::FirstOrderFunction {
 public:
  explicit CeresFunction(const RnnObjective* objective)
      : objective_(objective) {}
  bool Evaluate(const double* x,
                double* cost,
                double* gradient) const override {
    try {
      if (objective_->Evaluate(x, cost, gradient)) return true;
    } catch (const std::exception&) {
    }
    ++failures_;
    return false;
  }
  int NumParameters() const override {
    return static_cast<int>(objective_->NumParameters());
  }
  int failures() const { return failures_.load(); }

 private:
  const RnnObjective* objective_;
  mutable std::atomic<int> failures_{0};
};

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
    double sum = 0, entries = 0;
    for (Index k = 0; k < r.trials(); ++k)
      for (Index t = 0; t < r.steps(); ++t)
        if (train(k, t, n)) {
          sum += r.activity(k, t, n);
          entries += 1;
        }
    if (entries == 0) continue;
    const double mean = sum / entries;
    const double rate = std::max(mean, loss.poisson_rate_floor);
    for (Index k = 0; k < r.trials(); ++k)
      for (Index t = 0; t < r.steps(); ++t) {
        if (!train(k, t, n)) continue;
        const double y = r.activity(k, t, n);
        total += loss.loss == RnnLoss::kPoisson ? rate - y * std::log(rate)
                                                : 0.5 * (y - mean) * (y - mean);
      }
    count += entries;
  }
  return count > 0 ? total / count : kNaN;
}

void WriteFitAttributes(const FitSummary& s, io::OutputFile* out) {
  const std::string g = "/fit";
  out->SetAttribute(g, "train_loss", s.train_loss);
  out->SetAttribute(g, "null_train_loss", s.null_train_loss);
  out->SetAttribute(g, "test_loss", s.test_loss);
  out->SetAttribute(g, "test_nmse", s.test_metrics.nmse);
  out->SetAttribute(g, "test_r2", s.test_metrics.r2);
  out->SetAttribute(g, "test_r2_median", s.test_metrics.r2_median);
  if (s.model.loss == RnnLoss::kPoisson)
    out->SetAttribute(g, "test_bits_per_spike", s.test_metrics.bits_per_spike);
  out->SetAttribute(g, "iterations", s.iterations);
  out->SetAttribute(g, "termination", s.termination);
  out->SetAttribute(g, "seconds", s.seconds);
  // Extensions.
  out->SetAttribute(g, "message", s.message);
  if (!s.optimizer.empty()) out->SetAttribute(g, "optimizer", s.optimizer);
  out->SetAttribute(g, "objective", s.objective);
  out->SetAttribute(g, "initial_loss", s.initial_loss);
  out->SetAttribute(g, "initialization", s.initialization);
  if (s.initialization == "data")
    out->SetAttribute(g, "init_one_step_r2", s.init_one_step_r2);
  out->SetAttribute(g, "best_iteration", s.best_iteration);
  out->SetAttribute(g, "train_r2", s.train_metrics.r2);
  out->SetAttribute(
      g, "test_entries", static_cast<std::int64_t>(s.test_metrics.count));
  if (!s.history.empty()) {
    VectorXd loss(s.history.size()), test(s.history.size());
    for (size_t i = 0; i < s.history.size(); ++i) {
      loss(i) = s.history[i].loss;
      test(i) = s.history[i].test_loss;
    }
    out->WriteVector(g + "/loss", loss, "iteration");
    out->WriteVector(g + "/test_loss", test, "iteration");
  }
}

// Progress, checkpoints, held-out tracking and early stopping.
class FitCallback : public ceres::IterationCallback {
 public:
  FitCallback(const FitOptions& options,
              const RnnObjective& train,
              const RnnObjective* test,
              const double* x,
              Clock::time_point start,
              FitSummary* summary)
      : o_(options),
        train_(train),
        test_(test),
        x_(x),
        n_(train.NumParameters()),
        start_(start),
        summary_(summary) {
    last_good_.assign(x, x + n_);
    best_ = last_good_;
  }

  ceres::CallbackReturnType operator()(
      const ceres::IterationSummary& it) override {
    const int i = it.iteration;
    const bool progress = o_.progress_every > 0 && i % o_.progress_every == 0;
    // SIGINT/SIGTERM (interrupt.h), polled once per iteration: stop here
    // with the current parameters and leave a checkpoint to resume from.
    interrupted_ = InterruptRequested();
    const bool checkpoint =
        (o_.checkpoint_every > 0 && i > 0 && i % o_.checkpoint_every == 0) ||
        (interrupted_ && !o_.checkpoint_path.empty());
    const bool finite = std::isfinite(it.cost);
    if (finite) last_good_.assign(x_, x_ + n_);
    double test = kNaN;
    if (test_ != nullptr && (o_.patience > 0 || progress || checkpoint))
      test = DataLoss(*test_, x_);
    summary_->history.push_back({i, it.cost, test, Seconds(start_)});

    if (o_.patience > 0 && std::isfinite(test)) {
      if (test < best_test_) {
        best_test_ = test;
        best_iteration_ = i;
        best_.assign(x_, x_ + n_);
        since_best_ = 0;
      } else {
        ++since_best_;
      }
    } else if (finite && o_.patience == 0) {
      best_iteration_ = i;
    }
    if (progress) {
      char line[160];
      std::snprintf(line,
                    sizeof line,
                    "iter %6d  loss %.6e  held-out %.6e  |g| %.2e  %.1f s\n",
                    i,
                    it.cost,
                    test,
                    it.gradient_norm,
                    Seconds(start_));
      std::cerr << line << std::flush;
    }
    if (checkpoint) WriteCheckpoint(i, it.cost, test);
    if (interrupted_) return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
    if (o_.patience > 0 && since_best_ >= o_.patience) {
      early_stopped_ = true;
      return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
    }
    return ceres::SOLVER_CONTINUE;
  }

  // The split written with every checkpoint.
  void set_masks(const HoldOutMasks* masks) { masks_ = masks; }
  const std::vector<double>& last_good() const { return last_good_; }
  const std::vector<double>& best() const { return best_; }
  int best_iteration() const { return best_iteration_; }
  bool has_best() const { return std::isfinite(best_test_); }
  bool early_stopped() const { return early_stopped_; }
  bool interrupted() const { return interrupted_; }

 private:
  void WriteCheckpoint(int iteration, double cost, double test) {
    FitSummary s;
    s.model.parameters = train_.Parameters(x_);
    NormalizeFactors(&s.model.parameters);
    s.model.loss = o_.loss.loss;
    s.model.readout = o_.readout;
    s.optimizer = FitOptimizerName(o_.optimizer);
    s.termination = interrupted_ ? "interrupted" : "running";
    s.message = interrupted_
                    ? "checkpoint written when a signal stopped the fit"
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
    if (masks_ != nullptr) s.masks = *masks_;
    io::OutputFile out(o_.checkpoint_path, o_.command);
    WriteFit(s, &out);
    out.Commit();
  }

  const FitOptions& o_;
  const RnnObjective& train_;
  const RnnObjective* test_;
  const double* x_;
  Index n_;
  Clock::time_point start_;
  FitSummary* summary_;
  const HoldOutMasks* masks_ = nullptr;
  std::vector<double> last_good_, best_;
  double best_test_ = std::numeric_limits<double>::infinity();
  int best_iteration_ = 0;
  int since_best_ = 0;
  bool early_stopped_ = false;
  bool interrupted_ = false;
};

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
               ceres::GradientProblemSolver::Summary* summary) {
  const Clock::time_point start = Clock::now();
  const int n = function.NumParameters();
  VectorXd gradient(n), direction(n), step(n), next(n);
  VectorXd m = VectorXd::Zero(n), v = VectorXd::Zero(n);
  Eigen::Map<VectorXd> point(x, n);
  summary->termination_type = ceres::NO_CONVERGENCE;
  summary->message = "Maximum number of iterations reached.";
  for (int i = 0;; ++i) {
    double cost = 0;
    if (!function.Evaluate(x, &cost, gradient.data()) || !std::isfinite(cost) ||
        !gradient.allFinite()) {
      summary->termination_type = ceres::FAILURE;
      summary->message = "Adam: the loss or its gradient is not finite";
      if (i == 0) summary->initial_cost = kNaN;
      return;
    }
    // The Riemannian gradient on the manifold, the plain one otherwise.
    if (manifold != nullptr)
      manifold->RightMultiplyByPlusJacobian(
          x, 1, gradient.data(), direction.data());
    else
      direction = gradient;
    if (i == 0) summary->initial_cost = cost;
    ceres::IterationSummary it;
    it.iteration = i;
    it.cost = cost;
    it.gradient_norm = direction.norm();
    it.gradient_max_norm = direction.lpNorm<Eigen::Infinity>();
    it.cumulative_time_in_seconds = Seconds(start);
    summary->iterations.push_back(it);
    if ((*callback)(it) != ceres::SOLVER_CONTINUE) {
      summary->termination_type = ceres::USER_SUCCESS;
      summary->message = "stopped by the iteration callback";
      return;
    }
    if (i >= o.max_iterations) return;
    if (Seconds(start) >= o.max_seconds) {
      summary->message = "Maximum solver time reached.";
      return;
    }
    // Cosine annealing from learning_rate to learning_rate * decay.
    const double done = double(i) / std::max(1, o.max_iterations);
    const double rate =
        o.learning_rate * (o.learning_rate_decay +
                           (1 - o.learning_rate_decay) * 0.5 *
                               (1 + std::cos(3.14159265358979323846 * done)));
    step = internal::FirstOrderStep(
        {Optimizer::kAdam, 0.0, {o.adam_beta1, o.adam_beta2, o.adam_epsilon}},
        rate, direction, i, &m, &v);
    if (manifold != nullptr) {
      manifold->Plus(x, step.data(), next.data());
      point = next;
    } else {
      point += step;
    }
  }
}

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

}  // namespace

bool FitOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (kind != WeightKind::kFull && rank < 1) return fail("rank must be >= 1");
  if (units < 0) return fail("units must be >= 0 (0 = number of neurons)");
  if (kind != WeightKind::kFull && units > 0 && rank > units)
    return fail("rank " + std::to_string(rank) +
                " is larger than the number of units " + std::to_string(units));
  if (!(alpha > 0 && alpha <= 1)) return fail("alpha must be in (0, 1]");
  if (conditions < 0) return fail("conditions must be >= 0");
  if (!(base_gain >= 0) || !std::isfinite(base_gain))
    return fail("base gain must be finite and >= 0");
  if (base_weights.size() > 0 && (base_weights.rows() != base_weights.cols() ||
                                  (units > 0 && base_weights.rows() != units) ||
                                  !base_weights.allFinite()))
    return fail("base weights must be a finite units x units matrix");
  if (!(init_x0_scale >= 0)) return fail("init_x0_scale must be >= 0");
  if (!(init_ridge > 0) || !std::isfinite(init_ridge))
    return fail("init_ridge must be finite and > 0");
  if (!(init_tanh_saturation > 0 && init_tanh_saturation < 1))
    return fail("init_tanh_saturation must be in (0, 1)");
  if (init_em_iterations < 0) return fail("init_em_iterations must be >= 0");
  if (init_als_iterations < 0) return fail("init_als_iterations must be >= 0");
  std::string sub;
  RnnLossOptions l = loss;
  l.num_threads = std::max(1, num_threads);
  if (!l.IsValid(&sub)) return fail(sub);
  if (!smoothing.IsValid(&sub)) return fail(sub);
  if (!hold_out.IsValid(&sub)) return fail(sub);
  if (max_iterations < 0) return fail("max_iterations must be >= 0");
  if (!(function_tolerance >= 0) || !(gradient_tolerance >= 0) ||
      !(parameter_tolerance >= 0))
    return fail("tolerances must be >= 0");
  if (!(max_seconds > 0)) return fail("max_seconds must be > 0");
  if (lbfgs_rank < 1) return fail("lbfgs_rank must be >= 1");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    return fail("learning_rate must be finite and > 0");
  if (!(adam_beta1 >= 0 && adam_beta1 < 1) ||
      !(adam_beta2 >= 0 && adam_beta2 < 1))
    return fail("Adam's betas must be in [0, 1)");
  if (!(adam_epsilon > 0)) return fail("adam_epsilon must be > 0");
  if (!(learning_rate_decay > 0 && learning_rate_decay <= 1))
    return fail("learning_rate_decay must be in (0, 1]");
  if (patience < 0) return fail("patience must be >= 0");
  if (patience > 0 && hold_out.scheme == HoldOut::kNone)
    return fail("early stopping (patience) needs held-out data");
  if (progress_every < 0) return fail("progress_every must be >= 0");
  if (checkpoint_every < 0) return fail("checkpoint_every must be >= 0");
  if (checkpoint_every > 0 && checkpoint_path.empty())
    return fail("checkpoint_every needs a checkpoint_path");
  if (num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

FitSummary FitRnn(const FitOptions& options, const Recording& recording) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const Clock::time_point start = Clock::now();
  const Problem problem = BuildProblem(options, recording);
  if (options.progress_every > 0 && problem.init.seconds > 0) {
    char line[160];
    std::snprintf(
        line,
        sizeof line,
        "data-driven start: one-step R2 %.4f, %d ALS sweeps, %.2f s\n",
        problem.init.one_step_r2,
        problem.init.als_iterations,
        problem.init.seconds);
    std::cerr << line << std::flush;
  }

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

  ceres::GradientProblemSolver::Options solver;
  solver.line_search_direction_type = ceres::LBFGS;
  solver.max_lbfgs_rank = options.lbfgs_rank;
  solver.max_num_iterations = options.max_iterations;
  solver.max_solver_time_in_seconds = options.max_seconds;
  solver.function_tolerance = options.function_tolerance;
  solver.gradient_tolerance = options.gradient_tolerance;
  solver.parameter_tolerance = options.parameter_tolerance;
  solver.logging_type = ceres::SILENT;
  solver.update_state_every_iteration = true;
  FitCallback callback(options, train, test.get(), x.data(), start, &summary);
  solver.callbacks.push_back(&callback);
  callback.set_masks(&problem.masks);

  auto function = std::make_unique<CeresFunction>(&train);
  const CeresFunction* function_view = function.get();
  std::unique_ptr<ceres::GradientProblem> ceres_problem;
  const ceres::Manifold* stiefel = nullptr;  // owned by ceres_problem
  if (problem.readout_offset >= 0) {
    auto manifold = std::make_unique<internal::BlockStiefelManifold>(
        static_cast<int>(x.size()),
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
  ceres::GradientProblemSolver::Summary ceres_summary;
  if (options.optimizer == FitOptimizer::kAdam)
    SolveAdam(
        options, *function_view, stiefel, &callback, x.data(), &ceres_summary);
  else
    ceres::Solve(solver, *ceres_problem, x.data(), &ceres_summary);

  summary.message = ceres_summary.message;
  summary.optimizer = FitOptimizerName(options.optimizer);
  summary.initial_loss = ceres_summary.initial_cost;
  summary.initialization =
      options.initial_parameters
          ? "given"
          : FitInitializationName(ResolvedInitialization(options));
  summary.init_one_step_r2 = problem.init.one_step_r2;
  summary.init_seconds = problem.init.seconds;
  summary.iterations = ceres_summary.iterations.empty()
                           ? 0
                           : ceres_summary.iterations.back().iteration;
  const bool failed = ceres_summary.termination_type == ceres::FAILURE ||
                      ceres_summary.termination_type == ceres::USER_FAILURE;
  bool diverged = failed && (function_view->failures() > 0 ||
                             !std::isfinite(ceres_summary.initial_cost));
  std::vector<double> chosen(x.data(), x.data() + x.size());
  summary.best_iteration = summary.iterations;
  if (diverged || !x.allFinite()) {
    diverged = true;
    chosen = callback.last_good();
    summary.termination = "diverged";
    summary.message = "the loss or its gradient stopped being finite (" +
                      ceres_summary.message +
                      "); the last finite parameters are kept";
  } else if (callback.interrupted()) {
    summary.termination = "interrupted";
    summary.message = "stopped by signal " + std::to_string(InterruptSignal()) +
                      " at iteration " + std::to_string(summary.iterations) +
                      "; the current parameters are kept";
  } else if (callback.early_stopped()) {
    summary.termination = "early_stopped";
    summary.message = "held-out loss did not improve for " +
                      std::to_string(options.patience) + " iterations";
  } else if (ceres_summary.termination_type == ceres::CONVERGENCE &&
             ceres_summary.message.rfind("Parameter tolerance", 0) != 0) {
    // Ceres' function or gradient tolerance: the loss has stopped falling.
    summary.termination = "converged";
  } else if (ceres_summary.termination_type == ceres::CONVERGENCE || failed) {
    // Steps too small to matter (parameter tolerance), or a line search that
    // finds no decrease: progress stopped, which says nothing about being
    // at a minimum (a sharp valley does the same).
    summary.termination = "stalled";
    summary.message = (failed ? "stopped by the line search: "
                              : "stopped on the step size: ") +
                      ceres_summary.message;
  } else {
    summary.termination = "no_convergence";
  }
  // An interrupted fit keeps its current parameters: they are what a
  // resume continues from.
  if (!diverged && options.patience > 0 && callback.has_best() &&
      !callback.interrupted()) {
    chosen = callback.best();
    summary.best_iteration = callback.best_iteration();
  }
  summary.diverged = diverged;

  summary.model.parameters = train.Parameters(chosen.data());
  double cost = 0;
  RnnLossSummary final_loss;
  try {
    train.Evaluate(chosen.data(), &cost, nullptr, &final_loss);
    summary.objective = final_loss.total;
    summary.train_loss = final_loss.data;
  } catch (const std::exception&) {
    summary.objective = summary.train_loss = kNaN;
  }
  summary.test_loss = test ? DataLoss(*test, chosen.data()) : kNaN;
  summary.null_train_loss =
      NullDataLoss(options.loss, recording, problem.masks.train);
  NormalizeFactors(&summary.model.parameters);

  const Tensor3 prediction =
      Predict(summary.model, recording, std::max(1, options.num_threads));
  const bool counts = options.loss.loss == RnnLoss::kPoisson;
  summary.train_metrics = ComputeMetrics(
      recording.activity, prediction, problem.masks.train, counts);
  summary.test_metrics = ComputeMetrics(
      recording.activity, prediction, problem.masks.test, counts);
  summary.masks = problem.masks;
  summary.seconds = Seconds(start);
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
          y = y.unaryExpr([](double z) { return Softplus(z); });
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

std::vector<std::string> FitWarnings(const FitOptions& o, const Recording& r) {
  // Bad data are an error first, as FitRnn would throw it.
  ValidateData(o, r);
  std::vector<std::string> warnings;
  // Observed values, per neuron: integers >= 0? range?
  bool counts = true, any_nonzero = false;
  Index wide = 0;
  for (Index n = 0; n < r.neurons(); ++n) {
    double lowest = std::numeric_limits<double>::infinity();
    double highest = -lowest;
    for (Index k = 0; k < r.trials(); ++k)
      for (Index t = 0; t < r.steps(); ++t) {
        if (r.mask && (*r.mask)(k, t, n) == 0) continue;
        const double y = r.activity(k, t, n);
        if (!std::isfinite(y)) continue;
        counts = counts && y >= 0 && y == std::floor(y);
        any_nonzero = any_nonzero || y != 0;
        lowest = std::min(lowest, y);
        highest = std::max(highest, y);
      }
    if (highest - lowest > 2) ++wide;
  }
  if (o.loss.loss == RnnLoss::kMse && counts && any_nonzero)
    warnings.push_back(
        "the activity is integer counts; --loss poisson models counts (mse "
        "treats them as rates)");
  if (r.condition.empty() && (r.inputs.empty() || !o.external_inputs))
    warnings.push_back(
        "the recording has no /condition and no /inputs: every trial starts "
        "from one state with no input");
  if (o.nonlinearity == Nonlinearity::kTanh &&
      o.readout == ReadoutKind::kIdentity && wide > 0)
    warnings.push_back(
        std::to_string(wide) + " of " + std::to_string(r.neurons()) +
        " neurons span more than 2 (z-scored data?), but tanh through "
        "--readout identity reaches an interval of width 2 per neuron; "
        "rescale the activity into (-1, 1) or use --readout free");
  return warnings;
}

bool RankSweepOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (ranks.empty()) return fail("no ranks to sweep");
  for (int r : ranks)
    if (r < 1) return fail("ranks must be >= 1");
  if (seeds < 1) return fail("seeds must be >= 1");
  if (!(relative_tolerance >= 0))
    return fail("relative_tolerance must be >= 0");
  if (fit.hold_out.scheme == HoldOut::kNone)
    return fail("a rank sweep needs held-out data (held-out scheme none)");
  if (fit.kind == WeightKind::kFull)
    return fail("a rank sweep needs a lowrank or ltr model");
  FitOptions probe = fit;
  probe.rank = *std::max_element(ranks.begin(), ranks.end());
  return probe.IsValid(error);
}

RankSweepSummary SweepRanks(const RankSweepOptions& options,
                            const Recording& recording) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const Clock::time_point start = Clock::now();
  RankSweepSummary out;
  out.ranks = options.ranks;
  const Index n_ranks = static_cast<Index>(options.ranks.size());
  out.train_loss.setConstant(n_ranks, options.seeds, kNaN);
  out.test_loss.setConstant(n_ranks, options.seeds, kNaN);
  out.test_r2.setConstant(n_ranks, options.seeds, kNaN);
  // Task i * seeds + s fits rank i from seed fit.seed + s: the tasks are
  // shared among the processes of an MPI run (distributed.h), which gather
  // the losses; each process keeps the fits it made.
  const int seeds = options.seeds;
  const int num_tasks = static_cast<int>(n_ranks) * seeds;
  auto fit_task = [&](int task) {
    FitOptions o = options.fit;
    o.rank = options.ranks[task / seeds];
    o.seed = options.fit.seed + static_cast<std::uint64_t>(task % seeds);
    // One model file cannot hold the checkpoints of many fits, and a sweep
    // is not resumable: its fits write none, also when a signal stops them.
    o.checkpoint_every = 0;
    o.checkpoint_path.clear();
    return FitRnn(o, recording);
  };
  std::vector<std::optional<FitSummary>> local(num_tasks);
  const auto losses = distributed::RunTasks(num_tasks, [&](int task) {
    FitSummary f = fit_task(task);
    if (options.fit.progress_every > 0)
      std::cerr << "rank " << options.ranks[task / seeds] << " seed "
                << options.fit.seed + static_cast<std::uint64_t>(task % seeds)
                << ": " << f.termination << ", held-out loss " << f.test_loss
                << "\n";
    distributed::Buffer b;
    b.PutDouble(f.train_loss);
    b.PutDouble(f.test_loss);
    b.PutDouble(f.test_metrics.r2);
    local[task] = std::move(f);
    return b.Release();
  });
  for (int task = 0; task < num_tasks; ++task) {
    if (!losses[task]) continue;  // interrupted: stays NaN
    distributed::Buffer b(*losses[task]);
    out.train_loss(task / seeds, task % seeds) = b.GetDouble();
    out.test_loss(task / seeds, task % seeds) = b.GetDouble();
    out.test_r2(task / seeds, task % seeds) = b.GetDouble();
  }
  // Per rank: the lowest held-out loss over seeds (a fit stuck in a poor
  // local minimum says nothing about the rank), and the standard error of
  // the held-out losses over seeds.
  VectorXd mean(n_ranks), se(n_ranks);
  for (Index i = 0; i < n_ranks; ++i) {
    double sum = 0, sum2 = 0, n = 0;
    double lowest = std::numeric_limits<double>::infinity();
    for (int s = 0; s < options.seeds; ++s) {
      const double v = out.test_loss(i, s);
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
  out.chosen_rank = options.ranks[chosen];
  int best_seed = 0;
  for (int s = 1; s < options.seeds; ++s)
    if (out.test_loss(chosen, s) < out.test_loss(chosen, best_seed))
      best_seed = s;
  // The process that made the chosen fit has it; the others fit it again
  // (the same task, so the same bits) so that every process returns the
  // same summary. Not after an interrupt: the table is incomplete then.
  const int chosen_task = static_cast<int>(chosen) * seeds + best_seed;
  if (local[chosen_task])
    out.best = std::move(*local[chosen_task]);
  else if (!InterruptRequested())
    out.best = fit_task(chosen_task);
  out.seconds = Seconds(start);
  return out;
}

std::string RankSweepSummary::BriefReport() const {
  std::ostringstream s;
  s << "Rank sweep: " << ranks.size() << " ranks x " << train_loss.cols()
    << " seeds in " << Format("%.1f", seconds) << " s\n"
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

void WriteFit(const FitSummary& summary, io::OutputFile* out) {
  WriteModel(summary.model, out);
  WriteFitAttributes(summary, out);
  if (summary.masks.train.empty()) return;
  out->WriteMask3(
      "/heldout/train_mask", summary.masks.train, "trial,time,neuron");
  out->WriteMask3(
      "/heldout/test_mask", summary.masks.test, "trial,time,neuron");
}

FitSummary ReadFitSummary(const std::string& file) {
  const std::string g = "/fit";
  if (!io::HasAttribute(file, g, "termination"))
    throw Error("'" + file + "' has no /fit (not written by ltr fit?)");
  auto number = [&](const char* name) {
    return io::HasAttribute(file, g, name)
               ? io::ReadDoubleAttribute(file, g, name)
               : kNaN;
  };
  auto text = [&](const char* name) {
    return io::HasAttribute(file, g, name)
               ? io::ReadStringAttribute(file, g, name)
               : std::string();
  };
  FitSummary s;
  s.model = ReadModel(file);
  s.termination = text("termination");
  s.diverged = s.termination == "diverged";
  s.message = text("message");
  s.optimizer = text("optimizer");
  s.initialization = text("initialization");
  s.train_loss = number("train_loss");
  s.test_loss = number("test_loss");
  s.test_metrics.nmse = number("test_nmse");
  s.test_metrics.r2 = number("test_r2");
  s.test_metrics.r2_median = number("test_r2_median");
  s.test_metrics.bits_per_spike = number("test_bits_per_spike");
  s.test_metrics.count = static_cast<Index>(number("test_entries"));
  s.train_metrics.r2 = number("train_r2");
  s.iterations = static_cast<int>(number("iterations"));
  s.best_iteration = static_cast<int>(number("best_iteration"));
  s.seconds = number("seconds");
  s.objective = number("objective");
  s.initial_loss = number("initial_loss");
  s.init_one_step_r2 = number("init_one_step_r2");
  if (io::HasDataset(file, g + "/loss")) {
    const VectorXd loss = io::ReadVector(file, g + "/loss");
    const VectorXd test = io::ReadVector(file, g + "/test_loss");
    for (Index i = 0; i < loss.size(); ++i)
      s.history.push_back({static_cast<int>(i), loss(i), test(i), kNaN});
  }
  return s;
}

RankSweepSummary ReadRankSweep(const std::string& file) {
  if (!io::HasAttribute(file, "/cv", "chosen_rank"))
    throw Error("'" + file + "' has no /cv (not a rank sweep of ltr fit?)");
  RankSweepSummary s;
  s.best = ReadFitSummary(file);
  for (std::int64_t r : io::ReadIntVector(file, "/cv/ranks"))
    s.ranks.push_back(static_cast<int>(r));
  s.train_loss = io::ReadMatrix(file, "/cv/train_loss");
  s.test_loss = io::ReadMatrix(file, "/cv/test_loss");
  s.test_r2 = io::ReadMatrix(file, "/cv/test_r2");
  s.chosen_rank =
      static_cast<int>(io::ReadDoubleAttribute(file, "/cv", "chosen_rank"));
  return s;
}

void WriteRankSweep(const RankSweepSummary& summary, io::OutputFile* out) {
  WriteFit(summary.best, out);
  std::vector<std::int64_t> ranks(summary.ranks.begin(), summary.ranks.end());
  out->WriteIntVector("/cv/ranks", ranks, "rank");
  out->WriteMatrix("/cv/train_loss", summary.train_loss, "rank,seed");
  out->WriteMatrix("/cv/test_loss", summary.test_loss, "rank,seed");
  out->WriteMatrix("/cv/test_r2", summary.test_r2, "rank,seed");
  out->SetAttribute("/cv", "chosen_rank", summary.chosen_rank);
}

}  // namespace ltr
