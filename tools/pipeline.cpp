// ltr pipeline: the learning-over-trials job of the README (pipeline.h).
#include "ltr/jobs/pipeline.h"

#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "recording_options.h"
#include "signals.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr pipeline RECORDING.h5 -o DIR [--ranks 1:6] [--seeds 2] "
    "[--loss mse|poisson]\n"
    "       [--units N] [--readout free|orthonormal|identity] "
    "[--threads 0]\n\n"
    "Runs the learning-over-trials pipeline on a recording: a simulated one\n"
    "that also holds the true weights of every trial (/weights; ltr train\n"
    "--protocol adaptation writes one), or a real one (ltr import) without:\n"
    "  1. a full RNN fitted to the baseline trials (/epoch 0) gives the base\n"
    "     W_B (without /epoch: no base);\n"
    "  2. ltr RNNs W_k = W_B + sum_r c[k,r] a_r b_r^T are fitted to all "
    "trials\n"
    "     for every rank, held-out blocks choosing the rank;\n"
    "  3. CP of the fitted update tensor (W_k minus its baseline mean; the\n"
    "     mean over all trials without /epoch) and, with /weights, of the\n"
    "     true one [W_k - W_0], aligned: factor match, congruence per mode;\n"
    "  4. with /weights, the rank bounds on the true trajectory;\n"
    "  5. figures (ltr plot) and DIR/report.html.\n"
    "It reports the chosen fit's held-out R^2 per neuron, its trial factors\n"
    "per epoch (per condition without /epoch) and, with --loss poisson, its\n"
    "held-out bits/spike beside a per-condition PSTH baseline's. With\n"
    "/weights the fits use units = neurons and an identity readout, so that\n"
    "fitted and true weights share one unit space (--units and --readout are\n"
    "refused); without, --units (0 = neurons) and --readout (free) apply.\n"
    "Every step writes the file its own command would (fit.h5,\n"
    "fitted_update_cp.h5, ...). See docs/pipeline.md.\n\n"
    "SIGINT/SIGTERM stop the run at the next fit iteration with exit status "
    "128 +\nsignal; the steps that finished keep their files and the same "
    "command with\n--resume continues, reusing them.\n\n"
    "example:\n"
    "  ltr pipeline data/example_learning.h5 -o out/pipeline\n"
    "  ltr pipeline spikes.h5 -o out/real --loss poisson --ranks 1:3\n";

}  // namespace

int RunPipeline(int argc, char** argv) {
  namespace po = cli::po;
  const PipelineOptions d;
  PipelineOptions o;
  int threads = 0;
  std::string loss, readout;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>(), "recording over learning (HDF5)")
    ("ranks", po::value<std::string>()->default_value("1:6"),
     "ranks of the ltr fits, A:B or a list")
    ("loss", po::value<std::string>(&loss)
                 ->default_value(RnnLossName(d.fit.loss.loss)),
     "data term of the fits: mse | poisson (spike counts)")
    ("units", po::value<int>(&o.units)->default_value(d.units),
     "model units without /weights (0 = neurons)")
    ("readout", po::value<std::string>(&readout),
     "readout without /weights: free (default) | orthonormal | identity")
    ("seeds", po::value<int>(&o.seeds)->default_value(d.seeds), "fits per rank")
    ("max-iters", po::value<int>(&o.fit.max_iterations)
                      ->default_value(d.fit.max_iterations),
     "maximum L-BFGS iterations per fit")
    ("max-seconds", po::value<double>(&o.fit.max_seconds)
                        ->default_value(d.fit.max_seconds),
     "wall-clock limit per fit")
    ("smoothing-weight", po::value<double>(&o.fit.smoothing.weight)
                             ->default_value(d.fit.smoothing.weight),
     "weight of the second-difference prior on trial factors (0 = none)")
    ("l2", po::value<double>(&o.fit.loss.l2_w)
               ->default_value(d.fit.loss.l2_w, "1e-5"),
     "L2 penalty on the ltr factors a, b, c (the minimum-norm update; "
     "weights along directions the activity never visits are not "
     "identifiable)")
    ("cp-restarts", po::value<int>(&o.cp_restarts)
                        ->default_value(d.cp_restarts),
     "CP restarts per rank of the update tensors")
    ("compare-rank", po::value<int>(&o.compare_rank)
                         ->default_value(d.compare_rank),
     "CP rank at which fitted and true updates are compared (0 = the "
     "largest rank at which both CP fits are unique)")
    ("cold-start", po::bool_switch(),
     "start every rank's fit from its own data-driven start instead of the "
     "previous rank's fit plus new components (then refitted from the rank "
     "above where that fits the held-out data better; docs/fit.md)")
    ("no-plots", po::bool_switch(), "skip figures and the report (no gnuplot)")
    ("progress", po::value<int>(&o.fit.progress_every)
                     ->default_value(d.fit.progress_every),
     "fit progress on stderr every K iterations (0 = off)")
    ("seed", po::value<std::uint64_t>(&o.seed)->default_value(d.seed),
     "seed of every fit and decomposition")
    ("threads", po::value<int>(&threads)->default_value(0), cli::kThreadsHelp)
    ("resume", po::bool_switch(&o.resume),
     "reuse the fit and CP files of an interrupted run in DIR made with the "
     "same options")
    ("output,o", po::value<std::string>()->required(), "output directory");
  // clang-format on
  cli::AddRecordingOptions(&options, false, false);
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;
  if (!vm.count("input")) throw po::error("give the recording LEARNING.h5");

  o.input = vm["input"].as<std::string>();
  o.axes = cli::RecordingSourceFrom(vm, o.input, false).axes;
  o.output_dir = vm["output"].as<std::string>();
  o.ranks = cli::ParseRanks(vm["ranks"].as<std::string>(), "ranks");
  SetPipelinePriors(o.fit.smoothing.weight, o.fit.loss.l2_w, &o.fit);
  o.fit.loss.loss = ParseRnnLoss(loss);
  if (vm.count("readout")) o.readout = ParseReadoutKind(readout);
  o.plots = !vm["no-plots"].as<bool>();
  o.warm_start = !vm["cold-start"].as<bool>();
  o.command = cli::CommandLine(argc, argv);
  o.run = cli::CommandContext(threads, true);

  const PipelineSummary s = RunLearningPipeline(o);
  for (const std::string& w : s.warnings)
    std::cerr << "ltr pipeline: warning: " << w << "\n";
  if (!s.complete) {
    std::cerr << "ltr pipeline: interrupted by signal "
              << cli::SignalToken().reason() << "; " << s.files.size()
              << " finished step files kept in " << o.output_dir
              << "; continue with the same command and --resume\n";
    return cli::SignalExitStatus();
  }
  std::cout << s.SummaryTable();
  std::cout << "wrote " << o.output_dir << "/ (" << s.files.size() << " files";
  if (!s.figures.empty())
    std::cout << ", " << s.figures.size() << " figures; open " << o.output_dir
              << "/report.html";
  std::cout << ")\n";
  // A diverged fit or one no better than the neurons' means: the report is
  // written, but the run is a failure.
  const std::string failure = s.sweep.Failure();
  if (!failure.empty()) {
    std::cerr << "ltr pipeline: rank sweep: " << failure << "\n";
    return 1;
  }
  return 0;
}

}  // namespace ltr
