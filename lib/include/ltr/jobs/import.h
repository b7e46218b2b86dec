// `ltr import`: an NWB 2.x file (spike times of /units cut into the trials
// of a TimeIntervals table and binned), a NumPy array (.npy, .npz) or a
// MATLAB file (an array, or cells of spike-time vectors) to a
// recording in the layout of docs/formats.md, with the preprocessing of
// ltr/preprocess/binning.h recorded in its /import attributes.
#ifndef LTR_JOBS_IMPORT_H_
#define LTR_JOBS_IMPORT_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ltr/core/enums.h"
#include "ltr/core/run_context.h"
#include "ltr/formats/import_file.h"
#include "ltr/preprocess/binning.h"

namespace ltr {

struct ImportOptions {
  std::string input;
  // kAuto: by the name (.npy, .npz, .mat, else NWB).
  InputFormat format = InputFormat::kAuto;

  // NWB: the TimeIntervals table of the trials (/intervals/NAME); "none":
  // the whole recording as one trial aligned at time 0.
  std::string table = "trials";
  // The column whose time each trial is aligned to (start_time or an event
  // column); trials where it is NaN are dropped, with a warning.
  std::string align = "start_time";
  // The window relative to the alignment, seconds. NaN (the default): a
  // table needs one; with table "none", 0 to the end of the bin holding
  // the last spike.
  double window_start = NAN, window_stop = NAN;
  double bin = 0.01;  // seconds
  // Unit ids (/units/id) to keep, in the order given; empty = all.
  std::vector<std::int64_t> units;
  // Table columns giving /condition and /epoch (empty = none). Whole
  // nonnegative numbers are kept as codes; strings and other numbers
  // become codes 0, 1, ... in sorted order with their names written.
  std::string condition_column, epoch_column;

  // NWB continuous data instead of spikes: a TimeSeries (RoiResponseSeries,
  // ...) in /acquisition or /processing, by name or path, cut into the same
  // windows. "interpolate": linear interpolation at each bin's centre;
  // "mean": the mean of the samples in each bin. Bins without data are
  // masked (value 0), with a warning.
  std::string series;
  std::string series_mode = "interpolate";

  // NumPy: the array of an .npz archive (empty: its only one), the stored
  // order of its three axes and the seconds per bin.
  // MATLAB: the variable (empty: the file's only one); a numeric one is
  // read as an array with `axes` and `dt`, a cell array as spike-time
  // vectors (stimulus cells of neurons x repeats, formats/mat_file.h) binned
  // over the window, their times multiplied by `time_unit` (seconds per
  // unit: 1e-3 for milliseconds).
  std::string variable;
  std::string axes = "trial,time,neuron";
  double dt = 1.0;
  double time_unit = 1.0;

  Preprocessing preprocessing;
  // Its token is polled between trials (and before the preprocessing): a
  // cancelled import returns at once, cancelled and with no recording.
  RunContext run;
};

struct ImportResult {
  ImportedRecording imported;
  std::vector<std::string> warnings;  // one line each
  double window_start = 0;  // relative time of the start of bin 0, seconds
  // "90 trials x 40 bins x 35 units (human_mtl.nwb, table encoding_table)".
  std::string summary;
  bool cancelled = false;  // stopped by options.run: nothing to write
};

// The format options.format names, or for kAuto the one the input's name
// implies (never kAuto).
InputFormat ImportFormat(const ImportOptions& options);

// Throws ltr::Error (one line) on a file that breaks its schema, an unknown
// table, column or unit, and options that do not fit the input.
ImportResult ImportRecording(const ImportOptions& options);

namespace detail {
// A result marked cancelled, with no recording.
ImportResult Cancelled();
// The NWB and NumPy halves of ImportRecording, before preprocessing.
ImportResult ImportNwb(const ImportOptions& options);
ImportResult ImportNumpy(const ImportOptions& options);
ImportResult ImportMat(const ImportOptions& options);
}  // namespace detail

}  // namespace ltr

#endif  // LTR_JOBS_IMPORT_H_
