// Figures of ltr outputs (plot.h). This file decides what to draw from the
// datasets of a file and lays the figures out; plot_gnuplot.cpp turns them
// into PNG and SVG through gnuplot.
#include "ltr/jobs/plot.h"

#include <Eigen/SVD>
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <sstream>

#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/recording.h"
#include "core/parallel.h"
#include "jobs/plot_gnuplot.h"

namespace ltr {

bool PlotOptions::IsValid(std::string* error) const {
  if (output_dir.empty()) {
    *error = "the output directory is empty";
    return false;
  }
  if (gnuplot.empty()) {
    *error = "the gnuplot executable is empty";
    return false;
  }
  if (!png && !svg) {
    *error = "neither PNG nor SVG requested";
    return false;
  }
  if (prefix.find('/') != std::string::npos) {
    *error = "the file name prefix contains '/'";
    return false;
  }
  for (int r : ranks)
    if (r < 1) {
      *error = "ranks must be >= 1";
      return false;
    }
  if (max_components < 1 || max_singular_values < 1 || num_threads < 1) {
    *error = "max_components, max_singular_values and num_threads must be >= 1";
    return false;
  }
  return true;
}

namespace plot {
namespace {

namespace fs = std::filesystem;
using Epochs = std::vector<std::int64_t>;

std::string Fmt(double x, int digits = 3) {
  std::ostringstream s;
  s.precision(digits);
  s << x;
  return s.str();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

Vector Iota(Index n, double start = 0.0) {
  Vector v(n);
  for (Index i = 0; i < n; ++i) v(i) = start + static_cast<double>(i);
  return v;
}

Vector ToVector(const std::vector<std::int64_t>& v) {
  Vector out(static_cast<Index>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) out(static_cast<Index>(i)) = v[i];
  return out;
}

std::string StringAttribute(const std::string& file,
                            const std::string& object,
                            const std::string& name) {
  return io::HasAttribute(file, object, name)
             ? io::ReadStringAttribute(file, object, name)
             : "";
}

double DoubleAttribute(const std::string& file,
                       const std::string& object,
                       const std::string& name,
                       double fallback) {
  return io::HasAttribute(file, object, name)
             ? io::ReadDoubleAttribute(file, object, name)
             : fallback;
}

std::string EpochName(std::int64_t e) {
  switch (e) {
    case 0:
      return "baseline";
    case 1:
      return "adaptation";
    case 2:
      return "washout";
    default:
      return "epoch " + std::to_string(e);
  }
}

// The recording a result was computed from (its root attribute `input`),
// looked up as written and beside the result; "" when not found.
std::string InputRecording(const std::string& path) {
  const std::string input = StringAttribute(path, "/", "input");
  if (input.empty()) return "";
  for (const fs::path& candidate :
       {fs::path(input), fs::path(path).parent_path() / input}) {
    std::error_code ec;
    if (!fs::is_regular_file(candidate, ec)) continue;
    try {
      io::CheckReadable(candidate.string());
      return candidate.string();
    } catch (const Error&) {
    }
  }
  return "";
}

// Epoch labels of `trials` trials: from --epochs (which must fit), else
// /epoch of the file, else of its input recording (used when they fit).
Epochs FindEpochs(const PlotOptions& options,
                  const std::string& path,
                  Index trials) {
  if (!options.epochs_file.empty()) {
    const std::string& f = options.epochs_file;
    io::CheckReadable(f);
    if (!io::HasDataset(f, "/epoch"))
      throw Error("epochs file '" + f + "' has no dataset '/epoch'");
    Epochs e = io::ReadIntVector(f, "/epoch");
    if (static_cast<Index>(e.size()) != trials)
      throw Error("epochs file '" + f + "': /epoch has " +
                  std::to_string(e.size()) + " labels but '" + path + "' has " +
                  std::to_string(trials) + " trials");
    return e;
  }
  for (const std::string& f : {path, InputRecording(path)}) {
    if (f.empty() || !io::HasDataset(f, "/epoch")) continue;
    Epochs e = io::ReadIntVector(f, "/epoch");
    if (static_cast<Index>(e.size()) == trials) return e;
  }
  return {};
}

// Contiguous runs of one epoch label: (first trial, end trial, label).
struct Segment {
  Index begin, end;
  std::int64_t epoch;
};
std::vector<Segment> Segments(const Epochs& epochs) {
  std::vector<Segment> s;
  for (Index i = 0; i < static_cast<Index>(epochs.size()); ++i) {
    if (s.empty() || s.back().epoch != epochs[i])
      s.push_back({i, i + 1, epochs[i]});
    else
      s.back().end = i + 1;
  }
  return s;
}

std::string ColorOf(std::int64_t k, const std::vector<std::string>& colors) {
  const auto n = static_cast<std::int64_t>(colors.size());
  return colors[static_cast<size_t>(((k % n) + n) % n)];
}

// Light rectangles behind a panel, one per epoch run, labelled when asked.
std::string EpochShading(const Epochs& epochs, bool labels) {
  std::string s = "unset object\nunset label\n";
  int id = 1;
  for (const Segment& g : Segments(epochs)) {
    s += "set object " + std::to_string(id++) + " rect from " +
         Num(g.begin - 0.5) + ", graph 0 to " + Num(g.end - 0.5) +
         ", graph 1 behind fc rgb \"" + ColorOf(g.epoch, kLightColors) +
         "\" fs solid 1.0 noborder\n";
    if (labels)
      s += "set label " + Quote(EpochName(g.epoch)) + " at " +
           Num(0.5 * (g.begin + g.end - 1)) +
           ", graph 1.06 center font \",8\" tc rgb \"#505050\"\n";
  }
  return s;
}

std::string KeyEntries(const Epochs& epochs) {
  std::vector<std::int64_t> labels(epochs.begin(), epochs.end());
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  std::string s;
  for (std::int64_t e : labels)
    s += ", keyentry with points pt 7 ps 0.8 lc rgb \"" + ColorOf(e, kColors) +
         "\" title " + Quote(EpochName(e));
  return s;
}

// Y range [lo, hi] over finite values, including 0, padded by 5 %.
std::string YRange(const Matrix& m) {
  double lo = 0.0, hi = 0.0;
  for (Index i = 0; i < m.size(); ++i)
    if (std::isfinite(m.data()[i])) {
      lo = std::min(lo, m.data()[i]);
      hi = std::max(hi, m.data()[i]);
    }
  if (hi - lo <= 0) hi = lo + 1;
  const double pad = 0.05 * (hi - lo);
  return "set yrange [" + Num(lo - pad) + ":" + Num(hi + pad) + "]\n";
}

// Multiplot of `rows` x `cols` panels with fixed pixel margins, so panels
// line up whatever their labels.
std::string Layout(int rows,
                   int cols,
                   int width,
                   int height,
                   const std::string& title,
                   int left = 70,
                   int bottom = 50,
                   int top = 55,
                   int right = 20,
                   int xspace = 60,
                   int yspace = 12) {
  const auto fx = [&](int px) { return Num(static_cast<double>(px) / width); };
  const auto fy = [&](int px) { return Num(static_cast<double>(px) / height); };
  return "set multiplot layout " + std::to_string(rows) + "," +
         std::to_string(cols) + " title " + Quote(title) +
         " font \",12\" margins " + fx(left) + "," + fx(width - right) + "," +
         fy(bottom) + "," + fy(height - top) + " spacing " + fx(xspace) + "," +
         fy(yspace) + "\n";
}

struct Context {
  const PlotOptions& options;
  const std::string& path;
  std::vector<Figure>* figures;

  void Draw(const GnuplotFigure& g,
            const std::string& title,
            const std::string& caption) const {
    figures->push_back(Render(options, g, title, caption));
  }
};

// ---------------------------------------------------------------------------
// Decompositions

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

struct KruskalFactors {
  Vector weights;
  std::array<Matrix, 3> factors;
  std::array<std::string, 3> axes;  // axis name of each mode
};

KruskalFactors ReadKruskal(const std::string& path, const std::string& group) {
  KruskalFactors k;
  k.weights = io::ReadVector(path, group + "/weights");
  for (int n = 0; n < 3; ++n) {
    const std::string ds = group + "/factors/" + std::to_string(n);
    k.factors[n] = io::ReadMatrix(path, ds);
    if (k.factors[n].cols() != k.weights.size())
      throw Error("'" + path + "': " + ds + " has " +
                  std::to_string(k.factors[n].cols()) + " columns but " +
                  group + "/weights has " + std::to_string(k.weights.size()));
    const std::string axes = StringAttribute(path, ds, "axes");
    k.axes[n] = axes.empty() ? "mode" + std::to_string(n) : Split(axes, ',')[0];
  }
  return k;
}

// Seconds per time bin of the decomposed recording, 0 when unknown.
double InputDt(const std::string& path) {
  const std::string input = InputRecording(path);
  if (input.empty()) return 0.0;
  return DoubleAttribute(input, "/", "dt", 0.0);
}

// The TCA factor grid: one row per component, columns neuron (bars), time
// (line) and trial (scatter, coloured by epoch when labels are known).
void FactorGrid(const Context& ctx,
                const KruskalFactors& k,
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

// Points of a (rank, restart) grid with a small horizontal jitter so that
// restarts do not hide each other; NaN where `done` is 0.
std::string RankPoints(GnuplotFigure* g,
                       const Vector& ranks,
                       const std::vector<const Matrix*>& values,
                       const Matrix& done) {
  const Index restarts = values[0]->cols();
  std::vector<Vector> cols(values.size() + 1, Vector(ranks.size() * restarts));
  for (Index r = 0; r < ranks.size(); ++r)
    for (Index k = 0; k < restarts; ++k) {
      const Index i = r * restarts + k;
      const double jitter =
          restarts > 1 ? 0.16 * (static_cast<double>(k) / (restarts - 1) - 0.5)
                       : 0.0;
      cols[0](i) = ranks(r) + jitter;
      for (size_t v = 0; v < values.size(); ++v)
        cols[v + 1](i) = done(r, k) != 0
                             ? (*values[v])(r, k)
                             : std::numeric_limits<double>::quiet_NaN();
    }
  return g->AddColumns(cols);
}

// Per rank, the minimum or mean over done restarts (NaN when none).
Vector Reduce(const Matrix& m, const Matrix& done, bool minimum) {
  Vector out(m.rows());
  for (Index r = 0; r < m.rows(); ++r) {
    double acc = minimum ? std::numeric_limits<double>::infinity() : 0.0;
    int n = 0;
    for (Index k = 0; k < m.cols(); ++k) {
      if (done(r, k) == 0 || !std::isfinite(m(r, k))) continue;
      acc = minimum ? std::min(acc, m(r, k)) : acc + m(r, k);
      ++n;
    }
    out(r) = n == 0 ? std::numeric_limits<double>::quiet_NaN()
                    : (minimum ? acc : acc / n);
  }
  return out;
}

Matrix DoneMask(const std::string& path,
                const std::string& group,
                const Matrix& like) {
  const std::string ds = group + "/done";
  if (!io::HasDataset(path, ds)) return Matrix::Ones(like.rows(), like.cols());
  Matrix done = io::ReadMatrix(path, ds);
  if (done.rows() != like.rows() || done.cols() != like.cols())
    throw Error("'" + path + "': " + ds + " does not match its grid's shape");
  return done;
}

std::string RankXRange(const Vector& ranks) {
  return "set xrange [" + Num(ranks.minCoeff() - 0.5) + ":" +
         Num(ranks.maxCoeff() + 0.5) + "]\nset xtics 1\n";
}

void PlotDecomposition(const Context& ctx) {
  const std::string& path = ctx.path;
  if (io::HasDataset(path, "/cp/weights")) {
    const KruskalFactors k = ReadKruskal(path, "/cp");
    const int rank = static_cast<int>(k.weights.size());
    const double err =
        DoubleAttribute(path, "/cp", "relative_error", std::nan(""));
    FactorGrid(ctx,
               k,
               "tca_factors_rank" + std::to_string(rank),
               "CP factors, rank " + std::to_string(rank),
               "CP decomposition (" + StringAttribute(path, "/cp", "method") +
                   "), rank " + std::to_string(rank) + ", relative error " +
                   Fmt(err) +
                   ": neuron factors as bars, time factors as lines, trial "
                   "factors as points");
  }
  if (io::HasDataset(path, "/ensemble/ranks")) {
    const Vector ranks = ToVector(io::ReadIntVector(path, "/ensemble/ranks"));
    const Matrix err = io::ReadMatrix(path, "/ensemble/relative_error");
    const Matrix sim = io::ReadMatrix(path, "/ensemble/similarity");
    if (err.rows() != ranks.size() || sim.rows() != err.rows() ||
        sim.cols() != err.cols())
      throw Error("'" + path +
                  "': /ensemble/relative_error and /similarity do not match "
                  "/ensemble/ranks");
    const Matrix done = DoneMask(path, "/ensemble", err);

    // TCA's rank plot: every restart as a point.
    GnuplotFigure g("tca_rank_error_similarity", 1000, 440);
    const std::string pts = RankPoints(&g, ranks, {&err, &sim}, done);
    const std::string line = g.AddColumns(
        {ranks, Reduce(err, done, true), Reduce(sim, done, false)});
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
        line +
        " using 1:2 with lines lw 1.5 lc rgb \"#404040\" title \"best\"");
    g.Add(
        "set ylabel \"similarity to best fit\"\nset title \"model "
        "similarity\"\nset yrange [0:1.05]\nset key bottom left\n"
        "plot " +
        pts +
        " using 1:3 with points pt 7 ps 0.7 lc 2 title "
        "\"restart\", " +
        line +
        " using 1:3 with lines lw 1.5 lc rgb \"#404040\" title \"mean\"");
    ctx.Draw(g,
             "Error and similarity vs rank",
             "CP ensemble over ranks " + Fmt(ranks.minCoeff()) + "-" +
                 Fmt(ranks.maxCoeff()) + " x " + std::to_string(err.cols()) +
                 " restarts: relative error (left) and factor similarity to "
                 "the best fit of each rank (right), one point per restart");

    // Factor grids of the best restart of each (requested) rank.
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
                    path + "'");
      Index best = -1;
      for (Index k = 0; k < err.cols(); ++k)
        if (done(r, k) != 0 && std::isfinite(err(r, k)) &&
            (best < 0 || err(r, k) < err(r, best)))
          best = k;
      if (best < 0) continue;  // no fit of this rank finished
      const std::string group = "/ensemble/rank_" + std::to_string(rank) +
                                "/run_" + std::to_string(best);
      if (!io::HasDataset(path, group + "/weights")) continue;
      FactorGrid(ctx,
                 ReadKruskal(path, group),
                 "tca_ensemble_rank" + std::to_string(rank) + "_factors",
                 "CP factors, rank " + std::to_string(rank) + " (best of " +
                     std::to_string(err.cols()) + " restarts)",
                 "Best of " + std::to_string(err.cols()) +
                     " restarts at rank " + std::to_string(rank) +
                     ", relative error " + Fmt(err(r, best)) +
                     ": neuron factors as bars, time factors as lines, trial "
                     "factors as points");
    }
  }
  if (io::HasDataset(path, "/crossval/ranks")) {
    const Vector ranks = ToVector(io::ReadIntVector(path, "/crossval/ranks"));
    const Matrix train = io::ReadMatrix(path, "/crossval/train_error");
    const Matrix test = io::ReadMatrix(path, "/crossval/test_error");
    if (train.rows() != ranks.size() || test.rows() != ranks.size() ||
        test.cols() != train.cols())
      throw Error("'" + path + "': /crossval errors do not match its ranks");
    const Matrix done = DoneMask(path, "/crossval", train);
    GnuplotFigure g("tca_cv_error_rank", 640, 440);
    const std::string pts = RankPoints(&g, ranks, {&train, &test}, done);
    const std::string line = g.AddColumns(
        {ranks, Reduce(train, done, false), Reduce(test, done, false)});
    const double fraction =
        DoubleAttribute(path, "/crossval", "test_fraction", std::nan(""));
    g.Add(RankXRange(ranks));
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
                 Fmt(100 * fraction) +
                 " % held out), one point per restart, "
                 "lines through the mean");
  }
}

// ---------------------------------------------------------------------------
// Fitted models

// Trial factors over trials, one row per component, learning epochs
// shaded; several series (e.g. true and fitted) share each row.
void TrialFactorFigure(
    const Context& ctx,
    const std::string& stem,
    const std::string& heading,
    const std::vector<std::pair<std::string, Matrix>>& series,
    const std::string& title,
    std::string caption) {
  const Matrix& first = series.front().second;
  const int rank = static_cast<int>(first.cols());
  const int rows = std::min(rank, ctx.options.max_components);
  const Epochs epochs = FindEpochs(ctx.options, ctx.path, first.rows());
  const int width = 900, height = 100 + 115 * rows;
  GnuplotFigure g(stem, width, height);
  std::vector<Vector> columns = {Iota(first.rows())};
  Matrix all(first.rows(), rows * static_cast<Index>(series.size()));
  for (size_t i = 0; i < series.size(); ++i)
    for (int r = 0; r < rows; ++r) {
      columns.push_back(series[i].second.col(r));
      all.col(r * static_cast<Index>(series.size()) + static_cast<Index>(i)) =
          series[i].second.col(r);
    }
  const std::string block = g.AddColumns(columns);
  g.Add(Layout(rows, 1, width, height, heading, 80, 50, 65, 20, 10, 12));
  g.Add("set xrange [-0.5:" + Num(first.rows() - 0.5) +
        "]\nset ytics font \",8\"\n" +
        (series.size() > 1 ? "set key top left font \",8\"\n" : "unset key\n"));
  for (int r = 0; r < rows; ++r) {
    std::string s = EpochShading(epochs, r == 0);
    s += YRange(all.middleCols(r * static_cast<Index>(series.size()),
                               static_cast<Index>(series.size())));
    s += r == rows - 1 ? "set format x \"%g\"\nset xlabel \"trial\"\n"
                       : "set format x \"\"\nunset xlabel\n";
    s += "set ylabel " + Quote("c[:, " + std::to_string(r) + "]") + "\n";
    s += "plot 0 with lines lc rgb \"#B0B0B0\" lw 0.8 notitle";
    for (size_t i = 0; i < series.size(); ++i) {
      const int column =
          2 + static_cast<int>(i) * rows + r;  // after the trial column
      s += ", " + block + " using 1:" + std::to_string(column) +
           (i == 0 ? " with linespoints pt 7 ps 0.4 lw 1"
                   : " with lines lw 2.5") +
           " lc " + std::to_string(i + 1) + " " +
           (series[i].first.empty() || r > 0
                ? "notitle"
                : "title " + Quote(series[i].first));
    }
    g.Add(s);
  }
  caption += epochs.empty() ? " (no epoch labels)" : ", learning epochs shaded";
  if (rows < rank)
    caption += "; first " + std::to_string(rows) + " components shown";
  ctx.Draw(g, title, caption);
}

void PlotModel(const Context& ctx) {
  const std::string& path = ctx.path;
  if (io::HasDataset(path, "/cv/ranks")) {
    const Vector ranks = ToVector(io::ReadIntVector(path, "/cv/ranks"));
    const Matrix train = io::ReadMatrix(path, "/cv/train_loss");
    const Matrix test = io::ReadMatrix(path, "/cv/test_loss");
    const Matrix r2 = io::ReadMatrix(path, "/cv/test_r2");
    if (train.rows() != ranks.size() || test.rows() != ranks.size() ||
        r2.rows() != ranks.size() || test.cols() != train.cols() ||
        r2.cols() != train.cols())
      throw Error("'" + path + "': /cv losses do not match /cv/ranks");
    const Matrix done = Matrix::Ones(train.rows(), train.cols());
    const double chosen = DoubleAttribute(path, "/cv", "chosen_rank", 0.0);
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
    g.Add(Layout(1,
                 2,
                 1000,
                 420,
                 "Rank sweep of the fitted RNN",
                 80,
                 55,
                 55,
                 20,
                 80,
                 10));
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
  if (io::HasDataset(path, "/model/c")) {
    const Matrix c = io::ReadMatrix(path, "/model/c");
    const int rank = static_cast<int>(c.cols());
    TrialFactorFigure(ctx,
                      "fit_trial_factors_rank" + std::to_string(rank),
                      "Trial factors c[:, r] of the low-tensor-rank RNN",
                      {{"", c}},
                      "Trial factors of the fitted model",
                      "Trial factors of the fitted rank-" +
                          std::to_string(rank) + " model over trials");
  }
  if (io::HasDataset(path, "/fit/loss")) {
    const Vector loss = io::ReadVector(path, "/fit/loss");
    Vector test = io::HasDataset(path, "/fit/test_loss")
                      ? io::ReadVector(path, "/fit/test_loss")
                      : Vector::Constant(loss.size(), std::nan(""));
    if (test.size() != loss.size())
      throw Error("'" + path +
                  "': /fit/test_loss and /fit/loss differ in "
                  "length");
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
}

// ---------------------------------------------------------------------------
// Trajectories and their analyses

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

void PlotTrajectory(const Context& ctx) {
  const std::string& path = ctx.path;
  if (io::HasDataset(path, "/loss")) {
    const Vector loss = io::ReadVector(path, "/loss");
    const bool grad = io::HasDataset(path, "/grad_norm");
    const Vector gn = grad ? io::ReadVector(path, "/grad_norm") : Vector();
    const int panels = grad && gn.size() == loss.size() ? 2 : 1;
    // Adaptation runs record one step per trial with an /epoch per trial.
    const std::string axis = StringAttribute(path, "/loss", "axes");
    const std::string xlabel =
        axis.empty() || axis == "step" ? "optimiser step" : axis;
    Epochs epochs;
    if (io::HasDataset(path, "/epoch")) {
      epochs = io::ReadIntVector(path, "/epoch");
      if (static_cast<Index>(epochs.size()) != loss.size()) epochs.clear();
    }
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
  if (io::HasDataset(path, "/weights")) {
    const std::vector<Index> shape = io::DatasetShape(path, "/weights");
    if (shape.size() != 3 || shape[1] != shape[2] || shape[0] < 1)
      throw Error("'" + path + "': /weights should be (snapshots, N, N)");
    // io reads whole datasets only; the SVDs below touch one slice at a time.
    const Tensor3 w = io::ReadTensor3(path, "/weights");
    const Index snapshots = w.dim(0), n = w.dim(1);
    Matrix sv(snapshots, n);
    ParallelFor(snapshots, ctx.options.num_threads, [&](Index b, Index e) {
      for (Index k = b; k < e; ++k) {
        const Matrix d = w.Slice(k) - w.Slice(0);
        sv.row(k) = Eigen::BDCSVD<Matrix>(d).singularValues().transpose();
      }
    });
    Vector x = Iota(snapshots);
    std::string xlabel = "snapshot";
    Epochs epochs;
    if (io::HasDataset(path, "/step")) {
      const Vector step = ToVector(io::ReadIntVector(path, "/step"));
      if (step.size() == snapshots) {
        x = step;
        const std::string axis = StringAttribute(path, "/step", "axes");
        xlabel = axis.empty() || axis == "snapshot" ? "optimiser step" : axis;
        // One snapshot per trial (adaptation): shade the trials' epochs.
        if (step == Iota(snapshots) && io::HasDataset(path, "/epoch")) {
          epochs = io::ReadIntVector(path, "/epoch");
          if (static_cast<Index>(epochs.size()) != snapshots) epochs.clear();
        }
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
}

void PlotAnalysis(const Context& ctx) {
  const std::string& path = ctx.path;
  if (io::HasDataset(path, "/delta_w/singular_values")) {
    const Matrix sv = io::ReadMatrix(path, "/delta_w/singular_values");
    SingularValueFigure(ctx,
                        "analysis_delta_w_singular_values",
                        Iota(sv.rows()),
                        "snapshot",
                        sv,
                        "Singular values of W_k − W_0 at each of " +
                            std::to_string(sv.rows()) + " snapshots");
  }
  if (io::HasDataset(path, "/truncation/loss")) {
    const Vector ranks = ToVector(io::ReadIntVector(path, "/truncation/ranks"));
    const Vector loss = io::ReadVector(path, "/truncation/loss");
    if (ranks.size() != loss.size())
      throw Error("'" + path +
                  "': /truncation/ranks and /loss differ in "
                  "length");
    const double functional = DoubleAttribute(path, "/", "functional_rank", -1);
    const double full = DoubleAttribute(path, "/", "test_loss", std::nan(""));
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
  if (io::HasDataset(path, "/update_tensor/relative_error")) {
    const Vector ranks =
        ToVector(io::ReadIntVector(path, "/update_tensor/ranks"));
    const Vector err = io::ReadVector(path, "/update_tensor/relative_error");
    if (ranks.size() != err.size())
      throw Error("'" + path +
                  "': /update_tensor/ranks and /relative_error "
                  "differ in length");
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

// ---------------------------------------------------------------------------
// Tables

// Column index of `name` in a table's `columns` attribute.
Index Column(const std::vector<std::string>& columns,
             const std::string& name,
             const std::string& where) {
  const auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end()) throw Error(where + " has no column '" + name + "'");
  return it - columns.begin();
}

// A table dataset (one row per case) with its `columns` attribute.
struct Table {
  Matrix values;
  std::vector<std::string> columns;
  std::string where;  // "'file' dataset", for messages
};

Table ReadTable(const std::string& path, const std::string& dataset) {
  Table table;
  table.values = io::ReadMatrix(path, dataset);
  table.columns = Split(StringAttribute(path, dataset, "columns"), ',');
  table.where = "'" + path + "' " + dataset;
  if (static_cast<Index>(table.columns.size()) != table.values.cols())
    throw Error(table.where + ": attribute 'columns' does not match its width");
  return table;
}

void PlotBounds(const Context& ctx) {
  const Table table = ReadTable(ctx.path, "/bounds/table");
  const Matrix& t = table.values;
  const std::vector<std::string>& columns = table.columns;
  const std::string& where = table.where;
  const Index c_bound = Column(columns, "bound", where);
  const Index c_hold = Column(columns, "hypotheses_hold", where);
  const Index c_value = Column(columns, "bound_value", where);
  const Index c_meas = Column(columns, "measured", where);
  const std::vector<std::string> names =
      Split(StringAttribute(ctx.path, "/bounds/table", "bounds"), ',');
  const std::vector<std::string> cases =
      Split(StringAttribute(ctx.path, "/bounds/table", "cases"), ';');

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
  const Table table = ReadTable(ctx.path, "/theory/linear");
  const Matrix& t = table.values;
  const std::vector<std::string>& columns = table.columns;
  const std::string& where = table.where;
  const Index c_g = Column(columns, "g", where);
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

// ---------------------------------------------------------------------------
// Recordings

// The pipeline's summary: true and fitted trial factors, aligned.
void PlotComparison(const Context& ctx) {
  const Matrix truth =
      io::ReadMatrix(ctx.path, "/comparison/true_trial_factors");
  const Matrix fitted =
      io::ReadMatrix(ctx.path, "/comparison/fitted_trial_factors");
  if (truth.rows() != fitted.rows() || truth.cols() != fitted.cols())
    throw Error("'" + ctx.path +
                "': true and fitted trial factors differ in shape");
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
          Fmt(DoubleAttribute(ctx.path, "/", "factor_match", 0.0)));
  if (!io::HasDataset(ctx.path, "/comparison/factor_match_by_rank")) return;
  // Up to which CP rank the fitted update agrees with the truth, beside how
  // unique each CP decomposition is there.
  const Vector match =
      io::ReadVector(ctx.path, "/comparison/factor_match_by_rank");
  const Vector true_stability =
      io::ReadVector(ctx.path, "/comparison/true_cp_stability");
  const Vector fitted_stability =
      io::ReadVector(ctx.path, "/comparison/fitted_cp_stability");
  if (true_stability.size() != match.size() ||
      fitted_stability.size() != match.size())
    throw Error("'" + ctx.path +
                "': /comparison/factor_match_by_rank and the stabilities "
                "differ in length");
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
               std::to_string(static_cast<int>(
                   DoubleAttribute(ctx.path, "/", "compare_rank", 0.0))));
}

void PlotRecording(const Context& ctx) {
  const std::string& path = ctx.path;
  // In (trial, time, neuron) order whatever the stored one (its axes).
  const Tensor3 x = ReadRecording(path).activity;
  const Index trials = x.dim(0), steps = x.dim(1), neurons = x.dim(2);
  if (trials == 0 || steps == 0 || neurons == 0) return;
  const double dt = DoubleAttribute(path, "/", "dt", 0.0);
  const std::string tlabel = dt > 0 ? "time (s)" : "time (bin)";
  const Vector time = Iota(steps) * (dt > 0 ? dt : 1.0);

  // Mean over neurons and trials of each epoch (all trials: one line).
  Epochs epochs = FindEpochs(ctx.options, path, trials);
  if (epochs.empty()) epochs.assign(trials, -1);
  std::vector<std::int64_t> labels(epochs.begin(), epochs.end());
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  std::vector<Vector> columns = {time};
  for (std::int64_t e : labels) {
    Vector mean = Vector::Zero(steps);
    Index count = 0;
    for (Index i = 0; i < trials; ++i) {
      if (epochs[i] != e) continue;
      ++count;
      for (Index t = 0; t < steps; ++t)
        for (Index n = 0; n < neurons; ++n) mean(t) += x(i, t, n);
    }
    columns.push_back(mean / static_cast<double>(count * neurons));
  }
  {
    GnuplotFigure g("recording_mean_activity", 760, 440);
    const std::string block = g.AddColumns(columns);
    std::string s = "set title \"population mean activity\"\nset xlabel " +
                    Quote(tlabel) +
                    "\nset ylabel \"mean activity (rate or count)\"\nplot ";
    for (size_t i = 0; i < labels.size(); ++i)
      s += (i ? ", " : "") + block + " using 1:" + std::to_string(i + 2) +
           " with lines lw 2 lc rgb \"" +
           (labels[i] < 0 ? kColors[0] : ColorOf(labels[i], kColors)) +
           "\" title " +
           Quote(labels[i] < 0 ? "all trials" : EpochName(labels[i]));
    g.Add(s);
    ctx.Draw(g,
             "Mean activity per epoch",
             "Activity averaged over neurons and over the trials of each "
             "learning epoch (" +
                 std::to_string(trials) + " trials, " +
                 std::to_string(neurons) + " neurons)");
  }
  {
    // Trial-averaged neuron x time heatmap, neurons ordered by peak time.
    Matrix avg = Matrix::Zero(neurons, steps);
    for (Index i = 0; i < trials; ++i)
      for (Index t = 0; t < steps; ++t)
        for (Index n = 0; n < neurons; ++n) avg(n, t) += x(i, t, n);
    avg /= static_cast<double>(trials);
    std::vector<Index> order(neurons);
    std::vector<Index> peak(neurons);
    for (Index n = 0; n < neurons; ++n) {
      order[n] = n;
      avg.row(n).maxCoeff(&peak[n]);
    }
    std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) {
      return peak[a] < peak[b];
    });
    std::string lines;
    for (Index r = 0; r < neurons; ++r) {
      for (Index t = 0; t < steps; ++t)
        lines += Num(time(t)) + " " + std::to_string(r) + " " +
                 Num(avg(order[r], t)) + "\n";
      lines += "\n";
    }
    const int height =
        static_cast<int>(std::clamp<Index>(neurons * 6, 300, 900)) + 100;
    GnuplotFigure g("recording_trial_average_heatmap", 760, height);
    const std::string block = g.AddLines(lines);
    g.Add("set title \"trial-averaged activity\"\nset xlabel " + Quote(tlabel) +
          "\nset ylabel \"neurons, sorted by peak time\"\n"
          "set palette defined (0 \"#440154\", 1 \"#3b528b\", 2 \"#21918c\", "
          "3 \"#5ec962\", 4 \"#fde725\")\nset cblabel \"mean activity\"\n"
          "unset grid\nset xrange [" +
          Num(time(0) - 0.5 * (dt > 0 ? dt : 1)) + ":" +
          Num(time(steps - 1) + 0.5 * (dt > 0 ? dt : 1)) + "]\nset yrange [" +
          Num(neurons - 0.5) +
          ":-0.5]\n"
          "plot " +
          block + " using 1:2:3 with image notitle");
    ctx.Draw(g,
             "Trial-averaged activity",
             "Activity of each neuron averaged over all " +
                 std::to_string(trials) +
                 " trials, neurons ordered by the time of their peak");
  }
}

}  // namespace
}  // namespace plot

std::vector<std::string> DetectPlotKinds(const std::string& path) {
  io::CheckReadable(path);
  const auto has = [&](const char* ds) { return io::HasDataset(path, ds); };
  std::vector<std::string> kinds;
  if (has("/cp/weights") || has("/ensemble/ranks") || has("/crossval/ranks"))
    kinds.push_back("decomposition");
  if (has("/cv/ranks") || has("/model/c") || has("/fit/loss"))
    kinds.push_back("model");
  if (has("/weights") || has("/loss")) kinds.push_back("trajectory");
  if (has("/delta_w/singular_values") || has("/truncation/loss") ||
      has("/update_tensor/relative_error"))
    kinds.push_back("analysis");
  if (has("/bounds/table")) kinds.push_back("bounds");
  if (has("/theory/linear")) kinds.push_back("theory");
  if (has("/activity")) kinds.push_back("recording");
  if (has("/comparison/true_trial_factors")) kinds.push_back("comparison");
  return kinds;
}

std::vector<Figure> PlotFile(const PlotOptions& options,
                             const std::string& path) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const std::vector<std::string> kinds = DetectPlotKinds(path);
  if (kinds.empty())
    throw Error(
        "'" + path +
        "' is not an ltr output that can be plotted (no "
        "/cp, /ensemble, /crossval, /model, /cv, /weights, /loss, "
        "/delta_w, /truncation, /bounds, /theory, /activity or /comparison)");
  plot::CheckGnuplot(options.gnuplot);
  std::error_code ec;
  std::filesystem::create_directories(options.output_dir, ec);
  if (!std::filesystem::is_directory(options.output_dir))
    throw Error("cannot create the output directory '" + options.output_dir +
                "'" + (ec ? ": " + ec.message() : ""));

  std::vector<Figure> figures;
  const plot::Context ctx{options, path, &figures};
  for (const std::string& kind : kinds) {
    if (kind == "decomposition") plot::PlotDecomposition(ctx);
    if (kind == "model") plot::PlotModel(ctx);
    if (kind == "trajectory") plot::PlotTrajectory(ctx);
    if (kind == "analysis") plot::PlotAnalysis(ctx);
    if (kind == "bounds") plot::PlotBounds(ctx);
    if (kind == "theory") plot::PlotTheory(ctx);
    if (kind == "recording") plot::PlotRecording(ctx);
    if (kind == "comparison") plot::PlotComparison(ctx);
  }
  return figures;
}

}  // namespace ltr
