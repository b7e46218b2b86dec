// Reading NWB 2.x files (HDF5): the spike times of /units and the
// TimeIntervals tables of /intervals. Every schema break is a one-line
// ltr::Error naming the file and what is wrong.
#ifndef LTR_FORMATS_NWB_FILE_H_
#define LTR_FORMATS_NWB_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr {

// /units: the ragged spike_times column split by spike_times_index (any
// integer dtype), one entry per row of /units/id.
struct NwbUnits {
  std::vector<std::int64_t> ids;
  std::vector<std::vector<double>> spike_times;  // seconds, as stored
};
NwbUnits ReadNwbUnits(const std::string& file);

// One column of a table: numbers (any numeric dtype) or strings.
struct NwbColumn {
  std::string name;
  bool is_string = false;
  std::vector<double> numbers;
  std::vector<std::string> strings;
  size_t size() const { return is_string ? strings.size() : numbers.size(); }
};

// A TimeIntervals table /intervals/NAME: its ids and column names, every
// 1-D column checked to have as many rows as `id`.
struct NwbTable {
  std::string name;
  std::vector<std::int64_t> ids;
  std::vector<std::string> columns;  // in name order, without id and *_index
  Index rows() const { return static_cast<Index>(ids.size()); }
};
// The names of the tables in /intervals (empty when there is none).
std::vector<std::string> NwbTableNames(const std::string& file);
// Throws ltr::Error for a missing table (naming those present) or columns
// of different lengths.
NwbTable ReadNwbTable(const std::string& file, const std::string& name);
// Throws ltr::Error for a missing column (naming the table's columns) and a
// ragged one (it has a COLUMN_index).
NwbColumn ReadNwbColumn(const std::string& file,
                        const NwbTable& table,
                        const std::string& column);

// A TimeSeries (or RoiResponseSeries, ElectricalSeries ...): `data`,
// (samples,) or (samples, channels), and its sample times, from
// `timestamps` or from `starting_time` and its attribute `rate`.
struct NwbSeries {
  std::string path;   // the series' group
  Matrix data;        // (samples, channels)
  Vector timestamps;  // (samples,) seconds
};
// The series named `name` (its group's name or full path) in /acquisition
// or /processing. Throws ltr::Error naming the series present when none
// matches, and on data and timestamps of different lengths.
NwbSeries ReadNwbSeries(const std::string& file, const std::string& name);

// True when `file` is HDF5 with a root attribute nwb_version or /units.
bool LooksLikeNwb(const std::string& file);

}  // namespace ltr

#endif  // LTR_FORMATS_NWB_FILE_H_
