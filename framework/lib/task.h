/* One task: a stage run on one sample, as the host hands it to a worker,
 * and what came back. Both travel as JSON (strand_task_spec_to_json and
 * back), so an executor can hand a task to a worker on another machine; the
 * host stays the only writer of the store's records. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <strand/abi.h>

#include "plugin-info.h"

G_BEGIN_DECLS

typedef struct {
  char *port;
  char *path;
  char *format; /* as declared by whoever produced or supplied it */
  char *name;   /* the file's own name, as its producer gave it; NULL: path's */
  char *sha256; /* its digest, when known; recorded as the task's input */
  char *sample_id; /* the sample it belongs to, for a per-run task; or NULL */
  char *source;    /* the user's file `path` is the store's copy of; or NULL */
  gboolean verify; /* the worker re-hashes it against sha256 before run() */
} StrandTaskInput;

/* A sample of the run, as a per-run task sees it. */
typedef struct {
  char *id;
  GHashTable *meta; /* char* -> char*, may be NULL */
} StrandTaskSample;

typedef struct {
  const StrandPluginInfo *plugin; /* borrowed from the registry */
  char *task_id;                  /* "<sample>/<stage>" */
  char *sample_id;                /* NULL for a run-wide task */
  GHashTable *sample_meta;        /* char* -> char*, may be NULL */
  GPtrArray *run_samples;         /* StrandTaskSample: the run's samples, for a
                                     run-wide task; for a per-sample task only
                                     its own */
  GHashTable *params;             /* char* -> char*: text values, defaults applied */
  GPtrArray *inputs;              /* StrandTaskInput */
  char *work_dir;                 /* private to the task: outputs, scratch, log */
  guint cores;
  guint64 memory_bytes;
  int attempt;
  gint64 timeout_us;              /* 0: none */
  char *stage_id;                 /* the pipeline's stage */
  char *equipment;                /* where it runs, when assigned; may be NULL */
  guint64 scratch_bytes;          /* scratch space it needs free; 0: not stated */
  /* A fault the worker carries out instead of running (faults.h), tests only. */
  int fault;                      /* StrandFaultKind; 0: none */
  StrandErrorClass fault_class;
  int fault_signal;
  StrandPluginInfo *owned_plugin; /* `plugin` when the spec came from JSON */
} StrandTaskSpec;

typedef struct {
  char *port;
  char *path;   /* where the stage wrote it; the store object once stored */
  char *name;   /* the file name the stage gave it */
  char *sha256; /* set once stored */
  char *md5;    /* metadata for submission portals, set once stored */
  guint64 size;
  char *sample_id; /* set when a run-wide task made it for one sample */
  gboolean tree;   /* a directory, stored as a tree (store.h) */
} StrandTaskOutput;

typedef struct {
  char *path;
  char *version;
  char *sha256;
} StrandToolUse;

typedef struct {
  gboolean ok;
  StrandErrorClass error_class; /* STRAND_ERROR_NONE when ok */
  char *message;                /* why it failed */
  int exit_status;              /* worker exit status, or -1 */
  int term_signal;              /* signal that ended the worker, or 0 */
  GPtrArray *outputs;           /* StrandTaskOutput */
  GPtrArray *tools;             /* StrandToolUse */
  GHashTable *metrics;          /* char* -> double* */
  char *log_path;
  gint64 start_us;
  gint64 end_us;
  guint64 max_rss_bytes;        /* peak resident memory of the worker */
  gint64 cpu_us;                /* user + system CPU time of the worker and the
                                   tools it waited for; 0: not measured */
  JsonNode *placement;          /* object: where it ran, when the executor says
                                   (a Slurm job, its node); NULL: here */
} StrandTaskResult;

void strand_task_input_free (StrandTaskInput *input);

StrandTaskSpec *strand_task_spec_new (const StrandPluginInfo *plugin, const char *task_id);
void strand_task_spec_free (StrandTaskSpec *spec);
StrandTaskInput *strand_task_spec_add_input (StrandTaskSpec *spec, const char *port, const char *path,
                                 const char *format);
/* Adds a sample of the run; `meta` is referenced, may be NULL. */
void strand_task_spec_add_run_sample (StrandTaskSpec *spec, const char *id, GHashTable *meta);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandTaskSpec, strand_task_spec_free)

StrandTaskResult *strand_task_result_new (void);
void strand_task_result_free (StrandTaskResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandTaskResult, strand_task_result_free)

/* The spec as JSON, the plugin's description included, and back: the spec
 * read back owns its plugin description. Errors name the member. */
JsonNode *strand_task_spec_to_json (const StrandTaskSpec *spec);
StrandTaskSpec *strand_task_spec_from_json (JsonNode *node, GError **error);
JsonNode *strand_task_result_to_json (const StrandTaskResult *result);
StrandTaskResult *strand_task_result_from_json (JsonNode *node, GError **error);

G_END_DECLS
