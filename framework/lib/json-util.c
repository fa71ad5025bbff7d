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
