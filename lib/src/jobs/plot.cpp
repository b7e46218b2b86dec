// Figures of ltr outputs (plot.h). This file recognises the kinds of a file
// and calls each kind's figure family (plot_decomposition.cpp, plot_fit.cpp,
// plot_trajectory.cpp, plot_tables.cpp, plot_recording.cpp); the families
// read through the formats layer (and plot_inputs.h for the layouts still
// without a typed reader) and lay the figures out; plot_gnuplot.cpp turns
// them into PNG and SVG through gnuplot.
#include "ltr/jobs/plot.h"

#include <filesystem>

#include "jobs/plot_common.h"
#include "ltr/core/error.h"
#include "ltr/formats/analysis_file.h"
#include "ltr/formats/io.h"
#include "ltr/formats/pipeline_file.h"
#include "ltr/formats/recording.h"
#include "ltr/formats/table_file.h"

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
  if (max_components < 1 || max_singular_values < 1 || run.num_threads < 1) {
    *error = "max_components, max_singular_values and num_threads must be >= 1";
    return false;
  }
  return true;
}

std::vector<std::string> DetectPlotKinds(const std::string& path) {
  io::CheckReadable(path);
  std::vector<std::string> kinds;
  if (plot::HasDecompositionForPlot(path)) kinds.push_back("decomposition");
  if (plot::HasFitForPlot(path)) kinds.push_back("model");
  if (plot::HasTrajectoryForPlot(path)) kinds.push_back("trajectory");
  if (HasAnalysis(path)) kinds.push_back("analysis");
  if (HasBounds(path)) kinds.push_back("bounds");
  if (HasLinearTheory(path)) kinds.push_back("theory");
  if (HasRecording(path)) kinds.push_back("recording");
  if (HasPipelineSummary(path)) kinds.push_back("comparison");
  if (HasPipelineScores(path)) kinds.push_back("scores");
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
        "/delta_w, /truncation, /bounds, /theory, /activity, /comparison or "
        "/scores)");
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
    if (kind == "scores") plot::PlotScores(ctx);
  }
  return figures;
}

}  // namespace ltr
