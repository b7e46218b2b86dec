// ltr.fit_rnn (through python/ltr/_fit.py, which gives it its keyword
// signature) over ltr::FitRnn, and ltr.RnnFit: the fitted model's arrays,
// the fit statistics, simulate (SimulateRecording), predict (Predict) and
// save (WriteFit), and LoadFit for ltr.load.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cmath>
#include <cstdio>
#include <optional>

#include "arrays.h"
#include "bindings.h"
#include "call.h"
#include "fit_common.h"
#include "ltr/core/error.h"
#include "ltr/fit/metrics.h"
#include "ltr/formats/fit_file.h"
#include "ltr/formats/io.h"
#include "ltr/rnn/simulate.h"

namespace ltr::python {

namespace {

std::string Format(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

bool IsCallable(const py::object& progress) {
  return !progress.is_none() && !py::isinstance<py::bool_>(progress) &&
         PyCallable_Check(progress.ptr());
}

// A progress callable hears nothing unless the fit reports (as `ltr fit`
// prints nothing without --progress K): refused, not ignored.
void CheckProgress(const py::object& progress, const FitOptions& o) {
  if (IsCallable(progress) && o.progress_every <= 0)
    throw py::value_error(
        "progress=callable gets the fit's lines only with progress_every=K "
        "(a line every K iterations)");
}

}  // namespace

void AddHeldOutWarning(const FitSummary& fit,
                       const Recording& recording,
                       std::vector<std::string>* warnings) {
  if (fit.test_metrics.count == 0 || fit.masks.test.empty()) return;
  if (!fit.Failure().empty()) return;
  const std::string warning = HeldOutWarning(fit, ScoreHeldOut(fit, recording));
  if (!warning.empty()) warnings->push_back(warning);
}

namespace {

py::object FitRnnBinding(const py::object& activity,
                         const py::object& rank,
                         const py::object& mask,
                         const py::object& test_mask,
                         const py::object& inputs,
                         const py::object& condition,
                         const py::object& epoch,
                         const py::object& init,
                         const py::object& base_weights,
                         const std::string& axes,
                         const py::dict& keywords,
                         const py::object& threads,
                         const py::object& progress) {
  FitObject fit;
  const Recording recording = RecordingFromArguments(
      activity, inputs, mask, condition, epoch, axes, &fit.input);
  FitOptions o = FitOptionsFromKeywords(keywords, rank, true);
  SetFitData(
      InCanonicalOrder(test_mask, axes), init, base_weights, recording, &o);
  o.command = "ltr.fit_rnn (Python)";
  o.source.file = fit.input;
  CheckProgress(progress, o);
  if (!o.checkpoint_path.empty()) {
    io::RefuseOutputOverInput(o.checkpoint_path, {fit.input});
    io::OutputFile probe(o.checkpoint_path, o.command);  // writable, now
  }
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  fit.warnings = FitWarnings(o, recording);
  Call call(threads, progress);
  fit.summary = call([&](const RunContext& run) {
    o.run = run;
    return FitRnn(o, recording);
  });
  AddHeldOutWarning(fit.summary, recording, &fit.warnings);
  return MakeFit(std::move(fit));
}

// The recording that drives a model in simulate and predict: an
// ltr.Recording (its inputs and condition), or inputs (trial x time x
// input) and/or condition arrays. `outputs` activity columns (zeros: only
// the shape is used). Trials and steps: given (0 = from the drive, or the c
// rows of an ltr model).
Recording Drive(const py::object& inputs,
                const py::object& condition,
                Index trials,
                Index steps,
                Index outputs) {
  Recording r;
  if (py::isinstance<RecordingObject>(inputs)) {
    if (!condition.is_none())
      throw py::value_error(
          "inputs is an ltr.Recording: its condition is used; give no "
          "condition beside it");
    r = inputs.cast<const RecordingObject&>().recording;
  } else {
    if (!inputs.is_none()) r.inputs = ToTensor3(inputs, "inputs");
    const Index k = !inputs.is_none() ? r.inputs.dim(0)
                    : !condition.is_none()
                        ? static_cast<Index>(py::len(condition))
                        : trials;
    const Index t = !inputs.is_none() ? r.inputs.dim(1) : steps;
    r.activity = Tensor3(k, t, 0);
    if (!condition.is_none())
      r.condition = TrialLabels(condition, k, "condition");
  }
  if (trials != 0 && trials != r.trials())
    throw py::value_error("trials=" + std::to_string(trials) + " but the " +
                          "inputs have " + std::to_string(r.trials()));
  if (steps != 0 && steps != r.steps())
    throw py::value_error("steps=" + std::to_string(steps) + " but the " +
                          "inputs have " + std::to_string(r.steps()));
  r.activity = Tensor3(r.trials(), r.steps(), outputs);
  return r;
}

bool HasDrive(const py::object& inputs, const py::object& condition) {
  return !inputs.is_none() || !condition.is_none();
}

py::object Simulate(const FitObject& fit,
                    const py::object& inputs,
                    const py::object& condition,
                    Index trials,
                    Index steps,
                    double noise,
                    double obs_noise,
                    double dt,
                    std::uint64_t seed) {
  SimulateOptions o;
  o.trials = trials;
  o.steps = steps;
  o.noise_sigma = noise;
  o.observation_noise = obs_noise;
  o.dt = dt;
  o.seed = seed;
  std::optional<Recording> drive;
  if (HasDrive(inputs, condition) && (!inputs.is_none() || steps > 0))
    drive = Drive(inputs, condition, trials, steps, 0);
  else if (!condition.is_none())
    throw py::value_error("give steps= (time bins per trial) with condition");
  Recording r;
  {
    py::gil_scoped_release release;  // no Python object in here
    r = SimulateRecording(fit.summary.model, o, drive ? &*drive : nullptr);
  }
  return MakeRecording({std::move(r), ""});
}

py::array Predict(const FitObject& fit,
                  const py::object& inputs,
                  const py::object& condition,
                  Index trials,
                  Index steps,
                  const py::object& threads) {
  const RnnParameters& p = fit.summary.model.parameters;
  if (trials == 0 && !HasDrive(inputs, condition) &&
      p.kind == WeightKind::kLowTensorRank)
    trials = p.num_trials();
  if (inputs.is_none() && steps == 0)
    throw py::value_error("give steps= (time bins per trial) or inputs");
  if (!HasDrive(inputs, condition) && trials == 0)
    throw py::value_error("give trials= (or inputs or condition)");
  const Recording drive =
      Drive(inputs, condition, trials, steps, p.num_outputs());
  Call call(threads, py::bool_(false));
  return FromTensor3(call([&](const RunContext& run) {
    return ltr::Predict(fit.summary.model, drive, run.num_threads);
  }));
}

void Save(const FitObject& fit, const std::filesystem::path& file) {
  const std::string path = file.string();
  io::RefuseOutputOverInput(path, {fit.input});
  io::OutputFile out(path, "ltr.fit_rnn (Python)");
  if (fit.has_statistics) {
    WriteFit(fit.summary, &out);
    WriteFitOutputAttributes({fit.input, "", fit.summary.Failure()}, &out);
  } else {
    WriteModel(fit.summary.model, &out);
  }
  out.Commit();
}

py::object Metrics(const PredictionMetrics& m) {
  return py::module_::import("types").attr("SimpleNamespace")(
      py::arg("count") = m.count,
      py::arg("mse") = m.mse,
      py::arg("nmse") = m.nmse,
      py::arg("r2") = m.r2,
      py::arg("r2_median") = m.r2_median,
      py::arg("bits_per_spike") = m.bits_per_spike);
}

py::dict History(const std::vector<FitIteration>& history) {
  std::vector<int> iteration;
  std::vector<double> loss, test_loss, seconds;
  for (const FitIteration& i : history) {
    iteration.push_back(i.iteration);
    loss.push_back(i.loss);
    test_loss.push_back(i.test_loss);
    seconds.push_back(i.seconds);
  }
  py::dict d;
  d["iteration"] = FromStdVector(std::move(iteration));
  d["loss"] = FromStdVector(std::move(loss));
  d["test_loss"] = FromStdVector(std::move(test_loss));
  d["seconds"] = FromStdVector(std::move(seconds));
  return d;
}

std::string Repr(const FitObject& f) {
  const FitSummary& s = f.summary;
  const RnnParameters& p = s.model.parameters;
  std::string r = "RnnFit(" + WeightKindName(p.kind);
  if (p.kind != WeightKind::kFull) r += ", rank " + std::to_string(p.rank());
  r += ", " + std::to_string(p.units()) + " units, " +
       std::to_string(p.num_outputs()) + " neurons, " +
       RnnLossName(s.model.loss);
  if (!f.has_statistics) return r + "; a model without fit statistics)";
  r += "; " + s.termination + " after " + std::to_string(s.iterations) +
       " iterations, train loss " + Format("%.6g", s.train_loss);
  if (s.test_metrics.count > 0)
    r += ", held-out loss " + Format("%.6g", s.test_loss) + ", R2 " +
         Format("%.4f", s.test_metrics.r2);
  const std::string failure = s.Failure();
  if (!failure.empty()) r += "; FAILED: " + failure;
  return r + ")";
}

py::object MaskArray(const Mask3& mask) {
  if (mask.empty()) return py::none();
  return FromMask3(mask);
}

constexpr const char* kFitDoc =
    "A fitted rate RNN (ltr.fit_rnn, ltr.load of a fit file): the model's "
    "parameters as read-only numpy arrays named as ltr::RnnParameters "
    "(w0, w, a, b, c, w_in, h, bias, x0, readout, offset; None where the "
    "model has no such block; x0 and h are units x conditions, readout is "
    "neurons x units), the fit statistics named as ltr::FitSummary, and "
    "simulate / predict / save.";

void BindFitAttributes(py::class_<FitObject>& c) {
  auto matrix = [&c](const char* name,
                     Eigen::MatrixXd RnnParameters::*field,
                     const char* doc) {
    c.def_property_readonly(
        name,
        [field](py::object self) {
          return MatrixView(
              self.cast<const FitObject&>().summary.model.parameters.*field,
              self);
        },
        doc);
  };
  matrix("w0", &RnnParameters::w0, "(N, N) fixed base weights, or None");
  matrix("w", &RnnParameters::w, "(N, N) weights of a full model, or None");
  matrix("a", &RnnParameters::a, "(N, R) column factors (lowrank, ltr)");
  matrix("b", &RnnParameters::b, "(N, R) row factors (lowrank, ltr)");
  matrix("c", &RnnParameters::c, "(trials, R) trial factors (ltr)");
  matrix("w_in", &RnnParameters::w_in, "(N, inputs) input weights, or None");
  matrix("h", &RnnParameters::h, "(N, conditions) condition inputs, or None");
  matrix("x0", &RnnParameters::x0, "(N, conditions) initial states");
  matrix("readout", &RnnParameters::readout, "(neurons, N) readout C");
  auto vector = [&c](const char* name,
                     Eigen::VectorXd RnnParameters::*field,
                     const char* doc) {
    c.def_property_readonly(
        name,
        [field](py::object self) {
          return VectorView(
              self.cast<const FitObject&>().summary.model.parameters.*field,
              self);
        },
        doc);
  };
  vector("bias", &RnnParameters::bias, "(N,) bias");
  vector("offset", &RnnParameters::offset, "(neurons,) readout offset d");
  using F = FitObject;
  auto p = [](const F& f) -> const RnnParameters& {
    return f.summary.model.parameters;
  };
  c.def_property_readonly("kind",
                          [p](const F& f) { return WeightKindName(p(f).kind); })
      .def_property_readonly("rank", [p](const F& f) { return p(f).rank(); })
      .def_property_readonly("units", [p](const F& f) { return p(f).units(); })
      .def_property_readonly(
          "nonlinearity",
          [p](const F& f) { return NonlinearityName(p(f).nonlinearity); })
      .def_property_readonly("alpha", [p](const F& f) { return p(f).alpha; })
      .def_property_readonly(
          "loss", [](const F& f) { return RnnLossName(f.summary.model.loss); })
      .def_property_readonly(
          "readout_kind",
          [](const F& f) { return ReadoutKindName(f.summary.model.readout); },
          "free, orthonormal or identity")
      .def_property_readonly("conditions",
                             [p](const F& f) { return p(f).num_conditions(); })
      .def_property_readonly("neurons",
                             [p](const F& f) { return p(f).num_outputs(); })
      .def(
          "recurrent_weights",
          [p](const F& f, Index trial) {
            if (trial < 0 || (p(f).kind == WeightKind::kLowTensorRank &&
                              trial >= p(f).num_trials()))
              throw py::value_error("trial " + std::to_string(trial) +
                                    " is outside the model's trials");
            return FromMatrix(p(f).RecurrentWeights(trial));
          },
          py::arg("trial") = 0,
          "W_k of trial k (W0 included), N x N.");
}

void BindFitStatistics(py::class_<FitObject>& c) {
  using F = FitObject;
#define LTR_STAT(name, doc) \
  c.def_property_readonly(  \
      #name, [](const F& f) { return f.summary.name; }, doc)
  LTR_STAT(termination,
           "converged, stalled, no_convergence, early_stopped, diverged or "
           "interrupted");
  LTR_STAT(message, "why the fit stopped (Ceres' message, or ours)");
  LTR_STAT(optimizer, "lbfgs or adam");
  LTR_STAT(diverged, "the loss or gradient stopped being finite");
  LTR_STAT(iterations, "iterations run");
  LTR_STAT(best_iteration, "the iteration whose parameters are returned");
  LTR_STAT(seconds, "wall time of the fit");
  LTR_STAT(initial_loss, "training objective at the start");
  LTR_STAT(initialization, "data, random or given");
  LTR_STAT(init_one_step_r2, "R2 of the data-driven start's regression");
  LTR_STAT(init_seconds, "seconds of the data-driven start");
  LTR_STAT(train_loss, "data term on the training entries");
  LTR_STAT(test_loss, "data term on the held-out entries (NaN: none)");
  LTR_STAT(objective, "training objective with the penalties");
  LTR_STAT(null_train_loss, "training data term of each neuron's mean");
#undef LTR_STAT
  c.def_property_readonly(
       "train_metrics",
       [](const F& f) { return Metrics(f.summary.train_metrics); },
       "PredictionMetrics on the training entries: count, mse, nmse, r2, "
       "r2_median, bits_per_spike")
      .def_property_readonly(
          "test_metrics",
          [](const F& f) { return Metrics(f.summary.test_metrics); },
          "PredictionMetrics on the held-out entries (count 0 without)")
      .def_property_readonly(
          "test_r2",
          [](const F& f) { return f.summary.test_metrics.r2; },
          "test_metrics.r2: 1 - SS_res/SS_tot over the held-out entries")
      .def_property_readonly(
          "history",
          [](const F& f) { return History(f.summary.history); },
          "dict of arrays per iteration: iteration, loss (training "
          "objective), test_loss, seconds (NaN where not recorded)")
      .def_property_readonly(
          "train_mask",
          [](const F& f) { return MaskArray(f.summary.masks.train); },
          "bool (trials, time, neurons): the entries trained on")
      .def_property_readonly(
          "test_mask",
          [](const F& f) { return MaskArray(f.summary.masks.test); },
          "bool (trials, time, neurons): the held-out entries scored")
      .def_property_readonly(
          "failure",
          [](const F& f) {
            return f.has_statistics ? f.summary.Failure() : std::string();
          },
          "why the fit must not be trusted (diverged, or no better than "
          "each neuron's mean); \"\" when it can")
      .def_readonly("warnings",
                    &F::warnings,
                    "likely mistakes in the data (FitWarnings), one line each")
      .def_readonly(
          "input", &F::input, "the recording file fitted (\"\" for arrays)")
      .def_readonly("has_statistics",
                    &F::has_statistics,
                    "False for a model file without /fit")
      .def(
          "report",
          [](const F& f) { return f.summary.BriefReport(); },
          "The summary `ltr fit` prints.")
      .def("__repr__", &Repr);
}

void BindFitMethods(py::class_<FitObject>& c) {
  const SimulateOptions s;
  c.def("simulate",
        &Simulate,
        "Runs the model and returns an ltr.Recording (SimulateRecording, as "
        "`ltr simulate MODEL.h5`).\n\n"
        "inputs: None, an array (trial x time x input) or an ltr.Recording "
        "whose inputs and condition drive the model. condition: one label "
        "per trial (default: trial k has condition k mod conditions). "
        "trials, steps: 0 = from the inputs (or the c rows of an ltr "
        "model); steps is needed without inputs. noise: process noise "
        "sigma. obs_noise: Gaussian observation noise (mse models; poisson "
        "models draw counts). dt: the recording's dt. seed: of the noise.\n\n"
        "Raises ValueError on inputs of the wrong width, labels outside the "
        "model's conditions, or activity that diverges.",
        py::arg("inputs") = py::none(),
        py::arg("condition") = py::none(),
        py::kw_only(),
        py::arg("trials") = s.trials,
        py::arg("steps") = s.steps,
        py::arg("noise") = s.noise_sigma,
        py::arg("obs_noise") = s.observation_noise,
        py::arg("dt") = s.dt,
        py::arg("seed") = s.seed);
  c.def("predict",
        &Predict,
        "The model's predicted means (rates for a poisson model) as a "
        "(trials, steps, neurons) array (ltr::Predict: no noise).\n\n"
        "inputs: None, an array (trial x time x input) or an ltr.Recording "
        "(its inputs and condition). condition: one label per trial "
        "(default 0 for every trial, as Predict). trials, steps: 0 = from "
        "the inputs or condition (or the c rows of an ltr model).",
        py::arg("inputs") = py::none(),
        py::arg("condition") = py::none(),
        py::kw_only(),
        py::arg("trials") = 0,
        py::arg("steps") = 0,
        py::arg("threads") = py::none());
  c.def("save",
        &Save,
        py::arg("path"),
        "Writes the layout `ltr fit -o` writes (/model, /fit, /heldout; "
        "WriteFit) atomically to `path` (a temporary file renamed when "
        "complete). `ltr info`, `ltr simulate --model` and `ltr fit --init` "
        "read it. Raises ValueError when `path` is the recording fitted, "
        "OSError when it cannot be written.");
}

}  // namespace

py::object MakeFit(FitObject fit) { return py::cast(std::move(fit)); }

py::object LoadFit(const std::string& path) {
  io::CheckReadable(path);
  const FitParts parts = FindFitParts(path);
  if (parts.rank_sweep) return MakeSweep({ReadRankSweep(path), {}, ""});
  FitObject fit;
  if (parts.fit) {
    fit.summary = ReadFitSummary(path);
  } else {
    fit.summary.model = ReadModel(path);
    fit.has_statistics = false;
  }
  return MakeFit(std::move(fit));
}

void BindFit(py::module_& m) {
  py::class_<FitObject> c(m, "RnnFit", kFitDoc);
  BindFitAttributes(c);
  BindFitStatistics(c);
  BindFitMethods(c);
  m.def("_fit_defaults",
        &FitDefaults,
        "The keyword arguments of fit_rnn with the library's defaults.");
  m.def("_fit_rnn",
        &FitRnnBinding,
        "ltr.fit_rnn's binding (python/ltr/_fit.py gives the signature).",
        py::arg("activity"),
        py::arg("rank"),
        py::arg("mask"),
        py::arg("test_mask"),
        py::arg("inputs"),
        py::arg("condition"),
        py::arg("epoch"),
        py::arg("init"),
        py::arg("base_weights"),
        py::arg("axes"),
        py::arg("options"),
        py::arg("threads"),
        py::arg("progress"));
  m.def("_load_fit",
        &LoadFit,
        py::arg("path"),
        "A fit file (ltr.RnnFit), a rank sweep (ltr.RankSweep) or a model "
        "file without statistics (ltr.RnnFit).");
  BindSweep(m);
}

}  // namespace ltr::python
