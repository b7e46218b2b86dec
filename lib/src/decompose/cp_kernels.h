// Building blocks shared by the CP methods: the two MTTKRP passes of the
// dimension tree, the Gram solve, and the alternating sweep used by CP-ALS
// and nonnegative HALS (dense data, or masked data by EM imputation).
//
// Dimension tree. With X stored row-major (i, j, k), one ALS sweep makes two
// passes over the data:
//   pass 1 (mode 0): for every slice S_i (K x J), T = S_i B (K x R) and
//     M0(i, r) = sum_k T(k, r) C(k, r);
//   pass 2 (modes 1 and 2): the partial contraction Y = X x_0 A^T, i.e.
//     Y(j, k, r) = sum_i X(i, j, k) A(i, r), a single GEMM on the (JK) x I
//     column-major view of X; then M1(j, r) = sum_k Y(j, k, r) C(k, r).
//     Each row of the new B depends only on the same row of M1, so the pass
//     runs over blocks of j: it forms Y for a block (a few hundred KB, kept in
//     cache), the block's M1 rows and new B rows, and accumulates
//     M2(k, r) += sum_j Y(j, k, r) B_new(j, r) for the C update.
// That is ~4 IJK R flops and two reads of X per sweep, with no Khatri-Rao
// product and no workspace proportional to the tensor.
#ifndef LTR_SRC_CP_KERNELS_H_
#define LTR_SRC_CP_KERNELS_H_

#include <array>
#include <functional>

#include "core/parallel.h"
#include "ltr/core/tensor.h"
#include "ltr/decompose/cp.h"

namespace ltr::internal {

// Mode-0 MTTKRP, I x R: M0(i, r) = sum_jk X(i, j, k) B(j, r) C(k, r).
// Threads own disjoint rows, so the result does not depend on num_threads.
Matrix MttkrpMode0(const Tensor3& x,
                   const Matrix& b,
                   const Matrix& c,
                   int num_threads);

// Called on disjoint row blocks [begin, begin + m1.rows()) of mode 1, from
// worker threads: given the block's MTTKRP rows m1, overwrite `rows` (the
// block of B, holding the current values on entry) with the new values.
using RowBlockUpdate =
    std::function<void(Index begin, const Matrix& m1, Eigen::Ref<Matrix> rows)>;

// Pass 2 of the dimension tree (see above). On return *b holds the updated
// mode-1 factor and *m2 = X_(2) (B_new kr A), the mode-2 MTTKRP with the new
// B. Rows of B do not depend on num_threads; m2 is summed over thread blocks
// and so depends on it at roundoff level.
void MttkrpTree12(const Tensor3& x,
                  const Matrix& a,
                  const Matrix& c,
                  const RowBlockUpdate& update_b,
                  int num_threads,
                  Matrix* b,
                  Matrix* m2);

// P such that M P solves the normal equations X V = M for a symmetric
// positive semidefinite V: V^{-1} by Cholesky when V is well conditioned,
// else (V + tiny ridge)^{-1}, else the eigenvalue pseudo-inverse.
Matrix GramInverse(const Matrix& v);

// Solves G x = rhs for a symmetric positive semidefinite G of one masked
// row's normal equations, with the same fallbacks; zero when G is zero (a row
// with nothing observed).
Vector SolveRowSystem(const Matrix& g, const Vector& rhs);

// The sum of term(x_ijk, m_ijk) over the observed entries of X (all when
// mask is null), M the Kruskal model: one threaded pass over X that
// reconstructs M a slice at a time, never the whole tensor. The same
// threads give the same bits (slices in order, then the blocks' sums).
template <typename Term>
double SumOverModel(const Tensor3& x,
                    const Mask3* mask,
                    const Ktensor& model,
                    int num_threads,
                    Term term) {
  const Dims& d = x.dims();
  const Index slice_size = d[1] * d[2];
  const std::array<Matrix, 3>& f = model.factors;
  auto partial = ParallelBlocks(d[0], num_threads, [&](Index begin, Index end) {
    double sum = 0;
    Matrix slice(d[2], d[1]);
    for (Index i = begin; i < end; ++i) {
      const Vector scale = model.weights.cwiseProduct(f[0].row(i).transpose());
      slice.noalias() = f[2] * scale.asDiagonal() * f[1].transpose();
      const double* xs = x.data() + i * slice_size;
      const double* ms = slice.data();
      if (mask) {
        const std::uint8_t* observed = mask->data() + i * slice_size;
        for (Index n = 0; n < slice_size; ++n)
          if (observed[n]) sum += term(xs[n], ms[n]);
      } else {
        for (Index n = 0; n < slice_size; ++n) sum += term(xs[n], ms[n]);
      }
    }
    return sum;
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

// ||X - M||^2 over the observed entries (all when mask is null), by
// reconstructing the model slice by slice; threaded, one pass over X.
double ResidualNorm2(const Tensor3& x,
                     const Mask3* mask,
                     const Ktensor& model,
                     int num_threads);

// ||X - M||^2 = ||X||^2 + ||M||^2 - 2 <X, M> for the Kruskal model M with
// these weights and factor Grams, given <X, M> (which the last MTTKRP of a
// sweep gives for free). Cancellation limits it to relative errors above
// ~1e-8; clamped at 0.
double ResidualNorm2FromGrams(double x_norm2,
                              const Vector& weights,
                              const std::array<Matrix, 3>& gram,
                              double inner);

// ||X - M|| / ||X|| from the squared norms (the absolute error for X = 0).
double RelativeError(double residual2, double x_norm2);

// Scales the columns of f to unit 2-norm and returns the norms (0 for a zero
// column, which stays zero).
Vector NormalizeColumns(Matrix* f);

// Dense (or EM-imputed) alternating sweeps. Modes flagged in `nonneg` get
// HALS column updates clamped at a floor of 1e-16, the others exact least
// squares. With a mask, missing entries are imputed from the current model
// before every sweep (EM). x_norm2: the sum of squares of the observed
// entries. Fills model (not canonical), error_history, iterations, converged
// and message; without a mask the errors are tracked by the Gram identity
// ||X||^2 + ||M||^2 - 2 <X, M>, which is exact to rounding.
CpSummary RunSweeps(const CpOptions& options,
                    const Tensor3& x,
                    const Mask3* mask,
                    double x_norm2,
                    Ktensor init,
                    const std::array<bool, 3>& nonneg);

// Shared bookkeeping of every iteration: appends the error, decides whether
// to stop and sets converged / message. Returns true to stop.
bool RecordIteration(const CpOptions& options,
                     double relative_error,
                     CpSummary* summary);

}  // namespace ltr::internal

#endif  // LTR_SRC_CP_KERNELS_H_
