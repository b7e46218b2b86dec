// What every subcommand shares: option parsing (command line and --config
// file), the usage text, and small parsers for option values.
#ifndef LTR_TOOLS_CLI_H_
#define LTR_TOOLS_CLI_H_

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace ltr::cli {

namespace po = boost::program_options;

// Parses argv (argv[0] is the subcommand's name) into *vm, adding --help and
// --config FILE (lines `option = value` or a bare `switch`; the command line
// wins; errors name FILE:LINE). An alias (--lr) is stored under its option's
// name (learning-rate). A required positional input that is missing is
// reported with the name the usage gives it ("give INPUT.h5"). Returns
// false, having printed the usage, when --help was given. Throws po::error
// or ltr::Error on bad options.
bool Parse(int argc,
           char** argv,
           const std::string& usage,
           const po::options_description& options,
           const po::positional_options_description& positional,
           po::variables_map* vm);

// The option an alias stands for ("lr" -> "learning-rate"); other names
// are returned as they are.
std::string OptionName(const std::string& name);

// The command line as typed, for the `command` attribute of outputs.
std::string CommandLine(int argc, char** argv);

// "0,2" -> {0, 2}. Throws ltr::Error naming `option` on malformed input.
std::vector<int> ParseIntList(const std::string& text,
                              const std::string& option);
// "2:5" -> {2, 3, 4, 5}; "1,2,4" -> {1, 2, 4}; "3" -> {3}.
std::vector<int> ParseRanks(const std::string& text, const std::string& option);

// The help text of every command's --threads (default 0).
constexpr const char* kThreadsHelp =
    "threads (0 = every core this process may use); the same count gives "
    "the same bits";

// 0 means every core this process may run on (its CPU affinity); a negative
// count throws ltr::Error.
int ResolveThreads(int threads);

// True when `option` was given (on the command line or in --config), not
// just defaulted.
bool Given(const po::variables_map& vm, const std::string& option);

// An option the chosen mode ignores is an error, not silence: when
// `applies` is false and one of `options` was given, throws a command-line
// error (exit 2) "option --X is ignored here: it WHY", e.g.
//   RejectUnless(vm, {"learning-rate", "lr-decay"}, adam,
//                "needs --optimizer adam");
void RejectUnless(const po::variables_map& vm,
                  const std::vector<std::string>& options,
                  bool applies,
                  const std::string& why);

}  // namespace ltr::cli

#endif  // LTR_TOOLS_CLI_H_
