// SIGINT / SIGTERM during `ltr fit` and `ltr train`: the real binary is
// started, signalled once it has made progress (watched through its
// progress output or its growing file, not a fixed sleep), and must exit
// with 128 + signal leaving a readable partial output that --resume
// completes.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "ltr/fit/fit.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/formats/recording.h"
#include "test_support.h"

using namespace ltr;
using Catch::Matchers::Contains;

namespace {

// The ltr binary started with `args`, stdout and stderr to files.
class Child {
 public:
  Child(const std::vector<std::string>& args,
        const std::string& out,
        const std::string& err) {
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<std::string> words = args;
      std::vector<char*> argv = {const_cast<char*>(LTR_BINARY)};
      for (std::string& w : words) argv.push_back(w.data());
      argv.push_back(nullptr);
      execv(LTR_BINARY, argv.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Polls `ready` every 5 ms; false if the child exited or `seconds` passed
  // first.
  bool WaitUntil(const std::function<bool()>& ready, double seconds) {
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (ready()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        status_ = status;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  // Sends `signal` and waits; returns the exit status (-1 unless it exited).
  int SignalAndWait(int signal) {
    if (!reaped_) {
      kill(pid_, signal);
      waitpid(pid_, &status_, 0);
      reaped_ = true;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

// The blank-separated words of a command line (no quoting needed here).
std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

int CountOf(const std::string& text, const std::string& word) {
  int n = 0;
  for (size_t at = text.find(word); at != std::string::npos;
       at = text.find(word, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE(
    "SIGINT stops ltr fit with a partial model, and --resume reaches the "
    "uninterrupted fit's optimum",
    "[interrupt]") {
  test::ScratchDir dir;
  const std::string data = dir / "teacher.h5";
  REQUIRE(test::RunLtr("synth --kind ltr-teacher --units 16 --trials 40 "
                       "--steps 30 --seed 4 -o " +
                       data)
              .exit_code == 0);
  // A linear network: L-BFGS converges (relative cost change < 1e-7) in
  // about 2000 iterations, about a second.
  const std::string fit =
      "fit " + data +
      " --model full --nonlinearity identity --readout identity --tol 1e-7 "
      "--max-iters 20000 --seed 1 --threads 1 --progress 1";

  const test::RunResult reference = test::RunLtr(fit + " -o " + (dir / "a.h5"));
  REQUIRE(reference.exit_code == 0);
  const std::string a = dir / "a.h5";
  REQUIRE(io::ReadStringAttribute(a, "/fit", "termination") == "converged");
  const int total =
      static_cast<int>(io::ReadDoubleAttribute(a, "/fit", "iterations"));
  INFO("the uninterrupted fit took " << total << " iterations");
  REQUIRE(total > 60);  // room to interrupt it

  // Signal it after 20 iterations (progress lines on stderr). b.h5 holds an
  // earlier, complete result, which the interrupted run must not replace.
  const std::string b = dir / "b.h5", err = dir / "b.err";
  const std::string b_partial = io::PartialPath(b);
  std::filesystem::copy_file(a, b);
  const std::string earlier = test::ReadText(a);
  std::vector<std::string> args = Words(fit);
  args.push_back("-o");
  args.push_back(b);
  Child child(args, dir / "b.out", err);
  REQUIRE(child.WaitUntil(
      [&] { return CountOf(test::ReadText(err), "iter ") > 20; }, 60.0));
  const int status = child.SignalAndWait(SIGINT);
  INFO("stderr: " << test::ReadText(err));
  REQUIRE(status == 128 + SIGINT);
  CHECK_THAT(test::ReadText(err), Contains("ltr fit --resume -o"));
  CHECK(test::ReadText(b) == earlier);

  // The partial output beside it: a readable model, marked interrupted,
  // stopped before the uninterrupted fit converged; no temporary files.
  REQUIRE(io::ReadStringAttribute(b_partial, "/fit", "termination") ==
          "interrupted");
  const int done = static_cast<int>(
      io::ReadDoubleAttribute(b_partial, "/fit", "iterations"));
  CHECK(done >= 20);
  CHECK(done < total);
  CHECK(io::ReadVector(b_partial, "/fit/loss").size() == done + 1);
  const FittedModel partial = ReadModel(b_partial);
  const double partial_objective =
      io::ReadDoubleAttribute(b_partial, "/fit", "objective");
  CHECK(partial.parameters.w.rows() == 16);
  CHECK(partial.parameters.w.allFinite());
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    CHECK_THAT(entry.path().filename().string(), !Contains(".tmp"));

  // An option given again replaces the recorded one (--progress 1).
  const test::RunResult resumed =
      test::RunLtr("fit --resume --progress 0 -o " + b);
  INFO(resumed.out << resumed.err);
  CHECK(resumed.err.empty());
  REQUIRE(resumed.exit_code == 0);
  CHECK(io::ReadStringAttribute(b, "/fit", "termination") == "converged");
  CHECK_FALSE(std::filesystem::exists(b_partial));
  CHECK(io::ReadStringAttribute(b, "/", "resumed_command") ==
        "ltr fit --resume --progress 0 -o " + b);
  // One fit's history: the iterations before the signal, then the rest,
  // one entry per iteration as in the uninterrupted fit's.
  const int iterations =
      static_cast<int>(io::ReadDoubleAttribute(b, "/fit", "iterations"));
  CHECK(iterations > done);
  CHECK(io::ReadVector(b, "/fit/loss").size() - iterations ==
        io::ReadVector(a, "/fit/loss").size() - total);
  CHECK(io::ReadDoubleAttribute(b, "/fit", "initial_loss") ==
        io::ReadDoubleAttribute(a, "/fit", "initial_loss"));

  // Same optimum (docs/fit.md): L-BFGS restarts with an empty memory, so
  // the path differs, but both stop where the cost no longer falls by
  // 1e-7 per iteration, at objectives that agree to 1e-3 (measured 2e-4),
  // below the interrupted fit's.
  const double objective_a = io::ReadDoubleAttribute(a, "/fit", "objective");
  const double objective_b = io::ReadDoubleAttribute(b, "/fit", "objective");
  INFO("objectives " << objective_a << " and " << objective_b);
  CHECK(objective_b == Approx(objective_a).epsilon(1e-3));
  CHECK(objective_b < partial_objective);
  const Recording recording = ReadRecording(data);
  const Tensor3 pa = Predict(ReadModel(a), recording);
  const Tensor3 pb = Predict(ReadModel(b), recording);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < pa.values().size(); ++i) {
    worst = std::max(worst, std::abs(pa.values()[i] - pb.values()[i]));
    scale = std::max(scale, std::abs(pa.values()[i]));
  }
  INFO("largest prediction difference " << worst << " of " << scale);
  // The valley is flat: predictions move by a few % of their scale
  // (measured 1.4-3.3 %) for a 2e-4 change in the objective.
  CHECK(worst < 0.1 * scale);

  // A finished fit is not resumed.
  const test::RunResult again = test::RunLtr("fit --resume -o " + b);
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Contains("no interrupted fit"));
  CHECK(test::CountLines(again.err) == 1);
}

TEST_CASE(
    "SIGTERM stops ltr train at a snapshot, and --resume then writes what "
    "an uninterrupted run writes, bit for bit",
    "[interrupt]") {
  test::ScratchDir dir;
  const std::vector<std::string> common = {"train",
                                           "--task",
                                           "flipflop",
                                           "--units",
                                           "24",
                                           "--batch",
                                           "4",
                                           "--record-every",
                                           "5",
                                           "--seed",
                                           "5"};
  const std::string b = dir / "b.h5", err = dir / "b.err";
  const std::string b_partial = io::PartialPath(b);
  // An earlier, complete run in b.h5, which the interrupted one must keep.
  std::string fresh = "";
  for (const std::string& w : common) fresh += w + " ";
  REQUIRE(test::RunLtr(fresh + "--steps 3 -o " + b).exit_code == 0);
  const std::string earlier = test::ReadText(b);
  std::vector<std::string> args = common;
  for (const char* w : {"--steps", "1000000", "-o"}) args.push_back(w);
  args.push_back(b);
  Child child(args, dir / "b.out", err);
  // The partial file grows at every flushed snapshot: wait for a few.
  std::uintmax_t size = 0;
  int growths = 0;
  REQUIRE(child.WaitUntil(
      [&] {
        std::error_code ec;
        const std::uintmax_t now = std::filesystem::file_size(b_partial, ec);
        if (!ec && now > size) {
          size = now;
          ++growths;
        }
        return growths > 4;
      },
      60.0));
  const int status = child.SignalAndWait(SIGTERM);
  INFO("stderr: " << test::ReadText(err));
  REQUIRE(status == 128 + SIGTERM);
  CHECK_THAT(test::ReadText(err), Contains("ltr train --resume -o"));
  CHECK(test::ReadText(b) == earlier);

  // Readable, incomplete, ending at a snapshot whose checkpoint matches.
  CHECK(io::ReadDoubleAttribute(b_partial, "/", "complete") == 0.0);
  const std::vector<std::int64_t> steps = io::ReadIntVector(b_partial, "/step");
  REQUIRE(steps.size() >= 2);
  const std::int64_t last = steps.back();
  CHECK(last == 5 * static_cast<std::int64_t>(steps.size() - 1));
  CHECK(io::ReadDoubleAttribute(b_partial, "/checkpoint", "step") == last);
  CHECK(io::DatasetShape(b_partial, "/loss")[0] == last);

  const std::string total = std::to_string(last + 12);
  const test::RunResult resumed =
      test::RunLtr("train --resume --steps " + total + " -o " + b);
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(b_partial));
  REQUIRE(test::RunLtr(fresh + "--steps " + total + " -o " + (dir / "a.h5"))
              .exit_code == 0);
  test::CheckSameFiles(dir / "a.h5", b, {"resumed_command"});
}

TEST_CASE("a cancelled token stops the library's fit at its first iteration",
          "[interrupt]") {
  // In-process: what the callback does when the token is already cancelled.
  test::ScratchDir dir;
  REQUIRE(test::RunLtr("synth --kind ltr-teacher --units 6 --trials 8 "
                       "--steps 10 --seed 2 -o " +
                       (dir / "d.h5"))
              .exit_code == 0);
  const Recording recording = ReadRecording(dir / "d.h5");
  FitOptions o;
  o.rank = 2;
  o.checkpoint_path = dir / "checkpoint.h5";
  CancellationToken token;
  token.Cancel(SIGINT);
  o.run.cancellation = &token;
  const FitSummary s = FitRnn(o, recording);
  CHECK(s.termination == "interrupted");
  CHECK(s.iterations == 0);
  CHECK(s.model.parameters.a.allFinite());
  CHECK(io::ReadStringAttribute(o.checkpoint_path, "/fit", "termination") ==
        "interrupted");
}

TEST_CASE(
    "SIGINT during ltr fit --ranks keeps an earlier sweep file as it was and "
    "leaves no checkpoint over it",
    "[interrupt][safety]") {
  test::ScratchDir dir;
  const std::string data = dir / "teacher.h5", sweep = dir / "sweep.h5";
  REQUIRE(test::RunLtr("synth --kind ltr-teacher --units 12 --trials 30 "
                       "--steps 20 --seed 4 -o " +
                       data)
              .exit_code == 0);
  const std::string fit = "fit " + data +
                          " --ranks 1:3 --readout identity --threads 1 "
                          "--tol 0 --progress 1";
  REQUIRE(test::RunLtr(fit + " --max-iters 3 -o " + sweep).exit_code == 0);
  const std::string earlier = test::ReadText(sweep);
  std::vector<std::string> args = Words(fit);
  for (const char* w : {"--max-iters", "5000", "-o"}) args.push_back(w);
  args.push_back(sweep);
  const std::string err = dir / "err";
  Child child(args, dir / "out", err);
  REQUIRE(child.WaitUntil(
      [&] { return CountOf(test::ReadText(err), "iter ") > 10; }, 60.0));
  INFO("stderr: " << test::ReadText(err));
  REQUIRE(child.SignalAndWait(SIGINT) == 128 + SIGINT);
  CHECK_THAT(test::ReadText(err), Contains("is unchanged"));
  CHECK(test::ReadText(sweep) == earlier);
  CHECK_FALSE(std::filesystem::exists(io::PartialPath(sweep)));
}

TEST_CASE(
    "SIGINT stops ltr pipeline with 128 + signal and one line, and --resume "
    "reuses the steps that finished",
    "[interrupt][pipeline]") {
  test::ScratchDir dir;
  const std::string learning = dir / "learning.h5", out = dir / "out";
  REQUIRE(test::RunLtr("train --task reach --protocol adaptation --units 12 "
                       "--g 0 --steps 30 --batch 4 --record-every 10 --seed 5 "
                       "--baseline-trials 12 --adaptation-trials 12 "
                       "--washout-trials 12 --adapt-recurrent-only -o " +
                       learning)
              .exit_code == 0);
  const std::string pipeline = "pipeline " + learning +
                               " --ranks 1:2 --seeds 1 --max-iters 200 "
                               "--cp-restarts 2 --no-plots --threads 1 "
                               "--progress 1 -o " +
                               out;
  const std::vector<std::string> args = Words(pipeline);
  const std::string err = dir / "err";
  Child child(args, dir / "stdout", err);
  // In the rank sweep: the base fit's file is complete by then.
  REQUIRE(child.WaitUntil(
      [&] {
        const std::string text = test::ReadText(err);
        const size_t at = text.find("[2/5]");
        return at != std::string::npos && CountOf(text.substr(at), "iter ") > 5;
      },
      60.0));
  REQUIRE(child.SignalAndWait(SIGINT) == 128 + SIGINT);
  const std::string text = test::ReadText(err);
  INFO("stderr: " << text);
  const std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  CHECK_THAT(last, Contains("ltr pipeline: interrupted by signal 2"));
  CHECK_THAT(last, Contains("--resume"));
  CHECK(CountOf(text, "ltr pipeline: interrupted") == 1);
  CHECK(std::filesystem::exists(out + "/baseline_fit.h5"));
  CHECK_FALSE(std::filesystem::exists(out + "/fit.h5"));
  CHECK_FALSE(std::filesystem::exists(out + "/true_update_cp.h5"));

  const test::RunResult resumed = test::RunLtr(pipeline + " --resume");
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Contains("reused " + out + "/baseline_fit.h5"));
  CHECK(std::filesystem::exists(out + "/summary.h5"));
}

TEST_CASE("SIGINT stops ltr theory linear with 128 + signal, writing nothing",
          "[interrupt][theory]") {
  test::ScratchDir dir;
  const std::string out = dir / "lin.h5", err = dir / "err";
  // About a minute of work uninterrupted.
  Child child(Words("theory linear --units 512 --g 0,0.5,0.9 --seeds 10 "
                    "--threads 1 -o " +
                    out),
              dir / "out",
              err);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(child.SignalAndWait(SIGINT) == 128 + SIGINT);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count() < 1.0);
  CHECK_THAT(test::ReadText(err), Contains("interrupted by signal 2"));
  CHECK_THAT(test::ReadText(err), Contains("nothing written"));
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK_FALSE(std::filesystem::exists(io::PartialPath(out)));
}
