/* What earlier runs left behind, as their records tell it: the cache that
 * `strand run --resume` reuses, and the records `strand reproduce` reads.
 *
 * A task's cache key is the SHA-256 of the canonical JSON of five parts:
 * the plugin .so's digest, its parameters (defaults applied), its inputs
 * (port, file name and digest, in order), the resources that may change
 * its result (declared cores, GPUs, equipment class) and the samples it
 * works for (id and metadata, which the stage may read). Each successful stage
 * run records its key (records.h); a resumed run reuses the outputs of the
 * last record with the same key whose objects are all in the store and
 * still match their digests, and says for every task it runs again which
 * part of its key changed since the last successful run of that stage on
 * that sample. */
#pragma once

#include "provenance.h"
#include "task.h"

G_BEGIN_DECLS

/* The "cache" member of a stage-run record for `spec`: {"key", "parts"}. */
JsonNode *strand_task_cache_key (const StrandTaskSpec *spec, guint declared_cores, guint gpus,
                                 const char *equipment_class);

typedef struct {
  char *name;   /* "PORT/FILE" */
  char *sha256;
  char *md5;
} StrandCachedFile;

typedef struct {
  char *key;
  char *run_id;
  char *stage;
  char *sample;
  char *work_dir;     /* where its outputs were staged; may be NULL */
  JsonObject *parts;  /* the key's parts */
  JsonObject *params; /* the parameters, for explaining a change */
  GPtrArray *outputs; /* StrandCachedFile */
  guint64 seq;
} StrandCacheEntry;

typedef struct StrandRunCache StrandRunCache;

/* Reads every record of the ledger, checking signatures with the store's
 * key. */
StrandRunCache *strand_run_cache_load (StrandProvenance *prov, GError **error);
void strand_run_cache_free (StrandRunCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandRunCache, strand_run_cache_free)

/* The newest successful run with this key, or NULL. */
const StrandCacheEntry *strand_run_cache_lookup (StrandRunCache *cache, const char *key);
/* Why a task with cache object `cache_node` must run: which parts of its key
 * differ from the newest successful run of the stage on the sample (the
 * parameters by name), or that there was none. */
char *strand_run_cache_explain (StrandRunCache *cache, const char *stage, const char *sample,
                                JsonNode *cache_node, GHashTable *params);
/* Successful entries whose outputs are missing from the store. */
GPtrArray *strand_run_cache_entries (StrandRunCache *cache); /* StrandCacheEntry, borrowed */

/* Calls `func` with every statement of the ledger in `store_dir` (checked
 * against its public key), its seq, and `data`; stop by returning FALSE. */
typedef gboolean (*StrandStatementFunc) (JsonObject *statement, guint64 seq, gpointer data);
gboolean strand_ledger_foreach_statement (const char *store_dir, StrandStatementFunc func,
                                          gpointer data, GError **error);

/* Members of a statement, NULL when absent or of another type. */
JsonObject *strand_statement_object (JsonObject *statement, const char *path);
const char *strand_statement_string (JsonObject *statement, const char *path);

G_END_DECLS
