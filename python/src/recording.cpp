// ltr.Recording, ltr.load_recording and the recording that the fitting
// functions build from their array arguments (ltr/formats/recording.h).
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cmath>

#include "arrays.h"
#include "bindings.h"
#include "fit_common.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"

namespace ltr::python {

namespace {

constexpr const char* kCanonicalAxes = "trial,time,neuron";

std::string ShapeOf(const Dims& d) {
  return "(" + std::to_string(d[0]) + ", " + std::to_string(d[1]) + ", " +
         std::to_string(d[2]) + ")";
}

// The stored axis order `axes` names, as the permutation numpy's transpose
// takes to bring such an array to (trial, time, neuron).
py::tuple CanonicalPermutation(const std::string& axes) {
  std::array<int, 3> order{};
  try {
    order = RecordingAxes(axes);
  } catch (const Error& e) {
    throw py::value_error("axes '" + axes + "' " + e.what() +
                          " (e.g. axes=\"trial,neuron,time\")");
  }
  std::array<int, 3> permutation{};
  for (int d = 0; d < 3; ++d) permutation[order[d]] = d;
  return py::make_tuple(permutation[0], permutation[1], permutation[2]);
}

// `object` transposed to canonical order when it is a 3-D array (a view:
// ToTensor3 copies it once); anything else is left for ToTensor3 to refuse.
py::object Canonical(const py::object& object, const py::tuple& permutation) {
  if (object.is_none()) return object;
  py::array a = py::array::ensure(object);
  if (!a) {
    PyErr_Clear();
    return object;
  }
  if (a.ndim() != 3) return std::move(a);
  return a.attr("transpose")(permutation);
}

}  // namespace

std::vector<std::int64_t> TrialLabels(const py::object& object,
                                      Index trials,
                                      const std::string& name) {
  py::array a = py::array::ensure(object);
  if (!a || a.ndim() != 1) {
    PyErr_Clear();
    throw py::value_error(name + " must be a 1-D array of one int per trial");
  }
  const auto values =
      py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!values) throw py::type_error(name + " must hold integers");
  if (values.size() != trials)
    throw py::value_error(name + " has " + std::to_string(values.size()) +
                          " labels for " + std::to_string(trials) + " trials");
  std::vector<std::int64_t> labels(static_cast<size_t>(trials));
  for (Index k = 0; k < trials; ++k) {
    const double v = values.data()[k];
    if (!(v >= 0) || v != std::floor(v) || v > 9e15)
      throw py::value_error(name + " must hold integers >= 0, found " +
                            std::string(py::str(py::float_(v))) + " at trial " +
                            std::to_string(k));
    labels[k] = static_cast<std::int64_t>(v);
  }
  return labels;
}

namespace {

py::object LabelsView(const std::vector<std::int64_t>& labels,
                      const py::handle& owner) {
  if (labels.empty()) return py::none();
  py::array_t<std::int64_t> a(
      static_cast<py::ssize_t>(labels.size()), labels.data(), owner);
  a.attr("setflags")(py::arg("write") = false);
  return std::move(a);
}

py::object TensorView(const Tensor3& t, const py::handle& owner) {
  if (t.empty()) return py::none();
  const Dims& d = t.dims();
  py::array_t<double> a({d[0], d[1], d[2]}, t.data(), owner);
  a.attr("setflags")(py::arg("write") = false);
  return std::move(a);
}

Recording FromArrays(const py::object& activity,
                     const py::object& inputs,
                     const py::object& mask,
                     const py::object& condition,
                     const py::object& epoch,
                     const std::string& axes) {
  const py::tuple permutation = CanonicalPermutation(axes);
  Recording r;
  r.activity = ToTensor3(Canonical(activity, permutation), "activity");
  const Dims& d = r.activity.dims();
  if (!inputs.is_none()) {
    r.inputs = ToTensor3(Canonical(inputs, permutation), "inputs");
    if (r.inputs.dim(0) != d[0] || r.inputs.dim(1) != d[1])
      throw py::value_error("inputs is " + ShapeOf(r.inputs.dims()) +
                            " (trial, time, input), the activity " +
                            ShapeOf(d) +
                            ": they need the same trials and time bins");
  }
  if (!mask.is_none())
    r.mask = ToMask3(Canonical(mask, permutation), d, "mask");
  if (!condition.is_none())
    r.condition = TrialLabels(condition, d[0], "condition");
  if (!epoch.is_none()) r.epoch = TrialLabels(epoch, d[0], "epoch");
  return r;
}

RecordingObject NewRecording(const py::object& activity,
                             const py::object& inputs,
                             const py::object& mask,
                             const py::object& condition,
                             const py::object& epoch,
                             const py::object& time,
                             double dt,
                             const std::string& axes) {
  RecordingObject o;
  o.recording = FromArrays(activity, inputs, mask, condition, epoch, axes);
  if (!time.is_none()) o.recording.time = ToVector(time, "time");
  o.recording.dt = dt;
  o.recording.Validate("Recording");
  return o;
}

void Save(const RecordingObject& o, const std::filesystem::path& file) {
  const std::string path = file.string();
  io::RefuseOutputOverInput(path, {o.file});
  io::OutputFile out(path, "ltr.Recording.save (Python)");
  WriteRecording(o.recording, &out);
  out.Commit();
}

std::string Repr(const RecordingObject& o) {
  const Recording& r = o.recording;
  std::string s = "Recording(" + std::to_string(r.trials()) + " trials x " +
                  std::to_string(r.steps()) + " time bins x " +
                  std::to_string(r.neurons()) + " neurons";
  if (!r.inputs.empty())
    s += ", " + std::to_string(r.inputs.dim(2)) + " inputs";
  if (r.mask) s += ", mask";
  if (!r.condition.empty()) s += ", condition";
  if (!r.epoch.empty()) s += ", epoch";
  if (!o.file.empty()) s += ", from '" + o.file + "'";
  return s + ")";
}

// Python warnings, one per line the reader reported.
void Warn(const std::vector<std::string>& lines) {
  for (const std::string& line : lines)
    if (PyErr_WarnEx(PyExc_UserWarning, line.c_str(), 1) != 0)
      throw py::error_already_set();
}

py::object ReadRecordingObject(const std::filesystem::path& file,
                               const std::string& dataset,
                               const std::string& axes,
                               const std::string& inputs,
                               const std::string& mask,
                               const std::string& condition,
                               const std::string& epoch) {
  const std::string path = file.string();
  RecordingSource source;
  source.file = path;
  source.activity = dataset;
  source.axes = axes;
  source.inputs = inputs;
  source.mask = mask;
  source.condition = condition;
  source.epoch = epoch;
  RecordingReadReport report;
  RecordingObject o{ReadRecording(source, &report), path};
  Warn(report.warnings);
  return MakeRecording(std::move(o));
}

constexpr const char* kRecordingDoc =
    "A recording: activity (trial x time x neuron) with optional inputs "
    "(trial x time x input), mask (bool, True = observed), condition and "
    "epoch labels (one int per trial), bin times and dt -- the 'Recording' "
    "layout of docs/formats.md.\n\n"
    "Recording(activity, inputs=None, mask=None, condition=None, epoch=None, "
    "time=None, dt=1.0, axes=\"trial,time,neuron\") makes one from arrays "
    "(any real dtype and memory order; `axes` names the arrays' stored axis "
    "order, with the synonyms of the file reader, and inputs and mask follow "
    "it). The arrays it returns are read-only views in trial,time,neuron "
    "order. Raises ValueError on shapes that disagree or negative labels.";

constexpr const char* kLoadDoc =
    "Reads a recording as `ltr fit DATA.h5` does (ReadRecording).\n\n"
    "path: the HDF5 file. dataset: the activity dataset (default "
    "/activity). axes: its stored axis order, e.g. \"trial,neuron,time\" "
    "(default: its `axes` attribute, else trial,time,neuron). inputs, mask, "
    "condition, epoch: companion datasets (default: the activity's siblings "
    "of those names, when present; relative paths are relative to the "
    "activity's group, OTHER.h5:/path reads another file).\n\n"
    "Returns an ltr.Recording in trial,time,neuron order. Likely mistakes "
    "are issued as warnings. Raises OSError when the file cannot be read, "
    "ValueError on a missing dataset (listing those the file has) or axes "
    "that cannot be mapped.";

}  // namespace

Recording RecordingFromArguments(const py::object& activity,
                                 const py::object& inputs,
                                 const py::object& mask,
                                 const py::object& condition,
                                 const py::object& epoch,
                                 const std::string& axes,
                                 std::string* file) {
  if (!py::isinstance<RecordingObject>(activity)) {
    file->clear();
    return FromArrays(activity, inputs, mask, condition, epoch, axes);
  }
  for (const py::object* given : {&inputs, &mask, &condition, &epoch})
    if (!given->is_none())
      throw py::value_error(
          "activity is an ltr.Recording: its inputs, mask, condition and "
          "epoch are used; give none of them beside it");
  if (RecordingAxes(axes) != RecordingAxes(kCanonicalAxes))
    throw py::value_error(
        "activity is an ltr.Recording, already in trial,time,neuron order; "
        "axes applies to arrays");
  const auto& o = activity.cast<const RecordingObject&>();
  *file = o.file;
  return o.recording;
}

py::object InCanonicalOrder(const py::object& array, const std::string& axes) {
  return Canonical(array, CanonicalPermutation(axes));
}

py::object MakeRecording(RecordingObject recording) {
  return py::cast(std::move(recording));
}

py::object MatrixView(const Eigen::MatrixXd& m, const py::handle& owner) {
  if (m.size() == 0) return py::none();
  const py::ssize_t item = sizeof(double);
  py::array_t<double> a(
      {static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())},
      {item, item * static_cast<py::ssize_t>(m.rows())},
      m.data(),
      owner);
  a.attr("setflags")(py::arg("write") = false);
  return std::move(a);
}

py::object VectorView(const Eigen::VectorXd& v, const py::handle& owner) {
  if (v.size() == 0) return py::none();
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()), v.data(), owner);
  a.attr("setflags")(py::arg("write") = false);
  return std::move(a);
}

py::object LoadRecording(const std::string& path) {
  return ReadRecordingObject(
      path, RecordingSource().activity, "", "", "", "", "");
}

void BindRecording(py::module_& m) {
  using R = RecordingObject;
  py::class_<R>(m, "Recording", kRecordingDoc)
      .def(py::init(&NewRecording),
           py::arg("activity"),
           py::arg("inputs") = py::none(),
           py::arg("mask") = py::none(),
           py::arg("condition") = py::none(),
           py::arg("epoch") = py::none(),
           py::arg("time") = py::none(),
           py::arg("dt") = Recording().dt,
           py::arg("axes") = kCanonicalAxes)
      .def_property_readonly(
          "activity",
          [](py::object self) {
            return TensorView(self.cast<const R&>().recording.activity, self);
          },
          "(trials, time, neurons) float64")
      .def_property_readonly(
          "inputs",
          [](py::object self) {
            return TensorView(self.cast<const R&>().recording.inputs, self);
          },
          "(trials, time, inputs) float64, or None")
      .def_property_readonly(
          "mask",
          [](const R& r) -> py::object {
            if (!r.recording.mask) return py::none();
            return FromMask3(*r.recording.mask);
          },
          "(trials, time, neurons) bool, True = observed; or None (all)")
      .def_property_readonly(
          "condition",
          [](py::object self) {
            return LabelsView(self.cast<const R&>().recording.condition, self);
          },
          "(trials,) int64 condition labels, or None")
      .def_property_readonly(
          "epoch",
          [](py::object self) {
            return LabelsView(self.cast<const R&>().recording.epoch, self);
          },
          "(trials,) int64 epoch labels, or None")
      .def_property_readonly(
          "time",
          [](py::object self) {
            return VectorView(self.cast<const R&>().recording.time, self);
          },
          "(time,) bin times in seconds, or None")
      .def_property_readonly(
          "dt", [](const R& r) { return r.recording.dt; }, "seconds per bin")
      .def_property_readonly(
          "file",
          [](const R& r) { return r.file; },
          "the file it was read from (\"\" when made from arrays)")
      .def_property_readonly("trials",
                             [](const R& r) { return r.recording.trials(); })
      .def_property_readonly("steps",
                             [](const R& r) { return r.recording.steps(); })
      .def_property_readonly("neurons",
                             [](const R& r) { return r.recording.neurons(); })
      .def("save",
           &Save,
           py::arg("path"),
           "Writes the recording (WriteRecording: /activity, /inputs, /mask, "
           "/condition, /epoch, /time, dt) atomically to `path`, which "
           "`ltr fit path` reads. Raises ValueError when `path` is the file "
           "it was read from, OSError when it cannot be written.")
      .def("__repr__", &Repr);
  m.def("load_recording",
        &ReadRecordingObject,
        kLoadDoc,
        py::arg("path"),
        py::kw_only(),
        py::arg("dataset") = RecordingSource().activity,
        py::arg("axes") = RecordingSource().axes,
        py::arg("inputs") = RecordingSource().inputs,
        py::arg("mask") = RecordingSource().mask,
        py::arg("condition") = RecordingSource().condition,
        py::arg("epoch") = RecordingSource().epoch);
}

}  // namespace ltr::python
