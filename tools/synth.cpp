// ltr synth: planted example data (what data/ is made from) and random
// teacher models for fitting experiments.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/synthetic_file.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/rnn/simulate.h"
#include "ltr/synthetic/synthetic.h"

namespace ltr {
namespace {

// What the command line gives each kind (the flags shared by several kinds
// are copied from the first).
struct SynthOptions {
  TcaExampleOptions tca;
  LtrTeacherOptions teacher;
  TrajectoryExampleOptions trajectory;
  SimulateOptions simulate;  // the teacher's recording (--steps)
};

// --trials, --neurons and --noise have a default per kind (its options');
// the rest were bound to one kind's fields: the others take them.
void ShareFlags(const cli::po::variables_map& vm, SynthOptions* o) {
  if (vm.count("trials"))
    o->tca.trials = o->teacher.trials = vm["trials"].as<int>();
  if (vm.count("neurons"))
    o->tca.neurons = o->teacher.neurons = vm["neurons"].as<int>();
  if (vm.count("noise"))
    o->tca.noise = o->teacher.observation_noise = o->trajectory.noise =
        vm["noise"].as<double>();
  o->trajectory.units = o->teacher.units;
  o->trajectory.rank = o->teacher.rank;
  o->teacher.seed = o->trajectory.seed = o->tca.seed;
}

int WriteTca(const cli::po::variables_map& vm,
             const TcaExampleOptions& o,
             const std::string& command) {
  io::OutputFile out(vm["output"].as<std::string>(), command);
  const TcaExample ex = MakeTcaExample(o);
  WriteTcaExample(ex, o.noise, &out);
  out.Commit();
  std::cout << "wrote " << out.path() << ": activity "
            << DimsToString(ex.recording.activity.dims())
            << " (trial, time, neuron), planted rank " << ex.truth.rank()
            << ", noise " << o.noise << "\n";
  return 0;
}

int WriteTeacher(const cli::po::variables_map& vm,
                 const LtrTeacherOptions& o,
                 SimulateOptions s,
                 const std::string& command) {
  if (s.steps < 0) throw Error("option --steps must be >= 0");
  io::OutputFile out(vm["output"].as<std::string>(), command);
  const FittedModel teacher = MakeLtrTeacher(o);
  WriteModel(teacher, &out);
  std::cout << "wrote " << out.path() << ": ltr teacher, " << o.units
            << " units, rank " << o.rank << ", " << o.trials << " trials";
  if (s.steps > 0) {
    s.observation_noise = o.observation_noise;
    s.seed = o.seed + 1;
    const Recording r = SimulateRecording(teacher, s);
    WriteRecording(r, &out);
    std::cout << "; recording " << DimsToString(r.activity.dims())
              << " with observation noise " << s.observation_noise;
  }
  out.Commit();
  std::cout << "\n";
  return 0;
}

// A planted low-tensor-rank learning trajectory, streamed snapshot by
// snapshot (memory stays at one N x N matrix, so the 4 GB N = 512 x 2000
// case needs a few MB). Written beside `path` and renamed when complete.
int WriteTrajectory(const cli::po::variables_map& vm,
                    const TrajectoryExampleOptions& o,
                    const std::string& command) {
  const TrajectoryExample ex = MakeTrajectoryExample(o);
  namespace fs = std::filesystem;
  const fs::path path(vm["output"].as<std::string>());
  const fs::path partial =
      path.parent_path() /
      ("." + path.filename().string() + ".partial-" + std::to_string(getpid()));
  try {
    io::AppendableFile out(
        partial.string(), command, io::AppendableFile::Mode::kCreate);
    WriteSyntheticWeights(o, ex, &out);
    WriteTrajectoryTruth(ex, o, &out);
  } catch (...) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(partial, path, ec);
  if (ec) {
    fs::remove(partial, ec);
    throw Error("cannot write '" + path.string() + "': " + ec.message());
  }
  const double gb =
      double(o.snapshots) * o.units * o.units * (o.float32 ? 4 : 8) / 1e9;
  std::cout << "wrote " << path.string() << ": /weights (" << o.snapshots
            << ", " << o.units << ", " << o.units << ") "
            << (o.float32 ? "float32" : "float64") << ", " << gb
            << " GB; planted update rank " << o.rank << ", noise " << o.noise
            << " (sigma " << ex.noise_sigma << ")\n";
  return 0;
}

}  // namespace

int RunSynth(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("Options");
  SynthOptions o;
  TcaExampleOptions& tca = o.tca;
  LtrTeacherOptions& teacher = o.teacher;
  TrajectoryExampleOptions& trajectory = o.trajectory;
  // clang-format off
  options.add_options()
    ("kind", po::value<std::string>()->default_value("tca"),
     "what to make: tca (a planted rank-3 learning-over-trials recording) | "
     "ltr-teacher (a random low-tensor-rank RNN model, and with --steps a "
     "recording simulated from it) | trajectory (weights over learning with "
     "a planted low-tensor-rank update, written snapshot by snapshot)")
    ("trials", po::value<int>(),
     "trials (tca: 150, split into baseline, adaptation, washout; "
     "ltr-teacher: 60)")
    ("time-bins", po::value<int>(&tca.time_bins)->default_value(tca.time_bins),
     "tca: time bins per trial")
    ("neurons", po::value<int>(),
     "neurons (tca: 50; ltr-teacher: 0 = units with an identity readout)")
    ("noise", po::value<double>(),
     "tca: relative noise ||noise|| / ||signal|| (0.1); ltr-teacher: "
     "observation noise sigma (0.05); trajectory: relative noise "
     "||noise|| / ||W_k - W_0|| (0.01)")
    ("units", po::value<int>(&teacher.units)->default_value(teacher.units),
     "ltr-teacher, trajectory: units N")
    ("rank", po::value<int>(&teacher.rank)->default_value(teacher.rank),
     "ltr-teacher: rank R; trajectory: rank of the planted update")
    ("snapshots", po::value<int>(&trajectory.snapshots)
         ->default_value(trajectory.snapshots),
     "trajectory: snapshots K (snapshot 0 is W0)")
    ("w0-gain", po::value<double>(&trajectory.w0_gain)
         ->default_value(trajectory.w0_gain),
     "trajectory: W0 entries are N(0, g^2 / N)")
    ("float32", po::bool_switch(&trajectory.float32),
     "trajectory: store /weights as float32 (half the size)")
    ("conditions", po::value<int>(&teacher.conditions)
         ->default_value(teacher.conditions),
     "ltr-teacher: conditions (initial states)")
    ("coupling", po::value<double>(&teacher.coupling)
         ->default_value(teacher.coupling),
     "ltr-teacher: scale of the trial factors")
    ("steps", po::value<Index>(&o.simulate.steps)
         ->default_value(o.simulate.steps),
     "ltr-teacher: also simulate a recording of this many time bins")
    ("seed", po::value<std::uint64_t>(&tca.seed)->default_value(tca.seed),
     "seed")
    ("output,o", po::value<std::string>()->required(), "output HDF5 file");
  // clang-format on
  po::positional_options_description positional;
  po::variables_map vm;
  if (!cli::Parse(argc,
                  argv,
                  "usage: ltr synth [--kind tca|ltr-teacher|trajectory] "
                  "[options] -o OUT.h5\n\n"
                  "tca: writes a recording with planted structure and its "
                  "ground truth under /truth\n(same layout as a /cp "
                  "decomposition).\nltr-teacher: writes a random "
                  "low-tensor-rank RNN in the fitted-model layout\n(/model), "
                  "plus a recording simulated from it with --steps T.",
                  options,
                  positional,
                  &vm))
    return 0;
  const std::string kind = vm["kind"].as<std::string>();
  const std::string command = cli::CommandLine(argc, argv);
  ShareFlags(vm, &o);
  if (kind == "tca") return WriteTca(vm, o.tca, command);
  if (kind == "ltr-teacher")
    return WriteTeacher(vm, o.teacher, o.simulate, command);
  if (kind == "trajectory") return WriteTrajectory(vm, o.trajectory, command);
  throw Error("unknown --kind '" + kind +
              "'; expected tca, ltr-teacher or trajectory");
}

}  // namespace ltr
