// ltr analyze TRAJ.h5: rank analyses of a learning trajectory.
#include "ltr/theory/analyze.h"

#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr analyze TRAJ.h5 [--test-batch 512] [--max-rank 25]\n"
    "                   [--cp-max-rank 5] [--seed S] -o ANALYSIS.h5\n\n"
    "Singular values of dW = W_k - W_0 over training, the test loss of\n"
    "rank-R truncations of the final dW and the functional rank (5 %\n"
    "criterion), the convergence step, ||dW||_F, the shuffle test, the\n"
    "alignment of dW with W0, and CP fits of the update tensor [W_k - W_0].\n"
    "See docs/train.md.\n\nexample:\n  ltr analyze ff.h5 -o ff_analysis.h5";

}  // namespace

int RunAnalyze(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>()->required(), "trajectory file")
    ("test-batch", po::value<int>()->default_value(512),
     "trials of the test batch for truncation and shuffle losses")
    ("max-rank", po::value<int>()->default_value(25),
     "largest truncation rank R")
    ("threshold", po::value<double>()->default_value(0.05),
     "functional rank and convergence criterion (fraction of the loss)")
    ("cp-max-rank", po::value<int>()->default_value(5),
     "CP ranks 1..R of the update tensor (0 = skip)")
    ("cp-restarts", po::value<int>()->default_value(1), "CP fits per rank")
    ("seed", po::value<std::uint64_t>()->default_value(12345),
     "seed of the test batch, the W0 permutation and the CP starts")
    ("threads", po::value<int>()->default_value(0), cli::kThreadsHelp)
    ("output,o", po::value<std::string>()->required(), "analysis file");
  // clang-format on
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;

  AnalyzeOptions o;
  o.test_batch = vm["test-batch"].as<int>();
  o.max_truncation_rank = vm["max-rank"].as<int>();
  o.functional_rank_threshold = vm["threshold"].as<double>();
  o.convergence_threshold = vm["threshold"].as<double>();
  o.cp_max_rank = vm["cp-max-rank"].as<int>();
  o.cp_restarts = vm["cp-restarts"].as<int>();
  o.seed = vm["seed"].as<std::uint64_t>();
  o.num_threads = cli::ResolveThreads(vm["threads"].as<int>());
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);

  const std::string input = vm["input"].as<std::string>();
  io::CheckReadable(input);
  const std::string output = vm["output"].as<std::string>();
  io::RefuseOutputOverInput(output, {input});
  io::OutputFile out(output, cli::CommandLine(argc, argv));
  const TrajectoryAnalysis a = AnalyzeTrajectory(o, input);
  WriteAnalysis(a, &out);
  out.Commit();
  std::cout << a.BriefReport() << "\nwrote " << out.path() << "\n";
  return 0;
}

}  // namespace ltr
