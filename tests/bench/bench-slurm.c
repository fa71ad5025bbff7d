/* What Slurm itself costs, on the one-node test cluster
 * (packaging/slurm/test-cluster.sh start), as the figures the Slurm executor
 * is measured against:
 *
 *   one job per task   sbatch a trivial job, follow it with the poller until
 *                      it is COMPLETED: seconds per job, end to end, one
 *                      after the other (what a host that submits every task
 *                      as its own job pays at least);
 *   array              one sbatch --array of N trivial tasks, followed to
 *                      the end with one squeue per poll: seconds per task;
 *   status             squeue for the N tasks of an array in one call,
 *                      against one call per task: milliseconds per poll.
 *
 *   meson test -C BUILD --benchmark --suite bench -v slurm-overhead
 *   BUILD/tests/bench/bench-slurm TINY_JOB WORK_DIR [JOBS] [ARRAY]
 *
 * SLURM_CONF names the cluster. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "slurm.h"

static int
compare_i64 (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static gint64
median (gint64 *v, guint n)
{
  qsort (v, n, sizeof *v, compare_i64);
  return v[n / 2];
}

static void
die_on (GError *error, const char *what)
{
  if (error != NULL)
    {
      g_printerr ("bench-slurm: %s: %s\n", what, error->message);
      exit (1);
    }
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      g_printerr ("usage: bench-slurm TINY_JOB WORK_DIR [JOBS] [ARRAY]\n");
      return 2;
    }
  const char *tiny = argv[1], *work = argv[2];
  guint jobs = argc > 3 ? (guint) atoi (argv[3]) : 20;
  guint array = argc > 4 ? (guint) atoi (argv[4]) : 100;
  g_mkdir_with_parents (work, 0755);
  g_autoptr (StrandSlurm) slurm = strand_slurm_new (g_getenv ("SLURM_CONF"));
  g_autoptr (GError) error = NULL;

  g_autofree char *out = g_build_filename (work, "out.txt", NULL);
  g_autofree char *script = g_build_filename (work, "trivial.sh", NULL);
  const char *trivial[] = { tiny, "write", out, "x", NULL };
  strand_slurm_write_script (script, trivial, &error);
  die_on (error, "script");
  g_autofree char *sleeper = g_build_filename (work, "sleep.sh", NULL);
  const char *sleeping[] = { tiny, "sleep", "300", NULL };
  strand_slurm_write_script (sleeper, sleeping, &error);
  die_on (error, "script");
  StrandSlurmSubmit small = {
    .job_name = "strand-bench", .cpus = 1, .memory_bytes = 32 << 20, .time_limit_s = 600,
    .output_path = "/dev/null",
  };

  /* One job per task. */
  g_autofree gint64 *each = g_new (gint64, jobs);
  for (guint i = 0; i < jobs; i++)
    {
      gint64 t0 = strand_clock_monotonic_us ();
      g_autofree char *id = strand_slurm_submit (slurm, &small, script, &error);
      die_on (error, "sbatch");
      g_autoptr (StrandSlurmPoller) p = strand_slurm_poller_new (slurm, 20 * 1000, 200 * 1000);
      strand_slurm_poller_watch (p, id);
      strand_slurm_poller_wait (p, 300 * G_USEC_PER_SEC, &error);
      die_on (error, "wait");
      each[i] = strand_clock_monotonic_us () - t0;
    }
  printf ("one job per task: %u jobs, median %.3f s per job end to end\n", jobs,
          median (each, jobs) / 1e6);

  /* An array of trivial tasks. */
  {
    g_autofree char *range = g_strdup_printf ("0-%u", array - 1);
    StrandSlurmSubmit s = small;
    s.array = range;
    guint calls = strand_slurm_calls (slurm);
    gint64 t0 = strand_clock_monotonic_us ();
    g_autofree char *id = strand_slurm_submit (slurm, &s, script, &error);
    die_on (error, "sbatch --array");
    g_autoptr (StrandSlurmPoller) p = strand_slurm_poller_new (slurm, 20 * 1000, 500 * 1000);
    strand_slurm_poller_watch (p, id);
    strand_slurm_poller_wait (p, 600 * G_USEC_PER_SEC, &error);
    die_on (error, "wait");
    gint64 took = strand_clock_monotonic_us () - t0;
    printf ("array: %u tasks in %.2f s, %.3f s per task, %u Slurm commands\n", array, took / 1e6,
            took / 1e6 / array, strand_slurm_calls (slurm) - calls);
  }

  /* Status: one squeue for all tasks, or one per task. */
  {
    g_autofree char *range = g_strdup_printf ("0-%u", array - 1);
    StrandSlurmSubmit s = small;
    s.array = range;
    g_autofree char *id = strand_slurm_submit (slurm, &s, sleeper, &error);
    die_on (error, "sbatch --array");
    const char *all[] = { id, NULL };
    const guint rounds = 5;
    g_autofree gint64 *one = g_new (gint64, rounds);
    g_autofree gint64 *per = g_new (gint64, rounds);
    for (guint r = 0; r < rounds; r++)
      {
        gint64 t0 = strand_clock_monotonic_us ();
        g_autoptr (GPtrArray) listed = strand_slurm_query_jobs (slurm, all, &error);
        die_on (error, "squeue");
        one[r] = strand_clock_monotonic_us () - t0;
        if (listed->len != array)
          g_printerr ("bench-slurm: squeue listed %u of %u tasks\n", listed->len, array);
        t0 = strand_clock_monotonic_us ();
        for (guint t = 0; t < array; t++)
          {
            g_autofree char *task = g_strdup_printf ("%s_%u", id, t);
            const char *ids[] = { task, NULL };
            g_autoptr (GPtrArray) single = strand_slurm_query_jobs (slurm, ids, &error);
            die_on (error, "squeue");
          }
        per[r] = strand_clock_monotonic_us () - t0;
      }
    strand_slurm_cancel (slurm, all, NULL);
    printf ("status of %u jobs: %.1f ms in one squeue, %.1f ms in one squeue per job (median of %u)\n",
            array, median (one, rounds) / 1e3, median (per, rounds) / 1e3, rounds);
  }
  return 0;
}
