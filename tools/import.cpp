// ltr import INPUT -o OUT.h5: an NWB file or a NumPy array to a recording.
#include "ltr/jobs/import.h"

#include <cctype>
#include <iostream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/import_file.h"
#include "ltr/formats/io.h"
#include "signals.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr import INPUT.nwb [--table trials] [--align start_time]\n"
    "                  --window A:B [--bin 0.01] [--units IDS | --min-rate R]\n"
    "                  [--condition-column COL] [--epoch-column COL] -o "
    "OUT.h5\n"
    "       ltr import ARRAY.npy|ARCHIVE.npz [--variable NAME] [--axes "
    "trial,time,neuron]\n"
    "                  [--dt S] -o OUT.h5\n"
    "       ltr import FILE.mat [--variable NAME] (an array: [--axes ...] "
    "[--dt S];\n"
    "                  spike cells: --window A:B [--bin 0.01] [--time-unit "
    "ms]) -o OUT.h5\n\n"
    "Makes a recording (docs/formats.md) from an NWB 2.x file, a NumPy array\n"
    "or a MATLAB file (v5 or v7.3: a numeric array, or a cell of stimulus\n"
    "cells of neurons x repeats spike-time vectors, one trial per stimulus "
    "and\n"
    "repeat, /condition the stimulus).\n"
    "NWB: the spike times of /units are cut into the trials of the\n"
    "TimeIntervals table /intervals/TABLE, each aligned to the time in column\n"
    "--align, and counted in bins of --bin seconds over --window A:B around\n"
    "it: a spike at relative time t is in bin floor((t - A) / bin) when\n"
    "A <= t < B. Trials whose alignment is NaN are dropped with a warning.\n"
    "--series NAME cuts a TimeSeries instead (interpolated at bin centres or\n"
    "averaged per bin; bins without samples are masked). --table none takes\n"
    "the whole recording as one trial (window default: 0 to the last spike).\n"
    "String condition or epoch columns become codes 0, 1, ... (sorted), their\n"
    "names in the attribute names of /condition or /epoch. Preprocessing,\n"
    "applied in this order and recorded in the attributes of /import:\n"
    "--min-rate, --sqrt, --smooth-sd, --baseline, --soft-normalize, --zscore.\n"
    "See docs/import.md.\n\nexamples:\n"
    "  ltr import human_mtl_sub-4_ses-4.nwb --table encoding_table --align "
    "start_time \\\n"
    "      --window -0.5:1.5 --bin 0.05 --condition-column stimCategory -o "
    "mtl.h5\n"
    "  ltr import alm.nwb --align start_time --window -1:2 --bin 0.02 "
    "\\\n      --condition-column type -o alm.h5\n"
    "  ltr import septum.nwb --table none --bin 0.1 -o septum.h5\n"
    "  ltr import septum.nwb --table none --series ElectricalSeries_lfp "
    "--bin 0.01 -o lfp.h5\n"
    "  ltr import counts.npz --variable spikes --axes neuron,time,trial "
    "--dt 0.02 -o rec.h5\n"
    "  ltr import NaturalImages1.mat --variable Spikes --time-unit ms "
    "--window 0:0.3 \\\n      --bin 0.01 -o retina.h5";

// --time-unit: seconds per unit of the spike times.
double TimeUnit(const std::string& name) {
  if (name == "s") return 1.0;
  if (name == "ms") return 1e-3;
  if (name == "us") return 1e-6;
  throw cli::po::error("option --time-unit: expected s, ms or us, not '" +
                       name + "'");
}

// "-0.5:1.5" -> (-0.5, 1.5).
void ParseWindow(const std::string& text,
                 const std::string& option,
                 double* a,
                 double* b) {
  const size_t colon = text.find(':');
  try {
    size_t used_a = 0, used_b = 0;
    *a = std::stod(text.substr(0, colon), &used_a);
    *b = std::stod(text.substr(colon + 1), &used_b);
    if (colon != std::string::npos && used_a == colon &&
        used_b == text.size() - colon - 1 && *a < *b)
      return;
  } catch (const std::exception&) {
  }
  throw Error("--" + option + " " + text +
              ": expected START:STOP in seconds with START < STOP");
}

// "--window -0.5:1" -> "--window=-0.5:1", so that a negative start is not
// taken for an option.
std::vector<std::string> JoinNegativeValues(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool takes = args[i] == "--window" || args[i] == "--baseline";
    if (takes && i + 1 < args.size() && args[i + 1].size() > 1 &&
        args[i + 1][0] == '-' &&
        (std::isdigit(args[i + 1][1]) || args[i + 1][1] == '.')) {
      out.push_back(args[i] + "=" + args[i + 1]);
      ++i;
    } else {
      out.push_back(args[i]);
    }
  }
  return out;
}

void AddOptions(cli::po::options_description& options,
                ImportOptions& o,
                std::string& units,
                std::string& format) {
  namespace po = cli::po;
  const ImportOptions d;
  Preprocessing& p = o.preprocessing;
  // clang-format off
  options.add_options()
    ("input", po::value<std::string>(&o.input)->required(),
     "NWB file, .npy, .npz or .mat")
    ("output,o", po::value<std::string>()->required(), "recording to write")
    ("format",
     po::value<std::string>(&format)->default_value(InputFormatName(d.format)),
     "auto (by the name), nwb, npy, npz or mat")
    ("table", po::value<std::string>(&o.table)->default_value(d.table),
     "NWB: the trials' table /intervals/TABLE; none = the whole recording")
    ("align", po::value<std::string>(&o.align)->default_value(d.align),
     "NWB: the column of each trial's alignment time")
    ("window", po::value<std::string>(),
     "A:B seconds around the alignment (required with a table)")
    ("bin", po::value<double>(&o.bin)->default_value(d.bin), "bin width, s")
    ("units", po::value<std::string>(&units), "NWB: unit ids to keep, e.g. 0,3,7")
    ("condition-column", po::value<std::string>(&o.condition_column),
     "NWB: the table column of /condition")
    ("epoch-column", po::value<std::string>(&o.epoch_column),
     "NWB: the table column of /epoch")
    ("series", po::value<std::string>(&o.series),
     "NWB: a TimeSeries (by name or path) instead of the spikes of /units")
    ("series-mode",
     po::value<std::string>(&o.series_mode)->default_value(d.series_mode),
     "interpolate (at bin centres) or mean (of the samples in each bin)")
    ("variable", po::value<std::string>(&o.variable),
     "npz/mat: the array or MATLAB variable (default: the only one)")
    ("axes", po::value<std::string>(&o.axes)->default_value(d.axes),
     "npy/npz/mat arrays: the stored order of the array's axes")
    ("dt", po::value<double>(&o.dt)->default_value(d.dt),
     "npy/npz/mat arrays: seconds per time bin")
    ("time-unit", po::value<std::string>(),
     "mat spike cells: the unit of the spike times, s (default), ms or us")
    ("min-rate", po::value<double>(&p.min_rate)->default_value(p.min_rate),
     "drop neurons firing below this mean rate (spikes/s)")
    ("sqrt", po::bool_switch(&p.sqrt), "square root of every entry")
    ("smooth-sd", po::value<double>(&p.smooth_sd)->default_value(p.smooth_sd),
     "Gaussian smoothing along time, sd in seconds (0 = none)")
    ("baseline", po::value<std::string>(),
     "A:B: subtract each neuron's mean over these bins of every trial")
    ("soft-normalize", po::value<double>(),
     "EPS: divide each neuron by its range + EPS (TCA's soft normalisation)")
    ("zscore", po::bool_switch(&p.zscore), "z-score each neuron");
  // clang-format on
}

}  // namespace

int RunImport(int argc, char** argv) {
  namespace po = cli::po;
  std::vector<std::string> args = JoinNegativeValues(argc, argv);
  std::vector<char*> joined;
  for (std::string& a : args) joined.push_back(a.data());
  ImportOptions o;
  std::string units, format_name;
  po::options_description options("Options");
  AddOptions(options, o, units, format_name);
  po::positional_options_description positional;
  positional.add("input", 1);
  po::variables_map vm;
  if (!cli::Parse(static_cast<int>(joined.size()),
                  joined.data(),
                  kUsage,
                  options,
                  positional,
                  &vm))
    return 0;
  if (vm.count("window"))
    ParseWindow(vm["window"].as<std::string>(),
                "window",
                &o.window_start,
                &o.window_stop);
  Preprocessing& p = o.preprocessing;
  if (vm.count("baseline")) {
    p.baseline = true;
    ParseWindow(vm["baseline"].as<std::string>(),
                "baseline",
                &p.baseline_start,
                &p.baseline_stop);
  }
  if (vm.count("soft-normalize")) {
    p.soft_normalize = true;
    p.soft_normalize_epsilon = vm["soft-normalize"].as<double>();
  }
  if (!units.empty())
    for (int id : cli::ParseIntList(units, "units")) o.units.push_back(id);
  o.format = ParseInputFormat(format_name);
  const InputFormat format = ImportFormat(o);
  const bool nwb = format == InputFormat::kNwb,
             mat = format == InputFormat::kMat;
  cli::RejectUnless(
      vm,
      {"table", "align", "units", "series", "condition-column", "epoch-column"},
      nwb,
      "applies to NWB input");
  cli::RejectUnless(
      vm, {"window"}, nwb || mat, "applies to NWB and MATLAB spike input");
  cli::RejectUnless(vm,
                    {"variable", "axes", "dt"},
                    !nwb,
                    "applies to NumPy and MATLAB input");
  cli::RejectUnless(vm, {"time-unit"}, mat, "applies to MATLAB input");
  if (vm.count("time-unit"))
    o.time_unit = TimeUnit(vm["time-unit"].as<std::string>());
  cli::RejectUnless(
      vm, {"series-mode"}, cli::Given(vm, "series"), "needs --series");
  o.run = cli::CommandContext(1, false);

  const std::string output = vm["output"].as<std::string>();
  io::RefuseOutputOverInput(output, {o.input});
  io::OutputFile out(output, cli::CommandLine(argc, argv));
  const ImportResult result = ImportRecording(o);
  if (result.cancelled) {
    std::cerr << "ltr import: interrupted by signal "
              << cli::SignalToken().reason() << "; nothing written\n";
    return cli::SignalExitStatus();
  }
  for (const std::string& w : result.warnings)
    std::cerr << "ltr import: warning: " << w << "\n";
  WriteImportedRecording(result.imported, &out);
  out.Commit();
  std::cout << result.summary << "\nwrote " << out.path() << "\n";
  return 0;
}

}  // namespace ltr
