// ltr decompose INPUT.h5: CP / Tucker decompositions and rank diagnostics.
#include "ltr/decompose/decompose.h"

#include <filesystem>
#include <iostream>
#include <optional>

#include "cli.h"
#include "commands.h"
#include "ltr/decompose/cp_stream.h"
#include "ltr/core/distributed.h"
#include "ltr/core/error.h"
#include "ltr/core/interrupt.h"
#include "ltr/formats/io.h"
#include "ltr/formats/recording.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr decompose INPUT.h5 [--dataset /activity] [--method M]\n"
    "                     (--rank R | --ranks A:B|1,3,5 [--restarts K] "
    "[--cv])\n"
    "                     [--mask PATH] [-o OUT.h5] ...\n\n"
    "Decomposes a dense 3-way dataset. With --rank, one fit is written to "
    "/cp (or\n/tucker); with --ranks, an ensemble of fits over ranks x "
    "restarts (error,\nsimilarity to the best fit, CORCONDIA) is written to "
    "/ensemble, and with --cv\nheld-out errors to /crossval. See "
    "docs/decompose.md.\n\n"
    "OUT.h5 is only ever replaced by a complete result. A sweep stopped by "
    "Ctrl-C\n(SIGINT) or SIGTERM writes the fits that finished to "
    "OUT.h5.partial (/ensemble\nattribute complete = 0) and exits with "
    "128 + the signal; the same command with\n--resume fits only the rest "
    "and gives the file an uninterrupted run gives.\nUnder `mpirun -np P` "
    "the fits of a sweep are shared\namong P processes with the same result "
    "(docs/scaling.md).\n\n"
    "A fit no better than the zero model (relative error >= 0.9999) or with "
    "non-finite\nvalues is written, marked with the attribute failure, and "
    "exits with status 1.\nAn option the chosen method ignores (e.g. "
    "--restarts with --rank) is an error.\n\nexamples:\n"
    "  ltr decompose data/example_tca.h5 --rank 3 -o tca.h5\n"
    "  ltr decompose data/example_tca.h5 --method ncp-hals --ranks 1:6 "
    "--restarts 3 -o ens.h5\n"
    "  ltr decompose x.h5 --method tucker-hosvd --tucker-tol 0.05 -o tk.h5\n"
    "  mpirun -np 4 ltr decompose x.h5 --ranks 1:10 --restarts 8 --threads 1 "
    "-o ens.h5";

// "1G", "256M", "64k", "1000000" -> bytes (binary multiples; a trailing
// "B" is allowed).
std::int64_t ParseBytes(const std::string& text, const std::string& option) {
  size_t used = 0;
  double value = -1;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = text.substr(used);
  if (unit.size() > 1 && unit.back() == 'B') unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'i') unit.pop_back();
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  if (unit == "k" || unit == "K") scale = 1024.0;
  if (unit == "m" || unit == "M") scale = 1024.0 * 1024;
  if (unit == "g" || unit == "G") scale = 1024.0 * 1024 * 1024;
  if (unit == "t" || unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  if (used == 0 || scale == 0 || !(value >= 0) || value * scale > 9e18)
    throw Error("option --" + option +
                ": expected a size such as 1G, 256M or 1000000 (bytes), "
                "got '" +
                text + "'");
  return static_cast<std::int64_t>(value * scale);
}

// A result that must not be trusted (DecomposeResult::Failure) was written,
// marked with the root attribute `failure`: one line and exit status 1.
int Failed(const std::string& failure, const io::OutputFile& out) {
  std::cerr << "ltr decompose: " << failure << "; " << out.path()
            << " holds the result, marked with the attribute failure\n";
  return 1;
}

// --stream: CP-ALS reading the dataset in slabs within --memory-budget
// (ltr/cp_stream.h); the usual /cp output plus the streaming figures.
int RunStreamed(const cli::po::variables_map& vm,
                const DecomposeOptions& opt,
                const std::string& input,
                const std::string& dataset,
                const std::string& output,
                const std::string& command) {
  if (opt.method != DecompositionMethod::kCpAls || opt.IsSweep() ||
      opt.cross_validate || vm.count("mask") || opt.nan_as_missing ||
      vm["resume"].as<bool>())
    throw Error(
        "--stream (or --subtract-first) is for one cp-als fit (--rank R), "
        "without --ranks, --cv, --mask, --nan-as-missing or --resume");
  if (!distributed::IsRoot()) return 0;  // one process does the whole fit
  io::CheckReadable(input);
  io::RefuseOutputOverInput(output, {input});
  { io::OutputFile probe(output, command); }  // a bad -o fails before work
  CpStreamOptions so;
  so.cp = opt.cp;
  so.memory_budget =
      vm.count("memory-budget")
          ? ParseBytes(vm["memory-budget"].as<std::string>(), "memory-budget")
          : std::int64_t{1} << 30;
  so.max_slab_rows = vm["slab-rows"].as<Index>();
  const bool subtract_first = vm["subtract-first"].as<bool>();
  const SlabSource source = FileSlabSource(input, dataset, subtract_first);
  const CpStreamSummary s = CpStream(so, source);

  DecomposeResult result;
  result.cp = s.cp;
  const std::string axes = io::HasAttribute(input, dataset, "axes")
                               ? io::ReadStringAttribute(input, dataset, "axes")
                               : "";
  // Stopped by a signal: the fit so far goes beside the output.
  const bool interrupted = InterruptRequested();
  io::OutputFile out(interrupted ? io::PartialPath(output) : output, command);
  const std::string failure = result.Failure();
  if (!failure.empty()) out.SetAttribute("/", "failure", failure);
  WriteDecomposition(opt, result, axes, &out);
  out.SetAttribute("/", "input", input);
  out.SetAttribute("/", "dataset", dataset);
  out.SetAttribute("/cp", "streamed", 1);
  out.SetAttribute("/cp", "subtract_first", subtract_first ? 1 : 0);
  out.SetAttribute("/cp", "memory_budget_bytes", so.memory_budget);
  out.SetAttribute(
      "/cp", "slab_rows", static_cast<std::int64_t>(s.plan.slab_rows));
  out.SetAttribute("/cp", "passes", s.passes);
  out.SetAttribute("/cp", "passes_per_iteration", s.passes_per_iteration);
  out.SetAttribute("/cp", "bytes_read", s.bytes_read);
  out.SetAttribute("/cp", "seconds_per_iteration", s.seconds_per_iteration);
  out.SetAttribute("/cp", "peak_rss_bytes", s.peak_rss_bytes);
  out.Commit();
  std::cout << s.cp.BriefReport() << "\nwrote " << out.path() << "\n";
  std::cerr << s.StreamReport() << "\n";
  if (interrupted) {
    std::cerr << "ltr decompose: interrupted by signal " << InterruptSignal()
              << "; the fit so far is in " << out.path() << " (" << output
              << " is unchanged; a streamed fit is not resumable)\n";
    return InterruptExitStatus();
  }
  return failure.empty() ? 0 : Failed(failure, out);
}

// Options the chosen method or mode would ignore are errors.
void RejectIgnoredOptions(const cli::po::variables_map& vm,
                          DecompositionMethod method) {
  const bool tucker = method == DecompositionMethod::kTuckerHosvd ||
                      method == DecompositionMethod::kTuckerHooi;
  const std::string name = MethodName(method);
  const bool sweep = vm.count("ranks") > 0;
  const bool cv = vm["cv"].as<bool>();
  cli::RejectUnless(vm,
                    {"rank", "ranks", "restarts", "cv", "init", "seed"},
                    !tucker,
                    "is for CP methods, not " + name);
  cli::RejectUnless(vm,
                    {"tucker-ranks", "tucker-tol"},
                    tucker,
                    "is for tucker-hosvd and tucker-hooi, not " + name);
  cli::RejectUnless(vm,
                    {"max-iters", "tol"},
                    method != DecompositionMethod::kTuckerHosvd,
                    "is for iterative methods (tucker-hosvd does not iterate)");
  cli::RejectUnless(vm,
                    {"nonneg-modes"},
                    method == DecompositionMethod::kNcpHals,
                    "needs --method ncp-hals");
  cli::RejectUnless(vm,
                    {"restarts", "progress"},
                    sweep || cv,
                    "needs a sweep (--ranks A:B) or --cv");
  cli::RejectUnless(vm, {"no-corcondia"}, sweep, "needs --ranks A:B");
  cli::RejectUnless(vm, {"test-fraction"}, cv, "needs --cv");
  cli::RejectUnless(
      vm,
      {"missing"},
      method == DecompositionMethod::kCpAls &&
          (vm.count("mask") || vm["nan-as-missing"].as<bool>() || cv),
      "chooses how cp-als treats missing entries: it needs --method cp-als "
      "and --mask, --nan-as-missing or --cv");
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
     "rank sweep A:B or a list 1,3,5 (an ensemble of CP fits per rank)")
    ("restarts", po::value<int>()->default_value(3),
     "fits per rank in a sweep, from different random starts")
    ("cv", po::bool_switch(),
     "also cross-validate the ranks on held-out entries")
    ("test-fraction", po::value<double>()->default_value(0.1),
     "fraction of observed entries held out by --cv")
    ("mask", po::value<std::string>(),
     "dataset in INPUT.h5 marking observed entries (nonzero or true = "
     "observed); a relative path is beside --dataset")
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
    ("threads", po::value<int>()->default_value(0), cli::kThreadsHelp)
    ("progress", po::bool_switch(),
     "print a line to stderr as each fit of a sweep finishes")
    ("resume", po::bool_switch(),
     "continue the interrupted sweep in OUT.h5 (give the same options)")
    ("stream", po::bool_switch(),
     "cp-als without loading the dataset: read it in slabs of its first "
     "mode within --memory-budget (one pass over the file per iteration)")
    ("memory-budget", po::value<std::string>(),
     "bytes for the streamed fit's buffers, e.g. 256M, 1G (default 1G); "
     "given without --stream, streams when the dataset as float64 is larger")
    ("slab-rows", po::value<Index>()->default_value(0),
     "--stream: at most this many first-mode rows per slab (0 = budget)")
    ("subtract-first", po::bool_switch(),
     "decompose [X_i - X_0], i >= 1 (the update tensor [W_k - W_0] of a "
     "trajectory); streamed")
    ("output,o", po::value<std::string>()->required(), "output HDF5 file");
  // clang-format on
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;

  DecomposeOptions opt;
  opt.method = ParseMethod(vm["method"].as<std::string>());
  opt.cp.init = ParseCpInit(vm["init"].as<std::string>());
  opt.cp.max_iterations = vm["max-iters"].as<int>();
  opt.cp.tolerance = vm["tol"].as<double>();
  opt.cp.seed = vm["seed"].as<std::uint64_t>();
  opt.cp.num_threads = cli::ResolveThreads(vm["threads"].as<int>());
  opt.cp.missing_data = ParseMissingData(vm["missing"].as<std::string>());
  opt.tucker.num_threads = opt.cp.num_threads;
  opt.tucker.max_iterations = opt.cp.max_iterations;
  if (opt.cp.tolerance > 0) opt.tucker.tolerance = opt.cp.tolerance;
  opt.tucker.error_tolerance = vm["tucker-tol"].as<double>();
  opt.nan_as_missing = vm["nan-as-missing"].as<bool>();
  opt.corcondia = !vm["no-corcondia"].as<bool>();
  opt.restarts = vm["restarts"].as<int>();
  opt.cross_validate = vm["cv"].as<bool>();
  opt.progress = vm["progress"].as<bool>();
  opt.test_fraction = vm["test-fraction"].as<double>();

  const bool is_tucker = opt.method == DecompositionMethod::kTuckerHosvd ||
                         opt.method == DecompositionMethod::kTuckerHooi;
  if (vm.count("rank") && vm.count("ranks"))
    throw Error("give either --rank or --ranks, not both");
  RejectIgnoredOptions(vm, opt.method);
  if (vm.count("rank")) opt.cp.rank = vm["rank"].as<int>();
  if (vm.count("ranks"))
    opt.ranks = cli::ParseRanks(vm["ranks"].as<std::string>(), "ranks");
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
  }

  const bool resume = vm["resume"].as<bool>();
  if (resume && !opt.IsSweep())
    throw Error("--resume continues a rank sweep (--ranks A:B)");

  const std::string input = vm["input"].as<std::string>();
  const std::string dataset =
      CompanionPath("/", vm["dataset"].as<std::string>());
  const std::string output = vm["output"].as<std::string>();
  // A relative --mask is beside the dataset (ltr/recording.h).
  const std::string mask_name =
      vm.count("mask") ? CompanionPath(dataset, vm["mask"].as<std::string>())
                       : "";
  if (vm["stream"].as<bool>() || vm["subtract-first"].as<bool>() ||
      (vm.count("memory-budget") && [&] {
        double bytes = sizeof(double);
        for (Index n : io::DatasetShape(input, dataset)) bytes *= n;
        return bytes > ParseBytes(vm["memory-budget"].as<std::string>(),
                                  "memory-budget");
      }()))
    return RunStreamed(
        vm, opt, input, dataset, output, cli::CommandLine(argc, argv));
  cli::RejectUnless(vm, {"slab-rows"}, false, "needs --stream");
  io::CheckReadable(input);
  io::RefuseOutputOverInput(output, {input});
  // Only the first process of an MPI run writes; it fails on a bad output
  // path before any work is done.
  const bool root = distributed::IsRoot();
  const std::string command = cli::CommandLine(argc, argv);
  if (root) {
    io::OutputFile probe(output, command);
  }
  const Tensor3 x = io::ReadTensor3(input, dataset);
  std::optional<Mask3> mask;
  if (!mask_name.empty()) mask = io::ReadMask3(input, mask_name);
  const std::string axes = io::HasAttribute(input, dataset, "axes")
                               ? io::ReadStringAttribute(input, dataset, "axes")
                               : "";
  const std::string key = ResumeKey(opt, x.dims()) + " input=" + input +
                          " dataset=" + dataset + " mask=" + mask_name;

  // An interrupted sweep leaves its finished fits in output's partial file.
  const std::string partial = io::PartialPath(output);
  std::optional<DecomposeResult> earlier;
  if (resume) {
    if (!std::filesystem::exists(partial))
      throw Error("--resume: there is no interrupted sweep '" + partial +
                  "'; run without --resume to start");
    if (!io::HasAttribute(partial, "/", "resume_key"))
      throw Error("--resume: " + partial + " is not the output of a sweep");
    const std::string was = io::ReadStringAttribute(partial, "/", "resume_key");
    if (was != key)
      throw Error(
          "--resume: the options differ from those of the run that "
          "wrote " +
          partial + " (it had '" + was + "', now '" + key + "')");
    earlier = ReadDecomposition(partial);
  }

  const DecomposeResult result =
      Decompose(opt, x, mask ? &*mask : nullptr, earlier ? &*earlier : nullptr);
  if (!root) return result.complete() ? 0 : InterruptExitStatus();
  io::OutputFile out(result.complete() ? output : partial, command);
  WriteDecomposition(opt, result, axes, &out);
  out.SetAttribute("/", "input", input);
  out.SetAttribute("/", "dataset", dataset);
  if (opt.IsSweep()) out.SetAttribute("/", "resume_key", key);
  const std::string failure = result.Failure();
  if (!failure.empty()) out.SetAttribute("/", "failure", failure);
  out.Commit();
  std::cout << result.Report() << "wrote " << out.path() << "\n";
  if (result.complete() && !failure.empty()) return Failed(failure, out);
  if (!result.complete()) {
    std::cerr << "ltr decompose: interrupted; " << out.path()
              << " holds the fits that finished (" << output
              << " is unchanged). Continue with the same command and "
                 "--resume.\n";
    return InterruptExitStatus();
  }
  return 0;
}

}  // namespace ltr
