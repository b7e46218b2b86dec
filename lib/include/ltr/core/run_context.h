// How a caller runs a library computation: on how many threads, whether and
// when to stop, where progress goes and which processes share the work. Every
// long entry point takes one in its Options (field `run`), so the library
// itself never prints, never reads a process-wide flag and never decides on
// its own to talk to MPI. The `ltr` tool fills one from --threads, its signal
// handler and a progress printer; a Python caller or a test fills its own.
#ifndef LTR_CORE_RUN_CONTEXT_H_
#define LTR_CORE_RUN_CONTEXT_H_

#include <atomic>
#include <functional>
#include <string>

namespace ltr {

namespace distributed {
class Communicator;
}

// A request to stop, set from any thread or from a signal handler (lock-free
// atomics are async-signal-safe). Long loops poll it between iterations and
// return what they have, marked incomplete, so the caller can write a
// partial output. The reason is the caller's (the tool stores the signal
// number); it is nonzero once cancelled.
class CancellationToken {
 public:
  void Cancel(int reason = 1) noexcept {
    int none = 0;
    reason_.compare_exchange_strong(none, reason == 0 ? 1 : reason);
  }
  bool cancelled() const noexcept { return reason_.load() != 0; }
  int reason() const noexcept { return reason_.load(); }
  void Reset() noexcept { reason_.store(0); }

 private:
  std::atomic<int> reason_{0};
  static_assert(std::atomic<int>::is_always_lock_free,
                "a token must be usable from a signal handler");
};

// One line of progress ("rank 3 restart 2: relative error 0.105"), without
// a trailing newline; the callback decides where it goes.
using ProgressCallback = std::function<void(const std::string& line)>;

struct RunContext {
  // Threads of every parallel loop; the same count gives the same bits.
  // Resolved by the caller (>= 1; the tool maps --threads 0 to the cores it
  // may use).
  int num_threads = 1;
  // Polled between iterations; none: the run is never cancelled.
  CancellationToken* cancellation = nullptr;
  // Called on the calling thread; none: silent.
  ProgressCallback progress;
  // The processes that share the independent tasks of an ensemble, a sweep
  // or a cross-validation (distributed::World() under mpirun); none: this
  // process runs every task.
  const distributed::Communicator* communicator = nullptr;

  bool cancelled() const {
    return cancellation != nullptr && cancellation->cancelled();
  }
  void Report(const std::string& line) const {
    if (progress) progress(line);
  }
  // The same context with another thread count (a nested loop's share).
  RunContext WithThreads(int threads) const {
    RunContext copy = *this;
    copy.num_threads = threads;
    return copy;
  }
};

// The cores this process may run on (its CPU affinity, which taskset, cgroups
// and batch schedulers narrow), at least 1: what a caller passes as
// num_threads when the user asks for every core.
int UsableCores();

}  // namespace ltr

#endif  // LTR_CORE_RUN_CONTEXT_H_
