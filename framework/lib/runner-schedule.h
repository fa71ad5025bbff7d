/* Which ready task of a run starts next, and on which equipment: the run
 * loop's side of the scheduler (scheduler.h).
 *
 * The run's whole plan goes to the scheduler before anything starts, so it
 * knows each sample's work ahead: the sample sheet gives each sample its
 * clinical class, due time and, through the sample-types table, the time its
 * material stops being usable (degradation.h); tasks of per-run stages (a
 * sequencer run, a reference index) form one more sample that inherits the
 * most urgent class, the earliest due time and the earliest usable-until of
 * the samples, since every sample waits for them. A task on equipment
 * other than compute handles the material and stabilises it. Machines are the
 * inventory's, with their operating hours, maintenance windows and service
 * state; a class the inventory lacks (or every class, without an inventory)
 * gets one unnamed machine with as many slots as the executor has.
 *
 * The run loop owns readiness: each task is held until the loop says its
 * inputs exist (ready()), and held again while it backs off before a retry.
 * Decisions start tasks in the scheduler's order (priority from slack,
 * longest path first, backfill that never delays a higher-ranked start);
 * one the executor has no room for yet waits, first in line, for room. */
#pragma once

#include <glib.h>

#include "degradation.h"
#include "equipment.h"
#include "samples.h"
#include "scheduler.h"

G_BEGIN_DECLS

typedef struct StrandRunSchedule StrandRunSchedule;

typedef struct {
  GPtrArray *samples;                    /* StrandSample, in sheet order */
  const StrandInventory *inventory;      /* may be NULL */
  const StrandSampleTypes *sample_types; /* may be NULL: nothing degrades */
  guint local_slots;                     /* tasks at once the executor takes (unnamed machines) */
  gboolean accept_late;                  /* run samples that can no longer make it anyway */
  /* Where the samples' material is handled: by per-sample or per-run stages
   * on equipment other than compute (a sequencer, an extraction robot).
   * Those stages stabilise it; a run of data stages alone has no material
   * left to degrade, and the samples' windows do not apply. */
  gboolean material_per_sample;
  gboolean material_per_run;
} StrandRunScheduleSetup;

StrandRunSchedule *strand_run_schedule_new (const StrandRunScheduleSetup *setup);
void strand_run_schedule_free (StrandRunSchedule *schedule);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandRunSchedule, strand_run_schedule_free)

#define STRAND_RUN_SCHEDULE_PER_RUN G_MAXUINT

/* Adds the run's next task; tasks are numbered 0, 1, ... in the order they
 * are added, producers first. `sample` is the sheet index, or
 * STRAND_RUN_SCHEDULE_PER_RUN. `deps` are the tasks whose outputs it reads
 * (the scheduler orders by those of the same sample; the loop's holds cover
 * the others). info->after is ignored. */
void strand_run_schedule_add (StrandRunSchedule *schedule, guint sample, const StrandTaskInfo *info,
                              const guint *deps, guint n_deps);

/* The task's inputs exist: it may start once the scheduler says so. */
void strand_run_schedule_ready (StrandRunSchedule *schedule, guint task);
/* The task's attempt failed and it will be made ready again (after its
 * back-off); `avoid` (may be NULL) is equipment it must not use again. */
void strand_run_schedule_retry (StrandRunSchedule *schedule, guint task, const char *avoid);

typedef enum {
  STRAND_RUN_TASK_DONE,    /* it ran and succeeded: its duration teaches the estimates */
  STRAND_RUN_TASK_REUSED,  /* an earlier run's output stood in */
  STRAND_RUN_TASK_DROPPED, /* failed for good, skipped, cancelled */
} StrandRunTaskEnd;

void strand_run_schedule_ended (StrandRunSchedule *schedule, guint task, StrandRunTaskEnd how);

/* The next task to start now and the equipment it was placed on (NULL for
 * an unnamed machine); FALSE when none can start now. `fits` says whether
 * the executor has room for a task. */
gboolean strand_run_schedule_next (StrandRunSchedule *schedule,
                                   gboolean (*fits) (guint64 task, gpointer data), gpointer data,
                                   guint *task, const char **equipment);
/* When a decision could start something without news (wall time, the
 * clock's); G_MAXINT64: only news can. */
gint64 strand_run_schedule_next_change_us (StrandRunSchedule *schedule);
/* Ready tasks not yet started. */
guint strand_run_schedule_waiting (const StrandRunSchedule *schedule);

/* The equipment failed: it takes nothing more; tasks it ran go back to the
 * scheduler's queue and are appended to `interrupted` (guint task). */
void strand_run_schedule_equipment_down (StrandRunSchedule *schedule, const char *equipment,
                                         GArray *interrupted);

typedef struct {
  guint sample;           /* sheet index */
  gint64 usable_until_us; /* G_MAXINT64: does not degrade */
  gint64 due_us;          /* G_MAXINT64: none */
  gint64 latest_start_us; /* how late its next task could have started */
} StrandRunLate;

/* Samples found unable to make their stability window or due time since
 * the last call (StrandRunLate); with accept_late they are reported but run
 * anyway, otherwise the scheduler starts none of their tasks. */
guint strand_run_schedule_take_late (StrandRunSchedule *schedule, GArray *late);
/* Ready tasks no machine can run (no machine of the class with the cores,
 * memory or GPUs it needs, or no window long enough), reported once each
 * (guint task). */
guint strand_run_schedule_take_unplaceable (StrandRunSchedule *schedule, GArray *tasks);

G_END_DECLS
