/* The stages' own checks (their plugins' validate callbacks, in workers)
 * at the size of the packaged demo and larger: germline-lambda over 8,
 * 100 and 1,000 samples with distinct indices, validated with and without
 * the stage checks (data checks aside: the demo's samples bring no files).
 * Aim: the demo's 8 samples within 100 ms more than without, and the cost
 * linear in the number of tasks.
 *
 *   meson test -C BUILD --benchmark --suite bench -v stage-checks
 *   BUILD/tests/bench/bench-stage-checks PLUGIN_DIR PIPELINE [RUNS]
 *
 * Prints the median, minimum and maximum wall time of RUNS validations,
 * and the time per checked task. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "validator.h"

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Indices that basecall tells apart with one mismatch: every two samples
 * differ in more than two positions of i7 or of i5. */
static char *
make_samples (guint n)
{
  GRand *rand = g_rand_new_with_seed (7);
  typedef char Index[9];
  g_autofree Index *i7 = g_new0 (Index, n);
  g_autofree Index *i5 = g_new0 (Index, n);
  GString *s = g_string_new ("sample_id\tindex\tindex2\n");
  for (guint k = 0; k < n; k++)
    {
      gboolean clash;
      do
        {
          for (int b = 0; b < 8; b++)
            {
              i7[k][b] = "ACGT"[g_rand_int_range (rand, 0, 4)];
              i5[k][b] = "ACGT"[g_rand_int_range (rand, 0, 4)];
            }
          clash = FALSE;
          for (guint j = 0; j < k && !clash; j++)
            {
              int d7 = 0, d5 = 0;
              for (int b = 0; b < 8; b++)
                {
                  d7 += i7[k][b] != i7[j][b];
                  d5 += i5[k][b] != i5[j][b];
                }
              clash = d7 <= 2 && d5 <= 2;
            }
        }
      while (clash);
      g_string_append_printf (s, "S%04u\t%s\t%s\n", k, i7[k], i5[k]);
    }
  g_rand_free (rand);
  return g_string_free (s, FALSE);
}

static double
validate_once (StrandRegistry *registry, const char *pipeline_path, const char *samples_path,
               gboolean stage_checks)
{
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (pipeline_path, problems);
  g_autoptr (GPtrArray) samples = strand_samples_load (samples_path, problems);
  StrandValidateOptions options = { .skip_stage_checks = !stage_checks };
  if (pipeline && samples)
    strand_validate (pipeline, registry, samples, NULL, &options, problems);
  gint64 t1 = g_get_monotonic_time ();
  if (problems->len > 0)
    {
      StrandProblem *p = problems->pdata[0];
      fprintf (stderr, "the demo should be valid: %s: %s [%s]\n", p->where, p->message, p->code);
      exit (1);
    }
  return (double) (t1 - t0) / 1000.0;
}

static double
measure (StrandRegistry *registry, const char *pipeline_path, const char *dir, guint n,
         guint runs, gboolean stage_checks)
{
  g_autofree char *sp = g_build_filename (dir, "samples.tsv", NULL);
  g_autofree char *text = make_samples (n);
  g_file_set_contents (sp, text, -1, NULL);
  g_autofree double *ms = g_new (double, runs);
  for (guint r = 0; r < runs; r++)
    ms[r] = validate_once (registry, pipeline_path, sp, stage_checks);
  qsort (ms, runs, sizeof *ms, compare_doubles);
  /* Per sample: qc, align, call and compare; per run: sequencer and demux. */
  guint tasks = 4 * n + 2;
  printf ("%5u samples, stage checks %-3s: median %8.1f ms  min %8.1f  max %8.1f", n,
          stage_checks ? "on" : "off", ms[runs / 2], ms[0], ms[runs - 1]);
  if (stage_checks)
    printf ("  (%u checks)", tasks);
  printf ("\n");
  g_unlink (sp);
  return ms[runs / 2];
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: %s PLUGIN_DIR PIPELINE [RUNS]\n", argv[0]);
      return 2;
    }
  guint runs = argc > 3 ? (guint) atoi (argv[3]) : 7;
  g_autoptr (StrandRegistry) registry = strand_registry_new ();
  strand_registry_add_dir (registry, argv[1]);
  strand_registry_scan (registry);
  g_autofree char *dir = g_dir_make_tmp ("strand-bench-stage-checks-XXXXXX", NULL);
  const guint sizes[] = { 8, 100, 1000 };
  double with[3], without[3];
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      without[i] = measure (registry, argv[2], dir, sizes[i], runs, FALSE);
      with[i] = measure (registry, argv[2], dir, sizes[i], runs, TRUE);
      printf ("      stage checks cost %.1f ms, %.1f us per check\n", with[i] - without[i],
              1000.0 * (with[i] - without[i]) / (4 * sizes[i] + 2));
    }
  printf ("{\"benchmark\":\"stage-checks\",\"demo_ms\":%.1f,\"demo_without_ms\":%.1f,"
          "\"samples_1000_ms\":%.1f,\"samples_1000_without_ms\":%.1f,\"aim_extra_demo_ms\":100}\n",
          with[0], without[0], with[2], without[2]);
  g_rmdir (dir);
  return 0;
}
