// Spike counts in trial windows and the preprocessing steps users otherwise
// script by hand before a decomposition or a fit, each on a (trial, time,
// neuron) tensor.
#ifndef LTR_PREPROCESS_BINNING_H_
#define LTR_PREPROCESS_BINNING_H_

#include <string>
#include <vector>

#include "ltr/core/tensor.h"
#include "ltr/preprocess/spikes.h"

namespace ltr {

// Number of bins of a binning: round((window_stop - window_start) / bin).
// Throws ltr::Error unless bin > 0 and the window holds at least one bin.
Index BinCount(const SpikeBinning& binning);

// Counts, (trial, bin, unit). The convention, which the tests' numpy
// binning follows exactly: a spike at relative time t is counted in bin
// k = floor((t - window_start) / bin) when window_start <= t < window_stop
// and 0 <= k < BinCount(binning); other spikes are not counted.
Tensor3 BinSpikes(const TrialSpikes& spikes, const SpikeBinning& binning);

// The preprocessing, applied in this order (each step off by default).
struct Preprocessing {
  // Drop neurons whose mean rate over every trial and bin is below this
  // (spikes per second of the counts; 0 = keep all).
  double min_rate = 0;
  bool sqrt = false;     // square root of every entry (refuses negatives)
  double smooth_sd = 0;  // Gaussian smoothing along time, sd in seconds
  // Subtract, per neuron, the mean over every trial of the bins that lie
  // wholly inside [baseline_start, baseline_stop) (relative seconds).
  bool baseline = false;
  double baseline_start = 0, baseline_stop = 0;
  // TCA's soft normalisation: divide each neuron by (max - min + epsilon).
  bool soft_normalize = false;
  double soft_normalize_epsilon = 0.01;
  bool zscore = false;  // per neuron over every trial and bin (ddof 0)

  // "min_rate=0.5,sqrt,smooth_sd=0.05,..." in the order applied; "" = none.
  std::string Describe() const;
};

struct PreprocessResult {
  Tensor3 data;
  std::vector<Index> kept_neurons;    // indices into the input's neurons
  std::vector<std::string> warnings;  // one line each
};

// Applies `steps` to `x`, whose bins are [window_start + k dt, ... + dt).
// Throws ltr::Error on an empty baseline window or sqrt of a negative.
PreprocessResult Preprocess(const Tensor3& x,
                            const Preprocessing& steps,
                            double dt,
                            double window_start);

// The Gaussian smoothing of Preprocess alone: kernel exp(-d^2 / (2 s^2)),
// s = sd / dt bins, truncated at |d| <= ceil(4 s); at the ends of a trial
// the weights inside the trial are renormalised to sum to one.
Tensor3 SmoothTime(const Tensor3& x, double sd_bins);

}  // namespace ltr

#endif  // LTR_PREPROCESS_BINNING_H_
