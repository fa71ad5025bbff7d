/* Allocation quality on the classic job-shop and flexible job-shop
 * benchmark instances: each instance goes through the host's scheduler on
 * the discrete-event clock (jobs = samples, operations = their tasks,
 * machines = equipment), with and without the planning pass, and the
 * makespan is compared with the best known. Every schedule is checked
 * (precedence, one operation per machine at a time) before it counts.
 *
 *   bench-jobshop [--plan-seconds S] [--only PREFIX] [DIR]
 *
 * DIR holds instances.tsv and the instance files (jsp/, fjsp/); without it,
 * STRAND_SCHEDULING_BENCHMARKS names it. The instances are not part of the
 * repository: without them the benchmark is skipped. --plan-seconds is the
 * planner's budget per instance (default 10; 0: dispatcher only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "jobshop.h"

typedef struct {
  char *family;
  guint n;
  double dispatch_sum, dispatch_worst;
  double plan_sum, plan_worst;
  double seconds;
} Family;

static gint
column (char **header, const char *name)
{
  for (gint i = 0; header[i]; i++)
    if (strcmp (header[i], name) == 0)
      return i;
  return -1;
}

int
main (int argc, char **argv)
{
  double plan_seconds = 10;
  const char *only = NULL;
  const char *dir = g_getenv ("STRAND_SCHEDULING_BENCHMARKS");
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--plan-seconds") == 0 && i + 1 < argc)
        plan_seconds = g_ascii_strtod (argv[++i], NULL);
      else if (strcmp (argv[i], "--only") == 0 && i + 1 < argc)
        only = argv[++i];
      else
        dir = argv[i];
    }
  if (dir == NULL || *dir == '\0')
    {
      printf ("SKIP: no instances (give a directory or set STRAND_SCHEDULING_BENCHMARKS)\n");
      return 77;
    }
  g_autofree char *table_path = g_build_filename (dir, "instances.tsv", NULL);
  g_autofree char *table = NULL;
  if (!g_file_get_contents (table_path, &table, NULL, NULL))
    {
      printf ("SKIP: %s cannot be read\n", table_path);
      return 77;
    }
  g_auto (GStrv) lines = g_strsplit (table, "\n", -1);
  g_auto (GStrv) header = g_strsplit (lines[0], "\t", -1);
  gint c_name = column (header, "name"), c_problem = column (header, "problem"),
       c_family = column (header, "family"), c_best = column (header, "best_known_ub"),
       c_file = column (header, "file");
  if (c_name < 0 || c_problem < 0 || c_family < 0 || c_best < 0 || c_file < 0)
    {
      fprintf (stderr, "%s: missing one of the columns name, problem, family, best_known_ub, file\n",
               table_path);
      return 1;
    }
  printf ("# makespan / best known; planner budget %.1f s per instance\n", plan_seconds);
  printf ("%-8s %5s %5s %8s %9s %7s %9s %7s %8s\n", "instance", "jobs", "mach", "best", "dispatch",
          "ratio", "planned", "ratio", "plan_s");
  g_autoptr (GPtrArray) families = g_ptr_array_new ();
  double all_dispatch = 0, all_plan = 0;
  guint all = 0, failures = 0;
  for (guint l = 1; lines[l]; l++)
    {
      if (*lines[l] == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (lines[l], "\t", -1);
      if (g_strv_length (f) <= (guint) MAX (MAX (c_file, c_best), MAX (c_family, c_problem)))
        continue;
      if (only && !g_str_has_prefix (f[c_name], only))
        continue;
      g_autofree char *path = g_build_filename (dir, f[c_file], NULL);
      StrandJobShopFormat format = strcmp (f[c_problem], "fjsp") == 0 ? STRAND_JOBSHOP_FLEXIBLE
                                                                      : STRAND_JOBSHOP_CLASSIC;
      g_autoptr (GError) error = NULL;
      g_autoptr (StrandJobShop) shop = strand_jobshop_load (path, format, &error);
      if (shop == NULL)
        {
          fprintf (stderr, "FAIL: %s\n", error->message);
          failures++;
          continue;
        }
      double best = g_ascii_strtod (f[c_best], NULL);
      g_autoptr (StrandSchedule) dispatched = strand_jobshop_run (shop, NULL, NULL, NULL, &error);
      if (dispatched == NULL || !strand_jobshop_check (shop, dispatched, &error))
        {
          fprintf (stderr, "FAIL: %s: %s\n", f[c_name], error->message);
          failures++;
          continue;
        }
      double r1 = dispatched->makespan / best, r2 = r1;
      gint64 planned_makespan = dispatched->makespan;
      double took = 0;
      if (plan_seconds > 0)
        {
          StrandPlannerOptions options;
          strand_planner_options_init (&options);
          options.budget_us = (gint64) (plan_seconds * G_USEC_PER_SEC);
          StrandPlannerStats stats;
          gint64 t0 = strand_clock_real_monotonic_us ();
          g_autoptr (StrandSchedule) planned = strand_jobshop_run (shop, NULL, &options, &stats, &error);
          took = (strand_clock_real_monotonic_us () - t0) / 1e6;
          if (planned == NULL || !strand_jobshop_check (shop, planned, &error))
            {
              fprintf (stderr, "FAIL: %s (planned): %s\n", f[c_name], error->message);
              failures++;
              continue;
            }
          planned_makespan = planned->makespan;
          r2 = planned->makespan / best;
        }
      printf ("%-8s %5u %5u %8.0f %9" G_GINT64_FORMAT " %7.3f %9" G_GINT64_FORMAT " %7.3f %8.2f\n",
              f[c_name], shop->n_jobs, shop->n_machines, best, dispatched->makespan, r1,
              planned_makespan, r2, took);
      fflush (stdout);
      Family *fam = NULL;
      for (guint k = 0; k < families->len; k++)
        if (strcmp (((Family *) families->pdata[k])->family, f[c_family]) == 0)
          fam = families->pdata[k];
      if (fam == NULL)
        {
          fam = g_new0 (Family, 1);
          fam->family = g_strdup (f[c_family]);
          g_ptr_array_add (families, fam);
        }
      fam->n++;
      fam->dispatch_sum += r1;
      fam->dispatch_worst = MAX (fam->dispatch_worst, r1);
      fam->plan_sum += r2;
      fam->plan_worst = MAX (fam->plan_worst, r2);
      fam->seconds += took;
      all_dispatch += r1;
      all_plan += r2;
      all++;
    }
  printf ("\n%-8s %5s %14s %14s %14s %14s\n", "family", "n", "dispatch mean", "dispatch worst",
          "planned mean", "planned worst");
  for (guint k = 0; k < families->len; k++)
    {
      Family *fam = families->pdata[k];
      printf ("%-8s %5u %13.1f%% %13.1f%% %13.1f%% %13.1f%%\n", fam->family, fam->n,
              100 * (fam->dispatch_sum / fam->n - 1), 100 * (fam->dispatch_worst - 1),
              100 * (fam->plan_sum / fam->n - 1), 100 * (fam->plan_worst - 1));
      g_free (fam->family);
      g_free (fam);
    }
  if (all > 0)
    printf ("%-8s %5u %13.1f%% %14s %13.1f%%\n", "all", all, 100 * (all_dispatch / all - 1), "",
            100 * (all_plan / all - 1));
  if (failures > 0)
    printf ("%u instances FAILED\n", failures);
  return failures > 0 ? 1 : 0;
}
