/* Proofs for outsiders (issue 5, part 1): JSON documents that show, to
 * someone who has only the log's public key, that records are in the
 * ledger (inclusion) or that the ledger only grew between two checkpoints
 * (consistency). schemas/proof.schema.json describes both; hashes are
 * lower-case hex, proofs are RFC 6962 PATH and PROOF lists (merkle.h).
 *
 * Inclusion, for the records that made or used a data item:
 *
 *   {"format": "urn:strand:proof:inclusion:v1",
 *    "checkpoint": {"origin", "size", "root", "note"},  the signed note
 *                   (checkpoint.h) and, for readers, what it says
 *    "target": what was asked for, "subjects": [sha256...] the data items,
 *    "inclusion": [{"seq", "leaf_index" (seq - 1), "relations":
 *                   ["generated" | "used"...], "record": the log line,
 *                   "leaf_hash": SHA-256(0x00 || record), "audit_path"}]}
 *
 * Consistency, between two checkpoints of the same log:
 *
 *   {"format": "urn:strand:proof:consistency:v1",
 *    "old": {"origin", "size", "root", "note"}, "new": {...},
 *    "proof": [hash...]}
 *
 * Verifying needs no store: the note's signature with the key, each record's
 * own DSSE signature with the same key, that it names a subject's digest,
 * its leaf hash, and its audit path to the checkpoint's root. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "checkpoint.h"
#include "merkle-tree.h"

G_BEGIN_DECLS

#define STRAND_PROOF_INCLUSION "urn:strand:proof:inclusion:v1"
#define STRAND_PROOF_CONSISTENCY "urn:strand:proof:consistency:v1"

#define STRAND_PROOF_ERROR (strand_proof_error_quark ())
GQuark strand_proof_error_quark (void);

typedef enum {
  STRAND_PROOF_ERROR_TARGET,      /* not a data item of the ledger, or no record made or used it */
  STRAND_PROOF_ERROR_NOT_COVERED, /* a record or size beyond the checkpoint or the tree */
  STRAND_PROOF_ERROR_NOT_RECORD,  /* the log's line at a leaf is not the record expected */
} StrandProofErrorCode;

typedef struct {
  guint64 seq;
  gboolean generated; /* the record made a subject */
  gboolean used;      /* the record used one */
} StrandProofRecord;

/* The inclusion proof of `records` (leaf seq - 1 each) in the tree of
 * `cp`'s size. Their lines come from the log, checked against the tree.
 * `cp` must be a checkpoint of `tree` (strand_checkpoint_check_tree).
 * Errors: NOT_COVERED, NOT_RECORD, the tree's. */
JsonNode *strand_proof_inclusion (StrandTree *tree, const StrandCheckpoint *cp,
                                  const char *target, const char *const *subjects,
                                  const StrandProofRecord *records, guint n_records,
                                  GError **error);

/* The consistency proof between two checkpoints of `tree`. Errors:
 * NOT_COVERED (old larger than new, or empty), the tree's. */
JsonNode *strand_proof_consistency (StrandTree *tree, const StrandCheckpoint *old_cp,
                                    const StrandCheckpoint *new_cp, GError **error);

/* What a verified proof showed. */
typedef struct {
  gboolean consistency; /* else inclusion */
  char origin[256];
  guint64 size;     /* the checkpoint's; consistency: the new one's */
  guint64 old_size; /* consistency */
  guint records;    /* inclusion: records proven */
} StrandProofSummary;

/* Checks a proof document with the log's verifier key alone; with
 * `trusted` (may be NULL), also that it is against that checkpoint (an
 * inclusion proof's, or either of a consistency proof's). Appends one
 * problem per fault, `where` a JSON pointer into the document, codes:
 * malformed, bad-checkpoint, wrong-log, unsigned, bad-signature,
 * checkpoint-mismatch, untrusted-checkpoint, not-covered, bad-record,
 * record-signature, leaf-mismatch, not-about-subject, bad-path, no-records.
 * TRUE when there are none. `summary` may be NULL. */
gboolean strand_proof_verify (JsonNode *doc, const StrandNoteKey *key,
                              const StrandCheckpoint *trusted, GPtrArray *problems,
                              StrandProofSummary *summary);

/* ---- For a store ---- */

/* The inclusion proof of every record that made or used TARGET (a digest,
 * a unique digest prefix, or a path it was ingested from or materialised
 * to), found through the lineage index. The checkpoint: the one at
 * `checkpoint_path` (verified, and checked against the tree); else, unless
 * `fresh`, the latest kept one when it covers every record; else a new one
 * of the whole tree, kept. Errors: TARGET, NOT_COVERED, NOT_RECORD, the
 * index's, the checkpoints', the tree's. */
JsonNode *strand_proof_for_target (const char *store_dir, const char *target,
                                   const char *checkpoint_path, gboolean fresh, GError **error);

/* The consistency proof between OLD and NEW, each a checkpoint file
 * (verified, checked against the tree) or a tree size (its kept
 * checkpoint, or one signed now and kept). */
JsonNode *strand_proof_consistency_for_store (const char *store_dir, const char *old_spec,
                                              const char *new_spec, GError **error);

/* Reads a proof document a user handed over (at most 256 MiB of JSON).
 * On failure appends one problem ("unreadable", "invalid-json", ...). */
JsonNode *strand_proof_load (const char *path, GPtrArray *problems);

G_END_DECLS
