/* Merkle proofs at ledger scale (issue 5: "proof size and time at 10 million
 * records, aim: under 1 ms and under 1 KB").
 *
 *   meson test -C BUILD --benchmark --suite bench -v proof-10m
 *   BUILD/tests/bench/bench-proof LEAVES WORK_DIR [QUERIES]
 *
 * Builds an on-disk tree (merkle-tree.h) of LEAVES synthetic leaf hashes,
 * appended one by one through the same incremental code the ledger uses and
 * flushed every 65,536 leaves, and reports the build rate and the files'
 * size. Then, on the tree reopened from its files (warm page cache, as on a
 * host that just wrote it), QUERIES inclusion proofs at random leaves of the
 * whole tree and of random older sizes, and QUERIES consistency proofs from
 * random older sizes: median, p99 and worst time to make one, the time to
 * verify one, and the proof's size, as raw hashes and as the JSON
 * `strand proof` prints for it (without the record itself). Every proof is
 * verified against the root. The files are deleted at the end. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "merkle-tree.h"
#include "merkle.h"

#define HLEN STRAND_MERKLE_HASH_LEN
#define FLUSH_EVERY 65536

static guint64 rng_state = 0x9e3779b97f4a7c15ULL;

static guint64
next (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static guint64
below (guint64 n)
{
  return next () % n;
}

static int
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return (x > y) - (x < y);
}

typedef struct {
  GArray *make_us;   /* gint64 each */
  GArray *verify_us;
  guint max_hashes;
  guint64 total_hashes;
  gsize json_bytes_max;
} Series;

static void
series_init (Series *s)
{
  s->make_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  s->verify_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  s->max_hashes = 0;
  s->total_hashes = 0;
  s->json_bytes_max = 0;
}

static gint64
percentile (GArray *a, double p)
{
  g_array_sort (a, compare_i64);
  guint i = (guint) (p * (a->len - 1) + 0.5);
  return g_array_index (a, gint64, i);
}

static void
series_report (Series *s, const char *what)
{
  guint n = s->make_us->len;
  gint64 sum = 0;
  for (guint i = 0; i < n; i++)
    sum += g_array_index (s->make_us, gint64, i);
  printf ("%-34s make: median %" G_GINT64_FORMAT " us, p99 %" G_GINT64_FORMAT " us, max %" G_GINT64_FORMAT
          " us, mean %.1f us; verify: median %" G_GINT64_FORMAT " us\n",
          what, percentile (s->make_us, 0.5), percentile (s->make_us, 0.99),
          percentile (s->make_us, 1.0), (double) sum / n, percentile (s->verify_us, 0.5));
  printf ("%-34s size: %u hashes max (%u bytes), %.1f mean; JSON %" G_GSIZE_FORMAT " bytes max\n", "",
          s->max_hashes, s->max_hashes * HLEN, (double) s->total_hashes / n, s->json_bytes_max);
  g_array_unref (s->make_us);
  g_array_unref (s->verify_us);
}

static void
series_add (Series *s, gint64 make_us, gint64 verify_us, const GArray *proof, gsize json_bytes)
{
  g_array_append_val (s->make_us, make_us);
  g_array_append_val (s->verify_us, verify_us);
  s->max_hashes = MAX (s->max_hashes, proof->len);
  s->total_hashes += proof->len;
  s->json_bytes_max = MAX (s->json_bytes_max, json_bytes);
}

/* What `strand proof --json` prints for these hashes, record aside. */
static gsize
json_size (const char *kind, guint64 a, const guint8 *leaf, const GArray *proof)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  char hex[2 * HLEN + 1];
  json_builder_begin_object (b);
  json_builder_set_member_name (b, kind);
  json_builder_add_int_value (b, (gint64) a);
  if (leaf != NULL)
    {
      for (guint i = 0; i < HLEN; i++)
        g_snprintf (hex + 2 * i, 3, "%02x", leaf[i]);
      json_builder_set_member_name (b, "leaf_hash");
      json_builder_add_string_value (b, hex);
    }
  json_builder_set_member_name (b, leaf != NULL ? "audit_path" : "proof");
  json_builder_begin_array (b);
  for (guint i = 0; i < proof->len; i++)
    {
      const guint8 *h = (const guint8 *) proof->data + (gsize) i * HLEN;
      for (guint j = 0; j < HLEN; j++)
        g_snprintf (hex + 2 * j, 3, "%02x", h[j]);
      json_builder_add_string_value (b, hex);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);
  return strlen (text);
}

static void
remove_files (const char *prefix)
{
  g_autofree char *h = g_strconcat (prefix, ".hashes", NULL);
  g_autofree char *o = g_strconcat (prefix, ".offsets", NULL);
  g_unlink (h);
  g_unlink (o);
}

static guint64
file_bytes (const char *prefix, const char *suffix)
{
  g_autofree char *p = g_strconcat (prefix, suffix, NULL);
  GStatBuf st;
  return g_stat (p, &st) == 0 ? (guint64) st.st_size : 0;
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: %s LEAVES WORK_DIR [QUERIES]\n", argv[0]);
      return 2;
    }
  guint64 n = g_ascii_strtoull (argv[1], NULL, 10);
  guint queries = argc > 3 ? (guint) atoi (argv[3]) : 10000;
  if (n < 2 || queries == 0)
    {
      fprintf (stderr, "bench-proof: LEAVES >= 2 and QUERIES >= 1\n");
      return 2;
    }
  g_mkdir_with_parents (argv[2], 0755);
  g_autofree char *prefix = g_build_filename (argv[2], "tree", NULL);
  remove_files (prefix);
  g_autoptr (GError) error = NULL;

  /* Build. */
  gint64 t0 = strand_clock_monotonic_us ();
  {
    g_autoptr (StrandTree) tree = strand_tree_open_detached (prefix, &error);
    if (tree == NULL)
      g_error ("%s", error->message);
    guint8 leaf[HLEN];
    for (guint64 i = 0; i < n; i++)
      {
        for (guint j = 0; j < HLEN; j += 8)
          {
            guint64 r = next ();
            memcpy (leaf + j, &r, 8);
          }
        strand_tree_append (tree, leaf, i * 1600); /* a record is ~1.6 kB */
        if ((i + 1) % FLUSH_EVERY == 0 && !strand_tree_flush (tree, &error))
          g_error ("%s", error->message);
      }
    if (!strand_tree_flush (tree, &error))
      g_error ("%s", error->message);
  }
  double build_s = (double) (strand_clock_monotonic_us () - t0) / 1e6;
  guint64 hash_bytes = file_bytes (prefix, ".hashes"), offset_bytes = file_bytes (prefix, ".offsets");
  printf ("build: %" G_GUINT64_FORMAT " leaves in %.2f s, %.0f leaves/s; files %.1f MB (hashes) + "
          "%.1f MB (offsets)\n",
          n, build_s, n / build_s, hash_bytes / 1e6, offset_bytes / 1e6);

  g_autoptr (StrandTree) tree = strand_tree_open_detached (prefix, &error);
  if (tree == NULL || strand_tree_size (tree) != n)
    g_error ("reopen: %s", error ? error->message : "wrong size");
  guint8 root[HLEN];
  gint64 r0 = strand_clock_monotonic_us ();
  if (!strand_tree_root (tree, n, root, &error))
    g_error ("%s", error->message);
  printf ("root of the whole tree: %" G_GINT64_FORMAT " us\n", strand_clock_monotonic_us () - r0);

  /* Inclusion in the whole tree, then in random older trees. */
  for (guint pass = 0; pass < 2; pass++)
    {
      Series s;
      series_init (&s);
      for (guint q = 0; q < queries; q++)
        {
          guint64 size = pass == 0 ? n : 1 + below (n);
          guint64 index = below (size);
          guint8 size_root[HLEN], leaf[HLEN];
          if (pass == 0)
            memcpy (size_root, root, HLEN);
          else if (!strand_tree_root (tree, size, size_root, &error))
            g_error ("%s", error->message);
          gint64 a = strand_clock_monotonic_us ();
          g_autoptr (GArray) proof = strand_tree_inclusion_proof (tree, index, size, &error);
          gboolean got_leaf = strand_tree_leaf (tree, index, leaf, &error);
          gint64 b = strand_clock_monotonic_us ();
          if (proof == NULL || !got_leaf)
            g_error ("%s", error->message);
          gboolean ok = strand_merkle_verify_inclusion (leaf, index, size, proof, size_root);
          gint64 c = strand_clock_monotonic_us ();
          if (!ok)
            g_error ("inclusion proof of leaf %" G_GUINT64_FORMAT " in %" G_GUINT64_FORMAT " fails",
                     index, size);
          series_add (&s, b - a, c - b, proof, json_size ("leaf_index", index, leaf, proof));
        }
      series_report (&s, pass == 0 ? "inclusion, whole tree:" : "inclusion, random older tree:");
    }

  /* Consistency from random older sizes to the whole tree. */
  Series s;
  series_init (&s);
  for (guint q = 0; q < queries; q++)
    {
      guint64 m = 1 + below (n - 1);
      guint8 old_root[HLEN];
      if (!strand_tree_root (tree, m, old_root, &error))
        g_error ("%s", error->message);
      gint64 a = strand_clock_monotonic_us ();
      g_autoptr (GArray) proof = strand_tree_consistency_proof (tree, m, n, &error);
      gint64 b = strand_clock_monotonic_us ();
      if (proof == NULL)
        g_error ("%s", error->message);
      gboolean ok = strand_merkle_verify_consistency (m, n, proof, old_root, root);
      gint64 c = strand_clock_monotonic_us ();
      if (!ok)
        g_error ("consistency proof from %" G_GUINT64_FORMAT " fails", m);
      series_add (&s, b - a, c - b, proof, json_size ("old_size", m, NULL, proof));
    }
  series_report (&s, "consistency, random old size:");

  g_clear_pointer (&tree, strand_tree_close);
  remove_files (prefix);
  g_rmdir (argv[2]);
  return 0;
}
