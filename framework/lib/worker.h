/* Running one task in an isolated worker process.
 *
 * The host forks a worker that opens the plugin, lends it the host function
 * table (host-table.h) and calls its run(). The worker reports logs, metrics,
 * tools used, outputs and its verdict as JSON lines over a pipe; its stdout
 * and stderr go to the task's log file. A plugin that crashes, hangs or exits
 * takes only its worker down: the host classifies what happened from the exit
 * status, the signal and what the worker said. */
#pragma once

#include "task.h"

G_BEGIN_DECLS

/* Runs `spec` and waits for it. Never fails as a whole: what went wrong is in
 * the result. Outputs are checked to exist; storing (and hashing) them is the
 * caller's. */
StrandTaskResult *strand_worker_run (const StrandTaskSpec *spec);

G_END_DECLS
