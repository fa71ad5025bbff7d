/* The ledger: an append-only, hash-chained log of signed records
 * (records.h gives the format) and the host's signing key.
 *
 * Files under the store directory:
 *   keys/host.key     the Ed25519 secret key, hex, mode 0600 (refused if
 *                     group or others may access it)
 *   keys/host.pub     the public key, hex: what verifiers need
 *   ledger/log.jsonl  the records, one per line
 *   ledger/lock       flock()ed by the one writer
 *   ledger/tree.*     the Merkle tree of the records, kept by the writer
 *                     (merkle-tree.h)
 *
 * One process writes a ledger at a time (a lock file enforces it); within it,
 * the functions below may be called from several threads. Appends are
 * buffered and made durable by strand_ledger_sync(); nothing appended before
 * the last sync is ever lost. A crash can leave a torn last line: the next
 * open detects it, cuts the log back to the last complete record and says
 * so. Open reads only the end of the log: it cuts a partial last line and
 * complete lines at the end that are not records at all (what a crash can
 * leave), but refuses with CORRUPT, changing nothing, when the last record
 * fails its signature or does not follow the line before it (what a crash
 * cannot do). strand_ledger_verify() checks every record. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "records.h"

G_BEGIN_DECLS

#define STRAND_LEDGER_ERROR (strand_ledger_error_quark ())
GQuark strand_ledger_error_quark (void);

typedef enum {
  STRAND_LEDGER_ERROR_IO,
  STRAND_LEDGER_ERROR_NO_KEY,    /* no host key: run `strand init` */
  STRAND_LEDGER_ERROR_LOCKED,    /* another process writes this ledger */
  STRAND_LEDGER_ERROR_CORRUPT,   /* a record fails to parse, chain or verify */
  STRAND_LEDGER_ERROR_NO_SPACE,
  STRAND_LEDGER_ERROR_BAD_KEY,   /* a key file is unsafe (mode), damaged or mismatched */
  STRAND_LEDGER_ERROR_INVALID,   /* the statement handed to append is not a Statement */
} StrandLedgerErrorCode;

/* The host's Ed25519 key pair. */
typedef struct StrandKey StrandKey;

/* Creates keys/host.key (mode 0600) and keys/host.pub under `dir` unless
 * they exist; when the key exists it is checked and host.pub written if
 * missing. The secret key appears under its name only once complete. */
gboolean strand_key_create (const char *dir, GError **error);
StrandKey *strand_key_load (const char *dir, GError **error);
/* Only the public half, for verifying on another machine. */
StrandKey *strand_key_load_public (const char *pub_path, GError **error);
/* A public key from host.pub's bytes found elsewhere (an archive); `where`
 * names them in the error. */
StrandKey *strand_key_from_public_hex (const char *text, gsize len, const char *where,
                                       GError **error);
void strand_key_free (StrandKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandKey, strand_key_free)
const char *strand_key_id (const StrandKey *key);        /* sha256 hex of the public key */
const char *strand_key_public_hex (const StrandKey *key);
/* For signatures other than records' (checkpoints): the raw public key, a
 * key from one (public half only), and an Ed25519 signature over `data`
 * (FALSE when the key has no secret half). */
void strand_key_public (const StrandKey *key, guint8 pk[32]);
StrandKey *strand_key_from_public (const guint8 pk[32]);
gboolean strand_key_sign (const StrandKey *key, const void *data, gsize len, guint8 sig[64]);

typedef struct StrandLedger StrandLedger;

/* Opens the ledger in `dir` (ledger/log.jsonl below it), recovering a torn
 * tail; `recovered` (may be NULL) tells how many bytes were cut. `key` must
 * hold the secret half; the ledger keeps its own copy. Errors: LOCKED,
 * CORRUPT (the tail is damaged in a way a crash cannot explain), NO_KEY,
 * IO. */
StrandLedger *strand_ledger_open (const char *dir, StrandKey *key, guint64 *recovered,
                                  GError **error);
void strand_ledger_close (StrandLedger *ledger);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandLedger, strand_ledger_close)

/* Appends a statement: fills in the chain members (on a copy: `statement`
 * is not changed; a "ledger" member already there is replaced), signs,
 * buffers the line. Returns the new record's seq (>= 1), or 0 with `error`
 * set (INVALID: not an in-toto Statement; IO/NO_SPACE: a full buffer could
 * not be written, and this record is not appended). `hash` (may be NULL)
 * receives the record's hash. */
guint64 strand_ledger_append (StrandLedger *ledger, JsonNode *statement, char hash[65],
                              GError **error);
/* Writes what is buffered and fdatasync()s it. After a failed write the
 * file is cut back and the records stay buffered for the next sync; after a
 * failed fdatasync the ledger refuses further use: reopen it. */
gboolean strand_ledger_sync (StrandLedger *ledger, GError **error);
guint64 strand_ledger_last_seq (StrandLedger *ledger);
/* Valid until the next append. */
const char *strand_ledger_last_hash (StrandLedger *ledger);
const char *strand_ledger_path (StrandLedger *ledger);

/* Reading, for the index, proofs and verification: calls `func` for every
 * complete line in order from `from_offset` (0, or the offset of a record)
 * with the line (NUL-terminated, without its newline), its seq (read from
 * the line's end without checking the rest; 0 when there is none), its hash
 * and byte offset. A last line without its newline (torn, or being written)
 * is not passed. `func` returns FALSE to stop. Nothing is verified here. */
typedef gboolean (*StrandLedgerRecordFunc) (const char *line, gsize len, guint64 seq,
                                            const char *hash, guint64 offset, gpointer user_data);
gboolean strand_ledger_read (const char *log_path, guint64 from_offset,
                             StrandLedgerRecordFunc func, gpointer user_data, GError **error);

/* Decodes and checks one record line: that it has exactly the record form
 * (records.h: its canonical JSON, one signature), its envelope's signature
 * with `key` (the keyid must be the key's; NULL: the signature is not
 * checked), that the payload is an in-toto Statement v1 and that its signed
 * chain members equal the line's. Returns the statement; `seq` and `prev`
 * (may be NULL) receive the line's. Errors are CORRUPT, their messages
 * naming the record's seq and the check that failed. */
JsonNode *strand_record_open (const char *line, gsize len, const StrandKey *key, guint64 *seq,
                              char prev[65], GError **error);

/* Checks every record of the log at `log_path`, in order, continuing past
 * damage: the record form, signature (with `key`; NULL: signatures not
 * checked), statement, signed chain, seq order and prev chain, and a torn
 * tail. Appends one StrandProblem (problems.h) per fault found, its `where`
 * "seq N, byte OFFSET" and its code one of: not-a-record, wrong-key,
 * bad-signature, bad-statement, chain-mismatch (signed seq/prev differ from
 * the line's), broken-chain (prev is not the hash of the record before),
 * seq-gap, torn-tail, unreadable. A changed byte is reported at the record
 * it belongs to. TRUE when nothing was found; `records` (may be NULL)
 * receives the number of lines read. */
gboolean strand_ledger_verify (const char *log_path, const StrandKey *key, GPtrArray *problems,
                               guint64 *records);

G_END_DECLS
