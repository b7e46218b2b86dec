// Adam on the flip-flop task of Schuessler et al. 2020, N = 256, batch 32: time
// per training step (one loss + gradient over 32 trials x 100 bins, plus the
// Adam update) and the fraction of the machine's peak FLOP/s it reaches.
//
// usage: bench_train [steps=1000] [threads=2] [peak_gflops_per_core=0]
// With peak 0 the peak is measured with a 256 x 256 x 256 GEMM (Eigen) on
// one core, which is what the training step could reach at best.
#include <Eigen/Core>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "ltr/train/train.h"

namespace {

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double GemmGflops() {
  const Eigen::MatrixXd a = Eigen::MatrixXd::Random(256, 256);
  const Eigen::MatrixXd b = Eigen::MatrixXd::Random(256, 256);
  Eigen::MatrixXd c(256, 256);
  Eigen::setNbThreads(1);
  const int reps = 200;
  const double t0 = Now();
  for (int r = 0; r < reps; ++r) c.noalias() = a * b;
  const double t = Now() - t0;
  return reps * 2.0 * 256 * 256 * 256 / t / 1e9 + 0 * c(0, 0);
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  double peak = argc > 3 ? std::atof(argv[3]) : 0.0;
  if (peak <= 0.0) peak = GemmGflops();

  ltr::TrainOptions o;
  o.task.kind = ltr::TaskKind::kFlipFlop;
  o.units = 256;
  o.g = 0.9;
  o.batch = 32;
  o.steps = steps;
  o.record_every = steps + 1;  // no snapshots in the loop
  o.run.num_threads = threads;
  const double t0 = Now();
  const ltr::TrainSummary s = ltr::Train(o, nullptr);
  const double seconds = Now() - t0;

  // FLOPs per step (dominant terms): forward W phi per bin and trial, the
  // adjoint W^T g, and the outer-product gradient G Phi^T: 3 x 2 N^2 per
  // trial and bin.
  const double n = 256, bins = 100, trials = 32;
  const double flops = 3.0 * 2.0 * n * n * bins * trials;
  const double gflops = flops * steps / seconds / 1e9;
  std::printf(
      "bench_train: Adam, flip-flop, N = 256, batch 32, %d steps, %d threads\n"
      "  total %.2f s, %.1f ms per step, loss %.4g -> %.4g\n"
      "  %.1f GFLOP/s achieved (%.2f GFLOP per step); peak %.1f GFLOP/s per "
      "core (256^3 GEMM) x %d = %.1f; fraction of peak %.1f %%\n",
      steps,
      threads,
      seconds,
      1e3 * seconds / steps,
      s.loss.front(),
      s.loss.back(),
      gflops,
      flops / 1e9,
      peak,
      threads,
      peak * threads,
      100.0 * gflops / (peak * threads));
  return 0;
}
