// ltr::Cp: validation, initialisation, dispatch to the CP methods, and the
// canonical form and final error of their result.
#include "ltr/decompose/cp.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "decompose/cp_internal.h"
#include "decompose/cp_kernels.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"

namespace ltr {
namespace {

std::string Position(const Dims& d, Index n) {
  const Index i = n / (d[1] * d[2]), j = (n / d[2]) % d[1], k = n % d[2];
  std::ostringstream out;
  out << "(" << i << ", " << j << ", " << k << ")";
  return out.str();
}

const char* MethodName(CpMethod method) {
  switch (method) {
    case CpMethod::kAls:
      return "CP-ALS";
    case CpMethod::kOpt:
      return "CP-OPT";
    case CpMethod::kNonnegHals:
      return "nonnegative CP-HALS";
    case CpMethod::kApr:
      return "CP-APR";
  }
  return "CP";
}

}  // namespace

std::array<bool, 3> internal::NonnegativeModes(const CpOptions& options) {
  std::array<bool, 3> nonneg{false, false, false};
  if (options.method == CpMethod::kApr) return {true, true, true};
  if (options.method != CpMethod::kNonnegHals) return nonneg;
  if (options.nonnegative_modes.empty()) return {true, true, true};
  for (int mode : options.nonnegative_modes) nonneg[mode] = true;
  return nonneg;
}

namespace {

bool AprOptionsValid(const CpOptions::AprOptions& apr, std::string* error) {
  std::string why;
  if (apr.max_inner_iterations < 1)
    why = "cp-apr: max_inner_iterations must be >= 1, got " +
          std::to_string(apr.max_inner_iterations);
  else if (!(apr.kkt_tolerance >= 0) || !std::isfinite(apr.kkt_tolerance))
    why = "cp-apr: the KKT tolerance must be finite and >= 0";
  else if (!(apr.kappa >= 0) || !std::isfinite(apr.kappa))
    why = "cp-apr: kappa must be finite and >= 0";
  else if (!(apr.kappa_tolerance >= 0) || !std::isfinite(apr.kappa_tolerance))
    why = "cp-apr: kappa_tolerance must be finite and >= 0";
  else if (!(apr.epsilon > 0) || !std::isfinite(apr.epsilon))
    why = "cp-apr: epsilon must be finite and > 0";
  if (why.empty()) return true;
  if (error) *error = why;
  return false;
}

}  // namespace

bool CpOptions::IsValid(const Dims& dims, std::string* error) const {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  for (int n = 0; n < 3; ++n)
    if (dims[n] < 1)
      return fail("CP needs a tensor with every dimension >= 1, got " +
                  DimsToString(dims));
  if (rank < 1) return fail("rank must be >= 1, got " + std::to_string(rank));
  // Every I x J x K tensor has CP rank at most min(IJ, IK, JK) (it is a sum
  // of that many rank-one terms, one per fibre), so a larger rank can only
  // add degenerate components.
  const Index max_rank =
      std::min({dims[0] * dims[1], dims[0] * dims[2], dims[1] * dims[2]});
  if (rank > max_rank)
    return fail("rank " + std::to_string(rank) + " exceeds " +
                std::to_string(max_rank) +
                ", the largest CP rank a tensor of " + DimsToString(dims) +
                " can have (min of IJ, IK, JK)");
  if (max_iterations < 1)
    return fail("max_iterations must be >= 1, got " +
                std::to_string(max_iterations));
  if (!(tolerance >= 0) || !std::isfinite(tolerance))
    return fail("tolerance must be finite and >= 0 (0 runs max_iterations)");
  if (run.num_threads < 1)
    return fail("num_threads must be >= 1, got " +
                std::to_string(run.num_threads));
  for (int mode : nonnegative_modes)
    if (mode < 0 || mode > 2)
      return fail("nonnegative mode " + std::to_string(mode) +
                  " is not 0, 1 or 2");
  if (!nonnegative_modes.empty() && method != CpMethod::kNonnegHals)
    return fail("nonnegative_modes requires method kNonnegHals");
  return method != CpMethod::kApr || AprOptionsValid(apr, error);
}

bool internal::CheckCounts(const Tensor3& x, const Mask3* mask, bool require) {
  for (Index n = 0; n < x.size(); ++n) {
    if ((mask && !mask->data()[n]) || x.data()[n] >= 0) continue;
    if (!require) return false;
    throw Error(
        "cp-apr needs counts >= 0 (a Poisson model), but observed "
        "entry " +
        Position(x.dims(), n) + " is " + std::to_string(x.data()[n]) +
        "; use ncp-hals or cp-als for signed data");
  }
  return true;
}

std::string CpSummary::BriefReport() const {
  std::ostringstream out;
  out << "CP rank " << model.rank() << ": relative error "
      << std::setprecision(6) << relative_error << " (fit " << fit() << ")";
  if (std::isfinite(poisson_deviance))
    out << ", Poisson deviance " << poisson_deviance;
  out << " after " << iterations << " iterations in " << std::setprecision(3)
      << seconds << " s; " << message;
  return out.str();
}

Ktensor InitialKtensor(const CpOptions& options,
                       const Tensor3& x,
                       const Mask3* mask) {
  std::string error;
  if (!options.IsValid(x.dims(), &error)) throw Error(error);
  const Index rank = options.rank;
  const std::array<bool, 3> nonneg = internal::NonnegativeModes(options);
  Ktensor k;
  k.weights = Vector::Ones(rank);
  Rng rng(options.seed);
  if (options.init == CpInit::kRandom) {
    // Gaussian starts for free modes: uniform [0, 1) columns are all nearly
    // parallel, which often leaves ALS in a swamp. Nonnegative modes need
    // nonnegative starts.
    for (int n = 0; n < 3; ++n)
      k.factors[n] = nonneg[n] ? rng.UniformMatrix(x.dim(n), rank)
                               : rng.NormalMatrix(x.dim(n), rank);
    return k;
  }
  // nvecs: leading eigenvectors of X_(n) X_(n)^T, of the zero-filled tensor
  // when entries are missing.
  const Tensor3 zero_filled = mask ? internal::ZeroFilled(x, *mask) : Tensor3();
  const Tensor3& data = mask ? zero_filled : x;
  for (int n = 0; n < 3; ++n)
    k.factors[n] = internal::NvecsFactor(
        data, n, rank, nonneg[n], &rng, options.run.num_threads);
  return k;
}

Tensor3 internal::ZeroFilled(const Tensor3& x, const Mask3& mask) {
  Tensor3 filled = x;
  for (Index n = 0; n < x.size(); ++n)
    if (!mask.data()[n]) filled.data()[n] = 0;
  return filled;
}

Ktensor internal::NvecsFirstStart(const CpOptions& cp,
                                  int rank,
                                  const Tensor3& x,
                                  const Mask3* mask) {
  const Tensor3 zero_filled = mask ? internal::ZeroFilled(x, *mask) : Tensor3();
  const Tensor3& data = mask ? zero_filled : x;
  const std::array<bool, 3> nonneg = internal::NonnegativeModes(cp);
  const int threads = cp.run.num_threads;
  const Dims& d = x.dims();
  const int largest =
      static_cast<int>(std::max_element(d.begin(), d.end()) - d.begin());
  Rng rng(cp.seed);
  Ktensor k;
  k.weights = Vector::Ones(rank);
  Matrix v = Matrix::Ones(rank, rank);
  for (int n = 0; n < 3; ++n) {
    if (n == largest) continue;
    k.factors[n] =
        internal::NvecsFactor(data, n, rank, nonneg[n], &rng, threads);
    v = v.cwiseProduct(k.factors[n].transpose() * k.factors[n]);
  }
  k.factors[largest] = Matrix::Zero(d[largest], rank);
  Matrix f =
      Mttkrp(data, k.factors, largest, threads) * internal::GramInverse(v);
  k.factors[largest] = nonneg[largest] ? Matrix(f.cwiseAbs()) : f;
  return k;
}

Matrix internal::NvecsFactor(const Tensor3& x,
                             int mode,
                             Index rank,
                             bool nonneg,
                             Rng* rng,
                             int num_threads) {
  // A mode with fewer rows than the rank gets random (normal) columns after
  // its I_n eigenvectors.
  const Index rows = x.dim(mode);
  Eigen::SelfAdjointEigenSolver<Matrix> eig(ModeGram(x, mode, num_threads));
  Matrix f(rows, rank);
  const Index from_eig = std::min<Index>(rank, rows);
  for (Index r = 0; r < from_eig; ++r)
    f.col(r) = eig.eigenvectors().col(rows - 1 - r);  // largest first
  if (from_eig < rank)
    f.rightCols(rank - from_eig) = rng->NormalMatrix(rows, rank - from_eig);
  if (nonneg) f = f.cwiseAbs();
  return f;
}

namespace {

// Dense ALS and HALS track the error by the Gram identity ||X||^2 + ||M||^2 -
// 2 <X, M> of the final model, exact to rounding (~1e-16 ||X||^2) while the
// squared error is far above that: trusted down to this relative error,
// where it is still good to ~1e-9 relative.
constexpr double kTrackedErrorFloor = 1e-3;

// The relative error of the summary's model: the tracked one where it is
// exact, else recomputed from the model (one pass over the data). The other
// methods' identities (masked normal equations, CP-OPT's cost) lose accuracy
// at small errors.
double FinalError(const CpOptions& options,
                  const Tensor3& x,
                  const Mask3* mask,
                  double norm2,
                  const CpSummary& summary) {
  const bool sweeps = options.method == CpMethod::kAls ||
                      options.method == CpMethod::kNonnegHals;
  const auto& history = summary.error_history;
  if (sweeps && !mask && norm2 > 0 && !history.empty() &&
      history.back() >= kTrackedErrorFloor && std::isfinite(history.back()))
    return history.back();
  const double residual2 =
      internal::ResidualNorm2(x, mask, summary.model, options.run.num_threads);
  return norm2 > 0 ? std::sqrt(residual2 / norm2) : std::sqrt(residual2);
}

}  // namespace

CpSummary Cp(const CpOptions& options,
             const Tensor3& x,
             const Mask3* mask,
             const Ktensor* init) {
  const auto start = std::chrono::steady_clock::now();
  const Dims& d = x.dims();
  std::string error;
  if (!options.IsValid(d, &error)) throw Error(error);
  if (mask && mask->dims() != d)
    throw Error("the mask is " + DimsToString(mask->dims()) +
                " but the tensor is " + DimsToString(d));

  // Observed data must be finite; missing entries may hold anything, but the
  // methods read whole slices, so they get zeros. The sum of squares comes
  // from the same pass (a finite sum means finite data).
  const double* v = x.data();
  Tensor3 cleaned;
  const Tensor3* data = &x;
  double norm2 = 0;
  if (mask) {
    Index observed = 0;
    bool dirty = false;
    for (Index n = 0; n < x.size(); ++n) {
      if (mask->data()[n]) {
        ++observed;
        if (!std::isfinite(v[n]))
          throw Error("tensor has a non-finite value (" + std::to_string(v[n]) +
                      ") at observed entry " + Position(d, n) +
                      "; mark it missing in the mask or remove it");
        norm2 += v[n] * v[n];
      } else if (!std::isfinite(v[n])) {
        dirty = true;
      }
    }
    if (observed == 0) throw Error("the mask marks every entry missing");
    if (dirty) {
      cleaned = internal::ZeroFilled(x, *mask);
      data = &cleaned;
    }
  } else {
    norm2 = SquaredNorm(x);
    if (!std::isfinite(norm2) && !AllFinite(x)) {
      Index n = 0;
      while (std::isfinite(v[n])) ++n;
      throw Error("tensor has " +
                  std::string(std::isnan(v[n]) ? "NaN" : "Inf") + " at " +
                  Position(d, n) +
                  " and no mask; pass a mask that marks it missing or remove "
                  "it");
    }
  }

  if (init) {
    if (init->rank() != options.rank || init->dims() != d)
      throw Error("the initial Ktensor has rank " +
                  std::to_string(init->rank()) + " and dimensions " +
                  DimsToString(init->dims()) + "; expected rank " +
                  std::to_string(options.rank) + " and " + DimsToString(d));
    bool finite = init->weights.allFinite();
    for (int n = 0; n < 3; ++n) finite = finite && init->factors[n].allFinite();
    if (!finite) throw Error("the initial Ktensor has non-finite entries");
  }
  CpSummary summary =
      internal::FitCheckedData(options, *data, mask, norm2, init);
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return summary;
}

CpSummary internal::FitCheckedData(const CpOptions& options,
                                   const Tensor3& x,
                                   const Mask3* mask,
                                   double norm2,
                                   const Ktensor* init) {
  const auto start = std::chrono::steady_clock::now();
  const Tensor3* data = &x;
  Ktensor start_model = init ? *init : InitialKtensor(options, x, mask);
  const bool counts =
      internal::CheckCounts(*data, mask, options.method == CpMethod::kApr);
  CpSummary summary;
  switch (options.method) {
    case CpMethod::kAls:
      summary =
          internal::CpAls(options, *data, mask, norm2, std::move(start_model));
      break;
    case CpMethod::kNonnegHals: {
      CpOptions hals = options;
      if (hals.nonnegative_modes.empty()) hals.nonnegative_modes = {0, 1, 2};
      summary = internal::CpNonnegHals(
          hals, *data, mask, norm2, std::move(start_model));
      break;
    }
    case CpMethod::kOpt:
      summary = internal::CpOpt(options, *data, mask, std::move(start_model));
      break;
    case CpMethod::kApr:
      summary = internal::CpApr(options, *data, mask, std::move(start_model));
      break;
  }
  summary.seed = options.seed;
  summary.model.Canonicalize();
  summary.relative_error = FinalError(options, *data, mask, norm2, summary);
  if (counts)
    summary.poisson_deviance =
        internal::PoissonDeviance(*data,
                                  mask,
                                  summary.model,
                                  options.apr.epsilon,
                                  options.run.num_threads);
  summary.message =
      std::string(MethodName(options.method)) + " " + summary.message;
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return summary;
}

}  // namespace ltr
