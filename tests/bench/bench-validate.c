/* Validation at scale: a generated pipeline of 10,000 stages and a sheet of
 * 1,000 samples, loaded and validated (structure, parameters, resources and
 * metadata; the data checks read files and are measured by bench-check).
 * Aim: under 1 s, with every check linear in the size of the input.
 *
 *   meson test -C BUILD --benchmark --suite bench -v validate-10k
 *   BUILD/tests/bench/bench-validate PLUGIN_DIR [STAGES] [SAMPLES] [RUNS]
 *
 * Prints the median, minimum and maximum of RUNS runs and the time per stage,
 * at a tenth, the full and four times the size, so a super-linear step shows
 * as a ratio above the size ratio. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "validator.h"

static char *
make_pipeline (guint stages)
{
  /* Lanes of four stages: concat (from the sample's reads) -> concat ->
   * fastq-stats, and a second concat fed by the first; every 100th lane
   * also merges the previous lane, so the DAG is not just a set of chains. */
  GString *s = g_string_new ("{\"name\": \"scale\", \"inputs\": [{\"name\": \"reads\", \"formats\": \"fastq\"}],\n \"stages\": [\n");
  GString *e = g_string_new (" \"edges\": [\n");
  GString *o = g_string_new (" \"outputs\": [");
  guint lanes = stages / 4;
  for (guint l = 0; l < lanes; l++)
    {
      g_string_append_printf (s,
        "  {\"id\": \"m%u\", \"plugin\": \"concat\", \"version\": \"^0.1\", \"params\": {\"file_name\": \"lane%u.fq\"}},\n"
        "  {\"id\": \"n%u\", \"plugin\": \"concat\", \"params\": {\"file_name\": \"n.fq\"}},\n"
        "  {\"id\": \"q%u\", \"plugin\": \"fastq-stats\", \"params\": {\"min_reads\": 1000, \"max_n_fraction\": 0.05}},\n"
        "  {\"id\": \"x%u\", \"plugin\": \"concat\", \"resources\": {\"cores\": 2}}%s\n",
        l, l, l, l, l, l + 1 < lanes ? "," : "");
      g_string_append_printf (e,
        "  {\"from\": \"@reads\", \"to\": \"m%u.in\"}, {\"from\": \"m%u.out\", \"to\": \"n%u.in\"},\n"
        "  {\"from\": \"n%u.out\", \"to\": \"q%u.reads\"}, {\"from\": \"m%u.out\", \"to\": \"x%u.in\"}",
        l, l, l, l, l, l, l);
      if (l > 0 && l % 100 == 0)
        g_string_append_printf (e, ",\n  {\"from\": \"m%u.out\", \"to\": \"x%u.in\"}", l - 1, l);
      g_string_append (e, l + 1 < lanes ? ",\n" : "\n");
      g_string_append_printf (o, "%s\"q%u.stats\", \"x%u.out\"", l ? ", " : "", l, l);
    }
  g_string_append (s, " ],\n");
  g_string_append (e, " ],\n");
  g_string_append (o, "]\n}\n");
  g_string_append (s, e->str);
  g_string_append (s, o->str);
  g_string_free (e, TRUE);
  g_string_free (o, TRUE);
  return g_string_free (s, FALSE);
}

static char *
make_samples (guint samples)
{
  GString *s = g_string_new ("sample_id\ttype\tpriority\tread_group\tinput\tpath\n");
  for (guint i = 0; i < samples; i++)
    g_string_append_printf (s, "S%05u\tblood\t%s\tRG%05u\treads\treads.fq\n", i,
                            i % 10 ? "routine" : "stat", i);
  return g_string_free (s, FALSE);
}

static const char inventory[] =
  "{\"equipment\": [{\"id\": \"n1\", \"class\": \"compute\", \"capacity\": 8, \"cores\": 32,"
  " \"memory_bytes\": 274877906944,"
  " \"maintenance\": [{\"start\": \"2030-01-01T00:00:00Z\", \"end\": \"2030-01-01T04:00:00Z\"}]},"
  " {\"id\": \"n2\", \"class\": \"compute\", \"capacity\": 8, \"cores\": 32}]}";

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* One load-and-validate of files already on disk; returns milliseconds. */
static double
validate_once (StrandRegistry *registry, const char *pipeline_path, const char *samples_path,
               const char *inventory_path, guint *n_problems)
{
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (pipeline_path, problems);
  g_autoptr (GPtrArray) samples = strand_samples_load (samples_path, problems);
  g_autoptr (StrandInventory) inv = strand_inventory_load (inventory_path, problems);
  /* The stages' own checks run plugin code per task: bench-stage-checks. */
  StrandValidateOptions options = { .skip_data = TRUE, .skip_stage_checks = TRUE };
  strand_validate (pipeline, registry, samples, inv, &options, problems);
  gint64 t1 = g_get_monotonic_time ();
  *n_problems = problems->len;
  for (guint i = 0; i < problems->len && i < 5; i++)
    {
      StrandProblem *p = problems->pdata[i];
      fprintf (stderr, "unexpected: %s: %s [%s]\n", p->where, p->message, p->code);
    }
  return (double) (t1 - t0) / 1000.0;
}

static void
measure (StrandRegistry *registry, const char *dir, guint stages, guint samples, guint runs,
         double *median_out)
{
  g_autofree char *pp = g_build_filename (dir, "pipeline.json", NULL);
  g_autofree char *sp = g_build_filename (dir, "samples.tsv", NULL);
  g_autofree char *ip = g_build_filename (dir, "equipment.json", NULL);
  g_autofree char *rp = g_build_filename (dir, "reads.fq", NULL);
  g_autofree char *ptext = make_pipeline (stages);
  g_autofree char *stext = make_samples (samples);
  g_file_set_contents (pp, ptext, -1, NULL);
  g_file_set_contents (sp, stext, -1, NULL);
  g_file_set_contents (ip, inventory, -1, NULL);
  g_file_set_contents (rp, "@r\nA\n+\nI\n", -1, NULL);
  g_autofree double *ms = g_new (double, runs);
  guint n_problems = 0;
  for (guint r = 0; r < runs; r++)
    {
      ms[r] = validate_once (registry, pp, sp, ip, &n_problems);
      if (n_problems != 0)
        {
          fprintf (stderr, "the generated pipeline should be valid; %u problems\n", n_problems);
          exit (1);
        }
    }
  qsort (ms, runs, sizeof *ms, compare_doubles);
  printf ("%6u stages %5u samples (%5.1f MB pipeline): median %8.1f ms  min %8.1f  max %8.1f"
          "  %.2f us/stage\n", stages, samples, (double) strlen (ptext) / 1e6, ms[runs / 2],
          ms[0], ms[runs - 1], 1000.0 * ms[runs / 2] / stages);
  *median_out = ms[runs / 2];
  g_unlink (pp);
  g_unlink (sp);
  g_unlink (ip);
  g_unlink (rp);
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s PLUGIN_DIR [STAGES] [SAMPLES] [RUNS]\n", argv[0]);
      return 2;
    }
  guint stages = argc > 2 ? (guint) atoi (argv[2]) : 10000;
  guint samples = argc > 3 ? (guint) atoi (argv[3]) : 1000;
  guint runs = argc > 4 ? (guint) atoi (argv[4]) : 5;
  g_autoptr (StrandRegistry) registry = strand_registry_new ();
  strand_registry_add_dir (registry, argv[1]);
  strand_registry_scan (registry);
  g_autofree char *dir = g_dir_make_tmp ("strand-bench-validate-XXXXXX", NULL);
  double small = 0, full = 0, large = 0;
  measure (registry, dir, stages / 10, samples / 10, runs, &small);
  measure (registry, dir, stages, samples, runs, &full);
  measure (registry, dir, stages * 4, samples * 4, runs, &large);
  /* Tiny inputs sit in the caches; the larger step shows the true slope. */
  printf ("scaling: x10 in size gave x%.1f in time, x4 more gave x%.1f (linear: 10 and 4)\n",
          full / small, large / full);
  printf ("{\"benchmark\":\"validate\",\"stages\":%u,\"samples\":%u,\"median_ms\":%.1f,"
          "\"tenth_median_ms\":%.1f,\"aim_ms\":1000}\n", stages, samples, full, small);
  g_rmdir (dir);
  return 0;
}
