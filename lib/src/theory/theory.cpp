// Linear theory of the input-driven fixed point (theory.h).
#include "ltr/theory/theory.h"

#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "core/parallel.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/train/train.h"

namespace ltr {
namespace {

// Leading singular triplets and the eigenvalue of largest real part of a
// matrix of low effective rank, by subspace iteration on k vectors.
struct LowRankSpectrum {
  Vector singular_values;  // k, descending
  Matrix left;             // N x k
  Matrix right;            // N x k
  double top_eigenvalue = 0.0;
};

Matrix Orthonormalize(const Matrix& a) {
  Eigen::HouseholderQR<Matrix> qr(a);
  return qr.householderQ() * Matrix::Identity(a.rows(), a.cols());
}

LowRankSpectrum TopSpectrum(const Matrix& a, int k, std::uint64_t seed) {
  Rng rng(seed);
  const Index n = a.rows();
  k = static_cast<int>(std::min<Index>(k, n));
  Matrix q = Orthonormalize(a * rng.NormalMatrix(n, k));
  for (int it = 0; it < 12; ++it) q = Orthonormalize(a * (a.transpose() * q));
  const Matrix small = q.transpose() * a;  // k x N
  Eigen::JacobiSVD<Matrix> svd(small,
                               Eigen::ComputeThinU | Eigen::ComputeThinV);
  LowRankSpectrum s;
  s.singular_values = svd.singularValues();
  s.left = q * svd.matrixU();
  s.right = svd.matrixV();
  // Nonzero eigenvalues of U S V^T are those of S V^T U (k x k).
  const Matrix core =
      s.singular_values.asDiagonal() * (s.right.transpose() * s.left);
  Eigen::EigenSolver<Matrix> eig(core, false);
  double best = -std::numeric_limits<double>::infinity();
  for (Index i = 0; i < eig.eigenvalues().size(); ++i)
    best = std::max(best, eig.eigenvalues()[i].real());
  s.top_eigenvalue = best;
  return s;
}

// The largest eigenvalue of dW at early tau is this times
// z_hat^2 beta^3 tau^2: dW ~ [[a, b], [c, a]] with a = z_hat^2 tau^2 / 2,
// b = z_hat tau, c = z_hat^3 tau^3 / 3 (docs/theory.md §1), so
// lambda = a + sqrt(b c) = (1/2 + 1/sqrt(3)) z_hat^2 tau^2 at g = 0.
const double kEigenvalueCoefficient = 0.5 + 1.0 / std::sqrt(3.0);

double Eta0ForTarget(double z_hat) {
  if (z_hat == 0.5) return 0.015;
  if (z_hat == 1.0) return 0.009;
  if (z_hat == 2.0) return 0.003;
  return 0.0;
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  return std::accumulate(v.begin(), v.end(), 0.0) /
         static_cast<double>(v.size());
}

// g as the first column of the printed tables shows it.
std::string GainLabel(double g) {
  std::ostringstream label;
  label << std::setprecision(2) << g;
  return label.str();
}

double RelativeErrorOf(double measured, double predicted) {
  if (predicted == 0.0) return std::fabs(measured);
  return std::fabs(measured - predicted) / std::fabs(predicted);
}

}  // namespace

LinearPrediction PredictLinear(double g, double z_hat) {
  LinearPrediction p;
  const double q = 1.0 - g * g;
  p.g = g;
  p.beta = 1.0 / q;
  p.convergence_time_ratio = q * q;
  p.delta_w_norm = z_hat * q;
  p.delta_w_norm_ratio = q;
  p.grad_norm_ratio = p.beta;
  p.alignment = std::sqrt(q);
  p.shuffle_loss_ratio = std::pow(g, 4) * std::pow(2.0 - g * g, 2);
  return p;
}

LinearEarlyPrediction PredictLinearEarly(double g,
                                         double z_hat,
                                         double tau_tilde) {
  LinearEarlyPrediction p;
  const double beta = 1.0 / (1.0 - g * g);
  const double t = tau_tilde;
  p.tau_tilde = t;
  p.tau = t / (beta * beta);
  const double z2 = z_hat * z_hat;
  p.z = z_hat * (t - t * t / 2 + t * t * t / 6 * (1 + 8 * z2 * beta));
  p.s1 =
      (z_hat / beta) * (t - t * t / 2 + t * t * t / 6 * (1 + 3.5 * z2 * beta));
  p.s2 = z_hat * z2 * t * t * t / 12;
  p.eigenvalue =
      kEigenvalueCoefficient * p.tau * p.tau * z2 * beta * beta * beta;
  return p;
}

double LinearTheoryOptions::EffectiveEta0() const {
  return eta0 > 0.0 ? eta0 : Eta0ForTarget(z_hat);
}

bool LinearTheoryOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (units < 2) return fail("units must be >= 2");
  if (gains.empty()) return fail("give at least one g");
  for (double g : gains)
    if (!(g >= 0.0 && g < 1.0)) return fail("every g must be in [0, 1)");
  if (!std::isfinite(z_hat) || z_hat == 0.0)
    return fail("z_hat must be finite and nonzero");
  if (seeds < 1) return fail("seeds must be >= 1");
  if (!(eta0 >= 0.0)) return fail("eta0 must be >= 0");
  if (EffectiveEta0() <= 0.0)
    return fail("no default eta0 for z_hat = " + std::to_string(z_hat) +
                " (Schuessler et al. 2020 give 0.5, 1, 2); set eta0");
  if (!(stop_loss_ratio > 0.0 && stop_loss_ratio < 1.0))
    return fail("stop_loss_ratio must be in (0, 1)");
  if (max_steps < 1) return fail("max_steps must be >= 1");
  if (!(convergence_threshold > 0.0 && convergence_threshold < 1.0))
    return fail("convergence_threshold must be in (0, 1)");
  if (!(early_tau_tilde > 0.0)) return fail("early_tau_tilde must be > 0");
  if (run.num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

LinearRun RunLinearNetwork(const LinearTheoryOptions& o,
                           double g,
                           std::uint64_t seed,
                           bool negate_input) {
  // The initial network of Schuessler et al. 2020, as `ltr train` draws it for
  // the fixed-point task: W0 = g J, m = input column, w = readout row.
  TrainOptions t;
  t.task.kind = TaskKind::kFixedPoint;
  t.units = o.units;
  t.g = g;
  t.nonlinearity = Nonlinearity::kIdentity;
  t.seed = seed;
  const RnnParameters p = InitialNetwork(t);
  const Index n = o.units;
  const Matrix& w0 = p.w0;
  const Vector m =
      negate_input ? Vector(-p.w_in.col(0)) : Vector(p.w_in.col(0));
  const Vector w = p.readout.row(0).transpose();

  LinearRun run;
  run.g = g;
  run.seed = seed;
  const double eta0 = o.EffectiveEta0();
  run.eta = eta0 * (1 - g * g) * (1 - g * g);
  const double eta = run.eta;
  // tau~ advances by eta * beta^2 = eta0 per step.
  const int early_step =
      std::max(1, static_cast<int>(std::lround(o.early_tau_tilde / eta0)));

  Matrix b = (Matrix::Identity(n, n) - w0).partialPivLu().inverse();
  Vector x = b * m;              // B m
  Vector y = b.transpose() * w;  // B^T w
  Matrix dw = Matrix::Zero(n, n);
  double grad_sum = 0.0;
  int grad_count = 0;
  double loss = 0.0;
  int k = 0;
  for (;; ++k) {
    if (o.run.cancelled()) break;  // RunLinearTheory drops the run
    const double z = w.dot(x);
    const double e = o.z_hat - z;
    loss = 0.5 * e * e;
    if (!std::isfinite(loss)) {
      run.finite = false;
      break;
    }
    if (k == 0) run.initial_loss = loss;
    if (k == early_step) {
      const LowRankSpectrum s = TopSpectrum(dw, 4, seed + 7);
      run.early_z = z;
      run.early_s1 = s.singular_values[0];
      run.early_s2 = s.singular_values.size() > 1 ? s.singular_values[1] : 0;
      run.early_eigenvalue = s.top_eigenvalue;
    }
    if (run.convergence_step < 0 &&
        loss < o.convergence_threshold * run.initial_loss)
      run.convergence_step = k;
    if (run.convergence_step < 0) {
      grad_sum += std::fabs(e) * x.norm() * y.norm();
      ++grad_count;
    }
    if ((loss < o.stop_loss_ratio * run.initial_loss && k > early_step) ||
        k >= o.max_steps)
      break;
    // W += c y x^T with c = eta e; B by Sherman-Morrison.
    const double c = eta * e;
    dw.noalias() += (c * y) * x.transpose();
    const Vector by = b * y;               // B y
    const Vector btx = b.transpose() * x;  // B^T x
    const double denom = 1.0 - c * x.dot(by);
    b.noalias() += (c / denom) * by * btx.transpose();
    x += (c * btx.dot(m) / denom) * by;
    y += (c * by.dot(w) / denom) * btx;
  }
  run.steps = k;
  run.final_loss = loss;
  run.convergence_time =
      run.convergence_step >= 0 ? run.convergence_step * eta : std::nan("");
  run.mean_grad_norm = grad_count > 0 ? grad_sum / grad_count : 0.0;
  if (!run.finite) return run;
  run.delta_w_norm = dw.norm();
  const LowRankSpectrum s = TopSpectrum(dw, 4, seed + 11);
  run.alignment_w = std::fabs(s.left.col(0).dot(w)) / w.norm();
  run.alignment_m = std::fabs(s.right.col(0).dot(m)) / m.norm();
  if (s.singular_values.size() > 2 && s.singular_values[0] > 0)
    run.s3_ratio = s.singular_values[2] / s.singular_values[0];
  // Shuffle test: all N^2 entries of W0 permuted.
  Matrix w0_perm = w0;
  Rng rng(seed ^ 0x5eedULL);
  std::shuffle(w0_perm.data(), w0_perm.data() + w0_perm.size(), rng.engine());
  const Vector x_shuffled =
      (Matrix::Identity(n, n) - w0_perm - dw).partialPivLu().solve(m);
  const double e_shuffled = o.z_hat - w.dot(x_shuffled);
  // Relative to z_hat^2 / 2, the loss of z = 0 (Schuessler et al.'s L0), not to
  // the run's own (z_hat - z0)^2 / 2, whose random z0 makes the ratio
  // heavy-tailed.
  run.shuffle_loss_ratio = (e_shuffled * e_shuffled) / (o.z_hat * o.z_hat);
  return run;
}

std::string LinearTheorySummary::BriefReport() const {
  std::ostringstream out;
  int converged = 0;
  for (const LinearRun& r : runs) converged += r.convergence_step >= 0;
  out << "linear theory: " << rows.size() << " g values, " << runs.size()
      << " networks (" << converged << " converged) in " << std::fixed
      << std::setprecision(1) << seconds << " s";
  if (!message.empty()) out << "; " << message;
  return out.str();
}

std::vector<std::string> LinearTheorySummary::TableColumns() {
  return {"g",
          "beta",
          "conv_time_ratio_pred",
          "conv_time_ratio_meas",
          "dw_norm_pred",
          "dw_norm_meas",
          "dw_norm_ratio_pred",
          "dw_norm_ratio_meas",
          "grad_norm_ratio_pred",
          "grad_norm_ratio_meas",
          "alignment_pred",
          "alignment_w_meas",
          "alignment_m_meas",
          "shuffle_ratio_pred",
          "shuffle_ratio_meas",
          "early_tau",
          "z_pred",
          "z_meas",
          "s1_pred",
          "s1_meas",
          "s2_pred",
          "s2_meas",
          "eigenvalue_pred",
          "eigenvalue_meas",
          "conv_time_meas",
          "mean_grad_norm_meas",
          "runs",
          "converged_runs"};
}

Matrix LinearTheorySummary::Table() const {
  const auto columns = TableColumns();
  Matrix t(static_cast<Index>(rows.size()), static_cast<Index>(columns.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    const LinearTheoryRow& r = rows[i];
    const double v[] = {r.predicted.g,
                        r.predicted.beta,
                        r.predicted.convergence_time_ratio,
                        r.measured.convergence_time_ratio,
                        r.predicted.delta_w_norm,
                        r.measured.delta_w_norm,
                        r.predicted.delta_w_norm_ratio,
                        r.measured.delta_w_norm_ratio,
                        r.predicted.grad_norm_ratio,
                        r.measured.grad_norm_ratio,
                        r.predicted.alignment,
                        r.measured_alignment_w,
                        r.measured_alignment_m,
                        r.predicted.shuffle_loss_ratio,
                        r.measured.shuffle_loss_ratio,
                        r.predicted_early.tau,
                        r.predicted_early.z,
                        r.measured_early.z,
                        r.predicted_early.s1,
                        r.measured_early.s1,
                        r.predicted_early.s2,
                        r.measured_early.s2,
                        r.predicted_early.eigenvalue,
                        r.measured_early.eigenvalue,
                        r.measured_convergence_time,
                        r.measured_mean_grad_norm,
                        static_cast<double>(r.runs),
                        static_cast<double>(r.converged_runs)};
    for (size_t j = 0; j < columns.size(); ++j)
      t(static_cast<Index>(i), static_cast<Index>(j)) = v[j];
  }
  return t;
}

std::string LinearTheorySummary::FormatTable() const {
  std::ostringstream out;
  auto cell = [&](double pred, double meas) {
    std::ostringstream c;
    c << std::setprecision(3) << std::defaultfloat << pred << "/" << meas
      << " (" << std::fixed << std::setprecision(0)
      << 100.0 * RelativeErrorOf(meas, pred) << "%)";
    return c.str();
  };
  const int w = 22;
  out << "predicted/measured (relative error); ratios are to the first g\n";
  out << std::left << std::setw(5) << "g" << std::setw(w) << "conv_time_ratio"
      << std::setw(w) << "|dW|" << std::setw(w) << "|dW|/|dW|(g0)"
      << std::setw(w) << "grad_norm_ratio" << std::setw(w) << "align_w"
      << std::setw(w) << "align_m" << std::setw(w) << "shuffle L/L0"
      << "\n";
  for (const LinearTheoryRow& r : rows) {
    out << std::left << std::setw(5) << GainLabel(r.predicted.g) << std::setw(w)
        << cell(r.predicted.convergence_time_ratio,
                r.measured.convergence_time_ratio)
        << std::setw(w)
        << cell(r.predicted.delta_w_norm, r.measured.delta_w_norm)
        << std::setw(w)
        << cell(r.predicted.delta_w_norm_ratio, r.measured.delta_w_norm_ratio)
        << std::setw(w)
        << cell(r.predicted.grad_norm_ratio, r.measured.grad_norm_ratio)
        << std::setw(w) << cell(r.predicted.alignment, r.measured_alignment_w)
        << std::setw(w) << cell(r.predicted.alignment, r.measured_alignment_m)
        << std::setw(w)
        << cell(r.predicted.shuffle_loss_ratio, r.measured.shuffle_loss_ratio)
        << "\n";
  }
  if (!rows.empty()) {
    out << "\nearly learning, at tau~ = beta^2 tau = "
        << rows.front().predicted_early.tau_tilde
        << " (z, s1 to third order in tau~; s2 and the eigenvalue to leading "
           "order)\n";
    out << std::left << std::setw(5) << "g" << std::setw(w) << "z"
        << std::setw(w) << "s1" << std::setw(w + 6) << "s2" << std::setw(w + 6)
        << "eigenvalue"
        << "\n";
    for (const LinearTheoryRow& r : rows) {
      out << std::left << std::setw(5) << GainLabel(r.predicted.g)
          << std::setw(w) << cell(r.predicted_early.z, r.measured_early.z)
          << std::setw(w) << cell(r.predicted_early.s1, r.measured_early.s1)
          << std::setw(w + 6) << cell(r.predicted_early.s2, r.measured_early.s2)
          << std::setw(w + 6)
          << cell(r.predicted_early.eigenvalue, r.measured_early.eigenvalue)
          << "\n";
    }
  }
  return out.str();
}

LinearTheorySummary RunLinearTheory(const LinearTheoryOptions& o) {
  std::string error;
  if (!o.IsValid(&error)) throw Error(error);
  const auto start = std::chrono::steady_clock::now();
  struct Job {
    size_t gain;
    std::uint64_t seed;
    bool negate;
  };
  std::vector<Job> jobs;
  Rng rng(o.seed);
  std::vector<std::uint64_t> seeds(o.seeds);
  for (auto& s : seeds) s = rng.NextSeed();
  for (size_t gi = 0; gi < o.gains.size(); ++gi)
    for (std::uint64_t s : seeds) {
      jobs.push_back({gi, s, false});
      if (o.antithetic) jobs.push_back({gi, s, true});
    }
  LinearTheorySummary summary;
  summary.runs.resize(jobs.size());
  ParallelFor(static_cast<Index>(jobs.size()),
              o.run.num_threads,
              [&](Index begin, Index end) {
                for (Index j = begin; j < end && !o.run.cancelled(); ++j)
                  summary.runs[j] = RunLinearNetwork(
                      o, o.gains[jobs[j].gain], jobs[j].seed, jobs[j].negate);
              });
  if (o.run.cancelled()) {
    summary.runs.clear();
    summary.cancelled = true;
    summary.message = "cancelled";
    return summary;
  }
  const double eta0 = o.EffectiveEta0();
  const int early_step =
      std::max(1, static_cast<int>(std::lround(o.early_tau_tilde / eta0)));
  for (size_t gi = 0; gi < o.gains.size(); ++gi) {
    const double g = o.gains[gi];
    LinearTheoryRow row;
    row.predicted = PredictLinear(g, o.z_hat);
    // The early point actually measured: step early_step, tau~ = step * eta0.
    row.predicted_early = PredictLinearEarly(g, o.z_hat, early_step * eta0);
    std::vector<double> tc, dwn, gn, aw, am, sh, z, s1, s2, ev;
    for (size_t j = 0; j < jobs.size(); ++j) {
      if (jobs[j].gain != gi) continue;
      const LinearRun& r = summary.runs[j];
      ++row.runs;
      if (!r.finite) continue;
      if (r.convergence_step >= 0) {
        ++row.converged_runs;
        tc.push_back(r.convergence_time);
      }
      dwn.push_back(r.delta_w_norm);
      gn.push_back(r.mean_grad_norm);
      aw.push_back(r.alignment_w);
      am.push_back(r.alignment_m);
      sh.push_back(r.shuffle_loss_ratio);
      z.push_back(r.early_z);
      s1.push_back(r.early_s1);
      s2.push_back(r.early_s2);
      ev.push_back(r.early_eigenvalue);
    }
    row.measured.g = g;
    row.measured.beta = row.predicted.beta;
    row.measured_convergence_time = Mean(tc);
    row.measured.delta_w_norm = Mean(dwn);
    row.measured_mean_grad_norm = Mean(gn);
    row.measured_alignment_w = Mean(aw);
    row.measured_alignment_m = Mean(am);
    row.measured.alignment =
        0.5 * (row.measured_alignment_w + row.measured_alignment_m);
    row.measured.shuffle_loss_ratio = Mean(sh);
    row.measured_early = row.predicted_early;
    row.measured_early.z = Mean(z);
    row.measured_early.s1 = Mean(s1);
    row.measured_early.s2 = Mean(s2);
    row.measured_early.eigenvalue = Mean(ev);
    summary.rows.push_back(row);
  }
  // Ratios relative to the first g (g = 0 in the usual grid).
  if (!summary.rows.empty()) {
    const LinearTheoryRow ref = summary.rows.front();
    for (LinearTheoryRow& r : summary.rows) {
      r.predicted.convergence_time_ratio /=
          ref.predicted.convergence_time_ratio;
      r.predicted.grad_norm_ratio /= ref.predicted.grad_norm_ratio;
      r.predicted.delta_w_norm_ratio /= ref.predicted.delta_w_norm_ratio;
      r.measured.delta_w_norm_ratio =
          r.measured.delta_w_norm / ref.measured.delta_w_norm;
      r.measured.convergence_time_ratio =
          r.measured_convergence_time / ref.measured_convergence_time;
      r.measured.grad_norm_ratio =
          r.measured_mean_grad_norm / ref.measured_mean_grad_norm;
    }
  }
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return summary;
}

}  // namespace ltr
