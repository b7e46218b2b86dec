// Rank bounds on learning (bounds.h).
#include "ltr/theory/bounds.h"

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/formats/io.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/train/tasks.h"
#include "optim/first_order.h"

namespace ltr {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

Matrix Snapshot(const Tensor3& weights, Index k) {
  return weights.Slice(k).transpose();  // Slice(k)(j, i) = W_k[i, j]
}

// Orthonormal basis of the column space of a at relative tolerance tol.
Matrix ColumnBasis(const Matrix& a, double tol) {
  if (a.cols() == 0 || !(a.norm() > 0)) return Matrix(a.rows(), 0);
  Eigen::JacobiSVD<Matrix> svd(a, Eigen::ComputeThinU);
  const int r = RankFromSingularValues(svd.singularValues(), tol);
  return svd.matrixU().leftCols(r);
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

BoundStatus Compare(double measured, double bound, bool lower_only) {
  if (std::isnan(measured)) return BoundStatus::kUnknown;
  if (measured > bound) return BoundStatus::kViolated;
  if (lower_only) return BoundStatus::kUnknown;
  return BoundStatus::kHolds;
}

}  // namespace

std::vector<std::string> BoundNames() {
  return {"prop1_rank",        // max_k rank W_k <= d
          "prop1_mode_rows",   // stack mode-1 rank <= d
          "prop1_mode_cols",   // stack mode-2 rank <= d
          "prop1_mode_steps",  // stack mode-0 rank <= min(K, d^2)
          "prop1_cp_rank",     // CP rank of the stack <= d^2
          "prop2_one_step",    // rank(W_1 - W_0) <= min(T N_in, T N_out, N)
          "general"};          // rank(W_K - W_0) <= min(N, K P T)
}

bool BoundsOptions::IsValid(std::string* error) const {
  if (!rank.IsValid(error)) return false;
  if (!(subspace_tolerance >= 0.0)) {
    if (error) *error = "subspace_tolerance must be >= 0";
    return false;
  }
  return !estimate_cp_rank || cp.IsValid(error);
}

std::string BoundsSummary::BriefReport() const {
  std::ostringstream out;
  // Only bounds whose hypotheses hold are claimed; the others are counted
  // apart, whatever their measured value.
  int held = 0, violated = 0, unknown = 0, unclaimed = 0;
  for (const BoundRow& r : rows) {
    if (!r.hypotheses_hold) {
      ++unclaimed;
      continue;
    }
    held += r.status == BoundStatus::kHolds;
    violated += r.status == BoundStatus::kViolated;
    unknown += r.status == BoundStatus::kUnknown;
  }
  out << case_name << ": N=" << units << " N_in=" << inputs
      << " N_out=" << outputs << " d=" << d << " K=" << optimizer_steps
      << "; hypotheses: linear " << (linear ? "yes" : "no") << ", W0 in S0 "
      << (w0_in_span ? "yes" : "no") << ", optimiser linear "
      << (optimizer_linear ? "yes" : "no") << ", x0 = bias = 0 "
      << (!zero_state_and_bias ? "no"
          : zero_state_and_bias_assumed
              ? "assumed (ltr train's network; not stored in the file)"
              : "yes")
      << "; claimed bounds: " << held << " met, " << violated << " exceeded";
  if (unknown > 0) out << ", " << unknown << " unknown";
  out << "; " << unclaimed << " not claimed (hypotheses fail)";
  return out.str();
}

namespace {

// The rows of one case, in BoundNames() order.
class BoundRows {
 public:
  BoundRows(const std::string& case_name, BoundsSummary* summary)
      : case_name_(case_name), summary_(summary) {}
  void Add(const std::string& bound,
           bool hold,
           const std::string& why,
           double value,
           double measured,
           bool lower_only = false) {
    BoundRow r;
    r.case_name = case_name_;
    r.bound = bound;
    r.hypotheses_hold = hold;
    r.why_not = why;
    r.bound_value = value;
    r.measured = measured;
    r.measured_is_lower_bound = lower_only;
    r.status = Compare(measured, value, lower_only);
    summary_->rows.push_back(r);
  }

 private:
  std::string case_name_;
  BoundsSummary* summary_;
};

void CheckShapes(const LearningRun& run) {
  const Tensor3& w = run.weights;
  const Index s = w.dim(0), n = w.dim(1);
  if (s < 2 || w.dim(2) != n)
    throw Error("weights must be (snapshots >= 2, N, N), got " +
                DimsToString(w.dims()));
  if (run.w_in.rows() != n || run.w_out.rows() != n)
    throw Error("W_in and W_out must have N = " + std::to_string(n) + " rows");
  if (static_cast<Index>(run.steps.size()) != s)
    throw Error("one step number per snapshot expected");
}

// The sizes and the hypotheses of the propositions.
BoundsSummary Hypotheses(const BoundsOptions& options, const LearningRun& run) {
  const Tensor3& w = run.weights;
  const Index n = w.dim(1);
  BoundsSummary sum;
  sum.case_name = run.name;
  sum.units = n;
  sum.inputs = run.w_in.cols();
  sum.outputs = run.w_out.cols();
  sum.snapshots = w.dim(0);
  sum.optimizer_steps = run.steps.back() - run.steps.front();
  Matrix io(n, sum.inputs + sum.outputs);
  io << run.w_in, run.w_out;
  const Matrix q = ColumnBasis(io, options.rank.tolerance);
  sum.d = static_cast<int>(q.cols());
  const Matrix w0 = Snapshot(w, 0);
  const double w0_norm = w0.norm();
  if (w0_norm > 0) {
    const Matrix projected = q * (q.transpose() * w0 * q) * q.transpose();
    sum.w0_outside_fraction = (w0 - projected).norm() / w0_norm;
  }
  sum.linear = run.nonlinearity == Nonlinearity::kIdentity;
  sum.w0_in_span = sum.w0_outside_fraction <= options.subspace_tolerance;
  sum.optimizer_linear = run.optimizer != Optimizer::kAdam;
  sum.zero_state_and_bias = run.zero_state_and_bias;
  sum.zero_state_and_bias_assumed = run.zero_state_and_bias_assumed;
  return sum;
}

// Prop 1: the rank of every W_k, the multilinear and CP ranks of the stack.
void Prop1Rows(const BoundsOptions& options,
               const LearningRun& run,
               const BoundsSummary& sum,
               BoundRows* rows) {
  const Tensor3& w = run.weights;
  const Index s = w.dim(0), n = w.dim(1);
  std::vector<std::string> fail;
  if (!sum.linear) fail.push_back("nonlinear");
  if (!sum.w0_in_span) fail.push_back("W0 outside S0");
  if (!sum.optimizer_linear) fail.push_back("optimiser not linear");
  if (!run.zero_state_and_bias) fail.push_back("x0/bias");
  const bool h1 = fail.empty();
  const std::string why1 = Join(fail, ", ");
  int max_rank = 0;
  for (Index k = 0; k < s; ++k)
    max_rank = std::max(max_rank,
                        NumericalRank(Snapshot(w, k), options.rank.tolerance));
  rows->Add("prop1_rank", h1, why1, sum.d, max_rank);

  // The stack [W_1 ... W_K] as a (K, N, N) tensor.
  Tensor3 stack(s - 1, n, n);
  std::copy(w.data() + n * n, w.data() + w.size(), stack.data());
  RankOptions rank = options.rank;
  rank.run = options.run;
  const MultilinearRankSummary ml = MultilinearRank(rank, stack);
  const double d = sum.d;
  rows->Add("prop1_mode_rows", h1, why1, d, ml.ranks[1]);
  rows->Add("prop1_mode_cols", h1, why1, d, ml.ranks[2]);
  rows->Add("prop1_mode_steps",
            h1,
            why1,
            std::min<double>(static_cast<double>(s - 1), d * d),
            ml.ranks[0]);
  if (!options.estimate_cp_rank || options.run.cancelled()) {
    rows->Add("prop1_cp_rank", h1, why1, d * d, kNaN);
    return;
  }
  CpRankOptions cp = options.cp;
  cp.rank_tolerance = std::max(cp.rank_tolerance, ml.tolerance);
  cp.run = options.run;
  const CpRankSummary est = EstimateCpRank(cp, stack);
  if (est.rank >= 0)
    rows->Add("prop1_cp_rank", h1, why1, d * d, est.rank);
  else
    rows->Add("prop1_cp_rank",
              h1,
              why1,
              d * d,
              est.ranks_tried.empty()
                  ? est.lower_bound
                  : std::max(est.lower_bound, est.ranks_tried.back() + 1),
              true);
}

// Prop 2 on the first update and the general bound on the final one.
void UpdateRows(const BoundsOptions& options,
                const LearningRun& run,
                const BoundsSummary& sum,
                BoundRows* rows) {
  const double tol = options.rank.tolerance;
  const Matrix w0 = Snapshot(run.weights, 0);
  const auto update_rank = [&](Index k) {
    return NumericalRank(Snapshot(run.weights, k) - w0, tol);
  };
  const double n = static_cast<double>(sum.units);
  std::vector<std::string> fail2;
  if (!sum.linear) fail2.push_back("nonlinear");
  if (!sum.optimizer_linear) fail2.push_back("optimiser not linear");
  if (!run.zero_state_and_bias) fail2.push_back("x0/bias");
  const bool first_step = run.steps[1] - run.steps[0] == 1;
  if (!first_step) fail2.push_back("snapshot 1 is not step 1");
  const double t = static_cast<double>(run.horizon);
  const double bound2 = std::min({t * static_cast<double>(sum.inputs),
                                  t * static_cast<double>(sum.outputs),
                                  n});
  rows->Add("prop2_one_step",
            fail2.empty(),
            Join(fail2, ", "),
            bound2,
            first_step ? update_rank(1) : kNaN);

  std::vector<std::string> fail3;
  if (!sum.optimizer_linear) fail3.push_back("optimiser not linear");
  const double kpt = static_cast<double>(sum.optimizer_steps) *
                     static_cast<double>(run.batch) * t;
  rows->Add("general",
            fail3.empty(),
            Join(fail3, ", "),
            std::min(n, kpt),
            update_rank(sum.snapshots - 1));
}

}  // namespace

BoundsSummary EvaluateBounds(const BoundsOptions& options,
                             const LearningRun& run) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const auto start = std::chrono::steady_clock::now();
  CheckShapes(run);
  BoundsSummary sum = Hypotheses(options, run);
  sum.threads = options.run.num_threads;
  BoundRows rows(run.name, &sum);
  Prop1Rows(options, run, sum, &rows);
  UpdateRows(options, run, sum, &rows);
  sum.cancelled = options.run.cancelled();
  sum.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return sum;
}

// formats: switch to ReadTrajectory / ReadTrainOptions
// (formats/trajectory_file.h).
LearningRun ReadLearningRun(const std::string& path) {
  const Trajectory t = ReadTrainTrajectory(path);
  return ToLearningRun(t, t.ReadWeights(), path);
}

LearningRun ToLearningRun(const Trajectory& t,
                          Tensor3 weights,
                          const std::string& name) {
  if (!t.config || t.w_in.size() == 0 || t.w_out.size() == 0 ||
      static_cast<Index>(t.steps.size()) != weights.dim(0))
    throw Error("bounds: '" + name +
                "' lacks the /config, W_in, W_out or steps of a trajectory "
                "written by ltr train");
  const TrainOptions& config = *t.config;
  LearningRun run;
  run.name = name;
  run.nonlinearity = config.nonlinearity;
  run.optimizer = config.optimizer;
  run.weights = std::move(weights);
  run.steps = t.steps;
  run.w_in = t.w_in.Slice(0).transpose();
  run.w_out = t.w_out.Slice(0).transpose();
  run.horizon = GetTaskShape(config.task).steps;
  run.batch = config.batch;
  // A trajectory holds no x0 or bias: ltr train's network has both 0.
  run.zero_state_and_bias_assumed = true;
  if (t.adaptation) {
    // Trial-by-trial learning: plain SGD on one trial per step.
    run.optimizer = Optimizer::kSgd;
    run.batch = 1;
  }
  return run;
}

std::vector<std::string> BoundsTableColumns() {
  return {"case",
          "bound",
          "hypotheses_hold",
          "bound_value",
          "measured",
          "measured_is_lower_bound",
          "status",
          "N",
          "N_in",
          "N_out",
          "d",
          "K",
          "linear",
          "w0_in_span",
          "optimizer_linear"};
}

Matrix BoundsTable(const std::vector<BoundsSummary>& cases) {
  const auto names = BoundNames();
  Index rows = 0;
  for (const auto& c : cases) rows += static_cast<Index>(c.rows.size());
  Matrix t(rows, static_cast<Index>(BoundsTableColumns().size()));
  Index i = 0;
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const BoundsSummary& c = cases[ci];
    for (const BoundRow& r : c.rows) {
      const double bound_index = static_cast<double>(
          std::find(names.begin(), names.end(), r.bound) - names.begin());
      const double status = r.status == BoundStatus::kHolds      ? 1.0
                            : r.status == BoundStatus::kViolated ? 0.0
                                                                 : -1.0;
      t.row(i++) << static_cast<double>(ci), bound_index,
          r.hypotheses_hold ? 1.0 : 0.0, r.bound_value, r.measured,
          r.measured_is_lower_bound ? 1.0 : 0.0, status,
          static_cast<double>(c.units), static_cast<double>(c.inputs),
          static_cast<double>(c.outputs), static_cast<double>(c.d),
          static_cast<double>(c.optimizer_steps), c.linear ? 1.0 : 0.0,
          c.w0_in_span ? 1.0 : 0.0, c.optimizer_linear ? 1.0 : 0.0;
    }
  }
  return t;
}

std::string FormatBounds(const std::vector<BoundsSummary>& cases) {
  std::ostringstream out;
  for (const BoundsSummary& c : cases) {
    out << c.BriefReport() << "\n";
    out << "  " << std::left << std::setw(18) << "bound" << std::setw(12)
        << "hypotheses" << std::right << std::setw(8) << "bound"
        << std::setw(10) << "measured"
        << "  " << std::left << "result\n";
    for (const BoundRow& r : c.rows) {
      std::ostringstream measured;
      if (std::isnan(r.measured))
        measured << "n/a";
      else
        measured << (r.measured_is_lower_bound ? ">=" : "") << r.measured;
      std::string result;
      if (r.hypotheses_hold)
        result = r.status == BoundStatus::kHolds      ? "met"
                 : r.status == BoundStatus::kViolated ? "EXCEEDED"
                                                      : "unknown";
      else  // not a claim: say where the value lies, not "exceeded"
        result = (r.status == BoundStatus::kHolds      ? "within"
                  : r.status == BoundStatus::kViolated ? "above"
                                                       : "unknown") +
                 std::string(" (not claimed; hypotheses fail: ") + r.why_not +
                 ")";
      out << "  " << std::left << std::setw(18) << r.bound << std::setw(12)
          << (r.hypotheses_hold ? "hold" : "FAIL") << std::right << std::setw(8)
          << r.bound_value << std::setw(10) << measured.str() << "  "
          << std::left << result << "\n";
    }
  }
  return out.str();
}

std::string FormatBoundsCompact(const std::vector<BoundsSummary>& cases) {
  std::ostringstream out;
  const std::vector<std::string> names = BoundNames();
  const char* heads[] = {"rank W_k",
                         "mode rows",
                         "mode cols",
                         "mode steps",
                         "CP rank",
                         "prop2",
                         "general"};
  out << "hypotheses: L linear, S W0 in span[W_in, W_out], O optimiser "
         "linear in gradients ('-' = fails)\n"
         "cells: measured/bound; [..] hypotheses of that bound fail (not "
         "claimed); ! measured above the bound\n";
  out << std::left << std::setw(30) << "case" << std::setw(5) << "hyp"
      << std::setw(4) << "d";
  for (const char* h : heads) out << std::setw(12) << h;
  out << "\n";
  for (const BoundsSummary& c : cases) {
    std::string hyp = std::string(c.linear ? "L" : "-") +
                      (c.w0_in_span ? "S" : "-") +
                      (c.optimizer_linear ? "O" : "-");
    out << std::left << std::setw(30) << c.case_name << std::setw(5) << hyp
        << std::setw(4) << c.d;
    for (const std::string& name : names) {
      std::string cell = "-";
      for (const BoundRow& r : c.rows) {
        if (r.bound != name) continue;
        std::ostringstream m;
        if (std::isnan(r.measured))
          m << "n/a";
        else
          m << (r.measured_is_lower_bound ? ">=" : "") << r.measured;
        m << "/" << r.bound_value;
        if (r.status == BoundStatus::kViolated) m << "!";
        cell = r.hypotheses_hold ? m.str() : "[" + m.str() + "]";
      }
      out << std::setw(12) << cell;
    }
    out << "\n";
  }
  return out.str();
}

bool BoundsSweepOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (dims.empty()) return fail("no (N_in, N_out) cases");
  for (const auto& d : dims)
    if (d.first < 1 || d.second < 1) return fail("N_in, N_out must be >= 1");
  if (optimizers.empty() || random_w0.empty() || nonlinearities.empty())
    return fail("every sweep axis needs at least one value");
  if (units < 2) return fail("units must be >= 2");
  if (horizon < 2) return fail("horizon must be >= 2");
  if (batch < 1) return fail("batch must be >= 1");
  if (steps < 1) return fail("steps must be >= 1");
  if (!(alpha > 0 && alpha <= 1)) return fail("alpha must be in (0, 1]");
  if (!(sgd_learning_rate > 0) || !(adam_learning_rate > 0))
    return fail("learning rates must be > 0");
  if (run.num_threads < 1) return fail("num_threads must be >= 1");
  return bounds.IsValid(error);
}

LearningRun TrainSweepCase(const BoundsSweepOptions& o,
                           int inputs,
                           int outputs,
                           Optimizer optimizer,
                           bool random_w0,
                           Nonlinearity nonlinearity,
                           std::uint64_t seed) {
  Rng rng(seed);
  RnnShape shape;
  shape.kind = WeightKind::kFull;
  shape.nonlinearity = nonlinearity;
  shape.alpha = o.alpha;
  shape.units = o.units;
  shape.inputs = inputs;
  shape.outputs = outputs;
  shape.base_weights = true;
  RnnParameters p = ZeroRnnParameters(shape);
  const double n = static_cast<double>(o.units);
  const Matrix j = rng.NormalMatrix(o.units, o.units) / std::sqrt(n);
  if (random_w0) p.w0 = o.g * j;
  p.w_in = rng.NormalMatrix(o.units, inputs);
  for (Index c = 0; c < p.w_in.cols(); ++c)
    p.w_in.col(c) *= std::sqrt(n) / p.w_in.col(c).norm();
  Matrix w_out = rng.NormalMatrix(o.units, outputs);
  for (Index c = 0; c < w_out.cols(); ++c)
    w_out.col(c) /= std::sqrt(n) * w_out.col(c).norm();
  p.readout = w_out.transpose();

  std::vector<RnnTrial> trials(o.batch);
  for (RnnTrial& t : trials) {
    t.inputs = rng.NormalMatrix(inputs, o.horizon);
    t.targets = 0.5 * rng.NormalMatrix(outputs, o.horizon);
  }
  RnnBlocks blocks;
  blocks.w = true;
  blocks.c = false;
  blocks.w_in = true;
  blocks.readout = true;
  RnnLossOptions loss;
  loss.num_threads = o.run.num_threads;
  RnnObjective objective(p, blocks, loss, &trials);

  LearningRun run;
  run.nonlinearity = nonlinearity;
  run.optimizer = optimizer;
  run.w_in = p.w_in;
  run.w_out = w_out;
  run.horizon = o.horizon;
  run.batch = o.batch;
  run.weights = Tensor3(o.steps + 1, o.units, o.units);
  auto record = [&](const Eigen::VectorXd& x, int k) {
    const Matrix w = objective.Parameters(x.data()).RecurrentWeights();
    // weights(k, i, j) = W[i, j]: Slice(k) is W^T.
    run.weights.Slice(k) = w.transpose();
    run.steps.push_back(k);
  };
  Eigen::VectorXd x = objective.InitialPoint();
  Eigen::VectorXd grad(x.size());
  Eigen::VectorXd m1 = Eigen::VectorXd::Zero(x.size());
  Eigen::VectorXd m2 = Eigen::VectorXd::Zero(x.size());
  internal::FirstOrderSettings settings;
  settings.optimizer = optimizer;
  record(x, 0);
  for (int k = 1; k <= o.steps; ++k) {
    double cost = 0;
    objective.Evaluate(x.data(), &cost, grad.data());
    // Adam at its rate, SGD and momentum (0.9) at theirs.
    const double rate = optimizer == Optimizer::kAdam ? o.adam_learning_rate
                                                      : o.sgd_learning_rate;
    internal::FirstOrderUpdate(settings, rate, grad, k - 1, &m1, &m2, &x);
    record(x, k);
  }
  return run;
}

std::vector<BoundsSummary> RunBoundsSweep(const BoundsSweepOptions& o) {
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  std::vector<BoundsSummary> out;
  BoundsOptions bounds = o.bounds;
  bounds.run = o.run;
  Rng rng(o.seed);
  for (const auto& d : o.dims)
    for (Nonlinearity f : o.nonlinearities)
      for (bool random : o.random_w0)
        for (Optimizer opt : o.optimizers) {
          if (o.run.cancelled()) {
            if (!out.empty()) out.back().cancelled = true;
            return out;
          }
          LearningRun run = TrainSweepCase(
              o, d.first, d.second, opt, random, f, rng.NextSeed());
          std::ostringstream name;
          name << "(" << d.first << "," << d.second << ") "
               << NonlinearityName(f) << " W0=" << (random ? "gJ" : "0") << " "
               << OptimizerName(opt);
          run.name = name.str();
          out.push_back(EvaluateBounds(bounds, run));
        }
  return out;
}

}  // namespace ltr
