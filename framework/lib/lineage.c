/* The provenance index: its schema, keeping it in step with the log, and
 * rebuilding it (lineage.h; the questions are in lineage-query.c).
 *
 * Schema (SQLite, WAL). Strings that repeat (runs, stages, samples,
 * plugins, equipment, statuses, names, paths) are stored once in `str` and
 * referred to by id; digests are stored once, as 32-byte blobs, in `entity`
 * and referred to by its rowid. At 10 million records this keeps the index
 * near a fifth of the log's size (see tests/bench/bench-lineage.c).
 *
 *   meta (key, value)            the log it was built from: log_first_hash,
 *                                last_seq, last_hash, last_offset; max_span
 *   str (id, s)                  interned strings
 *   records (seq, hash, offset, kind, run, stage, sample, plugin,
 *            plugin_version, plugin_sha256, equipment, attempt, started,
 *            finished, status, used, generated)
 *                                one row per record; times in wall
 *                                microseconds; used/generated the entity ids
 *                                packed (lin_ids_pack); strings are str ids
 *   entity (id, sha256, size, sample, format, name)
 *                                one row per digest any record names; name:
 *                                the first name it was given
 *   path (path, entity)          absolute paths it was ingested from or
 *                                materialised to
 *   used / generated / removed (entity, seq)
 *                                who used, generated (stage run outputs,
 *                                ingests) and collected (gc) each entity
 *   record_view, entity_view     the same with text, for people with sqlite3
 *
 * On open the index compares its meta with the log: the same first record,
 * and at last_offset a line with last_hash, means the log only grew, and
 * what follows is added. Anything else (another log, a log
 * cut back, a missing, damaged or older database) rebuilds it: into a fresh
 * file without journal, in one transaction, renamed into place when done.
 * A damaged file is kept beside it as DB.damaged. A lock file (DB.lock)
 * keeps two processes from writing the index at once: opening and
 * updating take it, queries do not. Records are written by
 * lineage-write.c. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "clock.h"
#include "ledger.h"
#include "lineage-private.h"

G_DEFINE_QUARK (strand-index-error-quark, strand_index_error)

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x5354524e /* "STRN" */

/* Catching up more than this much of the log, and more than half of it,
 * is done by rebuilding: faster than adding row by row. */
#define CATCH_UP_REBUILD_BYTES (256 * 1024 * 1024)

static const char schema_tables[] =
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
  "CREATE TABLE str (id INTEGER PRIMARY KEY, s TEXT NOT NULL);"
  "CREATE TABLE records (seq INTEGER PRIMARY KEY, hash BLOB NOT NULL, offset INTEGER NOT NULL,"
  " kind INTEGER NOT NULL, run INTEGER, stage INTEGER, sample INTEGER, plugin INTEGER,"
  " plugin_version INTEGER, plugin_sha256 INTEGER, equipment INTEGER, attempt INTEGER,"
  " started INTEGER, finished INTEGER, status INTEGER, used BLOB, generated BLOB);"
  "CREATE TABLE entity (id INTEGER PRIMARY KEY, sha256 BLOB NOT NULL, size INTEGER,"
  " sample INTEGER, format INTEGER, name INTEGER);"
  "CREATE TABLE path (path INTEGER NOT NULL, entity INTEGER NOT NULL,"
  " PRIMARY KEY (path, entity)) WITHOUT ROWID;"
  "CREATE TABLE used (entity INTEGER NOT NULL, seq INTEGER NOT NULL,"
  " PRIMARY KEY (entity, seq)) WITHOUT ROWID;"
  "CREATE TABLE generated (entity INTEGER NOT NULL, seq INTEGER NOT NULL,"
  " PRIMARY KEY (entity, seq)) WITHOUT ROWID;"
  "CREATE TABLE removed (entity INTEGER NOT NULL, seq INTEGER NOT NULL,"
  " PRIMARY KEY (entity, seq)) WITHOUT ROWID;"
  "CREATE VIEW record_view AS SELECT r.seq, lower(hex(r.hash)) AS hash, r.offset,"
  " CASE r.kind WHEN 1 THEN 'stage-run' WHEN 2 THEN 'ingest' WHEN 3 THEN 'materialize'"
  " WHEN 4 THEN 'gc' WHEN 5 THEN 'event' ELSE 'other' END AS kind,"
  " (SELECT s FROM str WHERE id = r.run) AS run, (SELECT s FROM str WHERE id = r.stage) AS stage,"
  " (SELECT s FROM str WHERE id = r.sample) AS sample,"
  " (SELECT s FROM str WHERE id = r.plugin) AS plugin,"
  " (SELECT s FROM str WHERE id = r.plugin_version) AS plugin_version,"
  " (SELECT s FROM str WHERE id = r.plugin_sha256) AS plugin_sha256,"
  " (SELECT s FROM str WHERE id = r.equipment) AS equipment, r.attempt, r.started, r.finished,"
  " (SELECT s FROM str WHERE id = r.status) AS status FROM records r;"
  "CREATE VIEW entity_view AS SELECT e.id, lower(hex(e.sha256)) AS sha256, e.size,"
  " (SELECT s FROM str WHERE id = e.sample) AS sample,"
  " (SELECT s FROM str WHERE id = e.format) AS format,"
  " (SELECT s FROM str WHERE id = e.name) AS name FROM entity e;";

/* Made after the bulk of a rebuild, by sorting: cheaper than keeping them
 * up as rows arrive (the unique ones are kept by the writer's maps until
 * then). */
static const char schema_indexes[] =
  "CREATE UNIQUE INDEX str_s ON str (s);"
  "CREATE UNIQUE INDEX entity_sha256 ON entity (sha256);"
  "CREATE INDEX path_entity ON path (entity);"
  "CREATE INDEX records_run ON records (run) WHERE run IS NOT NULL;"
  "CREATE INDEX records_sample ON records (sample) WHERE sample IS NOT NULL;"
  "CREATE INDEX records_equipment ON records (equipment, started) WHERE equipment IS NOT NULL;";

void
lin_set_sqlite_error (GError **error, sqlite3 *db, int rc, const char *what)
{
  int primary = rc & 0xff;
  StrandIndexErrorCode code = primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB
                                  ? STRAND_INDEX_ERROR_DAMAGED
                                  : STRAND_INDEX_ERROR_IO;
  g_set_error (error, STRAND_INDEX_ERROR, code, "index: %s: %s", what,
               db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
}

static gboolean
exec (sqlite3 *db, const char *sql, GError **error)
{
  int rc = sqlite3_exec (db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      lin_set_sqlite_error (error, db, rc, sql);
      return FALSE;
    }
  return TRUE;
}

sqlite3_stmt *
lin_prepare (sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      lin_set_sqlite_error (error, db, rc, "prepare");
      return NULL;
    }
  return stmt;
}

sqlite3_stmt *
lin_statement (StrandIndex *index, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (index->statements, sql);
  if (stmt == NULL)
    {
      stmt = lin_prepare (index->db, sql, error);
      if (stmt == NULL)
        return NULL;
      g_hash_table_insert (index->statements, (gpointer) sql, stmt);
    }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return stmt;
}

void
lin_statements_clear (StrandIndex *index)
{
  g_hash_table_remove_all (index->statements);
}

/* --- meta ---------------------------------------------------------------- */


static gboolean
meta_read (sqlite3 *db, LinMeta *m, GError **error)
{
  *m = (LinMeta){ 0 };
  sqlite3_stmt *stmt = lin_prepare (db, "SELECT key, value FROM meta", error);
  if (stmt == NULL)
    return FALSE;
  int rc;
  guint found = 0;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *key = (const char *) sqlite3_column_text (stmt, 0);
      const char *text = (const char *) sqlite3_column_text (stmt, 1);
      if (key == NULL || text == NULL)
        continue;
      if (strcmp (key, "log_first_hash") == 0 && strlen (text) <= 64)
        g_strlcpy (m->first_hash, text, sizeof m->first_hash), found |= 1;
      else if (strcmp (key, "last_hash") == 0 && strlen (text) <= 64)
        g_strlcpy (m->last_hash, text, sizeof m->last_hash), found |= 2;
      else if (strcmp (key, "last_seq") == 0)
        m->last_seq = (guint64) sqlite3_column_int64 (stmt, 1), found |= 4;
      else if (strcmp (key, "last_offset") == 0)
        m->last_offset = (guint64) sqlite3_column_int64 (stmt, 1), found |= 8;
      else if (strcmp (key, "max_span") == 0)
        m->max_span = sqlite3_column_int64 (stmt, 1);
      else if (strcmp (key, "unreadable") == 0)
        m->unreadable = (guint64) sqlite3_column_int64 (stmt, 1);
      else if (strcmp (key, "first_unreadable") == 0)
        m->first_unreadable = (guint64) sqlite3_column_int64 (stmt, 1);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      lin_set_sqlite_error (error, db, rc, "reading meta");
      return FALSE;
    }
  if (found != 15)
    {
      g_set_error_literal (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED,
                           "index: meta is incomplete");
      return FALSE;
    }
  return TRUE;
}

static gboolean
meta_write (sqlite3 *db, const LinMeta *m, GError **error)
{
  sqlite3_stmt *stmt = lin_prepare (db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                error);
  if (stmt == NULL)
    return FALSE;
  struct { const char *key; const char *text; gint64 value; } rows[] = {
    { "schema", NULL, SCHEMA_VERSION },
    { "log_first_hash", m->first_hash, 0 },
    { "last_seq", NULL, (gint64) m->last_seq },
    { "last_hash", m->last_hash, 0 },
    { "last_offset", NULL, (gint64) m->last_offset },
    { "max_span", NULL, m->max_span },
    { "unreadable", NULL, (gint64) m->unreadable },
    { "first_unreadable", NULL, (gint64) m->first_unreadable },
  };
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, rows[i].key, -1, SQLITE_STATIC);
      if (rows[i].text != NULL)
        sqlite3_bind_text (stmt, 2, rows[i].text, -1, SQLITE_STATIC);
      else
        sqlite3_bind_int64 (stmt, 2, rows[i].value);
      int rc = sqlite3_step (stmt);
      if (rc != SQLITE_DONE)
        {
          lin_set_sqlite_error (error, db, rc, "writing meta");
          sqlite3_finalize (stmt);
          return FALSE;
        }
    }
  sqlite3_finalize (stmt);
  return TRUE;
}

/* --- files ------------------------------------------------------------------- */

static gboolean
io_error (GError **error, int err, const char *what, const char *path)
{
  g_set_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_IO, "index: %s %s: %s", what, path,
               g_strerror (err));
  return FALSE;
}

static gboolean
on_first (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
          gpointer user_data)
{
  g_strlcpy (user_data, hash, 65);
  return FALSE;
}

/* The hash of the log's first record ("" when empty or missing). */
static gboolean
log_first_hash (const char *log_path, char out[65], GError **error)
{
  out[0] = '\0';
  if (!g_file_test (log_path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr (GError) local = NULL;
  if (!strand_ledger_read (log_path, 0, on_first, out, &local))
    {
      lin_set_ledger_error (error, local);
      return FALSE;
    }
  return TRUE;
}

static guint64
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (guint64) st.st_size : 0;
}

static int
lock_acquire (const char *lock_path, GError **error)
{
  int fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      io_error (error, errno, "cannot open", lock_path);
      return -1;
    }
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        int saved = errno;
        close (fd);
        io_error (error, saved, "cannot lock", lock_path);
        return -1;
      }
  return fd;
}

static void
lock_release (int fd)
{
  if (fd >= 0)
    close (fd); /* releases the flock */
}

static void
remove_sidecars (const char *db_path)
{
  g_autofree char *wal = g_strconcat (db_path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (db_path, "-shm", NULL);
  g_unlink (wal);
  g_unlink (shm);
}

static void
index_close_db (StrandIndex *index)
{
  lin_statements_clear (index);
  if (index->db != NULL)
    sqlite3_close_v2 (index->db);
  index->db = NULL;
}

/* Opens an existing database and checks that it is ours and whole enough to
 * read its meta. */
static gboolean
open_existing (StrandIndex *index, LinMeta *meta, GError **error)
{
  /* Before opening: if it is replaced in between, the next update sees a
   * file other than this one and opens again. */
  GStatBuf st;
  if (g_stat (index->db_path, &st) == 0)
    {
      index->dev = st.st_dev;
      index->ino = st.st_ino;
    }
  int rc = sqlite3_open_v2 (index->db_path, &index->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      lin_set_sqlite_error (error, index->db, rc, "open");
      index_close_db (index);
      return FALSE;
    }
  sqlite3_busy_timeout (index->db, 30000);
  sqlite3_stmt *stmt = lin_prepare (index->db, "SELECT * FROM pragma_application_id, pragma_user_version",
                                error);
  if (stmt == NULL)
    {
      index_close_db (index);
      return FALSE;
    }
  rc = sqlite3_step (stmt);
  gint64 app = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  gint64 version = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 1) : 0;
  sqlite3_finalize (stmt);
  if (rc != SQLITE_ROW)
    {
      lin_set_sqlite_error (error, index->db, rc, "reading the header");
      index_close_db (index);
      return FALSE;
    }
  if (app != APPLICATION_ID || version != SCHEMA_VERSION)
    {
      g_set_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED,
                   "index: not a strand index of schema %d (application id %" G_GINT64_FORMAT
                   ", schema %" G_GINT64_FORMAT ")",
                   SCHEMA_VERSION, app, version);
      index_close_db (index);
      return FALSE;
    }
  if (!exec (index->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", error) ||
      !meta_read (index->db, meta, error))
    {
      index_close_db (index);
      return FALSE;
    }
  index->meta = *meta;
  return TRUE;
}

static gint64
rebuild_cache_kib (void)
{
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);
  gint64 bytes = pages > 0 && page > 0 ? (gint64) pages * page / 16 : 0;
  bytes = CLAMP (bytes, (gint64) 32 << 20, (gint64) 512 << 20);
  return bytes / 1024;
}

static gboolean
fsync_path (const char *path, gboolean directory)
{
  int fd = open (path, (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  gboolean ok = fsync (fd) == 0;
  close (fd);
  return ok;
}

/* Builds a new database from the whole log into `tmp_path`. */
static gboolean
build_into (const char *tmp_path, const char *log_path, GError **error)
{
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2 (tmp_path, &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      lin_set_sqlite_error (error, db, rc, "create");
      sqlite3_close_v2 (db);
      return FALSE;
    }
  g_autofree char *pragmas = g_strdup_printf (
      "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
      "PRAGMA threads=4;"
      "PRAGMA cache_size=-%" G_GINT64_FORMAT "; PRAGMA application_id=%d;"
      "PRAGMA user_version=%d;",
      rebuild_cache_kib (), APPLICATION_ID, SCHEMA_VERSION);
  LinMeta meta = { 0 };
  /* About one digest per kilobyte of log. */
  guint64 expected = MAX (file_size (log_path) / 1000, 1);
  g_autoptr (LinWriter) w = NULL;
  gboolean ok = exec (db, pragmas, error) && exec (db, schema_tables, error) &&
                exec (db, "BEGIN", error) &&
                (w = lin_writer_new (db, &meta, expected, error)) != NULL;
  if (ok && g_file_test (log_path, G_FILE_TEST_EXISTS))
    ok = lin_writer_add_log (w, log_path, error);
  if (ok)
    ok = meta_write (db, lin_writer_meta (w), error);
  g_clear_pointer (&w, lin_writer_free);
  ok = ok && exec (db, "COMMIT", error) && exec (db, schema_indexes, error) &&
       exec (db, "PRAGMA journal_mode=WAL", error);
  rc = sqlite3_close_v2 (db);
  if (ok && rc != SQLITE_OK)
    {
      lin_set_sqlite_error (error, NULL, rc, "closing the new index");
      ok = FALSE;
    }
  if (ok && !fsync_path (tmp_path, FALSE))
    ok = io_error (error, errno, "cannot sync", tmp_path);
  return ok;
}

/* Rebuilds with the lock held; `reason` says why, `damaged` keeps the old
 * file aside. */
static gboolean
rebuild_locked (StrandIndex *index, const char *reason, gboolean damaged, GError **error)
{
  gint64 t0 = strand_clock_monotonic_us ();
  index_close_db (index);
  g_autofree char *tmp = g_strdup_printf ("%s.rebuild-%d", index->db_path, (int) getpid ());
  g_unlink (tmp);
  remove_sidecars (tmp);
  if (!build_into (tmp, index->log_path, error))
    {
      g_unlink (tmp);
      remove_sidecars (tmp);
      return FALSE;
    }
  if (damaged && g_file_test (index->db_path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *aside = g_strconcat (index->db_path, ".damaged", NULL);
      if (g_rename (index->db_path, aside) < 0)
        g_unlink (index->db_path);
    }
  remove_sidecars (index->db_path);
  if (g_rename (tmp, index->db_path) < 0)
    {
      int saved = errno;
      g_unlink (tmp);
      return io_error (error, saved, "cannot rename the new index to", index->db_path);
    }
  g_autofree char *dir = g_path_get_dirname (index->db_path);
  fsync_path (dir, TRUE);
  LinMeta meta;
  if (!open_existing (index, &meta, error))
    return FALSE;
  g_free (index->rebuild_reason);
  index->rebuild_reason = g_strdup (reason);
  index->rebuild_seconds = (strand_clock_monotonic_us () - t0) / 1e6;
  return TRUE;
}

typedef enum {
  CATCH_UP_DONE,
  CATCH_UP_REBUILD, /* *reason says why */
  CATCH_UP_ERROR,
} CatchUp;

/* Adds what the log gained since the index last saw it, in one
 * transaction. A SQLite error leaves it in `error`; the caller tells
 * damage from the rest. */
static CatchUp
catch_up_locked (StrandIndex *index, const char *log_first, char **reason, GError **error)
{
  LinMeta meta;
  if (!meta_read (index->db, &meta, error))
    return CATCH_UP_ERROR;
  gboolean has_lines = meta.last_hash[0] != '\0';
  if (has_lines && log_first[0] == '\0')
    {
      *reason = g_strdup ("the log is empty or missing");
      return CATCH_UP_REBUILD;
    }
  if (has_lines && strcmp (meta.first_hash, log_first) != 0)
    {
      *reason = g_strdup ("the log was replaced");
      return CATCH_UP_REBUILD;
    }
  guint64 log_size = file_size (index->log_path);
  if (has_lines && log_size <= meta.last_offset)
    {
      *reason = g_strdup ("the log was cut back");
      return CATCH_UP_REBUILD;
    }
  if (log_size - meta.last_offset > CATCH_UP_REBUILD_BYTES &&
      log_size - meta.last_offset > log_size / 2)
    {
      *reason = g_strdup ("far behind the log");
      return CATCH_UP_REBUILD;
    }
  if (log_first[0] == '\0')
    return CATCH_UP_DONE;
  g_autoptr (LinWriter) w = lin_writer_new (index->db, &meta, 0, error);
  if (w == NULL)
    return CATCH_UP_ERROR;
  gboolean stale = FALSE;
  guint64 lines = 0;
  if (!lin_writer_add_since (w, index->log_path, has_lines, &stale, &lines, error))
    return CATCH_UP_ERROR;
  if (stale)
    {
      /* The line the index ended with is not where it was: the log was cut
       * back or rewritten. */
      *reason = g_strdup ("the log no longer holds the last record indexed");
      return CATCH_UP_REBUILD;
    }
  if (lines > 0 && !meta_write (index->db, lin_writer_meta (w), error))
    return CATCH_UP_ERROR;
  index->meta = *lin_writer_meta (w);
  return CATCH_UP_DONE;
}

static CatchUp
catch_up (StrandIndex *index, char **reason, GError **error)
{
  char log_first[65];
  if (!log_first_hash (index->log_path, log_first, error))
    return CATCH_UP_ERROR;
  g_autoptr (GError) local = NULL;
  CatchUp result = CATCH_UP_ERROR;
  if (exec (index->db, "BEGIN IMMEDIATE", &local))
    {
      result = catch_up_locked (index, log_first, reason, &local);
      if (result == CATCH_UP_DONE && !exec (index->db, "COMMIT", &local))
        result = CATCH_UP_ERROR;
      if (result != CATCH_UP_DONE)
        exec (index->db, "ROLLBACK", NULL);
    }
  if (result != CATCH_UP_ERROR)
    return result;
  if (g_error_matches (local, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED))
    {
      *reason = g_strdup_printf ("the database is damaged (%s)", local->message);
      return CATCH_UP_REBUILD;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return CATCH_UP_ERROR;
}

/* With the lock held: brings the database up to date with the log,
 * rebuilding when it must. */
static gboolean
refresh_locked (StrandIndex *index, gboolean *rebuilt, GError **error)
{
  g_clear_pointer (&index->rebuild_reason, g_free);
  index->rebuild_seconds = 0;
  g_autofree char *reason = NULL;
  gboolean damaged = FALSE;
  GStatBuf st;
  if (index->db != NULL &&
      (g_stat (index->db_path, &st) != 0 || st.st_dev != index->dev || st.st_ino != index->ino))
    index_close_db (index); /* another process rebuilt it, or removed it */
  if (index->db == NULL)
    {
      LinMeta meta;
      g_autoptr (GError) local = NULL;
      if (!g_file_test (index->db_path, G_FILE_TEST_EXISTS))
        reason = g_strdup ("no index yet");
      else if (!open_existing (index, &meta, &local))
        {
          if (!g_error_matches (local, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          reason = g_strdup_printf ("the database is damaged (%s)", local->message);
          damaged = TRUE;
        }
    }
  if (reason == NULL)
    switch (catch_up (index, &reason, error))
      {
      case CATCH_UP_DONE:
        break;
      case CATCH_UP_ERROR:
        return FALSE;
      case CATCH_UP_REBUILD:
        damaged = g_str_has_prefix (reason, "the database is damaged");
        break;
      }
  if (reason != NULL && !rebuild_locked (index, reason, damaged, error))
    return FALSE;
  if (rebuilt != NULL)
    *rebuilt = reason != NULL;
  return TRUE;
}

/* --- the API ---------------------------------------------------------------- */

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

StrandIndex *
strand_index_open (const char *db_path, const char *log_path, gboolean *rebuilt, GError **error)
{
  g_return_val_if_fail (db_path != NULL && log_path != NULL, NULL);
  g_autoptr (StrandIndex) index = g_new0 (StrandIndex, 1);
  index->db_path = g_strdup (db_path);
  index->log_path = g_strdup (log_path);
  index->lock_path = g_strconcat (db_path, ".lock", NULL);
  index->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                             finalize_statement);
  g_autofree char *dir = g_path_get_dirname (db_path);
  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      io_error (error, errno, "cannot make the directory", dir);
      return NULL;
    }
  int lock = lock_acquire (index->lock_path, error);
  if (lock < 0)
    return NULL;
  gboolean ok = refresh_locked (index, rebuilt, error);
  lock_release (lock);
  return ok ? g_steal_pointer (&index) : NULL;
}

void
strand_index_close (StrandIndex *index)
{
  if (index == NULL)
    return;
  index_close_db (index);
  g_hash_table_unref (index->statements);
  g_free (index->db_path);
  g_free (index->log_path);
  g_free (index->lock_path);
  g_free (index->rebuild_reason);
  g_free (index);
}

void
strand_index_remove_files (const char *db_path)
{
  g_return_if_fail (db_path != NULL);
  const char *suffixes[] = { "", "-wal", "-shm", ".lock", ".damaged" };
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (db_path, suffixes[i], NULL);
      g_unlink (p);
    }
  /* A rebuild that did not finish (DB.rebuild-PID, its -wal, -shm). */
  g_autofree char *dir = g_path_get_dirname (db_path);
  g_autofree char *base = g_path_get_basename (db_path);
  g_autofree char *prefix = g_strconcat (base, ".rebuild-", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix))
      {
        g_autofree char *p = g_build_filename (dir, name, NULL);
        g_unlink (p);
      }
}

gboolean
strand_index_update (StrandIndex *index, GError **error)
{
  int lock = lock_acquire (index->lock_path, error);
  if (lock < 0)
    return FALSE;
  gboolean ok = refresh_locked (index, NULL, error);
  lock_release (lock);
  return ok;
}

gboolean
lin_rebuild_damaged (StrandIndex *index, const char *why, GError **error)
{
  int lock = lock_acquire (index->lock_path, error);
  if (lock < 0)
    return FALSE;
  g_autofree char *reason = g_strdup_printf ("the database is damaged (%s)", why);
  gboolean ok = rebuild_locked (index, reason, TRUE, error);
  lock_release (lock);
  return ok;
}

gboolean
strand_index_rebuild (StrandIndex *index, GError **error)
{
  int lock = lock_acquire (index->lock_path, error);
  if (lock < 0)
    return FALSE;
  gboolean ok = rebuild_locked (index, "asked to", FALSE, error);
  lock_release (lock);
  return ok;
}

guint64
strand_index_last_seq (StrandIndex *index)
{
  return index->meta.last_seq;
}

void
strand_index_info (StrandIndex *index, StrandIndexInfo *info)
{
  *info = (StrandIndexInfo){
    .last_seq = index->meta.last_seq,
    .unreadable = index->meta.unreadable,
    .first_unreadable_offset = index->meta.first_unreadable,
    .rebuild_reason = index->rebuild_reason,
    .rebuild_seconds = index->rebuild_seconds,
  };
}
