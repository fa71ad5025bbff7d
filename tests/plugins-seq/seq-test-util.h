/* Helpers of the sequencing plugin tests: reference genomes, FASTQ and
 * truth-table readers, and the stand-in host set up for each stage. */
#pragma once

#include <glib.h>

#include "stage-harness.h"

G_BEGIN_DECLS

/* A random genome (fixed seed) of contigs of the given lengths, written as
 * FASTA to `path` (gzip when it ends in ".gz"). Returns the sequences. */
GPtrArray *seq_test_write_reference (const char *path, const gsize *lengths, gsize n,
                                     guint32 seed);

typedef struct {
  char *name;    /* up to the blank */
  char *comment; /* after the blank */
  char *seq;
  char *qual;
} FastqRecord;

/* Every record of a (gzip) FASTQ file; fails the test on a malformed one. */
GPtrArray *seq_test_read_fastq (const char *path);

/* The decompressed bytes of a gzip file. */
GBytes *seq_test_gunzip (const char *path);

/* A plugin of the build, loaded in the stand-in host, working in `dir`. */
StageHarness *seq_test_stage (const char *plugin, const char *dir);

G_END_DECLS
