/* Lineage as DOT (lineage-dot.h). */
#include "lineage-dot.h"

#include <string.h>

#include "json-util.h"

/* A DOT double-quoted string's contents: quotes and backslashes escaped,
 * control characters dropped. */
static void
append_escaped (GString *out, const char *text)
{
  for (const char *p = text ? text : ""; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      if ((unsigned char) *p >= 0x20 && *p != 0x7f)
        g_string_append_c (out, *p);
    }
}

static const char *
first_name (JsonObject *e)
{
  JsonNode *n = json_object_get_member (e, "names");
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (json_node_get_array (n)) == 0)
    return NULL;
  JsonNode *first = json_array_get_element (json_node_get_array (n), 0);
  return JSON_NODE_HOLDS_VALUE (first) && json_node_get_value_type (first) == G_TYPE_STRING
             ? json_node_get_string (first)
             : NULL;
}

static JsonArray *
array_member (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static void
edges (GString *out, JsonArray *digests, gint64 seq, gboolean used)
{
  for (guint k = 0; digests && k < json_array_get_length (digests); k++)
    {
      JsonNode *d = json_array_get_element (digests, k);
      if (!JSON_NODE_HOLDS_VALUE (d) || json_node_get_value_type (d) != G_TYPE_STRING)
        continue;
      g_string_append (out, used ? "  \"e:" : "  \"a:");
      if (used)
        append_escaped (out, json_node_get_string (d));
      else
        g_string_append_printf (out, "%" G_GINT64_FORMAT, seq);
      g_string_append (out, used ? "\" -> \"a:" : "\" -> \"e:");
      if (used)
        g_string_append_printf (out, "%" G_GINT64_FORMAT, seq);
      else
        append_escaped (out, json_node_get_string (d));
      g_string_append_printf (out, "\" [label=\"%s\"];\n", used ? "used" : "generated");
    }
}

char *
strand_lineage_dot (JsonNode *lineage)
{
  if (lineage == NULL || !JSON_NODE_HOLDS_OBJECT (lineage))
    return NULL;
  JsonObject *root = json_node_get_object (lineage);
  JsonArray *entities = array_member (root, "entities");
  JsonArray *activities = array_member (root, "activities");
  if (entities == NULL || activities == NULL)
    return NULL;
  const char *target = strand_json_string (root, "target", "");
  GString *out = g_string_new ("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
  g_string_append (out, "  label=\"");
  append_escaped (out, strcmp (strand_json_string (root, "direction", "up"), "down") == 0
                           ? "descendants of " : "ancestors of ");
  append_escaped (out, target);
  g_string_append (out, "\";\n");

  for (guint i = 0; i < json_array_get_length (entities); i++)
    {
      JsonNode *n = json_array_get_element (entities, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      JsonObject *e = json_node_get_object (n);
      const char *sha = strand_json_string (e, "sha256", NULL);
      if (sha == NULL)
        continue;
      const char *name = first_name (e);
      gboolean is_target = g_str_has_prefix (sha, target) ||
                           (name && g_strcmp0 (name, target) == 0);
      g_string_append (out, "  \"e:");
      append_escaped (out, sha);
      g_string_append (out, "\" [shape=box, label=\"");
      if (name)
        {
          append_escaped (out, name);
          g_string_append (out, "\\n");
        }
      g_string_append_printf (out, "%.12s", sha);
      const char *sample = strand_json_string (e, "sample", NULL);
      if (sample)
        {
          g_string_append (out, "\\nsample ");
          append_escaped (out, sample);
        }
      g_string_append_printf (out, "\"%s];\n", is_target ? ", style=bold, penwidth=2" : "");
    }
  for (guint i = 0; i < json_array_get_length (activities); i++)
    {
      JsonNode *n = json_array_get_element (activities, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      JsonObject *a = json_node_get_object (n);
      gint64 seq = strand_json_int (a, "seq", -1);
      if (seq < 0)
        continue;
      const char *kind = strand_json_string (a, "kind", "other");
      const char *stage = strand_json_string (a, "stage", NULL);
      const char *sample = strand_json_string (a, "sample", NULL);
      const char *plugin = strand_json_string (a, "plugin", NULL);
      const char *version = strand_json_string (a, "plugin_version", NULL);
      const char *status = strand_json_string (a, "status", NULL);
      gboolean failed = status != NULL && strcmp (status, "ok") != 0;
      g_string_append_printf (out, "  \"a:%" G_GINT64_FORMAT "\" [shape=ellipse, label=\"", seq);
      if (stage)
        {
          if (sample)
            {
              append_escaped (out, sample);
              g_string_append_c (out, '/');
            }
          append_escaped (out, stage);
          if (plugin)
            {
              g_string_append (out, "\\n");
              append_escaped (out, plugin);
              g_string_append_c (out, ' ');
              append_escaped (out, version);
            }
        }
      else
        append_escaped (out, kind);
      g_string_append_printf (out, "\\n#%" G_GINT64_FORMAT, seq);
      if (failed)
        {
          g_string_append (out, " ");
          append_escaped (out, status);
        }
      g_string_append_printf (out, "\"%s];\n", failed ? ", color=red, fontcolor=red" : "");
      edges (out, array_member (a, "used"), seq, TRUE);
      edges (out, array_member (a, "generated"), seq, FALSE);
    }
  g_string_append (out, "}\n");
  return g_string_free (out, FALSE);
}
