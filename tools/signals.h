// The tool's side of cancellation: SIGINT and SIGTERM cancel one token that
// every command passes to the library in its RunContext, so long loops stop
// at the next iteration and the command writes its partial output before it
// exits with 128 + signal. A second signal while the first is being handled
// restores the default action and re-raises it: a user can always force an
// exit.
#ifndef LTR_TOOLS_SIGNALS_H_
#define LTR_TOOLS_SIGNALS_H_

#include <string>

#include "ltr/core/run_context.h"

namespace ltr::cli {

// Installs the handlers (idempotent). main() does; tests that run commands
// in-process keep the default handlers and cancel the token themselves.
void InstallSignalHandlers();

// The token the handlers cancel, with the signal number as its reason.
CancellationToken& SignalToken();

// 128 + the signal that cancelled SignalToken(), as shells report it.
int SignalExitStatus();

// The context of a command: `threads` as --threads gives it (0 = every core
// this process may use), SignalToken(), the MPI world under mpirun, and
// progress lines printed to stderr as the library words them, one a line, when
// `progress` (they name their own step: "[2/5] ...", "iter 50 ...").
RunContext CommandContext(int threads, bool progress);

}  // namespace ltr::cli

#endif  // LTR_TOOLS_SIGNALS_H_
