// ltr.task_batch: trials of a task (the library's GenerateBatch), e.g. the
// batch a training run drew at a given step.
#include "arrays.h"
#include "bindings.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/train/tasks.h"
#include "train_common.h"

namespace ltr::python {

namespace {

// (count, T, columns) from one N x T matrix per trial (column-major N x T
// is row-major (T, N): each trial is one contiguous copy).
template <typename Block>
py::array Stack(const TaskBatch& batch, Index rows, Index steps, Block block) {
  Tensor3 out(static_cast<Index>(batch.trials.size()), steps, rows);
  if (rows == 0) return FromTensor3(std::move(out));
  for (size_t k = 0; k < batch.trials.size(); ++k) {
    const Eigen::MatrixXd m = block(batch.trials[k]);
    out.Slice(static_cast<Index>(k)) = m;
  }
  return FromTensor3(std::move(out));
}

py::dict TaskBatchArrays(const TaskOptions& task,
                         int count,
                         std::uint64_t seed) {
  Rng rng(seed);
  const TaskBatch batch = GenerateBatch(task, count, &rng);
  const TaskShape shape = GetTaskShape(task);
  py::dict out;
  out["inputs"] =
      Stack(batch, shape.inputs, shape.steps, [](const RnnTrial& t) {
        return t.inputs;
      });
  out["targets"] =
      Stack(batch, shape.outputs, shape.steps, [](const RnnTrial& t) {
        return t.targets;
      });
  out["mask"] =
      Stack(batch, shape.outputs, shape.steps, [&](const RnnTrial& t) {
        return t.mask.size() > 0
                   ? t.mask
                   : Eigen::MatrixXd::Ones(shape.outputs, shape.steps);
      });
  out["labels"] = FromStdVector(std::vector<int>(batch.labels));
  return out;
}

}  // namespace

void BindTaskBatch(py::module_& m) {
  const TrainOptions d;
  m.def(
      "task_batch",
      [](const std::string& task,
         int count,
         std::uint64_t seed,
         const py::object& step,
         double alpha,
         bool output_tanh,
         bool read_after_input,
         double target,
         double mante_noise,
         int reach_conditions,
         double reach_radius,
         double curl,
         double reach_effort) {
        TaskOptions o;
        o.kind = ParseTaskKind(task);
        o.dt = alpha;  // as ltr.train sets it
        o.output_tanh = output_tanh;
        o.read_after_input = read_after_input;
        o.fixed_point_target = target;
        o.mante_noise = mante_noise;
        o.reach_conditions = reach_conditions;
        o.reach_radius = reach_radius;
        o.curl = curl;
        o.reach_effort = reach_effort;
        RejectIgnoredTaskOptions(o);
        std::string error;
        if (!o.IsValid(&error)) throw Error(error);
        if (count < 1)
          throw py::value_error("count must be >= 1, got " +
                                std::to_string(count));
        const std::uint64_t batch_seed =
            step.is_none() ? seed : StepSeed(seed, step.cast<std::int64_t>());
        return TaskBatchArrays(o, count, batch_seed);
      },
      R"(Trials of a task: inputs, targets, mask and labels (the library's GenerateBatch).

With `step`, the batch ltr.train (and `ltr train`) drew at that optimiser
step of a run with this `seed` and the same task options (count = the run's
batch); without, the trials drawn from Rng(seed).

Args:
  task: flipflop | flipflop-bits | mante | romo | fixed-point | reach.
  count: trials.
  seed: the run's seed (with step) or the generator's seed.
  step: None, or the optimiser step whose batch to draw.
  alpha, output_tanh, read_after_input, target, mante_noise,
    reach_conditions, reach_radius, curl, reach_effort: the task options, as
    in ltr.train.

Returns:
  dict with inputs (count, T, N_in), targets and mask (count, T, outputs)
  -- bin t of the targets is compared with the output read from the state
  of bin t, input t drives the step from t to t + 1 -- and labels (count,):
  flip-flop the channel of the first pulse, Mante 2 context + (cued
  coherence > 0), Romo (f1 > f2), reach the direction index.

Raises:
  ValueError: an unknown task (the message lists them), invalid options, or
    an option the task ignores.)",
      py::arg("task") = TaskKindName(d.task.kind),
      py::arg("count") = d.batch,
      py::kw_only(),
      py::arg("seed") = d.seed,
      py::arg("step") = py::none(),
      py::arg("alpha") = d.alpha,
      py::arg("output_tanh") = d.task.output_tanh,
      py::arg("read_after_input") = d.task.read_after_input,
      py::arg("target") = d.task.fixed_point_target,
      py::arg("mante_noise") = d.task.mante_noise,
      py::arg("reach_conditions") = d.task.reach_conditions,
      py::arg("reach_radius") = d.task.reach_radius,
      py::arg("curl") = d.task.curl,
      py::arg("reach_effort") = d.task.reach_effort);
}

}  // namespace ltr::python
