/* Helpers the tests that drive runs share: a folder per case, pipelines
 * validated against a registry, stores, runs with test options, the records
 * a run leaves, and the strand command. Each takes the registry or the
 * folder it works in, so a test keeps its own and nothing hides in here.
 * A helper that cannot do its job fails the test there and then. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "registry.h"
#include "runner.h"
#include "validator.h"

G_BEGIN_DECLS

/* ---- folders and text ---- */

/* A new folder `name`-N under `parent` (N counts up in the process), for
 * one case's files or store. */
char *strand_test_fresh_dir (const char *parent, const char *name);

/* `text` with every `token` replaced by `value`. */
char *strand_test_subst (const char *text, const char *token, const char *value);

/* The JSON object `text` holds; it must be one. */
JsonObject *strand_test_parse_object (const char *text);

/* ---- the library's side ---- */

/* A registry of the plugins in the given folders (NULL-terminated),
 * scanned. What it found wrong is left to the caller to look at. */
StrandRegistry *strand_test_registry (const char *dir, ...) G_GNUC_NULL_TERMINATED;

/* The pipeline `json` (named test.json), validated against `registry` for
 * `samples` (NULL: one sample, S1), the data files left alone; any error
 * fails the test, warnings are let through. */
StrandPipeline *strand_test_pipeline (StrandRegistry *registry, const char *json, GPtrArray *samples);

/* Samples S1 .. Sn. */
GPtrArray *strand_test_samples (guint n);

/* The provenance store at `dir`, made if it is not there yet. */
StrandProvenance *strand_test_store (const char *dir);

/* Runs `pipeline` on `samples` into the store at `store` (made if needed,
 * its runs under store/runs) with `registry`, the fault spec `faults` (may
 * be NULL) and `options` (may be NULL). Unless the options say otherwise, a
 * stage asked to stop is killed 200 ms later, so a hung one costs little. */
StrandRun *strand_test_run (StrandRegistry *registry, StrandPipeline *pipeline, GPtrArray *samples,
                            const char *store, const char *faults, const StrandRunOptions *options);

/* The task of `stage` for `sample` (NULL: the per-run task); there must be
 * one. */
StrandTaskRecord *strand_test_task (StrandRun *run, const char *sample, const char *stage);

/* TRUE when one of the task's decisions starts with `prefix`. */
gboolean strand_test_has_decision (StrandTaskRecord *task, const char *prefix);

/* "stage:sha256,... " of the ok or reused tasks of `sample` (NULL: the
 * per-run tasks), in plan order. */
char *strand_test_digests (StrandRun *run, const char *sample);

/* ---- the command's side ---- */

/* Runs the strand command with the arguments that follow (NULL-terminated),
 * with STRAND_FAULTS set to `faults`, or unset when it is NULL. Returns its
 * exit status (128 + the signal that ended it); `out` and `err` (may be
 * NULL) receive what it printed. */
int strand_test_cli (const char *faults, char **out, char **err, ...) G_GNUC_NULL_TERMINATED;

/* "sample/stage:sha256,... " of every task in the report `strand run
 * --json` printed (sample "_run" for a per-run task), in its order. The
 * digests of directory outputs are added to `trees` (may be NULL). */
char *strand_test_cli_digests (const char *json_text, GHashTable *trees);

G_END_DECLS
