/* Lineage at scale: a generated ledger of N records (default 10 million),
 * the index rebuilt from it, and lineage queries on random items.
 * Aim: a lineage query under 10 ms (the requirement is 5 s); the rebuild
 * time and the index size are reported.
 *
 *   meson test -C BUILD --benchmark --suite bench -v lineage-1m
 *   meson test -C BUILD --benchmark --suite bench -v lineage-10m
 *   BUILD/tests/bench/bench-lineage [RECORDS] [WORK_DIR] [QUERIES]
 *
 * The ledger has the shape of a sequencing facility's: runs of 96 samples,
 * each sample two ingested FASTQ files and a chain of five stage runs (two
 * inputs, two outputs each; about 2% fail once with no outputs and are
 * retried), its VCF materialised to a results path; run start and end
 * events; 48 instruments. Lines are the exact record form (records.h) with
 * a zero signature: the index does not check signatures (`strand verify`
 * does), and signing 10 million records would measure libsodium. The first
 * records are checked with strand_record_open() to prove the shape.
 *
 * The log is cached in WORK_DIR (lineage-N/ledger/log.jsonl) so that reruns
 * skip generating it; the index is deleted and rebuilt on every run. Before
 * generating, the free space is checked: when the log and its index would
 * not fit with 10% to spare, N is reduced to what does and the report says
 * so. Queries run warm (right after the rebuild), and cold: 100 of them,
 * each after the pages of the index and the log are dropped from the page
 * cache (posix_fadvise) and the index reopened. Prints a table and one JSON
 * line. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "clock.h"
#include "digest.h"
#include "ledger.h"
#include "lineage.h"

#define GENERATOR_VERSION 1
#define SAMPLES_PER_RUN 96
#define STAGES 5
#define INSTRUMENTS 48
#define MINUTE ((gint64) 60 * G_USEC_PER_SEC)
/* A sample arrives every two minutes; its chain runs from then on. */
#define SAMPLE_EVERY (2 * MINUTE)
/* 2026-01-01T00:00:00Z */
#define START_US ((gint64) 1767225600 * G_USEC_PER_SEC)

static const char *stage_names[STAGES] = { "trim", "align", "markdup", "recal", "call" };
static const char *stage_ports[STAGES][2] = {
  { "R1.trimmed.fastq.gz", "R2.trimmed.fastq.gz" },
  { "aligned.bam", "aligned.bam.bai" },
  { "dedup.bam", "dedup.bam.bai" },
  { "recal.bam", "recal.bam.bai" },
  { "calls.vcf.gz", "calls.vcf.gz.tbi" },
};
static const char *input_ports[2] = { "R1.fastq.gz", "R2.fastq.gz" };

/* The digest of port `port` of stage `stage` (0: the ingested inputs) of
 * sample `sample`: made up, but the same every time. */
static void
item_digest (guint64 sample, guint stage, guint port, char hex[65])
{
  char text[64];
  int n = g_snprintf (text, sizeof text, "item/%" G_GUINT64_FORMAT "/%u/%u", sample, stage, port);
  g_autofree char *h = strand_sha256_hex (text, (gsize) n);
  memcpy (hex, h, 65);
}

static guint64
mix (guint64 x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb3f99e1b87d7ULL;
  x ^= x >> 33;
  return x;
}

/* About 2% of stage runs fail once. */
static gboolean
fails_once (guint64 sample, guint stage)
{
  return mix (sample * 131 + stage) % 50 == 0;
}

/* How many samples generate() writes for `records` records: it writes
 * whole samples, as many as it takes. */
static guint64
count_samples (guint64 records)
{
  guint64 seq = 0, sample = 0;
  while (seq < records)
    {
      seq += (sample % SAMPLES_PER_RUN == 0) + 2 + STAGES + 1;
      for (guint stage = 0; stage < STAGES; stage++)
        seq += fails_once (sample, stage);
      sample++;
      seq += sample % SAMPLES_PER_RUN == 0;
    }
  return sample;
}

/* --- writing the log ------------------------------------------------------------ */

typedef struct {
  FILE *out;
  guint64 seq;
  char prev[65];
  guint64 bytes;
  GString *statement, *line;
  StrandSha256 *sha;
  const char *keyid;
  char plugin_sha[STAGES][65];
  gint64 now; /* the facility's clock */
} Gen;

static const char zero_sig[] =
  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

static char *
rfc3339 (gint64 us)
{
  return strand_clock_format_rfc3339 (us);
}

/* Wraps g->statement (with its "ledger" member already in place) into a
 * record line and writes it. */
static void
emit (Gen *g)
{
  g_autofree char *b64 = g_base64_encode ((const guchar *) g->statement->str, g->statement->len);
  g_string_printf (g->line,
                   "{\"dsse\":{\"payload\":\"%s\",\"payloadType\":\"application/vnd.in-toto+json\","
                   "\"signatures\":[{\"keyid\":\"%s\",\"sig\":\"%s\"}]},\"prev\":\"%s\","
                   "\"seq\":%" G_GUINT64_FORMAT "}",
                   b64, g->keyid, zero_sig, g->prev, g->seq);
  strand_sha256_reset (g->sha);
  strand_sha256_update (g->sha, g->line->str, g->line->len);
  strand_sha256_finish_hex (g->sha, g->prev);
  g_string_append_c (g->line, '\n');
  if (fwrite (g->line->str, 1, g->line->len, g->out) != g->line->len)
    g_error ("bench-lineage: write failed");
  g->bytes += g->line->len;
}

static void
ledger_member (Gen *g)
{
  g->seq++;
  g_string_append_printf (g->statement, "\"ledger\":{\"prev\":\"%s\",\"seq\":%" G_GUINT64_FORMAT "}",
                          g->prev, g->seq);
}

static void
gen_ingest (Gen *g, guint64 sample, guint64 run, guint port)
{
  char sha[65];
  item_digest (sample, 0, port, sha);
  g_autofree char *t = rfc3339 (g->now);
  char path[128];
  g_snprintf (path, sizeof path, "/data/run%06" G_GUINT64_FORMAT "/S%08" G_GUINT64_FORMAT "_%s",
              run, sample, input_ports[port]);
  g_string_assign (g->statement, "{\"_type\":\"https://in-toto.io/Statement/v1\","
                                 "\"predicate\":{\"format\":\"fastq\",");
  ledger_member (g);
  g_string_append_printf (g->statement,
                          ",\"md5\":\"%.32s\",\"path\":\"%s\",\"sample\":\"S%08" G_GUINT64_FORMAT
                          "\",\"size\":%" G_GUINT64_FORMAT ",\"time\":\"%s\"},"
                          "\"predicateType\":\"urn:strand:record:ingest:v1\","
                          "\"subject\":[{\"digest\":{\"sha256\":\"%s\"},\"name\":\"%s\"}]}",
                          sha + 16, path, sample, 1000000000 + mix (sample * 2 + port) % 4000000000,
                          t, sha, path);
  emit (g);
}

static void
gen_stage_run (Gen *g, guint64 sample, guint64 run, guint stage, int attempt, gboolean failed)
{
  char in[2][65], out[2][65];
  for (guint p = 0; p < 2; p++)
    {
      item_digest (sample, stage, p, in[p]);
      item_digest (sample, stage + 1, p, out[p]);
    }
  const char *const *in_names = stage == 0 ? input_ports : stage_ports[stage - 1];
  gint64 started = g->now;
  gint64 finished = started + (gint64) (5 + mix (sample * 7 + stage) % 55) * MINUTE;
  g_autofree char *t0 = rfc3339 (started);
  g_autofree char *t1 = rfc3339 (finished);
  guint instrument = (guint) (mix (sample * 31 + stage * 7 + (guint) attempt) % INSTRUMENTS);
  g_string_printf (g->statement,
                   "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{"
                   "\"buildDefinition\":{\"buildType\":\"urn:strand:build:stage-run:v1\","
                   "\"externalParameters\":{\"params\":{},\"plugin\":\"%s\",\"plugin_version\":"
                   "\"1.4.2\",\"run\":\"run%06" G_GUINT64_FORMAT "\",\"sample\":\"S%08"
                   G_GUINT64_FORMAT "\",\"stage\":\"%s\"},\"internalParameters\":{\"attempt\":%d,"
                   "\"equipment\":\"%s-%02u\",",
                   stage_names[stage], run, sample, stage_names[stage], attempt,
                   stage < 2 ? "seq" : "node", instrument);
  ledger_member (g);
  g_string_append_printf (g->statement,
                          "},\"resolvedDependencies\":["
                          "{\"digest\":{\"sha256\":\"%s\"},\"name\":\"input:in/%s\"},"
                          "{\"digest\":{\"sha256\":\"%s\"},\"name\":\"input:in/%s\"},"
                          "{\"digest\":{\"sha256\":\"%s\"},\"name\":\"plugin:%s\","
                          "\"uri\":\"/usr/lib/strand/plugins/%s.so\"}]},"
                          "\"runDetails\":{\"builder\":{\"id\":\"strand:host:%s\"},"
                          "\"byproducts\":[{\"annotations\":{%s\"status\":%d},\"name\":\"exit\"}],"
                          "\"metadata\":{\"finishedOn\":\"%s\",\"invocationId\":\"run%06"
                          G_GUINT64_FORMAT "\",\"startedOn\":\"%s\"}}},"
                          "\"predicateType\":\"https://slsa.dev/provenance/v1\",\"subject\":[",
                          in[0], in_names[0], in[1], in_names[1], g->plugin_sha[stage],
                          stage_names[stage], stage_names[stage], g->keyid,
                          failed ? "\"error_class\":\"out-of-memory\"," : "", failed ? 137 : 0,
                          t1, run, t0);
  if (!failed)
    g_string_append_printf (g->statement,
                            "{\"digest\":{\"sha256\":\"%s\"},\"name\":\"out/%s\"},"
                            "{\"digest\":{\"sha256\":\"%s\"},\"name\":\"out/%s\"}",
                            out[0], stage_ports[stage][0], out[1], stage_ports[stage][1]);
  g_string_append (g->statement, "]}");
  emit (g);
  g->now = finished;
}

static void
gen_materialize (Gen *g, guint64 sample, guint64 run)
{
  char sha[65];
  item_digest (sample, STAGES, 0, sha);
  g_autofree char *t = rfc3339 (g->now);
  char path[128];
  g_snprintf (path, sizeof path, "/results/run%06" G_GUINT64_FORMAT "/S%08" G_GUINT64_FORMAT ".vcf.gz",
              run, sample);
  g_string_assign (g->statement, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{");
  ledger_member (g);
  g_string_append_printf (g->statement,
                          ",\"method\":\"reflink\",\"path\":\"%s\",\"time\":\"%s\"},"
                          "\"predicateType\":\"urn:strand:record:materialize:v1\","
                          "\"subject\":[{\"digest\":{\"sha256\":\"%s\"},\"name\":\"%s\"}]}",
                          path, t, sha, path);
  emit (g);
}

static void
gen_event (Gen *g, const char *what, guint64 run)
{
  g_autofree char *t = rfc3339 (g->now);
  g_string_printf (g->statement, "{\"_type\":\"https://in-toto.io/Statement/v1\",\"predicate\":{"
                                 "\"details\":{\"run\":\"run%06" G_GUINT64_FORMAT "\"},"
                                 "\"event\":\"%s\",", run, what);
  ledger_member (g);
  g_string_append_printf (g->statement, ",\"time\":\"%s\"},"
                                        "\"predicateType\":\"urn:strand:record:event:v1\","
                                        "\"subject\":[]}", t);
  emit (g);
}

/* Writes about `records` records (whole samples) to `path`; returns the
 * number of samples. */
static guint64
generate (const char *path, guint64 records, guint64 *written, guint64 *bytes)
{
  g_autofree char *tmp = g_strconcat (path, ".part", NULL);
  Gen g = { .statement = g_string_sized_new (4096), .line = g_string_sized_new (8192),
            .sha = strand_sha256_new (), .now = START_US };
  g.out = fopen (tmp, "w");
  if (g.out == NULL)
    g_error ("bench-lineage: cannot write %s", tmp);
  setvbuf (g.out, NULL, _IOFBF, 8 << 20);
  memcpy (g.prev, STRAND_LEDGER_GENESIS, 65);
  g_autofree char *keyid = strand_sha256_hex ("bench-host-key", 14);
  g.keyid = keyid;
  for (guint s = 0; s < STAGES; s++)
    {
      g_autofree char *h = strand_sha256_hex (stage_names[s], strlen (stage_names[s]));
      memcpy (g.plugin_sha[s], h, 65);
    }
  guint64 sample = 0;
  while (g.seq < records)
    {
      guint64 run = sample / SAMPLES_PER_RUN;
      g.now = START_US + (gint64) sample * SAMPLE_EVERY;
      if (sample % SAMPLES_PER_RUN == 0)
        gen_event (&g, "run-start", run);
      gen_ingest (&g, sample, run, 0);
      gen_ingest (&g, sample, run, 1);
      for (guint stage = 0; stage < STAGES; stage++)
        {
          int attempt = 1;
          if (fails_once (sample, stage))
            gen_stage_run (&g, sample, run, stage, attempt++, TRUE);
          gen_stage_run (&g, sample, run, stage, attempt, FALSE);
        }
      gen_materialize (&g, sample, run);
      sample++;
      if (sample % SAMPLES_PER_RUN == 0)
        gen_event (&g, "run-end", run);
      if (sample % 100000 == 0)
        fprintf (stderr, "bench-lineage: generated %" G_GUINT64_FORMAT " records\r", g.seq);
    }
  if (fclose (g.out) != 0)
    g_error ("bench-lineage: cannot write %s", tmp);
  if (g_rename (tmp, path) != 0)
    g_error ("bench-lineage: cannot rename %s", tmp);
  *written = g.seq;
  *bytes = g.bytes;
  g_string_free (g.statement, TRUE);
  g_string_free (g.line, TRUE);
  strand_sha256_free (g.sha);
  return sample;
}

/* The first records go through the ledger's own strict reader: the exact
 * record form, a statement, the signed chain equal to the line's. */
typedef struct {
  guint checked;
  GError *error;
} Check;

static gboolean
check_record (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
              gpointer user_data)
{
  Check *c = user_data;
  g_autoptr (JsonNode) st = strand_record_open (line, len, NULL, NULL, NULL, &c->error);
  if (st == NULL)
    return FALSE;
  return ++c->checked < 2000;
}

/* --- measuring ---------------------------------------------------------------------- */

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

typedef struct {
  double median, p99, max, mean_activities;
} Latency;

static Latency
latencies (GArray *ms, double activities)
{
  g_array_sort (ms, compare_double);
  Latency l = { 0 };
  if (ms->len == 0)
    return l;
  l.median = g_array_index (ms, double, ms->len / 2);
  l.p99 = g_array_index (ms, double, MIN (ms->len - 1, (guint) (ms->len * 0.99)));
  l.max = g_array_index (ms, double, ms->len - 1);
  l.mean_activities = activities / ms->len;
  return l;
}

static double
ms_since (gint64 t0)
{
  return (strand_clock_monotonic_us () - t0) / 1000.0;
}

/* Times one lineage query; adds its number of activities to *acts. */
static double
timed_lineage (StrandIndex *index, const char *target, StrandLineageDirection dir, double *acts)
{
  g_autoptr (GError) error = NULL;
  gint64 t0 = strand_clock_monotonic_us ();
  g_autoptr (JsonNode) answer = strand_lineage (index, target, dir, -1, &error);
  double ms = ms_since (t0);
  if (answer == NULL)
    g_error ("bench-lineage: lineage %s: %s", target, error->message);
  *acts += json_array_get_length (json_object_get_array_member (json_node_get_object (answer),
                                                                "activities"));
  return ms;
}

static guint64
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (guint64) st.st_size : 0;
}

/* Drops a file's pages from the page cache. */
static void
evict (const char *path)
{
  const char *suffixes[] = { "", "-wal", "-shm" };
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (path, suffixes[i], NULL);
      int fd = open (p, O_RDONLY);
      if (fd < 0)
        continue;
      fdatasync (fd);
      posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
      close (fd);
    }
}

static long
peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *p = strstr (status, "VmHWM:");
  return p ? strtol (p + 6, NULL, 10) : -1;
}

int
main (int argc, char **argv)
{
  guint64 want = argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 10000000;
  const char *work = argc > 2 ? argv[2] : ".";
  guint queries = argc > 3 ? (guint) g_ascii_strtoull (argv[3], NULL, 10) : 1000;
  if (want < 100)
    want = 100;
  g_mkdir_with_parents (work, 0755);

  /* ~1.5 KB a record in the log and ~0.25 KB in the index; the index is
   * built beside the old one. */
  const double bytes_per_record = 1550 + 2 * 260;
  struct statvfs vfs;
  guint64 wanted = want;
  g_autofree char *dir = g_strdup_printf ("%s/lineage-%" G_GUINT64_FORMAT "-v%d", work, want,
                                          GENERATOR_VERSION);
  g_autofree char *log_dir = g_build_filename (dir, "ledger", NULL);
  g_autofree char *log = g_build_filename (log_dir, "log.jsonl", NULL);
  gboolean cached = g_file_test (log, G_FILE_TEST_EXISTS);
  if (!cached && statvfs (work, &vfs) == 0)
    {
      double free_bytes = (double) vfs.f_bavail * vfs.f_frsize * 0.9;
      if (want * bytes_per_record > free_bytes)
        {
          want = (guint64) (free_bytes / bytes_per_record);
          fprintf (stderr, "bench-lineage: %.1f GB free: %" G_GUINT64_FORMAT " records instead of %"
                   G_GUINT64_FORMAT "\n", free_bytes / 0.9 / 1e9, want, wanted);
          g_free (dir);
          g_free (log_dir);
          g_free (log);
          dir = g_strdup_printf ("%s/lineage-%" G_GUINT64_FORMAT "-v%d", work, want, GENERATOR_VERSION);
          log_dir = g_build_filename (dir, "ledger", NULL);
          log = g_build_filename (log_dir, "log.jsonl", NULL);
          cached = g_file_test (log, G_FILE_TEST_EXISTS);
        }
    }
  g_mkdir_with_parents (log_dir, 0755);
  g_autofree char *db = g_build_filename (dir, "index.sqlite", NULL);

  double generate_s = 0;
  if (!cached)
    {
      gint64 t0 = strand_clock_monotonic_us ();
      guint64 written = 0, bytes = 0;
      guint64 samples = generate (log, want, &written, &bytes);
      generate_s = ms_since (t0) / 1000;
      fprintf (stderr, "bench-lineage: generated %" G_GUINT64_FORMAT " records (%" G_GUINT64_FORMAT
               " samples, %.2f GB) in %.1f s\n", written, samples, bytes / 1e9, generate_s);
    }
  Check check = { 0 };
  strand_ledger_read (log, 0, check_record, &check, NULL);
  if (check.error != NULL)
    g_error ("bench-lineage: generated record %u is not a record: %s", check.checked + 1,
             check.error->message);

  guint64 log_bytes = file_size (log);
  /* Rebuild from nothing. */
  const char *sidecars[] = { "", "-wal", "-shm", ".damaged" };
  for (guint i = 0; i < G_N_ELEMENTS (sidecars); i++)
    {
      g_autofree char *p = g_strconcat (db, sidecars[i], NULL);
      g_unlink (p);
    }
  g_autoptr (GError) error = NULL;
  gboolean rebuilt = FALSE;
  gint64 t0 = strand_clock_monotonic_us ();
  StrandIndex *index = strand_index_open (db, log, &rebuilt, &error);
  double rebuild_s = ms_since (t0) / 1000;
  if (index == NULL)
    g_error ("bench-lineage: %s", error->message);
  long rebuild_rss = peak_rss_kib ();
  guint64 records = strand_index_last_seq (index);
  strand_index_close (index);
  guint64 db_bytes = file_size (db);

  /* Opening an index that is up to date: what every `strand lineage` pays. */
  GArray *open_ms = g_array_new (FALSE, FALSE, sizeof (double));
  for (int i = 0; i < 5; i++)
    {
      t0 = strand_clock_monotonic_us ();
      index = strand_index_open (db, log, &rebuilt, &error);
      double ms = ms_since (t0);
      g_assert (index != NULL && !rebuilt);
      g_array_append_val (open_ms, ms);
      if (i < 4)
        strand_index_close (index);
    }
  Latency open_l = latencies (open_ms, 0);

  /* Random items: any of a sample's twelve data items. */
  guint64 samples = count_samples (want);
  GRand *rand = g_rand_new_with_seed (20261127);
  GArray *up_ms = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *down_ms = g_array_new (FALSE, FALSE, sizeof (double));
  double up_acts = 0, down_acts = 0;
  for (guint q = 0; q < queries; q++)
    {
      guint64 sample = (guint64) g_rand_double_range (rand, 0, (double) samples);
      guint stage = (guint) g_rand_int_range (rand, 0, STAGES + 1);
      char sha[65];
      item_digest (sample, stage, (guint) g_rand_int_range (rand, 0, 2), sha);
      double ms = timed_lineage (index, sha, STRAND_LINEAGE_UP, &up_acts);
      g_array_append_val (up_ms, ms);
      ms = timed_lineage (index, sha, STRAND_LINEAGE_DOWN, &down_acts);
      g_array_append_val (down_ms, ms);
    }
  Latency up = latencies (up_ms, up_acts), down = latencies (down_ms, down_acts);

  /* Other targets: a sample, a run (96 samples), a results path, and a
   * day of one instrument. */
  GArray *sample_ms = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *run_ms = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *path_ms = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *equip_ms = g_array_new (FALSE, FALSE, sizeof (double));
  double sample_acts = 0, run_acts = 0, path_acts = 0, equip_acts = 0;
  guint64 runs = MAX (samples / SAMPLES_PER_RUN, 1);
  for (guint q = 0; q < 100; q++)
    {
      guint64 sample = (guint64) g_rand_double_range (rand, 0, (double) samples);
      char target[128];
      g_snprintf (target, sizeof target, "S%08" G_GUINT64_FORMAT, sample);
      double ms = timed_lineage (index, target, STRAND_LINEAGE_UP, &sample_acts);
      g_array_append_val (sample_ms, ms);
      g_snprintf (target, sizeof target, "/results/run%06" G_GUINT64_FORMAT "/S%08" G_GUINT64_FORMAT
                  ".vcf.gz", sample / SAMPLES_PER_RUN, sample);
      ms = timed_lineage (index, target, STRAND_LINEAGE_UP, &path_acts);
      g_array_append_val (path_ms, ms);
      g_snprintf (target, sizeof target, "run%06" G_GUINT64_FORMAT,
                  (guint64) g_rand_double_range (rand, 0, (double) runs));
      ms = timed_lineage (index, target, STRAND_LINEAGE_DOWN, &run_acts);
      g_array_append_val (run_ms, ms);

      char equipment[16];
      guint instrument = (guint) g_rand_int_range (rand, 0, INSTRUMENTS);
      g_snprintf (equipment, sizeof equipment, "node-%02u", instrument);
      gint64 span = (gint64) samples * SAMPLE_EVERY;
      gint64 from = START_US + (gint64) g_rand_double_range (rand, 0, (double) span);
      t0 = strand_clock_monotonic_us ();
      g_autoptr (JsonNode) eq = strand_lineage_equipment (index, equipment, from,
                                                          from + 24 * 60 * MINUTE, &error);
      ms = ms_since (t0);
      g_assert (eq != NULL);
      equip_acts += json_array_get_length (
          json_object_get_array_member (json_node_get_object (eq), "activities"));
      g_array_append_val (equip_ms, ms);
    }
  Latency sample_l = latencies (sample_ms, sample_acts), run_l = latencies (run_ms, run_acts);
  Latency path_l = latencies (path_ms, path_acts), equip_l = latencies (equip_ms, equip_acts);
  strand_index_close (index);

  /* Cold: the index's pages dropped from the page cache before each open
   * and query, as for the first `strand lineage` after a reboot. */
  GArray *cold_open_ms = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *cold_ms = g_array_new (FALSE, FALSE, sizeof (double));
  double cold_acts = 0;
  for (guint q = 0; q < 100; q++)
    {
      evict (db);
      evict (log);
      t0 = strand_clock_monotonic_us ();
      index = strand_index_open (db, log, &rebuilt, &error);
      double ms = ms_since (t0);
      g_assert (index != NULL && !rebuilt);
      g_array_append_val (cold_open_ms, ms);
      guint64 sample = (guint64) g_rand_double_range (rand, 0, (double) samples);
      char sha[65];
      item_digest (sample, (guint) g_rand_int_range (rand, 0, STAGES + 1),
                   (guint) g_rand_int_range (rand, 0, 2), sha);
      ms = timed_lineage (index, sha, q % 2 ? STRAND_LINEAGE_DOWN : STRAND_LINEAGE_UP, &cold_acts);
      g_array_append_val (cold_ms, ms);
      strand_index_close (index);
    }
  Latency cold_open = latencies (cold_open_ms, 0), cold = latencies (cold_ms, cold_acts);

  printf ("lineage index, %" G_GUINT64_FORMAT " records (%" G_GUINT64_FORMAT " samples)%s\n",
          records, samples, want < wanted ? " (reduced to fit the disk)" : "");
  printf ("log:      %.2f GB (%.0f bytes a record)%s\n", log_bytes / 1e9,
          (double) log_bytes / MAX (records, 1), cached ? ", cached from an earlier run" : "");
  if (!cached)
    printf ("          generated in %.1f s\n", generate_s);
  printf ("rebuild:  %.1f s (%.0f records/s), peak RSS %.0f MiB\n", rebuild_s,
          records / rebuild_s, rebuild_rss / 1024.0);
  printf ("index:    %.2f GB (%.0f bytes a record, %.1f%% of the log)\n", db_bytes / 1e9,
          (double) db_bytes / MAX (records, 1), 100.0 * db_bytes / MAX (log_bytes, 1));
  printf ("open, up to date: median %.2f ms, max %.2f ms\n", open_l.median, open_l.max);
  printf ("%-34s %10s %10s %10s %12s\n", "query", "median ms", "p99 ms", "max ms", "activities");
  struct { const char *label; Latency *l; } rows[] = {
    { "item up (full depth)", &up }, { "item down (full depth)", &down },
    { "sample up", &sample_l }, { "results path up", &path_l },
    { "run down (96 samples)", &run_l }, { "equipment, 24 h window", &equip_l },
    { "cold cache: open", &cold_open }, { "cold cache: item up or down", &cold },
  };
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    printf ("%-34s %10.3f %10.3f %10.3f %12.1f\n", rows[i].label, rows[i].l->median,
            rows[i].l->p99, rows[i].l->max, rows[i].l->mean_activities);
  printf ("{\"benchmark\":\"lineage\",\"records\":%" G_GUINT64_FORMAT ",\"records_wanted\":%"
          G_GUINT64_FORMAT ",\"samples\":%" G_GUINT64_FORMAT ",\"log_bytes\":%" G_GUINT64_FORMAT
          ",\"rebuild_s\":%.2f,\"rebuild_peak_rss_kib\":%ld,\"index_bytes\":%" G_GUINT64_FORMAT
          ",\"open_ms\":%.3f,\"queries\":%u,\"up_ms\":{\"median\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
          "\"down_ms\":{\"median\":%.3f,\"p99\":%.3f,\"max\":%.3f},\"sample_up_ms\":%.3f,"
          "\"path_up_ms\":%.3f,\"run_down_ms\":%.3f,\"equipment_ms\":%.3f,"
          "\"cold_open_ms\":%.3f,\"cold_item_ms\":{\"median\":%.3f,\"p99\":%.3f},\"aim_ms\":10}\n",
          records, wanted, samples, log_bytes, rebuild_s, rebuild_rss, db_bytes, open_l.median,
          queries, up.median, up.p99, up.max, down.median, down.p99, down.max, sample_l.median,
          path_l.median, run_l.median, equip_l.median, cold_open.median, cold.median, cold.p99);
  g_rand_free (rand);
  return 0;
}
