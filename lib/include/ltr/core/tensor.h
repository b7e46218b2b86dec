// Dense 3-way tensors, Kruskal (CP) and Tucker tensors, and the algebra the
// decompositions share.
//
// Storage is row-major with the last index fastest, exactly as HDF5 and h5py
// lay the data out: element (i, j, k) of an I x J x K tensor sits at
// (i * J + j) * K + k. Slice i is therefore a contiguous J x K row-major block,
// which Eigen sees without copying as a K x J column-major matrix.
#ifndef LTR_TENSOR_H_
#define LTR_TENSOR_H_

#include <Eigen/Core>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ltr {

using Index = Eigen::Index;
using Matrix = Eigen::MatrixXd;  // column-major
using Vector = Eigen::VectorXd;
using Dims = std::array<Index, 3>;

namespace internal {
// Storage of tensors. Blocks of 8 MiB and more are aligned to 2 MiB and
// offered to the kernel as transparent huge pages (madvise), so that filling
// a fresh large tensor takes one page fault per 2 MiB rather than per 4 KiB:
// it halves the time to copy a 10^7-entry array into the library (the
// Python binding's one copy of its input).
void* AllocateTensorStorage(std::size_t bytes);
void FreeTensorStorage(void* block, std::size_t bytes) noexcept;

template <typename T>
struct TensorAllocator {
  using value_type = T;
  TensorAllocator() = default;
  template <typename U>
  TensorAllocator(const TensorAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(AllocateTensorStorage(n * sizeof(T)));
  }
  void deallocate(T* block, std::size_t n) noexcept {
    FreeTensorStorage(block, n * sizeof(T));
  }
  friend bool operator==(const TensorAllocator&, const TensorAllocator&) {
    return true;
  }
  friend bool operator!=(const TensorAllocator&, const TensorAllocator&) {
    return false;
  }
};
}  // namespace internal

template <typename T>
class DenseTensor3 {
 public:
  using MatrixT = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

  DenseTensor3() : dims_{0, 0, 0} {}
  DenseTensor3(Index i, Index j, Index k, T fill = T(0))
      : dims_{i, j, k}, data_(static_cast<size_t>(i * j * k), fill) {}
  explicit DenseTensor3(const Dims& dims, T fill = T(0))
      : DenseTensor3(dims[0], dims[1], dims[2], fill) {}

  const Dims& dims() const { return dims_; }
  Index dim(int mode) const { return dims_[mode]; }
  Index size() const { return static_cast<Index>(data_.size()); }
  bool empty() const { return data_.empty(); }

  T& operator()(Index i, Index j, Index k) {
    return data_[static_cast<size_t>((i * dims_[1] + j) * dims_[2] + k)];
  }
  const T& operator()(Index i, Index j, Index k) const {
    return data_[static_cast<size_t>((i * dims_[1] + j) * dims_[2] + k)];
  }
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  using Storage = std::vector<T, internal::TensorAllocator<T>>;
  Storage& values() { return data_; }
  const Storage& values() const { return data_; }

  // Slice i (fixed first index) as a K x J column-major matrix:
  // Slice(i)(k, j) == (*this)(i, j, k).
  Eigen::Map<MatrixT> Slice(Index i) {
    return Eigen::Map<MatrixT>(
        data() + i * dims_[1] * dims_[2], dims_[2], dims_[1]);
  }
  Eigen::Map<const MatrixT> Slice(Index i) const {
    return Eigen::Map<const MatrixT>(
        data() + i * dims_[1] * dims_[2], dims_[2], dims_[1]);
  }
  // All data as one column vector.
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>> AsVector() {
    return {data(), size()};
  }
  Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> AsVector() const {
    return {data(), size()};
  }

 private:
  Dims dims_;
  Storage data_;
};

using Tensor3 = DenseTensor3<double>;
// 1 = observed, 0 = missing; same shape as the tensor it masks.
using Mask3 = DenseTensor3<std::uint8_t>;

// "I x J x K", for messages.
std::string DimsToString(const Dims& dims);

// Frobenius norm squared, counting only observed entries when a mask is given.
double SquaredNorm(const Tensor3& x, const Mask3* mask = nullptr);
bool AllFinite(const Tensor3& x);

// Mode-n unfolding X_(n), an I_n x (product of the other two) matrix. Columns
// follow the remaining indices in their natural order with the later index
// fastest. Forms a copy: meant for small tensors and tests.
Matrix Unfold(const Tensor3& x, int mode);

// Mode-n product Y = X x_n M, M of size P x I_n; the result has dimension P in
// mode n. Threads share the rows of the result; the result does not depend
// on their number.
Tensor3 ModeProduct(const Tensor3& x,
                    const Matrix& m,
                    int mode,
                    int num_threads = 1);

// Gram matrix of the mode-n unfolding, X_(n) X_(n)^T (I_n x I_n), without
// forming the unfolding.
Matrix ModeGram(const Tensor3& x, int mode, int num_threads = 1);

// Kruskal tensor: X ~ sum_r weights[r] * a_r o b_r o c_r.
struct Ktensor {
  Vector weights;                 // lambda, length R
  std::array<Matrix, 3> factors;  // factors[n] is I_n x R

  Index rank() const { return weights.size(); }
  Dims dims() const {
    return {factors[0].rows(), factors[1].rows(), factors[2].rows()};
  }
  // Scales every factor column to unit 2-norm and absorbs the norms in
  // weights. A zero column stays zero with weight 0.
  void Normalize();
  // Sorts components by weight, largest first.
  void Arrange();
  // Sign convention (as the Tensor Toolbox's fixsigns): in each component the
  // entry of largest magnitude of every factor column is made positive,
  // flipping modes in pairs so the tensor is unchanged; when an odd number of
  // modes is negative, the one whose largest entry is smallest in magnitude
  // keeps the negative sign.
  void FixSigns();
  // Normalize + Arrange + FixSigns: the canonical form every decomposition
  // returns.
  void Canonicalize();
  Tensor3 Full() const;
};

// Tucker tensor: X ~ core x_0 U0 x_1 U1 x_2 U2.
struct TuckerTensor {
  Tensor3 core;                   // r0 x r1 x r2
  std::array<Matrix, 3> factors;  // factors[n] is I_n x r_n, orthonormal
  Tensor3 Full() const;
};

// ||X - M|| / ||X|| over observed entries (all entries when mask is null).
double RelativeError(const Tensor3& x,
                     const Ktensor& m,
                     const Mask3* mask = nullptr);

}  // namespace ltr

#endif  // LTR_TENSOR_H_
