// Figures of the tables of `ltr bounds` and `ltr theory linear`.
#include <algorithm>
#include <cmath>

#include "jobs/plot_common.h"
#include "ltr/core/error.h"
#include "ltr/formats/table_file.h"

namespace ltr::plot {

void PlotBounds(const Context& ctx) {
  const BoundsTableFile file = ReadBounds(ctx.path);
  const ColumnTable& table = file.table;
  const Matrix& t = table.values;
  const std::string& where = table.where;
  const Index c_bound = table.Column("bound");
  const Index c_hold = table.Column("hypotheses_hold");
  const Index c_value = table.Column("bound_value");
  const Index c_meas = table.Column("measured");
  const std::vector<std::string>& names = file.bounds;
  const std::vector<std::string>& cases = file.cases;

  // One dataset per bound kind (blank-line separated, `index i`), columns
  // bound, measured, filled (1 where the hypotheses hold).
  std::vector<std::string> per_bound(names.size());
  int shown = 0, exceed = 0, skipped = 0;
  double hi = 1.0;
  for (Index i = 0; i < t.rows(); ++i) {
    const auto b = static_cast<size_t>(t(i, c_bound));
    if (b >= names.size()) continue;
    const double v = t(i, c_value), m = t(i, c_meas);
    if (!(v > 0) || !(m > 0) || !std::isfinite(v) || !std::isfinite(m)) {
      ++skipped;
      continue;
    }
    ++shown;
    const bool hold = t(i, c_hold) != 0;
    if (hold && m > v) ++exceed;
    hi = std::max({hi, v, m});
    per_bound[b] += Num(v) + " " + Num(m) + " " + (hold ? "1" : "0") + "\n";
  }
  if (shown == 0)
    throw Error(where + ": no row with a bound and a measured value");
  std::string lines;
  std::vector<size_t> present;
  for (size_t b = 0; b < names.size(); ++b) {
    if (per_bound[b].empty()) continue;
    lines += per_bound[b] + "\n\n";
    present.push_back(b);
  }
  GnuplotFigure g("bounds_measured_vs_bound", 820, 560);
  const std::string block = g.AddLines(lines);
  std::string s =
      "set logscale xy 2\nset xrange [0.7:" + Num(hi * 1.6) +
      "]\nset yrange [0.7:" + Num(hi * 1.6) +
      "]\nset size ratio -1\nset title \"rank bounds beside measured ranks\"\n"
      "set xlabel \"bound (rank)\"\nset ylabel \"measured (rank)\"\n"
      "set key outside right top\nplot x with lines dt 2 lc rgb \"#808080\" "
      "title \"measured = bound\"";
  static const int kPointTypes[] = {7, 5, 9, 11, 13, 15};  // filled shapes
  for (size_t i = 0; i < present.size(); ++i) {
    const std::string lc = "lc " + std::to_string(i % kColors.size() + 1);
    const std::string pt = std::to_string(kPointTypes[i % 6]);
    const std::string pt_open = std::to_string(kPointTypes[i % 6] - 1);
    const std::string idx = " index " + std::to_string(i);
    // Key entries of their own: gnuplot drops the title of a plot whose
    // points are all missing (every row of a kind filled, or none).
    s += ", " + block + idx + " using 1:($3 > 0 ? $2 : NaN) with points pt " +
         pt + " ps 1.1 " + lc + " notitle, " + block + idx +
         " using 1:($3 > 0 ? NaN : $2) with points pt " + pt_open + " ps 1.1 " +
         lc + " notitle, keyentry with points pt " + pt + " ps 1.1 " + lc +
         " title " + Quote(names[present[i]]);
  }
  s += ", keyentry with points pt 6 ps 1.1 lc rgb \"#606060\" title "
       "\"open: hypotheses fail\"";
  g.Add(s);
  std::string cap =
      std::to_string(shown) + " bounds over " + std::to_string(cases.size()) +
      " case(s), measured against the bound (filled: "
      "hypotheses hold; below the diagonal the bound is met); " +
      std::to_string(exceed) + " measured above a bound whose hypotheses hold";
  if (skipped) cap += "; " + std::to_string(skipped) + " rows without a value";
  ctx.Draw(g, "Bounds vs measured ranks", cap);
}

void PlotTheory(const Context& ctx) {
  const ColumnTable table = ReadLinearTheory(ctx.path).table;
  const Matrix& t = table.values;
  const std::vector<std::string>& columns = table.columns;
  const std::string& where = table.where;
  const Index c_g = table.Column("g");
  // Every X_pred with its measurements X*_meas, plotted against g.
  struct Panel {
    std::string name;
    Index pred;
    std::vector<Index> meas;
  };
  std::vector<Panel> panels;
  for (Index c = 0; c < static_cast<Index>(columns.size()); ++c) {
    const std::string& name = columns[c];
    const size_t at = name.rfind("_pred");
    if (at == std::string::npos || at + 5 != name.size()) continue;
    Panel p{name.substr(0, at), c, {}};
    for (Index m = 0; m < static_cast<Index>(columns.size()); ++m) {
      const std::string& cm = columns[m];
      if (cm.size() > 5 && cm.compare(cm.size() - 5, 5, "_meas") == 0 &&
          cm.compare(0, p.name.size() + 1, p.name + "_") == 0)
        p.meas.push_back(m);
    }
    if (!p.meas.empty()) panels.push_back(p);
  }
  if (panels.empty())
    throw Error(where + ": no predicted/measured column pairs");
  const int cols = 3;
  const int rows = static_cast<int>((panels.size() + cols - 1) / cols);
  const int width = 1050, height = 90 + 300 * rows;
  GnuplotFigure g("theory_linear_pred_vs_measured", width, height);
  std::vector<Vector> data;
  for (Index c = 0; c < t.cols(); ++c) data.push_back(t.col(c));
  // Sorted by g so prediction lines run left to right.
  std::vector<Index> order(t.rows());
  for (Index i = 0; i < t.rows(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) {
    return t(a, c_g) < t(b, c_g);
  });
  for (Vector& v : data) {
    Vector sorted(v.size());
    for (Index i = 0; i < v.size(); ++i) sorted(i) = v(order[i]);
    v = sorted;
  }
  const std::string block = g.AddColumns(data);
  g.Add(Layout(rows,
               cols,
               width,
               height,
               "Linear theory: prediction vs gradient descent",
               70,
               50,
               60,
               20,
               70,
               100));
  const double g_lo = t.col(c_g).minCoeff(), g_hi = t.col(c_g).maxCoeff();
  const double pad = 0.04 * std::max(g_hi - g_lo, 0.1);
  g.Add(
      "set xlabel \"g (gain of W_0)\"\nset key top left font \",8\"\n"
      "set xrange [" +
      Num(g_lo - pad) + ":" + Num(g_hi + pad) + "]");
  for (size_t pi = 0; pi < panels.size(); ++pi) {
    const Panel& p = panels[pi];
    std::string name = p.name;
    std::replace(name.begin(), name.end(), '_', ' ');
    std::string s = "set title " + Quote(name) + "\n";
    s += (pi == 0 || p.meas.size() > 1) ? "set key\n" : "unset key\n";
    s += "plot " + block + " using " + std::to_string(c_g + 1) + ":" +
         std::to_string(p.pred + 1) +
         " with lines lw 2 lc rgb \"#404040\" title \"theory\"";
    for (size_t i = 0; i < p.meas.size(); ++i) {
      std::string label = columns[p.meas[i]];
      label = label.substr(p.name.size() + 1);
      s += ", " + block + " using " + std::to_string(c_g + 1) + ":" +
           std::to_string(p.meas[i] + 1) + " with points pt 7 ps 0.8 lc " +
           std::to_string(i + 1) + " title " +
           Quote(label == "meas" ? "simulation" : label);
    }
    g.Add(s);
  }
  ctx.Draw(g,
           "Linear theory vs simulation",
           "Large-N predictions (lines) beside gradient descent (points) "
           "over the gain g, " +
               std::to_string(panels.size()) + " quantities, " +
               std::to_string(t.rows()) + " gains");
}

}  // namespace ltr::plot
