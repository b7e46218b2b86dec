// Fitting RNNs to recordings: held-out masks and metrics, model files,
// teacher-student recovery, rank selection, trouble reporting and the
// `ltr fit` / `ltr simulate` commands.
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <filesystem>

#include "ltr/core/error.h"
#include "ltr/decompose/crossval.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/fit/fit.h"
#include "ltr/formats/fit_file.h"
#include "ltr/formats/io.h"
#include "ltr/formats/model_file.h"
#include "ltr/rnn/simulate.h"
#include "ltr/synthetic/synthetic.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ltr;
using Catch::Matchers::Contains;

namespace {

// A noisy recording simulated from a rank-3 teacher with identity readout.
struct TeacherData {
  FittedModel teacher;
  Recording recording;
};

TeacherData MakeTeacherData(
    int units, int trials, int steps, double noise, std::uint64_t seed) {
  LtrTeacherOptions t;
  t.units = units;
  t.rank = 3;
  t.trials = trials;
  t.conditions = units;  // initial states that span the state space
  t.seed = seed;
  TeacherData d;
  d.teacher = MakeLtrTeacher(t);
  SimulateOptions s;
  s.steps = steps;
  s.observation_noise = noise;
  s.seed = seed + 100;
  d.recording = SimulateRecording(d.teacher, s);
  return d;
}

FitOptions StudentOptions(int rank) {
  FitOptions o;
  o.kind = WeightKind::kLowTensorRank;
  o.rank = rank;
  o.readout = ReadoutKind::kIdentity;
  o.max_iterations = 1500;
  o.run.num_threads = 1;
  // The teacher's trial factors are smooth; so is the prior (Pellegrino et al.
  // 2023's recipe). Without it L-BFGS from a random start often stalls far
  // above the noise floor at the true rank.
  o.smoothing.kind = TrialSmoothing::kSecondDifference;
  o.smoothing.weight = 0.1;
  return o;
}

// The weight tensor W[k] = sum_r c(k,r) a_r b_r^T as a Ktensor with modes
// (trial, row unit, column unit).
Ktensor WeightKtensor(const RnnParameters& p) {
  Ktensor k;
  k.weights = Vector::Ones(p.rank());
  k.factors = {p.c, p.a, p.b};
  k.Normalize();
  return k;
}

Recording SmallRecording(Index trials, Index steps, Index neurons) {
  Recording r;
  r.activity = Tensor3(trials, steps, neurons);
  Rng rng(5);
  for (double& v : r.activity.values()) v = rng.Normal();
  return r;
}

void WriteBadRecording(const std::string& path, const Recording& r) {
  io::OutputFile out(path, "test");
  WriteRecording(r, &out);
  out.Commit();
}

}  // namespace

// --- Held-out masks ---------------------------------------------------------

TEST_CASE("held-out blocks hold out about 20 % with a guard ring", "[fit]") {
  HoldOutOptions o;  // 11 x 11 x 3 blocks, 5 x 5 x 3 test, guard 1
  o.seed = 4;
  const Dims dims{66, 44, 30};
  const HoldOutMasks m = MakeHoldOutMasks(o, dims);
  double train = 0, test = 0, guard = 0;
  for (Index i = 0; i < m.train.size(); ++i) {
    const bool tr = m.train.data()[i], te = m.test.data()[i];
    REQUIRE_FALSE((tr && te));  // disjoint
    train += tr;
    test += te;
    guard += !tr && !te;
  }
  const double total = static_cast<double>(m.train.size());
  CHECK(test / total == Approx(25.0 / 121).margin(0.02));
  CHECK(guard / total == Approx(24.0 / 121).margin(0.02));
  CHECK(train / total == Approx(72.0 / 121).margin(0.02));
  // Guard ring: no training entry touches a test entry of the same neuron
  // in trial or time (including diagonals).
  int touching = 0;
  for (Index k = 0; k < dims[0]; ++k)
    for (Index t = 0; t < dims[1]; ++t)
      for (Index n = 0; n < dims[2]; ++n) {
        if (!m.test(k, t, n)) continue;
        for (Index dk = -1; dk <= 1; ++dk)
          for (Index dt = -1; dt <= 1; ++dt) {
            const Index kk = k + dk, tt = t + dt;
            if (kk < 0 || tt < 0 || kk >= dims[0] || tt >= dims[1]) continue;
            touching += m.train(kk, tt, n);
          }
      }
  CHECK(touching == 0);
  // Test blocks span 3 neurons: a test entry's whole neuron group is test.
  for (Index n = 0; n + 2 < dims[2]; n += 3)
    CHECK(m.test(10, 10, n) == m.test(10, 10, n + 2));
  // Another seed shifts the tiling.
  o.seed = 5;
  const HoldOutMasks other = MakeHoldOutMasks(o, dims);
  CHECK(other.test.values() != m.test.values());
}

TEST_CASE("co-smoothing holds out whole neurons on held-out trials", "[fit]") {
  HoldOutOptions o;
  o.scheme = HoldOut::kNeurons;
  o.neuron_fraction = 0.25;
  o.trial_fraction = 0.5;
  const Dims dims{10, 7, 8};
  const HoldOutMasks m = MakeHoldOutMasks(o, dims);
  int held_neurons = 0, held_trials = 0;
  for (Index n = 0; n < dims[2]; ++n) {
    bool any = false;
    for (Index k = 0; k < dims[0]; ++k) any = any || m.test(k, 0, n);
    held_neurons += any;
  }
  for (Index k = 0; k < dims[0]; ++k) {
    bool any = false;
    for (Index n = 0; n < dims[2]; ++n) any = any || m.test(k, 0, n);
    held_trials += any;
  }
  CHECK(held_neurons == 2);
  CHECK(held_trials == 5);
  for (Index i = 0; i < m.train.size(); ++i)
    CHECK(m.train.data()[i] + m.test.data()[i] == 1);  // no guard here
  // Whole trials of a held-out neuron: every time bin alike.
  for (Index k = 0; k < dims[0]; ++k)
    for (Index n = 0; n < dims[2]; ++n)
      for (Index t = 1; t < dims[1]; ++t)
        CHECK(m.test(k, t, n) == m.test(k, 0, n));
}

TEST_CASE("held-out masks leave unobserved entries out of both", "[fit]") {
  const Dims dims{22, 22, 6};
  Mask3 observed(dims, 1);
  for (Index k = 0; k < dims[0]; ++k) observed(k, 3, 1) = 0;
  for (HoldOut scheme : {HoldOut::kBlocks, HoldOut::kNeurons, HoldOut::kNone}) {
    HoldOutOptions o;
    o.scheme = scheme;
    const HoldOutMasks m = MakeHoldOutMasks(o, dims, &observed);
    for (Index k = 0; k < dims[0]; ++k) {
      CHECK(m.train(k, 3, 1) == 0);
      CHECK(m.test(k, 3, 1) == 0);
    }
  }
}

// --- Metrics
// ------------------------------------------------------------------

TEST_CASE("metrics agree with hand computations", "[fit]") {
  // One trial, two bins, two neurons: neuron 0 = [1, 3], neuron 1 = [0, 2].
  Tensor3 y(1, 2, 2), p(1, 2, 2);
  y(0, 0, 0) = 1, y(0, 1, 0) = 3, y(0, 0, 1) = 0, y(0, 1, 1) = 2;
  p(0, 0, 0) = 2, p(0, 1, 0) = 2, p(0, 0, 1) = 0.5, p(0, 1, 1) = 1.5;
  const Mask3 all(y.dims(), 1);
  const PredictionMetrics m = ComputeMetrics(y, p, all, /*counts=*/true);
  CHECK(m.count == 4);
  CHECK(m.mse == Approx(2.5 / 4));        // residuals 1, 1, 0.25, 0.25
  CHECK(m.nmse == Approx(0.625 / 1.25));  // variance of {1,3,0,2} = 1.25
  CHECK(m.r2 == Approx(0.5));
  // Per-neuron R2: neuron 0: 1 - 2/2 = 0; neuron 1: 1 - 0.5/2 = 0.75.
  CHECK(m.r2_median == Approx(0.375));
  // NLL_null - NLL_model: neuron 0's null rate equals its model rate (2);
  // neuron 1: null rate 1 gives 2, model (0.5 - 0) + (1.5 - 2 ln 1.5).
  CHECK(m.bits_per_spike == Approx(2 * std::log(1.5) / (6 * std::log(2.0))));
  // Rates at zero are floored at 1e-9, so a zero count costs only the floor.
  Tensor3 p0 = p;
  p0(0, 0, 1) = 0.0;
  const PredictionMetrics floored = ComputeMetrics(y, p0, all, true);
  CHECK(std::isfinite(floored.bits_per_spike));
  CHECK(floored.bits_per_spike ==
        Approx((2 * std::log(1.5) + 0.5 - 1e-9) / (6 * std::log(2.0))));
  // Masked entries are ignored; rates data give NaN bits/spike.
  Mask3 one(y.dims(), 1);
  one(0, 0, 0) = 0;
  const PredictionMetrics masked = ComputeMetrics(y, p, one, false);
  CHECK(masked.count == 3);
  CHECK(masked.mse == Approx(1.5 / 3));
  CHECK(std::isnan(masked.bits_per_spike));
}

// --- Model files
// --------------------------------------------------------------

TEST_CASE("a model file reads back exactly as written", "[fit]") {
  test::ScratchDir dir;
  RnnShape s;
  s.kind = WeightKind::kFull;
  s.units = 5;
  s.inputs = 2;
  s.conditions = 3;
  s.outputs = 4;
  s.base_weights = true;
  s.condition_inputs = true;
  FittedModel full;
  full.parameters = ZeroRnnParameters(s);
  Rng rng(3);
  RnnParameters& p = full.parameters;
  p.w = rng.NormalMatrix(5, 5);
  p.w0 = rng.NormalMatrix(5, 5);
  p.w_in = rng.NormalMatrix(5, 2);
  p.h = rng.NormalMatrix(5, 3);
  p.x0 = rng.NormalMatrix(5, 3);
  p.bias = rng.NormalMatrix(5, 1);
  p.readout = rng.NormalMatrix(4, 5);
  p.offset = rng.NormalMatrix(4, 1);
  p.nonlinearity = Nonlinearity::kSoftplus;
  p.alpha = 0.2;
  full.loss = RnnLoss::kPoisson;
  full.readout = ReadoutKind::kFree;
  LtrTeacherOptions t;
  t.units = 6;
  t.neurons = 9;
  const FittedModel ltr_model = MakeLtrTeacher(t);

  for (const FittedModel* m :
       {static_cast<const FittedModel*>(&full), &ltr_model}) {
    const std::string path = dir / "model.h5";
    {
      io::OutputFile out(path, "test");
      WriteModel(*m, &out);
      out.Commit();
    }
    const FittedModel back = ReadModel(path);
    const RnnParameters& a = m->parameters;
    const RnnParameters& b = back.parameters;
    CHECK(b.kind == a.kind);
    CHECK(b.nonlinearity == a.nonlinearity);
    CHECK(b.alpha == a.alpha);
    CHECK(back.loss == m->loss);
    CHECK(back.readout == m->readout);
    CHECK(b.w == a.w);
    CHECK(b.w0 == a.w0);
    CHECK(b.a == a.a);
    CHECK(b.b == a.b);
    CHECK(b.c == a.c);
    CHECK(b.w_in.size() == a.w_in.size());
    if (a.w_in.size() > 0) CHECK(b.w_in == a.w_in);
    CHECK(b.h == a.h);
    CHECK(b.x0 == a.x0);
    CHECK(b.bias == a.bias);
    CHECK(b.readout == a.readout);
    CHECK(b.offset == a.offset);
    CHECK(HasTrialFactors(path) == (a.kind == WeightKind::kLowTensorRank));
  }
  // x0 is stored conditions x N, as the format says.
  {
    io::OutputFile out(dir / "full.h5", "test");
    WriteModel(full, &out);
    out.Commit();
  }
  CHECK(io::DatasetShape(dir / "full.h5", "/model/x0") ==
        std::vector<Index>{3, 5});
  CHECK_THROWS_WITH(ReadModel(dir / "missing.h5"), Contains("missing.h5"));
}

// What `ltr plot` draws of a sweep: its table, the best fit's model and its
// loss per iteration, and a table whose shapes disagree is refused.
TEST_CASE("a rank sweep reads back with its table and loss history", "[fit]") {
  test::ScratchDir dir;
  LtrTeacherOptions t;
  t.units = 6;
  t.neurons = 9;
  RankSweepSummary sweep;
  sweep.ranks = {1, 2};
  sweep.train_loss = Eigen::MatrixXd::Constant(2, 3, 0.5);
  sweep.test_loss = Eigen::MatrixXd::Constant(2, 3, 0.7);
  sweep.test_r2 = Eigen::MatrixXd::Constant(2, 3, 0.2);
  sweep.chosen_rank = 2;
  sweep.best.model = MakeLtrTeacher(t);
  sweep.best.termination = "converged";
  sweep.best.history = {{0, 3.0, 4.0, 0.0}, {1, 2.0, std::nan(""), 0.0}};
  sweep.best.train_loss = 0.25;
  sweep.best.null_train_loss = 0.5;
  HoldOutOptions split;
  split.scheme = HoldOut::kNeurons;
  sweep.best.masks = MakeHoldOutMasks(split, Dims{10, 4, 9});
  const std::string path = dir / "sweep.h5";
  {
    io::OutputFile out(path, "test");
    WriteRankSweep(sweep, &out);
    out.Commit();
  }
  const FitParts parts = FindFitParts(path);
  CHECK(parts.fit);
  CHECK(parts.loss_history);
  CHECK(parts.rank_sweep);
  const RankSweepSummary back = ReadRankSweep(path);
  CHECK(back.ranks == sweep.ranks);
  CHECK(back.test_r2 == sweep.test_r2);
  CHECK(back.chosen_rank == 2);
  CHECK(back.best.model.parameters.c == sweep.best.model.parameters.c);
  REQUIRE(back.best.history.size() == 2);
  CHECK(back.best.history[0].loss == 3.0);
  CHECK(back.best.history[0].test_loss == 4.0);
  CHECK(std::isnan(back.best.history[1].test_loss));
  // What Failure() and a second write need: the null loss and the split.
  CHECK(back.best.null_train_loss == 0.5);
  CHECK(back.best.Failure().empty());
  CHECK(back.best.masks.train.values() == sweep.best.masks.train.values());
  CHECK(back.best.masks.test.values() == sweep.best.masks.test.values());

  sweep.test_r2 = Eigen::MatrixXd::Constant(2, 2, 0.2);
  {
    io::OutputFile out(path, "test");
    WriteRankSweep(sweep, &out);
    out.Commit();
  }
  CHECK_THROWS_WITH(ReadRankSweep(path),
                    Contains("/cv losses do not match /cv/ranks"));
}

// --- Simulation
// ---------------------------------------------------------------

TEST_CASE("simulated recordings follow the model and its conditions", "[fit]") {
  LtrTeacherOptions t;
  t.units = 8;
  t.trials = 10;
  t.conditions = 3;
  const FittedModel teacher = MakeLtrTeacher(t);
  SimulateOptions s;
  s.steps = 12;
  const Recording r = SimulateRecording(teacher, s);
  REQUIRE(r.activity.dims() == (Dims{10, 12, 8}));
  CHECK(r.condition[4] == 1);  // trial k has condition k mod 3
  // Noise-free: bin 0 is phi(x0) of the trial's condition (identity readout).
  CHECK(r.activity(4, 0, 2) == Approx(std::tanh(teacher.parameters.x0(2, 1))));
  // Same seed, same recording; counts from a poisson model are integers.
  FittedModel counts = teacher;
  counts.loss = RnnLoss::kPoisson;
  const Recording c1 = SimulateRecording(counts, s);
  const Recording c2 = SimulateRecording(counts, s);
  CHECK(c1.activity.values() == c2.activity.values());
  for (double v : c1.activity.values()) CHECK((v >= 0 && v == std::floor(v)));
  // Condition labels outside the model's conditions are refused.
  Recording labels = r;
  labels.condition[2] = 7;
  CHECK_THROWS_WITH(SimulateRecording(teacher, s, &labels),
                    Contains("condition label 7"));
  s.trials = 11;  // more than the rows of c
  CHECK_THROWS_AS(SimulateRecording(teacher, s), Error);
}

// --- Teacher-student
// ------------------------------------------------------------

TEST_CASE(
    "a rank-3 ltrRNN fit recovers held-out activity and the teacher's "
    "weight tensor",
    "[fit]") {
  const TeacherData d = MakeTeacherData(16, 40, 30, 0.05, 7);
  FitOptions o = StudentOptions(3);  // data-driven start, one seed
  o.max_iterations = 1500;
  const FitSummary fit = FitRnn(o, d.recording);
  INFO(fit.BriefReport());
  CHECK_FALSE(fit.diverged);
  CHECK(fit.initialization == "data");
  CHECK(fit.test_metrics.count > 0);
  CHECK(fit.test_metrics.r2 >= 0.95);
  CHECK(fit.test_metrics.r2_median >= 0.9);
  const Alignment al = Align(WeightKtensor(d.teacher.parameters),
                             WeightKtensor(fit.model.parameters));
  INFO("component scores " << al.component_scores.transpose());
  CHECK(al.score >= 0.9);
}

TEST_CASE("the data-driven start is near the teacher before any iteration",
          "[fit]") {
  // Measured: one-step R2 0.92 (the teacher's own on these noisy data is
  // 0.87: the fit also explains some noise), held-out R2 0.52 and factor
  // match 0.70 at iteration 0; a random start has R2 ~ 0 and FMS ~ 0.1.
  const TeacherData d = MakeTeacherData(16, 40, 30, 0.05, 7);
  FitOptions o = StudentOptions(3);
  o.max_iterations = 0;
  const FitSummary data = FitRnn(o, d.recording);
  INFO(data.BriefReport());
  CHECK(data.init_one_step_r2 >= 0.85);
  CHECK(data.test_metrics.r2 >= 0.4);
  const double data_fms = Align(WeightKtensor(d.teacher.parameters),
                                WeightKtensor(data.model.parameters))
                              .score;
  CHECK(data_fms >= 0.6);
  o.initialization = FitInitialization::kRandom;
  const FitSummary random = FitRnn(o, d.recording);
  INFO(random.BriefReport());
  CHECK(random.initialization == "random");
  CHECK(random.test_metrics.r2 < 0.1);
  CHECK(Align(WeightKtensor(d.teacher.parameters),
              WeightKtensor(random.model.parameters))
            .score < 0.3);
  CHECK(data.test_loss < 0.75 * random.test_loss);
}

TEST_CASE("a data-driven start through a readout learned from components",
          "[fit]") {
  // A teacher seen through a random orthonormal readout (14 neurons, 8
  // units): the start comes from principal components, not phi^-1 of the
  // activity. The one-step regression still explains most of the latent
  // dynamics and an orthonormal readout starts on the manifold. (Its
  // rollout at iteration 0 is measured to be worse than predicting the
  // mean -- tanh does not commute with the components' rotation -- so no
  // claim on the initial loss is made here; see docs/fit.md.)
  LtrTeacherOptions t;
  t.units = 8;
  t.neurons = 14;
  t.trials = 24;
  t.seed = 3;
  const FittedModel teacher = MakeLtrTeacher(t);
  SimulateOptions s;
  s.steps = 20;
  s.observation_noise = 0.05;
  const Recording r = SimulateRecording(teacher, s);
  for (ReadoutKind readout : {ReadoutKind::kFree, ReadoutKind::kOrthonormal})
    for (WeightKind kind : {WeightKind::kFull,
                            WeightKind::kLowRank,
                            WeightKind::kLowTensorRank}) {
      FitOptions o;
      o.kind = kind;
      o.rank = 3;
      o.units = 8;
      o.readout = readout;
      o.max_iterations = 0;
      CHECK(FitRnn(o, r).initialization == "random");  // what auto picks
      o.initialization = FitInitialization::kData;
      const FitSummary data = FitRnn(o, r);
      INFO(WeightKindName(kind) << " " << static_cast<int>(readout) << "\n"
                                << data.BriefReport());
      CHECK(data.initialization == "data");
      // Measured: 0.44 (lowrank, free readout) to above 0.9.
      CHECK(data.init_one_step_r2 >= 0.4);
      CHECK(std::isfinite(data.train_loss));
      if (readout == ReadoutKind::kOrthonormal) {
        const Eigen::MatrixXd& c = data.model.parameters.readout;
        CHECK((c.transpose() * c - Eigen::MatrixXd::Identity(8, 8)).norm() <
              1e-10);
      }
    }
}

TEST_CASE("termination says converged only on the function or gradient test",
          "[fit]") {
  const TeacherData d = MakeTeacherData(8, 16, 12, 0.05, 2);
  FitOptions o = StudentOptions(2);
  o.max_iterations = 500;
  // A coarse function tolerance: Ceres stops on it.
  o.function_tolerance = 1e-2;
  o.parameter_tolerance = 0;
  o.gradient_tolerance = 0;
  const FitSummary converged = FitRnn(o, d.recording);
  INFO(converged.BriefReport());
  CHECK(converged.termination == "converged");
  CHECK_THAT(converged.message, Contains("Function tolerance"));
  // A coarse step tolerance: small steps are a stall, not convergence.
  o.function_tolerance = 0;
  o.parameter_tolerance = 1e-1;
  const FitSummary stalled = FitRnn(o, d.recording);
  INFO(stalled.BriefReport());
  CHECK(stalled.termination == "stalled");
  CHECK_THAT(stalled.message, Contains("Parameter tolerance"));
  CHECK(stalled.iterations < o.max_iterations);
}

TEST_CASE("the window test stops a fit as converged on its tail",
          "[fit][sweep_warm]") {
  const TeacherData d = MakeTeacherData(8, 16, 12, 0.05, 2);
  FitOptions o = StudentOptions(2);
  o.max_iterations = 3000;
  o.convergence_window = 20;
  o.window_tolerance = 1e-3;
  const FitSummary fit = FitRnn(o, d.recording);
  INFO(fit.BriefReport());
  CHECK(fit.termination == "converged");
  CHECK_THAT(fit.message, Contains("over the last 20 iterations"));
  REQUIRE(fit.iterations < 3000);
  // The objective indeed fell by less than 0.1 % over the last 20.
  const std::vector<FitIteration>& h = fit.history;
  CHECK(h[h.size() - 21].loss - h.back().loss <= 1e-3 * h.back().loss);
  CHECK(h[h.size() - 22].loss - h[h.size() - 2].loss >
        1e-3 * h[h.size() - 2].loss);
}

TEST_CASE("a rank-3 ltrRNN fit recovers the teacher at full size",
          "[.slow][fit_slow]") {
  // 40 units, 120 trials: from a random start L-BFGS stalled here (held-out
  // R2 0.60, factor match 0.20 after 3 x 8000 iterations); the data-driven
  // start reaches R2 0.99 and factor match 0.96 in 4000 (docs/fit.md).
  const TeacherData d = MakeTeacherData(40, 120, 40, 0.05, 11);
  FitOptions o = StudentOptions(3);
  o.max_iterations = 3000;
  o.run.num_threads = 2;
  const FitSummary fit = FitRnn(o, d.recording);
  INFO(fit.BriefReport());
  CHECK(fit.test_metrics.r2 >= 0.95);
  const Alignment al = Align(WeightKtensor(d.teacher.parameters),
                             WeightKtensor(fit.model.parameters));
  INFO("component scores " << al.component_scores.transpose());
  CHECK(al.score >= 0.9);
}

namespace {

// Held-out loss over ranks must stop improving (by more than 2 %) from the
// true rank on, and the rule must pick it.
void CheckRankCurve(const RankSweepSummary& sweep, double flat = 0.98) {
  INFO(sweep.BriefReport());
  Eigen::VectorXd mean = sweep.test_loss.rowwise().minCoeff();
  const Index true_index = 2;  // ranks start at 1
  for (Index i = 0; i < true_index; ++i)
    CHECK(mean(i) > 1.2 * mean(true_index));
  for (Index i = true_index + 1; i < mean.size(); ++i)
    CHECK(mean(i) > flat * mean(true_index));
  CHECK(sweep.chosen_rank == 3);
}

}  // namespace

TEST_CASE("held-out loss over ranks 1-4 is minimal or flat from rank 3",
          "[fit]") {
  const TeacherData d = MakeTeacherData(12, 40, 25, 0.05, 3);
  RankSweepOptions o;
  o.fit = StudentOptions(1);
  // 2500 iterations left the fits short of their optima, and which of the
  // rank-3 and rank-4 fits ended lower turned on last bits of the data
  // (rank 4 6 % below rank 3 after the rnn core's one-tanh change); at 4000
  // both are within 3 %.
  o.fit.max_iterations = 4000;
  o.ranks = {1, 2, 3, 4};
  o.seeds = 2;
  o.relative_tolerance = 0.02;
  CheckRankCurve(SweepRanks(o, d.recording));
}

TEST_CASE(
    "held-out loss over ranks 1-6 is minimal or flat from rank 3 at "
    "full size",
    "[.slow][fit_slow]") {
  const TeacherData d = MakeTeacherData(30, 100, 40, 0.05, 5);
  RankSweepOptions o;
  o.fit = StudentOptions(1);
  o.fit.max_iterations = 3000;
  o.fit.run.num_threads = 2;
  o.ranks = {1, 2, 3, 4, 5, 6};
  o.seeds = 1;
  // Measured at 2000 iterations: held-out loss 0.0982, 0.0299, 0.00184,
  // 0.00183, 0.00176, 0.00181 for ranks 1-6: flat from 3 within 4 % (fits
  // above the true rank converge a little faster), hence 5 %.
  o.relative_tolerance = 0.05;
  CheckRankCurve(SweepRanks(o, d.recording), 0.95);
}

// --- Options of the fit
// -----------------------------------------------------------

TEST_CASE("an orthonormal readout stays orthonormal while the loss falls",
          "[fit]") {
  LtrTeacherOptions t;
  t.units = 8;
  t.neurons = 14;
  t.trials = 20;
  t.seed = 2;
  const FittedModel teacher = MakeLtrTeacher(t);
  SimulateOptions s;
  s.steps = 20;
  s.observation_noise = 0.05;
  const Recording r = SimulateRecording(teacher, s);
  FitOptions o;
  o.rank = 2;
  o.units = 8;
  o.readout = ReadoutKind::kOrthonormal;
  o.max_iterations = 150;
  const FitSummary fit = FitRnn(o, r);
  INFO(fit.BriefReport());
  const Eigen::MatrixXd& c = fit.model.parameters.readout;
  CHECK((c.transpose() * c - Eigen::MatrixXd::Identity(8, 8)).norm() < 1e-10);
  CHECK(fit.objective < 0.5 * fit.initial_loss);
  // Fewer neurons than units: orthonormal rows.
  o.units = 18;
  o.max_iterations = 20;
  const FitSummary wide = FitRnn(o, r);
  const Eigen::MatrixXd& cw = wide.model.parameters.readout;
  CHECK((cw * cw.transpose() - Eigen::MatrixXd::Identity(14, 14)).norm() <
        1e-10);
}

TEST_CASE(
    "one Adam step moves every parameter by the rate against its "
    "gradient's sign",
    "[fit]") {
  // After one step the bias-corrected moments are g and g^2, so the step is
  // -rate g / (|g| + epsilon): a check of the update against the exact
  // gradient of the same objective (full W: factors are not renormalised).
  LtrTeacherOptions t;
  t.units = 6;
  t.neurons = 9;
  t.trials = 5;
  t.seed = 4;
  SimulateOptions s;
  s.steps = 12;
  s.observation_noise = 0.05;
  const Recording r = SimulateRecording(MakeLtrTeacher(t), s);
  FitOptions o;
  o.kind = WeightKind::kFull;
  o.units = 6;
  o.hold_out.scheme = HoldOut::kNone;
  o.max_iterations = 0;
  const RnnParameters start = FitRnn(o, r).model.parameters;
  o.initial_parameters = start;
  o.optimizer = FitOptimizer::kAdam;
  o.learning_rate = 0.01;
  o.max_iterations = 1;
  const FitSummary fit = FitRnn(o, r);
  CHECK(fit.optimizer == "adam");
  CHECK(fit.iterations == 1);

  std::vector<RnnTrial> trials(r.trials());
  for (Index k = 0; k < r.trials(); ++k) {
    trials[k].trial = k;
    trials[k].condition = r.condition[k];
    trials[k].targets = r.activity.Slice(k);
  }
  RnnBlocks blocks;
  blocks.bias = blocks.x0 = blocks.readout = blocks.offset = true;
  RnnParameters g = ZeroGradient(start, blocks);
  EvaluateLoss(start, trials, RnnLossOptions(), blocks, &g);
  auto expected = [&](const Eigen::MatrixXd& p0, const Eigen::MatrixXd& grad) {
    return Eigen::MatrixXd(p0.array() -
                           o.learning_rate * grad.array() /
                               (grad.array().abs() + o.adam_epsilon));
  };
  const RnnParameters& p1 = fit.model.parameters;
  CHECK((p1.w - expected(start.w, g.w)).norm() < 1e-12);
  CHECK((p1.readout - expected(start.readout, g.readout)).norm() < 1e-12);
  CHECK((p1.x0 - expected(start.x0, g.x0)).norm() < 1e-12);
  CHECK((p1.bias - expected(start.bias, g.bias)).norm() < 1e-12);
  CHECK((p1.offset - expected(start.offset, g.offset)).norm() < 1e-12);
  // Every entry moved (no gradient entry is exactly zero here).
  CHECK((p1.w - start.w).cwiseAbs().minCoeff() > 0.99 * o.learning_rate);
}

TEST_CASE("Adam fits the rank-3 teacher and keeps a readout orthonormal",
          "[fit]") {
  const TeacherData d = MakeTeacherData(12, 40, 25, 0.05, 3);
  FitOptions o = StudentOptions(3);
  o.optimizer = FitOptimizer::kAdam;
  // From a random start, so that the recovery is Adam's work (measured:
  // held-out R2 0.969, factor match 0.988; 0.86 and 0.81 at rate 1e-2).
  o.initialization = FitInitialization::kRandom;
  o.learning_rate = 3e-2;
  o.learning_rate_decay = 0.01;
  o.max_iterations = 6000;
  const FitSummary fit = FitRnn(o, d.recording);
  INFO(fit.BriefReport());
  CHECK(fit.termination == "no_convergence");  // Adam has no stopping test
  CHECK(fit.test_metrics.r2 >= 0.95);
  const Alignment al = Align(WeightKtensor(d.teacher.parameters),
                             WeightKtensor(fit.model.parameters));
  INFO("component scores " << al.component_scores.transpose());
  CHECK(al.score >= 0.9);

  // On the Stiefel manifold: the step follows the Riemannian gradient and is
  // retracted, so the readout stays orthonormal.
  o.readout = ReadoutKind::kOrthonormal;
  o.units = 10;
  o.max_iterations = 200;
  const FitSummary ortho = FitRnn(o, d.recording);
  const Eigen::MatrixXd& c = ortho.model.parameters.readout;
  CHECK((c.transpose() * c - Eigen::MatrixXd::Identity(10, 10)).norm() < 1e-10);
  CHECK(ortho.objective < 0.5 * ortho.initial_loss);
}

TEST_CASE("every model kind, loss and smoothing option fits without trouble",
          "[fit]") {
  const TeacherData d = MakeTeacherData(8, 24, 15, 0.05, 9);
  Recording r = d.recording;
  r.epoch.assign(r.trials(), 0);
  for (Index k = 12; k < r.trials(); ++k) r.epoch[k] = 1;
  r.inputs = Tensor3(r.trials(), r.steps(), 2, 0.5);
  struct Case {
    WeightKind kind;
    TrialSmoothing smoothing;
    double base_gain;
  };
  for (const Case& c :
       {Case{WeightKind::kFull, TrialSmoothing::kNone, 0.0},
        Case{WeightKind::kLowRank, TrialSmoothing::kNone, 0.8},
        Case{WeightKind::kLowTensorRank, TrialSmoothing::kGaussianProcess, 0.0},
        Case{WeightKind::kLowTensorRank,
             TrialSmoothing::kSecondDifference,
             0.5}}) {
    FitOptions o;
    o.kind = c.kind;
    o.rank = 2;
    o.smoothing.kind = c.smoothing;
    o.smoothing.weight = 0.01;
    o.base_gain = c.base_gain;
    o.condition_inputs = true;
    o.loss.l2_w = 1e-4;
    o.max_iterations = 40;
    const FitSummary fit = FitRnn(o, r);
    INFO(WeightKindName(c.kind) << ": " << fit.BriefReport());
    CHECK_FALSE(fit.diverged);
    CHECK(fit.objective < fit.initial_loss);
    CHECK(fit.model.parameters.num_inputs() == 2);
    CHECK(fit.model.parameters.h.cols() == 8);  // one per condition
    CHECK((c.base_gain > 0) == (fit.model.parameters.w0.size() > 0));
  }
  // Poisson loss on counts reports bits per spike.
  FittedModel counts_model = MakeTeacherData(8, 60, 30, 0.0, 9).teacher;
  counts_model.loss = RnnLoss::kPoisson;
  SimulateOptions s;
  s.steps = 30;
  const Recording counts = SimulateRecording(counts_model, s);
  FitOptions o = StudentOptions(3);
  o.loss.loss = RnnLoss::kPoisson;
  o.max_iterations = 300;
  const FitSummary fit = FitRnn(o, counts);
  INFO(fit.BriefReport());
  CHECK(std::isfinite(fit.test_metrics.bits_per_spike));
  CHECK(fit.test_metrics.bits_per_spike > 0);
}

TEST_CASE("early stopping returns the iterate with the best held-out loss",
          "[fit]") {
  const TeacherData d = MakeTeacherData(10, 30, 20, 0.3, 4);
  FitOptions o = StudentOptions(6);  // over-parameterised, noisy
  o.patience = 5;
  o.max_iterations = 400;
  const FitSummary fit = FitRnn(o, d.recording);
  INFO(fit.BriefReport());
  double best = std::numeric_limits<double>::infinity();
  int best_iteration = -1;
  for (const FitIteration& it : fit.history)
    if (it.test_loss < best) {
      best = it.test_loss;
      best_iteration = it.iteration;
    }
  CHECK(fit.best_iteration == best_iteration);
  CHECK(fit.test_loss == Approx(best).epsilon(1e-9));
  if (fit.termination == "early_stopped")
    CHECK(fit.iterations == best_iteration + o.patience);
}

TEST_CASE("checkpoints hold a readable model while the fit runs", "[fit]") {
  test::ScratchDir dir;
  const TeacherData d = MakeTeacherData(8, 16, 12, 0.05, 2);
  FitOptions o = StudentOptions(2);
  o.max_iterations = 12;
  o.function_tolerance = o.gradient_tolerance = o.parameter_tolerance = 0;
  o.checkpoint_every = 5;
  o.checkpoint_path = dir / "checkpoint.h5";
  const FitSummary fit = FitRnn(o, d.recording);
  REQUIRE(fs::exists(o.checkpoint_path));
  const FittedModel m = ReadModel(o.checkpoint_path);
  CHECK(m.parameters.rank() == 2);
  CHECK(io::ReadStringAttribute(o.checkpoint_path, "/fit", "termination") ==
        "running");
  CHECK(io::ReadDoubleAttribute(o.checkpoint_path, "/fit", "iterations") == 10);
  // Nothing but the checkpoint is left in the directory (no temp files).
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE(
    "a token cancelled from the progress callback stops a fit, whose "
    "checkpoint holds its options and resumes it",
    "[fit][run]") {
  test::ScratchDir dir;
  const TeacherData d = MakeTeacherData(8, 16, 12, 0.05, 2);
  FitOptions o = StudentOptions(2);
  o.max_iterations = 40;
  o.function_tolerance = o.gradient_tolerance = o.parameter_tolerance = 0;
  o.progress_every = 1;
  o.seed = 5;
  o.hold_out.seed = 12345678901234567ULL;  // beyond a double's integers
  o.checkpoint_path = dir / "fit.h5.partial";
  o.command = "ltr fit d.h5 --rank 2";
  o.source.file = "d.h5";
  o.source.activity = "/s1/activity";
  CancellationToken token;
  std::vector<std::string> lines;
  o.run.cancellation = &token;
  o.run.progress = [&](const std::string& line) {
    lines.push_back(line);
    if (line.rfind("iter      2 ", 0) == 0) token.Cancel(SIGINT);
  };
  const FitSummary stopped = FitRnn(o, d.recording);
  CHECK(stopped.termination == "interrupted");
  CHECK_THAT(stopped.message, Contains("signal 2 at iteration 3"));
  CHECK(stopped.iterations == 3);
  // The data-driven start's line, then one line per iteration 0..3.
  REQUIRE(lines.size() == 5);
  CHECK_THAT(lines[0], Contains("data-driven start: one-step R2"));
  CHECK_THAT(lines[1], Contains("iter      0  loss "));
  CHECK_THAT(lines[4], Contains("iter      3  loss "));

  // The checkpoint written at the cancellation: the library reads back the
  // options, the start and the progress.
  const FitOptions r = ReadFitCheckpointOptions(o.checkpoint_path);
  CHECK(r.kind == o.kind);
  CHECK(r.rank == 2);
  CHECK(r.readout == ReadoutKind::kIdentity);
  CHECK(r.smoothing.kind == TrialSmoothing::kSecondDifference);
  CHECK(r.smoothing.weight == o.smoothing.weight);
  CHECK(r.max_iterations == 40);
  CHECK(r.function_tolerance == 0);
  CHECK(r.progress_every == 1);
  CHECK(r.seed == 5);
  CHECK(r.hold_out.seed == o.hold_out.seed);
  CHECK(r.source.file == "d.h5");
  CHECK(r.source.activity == "/s1/activity");
  CHECK(r.command == o.command);
  REQUIRE(r.initial_parameters);
  CHECK(r.initial_parameters->a.isApprox(stopped.model.parameters.a));
  REQUIRE(r.resume);
  CHECK(r.resume->iterations == 3);
  CHECK(r.resume->history.size() == 4);
  CHECK(r.resume->initial_loss == stopped.initial_loss);
  CHECK(r.run.cancellation == nullptr);

  // Resumed, the fit runs the iterations left and reads as one fit.
  FitOptions again = r;
  again.progress_every = 0;
  again.checkpoint_path.clear();
  const FitSummary resumed = FitRnn(again, d.recording);
  CHECK(resumed.termination == "no_convergence");
  CHECK(resumed.iterations == 40);
  CHECK(resumed.history.size() == 41);
  CHECK(resumed.history[3].loss == stopped.history[3].loss);
  CHECK(resumed.initial_loss == stopped.initial_loss);
  CHECK(resumed.objective < stopped.objective);
  // A finished fit is no checkpoint.
  io::OutputFile out(dir / "done.h5", "test");
  WriteFit(resumed, &out);
  out.Commit();
  CHECK_THROWS_WITH(ReadFitCheckpointOptions(dir / "done.h5"),
                    Contains("has finished (no_convergence)"));
}

TEST_CASE("a checkpoint of a fit on a given split resumes on that split",
          "[fit][run]") {
  test::ScratchDir dir;
  LtrTeacherOptions t;
  t.units = 4;
  t.rank = 2;
  t.trials = 6;
  FitSummary s;
  s.model = MakeLtrTeacher(t);
  s.termination = "interrupted";
  s.iterations = 7;
  s.history.resize(8);
  Mask3 given(Dims{6, 5, 4}, 0);
  given(1, 2, 3) = given(4, 0, 0) = 1;
  FitOptions o;
  o.hold_out.scheme = HoldOut::kGiven;
  o.hold_out.test_mask = given;
  o.source.file = "data.h5";
  o.run.num_threads = 3;  // recorded: a resume gives the same bits
  s.masks = MakeHoldOutMasks(o.hold_out, given.dims());
  const std::string path = dir / "m.h5.partial";
  io::OutputFile out(path, "ltr fit data.h5 --test-mask x.h5:/m");
  WriteFitCheckpoint(s, o, &out);
  out.Commit();
  const FitOptions r = ReadFitCheckpointOptions(path);
  CHECK(r.hold_out.scheme == HoldOut::kGiven);
  REQUIRE(r.hold_out.test_mask);
  CHECK(r.hold_out.test_mask->values() == given.values());
  CHECK(r.resume->iterations == 7);
  CHECK(r.resume->history.size() == 8);
  CHECK(r.command == "ltr fit data.h5 --test-mask x.h5:/m");
  CHECK(r.source.file == "data.h5");
  CHECK(r.source.activity == "/activity");
  CHECK(r.run.num_threads == 3);
}

TEST_CASE("a rank sweep reports a line per fit and stops when cancelled",
          "[fit][run]") {
  const TeacherData d = MakeTeacherData(8, 16, 12, 0.05, 2);
  RankSweepOptions o;
  o.fit = StudentOptions(1);
  o.fit.max_iterations = 5;
  o.fit.progress_every = 100;  // iteration 0 only
  o.ranks = {1, 2, 3};
  std::vector<std::string> lines;
  CancellationToken token;
  o.fit.run.cancellation = &token;
  o.fit.run.progress = [&](const std::string& line) {
    lines.push_back(line);
    if (line.rfind("rank 2 seed 0: ", 0) == 0) token.Cancel();
  };
  const RankSweepSummary s = SweepRanks(o, d.recording);
  std::vector<std::string> fits;
  for (const std::string& line : lines)
    if (line.rfind("rank ", 0) == 0) fits.push_back(line);
  REQUIRE(fits.size() == 2);
  CHECK_THAT(fits[0], Contains("rank 1 seed 0: no_convergence, held-out loss"));
  // The fit that returned after the cancellation is dropped, and rank 3 is
  // never fitted: their entries stay NaN.
  CHECK(std::isfinite(s.test_loss(0, 0)));
  CHECK(std::isnan(s.test_loss(1, 0)));
  CHECK(std::isnan(s.test_loss(2, 0)));
}

// --- Trouble
// ------------------------------------------------------------------------

TEST_CASE("divergence is reported in the summary with finite parameters kept",
          "[fit]") {
  // A linear network with a strongly unstable base: the state grows like
  // 3^t, so the loss overflows to infinity.
  Recording r = SmallRecording(4, 700, 3);
  FitOptions o;
  o.kind = WeightKind::kFull;
  o.nonlinearity = Nonlinearity::kIdentity;
  o.base_gain = 40.0;
  // A random start keeps the unstable base (the data-driven one would
  // cancel it).
  o.initialization = FitInitialization::kRandom;
  o.init_x0_scale = 1.0;
  o.hold_out.scheme = HoldOut::kNone;
  o.max_iterations = 20;
  FitSummary fit;
  REQUIRE_NOTHROW(fit = FitRnn(o, r));
  CHECK(fit.diverged);
  CHECK(fit.termination == "diverged");
  CHECK_THAT(fit.message, Contains("finite"));
  CHECK(fit.model.parameters.w.allFinite());
  CHECK(fit.model.parameters.x0.allFinite());
  // Adam ends through the same reporting.
  o.optimizer = FitOptimizer::kAdam;
  REQUIRE_NOTHROW(fit = FitRnn(o, r));
  CHECK(fit.termination == "diverged");
  CHECK(fit.model.parameters.w.allFinite());
}

TEST_CASE("bad input to a fit is refused with a clear message", "[fit]") {
  Recording r = SmallRecording(6, 10, 4);
  FitOptions o;
  o.rank = 2;
  o.max_iterations = 2;
  SECTION("NaN in observed activity") {
    r.activity(2, 3, 1) = std::nan("");
    CHECK_THROWS_WITH(
        FitRnn(o, r),
        Contains("non-finite") && Contains("trial 2") && Contains("neuron 1"));
    // ... but not where the mask says unobserved.
    r.mask = Mask3(r.activity.dims(), 1);
    (*r.mask)(2, 3, 1) = 0;
    CHECK_NOTHROW(FitRnn(o, r));
  }
  SECTION("inputs of another shape than the activity") {
    r.inputs = Tensor3(6, 9, 2);
    CHECK_THROWS_WITH(FitRnn(o, r), Contains("/inputs"));
  }
  SECTION("a condition label out of range") {
    r.condition = {0, 1, 0, 3, 1, 0};
    o.conditions = 2;
    CHECK_THROWS_WITH(FitRnn(o, r), Contains("condition label 3"));
  }
  SECTION("a rank larger than the units") {
    o.rank = 5;
    CHECK_THROWS_WITH(FitRnn(o, r), Contains("rank 5"));
    o.units = 3;
    std::string error;
    CHECK_FALSE(o.IsValid(&error));
  }
  SECTION("an identity readout with units != neurons") {
    o.readout = ReadoutKind::kIdentity;
    o.units = 6;
    CHECK_THROWS_WITH(FitRnn(o, r), Contains("identity readout"));
  }
}

// --- The commands
// -------------------------------------------------------------------

TEST_CASE("fit, simulate and synth round trip to the documented layout",
          "[fit]") {
  test::ScratchDir dir;
  const std::string data = dir / "teacher.h5", model = dir / "model.h5",
                    sim = dir / "sim.h5", sweep = dir / "sweep.h5";
  auto synth = test::RunLtr(
      "synth --kind ltr-teacher --units 8 --rank 2 "
      "--trials 16 --steps 12 --seed 3 -o " +
      data);
  INFO(synth.err);
  REQUIRE(synth.exit_code == 0);
  auto fit = test::RunLtr("fit " + data +
                          " --model ltr --rank 2 --readout identity "
                          "--max-iters 60 --threads 1 --progress 20 "
                          "--checkpoint-every 25 -o " +
                          model);
  INFO(fit.err);
  REQUIRE(fit.exit_code == 0);
  CHECK_THAT(fit.out, Contains("held-out"));
  CHECK_THAT(fit.err, Contains("iter"));
  auto simulate = test::RunLtr("simulate " + model + " --steps 9 -o " + sim);
  INFO(simulate.err);
  REQUIRE(simulate.exit_code == 0);
  CHECK(io::DatasetShape(sim, "/activity") == std::vector<Index>{16, 9, 8});
  auto rs = test::RunLtr("fit " + data +
                         " --ranks 1:2 --readout identity --max-iters 30 "
                         "--threads 1 -o " +
                         sweep);
  INFO(rs.err);
  REQUIRE(rs.exit_code == 0);
  CHECK_THAT(rs.out, Contains("chosen"));
  for (const char* cmd : {"fit", "simulate"}) {
    auto help = test::RunLtr(std::string(cmd) + " --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Contains("usage: ltr " + std::string(cmd)));
  }
  if (!test::HavePythonH5py()) return;
  bool ok = false;
  const std::string out = test::RunPython(
      "import h5py\n"
      "m = h5py.File('" +
          model +
          "')\n"
          "g = m['model']\n"
          "print(g.attrs['kind'], g.attrs['rank'], g.attrs['units'],"
          " g.attrs['nonlinearity'], g.attrs['loss'])\n"
          "print(g['a'].shape, g['b'].shape, g['c'].shape, g['readout'].shape,"
          " g['x0'].shape, g['bias'].shape, g['offset'].shape)\n"
          "f = m['fit'].attrs\n"
          "print(sorted(k for k in ['train_loss', 'test_loss', 'test_nmse',"
          " 'test_r2', 'test_r2_median', 'iterations', 'termination', "
          "'seconds']"
          " if k in f))\n"
          "print(m.attrs['command'][:7])\n"
          "s = h5py.File('" +
          sweep +
          "')\n"
          "print(s['cv/ranks'][()].tolist(), s['cv/test_loss'].shape,"
          " s['cv'].attrs['chosen_rank'] in (1, 2))\n"
          "r = h5py.File('" +
          sim +
          "')\n"
          "print(r['activity'].shape, r['activity'].attrs['axes'])\n",
      &ok);
  REQUIRE(ok);
  CHECK_THAT(out, Contains("ltr 2 8 tanh mse"));
  CHECK_THAT(out, Contains("(8, 2) (8, 2) (16, 2) (8, 8) (4, 8) (8,) (8,)"));
  CHECK_THAT(out,
             Contains("['iterations', 'seconds', 'termination', 'test_loss', "
                      "'test_nmse', 'test_r2', 'test_r2_median', "
                      "'train_loss']"));
  CHECK_THAT(out, Contains("ltr fit"));
  CHECK_THAT(out, Contains("[1, 2] (2, 1) True"));
  CHECK_THAT(out, Contains("(16, 9, 8) trial,time,neuron"));
}

TEST_CASE("fit and simulate refuse bad input with one line and no output",
          "[fit]") {
  test::ScratchDir dir;
  const std::string out = dir / "out.h5";
  Recording good = SmallRecording(6, 10, 4);
  Recording nan = good;
  nan.activity(1, 2, 3) = std::nan("");
  WriteBadRecording(dir / "nan.h5", nan);
  WriteBadRecording(dir / "good.h5", good);
  Recording labels = good;
  labels.condition = {0, 0, 1, 1, 5, 0};
  WriteBadRecording(dir / "labels.h5", labels);
  {
    // Inputs with fewer time bins than the activity, written directly.
    io::OutputFile f(dir / "inputs.h5", "test");
    f.WriteTensor3("/activity", good.activity, "trial,time,neuron");
    f.WriteTensor3("/inputs", Tensor3(6, 8, 2), "trial,time,input");
    f.Commit();
  }
  const std::string fit = "fit --max-iters 2 --threads 1 ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {fit + dir / "nan.h5" + " --rank 2 -o " + out, "non-finite"},
      {fit + dir / "inputs.h5" + " --rank 2 -o " + out, "/inputs"},
      {fit + dir / "labels.h5" + " --rank 2 --conditions 2 -o " + out,
       "condition label 5"},
      {fit + dir / "good.h5" + " --rank 7 --units 4 -o " + out, "rank 7"},
      {fit + dir / "good.h5" + " --model ltr -o " + out, "--rank"},
      {fit + dir / "good.h5" + " --rank 2 --loss huber -o " + out, "huber"},
      {fit + dir / "good.h5" + " --rank 2 --optimizer newton -o " + out,
       "newton"},
      {fit + dir / "good.h5" +
           " --rank 2 --optimizer adam --learning-rate -1 -o " + out,
       "learning_rate"},
      {fit + dir / "absent.h5" + " --rank 2 -o " + out, "absent.h5"},
      {"simulate " + dir / "good.h5" + " --steps 3 -o " + out, "/model"},
      {"simulate " + dir / "absent.h5" + " -o " + out, "absent.h5"},
  };
  for (const auto& [args, message] : cases) {
    const test::RunResult r = test::RunLtr(args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code != 0);
    CHECK(test::CountLines(r.err) == 1);
    CHECK_THAT(r.err, Contains(message));
    CHECK_FALSE(fs::exists(out));
  }
}
