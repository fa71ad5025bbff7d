/* Which sample goes first: priority from slack, clinical class and aging.
 *
 * The scheduler keeps one entry per sample in a priority table and tells it
 * what changes (deadlines, work still ahead, whether the sample has a task
 * ready); the table keeps every sample's rank and the order of the samples
 * that have a ready task. It is a structure of arrays with no allocation per
 * sample, and a recalculation touches only what changed: the samples marked
 * dirty since the last one, plus, when time has passed one of the instants
 * at which some sample changes band, one vectorisable pass over a single
 * array (each sample's next such instant) that finds those samples. Within
 * a band the order does not depend on time, so between those instants the
 * order needs no work at all. Each band is a heap of entries that carry
 * their own keys; a sample that moves gets a new entry and its old one goes
 * stale, to be skipped and swept out in bulk.
 *
 * Terms (all times are wall microseconds from the clock):
 *   usable until   when the sample stops being usable (degradation.h);
 *   due            when a result is due (the sample sheet's "due");
 *   work           processing time still ahead on the sample's critical
 *                  path: up to the task that stabilises it (for "usable
 *                  until") and up to its last task (for "due");
 *   latest start   L = min(usable until - work to stabilise, due - all work):
 *                  the last moment the sample's next task can start and
 *                  still meet both;
 *   slack          L - now;
 *   next task      the duration of the sample's next task (its ready task
 *                  with the longest path ahead).
 *
 * The rules, in order:
 *  1. Infeasible: slack < 0, or a task already running cannot end before a
 *     deadline. The sample is flagged the moment that becomes true (at the
 *     recalculation that sees it) and leaves the queue: it is never
 *     processed late without someone knowing. strand_priority_take_flagged()
 *     hands the flags over once; strand_priority_accept_late() returns a
 *     sample to the queue with its deadlines dropped, as a knowing decision.
 *  2. Critical: 0 <= slack < critical margin. The sample is lost unless it
 *     starts soon, so it goes before every sample outside this band, STAT
 *     included: a STAT sample that can still wait is delayed by the length
 *     of one task, while an expiring sample that waits is gone for good. A
 *     STAT sample whose own slack is that short is critical too, and then
 *     the two compete by slack. Critical samples go least slack first.
 *  3. Everyone else by clinical class, STAT, then urgent, then routine. A
 *     sample is promoted one class for every `aging_step` it has waited
 *     since it arrived (routine becomes urgent, urgent becomes STAT), so no
 *     class starves another.
 *  4. Within a class, samples under deadline pressure go first, least slack
 *     first; a sample is under pressure when its slack is below
 *     `pressure_window`, its latest start counting as at most
 *     `slack_horizon` after it arrived. So every sample comes under pressure
 *     at the latest `slack_horizon - pressure_window` after it arrived (one
 *     without a deadline then ranks as due `slack_horizon` after arrival,
 *     first come first served), and none is overtaken forever by newer ones.
 *  5. Samples without deadline pressure come after those of their class,
 *     ordered for throughput: the largest ratio of work still ahead to the
 *     duration of its next task first, i.e. the task that frees the most
 *     downstream work per hour of equipment (Smith's rule, weighted by the
 *     work ahead).
 *  6. Ties, in every band: STAT before urgent before routine (the sample's
 *     own class, not its promoted one), then the one that arrived first,
 *     then the one added to the table first. The order is therefore total
 *     and deterministic: the same inputs give the same order on every run. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  STRAND_CLINICAL_STAT = 0,
  STRAND_CLINICAL_URGENT = 1,
  STRAND_CLINICAL_ROUTINE = 2,
} StrandClinicalClass;

/* "stat", "urgent" or "routine" (NULL: routine). FALSE for anything else. */
gboolean strand_clinical_class_parse (const char *text, StrandClinicalClass *out);
const char *strand_clinical_class_name (StrandClinicalClass c);

/* Bands in order: each class has a pressed part (rule 4) and a relaxed one
 * (rule 5). */
typedef enum {
  STRAND_RANK_CRITICAL = 0,
  STRAND_RANK_STAT,
  STRAND_RANK_STAT_RELAXED,
  STRAND_RANK_URGENT,
  STRAND_RANK_URGENT_RELAXED,
  STRAND_RANK_ROUTINE,
  STRAND_RANK_ROUTINE_RELAXED,
  STRAND_RANK_INFEASIBLE, /* flagged; out of the queue */
  STRAND_RANK_IDLE,       /* no task ready: not in the queue */
} StrandRank;

typedef struct {
  gint64 critical_margin_us; /* rule 2; default 1 h */
  gint64 aging_step_us;      /* rule 3; default 8 h */
  gint64 pressure_window_us; /* rule 4; default 24 h */
  gint64 slack_horizon_us;   /* rule 4; default 72 h; G_MAXINT64: no cap */
} StrandPriorityConfig;

void strand_priority_config_init (StrandPriorityConfig *config);

typedef struct _StrandPriorityTable StrandPriorityTable;

StrandPriorityTable *strand_priority_table_new (const StrandPriorityConfig *config,
                                                guint expected_samples);
void strand_priority_table_free (StrandPriorityTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPriorityTable, strand_priority_table_free)

/* Adds a sample that arrived at `arrived_us`; returns its index (0, 1, ...).
 * It has no deadline, no work and no ready task until told. */
guint strand_priority_add (StrandPriorityTable *table, StrandClinicalClass clinical,
                           gint64 arrived_us);
guint strand_priority_count (const StrandPriorityTable *table);

/* Deadlines (G_MAXINT64: none), the work ahead of each and the duration of
 * the next task (microseconds). */
void strand_priority_set_deadlines (StrandPriorityTable *table, guint sample,
                                    gint64 usable_until_us, gint64 work_to_stabilise_us,
                                    gint64 due_us, gint64 work_to_finish_us, gint64 next_task_us);
/* What tasks already running commit to: the earliest the sample can be
 * stabilised and finished whatever else happens (G_MININT64: nothing). */
void strand_priority_set_committed (StrandPriorityTable *table, guint sample,
                                    gint64 stabilised_by_us, gint64 finished_by_us);
void strand_priority_set_clinical (StrandPriorityTable *table, guint sample,
                                   StrandClinicalClass clinical);
/* Whether the sample has a task ready to start (only those are ordered). */
void strand_priority_set_queued (StrandPriorityTable *table, guint sample, gboolean queued);
/* Rule 1: processes a flagged sample anyway, its deadlines dropped. */
void strand_priority_accept_late (StrandPriorityTable *table, guint sample);
/* The sample is finished or cancelled: it leaves the queue for good. */
void strand_priority_retire (StrandPriorityTable *table, guint sample);

/* Brings every rank and the order up to `now` (which never goes back). */
void strand_priority_recalculate (StrandPriorityTable *table, gint64 now_us);
/* The next instant at which some rank changes by time alone (G_MAXINT64:
 * none); until then a recalculation with nothing dirty does nothing. */
gint64 strand_priority_next_change_us (const StrandPriorityTable *table);

/* Appends the samples flagged infeasible since the last call (guint). */
guint strand_priority_take_flagged (StrandPriorityTable *table, GArray *samples);

StrandRank strand_priority_rank (const StrandPriorityTable *table, guint sample);
gint64 strand_priority_latest_start_us (const StrandPriorityTable *table, guint sample);
gboolean strand_priority_is_flagged (const StrandPriorityTable *table, guint sample);
/* Samples in the queue (with a task ready and not flagged). */
guint strand_priority_queued (const StrandPriorityTable *table);

/* Walks the queue in order, best first, without changing it: start, then
 * next until it returns -1. One walk at a time; any change to the table
 * ends it. Costs O(k log k) for the first k samples. */
void strand_priority_walk_start (StrandPriorityTable *table);
gint64 strand_priority_walk_next (StrandPriorityTable *table);

G_END_DECLS
