#include "store-tree.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonical-json.h"
#include "digest.h"
#include "fs-util.h"

#define TREE_MAGIC "{\"dirs\":["
/* Far above any real listing (a NovaSeq run folder lists ~10^5 files), low
 * enough that a hostile object cannot make us parse gigabytes as a tree. */
#define TREE_MAX_BYTES (256u << 20)

static void
entry_free (gpointer p)
{
  StrandDirEntry *e = p;
  g_free (e->path);
  g_free (e);
}

static StrandDirTree *
tree_new (void)
{
  StrandDirTree *tree = g_new0 (StrandDirTree, 1);
  tree->dirs = g_ptr_array_new_with_free_func (g_free);
  tree->entries = g_ptr_array_new_with_free_func (entry_free);
  return tree;
}

void
strand_dir_tree_free (StrandDirTree *tree)
{
  if (tree == NULL)
    return;
  g_ptr_array_unref (tree->dirs);
  g_ptr_array_unref (tree->entries);
  g_free (tree);
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(StrandDirEntry *const *) a)->path, (*(StrandDirEntry *const *) b)->path);
}

/* ---- storing a directory -------------------------------------------------- */

/* What a walk does with each file: store it, or only learn its digest. */
typedef enum {
  PASS_STORE,
  PASS_DIGEST,
} TreePass;

/* One file of the tree: its digest and size in `info`. The digest pass
 * first takes the file's write bits away (0444, or 0555 for an executable):
 * what is hashed is then what will be stored, and a 0444 file can become
 * the store's object by a hard link. */
static gboolean
member (StrandStore *store, const char *path, const struct stat *st, TreePass pass,
        gboolean allow_link, StrandObjectInfo *info, GError **error)
{
  if (pass == PASS_STORE)
    return strand_store_ingest_file (store, path, allow_link, info, error);
  mode_t sealed = (st->st_mode & S_IXUSR) ? 0555 : 0444;
  if ((st->st_mode & 07777) != sealed && g_chmod (path, sealed) != 0)
    {
      int saved = errno;
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "cannot make %s read-only: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  info->size = (guint64) st->st_size;
  return strand_store_file_digest (store, path, info->sha256, info->md5, error);
}

static gboolean
walk (StrandStore *store, const char *root, const char *rel, TreePass pass, gboolean allow_link,
      StrandDirTree *tree, GError **error)
{
  g_autofree char *abs = rel ? g_build_filename (root, rel, NULL) : g_strdup (root);
  g_autoptr (GDir) dir = g_dir_open (abs, 0, error);
  if (dir == NULL)
    return FALSE;
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child_rel = rel ? g_strconcat (rel, "/", name, NULL) : g_strdup (name);
      g_autofree char *child = g_build_filename (root, child_rel, NULL);
      struct stat st;
      if (lstat (child, &st) != 0)
        {
          int saved = errno;
          g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "%s: %s", child,
                       g_strerror (saved));
          return FALSE;
        }
      if (S_ISDIR (st.st_mode))
        {
          g_ptr_array_add (tree->dirs, g_strdup (child_rel));
          if (!walk (store, root, child_rel, pass, allow_link, tree, error))
            return FALSE;
        }
      else if (S_ISREG (st.st_mode))
        {
          StrandObjectInfo info;
          if (!member (store, child, &st, pass, allow_link, &info, error))
            return FALSE;
          StrandDirEntry *e = g_new0 (StrandDirEntry, 1);
          e->path = g_steal_pointer (&child_rel);
          memcpy (e->sha256, info.sha256, sizeof e->sha256);
          e->size = info.size;
          e->executable = (st.st_mode & S_IXUSR) != 0;
          tree->bytes += info.size;
          g_ptr_array_add (tree->entries, e);
        }
      else
        {
          g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID,
                       "%s: only regular files and directories can be stored in a tree, "
                       "not a %s", child, S_ISLNK (st.st_mode) ? "symbolic link" : "special file");
          return FALSE;
        }
    }
  return TRUE;
}

static char *
tree_to_canonical_json (const StrandDirTree *tree)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "strand_tree");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "dirs");
  json_builder_begin_array (b);
  for (guint i = 0; i < tree->dirs->len; i++)
    json_builder_add_string_value (b, tree->dirs->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_array (b);
  for (guint i = 0; i < tree->entries->len; i++)
    {
      const StrandDirEntry *e = tree->entries->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, e->path);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, e->sha256);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64) e->size);
      json_builder_set_member_name (b, "mode");
      json_builder_add_string_value (b, e->executable ? "0755" : "0644");
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return strand_canonical_json (root);
}

/* Walks `dir` with `pass` into a sorted listing and its manifest. */
static StrandDirTree *
list_tree (StrandStore *store, const char *dir, TreePass pass, gboolean allow_link,
           char **manifest, GError **error)
{
  struct stat st;
  if (lstat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID, "%s is not a directory",
                   dir);
      return NULL;
    }
  g_autoptr (StrandDirTree) tree = tree_new ();
  if (!walk (store, dir, NULL, pass, allow_link, tree, error))
    return NULL;
  g_ptr_array_sort (tree->dirs, compare_paths);
  g_ptr_array_sort (tree->entries, compare_entries);
  *manifest = tree_to_canonical_json (tree);
  return g_steal_pointer (&tree);
}

/* Stores the members of `dir`, then its manifest, provided the manifest's
 * digest is `expected` (when not NULL). */
static gboolean
store_tree (StrandStore *store, const char *dir, const char *expected, gboolean allow_link,
            StrandObjectInfo *info, StrandDirTree **tree_out, GError **error)
{
  g_autofree char *manifest = NULL;
  g_autoptr (StrandDirTree) tree = list_tree (store, dir, PASS_STORE, allow_link, &manifest, error);
  if (tree == NULL)
    return FALSE;
  if (expected != NULL)
    {
      g_autofree char *sha = strand_sha256_hex (manifest, strlen (manifest));
      if (strcmp (sha, expected) != 0)
        return g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO,
                            "%s changed since its digest was taken: it is now tree %s, not %s",
                            dir, sha, expected), FALSE;
    }
  g_autoptr (StrandStoreWriter) w = strand_store_writer_new (store, error);
  if (w == NULL || !strand_store_writer_write (w, manifest, strlen (manifest), error))
    return FALSE;
  if (!strand_store_writer_commit (g_steal_pointer (&w), info, error))
    return FALSE;
  if (tree_out)
    *tree_out = g_steal_pointer (&tree);
  return TRUE;
}

gboolean
strand_store_ingest_tree (StrandStore *store, const char *dir, gboolean allow_link,
                          StrandObjectInfo *info, StrandDirTree **tree_out, GError **error)
{
  g_return_val_if_fail (store != NULL && dir != NULL && info != NULL, FALSE);
  return store_tree (store, dir, NULL, allow_link, info, tree_out, error);
}

gboolean
strand_store_digest_tree (StrandStore *store, const char *dir, char sha256[65],
                          StrandDirTree **tree_out, GError **error)
{
  g_return_val_if_fail (store != NULL && dir != NULL && sha256 != NULL, FALSE);
  g_autofree char *manifest = NULL;
  g_autoptr (StrandDirTree) tree = list_tree (store, dir, PASS_DIGEST, FALSE, &manifest, error);
  if (tree == NULL)
    return FALSE;
  g_autofree char *sha = strand_sha256_hex (manifest, strlen (manifest));
  memcpy (sha256, sha, 65);
  if (tree_out)
    *tree_out = g_steal_pointer (&tree);
  return TRUE;
}

gboolean
strand_store_put_tree (StrandStore *store, const char *dir, const char *sha256,
                       gboolean allow_link, StrandObjectInfo *info, GError **error)
{
  g_return_val_if_fail (store != NULL && dir != NULL && sha256 != NULL && info != NULL, FALSE);
  return store_tree (store, dir, sha256, allow_link, info, NULL, error);
}

/* ---- reading a tree ------------------------------------------------------- */

static gboolean
safe_relative_path (const char *path)
{
  if (path == NULL || *path == '\0' || *path == '/' || strlen (path) > 4096 ||
      !g_utf8_validate (path, -1, NULL))
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  for (char **p = parts; *p; p++)
    if (**p == '\0' || strcmp (*p, ".") == 0 || strcmp (*p, "..") == 0)
      return FALSE;
  return TRUE;
}

static gboolean G_GNUC_PRINTF (2, 3)
invalid (GError **error, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID, "not a valid tree: %s", msg);
  return FALSE;
}

static const char *
string_member (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

StrandDirTree *
strand_dir_tree_parse (const char *data, gsize len, GError **error)
{
  if (len < strlen (TREE_MAGIC) || memcmp (data, TREE_MAGIC, strlen (TREE_MAGIC)) != 0)
    return invalid (error, "it does not start as a tree manifest does"), NULL;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local))
    return invalid (error, "%s", local->message), NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return invalid (error, "not an object"), NULL;
  JsonObject *o = json_node_get_object (root);
  JsonNode *version = json_object_get_member (o, "strand_tree");
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version) ||
      json_node_get_value_type (version) != G_TYPE_INT64 || json_node_get_int (version) != 1)
    return invalid (error, "\"strand_tree\" is not 1"), NULL;
  if (json_object_get_size (o) != 3)
    return invalid (error, "unexpected members"), NULL;
  JsonNode *dn = json_object_get_member (o, "dirs");
  JsonNode *en = json_object_get_member (o, "entries");
  if (dn == NULL || en == NULL || !JSON_NODE_HOLDS_ARRAY (dn) || !JSON_NODE_HOLDS_ARRAY (en))
    return invalid (error, "\"dirs\" and \"entries\" must be arrays"), NULL;

  g_autoptr (StrandDirTree) tree = tree_new ();
  g_autoptr (GHashTable) dirs = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *da = json_node_get_array (dn);
  for (guint i = 0; i < json_array_get_length (da); i++)
    {
      JsonNode *n = json_array_get_element (da, i);
      const char *path = JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
                             ? json_node_get_string (n) : NULL;
      if (!safe_relative_path (path))
        return invalid (error, "dirs[%u] is not a safe relative path", i), NULL;
      if (i > 0 && strcmp (tree->dirs->pdata[i - 1], path) >= 0)
        return invalid (error, "dirs[%u] is out of order or repeated", i), NULL;
      g_ptr_array_add (tree->dirs, g_strdup (path));
      g_hash_table_add (dirs, tree->dirs->pdata[i]);
    }
  JsonArray *ea = json_node_get_array (en);
  for (guint i = 0; i < json_array_get_length (ea); i++)
    {
      JsonNode *n = json_array_get_element (ea, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        return invalid (error, "entries[%u] is not an object", i), NULL;
      JsonObject *eo = json_node_get_object (n);
      const char *path = string_member (eo, "path");
      const char *sha = string_member (eo, "sha256");
      const char *mode = string_member (eo, "mode");
      JsonNode *size = json_object_get_member (eo, "size");
      if (!safe_relative_path (path))
        return invalid (error, "entries[%u] has no safe relative path", i), NULL;
      if (!strand_sha256_hex_is_valid (sha))
        return invalid (error, "entries[%u] (%s) has no valid sha256", i, path), NULL;
      if (mode == NULL || (strcmp (mode, "0644") != 0 && strcmp (mode, "0755") != 0))
        return invalid (error, "entries[%u] (%s) has a mode other than 0644 or 0755", i, path), NULL;
      if (size == NULL || !JSON_NODE_HOLDS_VALUE (size) ||
          json_node_get_value_type (size) != G_TYPE_INT64 || json_node_get_int (size) < 0)
        return invalid (error, "entries[%u] (%s) has no valid size", i, path), NULL;
      if (i > 0 && strcmp (((StrandDirEntry *) tree->entries->pdata[i - 1])->path, path) >= 0)
        return invalid (error, "entries[%u] (%s) is out of order or repeated", i, path), NULL;
      if (g_hash_table_contains (dirs, path))
        return invalid (error, "%s is both a file and a directory", path), NULL;
      const char *slash = strrchr (path, '/');
      if (slash != NULL)
        {
          g_autofree char *parent = g_strndup (path, (gsize) (slash - path));
          if (!g_hash_table_contains (dirs, parent))
            return invalid (error, "the directory of %s is not listed", path), NULL;
        }
      StrandDirEntry *e = g_new0 (StrandDirEntry, 1);
      e->path = g_strdup (path);
      memcpy (e->sha256, sha, 64);
      e->size = (guint64) json_node_get_int (size);
      e->executable = strcmp (mode, "0755") == 0;
      tree->bytes += e->size;
      g_ptr_array_add (tree->entries, e);
    }
  for (guint i = 0; i < tree->dirs->len; i++)
    {
      const char *path = tree->dirs->pdata[i];
      const char *slash = strrchr (path, '/');
      if (slash != NULL)
        {
          g_autofree char *parent = g_strndup (path, (gsize) (slash - path));
          if (!g_hash_table_contains (dirs, parent))
            return invalid (error, "the parent of directory %s is not listed", path), NULL;
        }
    }
  return g_steal_pointer (&tree);
}

static gboolean
read_manifest (StrandStore *store, const char *sha256, gboolean quiet, char **data, gsize *len,
               GError **error)
{
  g_autofree char *path = strand_store_object_path (store, sha256);
  if (path == NULL)
    return g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID,
                        "'%s' is not a SHA-256 digest", sha256), FALSE;
  struct stat st;
  if (stat (path, &st) != 0)
    return g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NOT_FOUND,
                        "no object %s in the store", sha256), FALSE;
  if ((guint64) st.st_size > TREE_MAX_BYTES || (guint64) st.st_size < strlen (TREE_MAGIC))
    return g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID,
                        "object %s is not a tree", sha256), FALSE;
  if (quiet)
    {
      char head[sizeof TREE_MAGIC - 1];
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      gboolean match = fd >= 0 && read (fd, head, sizeof head) == (ssize_t) sizeof head &&
                       memcmp (head, TREE_MAGIC, sizeof head) == 0;
      if (fd >= 0)
        close (fd);
      if (!match)
        return g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID,
                            "object %s is not a tree", sha256), FALSE;
    }
  return g_file_get_contents (path, data, len, error);
}

StrandDirTree *
strand_store_read_tree (StrandStore *store, const char *sha256, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!read_manifest (store, sha256, FALSE, &data, &len, error))
    return NULL;
  return strand_dir_tree_parse (data, len, error);
}

gboolean
strand_store_is_tree (StrandStore *store, const char *sha256)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!read_manifest (store, sha256, TRUE, &data, &len, NULL))
    return FALSE;
  g_autoptr (StrandDirTree) tree = strand_dir_tree_parse (data, len, NULL);
  return tree != NULL;
}

/* ---- views and copies ----------------------------------------------------- */

static gboolean
make_dirs (const StrandDirTree *tree, const char *dest, GError **error)
{
  if (g_mkdir (dest, 0750) != 0)
    {
      int saved = errno;
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "cannot create %s: %s", dest,
                   g_strerror (saved));
      return FALSE;
    }
  for (guint i = 0; i < tree->dirs->len; i++)
    {
      g_autofree char *d = g_build_filename (dest, tree->dirs->pdata[i], NULL);
      if (g_mkdir (d, 0750) != 0)
        {
          int saved = errno;
          g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "cannot create %s: %s", d,
                       g_strerror (saved));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
strand_store_link_tree (StrandStore *store, const char *sha256, const char *dest, GError **error)
{
  g_autoptr (StrandDirTree) tree = strand_store_read_tree (store, sha256, error);
  if (tree == NULL || !make_dirs (tree, dest, error))
    return FALSE;
  for (guint i = 0; i < tree->entries->len; i++)
    {
      const StrandDirEntry *e = tree->entries->pdata[i];
      g_autofree char *object = strand_store_object_path (store, e->sha256);
      g_autofree char *link = g_build_filename (dest, e->path, NULL);
      if (!strand_store_contains (store, e->sha256))
        return g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NOT_FOUND,
                            "tree %s: member %s (%s) is missing from the store", sha256, e->path,
                            e->sha256), FALSE;
      if (symlink (object, link) != 0)
        {
          int saved = errno;
          g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "cannot link %s: %s", link,
                       g_strerror (saved));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
strand_store_tree_view (StrandStore *store, const char *sha256, char **view, GError **error)
{
  g_autofree char *views = g_build_filename (strand_store_dir (store), "views", NULL);
  g_autofree char *path = g_build_filename (views, sha256, NULL);
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      *view = g_steal_pointer (&path);
      return TRUE;
    }
  if (g_mkdir_with_parents (views, 0755) != 0)
    {
      int saved = errno;
      return g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "cannot create %s: %s",
                          views, g_strerror (saved)), FALSE;
    }
  /* Built aside, then renamed: a reader never sees half a view. */
  g_autofree char *aside = g_build_filename (views, ".new-XXXXXX", NULL);
  if (g_mkdtemp (aside) == NULL)
    {
      int saved = errno;
      return g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "cannot create %s: %s",
                          aside, g_strerror (saved)), FALSE;
    }
  g_autofree char *built = g_build_filename (aside, sha256, NULL);
  gboolean ok = strand_store_link_tree (store, sha256, built, error);
  if (ok && rename (built, path) != 0 && errno != EEXIST && errno != ENOTEMPTY)
    {
      int saved = errno;
      ok = FALSE;
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "cannot create %s: %s", path,
                   g_strerror (saved));
    }
  strand_remove_tree (aside); /* empty, or another's view won the race */
  if (ok)
    *view = g_steal_pointer (&path);
  return ok;
}

gboolean
strand_store_adopt_view (StrandStore *store, const char *sha256, const char *dir)
{
  g_autofree char *views = g_build_filename (strand_store_dir (store), "views", NULL);
  g_autofree char *path = g_build_filename (views, sha256, NULL);
  if (g_mkdir_with_parents (views, 0755) != 0 || g_file_test (path, G_FILE_TEST_EXISTS))
    return FALSE;
  return rename (dir, path) == 0;
}

guint
strand_store_prune_views (StrandStore *store, GHashTable *live)
{
  g_autofree char *views = g_build_filename (strand_store_dir (store), "views", NULL);
  g_autoptr (GDir) dir = g_dir_open (views, 0, NULL);
  guint removed = 0;
  const char *name;
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      if (g_hash_table_contains (live, name))
        continue;
      g_autofree char *path = g_build_filename (views, name, NULL);
      removed += strand_remove_tree (path) == 0;
    }
  return removed;
}

gboolean
strand_store_materialize_tree (StrandStore *store, const char *sha256, const char *dest,
                               GError **error)
{
  g_autoptr (StrandDirTree) tree = strand_store_read_tree (store, sha256, error);
  if (tree == NULL || !make_dirs (tree, dest, error))
    return FALSE;
  for (guint i = 0; i < tree->entries->len; i++)
    {
      const StrandDirEntry *e = tree->entries->pdata[i];
      g_autofree char *to = g_build_filename (dest, e->path, NULL);
      if (!strand_store_materialize (store, e->sha256, to, NULL, error))
        return FALSE;
      if (e->executable)
        g_chmod (to, 0755);
    }
  return TRUE;
}

void
strand_store_add_tree_members (StrandStore *store, GHashTable *live)
{
  g_autoptr (GPtrArray) roots = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, live);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (roots, g_strdup (key));
  for (guint i = 0; i < roots->len; i++)
    {
      g_autoptr (StrandDirTree) tree = NULL;
      g_autofree char *data = NULL;
      gsize len = 0;
      if (!read_manifest (store, roots->pdata[i], TRUE, &data, &len, NULL) ||
          (tree = strand_dir_tree_parse (data, len, NULL)) == NULL)
        continue;
      for (guint k = 0; k < tree->entries->len; k++)
        {
          const StrandDirEntry *e = tree->entries->pdata[k];
          if (!g_hash_table_contains (live, e->sha256))
            g_hash_table_add (live, g_strdup (e->sha256));
        }
    }
}
