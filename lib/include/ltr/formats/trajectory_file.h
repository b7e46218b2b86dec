// The learning-trajectory layout (docs/formats.md "Learning trajectory"):
// the one writer and the one reader of the files `ltr train` writes, and of
// the synthetic trajectories `ltr synth --kind trajectory` writes (/weights
// only). Nothing else in ltr knows the trajectory's HDF5 paths.
//
//   /weights, /w_in, /w_out (snapshots, N, N | inputs | outputs), /step
//   (snapshots,): one row per snapshot (per trial for the adaptation
//   protocol); /loss, /grad_norm (steps,): one row per step; /config: the
//   run's options as attributes; /checkpoint (x, moment1, moment2, attribute
//   step): the state of the last snapshot, from which --resume continues;
//   root attribute complete: 0 while running, 1 at the end. An adaptation
//   run also holds a recording (/activity, /inputs, /condition, /epoch,
//   root attribute dt).
#ifndef LTR_FORMATS_TRAJECTORY_FILE_H_
#define LTR_FORMATS_TRAJECTORY_FILE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ltr/core/tensor.h"
#include "ltr/formats/io.h"
#include "ltr/synthetic/synthetic.h"
#include "ltr/train/train.h"

namespace ltr {

// --- Reading ---------------------------------------------------------------

// A trajectory as read: everything but the snapshots of /weights, which
// ReadWeights (all at once) or WeightSlabs (a slab at a time, for a run
// larger than memory) read when needed.
struct Trajectory {
  std::string path;
  // (snapshots, N, N) of /weights; snapshots >= 1.
  std::vector<Index> weights_shape;
  // /step: the step (or trial) of each snapshot; empty when absent.
  std::vector<std::int64_t> steps;
  // The first axis name of /step and of /loss: "snapshot" / "step" for a
  // training run, "trial" for the adaptation protocol; empty when absent.
  std::string step_axis;
  std::string loss_axis;
  // (snapshots, N, inputs) and (snapshots, N, outputs); empty when absent.
  Tensor3 w_in;
  Tensor3 w_out;
  // One value per step (or trial); empty when absent.
  Vector loss;
  Vector grad_norm;
  // /epoch of the adaptation protocol (0, 1, 2 per trial); empty otherwise.
  std::vector<std::int64_t> epochs;
  // /config: the run's options (run.num_threads = the recorded threads);
  // absent in a synthetic trajectory.
  std::optional<TrainOptions> config;
  // The adaptation protocol's options (/config protocol = adaptation).
  std::optional<AdaptationOptions> adaptation;
  bool complete = false;  // root attribute complete = 1

  Index snapshots() const { return weights_shape[0]; }
  Index units() const { return weights_shape[1]; }
  // Every snapshot: (snapshots, N, N), row-major W_k (W[i, j] from j to i).
  Tensor3 ReadWeights() const;
  std::unique_ptr<io::SlabReader> WeightSlabs() const;
};

// Reads `path` as a trajectory. Throws ltr::Error (one line naming the file)
// unless it is a readable HDF5 file whose /weights is (snapshots >= 1, N, N)
// and whose /w_in, /w_out and /step, where present, have as many snapshots
// and N rows; every part but /weights may be absent.
Trajectory ReadTrajectory(const std::string& path);

// Which parts of a trajectory a file holds: /weights (what ReadTrajectory
// needs) and /loss (a run may have losses before its first snapshot).
struct TrajectoryParts {
  bool weights = false;
  bool loss = false;
};
TrajectoryParts FindTrajectoryParts(const std::string& path);
// The per-step part of a trajectory only (loss, loss_axis, grad_norm,
// epochs), of a file that need not hold /weights; weights_shape stays empty.
Trajectory ReadTrajectoryLosses(const std::string& path);

// As ReadTrajectory, and throws unless the file holds all that `ltr train`
// writes: /weights, /w_in, /w_out, /step and /config, with N = /config units.
Trajectory ReadTrainTrajectory(const std::string& path);

// The options recorded in a trajectory's /config (threads in run.num_threads).
// Throws ltr::Error on a missing or malformed attribute.
TrainOptions ReadTrainOptions(const std::string& path);

// What --resume continues from: the recorded options and the state of the
// last snapshot.
struct TrainCheckpoint {
  TrainOptions options;
  TrainState state;
  // Snapshots up to and including the checkpoint's step; later rows (of a
  // run stopped between two snapshots) are dropped on resume.
  Index snapshots = 0;
};
// True when the run in `path` has ended (root attribute complete = 1).
// Throws ltr::Error unless `path` is a readable HDF5 file.
bool IsCompleteRun(const std::string& path);
// True when `path` holds a /checkpoint (a run that wrote a snapshot).
bool HasTrainCheckpoint(const std::string& path);
// Reads /config and /checkpoint of an interrupted run's partial file.
// Throws ltr::Error if either is missing or malformed.
TrainCheckpoint ReadTrainCheckpoint(const std::string& path);

// --- Writing ---------------------------------------------------------------

// One trial of the adaptation protocol as recorded: the weights it ran with,
// its activity phi(x) (N x T), its inputs, label and epoch, its loss and the
// norm of the gradient learned from it (0 where nothing is learned).
struct AdaptationTrialRecord {
  std::int64_t index = 0;
  const RnnParameters* weights = nullptr;
  const RnnTrial* trial = nullptr;
  const Eigen::MatrixXd* rates = nullptr;
  int condition = 0;
  int epoch = 0;
  double loss = 0.0;
  double grad_norm = 0.0;
};

// Writes a trajectory as the run goes (a TrainSink), streamed to an
// io::AppendableFile: memory stays at one snapshot whatever the length of
// the run, and each snapshot (or trial) ends with a flush, so a killed run
// leaves a file readable up to its last snapshot.
class TrajectoryWriter : public TrainSink {
 public:
  // A new run: creates `path` (the output's partial name) with complete = 0
  // and /config holding `options` (and `adaptation`, for the protocol).
  TrajectoryWriter(const std::string& path,
                   const std::string& command,
                   const TrainOptions& options,
                   const AdaptationOptions* adaptation = nullptr);
  // Continues the run in `path` from `checkpoint`: drops the snapshots and
  // losses written after it (a run stopped between two snapshots), records
  // the (possibly extended) steps and the resuming command.
  TrajectoryWriter(const std::string& path,
                   const std::string& command,
                   const TrainCheckpoint& checkpoint);

  // A training snapshot: weights, /step, the losses since the previous one
  // and the checkpoint; then a flush.
  void Snapshot(const RnnParameters& parameters,
                const TrainState& state,
                const std::vector<double>& loss,
                const std::vector<double>& grad_norm) override;
  // An adaptation trial: its snapshot, recording and loss; then a flush.
  void AppendTrial(const AdaptationTrialRecord& record);
  // Sets complete = 1 and flushes.
  void MarkComplete();
  // Closes the file and renames it to `final_path` (the run's output).
  void CommitTo(const std::string& final_path);

 private:
  void AppendWeights(const RnnParameters& parameters,
                     std::int64_t step,
                     const std::string& axis);

  io::AppendableFile file_;
};

// A synthetic trajectory's /weights (`ltr synth --kind trajectory`): the
// snapshots of `example` appended one at a time (axes snapshot,post,pre;
// float32 when options.float32), so memory stays at one snapshot.
void WriteSyntheticWeights(const TrajectoryExampleOptions& options,
                           const TrajectoryExample& example,
                           io::AppendableFile* out);

}  // namespace ltr

#endif  // LTR_FORMATS_TRAJECTORY_FILE_H_
