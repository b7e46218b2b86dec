// Out-of-core CP-ALS (cp_stream.h): the in-memory kernels of the dimension
// tree applied to slabs of mode 0, with one read of the data per iteration.
#include "ltr/decompose/cp_stream.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <iomanip>
#include <memory>
#include <sstream>

#include "core/parallel.h"
#include "decompose/cp_kernels.h"
#include "decompose/cp_linesearch.h"
#include "ltr/core/error.h"
#include "ltr/core/random.h"
#include "ltr/formats/io.h"

namespace ltr {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string Bytes(double bytes) {
  std::ostringstream out;
  out << std::setprecision(3);
  if (bytes >= 1 << 30)
    out << bytes / (1 << 30) << " GiB";
  else if (bytes >= 1 << 20)
    out << bytes / (1 << 20) << " MiB";
  else
    out << bytes << " bytes";
  return out.str();
}

// Reads the passes over the data: slab after slab into one or two buffers,
// the next slab on a second thread while the current one is processed. A
// short last slab is zero-padded to the full slab size, so the kernels always
// see buffers of one shape; zero rows contribute nothing to any contraction.
class SlabPasses {
 public:
  SlabPasses(const SlabSource& source, const StreamPlan& plan, bool prefetch)
      : source_(source), plan_(plan), prefetch_(prefetch && !plan.in_memory) {
    const Dims& d = source.dims;
    for (int b = 0; b < plan.buffers; ++b)
      buffers_.emplace_back(plan.slab_rows, d[1], d[2]);
  }

  int passes() const { return passes_; }
  double bytes_read() const { return bytes_read_; }
  double read_seconds() const { return read_seconds_; }

  // Calls body(begin, end, slab) for every slab in order; slab holds rows
  // [begin, end) of the tensor in its first end - begin rows.
  template <typename Body>
  void Run(Body body) {
    const Index rows = source_.dims[0];
    if (plan_.in_memory && loaded_) {
      body(Index{0}, rows, buffers_[0]);
      return;
    }
    ++passes_;
    auto range = [&](Index s) {
      const Index begin = s * plan_.slab_rows;
      return std::make_pair(begin, std::min(rows, begin + plan_.slab_rows));
    };
    auto read = [this](std::pair<Index, Index> r, Tensor3* slab) {
      const Index slice = slab->dim(1) * slab->dim(2);
      source_.read(r.first, r.second, slab->data());
      const Index pad = (slab->dim(0) - (r.second - r.first)) * slice;
      if (pad > 0)
        std::memset(slab->data() + slab->size() - pad, 0, pad * sizeof(double));
    };
    auto wait = [this](std::future<void>& f) {
      const auto start = Clock::now();
      f.get();
      read_seconds_ += Seconds(start);
    };
    std::future<void> pending;
    if (prefetch_)
      pending = std::async(std::launch::async, read, range(0), &buffers_[0]);
    for (Index s = 0; s < plan_.slabs; ++s) {
      Tensor3& slab = buffers_[prefetch_ ? s % 2 : 0];
      const auto r = range(s);
      if (prefetch_) {
        wait(pending);
        if (s + 1 < plan_.slabs)
          pending = std::async(
              std::launch::async, read, range(s + 1), &buffers_[(s + 1) % 2]);
      } else {
        const auto start = Clock::now();
        read(r, &slab);
        read_seconds_ += Seconds(start);
      }
      bytes_read_ += static_cast<double>((r.second - r.first) * slab.dim(1) *
                                         slab.dim(2) * sizeof(double));
      body(r.first, r.second, slab);
    }
    loaded_ = true;
  }

 private:
  const SlabSource& source_;
  StreamPlan plan_;
  bool prefetch_;
  std::vector<Tensor3> buffers_;
  bool loaded_ = false;
  int passes_ = 0;
  double bytes_read_ = 0;
  double read_seconds_ = 0;
};

// Throws, naming the entry, unless rows [0, rows) of slab are finite.
void CheckFinite(const Tensor3& slab, Index rows, Index first_row) {
  const Index n = rows * slab.dim(1) * slab.dim(2);
  const double* v = slab.data();
  for (Index e = 0; e < n; ++e) {
    if (std::isfinite(v[e])) continue;
    const Index i = e / (slab.dim(1) * slab.dim(2));
    const Index j = (e / slab.dim(2)) % slab.dim(1), k = e % slab.dim(2);
    throw Error("the tensor has " +
                std::string(std::isnan(v[e]) ? "NaN" : "Inf") + " at (" +
                std::to_string(first_row + i) + ", " + std::to_string(j) +
                ", " + std::to_string(k) +
                "); the streamed CP-ALS needs finite data (no masks)");
  }
}

}  // namespace

SlabSource InMemorySlabSource(const Tensor3& x) {
  SlabSource source;
  source.dims = x.dims();
  source.chunk_rows = 1;
  source.read = [&x](Index begin, Index end, double* buffer) {
    const Index slice = x.dim(1) * x.dim(2);
    std::copy(x.data() + begin * slice, x.data() + end * slice, buffer);
  };
  return source;
}

SlabSource FileSlabSource(const std::string& file,
                          const std::string& dataset,
                          bool subtract_first) {
  auto reader = std::make_shared<io::SlabReader>(file, dataset);
  const Dims& d = reader->dims();
  SlabSource source;
  source.dims = d;
  source.chunk_rows = reader->chunk_rows();
  if (!subtract_first) {
    source.read = [reader](Index begin, Index end, double* buffer) {
      reader->Read(begin, end, buffer);
    };
    return source;
  }
  if (d[0] < 2)
    throw Error("'" + dataset + "' in '" + file + "' has " +
                std::to_string(d[0]) +
                " rows; subtracting the first needs at least 2");
  auto first = std::make_shared<std::vector<double>>(d[1] * d[2]);
  reader->Read(0, 1, first->data());
  source.dims[0] = d[0] - 1;
  source.resident_bytes = d[1] * d[2] * sizeof(double);
  source.read = [reader, first](Index begin, Index end, double* buffer) {
    reader->Read(begin + 1, end + 1, buffer);
    const Index slice = static_cast<Index>(first->size());
    for (Index i = 0; i < end - begin; ++i) {
      Eigen::Map<Vector> row(buffer + i * slice, slice);
      row -= Eigen::Map<const Vector>(first->data(), slice);
    }
  };
  return source;
}

bool CpStreamOptions::IsValid(const Dims& dims, std::string* error) const {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (!cp.IsValid(dims, error)) return false;
  if (run.num_threads < 1)
    return fail("num_threads must be >= 1, got " +
                std::to_string(run.num_threads));
  if (cp.method != CpMethod::kAls)
    return fail("the streamed decomposition is CP-ALS only (method cp-als)");
  if (memory_budget <= 0)
    return fail("the memory budget must be > 0 bytes, got " +
                std::to_string(memory_budget));
  if (max_slab_rows < 0)
    return fail("max_slab_rows must be >= 0 (0 = from the budget), got " +
                std::to_string(max_slab_rows));
  return true;
}

StreamPlan PlanStream(const CpStreamOptions& options,
                      const Dims& dims,
                      Index chunk_rows,
                      std::int64_t resident_bytes) {
  std::string error;
  if (!options.IsValid(dims, &error)) throw Error(error);
  const std::int64_t d = sizeof(double);
  const std::int64_t slice = dims[1] * dims[2] * d;
  const std::int64_t threads = options.run.num_threads;
  const std::int64_t rank = options.cp.rank;
  StreamPlan plan;
  // Y, plus per thread: a model slice (error pass), T and M2 partials, and
  // the ~256 KB block of the mode-1/2 kernel.
  plan.workspace_bytes =
      resident_bytes + slice * rank +
      threads * (slice + 2 * dims[2] * rank * d + 32 * 1024 * d);
  const std::int64_t room = options.memory_budget - plan.workspace_bytes;
  if (room < slice)
    throw Error("the memory budget of " +
                Bytes(static_cast<double>(options.memory_budget)) +
                " is below the minimum of " +
                Bytes(static_cast<double>(plan.workspace_bytes + slice)) +
                " for a " + DimsToString(dims) + " tensor at rank " +
                std::to_string(rank) + " (one " + std::to_string(dims[1]) +
                " x " + std::to_string(dims[2]) +
                " slice plus the J x K x R contraction and scratch)");
  const Index cap = options.max_slab_rows > 0 ? options.max_slab_rows : dims[0];
  if (room >= dims[0] * slice && cap >= dims[0]) {
    plan.in_memory = true;
    plan.buffers = 1;
    plan.slab_rows = dims[0];
  } else {
    plan.buffers = options.prefetch && room >= 2 * slice ? 2 : 1;
    Index rows = std::min<Index>(cap, room / (plan.buffers * slice));
    rows = std::max<Index>(1, std::min(rows, dims[0]));
    // Slabs of whole storage chunks when a chunk fits, and of equal size
    // (the last a little short rather than one nearly empty slab).
    const Index chunk = std::max<Index>(1, chunk_rows);
    if (rows >= chunk) rows -= rows % chunk;
    const Index slabs = (dims[0] + rows - 1) / rows;
    plan.slab_rows = (dims[0] + slabs - 1) / slabs;
    if (rows >= chunk)
      plan.slab_rows = (plan.slab_rows + chunk - 1) / chunk * chunk;
  }
  plan.slabs = (dims[0] + plan.slab_rows - 1) / plan.slab_rows;
  plan.buffer_bytes = plan.buffers * plan.slab_rows * slice;
  return plan;
}

std::int64_t PeakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
}

std::string CpStreamSummary::BriefReport() const {
  return cp.BriefReport() + "\n" + StreamReport();
}

std::string CpStreamSummary::StreamReport() const {
  std::ostringstream out;
  out << "streamed: " << plan.slabs << " slabs of " << plan.slab_rows
      << " rows (" << plan.buffers << " buffer"
      << (plan.buffers == 1 ? "" : "s") << ", "
      << Bytes(static_cast<double>(plan.buffer_bytes)) << ", workspace "
      << Bytes(static_cast<double>(plan.workspace_bytes)) << "); " << passes
      << " passes (" << passes_per_iteration << " per iteration), "
      << Bytes(bytes_read) << " read, " << std::setprecision(3)
      << seconds_per_iteration << " s per iteration, " << read_seconds
      << " s waiting for reads; peak RSS "
      << Bytes(static_cast<double>(peak_rss_bytes));
  return out.str();
}

namespace {

// The starting point: given, or the draws InitialKtensor makes for kRandom
// (mode by mode, N(0, 1)), so that a seed starts both ALS the same way.
Ktensor StreamStart(const CpOptions& cp, const Dims& d, const Ktensor* init) {
  const Index rank = cp.rank;
  if (init) {
    if (init->rank() != rank || init->dims() != d)
      throw Error("the initial Ktensor has rank " +
                  std::to_string(init->rank()) + " and dimensions " +
                  DimsToString(init->dims()) + "; expected rank " +
                  std::to_string(rank) + " and " + DimsToString(d));
    return *init;
  }
  if (cp.init != CpInit::kRandom)
    throw Error(
        "the streamed CP-ALS starts from random factors (--init random) "
        "or a given Ktensor; nvecs would need the whole tensor");
  Ktensor start;
  Rng rng(cp.seed);
  start.weights = Vector::Ones(rank);
  for (int n = 0; n < 3; ++n) start.factors[n] = rng.NormalMatrix(d[n], rank);
  return start;
}

// The state of the sweep between passes: the same sweep as
// internal::RunSweeps for plain least squares, with the mode-0 update and
// the partial contraction Y fused into one pass over the data.
class StreamedAls {
 public:
  StreamedAls(Ktensor start, const Dims& d, int threads)
      : f_(std::move(start.factors)),
        weights_(std::move(start.weights)),
        rank_(weights_.size()),
        jk_(d[1] * d[2]),
        threads_(threads),
        y_(rank_, d[1], d[2]),
        identity_(Matrix::Identity(rank_, rank_)) {
    for (int n = 0; n < 3; ++n) {
      weights_ = weights_.cwiseProduct(internal::NormalizeColumns(&f_[n]));
      gram_[n] = f_[n].transpose() * f_[n];
    }
  }

  // One iteration; returns the relative error it reaches. start_error, when
  // given, receives the error of the point it started from (measured by the
  // pass's mode-0 MTTKRP; x_norm2 must be known, i.e. not on the first pass).
  double Iterate(SlabPasses* passes, double* start_error = nullptr) {
    const double start_inner = Mode0AndY(passes);
    if (start_error)
      *start_error = internal::RelativeError(
          internal::ResidualNorm2FromGrams(
              x_norm2_, start_.weights, start_gram_, start_inner),
          x_norm2_);
    Mode1FromY();
    const double inner = Mode2();  // <X, M>
    const double residual2 =
        internal::ResidualNorm2FromGrams(x_norm2_, weights_, gram_, inner);
    return internal::RelativeError(residual2, x_norm2_);
  }

  double x_norm2() const { return x_norm2_; }
  internal::SweepPoint Point() const { return {f_, weights_}; }
  void SetPoint(internal::SweepPoint point) {
    f_ = std::move(point.f);
    weights_ = std::move(point.weights);
    for (int n = 0; n < 3; ++n) gram_[n] = f_[n].transpose() * f_[n];
  }
  Ktensor TakeModel() {
    Ktensor model;
    model.weights = std::move(weights_);
    model.factors = std::move(f_);
    return model;
  }

 private:
  // Y(j, k, r) = sum_i X(i, j, k) A(i, r), stored as the tensor (R, J, K):
  // the same bytes as the column-major (JK) x R matrix Ymat.
  Eigen::Map<Matrix> Ymat() { return {y_.data(), jk_, rank_}; }

  // Moves the column norms of factor n into the weights; its Gram matrix.
  void NormalizeFactor(int n) {
    weights_ = internal::NormalizeColumns(&f_[n]);
    gram_[n] = f_[n].transpose() * f_[n];
  }

  // Divides column r of m by weight r (a zero weight gives a zero column):
  // m was formed with the factor before NormalizeFactor.
  void Unscale(Eigen::Ref<Matrix> m) const {
    for (Index r = 0; r < rank_; ++r)
      m.col(r) *= weights_[r] > 0 ? 1.0 / weights_[r] : 0.0;
  }

  // Pass over the data: mode 0 and Y (and, on the first, ||X||^2). Returns
  // <X, M> for the model the pass started from (its Grams and weights are
  // kept in start_gram_ and start_.weights).
  double Mode0AndY(SlabPasses* passes) {
    start_.weights = weights_;
    start_gram_ = gram_;
    double start_inner = 0;
    const Matrix p0 = internal::GramInverse(gram_[1].cwiseProduct(gram_[2]));
    Eigen::Map<Matrix> ymat = Ymat();
    ymat.setZero();
    passes->Run([&](Index begin, Index end, const Tensor3& slab) {
      const Index rows = end - begin;
      if (first_pass_) {
        CheckFinite(slab, rows, begin);
        x_norm2_ += slab.AsVector().head(rows * jk_).squaredNorm();
      }
      const Matrix m0 = internal::MttkrpMode0(slab, f_[1], f_[2], threads_);
      start_inner += (f_[0].middleRows(begin, rows) * weights_.asDiagonal())
                         .cwiseProduct(m0.topRows(rows))
                         .sum();
      f_[0].middleRows(begin, rows).noalias() = m0.topRows(rows) * p0;
      // Rows (j, k) of the (JK) x rows view of the slab, split by thread.
      const Eigen::Map<const Matrix> xv(slab.data(), jk_, rows);
      const auto a = f_[0].middleRows(begin, rows);
      ParallelFor(jk_, threads_, [&](Index b, Index e) {
        ymat.middleRows(b, e - b).noalias() += xv.middleRows(b, e - b) * a;
      });
    });
    first_pass_ = false;
    NormalizeFactor(0);
    Unscale(ymat);  // Y was accumulated with the unnormalised rows of A
    return start_inner;
  }

  // Modes 1 and 2 from Y: the in-memory kernel on the tensor Y with an
  // identity mode-0 factor (Y x_0 I = Y exactly).
  void Mode1FromY() {
    const Matrix p1 = internal::GramInverse(gram_[0].cwiseProduct(gram_[2]));
    Matrix b = f_[1] * weights_.asDiagonal();
    internal::MttkrpTree12(
        y_,
        identity_,
        f_[2],
        [&](Index, const Matrix& m1, Eigen::Ref<Matrix> rows) {
          rows.noalias() = m1 * p1;
        },
        threads_,
        &b,
        &m2_);
    f_[1] = std::move(b);
    NormalizeFactor(1);
    Unscale(m2_);
  }

  // Mode 2 from the MTTKRP Mode1FromY left; returns <X, M>.
  double Mode2() {
    const Matrix p2 = internal::GramInverse(gram_[0].cwiseProduct(gram_[1]));
    Matrix c = m2_ * p2;
    const double inner = m2_.cwiseProduct(c).sum();
    f_[2] = std::move(c);
    NormalizeFactor(2);
    return inner;
  }

  std::array<Matrix, 3> f_;
  Vector weights_;
  std::array<Matrix, 3> gram_;
  const Index rank_;
  const Index jk_;
  const int threads_;
  Tensor3 y_;
  const Matrix identity_;
  Matrix m2_;
  internal::SweepPoint start_;  // the weights at the start of the pass
  std::array<Matrix, 3> start_gram_;
  double x_norm2_ = 0;
  bool first_pass_ = true;
};

// ||X - M||^2 from the model slice by slice (as ltr::Cp computes it).
double StreamedResidual2(SlabPasses* passes,
                         const Ktensor& model,
                         Index slab_rows,
                         int threads) {
  double residual2 = 0;
  Ktensor part = model;
  const Matrix& a = model.factors[0];
  part.factors[0] = Matrix::Zero(slab_rows, model.rank());
  passes->Run([&](Index begin, Index end, const Tensor3& slab) {
    part.factors[0].topRows(end - begin) = a.middleRows(begin, end - begin);
    part.factors[0]
        .bottomRows(part.factors[0].rows() - (end - begin))
        .setZero();
    residual2 += internal::ResidualNorm2(slab, nullptr, part, threads);
  });
  return residual2;
}

// The iterations, with the line search of CpOptions::acceleration. A point
// is measured by the next iteration's pass itself (the pass starts from it
// and its mode-0 MTTKRP gives the point's error), so a kept point costs no
// read; a rejected one costs that pass again from the sweep's own result.
void RunStreamedSweeps(const CpOptions& options,
                       StreamedAls* als,
                       SlabPasses* passes,
                       CpSummary* summary) {
  internal::LineSearch search(options, {false, false, false}, 0);
  internal::SweepPoint before = als->Point();
  double error = als->Iterate(passes);
  for (;;) {
    const int iteration = summary->iterations + 1;
    if (!search.Wanted(summary->error_history) ||
        iteration >= options.max_iterations || options.run.cancelled()) {
      if (internal::RecordIteration(options, error, summary)) return;
      before = als->Point();
      error = als->Iterate(passes);
      continue;
    }
    internal::SweepPoint after = als->Point();
    internal::SweepPoint point = search.Extrapolate(before, after, iteration);
    als->SetPoint(point);
    double point_error = 0;
    const double next_error = als->Iterate(passes, &point_error);
    if (point_error < error) {
      search.Accepted();
      ++summary->extrapolations;
      if (internal::RecordIteration(options, point_error, summary)) {
        als->SetPoint(std::move(point));
        return;
      }
      before = std::move(point);
      error = next_error;
      continue;
    }
    search.Rejected();
    const bool stop = internal::RecordIteration(options, error, summary);
    als->SetPoint(after);
    if (stop) return;
    before = std::move(after);
    error = als->Iterate(passes);
  }
}

}  // namespace

CpStreamSummary CpStream(const CpStreamOptions& options,
                         const SlabSource& source,
                         const Ktensor* init) {
  const auto start = Clock::now();
  const Dims& d = source.dims;
  if (!source.read) throw Error("the slab source has no reader");
  CpStreamSummary result;
  result.plan =
      PlanStream(options, d, source.chunk_rows, source.resident_bytes);
  const CpOptions& cp = options.cp;
  const int threads = options.run.num_threads;
  StreamedAls als(StreamStart(cp, d, init), d, threads);
  SlabPasses passes(source, result.plan, options.prefetch);
  CpSummary& summary = result.cp;
  const auto iterations_start = Clock::now();
  CpOptions polled = cp;  // the loop polls options.run's cancellation
  polled.run = options.run;
  RunStreamedSweeps(polled, &als, &passes, &summary);
  const double als_seconds = Seconds(iterations_start);
  const int als_passes = passes.passes();
  const double x_norm2 = als.x_norm2();
  summary.model = als.TakeModel();
  summary.model.Canonicalize();
  summary.seed = cp.seed;
  summary.relative_error = internal::RelativeError(
      StreamedResidual2(&passes, summary.model, result.plan.slab_rows, threads),
      x_norm2);
  summary.message = "CP-ALS (streamed) " + summary.message;
  summary.seconds = Seconds(start);

  result.passes = passes.passes();
  result.passes_per_iteration =
      static_cast<double>(als_passes) / summary.iterations;
  result.seconds_per_iteration = als_seconds / summary.iterations;
  result.bytes_read = passes.bytes_read();
  result.read_seconds = passes.read_seconds();
  result.peak_rss_bytes = PeakRssBytes();
  return result;
}

}  // namespace ltr
