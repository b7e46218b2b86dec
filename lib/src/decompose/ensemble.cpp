// Ensembles over ranks x restarts and their cross-validation: grids of
// independent fits shared by distributed::RunTasks (diagnostics.h).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <utility>

#include "decompose/cp_internal.h"
#include "ltr/core/distributed.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/decompose/crossval.h"
#include "ltr/decompose/diagnostics.h"

namespace ltr {

double internal::CheckSumOfSquares(const Tensor3& x, const Mask3* mask) {
  const double norm2 = SquaredNorm(x, mask);
  if (norm2 == 0)
    throw Error(
        "the tensor is zero at every observed entry: nothing to decompose");
  if (std::isfinite(norm2)) return norm2;
  double largest = 0;
  for (Index n = 0; n < x.size(); ++n) {
    if (mask && !mask->data()[n]) continue;
    if (!std::isfinite(x.data()[n])) return norm2;  // Cp names the entry
    largest = std::max(largest, std::abs(x.data()[n]));
  }
  std::ostringstream out;
  out << "the sum of squares of the tensor overflows a double (largest "
         "|value| "
      << std::setprecision(3) << largest
      << "); rescale the data (e.g. divide by their largest value)";
  throw Error(out.str());
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Mean over the entries of row r other than column 0 (the best fit itself),
// or NaN when there are none.
double MeanOfOthers(const Matrix& m, Index r) {
  if (m.cols() < 2) return kNaN;
  return m.row(r).tail(m.cols() - 1).mean();
}

// Fixed-point with `precision` decimals; scientific when very large (a
// degenerate fit can have a CORCONDIA of -1e12); "-" when not finite.
std::string FormatNumber(double value, int precision) {
  if (!std::isfinite(value)) return "-";
  std::ostringstream out;
  if (std::abs(value) >= 1e5)
    out << std::scientific << std::setprecision(2) << value;
  else
    out << std::fixed << std::setprecision(precision) << value;
  return out.str();
}

void CheckMask(const Tensor3& x, const Mask3* mask, const char* where) {
  if (mask && mask->dims() != x.dims())
    throw Error(std::string(where) + ": mask is " + DimsToString(mask->dims()) +
                " but the tensor is " + DimsToString(x.dims()));
}

// Best first; NaN (failed fits) last; ties keep restart order.
bool BetterError(double p, double q) {
  const bool p_ok = std::isfinite(p);
  const bool q_ok = std::isfinite(q);
  if (p_ok != q_ok) return p_ok;
  return p_ok && p < q;
}

// A task's result, as RunTasks carries it between processes.
std::string SerializeFit(const CpSummary& fit, double corcondia) {
  distributed::Buffer b;
  b.PutVector(fit.model.weights);
  for (int n = 0; n < 3; ++n) b.PutMatrix(fit.model.factors[n]);
  b.PutDouble(fit.relative_error);
  b.PutInt(fit.iterations);
  b.PutInt(fit.converged ? 1 : 0);
  b.PutDouble(fit.seconds);
  b.PutString(fit.message);
  b.PutDoubles(fit.error_history);
  b.PutDouble(fit.poisson_deviance);
  b.PutDoubles(fit.deviance_history);
  b.PutDouble(corcondia);
  return b.Release();
}

CpSummary DeserializeFit(std::string bytes, double* corcondia) {
  distributed::Buffer b(std::move(bytes));
  CpSummary fit;
  fit.model.weights = b.GetVector();
  for (int n = 0; n < 3; ++n) fit.model.factors[n] = b.GetMatrix();
  fit.relative_error = b.GetDouble();
  fit.iterations = static_cast<int>(b.GetInt());
  fit.converged = b.GetInt() != 0;
  fit.seconds = b.GetDouble();
  fit.message = b.GetString();
  fit.error_history = b.GetDoubles();
  fit.poisson_deviance = b.GetDouble();
  fit.deviance_history = b.GetDoubles();
  *corcondia = b.GetDouble();
  return fit;
}

// Checks that `resume` covers the same grid; returns, per task r * restarts
// + t, whether it holds that task's result.
template <typename Summary>
std::vector<char> TasksDone(const Summary* resume,
                            const std::vector<int>& ranks,
                            int restarts,
                            const char* where) {
  std::vector<char> done(ranks.size() * static_cast<size_t>(restarts), 0);
  if (!resume) return done;
  if (resume->ranks != ranks || resume->restart.cols() != restarts ||
      resume->restart.rows() != static_cast<Index>(ranks.size()))
    throw Error(std::string(where) +
                ": cannot resume: the earlier run had other ranks or "
                "restarts");
  for (Index r = 0; r < resume->restart.rows(); ++r)
    for (Index k = 0; k < restarts; ++k) {
      const int t = resume->restart(r, k);
      if (t < 0) continue;
      if (t >= restarts || done[r * restarts + t])
        throw Error(std::string(where) +
                    ": cannot resume: the earlier run's restart indices are "
                    "not a subset of 0.." +
                    std::to_string(restarts - 1));
      done[r * restarts + t] = 1;
    }
  return done;
}

// The ranks of an ensemble, checked.
std::vector<int> EnsembleRanks(const EnsembleOptions& options) {
  std::vector<int> ranks = options.ranks;
  if (ranks.empty()) {
    if (options.min_rank < 1 || options.max_rank < options.min_rank)
      throw Error("RunEnsemble: need 1 <= min_rank <= max_rank, got min_rank " +
                  std::to_string(options.min_rank) + " and max_rank " +
                  std::to_string(options.max_rank));
    for (int r = options.min_rank; r <= options.max_rank; ++r)
      ranks.push_back(r);
  }
  for (size_t i = 0; i < ranks.size(); ++i)
    if (ranks[i] < 1 || (i > 0 && ranks[i] <= ranks[i - 1]))
      throw Error("RunEnsemble: ranks must be >= 1 and increasing");
  return ranks;
}

// Throws unless every rank gives valid CP options for x.
void CheckRanks(const CpOptions& options,
                const std::vector<int>& ranks,
                const Dims& dims,
                const char* where) {
  for (int rank : ranks) {
    CpOptions cp = options;
    cp.rank = rank;
    std::string error;
    if (!cp.IsValid(dims, &error))
      throw Error(std::string(where) + ": rank " + std::to_string(rank) + ": " +
                  error);
  }
}

// The first `rank` components of k.
Ktensor Leading(const Ktensor& k, int rank) {
  Ktensor out;
  out.weights = k.weights.head(rank);
  for (int n = 0; n < 3; ++n) out.factors[n] = k.factors[n].leftCols(rank);
  return out;
}

std::vector<std::uint64_t> DrawSeeds(Rng* rng, size_t count) {
  std::vector<std::uint64_t> seeds(count);
  for (auto& seed : seeds) seed = rng->NextSeed();
  return seeds;
}

// The results of a grid's tasks r * restarts + t: those `resume` holds
// (value(r, k) of its column k), then those `task` computes, shared by
// RunTasks over run's processes and decoded from its bytes by `decode`.
// nullopt where a task was not done (cancelled).
template <typename Result, typename Summary, typename Value, typename Decode>
std::vector<std::optional<Result>> RunGrid(
    const RunContext& run,
    const Summary* resume,
    const std::vector<int>& ranks,
    int restarts,
    const char* where,
    const Value& value,
    const std::function<std::string(int)>& task,
    const Decode& decode) {
  std::vector<std::optional<Result>> results(ranks.size() * restarts);
  const std::vector<char> skip = TasksDone(resume, ranks, restarts, where);
  if (resume)
    for (Index r = 0; r < resume->restart.rows(); ++r)
      for (int k = 0; k < restarts; ++k) {
        const int t = resume->restart(r, k);
        if (t >= 0) results[r * restarts + t] = value(r, k);
      }
  const auto done =
      distributed::RunTasks(run, static_cast<int>(results.size()), task, &skip);
  for (size_t i = 0; i < results.size(); ++i)
    if (done[i]) results[i] = decode(*done[i]);
  return results;
}

template <typename Result>
bool AllDone(const std::vector<std::optional<Result>>& results) {
  for (const auto& result : results)
    if (!result) return false;
  return true;
}

// The columns of rank index r: restart order, then (when complete) the
// best `error` of restart t first.
std::vector<int> ColumnOrder(int restarts,
                             bool complete,
                             const std::function<double(int)>& error) {
  std::vector<int> order(restarts);
  std::iota(order.begin(), order.end(), 0);
  if (complete)
    std::stable_sort(order.begin(), order.end(), [&](int p, int q) {
      return BetterError(error(p), error(q));
    });
  return order;
}

// The first line of a grid's report.
std::string GridHeadline(const std::string& what,
                         bool complete,
                         int done,
                         Index total,
                         Index ranks,
                         Index restarts,
                         double seconds) {
  std::ostringstream out;
  out << "CP " << what;
  if (complete)
    out << ": " << ranks << " ranks x " << restarts << " restarts in ";
  else
    out << " interrupted: " << done << " of " << total << " fits done in ";
  out << std::fixed << std::setprecision(2) << seconds << " s\n";
  return out.str();
}

}  // namespace

EnsembleSummary RunEnsemble(const EnsembleOptions& options,
                            const Tensor3& x,
                            const Mask3* mask,
                            const EnsembleSummary* resume) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int> ranks = EnsembleRanks(options);
  if (options.restarts < 1)
    throw Error("RunEnsemble: restarts must be >= 1, got " +
                std::to_string(options.restarts));
  CheckMask(x, mask, "RunEnsemble");
  CheckRanks(options.cp, ranks, x.dims(), "RunEnsemble");
  const double norm2 = internal::CheckSumOfSquares(x, mask);
  // Dense finite data are checked once here, not again by every fit.
  const bool checked = !mask && std::isfinite(norm2);

  const int num_ranks = static_cast<int>(ranks.size());
  const int restarts = options.restarts;
  EnsembleSummary summary;
  summary.ranks = ranks;
  // All seeds first, in rank-major order, so each fit's seed depends only on
  // options.cp.seed and its place in the grid, not on who fits it.
  Rng rng(options.cp.seed);
  const std::vector<std::uint64_t> seeds =
      DrawSeeds(&rng, static_cast<size_t>(num_ranks) * restarts);

  // Restart 0's start (nvecs_first) for the largest rank, computed by the
  // first fit that needs it.
  std::once_flag nvecs_once;
  Ktensor nvecs;
  auto nvecs_start = [&](int rank) {
    std::call_once(nvecs_once, [&] {
      CpOptions cp = options.cp;
      cp.run = options.run;
      nvecs = internal::NvecsFirstStart(cp, ranks.back(), x, mask);
    });
    return Leading(nvecs, rank);
  };

  // Task results: fit and CORCONDIA.
  using FitResult = std::pair<CpSummary, double>;
  auto results = RunGrid<FitResult>(
      options.run,
      resume,
      ranks,
      restarts,
      "RunEnsemble",
      [&](Index r, int k) {
        return FitResult(resume->fits[r][k], resume->corcondia(r, k));
      },
      [&](int i) {
        CpOptions cp = options.cp;
        cp.rank = ranks[i / restarts];
        cp.seed = seeds[i];
        cp.run = options.run;
        std::optional<Ktensor> start;
        if (options.nvecs_first && i % restarts == 0)
          start = nvecs_start(cp.rank);
        const Ktensor* init = start ? &*start : nullptr;
        const CpSummary fit =
            checked ? internal::FitCheckedData(cp, x, nullptr, norm2, init)
                    : Cp(cp, x, mask, init);
        const double cc = options.compute_corcondia
                              ? Corcondia(x, fit.model, options.run)
                              : kNaN;
        std::ostringstream line;
        line << "ensemble: rank " << cp.rank << " restart " << i % restarts
             << ": error " << fit.relative_error << " in " << fit.seconds
             << " s";
        options.run.Report(line.str());
        return SerializeFit(fit, cc);
      },
      [](std::string bytes) {
        double cc = kNaN;
        CpSummary fit = DeserializeFit(std::move(bytes), &cc);
        return FitResult(std::move(fit), cc);
      });
  for (size_t i = 0; i < results.size(); ++i)
    if (results[i]) results[i]->first.seed = seeds[i];
  summary.complete = AllDone(results);

  // CP-APR minimises the Poisson deviance, so its best fit is the one with
  // the lowest deviance, not the lowest squared error.
  summary.by_deviance = options.cp.method == CpMethod::kApr;
  summary.relative_error.setConstant(num_ranks, restarts, kNaN);
  summary.poisson_deviance.setConstant(num_ranks, restarts, kNaN);
  summary.similarity.setConstant(num_ranks, restarts, kNaN);
  summary.corcondia.setConstant(num_ranks, restarts, kNaN);
  summary.restart.setConstant(num_ranks, restarts, -1);
  summary.fits.assign(num_ranks, std::vector<CpSummary>(restarts));
  for (int ri = 0; ri < num_ranks; ++ri) {
    const std::vector<int> order =
        ColumnOrder(restarts, summary.complete, [&](int t) {
          const CpSummary& fit = results[ri * restarts + t]->first;
          return summary.by_deviance ? fit.poisson_deviance
                                     : fit.relative_error;
        });
    for (int k = 0; k < restarts; ++k) {
      auto& result = results[ri * restarts + order[k]];
      if (!result) continue;
      summary.restart(ri, k) = order[k];
      summary.fits[ri][k] = std::move(result->first);
      summary.relative_error(ri, k) = summary.fits[ri][k].relative_error;
      summary.poisson_deviance(ri, k) = summary.fits[ri][k].poisson_deviance;
      summary.corcondia(ri, k) = result->second;
    }
    if (summary.complete)
      for (int k = 0; k < restarts; ++k)
        summary.similarity(ri, k) =
            k == 0 ? 1.0
                   : FactorMatchScore(summary.fits[ri][0].model,
                                      summary.fits[ri][k].model);
  }
  summary.seconds = SecondsSince(start);
  return summary;
}

int EnsembleSummary::DoneCount() const {
  return static_cast<int>((restart.array() >= 0).count());
}

std::string EnsembleSummary::BriefReport() const {
  std::ostringstream out;
  out << GridHeadline("ensemble",
                      complete,
                      DoneCount(),
                      restart.size(),
                      static_cast<Index>(ranks.size()),
                      relative_error.cols(),
                      seconds);
  if (!complete) return out.str();
  out << std::setw(5) << "rank";
  if (by_deviance) out << std::setw(14) << "min deviance";
  out << std::setw(12) << (by_deviance ? "error" : "min error") << std::setw(12)
      << "mean error" << std::setw(12) << "similarity" << std::setw(12)
      << "corcondia"
      << "\n";
  for (size_t r = 0; r < ranks.size(); ++r) {
    const Index i = static_cast<Index>(r);
    out << std::setw(5) << ranks[r];
    if (by_deviance)
      out << std::setw(14) << FormatNumber(poisson_deviance(i, 0), 2);
    out << std::setw(12) << FormatNumber(relative_error(i, 0), 5)
        << std::setw(12) << FormatNumber(relative_error.row(i).mean(), 5)
        << std::setw(12) << FormatNumber(MeanOfOthers(similarity, i), 4)
        << std::setw(12) << FormatNumber(corcondia(i, 0), 1) << "\n";
  }
  out << "(";
  if (by_deviance)
    out << "best fit: lowest Poisson deviance, the loss cp-apr minimises; "
           "error: its relative error; ";
  out << "similarity: mean factor match score of the other restarts to the "
         "best fit; corcondia: of the best fit)\n";
  return out.str();
}

namespace {

// The speckled hold-out of CrossValidate: a uniformly random subset of
// the observed entries (partial Fisher-Yates) drawn from rng.
HoldOutMasks SpeckledHoldOut(const Tensor3& x,
                             const Mask3* mask,
                             double test_fraction,
                             Rng* rng) {
  std::vector<Index> observed;
  observed.reserve(static_cast<size_t>(x.size()));
  for (Index n = 0; n < x.size(); ++n)
    if (!mask || mask->data()[n]) observed.push_back(n);
  const Index num_observed = static_cast<Index>(observed.size());
  const Index num_test = static_cast<Index>(
      std::llround(test_fraction * static_cast<double>(num_observed)));
  if (num_test < 1 || num_observed - num_test < 1)
    throw Error("CrossValidate: " + std::to_string(num_observed) +
                " observed entries cannot be split into a training and a test "
                "set with test_fraction " +
                std::to_string(test_fraction));
  for (Index n = 0; n < num_test; ++n) {
    const Index pick = n + static_cast<Index>(rng->Below(
                               static_cast<std::uint64_t>(num_observed - n)));
    std::swap(observed[n], observed[pick]);
  }
  HoldOutMasks split{Mask3(x.dims(), 0), Mask3(x.dims(), 0)};
  for (Index n = 0; n < num_test; ++n) split.test.data()[observed[n]] = 1;
  for (Index n = num_test; n < num_observed; ++n)
    split.train.data()[observed[n]] = 1;
  return split;
}

}  // namespace

CrossValidationSummary CrossValidate(const CrossValidationOptions& options,
                                     const Tensor3& x,
                                     const Mask3* mask,
                                     const CrossValidationSummary* resume) {
  const auto start = std::chrono::steady_clock::now();
  if (options.ranks.empty()) throw Error("CrossValidate: no ranks given");
  CheckRanks(options.cp, options.ranks, x.dims(), "CrossValidate");
  if (options.restarts < 1)
    throw Error("CrossValidate: restarts must be >= 1, got " +
                std::to_string(options.restarts));
  if (!(options.test_fraction > 0 && options.test_fraction <= 0.9))
    throw Error("CrossValidate: test_fraction must be in (0, 0.9], got " +
                std::to_string(options.test_fraction));
  CheckMask(x, mask, "CrossValidate");
  internal::CheckSumOfSquares(x, mask);

  // The hold-out, then the fit seeds, all from one Rng.
  Rng rng(options.cp.seed);
  const HoldOutMasks split =
      SpeckledHoldOut(x, mask, options.test_fraction, &rng);
  const Index num_ranks = static_cast<Index>(options.ranks.size());
  const int restarts = options.restarts;
  const std::vector<std::uint64_t> seeds =
      DrawSeeds(&rng, static_cast<size_t>(num_ranks) * restarts);

  CrossValidationSummary summary;
  summary.ranks = options.ranks;
  // Held-out Poisson deviances where the data are counts.
  const bool counts = internal::CheckCounts(x, mask, false);
  // (train, test) errors and deviances per task r * restarts + t.
  using Errors = std::array<double, 4>;
  const auto results = RunGrid<Errors>(
      options.run,
      resume,
      summary.ranks,
      restarts,
      "CrossValidate",
      [&](Index r, int k) {
        return Errors{resume->train_error(r, k),
                      resume->test_error(r, k),
                      resume->train_deviance(r, k),
                      resume->test_deviance(r, k)};
      },
      [&](int i) {
        CpOptions cp = options.cp;
        cp.rank = options.ranks[i / restarts];
        cp.seed = seeds[i];
        cp.run = options.run;
        const CpSummary fit = Cp(cp, x, &split.train);
        distributed::Buffer b;
        b.PutDouble(RelativeError(x, fit.model, &split.train));
        b.PutDouble(RelativeError(x, fit.model, &split.test));
        // Cp computes the deviance over its mask (the training entries).
        b.PutDouble(counts ? fit.poisson_deviance : kNaN);
        b.PutDouble(counts ? internal::PoissonDeviance(x,
                                                       &split.test,
                                                       fit.model,
                                                       cp.apr.epsilon,
                                                       cp.run.num_threads)
                           : kNaN);
        options.run.Report("cross-validation: rank " + std::to_string(cp.rank) +
                           " restart " + std::to_string(i % restarts) +
                           " done");
        return b.Release();
      },
      [](std::string bytes) {
        distributed::Buffer b(std::move(bytes));
        Errors errors;
        for (double& e : errors) e = b.GetDouble();
        return errors;
      });
  summary.complete = AllDone(results);
  // As in the ensemble: cp-apr's best fit has the lowest deviance.
  summary.by_deviance = options.cp.method == CpMethod::kApr;
  // In the order of Errors.
  Matrix* const tables[] = {&summary.train_error,
                            &summary.test_error,
                            &summary.train_deviance,
                            &summary.test_deviance};
  for (Matrix* table : tables) table->setConstant(num_ranks, restarts, kNaN);
  summary.restart.setConstant(num_ranks, restarts, -1);
  const int score = summary.by_deviance ? 2 : 0;
  for (Index ri = 0; ri < num_ranks; ++ri) {
    // As in the ensemble, with the best training fit first.
    const std::vector<int> order =
        ColumnOrder(restarts, summary.complete, [&](int t) {
          return (*results[ri * restarts + t])[score];
        });
    for (int k = 0; k < restarts; ++k) {
      const auto& result = results[ri * restarts + order[k]];
      if (!result) continue;
      summary.restart(ri, k) = order[k];
      for (size_t c = 0; c < result->size(); ++c)
        (*tables[c])(ri, k) = (*result)[c];
    }
  }
  summary.seconds = SecondsSince(start);
  return summary;
}

int CrossValidationSummary::DoneCount() const {
  return static_cast<int>((restart.array() >= 0).count());
}

std::string CrossValidationSummary::BriefReport() const {
  std::ostringstream out;
  out << GridHeadline("cross-validation",
                      complete,
                      DoneCount(),
                      restart.size(),
                      static_cast<Index>(ranks.size()),
                      train_error.cols(),
                      seconds);
  if (!complete) return out.str();
  // The held-out deviance, for counts (cp-apr's held-out score).
  const bool deviance = test_deviance.size() > 0 && test_deviance.allFinite();
  out << std::setw(5) << "rank" << std::setw(12) << "train" << std::setw(12)
      << "test" << std::setw(12) << "min test" << std::setw(12) << "mean test";
  const bool train_dev = deviance && by_deviance;
  if (train_dev) out << std::setw(14) << "train dev";
  if (deviance)
    out << std::setw(14) << "test dev" << std::setw(14) << "min dev";
  out << "\n";
  for (size_t r = 0; r < ranks.size(); ++r) {
    const Index i = static_cast<Index>(r);
    out << std::setw(5) << ranks[r] << std::setw(12)
        << FormatNumber(train_error(i, 0), 5) << std::setw(12)
        << FormatNumber(test_error(i, 0), 5) << std::setw(12)
        << FormatNumber(test_error.row(i).minCoeff(), 5) << std::setw(12)
        << FormatNumber(test_error.row(i).mean(), 5);
    if (train_dev)
      out << std::setw(14) << FormatNumber(train_deviance(i, 0), 2);
    if (deviance)
      out << std::setw(14) << FormatNumber(test_deviance(i, 0), 2)
          << std::setw(14) << FormatNumber(test_deviance.row(i).minCoeff(), 2);
    out << "\n";
  }
  out << "(train, test: relative errors of the fit with the lowest training "
      << (by_deviance ? "deviance" : "error");
  if (deviance)
    out << "; test dev: its Poisson deviance on the held-out entries, min "
           "dev: the lowest of the restarts";
  out << ")\n";
  return out.str();
}

}  // namespace ltr
