/* Where a run's records and a digest's producers lie in the log
 * (lineage.h): for exports, which read and check the records themselves
 * instead of the index's digest of them. */
#include <string.h>

#include "lineage-private.h"

static gboolean
fill_refs (StrandIndex *index, sqlite3_stmt *stmt, GArray *refs, GError **error)
{
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      StrandIndexRecordRef ref = { 0 };
      ref.seq = (guint64) sqlite3_column_int64 (stmt, 0);
      ref.offset = (guint64) sqlite3_column_int64 (stmt, 1);
      if (sqlite3_column_bytes (stmt, 2) != 32)
        {
          sqlite3_reset (stmt);
          g_set_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED,
                       "index: record %" G_GUINT64_FORMAT " has a damaged hash", ref.seq);
          return FALSE;
        }
      lin_sha256_to_hex (sqlite3_column_blob (stmt, 2), ref.hash);
      g_array_append_val (refs, ref);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      lin_set_sqlite_error (error, index->db, rc, "reading the index");
      return FALSE;
    }
  return TRUE;
}

static GArray *
run_records_once (StrandIndex *index, const char *run, GError **error)
{
  g_autoptr (GArray) refs = g_array_new (FALSE, FALSE, sizeof (StrandIndexRecordRef));
  sqlite3_stmt *stmt = lin_statement (
      index,
      "SELECT r.seq, r.offset, r.hash FROM records r WHERE r.run = (SELECT id FROM str WHERE s = ?)"
      " ORDER BY r.seq",
      error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, run, -1, SQLITE_TRANSIENT);
  if (!fill_refs (index, stmt, refs, error))
    return NULL;
  if (refs->len == 0)
    {
      g_set_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_NOT_FOUND,
                   "no run '%s' in the ledger", run);
      return NULL;
    }
  return g_steal_pointer (&refs);
}

static GArray *
generators_once (StrandIndex *index, const char *sha256, GError **error)
{
  guint8 raw[32];
  if (strlen (sha256) != 64 || !lin_hex_to_sha256 (sha256, 64, raw))
    {
      g_set_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_NOT_FOUND,
                   "'%s' is not a SHA-256 digest", sha256);
      return NULL;
    }
  g_autoptr (GArray) refs = g_array_new (FALSE, FALSE, sizeof (StrandIndexRecordRef));
  sqlite3_stmt *stmt = lin_statement (
      index,
      "SELECT r.seq, r.offset, r.hash FROM generated g JOIN records r ON r.seq = g.seq"
      " WHERE g.entity = (SELECT id FROM entity WHERE sha256 = ?) ORDER BY r.seq",
      error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_blob (stmt, 1, raw, sizeof raw, SQLITE_TRANSIENT);
  if (!fill_refs (index, stmt, refs, error))
    return NULL;
  return g_steal_pointer (&refs);
}

/* As the other queries do: a damaged database is rebuilt, and asked once
 * more. */
static gboolean
retry_after_damage (StrandIndex *index, GError **local, GError **error)
{
  if (!g_error_matches (*local, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED))
    {
      g_propagate_error (error, g_steal_pointer (local));
      return FALSE;
    }
  gboolean ok = lin_rebuild_damaged (index, (*local)->message, error);
  g_clear_error (local);
  return ok;
}

GArray *
strand_index_run_records (StrandIndex *index, const char *run, GError **error)
{
  g_return_val_if_fail (index != NULL && run != NULL, NULL);
  GError *local = NULL;
  GArray *refs = run_records_once (index, run, &local);
  if (refs == NULL && retry_after_damage (index, &local, error))
    refs = run_records_once (index, run, error);
  return refs;
}

GArray *
strand_index_generators (StrandIndex *index, const char *sha256, GError **error)
{
  g_return_val_if_fail (index != NULL && sha256 != NULL, NULL);
  GError *local = NULL;
  GArray *refs = generators_once (index, sha256, &local);
  if (refs == NULL && retry_after_damage (index, &local, error))
    refs = generators_once (index, sha256, error);
  return refs;
}
