#include "ltr/diagnostics.h"

#include <Eigen/QR>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>

#include "hungarian.h"
#include "ltr/error.h"
#include "ltr/random.h"

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
                            const Mask3* mask) {
  const auto start = std::chrono::steady_clock::now();
  if (options.min_rank < 1 || options.max_rank < options.min_rank)
    throw Error("RunEnsemble: need 1 <= min_rank <= max_rank, got min_rank " +
                std::to_string(options.min_rank) + " and max_rank " +
                std::to_string(options.max_rank));
  if (options.restarts < 1)
    throw Error("RunEnsemble: restarts must be >= 1, got " +
                std::to_string(options.restarts));
  CheckMask(x, mask, "RunEnsemble");
  for (int rank = options.min_rank; rank <= options.max_rank; ++rank) {
    CpOptions cp = options.cp;
    cp.rank = rank;
    std::string error;
    if (!cp.IsValid(x.dims(), &error))
      throw Error("RunEnsemble: rank " + std::to_string(rank) + ": " + error);
  }

  const int num_ranks = options.max_rank - options.min_rank + 1;
  const int restarts = options.restarts;
  EnsembleSummary summary;
  summary.relative_error.resize(num_ranks, restarts);
  summary.similarity.resize(num_ranks, restarts);
  summary.corcondia.setConstant(num_ranks, restarts, kNaN);
  summary.fits.resize(num_ranks);
  // All seeds first, in rank-major order, so each fit's seed depends only on
  // options.cp.seed and its place in the grid.
  Rng rng(options.cp.seed);
  std::vector<std::uint64_t> seeds(static_cast<size_t>(num_ranks) * restarts);
  for (auto& seed : seeds) seed = rng.NextSeed();

  // The fits run one after another; each threads internally with
  // options.cp.num_threads.
  for (int ri = 0; ri < num_ranks; ++ri) {
    const int rank = options.min_rank + ri;
    summary.ranks.push_back(rank);
    std::vector<CpSummary>& fits = summary.fits[ri];
    for (int t = 0; t < restarts; ++t) {
      CpOptions cp = options.cp;
      cp.rank = rank;
      cp.seed = seeds[static_cast<size_t>(ri) * restarts + t];
      fits.push_back(Cp(cp, x, mask));
      fits.back().seed = cp.seed;
    }
    // Best first; NaN errors (failed fits) last.
    std::stable_sort(
        fits.begin(), fits.end(), [](const CpSummary& p, const CpSummary& q) {
          const bool p_ok = std::isfinite(p.relative_error);
          const bool q_ok = std::isfinite(q.relative_error);
          if (p_ok != q_ok) return p_ok;
          return p_ok && p.relative_error < q.relative_error;
        });
    for (int t = 0; t < restarts; ++t) {
      summary.relative_error(ri, t) = fits[t].relative_error;
      summary.similarity(ri, t) =
          t == 0 ? 1.0 : FactorMatchScore(fits[0].model, fits[t].model);
      if (options.compute_corcondia)
        summary.corcondia(ri, t) =
            Corcondia(x, fits[t].model, options.cp.num_threads);
    }
  }
  summary.seconds = SecondsSince(start);
  return summary;
}

std::string EnsembleSummary::BriefReport() const {
  std::ostringstream out;
  const Index restarts = relative_error.cols();
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
                                     const Mask3* mask) {
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

  CrossValidationSummary summary;
  summary.ranks = options.ranks;
  summary.train_error.resize(num_ranks, restarts);
  summary.test_error.resize(num_ranks, restarts);
  for (Index ri = 0; ri < num_ranks; ++ri) {
    std::vector<std::pair<double, double>> errors;  // (train, test)
    for (int t = 0; t < restarts; ++t) {
      CpOptions cp = options.cp;
      cp.rank = options.ranks[ri];
      cp.seed = seeds[static_cast<size_t>(ri) * restarts + t];
      const CpSummary fit = Cp(cp, x, &train);
      errors.emplace_back(RelativeError(x, fit.model, &train),
                          RelativeError(x, fit.model, &test));
    }
    // Best training fit first, as in the ensemble.
    std::stable_sort(
        errors.begin(), errors.end(), [](const auto& p, const auto& q) {
          const bool p_ok = std::isfinite(p.first);
          const bool q_ok = std::isfinite(q.first);
          if (p_ok != q_ok) return p_ok;
          return p_ok && p.first < q.first;
        });
    for (int t = 0; t < restarts; ++t) {
      summary.train_error(ri, t) = errors[t].first;
      summary.test_error(ri, t) = errors[t].second;
    }
  }
  summary.seconds = SecondsSince(start);
  return summary;
}

std::string CrossValidationSummary::BriefReport() const {
  std::ostringstream out;
  const Index restarts = train_error.cols();
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
