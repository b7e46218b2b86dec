// ltr decompose INPUT.h5: CP / Tucker decompositions and rank diagnostics.
#include "ltr/decompose.h"

#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/error.h"
#include "ltr/io.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr decompose INPUT.h5 [--dataset /activity] [--method M]\n"
    "                     (--rank R | --ranks A:B [--restarts K] [--cv])\n"
    "                     [--mask PATH] [-o OUT.h5] ...\n\n"
    "Decomposes a dense 3-way dataset. With --rank, one fit is written to "
    "/cp (or\n/tucker); with --ranks, an ensemble of fits over ranks x "
    "restarts (error,\nsimilarity to the best fit, CORCONDIA) is written to "
    "/ensemble, and with --cv\nheld-out errors to /crossval. See "
    "docs/decompose.md.\n\nexamples:\n"
    "  ltr decompose data/example_tca.h5 --rank 3 -o tca.h5\n"
    "  ltr decompose data/example_tca.h5 --method ncp-hals --ranks 1:6 "
    "--restarts 3 -o ens.h5\n"
    "  ltr decompose x.h5 --method tucker-hosvd --tucker-tol 0.05 -o tk.h5";

MissingData ParseMissing(const std::string& name) {
  if (name == "exact") return MissingData::kExact;
  if (name == "em") return MissingData::kEm;
  throw Error("unknown --missing '" + name + "'; expected exact or em");
}

CpInit ParseInit(const std::string& name) {
  if (name == "random") return CpInit::kRandom;
  if (name == "nvecs") return CpInit::kNvecs;
  throw Error("unknown --init '" + name + "'; expected random or nvecs");
}

}  // namespace

int RunDecompose(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>()->required(), "input HDF5 file")
    ("dataset", po::value<std::string>()->default_value("/activity"),
     "the 3-way dataset to decompose")
    ("method", po::value<std::string>()->default_value("cp-als"),
     "cp-als | cp-opt | ncp-hals | tucker-hosvd | tucker-hooi")
    ("rank", po::value<int>(), "CP rank R of a single fit")
    ("ranks", po::value<std::string>(),
     "rank sweep A:B (ensemble of CP fits for every rank in [A, B])")
    ("restarts", po::value<int>()->default_value(3),
     "fits per rank in a sweep, from different random starts")
    ("cv", po::bool_switch(),
     "also cross-validate the ranks on held-out entries")
    ("test-fraction", po::value<double>()->default_value(0.1),
     "fraction of observed entries held out by --cv")
    ("mask", po::value<std::string>(),
     "dataset in INPUT.h5 marking observed entries (nonzero = observed)")
    ("nan-as-missing", po::bool_switch(),
     "treat NaN entries as missing rather than as an error")
    ("missing", po::value<std::string>()->default_value("exact"),
     "missing-data ALS: exact (masked least squares) | em (imputation)")
    ("nonneg-modes", po::value<std::string>(),
     "ncp-hals: comma-separated modes kept >= 0 (default: all)")
    ("init", po::value<std::string>()->default_value("random"),
     "random | nvecs")
    ("max-iters", po::value<int>()->default_value(500),
     "maximum iterations per fit")
    ("tol", po::value<double>()->default_value(1e-6),
     "stop when the relative error changes by less (0 = run max-iters)")
    ("tucker-ranks", po::value<std::string>(),
     "Tucker multilinear ranks r0,r1,r2 (0 = chosen by --tucker-tol)")
    ("tucker-tol", po::value<double>()->default_value(0.01),
     "Tucker: largest relative error when ranks are chosen")
    ("no-corcondia", po::bool_switch(), "skip CORCONDIA in a sweep")
    ("seed", po::value<std::uint64_t>()->default_value(0),
     "seed of every random draw: same seed, same result")
    ("threads", po::value<int>()->default_value(0),
     "threads (0 = all cores)")
    ("output,o", po::value<std::string>()->required(), "output HDF5 file");
  // clang-format on
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;

  DecomposeOptions opt;
  opt.method = ParseMethod(vm["method"].as<std::string>());
  opt.cp.init = ParseInit(vm["init"].as<std::string>());
  opt.cp.max_iterations = vm["max-iters"].as<int>();
  opt.cp.tolerance = vm["tol"].as<double>();
  opt.cp.seed = vm["seed"].as<std::uint64_t>();
  opt.cp.num_threads = cli::ResolveThreads(vm["threads"].as<int>());
  opt.cp.missing_data = ParseMissing(vm["missing"].as<std::string>());
  opt.tucker.num_threads = opt.cp.num_threads;
  opt.tucker.max_iterations = opt.cp.max_iterations;
  if (opt.cp.tolerance > 0) opt.tucker.tolerance = opt.cp.tolerance;
  opt.tucker.error_tolerance = vm["tucker-tol"].as<double>();
  opt.nan_as_missing = vm["nan-as-missing"].as<bool>();
  opt.corcondia = !vm["no-corcondia"].as<bool>();
  opt.restarts = vm["restarts"].as<int>();
  opt.cross_validate = vm["cv"].as<bool>();
  opt.test_fraction = vm["test-fraction"].as<double>();

  const bool is_tucker = opt.method == DecompositionMethod::kTuckerHosvd ||
                         opt.method == DecompositionMethod::kTuckerHooi;
  if (vm.count("rank") && vm.count("ranks"))
    throw Error("give either --rank or --ranks, not both");
  if (vm.count("rank")) opt.cp.rank = vm["rank"].as<int>();
  if (vm.count("ranks")) {
    const auto range = cli::ParseRange(vm["ranks"].as<std::string>(), "ranks");
    opt.min_rank = range.first;
    opt.max_rank = range.second;
  }
  if (!is_tucker && !vm.count("rank") && !vm.count("ranks"))
    throw Error("give a CP rank with --rank R or a sweep with --ranks A:B");
  if (vm.count("tucker-ranks")) {
    const auto r =
        cli::ParseIntList(vm["tucker-ranks"].as<std::string>(), "tucker-ranks");
    if (r.size() != 3)
      throw Error("option --tucker-ranks: expected three ranks r0,r1,r2");
    opt.tucker.ranks = {r[0], r[1], r[2]};
  }
  if (opt.method == DecompositionMethod::kNcpHals) {
    opt.cp.nonnegative_modes =
        vm.count("nonneg-modes")
            ? cli::ParseIntList(vm["nonneg-modes"].as<std::string>(),
                                "nonneg-modes")
            : std::vector<int>{0, 1, 2};
  } else if (vm.count("nonneg-modes")) {
    throw Error("--nonneg-modes needs --method ncp-hals");
  }

  const std::string input = vm["input"].as<std::string>();
  const std::string dataset = vm["dataset"].as<std::string>();
  io::CheckReadable(input);
  // Fail on a bad output path before any work is done.
  io::OutputFile out(vm["output"].as<std::string>(),
                     cli::CommandLine(argc, argv));
  const Tensor3 x = io::ReadTensor3(input, dataset);
  std::optional<Mask3> mask;
  if (vm.count("mask"))
    mask = io::ReadMask3(input, vm["mask"].as<std::string>());
  const std::string axes = io::HasAttribute(input, dataset, "axes")
                               ? io::ReadStringAttribute(input, dataset, "axes")
                               : "";

  const DecomposeResult result = Decompose(opt, x, mask ? &*mask : nullptr);
  WriteDecomposition(opt, result, axes, &out);
  out.SetAttribute("/", "input", input);
  out.SetAttribute("/", "dataset", dataset);
  out.Commit();
  std::cout << result.Report() << "wrote " << out.path() << "\n";
  return 0;
}

}  // namespace ltr
