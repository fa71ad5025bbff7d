#include "runner-cache.h"

#include <string.h>

#include "canonical-json.h"
#include "digest.h"
#include "records.h"

static char *
digest_of (JsonNode *node)
{
  g_autofree char *text = strand_canonical_json (node);
  return strand_sha256_hex (text, strlen (text));
}

static JsonNode *
take (JsonBuilder *b)
{
  return json_builder_get_root (b);
}

JsonNode *
strand_task_cache_key (const StrandTaskSpec *spec, guint declared_cores, guint gpus,
                       const char *equipment_class)
{
  g_autoptr (JsonBuilder) pb = json_builder_new ();
  json_builder_begin_object (pb);
  g_autoptr (GList) names = g_hash_table_get_keys (spec->params);
  names = g_list_sort (names, (GCompareFunc) strcmp);
  for (GList *l = names; l; l = l->next)
    {
      json_builder_set_member_name (pb, l->data);
      json_builder_add_string_value (pb, g_hash_table_lookup (spec->params, l->data));
    }
  json_builder_end_object (pb);
  g_autoptr (JsonNode) params = take (pb);

  g_autoptr (JsonBuilder) ib = json_builder_new ();
  json_builder_begin_array (ib);
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const StrandTaskInput *in = spec->inputs->pdata[i];
      g_autofree char *base = in->name ? g_strdup (in->name) : g_path_get_basename (in->path);
      json_builder_begin_object (ib);
      json_builder_set_member_name (ib, "port");
      json_builder_add_string_value (ib, in->port);
      json_builder_set_member_name (ib, "name");
      json_builder_add_string_value (ib, base);
      json_builder_set_member_name (ib, "sha256");
      json_builder_add_string_value (ib, in->sha256 ? in->sha256 : "");
      if (in->sample_id)
        {
          json_builder_set_member_name (ib, "sample");
          json_builder_add_string_value (ib, in->sample_id);
        }
      json_builder_end_object (ib);
    }
  json_builder_end_array (ib);
  g_autoptr (JsonNode) inputs = take (ib);

  g_autoptr (JsonBuilder) rb = json_builder_new ();
  json_builder_begin_object (rb);
  json_builder_set_member_name (rb, "cores");
  json_builder_add_int_value (rb, declared_cores);
  json_builder_set_member_name (rb, "gpus");
  json_builder_add_int_value (rb, gpus);
  json_builder_set_member_name (rb, "equipment_class");
  json_builder_add_string_value (rb, equipment_class ? equipment_class : "");
  json_builder_end_object (rb);
  g_autoptr (JsonNode) resources = take (rb);

  /* The sample too: a stage may read its id and metadata (a generator
   * seeds from the id; a caller reads the sex). */
  g_autoptr (JsonBuilder) sb = json_builder_new ();
  json_builder_begin_array (sb);
  for (guint i = 0; i < spec->run_samples->len; i++)
    {
      const StrandTaskSample *rs = spec->run_samples->pdata[i];
      json_builder_begin_object (sb);
      json_builder_set_member_name (sb, "id");
      json_builder_add_string_value (sb, rs->id);
      json_builder_set_member_name (sb, "meta");
      json_builder_begin_object (sb);
      g_autoptr (GList) keys = rs->meta ? g_hash_table_get_keys (rs->meta) : NULL;
      keys = g_list_sort (keys, (GCompareFunc) strcmp);
      for (GList *l = keys; l; l = l->next)
        {
          json_builder_set_member_name (sb, l->data);
          json_builder_add_string_value (sb, g_hash_table_lookup (rs->meta, l->data));
        }
      json_builder_end_object (sb);
      json_builder_end_object (sb);
    }
  json_builder_end_array (sb);
  g_autoptr (JsonNode) sample = take (sb);

  JsonObject *parts = json_object_new ();
  json_object_set_string_member (parts, "plugin", spec->plugin->sha256);
  g_autofree char *p = digest_of (params);
  g_autofree char *i = digest_of (inputs);
  g_autofree char *r = digest_of (resources);
  json_object_set_string_member (parts, "params", p);
  json_object_set_string_member (parts, "inputs", i);
  json_object_set_string_member (parts, "resources", r);
  g_autofree char *smp = digest_of (sample);
  json_object_set_string_member (parts, "sample", smp);
  JsonNode *parts_node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (parts_node, parts);
  g_autofree char *key = digest_of (parts_node);
  JsonObject *cache = json_object_new ();
  json_object_set_string_member (cache, "key", key);
  json_object_set_member (cache, "parts", parts_node);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, cache);
  return node;
}

/* ---- reading the ledger ------------------------------------------------------ */

JsonObject *
strand_statement_object (JsonObject *o, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  for (char **p = parts; o && *p; p++)
    {
      JsonNode *n = json_object_get_member (o, *p);
      o = n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
    }
  return o;
}

const char *
strand_statement_string (JsonObject *o, const char *path)
{
  const char *dot = strrchr (path, '.');
  if (dot)
    {
      g_autofree char *head = g_strndup (path, (gsize) (dot - path));
      o = strand_statement_object (o, head);
      path = dot + 1;
    }
  JsonNode *n = o ? json_object_get_member (o, path) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n) : NULL;
}

typedef struct {
  const StrandKey *key;
  StrandStatementFunc func;
  gpointer data;
  GError *error;
} Reading;

static gboolean
read_line (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
           gpointer user_data)
{
  Reading *rd = user_data;
  g_autoptr (JsonNode) st = strand_record_open (line, len, rd->key, NULL, NULL, &rd->error);
  if (st == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (st))
    return TRUE;
  return rd->func (json_node_get_object (st), seq, rd->data);
}

gboolean
strand_ledger_foreach_statement (const char *store_dir, StrandStatementFunc func, gpointer data,
                                 GError **error)
{
  g_autofree char *pub = g_build_filename (store_dir, "keys", "host.pub", NULL);
  g_autoptr (StrandKey) key = strand_key_load_public (pub, error);
  if (key == NULL)
    return FALSE;
  g_autofree char *log = g_build_filename (store_dir, "ledger", "log.jsonl", NULL);
  if (!g_file_test (log, G_FILE_TEST_EXISTS))
    return TRUE;
  Reading rd = { key, func, data, NULL };
  if (!strand_ledger_read (log, 0, read_line, &rd, error))
    return FALSE;
  if (rd.error)
    {
      g_propagate_error (error, rd.error);
      return FALSE;
    }
  return TRUE;
}

/* ---- the cache ------------------------------------------------------------------ */

struct StrandRunCache {
  GHashTable *by_key;    /* key -> StrandCacheEntry (newest) */
  GHashTable *by_task;   /* "stage\nsample" -> StrandCacheEntry (newest) */
  GPtrArray *entries;    /* StrandCacheEntry, owned */
};

static void
cached_file_free (gpointer p)
{
  StrandCachedFile *f = p;
  g_free (f->name);
  g_free (f->sha256);
  g_free (f->md5);
  g_free (f);
}

static void
entry_free (gpointer p)
{
  StrandCacheEntry *e = p;
  g_free (e->key);
  g_free (e->run_id);
  g_free (e->stage);
  g_free (e->sample);
  g_free (e->work_dir);
  g_clear_pointer (&e->parts, json_object_unref);
  g_clear_pointer (&e->params, json_object_unref);
  g_ptr_array_unref (e->outputs);
  g_free (e);
}

void
strand_run_cache_free (StrandRunCache *cache)
{
  if (cache == NULL)
    return;
  g_hash_table_unref (cache->by_key);
  g_hash_table_unref (cache->by_task);
  g_ptr_array_unref (cache->entries);
  g_free (cache);
}

static gboolean
take_statement (JsonObject *st, guint64 seq, gpointer data)
{
  StrandRunCache *cache = data;
  if (g_strcmp0 (strand_statement_string (st, "predicateType"), STRAND_RECORD_STAGE_RUN) != 0)
    return TRUE;
  JsonObject *internal = strand_statement_object (st, "predicate.buildDefinition.internalParameters");
  JsonObject *external = strand_statement_object (st, "predicate.buildDefinition.externalParameters");
  const char *key = strand_statement_string (internal, "cache.key");
  if (key == NULL || external == NULL)
    return TRUE;
  /* Only successful attempts: their byproduct "exit" has no error class. */
  JsonObject *run = strand_statement_object (st, "predicate.runDetails");
  JsonNode *bp = run ? json_object_get_member (run, "byproducts") : NULL;
  if (bp && JSON_NODE_HOLDS_ARRAY (bp))
    {
      JsonArray *a = json_node_get_array (bp);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (JSON_NODE_HOLDS_OBJECT (e) &&
              strand_statement_string (json_node_get_object (e), "annotations.error_class"))
            return TRUE;
        }
    }
  StrandCacheEntry *entry = g_new0 (StrandCacheEntry, 1);
  entry->key = g_strdup (key);
  entry->seq = seq;
  entry->run_id = g_strdup (strand_statement_string (external, "run"));
  entry->stage = g_strdup (strand_statement_string (external, "stage"));
  entry->sample = g_strdup (strand_statement_string (external, "sample"));
  entry->work_dir = g_strdup (strand_statement_string (internal, "cache.work_dir"));
  JsonObject *parts = strand_statement_object (internal, "cache.parts");
  entry->parts = parts ? json_object_ref (parts) : NULL;
  JsonObject *params = strand_statement_object (external, "params");
  entry->params = params ? json_object_ref (params) : NULL;
  entry->outputs = g_ptr_array_new_with_free_func (cached_file_free);
  JsonNode *sn = json_object_get_member (st, "subject");
  JsonArray *subjects = sn && JSON_NODE_HOLDS_ARRAY (sn) ? json_node_get_array (sn) : NULL;
  for (guint i = 0; subjects && i < json_array_get_length (subjects); i++)
    {
      JsonNode *e = json_array_get_element (subjects, i);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      JsonObject *so = json_node_get_object (e);
      const char *sha = strand_statement_string (so, "digest.sha256");
      const char *name = strand_statement_string (so, "name");
      if (sha == NULL || name == NULL)
        continue;
      StrandCachedFile *f = g_new0 (StrandCachedFile, 1);
      f->name = g_strdup (name);
      f->sha256 = g_strdup (sha);
      f->md5 = g_strdup (strand_statement_string (so, "digest.md5"));
      g_ptr_array_add (entry->outputs, f);
    }
  g_ptr_array_add (cache->entries, entry);
  g_hash_table_replace (cache->by_key, entry->key, entry);
  g_hash_table_replace (cache->by_task,
                        g_strdup_printf ("%s\n%s", entry->stage ? entry->stage : "",
                                         entry->sample ? entry->sample : ""), entry);
  return TRUE;
}

StrandRunCache *
strand_run_cache_load (StrandProvenance *prov, GError **error)
{
  if (!strand_ledger_sync (strand_provenance_ledger (prov), error))
    return NULL;
  StrandRunCache *cache = g_new0 (StrandRunCache, 1);
  cache->entries = g_ptr_array_new_with_free_func (entry_free);
  cache->by_key = g_hash_table_new (g_str_hash, g_str_equal);
  cache->by_task = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!strand_ledger_foreach_statement (strand_provenance_dir (prov), take_statement, cache, error))
    {
      strand_run_cache_free (cache);
      return NULL;
    }
  return cache;
}

const StrandCacheEntry *
strand_run_cache_lookup (StrandRunCache *cache, const char *key)
{
  return key ? g_hash_table_lookup (cache->by_key, key) : NULL;
}

GPtrArray *
strand_run_cache_entries (StrandRunCache *cache)
{
  return cache->entries;
}

char *
strand_run_cache_explain (StrandRunCache *cache, const char *stage, const char *sample,
                          JsonNode *cache_node, GHashTable *params)
{
  g_autofree char *task = g_strdup_printf ("%s\n%s", stage, sample ? sample : "");
  const StrandCacheEntry *last = g_hash_table_lookup (cache->by_task, task);
  if (last == NULL)
    return g_strdup ("no earlier successful run of this stage on this sample");
  JsonObject *now = strand_statement_object (json_node_get_object (cache_node), "parts");
  if (last->parts == NULL || now == NULL)
    return g_strdup ("the earlier run recorded no cache key");
  g_autoptr (GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  if (g_strcmp0 (strand_statement_string (now, "plugin"),
                 strand_statement_string (last->parts, "plugin")) != 0)
    g_ptr_array_add (changed, g_strdup_printf ("the plugin changed (its .so was %.12s, is %.12s)",
                                               strand_statement_string (last->parts, "plugin"),
                                               strand_statement_string (now, "plugin")));
  if (g_strcmp0 (strand_statement_string (now, "params"),
                 strand_statement_string (last->parts, "params")) != 0)
    {
      g_autoptr (GString) which = g_string_new (NULL);
      g_autoptr (GList) names = g_hash_table_get_keys (params);
      names = g_list_sort (names, (GCompareFunc) strcmp);
      for (GList *l = names; l; l = l->next)
        {
          const char *was = last->params ? strand_statement_string (last->params, l->data) : NULL;
          const char *is = g_hash_table_lookup (params, l->data);
          if (g_strcmp0 (was, is) != 0)
            g_string_append_printf (which, "%s%s (%s -> %s)", which->len ? ", " : "",
                                    (char *) l->data, was ? was : "unset", is);
        }
      g_ptr_array_add (changed, g_strdup_printf ("parameters changed: %s",
                                                 which->len ? which->str : "(removed)"));
    }
  if (g_strcmp0 (strand_statement_string (now, "inputs"),
                 strand_statement_string (last->parts, "inputs")) != 0)
    g_ptr_array_add (changed, g_strdup ("its inputs changed (an upstream output or a sample file)"));
  if (g_strcmp0 (strand_statement_string (now, "resources"),
                 strand_statement_string (last->parts, "resources")) != 0)
    g_ptr_array_add (changed, g_strdup ("resources that affect results changed (cores, GPUs, "
                                        "equipment class)"));
  if (g_strcmp0 (strand_statement_string (now, "sample"),
                 strand_statement_string (last->parts, "sample")) != 0)
    g_ptr_array_add (changed, g_strdup ("the sample's metadata changed"));
  if (changed->len == 0)
    return g_strdup ("its earlier output is missing from the store or damaged");
  g_ptr_array_add (changed, NULL);
  return g_strjoinv ("; ", (char **) changed->pdata);
}
