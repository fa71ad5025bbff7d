/* Pipelines: a DAG of stage instances joined by edges from output ports to
 * input ports, read from JSON (schemas/pipeline.schema.json) or built through
 * this API, and resolved against the plugin registry.
 *
 * Every problem found is reported at once, each with a stable code and a JSON
 * pointer into the pipeline file. */
#pragma once

#include <glib.h>

#include "registry.h"

G_BEGIN_DECLS

typedef struct {
  char *code;    /* stable, e.g. "unknown-plugin" */
  char *pointer; /* JSON pointer, e.g. "/stages/2/plugin" */
  char *message; /* one line a bench scientist understands */
  gboolean warning;
} StrandProblem;

void strand_problem_free (StrandProblem *problem);
GPtrArray *strand_problems_new (void);
void strand_problems_add (GPtrArray *problems, gboolean warning, const char *code,
                          const char *pointer, const char *format, ...) G_GNUC_PRINTF (5, 6);
/* Count of problems that are errors, not warnings. */
guint strand_problems_errors (GPtrArray *problems);

typedef struct {
  char *id;
  char *plugin;
  char *version;         /* constraint; NULL: any */
  char *sha256;          /* pinned plugin digest; NULL: not pinned */
  GHashTable *params;    /* char* -> char*: text form of each value */
  const StrandPluginInfo *resolved; /* set by strand_pipeline_resolve() */
} StrandStage;

/* "@name" is the sample's input `name`; otherwise "stage.port". */
typedef struct {
  char *from_stage; /* NULL for a sample input */
  char *from_port;
  char *to_stage;
  char *to_port;
} StrandEdge;

typedef struct {
  char *name;
  char *formats;
} StrandPipelineInput;

typedef struct {
  char *name;
  char *description;
  GPtrArray *inputs; /* StrandPipelineInput */
  GPtrArray *stages; /* StrandStage */
  GPtrArray *edges;  /* StrandEdge */
  char *source_path;
} StrandPipeline;

StrandPipeline *strand_pipeline_new (const char *name);
void strand_pipeline_free (StrandPipeline *pipeline);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPipeline, strand_pipeline_free)

StrandStage *strand_pipeline_add_stage (StrandPipeline *pipeline, const char *id,
                                        const char *plugin, const char *version);
void strand_stage_set_param (StrandStage *stage, const char *name, const char *value);
void strand_pipeline_add_input (StrandPipeline *pipeline, const char *name, const char *formats);
/* `from` is "stage.port" or "@input"; `to` is "stage.port". */
gboolean strand_pipeline_connect (StrandPipeline *pipeline, const char *from, const char *to);

/* Reads a pipeline file. Returns NULL only when the file is not a JSON object
 * at all; otherwise a model, with every problem appended to `problems`. */
StrandPipeline *strand_pipeline_load (const char *path, GPtrArray *problems);

/* Checks the pipeline against the registry: plugins and versions, ports,
 * formats of every edge, parameters, cycles, unconnected required inputs.
 * Appends problems; resolves stage->resolved where it can. */
void strand_pipeline_resolve (StrandPipeline *pipeline, StrandRegistry *registry,
                              GPtrArray *problems);

/* Stage indices in an order where every stage comes after its producers.
 * Only meaningful when resolve() found no cycle. */
GArray *strand_pipeline_topological_order (const StrandPipeline *pipeline);

G_END_DECLS
