// Scale-out over processes: an ensemble, a cross-validation or a rank sweep
// is a list of independent tasks whose results depend only on the task (its
// seed comes from the base seed and the task index), so P processes started
// by `mpirun -np P ltr ...` can share them and still produce the output of a
// single process, bit for bit.
//
// RunTasks gives each process a static round-robin share of the tasks and
// gathers the serialised results to every process; rank 0 alone writes
// output files. Without MPI (built with LTR_MPI=OFF, or not started by
// mpirun) there is one process and RunTasks runs every task locally.
// Threads per process are whatever the caller's options say.
#ifndef LTR_DISTRIBUTED_H_
#define LTR_DISTRIBUTED_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ltr/core/run_context.h"
#include "ltr/core/tensor.h"

namespace ltr::distributed {

// True when libltr was built with MPI.
bool BuiltWithMpi();

// MPI_Init on construction and MPI_Finalize on destruction, when libltr was
// built with MPI and the process was started by an MPI launcher (mpirun,
// mpiexec, srun); otherwise nothing, so a plain `ltr ...` pays no MPI
// start-up. One per process, in main().
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

// This process's index in [0, Size()) and the number of processes: the MPI
// world when MPI is initialised, else 0 and 1.
int Rank();
int Size();
// Rank() == 0: the process that prints reports and writes output files.
bool IsRoot();

// The processes of an MPI run that share its tasks (today: the MPI world).
// A RunContext names one, or none for a run on this process alone; the
// library never looks up the MPI world by itself.
class Communicator {
 public:
  int rank() const;
  int size() const;
};

// The MPI world when MPI is initialised (ltr started by mpirun), else
// nullptr: what the tool puts in RunContext::communicator.
const Communicator* World();

// Serialisation of a task's result: values appended in order, read back in
// the same order. Doubles keep their bits.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::string bytes) : bytes_(std::move(bytes)) {}

  void PutDouble(double v);
  void PutInt(std::int64_t v);
  void PutString(const std::string& s);
  void PutDoubles(const std::vector<double>& v);
  void PutMatrix(const Matrix& m);
  void PutVector(const Vector& v);

  // Throw ltr::Error when the buffer has fewer bytes than asked for.
  double GetDouble();
  std::int64_t GetInt();
  std::string GetString();
  std::vector<double> GetDoubles();
  Matrix GetMatrix();
  Vector GetVector();

  const std::string& bytes() const { return bytes_; }
  std::string&& Release() { return std::move(bytes_); }

 private:
  void Read(void* out, size_t n);
  std::string bytes_;
  size_t read_ = 0;
};

// Runs the tasks [0, num_tasks) for which skip is absent or skip[i] == 0,
// shared among the processes of run.communicator (none: every task on this
// process): the k-th of them on process k % size. Returns, on every
// process, each task's result (task(i)'s bytes) or nothing for a task not
// run.
//
// Cancellation (run.cancellation): once cancelled, a process starts no
// further task, and a task that returns while cancelled is dropped, since
// it may have stopped early; the results of the completed tasks are still
// gathered, and a cancellation on one process cancels the token on all. A
// task that throws makes RunTasks throw ltr::Error with the first failure's
// message on every process.
std::vector<std::optional<std::string>> RunTasks(
    const RunContext& run,
    int num_tasks,
    const std::function<std::string(int)>& task,
    const std::vector<char>* skip = nullptr);

}  // namespace ltr::distributed

#endif  // LTR_DISTRIBUTED_H_
