/* bench-check-bam: `strand check --deep` against `samtools view -c` on the
 * same ~1 GB BAM, side by side in one run.
 *
 * Run it with
 *
 *     meson test -C build --benchmark --suite bench -v check-bam-1g
 *
 * or directly,
 *
 *     build/tests/bench/bench-check-bam STRAND SAMTOOLS CACHE_DIR [--size-mb=1024]
 *         [--runs=5] [--threads=N]
 *
 * The BAM is made once, deterministically (a fixed xorshift seed), by htslib
 * and cached as CACHE_DIR/bench-check-v1-<size>mb.bam: 150 bp single-end
 * reads, sorted, on 24 contigs, with random bases and Illumina-like binned
 * qualities, an RG and an NM tag, compressed at htslib's default level.
 * Both commands first run once untimed, so the file is in the page cache for
 * both; then they alternate A B A B ... --runs times each. Every strand run
 * must exit 0 and report as many records as samtools counts. Printed: each
 * run, the median, minimum and maximum of each in ms, and the ratio of the
 * medians (strand / samtools; the aim is at most 1.0); the last line is the
 * same as one JSON object. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <htslib/sam.h>

#define N_CONTIGS 24
#define CONTIG_LEN 200000000
#define READ_LEN 150

static guint64 rng_state = 0x9e3779b97f4a7c15ULL;

static guint64
rng (void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dULL;
}

static gboolean
make_bam (const char *path, guint64 target_bytes)
{
  g_autofree char *tmp = g_strdup_printf ("%s.tmp", path);
  htsFile *out = hts_open (tmp, "wb");
  if (out == NULL)
    return FALSE;
  hts_set_threads (out, (int) g_get_num_processors ());
  sam_hdr_t *h = sam_hdr_init ();
  sam_hdr_add_line (h, "HD", "VN", "1.6", "SO", "coordinate", NULL);
  for (int c = 0; c < N_CONTIGS; c++)
    {
      char name[16], len[16];
      g_snprintf (name, sizeof name, "chr%d", c + 1);
      g_snprintf (len, sizeof len, "%d", CONTIG_LEN);
      sam_hdr_add_line (h, "SQ", "SN", name, "LN", len, NULL);
    }
  sam_hdr_add_line (h, "RG", "ID", "rg1", "SM", "BENCH1", "PL", "ILLUMINA", NULL);
  if (sam_hdr_write (out, h) < 0)
    return FALSE;
  bam1_t *b = bam_init1 ();
  static const char bases[] = "ACGT";
  static const char quals[] = { 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 25, 25, 11, 37, 2 };
  char seq[READ_LEN + 1], qual[READ_LEN];
  uint32_t cigar[1] = { bam_cigar_gen (READ_LEN, BAM_CMATCH) };
  guint64 n = 0;
  int tid = 0;
  hts_pos_t pos = 0;
  for (;;)
    {
      for (int i = 0; i < READ_LEN; i++)
        {
          guint64 r = rng ();
          seq[i] = (r & 0x3ff) == 0 ? 'N' : bases[(r >> 10) & 3];
          qual[i] = quals[(r >> 20) & 15];
        }
      seq[READ_LEN] = '\0';
      pos += (hts_pos_t) (rng () % 20);
      if (pos + READ_LEN >= CONTIG_LEN)
        {
          tid = (tid + 1) % N_CONTIGS;
          pos = 0;
        }
      char qname[64];
      int ql = g_snprintf (qname, sizeof qname, "BENCH:1:FC1:%d:%" G_GUINT64_FORMAT ":%d",
                           (int) (n % 8) + 1, n, (int) (rng () % 30000));
      if (bam_set1 (b, (size_t) ql, qname, (rng () & 1) ? BAM_FREVERSE : 0, tid, pos, 60, 1,
                    cigar, -1, -1, 0, READ_LEN, seq, qual, 16) < 0 ||
          bam_aux_append (b, "RG", 'Z', 4, (const uint8_t *) "rg1") < 0)
        return FALSE;
      int32_t nm = (int32_t) (rng () % 4);
      if (bam_aux_append (b, "NM", 'i', 4, (const uint8_t *) &nm) < 0 || sam_write1 (out, h, b) < 0)
        return FALSE;
      if (++n % 200000 == 0)
        {
          struct stat st;
          if (stat (tmp, &st) == 0 && (guint64) st.st_size >= target_bytes)
            break;
        }
    }
  bam_destroy1 (b);
  sam_hdr_destroy (h);
  if (hts_close (out) != 0)
    return FALSE;
  return g_rename (tmp, path) == 0;
}

static double
run (char **argv, char **out)
{
  gint64 t0 = g_get_monotonic_time ();
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, &err, &status, &error))
    {
      g_printerr ("bench-check-bam: %s: %s\n", argv[0], error->message);
      exit (1);
    }
  double ms = (double) (g_get_monotonic_time () - t0) / 1000.0;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_printerr ("bench-check-bam: %s failed:\n%s%s\n", argv[0], *out, err);
      exit (1);
    }
  return ms;
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (GArray *v)
{
  g_array_sort (v, cmp_double);
  guint n = v->len;
  double *d = (double *) v->data;
  return n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
}

int
main (int argc, char **argv)
{
  int size_mb = 1024, runs = 5, threads = 0;
  GOptionEntry entries[] = {
    { "size-mb", 0, 0, G_OPTION_ARG_INT, &size_mb, "Size of the BAM (default 1024)", "MB" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Timed runs of each command (default 5)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "strand check --threads (default: its own)", "N" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("STRAND SAMTOOLS CACHE_DIR");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 4 || runs < 1 || size_mb < 1)
    {
      g_printerr ("usage: bench-check-bam STRAND SAMTOOLS CACHE_DIR [--size-mb=1024] [--runs=5]\n");
      return 2;
    }
  const char *strand = argv[1], *samtools = argv[2];
  g_mkdir_with_parents (argv[3], 0755);
  g_autofree char *bam = g_strdup_printf ("%s/bench-check-v1-%dmb.bam", argv[3], size_mb);
  if (!g_file_test (bam, G_FILE_TEST_EXISTS))
    {
      printf ("making %s (once; cached) ...\n", bam);
      fflush (stdout);
      gint64 t0 = g_get_monotonic_time ();
      if (!make_bam (bam, (guint64) size_mb << 20))
        {
          g_printerr ("bench-check-bam: cannot write %s\n", bam);
          return 1;
        }
      printf ("made in %.1f s\n", (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
    }
  struct stat st;
  if (stat (bam, &st) != 0)
    return 1;

  g_autofree char *threads_arg = g_strdup_printf ("--threads=%d", threads);
  char *check_argv[] = { (char *) strand, "check", "--deep", bam, threads > 0 ? threads_arg : NULL, NULL };
  char *count_argv[] = { (char *) samtools, "view", "-c", bam, NULL };
  g_autofree char *version = NULL;
  char *version_argv[] = { (char *) samtools, "--version", NULL };
  run (version_argv, &version);
  char *nl = strchr (version, '\n');
  if (nl)
    *nl = '\0';

  printf ("file: %s (%.1f MB)\n", bam, (double) st.st_size / 1e6);
  printf ("A: %s check --deep FILE%s%s\nB: %s view -c FILE   (%s)\n", strand,
          threads > 0 ? " " : "", threads > 0 ? threads_arg : "", samtools, version);
  printf ("cores: %u\n", g_get_num_processors ());

  /* Untimed warm-up: both read the file from the page cache afterwards. */
  g_autofree char *o1 = NULL, *o2 = NULL;
  run (check_argv, &o1);
  run (count_argv, &o2);
  guint64 count = g_ascii_strtoull (o2, NULL, 10);
  g_autofree char *want = g_strdup_printf (", %" G_GUINT64_FORMAT " records, complete)", count);
  if (strstr (o1, want) == NULL)
    {
      g_printerr ("bench-check-bam: strand and samtools disagree:\n%s%s", o1, o2);
      return 1;
    }
  printf ("records: %" G_GUINT64_FORMAT "\n", count);

  g_autoptr (GArray) a = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) b = g_array_new (FALSE, FALSE, sizeof (double));
  for (int i = 0; i < runs; i++)
    {
      g_autofree char *oa = NULL, *ob = NULL;
      double ta = run (check_argv, &oa);
      double tb = run (count_argv, &ob);
      if (strstr (oa, want) == NULL)
        {
          g_printerr ("bench-check-bam: strand check gave:\n%s", oa);
          return 1;
        }
      g_array_append_val (a, ta);
      g_array_append_val (b, tb);
      printf ("run %d: strand %.0f ms, samtools %.0f ms\n", i + 1, ta, tb);
      fflush (stdout);
    }
  double min_a = 1e300, max_a = 0, min_b = 1e300, max_b = 0;
  for (guint i = 0; i < a->len; i++)
    {
      double x = g_array_index (a, double, i), y = g_array_index (b, double, i);
      min_a = MIN (min_a, x), max_a = MAX (max_a, x);
      min_b = MIN (min_b, y), max_b = MAX (max_b, y);
    }
  double ma = median (a), mb = median (b);
  printf ("strand check --deep: median %.0f ms (min %.0f, max %.0f)\n", ma, min_a, max_a);
  printf ("samtools view -c:    median %.0f ms (min %.0f, max %.0f)\n", mb, min_b, max_b);
  printf ("ratio strand/samtools: %.2f (aim: <= 1.00) %s\n", ma / mb, ma <= mb ? "met" : "NOT met");
  printf ("{\"file_bytes\": %" G_GINT64_FORMAT ", \"records\": %" G_GUINT64_FORMAT
          ", \"runs\": %d, \"strand_median_ms\": %.1f, \"samtools_median_ms\": %.1f, "
          "\"ratio\": %.3f}\n", (gint64) st.st_size, count, runs, ma, mb, ma / mb);
  return 0;
}
