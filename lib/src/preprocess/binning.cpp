#include "ltr/preprocess/binning.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "ltr/core/error.h"

namespace ltr {
namespace {

std::string Number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Applies `f(trial, time, neuron)` to every entry of neuron k.
template <typename F>
void ForNeuron(Tensor3& x, Index k, F f) {
  for (Index i = 0; i < x.dim(0); ++i)
    for (Index j = 0; j < x.dim(1); ++j) f(x(i, j, k));
}

Tensor3 KeepNeurons(const Tensor3& x, const std::vector<Index>& keep) {
  Tensor3 out(x.dim(0), x.dim(1), static_cast<Index>(keep.size()));
  for (Index i = 0; i < x.dim(0); ++i)
    for (Index j = 0; j < x.dim(1); ++j)
      for (size_t k = 0; k < keep.size(); ++k)
        out(i, j, static_cast<Index>(k)) = x(i, j, keep[k]);
  return out;
}

void DropSilent(PreprocessResult* r, double min_rate, double dt) {
  const Tensor3& x = r->data;
  const double seconds = static_cast<double>(x.dim(0) * x.dim(1)) * dt;
  std::vector<Index> keep;
  for (Index k = 0; k < x.dim(2); ++k) {
    double total = 0;
    for (Index i = 0; i < x.dim(0); ++i)
      for (Index j = 0; j < x.dim(1); ++j) total += x(i, j, k);
    if (total / seconds >= min_rate) keep.push_back(k);
  }
  if (keep.empty())
    throw Error("--min-rate " + Number(min_rate) +
                " drops every neuron (no neuron fires that often)");
  if (static_cast<Index>(keep.size()) < x.dim(2))
    r->warnings.push_back(
        std::to_string(x.dim(2) - static_cast<Index>(keep.size())) +
        " neurons below " + Number(min_rate) + " spikes/s dropped");
  std::vector<Index> kept;
  for (Index k : keep) kept.push_back(r->kept_neurons[static_cast<size_t>(k)]);
  r->kept_neurons = kept;
  r->data = KeepNeurons(x, keep);
}

void SquareRoot(Tensor3& x) {
  for (double& v : x.values()) {
    if (v < 0)
      throw Error("--sqrt needs nonnegative data; an entry is " + Number(v));
    v = std::sqrt(v);
  }
}

void SubtractBaseline(Tensor3& x,
                      const Preprocessing& s,
                      double dt,
                      double window_start) {
  std::vector<Index> bins;
  for (Index j = 0; j < x.dim(1); ++j) {
    const double begin = window_start + static_cast<double>(j) * dt;
    if (begin >= s.baseline_start && begin + dt <= s.baseline_stop)
      bins.push_back(j);
  }
  if (bins.empty())
    throw Error("--baseline " + Number(s.baseline_start) + ":" +
                Number(s.baseline_stop) + " holds no whole bin of the window");
  for (Index k = 0; k < x.dim(2); ++k) {
    double sum = 0;
    for (Index i = 0; i < x.dim(0); ++i)
      for (Index j : bins) sum += x(i, j, k);
    const double mean = sum / static_cast<double>(x.dim(0) * bins.size());
    ForNeuron(x, k, [mean](double& v) { v -= mean; });
  }
}

void SoftNormalize(Tensor3& x, double epsilon) {
  for (Index k = 0; k < x.dim(2); ++k) {
    double lo = INFINITY, hi = -INFINITY;
    ForNeuron(x, k, [&](double& v) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    });
    const double scale = hi - lo + epsilon;
    ForNeuron(x, k, [scale](double& v) { v /= scale; });
  }
}

void ZScore(Tensor3& x, std::vector<std::string>* warnings) {
  const double n = static_cast<double>(x.dim(0) * x.dim(1));
  int constant = 0;
  for (Index k = 0; k < x.dim(2); ++k) {
    double sum = 0, squares = 0;
    ForNeuron(x, k, [&](double& v) { sum += v; });
    const double mean = sum / n;
    ForNeuron(x, k, [&](double& v) { squares += (v - mean) * (v - mean); });
    const double sd = std::sqrt(squares / n);
    if (sd == 0) ++constant;
    ForNeuron(x, k, [&](double& v) { v = sd > 0 ? (v - mean) / sd : 0.0; });
  }
  if (constant > 0)
    warnings->push_back(std::to_string(constant) +
                        " constant neurons left at 0 by --zscore");
}

}  // namespace

Index BinCount(const SpikeBinning& b) {
  if (!(b.bin > 0) || !std::isfinite(b.bin))
    throw Error("bin width must be positive, not " + Number(b.bin));
  const double ratio = (b.window_stop - b.window_start) / b.bin;
  const double bins = std::round(ratio);
  const std::string window =
      "window " + Number(b.window_start) + ":" + Number(b.window_stop);
  if (!(bins >= 1) || !std::isfinite(b.window_start))
    throw Error(window + " holds no bin of " + Number(b.bin) + " s");
  // A partial last bin would count fewer spikes than the others.
  if (std::abs(ratio - bins) > 1e-6)
    throw Error(window + " is " + Number(ratio) + " bins of " + Number(b.bin) +
                " s, not a whole number of bins");
  if (bins > 1e8) throw Error("window holds more than 1e8 bins");
  return static_cast<Index>(bins);
}

Tensor3 BinSpikes(const TrialSpikes& spikes, const SpikeBinning& b) {
  const Index bins = BinCount(b);
  const Index trials = static_cast<Index>(spikes.times.size());
  const Index units = static_cast<Index>(spikes.unit_ids.size());
  Tensor3 counts(trials, bins, units);
  for (Index i = 0; i < trials; ++i) {
    const auto& trial = spikes.times[static_cast<size_t>(i)];
    if (static_cast<Index>(trial.size()) != units)
      throw Error("trial " + std::to_string(i) + " has " +
                  std::to_string(trial.size()) + " units, expected " +
                  std::to_string(units));
    for (Index u = 0; u < units; ++u)
      for (double t : trial[static_cast<size_t>(u)]) {
        if (!(t >= b.window_start && t < b.window_stop)) continue;
        const double k = std::floor((t - b.window_start) / b.bin);
        if (k < static_cast<double>(bins))
          counts(i, static_cast<Index>(k), u) += 1;
      }
  }
  return counts;
}

Tensor3 SmoothTime(const Tensor3& x, double sd_bins) {
  const Index half = static_cast<Index>(std::ceil(4 * sd_bins));
  std::vector<double> w(static_cast<size_t>(2 * half + 1));
  for (Index d = -half; d <= half; ++d)
    w[static_cast<size_t>(d + half)] =
        std::exp(-static_cast<double>(d * d) / (2 * sd_bins * sd_bins));
  Tensor3 out(x.dims());
  const Index steps = x.dim(1);
  for (Index i = 0; i < x.dim(0); ++i)
    for (Index j = 0; j < steps; ++j) {
      const Index lo = std::max<Index>(0, j - half);
      const Index hi = std::min<Index>(steps - 1, j + half);
      double weight = 0;
      for (Index m = lo; m <= hi; ++m)
        weight += w[static_cast<size_t>(m - j + half)];
      for (Index k = 0; k < x.dim(2); ++k) {
        double sum = 0;
        for (Index m = lo; m <= hi; ++m)
          sum += w[static_cast<size_t>(m - j + half)] * x(i, m, k);
        out(i, j, k) = sum / weight;
      }
    }
  return out;
}

std::string Preprocessing::Describe() const {
  std::vector<std::string> parts;
  if (min_rate > 0) parts.push_back("min_rate=" + Number(min_rate));
  if (sqrt) parts.push_back("sqrt");
  if (smooth_sd > 0) parts.push_back("smooth_sd=" + Number(smooth_sd));
  if (baseline)
    parts.push_back("baseline=" + Number(baseline_start) + ":" +
                    Number(baseline_stop));
  if (soft_normalize)
    parts.push_back("soft_normalize=" + Number(soft_normalize_epsilon));
  if (zscore) parts.push_back("zscore");
  std::string text;
  for (const std::string& p : parts) text += (text.empty() ? "" : ",") + p;
  return text;
}

PreprocessResult Preprocess(const Tensor3& x,
                            const Preprocessing& s,
                            double dt,
                            double window_start) {
  if (s.smooth_sd < 0 || !std::isfinite(s.smooth_sd))
    throw Error("--smooth-sd must be >= 0, not " + Number(s.smooth_sd));
  if (s.soft_normalize && !(s.soft_normalize_epsilon >= 0))
    throw Error("--soft-normalize must be >= 0");
  PreprocessResult r;
  r.data = x;
  for (Index k = 0; k < x.dim(2); ++k) r.kept_neurons.push_back(k);
  if (s.min_rate > 0) DropSilent(&r, s.min_rate, dt);
  if (s.sqrt) SquareRoot(r.data);
  if (s.smooth_sd > 0) r.data = SmoothTime(r.data, s.smooth_sd / dt);
  if (s.baseline) SubtractBaseline(r.data, s, dt, window_start);
  if (s.soft_normalize) SoftNormalize(r.data, s.soft_normalize_epsilon);
  if (s.zscore) ZScore(r.data, &r.warnings);
  return r;
}

}  // namespace ltr
