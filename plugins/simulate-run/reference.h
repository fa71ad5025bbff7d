/* simulate-run: the reference genome the samples are made from.
 *
 * FASTA, plain or gzip-compressed (zlib reads both), read as a stream with
 * a strict parser: every record needs a name that VCF and SAM accept and
 * at least one base; sequence lines hold letters only (IUPAC codes other
 * than A/C/G/T become N, lower case is upper-cased); anything else fails
 * with the file, the line and what is wrong. */
#ifndef SIM_REFERENCE_H
#define SIM_REFERENCE_H

#include <stddef.h>

#include "sim-error.h"

#define REFERENCE_MAX_BASES ((size_t) 1 << 31) /* a simulator, not a human genome */

typedef struct {
  char *name;
  char *seq; /* A, C, G, T or N; NUL-terminated */
  size_t len;
} Contig;

typedef struct {
  Contig *contigs;
  size_t n;
  size_t total;
} Reference;

/* Reads `path`; `name` is used in messages. */
int reference_load (const char *path, const char *name, Reference *ref, SimError *error);
/* The same from bytes in memory (tests, fuzzing). */
int reference_parse (const char *data, size_t len, const char *name, Reference *ref,
                     SimError *error);
void reference_clear (Reference *ref);

#endif /* SIM_REFERENCE_H */
