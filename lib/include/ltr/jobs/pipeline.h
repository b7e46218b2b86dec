// The learning-over-trials pipeline (the README's main job) as one library
// call: from a recording (with /epoch labels, and with the true weights of
// every trial when it is simulated: `ltr train --protocol adaptation`
// writes one; a real one from `ltr import` has neither) to
//   1. a full RNN fitted to the baseline trials (the base W_B; skipped
//      without /epoch: the ltr fits then have no base),
//   2. low-tensor-rank RNNs W_k = W_B + sum_r c[k,r] a_r b_r^T fitted to all
//      trials over a range of ranks, with held-out blocks choosing the rank,
//   3. CP of the fitted weight-update tensor [W_k - mean of W_k over the
//      baseline trials (all trials without /epoch)] and, with /weights, of
//      the true one [W_k - W_0], aligned and compared (factor match score
//      per mode; trial factors per epoch),
//   4. with /weights, the rank bounds on the true trajectory,
//   5. figures (ltr plot) and an HTML report,
// and the scores of the chosen fit: held-out R^2 per neuron, its fitted
// trial factors per epoch (per condition without /epoch) and, for counts,
// held-out bits/spike beside a per-condition PSTH baseline's.
// Every step writes the file its own command would write, so each can be
// opened, plotted and re-run on its own.
#ifndef LTR_PIPELINE_H_
#define LTR_PIPELINE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ltr/core/run_context.h"
#include "ltr/decompose/decompose.h"
#include "ltr/fit/fit.h"
#include "ltr/jobs/plot.h"
#include "ltr/theory/bounds.h"

namespace ltr {

// The fits of `ltr pipeline`: FitOptions' defaults, except that the
// data-driven start inverts tanh up to 0.999 (the inputs are simulated,
// noise-free recordings; fit.h, init_tanh_saturation) with 5 ALS sweeps,
// a budget of 1000 iterations and 120 s per fit with progress every 50
// iterations, fits that stop on the window test (objective down by less
// than 0.1 % over 50 iterations) with scaled L-BFGS and preconditioned
// trial factors, a second-difference prior of weight 0.1 on the trial
// factors and an L2 penalty of 1e-5 on the ltr factors.
FitOptions PipelineFitDefaults();

// The pipeline's two fit priors as one caller sets them: a second-difference
// prior of weight `smoothing_weight` on the trial factors (0: none) and one
// L2 penalty `l2` on the factors a, b and c.
void SetPipelinePriors(double smoothing_weight, double l2, FitOptions* fit);

struct PipelineOptions {
  std::string input;  // recording; /weights and /epoch optional (see above)
  // Stored order of /activity's axes (RecordingSource::axes); empty = its
  // axes attribute.
  std::string axes;
  std::string output_dir;  // created if missing; files are replaced
  // Reuse the fit and CP files of an earlier, interrupted run in output_dir
  // that were written with the same options and input (their root
  // attribute pipeline_key); redo the other steps.
  bool resume = false;

  // Fits. With /weights: units = neurons with an identity readout, so fitted
  // and true weights live in the same unit space and can be compared entry
  // by entry (`units` and `readout` below must be left unset; fit.units and
  // fit.readout are always replaced by them). Shared settings of both fit
  // stages (see PipelineFitDefaults); fit.loss.loss = kPoisson fits counts.
  FitOptions fit = PipelineFitDefaults();
  // Without /weights: the model's units (0 = neurons) and readout (unset =
  // free: through a fixed identity readout each neuron's Poisson rate
  // softplus(tanh(x) + d) spans only a few-fold range).
  int units = 0;
  std::optional<ReadoutKind> readout;
  int baseline_epoch = 0;  // trials with this /epoch label fit W_B
  std::vector<int> ranks = {1, 2, 3, 4, 5, 6};
  // Fits per rank; each rank keeps its fit with the lowest held-out loss.
  // Two, because a single L-BFGS fit per rank leaves the held-out curve and
  // the recovered update at the mercy of one start (docs/pipeline.md:
  // factor match at CP rank 2 over five seeds 0.75-0.98 with one fit per
  // rank, 0.94-0.98 with two).
  int seeds = 2;
  // Per seed, rank r+1 starts from the rank-r fit plus a new component
  // (RankSweepOptions::warm_start); false: every fit from its own
  // data-driven start (--cold-start).
  bool warm_start = true;

  // CP of the update tensors: ranks 1..max(ranks), restarts each.
  int cp_restarts = 3;
  // The CP rank at which the fitted and true updates are compared. A factor
  // match score only means something where both decompositions are unique,
  // so 0 (auto) takes the largest rank, up to the fit's chosen rank (the
  // fitted update's CP rank is at most that), at which both ensembles are
  // stable: every restart matches the best fit with similarity >=
  // stable_similarity (rank 1 if none is). The comparison at the fit's
  // chosen rank is reported as well.
  int compare_rank = 0;
  double stable_similarity = 0.9;

  BoundsOptions bounds;  // its run is replaced by the pipeline's
  bool plots = true;     // figures and report need gnuplot
  PlotOptions plot;      // its output_dir, epochs_file, ranks, prefix and run
                         // are the pipeline's

  std::uint64_t seed = 1;
  std::string command;  // recorded in every output
  // Passed to every step (fits, CP, bounds, figures): their threads, a
  // cancellation between and inside the steps, and a one-line progress
  // message at every step.
  RunContext run;

  bool IsValid(std::string* error) const;
};

// The comparison of the fitted with the true update tensor at one CP rank.
struct UpdateComparison {
  int rank = 0;
  double true_relative_error = 0;    // CP fit of the true update tensor
  double fitted_relative_error = 0;  // CP fit of the fitted update tensor
  double factor_match = 0;           // FMS over all modes (aligned)
  // Per true component, in the true CP's order (largest weight first): the
  // product over modes of |cos| with its matched fitted component (their
  // mean is factor_match), i.e. which planted components are recovered.
  Eigen::VectorXd component_scores;
  // Mean |cos| over matched components, per mode (trial, post, pre).
  double trial_congruence = 0;
  double post_congruence = 0;
  double pre_congruence = 0;
  // Relative Frobenius distance between fitted and true update tensors.
  double update_distance = 0;
  // (epochs x rank): mean of each aligned trial factor over each epoch,
  // true and fitted, the factors scaled by their weights.
  // (trials x rank): the aligned trial factors scaled by their weights.
  Eigen::MatrixXd true_trial_factors;
  Eigen::MatrixXd fitted_trial_factors;
  Eigen::MatrixXd true_epoch_means;
  Eigen::MatrixXd fitted_epoch_means;
  std::vector<std::int64_t> epochs;  // the epoch labels of the rows
};

// What the chosen fit explains, with or without true weights.
struct PipelineScores {
  // Held-out R^2 of every neuron (PerNeuronR2, ltr/fit/metrics.h).
  Eigen::VectorXd test_r2_per_neuron;
  // Counts (poisson loss) only, else NaN: held-out bits/spike of the fit and
  // of the per-condition PSTH of the training entries (HeldOutScores).
  double bits_per_spike = std::numeric_limits<double>::quiet_NaN();
  double psth_bits_per_spike = std::numeric_limits<double>::quiet_NaN();
  // The fitted trial factors against the trials' labels: the best CP fit at
  // the fit's chosen rank (capped at the largest CP rank) of the fitted
  // update tensor, its trial factors scaled by their weights (trials x
  // rank), and their mean over the trials of each group (groups x rank).
  // Grouped by /epoch, or by /condition without it.
  std::string grouped_by;            // "epoch" or "condition"
  std::vector<std::int64_t> labels;  // (trials,) each trial's group
  std::vector<std::int64_t> groups;  // the labels of group_means' rows
  Eigen::MatrixXd trial_factors;
  Eigen::MatrixXd group_means;
};

struct PipelineSummary {
  // What the input allowed: /weights (the true-vs-fitted comparison and the
  // bounds, steps 3-4; without it `comparison`, `at_fit_rank`, the true
  // stabilities, `factor_match_by_rank` and `bounds` stay empty and their
  // files are not written) and /epoch (the baseline fit, step 1).
  bool has_truth = true;
  bool has_base = true;
  RankSweepSummary sweep;        // stage 2
  double baseline_test_r2 = 0;   // stage 1, held-out R^2 on baseline trials
  PipelineScores scores;         // of sweep.best
  UpdateComparison comparison;   // at the compared rank (compare_rank)
  UpdateComparison at_fit_rank;  // at the fit's chosen rank
  // Per CP rank 1..max: the smallest restart similarity of each ensemble,
  // and the factor match of the two best fits of that rank.
  std::vector<double> true_cp_stability, fitted_cp_stability;
  std::vector<double> factor_match_by_rank;
  BoundsSummary bounds;
  std::vector<Figure> figures;        // empty without plots
  std::vector<std::string> files;     // every file written, report last
  std::vector<std::string> warnings;  // from reading the recording
  double seconds = 0;
  // False when run.cancellation stopped the run: the files of the steps
  // that finished are written, the step that was stopped wrote none, and a
  // run with `resume` continues from there.
  bool complete = true;

  // The short table the command prints.
  std::string SummaryTable() const;
};

// Runs the pipeline. Throws ltr::Error on invalid options or input (no
// baseline trials in /epoch, weights and activity of different sizes,
// /weights without /epoch, units or readout set with /weights, an output
// file that would replace the input).
PipelineSummary RunLearningPipeline(const PipelineOptions& options);

}  // namespace ltr

#endif  // LTR_PIPELINE_H_
