/* The scheduler from the facility's side, on the discrete-event clock: an
 * expiring sample overtakes older ones, STAT against an expiring sample,
 * maintenance never overlapped, a long task kept off a machine nearly due
 * for service, backfill that never delays a reserved start, infeasible
 * samples flagged at once, a failed machine's task requeued, estimates
 * learnt from runs, and a facility week. Issue 6, parts 1, 2 and 4. */
#include "scheduler.h"

#include <string.h>

#include "clock.h"

#define MIN_US ((gint64) 60 * G_USEC_PER_SEC)
#define HOUR_US (60 * MIN_US)
#define DAY_US (24 * HOUR_US)
#define T0 ((gint64) 1799020800 * G_USEC_PER_SEC) /* Monday 2027-01-04 00:00 UTC */
#define NO G_MAXINT64

/* ---- a small simulator: the executor's part ------------------------------------- */

typedef struct _Sim Sim;

typedef struct {
  Sim *sim;
  guint task;
} Ending;

struct _Sim {
  StrandScheduler *s;
  GArray *started;     /* StrandAssignment, every start in order */
  GArray *flags;       /* StrandSampleFlag */
  GPtrArray *endings;  /* Ending*, owned */
  GHashTable *overrun; /* task -> actual duration (gint64*), when not the estimate */
  GHashTable *first_reserved; /* task -> earliest start it was ever reserved (gint64*) */
  guint finished;
};

static void
on_end (gint64 due_us, gpointer data)
{
  Ending *e = data;
  if (strand_scheduler_task_finished (e->sim->s, e->task))
    e->sim->finished++;
}

static Sim *
sim_new (StrandScheduler *s)
{
  Sim *sim = g_new0 (Sim, 1);
  sim->s = s;
  sim->started = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  sim->flags = g_array_new (FALSE, FALSE, sizeof (StrandSampleFlag));
  sim->endings = g_ptr_array_new_with_free_func (g_free);
  sim->overrun = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  sim->first_reserved = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  return sim;
}

static void
sim_free (Sim *sim)
{
  g_array_unref (sim->started);
  g_array_unref (sim->flags);
  g_ptr_array_unref (sim->endings);
  g_hash_table_unref (sim->overrun);
  g_hash_table_unref (sim->first_reserved);
  g_free (sim);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Sim, sim_free)

/* One decision: start what starts, schedule each end, note reservations. */
static void
sim_decide (Sim *sim)
{
  g_autoptr (GArray) now_started = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  strand_scheduler_decide (sim->s, now_started);
  for (guint k = 0; k < now_started->len; k++)
    {
      StrandAssignment *a = &g_array_index (now_started, StrandAssignment, k);
      g_array_append_val (sim->started, *a);
      Ending *e = g_new (Ending, 1);
      e->sim = sim;
      e->task = a->task;
      g_ptr_array_add (sim->endings, e);
      gint64 *actual = g_hash_table_lookup (sim->overrun, GUINT_TO_POINTER (a->task));
      strand_clock_schedule (actual ? a->start_us + *actual : a->end_us, on_end, e);
    }
  const GArray *res = strand_scheduler_reservations (sim->s);
  for (guint k = 0; k < res->len; k++)
    {
      const StrandAssignment *a = &g_array_index (res, StrandAssignment, k);
      gint64 *first = g_hash_table_lookup (sim->first_reserved, GUINT_TO_POINTER (a->task));
      if (first == NULL)
        g_hash_table_insert (sim->first_reserved, GUINT_TO_POINTER (a->task),
                             g_memdup2 (&a->start_us, sizeof (gint64)));
      else
        *first = MIN (*first, a->start_us);
    }
  strand_scheduler_take_flags (sim->s, sim->flags);
}

/* Runs decisions and events until `until` (the way a host's loop would). */
static void
sim_run_until (Sim *sim, gint64 until)
{
  for (guint guard = 0; guard < 1000000; guard++)
    {
      sim_decide (sim);
      gint64 now = strand_clock_now_us ();
      gint64 next = strand_scheduler_next_decision_us (sim->s);
      strand_scheduler_take_flags (sim->s, sim->flags);
      if (next <= now)
        next = NO;
      gint64 event = strand_clock_next_event_us ();
      gint64 at = MIN (next, event);
      if (at > until)
        {
          if (until > now)
            strand_clock_advance_us (until - now);
          sim_decide (sim);
          return;
        }
      if (event <= next)
        strand_clock_run_next (G_MAXINT64);
      else
        strand_clock_advance_us (next - now);
    }
  g_error ("the simulation does not settle");
}

static const StrandAssignment *
start_of (Sim *sim, guint task)
{
  for (guint k = 0; k < sim->started->len; k++)
    if (g_array_index (sim->started, StrandAssignment, k).task == task)
      return &g_array_index (sim->started, StrandAssignment, k);
  return NULL;
}

static StrandScheduler *
scheduler_new (void)
{
  StrandSchedulerConfig c;
  strand_scheduler_config_init (&c);
  return strand_scheduler_new (&c);
}

static guint
sample (StrandScheduler *s, const char *id, StrandClinicalClass c, gint64 usable, gint64 due)
{
  StrandSampleInfo info = { .id = id, .clinical = c, .usable_until_us = usable, .due_us = due };
  return strand_scheduler_add_sample (s, &info);
}

static guint
task (StrandScheduler *s, guint sample_index, const char *cls, gint64 estimate, const guint *after,
      guint n_after)
{
  StrandTaskInfo t = { .stage = cls, .equipment_class = cls, .estimate_us = estimate,
                       .after = after, .n_after = n_after };
  guint i = strand_scheduler_add_task (s, sample_index, &t);
  g_assert_cmpuint (i, !=, STRAND_SCHEDULER_NONE);
  return i;
}

/* ---- the behaviours --------------------------------------------------------------- */

/* A and B wait for the sequencer; later C arrives in an EDTA tube that must
 * be processed soon, and D with no deadline: C goes before B, D last. */
static void
test_expiring_overtakes (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  strand_scheduler_add_machine (s, "seq-1", "seq", 1);
  g_autoptr (Sim) sim = sim_new (s);
  guint ta = task (s, sample (s, "A", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", 2 * HOUR_US, NULL, 0);
  guint tb = task (s, sample (s, "B", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", 2 * HOUR_US, NULL, 0);
  sim_run_until (sim, T0 + HOUR_US);
  guint tc = task (s, sample (s, "C", STRAND_CLINICAL_ROUTINE, T0 + 4 * HOUR_US + 30 * MIN_US, NO), "seq",
                   2 * HOUR_US, NULL, 0);
  guint td = task (s, sample (s, "D", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", 2 * HOUR_US, NULL, 0);
  sim_run_until (sim, T0 + DAY_US);
  g_assert_cmpuint (sim->finished, ==, 4);
  g_assert_cmpint (start_of (sim, ta)->start_us, ==, T0);
  g_assert_cmpint (start_of (sim, tc)->start_us, ==, T0 + 2 * HOUR_US);
  g_assert_cmpint (start_of (sim, tb)->start_us, ==, T0 + 4 * HOUR_US);
  g_assert_cmpint (start_of (sim, td)->start_us, ==, T0 + 6 * HOUR_US);
  g_assert_cmpuint (sim->flags->len, ==, 0);
}

/* As documented in priority.h: an expiring sample goes before a STAT one
 * that can wait; a STAT sample with less slack goes first, and the other
 * is flagged the moment it can no longer make it, never run late. */
static void
test_stat_against_expiring (void)
{
  for (int variant = 0; variant < 2; variant++)
    {
      strand_clock_use_discrete (T0);
      g_autoptr (StrandScheduler) s = scheduler_new ();
      strand_scheduler_add_machine (s, "seq-1", "seq", 1);
      g_autoptr (Sim) sim = sim_new (s);
      task (s, sample (s, "X", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", HOUR_US, NULL, 0);
      sim_run_until (sim, T0 + 30 * MIN_US);
      gint64 stat_due = variant == 0 ? T0 + 6 * HOUR_US : T0 + 2 * HOUR_US + 12 * MIN_US;
      guint stat = sample (s, "S", STRAND_CLINICAL_STAT, NO, stat_due);
      guint ts = task (s, stat, "seq", HOUR_US, NULL, 0);
      guint expiring = sample (s, "E", STRAND_CLINICAL_ROUTINE, T0 + 2 * HOUR_US + 30 * MIN_US, NO);
      guint te = task (s, expiring, "seq", HOUR_US, NULL, 0);
      sim_run_until (sim, T0 + DAY_US);
      if (variant == 0)
        {
          g_assert_cmpint (start_of (sim, te)->start_us, ==, T0 + HOUR_US);
          g_assert_cmpint (start_of (sim, ts)->start_us, ==, T0 + 2 * HOUR_US);
          g_assert_cmpuint (sim->flags->len, ==, 0);
        }
      else
        {
          g_assert_cmpint (start_of (sim, ts)->start_us, ==, T0 + HOUR_US);
          g_assert_null (start_of (sim, te));
          g_assert_cmpuint (sim->flags->len, ==, 1);
          StrandSampleFlag *f = &g_array_index (sim->flags, StrandSampleFlag, 0);
          g_assert_cmpuint (f->sample, ==, expiring);
          /* Seen the first instant its latest start (01:30) had passed. */
          g_assert_cmpint (f->latest_start_us, ==, T0 + 90 * MIN_US);
          g_assert_cmpint (f->at_us, ==, T0 + 90 * MIN_US + 1);
          g_assert_cmpint (strand_scheduler_task_state (s, te), ==, STRAND_TASK_READY);
        }
    }
}

/* A sample that cannot make its window is flagged before anything runs,
 * and runs only once someone accepts it late. */
static void
test_infeasible_flagged_at_once (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  strand_scheduler_add_machine (s, "c-1", "compute", 4);
  g_autoptr (Sim) sim = sim_new (s);
  guint ok = sample (s, "fine", STRAND_CLINICAL_ROUTINE, NO, T0 + 4 * HOUR_US);
  task (s, ok, "compute", HOUR_US, NULL, 0);
  guint late = sample (s, "late", STRAND_CLINICAL_STAT, NO, T0 + HOUR_US);
  guint first = task (s, late, "compute", 45 * MIN_US, NULL, 0);
  guint second = task (s, late, "compute", 45 * MIN_US, &first, 1);
  g_autoptr (GArray) flags = g_array_new (FALSE, FALSE, sizeof (StrandSampleFlag));
  g_assert_cmpuint (strand_scheduler_take_flags (s, flags), ==, 1);
  StrandSampleFlag *f = &g_array_index (flags, StrandSampleFlag, 0);
  g_assert_cmpuint (f->sample, ==, late);
  g_assert_cmpint (f->at_us, ==, T0);
  g_assert_cmpint (f->due_us, ==, T0 + HOUR_US);
  g_assert_cmpint (f->latest_start_us, ==, T0 - 30 * MIN_US);
  sim_run_until (sim, T0 + 10 * MIN_US);
  g_assert_null (start_of (sim, first));
  g_assert_cmpuint (sim->started->len, ==, 1);
  strand_scheduler_accept_late (s, late);
  sim_run_until (sim, T0 + DAY_US);
  g_assert_cmpint (start_of (sim, first)->start_us, ==, T0 + 10 * MIN_US);
  g_assert_cmpint (start_of (sim, second)->start_us, ==, T0 + 55 * MIN_US);
  g_assert_cmpuint (sim->flags->len, ==, 0); /* never flagged twice */
}

/* The sequencer closes for maintenance 03:00-05:00. The STAT task (4 h)
 * cannot finish before it and reserves 05:00; a 1 h routine task fills the
 * gap now, a 2 h one after it (ending at 03:00 sharp); the 2.5 h one fits
 * neither and waits until the STAT task has ended. */
static void
test_backfill (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  guint m = strand_scheduler_add_machine (s, "seq-1", "seq", 1);
  strand_scheduler_add_downtime (s, m, T0 + 3 * HOUR_US, T0 + 5 * HOUR_US);
  g_autoptr (Sim) sim = sim_new (s);
  guint h = task (s, sample (s, "H", STRAND_CLINICAL_STAT, NO, NO), "seq", 4 * HOUR_US, NULL, 0);
  guint l1 = task (s, sample (s, "L1", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", HOUR_US, NULL, 0);
  guint l2 = task (s, sample (s, "L2", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", 150 * MIN_US, NULL, 0);
  guint l3 = task (s, sample (s, "L3", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", 2 * HOUR_US, NULL, 0);
  sim_decide (sim);
  const GArray *res = strand_scheduler_reservations (s);
  g_assert_cmpuint (res->len, ==, 3);
  g_assert_cmpuint (g_array_index (res, StrandAssignment, 0).task, ==, l3);
  g_assert_cmpint (g_array_index (res, StrandAssignment, 0).start_us, ==, T0 + HOUR_US);
  g_assert_cmpuint (g_array_index (res, StrandAssignment, 1).task, ==, h);
  g_assert_cmpint (g_array_index (res, StrandAssignment, 1).start_us, ==, T0 + 5 * HOUR_US);
  g_assert_cmpuint (g_array_index (res, StrandAssignment, 2).task, ==, l2);
  g_assert_cmpint (g_array_index (res, StrandAssignment, 2).start_us, ==, T0 + 9 * HOUR_US);
  sim_run_until (sim, T0 + DAY_US);
  g_assert_cmpint (start_of (sim, l1)->start_us, ==, T0);
  g_assert_cmpint (start_of (sim, l3)->start_us, ==, T0 + HOUR_US);
  g_assert_cmpint (start_of (sim, h)->start_us, ==, T0 + 5 * HOUR_US);
  g_assert_cmpint (start_of (sim, l2)->start_us, ==, T0 + 9 * HOUR_US);
}

/* S1 is due for service in two hours; S2 is busy for one. The 5 h run goes
 * to S2 and waits for it; a 1 h run may use S1 now. After 02:00 S1 takes
 * nothing until it is serviced. */
static void
test_nearly_due_machine (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  guint s1 = strand_scheduler_add_machine (s, "S1", "seq", 1);
  guint s2 = strand_scheduler_add_machine (s, "S2", "seq", 1);
  g_autoptr (Sim) sim = sim_new (s);
  guint busy = task (s, sample (s, "busy", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", HOUR_US, NULL, 0);
  strand_scheduler_add_option (s, busy, s2, HOUR_US); /* this one runs on S2 only */
  sim_decide (sim);
  g_assert_cmpuint (start_of (sim, busy)->machine, ==, s2);
  strand_scheduler_set_due (s, s1, T0 + 2 * HOUR_US);
  guint longer = task (s, sample (s, "long", STRAND_CLINICAL_STAT, NO, NO), "seq", 5 * HOUR_US, NULL, 0);
  guint shorter = task (s, sample (s, "short", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", HOUR_US, NULL, 0);
  sim_decide (sim);
  const GArray *res = strand_scheduler_reservations (s);
  g_assert_cmpuint (res->len, ==, 1);
  g_assert_cmpuint (g_array_index (res, StrandAssignment, 0).task, ==, longer);
  g_assert_cmpuint (g_array_index (res, StrandAssignment, 0).machine, ==, s2);
  sim_run_until (sim, T0 + DAY_US);
  const StrandAssignment *l = start_of (sim, longer), *sh = start_of (sim, shorter);
  g_assert_cmpuint (l->machine, ==, s2);
  g_assert_cmpint (l->start_us, ==, T0 + HOUR_US);
  g_assert_cmpuint (sh->machine, ==, s1);
  g_assert_cmpint (sh->start_us, ==, T0);
  guint after = task (s, sample (s, "after", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", 10 * MIN_US, NULL, 0);
  sim_run_until (sim, T0 + 2 * DAY_US);
  g_assert_cmpuint (start_of (sim, after)->machine, ==, s2);
  /* Serviced: S1 takes work again. */
  strand_scheduler_set_due (s, s1, NO);
  guint serviced = task (s, sample (s, "serviced", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", 10 * MIN_US, NULL, 0);
  strand_scheduler_add_option (s, serviced, s1, 10 * MIN_US);
  sim_run_until (sim, T0 + 3 * DAY_US);
  g_assert_cmpint (start_of (sim, serviced)->start_us, ==, T0 + 2 * DAY_US);
}

/* Service counters from the inventory: seq-a has 10 busy hours left
 * before its service, seq-b is fresh but busy for an hour. The 12 h run
 * waits for seq-b; a 2 h run takes seq-a at once. */
static void
test_service_counters (void)
{
  strand_clock_use_discrete (T0);
  static const char json[] =
      "{\"equipment\": ["
      " {\"id\": \"seq-a\", \"class\": \"seq\", \"service\": {\"last\": \"2026-12-01T00:00:00Z\","
      "  \"counters\": {\"hours\": {\"count\": 1990, \"due\": 2000}}}},"
      " {\"id\": \"seq-b\", \"class\": \"seq\", \"service\": {\"last\": \"2027-01-01T00:00:00Z\","
      "  \"counters\": {\"hours\": {\"count\": 40, \"due\": 2000}}}}]}";
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandInventory) inv = strand_inventory_load_data (json, strlen (json), "inv.json", problems);
  g_assert_nonnull (inv);
  g_assert_cmpuint (problems->len, ==, 0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  strand_scheduler_add_inventory (s, inv);
  guint a = strand_scheduler_find_machine (s, "seq-a"), b = strand_scheduler_find_machine (s, "seq-b");
  g_autoptr (Sim) sim = sim_new (s);
  guint busy = task (s, sample (s, "busy", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", HOUR_US, NULL, 0);
  strand_scheduler_add_option (s, busy, b, HOUR_US);
  sim_decide (sim);
  guint longer = task (s, sample (s, "long", STRAND_CLINICAL_STAT, NO, NO), "seq", 12 * HOUR_US, NULL, 0);
  guint shorter = task (s, sample (s, "short", STRAND_CLINICAL_ROUTINE, NO, NO), "seq", 2 * HOUR_US, NULL, 0);
  sim_run_until (sim, T0 + DAY_US);
  g_assert_cmpuint (start_of (sim, longer)->machine, ==, b);
  g_assert_cmpint (start_of (sim, longer)->start_us, ==, T0 + HOUR_US);
  g_assert_cmpuint (start_of (sim, shorter)->machine, ==, a);
  g_assert_cmpint (start_of (sim, shorter)->start_us, ==, T0);
}

/* A machine fails mid-task: the task goes back to the queue and runs again
 * elsewhere; the finished task before it is kept. */
static void
test_failure_requeues (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  guint m1 = strand_scheduler_add_machine (s, "M1", "seq", 1);
  guint m2 = strand_scheduler_add_machine (s, "M2", "seq", 1);
  g_autoptr (Sim) sim = sim_new (s);
  guint smp = sample (s, "s", STRAND_CLINICAL_ROUTINE, NO, NO);
  guint a = task (s, smp, "seq", HOUR_US, NULL, 0);
  guint b = task (s, smp, "seq", 2 * HOUR_US, &a, 1);
  sim_run_until (sim, T0 + 90 * MIN_US);
  g_assert_cmpint (strand_scheduler_task_state (s, a), ==, STRAND_TASK_DONE);
  g_assert_cmpint (strand_scheduler_task_state (s, b), ==, STRAND_TASK_RUNNING);
  g_assert_cmpuint (start_of (sim, b)->machine, ==, m1);
  g_autoptr (GArray) interrupted = g_array_new (FALSE, FALSE, sizeof (guint));
  g_assert_cmpuint (strand_scheduler_machine_down (s, m1, interrupted), ==, 1);
  g_assert_cmpuint (g_array_index (interrupted, guint, 0), ==, b);
  g_assert_cmpint (strand_scheduler_task_state (s, b), ==, STRAND_TASK_READY);
  g_array_set_size (sim->started, 0);
  sim_run_until (sim, T0 + DAY_US);
  /* The old run's end event fired but was refused; b ran again on M2. */
  g_assert_cmpuint (sim->started->len, ==, 1);
  g_assert_cmpuint (start_of (sim, b)->machine, ==, m2);
  g_assert_cmpint (start_of (sim, b)->start_us, ==, T0 + 90 * MIN_US);
  g_assert_cmpint (strand_scheduler_task_state (s, b), ==, STRAND_TASK_DONE);
  guint placed = 0;
  gint64 a_start = 0;
  g_assert_true (strand_scheduler_task_placement (s, a, &placed, &a_start, NULL));
  g_assert_cmpuint (placed, ==, m1);
  g_assert_cmpint (a_start, ==, T0);
  g_assert_false (strand_scheduler_task_finished (s, b)); /* already done */
}

/* Observed runs refine the estimate: an exponentially weighted mean. */
static void
test_estimates (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  strand_scheduler_add_machine (s, "c", "compute", 1);
  g_autoptr (Sim) sim = sim_new (s);
  gint64 actual[] = { 2 * HOUR_US, 2 * HOUR_US, 3 * HOUR_US };
  for (guint k = 0; k < 3; k++)
    {
      g_autofree char *id = g_strdup_printf ("s%u", k);
      guint t = task (s, sample (s, id, STRAND_CLINICAL_ROUTINE, NO, NO), "compute", HOUR_US, NULL, 0);
      g_hash_table_insert (sim->overrun, GUINT_TO_POINTER (t), g_memdup2 (&actual[k], sizeof (gint64)));
    }
  g_assert_cmpint (strand_scheduler_observed_estimate_us (s, "compute", "compute"), ==, -1);
  sim_run_until (sim, T0 + DAY_US);
  g_assert_cmpuint (sim->finished, ==, 3);
  /* 2 h, then 0.3 * 2 + 0.7 * 2, then 0.3 * 3 + 0.7 * 2 = 2.3 h */
  g_assert_cmpint (strand_scheduler_observed_estimate_us (s, "compute", "compute"), ==, 138 * MIN_US);
  guint next = task (s, sample (s, "next", STRAND_CLINICAL_ROUTINE, NO, NO), "compute", HOUR_US, NULL, 0);
  sim_decide (sim);
  g_assert_cmpint (start_of (sim, next)->end_us - start_of (sim, next)->start_us, ==, 138 * MIN_US);
  g_assert_cmpint (strand_scheduler_task_estimate_us (s, next, STRAND_SCHEDULER_NONE), ==, 138 * MIN_US);
}

/* Few reservations, a busy compute machine and an idle bench: the bench's
 * task, last in the queue, still starts at once. */
static void
test_deep_task_starts (void)
{
  strand_clock_use_discrete (T0);
  StrandSchedulerConfig c;
  strand_scheduler_config_init (&c);
  c.reservation_depth = 2;
  g_autoptr (StrandScheduler) s = strand_scheduler_new (&c);
  strand_scheduler_add_machine (s, "cpu", "compute", 1);
  guint bench = strand_scheduler_add_machine (s, "bench", "wetlab", 1);
  g_autoptr (Sim) sim = sim_new (s);
  for (guint k = 0; k < 20; k++)
    {
      g_autofree char *id = g_strdup_printf ("c%u", k);
      task (s, sample (s, id, STRAND_CLINICAL_STAT, NO, NO), "compute", HOUR_US, NULL, 0);
    }
  guint wet = task (s, sample (s, "w", STRAND_CLINICAL_ROUTINE, NO, NO), "wetlab", HOUR_US, NULL, 0);
  sim_decide (sim);
  g_assert_cmpuint (sim->started->len, ==, 2);
  g_assert_cmpuint (strand_scheduler_reservations (s)->len, ==, 2);
  g_assert_cmpuint (start_of (sim, wet)->machine, ==, bench);
  g_assert_cmpint (start_of (sim, wet)->start_us, ==, T0);
}

/* A task no machine can take is reported once. */
static void
test_unplaceable (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  strand_scheduler_add_machine (s, "c", "compute", 2);
  guint smp = sample (s, "s", STRAND_CLINICAL_ROUTINE, NO, NO);
  guint gpu = task (s, smp, "gpu", HOUR_US, NULL, 0);
  StrandTaskInfo big = { .stage = "big", .equipment_class = "compute", .estimate_us = HOUR_US, .cores = 64 };
  strand_scheduler_add_task (s, smp, &big);
  g_autoptr (GArray) started = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  g_autoptr (GArray) lost = g_array_new (FALSE, FALSE, sizeof (guint));
  strand_scheduler_decide (s, started);
  /* "compute" machines state no cores: they do not limit, so "big" runs. */
  g_assert_cmpuint (started->len, ==, 1);
  g_assert_cmpuint (strand_scheduler_take_unplaceable (s, lost), ==, 1);
  g_assert_cmpuint (g_array_index (lost, guint, 0), ==, gpu);
  strand_scheduler_decide (s, started);
  g_assert_cmpuint (strand_scheduler_take_unplaceable (s, lost), ==, 0);
}

/* What the scheduler cannot see holds a task back: it starts only once
 * released; a hold while ready takes it out of decisions (a back-off); a
 * predecessor retired (reused from an earlier run) no longer blocks. */
static void
test_holds_and_retire (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  strand_scheduler_add_machine (s, "c", "compute", 4);
  guint smp = sample (s, "s", STRAND_CLINICAL_ROUTINE, NO, NO);
  StrandTaskInfo first = { .stage = "a", .estimate_us = HOUR_US, .holds = 1 };
  guint a = strand_scheduler_add_task (s, smp, &first);
  StrandTaskInfo second = { .stage = "b", .estimate_us = HOUR_US, .after = &a, .n_after = 1, .holds = 1 };
  guint b = strand_scheduler_add_task (s, smp, &second);
  StrandTaskInfo free_task = { .stage = "c", .estimate_us = HOUR_US };
  guint c = strand_scheduler_add_task (s, smp, &free_task);
  g_autoptr (GArray) started = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));

  g_assert_cmpint (strand_scheduler_task_state (s, a), ==, STRAND_TASK_WAITING);
  g_assert_cmpint (strand_scheduler_task_state (s, c), ==, STRAND_TASK_READY);
  g_assert_true (strand_scheduler_hold (s, c)); /* backs off */
  g_assert_cmpuint (strand_scheduler_decide (s, started), ==, 0);
  g_assert_true (strand_scheduler_release (s, a));
  g_assert_cmpint (strand_scheduler_task_state (s, a), ==, STRAND_TASK_READY);
  g_assert_false (strand_scheduler_release (s, a)); /* no hold left */
  g_assert_true (strand_scheduler_release (s, c));
  g_assert_cmpuint (strand_scheduler_decide (s, started), ==, 2);
  g_assert_false (strand_scheduler_hold (s, a)); /* running */
  g_assert_false (strand_scheduler_task_retire (s, a));

  /* a fails and its retry backs off; then an earlier run's output stands in. */
  g_assert_true (strand_scheduler_task_failed (s, a, TRUE));
  g_assert_true (strand_scheduler_hold (s, a));
  g_assert_true (strand_scheduler_task_retire (s, a));
  g_assert_cmpint (strand_scheduler_task_state (s, a), ==, STRAND_TASK_DONE);
  /* b no longer waits for a, only for its own hold. */
  g_assert_cmpint (strand_scheduler_task_state (s, b), ==, STRAND_TASK_WAITING);
  g_assert_true (strand_scheduler_release (s, b));
  g_assert_cmpint (strand_scheduler_task_state (s, b), ==, STRAND_TASK_READY);
  g_array_set_size (started, 0);
  g_assert_cmpuint (strand_scheduler_decide (s, started), ==, 1);
  g_assert_cmpuint (g_array_index (started, StrandAssignment, 0).task, ==, b);
  /* Nothing was learnt from a's retirement: only finished runs teach. */
  g_assert_cmpint (strand_scheduler_observed_estimate_us (s, "a", "compute"), ==, -1);
}

/* A task rerouted away from a machine runs on the others of its class;
 * the last one cannot be excluded. */
static void
test_exclude_machine (void)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  guint m1 = strand_scheduler_add_machine (s, "m1", "compute", 1);
  guint m2 = strand_scheduler_add_machine (s, "m2", "compute", 1);
  g_assert_cmpuint (strand_scheduler_class_machine_count (s, "compute"), ==, 2);
  g_assert_cmpuint (strand_scheduler_class_machine_count (s, "sequencer"), ==, 0);
  guint smp = sample (s, "s", STRAND_CLINICAL_ROUTINE, NO, NO);
  guint t = task (s, smp, "compute", HOUR_US, NULL, 0);
  g_autoptr (GArray) started = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  g_assert_cmpuint (strand_scheduler_decide (s, started), ==, 1);
  g_assert_cmpuint (g_array_index (started, StrandAssignment, 0).machine, ==, m1);
  g_assert_true (strand_scheduler_task_failed (s, t, TRUE));
  g_assert_true (strand_scheduler_exclude_machine (s, t, m1));
  g_assert_false (strand_scheduler_exclude_machine (s, t, m2)); /* its last machine */
  g_array_set_size (started, 0);
  g_assert_cmpuint (strand_scheduler_decide (s, started), ==, 1);
  g_assert_cmpuint (g_array_index (started, StrandAssignment, 0).machine, ==, m2);
}

/* ---- properties over random facilities ------------------------------------------- */

static const char *inventory_json =
    "{\"equipment\": ["
    " {\"id\": \"seq-day\", \"class\": \"seq\", \"hours\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"],"
    "   \"start\": \"08:00\", \"end\": \"20:00\"}],"
    "  \"maintenance\": [{\"start\": \"2027-01-05T10:00:00Z\", \"end\": \"2027-01-05T13:00:00Z\"}]},"
    " {\"id\": \"seq-night\", \"class\": \"seq\", \"hours\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"],"
    "   \"start\": \"18:00\", \"end\": \"06:00\"}]},"
    " {\"id\": \"seq-always\", \"class\": \"seq\", \"capacity\": 2,"
    "  \"maintenance\": [{\"start\": \"2027-01-04T06:00:00Z\", \"end\": \"2027-01-04T09:00:00Z\"},"
    "                   {\"start\": \"2027-01-06T00:00:00Z\", \"end\": \"2027-01-06T23:00:00Z\"}]},"
    " {\"id\": \"cpu\", \"class\": \"compute\", \"capacity\": 3,"
    "  \"maintenance\": [{\"start\": \"2027-01-04T12:00:00Z\", \"end\": \"2027-01-04T14:30:00Z\"}]},"
    " {\"id\": \"bench\", \"class\": \"wetlab\", \"hours\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"],"
    "   \"start\": \"07:00\", \"end\": \"19:00\"}]}"
    "]}";

static StrandInventory *
inventory (void)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inv = strand_inventory_load_data (inventory_json, strlen (inventory_json), "inv.json", problems);
  g_assert_nonnull (inv);
  g_assert_cmpuint (problems->len, ==, 0);
  return inv;
}

/* Every run: within operating hours and outside maintenance for its whole
 * length (checked with the inventory's own calendar code), at most
 * `capacity` at once on a machine, and after the tasks it comes after. */
static void
check_runs (StrandScheduler *s, const StrandInventory *inv, Sim *sim)
{
  for (guint k = 0; k < sim->started->len; k++)
    {
      const StrandAssignment *a = &g_array_index (sim->started, StrandAssignment, k);
      const StrandEquipment *e = inv->items->pdata[a->machine];
      gint64 end = 0;
      if (!strand_scheduler_task_placement (s, a->task, NULL, NULL, &end) ||
          strand_scheduler_task_state (s, a->task) != STRAND_TASK_DONE)
        end = a->end_us;
      if (end > a->start_us &&
          strand_equipment_longest_window (e, a->start_us, end) != end - a->start_us)
        g_error ("task %u runs on %s from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                 " through a stop", a->task, e->id, (a->start_us - T0) / MIN_US, (end - T0) / MIN_US);
      guint together = 0;
      for (guint j = 0; j < sim->started->len; j++)
        {
          const StrandAssignment *b = &g_array_index (sim->started, StrandAssignment, j);
          together += b->machine == a->machine && b->start_us <= a->start_us && a->start_us < b->end_us;
        }
      g_assert_cmpuint (together, <=, e->capacity);
    }
}

/* 150 single-task samples on four machines with hours and maintenance,
 * all queued at once: every run respects the calendars, and no task starts
 * later than the first start it was ever reserved (backfill never delays a
 * higher-ranked task's reserved start). */
static void
test_backfill_property (void)
{
  for (guint32 seed = 1; seed <= 3; seed++)
    {
      strand_clock_use_discrete (T0);
      g_autoptr (StrandInventory) inv = inventory ();
      g_autoptr (StrandScheduler) s = scheduler_new ();
      strand_scheduler_add_inventory (s, inv);
      g_autoptr (Sim) sim = sim_new (s);
      g_autoptr (GRand) rnd = g_rand_new_with_seed (seed);
      guint n = 150;
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *id = g_strdup_printf ("s%u", i);
          guint smp = sample (s, id, (StrandClinicalClass) g_rand_int_range (rnd, 0, 3), NO, NO);
          const char *cls = g_rand_int_range (rnd, 0, 3) == 0 ? "compute" : "seq";
          task (s, smp, cls, g_rand_int_range (rnd, 10, 9 * 60) * MIN_US, NULL, 0);
        }
      sim_run_until (sim, T0 + 28 * DAY_US);
      g_assert_cmpuint (sim->finished, ==, n);
      check_runs (s, inv, sim);
      for (guint t = 0; t < n; t++)
        {
          gint64 *first = g_hash_table_lookup (sim->first_reserved, GUINT_TO_POINTER (t));
          if (first != NULL && start_of (sim, t)->start_us > *first)
            g_error ("seed %u: task %u was reserved for %" G_GINT64_FORMAT " min but started at %"
                     G_GINT64_FORMAT, seed, t, (*first - T0) / MIN_US,
                     (start_of (sim, t)->start_us - T0) / MIN_US);
        }
    }
}

/* ---- a facility week --------------------------------------------------------------- */

typedef struct {
  StrandScheduler *s;
  const StrandSampleTypes *types;
  GRand *rnd;
  guint arrived;
  GArray *usable; /* gint64 per sample */
  GArray *due;    /* gint64 per sample */
} Arrivals;

static const char *const kind_names[] = { "cfdna-edta", "cfdna-stabilised", "rna-paxgene-blood",
                                          "dna-frozen", "ffpe-block" };

static void
arrive (gint64 due_us, gpointer data)
{
  Arrivals *ar = data;
  gint64 now = strand_clock_now_us ();
  guint kind = g_rand_int_range (ar->rnd, 0, G_N_ELEMENTS (kind_names));
  g_autofree char *id = g_strdup_printf ("S%04u", ar->arrived++);
  StrandSample *smp = strand_sample_new (id);
  smp->degradation_class = g_strdup (kind_names[kind]);
  smp->collected_us = now - g_rand_int_range (ar->rnd, 0, 90) * MIN_US;
  const char *prio[] = { "routine", "routine", "routine", "urgent", "stat" };
  smp->priority = g_strdup (prio[g_rand_int_range (ar->rnd, 0, 5)]);
  if (g_strcmp0 (smp->priority, "stat") == 0)
    smp->due_us = now + 30 * HOUR_US;
  guint i = strand_scheduler_add_sheet_sample (ar->s, smp, ar->types);
  gint64 usable = strand_sample_usable_until (ar->types, smp), due = smp->due_us ? smp->due_us : NO;
  g_array_append_val (ar->usable, usable);
  g_array_append_val (ar->due, due);
  strand_sample_free (smp);
  StrandTaskInfo extract = { .stage = "extract", .equipment_class = "wetlab",
                             .estimate_us = g_rand_int_range (ar->rnd, 20, 50) * MIN_US, .stabilises = TRUE };
  guint t1 = strand_scheduler_add_task (ar->s, i, &extract);
  StrandTaskInfo sequence = { .stage = "sequence", .equipment_class = "seq",
                              .estimate_us = g_rand_int_range (ar->rnd, 2 * 60, 7 * 60) * MIN_US,
                              .after = &t1, .n_after = 1 };
  guint t2 = strand_scheduler_add_task (ar->s, i, &sequence);
  StrandTaskInfo analyse = { .stage = "analyse", .equipment_class = "compute",
                             .estimate_us = g_rand_int_range (ar->rnd, 30, 120) * MIN_US,
                             .after = &t2, .n_after = 1 };
  strand_scheduler_add_task (ar->s, i, &analyse);
  /* about every 70 minutes: more than the sequencers can take */
  gint64 gap = g_rand_int_range (ar->rnd, 20, 120) * MIN_US;
  if (now + gap < T0 + 7 * DAY_US)
    strand_clock_schedule (now + gap, arrive, ar);
}

static GArray *
facility_week (guint32 seed, guint *completed_out)
{
  strand_clock_use_discrete (T0);
  g_autoptr (StrandInventory) inv = inventory ();
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autofree char *path = g_build_filename (STRAND_SOURCE_ROOT, "packaging", "sample-types.json", NULL);
  g_autoptr (StrandSampleTypes) types = strand_sample_types_load (path, problems);
  g_autoptr (StrandScheduler) s = scheduler_new ();
  strand_scheduler_add_inventory (s, inv);
  g_autoptr (Sim) sim = sim_new (s);
  g_autoptr (GRand) rnd = g_rand_new_with_seed (seed);
  Arrivals ar = { s, types, rnd, 0, g_array_new (FALSE, FALSE, sizeof (gint64)),
                  g_array_new (FALSE, FALSE, sizeof (gint64)) };
  strand_clock_schedule (T0, arrive, &ar);
  sim_run_until (sim, T0 + 7 * DAY_US);
  /* The last arrivals finish, nothing new comes. */
  sim_run_until (sim, T0 + 14 * DAY_US);
  check_runs (s, inv, sim);
  g_assert_cmpuint (ar.arrived, >, 80);

  /* Every task's predecessor ended before it started. */
  for (guint t = 0; t < strand_scheduler_task_count (s); t++)
    {
      gint64 start = 0, prev_end = 0;
      if (t % 3 == 0 || !strand_scheduler_task_placement (s, t, NULL, &start, NULL))
        continue;
      g_assert_true (strand_scheduler_task_placement (s, t - 1, NULL, NULL, &prev_end));
      g_assert_cmpint (start, >=, prev_end);
    }
  /* Each sample is done in its windows, or it was flagged before they
   * closed and nothing of it started after the flag. */
  guint completed = 0;
  for (guint i = 0; i < strand_scheduler_sample_count (s); i++)
    {
      const StrandSampleFlag *flag = NULL;
      for (guint k = 0; k < sim->flags->len; k++)
        if (g_array_index (sim->flags, StrandSampleFlag, k).sample == i)
          flag = &g_array_index (sim->flags, StrandSampleFlag, k);
      guint extract = 3 * i, last = 3 * i + 2;
      gint64 extract_end = 0, last_end = 0;
      gint64 usable = g_array_index (ar.usable, gint64, i), due = g_array_index (ar.due, gint64, i);
      if (flag != NULL)
        {
          g_assert_cmpint (flag->at_us, <=, MIN (usable, due));
          for (guint t = extract; t <= last; t++)
            {
              gint64 start = 0;
              if (strand_scheduler_task_placement (s, t, NULL, &start, NULL))
                g_assert_cmpint (start, <, flag->at_us);
            }
          continue;
        }
      if (strand_scheduler_task_state (s, last) != STRAND_TASK_DONE)
        g_error ("sample %u neither finished nor flagged", i);
      completed++;
      strand_scheduler_task_placement (s, extract, NULL, NULL, &extract_end);
      strand_scheduler_task_placement (s, last, NULL, NULL, &last_end);
      g_assert_cmpint (extract_end, <=, usable);
      g_assert_cmpint (last_end, <=, due);
    }
  g_test_message ("seed %u: %u samples, %u completed, %u flagged, %u runs", seed, ar.arrived,
                  completed, sim->flags->len, sim->started->len);
  *completed_out = completed;
  g_assert_cmpuint (sim->flags->len, >, 0);
  g_array_unref (ar.usable);
  g_array_unref (ar.due);
  GArray *log = g_array_copy (sim->started);
  return log;
}

/* A week of arrivals (every 30 to 160 minutes, five kinds of sample, three
 * stages on three kinds of equipment with hours and maintenance) runs to
 * the end on the discrete clock; everything above holds, and the same seed
 * gives the same decisions. */
static void
test_facility_week (void)
{
  guint completed = 0, again = 0;
  g_autoptr (GArray) a = facility_week (7, &completed);
  g_autoptr (GArray) b = facility_week (7, &again);
  g_assert_cmpuint (completed, >, 60);
  g_assert_cmpuint (completed, ==, again);
  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_cmpint (memcmp (a->data, b->data, a->len * sizeof (StrandAssignment)), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scheduler/expiring-overtakes", test_expiring_overtakes);
  g_test_add_func ("/scheduler/stat-against-expiring", test_stat_against_expiring);
  g_test_add_func ("/scheduler/infeasible-flagged-at-once", test_infeasible_flagged_at_once);
  g_test_add_func ("/scheduler/backfill", test_backfill);
  g_test_add_func ("/scheduler/nearly-due-machine", test_nearly_due_machine);
  g_test_add_func ("/scheduler/service-counters", test_service_counters);
  g_test_add_func ("/scheduler/failure-requeues", test_failure_requeues);
  g_test_add_func ("/scheduler/estimates", test_estimates);
  g_test_add_func ("/scheduler/deep-task-starts", test_deep_task_starts);
  g_test_add_func ("/scheduler/unplaceable", test_unplaceable);
  g_test_add_func ("/scheduler/holds-and-retire", test_holds_and_retire);
  g_test_add_func ("/scheduler/exclude-machine", test_exclude_machine);
  g_test_add_func ("/scheduler/backfill-property", test_backfill_property);
  g_test_add_func ("/scheduler/facility-week", test_facility_week);
  return g_test_run ();
}
