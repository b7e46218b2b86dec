#include "cli.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "ltr/error.h"

namespace ltr::cli {

bool Parse(int argc,
           char** argv,
           const std::string& usage,
           const po::options_description& options,
           const po::positional_options_description& positional,
           po::variables_map* vm) {
  po::options_description common("General");
  common.add_options()("help,h", "print this help and exit")(
      "config",
      po::value<std::string>(),
      "read options from FILE (lines `option = value`; the command line "
      "wins)");
  po::options_description all;
  all.add(options).add(common);
  po::store(po::command_line_parser(argc, argv)
                .options(all)
                .positional(positional)
                .run(),
            *vm);
  if (vm->count("help")) {
    std::cout << usage << "\n" << all << "\n";
    return false;
  }
  if (vm->count("config")) {
    const std::string file = (*vm)["config"].as<std::string>();
    std::ifstream in(file);
    if (!in) throw Error("cannot read config file '" + file + "'");
    po::store(po::parse_config_file(in, options), *vm);
  }
  po::notify(*vm);
  return true;
}

std::string CommandLine(int argc, char** argv) {
  std::string line = "ltr";
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool quote =
        arg.empty() || arg.find_first_of(" \t'\"") != std::string::npos;
    line += " " + (quote ? "'" + arg + "'" : arg);
  }
  return line;
}

namespace {

int ParseInt(const std::string& text, const std::string& option) {
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw Error("option --" + option + ": '" + text +
                "' is not a whole number");
  return value;
}

}  // namespace

std::vector<int> ParseIntList(const std::string& text,
                              const std::string& option) {
  std::vector<int> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(ParseInt(item, option));
  if (values.empty())
    throw Error("option --" + option + ": expected a comma-separated list");
  return values;
}

std::pair<int, int> ParseRange(const std::string& text,
                               const std::string& option) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    const int v = ParseInt(text, option);
    return {v, v};
  }
  return {ParseInt(text.substr(0, colon), option),
          ParseInt(text.substr(colon + 1), option)};
}

std::vector<int> ParseRanks(const std::string& text,
                            const std::string& option) {
  if (text.find(':') == std::string::npos) return ParseIntList(text, option);
  const auto [first, last] = ParseRange(text, option);
  if (last < first)
    throw Error("--" + option + " " + text + ": the range is empty");
  std::vector<int> ranks;
  for (int r = first; r <= last; ++r) ranks.push_back(r);
  return ranks;
}

int ResolveThreads(int threads) {
  if (threads < 0)
    throw Error("option --threads: " + std::to_string(threads) +
                " is negative (0 = every core)");
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

bool Given(const po::variables_map& vm, const std::string& option) {
  return vm.count(option) > 0 && !vm[option].defaulted();
}

void RejectUnless(const po::variables_map& vm,
                  const std::vector<std::string>& options,
                  bool applies,
                  const std::string& why) {
  if (applies) return;
  for (const std::string& option : options)
    if (Given(vm, option))
      throw po::error("option --" + option + " is ignored here: it " + why);
}

}  // namespace ltr::cli
