/* A lineage answer (strand_lineage(), lineage.h) as a Graphviz graph, for
 * people who want to see where a result came from: data items are boxes,
 * activities (stage runs, ingests, materialisations) ellipses, a failed
 * attempt red; an edge runs from a data item to the activity that used it
 * and from an activity to the data item it generated. The target is drawn
 * bold. Labels and ids come from the records, escaped for DOT, so a hostile
 * name cannot break the graph. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* NULL when `lineage` is not a lineage answer. */
char *strand_lineage_dot (JsonNode *lineage);

G_END_DECLS
