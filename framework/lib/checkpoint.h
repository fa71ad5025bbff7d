/* Signed checkpoints of the ledger's Merkle tree (issue 5, part 1): what a
 * second party witnesses, and what proofs are checked against. They follow
 * the C2SP specifications that transparency-log tools read:
 *
 * c2sp.org/tlog-checkpoint: the note text is the origin (the log's name),
 * the tree size in decimal and the root hash in base64, one per line;
 * c2sp.org/signed-note: the text, a blank line, then one line per
 * signature, "— NAME BASE64(KEY_ID || SIGNATURE)", an em dash (U+2014)
 * and a space first, the Ed25519 signature over the text (its final newline
 * included), KEY_ID the first four bytes of SHA-256(NAME || 0x0A || 0x01 ||
 * public key):
 *
 *   strand/ledger/9f2c...e1
 *   4213
 *   E3jZ0Dbn1F8V7w6yW6h+uZ3kL0oQJk1fG0q5c0m6m5A=
 *
 *   — strand/ledger/9f2c...e1 pZ7xq2C0...
 *
 * The origin, which is also the key's name, is "strand/ledger/" and the
 * host key's id (SHA-256 hex of its public key; the host itself is
 * "strand:host:<keyid>"): one store, one key, one log. Verifiers are given
 * the key in the note's verifier-key form, NAME+KEY_ID_HEX+BASE64(0x01 ||
 * public key), which the store publishes as keys/host.vkey next to
 * keys/host.pub; either file verifies.
 *
 * A witness adds its own signature lines; checking with one key ignores
 * the lines of others, as the note specification says.
 *
 * The checkpoints the host signs are kept as STORE/checkpoints/SIZE
 * .checkpoint (one per tree size: the log only grows, so a size has one
 * root); before signing, the host checks that its tree still has the root
 * of the latest one it kept, and refuses to sign a tree that disagrees. */
#pragma once

#include <glib.h>

#include "ledger.h"
#include "merkle-tree.h"

G_BEGIN_DECLS

#define STRAND_CHECKPOINT_ERROR (strand_checkpoint_error_quark ())
GQuark strand_checkpoint_error_quark (void);

typedef enum {
  STRAND_CHECKPOINT_ERROR_MALFORMED,     /* not a signed checkpoint (the message says where) */
  STRAND_CHECKPOINT_ERROR_BAD_KEY,       /* not a verifier key */
  STRAND_CHECKPOINT_ERROR_WRONG_LOG,     /* its origin is another log's than the key's */
  STRAND_CHECKPOINT_ERROR_UNSIGNED,      /* no signature by the key */
  STRAND_CHECKPOINT_ERROR_BAD_SIGNATURE, /* a signature by the key does not verify */
  STRAND_CHECKPOINT_ERROR_INCONSISTENT,  /* the log's tree has another root at its size */
  STRAND_CHECKPOINT_ERROR_IO,
} StrandCheckpointErrorCode;

/* ---- Verifier keys ---- */

/* A key that checks note signatures: a name, its 4-byte id and an Ed25519
 * public key. */
typedef struct StrandNoteKey StrandNoteKey;

/* The name of the host key's log: "strand/ledger/<keyid>". */
char *strand_checkpoint_origin (const StrandKey *key);
StrandNoteKey *strand_note_key_from_host (const StrandKey *key);
/* Parses NAME+HEX8+BASE64; BAD_KEY when malformed or its id does not
 * match its name and key. */
StrandNoteKey *strand_note_key_parse (const char *vkey, GError **error);
/* Reads a file holding a verifier key, or a host.pub (64 hex digits, the
 * name then derived from the key). Errors: BAD_KEY, IO. */
StrandNoteKey *strand_note_key_load (const char *path, GError **error);
void strand_note_key_free (StrandNoteKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandNoteKey, strand_note_key_free)
char *strand_note_key_to_string (const StrandNoteKey *key);
const char *strand_note_key_name (const StrandNoteKey *key);
/* The public half, to check records' signatures with. */
StrandKey *strand_note_key_host_key (const StrandNoteKey *key);

/* ---- Checkpoints ---- */

typedef struct StrandCheckpoint StrandCheckpoint;

/* The checkpoint of the tree of `size` leaves with root `root`, signed by
 * `key` (which must hold its secret half). */
StrandCheckpoint *strand_checkpoint_sign (const StrandKey *key, guint64 size,
                                          const guint8 root[STRAND_MERKLE_HASH_LEN]);
/* Parses a signed checkpoint a user handed over (at most 1 MiB). Checks
 * the form only: verify the signature with strand_checkpoint_verify().
 * MALFORMED errors read "WHERE:LINE: what is wrong". */
StrandCheckpoint *strand_checkpoint_parse (const char *text, gsize len, const char *where,
                                           GError **error);
StrandCheckpoint *strand_checkpoint_load (const char *path, GError **error);
void strand_checkpoint_free (StrandCheckpoint *cp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandCheckpoint, strand_checkpoint_free)

/* TRUE when the checkpoint is of `key`'s log and a signature by `key`
 * verifies (lines of other keys are ignored; a failing line of `key`
 * rejects it). Errors: WRONG_LOG, UNSIGNED, BAD_SIGNATURE. */
gboolean strand_checkpoint_verify (const StrandCheckpoint *cp, const StrandNoteKey *key,
                                   GError **error);

const char *strand_checkpoint_get_origin (const StrandCheckpoint *cp);
guint64 strand_checkpoint_size (const StrandCheckpoint *cp);
const guint8 *strand_checkpoint_root (const StrandCheckpoint *cp);
/* The whole signed note, as it was parsed or signed. */
const char *strand_checkpoint_text (const StrandCheckpoint *cp);
/* How many signature lines it carries (of any key). */
guint strand_checkpoint_n_signatures (const StrandCheckpoint *cp);

/* ---- A store's checkpoints ---- */

/* The store's tree, up to date with its log: the ledger is opened (its
 * torn tail recovered, the tree caught up) and closed, then the tree is
 * opened read-only. While another process writes the ledger, that writer
 * keeps the tree, and it is read as it stands. */
StrandTree *strand_checkpoint_open_tree (const char *store_dir, GError **error);

/* The verifier key of the store's log, from keys/host.pub. */
StrandNoteKey *strand_checkpoint_store_key (const char *store_dir, GError **error);

/* The kept checkpoint of the largest size, or of `size`; NULL without an
 * error when there is none. Each is verified with the store's key. */
StrandCheckpoint *strand_checkpoint_latest (const char *store_dir, GError **error);
StrandCheckpoint *strand_checkpoint_find (const char *store_dir, guint64 size, GError **error);

/* Signs the tree's root at `size` (<= its size) with the host key and
 * keeps it, or returns the one kept for that size. Refuses (INCONSISTENT)
 * when the tree disagrees with the latest kept checkpoint. Publishes
 * keys/host.vkey when missing. */
StrandCheckpoint *strand_checkpoint_make (const char *store_dir, StrandTree *tree, guint64 size,
                                          GError **error);

/* TRUE when `cp` is a checkpoint of `tree`: its size within the tree and
 * its root the tree's at that size. Errors: INCONSISTENT, IO. */
gboolean strand_checkpoint_check_tree (const StrandCheckpoint *cp, StrandTree *tree,
                                       GError **error);

G_END_DECLS
