// Out-of-core CP-ALS (ltr/cp_stream.h), the HDF5 slab reader and the
// streamed trajectory generator.
#include <catch2/catch.hpp>
#include <cmath>

#include "ltr/core/error.h"
#include "ltr/decompose/cp.h"
#include "ltr/decompose/cp_stream.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/formats/io.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/synthetic/synthetic.h"
#include "planted.h"
#include "test_support.h"

namespace ltr {
namespace {

// A small trajectory file (snapshots x N x N) with a planted update.
TrajectoryExample WriteSmallTrajectory(const std::string& path,
                                       int snapshots,
                                       int units,
                                       bool float32,
                                       double noise = 0.02) {
  TrajectoryExampleOptions o;
  o.units = units;
  o.snapshots = snapshots;
  o.rank = 3;
  o.noise = noise;
  o.float32 = float32;
  o.seed = 7;
  TrajectoryExample ex = MakeTrajectoryExample(o);
  io::AppendableFile out(path, "test", io::AppendableFile::Mode::kCreate);
  WriteSyntheticWeights(o, ex, &out);
  return ex;
}

// [X_i - X_0], i >= 1, in memory.
Tensor3 SubtractFirst(const Tensor3& x) {
  Tensor3 d(x.dim(0) - 1, x.dim(1), x.dim(2));
  for (Index i = 1; i < x.dim(0); ++i) d.Slice(i - 1) = x.Slice(i) - x.Slice(0);
  return d;
}

double MaxRelativeDifference(const Ktensor& a, const Ktensor& b) {
  double worst =
      (a.weights - b.weights).cwiseAbs().maxCoeff() / a.weights.maxCoeff();
  for (int n = 0; n < 3; ++n)  // unit columns: absolute = relative
    worst =
        std::max(worst, (a.factors[n] - b.factors[n]).cwiseAbs().maxCoeff());
  return worst;
}

}  // namespace

TEST_CASE("SlabReader reads hyperslabs of float64 and float32 trajectories",
          "[cp_stream][io]") {
  test::ScratchDir dir;
  for (bool float32 : {false, true}) {
    const std::string path = dir / (float32 ? "f32.h5" : "f64.h5");
    WriteSmallTrajectory(path, 12, 9, float32);
    const Tensor3 whole = io::ReadTensor3(path, "/weights");
    io::SlabReader reader(path, "/weights");
    CHECK(reader.dims() == Dims{12, 9, 9});
    CHECK(reader.dtype() == (float32 ? "float32" : "float64"));
    CHECK(reader.chunk_rows() == 1);  // AppendableFile: one row per chunk
    Tensor3 slab(4, 9, 9);
    reader.Read(5, 9, slab.data());
    for (Index i = 0; i < 4; ++i)
      CHECK((slab.Slice(i) - whole.Slice(5 + i)).cwiseAbs().maxCoeff() == 0);
    CHECK_THROWS_WITH(reader.Read(10, 13, slab.data()),
                      Catch::Contains("has 12 rows"));
  }
  CHECK_THROWS_AS(io::SlabReader(dir / "f64.h5", "/nope"), Error);
}

TEST_CASE("Streamed CP-ALS equals in-memory CP-ALS on trajectory files",
          "[cp_stream]") {
  test::ScratchDir dir;
  CpStreamOptions options;
  options.cp.rank = 3;
  options.cp.max_iterations = 25;
  options.cp.tolerance = 0;  // the same number of sweeps in both
  options.cp.seed = 11;
  // One read per sweep (test_cp_acceleration.cpp counts the line search's).
  options.cp.acceleration = CpAcceleration::kNone;
  options.run.num_threads = 2;
  options.max_slab_rows = 4;
  for (bool float32 : {false, true}) {
    SECTION(float32 ? "float32 file" : "float64 file") {
      const std::string path = dir / "traj.h5";
      WriteSmallTrajectory(path, 60, 30, float32);
      const Tensor3 update = SubtractFirst(io::ReadTensor3(path, "/weights"));
      const CpSummary memory = Cp(options.cp, update);
      const CpStreamSummary streamed =
          CpStream(options, FileSlabSource(path, "/weights", true));
      CHECK(streamed.plan.slabs == 15);  // 59 rows in slabs of <= 4
      CHECK(streamed.plan.slab_rows == 4);
      CHECK(streamed.passes == 26);  // one per sweep, one for the error
      CHECK(streamed.passes_per_iteration == 1.0);
      CHECK(streamed.bytes_read == 26.0 * 59 * 30 * 30 * 8);
      CHECK(streamed.cp.iterations == memory.iterations);
      CHECK(MaxRelativeDifference(memory.model, streamed.cp.model) < 1e-10);
      CHECK(std::abs(memory.relative_error - streamed.cp.relative_error) <
            1e-12);
      for (size_t t = 0; t < memory.error_history.size(); ++t)
        CHECK(std::abs(memory.error_history[t] - streamed.cp.error_history[t]) <
              1e-10);
    }
  }
}

TEST_CASE(
    "Streamed CP-ALS pads a short last slab and can run without "
    "prefetch",
    "[cp_stream]") {
  // 31 rows in slabs of at most 7: five slabs of 7, the last 3 short.
  const Ktensor truth = testing::PlantedKtensor({31, 12, 10}, 2, 3);
  const Tensor3 x = testing::AddNoise(truth.Full(), 0.05, 4);
  CpStreamOptions options;
  options.cp.rank = 2;
  options.cp.max_iterations = 15;
  options.cp.tolerance = 0;
  options.cp.seed = 5;
  options.max_slab_rows = 7;
  const CpSummary memory = Cp(options.cp, x);
  for (bool prefetch : {true, false}) {
    options.prefetch = prefetch;
    const CpStreamSummary s = CpStream(options, InMemorySlabSource(x));
    CHECK(s.plan.slabs == 5);
    CHECK(s.plan.slab_rows == 7);
    CHECK(s.plan.buffers == (prefetch ? 2 : 1));
    CHECK(MaxRelativeDifference(memory.model, s.cp.model) < 1e-10);
  }
  // A budget that holds everything reads the data once.
  options.max_slab_rows = 0;
  const CpStreamSummary once = CpStream(options, InMemorySlabSource(x));
  CHECK(once.plan.in_memory);
  CHECK(once.passes == 1);
  CHECK(MaxRelativeDifference(memory.model, once.cp.model) < 1e-10);
}

TEST_CASE("Streamed CP-ALS recovers the planted update of a trajectory",
          "[cp_stream]") {
  test::ScratchDir dir;
  const std::string path = dir / "traj.h5";
  const TrajectoryExample ex = WriteSmallTrajectory(path, 80, 40, true, 0.01);
  CpStreamOptions options;
  options.cp.rank = 3;
  options.cp.tolerance = 1e-10;
  options.cp.seed = 2;
  options.max_slab_rows = 8;
  const CpStreamSummary s =
      CpStream(options, FileSlabSource(path, "/weights", true));
  // The update from snapshot 1 on (snapshot 0 is W0, where c = 0).
  Ktensor truth = ex.update;
  truth.factors[0] = Matrix(truth.factors[0].bottomRows(79));
  CHECK(FactorMatchScore(truth, s.cp.model) > 0.99);
  // Noise E_k - E_0: about sqrt(2) x 1% of the update.
  CHECK(s.cp.relative_error < 0.02);
  CHECK(s.cp.relative_error > 0.005);
}

TEST_CASE("Streamed CP-ALS rejects a memory budget that cannot work",
          "[cp_stream]") {
  const Tensor3 x = testing::PlantedKtensor({20, 16, 16}, 2, 1).Full();
  CpStreamOptions options;
  options.cp.rank = 2;
  options.memory_budget = 0;
  CHECK_THROWS_WITH(CpStream(options, InMemorySlabSource(x)),
                    Catch::Contains("memory budget must be > 0"));
  // Less than the contraction Y (16 x 16 x 2) plus one 16 x 16 slice.
  options.memory_budget = 16 * 16 * 8;
  CHECK_THROWS_WITH(CpStream(options, InMemorySlabSource(x)),
                    Catch::Contains("below the minimum"));
  options.memory_budget = std::int64_t{256} << 20;
  options.cp.method = CpMethod::kOpt;
  CHECK_THROWS_WITH(CpStream(options, InMemorySlabSource(x)),
                    Catch::Contains("CP-ALS only"));
}

TEST_CASE("ltr decompose --stream writes the usual /cp and the peak RSS",
          "[cp_stream][cli]") {
  test::ScratchDir dir;
  const std::string data = dir / "traj.h5";
  REQUIRE(test::RunLtr("synth --kind trajectory --units 24 --snapshots 40 "
                       "--rank 2 --float32 -o " +
                       data)
              .exit_code == 0);
  CHECK(io::DatasetShape(data, "/weights") == std::vector<Index>{40, 24, 24});
  CHECK(io::HasDataset(data, "/truth/factors/0"));
  const std::string out = dir / "cp.h5";
  const auto r = test::RunLtr(
      "decompose " + data +
      " --dataset /weights --stream --subtract-first --memory-budget 320K "
      "--rank 2 --threads 1 --tol 0 --max-iters 20 --acceleration none -o " +
      out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("peak RSS") != std::string::npos);
  CHECK(io::ReadDoubleAttribute(out, "/cp", "streamed") == 1);
  CHECK(io::ReadDoubleAttribute(out, "/cp", "peak_rss_bytes") > 1e6);
  CHECK(io::ReadDoubleAttribute(out, "/cp", "passes_per_iteration") == 1);
  CHECK(io::ReadDoubleAttribute(out, "/cp", "slab_rows") < 39);

  // Same numbers as the in-memory fit of the same tensor and seed.
  CpOptions cp;
  cp.rank = 2;
  cp.max_iterations = 20;
  cp.tolerance = 0;
  cp.acceleration = CpAcceleration::kNone;
  const CpSummary memory =
      Cp(cp, SubtractFirst(io::ReadTensor3(data, "/weights")));
  Ktensor written;
  written.weights = io::ReadVector(out, "/cp/weights");
  for (int n = 0; n < 3; ++n)
    written.factors[n] =
        io::ReadMatrix(out, "/cp/factors/" + std::to_string(n));
  CHECK(MaxRelativeDifference(memory.model, written) < 1e-10);

  const auto bad = test::RunLtr("decompose " + data +
                                " --dataset /weights --stream "
                                "--memory-budget 1K --rank 2 -o " +
                                out);
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("below the minimum") != std::string::npos);
  CHECK(test::CountLines(bad.err) == 1);
  const auto zero = test::RunLtr("decompose " + data +
                                 " --dataset /weights --stream "
                                 "--memory-budget 0 --rank 2 -o " +
                                 out);
  CHECK(zero.exit_code != 0);
  CHECK(zero.err.find("memory budget must be > 0") != std::string::npos);
}

}  // namespace ltr
