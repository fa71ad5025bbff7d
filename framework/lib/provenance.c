#include "provenance.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "clock.h"
#include "record-build.h"
#include "store-tree.h"

struct StrandProvenance {
  char *dir;
  StrandStore *store;
  StrandKey *key;
  StrandLedger *ledger;
  StrandIndex *index;
  char *host_id;
};

static char *
index_path (const char *dir)
{
  return g_build_filename (dir, "ledger", "index.sqlite", NULL);
}

gboolean
strand_provenance_init (const char *dir, GError **error)
{
  if (g_mkdir_with_parents (dir, 0750) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot create %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  g_autoptr (StrandStore) store = strand_store_open (dir, error);
  return store != NULL && strand_key_create (dir, error);
}

StrandProvenance *
strand_provenance_open (const char *dir, GError **error)
{
  g_autofree char *pub = g_build_filename (dir, "keys", "host.pub", NULL);
  if (!g_file_test (pub, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_NO_KEY,
                   "%s is not a Strand store: run 'strand init --store %s' first", dir, dir);
      return NULL;
    }
  g_autoptr (StrandProvenance) prov = g_new0 (StrandProvenance, 1);
  prov->dir = g_canonicalize_filename (dir, NULL);
  prov->store = strand_store_open (dir, error);
  if (prov->store == NULL)
    return NULL;
  prov->key = strand_key_load (dir, error);
  if (prov->key == NULL)
    return NULL;
  guint64 cut = 0;
  prov->ledger = strand_ledger_open (dir, prov->key, &cut, error);
  if (prov->ledger == NULL)
    return NULL;
  if (cut > 0)
    g_warning ("ledger %s: cut %" G_GUINT64_FORMAT " bytes of an incomplete last record left "
               "by a crash; every record before it is intact", strand_ledger_path (prov->ledger), cut);
  prov->host_id = g_strdup_printf ("strand:host:%s", strand_key_id (prov->key));
  return g_steal_pointer (&prov);
}

void
strand_provenance_close (StrandProvenance *prov)
{
  if (prov == NULL)
    return;
  g_clear_pointer (&prov->index, strand_index_close);
  if (prov->ledger != NULL)
    {
      g_autoptr (GError) error = NULL;
      if (!strand_ledger_sync (prov->ledger, &error))
        g_warning ("ledger: %s", error->message);
      strand_ledger_close (prov->ledger);
    }
  strand_key_free (prov->key);
  strand_store_close (prov->store);
  g_free (prov->host_id);
  g_free (prov->dir);
  g_free (prov);
}

StrandStore *
strand_provenance_store (StrandProvenance *prov)
{
  return prov->store;
}

StrandLedger *
strand_provenance_ledger (StrandProvenance *prov)
{
  return prov->ledger;
}

const StrandKey *
strand_provenance_key (StrandProvenance *prov)
{
  return prov->key;
}

const char *
strand_provenance_dir (StrandProvenance *prov)
{
  return prov->dir;
}

const char *
strand_provenance_host_id (StrandProvenance *prov)
{
  return prov->host_id;
}

StrandIndex *
strand_provenance_index (StrandProvenance *prov, GError **error)
{
  if (!strand_ledger_sync (prov->ledger, error))
    return NULL;
  if (prov->index == NULL)
    {
      g_autofree char *db = index_path (prov->dir);
      prov->index = strand_index_open (db, strand_ledger_path (prov->ledger), NULL, error);
      return prov->index;
    }
  return strand_index_update (prov->index, error) ? prov->index : NULL;
}

gboolean
strand_provenance_record (StrandProvenance *prov, JsonNode *statement, GError **error)
{
  return strand_ledger_append (prov->ledger, statement, NULL, error) > 0 &&
         strand_ledger_sync (prov->ledger, error);
}

const char *
strand_operator_name (void)
{
  const char *env = g_getenv ("STRAND_OPERATOR");
  return env && *env ? env : g_get_user_name ();
}

gboolean
strand_provenance_ingest (StrandProvenance *prov, const char *path, const char *sample,
                          const char *format, JsonNode *metadata, StrandObjectInfo *info,
                          GError **error)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  StrandObjectInfo local;
  if (info == NULL)
    info = &local;
  /* The user's file stays theirs: no hard link they could later modify. A
   * directory (a sequencer's run folder) becomes a tree. */
  if (g_file_test (abs, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (StrandDirTree) tree = NULL;
      if (!strand_store_ingest_tree (prov->store, abs, FALSE, info, &tree, error))
        return FALSE;
      info->size = tree->bytes;
      info->md5[0] = '\0';
    }
  else if (!strand_store_ingest_file (prov->store, abs, FALSE, info, error))
    return FALSE;
  StrandIngestFacts facts = {
    .path = abs,
    .sha256 = info->sha256,
    .size = info->size,
    .md5 = info->md5,
    .format = format,
    .sample = sample,
    .metadata = metadata,
    .operator_name = strand_operator_name (),
    .time_us = strand_clock_now_us (),
  };
  g_autoptr (JsonNode) statement = strand_statement_ingest (&facts);
  return strand_provenance_record (prov, statement, error);
}

gboolean
strand_provenance_materialize (StrandProvenance *prov, const char *sha256, const char *dest,
                               GError **error)
{
  g_autofree char *abs = g_canonicalize_filename (dest, NULL);
  StrandPlacement placement;
  if (!strand_store_materialize (prov->store, sha256, abs, &placement, error))
    return FALSE;
  StrandMaterializeFacts facts = {
    .sha256 = sha256,
    .path = abs,
    .method = strand_placement_name (placement),
    .operator_name = strand_operator_name (),
    .time_us = strand_clock_now_us (),
  };
  g_autoptr (JsonNode) statement = strand_statement_materialize (&facts);
  return strand_provenance_record (prov, statement, error);
}

typedef struct {
  GHashTable *live;
  GArray *dead; /* StrandRecordFile with owned sha256 */
  guint64 bytes;
} GcScan;

static gboolean
collect_dead (const char *sha256, guint64 size, gpointer user_data)
{
  GcScan *scan = user_data;
  if (!g_hash_table_contains (scan->live, sha256))
    {
      StrandRecordFile f = { NULL, g_strdup (sha256) };
      g_array_append_val (scan->dead, f);
      scan->bytes += size;
    }
  return TRUE;
}

gboolean
strand_provenance_gc (StrandProvenance *prov, guint *removed, guint64 *bytes, GError **error)
{
  StrandIndex *index = strand_provenance_index (prov, error);
  if (index == NULL)
    return FALSE;
  g_autoptr (GHashTable) live = strand_index_live_digests (index, error);
  if (live == NULL)
    return FALSE;
  strand_store_add_tree_members (prov->store, live);
  strand_store_prune_views (prov->store, live);
  GcScan scan = { live, g_array_new (FALSE, FALSE, sizeof (StrandRecordFile)), 0 };
  strand_store_foreach (prov->store, collect_dead, &scan);
  gboolean ok = TRUE;
  if (scan.dead->len > 0)
    {
      /* Record first: a crash after this leaves objects a later gc removes,
       * never a removal nobody recorded. */
      StrandGcFacts facts = {
        .removed = (const StrandRecordFile *) scan.dead->data,
        .n_removed = scan.dead->len,
        .bytes = scan.bytes,
        .operator_name = strand_operator_name (),
        .time_us = strand_clock_now_us (),
      };
      g_autoptr (JsonNode) statement = strand_statement_gc (&facts);
      ok = strand_provenance_record (prov, statement, error);
      for (guint i = 0; ok && i < scan.dead->len; i++)
        ok = strand_store_remove (prov->store, g_array_index (scan.dead, StrandRecordFile, i).sha256,
                                  error);
    }
  if (removed)
    *removed = scan.dead->len;
  if (bytes)
    *bytes = scan.bytes;
  for (guint i = 0; i < scan.dead->len; i++)
    g_free ((char *) g_array_index (scan.dead, StrandRecordFile, i).sha256);
  g_array_unref (scan.dead);
  return ok;
}

typedef struct {
  StrandStore *store;
  GPtrArray *problems;
  guint64 objects;
} VerifyScan;

static gboolean
verify_object (const char *sha256, guint64 size, gpointer user_data)
{
  VerifyScan *scan = user_data;
  g_autoptr (GError) error = NULL;
  scan->objects++;
  if (!strand_store_verify (scan->store, sha256, &error))
    {
      g_autofree char *where = strand_store_object_path (scan->store, sha256);
      strand_problems_add (scan->problems, FALSE, "object-damaged", where, "%s", error->message);
    }
  return TRUE;
}

gboolean
strand_provenance_verify (const char *dir, GPtrArray *problems, guint64 *records, guint64 *objects)
{
  guint before = problems->len;
  g_autofree char *pub = g_build_filename (dir, "keys", "host.pub", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandKey) key = strand_key_load_public (pub, &error);
  if (key == NULL)
    {
      strand_problems_add (problems, FALSE, "no-key", pub, "%s", error->message);
      return FALSE;
    }
  g_autofree char *log = g_build_filename (dir, "ledger", "log.jsonl", NULL);
  if (g_file_test (log, G_FILE_TEST_EXISTS))
    strand_ledger_verify (log, key, problems, records);
  else if (records)
    *records = 0;

  g_autoptr (StrandStore) store = strand_store_open (dir, &error);
  if (store == NULL)
    {
      strand_problems_add (problems, FALSE, "unreadable", dir, "%s", error->message);
      return FALSE;
    }
  VerifyScan scan = { store, problems, 0 };
  strand_store_foreach (store, verify_object, &scan);
  if (objects)
    *objects = scan.objects;

  /* Objects the records still need must be there. The index is rebuilt in
   * a scratch file so that verifying never trusts or changes the store's. */
  if (problems->len == before && g_file_test (log, G_FILE_TEST_EXISTS))
    {
      g_autofree char *tmpdir = g_dir_make_tmp ("strand-verify-XXXXXX", &error);
      g_autofree char *db = tmpdir ? g_build_filename (tmpdir, "index.sqlite", NULL) : NULL;
      g_autoptr (StrandIndex) index = db ? strand_index_open (db, log, NULL, &error) : NULL;
      g_autoptr (GHashTable) live = index ? strand_index_live_digests (index, &error) : NULL;
      if (live == NULL)
        strand_problems_add (problems, FALSE, "unreadable", log, "%s",
                             error ? error->message : "cannot index the ledger");
      GHashTableIter it;
      gpointer sha;
      if (live)
        {
          strand_store_add_tree_members (store, live);
          g_hash_table_iter_init (&it, live);
        }
      while (live && g_hash_table_iter_next (&it, &sha, NULL))
        if (!strand_store_contains (store, sha))
          strand_problems_add (problems, FALSE, "object-missing", sha,
                               "the records name object %s but the store does not have it",
                               (char *) sha);
      if (db)
        {
          g_clear_pointer (&index, strand_index_close);
          strand_index_remove_files (db);
          g_rmdir (tmpdir);
        }
    }
  return problems->len == before;
}
