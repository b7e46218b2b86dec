// Training runs streamed to a trajectory file, and their resume: the file
// grows at the output's partial name, holds its options and checkpoint,
// and becomes the output once the run has ended.
#include <filesystem>

#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/train/train.h"

namespace ltr {

namespace {

// After an error (not a cancellation): a partial file without a checkpoint,
// from a run that failed before its first snapshot, has nothing to resume.
void RemoveUnlessResumable(const std::string& partial) {
  bool resumable = false;
  try {
    resumable = HasTrainCheckpoint(partial);
  } catch (const Error&) {
  }
  std::error_code ec;
  if (!resumable) std::filesystem::remove(partial, ec);
}

// Trains into `writer`, the output's partial file, which becomes `output`
// once the run has ended (complete, or stopped by a non-finite loss); a run
// stopped early stays partial, for a resume.
TrainSummary RunToFile(const TrainOptions& o,
                       TrajectoryWriter* writer,
                       const TrainState* resume,
                       const std::string& output) {
  TrainSummary summary = Train(o, writer, resume);
  if (summary.complete) writer->MarkComplete();
  if (summary.complete || !summary.finite) writer->CommitTo(output);
  return summary;
}

// Why `output` cannot be resumed, when its partial file is missing.
[[noreturn]] void NothingToResume(const std::string& output,
                                  const std::string& partial) {
  if (std::filesystem::exists(output) && IsCompleteRun(output))
    throw Error("cannot resume '" + output + "': the run is complete");
  throw Error("cannot resume '" + output + "': there is no interrupted run '" +
              partial + "'");
}

}  // namespace

TrainSummary TrainToFile(const TrainOptions& o,
                         const std::string& path,
                         const std::string& command) {
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  const std::string partial = io::PartialPath(path);
  try {
    TrajectoryWriter writer(partial, command, o);
    return RunToFile(o, &writer, nullptr, path);
  } catch (...) {
    RemoveUnlessResumable(partial);
    throw;
  }
}

TrainSummary ResumeTrainToFile(const std::string& output,
                               const std::string& command,
                               int steps,
                               const RunContext& run) {
  const std::string partial = io::PartialPath(output);
  if (!std::filesystem::exists(partial)) NothingToResume(output, partial);
  io::CheckReadable(partial);
  if (!HasTrainCheckpoint(partial))
    throw Error("cannot resume '" + output + "': '" + partial +
                "' has no /checkpoint (not a trajectory written by ltr "
                "train?)");
  TrainCheckpoint checkpoint = ReadTrainCheckpoint(partial);
  TrainOptions& o = checkpoint.options;
  if (steps > 0) o.steps = steps;
  o.run = run.WithThreads(o.run.num_threads);  // the recorded threads
  TrajectoryWriter writer(partial, command, checkpoint);
  return RunToFile(o, &writer, &checkpoint.state, output);
}

}  // namespace ltr
