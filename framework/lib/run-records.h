/* One run as its signed records tell it: the model the exports (PROV-JSON,
 * RO-Crate), the run diff and archives are built from.
 *
 * Everything here comes from the ledger, not from the run directory or
 * run.json: a run can be described years later from the store alone. Each
 * record is read at the offset the index gives, its line hash compared with
 * the index's, and its signature checked with the store's public key
 * (keys/host.pub), so an export never states what the host did not sign.
 * The records of a run are its stage runs (records.h); the data items they
 * used that no stage of the run made are looked up where they came from:
 * an ingest record (its path, format, sample, operator) or a stage run of
 * another run. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define STRAND_RUN_RECORDS_ERROR (strand_run_records_error_quark ())
GQuark strand_run_records_error_quark (void);

typedef enum {
  STRAND_RUN_RECORDS_ERROR_NOT_A_STORE, /* no keys/host.pub */
  STRAND_RUN_RECORDS_ERROR_NO_RUN,      /* the ledger names no such run */
  STRAND_RUN_RECORDS_ERROR_BAD_RECORD,  /* a record fails its signature, its hash, or its form */
  STRAND_RUN_RECORDS_ERROR_IO,
} StrandRunRecordsErrorCode;

typedef struct StrandStageRun StrandStageRun;

/* A data item the run used or made. */
typedef struct {
  char *sha256;
  char *name;          /* the first name a record gave it: "PORT/FILE", or an ingested path */
  char *md5;           /* NULL when no record gave one */
  gint64 size;         /* -1 when neither the records nor the store know it */
  char *format;        /* from its ingest record; NULL otherwise */
  char *sample;        /* the sample of the stage run or ingest that made it; NULL: run-wide */
  char *path;          /* where it was ingested from; NULL otherwise */
  char *operator_name; /* who ingested it; NULL otherwise */
  gint64 ingested_us;  /* 0 when not ingested */
  guint64 ingest_seq;  /* the ingest record; 0: none */
  char *origin_run;    /* made by a stage run of another run: that run; NULL otherwise */
  gboolean in_store;   /* the store holds it (it may have been collected) */
  StrandStageRun *generated_by; /* the stage run of this run that made it; NULL: an input */
} StrandRunEntity;

/* A tool a stage ran, as recorded. */
typedef struct {
  char *path;
  char *version; /* may be NULL */
  char *sha256;
} StrandRunTool;

/* A file a stage run used or made: its name in the record and its item. */
typedef struct {
  char *name;              /* "PORT/FILE" */
  StrandRunEntity *entity;
} StrandRunFileRef;

/* One attempt of one stage on one sample. */
struct StrandStageRun {
  guint64 seq;
  char hash[65];        /* the record's line hash */
  char *stage;
  char *sample;         /* NULL for a run-wide task */
  char *plugin;
  char *plugin_version;
  char *plugin_path;    /* the .so that ran */
  char *plugin_sha256;
  JsonObject *params;   /* name -> text, as recorded (defaults applied); never NULL */
  GPtrArray *inputs;    /* StrandRunFileRef */
  GPtrArray *outputs;   /* StrandRunFileRef */
  GPtrArray *tools;     /* StrandRunTool */
  char *equipment;      /* NULL when none */
  gint64 cores;         /* 0: not recorded */
  gint64 memory_bytes;  /* 0: not recorded */
  gint64 attempt;
  gint64 started_us, finished_us;
  char *status;         /* "ok", or the error class of a failed attempt */
  gint64 exit_status;   /* -1: none */
  char *message;        /* why it failed; NULL otherwise */
  char *builder;        /* the host that ran and signed it: "strand:host:<keyid>" */
};

typedef struct {
  char *run_id;
  char *store_dir;
  char *key_id;          /* the store's public key id */
  GPtrArray *stage_runs; /* StrandStageRun, by seq */
  GPtrArray *entities;   /* StrandRunEntity, in the order the records first name them */
  GHashTable *by_sha256; /* sha256 -> StrandRunEntity (owned by `entities`) */
  GPtrArray *builders;   /* char*: the hosts that ran its stages, in order of first record */
  gint64 started_us;     /* the first start and last end of its stage runs */
  gint64 finished_us;
} StrandRunRecords;

/* Reads run `run_id` from the store at `store_dir`, which need not be
 * writable beyond its index. Errors: NOT_A_STORE, NO_RUN (naming the run),
 * BAD_RECORD (naming the record's seq: a changed byte, a wrong key, a
 * record that is not what the index says), IO. */
StrandRunRecords *strand_run_records_load (const char *store_dir, const char *run_id,
                                           GError **error);
void strand_run_records_free (StrandRunRecords *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandRunRecords, strand_run_records_free)

/* The stage run's parameter `name` as text, NULL when not recorded. */
const char *strand_stage_run_param (const StrandStageRun *sr, const char *name);

/* "STAGE" or "SAMPLE/STAGE": how a stage run is named to people. */
char *strand_stage_run_label (const StrandStageRun *sr);

/* Reads one stage-run statement (an in-toto Statement with a SLSA
 * Provenance predicate) into `sr` (zeroed by the caller), adding the files
 * it names to `run`. FALSE with a reason when a member the host always
 * writes is missing or has another type. For the loader and its fuzz
 * target. */
gboolean strand_run_records_add_statement (StrandRunRecords *run, JsonNode *statement, guint64 seq,
                                           const char *hash, GError **error);
/* An empty model, for building one statement at a time. */
StrandRunRecords *strand_run_records_new (const char *run_id);

G_END_DECLS
