// Task training (S20), trajectory streaming with resumable checkpoints, and
// P23's learning-over-trials protocol.
#include "ltr/train/train.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <sstream>

#include "formats/io_checked.h"
#include "ltr/core/error.h"
#include "ltr/core/interrupt.h"
#include "ltr/formats/io.h"
#include "optim/first_order.h"

namespace ltr {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

std::uint64_t SplitMix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Columns normalised, then scaled to `norm`.
void NormalizeColumns(double norm, MatrixXd* m) {
  for (Index j = 0; j < m->cols(); ++j) {
    const double n = m->col(j).norm();
    if (n > 0.0) m->col(j) *= norm / n;
  }
}

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

std::string Fixed(double v) {
  std::ostringstream out;
  out << std::setprecision(6) << v;
  return out.str();
}

// A loss this many times the run's first is divergence, even while finite
// (SGD at a far too large rate: 0.06 -> 1e245 in 20 steps, measured).
constexpr double kDivergedLossGrowth = 1e10;

}  // namespace

double TrainOptions::EffectiveLearningRate() const {
  return learning_rate > 0.0 ? learning_rate : 0.05 / units;
}

bool TrainOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (!task.IsValid(error)) return false;
  if (units < 1)
    return fail("units must be >= 1 (got " + std::to_string(units) + ")");
  if (!std::isfinite(g) || g < 0.0) return fail("g must be finite and >= 0");
  if (!(alpha > 0.0) || alpha > 1.0) return fail("alpha must be in (0, 1]");
  if (!(learning_rate >= 0.0) || !std::isfinite(learning_rate))
    return fail("learning rate must be finite and >= 0");
  if (!(momentum >= 0.0) || momentum >= 1.0)
    return fail("momentum must be in [0, 1)");
  if (!(adam_beta1 >= 0.0) || adam_beta1 >= 1.0 || !(adam_beta2 >= 0.0) ||
      adam_beta2 >= 1.0)
    return fail("Adam betas must be in [0, 1)");
  if (!(adam_epsilon > 0.0)) return fail("Adam epsilon must be > 0");
  if (steps < 0) return fail("steps must be >= 0");
  if (batch < 1) return fail("batch must be >= 1");
  if (record_every < 1) return fail("record_every must be >= 1");
  if (!train_w_in && !train_w && !train_w_out)
    return fail("nothing to train: choose some of in, rec, out");
  if (num_threads < 1) return fail("num_threads must be >= 1");
  if (stop_after_steps < 0) return fail("stop_after_steps must be >= 0");
  return true;
}

void ParseTrainedBlocks(const std::string& list, TrainOptions* options) {
  options->train_w_in = options->train_w = options->train_w_out = false;
  std::stringstream parts(list);
  std::string part;
  bool any = false;
  while (std::getline(parts, part, ',')) {
    if (part == "in") {
      options->train_w_in = true;
    } else if (part == "rec") {
      options->train_w = true;
    } else if (part == "out") {
      options->train_w_out = true;
    } else {
      throw Error("option --train: unknown block '" + part +
                  "'; expected a comma-separated list of in, rec, out");
    }
    any = true;
  }
  if (!any)
    throw Error("option --train: empty list; expected some of in, rec, out");
}

std::string TrainedBlocksName(const TrainOptions& o) {
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += ",";
    s += name;
  };
  add(o.train_w_in, "in");
  add(o.train_w, "rec");
  add(o.train_w_out, "out");
  return s;
}

std::uint64_t StepSeed(std::uint64_t seed, std::int64_t step) {
  return SplitMix64(SplitMix64(seed) ^ (0x5851f42d4c957f2dULL *
                                        static_cast<std::uint64_t>(step + 1)));
}

RnnParameters InitialNetwork(const TrainOptions& o) {
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  const TaskShape shape = GetTaskShape(o.task);
  RnnShape s;
  s.kind = WeightKind::kFull;
  s.nonlinearity = o.nonlinearity;
  s.alpha = o.alpha;
  s.units = o.units;
  s.inputs = shape.inputs;
  s.outputs = shape.outputs;
  s.base_weights = true;
  RnnParameters p = ZeroRnnParameters(s);
  Rng rng(o.seed);
  const double n = static_cast<double>(o.units);
  p.w0 = (o.g / std::sqrt(n)) * rng.NormalMatrix(o.units, o.units);
  p.w_in = rng.NormalMatrix(o.units, shape.inputs);
  NormalizeColumns(std::sqrt(n), &p.w_in);
  MatrixXd w_out = rng.NormalMatrix(o.units, shape.outputs);
  NormalizeColumns(1.0 / std::sqrt(n), &w_out);
  p.readout = w_out.transpose();
  return p;
}

RnnBlocks TrainedBlocks(const TrainOptions& o) {
  RnnBlocks b;
  b.w = o.train_w;
  b.c = false;
  b.w_in = o.train_w_in;
  b.readout = o.train_w_out;
  return b;
}

RnnLossOptions TaskLossOptions(const TaskOptions& task, int num_threads) {
  RnnLossOptions l;
  l.output_loss = TaskOutputLoss(task);
  l.num_threads = num_threads;
  return l;
}

std::string TrainSummary::BriefReport() const {
  std::ostringstream out;
  out << "train: " << steps_done << " steps";
  if (!loss.empty())
    out << ", loss " << Fixed(loss.front()) << " -> " << Fixed(loss.back());
  out << ", " << snapshots << " snapshots, " << Fixed(seconds) << " s"
      << (complete ? "" : " (not complete)");
  if (!message.empty()) out << ": " << message;
  return out.str();
}

TrainSummary Train(const TrainOptions& o,
                   TrainSink* sink,
                   const TrainState* resume,
                   RnnParameters* final_parameters) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  const RnnParameters initial = InitialNetwork(o);
  const RnnBlocks blocks = TrainedBlocks(o);
  RnnObjective objective(
      initial, blocks, TaskLossOptions(o.task, o.num_threads), nullptr);

  TrainState state;
  if (resume != nullptr) {
    state = *resume;
    if (state.x.size() != objective.NumParameters())
      throw Error("the checkpoint holds " + std::to_string(state.x.size()) +
                  " parameters, expected " +
                  std::to_string(objective.NumParameters()));
  } else {
    state.x = objective.InitialPoint();
  }
  OptimizerState optimizer(o, &state);

  TrainSummary summary;
  summary.first_step = state.step;
  std::vector<double> pending_loss;
  std::vector<double> pending_norm;
  auto snapshot = [&]() {
    if (sink != nullptr)
      sink->Snapshot(objective.Parameters(state.x.data()),
                     state,
                     pending_loss,
                     pending_norm);
    ++summary.snapshots;
    pending_loss.clear();
    pending_norm.clear();
  };
  if (resume == nullptr) snapshot();

  VectorXd gradient(objective.NumParameters());
  VectorXd previous_x;  // before the last step
  bool interrupted = false;
  while (state.step < o.steps) {
    if (o.stop_after_steps > 0 && state.step >= o.stop_after_steps) {
      // As a crash would: the steps since the last snapshot are not written
      // (a resume redoes them from the last checkpoint).
      summary.message = "stopped after " + std::to_string(state.step) +
                        " steps (stop_after_steps)";
      interrupted = true;
      break;
    }
    if (InterruptRequested()) {
      // SIGINT/SIGTERM, polled between steps: stop as stop_after_steps does.
      // The file ends at the last snapshot, whose checkpoint --resume
      // continues from, so the result stays bit-identical to an
      // uninterrupted run (at most record_every - 1 steps are redone).
      summary.message = "interrupted by signal " +
                        std::to_string(InterruptSignal()) + " after " +
                        std::to_string(state.step) + " steps";
      interrupted = true;
      break;
    }
    Rng rng(StepSeed(o.seed, state.step));
    const TaskBatch batch = GenerateBatch(o.task, o.batch, &rng);
    objective.set_trials(&batch.trials);
    double cost = 0.0;
    const bool finite =
        objective.Evaluate(state.x.data(), &cost, gradient.data());
    const double norm = gradient.norm();
    summary.loss.push_back(cost);
    summary.grad_norm.push_back(norm);
    pending_loss.push_back(cost);
    pending_norm.push_back(norm);
    const bool exploded = cost > kDivergedLossGrowth * summary.loss.front();
    if (!finite || !gradient.allFinite() || !state.x.allFinite() || exploded) {
      summary.finite = false;
      summary.message =
          (exploded
               ? "the loss grew more than 1e10-fold, from " +
                     Fixed(summary.loss.front()) + " to " + Fixed(cost) + ","
               : std::string("non-finite loss or gradient")) +
          " at step " + std::to_string(state.step) + "; stopped";
      if (!state.x.allFinite() && previous_x.size() == state.x.size()) {
        // The last step overflowed the parameters: keep the ones before it.
        state.x = previous_x;
        --state.step;
        summary.message += " (the parameters of step " +
                           std::to_string(state.step) +
                           ", the last finite, "
                           "are kept)";
      }
      break;
    }
    previous_x = state.x;
    optimizer.Step(gradient);
    if (state.step % o.record_every == 0 || state.step == o.steps) snapshot();
  }
  if (!pending_loss.empty() && !interrupted) snapshot();
  summary.steps_done = state.step;
  summary.complete = state.step >= o.steps && summary.finite;
  if (final_parameters != nullptr)
    *final_parameters = objective.Parameters(state.x.data());
  summary.seconds = Seconds(start);
  return summary;
}

// --- Trajectory files ------------------------------------------------------

namespace {

void WriteConfig(const TrainOptions& o, io::AppendableFile* f) {
  const std::string c = "/config";
  f->SetAttribute(c, "task", TaskKindName(o.task.kind));
  f->SetAttribute(c, "units", o.units);
  f->SetAttribute(c, "g", o.g);
  f->SetAttribute(c, "nonlinearity", NonlinearityName(o.nonlinearity));
  f->SetAttribute(c, "alpha", o.alpha);
  f->SetAttribute(c, "dt", o.task.dt);
  f->SetAttribute(c, "optimizer", OptimizerName(o.optimizer));
  f->SetAttribute(c, "learning_rate", o.EffectiveLearningRate());
  f->SetAttribute(c, "momentum", o.momentum);
  f->SetAttribute(c, "adam_beta1", o.adam_beta1);
  f->SetAttribute(c, "adam_beta2", o.adam_beta2);
  f->SetAttribute(c, "adam_epsilon", o.adam_epsilon);
  f->SetAttribute(c, "steps", o.steps);
  f->SetAttribute(c, "batch", o.batch);
  f->SetAttribute(c, "record_every", o.record_every);
  f->SetAttribute(c, "train", TrainedBlocksName(o));
  f->SetAttribute(c, "seed", static_cast<std::int64_t>(o.seed));
  f->SetAttribute(c, "threads", o.num_threads);
  f->SetAttribute(c, "output_tanh", o.task.output_tanh ? 1 : 0);
  f->SetAttribute(c, "fixed_point_target", o.task.fixed_point_target);
  f->SetAttribute(c, "mante_noise", o.task.mante_noise);
  f->SetAttribute(c, "reach_conditions", o.task.reach_conditions);
  f->SetAttribute(c, "reach_radius", o.task.reach_radius);
  f->SetAttribute(c, "curl", o.task.curl);
  f->SetAttribute(c, "reach_effort", o.task.reach_effort);
}

// Streams snapshots: weights, the losses since the last one, the checkpoint;
// then one flush.
class FileSink : public TrainSink {
 public:
  explicit FileSink(io::AppendableFile* file) : f_(file) {}

  void Snapshot(const RnnParameters& p,
                const TrainState& state,
                const std::vector<double>& loss,
                const std::vector<double>& grad_norm) override {
    f_->AppendMatrix("/weights", p.RecurrentWeights(), "snapshot,post,pre");
    f_->AppendMatrix("/w_in", p.w_in, "snapshot,unit,input");
    f_->AppendMatrix("/w_out", p.readout.transpose(), "snapshot,unit,output");
    f_->AppendInts("/step", {state.step}, "snapshot");
    f_->AppendValues("/loss", loss, "step");
    f_->AppendValues("/grad_norm", grad_norm, "step");
    f_->WriteVector("/checkpoint/x", state.x);
    f_->WriteVector("/checkpoint/moment1", state.moment1);
    f_->WriteVector("/checkpoint/moment2", state.moment2);
    f_->SetAttribute("/checkpoint", "step", state.step);
    f_->Flush();
  }

 private:
  io::AppendableFile* f_;
};

// After an error (not a signal): a partial file without a checkpoint, from
// a run that failed before its first snapshot, has nothing to resume.
void RemoveUnlessResumable(const std::string& partial) {
  bool resumable = false;
  try {
    resumable = io::HasDataset(partial, "/checkpoint/x");
  } catch (const Error&) {
  }
  std::error_code ec;
  if (!resumable) std::filesystem::remove(partial, ec);
}

// Trains into `file`, output's partial file, which becomes `output` once
// the run has ended (complete, or stopped by a non-finite loss); a run
// stopped early stays partial, for --resume.
TrainSummary RunToFile(const TrainOptions& o,
                       io::AppendableFile* file,
                       const TrainState* resume,
                       const std::string& output) {
  FileSink sink(file);
  TrainSummary summary = Train(o, &sink, resume);
  if (summary.complete) {
    file->SetAttribute("/", "complete", 1);
    file->Flush();
  }
  if (summary.complete || !summary.finite) file->CommitTo(output);
  return summary;
}

}  // namespace

TrainSummary TrainToFile(const TrainOptions& o,
                         const std::string& path,
                         const std::string& command) {
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  const std::string partial = io::PartialPath(path);
  try {
    io::AppendableFile file(
        partial, command, io::AppendableFile::Mode::kCreate);
    file.SetAttribute("/", "complete", 0);
    WriteConfig(o, &file);
    file.Flush();
    return RunToFile(o, &file, nullptr, path);
  } catch (...) {
    RemoveUnlessResumable(partial);
    throw;
  }
}

TrainOptions ReadTrainOptions(const std::string& path) {
  const std::string c = "/config";
  auto num = [&](const char* name) {
    return io::ReadDoubleAttribute(path, c, name);
  };
  auto str = [&](const char* name) {
    return io::ReadStringAttribute(path, c, name);
  };
  auto count = [&](const char* name) {
    return static_cast<int>(
        io::ReadIntAttribute(path,
                             c,
                             name,
                             std::numeric_limits<int>::min(),
                             std::numeric_limits<int>::max()));
  };
  TrainOptions o;
  o.task.kind = ParseTaskKind(str("task"));
  o.units = count("units");
  o.g = num("g");
  o.nonlinearity = ParseNonlinearity(str("nonlinearity"));
  o.alpha = num("alpha");
  o.task.dt = num("dt");
  o.optimizer = ParseOptimizer(str("optimizer"));
  o.learning_rate = num("learning_rate");
  o.momentum = num("momentum");
  o.adam_beta1 = num("adam_beta1");
  o.adam_beta2 = num("adam_beta2");
  o.adam_epsilon = num("adam_epsilon");
  o.steps = count("steps");
  o.batch = count("batch");
  o.record_every = count("record_every");
  ParseTrainedBlocks(str("train"), &o);
  o.seed = static_cast<std::uint64_t>(io::ReadIntAttribute(path, c, "seed"));
  o.num_threads = count("threads");
  o.task.output_tanh = num("output_tanh") != 0.0;
  o.task.fixed_point_target = num("fixed_point_target");
  o.task.mante_noise = num("mante_noise");
  o.task.reach_conditions = count("reach_conditions");
  o.task.reach_radius = num("reach_radius");
  o.task.curl = num("curl");
  o.task.reach_effort = num("reach_effort");
  return o;
}

TrainSummary ResumeTrainToFile(const std::string& output,
                               const std::string& command,
                               int steps) {
  const std::string path = io::PartialPath(output);
  if (!std::filesystem::exists(path)) {
    if (std::filesystem::exists(output)) io::CheckReadable(output);
    if (std::filesystem::exists(output) &&
        io::HasAttribute(output, "/", "complete") &&
        io::ReadDoubleAttribute(output, "/", "complete") != 0.0)
      throw Error("cannot resume '" + output + "': the run is complete");
    throw Error("cannot resume '" + output +
                "': there is no interrupted run '" + path + "'");
  }
  io::CheckReadable(path);
  if (!io::HasDataset(path, "/checkpoint/x"))
    throw Error("cannot resume '" + output + "': '" + path +
                "' has no /checkpoint (not a trajectory written by ltr "
                "train?)");
  TrainOptions o = ReadTrainOptions(path);
  if (steps > 0) o.steps = steps;
  TrainState state;
  state.step = io::ReadIntAttribute(path, "/checkpoint", "step");
  state.x = io::ReadVector(path, "/checkpoint/x");
  state.moment1 = io::ReadVector(path, "/checkpoint/moment1");
  state.moment2 = io::ReadVector(path, "/checkpoint/moment2");
  // Snapshots up to and including the checkpoint's step are kept.
  const std::vector<std::int64_t> snapshot_steps =
      io::ReadIntVector(path, "/step");
  Index keep = 0;
  while (keep < static_cast<Index>(snapshot_steps.size()) &&
         snapshot_steps[static_cast<size_t>(keep)] <= state.step)
    ++keep;

  io::AppendableFile file(path, command, io::AppendableFile::Mode::kResume);
  for (const char* d : {"/weights", "/w_in", "/w_out", "/step"})
    file.Truncate(d, keep);
  file.Truncate("/loss", state.step);
  file.Truncate("/grad_norm", state.step);
  file.SetAttribute("/config", "steps", o.steps);
  file.SetAttribute("/", "resumed_command", command);
  file.Flush();
  return RunToFile(o, &file, &state, output);
}

// --- Adaptation protocol ---------------------------------------------------

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
    out << ", loss first " << Fixed(trial_loss.front()) << ", last "
        << Fixed(trial_loss.back());
  out << ", " << Fixed(seconds) << " s";
  if (!message.empty()) out << ": " << message;
  return out.str();
}

namespace {

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
  io::AppendableFile file(
      io::PartialPath(path), command, io::AppendableFile::Mode::kCreate);
  file.SetAttribute("/", "complete", 0);
  WriteConfig(options, &file);
  file.SetAttribute("/config", "protocol", "adaptation");
  file.SetAttribute("/config", "baseline_trials", adaptation.baseline_trials);
  file.SetAttribute(
      "/config", "adaptation_trials", adaptation.adaptation_trials);
  file.SetAttribute("/config", "washout_trials", adaptation.washout_trials);
  file.SetAttribute("/config", "adaptation_curl", adaptation.curl);
  file.SetAttribute(
      "/config", "adaptation_learning_rate", adaptation.learning_rate);
  file.SetAttribute("/config", "adaptation_clip_norm", adaptation.clip_norm);
  file.SetAttribute("/config",
                    "adaptation_recurrent_only",
                    adaptation.recurrent_only ? 1 : 0);
  file.SetAttribute("/", "dt", options.task.dt);
  file.Flush();

  AdaptationSummary summary;
  TrainOptions pre = options;
  pre.task.curl = 0.0;
  RnnParameters p;
  summary.pretraining = Train(pre, nullptr, nullptr, &p);
  // Interrupted during pre-training: no protocol on a half-trained network
  // (the file stays complete = 0; the protocol is not resumable).
  if (InterruptRequested()) return summary;
  if (!summary.pretraining.finite) {
    summary.finite = false;
    summary.message = "pre-training: " + summary.pretraining.message;
    return summary;
  }

  RnnBlocks blocks = TrainedBlocks(options);
  if (adaptation.recurrent_only) {
    blocks.w_in = false;
    blocks.readout = false;
  }
  Rng rng(StepSeed(options.seed, -2));  // distinct from every training step
  const int epochs[3] = {adaptation.baseline_trials,
                         adaptation.adaptation_trials,
                         adaptation.washout_trials};
  std::int64_t trial_index = 0;
  for (int epoch = 0; epoch < 3; ++epoch) {
    TaskOptions task = options.task;
    task.curl = epoch == 1 ? adaptation.curl : 0.0;
    const RnnLossOptions loss_options = TaskLossOptions(task, 1);
    const bool learn = epoch > 0;
    for (int k = 0; k < epochs[epoch]; ++k, ++trial_index) {
      if (InterruptRequested()) return summary;  // flushed at the last trial
      const TaskBatch batch = GenerateBatch(task, 1, &rng);
      const RnnTrial& trial = batch.trials[0];
      // Snapshot k: the weights of trial k, and the trial's activity.
      file.AppendMatrix("/weights", p.RecurrentWeights(), "trial,post,pre");
      file.AppendMatrix("/w_in", p.w_in, "trial,unit,input");
      file.AppendMatrix("/w_out", p.readout.transpose(), "trial,unit,output");
      file.AppendInts("/step", {trial_index}, "trial");
      const RnnTrajectory run =
          Simulate(p, 0, 0, trial.num_steps(), trial.inputs);
      const MatrixXd rates =
          Phi(p.nonlinearity, run.states.reshaped())
              .reshaped(run.states.rows(), run.states.cols());
      // N x T column-major is (time, unit) row-major.
      file.AppendRow("/activity",
                     {rates.cols(), rates.rows()},
                     rates.data(),
                     "trial,time,neuron");
      file.AppendRow("/inputs",
                     {trial.inputs.cols(), trial.inputs.rows()},
                     trial.inputs.data(),
                     "trial,time,input");
      file.AppendInts("/condition", {batch.labels[0]}, "trial");
      file.AppendInts("/epoch", {epoch}, "trial");

      RnnParameters gradient;
      const RnnLossSummary loss = EvaluateLoss(
          p, batch.trials, loss_options, blocks, learn ? &gradient : nullptr);
      double norm = 0.0;
      const VectorXd g = learn ? PackParameters(gradient, blocks) : VectorXd();
      if (!std::isfinite(loss.total) || !g.allFinite()) {
        // Diverged: the file ends with this trial's (finite) weights.
        summary.finite = false;
        summary.message = "non-finite loss or gradient at protocol trial " +
                          std::to_string(trial_index) + "; stopped";
        file.AppendValues("/loss", {loss.total}, "trial");
        file.AppendValues("/grad_norm", {g.norm()}, "trial");
        file.Flush();
        summary.trial_loss.push_back(loss.total);
        summary.seconds = Seconds(start);
        return summary;
      }
      if (learn) {
        norm = g.norm();
        VectorXd x = PackParameters(p, blocks);
        // Clipping rescales the gradient, so the step stays a multiple of it
        // (the rank bounds' linear-optimiser hypothesis still holds).
        const double scale =
            adaptation.clip_norm > 0.0 && norm > adaptation.clip_norm
                ? adaptation.clip_norm / norm
                : 1.0;
        x -= adaptation.learning_rate * scale * g;
        UnpackParameters(x.data(), blocks, &p);
      }
      file.AppendValues("/loss", {loss.total}, "trial");
      file.AppendValues("/grad_norm", {norm}, "trial");
      file.Flush();
      summary.trial_loss.push_back(loss.total);
    }
  }
  file.SetAttribute("/", "complete", 1);
  file.CommitTo(path);
  summary.seconds = Seconds(start);
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
