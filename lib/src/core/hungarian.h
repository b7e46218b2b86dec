// Optimal assignment (the Hungarian algorithm, Kuhn-Munkres with potentials)
// for the component matching of diagnostics.cpp.
#ifndef LTR_SRC_HUNGARIAN_H_
#define LTR_SRC_HUNGARIAN_H_

#include <vector>

#include "ltr/core/tensor.h"

namespace ltr::internal {

// Assigns every row of the n x m cost matrix (n <= m) to a distinct column so
// that the total cost is minimal. Returns column[row]. O(n^2 m). Costs must
// be finite; throws ltr::Error if n > m or a cost is not finite.
std::vector<int> MinCostAssignment(const Matrix& cost);

}  // namespace ltr::internal

#endif  // LTR_SRC_HUNGARIAN_H_
