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

#include "fit/fit_internal.h"
#include "ltr/core/error.h"

namespace ltr::internal {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

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

// The estimated states and the one-step regression of the data-driven
// start: z[t] = (x[t+1] - (1 - alpha) x[t]) / alpha - W0 phi[t] against
// phi[t] and the extras (inputs, condition one-hots or a constant).
struct InitState {
  InitState(const FitOptions& options,
            const Recording& recording,
            const Mask3& train_mask,
            RnnParameters* parameters)
      : o(options),
        r(recording),
        train(train_mask),
        p(parameters),
        K(r.trials()),
        T(r.steps()),
        M(r.neurons()),
        N(p->units()),
        f(p->nonlinearity),
        range(RangeOf(f, o.init_tanh_saturation)),
        alpha(p->alpha),
        ridge(o.init_ridge),
        steps(T - 1),
        S(K * steps),
        has_w0(p->w0.size() > 0),
        n_in(p->num_inputs()),
        use_h(p->h.size() > 0),
        conditions(p->num_conditions()),
        n_extra(n_in + (use_h ? conditions : 1)) {}

  const FitOptions& o;
  const Recording& r;
  const Mask3& train;
  RnnParameters* p;
  const Index K, T, M, N;
  const Nonlinearity f;
  const PhiRange range;
  const double alpha, ridge;
  const Index steps, S;
  const bool has_w0;
  const Index n_in;
  const bool use_h;
  const Index conditions, n_extra;

  MatrixXd latent;  // phi(x), N x K*T (column k * T + t)
  MatrixXd x;       // the states
  MatrixXd phi, z, extra;
  // Identity readout: z(i, t) rests on unit i's entries at t and t + 1;
  // when either was filled in rather than used for training, z(i, t) is
  // missing (EM for missing targets).
  Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic> missing;
  // Mean squared slope (alpha phi')^2 of a one-step change of the output per
  // unit change of z: converts the z residual to the scale of the fit's
  // data term, for weighing the smoothing prior in the c step.
  double slope2 = 0;

  // phi and z from the current states x.
  void BuildRegression() {
    for (Index k = 0; k < K; ++k)
      for (Index t = 0; t < steps; ++t) {
        const Index col = k * steps + t;
        phi.col(col) = latent.col(k * T + t);
        z.col(col) =
            (x.col(k * T + t + 1) - (1 - alpha) * x.col(k * T + t)) / alpha;
      }
    if (has_w0) z.noalias() -= p->w0 * phi;
  }
  // The missing z replaced by the current prediction before every solve,
  // so they add no residual.
  void FillMissing(const MatrixXd& z_hat) {
    if (missing.size() > 0) z = missing.select(z_hat, z);
  }
  // The filled-in entries are also regressors (phi[t] of every unit), and
  // interpolation in time is a poor guess of them inside a held-out block.
  // With an identity readout they are re-estimated from the current model:
  // each trial is stepped forward with the model's one-step map, keeping
  // every training entry and replacing the others by the prediction.
  // weights(k) is W_k - W0; w_extra the input, h or bias columns.
  void ImputeStates(const std::function<MatrixXd(Index)>& weights,
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
    BuildRegression();
  }
  // 1 - ||z - z_hat||^2 / ||z - mean z||^2.
  double R2(const MatrixXd& z_hat) const {
    return 1 - (z - z_hat).squaredNorm() /
                   std::max((z.colwise() - z.rowwise().mean()).squaredNorm(),
                            1e-300);
  }
};

// Identity readout: phi(x) = y - d: d = 0 when the data lie inside phi's
// image, else a shift that moves them into it. (Data inside tanh's image are
// taken as they are, however close to +-1: shifting them would bias every
// state.)
void IdentityLatent(const MatrixXd& v, InitState* s) {
  RnnParameters* p = s->p;
  for (Index j = 0; j < s->M; ++j) {
    const double lo = v.row(j).minCoeff(), hi = v.row(j).maxCoeff();
    double d = 0;
    if (s->f == Nonlinearity::kTanh && (lo <= -1 || hi >= 1))
      d = 0.5 * (lo + hi);
    else if (lo < s->range.low)
      d = lo - s->range.low - 0.05 * (hi - lo);
    p->offset(j) = d;
    s->latent.row(j) = v.row(j).array() - d;
  }
  p->readout = MatrixXd::Identity(s->M, s->N);
}

// Free / orthonormal readout: the activity's principal components, scaled
// into the range of phi (C = U diag(m), d = mean).
void ComponentLatent(const MatrixXd& v, InitState* s) {
  const FitOptions& o = s->o;
  const Index N = s->N, M = s->M;
  const VectorXd mean = v.rowwise().mean();
  const MatrixXd centred = v.colwise() - mean;
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(centred *
                                                    centred.transpose());
  const Index q = std::min(N, M);
  // Leading eigenvectors, largest first.
  const MatrixXd u = eig.eigenvectors().rightCols(q).rowwise().reverse();
  const MatrixXd proj = u.transpose() * centred;  // q x K*T
  const double centre = LatentCentre(s->f);
  VectorXd scale = VectorXd::Ones(q);
  if (o.readout == ReadoutKind::kFree && s->f != Nonlinearity::kIdentity) {
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
  s->latent.setConstant(centre);
  for (Index i = 0; i < q; ++i)
    s->latent.row(i) = shift(i) + proj.row(i).array() / scale(i);
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
  s->p->readout = c;
  s->p->offset = mean - c.leftCols(q) * shift;
}

// Readout, latent activity and states, then the regression's design.
void EstimateStates(InitState* s) {
  const MatrixXd v = FilledActivity(s->o, s->r, s->train);
  s->latent.resize(s->N, s->K * s->T);
  if (s->o.readout == ReadoutKind::kIdentity)
    IdentityLatent(v, s);
  else
    ComponentLatent(v, s);
  s->latent = s->latent.cwiseMax(s->range.low).cwiseMin(s->range.high);
  const Nonlinearity f = s->f;
  s->x = s->latent.unaryExpr([f](double l) { return InversePhi(f, l); });

  const Index K = s->K, T = s->T, N = s->N, S = s->S, steps = s->steps;
  s->phi.resize(N, S);
  s->z.resize(N, S);
  s->extra.resize(s->n_extra, S);
  for (Index k = 0; k < K; ++k) {
    const Index cond = s->r.condition.empty() ? 0 : s->r.condition[k];
    for (Index t = 0; t < steps; ++t) {
      const Index col = k * steps + t;
      s->extra.col(col).setZero();
      for (Index i = 0; i < s->n_in; ++i)
        s->extra(i, col) = s->r.inputs(k, t, i);
      if (s->use_h)
        s->extra(s->n_in + cond, col) = 1;
      else
        s->extra(s->n_in, col) = 1;
    }
  }
  s->BuildRegression();
  if (s->o.readout == ReadoutKind::kIdentity) {
    s->missing.setConstant(N, S, false);
    for (Index k = 0; k < K; ++k)
      for (Index t = 0; t < steps; ++t)
        for (Index i = 0; i < N; ++i)
          s->missing(i, k * steps + t) =
              !s->train(k, t, i) || !s->train(k, t + 1, i);
  }
  double slope2 = 0;
  for (Index c = 0; c < S; ++c)
    for (Index i = 0; i < N; ++i) {
      const double d =
          PhiDerivative(f, s->x(i, (c / steps) * T + c % steps + 1));
      slope2 += s->alpha * s->alpha * d * d;
    }
  s->slope2 = slope2 / double(N * S);
}

// Pooled full-rank regression z = W phi + W_extra e (with the EM rounds of
// an identity readout): theta = [W W_extra]; *design = [phi; e].
MatrixXd PooledRegression(InitState* s, MatrixXd* design) {
  const Index N = s->N, n_extra = s->n_extra;
  design->resize(N + n_extra, s->S);
  *design << s->phi, s->extra;
  MatrixXd theta = RidgeRegression(s->z, *design, s->ridge);
  for (int em = 0; em < s->o.init_em_iterations && s->missing.size() > 0;
       ++em) {
    const MatrixXd w_now = theta.leftCols(N);
    s->ImputeStates([&](Index) { return w_now; }, theta.rightCols(n_extra));
    *design << s->phi, s->extra;
    s->FillMissing(theta * *design);
    const MatrixXd previous = theta;
    theta = RidgeRegression(s->z, *design, s->ridge);
    if ((theta - previous).norm() <= 1e-6 * theta.norm()) break;
  }
  return theta;
}

// The smoothing prior's Hessian over trials (it is quadratic in each column
// of c), probed one trial at a time; empty without a prior.
MatrixXd SmoothingHessian(const InitState& s) {
  const FitOptions& o = s.o;
  const Index K = s.K;
  MatrixXd hessian;
  if (s.p->kind != WeightKind::kLowTensorRank ||
      o.smoothing.kind == TrialSmoothing::kNone || !(o.smoothing.weight > 0))
    return hessian;
  std::vector<int> epochs;
  if (o.smoothing_breaks_at_epochs)
    epochs.assign(s.r.epoch.begin(), s.r.epoch.end());
  // The second-difference gradient is 2 w D^T D c: its Hessian.
  return PriorHessian(TrialSmoothingPenalty(o.smoothing, K, epochs), K);
}

// The factors a, b, c of W_k = a diag(c_k) b^T (c = 1 for low rank) and the
// extras' weights, refined by alternating least squares.
struct Factors {
  MatrixXd a, b, c, w_extra;
  // W_k - W0 of trial k.
  MatrixXd Weights(Index k) const {
    return MatrixXd(a * c.row(k).transpose().asDiagonal() * b.transpose());
  }
};

// Seed 0: the truncated SVD of the pooled W; another seed, another start:
// a random low-rank factorisation of its scale, so restarts explore other
// ALS optima.
Factors StartFactors(const InitState& s, const MatrixXd& w, Index R) {
  Factors f;
  f.c = MatrixXd::Ones(s.K, R);
  if (s.o.seed == 0) {
    const Eigen::JacobiSVD<MatrixXd> svd(
        w, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const VectorXd sv = svd.singularValues().head(R).cwiseSqrt();
    f.a = svd.matrixU().leftCols(R) * sv.asDiagonal();
    f.b = svd.matrixV().leftCols(R) * sv.asDiagonal();
  } else {
    Rng rng(s.o.seed);
    const double scale = std::sqrt(w.norm() / std::sqrt(double(R)));
    f.a = rng.NormalMatrix(s.N, R).colwise().normalized() * scale;
    f.b = rng.NormalMatrix(s.N, R).colwise().normalized() * scale;
  }
  return f;
}

// q = c_k .* (b^T phi) for every trial: the structured regressors.
MatrixXd StructuredRegressors(const InitState& s, const Factors& f) {
  const Index R = f.a.cols();
  MatrixXd q(R, s.S);
  const MatrixXd kappa = f.b.transpose() * s.phi;  // R x S
  for (Index k = 0; k < s.K; ++k)
    q.middleCols(k * s.steps, s.steps) = f.c.row(k).transpose().asDiagonal() *
                                         kappa.middleCols(k * s.steps, s.steps);
  return q;
}

// b given a, c: block (r, s) of the normal matrix is
// sum_k c_kr c_ks (a_r^T a_s) Phi_k Phi_k^T; zr = z - W_extra e.
void SolveB(const InitState& s, const MatrixXd& zr, Factors* f) {
  const Index N = s.N, R = f->a.cols(), steps = s.steps;
  const MatrixXd& a = f->a;
  const MatrixXd& c = f->c;
  const MatrixXd ata = a.transpose() * a;
  MatrixXd g = MatrixXd::Zero(N * R, N * R);
  MatrixXd h = MatrixXd::Zero(N, R);
  for (Index k = 0; k < s.K; ++k) {
    const auto phi_k = s.phi.middleCols(k * steps, steps);
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
      g.block(r1 * N, r2 * N, N, N) = g.block(r2 * N, r1 * N, N, N).transpose();
  const double scale = std::max(g.diagonal().mean(), 1e-12);
  g.diagonal().array() += s.ridge * scale;
  const VectorXd vec_b =
      g.ldlt().solve(Eigen::Map<const VectorXd>(h.data(), h.size()));
  f->b = Eigen::Map<const MatrixXd>(vec_b.data(), N, R);
}

// c given a, b, one trial at a time, or (with the prior, which couples the
// trials) one (K R) system with unknown k * R + r: the regression term on
// the fit's data-term scale (slope2 / (N S)) plus the prior's Hessian for
// each component.
void SolveC(const InitState& s,
            const MatrixXd& zr,
            const MatrixXd& smoothing_hessian,
            Factors* f) {
  const Index K = s.K, R = f->a.cols(), steps = s.steps;
  const MatrixXd ata2 = f->a.transpose() * f->a;
  const MatrixXd kap = f->b.transpose() * s.phi;
  const MatrixXd atz = f->a.transpose() * zr;  // R x S
  std::vector<MatrixXd> gcs(K);
  MatrixXd rhs(R, K);
  for (Index k = 0; k < K; ++k) {
    const auto kk = kap.middleCols(k * steps, steps);
    gcs[k] = ata2.cwiseProduct(kk * kk.transpose());
    rhs.col(k) =
        atz.middleCols(k * steps, steps).cwiseProduct(kk).rowwise().sum();
    gcs[k].diagonal().array() +=
        s.ridge * std::max(gcs[k].diagonal().mean(), 1e-12);
  }
  if (smoothing_hessian.size() == 0) {
    for (Index k = 0; k < K; ++k)
      f->c.row(k) = gcs[k].ldlt().solve(rhs.col(k)).transpose();
    return;
  }
  const double wd = s.slope2 / double(s.N * s.S);
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
  for (Index k = 0; k < K; ++k) f->c.row(k) = sol.segment(k * R, R).transpose();
}

// Balance: unit a_r and b_r, the scale in c (ltr) or split evenly.
void Balance(bool ltr, Factors* f) {
  for (Index i = 0; i < f->a.cols(); ++i) {
    const double na = f->a.col(i).norm(), nb = f->b.col(i).norm();
    if (na == 0 || nb == 0) continue;
    f->a.col(i) /= na;
    f->b.col(i) /= nb;
    if (ltr) {
      f->c.col(i) *= na * nb;
    } else {
      f->a.col(i) *= std::sqrt(na * nb);
      f->b.col(i) *= std::sqrt(na * nb);
    }
  }
}

// Low-rank and low-tensor-rank: the factors from the pooled W, refined by
// alternating least squares; sets a, b (and c) of *s.p and returns the
// extras' weights (those of the pooled W, w_extra, without ALS sweeps).
MatrixXd FitFactors(InitState* s,
                    const MatrixXd& w,
                    const MatrixXd& w_extra,
                    DataInitReport* report) {
  const bool ltr = s->p->kind == WeightKind::kLowTensorRank;
  const Index R = s->p->rank(), n_extra = s->n_extra;
  Factors f = StartFactors(*s, w, R);
  f.w_extra = w_extra;
  const MatrixXd smoothing_hessian = SmoothingHessian(*s);
  double previous = std::numeric_limits<double>::infinity();
  for (int it = 0; it < s->o.init_als_iterations; ++it) {
    report->als_iterations = it + 1;
    // a (and the extras) given b, c: z = a (c_k .* b^T phi) + W_extra e.
    MatrixXd dq(R + n_extra, s->S);
    dq << StructuredRegressors(*s, f), s->extra;
    const MatrixXd t = RidgeRegression(s->z, dq, s->ridge);
    f.a = t.leftCols(R);
    f.w_extra = t.rightCols(n_extra);
    const MatrixXd zr = s->z - f.w_extra * s->extra;
    SolveB(*s, zr, &f);
    if (ltr) SolveC(*s, zr, smoothing_hessian, &f);
    Balance(ltr, &f);
    // Held-out entries from the new model, then the one-step residual.
    s->ImputeStates([&](Index k) { return f.Weights(k); }, f.w_extra);
    const MatrixXd z_hat =
        f.a * StructuredRegressors(*s, f) + f.w_extra * s->extra;
    const double residual = (s->z - z_hat).squaredNorm();
    s->FillMissing(z_hat);
    if (std::isfinite(previous) && previous - residual <= 1e-6 * previous)
      break;
    previous = residual;
  }
  s->p->a = f.a;
  s->p->b = f.b;
  if (ltr) s->p->c = f.c;
  // One-step R^2 of the structured W (diagnostics).
  report->one_step_r2 =
      s->R2(f.a * StructuredRegressors(*s, f) + f.w_extra * s->extra);
  return f.w_extra;
}

// Inputs, then h or bias; x0 of each condition = the mean estimated x[0]
// of its trials.
void SetExtrasAndInitialStates(const InitState& s, const MatrixXd& w_extra) {
  RnnParameters* p = s.p;
  if (s.n_in > 0) p->w_in = w_extra.leftCols(s.n_in);
  if (s.use_h) {
    p->h = w_extra.middleCols(s.n_in, s.conditions);
    p->bias.setZero();
  } else {
    p->bias = w_extra.col(s.n_in);
  }
  MatrixXd x0_sum = MatrixXd::Zero(s.N, s.conditions);
  VectorXd x0_count = VectorXd::Zero(s.conditions);
  for (Index k = 0; k < s.K; ++k) {
    const Index cond = s.r.condition.empty() ? 0 : s.r.condition[k];
    x0_sum.col(cond) += s.x.col(k * s.T);
    x0_count(cond) += 1;
  }
  for (Index cnd = 0; cnd < s.conditions; ++cnd)
    if (x0_count(cnd) > 0) p->x0.col(cnd) = x0_sum.col(cnd) / x0_count(cnd);
}

}  // namespace

// The prior's Hessian over trials: it is quadratic in each column of c, so
// its gradient at the unit vector e_k is column k.
MatrixXd PriorHessian(const TrialSmoothingPenalty& penalty, Index trials) {
  MatrixXd hessian = MatrixXd::Zero(trials, trials);
  MatrixXd unit = MatrixXd::Zero(trials, 1), column(trials, 1);
  for (Index k = 0; k < trials; ++k) {
    unit(k, 0) = 1;
    column.setZero();
    penalty.Evaluate(unit, &column);
    hessian.col(k) = column.col(0);
    unit(k, 0) = 0;
  }
  return 0.5 * (hessian + MatrixXd(hessian.transpose()));
}

DataInitReport DataDrivenInitialization(const FitOptions& o,
                                        const Recording& r,
                                        const Mask3& train,
                                        RnnParameters* p) {
  const Clock::time_point start = Clock::now();
  DataInitReport report;
  InitState s(o, r, train, p);
  EstimateStates(&s);
  MatrixXd design;
  const MatrixXd theta = PooledRegression(&s, &design);
  MatrixXd w_extra = theta.rightCols(s.n_extra);
  if (p->kind == WeightKind::kFull) {
    p->w = theta.leftCols(s.N);
    report.one_step_r2 = s.R2(theta * design);
  } else {
    w_extra = FitFactors(&s, theta.leftCols(s.N), w_extra, &report);
  }
  SetExtrasAndInitialStates(s, w_extra);
  report.seconds = Seconds(start);
  return report;
}

}  // namespace ltr::internal
