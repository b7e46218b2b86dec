#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace ltr::test {
namespace fs = std::filesystem;

namespace {

std::string Slurp(const std::string& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

ScratchDir::ScratchDir() {
  std::random_device rd;
  path_ = (fs::temp_directory_path() / ("ltr-test-" + std::to_string(getpid()) +
                                        "-" + std::to_string(rd())))
              .string();
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

RunResult RunLtr(const std::string& args) {
  ScratchDir dir;
  const std::string out = dir / "stdout", err = dir / "stderr";
  RunResult r;
  r.exit_code = Shell(std::string(LTR_BINARY) + " " + args + " >" + out +
                      " 2>" + err + " </dev/null");
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

bool HavePythonH5py() {
  static const bool have =
      Shell("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1") == 0;
  return have;
}

std::string RunPython(const std::string& script, bool* ok) {
  ScratchDir dir;
  { std::ofstream(dir / "script.py") << script; }
  const int code = Shell("/usr/bin/python3 " + (dir / "script.py") + " >" +
                         (dir / "out") + " 2>" + (dir / "err"));
  *ok = code == 0;
  std::string out = Slurp(dir / "out");
  if (!*ok) out += Slurp(dir / "err");
  return out;
}

int CountLines(const std::string& s) {
  int lines = 0;
  for (char c : s) lines += c == '\n';
  if (!s.empty() && s.back() != '\n') ++lines;
  return lines;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ltr::test
