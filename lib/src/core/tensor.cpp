#include "ltr/core/tensor.h"

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>
#include <numeric>
#include <sstream>

#include "core/kernels.h"
#include "core/parallel.h"
#include "ltr/core/error.h"

namespace ltr {

namespace internal {

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kLargeBlock = std::size_t{8} << 20;
}  // namespace

void* AllocateTensorStorage(std::size_t bytes) {
  if (bytes < kLargeBlock) return ::operator new(bytes);
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* block = std::aligned_alloc(kHugePage, rounded);
  if (block == nullptr) throw std::bad_alloc();
  madvise(block, rounded, MADV_HUGEPAGE);  // a hint: failure is harmless
  return block;
}

void FreeTensorStorage(void* block, std::size_t bytes) noexcept {
  if (bytes < kLargeBlock)
    ::operator delete(block);
  else
    std::free(block);
}

}  // namespace internal

std::string DimsToString(const Dims& dims) {
  std::ostringstream out;
  out << dims[0] << " x " << dims[1] << " x " << dims[2];
  return out.str();
}

double SquaredNorm(const Tensor3& x, const Mask3* mask) {
  if (!mask) return x.AsVector().squaredNorm();
  double sum = 0;
  const double* v = x.data();
  const std::uint8_t* m = mask->data();
  for (Index n = 0; n < x.size(); ++n)
    if (m[n]) sum += v[n] * v[n];
  return sum;
}

bool AllFinite(const Tensor3& x) { return x.AsVector().allFinite(); }

Matrix Unfold(const Tensor3& x, int mode) {
  const Dims& d = x.dims();
  Matrix out(d[mode], x.size() / std::max<Index>(d[mode], 1));
  for (Index i = 0; i < d[0]; ++i)
    for (Index j = 0; j < d[1]; ++j)
      for (Index k = 0; k < d[2]; ++k) {
        const double v = x(i, j, k);
        switch (mode) {
          case 0:
            out(i, j * d[2] + k) = v;
            break;
          case 1:
            out(j, i * d[2] + k) = v;
            break;
          default:
            out(k, i * d[1] + j) = v;
            break;
        }
      }
  return out;
}

Tensor3 ModeProduct(const Tensor3& x,
                    const Matrix& m,
                    int mode,
                    int num_threads) {
  const Dims& d = x.dims();
  if (m.cols() != d[mode])
    throw Error("ModeProduct: matrix has " + std::to_string(m.cols()) +
                " columns, mode " + std::to_string(mode) + " has size " +
                std::to_string(d[mode]));
  Dims out_dims = d;
  out_dims[mode] = m.rows();
  Tensor3 y(out_dims);
  const Index jk = d[1] * d[2];
  // Each thread computes a block of rows of the result (mode 0: rows of the
  // JK x I view; mode 1: slices; mode 2: columns of the K x IJ view).
  switch (mode) {
    case 0: {
      // Row-major I x JK is column-major JK x I.
      Eigen::Map<const Matrix> xc(x.data(), jk, d[0]);
      Eigen::Map<Matrix> yc(y.data(), jk, m.rows());
      const Matrix mt = m.transpose();
      ParallelFor(jk, num_threads, [&](Index begin, Index end) {
        yc.middleRows(begin, end - begin).noalias() =
            xc.middleRows(begin, end - begin) * mt;
      });
      break;
    }
    case 1: {
      const Matrix mt = m.transpose();
      ParallelFor(d[0], num_threads, [&](Index begin, Index end) {
        for (Index i = begin; i < end; ++i)
          y.Slice(i).noalias() = x.Slice(i) * mt;
      });
      break;
    }
    default: {
      Eigen::Map<const Matrix> xc(x.data(), d[2], d[0] * d[1]);
      Eigen::Map<Matrix> yc(y.data(), m.rows(), d[0] * d[1]);
      ParallelFor(d[0] * d[1], num_threads, [&](Index begin, Index end) {
        yc.middleCols(begin, end - begin).noalias() =
            m * xc.middleCols(begin, end - begin);
      });
      break;
    }
  }
  return y;
}

Matrix ModeGram(const Tensor3& x, int mode, int num_threads) {
  const Dims& d = x.dims();
  const Index n = d[mode];
  // Each thread accumulates the lower triangle (a symmetric rank update:
  // half the multiply-adds of a product) of the Gram of a block of slices,
  // or for mode 0 of a block of the JK columns of the I x (JK) rows; the
  // blocks are summed in a fixed order so the result depends only on the
  // thread count. The run-time kernels (core/kernels.h) read the data in
  // place.
  const Index jk = d[1] * d[2];
  const Index blocks = mode == 0 ? jk : d[0];
  auto partial =
      ParallelBlocks(blocks, num_threads, [&](Index begin, Index end) {
        Matrix g = Matrix::Zero(n, n);
        if (mode == 0) {
          internal::AddGram(
              x.data() + begin, jk, 1, n, end - begin, g.data(), n);
        } else {
          for (Index i = begin; i < end; ++i) {
            const double* s = x.Slice(i).data();  // K x J, column-major
            if (mode == 1)
              internal::AddGram(s, d[2], 1, n, d[2], g.data(), n);
            else
              internal::AddGram(s, 1, d[2], n, d[1], g.data(), n);
          }
        }
        return g;
      });
  Matrix g = Matrix::Zero(n, n);
  for (const Matrix& p : partial) g += p;
  return g.selfadjointView<Eigen::Lower>();
}

void Ktensor::Normalize() {
  for (Index r = 0; r < rank(); ++r) {
    for (int n = 0; n < 3; ++n) {
      const double norm = factors[n].col(r).norm();
      if (norm > 0) {
        factors[n].col(r) /= norm;
        weights[r] *= norm;
      } else {
        weights[r] = 0;
      }
    }
  }
}

void Ktensor::Arrange() {
  std::vector<Index> order(static_cast<size_t>(rank()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) {
    return weights[a] > weights[b];
  });
  Ktensor sorted = *this;
  for (Index r = 0; r < rank(); ++r) {
    sorted.weights[r] = weights[order[r]];
    for (int n = 0; n < 3; ++n)
      sorted.factors[n].col(r) = factors[n].col(order[r]);
  }
  *this = std::move(sorted);
}

void Ktensor::FixSigns() {
  for (Index r = 0; r < rank(); ++r) {
    std::array<double, 3> largest{};  // signed entry of largest magnitude
    int negatives = 0;
    for (int n = 0; n < 3; ++n) {
      Index at = 0;
      if (factors[n].rows() > 0) factors[n].col(r).cwiseAbs().maxCoeff(&at);
      largest[n] = factors[n].rows() > 0 ? factors[n](at, r) : 0.0;
      if (largest[n] < 0) ++negatives;
    }
    int keep_negative = -1;
    if (negatives % 2 == 1) {
      double smallest = INFINITY;
      for (int n = 0; n < 3; ++n)
        if (largest[n] < 0 && -largest[n] < smallest) {
          smallest = -largest[n];
          keep_negative = n;
        }
    }
    for (int n = 0; n < 3; ++n)
      if (largest[n] < 0 && n != keep_negative) factors[n].col(r) *= -1;
  }
}

void Ktensor::Canonicalize() {
  Normalize();
  Arrange();
  FixSigns();
}

Tensor3 Ktensor::Full() const {
  const Dims d = dims();
  Tensor3 x(d);
  for (Index i = 0; i < d[0]; ++i) {
    const Vector scale = weights.cwiseProduct(factors[0].row(i).transpose());
    x.Slice(i).noalias() =
        factors[2] * scale.asDiagonal() * factors[1].transpose();
  }
  return x;
}

Tensor3 TuckerTensor::Full() const {
  Tensor3 x = ModeProduct(core, factors[0], 0);
  x = ModeProduct(x, factors[1], 1);
  return ModeProduct(x, factors[2], 2);
}

double RelativeError(const Tensor3& x, const Ktensor& m, const Mask3* mask) {
  const Dims& d = x.dims();
  double residual = 0;
  Matrix slice;
  for (Index i = 0; i < d[0]; ++i) {
    const Vector scale =
        m.weights.cwiseProduct(m.factors[0].row(i).transpose());
    slice.noalias() =
        m.factors[2] * scale.asDiagonal() * m.factors[1].transpose();
    slice -= x.Slice(i);
    if (mask) {
      Eigen::Map<
          const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>>
          observed(mask->data() + i * d[1] * d[2], d[2], d[1]);
      residual +=
          (slice.array() * observed.cast<double>().array()).square().sum();
    } else {
      residual += slice.squaredNorm();
    }
  }
  const double norm2 = SquaredNorm(x, mask);
  return norm2 > 0 ? std::sqrt(residual / norm2) : std::sqrt(residual);
}

}  // namespace ltr
