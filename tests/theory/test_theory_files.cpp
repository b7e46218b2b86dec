// The layouts of the theory module (formats/analysis_file.h, table_file.h):
// what the writers write, the readers read back; and the run context of the
// bounds.
#include <catch2/catch.hpp>
#include <cmath>

#include "ltr/core/error.h"
#include "ltr/formats/analysis_file.h"
#include "ltr/formats/io.h"
#include "ltr/formats/table_file.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/theory/analyze.h"
#include "ltr/theory/bounds.h"
#include "ltr/theory/theory.h"
#include "test_support.h"

namespace ltr {
namespace {

TrajectoryAnalysis SomeAnalysis() {
  TrajectoryAnalysis a;
  a.singular_values.resize(3, 2);
  a.singular_values << 0, 0, 1.5, 0.25, 2.5, 0.125;
  a.truncation_ranks = {0, 1, 2};
  a.truncation_loss = {0.9, 0.3, 0.1};
  a.functional_rank = 2;
  a.convergence_step = 7;
  a.delta_w_norm = 2.75;
  a.initial_loss = 1.25;
  a.final_loss = 0.0625;
  a.initial_test_loss = 1.5;
  a.test_loss = 0.1;
  a.shuffle_loss = 0.75;
  a.shuffle_loss_ratio = 0.5;
  a.io_overlap.depth = 3;
  a.io_overlap.subspace_dim = 12;
  a.io_overlap.shuffled_subspace_dim = 11;
  a.io_overlap.left = {1.0, 0.5};
  a.io_overlap.right = {0.75, 0.25};
  a.io_overlap.left_shuffled = {0.125, 0.0625};
  a.io_overlap.right_shuffled = {0.25, 0.03125};
  a.io_overlap.overlap = 0.875;
  a.io_overlap.overlap_shuffled = 0.1875;
  a.cp_ranks = {1, 2};
  a.cp_relative_error = {0.4, 0.2};
  return a;
}

TEST_CASE("analysis layout: ReadAnalysis reads back what WriteAnalysis wrote",
          "[theory][formats]") {
  test::ScratchDir dir;
  const TrajectoryAnalysis a = SomeAnalysis();
  {
    io::OutputFile out(dir / "an.h5", "test");
    WriteAnalysis(a, &out);
    out.Commit();
  }
  CHECK(HasAnalysis(dir / "an.h5"));
  const TrajectoryAnalysis b = ReadAnalysis(dir / "an.h5");
  CHECK(b.singular_values == a.singular_values);
  CHECK(b.truncation_ranks == a.truncation_ranks);
  CHECK(b.truncation_loss == a.truncation_loss);
  CHECK(b.functional_rank == 2);
  CHECK(b.convergence_step == 7);
  CHECK(b.delta_w_norm == a.delta_w_norm);
  CHECK(b.initial_loss == a.initial_loss);
  CHECK(b.final_loss == a.final_loss);
  CHECK(b.initial_test_loss == a.initial_test_loss);
  CHECK(b.test_loss == a.test_loss);
  CHECK(b.shuffle_loss == a.shuffle_loss);
  CHECK(b.shuffle_loss_ratio == a.shuffle_loss_ratio);
  CHECK(b.io_overlap.depth == 3);
  CHECK(b.io_overlap.subspace_dim == 12);
  CHECK(b.io_overlap.shuffled_subspace_dim == 11);
  CHECK(b.io_overlap.left == a.io_overlap.left);
  CHECK(b.io_overlap.right == a.io_overlap.right);
  CHECK(b.io_overlap.left_shuffled == a.io_overlap.left_shuffled);
  CHECK(b.io_overlap.right_shuffled == a.io_overlap.right_shuffled);
  CHECK(b.io_overlap.overlap == a.io_overlap.overlap);
  CHECK(b.io_overlap.overlap_shuffled == a.io_overlap.overlap_shuffled);
  CHECK(b.cp_ranks == a.cp_ranks);
  CHECK(b.cp_relative_error == a.cp_relative_error);

  // Without the update tensor (cp_max_rank 0) and its attributes: empty,
  // -1 and NaN, not zeros that look measured.
  {
    io::OutputFile out(dir / "part.h5", "test");
    out.WriteMatrix("/delta_w/singular_values", a.singular_values);
    out.Commit();
  }
  const TrajectoryAnalysis p = ReadAnalysis(dir / "part.h5");
  CHECK(p.singular_values == a.singular_values);
  CHECK(p.cp_ranks.empty());
  CHECK(p.truncation_loss.empty());
  CHECK(p.functional_rank == -1);
  CHECK(std::isnan(p.test_loss));

  {
    io::OutputFile out(dir / "bad.h5", "test");
    out.WriteIntVector("/truncation/ranks", {0, 1, 2});
    out.WriteVector("/truncation/loss", Vector::Ones(2));
    out.Commit();
  }
  CHECK_THROWS_WITH(ReadAnalysis(dir / "bad.h5"),
                    Catch::Contains("/truncation/ranks and /loss differ"));
}

// Equal entry by entry, NaN where the other is NaN.
bool SameValues(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.array() == b.array() || (a.array().isNaN() && b.array().isNaN()))
             .all();
}

// One small linear case of the sweep (d = 3, 5 steps).
LearningRun SmallRun() {
  BoundsSweepOptions o;
  o.units = 16;
  o.steps = 5;
  return TrainSweepCase(
      o, 2, 1, Optimizer::kSgd, false, Nonlinearity::kIdentity, 4);
}

TEST_CASE("bounds and theory tables read back with their attributes",
          "[theory][formats]") {
  test::ScratchDir dir;
  BoundsOptions b;
  b.cp.max_rank = 3;
  LearningRun run = SmallRun();
  run.name = "small";
  const std::vector<BoundsSummary> cases = {EvaluateBounds(b, run)};
  LinearTheoryOptions t;
  t.units = 24;
  t.gains = {0.0, 0.5};
  t.seeds = 1;
  t.max_steps = 50;
  const LinearTheorySummary theory = RunLinearTheory(t);
  {
    io::OutputFile out(dir / "tables.h5", "test");
    WriteBounds(b, cases, &out);
    WriteLinearTheory(t, theory, &out);
    out.Commit();
  }
  const BoundsTableFile read = ReadBounds(dir / "tables.h5");
  CHECK(SameValues(read.table.values, BoundsTable(cases)));
  CHECK(read.table.columns == BoundsTableColumns());
  CHECK(read.cases == std::vector<std::string>{"small"});
  CHECK(read.bounds == BoundNames());
  CHECK(read.rank_tolerance == b.rank.tolerance);
  CHECK(read.table.values(0, read.table.Column("d")) == 3);
  CHECK_THROWS_WITH(read.table.Column("nope"),
                    Catch::Contains("has no column 'nope'"));

  const LinearTheoryFile lin = ReadLinearTheory(dir / "tables.h5");
  CHECK(SameValues(lin.table.values, theory.Table()));
  CHECK(lin.table.columns == LinearTheorySummary::TableColumns());
  CHECK(lin.units == 24);
  CHECK(lin.eta0 == t.EffectiveEta0());
  CHECK(lin.seeds == 1);
  CHECK(lin.antithetic == 0);
}

TEST_CASE("tables read back write the same tables (the Python objects' save)",
          "[theory][formats]") {
  test::ScratchDir dir;
  BoundsOptions b;
  b.cp.max_rank = 3;
  LearningRun run = SmallRun();
  run.name = "small";
  const std::vector<BoundsSummary> cases = {EvaluateBounds(b, run)};
  LinearTheoryOptions t;
  t.units = 16;
  t.gains = {0.0, 0.5};
  t.seeds = 1;
  t.max_steps = 30;
  const LinearTheorySummary theory = RunLinearTheory(t);
  {
    io::OutputFile out(dir / "first.h5", "test");
    WriteBounds(MakeBoundsTable(b, cases), &out);
    WriteLinearTheory(MakeLinearTheoryTable(t, theory), &out);
    out.Commit();
  }
  const BoundsTableFile bounds = ReadBounds(dir / "first.h5");
  const LinearTheoryFile linear = ReadLinearTheory(dir / "first.h5");
  CHECK(SameValues(bounds.table.values, BoundsTable(cases)));
  CHECK(linear.units == 16);
  CHECK(io::ReadIntAttribute(dir / "first.h5", "/theory/linear", "seeds") == 1);
  {
    io::OutputFile out(dir / "second.h5", "test");
    WriteBounds(bounds, &out);
    WriteLinearTheory(linear, &out);
    out.Commit();
  }
  const BoundsTableFile bounds2 = ReadBounds(dir / "second.h5");
  const LinearTheoryFile linear2 = ReadLinearTheory(dir / "second.h5");
  CHECK(SameValues(bounds2.table.values, bounds.table.values));
  CHECK(bounds2.cases == bounds.cases);
  CHECK(bounds2.bounds == bounds.bounds);
  CHECK(bounds2.status_codes == bounds.status_codes);
  CHECK(bounds2.rank_tolerance == bounds.rank_tolerance);
  CHECK(SameValues(linear2.table.values, linear.table.values));
  CHECK(linear2.table.columns == linear.table.columns);
  CHECK(linear2.eta0 == linear.eta0);
  CHECK(linear2.model == linear.model);
  CHECK(io::ReadIntAttribute(dir / "second.h5", "/theory/linear", "units") ==
        16);
}

TEST_CASE("analyze and bounds of a trajectory in memory equal its file's",
          "[theory][train]") {
  test::ScratchDir dir;
  TrainOptions o;
  o.units = 12;
  o.steps = 8;
  o.batch = 4;
  o.record_every = 2;
  TrainToFile(o, dir / "t.h5", "test");
  Trajectory t = ReadTrainTrajectory(dir / "t.h5");
  const Tensor3 weights = t.ReadWeights();
  AnalyzeOptions a;
  a.test_batch = 8;
  a.cp_max_rank = 2;
  const TrajectoryAnalysis from_file = AnalyzeTrajectory(a, dir / "t.h5");
  const TrajectoryAnalysis in_memory = AnalyzeTrajectory(a, t, weights);
  CHECK(SameValues(in_memory.singular_values, from_file.singular_values));
  CHECK(in_memory.truncation_loss == from_file.truncation_loss);
  CHECK(in_memory.cp_relative_error == from_file.cp_relative_error);
  CHECK(in_memory.shuffle_loss == from_file.shuffle_loss);
  CHECK(in_memory.convergence_step == from_file.convergence_step);

  BoundsOptions b;
  b.cp.max_rank = 2;
  const BoundsSummary bf = EvaluateBounds(b, ReadLearningRun(dir / "t.h5"));
  const BoundsSummary bm = EvaluateBounds(b, ToLearningRun(t, weights, "mem"));
  CHECK(bm.case_name == "mem");
  CHECK(SameValues(BoundsTable({bm}), BoundsTable({bf})));

  // What the file would require is required in memory.
  t.w_in = Tensor3();
  CHECK_THROWS_WITH(AnalyzeTrajectory(a, t, weights),
                    Catch::Contains("W_in or W_out"));
  CHECK_THROWS_WITH(ToLearningRun(t, weights, "mem"),
                    Catch::Contains("lacks the /config, W_in"));
  t.config.reset();
  CHECK_THROWS_WITH(AnalyzeTrajectory(a, t, weights),
                    Catch::Contains("has no /config"));
}

TEST_CASE("a cancelled analysis or bounds run says so", "[theory][interrupt]") {
  test::ScratchDir dir;
  TrainOptions o;
  o.units = 10;
  o.steps = 4;
  o.batch = 2;
  o.record_every = 2;
  TrainToFile(o, dir / "t.h5", "test");
  CancellationToken token;
  AnalyzeOptions a;
  a.test_batch = 4;
  a.run.cancellation = &token;
  BoundsOptions b;
  b.cp.max_rank = 2;
  b.run.cancellation = &token;
  CHECK_FALSE(AnalyzeTrajectory(a, dir / "t.h5").cancelled);
  CHECK_FALSE(EvaluateBounds(b, ReadLearningRun(dir / "t.h5")).cancelled);
  token.Cancel(2);
  const TrajectoryAnalysis cancelled = AnalyzeTrajectory(a, dir / "t.h5");
  CHECK(cancelled.cancelled);
  CHECK(cancelled.truncation_loss.empty());
  CHECK(cancelled.cp_ranks.empty());
  CHECK(EvaluateBounds(b, ReadLearningRun(dir / "t.h5")).cancelled);
  BoundsSweepOptions sweep;
  sweep.units = 8;
  sweep.steps = 2;
  sweep.run.cancellation = &token;
  CHECK(RunBoundsSweep(sweep).empty());
}

TEST_CASE("bounds: the rank estimates run on run.num_threads, same bits",
          "[theory]") {
  const LearningRun run = SmallRun();
  BoundsOptions one;
  one.cp.max_rank = 3;
  BoundsOptions three = one;
  three.run.num_threads = 3;
  // The thread counts of the nested rank options are the context's.
  three.rank.run.num_threads = three.cp.run.num_threads = 1;
  const BoundsSummary a = EvaluateBounds(one, run);
  const BoundsSummary b = EvaluateBounds(three, run);
  CHECK(a.threads == 1);
  CHECK(b.threads == 3);
  CHECK(SameValues(BoundsTable({a}), BoundsTable({b})));

  // The sweep hands its context to every case.
  BoundsSweepOptions sweep;
  sweep.dims = {{1, 1}};
  sweep.optimizers = {Optimizer::kSgd};
  sweep.random_w0 = {false};
  sweep.nonlinearities = {Nonlinearity::kIdentity};
  sweep.units = 12;
  sweep.steps = 3;
  sweep.bounds.cp.max_rank = 2;
  sweep.run.num_threads = 2;
  const std::vector<BoundsSummary> cases = RunBoundsSweep(sweep);
  REQUIRE(cases.size() == 1);
  CHECK(cases[0].threads == 2);
}

}  // namespace
}  // namespace ltr
