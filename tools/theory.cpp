// ltr theory linear: the linear theory's predictions beside gradient descent
// on the linear fixed-point model (docs/theory.md §1).
#include "ltr/theory/theory.h"

#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.h"
#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "ltr/formats/table_file.h"
#include "signals.h"

namespace ltr {
namespace {

constexpr const char* kUsage =
    "usage: ltr theory linear [--units 1024] [--g 0:0.1:0.9] [--zhat 0.5]\n"
    "                         [--seeds 5] [--eta0 E] [-o LIN.h5]\n\n"
    "Trains the linear network's fixed point z = w^T (I - W)^-1 m by gradient\n"
    "descent with eta = eta0 (1 - g^2)^2 (the protocol of Schuessler et al.,\n"
    "NeurIPS 2020) and prints, per g, the large-N predictions beside the seed\n"
    "means: convergence time and mean gradient norm relative to the first g,\n"
    "||dW|| and its ratio to the first g's, alignment of dW's singular "
    "vectors\n"
    "with w and m, the shuffle loss over z-hat^2/2, and at an early tau~ the\n"
    "output z and s1 (third order), s2 and the eigenvalue of dW (leading\n"
    "order). See docs/theory.md.\n\n"
    "example:\n"
    "  ltr theory linear --units 1024 --g 0:0.1:0.9 --zhat 0.5 --seeds 5 "
    "-o LIN.h5";

// "a:step:b" (inclusive, to rounding) or "a,b,c".
std::vector<double> ParseGrid(const std::string& text) {
  std::vector<double> out;
  auto fail = [&]() {
    return Error("option --g: expected start:step:stop or a list a,b,c, got '" +
                 text + "'");
  };
  try {
    if (text.find(':') != std::string::npos) {
      std::stringstream in(text);
      std::string a, s, b;
      if (!std::getline(in, a, ':') || !std::getline(in, s, ':') ||
          !std::getline(in, b))
        throw fail();
      const double start = std::stod(a), step = std::stod(s),
                   stop = std::stod(b);
      if (!(step > 0) || stop < start) throw fail();
      const int count =
          static_cast<int>(std::floor((stop - start) / step + 1e-9));
      for (int i = 0; i <= count; ++i) out.push_back(start + i * step);
    } else {
      std::stringstream in(text);
      std::string item;
      while (std::getline(in, item, ',')) out.push_back(std::stod(item));
    }
  } catch (const std::logic_error&) {
    throw fail();
  }
  if (out.empty()) throw fail();
  return out;
}

int RunTheoryLinear(int argc, char** argv) {
  namespace po = cli::po;
  const LinearTheoryOptions d;
  LinearTheoryOptions o;
  int threads = 0;
  po::options_description options("Options");
  // clang-format off
  options.add_options()
    ("units", po::value<int>(&o.units)->default_value(d.units), "N")
    // The tool's grid is Schuessler et al.'s; the library's default is g = 0.
    ("g", po::value<std::string>()->default_value("0:0.1:0.9"),
     "gains: start:step:stop or a,b,c (each in [0, 1))")
    ("zhat", po::value<double>(&o.z_hat)->default_value(d.z_hat),
     "target output z-hat")
    ("seeds", po::value<int>(&o.seeds)->default_value(d.seeds),
     "networks per g")
    ("eta0", po::value<double>(&o.eta0)->default_value(d.eta0),
     "eta = eta0 (1 - g^2)^2; 0 = Schuessler et al.'s 0.015/0.009/0.003 "
     "for z-hat 0.5/1/2")
    ("early-tau", po::value<double>(&o.early_tau_tilde)
                      ->default_value(d.early_tau_tilde),
     "tau~ at which z, s1, s2 and the eigenvalue are measured")
    ("max-steps", po::value<int>(&o.max_steps)->default_value(d.max_steps),
     "step limit per network")
    ("antithetic", po::bool_switch(&o.antithetic),
     "also run every network with -m (cancels the random initial output)")
    ("seed", po::value<std::uint64_t>(&o.seed)->default_value(d.seed), "seed")
    ("threads", po::value<int>(&threads)->default_value(0), cli::kThreadsHelp)
    ("output,o", po::value<std::string>(), "output HDF5 file (optional)");
  // clang-format on
  po::positional_options_description positional;
  po::variables_map vm;
  if (!cli::Parse(argc, argv, kUsage, options, positional, &vm)) return 0;

  o.gains = ParseGrid(vm["g"].as<std::string>());
  o.run = cli::CommandContext(threads, false);
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);

  std::unique_ptr<io::OutputFile> out;
  if (vm.count("output")) {
    // argv[-1] is "theory": record the command as typed.
    out = std::make_unique<io::OutputFile>(
        vm["output"].as<std::string>(), cli::CommandLine(argc + 1, argv - 1));
  }
  const LinearTheorySummary summary = RunLinearTheory(o);
  if (summary.cancelled) {
    std::cerr << "ltr theory linear: interrupted by signal "
              << cli::SignalToken().reason() << "; nothing written\n";
    return cli::SignalExitStatus();
  }
  std::cout << summary.FormatTable() << summary.BriefReport() << "\n";
  if (out) {
    WriteLinearTheory(o, summary, out.get());
    out->Commit();
    std::cout << "wrote " << out->path() << "\n";
  }
  return 0;
}

}  // namespace

int RunTheory(int argc, char** argv) {
  const std::string usage =
      "usage: ltr theory linear [options]   (ltr theory linear --help)\n";
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  const std::string sub = argv[1];
  if (sub == "--help" || sub == "-h") {
    std::cout << usage << "\n" << kUsage << "\n";
    return 0;
  }
  if (sub == "linear") return RunTheoryLinear(argc - 1, argv + 1);
  throw Error("unknown theory '" + sub + "'; expected: linear");
}

}  // namespace ltr
