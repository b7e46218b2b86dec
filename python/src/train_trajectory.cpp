// ltr.Trajectory: a learning trajectory as numpy arrays, its save to the
// layout `ltr train -o` writes, and LoadTrajectory reading that layout.
#include <filesystem>
#include <sstream>

#include "bindings.h"
#include "call.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "train_common.h"

namespace ltr::python {

namespace {

py::array ReadOnly(py::array a) {
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

// The network of snapshot k as the writer takes it: W_k whole in w0 (so
// RecurrentWeights() = W_k), W_in and W_out = readout^T of step k.
RnnParameters SnapshotNetwork(const TrajectoryObject& t, Index k) {
  const Index n = t.weights.dim(1);
  RnnParameters p;
  p.kind = WeightKind::kFull;
  p.w0 = t.weights.Slice(k).transpose();
  p.w = Matrix::Zero(n, n);
  p.w_in = t.record.w_in.Slice(k).transpose();
  p.readout = t.record.w_out.Slice(k);
  p.x0 = Matrix::Zero(n, 1);
  return p;
}

// The values of `v` in [begin, end), clipped to its length.
std::vector<double> Segment(const Vector& v,
                            std::int64_t begin,
                            std::int64_t end) {
  const Index size = v.size();
  const Index b = std::min<Index>(std::max<std::int64_t>(begin, 0), size);
  const Index e = std::min<Index>(std::max<std::int64_t>(end, b), size);
  return std::vector<double>(v.data() + b, v.data() + e);
}

// Why a trajectory cannot be written as `ltr train` writes it ("" if it can).
std::string WhyNotSavable(const TrajectoryObject& t) {
  if (!t.record.config)
    return "it has no /config (only the trajectories of ltr train and "
           "ltr.train can be saved)";
  if (t.record.adaptation)
    return "the adaptation protocol's trajectory also holds a recording; "
           "copy its file instead";
  if (!t.checkpoint) return "it has no /checkpoint";
  if (t.record.w_in.size() == 0 || t.record.w_out.size() == 0)
    return "it has no /w_in or /w_out";
  return "";
}

// Replays the snapshots through the writer `ltr train` streams with: the
// losses of the steps up to each snapshot, the last snapshot's checkpoint
// (rewritten at every snapshot, as a run does), complete as recorded.
void WriteTrajectory(const TrajectoryObject& t, const std::string& path) {
  const std::string partial = io::PartialPath(path);
  try {
    TrajectoryWriter writer(
        partial, "python: ltr.Trajectory.save", *t.record.config);
    const Index snapshots = t.weights.dim(0);
    std::int64_t previous = 0;
    for (Index k = 0; k < snapshots; ++k) {
      const bool last = k + 1 == snapshots;
      const std::int64_t step = t.record.steps[static_cast<size_t>(k)];
      const std::int64_t end = last ? t.record.loss.size() : step;
      TrainState state = *t.checkpoint;
      state.step = step;
      writer.Snapshot(SnapshotNetwork(t, k),
                      state,
                      Segment(t.record.loss, previous, end),
                      Segment(t.record.grad_norm, previous, end));
      previous = end;
    }
    if (t.record.complete) writer.MarkComplete();
    writer.CommitTo(path);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(partial, ec);
    throw;
  }
}

void SaveTrajectory(const TrajectoryObject& t,
                    const py::object& path_argument) {
  const std::string path = PathArgument(path_argument, "path");
  const std::string why = WhyNotSavable(t);
  if (!why.empty()) throw py::value_error("cannot save the trajectory: " + why);
  if (!t.record.path.empty()) io::RefuseOutputOverInput(path, {t.record.path});
  Call call(py::none(), py::bool_(false));
  call([&](const RunContext&) {
    WriteTrajectory(t, path);
    return 0;
  });
}

std::string TrajectoryRepr(const TrajectoryObject& t) {
  std::ostringstream out;
  out << "Trajectory(snapshots=" << t.weights.dim(0)
      << ", N=" << t.weights.dim(1);
  if (t.record.config)
    out << ", task='" << TaskKindName(t.record.config->task.kind) << "'";
  out << ", steps=" << t.record.loss.size();
  if (t.record.loss.size() > 0)
    out << ", loss " << t.record.loss(0) << " -> "
        << t.record.loss(t.record.loss.size() - 1);
  out << ", complete=" << (t.record.complete ? "True" : "False");
  if (!t.record.path.empty()) out << ", path='" << t.record.path << "'";
  return out.str() + ")";
}

void BindTrainOptions(py::module_& m) {
  py::class_<TrainOptions>(
      m,
      "TrainOptions",
      "The options a trajectory was trained with (its /config).")
      .def_property_readonly(
          "task",
          [](const TrainOptions& o) { return TaskKindName(o.task.kind); })
      .def_readonly("units", &TrainOptions::units)
      .def_readonly("g", &TrainOptions::g)
      .def_property_readonly("nonlinearity",
                             [](const TrainOptions& o) {
                               return NonlinearityName(o.nonlinearity);
                             })
      .def_readonly("alpha", &TrainOptions::alpha)
      .def_property_readonly(
          "optimizer",
          [](const TrainOptions& o) { return OptimizerName(o.optimizer); })
      .def_readonly("learning_rate", &TrainOptions::learning_rate)
      .def_property_readonly("effective_learning_rate",
                             &TrainOptions::EffectiveLearningRate)
      .def_readonly("momentum", &TrainOptions::momentum)
      .def_readonly("adam_beta1", &TrainOptions::adam_beta1)
      .def_readonly("adam_beta2", &TrainOptions::adam_beta2)
      .def_readonly("adam_epsilon", &TrainOptions::adam_epsilon)
      .def_readonly("steps", &TrainOptions::steps)
      .def_readonly("batch", &TrainOptions::batch)
      .def_readonly("record_every", &TrainOptions::record_every)
      .def_property_readonly(
          "train", [](const TrainOptions& o) { return TrainedBlocksName(o); })
      .def_readonly("seed", &TrainOptions::seed)
      .def_property_readonly(
          "threads", [](const TrainOptions& o) { return o.run.num_threads; })
      .def_property_readonly("dt",
                             [](const TrainOptions& o) { return o.task.dt; })
      .def_property_readonly(
          "output_tanh",
          [](const TrainOptions& o) { return o.task.output_tanh; })
      .def_property_readonly(
          "read_after_input",
          [](const TrainOptions& o) { return o.task.read_after_input; })
      .def_property_readonly(
          "target",
          [](const TrainOptions& o) { return o.task.fixed_point_target; })
      .def_property_readonly(
          "mante_noise",
          [](const TrainOptions& o) { return o.task.mante_noise; })
      .def_property_readonly(
          "reach_conditions",
          [](const TrainOptions& o) { return o.task.reach_conditions; })
      .def_property_readonly(
          "reach_radius",
          [](const TrainOptions& o) { return o.task.reach_radius; })
      .def_property_readonly("curl",
                             [](const TrainOptions& o) { return o.task.curl; })
      .def_property_readonly(
          "reach_effort",
          [](const TrainOptions& o) { return o.task.reach_effort; })
      .def("__repr__", [](const TrainOptions& o) {
        std::ostringstream out;
        out << "TrainOptions(task='" << TaskKindName(o.task.kind)
            << "', units=" << o.units << ", g=" << o.g << ", optimizer='"
            << OptimizerName(o.optimizer) << "', steps=" << o.steps
            << ", batch=" << o.batch << ", seed=" << o.seed << ")";
        return out.str();
      });
}

void BindTrainSummary(py::module_& m) {
  py::class_<TrainSummary>(
      m,
      "TrainSummary",
      "How a training run ended (the library's TrainSummary).")
      .def_property_readonly("loss",
                             [](py::object self) {
                               return View(
                                   self.cast<const TrainSummary&>().loss, self);
                             })
      .def_property_readonly(
          "grad_norm",
          [](py::object self) {
            return View(self.cast<const TrainSummary&>().grad_norm, self);
          })
      .def_readonly("first_step", &TrainSummary::first_step)
      .def_readonly("steps_done", &TrainSummary::steps_done)
      .def_readonly("snapshots", &TrainSummary::snapshots)
      .def_readonly("complete", &TrainSummary::complete)
      .def_readonly("cancelled", &TrainSummary::cancelled)
      .def_readonly("finite", &TrainSummary::finite)
      .def_readonly("seconds", &TrainSummary::seconds)
      .def_readonly("message", &TrainSummary::message)
      .def("__repr__", [](const TrainSummary& s) {
        return "TrainSummary(" + s.BriefReport() + ")";
      });
}

const TrajectoryObject& Of(const py::object& self) {
  return self.cast<const TrajectoryObject&>();
}

}  // namespace

std::string PathArgument(const py::handle& path, const std::string& name) {
  if (py::isinstance<py::str>(path)) return path.cast<std::string>();
  const py::object fspath = py::module_::import("os").attr("fspath");
  if (py::hasattr(path, "__fspath__")) {
    const py::object text = fspath(path);
    if (py::isinstance<py::str>(text)) return text.cast<std::string>();
  }
  throw py::type_error(name + " must be a str or os.PathLike, not " +
                       std::string(py::str(py::type::of(path))));
}

const TrajectoryObject* TrajectoryArgument(const py::handle& argument,
                                           const std::string& name,
                                           std::string* path) {
  if (py::isinstance<TrajectoryObject>(argument))
    return &argument.cast<const TrajectoryObject&>();
  if (py::isinstance<py::str>(argument) ||
      py::hasattr(argument, "__fspath__")) {
    *path = PathArgument(argument, name);
    return nullptr;
  }
  throw py::type_error(
      name +
      " must be an ltr.Trajectory or the path of a trajectory file, not " +
      std::string(py::str(py::type::of(argument))));
}

py::array View(const Tensor3& t, const py::handle& owner) {
  const Dims& d = t.dims();
  return ReadOnly(py::array_t<double>({d[0], d[1], d[2]}, t.data(), owner));
}

py::array View(const Matrix& m, const py::handle& owner) {
  const py::ssize_t rows = m.rows(), item = sizeof(double);
  return ReadOnly(
      py::array_t<double>({rows, static_cast<py::ssize_t>(m.cols())},
                          {item, item * rows},
                          m.data(),
                          owner));
}

py::array View(const Vector& v, const py::handle& owner) {
  return ReadOnly(
      py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data(), owner));
}

py::object LoadTrajectory(const std::string& path) {
  TrajectoryObject t;
  Call call(py::none(), py::bool_(false));
  call([&](const RunContext&) {
    t.record = ReadTrajectory(path);
    t.weights = t.record.ReadWeights();
    if (HasTrainCheckpoint(path))
      t.checkpoint = ReadTrainCheckpoint(path).state;
    return 0;
  });
  return py::cast(std::move(t));
}

void BindTrajectory(py::module_& m) {
  BindTrainOptions(m);
  BindTrainSummary(m);
  py::class_<TrajectoryObject>(
      m,
      "Trajectory",
      "A learning trajectory (docs/formats.md \"Learning trajectory\"): the "
      "snapshots of W, W_in and W_out, the step of each, the loss and "
      "gradient norm of every step, the options. Arrays are read-only views.")
      .def_property_readonly(
          "weights",
          [](py::object self) { return View(Of(self).weights, self); },
          "W_k of every snapshot, (snapshots, N, N); W[i, j] from unit j to i.")
      .def_property_readonly(
          "w_in",
          [](py::object self) { return View(Of(self).record.w_in, self); },
          "W_in of every snapshot, (snapshots, N, inputs).")
      .def_property_readonly(
          "w_out",
          [](py::object self) { return View(Of(self).record.w_out, self); },
          "W_out of every snapshot, (snapshots, N, outputs).")
      .def_property_readonly(
          "steps",
          [](py::object self) { return View(Of(self).record.steps, self); },
          "The optimiser step of each snapshot, (snapshots,).")
      .def_property_readonly(
          "loss",
          [](py::object self) { return View(Of(self).record.loss, self); },
          "The training loss of every step, (steps,).")
      .def_property_readonly(
          "grad_norm",
          [](py::object self) { return View(Of(self).record.grad_norm, self); },
          "The norm of the gradient of every step, (steps,).")
      .def_property_readonly(
          "config",
          [](const TrajectoryObject& t) -> py::object {
            return t.record.config ? py::cast(*t.record.config) : py::none();
          },
          "The TrainOptions of the run (None for a synthetic trajectory).")
      .def_property_readonly(
          "summary",
          [](const TrajectoryObject& t) -> py::object {
            return t.summary ? py::cast(*t.summary) : py::none();
          },
          "The TrainSummary of a run trained by ltr.train (None when read from "
          "a file).")
      .def_property_readonly(
          "complete",
          [](const TrajectoryObject& t) { return t.record.complete; },
          "True when the run took all its steps (the file's complete = 1).")
      .def_property_readonly(
          "path",
          [](const TrajectoryObject& t) -> py::object {
            if (t.record.path.empty()) return py::none();
            return py::str(t.record.path);
          },
          "The file it was read from, or None.")
      .def_property_readonly(
          "snapshots",
          [](const TrajectoryObject& t) { return t.weights.dim(0); })
      .def_property_readonly(
          "units", [](const TrajectoryObject& t) { return t.weights.dim(1); })
      .def("save",
           &SaveTrajectory,
           py::arg("path"),
           "Writes the trajectory as `ltr train -o PATH` does (to "
           "PATH.partial, renamed to PATH "
           "when written), so that `ltr analyze`, `ltr bounds`, `ltr plot` and "
           "`ltr train --resume` "
           "read it. Raises ValueError for a trajectory without /config, W_in, "
           "W_out or "
           "checkpoint, or a PATH equal to the file it was read from; OSError "
           "if PATH cannot be "
           "written.")
      .def("__repr__", &TrajectoryRepr);
}

}  // namespace ltr::python
