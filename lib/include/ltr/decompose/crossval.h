// Held-out entries of a (trial, time, neuron) recording for cross-validating
// RNN fits, and the metrics reported on them.
//
// A split is two masks of the recording's shape: `train` (entries the fit
// sees) and `test` (entries it is scored on). Entries in neither are a guard
// band (or were never observed). The two schemes:
//
// kBlocks (Pellegrino et al. 2023): tiles of block_trials x block_time x
//   block_neurons entries. In every block the central test_trials x test_time
//   x test_neurons entries are test, a ring `guard` entries wide around them
//   (in the trial and time directions, and in the neuron direction when the
//   test block is thinner than the block) is used for neither, the rest is
//   train. With the defaults 11 x 11 x 3, 5 x 5 x 3 and guard 1: test
//   25/121 = 20.7 %, guard 24/121 = 19.8 %, train 72/121 = 59.5 % of the
//   entries. Each group of block_neurons neurons gets its own random phase of
//   the tiling in trials and time (from `seed`), so held-out blocks of
//   different neurons do not line up.
// kNeurons (co-smoothing): a random neuron_fraction of the neurons is held
//   out on a random trial_fraction of the trials; those entries are test, all
//   others train. The held-out neurons' readout is learned on the other
//   trials, the latent state of a test trial from the held-in neurons.
// kNone: everything observed is train, test is empty.
// kGiven: the test entries are given (`test_mask`, 1 = held out, e.g. an
//   earlier fit's /heldout/test_mask); every other observed entry is train
//   (no guard band).
#ifndef LTR_CROSSVAL_H_
#define LTR_CROSSVAL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "ltr/core/enums.h"
#include "ltr/core/tensor.h"

namespace ltr {

struct HoldOutOptions {
  HoldOut scheme = HoldOut::kBlocks;
  // kBlocks: block and inner test-block sizes (trials, time bins, neurons)
  // and the width of the guard ring in entries.
  int block_trials = 11;
  int block_time = 11;
  int block_neurons = 3;
  int test_trials = 5;
  int test_time = 5;
  int test_neurons = 3;
  int guard = 1;
  // kNeurons: fraction of neurons held out, and of trials they are held out
  // on (each rounded, at least one).
  double neuron_fraction = 0.2;
  double trial_fraction = 0.2;
  std::uint64_t seed = 0;
  // kGiven: the held-out entries, of the data's shape (1 = test).
  std::optional<Mask3> test_mask;

  bool IsValid(std::string* error) const;
};

struct HoldOutMasks {
  Mask3 train;  // 1 = used for fitting
  Mask3 test;   // 1 = held out for scoring; never also in train
};

// The split of a tensor of shape `dims`. Entries that `observed` (may be
// null = all observed) marks 0 are in neither mask. Throws ltr::Error on
// invalid options, an `observed` or given test mask of another shape, or a
// given test mask that leaves no observed entry to test or to train on.
HoldOutMasks MakeHoldOutMasks(const HoldOutOptions& options,
                              const Dims& dims,
                              const Mask3* observed = nullptr);

// Agreement of a prediction with data on the entries `mask` marks.
struct PredictionMetrics {
  Index count = 0;  // entries scored
  double mse = 0;   // mean squared error
  // mse / variance of the scored data (around their global mean).
  double nmse = 0;
  // Global R^2 = 1 - SS_res / SS_tot over all scored entries (SS_tot around
  // the global mean), i.e. 1 - nmse.
  double r2 = 0;
  // Median over neurons of the per-neuron R^2 = 1 - SS_res,n / SS_tot,n
  // (around that neuron's mean), taken over neurons with at least two scored
  // entries and SS_tot,n > 0. NaN when there are none.
  double r2_median = 0;
  // Counts only (NaN otherwise, or when there are no spikes):
  // (NLL_null - NLL_model) / (total spikes * ln 2) with the Poisson NLL
  // sum (rate - y log rate) (the log y! terms cancel), model rates and the
  // null's per-neuron mean rate (mean of that neuron's scored counts) both
  // floored at 1e-9.
  double bits_per_spike = 0;
};

// `prediction` holds predicted means (rates for counts), same shape as data.
// Throws ltr::Error on mismatched shapes.
PredictionMetrics ComputeMetrics(const Tensor3& data,
                                 const Tensor3& prediction,
                                 const Mask3& mask,
                                 bool counts);

}  // namespace ltr

#endif  // LTR_CROSSVAL_H_
