// The alternating sweep shared by CP-ALS and nonnegative HALS on dense data
// (or on masked data by EM imputation), and the small linear-algebra helpers
// of the CP methods.
#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>

#include "core/parallel.h"
#include "decompose/cp_kernels.h"
#include "decompose/cp_linesearch.h"

namespace ltr::internal {
namespace {

// Entries of a nonnegative factor never go below this, so that no column
// becomes exactly zero (a zero column would stay zero for good: its
// component's MTTKRP columns in the other modes vanish too).
constexpr double kNonnegFloor = 1e-16;
// A Cholesky factor whose reciprocal condition number is below this is not
// trusted; the ridge added then is this much of the mean diagonal.
constexpr double kMinRcond = 1e-12;
constexpr double kRidge = 1e-10;

Matrix PseudoInverse(const Matrix& v) {
  Eigen::SelfAdjointEigenSolver<Matrix> eig(v);
  const Vector& values = eig.eigenvalues();
  const double largest = values.cwiseAbs().maxCoeff();
  const double threshold = largest * static_cast<double>(v.rows()) *
                           std::numeric_limits<double>::epsilon();
  Vector inverse(values.size());
  for (Index r = 0; r < values.size(); ++r)
    inverse[r] = values[r] > threshold ? 1.0 / values[r] : 0.0;
  return eig.eigenvectors() * inverse.asDiagonal() *
         eig.eigenvectors().transpose();
}

// Updates the rows of one mode's factor from its MTTKRP rows, by least
// squares or, on a nonnegative mode, by one HALS pass over the columns.
// Both are row-separable, which the blocked MTTKRP pass relies on.
class ModeSolver {
 public:
  // v: Hadamard product of the other modes' Grams.
  ModeSolver(const Matrix& v, bool nonneg) : v_(v), nonneg_(nonneg) {
    if (!nonneg_) p_ = GramInverse(v);
  }

  // rows: the current rows (with the weights absorbed) on entry, the new rows
  // on return.
  void Apply(const Matrix& m, Eigen::Ref<Matrix> rows) const {
    if (!nonneg_) {
      rows.noalias() = m * p_;
      return;
    }
    // a_r <- max(floor, a_r + (m_r - A v_r) / v_rr), columns in turn.
    for (Index r = 0; r < v_.cols(); ++r) {
      const double vrr = v_(r, r);
      if (!(vrr > 0)) continue;
      Vector step = (m.col(r) - rows * v_.col(r)) / vrr;
      rows.col(r) = (rows.col(r) + step).cwiseMax(kNonnegFloor);
    }
  }

 private:
  Matrix v_;
  Matrix p_;
  bool nonneg_;
};

// EM step: writes the model's value into every missing entry of *filled and
// returns the squared residual over the observed entries.
double FillMissing(const Tensor3& x,
                   const Mask3& mask,
                   const Vector& weights,
                   const std::array<Matrix, 3>& f,
                   int num_threads,
                   Tensor3* filled) {
  const Dims& d = x.dims();
  const Index slice_size = d[1] * d[2];
  auto partial = ParallelBlocks(d[0], num_threads, [&](Index begin, Index end) {
    double residual = 0;
    Matrix model(d[2], d[1]);
    for (Index i = begin; i < end; ++i) {
      const Vector scale = weights.cwiseProduct(f[0].row(i).transpose());
      model.noalias() = f[2] * scale.asDiagonal() * f[1].transpose();
      const double* xs = x.data() + i * slice_size;
      const std::uint8_t* ms = mask.data() + i * slice_size;
      double* fs = filled->data() + i * slice_size;
      const double* mv = model.data();
      for (Index n = 0; n < slice_size; ++n) {
        if (ms[n]) {
          const double r = xs[n] - mv[n];
          residual += r * r;
        } else {
          fs[n] = mv[n];
        }
      }
    }
    return residual;
  });
  double residual = 0;
  for (double p : partial) residual += p;
  return residual;
}

}  // namespace

double ResidualNorm2(const Tensor3& x,
                     const Mask3* mask,
                     const Ktensor& model,
                     int num_threads) {
  return SumOverModel(x, mask, model, num_threads, [](double y, double m) {
    return (y - m) * (y - m);
  });
}

Matrix GramInverse(const Matrix& v) {
  const Index n = v.rows();
  const Matrix identity = Matrix::Identity(n, n);
  Eigen::LLT<Matrix> llt(v);
  if (llt.info() == Eigen::Success && llt.rcond() > kMinRcond)
    return llt.solve(identity);
  const double mean_diagonal = v.trace() / static_cast<double>(n);
  if (mean_diagonal > 0 && std::isfinite(mean_diagonal)) {
    llt.compute(v + kRidge * mean_diagonal * identity);
    if (llt.info() == Eigen::Success && llt.rcond() > kMinRcond)
      return llt.solve(identity);
  }
  return PseudoInverse(v);
}

Vector SolveRowSystem(const Matrix& g, const Vector& rhs) {
  const Index n = g.rows();
  const double mean_diagonal = g.trace() / static_cast<double>(n);
  if (!(mean_diagonal > 0)) return Vector::Zero(n);
  Eigen::LLT<Matrix> llt(g);
  if (llt.info() == Eigen::Success && llt.rcond() > kMinRcond)
    return llt.solve(rhs);
  llt.compute(g + kRidge * mean_diagonal * Matrix::Identity(n, n));
  if (llt.info() == Eigen::Success && llt.rcond() > kMinRcond)
    return llt.solve(rhs);
  return PseudoInverse(g) * rhs;
}

double ResidualNorm2FromGrams(double x_norm2,
                              const Vector& weights,
                              const std::array<Matrix, 3>& gram,
                              double inner) {
  const double model_norm2 = weights.dot(
      gram[0].cwiseProduct(gram[1]).cwiseProduct(gram[2]) * weights);
  return std::max(0.0, x_norm2 + model_norm2 - 2.0 * inner);
}

double RelativeError(double residual2, double x_norm2) {
  return x_norm2 > 0 ? std::sqrt(residual2 / x_norm2) : std::sqrt(residual2);
}

Vector NormalizeColumns(Matrix* f) {
  Vector norms(f->cols());
  for (Index r = 0; r < f->cols(); ++r) {
    norms[r] = f->col(r).norm();
    if (norms[r] > 0) f->col(r) /= norms[r];
  }
  return norms;
}

bool RecordIteration(const CpOptions& options,
                     double relative_error,
                     CpSummary* summary) {
  auto& history = summary->error_history;
  history.push_back(relative_error);
  summary->iterations = static_cast<int>(history.size());
  std::ostringstream message;
  if (!std::isfinite(relative_error)) {
    summary->converged = false;
    message << "stopped: the relative error became non-finite at iteration "
            << summary->iterations;
    summary->message = message.str();
    return true;
  }
  if (options.tolerance > 0 && history.size() >= 2) {
    const double change =
        std::abs(history.back() - history[history.size() - 2]);
    if (change < options.tolerance) {
      summary->converged = true;
      message << "converged: relative error changed by " << change
              << " < tolerance " << options.tolerance << " at iteration "
              << summary->iterations;
      summary->message = message.str();
      return true;
    }
  }
  if (options.run.cancelled()) {
    summary->converged = false;
    message << "interrupted after iteration " << summary->iterations;
    summary->message = message.str();
    return true;
  }
  if (summary->iterations >= options.max_iterations) {
    summary->converged = false;
    message << "stopped after max_iterations = " << options.max_iterations;
    if (options.tolerance > 0) message << " without meeting the tolerance";
    summary->message = message.str();
    return true;
  }
  return false;
}

namespace {

// The data the sweeps run on and what the line search needs to measure a
// point on it.
struct SweepData {
  const Tensor3& x;
  const Mask3* mask;
  Tensor3* filled;  // the EM copy (null without a mask)
  double x_norm2;
  int threads;
};

// The squared residual of `point`; without a mask, *m0 receives the mode-0
// MTTKRP that measured it (the next sweep's first MTTKRP when the point is
// kept).
double PointResidual2(const SweepData& d,
                      const SweepPoint& point,
                      std::array<Matrix, 3>* gram,
                      Matrix* m0) {
  for (int n = 0; n < 3; ++n) (*gram)[n] = point.f[n].transpose() * point.f[n];
  if (d.mask)
    return ResidualNorm2(
        d.x, d.mask, Ktensor{point.weights, point.f}, d.threads);
  *m0 = MttkrpMode0(d.x, point.f[1], point.f[2], d.threads);
  return ResidualNorm2FromGrams(
      d.x_norm2, point.weights, *gram, InnerFromMode0(point, *m0));
}

// After the sweep from `before` to *current (residual *residual2), tries the
// line-search point and keeps it in *current (with its Grams, residual and,
// without a mask, *m0_next) when its residual is lower.
void TryLineSearch(const SweepData& d,
                   int iteration,
                   const SweepPoint& before,
                   LineSearch* search,
                   SweepPoint* current,
                   std::array<Matrix, 3>* gram,
                   double* residual2,
                   std::optional<Matrix>* m0_next,
                   CpSummary* summary) {
  SweepPoint point = search->Extrapolate(before, *current, iteration);
  std::array<Matrix, 3> point_gram;
  Matrix m0;
  const double point_residual2 = PointResidual2(d, point, &point_gram, &m0);
  if (!(point_residual2 < *residual2)) {
    search->Rejected();
    return;
  }
  search->Accepted();
  ++summary->extrapolations;
  *current = std::move(point);
  *gram = std::move(point_gram);
  *residual2 = point_residual2;
  if (d.mask)
    FillMissing(
        d.x, *d.mask, current->weights, current->f, d.threads, d.filled);
  else
    *m0_next = std::move(m0);
}

}  // namespace

CpSummary RunSweeps(const CpOptions& options,
                    const Tensor3& x,
                    const Mask3* mask,
                    double x_norm2,
                    Ktensor init,
                    const std::array<bool, 3>& nonneg) {
  const int threads = options.run.num_threads;
  SweepPoint p{std::move(init.factors), std::move(init.weights)};
  std::array<Matrix, 3>& f = p.f;
  Vector& weights = p.weights;
  std::array<Matrix, 3> gram;
  for (int n = 0; n < 3; ++n) {
    if (nonneg[n]) f[n] = f[n].cwiseAbs();
    weights = weights.cwiseProduct(NormalizeColumns(&f[n]));
    gram[n] = f[n].transpose() * f[n];
  }

  // With a mask, the sweeps run on a copy whose missing entries hold the
  // current model (EM imputation).
  Tensor3 filled;
  if (mask) {
    filled = x;
    FillMissing(x, *mask, weights, f, threads, &filled);
  }
  const Tensor3& data = mask ? filled : x;
  // Line-search points are measured on the observed entries of x.
  const SweepData sweep_data{
      x, mask, mask ? &filled : nullptr, x_norm2, threads};
  LineSearch search(options, nonneg, kNonnegFloor);

  CpSummary summary;
  Matrix m2;
  std::optional<Matrix> m0_next;  // from a kept line-search point
  for (;;) {
    const int iteration = summary.iterations + 1;
    const bool try_point = search.Wanted(summary.error_history) &&
                           iteration < options.max_iterations;
    SweepPoint before;
    if (try_point) before = p;
    // Mode 0 (pass 1).
    {
      const Matrix m0 = m0_next ? std::move(*m0_next)
                                : MttkrpMode0(data, f[1], f[2], threads);
      m0_next.reset();
      const ModeSolver solver(gram[1].cwiseProduct(gram[2]), nonneg[0]);
      Matrix rows = f[0] * weights.asDiagonal();
      solver.Apply(m0, rows);
      f[0] = std::move(rows);
      weights = NormalizeColumns(&f[0]);
      gram[0] = f[0].transpose() * f[0];
    }
    // Modes 1 and 2 (pass 2 of the dimension tree).
    {
      const ModeSolver solver(gram[0].cwiseProduct(gram[2]), nonneg[1]);
      Matrix b = f[1] * weights.asDiagonal();
      MttkrpTree12(
          data,
          f[0],
          f[2],
          [&](Index, const Matrix& m1, Eigen::Ref<Matrix> rows) {
            solver.Apply(m1, rows);
          },
          threads,
          &b,
          &m2);
      f[1] = std::move(b);
      weights = NormalizeColumns(&f[1]);
      gram[1] = f[1].transpose() * f[1];
      // m2 was accumulated with the unnormalised rows of B.
      for (Index r = 0; r < m2.cols(); ++r)
        m2.col(r) *= weights[r] > 0 ? 1.0 / weights[r] : 0.0;
    }
    double inner;  // <X, M>
    {
      const ModeSolver solver(gram[0].cwiseProduct(gram[1]), nonneg[2]);
      Matrix c = f[2] * weights.asDiagonal();
      solver.Apply(m2, c);
      inner = m2.cwiseProduct(c).sum();
      f[2] = std::move(c);
      weights = NormalizeColumns(&f[2]);
      gram[2] = f[2].transpose() * f[2];
    }

    double residual2 =
        mask ? FillMissing(x, *mask, weights, f, threads, &filled)
             : ResidualNorm2FromGrams(x_norm2, weights, gram, inner);
    if (try_point)
      TryLineSearch(sweep_data,
                    iteration,
                    before,
                    &search,
                    &p,
                    &gram,
                    &residual2,
                    &m0_next,
                    &summary);
    if (RecordIteration(options, RelativeError(residual2, x_norm2), &summary))
      break;
  }
  summary.model.weights = std::move(weights);
  summary.model.factors = std::move(f);
  return summary;
}

}  // namespace ltr::internal
