#include "cli.h"

#include <charconv>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <utility>

#include "ltr/core/error.h"
#include "ltr/core/run_context.h"

namespace ltr::cli {

namespace {

// Options spelt two ways: the alias is stored under the option's name.
constexpr std::pair<const char*, const char*> kAliases[] = {
    {"lr", "learning-rate"},
};

std::string Canonical(const std::string& name) {
  for (const auto& [alias, option] : kAliases)
    if (name == alias) return option;
  return name;
}

// Boost prints a double default as lexical_cast does (0.10000000000000001);
// this gives every double default the shortest text that reads back the
// same (0.1, 1e-06).
void ShortenDoubleDefaults(const po::options_description& options) {
  for (const auto& option : options.options()) {
    auto* typed =
        dynamic_cast<const po::typed_value<double>*>(option->semantic().get());
    boost::any value;
    if (typed == nullptr || !typed->apply_default(value)) continue;
    const double v = boost::any_cast<double>(value);
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, v).ptr;
    const_cast<po::typed_value<double>*>(typed)->default_value(
        v, std::string(text, end));
  }
}

// Stores parsed options, aliases under their names.
void Store(po::parsed_options parsed, po::variables_map* vm) {
  std::set<std::string> given;
  for (const po::option& option : parsed.options)
    given.insert(option.string_key);
  for (const auto& [alias, option] : kAliases)
    if (given.count(alias) && given.count(option))
      throw po::error("give --" + std::string(option) + " or its alias --" +
                      alias + ", not both");
  for (po::option& option : parsed.options)
    option.string_key = Canonical(option.string_key);
  po::store(parsed, *vm);
}

// Parses one option given as a config-file line, the way the command line
// would parse it.
po::parsed_options ParseLine(const std::string& name,
                             const std::string& value,
                             bool bare,
                             const po::options_description& options) {
  const std::string token = "--" + name + (bare ? "" : "=" + value);
  const std::vector<std::string> tokens = {token};
  return po::command_line_parser(tokens)
      .options(options)
      .style(po::command_line_style::default_style &
             ~po::command_line_style::allow_guessing)
      .run();
}

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1);
}

// Reads `option = value` lines (a bare `option` for a switch; `#` starts a
// comment) into *vm, where the command line has not set them already.
// Errors name the file and line; they are command-line errors (po::error).
void ReadConfig(const std::string& file,
                const po::options_description& options,
                po::variables_map* vm) {
  std::ifstream in(file);
  if (!in) throw Error("cannot read config file '" + file + "'");
  std::set<std::string> seen;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = file + ":" + std::to_string(number) + ": ";
    line = Trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const size_t equals = line.find('=');
    const bool bare = equals == std::string::npos;
    const std::string name = Canonical(Trim(line.substr(0, equals)));
    std::string value = bare ? "" : Trim(line.substr(equals + 1));
    const po::option_description* option = options.find_nothrow(name, false);
    if (option == nullptr || name.empty())
      throw po::error(where + "unrecognised option '" + name + "'");
    if (!seen.insert(name).second)
      throw po::error(where + "option '" + name + "' is given a second time");
    const bool is_switch = option->semantic()->max_tokens() == 0;
    if (bare && !is_switch)
      throw po::error(where + "option '" + name + "' needs a value (" + name +
                      " = VALUE)");
    if (is_switch && !bare) {
      // `flag = true` and `flag = false` as well as a bare `flag`.
      if (value == "false" || value == "0" || value == "no") continue;
      if (value != "true" && value != "1" && value != "yes")
        throw po::error(where + "switch '" + name +
                        "' takes no value (or true / false), not '" + value +
                        "'");
    }
    try {
      Store(ParseLine(name, value, is_switch, options), vm);
    } catch (const po::error& e) {
      throw po::error(where + e.what());
    }
  }
}

// The name a command's usage gives its positional input ("INPUT.h5" in
// "usage: ltr decompose INPUT.h5 ..."), or "" when it gives none.
std::string PositionalName(const std::string& usage) {
  std::istringstream words(usage);
  std::string usage_word, ltr, command, name;
  words >> usage_word >> ltr >> command >> name;
  if (name.empty() || name[0] == '[' || name[0] == '-' || name[0] == '(')
    return "";
  return name;
}

// A required positional input that is missing: "give INPUT.h5" rather than
// boost's "the option '--input' is required but missing".
void CheckPositional(const std::string& usage,
                     const po::options_description& options,
                     const po::positional_options_description& positional,
                     const po::variables_map& vm) {
  if (positional.max_total_count() == 0) return;
  const std::string& key = positional.name_for_position(0);
  const po::option_description* option = options.find_nothrow(key, false);
  if (option == nullptr || !option->semantic()->is_required() || vm.count(key))
    return;
  const std::string name = PositionalName(usage);
  throw po::error(name.empty() ? "give the " + option->description()
                               : "give " + name);
}

}  // namespace

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
      "read options from FILE: lines `option = value`, or `option` alone "
      "for a switch; `#` starts a comment; the command line wins");
  po::options_description all;
  all.add(options).add(common);
  Store(po::command_line_parser(argc, argv)
            .options(all)
            .positional(positional)
            .run(),
        vm);
  if (vm->count("help")) {
    ShortenDoubleDefaults(options);
    std::cout << usage << "\n" << all << "\n";
    return false;
  }
  if (vm->count("config"))
    ReadConfig((*vm)["config"].as<std::string>(), options, vm);
  CheckPositional(usage, options, positional, *vm);
  po::notify(*vm);
  return true;
}

std::string OptionName(const std::string& name) { return Canonical(name); }

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

// "3:8" -> {3, 8}; "5" -> {5, 5}.
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

std::vector<int> ParseRanks(const std::string& text,
                            const std::string& option) {
  if (text.find(':') == std::string::npos) return ParseIntList(text, option);
  const auto [first, last] = ParseRange(text, option);
  if (last < first)
    throw Error("option --" + option + ": the rank range " + text +
                " is empty");
  std::vector<int> ranks;
  for (int r = first; r <= last; ++r) ranks.push_back(r);
  return ranks;
}

int ResolveThreads(int threads) {
  if (threads < 0)
    throw Error("option --threads: " + std::to_string(threads) +
                " is negative (0 = every core)");
  return threads > 0 ? threads : UsableCores();
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
