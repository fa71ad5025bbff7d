/* bench-hash: Strand's SHA-256 against `openssl dgst -sha256` on the same
 * 1 GiB file, side by side in one run; then a full ingest into a fresh
 * store, measured on its own.
 *
 * Run it with
 *
 *     meson test -C build --benchmark --suite bench -v hash-1g
 *
 * or directly,
 *
 *     build/tests/bench/bench-hash OPENSSL CACHE_DIR [--size-mb=1024] [--runs=5]
 *
 * The file is made once, deterministically (xorshift bytes, which neither
 * compress nor repeat), and cached as CACHE_DIR/bench-hash-v1-<size>mb.bin.
 * It is read once untimed, and openssl run once untimed, so that every timed
 * read comes from the page cache; the share of the file resident in the
 * cache (mincore) is printed before the timed runs. Then, alternately,
 * --runs times each:
 *
 *   A  openssl dgst -sha256 FILE   (a subprocess, from argv; its start-up
 *                                   is included, a few ms)
 *   B  strand_sha256_file (FILE)   (in process; libstrand's digest.c)
 *
 * and both digests must agree. Separately, --runs times each, into a fresh
 * store under CACHE_DIR every time (so no digest cache and no dedup):
 *
 *   C  strand_store_file_digest    SHA-256 and MD5 in one pass (MD5 in a
 *                                  helper thread)
 *   D  strand_store_ingest_file    read + hash + place (reflink,
 *                                  copy_file_range or copy) + fsync + rename
 *
 * Printed: each run, medians in MB/s (10^6 bytes per second), and the ratio
 * B/A of throughputs (the aim: at least 0.90); the last line is the same as
 * one JSON object. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "digest.h"
#include "store.h"
#include "test-util.h"

static gboolean
make_file (const char *path, guint64 bytes)
{
  g_autofree char *tmp = g_strdup_printf ("%s.tmp", path);
  FILE *fp = fopen (tmp, "wb");
  if (fp == NULL)
    return FALSE;
  gsize buf_len = 4 << 20;
  g_autofree guint64 *buf = g_malloc (buf_len);
  guint64 x = 0x9e3779b97f4a7c15ULL;
  for (guint64 done = 0; done < bytes; done += buf_len)
    {
      for (gsize i = 0; i < buf_len / 8; i++)
        {
          x ^= x >> 12;
          x ^= x << 25;
          x ^= x >> 27;
          buf[i] = x * 0x2545f4914f6cdd1dULL;
        }
      gsize n = (gsize) MIN ((guint64) buf_len, bytes - done);
      if (fwrite (buf, 1, n, fp) != n)
        {
          fclose (fp);
          return FALSE;
        }
    }
  if (fflush (fp) != 0 || fsync (fileno (fp)) != 0 || fclose (fp) != 0)
    return FALSE;
  return g_rename (tmp, path) == 0;
}

/* Share of the file's pages in the page cache, 0..1. */
static double
resident (const char *path)
{
  int fd = open (path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) != 0 || st.st_size == 0)
    return -1;
  void *map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close (fd);
  if (map == MAP_FAILED)
    return -1;
  long page = sysconf (_SC_PAGESIZE);
  gsize pages = ((gsize) st.st_size + (gsize) page - 1) / (gsize) page;
  g_autofree unsigned char *vec = g_malloc (pages);
  double share = -1;
  if (mincore (map, (size_t) st.st_size, vec) == 0)
    {
      gsize in = 0;
      for (gsize i = 0; i < pages; i++)
        in += vec[i] & 1;
      share = (double) in / (double) pages;
    }
  munmap (map, (size_t) st.st_size);
  return share;
}

static void
read_all (const char *path)
{
  int fd = open (path, O_RDONLY);
  if (fd < 0)
    return;
  g_autofree char *buf = g_malloc (4 << 20);
  while (read (fd, buf, 4 << 20) > 0)
    ;
  close (fd);
}

/* Runs openssl; returns seconds and the digest it printed. */
static double
run_openssl (char **argv, char **digest)
{
  gint64 t0 = g_get_monotonic_time ();
  int status = 0;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error))
    {
      g_printerr ("bench-hash: %s: %s\n", argv[0], error->message);
      exit (1);
    }
  double s = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  const char *eq = out ? strstr (out, "= ") : NULL;
  if (!g_spawn_check_wait_status (status, NULL) || eq == NULL)
    {
      g_printerr ("bench-hash: %s failed:\n%s%s\n", argv[0], out, err);
      exit (1);
    }
  *digest = g_strndup (eq + 2, 64);
  return s;
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

static void
fail (const char *what, GError *error)
{
  g_printerr ("bench-hash: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

int
main (int argc, char **argv)
{
  int size_mb = 1024, runs = 5;
  GOptionEntry entries[] = {
    { "size-mb", 0, 0, G_OPTION_ARG_INT, &size_mb, "Size of the file in MiB (default 1024)", "MB" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Timed runs of each (default 5)", "N" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("OPENSSL CACHE_DIR");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 3 || runs < 1 || size_mb < 1)
    {
      g_printerr ("usage: bench-hash OPENSSL CACHE_DIR [--size-mb=1024] [--runs=5]\n");
      return 2;
    }
  const char *openssl = argv[1], *cache = argv[2];
  g_mkdir_with_parents (cache, 0755);
  g_autofree char *file = g_strdup_printf ("%s/bench-hash-v1-%dmb.bin", cache, size_mb);
  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    {
      printf ("making %s (once; cached) ...\n", file);
      fflush (stdout);
      if (!make_file (file, (guint64) size_mb << 20))
        {
          g_printerr ("bench-hash: cannot write %s: %s\n", file, g_strerror (errno));
          return 1;
        }
    }
  struct stat st;
  if (stat (file, &st) != 0)
    return 1;
  double mb = (double) st.st_size / 1e6;

  char *openssl_argv[] = { (char *) openssl, "dgst", "-sha256", file, NULL };
  g_autofree char *version = NULL;
  {
    char *version_argv[] = { (char *) openssl, "version", NULL };
    int status = 0;
    g_spawn_sync (NULL, version_argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &version, NULL, &status, NULL);
    if (version != NULL)
      g_strchomp (version);
  }
  printf ("file: %s (%.1f MB)\n", file, mb);
  printf ("A: %s dgst -sha256 FILE   (%s)\n", openssl, version ? version : "?");
  printf ("B: strand_sha256_file (FILE), in process\n");
  printf ("cores: %u\n", g_get_num_processors ());

  /* Untimed warm-up: afterwards both read from the page cache. */
  read_all (file);
  g_autofree char *reference = NULL;
  run_openssl (openssl_argv, &reference);
  printf ("page cache: %.1f%% of the file resident before the timed runs\n",
          100.0 * resident (file));

  g_autoptr (GArray) a = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) b = g_array_new (FALSE, FALSE, sizeof (double));
  for (int i = 0; i < runs; i++)
    {
      g_autofree char *da = NULL;
      double ta = run_openssl (openssl_argv, &da);
      gint64 t0 = g_get_monotonic_time ();
      g_autofree char *db = strand_sha256_file (file, NULL, &error);
      double tb = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
      if (db == NULL)
        fail ("strand_sha256_file", error);
      if (strcmp (da, reference) != 0 || strcmp (db, reference) != 0)
        {
          g_printerr ("bench-hash: digests disagree: openssl %s, strand %s\n", da, db);
          return 1;
        }
      double ra = mb / ta, rb = mb / tb;
      g_array_append_val (a, ra);
      g_array_append_val (b, rb);
      printf ("run %d: openssl %.0f MB/s (%.0f ms), strand %.0f MB/s (%.0f ms)\n", i + 1, ra,
              ta * 1000, rb, tb * 1000);
      fflush (stdout);
    }

  /* The store, on its own: fresh every run. */
  g_autoptr (GArray) c = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) d = g_array_new (FALSE, FALSE, sizeof (double));
  const char *placement = "?";
  g_autofree char *store_dir = g_strdup_printf ("%s/bench-hash-store", cache);
  for (int i = 0; i < runs; i++)
    {
      strand_test_remove_tree (store_dir);
      g_autoptr (StrandStore) store = strand_store_open (store_dir, &error);
      if (store == NULL)
        fail ("strand_store_open", error);
      char sha[65], md5[33];
      gint64 t0 = g_get_monotonic_time ();
      if (!strand_store_file_digest (store, file, sha, md5, &error))
        fail ("strand_store_file_digest", error);
      double tc = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
      g_clear_pointer (&store, strand_store_close);
      strand_test_remove_tree (store_dir);

      store = strand_store_open (store_dir, &error);
      if (store == NULL)
        fail ("strand_store_open", error);
      StrandObjectInfo info;
      t0 = g_get_monotonic_time ();
      if (!strand_store_ingest_file (store, file, FALSE, &info, &error))
        fail ("strand_store_ingest_file", error);
      double td = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
      if (strcmp (sha, reference) != 0 || strcmp (info.sha256, reference) != 0 ||
          strcmp (info.md5, md5) != 0)
        {
          g_printerr ("bench-hash: store digests disagree with openssl\n");
          return 1;
        }
      placement = strand_placement_name (info.placement);
      double rc = mb / tc, rd = mb / td;
      g_array_append_val (c, rc);
      g_array_append_val (d, rd);
      printf ("store run %d: file_digest (SHA-256 + MD5) %.0f MB/s (%.0f ms), ingest (%s) %.0f MB/s"
              " (%.0f ms)\n", i + 1, rc, tc * 1000, placement, rd, td * 1000);
      fflush (stdout);
    }
  strand_test_remove_tree (store_dir);

  double ma = median (a), mbb = median (b), mc = median (c), md = median (d);
  double ratio = mbb / ma;
  printf ("openssl dgst -sha256:           median %.0f MB/s\n", ma);
  printf ("strand_sha256_file:             median %.0f MB/s\n", mbb);
  printf ("strand_store_file_digest (+MD5): median %.0f MB/s\n", mc);
  printf ("strand_store_ingest_file (%s): median %.0f MB/s\n", placement, md);
  printf ("ratio strand/openssl (SHA-256): %.3f (aim: >= 0.90) %s\n", ratio,
          ratio >= 0.90 ? "met" : "NOT met");
  printf ("{\"file_bytes\": %" G_GINT64_FORMAT ", \"runs\": %d, \"openssl_mbps\": %.1f, "
          "\"strand_sha256_mbps\": %.1f, \"ratio\": %.3f, \"file_digest_sha256_md5_mbps\": %.1f, "
          "\"ingest_mbps\": %.1f, \"ingest_placement\": \"%s\"}\n",
          (gint64) st.st_size, runs, ma, mbb, ratio, mc, md, placement);
  return 0;
}
