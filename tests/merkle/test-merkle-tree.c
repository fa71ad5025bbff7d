/* The Merkle tree on disk (merkle-tree.h): its roots and proofs equal the
 * in-memory ones of merkle.h for every size and leaf up to 130 leaves,
 * flushed or not, and at random sizes of a larger tree; the ledger keeps it
 * on every append; a reopen catches up, cuts back or rebuilds it after its
 * files are deleted, truncated or damaged, or the log is cut back by torn
 * tail recovery; a read-only open refuses a tree that does not match its
 * log. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "ledger.h"
#include "merkle-tree.h"
#include "merkle.h"
#include "record-build.h"
#include "test-util.h"

#define HLEN STRAND_MERKLE_HASH_LEN

typedef struct {
  char *dir;
  char *log;
  char *prefix;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-tree-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->log = g_build_filename (f->dir, "ledger", "log.jsonl", NULL);
  f->prefix = g_build_filename (f->dir, "detached", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->log);
  g_free (f->prefix);
}

static void
make_leaf (guint64 i, guint8 out[HLEN])
{
  char text[32];
  int n = g_snprintf (text, sizeof text, "leaf %" G_GUINT64_FORMAT, i);
  strand_merkle_leaf_hash (text, (gsize) n, out);
}

static void
assert_same_proof (GArray *disk, GArray *memory)
{
  g_assert_nonnull (disk);
  g_assert_nonnull (memory);
  g_assert_cmpmem (disk->data, disk->len * HLEN, memory->data, memory->len * HLEN);
}

/* Every root, inclusion proof and consistency proof of sizes up to `n`
 * against merkle.h over `leaves`. */
static void
assert_tree_equals (StrandTree *tree, const guint8 *leaves, guint64 n)
{
  g_autoptr (GError) error = NULL;
  g_assert_cmpuint (strand_tree_size (tree), ==, n);
  for (guint64 size = 0; size <= n; size++)
    {
      guint8 disk[HLEN], memory[HLEN];
      g_assert_true (strand_tree_root (tree, size, disk, &error));
      g_assert_no_error (error);
      g_assert_true (strand_merkle_root (leaves, size, memory));
      g_assert_cmpmem (disk, HLEN, memory, HLEN);
    }
  for (guint64 m = 0; m < n; m++)
    {
      guint8 leaf[HLEN];
      g_assert_true (strand_tree_leaf (tree, m, leaf, &error));
      g_assert_cmpmem (leaf, HLEN, leaves + m * HLEN, HLEN);
      g_autoptr (GArray) disk = strand_tree_inclusion_proof (tree, m, n, &error);
      g_assert_no_error (error);
      g_autoptr (GArray) memory = strand_merkle_inclusion_proof (leaves, n, m);
      assert_same_proof (disk, memory);
    }
  for (guint64 m = 1; m <= n; m++)
    {
      g_autoptr (GArray) disk = strand_tree_consistency_proof (tree, m, n, &error);
      g_assert_no_error (error);
      g_autoptr (GArray) memory = strand_merkle_consistency_proof (leaves, n, m);
      assert_same_proof (disk, memory);
    }
}

#define SMALL_N 130

/* Grown one leaf at a time, with flushes at irregular points so that
 * proofs read from the files, the buffer and both. */
static void
test_small_sizes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *leaves = g_malloc (SMALL_N * HLEN);
  {
    g_autoptr (StrandTree) tree = strand_tree_open_detached (f->prefix, &error);
    g_assert_no_error (error);
    assert_tree_equals (tree, leaves, 0);
    for (guint64 n = 1; n <= SMALL_N; n++)
      {
        make_leaf (n - 1, leaves + (n - 1) * HLEN);
        strand_tree_append (tree, leaves + (n - 1) * HLEN, (n - 1) * 100);
        if (n % 7 == 0 || n % 11 == 3)
          {
            g_assert_true (strand_tree_flush (tree, &error));
            g_assert_no_error (error);
          }
        assert_tree_equals (tree, leaves, n);
      }
    g_assert_true (strand_tree_flush (tree, &error));
  }
  /* From the files alone. */
  g_autoptr (StrandTree) again = strand_tree_open_detached (f->prefix, &error);
  g_assert_no_error (error);
  assert_tree_equals (again, leaves, SMALL_N);

  /* What a tree does not have. */
  guint8 root[HLEN];
  g_assert_false (strand_tree_root (again, SMALL_N + 1, root, &error));
  g_assert_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_null (strand_tree_inclusion_proof (again, SMALL_N, SMALL_N, &error));
  g_assert_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_null (strand_tree_inclusion_proof (again, 0, SMALL_N + 1, &error));
  g_clear_error (&error);
  g_assert_null (strand_tree_consistency_proof (again, 0, SMALL_N, &error));
  g_assert_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_RANGE);
  g_clear_error (&error);
  g_assert_null (strand_tree_consistency_proof (again, 5, 4, &error));
  g_clear_error (&error);
}

#define LARGE_N 50000
#define RANDOM_CHECKS 150

static void
test_random_sizes (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *leaves = g_malloc ((gsize) LARGE_N * HLEN);
  for (guint64 i = 0; i < LARGE_N; i++)
    make_leaf (i, leaves + i * HLEN);
  {
    g_autoptr (StrandTree) tree = strand_tree_open_detached (f->prefix, &error);
    g_assert_no_error (error);
    for (guint64 i = 0; i < LARGE_N; i++)
      {
        strand_tree_append (tree, leaves + i * HLEN, i * 1000);
        if (i % 4096 == 4095)
          g_assert_true (strand_tree_flush (tree, &error));
      }
    g_assert_true (strand_tree_flush (tree, &error));
    g_assert_no_error (error);
  }
  g_autoptr (StrandTree) tree = strand_tree_open_detached (f->prefix, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strand_tree_size (tree), ==, LARGE_N);
  /* A fixed seed: a failure replays. */
  g_autoptr (GRand) rand = g_rand_new_with_seed (6962);
  for (guint i = 0; i < RANDOM_CHECKS; i++)
    {
      guint64 n = i == 0 ? LARGE_N : (guint64) g_rand_int_range (rand, 1, LARGE_N + 1);
      guint64 m = (guint64) g_rand_int_range (rand, 0, (gint32) n);
      guint64 old = (guint64) g_rand_int_range (rand, 1, (gint32) n + 1);
      guint8 disk[HLEN], memory[HLEN];
      g_assert_true (strand_tree_root (tree, n, disk, &error));
      strand_merkle_root (leaves, n, memory);
      g_assert_cmpmem (disk, HLEN, memory, HLEN);
      g_autoptr (GArray) inc = strand_tree_inclusion_proof (tree, m, n, &error);
      g_autoptr (GArray) inc_mem = strand_merkle_inclusion_proof (leaves, n, m);
      assert_same_proof (inc, inc_mem);
      g_assert_true (strand_merkle_verify_inclusion (leaves + m * HLEN, m, n, inc, disk));
      g_autoptr (GArray) con = strand_tree_consistency_proof (tree, old, n, &error);
      g_autoptr (GArray) con_mem = strand_merkle_consistency_proof (leaves, n, old);
      assert_same_proof (con, con_mem);
      guint8 old_root[HLEN];
      strand_merkle_root (leaves, old, old_root);
      g_assert_true (strand_merkle_verify_consistency (old, n, con, old_root, disk));
    }
}

/* ---- Kept by the ledger ---- */

static StrandKey *
make_key (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_key_create (f->dir, &error)); /* once; then it is checked */
  g_assert_no_error (error);
  StrandKey *key = strand_key_load (f->dir, &error);
  g_assert_no_error (error);
  return key;
}

/* Appends `n` event records; syncs at the end when `sync`. */
static void
append_records (Fixture *f, guint n, guint first, gboolean sync)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandKey) key = make_key (f);
  g_autoptr (StrandLedger) l = strand_ledger_open (f->dir, key, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"i\": %u, \"pad\": \"%0*u\"}", first + i,
                                               (int) (first + i) % 97, 0);
      g_autoptr (JsonNode) details = json_from_string (text, NULL);
      StrandEventFacts facts = { .event = "test", .time_us = 1795000000000000 + first + i,
                                 .details = details };
      g_autoptr (JsonNode) st = strand_statement_event (&facts);
      g_assert_cmpuint (strand_ledger_append (l, st, NULL, &error), >, 0);
      g_assert_no_error (error);
      if (sync && i % 5 == 4)
        g_assert_true (strand_ledger_sync (l, &error));
    }
  if (sync)
    g_assert_true (strand_ledger_sync (l, &error));
  g_assert_no_error (error);
}

static GArray *
memory_leaves (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  GArray *leaves = NULL;
  g_assert_true (strand_merkle_build (f->log, &leaves, &error));
  g_assert_no_error (error);
  return leaves;
}

/* The tree beside the log, read-only, equals the log's in-memory tree. */
static void
assert_matches_log (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) leaves = memory_leaves (f);
  g_autoptr (StrandTree) tree = strand_tree_open_readonly (f->log, &error);
  g_assert_no_error (error);
  assert_tree_equals (tree, (const guint8 *) leaves->data, leaves->len);
  /* Each leaf's line is the log's. */
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (f->log, &contents, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; i < leaves->len; i++)
    {
      gsize len = 0;
      g_autofree char *line = strand_tree_line (tree, i, &len, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (line, ==, lines[i]);
      g_assert_cmpuint (len, ==, strlen (lines[i]));
    }
}

static StrandTreeInfo
reopen_tree (Fixture *f, StrandTreeInfo *info, char **reason)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandTree) tree = strand_tree_open (f->log, &error);
  g_assert_no_error (error);
  strand_tree_info (tree, info);
  *reason = g_strdup (info->rebuild_reason);
  return *info;
}

static void
test_ledger_keeps_it (Fixture *f, gconstpointer data)
{
  append_records (f, 23, 0, TRUE);
  assert_matches_log (f);
  append_records (f, 9, 23, TRUE);
  assert_matches_log (f);
  /* Nothing to do on a reopen. */
  StrandTreeInfo info;
  g_autofree char *reason = NULL;
  reopen_tree (f, &info, &reason);
  g_assert_null (reason);
  g_assert_cmpuint (info.added, ==, 0);
  g_assert_cmpuint (info.cut, ==, 0);
}

static void
truncate_file (const char *path, goffset size)
{
  g_assert_cmpint (truncate (path, size), ==, 0);
}

static goffset
size_of (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

static void
test_rebuilt (Fixture *f, gconstpointer data)
{
  append_records (f, 40, 0, TRUE);
  g_autofree char *hashes = g_build_filename (f->dir, "ledger", "tree.hashes", NULL);
  g_autofree char *offsets = g_build_filename (f->dir, "ledger", "tree.offsets", NULL);
  g_assert_true (g_file_test (hashes, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (offsets, G_FILE_TEST_EXISTS));
  StrandTreeInfo info;

  /* Deleted: rebuilt from the log by the next open of the ledger. */
  strand_tree_remove_files (f->log);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandTree) none = strand_tree_open_readonly (f->log, &error);
  g_assert_null (none);
  g_assert_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_STALE);
  g_clear_error (&error);
  append_records (f, 0, 40, TRUE);
  assert_matches_log (f);
  {
    g_autofree char *reason = NULL;
    strand_tree_remove_files (f->log);
    reopen_tree (f, &info, &reason);
    g_assert_cmpstr (reason, ==, "no tree yet");
    g_assert_cmpuint (info.added, ==, 40);
  }

  /* Cut anywhere, even inside a hash: caught up, not rebuilt. */
  goffset full_h = size_of (hashes), full_o = size_of (offsets);
  static const goffset cuts_h[] = { 32, 32 + 32 * 5 + 7, 32 + 32 * 41, -1 };
  static const goffset cuts_o[] = { -1, 32 + 8 * 30, 32 + 3, 32 };
  for (guint i = 0; i < G_N_ELEMENTS (cuts_h); i++)
    {
      if (cuts_h[i] >= 0)
        truncate_file (hashes, cuts_h[i]);
      if (cuts_o[i] >= 0)
        truncate_file (offsets, cuts_o[i]);
      g_autofree char *reason = NULL;
      reopen_tree (f, &info, &reason);
      g_assert_null (reason);
      g_assert_cmpuint (info.added, >, 0);
      g_assert_cmpint (size_of (hashes), ==, full_h);
      g_assert_cmpint (size_of (offsets), ==, full_o);
      assert_matches_log (f);
    }

  /* A damaged header, or a leaf that is not its line: rebuilt. */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (hashes, &bytes, &len, NULL));
  bytes[3] ^= 0x20;
  g_assert_true (g_file_set_contents (hashes, bytes, (gssize) len, NULL));
  {
    g_autoptr (StrandTree) ro = strand_tree_open_readonly (f->log, &error);
    g_assert_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_STALE);
    g_clear_error (&error);
    g_autofree char *reason = NULL;
    reopen_tree (f, &info, &reason);
    g_assert_cmpstr (reason, ==, "a tree file was damaged");
    g_assert_cmpuint (info.added, ==, 40);
  }
  assert_matches_log (f);
  /* The last leaf (39) follows the 2 * 39 - popcount(39) = 74 hashes of the
   * tree of 39 leaves, after the 32-byte header; leaf 38 follows 73. A last
   * leaf that is not its line is taken again from the log... */
  g_clear_pointer (&bytes, g_free);
  g_assert_true (g_file_get_contents (hashes, &bytes, &len, NULL));
  bytes[32 + 32 * 74 + 9] ^= 0x01;
  g_assert_true (g_file_set_contents (hashes, bytes, (gssize) len, NULL));
  {
    g_autoptr (StrandTree) ro = strand_tree_open_readonly (f->log, &error);
    g_assert_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_STALE);
    g_clear_error (&error);
    g_autofree char *reason = NULL;
    reopen_tree (f, &info, &reason);
    g_assert_null (reason);
    g_assert_cmpuint (info.cut, ==, 1);
    g_assert_cmpuint (info.added, ==, 1);
  }
  assert_matches_log (f);
  /* ... and when the one before is not either, the tree is rebuilt. */
  bytes[32 + 32 * 73 + 9] ^= 0x01;
  g_assert_true (g_file_set_contents (hashes, bytes, (gssize) len, NULL));
  {
    g_autofree char *reason = NULL;
    reopen_tree (f, &info, &reason);
    g_assert_cmpstr (reason, ==, "the tree does not match the log");
    g_assert_cmpuint (info.added, ==, 40);
  }
  assert_matches_log (f);

  /* Another log in its place (another key, other records): rebuilt. */
  g_autofree char *other = g_build_filename (f->dir, "other", NULL);
  {
    Fixture o = { other, g_build_filename (other, "ledger", "log.jsonl", NULL), NULL };
    append_records (&o, 45, 1000, TRUE);
    g_autofree char *log_bytes = NULL;
    g_assert_true (g_file_get_contents (o.log, &log_bytes, &len, NULL));
    g_assert_true (g_file_set_contents (f->log, log_bytes, (gssize) len, NULL));
    g_free (o.log);
  }
  {
    g_autofree char *reason = NULL;
    reopen_tree (f, &info, &reason);
    g_assert_cmpstr (reason, ==, "the tree does not match the log");
    g_assert_cmpuint (info.added, ==, 45);
  }
  assert_matches_log (f);
}

/* A crash tears the last record: the ledger cuts it on open, and the tree
 * loses the leaves whose lines went with it. */
static void
test_torn_tail (Fixture *f, gconstpointer data)
{
  append_records (f, 12, 0, TRUE);
  g_autoptr (GArray) before = memory_leaves (f);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (f->log, &contents, &len, NULL));
  /* Cut in the middle of record 11 (leaf 10). */
  const char *p = contents;
  for (guint i = 0; i < 10; i++)
    p = strchr (p, '\n') + 1;
  goffset record11 = p - contents;
  truncate_file (f->log, record11 + 40);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (StrandKey) key = make_key (f);
    guint64 recovered = 0;
    g_autoptr (StrandLedger) l = strand_ledger_open (f->dir, key, &recovered, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (recovered, ==, 40);
    g_assert_cmpuint (strand_ledger_last_seq (l), ==, 10);
  }
  g_autoptr (GArray) after = memory_leaves (f);
  g_assert_cmpuint (after->len, ==, 10);
  g_assert_cmpmem (after->data, 10 * HLEN, before->data, 10 * HLEN);
  assert_matches_log (f);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandTree) tree = strand_tree_open_readonly (f->log, &error);
  g_assert_cmpuint (strand_tree_size (tree), ==, 10);
  g_clear_pointer (&tree, strand_tree_close);

  /* And it grows again from there. */
  append_records (f, 6, 100, TRUE);
  assert_matches_log (f);

  /* A tree left longer than the log by other means is cut back too. */
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (f->log, &contents, &len, NULL));
  truncate_file (f->log, (goffset) (g_strrstr_len (contents, (gssize) len - 2, "\n") - contents) + 1);
  StrandTreeInfo info;
  g_autofree char *reason = NULL;
  reopen_tree (f, &info, &reason);
  g_assert_null (reason);
  g_assert_cmpuint (info.cut, ==, 1);
  assert_matches_log (f);
}

/* Records appended and not synced never reach the tree; the next open
 * takes them from the log. */
static void
test_unsynced (Fixture *f, gconstpointer data)
{
  append_records (f, 7, 0, TRUE);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (StrandKey) key = make_key (f);
    g_autoptr (StrandLedger) l = strand_ledger_open (f->dir, key, NULL, &error);
    g_autoptr (JsonNode) details = json_from_string ("{\"x\": 1}", NULL);
    StrandEventFacts facts = { .event = "test", .time_us = 1795000000000000, .details = details };
    g_autoptr (JsonNode) st = strand_statement_event (&facts);
    g_assert_cmpuint (strand_ledger_append (l, st, NULL, &error), ==, 8);
    g_autoptr (StrandTree) tree = strand_tree_open_readonly (f->log, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (strand_tree_size (tree), ==, 7);
    g_assert_true (strand_ledger_sync (l, &error));
    g_clear_pointer (&tree, strand_tree_close);
    tree = strand_tree_open_readonly (f->log, &error);
    g_assert_cmpuint (strand_tree_size (tree), ==, 8);
  }
  assert_matches_log (f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/merkle-tree/small-sizes", Fixture, NULL, fixture_setup, test_small_sizes,
              fixture_teardown);
  g_test_add ("/merkle-tree/random-sizes", Fixture, NULL, fixture_setup, test_random_sizes,
              fixture_teardown);
  g_test_add ("/merkle-tree/ledger-keeps-it", Fixture, NULL, fixture_setup, test_ledger_keeps_it,
              fixture_teardown);
  g_test_add ("/merkle-tree/rebuilt", Fixture, NULL, fixture_setup, test_rebuilt,
              fixture_teardown);
  g_test_add ("/merkle-tree/torn-tail", Fixture, NULL, fixture_setup, test_torn_tail,
              fixture_teardown);
  g_test_add ("/merkle-tree/unsynced", Fixture, NULL, fixture_setup, test_unsynced,
              fixture_teardown);
  return g_test_run ();
}
