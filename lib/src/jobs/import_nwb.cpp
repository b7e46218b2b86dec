// The NWB half of `ltr import`: units selected, trials read from a
// TimeIntervals table, spike times cut into the windows and binned.
#include <algorithm>
#include <map>
#include <sstream>

#include "jobs/import_internal.h"
#include "ltr/core/error.h"
#include "ltr/formats/nwb_file.h"

namespace ltr::detail {
namespace {

std::string Text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

struct Labels {
  std::vector<std::int64_t> codes;
  std::vector<std::string> names;
};

// Codes 0, 1, ... of the distinct values of `keys` in sorted order.
template <typename T>
Labels CodesOf(const std::vector<T>& keys) {
  std::map<T, std::int64_t> code;
  for (const T& k : keys) code.emplace(k, 0);
  Labels labels;
  for (auto& [key, c] : code) {
    c = static_cast<std::int64_t>(labels.names.size());
    if constexpr (std::is_same_v<T, std::string>)
      labels.names.push_back(key);
    else
      labels.names.push_back(Text(key));
  }
  for (const T& k : keys) labels.codes.push_back(code[k]);
  return labels;
}

Labels ColumnLabels(const NwbColumn& column) {
  if (column.is_string) return CodesOf(column.strings);
  bool codes = true;
  for (size_t n = 0; n < column.numbers.size(); ++n) {
    const double v = column.numbers[n];
    if (std::isnan(v))
      throw Error("column " + column.name + " is NaN in row " +
                  std::to_string(n) +
                  "; a label column needs a value per trial");
    codes = codes && v >= 0 && v == std::floor(v) && v < 9e15;
  }
  if (!codes) return CodesOf(column.numbers);
  Labels labels;
  for (double v : column.numbers)
    labels.codes.push_back(static_cast<std::int64_t>(v));
  return labels;
}

NwbUnits SelectUnits(const NwbUnits& all,
                     const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return all;
  if (all.ids.empty()) throw Error("--units: the file has no units");
  NwbUnits kept;
  for (std::int64_t id : ids) {
    const auto at = std::find(all.ids.begin(), all.ids.end(), id);
    if (at == all.ids.end())
      throw Error("--units: no unit with id " + std::to_string(id) + " (ids " +
                  std::to_string(all.ids.front()) + " .. " +
                  std::to_string(all.ids.back()) + ")");
    kept.ids.push_back(id);
    kept.spike_times.push_back(all.spike_times[at - all.ids.begin()]);
  }
  return kept;
}

Trials ReadTrials(const ImportOptions& o,
                  const NwbTable& table,
                  std::vector<std::string>* warnings) {
  const NwbColumn align = ReadNwbColumn(o.input, table, o.align);
  if (align.is_string)
    throw Error("--align " + o.align +
                " is a string column; it must hold times");
  Trials trials;
  for (Index r = 0; r < table.rows(); ++r) {
    const double t = align.numbers[static_cast<size_t>(r)];
    if (std::isnan(t)) continue;
    trials.rows.push_back(r);
    trials.ids.push_back(table.ids[static_cast<size_t>(r)]);
    trials.alignment.push_back(t);
  }
  const Index dropped = table.rows() - static_cast<Index>(trials.rows.size());
  if (dropped > 0)
    warnings->push_back(std::to_string(dropped) + " of " +
                        std::to_string(table.rows()) +
                        " trials dropped: " + o.align + " is NaN");
  if (trials.rows.empty())
    throw Error("no trial of table " + table.name + " has a time in " +
                o.align);
  return trials;
}

// Removes NaN spike times (which no window holds and no sort orders),
// with a warning; returns the last spike time (0 when none).
double DropNanSpikes(NwbUnits* units, std::vector<std::string>* warnings) {
  size_t dropped = 0;
  double last = 0;
  for (auto& s : units->spike_times) {
    const size_t before = s.size();
    s.erase(std::remove_if(
                s.begin(), s.end(), [](double t) { return std::isnan(t); }),
            s.end());
    dropped += before - s.size();
    for (double t : s) last = std::max(last, t);
  }
  if (dropped > 0)
    warnings->push_back(std::to_string(dropped) +
                        " spike times are NaN and were ignored");
  return last;
}

// The spikes of each trial's window, relative to its alignment time; the
// trials before `run` was cancelled.
TrialSpikes CutTrials(const NwbUnits& units,
                      const Trials& trials,
                      const SpikeBinning& b,
                      const RunContext& run) {
  TrialSpikes cut;
  cut.unit_ids = units.ids;
  cut.trial_ids = trials.ids;
  cut.alignment_times = trials.alignment;
  // Sorted, for the binary search (NaN spike times were removed before).
  std::vector<std::vector<double>> sorted = units.spike_times;
  for (auto& s : sorted) std::sort(s.begin(), s.end());
  for (double align : trials.alignment) {
    if (run.cancelled()) break;
    std::vector<std::vector<double>> trial;
    for (const auto& s : sorted) {
      // t - align is monotone in t, so the window is one run of spikes.
      auto it = std::partition_point(s.begin(), s.end(), [&](double t) {
        return t - align < b.window_start;
      });
      std::vector<double> rel;
      for (; it != s.end() && *it - align < b.window_stop; ++it)
        rel.push_back(*it - align);
      trial.push_back(std::move(rel));
    }
    cut.times.push_back(std::move(trial));
  }
  return cut;
}

void SetLabels(const std::string& file,
               const NwbTable& table,
               const std::string& column,
               const Trials& trials,
               std::vector<std::int64_t>* codes,
               std::vector<std::string>* names) {
  if (column.empty()) return;
  const Labels all = ColumnLabels(ReadNwbColumn(file, table, column));
  for (Index r : trials.rows)
    codes->push_back(all.codes[static_cast<size_t>(r)]);
  *names = all.names;
}

// Table "none": one trial at time 0; the default window spans every spike.
Trials WholeRecording(const ImportOptions& o, double last, SpikeBinning* b) {
  if (!o.condition_column.empty() || !o.epoch_column.empty())
    throw Error("--condition-column and --epoch-column need a trial table");
  if (std::isnan(o.window_start) || std::isnan(o.window_stop)) {
    b->window_start = 0;
    b->window_stop = (std::floor(last / b->bin) + 1) * b->bin;
  }
  return Trials{{0}, {0.0}, {0}};
}

}  // namespace

NwbTrials ReadNwbTrials(const ImportOptions& o,
                        double last_time,
                        SpikeBinning* b,
                        ImportResult* result) {
  NwbTrials t;
  Recording& r = result->imported.recording;
  if (o.table == "none") {
    t.trials = WholeRecording(o, last_time, b);
    return t;
  }
  const NwbTable table = ReadNwbTable(o.input, o.table);
  if (std::isnan(o.window_start) || std::isnan(o.window_stop))
    throw Error("give --window A:B, seconds around each trial's " + o.align);
  t.trials = ReadTrials(o, table, &result->warnings);
  t.table_rows = table.rows();
  SetLabels(o.input,
            table,
            o.condition_column,
            t.trials,
            &r.condition,
            &result->imported.condition_names);
  SetLabels(o.input,
            table,
            o.epoch_column,
            t.trials,
            &r.epoch,
            &result->imported.epoch_names);
  return t;
}

void RecordNwbTrials(const ImportOptions& o,
                     const NwbTrials& t,
                     const SpikeBinning& b,
                     ImportResult* result) {
  ImportedRecording& im = result->imported;
  Recording& r = im.recording;
  r.dt = b.bin;
  result->window_start = b.window_start;
  r.time.resize(r.activity.dim(1));
  for (Index k = 0; k < r.time.size(); ++k)
    r.time[k] = b.window_start + (static_cast<double>(k) + 0.5) * b.bin;
  im.trial_ids = t.trials.ids;
  im.alignment_times = Eigen::Map<const Vector>(
      t.trials.alignment.data(), static_cast<Index>(t.trials.alignment.size()));
  im.text_attributes = {{"format", "nwb"},
                        {"table", o.table},
                        {"align", o.table == "none" ? "" : o.align},
                        {"condition_column", o.condition_column},
                        {"epoch_column", o.epoch_column},
                        {"series", o.series}};
  const Index dropped = t.table_rows - static_cast<Index>(t.trials.rows.size());
  im.number_attributes = {{"window_start", b.window_start},
                          {"window_stop", b.window_stop},
                          {"bin", b.bin},
                          {"trials_dropped", static_cast<double>(dropped)}};
}

ImportResult ImportNwb(const ImportOptions& o) {
  if (!o.series.empty()) return ImportNwbSeries(o);
  ImportResult result;
  NwbUnits units = SelectUnits(ReadNwbUnits(o.input), o.units);
  const double last = DropNanSpikes(&units, &result.warnings);
  SpikeBinning b{o.window_start, o.window_stop, o.bin};
  const NwbTrials t = ReadNwbTrials(o, last, &b, &result);
  const TrialSpikes cut = CutTrials(units, t.trials, b, o.run);
  if (o.run.cancelled()) return Cancelled();
  result.imported.recording.activity = BinSpikes(cut, b);
  if (result.imported.recording.activity.AsVector().sum() == 0)
    result.warnings.push_back(
        "no spike falls in any trial's window: are the times in --align (" +
        o.align + ") session times, as NWB requires, and the window right?");
  RecordNwbTrials(o, t, b, &result);
  result.imported.unit_ids = cut.unit_ids;
  return result;
}

}  // namespace ltr::detail
