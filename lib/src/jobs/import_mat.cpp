// The MATLAB half of `ltr import`: a numeric variable (an array with
// --axes, as NumPy input) or Onken's cells of spike-time vectors (one trial
// per stimulus and repeat, binned as NWB spikes are).
#include <cmath>

#include "ltr/core/error.h"
#include "ltr/formats/mat_file.h"
#include "ltr/jobs/import.h"

namespace ltr::detail {

namespace {

// The variable to read: the one named, or the file's only one.
MatVariable ChooseVariable(const ImportOptions& o) {
  const MatVariables variables = ListMatVariables(o.input);
  if (o.variable.empty()) {
    if (variables.size() == 1) return variables[0];
    throw Error("'" + o.input + "' holds " + std::to_string(variables.size()) +
                " variables; name one with --variable (it has: " +
                DescribeMatVariables(variables) + ")");
  }
  for (const MatVariable& v : variables)
    if (v.name == o.variable) return v;
  throw Error("no variable '" + o.variable + "' in '" + o.input +
              "' (it has: " + DescribeMatVariables(variables) + ")");
}

ImportResult ImportMatSpikes(const ImportOptions& o, const MatVariable& v) {
  if (!std::isfinite(o.window_start) || !std::isfinite(o.window_stop))
    throw Error(
        "MATLAB spike times need --window A:B (seconds after each "
        "trial's onset)");
  const MatSpikeImport m = ReadMatSpikeCells(o.input, v.name, o.time_unit);
  if (o.run.cancelled()) return Cancelled();
  SpikeBinning binning;
  binning.window_start = o.window_start;
  binning.window_stop = o.window_stop;
  binning.bin = o.bin;
  ImportResult result;
  ImportedRecording& im = result.imported;
  im.recording.activity = BinSpikes(m.spikes, binning);
  im.recording.dt = o.bin;
  im.recording.condition = m.stimulus;
  im.trial_ids = m.spikes.trial_ids;
  im.unit_ids = m.spikes.unit_ids;
  result.window_start = o.window_start;
  im.text_attributes = {{"format", "mat"},
                        {"variable", v.name},
                        {"kind", "spike cells (stimulus x repeat trials)"}};
  im.number_attributes = {{"time_unit", o.time_unit},
                          {"window_start", o.window_start},
                          {"window_stop", o.window_stop},
                          {"bin", o.bin}};
  return result;
}

ImportResult ImportMatArray(const ImportOptions& o, const MatVariable& v) {
  if (!(o.dt > 0)) throw Error("--dt must be positive");
  const DenseArray a = ReadMatArray(o.input, v.name);
  if (o.run.cancelled()) return Cancelled();
  ImportResult result;
  result.imported.recording.activity = ToTrialTimeNeuron(a, o.axes);
  result.imported.recording.dt = o.dt;
  result.imported.text_attributes = {{"format", "mat"},
                                     {"variable", v.name},
                                     {"axes", o.axes},
                                     {"class", a.type}};
  return result;
}

}  // namespace

ImportResult ImportMat(const ImportOptions& o) {
  const MatVariable v = ChooseVariable(o);
  return v.class_name == "cell" ? ImportMatSpikes(o, v) : ImportMatArray(o, v);
}

}  // namespace ltr::detail
