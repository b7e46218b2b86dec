#include "call.h"

#include <chrono>
#include <csignal>
#include <future>
#include <string>
#include <thread>

#include "ltr/core/error.h"

namespace ltr::python {

namespace {

// How often the waiting thread looks for Ctrl-C: well within the second a
// user waits, and too rare to cost anything.
constexpr std::chrono::milliseconds kSignalPoll{50};

}  // namespace

int ResolveThreads(const py::object& threads) {
  if (threads.is_none()) return UsableCores();
  if (py::isinstance<py::bool_>(threads) || !py::isinstance<py::int_>(threads))
    throw py::type_error("threads must be None or an int >= 1, not " +
                         std::string(py::str(py::type::of(threads))));
  const long value = threads.cast<long>();
  if (value < 1)
    throw py::value_error("threads must be >= 1 (None: every core), got " +
                          std::to_string(value));
  return static_cast<int>(value);
}

Call::Call(const py::object& threads, const py::object& progress)
    : progress_(progress) {
  run_.num_threads = ResolveThreads(threads);
  run_.cancellation = &token_;
  const bool silent =
      py::isinstance<py::bool_>(progress) && !progress.cast<bool>();
  if (!progress.is_none() && !silent && !PyCallable_Check(progress.ptr()))
    throw py::type_error(
        "progress must be None (the 'ltr' logger), False or a callable");
  if (!silent)
    run_.progress = [this](const std::string& line) { ReportProgress(line); };
}

// Called by the library on the worker thread; a failing callable cancels
// the run and its exception is raised when the call returns.
void Call::ReportProgress(const std::string& line) {
  py::gil_scoped_acquire gil;
  if (progress_error_) return;
  try {
    if (progress_.is_none())
      py::module_::import("logging").attr("getLogger")("ltr").attr("info")(
          line);
    else
      progress_(line);
  } catch (py::error_already_set&) {
    progress_error_ = std::current_exception();
    token_.Cancel();
  }
}

void Call::RunReleased(const std::function<void()>& job) {
  std::exception_ptr failure;
  bool interrupted = false;
  {
    py::gil_scoped_release release;
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    std::thread worker([&] {
      try {
        job();
      } catch (...) {
        failure = std::current_exception();
      }
      done.set_value();
    });
    while (finished.wait_for(kSignalPoll) != std::future_status::ready) {
      if (interrupted) continue;
      py::gil_scoped_acquire gil;
      // Runs Python's SIGINT handler; -1 leaves KeyboardInterrupt pending.
      if (PyErr_CheckSignals() != 0) {
        interrupted = true;
        token_.Cancel(SIGINT);
      }
    }
    worker.join();
  }
  if (interrupted) throw py::error_already_set();
  if (progress_error_) std::rethrow_exception(progress_error_);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace ltr::python
