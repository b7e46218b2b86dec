// libFuzzer target: the command line. The input is split at newlines into
// the words after `ltr`, and RunMain runs them in a scratch directory that
// holds a small recording (rec.h5), a fitted model (model.h5) and a
// training trajectory (traj.h5). Contract: every word list ends in a
// return code, never a crash, a sanitizer report or an uncaught exception.
//
// Harness limits, so that runs stay short and stay in the scratch
// directory: words with a '/' are skipped unless they are one of a few
// dataset paths, numbers above 64 are skipped (huge sizes are covered by
// docs/reliability.md's table), and the interrupt flag is set, so fit and
// train stop at their first iteration.
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "signals.h"

namespace {

int Run(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  return ltr::RunMain(static_cast<int>(words.size()), argv.data());
}

void Setup() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/ltr_fuzz_cli_XXXXXX";
  if (mkdtemp(dir.data()) == nullptr || chdir(dir.c_str()) != 0) std::abort();
  const bool ok = Run({"ltr",
                       "synth",
                       "--trials",
                       "6",
                       "--time-bins",
                       "5",
                       "--neurons",
                       "4",
                       "-o",
                       "rec.h5"}) == 0 &&
                  Run({"ltr",
                       "fit",
                       "rec.h5",
                       "--model",
                       "lowrank",
                       "--rank",
                       "1",
                       "--max-iters",
                       "3",
                       "--held-out",
                       "none",
                       "-o",
                       "model.h5"}) == 0 &&
                  Run({"ltr",
                       "train",
                       "--task",
                       "flipflop",
                       "--units",
                       "6",
                       "--steps",
                       "4",
                       "--batch",
                       "2",
                       "--record-every",
                       "2",
                       "-o",
                       "traj.h5"}) == 0;
  if (!ok) std::abort();
  // From here on, long loops stop at once (see the header comment).
  ltr::cli::SignalToken().Cancel(SIGINT);  // what commands poll now
  std::cout.setstate(std::ios::failbit);   // keep the fuzzer's log readable
  std::cerr.setstate(std::ios::failbit);
}

bool Allowed(const std::string& word) {
  static const std::set<std::string> kDatasets = {
      "/activity", "/mask", "/inputs", "/weights", "/condition", "/"};
  if (word.find('/') != std::string::npos && !kDatasets.count(word))
    return false;
  for (size_t i = 0; i < word.size(); ++i) {
    const char c = word[i];
    if ((c >= '0' && c <= '9') || c == '.') {
      const double v = std::strtod(word.c_str() + i, nullptr);
      if (!(std::abs(v) <= 64)) return false;
    }
  }
  return true;
}

}  // namespace

// Once per process, before the first input: the setup's time then does not
// count against an input's -timeout (with -fork, every job starts anew).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::vector<std::string> words = {"ltr"};
  std::string word;
  for (std::size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == '\n') {
      if (!Allowed(word)) return 0;
      words.push_back(word);
      word.clear();
    } else if (data[i] == '\0') {
      return 0;  // argv words cannot hold NUL
    } else {
      word.push_back(static_cast<char>(data[i]));
    }
  }
  if (words.size() > 40) return 0;
  Run(words);
  return 0;
}
