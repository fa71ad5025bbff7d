#include "canonical-json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
append_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}

/* Shortest decimal form that reads back to the same double. */
static void
append_double (GString *out, double v)
{
  if (!isfinite (v))
    {
      g_string_append (out, "null"); /* JSON has no infinities */
      return;
    }
  if (v == floor (v) && fabs (v) < 9007199254740992.0)
    {
      g_string_append_printf (out, "%.0f", v == 0 ? 0.0 : v);
      return;
    }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int precision = 1; precision <= 17; precision++)
    {
      char format[8];
      snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buf, sizeof buf, format, v); /* '.' whatever the locale */
      if (g_ascii_strtod (buf, NULL) == v)
        break;
    }
  g_string_append (out, buf);
}

static int
compare_keys (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
append_node (GString *out, JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      return;
    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (node);
        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (a); i++)
          {
            if (i)
              g_string_append_c (out, ',');
            append_node (out, json_array_get_element (a, i));
          }
        g_string_append_c (out, ']');
        return;
      }
    case JSON_NODE_OBJECT:
      {
        JsonObject *o = json_node_get_object (node);
        g_autoptr (GList) members = json_object_get_members (o);
        guint n = g_list_length (members);
        g_autofree const char **keys = g_new (const char *, n + 1);
        guint i = 0;
        for (GList *l = members; l; l = l->next)
          keys[i++] = l->data;
        qsort (keys, n, sizeof *keys, compare_keys);
        g_string_append_c (out, '{');
        for (i = 0; i < n; i++)
          {
            if (i)
              g_string_append_c (out, ',');
            append_string (out, keys[i]);
            g_string_append_c (out, ':');
            append_node (out, json_object_get_member (o, keys[i]));
          }
        g_string_append_c (out, '}');
        return;
      }
    case JSON_NODE_VALUE:
      {
        GType t = json_node_get_value_type (node);
        if (t == G_TYPE_STRING)
          append_string (out, json_node_get_string (node));
        else if (t == G_TYPE_BOOLEAN)
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
        else if (t == G_TYPE_INT64)
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
        else
          append_double (out, json_node_get_double (node));
        return;
      }
    }
}

char *
strand_canonical_json (JsonNode *node)
{
  GString *out = g_string_new (NULL);
  if (node != NULL)
    append_node (out, node);
  else
    g_string_append (out, "null");
  return g_string_free (out, FALSE);
}
