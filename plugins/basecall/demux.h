/* basecall: which sample a cluster's index reads belong to.
 *
 * An index sequence is packed two bits per base with a second mask marking
 * its no-calls, so comparing a read's index with a sample's is a XOR and a
 * popcount. A read belongs to a sample when each of its indices differs
 * from the sample's in at most `mismatches` positions (a no-call counts as
 * a mismatch), as bcl2fastq's --barcode-mismatches does.
 *
 * Two samples of one lane collide when a single read could belong to both:
 * that happens exactly when their i7 sequences differ in at most
 * 2 x mismatches positions and so do their i5 sequences (one-index runs:
 * the i7 alone). demux_check_collisions refuses such a lane before any
 * read is assigned, so the assignment never depends on sample order. */
#ifndef BC_DEMUX_H
#define BC_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bc-error.h"

#define DEMUX_MAX_INDEX 32

typedef struct {
  uint64_t bits;   /* base i in bits 2i..2i+1: A=0, C=1, G=2, T=3 */
  uint64_t nocall; /* 0b11 at bits 2i..2i+1 where base i is a no-call */
  uint8_t len;
} IndexCode;

/* Packs up to DEMUX_MAX_INDEX bases of `seq` (A/C/G/T; anything else is a
 * no-call). */
IndexCode index_code_from_string (const char *seq, size_t len);
/* Packs BCL bytes (see bcl.h): the base in bits 0-1, a zero byte a no-call. */
IndexCode index_code_from_bcl (const uint8_t *bcl, size_t stride, size_t len);
/* Positions where `a` and `b` differ, no-calls on either side included;
 * both must have the same length. */
int index_code_distance (IndexCode a, IndexCode b);
/* Writes the bases (N for no-calls) and a NUL: `out` needs len + 1 bytes. */
void index_code_to_string (IndexCode code, char *out);
/* The reverse complement. */
IndexCode index_code_reverse_complement (IndexCode code);

typedef struct {
  int sample; /* the caller's number for it */
  IndexCode i7;
  IndexCode i5;
  const char *label; /* for messages: "'S1' (SampleSheet.csv:12)" */
} DemuxEntry;

typedef struct {
  DemuxEntry *entries;
  size_t n;
  int mismatches;
  bool dual; /* compare i5 too */
} DemuxTable;

/* Fails (BC_ERR_CONFIG) naming the first pair of entries that collide. */
int demux_check_collisions (const DemuxTable *table, BcError *error);

/* The entry the read's indices belong to, or -1 (Undetermined);
 * `mismatches_out` receives the total mismatches of i7 and i5. With one
 * entry and no index cycles at all (len 0), every read belongs to it. */
int demux_match (const DemuxTable *table, IndexCode i7, IndexCode i5,
                 int *mismatches_out);

#endif /* BC_DEMUX_H */
