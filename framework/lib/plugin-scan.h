/* Reading plugin descriptors in a separate scanner process.
 *
 * The host forks one scanner that opens each file in turn and sends back one
 * JSON line per file. If a plugin crashes or hangs while loading, the host
 * records that against the file and starts a new scanner for the rest, as
 * GStreamer's plugin scanner does. */
#pragma once

#include <glib.h>

#include "plugin-info.h"

G_BEGIN_DECLS

typedef struct {
  char *path;
  StrandPluginInfo *info; /* set when the descriptor could be read */
  GError *error;          /* set when the file was refused before that */
  gboolean cacheable;     /* FALSE for crashes and hangs: worth retrying */
} StrandScanResult;

void strand_scan_result_free (StrandScanResult *result);

/* Scans `paths` and returns one result per path, in order. A plugin that
 * takes longer than `timeout_ms` to load is reported as hung. */
GPtrArray *strand_plugin_scan (const char *const *paths, guint n_paths, guint timeout_ms);

/* The JSON line form of one result, shared with the registry cache. */
JsonNode *strand_scan_result_to_json (const StrandScanResult *result);
StrandScanResult *strand_scan_result_from_json (const char *path, JsonNode *node);

G_END_DECLS
