#include "runner-schedule.h"

#include <string.h>

#include "clock.h"

typedef enum {
  HELD = 0, /* its inputs do not exist yet, or it backs off */
  QUEUED,   /* ready: the scheduler may start it */
  PENDING,  /* the scheduler started it; it waits for the executor's room */
  STARTED,
  OVER,
} State;

struct StrandRunSchedule {
  StrandScheduler *scheduler;
  gboolean accept_late;
  guint local_slots;
  guint n_samples;           /* of the sheet; the per-run sample comes after them */
  guint per_run_sample;      /* G_MAXUINT until a per-run task is added */
  StrandSampleInfo per_run;  /* what the per-run sample inherits */
  gint64 *usable_until;      /* per sheet sample */
  GArray *named;             /* gboolean per machine: from the inventory */
  GArray *state;             /* guint8 State, per task */
  GArray *pending;           /* StrandAssignment started by a decision, not yet by the executor */
  GArray *started;           /* StrandAssignment, scratch */
  GArray *flags;             /* StrandSampleFlag, scratch */
  GArray *late;              /* StrandRunLate, not yet taken */
  guint waiting;             /* QUEUED + PENDING */
  gboolean news;             /* something changed since the last decision */
  gint64 next_change;        /* of the last decision */
};

#define STATE(rs, t) g_array_index ((rs)->state, guint8, (t))

StrandRunSchedule *
strand_run_schedule_new (const StrandRunScheduleSetup *setup)
{
  StrandRunSchedule *rs = g_new0 (StrandRunSchedule, 1);
  StrandSchedulerConfig config;
  strand_scheduler_config_init (&config);
  /* A run's queue is its own tasks, on a few machines: a few dozen
   * reserved starts keep backfill from delaying the tasks that matter,
   * and a decision stays far cheaper than the task it starts. */
  config.reservation_depth = 32;
  /* A stage that states no expected time is taken for a minute's work
   * until its runs are seen: an hour (the facility default) would flag
   * samples late on guesses. */
  config.default_estimate_us = 60 * G_USEC_PER_SEC;
  rs->scheduler = strand_scheduler_new (&config);
  rs->accept_late = setup->accept_late;
  rs->local_slots = MAX (setup->local_slots, 1);
  rs->named = g_array_new (FALSE, FALSE, sizeof (gboolean));
  if (setup->inventory)
    strand_scheduler_add_inventory (rs->scheduler, setup->inventory);
  gboolean yes = TRUE;
  for (guint m = 0; m < strand_scheduler_machine_count (rs->scheduler); m++)
    g_array_append_val (rs->named, yes);
  rs->n_samples = setup->samples->len;
  rs->per_run_sample = G_MAXUINT;
  rs->usable_until = g_new (gint64, MAX (rs->n_samples, 1));
  rs->per_run = (StrandSampleInfo){ .id = "_run", .clinical = STRAND_CLINICAL_ROUTINE,
                                    .usable_until_us = G_MAXINT64, .due_us = G_MAXINT64 };
  for (guint i = 0; i < rs->n_samples; i++)
    {
      const StrandSample *sample = setup->samples->pdata[i];
      gint64 usable = setup->sample_types ? strand_sample_usable_until (setup->sample_types, sample)
                                          : G_MAXINT64;
      rs->usable_until[i] = usable;
      StrandSampleInfo info = { 0 };
      info.id = sample->id;
      if (!strand_clinical_class_parse (sample->priority, &info.clinical))
        info.clinical = STRAND_CLINICAL_ROUTINE;
      info.usable_until_us = setup->material_per_sample ? usable : G_MAXINT64;
      info.due_us = sample->due_us ? sample->due_us : G_MAXINT64;
      guint k = strand_scheduler_add_sample (rs->scheduler, &info);
      g_assert (k == i);
      rs->per_run.clinical = MAX (rs->per_run.clinical, info.clinical);
      rs->per_run.due_us = MIN (rs->per_run.due_us, info.due_us);
      if (setup->material_per_run)
        rs->per_run.usable_until_us = MIN (rs->per_run.usable_until_us, usable);
    }
  rs->state = g_array_new (FALSE, FALSE, sizeof (guint8));
  rs->pending = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  rs->started = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  rs->flags = g_array_new (FALSE, FALSE, sizeof (StrandSampleFlag));
  rs->late = g_array_new (FALSE, FALSE, sizeof (StrandRunLate));
  rs->news = TRUE;
  rs->next_change = G_MAXINT64;
  return rs;
}

void
strand_run_schedule_free (StrandRunSchedule *rs)
{
  if (rs == NULL)
    return;
  strand_scheduler_free (rs->scheduler);
  g_free (rs->usable_until);
  g_array_unref (rs->named);
  g_array_unref (rs->state);
  g_array_unref (rs->pending);
  g_array_unref (rs->started);
  g_array_unref (rs->flags);
  g_array_unref (rs->late);
  g_free (rs);
}

/* A class no machine of the inventory has runs where the executor runs
 * things: one unnamed machine with its slots. */
static void
ensure_class (StrandRunSchedule *rs, const char *cls)
{
  if (strand_scheduler_class_machine_count (rs->scheduler, cls) > 0)
    return;
  g_autofree char *id = g_strdup_printf ("(%s)", cls);
  strand_scheduler_add_machine (rs->scheduler, id, cls, rs->local_slots);
  gboolean no = FALSE;
  g_array_append_val (rs->named, no);
}

void
strand_run_schedule_add (StrandRunSchedule *rs, guint sample, const StrandTaskInfo *info,
                         const guint *deps, guint n_deps)
{
  guint task = rs->state->len;
  guint s = sample;
  if (sample == STRAND_RUN_SCHEDULE_PER_RUN)
    {
      if (rs->per_run_sample == G_MAXUINT)
        rs->per_run_sample = strand_scheduler_add_sample (rs->scheduler, &rs->per_run);
      s = rs->per_run_sample;
    }
  ensure_class (rs, info->equipment_class ? info->equipment_class : "compute");
  g_autofree guint *after = g_new (guint, MAX (n_deps, 1));
  guint n_after = 0;
  for (guint k = 0; k < n_deps; k++)
    if (deps[k] < task && strand_scheduler_task_sample (rs->scheduler, deps[k]) == s)
      after[n_after++] = deps[k];
  StrandTaskInfo copy = *info;
  copy.after = after;
  copy.n_after = n_after;
  copy.holds = 1; /* until the run loop says its inputs exist */
  guint t = strand_scheduler_add_task (rs->scheduler, s, &copy);
  g_assert (t == task);
  guint8 held = HELD;
  g_array_append_val (rs->state, held);
}

void
strand_run_schedule_ready (StrandRunSchedule *rs, guint task)
{
  g_return_if_fail (task < rs->state->len && STATE (rs, task) == HELD);
  STATE (rs, task) = QUEUED;
  rs->waiting++;
  strand_scheduler_release (rs->scheduler, task);
  rs->news = TRUE;
}

static void
unpend (StrandRunSchedule *rs, guint task)
{
  for (guint k = 0; k < rs->pending->len; k++)
    if (g_array_index (rs->pending, StrandAssignment, k).task == task)
      {
        g_array_remove_index (rs->pending, k);
        return;
      }
}

void
strand_run_schedule_retry (StrandRunSchedule *rs, guint task, const char *avoid)
{
  g_return_if_fail (task < rs->state->len);
  StrandScheduler *s = rs->scheduler;
  State was = STATE (rs, task);
  if (was == PENDING)
    unpend (rs, task);
  if (was == QUEUED || was == PENDING)
    rs->waiting--;
  if (strand_scheduler_task_state (s, task) == STRAND_TASK_RUNNING)
    strand_scheduler_task_failed (s, task, TRUE);
  if (was != HELD) /* an interrupted task was held when its machine went down */
    strand_scheduler_hold (s, task);
  if (avoid != NULL)
    {
      guint m = strand_scheduler_find_machine (s, avoid);
      if (m != STRAND_SCHEDULER_NONE)
        strand_scheduler_exclude_machine (s, task, m);
    }
  STATE (rs, task) = HELD;
  rs->news = TRUE;
}

void
strand_run_schedule_ended (StrandRunSchedule *rs, guint task, StrandRunTaskEnd how)
{
  g_return_if_fail (task < rs->state->len);
  StrandScheduler *s = rs->scheduler;
  State was = STATE (rs, task);
  if (was == OVER)
    return;
  if (was == PENDING)
    unpend (rs, task);
  if (was == QUEUED || was == PENDING)
    rs->waiting--;
  STATE (rs, task) = OVER;
  rs->news = TRUE;
  StrandTaskState st = strand_scheduler_task_state (s, task);
  if (how == STRAND_RUN_TASK_DONE && st == STRAND_TASK_RUNNING && was == STARTED)
    {
      strand_scheduler_task_finished (s, task);
      return;
    }
  if (st == STRAND_TASK_RUNNING)
    strand_scheduler_task_failed (s, task, TRUE); /* back, to be retired */
  strand_scheduler_task_retire (s, task);
}

/* Samples the scheduler flagged: a sheet sample's own flag, or the per-run
 * sample's, which stands for every sample whose window it serves. */
static void
collect_late (StrandRunSchedule *rs)
{
  g_array_set_size (rs->flags, 0);
  strand_scheduler_take_flags (rs->scheduler, rs->flags);
  for (guint k = 0; k < rs->flags->len; k++)
    {
      const StrandSampleFlag *f = &g_array_index (rs->flags, StrandSampleFlag, k);
      if (f->sample == rs->per_run_sample)
        {
          /* The run-wide stages serve every sample: they go on, and the
           * samples whose own window they would miss are reported. */
          strand_scheduler_accept_late (rs->scheduler, f->sample);
          gint64 margin = f->usable_until_us == G_MAXINT64 || f->latest_start_us == G_MAXINT64
              ? 0 : f->usable_until_us - f->latest_start_us;
          for (guint i = 0; i < rs->n_samples; i++)
            {
              gboolean expires = rs->usable_until[i] != G_MAXINT64 && rs->usable_until[i] - margin < f->at_us;
              gboolean overdue = f->due_us != G_MAXINT64 && f->usable_until_us == G_MAXINT64;
              if (!expires && !overdue)
                continue;
              StrandRunLate late = { .sample = i, .usable_until_us = rs->usable_until[i],
                                     .due_us = f->due_us, .latest_start_us = rs->usable_until[i] - margin };
              g_array_append_val (rs->late, late);
              if (!rs->accept_late)
                strand_scheduler_cancel_sample (rs->scheduler, i);
            }
          continue;
        }
      StrandRunLate late = { .sample = f->sample, .usable_until_us = f->usable_until_us,
                             .due_us = f->due_us, .latest_start_us = f->latest_start_us };
      g_array_append_val (rs->late, late);
      if (rs->accept_late)
        strand_scheduler_accept_late (rs->scheduler, f->sample);
    }
}

static void
decide (StrandRunSchedule *rs)
{
  g_array_set_size (rs->started, 0);
  strand_scheduler_decide (rs->scheduler, rs->started);
  for (guint k = 0; k < rs->started->len; k++)
    {
      StrandAssignment *a = &g_array_index (rs->started, StrandAssignment, k);
      g_assert (STATE (rs, a->task) == QUEUED);
      STATE (rs, a->task) = PENDING;
      g_array_append_val (rs->pending, *a);
    }
  collect_late (rs);
  rs->news = FALSE;
  rs->next_change = strand_scheduler_next_decision_us (rs->scheduler);
}

gboolean
strand_run_schedule_next (StrandRunSchedule *rs, gboolean (*fits) (guint64 task, gpointer data),
                          gpointer data, guint *task, const char **equipment)
{
  /* Started tasks still waiting for the executor's room come first; a new
   * decision is taken only when they are gone and something changed. */
  if (rs->pending->len == 0 && rs->waiting > 0 &&
      (rs->news || strand_clock_now_us () >= rs->next_change))
    decide (rs);
  for (guint k = 0; k < rs->pending->len; k++)
    {
      StrandAssignment a = g_array_index (rs->pending, StrandAssignment, k);
      if (fits && !fits (a.task, data))
        continue;
      g_array_remove_index (rs->pending, k);
      STATE (rs, a.task) = STARTED;
      rs->waiting--;
      *task = a.task;
      *equipment = g_array_index (rs->named, gboolean, a.machine)
          ? strand_scheduler_machine_id (rs->scheduler, a.machine) : NULL;
      return TRUE;
    }
  return FALSE;
}

gint64
strand_run_schedule_next_change_us (StrandRunSchedule *rs)
{
  if (rs->waiting <= rs->pending->len)
    return G_MAXINT64;
  return rs->news ? strand_clock_now_us () : rs->next_change;
}

guint
strand_run_schedule_waiting (const StrandRunSchedule *rs)
{
  return rs->waiting;
}

void
strand_run_schedule_equipment_down (StrandRunSchedule *rs, const char *equipment,
                                    GArray *interrupted)
{
  guint m = strand_scheduler_find_machine (rs->scheduler, equipment);
  if (m == STRAND_SCHEDULER_NONE)
    return;
  g_autoptr (GArray) back = g_array_new (FALSE, FALSE, sizeof (guint));
  strand_scheduler_machine_down (rs->scheduler, m, back);
  for (guint k = 0; k < back->len; k++)
    {
      guint t = g_array_index (back, guint, k);
      if (STATE (rs, t) == PENDING)
        {
          /* Never reached a worker: simply queued again. */
          unpend (rs, t);
          STATE (rs, t) = QUEUED;
          continue;
        }
      /* Its worker is being stopped; the run loop says what follows. */
      strand_scheduler_hold (rs->scheduler, t);
      STATE (rs, t) = HELD;
      if (interrupted)
        g_array_append_val (interrupted, t);
    }
  rs->news = TRUE;
}

guint
strand_run_schedule_take_late (StrandRunSchedule *rs, GArray *late)
{
  guint n = rs->late->len;
  g_array_append_vals (late, rs->late->data, n);
  g_array_set_size (rs->late, 0);
  return n;
}

guint
strand_run_schedule_take_unplaceable (StrandRunSchedule *rs, GArray *tasks)
{
  return strand_scheduler_take_unplaceable (rs->scheduler, tasks);
}
