// The continuous half of `ltr import`: a TimeSeries cut into the trial
// windows, by interpolation at bin centres or by the mean per bin.
#include <cmath>

#include "jobs/import_internal.h"
#include "ltr/core/error.h"
#include "ltr/formats/nwb_file.h"

namespace ltr::detail {
namespace {

void CheckIncreasing(const NwbSeries& s) {
  for (Index n = 1; n < s.timestamps.size(); ++n)
    if (!(s.timestamps(n) >= s.timestamps(n - 1)))
      throw Error("series " + s.path + ": timestamps decrease at sample " +
                  std::to_string(n));
}

// Linear interpolation of channel c at absolute time t; NaN outside the
// samples.
double Interpolate(const NwbSeries& s, Index c, double t) {
  const Vector& ts = s.timestamps;
  const Index n = ts.size();
  if (n == 0 || !(t >= ts(0) && t <= ts(n - 1))) return NAN;
  const Index hi = std::lower_bound(ts.data(), ts.data() + n, t) - ts.data();
  if (ts(hi) == t) return s.data(hi, c);
  const double w = (t - ts(hi - 1)) / (ts(hi) - ts(hi - 1));
  return s.data(hi - 1, c) + w * (s.data(hi, c) - s.data(hi - 1, c));
}

// Sums and counts of the samples per bin of trial i, the convention of
// BinSpikes on each sample's time.
void BinMeans(const NwbSeries& s,
              double align,
              const SpikeBinning& b,
              Index i,
              Tensor3* x) {
  const Index bins = x->dim(1), channels = x->dim(2);
  std::vector<double> count(static_cast<size_t>(bins), 0);
  Tensor3 sum(1, bins, channels);
  for (Index n = 0; n < s.timestamps.size(); ++n) {
    const double t = s.timestamps(n) - align;
    if (!(t >= b.window_start && t < b.window_stop)) continue;
    const double k = std::floor((t - b.window_start) / b.bin);
    if (k >= static_cast<double>(bins)) continue;
    count[static_cast<size_t>(k)] += 1;
    for (Index c = 0; c < channels; ++c)
      sum(0, static_cast<Index>(k), c) += s.data(n, c);
  }
  for (Index k = 0; k < bins; ++k)
    for (Index c = 0; c < channels; ++c)
      (*x)(i, k, c) = count[static_cast<size_t>(k)] > 0
                          ? sum(0, k, c) / count[static_cast<size_t>(k)]
                          : NAN;
}

// NaN entries (no sample, or NaN data) become 0 and masked.
void MaskMissing(ImportResult* result) {
  Recording& r = result->imported.recording;
  Mask3 mask(r.activity.dims(), 1);
  Index missing = 0;
  for (Index n = 0; n < r.activity.size(); ++n)
    if (std::isnan(r.activity.data()[n])) {
      r.activity.data()[n] = 0;
      mask.data()[n] = 0;
      ++missing;
    }
  if (missing == 0) return;
  r.mask = std::move(mask);
  result->warnings.push_back(std::to_string(missing) + " of " +
                             std::to_string(r.activity.size()) +
                             " entries have no sample of the series: masked");
}

}  // namespace

ImportResult ImportNwbSeries(const ImportOptions& o) {
  if (o.series_mode != "interpolate" && o.series_mode != "mean")
    throw Error("--series-mode must be interpolate or mean, not " +
                o.series_mode);
  if (!o.units.empty())
    throw Error("--units selects spike units; a series has channels");
  const NwbSeries s = ReadNwbSeries(o.input, o.series);
  CheckIncreasing(s);
  ImportResult result;
  SpikeBinning b{o.window_start, o.window_stop, o.bin};
  const double last =
      s.timestamps.size() ? s.timestamps(s.timestamps.size() - 1) : 0;
  const NwbTrials t = ReadNwbTrials(o, last, &b, &result);
  const Index trials = static_cast<Index>(t.trials.alignment.size());
  Tensor3& x = result.imported.recording.activity;
  x = Tensor3(trials, BinCount(b), s.data.cols());
  for (Index i = 0; i < trials; ++i) {
    if (o.run.cancelled()) return Cancelled();
    const double align = t.trials.alignment[static_cast<size_t>(i)];
    if (o.series_mode == "mean") {
      BinMeans(s, align, b, i, &x);
      continue;
    }
    for (Index k = 0; k < x.dim(1); ++k) {
      const double centre =
          b.window_start + (static_cast<double>(k) + 0.5) * b.bin;
      for (Index c = 0; c < x.dim(2); ++c)
        x(i, k, c) = Interpolate(s, c, align + centre);
    }
  }
  MaskMissing(&result);
  RecordNwbTrials(o, t, b, &result);
  result.imported.text_attributes.push_back({"series_path", s.path});
  result.imported.text_attributes.push_back({"series_mode", o.series_mode});
  return result;
}

}  // namespace ltr::detail
