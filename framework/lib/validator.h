/* Everything that can be found wrong before a run starts, found at once.
 *
 * The pipeline against the installed plugins (pipeline.h), the sample sheet
 * against the pipeline, the pipeline's resource needs against the equipment,
 * and each sample's input files (datacheck.h): existence, declared digests,
 * format, corruption and the pipeline's quality thresholds. `strand validate`
 * prints the result; `strand run` refuses to start on any error. */
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
} StrandValidateOptions;

/* Appends every problem; `samples` and `inventory` may be NULL. Problems from
 * the pipeline get the pipeline's file name in front of their JSON pointer
 * ("p.json#/stages/0/plugin"). Returns TRUE when there is no error. */
gboolean strand_validate (StrandPipeline *pipeline, StrandRegistry *registry, GPtrArray *samples,
                          StrandInventory *inventory, const StrandValidateOptions *options,
                          GPtrArray *problems);

G_END_DECLS
