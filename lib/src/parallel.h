// Deterministic parallel loops: work is cut into one contiguous block per
// thread and partial results come back in block order, so a reduction done by
// the caller in that order gives the same bits for the same thread count.
#ifndef LTR_SRC_PARALLEL_H_
#define LTR_SRC_PARALLEL_H_

#include <omp.h>

#include <algorithm>
#include <vector>

#include "ltr/tensor.h"

namespace ltr {

// Calls body(begin, end) on num_threads contiguous blocks of [0, n) in
// parallel and returns the results in block order.
template <typename Body>
auto ParallelBlocks(Index n, int num_threads, Body body)
    -> std::vector<decltype(body(Index{0}, Index{0}))> {
  const int blocks = static_cast<int>(
      std::max<Index>(1, std::min<Index>(std::max(num_threads, 1), n)));
  std::vector<decltype(body(Index{0}, Index{0}))> results(blocks);
#pragma omp parallel for num_threads(blocks) schedule(static, 1)
  for (int b = 0; b < blocks; ++b) {
    const Index begin = n * b / blocks;
    const Index end = n * (b + 1) / blocks;
    results[b] = body(begin, end);
  }
  return results;
}

// Runs body(begin, end) on contiguous blocks of [0, n) in parallel, for
// loops whose iterations write disjoint outputs.
template <typename Body>
void ParallelFor(Index n, int num_threads, Body body) {
  const int blocks = static_cast<int>(
      std::max<Index>(1, std::min<Index>(std::max(num_threads, 1), n)));
#pragma omp parallel for num_threads(blocks) schedule(static, 1)
  for (int b = 0; b < blocks; ++b) body(n * b / blocks, n * (b + 1) / blocks);
}

}  // namespace ltr

#endif  // LTR_SRC_PARALLEL_H_
