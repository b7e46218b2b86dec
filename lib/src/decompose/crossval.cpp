// Held-out masks and prediction metrics.
#include "ltr/decompose/crossval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "ltr/core/error.h"
#include "ltr/core/random.h"

namespace ltr {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kRateFloor = 1e-9;

// Where position p (0 <= p < block) of a block lies: 2 = test, 1 = guard,
// 0 = train, for a centred test range of width `test` and a guard `guard`.
int Zone(int p, int block, int test, int guard) {
  const int begin = (block - test) / 2;
  const int end = begin + test;
  if (p >= begin && p < end) return 2;
  if (p >= begin - guard && p < end + guard) return 1;
  return 0;
}

// A random subset of `count` of [0, n), as flags.
std::vector<bool> RandomSubset(Index n, Index count, Rng* rng) {
  std::vector<Index> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), Index{0});
  std::shuffle(order.begin(), order.end(), rng->engine());
  std::vector<bool> chosen(static_cast<size_t>(n), false);
  for (Index i = 0; i < count && i < n; ++i) chosen[order[i]] = true;
  return chosen;
}

Index RoundedCount(double fraction, Index n) {
  return std::clamp<Index>(
      std::llround(fraction * static_cast<double>(n)), Index{1}, n);
}

}  // namespace

bool HoldOutOptions::IsValid(std::string* error) const {
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (scheme == HoldOut::kBlocks) {
    if (block_trials < 1 || block_time < 1 || block_neurons < 1)
      return fail("held-out block sizes must be >= 1");
    if (test_trials < 1 || test_trials > block_trials || test_time < 1 ||
        test_time > block_time || test_neurons < 1 ||
        test_neurons > block_neurons)
      return fail("held-out test blocks must be >= 1 and fit in the blocks");
    if (guard < 0) return fail("held-out guard width must be >= 0");
  }
  if (scheme == HoldOut::kGiven && !test_mask)
    return fail("a given held-out split needs its test mask");
  if (scheme == HoldOut::kNeurons) {
    if (!(neuron_fraction > 0 && neuron_fraction < 1))
      return fail("held-out neuron fraction must be in (0, 1)");
    if (!(trial_fraction > 0 && trial_fraction <= 1))
      return fail("held-out trial fraction must be in (0, 1]");
  }
  return true;
}

HoldOutMasks MakeHoldOutMasks(const HoldOutOptions& options,
                              const Dims& dims,
                              const Mask3* observed) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  if (observed != nullptr && observed->dims() != dims)
    throw Error("held-out masks: the observation mask is " +
                DimsToString(observed->dims()) + ", expected " +
                DimsToString(dims));
  HoldOutMasks masks{Mask3(dims, 0), Mask3(dims, 0)};
  const Index n_trials = dims[0], n_time = dims[1], n_neurons = dims[2];
  Rng rng(options.seed);
  auto is_observed = [&](Index k, Index t, Index n) {
    return observed == nullptr || (*observed)(k, t, n) != 0;
  };

  if (options.scheme == HoldOut::kNone) {
    for (Index k = 0; k < n_trials; ++k)
      for (Index t = 0; t < n_time; ++t)
        for (Index n = 0; n < n_neurons; ++n)
          masks.train(k, t, n) = is_observed(k, t, n) ? 1 : 0;
    return masks;
  }

  if (options.scheme == HoldOut::kGiven) {
    const Mask3& given = *options.test_mask;
    if (given.dims() != dims)
      throw Error("held-out masks: the given test mask is " +
                  DimsToString(given.dims()) + ", expected " +
                  DimsToString(dims));
    Index test = 0, train = 0;
    for (Index k = 0; k < n_trials; ++k)
      for (Index t = 0; t < n_time; ++t)
        for (Index n = 0; n < n_neurons; ++n) {
          if (!is_observed(k, t, n)) continue;
          const bool held_out = given(k, t, n) != 0;
          masks.test(k, t, n) = held_out ? 1 : 0;
          masks.train(k, t, n) = held_out ? 0 : 1;
          ++(held_out ? test : train);
        }
    if (test == 0)
      throw Error("the given test mask holds out no observed entry");
    if (train == 0)
      throw Error("the given test mask holds out every observed entry");
    return masks;
  }

  if (options.scheme == HoldOut::kNeurons) {
    const std::vector<bool> neurons = RandomSubset(
        n_neurons, RoundedCount(options.neuron_fraction, n_neurons), &rng);
    const std::vector<bool> trials = RandomSubset(
        n_trials, RoundedCount(options.trial_fraction, n_trials), &rng);
    for (Index k = 0; k < n_trials; ++k)
      for (Index t = 0; t < n_time; ++t)
        for (Index n = 0; n < n_neurons; ++n) {
          if (!is_observed(k, t, n)) continue;
          if (neurons[n] && trials[k])
            masks.test(k, t, n) = 1;
          else
            masks.train(k, t, n) = 1;
        }
    return masks;
  }

  // Blocks: one random phase of the tiling per group of neurons.
  const Index groups =
      (n_neurons + options.block_neurons - 1) / options.block_neurons;
  std::vector<int> trial_phase(groups), time_phase(groups);
  for (Index g = 0; g < groups; ++g) {
    trial_phase[g] = static_cast<int>(rng.Below(options.block_trials));
    time_phase[g] = static_cast<int>(rng.Below(options.block_time));
  }
  for (Index n = 0; n < n_neurons; ++n) {
    const Index g = n / options.block_neurons;
    const int zn = Zone(static_cast<int>(n % options.block_neurons),
                        options.block_neurons,
                        options.test_neurons,
                        options.guard);
    for (Index k = 0; k < n_trials; ++k) {
      const int zk =
          Zone(static_cast<int>((k + trial_phase[g]) % options.block_trials),
               options.block_trials,
               options.test_trials,
               options.guard);
      for (Index t = 0; t < n_time; ++t) {
        if (!is_observed(k, t, n)) continue;
        const int zt =
            Zone(static_cast<int>((t + time_phase[g]) % options.block_time),
                 options.block_time,
                 options.test_time,
                 options.guard);
        const int zone = std::min({zn, zk, zt});
        if (zone == 2)
          masks.test(k, t, n) = 1;
        else if (zone == 0)
          masks.train(k, t, n) = 1;
      }
    }
  }
  return masks;
}

PredictionMetrics ComputeMetrics(const Tensor3& data,
                                 const Tensor3& prediction,
                                 const Mask3& mask,
                                 bool counts) {
  if (prediction.dims() != data.dims() || mask.dims() != data.dims())
    throw Error("metrics: data " + DimsToString(data.dims()) + ", prediction " +
                DimsToString(prediction.dims()) + " and mask " +
                DimsToString(mask.dims()) + " must have one shape");
  const Index n_neurons = data.dim(2);
  // Per neuron: count, sum y, sum y^2, SS_res, NLL_model.
  std::vector<double> count(n_neurons, 0), sum(n_neurons, 0),
      sum2(n_neurons, 0), res(n_neurons, 0), nll(n_neurons, 0);
  for (Index k = 0; k < data.dim(0); ++k)
    for (Index t = 0; t < data.dim(1); ++t)
      for (Index n = 0; n < n_neurons; ++n) {
        if (mask(k, t, n) == 0) continue;
        const double y = data(k, t, n);
        const double p = prediction(k, t, n);
        count[n] += 1;
        sum[n] += y;
        sum2[n] += y * y;
        res[n] += (p - y) * (p - y);
        if (counts) {
          const double rate = std::max(p, kRateFloor);
          nll[n] += rate - y * std::log(rate);
        }
      }
  PredictionMetrics m;
  double total = 0, total_sum = 0, total_sum2 = 0, total_res = 0;
  std::vector<double> r2s;
  for (Index n = 0; n < n_neurons; ++n) {
    total += count[n];
    total_sum += sum[n];
    total_sum2 += sum2[n];
    total_res += res[n];
    if (count[n] >= 2) {
      const double ss_tot = sum2[n] - sum[n] * sum[n] / count[n];
      if (ss_tot > 0) r2s.push_back(1.0 - res[n] / ss_tot);
    }
  }
  m.count = static_cast<Index>(total);
  if (total == 0) {
    m.mse = m.nmse = m.r2 = m.r2_median = m.bits_per_spike = kNaN;
    return m;
  }
  m.mse = total_res / total;
  const double variance = std::max(
      0.0, total_sum2 / total - (total_sum / total) * (total_sum / total));
  m.nmse = variance > 0 ? m.mse / variance : kNaN;
  m.r2 = 1.0 - m.nmse;
  if (r2s.empty()) {
    m.r2_median = kNaN;
  } else {
    const size_t half = r2s.size() / 2;
    std::nth_element(r2s.begin(), r2s.begin() + half, r2s.end());
    m.r2_median = r2s[half];
    if (r2s.size() % 2 == 0) {
      const double lower = *std::max_element(r2s.begin(), r2s.begin() + half);
      m.r2_median = 0.5 * (m.r2_median + lower);
    }
  }
  m.bits_per_spike = kNaN;
  if (counts && total_sum > 0) {
    double nll_model = 0, nll_null = 0;
    for (Index n = 0; n < n_neurons; ++n) {
      if (count[n] == 0) continue;
      nll_model += nll[n];
      const double rate = std::max(sum[n] / count[n], kRateFloor);
      nll_null += count[n] * rate - sum[n] * std::log(rate);
    }
    m.bits_per_spike = (nll_null - nll_model) / (total_sum * std::log(2.0));
  }
  return m;
}

}  // namespace ltr
