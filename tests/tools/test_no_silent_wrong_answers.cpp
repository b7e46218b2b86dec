// No silent wrong answers, through the binary as users run it: options the
// chosen mode ignores are errors; results no better than the zero (or mean)
// model, diverged fits and data that overflow are non-zero exits with one
// line; likely mistakes get exactly one warning line.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "ltr/core/random.h"
#include "ltr/formats/io.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ltr;
using Catch::Matchers::Contains;

namespace {

// A recording of `trials` x 12 x 6 smooth rates in (-0.5, 0.5) with two
// conditions (so no warning about a missing /condition), scaled by `scale`
// and shifted by `shift`; rounded to counts when `counts`.
void WriteRecording(const std::string& path,
                    double scale = 1,
                    double shift = 0,
                    bool counts = false,
                    bool condition = true) {
  const Index trials = 10, steps = 12, neurons = 6;
  Rng rng(3);
  Tensor3 x(trials, steps, neurons);
  std::vector<std::int64_t> labels;
  for (Index k = 0; k < trials; ++k) {
    labels.push_back(k % 2);
    for (Index t = 0; t < steps; ++t)
      for (Index n = 0; n < neurons; ++n) {
        double v = 0.4 * std::sin(0.5 * t + n + (k % 2)) + 0.05 * rng.Normal();
        v = scale * v + shift;
        x(k, t, n) = counts ? std::max(0.0, std::round(v)) : v;
      }
  }
  io::OutputFile f(path, "test");
  f.WriteTensor3("/activity", x, "trial,time,neuron");
  if (condition) f.WriteIntVector("/condition", labels, "trial");
  f.Commit();
}

void WriteTensor(const std::string& path, const Tensor3& x) {
  io::OutputFile f(path, "test");
  f.WriteTensor3("/activity", x, "trial,time,neuron");
  f.Commit();
}

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    n += line.find(part) != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("an option the chosen mode ignores is a command-line error",
          "[honest]") {
  test::ScratchDir dir;
  const std::string data = dir / "x.h5", out = dir / "out.h5";
  WriteRecording(data);
  REQUIRE(test::RunLtr("train --task flipflop --units 4 --steps 2 --batch 2 "
                       "--record-every 1 -o " +
                       (dir / "traj.h5"))
              .exit_code == 0);
  const std::vector<std::string> cases = {
      "decompose " + data + " --method tucker-hosvd --rank 2",
      "decompose " + data + " --method tucker-hooi --ranks 1:2",
      "decompose " + data + " --rank 2 --tucker-ranks 1,2,2",
      "decompose " + data + " --rank 2 --tucker-tol 0.1",
      "decompose " + data + " --rank 2 --restarts 5",
      "decompose " + data + " --rank 2 --test-fraction 0.2",
      "decompose " + data + " --rank 2 --no-corcondia",
      "decompose " + data + " --rank 2 --missing em",
      "decompose " + data + " --method cp-opt --rank 2 --nonneg-modes 0",
      "decompose " + data + " --method tucker-hosvd --max-iters 5",
      "decompose " + data + " --rank 2 --slab-rows 3",
      "fit " + data + " --rank 1 --learning-rate 0.01",
      "fit " + data + " --rank 1 --lr-decay 0.1",
      "fit " + data + " --rank 1 --optimizer adam --tol 1e-3",
      "fit " + data + " --rank 1 --seeds 3",
      "fit " + data + " --rank 1 --neuron-fraction 0.3",
      "fit " + data + " --rank 1 --held-out none --held-out-seed 4",
      "fit " + data + " --rank 1 --smoothing-weight 0.5",
      "fit " + data + " --rank 1 --smoothing second-diff --smoothing-length 3",
      "fit " + data + " --model lowrank --rank 1 --smoothing gp",
      "fit " + data + " --model full --rank 2",
      "fit " + data + " --rank 1 --readout identity --l2-readout 0.1",
      "fit " + data + " --rank 1 --start data --init " + data,
      "train --task flipflop --momentum 0.5",
      "train --task flipflop --target 2",
      "train --task flipflop --curl 0.5",
      "train --task reach --adapt-lr 0.1",
      "train --resume --units 8",
      "bounds --sweep --cp-max-rank 0 --cp-error 0.1",
      "bounds " + (dir / "traj.h5") + " --units 8",
  };
  for (const std::string& args : cases) {
    const bool resume = args.find("--resume") != std::string::npos;
    const auto r =
        test::RunLtr(args + " -o " + (resume ? dir / "traj.h5" : out));
    INFO(args << "\nstderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(test::CountLines(r.err) == 1);
    CHECK_THAT(r.err, Contains("is ignored here"));
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("decompose fails on a fit no better than the zero model",
          "[honest]") {
  test::ScratchDir dir;
  // Negative data: the best nonnegative model is 0 (relative error 1).
  Rng rng(5);
  Tensor3 x(8, 6, 5);
  for (double& v : x.values()) v = -(0.5 + rng.Uniform());
  WriteTensor(dir / "negative.h5", x);
  for (const std::string& fit : {"--rank 2", "--ranks 1:2 --restarts 2"}) {
    const std::string out = dir / "out.h5";
    const auto r = test::RunLtr("decompose " + (dir / "negative.h5") +
                                " --method ncp-hals " + fit + " -o " + out);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(test::CountLines(r.err) == 1);
    CHECK_THAT(r.err, Contains("no better than the zero model"));
    // Written, and marked.
    REQUIRE(fs::exists(out));
    CHECK_THAT(io::ReadStringAttribute(out, "/", "failure"),
               Contains("zero model"));
    fs::remove(out);
  }
  // The same data negated are fitted well: exit 0, no failure attribute.
  x.AsVector() *= -1.0;
  WriteTensor(dir / "positive.h5", x);
  const auto ok =
      test::RunLtr("decompose " + (dir / "positive.h5") +
                   " --method ncp-hals --rank 2 -o " + (dir / "ok.h5"));
  CHECK(ok.exit_code == 0);
  CHECK_FALSE(io::HasAttribute(dir / "ok.h5", "/", "failure"));
}

TEST_CASE("decompose refuses data whose sum of squares overflows or is zero",
          "[honest]") {
  test::ScratchDir dir;
  Rng rng(6);
  Tensor3 x(6, 5, 4);
  for (double& v : x.values()) v = rng.Normal();
  x(1, 2, 3) = 1e308;
  WriteTensor(dir / "huge.h5", x);
  WriteTensor(dir / "zero.h5", Tensor3(6, 5, 4, 0.0));
  const std::string out = dir / "out.h5";
  for (const std::string& method :
       {"--rank 2", "--method cp-opt --rank 2", "--method tucker-hosvd"}) {
    auto r = test::RunLtr("decompose " + (dir / "huge.h5") + " " + method +
                          " -o " + out);
    INFO(method << "\n" << r.err);
    CHECK(r.exit_code == 1);
    CHECK(test::CountLines(r.err) == 1);
    CHECK_THAT(r.err, Contains("overflows"));
    CHECK_FALSE(fs::exists(out));
    r = test::RunLtr("decompose " + (dir / "zero.h5") + " " + method + " -o " +
                     out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Contains("zero at every observed entry"));
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("fit: divergence and a fit worse than the means exit 1", "[honest]") {
  test::ScratchDir dir;
  const std::string data = dir / "x.h5";
  WriteRecording(data);
  SECTION("diverged") {
    const std::string out = dir / "diverged.h5";
    const auto r = test::RunLtr(
        "fit " + data +
        " --rank 1 --nonlinearity relu --optimizer adam --learning-rate 1e8 "
        "--max-iters 100 -o " +
        out);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(test::CountLines(r.err) == 1);
    CHECK_THAT(r.err, Contains("diverged"));
    REQUIRE(fs::exists(out));
    CHECK(io::ReadStringAttribute(out, "/fit", "termination") == "diverged");
    CHECK(io::HasAttribute(out, "/", "failure"));
    CHECK(io::ReadMatrix(out, "/model/readout").allFinite());
  }
  SECTION("simulating a model whose dynamics overflow") {
    // A relu fit diverged on white-noise rates: its last finite parameters
    // overflow within 200 steps (measured: from time 14 on).
    Rng rng(0);
    Tensor3 x(9, 6, 5);
    for (double& v : x.values()) v = 0.3 * std::tanh(rng.Normal());
    io::OutputFile f(dir / "noise.h5", "test");
    f.WriteTensor3("/activity", x, "trial,time,neuron");
    f.WriteIntVector("/condition", {0, 1, 0, 1, 0, 1, 0, 1, 0}, "trial");
    f.Commit();
    const std::string out = dir / "diverged.h5";
    REQUIRE(test::RunLtr("fit " + (dir / "noise.h5") +
                         " --rank 1 --nonlinearity relu --optimizer adam "
                         "--learning-rate 1e8 --max-iters 100 -o " +
                         out)
                .exit_code == 1);
    const auto sim =
        test::RunLtr("simulate " + out + " --steps 200 -o " + (dir / "s.h5"));
    INFO(sim.err);
    CHECK(sim.exit_code == 1);
    CHECK(test::CountLines(sim.err) == 1);
    CHECK_THAT(sim.err, Contains("not finite"));
    CHECK_FALSE(fs::exists(dir / "s.h5"));
  }
  SECTION("no better than each neuron's mean") {
    const std::string out = dir / "bad.h5";
    const auto r = test::RunLtr("fit " + data +
                                " --rank 1 --optimizer adam --learning-rate "
                                "1e6 --max-iters 30 -o " +
                                out);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(test::CountLines(r.err) == 1);
    CHECK_THAT(r.err, Contains("no better than predicting each neuron's mean"));
    REQUIRE(fs::exists(out));
    CHECK(io::ReadDoubleAttribute(out, "/fit", "train_loss") >
          io::ReadDoubleAttribute(out, "/fit", "null_train_loss"));
  }
  SECTION("a good fit passes") {
    const auto r = test::RunLtr(
        "fit " + data + " --rank 1 --max-iters 200 -o " + (dir / "good.h5"));
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(io::ReadDoubleAttribute(dir / "good.h5", "/fit", "train_loss") <
          io::ReadDoubleAttribute(dir / "good.h5", "/fit", "null_train_loss"));
  }
}

TEST_CASE("train: divergence is one line and exit 1, with finite weights",
          "[honest]") {
  test::ScratchDir dir;
  const std::string out = dir / "traj.h5";
  const auto r = test::RunLtr(
      "train --task flipflop --units 8 --steps 20 --batch 2 --record-every 2 "
      "--optimizer sgd --lr 1e6 -o " +
      out);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(test::CountLines(r.err) == 1);
  CHECK_THAT(r.err, Contains("diverged"));
  REQUIRE(fs::exists(out));
  CHECK(io::ReadDoubleAttribute(out, "/", "complete") == 0);
  CHECK(io::ReadVector(out, "/checkpoint/x").allFinite());
}

TEST_CASE("fit warns once about each likely mistake", "[honest]") {
  test::ScratchDir dir;
  struct Case {
    std::string name;
    std::string options;
    std::string expected;
    double scale, shift;
    bool counts, condition;
  };
  const std::vector<Case> cases = {
      {"counts.h5", "", "integer counts", 4, 2, true, true},
      {"no_condition.h5",
       "",
       "no /condition and no /inputs",
       1,
       0,
       false,
       false},
      {"zscored.h5",
       "--readout identity",
       "span more than 2",
       5,
       0,
       false,
       true},
  };
  for (const Case& c : cases) {
    WriteRecording(dir / c.name, c.scale, c.shift, c.counts, c.condition);
    const auto r =
        test::RunLtr("fit " + (dir / c.name) + " --rank 1 " + c.options +
                     " --max-iters 100 -o " + (dir / "out.h5"));
    INFO(c.name << "\n" << r.err);
    CHECK(Count(r.err, "warning:") == 1);
    CHECK(Count(r.err, c.expected) == 1);
  }
  // Rates with conditions through a free readout: no warning.
  WriteRecording(dir / "rates.h5");
  const auto r =
      test::RunLtr("fit " + (dir / "rates.h5") +
                   " --rank 1 --max-iters 100 -o " + (dir / "out.h5"));
  CHECK(Count(r.err, "warning:") == 0);
  // Counts through a Poisson identity readout: the rate is softplus(tanh(x)
  // + d), so counts spanning more than 2 are no sign of z-scored data.
  const auto poisson = test::RunLtr(
      "fit " + (dir / "counts.h5") +
      " --rank 1 --loss poisson --readout identity --max-iters 100 -o " +
      (dir / "out.h5"));
  INFO(poisson.err);
  REQUIRE(poisson.exit_code == 0);
  CHECK(Count(poisson.err, "span more than 2") == 0);
}

TEST_CASE("the rank table prints the held-out loss the rank rule uses",
          "[honest]") {
  test::ScratchDir dir;
  WriteRecording(dir / "x.h5");
  const std::string out = dir / "sweep.h5";
  const auto r =
      test::RunLtr("fit " + (dir / "x.h5") +
                   " --ranks 1:2 --seeds 3 --max-iters 60 -o " + out);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const Matrix test_loss = io::ReadMatrix(out, "/cv/test_loss");
  for (Index i = 0; i < test_loss.rows(); ++i) {
    char expected[64];
    std::snprintf(
        expected, sizeof expected, "%13.5g", test_loss.row(i).minCoeff());
    CHECK_THAT(r.out, Contains(expected));
  }
  // The seeds differ, so the mean the table printed before is not the rule's.
  CHECK(test_loss.row(0).minCoeff() < test_loss.row(0).mean());
}
