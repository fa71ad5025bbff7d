/* Opening one plugin file in the current process and reading its descriptor.
 *
 * Only the scanner process (plugin-scan.h) and task workers call this: the
 * host process itself never maps plugin code, so a plugin that crashes on
 * load or in its entry function cannot take the host down.
 *
 * Checks run in this order, each with its own StrandPluginErrorCode: file
 * type and permissions, ELF header (shared object for this machine, not
 * truncated), open through libltdl, entry symbol, magic, ABI major,
 * descriptor and element sizes. Field checks follow in plugin-info.h. */
#pragma once

#include <glib.h>
#include <strand/stage.h>

#include "plugin-info.h"

G_BEGIN_DECLS

/* The checks that need no code from the file: a regular file that is not
 * world-writable in a directory that is not world-writable, and an ELF shared
 * object for this machine whose headers fit in the file. */
gboolean strand_plugin_file_check (const char *path, GError **error);

typedef struct StrandPluginModule StrandPluginModule;

/* Runs strand_plugin_file_check(), opens the file with local symbol binding,
 * calls its entry function once and normalises the descriptor to this host's
 * layout (older, shorter structs zero-filled). */
StrandPluginModule *strand_plugin_module_open (const char *path, GError **error);
void strand_plugin_module_close (StrandPluginModule *module);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPluginModule, strand_plugin_module_close)

/* The descriptor in this host's layout; valid until the module is closed. */
const StrandStageDescriptor *strand_plugin_module_descriptor (StrandPluginModule *module);
/* The struct_size the plugin declared. */
guint strand_plugin_module_declared_size (StrandPluginModule *module);

G_END_DECLS
