// The ltr binary as users run it: outputs h5py can read, and bad input that
// gets one clear line, a non-zero exit and no output file.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "cli.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/formats/io.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ltr;
using Catch::Matchers::Contains;

namespace {

const char* kRealRecording = "../shared/data/bci_learning/bci_learning.h5";

// Reads a /cp-style group written by ltr back into a Ktensor.
Ktensor ReadKtensor(const std::string& file, const std::string& group) {
  Ktensor k;
  k.weights = io::ReadVector(file, group + "/weights");
  for (int n = 0; n < 3; ++n)
    k.factors[n] =
        io::ReadMatrix(file, group + "/factors/" + std::to_string(n));
  return k;
}

}  // namespace

TEST_CASE("ltr prints its version and help", "[cli]") {
  auto version = test::RunLtr("--version");
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Contains("ltr 0."));
  auto help = test::RunLtr("--help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Contains("decompose"));
  for (const char* cmd : {"decompose", "info", "synth"}) {
    auto r = test::RunLtr(std::string(cmd) + " --help");
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("usage: ltr " + std::string(cmd)));
  }
  auto unknown = test::RunLtr("frobnicate");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Contains("unknown command 'frobnicate'"));
}

// fuzz_cli found `ltr train --units %value%` hanging in boost's what().
TEST_CASE("a command-line word holding a boost placeholder is an error",
          "[cli]") {
  for (const char* args :
       {"train --units %value% -o x.h5", "fit -%original_token%x 3 -o x.h5"}) {
    auto r = test::RunLtr(args);
    INFO(args);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("cannot parse the command line near '"));
    CHECK(test::CountLines(r.err) == 1);
  }
}

TEST_CASE("decompose writes the documented layout that h5py reads", "[cli]") {
  test::ScratchDir dir;
  const std::string data = dir / "tca.h5", out = dir / "cp.h5";
  REQUIRE(test::RunLtr("synth --noise 0.05 -o " + data).exit_code == 0);
  auto r = test::RunLtr("decompose " + data +
                        " --rank 3 --seed 2 --threads 2 -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("relative error"));

  // The planted factors are recovered (read back through our own reader).
  const Ktensor truth = ReadKtensor(data, "/truth");
  const Ktensor fit = ReadKtensor(out, "/cp");
  CHECK(FactorMatchScore(truth, fit) >= 0.95);

  if (!test::HavePythonH5py()) {
    WARN("python3 with h5py and numpy not found; h5py check skipped");
    return;
  }
  bool ok = false;
  const std::string report = test::RunPython(
      "import h5py, numpy as np\n"
      "f = h5py.File('" +
          out +
          "', 'r')\n"
          "for a in ('ltr_version', 'command', 'created'): assert a in "
          "f.attrs, a\n"
          "assert f.attrs['command'].startswith('ltr decompose')\n"
          "w = f['cp/weights'][()]\n"
          "assert w.shape == (3,), w.shape\n"
          "assert np.all(np.diff(w) <= 0), w\n"
          "shapes = [f['cp/factors/%d' % n].shape for n in range(3)]\n"
          "assert shapes == [(150, 3), (40, 3), (50, 3)], shapes\n"
          "for n in range(3):\n"
          "  A = f['cp/factors/%d' % n][()]\n"
          "  assert np.allclose(np.linalg.norm(A, axis=0), 1), n\n"
          "assert f['cp/factors/0'].attrs['axes'] == 'trial,component'\n"
          "assert f['cp/factors/2'].attrs['axes'] == 'neuron,component'\n"
          "a = f['cp'].attrs\n"
          "assert a['method'] == 'cp-als' and a['rank'] == 3\n"
          "assert abs(a['fit'] - (1 - a['relative_error'])) < 1e-12\n"
          "x = h5py.File('" +
          data +
          "', 'r')['activity'][()]\n"
          "A, B, C = (f['cp/factors/%d' % n][()] for n in range(3))\n"
          "m = np.einsum('r,ir,jr,kr->ijk', w, A, B, C)\n"
          "err = np.linalg.norm(x - m) / np.linalg.norm(x)\n"
          "assert abs(err - a['relative_error']) < 1e-8, (err, "
          "a['relative_error'])\n"
          "print('ok')\n",
      &ok);
  INFO(report);
  CHECK(ok);
}

TEST_CASE("decompose runs a rank ensemble with cross-validation", "[cli]") {
  test::ScratchDir dir;
  const std::string data = dir / "tca.h5", out = dir / "ens.h5";
  REQUIRE(test::RunLtr("synth --trials 60 --noise 0.05 -o " + data).exit_code ==
          0);
  auto r = test::RunLtr("decompose " + data +
                        " --method ncp-hals --ranks 1:4 --restarts 2 --cv "
                        "--seed 3 -o " +
                        out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(io::DatasetShape(out, "/ensemble/relative_error") ==
        std::vector<Index>{4, 2});
  CHECK(io::DatasetShape(out, "/ensemble/similarity") ==
        std::vector<Index>{4, 2});
  CHECK(io::DatasetShape(out, "/ensemble/corcondia") ==
        std::vector<Index>{4, 2});
  CHECK(io::DatasetShape(out, "/crossval/test_error") ==
        std::vector<Index>{4, 2});
  CHECK(io::ReadIntVector(out, "/ensemble/ranks") ==
        std::vector<std::int64_t>{1, 2, 3, 4});
  const Matrix err = io::ReadMatrix(out, "/ensemble/relative_error");
  // The planted rank is 3: the error falls steeply up to it, then levels.
  CHECK(err(2, 0) < 0.5 * err(1, 0));
  CHECK(err(2, 0) - err(3, 0) < 0.02);
  const Ktensor run = ReadKtensor(out, "/ensemble/rank_3/run_0");
  CHECK(run.rank() == 3);
  for (int n = 0; n < 3; ++n) CHECK(run.factors[n].minCoeff() >= 0);
}

TEST_CASE("decompose reads options from a config file", "[cli]") {
  test::ScratchDir dir;
  const std::string data = dir / "tca.h5", out = dir / "cp.h5";
  REQUIRE(test::RunLtr("synth --trials 30 -o " + data).exit_code == 0);
  {
    std::ofstream(dir / "options.cfg") << "rank = 2\nmethod = cp-als\n"
                                          "max-iters = 7\ntol = 0\n";
  }
  auto r = test::RunLtr("decompose " + data + " --config " +
                        (dir / "options.cfg") + " -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(io::ReadDoubleAttribute(out, "/cp", "rank") == 2);
  CHECK(io::ReadDoubleAttribute(out, "/cp", "iterations") == 7);
}

TEST_CASE("decompose runs Tucker with fixed ranks", "[cli]") {
  test::ScratchDir dir;
  const std::string data = dir / "tca.h5", out = dir / "tk.h5";
  REQUIRE(test::RunLtr("synth --trials 30 -o " + data).exit_code == 0);
  auto r = test::RunLtr("decompose " + data +
                        " --method tucker-hooi --tucker-ranks 3,3,3 -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(io::DatasetShape(out, "/tucker/core") == std::vector<Index>{3, 3, 3});
  CHECK(io::DatasetShape(out, "/tucker/factors/1") ==
        std::vector<Index>{40, 3});
  CHECK(io::ReadDoubleAttribute(out, "/tucker", "relative_error") < 0.2);
}

TEST_CASE("bad input gets one line, a non-zero exit and no output", "[cli]") {
  test::ScratchDir dir;
  const std::string good = dir / "good.h5";
  REQUIRE(test::RunLtr("synth --trials 9 --time-bins 5 --neurons 4 -o " + good)
              .exit_code == 0);
  {
    io::OutputFile f(dir / "nan.h5", "test");
    Tensor3 x(3, 4, 5, 1.0);
    x(1, 2, 3) = NAN;
    f.WriteTensor3("/activity", x, "trial,time,neuron");
    Mask3 mask(3, 4, 5, 1);
    mask(1, 2, 3) = 0;
    f.WriteMask3("/mask", mask, "trial,time,neuron");
    f.WriteMatrix("/matrix", Matrix::Ones(3, 3));
    f.Commit();
  }
  { std::ofstream(dir / "text.h5") << "not an hdf5 file\n"; }
  fs::copy_file(good, dir / "truncated.h5");
  fs::resize_file(dir / "truncated.h5", fs::file_size(good) / 3);

  struct Case {
    std::string args;
    std::string expected;  // part of the message
  };
  const std::string out = dir / "out.h5";
  const std::vector<Case> cases = {
      {"decompose " + (dir / "absent.h5") + " --rank 2", "no such file"},
      {"decompose " + good + " --dataset /nope --rank 2", "no dataset '/nope'"},
      {"decompose " + (dir / "nan.h5") + " --dataset /matrix --rank 2",
       "expected 3 dimensions"},
      {"decompose " + good + " --rank 0", "rank"},
      {"decompose " + good + " --rank -3", "rank"},
      {"decompose " + good + " --rank 100000", "rank"},
      {"decompose " + good + " --ranks 4:2", "rank range"},
      {"decompose " + (dir / "nan.h5") + " --rank 2", "non-finite"},
      {"decompose " + (dir / "text.h5") + " --rank 2", "not an HDF5 file"},
      {"decompose " + (dir / "truncated.h5") + " --rank 2", "truncated.h5"},
      {"decompose " + good + " --rank 2 --method magic", "unknown method"},
      {"decompose " + good + " --rank 2 --nonneg-modes 0,7 --method ncp-hals",
       "mode"},
      {"decompose " + good + " --rank two", "rank"},
      {"decompose " + good, "--rank"},
      {"info " + (dir / "absent.h5"), "no such file"},
  };
  for (const Case& c : cases) {
    const bool is_info = c.args.rfind("info", 0) == 0;
    const auto r = test::RunLtr(c.args + (is_info ? "" : " -o " + out));
    INFO(c.args << "\nstderr: " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(test::CountLines(r.err) == 1);
    CHECK_THAT(r.err, Contains(c.expected));
    CHECK_FALSE(fs::exists(out));
  }
  // An output in a missing directory fails before any work.
  const auto r = test::RunLtr("decompose " + good + " --rank 2 -o " +
                              (dir / "no/dir/x.h5"));
  CHECK(r.exit_code != 0);
  CHECK(test::CountLines(r.err) == 1);
  CHECK_THAT(r.err, Contains("does not exist"));
  // NaN that the mask excludes is fine; so is --nan-as-missing.
  CHECK(test::RunLtr("decompose " + (dir / "nan.h5") +
                     " --rank 1 --mask /mask -o " + out)
            .exit_code == 0);
  CHECK(test::RunLtr("decompose " + (dir / "nan.h5") +
                     " --rank 1 --nan-as-missing -o " + (dir / "out2.h5"))
            .exit_code == 0);
  // Nothing but the files made above: no temporary files left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
    ++files;
  }
  CHECK(files == 6);
}

TEST_CASE("info lists datasets, shapes, dtypes and axes", "[cli]") {
  test::ScratchDir dir;
  REQUIRE(test::RunLtr("synth --trials 9 -o " + (dir / "x.h5")).exit_code == 0);
  const auto r = test::RunLtr("info " + (dir / "x.h5"));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("/activity"));
  CHECK_THAT(r.out, Contains("(9, 40, 50)"));
  CHECK_THAT(r.out, Contains("float64"));
  CHECK_THAT(r.out, Contains("axes: trial,time,neuron"));
  CHECK_THAT(r.out, Contains("command = ltr synth"));
}

TEST_CASE("decompose handles the real BCI recording's spike counts",
          "[cli][real]") {
  if (!fs::exists(kRealRecording)) {
    WARN(std::string("real recording not found at ") + kRealRecording +
         "; skipped");
    return;
  }
  test::ScratchDir dir;
  const std::string out = dir / "bci.h5";
  // direction x unit x sample uint8 counts, nonnegative CP at rank 3.
  const auto r = test::RunLtr(std::string("decompose ") + kRealRecording +
                              " --dataset /beforeLearning/spikes --method "
                              "ncp-hals --rank 3 --seed 1 -o " +
                              out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const Ktensor k = ReadKtensor(out, "/cp");
  CHECK(k.factors[0].rows() == 8);
  CHECK(k.factors[1].rows() == 86);
  CHECK(k.factors[2].rows() == 69);
  for (int n = 0; n < 3; ++n) CHECK(k.factors[n].minCoeff() >= 0);
  // Counts are noisy: a rank-3 model explains a good part but not all.
  const double error = io::ReadDoubleAttribute(out, "/cp", "relative_error");
  CHECK(error > 0.2);
  CHECK(error < 0.8);
  CHECK(io::ReadStringAttribute(out, "/cp/factors/1", "axes") ==
        "unit,component");
}

// --- one command line across commands -------------------------------------

TEST_CASE("train and fit take --lr for --learning-rate", "[cli][options]") {
  test::ScratchDir dir;
  const std::string train =
      "train --task flipflop --units 6 --steps 2 --batch 2 --record-every 1 ";
  for (const std::string flag : {"--lr", "--learning-rate"}) {
    const std::string out = dir / ("t" + flag + ".h5");
    const auto r = test::RunLtr(train + flag + " 0.0125 -o " + out);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(io::ReadDoubleAttribute(out, "/config", "learning_rate") == 0.0125);
  }
  // The alias works in a config file too.
  const std::string cfg = dir / "lr.cfg";
  std::ofstream(cfg) << "lr = 0.0125\n";
  const std::string from_file = dir / "cfg.h5";
  REQUIRE(
      test::RunLtr(train + "--config " + cfg + " -o " + from_file).exit_code ==
      0);
  CHECK(io::ReadDoubleAttribute(from_file, "/config", "learning_rate") ==
        0.0125);
  const auto both = test::RunLtr(train + "--lr 0.1 --learning-rate 0.2 -o " +
                                 (dir / "both.h5"));
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err,
             Contains("give --learning-rate or its alias --lr, not both"));

  const std::string data = dir / "rec.h5";
  REQUIRE(test::RunLtr("synth --trials 9 --time-bins 6 --neurons 5 -o " + data)
              .exit_code == 0);
  const std::string fit = "fit " + data +
                          " --model ltr --rank 1 --optimizer adam "
                          "--max-iters 5 --threads 1 ";
  REQUIRE(test::RunLtr(fit + "--lr 0.05 -o " + (dir / "a.h5")).exit_code == 0);
  REQUIRE(test::RunLtr(fit + "--learning-rate 0.05 -o " + (dir / "b.h5"))
              .exit_code == 0);
  // Five steps at the default 1e-3 learn too little to beat the neurons'
  // means: the fit is written, marked, with exit 1 (not a command-line 2).
  const auto slow = test::RunLtr(fit + "-o " + (dir / "c.h5"));
  CHECK_THAT(slow.err, Contains("no better than predicting each neuron"));
  REQUIRE(slow.exit_code == 1);
  const Vector a = io::ReadVector(dir / "a.h5", "/fit/loss");
  CHECK(a == io::ReadVector(dir / "b.h5", "/fit/loss"));
  CHECK(a != io::ReadVector(dir / "c.h5", "/fit/loss"));  // default 1e-3
}

TEST_CASE("decompose and plot take --ranks as a list", "[cli][options]") {
  test::ScratchDir dir;
  const std::string data = dir / "tca.h5", ens = dir / "ens.h5";
  REQUIRE(
      test::RunLtr("synth --trials 20 --time-bins 10 --neurons 8 -o " + data)
          .exit_code == 0);
  auto r =
      test::RunLtr("decompose " + data +
                   " --ranks 1,3 --restarts 2 --cv --max-iters 20 -o " + ens);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(io::ReadIntVector(ens, "/ensemble/ranks") ==
        std::vector<std::int64_t>{1, 3});
  CHECK(io::ReadIntVector(ens, "/crossval/ranks") ==
        std::vector<std::int64_t>{1, 3});
  CHECK(io::ReadMatrix(ens, "/ensemble/relative_error").rows() == 2);
  CHECK(io::HasDataset(ens, "/ensemble/rank_3/run_1/weights"));
  // A range gives the resume key (and seeds) it always did.
  const std::string range = dir / "range.h5";
  REQUIRE(test::RunLtr("decompose " + data +
                       " --ranks 1:2 --restarts 1 --max-iters 5 -o " + range)
              .exit_code == 0);
  CHECK_THAT(io::ReadStringAttribute(range, "/", "resume_key"),
             Contains(" ranks=1:2 "));
  CHECK_THAT(io::ReadStringAttribute(ens, "/", "resume_key"),
             Contains(" ranks=1,3 "));
  r = test::RunLtr("decompose " + data + " --ranks 3,1 -o " + (dir / "x.h5"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Contains("increasing"));
  r = test::RunLtr("decompose " + data + " --ranks 4:2 -o " + (dir / "x.h5"));
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "ltr decompose: option --ranks: the rank range 4:2 is empty\n");
  r = test::RunLtr("plot " + ens + " --ranks 1,x -o " + (dir / "figs"));
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "ltr plot: option --ranks: 'x' is not a whole number\n");  // one --
}

TEST_CASE("config files take bare switches and errors name the file and line",
          "[cli][options]") {
  test::ScratchDir dir;
  const std::string data = dir / "tca.h5", out = dir / "out.h5";
  REQUIRE(
      test::RunLtr("synth --trials 20 --time-bins 10 --neurons 8 -o " + data)
          .exit_code == 0);
  const std::string cfg = dir / "run.cfg";
  std::ofstream(cfg) << "# a sweep\nranks = 1:2\nrestarts = 1  # one each\n"
                        "cv\nno-corcondia = true\nmax-iters = 5\n";
  auto r =
      test::RunLtr("decompose " + data + " --config " + cfg + " -o " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(io::HasDataset(out, "/crossval/test_error"));
  CHECK(std::isnan(io::ReadMatrix(out, "/ensemble/corcondia")(0, 0)));
  // The command line wins over the file.
  r = test::RunLtr("decompose " + data + " --config " + cfg +
                   " --restarts 2 -o " + (dir / "two.h5"));
  REQUIRE(r.exit_code == 0);
  CHECK(io::ReadMatrix(dir / "two.h5", "/ensemble/relative_error").cols() == 2);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"rank = 2\nbogus = 1\n", "bad.cfg:2: unrecognised option 'bogus'"},
      {"\n\nrank\n", "bad.cfg:3: option 'rank' needs a value (rank = VALUE)"},
      {"rank = two\n", "bad.cfg:1: "},
      {"rank = 2\nrank = 3\n", "bad.cfg:2: option 'rank' is given a second"},
      {"rank = 2\ncv = maybe\n", "bad.cfg:2: switch 'cv' takes no value"},
  };
  for (const auto& [text, message] : bad) {
    const std::string file = dir / "bad.cfg";
    std::ofstream(file) << text;
    r = test::RunLtr("decompose " + data + " --config " + file + " -o " + out +
                     "2");
    INFO(text << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(test::CountLines(r.err) == 1);
    CHECK_THAT(r.err, Contains("ltr decompose: " + dir.path() + "/" + message));
  }
}

TEST_CASE("help shows defaults as typed and one --threads default",
          "[cli][options]") {
  const auto decompose = test::RunLtr("decompose --help");
  CHECK_THAT(decompose.out, Contains("--test-fraction arg (=0.1)"));
  CHECK_THAT(decompose.out, Contains("--tol arg (=1e-06)"));
  CHECK(decompose.out.find("0.1000000") == std::string::npos);
  for (const char* cmd : {"decompose",
                          "fit",
                          "train",
                          "analyze",
                          "plot",
                          "bounds",
                          "theory linear",
                          "pipeline"}) {
    const auto r = test::RunLtr(std::string(cmd) + " --help");
    INFO(cmd);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Contains("--threads arg (=0)"));
    CHECK_THAT(r.out, Contains("0 = every core"));
    CHECK(r.out.find("00000000") == std::string::npos);
  }
  // 0 = every core this process may use: what train records.
  test::ScratchDir dir;
  const std::string out = dir / "t.h5";
  REQUIRE(test::RunLtr("train --task flipflop --units 6 --steps 2 --batch 4 "
                       "--record-every 1 -o " +
                       out)
              .exit_code == 0);
  CHECK(io::ReadDoubleAttribute(out, "/config", "threads") ==
        cli::ResolveThreads(0));
  CHECK(cli::ResolveThreads(0) >= 1);
  CHECK(cli::ResolveThreads(3) == 3);
}

TEST_CASE("a missing input is named and errors carry one command prefix",
          "[cli][options]") {
  test::ScratchDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"decompose --rank 2 -o " + (dir / "o.h5"),
       "ltr decompose: give INPUT.h5"},
      {"analyze -o " + (dir / "o.h5"), "ltr analyze: give TRAJ.h5"},
      {"plot -o " + dir.path(), "ltr plot: give FILE.h5"},
      {"info", "ltr info: give FILE.h5"},
      {"simulate -o " + (dir / "o.h5"), "ltr simulate: give MODEL.h5"},
      {"fit --rank 1 -o " + (dir / "o.h5"),
       "ltr fit: give the recording DATA.h5"},
      {"pipeline -o " + (dir / "p"),
       "ltr pipeline: give the recording LEARNING.h5"},
      {"bounds", "ltr bounds: give a trajectory file TRAJ.h5 or --sweep"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = test::RunLtr(args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(message));
    CHECK(r.err.find("is required") == std::string::npos);
  }
  // Option errors: the command's prefix and the problem, nothing between.
  auto r = test::RunLtr("train --task flipflop --units 0 -o " + (dir / "t.h5"));
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("ltr train: units must be >= 1", 0) == 0);
  r = test::RunLtr("analyze x.h5 --test-batch 0 -o " + (dir / "a.h5"));
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("option error") == std::string::npos);
  CHECK(r.err.find("analyze options") == std::string::npos);
  CHECK(r.err.rfind("ltr analyze: ", 0) == 0);
  // The library no longer names its function in front of the problem.
  const std::string teacher = dir / "teacher.h5";
  REQUIRE(
      test::RunLtr("synth --kind ltr-teacher --units 6 --rank 1 -o " + teacher)
          .exit_code == 0);
  r = test::RunLtr("simulate " + teacher + " -o " + (dir / "s.h5"));
  CHECK(r.exit_code == 1);
  CHECK(r.err == "ltr simulate: give the number of time bins\n");
}
