/* Writing records into the index (lineage-private.h): one record at a time
 * when catching up, the whole log in two threads when rebuilding.
 *
 * A record's strings are interned (table str) and its digests made
 * entities, each looked up before it is added. Catching up looks them up in
 * the unique indexes; a rebuild has none until the end (random inserts into
 * those b-trees would be most of its time), and looks up in maps of its own
 * instead: see IdMap. */
#include <string.h>

#include "ledger.h"
#include "lineage-private.h"

/* The ledger could not read the log: an I/O error stays one, anything else
 * is a log that cannot be read. */
void
lin_set_ledger_error (GError **error, const GError *ledger_error)
{
  gboolean io = g_error_matches (ledger_error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_IO);
  g_set_error (error, STRAND_INDEX_ERROR, io ? STRAND_INDEX_ERROR_IO : STRAND_INDEX_ERROR_CORRUPT,
               "index: %s", ledger_error->message);
}

/* Recently named entities, direct-mapped: a stage's inputs are nearly
 * always the outputs of a record shortly before it. */
#define ENTITY_CACHE_SLOTS (1 << 16)

enum { MISSING_SIZE = 1, MISSING_SAMPLE = 2, MISSING_FORMAT = 4, MISSING_NAME = 8 };

typedef struct {
  guint8 sha256[32];
  gint64 id; /* 0: empty slot */
  guint8 missing; /* MISSING_*: what the row does not know yet */
} CachedEntity;

/* Rebuilds only: every digest and string added so far, by a 64-bit key (a
 * digest's first 8 bytes, a string's FNV-1a hash) -> row id. Keys can
 * repeat; the row says which one is meant. With it the new database needs
 * no unique index while it fills: random inserts into those b-trees would
 * be most of a rebuild's time; sorting makes them at the end instead. 12
 * bytes a slot, at most 3/4 full: ~400 MB for 10 million records. */
typedef struct {
  guint64 *keys;
  guint32 *ids; /* 0: an empty slot */
  gsize mask;
  gsize used;
} IdMap;

static guint64 mix64 (guint64 x);

static void
idmap_init (IdMap *m, gsize capacity)
{
  m->keys = g_new (guint64, capacity);
  m->ids = g_new0 (guint32, capacity);
  m->mask = capacity - 1;
  m->used = 0;
}

static void
idmap_clear (IdMap *m)
{
  g_free (m->keys);
  g_free (m->ids);
}

static gsize
idmap_slot (const IdMap *m, guint64 key)
{
  return mix64 (key) & m->mask;
}

static void
idmap_put (IdMap *m, guint64 key, guint32 id)
{
  gsize i = idmap_slot (m, key);
  while (m->ids[i] != 0)
    i = (i + 1) & m->mask;
  m->keys[i] = key;
  m->ids[i] = id;
  m->used++;
}

static void
idmap_add (IdMap *m, guint64 key, guint32 id)
{
  if ((m->used + 1) * 4 > (m->mask + 1) * 3)
    {
      IdMap bigger;
      idmap_init (&bigger, (m->mask + 1) * 2);
      for (gsize i = 0; i <= m->mask; i++)
        if (m->ids[i] != 0)
          idmap_put (&bigger, m->keys[i], m->ids[i]);
      idmap_clear (m);
      *m = bigger;
    }
  idmap_put (m, key, id);
}

/* The ids stored under `key`: start with *cursor = idmap_slot (), call
 * until it returns 0. */
static guint32
idmap_next (const IdMap *m, guint64 key, gsize *cursor)
{
  while (m->ids[*cursor] != 0)
    {
      gsize i = *cursor;
      *cursor = (i + 1) & m->mask;
      if (m->keys[i] == key)
        return m->ids[i];
    }
  return 0;
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
  x *= 0xc4ceb3f99e1b87d7ULL;
  x ^= x >> 33;
  return x;
}

struct LinWriter {
  sqlite3 *db;
  sqlite3_stmt *str_find, *str_add;
  sqlite3_stmt *entity_find, *entity_add, *entity_fill;
  sqlite3_stmt *record_add, *path_add;
  sqlite3_stmt *edge_add[3]; /* used, generated, removed */
  GHashTable *str_cache;     /* string -> id, for the strings that repeat */
  CachedEntity *entity_cache;
  /* Rebuilding: the maps stand in for the unique indexes, and rows are
   * looked up by id. */
  gboolean rebuilding;
  IdMap entities, strings;
  sqlite3_stmt *str_by_id, *entity_by_id;
  LinReader *reader;
  GByteArray *packed_used, *packed_generated;
  GArray *ids_used, *ids_generated, *ids_removed; /* gint64 */
  LinMeta meta;
  /* Catching up: the first record read must be the last one indexed. */
  gboolean check_first;
  gboolean mismatch;
  guint64 lines; /* read and indexed */
  GError *error;
};

#define STR_CACHE_MAX 65536

void
lin_writer_free (LinWriter *w)
{
  if (w == NULL)
    return;
  sqlite3_stmt *all[] = { w->str_find, w->str_add, w->entity_find, w->entity_add,
                          w->entity_fill, w->record_add, w->path_add, w->edge_add[0],
                          w->edge_add[1], w->edge_add[2], w->str_by_id, w->entity_by_id };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sqlite3_finalize (all[i]);
  g_clear_pointer (&w->str_cache, g_hash_table_unref);
  g_free (w->entity_cache);
  if (w->rebuilding)
    {
      idmap_clear (&w->entities);
      idmap_clear (&w->strings);
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

LinWriter *
lin_writer_new (sqlite3 *db, const LinMeta *meta, guint64 expected, GError **error)
{
  g_autoptr (LinWriter) w = g_new0 (LinWriter, 1);
  w->db = db;
  w->meta = *meta;
  w->str_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w->entity_cache = g_new0 (CachedEntity, ENTITY_CACHE_SLOTS);
  w->reader = lin_reader_new ();
  w->packed_used = g_byte_array_new ();
  w->packed_generated = g_byte_array_new ();
  w->ids_used = g_array_new (FALSE, FALSE, sizeof (gint64));
  w->ids_generated = g_array_new (FALSE, FALSE, sizeof (gint64));
  w->ids_removed = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (expected > 0)
    {
      gsize capacity = 1 << 16;
      while (capacity * 3 / 4 < expected && capacity < ((gsize) 1 << 34))
        capacity <<= 1;
      w->rebuilding = TRUE;
      idmap_init (&w->entities, capacity);
      idmap_init (&w->strings, MAX (capacity / 4, 1 << 16));
      if ((w->str_by_id = lin_prepare (db, "SELECT s FROM str WHERE id = ?", error)) == NULL ||
          (w->entity_by_id = lin_prepare (db, "SELECT sha256, size IS NULL, sample IS NULL,"
                                          " format IS NULL, name IS NULL FROM entity WHERE id = ?",
                                      error)) == NULL)
        return NULL;
    }
  if ((w->str_find = lin_prepare (db, "SELECT id FROM str WHERE s = ?", error)) == NULL ||
      (w->str_add = lin_prepare (db, "INSERT INTO str (s) VALUES (?)", error)) == NULL ||
      (w->entity_find = lin_prepare (db, "SELECT id, size IS NULL, sample IS NULL, format IS NULL,"
                                     " name IS NULL FROM entity WHERE sha256 = ?", error)) == NULL ||
      (w->entity_add = lin_prepare (db, "INSERT INTO entity (sha256, size, sample, format, name)"
                                    " VALUES (?, ?, ?, ?, ?)", error)) == NULL ||
      (w->entity_fill = lin_prepare (db, "UPDATE entity SET size = coalesce (size, ?2),"
                                     " sample = coalesce (sample, ?3), format = coalesce (format, ?4),"
                                     " name = coalesce (name, ?5) WHERE id = ?1", error)) == NULL ||
      (w->record_add = lin_prepare (db, "INSERT INTO records VALUES"
                                    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                error)) == NULL ||
      (w->path_add = lin_prepare (db, "INSERT OR IGNORE INTO path (path, entity) VALUES (?, ?)",
                              error)) == NULL ||
      (w->edge_add[0] = lin_prepare (db, "INSERT OR IGNORE INTO used VALUES (?, ?)", error)) == NULL ||
      (w->edge_add[1] = lin_prepare (db, "INSERT OR IGNORE INTO generated VALUES (?, ?)",
                                 error)) == NULL ||
      (w->edge_add[2] = lin_prepare (db, "INSERT OR IGNORE INTO removed VALUES (?, ?)", error)) == NULL)
    return NULL;
  return g_steal_pointer (&w);
}

static gboolean
step_done (LinWriter *w, sqlite3_stmt *stmt, const char *what)
{
  int rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_DONE)
    return TRUE;
  lin_set_sqlite_error (&w->error, w->db, rc, what);
  return FALSE;
}

static gboolean
map_add (LinWriter *w, IdMap *m, guint64 key, gint64 id)
{
  if (id > G_MAXUINT32)
    {
      g_set_error_literal (&w->error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_IO,
                           "index: more than 2^32 digests or strings");
      return FALSE;
    }
  idmap_add (m, key, (guint32) id);
  return TRUE;
}

/* The id of string `s` (0: NULL). -1 on error. */
static gint64
str_id (LinWriter *w, const char *s)
{
  if (s == NULL)
    return 0;
  gpointer cached = g_hash_table_lookup (w->str_cache, s);
  if (cached != NULL)
    return GPOINTER_TO_SIZE (cached);
  gint64 id = 0;
  guint64 key = 0;
  if (w->rebuilding)
    {
      key = hash64 (s);
      gsize cursor = idmap_slot (&w->strings, key);
      guint32 candidate;
      while (id == 0 && (candidate = idmap_next (&w->strings, key, &cursor)) != 0)
        {
          sqlite3_bind_int64 (w->str_by_id, 1, candidate);
          int rc = sqlite3_step (w->str_by_id);
          if (rc == SQLITE_ROW && g_strcmp0 ((const char *) sqlite3_column_text (w->str_by_id, 0), s) == 0)
            id = candidate;
          sqlite3_reset (w->str_by_id);
          if (rc != SQLITE_ROW)
            {
              lin_set_sqlite_error (&w->error, w->db, rc, "looking up a string");
              return -1;
            }
        }
    }
  else
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
      if (w->rebuilding && !map_add (w, &w->strings, key, id))
        return -1;
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
entity_id (LinWriter *w, const guint8 sha256[32], gint64 size, gint64 sample, gint64 format,
           gint64 name)
{
  guint64 h1;
  memcpy (&h1, sha256, 8);
  CachedEntity *slot = &w->entity_cache[h1 & (ENTITY_CACHE_SLOTS - 1)];
  guint8 known = (guint8) (~missing_of (size, sample, format, name) & 15);
  gint64 id = 0;
  guint8 missing = 0;
  if (slot->id != 0 && memcmp (slot->sha256, sha256, 32) == 0)
    {
      id = slot->id;
      missing = slot->missing;
    }
  else if (w->rebuilding)
    {
      sqlite3_stmt *s = w->entity_by_id;
      gsize cursor = idmap_slot (&w->entities, h1);
      guint32 candidate;
      while (id == 0 && (candidate = idmap_next (&w->entities, h1, &cursor)) != 0)
        {
          sqlite3_bind_int64 (s, 1, candidate);
          int rc = sqlite3_step (s);
          if (rc == SQLITE_ROW && sqlite3_column_bytes (s, 0) == 32 &&
              memcmp (sqlite3_column_blob (s, 0), sha256, 32) == 0)
            {
              id = candidate;
              missing = (sqlite3_column_int (s, 1) ? MISSING_SIZE : 0) |
                        (sqlite3_column_int (s, 2) ? MISSING_SAMPLE : 0) |
                        (sqlite3_column_int (s, 3) ? MISSING_FORMAT : 0) |
                        (sqlite3_column_int (s, 4) ? MISSING_NAME : 0);
            }
          sqlite3_reset (s);
          if (rc != SQLITE_ROW)
            {
              lin_set_sqlite_error (&w->error, w->db, rc, "looking up an entity");
              return -1;
            }
        }
    }
  else
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
      if (w->rebuilding && !map_add (w, &w->entities, h1, id))
        return -1;
    }
  memcpy (slot->sha256, sha256, 32);
  slot->id = id;
  slot->missing = missing;
  return id;
}

/* Entity ids of `refs` into `ids`. */
static gboolean
entity_ids (LinWriter *w, GArray *refs, GArray *ids, gint64 size, gint64 sample, gint64 format)
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
add_edges (LinWriter *w, int table, GArray *ids, guint64 seq)
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
add_path (LinWriter *w, const char *path, GArray *ids)
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

/* Adds one record, read (`readable`) or not, to the index. */
static gboolean
index_parsed (LinWriter *w, LinRecord *r, gboolean readable, guint64 seq, const char *hash,
              guint64 offset)
{
  LinRecord rec = *r;
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
           gpointer user_data);

const LinMeta *
lin_writer_meta (LinWriter *w)
{
  return &w->meta;
}

gboolean
lin_writer_add_since (LinWriter *w, const char *log_path, gboolean check_first, gboolean *stale,
                      guint64 *lines, GError **error)
{
  w->check_first = check_first;
  g_autoptr (GError) read_error = NULL;
  gboolean read_ok = strand_ledger_read (log_path, check_first ? w->meta.last_offset : 0,
                                         on_record, w, &read_error);
  if (w->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&w->error));
      return FALSE;
    }
  *stale = !read_ok || w->mismatch || w->check_first;
  *lines = w->lines;
  return TRUE;
}

static gboolean
on_record (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
           gpointer user_data)
{
  LinWriter *w = user_data;
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
  LinRecord rec;
  gboolean readable = lin_reader_parse (w->reader, line, len, &rec, NULL);
  return index_parsed (w, &rec, readable, seq, hash, offset);
}

/* --- rebuilding in two threads -------------------------------------------------
 *
 * A rebuild reads, hashes and parses the log in a second thread while this
 * one writes the database; the halves cost about the same. Parsed records
 * travel in batches, their strings copied into the batch. */

#define BATCH_RECORDS 2048
#define BATCHES 4

typedef struct {
  LinRecord rec;   /* its used, generated and removed are ranges of the batch's refs */
  guint ref_at[3], ref_n[3];
  gboolean readable;
  guint64 seq, offset;
  char hash[65];
} BatchItem;

typedef struct {
  GStringChunk *strings;
  GArray *items; /* BatchItem */
  GArray *refs;  /* LinRef */
  gboolean last;
  GError *error; /* the log could not be read (last batch only) */
} Batch;

typedef struct {
  const char *log_path;
  GAsyncQueue *full, *empty;
  LinReader *reader;
  Batch *current;
  gint stop; /* atomic: the writer gave up */
} Pipe;

static const char *
batch_keep (Batch *b, const char *s)
{
  return s != NULL ? g_string_chunk_insert (b->strings, s) : NULL;
}

static gboolean
pipe_line (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
           gpointer user_data)
{
  Pipe *p = user_data;
  if (g_atomic_int_get (&p->stop))
    return FALSE;
  if (p->current == NULL)
    p->current = g_async_queue_pop (p->empty);
  Batch *b = p->current;
  LinRecord rec;
  BatchItem item = { .seq = seq, .offset = offset };
  item.readable = lin_reader_parse (p->reader, line, len, &rec, NULL);
  memcpy (item.hash, hash, 65);
  item.rec = rec;
  const char **strings[] = { &item.rec.run, &item.rec.stage, &item.rec.sample, &item.rec.plugin,
                             &item.rec.plugin_version, &item.rec.equipment, &item.rec.status,
                             &item.rec.plugin_sha256, &item.rec.path, &item.rec.format };
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    *strings[i] = batch_keep (b, *strings[i]);
  GArray *refs[3] = { rec.used, rec.generated, rec.removed };
  for (guint k = 0; k < 3; k++)
    {
      item.ref_at[k] = b->refs->len;
      item.ref_n[k] = refs[k]->len;
      for (guint i = 0; i < refs[k]->len; i++)
        {
          LinRef ref = g_array_index (refs[k], LinRef, i);
          ref.name = batch_keep (b, ref.name);
          g_array_append_val (b->refs, ref);
        }
    }
  item.rec.used = item.rec.generated = item.rec.removed = NULL;
  g_array_append_val (b->items, item);
  if (b->items->len == BATCH_RECORDS)
    {
      g_async_queue_push (p->full, b);
      p->current = NULL;
    }
  return TRUE;
}

static gpointer
pipe_thread (gpointer data)
{
  Pipe *p = data;
  GError *error = NULL;
  gboolean ok = strand_ledger_read (p->log_path, 0, pipe_line, p, &error);
  Batch *b = p->current != NULL ? p->current : g_async_queue_pop (p->empty);
  p->current = NULL;
  b->last = TRUE;
  if (!ok)
    b->error = error;
  g_async_queue_push (p->full, b);
  return NULL;
}

gboolean
lin_writer_add_log (LinWriter *w, const char *log_path, GError **error)
{
  Pipe p = { .log_path = log_path, .full = g_async_queue_new (), .empty = g_async_queue_new (),
             .reader = lin_reader_new () };
  Batch batches[BATCHES];
  for (guint i = 0; i < BATCHES; i++)
    {
      batches[i] = (Batch){ .strings = g_string_chunk_new (64 * 1024),
                            .items = g_array_sized_new (FALSE, FALSE, sizeof (BatchItem),
                                                        BATCH_RECORDS),
                            .refs = g_array_new (FALSE, FALSE, sizeof (LinRef)) };
      g_async_queue_push (p.empty, &batches[i]);
    }
  GArray *scratch[3];
  for (guint k = 0; k < 3; k++)
    scratch[k] = g_array_new (FALSE, FALSE, sizeof (LinRef));
  GThread *thread = g_thread_new ("strand-index", pipe_thread, &p);
  for (gboolean last = FALSE; !last;)
    {
      Batch *b = g_async_queue_pop (p.full);
      for (guint i = 0; i < b->items->len && !g_atomic_int_get (&p.stop); i++)
        {
          BatchItem *it = &g_array_index (b->items, BatchItem, i);
          for (guint k = 0; k < 3; k++)
            {
              g_array_set_size (scratch[k], 0);
              g_array_append_vals (scratch[k], &g_array_index (b->refs, LinRef, it->ref_at[k]),
                                   it->ref_n[k]);
            }
          it->rec.used = scratch[0];
          it->rec.generated = scratch[1];
          it->rec.removed = scratch[2];
          if (!index_parsed (w, &it->rec, it->readable, it->seq, it->hash, it->offset))
            g_atomic_int_set (&p.stop, 1);
        }
      if (b->error != NULL && w->error == NULL)
        lin_set_ledger_error (&w->error, b->error);
      last = b->last;
      g_clear_error (&b->error);
      g_string_chunk_clear (b->strings);
      g_array_set_size (b->items, 0);
      g_array_set_size (b->refs, 0);
      g_async_queue_push (p.empty, b);
    }
  g_thread_join (thread);
  for (guint i = 0; i < BATCHES; i++)
    {
      g_string_chunk_free (batches[i].strings);
      g_array_free (batches[i].items, TRUE);
      g_array_free (batches[i].refs, TRUE);
    }
  for (guint k = 0; k < 3; k++)
    g_array_free (scratch[k], TRUE);
  g_async_queue_unref (p.full);
  g_async_queue_unref (p.empty);
  lin_reader_free (p.reader);
  if (w->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&w->error));
      return FALSE;
    }
  return TRUE;
}

