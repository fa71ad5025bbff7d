/* What a task costs the host: dispatch to completion of no-op tasks (a
 * plugin that returns at once and makes nothing), each in its own worker
 * process, with the store and the signed ledger as every run has them (one
 * record per task, committed in groups), and once more without them for
 * comparison.
 *
 *   meson test -C BUILD --benchmark -v exec-100k
 *   BUILD/tests/bench/bench-exec NOOP_PLUGIN_DIR [TASKS] [STAGES] [JOBS]
 *
 * TASKS tasks are STAGES independent stages over TASKS / STAGES samples,
 * run with JOBS at once and then without store and ledger (without JOBS:
 * 1 and 2 at once, then 2 without store and ledger). Reports
 * per task: wall time, the host process's own CPU time (user + system,
 * what the loop, the records and the store cost) and the workers' CPU
 * time. The host's CPU per task is the figure to hold under 1 ms. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "runner.h"
#include "test-util.h"
#include "validator.h"

static double
seconds (const struct timeval *tv)
{
  return (double) tv->tv_sec + (double) tv->tv_usec / 1e6;
}

static void
measure (StrandPipeline *pipeline, GPtrArray *samples, guint jobs, gboolean record, const char *dir,
         guint tasks)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *runs = g_build_filename (dir, "runs", NULL);
  g_autoptr (StrandProvenance) prov = NULL;
  if (record && (!strand_provenance_init (store, &error) ||
                 (prov = strand_provenance_open (store, &error)) == NULL))
    g_error ("%s", error->message);
  struct rusage self0, kids0, self1, kids1;
  getrusage (RUSAGE_SELF, &self0);
  getrusage (RUSAGE_CHILDREN, &kids0);
  gint64 t0 = g_get_monotonic_time ();
  StrandRunOptions options = { .jobs = jobs };
  g_autoptr (StrandRun) run = strand_run_pipeline_with (pipeline, samples, prov, runs, &options, &error);
  gint64 t1 = g_get_monotonic_time ();
  g_clear_pointer (&prov, strand_provenance_close);
  getrusage (RUSAGE_SELF, &self1);
  getrusage (RUSAGE_CHILDREN, &kids1);
  if (run == NULL || run->succeeded != tasks)
    g_error ("the run failed: %s", error ? error->message : "a task failed");
  double wall = (double) (t1 - t0) / 1e6;
  double host = seconds (&self1.ru_utime) - seconds (&self0.ru_utime) + seconds (&self1.ru_stime) -
                seconds (&self0.ru_stime);
  double workers = seconds (&kids1.ru_utime) - seconds (&kids0.ru_utime) +
                   seconds (&kids1.ru_stime) - seconds (&kids0.ru_stime);
  const char *mode = record ? "store+ledger" : "no store, no ledger";
  printf ("%-20s jobs %u: %u tasks in %.1f s: %.3f ms/task wall, host CPU %.3f ms/task, "
          "workers' CPU %.3f ms/task\n", mode, jobs, tasks, wall, 1e3 * wall / tasks,
          1e3 * host / tasks, 1e3 * workers / tasks);
  printf ("{\"benchmark\":\"exec\",\"mode\":\"%s\",\"jobs\":%u,\"tasks\":%u,\"wall_ms_per_task\":%.4f,"
          "\"host_cpu_ms_per_task\":%.4f,\"worker_cpu_ms_per_task\":%.4f}\n",
          record ? "store+ledger" : "none", jobs, tasks, 1e3 * wall / tasks, 1e3 * host / tasks,
          1e3 * workers / tasks);
  fflush (stdout);
  strand_test_remove_tree (dir);
  g_mkdir_with_parents (dir, 0700);
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s NOOP_PLUGIN_DIR [TASKS] [STAGES] [JOBS]\n", argv[0]);
      return 2;
    }
  guint tasks = argc > 2 ? (guint) atoi (argv[2]) : 100000;
  guint stages = argc > 3 ? (guint) atoi (argv[3]) : 10;
  guint jobs = argc > 4 ? (guint) atoi (argv[4]) : 0;
  if (stages == 0 || tasks < stages)
    g_error ("TASKS must be at least STAGES, and STAGES at least 1");
  g_autoptr (StrandRegistry) registry = strand_registry_new ();
  strand_registry_add_dir (registry, argv[1]);
  strand_registry_scan (registry);
  g_autoptr (GString) json = g_string_new ("{\"name\": \"noop\", \"stages\": [");
  for (guint s = 0; s < stages; s++)
    g_string_append_printf (json, "%s{\"id\": \"s%u\", \"plugin\": \"noop-stage\", \"params\": {\"n\": %u}}",
                            s ? ", " : "", s, s);
  g_string_append (json, "], \"edges\": [");
  /* A chain by order only: no-op stages make nothing to hand on, so each
   * stage is its own root; the plan and the queue still see every task. */
  g_string_append (json, "]}");
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load_data (json->str, json->len, "noop.json",
                                                                   problems);
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  for (guint i = 0; i < tasks / stages; i++)
    {
      g_autofree char *id = g_strdup_printf ("S%06u", i + 1);
      g_ptr_array_add (samples, strand_sample_new (id));
    }
  StrandValidateOptions options = { .skip_data = TRUE };
  if (pipeline == NULL || !strand_validate (pipeline, registry, samples, NULL, &options, problems))
    g_error ("the pipeline does not validate");
  guint n = samples->len * stages;
  g_autofree char *dir = g_dir_make_tmp ("strand-bench-exec-XXXXXX", NULL);
  printf ("%u no-op tasks (%u samples x %u stages), each in its own worker process\n", n,
          samples->len, stages);
  if (jobs == 0)
    {
      measure (pipeline, samples, 1, TRUE, dir, n);
      measure (pipeline, samples, 2, TRUE, dir, n);
      measure (pipeline, samples, 2, FALSE, dir, n);
    }
  else
    {
      measure (pipeline, samples, jobs, TRUE, dir, n);
      measure (pipeline, samples, jobs, FALSE, dir, n);
    }
  g_rmdir (dir);
  return 0;
}
