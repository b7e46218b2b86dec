// ltr.import_recording: `ltr import` (ltr/jobs/import.h) from Python, an
// NWB, NumPy or MATLAB file to an ltr.Recording, written with its provenance
// when an output path is given.
#include "ltr/jobs/import.h"

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "call.h"
#include "fit_common.h"
#include "ltr/formats/io.h"

namespace ltr::python {

namespace {

using Window = std::optional<std::pair<double, double>>;

Preprocessing MakePreprocessing(double min_rate,
                                bool sqrt,
                                double smooth_sd,
                                const Window& baseline,
                                const std::optional<double>& soft_normalize,
                                bool zscore) {
  Preprocessing p;
  p.min_rate = min_rate;
  p.sqrt = sqrt;
  p.smooth_sd = smooth_sd;
  if (baseline) {
    p.baseline = true;
    p.baseline_start = baseline->first;
    p.baseline_stop = baseline->second;
  }
  if (soft_normalize) {
    p.soft_normalize = true;
    p.soft_normalize_epsilon = *soft_normalize;
  }
  p.zscore = zscore;
  return p;
}

// The import's labels and ids beside the recording.
py::dict Provenance(const ImportResult& result) {
  const ImportedRecording& im = result.imported;
  py::dict d;
  d["trial_ids"] = FromStdVector(im.trial_ids);
  d["unit_ids"] = FromStdVector(im.unit_ids);
  d["alignment_times"] = FromVector(im.alignment_times);
  d["condition_names"] = im.condition_names;
  d["epoch_names"] = im.epoch_names;
  d["summary"] = result.summary;
  return d;
}

py::tuple Import(ImportOptions o,
                 const std::optional<std::filesystem::path>& output,
                 const py::object& threads,
                 const py::object& progress) {
  std::optional<io::OutputFile> out;
  if (output) {  // refused before anything is read or written
    io::RefuseOutputOverInput(output->string(), {o.input});
    out.emplace(output->string(), "ltr.import_recording (Python)");
  }
  Call call(threads, progress);
  ImportResult result = call([&](const RunContext& run) {
    o.run = run;
    return ImportRecording(o);
  });
  for (const std::string& w : result.warnings)
    PyErr_WarnEx(PyExc_UserWarning, w.c_str(), 1);
  if (out) {
    WriteImportedRecording(result.imported, &*out);
    out->Commit();
  }
  py::dict provenance = Provenance(result);
  return py::make_tuple(
      MakeRecording({std::move(result.imported.recording),
                     output ? output->string() : std::string()}),
      provenance);
}

}  // namespace

void BindImport(py::module_& m) {
  const ImportOptions d;
  m.def(
      "import_recording",
      [](const std::filesystem::path& input,
         const Window& window,
         double bin,
         const std::optional<std::filesystem::path>& output,
         const std::string& format,
         const std::string& table,
         const std::string& align,
         const std::vector<std::int64_t>& units,
         const std::string& condition_column,
         const std::string& epoch_column,
         const std::string& series,
         const std::string& series_mode,
         const std::string& variable,
         const std::string& axes,
         double dt,
         double time_unit,
         double min_rate,
         bool sqrt,
         double smooth_sd,
         const Window& baseline,
         const std::optional<double>& soft_normalize,
         bool zscore,
         const py::object& threads,
         const py::object& progress) {
        ImportOptions o;
        o.input = input.string();
        if (window) {
          o.window_start = window->first;
          o.window_stop = window->second;
        }
        o.bin = bin;
        o.format = ParseInputFormat(format);
        o.table = table;
        o.align = align;
        o.units = units;
        o.condition_column = condition_column;
        o.epoch_column = epoch_column;
        o.series = series;
        o.series_mode = series_mode;
        o.variable = variable;
        o.axes = axes;
        o.dt = dt;
        o.time_unit = time_unit;
        o.preprocessing = MakePreprocessing(
            min_rate, sqrt, smooth_sd, baseline, soft_normalize, zscore);
        return Import(std::move(o), output, threads, progress);
      },
      R"(`ltr import` from Python (docs/import.md): an NWB 2.x file (spike
times of /units cut into the trials of a TimeIntervals table and binned, or a
TimeSeries), a NumPy .npy/.npz array or a MATLAB .mat file (an array, or
cells of spike-time vectors) to a recording.

window: (A, B) seconds around each trial's alignment (NWB tables and MATLAB
spike cells need one); bin: seconds. A spike at relative time t is in bin
floor((t - A) / bin) when A <= t < B. The other keywords are the command's
flags (--table, --align, --units, --condition-column, --epoch-column,
--series, --series-mode, --variable, --axes, --dt, --time-unit as seconds
per unit: 1e-3 for ms) and its preprocessing, applied in this order:
min_rate, sqrt, smooth_sd, baseline=(A, B), soft_normalize=epsilon, zscore.

Returns (recording, provenance): an ltr.Recording and a dict of trial_ids,
unit_ids, alignment_times, condition_names, epoch_names and summary. With
`output`, also writes the recording as the command does, with its /import
attributes (a temporary file renamed when complete; an output equal to the
input is refused). Warnings (trials dropped for a NaN alignment, ...) are
Python warnings. Raises OSError for files that cannot be read or written,
ValueError for files that break their schema and bad options.)",
      py::arg("input"),
      py::arg("window") = py::none(),
      py::arg("bin") = d.bin,
      py::kw_only(),
      py::arg("output") = py::none(),
      py::arg("format") = InputFormatName(d.format),
      py::arg("table") = d.table,
      py::arg("align") = d.align,
      py::arg("units") = std::vector<std::int64_t>{},
      py::arg("condition_column") = d.condition_column,
      py::arg("epoch_column") = d.epoch_column,
      py::arg("series") = d.series,
      py::arg("series_mode") = d.series_mode,
      py::arg("variable") = d.variable,
      py::arg("axes") = d.axes,
      py::arg("dt") = d.dt,
      py::arg("time_unit") = d.time_unit,
      py::arg("min_rate") = d.preprocessing.min_rate,
      py::arg("sqrt") = d.preprocessing.sqrt,
      py::arg("smooth_sd") = d.preprocessing.smooth_sd,
      py::arg("baseline") = py::none(),
      py::arg("soft_normalize") = py::none(),
      py::arg("zscore") = d.preprocessing.zscore,
      py::arg("threads") = py::none(),
      py::arg("progress") = py::none());
}

}  // namespace ltr::python
