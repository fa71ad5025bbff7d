#include "json-util.h"

static JsonNode *
scalar (JsonObject *object, const char *key, GType type)
{
  JsonNode *n = object != NULL ? json_object_get_member (object, key) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != type)
    return NULL;
  return n;
}

const char *
strand_json_string (JsonObject *object, const char *key, const char *fallback)
{
  JsonNode *n = scalar (object, key, G_TYPE_STRING);
  return n ? json_node_get_string (n) : fallback;
}

gint64
strand_json_int (JsonObject *object, const char *key, gint64 fallback)
{
  JsonNode *n = scalar (object, key, G_TYPE_INT64);
  return n ? json_node_get_int (n) : fallback;
}

double
strand_json_double (JsonObject *object, const char *key, double fallback)
{
  JsonNode *n = scalar (object, key, G_TYPE_DOUBLE);
  if (n != NULL)
    return json_node_get_double (n);
  n = scalar (object, key, G_TYPE_INT64);
  return n ? (double) json_node_get_int (n) : fallback;
}

gboolean
strand_json_bool (JsonObject *object, const char *key, gboolean fallback)
{
  JsonNode *n = scalar (object, key, G_TYPE_BOOLEAN);
  return n ? json_node_get_boolean (n) : fallback;
}

JsonParser *
strand_json_parse_document (const char *data, gsize len, const char *name, GPtrArray *problems)
{
  if (len == 0)
    {
      strand_problems_add (problems, FALSE, "empty-file", name, "the file is empty");
      return NULL;
    }
  if (!g_utf8_validate_len (data, len, NULL))
    {
      strand_problems_add (problems, FALSE, "not-utf8", name, "the file is not UTF-8 text");
      return NULL;
    }
  JsonParser *parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (parser, data, (gssize) len, &error))
    {
      strand_problems_add (problems, FALSE, "invalid-json", name, "not valid JSON: %s", error->message);
      g_object_unref (parser);
      return NULL;
    }
  return parser;
}

char *
strand_read_user_file (const char *path, gsize *len, GPtrArray *problems)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  if (!g_file_get_contents (path, &contents, len, &error))
    {
      strand_problems_add (problems, FALSE, "unreadable", path, "%s", error->message);
      return NULL;
    }
  return contents;
}
