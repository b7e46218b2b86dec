// Tucker decomposition: ST-HOSVD from Gram eigendecompositions, and HOOI.
#include "ltr/decompose/tucker.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "core/parallel.h"
#include "ltr/core/error.h"

namespace ltr {
namespace {

const char* MethodName(TuckerMethod method) {
  return method == TuckerMethod::kHooi ? "HOOI" : "ST-HOSVD";
}

// Eigenpairs of a symmetric matrix, eigenvalues descending. Each eigenvector
// has its entry of largest magnitude positive, so results are reproducible.
void SortedEigen(const Matrix& gram, Vector* values, Matrix* vectors) {
  Eigen::SelfAdjointEigenSolver<Matrix> solver(gram);
  *values = solver.eigenvalues().reverse();
  *vectors = solver.eigenvectors().rowwise().reverse();
  for (Index c = 0; c < vectors->cols(); ++c) {
    Index at = 0;
    vectors->col(c).cwiseAbs().maxCoeff(&at);
    if ((*vectors)(at, c) < 0) vectors->col(c) *= -1.0;
  }
}

// The smallest r >= 1 whose discarded eigenvalues (descending order, indices
// r and up) sum to at most budget.
int SmallestRank(const Vector& values, double budget) {
  const Index n = values.size();
  Index r = n;
  double tail = 0;
  for (Index i = n - 1; i >= 1; --i) {
    const double next = tail + std::max(0.0, values[i]);
    if (next > budget) break;
    tail = next;
    r = i;
  }
  return static_cast<int>(r);
}

// ||X - M|| / ||X|| from an explicit residual, slice by slice, without
// forming M. Slice i of M (K x J) is U2 S_i U1^T with
// S_i = sum_a U0(i, a) core_a.
double ResidualRelativeError(const Tensor3& x,
                             const TuckerTensor& m,
                             double norm2,
                             int num_threads) {
  const Dims& d = x.dims();
  const Dims& r = m.core.dims();
  Eigen::Map<const Matrix> core(m.core.data(), r[1] * r[2], r[0]);
  auto partials =
      ParallelBlocks(d[0], num_threads, [&](Index begin, Index end) {
        double sum = 0;
        Vector s(r[1] * r[2]);
        Matrix slice(d[2], d[1]);
        for (Index i = begin; i < end; ++i) {
          s.noalias() = core * m.factors[0].row(i).transpose();
          Eigen::Map<const Matrix> si(s.data(), r[2], r[1]);
          slice.noalias() = m.factors[2] * si * m.factors[1].transpose();
          sum += (slice - x.Slice(i)).squaredNorm();
        }
        return sum;
      });
  double residual = 0;
  for (double p : partials) residual += p;
  return norm2 > 0 ? std::sqrt(residual / norm2) : std::sqrt(residual);
}

// Relative error of a Tucker model with orthonormal factors, from
// ||X - M||^2 = ||X||^2 - ||core||^2.
double CheapRelativeError(double norm2, const Tensor3& core) {
  if (norm2 <= 0) return 0;
  const double diff = norm2 - core.AsVector().squaredNorm();
  return std::sqrt(std::max(0.0, diff) / norm2);
}

}  // namespace

bool TuckerOptions::IsValid(const Dims& dims, std::string* error) const {
  auto fail = [error](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (method != TuckerMethod::kHosvd && method != TuckerMethod::kHooi)
    return fail("unknown Tucker method");
  bool any_chosen = false;
  for (int n = 0; n < 3; ++n) {
    if (dims[n] < 1)
      return fail("tensor of dimensions " + DimsToString(dims) + " is empty");
    if (ranks[n] < 0 || ranks[n] > dims[n])
      return fail("rank " + std::to_string(ranks[n]) + " of mode " +
                  std::to_string(n) + " must be in [0, " +
                  std::to_string(dims[n]) + "] (0: chosen by tolerance)");
    if (ranks[n] == 0) any_chosen = true;
  }
  if (any_chosen && !(error_tolerance > 0 && error_tolerance < 1))
    return fail(
        "error_tolerance must be in (0, 1) when ranks are chosen, got " +
        std::to_string(error_tolerance));
  if (max_iterations < 0) return fail("max_iterations must be >= 0");
  if (!(tolerance >= 0)) return fail("tolerance must be >= 0");
  if (run.num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

std::string TuckerSummary::BriefReport() const {
  std::ostringstream out;
  const Dims& r = model.core.dims();
  out << "Tucker ranks " << DimsToString(r) << ": relative error "
      << relative_error << ", " << iterations << " iterations, "
      << (converged ? "converged" : "not converged") << ", " << seconds
      << " s. " << message;
  return out.str();
}

TuckerSummary Tucker(const TuckerOptions& options, const Tensor3& x) {
  const auto start = std::chrono::steady_clock::now();
  std::string why;
  if (!options.IsValid(x.dims(), &why))
    throw Error("Tucker: invalid options for a " + DimsToString(x.dims()) +
                " tensor: " + why);
  if (!AllFinite(x))
    throw Error("Tucker: the " + DimsToString(x.dims()) +
                " tensor has non-finite entries");
  const int threads = options.run.num_threads;
  const double norm2 = SquaredNorm(x);
  // Each chosen mode may discard this much of ||X||^2; the ST-HOSVD error is
  // the sum of what the three modes discard, so at most tolerance^2 ||X||^2.
  const double budget =
      options.error_tolerance * options.error_tolerance * norm2 / 3.0;

  // ST-HOSVD: modes in order, truncating the tensor after each.
  TuckerTensor model;
  std::array<int, 3> ranks = options.ranks;
  Tensor3 y = x;
  for (int n = 0; n < 3; ++n) {
    Vector values;
    Matrix vectors;
    SortedEigen(ModeGram(y, n, threads), &values, &vectors);
    if (ranks[n] == 0) ranks[n] = SmallestRank(values, budget);
    model.factors[n] = vectors.leftCols(ranks[n]);
    y = ModeProduct(y, model.factors[n].transpose(), n);
  }
  model.core = std::move(y);

  TuckerSummary summary;
  summary.iterations = 0;
  summary.converged = true;
  double error = CheapRelativeError(norm2, model.core);
  std::ostringstream message;
  message << MethodName(options.method);

  if (options.method == TuckerMethod::kHooi) {
    summary.converged = false;
    for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
      // Mode 0: X x_1 U1^T x_2 U2^T.
      Tensor3 p = ModeProduct(x, model.factors[1].transpose(), 1);
      p = ModeProduct(p, model.factors[2].transpose(), 2);
      Vector values;
      Matrix vectors;
      SortedEigen(ModeGram(p, 0, threads), &values, &vectors);
      model.factors[0] = vectors.leftCols(ranks[0]);
      // X x_0 U0^T is shared by modes 1 and 2.
      const Tensor3 t0 = ModeProduct(x, model.factors[0].transpose(), 0);
      p = ModeProduct(t0, model.factors[2].transpose(), 2);
      SortedEigen(ModeGram(p, 1, threads), &values, &vectors);
      model.factors[1] = vectors.leftCols(ranks[1]);
      p = ModeProduct(t0, model.factors[1].transpose(), 1);
      SortedEigen(ModeGram(p, 2, threads), &values, &vectors);
      model.factors[2] = vectors.leftCols(ranks[2]);
      model.core = ModeProduct(p, model.factors[2].transpose(), 2);

      const double previous = error;
      error = CheapRelativeError(norm2, model.core);
      summary.error_history.push_back(error);
      summary.iterations = iteration;
      if (std::abs(previous - error) < options.tolerance) {
        summary.converged = true;
        break;
      }
      if (options.run.cancelled()) break;
    }
    if (options.run.cancelled() && !summary.converged)
      message << ": interrupted after iteration " << summary.iterations;
    else if (summary.converged)
      message << ": relative-error change below " << options.tolerance;
    else
      message << ": stopped after max_iterations = " << options.max_iterations;
  }

  // ||X||^2 - ||core||^2 loses all digits of a small error to cancellation
  // (an error of 1e-8 is round-off); below 1e-4 measure the residual itself.
  if (error < 1e-4) error = ResidualRelativeError(x, model, norm2, threads);
  summary.relative_error = error;
  summary.model = std::move(model);
  summary.message = message.str();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return summary;
}

}  // namespace ltr
