/* The questions the index answers (lineage.h): lineage up and down from a
 * target, what ran on an instrument in a time window, which digests are
 * still live. Breadth first over prepared statements; a query reads a few
 * rows per record it returns, whatever the size of the index. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "lineage-private.h"

typedef struct {
  gint64 seq;
  LinKind kind;
  char *run, *stage, *sample, *plugin, *plugin_version, *plugin_sha256, *equipment, *status;
  gint64 attempt;  /* -1: none */
  gint64 started;  /* LIN_NO_TIME: none */
  gint64 finished;
  GArray *used, *generated; /* entity ids */
} Activity;

static void
activity_free (gpointer p)
{
  Activity *a = p;
  g_free (a->run);
  g_free (a->stage);
  g_free (a->sample);
  g_free (a->plugin);
  g_free (a->plugin_version);
  g_free (a->plugin_sha256);
  g_free (a->equipment);
  g_free (a->status);
  g_array_free (a->used, TRUE);
  g_array_free (a->generated, TRUE);
  g_free (a);
}

/* One question being answered. */
typedef struct {
  StrandIndex *index;
  GHashTable *activities; /* seq -> Activity */
  GHashTable *entities;   /* entity ids named in the answer (set) */
  GError *error;
} Answer;

static void
answer_clear (Answer *a)
{
  g_clear_pointer (&a->activities, g_hash_table_unref);
  g_clear_pointer (&a->entities, g_hash_table_unref);
  g_clear_error (&a->error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Answer, answer_clear)

static void
answer_init (Answer *a, StrandIndex *index)
{
  *a = (Answer){
    .index = index,
    .activities = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, activity_free),
    .entities = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL),
  };
}

static gboolean
add_entity (Answer *a, gint64 id)
{
  if (g_hash_table_contains (a->entities, &id))
    return FALSE;
  gint64 *key = g_new (gint64, 1);
  *key = id;
  g_hash_table_add (a->entities, key);
  return TRUE;
}

static gboolean
step_failed (Answer *a, sqlite3_stmt *stmt, int rc, const char *what)
{
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return FALSE;
  lin_set_sqlite_error (&a->error, sqlite3_db_handle (stmt), rc, what);
  return TRUE;
}

static char *
column_strdup (sqlite3_stmt *stmt, int col)
{
  return g_strdup ((const char *) sqlite3_column_text (stmt, col));
}

#define ACTIVITY_SQL                                                                           \
  "SELECT r.kind, r.attempt, r.started, r.finished, r.used, r.generated,"                      \
  " (SELECT s FROM str WHERE id = r.run), (SELECT s FROM str WHERE id = r.stage),"              \
  " (SELECT s FROM str WHERE id = r.sample), (SELECT s FROM str WHERE id = r.plugin),"          \
  " (SELECT s FROM str WHERE id = r.plugin_version),"                                          \
  " (SELECT s FROM str WHERE id = r.plugin_sha256),"                                           \
  " (SELECT s FROM str WHERE id = r.equipment), (SELECT s FROM str WHERE id = r.status)"        \
  " FROM records r WHERE r.seq = ?"

/* Reads record `seq` into the answer (once); returns it, or NULL when it
 * is already there (`*seen` TRUE) or on error. */
static Activity *
visit (Answer *a, gint64 seq, gboolean *seen)
{
  *seen = g_hash_table_contains (a->activities, &seq);
  if (*seen)
    return NULL;
  sqlite3_stmt *stmt = lin_statement (a->index, ACTIVITY_SQL, &a->error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, seq);
  int rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      if (!step_failed (a, stmt, rc, "reading a record"))
        g_set_error (&a->error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED,
                     "index: record %" G_GINT64_FORMAT " is missing", seq);
      sqlite3_reset (stmt);
      return NULL;
    }
  Activity *act = g_new0 (Activity, 1);
  act->seq = seq;
  act->kind = sqlite3_column_int (stmt, 0);
  act->attempt = sqlite3_column_type (stmt, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64 (stmt, 1);
  act->started = sqlite3_column_type (stmt, 2) == SQLITE_NULL ? LIN_NO_TIME
                                                               : sqlite3_column_int64 (stmt, 2);
  act->finished = sqlite3_column_type (stmt, 3) == SQLITE_NULL ? LIN_NO_TIME
                                                                : sqlite3_column_int64 (stmt, 3);
  act->used = g_array_new (FALSE, FALSE, sizeof (gint64));
  act->generated = g_array_new (FALSE, FALSE, sizeof (gint64));
  gboolean ok = lin_ids_unpack (sqlite3_column_blob (stmt, 4), (gsize) sqlite3_column_bytes (stmt, 4),
                                act->used) &&
                lin_ids_unpack (sqlite3_column_blob (stmt, 5),
                                (gsize) sqlite3_column_bytes (stmt, 5), act->generated);
  char **fields[] = { &act->run, &act->stage, &act->sample, &act->plugin, &act->plugin_version,
                      &act->plugin_sha256, &act->equipment, &act->status };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    *fields[i] = column_strdup (stmt, 6 + (int) i);
  sqlite3_reset (stmt);
  g_hash_table_insert (a->activities, &act->seq, act);
  if (!ok)
    {
      g_set_error (&a->error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED,
                   "index: record %" G_GINT64_FORMAT " has a damaged id list", seq);
      return NULL;
    }
  for (guint i = 0; i < act->used->len; i++)
    add_entity (a, g_array_index (act->used, gint64, i));
  for (guint i = 0; i < act->generated->len; i++)
    add_entity (a, g_array_index (act->generated, gint64, i));
  return act;
}

/* Ints of the single column of `sql` with `key` bound, appended to `out`. */
static gboolean
collect (Answer *a, const char *sql, gint64 key, GArray *out)
{
  sqlite3_stmt *stmt = lin_statement (a->index, sql, &a->error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, key);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 v = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (out, v);
    }
  sqlite3_reset (stmt);
  return !step_failed (a, stmt, rc, "reading the index");
}

/* Breadth first from `entities` (level 0) and `seeds` (records, level 1). */
static gboolean
walk (Answer *a, GArray *entities, GArray *seeds, StrandLineageDirection direction, int depth)
{
  gboolean up = direction == STRAND_LINEAGE_UP;
  const char *records_of = up ? "SELECT seq FROM generated WHERE entity = ?"
                              : "SELECT seq FROM used WHERE entity = ?";
  g_autoptr (GHashTable) queued = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr (GArray) frontier = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) next = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) seqs = g_array_new (FALSE, FALSE, sizeof (gint64));

#define QUEUE(id_)                                                                              \
  do                                                                                            \
    {                                                                                           \
      gint64 id__ = (id_);                                                                      \
      if (!g_hash_table_contains (queued, &id__))                                               \
        {                                                                                       \
          g_hash_table_add (queued, g_memdup2 (&id__, sizeof id__));                            \
          g_array_append_val (next, id__);                                                      \
        }                                                                                       \
    }                                                                                           \
  while (0)

  int level = 0;
  for (guint i = 0; i < entities->len; i++)
    {
      add_entity (a, g_array_index (entities, gint64, i));
      QUEUE (g_array_index (entities, gint64, i));
    }
  if (seeds->len > 0 && depth != 0)
    {
      level = 1;
      for (guint i = 0; i < seeds->len; i++)
        {
          gboolean seen;
          Activity *act = visit (a, g_array_index (seeds, gint64, i), &seen);
          if (act == NULL && a->error != NULL)
            return FALSE;
          GArray *onward = act == NULL ? NULL : up ? act->used : act->generated;
          for (guint j = 0; onward != NULL && j < onward->len; j++)
            QUEUE (g_array_index (onward, gint64, j));
        }
    }
  while (next->len > 0 && (depth < 0 || level < depth))
    {
      level++;
      GArray *swap = frontier;
      frontier = next;
      next = swap;
      g_array_set_size (next, 0);
      for (guint i = 0; i < frontier->len; i++)
        {
          g_array_set_size (seqs, 0);
          if (!collect (a, records_of, g_array_index (frontier, gint64, i), seqs))
            return FALSE;
          for (guint k = 0; k < seqs->len; k++)
            {
              gboolean seen;
              Activity *act = visit (a, g_array_index (seqs, gint64, k), &seen);
              if (act == NULL && a->error != NULL)
                return FALSE;
              GArray *onward = act == NULL ? NULL : up ? act->used : act->generated;
              for (guint j = 0; onward != NULL && j < onward->len; j++)
                QUEUE (g_array_index (onward, gint64, j));
            }
        }
    }
#undef QUEUE
  return TRUE;
}

/* --- the answer as JSON ----------------------------------------------------- */

static int
compare_int64 (gconstpointer x, gconstpointer y)
{
  gint64 a = *(const gint64 *) x, b = *(const gint64 *) y;
  return (a > b) - (a < b);
}

static GArray *
sorted_keys (GHashTable *table)
{
  GArray *keys = g_array_sized_new (FALSE, FALSE, sizeof (gint64), g_hash_table_size (table));
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_array_append_val (keys, *(gint64 *) key);
  g_array_sort (keys, compare_int64);
  return keys;
}

static void
add_string_or_null (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_time (JsonBuilder *b, const char *name, gint64 t)
{
  json_builder_set_member_name (b, name);
  if (t == LIN_NO_TIME || t == G_MAXINT64) /* none, or an open end of a window */
    {
      json_builder_add_null_value (b);
      return;
    }
  g_autofree char *text = strand_clock_format_rfc3339 (t);
  json_builder_add_string_value (b, text);
}

/* The entities of the answer, in id order (the order the log first named
 * them); fills `hex` (id -> 64-hex). */
static gboolean
add_entities (Answer *a, JsonBuilder *b, GHashTable *hex)
{
  g_autoptr (GArray) ids = sorted_keys (a->entities);
  if (b != NULL)
    {
      json_builder_set_member_name (b, "entities");
      json_builder_begin_array (b);
    }
  for (guint i = 0; i < ids->len; i++)
    {
      gint64 id = g_array_index (ids, gint64, i);
      sqlite3_stmt *entity = lin_statement (
          a->index,
          "SELECT e.sha256, e.size, (SELECT s FROM str WHERE id = e.sample),"
          " (SELECT s FROM str WHERE id = e.name) FROM entity e WHERE e.id = ?",
          &a->error);
      if (entity == NULL)
        return FALSE;
      sqlite3_bind_int64 (entity, 1, id);
      int rc = sqlite3_step (entity);
      if (rc != SQLITE_ROW || sqlite3_column_bytes (entity, 0) != 32)
        {
          if (!step_failed (a, entity, rc, "reading an entity"))
            g_set_error (&a->error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_DAMAGED,
                         "index: entity %" G_GINT64_FORMAT " is missing", id);
          sqlite3_reset (entity);
          return FALSE;
        }
      char *text = g_malloc (65);
      lin_sha256_to_hex (sqlite3_column_blob (entity, 0), text);
      g_hash_table_insert (hex, g_memdup2 (&id, sizeof id), text);
      gboolean has_size = sqlite3_column_type (entity, 1) != SQLITE_NULL;
      gint64 size = sqlite3_column_int64 (entity, 1);
      g_autofree char *sample = column_strdup (entity, 2);
      g_autofree char *name = column_strdup (entity, 3);
      sqlite3_reset (entity);
      if (b == NULL)
        continue;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, text);
      json_builder_set_member_name (b, "names");
      json_builder_begin_array (b);
      if (name != NULL)
        json_builder_add_string_value (b, name);
      sqlite3_stmt *paths = lin_statement (
          a->index,
          "SELECT s FROM path JOIN str ON str.id = path.path WHERE path.entity = ? ORDER BY s",
          &a->error);
      if (paths == NULL)
        return FALSE;
      sqlite3_bind_int64 (paths, 1, id);
      while ((rc = sqlite3_step (paths)) == SQLITE_ROW)
        {
          const char *p = (const char *) sqlite3_column_text (paths, 0);
          if (p != NULL && g_strcmp0 (p, name) != 0)
            json_builder_add_string_value (b, p);
        }
      sqlite3_reset (paths);
      if (step_failed (a, paths, rc, "reading paths"))
        return FALSE;
      json_builder_end_array (b);
      if (has_size)
        {
          json_builder_set_member_name (b, "size");
          json_builder_add_int_value (b, size);
        }
      if (sample != NULL)
        {
          json_builder_set_member_name (b, "sample");
          json_builder_add_string_value (b, sample);
        }
      json_builder_end_object (b);
    }
  if (b != NULL)
    json_builder_end_array (b);
  return TRUE;
}

static void
add_digests (JsonBuilder *b, const char *name, GArray *ids, GHashTable *hex)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *text = g_hash_table_lookup (hex, &g_array_index (ids, gint64, i));
      if (text != NULL)
        json_builder_add_string_value (b, text);
    }
  json_builder_end_array (b);
}

static void
add_activities (Answer *a, JsonBuilder *b, GHashTable *hex)
{
  g_autoptr (GArray) seqs = sorted_keys (a->activities);
  json_builder_set_member_name (b, "activities");
  json_builder_begin_array (b);
  for (guint i = 0; i < seqs->len; i++)
    {
      Activity *act = g_hash_table_lookup (a->activities, &g_array_index (seqs, gint64, i));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, act->seq);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, lin_kind_name (act->kind));
      add_string_or_null (b, "run", act->run);
      add_string_or_null (b, "stage", act->stage);
      add_string_or_null (b, "sample", act->sample);
      add_string_or_null (b, "plugin", act->plugin);
      add_string_or_null (b, "plugin_version", act->plugin_version);
      add_string_or_null (b, "plugin_sha256", act->plugin_sha256);
      add_string_or_null (b, "equipment", act->equipment);
      json_builder_set_member_name (b, "attempt");
      if (act->attempt >= 0)
        json_builder_add_int_value (b, act->attempt);
      else
        json_builder_add_null_value (b);
      add_time (b, "started", act->started);
      add_time (b, "finished", act->finished);
      add_string_or_null (b, "status", act->status);
      add_digests (b, "used", act->used, hex);
      add_digests (b, "generated", act->generated, hex);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* Fills entities and activities into an open object of `b`. */
static gboolean
build_answer (Answer *a, JsonBuilder *b)
{
  g_autoptr (GHashTable) hex = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  if (!add_entities (a, b, hex))
    return FALSE;
  add_activities (a, b, hex);
  return TRUE;
}

/* --- targets ------------------------------------------------------------------ */

static gint64
string_id (Answer *a, const char *s)
{
  sqlite3_stmt *stmt = lin_statement (a->index, "SELECT id FROM str WHERE s = ?", &a->error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, s, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (stmt);
  gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
  sqlite3_reset (stmt);
  return step_failed (a, stmt, rc, "looking up a name") ? -1 : id;
}

static gboolean
is_hex (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* Entities whose digest starts with `hex` (lower case, 12..64 digits); at
 * most two, enough to tell "unique" from "ambiguous". */
static gboolean
digest_prefix (Answer *a, const char *hex, GArray *out)
{
  char lo[65], hi[65];
  gsize n = strlen (hex);
  memcpy (lo, hex, n);
  memcpy (hi, hex, n);
  memset (lo + n, '0', 64 - n);
  memset (hi + n, 'f', 64 - n);
  guint8 lo_bin[32], hi_bin[32];
  lin_hex_to_sha256 (lo, 64, lo_bin);
  lin_hex_to_sha256 (hi, 64, hi_bin);
  sqlite3_stmt *stmt = lin_statement (
      a->index, "SELECT id FROM entity WHERE sha256 BETWEEN ? AND ? ORDER BY sha256 LIMIT 2",
      &a->error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, lo_bin, 32, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 2, hi_bin, 32, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (out, id);
    }
  sqlite3_reset (stmt);
  return !step_failed (a, stmt, rc, "looking up a digest");
}

typedef enum {
  MATCH_NONE,
  MATCH_DIGEST,
  MATCH_PATH,
  MATCH_SAMPLE,
  MATCH_RUN,
} Match;

static const char *
match_name (Match m)
{
  switch (m)
    {
    case MATCH_DIGEST: return "digest";
    case MATCH_PATH: return "path";
    case MATCH_SAMPLE: return "sample";
    case MATCH_RUN: return "run";
    case MATCH_NONE:
    default: return "none";
    }
}

static Match
resolve (Answer *a, const char *target, GArray *entities, GArray *seeds)
{
  const char *t = target;
  if (g_str_has_prefix (t, "sha256:"))
    t += strlen ("sha256:");
  gsize n = strlen (t);
  if (n >= 12 && n <= 64 && is_hex (t, n))
    {
      g_autofree char *lower = g_ascii_strdown (t, -1);
      if (!digest_prefix (a, lower, entities))
        return MATCH_NONE;
      if (entities->len > 1)
        {
          g_set_error (&a->error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_AMBIGUOUS,
                       "'%s' is the start of more than one digest: give more of it", target);
          return MATCH_NONE;
        }
      if (entities->len == 1)
        return MATCH_DIGEST;
    }

  /* A path, as written and with links resolved. */
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *lexical = g_canonicalize_filename (target, cwd);
  g_autofree char *real = realpath (target, NULL);
  const char *paths[] = { lexical, real };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      if (paths[i] == NULL || (i == 1 && g_strcmp0 (paths[0], paths[1]) == 0))
        continue;
      gint64 pid = string_id (a, paths[i]);
      if (pid < 0)
        return MATCH_NONE;
      if (pid > 0 && !collect (a, "SELECT entity FROM path WHERE path = ?", pid, entities))
        return MATCH_NONE;
      if (entities->len > 0)
        return MATCH_PATH;
    }

  gint64 sid = string_id (a, target);
  if (sid < 0)
    return MATCH_NONE;
  if (sid == 0)
    return MATCH_NONE;
  if (!collect (a, "SELECT seq FROM records WHERE sample = ? ORDER BY seq", sid, seeds))
    return MATCH_NONE;
  if (seeds->len > 0)
    return MATCH_SAMPLE;
  if (!collect (a, "SELECT seq FROM records WHERE run = ? ORDER BY seq", sid, seeds))
    return MATCH_NONE;
  if (seeds->len > 0)
    return MATCH_RUN;
  return MATCH_NONE;
}

static JsonNode *
lineage_once (StrandIndex *index, const char *target, StrandLineageDirection direction, int depth,
              GError **error)
{
  g_auto (Answer) a;
  answer_init (&a, index);
  g_autoptr (GArray) entities = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) seeds = g_array_new (FALSE, FALSE, sizeof (gint64));
  Match match = resolve (&a, target, entities, seeds);
  if (match == MATCH_NONE)
    {
      if (a.error == NULL)
        g_set_error (&a.error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_NOT_FOUND,
                     "'%s' is not a digest, path, sample or run in the ledger (digest prefixes "
                     "need at least 12 hex digits)",
                     target);
      g_propagate_error (error, g_steal_pointer (&a.error));
      return NULL;
    }
  if (!walk (&a, entities, seeds, direction, depth))
    {
      g_propagate_error (error, g_steal_pointer (&a.error));
      return NULL;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "target");
  json_builder_add_string_value (b, target);
  json_builder_set_member_name (b, "matched");
  json_builder_add_string_value (b, match_name (match));
  json_builder_set_member_name (b, "direction");
  json_builder_add_string_value (b, direction == STRAND_LINEAGE_UP ? "up" : "down");
  if (!build_answer (&a, b))
    {
      g_propagate_error (error, g_steal_pointer (&a.error));
      return NULL;
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* A query that met a damaged database rebuilds it and asks once more:
 * TRUE when it may. Otherwise moves `local` into `error`. */
static gboolean
rebuilt_after (StrandIndex *index, GError **local, GError **error)
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

JsonNode *
strand_lineage (StrandIndex *index, const char *target, StrandLineageDirection direction,
                int depth, GError **error)
{
  g_return_val_if_fail (index != NULL && target != NULL, NULL);
  GError *local = NULL;
  JsonNode *answer = lineage_once (index, target, direction, depth, &local);
  if (answer == NULL && rebuilt_after (index, &local, error))
    answer = lineage_once (index, target, direction, depth, error);
  return answer;
}

static JsonNode *
equipment_once (StrandIndex *index, const char *equipment, gint64 from_us, gint64 until_us,
                GError **error)
{
  g_auto (Answer) a;
  answer_init (&a, index);
  g_autoptr (GArray) seqs = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 eid = string_id (&a, equipment);
  if (eid > 0)
    {
      sqlite3_stmt *stmt = lin_statement (
          index,
          "SELECT seq FROM records WHERE equipment = ?1 AND started >= ?2 AND started < ?3"
          " AND (finished > ?4 OR started >= ?4) ORDER BY seq",
          &a.error);
      if (stmt != NULL)
        {
          gint64 span = MAX (index->meta.max_span, 0);
          sqlite3_bind_int64 (stmt, 1, eid);
          sqlite3_bind_int64 (stmt, 2, from_us > G_MININT64 + span ? from_us - span : G_MININT64);
          sqlite3_bind_int64 (stmt, 3, until_us);
          sqlite3_bind_int64 (stmt, 4, from_us);
          int rc;
          while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
            {
              gint64 seq = sqlite3_column_int64 (stmt, 0);
              g_array_append_val (seqs, seq);
            }
          sqlite3_reset (stmt);
          step_failed (&a, stmt, rc, "reading the index");
        }
    }
  for (guint i = 0; i < seqs->len && a.error == NULL; i++)
    {
      gboolean seen;
      visit (&a, g_array_index (seqs, gint64, i), &seen);
    }
  if (a.error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&a.error));
      return NULL;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "equipment");
  json_builder_add_string_value (b, equipment);
  add_time (b, "from", from_us);
  add_time (b, "until", until_us);
  /* The digests are named in the activities; no entity list here. */
  g_autoptr (GHashTable) hex = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  if (!add_entities (&a, NULL, hex))
    {
      g_propagate_error (error, g_steal_pointer (&a.error));
      return NULL;
    }
  add_activities (&a, b, hex);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
strand_lineage_equipment (StrandIndex *index, const char *equipment, gint64 from_us,
                          gint64 until_us, GError **error)
{
  g_return_val_if_fail (index != NULL && equipment != NULL, NULL);
  GError *local = NULL;
  JsonNode *answer = equipment_once (index, equipment, from_us, until_us, &local);
  if (answer == NULL && rebuilt_after (index, &local, error))
    answer = equipment_once (index, equipment, from_us, until_us, error);
  return answer;
}

static GHashTable *
live_once (StrandIndex *index, GError **error)
{
  sqlite3_stmt *stmt = lin_statement (
      index,
      "SELECT e.sha256 FROM entity e WHERE NOT EXISTS (SELECT 1 FROM removed r"
      " WHERE r.entity = e.id"
      " AND NOT EXISTS (SELECT 1 FROM generated g WHERE g.entity = e.id AND g.seq > r.seq)"
      " AND NOT EXISTS (SELECT 1 FROM used u WHERE u.entity = e.id AND u.seq > r.seq))",
      error);
  if (stmt == NULL)
    return NULL;
  g_autoptr (GHashTable) live = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (sqlite3_column_bytes (stmt, 0) != 32)
        continue;
      char *hex = g_malloc (65);
      lin_sha256_to_hex (sqlite3_column_blob (stmt, 0), hex);
      g_hash_table_add (live, hex);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      lin_set_sqlite_error (error, index->db, rc, "reading live digests");
      return NULL;
    }
  return g_steal_pointer (&live);
}

GHashTable *
strand_index_live_digests (StrandIndex *index, GError **error)
{
  g_return_val_if_fail (index != NULL, NULL);
  GError *local = NULL;
  GHashTable *live = live_once (index, &local);
  if (live == NULL && rebuilt_after (index, &local, error))
    live = live_once (index, error);
  return live;
}
