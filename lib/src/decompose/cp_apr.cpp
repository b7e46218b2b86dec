// CP-APR (Chi and Kolda 2012; the Tensor Toolbox's cp_apr, algorithm 'mu'):
// Poisson nonnegative CP of counts X >= 0, minimising
//   f(M) = sum over observed entries of (M - X log M)
// over nonnegative Kruskal tensors M, one mode at a time. For mode n, with
// the other factors' columns of unit 1-norm (Pi: their Khatri-Rao product)
// and B = A_n diag(lambda), so that M_(n) = B Pi^T:
//   Phi = (W .* X ./ max(M, epsilon))_(n) Pi,   N = W_(n) Pi,
//   B <- B .* Phi ./ N                (at most max_inner_iterations times)
// with W the mask (1 = observed). Without a mask N = 1 (Pi's columns sum to
// 1) and this is the Toolbox's update. The mode's inner loop stops when its
// KKT violation max |min(B, 1 - Phi ./ N)| is below kkt_tolerance; the fit
// has converged when no mode needed an update. Both products with Pi are
// MTTKRPs (ltr::Mttkrp), so no Khatri-Rao product is formed.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/parallel.h"
#include "decompose/cp_internal.h"
#include "decompose/cp_kernels.h"

namespace ltr::internal {
namespace {

// What the modes share during a fit.
struct AprProblem {
  const CpOptions& options;
  const Tensor3& x;
  const Mask3* mask;
  Tensor3 weights;  // the mask as 0/1 values (empty without a mask)
  int threads() const { return options.run.num_threads; }
};

// The fit: factors with columns of unit 1-norm, the scale in `lambda`, and
// per mode the last Phi ./ N (for the inadmissible-zero test).
struct AprState {
  std::array<Matrix, 3> factors;
  Vector lambda;
  std::array<Matrix, 3> phi;
};

// Scales the columns of f to unit 1-norm (f >= 0) and returns the sums (0
// for a zero column, which stays zero).
Vector NormalizeColumnSums(Matrix* f) {
  Vector sums = f->colwise().sum().transpose();
  for (Index r = 0; r < f->cols(); ++r)
    if (sums[r] > 0) f->col(r) /= sums[r];
  return sums;
}

AprState StartState(Ktensor init) {
  AprState s;
  s.lambda = init.weights.cwiseAbs();
  for (int n = 0; n < 3; ++n) {
    s.factors[n] = init.factors[n].cwiseAbs();
    s.lambda = s.lambda.cwiseProduct(NormalizeColumnSums(&s.factors[n]));
    s.phi[n] = Matrix::Zero(s.factors[n].rows(), s.factors[n].cols());
  }
  return s;
}

// W .* X ./ max(M, epsilon) for the model whose factors are f (scale
// included), slice by slice of mode 0.
Tensor3 DataOverModel(const AprProblem& p, const std::array<Matrix, 3>& f) {
  const Dims& d = p.x.dims();
  const Index slice_size = d[1] * d[2];
  const double epsilon = p.options.apr.epsilon;
  Tensor3 ratio(d);
  ParallelFor(d[0], p.threads(), [&](Index begin, Index end) {
    Matrix model(d[2], d[1]);
    for (Index i = begin; i < end; ++i) {
      const Vector scale = f[0].row(i).transpose();
      model.noalias() = f[2] * scale.asDiagonal() * f[1].transpose();
      const double* xs = p.x.data() + i * slice_size;
      const std::uint8_t* ms = p.mask ? p.mask->data() + i * slice_size : 0;
      double* rs = ratio.data() + i * slice_size;
      for (Index n = 0; n < slice_size; ++n)
        rs[n] = ms && !ms[n] ? 0.0 : xs[n] / std::max(model.data()[n], epsilon);
    }
  });
  return ratio;
}

// Phi ./ N, with 1 where N is 0 (a row with nothing observed: the update
// leaves it, and it violates nothing).
void DivideByNormaliser(const Matrix& normaliser, Matrix* phi) {
  for (Index r = 0; r < phi->cols(); ++r)
    for (Index i = 0; i < phi->rows(); ++i) {
      const double n = normaliser(i, r);
      (*phi)(i, r) = n > 0 ? (*phi)(i, r) / n : 1.0;
    }
}

// Entries of factor n that are (almost) zero where the data want more mass
// (Phi > 1) are raised by kappa, else the multiplicative update cannot move
// them.
void ScoreInadmissibleZeros(const CpOptions::AprOptions& apr,
                            int n,
                            AprState* s) {
  Matrix& a = s->factors[n];
  for (Index r = 0; r < a.cols(); ++r)
    for (Index i = 0; i < a.rows(); ++i)
      if (a(i, r) < apr.kappa_tolerance && s->phi[n](i, r) > 1)
        a(i, r) += apr.kappa;
}

// Mode n's inner iterations. Returns true when its first KKT test passed
// (no update was needed); *violation is its last KKT violation, *inner the
// updates made.
bool UpdateMode(const AprProblem& p,
                int n,
                bool score_zeros,
                AprState* s,
                double* violation,
                int* inner) {
  const CpOptions::AprOptions& apr = p.options.apr;
  if (score_zeros) ScoreInadmissibleZeros(apr, n, s);
  std::array<Matrix, 3> f = s->factors;
  Matrix b = s->factors[n] * s->lambda.asDiagonal();
  const Matrix normaliser = p.mask ? Mttkrp(p.weights, f, n, p.threads())
                                   : Matrix::Ones(b.rows(), b.cols());
  bool converged = true;
  for (int k = 0; k < apr.max_inner_iterations; ++k) {
    f[n] = b;
    Matrix phi = Mttkrp(DataOverModel(p, f), f, n, p.threads());
    DivideByNormaliser(normaliser, &phi);
    *violation = b.cwiseMin(Matrix::Ones(b.rows(), b.cols()) - phi)
                     .cwiseAbs()
                     .maxCoeff();
    s->phi[n] = std::move(phi);
    if (*violation < apr.kkt_tolerance) break;
    converged = false;
    b = b.cwiseProduct(s->phi[n]);
    ++*inner;
  }
  s->lambda = NormalizeColumnSums(&b);
  s->factors[n] = std::move(b);
  return converged;
}

Ktensor Model(const AprState& s) {
  Ktensor k;
  k.weights = s.lambda;
  k.factors = s.factors;
  return k;
}

// Appends the iteration's errors; true to stop. Converged means the KKT
// test passed in every mode.
bool RecordOuterIteration(const AprProblem& p,
                          const AprState& s,
                          bool converged,
                          double violation,
                          CpSummary* summary) {
  const Ktensor model = Model(s);
  const int threads = p.threads();
  summary->deviance_history.push_back(
      PoissonDeviance(p.x, p.mask, model, p.options.apr.epsilon, threads));
  const double error = RelativeError(ResidualNorm2(p.x, p.mask, model, threads),
                                     SquaredNorm(p.x, p.mask));
  std::ostringstream message;
  if (converged && std::isfinite(error)) {
    summary->error_history.push_back(error);
    summary->iterations = static_cast<int>(summary->error_history.size());
    summary->converged = true;
    message << "converged: every mode's KKT violation < kkt_tolerance "
            << p.options.apr.kkt_tolerance << " at outer iteration "
            << summary->iterations;
    summary->message = message.str();
    return true;
  }
  CpOptions plain = p.options;
  plain.tolerance = 0;  // CP-APR stops on the KKT test alone
  if (!RecordIteration(plain, error, summary)) return false;
  message << summary->message << " (largest KKT violation " << violation
          << ", kkt_tolerance " << p.options.apr.kkt_tolerance << ")";
  summary->message = message.str();
  return true;
}

}  // namespace

double PoissonDeviance(const Tensor3& x,
                       const Mask3* mask,
                       const Ktensor& model,
                       double floor,
                       int num_threads) {
  return 2 *
         SumOverModel(x, mask, model, num_threads, [floor](double y, double m) {
           m = std::max(m, floor);
           return y > 0 ? y * std::log(y / m) - y + m : m;
         });
}

CpSummary CpApr(const CpOptions& options,
                const Tensor3& x,
                const Mask3* mask,
                Ktensor init) {
  AprProblem problem{options, x, mask, Tensor3()};
  if (mask) {
    problem.weights = Tensor3(x.dims());
    for (Index n = 0; n < x.size(); ++n)
      problem.weights.data()[n] = mask->data()[n] ? 1.0 : 0.0;
  }
  AprState state = StartState(std::move(init));
  CpSummary summary;
  int inner = 0;
  for (bool first = true;; first = false) {
    bool converged = true;
    double violation = 0;
    for (int n = 0; n < 3; ++n) {
      double mode_violation = 0;
      converged &=
          UpdateMode(problem, n, !first, &state, &mode_violation, &inner);
      violation = std::max(violation, mode_violation);
    }
    if (RecordOuterIteration(problem, state, converged, violation, &summary))
      break;
  }
  summary.message += "; " + std::to_string(inner) + " inner updates";
  summary.model = Model(state);
  return summary;
}

}  // namespace ltr::internal
