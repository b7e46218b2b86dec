#include <boost/program_options.hpp>
#include <cstring>
#include <iostream>
#include <new>
#include <string>

#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/version.h"

namespace ltr {
namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int, char**);
};

constexpr Command kCommands[] = {
    {"info",
     "list the datasets, shapes, dtypes and axes of an HDF5 file",
     RunInfo},
    {"decompose",
     "CP and Tucker decompositions, rank ensembles, CV",
     RunDecompose},
    {"import",
     "an NWB file (spike times, trials) or NumPy array to a recording",
     RunImport},
    {"synth", "write a planted low-rank example recording", RunSynth},
    {"fit",
     "fit an RNN (full, low-rank, low-tensor-rank) to a recording",
     RunFit},
    {"simulate", "run a fitted model and write a recording", RunSimulate},
    {"train",
     "train an RNN on a task and record its learning trajectory",
     RunTrain},
    {"analyze", "rank analyses of a learning trajectory", RunAnalyze},
    {"theory", "linear theory: predictions beside gradient descent", RunTheory},
    {"bounds", "rank bounds of learning beside measured ranks", RunBounds},
    {"plot", "figures (PNG, SVG) of any ltr output, via gnuplot", RunPlot},
    {"pipeline",
     "learning over trials: fits, update CP, bounds, report",
     RunPipeline},
};

void PrintUsage(std::ostream& out) {
  out << "ltr " << kVersion
      << " - the rank structure of learning\n\n"
         "usage: ltr <command> [options]   (ltr <command> --help for "
         "details)\n\ncommands:\n";
  for (const Command& c : kCommands)
    out << "  " << c.name << std::string(12 - std::strlen(c.name), ' ')
        << c.summary << "\n";
  out << "\noptions:\n  --help      this text\n  --version   print the "
         "version\n";
}

// boost's error::what() loops forever when a word it puts into the message
// holds one of its own placeholders, such as %value% (Boost 1.74; found by
// fuzz_cli): name the word instead.
std::string CommandLineError(const boost::program_options::error& e,
                             int argc,
                             char** argv) {
  for (int i = 1; i < argc; ++i)
    for (const char* placeholder : {"%canonical_option%",
                                    "%option%",
                                    "%original_token%",
                                    "%value%",
                                    "%prefix%"})
      if (std::strstr(argv[i], placeholder))
        return std::string("cannot parse the command line near '") + argv[i] +
               "'";
  return e.what();
}

}  // namespace

int RunMain(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout);
    return 0;
  }
  if (name == "--version") {
    std::cout << "ltr " << kVersion << "\n";
    return 0;
  }
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    // Every failure ends here as one line and a non-zero exit: 2 for a
    // malformed command line, 1 for bad input or I/O trouble.
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const boost::program_options::error& e) {
      std::cerr << "ltr " << name << ": " << CommandLineError(e, argc, argv)
                << " (see ltr " << name << " --help)\n";
      return 2;
    } catch (const Error& e) {
      std::cerr << "ltr " << name << ": " << e.what() << "\n";
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "ltr " << name << ": out of memory\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "ltr " << name << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "ltr: unknown command '" << name << "' (see ltr --help)\n";
  return 2;
}

}  // namespace ltr
