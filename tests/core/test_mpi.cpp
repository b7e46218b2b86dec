// Scale-out with MPI: `mpirun -np 2 ltr decompose|fit ...` must write what a
// single process writes, bit for bit; and the task layer (distributed.h)
// that shares the work, run here in one process.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "ltr/core/distributed.h"
#include "ltr/core/error.h"
#include "ltr/formats/io.h"
#include "test_support.h"

using namespace ltr;
using Catch::Matchers::Contains;

namespace {

const std::string kTca = std::string(LTR_SOURCE_DIR) + "/data/example_tca.h5";

// Runs `ltr ARGS` under `mpirun -np 2`. CI runs as root, which Open MPI
// refuses unless told otherwise; --oversubscribe lets 2 processes run on
// fewer cores, --bind-to none keeps their threads free to move.
test::RunResult RunMpi(const std::string& args, const test::ScratchDir& dir) {
  const std::string out = dir / "mpi.stdout", err = dir / "mpi.stderr";
  const std::string command =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_btl_vader_single_copy_mechanism=none "
      "mpirun -np 2 --oversubscribe --bind-to none " +
      std::string(LTR_BINARY) + " " + args + " >" + out + " 2>" + err +
      " </dev/null";
  const int status = std::system(command.c_str());
  test::RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = test::ReadText(out);
  r.err = test::ReadText(err);
  return r;
}

int Count(const std::string& text, const std::string& word) {
  int n = 0;
  for (size_t p = text.find(word); p != std::string::npos;
       p = text.find(word, p + 1))
    ++n;
  return n;
}

// Runs `args` + OUT once alone and once under mpirun -np 2 (OUT =
// single.h5, mpi.h5 in dir); requires both to succeed, one process of the
// MPI run to report, and the two files to be bit for bit the same. Returns
// the MPI run.
test::RunResult RunAloneAndUnderMpi(const std::string& args,
                                    const test::ScratchDir& dir) {
  const auto single = test::RunLtr(args + (dir / "single.h5"));
  INFO(single.err);
  REQUIRE(single.exit_code == 0);
  const auto mpi = RunMpi(args + (dir / "mpi.h5"), dir);
  INFO(mpi.out << mpi.err);
  REQUIRE(mpi.exit_code == 0);
  CHECK(Count(mpi.out, "wrote ") == 1);
  test::CheckSameFiles(dir / "single.h5", dir / "mpi.h5", {});
  return mpi;
}

}  // namespace

TEST_CASE("RunTasks runs every task once and returns results in task order",
          "[mpi]") {
  std::vector<int> calls(7, 0);
  const std::vector<char> skip{0, 1, 0, 0, 1, 0, 0};
  const auto results = distributed::RunTasks(
      RunContext(),
      7,
      [&](int i) {
        ++calls[i];
        distributed::Buffer b;
        b.PutInt(i);
        b.PutDouble(0.5 * i);
        b.PutString("task " + std::to_string(i));
        return b.Release();
      },
      &skip);
  REQUIRE(results.size() == 7);
  for (int i = 0; i < 7; ++i) {
    INFO("task " << i);
    CHECK(calls[i] == (skip[i] ? 0 : 1));
    REQUIRE(results[i].has_value() == !skip[i]);
    if (skip[i]) continue;
    distributed::Buffer b(*results[i]);
    CHECK(b.GetInt() == i);
    CHECK(b.GetDouble() == 0.5 * i);
    CHECK(b.GetString() == "task " + std::to_string(i));
    CHECK_THROWS_AS(b.GetDouble(), Error);  // nothing left
  }
}

TEST_CASE("a Buffer keeps the bits of matrices, NaN and -0", "[mpi]") {
  Matrix m(2, 3);
  m << 1.0 / 3, -0.0, std::numeric_limits<double>::quiet_NaN(), 1e-300, -7.25,
      4e300;
  distributed::Buffer b;
  b.PutMatrix(m);
  b.PutDoubles({});
  distributed::Buffer in(b.Release());
  const Matrix back = in.GetMatrix();
  REQUIRE(back.rows() == 2);
  REQUIRE(back.cols() == 3);
  CHECK(std::memcmp(back.data(), m.data(), sizeof(double) * 6) == 0);
  CHECK(in.GetDoubles().empty());
}

TEST_CASE(
    "RunTasks stops starting tasks once its token is cancelled and drops "
    "the running one",
    "[mpi]") {
  CancellationToken token;
  RunContext run;
  run.cancellation = &token;
  std::vector<int> calls(6, 0);
  const auto results = distributed::RunTasks(run, 6, [&](int i) {
    ++calls[i];
    if (i == 2) token.Cancel(SIGINT);  // arrives during task 2
    return std::string(1, static_cast<char>('a' + i));
  });
  CHECK(token.reason() == SIGINT);
  CHECK(calls == std::vector<int>{1, 1, 1, 0, 0, 0});
  CHECK(results[0] == std::optional<std::string>("a"));
  CHECK(results[1] == std::optional<std::string>("b"));
  for (int i = 2; i < 6; ++i) CHECK_FALSE(results[i].has_value());
}

TEST_CASE("RunTasks turns a failing task into one ltr::Error", "[mpi]") {
  CHECK_THROWS_WITH(distributed::RunTasks(RunContext(),
                                          3,
                                          [](int i) -> std::string {
                                            if (i == 1)
                                              throw Error("task 1 failed");
                                            return "ok";
                                          }),
                    Contains("task 1 failed"));
  const std::vector<char> wrong(2, 0);
  CHECK_THROWS_AS(
      distributed::RunTasks(
          RunContext(), 3, [](int) { return std::string(); }, &wrong),
      Error);
}

TEST_CASE("one process: rank 0 of 1", "[mpi]") {
  // The test binary does not MPI_Init, so the layer runs everything here.
  CHECK(distributed::Rank() == 0);
  CHECK(distributed::Size() == 1);
  CHECK(distributed::IsRoot());
}

TEST_CASE(
    "mpirun -np 2 decompose writes the single-process ensemble and "
    "cross-validation bit for bit",
    "[mpi]") {
  if (!distributed::BuiltWithMpi()) {
    WARN("ltr was built without MPI (LTR_MPI=OFF): mpirun test skipped");
    return;
  }
  test::ScratchDir dir;
  const std::string args = "decompose " + kTca +
                           " --ranks 1:3 --restarts 3 --cv --threads 1 "
                           "--seed 11 --max-iters 40 -o ";
  const auto mpi = RunAloneAndUnderMpi(args, dir);
  // One process reports.
  CHECK(Count(mpi.out, "CP ensemble:") == 1);
  CHECK(io::ReadDoubleAttribute(dir / "mpi.h5", "/ensemble", "complete") == 1);
}

TEST_CASE(
    "mpirun -np 2 fit --ranks writes the single-process rank sweep bit "
    "for bit",
    "[mpi]") {
  if (!distributed::BuiltWithMpi()) {
    WARN("ltr was built without MPI (LTR_MPI=OFF): mpirun test skipped");
    return;
  }
  test::ScratchDir dir;
  const std::string data = dir / "teacher.h5";
  auto synth = test::RunLtr(
      "synth --kind ltr-teacher --units 8 --rank 2 --trials 16 --steps 12 "
      "--seed 3 -o " +
      data);
  INFO(synth.err);
  REQUIRE(synth.exit_code == 0);
  // 3 ranks x 2 seeds: 6 tasks, shared 3 and 3.
  const std::string args = "fit " + data +
                           " --ranks 1:3 --seeds 2 --readout identity "
                           "--max-iters 40 --threads 1 --seed 5 -o ";
  RunAloneAndUnderMpi(args, dir);
}
