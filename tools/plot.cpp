// ltr plot FILE.h5 -o DIR: the figures of any ltr output, drawn by gnuplot.
#include "ltr/jobs/plot.h"

#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "signals.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr plot FILE.h5 [-o DIR] [--epochs REC.h5] [--format png,svg]\n"
    "                [--ranks 2,3] [--prefix NAME_] [--gnuplot PATH]\n\n"
    "Draws the figures of an ltr output as PNG and SVG with gnuplot (Debian\n"
    "package gnuplot-nox). The kind of file is recognised by its datasets:\n"
    "  decomposition  TCA factor grids (neuron bars, time lines, trial points\n"
    "                 coloured by epoch), error and similarity vs rank, CV\n"
    "  fitted model   CV loss and R2 vs rank, trial factors c[:, r] with\n"
    "                 epochs shaded, loss over iterations\n"
    "  trajectory     training loss, singular values of W_k - W_0 over steps\n"
    "  analysis       singular values of dW, truncation loss (functional\n"
    "                 rank marked), update-tensor CP error vs rank\n"
    "  bounds/theory  bound vs measured rank; linear theory vs simulation\n"
    "  recording      mean activity per epoch, trial-averaged heatmap\n"
    "Prints one line per figure: file, title and caption. See docs/plot.md.\n\n"
    "examples:\n"
    "  ltr plot out/example_decompose.h5 -o figures\n"
    "  ltr plot fit.h5 --epochs recording.h5 -o figures";

}  // namespace

int RunPlot(int argc, char** argv) {
  namespace po = cli::po;
  const PlotOptions d;
  PlotOptions o;
  int threads = 0;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>()->required(), "ltr output file")
    ("output,o", po::value<std::string>(&o.output_dir)
                     ->default_value(d.output_dir),
     "directory for the figures (created if missing)")
    ("epochs", po::value<std::string>(&o.epochs_file),
     "recording whose /epoch labels the trials (default: /epoch of the file "
     "or of its input recording)")
    ("format", po::value<std::string>()->default_value("png,svg"),
     "png, svg or png,svg")
    ("ranks", po::value<std::string>(),
     "ensemble ranks to draw factor grids for: 3, a list 2,3 or A:B "
     "(default all)")
    ("max-components", po::value<int>(&o.max_components)
                           ->default_value(d.max_components),
     "at most this many components per factor grid")
    ("max-sv", po::value<int>(&o.max_singular_values)
                   ->default_value(d.max_singular_values),
     "singular values of dW drawn (the largest k)")
    ("prefix", po::value<std::string>(&o.prefix)->default_value(d.prefix),
     "prepended to every file name")
    ("gnuplot", po::value<std::string>(&o.gnuplot)->default_value(d.gnuplot),
     "gnuplot executable")
    ("threads", po::value<int>(&threads)->default_value(0), cli::kThreadsHelp);
  // clang-format on
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;

  const std::string format = vm["format"].as<std::string>();
  if (format != "png" && format != "svg" && format != "png,svg" &&
      format != "svg,png")
    throw Error("--format must be png, svg or png,svg, not '" + format + "'");
  o.png = format.find("png") != std::string::npos;
  o.svg = format.find("svg") != std::string::npos;
  if (vm.count("ranks"))
    o.ranks = cli::ParseRanks(vm["ranks"].as<std::string>(), "ranks");
  o.run = cli::CommandContext(threads, false);
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);

  const std::vector<Figure> figures =
      PlotFile(o, vm["input"].as<std::string>());
  for (const Figure& f : figures) {
    std::cout << (f.png.empty() ? f.svg : f.png);
    if (!f.png.empty() && !f.svg.empty()) std::cout << " (+ .svg)";
    std::cout << "\n  " << f.title << ": " << f.caption << "\n";
  }
  std::cout << "wrote " << figures.size() << " figure"
            << (figures.size() == 1 ? "" : "s") << " to " << o.output_dir
            << "\n";
  return 0;
}

}  // namespace ltr
