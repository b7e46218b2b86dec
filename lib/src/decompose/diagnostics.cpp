#include "ltr/decompose/diagnostics.h"

#include <Eigen/QR>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>
#include <utility>

#include "core/hungarian.h"
#include "ltr/core/distributed.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"

namespace ltr {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Throws unless every factor of m has rank() columns.
void CheckConsistent(const Ktensor& m, const char* where, const char* name) {
  for (int n = 0; n < 3; ++n)
    if (m.factors[n].cols() != m.rank())
      throw Error(std::string(where) + ": " + name + " has " +
                  std::to_string(m.rank()) + " weights but factor " +
                  std::to_string(n) + " has " +
                  std::to_string(m.factors[n].cols()) + " columns");
}

// A copy with unit factor columns and the norms (and signs) in the weights;
// zero columns stay zero.
Ktensor Normalized(const Ktensor& m) {
  Ktensor copy = m;
  copy.Normalize();
  return copy;
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

}  // namespace

Alignment Align(const Ktensor& reference,
                const Ktensor& other,
                bool penalize_weights) {
  CheckConsistent(reference, "Align", "reference");
  CheckConsistent(other, "Align", "other");
  if (reference.dims() != other.dims())
    throw Error("Align: reference is " + DimsToString(reference.dims()) +
                " but other is " + DimsToString(other.dims()));
  if (reference.rank() < 1)
    throw Error("Align: the reference has no components");
  if (other.rank() < reference.rank())
    throw Error("Align: other has rank " + std::to_string(other.rank()) +
                ", less than the reference's " +
                std::to_string(reference.rank()));
  const Ktensor a = Normalized(reference);
  const Ktensor b = Normalized(other);
  // scores(r, s): congruence of reference component r and other component s.
  Matrix scores = Matrix::Ones(a.rank(), b.rank());
  for (int n = 0; n < 3; ++n)
    scores.array() *= (a.factors[n].transpose() * b.factors[n]).array().abs();
  if (penalize_weights) {
    for (Index r = 0; r < a.rank(); ++r)
      for (Index s = 0; s < b.rank(); ++s) {
        const double l1 = std::abs(a.weights[r]);
        const double l2 = std::abs(b.weights[s]);
        const double largest = std::max(l1, l2);
        if (largest > 0) scores(r, s) *= 1.0 - std::abs(l1 - l2) / largest;
      }
  }
  // Non-finite factors match nothing.
  scores = scores.unaryExpr(
      [](double v) { return std::isfinite(v) ? std::min(v, 1.0) : 0.0; });

  Alignment alignment;
  alignment.permutation = internal::MinCostAssignment(-scores);
  alignment.component_scores.resize(a.rank());
  for (Index r = 0; r < a.rank(); ++r)
    alignment.component_scores[r] = scores(r, alignment.permutation[r]);
  alignment.score = alignment.component_scores.mean();
  return alignment;
}

Ktensor ApplyAlignment(const Ktensor& reference,
                       const Ktensor& other,
                       const Alignment& alignment) {
  CheckConsistent(reference, "ApplyAlignment", "reference");
  CheckConsistent(other, "ApplyAlignment", "other");
  if (reference.dims() != other.dims())
    throw Error("ApplyAlignment: reference is " +
                DimsToString(reference.dims()) + " but other is " +
                DimsToString(other.dims()));
  const Index rank = reference.rank();
  if (static_cast<Index>(alignment.permutation.size()) != rank)
    throw Error("ApplyAlignment: the alignment matches " +
                std::to_string(alignment.permutation.size()) +
                " components but the reference has " + std::to_string(rank));
  std::vector<char> taken(static_cast<size_t>(other.rank()), 0);
  for (int s : alignment.permutation) {
    if (s < 0 || s >= other.rank() || taken[s])
      throw Error(
          "ApplyAlignment: the permutation is not an injective map into the "
          "other's " +
          std::to_string(other.rank()) + " components");
    taken[s] = 1;
  }
  Ktensor out;
  out.weights.resize(rank);
  for (int n = 0; n < 3; ++n)
    out.factors[n].resize(other.factors[n].rows(), rank);
  for (Index r = 0; r < rank; ++r) {
    const int s = alignment.permutation[r];
    out.weights[r] = other.weights[s];
    for (int n = 0; n < 3; ++n) out.factors[n].col(r) = other.factors[n].col(s);
    // Make the cosines of modes 0 and 1 nonnegative; mode 2 takes the product
    // of the flips so the component is unchanged.
    for (int n = 0; n < 2; ++n) {
      if (reference.factors[n].col(r).dot(out.factors[n].col(r)) < 0) {
        out.factors[n].col(r) *= -1;
        out.factors[2].col(r) *= -1;
      }
    }
  }
  return out;
}

double FactorMatchScore(const Ktensor& reference, const Ktensor& other) {
  return Align(reference, other).score;
}

double Corcondia(const Tensor3& x, const Ktensor& model, int num_threads) {
  CheckConsistent(model, "Corcondia", "the model");
  if (model.dims() != x.dims())
    throw Error("Corcondia: the model is " + DimsToString(model.dims()) +
                " but the tensor is " + DimsToString(x.dims()));
  const Index rank = model.rank();
  if (rank < 1) throw Error("Corcondia: the model has no components");
  // Unit columns in modes 1 and 2, all the scale in mode 0, so that the core
  // of an exact CP model is the superdiagonal of ones.
  Ktensor m = Normalized(model);
  std::array<Matrix, 3> pinv;
  for (int n = 0; n < 3; ++n) {
    Matrix f = m.factors[n];
    if (n == 0) f = f * m.weights.asDiagonal();
    pinv[n] = Eigen::CompleteOrthogonalDecomposition<Matrix>(f).pseudoInverse();
  }
  // G = X x_0 A^+ x_1 B^+ x_2 C^+. Each product replaces I_n by R, so the
  // largest mode goes first: the intermediate tensors are then smallest.
  std::array<int, 3> order{0, 1, 2};
  std::stable_sort(order.begin(), order.end(), [&](int p, int q) {
    return x.dim(p) > x.dim(q);
  });
  Tensor3 g = ModeProduct(x, pinv[order[0]], order[0], num_threads);
  g = ModeProduct(g, pinv[order[1]], order[1]);
  g = ModeProduct(g, pinv[order[2]], order[2]);
  double sum = 0;
  for (Index i = 0; i < rank; ++i)
    for (Index j = 0; j < rank; ++j)
      for (Index k = 0; k < rank; ++k) {
        const double t = (i == j && j == k) ? 1.0 : 0.0;
        const double e = g(i, j, k) - t;
        sum += e * e;
      }
  return 100.0 * (1.0 - sum / static_cast<double>(rank));
}

EnsembleSummary RunEnsemble(const EnsembleOptions& options,
                            const Tensor3& x,
                            const Mask3* mask,
                            const EnsembleSummary* resume) {
  const auto start = std::chrono::steady_clock::now();
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
  if (options.restarts < 1)
    throw Error("RunEnsemble: restarts must be >= 1, got " +
                std::to_string(options.restarts));
  CheckMask(x, mask, "RunEnsemble");
  for (int rank : ranks) {
    CpOptions cp = options.cp;
    cp.rank = rank;
    std::string error;
    if (!cp.IsValid(x.dims(), &error))
      throw Error("RunEnsemble: rank " + std::to_string(rank) + ": " + error);
  }

  const int num_ranks = static_cast<int>(ranks.size());
  const int restarts = options.restarts;
  const int num_tasks = num_ranks * restarts;
  EnsembleSummary summary;
  summary.ranks = ranks;
  // All seeds first, in rank-major order, so each fit's seed depends only on
  // options.cp.seed and its place in the grid, not on who fits it.
  Rng rng(options.cp.seed);
  std::vector<std::uint64_t> seeds(static_cast<size_t>(num_tasks));
  for (auto& seed : seeds) seed = rng.NextSeed();

  // Task results: fit and CORCONDIA, from `resume` or from RunTasks.
  std::vector<std::optional<std::pair<CpSummary, double>>> results(
      static_cast<size_t>(num_tasks));
  const std::vector<char> skip =
      TasksDone(resume, summary.ranks, restarts, "RunEnsemble");
  if (resume)
    for (int ri = 0; ri < num_ranks; ++ri)
      for (int k = 0; k < restarts; ++k) {
        const int t = resume->restart(ri, k);
        if (t < 0) continue;
        results[ri * restarts + t] =
            std::make_pair(resume->fits[ri][k], resume->corcondia(ri, k));
      }
  // Each fit threads internally with options.cp.num_threads.
  const auto run = distributed::RunTasks(
      num_tasks,
      [&](int i) {
        CpOptions cp = options.cp;
        cp.rank = ranks[i / restarts];
        cp.seed = seeds[i];
        const CpSummary fit = Cp(cp, x, mask);
        const double cc = options.compute_corcondia
                              ? Corcondia(x, fit.model, options.cp.num_threads)
                              : kNaN;
        if (options.progress)
          std::cerr << "ensemble: rank " << cp.rank << " restart "
                    << i % restarts << ": error " << fit.relative_error
                    << " in " << fit.seconds << " s\n"
                    << std::flush;
        return SerializeFit(fit, cc);
      },
      &skip);
  for (int i = 0; i < num_tasks; ++i) {
    if (!run[i]) continue;
    double cc = kNaN;
    CpSummary fit = DeserializeFit(*run[i], &cc);
    results[i] = std::make_pair(std::move(fit), cc);
  }
  for (int i = 0; i < num_tasks; ++i) {
    if (results[i]) results[i]->first.seed = seeds[i];
    if (!results[i]) summary.complete = false;
  }

  summary.relative_error.setConstant(num_ranks, restarts, kNaN);
  summary.similarity.setConstant(num_ranks, restarts, kNaN);
  summary.corcondia.setConstant(num_ranks, restarts, kNaN);
  summary.restart.setConstant(num_ranks, restarts, -1);
  summary.fits.assign(num_ranks, std::vector<CpSummary>(restarts));
  for (int ri = 0; ri < num_ranks; ++ri) {
    // Columns: restart order, then (when complete) best first.
    std::vector<int> order(restarts);
    std::iota(order.begin(), order.end(), 0);
    if (summary.complete)
      std::stable_sort(order.begin(), order.end(), [&](int p, int q) {
        return BetterError(results[ri * restarts + p]->first.relative_error,
                           results[ri * restarts + q]->first.relative_error);
      });
    for (int k = 0; k < restarts; ++k) {
      auto& result = results[ri * restarts + order[k]];
      if (!result) continue;
      summary.restart(ri, k) = order[k];
      summary.fits[ri][k] = std::move(result->first);
      summary.relative_error(ri, k) = summary.fits[ri][k].relative_error;
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
  const Index restarts = relative_error.cols();
  if (!complete) {
    out << "CP ensemble interrupted: " << DoneCount() << " of "
        << restart.size() << " fits done in " << std::fixed
        << std::setprecision(2) << seconds << " s\n";
    return out.str();
  }
  out << "CP ensemble: " << ranks.size() << " ranks x " << restarts
      << " restarts in " << std::fixed << std::setprecision(2) << seconds
      << " s\n";
  out << std::setw(5) << "rank" << std::setw(12) << "min error" << std::setw(12)
      << "mean error" << std::setw(12) << "similarity" << std::setw(12)
      << "corcondia"
      << "\n";
  for (size_t r = 0; r < ranks.size(); ++r) {
    const Index i = static_cast<Index>(r);
    out << std::setw(5) << ranks[r] << std::setw(12)
        << FormatNumber(relative_error(i, 0), 5) << std::setw(12)
        << FormatNumber(relative_error.row(i).mean(), 5) << std::setw(12)
        << FormatNumber(MeanOfOthers(similarity, i), 4) << std::setw(12)
        << FormatNumber(corcondia(i, 0), 1) << "\n";
  }
  out << "(similarity: mean factor match score of the other restarts to the "
         "best fit; corcondia: of the best fit)\n";
  return out.str();
}

CrossValidationSummary CrossValidate(const CrossValidationOptions& options,
                                     const Tensor3& x,
                                     const Mask3* mask,
                                     const CrossValidationSummary* resume) {
  const auto start = std::chrono::steady_clock::now();
  if (options.ranks.empty()) throw Error("CrossValidate: no ranks given");
  for (int rank : options.ranks) {
    if (rank < 1)
      throw Error("CrossValidate: ranks must be >= 1, got " +
                  std::to_string(rank));
    CpOptions cp = options.cp;
    cp.rank = rank;
    std::string error;
    if (!cp.IsValid(x.dims(), &error))
      throw Error("CrossValidate: rank " + std::to_string(rank) + ": " + error);
  }
  if (options.restarts < 1)
    throw Error("CrossValidate: restarts must be >= 1, got " +
                std::to_string(options.restarts));
  if (!(options.test_fraction > 0 && options.test_fraction <= 0.9))
    throw Error("CrossValidate: test_fraction must be in (0, 0.9], got " +
                std::to_string(options.test_fraction));
  CheckMask(x, mask, "CrossValidate");

  std::vector<Index> observed;
  observed.reserve(static_cast<size_t>(x.size()));
  for (Index n = 0; n < x.size(); ++n)
    if (!mask || mask->data()[n]) observed.push_back(n);
  const Index num_observed = static_cast<Index>(observed.size());
  const Index num_test = static_cast<Index>(
      std::llround(options.test_fraction * static_cast<double>(num_observed)));
  if (num_test < 1 || num_observed - num_test < 1)
    throw Error("CrossValidate: " + std::to_string(num_observed) +
                " observed entries cannot be split into a training and a test "
                "set with test_fraction " +
                std::to_string(options.test_fraction));

  // Speckled hold-out: a uniformly random subset of the observed entries
  // (partial Fisher-Yates), then the fit seeds, all from one Rng.
  Rng rng(options.cp.seed);
  for (Index n = 0; n < num_test; ++n) {
    const Index pick = n + static_cast<Index>(rng.Below(
                               static_cast<std::uint64_t>(num_observed - n)));
    std::swap(observed[n], observed[pick]);
  }
  Mask3 train(x.dims(), 0);
  Mask3 test(x.dims(), 0);
  for (Index n = 0; n < num_test; ++n) test.data()[observed[n]] = 1;
  for (Index n = num_test; n < num_observed; ++n) train.data()[observed[n]] = 1;

  const Index num_ranks = static_cast<Index>(options.ranks.size());
  const int restarts = options.restarts;
  std::vector<std::uint64_t> seeds(static_cast<size_t>(num_ranks) * restarts);
  for (auto& seed : seeds) seed = rng.NextSeed();

  const int num_tasks = static_cast<int>(num_ranks) * restarts;
  CrossValidationSummary summary;
  summary.ranks = options.ranks;
  // (train, test) errors per task r * restarts + t.
  std::vector<std::optional<std::pair<double, double>>> results(
      static_cast<size_t>(num_tasks));
  const std::vector<char> skip =
      TasksDone(resume, summary.ranks, restarts, "CrossValidate");
  if (resume)
    for (Index ri = 0; ri < num_ranks; ++ri)
      for (int k = 0; k < restarts; ++k) {
        const int t = resume->restart(ri, k);
        if (t >= 0)
          results[ri * restarts + t] = std::make_pair(
              resume->train_error(ri, k), resume->test_error(ri, k));
      }
  const auto run = distributed::RunTasks(
      num_tasks,
      [&](int i) {
        CpOptions cp = options.cp;
        cp.rank = options.ranks[i / restarts];
        cp.seed = seeds[i];
        const CpSummary fit = Cp(cp, x, &train);
        distributed::Buffer b;
        b.PutDouble(RelativeError(x, fit.model, &train));
        b.PutDouble(RelativeError(x, fit.model, &test));
        if (options.progress)
          std::cerr << "cross-validation: rank " << cp.rank << " restart "
                    << i % restarts << " done\n"
                    << std::flush;
        return b.Release();
      },
      &skip);
  for (int i = 0; i < num_tasks; ++i) {
    if (run[i]) {
      distributed::Buffer b(*run[i]);
      const double train_error = b.GetDouble();
      results[i] = std::make_pair(train_error, b.GetDouble());
    }
    if (!results[i]) summary.complete = false;
  }
  summary.train_error.setConstant(num_ranks, restarts, kNaN);
  summary.test_error.setConstant(num_ranks, restarts, kNaN);
  summary.restart.setConstant(num_ranks, restarts, -1);
  for (Index ri = 0; ri < num_ranks; ++ri) {
    // Restart order, then (when complete) the best training fit first, as
    // in the ensemble.
    std::vector<int> order(restarts);
    std::iota(order.begin(), order.end(), 0);
    if (summary.complete)
      std::stable_sort(order.begin(), order.end(), [&](int p, int q) {
        return BetterError(results[ri * restarts + p]->first,
                           results[ri * restarts + q]->first);
      });
    for (int k = 0; k < restarts; ++k) {
      const auto& result = results[ri * restarts + order[k]];
      if (!result) continue;
      summary.restart(ri, k) = order[k];
      summary.train_error(ri, k) = result->first;
      summary.test_error(ri, k) = result->second;
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
  const Index restarts = train_error.cols();
  if (!complete) {
    out << "CP cross-validation interrupted: " << DoneCount() << " of "
        << restart.size() << " fits done in " << std::fixed
        << std::setprecision(2) << seconds << " s\n";
    return out.str();
  }
  out << "CP cross-validation: " << ranks.size() << " ranks x " << restarts
      << " restarts in " << std::fixed << std::setprecision(2) << seconds
      << " s\n";
  out << std::setw(5) << "rank" << std::setw(12) << "train" << std::setw(12)
      << "test" << std::setw(12) << "min test" << std::setw(12) << "mean test"
      << "\n";
  for (size_t r = 0; r < ranks.size(); ++r) {
    const Index i = static_cast<Index>(r);
    out << std::setw(5) << ranks[r] << std::setw(12)
        << FormatNumber(train_error(i, 0), 5) << std::setw(12)
        << FormatNumber(test_error(i, 0), 5) << std::setw(12)
        << FormatNumber(test_error.row(i).minCoeff(), 5) << std::setw(12)
        << FormatNumber(test_error.row(i).mean(), 5) << "\n";
  }
  out << "(train, test: relative errors of the fit with the lowest training "
         "error)\n";
  return out.str();
}

}  // namespace ltr
