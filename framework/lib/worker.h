/* Running one task in an isolated worker process.
 *
 * The host starts a worker (the worker program, or a fork of itself) that
 * opens the plugin, lends it the host function
 * table (host-table.h) and calls its run(). The worker reports logs, metrics,
 * tools used, outputs and its verdict as JSON lines over a pipe; its stdout
 * and stderr go to the task's log file. A plugin that crashes, hangs or exits
 * takes only its worker down: the host classifies what happened from the exit
 * status, the signal, its resource use and what the worker said (policy.h).
 *
 * Limits the worker sets on itself before run(): its address space
 * (RLIMIT_AS: what it had after loading the plugin plus the task's memory,
 * less the free heap it inherited; an approximation, since a forked worker
 * may also reuse memory the host had unmapped from view; not under
 * AddressSanitizer, which reserves terabytes) and, where a
 * delegated cgroup v2 with the memory controller is writable ($STRAND_CGROUP
 * or the host's own), a cgroup per task with memory.max, whose
 * memory.events tells of OOM kills. It dies with the host (PR_SET_PDEATHSIG).
 * A task that declares scratch is held to it while it runs by a thread of
 * the worker (worker-scratch.h).
 * Inputs marked `verify` are re-hashed first: a digest mismatch fails the
 * task as an integrity violation before the stage sees a byte.
 *
 * A worker is driven by its owner's event loop: poll strand_worker_fd() (and
 * strand_worker_pidfd(), when there is one) and call strand_worker_read();
 * when that returns FALSE the worker has closed its pipe: reap it with
 * strand_worker_reap() and take the result with strand_worker_finish(). */
#pragma once

#include <sys/types.h>

#include "policy.h"
#include "task.h"

G_BEGIN_DECLS

typedef struct StrandWorker StrandWorker;

/* Forks the worker for `spec`, which must outlive it. Fails (with a class
 * in `error_class`) only when nothing could start: no work directory, no
 * scratch space, no fork. */
StrandWorker *strand_worker_start (const StrandTaskSpec *spec, StrandErrorClass *error_class,
                                   GError **error);
/* The read end of the report pipe; -1 once it reached its end. */
int strand_worker_fd (StrandWorker *worker);
/* A pidfd that becomes readable when the process ends; -1 when the kernel
 * has none (then reap blocks briefly after the pipe closes). */
int strand_worker_pidfd (StrandWorker *worker);
/* Reads what is available; FALSE once the pipe is at its end. */
gboolean strand_worker_read (StrandWorker *worker);
/* Collects the exit status once the process ended; `block` waits for it.
 * TRUE once reaped. */
gboolean strand_worker_reap (StrandWorker *worker, gboolean block);
/* Sends `sig`, remembering why (a later classification of its end). */
void strand_worker_kill (StrandWorker *worker, int sig, StrandKillReason why);
/* The result (outputs checked to exist; storing them is the caller's), and
 * the worker freed. Reaps first, blocking, if needed. */
StrandTaskResult *strand_worker_finish (StrandWorker *worker);
/* Frees a worker that was not finished: kills and reaps it. */
void strand_worker_free (StrandWorker *worker);

/* Runs `spec` to its end, waiting for it (timeout included). Never fails as
 * a whole: what went wrong is in the result. */
StrandTaskResult *strand_worker_run (const StrandTaskSpec *spec);

/* Validation (plugin-validate.h): a worker that calls the validate callback
 * of specs[first..] (tasks of one plugin, each with a work_dir that need not
 * exist) in order, and writes nothing of its own: output_path() is refused,
 * what the plugin prints is discarded, no core is dumped, and its address
 * space is bounded. It reports {"t":"loaded"} once the plugin is open,
 * then what each callback says through host->fail() as during a run,
 * followed by {"t":"end","task":I,"status":RC} (I the index into `specs`);
 * it exits 0 after the last. Returns the process, the read end of its report
 * pipe in `report_fd`; -1 and `error` when no process could start. The
 * caller reads, kills and reaps it. */
pid_t strand_worker_start_checks (GPtrArray *specs, guint first, int *report_fd, GError **error);

/* The main of the worker program (strand-worker), which the host starts
 * with the task as JSON on a descriptor (task.h) when it is installed, or
 * named by $STRAND_WORKER ("" forks workers from the host instead): a
 * worker then costs the host a vfork and an exec, whatever the host's own
 * size. Not for people: it refuses to run without the host's arguments. */
int strand_worker_exec_main (int argc, char **argv);

G_END_DECLS
