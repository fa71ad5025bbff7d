/* Private to the ledger's sources: the key's insides and the record line.
 *
 * ledger-key.c     the host key (files, modes, libsodium)
 * ledger-record.c  one record line: building, splitting, checking
 * ledger.c         the log file: open and recovery, appends, reading, verify */
#pragma once

#include <sodium.h>

#include "ledger.h"

G_BEGIN_DECLS

struct StrandKey {
  guint8 pk[crypto_sign_PUBLICKEYBYTES];
  guint8 sk[crypto_sign_SECRETKEYBYTES]; /* zero when has_secret is FALSE */
  gboolean has_secret;
  char keyid[65];   /* sha256 hex of pk */
  char pub_hex[65]; /* hex of pk */
};

/* sodium_init() once per process; aborts if libsodium cannot start. */
void strand_sodium_init (void);

/* The members of a record line, pointing into it. A line has exactly the
 * form the ledger writes (records.h), byte for byte:
 *   {"dsse":{"payload":"B64","payloadType":"TYPE","signatures":
 *   [{"keyid":"HEX64","sig":"B64"}]},"prev":"HEX64","seq":N}
 * which is its canonical JSON; anything else is not a record. */
typedef struct {
  const char *payload; /* base64, not decoded */
  gsize payload_len;
  const char *payload_type;
  gsize payload_type_len;
  const char *keyid; /* 64 hex digits, not terminated */
  const char *sig;   /* base64 */
  gsize sig_len;
  const char *prev; /* 64 hex digits, not terminated */
  guint64 seq;
} StrandLineParts;

/* Splits a line (without its newline). FALSE when it is not a record line;
 * `why` (may be NULL) then says where it stops matching. */
gboolean strand_line_split (const char *line, gsize len, StrandLineParts *parts, char **why);

/* The seq at the end of a line ("seq":N}), without checking the rest; 0 when
 * there is none. Cheap: for readers that only want positions. */
guint64 strand_line_seq (const char *line, gsize len);

/* Appends DSSE's pre-authentication encoding of `payload` to `out`; with
 * `payload` NULL, only what comes before it (the caller appends `len`
 * bytes). */
void strand_dsse_pae_append (GString *out, const char *payload_type, const void *payload,
                             gsize len);

/* Appends a record line (no newline) to `out`: the payload is encoded here,
 * the signature is raw. */
void strand_line_append (GString *out, const void *payload, gsize payload_len,
                         const char *keyid, const guint8 sig[crypto_sign_BYTES],
                         const char *prev, guint64 seq);

typedef enum {
  STRAND_RECORD_OK = 0,
  STRAND_RECORD_MALFORMED,      /* not a record line: torn, garbage, bad base64 */
  STRAND_RECORD_WRONG_KEY,      /* signed by another key */
  STRAND_RECORD_BAD_SIGNATURE,  /* the signature does not verify */
  STRAND_RECORD_BAD_STATEMENT,  /* the payload is not an in-toto Statement */
  STRAND_RECORD_CHAIN_MISMATCH, /* the signed seq/prev differ from the line's */
} StrandRecordStatus;

/* strand_record_open() that also says which check failed and returns the
 * line's parts (valid when the status is not MALFORMED). With
 * `want_statement` FALSE the statement is checked but not returned. */
StrandRecordStatus strand_record_check (const char *line, gsize len, const StrandKey *key,
                                        gboolean want_statement, JsonNode **statement,
                                        StrandLineParts *parts, GError **error);

/* Where the chain member goes in the canonical text of a statement that
 * lacks it: at byte `at`, replace `replace` bytes (an old "ledger" value)
 * with `insert`. */
typedef struct {
  gsize at;
  gsize replace;
  GString *insert; /* owned by the caller, reused */
  gsize value_at;  /* private */
} StrandSplice;

/* `text` is strand_canonical_json() of an in-toto Statement (NUL-terminated
 * at `len`); `slsa`: its predicateType is SLSA provenance. FALSE when it
 * lacks the objects on the way to the chain's place (predicate, and
 * buildDefinition for SLSA). */
gboolean strand_chain_splice (const char *text, gsize len, gboolean slsa, guint64 seq,
                              const char *prev, StrandSplice *splice);

/* Where a statement keeps its signed chain: the object that holds (or is
 * to hold) the "ledger" member, by predicateType; NULL when the statement
 * does not have the shape for it. */
JsonObject *strand_statement_chain_parent (JsonObject *statement);

G_END_DECLS
