// Cooperative interruption: SIGINT and SIGTERM set a flag that long loops
// (fits, training, ensembles) poll between iterations, so they can write a
// checkpoint and a readable partial output before the command exits.
//
// A second signal while the first is being handled restores the default
// action and re-raises it, so a user can always force an exit.
#ifndef LTR_INTERRUPT_H_
#define LTR_INTERRUPT_H_

namespace ltr {

// Installs the handlers for SIGINT and SIGTERM (idempotent).
void InstallInterruptHandlers();

// True once a handled signal arrived (or RequestInterrupt was called).
bool InterruptRequested();

// The signal number that set the flag (SIGINT, SIGTERM), 0 when not set.
int InterruptSignal();

// For tests and for library callers that want to stop a run themselves.
void RequestInterrupt(int signal_number);
void ClearInterrupt();

// Exit status of a command stopped by signal s, as shells report it: 128 + s.
int InterruptExitStatus();

}  // namespace ltr

#endif  // LTR_INTERRUPT_H_
