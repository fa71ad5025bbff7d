/* A strict, streaming FASTQ reader for plain or gzip-compressed files.
 *
 * Records are handed out as pointers into one large buffer (no copy per
 * line), valid until the next call. Every record is checked: '@' header with
 * a name, IUPAC sequence, '+' line (empty or repeating the header), one
 * quality byte in '!'..'~' per base. On a problem the reader stops and says
 * where (file, line, column) and what, in `error`; the caller turns that into
 * the task's failure. Only libc and zlib: the fuzz target links it alone. */
#ifndef FASTQ_READER_H
#define FASTQ_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FASTQ_PHRED_OFFSET 33
#define FASTQ_MAX_PHRED 93      /* '~' - '!' */
#define FASTQ_MAX_LINE (1u << 20) /* longest line accepted, newline excluded */

typedef enum {
  FASTQ_OK = 0,
  FASTQ_END,       /* a clean end between records */
  FASTQ_MALFORMED, /* the text breaks the format */
  FASTQ_CORRUPT,   /* gzip data damaged or cut short */
  FASTQ_IO,        /* the operating system failed to read */
  FASTQ_NO_MEMORY,
} FastqStatus;

typedef struct {
  const char *name; /* after '@', up to the first space or tab */
  size_t name_len;
  const char *seq;
  const char *qual;
  size_t len;       /* bases */
  const char *header; /* the whole header line, '@' excluded */
  size_t header_len;
} FastqRecord;

typedef struct FastqReader FastqReader;

/* Opens `path` (plain or gzip; NULL on failure with errno set). `label` names
 * the file in messages (usually its own name). */
FastqReader *fastq_reader_open (const char *path, const char *label);
void fastq_reader_close (FastqReader *r);

/* Reads the next record. On FASTQ_OK fills `rec`; on an error the message
 * is in fastq_reader_error(). */
FastqStatus fastq_reader_next (FastqReader *r, FastqRecord *rec);

/* "FILE:LINE: what" for the last error. */
const char *fastq_reader_error (const FastqReader *r);
/* Line number of the last line read. */
uint64_t fastq_reader_line (const FastqReader *r);
/* Bytes of the compressed file consumed so far (for progress). */
int64_t fastq_reader_offset (const FastqReader *r);

#endif /* FASTQ_READER_H */
