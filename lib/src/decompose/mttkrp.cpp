// MTTKRP kernels: the two passes of the dimension tree (cp_kernels.h) and the
// public single-mode ltr::Mttkrp built on them.
#include <algorithm>
#include <string>

#include "core/kernels.h"
#include "core/parallel.h"
#include "decompose/cp_kernels.h"
#include "ltr/core/error.h"
#include "ltr/decompose/cp.h"

namespace ltr {
namespace internal {
namespace {

// Rows of Y = X x_0 A^T formed at once in pass 2: blocks of whole j (K rows
// each) of about 256 KB, so that Y stays in the 2 MB L2 while its rows are
// reused for M1 and M2. Block boundaries are multiples of this count whatever
// the thread count, so every row of B is computed the same way.
Index TreeBlockRows(Index k, Index rank) {
  constexpr Index kTargetDoubles = 32 * 1024;
  return std::max<Index>(1, kTargetDoubles / std::max<Index>(1, k * rank));
}

}  // namespace

Matrix MttkrpMode0(const Tensor3& x,
                   const Matrix& b,
                   const Matrix& c,
                   int num_threads) {
  const Dims& d = x.dims();
  const Index rank = b.cols();
  const Index slice_size = d[1] * d[2];
  const Matrix bt = b.transpose();
  Matrix m0(d[0], rank);
  ParallelFor(d[0], num_threads, [&](Index begin, Index end) {
    Matrix t(d[2], rank);
    for (Index i = begin; i < end; ++i) {
      const double* slice = x.data() + i * slice_size;
      // T = S_i B, the slice (K x J) read in place while the next one is
      // prefetched: its strided access is one the hardware would not follow.
      const bool last = i + 1 == end;
      MultiplyTall(slice,
                   d[2],
                   d[1],
                   d[2],
                   bt.data(),
                   rank,
                   t.data(),
                   d[2],
                   last ? nullptr : slice + slice_size,
                   last ? 0 : slice_size);
      for (Index r = 0; r < rank; ++r) m0(i, r) = t.col(r).dot(c.col(r));
    }
  });
  return m0;
}

void MttkrpTree12(const Tensor3& x,
                  const Matrix& a,
                  const Matrix& c,
                  const RowBlockUpdate& update_b,
                  int num_threads,
                  Matrix* b,
                  Matrix* m2) {
  const Dims& d = x.dims();
  const Index ni = d[0], nj = d[1], nk = d[2];
  const Index rank = a.cols();
  const Index block = TreeBlockRows(nk, rank);
  const Index num_blocks = (nj + block - 1) / block;
  const Matrix at = a.transpose();

  auto partial =
      ParallelBlocks(num_blocks, num_threads, [&](Index first, Index last) {
        Matrix m2_part = Matrix::Zero(nk, rank);
        Matrix y(block * nk, rank);
        Matrix m1(block, rank);
        for (Index blk = first; blk < last; ++blk) {
          const Index j0 = blk * block;
          const Index rows = std::min(block, nj - j0);
          // Rows (j, k) for j in [j0, j0 + rows) of the (JK) x I view of X
          // (column i at stride JK) times A.
          MultiplyTall(x.data() + j0 * nk,
                       rows * nk,
                       ni,
                       nj * nk,
                       at.data(),
                       rank,
                       y.data(),
                       y.rows());
          auto yb = y.topRows(rows * nk);
          if (m1.rows() != rows) m1.resize(rows, rank);
          for (Index r = 0; r < rank; ++r)
            for (Index jj = 0; jj < rows; ++jj)
              m1(jj, r) = yb.col(r).segment(jj * nk, nk).dot(c.col(r));
          update_b(j0, m1, b->middleRows(j0, rows));
          for (Index r = 0; r < rank; ++r)
            for (Index jj = 0; jj < rows; ++jj)
              m2_part.col(r) +=
                  (*b)(j0 + jj, r) * yb.col(r).segment(jj * nk, nk);
        }
        return m2_part;
      });
  *m2 = Matrix::Zero(nk, rank);
  for (const Matrix& p : partial) *m2 += p;
}

}  // namespace internal

Matrix Mttkrp(const Tensor3& x,
              const std::array<Matrix, 3>& factors,
              int mode,
              int num_threads) {
  if (mode < 0 || mode > 2)
    throw Error("Mttkrp: mode must be 0, 1 or 2, got " + std::to_string(mode));
  const Index rank = factors[0].cols();
  for (int n = 0; n < 3; ++n) {
    if (factors[n].cols() != rank)
      throw Error("Mttkrp: factors have different numbers of columns");
    if (n != mode && factors[n].rows() != x.dim(n))
      throw Error("Mttkrp: factor " + std::to_string(n) + " has " +
                  std::to_string(factors[n].rows()) + " rows, tensor " +
                  DimsToString(x.dims()) + " needs " +
                  std::to_string(x.dim(n)));
  }
  if (mode == 0)
    return internal::MttkrpMode0(x, factors[1], factors[2], num_threads);
  Matrix b = factors[1];
  Matrix m1(x.dim(1), rank);
  Matrix m2;
  if (mode == 1) {
    // Any B will do for the (unused) M2; keep the rows as they are.
    b = Matrix::Zero(x.dim(1), rank);
  }
  internal::MttkrpTree12(
      x,
      factors[0],
      factors[2],
      [&](Index begin, const Matrix& m1_rows, Eigen::Ref<Matrix>) {
        if (mode == 1) m1.middleRows(begin, m1_rows.rows()) = m1_rows;
      },
      num_threads,
      &b,
      &m2);
  return mode == 1 ? m1 : m2;
}

}  // namespace ltr
