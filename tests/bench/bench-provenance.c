/* What provenance costs a run: the same pipeline with and without the store
 * and the ledger (inputs ingested and verified, outputs hashed into the
 * store, one signed record per task, made durable before the next task
 * starts), in pairs whose order alternates (A B, B A, ...) so that a drift
 * in the machine's load falls on both.
 *
 *   meson test -C BUILD --benchmark -v provenance-overhead
 *   meson test -C BUILD --benchmark -v provenance-germline
 *   BUILD/tests/bench/bench-provenance PLUGIN_DIR PIPELINE [SAMPLES|SHEET] [PAIRS]
 *
 * SAMPLES makes that many bare samples (S1, S2, ...); a SHEET path loads the
 * samples, their metadata and files from it. Reports the median wall time of
 * each, and the overhead as a share of the stages' wall time (the run
 * without provenance): the median of the pairs' ratios, with their min and
 * max. The packaged demo's stages are I/O-bound generators, the worst case
 * for this ratio: provenance costs per byte of output and per task. The
 * germline pipeline (a simulated sequencing run of 8 samples, demultiplexed,
 * aligned with bwa and called with bcftools) is the realistic case. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "validator.h"
#include "test-util.h"

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static guint n_tasks;

static double
run_once (StrandPipeline *pipeline, GPtrArray *samples, gboolean record, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *runs = g_build_filename (dir, "runs", NULL);
  g_autoptr (StrandProvenance) prov = NULL;
  if (record)
    {
      if (!strand_provenance_init (store, &error) ||
          (prov = strand_provenance_open (store, &error)) == NULL)
        g_error ("%s", error->message);
    }
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (StrandRun) run = strand_run_pipeline (pipeline, samples, prov, runs, NULL, NULL, &error);
  g_clear_pointer (&prov, strand_provenance_close);
  gint64 t1 = g_get_monotonic_time ();
  if (run == NULL)
    g_error ("the run failed: %s", error->message);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      const StrandTaskRecord *t = run->tasks->pdata[i];
      if (strcmp (t->status, "ok") != 0)
        g_error ("the run failed: %s/%s %s: %s", t->sample_id ? t->sample_id : "(run)", t->stage_id,
                 t->status, t->result && t->result->message ? t->result->message : "");
    }
  n_tasks = run->tasks->len;
  strand_test_remove_tree (dir);
  g_mkdir_with_parents (dir, 0700);
  return (double) (t1 - t0) / 1e6;
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: %s PLUGIN_DIR PIPELINE [SAMPLES] [PAIRS]\n", argv[0]);
      return 2;
    }
  guint pairs = argc > 4 ? (guint) atoi (argv[4]) : 5;
  g_autoptr (StrandRegistry) registry = strand_registry_new ();
  strand_registry_add_dir (registry, argv[1]);
  strand_registry_scan (registry);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (argv[2], problems);
  g_autoptr (GPtrArray) samples = NULL;
  if (argc > 3 && g_file_test (argv[3], G_FILE_TEST_IS_REGULAR))
    samples = strand_samples_load (argv[3], problems);
  else
    {
      samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
      guint n = argc > 3 ? (guint) atoi (argv[3]) : 4;
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *id = g_strdup_printf ("S%u", i + 1);
          g_ptr_array_add (samples, strand_sample_new (id));
        }
    }
  if (samples == NULL)
    g_error ("%s: the samples do not load", argv[3]);
  guint n_samples = samples->len;
  StrandValidateOptions options = { .skip_data = TRUE };
  if (pipeline == NULL || !strand_validate (pipeline, registry, samples, NULL, &options, problems))
    g_error ("the pipeline does not validate");
  g_autofree char *dir = g_dir_make_tmp ("strand-bench-prov-XXXXXX", NULL);
  g_autofree double *with = g_new (double, pairs);
  g_autofree double *without = g_new (double, pairs);
  g_autofree double *ratio = g_new (double, pairs);
  run_once (pipeline, samples, FALSE, dir); /* warm the page cache */
  for (guint i = 0; i < pairs; i++)
    {
      if (i % 2 == 0)
        {
          without[i] = run_once (pipeline, samples, FALSE, dir);
          with[i] = run_once (pipeline, samples, TRUE, dir);
        }
      else
        {
          with[i] = run_once (pipeline, samples, TRUE, dir);
          without[i] = run_once (pipeline, samples, FALSE, dir);
        }
      ratio[i] = with[i] / without[i];
      printf ("  pair %u: without %.3f s, with %.3f s, overhead %+.2f%%\n", i + 1, without[i], with[i],
              100.0 * (ratio[i] - 1));
    }
  qsort (with, pairs, sizeof (double), compare_doubles);
  qsort (without, pairs, sizeof (double), compare_doubles);
  qsort (ratio, pairs, sizeof (double), compare_doubles);
  double a = with[pairs / 2], b = without[pairs / 2], r = ratio[pairs / 2];
  guint tasks = n_tasks;
  printf ("%s: %u tasks (%u samples, %u stages), %u pairs\n", pipeline->name, tasks, n_samples,
          pipeline->stages->len, pairs);
  printf ("without provenance: median %.3f s (min %.3f, max %.3f)\n", b, without[0], without[pairs - 1]);
  printf ("with provenance:    median %.3f s (min %.3f, max %.3f)\n", a, with[0], with[pairs - 1]);
  printf ("overhead: median %.2f%% of the stages' wall time (pairs: min %+.2f%%, max %+.2f%%), "
          "%.2f ms per task\n", 100.0 * (r - 1), 100.0 * (ratio[0] - 1), 100.0 * (ratio[pairs - 1] - 1),
          1000.0 * (a - b) / tasks);
  printf ("{\"benchmark\":\"provenance-overhead\",\"pipeline\":\"%s\",\"tasks\":%u,\"with_s\":%.3f,"
          "\"without_s\":%.3f,\"overhead_pct\":%.2f,\"min_pct\":%.2f,\"max_pct\":%.2f}\n", pipeline->name,
          tasks, a, b, 100.0 * (r - 1), 100.0 * (ratio[0] - 1), 100.0 * (ratio[pairs - 1] - 1));
  g_rmdir (dir);
  return 0;
}
