/* The ledger's Merkle tree kept on disk beside the log (issue 5, part 1),
 * so that a root or a proof costs O(log n) reads and an append O(log n)
 * hashes, where merkle.h's in-memory functions cost a pass over every
 * leaf. Roots and proofs are the same as merkle.h's, byte for byte.
 *
 * Two files, next to the log (ledger/log.jsonl):
 *
 *   tree.hashes   a 32-byte header, then the hash of every perfect subtree,
 *                 32 bytes each, in the order appends complete them: leaf j,
 *                 then the nodes that leaf j completes, lowest first. A tree
 *                 of n leaves holds 2n - popcount(n) hashes, and the file
 *                 of a smaller tree is a prefix of the file of a larger one.
 *   tree.offsets  a 32-byte header, then where each leaf's line starts in the
 *                 log, 8 bytes little-endian: where catching up resumes, and
 *                 where a proof finds a record.
 *
 * Both only grow, so any prefix of them is a valid smaller tree: a reader
 * needs no lock, and a crash can only leave them short.
 *
 * The log is the truth. Only the ledger's writer writes the tree (it holds
 * the ledger's lock): strand_tree_open() brings the files in line with the
 * log when the ledger opens (after its torn tail is cut): leaves whose lines
 * the log no longer has are cut, lines the tree lacks are added, and files
 * that are missing, damaged or do not match the log are rebuilt from it.
 * Then every append adds one leaf, and the leaves reach the files only once
 * the log's lines are durable (strand_tree_flush() after the log's
 * fdatasync), so a tree never commits to a record a crash could take back.
 *
 * Leaf i is the log's line i (counting from 0), which is record seq i + 1
 * in an intact log. */
#pragma once

#include <glib.h>

#include "merkle.h"

G_BEGIN_DECLS

#define STRAND_TREE_ERROR (strand_tree_error_quark ())
GQuark strand_tree_error_quark (void);

typedef enum {
  STRAND_TREE_ERROR_IO,
  STRAND_TREE_ERROR_STALE,    /* read-only: no tree, or it does not match the log; the next
                               * open of the ledger rebuilds it */
  STRAND_TREE_ERROR_RANGE,    /* a leaf or size the tree does not have */
  STRAND_TREE_ERROR_MISMATCH, /* the log's line differs from the tree's leaf (the log was
                               * changed: `strand verify` says where) */
} StrandTreeErrorCode;

typedef struct StrandTree StrandTree;

/* Opens the tree of the log at `log_path` (files beside it) for writing,
 * creating, cutting back, catching up or rebuilding it as the top of this
 * file says. The log is fdatasync()ed first, so the tree holds only durable
 * lines. A missing log is an empty one. Errors: IO. */
StrandTree *strand_tree_open (const char *log_path, GError **error);

/* Opens the tree of the log at `log_path` for reading, as it is: its size
 * is what the files hold now (a live writer may add more later). Checks
 * that the last leaf is the log's line at its offset. Errors: STALE (no
 * tree, or it does not match the log), IO. Nothing is written. */
StrandTree *strand_tree_open_readonly (const char *log_path, GError **error);

/* A tree of leaf hashes without a log, in PREFIX.hashes and PREFIX.offsets
 * (created when missing; partial tails are cut): for tests and benchmarks.
 * Appended leaves carry whatever offsets the caller gives. */
StrandTree *strand_tree_open_detached (const char *prefix, GError **error);

/* Closes; leaves appended since the last flush are dropped (the next open
 * takes them from the log again). */
void strand_tree_close (StrandTree *tree);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandTree, strand_tree_close)

/* Removes the tree's files beside the log at `log_path`. */
void strand_tree_remove_files (const char *log_path);

/* The number of leaves, flushed or not. */
guint64 strand_tree_size (StrandTree *tree);

/* What strand_tree_open() did to bring the files in line with the log. */
typedef struct {
  guint64 added;              /* leaves taken from the log */
  guint64 cut;                /* leaves cut: their lines are no longer in the log */
  const char *rebuild_reason; /* why it rebuilt from the whole log; NULL when it did not */
} StrandTreeInfo;
void strand_tree_info (StrandTree *tree, StrandTreeInfo *info);

/* ---- Writing (a tree from strand_tree_open or _detached) ---- */

/* Adds leaf `leaf` whose line starts at byte `offset` of the log, with the
 * nodes it completes (O(log n) hashes, amortised 2). Buffered in memory. */
void strand_tree_append (StrandTree *tree, const guint8 leaf[STRAND_MERKLE_HASH_LEN],
                         guint64 offset);
/* Writes what was appended since the last flush. On failure the files are
 * cut back to what they held and the leaves stay buffered. Errors: IO. */
gboolean strand_tree_flush (StrandTree *tree, GError **error);

/* ---- Reading: O(log n) reads each, for any size up to strand_tree_size ---- */

/* MTH of the first `size` leaves. Errors: RANGE, IO. */
gboolean strand_tree_root (StrandTree *tree, guint64 size, guint8 root[STRAND_MERKLE_HASH_LEN],
                           GError **error);
gboolean strand_tree_leaf (StrandTree *tree, guint64 index,
                           guint8 leaf[STRAND_MERKLE_HASH_LEN], GError **error);
/* PATH(index, D[size]) and PROOF(old_size, D[size]) as merkle.h gives them
 * (GArrays of 32-byte elements). Errors: RANGE (index >= size, old_size 0
 * or > size, size > the tree's), IO. */
GArray *strand_tree_inclusion_proof (StrandTree *tree, guint64 index, guint64 size,
                                     GError **error);
GArray *strand_tree_consistency_proof (StrandTree *tree, guint64 old_size, guint64 size,
                                       GError **error);

/* The log line of leaf `index` (NUL-terminated, without its newline),
 * checked against the leaf: MISMATCH when it hashes to something else.
 * Only for trees opened over a log. Errors: RANGE, MISMATCH, IO. */
char *strand_tree_line (StrandTree *tree, guint64 index, gsize *len, GError **error);

G_END_DECLS
