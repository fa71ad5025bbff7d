/* Internals of the provenance index (lineage.h).
 *
 *   lineage.c          opening, staleness, rebuild and catch-up; the schema
 *   lineage-write.c    writing records into the index: one by one when
 *                      catching up, in two threads when rebuilding
 *   lineage-query.c    the questions: lineage up and down, equipment
 *                      windows, live digests
 *   lineage-record.c   reading one log line into a LinRecord, fast: a small
 *                      JSON reader of our own (json-glib costs ~40 us a
 *                      record, which is 7 minutes for 10 million), base64
 *                      and RFC 3339 times
 *
 * The index trusts the log: signatures are `strand verify`'s business, and
 * nothing here checks them. */
#pragma once

#include <sqlite3.h>
#include <sys/types.h>

#include "lineage.h"

G_BEGIN_DECLS

/* records.kind in the database. */
typedef enum {
  LIN_KIND_OTHER = 0, /* a predicate type this host does not know */
  LIN_KIND_STAGE_RUN = 1,
  LIN_KIND_INGEST = 2,
  LIN_KIND_MATERIALIZE = 3,
  LIN_KIND_GC = 4,
  LIN_KIND_EVENT = 5,
} LinKind;

const char *lin_kind_name (LinKind kind);

/* A digest a record names, with the name it gives it (NULL when none). */
typedef struct {
  guint8 sha256[32];
  const char *name;
} LinRef;

#define LIN_NO_TIME G_MININT64

/* What the index keeps of one record. Strings are NULL when absent and live
 * in the reader until its next parse. */
typedef struct {
  LinKind kind;
  const char *run, *stage, *sample, *plugin, *plugin_version, *equipment, *status;
  const char *plugin_sha256; /* 64 hex */
  const char *path;          /* ingest and materialize: the user's path */
  const char *format;        /* ingest */
  gint64 size;               /* ingest; -1 when absent */
  gint64 attempt;            /* -1 when absent */
  gint64 started, finished;  /* wall microseconds; LIN_NO_TIME when absent */
  GArray *used;              /* LinRef: inputs; materialize: the object */
  GArray *generated;         /* LinRef: outputs; ingest: the object */
  GArray *removed;           /* LinRef: gc */
} LinRecord;

typedef struct LinReader LinReader;

LinReader *lin_reader_new (void);
void lin_reader_free (LinReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LinReader, lin_reader_free)

/* Reads one log line (no newline). Returns FALSE with a one-line reason in
 * `error` (STRAND_INDEX_ERROR_CORRUPT) when the line is not JSON, has no
 * DSSE payload, or the payload is not a JSON statement. A statement of an
 * unknown type, or missing members, is not an error: what is there is
 * kept. `rec` stays valid until the next call. */
gboolean lin_reader_parse (LinReader *reader, const char *line, gsize len, LinRecord *rec,
                           GError **error);

/* RFC 3339 into wall microseconds; a fast path for the form the clock
 * writes, strand_clock_parse_rfc3339() for the rest. */
gboolean lin_parse_time (const char *text, gint64 *wall_us);

/* 64 hex digits (either case) into 32 bytes. */
gboolean lin_hex_to_sha256 (const char *hex, gsize len, guint8 out[32]);
void lin_sha256_to_hex (const guint8 sha[32], char hex[65]);

/* What the index knows of the log it was built from (table meta). */
typedef struct {
  char first_hash[65];       /* the log's first record; "" for an empty log */
  guint64 last_seq;          /* the last record indexed */
  char last_hash[65];        /* the last line read, and where it starts */
  guint64 last_offset;
  gint64 max_span;           /* the longest started..finished of a record on equipment */
  guint64 unreadable;        /* lines that are not records */
  guint64 first_unreadable;  /* the first one's offset */
} LinMeta;

/* The index's connection and the statements of the questions. */
struct StrandIndex {
  char *db_path;
  char *log_path;
  char *lock_path;
  sqlite3 *db;
  dev_t dev; /* the file db has open, to notice another process replacing it */
  ino_t ino;
  LinMeta meta;
  char *rebuild_reason; /* why the last open, update or rebuild rebuilt; NULL: it did not */
  double rebuild_seconds;
  /* Prepared on first use (lineage-query.c). */
  GHashTable *statements; /* SQL text (static) -> sqlite3_stmt */
};

/* Writing records (lineage-write.c), inside a transaction the caller
 * holds. */
typedef struct LinWriter LinWriter;

/* `expected` > 0: a rebuild into a new database that has no indexes yet,
 * of about that many digests; 0: catching up an existing one. */
LinWriter *lin_writer_new (sqlite3 *db, const LinMeta *meta, guint64 expected, GError **error);
void lin_writer_free (LinWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LinWriter, lin_writer_free)
/* Rebuilding: the whole log, read and parsed in a second thread. */
gboolean lin_writer_add_log (LinWriter *w, const char *log_path, GError **error);
/* Catching up from the meta's last_offset (`check_first`: the line there
 * must be the one the meta ends with; otherwise from the start). `stale`:
 * it was not, or the log could not be read from there. `lines`: how many
 * were added. FALSE only when the database failed. */
gboolean lin_writer_add_since (LinWriter *w, const char *log_path, gboolean check_first,
                               gboolean *stale, guint64 *lines, GError **error);
/* The meta as it stands after what was added. */
const LinMeta *lin_writer_meta (LinWriter *w);

/* The ledger could not read the log: an I/O error stays one, anything
 * else is a log that cannot be read (CORRUPT). */
void lin_set_ledger_error (GError **error, const GError *ledger_error);

sqlite3_stmt *lin_prepare (sqlite3 *db, const char *sql, GError **error);

/* Rebuilds after a query met a damaged database. */
gboolean lin_rebuild_damaged (StrandIndex *index, const char *why, GError **error);

/* A prepared statement for `sql` (a string literal), reset, cached. */
sqlite3_stmt *lin_statement (StrandIndex *index, const char *sql, GError **error);
void lin_statements_clear (StrandIndex *index);

/* A SQLite failure as a GError; SQLITE_CORRUPT and SQLITE_NOTADB give
 * STRAND_INDEX_ERROR_DAMAGED, which the queries answer by rebuilding. */
void lin_set_sqlite_error (GError **error, sqlite3 *db, int rc, const char *what);

/* Packed id lists (records.used, records.generated): zigzag deltas as
 * LEB128 varints. */
void lin_ids_pack (GByteArray *out, const gint64 *ids, guint n);
gboolean lin_ids_unpack (const guint8 *data, gsize len, GArray *ids /* gint64 */);

G_END_DECLS
