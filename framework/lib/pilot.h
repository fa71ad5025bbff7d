/* A worker job's side of a cluster run: `strand worker`.
 *
 * The Slurm executor (executor-slurm.h) submits worker jobs ("pilots");
 * each runs this loop. It connects back to the host, proves it knows the
 * run's token and checks that the host does too (pilot-wire.h), then takes
 * task specs and runs each exactly as the host's own local executor would:
 * a forked, isolated worker process per task (worker.h) with the task's
 * limits and classification, as many at once as the job's cores and memory
 * hold (executor-local.c). Outputs go to the task's work directory, which
 * lies on storage the host shares; the result goes back over the
 * connection. The worker writes no record and touches no store: the host
 * is their only writer.
 *
 * Before it runs a plugin the worker checks the file against the digest
 * the host's registry recorded, so a node that sees another copy of the
 * plugin directory fails the task (a configuration error) instead of
 * running something else under the same name.
 *
 * It leaves when the host says so, when the host closed the connection or
 * has not been heard from for ten minutes (a host busy hashing a large
 * output may be silent for a while; its tasks are stopped: nothing runs for
 * a host that went away), and on SIGTERM or SIGINT (how
 * Slurm ends a job it cancels, preempts or times out): it says goodbye,
 * kills its tasks' workers and exits. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *connect;    /* "HOST:PORT" of the host */
  const char *token_file; /* NULL: the token is in $STRAND_WORKER_TOKEN */
  guint cores;            /* 0: what Slurm gave the job, else the machine's */
  guint64 memory_bytes;   /* 0: what Slurm gave the job, else the machine's */
  gint64 grace_us;        /* a task asked to stop has this long before SIGKILL; 0: 10 s */
  gint64 connect_timeout_us; /* 0: 60 s */
} StrandPilotOptions;

/* Why the loop ended. */
typedef enum {
  STRAND_PILOT_END_RELEASED = 0, /* the host let it go: nothing left to run */
  STRAND_PILOT_END_HOST_LOST,    /* the host closed the connection or fell silent */
  STRAND_PILOT_END_SIGNALLED,    /* SIGTERM or SIGINT */
} StrandPilotEnd;

/* Runs the worker until it ends; FALSE (with the reason) when it could not
 * start: no token, no host, a host that does not prove itself. */
gboolean strand_pilot_run (const StrandPilotOptions *options, StrandPilotEnd *end, GError **error);

G_END_DECLS
