#include "commands.h"
#include "ltr/core/distributed.h"
#include "ltr/core/interrupt.h"

int main(int argc, char** argv) {
  // MPI_Init/Finalize when started by mpirun and built with MPI.
  ltr::distributed::Session mpi(&argc, &argv);
  // SIGINT / SIGTERM only set a flag that fit and train poll, so they can
  // write a checkpoint and a readable partial output before exiting with
  // 128 + signal; a second signal kills at once. Installed here, not in
  // RunMain, so tests that call the commands in-process keep the defaults.
  ltr::InstallInterruptHandlers();
  return ltr::RunMain(argc, argv);
}
