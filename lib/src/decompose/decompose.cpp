#include "ltr/decompose/decompose.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>

#include "formats/io_checked.h"
#include "ltr/core/error.h"

namespace ltr {
namespace {

bool IsCp(DecompositionMethod method) {
  return method == DecompositionMethod::kCpAls ||
         method == DecompositionMethod::kCpOpt ||
         method == DecompositionMethod::kNcpHals;
}

CpMethod ToCpMethod(DecompositionMethod method) {
  switch (method) {
    case DecompositionMethod::kCpOpt:
      return CpMethod::kOpt;
    case DecompositionMethod::kNcpHals:
      return CpMethod::kNonnegHals;
    default:
      return CpMethod::kAls;
  }
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

// Relative errors divide by ||X||: refuse data where it is 0 or overflows
// (values near 1e308), which would give NaN errors and zero factors.
void CheckSumOfSquares(const Tensor3& x, const Mask3* mask) {
  const double norm2 = SquaredNorm(x, mask);
  if (norm2 == 0)
    throw Error(
        "the tensor is zero at every observed entry: nothing to decompose");
  if (!std::isfinite(norm2)) {
    double largest = 0;
    for (Index n = 0; n < x.size(); ++n)
      if (!mask || mask->data()[n])
        largest = std::max(largest, std::abs(x.data()[n]));
    std::ostringstream out;
    out << "the sum of squares of the tensor overflows a double (largest "
           "|value| "
        << std::setprecision(3) << largest
        << "); rescale the data (e.g. divide by their largest value)";
    throw Error(out.str());
  }
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
    t.method = method == DecompositionMethod::kTuckerHooi
                   ? TuckerMethod::kHooi
                   : TuckerMethod::kHosvd;
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
  CpOptions c = cp;
  c.method = ToCpMethod(method);
  if (sweep) c.rank = SweepRanks().back();
  return c.IsValid(dims, error);
}

DecomposeResult Decompose(const DecomposeOptions& options,
                          const Tensor3& x,
                          const Mask3* mask,
                          const DecomposeResult* resume) {
  std::string error;
  if (!options.IsValid(x.dims(), &error)) throw Error(error);
  if (mask && mask->dims() != x.dims())
    throw Error("the mask is " + DimsToString(mask->dims()) +
                " but the tensor is " + DimsToString(x.dims()));

  const std::optional<Mask3> effective = EffectiveMask(options, x, mask);
  const Mask3* m = effective ? &*effective : nullptr;
  // Algorithms never read masked entries' values, but a NaN times a zero
  // weight is still NaN: give them zeros there.
  std::optional<Tensor3> zero_filled;
  if (m && !AllFinite(x)) {
    zero_filled = x;
    for (Index n = 0; n < x.size(); ++n)
      if (!m->data()[n]) zero_filled->data()[n] = 0;
  }
  const Tensor3& data = zero_filled ? *zero_filled : x;
  CheckSumOfSquares(data, m);

  DecomposeResult result;
  if (!IsCp(options.method)) {
    if (m)
      throw Error("Tucker methods do not take missing data; use a CP method");
    TuckerOptions t = options.tucker;
    t.method = options.method == DecompositionMethod::kTuckerHooi
                   ? TuckerMethod::kHooi
                   : TuckerMethod::kHosvd;
    result.tucker = Tucker(t, data);
    return result;
  }

  CpOptions cp = options.cp;
  cp.method = ToCpMethod(options.method);
  const std::vector<int> sweep = options.SweepRanks();
  if (sweep.empty()) {
    result.cp = Cp(cp, data, m);
  } else {
    EnsembleOptions e;
    e.cp = cp;
    e.ranks = sweep;
    e.restarts = options.restarts;
    e.compute_corcondia = options.corcondia;
    e.progress = options.progress;
    result.ensemble = RunEnsemble(
        e, data, m, resume && resume->ensemble ? &*resume->ensemble : nullptr);
  }
  if (options.cross_validate) {
    CrossValidationOptions cv;
    cv.cp = cp;
    cv.restarts = options.restarts;
    cv.test_fraction = options.test_fraction;
    cv.progress = options.progress;
    cv.ranks = sweep.empty() ? std::vector<int>{cp.rank} : sweep;
    result.cross_validation = CrossValidate(cv,
                                            data,
                                            m,
                                            resume && resume->cross_validation
                                                ? &*resume->cross_validation
                                                : nullptr);
  }
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
      << " tol=" << options.cp.tolerance << " missing="
      << MissingDataName(options.cp.missing_data)
      << " nonneg=";
  for (int mode : options.cp.nonnegative_modes) key << mode << ";";
  key << " seed=" << options.cp.seed << " rank=" << options.cp.rank
      << " ranks=" << RanksKey(options.SweepRanks())
      << " restarts=" << options.restarts << " corcondia=" << options.corcondia
      << " cv=" << options.cross_validate
      << " test_fraction=" << options.test_fraction
      << " nan_as_missing=" << options.nan_as_missing
      << " dims=" << DimsToString(dims);
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

namespace {

std::vector<std::string> SplitAxes(const std::string& axes) {
  std::vector<std::string> names;
  std::stringstream in(axes);
  std::string name;
  while (std::getline(in, name, ',')) names.push_back(name);
  if (names.size() != 3) names = {"mode0", "mode1", "mode2"};
  return names;
}

void WriteCp(const std::string& group,
             const std::string& method,
             const CpSummary& s,
             const std::vector<std::string>& axes,
             io::OutputFile* out) {
  out->WriteVector(group + "/weights", s.model.weights, "component");
  for (int n = 0; n < 3; ++n)
    out->WriteMatrix(group + "/factors/" + std::to_string(n),
                     s.model.factors[n],
                     axes[n] + ",component");
  out->WriteVector(
      group + "/error_history",
      Eigen::Map<const Vector>(s.error_history.data(), s.error_history.size()),
      "iteration");
  out->SetAttribute(group, "method", method);
  out->SetAttribute(group, "rank", static_cast<std::int64_t>(s.model.rank()));
  out->SetAttribute(group, "relative_error", s.relative_error);
  out->SetAttribute(group, "fit", s.fit());
  out->SetAttribute(group, "iterations", s.iterations);
  out->SetAttribute(group, "converged", s.converged ? 1 : 0);
  out->SetAttribute(group, "seconds", s.seconds);
  out->SetAttribute(group, "seed", static_cast<std::int64_t>(s.seed));
  out->SetAttribute(group, "message", s.message);
}

std::vector<std::int64_t> ToInt64(const std::vector<int>& values) {
  return std::vector<std::int64_t>(values.begin(), values.end());
}

// Which fits of a grid exist: attribute complete, /restart (the restart
// index of each column's fit, -1 for none) and /done (1 where a fit exists).
void WriteProgress(const std::string& group,
                   bool complete,
                   const Eigen::MatrixXi& restart,
                   io::OutputFile* out) {
  out->WriteMatrix(group + "/restart", restart.cast<double>(), "rank,restart");
  out->WriteMatrix(group + "/done",
                   (restart.array() >= 0).cast<double>().matrix(),
                   "rank,restart");
  out->SetAttribute(group, "complete", complete ? 1 : 0);
}

}  // namespace

void WriteDecomposition(const DecomposeOptions& options,
                        const DecomposeResult& result,
                        const std::string& axes,
                        io::OutputFile* out) {
  const std::vector<std::string> names = SplitAxes(axes);
  const std::string method = MethodName(options.method);
  if (result.cp) WriteCp("/cp", method, *result.cp, names, out);
  if (result.tucker) {
    const TuckerSummary& t = *result.tucker;
    out->WriteTensor3(
        "/tucker/core", t.model.core, "component0,component1,component2");
    for (int n = 0; n < 3; ++n)
      out->WriteMatrix("/tucker/factors/" + std::to_string(n),
                       t.model.factors[n],
                       names[n] + ",component");
    out->SetAttribute("/tucker", "method", method);
    out->SetAttribute("/tucker", "relative_error", t.relative_error);
    out->SetAttribute("/tucker", "fit", 1.0 - t.relative_error);
    out->SetAttribute("/tucker", "iterations", t.iterations);
    out->SetAttribute("/tucker", "converged", t.converged ? 1 : 0);
    out->SetAttribute("/tucker", "seconds", t.seconds);
    out->SetAttribute("/tucker",
                      "ranks",
                      std::to_string(t.model.core.dim(0)) + "," +
                          std::to_string(t.model.core.dim(1)) + "," +
                          std::to_string(t.model.core.dim(2)));
  }
  if (result.ensemble) {
    const EnsembleSummary& e = *result.ensemble;
    out->WriteIntVector("/ensemble/ranks", ToInt64(e.ranks), "rank");
    out->WriteMatrix(
        "/ensemble/relative_error", e.relative_error, "rank,restart");
    out->WriteMatrix("/ensemble/similarity", e.similarity, "rank,restart");
    if (e.corcondia.size() > 0)
      out->WriteMatrix("/ensemble/corcondia", e.corcondia, "rank,restart");
    WriteProgress("/ensemble", e.complete, e.restart, out);
    out->SetAttribute("/ensemble", "method", method);
    out->SetAttribute("/ensemble", "seconds", e.seconds);
    for (size_t r = 0; r < e.fits.size(); ++r)
      for (size_t k = 0; k < e.fits[r].size(); ++k)
        if (e.restart(r, k) >= 0)
          WriteCp("/ensemble/rank_" + std::to_string(e.ranks[r]) + "/run_" +
                      std::to_string(k),
                  method,
                  e.fits[r][k],
                  names,
                  out);
  }
  if (result.cross_validation) {
    const CrossValidationSummary& cv = *result.cross_validation;
    out->WriteIntVector("/crossval/ranks", ToInt64(cv.ranks), "rank");
    out->WriteMatrix("/crossval/train_error", cv.train_error, "rank,restart");
    out->WriteMatrix("/crossval/test_error", cv.test_error, "rank,restart");
    WriteProgress("/crossval", cv.complete, cv.restart, out);
    out->SetAttribute("/crossval", "test_fraction", options.test_fraction);
    out->SetAttribute("/crossval", "seconds", cv.seconds);
  }
}

namespace {

CpSummary ReadCp(const std::string& file, const std::string& group) {
  CpSummary s;
  s.model.weights = io::ReadVector(file, group + "/weights");
  for (int n = 0; n < 3; ++n)
    s.model.factors[n] =
        io::ReadMatrix(file, group + "/factors/" + std::to_string(n));
  const Vector history = io::ReadVector(file, group + "/error_history");
  s.error_history.assign(history.data(), history.data() + history.size());
  s.relative_error = io::ReadDoubleAttribute(file, group, "relative_error");
  s.iterations = static_cast<int>(io::ReadIntAttribute(
      file, group, "iterations", 0, std::numeric_limits<int>::max()));
  s.converged = io::ReadDoubleAttribute(file, group, "converged") != 0;
  s.seconds = io::ReadDoubleAttribute(file, group, "seconds");
  s.message = io::ReadStringAttribute(file, group, "message");
  // The exact seed is the grid's; RunEnsemble sets it.
  return s;
}

// complete flag and restart matrix of /ensemble or /crossval.
void ReadProgress(const std::string& file,
                  const std::string& group,
                  bool* complete,
                  Eigen::MatrixXi* restart) {
  if (!io::HasDataset(file, group + "/restart"))
    throw Error(file + ": " + group +
                " has no restart table (an older ltr wrote it); cannot "
                "resume from it");
  *complete = io::ReadDoubleAttribute(file, group, "complete") != 0;
  *restart = io::ReadMatrix(file, group + "/restart").cast<int>();
}

}  // namespace

DecomposeResult ReadDecomposition(const std::string& file) {
  io::CheckReadable(file);
  DecomposeResult result;
  if (io::HasDataset(file, "/ensemble/ranks")) {
    EnsembleSummary e;
    const auto ranks = io::ReadIntVector(file, "/ensemble/ranks");
    e.ranks.assign(ranks.begin(), ranks.end());
    ReadProgress(file, "/ensemble", &e.complete, &e.restart);
    e.relative_error = io::ReadMatrix(file, "/ensemble/relative_error");
    e.similarity = io::ReadMatrix(file, "/ensemble/similarity");
    e.corcondia = io::ReadMatrix(file, "/ensemble/corcondia");
    const Index rows = static_cast<Index>(e.ranks.size());
    if (e.restart.rows() != rows || e.relative_error.rows() != rows ||
        e.corcondia.rows() != rows ||
        e.relative_error.cols() != e.restart.cols() ||
        e.corcondia.cols() != e.restart.cols())
      throw Error(file + ": the /ensemble tables disagree in shape");
    e.fits.assign(
        e.ranks.size(),
        std::vector<CpSummary>(static_cast<size_t>(e.restart.cols())));
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < e.restart.cols(); ++k)
        if (e.restart(r, k) >= 0)
          e.fits[r][k] = ReadCp(file,
                                "/ensemble/rank_" + std::to_string(e.ranks[r]) +
                                    "/run_" + std::to_string(k));
    result.ensemble = std::move(e);
  }
  if (io::HasDataset(file, "/crossval/ranks")) {
    CrossValidationSummary cv;
    const auto ranks = io::ReadIntVector(file, "/crossval/ranks");
    cv.ranks.assign(ranks.begin(), ranks.end());
    ReadProgress(file, "/crossval", &cv.complete, &cv.restart);
    cv.train_error = io::ReadMatrix(file, "/crossval/train_error");
    cv.test_error = io::ReadMatrix(file, "/crossval/test_error");
    if (cv.train_error.rows() != cv.restart.rows() ||
        cv.train_error.cols() != cv.restart.cols() ||
        cv.test_error.rows() != cv.restart.rows() ||
        cv.test_error.cols() != cv.restart.cols() ||
        cv.restart.rows() != static_cast<Index>(cv.ranks.size()))
      throw Error(file + ": the /crossval tables disagree in shape");
    result.cross_validation = std::move(cv);
  }
  return result;
}

}  // namespace ltr
