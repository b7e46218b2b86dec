#include "commands.h"
#include "ltr/core/distributed.h"
#include "signals.h"

int main(int argc, char** argv) {
  // MPI_Init/Finalize when started by mpirun and built with MPI.
  ltr::distributed::Session mpi(&argc, &argv);
  // SIGINT / SIGTERM only cancel the token every command passes to the
  // library (tools/signals.h), so a run can write its partial output before
  // exiting with 128 + signal; a second signal kills at once. Installed
  // here, not in RunMain, so tests that call the commands in-process keep
  // the defaults.
  ltr::cli::InstallSignalHandlers();
  return ltr::RunMain(argc, argv);
}
