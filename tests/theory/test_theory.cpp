// Rank functions, the rank bounds of learning (Prop 1, Prop 2, general) and
// the linear theory's predictions against gradient descent.
#include <Eigen/LU>
#include <Eigen/QR>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <thread>

#include "ltr/core/random.h"
#include "ltr/decompose/rank.h"
#include "ltr/formats/io.h"
#include "ltr/theory/bounds.h"
#include "ltr/theory/theory.h"
#include "ltr/train/train.h"
#include "test_support.h"

namespace ltr {
namespace {

Matrix RandomOrthonormal(Index rows, Index cols, Rng* rng) {
  Eigen::HouseholderQR<Matrix> qr(rng->NormalMatrix(rows, cols));
  return qr.householderQ() * Matrix::Identity(rows, cols);
}

const BoundRow& Row(const BoundsSummary& s, const std::string& bound) {
  for (const BoundRow& r : s.rows)
    if (r.bound == bound) return r;
  FAIL("no bound row " << bound);
  return s.rows.front();
}

TEST_CASE("Numerical rank counts singular values above the relative tolerance",
          "[theory]") {
  Rng rng(1);
  const Matrix u = RandomOrthonormal(30, 4, &rng);
  const Matrix v = RandomOrthonormal(20, 4, &rng);
  Vector s(4);
  s << 3.0, 1e-3, 1e-8, 0.0;
  const Matrix m = u * s.asDiagonal() * v.transpose();
  CHECK(NumericalRank(m, 1e-10) == 3);
  CHECK(NumericalRank(m, 1e-6) == 2);
  CHECK(NumericalRank(m, 1e-2) == 1);
  CHECK(NumericalRank(Matrix::Zero(5, 5)) == 0);
}

TEST_CASE("Multilinear rank of a planted Tucker tensor, by SVD and by Gram",
          "[theory]") {
  Rng rng(2);
  TuckerTensor t;
  t.core = Tensor3(2, 3, 4);
  t.core.AsVector() = rng.NormalMatrix(24, 1);
  t.factors = {RandomOrthonormal(10, 2, &rng),
               RandomOrthonormal(12, 3, &rng),
               RandomOrthonormal(15, 4, &rng)};
  const Tensor3 x = t.Full();
  RankOptions o;
  const MultilinearRankSummary svd = MultilinearRank(o, x);
  CHECK(svd.ranks == std::array<int, 3>{2, 3, 4});
  o.max_svd_entries = 10;  // force the Gram route
  const MultilinearRankSummary gram = MultilinearRank(o, x);
  CHECK(gram.ranks == std::array<int, 3>{2, 3, 4});
  CHECK(gram.tolerance == Approx(1e-7));
}

TEST_CASE("CP rank estimate recovers a planted rank", "[theory]") {
  Rng rng(3);
  Ktensor k;
  k.weights = Vector::Ones(3);
  k.factors = {
      rng.NormalMatrix(8, 3), rng.NormalMatrix(9, 3), rng.NormalMatrix(10, 3)};
  const Tensor3 x = k.Full();
  CpRankOptions o;
  o.max_rank = 5;
  const CpRankSummary s = EstimateCpRank(o, x);
  INFO(s.BriefReport());
  CHECK(s.rank == 3);
  CHECK(s.lower_bound == 3);
  CHECK(EstimateCpRank(o, Tensor3(3, 3, 3)).rank == 0);
}

TEST_CASE("Prop 1 holds to 1e-10: linear GD from W0 = 0 has rank N_in + N_out",
          "[theory]") {
  BoundsSweepOptions o;
  o.optimizers = {Optimizer::kSgd};
  o.random_w0 = {false};
  o.nonlinearities = {Nonlinearity::kIdentity};
  o.bounds.cp.max_rank = 4;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<BoundsSummary> cases = RunBoundsSweep(o);
  REQUIRE(cases.size() == 5);
  const int expected[] = {2, 3, 5, 8, 8};
  for (size_t i = 0; i < cases.size(); ++i) {
    const BoundsSummary& c = cases[i];
    INFO(c.BriefReport());
    CHECK(c.linear);
    CHECK(c.w0_in_span);
    CHECK(c.optimizer_linear);
    CHECK(c.d == expected[i]);
    const BoundRow& rank = Row(c, "prop1_rank");
    CHECK(rank.hypotheses_hold);
    CHECK(rank.measured == expected[i]);  // attained exactly
    CHECK(rank.status == BoundStatus::kHolds);
    CHECK(Row(c, "prop1_mode_rows").measured <= c.d);
    CHECK(Row(c, "prop1_mode_cols").measured <= c.d);
    CHECK(Row(c, "prop1_mode_steps").measured <=
          std::min<double>(o.steps, c.d * c.d));
    CHECK(Row(c, "prop1_mode_rows").status == BoundStatus::kHolds);
    CHECK(Row(c, "prop1_mode_steps").status == BoundStatus::kHolds);
    CHECK(Row(c, "prop2_one_step").hypotheses_hold);
    CHECK(Row(c, "prop2_one_step").status == BoundStatus::kHolds);
    CHECK(Row(c, "general").status == BoundStatus::kHolds);
    CHECK(Row(c, "prop1_cp_rank").status != BoundStatus::kViolated);
  }
  // (1, 1): the stack's CP rank is found and is within d^2 = 4.
  CHECK(Row(cases[0], "prop1_cp_rank").status == BoundStatus::kHolds);
  // Beyond d the singular values are below 1e-10 of the largest.
  const LearningRun run = TrainSweepCase(
      o, 2, 3, Optimizer::kSgd, false, Nonlinearity::kIdentity, 7);
  const Matrix last = run.weights.Slice(run.weights.dim(0) - 1).transpose();
  const Vector s = SingularValues(last);
  INFO("s5/s1 = " << s[4] / s[0] << ", s6/s1 = " << s[5] / s[0]);
  CHECK(s[4] > 1e-8 * s[0]);
  CHECK(s[5] < 1e-10 * s[0]);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count() < 20.0);
}

TEST_CASE("Adam and random W0 are outside Prop 1 and exceed its bound",
          "[theory]") {
  BoundsSweepOptions o;
  o.dims = {{2, 1}};
  o.bounds.estimate_cp_rank = false;
  const LearningRun adam = TrainSweepCase(
      o, 2, 1, Optimizer::kAdam, false, Nonlinearity::kIdentity, 11);
  const BoundsSummary a = EvaluateBounds(o.bounds, adam);
  INFO(a.BriefReport());
  CHECK_FALSE(a.optimizer_linear);
  CHECK_FALSE(Row(a, "prop1_rank").hypotheses_hold);
  CHECK(Row(a, "prop1_rank").measured > a.d);
  CHECK(Row(a, "prop1_rank").measured == 64);
  CHECK(Row(a, "prop1_rank").status == BoundStatus::kViolated);
  // Unclaimed bounds are counted apart, never as "exceeded", and their rows
  // say where the value lies.
  int unclaimed = 0;
  for (const BoundRow& row : a.rows) unclaimed += !row.hypotheses_hold;
  REQUIRE(unclaimed > 0);
  CHECK(a.BriefReport().find(
            "claimed bounds: " + std::to_string(a.rows.size() - unclaimed) +
            " met, 0 exceeded") != std::string::npos);
  CHECK(a.BriefReport().find(std::to_string(unclaimed) +
                             " not claimed (hypotheses fail)") !=
        std::string::npos);
  CHECK(a.BriefReport().find("x0 = bias = 0 yes") != std::string::npos);
  const std::string text = FormatBounds({a});
  CHECK(text.find("EXCEEDED") == std::string::npos);
  CHECK(text.find("above (not claimed; hypotheses fail: optimiser not "
                  "linear)") != std::string::npos);

  const LearningRun random = TrainSweepCase(
      o, 2, 1, Optimizer::kSgd, true, Nonlinearity::kIdentity, 12);
  const BoundsSummary r = EvaluateBounds(o.bounds, random);
  INFO(r.BriefReport());
  CHECK_FALSE(r.w0_in_span);
  CHECK_FALSE(Row(r, "prop1_rank").hypotheses_hold);
  CHECK(Row(r, "prop1_rank").measured == 64);
  // Prop 2 does not need W0 in S0: the first update still obeys it.
  CHECK(Row(r, "prop2_one_step").hypotheses_hold);
  CHECK(Row(r, "prop2_one_step").status == BoundStatus::kHolds);

  const LearningRun tanh =
      TrainSweepCase(o, 2, 1, Optimizer::kSgd, false, Nonlinearity::kTanh, 13);
  const BoundsSummary t = EvaluateBounds(o.bounds, tanh);
  CHECK_FALSE(t.linear);
  CHECK_FALSE(Row(t, "prop1_rank").hypotheses_hold);
  CHECK(Row(t, "general").hypotheses_hold);
  CHECK(Row(t, "general").status == BoundStatus::kHolds);
}

TEST_CASE("Bounds read a trajectory written by Train", "[theory]") {
  test::ScratchDir dir;
  TrainOptions t;
  t.task.kind = TaskKind::kFixedPoint;
  t.task.fixed_point_target = 0.5;
  t.units = 24;
  t.g = 0.0;
  t.nonlinearity = Nonlinearity::kIdentity;
  t.optimizer = Optimizer::kSgd;
  t.learning_rate = 0.01;
  t.steps = 6;
  t.batch = 1;
  t.record_every = 1;
  const std::string path = dir / "traj.h5";
  TrainToFile(t, path, "test");
  const LearningRun run = ReadLearningRun(path);
  CHECK(run.horizon == 200);
  CHECK(run.weights.dim(0) == 7);
  BoundsOptions b;
  const BoundsSummary s = EvaluateBounds(b, run);
  INFO(FormatBounds({s}));
  CHECK(s.d == 2);
  CHECK(Row(s, "prop1_rank").hypotheses_hold);
  CHECK(Row(s, "prop1_rank").measured <= 2);
  CHECK(Row(s, "prop1_rank").measured >= 1);
  CHECK(Row(s, "prop1_rank").status == BoundStatus::kHolds);
  // The file holds no x0 or bias: the summary says they are assumed.
  CHECK(run.zero_state_and_bias_assumed);
  CHECK(s.BriefReport().find("x0 = bias = 0 assumed (ltr train's network; "
                             "not stored in the file)") != std::string::npos);

  // The subcommand prints the table and writes it with its columns.
  const test::RunResult r =
      test::RunLtr("bounds " + path + " -o " + (dir / "bounds.h5"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("prop1_rank") != std::string::npos);
  const Matrix table = io::ReadMatrix(dir / "bounds.h5", "/bounds/table");
  CHECK(table.rows() == static_cast<Index>(BoundNames().size()));
  CHECK(io::ReadStringAttribute(dir / "bounds.h5", "/bounds/table", "columns")
            .find("hypotheses_hold") != std::string::npos);
}

TEST_CASE("ltr bounds and ltr theory: help, errors and outputs", "[theory]") {
  test::ScratchDir dir;
  CHECK(test::RunLtr("bounds --help").exit_code == 0);
  CHECK(test::RunLtr("theory linear --help").exit_code == 0);
  const test::RunResult none = test::RunLtr("bounds");
  CHECK(none.exit_code != 0);
  CHECK(test::CountLines(none.err) == 1);
  const test::RunResult missing = test::RunLtr("bounds " + (dir / "no.h5"));
  CHECK(missing.exit_code == 1);
  CHECK(test::CountLines(missing.err) == 1);
  CHECK(test::RunLtr("theory linear --g 1.2").exit_code != 0);

  const test::RunResult sweep =
      test::RunLtr("bounds --sweep --units 24 --steps 5 --cp-max-rank 0 -o " +
                   (dir / "sweep.h5"));
  INFO(sweep.err);
  REQUIRE(sweep.exit_code == 0);
  const Matrix table = io::ReadMatrix(dir / "sweep.h5", "/bounds/table");
  CHECK(table.rows() == 40 * static_cast<Index>(BoundNames().size()));

  const test::RunResult lin = test::RunLtr(
      "theory linear --units 64 --g 0,0.5 --seeds 2 -o " + (dir / "lin.h5"));
  INFO(lin.err);
  REQUIRE(lin.exit_code == 0);
  const Matrix t = io::ReadMatrix(dir / "lin.h5", "/theory/linear");
  CHECK(t.rows() == 2);
  CHECK(t.cols() ==
        static_cast<Index>(LinearTheorySummary::TableColumns().size()));
}

TEST_CASE("Linear theory stops at a cancellation and returns no results",
          "[theory]") {
  LinearTheoryOptions o;
  o.units = 128;
  o.gains = {0.0, 0.5, 0.9};
  o.seeds = 4;
  o.stop_loss_ratio = 1e-300;  // every network runs all max_steps
  o.max_steps = 1000000;
  CancellationToken token;
  o.run.cancellation = &token;
  std::thread canceller([&token] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    token.Cancel(2);
  });
  const auto start = std::chrono::steady_clock::now();
  const LinearTheorySummary s = RunLinearTheory(o);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  canceller.join();
  CHECK(s.cancelled);
  CHECK(s.runs.empty());
  CHECK(s.rows.empty());
  CHECK(seconds < 1.0);  // uncancelled, this takes minutes

  o.max_steps = 10;
  o.run.cancellation = nullptr;
  CHECK_FALSE(RunLinearTheory(o).cancelled);
}

TEST_CASE("Predictions of the linear theory: exact identities", "[theory]") {
  const LinearPrediction p = PredictLinear(0.6, 1.0);
  CHECK(p.beta == Approx(1.0 / 0.64));
  CHECK(p.convergence_time_ratio == Approx(0.64 * 0.64));
  CHECK(p.delta_w_norm == Approx(0.64));
  CHECK(p.alignment == Approx(0.8));
  CHECK(PredictLinear(0.0, 0.5).shuffle_loss_ratio == 0.0);
  const LinearEarlyPrediction e = PredictLinearEarly(0.0, 0.5, 0.3);
  CHECK(e.z == Approx(0.5 * (0.3 - 0.045 + 0.0045 * 3.0)));
  CHECK(e.s2 == Approx(0.125 * 0.027 / 12));
  // lambda = (1/2 + 1/sqrt(3)) z_hat^2 beta^3 tau^2, tau = tau~ / beta^2.
  const LinearEarlyPrediction e6 = PredictLinearEarly(0.6, 0.5, 0.3);
  const double beta = 1 / 0.64, tau = 0.3 / (beta * beta);
  CHECK(e6.eigenvalue == Approx((0.5 + 1 / std::sqrt(3.0)) * 0.25 * beta *
                                beta * beta * tau * tau));
  CHECK(PredictLinear(0.6, 0.5).delta_w_norm_ratio == Approx(0.64));
}

TEST_CASE("Sherman-Morrison gradient descent equals GD with fresh inverses",
          "[theory]") {
  LinearTheoryOptions o;
  o.units = 16;
  o.z_hat = 0.5;
  o.max_steps = 40;
  o.stop_loss_ratio = 1e-12;
  const LinearRun run = RunLinearNetwork(o, 0.5, 3, false);
  REQUIRE(run.steps == 40);
  // The same network and steps, inverting I - W at every step.
  TrainOptions t;
  t.task.kind = TaskKind::kFixedPoint;
  t.units = 16;
  t.g = 0.5;
  t.nonlinearity = Nonlinearity::kIdentity;
  t.seed = 3;
  const RnnParameters p = InitialNetwork(t);
  const Vector m = p.w_in.col(0), w = p.readout.row(0).transpose();
  Matrix dw = Matrix::Zero(16, 16);
  const double eta = o.EffectiveEta0() * 0.75 * 0.75;
  double loss = 0;
  for (int k = 0; k <= 40; ++k) {
    const Matrix b =
        (Matrix::Identity(16, 16) - p.w0 - dw).partialPivLu().inverse();
    const Vector x = b * m, y = b.transpose() * w;
    const double e = o.z_hat - w.dot(x);
    loss = 0.5 * e * e;
    if (k == 40) break;
    dw += eta * e * y * x.transpose();
  }
  CHECK(run.final_loss == Approx(loss).epsilon(1e-8));
  CHECK(run.delta_w_norm == Approx(dw.norm()).epsilon(1e-8));
}

TEST_CASE("Linear theory agrees with gradient descent at N = 256 (fast)",
          "[theory]") {
  // Small z_hat keeps the O(z_hat^2 beta) corrections small (docs/theory.md).
  LinearTheoryOptions o;
  // At N = 256 and 3 seeds the finite-N spread of the convergence rate is
  // ~10 %, so the fast check is looser than the [.slow] one at N = 512.
  o.units = 256;
  o.gains = {0.0, 0.5};
  o.z_hat = 0.2;
  o.eta0 = 0.015;
  o.seeds = 3;
  o.antithetic = true;
  o.run.num_threads = 2;
  const LinearTheorySummary s = RunLinearTheory(o);
  INFO(s.FormatTable());
  REQUIRE(s.rows.size() == 2);
  for (const LinearTheoryRow& r : s.rows) {
    CHECK(r.converged_runs == r.runs);
    CHECK(r.measured.convergence_time_ratio ==
          Approx(r.predicted.convergence_time_ratio).epsilon(0.20));
    CHECK(r.measured.delta_w_norm ==
          Approx(r.predicted.delta_w_norm).epsilon(0.10));
    CHECK(r.measured_alignment_m == Approx(r.predicted.alignment).epsilon(0.1));
  }
  // At g = 0 dW lies in span{w, m} (x) span{w, m}: rank 2 exactly.
  LinearTheoryOptions one = o;
  one.units = 64;
  one.max_steps = 30;
  const LinearRun run = RunLinearNetwork(one, 0.0, 5, false);
  CHECK(run.finite);
  CHECK(run.s3_ratio < 1e-10);
}

TEST_CASE("Linear theory agrees with gradient descent at N = 512",
          "[theory][.slow]") {
  LinearTheoryOptions o;
  o.units = 512;
  o.gains = {0.0, 0.2, 0.4, 0.6, 0.8};
  o.z_hat = 0.2;
  o.eta0 = 0.015;
  o.seeds = 5;
  o.antithetic = true;
  o.run.num_threads = 2;
  const LinearTheorySummary s = RunLinearTheory(o);
  INFO(s.FormatTable());
  for (const LinearTheoryRow& r : s.rows) {
    INFO("g = " << r.predicted.g);
    CHECK(r.measured.convergence_time_ratio ==
          Approx(r.predicted.convergence_time_ratio).epsilon(0.10));
    CHECK(r.measured.delta_w_norm ==
          Approx(r.predicted.delta_w_norm).epsilon(0.10));
  }
  // Third order at g = 0 with z_hat = 0.5 (Schuessler et al. 2020's), where the
  // third-order term matters: within 5 %, and closer than the first-order
  // curve.
  LinearTheoryOptions z = o;
  z.gains = {0.0};
  z.z_hat = 0.5;
  z.eta0 = 0.0;
  const LinearTheorySummary t = RunLinearTheory(z);
  INFO(t.FormatTable());
  const LinearTheoryRow& g0 = t.rows.front();
  CHECK(g0.measured_early.z == Approx(g0.predicted_early.z).epsilon(0.05));
  CHECK(g0.measured_early.s1 == Approx(g0.predicted_early.s1).epsilon(0.05));
  const double first_order =
      0.5 * (1 - std::exp(-g0.predicted_early.tau_tilde));
  CHECK(std::fabs(g0.measured_early.z - g0.predicted_early.z) <
        std::fabs(g0.measured_early.z - first_order));
}

}  // namespace
}  // namespace ltr
