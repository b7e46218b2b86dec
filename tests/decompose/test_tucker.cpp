// Tucker: ST-HOSVD with fixed or tolerance-chosen ranks, and HOOI.
#include <Eigen/QR>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/decompose/tucker.h"
#include "planted.h"

namespace ltr {
namespace {

// An n x r matrix with orthonormal columns.
Matrix RandomOrthonormal(Rng& rng, Index n, Index r) {
  Eigen::HouseholderQR<Matrix> qr(rng.NormalMatrix(n, n));
  return qr.householderQ() * Matrix::Identity(n, r);
}

// core x_0 U0 x_1 U1 x_2 U2 with random orthonormal U_n.
Tensor3 PlantedTucker(Rng& rng, const Tensor3& core, const Dims& dims) {
  TuckerTensor t;
  t.core = core;
  for (int n = 0; n < 3; ++n)
    t.factors[n] = RandomOrthonormal(rng, dims[n], core.dim(n));
  return t.Full();
}

double DirectRelativeError(const Tensor3& x, const TuckerTensor& m) {
  return (x.AsVector() - m.Full().AsVector()).norm() / x.AsVector().norm();
}

void CheckOrthonormal(const TuckerTensor& m) {
  for (int n = 0; n < 3; ++n) {
    const Matrix& u = m.factors[n];
    const double off =
        (u.transpose() * u - Matrix::Identity(u.cols(), u.cols()))
            .cwiseAbs()
            .maxCoeff();
    INFO("mode " << n);
    CHECK(off < 1e-12);
    CHECK(m.core.dim(n) == u.cols());
  }
}

TEST_CASE("Tucker with full ranks reconstructs the tensor exactly",
          "[tucker]") {
  const Dims dims{6, 7, 8};
  Rng rng(1);
  Tensor3 x(dims);
  for (double& v : x.values()) v = rng.Normal();
  TuckerOptions options;
  options.method = GENERATE(TuckerMethod::kHosvd, TuckerMethod::kHooi);
  options.ranks = {6, 7, 8};
  const TuckerSummary fit = Tucker(options, x);
  INFO(fit.BriefReport());
  CHECK(fit.relative_error < 1e-12);
  CHECK((fit.model.Full().AsVector() - x.AsVector()).cwiseAbs().maxCoeff() <
        1e-10);
  CheckOrthonormal(fit.model);
  CHECK(fit.converged);
}

TEST_CASE("Tucker with an error tolerance meets it on a decaying spectrum",
          "[tucker]") {
  const Dims dims{30, 25, 20};
  Rng rng(2);
  Tensor3 core(dims);
  for (Index a = 0; a < dims[0]; ++a)
    for (Index b = 0; b < dims[1]; ++b)
      for (Index c = 0; c < dims[2]; ++c)
        core(a, b, c) = rng.Normal() * std::exp(-0.8 * (a + b + c));
  const Tensor3 x = PlantedTucker(rng, core, dims);

  int previous_total = 0;
  for (double tolerance : {1e-1, 1e-2, 1e-3, 1e-4}) {
    TuckerOptions options;
    options.error_tolerance = tolerance;
    const TuckerSummary fit = Tucker(options, x);
    INFO("tolerance " << tolerance << ": " << fit.BriefReport());
    CHECK(fit.relative_error <= tolerance);
    CHECK(
        fit.relative_error ==
        Approx(DirectRelativeError(x, fit.model)).epsilon(1e-6).margin(1e-12));
    CheckOrthonormal(fit.model);
    const Dims r = fit.model.core.dims();
    CHECK(r[0] < dims[0]);
    CHECK(r[1] < dims[1]);
    CHECK(r[2] < dims[2]);
    const int total = static_cast<int>(r[0] + r[1] + r[2]);
    CHECK(total > previous_total);  // tighter tolerance, larger ranks
    previous_total = total;
  }
}

TEST_CASE("Tucker chooses the planted multilinear ranks, and no smaller ones",
          "[tucker]") {
  const Dims dims{20, 15, 10};
  const std::array<int, 3> planted = {3, 4, 2};
  Rng rng(3);
  Tensor3 core(planted[0], planted[1], planted[2]);
  for (double& v : core.values()) v = rng.Normal();
  const Tensor3 x = testing::AddNoise(PlantedTucker(rng, core, dims), 1e-4, 4);

  const double tolerance = 1e-2;
  TuckerOptions options;
  options.error_tolerance = tolerance;
  const TuckerSummary fit = Tucker(options, x);
  INFO(fit.BriefReport());
  const Dims r = fit.model.core.dims();
  CHECK(r[0] == planted[0]);
  CHECK(r[1] == planted[1]);
  CHECK(r[2] == planted[2]);
  CHECK(fit.relative_error <= tolerance);
  CHECK(fit.relative_error < 1e-3);  // about the noise level

  // One less in any mode fails the tolerance.
  for (int n = 0; n < 3; ++n) {
    TuckerOptions smaller;
    smaller.ranks = planted;
    smaller.ranks[n] -= 1;
    const TuckerSummary worse = Tucker(smaller, x);
    INFO("mode " << n << " reduced: " << worse.BriefReport());
    CHECK(worse.relative_error > tolerance);
  }

  // A mix: mode 1 fixed, the others chosen.
  options.ranks = {0, 2, 0};
  const TuckerSummary mixed = Tucker(options, x);
  CHECK(mixed.model.core.dim(1) == 2);
  CHECK(mixed.model.core.dim(0) == planted[0]);
  CHECK(mixed.model.core.dim(2) == planted[2]);
}

TEST_CASE("HOOI error is at most the ST-HOSVD error for the same ranks",
          "[tucker]") {
  const Dims dims{18, 14, 12};
  Rng rng(5);
  // Not of low multilinear rank: a planted part plus 30% noise, so that
  // ST-HOSVD is not already optimal.
  Tensor3 core(5, 5, 5);
  for (double& v : core.values()) v = rng.Normal();
  const Tensor3 x = testing::AddNoise(PlantedTucker(rng, core, dims), 0.3, 6);

  TuckerOptions options;
  options.ranks = {4, 3, 5};
  options.run.num_threads = 2;
  const TuckerSummary hosvd = Tucker(options, x);
  options.method = TuckerMethod::kHooi;
  options.tolerance = 1e-12;
  options.max_iterations = 200;
  const TuckerSummary hooi = Tucker(options, x);
  INFO(hosvd.BriefReport());
  INFO(hooi.BriefReport());
  CHECK(hooi.relative_error <= hosvd.relative_error + 1e-14);
  CHECK(hooi.iterations >= 1);
  CHECK(hooi.converged);
  CHECK(hosvd.iterations == 0);
  // One error per HOOI iteration, never rising, the last the reported one.
  CHECK(hosvd.error_history.empty());
  REQUIRE(hooi.error_history.size() == static_cast<size_t>(hooi.iterations));
  for (size_t i = 1; i < hooi.error_history.size(); ++i)
    CHECK(hooi.error_history[i] <= hooi.error_history[i - 1] + 1e-14);
  CHECK(hooi.error_history.back() == Approx(hooi.relative_error).epsilon(1e-8));
  CheckOrthonormal(hosvd.model);
  CheckOrthonormal(hooi.model);
  CHECK(hooi.relative_error ==
        Approx(DirectRelativeError(x, hooi.model)).epsilon(1e-8));
  CHECK(hosvd.relative_error ==
        Approx(DirectRelativeError(x, hosvd.model)).epsilon(1e-8));
}

TEST_CASE("Tucker rejects invalid options and non-finite data", "[tucker]") {
  const Dims dims{4, 5, 6};
  Tensor3 x(dims, 1.0);
  std::string why;
  TuckerOptions options;
  CHECK(options.IsValid(dims, &why));

  options.ranks = {5, 1, 1};  // 5 > 4
  CHECK_FALSE(options.IsValid(dims, &why));
  CHECK(why.find("mode 0") != std::string::npos);
  CHECK_THROWS_AS(Tucker(options, x), Error);

  options.ranks = {-1, 1, 1};
  CHECK_FALSE(options.IsValid(dims, &why));

  options.ranks = {0, 2, 2};
  options.error_tolerance = 0;
  CHECK_FALSE(options.IsValid(dims, &why));
  options.error_tolerance = 1.5;
  CHECK_FALSE(options.IsValid(dims, &why));
  options.ranks = {2, 2, 2};  // fixed ranks: the tolerance is not used
  CHECK(options.IsValid(dims, &why));

  options.run.num_threads = 0;
  CHECK_FALSE(options.IsValid(dims, &why));

  TuckerOptions good;
  x(1, 2, 3) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(Tucker(good, x), Error);
}

}  // namespace
}  // namespace ltr
