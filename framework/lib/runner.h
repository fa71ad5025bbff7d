/* Running a resolved pipeline over samples: one task per stage and sample,
 * each in an isolated worker (executor.h), outputs of one stage handed to
 * the next, as many at once as the executor has room for.
 *
 * The run loop is event-driven: it polls the executor's workers, the
 * signals it was asked to handle and its timers (back-offs, on the clock's
 * time, clock.h), and starts ready tasks when and where the scheduler
 * places them (runner-schedule.h: sample priority from degradation and due
 * times, equipment hours, maintenance and failures) whenever the executor
 * has room. A failed attempt is classified
 * and answered by the stage's policy (policy.h): retried, escalated,
 * rerouted, replaced by the fallback plugin, or the sample stops and its
 * outputs are quarantined, or the run halts; the other samples go on.
 *
 * Every attempt is a signed stage-run record and every decision a decision
 * record (records.h), written by the host alone. An output becomes visible
 * in the store only after the record naming its digest is durable; a run
 * killed at any point leaves a store that `--resume` completes: it reruns
 * only tasks whose cache key (runner-cache.h) has no verified output, and
 * says why each one runs. The first SIGINT or SIGTERM stops new work and
 * asks running workers to stop (SIGKILL after the grace period), the second
 * kills them; what finished stays recorded.
 *
 * A run directory holds one folder per task and attempt (SAMPLE/STAGE,
 * then SAMPLE/STAGE.2...; _run/STAGE for a per-run stage: inputs, outputs,
 * scratch, log), quarantine/SAMPLE/STAGE.N for the failed attempts of
 * failed samples, and run.json, the summary of every task. */
#pragma once

#include "equipment-monitor.h"
#include "equipment.h"
#include "executor.h"
#include "faults.h"
#include "pipeline.h"
#include "provenance.h"
#include "degradation.h"
#include "samples.h"
#include "task.h"

G_BEGIN_DECLS

typedef struct {
  char *sample_id;
  char *stage_id;
  StrandTaskResult *result; /* the last attempt's, or the reused outputs; NULL when it never ran */
  const char *status;       /* "ok", "cached", "failed", "skipped", "cancelled", "not-run" */
  int attempts;             /* attempts made in this run */
  guint64 memory_bytes;     /* the last attempt's memory limit; 0: none */
  gint64 timeout_us;        /* the last attempt's time limit; 0: none */
  char *plugin;             /* "name@version" that ran last */
  char *equipment;          /* where it ran last, when assigned */
  char *cache_key;
  char *explain;            /* why it ran (resumed runs), or NULL */
  gboolean quarantined;     /* its sample failed: its outputs are not to be used */
  GPtrArray *decisions;     /* char*: what the policy decided after each failure */
} StrandTaskRecord;

typedef struct {
  char *run_id;
  char *run_dir;
  GPtrArray *tasks; /* StrandTaskRecord, in plan order: sample by sample, stages in order */
  guint succeeded;  /* ran and succeeded */
  guint cached;     /* reused from an earlier run */
  guint failed;
  guint skipped;    /* not run: an upstream task or its sample failed, or the run stopped */
  const char *status; /* "complete", "failed" (some task failed), "halted", "cancelled" */
} StrandRun;

void strand_run_free (StrandRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandRun, strand_run_free)

/* Where the run stands, for progress lines. */
typedef struct {
  guint total;
  guint done;      /* ok or cached */
  guint failed;
  guint skipped;
  guint running;
  guint waiting;
  gint64 eta_us;   /* remaining time estimated from the tasks done so far; -1: unknown */
  guint samples;
  guint samples_done;    /* every task finished, the sample did not fail */
  guint samples_failed;
  guint samples_running; /* with a task running */
  gint64 next_start_us;  /* nothing runs: the scheduler waits for equipment until then
                          * (wall time); 0 otherwise */
} StrandRunCounts;

/* Called when a task ends (`record` set) and about once a second (NULL). */
typedef void (*StrandRunProgress) (const StrandTaskRecord *record, const StrandRunCounts *counts,
                                   gpointer user_data);

typedef struct {
  guint jobs;                 /* tasks at once on the local executor; 0: the machine's cores */
  gboolean resume;            /* reuse verified outputs of earlier runs by cache key */
  gint64 task_timeout_us;     /* wall-time limit of each task; 0: none */
  gint64 grace_us;            /* between asking a worker to stop and killing it; 0: 10 s */
  gboolean handle_signals;    /* SIGINT and SIGTERM cancel the run while it runs */
  gboolean no_verify_inputs;  /* do not re-hash stored inputs in workers */
  StrandRegistry *registry;   /* where fallback plugins are found; may be NULL */
  StrandInventory *inventory; /* equipment tasks are assigned to; may be NULL */
  StrandFaults *faults;       /* injected faults; NULL in normal runs */
  StrandMonitor *monitor;     /* told what runs on which equipment, so its status, usage
                               * counters and service state follow; may be NULL */
  StrandExecutor *executor;   /* NULL: a local one */
  const StrandSampleTypes *sample_types; /* how long samples stay usable; NULL: no degradation */
  gboolean accept_late;       /* process samples that can no longer make their window or due
                               * time (recorded); otherwise they stop before any task starts */
  StrandRunProgress progress;
  gpointer user_data;
} StrandRunOptions;

/* Runs every sample through `pipeline`, which must have resolved without
 * errors, inside a new folder under `runs_dir`. Writes run.json. `prov` NULL
 * runs without store or records: only to measure what provenance costs.
 * Fails as a whole only when the run could not start or its records could
 * not be written; failed tasks are in the result. */
StrandRun *strand_run_pipeline_with (StrandPipeline *pipeline, GPtrArray *samples,
                                     StrandProvenance *prov, const char *runs_dir,
                                     const StrandRunOptions *options, GError **error);
StrandRun *strand_run_pipeline (StrandPipeline *pipeline, GPtrArray *samples,
                                StrandProvenance *prov, const char *runs_dir,
                                StrandRunProgress progress, gpointer user_data, GError **error);

/* Asks the running run to stop, as SIGINT would (async-signal-safe). */
void strand_run_request_cancel (void);

/* Builds the task of one stage: parameters with defaults applied, resources
 * from the plugin and the pipeline. Inputs are added by the caller. */
StrandTaskSpec *strand_stage_task_spec (const StrandStage *stage, const char *sample_id,
                                        const char *work_dir);

JsonNode *strand_run_to_json (const StrandRun *run, const StrandPipeline *pipeline);

G_END_DECLS
