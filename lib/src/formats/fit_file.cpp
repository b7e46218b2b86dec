// The fit output layout (docs/formats.md "Fit"); see fit_file.h.
#include "ltr/formats/fit_file.h"

#include <limits>

#include "ltr/core/error.h"

namespace ltr {

namespace {

using Eigen::VectorXd;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kOptions = "/fit/options";

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

// Every recorded option, as visit(name, field): one list for the writer and
// the reader. Fields are double, int, bool, std::string, std::uint64_t or
// an enum (stored by name).
template <typename Options, typename Visit>
void VisitFitOptions(Options& o, Visit&& visit) {
  visit("kind", o.kind);
  visit("rank", o.rank);
  visit("units", o.units);
  visit("nonlinearity", o.nonlinearity);
  visit("alpha", o.alpha);
  visit("readout", o.readout);
  visit("external_inputs", o.external_inputs);
  visit("condition_inputs", o.condition_inputs);
  visit("conditions", o.conditions);
  visit("base_gain", o.base_gain);
  visit("initialization", o.initialization);
  visit("init_ridge", o.init_ridge);
  visit("init_als_iterations", o.init_als_iterations);
  visit("init_em_iterations", o.init_em_iterations);
  visit("init_tanh_saturation", o.init_tanh_saturation);
  visit("init_x0_scale", o.init_x0_scale);
  visit("loss", o.loss.loss);
  visit("poisson_rate_floor", o.loss.poisson_rate_floor);
  visit("l2_activity", o.loss.l2_activity);
  visit("l2_w", o.loss.l2_w);
  visit("l2_c", o.loss.l2_c);
  visit("l2_w_in", o.loss.l2_w_in);
  visit("l2_h", o.loss.l2_h);
  visit("l2_bias", o.loss.l2_bias);
  visit("l2_x0", o.loss.l2_x0);
  visit("l2_readout", o.loss.l2_readout);
  visit("l2_offset", o.loss.l2_offset);
  visit("smoothing", o.smoothing.kind);
  visit("smoothing_weight", o.smoothing.weight);
  visit("smoothing_length_scale", o.smoothing.length_scale);
  visit("smoothing_amplitude", o.smoothing.amplitude);
  visit("smoothing_shape", o.smoothing.shape);
  visit("smoothing_jitter", o.smoothing.jitter);
  visit("smoothing_breaks_at_epochs", o.smoothing_breaks_at_epochs);
  visit("held_out", o.hold_out.scheme);
  visit("block_trials", o.hold_out.block_trials);
  visit("block_time", o.hold_out.block_time);
  visit("block_neurons", o.hold_out.block_neurons);
  visit("test_trials", o.hold_out.test_trials);
  visit("test_time", o.hold_out.test_time);
  visit("test_neurons", o.hold_out.test_neurons);
  visit("guard", o.hold_out.guard);
  visit("neuron_fraction", o.hold_out.neuron_fraction);
  visit("trial_fraction", o.hold_out.trial_fraction);
  visit("held_out_seed", o.hold_out.seed);
  visit("optimizer", o.optimizer);
  visit("max_iterations", o.max_iterations);
  visit("function_tolerance", o.function_tolerance);
  visit("gradient_tolerance", o.gradient_tolerance);
  visit("parameter_tolerance", o.parameter_tolerance);
  visit("max_seconds", o.max_seconds);
  visit("lbfgs_rank", o.lbfgs_rank);
  visit("learning_rate", o.learning_rate);
  visit("learning_rate_decay", o.learning_rate_decay);
  visit("adam_beta1", o.adam_beta1);
  visit("adam_beta2", o.adam_beta2);
  visit("adam_epsilon", o.adam_epsilon);
  visit("patience", o.patience);
  visit("progress_every", o.progress_every);
  visit("checkpoint_every", o.checkpoint_every);
  visit("seed", o.seed);
  visit("threads", o.run.num_threads);  // the same bits on a resume
  visit("recording_file", o.source.file);
  visit("recording_activity", o.source.activity);
  visit("recording_axes", o.source.axes);
  visit("recording_inputs", o.source.inputs);
  visit("recording_mask", o.source.mask);
  visit("recording_condition", o.source.condition);
  visit("recording_epoch", o.source.epoch);
}

// Enums are stored by the names of core/enums.h.
std::string NameOf(WeightKind x) { return WeightKindName(x); }
std::string NameOf(Nonlinearity x) { return NonlinearityName(x); }
std::string NameOf(ReadoutKind x) { return ReadoutKindName(x); }
std::string NameOf(FitInitialization x) { return FitInitializationName(x); }
std::string NameOf(RnnLoss x) { return RnnLossName(x); }
std::string NameOf(TrialSmoothing x) { return TrialSmoothingName(x); }
std::string NameOf(HoldOut x) { return HoldOutName(x); }
std::string NameOf(FitOptimizer x) { return FitOptimizerName(x); }
void Parse(const std::string& s, WeightKind* x) { *x = ParseWeightKind(s); }
void Parse(const std::string& s, Nonlinearity* x) { *x = ParseNonlinearity(s); }
void Parse(const std::string& s, ReadoutKind* x) { *x = ParseReadoutKind(s); }
void Parse(const std::string& s, FitInitialization* x) {
  *x = ParseFitInitialization(s);
}
void Parse(const std::string& s, RnnLoss* x) { *x = ParseRnnLoss(s); }
void Parse(const std::string& s, TrialSmoothing* x) {
  *x = ParseTrialSmoothing(s);
}
// A given split is recorded too (its mask is the file's /heldout/test_mask),
// though no command line names it.
void Parse(const std::string& s, HoldOut* x) {
  *x = s == HoldOutName(HoldOut::kGiven) ? HoldOut::kGiven : ParseHoldOut(s);
}
void Parse(const std::string& s, FitOptimizer* x) { *x = ParseFitOptimizer(s); }

struct OptionWriter {
  io::OutputFile* out;
  void operator()(const char* name, double v) const {
    out->SetAttribute(kOptions, name, v);
  }
  void operator()(const char* name, int v) const {
    out->SetAttribute(kOptions, name, v);
  }
  void operator()(const char* name, bool v) const {
    out->SetAttribute(kOptions, name, v ? 1 : 0);
  }
  // Seeds as decimal text: an attribute of type double would round them.
  void operator()(const char* name, std::uint64_t v) const {
    out->SetAttribute(kOptions, name, std::to_string(v));
  }
  void operator()(const char* name, const std::string& v) const {
    out->SetAttribute(kOptions, name, v);
  }
  template <typename Enum>
  void operator()(const char* name, Enum v) const {
    out->SetAttribute(kOptions, name, NameOf(v));
  }
};

// Fields the file lacks keep their value (the defaults).
struct OptionReader {
  const std::string& file;
  bool Has(const char* name) const {
    return io::HasAttribute(file, kOptions, name);
  }
  double Number(const char* name) const {
    return io::ReadDoubleAttribute(file, kOptions, name);
  }
  std::string Text(const char* name) const {
    return io::ReadStringAttribute(file, kOptions, name);
  }
  void operator()(const char* name, double& v) const {
    if (Has(name)) v = Number(name);
  }
  void operator()(const char* name, int& v) const {
    if (Has(name))
      v = static_cast<int>(
          io::ReadIntAttribute(file,
                               kOptions,
                               name,
                               std::numeric_limits<int>::min(),
                               std::numeric_limits<int>::max()));
  }
  void operator()(const char* name, bool& v) const {
    if (Has(name)) v = Number(name) != 0;
  }
  void operator()(const char* name, std::uint64_t& v) const {
    if (Has(name)) v = std::stoull(Text(name));
  }
  void operator()(const char* name, std::string& v) const {
    if (Has(name)) v = Text(name);
  }
  template <typename Enum>
  void operator()(const char* name, Enum& v) const {
    if (Has(name)) Parse(Text(name), &v);
  }
};

// The progress recorded in a checkpoint's /fit.
FitProgress ReadProgress(const std::string& file) {
  const FitSummary s = ReadFitSummary(file);
  FitProgress p;
  p.iterations = s.iterations;
  p.seconds = s.seconds;
  p.initial_loss = s.initial_loss;
  p.history = s.history;
  for (FitIteration& it : p.history) it.seconds = 0;
  return p;
}

}  // namespace

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
    return io::DoubleAttributeOr(file, g, name, kNaN);
  };
  auto text = [&](const char* name) {
    return io::StringAttributeOr(file, g, name);
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
  // Failure() compares with it: left at 0, every fit read back would fail.
  s.null_train_loss = number("null_train_loss");
  if (io::HasDataset(file, "/heldout/train_mask") &&
      io::HasDataset(file, "/heldout/test_mask")) {
    s.masks.train = io::ReadMask3(file, "/heldout/train_mask");
    s.masks.test = io::ReadMask3(file, "/heldout/test_mask");
  }
  if (io::HasDataset(file, g + "/loss")) {
    const VectorXd loss = io::ReadVector(file, g + "/loss");
    const VectorXd test = io::HasDataset(file, g + "/test_loss")
                              ? io::ReadVector(file, g + "/test_loss")
                              : VectorXd::Constant(loss.size(), kNaN);
    if (test.size() != loss.size())
      throw Error("'" + file + "': " + g + "/test_loss and " + g +
                  "/loss differ in length");
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
  const Index rows = static_cast<Index>(s.ranks.size());
  for (const Eigen::MatrixXd* table : {&s.test_loss, &s.test_r2})
    if (s.train_loss.rows() != rows || table->rows() != rows ||
        table->cols() != s.train_loss.cols())
      throw Error("'" + file + "': /cv losses do not match /cv/ranks");
  s.chosen_rank =
      static_cast<int>(io::ReadDoubleAttribute(file, "/cv", "chosen_rank"));
  return s;
}

FitParts FindFitParts(const std::string& file) {
  FitParts parts;
  parts.fit = io::HasAttribute(file, "/fit", "termination");
  parts.loss_history = io::HasDataset(file, "/fit/loss");
  parts.rank_sweep = io::HasDataset(file, "/cv/ranks");
  return parts;
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

void WriteFitOutputAttributes(const FitOutputAttributes& a,
                              io::OutputFile* out) {
  if (!a.input.empty()) out->SetAttribute("/", "input", a.input);
  if (!a.resumed_command.empty())
    out->SetAttribute("/", "resumed_command", a.resumed_command);
  if (!a.failure.empty()) out->SetAttribute("/", "failure", a.failure);
}

void WriteFitCheckpoint(const FitSummary& summary,
                        const FitOptions& options,
                        io::OutputFile* out) {
  WriteFit(summary, out);
  FitOptions recorded = options;
  VisitFitOptions(recorded, OptionWriter{out});
}

FitOptions ReadFitCheckpointOptions(const std::string& file) {
  if (!io::HasAttribute(file, "/fit", "termination"))
    throw Error("'" + file + "' has no /fit (not written by ltr fit?)");
  const std::string termination =
      io::ReadStringAttribute(file, "/fit", "termination");
  if (termination != "running" && termination != "interrupted")
    throw Error("the fit in '" + file + "' has finished (" + termination + ")");
  if (!io::HasAttribute(file, kOptions, "kind"))
    throw Error("'" + file + "' has no recorded fit options (/fit/options)");
  FitOptions o;
  VisitFitOptions(o, OptionReader{file});
  o.initial_parameters = ReadModel(file).parameters;
  o.resume = ReadProgress(file);
  if (o.hold_out.scheme == HoldOut::kGiven)
    o.hold_out.test_mask = io::ReadMask3(file, "/heldout/test_mask");
  o.command = io::StringAttributeOr(file, "/", "command");
  return o;
}

}  // namespace ltr
