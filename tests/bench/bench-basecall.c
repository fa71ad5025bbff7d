/* basecall's throughput on a run of realistic size: 8 samples, 2x150
 * cycles, dual 8-base indices, 2 million clusters by default, simulated
 * once by simulate-run and cached in the build directory.
 *
 *   meson test -C BUILD --benchmark -v basecall-2m
 *   BUILD/tests/bench/bench-basecall PLUGIN_DIR REFERENCE WORK_DIR [CLUSTERS] [CORES] [REPEATS]
 *
 * Each stage runs in a child process (the stand-in host of the plugin
 * tests), so its peak resident memory and CPU time are its own. Reports
 * clusters per second of basecall (median of REPEATS, default 3), per CPU
 * second (what a busy machine does not distort), and its peak memory;
 * bcl2fastq is not in Debian, so there is nothing to compare with here.
 * REFERENCE may be missing: a random 48.5 kb genome stands in for it. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stage-harness.h"
#include "test-util.h"

static const char *plugin_dir;

static StageHarness *
stage (const char *name, const char *dir)
{
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  g_autofree char *path = g_build_filename (plugin_dir, file, NULL);
  return stage_harness_new (path, dir);
}

static void
add_samples (StageHarness *h)
{
  for (int i = 1; i <= 8; i++)
    {
      g_autofree char *id = g_strdup_printf ("S%d", i);
      stage_harness_add_sample (h, id, NULL);
    }
}

typedef struct {
  double seconds;
  double cpu_seconds; /* user + system, all threads */
  double max_rss_mib;
} ChildRun;

/* Runs `body` in a child process; fails the benchmark if it fails. */
static ChildRun
in_child (void (*body) (gpointer), gpointer data)
{
  fflush (stdout);
  gint64 t0 = g_get_monotonic_time ();
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      body (data);
      _exit (0);
    }
  int status;
  struct rusage ru;
  g_assert_cmpint (wait4 (pid, &status, 0, &ru), ==, pid);
  gint64 t1 = g_get_monotonic_time ();
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("the stage failed (status %d)", status);
  double cpu = (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6
               + (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
  return (ChildRun) { (double) (t1 - t0) / 1e6, cpu, (double) ru.ru_maxrss / 1024.0 };
}

typedef struct {
  const char *reference;
  const char *dir;
  guint64 clusters;
  guint cores;
} Job;

static void
simulate (gpointer data)
{
  Job *job = data;
  g_autofree char *dir = g_build_filename (job->dir, "sim", NULL);
  strand_test_remove_tree (dir);
  g_autoptr (StageHarness) h = stage ("simulate-run", dir);
  stage_harness_add_input (h, "reference", job->reference);
  add_samples (h);
  /* Clusters of the samples, so that with 3% undetermined and 5% filtered
   * the run holds about `clusters`. */
  g_autofree char *per_sample = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                 (guint64) ((double) job->clusters * 0.97 * 0.95 / 8));
  stage_harness_set_param (h, "reads_per_sample", per_sample);
  stage_harness_set_cores (h, job->cores);
  if (stage_harness_run (h) != STRAND_OK)
    g_error ("simulate-run: %s", stage_harness_failure (h));
  g_autofree char *marker = g_build_filename (job->dir, "run-folder", NULL);
  g_autofree char *clusters = g_strdup_printf ("%.0f", stage_harness_metric (h, "clusters_raw"));
  g_autofree char *text = g_strdup_printf ("%s\n%s\n", stage_harness_output (h, "run", NULL, NULL),
                                           clusters);
  g_assert_true (g_file_set_contents (marker, text, -1, NULL));
}

static const char *run_folder;

static void
basecall (gpointer data)
{
  Job *job = data;
  g_autofree char *dir = g_build_filename (job->dir, "basecall", NULL);
  strand_test_remove_tree (dir);
  g_autoptr (StageHarness) h = stage ("basecall", dir);
  stage_harness_add_input (h, "run", run_folder);
  add_samples (h);
  stage_harness_set_cores (h, job->cores);
  if (stage_harness_run (h) != STRAND_OK)
    g_error ("basecall: %s", stage_harness_failure (h));
}

static int
compare_runs (const void *a, const void *b)
{
  double x = ((const ChildRun *) a)->seconds, y = ((const ChildRun *) b)->seconds;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  if (argc < 4)
    {
      fprintf (stderr, "usage: %s PLUGIN_DIR REFERENCE WORK_DIR [CLUSTERS] [CORES] [REPEATS]\n",
               argv[0]);
      return 2;
    }
  plugin_dir = argv[1];
  /* Absolute: the cached run folder is found again from any directory. */
  g_autofree char *work_dir = g_canonicalize_filename (argv[3], NULL);
  Job job = { argv[2], work_dir, argc > 4 ? g_ascii_strtoull (argv[4], NULL, 10) : 2000000,
              argc > 5 ? (guint) atoi (argv[5]) : 2 };
  int repeats = argc > 6 ? atoi (argv[6]) : 3;
  if (job.clusters < 1000 || job.cores < 1 || repeats < 1 || repeats > 20)
    g_error ("CLUSTERS must be at least 1000, CORES at least 1, REPEATS 1..20");
  g_mkdir_with_parents (job.dir, 0755);

  g_autofree char *reference = NULL;
  if (!g_file_test (job.reference, G_FILE_TEST_EXISTS))
    {
      reference = g_build_filename (job.dir, "random-48k.fa", NULL);
      GString *fa = g_string_new (">random\n");
      GRand *rand = g_rand_new_with_seed (1);
      for (int i = 0; i < 48502; i++)
        {
          g_string_append_c (fa, "ACGT"[g_rand_int_range (rand, 0, 4)]);
          if (i % 70 == 69)
            g_string_append_c (fa, '\n');
        }
      g_string_append_c (fa, '\n');
      g_assert_true (g_file_set_contents (reference, fa->str, (gssize) fa->len, NULL));
      g_string_free (fa, TRUE);
      g_rand_free (rand);
      printf ("reference %s not found: a random 48.5 kb genome stands in\n", job.reference);
      job.reference = reference;
    }

  /* The run folder, made once per size and reference. */
  g_autofree char *marker = g_build_filename (job.dir, "run-folder", NULL);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  if (!g_file_get_contents (marker, &text, NULL, NULL))
    {
      printf ("simulating a run of about %" G_GUINT64_FORMAT " clusters (8 samples, 2x150, "
              "dual 8-base indices)...\n", job.clusters);
      ChildRun sim = in_child (simulate, &job);
      g_assert_true (g_file_get_contents (marker, &text, NULL, NULL));
      lines = g_strsplit (text, "\n", -1);
      double n = g_ascii_strtod (lines[1], NULL);
      printf ("simulate-run: %.1f s (%.1f s of CPU), %.0f clusters/s, peak memory %.0f MiB\n",
              sim.seconds, sim.cpu_seconds, n / sim.seconds, sim.max_rss_mib);
    }
  else
    lines = g_strsplit (text, "\n", -1);
  run_folder = lines[0];
  double clusters = g_ascii_strtod (lines[1], NULL);
  printf ("run folder: %s (%.0f clusters)\n", run_folder, clusters);

  ChildRun runs[20];
  for (int i = 0; i < repeats; i++)
    {
      runs[i] = in_child (basecall, &job);
      printf ("basecall run %d: %.2f s (%.2f s of CPU), %.0f clusters/s, peak memory %.0f MiB\n",
              i + 1, runs[i].seconds, runs[i].cpu_seconds, clusters / runs[i].seconds,
              runs[i].max_rss_mib);
    }
  qsort (runs, (size_t) repeats, sizeof runs[0], compare_runs);
  ChildRun median = runs[repeats / 2];
  printf ("basecall, %u core%s: median %.2f s = %.0f clusters/s (%.1f M bases/s of 316 "
          "cycles), %.0f clusters per CPU second, peak memory %.0f MiB\n", job.cores,
          job.cores == 1 ? "" : "s", median.seconds, clusters / median.seconds,
          clusters * 316 / median.seconds / 1e6, clusters / median.cpu_seconds,
          median.max_rss_mib);
  return 0;
}
