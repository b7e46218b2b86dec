// Out-of-core CP-ALS on a large learning trajectory: writes a planted
// N x N x snapshots trajectory (default N = 512, 2000 snapshots, 4.2 GB of
// float64) snapshot by snapshot, decomposes its update tensor [W_k - W_0]
// with the streamed CP-ALS under a memory budget, and prints seconds per
// iteration, passes, read throughput, peak RSS and the recovery of the
// planted factors. The file is deleted afterwards unless --keep. Usage:
//   bench_cp_stream [--dir /tmp] [--units N] [--snapshots K] [--rank R]
//                   [--budget-mb M] [--iterations N] [--threads N]
//                   [--float32] [--cold] [--keep]
// --cold drops the file from the page cache (posix_fadvise) before the fit,
// so the reads come from the disk rather than from memory.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "ltr/decompose/cp_stream.h"
#include "ltr/decompose/diagnostics.h"
#include "ltr/formats/io.h"
#include "ltr/formats/trajectory_file.h"
#include "ltr/synthetic/synthetic.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void DropFromPageCache(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  ltr::TrajectoryExampleOptions o;
  o.units = 512;
  o.snapshots = 2000;
  o.rank = 5;
  o.noise = 0.01;
  double budget_mb = 256;
  int iterations = 10;
  int threads = 2;
  bool cold = false, keep = false;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto next = [&]() -> const char* {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++a];
    };
    if (arg == "--dir")
      dir = next();
    else if (arg == "--units")
      o.units = std::atoi(next());
    else if (arg == "--snapshots")
      o.snapshots = std::atoi(next());
    else if (arg == "--rank")
      o.rank = std::atoi(next());
    else if (arg == "--budget-mb")
      budget_mb = std::atof(next());
    else if (arg == "--iterations")
      iterations = std::atoi(next());
    else if (arg == "--threads")
      threads = std::atoi(next());
    else if (arg == "--float32")
      o.float32 = true;
    else if (arg == "--cold")
      cold = true;
    else if (arg == "--keep")
      keep = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  namespace fs = std::filesystem;
  const double bytes =
      double(o.snapshots) * o.units * o.units * (o.float32 ? 4.0 : 8.0);
  const fs::space_info space = fs::space(dir);
  if (double(space.available) < 1.2 * bytes) {
    std::fprintf(stderr,
                 "%s has %.1f GB free; the trajectory needs %.1f GB\n",
                 dir.c_str(),
                 space.available / 1e9,
                 bytes / 1e9);
    return 1;
  }
  const std::string path =
      dir + "/bench_cp_stream_" + std::to_string(getpid()) + ".h5";
  std::printf("trajectory %d snapshots x %d x %d (%s, %.2f GB) in %s\n",
              o.snapshots,
              o.units,
              o.units,
              o.float32 ? "float32" : "float64",
              bytes / 1e9,
              path.c_str());

  int status = 0;
  try {
    const auto write_start = Clock::now();
    const ltr::TrajectoryExample ex = ltr::MakeTrajectoryExample(o);
    {
      ltr::io::AppendableFile out(
          path, "bench_cp_stream", ltr::io::AppendableFile::Mode::kCreate);
      ltr::WriteSyntheticWeights(o, ex, &out);
    }
    const double write_seconds = Seconds(write_start);
    std::printf("written in %.1f s (%.2f GB/s)\n",
                write_seconds,
                bytes / 1e9 / write_seconds);
    if (cold) DropFromPageCache(path);

    ltr::CpStreamOptions options;
    options.cp.rank = o.rank;
    options.cp.max_iterations = iterations;
    options.cp.tolerance = 0;  // a fixed number of iterations to time
    options.cp.acceleration = ltr::CpAcceleration::kNone;  // one pass each
    options.run.num_threads = threads;
    options.cp.seed = 1;
    options.memory_budget = static_cast<std::int64_t>(budget_mb * 1048576);
    const ltr::CpStreamSummary s =
        ltr::CpStream(options, ltr::FileSlabSource(path, "/weights", true));
    ltr::Ktensor truth = ex.update;
    truth.factors[0] =
        ltr::Matrix(truth.factors[0].bottomRows(o.snapshots - 1));
    const double data_bytes = double(o.snapshots - 1) * o.units * o.units * 8;
    std::printf("rank %d, budget %.0f MB, %d threads%s\n",
                o.rank,
                budget_mb,
                threads,
                cold ? ", cold page cache" : ", file in the page cache");
    std::printf("%s\n", s.BriefReport().c_str());
    std::printf(
        "seconds per iteration %.3f; passes %d (%.0f per iteration); "
        "%.2f GB of float64 per pass at %.2f GB/s; waiting for reads "
        "%.1f s of %.1f s\n",
        s.seconds_per_iteration,
        s.passes,
        s.passes_per_iteration,
        data_bytes / 1e9,
        data_bytes / 1e9 / s.seconds_per_iteration,
        s.read_seconds,
        s.cp.seconds);
    std::printf("peak RSS %.1f MB (data %.0f MB); factor match score %.4f\n",
                s.peak_rss_bytes / 1048576.0,
                bytes / 1048576.0,
                ltr::FactorMatchScore(truth, s.cp.model));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    status = 1;
  }
  if (!keep) std::filesystem::remove(path);
  return status;
}
