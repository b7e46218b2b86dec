#include "signals.h"

#include <signal.h>

#include <csignal>
#include <iostream>

#include "cli.h"
#include "ltr/core/distributed.h"

namespace ltr::cli {
namespace {

CancellationToken g_signal_token;

extern "C" void HandleSignal(int signal_number) {
  if (g_signal_token.cancelled()) {
    // Second signal: the user insists. Default action, re-raised.
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  g_signal_token.Cancel(signal_number);
}

}  // namespace

void InstallSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = HandleSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // slow system calls (HDF5 writes) continue
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

CancellationToken& SignalToken() { return g_signal_token; }

int SignalExitStatus() { return 128 + g_signal_token.reason(); }

RunContext CommandContext(int threads, bool progress) {
  RunContext run;
  run.num_threads = ResolveThreads(threads);
  run.cancellation = &g_signal_token;
  run.communicator = distributed::World();
  if (progress)
    run.progress = [](const std::string& line) {
      std::cerr << line << std::endl;
    };
  return run;
}

}  // namespace ltr::cli
