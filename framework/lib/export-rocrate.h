/* A run as an RO-Crate 1.1 (https://w3id.org/ro/crate/1.1) that follows the
 * Workflow Run Crate profiles: Process Run Crate, Workflow Run Crate and
 * Provenance Run Crate 0.5 (https://w3id.org/ro/wfrun/...), so journals and
 * repositories that read run crates understand it without Strand.
 *
 * The crate, as the records give it:
 *   - the run: a CreateAction whose instrument is the pipeline (a
 *     ComputationalWorkflow and HowTo, the crate's mainEntity), whose object
 *     is what it read that no stage of it made, and whose result is what its
 *     stages made that no stage of it used;
 *   - each stage run: its own CreateAction, whose instrument is the plugin
 *     build that ran (a SoftwareApplication, by the .so's SHA-256), object
 *     its inputs and parameters (PropertyValue), result its outputs; with a
 *     ControlAction tying it to the pipeline's step (HowToStep) and an
 *     OrganizeAction for Strand itself;
 *   - every data item as a File with its sha256 (the term declared in the
 *     @context), md5 and contentSize. Items the store holds are placed under
 *     DIR/data/ by strand_provenance_materialize(), each placement a record
 *     of its own: nothing leaves the store unrecorded. Items the store does
 *     not hold (an input the run only hashed, an output since collected) are
 *     described by digest, under an id "#sha256-HEX", and are not part of
 *     the crate.
 *
 * The ledger does not keep the pipeline document itself, only what each
 * stage ran; the workflow entity is therefore a description rebuilt from
 * the records (stages, plugins, order), not a file of the crate. */
#pragma once

#include "provenance.h"
#include "run-records.h"

G_BEGIN_DECLS

#define STRAND_EXPORT_ERROR (strand_export_error_quark ())
GQuark strand_export_error_quark (void);

typedef enum {
  STRAND_EXPORT_ERROR_NOT_EMPTY, /* the crate directory exists and holds something */
  STRAND_EXPORT_ERROR_IO,
} StrandExportErrorCode;

/* Writes the crate of `run` into `dir` (created; it must not exist or be
 * empty): ro-crate-metadata.json and the data files, materialised from the
 * store of `prov`. On failure what was written stays for inspection, and
 * every file placed has its record. For `strand export --ro-crate` and
 * archives. */
gboolean strand_export_rocrate (StrandProvenance *prov, const StrandRunRecords *run, const char *dir,
                                GError **error);

/* The metadata alone, with each item in the store at the path
 * `strand_export_rocrate` gives it, for writers that place the files
 * themselves. `paths` receives sha256 -> crate-relative path of the items
 * the store holds (may be NULL). */
JsonNode *strand_export_rocrate_metadata (const StrandRunRecords *run, GHashTable *paths);

G_END_DECLS
