/* Statements of each record kind, member for member as records.h lists
 * them. */
#include "record-build.h"

#include "clock.h"

static void
set_string (JsonObject *object, const char *key, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (object, key, value);
}

static void
set_time (JsonObject *object, const char *key, gint64 wall_us)
{
  g_autofree char *text = strand_clock_format_rfc3339 (wall_us);
  json_object_set_string_member (object, key, text);
}

/* An object member that is a copy of `node`, when it is an object. */
static void
set_object_copy (JsonObject *object, const char *key, JsonNode *node)
{
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    json_object_set_member (object, key, json_node_copy (node));
}

static JsonObject *
digest_set (const char *sha256, const char *md5)
{
  JsonObject *digest = json_object_new ();
  json_object_set_string_member (digest, "sha256", sha256);
  set_string (digest, "md5", md5);
  return digest;
}

/* An in-toto ResourceDescriptor: {"name", "uri"?, "digest", "annotations"?}. */
static JsonObject *
descriptor (const char *name, const char *uri, const char *sha256, const char *md5,
            JsonObject *annotations)
{
  JsonObject *d = json_object_new ();
  json_object_set_string_member (d, "name", name);
  set_string (d, "uri", uri);
  json_object_set_object_member (d, "digest", digest_set (sha256, md5));
  if (annotations != NULL)
    json_object_set_object_member (d, "annotations", annotations);
  return d;
}

static JsonArray *
subjects (const StrandRecordFile *files, guint n)
{
  JsonArray *array = json_array_sized_new (n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *fallback = g_strconcat ("sha256:", files[i].sha256, NULL);
      const char *name = files[i].name ? files[i].name : fallback;
      json_array_add_object_element (array, descriptor (name, NULL, files[i].sha256, files[i].md5, NULL));
    }
  return array;
}

static JsonNode *
statement_new (const char *predicate_type, JsonArray *subject, JsonObject *predicate)
{
  JsonObject *st = json_object_new ();
  json_object_set_string_member (st, "_type", STRAND_STATEMENT_TYPE);
  json_object_set_array_member (st, "subject", subject);
  json_object_set_string_member (st, "predicateType", predicate_type);
  json_object_set_object_member (st, "predicate", predicate);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, st);
  return node;
}

static JsonObject *
string_map (GHashTable *table)
{
  JsonObject *object = json_object_new ();
  if (table == NULL)
    return object;
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, &value))
    json_object_set_string_member (object, key, value ? value : "");
  return object;
}

JsonNode *
strand_statement_stage_run (const StrandStageRunFacts *f)
{
  g_return_val_if_fail (f != NULL && f->run_id && f->stage && f->plugin_name &&
                            f->plugin_version && f->plugin_path && f->plugin_sha256 &&
                            f->host_id,
                        NULL);
  JsonObject *external = json_object_new ();
  json_object_set_string_member (external, "run", f->run_id);
  json_object_set_string_member (external, "stage", f->stage);
  set_string (external, "sample", f->sample);
  json_object_set_string_member (external, "plugin", f->plugin_name);
  json_object_set_string_member (external, "plugin_version", f->plugin_version);
  json_object_set_object_member (external, "params", string_map (f->params));

  JsonObject *internal = json_object_new ();
  json_object_set_int_member (internal, "attempt", f->attempt);
  set_string (internal, "equipment", f->equipment);
  if (f->cores > 0 || f->memory_bytes > 0)
    {
      JsonObject *resources = json_object_new ();
      if (f->cores > 0)
        json_object_set_int_member (resources, "cores", f->cores);
      if (f->memory_bytes > 0)
        json_object_set_int_member (resources, "memory_bytes", (gint64) f->memory_bytes);
      json_object_set_object_member (internal, "resources", resources);
    }
  set_object_copy (internal, "cache", f->cache);
  set_object_copy (internal, "placement", f->placement);

  JsonArray *deps = json_array_sized_new (f->n_inputs + 1 + f->n_tools);
  for (guint i = 0; i < f->n_inputs; i++)
    {
      g_autofree char *name = g_strconcat ("input:", f->inputs[i].name, NULL);
      json_array_add_object_element (deps, descriptor (name, NULL, f->inputs[i].sha256, f->inputs[i].md5, NULL));
    }
  g_autofree char *plugin = g_strconcat ("plugin:", f->plugin_name, NULL);
  json_array_add_object_element (deps,
                                 descriptor (plugin, f->plugin_path, f->plugin_sha256, NULL, NULL));
  for (guint i = 0; i < f->n_tools; i++)
    {
      g_autofree char *name = g_strconcat ("tool:", f->tools[i].path, NULL);
      JsonObject *annotations = NULL;
      if (f->tools[i].version != NULL)
        {
          annotations = json_object_new ();
          json_object_set_string_member (annotations, "version", f->tools[i].version);
        }
      json_array_add_object_element (deps,
                                     descriptor (name, NULL, f->tools[i].sha256, NULL, annotations));
    }

  JsonObject *build = json_object_new ();
  json_object_set_string_member (build, "buildType", STRAND_BUILD_TYPE);
  json_object_set_object_member (build, "externalParameters", external);
  json_object_set_object_member (build, "internalParameters", internal);
  json_object_set_array_member (build, "resolvedDependencies", deps);

  JsonObject *builder = json_object_new ();
  /* The builder is the host: "strand:host:<keyid>" (given whole or as the id). */
  g_autofree char *builder_id = g_str_has_prefix (f->host_id, "strand:host:")
                                    ? g_strdup (f->host_id)
                                    : g_strconcat ("strand:host:", f->host_id, NULL);
  json_object_set_string_member (builder, "id", builder_id);
  JsonObject *metadata = json_object_new ();
  json_object_set_string_member (metadata, "invocationId", f->run_id);
  set_time (metadata, "startedOn", f->started_us);
  set_time (metadata, "finishedOn", f->finished_us);
  JsonObject *exit = json_object_new ();
  json_object_set_string_member (exit, "name", "exit");
  JsonObject *annotations = json_object_new ();
  json_object_set_int_member (annotations, "status", f->exit_status);
  set_string (annotations, "error_class", f->error_class);
  set_string (annotations, "message", f->message);
  json_object_set_object_member (exit, "annotations", annotations);
  JsonArray *byproducts = json_array_new ();
  json_array_add_object_element (byproducts, exit);

  JsonObject *run = json_object_new ();
  json_object_set_object_member (run, "builder", builder);
  json_object_set_object_member (run, "metadata", metadata);
  json_object_set_array_member (run, "byproducts", byproducts);

  JsonObject *predicate = json_object_new ();
  json_object_set_object_member (predicate, "buildDefinition", build);
  json_object_set_object_member (predicate, "runDetails", run);
  return statement_new (STRAND_RECORD_STAGE_RUN, subjects (f->outputs, f->n_outputs), predicate);
}

JsonNode *
strand_statement_ingest (const StrandIngestFacts *f)
{
  g_return_val_if_fail (f != NULL && f->path && f->sha256, NULL);
  JsonObject *predicate = json_object_new ();
  json_object_set_string_member (predicate, "path", f->path);
  json_object_set_int_member (predicate, "size", (gint64) f->size);
  set_string (predicate, "md5", f->md5);
  set_string (predicate, "format", f->format);
  set_string (predicate, "sample", f->sample);
  set_object_copy (predicate, "metadata", f->metadata);
  set_string (predicate, "operator", f->operator_name);
  set_time (predicate, "time", f->time_us);
  StrandRecordFile subject = { f->path, f->sha256, NULL };
  return statement_new (STRAND_RECORD_INGEST, subjects (&subject, 1), predicate);
}

JsonNode *
strand_statement_materialize (const StrandMaterializeFacts *f)
{
  g_return_val_if_fail (f != NULL && f->sha256 && f->path && f->method, NULL);
  JsonObject *predicate = json_object_new ();
  json_object_set_string_member (predicate, "path", f->path);
  json_object_set_string_member (predicate, "method", f->method);
  set_string (predicate, "operator", f->operator_name);
  set_time (predicate, "time", f->time_us);
  StrandRecordFile subject = { f->path, f->sha256, NULL };
  return statement_new (STRAND_RECORD_MATERIALIZE, subjects (&subject, 1), predicate);
}

JsonNode *
strand_statement_gc (const StrandGcFacts *f)
{
  g_return_val_if_fail (f != NULL && (f->n_removed == 0 || f->removed != NULL), NULL);
  JsonObject *predicate = json_object_new ();
  json_object_set_int_member (predicate, "bytes", (gint64) f->bytes);
  set_string (predicate, "operator", f->operator_name);
  set_time (predicate, "time", f->time_us);
  return statement_new (STRAND_RECORD_GC, subjects (f->removed, f->n_removed), predicate);
}

JsonNode *
strand_statement_event (const StrandEventFacts *f)
{
  g_return_val_if_fail (f != NULL && f->event && (f->n_subjects == 0 || f->subjects != NULL),
                        NULL);
  JsonObject *predicate = json_object_new ();
  json_object_set_string_member (predicate, "event", f->event);
  set_time (predicate, "time", f->time_us);
  if (f->details != NULL && JSON_NODE_HOLDS_OBJECT (f->details))
    set_object_copy (predicate, "details", f->details);
  else
    json_object_set_object_member (predicate, "details", json_object_new ());
  return statement_new (STRAND_RECORD_EVENT, subjects (f->subjects, f->n_subjects), predicate);
}

JsonNode *
strand_statement_decision (const StrandDecisionFacts *f)
{
  g_return_val_if_fail (f != NULL && f->run_id && f->stage && f->decision &&
                            (f->n_subjects == 0 || f->subjects != NULL),
                        NULL);
  JsonObject *predicate = json_object_new ();
  json_object_set_string_member (predicate, "run", f->run_id);
  json_object_set_string_member (predicate, "stage", f->stage);
  set_string (predicate, "sample", f->sample);
  json_object_set_int_member (predicate, "attempt", f->attempt);
  json_object_set_string_member (predicate, "decision", f->decision);
  set_string (predicate, "error_class", f->error_class);
  set_string (predicate, "reason", f->reason);
  if (f->details != NULL && JSON_NODE_HOLDS_OBJECT (f->details))
    set_object_copy (predicate, "details", f->details);
  set_time (predicate, "time", f->time_us);
  return statement_new (STRAND_RECORD_DECISION, subjects (f->subjects, f->n_subjects), predicate);
}
