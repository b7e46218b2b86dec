// The layout of `ltr fit` outputs (docs/formats.md "Fit"): the model
// (/model, model_file.h), the fit statistics (/fit), the split (/heldout),
// a rank sweep's table (/cv) and, in a checkpoint (MODEL.h5.partial), the
// options of the stopped fit (/fit/options), from which it is resumed.
#ifndef LTR_FORMATS_FIT_FILE_H_
#define LTR_FORMATS_FIT_FILE_H_

#include <string>

#include "ltr/fit/fit.h"
#include "ltr/formats/io.h"

namespace ltr {

// Writes the model, the /fit attributes of `summary` and its split as
// /heldout/train_mask and /heldout/test_mask (uint8, trial,time,neuron).
void WriteFit(const FitSummary& summary, io::OutputFile* out);
// Writes the best fit (as WriteFit) and the /cv table with chosen_rank.
void WriteRankSweep(const RankSweepSummary& summary, io::OutputFile* out);
// Read back what WriteFit / WriteRankSweep wrote (what a file does not hold,
// such as init_seconds and the iteration timings, stays at its default).
// Throw ltr::Error naming the file when it lacks /fit (or /cv).
FitSummary ReadFitSummary(const std::string& file);
RankSweepSummary ReadRankSweep(const std::string& file);

// Which parts of the fit layout a file holds: the /fit statistics, its loss
// per iteration (/fit/loss), a rank sweep's table (/cv).
struct FitParts {
  bool fit = false;
  bool loss_history = false;
  bool rank_sweep = false;
};
FitParts FindFitParts(const std::string& file);

// The root attributes of a fit's output: the recording read (`input`), the
// command of a resume (`resumed_command`) and why the fit must not be
// trusted (`failure`, FitSummary::Failure); empty ones are not written.
struct FitOutputAttributes {
  std::string input, resumed_command, failure;
};
void WriteFitOutputAttributes(const FitOutputAttributes& attributes,
                              io::OutputFile* out);

// A checkpoint: the fit so far (WriteFit) and `options` as attributes of
// /fit/options (every scalar option, the recording's source; not
// initial_parameters, base_weights or a given test mask, which the
// checkpoint's /model and /heldout hold).
void WriteFitCheckpoint(const FitSummary& summary,
                        const FitOptions& options,
                        io::OutputFile* out);
// The options to continue the checkpoint `file` with: as recorded, with
// initial_parameters its model, resume its progress (iterations, seconds,
// initial loss, history), a given split its /heldout/test_mask and command
// the recorded command. Throws ltr::Error naming the file when it has no
// /fit, holds a finished fit, or has no /fit/options.
FitOptions ReadFitCheckpointOptions(const std::string& file);

}  // namespace ltr

#endif  // LTR_FORMATS_FIT_FILE_H_
