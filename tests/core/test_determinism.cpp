// Determinism: the same command with the same seed and thread count writes
// the same bits. Each command runs twice through its RunX function and every
// dataset and attribute of the two outputs is compared bit for bit, except
// what records when and how long (`created`, `command`, `*seconds`).
#include <catch2/catch.hpp>
#include <cstring>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "test_support.h"

using namespace ltr;

namespace ltr::test {

namespace {

// What may differ between two runs of one computation.
bool IsTiming(const std::string& name) {
  return name == "created" || name == "command" ||
         name.find("seconds") != std::string::npos;
}

std::string Leaf(const std::string& path) {
  return path.substr(path.find_last_of('/') + 1);
}

// All values of a float or integer dataset of rank 1-3, as doubles (exact
// for float64 and for integers below 2^53).
std::vector<double> ReadAll(const std::string& file, const io::DatasetInfo& d) {
  switch (d.shape.size()) {
    case 1: {
      const Vector v = io::ReadVector(file, d.path);
      return {v.data(), v.data() + v.size()};
    }
    case 2: {
      const Matrix m = io::ReadMatrix(file, d.path);
      return {m.data(), m.data() + m.size()};
    }
    case 3: {
      const Tensor3 t = io::ReadTensor3(file, d.path);
      return {t.values().begin(), t.values().end()};
    }
    default:
      FAIL("dataset " << d.path << " of rank " << d.shape.size()
                      << " has no reader to compare it with");
  }
  return {};
}

}  // namespace

// Declared in test_support.h. `ignore` names further attributes
// that may differ (e.g. resumed_command).
void CheckSameFiles(const std::string& a,
                    const std::string& b,
                    const std::set<std::string>& ignore) {
  INFO("comparing " << a << " with " << b);
  const io::FileInfo x = io::Describe(a);
  const io::FileInfo y = io::Describe(b);
  std::vector<std::string> xs, ys;
  for (const auto& d : x.datasets) xs.push_back(d.path);
  for (const auto& d : y.datasets) ys.push_back(d.path);
  REQUIRE(xs == ys);
  REQUIRE(!xs.empty());
  for (size_t i = 0; i < x.datasets.size(); ++i) {
    const io::DatasetInfo& d = x.datasets[i];
    INFO("dataset " << d.path);
    CHECK(d.shape == y.datasets[i].shape);
    CHECK(d.dtype == y.datasets[i].dtype);
    CHECK(d.axes == y.datasets[i].axes);
    if (IsTiming(Leaf(d.path)) || d.dtype == "string") continue;
    const std::vector<double> u = ReadAll(a, d);
    const std::vector<double> v = ReadAll(b, y.datasets[i]);
    REQUIRE(u.size() == v.size());
    // memcmp, not ==: NaN must equal NaN, and -0 must not equal +0.
    CHECK(std::memcmp(u.data(), v.data(), u.size() * sizeof(double)) == 0);
  }
  auto kept = [&](const std::vector<io::AttributeInfo>& all) {
    std::vector<io::AttributeInfo> out;
    for (const auto& t : all)
      if (!IsTiming(t.name) && !ignore.count(t.name)) out.push_back(t);
    return out;
  };
  const auto xa = kept(x.attributes);
  const auto ya = kept(y.attributes);
  REQUIRE(xa.size() == ya.size());
  for (size_t i = 0; i < xa.size(); ++i) {
    INFO("attribute " << xa[i].object << " " << xa[i].name);
    REQUIRE(xa[i].object == ya[i].object);
    REQUIRE(xa[i].name == ya[i].name);
    CHECK(xa[i].value == ya[i].value);  // strings, and numbers to 10 digits
    double p = 0, q = 0;
    try {
      p = io::ReadDoubleAttribute(a, xa[i].object, xa[i].name);
      q = io::ReadDoubleAttribute(b, ya[i].object, ya[i].name);
    } catch (const Error&) {
      continue;  // a string or array attribute: compared as text above
    }
    CHECK(std::memcmp(&p, &q, sizeof p) == 0);
  }
}

}  // namespace ltr::test

namespace {

// Calls a command function as the binary would (argv[0] = the command).
int Run(int (*command)(int, char**), std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  return command(static_cast<int>(words.size()), argv.data());
}

// Runs `words` + {"-o", dir/name} into two directories and compares.
void CheckRunsTwiceAlike(int (*command)(int, char**),
                         const std::vector<std::string>& words,
                         const std::string& name) {
  test::ScratchDir a, b;
  for (const test::ScratchDir* dir : {&a, &b}) {
    std::vector<std::string> w = words;
    w.push_back("-o");
    w.push_back(*dir / name);
    REQUIRE(Run(command, w) == 0);
  }
  test::CheckSameFiles(a / name, b / name, {});
}

}  // namespace

TEST_CASE("decompose writes bit-identical results for the same seed",
          "[determinism]") {
  // A planted rank-3 recording, small enough for an ensemble to take about
  // a second. (--cv takes 20 s here: left to the slow tests' budget.)
  test::ScratchDir data;
  const std::string kTca = data / "tca.h5";
  REQUIRE(Run(RunSynth,
              {"synth",
               "--trials",
               "30",
               "--time-bins",
               "20",
               "--neurons",
               "15",
               "-o",
               kTca}) == 0);
  SECTION("CP-ALS") {
    CheckRunsTwiceAlike(
        RunDecompose,
        {"decompose", kTca, "--rank", "3", "--seed", "4", "--threads", "2"},
        "als.h5");
  }
  SECTION("nonnegative CP (HALS)") {
    CheckRunsTwiceAlike(RunDecompose,
                        {"decompose",
                         kTca,
                         "--method",
                         "ncp-hals",
                         "--rank",
                         "3",
                         "--max-iters",
                         "100",
                         "--seed",
                         "2",
                         "--threads",
                         "2"},
                        "hals.h5");
  }
  SECTION("rank ensemble") {
    CheckRunsTwiceAlike(RunDecompose,
                        {"decompose",
                         kTca,
                         "--ranks",
                         "1:3",
                         "--restarts",
                         "2",
                         "--max-iters",
                         "100",
                         "--seed",
                         "9",
                         "--threads",
                         "2"},
                        "ensemble.h5");
  }
}

TEST_CASE("fit and train write bit-identical results for the same seed",
          "[determinism]") {
  test::ScratchDir data;
  const std::string recording = data / "teacher.h5";
  REQUIRE(Run(RunSynth,
              {"synth",
               "--kind",
               "ltr-teacher",
               "--units",
               "8",
               "--trials",
               "12",
               "--steps",
               "15",
               "--seed",
               "3",
               "-o",
               recording}) == 0);
  SECTION("fit") {
    CheckRunsTwiceAlike(RunFit,
                        {"fit",
                         recording,
                         "--model",
                         "ltr",
                         "--rank",
                         "2",
                         "--max-iters",
                         "60",
                         "--seed",
                         "1",
                         "--threads",
                         "2"},
                        "fit.h5");
  }
  SECTION("fit with a rank sweep") {
    CheckRunsTwiceAlike(RunFit,
                        {"fit",
                         recording,
                         "--model",
                         "ltr",
                         "--ranks",
                         "1:2",
                         "--max-iters",
                         "30",
                         "--threads",
                         "2"},
                        "sweep.h5");
  }
  SECTION("train") {
    CheckRunsTwiceAlike(RunTrain,
                        {"train",
                         "--task",
                         "flipflop",
                         "--units",
                         "24",
                         "--batch",
                         "4",
                         "--steps",
                         "30",
                         "--record-every",
                         "5",
                         "--seed",
                         "7",
                         "--threads",
                         "2"},
                        "train.h5");
  }
}
