#include "ltr/jobs/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>
#include <tuple>

#include "jobs/pipeline_report.h"
#include "ltr/core/error.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/fit/metrics.h"
#include "ltr/formats/decomposition_file.h"
#include "ltr/formats/fit_file.h"
#include "ltr/formats/io.h"
#include "ltr/formats/pipeline_file.h"
#include "ltr/formats/recording.h"
#include "ltr/formats/table_file.h"

namespace ltr {
namespace {

using Eigen::MatrixXd;

void Say(const PipelineOptions& o, const std::string& message) {
  o.run.Report(message);
}

std::string InDir(const std::string& dir, const std::string& name) {
  return dir + "/" + name;
}

// Creates `dir` and any missing parents, as `mkdir -p` does.
void MakeDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (std::filesystem::is_directory(dir)) return;
  if (std::filesystem::exists(dir))
    throw Error("'" + dir + "' exists and is not a directory");
  throw Error("cannot create the output directory '" + dir +
              "': " + ec.message());
}

// [W_k - base] for every trial k of a (trial, post, pre) weight stack.
Tensor3 UpdateTensor(const Tensor3& weights, const MatrixXd& base) {
  Tensor3 update = weights;
  // Slice(k) is the (pre x post) column-major view: W_k transposed.
  const MatrixXd base_t = base.transpose();
  for (Index k = 0; k < update.dim(0); ++k) update.Slice(k) -= base_t;
  return update;
}

// [sum_r (c[k,r] - cbar_r) a_r b_r^T] of a low-tensor-rank model, cbar the
// mean trial factors over the baseline trials: the fitted change from the
// baseline epoch, laid out as UpdateTensor's. (c over the baseline need not
// be 0: the ltr part also absorbs what the base fit W_B got wrong, which is
// no learning.)
Tensor3 FittedUpdateTensor(const RnnParameters& p,
                           const std::vector<Index>& baseline) {
  Eigen::RowVectorXd baseline_mean = Eigen::RowVectorXd::Zero(p.rank());
  for (Index k : baseline) baseline_mean += p.c.row(k);
  baseline_mean /= static_cast<double>(baseline.size());
  const Index n = p.units();
  Tensor3 update(p.num_trials(), n, n);
  for (Index k = 0; k < p.num_trials(); ++k)
    update.Slice(k) =
        (p.a * (p.c.row(k) - baseline_mean).asDiagonal() * p.b.transpose())
            .transpose();
  return update;
}

DecomposeOptions UpdateCpOptions(const PipelineOptions& o) {
  DecomposeOptions d;
  d.method = DecompositionMethod::kCpAls;
  d.cp.seed = o.seed;
  d.run = o.run;
  d.run.progress = nullptr;  // the steps report, not every CP fit
  d.min_rank = 1;
  d.max_rank = *std::max_element(o.ranks.begin(), o.ranks.end());
  d.restarts = o.cp_restarts;
  d.corcondia = true;
  return d;
}

// Writes a decomposition file like `ltr decompose` does.
void WriteUpdateCp(const PipelineOptions& o,
                   const DecomposeOptions& d,
                   const DecomposeResult& result,
                   const std::string& what,
                   const std::string& key,
                   const std::string& path) {
  io::OutputFile out(path, o.command);
  WriteDecomposition(d, result, "trial,post,pre", &out);
  WritePipelineStamp(o.input, key, what, &out);
  out.Commit();
}

const CpSummary& BestFitOfRank(const EnsembleSummary& e, int rank) {
  for (size_t i = 0; i < e.ranks.size(); ++i)
    if (e.ranks[i] == rank) return e.fits[i].front();  // best first
  throw Error("internal: rank " + std::to_string(rank) + " not in ensemble");
}

}  // namespace

FitOptions PipelineFitDefaults() {
  FitOptions fit;
  fit.init_tanh_saturation = 0.999;
  // One pipeline runs 1 + ranks x seeds fits: a smaller budget per fit,
  // and fits that stop on their tolerance (docs/pipeline.md "Converged
  // fits"): scaled L-BFGS, trial factors preconditioned by the prior, the
  // window test (0.1 % over 50 iterations) and a short ALS start (the
  // L-BFGS fit refines it at once).
  fit.max_iterations = 1000;
  fit.max_seconds = 120;
  fit.lbfgs_scaling = true;
  fit.precondition_trial_factors = true;
  fit.convergence_window = 50;
  fit.window_tolerance = 1e-3;
  fit.init_als_iterations = 5;
  fit.progress_every = 50;
  // Trial factors change smoothly over learning; the minimum-norm update.
  fit.smoothing.kind = TrialSmoothing::kSecondDifference;
  fit.smoothing.weight = 0.1;
  fit.loss.l2_w = fit.loss.l2_c = 1e-5;
  return fit;
}

void SetPipelinePriors(double smoothing_weight, double l2, FitOptions* fit) {
  fit->smoothing.weight = smoothing_weight;
  fit->smoothing.kind = smoothing_weight > 0 ? TrialSmoothing::kSecondDifference
                                             : TrialSmoothing::kNone;
  fit->loss.l2_w = fit->loss.l2_c = l2;
}

bool PipelineOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (input.empty()) return fail("no input recording");
  if (output_dir.empty()) return fail("no output directory");
  if (ranks.empty()) return fail("no ranks to fit");
  for (int r : ranks)
    if (r < 1) return fail("ranks must be >= 1");
  if (seeds < 1) return fail("seeds must be >= 1");
  if (units < 0) return fail("units must be >= 0 (0 = neurons)");
  if (cp_restarts < 1) return fail("cp restarts must be >= 1");
  if (compare_rank < 0) return fail("compare rank must be >= 0 (0 = auto)");
  if (!(stable_similarity > 0 && stable_similarity <= 1))
    return fail("stable similarity must be in (0, 1]");
  if (run.num_threads < 1) return fail("threads must be >= 1");
  std::string sub;
  if (!fit.IsValid(&sub)) return fail(sub);
  if (!bounds.IsValid(&sub)) return fail(sub);
  return true;
}

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What the steps' results depend on, recorded in each step's file as the
// root attribute pipeline_key: --resume reuses a file only under the same
// key. The input's size and modification time stand for its content.
std::string PipelineKey(const PipelineOptions& o) {
  std::ostringstream k;
  k << std::setprecision(17) << "input=" << o.input
    << " bytes=" << std::filesystem::file_size(o.input) << " mtime="
    << std::filesystem::last_write_time(o.input).time_since_epoch().count()
    << " ranks=";
  for (int r : o.ranks) k << r << ",";
  const FitOptions& f = o.fit;
  k << " seeds=" << o.seeds << " seed=" << o.seed
    << " baseline_epoch=" << o.baseline_epoch
    << " cp_restarts=" << o.cp_restarts << " fit=" << f.max_iterations << ","
    << f.max_seconds << "," << f.function_tolerance << "," << f.alpha << ","
    << static_cast<int>(f.nonlinearity) << "," << static_cast<int>(f.optimizer)
    << "," << f.learning_rate << "," << f.learning_rate_decay << ","
    << static_cast<int>(f.smoothing.kind) << "," << f.smoothing.weight << ","
    << f.smoothing.length_scale << "," << f.loss.l2_w << "," << f.loss.l2_c
    << "," << f.loss.l2_x0 << "," << f.init_tanh_saturation << ","
    << static_cast<int>(f.hold_out.scheme) << "," << f.hold_out.seed << ","
    << f.hold_out.block_trials << "," << f.hold_out.test_trials << ","
    << f.convergence_window << "," << f.window_tolerance << ","
    << f.lbfgs_scaling << "," << f.precondition_trial_factors << ","
    << f.init_als_iterations << " warm_start=" << o.warm_start
    << " loss=" << static_cast<int>(f.loss.loss) << ","
    << f.loss.poisson_rate_floor << " units=" << o.units
    << " readout=" << (o.readout ? static_cast<int>(*o.readout) : -1);
  return k.str();
}

// The true weights of every trial, when the input has them (/weights).
std::optional<LearningRun> ReadTruth(const std::string& input) {
  if (!io::HasDataset(input, "/weights")) return std::nullopt;
  return ReadLearningRun(input);
}

RecordingSource Source(const PipelineOptions& o) {
  RecordingSource source;
  source.file = o.input;
  source.axes = o.axes;
  return source;
}

// One run of the pipeline: the inputs read once, the steps in order. Each
// step returns false when a signal stopped it, having written nothing.
class PipelineRun {
 public:
  explicit PipelineRun(const PipelineOptions& o)
      : o_(o),
        key_(PipelineKey(o)),
        recording_(ReadRecording(Source(o), &read_)),
        truth_(ReadTruth(o.input)) {
    Say(o, read_.Line());
    s_.warnings = read_.warnings;
    s_.has_truth = truth_.has_value();
    s_.has_base = !recording_.epoch.empty();
    fit_ = o.fit;
    // With true weights: units = neurons and an identity readout, so that
    // fitted and true weights share one unit space.
    fit_.units = truth_ ? 0 : o.units;
    fit_.readout = truth_ ? ReadoutKind::kIdentity
                          : o.readout.value_or(ReadoutKind::kFree);
    fit_.run = o.run;  // the fits' progress lines go to the pipeline's
    fit_.command = o.command;
    CheckInputs();
    for (const std::string& w : FitWarnings(fit_, recording_))
      s_.warnings.push_back(w);
  }

  bool FitBase();
  bool FitUpdates();
  bool DecomposeUpdates();
  bool CheckBounds();
  void Score();
  bool WriteSummaryAndReport(Clock::time_point start);

  PipelineSummary& summary() { return s_; }

 private:
  void CheckInputs();
  void CheckTruth() const;
  std::string Path(const std::string& name) const {
    return InDir(o_.output_dir, name);
  }
  // A step's file that --resume may reuse: it exists (files appear only
  // when complete) and was written under this run's key.
  bool Reusable(const std::string& path) const {
    return o_.resume && std::filesystem::exists(path) &&
           ReadPipelineKey(path) == key_;
  }
  void Stamp(io::OutputFile* out) const {
    WritePipelineStamp(o_.input, key_, "", out);
  }
  void Done(const std::string& path, bool reused) {
    s_.files.push_back(path);
    if (reused) Say(o_, "      reused " + path + " (--resume)");
  }

  const PipelineOptions& o_;
  const std::string key_;
  RecordingReadReport read_;  // filled by reading recording_
  const Recording recording_;
  const std::optional<LearningRun> truth_;
  std::vector<Index> baseline_;
  FitOptions fit_;
  PipelineSummary s_;
  MatrixXd w_base_;
  std::optional<DecomposeResult> true_cp_, fitted_cp_;
  Tensor3 true_update_, fitted_update_;
  int compare_rank_ = 1, fit_rank_ = 1;
};

void PipelineRun::CheckInputs() {
  const std::string& input = o_.input;
  if (truth_) CheckTruth();
  // Without /epoch there is no baseline: the fitted update is the change
  // from the mean over all trials.
  for (Index k = 0; k < recording_.trials(); ++k)
    if (recording_.epoch.empty() ||
        recording_.epoch[static_cast<size_t>(k)] == o_.baseline_epoch)
      baseline_.push_back(k);
  if (baseline_.empty())
    throw Error(input + ": no trial has epoch " +
                std::to_string(o_.baseline_epoch) + " (the baseline)");
  MakeDirectory(o_.output_dir);
}

void PipelineRun::CheckTruth() const {
  const std::string& input = o_.input;
  if (truth_->weights.dim(0) != recording_.trials() ||
      truth_->weights.dim(1) != recording_.neurons())
    throw Error(input + ": /weights is " +
                DimsToString(truth_->weights.dims()) +
                " but the pipeline needs one N x N matrix per trial with N = " +
                std::to_string(recording_.neurons()) + " neurons");
  if (recording_.epoch.empty())
    throw Error(input + ": the pipeline needs /epoch labels with /weights");
  if ((o_.units != 0 && o_.units != recording_.neurons()) ||
      (o_.readout && *o_.readout != ReadoutKind::kIdentity))
    throw Error(input +
                ": has /weights, so the pipeline compares fitted with true "
                "weights synapse by synapse and fits units = neurons with an "
                "identity readout; drop the units and readout options");
}

// Before anything is read: no file the run writes may be the input.
void RefuseInputInOutputs(const PipelineOptions& o) {
  for (const char* name : {"baseline_fit.h5",
                           "fit.h5",
                           "true_update_cp.h5",
                           "fitted_update_cp.h5",
                           "bounds.h5",
                           "summary.h5",
                           "report.html"})
    io::RefuseOutputOverInput(InDir(o.output_dir, name), {o.input});
}

// 1. The base: one full W for the baseline trials.
bool PipelineRun::FitBase() {
  if (!s_.has_base) {
    Say(o_,
        "[1/5] no /epoch: no baseline fit; the ltr fits have no base "
        "(W_k = sum_r c[k,r] a_r b_r^T)");
    return !o_.run.cancelled();
  }
  Say(o_,
      "[1/5] full fit of the " + std::to_string(baseline_.size()) +
          " baseline trials");
  if (o_.run.cancelled()) return false;
  const std::string path = Path("baseline_fit.h5");
  const bool reuse = Reusable(path);
  FitSummary base;
  if (reuse) {
    base = ReadFitSummary(path);
  } else {
    FitOptions full = fit_;
    full.kind = WeightKind::kFull;
    full.seed = o_.seed;
    base = FitRnn(full, SelectTrials(recording_, baseline_));
    if (base.termination == "interrupted" || o_.run.cancelled()) return false;
    io::OutputFile out(path, o_.command);
    WriteFit(base, &out);
    Stamp(&out);
    out.Commit();
  }
  Done(path, reuse);
  s_.baseline_test_r2 = base.test_metrics.r2;
  w_base_ = base.model.parameters.RecurrentWeights();
  return true;
}

// 2. Low-tensor-rank changes from the base, over the ranks.
bool PipelineRun::FitUpdates() {
  Say(o_,
      std::string(s_.has_base ? "[2/5] ltr fits on the base, ranks "
                              : "[2/5] ltr fits, ranks ") +
          std::to_string(o_.ranks.front()) + ".." +
          std::to_string(o_.ranks.back()) + " x " + std::to_string(o_.seeds) +
          " seeds");
  if (o_.run.cancelled()) return false;
  const std::string path = Path("fit.h5");
  const bool reuse = Reusable(path);
  if (reuse) {
    s_.sweep = ReadRankSweep(path);
  } else {
    RankSweepOptions sweep;
    sweep.fit = fit_;
    sweep.fit.kind = WeightKind::kLowTensorRank;
    sweep.fit.base_weights = w_base_;  // empty without a base fit
    sweep.fit.base_gain = 0.0;
    sweep.fit.seed = o_.seed;
    sweep.ranks = o_.ranks;
    sweep.seeds = o_.seeds;
    sweep.warm_start = o_.warm_start;
    s_.sweep = SweepRanks(sweep, recording_);
    if (o_.run.cancelled()) return false;
    io::OutputFile out(path, o_.command);
    WriteRankSweep(s_.sweep, &out);
    Stamp(&out);
    out.Commit();
  }
  Done(path, reuse);
  return true;
}

// 3. CP of the true and fitted update tensors; alignment at the chosen rank.
bool PipelineRun::DecomposeUpdates() {
  Say(o_,
      truth_ ? "[3/5] CP of the true and fitted weight-update tensors"
             : "[3/5] CP of the fitted weight-update tensor (no /weights: "
               "no true update to compare)");
  if (o_.run.cancelled()) return false;
  const DecomposeOptions cp = UpdateCpOptions(o_);
  fitted_update_ =
      FittedUpdateTensor(s_.sweep.best.model.parameters, baseline_);
  using Job = std::tuple<Tensor3*,
                         std::optional<DecomposeResult>*,
                         const char*,
                         const char*>;
  std::vector<Job> jobs;
  if (truth_) {
    // Truth: the change from the first trial's weights (no learning happens
    // in the baseline epoch, so these are every baseline trial's weights).
    const MatrixXd w_first = truth_->weights.Slice(0).transpose();
    true_update_ = UpdateTensor(truth_->weights, w_first);
    jobs.push_back(
        {&true_update_, &true_cp_, "true W_k - W_0", "true_update_cp.h5"});
  }
  jobs.push_back(
      {&fitted_update_,
       &fitted_cp_,
       s_.has_base ? "fitted W_k - mean baseline W_k" : "fitted W_k - mean W_k",
       "fitted_update_cp.h5"});
  for (const auto& [tensor, result, what, name] : jobs) {
    const std::string path = Path(name);
    const bool reuse = Reusable(path);
    if (reuse) {
      *result = ReadDecomposition(path);
    } else {
      *result = Decompose(cp, *tensor);
      if (!(*result)->complete() || o_.run.cancelled()) return false;
      WriteUpdateCp(o_, cp, **result, what, key_, path);
    }
    Done(path, reuse);
  }
  s_.fitted_cp_stability = internal::Stability(*fitted_cp_->ensemble);
  fit_rank_ = std::min(s_.sweep.chosen_rank, cp.max_rank);
  if (!truth_) return true;
  s_.true_cp_stability = internal::Stability(*true_cp_->ensemble);
  compare_rank_ = std::min(o_.compare_rank, cp.max_rank);
  if (compare_rank_ == 0) {
    compare_rank_ = 1;
    for (int r = 1; r <= fit_rank_; ++r) {
      const size_t i = static_cast<size_t>(r - 1);
      if (s_.true_cp_stability[i] >= o_.stable_similarity &&
          s_.fitted_cp_stability[i] >= o_.stable_similarity)
        compare_rank_ = r;
    }
  }
  const double distance =
      internal::RelativeDistance(fitted_update_, true_update_);
  auto compare_at = [&](int r) {
    UpdateComparison c =
        internal::Compare(BestFitOfRank(*true_cp_->ensemble, r),
                          BestFitOfRank(*fitted_cp_->ensemble, r),
                          recording_.epoch);
    c.update_distance = distance;
    return c;
  };
  s_.comparison = compare_at(compare_rank_);
  s_.at_fit_rank = compare_at(fit_rank_);
  for (int r = 1; r <= cp.max_rank; ++r)
    s_.factor_match_by_rank.push_back(
        r == compare_rank_ ? s_.comparison.factor_match
        : r == fit_rank_   ? s_.at_fit_rank.factor_match
                           : compare_at(r).factor_match);
  return true;
}

// 4. Rank bounds on the true trajectory (quick: always redone).
bool PipelineRun::CheckBounds() {
  if (!truth_) {
    Say(o_, "[4/5] no /weights: no true trajectory, no rank bounds");
    return !o_.run.cancelled();
  }
  Say(o_, "[4/5] rank bounds on the true trajectory");
  if (o_.run.cancelled()) return false;
  BoundsOptions bounds = o_.bounds;
  bounds.run = o_.run;
  s_.bounds = EvaluateBounds(bounds, *truth_);
  if (o_.run.cancelled()) return false;
  const std::string path = Path("bounds.h5");
  io::OutputFile out(path, o_.command);
  WriteBounds(bounds, {s_.bounds}, &out);
  Stamp(&out);
  out.Commit();
  Done(path, false);
  return true;
}

// The chosen fit's scores: per-neuron R^2, bits/spike beside the PSTH
// baseline's, the fitted trial factors per epoch or condition.
void PipelineRun::Score() {
  const HeldOutScores held_out =
      ScoreHeldOut(s_.sweep.best, recording_, o_.run.num_threads);
  PipelineScores& scores = s_.scores;
  scores.test_r2_per_neuron = held_out.test_r2_per_neuron;
  scores.bits_per_spike = held_out.bits_per_spike;
  scores.psth_bits_per_spike = held_out.psth_bits_per_spike;
  const std::string warning = HeldOutWarning(s_.sweep.best, held_out);
  if (!warning.empty()) s_.warnings.push_back("chosen rank: " + warning);
  const CpSummary& fitted = BestFitOfRank(*fitted_cp_->ensemble, fit_rank_);
  scores.trial_factors =
      fitted.model.factors[0] * fitted.model.weights.asDiagonal();
  scores.grouped_by = s_.has_base ? "epoch" : "condition";
  scores.labels = s_.has_base ? recording_.epoch : recording_.condition;
  if (scores.labels.empty())
    scores.labels.assign(static_cast<size_t>(recording_.trials()), 0);
  scores.group_means = internal::GroupMeans(fitted.model.factors[0],
                                            fitted.model.weights,
                                            scores.labels,
                                            &scores.groups);
}

// The comparison file, then 5. figures and the report.
bool PipelineRun::WriteSummaryAndReport(Clock::time_point start) {
  s_.seconds = SecondsSince(start);
  const std::string summary = Path("summary.h5");
  {
    io::OutputFile out(summary, o_.command);
    Stamp(&out);
    WritePipelineSummary(s_, &out);
    out.Commit();
  }
  Done(summary, false);
  if (!o_.plots) return true;
  Say(o_, "[5/5] figures and report");
  if (o_.run.cancelled()) return false;
  PlotOptions plot = o_.plot;
  plot.output_dir = Path("figures");
  if (s_.has_base) plot.epochs_file = o_.input;  // shading by epoch
  plot.run = o_.run;
  // Factor grids of the compared ranks only.
  plot.ranks = {truth_ ? compare_rank_ : fit_rank_};
  if (fit_rank_ != plot.ranks.front()) plot.ranks.push_back(fit_rank_);
  for (const std::string& file : s_.files) {
    plot.prefix = internal::BaseName(file).substr(
                      0, internal::BaseName(file).size() - 3) +
                  "_";
    for (Figure& f : PlotFile(plot, file)) s_.figures.push_back(f);
    if (o_.run.cancelled()) return false;
  }
  const std::string report = Path("report.html");
  s_.seconds = SecondsSince(start);
  s_.files.push_back(report);
  internal::WriteReport(o_, s_, report);
  return true;
}

}  // namespace

PipelineSummary RunLearningPipeline(const PipelineOptions& options) {
  const Clock::time_point start = Clock::now();
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  io::CheckReadable(options.input);
  RefuseInputInOutputs(options);
  PipelineRun run(options);
  PipelineSummary& s = run.summary();
  s.complete = run.FitBase() && run.FitUpdates() && run.DecomposeUpdates() &&
               run.CheckBounds();
  if (s.complete) {
    run.Score();
    s.complete = run.WriteSummaryAndReport(start);
  }
  s.seconds = SecondsSince(start);
  return s;
}

}  // namespace ltr
