// The MTTKRP passes on every run-time kernel of core/kernels.h
// (MultiplyTall): equal to a naive triple loop, and AVX2 and AVX-512 bit for
// bit alike, so that a CP fit does not depend on which of the two the machine
// has.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "../../lib/src/core/kernels.h"
#include "../every_kernel.h"
#include "ltr/core/random.h"
#include "ltr/decompose/cp.h"

namespace ltr {
namespace {

using internal::UseKernelsForTesting;
using testing::EveryKernel;

// M(n, r) = sum over the other two indices of X(i, j, k) times the other two
// factors' entries, by the definition.
Matrix NaiveMttkrp(const Tensor3& x, const std::array<Matrix, 3>& f, int mode) {
  const Dims& d = x.dims();
  const Index rank = f[0].cols();
  Matrix m = Matrix::Zero(d[mode], rank);
  for (Index i = 0; i < d[0]; ++i)
    for (Index j = 0; j < d[1]; ++j)
      for (Index k = 0; k < d[2]; ++k) {
        const double v = x.data()[(i * d[1] + j) * d[2] + k];
        const Index at[3] = {i, j, k};
        for (Index r = 0; r < rank; ++r) {
          double p = v;
          for (int n = 0; n < 3; ++n)
            if (n != mode) p *= f[n](at[n], r);
          m(at[mode], r) += p;
        }
      }
  return m;
}

struct Problem {
  Tensor3 x;
  std::array<Matrix, 3> f;
};

Problem RandomProblem(const Dims& dims, Index rank) {
  Rng rng(11);
  Problem p{Tensor3(dims), {}};
  for (double& v : p.x.values()) v = rng.Normal();
  for (int n = 0; n < 3; ++n) p.f[n] = rng.NormalMatrix(dims[n], rank);
  return p;
}

bool SameBits(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

// K = 37 and 100 leave rows past the last full tile of every kernel (4, 8
// and 16 rows); the ranks cover every group width (8 or 6, 4, 2, 1); the
// last shape runs pass 2 over many blocks of j.
const Dims kShapes[] = {{3, 4, 5}, {6, 9, 37}, {5, 40, 100}, {4, 60, 400}};
const Index kRanks[] = {1, 3, 7, 10, 13};

}  // namespace

TEST_CASE("Every MTTKRP kernel equals the naive triple loop", "[mttkrp]") {
  EveryKernel kernels;
  REQUIRE(!kernels.names.empty());
  for (const Dims& dims : kShapes)
    for (Index rank : kRanks) {
      const Problem p = RandomProblem(dims, rank);
      for (int mode = 0; mode < 3; ++mode) {
        const Matrix expected = NaiveMttkrp(p.x, p.f, mode);
        for (const std::string& name : kernels.names) {
          REQUIRE(UseKernelsForTesting(name.c_str()));
          for (int threads : {1, 2}) {
            INFO(name << ", dims " << DimsToString(dims) << ", rank " << rank
                      << ", mode " << mode << ", threads " << threads);
            const Matrix m = Mttkrp(p.x, p.f, mode, threads);
            REQUIRE(m.rows() == dims[mode]);
            CHECK((m - expected).norm() <= 1e-12 * expected.norm());
          }
        }
      }
    }
}

TEST_CASE("The AVX2 and AVX-512 MTTKRP kernels give the same bits",
          "[mttkrp]") {
  EveryKernel kernels;
  if (!UseKernelsForTesting("avx512")) {
    WARN("no AVX-512 on this machine: nothing to compare");
    return;
  }
  for (const Dims& dims : kShapes)
    for (Index rank : kRanks) {
      const Problem p = RandomProblem(dims, rank);
      for (int mode = 0; mode < 3; ++mode) {
        INFO("dims " << DimsToString(dims) << ", rank " << rank << ", mode "
                     << mode);
        REQUIRE(UseKernelsForTesting("avx512"));
        const Matrix wide = Mttkrp(p.x, p.f, mode, 2);
        REQUIRE(UseKernelsForTesting("avx2"));
        CHECK(SameBits(Mttkrp(p.x, p.f, mode, 2), wide));
      }
    }
}

}  // namespace ltr
