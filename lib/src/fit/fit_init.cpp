// Data-driven initialisation of RNN fits; see fit_init.h.
#include "fit/fit_init.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "ltr/core/error.h"
#include "optim/stiefel_manifold.h"

namespace ltr::internal {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

double InverseSoftplus(double y) {
  y = std::max(y, 1e-6);
  return y > 30 ? y : std::log(std::expm1(y));
}

// Where phi's values may lie for the inversion: [low, high] with a margin
// (tanh saturates, so atanh of values near +-1 would amplify noise).
struct PhiRange {
  double low, high;
};
PhiRange RangeOf(Nonlinearity f, double saturation) {
  switch (f) {
    case Nonlinearity::kTanh:
      return {-saturation, saturation};
    case Nonlinearity::kRelu:
      return {0.0, 1e300};
    case Nonlinearity::kSoftplus:
      return {1e-3, 1e300};
    case Nonlinearity::kIdentity:
      break;
  }
  return {-1e300, 1e300};
}

double InversePhi(Nonlinearity f, double v) {
  switch (f) {
    case Nonlinearity::kTanh:
      return std::atanh(v);
    case Nonlinearity::kSoftplus:
      return InverseSoftplus(v);
    case Nonlinearity::kRelu:
    case Nonlinearity::kIdentity:
      break;
  }
  return v;
}

// Centre of the latent activity for a readout learned from principal
// components: 0 for odd nonlinearities, 1 for the positive ones.
double LatentCentre(Nonlinearity f) {
  return f == Nonlinearity::kRelu || f == Nonlinearity::kSoftplus ? 1.0 : 0.0;
}

// The activity in the readout's space (neurons x trials*bins, column
// k * T + t), with every entry the fit may not use filled in.
MatrixXd FilledActivity(const FitOptions& o,
                        const Recording& r,
                        const Mask3& train) {
  const Index K = r.trials(), T = r.steps(), M = r.neurons();
  const bool counts = o.loss.loss == RnnLoss::kPoisson;
  MatrixXd v(M, K * T);
  std::vector<char> seen(static_cast<size_t>(M * K * T), 0);
  auto at = [&](Index j, Index k, Index t) {
    return static_cast<size_t>((k * T + t) * M + j);
  };
  for (Index k = 0; k < K; ++k)
    for (Index t = 0; t < T; ++t)
      for (Index j = 0; j < M; ++j)
        if (train(k, t, j)) {
          v(j, k * T + t) = r.activity(k, t, j);
          seen[at(j, k, t)] = 1;
        }
  if (counts) {
    // Spike counts are too noisy to invert: a Gaussian kernel (sigma one
    // bin) over the trial's training entries gives a rate estimate.
    MatrixXd smooth(M, K * T);
    std::vector<char> smooth_seen(seen.size(), 0);
    for (Index k = 0; k < K; ++k)
      for (Index j = 0; j < M; ++j)
        for (Index t = 0; t < T; ++t) {
          double sum = 0, weight = 0;
          for (Index s = std::max<Index>(0, t - 3);
               s <= std::min<Index>(T - 1, t + 3);
               ++s) {
            if (!seen[at(j, k, s)]) continue;
            const double w = std::exp(-0.5 * double((s - t) * (s - t)));
            sum += w * v(j, k * T + s);
            weight += w;
          }
          if (weight > 0.3) {
            smooth(j, k * T + t) = sum / weight;
            smooth_seen[at(j, k, t)] = 1;
          }
        }
    v = smooth;
    seen = smooth_seen;
  }
  // Mean of each (bin, neuron) over trials, and of each neuron.
  MatrixXd bin_mean = MatrixXd::Zero(M, T), bin_count = MatrixXd::Zero(M, T);
  for (Index k = 0; k < K; ++k)
    for (Index t = 0; t < T; ++t)
      for (Index j = 0; j < M; ++j)
        if (seen[at(j, k, t)]) {
          bin_mean(j, t) += v(j, k * T + t);
          bin_count(j, t) += 1;
        }
  VectorXd neuron_mean = bin_mean.rowwise().sum().cwiseQuotient(
      bin_count.rowwise().sum().cwiseMax(1.0));
  for (Index j = 0; j < M; ++j)
    for (Index t = 0; t < T; ++t)
      bin_mean(j, t) = bin_count(j, t) > 0 ? bin_mean(j, t) / bin_count(j, t)
                                           : neuron_mean(j);
  // Linear interpolation in time between the nearest used bins.
  for (Index k = 0; k < K; ++k)
    for (Index j = 0; j < M; ++j) {
      Index previous = -1;
      for (Index t = 0; t <= T; ++t) {
        if (t < T && !seen[at(j, k, t)]) continue;
        for (Index s = previous + 1; s < t; ++s) {
          double value;
          if (previous < 0 && t == T) {
            value = bin_mean(j, s);
          } else if (previous < 0) {
            value = v(j, k * T + t);
          } else if (t == T) {
            value = v(j, k * T + previous);
          } else {
            const double w = double(s - previous) / double(t - previous);
            value = (1 - w) * v(j, k * T + previous) + w * v(j, k * T + t);
          }
          v(j, k * T + s) = value;
        }
        previous = t;
      }
    }
  if (counts)
    v = v.unaryExpr(
        [](double y) { return InverseSoftplus(std::max(y, 1e-2)); });
  return v;
}

// Ridge solve of X (D D^T + ridge * mean diag) = Y D^T, i.e. the least
// squares X minimising ||Y - X D||^2 + penalty.
MatrixXd RidgeRegression(const MatrixXd& y, const MatrixXd& d, double ridge) {
  MatrixXd gram = d * d.transpose();
  const double scale =
      gram.rows() > 0 ? std::max(gram.diagonal().mean(), 1e-12) : 1.0;
  gram.diagonal().array() += ridge * scale;
  const MatrixXd rhs = d * y.transpose();
  return gram.ldlt().solve(rhs).transpose();
}

}  // namespace

DataInitReport DataDrivenInitialization(const FitOptions& o,
                                        const Recording& r,
                                        const Mask3& train,
                                        RnnParameters* p) {
  const auto start = std::chrono::steady_clock::now();
  DataInitReport report;
  const Index K = r.trials(), T = r.steps(), M = r.neurons();
  const Index N = p->units();
  const Nonlinearity f = p->nonlinearity;
  const PhiRange range = RangeOf(f, o.init_tanh_saturation);
  const double alpha = p->alpha;
  const double ridge = o.init_ridge;

  // --- Readout and latent activity phi(x) ---------------------------------
  const MatrixXd v = FilledActivity(o, r, train);
  MatrixXd latent(N, K * T);
  if (o.readout == ReadoutKind::kIdentity) {
    // phi(x) = y - d: d = 0 when the data lie inside phi's image, else a
    // shift that moves them into it. (Data inside tanh's image are taken as
    // they are, however close to +-1: shifting them would bias every state.)
    for (Index j = 0; j < M; ++j) {
      const double lo = v.row(j).minCoeff(), hi = v.row(j).maxCoeff();
      double d = 0;
      if (f == Nonlinearity::kTanh && (lo <= -1 || hi >= 1))
        d = 0.5 * (lo + hi);
      else if (lo < range.low)
        d = lo - range.low - 0.05 * (hi - lo);
      p->offset(j) = d;
      latent.row(j) = v.row(j).array() - d;
    }
    p->readout = MatrixXd::Identity(M, N);
  } else {
    const VectorXd mean = v.rowwise().mean();
    const MatrixXd centred = v.colwise() - mean;
    const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(centred *
                                                      centred.transpose());
    const Index q = std::min(N, M);
    // Leading eigenvectors, largest first.
    const MatrixXd u = eig.eigenvectors().rightCols(q).rowwise().reverse();
    const MatrixXd proj = u.transpose() * centred;  // q x K*T
    const double centre = LatentCentre(f);
    VectorXd scale = VectorXd::Ones(q);
    if (o.readout == ReadoutKind::kFree && f != Nonlinearity::kIdentity) {
      // Scale each component into 80 % of phi's half-range (by its 99th
      // percentile, so a few outliers do not squash the rest).
      for (Index i = 0; i < q; ++i) {
        std::vector<double> a(proj.cols());
        for (Index c = 0; c < proj.cols(); ++c) a[c] = std::abs(proj(i, c));
        const size_t at = static_cast<size_t>(0.99 * double(a.size() - 1));
        std::nth_element(a.begin(), a.begin() + at, a.end());
        scale(i) = std::max(a[at], 1e-12) / 0.8;
      }
    }
    VectorXd shift = VectorXd::Constant(q, centre);
    if (o.readout == ReadoutKind::kOrthonormal && centre > 0) {
      // Unit scale: shift each component up until it is nonnegative.
      for (Index i = 0; i < q; ++i)
        shift(i) = 0.05 - std::min(0.0, proj.row(i).minCoeff());
    }
    latent.setConstant(centre);
    for (Index i = 0; i < q; ++i)
      latent.row(i) = shift(i) + proj.row(i).array() / scale(i);
    MatrixXd c = MatrixXd::Zero(M, N);
    c.leftCols(q) = u * scale.asDiagonal();
    if (o.readout == ReadoutKind::kFree && N > q) {
      // Units with no principal component: a small readout so that they
      // receive a gradient.
      Rng rng(o.seed + 7);
      c.rightCols(N - q) =
          (1e-2 / std::sqrt(double(N))) * rng.NormalMatrix(M, N - q);
    }
    // An orthonormal readout is already on the manifold: U's columns are
    // orthonormal (N <= M), or [U 0] has orthonormal rows (N > M).
    p->readout = c;
    p->offset = mean - c.leftCols(q) * shift;
  }
  latent = latent.cwiseMax(range.low).cwiseMin(range.high);
  MatrixXd x = latent.unaryExpr([f](double l) { return InversePhi(f, l); });

  // --- One-step regression design ------------------------------------------
  const Index steps = T - 1, S = K * steps;
  const bool has_w0 = p->w0.size() > 0;
  const Index n_in = p->num_inputs();
  const bool use_h = p->h.size() > 0;
  const Index conditions = p->num_conditions();
  // Extra regressors: inputs, condition one-hots (h) or a constant (bias).
  const Index n_extra = n_in + (use_h ? conditions : 1);
  MatrixXd phi(N, S), z(N, S), extra(n_extra, S);
  for (Index k = 0; k < K; ++k) {
    const Index cond = r.condition.empty() ? 0 : r.condition[k];
    for (Index t = 0; t < steps; ++t) {
      const Index col = k * steps + t;
      extra.col(col).setZero();
      for (Index i = 0; i < n_in; ++i) extra(i, col) = r.inputs(k, t, i);
      if (use_h)
        extra(n_in + cond, col) = 1;
      else
        extra(n_in, col) = 1;
    }
  }
  // phi and z from the current states x.
  auto build_regression = [&]() {
    for (Index k = 0; k < K; ++k)
      for (Index t = 0; t < steps; ++t) {
        const Index col = k * steps + t;
        phi.col(col) = latent.col(k * T + t);
        z.col(col) =
            (x.col(k * T + t + 1) - (1 - alpha) * x.col(k * T + t)) / alpha;
      }
    if (has_w0) z.noalias() -= p->w0 * phi;
  };
  build_regression();
  // With an identity readout, z(i, t) rests on unit i's entries at t and
  // t + 1; when either was filled in rather than used for training, z(i, t)
  // is treated as missing: it is replaced by the current prediction before
  // every solve (EM for missing targets), so it adds no residual.
  Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic> missing;
  if (o.readout == ReadoutKind::kIdentity) {
    missing.setConstant(N, S, false);
    for (Index k = 0; k < K; ++k)
      for (Index t = 0; t < steps; ++t)
        for (Index i = 0; i < N; ++i)
          missing(i, k * steps + t) = !train(k, t, i) || !train(k, t + 1, i);
  }
  auto fill_missing = [&](const MatrixXd& z_hat) {
    if (missing.size() > 0) z = missing.select(z_hat, z);
  };
  // The filled-in entries are also regressors (phi[t] of every unit), and
  // interpolation in time is a poor guess of them inside a held-out block.
  // With an identity readout they are re-estimated from the current model:
  // each trial is stepped forward with the model's one-step map, keeping
  // every training entry and replacing the others by the prediction.
  // weights(k) is W_k - W0; w_extra the input, h or bias columns.
  auto impute_states = [&](const std::function<MatrixXd(Index)>& weights,
                           const MatrixXd& w_extra) {
    if (missing.size() == 0) return;
    for (Index k = 0; k < K; ++k) {
      const MatrixXd w_k = has_w0 ? MatrixXd(weights(k) + p->w0) : weights(k);
      for (Index t = 0; t < steps; ++t) {
        const Index col = k * steps + t;
        const VectorXd next =
            (1 - alpha) * x.col(k * T + t) +
            alpha * (w_k * latent.col(k * T + t) + w_extra * extra.col(col));
        for (Index i = 0; i < N; ++i) {
          if (train(k, t + 1, i)) continue;
          const double l = std::clamp(Phi(f, next(i)), range.low, range.high);
          latent(i, k * T + t + 1) = l;
          x(i, k * T + t + 1) = InversePhi(f, l);
        }
      }
    }
    build_regression();
  };
  // Mean squared slope of a one-step change of the output per unit change
  // of z, (alpha phi')^2: converts the z residual to the scale of the fit's
  // data term, for weighing the smoothing prior in the c step.
  double slope2 = 0;
  for (Index c = 0; c < S; ++c)
    for (Index i = 0; i < N; ++i) {
      const double d = PhiDerivative(f, x(i, (c / steps) * T + c % steps + 1));
      slope2 += alpha * alpha * d * d;
    }
  slope2 /= double(N * S);

  // Pooled full-rank regression: z = W phi + W_extra e.
  MatrixXd design(N + n_extra, S);
  design << phi, extra;
  MatrixXd theta = RidgeRegression(z, design, ridge);
  for (int em = 0; em < o.init_em_iterations && missing.size() > 0; ++em) {
    const MatrixXd w_now = theta.leftCols(N);
    impute_states([&](Index) { return w_now; }, theta.rightCols(n_extra));
    design << phi, extra;
    fill_missing(theta * design);
    const MatrixXd previous = theta;
    theta = RidgeRegression(z, design, ridge);
    if ((theta - previous).norm() <= 1e-6 * theta.norm()) break;
  }
  MatrixXd w = theta.leftCols(N);
  MatrixXd w_extra = theta.rightCols(n_extra);

  const bool ltr = p->kind == WeightKind::kLowTensorRank;
  if (p->kind == WeightKind::kFull) {
    p->w = w;
    report.one_step_r2 =
        1 -
        (z - theta * design).squaredNorm() /
            std::max((z.colwise() - z.rowwise().mean()).squaredNorm(), 1e-300);
  } else {
    const Index R = p->rank();
    MatrixXd a, b;
    MatrixXd c = MatrixXd::Ones(K, R);
    if (o.seed == 0) {
      const Eigen::JacobiSVD<MatrixXd> svd(
          w, Eigen::ComputeThinU | Eigen::ComputeThinV);
      const VectorXd s = svd.singularValues().head(R).cwiseSqrt();
      a = svd.matrixU().leftCols(R) * s.asDiagonal();
      b = svd.matrixV().leftCols(R) * s.asDiagonal();
    } else {
      // Another seed, another start: a random low-rank factorisation of
      // the pooled W's scale, so restarts explore other ALS optima.
      Rng rng(o.seed);
      const double s = std::sqrt(w.norm() / std::sqrt(double(R)));
      a = rng.NormalMatrix(N, R).colwise().normalized() * s;
      b = rng.NormalMatrix(N, R).colwise().normalized() * s;
    }
    // The smoothing prior's Hessian over trials (it is quadratic in each
    // column of c), probed one trial at a time.
    MatrixXd smoothing_hessian;
    if (ltr && o.smoothing.kind != TrialSmoothing::kNone &&
        o.smoothing.weight > 0) {
      std::vector<int> epochs;
      if (o.smoothing_breaks_at_epochs)
        epochs.assign(r.epoch.begin(), r.epoch.end());
      const TrialSmoothingPenalty penalty(o.smoothing, K, epochs);
      smoothing_hessian.setZero(K, K);
      MatrixXd unit = MatrixXd::Zero(K, 1), column(K, 1);
      for (Index k = 0; k < K; ++k) {
        unit(k, 0) = 1;
        column.setZero();
        penalty.Evaluate(unit, &column);
        smoothing_hessian.col(k) = column.col(0);
        unit(k, 0) = 0;
      }
      // The second-difference gradient is 2 w D^T D c: its Hessian.
      smoothing_hessian =
          0.5 * (smoothing_hessian + MatrixXd(smoothing_hessian.transpose()));
    }
    double previous = std::numeric_limits<double>::infinity();
    MatrixXd q(R, S), zr(N, S);
    // q = c_k .* (b^T phi) for every trial: the structured regressors.
    auto update_q = [&]() {
      const MatrixXd kappa = b.transpose() * phi;  // R x S
      for (Index k = 0; k < K; ++k)
        q.middleCols(k * steps, steps) = c.row(k).transpose().asDiagonal() *
                                         kappa.middleCols(k * steps, steps);
    };
    for (int it = 0; it < o.init_als_iterations; ++it) {
      report.als_iterations = it + 1;
      // a (and the extras) given b, c: z = a (c_k .* b^T phi) + W_extra e.
      update_q();
      MatrixXd dq(R + n_extra, S);
      dq << q, extra;
      const MatrixXd t = RidgeRegression(z, dq, ridge);
      a = t.leftCols(R);
      w_extra = t.rightCols(n_extra);
      zr = z - w_extra * extra;
      // b given a, c: block (r, s) of the normal matrix is
      // sum_k c_kr c_ks (a_r^T a_s) Phi_k Phi_k^T.
      const MatrixXd ata = a.transpose() * a;
      MatrixXd g = MatrixXd::Zero(N * R, N * R);
      MatrixXd h = MatrixXd::Zero(N, R);
      for (Index k = 0; k < K; ++k) {
        const auto phi_k = phi.middleCols(k * steps, steps);
        const MatrixXd s_k = phi_k * phi_k.transpose();
        for (Index r1 = 0; r1 < R; ++r1)
          for (Index r2 = r1; r2 < R; ++r2)
            g.block(r1 * N, r2 * N, N, N) +=
                (c(k, r1) * c(k, r2) * ata(r1, r2)) * s_k;
        h.noalias() += phi_k * (zr.middleCols(k * steps, steps).transpose() *
                                (a * c.row(k).transpose().asDiagonal()));
      }
      for (Index r1 = 0; r1 < R; ++r1)
        for (Index r2 = 0; r2 < r1; ++r2)
          g.block(r1 * N, r2 * N, N, N) =
              g.block(r2 * N, r1 * N, N, N).transpose();
      const double scale = std::max(g.diagonal().mean(), 1e-12);
      g.diagonal().array() += ridge * scale;
      const VectorXd vec_b =
          g.ldlt().solve(Eigen::Map<const VectorXd>(h.data(), h.size()));
      b = Eigen::Map<const MatrixXd>(vec_b.data(), N, R);
      // c given a, b, one trial at a time (ltr only).
      if (ltr) {
        const MatrixXd ata2 = a.transpose() * a;
        const MatrixXd kap = b.transpose() * phi;
        const MatrixXd atz = a.transpose() * zr;  // R x S
        std::vector<MatrixXd> gcs(K);
        MatrixXd rhs(R, K);
        for (Index k = 0; k < K; ++k) {
          const auto kk = kap.middleCols(k * steps, steps);
          gcs[k] = ata2.cwiseProduct(kk * kk.transpose());
          rhs.col(k) =
              atz.middleCols(k * steps, steps).cwiseProduct(kk).rowwise().sum();
          gcs[k].diagonal().array() +=
              ridge * std::max(gcs[k].diagonal().mean(), 1e-12);
        }
        if (smoothing_hessian.size() == 0) {
          for (Index k = 0; k < K; ++k)
            c.row(k) = gcs[k].ldlt().solve(rhs.col(k)).transpose();
        } else {
          // The prior couples the trials: one (K R) system with unknown
          // k * R + r, the regression term on the fit's data-term scale
          // (slope2 / (N S)) plus the prior's Hessian for each component.
          const double wd = slope2 / double(N * S);
          MatrixXd big = MatrixXd::Zero(K * R, K * R);
          VectorXd big_rhs(K * R);
          for (Index k = 0; k < K; ++k) {
            big.block(k * R, k * R, R, R) = wd * gcs[k];
            big_rhs.segment(k * R, R) = wd * rhs.col(k);
          }
          for (Index k = 0; k < K; ++k)
            for (Index l = 0; l < K; ++l) {
              const double h = smoothing_hessian(k, l);
              if (h == 0) continue;
              for (Index i = 0; i < R; ++i) big(k * R + i, l * R + i) += h;
            }
          const VectorXd sol = big.ldlt().solve(big_rhs);
          for (Index k = 0; k < K; ++k)
            c.row(k) = sol.segment(k * R, R).transpose();
        }
      }
      // Balance: unit a_r and b_r, the scale in c (ltr) or split evenly.
      for (Index i = 0; i < R; ++i) {
        const double na = a.col(i).norm(), nb = b.col(i).norm();
        if (na == 0 || nb == 0) continue;
        a.col(i) /= na;
        b.col(i) /= nb;
        if (ltr) {
          c.col(i) *= na * nb;
        } else {
          a.col(i) *= std::sqrt(na * nb);
          b.col(i) *= std::sqrt(na * nb);
        }
      }
      // Held-out entries from the new model, then the one-step residual.
      impute_states(
          [&](Index k) {
            return MatrixXd(a * c.row(k).transpose().asDiagonal() *
                            b.transpose());
          },
          w_extra);
      update_q();
      const MatrixXd z_hat = a * q + w_extra * extra;
      const double residual = (z - z_hat).squaredNorm();
      fill_missing(z_hat);
      if (std::isfinite(previous) && previous - residual <= 1e-6 * previous)
        break;
      previous = residual;
    }
    p->a = a;
    p->b = b;
    if (ltr) p->c = c;
    // One-step R^2 of the structured W (diagnostics).
    update_q();
    const MatrixXd z_hat = a * q + w_extra * extra;
    report.one_step_r2 =
        1 -
        (z - z_hat).squaredNorm() /
            std::max((z.colwise() - z.rowwise().mean()).squaredNorm(), 1e-300);
  }
  // Extras: inputs, then h or bias.
  if (n_in > 0) p->w_in = w_extra.leftCols(n_in);
  if (use_h) {
    p->h = w_extra.middleCols(n_in, conditions);
    p->bias.setZero();
  } else {
    p->bias = w_extra.col(n_in);
  }

  // x0: the mean estimated initial state of each condition's trials.
  MatrixXd x0_sum = MatrixXd::Zero(N, conditions);
  VectorXd x0_count = VectorXd::Zero(conditions);
  for (Index k = 0; k < K; ++k) {
    const Index cond = r.condition.empty() ? 0 : r.condition[k];
    x0_sum.col(cond) += x.col(k * T);
    x0_count(cond) += 1;
  }
  for (Index cnd = 0; cnd < conditions; ++cnd)
    if (x0_count(cnd) > 0) p->x0.col(cnd) = x0_sum.col(cnd) / x0_count(cnd);

  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return report;
}

}  // namespace ltr::internal
