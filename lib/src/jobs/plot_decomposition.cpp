// Figures of a decomposition (/cp, /ensemble, /crossval): factor grids and
// rank plots.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "jobs/plot_common.h"
#include "ltr/core/error.h"

namespace ltr::plot {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

enum class Role { kBars, kLines, kScatter };

// How a mode is drawn, from its axis name (TCA: neurons as bars, time as a
// line, trials as a scatter; the post- and pre-synaptic modes of a weight
// tensor as bars) or, unnamed, from its position in a
// (trial, time, neuron) recording.
Role RoleOf(const std::string& axis, int mode) {
  const std::string a = Lower(axis);
  for (const char* s : {"neuron", "unit", "cell", "channel", "post", "pre"})
    if (a.find(s) != std::string::npos) return Role::kBars;
  for (const char* s : {"time", "bin"})
    if (a.find(s) != std::string::npos) return Role::kLines;
  for (const char* s : {"trial", "snapshot", "step", "epoch"})
    if (a.find(s) != std::string::npos) return Role::kScatter;
  return mode == 0 ? Role::kScatter : mode == 1 ? Role::kLines : Role::kBars;
}

// The TCA factor grid: one row per component, columns neuron (bars), time
// (line) and trial (scatter, coloured by epoch when labels are known).
void FactorGrid(const Context& ctx,
                const PlotKruskalInput& k,
                const std::string& stem,
                const std::string& title,
                const std::string& caption) {
  const int rank = static_cast<int>(k.weights.size());
  const int rows = std::min(rank, ctx.options.max_components);
  std::array<int, 3> order = {0, 1, 2};
  std::array<Role, 3> roles;
  for (int n = 0; n < 3; ++n) roles[n] = RoleOf(k.axes[n], n);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return static_cast<int>(roles[a]) < static_cast<int>(roles[b]);
  });
  const double dt = InputDt(ctx.path);

  const int width = 1000, height = 95 + 120 * rows;
  GnuplotFigure g(stem, width, height);
  std::array<std::string, 3> blocks;
  std::array<Epochs, 3> epochs;
  std::array<std::string, 3> xlabels;
  for (int n = 0; n < 3; ++n) {
    const Matrix& f = k.factors[n];
    Vector x = Iota(f.rows());
    xlabels[n] = k.axes[n];
    if (roles[n] == Role::kLines) {
      if (dt > 0) {
        x *= dt;
        xlabels[n] += " (s)";
      } else {
        xlabels[n] += " (bin)";
      }
    }
    std::vector<Vector> columns = {x};
    for (int r = 0; r < rows; ++r) columns.push_back(f.col(r));
    if (roles[n] == Role::kScatter) {
      epochs[n] = FindEpochs(ctx.options, ctx.path, f.rows());
      Vector lt = Vector::Ones(f.rows());
      for (size_t i = 0; i < epochs[n].size(); ++i)
        lt(static_cast<Index>(i)) =
            1.0 + static_cast<double>(((epochs[n][i] % 8) + 8) % 8);
      columns.push_back(lt);
    }
    blocks[n] = g.AddColumns(columns);
  }
  g.Add(Layout(rows, 3, width, height, title, 95, 50, 62, 20, 55, 10));
  g.Add("set ytics font \",8\"\nset xtics font \",8\"\nset format y \"%.2g\"");
  g.Add("set boxwidth 0.8 relative\nunset key");
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < 3; ++c) {
      const int n = order[c];
      const Matrix& f = k.factors[n];
      std::string s = YRange(f.leftCols(rows));
      s += "set xrange [" + Num(-0.5) + ":" + Num(f.rows() - 0.5) + "]\n";
      if (roles[n] == Role::kLines && dt > 0)
        s += "set xrange [0:" + Num((f.rows() - 1) * dt) + "]\n";
      s += r == 0 ? "set title " + Quote(k.axes[n] + " factor") + "\n"
                  : "unset title\n";
      s += r == rows - 1
               ? "set format x \"%g\"\nset xlabel " + Quote(xlabels[n]) + "\n"
               : "set format x \"\"\nunset xlabel\n";
      s += c == 0 ? "set ylabel " +
                        Quote("#" + std::to_string(r + 1) +
                              "  λ=" + Fmt(k.weights(r))) +
                        " font \",9\"\n"
                  : "unset ylabel\n";
      const std::string col = std::to_string(r + 2);
      const bool has_epochs = !epochs[n].empty();
      s += (has_epochs && r == 0)
               ? "set key horizontal maxrows 1 at screen 0.01, screen 0.99 "
                 "left top font \",9\"\n"
               : "unset key\n";
      s += "plot 0 with lines lc rgb \"#B0B0B0\" lw 0.8 notitle, ";
      switch (roles[n]) {
        case Role::kBars:
          s += blocks[n] + " using 1:" + col + " with boxes lc rgb \"" +
               kColors[0] + "\" notitle";
          break;
        case Role::kLines:
          s += blocks[n] + " using 1:" + col + " with lines lw 2 lc rgb \"" +
               kColors[0] + "\" notitle";
          break;
        case Role::kScatter:
          s += blocks[n] + " using 1:" + col + ":" + std::to_string(rows + 2) +
               " with points pt 7 ps 0.45 lc variable notitle";
          if (has_epochs && r == 0) s += KeyEntries(epochs[n]);
          break;
      }
      g.Add(s);
    }
  }
  std::string cap = caption;
  if (rows < rank)
    cap += "; first " + std::to_string(rows) + " of " + std::to_string(rank) +
           " components shown";
  ctx.Draw(g, title, cap);
}

void PlotCp(const Context& ctx, const PlotDecompositionInput& d) {
  const PlotKruskalInput& k = *d.cp;
  const int rank = static_cast<int>(k.weights.size());
  FactorGrid(ctx,
             k,
             "tca_factors_rank" + std::to_string(rank),
             "CP factors, rank " + std::to_string(rank),
             "CP decomposition (" + d.cp_method + "), rank " +
                 std::to_string(rank) + ", relative error " +
                 Fmt(d.cp_relative_error) +
                 ": neuron factors as bars, time factors as lines, trial "
                 "factors as points");
}

// The data blocks of a rank plot: every restart (points), and per rank the
// minimum (`best`) or mean of the first values and the mean of the second.
std::pair<std::string, std::string> RankGridBlocks(
    GnuplotFigure* g, const PlotRankGridInput& grid, bool best) {
  const std::string points =
      RankPoints(g, grid.ranks, {&grid.first, &grid.second}, grid.done);
  const std::string lines =
      g->AddColumns({grid.ranks,
                     Reduce(grid.first, grid.done, best),
                     Reduce(grid.second, grid.done, false)});
  return {points, lines};
}

// TCA's rank plot: every restart as a point.
void EnsembleRankFigure(const Context& ctx, const PlotRankGridInput& e) {
  const Vector& ranks = e.ranks;
  const Matrix& err = e.first;
  GnuplotFigure g("tca_rank_error_similarity", 1000, 440);
  const auto [pts, line] = RankGridBlocks(&g, e, true);
  g.Add(Layout(1,
               2,
               1000,
               440,
               "CP ensemble: error and similarity vs rank",
               70,
               55,
               75,
               20,
               80,
               10));
  g.Add(RankXRange(ranks));
  g.Add(
      "set xlabel \"rank\"\nset ylabel \"relative error ‖X − M‖/‖X‖\"\n"
      "set title \"reconstruction error\"\nset yrange [0:*]\n"
      "plot " +
      pts +
      " using 1:2 with points pt 7 ps 0.7 lc 1 title "
      "\"restart\", " +
      line + " using 1:2 with lines lw 1.5 lc rgb \"#404040\" title \"best\"");
  g.Add(
      "set ylabel \"similarity to best fit\"\nset title \"model "
      "similarity\"\nset yrange [0:1.05]\nset key bottom left\n"
      "plot " +
      pts +
      " using 1:3 with points pt 7 ps 0.7 lc 2 title "
      "\"restart\", " +
      line + " using 1:3 with lines lw 1.5 lc rgb \"#404040\" title \"mean\"");
  ctx.Draw(g,
           "Error and similarity vs rank",
           "CP ensemble over ranks " + Fmt(ranks.minCoeff()) + "-" +
               Fmt(ranks.maxCoeff()) + " x " + std::to_string(err.cols()) +
               " restarts: relative error (left) and factor similarity to "
               "the best fit of each rank (right), one point per restart");
}

// Factor grids of the best restart of each (requested) rank.
void EnsembleFactorGrids(const Context& ctx, const PlotDecompositionInput& d) {
  const PlotRankGridInput& e = *d.ensemble;
  const Vector& ranks = e.ranks;
  std::vector<int> wanted = ctx.options.ranks;
  if (wanted.empty())
    for (Index r = 0; r < ranks.size(); ++r)
      wanted.push_back(static_cast<int>(ranks(r)));
  for (int rank : wanted) {
    Index r = 0;
    while (r < ranks.size() && ranks(r) != rank) ++r;
    if (r == ranks.size())
      throw Error("rank " + std::to_string(rank) +
                  " is not in the ensemble "
                  "of '" +
                  ctx.path + "'");
    const Index best = d.ensemble_best[static_cast<size_t>(r)];
    const auto& fit = d.ensemble_best_fit[static_cast<size_t>(r)];
    if (best < 0 || !fit) continue;  // no fit of this rank finished
    const std::string restarts = std::to_string(e.first.cols());
    FactorGrid(ctx,
               *fit,
               "tca_ensemble_rank" + std::to_string(rank) + "_factors",
               "CP factors, rank " + std::to_string(rank) + " (best of " +
                   restarts + " restarts)",
               "Best of " + restarts + " restarts at rank " +
                   std::to_string(rank) + ", relative error " +
                   Fmt(e.first(r, best)) +
                   ": neuron factors as bars, time factors as lines, trial "
                   "factors as points");
  }
}

void CrossvalFigure(const Context& ctx, const PlotDecompositionInput& d) {
  GnuplotFigure g("tca_cv_error_rank", 640, 440);
  const auto [pts, line] = RankGridBlocks(&g, *d.crossval, false);
  g.Add(RankXRange(d.crossval->ranks));
  g.Add(
      "set title \"cross-validated CP error\"\nset xlabel \"rank\"\n"
      "set ylabel \"relative error\"\nset yrange [0:*]\n"
      "plot " +
      pts + " using 1:2 with points pt 7 ps 0.6 lc 1 notitle, " + line +
      " using 1:2 with lines lc 1 title \"train\", " + pts +
      " using 1:3 with points pt 7 ps 0.6 lc 2 notitle, " + line +
      " using 1:3 with lines lc 2 title \"test (held out)\"");
  ctx.Draw(g,
           "Cross-validated error vs rank",
           "CP relative error on training and held-out entries (" +
               Fmt(100 * d.crossval_test_fraction) +
               " % held out), one point per restart, "
               "lines through the mean");
}

}  // namespace

void PlotDecomposition(const Context& ctx) {
  const PlotDecompositionInput d = ReadDecompositionForPlot(ctx.path);
  if (d.cp) PlotCp(ctx, d);
  if (d.ensemble) {
    EnsembleRankFigure(ctx, *d.ensemble);
    EnsembleFactorGrids(ctx, d);
  }
  if (d.crossval) CrossvalFigure(ctx, d);
}

}  // namespace ltr::plot
