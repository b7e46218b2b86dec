// Ranks of matrices and 3-way tensors as numbers a bound can be checked
// against: the numerical rank of a matrix (SVD), the multilinear rank of a
// tensor (ranks of its three unfoldings) and an estimate of its CP rank
// (the smallest R whose best CP fit reaches an error tolerance).
#ifndef LTR_RANK_H_
#define LTR_RANK_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"

namespace ltr {

struct RankOptions {
  // A singular value s_i counts when s_i > tolerance * s_1 (relative to the
  // largest one). A zero matrix has rank 0.
  double tolerance = 1e-10;
  // Unfoldings with more entries than this are ranked from the eigenvalues
  // of their Gram matrix (ltr::ModeGram), which resolves singular values only
  // down to about 1e-7 s_1; the tolerance is then raised to
  // max(tolerance, gram_tolerance_floor).
  Index max_svd_entries = 8'000'000;
  double gram_tolerance_floor = 1e-7;
  RunContext run;  // threads of the Gram matrices

  bool IsValid(std::string* error) const;
};

// Singular values of m, descending.
Vector SingularValues(const Matrix& m);
// Number of singular values above tolerance * s_1.
int NumericalRank(const Matrix& m, double tolerance = 1e-10);
int RankFromSingularValues(const Vector& singular_values, double tolerance);

struct MultilinearRankSummary {
  std::array<int, 3> ranks = {0, 0, 0};
  // Singular values of each unfolding X_(n), descending.
  std::array<Vector, 3> singular_values;
  std::array<bool, 3> used_gram = {false, false, false};
  double tolerance = 0.0;  // the tolerance applied (after any floor)
  std::string BriefReport() const;
};

// Ranks of the three unfoldings of x. Throws ltr::Error on invalid options.
MultilinearRankSummary MultilinearRank(const RankOptions& options,
                                       const Tensor3& x);

struct CpRankOptions {
  // Smallest R whose best fit has ||X - M|| / ||X|| <= relative_error.
  double relative_error = 1e-4;
  // Ranks tried: from max(1, the largest multilinear rank, a lower bound of
  // the CP rank) up to max_rank. 0 = no limit other than the size.
  int max_rank = 8;
  int restarts = 3;  // CP-ALS fits per rank, from random starts
  int max_iterations = 2000;
  double als_tolerance = 1e-10;  // ALS stop on relative-error change
  // Multilinear rank tolerance for the compression (see RankOptions).
  double rank_tolerance = 1e-10;
  std::uint64_t seed = 0;
  // Threads of the compression (the fits of the small core run on one).
  RunContext run;

  bool IsValid(std::string* error) const;
};

struct CpRankSummary {
  // The estimate, or -1 when no rank up to max_rank reached the tolerance
  // (the CP rank is then > max_rank, and >= lower_bound).
  int rank = -1;
  // max(multilinear ranks): a lower bound of the CP rank.
  int lower_bound = 0;
  std::vector<int> ranks_tried;
  std::vector<double> best_relative_error;  // per rank tried
  double seconds = 0.0;
  std::string BriefReport() const;
};

// Estimates the CP rank of x. The fits run on the Tucker core of x at its
// numerical multilinear rank (orthonormal factors from the unfoldings' SVDs),
// which has the same CP rank and the same relative errors up to the
// truncation, and is far smaller when x is low-rank. A zero tensor has rank 0.
CpRankSummary EstimateCpRank(const CpRankOptions& options, const Tensor3& x);

}  // namespace ltr

#endif  // LTR_RANK_H_
