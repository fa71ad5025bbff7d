/* basecall: writing FASTQ records straight from BCL bytes.
 *
 * Output is BGZF (htslib): gzip that every FASTQ reader accepts, compressed
 * block by block in the calling thread (see basecall.c for why not on a
 * thread pool). A record is
 *
 *   @<name> <read>:<Y if it failed the filter, else N>:0:<index reads>
 *   <bases, N for a no-call>
 *   +
 *   <qualities, Phred+33; '#' (2) for a no-call>
 *
 * the Illumina (CASAVA 1.8) layout that bcl2fastq writes. */
#ifndef BC_FASTQ_WRITER_H
#define BC_FASTQ_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "bc-error.h"

typedef struct FastqWriter FastqWriter;

/* `level` 1..9. */
FastqWriter *fastq_writer_open (const char *path, const char *name, int level, BcError *error);

/* Writes one record: `name` is the read name up to its first blank,
 * `comment` what follows the blank, and the bases are the BCL bytes
 * bcl[0], bcl[stride], ... of `cycles` cycles. */
int fastq_writer_put (FastqWriter *w, const char *name, const char *comment,
                      const uint8_t *bcl, size_t stride, int cycles, BcError *error);

/* Flushes and closes; returns -1 when anything written was lost. Frees `w`
 * either way. */
int fastq_writer_close (FastqWriter *w, BcError *error);

/* Decoding tables for a BCL byte: its base letter and its quality letter. */
extern const char bcl_base_letter[256];
extern const char bcl_quality_letter[256];

#endif /* BC_FASTQ_WRITER_H */
