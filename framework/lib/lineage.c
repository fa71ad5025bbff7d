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
 * keeps two processes from writing the index at once; readers never wait
 * for it. */
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
  "CREATE UNIQUE INDEX str_s ON str (s);"
  "CREATE TABLE records (seq INTEGER PRIMARY KEY, hash BLOB NOT NULL, offset INTEGER NOT NULL,"
  " kind INTEGER NOT NULL, run INTEGER, stage INTEGER, sample INTEGER, plugin INTEGER,"
  " plugin_version INTEGER, plugin_sha256 INTEGER, equipment INTEGER, attempt INTEGER,"
  " started INTEGER, finished INTEGER, status INTEGER, used BLOB, generated BLOB);"
  "CREATE TABLE entity (id INTEGER PRIMARY KEY, sha256 BLOB NOT NULL, size INTEGER,"
  " sample INTEGER, format INTEGER, name INTEGER);"
  "CREATE UNIQUE INDEX entity_sha256 ON entity (sha256);"
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

/* Made after the bulk of a rebuild: cheaper than keeping them up as rows
 * arrive. */
static const char schema_indexes[] =
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

static sqlite3_stmt *
prepare (sqlite3 *db, const char *sql, GError **error)
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
      stmt = prepare (index->db, sql, error);
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
  sqlite3_stmt *stmt = prepare (db, "SELECT key, value FROM meta", error);
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
  sqlite3_stmt *stmt = prepare (db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
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

/* --- writing records into the index ------------------------------------------ */

/* Recently named entities, direct-mapped: a stage's inputs are nearly
 * always the outputs of a record shortly before it. */
#define ENTITY_CACHE_SLOTS (1 << 16)

enum { MISSING_SIZE = 1, MISSING_SAMPLE = 2, MISSING_FORMAT = 4, MISSING_NAME = 8 };

typedef struct {
  guint8 sha256[32];
  gint64 id; /* 0: empty slot */
  guint8 missing; /* MISSING_*: what the row does not know yet */
} CachedEntity;

/* Rebuilds only: a Bloom filter of every digest and string added so far,
 * so that one never seen is added without being looked up first (most
 * are new: the outputs of every record, the paths of every ingest). */
typedef struct {
  guint64 *words;
  guint64 mask; /* number of bits - 1, a power of two */
} Bloom;

static void
bloom_init (Bloom *b, guint64 expected)
{
  guint64 bits = 1 << 20;
  while (bits < expected * 12 && bits < ((guint64) 1 << 34))
    bits <<= 1;
  b->words = g_new0 (guint64, bits / 64);
  b->mask = bits - 1;
}

static gboolean
bloom_check_add (Bloom *b, guint64 h1, guint64 h2, gboolean add)
{
  gboolean all = TRUE;
  h2 |= 1;
  for (guint i = 0; i < 4; i++)
    {
      guint64 bit = (h1 + i * h2) & b->mask;
      guint64 m = (guint64) 1 << (bit & 63);
      if (!(b->words[bit >> 6] & m))
        {
          all = FALSE;
          if (add)
            b->words[bit >> 6] |= m;
        }
    }
  return all;
}

static guint64
hash64 (const char *s)
{
  guint64 h = 0xcbf29ce484222325ULL; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (guchar) *s) * 0x100000001b3ULL;
  return h;
}

static guint64
mix64 (guint64 x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

typedef struct {
  sqlite3 *db;
  sqlite3_stmt *str_find, *str_add;
  sqlite3_stmt *entity_find, *entity_add, *entity_fill;
  sqlite3_stmt *record_add, *path_add;
  sqlite3_stmt *edge_add[3]; /* used, generated, removed */
  GHashTable *str_cache;     /* string -> id, for the strings that repeat */
  CachedEntity *entity_cache;
  Bloom *entities_added, *strings_added; /* NULL unless rebuilding */
  LinReader *reader;
  GByteArray *packed_used, *packed_generated;
  GArray *ids_used, *ids_generated, *ids_removed; /* gint64 */
  LinMeta meta;
  /* Catching up: the first record read must be the last one indexed. */
  gboolean check_first;
  gboolean mismatch;
  guint64 lines; /* read and indexed */
  GError *error;
} Writer;

#define STR_CACHE_MAX 65536

static void
writer_free (Writer *w)
{
  if (w == NULL)
    return;
  sqlite3_stmt *all[] = { w->str_find, w->str_add, w->entity_find, w->entity_add,
                          w->entity_fill, w->record_add, w->path_add, w->edge_add[0],
                          w->edge_add[1], w->edge_add[2] };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sqlite3_finalize (all[i]);
  g_clear_pointer (&w->str_cache, g_hash_table_unref);
  g_free (w->entity_cache);
  for (Bloom **b = (Bloom *[]){ w->entities_added, w->strings_added, NULL }; *b; b++)
    {
      g_free ((*b)->words);
      g_free (*b);
    }
  g_clear_pointer (&w->reader, lin_reader_free);
  g_byte_array_free (w->packed_used, TRUE);
  g_byte_array_free (w->packed_generated, TRUE);
  g_array_free (w->ids_used, TRUE);
  g_array_free (w->ids_generated, TRUE);
  g_array_free (w->ids_removed, TRUE);
  g_clear_error (&w->error);
  g_free (w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Writer, writer_free)

/* `expected` > 0: a rebuild into an empty database of about that many
 * entities and strings. */
static Writer *
writer_new (sqlite3 *db, const LinMeta *meta, guint64 expected, GError **error)
{
  g_autoptr (Writer) w = g_new0 (Writer, 1);
  w->db = db;
  w->meta = *meta;
  w->str_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w->entity_cache = g_new0 (CachedEntity, ENTITY_CACHE_SLOTS);
  if (expected > 0)
    {
      w->entities_added = g_new0 (Bloom, 1);
      w->strings_added = g_new0 (Bloom, 1);
      bloom_init (w->entities_added, expected);
      bloom_init (w->strings_added, expected);
    }
  w->reader = lin_reader_new ();
  w->packed_used = g_byte_array_new ();
  w->packed_generated = g_byte_array_new ();
  w->ids_used = g_array_new (FALSE, FALSE, sizeof (gint64));
  w->ids_generated = g_array_new (FALSE, FALSE, sizeof (gint64));
  w->ids_removed = g_array_new (FALSE, FALSE, sizeof (gint64));
  if ((w->str_find = prepare (db, "SELECT id FROM str WHERE s = ?", error)) == NULL ||
      (w->str_add = prepare (db, "INSERT INTO str (s) VALUES (?)", error)) == NULL ||
      (w->entity_find = prepare (db, "SELECT id, size IS NULL, sample IS NULL, format IS NULL,"
                                     " name IS NULL FROM entity WHERE sha256 = ?", error)) == NULL ||
      (w->entity_add = prepare (db, "INSERT INTO entity (sha256, size, sample, format, name)"
                                    " VALUES (?, ?, ?, ?, ?)", error)) == NULL ||
      (w->entity_fill = prepare (db, "UPDATE entity SET size = coalesce (size, ?2),"
                                     " sample = coalesce (sample, ?3), format = coalesce (format, ?4),"
                                     " name = coalesce (name, ?5) WHERE id = ?1", error)) == NULL ||
      (w->record_add = prepare (db, "INSERT INTO records VALUES"
                                    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                error)) == NULL ||
      (w->path_add = prepare (db, "INSERT OR IGNORE INTO path (path, entity) VALUES (?, ?)",
                              error)) == NULL ||
      (w->edge_add[0] = prepare (db, "INSERT OR IGNORE INTO used VALUES (?, ?)", error)) == NULL ||
      (w->edge_add[1] = prepare (db, "INSERT OR IGNORE INTO generated VALUES (?, ?)",
                                 error)) == NULL ||
      (w->edge_add[2] = prepare (db, "INSERT OR IGNORE INTO removed VALUES (?, ?)", error)) == NULL)
    return NULL;
  return g_steal_pointer (&w);
}

static gboolean
step_done (Writer *w, sqlite3_stmt *stmt, const char *what)
{
  int rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    return TRUE;
  lin_set_sqlite_error (&w->error, w->db, rc, what);
  return FALSE;
}

/* The id of string `s` (0: NULL). -1 on error. */
static gint64
str_id (Writer *w, const char *s)
{
  if (s == NULL)
    return 0;
  gpointer cached = g_hash_table_lookup (w->str_cache, s);
  if (cached != NULL)
    return GPOINTER_TO_SIZE (cached);
  gint64 id = 0;
  gboolean seen = TRUE;
  if (w->strings_added != NULL)
    {
      guint64 h = hash64 (s);
      seen = bloom_check_add (w->strings_added, h, mix64 (h), TRUE);
    }
  if (seen)
    {
      sqlite3_bind_text (w->str_find, 1, s, -1, SQLITE_STATIC);
      int rc = sqlite3_step (w->str_find);
      if (rc == SQLITE_ROW)
        id = sqlite3_column_int64 (w->str_find, 0);
      sqlite3_reset (w->str_find);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          lin_set_sqlite_error (&w->error, w->db, rc, "looking up a string");
          return -1;
        }
    }
  if (id == 0)
    {
      sqlite3_bind_text (w->str_add, 1, s, -1, SQLITE_STATIC);
      if (!step_done (w, w->str_add, "adding a string"))
        return -1;
      id = sqlite3_last_insert_rowid (w->db);
    }
  if (g_hash_table_size (w->str_cache) >= STR_CACHE_MAX)
    g_hash_table_remove_all (w->str_cache);
  g_hash_table_insert (w->str_cache, g_strdup (s), GSIZE_TO_POINTER ((gsize) id));
  return id;
}

static void
bind_id (sqlite3_stmt *stmt, int col, gint64 id)
{
  if (id > 0)
    sqlite3_bind_int64 (stmt, col, id);
  else
    sqlite3_bind_null (stmt, col);
}

static guint8
missing_of (gint64 size, gint64 sample, gint64 format, gint64 name)
{
  return (size < 0 ? MISSING_SIZE : 0) | (sample <= 0 ? MISSING_SAMPLE : 0) |
         (format <= 0 ? MISSING_FORMAT : 0) | (name <= 0 ? MISSING_NAME : 0);
}

/* The id of the entity with `sha256`, made if new; what is known of it
 * (size < 0, ids 0: unknown) fills what its row lacks. -1 on error. */
static gint64
entity_id (Writer *w, const guint8 sha256[32], gint64 size, gint64 sample, gint64 format,
           gint64 name)
{
  guint64 h1, h2;
  memcpy (&h1, sha256, 8);
  memcpy (&h2, sha256 + 8, 8);
  CachedEntity *slot = &w->entity_cache[h1 & (ENTITY_CACHE_SLOTS - 1)];
  guint8 known = (guint8) (~missing_of (size, sample, format, name) & 15);
  gint64 id = 0;
  guint8 missing = 0;
  if (slot->id != 0 && memcmp (slot->sha256, sha256, 32) == 0)
    {
      id = slot->id;
      missing = slot->missing;
    }
  else if (w->entities_added == NULL || bloom_check_add (w->entities_added, h1, h2, TRUE))
    {
      sqlite3_stmt *s = w->entity_find;
      sqlite3_bind_blob (s, 1, sha256, 32, SQLITE_STATIC);
      int rc = sqlite3_step (s);
      if (rc == SQLITE_ROW)
        {
          id = sqlite3_column_int64 (s, 0);
          missing = (sqlite3_column_int (s, 1) ? MISSING_SIZE : 0) |
                    (sqlite3_column_int (s, 2) ? MISSING_SAMPLE : 0) |
                    (sqlite3_column_int (s, 3) ? MISSING_FORMAT : 0) |
                    (sqlite3_column_int (s, 4) ? MISSING_NAME : 0);
        }
      sqlite3_reset (s);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          lin_set_sqlite_error (&w->error, w->db, rc, "looking up an entity");
          return -1;
        }
    }
  if (id != 0 && (missing & known) != 0)
    {
      sqlite3_stmt *f = w->entity_fill;
      sqlite3_bind_int64 (f, 1, id);
      if (size >= 0)
        sqlite3_bind_int64 (f, 2, size);
      else
        sqlite3_bind_null (f, 2);
      bind_id (f, 3, sample);
      bind_id (f, 4, format);
      bind_id (f, 5, name);
      if (!step_done (w, f, "updating an entity"))
        return -1;
      missing &= (guint8) ~known;
    }
  else if (id == 0)
    {
      sqlite3_stmt *a = w->entity_add;
      sqlite3_bind_blob (a, 1, sha256, 32, SQLITE_STATIC);
      if (size >= 0)
        sqlite3_bind_int64 (a, 2, size);
      else
        sqlite3_bind_null (a, 2);
      bind_id (a, 3, sample);
      bind_id (a, 4, format);
      bind_id (a, 5, name);
      if (!step_done (w, a, "adding an entity"))
        return -1;
      id = sqlite3_last_insert_rowid (w->db);
      missing = (guint8) (~known & 15);
    }
  memcpy (slot->sha256, sha256, 32);
  slot->id = id;
  slot->missing = missing;
  return id;
}

/* Entity ids of `refs` into `ids`. */
static gboolean
entity_ids (Writer *w, GArray *refs, GArray *ids, gint64 size, gint64 sample, gint64 format)
{
  g_array_set_size (ids, 0);
  for (guint i = 0; i < refs->len; i++)
    {
      LinRef *ref = &g_array_index (refs, LinRef, i);
      gint64 name = str_id (w, ref->name);
      if (name < 0)
        return FALSE;
      gint64 id = entity_id (w, ref->sha256, size, sample, format, name);
      if (id < 0)
        return FALSE;
      g_array_append_val (ids, id);
    }
  return TRUE;
}

static gboolean
add_edges (Writer *w, int table, GArray *ids, guint64 seq)
{
  sqlite3_stmt *s = w->edge_add[table];
  for (guint i = 0; i < ids->len; i++)
    {
      sqlite3_bind_int64 (s, 1, g_array_index (ids, gint64, i));
      sqlite3_bind_int64 (s, 2, (gint64) seq);
      if (!step_done (w, s, "adding an edge"))
        return FALSE;
    }
  return TRUE;
}

/* Paths are kept absolute and without "." or ".." (not resolving links:
 * the log says what the user named). Relative ones cannot be found again
 * and are not kept. */
static gboolean
add_path (Writer *w, const char *path, GArray *ids)
{
  if (path == NULL || !g_path_is_absolute (path) || ids->len == 0)
    return TRUE;
  g_autofree char *canonical = g_canonicalize_filename (path, "/");
  gint64 pid = str_id (w, canonical);
  if (pid < 0)
    return FALSE;
  for (guint i = 0; i < ids->len; i++)
    {
      sqlite3_bind_int64 (w->path_add, 1, pid);
      sqlite3_bind_int64 (w->path_add, 2, g_array_index (ids, gint64, i));
      if (!step_done (w, w->path_add, "adding a path"))
        return FALSE;
    }
  return TRUE;
}

static gboolean
index_record (Writer *w, const char *line, gsize len, guint64 seq, const char *hash,
              guint64 offset)
{
  LinRecord rec;
  g_autoptr (GError) parse_error = NULL;
  gboolean readable = lin_reader_parse (w->reader, line, len, &rec, &parse_error);
  gboolean in_order = seq > w->meta.last_seq;
  if (w->meta.first_hash[0] == '\0')
    memcpy (w->meta.first_hash, hash, 65);
  memcpy (w->meta.last_hash, hash, 65);
  w->meta.last_offset = offset;
  w->lines++;
  if (!readable || !in_order)
    {
      /* The index trusts the log and does not stop at a bad line: it is
       * counted, `strand verify` says what is wrong with it. A line with a
       * usable seq keeps its place as a record of kind "other". */
      if (w->meta.unreadable++ == 0)
        w->meta.first_unreadable = offset;
      if (!in_order)
        return TRUE;
      rec.kind = LIN_KIND_OTHER;
    }
  gint64 ids[8];
  const char *strings[8] = { rec.run, rec.stage, rec.sample, rec.plugin, rec.plugin_version,
                             rec.plugin_sha256, rec.equipment, rec.status };
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    if ((ids[i] = str_id (w, strings[i])) < 0)
      return FALSE;
  gint64 sample = ids[2];
  gint64 format = 0;
  if (rec.format != NULL && (format = str_id (w, rec.format)) < 0)
    return FALSE;

  /* Inputs first: an output that is also an input (a stage that passes a
   * file through) then keeps its first name. */
  if (!entity_ids (w, rec.used, w->ids_used, -1, 0, 0) ||
      !entity_ids (w, rec.generated, w->ids_generated, rec.size, sample, format) ||
      !entity_ids (w, rec.removed, w->ids_removed, -1, 0, 0))
    return FALSE;

  gint64 started = rec.started, finished = rec.finished;
  if (started == LIN_NO_TIME)
    started = finished;
  if (finished == LIN_NO_TIME || finished < started)
    finished = started;

  guint8 hash_bin[32];
  if (!lin_hex_to_sha256 (hash, strlen (hash), hash_bin))
    memset (hash_bin, 0, sizeof hash_bin);
  sqlite3_stmt *s = w->record_add;
  sqlite3_bind_int64 (s, 1, (gint64) seq);
  sqlite3_bind_blob (s, 2, hash_bin, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (s, 3, (gint64) offset);
  sqlite3_bind_int (s, 4, rec.kind);
  for (guint i = 0; i < 7; i++)
    bind_id (s, 5 + (int) i, ids[i]);
  if (rec.attempt >= 0)
    sqlite3_bind_int64 (s, 12, rec.attempt);
  else
    sqlite3_bind_null (s, 12);
  if (started != LIN_NO_TIME)
    {
      sqlite3_bind_int64 (s, 13, started);
      sqlite3_bind_int64 (s, 14, finished);
    }
  else
    {
      sqlite3_bind_null (s, 13);
      sqlite3_bind_null (s, 14);
    }
  bind_id (s, 15, ids[7]);
  lin_ids_pack (w->packed_used, (const gint64 *) (void *) w->ids_used->data, w->ids_used->len);
  lin_ids_pack (w->packed_generated, (const gint64 *) (void *) w->ids_generated->data,
                w->ids_generated->len);
  if (w->packed_used->len > 0)
    sqlite3_bind_blob (s, 16, w->packed_used->data, (int) w->packed_used->len, SQLITE_STATIC);
  else
    sqlite3_bind_null (s, 16);
  if (w->packed_generated->len > 0)
    sqlite3_bind_blob (s, 17, w->packed_generated->data, (int) w->packed_generated->len,
                       SQLITE_STATIC);
  else
    sqlite3_bind_null (s, 17);
  if (!step_done (w, s, "adding a record"))
    return FALSE;

  if (!add_edges (w, 0, w->ids_used, seq) || !add_edges (w, 1, w->ids_generated, seq) ||
      !add_edges (w, 2, w->ids_removed, seq))
    return FALSE;
  if (rec.kind == LIN_KIND_INGEST && !add_path (w, rec.path, w->ids_generated))
    return FALSE;
  if (rec.kind == LIN_KIND_INGEST)
    for (guint i = 0; i < rec.generated->len; i++)
      {
        /* The subject's name is the original path, too. */
        const char *name = g_array_index (rec.generated, LinRef, i).name;
        if (name != NULL && g_strcmp0 (name, rec.path) != 0)
          {
            g_autoptr (GArray) one = g_array_new (FALSE, FALSE, sizeof (gint64));
            g_array_append_val (one, g_array_index (w->ids_generated, gint64, i));
            if (!add_path (w, name, one))
              return FALSE;
          }
      }
  if (rec.kind == LIN_KIND_MATERIALIZE && !add_path (w, rec.path, w->ids_used))
    return FALSE;

  if (ids[6] > 0 && started != LIN_NO_TIME)
    w->meta.max_span = MAX (w->meta.max_span, finished - started);
  w->meta.last_seq = seq;
  return TRUE;
}

static gboolean
on_record (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
           gpointer user_data)
{
  Writer *w = user_data;
  if (w->check_first)
    {
      w->check_first = FALSE;
      if (offset != w->meta.last_offset || strcmp (hash, w->meta.last_hash) != 0)
        {
          w->mismatch = TRUE;
          return FALSE;
        }
      return TRUE; /* already indexed */
    }
  return index_record (w, line, len, seq, hash, offset);
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
      g_set_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_CORRUPT, "index: %s",
                   local->message);
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
  int rc = sqlite3_open_v2 (index->db_path, &index->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      lin_set_sqlite_error (error, index->db, rc, "open");
      index_close_db (index);
      return FALSE;
    }
  sqlite3_busy_timeout (index->db, 30000);
  sqlite3_stmt *stmt = prepare (index->db, "SELECT * FROM pragma_application_id, pragma_user_version",
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
  gint64 bytes = pages > 0 && page > 0 ? (gint64) pages * page / 8 : 0;
  bytes = CLAMP (bytes, (gint64) 64 << 20, (gint64) 2 << 30);
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
      "PRAGMA cache_size=-%" G_GINT64_FORMAT "; PRAGMA application_id=%d;"
      "PRAGMA user_version=%d;",
      rebuild_cache_kib (), APPLICATION_ID, SCHEMA_VERSION);
  LinMeta meta = { 0 };
  g_autoptr (Writer) w = NULL;
  gboolean ok = exec (db, pragmas, error) && exec (db, schema_tables, error) &&
                exec (db, "BEGIN", error) && (w = writer_new (db, &meta, MAX (file_size (log_path) / 1000, 1), error)) != NULL;
  if (ok && g_file_test (log_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr (GError) read_error = NULL;
      if (!strand_ledger_read (log_path, 0, on_record, w, &read_error) && w->error == NULL)
        g_set_error (&w->error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_CORRUPT, "index: %s",
                     read_error->message);
      if (w->error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&w->error));
          ok = FALSE;
        }
    }
  if (ok)
    ok = meta_write (db, &w->meta, error);
  g_clear_pointer (&w, writer_free);
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
  g_autoptr (Writer) w = writer_new (index->db, &meta, 0, error);
  if (w == NULL)
    return CATCH_UP_ERROR;
  w->check_first = has_lines;
  g_autoptr (GError) read_error = NULL;
  gboolean read_ok = strand_ledger_read (index->log_path, has_lines ? meta.last_offset : 0,
                                         on_record, w, &read_error);
  if (w->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&w->error));
      return CATCH_UP_ERROR;
    }
  if (!read_ok || w->mismatch || w->check_first)
    {
      /* The line the index ended with is not where it was: the log was cut
       * back or rewritten. */
      *reason = g_strdup ("the log no longer holds the last record indexed");
      return CATCH_UP_REBUILD;
    }
  if (w->lines > 0 && !meta_write (index->db, &w->meta, error))
    return CATCH_UP_ERROR;
  index->meta = w->meta;
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
