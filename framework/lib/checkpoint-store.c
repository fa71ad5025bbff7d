/* A store's checkpoints (checkpoint.h): STORE/checkpoints/SIZE.checkpoint,
 * each verified with the store's key when read, and keys/host.vkey. */
#include "checkpoint.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "provenance.h"

#define SUFFIX ".checkpoint"

static char *
log_path (const char *dir)
{
  return g_build_filename (dir, "ledger", "log.jsonl", NULL);
}

static char *
kept_path (const char *dir, guint64 size)
{
  g_autofree char *name = g_strdup_printf ("%" G_GUINT64_FORMAT SUFFIX, size);
  return g_build_filename (dir, "checkpoints", name, NULL);
}

StrandTree *
strand_checkpoint_open_tree (const char *store_dir, GError **error)
{
  g_autoptr (GError) local = NULL;
  StrandProvenance *prov = strand_provenance_open (store_dir, &local);
  if (prov != NULL)
    strand_provenance_close (prov); /* the ledger's open brought the tree up to date */
  else if (!g_error_matches (local, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_LOCKED))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  g_autofree char *log = log_path (store_dir);
  return strand_tree_open_readonly (log, error);
}

StrandNoteKey *
strand_checkpoint_store_key (const char *store_dir, GError **error)
{
  g_autofree char *pub = g_build_filename (store_dir, "keys", "host.pub", NULL);
  return strand_note_key_load (pub, error);
}

/* Reads a kept checkpoint and checks it is the store's, signed. */
static StrandCheckpoint *
load_kept (const char *path, const StrandNoteKey *key, GError **error)
{
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_load (path, error);
  if (cp == NULL)
    return NULL;
  if (!strand_checkpoint_verify (cp, key, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  return g_steal_pointer (&cp);
}

/* SIZE from "SIZE.checkpoint" (digits, no leading zeros). */
static gboolean
kept_size (const char *name, guint64 *size)
{
  if (!g_str_has_suffix (name, SUFFIX))
    return FALSE;
  g_autofree char *digits = g_strndup (name, strlen (name) - strlen (SUFFIX));
  for (const char *c = digits; *c; c++)
    if (!g_ascii_isdigit (*c))
      return FALSE;
  return digits[0] != '\0' && (digits[0] != '0' || digits[1] == '\0') &&
         g_ascii_string_to_unsigned (digits, 10, 0, G_MAXUINT64, size, NULL);
}

StrandCheckpoint *
strand_checkpoint_latest (const char *store_dir, GError **error)
{
  g_autofree char *dir = g_build_filename (store_dir, "checkpoints", NULL);
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return NULL;
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_IO, "%s", local->message);
      return NULL;
    }
  gboolean found = FALSE;
  guint64 latest = 0, size = 0;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    if (kept_size (name, &size) && (!found || size > latest))
      {
        latest = size;
        found = TRUE;
      }
  return found ? strand_checkpoint_find (store_dir, latest, error) : NULL;
}

StrandCheckpoint *
strand_checkpoint_find (const char *store_dir, guint64 size, GError **error)
{
  g_autofree char *path = kept_path (store_dir, size);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  g_autoptr (StrandNoteKey) key = strand_checkpoint_store_key (store_dir, error);
  return key != NULL ? load_kept (path, key, error) : NULL;
}

gboolean
strand_checkpoint_check_tree (const StrandCheckpoint *cp, StrandTree *tree, GError **error)
{
  guint64 size = strand_checkpoint_size (cp);
  if (size > strand_tree_size (tree))
    {
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_INCONSISTENT,
                   "checkpoint of %" G_GUINT64_FORMAT " records, but the log's tree has %" G_GUINT64_FORMAT
                   ": records it covered are gone",
                   size, strand_tree_size (tree));
      return FALSE;
    }
  guint8 root[STRAND_MERKLE_HASH_LEN];
  g_autoptr (GError) local = NULL;
  if (!strand_tree_root (tree, size, root, &local))
    {
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  if (memcmp (root, strand_checkpoint_root (cp), sizeof root) != 0)
    {
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_INCONSISTENT,
                   "the log's tree of %" G_GUINT64_FORMAT " records has another root than the "
                   "checkpoint: the log was changed after it was signed (run `strand verify`)",
                   size);
      return FALSE;
    }
  return TRUE;
}

/* keys/host.vkey, next to host.pub. */
static gboolean
publish_key (const char *store_dir, const StrandNoteKey *key, GError **error)
{
  g_autofree char *path = g_build_filename (store_dir, "keys", "host.vkey", NULL);
  g_autofree char *vkey = strand_note_key_to_string (key);
  g_autofree char *line = g_strconcat (vkey, "\n", NULL);
  g_autofree char *current = NULL;
  if (g_file_get_contents (path, &current, NULL, NULL) && strcmp (current, line) == 0)
    return TRUE;
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (path, line, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

StrandCheckpoint *
strand_checkpoint_make (const char *store_dir, StrandTree *tree, guint64 size, GError **error)
{
  if (size > strand_tree_size (tree))
    {
      g_set_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_RANGE,
                   "the log has %" G_GUINT64_FORMAT " records, not %" G_GUINT64_FORMAT,
                   strand_tree_size (tree), size);
      return NULL;
    }
  g_autoptr (StrandKey) key = strand_key_load (store_dir, error);
  if (key == NULL)
    return NULL;
  g_autoptr (StrandNoteKey) note_key = strand_note_key_from_host (key);
  if (!publish_key (store_dir, note_key, error))
    return NULL;

  /* Never sign a tree that disagrees with what was signed before. */
  g_autoptr (GError) local = NULL;
  g_autoptr (StrandCheckpoint) latest = strand_checkpoint_latest (store_dir, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (latest != NULL && !strand_checkpoint_check_tree (latest, tree, error))
    {
      g_prefix_error (error, "refusing to sign: checkpoint %" G_GUINT64_FORMAT ": ",
                      strand_checkpoint_size (latest));
      return NULL;
    }
  StrandCheckpoint *kept = strand_checkpoint_find (store_dir, size, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (kept != NULL)
    {
      if (strand_checkpoint_check_tree (kept, tree, error))
        return kept;
      strand_checkpoint_free (kept);
      return NULL;
    }

  guint8 root[STRAND_MERKLE_HASH_LEN];
  if (!strand_tree_root (tree, size, root, error))
    return NULL;
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_sign (key, size, root);
  g_autofree char *dir = g_build_filename (store_dir, "checkpoints", NULL);
  g_autofree char *path = kept_path (store_dir, size);
  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      int saved = errno;
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_IO, "cannot create %s: %s",
                   dir, g_strerror (saved));
      return NULL;
    }
  if (!g_file_set_contents_full (path, strand_checkpoint_text (cp), -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_IO, "%s", local->message);
      return NULL;
    }
  return g_steal_pointer (&cp);
}
