// How every binding runs a library computation, so that a long call behaves
// in Python: the GIL is released and the work runs on a worker thread while
// the calling thread watches for Ctrl-C (which cancels the run's token and
// raises KeyboardInterrupt once the library has stopped); progress lines go
// to a callable or to the `ltr` logger; threads default to every usable core.
#ifndef LTR_PYTHON_CALL_H_
#define LTR_PYTHON_CALL_H_

#include <pybind11/pybind11.h>

#include <exception>
#include <functional>
#include <optional>
#include <utility>

#include "ltr/core/run_context.h"

namespace ltr::python {

namespace py = pybind11;

// The run context of one call. threads: None (every core this process may
// use) or an int >= 1. progress: None (logging.getLogger("ltr").info),
// False (silent) or a callable taking one str.
class Call {
 public:
  Call(const py::object& threads, const py::object& progress);
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  const RunContext& run() const { return run_; }

  // Runs work(run()) with the GIL released and returns its result. Raises
  // KeyboardInterrupt if Ctrl-C came during the call (the library's result,
  // incomplete, is dropped), re-raises an exception of the progress callable,
  // and turns library errors into Python exceptions (errors.h).
  template <typename Work>
  auto operator()(Work&& work) -> decltype(work(std::declval<RunContext>())) {
    std::optional<decltype(work(run_))> result;
    RunReleased([&] { result.emplace(work(run_)); });
    return std::move(*result);
  }

 private:
  void RunReleased(const std::function<void()>& job);
  void ReportProgress(const std::string& line);

  CancellationToken token_;
  RunContext run_;
  py::object progress_;  // None, False or a callable
  std::exception_ptr progress_error_;
};

// The int the library takes for `threads` (None: every usable core).
int ResolveThreads(const py::object& threads);

}  // namespace ltr::python

#endif  // LTR_PYTHON_CALL_H_
