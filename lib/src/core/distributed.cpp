#include "ltr/core/distributed.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>

#include "ltr/core/error.h"

#ifdef LTR_HAVE_MPI
// The C API only: Open MPI's C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace ltr::distributed {
namespace {

#ifdef LTR_HAVE_MPI
bool MpiActive() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

// Set by the launchers we know: Open MPI's mpirun, PMI/PMIx (MPICH's
// mpiexec, Slurm's srun).
bool LaunchedByMpi() {
  for (const char* name :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

bool g_session_initialized = false;
#endif

}  // namespace

bool BuiltWithMpi() {
#ifdef LTR_HAVE_MPI
  return true;
#else
  return false;
#endif
}

Session::Session(int* argc, char*** argv) {
#ifdef LTR_HAVE_MPI
  if (LaunchedByMpi() && !MpiActive()) {
    MPI_Init(argc, argv);
    g_session_initialized = true;
  }
#else
  (void)argc;
  (void)argv;
#endif
}

Session::~Session() {
#ifdef LTR_HAVE_MPI
  if (g_session_initialized && MpiActive()) MPI_Finalize();
  g_session_initialized = false;
#endif
}

int Rank() {
#ifdef LTR_HAVE_MPI
  if (MpiActive()) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
  }
#endif
  return 0;
}

int Size() {
#ifdef LTR_HAVE_MPI
  if (MpiActive()) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
  }
#endif
  return 1;
}

bool IsRoot() { return Rank() == 0; }

#ifdef LTR_HAVE_MPI
// The one communicator there is today; a sub-communicator would be a member.
static MPI_Comm Handle(const Communicator*) { return MPI_COMM_WORLD; }
#endif

int Communicator::rank() const {
#ifdef LTR_HAVE_MPI
  int rank = 0;
  MPI_Comm_rank(Handle(this), &rank);
  return rank;
#else
  return 0;
#endif
}

int Communicator::size() const {
#ifdef LTR_HAVE_MPI
  int size = 1;
  MPI_Comm_size(Handle(this), &size);
  return size;
#else
  return 1;
#endif
}

const Communicator* World() {
#ifdef LTR_HAVE_MPI
  static const Communicator world;
  if (MpiActive()) return &world;
#endif
  return nullptr;
}

void Buffer::PutDouble(double v) {
  bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void Buffer::PutInt(std::int64_t v) {
  bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void Buffer::PutString(const std::string& s) {
  PutInt(static_cast<std::int64_t>(s.size()));
  bytes_.append(s);
}

void Buffer::PutDoubles(const std::vector<double>& v) {
  PutInt(static_cast<std::int64_t>(v.size()));
  bytes_.append(reinterpret_cast<const char*>(v.data()),
                v.size() * sizeof(double));
}

void Buffer::PutMatrix(const Matrix& m) {
  PutInt(m.rows());
  PutInt(m.cols());
  bytes_.append(reinterpret_cast<const char*>(m.data()),
                static_cast<size_t>(m.size()) * sizeof(double));
}

void Buffer::PutVector(const Vector& v) {
  PutInt(v.size());
  bytes_.append(reinterpret_cast<const char*>(v.data()),
                static_cast<size_t>(v.size()) * sizeof(double));
}

void Buffer::Read(void* out, size_t n) {
  if (bytes_.size() - read_ < n)
    throw Error("distributed: a task result is shorter than expected (" +
                std::to_string(bytes_.size()) + " bytes)");
  // memcpy with a null `out` (an empty vector's data()) is undefined even
  // for n = 0 (found by UBSan, scripts/sanitize.sh).
  if (n > 0) std::memcpy(out, bytes_.data() + read_, n);
  read_ += n;
}

double Buffer::GetDouble() {
  double v = 0;
  Read(&v, sizeof v);
  return v;
}

std::int64_t Buffer::GetInt() {
  std::int64_t v = 0;
  Read(&v, sizeof v);
  return v;
}

std::string Buffer::GetString() {
  const std::int64_t n = GetInt();
  if (n < 0) throw Error("distributed: negative string length in a result");
  std::string s(static_cast<size_t>(n), '\0');
  Read(s.data(), s.size());
  return s;
}

std::vector<double> Buffer::GetDoubles() {
  const std::int64_t n = GetInt();
  if (n < 0) throw Error("distributed: negative length in a result");
  std::vector<double> v(static_cast<size_t>(n));
  Read(v.data(), v.size() * sizeof(double));
  return v;
}

Matrix Buffer::GetMatrix() {
  const std::int64_t rows = GetInt(), cols = GetInt();
  if (rows < 0 || cols < 0)
    throw Error("distributed: negative matrix shape in a result");
  Matrix m(rows, cols);
  Read(m.data(), static_cast<size_t>(m.size()) * sizeof(double));
  return m;
}

Vector Buffer::GetVector() {
  const std::int64_t n = GetInt();
  if (n < 0) throw Error("distributed: negative length in a result");
  Vector v(n);
  Read(v.data(), static_cast<size_t>(v.size()) * sizeof(double));
  return v;
}

std::vector<std::optional<std::string>> RunTasks(
    const RunContext& run,
    int num_tasks,
    const std::function<std::string(int)>& task,
    const std::vector<char>* skip) {
  if (num_tasks < 0) throw Error("RunTasks: negative number of tasks");
  if (skip && static_cast<int>(skip->size()) != num_tasks)
    throw Error("RunTasks: the skip list has " + std::to_string(skip->size()) +
                " entries for " + std::to_string(num_tasks) + " tasks");
  const Communicator* comm = run.communicator;
  const int rank = comm ? comm->rank() : 0, size = comm ? comm->size() : 1;
  std::vector<std::optional<std::string>> results(num_tasks);
  std::string failure;
  int pending = 0;  // index among the tasks not skipped
  for (int i = 0; i < num_tasks; ++i) {
    if (skip && (*skip)[i]) continue;
    if (pending++ % size != rank) continue;
    if (run.cancelled() || !failure.empty()) continue;
    try {
      std::string bytes = task(i);
      if (!run.cancelled()) results[i] = std::move(bytes);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  }
  if (size > 1) {
#ifdef LTR_HAVE_MPI
    // One record per completed task: index, length, bytes; a failure is the
    // record with index -1, a pending interrupt (its signal) index -2.
    Buffer local;
    if (run.cancelled()) {
      local.PutInt(-2);
      local.PutString(std::to_string(run.cancellation->reason()));
    }
    if (!failure.empty()) {
      local.PutInt(-1);
      local.PutString(failure);
    }
    for (int i = 0; i < num_tasks; ++i) {
      if (!results[i]) continue;
      local.PutInt(i);
      local.PutString(*results[i]);
    }
    const std::string& mine = local.bytes();
    if (mine.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
      throw Error("RunTasks: a process's results exceed 2 GB");
    int count = static_cast<int>(mine.size());
    std::vector<int> counts(size), offsets(size);
    MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, Handle(comm));
    long long total = 0;
    for (int p = 0; p < size; ++p) {
      offsets[p] = static_cast<int>(total);
      total += counts[p];
    }
    if (total > std::numeric_limits<int>::max())
      throw Error("RunTasks: the gathered results exceed 2 GB");
    std::string all(static_cast<size_t>(total), '\0');
    MPI_Allgatherv(mine.data(),
                   count,
                   MPI_BYTE,
                   all.data(),
                   counts.data(),
                   offsets.data(),
                   MPI_BYTE,
                   Handle(comm));
    Buffer in(std::move(all));
    size_t consumed = 0;
    failure.clear();
    while (consumed < in.bytes().size()) {
      const std::int64_t i = in.GetInt();
      std::string bytes = in.GetString();
      consumed += 2 * sizeof(std::int64_t) + bytes.size();
      if (i == -2) {
        // Another process was interrupted: so is this run.
        if (run.cancellation) run.cancellation->Cancel(std::stoi(bytes));
      } else if (i < 0) {
        if (failure.empty()) failure = bytes;
      } else if (i < num_tasks) {
        results[static_cast<size_t>(i)] = std::move(bytes);
      }
    }
#endif
  }
  if (!failure.empty()) throw Error(failure);
  return results;
}

}  // namespace ltr::distributed
