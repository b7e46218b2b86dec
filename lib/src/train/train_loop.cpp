// The training loop: a fresh batch per step, the optimiser update, snapshots
// to a sink, and the stops (cancellation, stop_after_steps, divergence).
#include <chrono>
#include <cmath>

#include "ltr/core/error.h"
#include "ltr/train/train.h"
#include "optim/first_order.h"
#include "train/report.h"

namespace ltr {

using Eigen::Index;
using Eigen::VectorXd;

namespace {

// A loss this many times the run's first is divergence, even while finite
// (SGD at a far too large rate: 0.06 -> 1e245 in 20 steps, measured).
constexpr double kDivergedLossGrowth = 1e10;

// The optimiser update x -= step(gradient), with its moments.
class OptimizerState {
 public:
  OptimizerState(const TrainOptions& o, TrainState* state)
      : o_(o), eta_(o.EffectiveLearningRate()), s_(state) {
    const Index n = s_->x.size();
    if (o.optimizer != Optimizer::kSgd && s_->moment1.size() != n)
      s_->moment1 = VectorXd::Zero(n);
    if (o.optimizer == Optimizer::kAdam && s_->moment2.size() != n)
      s_->moment2 = VectorXd::Zero(n);
  }

  void Step(const VectorXd& g) {
    internal::FirstOrderUpdate(
        {o_.optimizer,
         o_.momentum,
         {o_.adam_beta1, o_.adam_beta2, o_.adam_epsilon}},
        eta_,
        g,
        s_->step,
        &s_->moment1,
        &s_->moment2,
        &s_->x);
    ++s_->step;
  }

 private:
  const TrainOptions& o_;
  double eta_;
  TrainState* s_;
};

// The starting state: the checkpoint resumed from, or the initial network.
TrainState StartState(const RnnObjective& objective, const TrainState* resume) {
  if (resume == nullptr) {
    TrainState state;
    state.x = objective.InitialPoint();
    return state;
  }
  if (resume->x.size() != objective.NumParameters())
    throw Error("the checkpoint holds " + std::to_string(resume->x.size()) +
                " parameters, expected " +
                std::to_string(objective.NumParameters()));
  return *resume;
}

// One run of Train: the objective, the state and what is pending for the
// next snapshot.
class TrainRun {
 public:
  TrainRun(const TrainOptions& o, TrainSink* sink, const TrainState* resume)
      : o_(o),
        sink_(sink),
        objective_(InitialNetwork(o),
                   TrainedBlocks(o),
                   TaskLossOptions(o.task, o.run.num_threads),
                   nullptr),
        state_(StartState(objective_, resume)),
        optimizer_(o, &state_),
        gradient_(objective_.NumParameters()) {
    summary_.first_step = state_.step;
  }

  TrainSummary Run(bool resumed, RnnParameters* final_parameters) {
    if (!resumed) Snapshot();
    bool stopped = false;
    while (state_.step < o_.steps) {
      stopped = StopRequested();
      if (stopped || !Step()) break;
      if (state_.step % o_.record_every == 0 || state_.step == o_.steps)
        Snapshot();
    }
    // A stopped run leaves its last steps unwritten, as a crash would: a
    // resume redoes them from the last checkpoint.
    if (!pending_loss_.empty() && !stopped) Snapshot();
    summary_.steps_done = state_.step;
    summary_.complete = state_.step >= o_.steps && summary_.finite;
    if (final_parameters != nullptr)
      *final_parameters = objective_.Parameters(state_.x.data());
    return summary_;
  }

 private:
  // Cancellation or stop_after_steps, polled between steps.
  bool StopRequested() {
    const std::string after =
        " after " + std::to_string(state_.step) + " steps";
    if (o_.stop_after_steps > 0 && state_.step >= o_.stop_after_steps) {
      summary_.message = "stopped" + after + " (stop_after_steps)";
      return true;
    }
    if (o_.run.cancelled()) {
      // The file ends at the last snapshot, whose checkpoint a resume
      // continues from, so the result stays bit-identical to an
      // uninterrupted run (at most record_every - 1 steps are redone).
      summary_.message = "cancelled" + after;
      summary_.cancelled = true;
      return true;
    }
    return false;
  }

  // One optimiser step on a fresh batch; false (and the summary says why)
  // when the loss or gradient is not finite or the loss has diverged.
  bool Step() {
    Rng rng(StepSeed(o_.seed, state_.step));
    const TaskBatch batch = GenerateBatch(o_.task, o_.batch, &rng);
    objective_.set_trials(&batch.trials);
    double cost = 0.0;
    const bool finite =
        objective_.Evaluate(state_.x.data(), &cost, gradient_.data());
    const double norm = gradient_.norm();
    summary_.loss.push_back(cost);
    summary_.grad_norm.push_back(norm);
    pending_loss_.push_back(cost);
    pending_norm_.push_back(norm);
    const bool exploded = cost > kDivergedLossGrowth * summary_.loss.front();
    if (!finite || !gradient_.allFinite() || !state_.x.allFinite() ||
        exploded) {
      Diverged(cost, exploded);
      return false;
    }
    previous_x_ = state_.x;
    optimizer_.Step(gradient_);
    return true;
  }

  void Diverged(double cost, bool exploded) {
    summary_.finite = false;
    summary_.message = (exploded ? "the loss grew more than 1e10-fold, from " +
                                       internal::Fixed(summary_.loss.front()) +
                                       " to " + internal::Fixed(cost) + ","
                                 : std::string("non-finite loss or gradient")) +
                       " at step " + std::to_string(state_.step) + "; stopped";
    if (!state_.x.allFinite() && previous_x_.size() == state_.x.size()) {
      // The last step overflowed the parameters: keep the ones before it.
      state_.x = previous_x_;
      --state_.step;
      summary_.message += " (the parameters of step " +
                          std::to_string(state_.step) +
                          ", the last finite, are kept)";
    }
  }

  void Snapshot() {
    if (sink_ != nullptr)
      sink_->Snapshot(objective_.Parameters(state_.x.data()),
                      state_,
                      pending_loss_,
                      pending_norm_);
    ++summary_.snapshots;
    if (!pending_loss_.empty())
      o_.run.Report("step " + std::to_string(state_.step) + " of " +
                    std::to_string(o_.steps) + ": loss " +
                    internal::Fixed(pending_loss_.back()));
    pending_loss_.clear();
    pending_norm_.clear();
  }

  const TrainOptions& o_;
  TrainSink* sink_;
  RnnObjective objective_;
  TrainState state_;
  OptimizerState optimizer_;  // updates state_
  VectorXd gradient_;
  VectorXd previous_x_;  // before the last step
  TrainSummary summary_;
  std::vector<double> pending_loss_;
  std::vector<double> pending_norm_;
};

}  // namespace

TrainSummary Train(const TrainOptions& o,
                   TrainSink* sink,
                   const TrainState* resume,
                   RnnParameters* final_parameters) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  TrainRun run(o, sink, resume);
  TrainSummary summary = run.Run(resume != nullptr, final_parameters);
  summary.seconds = internal::SecondsSince(start);
  return summary;
}

}  // namespace ltr
