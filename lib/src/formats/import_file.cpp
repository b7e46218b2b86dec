#include "ltr/formats/import_file.h"

namespace ltr {
namespace {

// A JSON list of strings, so that names holding commas stay apart.
std::string JsonList(const std::vector<std::string>& names) {
  std::string s = "[";
  for (size_t n = 0; n < names.size(); ++n) {
    s += n ? ", \"" : "\"";
    for (char c : names[n]) {
      if (c == '"' || c == '\\') s += '\\';
      if (static_cast<unsigned char>(c) < 0x20) continue;
      s += c;
    }
    s += '"';
  }
  return s + "]";
}

}  // namespace

void WriteImportedRecording(const ImportedRecording& im, io::OutputFile* out) {
  WriteRecording(im.recording, out);
  if (!im.trial_ids.empty())
    out->WriteIntVector("/trial_id", im.trial_ids, "trial");
  if (im.alignment_times.size() > 0)
    out->WriteVector("/alignment_time", im.alignment_times, "trial");
  if (!im.unit_ids.empty())
    out->WriteIntVector("/unit_id", im.unit_ids, "neuron");
  if (!im.condition_names.empty())
    out->SetAttribute("/condition", "names", JsonList(im.condition_names));
  if (!im.epoch_names.empty())
    out->SetAttribute("/epoch", "names", JsonList(im.epoch_names));
  for (const auto& [name, value] : im.text_attributes)
    out->SetAttribute("/import", name, value);
  for (const auto& [name, value] : im.number_attributes)
    out->SetAttribute("/import", name, value);
}

}  // namespace ltr
