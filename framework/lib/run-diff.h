/* What differs between two runs, for "why did this result change?".
 *
 * Stage runs are matched by sample and stage; of several attempts the last
 * counts (the one whose outputs were used). For each matched pair the diff
 * lists what differs: plugin version, the .so's digest, parameters, input
 * digests, output digests, tools and status; stages only one run has are
 * listed apart. A stage whose outputs changed while its plugin, parameters,
 * inputs and tools did not is marked `unexplained` (a nondeterministic stage,
 * or something the records do not capture).
 *
 * JSON form:
 *   {"first": RUN1, "second": RUN2, "identical_outputs": bool,
 *    "only_in_first": ["SAMPLE/STAGE"...], "only_in_second": [...],
 *    "stages": [{"sample": S|null, "stage": ST, "unexplained": bool,
 *                "changes": {"plugin_version"?: {"first", "second"},
 *                            "plugin_sha256"?: {...}, "status"?: {...},
 *                            "params"?: {NAME: {"first", "second"}},
 *                            "inputs"?: {NAME: {"first", "second"}},
 *                            "outputs"?: {NAME: {"first", "second"}},
 *                            "tools"?: {PATH: {"first", "second"}}}}]}
 * where a value absent from one run is null, and only stages with a change
 * are listed. */
#pragma once

#include "run-records.h"

G_BEGIN_DECLS

/* `identical_outputs` (may be NULL): TRUE when both runs have the same
 * stages and every output has the same digest. */
JsonNode *strand_run_diff (const StrandRunRecords *first, const StrandRunRecords *second,
                           gboolean *identical_outputs);

/* The diff as lines for people, one change a line. */
char *strand_run_diff_format (JsonNode *diff);

G_END_DECLS
