/* Directories in the store (store-tree.h): a run folder stored as a tree,
 * handed on as a view of links, copied out, and manifests from a damaged or
 * hostile store refused with the reason. */
#include "store-tree.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"

typedef struct {
  char *dir;
  StrandStore *store;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-tree-XXXXXX", NULL);
  g_autofree char *store_dir = g_build_filename (f->dir, "store", NULL);
  g_autoptr (GError) error = NULL;
  f->store = strand_store_open (store_dir, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_store_close (f->store);
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
put (const char *root, const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (parent, 0750), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

/* A small run folder: nested directories, an empty one, an executable, two
 * files with the same bytes. */
static char *
make_run_folder (Fixture *f, const char *name)
{
  char *root = g_build_filename (f->dir, name, NULL);
  put (root, "RunInfo.xml", "<RunInfo/>\n");
  put (root, "Data/Intensities/BaseCalls/L001/C1.1/s_1_1101.bcl", "cycle 1");
  put (root, "Data/Intensities/BaseCalls/L001/C2.1/s_1_1101.bcl", "cycle 1");
  put (root, "run.sh", "#!/bin/sh\n");
  g_autofree char *script = g_build_filename (root, "run.sh", NULL);
  g_chmod (script, 0755);
  g_autofree char *empty = g_build_filename (root, "Logs", NULL);
  g_mkdir (empty, 0750);
  return root;
}

static void
test_ingest_and_view (Fixture *f, gconstpointer data)
{
  g_autofree char *root = make_run_folder (f, "run1");
  g_autoptr (GError) error = NULL;
  StrandObjectInfo info;
  g_autoptr (StrandDirTree) tree = NULL;
  g_assert_true (strand_store_ingest_tree (f->store, root, FALSE, &info, &tree, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tree->entries->len, ==, 4);
  g_assert_cmpuint (tree->dirs->len, ==, 7);
  g_assert_cmpuint (tree->bytes, ==, 11 + 7 + 7 + 10);
  g_assert_true (strand_store_is_tree (f->store, info.sha256));

  /* Same bytes, another folder: the same tree, nothing new stored. */
  g_autofree char *copy = make_run_folder (f, "run2");
  StrandObjectInfo again;
  g_assert_true (strand_store_ingest_tree (f->store, copy, FALSE, &again, NULL, &error));
  g_assert_cmpstr (again.sha256, ==, info.sha256);
  StrandStoreUsage usage;
  strand_store_usage (f->store, &usage);
  g_assert_cmpuint (usage.objects, ==, 4); /* 3 distinct files + the manifest */

  /* The view: links to objects that read as the files did. */
  g_autofree char *view = g_build_filename (f->dir, "view", NULL);
  g_assert_true (strand_store_link_tree (f->store, info.sha256, view, &error));
  g_autofree char *bcl = g_build_filename (view, "Data/Intensities/BaseCalls/L001/C2.1/s_1_1101.bcl", NULL);
  g_assert_true (g_file_test (bcl, G_FILE_TEST_IS_SYMLINK));
  g_autofree char *bytes = NULL;
  g_assert_true (g_file_get_contents (bcl, &bytes, NULL, NULL));
  g_assert_cmpstr (bytes, ==, "cycle 1");
  struct stat st;
  g_assert_cmpint (stat (bcl, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0222, ==, 0); /* objects are read-only */
  g_autofree char *logs = g_build_filename (view, "Logs", NULL);
  g_assert_true (g_file_test (logs, G_FILE_TEST_IS_DIR));

  /* A copy out keeps the executable bit. */
  g_autofree char *out = g_build_filename (f->dir, "out", NULL);
  g_assert_true (strand_store_materialize_tree (f->store, info.sha256, out, &error));
  g_assert_no_error (error);
  g_autofree char *script = g_build_filename (out, "run.sh", NULL);
  g_assert_true (g_file_test (script, G_FILE_TEST_IS_EXECUTABLE));
  g_assert_false (g_file_test (script, G_FILE_TEST_IS_SYMLINK));

  /* gc's view: the manifest keeps its members alive. */
  g_autoptr (GHashTable) live = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (live, g_strdup (info.sha256));
  strand_store_add_tree_members (f->store, live);
  g_assert_cmpuint (g_hash_table_size (live), ==, 4);
}

/* A stage's output may not smuggle links or special files into a tree. */
static void
test_refuses_links (Fixture *f, gconstpointer data)
{
  g_autofree char *root = make_run_folder (f, "run");
  g_autofree char *link = g_build_filename (root, "Data", "passwd", NULL);
  g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
  g_autoptr (GError) error = NULL;
  StrandObjectInfo info;
  g_assert_false (strand_store_ingest_tree (f->store, root, FALSE, &info, NULL, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "Data/passwd"));
  g_assert_nonnull (strstr (error->message, "symbolic link"));
  g_clear_error (&error);
  g_assert_false (strand_store_ingest_tree (f->store, link, FALSE, &info, NULL, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
}

#define SHA_A "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"

/* Manifests read from a store are hostile input: each fault is named. */
static void
test_hostile_manifests (Fixture *f, gconstpointer data)
{
  static const struct {
    const char *json;
    const char *fault;
  } cases[] = {
    { "{\"dirs\":[],\"entries\":[{\"mode\":\"0644\",\"path\":\"../x\",\"sha256\":\"" SHA_A "\",\"size\":1}],\"strand_tree\":1}", "safe relative path" },
    { "{\"dirs\":[],\"entries\":[{\"mode\":\"0644\",\"path\":\"/etc/x\",\"sha256\":\"" SHA_A "\",\"size\":1}],\"strand_tree\":1}", "safe relative path" },
    { "{\"dirs\":[],\"entries\":[{\"mode\":\"0644\",\"path\":\"a//b\",\"sha256\":\"" SHA_A "\",\"size\":1}],\"strand_tree\":1}", "safe relative path" },
    { "{\"dirs\":[\"..\"],\"entries\":[],\"strand_tree\":1}", "dirs[0]" },
    { "{\"dirs\":[\"b\",\"a\"],\"entries\":[],\"strand_tree\":1}", "out of order" },
    { "{\"dirs\":[],\"entries\":[{\"mode\":\"0644\",\"path\":\"a\",\"sha256\":\"" SHA_A "\",\"size\":1},{\"mode\":\"0644\",\"path\":\"a\",\"sha256\":\"" SHA_A "\",\"size\":1}],\"strand_tree\":1}", "out of order or repeated" },
    { "{\"dirs\":[],\"entries\":[{\"mode\":\"0644\",\"path\":\"d/a\",\"sha256\":\"" SHA_A "\",\"size\":1}],\"strand_tree\":1}", "is not listed" },
    { "{\"dirs\":[\"a\"],\"entries\":[{\"mode\":\"0644\",\"path\":\"a\",\"sha256\":\"" SHA_A "\",\"size\":1}],\"strand_tree\":1}", "both a file and a directory" },
    { "{\"dirs\":[],\"entries\":[{\"mode\":\"4755\",\"path\":\"a\",\"sha256\":\"" SHA_A "\",\"size\":1}],\"strand_tree\":1}", "mode" },
    { "{\"dirs\":[],\"entries\":[{\"mode\":\"0644\",\"path\":\"a\",\"sha256\":\"xyz\",\"size\":1}],\"strand_tree\":1}", "sha256" },
    { "{\"dirs\":[],\"entries\":[{\"mode\":\"0644\",\"path\":\"a\",\"sha256\":\"" SHA_A "\",\"size\":-1}],\"strand_tree\":1}", "size" },
    { "{\"dirs\":[],\"entries\":[],\"strand_tree\":2}", "not 1" },
    { "{\"dirs\":[],\"entries\":[],\"strand_tree\":1,\"x\":0}", "unexpected" },
    { "{\"dirs\":[],\"entries\":[", "not a valid tree" },
    { "[1,2,3]", "does not start" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (StrandDirTree) tree = strand_dir_tree_parse (cases[i].json, strlen (cases[i].json), &error);
      g_assert_null (tree);
      g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
      if (strstr (error->message, cases[i].fault) == NULL)
        g_error ("case %u: '%s' does not say '%s'", i, error->message, cases[i].fault);
    }
  /* A hostile tree never writes outside its view. */
  const char *evil = cases[0].json;
  StrandObjectInfo info;
  g_autoptr (StrandStoreWriter) w = strand_store_writer_new (f->store, NULL);
  g_assert_true (strand_store_writer_write (w, evil, strlen (evil), NULL));
  g_assert_true (strand_store_writer_commit (g_steal_pointer (&w), &info, NULL));
  g_assert_false (strand_store_is_tree (f->store, info.sha256));
  g_autofree char *view = g_build_filename (f->dir, "sub", "view", NULL);
  g_autofree char *sub = g_build_filename (f->dir, "sub", NULL);
  g_mkdir (sub, 0750);
  g_autoptr (GError) error = NULL;
  g_assert_false (strand_store_link_tree (f->store, info.sha256, view, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
  g_autofree char *escaped = g_build_filename (sub, "x", NULL);
  g_assert_false (g_file_test (escaped, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (view, G_FILE_TEST_EXISTS));
}

/* A view of a tree whose member was lost says which. */
static void
test_missing_member (Fixture *f, gconstpointer data)
{
  g_autofree char *root = make_run_folder (f, "run");
  StrandObjectInfo info;
  g_autoptr (StrandDirTree) tree = NULL;
  g_assert_true (strand_store_ingest_tree (f->store, root, FALSE, &info, &tree, NULL));
  const StrandDirEntry *e = tree->entries->pdata[0];
  g_assert_true (strand_store_remove (f->store, e->sha256, NULL));
  g_autofree char *view = g_build_filename (f->dir, "view", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_false (strand_store_link_tree (f->store, info.sha256, view, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, e->path));
}

/* One view per tree for every task that reads it: built once, then found;
 * a task's staged folder adopted as the view instead of a rebuild; views of
 * trees no longer live pruned. */
static void
test_shared_views (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = make_run_folder (f, "run1");
  StrandObjectInfo info;
  g_assert_true (strand_store_ingest_tree (f->store, root, FALSE, &info, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *view = NULL;
  g_assert_true (strand_store_tree_view (f->store, info.sha256, &view, &error));
  g_assert_no_error (error);
  g_autofree char *bcl = g_build_filename (view, "Data/Intensities/BaseCalls/L001/C2.1/s_1_1101.bcl", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (bcl, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "cycle 1");
  struct stat before, after;
  g_assert_cmpint (lstat (bcl, &before), ==, 0);
  g_autofree char *again = NULL;
  g_assert_true (strand_store_tree_view (f->store, info.sha256, &again, &error));
  g_assert_cmpstr (again, ==, view);
  g_assert_cmpint (lstat (bcl, &after), ==, 0);
  g_assert_cmpuint (before.st_ino, ==, after.st_ino); /* found, not rebuilt */

  /* A second tree: its staged folder becomes its view as it is. */
  g_autofree char *root2 = make_run_folder (f, "run2");
  put (root2, "extra.txt", "more\n");
  char sha[65];
  g_assert_true (strand_store_digest_tree (f->store, root2, sha, NULL, &error));
  g_assert_true (strand_store_put_tree (f->store, root2, sha, TRUE, &info, &error));
  g_assert_no_error (error);
  g_assert_true (strand_store_adopt_view (f->store, sha, root2));
  g_assert_false (g_file_test (root2, G_FILE_TEST_EXISTS));
  g_autofree char *view2 = NULL;
  g_assert_true (strand_store_tree_view (f->store, sha, &view2, &error));
  g_autofree char *extra = g_build_filename (view2, "extra.txt", NULL);
  g_assert_true (g_file_test (extra, G_FILE_TEST_IS_REGULAR));
  g_autofree char *root3 = make_run_folder (f, "run3");
  g_assert_false (strand_store_adopt_view (f->store, sha, root3)); /* one view per tree */
  g_assert_true (g_file_test (root3, G_FILE_TEST_IS_DIR));

  /* Only the first tree is live: the second's view goes. */
  g_autoptr (GHashTable) live = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (live, g_path_get_basename (view));
  g_assert_cmpuint (strand_store_prune_views (f->store, live), ==, 1);
  g_assert_true (g_file_test (view, G_FILE_TEST_IS_DIR));
  g_assert_false (g_file_test (view2, G_FILE_TEST_EXISTS));
}

/* In a batch, objects are stored and readable at once; once it ends the
 * syncer makes them durable in one go, and sync_wait() waits for it;
 * batches nest. */
static void
test_batch (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  strand_store_begin_batch (f->store);
  strand_store_begin_batch (f->store);
  g_autofree char *root = make_run_folder (f, "batched");
  StrandObjectInfo info;
  g_assert_true (strand_store_ingest_tree (f->store, root, TRUE, &info, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (strand_store_end_batch (f->store, &error)); /* inner: nothing yet */
  g_assert_true (strand_store_verify (f->store, info.sha256, &error));
  g_assert_true (strand_store_end_batch (f->store, &error));
  g_assert_no_error (error);
  g_assert_true (strand_store_sync_wait (f->store, &error)); /* the syncer's syncfs() */
  g_assert_no_error (error);
  g_autoptr (StrandDirTree) tree = strand_store_read_tree (f->store, info.sha256, &error);
  g_assert_nonnull (tree);
  for (guint i = 0; i < tree->entries->len; i++)
    g_assert_true (strand_store_verify (f->store, ((StrandDirEntry *) tree->entries->pdata[i])->sha256,
                                        &error));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/store-tree/ingest-and-view", Fixture, NULL, fixture_setup, test_ingest_and_view, fixture_teardown);
  g_test_add ("/store-tree/refuses-links", Fixture, NULL, fixture_setup, test_refuses_links, fixture_teardown);
  g_test_add ("/store-tree/hostile-manifests", Fixture, NULL, fixture_setup, test_hostile_manifests, fixture_teardown);
  g_test_add ("/store-tree/missing-member", Fixture, NULL, fixture_setup, test_missing_member, fixture_teardown);
  g_test_add ("/store-tree/shared-views", Fixture, NULL, fixture_setup, test_shared_views, fixture_teardown);
  g_test_add ("/store-tree/batch", Fixture, NULL, fixture_setup, test_batch, fixture_teardown);
  return g_test_run ();
}
