/* A small stand-in for the host, for testing and benchmarking stage
 * plugins on their own: it loads a plugin file, lends it a host function
 * table, and records what the stage does (outputs, failure, metrics).
 *
 * Parameters fall back to the descriptor's defaults; outputs land in
 * WORK/outputs/PORT[/@SAMPLE]/NAME as the host lays them out; the run's
 * samples and their metadata are set by the test. It runs the stage in the
 * calling process: a crash is the test's crash. The real host is tested
 * through the strand command in tests/integration. */
#pragma once

#include <glib.h>
#include <strand/strand-sdk.h>

G_BEGIN_DECLS

typedef struct StageHarness StageHarness;

typedef struct {
  char *port;
  char *sample; /* NULL: run-wide */
  char *name;
  char *path;
} HarnessOutput;

/* Loads `plugin_path`; the stage's files go under `work_dir`. */
StageHarness *stage_harness_new (const char *plugin_path, const char *work_dir);
void stage_harness_free (StageHarness *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StageHarness, stage_harness_free)

const StrandStageDescriptor *stage_harness_descriptor (StageHarness *h);
void stage_harness_set_param (StageHarness *h, const char *name, const char *value);
void stage_harness_add_input (StageHarness *h, const char *port, const char *path);
/* A sample of the run, with metadata as key, value, ..., NULL. */
void stage_harness_add_sample (StageHarness *h, const char *id, ...) G_GNUC_NULL_TERMINATED;
void stage_harness_set_cores (StageHarness *h, guint cores);

/* Calls the stage's validate (STRAND_OK when it has none) or run. Each
 * call starts with no outputs, metrics or failure recorded. */
int stage_harness_validate (StageHarness *h);
int stage_harness_run (StageHarness *h);

/* The first failure the stage reported, or NULL. */
const char *stage_harness_failure (StageHarness *h);
StrandErrorClass stage_harness_error_class (StageHarness *h);

/* HarnessOutput, in the order the stage asked for them. */
GPtrArray *stage_harness_outputs (StageHarness *h);
/* The path of the output with that port, sample (NULL: run-wide) and name
 * ending; NULL when there is none. */
const char *stage_harness_output (StageHarness *h, const char *port, const char *sample,
                                  const char *name_suffix);
/* A metric's value; NaN when the stage did not record it. */
double stage_harness_metric (StageHarness *h, const char *name);

G_END_DECLS
