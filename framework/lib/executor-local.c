/* The local executor: one worker process per task (worker.h), as many at
 * once as the cores and memory allow. */
#include "executor.h"

#include <signal.h>
#include <unistd.h>

#include "clock.h"
#include "worker.h"

typedef struct {
  guint64 id;
  const StrandTaskSpec *spec;
  StrandWorker *worker;
  guint cores;
  guint64 memory;
  gint64 deadline; /* its time limit; G_MAXINT64: none */
  gint64 kill_at;  /* SIGKILL after the grace period; G_MAXINT64: not asked to stop */
  int poll_index;  /* in the last prepare()'s array, or -1 */
  gboolean pipe_done;
} Running;

typedef struct {
  StrandExecutor parent;
  guint jobs;
  guint64 memory;
  gint64 grace_us;
  guint cores_used;
  guint64 memory_used;
  GPtrArray *running; /* Running */
} LocalExecutor;

static guint
task_cores (LocalExecutor *x, const StrandTaskSpec *spec)
{
  return MIN (MAX (spec->cores, 1u), x->jobs);
}

static gboolean
local_can_start (StrandExecutor *executor, const StrandTaskSpec *spec)
{
  LocalExecutor *x = (LocalExecutor *) executor;
  if (x->running->len == 0)
    return TRUE; /* whatever its size, it runs when alone */
  return x->cores_used + task_cores (x, spec) <= x->jobs &&
         x->memory_used + spec->memory_bytes <= x->memory;
}

static gboolean
local_submit (StrandExecutor *executor, guint64 id, const StrandTaskSpec *spec,
              StrandErrorClass *error_class, GError **error)
{
  LocalExecutor *x = (LocalExecutor *) executor;
  StrandWorker *worker = strand_worker_start (spec, error_class, error);
  if (worker == NULL)
    return FALSE;
  Running *r = g_new0 (Running, 1);
  r->id = id;
  r->spec = spec;
  r->worker = worker;
  r->cores = task_cores (x, spec);
  r->memory = spec->memory_bytes;
  r->deadline = spec->timeout_us > 0 ? strand_clock_monotonic_us () + spec->timeout_us : G_MAXINT64;
  r->kill_at = G_MAXINT64;
  r->poll_index = -1;
  x->cores_used += r->cores;
  x->memory_used += r->memory;
  g_ptr_array_add (x->running, r);
  return TRUE;
}

static gint64
local_prepare (StrandExecutor *executor, GArray *pollfds)
{
  LocalExecutor *x = (LocalExecutor *) executor;
  gint64 next = G_MAXINT64;
  guint first = pollfds->len;
  for (guint i = 0; i < x->running->len; i++)
    {
      Running *r = x->running->pdata[i];
      int fd = r->pipe_done ? strand_worker_pidfd (r->worker) : strand_worker_fd (r->worker);
      r->poll_index = -1;
      if (fd >= 0)
        {
          struct pollfd p = { .fd = fd, .events = POLLIN };
          r->poll_index = (int) (pollfds->len - first);
          g_array_append_val (pollfds, p);
        }
      next = MIN (next, MIN (r->deadline, r->kill_at));
      if (r->pipe_done && fd < 0)
        next = MIN (next, strand_clock_monotonic_us () + 1000); /* no pidfd: look again soon */
    }
  return next;
}

static void
finish (LocalExecutor *x, guint i, GArray *events)
{
  Running *r = x->running->pdata[i];
  StrandExecutorEvent ev = { r->id, strand_worker_finish (r->worker) };
  g_array_append_val (events, ev);
  x->cores_used -= r->cores;
  x->memory_used -= r->memory;
  g_ptr_array_remove_index (x->running, i);
  g_free (r);
}

static void
local_dispatch (StrandExecutor *executor, GArray *pollfds, guint first, GArray *events)
{
  LocalExecutor *x = (LocalExecutor *) executor;
  gint64 now = strand_clock_monotonic_us ();
  for (guint i = 0; i < x->running->len;)
    {
      Running *r = x->running->pdata[i];
      short revents = 0;
      if (r->poll_index >= 0 && (guint) r->poll_index + first < pollfds->len)
        revents = g_array_index (pollfds, struct pollfd, (guint) r->poll_index + first).revents;
      r->poll_index = -1;
      if (!r->pipe_done && revents && !strand_worker_read (r->worker))
        r->pipe_done = TRUE;
      if (r->pipe_done && strand_worker_reap (r->worker, FALSE))
        {
          finish (x, i, events);
          continue;
        }
      if (now >= r->kill_at)
        {
          strand_worker_kill (r->worker, SIGKILL, STRAND_KILL_CANCEL);
          r->kill_at = G_MAXINT64;
        }
      else if (now >= r->deadline)
        {
          strand_worker_kill (r->worker, SIGTERM, STRAND_KILL_TIMEOUT);
          r->deadline = G_MAXINT64;
          r->kill_at = now + x->grace_us;
        }
      i++;
    }
}

static void
local_cancel (StrandExecutor *executor, guint64 id, gboolean force)
{
  LocalExecutor *x = (LocalExecutor *) executor;
  for (guint i = 0; i < x->running->len; i++)
    {
      Running *r = x->running->pdata[i];
      if (r->id != id)
        continue;
      strand_worker_kill (r->worker, force ? SIGKILL : SIGTERM, STRAND_KILL_CANCEL);
      if (!force && r->kill_at == G_MAXINT64)
        r->kill_at = strand_clock_monotonic_us () + x->grace_us;
    }
}

static guint
local_running (StrandExecutor *executor)
{
  return ((LocalExecutor *) executor)->running->len;
}

static guint
local_capacity (StrandExecutor *executor)
{
  return ((LocalExecutor *) executor)->jobs;
}

static void
local_free (StrandExecutor *executor)
{
  LocalExecutor *x = (LocalExecutor *) executor;
  for (guint i = 0; i < x->running->len; i++)
    {
      Running *r = x->running->pdata[i];
      strand_worker_free (r->worker);
      g_free (r);
    }
  g_ptr_array_unref (x->running);
  g_free (x);
}

static const StrandExecutorClass local_class = {
  .name = "local",
  .can_start = local_can_start,
  .submit = local_submit,
  .prepare = local_prepare,
  .dispatch = local_dispatch,
  .cancel = local_cancel,
  .running = local_running,
  .capacity = local_capacity,
  .free = local_free,
};

StrandExecutor *
strand_executor_local_new (guint jobs, guint64 memory_bytes, gint64 grace_us)
{
  LocalExecutor *x = g_new0 (LocalExecutor, 1);
  x->parent.klass = &local_class;
  long cores = sysconf (_SC_NPROCESSORS_ONLN);
  x->jobs = jobs ? jobs : (guint) MAX (cores, 1);
  if (memory_bytes == 0)
    memory_bytes = (guint64) sysconf (_SC_PHYS_PAGES) * (guint64) sysconf (_SC_PAGESIZE);
  x->memory = memory_bytes;
  x->grace_us = grace_us > 0 ? grace_us : 10 * G_USEC_PER_SEC;
  x->running = g_ptr_array_new ();
  return &x->parent;
}
