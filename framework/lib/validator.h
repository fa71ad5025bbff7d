/* Everything that can be found wrong before a run starts, found at once.
 *
 * The pipeline against the installed plugins (pipeline.h), the sample sheet
 * against the pipeline, the pipeline's resource needs against the equipment,
 * and each sample's input files (datacheck.h): existence, declared digests,
 * format, corruption and the pipeline's quality thresholds. Last, given
 * samples and a pipeline that resolved, the stages' own validate callbacks
 * for every task of the run, in isolated workers (plugin-validate.h).
 * `strand validate` prints the result; `strand run` refuses to start on any
 * error. */
#pragma once

#include "equipment.h"
#include "pipeline.h"
#include "samples.h"

G_BEGIN_DECLS

typedef struct {
  gboolean skip_data;     /* do not open input files */
  gboolean deep;          /* read whole input files */
  const char *reference;  /* FASTA for CRAM inputs */
  gint64 now_us;          /* "now" for maintenance look-ahead; 0: the clock's */
  gint64 horizon_us;      /* how far ahead to look for a long-enough window; 0: 7 days */
  gboolean skip_stage_checks; /* do not call the plugins' validate callbacks */
  gint64 stage_timeout_us;    /* time limit of one validate callback; 0: the default */
} StrandValidateOptions;

/* Appends every problem; `samples` and `inventory` may be NULL. Problems from
 * the pipeline get the pipeline's file name in front of their JSON pointer
 * ("p.json#/stages/0/plugin"). Returns TRUE when there is no error. */
gboolean strand_validate (StrandPipeline *pipeline, StrandRegistry *registry, GPtrArray *samples,
                          StrandInventory *inventory, const StrandValidateOptions *options,
                          GPtrArray *problems);

G_END_DECLS
