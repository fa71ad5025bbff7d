/* Ledger throughput on one core (the process is single-threaded): appends
 * of realistic stage-run statements (5 params, 2 inputs, 2 outputs, 1 tool),
 * each canonicalised, signed (Ed25519 over DSSE's PAE), chained and
 * buffered, with an fdatasync every 1,000 records. Aim: 20,000 records/s.
 * Then reading (hashing every line) and verifying the whole log.
 *
 *   meson test -C BUILD --benchmark --suite bench -v ledger-append
 *   BUILD/tests/bench/bench-ledger WORK_DIR [RECORDS] [RUNS]
 *
 * "append" appends statements built beforehand (a pool of 1,000 distinct
 * ones, cycled); "build+append" also builds each statement from its facts,
 * as the runner does. Each figure is the median of RUNS runs, on a new log
 * each time: records per second of wall time, and per second of the
 * process's CPU time (what one core gives when other work shares the
 * machine; fdatasync waits are not CPU time). */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "ledger.h"
#include "problems.h"
#include "record-build.h"

#define POOL 1000
#define SYNC_EVERY 1000

static char *
fake_sha (const char *what, guint i)
{
  char text[64];
  int n = g_snprintf (text, sizeof text, "%s-%u", what, i);
  return strand_sha256_hex (text, (gsize) n);
}

static JsonNode *
stage_run (const char *host_id, guint i)
{
  g_autoptr (GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  char threads[16];
  g_snprintf (threads, sizeof threads, "%u", 1 + i % 16);
  g_hash_table_insert (params, "threads", threads);
  g_hash_table_insert (params, "min_quality", "20");
  g_hash_table_insert (params, "reference", "GRCh38.p14");
  g_hash_table_insert (params, "adapter", "AGATCGGAAGAGC");
  g_hash_table_insert (params, "mark_duplicates", "true");
  g_autofree char *in1 = fake_sha ("in1", i), *in2 = fake_sha ("in2", i);
  g_autofree char *out1 = fake_sha ("out1", i), *out2 = fake_sha ("out2", i);
  g_autofree char *tool = fake_sha ("tool", 0), *so = fake_sha ("plugin", 0);
  StrandRecordFile inputs[] = { { "reads/S_R1.fastq.gz", in1 }, { "reads/S_R2.fastq.gz", in2 } };
  StrandRecordFile outputs[] = { { "bam/aligned.bam", out1 }, { "bam/aligned.bam.bai", out2 } };
  StrandRecordTool tools[] = { { "/usr/bin/bwa-mem2", "2.2.1", tool } };
  char run[32], sample[16];
  g_snprintf (run, sizeof run, "run-20261127-%06u", i / 64);
  g_snprintf (sample, sizeof sample, "S%05u", i % 4096);
  StrandStageRunFacts facts = {
    .run_id = run, .stage = "align", .sample = sample,
    .plugin_name = "bwa-align", .plugin_version = "1.2.0",
    .plugin_path = "/usr/lib/x86_64-linux-gnu/strand/plugins/bwa-align.so", .plugin_sha256 = so,
    .params = params,
    .inputs = inputs, .n_inputs = 2, .outputs = outputs, .n_outputs = 2,
    .tools = tools, .n_tools = 1,
    .equipment = "compute:node-07", .cores = 16, .memory_bytes = 32ULL << 30,
    .attempt = 1, .started_us = 1795000000000000 + i * 1000000LL,
    .finished_us = 1795000000000000 + i * 1000000LL + 734567,
    .exit_status = 0, .host_id = host_id,
  };
  return strand_statement_stage_run (&facts);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
reset_log (const char *dir)
{
  g_autofree char *log = g_build_filename (dir, "ledger", "log.jsonl", NULL);
  g_unlink (log);
}

/* One run: a new log, `records` appends; returns records per second of
 * wall time, and of CPU time in `cpu_rate`. */
static double
append_run (const char *dir, StrandKey *key, JsonNode **pool, guint records, gboolean build,
            double *cpu_rate)
{
  reset_log (dir);
  g_autoptr (GError) error = NULL;
  StrandLedger *l = strand_ledger_open (dir, key, NULL, &error);
  if (l == NULL)
    g_error ("%s", error->message);
  gint64 t0 = g_get_monotonic_time ();
  double c0 = cpu_seconds ();
  for (guint i = 0; i < records; i++)
    {
      JsonNode *st = build ? stage_run (strand_key_id (key), i) : pool[i % POOL];
      if (strand_ledger_append (l, st, NULL, &error) == 0)
        g_error ("append: %s", error->message);
      if (build)
        json_node_unref (st);
      if ((i + 1) % SYNC_EVERY == 0 && !strand_ledger_sync (l, &error))
        g_error ("sync: %s", error->message);
    }
  strand_ledger_close (l); /* flushes and syncs the rest */
  gint64 t1 = g_get_monotonic_time ();
  *cpu_rate = records / (cpu_seconds () - c0);
  return records / ((double) (t1 - t0) / G_USEC_PER_SEC);
}

static gboolean
count_line (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
            gpointer user_data)
{
  (*(guint64 *) user_data)++;
  return TRUE;
}

static void
report (const char *what, double *rates, guint runs)
{
  qsort (rates, runs, sizeof *rates, compare_doubles);
  printf ("%-14s median %9.0f records/s  (min %.0f, max %.0f, %u runs)\n", what,
          rates[runs / 2], rates[0], rates[runs - 1], runs);
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s WORK_DIR [RECORDS] [RUNS]\n", argv[0]);
      return 2;
    }
  const char *dir = argv[1];
  guint records = argc > 2 ? (guint) atoi (argv[2]) : 200000;
  guint runs = argc > 3 ? (guint) atoi (argv[3]) : 5;
  g_mkdir_with_parents (dir, 0700);
  g_autoptr (GError) error = NULL;
  if (!strand_key_create (dir, &error))
    g_error ("%s", error->message);
  g_autoptr (StrandKey) key = strand_key_load (dir, &error);
  if (key == NULL)
    g_error ("%s", error->message);

  JsonNode **pool = g_new (JsonNode *, POOL);
  for (guint i = 0; i < POOL; i++)
    pool[i] = stage_run (strand_key_id (key), i);

  printf ("ledger: %u stage-run records per run, fdatasync every %u, %s\n", records, SYNC_EVERY,
          dir);
  g_autofree double *rates = g_new (double, runs);
  g_autofree double *cpu_rates = g_new (double, runs);
  for (guint r = 0; r < runs; r++)
    rates[r] = append_run (dir, key, pool, records, FALSE, &cpu_rates[r]);
  report ("append", rates, runs);
  report ("  per CPU s", cpu_rates, runs);
  for (guint r = 0; r < runs; r++)
    rates[r] = append_run (dir, key, pool, records, TRUE, &cpu_rates[r]);
  report ("build+append", rates, runs);
  report ("  per CPU s", cpu_rates, runs);

  g_autofree char *log = g_build_filename (dir, "ledger", "log.jsonl", NULL);
  GStatBuf st;
  g_stat (log, &st);
  printf ("log: %.1f MB, %.0f bytes per record\n", st.st_size / 1e6,
          (double) st.st_size / records);
  for (guint r = 0; r < runs; r++)
    {
      guint64 n = 0;
      gint64 t0 = g_get_monotonic_time ();
      if (!strand_ledger_read (log, 0, count_line, &n, &error))
        g_error ("%s", error->message);
      rates[r] = n / ((double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
    }
  report ("read", rates, runs);
  {
    g_autoptr (GPtrArray) problems = strand_problems_new ();
    guint64 n = 0;
    gint64 t0 = g_get_monotonic_time ();
    gboolean ok = strand_ledger_verify (log, key, problems, &n);
    double rate = n / ((double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
    printf ("%-14s %16.0f records/s  (1 run, %" G_GUINT64_FORMAT " records, %s)\n", "verify",
            rate, n, ok ? "all good" : "PROBLEMS");
    if (!ok)
      return 1;
  }
  for (guint i = 0; i < POOL; i++)
    json_node_unref (pool[i]);
  g_free (pool);
  reset_log (dir);
  return 0;
}
