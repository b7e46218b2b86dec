// A recording: trial x time x neuron activity with its optional inputs,
// mask, labels and timing (the "Recording" layout of docs/formats.md), and
// the one reader that finds it in a file: which datasets, in which axis
// order.
#ifndef LTR_RECORDING_H_
#define LTR_RECORDING_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"
#include "ltr/formats/io.h"

namespace ltr {

struct Recording {
  Tensor3 activity;  // (trials, time, neurons): rates or counts
  Tensor3 inputs;    // (trials, time, inputs); empty when there are none
  std::optional<Mask3> mask;            // 1 = observed; none = all observed
  std::vector<std::int64_t> condition;  // (trials,) or empty
  std::vector<std::int64_t> epoch;      // (trials,) or empty
  Vector time;                          // (time,) seconds, or empty
  double dt = 1.0;                      // seconds per bin

  Index trials() const { return activity.dim(0); }
  Index steps() const { return activity.dim(1); }
  Index neurons() const { return activity.dim(2); }

  // Throws ltr::Error, naming `source`, when shapes disagree or labels are
  // negative.
  void Validate(const std::string& source) const;
};

// Where a recording is in its file and how its axes are stored.
struct RecordingSource {
  std::string file;
  // The activity dataset; a path without a leading '/' is from the root.
  std::string activity = "/activity";
  // The stored order of the activity's axes, e.g. "trial,neuron,time"
  // (names as RecordingAxes takes them). Empty: the dataset's `axes`
  // attribute, or trial,time,neuron when it has none.
  std::string axes;
  // Companion datasets. Empty: the activity's sibling of the standard name
  // (inputs, mask, condition, epoch), read when it exists. Given: it must
  // exist; a relative path is relative to the activity's group, and
  // OTHER.h5:/path names a dataset of another file.
  std::string inputs, mask, condition, epoch;
};

// What ReadRecording found, for the tool to print.
struct RecordingReadReport {
  std::string activity;  // the activity dataset read (absolute path)
  std::string axes;      // its stored axis order as used ("trial,time,neuron")
  // Where that order came from: "attribute", "given" (RecordingSource::axes)
  // or "assumed" (no attribute: trial,time,neuron).
  std::string axes_from;
  std::vector<std::string> companions;  // the other datasets read
  std::vector<std::string> warnings;    // likely mistakes, one line each
  Dims dims{0, 0, 0};                   // (trials, time, neurons) as read

  // "'/s1/activity' read as 9 trials x 6 time bins x 5 neurons (stored
  // trial,neuron,time: its axes attribute); with /s1/mask, /s1/condition"
  std::string Line() const;
};

// Reads the recording `source` names and brings every 3-way dataset to
// (trial, time, neuron) (inputs: (trial, time, input)) order in memory. A
// companion mask or inputs dataset follows its own `axes` attribute, or,
// without one, the activity's order. `dt` is the activity's attribute, else
// its group's, else the root's. Throws ltr::Error on axes that cannot be
// mapped (naming those the dataset has), a missing dataset that was named
// (listing the file's datasets of that rank), and whatever Validate finds.
Recording ReadRecording(const RecordingSource& source,
                        RecordingReadReport* report = nullptr);
// The recording at `activity` in `file`, companions at their standard
// places beside it, axes from the attribute.
Recording ReadRecording(const std::string& file,
                        const std::string& activity = "/activity");
void WriteRecording(const Recording& recording, io::OutputFile* out);

// True when `file` holds a recording at the standard place (/activity).
bool HasRecording(const std::string& file);
// What labels a file's trials and time without reading its activity (for
// figures): /epoch (none when absent), the root attribute dt (0 when
// absent) and the root attribute input, the file an output was made from
// ("" when absent).
struct RecordingLabels {
  std::optional<std::vector<std::int64_t>> epoch;
  double dt = 0;
  std::string input;
};
RecordingLabels ReadRecordingLabels(const std::string& file);

// A further mask of the recording's shape (e.g. the entries held out of a
// fit), found and ordered as the recording's own mask would be (`path` as a
// companion path of RecordingSource). Throws ltr::Error unless it has
// `dims`, the (trial, time, neuron) shape of the activity read.
Mask3 ReadRecordingMask(const RecordingSource& source,
                        const std::string& path,
                        const Dims& dims);

// The canonical position (0 trial, 1 time, 2 neuron, or input with
// `inputs`) of each stored axis named in `names`: comma- (or blank-)
// separated, case-insensitive, with the synonyms labs use (trials,
// condition(s), stimulus, stimuli; times,
// t, bin(s), timebin(s), sample(s), frame(s); neurons, unit(s), cell(s),
// channel(s), roi(s); inputs). Throws ltr::Error unless the names cover
// the three axes once each.
std::array<int, 3> RecordingAxes(const std::string& names, bool inputs = false);

// Every file reading `source` may open: its own, and those its companions
// (and the companion paths in `extra`, such as a given test mask) name as
// OTHER.h5:/path. For io::RefuseOutputOverInput.
std::vector<std::string> RecordingFiles(
    const RecordingSource& source, const std::vector<std::string>& extra = {});

// `path` resolved against the group of `dataset` ("mask" beside
// "/s1/activity" is "/s1/mask"; "/mask" stays). "." and ".." are followed.
std::string CompanionPath(const std::string& dataset, const std::string& path);

// The recording of the listed trials only, in the order given (activity,
// inputs, mask and per-trial labels). Throws ltr::Error on a trial index
// out of range.
Recording SelectTrials(const Recording& recording,
                       const std::vector<Index>& trials);

}  // namespace ltr

#endif  // LTR_RECORDING_H_
