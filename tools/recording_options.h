// The options that say where a recording is in its file and how its axes
// are stored (ltr/recording.h RecordingSource), shared by fit, simulate and
// pipeline, and the reading that prints what was read.
#ifndef LTR_TOOLS_RECORDING_OPTIONS_H_
#define LTR_TOOLS_RECORDING_OPTIONS_H_

#include <string>

#include "cli.h"
#include "ltr/formats/recording.h"

namespace ltr::cli {

// --axes always; --dataset with `dataset`; --mask, --condition, --inputs,
// --epoch with `companions`.
void AddRecordingOptions(po::options_description* options,
                         bool dataset,
                         bool companions);

// The source of `file` the options name (the companion options only with
// `companions`: simulate's --inputs is a file), over `base` (a resumed fit's
// recorded source) where they are not given. Throws po::error (a bad
// command line) on an --axes that does not name the three axes.
RecordingSource RecordingSourceFrom(const po::variables_map& vm,
                                    const std::string& file,
                                    bool companions,
                                    RecordingSource base = {});

// Reads the recording, printing its warnings to stderr ("ltr COMMAND:
// warning: ...") and what was read to stdout (by the first process of an
// MPI run only).
Recording ReadRecordingAndSay(const std::string& command,
                              const RecordingSource& source);

}  // namespace ltr::cli

#endif  // LTR_TOOLS_RECORDING_OPTIONS_H_
