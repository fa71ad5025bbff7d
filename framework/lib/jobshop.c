#include "jobshop.h"

#include <string.h>

#include "clock.h"

G_DEFINE_QUARK (strand-jobshop-error-quark, strand_jobshop_error)

#define MAX_JOBS 100000
#define MAX_MACHINES 100000
#define MAX_OPS 10000000
#define MAX_DURATION 1000000000

void
strand_jobshop_free (StrandJobShop *shop)
{
  if (shop == NULL)
    return;
  g_free (shop->name);
  g_free (shop->job_start);
  g_free (shop->op_job);
  g_free (shop->opt_start);
  g_free (shop->options);
  g_free (shop);
}

/* ---- reading ------------------------------------------------------------------- */

typedef struct {
  const char *name;
  guint line;
  GArray *numbers; /* guint64 of the current line */
} Reader;

/* The line's numbers: unsigned decimal integers separated by blanks. A
 * token that is not one is an error, except a decimal number where
 * `allow_real_at` says (the optional average in a flexible header). */
static gboolean
split_numbers (Reader *r, const char *text, gint allow_real_at, GError **error)
{
  g_array_set_size (r->numbers, 0);
  const char *p = text;
  for (;;)
    {
      while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
      if (*p == '\0')
        return TRUE;
      const char *tok = p;
      guint64 v = 0;
      gboolean digits = FALSE;
      while (g_ascii_isdigit (*p))
        {
          if (v > (G_MAXUINT64 - 9) / 10)
            {
              g_set_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_PARSE,
                           "%s:%u: number too large", r->name, r->line);
              return FALSE;
            }
          v = v * 10 + (guint64) (*p++ - '0');
          digits = TRUE;
        }
      if (*p == '.' && (gint) r->numbers->len == allow_real_at)
        {
          p++;
          while (g_ascii_isdigit (*p))
            p++;
        }
      if (!digits || (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r'))
        {
          const char *end = tok;
          while (*end && *end != ' ' && *end != '\t' && *end != '\r')
            end++;
          g_autofree char *bad = g_utf8_make_valid (tok, MIN (end - tok, 32));
          g_set_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_PARSE,
                       "%s:%u: '%s' is not a non-negative whole number", r->name, r->line, bad);
          return FALSE;
        }
      g_array_append_val (r->numbers, v);
    }
}

#define NUM(r, k) g_array_index ((r)->numbers, guint64, (k))

static gboolean G_GNUC_PRINTF (3, 4)
fail (GError **error, const Reader *r, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_PARSE, "%s:%u: %s", r->name,
               r->line, msg);
  return FALSE;
}

/* Builders grow as lines are read: a hostile header cannot make us
 * allocate for jobs the file does not have. */
typedef struct {
  GArray *job_start, *op_job, *opt_start, *options;
  guint64 min_machine, max_machine;
} Build;

static gboolean
read_job (Reader *r, Build *b, gboolean flexible, guint job, guint n_machines, GError **error)
{
  guint n = r->numbers->len;
  guint k = 0;
  guint n_ops_here;
  if (!flexible)
    {
      if (n == 0 || n % 2 != 0)
        return fail (error, r, "job %u: a classic job is pairs of machine and duration; this line "
                     "has %u numbers", job + 1, n);
      n_ops_here = n / 2;
    }
  else
    {
      if (n == 0 || NUM (r, 0) == 0)
        return fail (error, r, "job %u: a flexible job starts with its number of operations (at "
                     "least 1)", job + 1);
      if (NUM (r, 0) > n)
        return fail (error, r, "job %u: it says %" G_GUINT64_FORMAT " operations but the line is "
                     "too short for them", job + 1, NUM (r, 0));
      n_ops_here = (guint) NUM (r, 0);
      k = 1;
    }
  if (b->op_job->len + (guint64) n_ops_here > MAX_OPS)
    return fail (error, r, "more than %u operations", MAX_OPS);
  for (guint op = 0; op < n_ops_here; op++)
    {
      guint n_options = 1;
      if (flexible)
        {
          if (k >= n)
            return fail (error, r, "job %u, operation %u: the line ends before it", job + 1, op + 1);
          if (NUM (r, k) == 0 || NUM (r, k) > n_machines)
            return fail (error, r, "job %u, operation %u: %" G_GUINT64_FORMAT " machines to choose "
                         "from, not between 1 and %u", job + 1, op + 1, NUM (r, k), n_machines);
          n_options = (guint) NUM (r, k++);
        }
      for (guint o = 0; o < n_options; o++)
        {
          if (k + 1 >= n)
            return fail (error, r, "job %u, operation %u: the line ends inside its machines",
                         job + 1, op + 1);
          guint64 machine = NUM (r, k), duration = NUM (r, k + 1);
          k += 2;
          if (duration > MAX_DURATION)
            return fail (error, r, "job %u, operation %u: duration %" G_GUINT64_FORMAT " is above "
                         "%u", job + 1, op + 1, duration, MAX_DURATION);
          if (machine > n_machines || (!flexible && machine >= n_machines))
            return fail (error, r, "job %u, operation %u: machine %" G_GUINT64_FORMAT " is not "
                         "one of the %u machines", job + 1, op + 1, machine, n_machines);
          for (guint prev = b->options->len - o; prev < b->options->len; prev++)
            if (g_array_index (b->options, StrandShopOption, prev).machine == machine)
              return fail (error, r, "job %u, operation %u: machine %" G_GUINT64_FORMAT " is listed "
                           "twice", job + 1, op + 1, machine);
          b->min_machine = MIN (b->min_machine, machine);
          b->max_machine = MAX (b->max_machine, machine);
          StrandShopOption opt = { (guint) machine, (gint64) duration };
          g_array_append_val (b->options, opt);
        }
      g_array_append_val (b->op_job, job);
      guint end = b->options->len;
      g_array_append_val (b->opt_start, end);
    }
  if (k != n)
    return fail (error, r, "job %u: %u numbers left over after its operations", job + 1, n - k);
  guint end = b->op_job->len;
  g_array_append_val (b->job_start, end);
  return TRUE;
}

static StrandJobShop *
parse_as (const char *data, gsize len, const char *name, gboolean flexible, GError **error)
{
  g_autofree char *text = g_strndup (data, len);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  Reader r = { name, 0, g_array_new (FALSE, FALSE, sizeof (guint64)) };
  Build b = {
    g_array_new (FALSE, FALSE, sizeof (guint)), g_array_new (FALSE, FALSE, sizeof (guint)),
    g_array_new (FALSE, FALSE, sizeof (guint)), g_array_new (FALSE, FALSE, sizeof (StrandShopOption)),
    G_MAXUINT64, 0,
  };
  guint zero = 0;
  g_array_append_val (b.job_start, zero);
  g_array_append_val (b.opt_start, zero);
  guint n_jobs = 0, n_machines = 0, job = 0;
  gboolean header = FALSE, ok = TRUE;
  StrandJobShop *shop = NULL;
  for (char **line = lines; *line && ok; line++)
    {
      r.line++;
      const char *l = *line;
      while (*l == ' ' || *l == '\t' || *l == '\r')
        l++;
      if (*l == '#' || *l == '\0')
        continue;
      if (!g_utf8_validate (l, -1, NULL))
        {
          ok = fail (error, &r, "the line is not UTF-8 text");
          break;
        }
      if (!split_numbers (&r, l, flexible ? 2 : -1, error))
        {
          ok = FALSE;
          break;
        }
      if (!header)
        {
          if (r.numbers->len < 2 || r.numbers->len > (flexible ? 3u : 2u))
            ok = fail (error, &r, "the first line is \"JOBS MACHINES\"%s", flexible ? " [AVERAGE]" : "");
          else if (NUM (&r, 0) == 0 || NUM (&r, 0) > MAX_JOBS)
            ok = fail (error, &r, "%" G_GUINT64_FORMAT " jobs; between 1 and %u are allowed",
                       NUM (&r, 0), MAX_JOBS);
          else if (NUM (&r, 1) == 0 || NUM (&r, 1) > MAX_MACHINES)
            ok = fail (error, &r, "%" G_GUINT64_FORMAT " machines; between 1 and %u are allowed",
                       NUM (&r, 1), MAX_MACHINES);
          if (!ok)
            break;
          n_jobs = (guint) NUM (&r, 0);
          n_machines = (guint) NUM (&r, 1);
          header = TRUE;
          continue;
        }
      if (job == n_jobs)
        {
          ok = fail (error, &r, "the header says %u jobs, and this line would be one more", n_jobs);
          break;
        }
      ok = read_job (&r, &b, flexible, job, n_machines, error);
      job++;
    }
  if (ok && !header)
    ok = fail (error, &r, "no header line \"JOBS MACHINES\"");
  else if (ok && job < n_jobs)
    ok = fail (error, &r, "the header says %u jobs but the file has %u", n_jobs, job);
  if (ok && flexible)
    {
      /* Numbered from 0 when machine 0 appears, else from 1. */
      if (b.min_machine == 0 && b.max_machine == n_machines)
        ok = fail (error, &r, "machines are numbered both 0 and %u: neither from 0 nor from 1",
                   n_machines);
      else if (b.min_machine >= 1)
        for (guint k = 0; k < b.options->len; k++)
          g_array_index (b.options, StrandShopOption, k).machine--;
    }
  if (ok)
    {
      shop = g_new0 (StrandJobShop, 1);
      shop->name = g_strdup (name);
      shop->flexible = flexible;
      shop->n_jobs = n_jobs;
      shop->n_machines = n_machines;
      shop->n_ops = b.op_job->len;
      shop->job_start = (guint *) g_array_free (b.job_start, FALSE);
      shop->op_job = (guint *) g_array_free (b.op_job, FALSE);
      shop->opt_start = (guint *) g_array_free (b.opt_start, FALSE);
      shop->options = (StrandShopOption *) g_array_free (b.options, FALSE);
    }
  else
    {
      g_array_unref (b.job_start);
      g_array_unref (b.op_job);
      g_array_unref (b.opt_start);
      g_array_unref (b.options);
    }
  g_array_unref (r.numbers);
  return shop;
}

StrandJobShop *
strand_jobshop_parse (const char *data, gsize len, const char *name, StrandJobShopFormat format,
                      GError **error)
{
  if (memchr (data, '\0', len) != NULL)
    {
      g_set_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_PARSE,
                   "%s: not a text file (it holds NUL bytes)", name);
      return NULL;
    }
  if (format == STRAND_JOBSHOP_CLASSIC || format == STRAND_JOBSHOP_FLEXIBLE)
    return parse_as (data, len, name, format == STRAND_JOBSHOP_FLEXIBLE, error);
  g_autoptr (GError) classic_error = NULL;
  StrandJobShop *shop = parse_as (data, len, name, FALSE, &classic_error);
  if (shop != NULL)
    return shop;
  g_autoptr (GError) flexible_error = NULL;
  shop = parse_as (data, len, name, TRUE, &flexible_error);
  if (shop == NULL)
    g_set_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_PARSE,
                 "%s (read as a classic job shop); as a flexible one: %s", classic_error->message,
                 flexible_error->message);
  return shop;
}

StrandJobShop *
strand_jobshop_load (const char *path, StrandJobShopFormat format, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  return strand_jobshop_parse (contents, len, path, format, error);
}

gint64
strand_jobshop_total_work (const StrandJobShop *shop)
{
  gint64 total = 0;
  for (guint op = 0; op < shop->n_ops; op++)
    {
      gint64 shortest = G_MAXINT64;
      for (guint k = shop->opt_start[op]; k < shop->opt_start[op + 1]; k++)
        shortest = MIN (shortest, shop->options[k].duration);
      total += shortest;
    }
  return total;
}

StrandPlannerProblem *
strand_jobshop_to_problem (const StrandJobShop *shop)
{
  StrandPlannerProblem *p = strand_planner_problem_new (shop->n_machines);
  for (guint op = 0; op < shop->n_ops; op++)
    {
      strand_planner_problem_add_op (p, 0);
      for (guint k = shop->opt_start[op]; k < shop->opt_start[op + 1]; k++)
        strand_planner_problem_add_option (p, op, shop->options[k].machine, shop->options[k].duration);
      if (op > shop->job_start[shop->op_job[op]])
        strand_planner_problem_add_precedence (p, op - 1, op);
    }
  return p;
}

/* ---- checking ---------------------------------------------------------------------- */

static int
compare_start (gconstpointer a, gconstpointer b, gpointer data)
{
  const gint64 *start = data;
  guint x = *(const guint *) a, y = *(const guint *) b;
  if (start[x] != start[y])
    return start[x] < start[y] ? -1 : 1;
  return (x > y) - (x < y);
}

gboolean
strand_jobshop_check (const StrandJobShop *shop, const StrandSchedule *plan, GError **error)
{
#define BAD(...)                                                                                  \
  do                                                                                              \
    {                                                                                             \
      g_set_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_INFEASIBLE, __VA_ARGS__);    \
      return FALSE;                                                                               \
    }                                                                                             \
  while (0)
  if (plan->n_ops != shop->n_ops)
    BAD ("%s: the schedule has %u operations, the instance %u", shop->name, plan->n_ops, shop->n_ops);
  g_autofree gint64 *end = g_new (gint64, MAX (shop->n_ops, 1));
  gint64 makespan = 0;
  for (guint op = 0; op < shop->n_ops; op++)
    {
      guint job = shop->op_job[op], index = op - shop->job_start[job];
      gint64 d = -1;
      for (guint k = shop->opt_start[op]; k < shop->opt_start[op + 1]; k++)
        if (shop->options[k].machine == plan->machine[op])
          d = shop->options[k].duration;
      if (d < 0)
        BAD ("%s: job %u, operation %u is on machine %u, which it cannot use", shop->name, job + 1,
             index + 1, plan->machine[op]);
      if (plan->start[op] < 0)
        BAD ("%s: job %u, operation %u starts before time 0", shop->name, job + 1, index + 1);
      end[op] = plan->start[op] + d;
      if (index > 0 && plan->start[op] < end[op - 1])
        BAD ("%s: job %u, operation %u starts at %" G_GINT64_FORMAT " before operation %u ends at %"
             G_GINT64_FORMAT, shop->name, job + 1, index + 1, plan->start[op], index, end[op - 1]);
      makespan = MAX (makespan, end[op]);
    }
  g_autofree guint *order = g_new (guint, MAX (shop->n_ops, 1));
  for (guint op = 0; op < shop->n_ops; op++)
    order[op] = op;
  g_qsort_with_data (order, shop->n_ops, sizeof (guint), compare_start, plan->start);
  g_autofree guint *last = g_new (guint, shop->n_machines);
  for (guint m = 0; m < shop->n_machines; m++)
    last[m] = G_MAXUINT;
  for (guint k = 0; k < shop->n_ops; k++)
    {
      guint op = order[k], m = plan->machine[op];
      if (end[op] == plan->start[op])
        continue; /* takes no time: overlaps nothing */
      if (last[m] != G_MAXUINT && plan->start[op] < end[last[m]])
        BAD ("%s: machine %u runs job %u and job %u at once (at %" G_GINT64_FORMAT ")", shop->name,
             m, shop->op_job[last[m]] + 1, shop->op_job[op] + 1, plan->start[op]);
      last[m] = op;
    }
  if (plan->makespan != makespan)
    BAD ("%s: the schedule claims makespan %" G_GINT64_FORMAT " but its last operation ends at %"
         G_GINT64_FORMAT, shop->name, plan->makespan, makespan);
#undef BAD
  return TRUE;
}

/* ---- running through the scheduler --------------------------------------------------- */

/* Monday 2027-01-04 00:00 UTC: any fixed origin would do. */
#define ORIGIN_US ((gint64) 1799020800 * G_USEC_PER_SEC)
#define UNIT_US ((gint64) G_USEC_PER_SEC)

typedef struct {
  StrandScheduler *scheduler;
  guint done;
} Run;

typedef struct {
  Run *run;
  guint task;
} Ending;

static void
task_ends (gint64 due_us, gpointer data)
{
  Ending *e = data;
  if (strand_scheduler_task_finished (e->run->scheduler, e->task))
    e->run->done++;
}

StrandSchedule *
strand_jobshop_run (const StrandJobShop *shop, const StrandSchedulerConfig *config,
                    const StrandPlannerOptions *plan, StrandPlannerStats *stats, GError **error)
{
  StrandSchedulerConfig c;
  if (config != NULL)
    c = *config;
  else
    {
      strand_scheduler_config_init (&c);
    }
  strand_clock_use_discrete (ORIGIN_US);
  g_autoptr (StrandScheduler) sched = strand_scheduler_new (&c);
  for (guint m = 0; m < shop->n_machines; m++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", m);
      strand_scheduler_add_machine (sched, id, "shop", 1);
    }
  for (guint j = 0; j < shop->n_jobs; j++)
    {
      g_autofree char *id = g_strdup_printf ("job%u", j + 1);
      StrandSampleInfo info = {
        .id = id, .clinical = STRAND_CLINICAL_ROUTINE, .arrived_us = ORIGIN_US,
        .usable_until_us = G_MAXINT64, .due_us = G_MAXINT64,
      };
      guint sample = strand_scheduler_add_sample (sched, &info);
      g_assert (sample == j);
      for (guint op = shop->job_start[j]; op < shop->job_start[j + 1]; op++)
        {
          g_autofree char *stage = g_strdup_printf ("op%u", op - shop->job_start[j] + 1);
          guint prev = op - 1;
          StrandTaskInfo ti = { .stage = stage, .equipment_class = "shop",
                                .after = op > shop->job_start[j] ? &prev : NULL,
                                .n_after = op > shop->job_start[j] ? 1 : 0 };
          guint t = strand_scheduler_add_task (sched, sample, &ti);
          g_assert (t == op);
          for (guint k = shop->opt_start[op]; k < shop->opt_start[op + 1]; k++)
            strand_scheduler_add_option (sched, t, shop->options[k].machine,
                                         shop->options[k].duration * UNIT_US);
        }
    }
  if (plan != NULL && strand_scheduler_plan (sched, plan, stats) && stats != NULL)
    {
      /* In the instance's unit, from its time 0. */
      stats->initial_makespan = (stats->initial_makespan - ORIGIN_US) / UNIT_US;
      stats->makespan = (stats->makespan - ORIGIN_US) / UNIT_US;
      stats->lower_bound = (stats->lower_bound - ORIGIN_US) / UNIT_US;
    }

  Run run = { sched, 0 };
  g_autofree Ending *endings = g_new (Ending, MAX (shop->n_ops, 1));
  g_autoptr (GArray) started = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  while (run.done < shop->n_ops)
    {
      g_array_set_size (started, 0);
      strand_scheduler_decide (sched, started);
      for (guint k = 0; k < started->len; k++)
        {
          const StrandAssignment *a = &g_array_index (started, StrandAssignment, k);
          endings[a->task] = (Ending) { &run, a->task };
          strand_clock_schedule (a->end_us, task_ends, &endings[a->task]);
        }
      gint64 now = strand_clock_now_us ();
      gint64 next = strand_scheduler_next_decision_us (sched);
      gint64 event = strand_clock_next_event_us ();
      if (next <= now && started->len == 0)
        next = G_MAXINT64; /* nothing to start now: wait for news */
      if (next == G_MAXINT64 && event == G_MAXINT64)
        {
          g_set_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_FAILED,
                       "%s: the scheduler stopped with %u of %u operations done", shop->name,
                       run.done, shop->n_ops);
          strand_clock_use_discrete (now); /* drops the events that point at this run */
          return NULL;
        }
      if (next < event)
        strand_clock_advance_us (MAX (next - now, 0));
      else
        strand_clock_run_next (G_MAXINT64);
    }
  StrandSchedule *schedule = strand_schedule_new (shop->n_ops);
  for (guint op = 0; op < shop->n_ops; op++)
    {
      guint m;
      gint64 start, end;
      strand_scheduler_task_placement (sched, op, &m, &start, &end);
      schedule->machine[op] = m;
      schedule->start[op] = (start - ORIGIN_US) / UNIT_US;
      schedule->makespan = MAX (schedule->makespan, (end - ORIGIN_US) / UNIT_US);
    }
  return schedule;
}
