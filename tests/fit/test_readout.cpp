// The closed-form readout (SolveReadout): the per-neuron weighted ridge
// least squares for given latents, against an independent solution.
#include <Eigen/QR>
#include <catch2/catch.hpp>
#include <cmath>

#include "ltr/core/error.h"
#include "ltr/fit/fit.h"

using namespace ltr;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// A small ltr RNN with latents far from degenerate, and trials whose masks
// mix shared 0/1 patterns (a held-out block over neurons 0-2), weights other
// than 1 and unmasked neurons.
struct ReadoutProblem {
  RnnParameters p;
  std::vector<RnnTrial> trials;
};

ReadoutProblem MakeReadoutProblem() {
  RnnShape shape;
  shape.kind = WeightKind::kLowTensorRank;
  shape.units = 6;
  shape.rank = 2;
  shape.trials = 5;
  shape.conditions = 2;
  shape.outputs = 7;
  ReadoutProblem r;
  r.p = ZeroRnnParameters(shape);
  Rng rng(4);
  r.p.a = rng.NormalMatrix(6, 2);
  r.p.b = 0.5 * rng.NormalMatrix(6, 2);
  r.p.c = (1.0 + 0.3 * rng.NormalMatrix(5, 2).array()).matrix();
  r.p.x0 = rng.NormalMatrix(6, 2);
  r.p.bias = 0.2 * rng.NormalMatrix(6, 1).col(0);
  r.p.readout = rng.NormalMatrix(7, 6);
  for (Eigen::Index k = 0; k < 5; ++k) {
    RnnTrial t;
    t.trial = k;
    t.condition = k % 2;
    t.targets = rng.NormalMatrix(7, 8);
    t.mask = MatrixXd::Ones(7, 8);
    t.mask.block(0, 2 + k % 3, 3, 3).setZero();  // shared by neurons 0-2
    t.mask(4, k) = 0;
    t.mask.row(5) *= 0.5 + 0.25 * k;  // weights other than 1
    r.trials.push_back(t);
  }
  return r;
}

}  // namespace

TEST_CASE("the closed-form readout equals an independent least-squares solve",
          "[fit][readout]") {
  const ReadoutProblem r = MakeReadoutProblem();
  RnnLossOptions loss;
  loss.l2_readout = 1e-3;
  loss.l2_offset = 1e-4;
  loss.num_threads = 2;
  const RnnParameters solved = SolveReadout(r.p, r.trials, loss);

  // Independent: per neuron, the augmented system [sqrt(w / M) [phi 1];
  // sqrt(l2) I] beta = [sqrt(w / M) y; 0] by Householder QR.
  double m = 0;
  for (const RnnTrial& t : r.trials) m += t.mask.sum();
  const Eigen::Index n = 6, entries = 5 * 8;
  for (Eigen::Index j = 0; j < 7; ++j) {
    MatrixXd a = MatrixXd::Zero(entries + n + 1, n + 1);
    VectorXd y = VectorXd::Zero(entries + n + 1);
    Eigen::Index row = 0;
    for (const RnnTrial& t : r.trials) {
      const RnnTrajectory run =
          Simulate(r.p, t.trial, t.condition, 8, MatrixXd());
      for (Eigen::Index s = 0; s < 8; ++s, ++row) {
        const double w = std::sqrt(t.mask(j, s) / m);
        a.row(row).head(n) = w * run.states.col(s).array().tanh().transpose();
        a(row, n) = w;
        y(row) = w * t.targets(j, s);
      }
    }
    a.bottomRows(n + 1).diagonal().head(n).setConstant(std::sqrt(1e-3));
    a(entries + n, n) = std::sqrt(1e-4);
    const VectorXd beta = a.householderQr().solve(y);
    INFO("neuron " << j);
    CHECK((solved.readout.row(j).transpose() - beta.head(n)).norm() <= 1e-10);
    CHECK(std::abs(solved.offset(j) - beta(n)) <= 1e-10);
  }

  // The objective's own gradient in readout and offset vanishes there.
  RnnBlocks blocks;
  blocks.w = blocks.c = false;
  blocks.readout = blocks.offset = true;
  const RnnObjective objective(solved, blocks, loss, &r.trials);
  const VectorXd x = objective.InitialPoint();
  VectorXd g(x.size());
  double cost = 0;
  REQUIRE(objective.Evaluate(x.data(), &cost, g.data()));
  CHECK(g.lpNorm<Eigen::Infinity>() <= 1e-12);
  // ... and any other readout is worse.
  VectorXd moved = x;
  moved(3) += 1e-3;
  double worse = 0;
  objective.Evaluate(moved.data(), &worse, nullptr);
  CHECK(worse > cost);
}

TEST_CASE("the closed-form readout refuses what has no least-squares solve",
          "[fit][readout]") {
  ReadoutProblem r = MakeReadoutProblem();
  RnnLossOptions poisson;
  poisson.loss = RnnLoss::kPoisson;
  CHECK_THROWS_WITH(SolveReadout(r.p, r.trials, poisson),
                    Catch::Contains("needs the mse data term"));
  RnnLossOptions mse;
  CHECK_THROWS_AS(SolveReadout(r.p, {}, mse), Error);
  for (RnnTrial& t : r.trials) t.mask.setZero();
  CHECK_THROWS_WITH(SolveReadout(r.p, r.trials, mse),
                    Catch::Contains("every mask is zero"));
}
