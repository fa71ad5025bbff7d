/* Canonical JSON: object members sorted by key (byte order of their UTF-8),
 * no insignificant whitespace, integers as integers, other numbers in their
 * shortest form that reads back to the same double. The same model always
 * gives the same bytes, so digests and signatures over it are stable. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

char *strand_canonical_json (JsonNode *node);

G_END_DECLS
