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
// has converged when no mode needed an update. No Khatri-Rao product is
// formed: N is an MTTKRP (ltr::Mttkrp), and Phi is summed over the observed
// nonzero entries only, the only ones where W .* X ./ M is not 0 (spike
// counts are mostly zeros), with the model evaluated only there.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

#include "core/parallel.h"
#include "decompose/cp_internal.h"
#include "decompose/cp_kernels.h"

namespace ltr::internal {
namespace {

// The observed nonzero entries of x: their indices (i, j, k) and values,
// 20 bytes each.
struct Nonzeros {
  std::vector<std::array<std::int32_t, 3>> index;
  std::vector<double> value;
};

Nonzeros ObservedNonzeros(const Tensor3& x, const Mask3* mask) {
  const Dims& d = x.dims();
  Nonzeros z;
  Index flat = 0;
  for (Index i = 0; i < d[0]; ++i)
    for (Index j = 0; j < d[1]; ++j)
      for (Index k = 0; k < d[2]; ++k, ++flat) {
        if (x.data()[flat] == 0 || (mask && !mask->data()[flat])) continue;
        z.index.push_back({static_cast<std::int32_t>(i),
                           static_cast<std::int32_t>(j),
                           static_cast<std::int32_t>(k)});
        z.value.push_back(x.data()[flat]);
      }
  return z;
}

// What the modes share during a fit.
struct AprProblem {
  const CpOptions& options;
  const Tensor3& x;
  const Mask3* mask;
  Tensor3 weights;  // the mask as 0/1 values (empty without a mask)
  double norm2;     // ||X||^2 over the observed entries
  // Phi is summed over `nonzeros` when they are few (sparse), else over every
  // entry through `ratio`, reused between inner iterations.
  bool sparse;
  Nonzeros nonzeros;
  mutable Tensor3 ratio;
  int threads() const { return options.run.num_threads; }
};

// Summing over the nonzeros costs about three times as much per nonzero as
// the dense pass per entry (measured at rank 3: the two tie on the human MTL
// counts, 29 % nonzero; the dense pass is 2.5 times faster on the BCI
// counts, 84 %): below this fraction the sparse sum is used.
constexpr double kSparseBelow = 0.25;

bool UseSparse(const Tensor3& x, const Mask3* mask) {
  Index nonzeros = 0;
  for (Index n = 0; n < x.size(); ++n)
    nonzeros += x.data()[n] != 0 && (!mask || mask->data()[n]);
  return static_cast<double>(nonzeros) <
         kSparseBelow * static_cast<double>(x.size());
}

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

// Pi's rows at the nonzeros for mode n (rank x nonzeros): column t is the
// product of the other two factors' rows at nonzero t. Fixed during the
// mode's inner iterations, so it is formed once for them.
Matrix PiAtNonzeros(const AprProblem& p,
                    const std::array<Matrix, 3>& f,
                    int n) {
  const int a = n == 0 ? 1 : 0, c = n == 2 ? 1 : 2;
  const Matrix fa = f[a].transpose(), fc = f[c].transpose();
  const Nonzeros& z = p.nonzeros;
  Matrix pi(f[n].cols(), static_cast<Index>(z.value.size()));
  ParallelFor(pi.cols(), p.threads(), [&](Index begin, Index end) {
    for (Index t = begin; t < end; ++t)
      pi.col(t) = fa.col(z.index[t][a]).cwiseProduct(fc.col(z.index[t][c]));
  });
  return pi;
}

// Phi's rows (rank x rows, column i for row i) summed over the nonzeros
// [begin, end), in chunks whose divisions vectorise. Rank is a template
// argument up to 8: with a run-time trip count of a few, the compiler's
// vectorised loops and their horizontal sums cost more than the arithmetic.
template <int kRank>
Matrix SumPhi(const AprProblem& p,
              const Matrix& bt,
              const Matrix& pi,
              int n,
              Index begin,
              Index end) {
  constexpr Index kChunk = 512;
  const Index rank = kRank > 0 ? kRank : bt.rows();
  const double epsilon = p.options.apr.epsilon;
  const Nonzeros& z = p.nonzeros;
  Matrix part = Matrix::Zero(rank, bt.cols());
  double ratio[kChunk];
  for (Index c0 = begin; c0 < end; c0 += kChunk) {
    const Index size = std::min(end - c0, kChunk);
    for (Index e = 0; e < size; ++e) {
      const double* row = bt.data() + z.index[c0 + e][n] * rank;
      const double* pt = pi.data() + (c0 + e) * rank;
      double m = 0;
      for (Index r = 0; r < rank; ++r) m += row[r] * pt[r];
      ratio[e] = m;
    }
    for (Index e = 0; e < size; ++e)
      ratio[e] = z.value[c0 + e] / std::max(ratio[e], epsilon);
    for (Index e = 0; e < size; ++e) {
      double* out = part.data() + z.index[c0 + e][n] * rank;
      const double* pt = pi.data() + (c0 + e) * rank;
      for (Index r = 0; r < rank; ++r) out[r] += ratio[e] * pt[r];
    }
  }
  return part;
}

// Phi = (W .* X ./ max(M, epsilon))_(n) Pi for the mode-n factor b (scale
// included): the sum over the observed nonzeros t of
// (x_t / max(m_t, epsilon)) pi_t, m_t = <b's row, pi_t>. Each thread sums a
// block of them into its own copy; the copies are added in block order.
Matrix SparsePhi(const AprProblem& p,
                 const Matrix& b,
                 const Matrix& pi,
                 int n) {
  const Matrix bt = b.transpose();  // rows as contiguous columns
  using Kernel = Matrix (*)(
      const AprProblem&, const Matrix&, const Matrix&, int, Index, Index);
  static constexpr Kernel kKernels[] = {SumPhi<0>,
                                        SumPhi<1>,
                                        SumPhi<2>,
                                        SumPhi<3>,
                                        SumPhi<4>,
                                        SumPhi<5>,
                                        SumPhi<6>,
                                        SumPhi<7>,
                                        SumPhi<8>};
  const Kernel kernel = b.cols() <= 8 ? kKernels[b.cols()] : SumPhi<0>;
  const auto parts =
      ParallelBlocks(pi.cols(), p.threads(), [&](Index begin, Index end) {
        return kernel(p, bt, pi, n, begin, end);
      });
  Matrix phi = parts[0];
  for (size_t k = 1; k < parts.size(); ++k) phi += parts[k];
  return phi.transpose();
}

// Phi by a pass over every entry: W .* X ./ max(M, epsilon) into p.ratio
// slice by slice of mode 0, then its MTTKRP.
Matrix DensePhi(const AprProblem& p, const std::array<Matrix, 3>& f, int n) {
  const Dims& d = p.x.dims();
  const Index slice_size = d[1] * d[2];
  const double epsilon = p.options.apr.epsilon;
  if (p.ratio.dims() != d) p.ratio = Tensor3(d);
  ParallelFor(d[0], p.threads(), [&](Index begin, Index end) {
    Matrix model(d[2], d[1]);
    for (Index i = begin; i < end; ++i) {
      const Vector scale = f[0].row(i).transpose();
      model.noalias() = f[2] * scale.asDiagonal() * f[1].transpose();
      const double* xs = p.x.data() + i * slice_size;
      const double* ms = model.data();
      double* rs = p.ratio.data() + i * slice_size;
      if (p.mask) {
        const std::uint8_t* w = p.mask->data() + i * slice_size;
        for (Index e = 0; e < slice_size; ++e)
          rs[e] = w[e] ? xs[e] / std::max(ms[e], epsilon) : 0.0;
      } else {
        for (Index e = 0; e < slice_size; ++e)
          rs[e] = xs[e] / std::max(ms[e], epsilon);
      }
    }
  });
  return Mttkrp(p.ratio, f, n, p.threads());
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
  const Matrix pi = p.sparse ? PiAtNonzeros(p, f, n) : Matrix();
  bool converged = true;
  for (int k = 0; k < apr.max_inner_iterations; ++k) {
    f[n] = b;
    Matrix phi = p.sparse ? SparsePhi(p, b, pi, n) : DensePhi(p, f, n);
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
  const double error =
      RelativeError(ResidualNorm2(p.x, p.mask, model, threads), p.norm2);
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
  const bool sparse = UseSparse(x, mask);
  AprProblem problem{options,
                     x,
                     mask,
                     Tensor3(),
                     SquaredNorm(x, mask),
                     sparse,
                     sparse ? ObservedNonzeros(x, mask) : Nonzeros(),
                     Tensor3()};
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
