#include "ltr/pipeline.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <tuple>

#include "ltr/diagnostics.h"
#include "ltr/error.h"
#include "ltr/io.h"
#include "ltr/recording.h"

namespace ltr {
namespace {

using Eigen::MatrixXd;

void Say(const PipelineOptions& o, const std::string& message) {
  if (o.progress) o.progress(message);
}

std::string InDir(const std::string& dir, const std::string& name) {
  return dir + "/" + name;
}

void MakeDirectory(const std::string& dir) {
  if (mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST)
    throw Error("cannot create the output directory '" + dir + "'");
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error("'" + dir + "' exists and is not a directory");
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
  d.cp.num_threads = o.num_threads;
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
                   const std::string& path) {
  io::OutputFile out(path, o.command);
  WriteDecomposition(d, result, "trial,post,pre", &out);
  out.SetAttribute("/", "input", o.input);
  out.SetAttribute("/", "tensor", what);
  out.Commit();
}

const CpSummary& BestFitOfRank(const EnsembleSummary& e, int rank) {
  for (size_t i = 0; i < e.ranks.size(); ++i)
    if (e.ranks[i] == rank) return e.fits[i].front();  // best first
  throw Error("internal: rank " + std::to_string(rank) + " not in ensemble");
}

// Per rank of the ensemble: the smallest similarity of a restart to the
// rank's best fit (1 when every restart found the same decomposition).
std::vector<double> Stability(const EnsembleSummary& e) {
  std::vector<double> out;
  for (Index i = 0; i < e.similarity.rows(); ++i) {
    double lowest = 1;
    for (Index j = 0; j < e.similarity.cols(); ++j)
      if (std::isfinite(e.similarity(i, j)))
        lowest = std::min(lowest, e.similarity(i, j));
    out.push_back(lowest);
  }
  return out;
}

double RelativeDistance(const Tensor3& a, const Tensor3& b) {
  double diff = 0, norm = 0;
  for (Index i = 0; i < a.size(); ++i) {
    diff += (a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
    norm += b.data()[i] * b.data()[i];
  }
  return norm > 0 ? std::sqrt(diff / norm) : 0.0;
}

UpdateComparison Compare(const CpSummary& truth,
                         const CpSummary& fitted,
                         const std::vector<std::int64_t>& epoch_labels) {
  UpdateComparison c;
  c.rank = static_cast<int>(truth.model.rank());
  c.true_relative_error = truth.relative_error;
  c.fitted_relative_error = fitted.relative_error;
  const Alignment alignment = Align(truth.model, fitted.model);
  c.factor_match = alignment.score;
  c.component_scores = alignment.component_scores;
  const Ktensor aligned = ApplyAlignment(truth.model, fitted.model, alignment);
  double* congruence[3] = {
      &c.trial_congruence, &c.post_congruence, &c.pre_congruence};
  for (int mode = 0; mode < 3; ++mode) {
    const MatrixXd& u = truth.model.factors[mode];
    const MatrixXd& v = aligned.factors[mode];
    double sum = 0;
    for (Index r = 0; r < u.cols(); ++r)
      sum += std::abs(u.col(r).dot(v.col(r))) /
             std::max(1e-300, u.col(r).norm() * v.col(r).norm());
    *congruence[mode] = sum / static_cast<double>(u.cols());
  }
  c.true_trial_factors =
      truth.model.factors[0] * truth.model.weights.asDiagonal();
  c.fitted_trial_factors = aligned.factors[0] * aligned.weights.asDiagonal();
  // Epoch means of the weighted trial factors.
  std::map<std::int64_t, std::vector<Index>> trials_of;
  for (size_t k = 0; k < epoch_labels.size(); ++k)
    trials_of[epoch_labels[k]].push_back(static_cast<Index>(k));
  const Index rank = truth.model.rank();
  c.true_epoch_means.resize(static_cast<Index>(trials_of.size()), rank);
  c.fitted_epoch_means.resize(static_cast<Index>(trials_of.size()), rank);
  Index row = 0;
  for (const auto& [label, trials] : trials_of) {
    c.epochs.push_back(label);
    for (Index r = 0; r < rank; ++r) {
      double t = 0, f = 0;
      for (Index k : trials) {
        t += truth.model.weights(r) * truth.model.factors[0](k, r);
        f += aligned.weights(r) * aligned.factors[0](k, r);
      }
      c.true_epoch_means(row, r) = t / static_cast<double>(trials.size());
      c.fitted_epoch_means(row, r) = f / static_cast<double>(trials.size());
    }
    ++row;
  }
  return c;
}

void WriteComparison(const PipelineOptions& o,
                     const PipelineSummary& s,
                     const std::string& path) {
  io::OutputFile out(path, o.command);
  const UpdateComparison& c = s.comparison;
  out.SetAttribute("/", "input", o.input);
  out.SetAttribute("/", "chosen_rank", s.sweep.chosen_rank);
  out.SetAttribute("/", "baseline_test_r2", s.baseline_test_r2);
  out.SetAttribute("/", "test_r2", s.sweep.best.test_metrics.r2);
  out.SetAttribute("/", "compare_rank", c.rank);
  out.SetAttribute("/", "factor_match", c.factor_match);
  out.SetAttribute("/", "factor_match_at_fit_rank", s.at_fit_rank.factor_match);
  out.SetAttribute("/", "trial_congruence", c.trial_congruence);
  out.SetAttribute("/", "post_congruence", c.post_congruence);
  out.SetAttribute("/", "pre_congruence", c.pre_congruence);
  out.SetAttribute("/", "update_distance", c.update_distance);
  out.SetAttribute("/", "true_cp_relative_error", c.true_relative_error);
  out.SetAttribute("/", "fitted_cp_relative_error", c.fitted_relative_error);
  const auto as_vector = [](const std::vector<double>& v) {
    return Eigen::Map<const Eigen::VectorXd>(v.data(),
                                             static_cast<Index>(v.size()));
  };
  out.WriteVector(
      "/comparison/true_cp_stability", as_vector(s.true_cp_stability), "rank");
  out.WriteVector("/comparison/fitted_cp_stability",
                  as_vector(s.fitted_cp_stability),
                  "rank");
  out.WriteVector("/comparison/factor_match_by_rank",
                  as_vector(s.factor_match_by_rank),
                  "rank");
  out.WriteVector(
      "/comparison/component_scores", c.component_scores, "component");
  out.WriteMatrix("/comparison/true_trial_factors",
                  c.true_trial_factors,
                  "trial,component");
  out.WriteMatrix("/comparison/fitted_trial_factors",
                  c.fitted_trial_factors,
                  "trial,component");
  out.WriteIntVector("/comparison/epochs", c.epochs, "epoch");
  out.WriteMatrix(
      "/comparison/true_epoch_means", c.true_epoch_means, "epoch,component");
  out.WriteMatrix("/comparison/fitted_epoch_means",
                  c.fitted_epoch_means,
                  "epoch,component");
  out.Commit();
}

std::string Number(double v, int precision = 3) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(precision) << v;
  return s.str();
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '<')
      out += "&lt;";
    else if (ch == '>')
      out += "&gt;";
    else if (ch == '&')
      out += "&amp;";
    else
      out += ch;
  }
  return out;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The HTML report: the numbers, then every figure with its caption. Figures
// are referenced by relative path so the directory can be moved as a whole.
void WriteReport(const PipelineOptions& o,
                 const PipelineSummary& s,
                 const std::string& path) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream html(temporary);
    if (!html) throw Error("cannot write '" + temporary + "'");
    const UpdateComparison& c = s.comparison;
    html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
         << "<title>ltr learning pipeline: " << Escape(BaseName(o.input))
         << "</title>\n<style>body{font-family:sans-serif;max-width:1100px;"
            "margin:2em auto;color:#222}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "th{background:#f3f3f3}figure{margin:1.5em 0}"
            "img{max-width:100%;border:1px solid #eee}figcaption{color:#555}"
            "</style></head><body>\n";
    html << "<h1>Learning over trials: " << Escape(BaseName(o.input))
         << "</h1>\n<p>Command: <code>" << Escape(o.command)
         << "</code></p>\n<pre>" << Escape(s.SummaryTable()) << "</pre>\n";

    html << "<h2>Rank chosen by held-out blocks</h2>\n<table><tr><th>rank"
            "</th><th>train loss</th><th>test loss</th><th>test R&sup2;</th>"
            "</tr>\n";
    for (size_t i = 0; i < s.sweep.ranks.size(); ++i) {
      const Index row = static_cast<Index>(i);
      html << "<tr><td>" << s.sweep.ranks[i]
           << (s.sweep.ranks[i] == s.sweep.chosen_rank ? " (chosen)" : "")
           << "</td><td>" << Number(s.sweep.train_loss.row(row).minCoeff(), 5)
           << "</td><td>" << Number(s.sweep.test_loss.row(row).minCoeff(), 5)
           << "</td><td>" << Number(s.sweep.test_r2.row(row).maxCoeff(), 4)
           << "</td></tr>\n";
    }
    html << "</table>\n";

    html << "<h2>Fitted against true weight updates (CP rank " << c.rank
         << ")</h2>\n<p>Compared at the largest CP rank at which both "
            "update tensors have a unique decomposition (every restart "
            "agrees with the best; smallest restart similarity per rank, "
            "true: ";
    for (double v : s.true_cp_stability) html << Number(v, 2) << " ";
    html << "fitted: ";
    for (double v : s.fitted_cp_stability) html << Number(v, 2) << " ";
    html << "). Factor match score of the best CP fits by rank, from 1: ";
    for (double v : s.factor_match_by_rank) html << Number(v, 2) << " ";
    html << "(at the fit's chosen rank, " << s.at_fit_rank.rank << ": "
         << Number(s.at_fit_rank.factor_match) << ").</p>\n";
    html << "<p>Per true component at the compared rank (largest first), "
            "the product of its three congruences with the matched fitted "
            "component: ";
    for (Index r = 0; r < c.component_scores.size(); ++r)
      html << Number(c.component_scores(r), 3) << " ";
    html << "(0.9 or more: recovered).</p>\n";
    html << "<p>Factor match score " << Number(c.factor_match)
         << "; mean congruence of trial factors " << Number(c.trial_congruence)
         << ", of post-synaptic factors " << Number(c.post_congruence)
         << ", of pre-synaptic factors " << Number(c.pre_congruence)
         << ". Relative distance between the fitted and true update tensors: "
         << Number(c.update_distance) << ".</p>\n";
    html << "<table><tr><th>epoch</th>";
    for (int r = 0; r < c.rank; ++r)
      html << "<th>true c" << r + 1 << "</th><th>fitted c" << r + 1 << "</th>";
    html << "</tr>\n";
    for (Index e = 0; e < c.true_epoch_means.rows(); ++e) {
      html << "<tr><td>" << c.epochs[static_cast<size_t>(e)] << "</td>";
      for (int r = 0; r < c.rank; ++r)
        html << "<td>" << Number(c.true_epoch_means(e, r)) << "</td><td>"
             << Number(c.fitted_epoch_means(e, r)) << "</td>";
      html << "</tr>\n";
    }
    html << "</table>\n";

    html << "<h2>Rank bounds on the true trajectory</h2>\n<pre>"
         << Escape(FormatBounds({s.bounds})) << "</pre>\n";

    html << "<h2>Figures</h2>\n";
    for (const Figure& f : s.figures) {
      const std::string image = !f.png.empty() ? f.png : f.svg;
      html << "<figure><img src=\"figures/" << Escape(BaseName(image))
           << "\" alt=\"" << Escape(f.title) << "\"><figcaption><b>"
           << Escape(f.title) << "</b>: " << Escape(f.caption)
           << (f.svg.empty()
                   ? ""
                   : " (<a href=\"figures/" + BaseName(f.svg) + "\">SVG</a>)")
           << "</figcaption></figure>\n";
    }
    html << "<h2>Files</h2>\n<ul>\n";
    for (const std::string& file : s.files)
      html << "<li><code>" << Escape(BaseName(file)) << "</code></li>\n";
    html << "</ul>\n</body></html>\n";
    if (!html) throw Error("cannot write '" + temporary + "'");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    throw Error("cannot rename '" + temporary + "' to '" + path + "'");
}

}  // namespace

FitOptions PipelineFitDefaults() {
  FitOptions fit;
  fit.init_tanh_saturation = 0.999;
  return fit;
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
  if (cp_restarts < 1) return fail("cp restarts must be >= 1");
  if (compare_rank < 0) return fail("compare rank must be >= 0 (0 = auto)");
  if (!(stable_similarity > 0 && stable_similarity <= 1))
    return fail("stable similarity must be in (0, 1]");
  if (num_threads < 1) return fail("threads must be >= 1");
  std::string sub;
  if (!fit.IsValid(&sub)) return fail(sub);
  if (!bounds.IsValid(&sub)) return fail(sub);
  return true;
}

std::string PipelineSummary::SummaryTable() const {
  std::ostringstream out;
  const UpdateComparison& c = comparison;
  auto line = [&](const std::string& what, const std::string& value) {
    out << "  " << std::left << std::setw(44) << what << value << "\n";
  };
  out << "learning pipeline summary\n";
  line("baseline full fit, held-out R^2", Number(baseline_test_r2));
  line("chosen rank (held-out blocks)", std::to_string(sweep.chosen_rank));
  line("ltr fit at chosen rank, held-out R^2",
       Number(sweep.best.test_metrics.r2));
  line("relative distance, fitted vs true updates", Number(c.update_distance));
  line("CP rank compared (both CP fits unique)", std::to_string(c.rank));
  line("  true update tensor, CP error", Number(c.true_relative_error));
  line("  fitted update tensor, CP error", Number(c.fitted_relative_error));
  line("  factor match score, fitted vs true", Number(c.factor_match));
  std::string scores;
  for (Index r = 0; r < c.component_scores.size(); ++r)
    scores += (r > 0 ? " " : "") + Number(c.component_scores(r), 2);
  line("  per true component (largest first)", scores);
  line("  congruence trial / post / pre",
       Number(c.trial_congruence) + " / " + Number(c.post_congruence) + " / " +
           Number(c.pre_congruence));
  std::string by_rank;
  for (size_t r = 0; r < factor_match_by_rank.size(); ++r)
    by_rank += (r > 0 ? " " : "") + Number(factor_match_by_rank[r], 2);
  line("factor match by CP rank 1.." +
           std::to_string(factor_match_by_rank.size()),
       by_rank);
  int held = 0, total = 0;
  for (const BoundRow& row : bounds.rows) {
    if (!row.hypotheses_hold) continue;
    ++total;
    if (row.status == BoundStatus::kHolds) ++held;
  }
  line("bounds whose hypotheses hold: met",
       std::to_string(held) + " of " + std::to_string(total));
  line("seconds", Number(seconds, 1));
  return out.str();
}

PipelineSummary RunLearningPipeline(const PipelineOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const PipelineOptions& o = options;
  io::CheckReadable(o.input);
  const Recording recording = ReadRecording(o.input);
  const LearningRun run = ReadLearningRun(o.input);
  if (run.weights.dim(0) != recording.trials() ||
      run.weights.dim(1) != recording.neurons())
    throw Error(o.input + ": /weights is " +
                std::to_string(run.weights.dim(0)) + " x " +
                std::to_string(run.weights.dim(1)) + " x " +
                std::to_string(run.weights.dim(2)) +
                " but the pipeline needs one N x N matrix per trial with N = " +
                std::to_string(recording.neurons()) + " neurons");
  if (recording.epoch.empty())
    throw Error(o.input + ": the pipeline needs /epoch labels");
  std::vector<Index> baseline;
  for (Index k = 0; k < recording.trials(); ++k)
    if (recording.epoch[static_cast<size_t>(k)] == o.baseline_epoch)
      baseline.push_back(k);
  if (baseline.empty())
    throw Error(o.input + ": no trial has epoch " +
                std::to_string(o.baseline_epoch) + " (the baseline)");
  MakeDirectory(o.output_dir);

  PipelineSummary s;
  FitOptions fit = o.fit;
  fit.units = 0;  // = neurons
  fit.readout = ReadoutKind::kIdentity;
  fit.num_threads = o.num_threads;
  fit.command = o.command;

  // 1. The base: one full W for the baseline trials.
  Say(o,
      "[1/5] full fit of the " + std::to_string(baseline.size()) +
          " baseline trials");
  FitOptions full = fit;
  full.kind = WeightKind::kFull;
  full.seed = o.seed;
  const FitSummary base_fit = FitRnn(full, SelectTrials(recording, baseline));
  s.baseline_test_r2 = base_fit.test_metrics.r2;
  {
    const std::string path = InDir(o.output_dir, "baseline_fit.h5");
    io::OutputFile out(path, o.command);
    WriteFit(base_fit, &out);
    out.SetAttribute("/", "input", o.input);
    out.Commit();
    s.files.push_back(path);
  }
  const MatrixXd w_base = base_fit.model.parameters.RecurrentWeights();

  // 2. Low-tensor-rank changes from the base, over the ranks.
  Say(o,
      "[2/5] ltr fits on the base, ranks " + std::to_string(o.ranks.front()) +
          ".." + std::to_string(o.ranks.back()) + " x " +
          std::to_string(o.seeds) + " seeds");
  RankSweepOptions sweep;
  sweep.fit = fit;
  sweep.fit.kind = WeightKind::kLowTensorRank;
  sweep.fit.base_weights = w_base;
  sweep.fit.base_gain = 0.0;
  sweep.fit.seed = o.seed;
  sweep.ranks = o.ranks;
  sweep.seeds = o.seeds;
  s.sweep = SweepRanks(sweep, recording);
  {
    const std::string path = InDir(o.output_dir, "fit.h5");
    io::OutputFile out(path, o.command);
    WriteRankSweep(s.sweep, &out);
    out.SetAttribute("/", "input", o.input);
    out.Commit();
    s.files.push_back(path);
  }

  // 3. CP of the true and fitted update tensors; alignment at the chosen rank.
  Say(o, "[3/5] CP of the true and fitted weight-update tensors");
  const DecomposeOptions cp = UpdateCpOptions(o);
  // Truth: the change from the first trial's weights (no learning happens in
  // the baseline epoch, so these are every baseline trial's weights).
  const MatrixXd w_first = run.weights.Slice(0).transpose();
  const Tensor3 true_update = UpdateTensor(run.weights, w_first);
  const Tensor3 fitted_update =
      FittedUpdateTensor(s.sweep.best.model.parameters, baseline);
  const DecomposeResult true_cp = Decompose(cp, true_update);
  const DecomposeResult fitted_cp = Decompose(cp, fitted_update);
  for (const auto& [result, what, name] :
       {std::tuple{&true_cp, "true W_k - W_0", "true_update_cp.h5"},
        std::tuple{&fitted_cp,
                   "fitted W_k - mean baseline W_k",
                   "fitted_update_cp.h5"}}) {
    const std::string path = InDir(o.output_dir, name);
    WriteUpdateCp(o, cp, *result, what, path);
    s.files.push_back(path);
  }
  s.true_cp_stability = Stability(*true_cp.ensemble);
  s.fitted_cp_stability = Stability(*fitted_cp.ensemble);
  const int fit_rank = std::min(s.sweep.chosen_rank, cp.max_rank);
  int compare_rank = std::min(o.compare_rank, cp.max_rank);
  if (compare_rank == 0) {
    compare_rank = 1;
    for (int r = 1; r <= fit_rank; ++r) {
      const size_t i = static_cast<size_t>(r - 1);
      if (s.true_cp_stability[i] >= o.stable_similarity &&
          s.fitted_cp_stability[i] >= o.stable_similarity)
        compare_rank = r;
    }
  }
  const double distance = RelativeDistance(fitted_update, true_update);
  auto compare_at = [&](int r) {
    UpdateComparison c = Compare(BestFitOfRank(*true_cp.ensemble, r),
                                 BestFitOfRank(*fitted_cp.ensemble, r),
                                 recording.epoch);
    c.update_distance = distance;
    return c;
  };
  s.comparison = compare_at(compare_rank);
  s.at_fit_rank = compare_at(fit_rank);
  for (int r = 1; r <= cp.max_rank; ++r)
    s.factor_match_by_rank.push_back(
        r == compare_rank ? s.comparison.factor_match
        : r == fit_rank   ? s.at_fit_rank.factor_match
                          : compare_at(r).factor_match);

  // 4. Rank bounds on the true trajectory.
  Say(o, "[4/5] rank bounds on the true trajectory");
  BoundsOptions bounds = o.bounds;
  bounds.rank.num_threads = bounds.cp.num_threads = o.num_threads;
  s.bounds = EvaluateBounds(bounds, run);
  {
    const std::string path = InDir(o.output_dir, "bounds.h5");
    io::OutputFile out(path, o.command);
    WriteBounds(bounds, {s.bounds}, &out);
    out.SetAttribute("/", "input", o.input);
    out.Commit();
    s.files.push_back(path);
  }
  s.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  {
    const std::string path = InDir(o.output_dir, "summary.h5");
    WriteComparison(o, s, path);
    s.files.push_back(path);
  }

  // 5. Figures and the report.
  if (o.plots) {
    Say(o, "[5/5] figures and report");
    PlotOptions plot = o.plot;
    plot.output_dir = InDir(o.output_dir, "figures");
    plot.epochs_file = o.input;
    plot.num_threads = o.num_threads;
    // Factor grids of the compared ranks only.
    plot.ranks = {compare_rank};
    if (fit_rank != compare_rank) plot.ranks.push_back(fit_rank);
    for (const std::string& file : s.files) {
      plot.prefix = BaseName(file).substr(0, BaseName(file).size() - 3) + "_";
      for (Figure& f : PlotFile(plot, file)) s.figures.push_back(f);
    }
    const std::string report = InDir(o.output_dir, "report.html");
    s.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    s.files.push_back(report);
    WriteReport(o, s, report);
  }
  s.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return s;
}

}  // namespace ltr
