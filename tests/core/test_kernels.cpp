// The run-time kernels of lib/src/core/kernels.h: products equal to Eigen's,
// every entry one multiply-add chain in k order (so its bits do not depend
// on the batch around it), AVX2 and AVX-512 bit for bit alike, and the tanh
// within 2 ulp of std::tanh with every kernel the machine has.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../../lib/src/core/kernels.h"
#include "../every_kernel.h"
#include "ltr/core/tensor.h"

using Eigen::Index;
using Eigen::MatrixXd;
using namespace ltr::internal;
using ltr::testing::EveryKernel;

namespace {

bool SameBits(const MatrixXd& a, const MatrixXd& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

}  // namespace

TEST_CASE("The run-time kernels multiply as Eigen does", "[core][kernels]") {
  EveryKernel kernels;
  REQUIRE(!kernels.names.empty());
  REQUIRE(kernels.names.front() == "sse2");  // every x86-64 has it
  for (const std::string& name : kernels.names) {
    REQUIRE(UseKernelsForTesting(name.c_str()));
    for (Index m : {1, 7, 25, 256})
      for (Index n : {1, 5, 16, 17})
        for (Index k : {0, 1, 300}) {
          INFO(name << ": m " << m << ", n " << n << ", k " << k);
          const MatrixXd a = MatrixXd::Random(m, k);
          const MatrixXd at = a.transpose();
          const MatrixXd b = MatrixXd::Random(k, n);
          MatrixXd out = MatrixXd::Constant(m, n, 7.0);
          Multiply(PackedMatrix(a, false), b, out);
          CHECK((out - a * b).norm() <= 1e-13 * (1.0 + (a * b).norm()));
          out.setConstant(7.0);
          Multiply(PackedMatrix(at, true), b, out);
          CHECK((out - a * b).norm() <= 1e-13 * (1.0 + (a * b).norm()));
          // c += a b^T over a depth beyond one k-block (256).
          const MatrixXd g = MatrixXd::Random(m, 3 * k);
          const MatrixXd h = MatrixXd::Random(n, 3 * k);
          const MatrixXd c0 = MatrixXd::Random(m, n);
          MatrixXd c = c0;
          AddProductTransposed(g, h, c);
          const MatrixXd expected = c0 + g * h.transpose();
          CHECK((c - expected).norm() <= 1e-13 * (1.0 + expected.norm()));
        }
  }
}

TEST_CASE("Each kernel entry is one multiply-add chain over k in order",
          "[core][kernels]") {
  EveryKernel kernels;
  const Index m = 37, k = 600, n = 19;
  const MatrixXd a = MatrixXd::Random(m, k);
  const MatrixXd b = MatrixXd::Random(k, n);
  for (const std::string& name : kernels.names) {
    INFO(name);
    REQUIRE(UseKernelsForTesting(name.c_str()));
    const PackedMatrix packed(a, false);
    MatrixXd all(m, n);
    Multiply(packed, b, all);
    // A column alone has the bits it has inside the batch.
    for (Index j : {0, 7, 18}) {
      MatrixXd alone(m, 1);
      Multiply(packed, b.col(j), alone);
      CHECK(SameBits(alone, all.col(j)));
    }
    if (name == "sse2") continue;  // rounds each product: no fma
    // The FMA kernels: exactly the chain c = fma(a_ip, b_pj, c), p = 0, 1, ...
    MatrixXd chain = MatrixXd::Zero(m, n);
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < m; ++i)
        for (Index p = 0; p < k; ++p)
          chain(i, j) = std::fma(a(i, p), b(p, j), chain(i, j));
    CHECK(SameBits(all, chain));
    MatrixXd c = MatrixXd::Zero(m, n);
    AddProductTransposed(a, b.transpose(), c);
    CHECK(SameBits(c, chain));
  }
}

TEST_CASE("The kernels' Gram update is the naive loop in either layout",
          "[core][kernels]") {
  EveryKernel kernels;
  for (const std::string& name : kernels.names) {
    REQUIRE(UseKernelsForTesting(name.c_str()));
    for (Index rows : {1, 5, 25, 37})
      for (Index depth : {0, 3, 600}) {
        INFO(name << ": rows " << rows << ", depth " << depth);
        const MatrixXd a = MatrixXd::Random(rows, depth);
        const MatrixXd at = a.transpose();  // rows contiguous
        MatrixXd naive = MatrixXd::Constant(rows, rows, 0.5);
        MatrixXd chain = naive;  // the fma chain over p in order
        for (Index j = 0; j < rows; ++j)
          for (Index i = j; i < rows; ++i)
            for (Index p = 0; p < depth; ++p) {
              naive(i, j) += a(i, p) * a(j, p);
              chain(i, j) = std::fma(a(i, p), a(j, p), chain(i, j));
            }
        MatrixXd by_columns = MatrixXd::Constant(rows, rows, 0.5);
        MatrixXd by_rows = by_columns;
        AddGram(a.data(), 1, rows, rows, depth, by_columns.data(), rows);
        AddGram(at.data(), depth, 1, rows, depth, by_rows.data(), rows);
        const double scale = 1.0 + naive.norm();
        for (Index j = 0; j < rows; ++j)
          for (Index i = j; i < rows; ++i) {
            CHECK(std::abs(by_columns(i, j) - naive(i, j)) <= 1e-12 * scale);
            CHECK(by_rows(i, j) == by_columns(i, j));
            if (name != "sse2") CHECK(by_rows(i, j) == chain(i, j));
          }
      }
  }
}

TEST_CASE("ModeGram is the naive Gram of every unfolding", "[core][kernels]") {
  const Index d[3] = {29, 11, 300};
  ltr::Tensor3 x(d[0], d[1], d[2]);
  for (Index n = 0; n < x.size(); ++n) x.data()[n] = std::sin(0.37 * n + 1.0);
  EveryKernel kernels;
  for (const std::string& name : kernels.names) {
    REQUIRE(UseKernelsForTesting(name.c_str()));
    for (int mode = 0; mode < 3; ++mode) {
      MatrixXd naive = MatrixXd::Zero(d[mode], d[mode]);
      for (Index i = 0; i < d[0]; ++i)
        for (Index j = 0; j < d[1]; ++j)
          for (Index k = 0; k < d[2]; ++k) {
            const Index at[3] = {i, j, k};
            for (Index q = 0; q < d[mode]; ++q) {
              Index other[3] = {i, j, k};
              other[mode] = q;
              naive(at[mode], q) +=
                  x(i, j, k) * x(other[0], other[1], other[2]);
            }
          }
      for (int threads : {1, 3}) {
        INFO(name << ": mode " << mode << ", threads " << threads);
        const MatrixXd g = ltr::ModeGram(x, mode, threads);
        CHECK((g - naive).cwiseAbs().maxCoeff() <= 1e-12 * naive.norm());
        CHECK(g == g.transpose());
      }
    }
  }
}

TEST_CASE("The kernels' tanh is within 2 ulp of std::tanh on every kernel",
          "[core][kernels]") {
  EveryKernel kernels;
  const Index n = 200001;
  std::vector<double> x(n), y(n), first;
  for (Index i = 0; i < n; ++i) x[i] = -20.0 + 40.0 * i / (n - 1);
  for (const std::string& name : kernels.names) {
    INFO(name);
    REQUIRE(UseKernelsForTesting(name.c_str()));
    TanhArray(x.data(), y.data(), n);
    double worst = 0.0, worst_relative = 0.0;
    for (Index i = 0; i < n; ++i) {
      const double exact = std::tanh(x[i]);
      worst = std::max(worst, std::abs(y[i] - exact));
      if (exact != 0.0)
        worst_relative =
            std::max(worst_relative, std::abs(y[i] - exact) / std::abs(exact));
    }
    CHECK(worst <= 2.3e-16);
    CHECK(worst_relative <= 5e-16);
    const double special[] = {HUGE_VAL, -HUGE_VAL, 1e-300, 800.0, -0.0};
    const double expected[] = {1.0, -1.0, 1e-300, 1.0, -0.0};
    for (int i = 0; i < 5; ++i) {
      double out;
      TanhArray(&special[i], &out, 1);
      CHECK(out == expected[i]);
      CHECK(std::signbit(out) == std::signbit(expected[i]));
    }
    const double nan = std::nan("");
    double out;
    TanhArray(&nan, &out, 1);
    CHECK(std::isnan(out));
    // AVX2 and AVX-512 round alike (both fuse multiply-adds).
    if (name == "avx2") first = y;
    if (name == "avx512" && !first.empty())
      CHECK(std::memcmp(first.data(), y.data(), sizeof(double) * n) == 0);
  }
}

TEST_CASE("AVX2 and AVX-512 products have the same bits", "[core][kernels]") {
  EveryKernel kernels;
  if (kernels.names.size() < 3) {
    WARN("this machine lacks AVX-512: nothing to compare");
    return;
  }
  const MatrixXd a = MatrixXd::Random(256, 256);
  const MatrixXd b = MatrixXd::Random(256, 16);
  MatrixXd avx2(256, 16), avx512(256, 16);
  REQUIRE(UseKernelsForTesting("avx2"));
  Multiply(PackedMatrix(a, true), b, avx2);
  REQUIRE(UseKernelsForTesting("avx512"));
  Multiply(PackedMatrix(a, true), b, avx512);
  CHECK(SameBits(avx2, avx512));
}

TEST_CASE("MultiplyTall is the multiply-add chain over j on every kernel",
          "[core][kernels][mttkrp]") {
  EveryKernel kernels;
  // S: rows [3, 3 + m) of a 60 x n matrix (column stride 60), so that the
  // kernels read strided columns at an unaligned start.
  const Index ld = 60, n = 45;
  const MatrixXd big = MatrixXd::Random(ld, n);
  for (Index m : {1, 5, 16, 33, 57})
    for (Index rank : {1, 2, 5, 6, 8, 11, 17}) {
      const MatrixXd s = big.block(3, 0, m, n);
      const MatrixXd w = MatrixXd::Random(n, rank);
      const MatrixXd wt = w.transpose();
      MatrixXd chain = MatrixXd::Zero(m, rank);
      for (Index r = 0; r < rank; ++r)
        for (Index i = 0; i < m; ++i)
          for (Index j = 0; j < n; ++j)
            chain(i, r) = std::fma(s(i, j), w(j, r), chain(i, r));
      for (const std::string& name : kernels.names) {
        INFO(name << ": m " << m << ", rank " << rank);
        REQUIRE(UseKernelsForTesting(name.c_str()));
        // T in a taller matrix (column stride m + 2): rows past m untouched.
        MatrixXd t = MatrixXd::Constant(m + 2, rank, 7.0);
        MultiplyTall(big.data() + 3,
                     m,
                     n,
                     ld,
                     wt.data(),
                     rank,
                     t.data(),
                     t.rows(),
                     big.data(),
                     big.size());
        CHECK((t.topRows(m) - s * w).norm() <= 1e-13 * (s * w).norm());
        CHECK((t.bottomRows(2).array() == 7.0).all());
        // sse2 rounds each product: no fma.
        if (name != "sse2") CHECK(SameBits(t.topRows(m), chain));
      }
    }
}
