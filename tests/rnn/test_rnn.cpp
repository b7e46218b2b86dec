// Tests of the RNN core: gradients against central finite differences,
// exact forward values, threading determinism, priors, packing and the
// pitchfork of a rank-1 low-tensor-rank RNN.
#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "gradient_check.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/rnn/rnn.h"

namespace ltr {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

struct Sizes {
  Index units = 5;
  Index rank = 2;
  Index trials = 3;
  Index steps = 6;
  Index inputs = 2;
  Index outputs = 3;
  Index conditions = 2;
};

RnnParameters RandomParameters(
    WeightKind kind, Nonlinearity f, bool base, const Sizes& z, Rng* rng) {
  RnnShape shape;
  shape.kind = kind;
  shape.nonlinearity = f;
  shape.alpha = 0.3;
  shape.units = z.units;
  shape.rank = z.rank;
  shape.trials = z.trials;
  shape.inputs = z.inputs;
  shape.conditions = z.conditions;
  shape.outputs = z.outputs;
  shape.base_weights = base;
  shape.condition_inputs = true;
  RnnParameters p = ZeroRnnParameters(shape);
  const double n = static_cast<double>(z.units);
  if (base) p.w0 = rng->NormalMatrix(z.units, z.units) * (0.8 / std::sqrt(n));
  if (kind == WeightKind::kFull) {
    p.w = rng->NormalMatrix(z.units, z.units) * (0.5 / std::sqrt(n));
  } else {
    p.a = rng->NormalMatrix(z.units, z.rank) * 0.6;
    p.b = rng->NormalMatrix(z.units, z.rank) * 0.6;
    if (kind == WeightKind::kLowTensorRank)
      p.c = rng->NormalMatrix(z.trials, z.rank);
  }
  p.w_in = rng->NormalMatrix(z.units, z.inputs) * 0.5;
  p.h = rng->NormalMatrix(z.units, z.conditions) * 0.3;
  p.bias = rng->NormalMatrix(z.units, 1) * 0.3;
  p.x0 = rng->NormalMatrix(z.units, z.conditions) * 0.7;
  p.readout = rng->NormalMatrix(z.outputs, z.units) * 0.5;
  p.offset = rng->NormalMatrix(z.outputs, 1) * 0.3;
  return p;
}

std::vector<RnnTrial> RandomTrials(RnnLoss loss, const Sizes& z, Rng* rng) {
  std::vector<RnnTrial> trials;
  for (Index k = 0; k < z.trials; ++k) {
    RnnTrial trial;
    trial.trial = k;
    trial.condition = k % z.conditions;
    trial.inputs = rng->NormalMatrix(z.inputs, z.steps);
    if (loss == RnnLoss::kMse) {
      trial.targets = rng->NormalMatrix(z.outputs, z.steps);
    } else {
      trial.targets.resize(z.outputs, z.steps);
      for (Index j = 0; j < z.steps; ++j)
        for (Index i = 0; i < z.outputs; ++i)
          trial.targets(i, j) = static_cast<double>(rng->Below(4));
    }
    trial.mask.resize(z.outputs, z.steps);
    for (Index j = 0; j < z.steps; ++j)
      for (Index i = 0; i < z.outputs; ++i)
        trial.mask(i, j) = rng->Uniform() < 0.7 ? 1.0 : 0.0;
    trial.mask(0, 0) = 1.0;
    // A missing target may hold anything, even NaN: it must not leak.
    if (trial.mask(1, 1) == 0.0) trial.targets(1, 1) = std::nan("");
    trials.push_back(trial);
  }
  return trials;
}

// Smallest |x[t]| over the batch: how close a preactivation is to relu's kink.
double MinAbsState(const RnnParameters& p, const std::vector<RnnTrial>& ts) {
  double m = 1e300;
  for (const RnnTrial& t : ts) {
    const RnnTrajectory traj =
        Simulate(p, t.trial, t.condition, t.num_steps(), t.inputs);
    m = std::min(m, traj.states.cwiseAbs().minCoeff());
  }
  return m;
}

struct BlockCase {
  std::string name;
  RnnBlocks blocks;
};

std::vector<BlockCase> SingleBlocks(WeightKind kind) {
  std::vector<BlockCase> cases;
  auto only = [](int which) {
    RnnBlocks b;
    b.w = which == 0;
    b.c = which == 1;
    b.w_in = which == 2;
    b.h = which == 3;
    b.bias = which == 4;
    b.x0 = which == 5;
    b.readout = which == 6;
    b.offset = which == 7;
    return b;
  };
  const char* names[] = {
      "w or a,b", "c", "w_in", "h", "bias", "x0", "readout", "offset"};
  for (int i = 0; i < 8; ++i) {
    if (i == 1 && kind != WeightKind::kLowTensorRank) continue;
    cases.push_back({names[i], only(i)});
  }
  return cases;
}

// Max over entries of |analytic - central FD| / max(|analytic|, 1e-3)
// (tests/gradient_check.h; step 1e-5: observed worst relative error ~5e-8
// over all configurations).
double MaxGradientError(const RnnObjective& objective, double* max_abs_grad) {
  const VectorXd x = objective.InitialPoint();
  VectorXd g(x.size());
  double cost = 0.0;
  REQUIRE(objective.Evaluate(x.data(), &cost, g.data()));
  const testing::GradientCheck check = testing::CheckGradient(
      [&objective](const VectorXd& y) {
        double f = 0.0;
        objective.Evaluate(y.data(), &f, nullptr);
        return f;
      },
      x,
      g);
  *max_abs_grad = check.max_abs_gradient;
  return check.max_error;
}

TEST_CASE(
    "RNN gradient of every block matches central finite differences for "
    "every parameterisation, loss and nonlinearity",
    "[rnn]") {
  const Sizes z;
  const WeightKind kinds[] = {
      WeightKind::kFull, WeightKind::kLowRank, WeightKind::kLowTensorRank};
  const Nonlinearity fs[] = {Nonlinearity::kTanh,
                             Nonlinearity::kRelu,
                             Nonlinearity::kSoftplus,
                             Nonlinearity::kIdentity};
  const RnnLoss losses[] = {RnnLoss::kMse, RnnLoss::kPoisson};
  std::uint64_t seed = 100;
  int checked = 0;
  for (WeightKind kind : kinds) {
    for (bool base : {false, true}) {
      for (RnnLoss loss : losses) {
        for (Nonlinearity f : fs) {
          Rng rng(++seed);
          RnnParameters p = RandomParameters(kind, f, base, z, &rng);
          std::vector<RnnTrial> trials = RandomTrials(loss, z, &rng);
          // relu: redraw until no preactivation sits near the kink, so the
          // loss is smooth within the finite-difference step.
          while (f == Nonlinearity::kRelu && MinAbsState(p, trials) < 1e-4) {
            p = RandomParameters(kind, f, base, z, &rng);
            trials = RandomTrials(loss, z, &rng);
          }
          RnnLossOptions options;
          options.loss = loss;
          options.l2_activity = 0.1;
          options.l2_w = 0.01;
          options.l2_c = 0.02;
          options.l2_w_in = 0.03;
          options.l2_h = 0.04;
          options.l2_bias = 0.05;
          options.l2_x0 = 0.06;
          options.l2_readout = 0.07;
          options.l2_offset = 0.08;
          TrialSmoothingOptions smooth;
          smooth.kind = TrialSmoothing::kSecondDifference;
          smooth.weight = 0.3;
          const TrialSmoothingPenalty penalty(smooth, z.trials);
          for (const BlockCase& block : SingleBlocks(kind)) {
            const RnnObjective objective(
                p, block.blocks, options, &trials, &penalty);
            REQUIRE(objective.NumParameters() > 0);
            double max_grad = 0.0;
            const double err = MaxGradientError(objective, &max_grad);
            INFO("kind " << WeightKindName(kind) << ", base " << base
                         << ", loss " << RnnLossName(loss) << ", phi "
                         << NonlinearityName(f) << ", block " << block.name
                         << ", max |grad| " << max_grad);
            CHECK(err < 1e-6);
            CHECK(max_grad > 1e-4);  // the check is not vacuous
            ++checked;
          }
        }
      }
    }
  }
  CHECK(checked == 2 * 2 * 4 * (7 + 7 + 8));
}

// 20 outputs: the readout's products run on the run-time kernel (a task's
// few outputs stay with Eigen), in the forward pass and in both of the
// backward pass's products.
TEST_CASE(
    "RNN gradient with a readout of many neurons matches finite differences",
    "[rnn]") {
  Sizes z;
  z.outputs = 20;
  z.units = 7;
  Rng rng(11);
  const RnnParameters p = RandomParameters(
      WeightKind::kLowTensorRank, Nonlinearity::kTanh, false, z, &rng);
  const std::vector<RnnTrial> trials = RandomTrials(RnnLoss::kMse, z, &rng);
  const RnnObjective objective(
      p, RnnBlocks::All(), RnnLossOptions(), &trials, nullptr);
  double max_grad = 0.0;
  CHECK(MaxGradientError(objective, &max_grad) < 1e-6);
  CHECK(max_grad > 1e-4);
  // The data term from the states, tanh and Eigen's own readout product.
  const RnnLossSummary loss =
      EvaluateLoss(p, trials, RnnLossOptions(), RnnBlocks::All(), nullptr);
  double direct = 0.0, mask_sum = 0.0;
  for (const RnnTrial& t : trials) {
    const RnnTrajectory traj =
        Simulate(p, t.trial, t.condition, t.num_steps(), t.inputs);
    const MatrixXd z =
        (p.readout * traj.states.array().tanh().matrix()).colwise() + p.offset;
    for (Index j = 0; j < z.cols(); ++j)
      for (Index i = 0; i < z.rows(); ++i)
        if (t.mask(i, j) != 0.0)
          direct += 0.5 * std::pow(z(i, j) - t.targets(i, j), 2);
    mask_sum += t.mask.sum();
  }
  CHECK(loss.data == Approx(direct / mask_sum).epsilon(1e-12));
}

TEST_CASE("RNN gradient of all blocks at once matches finite differences",
          "[rnn]") {
  const Sizes z;
  Rng rng(7);
  const RnnParameters p = RandomParameters(
      WeightKind::kLowTensorRank, Nonlinearity::kTanh, true, z, &rng);
  const std::vector<RnnTrial> trials = RandomTrials(RnnLoss::kMse, z, &rng);
  RnnLossOptions options;
  options.l2_w = 0.1;
  TrialSmoothingOptions smooth;
  smooth.kind = TrialSmoothing::kGaussianProcess;
  smooth.length_scale = 2.0;
  smooth.jitter = 1e-2;  // keeps K^-1, hence the FD round-off, moderate
  const TrialSmoothingPenalty penalty(smooth, z.trials);
  const RnnObjective objective(p, RnnBlocks::All(), options, &trials, &penalty);
  CHECK(objective.NumParameters() ==
        5 * 2 * 2 + 3 * 2 + 5 * 2 + 5 * 2 + 5 + 5 * 2 + 3 * 5 + 3);
  double max_grad = 0.0;
  CHECK(MaxGradientError(objective, &max_grad) < 1e-6);
}

TEST_CASE(
    "Trial smoothing penalties match finite differences and do not couple "
    "trials across epoch breaks",
    "[rnn]") {
  Rng rng(11);
  const Index k = 12, r = 2;
  const std::vector<int> epochs = {0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
  for (TrialSmoothing kind :
       {TrialSmoothing::kSecondDifference, TrialSmoothing::kGaussianProcess}) {
    TrialSmoothingOptions options;
    options.kind = kind;
    options.weight = 0.7;
    options.length_scale = 3.0;
    options.amplitude = 1.3;
    options.shape = 1.5;
    options.jitter = 1e-3;
    const TrialSmoothingPenalty penalty(options, k, epochs);
    const MatrixXd c = rng.NormalMatrix(k, r);
    MatrixXd g = MatrixXd::Zero(k, r);
    const double value = penalty.Evaluate(c, &g);
    CHECK(value > 0.0);
    const testing::GradientCheck check = testing::CheckGradient(
        [&](const VectorXd& v) {
          return penalty.Evaluate(v.reshaped(k, r), nullptr);
        },
        c.reshaped(),
        g.reshaped(),
        1e-6,
        1.0);
    CHECK(check.max_error <= 1e-6);
    // Changing c only in the first epoch block leaves the gradient in the
    // other blocks unchanged.
    MatrixXd c2 = c;
    c2.topRows(5) = rng.NormalMatrix(5, r);
    MatrixXd g2 = MatrixXd::Zero(k, r);
    penalty.Evaluate(c2, &g2);
    CHECK((g2.bottomRows(k - 5) - g.bottomRows(k - 5)).norm() == 0.0);

    if (kind == TrialSmoothing::kSecondDifference) {
      // A straight line within each block costs nothing; the jumps at the
      // breaks are free.
      MatrixXd line(k, r);
      for (Index i = 0; i < k; ++i)
        line.row(i).setConstant(0.5 * i + 3.0 * epochs[i] * epochs[i]);
      CHECK(penalty.Evaluate(line, nullptr) == Approx(0.0).margin(1e-12));
    } else {
      // The value equals 0.7 * 1/2 sum_r c_r^T K^-1 c_r with K assembled
      // directly (block-diagonal).
      MatrixXd kernel = MatrixXd::Zero(k, k);
      for (Index i = 0; i < k; ++i)
        for (Index j = 0; j < k; ++j)
          if (epochs[i] == epochs[j]) {
            const double d = static_cast<double>(i - j);
            kernel(i, j) =
                1.69 * std::pow(1.0 + d * d / (2.0 * 1.5 * 9.0), -1.5);
          }
      kernel.diagonal().array() += 1e-3 * 1.69;
      const MatrixXd sol = kernel.ldlt().solve(c);
      const double expected = 0.7 * 0.5 * (c.array() * sol.array()).sum();
      CHECK(value == Approx(expected).epsilon(1e-10));
    }
  }
}

TEST_CASE("Identity full RNN matches a hand iteration of the Euler map",
          "[rnn]") {
  const Sizes z;
  Rng rng(3);
  const RnnParameters p = RandomParameters(
      WeightKind::kFull, Nonlinearity::kIdentity, true, z, &rng);
  std::vector<RnnTrial> trials = RandomTrials(RnnLoss::kMse, z, &rng);
  const RnnTrial& trial = trials[1];
  const Index n = z.units, t_max = z.steps;
  // Hand iteration, scalar loops, no Eigen products.
  std::vector<std::vector<double>> x(t_max, std::vector<double>(n));
  for (Index i = 0; i < n; ++i) x[0][i] = p.x0(i, trial.condition);
  for (Index t = 0; t + 1 < t_max; ++t)
    for (Index i = 0; i < n; ++i) {
      double drive = p.bias[i] + p.h(i, trial.condition);
      for (Index j = 0; j < n; ++j) drive += (p.w0(i, j) + p.w(i, j)) * x[t][j];
      for (Index j = 0; j < z.inputs; ++j)
        drive += p.w_in(i, j) * trial.inputs(j, t);
      x[t + 1][i] = (1 - p.alpha) * x[t][i] + p.alpha * drive;
    }
  const RnnTrajectory traj = Simulate(
      p, trial.trial, trial.condition, trial.num_steps(), trial.inputs);
  double loss = 0.0, mask_sum = 0.0;
  for (Index t = 0; t < t_max; ++t) {
    for (Index i = 0; i < n; ++i)
      CHECK(traj.states(i, t) == Approx(x[t][i]).epsilon(1e-12).margin(1e-14));
    for (Index o = 0; o < z.outputs; ++o) {
      double y = p.offset[o];
      for (Index j = 0; j < n; ++j) y += p.readout(o, j) * x[t][j];
      CHECK(traj.outputs(o, t) == Approx(y).epsilon(1e-12).margin(1e-14));
      if (trial.mask(o, t) > 0) {
        loss += 0.5 * (y - trial.targets(o, t)) * (y - trial.targets(o, t));
        mask_sum += 1;
      }
    }
  }
  RnnLossOptions options;
  const RnnLossSummary s =
      EvaluateLoss(p, {trial}, options, RnnBlocks(), nullptr, nullptr);
  CHECK(s.mask_sum == mask_sum);
  CHECK(s.data == Approx(loss / mask_sum).epsilon(1e-12));
  CHECK(s.total == Approx(loss / mask_sum).epsilon(1e-12));
}

TEST_CASE("Poisson loss uses a softplus rate floored at 1e-9", "[rnn]") {
  RnnShape shape;
  shape.kind = WeightKind::kFull;
  shape.units = 1;
  shape.outputs = 2;
  RnnParameters p = ZeroRnnParameters(shape);
  p.nonlinearity = Nonlinearity::kIdentity;
  p.offset << 0.4, -40.0;  // the second rate is below the floor
  RnnTrial trial;
  trial.targets.resize(2, 1);
  trial.targets << 3.0, 2.0;
  RnnLossOptions options;
  options.loss = RnnLoss::kPoisson;
  const RnnLossSummary s =
      EvaluateLoss(p, {trial}, options, RnnBlocks(), nullptr, nullptr);
  const double rate = std::log1p(std::exp(0.4));
  const double expected =
      (rate - 3.0 * std::log(rate) + 1e-9 - 2.0 * std::log(1e-9)) / 2.0;
  CHECK(s.data == Approx(expected).epsilon(1e-14));
}

TEST_CASE(
    "Multithreaded RNN loss is bit-identical for a fixed thread count and "
    "matches the single-thread sum",
    "[rnn]") {
  Sizes z;
  z.units = 24;
  z.rank = 3;
  z.trials = 37;
  z.steps = 15;
  Rng rng(5);
  const RnnParameters p = RandomParameters(
      WeightKind::kLowTensorRank, Nonlinearity::kTanh, true, z, &rng);
  const std::vector<RnnTrial> trials = RandomTrials(RnnLoss::kMse, z, &rng);
  auto run = [&](int threads, RnnParameters* g) {
    RnnLossOptions options;
    options.num_threads = threads;
    return EvaluateLoss(p, trials, options, RnnBlocks::All(), g, nullptr);
  };
  const RnnBlocks all = RnnBlocks::All();
  RnnParameters g1, g2a, g2b, g3;
  const RnnLossSummary s1 = run(1, &g1);
  const RnnLossSummary s2a = run(2, &g2a);
  const RnnLossSummary s2b = run(2, &g2b);
  const RnnLossSummary s3 = run(3, &g3);
  const VectorXd v1 = PackParameters(g1, all);
  const VectorXd v2a = PackParameters(g2a, all);
  const VectorXd v2b = PackParameters(g2b, all);
  const VectorXd v3 = PackParameters(g3, all);
  REQUIRE(v1.size() == NumPackedParameters(p, all));
  // Same thread count: same bits.
  CHECK(s2a.total == s2b.total);
  CHECK((v2a.array() == v2b.array()).all());
  // Losses are summed in trial order: identical whatever the thread count.
  CHECK(s1.total == s2a.total);
  CHECK(s1.total == s3.total);
  // Gradients agree to rounding.
  CHECK((v2a - v1).norm() <= 1e-12 * v1.norm());
  CHECK((v3 - v1).norm() <= 1e-12 * v1.norm());
}

TEST_CASE(
    "EvaluateTrial accumulates the unnormalised per-trial gradient that "
    "EvaluateLoss normalises",
    "[rnn]") {
  const Sizes z;
  Rng rng(23);
  const RnnParameters p = RandomParameters(
      WeightKind::kLowTensorRank, Nonlinearity::kSoftplus, true, z, &rng);
  const std::vector<RnnTrial> trials = RandomTrials(RnnLoss::kMse, z, &rng);
  RnnLossOptions options;
  options.l2_activity = 0.2;
  const RnnBlocks all = RnnBlocks::All();
  RnnParameters sum = ZeroGradient(p, all);
  double data = 0.0, activity = 0.0, mask_sum = 0.0;
  for (const RnnTrial& t : trials) {
    const RnnTrialLoss l = EvaluateTrial(p, t, options, all, &sum);
    data += l.data;
    activity += l.activity;
    mask_sum += l.mask_sum;
  }
  RnnParameters g;
  const RnnLossSummary s = EvaluateLoss(p, trials, options, all, &g, nullptr);
  CHECK(s.mask_sum == mask_sum);
  CHECK(s.data == Approx(data / mask_sum).epsilon(1e-14));
  CHECK(s.activity == Approx(0.2 * activity / mask_sum).epsilon(1e-14));
  const VectorXd a = PackParameters(sum, all) / mask_sum;
  const VectorXd b = PackParameters(g, all);
  CHECK((a - b).norm() <= 1e-14 * b.norm());
  RnnParameters wrong = ZeroGradient(p, RnnBlocks());
  CHECK_THROWS_AS(EvaluateTrial(p, trials[0], options, all, &wrong), Error);
}

TEST_CASE(
    "Batched EvaluateLoss equals the sum of per-trial EvaluateTrial for "
    "every kind, loss and nonlinearity, with trials of different lengths",
    "[rnn]") {
  Sizes z;
  z.units = 9;
  z.trials = 37;  // more than one chunk of trials
  z.steps = 8;
  const WeightKind kinds[] = {
      WeightKind::kFull, WeightKind::kLowRank, WeightKind::kLowTensorRank};
  const Nonlinearity fs[] = {Nonlinearity::kTanh,
                             Nonlinearity::kRelu,
                             Nonlinearity::kSoftplus,
                             Nonlinearity::kIdentity};
  const RnnLoss losses[] = {RnnLoss::kMse, RnnLoss::kPoisson};
  std::uint64_t seed = 900;
  for (WeightKind kind : kinds) {
    for (bool base : {false, true}) {
      for (RnnLoss loss : losses) {
        for (Nonlinearity f : fs) {
          for (bool custom : {false, true}) {
            Rng rng(++seed);
            const RnnParameters p = RandomParameters(kind, f, base, z, &rng);
            std::vector<RnnTrial> trials = RandomTrials(loss, z, &rng);
            for (size_t k = 0; k < trials.size(); ++k) {
              // Lengths 1 .. steps, in no particular order.
              const Index t = 1 + static_cast<Index>((k * 5) % z.steps);
              RnnTrial& trial = trials[k];
              trial.inputs = MatrixXd(trial.inputs.leftCols(t));
              trial.targets = MatrixXd(trial.targets.leftCols(t));
              trial.mask = MatrixXd(trial.mask.leftCols(t));
            }
            RnnLossOptions options;
            options.loss = loss;
            options.l2_activity = 0.1;
            if (custom) {
              // A data term through the output_loss callback: weighted
              // squares of the outputs, all entries observed.
              options.output_loss = [](const RnnTrial& trial,
                                       const MatrixXd& outputs,
                                       MatrixXd* gradient,
                                       double* mask_sum) {
                if (outputs.cols() != trial.num_steps()) return std::nan("");
                const MatrixXd r = outputs.array().sin().matrix();
                if (gradient != nullptr)
                  *gradient = (r.array() * outputs.array().cos()).matrix();
                *mask_sum = static_cast<double>(outputs.size());
                return 0.5 * r.squaredNorm();
              };
            }
            const RnnBlocks all = RnnBlocks::All();
            RnnParameters sum = ZeroGradient(p, all);
            double data = 0.0, activity = 0.0, mask_sum = 0.0;
            for (const RnnTrial& t : trials) {
              const RnnTrialLoss l = EvaluateTrial(p, t, options, all, &sum);
              data += l.data;
              activity += l.activity;
              mask_sum += l.mask_sum;
            }
            const VectorXd expected = PackParameters(sum, all) / mask_sum;
            for (int threads : {1, 2, 3}) {
              options.num_threads = threads;
              RnnParameters g;
              const RnnLossSummary s =
                  EvaluateLoss(p, trials, options, all, &g, nullptr);
              INFO("kind " << WeightKindName(kind) << ", base " << base
                           << ", loss " << RnnLossName(loss) << ", phi "
                           << NonlinearityName(f) << ", custom " << custom
                           << ", threads " << threads);
              CHECK(s.mask_sum == mask_sum);
              CHECK(std::abs(s.data - data / mask_sum) <=
                    1e-12 * std::abs(data / mask_sum));
              CHECK(std::abs(s.activity - 0.1 * activity / mask_sum) <=
                    1e-12 * std::abs(0.1 * activity / mask_sum));
              const VectorXd b = PackParameters(g, all);
              REQUIRE(b.size() == expected.size());
              CHECK((expected - b).norm() <= 1e-12 * expected.norm());
              CHECK(expected.norm() > 0.0);
            }
          }
        }
      }
    }
  }
}

TEST_CASE(
    "Simulate and the loss share one forward pass; process noise is "
    "reproducible",
    "[rnn]") {
  const Sizes z;
  Rng rng(9);
  const RnnParameters p = RandomParameters(
      WeightKind::kLowRank, Nonlinearity::kSoftplus, false, z, &rng);
  std::vector<RnnTrial> trials = RandomTrials(RnnLoss::kPoisson, z, &rng);
  RnnLossOptions options;
  options.loss = RnnLoss::kPoisson;
  double data = 0.0, mask_sum = 0.0;
  for (const RnnTrial& t : trials) {
    const RnnTrajectory traj =
        Simulate(p, t.trial, t.condition, t.num_steps(), t.inputs);
    for (Index j = 0; j < t.num_steps(); ++j)
      for (Index i = 0; i < z.outputs; ++i)
        if (t.mask(i, j) > 0) {
          const double rate = std::log1p(std::exp(traj.outputs(i, j)));
          data += rate - t.targets(i, j) * std::log(rate);
          mask_sum += 1;
        }
  }
  const RnnLossSummary s =
      EvaluateLoss(p, trials, options, RnnBlocks(), nullptr, nullptr);
  CHECK(s.data == Approx(data / mask_sum).epsilon(1e-12));

  Rng a(42), b(42), c(43);
  const MatrixXd& u = trials[0].inputs;
  const RnnTrajectory ta = Simulate(p, 0, 0, z.steps, u, 0.1, &a);
  const RnnTrajectory tb = Simulate(p, 0, 0, z.steps, u, 0.1, &b);
  const RnnTrajectory tc = Simulate(p, 0, 0, z.steps, u, 0.1, &c);
  const RnnTrajectory clean = Simulate(p, 0, 0, z.steps, u);
  CHECK(ta.states == tb.states);
  CHECK(ta.states != tc.states);
  CHECK(ta.states.col(0) == clean.states.col(0));  // noise enters x[1] on
  CHECK((ta.states - clean.states).norm() > 1e-3);
  CHECK_THROWS_AS(Simulate(p, 0, 0, z.steps, u, 0.1, nullptr), Error);
}

TEST_CASE(
    "The loss at the objective's parameters equals the loss computed from "
    "Simulate's outputs for every kind, loss and nonlinearity",
    "[rnn]") {
  Sizes z;
  z.units = 7;
  z.trials = 21;  // two batches of trials
  z.steps = 9;
  std::uint64_t seed = 1300;
  int checked = 0;
  for (WeightKind kind :
       {WeightKind::kFull, WeightKind::kLowRank, WeightKind::kLowTensorRank}) {
    for (RnnLoss loss : {RnnLoss::kMse, RnnLoss::kPoisson}) {
      for (Nonlinearity f : {Nonlinearity::kTanh,
                             Nonlinearity::kRelu,
                             Nonlinearity::kSoftplus,
                             Nonlinearity::kIdentity}) {
        Rng rng(++seed);
        const RnnParameters start = RandomParameters(kind, f, true, z, &rng);
        std::vector<RnnTrial> trials = RandomTrials(loss, z, &rng);
        for (size_t k = 0; k < trials.size(); ++k) {
          const Index t = 1 + static_cast<Index>((k * 5) % z.steps);
          trials[k].inputs = MatrixXd(trials[k].inputs.leftCols(t));
          trials[k].targets = MatrixXd(trials[k].targets.leftCols(t));
          trials[k].mask = MatrixXd(trials[k].mask.leftCols(t));
        }
        RnnLossOptions options;
        options.loss = loss;
        options.l2_activity = 0.1;
        options.l2_w = 0.01;
        options.num_threads = 2;
        const RnnObjective objective(start, RnnBlocks::All(), options, &trials);
        // A point away from the start, as an optimiser would evaluate.
        const VectorXd x =
            objective.InitialPoint() +
            0.05 * rng.NormalMatrix(objective.NumParameters(), 1);
        double cost = 0.0;
        REQUIRE(objective.Evaluate(x.data(), &cost, nullptr));
        const RnnParameters p = objective.Parameters(x.data());

        double data = 0.0, activity = 0.0, mask_sum = 0.0;
        for (const RnnTrial& t : trials) {
          const RnnTrajectory run =
              Simulate(p, t.trial, t.condition, t.num_steps(), t.inputs);
          for (Index j = 0; j < t.num_steps(); ++j) {
            activity += 0.5 * Phi(f, VectorXd(run.states.col(j))).squaredNorm();
            for (Index i = 0; i < z.outputs; ++i) {
              const double m = t.mask(i, j), y = t.targets(i, j);
              if (m == 0.0) continue;
              const double out = run.outputs(i, j);
              const double rate = std::max(std::log1p(std::exp(out)),
                                           options.poisson_rate_floor);
              data += loss == RnnLoss::kMse ? 0.5 * m * (out - y) * (out - y)
                                            : m * (rate - y * std::log(rate));
              mask_sum += m;
            }
          }
        }
        const double l2 =
            kind == WeightKind::kFull
                ? 0.5 * 0.01 * p.w.squaredNorm()
                : 0.5 * 0.01 * (p.a.squaredNorm() + p.b.squaredNorm());
        const double expected = (data + 0.1 * activity) / mask_sum + l2;
        INFO("kind " << WeightKindName(kind) << ", loss " << RnnLossName(loss)
                     << ", phi " << NonlinearityName(f));
        CHECK(std::abs(cost - expected) <= 1e-12 * std::abs(expected));
        ++checked;
      }
    }
  }
  CHECK(checked == 24);
}

TEST_CASE("The RNN's one tanh is within 2 ulp of std::tanh", "[rnn]") {
  // The forward pass (hence the loss, Simulate and Predict) and the scalar
  // Phi use one vectorised tanh. Its error is ~1e10 times below the 1e-6
  // tolerance of the gradient checks.
  const Index n = 400001;
  VectorXd x(n);
  for (Index i = 0; i < n; ++i) x[i] = -20.0 + 40.0 * i / (n - 1);
  const VectorXd block = Phi(Nonlinearity::kTanh, x);
  double worst = 0.0, worst_relative = 0.0;
  for (Index i = 0; i < n; ++i) {
    const double exact = std::tanh(x[i]);
    for (double value : {block[i], Phi(Nonlinearity::kTanh, x[i])}) {
      worst = std::max(worst, std::abs(value - exact));
      if (exact != 0.0)
        worst_relative =
            std::max(worst_relative, std::abs(value - exact) / std::abs(exact));
    }
  }
  INFO("max abs error " << worst << ", max relative error " << worst_relative);
  CHECK(worst <= 2.3e-16);
  CHECK(worst_relative <= 5e-16);
  CHECK(Phi(Nonlinearity::kTanh, 1e-300) == 1e-300);
  CHECK(Phi(Nonlinearity::kTanh, HUGE_VAL) == 1.0);
  CHECK(Phi(Nonlinearity::kTanh, -HUGE_VAL) == -1.0);
  CHECK(std::isnan(Phi(Nonlinearity::kTanh, std::nan(""))));
  CHECK(PhiDerivative(Nonlinearity::kTanh, 0.3) ==
        1.0 - Phi(Nonlinearity::kTanh, 0.3) * Phi(Nonlinearity::kTanh, 0.3));
}

TEST_CASE("Packing the trainable blocks round-trips", "[rnn]") {
  const Sizes z;
  Rng rng(13);
  for (WeightKind kind :
       {WeightKind::kFull, WeightKind::kLowRank, WeightKind::kLowTensorRank}) {
    const RnnParameters p =
        RandomParameters(kind, Nonlinearity::kTanh, true, z, &rng);
    RnnBlocks blocks;
    blocks.x0 = true;
    blocks.readout = true;
    const VectorXd x = PackParameters(p, blocks);
    Index expected = 5 * 2 + 3 * 5;
    if (kind == WeightKind::kFull) expected += 25;
    if (kind == WeightKind::kLowRank) expected += 20;
    if (kind == WeightKind::kLowTensorRank) expected += 20 + 6;
    CHECK(x.size() == expected);
    RnnParameters q = p;
    const VectorXd y = VectorXd::Random(x.size());
    UnpackParameters(y.data(), blocks, &q);
    CHECK(PackParameters(q, blocks) == y);
    CHECK(q.bias == p.bias);  // frozen blocks are untouched
    CHECK(q.w_in == p.w_in);
  }
}

TEST_CASE("NormalizeFactors keeps every W_k and gives unit-norm factors",
          "[rnn]") {
  const Sizes z;
  Rng rng(17);
  RnnParameters p = RandomParameters(
      WeightKind::kLowTensorRank, Nonlinearity::kTanh, false, z, &rng);
  const RnnParameters before = p;
  NormalizeFactors(&p);
  for (Index k = 0; k < z.trials; ++k)
    CHECK((p.RecurrentWeights(k) - before.RecurrentWeights(k)).norm() <
          1e-12 * before.RecurrentWeights(k).norm());
  for (Index r = 0; r < z.rank; ++r) {
    CHECK(p.a.col(r).norm() == Approx(1.0).epsilon(1e-14));
    CHECK(p.b.col(r).norm() == Approx(1.0).epsilon(1e-14));
  }
  RnnParameters q = RandomParameters(
      WeightKind::kLowRank, Nonlinearity::kTanh, false, z, &rng);
  const MatrixXd w = q.RecurrentWeights();
  NormalizeFactors(&q);
  CHECK((q.RecurrentWeights() - w).norm() < 1e-12 * w.norm());
  for (Index r = 0; r < z.rank; ++r)
    CHECK(q.a.col(r).norm() == Approx(q.b.col(r).norm()).epsilon(1e-14));
}

TEST_CASE("Inconsistent RNN shapes and trials throw ltr::Error", "[rnn]") {
  const Sizes z;
  Rng rng(19);
  const RnnParameters good = RandomParameters(
      WeightKind::kLowTensorRank, Nonlinearity::kTanh, false, z, &rng);
  std::vector<RnnTrial> trials = RandomTrials(RnnLoss::kMse, z, &rng);
  RnnLossOptions options;
  REQUIRE_NOTHROW(
      EvaluateLoss(good, trials, options, RnnBlocks(), nullptr, nullptr));
  RnnParameters bad = good;
  bad.b.resize(z.units, z.rank + 1);
  CHECK_THROWS_AS(bad.Validate(), Error);
  bad = good;
  bad.alpha = 1.5;
  CHECK_THROWS_AS(bad.Validate(), Error);
  bad = good;
  bad.readout.resize(z.outputs, z.units + 1);
  CHECK_THROWS_AS(bad.Validate(), Error);

  std::vector<RnnTrial> wrong = trials;
  wrong[2].trial = z.trials;  // no such row of c
  CHECK_THROWS_AS(
      EvaluateLoss(good, wrong, options, RnnBlocks(), nullptr, nullptr), Error);
  wrong = trials;
  wrong[0].condition = z.conditions;
  CHECK_THROWS_AS(
      EvaluateLoss(good, wrong, options, RnnBlocks(), nullptr, nullptr), Error);
  wrong = trials;
  wrong[1].inputs.resize(z.inputs, z.steps - 1);
  CHECK_THROWS_AS(
      EvaluateLoss(good, wrong, options, RnnBlocks(), nullptr, nullptr), Error);
  wrong = trials;
  for (RnnTrial& t : wrong) t.mask.setZero();
  CHECK_THROWS_AS(
      EvaluateLoss(good, wrong, options, RnnBlocks(), nullptr, nullptr), Error);
  CHECK_THROWS_AS(ParseNonlinearity("sigmoid"), Error);
  CHECK(ParseWeightKind(WeightKindName(WeightKind::kLowTensorRank)) ==
        WeightKind::kLowTensorRank);
}

TEST_CASE(
    "Rank-1 two-unit ltrRNN with a close to b has a pitchfork as c_k "
    "crosses 1/(b^T a)",
    "[rnn]") {
  RnnShape shape;
  shape.kind = WeightKind::kLowTensorRank;
  shape.nonlinearity = Nonlinearity::kTanh;
  shape.alpha = 0.1;
  shape.units = 2;
  shape.rank = 1;
  shape.trials = 2;
  shape.conditions = 2;
  shape.outputs = 2;
  RnnParameters p = ZeroRnnParameters(shape);
  p.a.col(0) =
      VectorXd::Map(std::vector<double>{1.0, 0.5}.data(), 2).normalized();
  p.b.col(0) =
      p.a.col(0) + VectorXd::Map(std::vector<double>{0.05, -0.03}.data(), 2);
  p.readout.setIdentity();
  const double ba = p.b.col(0).dot(p.a.col(0));
  const double threshold = 1.0 / ba;
  p.c(0, 0) = 0.8 * threshold;   // below: origin stable
  p.c(1, 0) = 1.25 * threshold;  // above: origin unstable
  // Continuous-time Jacobian at 0 is -I + c_k a b^T: leading eigenvalue
  // -1 + c_k b^T a changes sign at the threshold.
  for (Index k = 0; k < 2; ++k) {
    const MatrixXd jac =
        -MatrixXd::Identity(2, 2) + p.c(k, 0) * p.a * p.b.transpose();
    const double lead = jac.eigenvalues().real().maxCoeff();
    CHECK(lead == Approx(-1.0 + p.c(k, 0) * ba).epsilon(1e-12));
    CHECK((lead < 0) == (k == 0));
  }
  // Small perturbations of the origin, one per condition, of opposite signs.
  const VectorXd perturbation =
      1e-3 * VectorXd::Map(std::vector<double>{0.3, 1.0}.data(), 2);
  p.x0.col(0) = perturbation;
  p.x0.col(1) = -perturbation;
  const Index steps = 6000;
  const MatrixXd no_inputs;

  for (Index cond = 0; cond < 2; ++cond) {
    const RnnTrajectory below = Simulate(p, 0, cond, steps, no_inputs);
    CHECK(below.states.col(steps - 1).norm() < 1e-12);
  }
  VectorXd fixed_points[2];
  for (Index cond = 0; cond < 2; ++cond) {
    const RnnTrajectory above = Simulate(p, 1, cond, steps, no_inputs);
    const VectorXd x = above.states.col(steps - 1);
    fixed_points[cond] = x;
    CHECK(x.norm() > 0.1);
    // x* solves x = c a b^T tanh(x) ...
    const VectorXd residual =
        x - p.c(1, 0) * p.a * (p.b.transpose() * Phi(Nonlinearity::kTanh, x));
    CHECK(residual.norm() < 1e-8);
    // ... lies along a ...
    const VectorXd a = p.a.col(0);
    CHECK((x - a.dot(x) * a).norm() < 1e-8 * x.norm());
    // ... and is stable: the discrete-time Jacobian has spectral radius < 1.
    const MatrixXd d = (1.0 - Phi(Nonlinearity::kTanh, x).array().square())
                           .matrix()
                           .asDiagonal();
    const MatrixXd jac = (1 - p.alpha) * MatrixXd::Identity(2, 2) +
                         p.alpha * p.c(1, 0) * p.a * p.b.transpose() * d;
    CHECK(jac.eigenvalues().cwiseAbs().maxCoeff() < 1.0);
  }
  // The two branches are +x* and -x*.
  CHECK((fixed_points[0] + fixed_points[1]).norm() < 1e-10);
  CHECK(fixed_points[0].dot(fixed_points[1]) < 0.0);
}

}  // namespace
}  // namespace ltr
