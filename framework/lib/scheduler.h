/* The scheduler: which task starts now, on which machine, and when to ask
 * again.
 *
 * One long-lived object per host. The executor tells it what happens (a
 * task added or ready, finished, failed; a machine down, up, due for
 * service) and asks two questions: strand_scheduler_decide() ("what starts
 * now, where?") and strand_scheduler_next_decision_us() ("when could the
 * answer change without news from you?"). The simulator asks the same
 * questions on the discrete-event clock, so both run the same code. Time is
 * the clock's (clock.h): every call reads strand_clock_now_us().
 *
 * How a decision is made (priority list scheduling with backfill):
 *  - Samples are taken in priority order (priority.h: slack, clinical class,
 *    aging; a sample that can no longer meet its window is flagged, never
 *    silently processed late). Within a sample, its ready tasks go longest
 *    remaining path first.
 *  - Each task is placed on the machine where it would finish first: a
 *    machine of its equipment class with the cores, memory and GPUs it needs
 *    (or one of the machines it was given as options), in a slot that is
 *    free, during operating hours, wholly outside maintenance windows and
 *    downtime, ending before the time the machine is due for service (set
 *    by strand_scheduler_set_due() or read from its service counters), and
 *    not overlapping any start reserved for a task ranked higher in the same
 *    decision. Tasks are never pre-empted, so a task that cannot finish
 *    before a stop does not start before it.
 *  - If that place is free now, the task starts. Otherwise it reserves it
 *    (up to `reservation_depth` tasks per decision), and lower-ranked tasks
 *    may use the gap before the reservation only if they end in time:
 *    backfill never delays a higher-ranked task's reserved start.
 *  - Duration estimates: a task's declared estimate (the plugin's expected
 *    time), corrected by how the observed runs of the same stage on the
 *    same equipment class compared with what they declared (an
 *    exponentially weighted mean of observed / declared); a task that
 *    declares none takes the weighted mean of the observed durations.
 *    Options given per machine are exact durations.
 *
 * An optional planning pass (strand_scheduler_plan(), planner.h) improves
 * the order of the queued tasks by bounded local search; decisions then
 * follow the plan's order on each machine, with the same safety rules, and
 * samples in the critical band still go first. */
#pragma once

#include <glib.h>

#include "degradation.h"
#include "equipment.h"
#include "planner.h"
#include "priority.h"
#include "samples.h"

G_BEGIN_DECLS

#define STRAND_SCHEDULER_NONE G_MAXUINT

typedef struct {
  StrandPriorityConfig priority;
  guint reservation_depth;     /* tasks per decision that reserve a start; default 1024 */
  double estimate_weight;      /* weight of the newest observed duration; default 0.3 */
  gint64 default_estimate_us;  /* a task with no estimate and no observation; default 1 h */
  gint64 horizon_us;           /* how far ahead a place is looked for; default 28 days */
} StrandSchedulerConfig;

void strand_scheduler_config_init (StrandSchedulerConfig *config);

typedef struct _StrandScheduler StrandScheduler;

StrandScheduler *strand_scheduler_new (const StrandSchedulerConfig *config);
void strand_scheduler_free (StrandScheduler *scheduler);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandScheduler, strand_scheduler_free)

/* ---- machines ------------------------------------------------------------------ */

/* A machine with `slots` tasks at once, always operating, no limits on
 * cores, memory or GPUs. Returns its index (0, 1, ...). */
guint strand_scheduler_add_machine (StrandScheduler *scheduler, const char *id,
                                    const char *equipment_class, guint slots);
/* A machine from the inventory: capacity, per-slot resources, operating
 * hours, maintenance windows, and its service state (equipment-health.h),
 * which the scheduler reads as the monitor keeps it: a machine takes no
 * task whose run would carry it past a service it is due for (a usage
 * counter or the calendar). The inventory must outlive the scheduler. */
guint strand_scheduler_add_equipment (StrandScheduler *scheduler, const StrandEquipment *equipment);
void strand_scheduler_add_inventory (StrandScheduler *scheduler, const StrandInventory *inventory);
/* A planned stop (maintenance, an announced outage) from start to end. */
void strand_scheduler_add_downtime (StrandScheduler *scheduler, guint machine, gint64 start_us,
                                    gint64 end_us);
/* Predictive maintenance: the machine is due for service at `due_us` and
 * takes no task that would end after it (G_MAXINT64: not due, e.g. after a
 * service). */
void strand_scheduler_set_due (StrandScheduler *scheduler, guint machine, gint64 due_us);
/* The machine failed: it takes nothing until strand_scheduler_machine_up().
 * The tasks it was running go back to the queue (with their completed
 * predecessors kept) and are appended to `interrupted` (guint, may be NULL)
 * so the executor can stop them. Returns how many. */
guint strand_scheduler_machine_down (StrandScheduler *scheduler, guint machine,
                                     GArray *interrupted);
void strand_scheduler_machine_up (StrandScheduler *scheduler, guint machine);

guint strand_scheduler_machine_count (const StrandScheduler *scheduler);
const char *strand_scheduler_machine_id (const StrandScheduler *scheduler, guint machine);
/* How many machines of the class there are. */
guint strand_scheduler_class_machine_count (const StrandScheduler *scheduler, const char *equipment_class);
/* The machine of that id, or STRAND_SCHEDULER_NONE. */
guint strand_scheduler_find_machine (const StrandScheduler *scheduler, const char *id);

/* ---- samples and tasks ------------------------------------------------------------ */

typedef struct {
  const char *id;
  StrandClinicalClass clinical;
  gint64 arrived_us;      /* when it joined the queue, for aging; 0: now */
  gint64 usable_until_us; /* degradation.h; G_MAXINT64: does not degrade */
  gint64 due_us;          /* a result is due; G_MAXINT64: no due time */
} StrandSampleInfo;

guint strand_scheduler_add_sample (StrandScheduler *scheduler, const StrandSampleInfo *info);
/* The same from a sample sheet's entry: class from its priority, usable
 * until from the sample-types table (may be NULL), due from its "due". */
guint strand_scheduler_add_sheet_sample (StrandScheduler *scheduler, const StrandSample *sample,
                                         const StrandSampleTypes *types);
guint strand_scheduler_sample_count (const StrandScheduler *scheduler);
const char *strand_scheduler_sample_id (const StrandScheduler *scheduler, guint sample);

typedef struct {
  const char *stage;           /* names the estimate: durations are learnt per stage and class */
  const char *equipment_class; /* NULL: "compute" */
  gint64 estimate_us;          /* declared estimate; 0: none */
  guint cores;                 /* per-slot needs; 0: none */
  guint64 memory_bytes;
  guint gpus;
  gboolean stabilises;         /* once it ends, the sample no longer degrades */
  const guint *after;          /* tasks of the same sample that must finish first */
  guint n_after;
  guint holds;                 /* prerequisites the scheduler does not see (another
                                * sample's task, a back-off): released one by one
                                * with strand_scheduler_release() */
} StrandTaskInfo;

/* Adds a task of `sample`. It is ready as soon as every task in `after` has
 * finished (at once when there is none). Returns its index (0, 1, ...), or
 * STRAND_SCHEDULER_NONE when `after` names an unknown task or one of
 * another sample. */
guint strand_scheduler_add_task (StrandScheduler *scheduler, guint sample,
                                 const StrandTaskInfo *info);
/* Flexible shops: the task may run on `machine` for exactly `duration_us`.
 * Once a task has options it runs only on them. */
void strand_scheduler_add_option (StrandScheduler *scheduler, guint task, guint machine,
                                  gint64 duration_us);

typedef enum {
  STRAND_TASK_WAITING = 0, /* for tasks it comes after */
  STRAND_TASK_READY,
  STRAND_TASK_RUNNING,
  STRAND_TASK_DONE,
  STRAND_TASK_CANCELLED,
} StrandTaskState;

StrandTaskState strand_scheduler_task_state (const StrandScheduler *scheduler, guint task);
guint strand_scheduler_task_sample (const StrandScheduler *scheduler, guint task);
guint strand_scheduler_task_count (const StrandScheduler *scheduler);
/* Where and when a running or finished task started (FALSE if it has not). */
gboolean strand_scheduler_task_placement (const StrandScheduler *scheduler, guint task,
                                          guint *machine, gint64 *start_us, gint64 *end_us);

/* The task ended well: its successors may become ready, and its duration
 * refines the estimate of its stage on that class. FALSE (and nothing
 * changes) when the task was not running, e.g. after machine_down(). */
gboolean strand_scheduler_task_finished (StrandScheduler *scheduler, guint task);
/* The task failed: `requeue` puts it back in the queue (a retry); otherwise
 * the sample is dropped and its tasks not yet started are cancelled. */
gboolean strand_scheduler_task_failed (StrandScheduler *scheduler, guint task, gboolean requeue);
/* What the scheduler cannot see. A task waits for its holds as for its
 * predecessors: hold() puts a ready task back to waiting (a back-off before
 * a retry), release() lifts one hold. FALSE when the task is running or
 * over (hold) or has no hold (release). */
gboolean strand_scheduler_hold (StrandScheduler *scheduler, guint task);
gboolean strand_scheduler_release (StrandScheduler *scheduler, guint task);
/* A task that will not run here is over: its result came from elsewhere
 * (an earlier run's verified output) or it was dropped. Its successors no
 * longer wait for it (they still wait for their holds); no duration is
 * learnt. A running task is first put back with task_failed(). FALSE when
 * it is running or over. */
gboolean strand_scheduler_task_retire (StrandScheduler *scheduler, guint task);
/* The task must not run on `machine` again (rerouted after a failure there):
 * from then on it runs only on the other machines of its class, or on its
 * other options. FALSE, and nothing changes, when no machine would be left. */
gboolean strand_scheduler_exclude_machine (StrandScheduler *scheduler, guint task, guint machine);
/* Cancels every task of the sample not yet started. */
void strand_scheduler_cancel_sample (StrandScheduler *scheduler, guint sample);
/* Processes a flagged sample anyway, knowing it will be late. */
void strand_scheduler_accept_late (StrandScheduler *scheduler, guint sample);

/* ---- decisions --------------------------------------------------------------------- */

typedef struct {
  guint task;
  guint sample;
  guint machine;
  guint slot;
  gint64 start_us;
  gint64 end_us;   /* expected */
} StrandAssignment;

/* Starts what can start now and appends it to `started` (StrandAssignment);
 * those tasks are running from now on. Returns how many. */
guint strand_scheduler_decide (StrandScheduler *scheduler, GArray *started);
/* The starts the last decision reserved (StrandAssignment, by start): the
 * forecast of what runs next, assuming the estimates hold. */
const GArray *strand_scheduler_reservations (const StrandScheduler *scheduler);
/* The earliest time at which decide() could start something without news
 * (a machine opens or leaves maintenance, a reserved start on an idle
 * machine, a sample changes priority band, or, with tasks queued, the
 * horizon moving on); G_MAXINT64 when nothing but news can. Task ends are
 * news: the executor reports them. */
gint64 strand_scheduler_next_decision_us (StrandScheduler *scheduler);

typedef struct {
  guint sample;
  gint64 at_us;            /* when it was seen */
  gint64 latest_start_us;  /* how late its next task could have started */
  gint64 usable_until_us;
  gint64 due_us;
} StrandSampleFlag;

/* Samples flagged infeasible since the last call (StrandSampleFlag). Brings
 * priorities up to now first, so a flag is never late. */
guint strand_scheduler_take_flags (StrandScheduler *scheduler, GArray *flags);
/* Tasks that no machine can run within the horizon (no machine of the
 * class with the resources, or no window long enough), reported once each
 * (guint); they stay queued in case a machine is added. */
guint strand_scheduler_take_unplaceable (StrandScheduler *scheduler, GArray *tasks);

/* ---- estimates ----------------------------------------------------------------------- */

/* The weighted mean duration of the observed runs of `stage` on
 * `equipment_class`, or -1 when none has been observed. */
gint64 strand_scheduler_observed_estimate_us (const StrandScheduler *scheduler, const char *stage,
                                              const char *equipment_class);
/* The duration the scheduler expects for `task` on `machine`
 * (STRAND_SCHEDULER_NONE: its shortest option, or its class). */
gint64 strand_scheduler_task_estimate_us (const StrandScheduler *scheduler, guint task,
                                          guint machine);

/* The priority table, for reports and benchmarks. */
StrandPriorityTable *strand_scheduler_priorities (StrandScheduler *scheduler);

/* ---- planning -------------------------------------------------------------------------- */

/* Plans the order of every task not yet started with the planner, from now
 * on, treating each slot of each machine as one machine of the plan.
 * Decisions follow the plan until it is dropped (a machine goes down, a
 * task is added or fails) or done. `stats` may be NULL. FALSE when there is
 * nothing to plan. */
gboolean strand_scheduler_plan (StrandScheduler *scheduler, const StrandPlannerOptions *options,
                                StrandPlannerStats *stats);
void strand_scheduler_drop_plan (StrandScheduler *scheduler);
gboolean strand_scheduler_has_plan (const StrandScheduler *scheduler);

G_END_DECLS
