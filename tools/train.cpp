// ltr train: train an RNN on a task and stream its learning trajectory.
#include "ltr/train/train.h"

#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "signals.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr train --task T [--units N] [--g G] [--optimizer O]\n"
    "                 [--learning-rate X] [--steps K] [--batch B]\n"
    "                 [--record-every k] [--train in,rec,out] [--seed S]\n"
    "                 -o TRAJ.h5\n"
    "       ltr train --resume -o TRAJ.h5\n"
    "       ltr train --task reach --protocol adaptation ... -o TRAJ.h5\n\n"
    "Trains W = W0 + dW (W0 = g J fixed) with Schuessler et al.'s "
    "initialisation on fresh\n"
    "batches and streams the learning trajectory (snapshots of W, W_in, "
    "W_out;\nloss and gradient norm of every step) to TRAJ.h5.partial, "
    "flushed at every\nsnapshot and renamed to TRAJ.h5 when the run ends, so "
    "an earlier TRAJ.h5 is\nonly replaced by a finished run. A run stopped by "
    "SIGINT/SIGTERM (or killed)\ncontinues with --resume and then equals an "
    "uninterrupted one; a signal stops\nit at the next step with exit status "
    "128 + signal. --protocol adaptation pre-trains "
    "on the reach task,\n"
    "then records 50 baseline, 100 curl-force adaptation (SGD per trial) and\n"
    "100 washout trials: one snapshot and the activity of every trial. See\n"
    "docs/train.md. A run that diverges (non-finite loss, or 1e10 times the "
    "first)\nstops with the last finite parameters written and exit status "
    "1. Options the\nrun ignores (e.g. --momentum with adam, anything but "
    "--steps with --resume)\nare errors.\n\nexamples:\n"
    "  ltr train --task flipflop --units 256 --g 0.9 --steps 1000 -o ff.h5\n"
    "  ltr train --resume -o ff.h5\n"
    "  ltr train --task reach --protocol adaptation --units 64 --steps 500 "
    "-o reach.h5";

// The options as given: the library's options bound to their flags, and
// the flags that are parsed into them.
struct TrainFlags {
  TrainOptions train;
  AdaptationOptions adaptation;
  std::string task;
  std::string nonlinearity;
  std::string optimizer;
  std::string blocks;
  std::string protocol;
  std::string output;
  int threads = 0;
  bool resume = false;
};

// Every flag, bound to its field with the library's default.
cli::po::options_description TrainFlagsDescription(TrainFlags* f) {
  namespace po = cli::po;
  const TrainOptions defaults;
  const AdaptationOptions adaptation_defaults;
  TrainOptions& o = f->train;
  AdaptationOptions& a = f->adaptation;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("task", po::value<std::string>(&f->task),
     "flipflop | flipflop-bits | mante | romo | fixed-point | reach")
    ("units", po::value<int>(&o.units)->default_value(defaults.units),
     "network size N")
    ("g", po::value<double>(&o.g)->default_value(defaults.g),
     "gain of the fixed random part W0 = g J, J_ij ~ N(0, 1/N)")
    ("nonlinearity", po::value<std::string>(&f->nonlinearity)
         ->default_value(NonlinearityName(defaults.nonlinearity)),
     "tanh | relu | softplus | identity")
    ("alpha", po::value<double>(&o.alpha)->default_value(defaults.alpha),
     "dt / tau")
    ("optimizer", po::value<std::string>(&f->optimizer)
         ->default_value(OptimizerName(defaults.optimizer)),
     "sgd | momentum | adam")
    ("learning-rate", po::value<double>(&o.learning_rate)
         ->default_value(defaults.learning_rate),
     "learning rate (0 = Schuessler et al.'s 0.05 / N)")
    ("lr", po::value<double>(), "same as --learning-rate")
    ("momentum", po::value<double>(&o.momentum)
         ->default_value(defaults.momentum),
     "momentum coefficient (--optimizer momentum)")
    ("steps", po::value<int>(&o.steps)->default_value(defaults.steps),
     "optimiser steps (with --resume: extend the run to this many)")
    ("batch", po::value<int>(&o.batch)->default_value(defaults.batch),
     "trials per step")
    ("record-every", po::value<int>(&o.record_every)
         ->default_value(defaults.record_every),
     "steps between snapshots")
    ("train", po::value<std::string>(&f->blocks)
         ->default_value(TrainedBlocksName(defaults)),
     "trained blocks: comma-separated subset of in, rec, out")
    ("output-tanh", po::bool_switch(&o.task.output_tanh),
     "compare tanh(z) with the targets (off by default: z is read linearly, as by Schuessler et al. 2020)")
    ("read-after-input", po::bool_switch(&o.task.read_after_input),
     "the output timing of Schuessler et al. 2020: read bin i after the step input i drives")
    ("target", po::value<double>(&o.task.fixed_point_target)
         ->default_value(defaults.task.fixed_point_target),
     "fixed-point task: the target z-hat")
    ("curl", po::value<double>(&o.task.curl)
         ->default_value(defaults.task.curl),
     "reach: curl force gain k during training")
    ("reach-effort", po::value<double>(&o.task.reach_effort)
         ->default_value(defaults.task.reach_effort),
     "reach: weight of the effort term 1/2 |F|^2")
    ("protocol", po::value<std::string>(&f->protocol)->default_value("none"),
     "none | adaptation (reach: Pellegrino et al. 2023's learning over trials)")
    ("baseline-trials", po::value<int>(&a.baseline_trials)
         ->default_value(adaptation_defaults.baseline_trials), "adaptation")
    ("adaptation-trials", po::value<int>(&a.adaptation_trials)
         ->default_value(adaptation_defaults.adaptation_trials), "adaptation")
    ("washout-trials", po::value<int>(&a.washout_trials)
         ->default_value(adaptation_defaults.washout_trials), "adaptation")
    ("adapt-curl", po::value<double>(&a.curl)->default_value(adaptation_defaults.curl),
     "adaptation: curl gain k of the perturbation")
    ("adapt-lr", po::value<double>(&a.learning_rate)
         ->default_value(adaptation_defaults.learning_rate),
     "adaptation: SGD step size of trial-by-trial learning")
    ("adapt-clip", po::value<double>(&a.clip_norm)
         ->default_value(adaptation_defaults.clip_norm),
     "adaptation: gradients longer than this are scaled down to it (0 = "
     "off)")
    ("adapt-recurrent-only", po::bool_switch(&a.recurrent_only),
     "adaptation: learn only W during the protocol (W_in, W_out fixed)")
    ("seed", po::value<std::uint64_t>(&o.seed)->default_value(defaults.seed),
     "seed: same seed, same trajectory")
    ("threads", po::value<int>(&f->threads)->default_value(0),
     cli::kThreadsHelp)
    ("resume", po::bool_switch(&f->resume),
     "continue the interrupted run in TRAJ.h5 (options are read from it)")
    ("stop-after-steps", po::value<int>(&o.stop_after_steps)
         ->default_value(defaults.stop_after_steps),
     "testing aid: stop as if interrupted after this many steps")
    ("output,o", po::value<std::string>(&f->output)->required(),
     "trajectory file");
  // clang-format on
  return options;
}

// The end of a run (a TrainSummary or an AdaptationSummary): its summary on
// stdout, then the exit status. A run stopped by SIGINT/SIGTERM leaves the
// file readable up to its last flush (complete = 0) and exits with the
// shell's 128 + signal; one stopped at a non-finite loss or gradient gives
// one line and exit status 1.
template <class Summary>
int Finish(const Summary& s, const std::string& output, bool resumable) {
  std::cout << s.BriefReport() << "\nwrote " << output << "\n";
  if (s.cancelled) {
    std::cerr << "ltr train: interrupted by signal "
              << cli::SignalToken().reason() << "; " << io::PartialPath(output)
              << " holds the run up to its last snapshot and " << output
              << " is unchanged; "
              << (resumable ? "continue with: ltr train --resume -o " + output
                            : "the adaptation protocol is not resumable")
              << "\n";
    return cli::SignalExitStatus();
  }
  if (s.finite) return 0;
  std::cerr << "ltr train: the training diverged: " << s.message << "; "
            << output
            << " holds the run up to its last finite parameters (complete = "
               "0)\n";
  return 1;
}

// Options the chosen task, optimiser or protocol would ignore are errors.
void RejectIgnoredOptions(const cli::po::variables_map& vm, TaskKind task) {
  cli::RejectUnless(vm,
                    {"momentum"},
                    vm["optimizer"].as<std::string>() == "momentum",
                    "needs --optimizer momentum");
  cli::RejectUnless(vm,
                    {"target"},
                    task == TaskKind::kFixedPoint,
                    "needs --task fixed-point");
  cli::RejectUnless(vm,
                    {"curl", "reach-effort"},
                    task == TaskKind::kReach,
                    "needs --task reach");
  cli::RejectUnless(vm,
                    {"baseline-trials",
                     "adaptation-trials",
                     "washout-trials",
                     "adapt-curl",
                     "adapt-lr",
                     "adapt-clip",
                     "adapt-recurrent-only"},
                    vm["protocol"].as<std::string>() == "adaptation",
                    "needs --protocol adaptation");
}

// --resume: the run's options are read from the file; only --steps extends
// it.
int Resume(const cli::po::variables_map& vm,
           const TrainFlags& f,
           const std::string& command) {
  std::vector<std::string> given;
  for (const auto& entry : vm)
    if (entry.first != "resume" && entry.first != "steps" &&
        entry.first != "output" && entry.first != "config")
      given.push_back(entry.first);
  cli::RejectUnless(vm,
                    given,
                    false,
                    "is read from TRAJ.h5 by --resume (only --steps may "
                    "be given)");
  const int steps = vm["steps"].defaulted() ? 0 : f.train.steps;
  const TrainSummary s = ResumeTrainToFile(
      f.output, command, steps, cli::CommandContext(f.threads, false));
  return Finish(s, f.output, true);
}

}  // namespace

int RunTrain(int argc, char** argv) {
  TrainFlags f;
  const cli::po::options_description options = TrainFlagsDescription(&f);
  cli::po::positional_options_description positional;
  cli::po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;
  const std::string command = cli::CommandLine(argc, argv);
  if (f.resume) return Resume(vm, f, command);

  if (!vm.count("task"))
    throw Error(
        "give a task with --task (flipflop, flipflop-bits, mante, "
        "romo, fixed-point, reach)");
  TrainOptions& o = f.train;
  o.task.kind = ParseTaskKind(f.task);
  RejectIgnoredOptions(vm, o.task.kind);
  o.task.dt = o.alpha;  // the task's bins are the network's steps
  o.nonlinearity = ParseNonlinearity(f.nonlinearity);
  o.optimizer = ParseOptimizer(f.optimizer);
  ParseTrainedBlocks(f.blocks, &o);
  o.run = cli::CommandContext(f.threads, false);
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);

  if (f.protocol == "adaptation") {
    if (!f.adaptation.IsValid(&error)) throw Error(error);
    const AdaptationSummary s =
        RunAdaptationToFile(o, f.adaptation, f.output, command);
    return Finish(s, f.output, false);
  }
  if (f.protocol != "none")
    throw Error("unknown --protocol '" + f.protocol +
                "'; expected none or adaptation");
  const TrainSummary s = TrainToFile(o, f.output, command);
  return Finish(s, f.output, true);
}

}  // namespace ltr
