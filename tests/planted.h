// Test helpers shared by the decomposition tests: planted low-rank tensors,
// noise and random masks. Header-only; everything is reproducible from a seed.
#ifndef LTR_TESTS_PLANTED_H_
#define LTR_TESTS_PLANTED_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ltr/core/random.h"
#include "ltr/core/tensor.h"

namespace ltr::testing {

// A rank-`rank` Ktensor of dimensions `dims` in canonical form (unit columns,
// weights descending, signs fixed). Factor entries are N(0, 1), or max(0,
// N(0, 1)) when nonneg (about half zeros; the expected cosine between two
// such columns is 1/pi, so the factors stay well conditioned). Weights are
// evenly spaced, distinct, from 2 down to about 1, times sqrt(I J K) so that
// the entries of Full() are O(1).
inline Ktensor PlantedKtensor(const Dims& dims,
                              int rank,
                              std::uint64_t seed,
                              bool nonneg = false) {
  Rng rng(seed);
  Ktensor k;
  k.weights.resize(rank);
  for (int n = 0; n < 3; ++n) {
    k.factors[n] = rng.NormalMatrix(dims[n], rank);
    if (nonneg) k.factors[n] = k.factors[n].cwiseMax(0.0);
    // Avoid an all-zero column on tiny nonnegative dimensions.
    for (int r = 0; r < rank; ++r)
      if (k.factors[n].col(r).norm() == 0) k.factors[n](r % dims[n], r) = 1.0;
  }
  const double scale =
      std::sqrt(static_cast<double>(dims[0] * dims[1] * dims[2]));
  for (int r = 0; r < rank; ++r) {
    k.weights[r] = scale * (2.0 - static_cast<double>(r) / rank);
    for (int n = 0; n < 3; ++n) k.factors[n].col(r).normalize();
  }
  k.Canonicalize();
  return k;
}

// x plus i.i.d. Gaussian noise scaled so that ||noise|| / ||x|| is about
// relative_noise.
inline Tensor3 AddNoise(const Tensor3& x,
                        double relative_noise,
                        std::uint64_t seed) {
  Rng rng(seed);
  const double sigma =
      relative_noise * x.AsVector().norm() /
      std::sqrt(static_cast<double>(std::max<Index>(x.size(), 1)));
  Tensor3 y = x;
  for (double& v : y.values()) v += sigma * rng.Normal();
  return y;
}

// A mask with each entry missing (0) independently with probability
// missing_fraction.
inline Mask3 RandomMask(const Dims& dims,
                        double missing_fraction,
                        std::uint64_t seed) {
  Rng rng(seed);
  Mask3 mask(dims, 1);
  for (auto& m : mask.values()) m = rng.Uniform() < missing_fraction ? 0 : 1;
  return mask;
}

}  // namespace ltr::testing

#endif  // LTR_TESTS_PLANTED_H_
