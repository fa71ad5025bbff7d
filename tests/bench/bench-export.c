/* Exports at scale: how long reading one run back from its records, and
 * writing it as PROV-JSON, RO-Crate metadata and a diff, takes in a small
 * ledger and in one ten times larger. The export reads only the run's own
 * records (the index gives their offsets), so the two figures should be
 * close: its cost follows the run, not the ledger.
 *
 *   meson test -C BUILD --benchmark --suite bench -v export-200k
 *   BUILD/tests/bench/bench-export [RECORDS] [WORK_DIR]
 *
 * Each ledger holds runs of 96 samples through five stages (480 signed
 * stage-run records a run, two inputs and two outputs each, three
 * parameters), appended through the ledger as the runner does, synced every
 * 1,000 records. The index is built once per ledger before timing. Each
 * figure is the median of 5. Prints a table and one JSON line. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "export-prov.h"
#include "export-rocrate.h"
#include "provenance.h"
#include "record-build.h"
#include "run-diff.h"
#include "run-records.h"
#include "test-util.h"

#define SAMPLES 96
#define STAGES 5
#define REPEATS 5

static const char *stage_names[STAGES] = { "trim", "align", "markdup", "recal", "call" };

static void
digest_of (const char *what, guint64 run, guint sample, guint stage, guint port, char hex[65])
{
  g_autofree char *text = g_strdup_printf ("%s/%" G_GUINT64_FORMAT "/%u/%u/%u", what, run, sample, stage, port);
  g_autofree char *h = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  g_strlcpy (hex, h, 65);
}

static char *
run_id (guint64 run)
{
  return g_strdup_printf ("20260101T000000Z-%08" G_GINT64_MODIFIER "x", run);
}

/* A store with `records` stage-run records (rounded to whole runs). */
static guint64
make_store (const char *dir, guint64 records)
{
  g_autoptr (GError) error = NULL;
  if (!strand_provenance_init (dir, &error))
    g_error ("%s", error->message);
  g_autoptr (StrandProvenance) prov = strand_provenance_open (dir, &error);
  if (prov == NULL)
    g_error ("%s", error->message);
  StrandLedger *ledger = strand_provenance_ledger (prov);
  guint64 runs = MAX (records / (SAMPLES * STAGES), 2);
  char plugin_sha[STAGES][65];
  for (guint s = 0; s < STAGES; s++)
    digest_of ("plugin", 0, 0, s, 0, plugin_sha[s]);
  g_autoptr (GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (params, "threads", "8");
  g_hash_table_insert (params, "min_quality", "20");
  g_hash_table_insert (params, "reference", "/refs/GRCh38.fa");
  guint64 n = 0;
  gint64 t = (gint64) 1767225600 * G_USEC_PER_SEC;
  for (guint64 r = 0; r < runs; r++)
    {
      g_autofree char *rid = run_id (r);
      for (guint sample = 0; sample < SAMPLES; sample++)
        {
          g_autofree char *sample_id = g_strdup_printf ("S%04u", sample);
          for (guint s = 0; s < STAGES; s++)
            {
              char in_sha[2][65], out_sha[2][65];
              for (guint p = 0; p < 2; p++)
                {
                  digest_of (s == 0 ? "raw" : "item", r, sample, s, p, in_sha[p]);
                  digest_of ("item", r, sample, s + 1, p, out_sha[p]);
                }
              StrandRecordFile inputs[2] = { { "in/R1.dat", in_sha[0], NULL }, { "in/R2.dat", in_sha[1], NULL } };
              StrandRecordFile outputs[2] = { { "out/A.dat", out_sha[0], NULL }, { "out/B.dat", out_sha[1], NULL } };
              g_autofree char *so = g_strdup_printf ("/usr/lib/strand/plugins/%s.so", stage_names[s]);
              StrandStageRunFacts facts = {
                .run_id = rid, .stage = stage_names[s], .sample = sample_id,
                .plugin_name = stage_names[s], .plugin_version = "1.0.0",
                .plugin_path = so, .plugin_sha256 = plugin_sha[s], .params = params,
                .inputs = inputs, .n_inputs = 2, .outputs = outputs, .n_outputs = 2,
                .equipment = "node-01", .cores = 8, .attempt = 1,
                .started_us = t, .finished_us = t + 60 * G_USEC_PER_SEC, .exit_status = 0,
                .host_id = strand_provenance_host_id (prov),
              };
              t += G_USEC_PER_SEC;
              g_autoptr (JsonNode) st = strand_statement_stage_run (&facts);
              if (strand_ledger_append (ledger, st, NULL, &error) == 0)
                g_error ("%s", error->message);
              if (++n % 1000 == 0 && !strand_ledger_sync (ledger, &error))
                g_error ("%s", error->message);
            }
        }
    }
  if (!strand_ledger_sync (ledger, &error) || strand_provenance_index (prov, &error) == NULL)
    g_error ("%s", error->message);
  return runs;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

typedef struct {
  double load_ms, prov_ms, crate_ms, diff_ms;
} Figures;

static double
median (double *v)
{
  qsort (v, REPEATS, sizeof *v, compare_double);
  return v[REPEATS / 2];
}

static Figures
measure (const char *dir, guint64 runs)
{
  double load[REPEATS], prov[REPEATS], crate[REPEATS], diff[REPEATS];
  g_autofree char *mid = run_id (runs / 2);
  g_autofree char *last = run_id (runs - 1);
  for (guint i = 0; i < REPEATS; i++)
    {
      g_autoptr (GError) error = NULL;
      gint64 t0 = strand_clock_monotonic_us ();
      g_autoptr (StrandRunRecords) run = strand_run_records_load (dir, mid, &error);
      gint64 t1 = strand_clock_monotonic_us ();
      if (run == NULL || run->stage_runs->len != SAMPLES * STAGES)
        g_error ("load: %s", error ? error->message : "wrong number of stage runs");
      g_autoptr (JsonNode) p = strand_export_prov_json (run);
      gint64 t2 = strand_clock_monotonic_us ();
      g_autoptr (JsonNode) c = strand_export_rocrate_metadata (run, NULL);
      gint64 t3 = strand_clock_monotonic_us ();
      g_autoptr (StrandRunRecords) other = strand_run_records_load (dir, last, &error);
      gint64 t4 = strand_clock_monotonic_us ();
      g_autoptr (JsonNode) d = strand_run_diff (run, other, NULL);
      gint64 t5 = strand_clock_monotonic_us ();
      load[i] = (t1 - t0) / 1000.0;
      prov[i] = (t2 - t1) / 1000.0;
      crate[i] = (t3 - t2) / 1000.0;
      diff[i] = (t5 - t4) / 1000.0;
    }
  return (Figures){ median (load), median (prov), median (crate), median (diff) };
}

int
main (int argc, char **argv)
{
  guint64 records = argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 200000;
  const char *work = argc > 2 ? argv[2] : "bench-export-work";
  g_setenv ("STRAND_OPERATOR", "bench", TRUE);
  strand_test_remove_tree (work);
  guint64 sizes[2] = { records / 10, records };
  Figures f[2];
  guint64 runs[2];
  for (guint k = 0; k < 2; k++)
    {
      g_autofree char *dir = g_strdup_printf ("%s/store-%" G_GUINT64_FORMAT, work, sizes[k]);
      gint64 t0 = strand_clock_monotonic_us ();
      runs[k] = make_store (dir, sizes[k]);
      printf ("ledger of %" G_GUINT64_FORMAT " records (%" G_GUINT64_FORMAT " runs) made and indexed in %.1f s\n",
              runs[k] * SAMPLES * STAGES, runs[k], (strand_clock_monotonic_us () - t0) / 1e6);
      fflush (stdout);
      f[k] = measure (dir, runs[k]);
    }
  printf ("\none run of %d stage runs, median of %d (ms):\n", SAMPLES * STAGES, REPEATS);
  printf ("%-12s %12s %12s %12s %12s\n", "ledger", "load+verify", "prov-json", "crate-meta", "diff");
  for (guint k = 0; k < 2; k++)
    printf ("%-12" G_GUINT64_FORMAT " %12.1f %12.1f %12.1f %12.1f\n", runs[k] * SAMPLES * STAGES, f[k].load_ms,
            f[k].prov_ms, f[k].crate_ms, f[k].diff_ms);
  printf ("{\"bench\": \"export\", \"run_stage_runs\": %d, \"ledgers\": [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
          "], \"load_ms\": [%.1f, %.1f], \"prov_ms\": [%.1f, %.1f], \"crate_ms\": [%.1f, %.1f], "
          "\"diff_ms\": [%.1f, %.1f]}\n",
          SAMPLES * STAGES, runs[0] * SAMPLES * STAGES, runs[1] * SAMPLES * STAGES, f[0].load_ms,
          f[1].load_ms, f[0].prov_ms, f[1].prov_ms, f[0].crate_ms, f[1].crate_ms, f[0].diff_ms,
          f[1].diff_ms);
  strand_test_remove_tree (work);
  return 0;
}
