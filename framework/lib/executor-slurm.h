/* The Slurm executor: tasks run on a Slurm cluster, in worker jobs.
 *
 * One Slurm job per small task costs seconds of scheduling each, so the
 * executor submits worker jobs ("pilots", with sbatch through slurm.h) that
 * connect back to the host over TCP and take task after task (pilot.h,
 * pilot-wire.h). Pilots are sized from the tasks waiting for them: their
 * declared cores and memory, up to one node of the partition, at most
 * `max_workers` jobs at once (several at a time go in as one job array).
 * A task expected to run long or to need much memory gets a job of its
 * own, running the same worker program for that one task. Idle pilots are
 * released; all of the executor's jobs are cancelled when it is freed
 * (the run ended, or was stopped by SIGINT/SIGTERM).
 *
 * Inside a pilot a task runs exactly as a local one: a forked, isolated
 * worker with its limits and classification. Its outputs land in its work
 * directory on storage shared with the host, which hashes, records and
 * stores them as for local tasks: the host remains the only writer of the
 * ledger and the store, whatever the executor. Each result carries its
 * placement (StrandTaskResult.placement: the Slurm job, array task, node and
 * partition), which goes into the stage-run record.
 *
 * A pilot that dies (node failure, scancel, time limit, preemption) is
 * noticed when its connection closes, when it falls silent for four
 * heartbeats, or when squeue reports its job ended; each task it held ends
 * as an equipment failure (STRAND_ERROR_EQUIPMENT), which the stage's policy
 * answers (by default another attempt, elsewhere). Whatever that pilot sends
 * later is ignored: nothing is recorded twice, nothing is lost.
 *
 * The cluster's state feeds planning: every `refresh_us` (and more often
 * while the partition is unusable) sinfo and `scontrol show reservation`
 * are read. While every node of a partition is down, drained or in
 * maintenance, its tasks wait (can_start says no). A maintenance reservation
 * (flags=maint) covering the partition is planned around: pilots are
 * submitted with a time limit that ends before it, a task is handed to a
 * pilot only when its time limit (or 1.5 times its expected duration) ends
 * before the pilot must stop, and a task that cannot finish before the
 * window waits until after it. The windows also go into the equipment model
 * (the pool's StrandEquipment maintenance, and the monitor's status when one
 * is given). */
#pragma once

#include "equipment-monitor.h"
#include "executor.h"

G_BEGIN_DECLS

/* A partition tasks are sent to: the whole executor's (id NULL) or that of
 * one compute equipment of the inventory (equipment.h, its "slurm" member);
 * a task goes to the pool of its equipment, else to the first. */
typedef struct {
  const char *id;              /* the equipment's id; NULL: tasks of any equipment */
  const char *partition;       /* NULL: the cluster's default */
  const char *account;         /* NULL: the user's default */
  StrandEquipment *equipment;  /* gets Slurm's maintenance windows; may be NULL */
} StrandSlurmPool;

typedef struct {
  const char *slurm_conf;       /* NULL: the environment's (SLURM_CONF) */
  const char *worker_program;   /* required: the `strand` executable the jobs run */
  const char *state_dir;        /* required, on storage the nodes share: the token
                                   file, the batch script and the jobs' logs go in a
                                   new folder under it */
  const char *advertise;        /* the host name workers connect to; NULL: this
                                   machine's name */
  const char *job_name;         /* NULL: "strand-worker" */
  const StrandSlurmPool *pools; /* n_pools of them; none: one on the default partition */
  guint n_pools;
  guint max_workers;            /* jobs at once per pool; 0: 4 */
  guint worker_cores;           /* cores per worker job; 0: sized from the tasks */
  guint64 worker_memory_bytes;  /* per worker job; 0: sized from the tasks, or Slurm's default */
  gint64 worker_time_limit_s;   /* 0: the partition's, shortened before maintenance */
  gint64 idle_timeout_us;       /* an idle worker is released after this; 0: 30 s */
  gint64 heartbeat_us;          /* 0: 5 s; a worker silent for 4 of them is dead */
  gint64 grace_us;              /* a task asked to stop has this long; 0: 10 s */
  double own_job_seconds;       /* tasks expected to take longer get a job of their own; 0: 3600 */
  guint64 own_job_memory_bytes; /* or to need more memory than this; 0: no such rule */
  gint64 refresh_us;            /* between readings of nodes and reservations; 0: 60 s */
  StrandMonitor *monitor;       /* status of the pools' equipment; may be NULL */
} StrandSlurmExecutorOptions;

/* Checks that the cluster answers and every pool's partition exists, writes
 * the token (mode 0600) and the batch script, and listens on an ephemeral
 * TCP port. Fails with the reason when any of that cannot be done. */
StrandExecutor *strand_executor_slurm_new (const StrandSlurmExecutorOptions *options, GError **error);

/* What the executor has done so far, for reports and tests. */
typedef struct {
  guint jobs_submitted;   /* Slurm jobs: pilots (each array task counted) and own jobs */
  guint sbatch_calls;
  guint workers_connected;
  guint workers_lost;     /* died with or without tasks, or never connected */
  guint tasks_sent;
  guint tasks_lost;       /* ended as equipment failures with their worker */
  guint late_results;     /* results from workers already declared dead: ignored */
  guint slurm_calls;      /* every Slurm command run */
} StrandSlurmExecutorStats;

void strand_executor_slurm_stats (StrandExecutor *executor, StrandSlurmExecutorStats *stats);
/* "HOST:PORT" the workers connect to. */
const char *strand_executor_slurm_address (StrandExecutor *executor);
/* The folder of the token, the script and the jobs' logs. */
const char *strand_executor_slurm_dir (StrandExecutor *executor);
/* Slurm ids of every job submitted ("123", "124_0"). */
GPtrArray *strand_executor_slurm_jobs (StrandExecutor *executor);

G_END_DECLS
