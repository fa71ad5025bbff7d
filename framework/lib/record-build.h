/* The statements of each record kind (records.h), built from plain facts.
 *
 * Each function returns a new in-toto Statement v1 ready for
 * strand_ledger_append(), which adds the signed chain members. Strings are
 * copied; NULL optional members are left out of the statement. Numbers are
 * JSON integers; times are wall microseconds (clock.h), written as RFC 3339
 * UTC. Required members are marked; a NULL one is a programming error. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "records.h"

G_BEGIN_DECLS

/* A data item named in a record: a subject, an input or an output. */
typedef struct {
  const char *name;   /* "PORT/FILE" for stage inputs and outputs, else a path */
  const char *sha256; /* required: 64 hex digits */
  const char *md5;    /* may be NULL; recorded beside the SHA-256 for submission
                       * portals (ENA, EGA), never used as identity */
} StrandRecordFile;

/* A tool a stage ran (task.h StrandToolUse). */
typedef struct {
  const char *path;    /* required */
  const char *version; /* may be NULL */
  const char *sha256;  /* required */
} StrandRecordTool;

/* One attempt of one stage on one sample: an activity. */
typedef struct {
  const char *run_id;         /* required: the invocationId */
  const char *stage;          /* required */
  const char *sample;         /* NULL for a run-wide task */
  const char *plugin_name;    /* required */
  const char *plugin_version; /* required */
  const char *plugin_path;    /* required: the .so that ran */
  const char *plugin_sha256;  /* required: the .so's digest */
  GHashTable *params;         /* char* -> char*, defaults applied; may be NULL */
  const StrandRecordFile *inputs;
  guint n_inputs;
  const StrandRecordFile *outputs; /* the statement's subjects */
  guint n_outputs;
  const StrandRecordTool *tools;
  guint n_tools;
  const char *equipment;      /* may be NULL */
  guint cores;                /* resources given; 0: not recorded */
  guint64 memory_bytes;       /* 0: not recorded */
  int attempt;                /* from 1 */
  gint64 started_us;
  gint64 finished_us;
  int exit_status;            /* the worker's, or -1 */
  const char *error_class;    /* NULL when it succeeded */
  const char *message;        /* why it failed; may be NULL */
  const char *host_id;        /* required: the host key's id (strand_key_id), or
                               * the builder id "strand:host:<keyid>" whole */
  JsonNode *cache;            /* object: the task's cache key (records.h); may be NULL */
  JsonNode *placement;        /* object: where it ran, as the executor says (records.h);
                               * may be NULL */
} StrandStageRunFacts;

/* Raw data entering the store: an entity. */
typedef struct {
  const char *path;          /* required: where it came from, the subject's name */
  const char *sha256;        /* required */
  guint64 size;
  const char *md5;           /* may be NULL */
  const char *format;        /* may be NULL */
  const char *sample;        /* may be NULL */
  JsonNode *metadata;        /* object of FAIR fields as the operator gave them
                              * (identifier, license, access...); may be NULL */
  const char *operator_name; /* may be NULL */
  gint64 time_us;
} StrandIngestFacts;

/* An object copied or linked out of the store. */
typedef struct {
  const char *sha256;        /* required: the object */
  const char *path;          /* required: where it was put */
  const char *method;        /* required: "reflink", "copy", "hardlink"... */
  const char *operator_name; /* may be NULL */
  gint64 time_us;
} StrandMaterializeFacts;

/* Objects removed by `strand gc`. */
typedef struct {
  const StrandRecordFile *removed; /* a NULL name becomes "sha256:HEX" */
  guint n_removed;
  guint64 bytes;
  const char *operator_name; /* may be NULL */
  gint64 time_us;
} StrandGcFacts;

/* Anything else worth keeping: equipment events, run start and end. */
typedef struct {
  const char *event;               /* required, e.g. "run-start" */
  gint64 time_us;
  JsonNode *details;               /* object; may be NULL */
  const StrandRecordFile *subjects; /* may be none */
  guint n_subjects;
} StrandEventFacts;

/* What the host decided about a task (records.h, STRAND_RECORD_DECISION). */
typedef struct {
  const char *run_id;               /* required */
  const char *stage;                /* required */
  const char *sample;               /* NULL for a run-wide task */
  int attempt;                      /* the attempt it follows; 0: none */
  const char *decision;             /* required, e.g. "retry" */
  const char *error_class;          /* what failed; may be NULL */
  const char *reason;               /* one line; may be NULL */
  JsonNode *details;                /* object; may be NULL */
  const StrandRecordFile *subjects; /* may be none */
  guint n_subjects;
  gint64 time_us;
} StrandDecisionFacts;

JsonNode *strand_statement_stage_run (const StrandStageRunFacts *facts);
JsonNode *strand_statement_decision (const StrandDecisionFacts *facts);
JsonNode *strand_statement_ingest (const StrandIngestFacts *facts);
JsonNode *strand_statement_materialize (const StrandMaterializeFacts *facts);
JsonNode *strand_statement_gc (const StrandGcFacts *facts);
JsonNode *strand_statement_event (const StrandEventFacts *facts);

G_END_DECLS
