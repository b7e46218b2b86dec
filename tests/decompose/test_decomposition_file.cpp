// The decomposition layouts (ltr/formats/decomposition_file.h): every
// reader gives back, bit for bit, what its writer wrote.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "ltr/core/error.h"
#include "ltr/formats/decomposition_file.h"
#include "ltr/formats/io.h"
#include "planted.h"
#include "test_support.h"

using namespace ltr;

namespace {

bool SameBits(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

bool SameKruskal(const Ktensor& a, const Ktensor& b) {
  bool same = SameBits(a.weights, b.weights);
  for (int n = 0; n < 3; ++n)
    same = same && SameBits(a.factors[n], b.factors[n]);
  return same;
}

void CheckSameFit(const CpSummary& a, const CpSummary& b) {
  CHECK(SameKruskal(a.model, b.model));
  CHECK(a.error_history == b.error_history);
  CHECK(std::memcmp(&a.relative_error, &b.relative_error, sizeof(double)) == 0);
  CHECK(a.iterations == b.iterations);
  CHECK(a.converged == b.converged);
  CHECK(a.seconds == b.seconds);
  CHECK(a.seed == b.seed);
  CHECK(a.message == b.message);
}

Tensor3 Data() {
  return testing::AddNoise(
      testing::PlantedKtensor({9, 8, 7}, 2, 11).Full(), 0.05, 12);
}

}  // namespace

TEST_CASE("a Kruskal tensor and a CP fit read back as written", "[formats]") {
  test::ScratchDir dir;
  const std::string file = dir / "cp.h5";
  CpOptions o;
  o.rank = 2;
  o.max_iterations = 15;
  o.seed = std::numeric_limits<std::uint64_t>::max() - 6;  // above int64
  const CpSummary fit = Cp(o, Data());
  const Ktensor truth = testing::PlantedKtensor({9, 8, 7}, 3, 5);
  {
    io::OutputFile out(file, "test");
    WriteCpFit("/cp", "cp-als", fit, SplitModeNames("trial,time,neuron"), &out);
    WriteKruskal("/truth", truth, SplitModeNames(""), &out);
    out.Commit();
  }
  CheckSameFit(ReadCpFit(file, "/cp"), fit);
  CHECK(SameKruskal(ReadKruskal(file, "/truth"), truth));
  CHECK(SameKruskal(ReadKruskal(file, "/cp"), fit.model));
  CHECK(io::ReadStringAttribute(file, "/cp/factors/2", "axes") ==
        "neuron,component");
  CHECK(io::ReadStringAttribute(file, "/truth/factors/0", "axes") ==
        "mode0,component");
  CHECK(io::ReadDoubleAttribute(file, "/truth", "rank") == 3);
  CHECK(ReadModeNames(file, "/cp") == ModeNames{"trial", "time", "neuron"});
  CHECK(ReadModeNames(file, "/truth") == ModeNames{"mode0", "mode1", "mode2"});
  CHECK_THROWS_AS(ReadKruskal(file, "/nothing"), Error);
  CHECK(ReadCpMethod(file, CpFitGroup()) == "cp-als");
  CHECK(ReadCpMethod(file, "/truth") == "");
  const DecompositionParts parts = FindDecompositionParts(file);
  CHECK(parts.cp);
  CHECK_FALSE(parts.tucker);
  CHECK_FALSE(parts.ensemble);
  CHECK_FALSE(parts.cross_validation);
}

// synth's trajectory truth is a Kruskal tensor in a file that grows.
TEST_CASE("a Kruskal tensor written to an appendable file reads back",
          "[formats]") {
  test::ScratchDir dir;
  const std::string file = dir / "grown.h5";
  const Ktensor truth = testing::PlantedKtensor({6, 5, 5}, 2, 7);
  {
    io::AppendableFile out(file, "test", io::AppendableFile::Mode::kCreate);
    WriteKruskal("/truth", truth, {"snapshot", "post", "pre"}, &out);
  }
  CHECK(SameKruskal(ReadKruskal(file, "/truth"), truth));
  CHECK(ReadModeNames(file, "/truth") == ModeNames{"snapshot", "post", "pre"});
  CHECK(io::ReadStringAttribute(file, "/truth/weights", "axes") == "component");
  CHECK(io::ReadIntAttribute(file, "/truth", "rank") == 2);
  CHECK(EnsembleFitGroup(3, 1) == "/ensemble/rank_3/run_1");
}

TEST_CASE("a Tucker fit and a streamed fit's record read back as written",
          "[formats]") {
  test::ScratchDir dir;
  const std::string file = dir / "tucker.h5";
  TuckerOptions o;
  o.ranks = {2, 3, 2};
  o.method = TuckerMethod::kHooi;
  const TuckerSummary t = Tucker(o, Data());
  StreamedFitRecord s;
  s.subtract_first = true;
  s.memory_budget_bytes = std::int64_t{3} << 30;
  s.slab_rows = 17;
  s.passes = 9;
  s.passes_per_iteration = 1;
  s.bytes_read = 1.5e9;
  s.seconds_per_iteration = 0.25;
  s.peak_rss_bytes = 123456789;
  {
    io::OutputFile out(file, "test");
    WriteTuckerFit("tucker-hooi", t, SplitModeNames("a,b,c"), &out);
    WriteStreamedFitRecord(s, &out);
    WriteDecomposeRecord({"in.h5", "/activity", "it failed"}, &out);
    out.Commit();
  }
  const TuckerSummary r = ReadTuckerFit(file);
  CHECK(r.model.core.dims() == t.model.core.dims());
  CHECK(std::memcmp(r.model.core.data(),
                    t.model.core.data(),
                    sizeof(double) * t.model.core.size()) == 0);
  for (int n = 0; n < 3; ++n)
    CHECK(SameBits(r.model.factors[n], t.model.factors[n]));
  CHECK(r.relative_error == t.relative_error);
  CHECK(r.iterations == t.iterations);
  CHECK(r.converged == t.converged);
  CHECK(r.seconds == t.seconds);
  const StreamedFitRecord q = ReadStreamedFitRecord(file);
  CHECK(q.subtract_first == s.subtract_first);
  CHECK(q.memory_budget_bytes == s.memory_budget_bytes);
  CHECK(q.slab_rows == s.slab_rows);
  CHECK(q.passes == s.passes);
  CHECK(q.passes_per_iteration == s.passes_per_iteration);
  CHECK(q.bytes_read == s.bytes_read);
  CHECK(q.seconds_per_iteration == s.seconds_per_iteration);
  CHECK(q.peak_rss_bytes == s.peak_rss_bytes);
  const DecomposeRecord d = ReadDecomposeRecord(file);
  CHECK(d.input == "in.h5");
  CHECK(d.dataset == "/activity");
  CHECK(d.failure == "it failed");
}

TEST_CASE(
    "ensemble and cross-validation tables, complete or interrupted, read "
    "back as written",
    "[formats]") {
  test::ScratchDir dir;
  const Tensor3 x = Data();
  DecomposeOptions o;
  o.cp.max_iterations = 10;
  o.cp.seed = 8;
  o.ranks = {1, 3};
  o.restarts = 2;
  o.cross_validate = true;
  o.test_fraction = 0.2;
  o.data_name = "input=data";
  const DecomposeResult complete = Decompose(o, x);
  // Stopped after three fits reported: two kept, NaN and -1 elsewhere.
  CancellationToken token;
  DecomposeOptions stopping = o;
  int reported = 0;
  stopping.run.cancellation = &token;
  stopping.run.progress = [&](const std::string&) {
    if (++reported == 3) token.Cancel();
  };
  const DecomposeResult partial = Decompose(stopping, x);
  REQUIRE_FALSE(partial.complete());

  for (const DecomposeResult* written : {&complete, &partial}) {
    const std::string file = dir / "ens.h5";
    {
      io::OutputFile out(file, "test");
      WriteDecomposition(o, *written, "trial,time,neuron", &out);
      out.Commit();
    }
    const DecomposeResult read = ReadDecomposition(file);
    CHECK(read.resume_key == written->resume_key);
    CHECK_FALSE(read.cp);
    CHECK_FALSE(read.tucker);
    REQUIRE(read.ensemble);
    const EnsembleSummary& a = *read.ensemble;
    const EnsembleSummary& b = *written->ensemble;
    CHECK(a.ranks == b.ranks);
    CHECK(a.complete == b.complete);
    CHECK(a.restart == b.restart);
    CHECK(SameBits(a.relative_error, b.relative_error));
    CHECK(SameBits(a.similarity, b.similarity));
    CHECK(SameBits(a.corcondia, b.corcondia));
    CHECK(a.seconds == b.seconds);
    REQUIRE(a.fits.size() == b.fits.size());
    for (size_t r = 0; r < a.fits.size(); ++r)
      for (size_t k = 0; k < a.fits[r].size(); ++k)
        if (b.restart(r, k) >= 0) CheckSameFit(a.fits[r][k], b.fits[r][k]);
    double test_fraction = 0;
    const CrossValidationSummary cv = ReadCrossValidation(file, &test_fraction);
    const CrossValidationSummary& w = *written->cross_validation;
    CHECK(test_fraction == 0.2);
    CHECK(cv.ranks == w.ranks);
    CHECK(cv.complete == w.complete);
    CHECK(cv.restart == w.restart);
    CHECK(SameBits(cv.train_error, w.train_error));
    CHECK(SameBits(cv.test_error, w.test_error));
    CHECK(cv.seconds == w.seconds);
  }
  CHECK(partial.ensemble->DoneCount() == 2);
  CHECK_THROWS_WITH(ReadSweepCheckpoint(dir / "none.h5"),
                    Catch::Matchers::Contains("no interrupted sweep"));
}
