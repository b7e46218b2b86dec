// Figures of any ltr output file, drawn by gnuplot (run as a subprocess) as
// PNG and SVG: TCA factor grids and rank plots of a decomposition, CV curves
// and trial factors of a fitted model, loss and singular values of dW over
// a training trajectory, the analyses of `ltr analyze`, bounds and theory
// tables beside measurements, and the activity of a recording.
//
// The kind of file is recognised by its datasets (docs/formats.md); a file
// can be of several kinds at once (a trajectory that recorded activity) and
// then gets the figures of each. See docs/plot.md for every figure.
#ifndef LTR_PLOT_H_
#define LTR_PLOT_H_

#include <string>
#include <vector>

#include "ltr/core/run_context.h"

namespace ltr {

struct PlotOptions {
  // Directory the figures are written to; created if missing.
  std::string output_dir = ".";
  // The gnuplot executable: a name looked up on PATH, or a path.
  std::string gnuplot = "gnuplot";
  // A recording whose /epoch (trials,) labels the trials of the plotted
  // file (trial factors shaded/coloured by learning epoch). Empty: /epoch of
  // the file itself, else of the recording named by its `input` attribute.
  std::string epochs_file;
  // Prepended to every output file name (several inputs in one directory).
  std::string prefix;
  bool png = true;
  bool svg = true;
  // Ranks of a decomposition ensemble whose best restart is drawn as a
  // factor grid; empty = every rank of the ensemble.
  std::vector<int> ranks;
  // At most this many components (rows) in a factor grid.
  int max_components = 10;
  // Singular values of dW drawn over training: the largest k.
  int max_singular_values = 10;
  // Threads for the singular values of dW = W_k - W_0 over snapshots.
  RunContext run;

  bool IsValid(std::string* error) const;
};

// One figure written.
struct Figure {
  std::string name;     // file stem, e.g. "tca_factors_rank3"
  std::string title;    // what it shows, a few words
  std::string caption;  // one line: what is drawn and the key numbers
  std::string png;      // path of the PNG written, "" when not requested
  std::string svg;      // path of the SVG written, "" when not requested
};

// The kinds of ltr output `path` holds, from its datasets: "decomposition",
// "model", "trajectory", "analysis", "bounds", "theory", "recording".
// Empty when none is recognised.
std::vector<std::string> DetectPlotKinds(const std::string& path);

// Draws every figure for the kinds `path` holds and returns them in drawing
// order. Throws ltr::Error on invalid options, an unreadable or unrecognised
// file, a missing gnuplot (naming the package to install) or a gnuplot
// failure.
std::vector<Figure> PlotFile(const PlotOptions& options,
                             const std::string& path);

}  // namespace ltr

#endif  // LTR_PLOT_H_
