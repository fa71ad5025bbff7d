#include "task.h"

#include "json-util.h"

void
strand_task_input_free (StrandTaskInput *in)
{
  if (in == NULL)
    return;
  g_free (in->port);
  g_free (in->path);
  g_free (in->format);
  g_free (in->name);
  g_free (in->sha256);
  g_free (in->sample_id);
  g_free (in->source);
  g_free (in);
}

static void
task_sample_free (gpointer p)
{
  StrandTaskSample *s = p;
  g_free (s->id);
  g_clear_pointer (&s->meta, g_hash_table_unref);
  g_free (s);
}

static void
output_free (gpointer p)
{
  StrandTaskOutput *out = p;
  g_free (out->port);
  g_free (out->path);
  g_free (out->name);
  g_free (out->sha256);
  g_free (out->md5);
  g_free (out->sample_id);
  g_free (out);
}

static void
tool_free (gpointer p)
{
  StrandToolUse *tool = p;
  g_free (tool->path);
  g_free (tool->version);
  g_free (tool->sha256);
  g_free (tool);
}

StrandTaskSpec *
strand_task_spec_new (const StrandPluginInfo *plugin, const char *task_id)
{
  StrandTaskSpec *spec = g_new0 (StrandTaskSpec, 1);
  spec->plugin = plugin;
  spec->task_id = g_strdup (task_id);
  spec->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  spec->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_task_input_free);
  spec->run_samples = g_ptr_array_new_with_free_func (task_sample_free);
  spec->cores = 1;
  spec->attempt = 1;
  return spec;
}

void
strand_task_spec_free (StrandTaskSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->task_id);
  g_free (spec->sample_id);
  g_clear_pointer (&spec->sample_meta, g_hash_table_unref);
  g_hash_table_unref (spec->params);
  g_ptr_array_unref (spec->inputs);
  g_ptr_array_unref (spec->run_samples);
  g_free (spec->work_dir);
  g_free (spec->stage_id);
  g_free (spec->equipment);
  strand_plugin_info_free (spec->owned_plugin);
  g_free (spec);
}

StrandTaskInput *
strand_task_spec_add_input (StrandTaskSpec *spec, const char *port, const char *path,
                            const char *format)
{
  StrandTaskInput *in = g_new0 (StrandTaskInput, 1);
  in->port = g_strdup (port);
  in->path = g_strdup (path);
  in->format = g_strdup (format);
  g_ptr_array_add (spec->inputs, in);
  return in;
}

void
strand_task_spec_add_run_sample (StrandTaskSpec *spec, const char *id, GHashTable *meta)
{
  StrandTaskSample *s = g_new0 (StrandTaskSample, 1);
  s->id = g_strdup (id);
  s->meta = meta ? g_hash_table_ref (meta) : NULL;
  g_ptr_array_add (spec->run_samples, s);
}

StrandTaskResult *
strand_task_result_new (void)
{
  StrandTaskResult *result = g_new0 (StrandTaskResult, 1);
  result->exit_status = -1;
  result->outputs = g_ptr_array_new_with_free_func (output_free);
  result->tools = g_ptr_array_new_with_free_func (tool_free);
  result->metrics = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return result;
}

void
strand_task_result_free (StrandTaskResult *result)
{
  if (result == NULL)
    return;
  g_free (result->message);
  g_ptr_array_unref (result->outputs);
  g_ptr_array_unref (result->tools);
  g_hash_table_unref (result->metrics);
  g_free (result->log_path);
  g_clear_pointer (&result->placement, json_node_unref);
  g_free (result);
}

/* ---- JSON ------------------------------------------------------------------ */

static void
set_opt_string (JsonObject *o, const char *key, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, key, value);
}

static JsonObject *
string_table_to_json (GHashTable *table)
{
  JsonObject *o = json_object_new ();
  GHashTableIter it;
  gpointer k, v;
  if (table)
    g_hash_table_iter_init (&it, table);
  while (table && g_hash_table_iter_next (&it, &k, &v))
    json_object_set_string_member (o, k, v ? v : "");
  return o;
}

static GHashTable *
string_table_from_json (JsonObject *parent, const char *key)
{
  JsonNode *n = json_object_get_member (parent, key);
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    return NULL;
  JsonObject *o = json_node_get_object (n);
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *m = members; m; m = m->next)
    g_hash_table_insert (table, g_strdup (m->data), g_strdup (strand_json_string (o, m->data, "")));
  return table;
}

JsonNode *
strand_task_spec_to_json (const StrandTaskSpec *spec)
{
  JsonObject *o = json_object_new ();
  json_object_set_member (o, "plugin", strand_plugin_info_to_json (spec->plugin));
  json_object_set_string_member (o, "task_id", spec->task_id);
  set_opt_string (o, "stage", spec->stage_id);
  set_opt_string (o, "sample", spec->sample_id);
  if (spec->sample_meta)
    json_object_set_object_member (o, "sample_meta", string_table_to_json (spec->sample_meta));
  JsonArray *samples = json_array_new ();
  for (guint i = 0; i < spec->run_samples->len; i++)
    {
      const StrandTaskSample *s = spec->run_samples->pdata[i];
      JsonObject *so = json_object_new ();
      json_object_set_string_member (so, "id", s->id);
      if (s->meta)
        json_object_set_object_member (so, "meta", string_table_to_json (s->meta));
      json_array_add_object_element (samples, so);
    }
  json_object_set_array_member (o, "run_samples", samples);
  json_object_set_object_member (o, "params", string_table_to_json (spec->params));
  JsonArray *inputs = json_array_new ();
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const StrandTaskInput *in = spec->inputs->pdata[i];
      JsonObject *io = json_object_new ();
      json_object_set_string_member (io, "port", in->port);
      json_object_set_string_member (io, "path", in->path);
      set_opt_string (io, "format", in->format);
      set_opt_string (io, "name", in->name);
      set_opt_string (io, "sha256", in->sha256);
      set_opt_string (io, "sample", in->sample_id);
      set_opt_string (io, "source", in->source);
      json_object_set_boolean_member (io, "verify", in->verify);
      json_array_add_object_element (inputs, io);
    }
  json_object_set_array_member (o, "inputs", inputs);
  json_object_set_string_member (o, "work_dir", spec->work_dir);
  json_object_set_int_member (o, "cores", spec->cores);
  json_object_set_int_member (o, "memory_bytes", (gint64) spec->memory_bytes);
  json_object_set_int_member (o, "scratch_bytes", (gint64) spec->scratch_bytes);
  json_object_set_int_member (o, "attempt", spec->attempt);
  json_object_set_int_member (o, "timeout_us", spec->timeout_us);
  set_opt_string (o, "equipment", spec->equipment);
  if (spec->fault)
    {
      JsonObject *fo = json_object_new ();
      json_object_set_int_member (fo, "kind", spec->fault);
      json_object_set_int_member (fo, "class", spec->fault_class);
      json_object_set_int_member (fo, "signal", spec->fault_signal);
      json_object_set_object_member (o, "fault", fo);
    }
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, o);
  return node;
}

static gboolean
need (JsonObject *o, const char *key, JsonNodeType type, GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n != NULL && JSON_NODE_TYPE (n) == type)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "task: member '%s' is missing or of "
               "the wrong type", key);
  return FALSE;
}

StrandTaskSpec *
strand_task_spec_from_json (JsonNode *node, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "task: not a JSON object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  if (!need (o, "plugin", JSON_NODE_OBJECT, error) || !need (o, "task_id", JSON_NODE_VALUE, error) ||
      !need (o, "work_dir", JSON_NODE_VALUE, error) || !need (o, "inputs", JSON_NODE_ARRAY, error))
    return NULL;
  g_autoptr (GError) local = NULL;
  StrandPluginInfo *plugin = strand_plugin_info_from_json (json_object_get_member (o, "plugin"), &local);
  if (plugin == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "task: plugin: %s", local->message);
      return NULL;
    }
  g_autoptr (StrandTaskSpec) spec = strand_task_spec_new (plugin, strand_json_string (o, "task_id", ""));
  spec->owned_plugin = plugin;
  spec->stage_id = g_strdup (strand_json_string (o, "stage", NULL));
  spec->sample_id = g_strdup (strand_json_string (o, "sample", NULL));
  spec->sample_meta = string_table_from_json (o, "sample_meta");
  JsonNode *rs = json_object_get_member (o, "run_samples");
  JsonArray *samples = rs && JSON_NODE_HOLDS_ARRAY (rs) ? json_node_get_array (rs) : NULL;
  for (guint i = 0; samples && i < json_array_get_length (samples); i++)
    {
      JsonNode *sn = json_array_get_element (samples, i);
      if (!JSON_NODE_HOLDS_OBJECT (sn))
        continue;
      g_autoptr (GHashTable) meta = string_table_from_json (json_node_get_object (sn), "meta");
      strand_task_spec_add_run_sample (spec, strand_json_string (json_node_get_object (sn), "id", ""),
                                       meta);
    }
  g_autoptr (GHashTable) params = string_table_from_json (o, "params");
  if (params)
    {
      g_hash_table_unref (spec->params);
      spec->params = g_steal_pointer (&params);
    }
  JsonArray *inputs = json_object_get_array_member (o, "inputs");
  for (guint i = 0; i < json_array_get_length (inputs); i++)
    {
      JsonNode *in = json_array_get_element (inputs, i);
      JsonObject *io = JSON_NODE_HOLDS_OBJECT (in) ? json_node_get_object (in) : NULL;
      const char *port = io ? strand_json_string (io, "port", NULL) : NULL;
      const char *path = io ? strand_json_string (io, "path", NULL) : NULL;
      if (port == NULL || path == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "task: inputs/%u: 'port' and 'path' are required", i);
          return NULL;
        }
      StrandTaskInput *ti = strand_task_spec_add_input (spec, port, path,
                                                        strand_json_string (io, "format", NULL));
      ti->name = g_strdup (strand_json_string (io, "name", NULL));
      ti->sha256 = g_strdup (strand_json_string (io, "sha256", NULL));
      ti->sample_id = g_strdup (strand_json_string (io, "sample", NULL));
      ti->source = g_strdup (strand_json_string (io, "source", NULL));
      ti->verify = strand_json_bool (io, "verify", FALSE);
    }
  spec->work_dir = g_strdup (strand_json_string (o, "work_dir", ""));
  spec->cores = (guint) CLAMP (strand_json_int (o, "cores", 1), 1, G_MAXUINT32);
  spec->memory_bytes = (guint64) MAX (strand_json_int (o, "memory_bytes", 0), 0);
  spec->scratch_bytes = (guint64) MAX (strand_json_int (o, "scratch_bytes", 0), 0);
  spec->attempt = (int) CLAMP (strand_json_int (o, "attempt", 1), 1, G_MAXINT);
  spec->timeout_us = MAX (strand_json_int (o, "timeout_us", 0), 0);
  spec->equipment = g_strdup (strand_json_string (o, "equipment", NULL));
  JsonNode *fault = json_object_get_member (o, "fault");
  if (fault && JSON_NODE_HOLDS_OBJECT (fault))
    {
      JsonObject *fo = json_node_get_object (fault);
      spec->fault = (int) strand_json_int (fo, "kind", 0);
      spec->fault_class = (StrandErrorClass) CLAMP (strand_json_int (fo, "class", 0), 0,
                                                    STRAND_ERROR_CLASS_COUNT - 1);
      spec->fault_signal = (int) strand_json_int (fo, "signal", 0);
    }
  return g_steal_pointer (&spec);
}

JsonNode *
strand_task_result_to_json (const StrandTaskResult *r)
{
  JsonObject *o = json_object_new ();
  json_object_set_boolean_member (o, "ok", r->ok);
  json_object_set_string_member (o, "error_class", strand_error_class_name (r->error_class));
  set_opt_string (o, "message", r->message);
  json_object_set_int_member (o, "exit_status", r->exit_status);
  json_object_set_int_member (o, "term_signal", r->term_signal);
  set_opt_string (o, "log", r->log_path);
  json_object_set_int_member (o, "start_us", r->start_us);
  json_object_set_int_member (o, "end_us", r->end_us);
  json_object_set_int_member (o, "max_rss_bytes", (gint64) r->max_rss_bytes);
  json_object_set_int_member (o, "cpu_us", r->cpu_us);
  if (r->placement != NULL)
    json_object_set_member (o, "placement", json_node_copy (r->placement));
  JsonArray *outputs = json_array_new ();
  for (guint i = 0; i < r->outputs->len; i++)
    {
      const StrandTaskOutput *out = r->outputs->pdata[i];
      JsonObject *oo = json_object_new ();
      json_object_set_string_member (oo, "port", out->port);
      json_object_set_string_member (oo, "path", out->path);
      set_opt_string (oo, "name", out->name);
      set_opt_string (oo, "sha256", out->sha256);
      set_opt_string (oo, "md5", out->md5);
      json_object_set_int_member (oo, "size", (gint64) out->size);
      set_opt_string (oo, "sample", out->sample_id);
      json_object_set_boolean_member (oo, "tree", out->tree);
      json_array_add_object_element (outputs, oo);
    }
  json_object_set_array_member (o, "outputs", outputs);
  JsonArray *tools = json_array_new ();
  for (guint i = 0; i < r->tools->len; i++)
    {
      const StrandToolUse *t = r->tools->pdata[i];
      JsonObject *to = json_object_new ();
      json_object_set_string_member (to, "path", t->path);
      set_opt_string (to, "version", t->version);
      set_opt_string (to, "sha256", t->sha256);
      json_array_add_object_element (tools, to);
    }
  json_object_set_array_member (o, "tools", tools);
  JsonObject *metrics = json_object_new ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, r->metrics);
  while (g_hash_table_iter_next (&it, &k, &v))
    json_object_set_double_member (metrics, k, *(double *) v);
  json_object_set_object_member (o, "metrics", metrics);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, o);
  return node;
}

StrandTaskResult *
strand_task_result_from_json (JsonNode *node, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "task result: not a JSON object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  g_autoptr (StrandTaskResult) r = strand_task_result_new ();
  r->ok = strand_json_bool (o, "ok", FALSE);
  if (!strand_error_class_from_name (strand_json_string (o, "error_class", ""), &r->error_class))
    r->error_class = r->ok ? STRAND_ERROR_NONE : STRAND_ERROR_INTERNAL;
  r->message = g_strdup (strand_json_string (o, "message", NULL));
  r->exit_status = (int) strand_json_int (o, "exit_status", -1);
  r->term_signal = (int) strand_json_int (o, "term_signal", 0);
  r->log_path = g_strdup (strand_json_string (o, "log", NULL));
  r->start_us = strand_json_int (o, "start_us", 0);
  r->end_us = strand_json_int (o, "end_us", 0);
  r->max_rss_bytes = (guint64) MAX (strand_json_int (o, "max_rss_bytes", 0), 0);
  r->cpu_us = MAX (strand_json_int (o, "cpu_us", 0), 0);
  JsonNode *pn = json_object_get_member (o, "placement");
  if (pn != NULL && JSON_NODE_HOLDS_OBJECT (pn))
    r->placement = json_node_copy (pn);
  JsonNode *on = json_object_get_member (o, "outputs");
  JsonArray *outputs = on && JSON_NODE_HOLDS_ARRAY (on) ? json_node_get_array (on) : NULL;
  for (guint i = 0; outputs && i < json_array_get_length (outputs); i++)
    {
      JsonNode *e = json_array_get_element (outputs, i);
      JsonObject *oo = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      if (oo == NULL || !strand_json_string (oo, "port", NULL) || !strand_json_string (oo, "path", NULL))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "task result: outputs/%u: 'port' and 'path' are required", i);
          return NULL;
        }
      StrandTaskOutput *out = g_new0 (StrandTaskOutput, 1);
      out->port = g_strdup (strand_json_string (oo, "port", NULL));
      out->path = g_strdup (strand_json_string (oo, "path", NULL));
      out->name = g_strdup (strand_json_string (oo, "name", NULL));
      out->sha256 = g_strdup (strand_json_string (oo, "sha256", NULL));
      out->md5 = g_strdup (strand_json_string (oo, "md5", NULL));
      out->size = (guint64) MAX (strand_json_int (oo, "size", 0), 0);
      out->sample_id = g_strdup (strand_json_string (oo, "sample", NULL));
      out->tree = strand_json_bool (oo, "tree", FALSE);
      g_ptr_array_add (r->outputs, out);
    }
  JsonNode *tn = json_object_get_member (o, "tools");
  JsonArray *tools = tn && JSON_NODE_HOLDS_ARRAY (tn) ? json_node_get_array (tn) : NULL;
  for (guint i = 0; tools && i < json_array_get_length (tools); i++)
    {
      JsonNode *e = json_array_get_element (tools, i);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      JsonObject *to = json_node_get_object (e);
      StrandToolUse *t = g_new0 (StrandToolUse, 1);
      t->path = g_strdup (strand_json_string (to, "path", ""));
      t->version = g_strdup (strand_json_string (to, "version", NULL));
      t->sha256 = g_strdup (strand_json_string (to, "sha256", NULL));
      g_ptr_array_add (r->tools, t);
    }
  JsonNode *mn = json_object_get_member (o, "metrics");
  if (mn && JSON_NODE_HOLDS_OBJECT (mn))
    {
      JsonObject *mo = json_node_get_object (mn);
      g_autoptr (GList) members = json_object_get_members (mo);
      for (GList *m = members; m; m = m->next)
        {
          double *v = g_new (double, 1);
          *v = strand_json_double (mo, m->data, 0);
          g_hash_table_replace (r->metrics, g_strdup (m->data), v);
        }
    }
  return g_steal_pointer (&r);
}
