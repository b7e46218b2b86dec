// Pellegrino et al. (2023)'s learning-over-trials protocol on the reach task:
// pre-training, then baseline, curl-force adaptation and washout trials with
// trial-by-trial SGD, every trial recorded (weights and activity).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/train/train.h"
#include "train/report.h"

namespace ltr {

using Eigen::MatrixXd;
using Eigen::VectorXd;

bool AdaptationOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (baseline_trials < 0 || adaptation_trials < 0 || washout_trials < 0)
    return fail("trial counts must be >= 0");
  if (baseline_trials + adaptation_trials + washout_trials < 1)
    return fail("the protocol has no trials");
  if (!std::isfinite(curl)) return fail("curl must be finite");
  if (!(learning_rate >= 0.0) || !std::isfinite(learning_rate))
    return fail("adaptation learning rate must be finite and >= 0");
  if (!(clip_norm >= 0.0) || !std::isfinite(clip_norm))
    return fail("adaptation clip norm must be finite and >= 0");
  return true;
}

std::string AdaptationSummary::BriefReport() const {
  std::ostringstream out;
  out << "pre-training: " << pretraining.BriefReport()
      << "\nadaptation: " << trial_loss.size() << " trials";
  if (!trial_loss.empty())
    out << ", loss first " << internal::Fixed(trial_loss.front()) << ", last "
        << internal::Fixed(trial_loss.back());
  out << ", " << internal::Fixed(seconds) << " s";
  if (!message.empty()) out << ": " << message;
  return out.str();
}

namespace {

constexpr const char* kEpochNames[3] = {"baseline", "adaptation", "washout"};

// The trials of one protocol run after pre-training, streamed to a writer.
class Protocol {
 public:
  Protocol(const TrainOptions& o,
           const AdaptationOptions& a,
           TrajectoryWriter* writer,
           AdaptationSummary* summary)
      : o_(o),
        a_(a),
        writer_(writer),
        summary_(summary),
        blocks_(TrainedBlocks(o)),
        rng_(StepSeed(o.seed, -2)) {  // distinct from every training step
    if (a.recurrent_only) {
      blocks_.w_in = false;
      blocks_.readout = false;
    }
  }

  // Runs the three epochs from the pre-trained *p; false when stopped
  // (cancelled, or a non-finite loss or gradient).
  bool Run(RnnParameters* p) {
    const int trials[3] = {
        a_.baseline_trials, a_.adaptation_trials, a_.washout_trials};
    for (int epoch = 0; epoch < 3; ++epoch) {
      TaskOptions task = o_.task;
      task.curl = epoch == 1 ? a_.curl : 0.0;
      const RnnLossOptions loss = TaskLossOptions(task, 1);
      for (int k = 0; k < trials[epoch]; ++k) {
        if (o_.run.cancelled()) {
          summary_->cancelled = true;  // flushed at the last trial
          return false;
        }
        if (!Trial(task, loss, epoch, p)) return false;
      }
      if (trials[epoch] > 0)
        o_.run.Report(std::string(kEpochNames[epoch]) + ": " +
                      std::to_string(trials[epoch]) + " trials, last loss " +
                      internal::Fixed(summary_->trial_loss.back()));
    }
    return true;
  }

 private:
  // Records trial `index_` run with *p, then learns from it (epochs 1, 2).
  bool Trial(const TaskOptions& task,
             const RnnLossOptions& loss_options,
             int epoch,
             RnnParameters* p) {
    const bool learn = epoch > 0;
    const TaskBatch batch = GenerateBatch(task, 1, &rng_);
    const RnnTrial& trial = batch.trials[0];
    const RnnTrajectory run =
        Simulate(*p, 0, 0, trial.num_steps(), trial.inputs);
    const MatrixXd rates = Phi(p->nonlinearity, run.states.reshaped())
                               .reshaped(run.states.rows(), run.states.cols());
    RnnParameters gradient;
    const RnnLossSummary loss = EvaluateLoss(
        *p, batch.trials, loss_options, blocks_, learn ? &gradient : nullptr);
    const VectorXd g = learn ? PackParameters(gradient, blocks_) : VectorXd();
    AdaptationTrialRecord record;
    record.index = index_++;
    record.weights = p;  // the weights of this trial, before it is learned
    record.trial = &trial;
    record.rates = &rates;
    record.condition = batch.labels[0];
    record.epoch = epoch;
    record.loss = loss.total;
    record.grad_norm = g.norm();
    writer_->AppendTrial(record);
    summary_->trial_loss.push_back(loss.total);
    if (!std::isfinite(loss.total) || !g.allFinite()) {
      // Diverged: the file ends with this trial's (finite) weights.
      summary_->finite = false;
      summary_->message = "non-finite loss or gradient at protocol trial " +
                          std::to_string(record.index) + "; stopped";
      return false;
    }
    if (learn) Learn(g, p);
    return true;
  }

  // One SGD step. Clipping rescales the gradient, so the step stays a
  // multiple of it (the rank bounds' linear-optimiser hypothesis holds).
  void Learn(const VectorXd& g, RnnParameters* p) const {
    const double norm = g.norm();
    const double scale =
        a_.clip_norm > 0.0 && norm > a_.clip_norm ? a_.clip_norm / norm : 1.0;
    VectorXd x = PackParameters(*p, blocks_);
    x -= a_.learning_rate * scale * g;
    UnpackParameters(x.data(), blocks_, p);
  }

  const TrainOptions& o_;
  const AdaptationOptions& a_;
  TrajectoryWriter* writer_;
  AdaptationSummary* summary_;
  RnnBlocks blocks_;
  Rng rng_;
  std::int64_t index_ = 0;
};

AdaptationSummary RunAdaptation(const TrainOptions& options,
                                const AdaptationOptions& adaptation,
                                const std::string& path,
                                const std::string& command) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  if (!adaptation.IsValid(&error)) throw Error(error);
  if (options.task.kind != TaskKind::kReach)
    throw Error("the adaptation protocol needs --task reach");
  // Grown at the partial name, renamed to `path` when the protocol is done.
  TrajectoryWriter writer(io::PartialPath(path), command, options, &adaptation);
  AdaptationSummary summary;
  TrainOptions pre = options;
  pre.task.curl = 0.0;
  RnnParameters p;
  summary.pretraining = Train(pre, nullptr, nullptr, &p);
  if (options.run.cancelled()) {
    // No protocol on a half-trained network (the file stays complete = 0;
    // the protocol is not resumable).
    summary.cancelled = true;
  } else if (!summary.pretraining.finite) {
    summary.finite = false;
    summary.message = "pre-training: " + summary.pretraining.message;
  } else if (Protocol(options, adaptation, &writer, &summary).Run(&p)) {
    writer.MarkComplete();
    writer.CommitTo(path);
  }
  summary.seconds = internal::SecondsSince(start);
  return summary;
}

}  // namespace

AdaptationSummary RunAdaptationToFile(const TrainOptions& options,
                                      const AdaptationOptions& adaptation,
                                      const std::string& path,
                                      const std::string& command) {
  try {
    return RunAdaptation(options, adaptation, path, command);
  } catch (...) {
    // The protocol is not resumable: a failed run leaves no partial file.
    std::error_code ec;
    std::filesystem::remove(io::PartialPath(path), ec);
    throw;
  }
}

}  // namespace ltr
