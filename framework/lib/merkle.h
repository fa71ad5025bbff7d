/* A Merkle tree over the ledger's records (issue 5, part 1), as RFC 6962
 * section 2.1 defines it:
 *
 *   leaf hash  = SHA-256(0x00 || the record line, without its newline)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two
 *                smaller than n
 *
 * Leaf i is the record with seq i + 1. Inclusion proofs are RFC 6962 2.1.1
 * PATH, consistency proofs RFC 6962 2.1.2 PROOF; both are verified with the
 * algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2.
 *
 * Everything here works over an in-memory array of leaf hashes (32 bytes
 * each, n * 32 bytes in all): a root or a proof costs O(n) hashes. It is the
 * reference the on-disk tree the ledger keeps (merkle-tree.h: O(log n) reads
 * a proof, O(log n) hashes an append) is tested against, and what a
 * verifier needs: the verify functions take proofs from either. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define STRAND_MERKLE_HASH_LEN 32

/* SHA-256(0x00 || data). */
void strand_merkle_leaf_hash (const void *data, gsize len, guint8 out[STRAND_MERKLE_HASH_LEN]);
/* SHA-256(0x01 || left || right). */
void strand_merkle_node_hash (const guint8 left[STRAND_MERKLE_HASH_LEN],
                              const guint8 right[STRAND_MERKLE_HASH_LEN],
                              guint8 out[STRAND_MERKLE_HASH_LEN]);

/* MTH of the first `n` leaf hashes (`leaf_hashes` holds n * 32 bytes; may be
 * NULL when n is 0). FALSE only when n > 0 and `leaf_hashes` is NULL. */
gboolean strand_merkle_root (const guint8 *leaf_hashes, guint64 n,
                             guint8 root[STRAND_MERKLE_HASH_LEN]);

/* Reads the log at `log_path` with strand_ledger_read() and returns the leaf
 * hash of every complete line, in order, as a GArray of 32-byte elements
 * (element i is the leaf of seq i + 1; the array's data is what
 * strand_merkle_root() and the proofs take). Nothing is verified here: run
 * strand_ledger_verify() for that. Errors are the ledger's (IO). */
gboolean strand_merkle_build (const char *log_path, GArray **leaf_hashes_out, GError **error);

/* Proofs are GArrays of 32-byte elements (g_array_index (proof, guint8[32],
 * i) or proof->data + 32 * i), in the order the RFC gives them: the
 * sibling nearest the leaf first. */

/* PATH(m, D[n]) for leaf `m` of the tree of the first `n` leaves. NULL when
 * m >= n or `leaf_hashes` is NULL. */
GArray *strand_merkle_inclusion_proof (const guint8 *leaf_hashes, guint64 n, guint64 m);
/* TRUE when `proof` shows that `leaf_hash` is leaf `m` of the tree of size
 * `n` whose root is `root`. */
gboolean strand_merkle_verify_inclusion (const guint8 leaf_hash[STRAND_MERKLE_HASH_LEN],
                                         guint64 m, guint64 n, const GArray *proof,
                                         const guint8 root[STRAND_MERKLE_HASH_LEN]);

/* PROOF(m, D[n]): that the tree of the first `m` leaves is a prefix of the
 * tree of the first `n`. Empty when m == n. NULL unless 1 <= m <= n (and
 * `leaf_hashes` non-NULL). */
GArray *strand_merkle_consistency_proof (const guint8 *leaf_hashes, guint64 n, guint64 m);
/* TRUE when `proof` shows the tree of size `m` with root `old_root` is a
 * prefix of the tree of size `n` with root `new_root`. When m == n the
 * proof must be empty and the roots equal. FALSE for m == 0 or m > n. */
gboolean strand_merkle_verify_consistency (guint64 m, guint64 n, const GArray *proof,
                                           const guint8 old_root[STRAND_MERKLE_HASH_LEN],
                                           const guint8 new_root[STRAND_MERKLE_HASH_LEN]);

G_END_DECLS
