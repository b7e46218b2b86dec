// Figures of a learning trajectory (/loss, /weights) and of its analysis
// (`ltr analyze`).
#include <cmath>

#include "jobs/plot_common.h"
#include "ltr/core/error.h"
#include "ltr/formats/analysis_file.h"
#include "ltr/theory/analyze.h"

namespace ltr::plot {
namespace {

template <typename T>
Vector AsVector(const std::vector<T>& v) {
  Vector out(static_cast<Index>(v.size()));
  for (size_t i = 0; i < v.size(); ++i)
    out(static_cast<Index>(i)) = static_cast<double>(v[i]);
  return out;
}

// Top-k singular values (columns of `sv`, descending) over training.
void SingularValueFigure(const Context& ctx,
                         const std::string& stem,
                         const Vector& x,
                         const std::string& xlabel,
                         const Matrix& sv,
                         const std::string& caption,
                         const Epochs& epochs = {}) {
  const int k = static_cast<int>(
      std::min<Index>(sv.cols(), ctx.options.max_singular_values));
  GnuplotFigure g(stem, 860, 480);
  std::vector<Vector> columns = {x};
  for (int i = 0; i < k; ++i) columns.push_back(sv.col(i));
  const std::string block = g.AddColumns(columns);
  std::string s = EpochShading(epochs, true) +
                  "set title \"singular values of ΔW = W_k − W_0\" offset 0,1\n"
                  "set xlabel " +
                  Quote(xlabel) +
                  "\nset ylabel \"singular value\"\n"
                  "set key outside right top\nset yrange [0:*]\nplot ";
  for (int i = 0; i < k; ++i)
    s += (i ? ", " : "") + block + " using 1:" + std::to_string(i + 2) +
         " with lines lw 1.8 lc rgb \"" +
         SequentialColor(k > 1 ? static_cast<double>(i) / (k - 1) : 0.0) +
         "\" title \"σ_{" + std::to_string(i + 1) + "}\"";
  g.Add(s);
  ctx.Draw(g,
           "Singular values of ΔW over training",
           caption + "; the largest " + std::to_string(k) + " of " +
               std::to_string(sv.cols()) + " shown" +
               (epochs.empty() ? "" : "; learning epochs shaded"));
}

void LossFigure(const Context& ctx, const PlotTrajectoryInput& t) {
  const Vector& loss = *t.loss;
  const bool grad = t.grad_norm.has_value();
  const Vector gn = grad ? *t.grad_norm : Vector();
  const int panels = grad && gn.size() == loss.size() ? 2 : 1;
  // Adaptation runs record one step per trial with an /epoch per trial.
  const std::string& axis = t.loss_axis;
  const std::string xlabel =
      axis.empty() || axis == "step" ? "optimiser step" : axis;
  Epochs epochs = t.epoch;
  if (static_cast<Index>(epochs.size()) != loss.size()) epochs.clear();
  GnuplotFigure g("train_loss", 1000, 420);
  const std::string block = g.AddColumns(
      panels == 2 ? std::vector<Vector>{Iota(loss.size()), loss, gn}
                  : std::vector<Vector>{Iota(loss.size()), loss});
  g.Add(Layout(1, panels, 1000, 420, "Training", 80, 55, 80, 20, 90, 10));
  const bool positive = loss.size() > 0 && (loss.array() > 0).all();
  g.Add(std::string(positive ? "set logscale y\nset format y \"10^{%L}\"\n"
                             : "") +
        EpochShading(epochs, true) + "set xlabel " + Quote(xlabel) +
        "\nset ylabel \"training loss\"\n"
        "set title \"loss\" offset 0,0.8\nunset key\nplot " +
        block + " using 1:2 with lines lc 1 notitle");
  if (panels == 2)
    g.Add(
        "set ylabel \"‖∇L‖\"\nset title \"gradient norm\" offset 0,0.8\n"
        "plot " +
        block + " using 1:3 with lines lc 2 notitle");
  ctx.Draw(g,
           "Training loss",
           "Training loss of every optimiser step" +
               std::string(positive ? " (log scale)" : "") +
               (panels == 2 ? " and the gradient norm" : "") +
               (epochs.empty() ? "" : ", learning epochs shaded") +
               "; final "
               "loss " +
               Fmt(loss.size() ? loss(loss.size() - 1) : 0.0));
}

// The singular values of W_k - W_0 over the snapshots, computed as
// `ltr analyze` computes them (DeltaWSingularValues).
void DeltaWFigure(const Context& ctx, const PlotTrajectoryInput& t) {
  const Tensor3& w = *t.weights;
  const Index snapshots = w.dim(0), n = w.dim(1);
  const Matrix sv = DeltaWSingularValues(w, ctx.options.run);
  Vector x = Iota(snapshots);
  std::string xlabel = "snapshot";
  Epochs epochs;
  if (t.step && t.step->size() == snapshots) {
    const Vector& step = *t.step;
    x = step;
    const std::string& axis = t.step_axis;
    xlabel = axis.empty() || axis == "snapshot" ? "optimiser step" : axis;
    // One snapshot per trial (adaptation): shade the trials' epochs.
    if (step == Iota(snapshots) && !t.epoch.empty()) {
      epochs = t.epoch;
      if (static_cast<Index>(epochs.size()) != snapshots) epochs.clear();
    }
  }
  SingularValueFigure(ctx,
                      "train_delta_w_singular_values",
                      x,
                      xlabel,
                      sv,
                      "Singular values of W_k − W_0 (" + std::to_string(n) +
                          " units) at each of " + std::to_string(snapshots) +
                          " snapshots",
                      epochs);
}

// What dW shares with W0: the overlap of each leading singular vector with
// the propagated input/output subspace, beside the shuffled-W0 control.
void IoOverlapFigure(const Context& ctx, const IoOverlap& o) {
  const Vector r = Iota(static_cast<Index>(o.left.size()), 1.0);
  GnuplotFigure g("analysis_io_overlap", 760, 460);
  const std::string block = g.AddColumns({r,
                                          AsVector(o.left),
                                          AsVector(o.right),
                                          AsVector(o.left_shuffled),
                                          AsVector(o.right_shuffled)});
  g.Add(RankXRange(r) +
        "set title \"ΔW's singular vectors in the span of W_0^k W_{in}, "
        "(W_0^T)^k W_{out}, k < " +
        std::to_string(o.depth) +
        "\"\n"
        "set xlabel \"singular vector r of ΔW\"\n"
        "set ylabel \"squared overlap ‖P x_r‖^2\"\nset yrange [0:1.05]\n"
        "plot " +
        block + " using 1:2 with linespoints pt 7 ps 0.7 lc 1 title \"u_r\", " +
        block + " using 1:3 with linespoints pt 5 ps 0.7 lc 2 title \"v_r\", " +
        block +
        " using 1:4 with linespoints pt 6 ps 0.7 dt 2 lc 1 "
        "title \"u_r, shuffled W_0\", " +
        block +
        " using 1:5 with linespoints pt 4 ps 0.7 dt 2 lc 2 "
        "title \"v_r, shuffled W_0\"");
  ctx.Draw(g,
           "Overlap of ΔW with the propagated inputs and outputs",
           "Squared overlap of ΔW's leading singular vectors with the input "
           "and output vectors propagated through W_0 (dimension " +
               std::to_string(o.subspace_dim) +
               "), solid, and through a "
               "shuffled W_0, dashed; weighted overlap " +
               Fmt(o.overlap) + " vs " + Fmt(o.overlap_shuffled));
}

}  // namespace

void PlotTrajectory(const Context& ctx) {
  const PlotTrajectoryInput t = ReadTrajectoryForPlot(ctx.path);
  if (t.loss) LossFigure(ctx, t);
  if (t.weights) DeltaWFigure(ctx, t);
}

void PlotAnalysis(const Context& ctx) {
  const TrajectoryAnalysis a = ReadAnalysis(ctx.path);
  if (a.singular_values.size() > 0) {
    const Matrix& sv = a.singular_values;
    SingularValueFigure(ctx,
                        "analysis_delta_w_singular_values",
                        Iota(sv.rows()),
                        "snapshot",
                        sv,
                        "Singular values of W_k − W_0 at each of " +
                            std::to_string(sv.rows()) + " snapshots");
  }
  if (!a.truncation_loss.empty()) {
    const Vector ranks = AsVector(a.truncation_ranks);
    const Vector loss = AsVector(a.truncation_loss);
    const double functional = a.functional_rank;
    const double full = a.test_loss;
    GnuplotFigure g("analysis_truncation_loss", 760, 460);
    const std::string block = g.AddColumns({ranks, loss});
    const bool positive = (loss.array() > 0).all();
    std::string s =
        positive ? "set logscale y\nset format y \"10^{%L}\"\n" : "";
    s += "set title \"loss of W_0 + rank-R truncation of ΔW\"\n"
         "set xlabel \"rank R of the truncation\"\nset ylabel \"test loss\"\n"
         "set xrange [" +
         Num(ranks.minCoeff() - 0.5) + ":" + Num(ranks.maxCoeff() + 0.5) +
         "]\n";
    if (functional >= 0)
      s += "set arrow 1 from " + Num(functional) + ", graph 0 to " +
           Num(functional) +
           ", graph 1 nohead dt 2 lw 1.5 lc rgb "
           "\"#404040\"\nset label 1 " +
           Quote("functional rank " + Fmt(functional)) + " at " +
           Num(functional) +
           ", graph 1.03 center font \",9\"\n"
           "set title offset 0,1\n";
    s += "plot " + block +
         " using 1:2 with linespoints pt 7 ps 0.7 lc 1 title \"truncated\"";
    if (std::isfinite(full) && (!positive || full > 0))
      s += ", " + Num(full) +
           " with lines dt 3 lc rgb \"#404040\" title \"full ΔW\"";
    g.Add(s);
    ctx.Draw(
        g,
        "Truncation loss vs rank",
        "Test loss of W_0 plus the rank-R truncation of the final ΔW" +
            (functional >= 0 ? "; functional rank " + Fmt(functional)
                             : std::string("; no rank met the functional-rank "
                                           "criterion")));
  }
  if (!a.io_overlap.left.empty()) IoOverlapFigure(ctx, a.io_overlap);
  if (!a.cp_relative_error.empty()) {
    const Vector ranks = AsVector(a.cp_ranks);
    const Vector err = AsVector(a.cp_relative_error);
    GnuplotFigure g("analysis_update_tensor_cp_error", 700, 440);
    const std::string block = g.AddColumns({ranks, err});
    g.Add(RankXRange(ranks) +
          "set title \"CP of the update tensor [W_k − W_0]\"\n"
          "set xlabel \"CP rank\"\nset ylabel \"relative error\"\n"
          "set yrange [0:*]\nunset key\nplot " +
          block + " using 1:2 with linespoints pt 7 ps 0.8 lc 1 notitle");
    ctx.Draw(g,
             "Update-tensor CP error vs rank",
             "Best CP relative error of the stacked updates [W_k − W_0] per "
             "rank");
  }
}

}  // namespace ltr::plot
