// ltr simulate MODEL.h5: run a fitted (or teacher) model and write a
// recording.
#include "ltr/rnn/simulate.h"

#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"
#include "recording_options.h"

namespace ltr {

int RunSimulate(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("Options");
  SimulateOptions o;
  // clang-format off
  options.add_options()
    ("model", po::value<std::string>()->required(),
     "model file (written by ltr fit or ltr synth --kind ltr-teacher)")
    ("inputs", po::value<std::string>(),
     "recording whose /inputs and /condition drive the model")
    ;
  cli::AddRecordingOptions(&options, true, false);
  options.add_options()
    ("trials", po::value<Index>(&o.trials)->default_value(o.trials),
     "trials (0 = the model's c rows for ltr, or those of --inputs)")
    ("steps", po::value<Index>(&o.steps)->default_value(o.steps),
     "time bins per trial (0 = those of --inputs)")
    ("noise", po::value<double>(&o.noise_sigma)->default_value(o.noise_sigma),
     "process noise sigma of the RNN")
    ("obs-noise", po::value<double>(&o.observation_noise)
         ->default_value(o.observation_noise),
     "Gaussian observation noise (mse models; poisson models draw counts)")
    ("dt", po::value<double>(&o.dt)->default_value(o.dt), "seconds per bin")
    ("seed", po::value<std::uint64_t>(&o.seed)->default_value(o.seed), "seed")
    ("output,o", po::value<std::string>()->required(), "output recording");
  // clang-format on
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map vm;
  if (!cli::Parse(argc,
                  argv,
                  "usage: ltr simulate MODEL.h5 [--inputs DATA.h5] [--trials "
                  "K] [--steps T]\n                    [--noise S] "
                  "[--obs-noise S] [--seed S] -o OUT.h5\n\n"
                  "Runs the model trial by trial and writes a recording "
                  "(/activity, /inputs,\n/condition). The --inputs "
                  "recording is read as ltr fit reads it: its --dataset\n"
                  "(default /activity) in the order of its axes attribute "
                  "or --axes, with the\ninputs and condition beside it. "
                  "See docs/fit.md.",
                  options,
                  positional,
                  &vm))
    return 0;
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  const std::string output = vm["output"].as<std::string>();
  io::RefuseOutputOverInput(
      output,
      {vm["model"].as<std::string>(),
       vm.count("inputs") ? vm["inputs"].as<std::string>() : ""});
  const FittedModel model = ReadModel(vm["model"].as<std::string>());
  Recording inputs;
  if (vm.count("inputs"))
    inputs = cli::ReadRecordingAndSay(
        "simulate",
        cli::RecordingSourceFrom(vm, vm["inputs"].as<std::string>(), false));
  io::OutputFile out(output, cli::CommandLine(argc, argv));
  const Recording r =
      SimulateRecording(model, o, vm.count("inputs") ? &inputs : nullptr);
  WriteRecording(r, &out);
  out.SetAttribute("/", "model", vm["model"].as<std::string>());
  out.Commit();
  std::cout << "wrote " << out.path() << ": activity "
            << DimsToString(r.activity.dims()) << " (trial, time, neuron)\n";
  return 0;
}

}  // namespace ltr
