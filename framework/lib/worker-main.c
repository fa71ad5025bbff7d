/* strand-worker: runs one task for the host (worker.h). */
#include "worker.h"

int
main (int argc, char **argv)
{
  return strand_worker_exec_main (argc, argv);
}
