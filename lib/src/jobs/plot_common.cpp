// Shared pieces of the figure families (plot_common.h).
#include "jobs/plot_common.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>

#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/recording.h"

namespace ltr::plot {
namespace {

namespace fs = std::filesystem;

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

}  // namespace

std::string Fmt(double x, int digits) {
  std::ostringstream s;
  s.precision(digits);
  s << x;
  return s.str();
}

Vector Iota(Index n, double start) {
  Vector v(n);
  for (Index i = 0; i < n; ++i) v(i) = start + static_cast<double>(i);
  return v;
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

std::string InputRecording(const std::string& path) {
  const std::string input = ReadRecordingLabels(path).input;
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

double InputDt(const std::string& path) {
  const std::string input = InputRecording(path);
  if (input.empty()) return 0.0;
  return ReadRecordingLabels(input).dt;
}

Epochs FindEpochs(const PlotOptions& options,
                  const std::string& path,
                  Index trials) {
  if (!options.epochs_file.empty()) {
    const std::string& f = options.epochs_file;
    io::CheckReadable(f);
    const std::optional<Epochs> e = ReadRecordingLabels(f).epoch;
    if (!e) throw Error("epochs file '" + f + "' has no dataset '/epoch'");
    if (static_cast<Index>(e->size()) != trials)
      throw Error("epochs file '" + f + "': /epoch has " +
                  std::to_string(e->size()) + " labels but '" + path +
                  "' has " + std::to_string(trials) + " trials");
    return *e;
  }
  for (const std::string& f : {path, InputRecording(path)}) {
    if (f.empty()) continue;
    const std::optional<Epochs> e = ReadRecordingLabels(f).epoch;
    if (e && static_cast<Index>(e->size()) == trials) return *e;
  }
  return {};
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
                   int left,
                   int bottom,
                   int top,
                   int right,
                   int xspace,
                   int yspace) {
  const auto fx = [&](int px) { return Num(static_cast<double>(px) / width); };
  const auto fy = [&](int px) { return Num(static_cast<double>(px) / height); };
  return "set multiplot layout " + std::to_string(rows) + "," +
         std::to_string(cols) + " title " + Quote(title) +
         " font \",12\" margins " + fx(left) + "," + fx(width - right) + "," +
         fy(bottom) + "," + fy(height - top) + " spacing " + fx(xspace) + "," +
         fy(yspace) + "\n";
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

std::string RankXRange(const Vector& ranks) {
  return "set xrange [" + Num(ranks.minCoeff() - 0.5) + ":" +
         Num(ranks.maxCoeff() + 0.5) + "]\nset xtics 1\n";
}

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

}  // namespace ltr::plot
