/* PROV-JSON from a run's records (export-prov.h). */
#include "export-prov.h"

#include <string.h>

#include "clock.h"

#define NS_STRAND "urn:strand:ns:"
#define NS_DATA "urn:strand:data:sha256:"
#define NS_PLUGIN "urn:strand:plugin:sha256:"
#define NS_EQUIPMENT "urn:strand:equipment:"
#define NS_OPERATOR "urn:strand:operator:"
#define NS_PARAM "urn:strand:param:"

/* A qualified name's local part: letters, digits, '.', '-' and '_' kept,
 * anything else percent-encoded, so PROV-N and PROV-XML readers accept it. */
static char *
local_name (const char *text)
{
  GString *s = g_string_new (NULL);
  for (const unsigned char *p = (const unsigned char *) text; *p; p++)
    if (g_ascii_isalnum (*p) || *p == '.' || *p == '-' || *p == '_')
      g_string_append_c (s, (char) *p);
    else
      g_string_append_printf (s, "%%%02X", *p);
  return g_string_free (s, FALSE);
}

static char *
qname (const char *prefix, const char *local)
{
  g_autofree char *escaped = local_name (local);
  return g_strconcat (prefix, ":", escaped, NULL);
}

static JsonObject *
typed (const char *value, const char *type)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "$", value);
  json_object_set_string_member (o, "type", type);
  return o;
}

static void
set_qname (JsonObject *o, const char *key, const char *value)
{
  json_object_set_object_member (o, key, typed (value, "xsd:QName"));
}

static void
set_string (JsonObject *o, const char *key, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, key, value);
}

static void
set_time (JsonObject *o, const char *key, gint64 us)
{
  if (us == G_MININT64 || us == G_MAXINT64)
    return;
  g_autofree char *text = strand_clock_format_rfc3339 (us);
  json_object_set_string_member (o, key, text);
}

/* One relation under its kind, with a document-unique blank id. */
typedef struct {
  JsonObject *doc;
  guint next_id;
} Doc;

static JsonObject *
relation (Doc *d, const char *kind)
{
  JsonObject *group;
  if (json_object_has_member (d->doc, kind))
    group = json_object_get_object_member (d->doc, kind);
  else
    {
      group = json_object_new ();
      json_object_set_object_member (d->doc, kind, group);
    }
  JsonObject *r = json_object_new ();
  g_autofree char *id = g_strdup_printf ("_:%s%u", kind, ++d->next_id);
  json_object_set_object_member (group, id, r);
  return r;
}

static JsonObject *
section (Doc *d, const char *kind)
{
  if (!json_object_has_member (d->doc, kind))
    json_object_set_object_member (d->doc, kind, json_object_new ());
  return json_object_get_object_member (d->doc, kind);
}

static char *
entity_id (const StrandRunEntity *e)
{
  return g_strconcat ("data:", e->sha256, NULL);
}

static char *
activity_id (const StrandStageRun *sr)
{
  return g_strdup_printf ("run:seq-%" G_GUINT64_FORMAT, sr->seq);
}

static char *
host_id (const char *builder)
{
  /* "strand:host:<keyid>": the prefix "host" stands for "strand:host:". */
  const char *key = g_str_has_prefix (builder, "strand:host:") ? builder + 12 : builder;
  return qname ("host", key);
}

static void
add_entity (Doc *d, const StrandRunEntity *e)
{
  JsonObject *o = json_object_new ();
  set_qname (o, "prov:type", "strand:DataItem");
  set_string (o, "prov:label", e->name);
  set_string (o, "strand:name", e->name);
  json_object_set_string_member (o, "strand:sha256", e->sha256);
  set_string (o, "strand:md5", e->md5);
  if (e->size >= 0)
    json_object_set_int_member (o, "strand:size", e->size);
  set_string (o, "strand:format", e->format);
  set_string (o, "strand:sample", e->sample);
  set_string (o, "strand:path", e->path);
  if (e->ingest_seq > 0)
    json_object_set_int_member (o, "strand:ingestRecord", (gint64) e->ingest_seq);
  set_string (o, "strand:madeByRun", e->origin_run);
  json_object_set_boolean_member (o, "strand:inStore", e->in_store);
  g_autofree char *id = entity_id (e);
  json_object_set_object_member (section (d, "entity"), id, o);
}

static void
add_activity (Doc *d, const StrandStageRun *sr)
{
  JsonObject *o = json_object_new ();
  g_autofree char *label = strand_stage_run_label (sr);
  g_autofree char *full = g_strdup_printf ("%s (attempt %" G_GINT64_FORMAT ")", label, sr->attempt);
  set_qname (o, "prov:type", "strand:StageRun");
  json_object_set_string_member (o, "prov:label", full);
  set_time (o, "prov:startTime", sr->started_us);
  set_time (o, "prov:endTime", sr->finished_us);
  json_object_set_string_member (o, "strand:stage", sr->stage);
  set_string (o, "strand:sample", sr->sample);
  json_object_set_string_member (o, "strand:plugin", sr->plugin);
  json_object_set_string_member (o, "strand:pluginVersion", sr->plugin_version);
  json_object_set_string_member (o, "strand:pluginSha256", sr->plugin_sha256);
  set_string (o, "strand:pluginPath", sr->plugin_path);
  json_object_set_int_member (o, "strand:attempt", sr->attempt);
  json_object_set_string_member (o, "strand:status", sr->status);
  if (sr->exit_status >= 0)
    json_object_set_int_member (o, "strand:exitStatus", sr->exit_status);
  set_string (o, "strand:message", sr->message);
  set_string (o, "strand:equipment", sr->equipment);
  if (sr->cores > 0)
    json_object_set_int_member (o, "strand:cores", sr->cores);
  if (sr->memory_bytes > 0)
    json_object_set_int_member (o, "strand:memoryBytes", sr->memory_bytes);
  json_object_set_int_member (o, "strand:recordSeq", (gint64) sr->seq);
  json_object_set_string_member (o, "strand:recordSha256", sr->hash);
  JsonObjectIter it;
  const char *name;
  JsonNode *value;
  json_object_iter_init (&it, sr->params);
  while (json_object_iter_next (&it, &name, &value))
    {
      g_autofree char *key = qname ("param", name);
      json_object_set_string_member (o, key, json_node_get_string (value));
    }
  if (sr->tools->len > 0)
    {
      JsonArray *tools = json_array_new ();
      for (guint i = 0; i < sr->tools->len; i++)
        {
          const StrandRunTool *t = sr->tools->pdata[i];
          g_autofree char *text = g_strdup_printf ("%s %s sha256:%s", t->path,
                                                   t->version ? t->version : "(no version)", t->sha256);
          json_array_add_string_element (tools, text);
        }
      json_object_set_array_member (o, "strand:tools", tools);
    }
  g_autofree char *id = activity_id (sr);
  json_object_set_object_member (section (d, "activity"), id, o);
}

static void
add_agent (Doc *d, const char *id, const char *type, const char *label)
{
  JsonObject *agents = section (d, "agent");
  if (json_object_has_member (agents, id))
    return;
  JsonObject *o = json_object_new ();
  set_qname (o, "prov:type", type);
  json_object_set_string_member (o, "prov:label", label);
  json_object_set_object_member (agents, id, o);
}

static void
associate (Doc *d, const char *activity, const char *agent, const char *role)
{
  JsonObject *r = relation (d, "wasAssociatedWith");
  json_object_set_string_member (r, "prov:activity", activity);
  json_object_set_string_member (r, "prov:agent", agent);
  set_qname (r, "prov:role", role);
}

JsonNode *
strand_export_prov_json (const StrandRunRecords *run)
{
  Doc d = { json_object_new (), 0 };
  JsonObject *prefix = json_object_new ();
  json_object_set_string_member (prefix, "xsd", "http://www.w3.org/2001/XMLSchema#");
  json_object_set_string_member (prefix, "strand", NS_STRAND);
  json_object_set_string_member (prefix, "data", NS_DATA);
  g_autofree char *run_ns = g_strdup_printf ("urn:strand:run:%s:", run->run_id);
  json_object_set_string_member (prefix, "run", run_ns);
  json_object_set_string_member (prefix, "host", "strand:host:");
  json_object_set_string_member (prefix, "plugin", NS_PLUGIN);
  json_object_set_string_member (prefix, "equipment", NS_EQUIPMENT);
  json_object_set_string_member (prefix, "operator", NS_OPERATOR);
  json_object_set_string_member (prefix, "param", NS_PARAM);
  json_object_set_object_member (d.doc, "prefix", prefix);

  for (guint i = 0; i < run->entities->len; i++)
    add_entity (&d, run->entities->pdata[i]);
  for (guint i = 0; i < run->stage_runs->len; i++)
    add_activity (&d, run->stage_runs->pdata[i]);

  /* Agents and who did what. */
  for (guint i = 0; i < run->stage_runs->len; i++)
    {
      const StrandStageRun *sr = run->stage_runs->pdata[i];
      g_autofree char *act = activity_id (sr);
      g_autofree char *host = host_id (sr->builder);
      g_autofree char *host_label = g_strdup_printf ("Strand host %s", sr->builder);
      add_agent (&d, host, "prov:SoftwareAgent", host_label);
      associate (&d, act, host, "strand:host");

      g_autofree char *plugin = qname ("plugin", sr->plugin_sha256);
      g_autofree char *plugin_label = g_strdup_printf ("%s %s", sr->plugin, sr->plugin_version);
      JsonObject *agents = section (&d, "agent");
      if (!json_object_has_member (agents, plugin))
        {
          add_agent (&d, plugin, "prov:SoftwareAgent", plugin_label);
          JsonObject *o = json_object_get_object_member (agents, plugin);
          json_object_set_string_member (o, "strand:name", sr->plugin);
          json_object_set_string_member (o, "strand:version", sr->plugin_version);
          json_object_set_string_member (o, "strand:sha256", sr->plugin_sha256);
          set_string (o, "strand:path", sr->plugin_path);
        }
      associate (&d, act, plugin, "strand:plugin");
      JsonObject *delegation = relation (&d, "actedOnBehalfOf");
      json_object_set_string_member (delegation, "prov:delegate", plugin);
      json_object_set_string_member (delegation, "prov:responsible", host);
      json_object_set_string_member (delegation, "prov:activity", act);

      if (sr->equipment != NULL)
        {
          g_autofree char *eq = qname ("equipment", sr->equipment);
          add_agent (&d, eq, "strand:Equipment", sr->equipment);
          associate (&d, act, eq, "strand:equipment");
        }
    }

  /* What each stage run used and made. */
  for (guint i = 0; i < run->stage_runs->len; i++)
    {
      const StrandStageRun *sr = run->stage_runs->pdata[i];
      g_autofree char *act = activity_id (sr);
      g_autofree char *host = host_id (sr->builder);
      g_autoptr (GHashTable) informants = g_hash_table_new (NULL, NULL);
      for (guint k = 0; k < sr->inputs->len; k++)
        {
          const StrandRunFileRef *in = sr->inputs->pdata[k];
          g_autofree char *ent = entity_id (in->entity);
          JsonObject *u = relation (&d, "used");
          json_object_set_string_member (u, "prov:activity", act);
          json_object_set_string_member (u, "prov:entity", ent);
          set_time (u, "prov:time", sr->started_us);
          json_object_set_string_member (u, "strand:name", in->name);
          StrandStageRun *producer = in->entity->generated_by;
          if (producer != NULL && producer != sr && !g_hash_table_contains (informants, producer))
            {
              g_hash_table_add (informants, producer);
              g_autofree char *informant = activity_id (producer);
              JsonObject *c = relation (&d, "wasInformedBy");
              json_object_set_string_member (c, "prov:informed", act);
              json_object_set_string_member (c, "prov:informant", informant);
            }
        }
      for (guint k = 0; k < sr->outputs->len; k++)
        {
          const StrandRunFileRef *out = sr->outputs->pdata[k];
          g_autofree char *ent = entity_id (out->entity);
          JsonObject *g = relation (&d, "wasGeneratedBy");
          json_object_set_string_member (g, "prov:entity", ent);
          json_object_set_string_member (g, "prov:activity", act);
          set_time (g, "prov:time", sr->finished_us);
          json_object_set_string_member (g, "strand:name", out->name);
          JsonObject *a = relation (&d, "wasAttributedTo");
          json_object_set_string_member (a, "prov:entity", ent);
          json_object_set_string_member (a, "prov:agent", host);
          for (guint j = 0; j < sr->inputs->len; j++)
            {
              const StrandRunFileRef *in = sr->inputs->pdata[j];
              g_autofree char *src = entity_id (in->entity);
              JsonObject *der = relation (&d, "wasDerivedFrom");
              json_object_set_string_member (der, "prov:generatedEntity", ent);
              json_object_set_string_member (der, "prov:usedEntity", src);
              json_object_set_string_member (der, "prov:activity", act);
            }
        }
    }

  /* Inputs someone brought in. */
  for (guint i = 0; i < run->entities->len; i++)
    {
      const StrandRunEntity *e = run->entities->pdata[i];
      if (e->operator_name == NULL)
        continue;
      g_autofree char *op = qname ("operator", e->operator_name);
      add_agent (&d, op, "prov:Person", e->operator_name);
      g_autofree char *ent = entity_id (e);
      JsonObject *a = relation (&d, "wasAttributedTo");
      json_object_set_string_member (a, "prov:entity", ent);
      json_object_set_string_member (a, "prov:agent", op);
      set_time (a, "strand:ingested", e->ingested_us ? e->ingested_us : G_MININT64);
    }

  JsonNode *root = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (root, d.doc);
  return root;
}
