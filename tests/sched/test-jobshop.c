/* Job-shop instances: the parser on real files and on broken ones, the
 * schedules the scheduler and its planner produce (checked from the
 * instance alone), and the checker catching what is wrong. Issue 6,
 * allocation quality. */
#include "jobshop.h"

#include <string.h>

static char *
fixture (const char *name)
{
  return g_build_filename (STRAND_SOURCE_ROOT, "tests", "fixtures", "jobshop", name, NULL);
}

static StrandJobShop *
load (const char *name, StrandJobShopFormat format)
{
  g_autofree char *path = fixture (name);
  g_autoptr (GError) error = NULL;
  StrandJobShop *shop = strand_jobshop_load (path, format, &error);
  g_assert_no_error (error);
  return shop;
}

static void
test_parse_classic (void)
{
  g_autoptr (StrandJobShop) shop = load ("ft06.txt", STRAND_JOBSHOP_AUTO);
  g_assert_false (shop->flexible);
  g_assert_cmpuint (shop->n_jobs, ==, 6);
  g_assert_cmpuint (shop->n_machines, ==, 6);
  g_assert_cmpuint (shop->n_ops, ==, 36);
  /* job 1: "2 1 0 3 1 6 3 7 5 3 4 6" */
  g_assert_cmpuint (shop->options[shop->opt_start[0]].machine, ==, 2);
  g_assert_cmpint (shop->options[shop->opt_start[0]].duration, ==, 1);
  g_assert_cmpuint (shop->options[shop->opt_start[5]].machine, ==, 4);
  g_assert_cmpint (shop->options[shop->opt_start[5]].duration, ==, 6);
  g_assert_cmpuint (shop->op_job[6], ==, 1);
  g_assert_cmpint (strand_jobshop_total_work (shop), ==, 197);
}

static void
test_parse_flexible (void)
{
  g_autoptr (StrandJobShop) shop = load ("mk01.txt", STRAND_JOBSHOP_AUTO);
  g_assert_true (shop->flexible);
  g_assert_cmpuint (shop->n_jobs, ==, 10);
  g_assert_cmpuint (shop->n_machines, ==, 6);
  g_assert_cmpuint (shop->n_ops, ==, 55);
  /* job 1, operation 1: "2 0 5 2 4": machines 0 (5) or 2 (4), numbered from 0 */
  g_assert_cmpuint (shop->opt_start[1] - shop->opt_start[0], ==, 2);
  g_assert_cmpuint (shop->options[0].machine, ==, 0);
  g_assert_cmpint (shop->options[0].duration, ==, 5);
  g_assert_cmpuint (shop->options[1].machine, ==, 2);

  /* Brandimarte's own files number machines from 1. */
  const char *one_based = "2 2\n1 2 1 3 2 4\n2 1 2 5 1 1 7\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandJobShop) b = strand_jobshop_parse (one_based, strlen (one_based), "b.txt",
                                                      STRAND_JOBSHOP_FLEXIBLE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (b->options[0].machine, ==, 0);
  g_assert_cmpuint (b->options[1].machine, ==, 1);
  g_assert_cmpuint (b->n_ops, ==, 3);
}

typedef struct {
  const char *text;
  StrandJobShopFormat format;
  const char *message; /* a part of the error's message */
} Broken;

static void
test_parse_broken (void)
{
  static const Broken cases[] = {
    { "", STRAND_JOBSHOP_CLASSIC, "x.txt:0: no header line" },
    { "# only a comment\n", STRAND_JOBSHOP_CLASSIC, "no header line" },
    { "\r \n \t\r\n", STRAND_JOBSHOP_CLASSIC, "x.txt:3: no header line" },
    { "2 2 2\n", STRAND_JOBSHOP_CLASSIC, "x.txt:1: the first line is" },
    { "2\n", STRAND_JOBSHOP_CLASSIC, "x.txt:1: the first line is \"JOBS MACHINES\"" },
    { "0 3\n", STRAND_JOBSHOP_CLASSIC, "x.txt:1: 0 jobs" },
    { "2 2\n0 1 1 2\n", STRAND_JOBSHOP_CLASSIC, "the header says 2 jobs but the file has 1" },
    { "1 2\n0 1 1\n", STRAND_JOBSHOP_CLASSIC, "x.txt:2: job 1: a classic job is pairs" },
    { "1 2\n0 1 2 5\n", STRAND_JOBSHOP_CLASSIC, "x.txt:2: job 1, operation 2: machine 2 is not one of the 2" },
    { "1 2\n0 -1 1 5\n", STRAND_JOBSHOP_CLASSIC, "'-1' is not a non-negative whole number" },
    { "1 2\n0 1 1 5000000000\n", STRAND_JOBSHOP_CLASSIC, "duration 5000000000 is above" },
    { "1 2\n0 1 1 5\n1 1\n", STRAND_JOBSHOP_CLASSIC, "x.txt:3: the header says 1 jobs, and this line would be one more" },
    { "999999999 2\n0 1\n", STRAND_JOBSHOP_CLASSIC, "999999999 jobs" },
    { "1 2\n0 1 1 99999999999999999999999\n", STRAND_JOBSHOP_CLASSIC, "number too large" },
    { "1 2\n2 1 0 3\n", STRAND_JOBSHOP_FLEXIBLE, "x.txt:2: job 1, operation 2: the line ends before it" },
    { "1 2\n1 3 0 3 1 4 0 1\n", STRAND_JOBSHOP_FLEXIBLE, "3 machines to choose from, not between 1 and 2" },
    { "1 2\n1 1 0 3 7\n", STRAND_JOBSHOP_FLEXIBLE, "1 numbers left over" },
    { "2 2\n1 1 0 3\n1 1 2 3\n", STRAND_JOBSHOP_FLEXIBLE, "numbered both 0 and 2" },
    { "1 2\n0 1 1 2 3\n", STRAND_JOBSHOP_AUTO, "(read as a classic job shop); as a flexible one:" },
    { "1 1\n0 1\0", STRAND_JOBSHOP_CLASSIC, "NUL" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      gsize len = strlen (cases[i].text) + (strstr (cases[i].message, "NUL") ? 1 : 0);
      g_autoptr (StrandJobShop) shop = strand_jobshop_parse (cases[i].text, len, "x.txt", cases[i].format, &error);
      g_assert_null (shop);
      g_assert_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_PARSE);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("case %u: \"%s\" does not say \"%s\"", i, error->message, cases[i].message);
    }
}

/* Every fixture through the scheduler: a feasible schedule, never better
 * than the optimum; and through the planner (a fixed number of iterations,
 * so the result does not depend on the machine's speed): feasible, never
 * worse than the dispatcher, and optimal on ft06. */
static void
test_schedules (void)
{
  struct { const char *file; gint64 optimum; } cases[] = {
    { "ft06.txt", 55 }, { "la01.txt", 666 }, { "la16.txt", 945 }, { "mk01.txt", 40 }, { "mk02.txt", 26 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (StrandJobShop) shop = load (cases[i].file, STRAND_JOBSHOP_AUTO);
      g_autoptr (GError) error = NULL;
      g_autoptr (StrandSchedule) dispatched = strand_jobshop_run (shop, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (strand_jobshop_check (shop, dispatched, &error));
      g_assert_no_error (error);
      g_assert_cmpint (dispatched->makespan, >=, cases[i].optimum);

      StrandPlannerOptions options;
      strand_planner_options_init (&options);
      options.budget_us = 60 * G_USEC_PER_SEC; /* a bound; the iteration limit stops it */
      options.max_iterations = 3000;
      StrandPlannerStats stats;
      g_autoptr (StrandSchedule) planned = strand_jobshop_run (shop, NULL, &options, &stats, &error);
      g_assert_no_error (error);
      g_assert_true (strand_jobshop_check (shop, planned, &error));
      g_assert_no_error (error);
      g_assert_cmpint (planned->makespan, >=, cases[i].optimum);
      g_assert_cmpint (planned->makespan, ==, stats.makespan); /* the scheduler followed the plan */
      g_assert_cmpint (stats.makespan, <=, stats.initial_makespan);
      g_assert_cmpint (planned->makespan, <=, dispatched->makespan);
      g_test_message ("%s: dispatched %" G_GINT64_FORMAT ", planned %" G_GINT64_FORMAT
                      " (optimum %" G_GINT64_FORMAT ")", cases[i].file, dispatched->makespan,
                      planned->makespan, cases[i].optimum);
      if (g_str_equal (cases[i].file, "ft06.txt"))
        g_assert_cmpint (planned->makespan, ==, 55);
    }
}

/* The checker is the judge of the benchmark: it must catch each kind of
 * wrong schedule. */
static void
test_checker (void)
{
  g_autoptr (StrandJobShop) shop = load ("ft06.txt", STRAND_JOBSHOP_CLASSIC);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandSchedule) good = strand_jobshop_run (shop, NULL, NULL, NULL, &error);
  g_assert_true (strand_jobshop_check (shop, good, NULL));

  struct { const char *what; int kind; } wrongs[] = {
    { "starts at", 0 }, { "runs job", 1 }, { "which it cannot use", 2 }, { "claims makespan", 3 },
  };
  for (guint w = 0; w < G_N_ELEMENTS (wrongs); w++)
    {
      g_autoptr (StrandSchedule) bad = strand_schedule_new (shop->n_ops);
      memcpy (bad->machine, good->machine, sizeof (guint) * shop->n_ops);
      memcpy (bad->start, good->start, sizeof (gint64) * shop->n_ops);
      bad->makespan = good->makespan;
      switch (wrongs[w].kind)
        {
        case 0: /* job 1's second operation before its first ends */
          bad->start[1] = bad->start[0];
          break;
        case 1: /* a job's first operation moved back onto another job's run */
          for (guint j = 0; j < shop->n_jobs && wrongs[w].kind == 1; j++)
            {
              guint b = shop->job_start[j];
              for (guint a = 0; a < shop->n_ops; a++)
                if (shop->op_job[a] != j && bad->machine[a] == bad->machine[b] &&
                    bad->start[a] < bad->start[b])
                  {
                    bad->start[b] = bad->start[a];
                    wrongs[w].kind = -1; /* done */
                    break;
                  }
            }
          g_assert_cmpint (wrongs[w].kind, ==, -1);
          break;
        case 2:
          bad->machine[0] = (bad->machine[0] + 1) % shop->n_machines;
          break;
        default:
          bad->makespan--;
          break;
        }
      g_clear_error (&error);
      g_assert_false (strand_jobshop_check (shop, bad, &error));
      g_assert_error (error, STRAND_JOBSHOP_ERROR, STRAND_JOBSHOP_ERROR_INFEASIBLE);
      if (strstr (error->message, wrongs[w].what) == NULL)
        g_error ("%s does not say \"%s\"", error->message, wrongs[w].what);
    }
}

/* The planner alone, on a problem with releases and a busy machine. */
static void
test_planner_rules (void)
{
  g_autoptr (StrandPlannerProblem) p = strand_planner_problem_new (2);
  guint a = strand_planner_problem_add_op (p, 5);
  guint b = strand_planner_problem_add_op (p, 0);
  guint c = strand_planner_problem_add_op (p, 0);
  strand_planner_problem_add_option (p, a, 0, 3);
  strand_planner_problem_add_option (p, b, 0, 4);
  strand_planner_problem_add_option (p, b, 1, 6);
  strand_planner_problem_add_option (p, c, 1, 2);
  strand_planner_problem_add_precedence (p, b, c);
  strand_planner_problem_set_machine_ready (p, 1, 10);
  g_assert_cmpint (strand_planner_problem_lower_bound (p), ==, 12); /* c waits for machine 1 */
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandSchedule) plan = strand_planner_improve (p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (strand_schedule_check (p, plan, &error));
  g_assert_cmpint (plan->makespan, ==, 12);
  g_assert_cmpint (plan->start[a], >=, 5);
  g_assert_cmpint (plan->start[c], >=, 10);

  /* A cycle cannot be planned. */
  strand_planner_problem_add_precedence (p, c, b);
  g_autoptr (StrandSchedule) none = strand_planner_construct (p, &error);
  g_assert_null (none);
  g_assert_error (error, STRAND_PLANNER_ERROR, STRAND_PLANNER_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jobshop/parse-classic", test_parse_classic);
  g_test_add_func ("/jobshop/parse-flexible", test_parse_flexible);
  g_test_add_func ("/jobshop/parse-broken", test_parse_broken);
  g_test_add_func ("/jobshop/schedules", test_schedules);
  g_test_add_func ("/jobshop/checker", test_checker);
  g_test_add_func ("/jobshop/planner-rules", test_planner_rules);
  return g_test_run ();
}
