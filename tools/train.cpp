// ltr train: train an RNN on a task and stream its learning trajectory.
#include "ltr/train/train.h"

#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/core/interrupt.h"
#include "ltr/formats/io.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr train --task T [--units N] [--g G] [--optimizer O]\n"
    "                 [--learning-rate X] [--steps K] [--batch B]\n"
    "                 [--record-every k] [--train in,rec,out] [--seed S]\n"
    "                 -o TRAJ.h5\n"
    "       ltr train --resume -o TRAJ.h5\n"
    "       ltr train --task reach --protocol adaptation ... -o TRAJ.h5\n\n"
    "Trains W = W0 + dW (W0 = g J fixed) with S20's initialisation on fresh\n"
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

// A run stopped at a non-finite loss or gradient: one line, exit status 1.
int Diverged(const std::string& output, const std::string& message) {
  std::cerr << "ltr train: the training diverged: " << message << "; " << output
            << " holds the run up to its last finite parameters (complete = "
               "0)\n";
  return 1;
}

// A run stopped by SIGINT/SIGTERM: the file is readable up to its last
// flush (complete = 0); the exit status is the shell's 128 + signal.
int Interrupted(const std::string& output, bool resumable) {
  std::cerr << "ltr train: interrupted by signal " << InterruptSignal() << "; "
            << io::PartialPath(output)
            << " holds the run up to its last snapshot and " << output
            << " is unchanged; "
            << (resumable ? "continue with: ltr train --resume -o " + output
                          : "the adaptation protocol is not resumable")
            << "\n";
  return InterruptExitStatus();
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

}  // namespace

int RunTrain(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("task", po::value<std::string>(),
     "flipflop | flipflop-bits | mante | romo | fixed-point | reach")
    ("units", po::value<int>()->default_value(256), "network size N")
    ("g", po::value<double>()->default_value(0.9),
     "gain of the fixed random part W0 = g J, J_ij ~ N(0, 1/N)")
    ("nonlinearity", po::value<std::string>()->default_value("tanh"),
     "tanh | relu | softplus | identity")
    ("alpha", po::value<double>()->default_value(0.5), "dt / tau")
    ("optimizer", po::value<std::string>()->default_value("adam"),
     "sgd | momentum | adam")
    ("learning-rate", po::value<double>()->default_value(0.0),
     "learning rate (0 = S20's 0.05 / N)")
    ("lr", po::value<double>(), "same as --learning-rate")
    ("momentum", po::value<double>()->default_value(0.9),
     "momentum coefficient (--optimizer momentum)")
    ("steps", po::value<int>()->default_value(1000),
     "optimiser steps (with --resume: extend the run to this many)")
    ("batch", po::value<int>()->default_value(32), "trials per step")
    ("record-every", po::value<int>()->default_value(5),
     "steps between snapshots")
    ("train", po::value<std::string>()->default_value("in,rec,out"),
     "trained blocks: comma-separated subset of in, rec, out")
    ("output-tanh", po::bool_switch(),
     "compare tanh(z) with the targets (S20's output nonlinearity)")
    ("target", po::value<double>()->default_value(1.0),
     "fixed-point task: the target z-hat")
    ("curl", po::value<double>()->default_value(0.0),
     "reach: curl force gain k during training")
    ("reach-effort", po::value<double>()->default_value(0.0),
     "reach: weight of the effort term 1/2 |F|^2")
    ("protocol", po::value<std::string>()->default_value("none"),
     "none | adaptation (reach: P23's learning-over-trials protocol)")
    ("baseline-trials", po::value<int>()->default_value(50), "adaptation")
    ("adaptation-trials", po::value<int>()->default_value(100), "adaptation")
    ("washout-trials", po::value<int>()->default_value(100), "adaptation")
    ("adapt-curl", po::value<double>()->default_value(0.5),
     "adaptation: curl gain k of the perturbation")
    ("adapt-lr", po::value<double>()->default_value(0.01),
     "adaptation: SGD step size of trial-by-trial learning")
    ("adapt-clip", po::value<double>()->default_value(1.0),
     "adaptation: gradients longer than this are scaled down to it (0 = "
     "off)")
    ("adapt-recurrent-only", po::bool_switch(),
     "adaptation: learn only W during the protocol (W_in, W_out fixed)")
    ("seed", po::value<std::uint64_t>()->default_value(0),
     "seed: same seed, same trajectory")
    ("threads", po::value<int>()->default_value(0), cli::kThreadsHelp)
    ("resume", po::bool_switch(),
     "continue the interrupted run in TRAJ.h5 (options are read from it)")
    ("stop-after-steps", po::value<int>()->default_value(0),
     "testing aid: stop as if interrupted after this many steps")
    ("output,o", po::value<std::string>()->required(), "trajectory file");
  // clang-format on
  po::positional_options_description positional;
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;
  const std::string output = vm["output"].as<std::string>();
  const std::string command = cli::CommandLine(argc, argv);

  if (vm["resume"].as<bool>()) {
    // The run's options are read from the file; only --steps extends it.
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
    const int steps = vm["steps"].defaulted() ? 0 : vm["steps"].as<int>();
    const TrainSummary s = ResumeTrainToFile(output, command, steps);
    std::cout << s.BriefReport() << "\nwrote " << output << "\n";
    if (InterruptRequested()) return Interrupted(output, true);
    return s.finite ? 0 : Diverged(output, s.message);
  }

  if (!vm.count("task"))
    throw Error(
        "give a task with --task (flipflop, flipflop-bits, mante, "
        "romo, fixed-point, reach)");
  TrainOptions o;
  o.task.kind = ParseTaskKind(vm["task"].as<std::string>());
  RejectIgnoredOptions(vm, o.task.kind);
  o.task.dt = vm["alpha"].as<double>();
  o.task.output_tanh = vm["output-tanh"].as<bool>();
  o.task.fixed_point_target = vm["target"].as<double>();
  o.task.curl = vm["curl"].as<double>();
  o.task.reach_effort = vm["reach-effort"].as<double>();
  o.units = vm["units"].as<int>();
  o.g = vm["g"].as<double>();
  o.nonlinearity = ParseNonlinearity(vm["nonlinearity"].as<std::string>());
  o.alpha = vm["alpha"].as<double>();
  o.optimizer = ParseOptimizer(vm["optimizer"].as<std::string>());
  o.learning_rate = vm["learning-rate"].as<double>();
  o.momentum = vm["momentum"].as<double>();
  o.steps = vm["steps"].as<int>();
  o.batch = vm["batch"].as<int>();
  o.record_every = vm["record-every"].as<int>();
  ParseTrainedBlocks(vm["train"].as<std::string>(), &o);
  o.seed = vm["seed"].as<std::uint64_t>();
  o.num_threads = cli::ResolveThreads(vm["threads"].as<int>());
  o.stop_after_steps = vm["stop-after-steps"].as<int>();
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);

  const std::string protocol = vm["protocol"].as<std::string>();
  if (protocol == "adaptation") {
    AdaptationOptions a;
    a.baseline_trials = vm["baseline-trials"].as<int>();
    a.adaptation_trials = vm["adaptation-trials"].as<int>();
    a.washout_trials = vm["washout-trials"].as<int>();
    a.curl = vm["adapt-curl"].as<double>();
    a.learning_rate = vm["adapt-lr"].as<double>();
    a.clip_norm = vm["adapt-clip"].as<double>();
    a.recurrent_only = vm["adapt-recurrent-only"].as<bool>();
    if (!a.IsValid(&error)) throw Error(error);
    const AdaptationSummary s = RunAdaptationToFile(o, a, output, command);
    std::cout << s.BriefReport() << "\nwrote " << output << "\n";
    if (InterruptRequested()) return Interrupted(output, false);
    return s.finite ? 0 : Diverged(output, s.message);
  }
  if (protocol != "none")
    throw Error("unknown --protocol '" + protocol +
                "'; expected none or adaptation");
  const TrainSummary s = TrainToFile(o, output, command);
  std::cout << s.BriefReport() << "\nwrote " << output << "\n";
  if (InterruptRequested()) return Interrupted(output, true);
  return s.finite ? 0 : Diverged(output, s.message);
}

}  // namespace ltr
