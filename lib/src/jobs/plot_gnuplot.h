// The gnuplot layer of plot.cpp: a figure is a gnuplot script (inline data
// blocks plus plot commands), rendered by running gnuplot as a subprocess
// once per figure into PNG (pngcairo) and SVG (svg) with one shared look.
#ifndef LTR_SRC_PLOT_GNUPLOT_H_
#define LTR_SRC_PLOT_GNUPLOT_H_

#include <string>
#include <vector>

#include "ltr/core/tensor.h"
#include "ltr/jobs/plot.h"

namespace ltr::plot {

// Okabe-Ito colours (colour-blind safe); gnuplot linetypes 1..8 are set to
// these, so `lc 1` is kColors[0] and `lc variable` with k + 1 picks kColors[k].
extern const std::vector<std::string> kColors;
// Light tints of the same hues, for epoch shading behind data.
extern const std::vector<std::string> kLightColors;
// "#rrggbb" of a sequential palette (dark blue -> yellow) at t in [0, 1].
std::string SequentialColor(double t);

// A string literal for gnuplot in enhanced-text mode: quoted, with the
// characters enhanced mode would interpret (_ ^ @ & ~ { }) escaped.
std::string Quote(const std::string& text);
// A number as gnuplot reads it ("NaN" for a missing value).
std::string Num(double x);

class GnuplotFigure {
 public:
  // `stem` names the output files (stem.png, stem.svg); size in pixels.
  GnuplotFigure(std::string stem, int width, int height);

  // An inline data block of equal-length columns, one row per line;
  // returns its name ("$d0", ...). NaN entries are read as missing.
  std::string AddColumns(const std::vector<Vector>& columns);
  // Rows of a matrix, one line each.
  std::string AddMatrix(const Matrix& m);
  // Raw data lines (blank lines separate line segments / datasets).
  std::string AddLines(const std::string& lines);

  // Plot commands, run once per output format after the common style; may
  // use the data block names. Appends a newline.
  void Add(const std::string& commands);

  const std::string& stem() const { return stem_; }
  // The whole script writing `outputs` (pairs of terminal kind "png"/"svg"
  // and file path).
  std::string Script(
      const std::vector<std::pair<std::string, std::string>>& outputs) const;

 private:
  std::string stem_;
  int width_, height_;
  std::string data_;
  std::string body_;
  int blocks_ = 0;
};

// Throws ltr::Error with the package to install unless `gnuplot` can be run.
void CheckGnuplot(const std::string& gnuplot);

// Runs gnuplot on the figure, writing <dir>/<stem>.png and .svg (as the
// options ask) atomically: into temporary names that are renamed once
// gnuplot has exited cleanly and each file is non-empty. Temporaries (the
// script, its stderr, partial outputs) are removed in every case. Throws
// ltr::Error naming the figure and gnuplot's first error line.
Figure Render(const PlotOptions& options,
              const GnuplotFigure& figure,
              const std::string& title,
              const std::string& caption);

}  // namespace ltr::plot

#endif  // LTR_SRC_PLOT_GNUPLOT_H_
