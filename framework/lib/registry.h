/* The plugin registry: where plugins are found, which ones load, and lookup
 * by name and version.
 *
 * Search order: directories added with strand_registry_add_dir() (the
 * command's --plugin-dir), then STRAND_PLUGIN_PATH (colon-separated), then the
 * install directory. The first plugin of a given name and version wins; a
 * later file with the same name and version is refused as a duplicate.
 *
 * Descriptors are read in a scanner process (plugin-scan.h) and cached by the
 * file's SHA-256, so unchanged plugins are not opened again; a file's digest
 * is itself reused while its device, inode, size and mtime are unchanged. */
#pragma once

#include <glib.h>

#include "plugin-info.h"

G_BEGIN_DECLS

typedef struct StrandRegistry StrandRegistry;

/* One refused file: its path and why (STRAND_PLUGIN_ERROR). */
typedef struct {
  char *path;
  GError *error;
} StrandPluginProblem;

StrandRegistry *strand_registry_new (void);
void strand_registry_free (StrandRegistry *registry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandRegistry, strand_registry_free)

/* An explicitly named directory: a missing one is reported as a problem. */
void strand_registry_add_dir (StrandRegistry *registry, const char *dir);
/* Adds STRAND_PLUGIN_PATH and the install directory; missing ones are skipped. */
void strand_registry_add_default_dirs (StrandRegistry *registry);
/* The cache file; NULL disables caching. Default: none. */
void strand_registry_set_cache_file (StrandRegistry *registry, const char *path);
/* The cache file a command uses by default:
 * $STRAND_REGISTRY_CACHE, else $XDG_CACHE_HOME/strand/registry-v1.json. */
char *strand_registry_default_cache_file (void);

/* Finds, hashes and loads every plugin file. Never fails as a whole: each bad
 * file becomes a problem and the others load. */
void strand_registry_scan (StrandRegistry *registry);

/* Plugins that loaded, sorted by name then version. */
GPtrArray *strand_registry_plugins (StrandRegistry *registry);
/* Files refused, in search order (StrandPluginProblem). */
GPtrArray *strand_registry_problems (StrandRegistry *registry);
/* Count of files whose descriptor came from the cache in the last scan. */
guint strand_registry_cache_hits (StrandRegistry *registry);

/* The newest plugin called `name` that satisfies `constraint`: NULL or "" for
 * any, "1.2.3" for exactly that, or a comma-separated list of ">=1.0.0",
 * "<2.0.0", "=1.2.3" and "^1.2" (same major, at least 1.2). */
const StrandPluginInfo *strand_registry_lookup (StrandRegistry *registry, const char *name,
                                                const char *constraint);
/* True when `constraint` is well formed. */
gboolean strand_version_constraint_valid (const char *constraint);
gboolean strand_version_satisfies (const char *version, const char *constraint);

/* Every check on one file, as `strand plugins check` runs them. Returns the
 * plugin's description when its descriptor could be read (even with field
 * problems) and appends one GError per problem. */
StrandPluginInfo *strand_registry_check_file (const char *path, GPtrArray *problems);

G_END_DECLS
