// What the NWB spike and series halves of `ltr import` share: the trials
// of a table (or the whole recording) and their record in the output.
#ifndef LTR_SRC_JOBS_IMPORT_INTERNAL_H_
#define LTR_SRC_JOBS_IMPORT_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "ltr/jobs/import.h"

namespace ltr::detail {

struct Trials {
  std::vector<std::int64_t> ids;
  std::vector<double> alignment;  // absolute seconds
  std::vector<Index> rows;        // rows of the table kept
};

struct NwbTrials {
  Trials trials;
  Index table_rows = 1;
};

// The trials of options.table (labels into result's recording, NaN
// alignments dropped with a warning), or with table "none" one trial at 0
// whose default window ends with the bin holding `last_time`.
NwbTrials ReadNwbTrials(const ImportOptions& options,
                        double last_time,
                        SpikeBinning* binning,
                        ImportResult* result);
// Bin times, dt, trial ids, alignment times and the /import attributes,
// once the activity is set.
void RecordNwbTrials(const ImportOptions& options,
                     const NwbTrials& trials,
                     const SpikeBinning& binning,
                     ImportResult* result);

ImportResult ImportNwbSeries(const ImportOptions& options);

}  // namespace ltr::detail

#endif  // LTR_SRC_JOBS_IMPORT_INTERNAL_H_
