#include "ltr/decompose/decompose.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>

#include "decompose/cp_internal.h"
#include "ltr/core/error.h"
#include "ltr/formats/decomposition_file.h"

namespace ltr {
namespace {

bool IsCp(DecompositionMethod method) {
  return method == DecompositionMethod::kCpAls ||
         method == DecompositionMethod::kCpOpt ||
         method == DecompositionMethod::kNcpHals ||
         method == DecompositionMethod::kCpApr;
}

CpMethod ToCpMethod(DecompositionMethod method) {
  switch (method) {
    case DecompositionMethod::kCpOpt:
      return CpMethod::kOpt;
    case DecompositionMethod::kNcpHals:
      return CpMethod::kNonnegHals;
    case DecompositionMethod::kCpApr:
      return CpMethod::kApr;
    default:
      return CpMethod::kAls;
  }
}

TuckerMethod ToTuckerMethod(DecompositionMethod method) {
  return method == DecompositionMethod::kTuckerHooi ? TuckerMethod::kHooi
                                                    : TuckerMethod::kHosvd;
}

// The mask the fits should use: the given one, with non-finite entries
// removed when allowed. Throws if a non-finite entry would be observed.
std::optional<Mask3> EffectiveMask(const DecomposeOptions& options,
                                   const Tensor3& x,
                                   const Mask3* mask) {
  std::optional<Mask3> out;
  if (mask) out = *mask;
  const Dims& d = x.dims();
  for (Index n = 0; n < x.size(); ++n) {
    if (std::isfinite(x.data()[n])) continue;
    if (out && out->data()[n] == 0) continue;
    if (!options.nan_as_missing) {
      const Index i = n / (d[1] * d[2]), j = (n / d[2]) % d[1], k = n % d[2];
      throw Error("the tensor has a non-finite value at (" + std::to_string(i) +
                  ", " + std::to_string(j) + ", " + std::to_string(k) +
                  ") that is not masked; give a --mask that excludes it or "
                  "use --nan-as-missing");
    }
    if (!out) out = Mask3(d, 1);
    out->data()[n] = 0;
  }
  return out;
}

// Why one CP fit must not be trusted, "" when it can.
std::string CpFailure(const std::string& what, const CpSummary& s) {
  bool finite = std::isfinite(s.relative_error) && s.model.weights.allFinite();
  for (int n = 0; n < 3; ++n) finite = finite && s.model.factors[n].allFinite();
  std::ostringstream out;
  out << std::setprecision(6);
  if (!finite)
    out << what << " has non-finite values (relative error " << s.relative_error
        << ")";
  else if (s.relative_error >= kZeroModelError)
    out << what << " is no better than the zero model: relative error "
        << s.relative_error << " >= " << kZeroModelError
        << " (it explains nothing: check the data's sign and scale, or try "
           "another method or seed)";
  return out.str();
}

}  // namespace

std::vector<int> DecomposeOptions::SweepRanks() const {
  if (!ranks.empty()) return ranks;
  std::vector<int> range;
  if (max_rank > 0)
    for (int r = min_rank; r <= max_rank; ++r) range.push_back(r);
  return range;
}

bool DecomposeOptions::IsValid(const Dims& dims, std::string* error) const {
  const bool sweep = max_rank > 0 || !ranks.empty();
  if (!IsCp(method)) {
    if (sweep || cross_validate) {
      *error = "rank sweeps and cross-validation are for CP methods; give " +
               MethodName(method) + " --tucker-ranks or --tucker-tol";
      return false;
    }
    TuckerOptions t = tucker;
    t.method = ToTuckerMethod(method);
    t.run = run;
    return t.IsValid(dims, error);
  }
  if (!ranks.empty()) {
    for (size_t i = 0; i < ranks.size(); ++i)
      if (ranks[i] < 1 || (i > 0 && ranks[i] <= ranks[i - 1])) {
        *error = "the ranks of a sweep must be >= 1 and increasing";
        return false;
      }
    if (max_rank > 0) {
      *error = "give the sweep's ranks as a list or as min/max, not both";
      return false;
    }
  } else if (sweep) {
    if (min_rank < 1 || min_rank > max_rank) {
      *error = "rank range " + std::to_string(min_rank) + ":" +
               std::to_string(max_rank) + " must satisfy 1 <= A <= B";
      return false;
    }
  }
  if (sweep && restarts < 1) {
    *error = "restarts must be >= 1";
    return false;
  }
  if (cross_validate && !(test_fraction > 0 && test_fraction <= 0.9)) {
    *error = "test fraction must be in (0, 0.9]";
    return false;
  }
  if (!resume_from.empty() && !sweep) {
    *error = "resuming continues a rank sweep; give its ranks";
    return false;
  }
  CpOptions c = cp;
  c.method = ToCpMethod(method);
  c.run = run;
  if (sweep) c.rank = SweepRanks().back();
  return c.IsValid(dims, error);
}

namespace {

// The data the fits see: x with zeros where `mask` marks entries missing
// when x is not finite there (algorithms never read masked entries' values,
// but a NaN times a zero weight is still NaN); empty when x is fine as is.
std::optional<Tensor3> ZeroFilled(const Tensor3& x, const Mask3* mask) {
  if (!mask || AllFinite(x)) return std::nullopt;
  Tensor3 filled = x;
  for (Index n = 0; n < x.size(); ++n)
    if (!mask->data()[n]) filled.data()[n] = 0;
  return filled;
}

// The finished fits of options.resume_from, checked to continue this job.
SweepCheckpoint ReadCheckpoint(const DecomposeOptions& options,
                               const Dims& dims) {
  SweepCheckpoint checkpoint = ReadSweepCheckpoint(options.resume_from);
  const std::string key = ResumeKey(options, dims);
  if (checkpoint.resume_key != key)
    throw Error(
        "cannot resume: the options differ from those of the run that "
        "wrote " +
        options.resume_from + " (it had '" + checkpoint.resume_key +
        "', now '" + key + "')");
  return checkpoint;
}

// The sweep's ensemble and, with options.cross_validate, its
// cross-validation, continuing `earlier` (may be null).
void RunSweep(const DecomposeOptions& options,
              const CpOptions& cp,
              const Tensor3& data,
              const Mask3* mask,
              const SweepCheckpoint* earlier,
              DecomposeResult* result) {
  const std::vector<int> sweep = options.SweepRanks();
  if (!sweep.empty()) {
    EnsembleOptions e;
    e.cp = cp;
    e.ranks = sweep;
    e.restarts = options.restarts;
    e.nvecs_first = options.nvecs_first;
    e.compute_corcondia = options.corcondia;
    e.run = options.run;
    result->ensemble = RunEnsemble(
        e,
        data,
        mask,
        earlier && earlier->ensemble ? &*earlier->ensemble : nullptr);
  }
  if (options.cross_validate) {
    CrossValidationOptions cv;
    cv.cp = cp;
    cv.restarts = options.restarts;
    cv.test_fraction = options.test_fraction;
    cv.run = options.run;
    cv.ranks = sweep.empty() ? std::vector<int>{cp.rank} : sweep;
    result->cross_validation = CrossValidate(
        cv,
        data,
        mask,
        earlier && earlier->cross_validation ? &*earlier->cross_validation
                                             : nullptr);
  }
}

}  // namespace

DecomposeResult Decompose(const DecomposeOptions& options,
                          const Tensor3& x,
                          const Mask3* mask) {
  std::string error;
  if (!options.IsValid(x.dims(), &error)) throw Error(error);
  if (mask && mask->dims() != x.dims())
    throw Error("the mask is " + DimsToString(mask->dims()) +
                " but the tensor is " + DimsToString(x.dims()));
  std::optional<SweepCheckpoint> earlier;
  if (!options.resume_from.empty()) earlier = ReadCheckpoint(options, x.dims());

  const std::optional<Mask3> effective = EffectiveMask(options, x, mask);
  const Mask3* m = effective ? &*effective : nullptr;
  const std::optional<Tensor3> zero_filled = ZeroFilled(x, m);
  const Tensor3& data = zero_filled ? *zero_filled : x;
  internal::CheckSumOfSquares(data, m);

  DecomposeResult result;
  if (!IsCp(options.method)) {
    if (m)
      throw Error("Tucker methods do not take missing data; use a CP method");
    TuckerOptions t = options.tucker;
    t.method = ToTuckerMethod(options.method);
    t.run = options.run;
    result.tucker = Tucker(t, data);
    return result;
  }
  CpOptions cp = options.cp;
  cp.method = ToCpMethod(options.method);
  cp.run = options.run;
  if (!options.IsSweep()) result.cp = Cp(cp, data, m);
  RunSweep(options, cp, data, m, earlier ? &*earlier : nullptr, &result);
  if (options.IsSweep() && !options.data_name.empty())
    result.resume_key = ResumeKey(options, x.dims());
  return result;
}

bool DecomposeResult::complete() const {
  return (!ensemble || ensemble->complete) &&
         (!cross_validation || cross_validation->complete);
}

namespace {

std::string TuckerFailure(const TuckerSummary& t) {
  bool finite = std::isfinite(t.relative_error) && AllFinite(t.model.core);
  for (int n = 0; n < 3; ++n) finite = finite && t.model.factors[n].allFinite();
  std::ostringstream out;
  out << std::setprecision(6);
  if (!finite)
    out << "the Tucker fit has non-finite values";
  else if (t.relative_error >= kZeroModelError)
    out << "the Tucker fit is no better than the zero model: relative error "
        << t.relative_error << " >= " << kZeroModelError;
  return out.str();
}

std::string CrossValidationFailure(const CrossValidationSummary& cv) {
  for (Index r = 0; r < cv.restart.rows(); ++r)
    for (Index k = 0; k < cv.restart.cols(); ++k) {
      if (cv.restart(r, k) < 0) continue;
      const double train = cv.train_error(r, k), test = cv.test_error(r, k);
      std::ostringstream out;
      out << std::setprecision(6) << "the cross-validation fit at rank "
          << cv.ranks[r] << ", restart " << k;
      if (!std::isfinite(train) || !std::isfinite(test))
        return out.str() + " has a non-finite error";
      if (train >= kZeroModelError)
        return out.str() +
               " is no better than the zero model (training "
               "error " +
               std::to_string(train) + ")";
    }
  return "";
}

}  // namespace

std::string DecomposeResult::Failure() const {
  if (cp && !CpFailure("the fit", *cp).empty())
    return CpFailure("the fit", *cp);
  if (tucker && !TuckerFailure(*tucker).empty()) return TuckerFailure(*tucker);
  if (ensemble)
    for (size_t r = 0; r < ensemble->fits.size(); ++r)
      for (size_t k = 0; k < ensemble->fits[r].size(); ++k) {
        if (ensemble->restart(r, k) < 0) continue;
        const std::string why =
            CpFailure("the fit at rank " + std::to_string(ensemble->ranks[r]) +
                          ", restart " + std::to_string(k),
                      ensemble->fits[r][k]);
        if (!why.empty()) return why;
      }
  return cross_validation ? CrossValidationFailure(*cross_validation) : "";
}

namespace {

// "A:B" for consecutive ranks (as keys were written before lists existed),
// else "1,3,5"; "0:0" for no sweep.
std::string RanksKey(const std::vector<int>& ranks) {
  if (ranks.empty()) return "0:0";
  if (ranks.back() - ranks.front() + 1 == static_cast<int>(ranks.size()))
    return std::to_string(ranks.front()) + ":" + std::to_string(ranks.back());
  std::string key;
  for (size_t i = 0; i < ranks.size(); ++i)
    key += (i ? "," : "") + std::to_string(ranks[i]);
  return key;
}

}  // namespace

std::string ResumeKey(const DecomposeOptions& options, const Dims& dims) {
  std::ostringstream key;
  key << std::setprecision(17) << "method=" << MethodName(options.method)
      << " init=" << CpInitName(options.cp.init)
      << " max_iters=" << options.cp.max_iterations
      << " tol=" << options.cp.tolerance
      << " missing=" << MissingDataName(options.cp.missing_data) << " nonneg=";
  for (int mode : options.cp.nonnegative_modes) key << mode << ";";
  if (options.method == DecompositionMethod::kCpApr) {
    const CpOptions::AprOptions& apr = options.cp.apr;
    key << " inner_iters=" << apr.max_inner_iterations
        << " kkt_tol=" << apr.kkt_tolerance << " kappa=" << apr.kappa
        << " kappa_tol=" << apr.kappa_tolerance << " epsilon=" << apr.epsilon;
  }
  key << " seed=" << options.cp.seed << " rank=" << options.cp.rank
      << " ranks=" << RanksKey(options.SweepRanks())
      << " restarts=" << options.restarts
      << " nvecs_first=" << options.nvecs_first
      << " corcondia=" << options.corcondia << " cv=" << options.cross_validate
      << " test_fraction=" << options.test_fraction
      << " nan_as_missing=" << options.nan_as_missing
      << " dims=" << DimsToString(dims);
  if (!options.data_name.empty()) key << " " << options.data_name;
  return key.str();
}

std::string DecomposeResult::Report() const {
  std::ostringstream out;
  if (cp) out << cp->BriefReport() << "\n";
  if (tucker) out << tucker->BriefReport() << "\n";
  if (ensemble) out << ensemble->BriefReport() << "\n";
  if (cross_validation) out << cross_validation->BriefReport() << "\n";
  return out.str();
}

}  // namespace ltr
