// ltr fit DATA.h5: fit an RNN (full, low-rank, low-tensor-rank) to a
// recording, optionally sweeping ranks with cross-validation.
#include "ltr/fit/fit.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "ltr/core/distributed.h"
#include "ltr/core/error.h"
#include "ltr/core/interrupt.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"
#include "recording_options.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr fit DATA.h5 [--model full|lowrank|ltr] (--rank R | --ranks "
    "A:B [--seeds K])\n"
    "               [--units N] [--seed S] [options] -o MODEL.h5\n"
    "       ltr fit --resume -o MODEL.h5 [options to change]\n\n"
    "Fits a rate RNN to the recording's /activity (trial x time x neuron) "
    "with Ceres'\nL-BFGS (or full-batch Adam: --optimizer adam) and writes "
    "the fitted model\n(/model), its fit statistics (/fit) and, for a rank "
    "sweep, the cross-validation\ntable (/cv). Held-out entries (default: "
    "11x11x3 blocks with 5x5x3 test centres\nand a guard ring; or "
    "--test-mask) score the fit; the split is written to\n/heldout/train_mask "
    "and /heldout/test_mask.\n\n"
    "The activity's axes are read in the order its `axes` attribute names "
    "(--axes\noverrides; trial,time,neuron without one). Its mask, condition, "
    "inputs and\nepoch are its siblings (/s1/mask beside /s1/activity) unless "
    "named; relative\npaths are relative to its group, FILE.h5:/path reads "
    "another file.\n\n"
    "MODEL.h5 is only ever replaced by a complete fit. SIGINT/SIGTERM stop "
    "the fit\nat the next iteration and write it to MODEL.h5.partial (/fit "
    "termination =\ninterrupted; exit status 128 + signal), where "
    "--checkpoint-every checkpoints\ngo too. --resume continues it "
    "with the options recorded\nin it, those given again winning, and "
    "the remaining iteration budget. L-BFGS\nrestarts with an empty memory "
    "(Adam with zero moments), so the path differs\nfrom an uninterrupted "
    "run's but a converged fit reaches the same optimum\n(docs/fit.md). A "
    "rank sweep is not resumable. See docs/fit.md.\n\n"
    "A diverged fit, or one no better than predicting each neuron's mean, is "
    "written\n(last finite parameters, attribute failure) and exits with "
    "status 1. Likely\nmistakes (counts with --loss mse, no /condition and "
    "no /inputs, z-scored data\nthrough tanh with --readout identity) get a "
    "warning; options the chosen model\nor optimiser ignores are errors.\n\n"
    "examples:\n"
    "  ltr fit data.h5 --model ltr --rank 3 -o model.h5\n"
    "  ltr fit data.h5 --model ltr --ranks 1:6 --seeds 3 -o sweep.h5\n"
    "  ltr fit data.h5 --model ltr --rank 5 --optimizer adam --max-iters "
    "3000 \\\n      --learning-rate 3e-3 --lr-decay 0.01 -o model.h5\n"
    "  ltr fit counts.h5 --loss poisson --readout orthonormal --units 50 "
    "--rank 4 -o m.h5\n"
    "  ltr fit rec.h5 --dataset /session1/activity --axes trial,neuron,time "
    "--rank 3 -o m.h5\n"
    "  ltr fit data.h5 --rank 3 --test-mask model.h5:/heldout/test_mask -o "
    "m2.h5\n"
    "  ltr fit --resume -o model.h5";

// What --resume carries over from the checkpoint into the new run.
struct ResumeState {
  std::string command;  // the --resume command line as typed
  int iterations = 0;   // iterations done before
  double seconds = 0;
  double initial_loss = 0;
  Vector loss, test_loss;  // /fit history so far (may be empty)
};

// Splits a `command` attribute (cli::CommandLine) back into words: words
// with blanks or quotes were written inside single quotes.
std::vector<std::string> SplitCommandLine(const std::string& line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
      continue;
    }
    if (line[i] == '\'') {
      const size_t end = line.find('\'', i + 1);
      if (end == std::string::npos)
        throw Error("unbalanced quote in the recorded command '" + line + "'");
      words.push_back(line.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      const size_t end = std::min(line.find(' ', i), line.size());
      words.push_back(line.substr(i, end - i));
      i = end;
    }
  }
  return words;
}

// Moves the history and counters of the run before the resume in front of
// this run's, so the output reads as one fit (iteration 0 of this run is
// the checkpoint's last iteration).
void MergeResumed(const ResumeState& r, FitSummary* s) {
  std::vector<FitIteration> history;
  for (Index i = 0; i < r.loss.size(); ++i)
    history.push_back({static_cast<int>(i),
                       r.loss(i),
                       i < r.test_loss.size()
                           ? r.test_loss(i)
                           : std::numeric_limits<double>::quiet_NaN(),
                       0.0});
  for (size_t i = 1; i < s->history.size(); ++i) {
    FitIteration it = s->history[i];
    it.iteration += r.iterations;
    it.seconds += r.seconds;
    history.push_back(it);
  }
  s->history = std::move(history);
  s->iterations += r.iterations;
  s->best_iteration += r.iterations;
  s->seconds += r.seconds;
  s->initial_loss = r.initial_loss;
}

cli::po::options_description FitOptionsDescription() {
  namespace po = cli::po;
  po::options_description options("Options");
  FitOptions d;  // defaults
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>(), "recording (HDF5)");
  cli::AddRecordingOptions(&options, true, true);
  options.add_options()
    ("test-mask", po::value<std::string>(),
     "held-out entries (1 = scored, never trained on), a dataset of the "
     "activity's shape (e.g. FIT.h5:/heldout/test_mask); replaces "
     "--held-out")
    ("model", po::value<std::string>()->default_value("ltr"),
     "full | lowrank | ltr")
    ("rank", po::value<int>(), "rank R of lowrank and ltr models")
    ("ranks", po::value<std::string>(),
     "rank sweep A:B (or a list 1,2,4), chosen by held-out loss")
    ("seeds", po::value<int>()->default_value(1), "fits per rank in a sweep")
    ("units", po::value<int>()->default_value(0),
     "model units N (0 = number of neurons)")
    ("nonlinearity", po::value<std::string>()->default_value("tanh"),
     "tanh | relu | softplus | identity")
    ("alpha", po::value<double>()->default_value(d.alpha),
     "dt / tau of the Euler step")
    ("loss", po::value<std::string>()->default_value("mse"),
     "mse (rates) | poisson (counts, rate = softplus(output))")
    ("readout", po::value<std::string>()->default_value("free"),
     "free | orthonormal | identity (units = neurons, C = I)")
    ("no-inputs", po::bool_switch(), "ignore the recording's /inputs")
    ("condition-inputs", po::bool_switch(),
     "learn a constant input per condition")
    ("conditions", po::value<int>()->default_value(0),
     "number of conditions (0 = 1 + largest /condition label)")
    ("base-gain", po::value<double>()->default_value(0.0),
     "fixed random base W0 = g J, J ~ N(0, 1/N) (0 = none)")
    ("smoothing", po::value<std::string>()->default_value("none"),
     "trial-factor prior: none | second-diff | gp (rational quadratic)")
    ("smoothing-weight", po::value<double>()->default_value(1.0),
     "weight of the smoothing penalty")
    ("smoothing-length", po::value<double>()->default_value(15.0),
     "gp length scale in trials")
    ("no-epoch-breaks", po::bool_switch(),
     "smooth across /epoch boundaries too")
    ("l2-w", po::value<double>()->default_value(0.0), "L2 on w (or a, b)")
    ("l2-c", po::value<double>()->default_value(0.0), "L2 on c")
    ("l2-inputs", po::value<double>()->default_value(0.0), "L2 on w_in and h")
    ("l2-x0", po::value<double>()->default_value(0.0), "L2 on x0")
    ("l2-readout", po::value<double>()->default_value(0.0), "L2 on readout")
    ("l2-activity", po::value<double>()->default_value(0.0),
     "L2 on unit activity phi(x)")
    ("optimizer", po::value<std::string>()->default_value("lbfgs"),
     "lbfgs (Ceres) | adam (full batch, P23's procedure)")
    ("max-iters", po::value<int>()->default_value(d.max_iterations),
     "maximum iterations per fit")
    ("learning-rate", po::value<double>()->default_value(d.learning_rate),
     "adam: initial learning rate")
    ("lr", po::value<double>(), "same as --learning-rate")
    ("lr-decay", po::value<double>()->default_value(d.learning_rate_decay),
     "adam: final learning rate / initial, reached along a half cosine at "
     "--max-iters (1 = constant)")
    ("tol", po::value<double>()->default_value(d.function_tolerance),
     "relative cost-change tolerance")
    ("max-seconds", po::value<double>()->default_value(d.max_seconds),
     "wall-clock limit per fit")
    ("held-out", po::value<std::string>()->default_value("blocks"),
     "blocks | neurons | none")
    ("held-out-seed", po::value<std::uint64_t>()->default_value(0),
     "seed of the held-out split")
    ("neuron-fraction", po::value<double>()->default_value(0.2),
     "--held-out neurons: fraction of neurons held out")
    ("trial-fraction", po::value<double>()->default_value(0.2),
     "--held-out neurons: fraction of trials they are held out on")
    ("patience", po::value<int>()->default_value(0),
     "early stopping after this many iterations without held-out improvement "
     "(0 = off)")
    ("checkpoint-every", po::value<int>()->default_value(0),
     "write the current model to the output every K iterations (0 = off)")
    ("progress", po::value<int>()->default_value(0),
     "print progress to stderr every K iterations (0 = off)")
    ("start", po::value<std::string>()->default_value("auto"),
     "initialisation: data (one-step least squares on the activity, see "
     "docs/fit.md) | random | auto (data with --readout identity, else "
     "random)")
    ("init", po::value<std::string>(),
     "start from the model in this file (a checkpoint, an earlier fit)")
    ("seed", po::value<std::uint64_t>()->default_value(0),
     "seed of the initialisation")
    ("threads", po::value<int>()->default_value(0), cli::kThreadsHelp)
    ("resume", po::bool_switch(),
     "continue the interrupted fit in the output file from its checkpoint")
    ("output,o", po::value<std::string>()->required(), "output HDF5 file");
  // clang-format on
  return options;
}

cli::po::positional_options_description FitPositional() {
  cli::po::positional_options_description positional;
  positional.add("input", 1);
  return positional;
}

// A fit that must not be trusted (FitSummary::Failure) was written, marked
// with the root attribute `failure`: one line and exit status 1.
int Failed(const std::string& failure, const std::string& path) {
  std::cerr << "ltr fit: " << failure << "; " << path
            << " holds the fit (the last finite parameters), marked with the "
               "attribute failure\n";
  return 1;
}

// Options the chosen model, optimiser or hold-out would ignore are errors.
void RejectIgnoredOptions(const cli::po::variables_map& vm,
                          const FitOptions& o) {
  using cli::RejectUnless;
  const bool ltr = o.kind == WeightKind::kLowTensorRank;
  const bool smoothing = o.smoothing.kind != TrialSmoothing::kNone;
  RejectUnless(vm,
               {"rank"},
               o.kind != WeightKind::kFull,
               "needs --model lowrank or ltr (a full model has no rank)");
  RejectUnless(vm,
               {"smoothing", "l2-c"},
               ltr,
               "acts on the trial factors of --model ltr");
  RejectUnless(vm,
               {"smoothing-weight", "no-epoch-breaks"},
               smoothing,
               "needs --smoothing second-diff or gp");
  RejectUnless(vm,
               {"smoothing-length"},
               o.smoothing.kind == TrialSmoothing::kGaussianProcess,
               "needs --smoothing gp");
  RejectUnless(vm,
               {"learning-rate", "lr-decay"},
               o.optimizer == FitOptimizer::kAdam,
               "needs --optimizer adam");
  RejectUnless(vm,
               {"tol"},
               o.optimizer == FitOptimizer::kLbfgs,
               "is L-BFGS's convergence test (Adam runs --max-iters)");
  RejectUnless(vm, {"seeds"}, vm.count("ranks") > 0, "needs --ranks A:B");
  RejectUnless(vm,
               {"neuron-fraction", "trial-fraction"},
               o.hold_out.scheme == HoldOut::kNeurons,
               "needs --held-out neurons");
  RejectUnless(vm,
               {"held-out-seed"},
               o.hold_out.scheme != HoldOut::kNone,
               "needs held-out data (--held-out blocks or neurons)");
  RejectUnless(vm,
               {"l2-readout"},
               o.readout != ReadoutKind::kIdentity,
               "needs a learned readout (--readout free or orthonormal)");
  RejectUnless(vm,
               {"start"},
               !vm.count("init"),
               "is replaced by --init (the fit starts from the given model)");
}

// One fit or sweep from parsed options; `resume` when continuing one.
int FitWith(int argc,
            char** argv,
            const cli::po::variables_map& vm,
            const ResumeState* resume) {
  if (!vm.count("input")) throw cli::po::error("give the recording DATA.h5");
  FitOptions o;
  o.kind = ParseWeightKind(vm["model"].as<std::string>());
  o.units = vm["units"].as<int>();
  o.nonlinearity = ParseNonlinearity(vm["nonlinearity"].as<std::string>());
  o.alpha = vm["alpha"].as<double>();
  o.loss.loss = ParseRnnLoss(vm["loss"].as<std::string>());
  o.readout = ParseReadoutKind(vm["readout"].as<std::string>());
  o.external_inputs = !vm["no-inputs"].as<bool>();
  o.condition_inputs = vm["condition-inputs"].as<bool>();
  o.conditions = vm["conditions"].as<int>();
  o.base_gain = vm["base-gain"].as<double>();
  o.smoothing.kind = ParseTrialSmoothing(vm["smoothing"].as<std::string>());
  o.smoothing.weight = vm["smoothing-weight"].as<double>();
  o.smoothing.length_scale = vm["smoothing-length"].as<double>();
  o.smoothing_breaks_at_epochs = !vm["no-epoch-breaks"].as<bool>();
  o.loss.l2_w = vm["l2-w"].as<double>();
  o.loss.l2_c = vm["l2-c"].as<double>();
  o.loss.l2_w_in = o.loss.l2_h = vm["l2-inputs"].as<double>();
  o.loss.l2_x0 = vm["l2-x0"].as<double>();
  o.loss.l2_readout = vm["l2-readout"].as<double>();
  o.loss.l2_activity = vm["l2-activity"].as<double>();
  o.optimizer = ParseFitOptimizer(vm["optimizer"].as<std::string>());
  o.max_iterations = vm["max-iters"].as<int>();
  o.learning_rate = vm["learning-rate"].as<double>();
  o.learning_rate_decay = vm["lr-decay"].as<double>();
  o.function_tolerance = vm["tol"].as<double>();
  o.max_seconds = vm["max-seconds"].as<double>();
  o.hold_out.scheme = ParseHoldOut(vm["held-out"].as<std::string>());
  o.hold_out.seed = vm["held-out-seed"].as<std::uint64_t>();
  o.hold_out.neuron_fraction = vm["neuron-fraction"].as<double>();
  o.hold_out.trial_fraction = vm["trial-fraction"].as<double>();
  const bool given_split = vm.count("test-mask") > 0;
  for (const char* name :
       {"held-out", "held-out-seed", "neuron-fraction", "trial-fraction"})
    if (given_split && vm.count(name) && !vm[name].defaulted())
      throw cli::po::error("--test-mask gives the held-out entries; drop --" +
                           std::string(name));
  o.patience = vm["patience"].as<int>();
  o.progress_every = vm["progress"].as<int>();
  o.seed = vm["seed"].as<std::uint64_t>();
  o.initialization = ParseFitInitialization(vm["start"].as<std::string>());
  o.num_threads = cli::ResolveThreads(vm["threads"].as<int>());
  o.command = cli::CommandLine(argc, argv);
  const std::string output = vm["output"].as<std::string>();
  o.checkpoint_every = vm["checkpoint-every"].as<int>();
  // Checkpoints, and what a signal leaves, go beside the output: an earlier
  // complete result in `output` is only replaced by a complete one.
  o.checkpoint_path = io::PartialPath(output);
  if (resume != nullptr)
    o.max_iterations = std::max(0, o.max_iterations - resume->iterations);

  if (vm.count("rank") && vm.count("ranks"))
    throw Error("give either --rank or --ranks, not both");
  RejectIgnoredOptions(vm, o);
  RankSweepOptions sweep;
  const bool is_sweep = vm.count("ranks") > 0;
  if (is_sweep) {
    sweep.ranks = cli::ParseRanks(vm["ranks"].as<std::string>(), "ranks");
    sweep.seeds = vm["seeds"].as<int>();
    if (resume != nullptr)
      throw Error("a rank sweep cannot be resumed; run it again");
    sweep.fit = o;
    std::string error;
    if (!sweep.IsValid(&error)) throw Error(error);
  } else {
    if (o.kind != WeightKind::kFull) {
      if (!vm.count("rank"))
        throw Error(
            "give the rank with --rank R (or a sweep with --ranks A:B)");
      o.rank = vm["rank"].as<int>();
    }
    std::string error;
    if (!o.IsValid(&error)) throw Error(error);
  }

  const std::string input = vm["input"].as<std::string>();
  io::CheckReadable(input);
  const RecordingSource source = cli::RecordingSourceFrom(vm, input, true);
  const std::string test_mask =
      given_split ? vm["test-mask"].as<std::string>() : "";
  std::vector<std::string> inputs = RecordingFiles(source, {test_mask});
  // A resumed fit starts from output's own partial file (--init).
  if (vm.count("init") && resume == nullptr)
    inputs.push_back(vm["init"].as<std::string>());
  io::RefuseOutputOverInput(output, inputs);
  {
    // Fail on a bad output path before any work is done.
    io::OutputFile probe(output, o.command);
  }
  const Recording recording = cli::ReadRecordingAndSay("fit", source);
  if (given_split) {
    o.hold_out.scheme = HoldOut::kGiven;
    o.hold_out.test_mask =
        ReadRecordingMask(source, test_mask, recording.activity.dims());
    sweep.fit.hold_out = o.hold_out;
  }
  if (vm.count("init")) {
    o.initial_parameters = ReadModel(vm["init"].as<std::string>()).parameters;
    sweep.fit.initial_parameters = o.initial_parameters;
  }
  // Computed on every process (it validates the data); printed once.
  for (const std::string& warning : FitWarnings(o, recording))
    if (distributed::IsRoot())
      std::cerr << "ltr fit: warning: " << warning << "\n";
  if (is_sweep) {
    const RankSweepSummary result = SweepRanks(sweep, recording);
    if (InterruptRequested()) {
      // The fits after the signal stopped at once: no table to trust.
      std::cerr << "ltr fit: interrupted by signal " << InterruptSignal()
                << "; a rank sweep is not resumable and nothing was written ("
                << output << " is unchanged)\n";
      return InterruptExitStatus();
    }
    // Under mpirun the processes share the sweep; the first one writes.
    if (!distributed::IsRoot()) return 0;
    io::OutputFile out(output, o.command);
    WriteRankSweep(result, &out);
    out.SetAttribute("/", "input", input);
    const std::string failure = result.Failure();
    if (!failure.empty()) out.SetAttribute("/", "failure", failure);
    out.Commit();
    std::cout << result.BriefReport() << "wrote " << out.path() << "\n";
    if (!failure.empty()) return Failed(failure, out.path());
  } else {
    FitSummary result = FitRnn(o, recording);
    if (resume != nullptr) MergeResumed(*resume, &result);
    const bool interrupted = result.termination == "interrupted";
    io::OutputFile out(interrupted ? io::PartialPath(output) : output,
                       o.command);
    WriteFit(result, &out);
    out.SetAttribute("/", "input", input);
    if (resume != nullptr)
      out.SetAttribute("/", "resumed_command", resume->command);
    const std::string failure = result.Failure();
    if (!failure.empty()) out.SetAttribute("/", "failure", failure);
    out.Commit();
    std::cout << result.BriefReport() << "wrote " << out.path() << "\n";
    if (interrupted) {
      std::cerr << "ltr fit: interrupted by signal " << InterruptSignal()
                << "; the fit so far is in " << out.path()
                << ", continue with: ltr fit --resume -o " << output << "\n";
      return InterruptExitStatus();
    }
    if (!failure.empty()) return Failed(failure, out.path());
  }
  return 0;
}

// ltr fit --resume -o MODEL.h5 [options]: the recorded command line with
// the options given now replacing theirs, started from the checkpoint.
int ResumeFit(int argc, char** argv, const cli::po::variables_map& vm) {
  namespace po = cli::po;
  const std::string output = vm["output"].as<std::string>();
  // The interrupted fit (or its last checkpoint) is output's partial file.
  const std::string partial = io::PartialPath(output);
  if (!std::filesystem::exists(partial))
    throw Error("cannot resume '" + output +
                "': there is no interrupted fit '" + partial + "'" +
                (std::filesystem::exists(output)
                     ? "; to continue a finished fit, start a new one with "
                       "--init " +
                           output
                     : ""));
  io::CheckReadable(partial);
  if (!io::HasAttribute(partial, "/fit", "termination"))
    throw Error("cannot resume '" + output + "': '" + partial +
                "' has no /fit (not written by ltr fit?)");
  const std::string termination =
      io::ReadStringAttribute(partial, "/fit", "termination");
  if (termination != "running" && termination != "interrupted")
    throw Error("cannot resume '" + output + "': the fit in '" + partial +
                "' has finished (" + termination + ")");
  const std::vector<std::string> recorded =
      SplitCommandLine(io::ReadStringAttribute(partial, "/", "command"));
  if (recorded.size() < 2 || recorded[0] != "ltr" || recorded[1] != "fit")
    throw Error("cannot resume '" + output +
                "': its command attribute is not an ltr fit command line");

  po::options_description all = FitOptionsDescription();
  all.add_options()("config", po::value<std::string>(), "");
  const po::parsed_options old_options =
      po::command_line_parser(
          std::vector<std::string>(recorded.begin() + 2, recorded.end()))
          .options(all)
          .positional(FitPositional())
          .run();
  // Options given now first, then the recorded ones they do not replace.
  std::vector<std::string> words = {"fit"};
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) != "--resume") words.push_back(argv[i]);
  for (const po::option& option : old_options.options) {
    const std::string key = cli::OptionName(option.string_key);
    // --init (the checkpoint, added below) replaces the recorded start.
    if (key == "init" || key == "resume" || key == "start") continue;
    if (vm.count(key) && !vm[key].defaulted()) continue;
    words.insert(words.end(),
                 option.original_tokens.begin(),
                 option.original_tokens.end());
  }
  words.push_back("--init");
  words.push_back(partial);

  ResumeState state;
  state.command = cli::CommandLine(argc, argv);
  state.iterations =
      static_cast<int>(io::ReadDoubleAttribute(partial, "/fit", "iterations"));
  state.seconds = io::ReadDoubleAttribute(partial, "/fit", "seconds");
  state.initial_loss = io::ReadDoubleAttribute(partial, "/fit", "initial_loss");
  if (io::HasDataset(partial, "/fit/loss"))
    state.loss = io::ReadVector(partial, "/fit/loss");
  if (io::HasDataset(partial, "/fit/test_loss"))
    state.test_loss = io::ReadVector(partial, "/fit/test_loss");

  std::vector<char*> args;
  for (std::string& w : words) args.push_back(w.data());
  args.push_back(nullptr);
  const int n = static_cast<int>(words.size());
  po::variables_map merged;
  cli::Parse(n,
             args.data(),
             kUsage,
             FitOptionsDescription(),
             FitPositional(),
             &merged);
  return FitWith(n, args.data(), merged, &state);
}

}  // namespace

int RunFit(int argc, char** argv) {
  cli::po::variables_map vm;
  if (!cli::Parse(
          argc, argv, kUsage, FitOptionsDescription(), FitPositional(), &vm))
    return 0;
  if (vm["resume"].as<bool>()) return ResumeFit(argc, argv, vm);
  return FitWith(argc, argv, vm, nullptr);
}

}  // namespace ltr
