/* Inside the Slurm executor (executor-slurm.h): its state, shared by
 * executor-slurm.c (tasks, workers and their connections) and
 * executor-slurm-cluster.c (what the cluster can take: nodes, maintenance,
 * the size and time limit of the jobs to submit). */
#pragma once

#include "executor-slurm.h"
#include "pilot-wire.h"
#include "slurm.h"

G_BEGIN_DECLS

/* Seconds planned between submitting a job and its start, before a
 * maintenance window. */
#define STRAND_SLURM_START_MARGIN_S 30

typedef struct SlurmPool SlurmPool;
typedef struct SlurmPilot SlurmPilot;

typedef enum {
  PILOT_QUEUED = 0, /* submitted, not connected yet */
  PILOT_CONNECTED,
  PILOT_GONE,       /* ended, lost or cancelled */
} PilotState;

struct SlurmPilot {
  char *id;              /* Slurm's: "123", or "123_4" for an array task */
  SlurmPool *pool;
  PilotState state;
  guint cores;           /* asked, then as the worker reported */
  guint64 memory;        /* asked (0: Slurm's default), then as reported */
  gint64 limit_s;        /* time limit asked; 0: none */
  gboolean own_job;      /* for the one task `own_task` */
  guint64 own_task;
  StrandPilotConn *conn;
  char *node;
  JsonNode *placement;   /* what results from it say of where they ran */
  guint cores_used;
  guint64 memory_used;
  guint n_tasks;
  gint64 limit_end_wall; /* when its time limit ends; G_MAXINT64: none */
  gint64 end_wall;       /* the same, or earlier for a maintenance of its node */
  gint64 idle_since;     /* monotonic */
  gint64 last_heard;     /* monotonic */
  gint64 next_heartbeat; /* monotonic */
  gboolean released;     /* told to leave once idle */
  gboolean draining;     /* takes no new task (its node is being emptied, or it is too small) */
  gboolean cancelled;    /* scancelled by the executor */
  gboolean connected_once;
  char *log_path;
};

typedef struct {
  guint64 id;
  const StrandTaskSpec *spec;
  SlurmPool *pool;
  SlurmPilot *pilot;     /* the worker that has it; NULL while it waits */
  gboolean own_job;
  gboolean own_submitted;
  guint cores;
  guint64 memory;
  gint64 need_us;        /* its time limit, or 1.5x its expected time; 0: unknown */
  gint64 sent_wall;
} SlurmTask;

struct SlurmPool {
  char *id;
  char *partition;
  char *account;
  StrandEquipment *equipment;
  GPtrArray *base_maintenance;  /* StrandMaintenance: the inventory's own windows */
  gboolean known;               /* nodes were read at least once */
  StrandSlurmCapacity capacity;
  GPtrArray *windows;           /* StrandMaintenance covering every node of it, by start */
  GPtrArray *past;              /* StrandMaintenance: windows that began, then left Slurm's list */
  GHashTable *node_windows;     /* node name -> GPtrArray of StrandMaintenance */
  GHashTable *closed_nodes;     /* node name -> its state: drained, down, in maintenance */
  char *unusable;               /* why no node takes work now; NULL: some do */
  gboolean maintenance_now;
  int status_sent;              /* StrandEquipmentStatus last given to the monitor; -1: none */
  char *broken;                 /* why its jobs cannot run: its tasks fail (configuration) */
  guint failed_starts;          /* jobs in a row that ended before connecting */
  gint64 submit_after;          /* monotonic: no sbatch before (after one failed) */
  guint sbatch_failures;
  guint cpus_reserved;          /* CPUs asked since the nodes were last read */
  guint held_cores;             /* of the tasks it holds, waiting or running */
  guint held_tasks;
};

typedef struct {
  StrandExecutor parent;
  /* configuration */
  char *program;
  char *dir;
  char *token;
  char *token_path;
  char *script;
  char *address;        /* HOST:PORT workers connect to */
  char *job_name;
  guint max_workers;
  guint worker_cores;
  guint64 worker_memory;
  gint64 worker_time_limit_s;
  gint64 idle_timeout_us;
  gint64 heartbeat_us;
  gint64 grace_us;
  double own_job_seconds;
  guint64 own_job_memory;
  gint64 refresh_us;
  StrandMonitor *monitor;
  /* state */
  StrandSlurm *slurm;
  StrandSlurmPoller *poller;
  GPtrArray *pools;     /* SlurmPool */
  GPtrArray *pilots;    /* SlurmPilot, gone ones too */
  GHashTable *tasks;    /* id -> SlurmTask */
  GQueue *waiting;      /* SlurmTask not on a worker yet, in the order they came */
  GArray *events;       /* StrandExecutorEvent not handed over yet */
  int listen_fd;
  GPtrArray *pending;   /* connections not authenticated yet */
  GArray *polled;       /* what each pollfd of the last prepare() was */
  gint64 next_refresh;  /* monotonic */
  gboolean replan;      /* tasks came: place them, submit jobs */
  GPtrArray *job_ids;   /* char*: every job submitted */
  StrandSlurmExecutorStats stats;
} SlurmExecutor;

/* executor-slurm-cluster.c */
SlurmPool *strand_slurm_pool_new (const StrandSlurmPool *conf);
void strand_slurm_pool_free (SlurmPool *pool);
/* Reads nodes and reservations for every pool; updates capacity,
 * maintenance windows, the equipment model, and the workers' ends. */
void strand_slurm_refresh (SlurmExecutor *x);
/* Seconds of the longest time limit a job submitted now could have and end
 * before the pool's next maintenance; G_MAXINT64 when none is planned, 0
 * when none fits. */
gint64 strand_slurm_pool_room_s (const SlurmPool *pool, gint64 now_wall);
/* The first maintenance window of `node` (NULL: of the whole pool) not over
 * at `now_wall`; NULL: none. */
const StrandMaintenance *strand_slurm_pool_next_window (const SlurmPool *pool, const char *node,
                                                        gint64 now_wall);
/* A worker's end as its time limit and its node's maintenance allow. */
void strand_slurm_pilot_update_end (SlurmPilot *pilot, gint64 now_wall);
/* Submits worker jobs for the tasks waiting in each pool, and own jobs. */
void strand_slurm_plan_jobs (SlurmExecutor *x);
/* Marks tasks failed: queued events with `cls` and `message`. */
void strand_slurm_fail_waiting (SlurmExecutor *x, SlurmPool *pool, StrandErrorClass cls,
                                const char *message);

/* executor-slurm.c */
SlurmPilot *strand_slurm_pilot_add (SlurmExecutor *x, SlurmPool *pool, const char *id, guint cores,
                                    guint64 memory, gint64 limit_s, const char *log_path);
void strand_slurm_queue_failure (SlurmExecutor *x, SlurmTask *t, StrandErrorClass cls,
                                 const char *message, JsonNode *placement);

G_END_DECLS
