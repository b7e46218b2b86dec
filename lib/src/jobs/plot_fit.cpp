// Figures of a fitted model (/cv, /model, /fit) and of the pipeline's
// fitted-against-true comparison (summary.h5).
#include <algorithm>
#include <cmath>

#include "jobs/plot_common.h"
#include "ltr/core/error.h"
#include "ltr/formats/pipeline_file.h"

namespace ltr::plot {
namespace {

void CvFigure(const Context& ctx, const PlotFitInput& f) {
  const Vector& ranks = f.cv->ranks;
  const Matrix& train = f.cv->first;
  const Matrix& test = f.cv->second;
  const Matrix& r2 = f.cv_test_r2;
  const Matrix& done = f.cv->done;
  const double chosen = f.cv_chosen_rank;
  GnuplotFigure g("fit_cv_rank", 1000, 420);
  const std::string pts = RankPoints(&g, ranks, {&train, &test, &r2}, done);
  const std::string line = g.AddColumns({ranks,
                                         Reduce(train, done, false),
                                         Reduce(test, done, false),
                                         Reduce(r2, done, false)});
  std::string mark;
  if (chosen > 0)
    mark = "set arrow 1 from " + Num(chosen) + ", graph 0 to " + Num(chosen) +
           ", graph 1 nohead dt 2 lw 1.5 lc rgb \"#404040\"\n"
           "set label 1 " +
           Quote("chosen rank " + Fmt(chosen)) + " at " + Num(chosen) +
           ", graph 1.03 center font \",9\"\n";
  g.Add(Layout(
      1, 2, 1000, 420, "Rank sweep of the fitted RNN", 80, 55, 55, 20, 80, 10));
  g.Add(RankXRange(ranks) + mark);
  g.Add(
      "set xlabel \"rank\"\nset ylabel \"loss (MSE)\"\n"
      "plot " +
      pts + " using 1:2 with points pt 7 ps 0.6 lc 1 notitle, " + line +
      " using 1:2 with lines lc 1 title \"train\", " + pts +
      " using 1:3 with points pt 7 ps 0.6 lc 2 notitle, " + line +
      " using 1:3 with lines lc 2 title \"test\"");
  g.Add(
      "set ylabel \"test R²\"\nset key bottom right\n"
      "plot " +
      pts + " using 1:4 with points pt 7 ps 0.6 lc 3 notitle, " + line +
      " using 1:4 with lines lc 3 title \"test R² (mean)\"");
  ctx.Draw(g,
           "Train/test loss and R² vs rank",
           "Rank sweep: training and held-out loss (left) and held-out R² "
           "(right), one point per seed, lines through the mean" +
               (chosen > 0 ? "; chosen rank " + Fmt(chosen) : ""));
}

void TrialFactorsFigure(const Context& ctx, const Matrix& c) {
  const int rank = static_cast<int>(c.cols());
  TrialFactorFigure(ctx,
                    "fit_trial_factors_rank" + std::to_string(rank),
                    "Trial factors c[:, r] of the low-tensor-rank RNN",
                    {{"", c}},
                    "Trial factors of the fitted model",
                    "Trial factors of the fitted rank-" + std::to_string(rank) +
                        " model over trials");
}

void FitLossFigure(const Context& ctx, const PlotFitInput& f) {
  const Vector& loss = f.loss;
  const Vector& test = f.test_loss;
  GnuplotFigure g("fit_loss", 760, 440);
  const std::string block = g.AddColumns({Iota(loss.size()), loss, test});
  const bool positive = (loss.array() > 0).all();
  g.Add(std::string(positive ? "set logscale y\nset format y \"10^{%L}\"\n"
                             : "") +
        "set title \"fitting loss\"\nset xlabel \"iteration\"\n"
        "set ylabel \"loss\"\nplot " +
        block + " using 1:2 with lines lc 1 title \"training objective\", " +
        block +
        " using 1:3 with linespoints pt 7 ps 0.5 lc 2 title \"held-out "
        "loss\"");
  ctx.Draw(g,
           "Loss during the fit",
           "Training objective per L-BFGS iteration" +
               std::string((test.array().isFinite()).any()
                               ? " and held-out loss where evaluated"
                               : "") +
               (positive ? " (log scale)" : ""));
}

}  // namespace

void PlotModel(const Context& ctx) {
  const PlotFitInput f = ReadFitForPlot(ctx.path);
  if (f.cv) CvFigure(ctx, f);
  if (f.trial_factors) TrialFactorsFigure(ctx, *f.trial_factors);
  if (f.has_loss) FitLossFigure(ctx, f);
}

// The pipeline's summary: true and fitted trial factors, aligned.
void PlotComparison(const Context& ctx) {
  const PipelineSummaryFile summary = ReadPipelineSummary(ctx.path);
  const Matrix& truth = summary.true_trial_factors;
  const Matrix& fitted = summary.fitted_trial_factors;
  const int rank = static_cast<int>(truth.cols());
  TrialFactorFigure(
      ctx,
      "comparison_trial_factors_rank" + std::to_string(rank),
      "Trial factors of the weight update: true and fitted (aligned)",
      {{"true", truth}, {"fitted", fitted}},
      "True and fitted trial factors",
      "CP trial factors (scaled by their weights) of the true update "
      "W_k - W_0 (points) and of the fitted update (line), matched and "
      "sign-aligned; factor match score " +
          Fmt(summary.factor_match));
  if (summary.factor_match_by_rank.size() == 0) return;
  // Up to which CP rank the fitted update agrees with the truth, beside how
  // unique each CP decomposition is there.
  const Vector& match = summary.factor_match_by_rank;
  const Vector& true_stability = summary.true_cp_stability;
  const Vector& fitted_stability = summary.fitted_cp_stability;
  const Vector ranks = Vector::LinSpaced(match.size(), 1, match.size());
  GnuplotFigure g("comparison_by_rank", 760, 440);
  const std::string block =
      g.AddColumns({ranks, match, true_stability, fitted_stability});
  g.Add(RankXRange(ranks) +
        "set title \"Fitted against true update, by CP rank\"\n"
        "set xlabel \"CP rank\"\nset ylabel \"score\"\n"
        "set yrange [0:1.05]\nset key bottom left\n"
        "set arrow from graph 0, first 0.9 to graph 1, first 0.9 nohead "
        "dt 2 lc rgb \"#888888\"\n"
        "plot " +
        block +
        " using 1:2 with linespoints pt 7 ps 1 lw 2 lc 1 title \"factor "
        "match, fitted vs true\", " +
        block +
        " using 1:3 with linespoints pt 6 dt 2 lc 2 title \"true CP: "
        "restart similarity\", " +
        block +
        " using 1:4 with linespoints pt 4 dt 2 lc 3 title \"fitted CP: "
        "restart similarity\"");
  ctx.Draw(g,
           "Factor match by CP rank",
           "Factor match score of the best CP fits of the true and fitted "
           "update tensors at each rank (solid), and the smallest similarity "
           "of a CP restart to the best fit for each tensor (dashed; 0.9 "
           "line: unique); compared at rank " +
               std::to_string(summary.compare_rank));
}

}  // namespace ltr::plot

namespace ltr::plot {

// The pipeline's scores of its chosen fit: held-out R^2 per neuron, and the
// fitted trial factors per epoch or condition.
void PlotScores(const Context& ctx) {
  const PipelineScoresFile s = ReadPipelineScores(ctx.path);
  const Vector& r2 = s.test_r2_per_neuron;
  GnuplotFigure g("scores_r2_per_neuron", 900, 400);
  const std::string bars = g.AddColumns({Iota(r2.size()), r2});
  g.Add(
      "set title \"Held-out R^2 per neuron\"\nset xlabel \"neuron\"\n"
      "set ylabel \"held-out R^2\"\nset xrange [-1:" +
      Num(static_cast<double>(r2.size())) +
      "]\nset style fill solid 0.6\nset boxwidth 0.7\n"
      "set arrow from graph 0, first 0 to graph 1, first 0 nohead lc "
      "rgb \"#888888\"\n"
      "plot " +
      bars + " using 1:2 with boxes lc rgb \"#3b6ea8\" notitle");
  std::string caption =
      "Held-out R^2 of each neuron (1 - SS_res / SS_tot on "
      "its held-out entries); global " +
      Fmt(s.test_r2);
  if (std::isfinite(s.bits_per_spike))
    caption += "; held-out bits/spike " + Fmt(s.bits_per_spike) +
               " (per-condition PSTH baseline " + Fmt(s.psth_bits_per_spike) +
               ")";
  ctx.Draw(g, "Held-out R^2 per neuron", caption);

  // Every trial's factor (small points) and the group means (line), one
  // colour per component, the groups along x.
  const Index rank = s.trial_factors.cols();
  const std::vector<std::int64_t>& groups = s.groups;
  const std::vector<std::int64_t>& labels = s.labels;
  Vector x(s.trial_factors.rows());
  for (Index k = 0; k < x.size(); ++k)
    x(k) = static_cast<double>(std::find(groups.begin(),
                                         groups.end(),
                                         labels[static_cast<size_t>(k)]) -
                               groups.begin());
  Vector group_x = Iota(static_cast<Index>(groups.size()));
  GnuplotFigure f("scores_trial_factors_by_" + s.grouped_by, 900, 440);
  std::string plot = "plot ";
  for (Index r = 0; r < rank; ++r) {
    const Vector jitter =
        x.array() + 0.08 * (static_cast<double>(r) - 0.5 * (rank - 1.0));
    const std::string trials = f.AddColumns({jitter, s.trial_factors.col(r)});
    const std::string means = f.AddColumns({group_x, s.group_means.col(r)});
    plot += (r > 0 ? ", " : "") + trials +
            " using 1:2 with points pt 7 ps 0.4 lc " + std::to_string(r + 1) +
            " notitle, " + means +
            " using 1:2 with linespoints pt 7 ps 1.4 lw 2 lc " +
            std::to_string(r + 1) + " title \"c" + std::to_string(r + 1) +
            " mean\"";
  }
  std::string tics = "set xtics (";
  for (size_t i = 0; i < groups.size(); ++i)
    tics += (i > 0 ? ", " : "") + Quote(std::to_string(groups[i])) + " " +
            std::to_string(i);
  f.Add("set title \"Fitted trial factors by " + s.grouped_by +
        "\"\nset xlabel \"" + s.grouped_by +
        "\"\nset ylabel \"trial factor\"\n" + tics +
        ")\nset xrange [-0.5:" + Num(static_cast<double>(groups.size()) - 0.5) +
        "]\nset key outside\n" + plot);
  ctx.Draw(f,
           "Fitted trial factors by " + s.grouped_by,
           "CP trial factors (scaled by their weights) of the fitted weight "
           "update at rank " +
               std::to_string(rank) +
               ": every trial (points) and the mean per " + s.grouped_by +
               " (line)");
}

}  // namespace ltr::plot
