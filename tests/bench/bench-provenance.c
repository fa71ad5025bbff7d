/* What provenance costs a run: the same pipeline with and without the store
 * and the ledger (outputs hashed into the store, one signed record per task,
 * made durable before the next task starts), alternating A B A B.
 *
 *   meson test -C BUILD --benchmark -v provenance-overhead
 *   BUILD/tests/bench/bench-provenance PLUGIN_DIR PIPELINE [SAMPLES] [PAIRS]
 *
 * Reports the median wall time of each and the overhead as a share of the
 * stages' wall time. The packaged demo's stages are I/O-bound generators, the
 * worst case for this ratio: provenance costs per byte of output, and real
 * stages (alignment, calling) spend far more time per byte. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "runner.h"
#include "validator.h"
#include "test-util.h"

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

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
  if (run == NULL || run->failed || run->skipped)
    g_error ("the run failed: %s", error ? error->message : "a task failed");
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
  guint n_samples = argc > 3 ? (guint) atoi (argv[3]) : 4;
  guint pairs = argc > 4 ? (guint) atoi (argv[4]) : 5;
  g_autoptr (StrandRegistry) registry = strand_registry_new ();
  strand_registry_add_dir (registry, argv[1]);
  strand_registry_scan (registry);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (argv[2], problems);
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  for (guint i = 0; i < n_samples; i++)
    {
      g_autofree char *id = g_strdup_printf ("S%u", i + 1);
      g_ptr_array_add (samples, strand_sample_new (id));
    }
  StrandValidateOptions options = { .skip_data = TRUE };
  if (pipeline == NULL || !strand_validate (pipeline, registry, samples, NULL, &options, problems))
    g_error ("the pipeline does not validate");
  g_autofree char *dir = g_dir_make_tmp ("strand-bench-prov-XXXXXX", NULL);
  g_autofree double *with = g_new (double, pairs);
  g_autofree double *without = g_new (double, pairs);
  run_once (pipeline, samples, FALSE, dir); /* warm the page cache */
  for (guint i = 0; i < pairs; i++)
    {
      without[i] = run_once (pipeline, samples, FALSE, dir);
      with[i] = run_once (pipeline, samples, TRUE, dir);
    }
  qsort (with, pairs, sizeof (double), compare_doubles);
  qsort (without, pairs, sizeof (double), compare_doubles);
  double a = with[pairs / 2], b = without[pairs / 2];
  guint tasks = n_samples * pipeline->stages->len;
  printf ("%u tasks (%u samples x %u stages), %u pairs\n", tasks, n_samples, pipeline->stages->len, pairs);
  printf ("without provenance: median %.3f s (min %.3f, max %.3f)\n", b, without[0], without[pairs - 1]);
  printf ("with provenance:    median %.3f s (min %.3f, max %.3f)\n", a, with[0], with[pairs - 1]);
  printf ("overhead: %.1f%% of the run's wall time, %.2f ms per task\n", 100.0 * (a - b) / b,
          1000.0 * (a - b) / tasks);
  printf ("{\"benchmark\":\"provenance-overhead\",\"tasks\":%u,\"with_s\":%.3f,\"without_s\":%.3f,"
          "\"overhead_pct\":%.2f}\n", tasks, a, b, 100.0 * (a - b) / b);
  g_rmdir (dir);
  return 0;
}
