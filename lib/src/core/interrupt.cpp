#include "ltr/core/interrupt.h"

#include <signal.h>

#include <atomic>
#include <csignal>

namespace ltr {
namespace {

// Lock-free atomics are async-signal-safe; a plain int would not be.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free,
              "the interrupt flag must be usable from a signal handler");

extern "C" void HandleInterrupt(int signal_number) {
  if (g_signal.load() != 0) {
    // Second signal: the user insists. Default action, re-raised.
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  g_signal.store(signal_number);
}

}  // namespace

void InstallInterruptHandlers() {
  struct sigaction action {};
  action.sa_handler = HandleInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // slow system calls (HDF5 writes) continue
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool InterruptRequested() { return g_signal.load() != 0; }

int InterruptSignal() { return g_signal.load(); }

void RequestInterrupt(int signal_number) { g_signal.store(signal_number); }

void ClearInterrupt() { g_signal.store(0); }

int InterruptExitStatus() { return 128 + g_signal.load(); }

}  // namespace ltr
