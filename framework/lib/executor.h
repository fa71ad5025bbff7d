/* Executors: where tasks run. The run loop (runner.h) hands an executor
 * task specs and learns, through events, when each one ended; it never
 * waits on one task. An executor is a vtable so that the local one (worker
 * processes on this machine) and a cluster one (pilot jobs that fetch task
 * specs as JSON, task.h) are driven the same way; whatever the executor,
 * the host alone writes the store's records.
 *
 * The loop is poll(2)-driven: prepare() adds the executor's descriptors to
 * the loop's poll set and says when its next deadline is (a timeout, the
 * end of a grace period), the loop polls, and dispatch() handles what became
 * readable or due and appends one event per finished task. */
#pragma once

#include <poll.h>

#include "task.h"

G_BEGIN_DECLS

typedef struct StrandExecutor StrandExecutor;

typedef struct {
  guint64 id;               /* the id the task was submitted with */
  StrandTaskResult *result; /* owned by whoever takes the event */
} StrandExecutorEvent;

typedef struct {
  const char *name;
  /* TRUE when `spec` fits in what is free now. */
  gboolean (*can_start) (StrandExecutor *executor, const StrandTaskSpec *spec);
  /* Starts it; `spec` must stay alive until its event. FALSE (with a class)
   * when it could not start at all. */
  gboolean (*submit) (StrandExecutor *executor, guint64 id, const StrandTaskSpec *spec,
                      StrandErrorClass *error_class, GError **error);
  /* Appends struct pollfd entries; returns its next deadline (monotonic
   * clock, clock.h), G_MAXINT64 for none. */
  gint64 (*prepare) (StrandExecutor *executor, GArray *pollfds);
  /* Handles pollfds[first..] as prepare() left them (revents filled) and
   * deadlines due; appends StrandExecutorEvent to `events`. */
  void (*dispatch) (StrandExecutor *executor, GArray *pollfds, guint first, GArray *events);
  /* Asks a task to stop (SIGTERM, then a kill after the grace period);
   * `force` kills at once. Its event follows as usual. */
  void (*cancel) (StrandExecutor *executor, guint64 id, gboolean force);
  guint (*running) (StrandExecutor *executor);
  /* Tasks it can run at once. */
  guint (*capacity) (StrandExecutor *executor);
  /* Kills and reaps what still runs; frees. */
  void (*free) (StrandExecutor *executor);
} StrandExecutorClass;

struct StrandExecutor {
  const StrandExecutorClass *klass;
};

gboolean strand_executor_can_start (StrandExecutor *executor, const StrandTaskSpec *spec);
gboolean strand_executor_submit (StrandExecutor *executor, guint64 id, const StrandTaskSpec *spec,
                                 StrandErrorClass *error_class, GError **error);
gint64 strand_executor_prepare (StrandExecutor *executor, GArray *pollfds);
void strand_executor_dispatch (StrandExecutor *executor, GArray *pollfds, guint first,
                               GArray *events);
void strand_executor_cancel (StrandExecutor *executor, guint64 id, gboolean force);
guint strand_executor_running (StrandExecutor *executor);
guint strand_executor_capacity (StrandExecutor *executor);
void strand_executor_free (StrandExecutor *executor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandExecutor, strand_executor_free)

/* Worker processes on this machine (worker.h): at most `jobs` tasks at
 * once (0: the machine's online cores), a task of C cores taking C of
 * them, and their memory within `memory_bytes` (0: the machine's physical
 * memory); a task larger than either still runs, alone. `grace_us`: how
 * long a worker asked to stop (cancel, timeout) has before SIGKILL. */
StrandExecutor *strand_executor_local_new (guint jobs, guint64 memory_bytes, gint64 grace_us);

G_END_DECLS
