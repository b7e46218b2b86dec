// Spike times cut into trials and binned into counts: what every importer
// of spike data (NWB units, MATLAB cells of spike-time vectors) produces and
// what turns it into a trial x time x neuron recording.
#ifndef LTR_PREPROCESS_SPIKES_H_
#define LTR_PREPROCESS_SPIKES_H_

#include <cstdint>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr {

// Spike times per trial and unit, in seconds relative to each trial's
// alignment point (trial start, an event, a stimulus onset).
struct TrialSpikes {
  // times[trial][unit]: sorted spike times in seconds, relative.
  std::vector<std::vector<std::vector<double>>> times;
  std::vector<std::int64_t> unit_ids;   // one per unit
  std::vector<std::int64_t> trial_ids;  // one per trial
  // Absolute alignment time of each trial in seconds (NaN when the source
  // has none, as for MATLAB cells).
  std::vector<double> alignment_times;
};

// Bins [window_start + i bin, window_start + (i + 1) bin) for i = 0 ..
// round((window_stop - window_start) / bin) - 1, times relative to the
// alignment point.
struct SpikeBinning {
  double window_start = 0;
  double window_stop = 1;
  double bin = 0.01;
};

}  // namespace ltr

#endif  // LTR_PREPROCESS_SPIKES_H_
