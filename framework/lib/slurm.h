/* The Slurm command layer: what the host asks of a Slurm cluster, through
 * Slurm's own commands.
 *
 * Slurm has no stable C API across versions, but its commands and their
 * machine-readable formats have stayed put for a decade, and they are what an
 * administrator reads in a bug report. So the host runs them: sbatch to
 * submit a batch script it wrote, squeue to read job states, scancel to
 * cancel, sinfo for the nodes, `scontrol show reservation` for reservations
 * (maintenance windows), `scontrol show job` for an exit code. Every command
 * runs from an argv array (never a shell string, never `sbatch --wrap`), with
 * SLURM_TIME_FORMAT=%s so that times come back as Unix seconds whatever the
 * machine's time zone, and without the SQUEUE_FORMAT-style variables that
 * would change what the parsers read.
 *
 * The controller is shared by everyone on the cluster; a host that asks for
 * each job separately every second is the kind of user its administrator
 * writes to. So state is read for all of the host's jobs in one squeue call,
 * and the poller backs off while nothing changes (slurm.c).
 *
 * The parsers (slurm-parse.c) take the commands' text and nothing else: they
 * are tested on output captured from a real cluster (tests/slurm/fixtures)
 * and fuzzed (tests/fuzz/fuzz-slurm.c). What they cannot read is an error
 * naming the line, never a guess. Nodes and reservations come out as
 * structures the equipment model takes: capacity, and maintenance windows
 * (StrandMaintenance, equipment.h). */
#pragma once

#include <glib.h>

#include "equipment.h"

G_BEGIN_DECLS

#define STRAND_SLURM_ERROR (strand_slurm_error_quark ())
GQuark strand_slurm_error_quark (void);

typedef enum {
  STRAND_SLURM_ERROR_COMMAND,       /* a command could not run, or died */
  STRAND_SLURM_ERROR_REFUSED,       /* Slurm said no (bad partition, account, limits): its words */
  STRAND_SLURM_ERROR_UNREACHABLE,   /* no controller answers, or no configuration to find one */
  STRAND_SLURM_ERROR_PARSE,         /* output we cannot read; the message names the line */
  STRAND_SLURM_ERROR_NO_ACCOUNTING, /* sacct on a cluster without an accounting database */
  STRAND_SLURM_ERROR_INVALID,       /* a bad request from the caller */
  STRAND_SLURM_ERROR_TIMEOUT,       /* a wait ran out of time */
  STRAND_SLURM_ERROR_IO,            /* a file of ours (a batch script) could not be written */
} StrandSlurmErrorCode;

/* ---- Jobs ---------------------------------------------------------------- */

typedef enum {
  STRAND_SLURM_JOB_UNKNOWN = 0, /* a state we do not know, or a job the controller forgot */
  STRAND_SLURM_JOB_PENDING,
  STRAND_SLURM_JOB_CONFIGURING, /* nodes being readied */
  STRAND_SLURM_JOB_RUNNING,
  STRAND_SLURM_JOB_SUSPENDED,
  STRAND_SLURM_JOB_STOPPED,
  STRAND_SLURM_JOB_COMPLETING,  /* ended; epilog still running */
  STRAND_SLURM_JOB_REQUEUED,    /* going back to pending */
  STRAND_SLURM_JOB_RESIZING,
  /* Final states from here on. */
  STRAND_SLURM_JOB_COMPLETED,   /* exit status 0 */
  STRAND_SLURM_JOB_FAILED,      /* non-zero exit status */
  STRAND_SLURM_JOB_CANCELLED,   /* scancel, by its owner or an administrator */
  STRAND_SLURM_JOB_TIMEOUT,     /* ran into its time limit */
  STRAND_SLURM_JOB_NODE_FAIL,   /* a node it ran on failed */
  STRAND_SLURM_JOB_PREEMPTED,
  STRAND_SLURM_JOB_BOOT_FAIL,
  STRAND_SLURM_JOB_DEADLINE,
  STRAND_SLURM_JOB_OUT_OF_MEMORY,
  STRAND_SLURM_JOB_REVOKED,     /* federation: ran on another cluster */
  STRAND_SLURM_JOB_SPECIAL_EXIT,
} StrandSlurmJobState;

/* Upper-case name as Slurm writes it ("CANCELLED"); "UNKNOWN" for UNKNOWN. */
const char *strand_slurm_job_state_name (StrandSlurmJobState state);
/* Reads "RUNNING", "CANCELLED by 1000" (sacct), "CANCELLED+" (a truncated
 * sacct column); anything else is UNKNOWN. */
StrandSlurmJobState strand_slurm_job_state_from_name (const char *name);
/* True once the job will not change again (it may still be COMPLETING on its
 * nodes, which is not final). UNKNOWN counts as final: the controller no
 * longer knows the job, and waiting will not bring it back. */
gboolean strand_slurm_job_state_is_final (StrandSlurmJobState state);

typedef struct {
  char *id;              /* "123", or "123_4" for an array task: what squeue and scancel take */
  guint64 job_id;        /* Slurm's job id; an array task's own once it has started */
  guint64 array_job_id;  /* 0: not part of an array */
  gint64 array_task_id;  /* -1: not an array task (or a range not yet split) */
  char *name;
  StrandSlurmJobState state;
  char *state_name;      /* as Slurm wrote it */
  char *reason;          /* why it waits, or why it ended; NULL for "None" */
  char *partition;
  char *nodes;           /* NULL until it runs; a host list ("node[1-4]") */
  char *account;         /* NULL when none */
  char *user;
  guint cpus;
  gint64 time_limit_s;   /* 0: none */
  gint64 submit_us;      /* wall times; 0: not known, or not yet */
  gint64 start_us;
  gint64 end_us;
  int exit_status;       /* -1: not known (squeue does not say; scontrol and sacct do) */
  int exit_signal;       /* 0: none */
} StrandSlurmJob;

void strand_slurm_job_free (StrandSlurmJob *job);
StrandSlurmJob *strand_slurm_job_copy (const StrandSlurmJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSlurmJob, strand_slurm_job_free)

/* ---- Nodes --------------------------------------------------------------- */

/* The base state of a node (sinfo's StateComplete before the first '+'). */
typedef enum {
  STRAND_SLURM_NODE_UNKNOWN = 0,
  STRAND_SLURM_NODE_IDLE,
  STRAND_SLURM_NODE_MIXED,     /* some of its CPUs allocated */
  STRAND_SLURM_NODE_ALLOCATED,
  STRAND_SLURM_NODE_DOWN,
  STRAND_SLURM_NODE_ERROR,
  STRAND_SLURM_NODE_FUTURE,    /* configured, not yet in service */
} StrandSlurmNodeState;

/* Flags after the base state ("idle+drain+maintenance"). */
typedef enum {
  STRAND_SLURM_NODE_DRAIN = 1 << 0,          /* drained or draining: takes no new job */
  STRAND_SLURM_NODE_MAINT = 1 << 1,          /* in an active MAINT reservation */
  STRAND_SLURM_NODE_RESERVED = 1 << 2,       /* in an active reservation */
  STRAND_SLURM_NODE_NOT_RESPONDING = 1 << 3,
  STRAND_SLURM_NODE_COMPLETING = 1 << 4,
  STRAND_SLURM_NODE_FAIL = 1 << 5,           /* failing: drains once its jobs end */
  STRAND_SLURM_NODE_POWERED_DOWN = 1 << 6,   /* powered down, powering down or up */
  STRAND_SLURM_NODE_REBOOT = 1 << 7,         /* reboot requested or issued */
  STRAND_SLURM_NODE_PLANNED = 1 << 8,        /* the backfill planned a job on it */
  STRAND_SLURM_NODE_INVALID_REG = 1 << 9,    /* registered with less than configured */
  STRAND_SLURM_NODE_CLOUD = 1 << 10,
  STRAND_SLURM_NODE_OTHER = 1 << 15,         /* a flag this layer does not know */
} StrandSlurmNodeFlags;

typedef struct {
  char *name;
  StrandSlurmNodeState state;
  guint flags;               /* StrandSlurmNodeFlags */
  char *state_text;          /* as sinfo wrote it: "idle+drain" */
  guint cpus;                /* total */
  guint cpus_alloc;
  guint cpus_other;          /* down, drained or otherwise unusable */
  guint64 memory_bytes;      /* configured (RealMemory) */
  guint64 memory_alloc_bytes;
  char **partitions;         /* the partitions it is in (sinfo repeats a node per partition) */
  char *reason;              /* why an administrator drained or downed it; NULL: none */
  char *reason_user;
  gint64 reason_us;          /* when; 0: not known */
} StrandSlurmNode;

void strand_slurm_node_free (StrandSlurmNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSlurmNode, strand_slurm_node_free)

/* "idle", "mixed", ... */
const char *strand_slurm_node_state_name (StrandSlurmNodeState state);
/* True when the node can take a new job now: up (idle, mixed or allocated),
 * responding, not drained, failing, in maintenance, powered down or
 * rebooting. */
gboolean strand_slurm_node_usable (const StrandSlurmNode *node);
gboolean strand_slurm_node_in_partition (const StrandSlurmNode *node, const char *partition);

/* What a partition (NULL: the whole cluster) can hold. Usable: nodes that
 * strand_slurm_node_usable() accepts; free: their CPUs and memory not
 * allocated now. Memory in bytes. */
typedef struct {
  guint nodes;
  guint nodes_usable;
  guint cpus;
  guint cpus_usable;
  guint cpus_free;
  guint64 memory_bytes;
  guint64 memory_usable_bytes;
  guint64 memory_free_bytes;
  guint64 largest_node_memory_bytes; /* of the usable nodes: the biggest job one node takes */
  guint largest_node_cpus;
} StrandSlurmCapacity;

void strand_slurm_capacity (const GPtrArray *nodes, const char *partition,
                            StrandSlurmCapacity *capacity);

/* ---- Reservations -------------------------------------------------------- */

typedef enum {
  STRAND_SLURM_RESV_MAINT = 1 << 0,       /* maintenance: nodes are out of service */
  STRAND_SLURM_RESV_IGNORE_JOBS = 1 << 1,
  STRAND_SLURM_RESV_OVERLAP = 1 << 2,
  STRAND_SLURM_RESV_FLEX = 1 << 3,
  STRAND_SLURM_RESV_DAILY = 1 << 4,       /* repeats: each day, ... */
  STRAND_SLURM_RESV_WEEKLY = 1 << 5,
  STRAND_SLURM_RESV_WEEKDAY = 1 << 6,
  STRAND_SLURM_RESV_WEEKEND = 1 << 7,
  STRAND_SLURM_RESV_ALL_NODES = 1 << 8,
  STRAND_SLURM_RESV_OTHER = 1 << 15,      /* a flag this layer does not know */
} StrandSlurmResvFlags;

typedef struct {
  char *name;
  gint64 start_us;   /* wall time */
  gint64 end_us;
  char *nodes;       /* host list as Slurm wrote it; NULL: none (a licence-only reservation) */
  char **node_names; /* expanded */
  char *partition;   /* NULL: none */
  guint flags;       /* StrandSlurmResvFlags */
  char *flags_text;  /* as Slurm wrote it: "MAINT,SPEC_NODES" */
  gboolean active;   /* State=ACTIVE */
  char *users;       /* NULL: none */
  char *accounts;
} StrandSlurmReservation;

void strand_slurm_reservation_free (StrandSlurmReservation *reservation);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSlurmReservation, strand_slurm_reservation_free)

/* Maintenance windows from MAINT reservations that cover `node` (NULL: any
 * node), as the equipment model holds them, sorted by start: a GPtrArray of
 * StrandMaintenance that frees its items. The reason names the reservation.
 * Slurm shows only the next occurrence of a repeating (DAILY, WEEKLY,
 * WEEKDAY, WEEKEND) reservation; its later ones are added up to `until_us`. */
GPtrArray *strand_slurm_maintenance_windows (const GPtrArray *reservations, const char *node,
                                             gint64 until_us);

/* Adds `windows` (copies) to the equipment's planned maintenance, keeping it
 * sorted by start. */
void strand_slurm_equipment_add_maintenance (StrandEquipment *equipment, const GPtrArray *windows);

/* ---- Parsers: the commands' text in, structures out --------------------- */

/* Host lists: "node[01-03,7],gpu-a" -> node01 node02 node03 node7 gpu-a.
 * Fails on malformed brackets or ranges, or when more than `max` names
 * would come out. */
char **strand_slurm_hostlist_expand (const char *list, guint max, GError **error);

/* The job id sbatch --parsable prints: "123" or "123;cluster". */
char *strand_slurm_parse_sbatch (const char *text, GError **error);
/* squeue in this layer's format (its header line first): StrandSlurmJob. */
GPtrArray *strand_slurm_parse_squeue (const char *text, gsize len, GError **error);
/* `scontrol show job --oneliner` (or its multi-line form): StrandSlurmJob
 * with exit statuses. "No jobs in the system" is an empty array. */
GPtrArray *strand_slurm_parse_scontrol_jobs (const char *text, gsize len, GError **error);
/* sacct --parsable2 in this layer's format (its header line first):
 * StrandSlurmJob, job steps left out. */
GPtrArray *strand_slurm_parse_sacct (const char *text, gsize len, GError **error);
/* sinfo --Node in this layer's format (its header line first):
 * StrandSlurmNode, one per node, its partitions merged. */
GPtrArray *strand_slurm_parse_sinfo (const char *text, gsize len, GError **error);
/* `scontrol show reservation` (one-line or multi-line form):
 * StrandSlurmReservation. "No reservations in the system" is empty. */
GPtrArray *strand_slurm_parse_reservations (const char *text, gsize len, GError **error);

/* ---- Talking to the cluster ---------------------------------------------- */

typedef struct StrandSlurm StrandSlurm;

/* A handle on a cluster. `slurm_conf`: its slurm.conf, passed to every
 * command as SLURM_CONF; NULL: whatever the environment says (SLURM_CONF, or
 * Slurm's compiled-in default, or configless). */
StrandSlurm *strand_slurm_new (const char *slurm_conf);
void strand_slurm_free (StrandSlurm *slurm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSlurm, strand_slurm_free)

/* Where the commands are; NULL (the default): found on PATH. */
void strand_slurm_set_bindir (StrandSlurm *slurm, const char *bindir);
/* Commands run so far: each one is a call to the controller (sinfo, squeue,
 * sbatch, ...). For tests and for the operator's report. */
guint strand_slurm_calls (const StrandSlurm *slurm);

typedef struct {
  const char *job_name;     /* --job-name; NULL: the script's name */
  const char *partition;    /* NULL: the cluster's default */
  const char *account;      /* NULL: the user's default */
  const char *qos;          /* NULL: default */
  guint cpus;               /* --cpus-per-task; 0: Slurm's default (1) */
  guint64 memory_bytes;     /* --mem, rounded up to MiB; 0: the partition's default */
  gint64 time_limit_s;      /* --time, rounded up to a minute; 0: the partition's limit */
  const char *output_path;  /* --output; NULL: slurm-%j.out in the working directory */
  const char *error_path;   /* --error; NULL: with the output */
  const char *work_dir;     /* --chdir; NULL: the host's working directory */
  const char *array;        /* --array, e.g. "0-99%10"; NULL: a single job */
  gboolean requeue;         /* FALSE: --no-requeue, the host decides about reruns */
} StrandSlurmSubmit;

/* Writes a batch script that runs `argv` (exec, no shell logic): "#!/bin/sh"
 * and one line of single-quoted words. Mode 0755, written to a temporary
 * file and renamed into place. */
gboolean strand_slurm_write_script (const char *path, const char *const *argv, GError **error);

/* sbatch --parsable ... SCRIPT. Returns the job id ("123"). */
char *strand_slurm_submit (StrandSlurm *slurm, const StrandSlurmSubmit *submit,
                           const char *script, GError **error);

/* One squeue call for all of `ids` (array tasks one by one): jobs the
 * controller knows, finished ones included while it remembers them
 * (MinJobAge). A job it does not know is simply not in the result. */
GPtrArray *strand_slurm_query_jobs (StrandSlurm *slurm, const char *const *ids, GError **error);
/* `scontrol show job ID`: one job with its exit status; NULL and no error
 * when the controller does not know it. */
StrandSlurmJob *strand_slurm_show_job (StrandSlurm *slurm, const char *id, GError **error);
/* sacct for jobs the controller forgot. NO_ACCOUNTING when the cluster keeps
 * no accounting database. */
GPtrArray *strand_slurm_query_accounting (StrandSlurm *slurm, const char *const *ids,
                                          GError **error);

/* scancel ID...: a job that already ended or is unknown is not an error. */
gboolean strand_slurm_cancel (StrandSlurm *slurm, const char *const *ids, GError **error);

/* sinfo: every node (or those of `partition`). */
GPtrArray *strand_slurm_nodes (StrandSlurm *slurm, const char *partition, GError **error);
/* scontrol show reservation: every reservation. */
GPtrArray *strand_slurm_reservations (StrandSlurm *slurm, GError **error);

/* ---- Watching jobs ------------------------------------------------------- */

/* Follows a set of jobs with one squeue call per poll, however many there
 * are. The interval starts at `min_interval_us`, doubles after each poll that
 * changed nothing, up to `max_interval_us`, and halves (down to the minimum)
 * after a poll that saw a job change; watching a new job brings the next
 * poll forward to the minimum. A job that squeue no longer lists is looked up once in
 * sacct (when the cluster keeps accounting) and otherwise becomes UNKNOWN,
 * which is final. Times come from the clock module (monotonic). */
typedef struct StrandSlurmPoller StrandSlurmPoller;

StrandSlurmPoller *strand_slurm_poller_new (StrandSlurm *slurm, gint64 min_interval_us,
                                            gint64 max_interval_us);
void strand_slurm_poller_free (StrandSlurmPoller *poller);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSlurmPoller, strand_slurm_poller_free)

void strand_slurm_poller_watch (StrandSlurmPoller *poller, const char *id);
void strand_slurm_poller_forget (StrandSlurmPoller *poller, const char *id);
/* Monotonic time of the next poll, and the interval that set it. */
gint64 strand_slurm_poller_due_us (const StrandSlurmPoller *poller);
gint64 strand_slurm_poller_interval_us (const StrandSlurmPoller *poller);
/* Polls now (whether due or not). `changed` (may be NULL) receives the jobs
 * whose state changed, as borrowed pointers valid until the next poll. An
 * UNREACHABLE error leaves every job as it was and backs off. */
gboolean strand_slurm_poller_poll (StrandSlurmPoller *poller, GPtrArray **changed, GError **error);
/* The last state seen of a watched job; NULL before the first poll. */
const StrandSlurmJob *strand_slurm_poller_job (const StrandSlurmPoller *poller, const char *id);
/* True when every watched job is in a final state. */
gboolean strand_slurm_poller_all_final (const StrandSlurmPoller *poller);

/* Polls (sleeping between polls) until every watched job is final, or
 * `timeout_us` of monotonic time has passed (TIMEOUT; 0: no limit). A
 * controller that stops answering is waited for, within the timeout. */
gboolean strand_slurm_poller_wait (StrandSlurmPoller *poller, gint64 timeout_us, GError **error);

G_END_DECLS
