// ltr fit DATA.h5: fit an RNN (full, low-rank, low-tensor-rank) to a
// recording, optionally sweeping ranks with cross-validation.
#include "ltr/fit/fit.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "ltr/core/distributed.h"
#include "ltr/core/error.h"
#include "ltr/fit/metrics.h"
#include "ltr/formats/fit_file.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"
#include "recording_options.h"
#include "signals.h"

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

// The command line: options bound straight to the fields of `fit`, enums
// by name, and what is not a fit option.
struct FitFlags {
  FitOptions fit;
  int seeds = RankSweepOptions().seeds;
  std::string model, nonlinearity, loss, readout, smoothing, optimizer;
  std::string held_out, start;
  bool no_inputs = false, no_epoch_breaks = false, resume = false;
  int threads = 0;  // --threads (0 = every core); a resume: the recorded
};

// A switch whose value is `value` when not given (a resumed fit's recorded
// switches; the help shows none of these defaults).
cli::po::typed_value<bool>* Switch(bool* flag, bool value) {
  cli::po::typed_value<bool>* v = cli::po::bool_switch(flag);
  if (value) v->default_value(true);
  return v;
}

// Options with the defaults `d`: FitOptions' own, or a resumed fit's
// recorded ones (so that only the options given again change).
cli::po::options_description FitOptionsDescription(FitFlags* f,
                                                   const FitOptions& d) {
  namespace po = cli::po;
  po::options_description options("Options");
  FitOptions& o = f->fit;
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>(), "recording (HDF5)");
  cli::AddRecordingOptions(&options, true, true);
  options.add_options()
    ("test-mask", po::value<std::string>(),
     "held-out entries (1 = scored, never trained on), a dataset of the "
     "activity's shape (e.g. FIT.h5:/heldout/test_mask); replaces "
     "--held-out")
    ("model", po::value<std::string>(&f->model)
         ->default_value(WeightKindName(d.kind)),
     "full | lowrank | ltr")
    ("rank", po::value<int>(), "rank R of lowrank and ltr models")
    ("ranks", po::value<std::string>(),
     "rank sweep A:B (or a list 1,2,4), chosen by held-out loss")
    ("seeds", po::value<int>(&f->seeds)->default_value(f->seeds),
     "fits per rank in a sweep")
    ("units", po::value<int>(&o.units)->default_value(d.units),
     "model units N (0 = number of neurons)")
    ("nonlinearity", po::value<std::string>(&f->nonlinearity)
         ->default_value(NonlinearityName(d.nonlinearity)),
     "tanh | relu | softplus | identity")
    ("alpha", po::value<double>(&o.alpha)->default_value(d.alpha),
     "dt / tau of the Euler step")
    ("loss", po::value<std::string>(&f->loss)
         ->default_value(RnnLossName(d.loss.loss)),
     "mse (rates) | poisson (counts, rate = softplus(output))")
    ("readout", po::value<std::string>(&f->readout)
         ->default_value(ReadoutKindName(d.readout)),
     "free | orthonormal | identity (units = neurons, C = I)")
    ("no-inputs", Switch(&f->no_inputs, !d.external_inputs),
     "ignore the recording's /inputs")
    ("condition-inputs", Switch(&o.condition_inputs, d.condition_inputs),
     "learn a constant input per condition")
    ("conditions", po::value<int>(&o.conditions)->default_value(d.conditions),
     "number of conditions (0 = 1 + largest /condition label)")
    ("base-gain", po::value<double>(&o.base_gain)->default_value(d.base_gain),
     "fixed random base W0 = g J, J ~ N(0, 1/N) (0 = none)")
    ("smoothing", po::value<std::string>(&f->smoothing)
         ->default_value(TrialSmoothingName(d.smoothing.kind)),
     "trial-factor prior: none | second-diff | gp (rational quadratic)")
    ("smoothing-weight", po::value<double>(&o.smoothing.weight)
         ->default_value(d.smoothing.weight),
     "weight of the smoothing penalty")
    ("smoothing-length", po::value<double>(&o.smoothing.length_scale)
         ->default_value(d.smoothing.length_scale),
     "gp length scale in trials")
    ("no-epoch-breaks",
     Switch(&f->no_epoch_breaks, !d.smoothing_breaks_at_epochs),
     "smooth across /epoch boundaries too")
    ("l2-w", po::value<double>(&o.loss.l2_w)->default_value(d.loss.l2_w),
     "L2 on w (or a, b)")
    ("l2-c", po::value<double>(&o.loss.l2_c)->default_value(d.loss.l2_c),
     "L2 on c")
    ("l2-inputs", po::value<double>(&o.loss.l2_w_in)
         ->default_value(d.loss.l2_w_in),
     "L2 on w_in and h")
    ("l2-x0", po::value<double>(&o.loss.l2_x0)->default_value(d.loss.l2_x0),
     "L2 on x0")
    ("l2-readout", po::value<double>(&o.loss.l2_readout)
         ->default_value(d.loss.l2_readout),
     "L2 on readout")
    ("l2-activity", po::value<double>(&o.loss.l2_activity)
         ->default_value(d.loss.l2_activity),
     "L2 on unit activity phi(x)")
    ("optimizer", po::value<std::string>(&f->optimizer)
         ->default_value(FitOptimizerName(d.optimizer)),
     "lbfgs (Ceres) | adam (full batch, Pellegrino et al. 2023's procedure)")
    ("max-iters", po::value<int>(&o.max_iterations)
         ->default_value(d.max_iterations),
     "maximum iterations per fit")
    ("learning-rate", po::value<double>(&o.learning_rate)
         ->default_value(d.learning_rate),
     "adam: initial learning rate")
    ("lr", po::value<double>(), "same as --learning-rate")
    ("lr-decay", po::value<double>(&o.learning_rate_decay)
         ->default_value(d.learning_rate_decay),
     "adam: final learning rate / initial, reached along a half cosine at "
     "--max-iters (1 = constant)")
    ("tol", po::value<double>(&o.function_tolerance)
         ->default_value(d.function_tolerance),
     "relative cost-change tolerance")
    ("max-seconds", po::value<double>(&o.max_seconds)
         ->default_value(d.max_seconds),
     "wall-clock limit per fit")
    ("held-out", po::value<std::string>(&f->held_out)
         ->default_value(HoldOutName(d.hold_out.scheme)),
     "blocks | neurons | none")
    ("held-out-seed", po::value<std::uint64_t>(&o.hold_out.seed)
         ->default_value(d.hold_out.seed),
     "seed of the held-out split")
    ("neuron-fraction", po::value<double>(&o.hold_out.neuron_fraction)
         ->default_value(d.hold_out.neuron_fraction),
     "--held-out neurons: fraction of neurons held out")
    ("trial-fraction", po::value<double>(&o.hold_out.trial_fraction)
         ->default_value(d.hold_out.trial_fraction),
     "--held-out neurons: fraction of trials they are held out on")
    ("patience", po::value<int>(&o.patience)->default_value(d.patience),
     "early stopping after this many iterations without held-out improvement "
     "(0 = off)")
    ("checkpoint-every", po::value<int>(&o.checkpoint_every)
         ->default_value(d.checkpoint_every),
     "write the current model to the output every K iterations (0 = off)")
    ("progress", po::value<int>(&o.progress_every)
         ->default_value(d.progress_every),
     "print progress to stderr every K iterations (0 = off)")
    ("start", po::value<std::string>(&f->start)
         ->default_value(FitInitializationName(d.initialization)),
     "initialisation: data (one-step least squares on the activity, see "
     "docs/fit.md) | random | auto (data with --readout identity, else "
     "random)")
    ("init", po::value<std::string>(),
     "start from the model in this file (a checkpoint, an earlier fit)")
    ("seed", po::value<std::uint64_t>(&o.seed)->default_value(d.seed),
     "seed of the initialisation")
    ("threads", po::value<int>(&f->threads)->default_value(f->threads),
     cli::kThreadsHelp)
    ("resume", po::bool_switch(&f->resume),
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

// Held-out scores of a finished fit with held-out entries (ltr/fit/
// metrics.h): a warning when it predicts them no better than the neurons'
// training means (not for a fit that failed: its error says more); for counts,
// the per-condition PSTH baseline's held-out bits/spike as the /fit attribute
// test_psth_bits_per_spike, and the line that prints it (returned; ""
// otherwise).
std::string ReportHeldOutScores(const FitSummary& fit,
                                const Recording& recording,
                                const std::string& failure,
                                io::OutputFile* out) {
  if (fit.test_metrics.count == 0 || fit.masks.test.empty()) return "";
  const HeldOutScores scores = ScoreHeldOut(fit, recording);
  const std::string warning = HeldOutWarning(fit, scores);
  if (!warning.empty() && failure.empty())
    std::cerr << "ltr fit: warning: " << warning << "\n";
  if (fit.model.loss != RnnLoss::kPoisson) return "";
  const double bits = scores.psth_bits_per_spike;
  out->SetAttribute("/fit", "test_psth_bits_per_spike", bits);
  char line[160];
  std::snprintf(line,
                sizeof line,
                "  per-condition PSTH baseline (training means): held-out "
                "bits/spike %.4f (fit %.4f)\n",
                bits,
                fit.test_metrics.bits_per_spike);
  return line;
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
               !vm.count("init") && !o.initial_parameters,
               "is replaced by --init (the fit starts from the given model)");
}

// The fit options of the command line: the bound fields (over the resumed
// fit's recorded options, when resuming), the enums by name and the rank.
FitOptions ParsedOptions(const cli::po::variables_map& vm, const FitFlags& f) {
  FitOptions o = f.fit;
  o.kind = ParseWeightKind(f.model);
  o.nonlinearity = ParseNonlinearity(f.nonlinearity);
  o.loss.loss = ParseRnnLoss(f.loss);
  o.readout = ParseReadoutKind(f.readout);
  o.external_inputs = !f.no_inputs;
  o.smoothing.kind = ParseTrialSmoothing(f.smoothing);
  o.smoothing_breaks_at_epochs = !f.no_epoch_breaks;
  o.loss.l2_h = o.loss.l2_w_in;
  o.optimizer = ParseFitOptimizer(f.optimizer);
  // A resumed fit's given split (--test-mask) has no --held-out name.
  if (!(vm["held-out"].defaulted() && o.hold_out.scheme == HoldOut::kGiven))
    o.hold_out.scheme = ParseHoldOut(f.held_out);
  o.initialization = ParseFitInitialization(f.start);
  if (vm.count("test-mask"))
    for (const char* name :
         {"held-out", "held-out-seed", "neuron-fraction", "trial-fraction"})
      if (vm.count(name) && !vm[name].defaulted())
        throw cli::po::error("--test-mask gives the held-out entries; drop --" +
                             std::string(name));
  if (vm.count("rank")) o.rank = vm["rank"].as<int>();
  return o;
}

// One fit or sweep from parsed options; `recorded` when resuming one.
// size: the command's steps in order (check, read, fit, write, report).
int FitWith(int argc,
            char** argv,
            const cli::po::variables_map& vm,
            const FitFlags& flags,
            const FitOptions* recorded) {
  const bool resume = recorded != nullptr;
  if (!vm.count("input") && !resume)
    throw cli::po::error("give the recording DATA.h5");
  if (resume && vm.count("init"))
    throw cli::po::error(
        "--resume starts from the checkpoint; drop --init (or start a new "
        "fit with it)");
  FitOptions o = ParsedOptions(vm, flags);
  if (!resume) o.command = cli::CommandLine(argc, argv);
  o.run = cli::CommandContext(flags.threads, o.progress_every > 0);
  const std::string output = vm["output"].as<std::string>();
  // Checkpoints, and what a signal leaves, go beside the output: an earlier
  // complete result in `output` is only replaced by a complete one.
  o.checkpoint_path = io::PartialPath(output);

  if (vm.count("rank") && vm.count("ranks"))
    throw Error("give either --rank or --ranks, not both");
  RejectIgnoredOptions(vm, o);
  RankSweepOptions sweep;
  const bool is_sweep = vm.count("ranks") > 0;
  std::string error;
  if (is_sweep) {
    sweep.ranks = cli::ParseRanks(vm["ranks"].as<std::string>(), "ranks");
    sweep.seeds = flags.seeds;
    if (resume) throw Error("a rank sweep cannot be resumed; run it again");
    sweep.fit = o;
    if (!sweep.IsValid(&error)) throw Error(error);
  } else {
    if (o.kind != WeightKind::kFull && !vm.count("rank") && !resume)
      throw Error("give the rank with --rank R (or a sweep with --ranks A:B)");
    if (!o.IsValid(&error)) throw Error(error);
  }

  const std::string input =
      vm.count("input") ? vm["input"].as<std::string>() : recorded->source.file;
  io::CheckReadable(input);
  o.source = cli::RecordingSourceFrom(
      vm, input, true, resume ? recorded->source : RecordingSource());
  const std::string test_mask =
      vm.count("test-mask") ? vm["test-mask"].as<std::string>() : "";
  std::vector<std::string> inputs = RecordingFiles(o.source, {test_mask});
  if (vm.count("init")) inputs.push_back(vm["init"].as<std::string>());
  io::RefuseOutputOverInput(output, inputs);
  {
    // Fail on a bad output path before any work is done.
    io::OutputFile probe(output, o.command);
  }
  const Recording recording = cli::ReadRecordingAndSay("fit", o.source);
  if (!test_mask.empty()) {
    o.hold_out.scheme = HoldOut::kGiven;
    o.hold_out.test_mask =
        ReadRecordingMask(o.source, test_mask, recording.activity.dims());
  }
  if (vm.count("init"))
    o.initial_parameters = ReadModel(vm["init"].as<std::string>()).parameters;
  sweep.fit.hold_out = o.hold_out;
  sweep.fit.initial_parameters = o.initial_parameters;
  // Computed on every process (it validates the data); printed once.
  for (const std::string& warning : FitWarnings(o, recording))
    if (distributed::IsRoot())
      std::cerr << "ltr fit: warning: " << warning << "\n";
  if (is_sweep) {
    const RankSweepSummary result = SweepRanks(sweep, recording);
    if (cli::SignalToken().cancelled()) {
      // The fits after the signal stopped at once: no table to trust.
      std::cerr << "ltr fit: interrupted by signal "
                << cli::SignalToken().reason()
                << "; a rank sweep is not resumable and nothing was written ("
                << output << " is unchanged)\n";
      return cli::SignalExitStatus();
    }
    // Under mpirun the processes share the sweep; the first one writes.
    if (!distributed::IsRoot()) return 0;
    io::OutputFile out(output, o.command);
    WriteRankSweep(result, &out);
    const std::string failure = result.Failure();
    WriteFitOutputAttributes({input, "", failure}, &out);
    const std::string psth =
        ReportHeldOutScores(result.best, recording, failure, &out);
    out.Commit();
    std::cout << result.BriefReport() << psth << "wrote " << out.path() << "\n";
    if (!failure.empty()) return Failed(failure, out.path());
    return 0;
  }
  const FitSummary result = FitRnn(o, recording);
  const bool interrupted = result.termination == "interrupted";
  io::OutputFile out(interrupted ? io::PartialPath(output) : output, o.command);
  // What a signal leaves is a checkpoint: --resume continues it.
  if (interrupted)
    WriteFitCheckpoint(result, o, &out);
  else
    WriteFit(result, &out);
  const std::string failure = result.Failure();
  WriteFitOutputAttributes(
      {input, resume ? cli::CommandLine(argc, argv) : "", failure}, &out);
  const std::string psth =
      interrupted ? "" : ReportHeldOutScores(result, recording, failure, &out);
  out.Commit();
  std::cout << result.BriefReport() << psth << "wrote " << out.path() << "\n";
  if (interrupted) {
    std::cerr << "ltr fit: interrupted by signal "
              << cli::SignalToken().reason() << "; the fit so far is in "
              << out.path() << ", continue with: ltr fit --resume -o " << output
              << "\n";
    return cli::SignalExitStatus();
  }
  if (!failure.empty()) return Failed(failure, out.path());
  return 0;
}

// The options recorded in the interrupted fit of `output` (its partial
// file), which the library reads.
FitOptions RecordedOptions(const std::string& output) {
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
  try {
    return ReadFitCheckpointOptions(partial);
  } catch (const Error& e) {
    throw Error("cannot resume '" + output + "': " + e.what());
  }
}

}  // namespace

// ltr fit --resume -o MODEL.h5 [options]: the options recorded in the
// checkpoint, those given now replacing theirs, from its parameters.
int RunFit(int argc, char** argv) {
  FitFlags flags;
  cli::po::variables_map vm;
  if (!cli::Parse(argc,
                  argv,
                  kUsage,
                  FitOptionsDescription(&flags, FitOptions()),
                  FitPositional(),
                  &vm))
    return 0;
  if (!flags.resume) return FitWith(argc, argv, vm, flags, nullptr);
  const FitOptions recorded = RecordedOptions(vm["output"].as<std::string>());
  FitFlags resumed;
  resumed.fit = recorded;  // what the options given again do not replace
  resumed.threads = recorded.run.num_threads;
  cli::po::variables_map resumed_vm;
  cli::Parse(argc,
             argv,
             kUsage,
             FitOptionsDescription(&resumed, recorded),
             FitPositional(),
             &resumed_vm);
  return FitWith(argc, argv, resumed_vm, resumed, &recorded);
}

}  // namespace ltr
