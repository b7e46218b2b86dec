// ltr analyze TRAJ.h5: rank analyses of a learning trajectory.
#include "ltr/theory/analyze.h"

#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/analysis_file.h"
#include "ltr/formats/io.h"
#include "signals.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr analyze TRAJ.h5 [--test-batch 512] [--max-rank 25]\n"
    "                   [--cp-max-rank 5] [--fresh-test-batches]\n"
    "                   [--overlap-depth 3] [--overlap-vectors 10]\n"
    "                   [--seed S] -o ANALYSIS.h5\n\n"
    "Singular values of dW = W_k - W_0 over training, the test loss of\n"
    "rank-R truncations of the final dW and the functional rank (5 %\n"
    "criterion), the convergence step, ||dW||_F, the shuffle test, the\n"
    "overlap of dW's leading singular vectors with the input and output\n"
    "vectors propagated through W0 (and through a shuffled W0), and CP fits\n"
    "of the update tensor [W_k - W_0].\n"
    "See docs/train.md.\n\nexample:\n  ltr analyze ff.h5 -o ff_analysis.h5";

}  // namespace

int RunAnalyze(int argc, char** argv) {
  namespace po = cli::po;
  const AnalyzeOptions d;
  AnalyzeOptions o;
  int threads = 0;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>()->required(), "trajectory file")
    ("test-batch", po::value<int>(&o.test_batch)->default_value(d.test_batch),
     "trials of the test batch for truncation and shuffle losses")
    ("max-rank", po::value<int>(&o.max_truncation_rank)
                     ->default_value(d.max_truncation_rank),
     "largest truncation rank R")
    ("threshold", po::value<double>(&o.functional_rank_threshold)
                      ->default_value(d.functional_rank_threshold),
     "functional rank and convergence criterion (fraction of the loss)")
    ("fresh-test-batches", po::bool_switch(&o.fresh_test_batches),
     "S20: a new test batch for every truncation rank and the shuffle")
    ("overlap-depth", po::value<int>(&o.overlap_depth)
                          ->default_value(d.overlap_depth),
     "powers K of W0 in the propagated input/output subspace")
    ("overlap-vectors", po::value<int>(&o.overlap_vectors)
                            ->default_value(d.overlap_vectors),
     "leading singular vectors of dW whose overlap is reported")
    ("cp-max-rank", po::value<int>(&o.cp_max_rank)->default_value(d.cp_max_rank),
     "CP ranks 1..R of the update tensor (0 = skip)")
    ("cp-restarts", po::value<int>(&o.cp_restarts)->default_value(d.cp_restarts),
     "CP fits per rank")
    ("seed", po::value<std::uint64_t>(&o.seed)->default_value(d.seed),
     "seed of the test batch, the W0 permutation and the CP starts")
    ("threads", po::value<int>(&threads)->default_value(0), cli::kThreadsHelp)
    ("output,o", po::value<std::string>()->required(), "analysis file");
  // clang-format on
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;

  o.convergence_threshold = o.functional_rank_threshold;  // one --threshold
  o.run = cli::CommandContext(threads, false);
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);

  const std::string input = vm["input"].as<std::string>();
  io::CheckReadable(input);
  const std::string output = vm["output"].as<std::string>();
  io::RefuseOutputOverInput(output, {input});
  io::OutputFile out(output, cli::CommandLine(argc, argv));
  const TrajectoryAnalysis a = AnalyzeTrajectory(o, input);
  if (a.cancelled) {
    std::cerr << "ltr analyze: interrupted by signal "
              << cli::SignalToken().reason() << "; nothing written\n";
    return cli::SignalExitStatus();
  }
  WriteAnalysis(a, &out);
  out.Commit();
  std::cout << a.BriefReport() << "\nwrote " << out.path() << "\n";
  return 0;
}

}  // namespace ltr
