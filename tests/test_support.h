// Helpers for tests that run the ltr binary or need scratch files.
#ifndef LTR_TESTS_TEST_SUPPORT_H_
#define LTR_TESTS_TEST_SUPPORT_H_

#include <set>
#include <string>

namespace ltr::test {

// A fresh, empty directory under the system temp dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built `ltr` binary with `args` (a shell-quoted string).
RunResult RunLtr(const std::string& args);

// Runs /usr/bin/python3 on `script`; returns its stdout, or sets *ok = false
// when python3 with h5py is unavailable or the script fails.
std::string RunPython(const std::string& script, bool* ok);
bool HavePythonH5py();

// The whole content of a text file ("" when it cannot be read).
std::string ReadText(const std::string& path);

// Bit-for-bit comparison of every dataset and attribute of two ltr outputs,
// except the attributes named in `ignore` (timings, `created`). Defined in
// test_determinism.cpp, where it is tested.
void CheckSameFiles(const std::string& a,
                    const std::string& b,
                    const std::set<std::string>& ignore);

// Number of lines in s (a trailing newline does not start a new line).
int CountLines(const std::string& s);

}  // namespace ltr::test

#endif  // LTR_TESTS_TEST_SUPPORT_H_
