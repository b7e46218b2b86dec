#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace ltr::internal {
namespace {

// One call of RunBlocks: its blocks are claimed in order by whichever
// threads get to them first.
struct Job {
  const std::function<void(int)>* run;
  int blocks;
  int next = 0;      // first unclaimed block
  int finished = 0;  // blocks done
  std::vector<std::exception_ptr> errors;
  std::condition_variable done;
};

// Set on a thread while it runs a block: loops started there run serially.
thread_local bool inside_block = false;

// Threads are started on first need and then sleep until there is work;
// they live as long as the process (never joined, so no exit-time ordering).
class Pool {
 public:
  void Run(Job* job) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (threads_ < job->blocks - 1) {
      std::thread([this] { Work(); }).detach();
      ++threads_;
    }
    jobs_.push_back(job);
    queued_.store(static_cast<int>(jobs_.size()), std::memory_order_release);
    lock.unlock();
    for (int b = 1; b < job->blocks; ++b) work_.notify_one();
    lock.lock();
    while (job->next < job->blocks) RunOne(job, &lock);
    job->done.wait(lock, [job] { return job->finished == job->blocks; });
  }

  int Threads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_;
  }

 private:
  // Claims the next block of *job and runs it with the lock released.
  void RunOne(Job* job, std::unique_lock<std::mutex>* lock) {
    const int b = job->next++;
    if (job->next == job->blocks) {
      jobs_.erase(std::find(jobs_.begin(), jobs_.end(), job));
      queued_.store(static_cast<int>(jobs_.size()), std::memory_order_release);
    }
    lock->unlock();
    inside_block = true;
    try {
      (*job->run)(b);
    } catch (...) {
      job->errors[b] = std::current_exception();
    }
    inside_block = false;
    lock->lock();
    if (++job->finished == job->blocks) job->done.notify_one();
  }

  void Work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (jobs_.empty()) {
        lock.unlock();
        AwaitBriefly();
        lock.lock();
      }
      work_.wait(lock, [this] { return !jobs_.empty(); });
      RunOne(jobs_.front(), &lock);
    }
  }

  // Before sleeping, a worker yields for a moment in case the next loop
  // follows at once (as in CP-ALS sweeps): on an idle machine it then starts
  // its block without a wake-up's delay; on a busy one yield() gives the
  // core away, so this costs the others nothing, and the worker sleeps soon.
  void AwaitBriefly() {
    const auto end =
        std::chrono::steady_clock::now() + std::chrono::microseconds(1000);
    while (queued_.load(std::memory_order_acquire) == 0 &&
           std::chrono::steady_clock::now() < end)
      std::this_thread::yield();
  }

  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<Job*> jobs_;       // jobs with unclaimed blocks
  std::atomic<int> queued_{0};  // jobs_.size(), read without the lock
  int threads_ = 0;
};

Pool& ThePool() {
  static Pool* pool = new Pool;  // never destroyed: see Pool
  return *pool;
}

}  // namespace

void RunBlocks(int blocks, const std::function<void(int)>& run) {
  if (blocks <= 1 || inside_block) {
    for (int b = 0; b < blocks; ++b) run(b);
    return;
  }
  Job job;
  job.run = &run;
  job.blocks = blocks;
  job.errors.resize(blocks);
  ThePool().Run(&job);
  for (const std::exception_ptr& e : job.errors)
    if (e) std::rethrow_exception(e);
}

int PoolThreads() { return ThePool().Threads(); }

}  // namespace ltr::internal
