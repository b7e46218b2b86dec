// ltr bounds: rank bounds on learning beside measured ranks (docs/theory.md
// §2).
#include "ltr/theory/bounds.h"

#include <iostream>
#include <memory>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/table_file.h"
#include "signals.h"

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
    "network, W0 in span[W_in, W_out], optimiser linear in\ngradients; "
    "x0 = bias = 0 is ltr train's, not stored in the file).\n"
    "Props 1 and 2 are this project's derivations (proofs in docs/theory.md),"
    "\nnot theorems of Pellegrino et al. 2023; a bound whose hypotheses fail "
    "is\nshown but not claimed. --sweep trains synthetic cases (linear or "
    "tanh,\nW0 = 0 or g J, GD or Adam) instead. See docs/theory.md.\n\n"
    "examples:\n"
    "  ltr bounds traj.h5\n  ltr bounds --sweep -o sweep.h5";

}  // namespace

int RunBounds(int argc, char** argv) {
  namespace po = cli::po;
  BoundsOptions b;
  BoundsSweepOptions s;
  const BoundsSweepOptions d;
  // The tool tries more CP ranks than the library's default (8): a trajectory
  // of d = 3 has a CP rank bound of 9.
  int cp_max_rank = 12;
  int threads = 0;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>(), "trajectory file (ltr train)")
    ("sweep", po::bool_switch(), "train and check the synthetic cases")
    ("tol", po::value<double>(&b.rank.tolerance)
                ->default_value(d.bounds.rank.tolerance),
     "relative tolerance of numerical ranks")
    ("cp-max-rank", po::value<int>(&cp_max_rank)->default_value(cp_max_rank),
     "largest CP rank tried by the CP rank estimate (0 = skip)")
    ("cp-error", po::value<double>(&b.cp.relative_error)
                     ->default_value(d.bounds.cp.relative_error),
     "relative error a CP fit must reach to count")
    ("units", po::value<int>(&s.units)->default_value(d.units), "sweep: N")
    ("steps", po::value<int>(&s.steps)->default_value(d.steps),
     "sweep: optimiser steps")
    ("horizon", po::value<int>(&s.horizon)->default_value(d.horizon),
     "sweep: bins per trial")
    ("batch", po::value<int>(&s.batch)->default_value(d.batch), "sweep: trials")
    ("verbose", po::bool_switch(), "sweep: one block per case, not a line")
    ("seed", po::value<std::uint64_t>(&s.seed)->default_value(d.seed), "seed")
    ("threads", po::value<int>(&threads)->default_value(0), cli::kThreadsHelp)
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
                    cp_max_rank > 0,
                    "needs the CP rank estimate (--cp-max-rank > 0)");
  b.run = cli::CommandContext(threads, false);
  b.estimate_cp_rank = cp_max_rank > 0;
  b.cp.max_rank = b.estimate_cp_rank ? cp_max_rank : 1;
  b.cp.seed = s.seed;
  std::string error;
  if (!b.IsValid(&error)) throw Error(error);

  std::unique_ptr<io::OutputFile> out;
  std::vector<BoundsSummary> cases;
  if (sweep) {
    s.bounds = b;
    s.run = b.run;
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
  if (cases.empty() || cases.back().cancelled) {
    std::cerr << "ltr bounds: interrupted by signal "
              << cli::SignalToken().reason() << "; nothing written\n";
    return cli::SignalExitStatus();
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
