#include "pipeline.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "formats.h"

/* ---- problems -------------------------------------------------------------- */

void
strand_problem_free (StrandProblem *problem)
{
  if (problem == NULL)
    return;
  g_free (problem->code);
  g_free (problem->pointer);
  g_free (problem->message);
  g_free (problem);
}

GPtrArray *
strand_problems_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) strand_problem_free);
}

void
strand_problems_add (GPtrArray *problems, gboolean warning, const char *code,
                     const char *pointer, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  StrandProblem *p = g_new0 (StrandProblem, 1);
  p->code = g_strdup (code);
  p->pointer = g_strdup (pointer);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  p->message = g_utf8_make_valid (msg, -1);
  p->warning = warning;
  va_end (ap);
  g_ptr_array_add (problems, p);
}

guint
strand_problems_errors (GPtrArray *problems)
{
  guint n = 0;
  for (guint i = 0; i < problems->len; i++)
    n += !((StrandProblem *) problems->pdata[i])->warning;
  return n;
}

/* ---- model ----------------------------------------------------------------- */

static void
stage_free (gpointer p)
{
  StrandStage *s = p;
  g_free (s->id);
  g_free (s->plugin);
  g_free (s->version);
  g_free (s->sha256);
  g_hash_table_unref (s->params);
  g_free (s);
}

static void
edge_free (gpointer p)
{
  StrandEdge *e = p;
  g_free (e->from_stage);
  g_free (e->from_port);
  g_free (e->to_stage);
  g_free (e->to_port);
  g_free (e);
}

static void
input_free (gpointer p)
{
  StrandPipelineInput *in = p;
  g_free (in->name);
  g_free (in->formats);
  g_free (in);
}

StrandPipeline *
strand_pipeline_new (const char *name)
{
  StrandPipeline *pipeline = g_new0 (StrandPipeline, 1);
  pipeline->name = g_strdup (name);
  pipeline->inputs = g_ptr_array_new_with_free_func (input_free);
  pipeline->stages = g_ptr_array_new_with_free_func (stage_free);
  pipeline->edges = g_ptr_array_new_with_free_func (edge_free);
  return pipeline;
}

void
strand_pipeline_free (StrandPipeline *pipeline)
{
  if (pipeline == NULL)
    return;
  g_free (pipeline->name);
  g_free (pipeline->description);
  g_free (pipeline->source_path);
  g_ptr_array_unref (pipeline->inputs);
  g_ptr_array_unref (pipeline->stages);
  g_ptr_array_unref (pipeline->edges);
  g_free (pipeline);
}

StrandStage *
strand_pipeline_add_stage (StrandPipeline *pipeline, const char *id, const char *plugin,
                           const char *version)
{
  StrandStage *s = g_new0 (StrandStage, 1);
  s->id = g_strdup (id);
  s->plugin = g_strdup (plugin);
  s->version = g_strdup (version);
  s->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_ptr_array_add (pipeline->stages, s);
  return s;
}

void
strand_stage_set_param (StrandStage *stage, const char *name, const char *value)
{
  g_hash_table_replace (stage->params, g_strdup (name), g_strdup (value));
}

void
strand_pipeline_add_input (StrandPipeline *pipeline, const char *name, const char *formats)
{
  StrandPipelineInput *in = g_new0 (StrandPipelineInput, 1);
  in->name = g_strdup (name);
  in->formats = g_strdup (formats);
  g_ptr_array_add (pipeline->inputs, in);
}

static gboolean
split_endpoint (const char *text, char **stage, char **port)
{
  if (text == NULL)
    return FALSE;
  if (text[0] == '@')
    {
      if (text[1] == '\0')
        return FALSE;
      *stage = NULL;
      *port = g_strdup (text + 1);
      return TRUE;
    }
  const char *dot = strrchr (text, '.');
  if (dot == NULL || dot == text || dot[1] == '\0')
    return FALSE;
  *stage = g_strndup (text, (gsize) (dot - text));
  *port = g_strdup (dot + 1);
  return TRUE;
}

gboolean
strand_pipeline_connect (StrandPipeline *pipeline, const char *from, const char *to)
{
  char *fs = NULL, *fp = NULL, *ts = NULL, *tp = NULL;
  if (!split_endpoint (from, &fs, &fp))
    return FALSE;
  if (!split_endpoint (to, &ts, &tp) || ts == NULL)
    {
      g_free (fs);
      g_free (fp);
      g_free (ts);
      g_free (tp);
      return FALSE;
    }
  StrandEdge *e = g_new0 (StrandEdge, 1);
  e->from_stage = fs;
  e->from_port = fp;
  e->to_stage = ts;
  e->to_port = tp;
  g_ptr_array_add (pipeline->edges, e);
  return TRUE;
}

/* ---- JSON ------------------------------------------------------------------ */

static const char *
string_member (JsonObject *o, const char *key, const char *pointer, gboolean required,
               GPtrArray *problems)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    {
      if (required)
        strand_problems_add (problems, FALSE, "missing-field", pointer,
                             "'%s' is required", key);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      strand_problems_add (problems, FALSE, "wrong-type", pointer, "'%s' must be a string", key);
      return NULL;
    }
  return json_node_get_string (n);
}

/* Parameter values of any JSON scalar type, in the text form plugins read. */
static char *
param_text (JsonNode *n)
{
  if (!JSON_NODE_HOLDS_VALUE (n))
    return NULL;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_STRING)
    return g_strdup (json_node_get_string (n));
  if (t == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (n) ? "true" : "false");
  if (t == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (n));
  if (t == G_TYPE_DOUBLE && isfinite (json_node_get_double (n)))
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      return g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (n)));
    }
  return NULL;
}

static void
load_stages (StrandPipeline *pipeline, JsonArray *stages, GPtrArray *problems)
{
  for (guint i = 0; i < json_array_get_length (stages); i++)
    {
      g_autofree char *ptr = g_strdup_printf ("/stages/%u", i);
      JsonNode *n = json_array_get_element (stages, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          strand_problems_add (problems, FALSE, "wrong-type", ptr, "a stage must be an object");
          continue;
        }
      JsonObject *o = json_node_get_object (n);
      const char *id = string_member (o, "id", ptr, TRUE, problems);
      const char *plugin = string_member (o, "plugin", ptr, TRUE, problems);
      const char *version = string_member (o, "version", ptr, FALSE, problems);
      const char *sha = string_member (o, "sha256", ptr, FALSE, problems);
      StrandStage *s = strand_pipeline_add_stage (pipeline, id ? id : "", plugin ? plugin : "",
                                                  version);
      s->sha256 = g_strdup (sha);
      JsonNode *params = json_object_get_member (o, "params");
      if (params == NULL)
        continue;
      if (!JSON_NODE_HOLDS_OBJECT (params))
        {
          strand_problems_add (problems, FALSE, "wrong-type", ptr, "'params' must be an object");
          continue;
        }
      g_autoptr (GList) names = json_object_get_members (json_node_get_object (params));
      for (GList *l = names; l; l = l->next)
        {
          const char *name = l->data;
          g_autofree char *text = param_text (json_object_get_member (json_node_get_object (params), name));
          if (text == NULL)
            {
              g_autofree char *pp = g_strdup_printf ("%s/params/%s", ptr, name);
              strand_problems_add (problems, FALSE, "wrong-type", pp,
                                   "parameter '%s' must be a string, number or boolean", name);
              continue;
            }
          strand_stage_set_param (s, name, text);
        }
    }
}

StrandPipeline *
strand_pipeline_load (const char *path, GPtrArray *problems)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      strand_problems_add (problems, FALSE, "unreadable", "", "%s", error->message);
      return NULL;
    }
  if (len == 0)
    {
      strand_problems_add (problems, FALSE, "empty-file", "", "%s is empty", path);
      return NULL;
    }
  if (!g_utf8_validate_len (contents, len, NULL))
    {
      strand_problems_add (problems, FALSE, "not-utf8", "",
                           "%s is not UTF-8 text", path);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, contents, (gssize) len, &error))
    {
      strand_problems_add (problems, FALSE, "invalid-json", "", "%s: %s", path, error->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      strand_problems_add (problems, FALSE, "wrong-type", "", "a pipeline must be a JSON object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (root);
  const char *name = string_member (o, "name", "", TRUE, problems);
  StrandPipeline *pipeline = strand_pipeline_new (name ? name : "");
  pipeline->source_path = g_strdup (path);
  pipeline->description = g_strdup (string_member (o, "description", "", FALSE, problems));

  JsonNode *inputs = json_object_get_member (o, "inputs");
  if (inputs != NULL && JSON_NODE_HOLDS_ARRAY (inputs))
    {
      JsonArray *a = json_node_get_array (inputs);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_autofree char *ptr = g_strdup_printf ("/inputs/%u", i);
          JsonNode *n = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_OBJECT (n))
            {
              strand_problems_add (problems, FALSE, "wrong-type", ptr, "an input must be an object");
              continue;
            }
          const char *iname = string_member (json_node_get_object (n), "name", ptr, TRUE, problems);
          const char *formats = string_member (json_node_get_object (n), "formats", ptr, TRUE, problems);
          if (iname && formats)
            strand_pipeline_add_input (pipeline, iname, formats);
        }
    }
  else if (inputs != NULL)
    strand_problems_add (problems, FALSE, "wrong-type", "/inputs", "'inputs' must be an array");

  JsonNode *stages = json_object_get_member (o, "stages");
  if (stages == NULL || !JSON_NODE_HOLDS_ARRAY (stages))
    strand_problems_add (problems, FALSE, stages ? "wrong-type" : "missing-field", "/stages",
                         "'stages' must be an array of stages");
  else
    load_stages (pipeline, json_node_get_array (stages), problems);

  JsonNode *edges = json_object_get_member (o, "edges");
  if (edges != NULL && JSON_NODE_HOLDS_ARRAY (edges))
    {
      JsonArray *a = json_node_get_array (edges);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          g_autofree char *ptr = g_strdup_printf ("/edges/%u", i);
          JsonNode *n = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_OBJECT (n))
            {
              strand_problems_add (problems, FALSE, "wrong-type", ptr, "an edge must be an object");
              continue;
            }
          const char *from = string_member (json_node_get_object (n), "from", ptr, TRUE, problems);
          const char *to = string_member (json_node_get_object (n), "to", ptr, TRUE, problems);
          if (from && to && !strand_pipeline_connect (pipeline, from, to))
            strand_problems_add (problems, FALSE, "bad-endpoint", ptr,
                                 "edge '%s' -> '%s': endpoints are 'stage.port', or '@input' "
                                 "for a sample input on the 'from' side", from, to);
        }
    }
  else if (edges != NULL)
    strand_problems_add (problems, FALSE, "wrong-type", "/edges", "'edges' must be an array");
  return pipeline;
}

/* ---- resolution ------------------------------------------------------------ */

static gint
stage_index (const StrandPipeline *pipeline, const char *id)
{
  for (guint i = 0; i < pipeline->stages->len; i++)
    if (g_strcmp0 (((StrandStage *) pipeline->stages->pdata[i])->id, id) == 0)
      return (gint) i;
  return -1;
}

static const StrandPipelineInput *
find_input (const StrandPipeline *pipeline, const char *name)
{
  for (guint i = 0; i < pipeline->inputs->len; i++)
    if (g_strcmp0 (((StrandPipelineInput *) pipeline->inputs->pdata[i])->name, name) == 0)
      return pipeline->inputs->pdata[i];
  return NULL;
}

static void
resolve_stage (StrandPipeline *pipeline, guint i, StrandRegistry *registry, GPtrArray *problems)
{
  StrandStage *s = pipeline->stages->pdata[i];
  g_autofree char *ptr = g_strdup_printf ("/stages/%u", i);
  g_autofree char *pp = g_strdup_printf ("%s/plugin", ptr);
  if (s->version && !strand_version_constraint_valid (s->version))
    {
      g_autofree char *vp = g_strdup_printf ("%s/version", ptr);
      strand_problems_add (problems, FALSE, "bad-version-constraint", vp,
                           "stage '%s': version constraint '%s' is not valid", s->id, s->version);
      return;
    }
  s->resolved = strand_registry_lookup (registry, s->plugin, s->version);
  if (s->resolved == NULL)
    {
      if (strand_registry_lookup (registry, s->plugin, NULL) != NULL)
        strand_problems_add (problems, FALSE, "unknown-plugin-version", pp,
                             "stage '%s': no version of plugin '%s' matches '%s'", s->id,
                             s->plugin, s->version);
      else
        strand_problems_add (problems, FALSE, "unknown-plugin", pp,
                             "stage '%s': no plugin named '%s' is installed", s->id, s->plugin);
      return;
    }
  if (s->sha256 && g_strcmp0 (s->sha256, s->resolved->sha256) != 0)
    {
      g_autofree char *sp = g_strdup_printf ("%s/sha256", ptr);
      strand_problems_add (problems, FALSE, "plugin-digest-mismatch", sp,
                           "stage '%s': plugin %s is pinned to %s but %s has %s", s->id,
                           s->plugin, s->sha256, s->resolved->path, s->resolved->sha256);
    }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, s->params);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      g_autofree char *param_ptr = g_strdup_printf ("%s/params/%s", ptr, (char *) k);
      const StrandParamInfo *p = strand_plugin_info_find_param (s->resolved, k);
      g_autoptr (GError) error = NULL;
      if (p == NULL)
        strand_problems_add (problems, FALSE, "unknown-param", param_ptr,
                             "stage '%s': plugin %s has no parameter '%s'", s->id, s->plugin,
                             (char *) k);
      else if (!strand_param_info_check_value (p, v, &error))
        strand_problems_add (problems, FALSE, "bad-param-value", param_ptr,
                             "stage '%s': parameter '%s': %s", s->id, (char *) k, error->message);
    }
  for (guint j = 0; j < s->resolved->params->len; j++)
    {
      const StrandParamInfo *p = s->resolved->params->pdata[j];
      if ((p->flags & STRAND_PARAM_REQUIRED) && !g_hash_table_contains (s->params, p->name))
        {
          g_autofree char *param_ptr = g_strdup_printf ("%s/params", ptr);
          strand_problems_add (problems, FALSE, "missing-param", param_ptr,
                               "stage '%s': required parameter '%s' is not set", s->id, p->name);
        }
    }
}

void
strand_pipeline_resolve (StrandPipeline *pipeline, StrandRegistry *registry, GPtrArray *problems)
{
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      StrandStage *s = pipeline->stages->pdata[i];
      g_autofree char *ptr = g_strdup_printf ("/stages/%u/id", i);
      if (!g_hash_table_add (ids, s->id))
        strand_problems_add (problems, FALSE, "duplicate-stage-id", ptr,
                             "stage id '%s' is used twice", s->id);
      resolve_stage (pipeline, i, registry, problems);
    }

  /* Edges: endpoints exist, formats meet, no input port fed twice. */
  g_autoptr (GHashTable) fed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < pipeline->edges->len; i++)
    {
      const StrandEdge *e = pipeline->edges->pdata[i];
      g_autofree char *ptr = g_strdup_printf ("/edges/%u", i);
      gint to = stage_index (pipeline, e->to_stage);
      if (to < 0)
        {
          strand_problems_add (problems, FALSE, "unknown-stage", ptr,
                               "edge into unknown stage '%s'", e->to_stage);
          continue;
        }
      const StrandStage *ts = pipeline->stages->pdata[to];
      const StrandPortInfo *in = ts->resolved
          ? strand_plugin_info_find_port (ts->resolved, FALSE, e->to_port) : NULL;
      if (ts->resolved && in == NULL)
        strand_problems_add (problems, FALSE, "unknown-port", ptr,
                             "stage '%s' (%s) has no input port '%s'", ts->id, ts->plugin, e->to_port);
      const char *from_formats = NULL;
      g_autofree char *from_name = NULL;
      if (e->from_stage == NULL)
        {
          const StrandPipelineInput *pin = find_input (pipeline, e->from_port);
          from_name = g_strdup_printf ("sample input '%s'", e->from_port);
          if (pin == NULL)
            strand_problems_add (problems, FALSE, "unknown-input", ptr,
                                 "'@%s' is not declared in the pipeline's inputs", e->from_port);
          else
            from_formats = pin->formats;
        }
      else
        {
          gint from = stage_index (pipeline, e->from_stage);
          if (from < 0)
            {
              strand_problems_add (problems, FALSE, "unknown-stage", ptr,
                                   "edge from unknown stage '%s'", e->from_stage);
              continue;
            }
          const StrandStage *fs = pipeline->stages->pdata[from];
          from_name = g_strdup_printf ("'%s.%s'", fs->id, e->from_port);
          const StrandPortInfo *out = fs->resolved
              ? strand_plugin_info_find_port (fs->resolved, TRUE, e->from_port) : NULL;
          if (fs->resolved && out == NULL)
            strand_problems_add (problems, FALSE, "unknown-port", ptr,
                                 "stage '%s' (%s) has no output port '%s'", fs->id, fs->plugin,
                                 e->from_port);
          from_formats = out ? out->formats : NULL;
        }
      if (in != NULL && from_formats != NULL && !strand_formats_compatible (from_formats, in->formats))
        strand_problems_add (problems, FALSE, "format-mismatch", ptr,
                             "%s makes %s but '%s.%s' takes %s", from_name, from_formats,
                             ts->id, e->to_port, in->formats);
      if (in != NULL)
        {
          char *key = g_strdup_printf ("%s.%s", ts->id, e->to_port);
          if (!g_hash_table_add (fed, key) && !(in->flags & STRAND_PORT_MULTIPLE))
            strand_problems_add (problems, FALSE, "port-fed-twice", ptr,
                                 "input '%s' takes one source but is fed twice", key);
        }
    }

  /* Required inputs connected; outputs that feed nothing are only a warning. */
  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      const StrandStage *s = pipeline->stages->pdata[i];
      if (s->resolved == NULL)
        continue;
      for (guint j = 0; j < s->resolved->inputs->len; j++)
        {
          const StrandPortInfo *in = s->resolved->inputs->pdata[j];
          g_autofree char *key = g_strdup_printf ("%s.%s", s->id, in->name);
          if (!(in->flags & STRAND_PORT_OPTIONAL) && !g_hash_table_contains (fed, key))
            {
              g_autofree char *ptr = g_strdup_printf ("/stages/%u", i);
              strand_problems_add (problems, FALSE, "unconnected-input", ptr,
                                   "required input '%s' is not connected", key);
            }
        }
    }

  /* Cycles: Kahn's algorithm; what cannot be ordered lies on or behind a cycle. */
  g_autoptr (GArray) order = strand_pipeline_topological_order (pipeline);
  if (order->len < pipeline->stages->len)
    {
      g_autofree gboolean *placed = g_new0 (gboolean, pipeline->stages->len);
      for (guint i = 0; i < order->len; i++)
        placed[g_array_index (order, guint, i)] = TRUE;
      g_autoptr (GString) names = g_string_new (NULL);
      for (guint i = 0; i < pipeline->stages->len; i++)
        if (!placed[i])
          g_string_append_printf (names, "%s%s", names->len ? " -> " : "",
                                  ((StrandStage *) pipeline->stages->pdata[i])->id);
      strand_problems_add (problems, FALSE, "cycle", "/edges",
                           "the stages %s depend on each other in a cycle", names->str);
    }
}

GArray *
strand_pipeline_topological_order (const StrandPipeline *pipeline)
{
  guint n = pipeline->stages->len;
  g_autofree guint *indegree = g_new0 (guint, n);
  g_autoptr (GPtrArray) succ = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (succ, g_array_new (FALSE, FALSE, sizeof (guint)));
  g_autoptr (GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++)
    g_hash_table_insert (index, ((StrandStage *) pipeline->stages->pdata[i])->id, GUINT_TO_POINTER (i + 1));
  for (guint i = 0; i < pipeline->edges->len; i++)
    {
      const StrandEdge *e = pipeline->edges->pdata[i];
      if (e->from_stage == NULL)
        continue;
      guint from = GPOINTER_TO_UINT (g_hash_table_lookup (index, e->from_stage));
      guint to = GPOINTER_TO_UINT (g_hash_table_lookup (index, e->to_stage));
      if (from == 0 || to == 0)
        continue;
      guint t = to - 1;
      g_array_append_val (succ->pdata[from - 1], t);
      indegree[t]++;
    }
  GArray *order = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  for (guint i = 0; i < n; i++)
    if (indegree[i] == 0)
      g_array_append_val (order, i);
  for (guint k = 0; k < order->len; k++)
    {
      GArray *next = succ->pdata[g_array_index (order, guint, k)];
      for (guint j = 0; j < next->len; j++)
        {
          guint t = g_array_index (next, guint, j);
          if (--indegree[t] == 0)
            g_array_append_val (order, t);
        }
    }
  return order;
}
