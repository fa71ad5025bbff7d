/* Reading members of JSON objects that may be damaged or hostile.
 *
 * json-glib's typed getters emit a critical when a member has another type;
 * these return the fallback instead, so a wrong type in a user's file or a
 * damaged cache is just a missing value. */
#pragma once

#include <json-glib/json-glib.h>

#include "problems.h"

G_BEGIN_DECLS

const char *strand_json_string (JsonObject *object, const char *key, const char *fallback);
gint64 strand_json_int (JsonObject *object, const char *key, gint64 fallback);
/* Accepts integers and reals. */
double strand_json_double (JsonObject *object, const char *key, double fallback);
gboolean strand_json_bool (JsonObject *object, const char *key, gboolean fallback);

/* Parses a JSON document a user handed over. On failure appends one problem
 * at `name` ("empty-file", "not-utf8" or "invalid-json") and returns NULL. */
JsonParser *strand_json_parse_document (const char *data, gsize len, const char *name,
                                        GPtrArray *problems);

/* Reads a whole file a user handed over; on failure appends an "unreadable"
 * problem and returns NULL. */
char *strand_read_user_file (const char *path, gsize *len, GPtrArray *problems);

G_END_DECLS
