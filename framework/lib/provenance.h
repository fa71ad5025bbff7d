/* A provenance store: one directory holding the content-addressed objects
 * (store.h), the host's signing key, the signed ledger (ledger.h) and its
 * index (lineage.h):
 *
 *   DIR/objects/...          the data
 *   DIR/keys/host.key        the host's Ed25519 secret key (mode 0600)
 *   DIR/keys/host.pub        its public key, for anyone who verifies
 *   DIR/ledger/log.jsonl     the records: the truth
 *   DIR/ledger/index.sqlite  the index: rebuilt from the log at will
 *
 * Every way data enters or leaves the store is recorded here. */
#pragma once

#include "ledger.h"
#include "lineage.h"
#include "problems.h"
#include "store.h"

G_BEGIN_DECLS

typedef struct StrandProvenance StrandProvenance;

/* Creates the directory, the store and the host key (once). */
gboolean strand_provenance_init (const char *dir, GError **error);
/* Opens an initialised directory for writing. */
StrandProvenance *strand_provenance_open (const char *dir, GError **error);
void strand_provenance_close (StrandProvenance *prov);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandProvenance, strand_provenance_close)

StrandStore *strand_provenance_store (StrandProvenance *prov);
StrandLedger *strand_provenance_ledger (StrandProvenance *prov);
const StrandKey *strand_provenance_key (StrandProvenance *prov);
const char *strand_provenance_dir (StrandProvenance *prov);
/* "strand:host:<keyid>": the agent that signs. */
const char *strand_provenance_host_id (StrandProvenance *prov);
/* The index, brought up to date with the ledger. */
StrandIndex *strand_provenance_index (StrandProvenance *prov, GError **error);

/* Appends a statement and makes it durable before returning. */
gboolean strand_provenance_record (StrandProvenance *prov, JsonNode *statement, GError **error);

/* Brings raw data into the store with its ingest record. */
gboolean strand_provenance_ingest (StrandProvenance *prov, const char *path, const char *sample,
                                   const char *format, JsonNode *metadata, StrandObjectInfo *info,
                                   GError **error);
/* Copies an object to a user path, recorded. */
gboolean strand_provenance_materialize (StrandProvenance *prov, const char *sha256,
                                        const char *dest, GError **error);
/* Removes objects no record needs, and records what it removed. */
gboolean strand_provenance_gc (StrandProvenance *prov, guint *removed, guint64 *bytes,
                               GError **error);

/* Checks everything without writing: every record's form, signature and
 * chain, and every object the records name against its digest. One problem
 * per fault, naming the record or object. `dir` need not be writable. */
gboolean strand_provenance_verify (const char *dir, GPtrArray *problems, guint64 *records,
                                   guint64 *objects);

/* Who is running the host: $STRAND_OPERATOR, else the login name. */
const char *strand_operator_name (void);

G_END_DECLS
