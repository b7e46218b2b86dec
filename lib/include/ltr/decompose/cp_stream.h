// Out-of-core CP-ALS: a tensor too large for memory (a long learning
// trajectory, snapshots x N x N) is decomposed by reading it in slabs of its
// first mode through a bounded buffer, with the same iterations and the same
// result as the in-memory ltr::Cp with CpMethod::kAls.
//
// One pass over the data per ALS iteration. For each slab S (rows [i0, i1)
// of mode 0) the pass computes the slab's mode-0 MTTKRP rows, and from them
// the slab's new rows of A (mode-0 rows are independent: A_S = M0_S V0^-1),
// then accumulates the partial contraction Y += X_S x_0 A_S^T (J x K x R).
// Y, once complete, gives the mode-1 and mode-2 MTTKRPs without touching the
// data again (the second half of the in-memory dimension tree). The only
// state proportional to the data is the slab buffer (two when the next slab
// is read while the current one is processed) and Y.
#ifndef LTR_CP_STREAM_H_
#define LTR_CP_STREAM_H_

#include <cstdint>
#include <functional>
#include <string>

#include "ltr/core/tensor.h"
#include "ltr/decompose/cp.h"

namespace ltr {

// A 3-way tensor readable a slab of mode 0 at a time.
struct SlabSource {
  Dims dims{0, 0, 0};
  // Slabs are made of whole multiples of this many rows when possible (the
  // storage chunk along mode 0); 0 or 1 means any size.
  Index chunk_rows = 0;
  // Writes rows [begin, end) (row-major, (end - begin) x J x K) to buffer.
  // Called from one thread at a time, though not always the caller's.
  std::function<void(Index begin, Index end, double* buffer)> read;
  // Memory the source itself holds (counted against the budget).
  std::int64_t resident_bytes = 0;
};

// A source over a tensor in memory (for tests and comparisons).
SlabSource InMemorySlabSource(const Tensor3& x);

// A source over a 3-way dataset of an HDF5 file (float64, float32 or
// integers), read by io::SlabReader along its storage chunks. With
// subtract_first, the tensor is [X_i - X_0], i = 1 .. I-1: the update tensor
// [W_k - W_0] of a learning trajectory (X_0 is kept, one slice).
SlabSource FileSlabSource(const std::string& file,
                          const std::string& dataset,
                          bool subtract_first = false);

struct CpStreamOptions {
  // rank, max_iterations, tolerance, seed as for ltr::Cp (cp.run is not
  // used: `run` is). Only method kAls with init kRandom is supported.
  CpOptions cp;
  // Threads of the kernels; cancellation, polled after every iteration,
  // stops the fit with what it has (the message says so).
  RunContext run;
  // Bytes for everything the decomposition holds besides the factors: the
  // slab buffers, Y (J K R doubles) and per-thread scratch. Must be > 0 and
  // at least the workspace plus one slice (J x K doubles); a budget that
  // holds the whole tensor reads it once and keeps it.
  std::int64_t memory_budget = std::int64_t{1} << 30;
  // Largest slab in mode-0 rows (0 = as large as the budget allows).
  Index max_slab_rows = 0;
  // Read the next slab on a second thread while the current one is used
  // (two buffers instead of one).
  bool prefetch = true;

  bool IsValid(const Dims& dims, std::string* error) const;
};

// How a streamed decomposition used memory and I/O.
struct StreamPlan {
  Index slab_rows = 0;     // mode-0 rows per slab
  Index slabs = 0;         // slabs per pass
  int buffers = 0;         // slab buffers (2 with prefetch, 1 when all fits)
  bool in_memory = false;  // whole tensor held after the first read
  std::int64_t workspace_bytes = 0;  // Y, per-thread scratch, the source's
  std::int64_t buffer_bytes = 0;     // all slab buffers
};

// Chooses the slab size for `options` on a tensor of `dims` stored in chunks
// of chunk_rows mode-0 rows, from a source holding resident_bytes; throws
// ltr::Error when the budget cannot hold the workspace and one slice.
StreamPlan PlanStream(const CpStreamOptions& options,
                      const Dims& dims,
                      Index chunk_rows = 1,
                      std::int64_t resident_bytes = 0);

struct CpStreamSummary {
  CpSummary cp;  // as ltr::Cp returns it: canonical model, exact final error
  StreamPlan plan;
  int passes = 0;                   // full reads of the data, all told
  double passes_per_iteration = 0;  // ALS passes / iterations (1 when streamed)
  double bytes_read = 0;            // bytes of doubles delivered by the source
  double read_seconds = 0;          // time spent waiting for reads
  double seconds_per_iteration = 0;
  std::int64_t peak_rss_bytes = 0;  // process peak resident set (getrusage)

  // The streaming figures: slabs, passes, bytes read, time, peak RSS.
  std::string StreamReport() const;
  // cp.BriefReport() and StreamReport() on two lines.
  std::string BriefReport() const;
};

// Streamed CP-ALS of the tensor `source` reads. init, when given, is the
// starting point (rank options.cp.rank, the source's dimensions); otherwise
// the same random start as ltr::Cp with the same seed. Stops early, with a
// message saying so, when options.run is cancelled. Throws ltr::Error on
// invalid options, a budget too small, or non-finite data.
CpStreamSummary CpStream(const CpStreamOptions& options,
                         const SlabSource& source,
                         const Ktensor* init = nullptr);

// Peak resident set size of this process so far, in bytes.
std::int64_t PeakRssBytes();

}  // namespace ltr

#endif  // LTR_CP_STREAM_H_
