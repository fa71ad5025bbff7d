/* Running a resolved pipeline over samples: one task per stage and sample,
 * each in its own worker (worker.h), outputs of one stage handed to the next.
 *
 * Every output enters the content-addressed store the moment its task ends,
 * and every attempt is a signed record in the ledger (provenance.h) before
 * anything downstream may use what it made. Downstream tasks read outputs
 * from the store, through links named as their producer named them.
 *
 * A run directory holds one folder per task (inputs, outputs, scratch, log)
 * and run.json, the summary of every task with its output digests and tools. */
#pragma once

#include "pipeline.h"
#include "provenance.h"
#include "samples.h"
#include "task.h"

G_BEGIN_DECLS

typedef struct {
  char *sample_id;
  char *stage_id;
  StrandTaskResult *result; /* NULL when skipped because an upstream task failed */
} StrandTaskRecord;

typedef struct {
  char *run_id;
  char *run_dir;
  GPtrArray *tasks; /* StrandTaskRecord, in execution order */
  guint succeeded;
  guint failed;
  guint skipped;
} StrandRun;

void strand_run_free (StrandRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandRun, strand_run_free)

typedef void (*StrandRunProgress) (const StrandTaskRecord *record, gpointer user_data);

/* Runs every sample through `pipeline`, which must have resolved without
 * errors, inside a new folder under `runs_dir`. Writes run.json. `prov` NULL
 * runs without store or records: only to measure what provenance costs. */
StrandRun *strand_run_pipeline (StrandPipeline *pipeline, GPtrArray *samples,
                                StrandProvenance *prov, const char *runs_dir,
                                StrandRunProgress progress, gpointer user_data, GError **error);

/* Builds the task of one stage: parameters with defaults applied, resources
 * from the plugin. Inputs are added by the caller. */
StrandTaskSpec *strand_stage_task_spec (const StrandStage *stage, const char *sample_id,
                                        const char *work_dir);

JsonNode *strand_run_to_json (const StrandRun *run, const StrandPipeline *pipeline);

G_END_DECLS
