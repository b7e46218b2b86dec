// CP-ALS speed on a dense 200 x 100 x 500 tensor (planted rank 10 + 5% noise),
// rank 10: ms per iteration, GFLOP/s, and the ratio to the memory-bandwidth
// floor measured on this machine; then a TCA ensemble (ranks 1-8 x 3
// restarts). Usage:
//   bench_cp_als [--threads N] [--iterations N] [--rank R] [--dims I,J,K]
//                [--no-ensemble]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../lib/src/core/kernels.h"
#include "../tests/planted.h"
#include "ltr/decompose/cp.h"
#include "ltr/decompose/diagnostics.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// User + system CPU seconds of this process so far.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // KB on Linux
}

// Streaming read bandwidth (bytes/s): `threads` threads each sum a contiguous
// part of an 80 MB array; best of 7.
double ReadBandwidth(int threads) {
  const size_t n = 10 * 1000 * 1000;
  std::vector<double> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<double>(i % 7);
  std::vector<double> sums(static_cast<size_t>(threads));
  double best = 1e30;
  for (int rep = 0; rep < 7; ++rep) {
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const size_t begin = n * t / threads, end = n * (t + 1) / threads;
        // Eigen's vectorised, unrolled reduction.
        sums[t] =
            Eigen::Map<const Eigen::VectorXd>(
                data.data() + begin, static_cast<Eigen::Index>(end - begin))
                .sum();
      });
    for (auto& th : pool) th.join();
    best = std::min(best, Seconds(start));
  }
  double total = 0;
  for (double s : sums) total += s;
  if (total < 0) std::printf("%g\n", total);  // keep the sums alive
  return static_cast<double>(n * sizeof(double)) / best;
}

// Best-of-`reps` seconds of Cp with tolerance 0 and `iterations` iterations.
double TimeCp(const ltr::CpOptions& base,
              const ltr::Tensor3& x,
              const ltr::Ktensor& init,
              int iterations,
              int reps) {
  ltr::CpOptions options = base;
  options.max_iterations = iterations;
  options.tolerance = 0;
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto start = Clock::now();
    const ltr::CpSummary fit = ltr::Cp(options, x, nullptr, &init);
    best = std::min(best, Seconds(start));
    if (fit.iterations != iterations) std::printf("unexpected iterations\n");
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, iterations = 50, rank = 10;
  ltr::Dims dims{200, 100, 500};
  bool ensemble = true;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto next = [&]() -> const char* {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++a];
    };
    if (arg == "--threads") {
      threads = std::atoi(next());
    } else if (arg == "--iterations") {
      iterations = std::atoi(next());
    } else if (arg == "--rank") {
      rank = std::atoi(next());
    } else if (arg == "--dims") {
      long i = 0, j = 0, k = 0;
      if (std::sscanf(next(), "%ld,%ld,%ld", &i, &j, &k) != 3) {
        std::fprintf(stderr, "--dims wants I,J,K\n");
        return 2;
      }
      dims = {i, j, k};
    } else if (arg == "--no-ensemble") {
      ensemble = false;
    } else {
      std::fprintf(stderr,
                   "usage: bench_cp_als [--threads N] [--iterations N] "
                   "[--rank R] [--dims I,J,K] [--no-ensemble]\n");
      return 2;
    }
  }

  // Bandwidth first, so that its 80 MB array does not count in the peak
  // memory of the fits.
  const double bandwidth_1 = ReadBandwidth(1);
  const double bandwidth = ReadBandwidth(threads);

  // The tensor, built in place so that only one copy exists.
  const auto build_start = Clock::now();
  ltr::Tensor3 x = ltr::testing::PlantedKtensor(dims, rank, 1).Full();
  {
    ltr::Rng rng(2);
    const double sigma =
        0.05 * x.AsVector().norm() / std::sqrt(static_cast<double>(x.size()));
    for (double& v : x.values()) v += sigma * rng.Normal();
  }
  const double tensor_mb = x.size() * sizeof(double) / 1e6;
  const double rss_before = PeakRssMb();

  std::printf(
      "bench_cp_als: CP-ALS, dense %s tensor (%.1f MB), rank %d, "
      "%d threads\n",
      ltr::DimsToString(dims).c_str(),
      tensor_mb,
      rank,
      threads);
  std::printf(
      "  compiler %s, libltr built with its own flags (Release; "
      "-march=native with LTR_NATIVE=ON), run-time kernels %s; tensor "
      "built in %.2f s\n",
      __VERSION__,
      ltr::internal::KernelsName(),
      Seconds(build_start));
  std::printf(
      "  streaming read bandwidth (sum of an 80 MB array): "
      "%.1f GB/s with 1 thread, %.1f GB/s with %d\n",
      bandwidth_1 / 1e9,
      bandwidth / 1e9,
      threads);

  ltr::CpOptions options;
  options.rank = rank;
  options.run.num_threads = threads;
  options.seed = 3;
  // The time of a plain sweep: the line search changes the work per
  // iteration (it is timed by the ensemble below and by
  // bench_ensemble_peers.py).
  options.acceleration = ltr::CpAcceleration::kNone;
  const auto init_start = Clock::now();
  const ltr::Ktensor init = ltr::InitialKtensor(options, x);
  const double init_random = Seconds(init_start);

  // Per-iteration time without the fixed costs (validation, canonical form,
  // the final error by reconstruction): difference of two run lengths.
  const int short_run = 5;
  const double t_short = TimeCp(options, x, init, short_run, 3);
  const double cpu_start = CpuSeconds();
  const auto wall_start = Clock::now();
  const double t_long = TimeCp(options, x, init, short_run + iterations, 3);
  // Cores this process actually had while timing (another job on the
  // machine shows up as less than `threads`).
  const double cores_used = (CpuSeconds() - cpu_start) / Seconds(wall_start);
  const double per_iteration = (t_long - t_short) / iterations;
  const double ijk = static_cast<double>(x.size());
  const double nominal_flops = 6.0 * ijk * rank;  // the cost model
  const double actual_flops = 4.0 * ijk * rank;   // dimension tree
  const int passes = 2;
  const double floor = passes * ijk * sizeof(double) / bandwidth;

  // The two passes on their own.
  std::array<ltr::Matrix, 3> f = init.factors;
  double t_pass1 = 1e30, t_pass2 = 1e30;
  for (int r = 0; r < 5; ++r) {
    auto s = Clock::now();
    volatile double sink = ltr::Mttkrp(x, f, 0, threads)(0, 0);
    t_pass1 = std::min(t_pass1, Seconds(s));
    s = Clock::now();
    sink = ltr::Mttkrp(x, f, 2, threads)(0, 0);
    t_pass2 = std::min(t_pass2, Seconds(s));
    (void)sink;
  }

  std::printf(
      "\nCP-ALS iteration (tolerance 0; (t[%d it] - t[%d it]) / %d, "
      "best of 3):\n",
      short_run + iterations,
      short_run,
      iterations);
  std::printf(
      "  %.2f ms per iteration  (target <= 15; TensorLy ~125, "
      "tensortools ~171)\n",
      per_iteration * 1e3);
  std::printf(
      "  %.1f GFLOP/s by the issue's 6 IJK R count "
      "(%.1f GFLOP/s actually executed: 4 IJK R with the tree)\n",
      nominal_flops / per_iteration / 1e9,
      actual_flops / per_iteration / 1e9);
  std::printf(
      "  floor: %d passes x %.1f MB / %.1f GB/s = %.2f ms; "
      "iteration / floor = %.2f\n",
      passes,
      tensor_mb,
      bandwidth / 1e9,
      floor * 1e3,
      per_iteration / floor);
  std::printf(
      "  pass 1 (mode-0 MTTKRP) %.2f ms, pass 2 (tree, modes 1+2) "
      "%.2f ms, each vs one-pass floor %.2f ms\n",
      t_pass1 * 1e3,
      t_pass2 * 1e3,
      floor / passes * 1e3);
  std::printf(
      "  CPU time / wall time while timing: %.2f (of %d threads; "
      "lower means the machine was shared)\n",
      cores_used,
      threads);
  std::printf("  random init %.3f s; full Cp call with %d iterations %.3f s\n",
              init_random,
              short_run + iterations,
              t_long);
  std::printf(
      "  peak RSS %.1f MB (%.1f MB before the fits) vs tensor %.1f MB\n",
      PeakRssMb(),
      rss_before,
      tensor_mb);

  if (ensemble) {
    ltr::EnsembleOptions e;
    e.run.num_threads = threads;
    e.cp.tolerance = 1e-5;
    e.cp.seed = 4;
    e.min_rank = 1;
    e.max_rank = 8;
    e.restarts = 3;
    e.compute_corcondia = false;
    const auto start = Clock::now();
    const ltr::EnsembleSummary summary = ltr::RunEnsemble(e, x);
    const double seconds = Seconds(start);
    int total_iterations = 0;
    for (const auto& rank_fits : summary.fits)
      for (const auto& fit : rank_fits) total_iterations += fit.iterations;
    std::printf(
        "\nTCA ensemble: ranks 1-8 x 3 restarts, CP-ALS, tolerance "
        "1e-5, random init, no CORCONDIA:\n");
    std::printf(
        "  %.2f s for %d iterations in total  (target <= 4 s; "
        "tensortools 128 s cp_als, 48 s ncp_hals)\n",
        seconds,
        total_iterations);
    std::printf("%s", summary.BriefReport().c_str());
    std::printf("  peak RSS %.1f MB\n", PeakRssMb());
  }
  return 0;
}
