// The library's thread pool (lib/src/parallel.h): block results in block
// order whatever thread ran them, exceptions carried back to the caller,
// loops inside loops, and callers on several threads at once.
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "../../lib/src/core/parallel.h"

using namespace ltr;

namespace {

// A sum whose bits depend on the order of additions: block partials summed
// in block order.
double BlockSum(Index n, int threads) {
  const std::vector<double> partials =
      ParallelBlocks(n, threads, [](Index begin, Index end) {
        double s = 0;
        for (Index i = begin; i < end; ++i) s += std::sin(0.37 * i) / (1 + i);
        return s;
      });
  double total = 0;
  for (double p : partials) total += p;
  return total;
}

// The same blocks summed serially, without the pool.
double SerialBlockSum(Index n, int threads) {
  const int blocks = internal::BlockCount(n, threads);
  double total = 0;
  for (int b = 0; b < blocks; ++b) {
    double s = 0;
    for (Index i = n * b / blocks; i < n * (b + 1) / blocks; ++i)
      s += std::sin(0.37 * i) / (1 + i);
    total += s;
  }
  return total;
}

}  // namespace

TEST_CASE("ParallelBlocks gives the serial block order's bits", "[parallel]") {
  const Index n = 100003;
  for (int threads : {1, 2, 3, 4, 7}) {
    const double expected = SerialBlockSum(n, threads);
    for (int repeat = 0; repeat < 50; ++repeat)
      REQUIRE(BlockSum(n, threads) == expected);
  }
  // Different splits do give different bits (so the check above has teeth).
  CHECK(SerialBlockSum(n, 1) != SerialBlockSum(n, 3));
  // More threads than items: one block per item, the rest unused.
  const auto few = ParallelBlocks(3, 8, [](Index b, Index e) { return e - b; });
  CHECK(few == std::vector<Index>{1, 1, 1});
  CHECK(ParallelBlocks(0, 4, [](Index b, Index e) { return e - b; }) ==
        std::vector<Index>{0});
}

TEST_CASE("ParallelFor covers every index once on several threads",
          "[parallel]") {
  const Index n = 1000;
  std::vector<int> hits(n, 0);
  std::vector<std::thread::id> ran_on(4);
  ParallelFor(n, 4, [&](Index begin, Index end) {
    ran_on[4 * begin / n] = std::this_thread::get_id();
    for (Index i = begin; i < end; ++i) ++hits[i];
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  });
  for (int h : hits) REQUIRE(h == 1);
  // The blocks sleep, so the caller cannot claim them all: workers ran some.
  int other = 0;
  for (const auto& id : ran_on) other += id != std::this_thread::get_id();
  CHECK(other >= 1);
  CHECK(internal::PoolThreads() >= 3);
}

TEST_CASE("an exception from a block reaches the caller", "[parallel]") {
  for (int repeat = 0; repeat < 20; ++repeat) {
    std::vector<int> ran(4, 0);
    try {
      ParallelFor(4, 4, [&](Index begin, Index) {
        ran[begin] = 1;
        if (begin >= 2)
          throw std::runtime_error("block " + std::to_string(begin));
      });
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      // The lowest failing block's, after every block ran.
      REQUIRE(std::string(e.what()) == "block 2");
    }
    REQUIRE(ran == std::vector<int>{1, 1, 1, 1});
  }
  // The pool still works afterwards.
  CHECK(BlockSum(5000, 3) == SerialBlockSum(5000, 3));
}

TEST_CASE("loops inside a block run serially with the same blocks",
          "[parallel]") {
  const Index n = 20011;
  const std::vector<double> inner =
      ParallelBlocks(4, 4, [&](Index, Index) { return BlockSum(n, 3); });
  for (double v : inner) CHECK(v == SerialBlockSum(n, 3));
}

TEST_CASE("several threads may run parallel loops at once", "[parallel]") {
  const Index n = 50021;
  const double expected = SerialBlockSum(n, 2);
  std::vector<int> ok(3, 0);
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&, c] {
      bool all = true;
      for (int repeat = 0; repeat < 100; ++repeat)
        all = all && BlockSum(n, 2) == expected;
      ok[c] = all;
    });
  for (std::thread& t : callers) t.join();
  CHECK(ok == std::vector<int>{1, 1, 1});
}
