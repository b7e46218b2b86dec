// A recording: trial x time x neuron activity with its optional inputs,
// mask, labels and timing (the "Recording" layout of docs/formats.md).
#ifndef LTR_RECORDING_H_
#define LTR_RECORDING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ltr/io.h"
#include "ltr/tensor.h"

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

// Reads the recording datasets present in `file`; `activity` names the
// activity dataset, the others are read from their standard paths.
Recording ReadRecording(const std::string& file,
                        const std::string& activity = "/activity");
void WriteRecording(const Recording& recording, io::OutputFile* out);

// The recording of the listed trials only, in the order given (activity,
// inputs, mask and per-trial labels). Throws ltr::Error on a trial index
// out of range.
Recording SelectTrials(const Recording& recording,
                       const std::vector<Index>& trials);

}  // namespace ltr

#endif  // LTR_RECORDING_H_
