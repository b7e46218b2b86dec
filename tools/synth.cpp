// ltr synth: planted example data (what data/ is made from).
#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/error.h"
#include "ltr/io.h"
#include "ltr/synthetic.h"

namespace ltr {

int RunSynth(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("Options");
  TcaExampleOptions o;
  // clang-format off
  options.add_options()
    ("kind", po::value<std::string>()->default_value("tca"),
     "what to make: tca (a planted rank-3 learning-over-trials recording)")
    ("trials", po::value<int>(&o.trials)->default_value(o.trials),
     "trials (split into baseline, adaptation, washout)")
    ("time-bins", po::value<int>(&o.time_bins)->default_value(o.time_bins),
     "time bins per trial")
    ("neurons", po::value<int>(&o.neurons)->default_value(o.neurons),
     "neurons")
    ("noise", po::value<double>(&o.noise)->default_value(o.noise),
     "relative noise ||noise|| / ||signal||")
    ("seed", po::value<std::uint64_t>(&o.seed)->default_value(o.seed), "seed")
    ("output,o", po::value<std::string>()->required(), "output HDF5 file");
  // clang-format on
  po::positional_options_description positional;
  po::variables_map vm;
  if (!cli::Parse(argc, argv,
                  "usage: ltr synth [--kind tca] [options] -o OUT.h5\n\n"
                  "Writes a recording with planted structure and its ground "
                  "truth under /truth\n(same layout as a /cp decomposition).",
                  options, positional, &vm))
    return 0;
  if (vm["kind"].as<std::string>() != "tca")
    throw Error("unknown --kind '" + vm["kind"].as<std::string>() +
                "'; expected tca");
  io::OutputFile out(vm["output"].as<std::string>(),
                     cli::CommandLine(argc, argv));
  const TcaExample ex = MakeTcaExample(o);
  WriteRecording(ex.recording, &out);
  out.WriteVector("/truth/weights", ex.truth.weights, "component");
  const char* axes[] = {"trial,component", "time,component",
                        "neuron,component"};
  for (int n = 0; n < 3; ++n)
    out.WriteMatrix("/truth/factors/" + std::to_string(n),
                    ex.truth.factors[n], axes[n]);
  out.SetAttribute("/truth", "rank", ex.truth.rank());
  out.SetAttribute("/truth", "noise", o.noise);
  out.Commit();
  std::cout << "wrote " << out.path() << ": activity "
            << DimsToString(ex.recording.activity.dims())
            << " (trial, time, neuron), planted rank " << ex.truth.rank()
            << ", noise " << o.noise << "\n";
  return 0;
}

}  // namespace ltr
