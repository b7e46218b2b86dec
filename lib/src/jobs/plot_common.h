// What the figure families of ltr plot share (plot_common.cpp): the context
// of one PlotFile call, epoch labels and their shading, panel layouts, rank
// plots and the trial-factor figure. Each family lives in its own file:
// plot_decomposition.cpp, plot_fit.cpp, plot_trajectory.cpp,
// plot_tables.cpp, plot_recording.cpp.
#ifndef LTR_SRC_JOBS_PLOT_COMMON_H_
#define LTR_SRC_JOBS_PLOT_COMMON_H_

#include <string>
#include <utility>
#include <vector>

#include "jobs/plot_gnuplot.h"
#include "jobs/plot_inputs.h"
#include "ltr/core/tensor.h"
#include "ltr/jobs/plot.h"

namespace ltr::plot {

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

// The figure families, one per kind of DetectPlotKinds.
void PlotDecomposition(const Context& ctx);
void PlotModel(const Context& ctx);
void PlotTrajectory(const Context& ctx);
void PlotAnalysis(const Context& ctx);
void PlotBounds(const Context& ctx);
void PlotTheory(const Context& ctx);
void PlotRecording(const Context& ctx);
void PlotComparison(const Context& ctx);
void PlotScores(const Context& ctx);

std::string Fmt(double x, int digits = 3);
Vector Iota(Index n, double start = 0.0);

std::string EpochName(std::int64_t e);
std::string ColorOf(std::int64_t k, const std::vector<std::string>& colors);
// The recording a result was computed from (its root attribute `input`),
// looked up as written and beside the result; "" when not found.
std::string InputRecording(const std::string& path);
// Seconds per time bin of the result's input recording, 0 when unknown.
double InputDt(const std::string& path);
// Epoch labels of `trials` trials: from --epochs (which must fit), else
// /epoch of the file, else of its input recording (used when they fit).
Epochs FindEpochs(const PlotOptions& options,
                  const std::string& path,
                  Index trials);
// Light rectangles behind a panel, one per epoch run, labelled when asked.
std::string EpochShading(const Epochs& epochs, bool labels);
std::string KeyEntries(const Epochs& epochs);

// Y range [lo, hi] over finite values, including 0, padded by 5 %.
std::string YRange(const Matrix& m);
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
                   int yspace = 12);
std::string RankXRange(const Vector& ranks);
// Points of a (rank, restart) grid with a small horizontal jitter so that
// restarts do not hide each other; NaN where `done` is 0.
std::string RankPoints(GnuplotFigure* g,
                       const Vector& ranks,
                       const std::vector<const Matrix*>& values,
                       const Matrix& done);
// Per rank, the minimum or mean over done restarts (NaN when none).
Vector Reduce(const Matrix& m, const Matrix& done, bool minimum);

// Trial factors over trials, one row per component, learning epochs
// shaded; several series (e.g. true and fitted) share each row.
void TrialFactorFigure(
    const Context& ctx,
    const std::string& stem,
    const std::string& heading,
    const std::vector<std::pair<std::string, Matrix>>& series,
    const std::string& title,
    std::string caption);

}  // namespace ltr::plot

#endif  // LTR_SRC_JOBS_PLOT_COMMON_H_
