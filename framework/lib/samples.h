/* Sample sheets: which samples a run processes, what each one is, and its
 * input files. Read from JSON (schemas/samples.schema.json) or TSV with a
 * header row; both give the same model.
 *
 * TSV columns: sample_id (required), type, collected (RFC 3339),
 * degradation_class, priority (routine, urgent or stat), due (RFC 3339),
 * quality, input, path, sha256, format; any other column is free metadata. One row per input file: rows of
 * one sample repeat its fields, and they must agree. */
#pragma once

#include <glib.h>

#include "problems.h"

G_BEGIN_DECLS

typedef struct {
  char *input;  /* the pipeline input it feeds, e.g. "reads" */
  char *path;   /* absolute */
  char *sha256; /* declared digest, or NULL */
  char *format; /* declared format, or NULL */
  char *where;  /* where it was declared, for problems: "sheet.tsv:4" */
} StrandSampleFile;

typedef struct {
  char *id;
  char *type;              /* e.g. "blood", "rna", "cfdna"; NULL: not stated */
  gint64 collected_us;     /* wall time, 0: not stated */
  char *degradation_class; /* NULL: not stated */
  char *priority;          /* "routine", "urgent", "stat"; NULL: routine */
  gint64 due_us;           /* a result is due by then (wall time), 0: not stated */
  double quality;          /* quality score at collection (the sample type's unit,
                            * e.g. RIN), NAN: not stated */
  GHashTable *meta;        /* char* -> char* */
  GPtrArray *files;        /* StrandSampleFile */
  char *where;             /* where the sample was declared */
} StrandSample;

StrandSample *strand_sample_new (const char *id);
void strand_sample_free (StrandSample *sample);
StrandSampleFile *strand_sample_add_file (StrandSample *sample, const char *input,
                                          const char *path);

/* Reads a sample sheet, JSON or TSV (by content: JSON starts with '{').
 * Relative paths are taken from the sheet's directory. Returns NULL only when
 * nothing usable could be read; every problem is appended with its place. */
GPtrArray *strand_samples_load (const char *path, GPtrArray *problems);
/* The same from bytes in memory; `name` is used in problem locations and
 * `base_dir` resolves relative paths. */
GPtrArray *strand_samples_load_data (const char *data, gsize len, const char *name,
                                     const char *base_dir, GPtrArray *problems);

G_END_DECLS
