// ltr bounds: rank bounds on learning beside measured ranks (science.md §5).
#include "ltr/theory/bounds.h"

#include <iostream>
#include <memory>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr bounds TRAJ.h5 [--tol 1e-10] [-o BOUNDS.h5]\n"
    "       ltr bounds --sweep [--units 64] [--steps 20] [-o BOUNDS.h5]\n\n"
    "Checks the rank bounds of learning (Prop 1: rank W_k <= d = dim "
    "span[W_in, W_out],\nmultilinear rank of [W_1..W_K] <= (d, d, min(K, "
    "d^2)), CP rank <= d^2; Prop 2:\nrank of the first update <= min(T N_in, "
    "T N_out, N); general: rank(W_K - W_0)\n<= min(N, K P T)) against a "
    "trajectory written by ltr train, stating which\nhypotheses hold (linear "
    "network, W0 in span[W_in, W_out], optimiser linear in\ngradients). "
    "--sweep trains the synthetic cases of science.md §5 instead.\n"
    "See docs/theory.md.\n\nexamples:\n"
    "  ltr bounds traj.h5\n  ltr bounds --sweep -o sweep.h5";

}  // namespace

int RunBounds(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>(), "trajectory file (ltr train)")
    ("sweep", po::bool_switch(), "train and check the synthetic cases")
    ("tol", po::value<double>()->default_value(1e-10),
     "relative tolerance of numerical ranks")
    ("cp-max-rank", po::value<int>()->default_value(12),
     "largest CP rank tried by the CP rank estimate (0 = skip)")
    ("cp-error", po::value<double>()->default_value(1e-4),
     "relative error a CP fit must reach to count")
    ("units", po::value<int>()->default_value(64), "sweep: N")
    ("steps", po::value<int>()->default_value(20), "sweep: optimiser steps")
    ("horizon", po::value<int>()->default_value(10), "sweep: bins per trial")
    ("batch", po::value<int>()->default_value(4), "sweep: trials")
    ("verbose", po::bool_switch(), "sweep: one block per case, not a line")
    ("seed", po::value<std::uint64_t>()->default_value(0), "seed")
    ("threads", po::value<int>()->default_value(0), cli::kThreadsHelp)
    ("output,o", po::value<std::string>(), "output HDF5 file (optional)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;

  const bool sweep = vm["sweep"].as<bool>();
  if (sweep == (vm.count("input") > 0))
    throw po::error("give a trajectory file TRAJ.h5 or --sweep (one of them)");
  cli::RejectUnless(vm,
                    {"units", "steps", "horizon", "batch", "verbose"},
                    sweep,
                    "sets up the synthetic cases of --sweep");
  cli::RejectUnless(vm,
                    {"cp-error"},
                    vm["cp-max-rank"].as<int>() > 0,
                    "needs the CP rank estimate (--cp-max-rank > 0)");
  BoundsOptions b;
  b.rank.tolerance = vm["tol"].as<double>();
  b.rank.run.num_threads = cli::ResolveThreads(vm["threads"].as<int>());
  b.cp.max_rank = vm["cp-max-rank"].as<int>();
  b.estimate_cp_rank = b.cp.max_rank > 0;
  if (!b.estimate_cp_rank) b.cp.max_rank = 1;
  b.cp.relative_error = vm["cp-error"].as<double>();
  b.cp.seed = vm["seed"].as<std::uint64_t>();
  b.cp.run.num_threads = b.rank.run.num_threads;
  std::string error;
  if (!b.IsValid(&error)) throw Error(error);

  std::unique_ptr<io::OutputFile> out;
  std::vector<BoundsSummary> cases;
  if (sweep) {
    BoundsSweepOptions s;
    s.units = vm["units"].as<int>();
    s.steps = vm["steps"].as<int>();
    s.horizon = vm["horizon"].as<int>();
    s.batch = vm["batch"].as<int>();
    s.seed = vm["seed"].as<std::uint64_t>();
    s.bounds = b;
    s.num_threads = b.rank.run.num_threads;
    if (!s.IsValid(&error)) throw Error(error);
    if (vm.count("output"))
      out = std::make_unique<io::OutputFile>(vm["output"].as<std::string>(),
                                             cli::CommandLine(argc, argv));
    cases = RunBoundsSweep(s);
  } else {
    const std::string input = vm["input"].as<std::string>();
    io::CheckReadable(input);
    if (vm.count("output"))
      io::RefuseOutputOverInput(vm["output"].as<std::string>(), {input});
    if (vm.count("output"))
      out = std::make_unique<io::OutputFile>(vm["output"].as<std::string>(),
                                             cli::CommandLine(argc, argv));
    cases.push_back(EvaluateBounds(b, ReadLearningRun(input)));
  }
  std::cout << (sweep && !vm["verbose"].as<bool>() ? FormatBoundsCompact(cases)
                                                   : FormatBounds(cases));
  if (out) {
    WriteBounds(b, cases, out.get());
    out->Commit();
    std::cout << "wrote " << out->path() << "\n";
  }
  return 0;
}

}  // namespace ltr
