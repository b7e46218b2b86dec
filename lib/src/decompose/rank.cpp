// Numerical, multilinear and CP ranks (rank.h).
#include "ltr/decompose/rank.h"

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/decompose/cp.h"

namespace ltr {
namespace {

// Singular values and (optionally) left singular vectors of the mode-n
// unfolding, by SVD or from the Gram matrix.
struct ModeSpectrum {
  Vector singular_values;  // descending
  Matrix left;             // I_n x I_n left singular vectors (same order)
  bool used_gram = false;
};

ModeSpectrum SpectrumOfMode(const RankOptions& o,
                            const Tensor3& x,
                            int mode,
                            bool want_vectors) {
  ModeSpectrum s;
  const Index rows = x.dim(mode);
  if (x.size() <= o.max_svd_entries) {
    const Matrix unfolding = Unfold(x, mode);
    Eigen::BDCSVD<Matrix> svd(
        unfolding, want_vectors ? Eigen::ComputeFullU : Eigen::ComputeThinU);
    s.singular_values = svd.singularValues();
    if (want_vectors) s.left = svd.matrixU();
    // Pad to I_n values (an unfolding may have fewer columns than rows).
    if (s.singular_values.size() < rows) {
      Vector padded = Vector::Zero(rows);
      padded.head(s.singular_values.size()) = s.singular_values;
      s.singular_values = padded;
    }
    return s;
  }
  s.used_gram = true;
  const Matrix gram = ModeGram(x, mode, o.run.num_threads);
  Eigen::SelfAdjointEigenSolver<Matrix> eig(gram);
  const Vector values = eig.eigenvalues().reverse();
  s.singular_values = values.cwiseMax(0.0).cwiseSqrt();
  if (want_vectors) s.left = eig.eigenvectors().rowwise().reverse();
  return s;
}

}  // namespace

bool RankOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!(tolerance >= 0.0 && tolerance < 1.0))
    return fail("rank tolerance must be in [0, 1)");
  if (max_svd_entries < 1) return fail("max_svd_entries must be >= 1");
  if (!(gram_tolerance_floor >= 0.0 && gram_tolerance_floor < 1.0))
    return fail("gram_tolerance_floor must be in [0, 1)");
  if (run.num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

Vector SingularValues(const Matrix& m) {
  if (m.size() == 0) return Vector();
  return Eigen::BDCSVD<Matrix>(m).singularValues();
}

int RankFromSingularValues(const Vector& s, double tolerance) {
  if (s.size() == 0) return 0;
  const double largest = s.maxCoeff();
  if (!(largest > 0.0)) return 0;
  int rank = 0;
  for (Index i = 0; i < s.size(); ++i)
    if (s[i] > tolerance * largest) ++rank;
  return rank;
}

int NumericalRank(const Matrix& m, double tolerance) {
  return RankFromSingularValues(SingularValues(m), tolerance);
}

std::string MultilinearRankSummary::BriefReport() const {
  std::ostringstream out;
  out << "multilinear rank (" << ranks[0] << ", " << ranks[1] << ", "
      << ranks[2] << ") at relative tolerance " << tolerance;
  if (used_gram[0] || used_gram[1] || used_gram[2])
    out << " (Gram eigenvalues for some modes)";
  return out.str();
}

MultilinearRankSummary MultilinearRank(const RankOptions& options,
                                       const Tensor3& x) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  MultilinearRankSummary summary;
  summary.tolerance = options.tolerance;
  const bool gram = x.size() > options.max_svd_entries;
  if (gram)
    summary.tolerance =
        std::max(options.tolerance, options.gram_tolerance_floor);
  for (int mode = 0; mode < 3; ++mode) {
    if (x.empty()) {
      summary.singular_values[mode] = Vector();
      continue;
    }
    ModeSpectrum s = SpectrumOfMode(options, x, mode, false);
    summary.used_gram[mode] = s.used_gram;
    summary.ranks[mode] =
        RankFromSingularValues(s.singular_values, summary.tolerance);
    summary.singular_values[mode] = std::move(s.singular_values);
  }
  return summary;
}

bool CpRankOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!(relative_error > 0.0 && relative_error < 1.0))
    return fail("CP rank relative_error must be in (0, 1)");
  if (max_rank < 0) return fail("CP rank max_rank must be >= 0");
  if (restarts < 1) return fail("CP rank restarts must be >= 1");
  if (max_iterations < 1) return fail("CP rank max_iterations must be >= 1");
  if (!(rank_tolerance >= 0.0 && rank_tolerance < 1.0))
    return fail("CP rank rank_tolerance must be in [0, 1)");
  if (run.num_threads < 1) return fail("num_threads must be >= 1");
  return true;
}

std::string CpRankSummary::BriefReport() const {
  std::ostringstream out;
  if (rank >= 0)
    out << "CP rank estimate " << rank;
  else
    out << "CP rank > "
        << (ranks_tried.empty() ? lower_bound - 1 : ranks_tried.back())
        << " (no fit reached the tolerance)";
  out << "; lower bound " << lower_bound << "; " << ranks_tried.size()
      << " ranks tried in " << seconds << " s";
  return out.str();
}

CpRankSummary EstimateCpRank(const CpRankOptions& options, const Tensor3& x) {
  std::string error;
  if (!options.IsValid(&error)) throw Error(error);
  const auto start = std::chrono::steady_clock::now();
  CpRankSummary summary;
  auto finish = [&]() {
    summary.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    return summary;
  };
  if (x.empty() || !(SquaredNorm(x) > 0.0)) {
    summary.rank = 0;
    return finish();
  }
  // Compress to the Tucker core at the numerical multilinear rank.
  RankOptions rank_options;
  rank_options.tolerance = options.rank_tolerance;
  rank_options.run = options.run;
  Tensor3 core = x;
  std::array<int, 3> ml{};
  for (int mode = 0; mode < 3; ++mode) {
    ModeSpectrum s = SpectrumOfMode(rank_options, x, mode, true);
    const double tol = s.used_gram ? std::max(options.rank_tolerance,
                                              rank_options.gram_tolerance_floor)
                                   : options.rank_tolerance;
    ml[mode] = std::max(1, RankFromSingularValues(s.singular_values, tol));
    const Matrix basis = s.left.leftCols(ml[mode]);
    core = ModeProduct(core, basis.transpose(), mode);
  }
  summary.lower_bound = std::max({ml[0], ml[1], ml[2]});
  const Index size_limit = std::min({core.dim(0) * core.dim(1),
                                     core.dim(0) * core.dim(2),
                                     core.dim(1) * core.dim(2)});
  int upper = static_cast<int>(size_limit);
  if (options.max_rank > 0) upper = std::min(upper, options.max_rank);
  Rng rng(options.seed);
  for (int r = summary.lower_bound; r <= upper; ++r) {
    double best = std::numeric_limits<double>::infinity();
    for (int k = 0; k < options.restarts; ++k) {
      CpOptions cp;
      cp.rank = r;
      cp.max_iterations = options.max_iterations;
      cp.tolerance = options.als_tolerance;
      cp.seed = rng.NextSeed();
      cp.init = k == 0 ? CpInit::kNvecs : CpInit::kRandom;
      cp.run = options.run.WithThreads(1);  // the core is small
      if (!cp.IsValid(core.dims(), nullptr)) continue;
      const CpSummary fit = Cp(cp, core);
      if (std::isfinite(fit.relative_error))
        best = std::min(best, fit.relative_error);
      if (best <= options.relative_error) break;
    }
    summary.ranks_tried.push_back(r);
    summary.best_relative_error.push_back(best);
    if (best <= options.relative_error) {
      summary.rank = r;
      break;
    }
  }
  return finish();
}

}  // namespace ltr
