/* What the host knows of one plugin: a copy of its descriptor that owns its
 * strings, the file it came from, and the checks every descriptor must pass.
 *
 * The same JSON form is used between the scanner process and the host, in the
 * registry cache, and by `strand plugins inspect --json`
 * (schemas/plugin-inspect.schema.json). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <strand/stage.h>

G_BEGIN_DECLS

#define STRAND_PLUGIN_ERROR (strand_plugin_error_quark ())
GQuark strand_plugin_error_quark (void);

/* Reasons a plugin is refused, in the order the checks run. */
typedef enum {
  STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE,
  STRAND_PLUGIN_ERROR_UNSAFE_PERMISSIONS,
  STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT,
  STRAND_PLUGIN_ERROR_CORRUPT,
  STRAND_PLUGIN_ERROR_LOAD_CRASHED,
  STRAND_PLUGIN_ERROR_NO_ENTRY,
  STRAND_PLUGIN_ERROR_BAD_MAGIC,
  STRAND_PLUGIN_ERROR_ABI_MAJOR,
  STRAND_PLUGIN_ERROR_BAD_SIZE,
  STRAND_PLUGIN_ERROR_ABI_MINOR,
  STRAND_PLUGIN_ERROR_INVALID_FIELD,
  STRAND_PLUGIN_ERROR_UNKNOWN_FORMAT,
  STRAND_PLUGIN_ERROR_DUPLICATE,
} StrandPluginErrorCode;

/* Stable text form of a code, e.g. "abi-major-mismatch". */
const char *strand_plugin_error_code_name (StrandPluginErrorCode code);

typedef struct {
  char *name;
  char *formats;
  guint32 flags;
  char *description;
} StrandPortInfo;

typedef struct {
  char *name;
  StrandParamType type;
  guint32 flags;
  char *description;
  char *default_value;
  double min;
  double max;
  char *choices;
} StrandParamInfo;

typedef struct {
  StrandErrorClass error_class;
  StrandAction action;
  guint32 max_attempts;
  guint32 backoff_ms;
  double escalate_factor;
  char *fallback_plugin;
} StrandRuleInfo;

typedef struct {
  guint32 cores;
  guint32 gpus;
  guint64 memory_bytes;
  guint64 scratch_bytes;
  guint64 output_bytes;
  double expected_seconds;
  char *equipment_class;
} StrandResourceInfo;

typedef struct {
  /* The file. */
  char *path;
  char *sha256;
  guint64 file_size;

  /* The descriptor header as the plugin declared it. */
  guint abi_major;
  guint abi_minor;
  guint descriptor_size;

  char *name;
  char *version;
  char *description;
  char *license;
  char *url;
  guint32 flags;
  GPtrArray *inputs;  /* StrandPortInfo */
  GPtrArray *outputs; /* StrandPortInfo */
  GPtrArray *params;  /* StrandParamInfo */
  GPtrArray *policy;  /* StrandRuleInfo */
  StrandResourceInfo resources;
  gboolean has_run;
  gboolean has_validate;
  gboolean has_cancel;
} StrandPluginInfo;

StrandPluginInfo *strand_plugin_info_new (void);
void strand_plugin_info_free (StrandPluginInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPluginInfo, strand_plugin_info_free)

/* Copies a descriptor that has already been normalised to today's layout
 * (see plugin-load.h). Strings longer than the limits are cut; the field
 * checks below report them. */
StrandPluginInfo *strand_plugin_info_from_descriptor (const StrandStageDescriptor *desc,
                                                      guint declared_size);

JsonNode *strand_plugin_info_to_json (const StrandPluginInfo *info);
StrandPluginInfo *strand_plugin_info_from_json (JsonNode *node, GError **error);

/* Runs every check on the descriptor's fields (ABI minor, names, versions,
 * ports, formats, parameters, policy) and appends one GError per problem to
 * `problems`. Returns TRUE when there were none. */
gboolean strand_plugin_info_check (const StrandPluginInfo *info, GPtrArray *problems);

const StrandPortInfo *strand_plugin_info_find_port (const StrandPluginInfo *info,
                                                    gboolean output, const char *name);
const StrandParamInfo *strand_plugin_info_find_param (const StrandPluginInfo *info,
                                                      const char *name);

/* Checks a parameter value in its text form ("42", "true", "fast") against
 * the declared type, range and choices. */
gboolean strand_param_info_check_value (const StrandParamInfo *param, const char *text,
                                        GError **error);

const char *strand_param_type_name (StrandParamType type);
const char *strand_error_class_name (StrandErrorClass error_class);
const char *strand_action_name (StrandAction action);
gboolean strand_error_class_from_name (const char *name, StrandErrorClass *out);
gboolean strand_action_from_name (const char *name, StrandAction *out);

/* Parses "MAJOR.MINOR.PATCH" (pre-release/build suffixes allowed). */
gboolean strand_version_parse (const char *text, guint64 out[3]);
int strand_version_compare (const char *a, const char *b);

G_END_DECLS
