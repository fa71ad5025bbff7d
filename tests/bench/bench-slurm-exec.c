/* What a task costs through the Slurm executor's worker jobs, next to the
 * local executor and to one sbatch per task, on the one-node test cluster
 * (packaging/slurm/test-cluster.sh start):
 *
 *   local      TASKS no-op tasks (tests/exec noop-stage, one per sample)
 *              through the run loop with the local executor, two workers:
 *              the host's own cost per task, records and store included;
 *   pilots     the same run through the Slurm executor, one worker job of
 *              two cores, then two jobs of one core (a job array): per task
 *              over the whole run, and after the first result (the job's
 *              submission and start paid once);
 *   sbatch     JOBS trivial jobs (tiny-job), each its own sbatch, all
 *              submitted at once and followed to their end: per job. A host
 *              that submitted each task as its own job would pay this.
 *
 *   meson test -C BUILD --benchmark --suite bench -v slurm-exec-overhead
 *   BUILD/tests/bench/bench-slurm-exec STRAND EXEC_PLUGIN_DIR TINY_JOB WORK_DIR [TASKS] [JOBS]
 *
 * SLURM_CONF names the cluster. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "executor-slurm.h"
#include "runner.h"
#include "slurm.h"
#include "test-util.h"
#include "validator.h"

static const char *strand_program;
static StrandRegistry *registry;

static void
die_on (GError *error, const char *what)
{
  if (error != NULL)
    {
      g_printerr ("bench-slurm-exec: %s: %s\n", what, error->message);
      exit (1);
    }
}

typedef struct {
  gint64 start;
  gint64 first; /* monotonic time of the first result */
} Timing;

static void
on_progress (const StrandTaskRecord *record, const StrandRunCounts *c, gpointer data)
{
  Timing *t = data;
  if (record != NULL && t->first == 0)
    t->first = strand_clock_monotonic_us ();
}

/* Runs TASKS no-op tasks in a fresh store; the wall time in seconds. */
static double
run_tasks (const char *work, const char *name, guint tasks, StrandExecutor *executor, Timing *timing)
{
  g_autofree char *store = g_build_filename (work, name, NULL);
  g_autoptr (GError) error = NULL;
  if (!strand_provenance_init (store, &error))
    die_on (error, "store");
  g_autoptr (StrandProvenance) prov = strand_provenance_open (store, &error);
  die_on (error, "store");
  const char *json = "{\"name\": \"noop\", \"stages\": [{\"id\": \"n\", \"plugin\": \"noop-stage\"}]}";
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) p = strand_pipeline_load_data (json, strlen (json), "noop.json", problems);
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  for (guint i = 0; i < tasks; i++)
    {
      g_autofree char *id = g_strdup_printf ("S%u", i + 1);
      g_ptr_array_add (samples, strand_sample_new (id));
    }
  StrandValidateOptions checks = { .skip_data = TRUE };
  strand_validate (p, registry, samples, NULL, &checks, problems);
  if (strand_problems_errors (problems) > 0)
    {
      g_printerr ("bench-slurm-exec: the no-op pipeline does not validate (noop-stage not found?)\n");
      exit (1);
    }
  g_autofree char *runs = g_build_filename (store, "runs", NULL);
  *timing = (Timing) { .start = strand_clock_monotonic_us () };
  StrandRunOptions opt = { .jobs = 2, .executor = executor, .registry = registry, .progress = on_progress,
                           .user_data = timing };
  g_autoptr (StrandRun) run = strand_run_pipeline_with (p, samples, prov, runs, &opt, &error);
  die_on (error, name);
  gint64 end = strand_clock_monotonic_us ();
  if (run->succeeded != tasks)
    {
      g_printerr ("bench-slurm-exec: %s: %u of %u tasks succeeded\n", name, run->succeeded, tasks);
      exit (1);
    }
  return (double) (end - timing->start) / G_USEC_PER_SEC;
}

static void
report_pilots (const char *work, const char *label, guint tasks, guint workers, guint cores, double local_s)
{
  g_autofree char *state = g_build_filename (work, "workers", NULL);
  StrandSlurmExecutorOptions opt = {
    .worker_program = strand_program,
    .state_dir = state,
    .job_name = "strand-bench-worker",
    .max_workers = workers,
    .worker_cores = cores,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandExecutor) x = strand_executor_slurm_new (&opt, &error);
  die_on (error, "Slurm executor");
  Timing t;
  g_autofree char *name = g_strdup_printf ("pilots-%ux%u", workers, cores);
  double s = run_tasks (work, name, tasks, x, &t);
  StrandSlurmExecutorStats st;
  strand_executor_slurm_stats (x, &st);
  double first = (double) (t.first - t.start) / G_USEC_PER_SEC;
  printf ("%-34s total %7.2f s  %7.2f ms per task  (first result after %.2f s; %.2f ms per task after it)\n"
          "%-34s %u job%s, %u sbatch, %u Slurm commands in all; %.2fx the local executor's time per task\n",
          label, s, s * 1000 / tasks, first, (s - first) * 1000 / MAX (tasks - 1, 1u), "", st.jobs_submitted,
          st.jobs_submitted == 1 ? "" : "s", st.sbatch_calls, st.slurm_calls, s / local_s);
}

/* JOBS trivial jobs, one sbatch each, submitted at once: seconds per job. */
static double
sbatch_per_task (const char *tiny, const char *work, guint jobs)
{
  g_autoptr (StrandSlurm) slurm = strand_slurm_new (g_getenv ("SLURM_CONF"));
  g_autoptr (StrandSlurmPoller) poller = strand_slurm_poller_new (slurm, 200000, 2 * G_USEC_PER_SEC);
  g_autoptr (GError) error = NULL;
  gint64 start = strand_clock_monotonic_us ();
  for (guint i = 0; i < jobs; i++)
    {
      g_autofree char *script = g_strdup_printf ("%s/job-%u.sh", work, i);
      g_autofree char *out = g_strdup_printf ("%s/job-%u.txt", work, i);
      g_autofree char *log = g_strdup_printf ("%s/job-%u.log", work, i);
      const char *argv[] = { tiny, "write", out, "done", NULL };
      if (!strand_slurm_write_script (script, argv, &error))
        die_on (error, "script");
      StrandSlurmSubmit s = { .job_name = "strand-bench-sbatch", .cpus = 1, .memory_bytes = 64u << 20,
                              .time_limit_s = 300, .output_path = log };
      g_autofree char *id = strand_slurm_submit (slurm, &s, script, &error);
      die_on (error, "sbatch");
      strand_slurm_poller_watch (poller, id);
    }
  if (!strand_slurm_poller_wait (poller, 900 * G_USEC_PER_SEC, &error))
    die_on (error, "waiting for the jobs");
  return (double) (strand_clock_monotonic_us () - start) / G_USEC_PER_SEC;
}

int
main (int argc, char **argv)
{
  if (argc < 5)
    {
      g_printerr ("usage: bench-slurm-exec STRAND EXEC_PLUGIN_DIR TINY_JOB WORK_DIR [TASKS] [JOBS]\n");
      return 2;
    }
  strand_program = argv[1];
  const char *plugins = argv[2], *tiny = argv[3];
  guint tasks = argc > 5 ? (guint) atoi (argv[5]) : 1000;
  guint jobs = argc > 6 ? (guint) atoi (argv[6]) : 20;
  g_autofree char *work = g_strdup_printf ("%s/run-%d", argv[4], (int) getpid ());
  g_mkdir_with_parents (work, 0755);
  registry = strand_registry_new ();
  strand_registry_add_dir (registry, plugins);
  strand_registry_scan (registry);

  printf ("%u no-op tasks, one per sample, records and store as in any run\n", tasks);
  Timing t;
  double local_s = run_tasks (work, "local", tasks, NULL, &t);
  printf ("%-34s total %7.2f s  %7.2f ms per task\n", "local executor (2 workers)", local_s,
          local_s * 1000 / tasks);
  report_pilots (work, "Slurm, 1 worker job of 2 cores", tasks, 1, 2, local_s);
  report_pilots (work, "Slurm, 2 worker jobs of 1 core", tasks, 2, 1, local_s);
  double sbatch_s = sbatch_per_task (tiny, work, jobs);
  printf ("%-34s total %7.2f s  %7.2f ms per task  (%u jobs submitted at once; %.0fx the local time per task)\n",
          "one sbatch per task", sbatch_s, sbatch_s * 1000 / jobs, jobs,
          (sbatch_s / jobs) / (local_s / tasks));
  strand_registry_free (registry);
  strand_test_remove_tree (work);
  return 0;
}
