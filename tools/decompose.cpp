// ltr decompose INPUT.h5: CP / Tucker decompositions and rank diagnostics.
#include "ltr/decompose/decompose.h"

#include <filesystem>
#include <iostream>
#include <optional>

#include "cli.h"
#include "commands.h"
#include "ltr/core/distributed.h"
#include "ltr/core/error.h"
#include "ltr/decompose/cp_stream.h"
#include "ltr/formats/decomposition_file.h"
#include "ltr/formats/io.h"
#include "ltr/formats/recording.h"
#include "signals.h"

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
    "  ltr decompose counts.h5 --dataset /spikes --method cp-apr --rank 4 "
    "-o apr.h5\n"
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

// The flags that are not DecomposeOptions fields (or not as given).
struct Flags {
  std::string method, init, missing, acceleration;
  int threads = 0;
  bool progress = false;
  bool resume = false;
  bool no_corcondia = false;
  bool random_starts = false;
  bool stream = false;
  bool subtract_first = false;
  CpStreamOptions stream_options;  // max_slab_rows
};

// The options of `ltr decompose`, bound to `opt` and `flags` with the
// library's defaults.
cli::po::options_description DescribeOptions(DecomposeOptions* opt,
                                             Flags* flags) {
  namespace po = cli::po;
  const DecomposeOptions defaults;
  const CpStreamOptions stream_defaults;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>()->required(), "input HDF5 file")
    ("dataset", po::value<std::string>()->default_value("/activity"),
     "the 3-way dataset to decompose")
    ("method", po::value<std::string>(&flags->method)
         ->default_value(MethodName(defaults.method)),
     "cp-als | cp-opt | ncp-hals | cp-apr | tucker-hosvd | tucker-hooi "
     "(cp-apr: Poisson nonnegative CP of counts >= 0)")
    ("rank", po::value<int>(&opt->cp.rank), "CP rank R of a single fit")
    ("ranks", po::value<std::string>(),
     "rank sweep A:B or a list 1,3,5 (an ensemble of CP fits per rank)")
    ("restarts", po::value<int>(&opt->restarts)->default_value(defaults.restarts),
     "fits per rank in a sweep, from different random starts")
    ("cv", po::bool_switch(&opt->cross_validate),
     "also cross-validate the ranks on held-out entries")
    ("test-fraction", po::value<double>(&opt->test_fraction)
         ->default_value(defaults.test_fraction),
     "fraction of observed entries held out by --cv")
    ("mask", po::value<std::string>(),
     "dataset in INPUT.h5 marking observed entries (nonzero or true = "
     "observed); a relative path is beside --dataset")
    ("nan-as-missing", po::bool_switch(&opt->nan_as_missing),
     "treat NaN entries as missing rather than as an error")
    ("missing", po::value<std::string>(&flags->missing)
         ->default_value(MissingDataName(defaults.cp.missing_data)),
     "missing-data ALS: exact (masked least squares) | em (imputation)")
    ("acceleration", po::value<std::string>(&flags->acceleration)
         ->default_value(CpAccelerationName(defaults.cp.acceleration)),
     "cp-als / ncp-hals: line-search (extrapolate after each sweep, kept "
     "only when the error drops) | none")
    ("nonneg-modes", po::value<std::string>(),
     "ncp-hals: comma-separated modes kept >= 0 (default: all)")
    ("init", po::value<std::string>(&flags->init)
         ->default_value(CpInitName(defaults.cp.init)),
     "random | nvecs")
    ("max-iters", po::value<int>(&opt->cp.max_iterations)
         ->default_value(defaults.cp.max_iterations),
     "maximum iterations per fit")
    ("tol", po::value<double>(&opt->cp.tolerance)
         ->default_value(defaults.cp.tolerance),
     "stop when the relative error changes by less (0 = run max-iters)")
    ("kkt-tol", po::value<double>(&opt->cp.apr.kkt_tolerance)
         ->default_value(defaults.cp.apr.kkt_tolerance),
     "cp-apr: stop when every mode's KKT violation max|min(B, 1 - Phi)| is "
     "below this")
    ("inner-iters", po::value<int>(&opt->cp.apr.max_inner_iterations)
         ->default_value(defaults.cp.apr.max_inner_iterations),
     "cp-apr: multiplicative updates per mode and outer iteration (at most)")
    ("kappa", po::value<double>(&opt->cp.apr.kappa)
         ->default_value(defaults.cp.apr.kappa),
     "cp-apr: raise inadmissible zeros (factor entries below --kappa-tol "
     "where the data want more) by this")
    ("kappa-tol", po::value<double>(&opt->cp.apr.kappa_tolerance)
         ->default_value(defaults.cp.apr.kappa_tolerance),
     "cp-apr: factor entries below this count as zeros")
    ("apr-epsilon", po::value<double>(&opt->cp.apr.epsilon)
         ->default_value(defaults.cp.apr.epsilon),
     "cp-apr: floor of the model where the data are divided by it")
    ("tucker-ranks", po::value<std::string>(),
     "Tucker multilinear ranks r0,r1,r2 (0 = chosen by --tucker-tol)")
    ("tucker-tol", po::value<double>(&opt->tucker.error_tolerance)
         ->default_value(defaults.tucker.error_tolerance),
     "Tucker: largest relative error when ranks are chosen")
    ("no-corcondia", po::bool_switch(&flags->no_corcondia),
     "skip CORCONDIA in a sweep")
    ("random-starts", po::bool_switch(&flags->random_starts),
     "sweep: every restart from --init (by default restart 0 of each rank "
     "starts from nvecs)")
    ("seed", po::value<std::uint64_t>(&opt->cp.seed)
         ->default_value(defaults.cp.seed),
     "seed of every random draw: same seed, same result")
    ("threads", po::value<int>(&flags->threads)->default_value(0),
     cli::kThreadsHelp)
    ("progress", po::bool_switch(&flags->progress),
     "print a line to stderr as each fit of a sweep finishes")
    ("resume", po::bool_switch(&flags->resume),
     "continue the interrupted sweep in OUT.h5 (give the same options)")
    ("stream", po::bool_switch(&flags->stream),
     "cp-als without loading the dataset: read it in slabs of its first "
     "mode within --memory-budget (one pass over the file per iteration)")
    ("memory-budget", po::value<std::string>(),
     "bytes for the streamed fit's buffers, e.g. 256M, 1G (default 1G); "
     "given without --stream, streams when the dataset as float64 is larger")
    ("slab-rows", po::value<Index>(&flags->stream_options.max_slab_rows)
         ->default_value(stream_defaults.max_slab_rows),
     "--stream: at most this many first-mode rows per slab (0 = budget)")
    ("subtract-first", po::bool_switch(&flags->subtract_first),
     "decompose [X_i - X_0], i >= 1 (the update tensor [W_k - W_0] of a "
     "trajectory); streamed")
    ("output,o", po::value<std::string>()->required(), "output HDF5 file");
  // clang-format on
  return options;
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
  const bool apr = method == DecompositionMethod::kCpApr;
  cli::RejectUnless(
      vm,
      {"kkt-tol", "inner-iters", "kappa", "kappa-tol", "apr-epsilon"},
      apr,
      "needs --method cp-apr");
  cli::RejectUnless(
      vm, {"tol"}, !apr, "is not cp-apr's stopping test: give --kkt-tol");
  cli::RejectUnless(vm,
                    {"nonneg-modes"},
                    method == DecompositionMethod::kNcpHals,
                    "needs --method ncp-hals");
  cli::RejectUnless(vm,
                    {"restarts", "progress"},
                    sweep || cv,
                    "needs a sweep (--ranks A:B) or --cv");
  cli::RejectUnless(
      vm, {"no-corcondia", "random-starts"}, sweep, "needs --ranks A:B");
  cli::RejectUnless(vm,
                    {"acceleration"},
                    method == DecompositionMethod::kCpAls ||
                        method == DecompositionMethod::kNcpHals,
                    "applies to the sweeps of --method cp-als or ncp-hals");
  cli::RejectUnless(vm, {"test-fraction"}, cv, "needs --cv");
  cli::RejectUnless(
      vm,
      {"missing"},
      method == DecompositionMethod::kCpAls &&
          (vm.count("mask") || vm["nan-as-missing"].as<bool>() || cv),
      "chooses how cp-als treats missing entries: it needs --method cp-als "
      "and --mask, --nan-as-missing or --cv");
}

// The rest of `opt` from the flags: enums, the ranks, the Tucker settings
// that follow the CP ones, the run context. Throws on flags that disagree.
void CompleteOptions(const cli::po::variables_map& vm,
                     const Flags& flags,
                     DecomposeOptions* opt) {
  opt->method = ParseMethod(flags.method);
  opt->cp.init = ParseCpInit(flags.init);
  opt->cp.missing_data = ParseMissingData(flags.missing);
  opt->cp.acceleration = ParseCpAcceleration(flags.acceleration);
  opt->run = cli::CommandContext(flags.threads, flags.progress);
  opt->tucker.max_iterations = opt->cp.max_iterations;
  if (opt->cp.tolerance > 0) opt->tucker.tolerance = opt->cp.tolerance;
  opt->corcondia = !flags.no_corcondia;
  opt->nvecs_first = !flags.random_starts;

  const bool is_tucker = opt->method == DecompositionMethod::kTuckerHosvd ||
                         opt->method == DecompositionMethod::kTuckerHooi;
  if (vm.count("rank") && vm.count("ranks"))
    throw Error("give either --rank or --ranks, not both");
  RejectIgnoredOptions(vm, opt->method);
  if (vm.count("ranks"))
    opt->ranks = cli::ParseRanks(vm["ranks"].as<std::string>(), "ranks");
  if (!is_tucker && !vm.count("rank") && !vm.count("ranks"))
    throw Error("give a CP rank with --rank R or a sweep with --ranks A:B");
  if (vm.count("tucker-ranks")) {
    const auto r =
        cli::ParseIntList(vm["tucker-ranks"].as<std::string>(), "tucker-ranks");
    if (r.size() != 3)
      throw Error("option --tucker-ranks: expected three ranks r0,r1,r2");
    opt->tucker.ranks = {r[0], r[1], r[2]};
  }
  if (opt->method == DecompositionMethod::kNcpHals) {
    opt->cp.nonnegative_modes =
        vm.count("nonneg-modes")
            ? cli::ParseIntList(vm["nonneg-modes"].as<std::string>(),
                                "nonneg-modes")
            : std::vector<int>{0, 1, 2};
  }
  if (flags.resume && !opt->IsSweep())
    throw Error("--resume continues a rank sweep (--ranks A:B)");
}

// Where the command reads and writes.
struct Paths {
  std::string input, dataset, output, mask, command;
  bool root = true;  // the process of an MPI run that writes
};

Paths CommandPaths(const cli::po::variables_map& vm,
                   const DecomposeOptions& opt,
                   const std::string& command) {
  Paths p;
  p.input = vm["input"].as<std::string>();
  p.dataset = CompanionPath("/", vm["dataset"].as<std::string>());
  p.output = vm["output"].as<std::string>();
  // A relative --mask is beside the dataset (ltr/recording.h).
  if (vm.count("mask"))
    p.mask = CompanionPath(p.dataset, vm["mask"].as<std::string>());
  p.command = command;
  p.root = !opt.run.communicator || opt.run.communicator->rank() == 0;
  return p;
}

std::string AxesOf(const Paths& p) {
  return io::StringAttributeOr(p.input, p.dataset, "axes");
}

// --stream, --subtract-first, or a --memory-budget the dataset exceeds.
bool Streams(const cli::po::variables_map& vm,
             const Flags& flags,
             const Paths& p) {
  if (flags.stream || flags.subtract_first) return true;
  if (!vm.count("memory-budget")) return false;
  double bytes = sizeof(double);
  for (Index n : io::DatasetShape(p.input, p.dataset)) bytes *= n;
  return bytes >
         ParseBytes(vm["memory-budget"].as<std::string>(), "memory-budget");
}

// --stream: CP-ALS reading the dataset in slabs within --memory-budget
// (ltr/cp_stream.h); the usual /cp output plus the streaming figures.
int RunStreamed(const cli::po::variables_map& vm,
                const DecomposeOptions& opt,
                const Flags& flags,
                const Paths& p) {
  if (opt.method != DecompositionMethod::kCpAls || opt.IsSweep() ||
      opt.cross_validate || vm.count("mask") || opt.nan_as_missing ||
      flags.resume)
    throw Error(
        "--stream (or --subtract-first) is for one cp-als fit (--rank R), "
        "without --ranks, --cv, --mask, --nan-as-missing or --resume");
  if (!p.root) return 0;  // one process does the whole fit
  io::CheckReadable(p.input);
  io::RefuseOutputOverInput(p.output, {p.input});
  { io::OutputFile probe(p.output, p.command); }  // a bad -o fails before work
  CpStreamOptions so = flags.stream_options;
  so.cp = opt.cp;
  so.run = opt.run;
  if (vm.count("memory-budget"))
    so.memory_budget =
        ParseBytes(vm["memory-budget"].as<std::string>(), "memory-budget");
  const SlabSource source =
      FileSlabSource(p.input, p.dataset, flags.subtract_first);
  const CpStreamSummary s = CpStream(so, source);

  DecomposeResult result;
  result.cp = s.cp;
  // Stopped by a signal: the fit so far goes beside the output.
  const bool interrupted = opt.run.cancelled();
  io::OutputFile out(interrupted ? io::PartialPath(p.output) : p.output,
                     p.command);
  const std::string failure = result.Failure();
  WriteDecomposition(opt, result, AxesOf(p), &out);
  WriteDecomposeRecord({p.input, p.dataset, failure}, &out);
  WriteStreamedFitRecord(MakeStreamedFitRecord(so, s, flags.subtract_first),
                         &out);
  out.Commit();
  std::cout << s.cp.BriefReport() << "\nwrote " << out.path() << "\n";
  std::cerr << s.StreamReport() << "\n";
  if (interrupted) {
    std::cerr << "ltr decompose: interrupted by signal "
              << cli::SignalToken().reason() << "; the fit so far is in "
              << out.path() << " (" << p.output
              << " is unchanged; a streamed fit is not resumable)\n";
    return cli::SignalExitStatus();
  }
  return failure.empty() ? 0 : Failed(failure, out);
}

// One fit, or a sweep (resumed from OUT.h5.partial with --resume).
int RunInMemory(const DecomposeOptions& options,
                const Flags& flags,
                const Paths& p) {
  io::CheckReadable(p.input);
  io::RefuseOutputOverInput(p.output, {p.input});
  // Only the first process of an MPI run writes; it fails on a bad output
  // path before any work is done.
  if (p.root) {
    io::OutputFile probe(p.output, p.command);
  }
  const Tensor3 x = io::ReadTensor3(p.input, p.dataset);
  std::optional<Mask3> mask;
  if (!p.mask.empty()) mask = io::ReadMask3(p.input, p.mask);
  const std::string axes = AxesOf(p);
  DecomposeOptions opt = options;
  opt.data_name =
      "input=" + p.input + " dataset=" + p.dataset + " mask=" + p.mask;
  // An interrupted sweep leaves its finished fits in output's partial file.
  const std::string partial = io::PartialPath(p.output);
  if (flags.resume) opt.resume_from = partial;

  const DecomposeResult result = Decompose(opt, x, mask ? &*mask : nullptr);
  if (!p.root) return result.complete() ? 0 : cli::SignalExitStatus();
  io::OutputFile out(result.complete() ? p.output : partial, p.command);
  const std::string failure = result.Failure();
  WriteDecomposition(opt, result, axes, &out);
  WriteDecomposeRecord({p.input, p.dataset, failure}, &out);
  out.Commit();
  std::cout << result.Report() << "wrote " << out.path() << "\n";
  if (result.complete() && !failure.empty()) return Failed(failure, out);
  if (!result.complete()) {
    std::cerr << "ltr decompose: interrupted; " << out.path()
              << " holds the fits that finished (" << p.output
              << " is unchanged). Continue with the same command and "
                 "--resume.\n";
    return cli::SignalExitStatus();
  }
  return 0;
}

}  // namespace

int RunDecompose(int argc, char** argv) {
  DecomposeOptions opt;
  Flags flags;
  const cli::po::options_description options = DescribeOptions(&opt, &flags);
  cli::po::positional_options_description positional;
  positional.add("input", 1);
  cli::po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;
  CompleteOptions(vm, flags, &opt);
  const Paths paths = CommandPaths(vm, opt, cli::CommandLine(argc, argv));
  if (Streams(vm, flags, paths)) return RunStreamed(vm, opt, flags, paths);
  cli::RejectUnless(vm, {"slab-rows"}, false, "needs --stream");
  return RunInMemory(opt, flags, paths);
}

}  // namespace ltr
