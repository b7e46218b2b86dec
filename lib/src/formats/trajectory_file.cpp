// The learning-trajectory layout: its writer (streamed, with checkpoints)
// and its reader.
#include "ltr/formats/trajectory_file.h"

#include <limits>

#include "ltr/core/error.h"

namespace ltr {

namespace {

constexpr const char* kWeights = "/weights";
constexpr const char* kWIn = "/w_in";
constexpr const char* kWOut = "/w_out";
constexpr const char* kStep = "/step";
constexpr const char* kLoss = "/loss";
constexpr const char* kGradNorm = "/grad_norm";
constexpr const char* kEpoch = "/epoch";
constexpr const char* kConfig = "/config";
constexpr const char* kCheckpoint = "/checkpoint";
constexpr const char* kCheckpointX = "/checkpoint/x";
constexpr const char* kCheckpointMoment1 = "/checkpoint/moment1";
constexpr const char* kCheckpointMoment2 = "/checkpoint/moment2";
constexpr const char* kComplete = "complete";
constexpr const char* kAdaptationProtocol = "adaptation";

// The attributes of /config, read back by ReadTrainOptions.
void WriteTrainConfig(const TrainOptions& o, io::AppendableFile* f) {
  const std::string c = kConfig;
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
  f->SetAttribute(c, "threads", o.run.num_threads);
  f->SetAttribute(c, "output_tanh", o.task.output_tanh ? 1 : 0);
  f->SetAttribute(c, "read_after_input", o.task.read_after_input ? 1 : 0);
  f->SetAttribute(c, "fixed_point_target", o.task.fixed_point_target);
  f->SetAttribute(c, "mante_noise", o.task.mante_noise);
  f->SetAttribute(c, "reach_conditions", o.task.reach_conditions);
  f->SetAttribute(c, "reach_radius", o.task.reach_radius);
  f->SetAttribute(c, "curl", o.task.curl);
  f->SetAttribute(c, "reach_effort", o.task.reach_effort);
}

void WriteAdaptationConfig(const AdaptationOptions& a, io::AppendableFile* f) {
  const std::string c = kConfig;
  f->SetAttribute(c, "protocol", kAdaptationProtocol);
  f->SetAttribute(c, "baseline_trials", a.baseline_trials);
  f->SetAttribute(c, "adaptation_trials", a.adaptation_trials);
  f->SetAttribute(c, "washout_trials", a.washout_trials);
  f->SetAttribute(c, "adaptation_curl", a.curl);
  f->SetAttribute(c, "adaptation_learning_rate", a.learning_rate);
  f->SetAttribute(c, "adaptation_clip_norm", a.clip_norm);
  f->SetAttribute(c, "adaptation_recurrent_only", a.recurrent_only ? 1 : 0);
}

// The typed attributes of one object, whole numbers range-checked.
class AttributeReader {
 public:
  AttributeReader(const std::string& path, const std::string& object)
      : path_(path), object_(object) {}
  bool Has(const char* name) const {
    return io::HasAttribute(path_, object_, name);
  }
  double Number(const char* name) const {
    return io::ReadDoubleAttribute(path_, object_, name);
  }
  std::string Text(const char* name) const {
    return io::ReadStringAttribute(path_, object_, name);
  }
  int Count(const char* name) const {
    return static_cast<int>(
        io::ReadIntAttribute(path_,
                             object_,
                             name,
                             std::numeric_limits<int>::min(),
                             std::numeric_limits<int>::max()));
  }
  std::int64_t Int64(const char* name) const {
    return io::ReadIntAttribute(path_, object_, name);
  }

 private:
  const std::string& path_;
  std::string object_;
};

// Attributes added to the protocol's /config later than the others default
// to the options' defaults in older files.
AdaptationOptions ReadAdaptationOptions(const AttributeReader& c) {
  AdaptationOptions a;
  a.baseline_trials = c.Count("baseline_trials");
  a.adaptation_trials = c.Count("adaptation_trials");
  a.washout_trials = c.Count("washout_trials");
  a.curl = c.Number("adaptation_curl");
  a.learning_rate = c.Number("adaptation_learning_rate");
  if (c.Has("adaptation_clip_norm"))
    a.clip_norm = c.Number("adaptation_clip_norm");
  if (c.Has("adaptation_recurrent_only"))
    a.recurrent_only = c.Number("adaptation_recurrent_only") != 0.0;
  return a;
}

// The first name of a dataset's `axes` attribute ("trial" of
// "trial,post,pre"); empty when it has none.
std::string FirstAxis(const std::string& path, const char* dataset) {
  const std::string axes = io::StringAttributeOr(path, dataset, "axes");
  return axes.substr(0, axes.find(','));
}

std::string ShapeText(const std::vector<Index>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// A per-snapshot input or output block: (snapshots, N, columns).
Tensor3 ReadSnapshotBlock(const Trajectory& t, const char* dataset) {
  if (!io::HasDataset(t.path, dataset)) return Tensor3();
  Tensor3 block = io::ReadTensor3(t.path, dataset);
  if (block.dim(0) != t.snapshots() || block.dim(1) != t.units())
    throw Error("trajectory '" + t.path + "': " + dataset + " is " +
                DimsToString(block.dims()) + ", expected " +
                std::to_string(t.snapshots()) + " snapshots of " +
                std::to_string(t.units()) + " units as in /weights");
  return block;
}

std::vector<std::int64_t> ReadIntsIfPresent(const std::string& path,
                                            const char* dataset) {
  return io::HasDataset(path, dataset) ? io::ReadIntVector(path, dataset)
                                       : std::vector<std::int64_t>();
}

Vector ReadValuesIfPresent(const std::string& path, const char* dataset) {
  return io::HasDataset(path, dataset) ? io::ReadVector(path, dataset)
                                       : Vector();
}

void RequireDataset(const std::string& path, const char* dataset) {
  if (!io::HasDataset(path, dataset))
    throw Error("no dataset '" + std::string(dataset) + "' in '" + path +
                "' (not a learning trajectory?)");
}

// The per-step datasets: /loss (and its axis), /grad_norm, /epoch.
void ReadPerStep(const std::string& path, Trajectory* t) {
  t->loss = ReadValuesIfPresent(path, kLoss);
  if (io::HasDataset(path, kLoss)) t->loss_axis = FirstAxis(path, kLoss);
  t->grad_norm = ReadValuesIfPresent(path, kGradNorm);
  t->epochs = ReadIntsIfPresent(path, kEpoch);
}

}  // namespace

// --- Reading ---------------------------------------------------------------

Tensor3 Trajectory::ReadWeights() const {
  return io::ReadTensor3(path, kWeights);
}

std::unique_ptr<io::SlabReader> Trajectory::WeightSlabs() const {
  return std::make_unique<io::SlabReader>(path, kWeights);
}

TrainOptions ReadTrainOptions(const std::string& path) {
  const AttributeReader c(path, kConfig);
  TrainOptions o;
  o.task.kind = ParseTaskKind(c.Text("task"));
  o.units = c.Count("units");
  o.g = c.Number("g");
  o.nonlinearity = ParseNonlinearity(c.Text("nonlinearity"));
  o.alpha = c.Number("alpha");
  o.task.dt = c.Number("dt");
  o.optimizer = ParseOptimizer(c.Text("optimizer"));
  o.learning_rate = c.Number("learning_rate");
  o.momentum = c.Number("momentum");
  o.adam_beta1 = c.Number("adam_beta1");
  o.adam_beta2 = c.Number("adam_beta2");
  o.adam_epsilon = c.Number("adam_epsilon");
  o.steps = c.Count("steps");
  o.batch = c.Count("batch");
  o.record_every = c.Count("record_every");
  ParseTrainedBlocks(c.Text("train"), &o);
  o.seed = static_cast<std::uint64_t>(c.Int64("seed"));
  o.run.num_threads = c.Count("threads");
  o.task.output_tanh = c.Number("output_tanh") != 0.0;
  // Files written before the option exist: ltr's timing.
  o.task.read_after_input =
      c.Has("read_after_input") && c.Number("read_after_input") != 0.0;
  o.task.fixed_point_target = c.Number("fixed_point_target");
  o.task.mante_noise = c.Number("mante_noise");
  o.task.reach_conditions = c.Count("reach_conditions");
  o.task.reach_radius = c.Number("reach_radius");
  o.task.curl = c.Number("curl");
  o.task.reach_effort = c.Number("reach_effort");
  return o;
}

TrajectoryParts FindTrajectoryParts(const std::string& path) {
  return {io::HasDataset(path, kWeights), io::HasDataset(path, kLoss)};
}

Trajectory ReadTrajectoryLosses(const std::string& path) {
  io::CheckReadable(path);
  Trajectory t;
  t.path = path;
  ReadPerStep(path, &t);
  return t;
}

Trajectory ReadTrajectory(const std::string& path) {
  io::CheckReadable(path);
  RequireDataset(path, kWeights);
  Trajectory t;
  t.path = path;
  t.weights_shape = io::DatasetShape(path, kWeights);
  const std::vector<Index>& shape = t.weights_shape;
  if (shape.size() != 3 || shape[0] < 1 || shape[1] != shape[2])
    throw Error("trajectory '" + path + "': /weights is " + ShapeText(shape) +
                ", expected (snapshots, N, N) with at least one snapshot");
  t.steps = ReadIntsIfPresent(path, kStep);
  if (io::HasDataset(path, kStep)) {
    t.step_axis = FirstAxis(path, kStep);
    if (static_cast<Index>(t.steps.size()) != t.snapshots())
      throw Error("'" + path + "': /step and /weights have different lengths");
  }
  t.w_in = ReadSnapshotBlock(t, kWIn);
  t.w_out = ReadSnapshotBlock(t, kWOut);
  ReadPerStep(path, &t);
  const AttributeReader config(path, kConfig);
  if (config.Has("task")) t.config = ReadTrainOptions(path);
  if (config.Has("protocol") && config.Text("protocol") == kAdaptationProtocol)
    t.adaptation = ReadAdaptationOptions(config);
  t.complete = IsCompleteRun(path);
  return t;
}

Trajectory ReadTrainTrajectory(const std::string& path) {
  io::CheckReadable(path);
  for (const char* dataset : {kWeights, kWIn, kWOut, kStep})
    RequireDataset(path, dataset);
  // The config first: its errors name the attribute.
  const TrainOptions config = ReadTrainOptions(path);
  Trajectory t = ReadTrajectory(path);
  if (t.units() != config.units)
    throw Error("trajectory '" + path + "': /weights has " +
                std::to_string(t.units()) + " units, /config units " +
                std::to_string(config.units));
  return t;
}

bool IsCompleteRun(const std::string& path) {
  io::CheckReadable(path);
  return io::HasAttribute(path, "/", kComplete) &&
         io::ReadDoubleAttribute(path, "/", kComplete) != 0.0;
}

bool HasTrainCheckpoint(const std::string& path) {
  return io::HasDataset(path, kCheckpointX);
}

TrainCheckpoint ReadTrainCheckpoint(const std::string& path) {
  TrainCheckpoint c;
  c.options = ReadTrainOptions(path);
  c.state.step = io::ReadIntAttribute(path, kCheckpoint, "step");
  c.state.x = io::ReadVector(path, kCheckpointX);
  c.state.moment1 = io::ReadVector(path, kCheckpointMoment1);
  c.state.moment2 = io::ReadVector(path, kCheckpointMoment2);
  // Snapshots up to and including the checkpoint's step are kept.
  for (std::int64_t step : io::ReadIntVector(path, kStep)) {
    if (step > c.state.step) break;
    ++c.snapshots;
  }
  return c;
}

// --- Writing ---------------------------------------------------------------

TrajectoryWriter::TrajectoryWriter(const std::string& path,
                                   const std::string& command,
                                   const TrainOptions& options,
                                   const AdaptationOptions* adaptation)
    : file_(path, command, io::AppendableFile::Mode::kCreate) {
  file_.SetAttribute("/", kComplete, 0);
  WriteTrainConfig(options, &file_);
  if (adaptation != nullptr) {
    WriteAdaptationConfig(*adaptation, &file_);
    file_.SetAttribute("/", "dt", options.task.dt);  // the recording's bins
  }
  file_.Flush();
}

TrajectoryWriter::TrajectoryWriter(const std::string& path,
                                   const std::string& command,
                                   const TrainCheckpoint& checkpoint)
    : file_(path, command, io::AppendableFile::Mode::kResume) {
  for (const char* d : {kWeights, kWIn, kWOut, kStep})
    file_.Truncate(d, checkpoint.snapshots);
  file_.Truncate(kLoss, checkpoint.state.step);
  file_.Truncate(kGradNorm, checkpoint.state.step);
  file_.SetAttribute(kConfig, "steps", checkpoint.options.steps);
  file_.SetAttribute("/", "resumed_command", command);
  file_.Flush();
}

void TrajectoryWriter::AppendWeights(const RnnParameters& p,
                                     std::int64_t step,
                                     const std::string& axis) {
  file_.AppendMatrix(kWeights, p.RecurrentWeights(), axis + ",post,pre");
  file_.AppendMatrix(kWIn, p.w_in, axis + ",unit,input");
  file_.AppendMatrix(kWOut, p.readout.transpose(), axis + ",unit,output");
  file_.AppendInts(kStep, {step}, axis);
}

void TrajectoryWriter::Snapshot(const RnnParameters& p,
                                const TrainState& state,
                                const std::vector<double>& loss,
                                const std::vector<double>& grad_norm) {
  AppendWeights(p, state.step, "snapshot");
  file_.AppendValues(kLoss, loss, "step");
  file_.AppendValues(kGradNorm, grad_norm, "step");
  file_.WriteVector(kCheckpointX, state.x);
  file_.WriteVector(kCheckpointMoment1, state.moment1);
  file_.WriteVector(kCheckpointMoment2, state.moment2);
  file_.SetAttribute(kCheckpoint, "step", state.step);
  file_.Flush();
}

void TrajectoryWriter::AppendTrial(const AdaptationTrialRecord& r) {
  AppendWeights(*r.weights, r.index, "trial");
  // N x T column-major is (time, unit) row-major.
  const Eigen::MatrixXd& rates = *r.rates;
  file_.AppendRow("/activity",
                  {rates.cols(), rates.rows()},
                  rates.data(),
                  "trial,time,neuron");
  const Eigen::MatrixXd& inputs = r.trial->inputs;
  file_.AppendRow("/inputs",
                  {inputs.cols(), inputs.rows()},
                  inputs.data(),
                  "trial,time,input");
  file_.AppendInts("/condition", {r.condition}, "trial");
  file_.AppendInts(kEpoch, {r.epoch}, "trial");
  file_.AppendValues(kLoss, {r.loss}, "trial");
  file_.AppendValues(kGradNorm, {r.grad_norm}, "trial");
  file_.Flush();
}

void TrajectoryWriter::MarkComplete() {
  file_.SetAttribute("/", kComplete, 1);
  file_.Flush();
}

void TrajectoryWriter::CommitTo(const std::string& final_path) {
  file_.CommitTo(final_path);
}

void WriteSyntheticWeights(const TrajectoryExampleOptions& options,
                           const TrajectoryExample& example,
                           io::AppendableFile* out) {
  const Index n = example.w0.rows();
  ForEachTrajectorySnapshot(options, example, [&](const Matrix& wt) {
    if (options.float32)
      out->AppendRowFloat32(kWeights, {n, n}, wt.data(), "snapshot,post,pre");
    else
      out->AppendRow(kWeights, {n, n}, wt.data(), "snapshot,post,pre");
  });
}

}  // namespace ltr
