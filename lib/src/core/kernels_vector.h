// GCC vector types of V doubles and the kernels' vector tanh (Cephes'
// exp and rational approximation), shared by the instantiations of
// kernels.cpp for each instruction set. Private to kernels.cpp.
#ifndef LTR_SRC_CORE_KERNELS_VECTOR_H_
#define LTR_SRC_CORE_KERNELS_VECTOR_H_

#include <Eigen/Core>
#include <algorithm>
#include <cstring>

// The vector helpers are always inlined: their vector arguments never cross
// a call, so the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace ltr::internal::vector {

using Eigen::Index;

template <int V>
struct VectorOf {
  typedef double type __attribute__((vector_size(V * sizeof(double))));
};
template <int V>
struct BitsOf {
  typedef long long type __attribute__((vector_size(V * sizeof(double))));
};

// exp(a) for a in [-50, 0] (Cephes): a = n ln 2 + r, exp(r) =
// 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)), times 2^n built in the exponent
// bits. n = round(a / ln 2) comes from adding 1.5 2^52, which leaves n in
// the low bits of the sum.
template <int V>
__attribute__((always_inline)) inline typename VectorOf<V>::type ExpOf(
    typename VectorOf<V>::type a) {
  using Vec = typename VectorOf<V>::type;
  using Bits = typename BitsOf<V>::type;
  constexpr double kShift = 6755399441055744.0;  // 1.5 2^52
  const Vec t = a * 1.4426950408889634 + kShift;
  const Vec n = t - kShift;
  Vec r = a - n * 6.93145751953125e-1;
  r = r - n * 1.42860682030941723212e-6;
  const Vec rr = r * r;
  const Vec px =
      r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr +
           9.99999999999999999910e-1);
  const Vec qx =
      ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr +
       2.27265548208155028766e-1) *
          rr +
      2.00000000000000000009e0;
  const Vec er = 1.0 + 2.0 * (px / (qx - px));
  const Bits scale = ((Bits)t + 1023) << 52;
  return er * (Vec)scale;
}

// tanh of V entries (kernels.h, TanhArray).
template <int V>
__attribute__((always_inline)) inline typename VectorOf<V>::type TanhOf(
    typename VectorOf<V>::type x) {
  using Vec = typename VectorOf<V>::type;
  using Bits = typename BitsOf<V>::type;
  const Vec ax = (Vec)((Bits)x & 0x7fffffffffffffffLL);
  const Vec s = x * x;
  const Vec p =
      (-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s -
      1.61468768441708447952e3;
  const Vec q =
      ((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s +
      4.84406305325125486048e3;
  const Vec floor = Vec{} - 50.0;  // exp(-50) < 2^-72: tanh is 1 by then
  const Vec minus_2ax = -2.0 * ax;
  const Vec e = ExpOf<V>(minus_2ax < floor ? floor : minus_2ax);
  const Bits large = ax > 0.625;
  const Vec num = large ? (x < 0.0 ? e - 1.0 : 1.0 - e) : x * (q + s * p);
  const Vec den = large ? 1.0 + e : q;
  return num / den;
}

template <int V>
__attribute__((always_inline)) inline void TanhLoop(const double* x,
                                                    double* y,
                                                    Index n) {
  using Vec = typename VectorOf<V>::type;
  Index i = 0;
  for (; i + V <= n; i += V) {
    Vec v;
    std::memcpy(&v, x + i, sizeof v);
    v = TanhOf<V>(v);
    std::memcpy(y + i, &v, sizeof v);
  }
  if (i == n) return;
  double rest[V] = {};
  std::copy(x + i, x + n, rest);
  Vec v;
  std::memcpy(&v, rest, sizeof v);
  v = TanhOf<V>(v);
  std::memcpy(rest, &v, sizeof v);
  std::copy(rest, rest + (n - i), y + i);
}

}  // namespace ltr::internal::vector

#endif  // LTR_SRC_CORE_KERNELS_VECTOR_H_
