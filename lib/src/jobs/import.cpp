// `ltr import`: the input's format chosen, the NumPy half, and the
// preprocessing and provenance both halves share.
#include "ltr/jobs/import.h"

#include <filesystem>

#include "ltr/core/error.h"
#include "ltr/formats/dense_array.h"
#include "ltr/formats/numpy_file.h"

namespace ltr {
namespace {

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() &&
         s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

InputFormat ImportFormat(const ImportOptions& o) {
  if (o.format != InputFormat::kAuto) return o.format;
  if (EndsWith(o.input, ".npy")) return InputFormat::kNpy;
  if (EndsWith(o.input, ".npz")) return InputFormat::kNpz;
  if (EndsWith(o.input, ".mat")) return InputFormat::kMat;
  return InputFormat::kNwb;
}

namespace {

void RecordPreprocessing(const ImportOptions& o,
                         const PreprocessResult& p,
                         ImportResult* result) {
  ImportedRecording& im = result->imported;
  const Preprocessing& s = o.preprocessing;
  im.text_attributes.push_back({"input", o.input});
  im.text_attributes.push_back({"preprocessing", s.Describe()});
  im.number_attributes.push_back({"min_rate", s.min_rate});
  im.number_attributes.push_back({"sqrt", s.sqrt ? 1.0 : 0.0});
  im.number_attributes.push_back({"smooth_sd", s.smooth_sd});
  im.number_attributes.push_back({"baseline", s.baseline ? 1.0 : 0.0});
  if (s.baseline) {
    im.number_attributes.push_back({"baseline_start", s.baseline_start});
    im.number_attributes.push_back({"baseline_stop", s.baseline_stop});
  }
  im.number_attributes.push_back(
      {"soft_normalize", s.soft_normalize ? 1.0 : 0.0});
  if (s.soft_normalize)
    im.number_attributes.push_back(
        {"soft_normalize_epsilon", s.soft_normalize_epsilon});
  im.number_attributes.push_back({"zscore", s.zscore ? 1.0 : 0.0});
  if (!im.unit_ids.empty()) {
    std::vector<std::int64_t> kept;
    for (Index k : p.kept_neurons)
      kept.push_back(im.unit_ids[static_cast<size_t>(k)]);
    im.unit_ids = kept;
  }
  for (const std::string& w : p.warnings) result->warnings.push_back(w);
}

}  // namespace

namespace detail {

ImportResult Cancelled() {
  ImportResult result;
  result.cancelled = true;
  return result;
}

ImportResult ImportNumpy(const ImportOptions& o) {
  const bool npz = ImportFormat(o) == InputFormat::kNpz;
  if (!npz && !o.variable.empty())
    throw Error("--variable names an array of an .npz archive, not of a .npy");
  const NumpyArray a = npz ? ReadNpz(o.input, o.variable) : ReadNpy(o.input);
  if (o.run.cancelled()) return Cancelled();
  if (a.shape.size() != 3)
    throw Error("the array in '" + o.input + "' has " +
                std::to_string(a.shape.size()) +
                " dimensions; import needs 3 (see --axes)");
  if (!(o.dt > 0)) throw Error("--dt must be positive");
  ImportResult result;
  Recording& r = result.imported.recording;
  r.activity = ToTrialTimeNeuron({a.shape, a.values, a.dtype}, o.axes);
  r.dt = o.dt;
  result.imported.text_attributes = {{"format", npz ? "npz" : "npy"},
                                     {"variable", o.variable},
                                     {"axes", o.axes},
                                     {"dtype", a.dtype},
                                     {"order", a.fortran_order ? "F" : "C"}};
  return result;
}

}  // namespace detail

ImportResult ImportRecording(const ImportOptions& o) {
  const InputFormat format = ImportFormat(o);
  if (!std::filesystem::exists(o.input))
    throw FileError("cannot open '" + o.input + "': no such file");
  ImportResult result = format == InputFormat::kNwb   ? detail::ImportNwb(o)
                        : format == InputFormat::kMat ? detail::ImportMat(o)
                                                      : detail::ImportNumpy(o);
  if (result.cancelled || o.run.cancelled()) return detail::Cancelled();
  Recording& r = result.imported.recording;
  PreprocessResult p =
      Preprocess(r.activity, o.preprocessing, r.dt, result.window_start);
  r.activity = std::move(p.data);
  RecordPreprocessing(o, p, &result);
  r.Validate(o.input);
  result.summary = std::to_string(r.trials()) + " trials x " +
                   std::to_string(r.steps()) + " bins x " +
                   std::to_string(r.neurons()) + " neurons from '" + o.input +
                   "' (" + InputFormatName(format) + ")";
  return result;
}

}  // namespace ltr
