/* Running a facility on the discrete-event clock with the real scheduler,
 * and the report (simulate.h). */
#include <math.h>
#include <string.h>

#include "clock.h"
#include "equipment-monitor.h"
#include "metrics.h"
#include "scheduler.h"
#include "simulate.h"
#include "utilization.h"

#define HOUR_US ((double) 3600 * G_USEC_PER_SEC)
#define MINUTE_US ((gint64) 60 * G_USEC_PER_SEC)

void
strand_simulate_options_init (StrandSimulateOptions *o)
{
  memset (o, 0, sizeof *o);
  o->seed = 1;
}

static void
sim_equipment_free (gpointer p)
{
  StrandSimEquipment *e = p;
  g_free (e->id);
  g_free (e->equipment_class);
  g_free (e);
}

static void
sim_class_free (gpointer p)
{
  StrandSimClass *c = p;
  g_free (c->equipment_class);
  g_free (c);
}

void
strand_sim_report_free (StrandSimReport *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->classes, g_ptr_array_unref);
  g_clear_pointer (&r->equipment, g_ptr_array_unref);
  g_free (r);
}

/* ---- the run ------------------------------------------------------------------------- */

typedef struct Sim Sim;

typedef struct {
  Sim *sim;
  guint sample;        /* index in Sim.samples (the scheduler's too) */
  guint step;          /* position on the route */
  gint64 duration_us;  /* what it really takes */
  guint machine;
  guint64 end_event;   /* 0 when not running */
  char *name;
} SimTask;

typedef struct {
  gint64 collected_us;
  gint64 arrived_us;
  gint64 usable_until_us;
  gint64 due_us;
  guint first_task;
  gboolean flagged;
  gboolean late;
  gboolean done;
  gboolean aged;     /* its age at processing is counted (a restart is not) */
} SimSample;

typedef struct {
  Sim *sim;
  guint machine;
} SimMachine;

struct Sim {
  StrandFacility *f;
  StrandScheduler *sched;
  StrandMonitor *monitor;
  StrandMetrics *metrics;
  GRand *rand;
  gint64 start_us, end_us;
  guint max_samples;
  GPtrArray *tasks;     /* SimTask, by scheduler task index */
  GArray *samples;      /* SimSample, by scheduler sample index */
  GArray *started;      /* StrandAssignment */
  GArray *flags;        /* StrandSampleFlag */
  GArray *interrupted;  /* guint */
  SimMachine *machines;
  guint n_machines;
  guint stabilise_step; /* route step whose end the usable-until bounds */
  guint *step_class;    /* route step -> index in report->classes */
  gboolean *last_of_class; /* route step is the sample's last on its class */
  guint64 wake_event;
  gint64 wake_at;
  double age_sum;
  StrandSimReport *report;
  GError *error;        /* the first failure to record (metrics file) */
};

static void
keep_error (Sim *s, GError *error)
{
  if (error != NULL && s->error == NULL)
    s->error = error;
  else
    g_clear_error (&error);
}

static const char *
machine_id (Sim *s, guint m)
{
  return strand_scheduler_machine_id (s->sched, m);
}

static gint64
draw_duration (Sim *s, const StrandDuration *d)
{
  double hours;
  switch (d->model)
    {
    case STRAND_DURATION_UNIFORM:
      hours = g_rand_double_range (s->rand, d->min_hours, d->max_hours);
      break;
    case STRAND_DURATION_LOGNORMAL:
      {
        /* Box-Muller; the mean of the distribution is mean_hours. */
        double u1 = 1.0 - g_rand_double (s->rand), u2 = g_rand_double (s->rand);
        double z = sqrt (-2.0 * log (u1)) * cos (2 * G_PI * u2);
        double mu = log (d->mean_hours) - d->sigma * d->sigma / 2;
        hours = exp (mu + d->sigma * z);
        hours = MIN (hours, 366.0 * 24);
        break;
      }
    case STRAND_DURATION_FIXED:
    default:
      hours = d->hours;
    }
  return MAX ((gint64) 1, (gint64) (hours * HOUR_US));
}

static gint64
add_saturating (gint64 a, double hours)
{
  double sum = (double) a + hours * HOUR_US;
  return sum >= (double) G_MAXINT64 ? G_MAXINT64 : (gint64) sum;
}

static void decide (Sim *s);

static void
on_wake (gint64 due_us, gpointer data)
{
  Sim *s = data;
  s->wake_event = 0;
  s->wake_at = G_MAXINT64;
}

static void
on_arrival (gint64 due_us, gpointer data)
{
  Sim *s = data;
  const StrandFacility *f = s->f;
  guint index = s->samples->len;

  double u = g_rand_double (s->rand), acc = 0;
  const StrandFacilityMix *mix = &g_array_index (f->mix, StrandFacilityMix, f->mix->len - 1);
  for (guint i = 0; i < f->mix->len; i++)
    {
      acc += g_array_index (f->mix, StrandFacilityMix, i).proportion;
      if (u < acc)
        {
          mix = &g_array_index (f->mix, StrandFacilityMix, i);
          break;
        }
    }
  SimSample sample = { 0 };
  sample.arrived_us = due_us;
  sample.collected_us = (gint64) ((double) due_us - mix->transit_hours * HOUR_US);
  sample.usable_until_us = mix->usable_for_us == G_MAXINT64
                               ? G_MAXINT64
                               : add_saturating (sample.collected_us,
                                                 (double) mix->usable_for_us / HOUR_US);
  sample.due_us = mix->due_hours > 0 ? add_saturating (sample.collected_us, mix->due_hours)
                                     : G_MAXINT64;
  sample.first_task = s->tasks->len;

  g_autofree char *id = g_strdup_printf ("s%06u", index + 1);
  StrandSampleInfo info = { id, mix->clinical, due_us, sample.usable_until_us, sample.due_us };
  guint sched_sample = strand_scheduler_add_sample (s->sched, &info);
  g_assert (sched_sample == index);
  g_array_append_val (s->samples, sample);

  guint previous = STRAND_SCHEDULER_NONE;
  for (guint k = 0; k < f->route->len; k++)
    {
      const StrandFacilityStage *stage =
          f->stages->pdata[g_array_index (f->route, guint, k)];
      StrandTaskInfo ti = { 0 };
      ti.stage = stage->id;
      ti.equipment_class = stage->equipment_class;
      ti.estimate_us = strand_duration_mean_us (&stage->duration);
      ti.stabilises = stage->stabilises;
      ti.after = previous == STRAND_SCHEDULER_NONE ? NULL : &previous;
      ti.n_after = previous == STRAND_SCHEDULER_NONE ? 0 : 1;
      guint task = strand_scheduler_add_task (s->sched, index, &ti);
      g_assert (task == s->tasks->len);
      SimTask *t = g_new0 (SimTask, 1);
      t->sim = s;
      t->sample = index;
      t->step = k;
      t->duration_us = draw_duration (s, &stage->duration);
      t->name = g_strdup_printf ("%s/%s", id, stage->id);
      g_ptr_array_add (s->tasks, t);
      previous = task;
    }
  s->report->arrived++;

  if (s->max_samples != 0 && s->report->arrived >= s->max_samples)
    return;
  if (f->arrival_hours->len > 0)
    {
      /* Listed arrivals: the next one (several may share a time). */
      if (s->report->arrived < f->arrival_hours->len)
        {
          gint64 next = add_saturating (s->start_us, g_array_index (f->arrival_hours, double,
                                                                    s->report->arrived));
          if (next <= s->end_us)
            strand_clock_schedule (next, on_arrival, s);
        }
    }
  else
    {
      /* Poisson arrivals: exponential gaps. */
      double gap_hours = -log (1.0 - g_rand_double (s->rand)) / f->arrivals_per_hour;
      gint64 next = add_saturating (due_us, gap_hours);
      if (next <= s->end_us)
        strand_clock_schedule (next, on_arrival, s);
    }
}

static void
on_task_end (gint64 due_us, gpointer data)
{
  SimTask *t = data;
  Sim *s = t->sim;
  t->end_event = 0;
  guint task = g_array_index (s->samples, SimSample, t->sample).first_task + t->step;
  strand_scheduler_task_finished (s->sched, task);
  GError *error = NULL;
  if (!strand_monitor_task_finished (s->monitor, machine_id (s, t->machine), t->name, due_us,
                                     &error))
    keep_error (s, error);

  SimSample *sample = &g_array_index (s->samples, SimSample, t->sample);
  if (t->step == s->stabilise_step && due_us > sample->usable_until_us)
    sample->late = TRUE;
  if (s->last_of_class[t->step])
    ((StrandSimClass *) s->report->classes->pdata[s->step_class[t->step]])->passed++;
  ((StrandSimEquipment *) s->report->equipment->pdata[t->machine])->tasks++;
  if (t->step + 1 == s->f->route->len)
    {
      sample->done = TRUE;
      if (due_us > sample->due_us)
        sample->late = TRUE;
      s->report->completed++;
      if (sample->late)
        s->report->late++;
    }
}

static void schedule_failure (Sim *s, guint m);

static void
on_repair (gint64 due_us, gpointer data)
{
  SimMachine *mc = data;
  Sim *s = mc->sim;
  strand_scheduler_machine_up (s->sched, mc->machine);
  GError *error = NULL;
  if (!strand_monitor_set_status (s->monitor, machine_id (s, mc->machine), STRAND_EQUIPMENT_UP,
                                  "repaired", due_us, &error))
    keep_error (s, error);
  schedule_failure (s, mc->machine);
}

static void
on_failure (gint64 due_us, gpointer data)
{
  SimMachine *mc = data;
  Sim *s = mc->sim;
  g_array_set_size (s->interrupted, 0);
  strand_scheduler_machine_down (s->sched, mc->machine, s->interrupted);
  for (guint i = 0; i < s->interrupted->len; i++)
    {
      SimTask *t = s->tasks->pdata[g_array_index (s->interrupted, guint, i)];
      if (t->end_event != 0)
        strand_clock_cancel (t->end_event);
      t->end_event = 0;
      s->report->interrupted++;
    }
  GError *error = NULL;
  if (!strand_monitor_set_status (s->monitor, machine_id (s, mc->machine), STRAND_EQUIPMENT_DOWN,
                                  "simulated failure", due_us, &error))
    keep_error (s, error);
  s->report->failures++;
  ((StrandSimEquipment *) s->report->equipment->pdata[mc->machine])->failures++;
  gint64 back = add_saturating (due_us, s->f->repair_hours);
  if (back <= s->end_us)
    strand_clock_schedule (back, on_repair, mc);
}

/* The next failure after now, from the machine's failure rate (constant
 * hazard, counted in calendar hours). */
static void
schedule_failure (Sim *s, guint m)
{
  const StrandEquipment *e = s->f->inventory->items->pdata[m];
  double per_hour = 0;
  if (!s->f->failures || !strand_health_failure_rate (e->health, &per_hour) || per_hour <= 0)
    return;
  double hours = -log (1.0 - g_rand_double (s->rand)) / per_hour;
  gint64 at = add_saturating (strand_clock_now_us (), hours);
  if (at <= s->end_us)
    strand_clock_schedule (at, on_failure, &s->machines[m]);
}

static void
decide (Sim *s)
{
  gint64 now = strand_clock_now_us ();
  g_array_set_size (s->started, 0);
  strand_scheduler_decide (s->sched, s->started);
  s->report->decisions++;
  for (guint i = 0; i < s->started->len; i++)
    {
      const StrandAssignment *a = &g_array_index (s->started, StrandAssignment, i);
      SimTask *t = s->tasks->pdata[a->task];
      t->machine = a->machine;
      t->end_event = strand_clock_schedule (now + t->duration_us, on_task_end, t);
      GError *error = NULL;
      if (!strand_monitor_task_started (s->monitor, machine_id (s, a->machine), t->name, now,
                                        &error))
        keep_error (s, error);
      SimSample *sample = &g_array_index (s->samples, SimSample, t->sample);
      if (t->step == s->stabilise_step && !sample->aged)
        {
          sample->aged = TRUE;
          s->age_sum += (double) (now - sample->collected_us) / HOUR_US;
          s->report->aged++;
        }
    }
  g_array_set_size (s->flags, 0);
  strand_scheduler_take_flags (s->sched, s->flags);
  for (guint i = 0; i < s->flags->len; i++)
    {
      guint sample = g_array_index (s->flags, StrandSampleFlag, i).sample;
      SimSample *ss = &g_array_index (s->samples, SimSample, sample);
      if (ss->flagged || ss->done)
        continue;
      ss->flagged = TRUE;
      s->report->flagged++;
      {
        g_autofree char *at = strand_clock_format_rfc3339 (now);
        g_debug ("sample %u flagged at %s: arrived %.1f h ago, usable for %.1f h more, due in %.1f h",
                 sample + 1, at, (double) (now - ss->arrived_us) / HOUR_US,
                 ss->usable_until_us == G_MAXINT64 ? INFINITY : (double) (ss->usable_until_us - now) / HOUR_US,
                 ss->due_us == G_MAXINT64 ? INFINITY : (double) (ss->due_us - now) / HOUR_US);
      }
      strand_scheduler_cancel_sample (s->sched, sample);
    }
  gint64 next = strand_scheduler_next_decision_us (s->sched);
  if (next != s->wake_at)
    {
      if (s->wake_event != 0)
        strand_clock_cancel (s->wake_event);
      s->wake_event = 0;
      s->wake_at = G_MAXINT64;
      if (next > now && next <= s->end_us)
        {
          s->wake_event = strand_clock_schedule (next, on_wake, s);
          s->wake_at = next;
        }
    }
}

/* ---- the bound and the earliest-deadline-first check ---------------------------------- */

static gint64
scheduled_us (const StrandEquipment *e, gint64 from, gint64 until)
{
  StrandStatusInterval up = { from, until, STRAND_EQUIPMENT_UP, 0 };
  StrandUtilization u;
  strand_utilization_compute (e, &up, 1, from, until, &u);
  return u.scheduled_us;
}

static void
build_classes (Sim *s)
{
  const StrandFacility *f = s->f;
  StrandSimReport *r = s->report;
  guint n = f->route->len;
  s->step_class = g_new0 (guint, n);
  s->last_of_class = g_new0 (gboolean, n);
  for (guint k = 0; k < n; k++)
    {
      const StrandFacilityStage *stage = f->stages->pdata[g_array_index (f->route, guint, k)];
      guint c;
      for (c = 0; c < r->classes->len; c++)
        if (strcmp (((StrandSimClass *) r->classes->pdata[c])->equipment_class,
                    stage->equipment_class) == 0)
          break;
      if (c == r->classes->len)
        {
          StrandSimClass *sc = g_new0 (StrandSimClass, 1);
          sc->equipment_class = g_strdup (stage->equipment_class);
          g_ptr_array_add (r->classes, sc);
        }
      s->step_class[k] = c;
      StrandSimClass *sc = r->classes->pdata[c];
      sc->hours_per_sample += (double) strand_duration_mean_us (&stage->duration) / HOUR_US;
    }
  for (guint k = 0; k < n; k++)
    {
      s->last_of_class[k] = TRUE;
      for (guint j = k + 1; j < n; j++)
        if (s->step_class[j] == s->step_class[k])
          s->last_of_class[k] = FALSE;
    }
  for (guint c = 0; c < r->classes->len; c++)
    {
      StrandSimClass *sc = r->classes->pdata[c];
      for (guint m = 0; m < f->inventory->items->len; m++)
        {
          const StrandEquipment *e = f->inventory->items->pdata[m];
          if (strcmp (e->equipment_class, sc->equipment_class) != 0)
            continue;
          sc->machines++;
          sc->slots += e->capacity;
          sc->slot_hours += (double) e->capacity *
                            (double) scheduled_us (e, s->start_us, s->end_us) / HOUR_US;
        }
      sc->bound = sc->hours_per_sample > 0 ? sc->slot_hours / sc->hours_per_sample : 0;
    }
}

typedef struct {
  gint64 release_us;
  gint64 deadline_us;
  gint64 remaining_us;
  guint sample;
} EdfJob;

static int
compare_release (gconstpointer a, gconstpointer b)
{
  const EdfJob *x = a, *y = b;
  if (x->release_us != y->release_us)
    return x->release_us < y->release_us ? -1 : 1;
  return x->deadline_us < y->deadline_us ? -1 : x->deadline_us > y->deadline_us;
}

/* A min-heap of job indices by deadline. */
static void
heap_push (GArray *heap, const EdfJob *jobs, guint j)
{
  g_array_append_val (heap, j);
  guint *h = (guint *) heap->data;
  for (guint i = heap->len - 1; i > 0;)
    {
      guint p = (i - 1) / 2;
      if (jobs[h[p]].deadline_us <= jobs[h[i]].deadline_us)
        break;
      guint tmp = h[p];
      h[p] = h[i];
      h[i] = tmp;
      i = p;
    }
}

static void
heap_pop (GArray *heap, const EdfJob *jobs)
{
  guint *h = (guint *) heap->data;
  h[0] = h[heap->len - 1];
  g_array_set_size (heap, heap->len - 1);
  h = (guint *) heap->data;
  for (guint i = 0;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = i;
      if (l < heap->len && jobs[h[l]].deadline_us < jobs[h[m]].deadline_us)
        m = l;
      if (r < heap->len && jobs[h[r]].deadline_us < jobs[h[m]].deadline_us)
        m = r;
      if (m == i)
        break;
      guint tmp = h[m];
      h[m] = h[i];
      h[i] = tmp;
      i = m;
    }
}

/* Marks in `missed` the samples whose deadline-bound stages on class `c`
 * miss even on the relaxed machine: all the class's open slots as one
 * preemptive machine, minute by minute, earliest deadline first, each
 * stage released as soon as the stages before it could have ended. */
static void
edf_class (Sim *s, guint c, gboolean *missed)
{
  const StrandFacility *f = s->f;
  g_autoptr (GArray) jobs = g_array_new (FALSE, FALSE, sizeof (EdfJob));
  guint n = f->route->len;
  for (guint i = 0; i < s->samples->len; i++)
    {
      const SimSample *ss = &g_array_index (s->samples, SimSample, i);
      const SimTask *const *t = (const SimTask *const *) s->tasks->pdata + ss->first_task;
      gint64 before = 0;
      for (guint k = 0; k < n; k++)
        {
          gint64 deadline = G_MAXINT64;
          if (ss->usable_until_us != G_MAXINT64 && k <= s->stabilise_step)
            {
              gint64 after = 0;
              for (guint j = k + 1; j <= s->stabilise_step; j++)
                after += t[j]->duration_us;
              deadline = ss->usable_until_us - after;
            }
          if (ss->due_us != G_MAXINT64)
            {
              gint64 after = 0;
              for (guint j = k + 1; j < n; j++)
                after += t[j]->duration_us;
              deadline = MIN (deadline, ss->due_us - after);
            }
          EdfJob job = { ss->arrived_us + before, deadline, t[k]->duration_us, i };
          before += t[k]->duration_us;
          if (s->step_class[k] != c || deadline == G_MAXINT64)
            continue;
          if (job.release_us + job.remaining_us > job.deadline_us)
            missed[i] = TRUE; /* not even alone */
          else if (job.deadline_us <= s->end_us)
            g_array_append_val (jobs, job);
        }
    }
  if (jobs->len == 0)
    return;
  g_array_sort (jobs, compare_release);
  EdfJob *j = (EdfJob *) jobs->data;

  GPtrArray *machines = g_ptr_array_new ();
  for (guint m = 0; m < f->inventory->items->len; m++)
    {
      StrandEquipment *e = f->inventory->items->pdata[m];
      if (strcmp (e->equipment_class,
                  ((StrandSimClass *) s->report->classes->pdata[c])->equipment_class) == 0)
        g_ptr_array_add (machines, e);
    }
  g_autoptr (GArray) heap = g_array_new (FALSE, FALSE, sizeof (guint));
  guint next = 0;
  for (gint64 t = s->start_us; t < s->end_us && (next < jobs->len || heap->len > 0);
       t += MINUTE_US)
    {
      while (next < jobs->len && j[next].release_us < t + MINUTE_US)
        heap_push (heap, j, next++);
      gint64 slots = 0;
      for (guint m = 0; m < machines->len; m++)
        {
          const StrandEquipment *e = machines->pdata[m];
          if (strand_equipment_available (e, t))
            slots += e->capacity;
        }
      gint64 capacity = slots * MINUTE_US, used = 0;
      while (used < capacity && heap->len > 0)
        {
          EdfJob *job = &j[g_array_index (heap, guint, 0)];
          gint64 take = MIN (job->remaining_us, capacity - used);
          job->remaining_us -= take;
          used += take;
          if (job->remaining_us > 0)
            break;
          gint64 end = t + used / MAX (slots, 1);
          if (end > job->deadline_us)
            missed[job->sample] = TRUE;
          heap_pop (heap, j);
        }
      /* A job whose deadline passed unfinished has missed; it takes no
       * more of the machine. */
      while (heap->len > 0 && j[g_array_index (heap, guint, 0)].deadline_us < t + MINUTE_US)
        {
          missed[j[g_array_index (heap, guint, 0)].sample] = TRUE;
          heap_pop (heap, j);
        }
    }
  for (guint h = 0; h < heap->len; h++)
    missed[j[g_array_index (heap, guint, h)].sample] = TRUE;
  for (; next < jobs->len; next++)
    missed[j[next].sample] = TRUE;
  g_ptr_array_unref (machines);
}

static void
edf_check (Sim *s)
{
  StrandSimReport *r = s->report;
  g_autofree gboolean *missed = g_new0 (gboolean, MAX (s->samples->len, 1));
  for (guint c = 0; c < r->classes->len; c++)
    edf_class (s, c, missed);
  for (guint i = 0; i < s->samples->len; i++)
    {
      const SimSample *ss = &g_array_index (s->samples, SimSample, i);
      if ((ss->flagged || ss->late) && missed[i])
        r->unavoidable++;
    }
  r->avoidable = r->misses - r->unavoidable;
}

/* ---- running ---------------------------------------------------------------------------- */

static void
task_free (gpointer p)
{
  SimTask *t = p;
  g_free (t->name);
  g_free (t);
}

StrandSimReport *
strand_simulate (StrandFacility *f, const StrandSimulateOptions *options, GError **error)
{
  StrandSimulateOptions defaults;
  if (options == NULL)
    {
      strand_simulate_options_init (&defaults);
      options = &defaults;
    }
  double days = options->days > 0 ? options->days : f->days;
  Sim sim = { 0 }, *s = &sim;
  s->f = f;
  s->start_us = f->start_us;
  s->end_us = add_saturating (f->start_us, days * 24);
  s->max_samples = options->max_samples;
  s->rand = g_rand_new_with_seed_array ((const guint32[]) { (guint32) options->seed,
                                                            (guint32) (options->seed >> 32) },
                                        2);
  s->tasks = g_ptr_array_new_with_free_func (task_free);
  s->samples = g_array_new (FALSE, TRUE, sizeof (SimSample));
  s->started = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  s->flags = g_array_new (FALSE, FALSE, sizeof (StrandSampleFlag));
  s->interrupted = g_array_new (FALSE, FALSE, sizeof (guint));
  s->wake_at = G_MAXINT64;
  s->stabilise_step = f->route->len - 1;
  for (guint k = 0; k < f->route->len; k++)
    if (((StrandFacilityStage *) f->stages->pdata[g_array_index (f->route, guint, k)])->stabilises)
      {
        s->stabilise_step = k;
        break;
      }

  StrandSimReport *r = s->report = g_new0 (StrandSimReport, 1);
  r->start_us = s->start_us;
  r->end_us = s->end_us;
  r->seed = options->seed;
  r->classes = g_ptr_array_new_with_free_func (sim_class_free);
  r->equipment = g_ptr_array_new_with_free_func (sim_equipment_free);
  build_classes (s);

  strand_clock_use_discrete (s->start_us);
  StrandSchedulerConfig config;
  strand_scheduler_config_init (&config);
  config.priority = f->priority;
  s->sched = strand_scheduler_new (&config);
  strand_scheduler_add_inventory (s->sched, f->inventory);
  s->monitor = strand_monitor_new (f->inventory);
  s->n_machines = f->inventory->items->len;
  s->machines = g_new0 (SimMachine, s->n_machines);
  if (options->metrics_path != NULL)
    {
      s->metrics = strand_metrics_open (options->metrics_path, &s->error);
      if (s->metrics != NULL)
        strand_metrics_follow (s->metrics, s->monitor);
    }
  for (guint m = 0; m < s->n_machines && s->error == NULL; m++)
    {
      const StrandEquipment *e = f->inventory->items->pdata[m];
      s->machines[m] = (SimMachine) { s, m };
      StrandSimEquipment *se = g_new0 (StrandSimEquipment, 1);
      se->id = g_strdup (e->id);
      se->equipment_class = g_strdup (e->equipment_class);
      g_ptr_array_add (r->equipment, se);
      GError *err = NULL;
      if (!strand_monitor_set_status (s->monitor, e->id, STRAND_EQUIPMENT_UP, "simulation starts",
                                      s->start_us, &err))
        keep_error (s, err);
      schedule_failure (s, m);
    }

  if (s->error == NULL)
    {
      gint64 first = f->arrival_hours->len > 0
                         ? add_saturating (s->start_us, g_array_index (f->arrival_hours, double, 0))
                         : s->start_us;
      if (first <= s->end_us)
        strand_clock_schedule (first, on_arrival, s);
      while (strand_clock_run_next (s->end_us))
        decide (s);
    }

  /* The report. */
  for (guint i = 0; i < s->samples->len; i++)
    {
      const SimSample *ss = &g_array_index (s->samples, SimSample, i);
      if (ss->flagged || ss->late)
        r->misses++;
      if (!ss->done && !ss->flagged)
        r->in_progress++;
    }
  r->mean_age_hours = r->aged > 0 ? s->age_sum / r->aged : NAN;
  edf_check (s);
  r->bottleneck = 0;
  for (guint c = 1; c < r->classes->len; c++)
    if (((StrandSimClass *) r->classes->pdata[c])->bound <
        ((StrandSimClass *) r->classes->pdata[r->bottleneck])->bound)
      r->bottleneck = c;
  if (r->classes->len > 0)
    {
      StrandSimClass *b = r->classes->pdata[r->bottleneck];
      r->throughput = b->passed;
      r->throughput_ratio = b->bound > 0 ? b->passed / b->bound : 0;
    }
  for (guint m = 0; m < r->equipment->len && s->error == NULL; m++)
    {
      StrandSimEquipment *se = r->equipment->pdata[m];
      StrandUtilization u;
      if (strand_utilization_of (s->monitor, se->id, s->start_us, s->end_us, &u))
        {
          se->utilization = u.utilization;
          se->busy_hours = (double) u.busy_us / HOUR_US;
          se->available_hours = (double) u.available_us / HOUR_US;
          se->scheduled_hours = (double) u.scheduled_us / HOUR_US;
        }
    }
  if (s->metrics != NULL)
    {
      GError *err = NULL;
      strand_monitor_advance (s->monitor, s->end_us);
      if (!strand_metrics_finish_days (s->metrics, s->end_us, &err))
        keep_error (s, err);
      if (!strand_metrics_close (g_steal_pointer (&s->metrics), &err))
        keep_error (s, err);
    }

  /* Events still pending (tasks running at the end) belong to this run:
   * switching the mode drops them. */
  strand_clock_use_discrete (s->end_us);
  g_clear_pointer (&s->monitor, strand_monitor_free);
  g_clear_pointer (&s->sched, strand_scheduler_free);
  g_rand_free (s->rand);
  g_ptr_array_unref (s->tasks);
  g_array_unref (s->samples);
  g_array_unref (s->started);
  g_array_unref (s->flags);
  g_array_unref (s->interrupted);
  g_free (s->machines);
  g_free (s->step_class);
  g_free (s->last_of_class);
  if (s->error != NULL)
    {
      g_propagate_error (error, s->error);
      strand_sim_report_free (r);
      return NULL;
    }
  return r;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void
set_time (JsonBuilder *b, const char *key, gint64 us)
{
  g_autofree char *text = strand_clock_format_rfc3339 (us);
  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, text);
}

static void
set_double (JsonBuilder *b, const char *key, double v)
{
  json_builder_set_member_name (b, key);
  if (isfinite (v))
    json_builder_add_double_value (b, round (v * 1e4) / 1e4);
  else
    json_builder_add_null_value (b);
}

static void
set_int (JsonBuilder *b, const char *key, gint64 v)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, v);
}

JsonNode *
strand_sim_report_to_json (const StrandSimReport *r, const StrandFacility *f)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "facility");
  json_builder_add_string_value (b, f->name);
  set_int (b, "seed", (gint64) r->seed);
  set_time (b, "start", r->start_us);
  set_time (b, "end", r->end_us);
  json_builder_set_member_name (b, "samples");
  json_builder_begin_object (b);
  set_int (b, "arrived", r->arrived);
  set_int (b, "completed", r->completed);
  set_int (b, "in_progress", r->in_progress);
  set_int (b, "flagged", r->flagged);
  set_int (b, "late", r->late);
  set_double (b, "mean_age_hours", r->mean_age_hours);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "deadline_misses");
  json_builder_begin_object (b);
  set_int (b, "total", r->misses);
  set_int (b, "unavoidable", r->unavoidable);
  set_int (b, "avoidable", r->avoidable);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "throughput");
  json_builder_begin_object (b);
  if (r->classes->len > 0)
    {
      const StrandSimClass *bn = r->classes->pdata[r->bottleneck];
      json_builder_set_member_name (b, "bottleneck");
      json_builder_add_string_value (b, bn->equipment_class);
      set_double (b, "samples", r->throughput);
      set_double (b, "bound", bn->bound);
      set_double (b, "ratio", r->throughput_ratio);
    }
  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (guint c = 0; c < r->classes->len; c++)
    {
      const StrandSimClass *sc = r->classes->pdata[c];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "class");
      json_builder_add_string_value (b, sc->equipment_class);
      set_int (b, "machines", sc->machines);
      set_int (b, "slots", sc->slots);
      set_double (b, "slot_hours", sc->slot_hours);
      set_double (b, "hours_per_sample", sc->hours_per_sample);
      set_double (b, "bound", sc->bound);
      set_int (b, "passed", sc->passed);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "equipment");
  json_builder_begin_array (b);
  for (guint m = 0; m < r->equipment->len; m++)
    {
      const StrandSimEquipment *e = r->equipment->pdata[m];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, e->id);
      json_builder_set_member_name (b, "class");
      json_builder_add_string_value (b, e->equipment_class);
      set_double (b, "utilization", e->utilization);
      set_double (b, "busy_hours", e->busy_hours);
      set_double (b, "available_hours", e->available_hours);
      set_double (b, "scheduled_hours", e->scheduled_hours);
      set_int (b, "tasks", e->tasks);
      set_int (b, "failures", e->failures);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  set_int (b, "failures", r->failures);
  set_int (b, "interrupted_tasks", r->interrupted);
  set_int (b, "decisions", (gint64) r->decisions);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
