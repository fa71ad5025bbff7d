/* The provenance index: a SQLite database (WAL) built from the ledger's log,
 * answering "how was this made?" and "what did this feed?" fast. The log is
 * the truth: the index is rebuilt from it whenever it is missing, damaged or
 * behind, and can always be deleted. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define STRAND_INDEX_ERROR (strand_index_error_quark ())
GQuark strand_index_error_quark (void);

typedef enum {
  STRAND_INDEX_ERROR_IO,
  STRAND_INDEX_ERROR_NOT_FOUND, /* the lineage target matches nothing */
  STRAND_INDEX_ERROR_CORRUPT,   /* the log could not be read (a line is no record: counted,
                                 * not an error) */
  STRAND_INDEX_ERROR_DAMAGED,   /* the database is damaged; the queries rebuild it and retry,
                                 * so callers see this only if that fails too */
  STRAND_INDEX_ERROR_AMBIGUOUS, /* a digest prefix matches more than one digest */
} StrandIndexErrorCode;

/* One connection to the index; use it from one thread at a time. */
typedef struct StrandIndex StrandIndex;

/* Opens `db_path`, bringing it up to date with `log_path`: new records are
 * added; a database that does not match the log (missing, damaged, other
 * log, log cut back) is rebuilt. `rebuilt` (may be NULL) says whether. A
 * damaged file is kept as DB.damaged; DB.lock serialises writers of the
 * index across processes. A missing log is an empty one. Lines of the log
 * that are not records do not stop the index: they are counted
 * (strand_index_info) for `strand verify` to explain. */
StrandIndex *strand_index_open (const char *db_path, const char *log_path, gboolean *rebuilt,
                                GError **error);
void strand_index_close (StrandIndex *index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandIndex, strand_index_close)

/* Removes the database at `db_path` and the files the index keeps beside it
 * (-wal, -shm, .lock, .damaged, a rebuild's leftovers): for scratch
 * indexes. No index may have it open. */
void strand_index_remove_files (const char *db_path);

/* Catches up with records appended since (or rebuilds, as open does). */
gboolean strand_index_update (StrandIndex *index, GError **error);
gboolean strand_index_rebuild (StrandIndex *index, GError **error);
guint64 strand_index_last_seq (StrandIndex *index);

typedef struct {
  guint64 last_seq;
  guint64 unreadable;              /* lines of the log that are not records */
  guint64 first_unreadable_offset; /* the first one's byte offset */
  const char *rebuild_reason;      /* why the last open, update or rebuild rebuilt ("no index
                                    * yet", "the log was cut back", "the database is damaged
                                    * (...)", ...); NULL when it did not. Owned by the index. */
  double rebuild_seconds;          /* how long that took */
} StrandIndexInfo;
void strand_index_info (StrandIndex *index, StrandIndexInfo *info);

typedef enum {
  STRAND_LINEAGE_UP,   /* ancestors: how was this made */
  STRAND_LINEAGE_DOWN, /* descendants: what did this feed */
} StrandLineageDirection;

/* The lineage of TARGET, tried in this order: a digest (64 hex, "sha256:"
 * allowed, or a unique prefix of at least 12 hex digits); a path that was
 * ingested or materialised (made absolute against the current directory
 * and canonicalised; also with links resolved when it exists); a sample id;
 * a run id. NOT_FOUND when none matches, AMBIGUOUS for a prefix of several
 * digests.
 *
 * Up (how was this made): the records that generated the target, the
 * entities they used, the records that generated those, and so on; down
 * (what did this feed): the records that used the target, what they
 * generated, the records that used that... A sample or a run stands for all
 * its records (a sample: its ingests and stage runs): up gives them and the
 * ancestors of what they used, down them and the descendants of what they
 * generated. `depth` counts records along a path (1: the records that made
 * or used the target, or a sample's or run's own); < 0: no limit; 0: the
 * target alone. Removals (gc) and events are not lineage. The result is
 * JSON, entities in the order the log first named them, activities by seq:
 *   {"target": ..., "matched": "digest"|"path"|"sample"|"run",
 *    "direction": "up"|"down",
 *    "entities": [{"sha256", "names": [...], "size"?, "sample"?}],
 *    "activities": [{"seq", "kind", "run", "stage", "sample", "plugin",
 *                    "plugin_version", "plugin_sha256", "equipment", "attempt",
 *                    "started", "finished", "status", "used": [sha256...],
 *                    "generated": [sha256...]}]}
 * An entity's names: the first name a record gave it (a path, or a stage
 * output's "PORT/FILE"), then the paths it was ingested from or
 * materialised to. An activity's kind is "stage-run", "ingest",
 * "materialize" or "other"; its status "ok" or the error class of a failed
 * attempt ("crash", "out-of-memory"...); its members are null where the
 * record has no such thing (an ingest has no plugin); times are RFC 3339
 * text. */
JsonNode *strand_lineage (StrandIndex *index, const char *target, StrandLineageDirection direction,
                          int depth, GError **error);

/* Every record on `equipment` whose [started, finished) overlapped
 * [from_us, until_us) (one without a duration: whose start fell in it), for
 * recalls: {"equipment", "from", "until", "activities": [...]}, the
 * activities as above, by seq; G_MININT64 and G_MAXINT64 leave the window
 * open (from or until null). An equipment the log never named gives no
 * activities, not an error. */
JsonNode *strand_lineage_equipment (StrandIndex *index, const char *equipment, gint64 from_us,
                                    gint64 until_us, GError **error);

/* Digests some record refers to (used, generated, ingested or
 * materialised, and not named by a gc record after that): what `strand gc`
 * must keep. Keys are 64-hex strings (owned); values NULL. */
GHashTable *strand_index_live_digests (StrandIndex *index, GError **error);

/* Where a record lies in the log, for readers of the records themselves. */
typedef struct {
  guint64 seq;
  guint64 offset;  /* byte offset of its line */
  char hash[65];   /* the line's SHA-256, as the index read it */
} StrandIndexRecordRef;

/* Every record whose run is `run` (stage runs: the invocationId), by seq,
 * as StrandIndexRecordRef. NOT_FOUND, naming the run, when there is none. */
GArray *strand_index_run_records (StrandIndex *index, const char *run, GError **error);
/* The records that generated the data item `sha256` (64 hex): its ingests
 * and the stage runs that output it, by seq; empty when none did. */
GArray *strand_index_generators (StrandIndex *index, const char *sha256, GError **error);

G_END_DECLS
