/* The plan of a run: the pipeline's stages times the samples, as a DAG of
 * tasks, and how each task's inputs come from what its producers made.
 *
 * A per-sample stage gives one task per sample; a per-run stage
 * (STRAND_STAGE_PER_RUN) one task for the run. Data moves along the edges:
 *
 *   producer     consumer     the consumer's task receives
 *   per-sample   per-sample   the same sample's outputs
 *   per-sample   per-run      every sample's outputs, each tagged with its sample
 *   per-run      per-sample   the outputs made for its sample, and those made
 *                             for the whole run
 *   per-run      per-run      all of them
 *   @input       either       the sample's file(s); every sample's for a per-run
 *                             task; a per-run input's one file for everyone
 *
 * Planning is linear in tasks plus edges. The plan decides nothing about
 * when or where a task runs; an executor walks it as tasks finish. */
#pragma once

#include "pipeline.h"
#include "samples.h"
#include "store.h"
#include "task.h"

G_BEGIN_DECLS

typedef struct {
  guint index;               /* position in StrandPlan.tasks: a topological order */
  const StrandStage *stage;
  const StrandSample *sample; /* NULL: the task of a per-run stage */
  GArray *deps;              /* guint: tasks whose outputs it reads */
  GArray *dependents;        /* guint: tasks that read its outputs */
} StrandPlanTask;

typedef struct {
  StrandPipeline *pipeline; /* borrowed */
  GPtrArray *samples;       /* borrowed: StrandSample */
  GPtrArray *tasks;         /* StrandPlanTask, producers before consumers */
  /* private */
  GPtrArray *edges_into;    /* per stage: GPtrArray of StrandEdge */
  guint *first_task;        /* per stage: index of its first task */
} StrandPlan;

/* Plans `pipeline` (resolved without errors) over `samples`. */
StrandPlan *strand_plan_new (StrandPipeline *pipeline, GPtrArray *samples);
void strand_plan_free (StrandPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPlan, strand_plan_free)

/* "SAMPLE/STAGE", or "_run/STAGE" for a per-run task (sample ids cannot
 * start with "_"). */
char *strand_plan_task_id (const StrandPlanTask *task);

/* Why a task cannot be given its inputs. */
typedef enum {
  STRAND_PLAN_READY,
  STRAND_PLAN_UPSTREAM_FAILED, /* a producer it needs failed or was skipped */
  STRAND_PLAN_INPUT_ERROR,     /* an input could not be prepared (error set) */
} StrandPlanInputs;

/* Fills `spec`'s inputs and run samples for `task` from its producers'
 * results (`results[i]` for plan task i: NULL when it did not run, or a
 * result whose outputs are stored) and the samples' and pipeline's files.
 * Inputs from the store are linked under `work_dir`/inputs (trees as
 * read-only views); `store` may be NULL (outputs are then used where they
 * lie, unhashed). File inputs are hashed through the store's digest cache.
 * A per-run task needs at least one of a gathered stage's sample tasks to
 * have succeeded; a per-sample task needs all of its producers. */
StrandPlanInputs strand_plan_task_inputs (StrandPlan *plan, const StrandPlanTask *task,
                                          StrandTaskResult *const *results, StrandStore *store,
                                          StrandTaskSpec *spec, GError **error);

G_END_DECLS
