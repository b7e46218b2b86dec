// The hot loops of the RNN core (its dense products and its tanh) and of
// CP's MTTKRP (MultiplyTall), with the kernel chosen at run time for the
// machine (AVX-512, AVX2 + FMA, or plain x86-64 SSE2), so that a portable
// build (no -march) still trains and decomposes at the speed of the machine
// it runs on.
//
// Every entry C(i, j) is one multiply-add chain over k = 0, 1, ..., K - 1 in
// that order, whatever the tiling, the number of columns or the k-blocking:
// the bits of an entry depend only on its row of A and column of B. The
// AVX-512 and AVX2 kernels both fuse the multiply-add (same bits); the SSE2
// kernel rounds the product first, so its results differ in the last bits.
#ifndef LTR_SRC_CORE_KERNELS_H_
#define LTR_SRC_CORE_KERNELS_H_

#include <Eigen/Core>
#include <vector>

namespace ltr {
namespace internal {

// The instruction set the kernels use: "avx512", "avx2" or "sse2", the best
// this machine has.
const char* KernelsName();
// Tests: use the kernel `name` from now on (false, and no change, if the
// machine lacks it or the name is unknown). Not for concurrent use.
bool UseKernelsForTesting(const char* name);

// op(A) (m x k) copied once into the kernel's panel layout, then
// multiplied many times (the recurrent weights: once per evaluation, used
// at every time step).
class PackedMatrix {
 public:
  PackedMatrix() = default;
  // op(A) = A, or A^T when transpose.
  PackedMatrix(const Eigen::Ref<const Eigen::MatrixXd>& a, bool transpose);

  Eigen::Index rows() const { return rows_; }
  Eigen::Index depth() const { return depth_; }
  const double* data() const { return data_.data(); }
  // The kernel the panels are laid out for (kernels.cpp).
  const void* kernel() const { return kernel_; }

 private:
  Eigen::Index rows_ = 0;
  Eigen::Index depth_ = 0;
  const void* kernel_ = nullptr;
  std::vector<double, Eigen::aligned_allocator<double>> data_;
};

// out = op(A) in (in: k x n, out: m x n; both may be blocks of columns).
void Multiply(const PackedMatrix& a,
              const Eigen::Ref<const Eigen::MatrixXd>& in,
              Eigen::Ref<Eigen::MatrixXd> out);

// c += a b^T (a: m x k, b: n x k): the outer-product sums of the gradient.
void AddProductTransposed(const Eigen::Ref<const Eigen::MatrixXd>& a,
                          const Eigen::Ref<const Eigen::MatrixXd>& b,
                          Eigen::Ref<Eigen::MatrixXd> c);

// The lower triangle of g += A A^T (a symmetric rank-k update), A: rows x
// depth with A(i, p) at a[i row + p col] (either layout, e.g. a tensor's
// slice or its rows read in place); g: rows x rows, column j at g + j ldg.
// Each entry of the lower triangle is one multiply-add chain over p in
// order, as in Multiply; entries above the diagonal are left unspecified.
void AddGram(const double* a,
             Eigen::Index row,
             Eigen::Index col,
             Eigen::Index rows,
             Eigen::Index depth,
             double* g,
             Eigen::Index ldg);

// T = S W for a tall S read in place (m x n, column j at s + j ld_s; no
// packing, so a slice of a tensor serves as it is) and a narrow W given
// transposed (wt: rank x n, contiguous): T is m x rank, column r at
// t + r ld_t. Each entry is one multiply-add chain over j = 0, 1, ... in
// order, as in Multiply. Meanwhile prefetch[0, prefetch_size) (e.g. the next
// slice; may be null) is brought into L2, whose access pattern the hardware
// prefetchers would not follow.
void MultiplyTall(const double* s,
                  Eigen::Index m,
                  Eigen::Index n,
                  Eigen::Index ld_s,
                  const double* wt,
                  Eigen::Index rank,
                  double* t,
                  Eigen::Index ld_t,
                  const double* prefetch = nullptr,
                  Eigen::Index prefetch_size = 0);

// y[i] = tanh(x[i]), i < n: (1 - e) / (1 + e), e = exp(-2|x|), for
// |x| > 0.625 and the Cephes rational approximation x + x s P(s) / Q(s),
// s = x^2, below; exp is Cephes' (range reduction by ln 2 and a rational
// approximation). Within 2 ulp of std::tanh (tests/rnn: "The RNN's one
// tanh ..."); NaN stays NaN. y may be x.
void TanhArray(const double* x, double* y, Eigen::Index n);

}  // namespace internal
}  // namespace ltr

#endif  // LTR_SRC_CORE_KERNELS_H_
