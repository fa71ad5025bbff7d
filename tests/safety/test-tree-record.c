/* Directory outputs follow the rule every output does: visible in the store
 * only after a durable record names them. The store's two passes (digest,
 * then put) store nothing in the first and only the recorded tree in the
 * second; a host killed at every record of a run leaves no tree member or
 * manifest that no recorded tree accounts for, sometimes a recorded tree
 * not yet stored, and `--resume` completes the run to a clean run's digests
 * with a store that gc keeps and verify passes. */
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner-cache.h"
#include "store-tree.h"
#include "test-run.h"
#include "test-util.h"

static char *tmp;

static void
write_file (const char *dir, const char *rel, const char *text, int mode)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_mkdir_with_parents (parent, 0750);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static gboolean
count_object (const char *sha256, guint64 size, gpointer data)
{
  (*(guint *) data)++;
  return TRUE;
}

static guint
objects_in (StrandStore *store)
{
  guint n = 0;
  strand_store_foreach (store, count_object, &n);
  return n;
}

/* ---- the two passes --------------------------------------------------------------- */

static void
make_run_folder (const char *dir)
{
  write_file (dir, "RunInfo.txt", "run 7\n", 0644);
  write_file (dir, "Data/lane1.bcl", "ACGTACGT\n", 0640);
  write_file (dir, "Data/lane2.bcl", "TTTTGGGG\n", 0644);
  write_file (dir, "bin/demux.sh", "#!/bin/sh\n", 0755);
  g_autofree char *empty = g_build_filename (dir, "Data", "empty", NULL);
  g_mkdir_with_parents (empty, 0750);
}

/* Digesting stores nothing and seals the files (an executable stays one);
 * putting stores the tree a one-pass ingest would, its members hard links
 * of the sealed files; a directory changed in between is refused and its
 * manifest not stored. */
static void
test_digest_then_put (void)
{
  g_autofree char *root = strand_test_fresh_dir (tmp, "passes");
  g_autofree char *dir = g_build_filename (root, "RunFolder", NULL);
  g_autofree char *twin = g_build_filename (root, "Twin", NULL);
  make_run_folder (dir);
  make_run_folder (twin);
  g_autofree char *store_dir = g_build_filename (root, "store", NULL);
  g_autofree char *other_dir = g_build_filename (root, "other", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandStore) store = strand_store_open (store_dir, &error);
  g_autoptr (StrandStore) other = strand_store_open (other_dir, &error);
  g_assert_no_error (error);

  char sha[65];
  g_autoptr (StrandDirTree) listed = NULL;
  g_assert_true (strand_store_digest_tree (store, dir, sha, &listed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (listed->entries->len, ==, 4);
  g_assert_cmpuint (listed->bytes, ==, 6 + 9 + 9 + 10);
  g_assert_cmpuint (objects_in (store), ==, 0);
  GStatBuf st;
  g_autofree char *lane1 = g_build_filename (dir, "Data", "lane1.bcl", NULL);
  g_autofree char *script = g_build_filename (dir, "bin", "demux.sh", NULL);
  g_assert_cmpint (g_stat (lane1, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0444);
  g_assert_cmpint (g_stat (script, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0555);

  StrandObjectInfo one_pass;
  g_assert_true (strand_store_ingest_tree (other, twin, FALSE, &one_pass, NULL, &error));
  g_assert_cmpstr (one_pass.sha256, ==, sha);

  StrandObjectInfo info;
  g_assert_true (strand_store_put_tree (store, dir, sha, TRUE, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (info.sha256, ==, sha);
  g_assert_cmpuint (objects_in (store), ==, 5);
  g_autoptr (StrandDirTree) stored = strand_store_read_tree (store, sha, &error);
  g_assert_no_error (error);
  const StrandDirEntry *e = stored->entries->pdata[3];
  g_assert_cmpstr (e->path, ==, "bin/demux.sh");
  g_assert_true (e->executable);
  /* The member is the sealed file itself: linked, not copied. */
  const StrandDirEntry *l1 = stored->entries->pdata[0];
  g_assert_cmpstr (l1->path, ==, "Data/lane1.bcl");
  g_autofree char *object = strand_store_object_path (store, l1->sha256);
  GStatBuf ost;
  g_assert_cmpint (g_stat (object, &ost), ==, 0);
  g_assert_cmpint (g_stat (lane1, &st), ==, 0);
  g_assert_cmpuint (ost.st_ino, ==, st.st_ino);

  /* Changed after its digest was taken: refused, no manifest stored. */
  g_autofree char *dir2 = g_build_filename (root, "Changed", NULL);
  make_run_folder (dir2);
  write_file (dir2, "Data/extra.bcl", "extra\n", 0644);
  char sha2[65];
  g_assert_true (strand_store_digest_tree (store, dir2, sha2, NULL, &error));
  write_file (dir2, "Data/late.bcl", "late\n", 0644);
  g_assert_false (strand_store_put_tree (store, dir2, sha2, TRUE, &info, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "changed since its digest was taken"));
  g_clear_error (&error);
  g_assert_false (strand_store_contains (store, sha2));

  /* A link in the folder is refused by the digest pass, naming it. */
  g_autofree char *dir3 = g_build_filename (root, "Linked", NULL);
  make_run_folder (dir3);
  g_autofree char *link = g_build_filename (dir3, "Data", "link.bcl", NULL);
  g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
  g_assert_false (strand_store_digest_tree (store, dir3, sha2, NULL, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "link.bcl"));
}

/* ---- a host killed at every record -------------------------------------------------- */

/* How many tasks of `stage` the run reused. */
static guint
reused_of (const char *json_text, const char *stage)
{
  g_autoptr (JsonObject) report = strand_test_parse_object (json_text);
  JsonArray *tasks = json_object_get_array_member (report, "tasks");
  guint n = 0;
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      n += strcmp (json_object_get_string_member (t, "stage"), stage) == 0 &&
           strcmp (json_object_get_string_member (t, "status"), "cached") == 0;
    }
  return n;
}

static gboolean
collect_named (JsonObject *st, guint64 seq, gpointer data)
{
  JsonNode *sn = json_object_get_member (st, "subject");
  JsonArray *a = sn && JSON_NODE_HOLDS_ARRAY (sn) ? json_node_get_array (sn) : NULL;
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      const char *sha = strand_statement_string (json_node_get_object (json_array_get_element (a, i)),
                                                 "digest.sha256");
      if (sha)
        g_hash_table_add (data, g_strdup (sha));
    }
  return TRUE;
}

typedef struct {
  GHashTable *named;    /* digests records name */
  GHashTable *accounted; /* those, and the members of named trees in the store */
} Accounts;

static gboolean
object_accounted (const char *sha256, guint64 size, gpointer data)
{
  Accounts *a = data;
  if (!g_hash_table_contains (a->accounted, sha256))
    g_error ("object %s is in the store, but no record names it or a tree that holds it", sha256);
  return TRUE;
}

/* Every object in `store_dir` is named by a record or belongs to a named
 * tree that is stored whole; returns how many trees in `trees` are named
 * but not stored yet. */
static guint
check_store (const char *store_dir, GHashTable *trees)
{
  g_autoptr (GError) error = NULL;
  Accounts a = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), NULL };
  g_assert_true (strand_ledger_foreach_statement (store_dir, collect_named, a.named, &error));
  g_assert_no_error (error);
  a.accounted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (StrandStore) store = strand_store_open (store_dir, &error);
  g_assert_no_error (error);
  guint unstored = 0;
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, a.named);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      g_hash_table_add (a.accounted, g_strdup (key));
      if (!g_hash_table_contains (trees, key))
        continue;
      if (!strand_store_contains (store, key))
        {
          unstored++;
          continue;
        }
      g_autoptr (StrandDirTree) tree = strand_store_read_tree (store, key, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < tree->entries->len; i++)
        {
          const StrandDirEntry *e = tree->entries->pdata[i];
          if (!strand_store_contains (store, e->sha256))
            g_error ("tree %s is stored without its member %s", (char *) key, e->path);
          g_hash_table_add (a.accounted, g_strdup (e->sha256));
        }
    }
  strand_store_foreach (store, object_accounted, &a);
  g_hash_table_unref (a.named);
  g_hash_table_unref (a.accounted);
  return unstored;
}

static void
test_kill_at_every_record (void)
{
  g_autofree char *dir = strand_test_fresh_dir (tmp, "kills");
  g_autofree char *sheet = g_build_filename (dir, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}, {\"id\": \"B\"}]}", -1, NULL));
  g_autofree char *pipeline = g_build_filename (dir, "p.json", NULL);
  g_assert_true (g_file_set_contents (pipeline,
      "{\"name\": \"trees\", \"stages\": ["
      " {\"id\": \"sequence\", \"plugin\": \"tree-stage\", \"params\": {\"seed\": 3}},"
      " {\"id\": \"list\", \"plugin\": \"tree-read\"}],"
      " \"edges\": [{\"from\": \"sequence.run\", \"to\": \"list.run\"}]}", -1, NULL));
  g_autoptr (GHashTable) trees = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *clean_store = g_build_filename (dir, "clean", NULL);
  g_autofree char *clean_out = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &clean_out, NULL, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_SAFETY_PLUGIN_DIR, "--store", clean_store, "--json", NULL), ==, 0);
  g_autofree char *clean = strand_test_cli_digests (clean_out, trees);
  g_assert_cmpuint (g_hash_table_size (trees), ==, 2);
  g_assert_cmpuint (check_store (clean_store, trees), ==, 0);

  guint kills = 0, unstored_seen = 0;
  for (guint n = 1;; n++)
    {
      g_autofree char *name = g_strdup_printf ("store%u", n);
      g_autofree char *store = g_build_filename (dir, name, NULL);
      g_autofree char *spec = g_strdup_printf ("kill-host:record=%u", n);
      int rc = strand_test_cli (spec, NULL, NULL, "run", pipeline, "--samples", sheet, "-P",
                                STRAND_SAFETY_PLUGIN_DIR, "--store", store, "--json", NULL);
      if (rc != 128 + SIGKILL)
        {
          g_assert_cmpint (rc, ==, 0); /* past the run's last record */
          break;
        }
      kills++;
      guint unstored = check_store (store, trees);
      unstored_seen += unstored;
      g_autofree char *out = NULL;
      g_assert_cmpint (strand_test_cli (NULL, &out, NULL, "run", pipeline, "--samples", sheet, "-P",
                                        STRAND_SAFETY_PLUGIN_DIR, "--store", store, "--resume", "--json",
                                        NULL), ==, 0);
      g_autofree char *resumed = strand_test_cli_digests (out, NULL);
      g_assert_cmpstr (resumed, ==, clean);
      /* A recorded tree left in its staged folder is stored on resume, and
       * the task that made it is reused, not run again. */
      if (unstored > 0)
        g_assert_cmpuint (reused_of (out, "sequence"), >=, unstored);
      g_assert_cmpuint (check_store (store, trees), ==, 0);
      g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "verify", "--store", store, NULL), ==, 0);
      g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "gc", "--store", store, NULL), ==, 0);
      g_assert_cmpuint (check_store (store, trees), ==, 0);
      g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "verify", "--store", store, NULL), ==, 0);
    }
  g_test_message ("%u host kills; %u left a recorded tree not yet stored", kills, unstored_seen);
  g_assert_cmpuint (kills, >=, 4);
  /* Killed between a tree's record and its publish: recorded, not stored. */
  g_assert_cmpuint (unstored_seen, >=, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-trees-XXXXXX", NULL);
  g_test_add_func ("/tree-record/digest-then-put", test_digest_then_put);
  g_test_add_func ("/tree-record/kill-at-every-record", test_kill_at_every_record);
  int rc = g_test_run ();
  strand_test_remove_tree (tmp);
  g_free (tmp);
  return rc;
}
