// Interrupting a real `ltr decompose --ranks A:B --restarts K` run with
// SIGINT or SIGTERM: exit status 128 + signal, a readable partial output
// that holds the finished fits, and `--resume` reaching the file of an
// uninterrupted run bit for bit.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ltr/core/error.h"
#include "ltr/decompose/decompose.h"
#include "ltr/formats/decomposition_file.h"
#include "ltr/formats/io.h"
#include "planted.h"
#include "test_support.h"

using namespace ltr;
using Catch::Matchers::Contains;

namespace {

const std::string kTca = std::string(LTR_SOURCE_DIR) + "/data/example_tca.h5";

// 6 ranks x 4 restarts; --tol 0 fixes every fit's length, so the run lasts
// long enough to be stopped midway.
std::vector<std::string> SweepArgs(const std::string& output) {
  return {"decompose",
          kTca,
          "--ranks",
          "1:6",
          "--restarts",
          "4",
          "--tol",
          "0",
          "--max-iters",
          "60",
          "--threads",
          "1",
          "--seed",
          "21",
          "--progress",
          "-o",
          output};
}

int CountLines(const std::string& file) {
  std::ifstream in(file);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Starts the ltr binary with `args` (stderr to `err`), sends `signal` once
// `lines` progress lines have appeared, and returns its exit status.
int RunAndInterrupt(const std::vector<std::string>& args,
                    const std::string& err,
                    int lines,
                    int signal) {
  // Everything the child needs is made before fork: between fork and exec
  // only async-signal-safe calls.
  std::vector<char*> argv{const_cast<char*>(LTR_BINARY)};
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int fd =
      open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(null >= 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fd, 2);
    dup2(null, 1);
    execv(LTR_BINARY, argv.data());
    _exit(127);
  }
  close(fd);
  close(null);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  while (CountLines(err) < lines) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      FAIL("ltr finished before " << lines << " fits were reported");
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL("no progress from ltr within 120 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, signal);
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

}  // namespace

TEST_CASE(
    "an interrupted ensemble leaves a partial output that --resume "
    "completes bit for bit",
    "[interrupt]") {
  test::ScratchDir dir;
  const std::string full = dir / "full.h5";
  const auto reference = test::RunLtr(Join(SweepArgs(full)));
  INFO(reference.err);
  REQUIRE(reference.exit_code == 0);
  const DecomposeResult truth = ReadDecomposition(full);
  REQUIRE(truth.complete());
  const int total = 6 * 4;

  for (int signal : {SIGINT, SIGTERM}) {
    const std::string out = dir / ("out" + std::to_string(signal) + ".h5");
    const std::string part = io::PartialPath(out);
    // An earlier result in the output, which the interrupted run must keep.
    const std::string earlier = dir / "earlier.h5";
    REQUIRE(test::RunLtr("decompose " + kTca + " --rank 1 --threads 1 -o " +
                         earlier)
                .exit_code == 0);
    std::filesystem::copy_file(
        earlier, out, std::filesystem::copy_options::overwrite_existing);
    const std::string earlier_bytes = test::ReadText(earlier);
    // A file of its own per run: stale lines must not trigger the signal.
    const std::string err = dir / ("err" + std::to_string(signal));
    INFO("signal " << signal);
    // Stopped after 5 of the 24 fits were reported.
    REQUIRE(RunAndInterrupt(SweepArgs(out), err, 5, signal) == 128 + signal);
    CHECK(test::ReadText(out) == earlier_bytes);

    // The partial output beside it: readable, marked incomplete, holding
    // only fits that equal the uninterrupted run's fit of the same restart.
    CHECK(io::ReadDoubleAttribute(part, "/ensemble", "complete") == 0);
    const DecomposeResult partial = ReadDecomposition(part);
    REQUIRE(partial.ensemble);
    REQUIRE_FALSE(partial.complete());
    const EnsembleSummary& p = *partial.ensemble;
    const EnsembleSummary& t = *truth.ensemble;
    const int done = p.DoneCount();
    // The 5th may have been dropped: the signal can arrive between its
    // report and its return.
    CHECK(done >= 4);
    CHECK(io::ReadMatrix(part, "/ensemble/done").sum() == done);
    CHECK(done < total);
    for (Index r = 0; r < p.restart.rows(); ++r)
      for (Index k = 0; k < p.restart.cols(); ++k) {
        if (p.restart(r, k) < 0) continue;
        CHECK(p.restart(r, k) == k);  // partial columns are restarts
        Index j = 0;
        while (t.restart(r, j) != k) ++j;
        CHECK(p.fits[r][k].relative_error == t.fits[r][j].relative_error);
        CHECK(p.fits[r][k].model.factors[0] == t.fits[r][j].model.factors[0]);
      }
    CHECK_THAT(test::ReadText(err), Contains("--resume"));

    std::vector<std::string> resume = SweepArgs(out);
    resume.insert(resume.end() - 2, "--resume");
    const auto resumed = test::RunLtr(Join(resume));
    INFO(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    test::CheckSameFiles(full, out, {});
    CHECK_FALSE(std::filesystem::exists(part));
  }
}

TEST_CASE("decompose --resume refuses other options and a missing file",
          "[interrupt]") {
  test::ScratchDir dir;
  const std::string out = dir / "ens.h5";
  const std::string base =
      "decompose " + kTca + " --ranks 1:2 --restarts 2 --threads 1 ";
  REQUIRE(test::RunLtr(base + "-o " + out).exit_code == 0);
  // A complete result has nothing to resume, and stays as it was.
  const std::string bytes = test::ReadText(out);
  const auto again = test::RunLtr(base + "--resume -o " + out);
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Contains("no interrupted sweep"));
  CHECK(test::ReadText(out) == bytes);
  // What a signal leaves (here: the complete file as the partial one).
  std::filesystem::copy_file(out, io::PartialPath(out));

  const auto other_seed = test::RunLtr(base + "--seed 9 --resume -o " + out);
  CHECK(other_seed.exit_code == 1);
  CHECK_THAT(other_seed.err, Contains("options differ"));
  CHECK(test::CountLines(other_seed.err) == 1);
  const auto missing =
      test::RunLtr(base + "--resume -o " + (dir / "missing.h5"));
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Contains("no interrupted sweep"));
  const auto single =
      test::RunLtr("decompose " + kTca + " --rank 2 --resume -o " + out);
  CHECK(single.exit_code == 1);
  CHECK_THAT(single.err, Contains("--ranks"));
}

namespace {

bool SameBits(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

// The fits of `full` whose task index r * restarts + t is even, laid out as
// an interrupted run leaves them (column t = restart t).
template <typename Summary>
Eigen::MatrixXi EvenTasks(const Summary& full) {
  Eigen::MatrixXi restart =
      Eigen::MatrixXi::Constant(full.restart.rows(), full.restart.cols(), -1);
  for (Index r = 0; r < restart.rows(); ++r)
    for (Index k = 0; k < restart.cols(); ++k) {
      const int t = full.restart(r, k);
      if ((r * restart.cols() + t) % 2 == 0) restart(r, t) = t;
    }
  return restart;
}

// Column of `full` that holds restart t of rank index r.
template <typename Summary>
Index ColumnOf(const Summary& full, Index r, int t) {
  Index k = 0;
  while (full.restart(r, k) != t) ++k;
  return k;
}

// A planted rank-2 tensor with 5 % noise, and an ensemble over ranks 1..3
// whose fits run a fixed 25 iterations.
Tensor3 PlantedData() {
  return testing::AddNoise(
      testing::PlantedKtensor({14, 12, 10}, 2, 3).Full(), 0.05, 4);
}

EnsembleOptions FixedLengthEnsemble(int restarts) {
  EnsembleOptions e;
  e.cp.max_iterations = 25;
  e.cp.tolerance = 0;
  e.cp.seed = 5;
  e.min_rank = 1;
  e.max_rank = 3;
  e.restarts = restarts;
  return e;
}

}  // namespace

TEST_CASE(
    "RunEnsemble and CrossValidate resume a partial grid to the "
    "uninterrupted result",
    "[interrupt]") {
  const Tensor3 x = PlantedData();
  EnsembleOptions e = FixedLengthEnsemble(3);
  const EnsembleSummary full = RunEnsemble(e, x);
  REQUIRE(full.complete);
  REQUIRE(full.DoneCount() == 9);

  // Cancelled before the first fit: nothing done, nothing made up.
  CancellationToken token;
  token.Cancel(SIGINT);
  EnsembleOptions cancelled = e;
  cancelled.run.cancellation = &token;
  const EnsembleSummary none = RunEnsemble(cancelled, x);
  CHECK_FALSE(none.complete);
  CHECK(none.DoneCount() == 0);
  CHECK(none.relative_error.array().isNaN().all());

  EnsembleSummary partial = none;
  partial.restart = EvenTasks(full);
  for (Index r = 0; r < 3; ++r)
    for (int t = 0; t < 3; ++t) {
      if (partial.restart(r, t) < 0) continue;
      const Index k = ColumnOf(full, r, t);
      partial.fits[r][t] = full.fits[r][k];
      partial.corcondia(r, t) = full.corcondia(r, k);
    }
  const EnsembleSummary resumed = RunEnsemble(e, x, nullptr, &partial);
  REQUIRE(resumed.complete);
  CHECK(resumed.restart == full.restart);
  CHECK(SameBits(resumed.relative_error, full.relative_error));
  CHECK(SameBits(resumed.similarity, full.similarity));
  CHECK(SameBits(resumed.corcondia, full.corcondia));
  for (Index r = 0; r < 3; ++r)
    for (Index k = 0; k < 3; ++k) {
      CHECK(resumed.fits[r][k].seed == full.fits[r][k].seed);
      for (int n = 0; n < 3; ++n)
        CHECK(SameBits(resumed.fits[r][k].model.factors[n],
                       full.fits[r][k].model.factors[n]));
    }
  EnsembleOptions other = e;
  other.restarts = 2;
  CHECK_THROWS_AS(RunEnsemble(other, x, nullptr, &partial), Error);

  CrossValidationOptions cv;
  cv.cp = e.cp;
  cv.ranks = {1, 2, 3};
  cv.restarts = 3;
  const CrossValidationSummary cv_full = CrossValidate(cv, x);
  REQUIRE(cv_full.complete);
  CrossValidationSummary cv_partial = cv_full;
  cv_partial.complete = false;
  cv_partial.restart = EvenTasks(cv_full);
  for (Index r = 0; r < 3; ++r)
    for (int t = 0; t < 3; ++t) {
      const bool kept = cv_partial.restart(r, t) >= 0;
      const Index k = ColumnOf(cv_full, r, t);
      cv_partial.train_error(r, t) = kept ? cv_full.train_error(r, k) : NAN;
      cv_partial.test_error(r, t) = kept ? cv_full.test_error(r, k) : NAN;
    }
  const CrossValidationSummary cv_resumed =
      CrossValidate(cv, x, nullptr, &cv_partial);
  REQUIRE(cv_resumed.complete);
  CHECK(cv_resumed.restart == cv_full.restart);
  CHECK(SameBits(cv_resumed.train_error, cv_full.train_error));
  CHECK(SameBits(cv_resumed.test_error, cv_full.test_error));
}

TEST_CASE(
    "a token cancelled from the progress callback stops an ensemble and a "
    "cross-validation with the finished fits kept",
    "[interrupt]") {
  const Tensor3 x = PlantedData();
  EnsembleOptions e = FixedLengthEnsemble(2);
  const EnsembleSummary full = RunEnsemble(e, x);
  REQUIRE(full.complete);

  // Every finished fit reports one line, in task order, through the
  // callback; the third cancels the token.
  CancellationToken token;
  std::vector<std::string> lines;
  e.run.cancellation = &token;
  e.run.progress = [&](const std::string& line) {
    lines.push_back(line);
    if (lines.size() == 3) token.Cancel(SIGTERM);
  };
  const EnsembleSummary stopped = RunEnsemble(e, x);
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0],
             Catch::Matchers::StartsWith("ensemble: rank 1 restart 0: error "));
  CHECK_THAT(lines[2],
             Catch::Matchers::StartsWith("ensemble: rank 2 restart 0: error "));
  CHECK_THAT(lines[2], Catch::Matchers::EndsWith(" s"));
  CHECK(token.reason() == SIGTERM);
  CHECK_FALSE(stopped.complete);
  // The two fits that returned before the cancellation are kept, equal to
  // the uninterrupted run's; the third returned after it and is dropped.
  REQUIRE(stopped.DoneCount() == 2);
  for (Index t = 0; t < 2; ++t) {
    REQUIRE(stopped.restart(0, t) == t);
    const Index k = ColumnOf(full, 0, static_cast<int>(t));
    CHECK(stopped.fits[0][t].seed == full.fits[0][k].seed);
    CHECK(SameBits(stopped.fits[0][t].model.factors[1],
                   full.fits[0][k].model.factors[1]));
    CHECK(stopped.relative_error(0, t) == full.relative_error(0, k));
  }
  CHECK((stopped.restart.bottomRows(2).array() == -1).all());
  CHECK(stopped.relative_error.bottomRows(2).array().isNaN().all());

  // The same for a cross-validation, whose lines say "done".
  CrossValidationOptions cv;
  cv.cp = e.cp;
  cv.ranks = {1, 2};
  cv.restarts = 2;
  lines.clear();
  token.Reset();
  cv.run = e.run;
  cv.run.progress = [&](const std::string& line) {
    lines.push_back(line);
    if (lines.size() == 2) token.Cancel();
  };
  const CrossValidationSummary cv_stopped = CrossValidate(cv, x);
  CHECK(lines ==
        std::vector<std::string>{"cross-validation: rank 1 restart 0 done",
                                 "cross-validation: rank 1 restart 1 done"});
  CHECK_FALSE(cv_stopped.complete);
  CHECK(cv_stopped.DoneCount() == 1);
  CHECK(cv_stopped.restart(0, 0) == 0);
}

TEST_CASE(
    "Decompose resumes from the checkpoint an interrupted sweep wrote, "
    "checking its options",
    "[interrupt][formats]") {
  test::ScratchDir dir;
  const Tensor3 x = PlantedData();
  DecomposeOptions o;
  o.cp.max_iterations = 20;
  o.cp.tolerance = 0;
  o.cp.seed = 3;
  o.ranks = {1, 2, 3};
  o.restarts = 2;
  o.cross_validate = true;
  o.data_name = "input=planted";
  const DecomposeResult full = Decompose(o, x);
  REQUIRE(full.complete());
  CHECK(full.resume_key == ResumeKey(o, x.dims()));
  CHECK_THAT(full.resume_key, Catch::Matchers::EndsWith(" input=planted"));

  // Stopped after 4 of the 6 ensemble fits reported.
  CancellationToken token;
  DecomposeOptions stopped = o;
  int lines = 0;
  stopped.run.cancellation = &token;
  stopped.run.progress = [&](const std::string&) {
    if (++lines == 4) token.Cancel();
  };
  const DecomposeResult partial = Decompose(stopped, x);
  REQUIRE_FALSE(partial.complete());
  REQUIRE(partial.ensemble->DoneCount() == 3);
  REQUIRE(partial.cross_validation->DoneCount() == 0);
  const std::string checkpoint = dir / "out.h5.partial";
  {
    io::OutputFile out(checkpoint, "test");
    WriteDecomposition(stopped, partial, "", &out);
    out.Commit();
  }
  const SweepCheckpoint read = ReadSweepCheckpoint(checkpoint);
  CHECK(read.resume_key == full.resume_key);
  REQUIRE(read.ensemble);
  CHECK(read.ensemble->DoneCount() == 3);

  DecomposeOptions resume = o;
  resume.resume_from = checkpoint;
  const DecomposeResult resumed = Decompose(resume, x);
  REQUIRE(resumed.complete());
  CHECK(resumed.ensemble->restart == full.ensemble->restart);
  CHECK(SameBits(resumed.ensemble->relative_error,
                 full.ensemble->relative_error));
  CHECK(SameBits(resumed.ensemble->similarity, full.ensemble->similarity));
  CHECK(SameBits(resumed.cross_validation->test_error,
                 full.cross_validation->test_error));

  // Other options, other data, no checkpoint, no sweep: refused.
  DecomposeOptions other = resume;
  other.cp.seed = 4;
  CHECK_THROWS_WITH(Decompose(other, x),
                    Catch::Matchers::Contains("options differ"));
  other = resume;
  other.data_name = "input=elsewhere";
  CHECK_THROWS_WITH(Decompose(other, x),
                    Catch::Matchers::Contains("options differ"));
  other = resume;
  other.resume_from = dir / "missing.h5.partial";
  CHECK_THROWS_WITH(Decompose(other, x),
                    Catch::Matchers::Contains("no interrupted sweep"));
  other = resume;
  other.ranks.clear();
  other.cp.rank = 2;
  CHECK_THROWS_WITH(Decompose(other, x),
                    Catch::Matchers::Contains("continues a rank sweep"));
}
