#include "core/hungarian.h"

#include <algorithm>
#include <limits>
#include <string>

#include "ltr/core/error.h"

namespace ltr::internal {

// The shortest augmenting path form of the Hungarian algorithm: rows are
// added one at a time; row potentials u and column potentials v keep every
// reduced cost cost(i, j) - u[i] - v[j] >= 0 and zero along the current
// matching, and each new row is matched through a Dijkstra-like search over
// reduced costs. Index 0 of the column arrays is a virtual column that holds
// the row being inserted, so the arrays are 1-based.
std::vector<int> MinCostAssignment(const Matrix& cost) {
  const Index n = cost.rows();
  const Index m = cost.cols();
  if (n > m)
    throw Error("MinCostAssignment: " + std::to_string(n) + " rows but only " +
                std::to_string(m) + " columns; need rows <= columns");
  if (!cost.allFinite())
    throw Error("MinCostAssignment: the cost matrix has non-finite entries");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0);
  std::vector<Index> row_of(m + 1, 0);  // row matched to column j (1-based)
  std::vector<Index> way(m + 1, 0);     // previous column on the path
  std::vector<double> min_reduced(m + 1);
  std::vector<char> used(m + 1);
  for (Index i = 1; i <= n; ++i) {
    row_of[0] = i;
    Index j0 = 0;
    std::fill(min_reduced.begin(), min_reduced.end(), kInf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const Index i0 = row_of[j0];
      double delta = kInf;
      Index j1 = 0;
      for (Index j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double reduced = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (reduced < min_reduced[j]) {
          min_reduced[j] = reduced;
          way[j] = j0;
        }
        if (min_reduced[j] < delta) {
          delta = min_reduced[j];
          j1 = j;
        }
      }
      for (Index j = 0; j <= m; ++j) {
        if (used[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          min_reduced[j] -= delta;
        }
      }
      j0 = j1;
    } while (row_of[j0] != 0);
    // Flip the matching along the augmenting path.
    do {
      const Index j1 = way[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> column(static_cast<size_t>(n), -1);
  for (Index j = 1; j <= m; ++j)
    if (row_of[j] != 0) column[row_of[j] - 1] = static_cast<int>(j - 1);
  return column;
}

}  // namespace ltr::internal
