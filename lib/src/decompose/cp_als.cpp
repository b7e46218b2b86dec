// CP-ALS: dense sweeps through the dimension tree (cp_sweep.cpp), and, for
// masked data, either EM imputation (the same sweeps on a filled copy) or
// exact row-wise masked least squares (here).
//
// Which missing-data strategy to choose:
// - kExact solves, for every row of the updated factor, the R x R normal
//   equations built from that row's observed entries only. Each sweep costs
//   O(nnz R^2) and is exact block coordinate descent on the observed error,
//   so it converges as well at 50-90% missing as ALS does on dense data. It is
//   the accurate choice, and the cheaper one when few entries are observed.
// - kEm fills the missing entries with the current model and runs an ordinary
//   dense sweep (O(IJK R), two passes over the data). An iteration is fast,
//   but convergence slows roughly in proportion to the missing fraction, and
//   at high missingness it can take many times more iterations than kExact.
//   Preferable when little is missing (say < 20%) on large tensors.
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "decompose/cp_internal.h"
#include "decompose/cp_kernels.h"
#include "decompose/cp_linesearch.h"

namespace ltr::internal {
namespace {

// Accumulates the masked normal equations of mode `Mode` for the rows
// [begin, end) of that mode, solves them and writes the new rows (as columns
// of new_t, the transposed factor). ft are the transposed (R x I_n) factors
// of the other modes. Returns sum over those rows of the squared residual at
// the new rows, from the normal equations:
//   sum (x - z^T a)^2 = sum x^2 - 2 a^T rhs + a^T G a.
template <int Mode>
double MaskedRows(const Tensor3& x,
                  const Mask3& mask,
                  const std::array<Matrix, 3>& ft,
                  Index begin,
                  Index end,
                  Matrix* new_t) {
  const Dims& d = x.dims();
  const Index rank = ft[(Mode + 1) % 3].rows();
  const Index rows = end - begin;
  std::vector<double> g(static_cast<size_t>(rows * rank * rank), 0.0);
  Matrix rhs = Matrix::Zero(rank, rows);
  Vector xx = Vector::Zero(rows);
  Vector z(rank);

  const Index i0 = Mode == 0 ? begin : 0, i1 = Mode == 0 ? end : d[0];
  const Index j0 = Mode == 1 ? begin : 0, j1 = Mode == 1 ? end : d[1];
  const Index k0 = Mode == 2 ? begin : 0, k1 = Mode == 2 ? end : d[2];
  for (Index i = i0; i < i1; ++i) {
    for (Index j = j0; j < j1; ++j) {
      const Index offset = (i * d[1] + j) * d[2];
      const double* xv = x.data() + offset;
      const std::uint8_t* mv = mask.data() + offset;
      if (Mode == 2) z = ft[0].col(i).cwiseProduct(ft[1].col(j));
      for (Index k = k0; k < k1; ++k) {
        if (!mv[k]) continue;
        Index row;
        if (Mode == 0) {
          z = ft[1].col(j).cwiseProduct(ft[2].col(k));
          row = i - begin;
        } else if (Mode == 1) {
          z = ft[0].col(i).cwiseProduct(ft[2].col(k));
          row = j - begin;
        } else {
          row = k - begin;
        }
        const double value = xv[k];
        double* gr = g.data() + row * rank * rank;
        for (Index s = 0; s < rank; ++s) {
          const double zs = z[s];
          for (Index t = 0; t < rank; ++t) gr[s * rank + t] += zs * z[t];
        }
        rhs.col(row) += value * z;
        xx[row] += value * value;
      }
    }
  }

  double residual = 0;
  for (Index row = 0; row < rows; ++row) {
    Eigen::Map<const Matrix> gr(g.data() + row * rank * rank, rank, rank);
    const Vector a = SolveRowSystem(gr, rhs.col(row));
    new_t->col(begin + row) = a;
    residual += xx[row] - 2.0 * a.dot(rhs.col(row)) + a.dot(gr * a);
  }
  return residual;
}

// One exact masked least-squares update of `mode`; returns the squared
// residual over the observed entries (clamped at 0).
double MaskedModeUpdate(const Tensor3& x,
                        const Mask3& mask,
                        int mode,
                        int num_threads,
                        std::array<Matrix, 3>* ft) {
  Matrix new_t(ft->at(mode).rows(), x.dim(mode));
  auto partial =
      ParallelBlocks(x.dim(mode), num_threads, [&](Index begin, Index end) {
        switch (mode) {
          case 0:
            return MaskedRows<0>(x, mask, *ft, begin, end, &new_t);
          case 1:
            return MaskedRows<1>(x, mask, *ft, begin, end, &new_t);
          default:
            return MaskedRows<2>(x, mask, *ft, begin, end, &new_t);
        }
      });
  (*ft)[mode] = std::move(new_t);
  double residual = 0;
  for (double p : partial) residual += p;
  return std::max(0.0, residual);
}

// The transposed factors and weights as a sweep point and back.
SweepPoint ToPoint(const std::array<Matrix, 3>& ft, const Vector& weights) {
  SweepPoint point;
  for (int n = 0; n < 3; ++n) point.f[n] = ft[n].transpose();
  point.weights = weights;
  return point;
}

CpSummary CpAlsExactMasked(const CpOptions& options,
                           const Tensor3& x,
                           const Mask3& mask,
                           double x_norm2,
                           Ktensor init) {
  // Factors are kept transposed (R x I_n) so that a row is contiguous, and
  // with unit columns; the weights go into the factor being updated.
  std::array<Matrix, 3> ft;
  Vector weights = init.weights;
  for (int n = 0; n < 3; ++n) {
    weights = weights.cwiseProduct(NormalizeColumns(&init.factors[n]));
    ft[n] = init.factors[n].transpose();
  }
  LineSearch search(options, {false, false, false}, 0);
  CpSummary summary;
  for (;;) {
    const int iteration = summary.iterations + 1;
    const bool try_point = search.Wanted(summary.error_history) &&
                           iteration < options.max_iterations;
    SweepPoint before;
    if (try_point) before = ToPoint(ft, weights);
    double residual2 = 0;
    for (int mode = 0; mode < 3; ++mode) {
      residual2 = MaskedModeUpdate(x, mask, mode, options.run.num_threads, &ft);
      Matrix f = ft[mode].transpose();
      weights = NormalizeColumns(&f);
      ft[mode] = f.transpose();
    }
    if (try_point) {
      // The point's error over the observed entries: one pass over x.
      SweepPoint point =
          search.Extrapolate(before, ToPoint(ft, weights), iteration);
      const double point_residual2 = ResidualNorm2(
          x, &mask, Ktensor{point.weights, point.f}, options.run.num_threads);
      if (point_residual2 < residual2) {
        search.Accepted();
        ++summary.extrapolations;
        residual2 = point_residual2;
        weights = point.weights;
        for (int n = 0; n < 3; ++n) ft[n] = point.f[n].transpose();
      } else {
        search.Rejected();
      }
    }
    if (RecordIteration(options, RelativeError(residual2, x_norm2), &summary))
      break;
  }
  summary.model.weights = weights;
  for (int n = 0; n < 3; ++n) summary.model.factors[n] = ft[n].transpose();
  return summary;
}

}  // namespace

CpSummary CpAls(const CpOptions& options,
                const Tensor3& x,
                const Mask3* mask,
                double x_norm2,
                Ktensor init) {
  if (mask && options.missing_data == MissingData::kExact)
    return CpAlsExactMasked(options, x, *mask, x_norm2, std::move(init));
  return RunSweeps(
      options, x, mask, x_norm2, std::move(init), {false, false, false});
}

}  // namespace ltr::internal
