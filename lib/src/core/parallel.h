// Deterministic parallel loops: work is cut into one contiguous block per
// thread and partial results come back in block order, so a reduction done by
// the caller in that order gives the same bits for the same thread count.
//
// The blocks run on a small pool of the library's own threads that sleep on a
// condition variable between loops, after yielding their core for at most
// 1 ms (never spin, so a loaded machine is not slowed by threads
// busy-waiting for work). Blocks are claimed, not assigned:
// the calling thread runs blocks until none is left and then waits only for
// those already started, so a worker that is slow to get a core costs no more
// than running its block on the caller. Which thread runs a block never
// changes its result. A loop started inside a block runs serially.
#ifndef LTR_SRC_PARALLEL_H_
#define LTR_SRC_PARALLEL_H_

#include <algorithm>
#include <functional>
#include <vector>

#include "ltr/core/tensor.h"

namespace ltr {
namespace internal {

// Calls run(b) once for every b in [0, blocks), on the calling thread and up
// to blocks - 1 pool threads; returns when all are done. An exception thrown
// by run is rethrown here (that of the lowest block), after every block ran.
void RunBlocks(int blocks, const std::function<void(int)>& run);

// Threads the pool has started so far (for tests).
int PoolThreads();

inline int BlockCount(Index n, int num_threads) {
  return static_cast<int>(
      std::max<Index>(1, std::min<Index>(std::max(num_threads, 1), n)));
}

}  // namespace internal

// Calls body(begin, end) on num_threads contiguous blocks of [0, n) in
// parallel and returns the results in block order.
template <typename Body>
auto ParallelBlocks(Index n, int num_threads, Body body)
    -> std::vector<decltype(body(Index{0}, Index{0}))> {
  const int blocks = internal::BlockCount(n, num_threads);
  std::vector<decltype(body(Index{0}, Index{0}))> results(blocks);
  internal::RunBlocks(blocks, [&](int b) {
    results[b] = body(n * b / blocks, n * (b + 1) / blocks);
  });
  return results;
}

// Runs body(begin, end) on contiguous blocks of [0, n) in parallel, for
// loops whose iterations write disjoint outputs.
template <typename Body>
void ParallelFor(Index n, int num_threads, Body body) {
  const int blocks = internal::BlockCount(n, num_threads);
  internal::RunBlocks(
      blocks, [&](int b) { body(n * b / blocks, n * (b + 1) / blocks); });
}

}  // namespace ltr

#endif  // LTR_SRC_PARALLEL_H_
