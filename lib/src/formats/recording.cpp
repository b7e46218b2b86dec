#include "ltr/formats/recording.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <utility>

#include "ltr/core/error.h"
#include "ltr/formats/dense_array.h"

namespace ltr {

void Recording::Validate(const std::string& source) const {
  const Dims& d = activity.dims();
  auto fail = [&](const std::string& what) {
    throw Error(source + ": " + what + " (activity is " + DimsToString(d) +
                " trials x time x neurons)");
  };
  if (!inputs.empty() && (inputs.dim(0) != d[0] || inputs.dim(1) != d[1]))
    fail("/inputs is " + DimsToString(inputs.dims()) +
         ", expected the same trials and time bins as /activity");
  if (mask && mask->dims() != d)
    fail("/mask is " + DimsToString(mask->dims()) +
         ", expected the shape of /activity");
  if (!condition.empty() && static_cast<Index>(condition.size()) != d[0])
    fail("/condition has " + std::to_string(condition.size()) + " entries");
  if (!epoch.empty() && static_cast<Index>(epoch.size()) != d[0])
    fail("/epoch has " + std::to_string(epoch.size()) + " entries");
  for (std::int64_t c : condition)
    if (c < 0) fail("/condition has a negative label " + std::to_string(c));
  for (std::int64_t e : epoch)
    if (e < 0) fail("/epoch has a negative label " + std::to_string(e));
  if (time.size() > 0 && time.size() != d[1])
    fail("/time has " + std::to_string(time.size()) + " entries");
  if (!(dt > 0)) fail("dt must be positive");
}

namespace {

// The canonical position of each stored axis (see RecordingAxes).
using AxisOrder = std::array<int, 3>;
constexpr AxisOrder kCanonical = {0, 1, 2};

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// Lower case, inner blanks and hyphens as '_' ("Time bin" -> "time_bin").
std::string NormalName(std::string name) {
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == ' ' || c == '-') c = '_';
  }
  return name;
}

// The names ltr takes for each axis, blank-separated with blanks at both
// ends (docs/formats.md "Recording").
constexpr const char* kTrialNames =
    " trial trials condition conditions stimulus stimuli ";
constexpr const char* kTimeNames =
    " time times t bin bins timebin timebins time_bin time_bins sample "
    "samples frame frames ";
constexpr const char* kNeuronNames =
    " neuron neurons unit units cell cells channel channels roi rois ";
constexpr const char* kInputNames = " input inputs ";

// 0 trial, 1 time, 2 neuron (or input with `inputs`), -1 unknown.
int AxisRoleOf(const std::string& name, bool inputs) {
  auto in = [&](const char* names) {
    return std::string(names).find(" " + name + " ") != std::string::npos;
  };
  if (in(kTrialNames)) return 0;
  if (in(kTimeNames)) return 1;
  if (in(inputs ? kInputNames : kNeuronNames)) return 2;
  return -1;
}

// The names of an axes text: comma- or semicolon-separated when it has
// commas or semicolons, else blank-separated ("trial x time x neuron" too).
std::vector<std::string> AxisNames(const std::string& text) {
  const bool commas = text.find_first_of(",;") != std::string::npos;
  std::vector<std::string> names;
  std::string current;
  auto flush = [&] {
    const size_t b = current.find_first_not_of(" \t()[]'\"");
    const size_t e = current.find_last_not_of(" \t()[]'\"");
    if (b != std::string::npos) {
      const std::string name = NormalName(current.substr(b, e - b + 1));
      if (commas || (name != "x" && name != "\xc3\x97")) names.push_back(name);
    }
    current.clear();
  };
  for (char c : text) {
    if (commas ? (c == ',' || c == ';') : (c == ' ' || c == '\t'))
      flush();
    else
      current += c;
  }
  flush();
  return names;
}

// The canonical axis names in stored order ("trial,neuron,time").
std::string StoredOrder(const AxisOrder& order, bool inputs) {
  const char* names[3] = {"trial", "time", inputs ? "input" : "neuron"};
  return std::string(names[order[0]]) + "," + names[order[1]] + "," +
         names[order[2]];
}

std::string NormalizedPath(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  std::stringstream in(path);
  while (std::getline(in, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string GroupOf(const std::string& dataset) {
  const size_t slash = dataset.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? "/"
                                                  : dataset.substr(0, slash);
}

// A dataset of the recording's file or of another one.
struct DatasetRef {
  std::string file, path;
  std::string Name(const std::string& recording_file) const {
    return file == recording_file ? path : file + ":" + path;
  }
};

// OTHER.h5:/path names another file when the part before the colon is a
// file, or looks like one (then a missing file is reported as such).
std::optional<DatasetRef> OtherFile(const std::string& given) {
  const size_t colon = given.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  const std::string file = given.substr(0, colon);
  std::error_code ec;
  const std::string ext = std::filesystem::path(file).extension().string();
  if (!std::filesystem::is_regular_file(file, ec) && ext != ".h5" &&
      ext != ".hdf5" && ext != ".hdf" && ext != ".he5")
    return std::nullopt;
  return DatasetRef{file, NormalizedPath(given.substr(colon + 1))};
}

DatasetRef Resolve(const std::string& file,
                   const std::string& activity,
                   const std::string& given,
                   const std::string& standard) {
  if (given.empty()) return {file, CompanionPath(activity, standard)};
  if (auto other = OtherFile(given)) return *other;
  return {file, CompanionPath(activity, given)};
}

std::string AxesAttribute(const DatasetRef& ref) {
  if (!io::HasAttribute(ref.file, ref.path, "axes")) return "";
  return io::ReadStringAttribute(ref.file, ref.path, "axes");
}

AxisOrder DatasetAxes(const DatasetRef& ref,
                      const std::string& recording_file,
                      const std::string& names,
                      bool inputs) {
  try {
    return RecordingAxes(names, inputs);
  } catch (const Error& e) {
    throw Error("dataset " + Quote(ref.Name(recording_file)) + " in " +
                Quote(ref.file) + " has axes " + Quote(names) + ", which " +
                e.what() +
                "; give their stored order with --axes, e.g. "
                "--axes " +
                (inputs ? "trial,time,input" : "trial,neuron,time"));
  }
}

template <typename T>
DenseTensor3<T> ToCanonical(const DenseTensor3<T>& x, const AxisOrder& order) {
  if (order == kCanonical) return x;
  Dims dims;
  for (int d = 0; d < 3; ++d) dims[order[d]] = x.dim(d);
  DenseTensor3<T> y(dims);
  Index at[3];
  for (Index i = 0; i < x.dim(0); ++i)
    for (Index j = 0; j < x.dim(1); ++j)
      for (Index k = 0; k < x.dim(2); ++k) {
        at[order[0]] = i;
        at[order[1]] = j;
        at[order[2]] = k;
        y(at[0], at[1], at[2]) = x(i, j, k);
      }
  return y;
}

// The activity's axis order: given, from its attribute, or assumed.
AxisOrder ActivityAxes(const RecordingSource& s,
                       const DatasetRef& activity,
                       RecordingReadReport* report) {
  AxisOrder order = kCanonical;
  if (!s.axes.empty()) {
    try {
      order = RecordingAxes(s.axes);
    } catch (const Error& e) {
      throw Error("the axes " + Quote(s.axes) + " " + e.what());
    }
    report->axes_from = "given";
  } else if (const std::string names = AxesAttribute(activity);
             !names.empty()) {
    order = DatasetAxes(activity, s.file, names, false);
    report->axes_from = "attribute";
  } else {
    report->axes_from = "assumed";
  }
  report->axes = StoredOrder(order, false);
  return order;
}

// A 3-way companion's order: its own attribute, else the activity's.
AxisOrder CompanionAxes(const DatasetRef& ref,
                        const std::string& recording_file,
                        const AxisOrder& activity,
                        bool inputs) {
  const std::string names = AxesAttribute(ref);
  return names.empty() ? activity
                       : DatasetAxes(ref, recording_file, names, inputs);
}

// The companion to read, if any: a given one always (it must exist), the
// standard sibling when it exists. A root dataset of the standard name that
// is not the sibling is not read, with a warning: it is likely meant.
std::optional<DatasetRef> Companion(const RecordingSource& s,
                                    const std::string& activity,
                                    const std::string& given,
                                    const std::string& standard,
                                    RecordingReadReport* report) {
  const DatasetRef ref = Resolve(s.file, activity, given, standard);
  if (!given.empty() || io::HasDataset(ref.file, ref.path)) {
    report->companions.push_back(ref.Name(s.file));
    return ref;
  }
  const std::string root = "/" + standard;
  if (ref.path != root && io::HasDataset(s.file, root))
    report->warnings.push_back(
        Quote(root) + " is not read: the companions of " + Quote(activity) +
        " are its siblings and " + Quote(ref.path) +
        " does not exist (name it with --" + standard + " " + root +
        " to use it)");
  return std::nullopt;
}

double ReadDt(const std::string& file, const std::string& activity) {
  for (const std::string& object : {activity, GroupOf(activity)})
    if (io::HasAttribute(file, object, "dt"))
      return io::ReadDoubleAttribute(file, object, "dt");
  if (io::HasAttribute(file, "/", "dt"))
    return io::ReadDoubleAttribute(file, "/", "dt");
  return 1.0;
}

}  // namespace

std::array<int, 3> RecordingAxes(const std::string& text, bool inputs) {
  const std::vector<std::string> names = AxisNames(text);
  const std::string third = inputs ? "input" : "neuron";
  const std::string want =
      "do not name trial, time and " + third + " once each";
  if (names.size() != 3)
    throw Error(want + " (" + std::to_string(names.size()) +
                " names, expected 3)");
  AxisOrder order{};
  std::array<int, 3> seen{-1, -1, -1};
  for (int d = 0; d < 3; ++d) {
    const int role = AxisRoleOf(names[d], inputs);
    if (role < 0)
      throw Error(want + " (" + Quote(names[d]) +
                  " is not an axis name ltr knows)");
    if (seen[role] >= 0)
      throw Error(want + " (" + Quote(names[seen[role]]) + " and " +
                  Quote(names[d]) + " are both " +
                  (role == 0   ? "trial"
                   : role == 1 ? "time"
                               : third) +
                  ")");
    seen[role] = d;
    order[d] = role;
  }
  return order;
}

namespace {

// The array's dims as three: a missing trailing dimension is a singleton
// (MATLAB drops them); further dimensions must be singletons.
Dims ThreeDims(const std::vector<Index>& dims) {
  Dims three{1, 1, 1};
  std::string shape;
  for (size_t d = 0; d < dims.size(); ++d) {
    shape += (d ? "x" : "") + std::to_string(dims[d]);
    if (d < 3) three[d] = dims[d];
  }
  for (size_t d = 3; d < dims.size(); ++d)
    if (dims[d] != 1)
      throw Error("the array is " + std::to_string(dims.size()) + "-D (" +
                  shape +
                  "); a recording has three axes (trial, time, "
                  "neuron)");
  return three;
}

}  // namespace

Tensor3 ToTrialTimeNeuron(const DenseArray& array, const std::string& axes) {
  AxisOrder order;
  try {
    order = RecordingAxes(axes);
  } catch (const Error& e) {
    throw Error("the axes " + Quote(axes) + " " + e.what());
  }
  Tensor3 stored(ThreeDims(array.dims));
  if (static_cast<size_t>(stored.size()) != array.values.size())
    throw Error("the array has " + std::to_string(array.values.size()) +
                " values for its shape " + DimsToString(stored.dims()));
  std::copy(array.values.begin(), array.values.end(), stored.data());
  return ToCanonical(stored, order);
}

std::vector<std::string> RecordingFiles(const RecordingSource& source,
                                        const std::vector<std::string>& extra) {
  std::vector<std::string> files = {source.file};
  std::vector<std::string> given = {
      source.inputs, source.mask, source.condition, source.epoch};
  given.insert(given.end(), extra.begin(), extra.end());
  for (const std::string& path : given)
    if (const auto other = OtherFile(path)) files.push_back(other->file);
  return files;
}

std::string CompanionPath(const std::string& dataset, const std::string& path) {
  if (!path.empty() && path[0] == '/') return NormalizedPath(path);
  return NormalizedPath(GroupOf(NormalizedPath(dataset)) + "/" + path);
}

std::string RecordingReadReport::Line() const {
  std::string s = Quote(activity) + " read as " + std::to_string(dims[0]) +
                  " trials x " + std::to_string(dims[1]) + " time bins x " +
                  std::to_string(dims[2]) + " neurons (stored " + axes + ": ";
  s += axes_from == "given"       ? "as --axes says"
       : axes_from == "attribute" ? "its axes attribute"
                                  : "assumed, no axes attribute";
  s += ")";
  if (!companions.empty()) {
    s += "; with ";
    for (size_t i = 0; i < companions.size(); ++i)
      s += (i ? ", " : "") + companions[i];
  }
  return s;
}

Recording ReadRecording(const RecordingSource& s, RecordingReadReport* report) {
  RecordingReadReport local;
  RecordingReadReport& rep = report != nullptr ? *report : local;
  rep = RecordingReadReport();
  io::CheckReadable(s.file);
  const DatasetRef activity{s.file, NormalizedPath(s.activity)};
  rep.activity = activity.path;
  Recording r;
  const Tensor3 stored = io::ReadTensor3(s.file, activity.path);
  const AxisOrder order = ActivityAxes(s, activity, &rep);
  r.activity = ToCanonical(stored, order);
  rep.dims = r.activity.dims();
  if (auto ref = Companion(s, activity.path, s.inputs, "inputs", &rep))
    r.inputs = ToCanonical(io::ReadTensor3(ref->file, ref->path),
                           CompanionAxes(*ref, s.file, order, true));
  if (auto ref = Companion(s, activity.path, s.mask, "mask", &rep))
    r.mask = ToCanonical(io::ReadMask3(ref->file, ref->path),
                         CompanionAxes(*ref, s.file, order, false));
  if (auto ref = Companion(s, activity.path, s.condition, "condition", &rep))
    r.condition = io::ReadIntVector(ref->file, ref->path);
  if (auto ref = Companion(s, activity.path, s.epoch, "epoch", &rep))
    r.epoch = io::ReadIntVector(ref->file, ref->path);
  const std::string time = CompanionPath(activity.path, "time");
  if (io::HasDataset(s.file, time)) {
    r.time = io::ReadVector(s.file, time);
    rep.companions.push_back(time);
  }
  r.dt = ReadDt(s.file, activity.path);
  r.Validate("'" + s.file + "'");
  return r;
}

Recording ReadRecording(const std::string& file, const std::string& activity) {
  RecordingSource source;
  source.file = file;
  source.activity = activity;
  return ReadRecording(source);
}

Mask3 ReadRecordingMask(const RecordingSource& s,
                        const std::string& path,
                        const Dims& dims) {
  RecordingReadReport unused;
  const DatasetRef activity{s.file, NormalizedPath(s.activity)};
  const AxisOrder order = ActivityAxes(s, activity, &unused);
  const DatasetRef ref = Resolve(s.file, activity.path, path, "");
  const Mask3 mask = ToCanonical(io::ReadMask3(ref.file, ref.path),
                                 CompanionAxes(ref, s.file, order, false));
  if (mask.dims() != dims)
    throw Error("mask " + Quote(ref.Name(s.file)) + " in " + Quote(ref.file) +
                " is " + DimsToString(mask.dims()) +
                " (trial x time x neuron), expected the activity's " +
                DimsToString(dims));
  return mask;
}

void WriteRecording(const Recording& r, io::OutputFile* out) {
  out->WriteTensor3("/activity", r.activity, "trial,time,neuron");
  if (!r.inputs.empty())
    out->WriteTensor3("/inputs", r.inputs, "trial,time,input");
  if (r.mask) out->WriteMask3("/mask", *r.mask, "trial,time,neuron");
  if (!r.condition.empty())
    out->WriteIntVector("/condition", r.condition, "trial");
  if (!r.epoch.empty()) out->WriteIntVector("/epoch", r.epoch, "trial");
  if (r.time.size() > 0) out->WriteVector("/time", r.time, "time");
  out->SetAttribute("/", "dt", r.dt);
}

bool HasRecording(const std::string& file) {
  return io::HasDataset(file, RecordingSource().activity);
}

RecordingLabels ReadRecordingLabels(const std::string& file) {
  RecordingLabels labels;
  if (io::HasDataset(file, "/epoch"))
    labels.epoch = io::ReadIntVector(file, "/epoch");
  labels.dt = io::DoubleAttributeOr(file, "/", "dt", 0.0);
  labels.input = io::StringAttributeOr(file, "/", "input");
  return labels;
}

namespace {

template <typename T>
DenseTensor3<T> SelectRows(const DenseTensor3<T>& x,
                           const std::vector<Index>& rows) {
  if (x.empty()) return x;
  DenseTensor3<T> out(static_cast<Index>(rows.size()), x.dim(1), x.dim(2));
  for (size_t i = 0; i < rows.size(); ++i)
    out.Slice(static_cast<Index>(i)) = x.Slice(rows[i]);
  return out;
}

std::vector<std::int64_t> SelectLabels(const std::vector<std::int64_t>& v,
                                       const std::vector<Index>& rows) {
  if (v.empty()) return v;
  std::vector<std::int64_t> out;
  for (Index k : rows) out.push_back(v[static_cast<size_t>(k)]);
  return out;
}

}  // namespace

Recording SelectTrials(const Recording& recording,
                       const std::vector<Index>& trials) {
  for (Index k : trials)
    if (k < 0 || k >= recording.trials())
      throw Error("trial " + std::to_string(k) + " is out of range (" +
                  std::to_string(recording.trials()) + " trials)");
  Recording r = recording;
  r.activity = SelectRows(recording.activity, trials);
  r.inputs = SelectRows(recording.inputs, trials);
  if (recording.mask) r.mask = SelectRows(*recording.mask, trials);
  r.condition = SelectLabels(recording.condition, trials);
  r.epoch = SelectLabels(recording.epoch, trials);
  return r;
}

}  // namespace ltr
