/* Pipelines: a DAG of stage instances joined by edges from output ports to
 * input ports. A pipeline is read from JSON (schemas/pipeline.schema.json) or
 * built through this API; both give the same model, and the model writes back
 * to the same canonical JSON.
 *
 * Loading checks the file's shape; strand_pipeline_resolve() checks it
 * against the installed plugins. Both report every problem at once, each with
 * a stable code and a JSON pointer ("/stages/2/params/threads"). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "problems.h"
#include "registry.h"

G_BEGIN_DECLS

/* Resource needs a pipeline may state for one stage, over the plugin's own.
 * Zero or NULL: keep the plugin's value. */
typedef struct {
  guint cores;
  guint gpus;
  guint64 memory_bytes;
  double expected_seconds;
  char *equipment_class;
} StrandStageResources;

/* One rule of a stage's error policy as the pipeline states it, over the
 * plugin's default (policy.h merges them). */
typedef struct {
  gboolean any_class;           /* "on": "any": every class without its own rule */
  StrandErrorClass error_class;
  StrandAction action;
  guint max_attempts;           /* 0: the host's default for the action */
  guint backoff_ms;
  double escalate_factor;       /* 0: the host's default */
  char *fallback_plugin;        /* "name" or "name@constraint" */
} StrandPolicyOverride;

typedef struct {
  char *id;
  char *plugin;
  char *version;         /* constraint; NULL: any */
  char *sha256;          /* pinned plugin digest; NULL: not pinned */
  GHashTable *params;    /* char* -> JsonNode* (string, integer, real or boolean) */
  StrandStageResources resources;
  GPtrArray *policy;     /* StrandPolicyOverride, in file order */
  guint index;           /* position in the pipeline's stages */
  const StrandPluginInfo *resolved; /* set by strand_pipeline_resolve() */
} StrandStage;

/* `from_stage` NULL: the sample's input named `from_port` ("@reads"). */
typedef struct {
  char *from_stage;
  char *from_port;
  char *to_stage;
  char *to_port;
} StrandEdge;

/* A file the pipeline reads. Per sample by default: each sample's sheet
 * entry supplies it. A per-run input (a reference genome) is one file for
 * the whole run, given by the pipeline file or at run time, optionally
 * pinned by digest. */
typedef struct {
  char *name;
  char *formats;
  gboolean per_run;
  char *path;   /* per-run: the file; relative paths are taken from the
                   pipeline file's directory on resolve. NULL: not given */
  char *sha256; /* per-run: pinned digest; NULL: not pinned */
} StrandPipelineInput;

/* Quality thresholds checked on every sample's input data before a run. */
typedef struct {
  gboolean has_min_reads;
  guint64 min_reads;
  gboolean has_min_mean_quality;
  double min_mean_quality;
  gboolean has_max_n_fraction;
  double max_n_fraction;
} StrandQcThresholds;

typedef struct {
  char *name;
  char *description;
  GPtrArray *inputs;  /* StrandPipelineInput */
  GPtrArray *stages;  /* StrandStage */
  GPtrArray *edges;   /* StrandEdge */
  GPtrArray *outputs; /* char*: "stage.port" products of the pipeline */
  GPtrArray *report;  /* char*: "stage.metric" figures shown per sample after a run */
  StrandQcThresholds qc;
  char *source;       /* file it came from, for problem locations; may be NULL */
} StrandPipeline;

StrandPipeline *strand_pipeline_new (const char *name);
void strand_pipeline_free (StrandPipeline *pipeline);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPipeline, strand_pipeline_free)

StrandStage *strand_pipeline_add_stage (StrandPipeline *pipeline, const char *id,
                                        const char *plugin, const char *version);
void strand_stage_set_param_string (StrandStage *stage, const char *name, const char *value);
void strand_stage_set_param_int (StrandStage *stage, const char *name, gint64 value);
void strand_stage_set_param_double (StrandStage *stage, const char *name, double value);
void strand_stage_set_param_bool (StrandStage *stage, const char *name, gboolean value);
/* Sets a parameter given as text (a command line's NAME=VALUE) with the type
 * `plugin` declares for it when the text reads as one; otherwise as a string,
 * which validation then reports. `plugin` may be NULL. */
void strand_stage_set_param_typed (StrandStage *stage, const StrandPluginInfo *plugin,
                                   const char *name, const char *text);
/* The text form plugins read ("42", "0.5", "true"); NULL when not set. */
char *strand_stage_param_text (const StrandStage *stage, const char *name);

StrandPipelineInput *strand_pipeline_add_input (StrandPipeline *pipeline, const char *name,
                                                const char *formats);
StrandPipelineInput *strand_pipeline_find_input (const StrandPipeline *pipeline, const char *name);
/* `from` is "stage.port" or "@input"; `to` is "stage.port". */
gboolean strand_pipeline_connect (StrandPipeline *pipeline, const char *from, const char *to);
void strand_pipeline_add_output (StrandPipeline *pipeline, const char *stage_port);
StrandStage *strand_pipeline_find_stage (const StrandPipeline *pipeline, const char *id);
/* Appends a policy rule to a stage; `error_class` NULL or "any" for every
 * class. FALSE for an unknown class or action. */
gboolean strand_stage_add_policy (StrandStage *stage, const char *error_class, const char *action,
                                  guint max_attempts, guint backoff_ms, double escalate_factor,
                                  const char *fallback_plugin);

/* Reads a pipeline file. Returns NULL only when the file is not a JSON
 * object at all; otherwise a model, with every problem appended. */
StrandPipeline *strand_pipeline_load (const char *path, GPtrArray *problems);
StrandPipeline *strand_pipeline_load_data (const char *data, gsize len, const char *name,
                                           GPtrArray *problems);

/* The model as JSON, in the file format; strand_canonical_json() of it is the
 * pipeline's canonical form. */
JsonNode *strand_pipeline_to_json (const StrandPipeline *pipeline);

/* Checks the pipeline against the registry: plugins, versions and pinned
 * digests, duplicate ids, ports, formats of every edge, ports fed twice,
 * unconnected required inputs, outputs that feed nothing (a warning),
 * parameters (type, range, choices, required, unknown), consistency of path
 * parameters of the same name across stages, and cycles (named). Linear in
 * the size of the pipeline. Sets stage->resolved where it can. */
void strand_pipeline_resolve (StrandPipeline *pipeline, StrandRegistry *registry,
                              GPtrArray *problems);

/* Stage indices in an order where every stage comes after its producers;
 * shorter than the stage count when there is a cycle. */
GArray *strand_pipeline_topological_order (const StrandPipeline *pipeline);

G_END_DECLS
