#include "scheduler.h"

#include <string.h>

#include "clock.h"
#include "scheduler-private.h"

#define NONE STRAND_SCHEDULER_NONE
#define HOUR_US ((gint64) 3600 * G_USEC_PER_SEC)
#define DAY_US (24 * HOUR_US)

typedef struct {
  guint slot;
  gint64 start, end;
  guint task;
} Reservation;

typedef struct {
  char *id;
  guint cls;             /* interned class name */
  guint slots;
  guint cores, gpus;
  guint64 memory;
  StrandCalendar calendar;
  const StrandHealth *health; /* borrowed from the inventory; NULL: none */
  gboolean up;
  guint idle_now;        /* during a decision: idle slots open at this moment */
  guint *slot_task;      /* running task per slot, NONE: idle */
  GArray **reserved;     /* per slot: Reservation of the current decision, by start */
} Machine;

typedef struct {
  guint machine;
  gint64 duration;
  guint next;            /* next option of the same task, NONE */
} TaskOption;

typedef struct {
  guint to;
  guint next;            /* next successor edge of the same task, NONE */
} Edge;

typedef struct {
  guint sample;
  guint stage, cls;      /* interned names */
  gint64 declared;
  guint cores, gpus;
  guint64 memory;
  guint8 state;
  guint8 stabilises;
  guint8 unplaceable_reported;
  guint8 planned;
  const struct Estimate *estimate; /* its stage's on its class, once one exists (never freed
                                    * before the scheduler) */
  guint pending;         /* predecessors not finished */
  guint holds;           /* prerequisites outside the scheduler not yet released */
  guint succ;            /* first edge */
  guint opt;             /* first option */
  guint prev_in_sample;  /* the sample's previous task (creation order) */
  guint machine, slot;
  gint64 start, end;     /* running: start, expected end; done: start, end */
  gint64 tail_all;       /* critical path from this task's start to the sample's end */
  gint64 tail_stab;      /* ... to the end of its last stabilising task; -1: none ahead */
  guint attempts;
  /* planning */
  guint plan_machine, plan_slot, plan_prev;
  gint64 plan_start;
} Task;

typedef struct {
  char *id;
  guint last_task;
  guint n_ready, n_running, n_left;
  guint stabilisers_left;
  gboolean had_stabiliser;
  gboolean dirty;
  gint64 usable_until, due;
} Sample;

typedef struct Estimate {
  double mean;           /* observed durations, microseconds */
  guint runs;
  double ratio;          /* observed / declared, of runs that declared an estimate */
  guint ratio_runs;
  double propagated;     /* the ratio the samples' critical paths were last computed with */
} Estimate;

struct _StrandScheduler {
  StrandSchedulerConfig config;
  GArray *machines;      /* Machine */
  GArray *tasks;         /* Task */
  GArray *samples;       /* Sample */
  GArray *options;       /* TaskOption */
  GArray *edges;         /* Edge */
  GPtrArray *names;      /* interned stage and class names */
  GHashTable *name_index;
  GPtrArray *class_machines; /* per interned name: GArray of machine indices, or NULL */
  GArray *ready_in_class;    /* per interned name: ready tasks that run on that class (guint) */
  guint ready_flexible;      /* ready tasks with machine options */
  GHashTable *estimates; /* gint64 (stage << 32 | class) -> Estimate */
  StrandPriorityTable *priority;
  GArray *dirty;         /* samples whose critical paths must be recomputed */
  GArray *flags;         /* StrandSampleFlag, not yet taken */
  GArray *unplaceable;   /* guint tasks, not yet taken */
  GArray *reservations;  /* StrandAssignment of the last decision */
  GArray *scratch;       /* guint */
  GArray *flagged;       /* guint, scratch */
  guint reserved_count;
  gint64 last_now;
  gboolean has_plan;
  GArray *plan_order;    /* guint tasks by planned start */
};

void
strand_scheduler_config_init (StrandSchedulerConfig *config)
{
  memset (config, 0, sizeof *config);
  strand_priority_config_init (&config->priority);
  config->reservation_depth = 1024;
  config->estimate_weight = 0.3;
  config->default_estimate_us = HOUR_US;
  config->horizon_us = 28 * DAY_US;
}

static void
array_unref0 (gpointer array)
{
  if (array != NULL)
    g_array_unref (array);
}

static guint
intern (StrandScheduler *s, const char *name)
{
  gpointer index;
  if (g_hash_table_lookup_extended (s->name_index, name, NULL, &index))
    return GPOINTER_TO_UINT (index);
  char *copy = g_strdup (name);
  g_ptr_array_add (s->names, copy);
  g_ptr_array_add (s->class_machines, NULL);
  guint zero = 0;
  g_array_append_val (s->ready_in_class, zero);
  g_hash_table_insert (s->name_index, copy, GUINT_TO_POINTER (s->names->len - 1));
  return s->names->len - 1;
}

StrandScheduler *
strand_scheduler_new (const StrandSchedulerConfig *config)
{
  StrandScheduler *s = g_new0 (StrandScheduler, 1);
  if (config != NULL)
    s->config = *config;
  else
    strand_scheduler_config_init (&s->config);
  if (s->config.estimate_weight <= 0 || s->config.estimate_weight > 1)
    s->config.estimate_weight = 0.3;
  if (s->config.default_estimate_us <= 0)
    s->config.default_estimate_us = HOUR_US;
  if (s->config.horizon_us <= 0)
    s->config.horizon_us = 28 * DAY_US;
  s->machines = g_array_new (FALSE, TRUE, sizeof (Machine));
  s->tasks = g_array_new (FALSE, TRUE, sizeof (Task));
  s->samples = g_array_new (FALSE, TRUE, sizeof (Sample));
  s->options = g_array_new (FALSE, FALSE, sizeof (TaskOption));
  s->edges = g_array_new (FALSE, FALSE, sizeof (Edge));
  s->names = g_ptr_array_new_with_free_func (g_free);
  s->name_index = g_hash_table_new (g_str_hash, g_str_equal);
  s->class_machines = g_ptr_array_new_with_free_func (array_unref0);
  s->ready_in_class = g_array_new (FALSE, FALSE, sizeof (guint));
  s->estimates = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  s->priority = strand_priority_table_new (&s->config.priority, 64);
  s->dirty = g_array_new (FALSE, FALSE, sizeof (guint));
  s->flags = g_array_new (FALSE, FALSE, sizeof (StrandSampleFlag));
  s->unplaceable = g_array_new (FALSE, FALSE, sizeof (guint));
  s->reservations = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  s->scratch = g_array_new (FALSE, FALSE, sizeof (guint));
  s->flagged = g_array_new (FALSE, FALSE, sizeof (guint));
  s->plan_order = g_array_new (FALSE, FALSE, sizeof (guint));
  s->last_now = G_MININT64;
  return s;
}

void
strand_scheduler_free (StrandScheduler *s)
{
  if (s == NULL)
    return;
  for (guint m = 0; m < s->machines->len; m++)
    {
      Machine *mc = &g_array_index (s->machines, Machine, m);
      g_free (mc->id);
      strand_calendar_clear (&mc->calendar);
      g_free (mc->slot_task);
      for (guint k = 0; k < mc->slots; k++)
        g_array_unref (mc->reserved[k]);
      g_free (mc->reserved);
    }
  for (guint i = 0; i < s->samples->len; i++)
    g_free (g_array_index (s->samples, Sample, i).id);
  g_array_unref (s->machines);
  g_array_unref (s->tasks);
  g_array_unref (s->samples);
  g_array_unref (s->options);
  g_array_unref (s->edges);
  g_hash_table_unref (s->name_index);
  g_ptr_array_unref (s->names);
  g_ptr_array_unref (s->class_machines);
  g_array_unref (s->ready_in_class);
  g_hash_table_unref (s->estimates);
  strand_priority_table_free (s->priority);
  g_array_unref (s->dirty);
  g_array_unref (s->flags);
  g_array_unref (s->unplaceable);
  g_array_unref (s->reservations);
  g_array_unref (s->scratch);
  g_array_unref (s->flagged);
  g_array_unref (s->plan_order);
  g_free (s);
}

#define MACHINE(s, m) (&g_array_index ((s)->machines, Machine, (m)))
#define TASK(s, t) (&g_array_index ((s)->tasks, Task, (t)))
#define SAMPLE(s, i) (&g_array_index ((s)->samples, Sample, (i)))

/* Ready tasks by where they can run, so a decision can tell when no
 * queued task is left that an idle machine could take. */
static void
count_ready (StrandScheduler *s, const Task *task, int delta)
{
  if (task->opt != NONE)
    s->ready_flexible += delta;
  else
    g_array_index (s->ready_in_class, guint, task->cls) += delta;
}

static void
mark_dirty (StrandScheduler *s, guint sample)
{
  Sample *sm = SAMPLE (s, sample);
  if (!sm->dirty)
    {
      sm->dirty = TRUE;
      g_array_append_val (s->dirty, sample);
    }
}

/* ---- machines ------------------------------------------------------------------ */

guint
strand_scheduler_add_machine (StrandScheduler *s, const char *id, const char *equipment_class,
                              guint slots)
{
  Machine m = { 0 };
  m.id = g_strdup (id);
  m.cls = intern (s, equipment_class ? equipment_class : "compute");
  m.slots = MAX (slots, 1);
  strand_calendar_init (&m.calendar);
  m.up = TRUE;
  m.slot_task = g_new (guint, m.slots);
  for (guint k = 0; k < m.slots; k++)
    m.slot_task[k] = NONE;
  m.reserved = g_new (GArray *, m.slots);
  for (guint k = 0; k < m.slots; k++)
    m.reserved[k] = g_array_new (FALSE, FALSE, sizeof (Reservation));
  g_array_append_val (s->machines, m);
  guint index = s->machines->len - 1;
  GArray *of_class = s->class_machines->pdata[m.cls];
  if (of_class == NULL)
    of_class = s->class_machines->pdata[m.cls] = g_array_new (FALSE, FALSE, sizeof (guint));
  g_array_append_val (of_class, index);
  return index;
}

guint
strand_scheduler_add_equipment (StrandScheduler *s, const StrandEquipment *e)
{
  guint m = strand_scheduler_add_machine (s, e->id, e->equipment_class, e->capacity);
  Machine *mc = MACHINE (s, m);
  mc->cores = e->cores;
  mc->gpus = e->gpus;
  mc->memory = e->memory_bytes;
  mc->health = e->health;
  g_array_append_vals (mc->calendar.hours, e->hours->data, e->hours->len);
  for (guint k = 0; k < e->maintenance->len; k++)
    {
      const StrandMaintenance *w = e->maintenance->pdata[k];
      strand_calendar_add_downtime (&mc->calendar, w->start_us, w->end_us);
    }
  return m;
}

void
strand_scheduler_add_inventory (StrandScheduler *s, const StrandInventory *inventory)
{
  for (guint i = 0; i < inventory->items->len; i++)
    strand_scheduler_add_equipment (s, inventory->items->pdata[i]);
}

void
strand_scheduler_add_downtime (StrandScheduler *s, guint m, gint64 start_us, gint64 end_us)
{
  g_return_if_fail (m < s->machines->len);
  strand_calendar_add_downtime (&MACHINE (s, m)->calendar, start_us, end_us);
}

void
strand_scheduler_set_due (StrandScheduler *s, guint m, gint64 due_us)
{
  g_return_if_fail (m < s->machines->len);
  MACHINE (s, m)->calendar.due = due_us;
}

static void
drop_plan (StrandScheduler *s)
{
  if (!s->has_plan)
    return;
  for (guint k = 0; k < s->plan_order->len; k++)
    TASK (s, g_array_index (s->plan_order, guint, k))->planned = FALSE;
  g_array_set_size (s->plan_order, 0);
  s->has_plan = FALSE;
}

/* A running task goes back to the queue. */
static void
requeue (StrandScheduler *s, guint t)
{
  Task *task = TASK (s, t);
  Machine *m = MACHINE (s, task->machine);
  m->slot_task[task->slot] = NONE;
  task->state = STRAND_TASK_READY;
  count_ready (s, task, +1);
  task->attempts++;
  Sample *sm = SAMPLE (s, task->sample);
  sm->n_running--;
  sm->n_ready++;
  mark_dirty (s, task->sample);
}

guint
strand_scheduler_machine_down (StrandScheduler *s, guint m, GArray *interrupted)
{
  g_return_val_if_fail (m < s->machines->len, 0);
  Machine *mc = MACHINE (s, m);
  mc->up = FALSE;
  guint n = 0;
  for (guint k = 0; k < mc->slots; k++)
    {
      guint t = mc->slot_task[k];
      if (t == NONE)
        continue;
      requeue (s, t);
      if (interrupted)
        g_array_append_val (interrupted, t);
      n++;
    }
  drop_plan (s);
  return n;
}

void
strand_scheduler_machine_up (StrandScheduler *s, guint m)
{
  g_return_if_fail (m < s->machines->len);
  MACHINE (s, m)->up = TRUE;
}

guint
strand_scheduler_machine_count (const StrandScheduler *s)
{
  return s->machines->len;
}

const char *
strand_scheduler_machine_id (const StrandScheduler *s, guint m)
{
  g_return_val_if_fail (m < s->machines->len, NULL);
  return g_array_index (s->machines, Machine, m).id;
}

guint
strand_scheduler_class_machine_count (const StrandScheduler *s, const char *equipment_class)
{
  gpointer index;
  if (!g_hash_table_lookup_extended (s->name_index, equipment_class, NULL, &index))
    return 0;
  const GArray *of_class = s->class_machines->pdata[GPOINTER_TO_UINT (index)];
  return of_class ? of_class->len : 0;
}

guint
strand_scheduler_find_machine (const StrandScheduler *s, const char *id)
{
  for (guint m = 0; m < s->machines->len; m++)
    if (g_strcmp0 (g_array_index (s->machines, Machine, m).id, id) == 0)
      return m;
  return NONE;
}

/* ---- estimates ----------------------------------------------------------------- */

static Estimate *
find_estimate (const StrandScheduler *s, guint stage, guint cls)
{
  gint64 key = (gint64) ((guint64) stage << 32 | cls);
  return g_hash_table_lookup (s->estimates, &key);
}

/* The declared estimate corrected by how past runs compared with theirs;
 * without a declared estimate, the mean of past runs. */
static gint64
class_estimate (const StrandScheduler *s, const Task *task)
{
  /* Looked up once per task: critical paths ask for it on every change. */
  const Estimate *e = task->estimate;
  if (e == NULL && (e = find_estimate (s, task->stage, task->cls)) != NULL)
    ((Task *) task)->estimate = e;
  if (task->declared > 0)
    return e != NULL && e->ratio_runs > 0 ? (gint64) ((double) task->declared * e->ratio + 0.5)
                                          : task->declared;
  return e != NULL && e->runs > 0 ? (gint64) (e->mean + 0.5) : s->config.default_estimate_us;
}

/* The duration on machine m, or (m NONE) the shortest the task can have. */
static gint64
duration_on (const StrandScheduler *s, const Task *task, guint m)
{
  if (task->opt == NONE)
    return class_estimate (s, task);
  gint64 best = G_MAXINT64;
  for (guint k = task->opt; k != NONE; k = g_array_index (s->options, TaskOption, k).next)
    {
      const TaskOption *o = &g_array_index (s->options, TaskOption, k);
      if (m == NONE || o->machine == m)
        best = MIN (best, o->duration);
    }
  return best;
}

/* What the task usually takes: the mean over its options, when it has
 * several machines to choose from. For ordering, not for deadlines (which
 * take the shortest, so as never to flag a sample that could still make it). */
static gint64
typical_duration (const StrandScheduler *s, const Task *task)
{
  if (task->opt == NONE)
    return class_estimate (s, task);
  gint64 sum = 0, n = 0;
  for (guint k = task->opt; k != NONE; k = g_array_index (s->options, TaskOption, k).next)
    {
      sum += g_array_index (s->options, TaskOption, k).duration;
      n++;
    }
  return sum / n;
}

static void
observe (StrandScheduler *s, const Task *task, gint64 observed)
{
  gint64 key = (gint64) ((guint64) task->stage << 32 | task->cls);
  Estimate *e = g_hash_table_lookup (s->estimates, &key);
  if (e == NULL)
    {
      e = g_new0 (Estimate, 1);
      e->propagated = 1;
      g_hash_table_insert (s->estimates, g_memdup2 (&key, sizeof key), e);
    }
  double w = s->config.estimate_weight;
  e->mean = e->runs == 0 ? (double) observed : w * (double) observed + (1 - w) * e->mean;
  e->runs++;
  if (task->declared > 0)
    {
      double r = (double) observed / (double) task->declared;
      e->ratio = e->ratio_runs == 0 ? r : w * r + (1 - w) * e->ratio;
      e->ratio_runs++;
    }
  /* Critical paths use the estimates: when the correction drifts by more
   * than a tenth from what they were computed with, every sample still at
   * work gets its paths again. */
  double now_ratio = e->ratio_runs > 0 ? e->ratio : 1;
  if (now_ratio > e->propagated * 1.1 || now_ratio < e->propagated * 0.9 ||
      (task->declared == 0 && e->runs == 1))
    {
      e->propagated = now_ratio;
      for (guint i = 0; i < s->samples->len; i++)
        if (SAMPLE (s, i)->n_left > 0)
          mark_dirty (s, i);
    }
}

gint64
strand_scheduler_observed_estimate_us (const StrandScheduler *s, const char *stage,
                                       const char *equipment_class)
{
  gpointer a, b;
  if (!g_hash_table_lookup_extended (s->name_index, stage, NULL, &a) ||
      !g_hash_table_lookup_extended (s->name_index, equipment_class, NULL, &b))
    return -1;
  const Estimate *e = find_estimate (s, GPOINTER_TO_UINT (a), GPOINTER_TO_UINT (b));
  return e != NULL && e->runs > 0 ? (gint64) (e->mean + 0.5) : -1;
}

gint64
strand_scheduler_task_estimate_us (const StrandScheduler *s, guint t, guint m)
{
  g_return_val_if_fail (t < s->tasks->len, -1);
  return duration_on (s, &g_array_index (s->tasks, Task, t), m);
}

/* ---- samples and tasks ----------------------------------------------------------- */

guint
strand_scheduler_add_sample (StrandScheduler *s, const StrandSampleInfo *info)
{
  gint64 now = strand_clock_now_us ();
  Sample sm = { 0 };
  sm.id = g_strdup (info->id);
  sm.last_task = NONE;
  sm.usable_until = info->usable_until_us;
  sm.due = info->due_us;
  g_array_append_val (s->samples, sm);
  guint i = strand_priority_add (s->priority, info->clinical,
                                 info->arrived_us ? info->arrived_us : now);
  g_assert (i == s->samples->len - 1);
  mark_dirty (s, i);
  return i;
}

guint
strand_scheduler_add_sheet_sample (StrandScheduler *s, const StrandSample *sample,
                                   const StrandSampleTypes *types)
{
  StrandSampleInfo info = { 0 };
  info.id = sample->id;
  if (!strand_clinical_class_parse (sample->priority, &info.clinical))
    info.clinical = STRAND_CLINICAL_ROUTINE;
  info.usable_until_us = types ? strand_sample_usable_until (types, sample) : G_MAXINT64;
  info.due_us = sample->due_us ? sample->due_us : G_MAXINT64;
  return strand_scheduler_add_sample (s, &info);
}

guint
strand_scheduler_sample_count (const StrandScheduler *s)
{
  return s->samples->len;
}

const char *
strand_scheduler_sample_id (const StrandScheduler *s, guint i)
{
  g_return_val_if_fail (i < s->samples->len, NULL);
  return g_array_index (s->samples, Sample, i).id;
}

guint
strand_scheduler_add_task (StrandScheduler *s, guint sample, const StrandTaskInfo *info)
{
  g_return_val_if_fail (sample < s->samples->len, NONE);
  for (guint k = 0; k < info->n_after; k++)
    if (info->after[k] >= s->tasks->len || TASK (s, info->after[k])->sample != sample)
      return NONE;
  Task task = { 0 };
  task.sample = sample;
  task.stage = intern (s, info->stage ? info->stage : "");
  task.cls = intern (s, info->equipment_class ? info->equipment_class : "compute");
  task.declared = info->estimate_us;
  task.cores = info->cores;
  task.gpus = info->gpus;
  task.memory = info->memory_bytes;
  task.stabilises = info->stabilises != FALSE;
  task.succ = NONE;
  task.opt = NONE;
  task.machine = NONE;
  task.plan_prev = NONE;
  guint t = s->tasks->len;
  for (guint k = 0; k < info->n_after; k++)
    {
      Task *pred = TASK (s, info->after[k]);
      if (pred->state != STRAND_TASK_DONE)
        task.pending++;
      Edge e = { t, pred->succ };
      g_array_append_val (s->edges, e);
      pred->succ = s->edges->len - 1;
    }
  Sample *sm = SAMPLE (s, sample);
  task.prev_in_sample = sm->last_task;
  task.holds = info->holds;
  task.state = task.pending == 0 && task.holds == 0 ? STRAND_TASK_READY : STRAND_TASK_WAITING;
  g_array_append_val (s->tasks, task);
  sm->last_task = t;
  sm->n_left++;
  if (task.state == STRAND_TASK_READY)
    {
      sm->n_ready++;
      count_ready (s, &task, +1);
    }
  if (task.stabilises)
    {
      sm->had_stabiliser = TRUE;
      sm->stabilisers_left++;
    }
  mark_dirty (s, sample);
  drop_plan (s);
  return t;
}

void
strand_scheduler_add_option (StrandScheduler *s, guint t, guint m, gint64 duration_us)
{
  g_return_if_fail (t < s->tasks->len && m < s->machines->len && duration_us >= 0);
  Task *task = TASK (s, t);
  if (task->state == STRAND_TASK_READY && task->opt == NONE)
    {
      count_ready (s, task, -1); /* from its class to the flexible ones */
      s->ready_flexible++;
    }
  TaskOption o = { m, duration_us, task->opt };
  g_array_append_val (s->options, o);
  task->opt = s->options->len - 1;
  mark_dirty (s, task->sample);
}

StrandTaskState
strand_scheduler_task_state (const StrandScheduler *s, guint t)
{
  g_return_val_if_fail (t < s->tasks->len, STRAND_TASK_CANCELLED);
  return (StrandTaskState) g_array_index (s->tasks, Task, t).state;
}

guint
strand_scheduler_task_sample (const StrandScheduler *s, guint t)
{
  g_return_val_if_fail (t < s->tasks->len, NONE);
  return g_array_index (s->tasks, Task, t).sample;
}

guint
strand_scheduler_task_count (const StrandScheduler *s)
{
  return s->tasks->len;
}

gboolean
strand_scheduler_task_placement (const StrandScheduler *s, guint t, guint *machine,
                                 gint64 *start_us, gint64 *end_us)
{
  g_return_val_if_fail (t < s->tasks->len, FALSE);
  const Task *task = &g_array_index (s->tasks, Task, t);
  if (task->state != STRAND_TASK_RUNNING && task->state != STRAND_TASK_DONE)
    return FALSE;
  if (machine)
    *machine = task->machine;
  if (start_us)
    *start_us = task->start;
  if (end_us)
    *end_us = task->end;
  return TRUE;
}

/* A waiting task whose predecessors are done and holds released. */
static void
make_ready_if_free (StrandScheduler *s, Task *task)
{
  if (task->state != STRAND_TASK_WAITING || task->pending > 0 || task->holds > 0)
    return;
  task->state = STRAND_TASK_READY;
  count_ready (s, task, +1);
  SAMPLE (s, task->sample)->n_ready++;
  mark_dirty (s, task->sample);
}

static void
release_successors (StrandScheduler *s, const Task *task)
{
  for (guint k = task->succ; k != NONE; k = g_array_index (s->edges, Edge, k).next)
    {
      Task *next = TASK (s, g_array_index (s->edges, Edge, k).to);
      next->pending--;
      make_ready_if_free (s, next);
    }
}

static void
retire_if_done (StrandScheduler *s, guint sample)
{
  if (SAMPLE (s, sample)->n_left == 0)
    strand_priority_retire (s->priority, sample);
}

gboolean
strand_scheduler_task_finished (StrandScheduler *s, guint t)
{
  g_return_val_if_fail (t < s->tasks->len, FALSE);
  Task *task = TASK (s, t);
  if (task->state != STRAND_TASK_RUNNING)
    return FALSE;
  gint64 now = strand_clock_now_us ();
  MACHINE (s, task->machine)->slot_task[task->slot] = NONE;
  task->state = STRAND_TASK_DONE;
  task->end = MAX (now, task->start);
  if (task->opt == NONE)
    observe (s, task, task->end - task->start);
  task = TASK (s, t);
  Sample *sm = SAMPLE (s, task->sample);
  sm->n_running--;
  sm->n_left--;
  if (task->stabilises)
    sm->stabilisers_left--;
  release_successors (s, task);
  mark_dirty (s, task->sample);
  return TRUE;
}

gboolean
strand_scheduler_task_retire (StrandScheduler *s, guint t)
{
  g_return_val_if_fail (t < s->tasks->len, FALSE);
  Task *task = TASK (s, t);
  if (task->state != STRAND_TASK_READY && task->state != STRAND_TASK_WAITING)
    return FALSE;
  Sample *sm = SAMPLE (s, task->sample);
  if (task->state == STRAND_TASK_READY)
    {
      sm->n_ready--;
      count_ready (s, task, -1);
    }
  task->state = STRAND_TASK_DONE;
  task->start = task->end = strand_clock_now_us ();
  sm->n_left--;
  if (task->stabilises)
    sm->stabilisers_left--;
  release_successors (s, task);
  mark_dirty (s, task->sample);
  drop_plan (s);
  return TRUE;
}

gboolean
strand_scheduler_hold (StrandScheduler *s, guint t)
{
  g_return_val_if_fail (t < s->tasks->len, FALSE);
  Task *task = TASK (s, t);
  if (task->state != STRAND_TASK_READY && task->state != STRAND_TASK_WAITING)
    return FALSE;
  if (task->state == STRAND_TASK_READY)
    {
      task->state = STRAND_TASK_WAITING;
      count_ready (s, task, -1);
      SAMPLE (s, task->sample)->n_ready--;
      mark_dirty (s, task->sample);
    }
  task->holds++;
  return TRUE;
}

gboolean
strand_scheduler_release (StrandScheduler *s, guint t)
{
  g_return_val_if_fail (t < s->tasks->len, FALSE);
  Task *task = TASK (s, t);
  if (task->holds == 0)
    return FALSE;
  if (--task->holds == 0)
    make_ready_if_free (s, task);
  return TRUE;
}

gboolean
strand_scheduler_exclude_machine (StrandScheduler *s, guint t, guint m)
{
  g_return_val_if_fail (t < s->tasks->len && m < s->machines->len, FALSE);
  Task *task = TASK (s, t);
  if (task->opt == NONE)
    {
      /* From its class to every other machine of the class, each for the
       * duration the class would take. */
      const GArray *of_class = task->cls < s->class_machines->len ? s->class_machines->pdata[task->cls]
                                                                 : NULL;
      guint others = 0;
      for (guint k = 0; of_class && k < of_class->len; k++)
        others += g_array_index (of_class, guint, k) != m;
      if (others == 0)
        return FALSE;
      gint64 d = duration_on (s, task, NONE);
      for (guint k = 0; k < of_class->len; k++)
        if (g_array_index (of_class, guint, k) != m)
          strand_scheduler_add_option (s, t, g_array_index (of_class, guint, k), d);
    }
  else
    {
      guint *link = &task->opt;
      while (*link != NONE && g_array_index (s->options, TaskOption, *link).machine != m)
        link = &g_array_index (s->options, TaskOption, *link).next;
      if (*link == NONE)
        return TRUE; /* not one of its machines */
      TaskOption *o = &g_array_index (s->options, TaskOption, *link);
      if (link == &task->opt && o->next == NONE)
        return FALSE; /* its last machine */
      *link = o->next;
    }
  mark_dirty (s, TASK (s, t)->sample);
  drop_plan (s);
  return TRUE;
}

static void
cancel_waiting (StrandScheduler *s, guint sample)
{
  Sample *sm = SAMPLE (s, sample);
  for (guint t = sm->last_task; t != NONE; t = TASK (s, t)->prev_in_sample)
    {
      Task *task = TASK (s, t);
      if (task->state != STRAND_TASK_READY && task->state != STRAND_TASK_WAITING)
        continue;
      if (task->state == STRAND_TASK_READY)
        {
          sm->n_ready--;
          count_ready (s, task, -1);
        }
      if (task->stabilises)
        sm->stabilisers_left--;
      task->state = STRAND_TASK_CANCELLED;
      sm->n_left--;
    }
  mark_dirty (s, sample);
}

gboolean
strand_scheduler_task_failed (StrandScheduler *s, guint t, gboolean requeue_it)
{
  g_return_val_if_fail (t < s->tasks->len, FALSE);
  Task *task = TASK (s, t);
  if (task->state != STRAND_TASK_RUNNING)
    return FALSE;
  requeue (s, t);
  drop_plan (s);
  if (!requeue_it)
    cancel_waiting (s, task->sample);
  return TRUE;
}

void
strand_scheduler_cancel_sample (StrandScheduler *s, guint sample)
{
  g_return_if_fail (sample < s->samples->len);
  cancel_waiting (s, sample);
}

void
strand_scheduler_accept_late (StrandScheduler *s, guint sample)
{
  g_return_if_fail (sample < s->samples->len);
  strand_priority_accept_late (s->priority, sample);
  mark_dirty (s, sample);
}

/* ---- critical paths and priorities -------------------------------------------------- */

static inline gint64
add_sat (gint64 a, gint64 b)
{
  return a > 0 && b > G_MAXINT64 - a ? G_MAXINT64 : a + b;
}

/* Recomputes a sample's critical paths and hands the priority table what
 * it needs: the work ahead of the ready tasks, and what running tasks
 * commit to. Tasks were added after their predecessors, so walking them
 * backwards sees every successor first. */
static void
recompute_sample (StrandScheduler *s, guint sample, gint64 now)
{
  Sample *sm = SAMPLE (s, sample);
  sm->dirty = FALSE;
  gint64 work_all = 0, work_stab = 0, next_task = 0;
  gint64 committed_all = G_MININT64, committed_stab = G_MININT64;
  for (guint t = sm->last_task; t != NONE; t = TASK (s, t)->prev_in_sample)
    {
      Task *task = TASK (s, t);
      if (task->state == STRAND_TASK_DONE || task->state == STRAND_TASK_CANCELLED)
        continue;
      gint64 after_all = 0, after_stab = -1;
      for (guint k = task->succ; k != NONE; k = g_array_index (s->edges, Edge, k).next)
        {
          const Task *next = TASK (s, g_array_index (s->edges, Edge, k).to);
          if (next->state == STRAND_TASK_DONE || next->state == STRAND_TASK_CANCELLED)
            continue;
          after_all = MAX (after_all, next->tail_all);
          after_stab = MAX (after_stab, next->tail_stab);
        }
      gint64 d = duration_on (s, task, NONE);
      task->tail_all = add_sat (d, after_all);
      task->tail_stab = after_stab >= 0 ? add_sat (d, after_stab) : (task->stabilises ? d : -1);
      if (task->state == STRAND_TASK_WAITING && task->pending == 0)
        {
          /* Held by what the scheduler does not see: its work is still ahead. */
          work_all = MAX (work_all, task->tail_all);
          work_stab = MAX (work_stab, task->tail_stab);
        }
      else if (task->state == STRAND_TASK_READY)
        {
          if (task->tail_all > work_all)
            next_task = typical_duration (s, task);
          work_all = MAX (work_all, task->tail_all);
          work_stab = MAX (work_stab, task->tail_stab);
        }
      else if (task->state == STRAND_TASK_RUNNING)
        {
          gint64 end = MAX (task->end, now);
          committed_all = MAX (committed_all, add_sat (end, after_all));
          if (after_stab >= 0)
            committed_stab = MAX (committed_stab, add_sat (end, after_stab));
          else if (task->stabilises)
            committed_stab = MAX (committed_stab, end);
        }
    }
  gint64 usable = sm->usable_until;
  if (!sm->had_stabiliser)
    {
      /* No task is marked as stabilising: the whole pipeline counts. */
      work_stab = work_all;
      committed_stab = committed_all;
    }
  else if (sm->stabilisers_left == 0)
    usable = G_MAXINT64;
  strand_priority_set_deadlines (s->priority, sample, usable, work_stab, sm->due, work_all,
                                 next_task);
  strand_priority_set_committed (s->priority, sample, committed_stab, committed_all);
  strand_priority_set_queued (s->priority, sample, sm->n_ready > 0);
  retire_if_done (s, sample);
}

/* Brings critical paths and priorities up to now, and collects new flags. */
static void
refresh (StrandScheduler *s, gint64 now)
{
  for (guint k = 0; k < s->dirty->len; k++)
    recompute_sample (s, g_array_index (s->dirty, guint, k), now);
  g_array_set_size (s->dirty, 0);
  strand_priority_recalculate (s->priority, now);
  g_array_set_size (s->flagged, 0);
  strand_priority_take_flagged (s->priority, s->flagged);
  for (guint k = 0; k < s->flagged->len; k++)
    {
      guint i = g_array_index (s->flagged, guint, k);
      const Sample *sm = SAMPLE (s, i);
      StrandSampleFlag f = {
        .sample = i,
        .at_us = now,
        .latest_start_us = strand_priority_latest_start_us (s->priority, i),
        .usable_until_us = sm->usable_until,
        .due_us = sm->due,
      };
      g_array_append_val (s->flags, f);
    }
  s->last_now = now;
}

guint
strand_scheduler_take_flags (StrandScheduler *s, GArray *flags)
{
  refresh (s, strand_clock_now_us ());
  guint n = s->flags->len;
  if (n > 0)
    g_array_append_vals (flags, s->flags->data, n);
  g_array_set_size (s->flags, 0);
  return n;
}

guint
strand_scheduler_take_unplaceable (StrandScheduler *s, GArray *tasks)
{
  guint n = s->unplaceable->len;
  if (n > 0)
    g_array_append_vals (tasks, s->unplaceable->data, n);
  g_array_set_size (s->unplaceable, 0);
  return n;
}

StrandPriorityTable *
strand_scheduler_priorities (StrandScheduler *s)
{
  return s->priority;
}

/* ---- placing a task ---------------------------------------------------------------- */

static gboolean
fits_resources (const Machine *m, const Task *task)
{
  return (m->cores == 0 || task->cores <= m->cores) && task->gpus <= m->gpus &&
         (m->memory == 0 || task->memory <= m->memory);
}

/* The earliest start on one slot, from `from`, for `d`: within the
 * machine's calendar and clear of the reservations on that slot. */
static gint64
slot_earliest (const StrandScheduler *s, const Machine *m, guint slot, gint64 from, gint64 d,
               gint64 horizon)
{
  gint64 start = from;
  for (guint guard = 0; guard < 100000; guard++)
    {
      start = strand_calendar_fit (&m->calendar, start, d, horizon);
      if (start == G_MAXINT64)
        return G_MAXINT64;
      const Reservation *clash = NULL;
      const GArray *reserved = m->reserved[slot];
      for (guint k = 0; k < reserved->len; k++)
        {
          const Reservation *r = &g_array_index (reserved, Reservation, k);
          if (r->end <= start)
            continue;
          if (r->start >= add_sat (start, d) && !(d == 0 && r->start == start))
            break; /* sorted by start: nothing later can overlap */
          clash = r;
          break;
        }
      if (clash == NULL)
        return start;
      start = clash->end;
    }
  return G_MAXINT64;
}

typedef struct {
  guint machine, slot;
  gint64 start, duration;
} Place;

/* Where a slot is free from, as far as running tasks go. */
static gint64
slot_free_from (const StrandScheduler *s, const Machine *m, guint slot, gint64 now)
{
  guint running = m->slot_task[slot];
  if (running == NONE)
    return now;
  gint64 end = TASK (s, running)->end;
  return end > now ? end : now + 1; /* overdue: it may end at any moment */
}

static void
try_slot (StrandScheduler *s, const Machine *m, guint mi, guint slot, gint64 from, gint64 d,
          gint64 horizon, Place *best, gint64 *best_end)
{
  gint64 start = slot_earliest (s, m, slot, from, d, horizon);
  if (start == G_MAXINT64)
    return;
  /* Predictive maintenance: one more run of this length must not carry
   * the machine past a service it is due for. */
  if (m->health != NULL && !strand_health_accepts (m->health, start, d, 1, 1.0, NULL))
    return;
  gint64 end = add_sat (start, d);
  if (end < *best_end || (end == *best_end && start < best->start))
    {
      *best_end = end;
      best->machine = mi;
      best->slot = slot;
      best->start = start;
      best->duration = d;
    }
}

/* Where the task would finish first; FALSE when nowhere (and `never` says
 * whether no machine could ever take it). Ties go to the earlier start,
 * then to the first candidate. */
static gboolean
best_place (StrandScheduler *s, const Task *task, gboolean by_plan, gint64 now, Place *best,
            gboolean *never)
{
  gint64 horizon = add_sat (now, s->config.horizon_us);
  gint64 best_end = G_MAXINT64;
  gboolean any_machine = FALSE;
  guint n_candidates;
  const guint *candidates;
  guint single;
  const GArray *of_class = NULL;
  g_array_set_size (s->scratch, 0);
  if (by_plan)
    {
      single = task->plan_machine;
      candidates = &single;
      n_candidates = 1;
    }
  else if (task->opt != NONE)
    {
      for (guint k = task->opt; k != NONE; k = g_array_index (s->options, TaskOption, k).next)
        g_array_append_val (s->scratch, g_array_index (s->options, TaskOption, k).machine);
      candidates = (const guint *) s->scratch->data;
      n_candidates = s->scratch->len;
    }
  else
    {
      of_class = task->cls < s->class_machines->len ? s->class_machines->pdata[task->cls] : NULL;
      candidates = of_class ? (const guint *) of_class->data : NULL;
      n_candidates = of_class ? of_class->len : 0;
    }
  for (guint c = 0; c < n_candidates; c++)
    {
      guint mi = candidates[c];
      const Machine *m = MACHINE (s, mi);
      if (!fits_resources (m, task))
        continue;
      any_machine = TRUE;
      if (!m->up)
        continue;
      gint64 d = duration_on (s, task, mi);
      /* Slots without reservations differ only in when they are free: the
       * one free first stands for them all. */
      guint clear_slot = NONE;
      gint64 clear_from = G_MAXINT64;
      for (guint slot = 0; slot < m->slots; slot++)
        {
          if (by_plan && slot != task->plan_slot)
            continue;
          gint64 from = slot_free_from (s, m, slot, now);
          if (m->reserved[slot]->len == 0)
            {
              if (from < clear_from)
                clear_from = from, clear_slot = slot;
              continue;
            }
          try_slot (s, m, mi, slot, from, d, horizon, best, &best_end);
        }
      if (clear_slot != NONE)
        try_slot (s, m, mi, clear_slot, clear_from, d, horizon, best, &best_end);
    }
  *never = !any_machine;
  return best_end != G_MAXINT64;
}

static void
reserve (StrandScheduler *s, guint t, const Place *p)
{
  Machine *m = MACHINE (s, p->machine);
  Reservation r = { p->slot, p->start, add_sat (p->start, p->duration), t };
  GArray *reserved = m->reserved[p->slot];
  guint at = reserved->len;
  while (at > 0 && g_array_index (reserved, Reservation, at - 1).start > r.start)
    at--;
  g_array_insert_val (reserved, at, r);
  Task *task = TASK (s, t);
  StrandAssignment a = { t, task->sample, p->machine, p->slot, r.start, r.end };
  g_array_append_val (s->reservations, a);
  s->reserved_count++;
}

static void
start_task (StrandScheduler *s, guint t, const Place *p, gint64 now, GArray *started)
{
  Task *task = TASK (s, t);
  Machine *m = MACHINE (s, p->machine);
  m->slot_task[p->slot] = t;
  task->state = STRAND_TASK_RUNNING;
  task->machine = p->machine;
  task->slot = p->slot;
  task->start = now;
  task->end = add_sat (now, p->duration);
  Sample *sm = SAMPLE (s, task->sample);
  sm->n_ready--;
  count_ready (s, task, -1);
  sm->n_running++;
  mark_dirty (s, task->sample);
  StrandAssignment a = { t, task->sample, p->machine, p->slot, now, task->end };
  if (started)
    g_array_append_val (started, a);
}

typedef struct {
  gint64 now;
  guint idle_now;     /* slots that could start a task at this moment */
  guint *idle_class;  /* the same per interned class name */
  guint *left_class;  /* ready tasks of each class not considered yet */
  guint left_flexible;
  guint started;
  GArray *out;
} Decision;

/* Whether a task not considered yet could still start now: one of a class
 * with an idle machine, or one with machine options. */
static gboolean
anything_left_to_start (const StrandScheduler *s, const Decision *dc)
{
  if (dc->left_flexible > 0)
    return TRUE;
  for (guint c = 0; c < s->names->len; c++)
    if (dc->idle_class[c] > 0 && dc->left_class[c] > 0)
      return TRUE;
  return FALSE;
}

/* Whether some machine the task could use has a slot free right now. */
static gboolean
could_start_now (const StrandScheduler *s, const Task *task, gboolean by_plan, const Decision *dc)
{
  if (by_plan)
    return MACHINE (s, task->plan_machine)->idle_now > 0;
  if (task->opt == NONE)
    return task->cls < s->names->len && dc->idle_class[task->cls] > 0;
  for (guint k = task->opt; k != NONE; k = g_array_index (s->options, TaskOption, k).next)
    if (MACHINE (s, g_array_index (s->options, TaskOption, k).machine)->idle_now > 0)
      return TRUE;
  return FALSE;
}

/* Starts or reserves one ready task, on its planned machine and slot when
 * `by_plan`. */
static void
consider (StrandScheduler *s, guint t, gboolean by_plan, Decision *dc)
{
  Task *task = TASK (s, t);
  if (task->opt != NONE)
    dc->left_flexible -= dc->left_flexible > 0;
  else
    dc->left_class[task->cls] -= dc->left_class[task->cls] > 0;
  /* With every reservation taken, only a task that can start now matters:
   * skip the others without looking for a place. */
  if (s->reserved_count >= s->config.reservation_depth && !could_start_now (s, task, by_plan, dc))
    return;
  Place p = { 0 };
  gboolean never = FALSE;
  if (!best_place (s, task, by_plan, dc->now, &p, &never))
    {
      if (never && !task->unplaceable_reported)
        {
          task->unplaceable_reported = TRUE;
          g_array_append_val (s->unplaceable, t);
        }
      return;
    }
  if (p.start <= dc->now)
    {
      start_task (s, t, &p, dc->now, dc->out);
      task->planned = FALSE;
      dc->started++;
      Machine *m = MACHINE (s, p.machine);
      if (m->idle_now > 0)
        {
          m->idle_now--;
          dc->idle_class[m->cls]--;
          dc->idle_now--;
        }
    }
  else if (s->reserved_count < s->config.reservation_depth)
    reserve (s, t, &p);
}

static int
compare_tail (gconstpointer a, gconstpointer b, gpointer data)
{
  const StrandScheduler *s = data;
  guint x = *(const guint *) a, y = *(const guint *) b;
  gint64 tx = g_array_index (s->tasks, Task, x).tail_all, ty = g_array_index (s->tasks, Task, y).tail_all;
  if (tx != ty)
    return tx > ty ? -1 : 1;
  return (x > y) - (x < y);
}

/* A sample's ready tasks, longest path first; planned ones only when
 * `with_planned` (a critical sample does not wait for the plan). */
static void
consider_sample (StrandScheduler *s, guint sample, gboolean with_planned, Decision *dc,
                 GArray *ready)
{
  g_array_set_size (ready, 0);
  for (guint t = SAMPLE (s, sample)->last_task; t != NONE; t = TASK (s, t)->prev_in_sample)
    {
      const Task *task = TASK (s, t);
      if (task->state == STRAND_TASK_READY && (with_planned || !task->planned))
        g_array_append_val (ready, t);
    }
  if (ready->len > 1)
    g_qsort_with_data (ready->data, ready->len, sizeof (guint), compare_tail, s);
  for (guint k = 0; k < ready->len; k++)
    consider (s, g_array_index (ready, guint, k), FALSE, dc);
}

static int
compare_assignment (gconstpointer a, gconstpointer b)
{
  const StrandAssignment *x = a, *y = b;
  if (x->start_us != y->start_us)
    return x->start_us < y->start_us ? -1 : 1;
  return (x->task > y->task) - (x->task < y->task);
}

/* Planned tasks in planned order; one waits for its predecessor on its
 * machine to have started. */
static void
follow_plan (StrandScheduler *s, Decision *dc)
{
  gboolean pending = FALSE;
  for (guint k = 0; k < s->plan_order->len; k++)
    {
      guint t = g_array_index (s->plan_order, guint, k);
      Task *task = TASK (s, t);
      if (!task->planned)
        continue;
      if (task->state != STRAND_TASK_READY && task->state != STRAND_TASK_WAITING)
        {
          task->planned = FALSE; /* started or gone: the plan is done with it */
          continue;
        }
      pending = TRUE;
      if (task->state != STRAND_TASK_READY)
        continue;
      guint prev = task->plan_prev;
      if (prev != NONE && TASK (s, prev)->planned)
        {
          guint8 st = TASK (s, prev)->state;
          if (st == STRAND_TASK_READY || st == STRAND_TASK_WAITING)
            continue;
        }
      consider (s, t, TRUE, dc);
    }
  if (!pending)
    drop_plan (s);
}

guint
strand_scheduler_decide (StrandScheduler *s, GArray *started)
{
  gint64 now = strand_clock_now_us ();
  refresh (s, now);
  g_array_set_size (s->reservations, 0);
  s->reserved_count = 0;
  g_autofree guint *idle_class = g_new0 (guint, MAX (s->names->len, 1));
  g_autofree guint *left_class = g_new0 (guint, MAX (s->names->len, 1));
  if (s->names->len > 0)
    memcpy (left_class, s->ready_in_class->data, sizeof (guint) * s->names->len);
  Decision dc = { .now = now, .out = started, .idle_class = idle_class, .left_class = left_class,
                  .left_flexible = s->ready_flexible };
  for (guint m = 0; m < s->machines->len; m++)
    {
      Machine *mc = MACHINE (s, m);
      mc->idle_now = 0;
      for (guint k = 0; k < mc->slots; k++)
        g_array_set_size (mc->reserved[k], 0);
      if (!mc->up || !strand_calendar_open (&mc->calendar, now))
        continue;
      for (guint k = 0; k < mc->slots; k++)
        mc->idle_now += mc->slot_task[k] == NONE;
      dc.idle_now += mc->idle_now;
      idle_class[mc->cls] += mc->idle_now;
    }
  g_autoptr (GArray) ready = g_array_new (FALSE, FALSE, sizeof (guint));
  if (s->has_plan)
    {
      /* Samples about to expire first, then the plan. */
      strand_priority_walk_start (s->priority);
      gint64 i;
      while ((i = strand_priority_walk_next (s->priority)) >= 0 &&
             strand_priority_rank (s->priority, (guint) i) == STRAND_RANK_CRITICAL)
        consider_sample (s, (guint) i, TRUE, &dc, ready);
      follow_plan (s, &dc);
    }
  strand_priority_walk_start (s->priority);
  gint64 i;
  while ((i = strand_priority_walk_next (s->priority)) >= 0)
    {
      if (s->reserved_count >= s->config.reservation_depth &&
          (dc.idle_now == 0 || !anything_left_to_start (s, &dc)))
        break;
      if (s->has_plan && strand_priority_rank (s->priority, (guint) i) == STRAND_RANK_CRITICAL)
        continue; /* seen before the plan */
      consider_sample (s, (guint) i, FALSE, &dc, ready);
    }
  g_array_sort (s->reservations, compare_assignment);
  refresh (s, now);
  return dc.started;
}

const GArray *
strand_scheduler_reservations (const StrandScheduler *s)
{
  return s->reservations;
}

gint64
strand_scheduler_next_decision_us (StrandScheduler *s)
{
  gint64 now = strand_clock_now_us ();
  refresh (s, now);
  gint64 next = strand_priority_next_change_us (s->priority);
  for (guint k = 0; k < s->reservations->len; k++)
    {
      const StrandAssignment *a = &g_array_index (s->reservations, StrandAssignment, k);
      /* A reserved start on a busy slot waits for its task's end: news. */
      if (MACHINE (s, a->machine)->slot_task[a->slot] == NONE && a->start_us > now)
        next = MIN (next, a->start_us);
    }
  /* A task with no place within the horizon is looked at again when the
   * horizon has moved on. */
  if (strand_priority_queued (s->priority) > 0)
    next = MIN (next, add_sat (now, s->config.horizon_us));
  if (strand_priority_queued (s->priority) > 0)
    for (guint m = 0; m < s->machines->len; m++)
      {
        const Machine *mc = MACHINE (s, m);
        gboolean idle = FALSE;
        for (guint k = 0; k < mc->slots && !idle; k++)
          idle = mc->slot_task[k] == NONE;
        if (!mc->up || !idle || strand_calendar_open (&mc->calendar, now))
          continue;
        gint64 opens = strand_calendar_fit (&mc->calendar, now, 0, add_sat (now, s->config.horizon_us));
        if (opens > now)
          next = MIN (next, opens);
      }
  return next;
}

/* ---- planning ------------------------------------------------------------------------- */

static int
compare_plan_start (gconstpointer a, gconstpointer b, gpointer data)
{
  const StrandScheduler *s = data;
  guint x = *(const guint *) a, y = *(const guint *) b;
  gint64 sx = g_array_index (s->tasks, Task, x).plan_start, sy = g_array_index (s->tasks, Task, y).plan_start;
  if (sx != sy)
    return sx < sy ? -1 : 1;
  return (x > y) - (x < y);
}

gboolean
strand_scheduler_plan (StrandScheduler *s, const StrandPlannerOptions *options,
                       StrandPlannerStats *stats)
{
  gint64 now = strand_clock_now_us ();
  drop_plan (s);
  refresh (s, now);
  /* Plan machines are the slots of the machines that are up. */
  g_autofree guint *first_slot = g_new (guint, MAX (s->machines->len, 1));
  g_autoptr (GArray) plan_machine = g_array_new (FALSE, FALSE, sizeof (guint)); /* -> machine */
  guint n_plan_machines = 0;
  for (guint m = 0; m < s->machines->len; m++)
    {
      first_slot[m] = n_plan_machines;
      for (guint k = 0; MACHINE (s, m)->up && k < MACHINE (s, m)->slots; k++)
        g_array_append_val (plan_machine, m);
      n_plan_machines = plan_machine->len;
    }
  /* A task whose predecessor runs cannot start before that one ends. */
  g_autofree gint64 *release = g_new (gint64, MAX (s->tasks->len, 1));
  for (guint t = 0; t < s->tasks->len; t++)
    release[t] = now;
  for (guint t = 0; t < s->tasks->len; t++)
    {
      const Task *task = TASK (s, t);
      if (task->state != STRAND_TASK_RUNNING)
        continue;
      for (guint e = task->succ; e != NONE; e = g_array_index (s->edges, Edge, e).next)
        {
          guint to = g_array_index (s->edges, Edge, e).to;
          release[to] = MAX (release[to], MAX (task->end, now));
        }
    }
  g_autoptr (StrandPlannerProblem) problem = strand_planner_problem_new (n_plan_machines);
  for (guint m = 0; m < s->machines->len; m++)
    {
      const Machine *mc = MACHINE (s, m);
      for (guint k = 0; mc->up && k < mc->slots; k++)
        if (mc->slot_task[k] != NONE)
          strand_planner_problem_set_machine_ready (problem, first_slot[m] + k,
                                                    MAX (TASK (s, mc->slot_task[k])->end, now));
    }
  /* Samples whose every open task has a machine; their open tasks are the
   * operations. */
  g_autofree guint *op_of = g_new (guint, MAX (s->tasks->len, 1));
  g_autoptr (GArray) ops = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < s->samples->len; i++)
    {
      const Sample *sm = SAMPLE (s, i);
      if (sm->n_left == 0 || strand_priority_is_flagged (s->priority, i))
        continue;
      gboolean placeable = TRUE;
      for (guint t = sm->last_task; t != NONE && placeable; t = TASK (s, t)->prev_in_sample)
        {
          const Task *task = TASK (s, t);
          if (task->state != STRAND_TASK_READY && task->state != STRAND_TASK_WAITING)
            continue;
          gboolean any = FALSE;
          if (task->opt != NONE)
            for (guint k = task->opt; k != NONE && !any; k = g_array_index (s->options, TaskOption, k).next)
              any = MACHINE (s, g_array_index (s->options, TaskOption, k).machine)->up;
          else if (task->cls < s->class_machines->len && s->class_machines->pdata[task->cls])
            {
              const GArray *of_class = s->class_machines->pdata[task->cls];
              for (guint c = 0; c < of_class->len && !any; c++)
                {
                  const Machine *mc = MACHINE (s, g_array_index (of_class, guint, c));
                  any = mc->up && fits_resources (mc, task);
                }
            }
          placeable = any;
        }
      if (!placeable)
        continue;
      /* Forward order, so that predecessors get their operations first. */
      g_array_set_size (s->scratch, 0);
      for (guint t = sm->last_task; t != NONE; t = TASK (s, t)->prev_in_sample)
        g_array_append_val (s->scratch, t);
      for (guint k = s->scratch->len; k-- > 0;)
        {
          guint t = g_array_index (s->scratch, guint, k);
          op_of[t] = NONE;
          const Task *task = TASK (s, t);
          if (task->state != STRAND_TASK_READY && task->state != STRAND_TASK_WAITING)
            continue;
          op_of[t] = strand_planner_problem_add_op (problem, release[t]);
          g_array_append_val (ops, t);
        }
    }
  if (ops->len == 0)
    return FALSE;
  for (guint k = 0; k < ops->len; k++)
    {
      guint t = g_array_index (ops, guint, k);
      const Task *task = TASK (s, t);
      if (task->opt != NONE)
        {
          for (guint o = task->opt; o != NONE; o = g_array_index (s->options, TaskOption, o).next)
            {
              const TaskOption *opt = &g_array_index (s->options, TaskOption, o);
              const Machine *mc = MACHINE (s, opt->machine);
              for (guint slot = 0; mc->up && slot < mc->slots; slot++)
                strand_planner_problem_add_option (problem, k, first_slot[opt->machine] + slot, opt->duration);
            }
        }
      else
        {
          const GArray *of_class = s->class_machines->pdata[task->cls];
          for (guint c = 0; c < of_class->len; c++)
            {
              guint m = g_array_index (of_class, guint, c);
              const Machine *mc = MACHINE (s, m);
              if (!mc->up || !fits_resources (mc, task))
                continue;
              gint64 d = duration_on (s, task, m);
              for (guint slot = 0; slot < mc->slots; slot++)
                strand_planner_problem_add_option (problem, k, first_slot[m] + slot, d);
            }
        }
      for (guint e = task->succ; e != NONE; e = g_array_index (s->edges, Edge, e).next)
        {
          guint to = g_array_index (s->edges, Edge, e).to;
          const Task *next = TASK (s, to);
          if (next->state == STRAND_TASK_READY || next->state == STRAND_TASK_WAITING)
            strand_planner_problem_add_precedence (problem, k, op_of[to]);
        }
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandSchedule) plan = strand_planner_improve (problem, NULL, options, stats, &error);
  if (plan == NULL)
    {
      g_warning ("scheduler: planning failed: %s", error->message);
      return FALSE;
    }
  /* Back from plan machines to machines and slots. */
  for (guint k = 0; k < ops->len; k++)
    {
      Task *task = TASK (s, g_array_index (ops, guint, k));
      guint pm = plan->machine[k];
      guint m = g_array_index (plan_machine, guint, pm);
      task->plan_machine = m;
      task->plan_slot = pm - first_slot[m];
      task->plan_start = plan->start[k];
      task->plan_prev = NONE;
      task->planned = TRUE;
    }
  g_array_set_size (s->plan_order, 0);
  g_array_append_vals (s->plan_order, ops->data, ops->len);
  g_qsort_with_data (s->plan_order->data, s->plan_order->len, sizeof (guint), compare_plan_start, s);
  g_autofree guint *last_on = g_new (guint, MAX (n_plan_machines, 1));
  for (guint pm = 0; pm < n_plan_machines; pm++)
    last_on[pm] = NONE;
  for (guint k = 0; k < s->plan_order->len; k++)
    {
      guint t = g_array_index (s->plan_order, guint, k);
      Task *task = TASK (s, t);
      guint pm = first_slot[task->plan_machine] + task->plan_slot;
      task->plan_prev = last_on[pm];
      last_on[pm] = t;
    }
  s->has_plan = TRUE;
  return TRUE;
}

void
strand_scheduler_drop_plan (StrandScheduler *s)
{
  drop_plan (s);
}

gboolean
strand_scheduler_has_plan (const StrandScheduler *s)
{
  return s->has_plan;
}
