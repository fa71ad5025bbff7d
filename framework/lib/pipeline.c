#include "pipeline.h"

#include <math.h>
#include <string.h>

#include "digest.h"
#include "formats.h"
#include "json-util.h"

/* ---- model ----------------------------------------------------------------- */

static void
policy_override_free (gpointer p)
{
  StrandPolicyOverride *o = p;
  g_free (o->fallback_plugin);
  g_free (o);
}

static void
stage_free (gpointer p)
{
  StrandStage *s = p;
  g_ptr_array_unref (s->policy);
  g_free (s->id);
  g_free (s->plugin);
  g_free (s->version);
  g_free (s->sha256);
  g_hash_table_unref (s->params);
  g_free (s->resources.equipment_class);
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
  g_free (in->path);
  g_free (in->sha256);
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
  pipeline->outputs = g_ptr_array_new_with_free_func (g_free);
  pipeline->report = g_ptr_array_new_with_free_func (g_free);
  return pipeline;
}

void
strand_pipeline_free (StrandPipeline *pipeline)
{
  if (pipeline == NULL)
    return;
  g_free (pipeline->name);
  g_free (pipeline->description);
  g_free (pipeline->source);
  g_ptr_array_unref (pipeline->inputs);
  g_ptr_array_unref (pipeline->stages);
  g_ptr_array_unref (pipeline->edges);
  g_ptr_array_unref (pipeline->outputs);
  g_ptr_array_unref (pipeline->report);
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
  s->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) json_node_unref);
  s->policy = g_ptr_array_new_with_free_func (policy_override_free);
  s->index = pipeline->stages->len;
  g_ptr_array_add (pipeline->stages, s);
  return s;
}

static void
set_param (StrandStage *stage, const char *name, JsonNode *value)
{
  g_hash_table_replace (stage->params, g_strdup (name), value);
}

void
strand_stage_set_param_string (StrandStage *stage, const char *name, const char *value)
{
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (n, value);
  set_param (stage, name, n);
}

void
strand_stage_set_param_int (StrandStage *stage, const char *name, gint64 value)
{
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  json_node_set_int (n, value);
  set_param (stage, name, n);
}

void
strand_stage_set_param_double (StrandStage *stage, const char *name, double value)
{
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  json_node_set_double (n, value);
  set_param (stage, name, n);
}

void
strand_stage_set_param_bool (StrandStage *stage, const char *name, gboolean value)
{
  JsonNode *n = json_node_new (JSON_NODE_VALUE);
  json_node_set_boolean (n, value);
  set_param (stage, name, n);
}

void
strand_stage_set_param_typed (StrandStage *stage, const StrandPluginInfo *plugin, const char *name,
                              const char *text)
{
  const StrandParamInfo *spec = plugin ? strand_plugin_info_find_param (plugin, name) : NULL;
  gint64 i;
  char *end = NULL;
  double d = 0;
  StrandParamType type = spec ? spec->type : STRAND_PARAM_STRING;
  if (type == STRAND_PARAM_INT && g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &i, NULL))
    strand_stage_set_param_int (stage, name, i);
  else if (type == STRAND_PARAM_DOUBLE && *text && (d = g_ascii_strtod (text, &end), *end == '\0'))
    strand_stage_set_param_double (stage, name, d);
  else if (type == STRAND_PARAM_BOOL && (strcmp (text, "true") == 0 || strcmp (text, "false") == 0))
    strand_stage_set_param_bool (stage, name, strcmp (text, "true") == 0);
  else
    strand_stage_set_param_string (stage, name, text);
}

/* Parameter values of any JSON scalar type, in the text form plugins read. */
static char *
node_text (JsonNode *n)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
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

char *
strand_stage_param_text (const StrandStage *stage, const char *name)
{
  return node_text (g_hash_table_lookup (stage->params, name));
}

StrandPipelineInput *
strand_pipeline_add_input (StrandPipeline *pipeline, const char *name, const char *formats)
{
  StrandPipelineInput *in = g_new0 (StrandPipelineInput, 1);
  in->name = g_strdup (name);
  in->formats = g_strdup (formats);
  g_ptr_array_add (pipeline->inputs, in);
  return in;
}

StrandPipelineInput *
strand_pipeline_find_input (const StrandPipeline *pipeline, const char *name)
{
  for (guint i = 0; name != NULL && i < pipeline->inputs->len; i++)
    {
      StrandPipelineInput *in = pipeline->inputs->pdata[i];
      if (g_strcmp0 (in->name, name) == 0)
        return in;
    }
  return NULL;
}

static gboolean
split_endpoint (const char *text, char **stage, char **port)
{
  *stage = *port = NULL;
  if (text == NULL)
    return FALSE;
  if (text[0] == '@')
    {
      if (text[1] == '\0' || strchr (text, '.'))
        return FALSE;
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
  g_autofree char *fs = NULL, *fp = NULL, *ts = NULL, *tp = NULL;
  if (!split_endpoint (from, &fs, &fp) || !split_endpoint (to, &ts, &tp) || ts == NULL)
    return FALSE;
  StrandEdge *e = g_new0 (StrandEdge, 1);
  e->from_stage = g_steal_pointer (&fs);
  e->from_port = g_steal_pointer (&fp);
  e->to_stage = g_steal_pointer (&ts);
  e->to_port = g_steal_pointer (&tp);
  g_ptr_array_add (pipeline->edges, e);
  return TRUE;
}

void
strand_pipeline_add_output (StrandPipeline *pipeline, const char *stage_port)
{
  g_ptr_array_add (pipeline->outputs, g_strdup (stage_port));
}

StrandStage *
strand_pipeline_find_stage (const StrandPipeline *pipeline, const char *id)
{
  for (guint i = 0; i < pipeline->stages->len; i++)
    if (g_strcmp0 (((StrandStage *) pipeline->stages->pdata[i])->id, id) == 0)
      return pipeline->stages->pdata[i];
  return NULL;
}

gboolean
strand_stage_add_policy (StrandStage *stage, const char *error_class, const char *action,
                         guint max_attempts, guint backoff_ms, double escalate_factor,
                         const char *fallback_plugin)
{
  StrandPolicyOverride o = { .max_attempts = max_attempts, .backoff_ms = backoff_ms,
                             .escalate_factor = escalate_factor };
  o.any_class = error_class == NULL || strcmp (error_class, "any") == 0;
  if (!o.any_class && (!strand_error_class_from_name (error_class, &o.error_class) ||
                       o.error_class == STRAND_ERROR_NONE))
    return FALSE;
  if (action == NULL || !strand_action_from_name (action, &o.action))
    return FALSE;
  StrandPolicyOverride *copy = g_memdup2 (&o, sizeof o);
  copy->fallback_plugin = g_strdup (fallback_plugin);
  g_ptr_array_add (stage->policy, copy);
  return TRUE;
}

/* ---- reading JSON ---------------------------------------------------------- */

typedef struct {
  GPtrArray *problems;
  const char *name; /* the file, in front of every JSON pointer */
} Loader;

static void G_GNUC_PRINTF (4, 5)
complain (Loader *l, const char *code, const char *where, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autofree char *location = g_strdup_printf ("%s#%s", l->name, where);
  strand_problems_add (l->problems, FALSE, code, location, "%s", msg);
}

/* Reports members that the format does not have: a typo must not pass. */
static void
check_keys (Loader *l, JsonObject *o, const char *where, const char *const *known)
{
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *m = members; m; m = m->next)
    if (!g_strv_contains (known, m->data))
      {
        g_autofree char *ptr = g_strdup_printf ("%s/%s", where, (char *) m->data);
        complain (l, "unknown-field", ptr, "'%s' is not a field here", (char *) m->data);
      }
}

static const char *
get_string (Loader *l, JsonObject *o, const char *key, const char *where, gboolean required)
{
  JsonNode *n = json_object_get_member (o, key);
  g_autofree char *ptr = g_strdup_printf ("%s/%s", where, key);
  if (n == NULL)
    {
      if (required)
        complain (l, "missing-field", ptr, "'%s' is required", key);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      complain (l, "wrong-type", ptr, "'%s' must be a string", key);
      return NULL;
    }
  return json_node_get_string (n);
}

static gboolean
get_bool (Loader *l, JsonObject *o, const char *key, const char *where, gboolean fallback)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    return fallback;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    {
      g_autofree char *ptr = g_strdup_printf ("%s/%s", where, key);
      complain (l, "wrong-type", ptr, "'%s' must be true or false", key);
      return fallback;
    }
  return json_node_get_boolean (n);
}

static JsonArray *
get_array (Loader *l, JsonObject *o, const char *key, const char *where, gboolean required)
{
  JsonNode *n = json_object_get_member (o, key);
  g_autofree char *ptr = g_strdup_printf ("%s/%s", where, key);
  if (n == NULL)
    {
      if (required)
        complain (l, "missing-field", ptr, "'%s' is required", key);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (n))
    {
      complain (l, "wrong-type", ptr, "'%s' must be an array", key);
      return NULL;
    }
  return json_node_get_array (n);
}

static JsonObject *
get_object (Loader *l, JsonObject *o, const char *key, const char *where)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      g_autofree char *ptr = g_strdup_printf ("%s/%s", where, key);
      complain (l, "wrong-type", ptr, "'%s' must be an object", key);
      return NULL;
    }
  return json_node_get_object (n);
}

/* A number member within [min, max]; FALSE when absent or bad (reported). */
static gboolean
get_number (Loader *l, JsonObject *o, const char *key, const char *where, gboolean integer,
            double min, double max, double *out)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    return FALSE;
  g_autofree char *ptr = g_strdup_printf ("%s/%s", where, key);
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_INT64 && (integer || t != G_TYPE_DOUBLE))
    {
      complain (l, "wrong-type", ptr, "'%s' must be %s", key, integer ? "an integer" : "a number");
      return FALSE;
    }
  double v = t == G_TYPE_INT64 ? (double) json_node_get_int (n) : json_node_get_double (n);
  if (!(v >= min && v <= max))
    {
      complain (l, "out-of-range", ptr, "'%s' is %g, outside %g..%g", key, v, min, max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static void
load_stage (Loader *l, StrandPipeline *pipeline, JsonNode *n, guint i)
{
  g_autofree char *where = g_strdup_printf ("/stages/%u", i);
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      complain (l, "wrong-type", where, "a stage must be an object");
      return;
    }
  JsonObject *o = json_node_get_object (n);
  static const char *const keys[] = { "id", "plugin", "version", "sha256", "params", "resources",
                                      "policy", NULL };
  check_keys (l, o, where, keys);
  const char *id = get_string (l, o, "id", where, TRUE);
  const char *plugin = get_string (l, o, "plugin", where, TRUE);
  const char *version = get_string (l, o, "version", where, FALSE);
  const char *sha = get_string (l, o, "sha256", where, FALSE);
  StrandStage *s = strand_pipeline_add_stage (pipeline, id ? id : "", plugin ? plugin : "", version);
  if (sha != NULL)
    {
      if (!strand_sha256_hex_is_valid (sha))
        {
          g_autofree char *ptr = g_strdup_printf ("%s/sha256", where);
          complain (l, "bad-digest", ptr, "'%s' is not 64 lower-case hex digits", sha);
        }
      s->sha256 = g_strdup (sha);
    }

  JsonObject *params = get_object (l, o, "params", where);
  g_autoptr (GList) names = params ? json_object_get_members (params) : NULL;
  for (GList *m = names; m; m = m->next)
    {
      JsonNode *v = json_object_get_member (params, m->data);
      g_autofree char *text = node_text (v);
      if (text == NULL)
        {
          g_autofree char *ptr = g_strdup_printf ("%s/params/%s", where, (char *) m->data);
          complain (l, "wrong-type", ptr, "parameter '%s' must be a string, number or boolean",
                    (char *) m->data);
          continue;
        }
      set_param (s, m->data, json_node_copy (v));
    }

  JsonObject *res = get_object (l, o, "resources", where);
  if (res != NULL)
    {
      g_autofree char *rw = g_strdup_printf ("%s/resources", where);
      static const char *const rkeys[] = { "cores", "gpus", "memory_bytes", "expected_seconds",
                                           "equipment_class", NULL };
      check_keys (l, res, rw, rkeys);
      double v;
      if (get_number (l, res, "cores", rw, TRUE, 1, 65536, &v))
        s->resources.cores = (guint) v;
      if (get_number (l, res, "gpus", rw, TRUE, 0, 1024, &v))
        s->resources.gpus = (guint) v;
      if (get_number (l, res, "memory_bytes", rw, TRUE, 0, 9.0e18, &v))
        s->resources.memory_bytes = (guint64) v;
      if (get_number (l, res, "expected_seconds", rw, FALSE, 0, 1e9, &v))
        s->resources.expected_seconds = v;
      s->resources.equipment_class = g_strdup (get_string (l, res, "equipment_class", rw, FALSE));
    }

  JsonArray *policy = get_array (l, o, "policy", where, FALSE);
  for (guint k = 0; policy && k < json_array_get_length (policy); k++)
    {
      g_autofree char *pw = g_strdup_printf ("%s/policy/%u", where, k);
      JsonNode *rn = json_array_get_element (policy, k);
      if (!JSON_NODE_HOLDS_OBJECT (rn))
        {
          complain (l, "wrong-type", pw, "a policy rule must be an object");
          continue;
        }
      JsonObject *ro = json_node_get_object (rn);
      static const char *const pkeys[] = { "on", "action", "max_attempts", "backoff_ms",
                                           "escalate_factor", "fallback_plugin", NULL };
      check_keys (l, ro, pw, pkeys);
      const char *on = get_string (l, ro, "on", pw, TRUE);
      const char *action = get_string (l, ro, "action", pw, TRUE);
      const char *fallback = get_string (l, ro, "fallback_plugin", pw, FALSE);
      double v, attempts = 0, backoff = 0, factor = 0;
      if (get_number (l, ro, "max_attempts", pw, TRUE, 1, 100, &v))
        attempts = v;
      if (get_number (l, ro, "backoff_ms", pw, TRUE, 0, 86400000, &v))
        backoff = v;
      if (get_number (l, ro, "escalate_factor", pw, FALSE, 1, 100, &v))
        factor = v;
      StrandErrorClass cls;
      StrandAction act;
      if (on && strcmp (on, "any") != 0 &&
          (!strand_error_class_from_name (on, &cls) || cls == STRAND_ERROR_NONE))
        {
          g_autofree char *ptr = g_strdup_printf ("%s/on", pw);
          complain (l, "unknown-error-class", ptr, "'%s' is not an error class (transient, "
                    "resource, timeout, invalid-input, integrity, crash, equipment, storage, "
                    "config, internal) or 'any'", on);
          continue;
        }
      if (action && !strand_action_from_name (action, &act))
        {
          g_autofree char *ptr = g_strdup_printf ("%s/action", pw);
          complain (l, "unknown-action", ptr, "'%s' is not an action (retry, retry-escalate, "
                    "reroute, fallback, fail-sample, halt, continue)", action);
          continue;
        }
      if (action && act == STRAND_ACTION_FALLBACK && fallback == NULL)
        {
          complain (l, "missing-field", pw, "a 'fallback' rule needs 'fallback_plugin'");
          continue;
        }
      if (on && action)
        strand_stage_add_policy (s, on, action, (guint) attempts, (guint) backoff, factor, fallback);
    }
}

static void
load_root (Loader *l, StrandPipeline *pipeline, JsonObject *o)
{
  static const char *const keys[] = { "name", "description", "inputs", "stages", "edges",
                                      "outputs", "qc", "report", NULL };
  check_keys (l, o, "", keys);
  g_free (pipeline->name);
  pipeline->name = g_strdup (get_string (l, o, "name", "", TRUE));
  pipeline->description = g_strdup (get_string (l, o, "description", "", FALSE));

  JsonArray *inputs = get_array (l, o, "inputs", "", FALSE);
  for (guint i = 0; inputs && i < json_array_get_length (inputs); i++)
    {
      g_autofree char *where = g_strdup_printf ("/inputs/%u", i);
      JsonNode *n = json_array_get_element (inputs, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          complain (l, "wrong-type", where, "an input must be an object");
          continue;
        }
      static const char *const ikeys[] = { "name", "formats", "per_run", "path", "sha256", NULL };
      JsonObject *io = json_node_get_object (n);
      check_keys (l, io, where, ikeys);
      const char *name = get_string (l, io, "name", where, TRUE);
      const char *formats = get_string (l, io, "formats", where, TRUE);
      gboolean per_run = get_bool (l, io, "per_run", where, FALSE);
      const char *path = get_string (l, io, "path", where, FALSE);
      const char *sha256 = get_string (l, io, "sha256", where, FALSE);
      if ((path || sha256) && !per_run)
        {
          g_autofree char *w = g_strdup_printf ("%s/%s", where, path ? "path" : "sha256");
          complain (l, "per-sample-path", w,
                    "only a per-run input (\"per_run\": true) names its file in the pipeline; "
                    "samples supply the others");
        }
      if (sha256 && !strand_sha256_hex_is_valid (sha256))
        {
          g_autofree char *w = g_strdup_printf ("%s/sha256", where);
          complain (l, "bad-digest", w, "'%s' is not 64 lower-case hex digits", sha256);
        }
      if (name && formats)
        {
          StrandPipelineInput *in = strand_pipeline_add_input (pipeline, name, formats);
          in->per_run = per_run;
          in->path = g_strdup (path);
          in->sha256 = g_strdup (sha256);
        }
    }

  JsonArray *stages = get_array (l, o, "stages", "", TRUE);
  for (guint i = 0; stages && i < json_array_get_length (stages); i++)
    load_stage (l, pipeline, json_array_get_element (stages, i), i);

  JsonArray *edges = get_array (l, o, "edges", "", FALSE);
  for (guint i = 0; edges && i < json_array_get_length (edges); i++)
    {
      g_autofree char *where = g_strdup_printf ("/edges/%u", i);
      JsonNode *n = json_array_get_element (edges, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          complain (l, "wrong-type", where, "an edge must be an object");
          continue;
        }
      static const char *const ekeys[] = { "from", "to", NULL };
      check_keys (l, json_node_get_object (n), where, ekeys);
      const char *from = get_string (l, json_node_get_object (n), "from", where, TRUE);
      const char *to = get_string (l, json_node_get_object (n), "to", where, TRUE);
      if (from && to && !strand_pipeline_connect (pipeline, from, to))
        complain (l, "bad-endpoint", where,
                  "edge '%s' -> '%s': endpoints are 'stage.port', or '@input' for a sample "
                  "input on the 'from' side", from, to);
    }

  JsonArray *outputs = get_array (l, o, "outputs", "", FALSE);
  for (guint i = 0; outputs && i < json_array_get_length (outputs); i++)
    {
      JsonNode *n = json_array_get_element (outputs, i);
      g_autofree char *where = g_strdup_printf ("/outputs/%u", i);
      g_autofree char *st = NULL, *port = NULL;
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING ||
          !split_endpoint (json_node_get_string (n), &st, &port) || st == NULL)
        complain (l, "bad-endpoint", where, "an output is named 'stage.port'");
      else
        strand_pipeline_add_output (pipeline, json_node_get_string (n));
    }

  JsonArray *report = get_array (l, o, "report", "", FALSE);
  for (guint i = 0; report && i < json_array_get_length (report); i++)
    {
      JsonNode *n = json_array_get_element (report, i);
      g_autofree char *where = g_strdup_printf ("/report/%u", i);
      g_autofree char *st = NULL, *metric = NULL;
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING ||
          !split_endpoint (json_node_get_string (n), &st, &metric) || st == NULL)
        complain (l, "bad-endpoint", where, "a report figure is named 'stage.metric'");
      else
        g_ptr_array_add (pipeline->report, g_strdup (json_node_get_string (n)));
    }

  JsonObject *qc = get_object (l, o, "qc", "");
  if (qc != NULL)
    {
      static const char *const qkeys[] = { "min_reads", "min_mean_quality", "max_n_fraction", NULL };
      check_keys (l, qc, "/qc", qkeys);
      double v;
      if ((pipeline->qc.has_min_reads = get_number (l, qc, "min_reads", "/qc", TRUE, 0, 9.0e18, &v)))
        pipeline->qc.min_reads = (guint64) v;
      if ((pipeline->qc.has_min_mean_quality =
               get_number (l, qc, "min_mean_quality", "/qc", FALSE, 0, 93, &v)))
        pipeline->qc.min_mean_quality = v;
      if ((pipeline->qc.has_max_n_fraction = get_number (l, qc, "max_n_fraction", "/qc", FALSE, 0, 1, &v)))
        pipeline->qc.max_n_fraction = v;
    }
}

StrandPipeline *
strand_pipeline_load_data (const char *data, gsize len, const char *name, GPtrArray *problems)
{
  g_autoptr (JsonParser) parser = strand_json_parse_document (data, len, name, problems);
  if (parser == NULL)
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      strand_problems_add (problems, FALSE, "wrong-type", name, "a pipeline must be a JSON object");
      return NULL;
    }
  StrandPipeline *pipeline = strand_pipeline_new (NULL);
  pipeline->source = g_strdup (name);
  Loader l = { problems, name };
  load_root (&l, pipeline, json_node_get_object (root));
  if (pipeline->name == NULL)
    pipeline->name = g_strdup ("");
  return pipeline;
}

StrandPipeline *
strand_pipeline_load (const char *path, GPtrArray *problems)
{
  gsize len = 0;
  g_autofree char *contents = strand_read_user_file (path, &len, problems);
  return contents ? strand_pipeline_load_data (contents, len, path, problems) : NULL;
}

/* ---- writing JSON ---------------------------------------------------------- */

JsonNode *
strand_pipeline_to_json (const StrandPipeline *pipeline)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "name", pipeline->name ? pipeline->name : "");
  if (pipeline->description)
    json_object_set_string_member (o, "description", pipeline->description);
  if (pipeline->inputs->len)
    {
      JsonArray *a = json_array_new ();
      for (guint i = 0; i < pipeline->inputs->len; i++)
        {
          const StrandPipelineInput *in = pipeline->inputs->pdata[i];
          JsonObject *io = json_object_new ();
          json_object_set_string_member (io, "name", in->name);
          json_object_set_string_member (io, "formats", in->formats);
          if (in->per_run)
            json_object_set_boolean_member (io, "per_run", TRUE);
          if (in->path)
            json_object_set_string_member (io, "path", in->path);
          if (in->sha256)
            json_object_set_string_member (io, "sha256", in->sha256);
          json_array_add_object_element (a, io);
        }
      json_object_set_array_member (o, "inputs", a);
    }
  JsonArray *stages = json_array_new ();
  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      const StrandStage *s = pipeline->stages->pdata[i];
      JsonObject *so = json_object_new ();
      json_object_set_string_member (so, "id", s->id);
      json_object_set_string_member (so, "plugin", s->plugin);
      if (s->version)
        json_object_set_string_member (so, "version", s->version);
      if (s->sha256)
        json_object_set_string_member (so, "sha256", s->sha256);
      if (g_hash_table_size (s->params))
        {
          JsonObject *po = json_object_new ();
          GHashTableIter it;
          gpointer k, v;
          g_hash_table_iter_init (&it, s->params);
          while (g_hash_table_iter_next (&it, &k, &v))
            json_object_set_member (po, k, json_node_copy (v));
          json_object_set_object_member (so, "params", po);
        }
      const StrandStageResources *r = &s->resources;
      if (r->cores || r->gpus || r->memory_bytes || r->expected_seconds > 0 || r->equipment_class)
        {
          JsonObject *ro = json_object_new ();
          if (r->cores)
            json_object_set_int_member (ro, "cores", r->cores);
          if (r->gpus)
            json_object_set_int_member (ro, "gpus", r->gpus);
          if (r->memory_bytes)
            json_object_set_int_member (ro, "memory_bytes", (gint64) r->memory_bytes);
          if (r->expected_seconds > 0)
            json_object_set_double_member (ro, "expected_seconds", r->expected_seconds);
          if (r->equipment_class)
            json_object_set_string_member (ro, "equipment_class", r->equipment_class);
          json_object_set_object_member (so, "resources", ro);
        }
      if (s->policy->len)
        {
          JsonArray *pa = json_array_new ();
          for (guint k = 0; k < s->policy->len; k++)
            {
              const StrandPolicyOverride *po = s->policy->pdata[k];
              JsonObject *ro = json_object_new ();
              json_object_set_string_member (ro, "on", po->any_class ? "any"
                                             : strand_error_class_name (po->error_class));
              json_object_set_string_member (ro, "action", strand_action_name (po->action));
              if (po->max_attempts)
                json_object_set_int_member (ro, "max_attempts", po->max_attempts);
              if (po->backoff_ms)
                json_object_set_int_member (ro, "backoff_ms", po->backoff_ms);
              if (po->escalate_factor >= 1)
                json_object_set_double_member (ro, "escalate_factor", po->escalate_factor);
              if (po->fallback_plugin)
                json_object_set_string_member (ro, "fallback_plugin", po->fallback_plugin);
              json_array_add_object_element (pa, ro);
            }
          json_object_set_array_member (so, "policy", pa);
        }
      json_array_add_object_element (stages, so);
    }
  json_object_set_array_member (o, "stages", stages);
  if (pipeline->edges->len)
    {
      JsonArray *a = json_array_new ();
      for (guint i = 0; i < pipeline->edges->len; i++)
        {
          const StrandEdge *e = pipeline->edges->pdata[i];
          JsonObject *eo = json_object_new ();
          g_autofree char *from = e->from_stage ? g_strdup_printf ("%s.%s", e->from_stage, e->from_port)
                                                : g_strdup_printf ("@%s", e->from_port);
          g_autofree char *to = g_strdup_printf ("%s.%s", e->to_stage, e->to_port);
          json_object_set_string_member (eo, "from", from);
          json_object_set_string_member (eo, "to", to);
          json_array_add_object_element (a, eo);
        }
      json_object_set_array_member (o, "edges", a);
    }
  if (pipeline->outputs->len)
    {
      JsonArray *a = json_array_new ();
      for (guint i = 0; i < pipeline->outputs->len; i++)
        json_array_add_string_element (a, pipeline->outputs->pdata[i]);
      json_object_set_array_member (o, "outputs", a);
    }
  if (pipeline->report->len)
    {
      JsonArray *a = json_array_new ();
      for (guint i = 0; i < pipeline->report->len; i++)
        json_array_add_string_element (a, pipeline->report->pdata[i]);
      json_object_set_array_member (o, "report", a);
    }
  const StrandQcThresholds *qc = &pipeline->qc;
  if (qc->has_min_reads || qc->has_min_mean_quality || qc->has_max_n_fraction)
    {
      JsonObject *q = json_object_new ();
      if (qc->has_min_reads)
        json_object_set_int_member (q, "min_reads", (gint64) qc->min_reads);
      if (qc->has_min_mean_quality)
        json_object_set_double_member (q, "min_mean_quality", qc->min_mean_quality);
      if (qc->has_max_n_fraction)
        json_object_set_double_member (q, "max_n_fraction", qc->max_n_fraction);
      json_object_set_object_member (o, "qc", q);
    }
  JsonNode *root = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (root, o);
  return root;
}

/* ---- resolution ------------------------------------------------------------ */

/* Stage ids and input names become folder names and edge endpoints. */
static gboolean
is_identifier (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 64 || !(g_ascii_islower (*s) || g_ascii_isdigit (*s)))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

/* Lookups built once per resolve, so every check is linear overall. */
typedef struct {
  StrandPipeline *pipeline;
  GPtrArray *problems;
  GHashTable *stage_by_id;  /* id -> StrandStage* (first of a duplicate id) */
  GHashTable *input_by_name;/* name -> StrandPipelineInput* */
  GHashTable *fed;          /* "stage.port" -> edge index + 1 */
  GHashTable *consumed;     /* "stage.port" of outputs that feed something */
  GHashTable *path_params;  /* param name -> first StrandStage* setting it as a path */
  char *base_dir;           /* relative path parameters start here */
} Resolver;

static void G_GNUC_PRINTF (5, 6)
report (Resolver *r, gboolean warning, const char *code, const char *where, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  strand_problems_add (r->problems, warning, code, where, "%s", msg);
}

static char *
resolve_path (Resolver *r, const char *value)
{
  return g_canonicalize_filename (value, r->base_dir);
}

/* A path parameter of the same name in two stages (the reference genome given
 * to the aligner and to the caller) must name the same file, or files with
 * the same content. */
static void
check_path_consistency (Resolver *r, StrandStage *s, const StrandParamInfo *p, const char *value,
                        const char *where)
{
  StrandStage *first = g_hash_table_lookup (r->path_params, p->name);
  if (first == NULL)
    {
      g_hash_table_insert (r->path_params, p->name, s);
      return;
    }
  g_autofree char *other_text = strand_stage_param_text (first, p->name);
  g_autofree char *a = resolve_path (r, value);
  g_autofree char *b = resolve_path (r, other_text);
  if (strcmp (a, b) == 0)
    return;
  g_autofree char *da = strand_sha256_file (a, NULL, NULL);
  g_autofree char *db = strand_sha256_file (b, NULL, NULL);
  if (da != NULL && db != NULL && strcmp (da, db) == 0)
    return;
  report (r, FALSE, "inconsistent-param", where,
          "stage '%s' has %s = %s but stage '%s' has %s = %s: they must be the same file",
          s->id, p->name, value, first->id, p->name, other_text);
}

static void
resolve_stage (Resolver *r, StrandStage *s, StrandRegistry *registry)
{
  g_autofree char *where = g_strdup_printf ("/stages/%u", s->index);
  g_autofree char *plugin_ptr = g_strdup_printf ("%s/plugin", where);
  if (s->version && !strand_version_constraint_valid (s->version))
    {
      g_autofree char *ptr = g_strdup_printf ("%s/version", where);
      report (r, FALSE, "bad-version-constraint", ptr,
              "stage '%s': version constraint '%s' is not valid", s->id, s->version);
      return;
    }
  s->resolved = strand_registry_lookup (registry, s->plugin, s->version);
  if (s->resolved == NULL)
    {
      const StrandPluginInfo *any = strand_registry_lookup (registry, s->plugin, NULL);
      if (any != NULL)
        report (r, FALSE, "unknown-plugin-version", plugin_ptr,
                "stage '%s': no version of plugin '%s' matches '%s' (installed: %s)", s->id,
                s->plugin, s->version, any->version);
      else
        report (r, FALSE, "unknown-plugin", plugin_ptr,
                "stage '%s': no plugin named '%s' is installed", s->id, s->plugin);
      return;
    }
  if (s->sha256 && g_strcmp0 (s->sha256, s->resolved->sha256) != 0)
    {
      g_autofree char *ptr = g_strdup_printf ("%s/sha256", where);
      report (r, FALSE, "plugin-digest-mismatch", ptr,
              "stage '%s': plugin %s is pinned to %s but %s has %s", s->id, s->plugin,
              s->sha256, s->resolved->path, s->resolved->sha256);
    }

  /* Parameters: sorted, so the report has a stable order. */
  g_autoptr (GList) names = g_hash_table_get_keys (s->params);
  names = g_list_sort (names, (GCompareFunc) strcmp);
  for (GList *l = names; l; l = l->next)
    {
      const char *name = l->data;
      JsonNode *node = g_hash_table_lookup (s->params, name);
      g_autofree char *ptr = g_strdup_printf ("%s/params/%s", where, name);
      const StrandParamInfo *p = strand_plugin_info_find_param (s->resolved, name);
      if (p == NULL)
        {
          report (r, FALSE, "unknown-param", ptr, "stage '%s': plugin %s has no parameter '%s'",
                  s->id, s->plugin, name);
          continue;
        }
      /* JSON types must match the declared type: "8" is not an integer. */
      GType t = json_node_get_value_type (node);
      gboolean type_ok =
          (p->type == STRAND_PARAM_BOOL && t == G_TYPE_BOOLEAN) ||
          (p->type == STRAND_PARAM_INT && t == G_TYPE_INT64) ||
          (p->type == STRAND_PARAM_DOUBLE && (t == G_TYPE_DOUBLE || t == G_TYPE_INT64)) ||
          ((p->type == STRAND_PARAM_STRING || p->type == STRAND_PARAM_ENUM ||
            p->type == STRAND_PARAM_PATH) && t == G_TYPE_STRING);
      g_autofree char *text = node_text (node);
      if (!type_ok)
        {
          report (r, FALSE, "wrong-param-type", ptr, "stage '%s': parameter '%s' must be %s %s, not %s",
                  s->id, name, p->type == STRAND_PARAM_INT ? "an" : "a",
                  strand_param_type_name (p->type), text);
          continue;
        }
      g_autoptr (GError) error = NULL;
      if (!strand_param_info_check_value (p, text, &error))
        {
          report (r, FALSE, "bad-param-value", ptr, "stage '%s': parameter '%s': %s", s->id, name,
                  error->message);
          continue;
        }
      if (p->type == STRAND_PARAM_PATH)
        {
          g_autofree char *full = resolve_path (r, text);
          if (!g_file_test (full, G_FILE_TEST_EXISTS))
            report (r, FALSE, "missing-file", ptr, "stage '%s': parameter '%s': %s does not exist",
                    s->id, name, full);
          else
            check_path_consistency (r, s, p, text, ptr);
        }
    }
  for (guint j = 0; j < s->resolved->params->len; j++)
    {
      const StrandParamInfo *p = s->resolved->params->pdata[j];
      if ((p->flags & STRAND_PARAM_REQUIRED) && !g_hash_table_contains (s->params, p->name))
        {
          g_autofree char *ptr = g_strdup_printf ("%s/params", where);
          report (r, FALSE, "missing-param", ptr, "stage '%s': required parameter '%s' is not set",
                  s->id, p->name);
        }
    }
  /* A fallback must be there before the run needs it. */
  for (guint k = 0; k < s->policy->len; k++)
    {
      const StrandPolicyOverride *o = s->policy->pdata[k];
      if (o->fallback_plugin == NULL)
        continue;
      g_autofree char *name = g_strdup (o->fallback_plugin);
      char *at = strchr (name, '@');
      if (at)
        *at++ = '\0';
      if (strand_registry_lookup (registry, name, at) == NULL)
        {
          g_autofree char *ptr = g_strdup_printf ("%s/policy/%u/fallback_plugin", where, k);
          report (r, FALSE, "unknown-plugin", ptr,
                  "stage '%s': fallback plugin '%s' is not installed", s->id, o->fallback_plugin);
        }
    }
}

static void
resolve_edge (Resolver *r, const StrandEdge *e, guint i)
{
  g_autofree char *where = g_strdup_printf ("/edges/%u", i);
  StrandStage *ts = g_hash_table_lookup (r->stage_by_id, e->to_stage);
  if (ts == NULL)
    {
      report (r, FALSE, "unknown-stage", where, "edge into unknown stage '%s'", e->to_stage);
      return;
    }
  const StrandPortInfo *in = ts->resolved ? strand_plugin_info_find_port (ts->resolved, FALSE, e->to_port)
                                          : NULL;
  if (ts->resolved && in == NULL)
    report (r, FALSE, "unknown-port", where, "stage '%s' (%s) has no input port '%s'", ts->id,
            ts->plugin, e->to_port);

  const char *from_formats = NULL;
  g_autofree char *from_name = NULL;
  if (e->from_stage == NULL)
    {
      const StrandPipelineInput *pin = g_hash_table_lookup (r->input_by_name, e->from_port);
      from_name = g_strdup_printf ("sample input '%s'", e->from_port);
      if (pin == NULL)
        report (r, FALSE, "unknown-input", where, "'@%s' is not declared in the pipeline's inputs",
                e->from_port);
      else
        from_formats = pin->formats;
    }
  else
    {
      StrandStage *fs = g_hash_table_lookup (r->stage_by_id, e->from_stage);
      if (fs == NULL)
        {
          report (r, FALSE, "unknown-stage", where, "edge from unknown stage '%s'", e->from_stage);
          return;
        }
      from_name = g_strdup_printf ("'%s.%s'", fs->id, e->from_port);
      const StrandPortInfo *out =
          fs->resolved ? strand_plugin_info_find_port (fs->resolved, TRUE, e->from_port) : NULL;
      if (fs->resolved && out == NULL)
        report (r, FALSE, "unknown-port", where, "stage '%s' (%s) has no output port '%s'", fs->id,
                fs->plugin, e->from_port);
      from_formats = out ? out->formats : NULL;
      g_hash_table_add (r->consumed, g_strdup_printf ("%s.%s", fs->id, e->from_port));
    }
  if (in != NULL && from_formats != NULL && !strand_formats_compatible (from_formats, in->formats))
    report (r, FALSE, "format-mismatch", where, "%s makes %s but '%s.%s' takes %s", from_name,
            from_formats, ts->id, e->to_port, in->formats);
  if (in != NULL)
    {
      char *key = g_strdup_printf ("%s.%s", ts->id, e->to_port);
      if (g_hash_table_contains (r->fed, key) && !(in->flags & STRAND_PORT_MULTIPLE))
        {
          guint first = GPOINTER_TO_UINT (g_hash_table_lookup (r->fed, key)) - 1;
          report (r, FALSE, "port-fed-twice", where,
                  "input '%s' takes one source but is fed again (first by /edges/%u)", key, first);
          g_free (key);
        }
      else if (!g_hash_table_contains (r->fed, key))
        g_hash_table_insert (r->fed, key, GUINT_TO_POINTER (i + 1));
      else
        g_free (key);
    }
}

/* Names one actual cycle among the stages Kahn's algorithm could not order:
 * every such stage has a producer that is also unordered, so walking back
 * through producers must revisit a stage. */
static char *
describe_cycle (Resolver *r, const gboolean *placed)
{
  StrandPipeline *p = r->pipeline;
  guint n = p->stages->len;
  /* One unplaced producer per unplaced stage. */
  g_autofree gint *producer = g_new (gint, n);
  for (guint i = 0; i < n; i++)
    producer[i] = -1;
  for (guint i = 0; i < p->edges->len; i++)
    {
      const StrandEdge *e = p->edges->pdata[i];
      if (e->from_stage == NULL)
        continue;
      StrandStage *fs = g_hash_table_lookup (r->stage_by_id, e->from_stage);
      StrandStage *ts = g_hash_table_lookup (r->stage_by_id, e->to_stage);
      if (fs && ts && !placed[fs->index] && !placed[ts->index] && producer[ts->index] < 0)
        producer[ts->index] = (gint) fs->index;
    }
  guint start = 0;
  while (start < n && placed[start])
    start++;
  g_autofree gint *seen_at = g_new (gint, n);
  for (guint i = 0; i < n; i++)
    seen_at[i] = -1;
  g_autoptr (GArray) walk = g_array_new (FALSE, FALSE, sizeof (guint));
  gint cur = (gint) start;
  while (cur >= 0 && seen_at[cur] < 0)
    {
      seen_at[cur] = (gint) walk->len;
      guint c = (guint) cur;
      g_array_append_val (walk, c);
      cur = producer[cur];
    }
  GString *out = g_string_new (NULL);
  if (cur < 0)
    return g_string_free (out, FALSE);
  /* The walk went backwards through producers: print the loop forwards. */
  for (gint k = (gint) walk->len - 1; k >= seen_at[cur]; k--)
    g_string_append_printf (out, "%s -> ",
                            ((StrandStage *) p->stages->pdata[g_array_index (walk, guint, k)])->id);
  g_string_append (out, ((StrandStage *) p->stages->pdata[g_array_index (walk, guint, walk->len - 1)])->id);
  return g_string_free (out, FALSE);
}

void
strand_pipeline_resolve (StrandPipeline *pipeline, StrandRegistry *registry, GPtrArray *problems)
{
  Resolver r = {
    .pipeline = pipeline,
    .problems = problems,
    .stage_by_id = g_hash_table_new (g_str_hash, g_str_equal),
    .input_by_name = g_hash_table_new (g_str_hash, g_str_equal),
    .fed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .consumed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .path_params = g_hash_table_new (g_str_hash, g_str_equal),
    .base_dir = NULL,
  };
  g_autofree char *source_dir = pipeline->source ? g_path_get_dirname (pipeline->source) : NULL;
  r.base_dir = g_canonicalize_filename (source_dir ? source_dir : ".", NULL);
  if (pipeline->name == NULL || *pipeline->name == '\0')
    report (&r, FALSE, "missing-field", "/name", "the pipeline needs a name");

  for (guint i = 0; i < pipeline->inputs->len; i++)
    {
      StrandPipelineInput *in = pipeline->inputs->pdata[i];
      g_autofree char *where = g_strdup_printf ("/inputs/%u", i);
      if (!is_identifier (in->name))
        report (&r, FALSE, "bad-id", where, "input name '%s' is not [a-z0-9][a-z0-9_-]*", in->name);
      if (!g_hash_table_insert (r.input_by_name, in->name, in))
        report (&r, FALSE, "duplicate-input", where, "input '%s' is declared twice", in->name);
      g_auto (GStrv) formats = strand_formats_split (in->formats);
      for (char **f = formats; *f; f++)
        if (!strand_format_is_known (*f))
          report (&r, FALSE, "unknown-format", where, "input '%s': format '%s' is unknown",
                  in->name, *f);
      if (in->per_run && in->path && !g_path_is_absolute (in->path))
        {
          char *abs = g_canonicalize_filename (in->path, r.base_dir);
          g_free (in->path);
          in->path = abs;
        }
    }

  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      StrandStage *s = pipeline->stages->pdata[i];
      s->index = i;
      if (!is_identifier (s->id))
        {
          g_autofree char *where = g_strdup_printf ("/stages/%u/id", i);
          report (&r, FALSE, "bad-id", where, "stage id '%s' is not [a-z0-9][a-z0-9_-]* of at "
                  "most 64 bytes", s->id);
        }
      if (g_hash_table_contains (r.stage_by_id, s->id))
        {
          g_autofree char *where = g_strdup_printf ("/stages/%u/id", i);
          report (&r, FALSE, "duplicate-stage-id", where, "stage id '%s' is used twice (first at "
                  "/stages/%u)", s->id, ((StrandStage *) g_hash_table_lookup (r.stage_by_id, s->id))->index);
        }
      else
        g_hash_table_insert (r.stage_by_id, s->id, s);
      resolve_stage (&r, s, registry);
    }

  for (guint i = 0; i < pipeline->edges->len; i++)
    resolve_edge (&r, pipeline->edges->pdata[i], i);

  g_autoptr (GHashTable) products = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < pipeline->outputs->len; i++)
    {
      const char *name = pipeline->outputs->pdata[i];
      g_autofree char *st = NULL, *port = NULL;
      g_autofree char *where = g_strdup_printf ("/outputs/%u", i);
      split_endpoint (name, &st, &port);
      StrandStage *s = st ? g_hash_table_lookup (r.stage_by_id, st) : NULL;
      if (s == NULL)
        report (&r, FALSE, "unknown-stage", where, "output '%s' names an unknown stage", name);
      else if (s->resolved && !strand_plugin_info_find_port (s->resolved, TRUE, port))
        report (&r, FALSE, "unknown-port", where, "stage '%s' (%s) has no output port '%s'",
                s->id, s->plugin, port);
      g_hash_table_add (products, (gpointer) name);
    }

  for (guint i = 0; i < pipeline->report->len; i++)
    {
      const char *name = pipeline->report->pdata[i];
      g_autofree char *st = NULL, *metric = NULL;
      g_autofree char *where = g_strdup_printf ("/report/%u", i);
      split_endpoint (name, &st, &metric);
      if (st == NULL || g_hash_table_lookup (r.stage_by_id, st) == NULL)
        report (&r, FALSE, "unknown-stage", where, "report figure '%s' names an unknown stage", name);
    }

  /* Required inputs connected; outputs that feed nothing and are not a
   * declared product of the pipeline are worth a warning. */
  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      const StrandStage *s = pipeline->stages->pdata[i];
      if (s->resolved == NULL || g_hash_table_lookup (r.stage_by_id, s->id) != s)
        continue;
      g_autofree char *where = g_strdup_printf ("/stages/%u", i);
      for (guint j = 0; j < s->resolved->inputs->len; j++)
        {
          const StrandPortInfo *in = s->resolved->inputs->pdata[j];
          g_autofree char *key = g_strdup_printf ("%s.%s", s->id, in->name);
          if (!(in->flags & STRAND_PORT_OPTIONAL) && !g_hash_table_contains (r.fed, key))
            report (&r, FALSE, "unconnected-input", where, "required input '%s' is not connected", key);
        }
      for (guint j = 0; j < s->resolved->outputs->len; j++)
        {
          const StrandPortInfo *out = s->resolved->outputs->pdata[j];
          g_autofree char *key = g_strdup_printf ("%s.%s", s->id, out->name);
          if (!g_hash_table_contains (r.consumed, key) && !g_hash_table_contains (products, key))
            report (&r, TRUE, "unused-output", where,
                    "output '%s' feeds nothing and is not listed in the pipeline's outputs", key);
        }
    }

  g_autoptr (GArray) order = strand_pipeline_topological_order (pipeline);
  if (order->len < pipeline->stages->len)
    {
      g_autofree gboolean *placed = g_new0 (gboolean, pipeline->stages->len);
      for (guint i = 0; i < order->len; i++)
        placed[g_array_index (order, guint, i)] = TRUE;
      g_autofree char *cycle = describe_cycle (&r, placed);
      report (&r, FALSE, "cycle", "/edges", "the stages form a cycle: %s", cycle);
    }

  g_hash_table_unref (r.stage_by_id);
  g_hash_table_unref (r.input_by_name);
  g_hash_table_unref (r.fed);
  g_hash_table_unref (r.consumed);
  g_hash_table_unref (r.path_params);
  g_free (r.base_dir);
}

GArray *
strand_pipeline_topological_order (const StrandPipeline *pipeline)
{
  guint n = pipeline->stages->len;
  g_autofree guint *indegree = g_new0 (guint, n);
  g_autoptr (GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n; i++)
    g_hash_table_insert (index, ((StrandStage *) pipeline->stages->pdata[i])->id, GUINT_TO_POINTER (i + 1));
  /* Successor lists in one flat array (CSR), for a million edges. */
  g_autofree guint *from = g_new (guint, pipeline->edges->len + 1);
  g_autofree guint *to = g_new (guint, pipeline->edges->len + 1);
  guint m = 0;
  for (guint i = 0; i < pipeline->edges->len; i++)
    {
      const StrandEdge *e = pipeline->edges->pdata[i];
      if (e->from_stage == NULL)
        continue;
      guint f = GPOINTER_TO_UINT (g_hash_table_lookup (index, e->from_stage));
      guint t = GPOINTER_TO_UINT (g_hash_table_lookup (index, e->to_stage));
      if (f == 0 || t == 0)
        continue;
      from[m] = f - 1;
      to[m] = t - 1;
      indegree[t - 1]++;
      m++;
    }
  g_autofree guint *start = g_new0 (guint, n + 1);
  for (guint k = 0; k < m; k++)
    start[from[k] + 1]++;
  for (guint i = 0; i < n; i++)
    start[i + 1] += start[i];
  g_autofree guint *succ = g_new (guint, m + 1);
  g_autofree guint *fill = g_memdup2 (start, sizeof (guint) * (n + 1));
  for (guint k = 0; k < m; k++)
    succ[fill[from[k]]++] = to[k];

  GArray *order = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  for (guint i = 0; i < n; i++)
    if (indegree[i] == 0)
      g_array_append_val (order, i);
  for (guint k = 0; k < order->len; k++)
    {
      guint u = g_array_index (order, guint, k);
      for (guint j = start[u]; j < start[u + 1]; j++)
        if (--indegree[succ[j]] == 0)
          g_array_append_val (order, succ[j]);
    }
  return order;
}
