/* A run read back from its signed records (run-records.h). */
#include "run-records.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "clock.h"
#include "digest.h"
#include "json-util.h"
#include "ledger.h"
#include "lineage.h"
#include "records.h"
#include "store.h"

G_DEFINE_QUARK (strand-run-records-error-quark, strand_run_records_error)

/* --- the model ------------------------------------------------------------ */

static void
entity_free (gpointer p)
{
  StrandRunEntity *e = p;
  g_free (e->sha256);
  g_free (e->name);
  g_free (e->md5);
  g_free (e->format);
  g_free (e->sample);
  g_free (e->path);
  g_free (e->operator_name);
  g_free (e->origin_run);
  g_free (e);
}

static void
tool_free (gpointer p)
{
  StrandRunTool *t = p;
  g_free (t->path);
  g_free (t->version);
  g_free (t->sha256);
  g_free (t);
}

static void
file_ref_free (gpointer p)
{
  StrandRunFileRef *f = p;
  g_free (f->name);
  g_free (f);
}

static void
stage_run_free (gpointer p)
{
  StrandStageRun *sr = p;
  g_free (sr->stage);
  g_free (sr->sample);
  g_free (sr->plugin);
  g_free (sr->plugin_version);
  g_free (sr->plugin_path);
  g_free (sr->plugin_sha256);
  g_clear_pointer (&sr->params, json_object_unref);
  g_clear_pointer (&sr->inputs, g_ptr_array_unref);
  g_clear_pointer (&sr->outputs, g_ptr_array_unref);
  g_clear_pointer (&sr->tools, g_ptr_array_unref);
  g_free (sr->equipment);
  g_free (sr->status);
  g_free (sr->message);
  g_free (sr->builder);
  g_free (sr);
}

StrandRunRecords *
strand_run_records_new (const char *run_id)
{
  StrandRunRecords *run = g_new0 (StrandRunRecords, 1);
  run->run_id = g_strdup (run_id);
  run->stage_runs = g_ptr_array_new_with_free_func (stage_run_free);
  run->entities = g_ptr_array_new_with_free_func (entity_free);
  run->by_sha256 = g_hash_table_new (g_str_hash, g_str_equal);
  run->builders = g_ptr_array_new_with_free_func (g_free);
  run->started_us = G_MAXINT64;
  run->finished_us = G_MININT64;
  return run;
}

void
strand_run_records_free (StrandRunRecords *run)
{
  if (run == NULL)
    return;
  g_free (run->run_id);
  g_free (run->store_dir);
  g_free (run->key_id);
  g_ptr_array_unref (run->stage_runs);
  g_hash_table_unref (run->by_sha256);
  g_ptr_array_unref (run->entities);
  g_ptr_array_unref (run->builders);
  g_free (run);
}

const char *
strand_stage_run_param (const StrandStageRun *sr, const char *name)
{
  return strand_json_string (sr->params, name, NULL);
}

char *
strand_stage_run_label (const StrandStageRun *sr)
{
  return sr->sample ? g_strdup_printf ("%s/%s", sr->sample, sr->stage) : g_strdup (sr->stage);
}

static gboolean
is_sha256 (const char *text)
{
  if (text == NULL || strlen (text) != 64)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

static StrandRunEntity *
entity_for (StrandRunRecords *run, const char *sha256, const char *name)
{
  StrandRunEntity *e = g_hash_table_lookup (run->by_sha256, sha256);
  if (e != NULL)
    return e;
  e = g_new0 (StrandRunEntity, 1);
  e->sha256 = g_strdup (sha256);
  e->name = g_strdup (name);
  e->size = -1;
  g_ptr_array_add (run->entities, e);
  g_hash_table_insert (run->by_sha256, e->sha256, e);
  return e;
}

/* --- reading a stage-run statement ---------------------------------------- */

static JsonObject *
member_object (JsonObject *object, const char *key)
{
  JsonNode *node = object ? json_object_get_member (object, key) : NULL;
  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
member_array (JsonObject *object, const char *key)
{
  JsonNode *node = object ? json_object_get_member (object, key) : NULL;
  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static const char *
member_string (JsonObject *object, const char *key)
{
  return object ? strand_json_string (object, key, NULL) : NULL;
}

static gboolean
missing (GError **error, guint64 seq, const char *what)
{
  g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_BAD_RECORD,
               "record %" G_GUINT64_FORMAT ": the stage run has no valid %s", seq, what);
  return FALSE;
}

/* A descriptor's digest: {"sha256", "md5"?}; NULL when it has no valid
 * SHA-256. */
static const char *
descriptor_sha256 (JsonObject *d, const char **md5)
{
  JsonObject *digest = member_object (d, "digest");
  const char *sha = member_string (digest, "sha256");
  if (md5)
    {
      const char *m = member_string (digest, "md5");
      *md5 = m && strlen (m) == 32 ? m : NULL;
    }
  return is_sha256 (sha) ? sha : NULL;
}

static gboolean
read_time (JsonObject *meta, const char *key, gint64 *out)
{
  const char *text = member_string (meta, key);
  return text != NULL && strand_clock_parse_rfc3339 (text, out);
}

static StrandRunFileRef *
file_ref (StrandRunRecords *run, const char *name, const char *sha256, const char *md5)
{
  StrandRunFileRef *ref = g_new0 (StrandRunFileRef, 1);
  ref->name = g_strdup (name);
  ref->entity = entity_for (run, sha256, name);
  if (ref->entity->md5 == NULL && md5 != NULL)
    ref->entity->md5 = g_strdup (md5);
  return ref;
}

gboolean
strand_run_records_add_statement (StrandRunRecords *run, JsonNode *statement, guint64 seq,
                                  const char *hash, GError **error)
{
  JsonObject *st = statement && JSON_NODE_HOLDS_OBJECT (statement) ? json_node_get_object (statement) : NULL;
  if (g_strcmp0 (member_string (st, "predicateType"), STRAND_RECORD_STAGE_RUN) != 0)
    return missing (error, seq, "predicateType");
  JsonObject *pred = member_object (st, "predicate");
  JsonObject *build = member_object (pred, "buildDefinition");
  JsonObject *ext = member_object (build, "externalParameters");
  JsonObject *internal = member_object (build, "internalParameters");
  JsonObject *details = member_object (pred, "runDetails");
  JsonObject *meta = member_object (details, "metadata");
  if (ext == NULL || details == NULL)
    return missing (error, seq, "buildDefinition or runDetails");
  const char *run_id = member_string (ext, "run");
  if (g_strcmp0 (run_id, run->run_id) != 0)
    {
      g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_BAD_RECORD,
                   "record %" G_GUINT64_FORMAT ": the index puts it in run '%s' but it names "
                   "run '%s'",
                   seq, run->run_id, run_id ? run_id : "(none)");
      return FALSE;
    }
  const char *stage = member_string (ext, "stage");
  const char *plugin = member_string (ext, "plugin");
  const char *version = member_string (ext, "plugin_version");
  const char *builder = member_string (member_object (details, "builder"), "id");
  if (stage == NULL || plugin == NULL || version == NULL)
    return missing (error, seq, "stage, plugin or plugin_version");
  if (builder == NULL)
    return missing (error, seq, "builder");

  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (file_ref_free);
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (file_ref_free);
  g_autoptr (GPtrArray) tools = g_ptr_array_new_with_free_func (tool_free);
  const char *plugin_path = NULL, *plugin_sha256 = NULL;
  JsonArray *deps = member_array (build, "resolvedDependencies");
  for (guint i = 0; deps && i < json_array_get_length (deps); i++)
    {
      JsonNode *node = json_array_get_element (deps, i);
      JsonObject *d = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name = member_string (d, "name");
      const char *md5 = NULL;
      const char *sha = descriptor_sha256 (d, &md5);
      if (name == NULL || sha == NULL)
        return missing (error, seq, "resolvedDependencies entry");
      if (g_str_has_prefix (name, "input:"))
        g_ptr_array_add (inputs, file_ref (run, name + 6, sha, md5));
      else if (g_str_has_prefix (name, "plugin:"))
        {
          plugin_path = member_string (d, "uri");
          plugin_sha256 = sha;
        }
      else if (g_str_has_prefix (name, "tool:"))
        {
          StrandRunTool *t = g_new0 (StrandRunTool, 1);
          t->path = g_strdup (name + 5);
          t->version = g_strdup (member_string (member_object (d, "annotations"), "version"));
          t->sha256 = g_strdup (sha);
          g_ptr_array_add (tools, t);
        }
    }
  if (plugin_sha256 == NULL)
    return missing (error, seq, "plugin digest");
  JsonArray *subject = member_array (st, "subject");
  for (guint i = 0; subject && i < json_array_get_length (subject); i++)
    {
      JsonNode *node = json_array_get_element (subject, i);
      JsonObject *d = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name = member_string (d, "name");
      const char *md5 = NULL;
      const char *sha = descriptor_sha256 (d, &md5);
      if (name == NULL || sha == NULL)
        return missing (error, seq, "subject");
      g_ptr_array_add (outputs, file_ref (run, name, sha, md5));
    }

  StrandStageRun *sr = g_new0 (StrandStageRun, 1);
  sr->seq = seq;
  g_strlcpy (sr->hash, hash ? hash : "", sizeof sr->hash);
  sr->stage = g_strdup (stage);
  sr->sample = g_strdup (member_string (ext, "sample"));
  sr->plugin = g_strdup (plugin);
  sr->plugin_version = g_strdup (version);
  sr->plugin_path = g_strdup (plugin_path);
  sr->plugin_sha256 = g_strdup (plugin_sha256);
  sr->params = json_object_new ();
  JsonObject *params = member_object (ext, "params");
  if (params != NULL)
    {
      JsonObjectIter it;
      const char *key;
      JsonNode *value;
      json_object_iter_init (&it, params);
      while (json_object_iter_next (&it, &key, &value))
        if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
          json_object_set_string_member (sr->params, key, json_node_get_string (value));
    }
  sr->inputs = g_steal_pointer (&inputs);
  sr->outputs = g_steal_pointer (&outputs);
  sr->tools = g_steal_pointer (&tools);
  sr->equipment = g_strdup (member_string (internal, "equipment"));
  JsonObject *resources = member_object (internal, "resources");
  sr->cores = resources ? strand_json_int (resources, "cores", 0) : 0;
  sr->memory_bytes = resources ? strand_json_int (resources, "memory_bytes", 0) : 0;
  sr->attempt = internal ? strand_json_int (internal, "attempt", 1) : 1;
  if (!read_time (meta, "startedOn", &sr->started_us))
    sr->started_us = G_MININT64;
  if (!read_time (meta, "finishedOn", &sr->finished_us))
    sr->finished_us = sr->started_us;
  sr->exit_status = -1;
  JsonArray *byproducts = member_array (details, "byproducts");
  const char *error_class = NULL;
  for (guint i = 0; byproducts && i < json_array_get_length (byproducts); i++)
    {
      JsonNode *node = json_array_get_element (byproducts, i);
      JsonObject *b = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonObject *ann = member_object (b, "annotations");
      if (g_strcmp0 (member_string (b, "name"), "exit") != 0 || ann == NULL)
        continue;
      sr->exit_status = strand_json_int (ann, "status", -1);
      error_class = member_string (ann, "error_class");
      sr->message = g_strdup (member_string (ann, "message"));
    }
  sr->status = g_strdup (error_class ? error_class : "ok");
  sr->builder = g_strdup (builder);
  if (sr->started_us == G_MININT64)
    {
      stage_run_free (sr);
      return missing (error, seq, "startedOn time");
    }
  for (guint i = 0; i < sr->outputs->len; i++)
    {
      StrandRunEntity *e = ((StrandRunFileRef *) sr->outputs->pdata[i])->entity;
      if (e->generated_by == NULL)
        {
          e->generated_by = sr;
          if (e->sample == NULL)
            e->sample = g_strdup (sr->sample);
        }
    }
  gboolean known = FALSE;
  for (guint i = 0; i < run->builders->len && !known; i++)
    known = strcmp (run->builders->pdata[i], builder) == 0;
  if (!known)
    g_ptr_array_add (run->builders, g_strdup (builder));
  run->started_us = MIN (run->started_us, sr->started_us);
  run->finished_us = MAX (run->finished_us, sr->finished_us);
  g_ptr_array_add (run->stage_runs, sr);
  return TRUE;
}

/* --- reading records from the log ------------------------------------------ */

/* No record comes near this; a longer "line" is damage, not a record. */
#define MAX_RECORD_LINE (64 * 1024 * 1024)

/* The line that starts at `offset`, without its newline; NULL when there
 * is no complete line there. Reads only about the line, not ahead: a run's
 * records are scattered over a log of millions. */
static char *
read_line_at (int fd, guint64 offset, gsize *len, GError **error)
{
  gsize cap = 16 * 1024, fill = 0;
  g_autofree char *buf = g_malloc (cap + 1);
  for (;;)
    {
      ssize_t n = pread (fd, buf + fill, cap - fill, (off_t) (offset + fill));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_IO,
                       "cannot read the ledger at byte %" G_GUINT64_FORMAT ": %s", offset,
                       g_strerror (saved));
          return NULL;
        }
      char *nl = n > 0 ? memchr (buf + fill, '\n', (gsize) n) : NULL;
      fill += (gsize) n;
      if (nl != NULL)
        {
          *len = (gsize) (nl - buf);
          buf[*len] = '\0';
          return g_steal_pointer (&buf);
        }
      if (n == 0 || cap >= MAX_RECORD_LINE)
        return NULL;
      if (fill == cap)
        {
          cap *= 2;
          buf = g_realloc (buf, cap + 1);
        }
    }
}

/* The statement of the record `ref` points at, after checking that the
 * line there is that record (its hash and seq) and that its signature
 * holds. */
static JsonNode *
read_record (int fd, const StrandKey *key, const StrandIndexRecordRef *ref, GError **error)
{
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  g_autofree char *line = read_line_at (fd, ref->offset, &len, &local);
  if (local != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "record %" G_GUINT64_FORMAT ": ",
                                  ref->seq);
      return NULL;
    }
  g_autofree char *hash = line ? strand_sha256_hex (line, len) : NULL;
  if (line == NULL || strcmp (hash, ref->hash) != 0)
    {
      g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_BAD_RECORD,
                   "record %" G_GUINT64_FORMAT ": the log at byte %" G_GUINT64_FORMAT
                   " is not the record the index knows (changed since it was indexed; "
                   "run 'strand verify')",
                   ref->seq, ref->offset);
      return NULL;
    }
  guint64 seq = 0;
  JsonNode *statement = strand_record_open (line, len, key, &seq, NULL, &local);
  if (statement == NULL || seq != ref->seq)
    {
      g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_BAD_RECORD, "%s",
                   statement ? "the record's seq is not the index's" : local->message);
      if (statement)
        json_node_unref (statement);
      return NULL;
    }
  return statement;
}

/* Fills in what the records outside the run say of an item it used: its
 * ingest (path, format, sample, operator, size, time), or the other run
 * whose stage made it. */
static gboolean
describe_input (StrandRunRecords *run, StrandIndex *index, int log_fd, const StrandKey *key,
                StrandRunEntity *e, GError **error)
{
  g_autoptr (GArray) refs = strand_index_generators (index, e->sha256, error);
  if (refs == NULL)
    return FALSE;
  for (guint i = 0; i < refs->len; i++)
    {
      const StrandIndexRecordRef *ref = &g_array_index (refs, StrandIndexRecordRef, i);
      g_autoptr (JsonNode) statement = read_record (log_fd, key, ref, error);
      if (statement == NULL)
        return FALSE;
      JsonObject *st = json_node_get_object (statement);
      const char *type = member_string (st, "predicateType");
      JsonObject *pred = member_object (st, "predicate");
      if (g_strcmp0 (type, STRAND_RECORD_INGEST) == 0 && e->ingest_seq == 0)
        {
          e->ingest_seq = ref->seq;
          e->path = g_strdup (member_string (pred, "path"));
          e->format = g_strdup (member_string (pred, "format"));
          if (e->sample == NULL)
            e->sample = g_strdup (member_string (pred, "sample"));
          e->operator_name = g_strdup (member_string (pred, "operator"));
          if (e->md5 == NULL && member_string (pred, "md5") != NULL)
            e->md5 = g_strdup (member_string (pred, "md5"));
          gint64 size = pred ? strand_json_int (pred, "size", -1) : -1;
          if (size >= 0)
            e->size = size;
          if (!read_time (pred, "time", &e->ingested_us))
            e->ingested_us = 0;
        }
      else if (g_strcmp0 (type, STRAND_RECORD_STAGE_RUN) == 0 && e->origin_run == NULL)
        {
          JsonObject *ext = member_object (member_object (pred, "buildDefinition"),
                                           "externalParameters");
          const char *other = member_string (ext, "run");
          if (other != NULL && strcmp (other, run->run_id) != 0)
            e->origin_run = g_strdup (other);
        }
    }
  return TRUE;
}

static gboolean read_run (StrandRunRecords *run, StrandIndex *index, int fd, const StrandKey *key,
                          GArray *refs, const char *store_dir, GError **error);

StrandRunRecords *
strand_run_records_load (const char *store_dir, const char *run_id, GError **error)
{
  g_autofree char *pub = g_build_filename (store_dir, "keys", "host.pub", NULL);
  if (!g_file_test (pub, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_NOT_A_STORE,
                   "%s is not a Strand store (no keys/host.pub)", store_dir);
      return NULL;
    }
  g_autoptr (GError) local = NULL;
  g_autoptr (StrandKey) key = strand_key_load_public (pub, &local);
  if (key == NULL)
    {
      g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_NOT_A_STORE, "%s",
                   local->message);
      return NULL;
    }
  g_autofree char *db = g_build_filename (store_dir, "ledger", "index.sqlite", NULL);
  g_autofree char *log = g_build_filename (store_dir, "ledger", "log.jsonl", NULL);
  g_autoptr (StrandIndex) index = strand_index_open (db, log, NULL, &local);
  g_autoptr (GArray) refs = index ? strand_index_run_records (index, run_id, &local) : NULL;
  if (refs == NULL)
    {
      gboolean none = g_error_matches (local, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_NOT_FOUND);
      g_set_error (error, STRAND_RUN_RECORDS_ERROR,
                   none ? STRAND_RUN_RECORDS_ERROR_NO_RUN : STRAND_RUN_RECORDS_ERROR_IO,
                   none ? "no run '%s' in the store %s" : "%s", none ? run_id : local->message,
                   store_dir);
      return NULL;
    }
  int fd = open (log, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_IO, "cannot open %s: %s",
                   log, g_strerror (saved));
      return NULL;
    }
  g_autoptr (StrandRunRecords) run = strand_run_records_new (run_id);
  gboolean ok = read_run (run, index, fd, key, refs, store_dir, error);
  close (fd);
  return ok ? g_steal_pointer (&run) : NULL;
}

static gboolean
read_run (StrandRunRecords *run, StrandIndex *index, int fd, const StrandKey *key, GArray *refs,
          const char *store_dir, GError **error)
{
  run->store_dir = g_strdup (store_dir);
  run->key_id = g_strdup (strand_key_id (key));
  for (guint i = 0; i < refs->len; i++)
    {
      const StrandIndexRecordRef *ref = &g_array_index (refs, StrandIndexRecordRef, i);
      g_autoptr (JsonNode) statement = read_record (fd, key, ref, error);
      if (statement == NULL)
        return FALSE;
      const char *type = member_string (json_node_get_object (statement), "predicateType");
      if (g_strcmp0 (type, STRAND_RECORD_STAGE_RUN) != 0)
        continue; /* anything else a run may record later: not a stage run */
      if (!strand_run_records_add_statement (run, statement, ref->seq, ref->hash, error))
        return FALSE;
    }
  if (run->stage_runs->len == 0)
    {
      g_set_error (error, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_NO_RUN,
                   "run '%s' has no stage-run records in the store %s", run->run_id, store_dir);
      return FALSE;
    }

  /* Where its inputs came from, and what the store still holds. */
  g_autoptr (StrandStore) store = strand_store_open (store_dir, NULL);
  for (guint i = 0; i < run->entities->len; i++)
    {
      StrandRunEntity *e = run->entities->pdata[i];
      if (e->generated_by == NULL && !describe_input (run, index, fd, key, e, error))
        return FALSE;
      e->in_store = store != NULL && strand_store_contains (store, e->sha256);
      if (e->in_store && e->size < 0)
        {
          g_autofree char *path = strand_store_object_path (store, e->sha256);
          struct stat st;
          if (g_stat (path, &st) == 0)
            e->size = (gint64) st.st_size;
        }
    }
  return TRUE;
}
