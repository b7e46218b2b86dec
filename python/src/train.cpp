// ltr.train: an RNN trained on a task (the library's Train, as `ltr train`
// runs it), its learning trajectory kept in memory as ltr.Trajectory.
#include <algorithm>
#include <string>

#include "bindings.h"
#include "call.h"
#include "ltr/core/error.h"
#include "ltr/train/tasks.h"
#include "train_common.h"

namespace ltr::python {

namespace {

// Collects the snapshots as TrajectoryWriter would write them: row-major
// W_k, W_in and W_out = readout^T, their steps, the losses of the steps
// between snapshots and the last checkpoint. Storage for every snapshot a
// run can take is reserved at the start (no copies as it grows).
class MemorySink : public TrainSink {
 public:
  explicit MemorySink(const TrainOptions& o) {
    const TaskShape shape = GetTaskShape(o.task);
    const Index most =
        1 + o.steps / o.record_every + (o.steps % o.record_every != 0);
    weights_ = Tensor3(most, o.units, o.units);
    w_in_ = Tensor3(most, o.units, shape.inputs);
    w_out_ = Tensor3(most, o.units, shape.outputs);
  }

  void Snapshot(const RnnParameters& p,
                const TrainState& state,
                const std::vector<double>& loss,
                const std::vector<double>& grad_norm) override {
    const Index k = static_cast<Index>(steps_.size());
    if (k >= weights_.dim(0))
      throw Error("train: more snapshots than the run can take");
    // Slice(k) is the transpose of the row-major (N, columns) block.
    weights_.Slice(k) = p.RecurrentWeights().transpose();
    w_in_.Slice(k) = p.w_in.transpose();
    w_out_.Slice(k) = p.readout;
    steps_.push_back(state.step);
    loss_.insert(loss_.end(), loss.begin(), loss.end());
    grad_norm_.insert(grad_norm_.end(), grad_norm.begin(), grad_norm.end());
    checkpoint_ = state;
  }

  // The trajectory, as ReadTrajectory would read its file.
  TrajectoryObject Take(const TrainOptions& o, TrainSummary summary) {
    TrajectoryObject t;
    const Index k = static_cast<Index>(steps_.size());
    t.weights = First(std::move(weights_), k);
    t.record.weights_shape = {k, o.units, o.units};
    t.record.w_in = First(std::move(w_in_), k);
    t.record.w_out = First(std::move(w_out_), k);
    t.record.steps = std::move(steps_);
    t.record.step_axis = "snapshot";
    t.record.loss_axis = "step";
    t.record.loss = Eigen::Map<const Vector>(loss_.data(),
                                             static_cast<Index>(loss_.size()));
    t.record.grad_norm = Eigen::Map<const Vector>(
        grad_norm_.data(), static_cast<Index>(grad_norm_.size()));
    t.record.config = o;
    t.record.config->run =
        RunContext().WithThreads(o.run.num_threads);  // no callbacks kept
    t.record.complete = summary.complete;
    if (k > 0) t.checkpoint = std::move(checkpoint_);
    t.summary = std::move(summary);
    return t;
  }

 private:
  // The first k snapshots of x (x itself when it holds just those).
  static Tensor3 First(Tensor3 x, Index k) {
    if (k == x.dim(0)) return x;
    Tensor3 out(k, x.dim(1), x.dim(2));
    std::copy(x.data(), x.data() + out.size(), out.data());
    return out;
  }

  Tensor3 weights_, w_in_, w_out_;
  std::vector<std::int64_t> steps_;
  std::vector<double> loss_, grad_norm_;
  TrainState checkpoint_;
};

// An option the run would ignore is an error (never accepted and ignored):
// `given` is whether it differs from the library's default.
void RejectIgnored(bool given, bool used, const char* name, const char* needs) {
  if (given && !used)
    throw py::value_error(std::string(name) + " needs " + needs +
                          " (it would be ignored)");
}

}  // namespace

void RejectIgnoredTaskOptions(const TaskOptions& o) {
  const TaskOptions d;
  const TaskKind task = o.kind;
  RejectIgnored(o.fixed_point_target != d.fixed_point_target,
                task == TaskKind::kFixedPoint,
                "target",
                "task='fixed-point'");
  RejectIgnored(o.mante_noise != d.mante_noise,
                task == TaskKind::kMante,
                "mante_noise",
                "task='mante'");
  const bool reach = task == TaskKind::kReach;
  RejectIgnored(o.curl != d.curl, reach, "curl", "task='reach'");
  RejectIgnored(
      o.reach_effort != d.reach_effort, reach, "reach_effort", "task='reach'");
  RejectIgnored(o.reach_conditions != d.reach_conditions,
                reach,
                "reach_conditions",
                "task='reach'");
  RejectIgnored(
      o.reach_radius != d.reach_radius, reach, "reach_radius", "task='reach'");
}

namespace {

void RejectIgnoredOptions(const TrainOptions& o) {
  const TrainOptions d;
  RejectIgnored(o.momentum != d.momentum,
                o.optimizer == Optimizer::kMomentum,
                "momentum",
                "optimizer='momentum'");
  const bool adam = o.optimizer == Optimizer::kAdam;
  RejectIgnored(
      o.adam_beta1 != d.adam_beta1, adam, "adam_beta1", "optimizer='adam'");
  RejectIgnored(
      o.adam_beta2 != d.adam_beta2, adam, "adam_beta2", "optimizer='adam'");
  RejectIgnored(o.adam_epsilon != d.adam_epsilon,
                adam,
                "adam_epsilon",
                "optimizer='adam'");
  RejectIgnoredTaskOptions(o.task);
}

// The options of the keyword arguments, as `ltr train` fills them.
struct TrainArguments {
  std::string task, nonlinearity, optimizer, train;
  TrainOptions o;

  TrainOptions Options() const {
    TrainOptions options = o;
    options.task.kind = ParseTaskKind(task);
    options.task.dt = options.alpha;  // the task's bins are the network's steps
    options.nonlinearity = ParseNonlinearity(nonlinearity);
    options.optimizer = ParseOptimizer(optimizer);
    ParseTrainedBlocks(train, &options);
    RejectIgnoredOptions(options);
    return options;
  }
};

TrajectoryObject TrainToObject(const TrainArguments& arguments,
                               const py::object& threads,
                               const py::object& progress) {
  Call call(threads, progress);
  TrainOptions options = arguments.Options();
  options.run.num_threads = call.run().num_threads;
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  MemorySink sink(options);
  TrainSummary summary = call([&](const RunContext& run) {
    options.run = run;
    return Train(options, &sink);
  });
  if (!summary.finite) {
    // As `ltr train` says so (and exits 1): never a silent divergence.
    const std::string warning =
        "ltr.train: the training diverged: " + summary.message +
        "; the trajectory holds the run up to its last finite "
        "parameters (summary.finite is False)";
    if (PyErr_WarnEx(PyExc_RuntimeWarning, warning.c_str(), 1) != 0)
      throw py::error_already_set();
  }
  return sink.Take(options, std::move(summary));
}

constexpr const char* kTrainDoc =
    R"(Trains a rate RNN on a task and returns its learning trajectory.

The network is W = W0 + dW with W0 = g J fixed (J_ij ~ N(0, 1/N)) and the
initialisation of Schuessler et al. (NeurIPS 2020), trained on a fresh batch per step; a snapshot of W, W_in and
W_out is kept at step 0, every `record_every` steps and after the last step.
The same options, seed and threads give the same bits as
`ltr train --task TASK ... --threads T -o TRAJ.h5` (docs/train.md).

Args:
  task: flipflop | flipflop-bits | mante | romo | fixed-point | reach.
  units: network size N (--units).
  g: gain of the fixed random part W0 = g J.
  nonlinearity: tanh | relu | softplus | identity.
  alpha: dt / tau (also the task's bin width).
  optimizer: sgd | momentum | adam.
  learning_rate: step size (0 = Schuessler et al.'s 0.05 / N).
  momentum: momentum coefficient (optimizer='momentum' only).
  adam_beta1, adam_beta2, adam_epsilon: Adam's (optimizer='adam' only).
  steps: optimiser steps, one fresh batch each.
  batch: trials per step.
  record_every: steps between snapshots.
  train: the trained blocks, a comma-separated subset of in, rec, out.
  output_tanh: compare tanh(z) with the targets (off by default; Schuessler et al. read z out linearly).
  read_after_input: the output timing of Schuessler et al. 2020, bin i read after the step input i drives.
  target: the fixed-point task's target z-hat.
  mante_noise: the Mante task's sensory noise.
  reach_conditions, reach_radius, curl, reach_effort: the reach task's
    directions (0 = continuous), target distance, curl force gain and
    effort weight.
  seed: the same seed gives the same trajectory.
  threads: threads over the trials of a batch (None: every usable core);
    the bits depend on the count, which is recorded in the trajectory.
  progress: None (the 'ltr' logger), False or a callable taking a line per
    snapshot ("step 40 of 1000: loss 0.0123").

Returns:
  ltr.Trajectory: weights (snapshots, N, N), w_in, w_out, steps, loss and
  grad_norm per step, config, summary (the TrainSummary: complete, finite,
  message, seconds ...); .save(path) writes the file `ltr train` writes.
  A run that diverges stops early with summary.finite False and a
  RuntimeWarning (`ltr train` exits 1 there).

Raises:
  ValueError: an unknown task, optimizer or nonlinearity (the message lists
    the choices), invalid options (e.g. units < 1), or an option the run
    would ignore (momentum without optimizer='momentum' ...).
  KeyboardInterrupt: Ctrl-C; the exception of a failing progress callable.)";

}  // namespace

void BindTrain(py::module_& m) {
  BindTrajectory(m);
  BindTaskBatch(m);
  const TrainOptions d;
  m.def(
      "train",
      [](const std::string& task,
         int units,
         double g,
         const std::string& nonlinearity,
         double alpha,
         const std::string& optimizer,
         double learning_rate,
         double momentum,
         double adam_beta1,
         double adam_beta2,
         double adam_epsilon,
         int steps,
         int batch,
         int record_every,
         const std::string& train,
         bool output_tanh,
         bool read_after_input,
         double target,
         double mante_noise,
         int reach_conditions,
         double reach_radius,
         double curl,
         double reach_effort,
         std::uint64_t seed,
         const py::object& threads,
         const py::object& progress) {
        TrainArguments a{task, nonlinearity, optimizer, train, TrainOptions()};
        TrainOptions& o = a.o;
        o.units = units;
        o.g = g;
        o.alpha = alpha;
        o.learning_rate = learning_rate;
        o.momentum = momentum;
        o.adam_beta1 = adam_beta1;
        o.adam_beta2 = adam_beta2;
        o.adam_epsilon = adam_epsilon;
        o.steps = steps;
        o.batch = batch;
        o.record_every = record_every;
        o.task.output_tanh = output_tanh;
        o.task.read_after_input = read_after_input;
        o.task.fixed_point_target = target;
        o.task.mante_noise = mante_noise;
        o.task.reach_conditions = reach_conditions;
        o.task.reach_radius = reach_radius;
        o.task.curl = curl;
        o.task.reach_effort = reach_effort;
        o.seed = seed;
        return TrainToObject(a, threads, progress);
      },
      kTrainDoc,
      py::arg("task") = TaskKindName(d.task.kind),
      py::kw_only(),
      py::arg("units") = d.units,
      py::arg("g") = d.g,
      py::arg("nonlinearity") = NonlinearityName(d.nonlinearity),
      py::arg("alpha") = d.alpha,
      py::arg("optimizer") = OptimizerName(d.optimizer),
      py::arg("learning_rate") = d.learning_rate,
      py::arg("momentum") = d.momentum,
      py::arg("adam_beta1") = d.adam_beta1,
      py::arg("adam_beta2") = d.adam_beta2,
      py::arg("adam_epsilon") = d.adam_epsilon,
      py::arg("steps") = d.steps,
      py::arg("batch") = d.batch,
      py::arg("record_every") = d.record_every,
      py::arg("train") = TrainedBlocksName(d),
      py::arg("output_tanh") = d.task.output_tanh,
      py::arg("read_after_input") = d.task.read_after_input,
      py::arg("target") = d.task.fixed_point_target,
      py::arg("mante_noise") = d.task.mante_noise,
      py::arg("reach_conditions") = d.task.reach_conditions,
      py::arg("reach_radius") = d.task.reach_radius,
      py::arg("curl") = d.task.curl,
      py::arg("reach_effort") = d.task.reach_effort,
      py::arg("seed") = d.seed,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

}  // namespace ltr::python
