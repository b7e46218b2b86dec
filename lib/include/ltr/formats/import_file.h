// The output of `ltr import`: a recording (docs/formats.md) with what it
// was made from: trial ids and alignment times, unit ids, the names behind
// integer condition and epoch codes, and the /import attributes that trace
// a fit back to the raw file.
#ifndef LTR_FORMATS_IMPORT_FILE_H_
#define LTR_FORMATS_IMPORT_FILE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ltr/formats/io.h"
#include "ltr/formats/recording.h"

namespace ltr {

struct ImportedRecording {
  Recording recording;
  std::vector<std::int64_t> trial_ids;  // (trials,) or empty
  Vector alignment_times;               // (trials,) seconds, or empty
  std::vector<std::int64_t> unit_ids;   // (neurons,) or empty
  // Names of the codes 0, 1, ... of /condition and /epoch when the column
  // was not already integer codes (empty otherwise).
  std::vector<std::string> condition_names, epoch_names;
  // Attributes of /import, in order.
  std::vector<std::pair<std::string, std::string>> text_attributes;
  std::vector<std::pair<std::string, double>> number_attributes;
};

// The recording as WriteRecording writes it, plus /trial_id,
// /alignment_time, /unit_id, the attribute `names` of /condition and /epoch
// (a JSON list of strings, code i named by entry i) and /import.
void WriteImportedRecording(const ImportedRecording& imported,
                            io::OutputFile* out);

}  // namespace ltr

#endif  // LTR_FORMATS_IMPORT_FILE_H_
