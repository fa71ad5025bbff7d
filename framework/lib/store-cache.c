/* digests.sqlite: the SHA-256 and MD5 of files outside the store, keyed by
 * real path and valid while the device, inode, size and modification time
 * (nanoseconds) are those recorded. It is only a cache: a damaged file is
 * replaced, a failed write is logged and forgotten. */
#include "store-private.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

struct StoreCache {
  sqlite3 *db;
  char *path;
  GMutex lock;
  gboolean warned;
};

static const char schema[] =
  "PRAGMA journal_mode=WAL;"
  "PRAGMA synchronous=OFF;" /* a cache: losing it after a crash only costs a rehash */
  "CREATE TABLE IF NOT EXISTS file_digest ("
  "  path TEXT PRIMARY KEY NOT NULL,"
  "  dev INTEGER NOT NULL,"
  "  ino INTEGER NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  mtime_ns INTEGER NOT NULL,"
  "  sha256 TEXT NOT NULL,"
  "  md5 TEXT NOT NULL"
  ");";

static gint64
mtime_ns (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec;
}

static sqlite3 *
open_db (const char *path, int *rc_out)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (path, &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_busy_timeout (db, 5000);
      rc = sqlite3_exec (db, schema, NULL, NULL, NULL);
    }
  if (rc != SQLITE_OK)
    {
      sqlite3_close (db);
      db = NULL;
    }
  *rc_out = rc;
  return db;
}

StoreCache *
store_cache_open (const char *path, GError **error)
{
  int rc = SQLITE_OK;
  sqlite3 *db = open_db (path, &rc);
  if (db == NULL && (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB))
    {
      /* Only a cache: start afresh. */
      g_unlink (path);
      g_autofree char *wal = g_strconcat (path, "-wal", NULL);
      g_autofree char *shm = g_strconcat (path, "-shm", NULL);
      g_unlink (wal);
      g_unlink (shm);
      db = open_db (path, &rc);
    }
  if (db == NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path, sqlite3_errstr (rc));
      return NULL;
    }
  StoreCache *cache = g_new0 (StoreCache, 1);
  cache->db = db;
  cache->path = g_strdup (path);
  g_mutex_init (&cache->lock);
  return cache;
}

void
store_cache_close (StoreCache *cache)
{
  if (cache == NULL)
    return;
  sqlite3_close (cache->db);
  g_mutex_clear (&cache->lock);
  g_free (cache->path);
  g_free (cache);
}

gboolean
store_cache_lookup (StoreCache *cache, const char *realpath, const struct stat *st,
                    char sha256[65], char md5[33])
{
  if (cache == NULL)
    return FALSE;
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2 (cache->db,
                          "SELECT sha256, md5 FROM file_digest WHERE path = ?1 AND dev = ?2"
                          " AND ino = ?3 AND size = ?4 AND mtime_ns = ?5",
                          -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, realpath, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) st->st_dev);
  sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) st->st_ino);
  sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) st->st_size);
  sqlite3_bind_int64 (stmt, 5, mtime_ns (st));
  gboolean found = FALSE;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      const char *s = (const char *) sqlite3_column_text (stmt, 0);
      const char *m = (const char *) sqlite3_column_text (stmt, 1);
      /* A damaged row is a miss. */
      if (s != NULL && m != NULL && strlen (s) == 64 && strlen (m) <= 32)
        {
          memcpy (sha256, s, 65);
          g_strlcpy (md5, m, 33);
          found = TRUE;
        }
    }
  sqlite3_finalize (stmt);
  return found;
}

void
store_cache_record (StoreCache *cache, const char *realpath, const struct stat *st,
                    const char *sha256, const char *md5)
{
  if (cache == NULL)
    return;
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (cache->db,
                               "INSERT OR REPLACE INTO file_digest"
                               " (path, dev, ino, size, mtime_ns, sha256, md5)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, realpath, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) st->st_dev);
      sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) st->st_ino);
      sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) st->st_size);
      sqlite3_bind_int64 (stmt, 5, mtime_ns (st));
      sqlite3_bind_text (stmt, 6, sha256, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 7, md5, -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK)
    {
      g_mutex_lock (&cache->lock);
      gboolean first = !cache->warned;
      cache->warned = TRUE;
      g_mutex_unlock (&cache->lock);
      if (first)
        g_warning ("digest cache %s: cannot record %s: %s (digests will be recomputed)",
                   cache->path, realpath, sqlite3_errmsg (cache->db));
    }
}
