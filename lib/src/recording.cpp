#include "ltr/recording.h"

#include "ltr/error.h"

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

Recording ReadRecording(const std::string& file, const std::string& activity) {
  Recording r;
  r.activity = io::ReadTensor3(file, activity);
  if (io::HasDataset(file, "/inputs"))
    r.inputs = io::ReadTensor3(file, "/inputs");
  if (io::HasDataset(file, "/mask")) r.mask = io::ReadMask3(file, "/mask");
  if (io::HasDataset(file, "/condition"))
    r.condition = io::ReadIntVector(file, "/condition");
  if (io::HasDataset(file, "/epoch"))
    r.epoch = io::ReadIntVector(file, "/epoch");
  if (io::HasDataset(file, "/time")) r.time = io::ReadVector(file, "/time");
  if (io::HasAttribute(file, "/", "dt"))
    r.dt = io::ReadDoubleAttribute(file, "/", "dt");
  r.Validate("'" + file + "'");
  return r;
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
