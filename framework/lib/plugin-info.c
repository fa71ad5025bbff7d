#include "plugin-info.h"

#include <math.h>
#include <string.h>

#include "formats.h"

G_DEFINE_QUARK (strand-plugin-error-quark, strand_plugin_error)

/* Longest string the host copies out of a descriptor. */
#define MAX_TEXT 4096
#define MAX_NAME 64

static const char *const error_code_names[] = {
  [STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE] = "not-regular-file",
  [STRAND_PLUGIN_ERROR_UNSAFE_PERMISSIONS] = "unsafe-permissions",
  [STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT] = "not-shared-object",
  [STRAND_PLUGIN_ERROR_CORRUPT] = "corrupt-shared-object",
  [STRAND_PLUGIN_ERROR_LOAD_CRASHED] = "load-crashed",
  [STRAND_PLUGIN_ERROR_NO_ENTRY] = "missing-entry-symbol",
  [STRAND_PLUGIN_ERROR_BAD_MAGIC] = "bad-magic",
  [STRAND_PLUGIN_ERROR_ABI_MAJOR] = "abi-major-mismatch",
  [STRAND_PLUGIN_ERROR_BAD_SIZE] = "bad-descriptor-size",
  [STRAND_PLUGIN_ERROR_ABI_MINOR] = "abi-minor-too-new",
  [STRAND_PLUGIN_ERROR_INVALID_FIELD] = "invalid-field",
  [STRAND_PLUGIN_ERROR_UNKNOWN_FORMAT] = "unknown-format",
  [STRAND_PLUGIN_ERROR_DUPLICATE] = "duplicate-plugin",
};

const char *
strand_plugin_error_code_name (StrandPluginErrorCode code)
{
  if ((guint) code < G_N_ELEMENTS (error_code_names) && error_code_names[code])
    return error_code_names[code];
  return "unknown";
}

static const char *const param_type_names[] = {
  [STRAND_PARAM_BOOL] = "bool",     [STRAND_PARAM_INT] = "int",
  [STRAND_PARAM_DOUBLE] = "double", [STRAND_PARAM_STRING] = "string",
  [STRAND_PARAM_ENUM] = "enum",     [STRAND_PARAM_PATH] = "path",
};

static const char *const error_class_names[] = {
  [STRAND_ERROR_NONE] = "none",
  [STRAND_ERROR_TRANSIENT] = "transient",
  [STRAND_ERROR_RESOURCE] = "resource",
  [STRAND_ERROR_TIMEOUT] = "timeout",
  [STRAND_ERROR_INVALID_INPUT] = "invalid-input",
  [STRAND_ERROR_INTEGRITY] = "integrity",
  [STRAND_ERROR_CRASH] = "crash",
  [STRAND_ERROR_EQUIPMENT] = "equipment",
  [STRAND_ERROR_STORAGE] = "storage",
  [STRAND_ERROR_CONFIG] = "config",
  [STRAND_ERROR_INTERNAL] = "internal",
};

static const char *const action_names[] = {
  [STRAND_ACTION_FAIL_SAMPLE] = "fail-sample",
  [STRAND_ACTION_RETRY] = "retry",
  [STRAND_ACTION_RETRY_ESCALATE] = "retry-escalate",
  [STRAND_ACTION_REROUTE] = "reroute",
  [STRAND_ACTION_FALLBACK] = "fallback",
  [STRAND_ACTION_HALT] = "halt",
  [STRAND_ACTION_CONTINUE] = "continue",
};

#define NAME_OR_NULL(table, i) \
  ((guint) (i) < G_N_ELEMENTS (table) ? (table)[(guint) (i)] : NULL)

const char *
strand_param_type_name (StrandParamType type)
{
  return NAME_OR_NULL (param_type_names, type);
}

const char *
strand_error_class_name (StrandErrorClass error_class)
{
  return NAME_OR_NULL (error_class_names, error_class);
}

const char *
strand_action_name (StrandAction action)
{
  return NAME_OR_NULL (action_names, action);
}

static gboolean
lookup_name (const char *const *table, guint n, const char *name, guint *out)
{
  for (guint i = 0; i < n; i++)
    if (table[i] != NULL && name != NULL && strcmp (table[i], name) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

gboolean
strand_error_class_from_name (const char *name, StrandErrorClass *out)
{
  guint v;
  if (!lookup_name (error_class_names, G_N_ELEMENTS (error_class_names), name, &v))
    return FALSE;
  *out = (StrandErrorClass) v;
  return TRUE;
}

gboolean
strand_action_from_name (const char *name, StrandAction *out)
{
  guint v;
  if (!lookup_name (action_names, G_N_ELEMENTS (action_names), name, &v))
    return FALSE;
  *out = (StrandAction) v;
  return TRUE;
}

static gboolean
param_type_from_name (const char *name, StrandParamType *out)
{
  guint v;
  if (!lookup_name (param_type_names, G_N_ELEMENTS (param_type_names), name, &v))
    return FALSE;
  *out = (StrandParamType) v;
  return TRUE;
}

/* ---- life cycle ---------------------------------------------------------- */

static void
port_info_free (gpointer p)
{
  StrandPortInfo *port = p;
  g_free (port->name);
  g_free (port->formats);
  g_free (port->description);
  g_free (port);
}

static void
param_info_free (gpointer p)
{
  StrandParamInfo *param = p;
  g_free (param->name);
  g_free (param->description);
  g_free (param->default_value);
  g_free (param->choices);
  g_free (param);
}

static void
rule_info_free (gpointer p)
{
  StrandRuleInfo *rule = p;
  g_free (rule->fallback_plugin);
  g_free (rule);
}

StrandPluginInfo *
strand_plugin_info_new (void)
{
  StrandPluginInfo *info = g_new0 (StrandPluginInfo, 1);
  info->inputs = g_ptr_array_new_with_free_func (port_info_free);
  info->outputs = g_ptr_array_new_with_free_func (port_info_free);
  info->params = g_ptr_array_new_with_free_func (param_info_free);
  info->policy = g_ptr_array_new_with_free_func (rule_info_free);
  return info;
}

void
strand_plugin_info_free (StrandPluginInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->sha256);
  g_free (info->name);
  g_free (info->version);
  g_free (info->description);
  g_free (info->license);
  g_free (info->url);
  g_ptr_array_unref (info->inputs);
  g_ptr_array_unref (info->outputs);
  g_ptr_array_unref (info->params);
  g_ptr_array_unref (info->policy);
  g_free (info->resources.equipment_class);
  g_free (info);
}

/* ---- from a descriptor --------------------------------------------------- */

/* Plugin strings are untrusted: bounded length, and invalid UTF-8 replaced so
 * that every later message and JSON document stays valid. */
static char *
copy_text (const char *text)
{
  if (text == NULL)
    return NULL;
  gsize len = strnlen (text, MAX_TEXT + 1);
  g_autofree char *bounded = g_strndup (text, MIN (len, (gsize) MAX_TEXT + 1));
  return g_utf8_make_valid (bounded, -1);
}

static void
copy_ports (GPtrArray *into, const StrandPort *ports, guint32 n)
{
  for (guint32 i = 0; ports != NULL && i < n; i++)
    {
      StrandPortInfo *port = g_new0 (StrandPortInfo, 1);
      port->name = copy_text (ports[i].name);
      port->formats = copy_text (ports[i].formats);
      port->flags = ports[i].flags;
      port->description = copy_text (ports[i].description);
      g_ptr_array_add (into, port);
    }
}

StrandPluginInfo *
strand_plugin_info_from_descriptor (const StrandStageDescriptor *desc, guint declared_size)
{
  StrandPluginInfo *info = strand_plugin_info_new ();
  info->abi_major = desc->abi_major;
  info->abi_minor = desc->abi_minor;
  info->descriptor_size = declared_size;
  info->name = copy_text (desc->name);
  info->version = copy_text (desc->version);
  info->description = copy_text (desc->description);
  info->license = copy_text (desc->license);
  info->url = copy_text (desc->url);
  info->flags = desc->flags;
  copy_ports (info->inputs, desc->inputs, desc->n_inputs);
  copy_ports (info->outputs, desc->outputs, desc->n_outputs);
  for (guint32 i = 0; desc->params != NULL && i < desc->n_params; i++)
    {
      const StrandParamSpec *spec = &desc->params[i];
      StrandParamInfo *param = g_new0 (StrandParamInfo, 1);
      param->name = copy_text (spec->name);
      param->type = (StrandParamType) spec->type;
      param->flags = spec->flags;
      param->description = copy_text (spec->description);
      param->default_value = copy_text (spec->default_value);
      param->min = spec->min;
      param->max = spec->max;
      param->choices = copy_text (spec->choices);
      g_ptr_array_add (info->params, param);
    }
  for (guint32 i = 0; desc->policy != NULL && i < desc->n_policy; i++)
    {
      const StrandPolicyRule *r = &desc->policy[i];
      StrandRuleInfo *rule = g_new0 (StrandRuleInfo, 1);
      rule->error_class = (StrandErrorClass) r->error_class;
      rule->action = (StrandAction) r->action;
      rule->max_attempts = r->max_attempts;
      rule->backoff_ms = r->backoff_ms;
      rule->escalate_factor = r->escalate_factor;
      rule->fallback_plugin = copy_text (r->fallback_plugin);
      g_ptr_array_add (info->policy, rule);
    }
  if (desc->resources != NULL)
    {
      const StrandResources *res = desc->resources;
      info->resources.cores = res->cores;
      info->resources.gpus = res->gpus;
      info->resources.memory_bytes = res->memory_bytes;
      info->resources.scratch_bytes = res->scratch_bytes;
      info->resources.output_bytes = res->output_bytes;
      info->resources.expected_seconds = res->expected_seconds;
      info->resources.equipment_class = copy_text (res->equipment_class);
    }
  info->has_run = desc->run != NULL;
  info->has_validate = desc->validate != NULL;
  info->has_cancel = desc->cancel != NULL;
  return info;
}

/* ---- JSON ---------------------------------------------------------------- */

static void
add_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static void
add_double (JsonBuilder *b, const char *key, double value)
{
  json_builder_set_member_name (b, key);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_bool (JsonBuilder *b, const char *key, gboolean value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_boolean_value (b, value);
}

static void
add_ports (JsonBuilder *b, const char *key, GPtrArray *ports)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; i < ports->len; i++)
    {
      const StrandPortInfo *port = ports->pdata[i];
      json_builder_begin_object (b);
      add_string (b, "name", port->name);
      add_string (b, "formats", port->formats);
      add_bool (b, "optional", (port->flags & STRAND_PORT_OPTIONAL) != 0);
      add_bool (b, "multiple", (port->flags & STRAND_PORT_MULTIPLE) != 0);
      add_string (b, "description", port->description);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

JsonNode *
strand_plugin_info_to_json (const StrandPluginInfo *info)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "name", info->name);
  add_string (b, "version", info->version);
  add_string (b, "description", info->description);
  add_string (b, "license", info->license);
  add_string (b, "url", info->url);
  add_bool (b, "deterministic", (info->flags & STRAND_STAGE_DETERMINISTIC) != 0);
  add_bool (b, "per_run", (info->flags & STRAND_STAGE_PER_RUN) != 0);

  json_builder_set_member_name (b, "abi");
  json_builder_begin_object (b);
  add_int (b, "major", info->abi_major);
  add_int (b, "minor", info->abi_minor);
  add_int (b, "descriptor_size", info->descriptor_size);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "file");
  json_builder_begin_object (b);
  add_string (b, "path", info->path);
  add_string (b, "sha256", info->sha256);
  add_int (b, "size", (gint64) info->file_size);
  json_builder_end_object (b);

  add_ports (b, "inputs", info->inputs);
  add_ports (b, "outputs", info->outputs);

  json_builder_set_member_name (b, "params");
  json_builder_begin_array (b);
  for (guint i = 0; i < info->params->len; i++)
    {
      const StrandParamInfo *p = info->params->pdata[i];
      json_builder_begin_object (b);
      add_string (b, "name", p->name);
      const char *type = strand_param_type_name (p->type);
      if (type != NULL)
        add_string (b, "type", type);
      else
        add_int (b, "type", p->type);
      add_bool (b, "required", (p->flags & STRAND_PARAM_REQUIRED) != 0);
      add_string (b, "description", p->description);
      add_string (b, "default", p->default_value);
      if (p->flags & STRAND_PARAM_HAS_MIN)
        add_double (b, "min", p->min);
      if (p->flags & STRAND_PARAM_HAS_MAX)
        add_double (b, "max", p->max);
      if (p->choices != NULL)
        {
          json_builder_set_member_name (b, "choices");
          json_builder_begin_array (b);
          g_auto (GStrv) choices = strand_formats_split (p->choices);
          for (char **c = choices; *c; c++)
            json_builder_add_string_value (b, *c);
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "resources");
  json_builder_begin_object (b);
  add_int (b, "cores", info->resources.cores);
  add_int (b, "gpus", info->resources.gpus);
  add_int (b, "memory_bytes", (gint64) info->resources.memory_bytes);
  add_int (b, "scratch_bytes", (gint64) info->resources.scratch_bytes);
  add_int (b, "output_bytes", (gint64) info->resources.output_bytes);
  add_double (b, "expected_seconds", info->resources.expected_seconds);
  add_string (b, "equipment_class", info->resources.equipment_class);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "error_policy");
  json_builder_begin_array (b);
  for (guint i = 0; i < info->policy->len; i++)
    {
      const StrandRuleInfo *r = info->policy->pdata[i];
      json_builder_begin_object (b);
      const char *cls = strand_error_class_name (r->error_class);
      const char *act = strand_action_name (r->action);
      if (cls != NULL)
        add_string (b, "error_class", cls);
      else
        add_int (b, "error_class", r->error_class);
      if (act != NULL)
        add_string (b, "action", act);
      else
        add_int (b, "action", r->action);
      add_int (b, "max_attempts", r->max_attempts);
      add_int (b, "backoff_ms", r->backoff_ms);
      add_double (b, "escalate_factor", r->escalate_factor);
      add_string (b, "fallback_plugin", r->fallback_plugin);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "callbacks");
  json_builder_begin_object (b);
  add_bool (b, "run", info->has_run);
  add_bool (b, "validate", info->has_validate);
  add_bool (b, "cancel", info->has_cancel);
  json_builder_end_object (b);

  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Reading back is only ever done on JSON this host wrote (scanner output and
 * its own cache), but a damaged cache must not crash it: every access checks
 * the node type, and anything unexpected makes the whole entry invalid. */
typedef struct {
  gboolean ok;
} Reader;

static JsonObject *
get_object (Reader *r, JsonObject *obj, const char *key)
{
  JsonNode *n = obj ? json_object_get_member (obj, key) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    {
      r->ok = FALSE;
      return NULL;
    }
  return json_node_get_object (n);
}

static JsonArray *
get_array (Reader *r, JsonObject *obj, const char *key)
{
  JsonNode *n = obj ? json_object_get_member (obj, key) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    {
      r->ok = FALSE;
      return NULL;
    }
  return json_node_get_array (n);
}

static char *
get_string (Reader *r, JsonObject *obj, const char *key)
{
  JsonNode *n = obj ? json_object_get_member (obj, key) : NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      r->ok = FALSE;
      return NULL;
    }
  return g_strdup (json_node_get_string (n));
}

static gint64
get_int (Reader *r, JsonObject *obj, const char *key)
{
  JsonNode *n = obj ? json_object_get_member (obj, key) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_INT64)
    {
      r->ok = FALSE;
      return 0;
    }
  return json_node_get_int (n);
}

static double
get_double (Reader *r, JsonObject *obj, const char *key, double missing)
{
  JsonNode *n = obj ? json_object_get_member (obj, key) : NULL;
  if (n == NULL)
    return missing;
  if (JSON_NODE_HOLDS_NULL (n))
    return NAN;
  if (!JSON_NODE_HOLDS_VALUE (n))
    {
      r->ok = FALSE;
      return 0;
    }
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_DOUBLE)
    return json_node_get_double (n);
  if (t == G_TYPE_INT64)
    return (double) json_node_get_int (n);
  r->ok = FALSE;
  return 0;
}

static gboolean
get_bool (Reader *r, JsonObject *obj, const char *key)
{
  JsonNode *n = obj ? json_object_get_member (obj, key) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    {
      r->ok = FALSE;
      return FALSE;
    }
  return json_node_get_boolean (n);
}

static guint
get_named (Reader *r, JsonObject *obj, const char *key,
           gboolean (*from_name) (const char *, guint *))
{
  JsonNode *n = obj ? json_object_get_member (obj, key) : NULL;
  if (n != NULL && JSON_NODE_HOLDS_VALUE (n) &&
      json_node_get_value_type (n) == G_TYPE_INT64)
    return (guint) json_node_get_int (n);
  g_autofree char *name = get_string (r, obj, key);
  guint v = 0;
  if (name == NULL || !from_name (name, &v))
    r->ok = FALSE;
  return v;
}

static gboolean
type_from_name (const char *name, guint *out)
{
  return param_type_from_name (name, (StrandParamType *) out);
}

static gboolean
class_from_name (const char *name, guint *out)
{
  return strand_error_class_from_name (name, (StrandErrorClass *) out);
}

static gboolean
act_from_name (const char *name, guint *out)
{
  return strand_action_from_name (name, (StrandAction *) out);
}

static void
read_ports (Reader *r, JsonArray *array, GPtrArray *into)
{
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *n = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        {
          r->ok = FALSE;
          return;
        }
      JsonObject *o = json_node_get_object (n);
      StrandPortInfo *port = g_new0 (StrandPortInfo, 1);
      port->name = get_string (r, o, "name");
      port->formats = get_string (r, o, "formats");
      port->description = get_string (r, o, "description");
      if (get_bool (r, o, "optional"))
        port->flags |= STRAND_PORT_OPTIONAL;
      if (get_bool (r, o, "multiple"))
        port->flags |= STRAND_PORT_MULTIPLE;
      g_ptr_array_add (into, port);
    }
}

StrandPluginInfo *
strand_plugin_info_from_json (JsonNode *node, GError **error)
{
  Reader r = { TRUE };
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                   "plugin description is not a JSON object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  g_autoptr (StrandPluginInfo) info = strand_plugin_info_new ();
  info->name = get_string (&r, o, "name");
  info->version = get_string (&r, o, "version");
  info->description = get_string (&r, o, "description");
  info->license = get_string (&r, o, "license");
  info->url = get_string (&r, o, "url");
  if (get_bool (&r, o, "deterministic"))
    info->flags |= STRAND_STAGE_DETERMINISTIC;
  if (get_bool (&r, o, "per_run"))
    info->flags |= STRAND_STAGE_PER_RUN;

  JsonObject *abi = get_object (&r, o, "abi");
  info->abi_major = (guint) get_int (&r, abi, "major");
  info->abi_minor = (guint) get_int (&r, abi, "minor");
  info->descriptor_size = (guint) get_int (&r, abi, "descriptor_size");

  JsonObject *file = get_object (&r, o, "file");
  info->path = get_string (&r, file, "path");
  info->sha256 = get_string (&r, file, "sha256");
  info->file_size = (guint64) get_int (&r, file, "size");

  read_ports (&r, get_array (&r, o, "inputs"), info->inputs);
  read_ports (&r, get_array (&r, o, "outputs"), info->outputs);

  JsonArray *params = get_array (&r, o, "params");
  for (guint i = 0; r.ok && i < json_array_get_length (params); i++)
    {
      JsonNode *n = json_array_get_element (params, i);
      JsonObject *po = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      StrandParamInfo *p = g_new0 (StrandParamInfo, 1);
      g_ptr_array_add (info->params, p);
      p->name = get_string (&r, po, "name");
      p->type = (StrandParamType) get_named (&r, po, "type", type_from_name);
      if (get_bool (&r, po, "required"))
        p->flags |= STRAND_PARAM_REQUIRED;
      p->description = get_string (&r, po, "description");
      p->default_value = get_string (&r, po, "default");
      if (po && json_object_has_member (po, "min"))
        {
          p->flags |= STRAND_PARAM_HAS_MIN;
          p->min = get_double (&r, po, "min", 0);
        }
      if (po && json_object_has_member (po, "max"))
        {
          p->flags |= STRAND_PARAM_HAS_MAX;
          p->max = get_double (&r, po, "max", 0);
        }
      if (po && json_object_has_member (po, "choices"))
        {
          JsonArray *choices = get_array (&r, po, "choices");
          g_autoptr (GString) joined = g_string_new (NULL);
          for (guint c = 0; choices && c < json_array_get_length (choices); c++)
            {
              JsonNode *e = json_array_get_element (choices, c);
              const char *s = JSON_NODE_HOLDS_VALUE (e) &&
                                      json_node_get_value_type (e) == G_TYPE_STRING
                                  ? json_node_get_string (e) : NULL;
              if (s == NULL)
                r.ok = FALSE;
              else
                g_string_append_printf (joined, "%s%s", c ? "," : "", s);
            }
          p->choices = g_string_free (g_steal_pointer (&joined), FALSE);
        }
    }

  JsonObject *res = get_object (&r, o, "resources");
  info->resources.cores = (guint32) get_int (&r, res, "cores");
  info->resources.gpus = (guint32) get_int (&r, res, "gpus");
  info->resources.memory_bytes = (guint64) get_int (&r, res, "memory_bytes");
  info->resources.scratch_bytes = (guint64) get_int (&r, res, "scratch_bytes");
  info->resources.output_bytes = (guint64) get_int (&r, res, "output_bytes");
  info->resources.expected_seconds = get_double (&r, res, "expected_seconds", 0);
  info->resources.equipment_class = get_string (&r, res, "equipment_class");

  JsonArray *policy = get_array (&r, o, "error_policy");
  for (guint i = 0; r.ok && i < json_array_get_length (policy); i++)
    {
      JsonNode *n = json_array_get_element (policy, i);
      JsonObject *ro = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      StrandRuleInfo *rule = g_new0 (StrandRuleInfo, 1);
      g_ptr_array_add (info->policy, rule);
      rule->error_class = (StrandErrorClass) get_named (&r, ro, "error_class", class_from_name);
      rule->action = (StrandAction) get_named (&r, ro, "action", act_from_name);
      rule->max_attempts = (guint32) get_int (&r, ro, "max_attempts");
      rule->backoff_ms = (guint32) get_int (&r, ro, "backoff_ms");
      rule->escalate_factor = get_double (&r, ro, "escalate_factor", 0);
      rule->fallback_plugin = get_string (&r, ro, "fallback_plugin");
    }

  JsonObject *cb = get_object (&r, o, "callbacks");
  info->has_run = get_bool (&r, cb, "run");
  info->has_validate = get_bool (&r, cb, "validate");
  info->has_cancel = get_bool (&r, cb, "cancel");

  if (!r.ok)
    {
      g_set_error (error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                   "plugin description has a missing or mistyped member");
      return NULL;
    }
  return g_steal_pointer (&info);
}

/* ---- checks -------------------------------------------------------------- */

static gboolean
is_identifier (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > MAX_NAME)
    return FALSE;
  if (!g_ascii_islower (*s) && !g_ascii_isdigit (*s))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

gboolean
strand_version_parse (const char *text, guint64 out[3])
{
  if (text == NULL)
    return FALSE;
  const char *p = text;
  for (int i = 0; i < 3; i++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      char *end = NULL;
      guint64 v = g_ascii_strtoull (p, &end, 10);
      if (end == p || end - p > 9 || (end - p > 1 && *p == '0'))
        return FALSE;
      out[i] = v;
      p = end;
      if (i < 2)
        {
          if (*p != '.')
            return FALSE;
          p++;
        }
    }
  if (*p == '\0')
    return TRUE;
  if (*p != '-' && *p != '+')
    return FALSE;
  for (p++; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '+')
      return FALSE;
  return TRUE;
}

/* Compares two dot-separated pre-release strings by SemVer 2.0 rule 11:
 * numeric identifiers numerically and below alphanumeric ones, and a shorter
 * list first when all shared identifiers are equal. */
static int
compare_prerelease (const char *a, const char *b)
{
  g_auto (GStrv) pa = g_strsplit (a, ".", -1);
  g_auto (GStrv) pb = g_strsplit (b, ".", -1);
  guint i = 0;
  for (; pa[i] && pb[i]; i++)
    {
      guint64 na, nb;
      gboolean da = g_ascii_string_to_unsigned (pa[i], 10, 0, G_MAXUINT64, &na, NULL);
      gboolean db = g_ascii_string_to_unsigned (pb[i], 10, 0, G_MAXUINT64, &nb, NULL);
      if (da && db && na != nb)
        return na < nb ? -1 : 1;
      if (da != db)
        return da ? -1 : 1;
      int c = strcmp (pa[i], pb[i]);
      if (c != 0)
        return c < 0 ? -1 : 1;
    }
  return pa[i] ? 1 : pb[i] ? -1 : 0;
}

/* The pre-release part of a version ("rc.1" in "1.0.0-rc.1+b5"), build
 * metadata dropped; "" when there is none. */
static char *
prerelease_of (const char *version)
{
  g_autofree char *core = g_strndup (version, strcspn (version, "+"));
  const char *dash = strchr (core, '-');
  return g_strdup (dash ? dash + 1 : "");
}

int
strand_version_compare (const char *a, const char *b)
{
  guint64 va[3] = { 0 }, vb[3] = { 0 };
  gboolean pa = strand_version_parse (a, va), pb = strand_version_parse (b, vb);
  if (!pa || !pb)
    return g_strcmp0 (a, b);
  for (int i = 0; i < 3; i++)
    if (va[i] != vb[i])
      return va[i] < vb[i] ? -1 : 1;
  /* A pre-release sorts before its release; build metadata does not count. */
  g_autofree char *ra = prerelease_of (a);
  g_autofree char *rb = prerelease_of (b);
  if ((*ra == '\0') != (*rb == '\0'))
    return *ra == '\0' ? 1 : -1;
  return compare_prerelease (ra, rb);
}

static void G_GNUC_PRINTF (3, 4)
problem (GPtrArray *problems, StrandPluginErrorCode code, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_ptr_array_add (problems, g_error_new_literal (STRAND_PLUGIN_ERROR, code, msg));
}

static gboolean
parse_int_strict (const char *text, gint64 *out)
{
  return text != NULL && g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, out, NULL);
}

static gboolean
parse_double_strict (const char *text, double *out)
{
  if (text == NULL || *text == '\0' || g_ascii_isspace (*text))
    return FALSE;
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v))
    return FALSE;
  *out = v;
  return TRUE;
}

static void
check_ports (GPtrArray *ports, const char *direction, GPtrArray *problems)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < ports->len; i++)
    {
      const StrandPortInfo *port = ports->pdata[i];
      if (!is_identifier (port->name))
        {
          problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                   "%s port %u: name '%s' is not [a-z0-9][a-z0-9_-]* of at most %d bytes",
                   direction, i, port->name ? port->name : "(null)", MAX_NAME);
          continue;
        }
      if (!g_hash_table_add (seen, port->name))
        problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                 "%s port '%s' is declared twice", direction, port->name);
      if (port->formats == NULL || *port->formats == '\0')
        {
          problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                   "%s port '%s' declares no format", direction, port->name);
          continue;
        }
      g_auto (GStrv) formats = strand_formats_split (port->formats);
      for (char **f = formats; *f; f++)
        if (!strand_format_is_known (*f))
          problem (problems, STRAND_PLUGIN_ERROR_UNKNOWN_FORMAT,
                   "%s port '%s': format '%s' is unknown (known: fastq, fasta, sam, bam, "
                   "cram, vcf, bcf, bed, bcl-run, bai, csi, tbi, bwa-index, dir, tsv, json, text, any)",
                   direction, port->name, *f);
    }
}

static void
check_param (const StrandParamInfo *p, GPtrArray *problems)
{
  const char *type = strand_param_type_name (p->type);
  if (type == NULL)
    {
      problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
               "param '%s': type %u is not a StrandParamType", p->name, (guint) p->type);
      return;
    }
  gboolean numeric = p->type == STRAND_PARAM_INT || p->type == STRAND_PARAM_DOUBLE;
  if ((p->flags & (STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX)) && !numeric)
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "param '%s': a %s parameter cannot have a range", p->name, type);
  if (((p->flags & STRAND_PARAM_HAS_MIN) && !isfinite (p->min)) ||
      ((p->flags & STRAND_PARAM_HAS_MAX) && !isfinite (p->max)))
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "param '%s': range bounds must be finite numbers", p->name);
  if ((p->flags & STRAND_PARAM_HAS_MIN) && (p->flags & STRAND_PARAM_HAS_MAX) &&
      p->min > p->max)
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "param '%s': min %g is above max %g", p->name, p->min, p->max);
  if (p->type == STRAND_PARAM_ENUM && (p->choices == NULL || *p->choices == '\0'))
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "param '%s': an enum parameter needs choices", p->name);
  if ((p->flags & STRAND_PARAM_REQUIRED) && p->default_value != NULL)
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "param '%s' is required yet has a default '%s'", p->name, p->default_value);
  if (p->default_value != NULL)
    {
      g_autoptr (GError) err = NULL;
      if (!strand_param_info_check_value (p, p->default_value, &err))
        problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                 "param '%s': default %s", p->name, err->message);
    }
}

gboolean
strand_param_info_check_value (const StrandParamInfo *p, const char *text, GError **error)
{
  double v = 0;
  gint64 i = 0;
  switch (p->type)
    {
    case STRAND_PARAM_BOOL:
      if (g_strcmp0 (text, "true") != 0 && g_strcmp0 (text, "false") != 0)
        goto bad_type;
      return TRUE;
    case STRAND_PARAM_INT:
      if (!parse_int_strict (text, &i))
        goto bad_type;
      v = (double) i;
      break;
    case STRAND_PARAM_DOUBLE:
      if (!parse_double_strict (text, &v))
        goto bad_type;
      break;
    case STRAND_PARAM_ENUM:
      {
        g_auto (GStrv) choices = strand_formats_split (p->choices);
        if (text == NULL || !g_strv_contains ((const char *const *) choices, text))
          {
            g_set_error (error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                         "'%s' is not one of %s", text ? text : "", p->choices ? p->choices : "");
            return FALSE;
          }
        return TRUE;
      }
    case STRAND_PARAM_STRING:
    case STRAND_PARAM_PATH:
      if (text == NULL)
        goto bad_type;
      return TRUE;
    default:
      goto bad_type;
    }
  if ((p->flags & STRAND_PARAM_HAS_MIN) && v < p->min)
    {
      g_set_error (error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                   "%s is below the minimum %g", text, p->min);
      return FALSE;
    }
  if ((p->flags & STRAND_PARAM_HAS_MAX) && v > p->max)
    {
      g_set_error (error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                   "%s is above the maximum %g", text, p->max);
      return FALSE;
    }
  return TRUE;

bad_type:
  g_set_error (error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_INVALID_FIELD,
               "'%s' is not a valid %s", text ? text : "", strand_param_type_name (p->type)
               ? strand_param_type_name (p->type) : "value");
  return FALSE;
}

gboolean
strand_plugin_info_check (const StrandPluginInfo *info, GPtrArray *problems)
{
  guint before = problems->len;
  if (info->abi_minor > STRAND_ABI_MINOR)
    problem (problems, STRAND_PLUGIN_ERROR_ABI_MINOR,
             "built for Strand ABI %u.%u, newer than this host's %d.%d: "
             "upgrade strand, or rebuild the plugin against SDK %d.%d",
             info->abi_major, info->abi_minor, STRAND_ABI_MAJOR, STRAND_ABI_MINOR,
             STRAND_ABI_MAJOR, STRAND_ABI_MINOR);
  if (!is_identifier (info->name))
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "name '%s' is not [a-z0-9][a-z0-9_-]* of at most %d bytes",
             info->name ? info->name : "(null)", MAX_NAME);
  guint64 v[3];
  if (!strand_version_parse (info->version, v))
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "version '%s' is not a semantic version MAJOR.MINOR.PATCH",
             info->version ? info->version : "(null)");
  if (info->description == NULL || *info->description == '\0')
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD, "description is missing");
  if (!info->has_run)
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD, "run callback is NULL");

  check_ports (info->inputs, "input", problems);
  check_ports (info->outputs, "output", problems);

  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < info->params->len; i++)
    {
      const StrandParamInfo *p = info->params->pdata[i];
      if (!is_identifier (p->name))
        {
          problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                   "param %u: name '%s' is not [a-z0-9][a-z0-9_-]*", i,
                   p->name ? p->name : "(null)");
          continue;
        }
      if (!g_hash_table_add (names, p->name))
        problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                 "param '%s' is declared twice", p->name);
      check_param (p, problems);
    }

  gboolean seen_class[STRAND_ERROR_CLASS_COUNT] = { FALSE };
  for (guint i = 0; i < info->policy->len; i++)
    {
      const StrandRuleInfo *r = info->policy->pdata[i];
      const char *cls = strand_error_class_name (r->error_class);
      if (cls == NULL || r->error_class == STRAND_ERROR_NONE)
        {
          problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                   "error policy rule %u: error class %u is not a StrandErrorClass", i,
                   (guint) r->error_class);
          continue;
        }
      if (seen_class[r->error_class])
        problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                 "error policy: two rules for class '%s'", cls);
      seen_class[r->error_class] = TRUE;
      if (strand_action_name (r->action) == NULL)
        problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                 "error policy '%s': action %u is not a StrandAction", cls, (guint) r->action);
      if (r->max_attempts < 1 || r->max_attempts > 100)
        problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                 "error policy '%s': max_attempts %u is not within 1..100", cls, r->max_attempts);
      if (r->action == STRAND_ACTION_RETRY_ESCALATE &&
          !(r->escalate_factor > 1.0 && r->escalate_factor <= 16.0))
        problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                 "error policy '%s': escalate_factor %g is not within (1, 16]", cls,
                 r->escalate_factor);
      if (r->action == STRAND_ACTION_FALLBACK && r->fallback_plugin == NULL)
        problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
                 "error policy '%s': fallback action without fallback_plugin", cls);
    }

  const StrandResourceInfo *res = &info->resources;
  if (!isfinite (res->expected_seconds) || res->expected_seconds < 0)
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "resources: expected_seconds must be a finite number >= 0");
  if (res->equipment_class != NULL && !is_identifier (res->equipment_class))
    problem (problems, STRAND_PLUGIN_ERROR_INVALID_FIELD,
             "resources: equipment_class '%s' is not [a-z0-9][a-z0-9_-]*",
             res->equipment_class);
  return problems->len == before;
}

const StrandPortInfo *
strand_plugin_info_find_port (const StrandPluginInfo *info, gboolean output, const char *name)
{
  GPtrArray *ports = output ? info->outputs : info->inputs;
  for (guint i = 0; i < ports->len; i++)
    {
      const StrandPortInfo *port = ports->pdata[i];
      if (g_strcmp0 (port->name, name) == 0)
        return port;
    }
  return NULL;
}

const StrandParamInfo *
strand_plugin_info_find_param (const StrandPluginInfo *info, const char *name)
{
  for (guint i = 0; i < info->params->len; i++)
    {
      const StrandParamInfo *p = info->params->pdata[i];
      if (g_strcmp0 (p->name, name) == 0)
        return p;
    }
  return NULL;
}
