/* The stages' own checks before a run: each plugin's optional validate
 * callback (sdk: StrandValidateFunc), called once per task a run would
 * start, with the task's parameters (defaults applied) and what the sample
 * sheet and the pipeline supply as inputs; what upstream stages would make
 * does not exist yet and is left out.
 *
 * Plugins are untrusted code, so the callbacks run in workers (worker.h),
 * never in the host: one worker per plugin, several plugins at once, each
 * callback within a time limit. Every problem a callback reports through
 * host->fail() becomes one problem (problems.h) at the stage's place in the
 * pipeline, naming the sample for a per-sample stage; the same message from
 * several samples of a stage is one problem naming them. A callback that
 * crashes or ends its worker is a problem naming the stage and plugin, and
 * the worker is started again for the tasks after it (up to a few times);
 * one that does not return in time is killed, and its plugin's remaining
 * checks are not run. A plugin without a validate callback costs nothing. */
#pragma once

#include "pipeline.h"
#include "samples.h"

G_BEGIN_DECLS

/* A callback's time limit when the caller gives none. */
#define STRAND_PLUGIN_VALIDATE_TIMEOUT_US ((gint64) 10 * G_USEC_PER_SEC)

/* Calls the validate callbacks of a run of `pipeline`, which must have
 * resolved without errors, over `samples`, and appends what they found.
 * `timeout_us` bounds each callback (0: the default above). Returns the
 * number of errors appended. */
guint strand_plugin_validate (StrandPipeline *pipeline, GPtrArray *samples, gint64 timeout_us,
                              GPtrArray *problems);

G_END_DECLS
