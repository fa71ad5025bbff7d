/* Internals of the data checks (datacheck.h): one context per file checked,
 * and the rooms that work on it.
 *
 *   datacheck.c        entry points, opening, sniffing, digests, manifests
 *   datacheck-gzip.c   the compression layer: BGZF ends, gzip streams
 *   datacheck-seq.c    FASTQ and FASTA, parsed strictly by our own reader
 *   datacheck-hts.c    SAM/BAM/CRAM and VCF/BCF through htslib, plus our
 *                      stricter per-record checks */
#pragma once

#include <htslib/hfile.h>
#include <htslib/hts.h>

#include "datacheck.h"

G_BEGIN_DECLS

/* At most this many problems are listed per file; the rest are counted. */
#define DC_MAX_PROBLEMS 50

typedef struct {
  const char *path;                /* as given: opened, never displayed */
  char *display;                   /* UTF-8 form of path for messages */
  const StrandCheckOptions *options;
  StrandDataSummary *summary;      /* never NULL here */
  GPtrArray *problems;
  guint listed;                    /* problems added for this file */
  guint unlisted;                  /* problems counted past DC_MAX_PROBLEMS */
  guint errors;                    /* errors found, listed or not */
  int fd;                          /* the file, for pread by the compression layer */
  guint64 size;                    /* file size in bytes */
  guint64 budget;                  /* uncompressed bytes to read; G_MAXUINT64 when deep */
  guint threads;                   /* decompression threads to add (0: none) */
  enum htsExactFormat sniffed;
  enum htsCompression compression;
  /* The compression layer found the file cut short or damaged from this
   * compressed offset on (-1: no). Parse errors past it are its echo, and
   * are not listed a second time. */
  gint64 damaged_from;
} DcFile;

/* Adds a problem; `where` is the complete location. */
void dc_problem (DcFile *f, gboolean warning, const char *code, const char *where,
                 const char *format, ...) G_GNUC_PRINTF (5, 6);
/* "PATH:LINE", "PATH: record N", "PATH: byte N" and "PATH". */
char *dc_where_line (DcFile *f, guint64 line);
char *dc_where_record (DcFile *f, guint64 record);
char *dc_where_byte (DcFile *f, guint64 offset);
#define dc_where_file(f) ((f)->display)

/* A printable rendering of byte `c` for messages: 'X' or byte 0xff. */
const char *dc_byte_repr (guint8 c, char buf[16]);

/* Tables: IUPAC nucleotide letters (either case), and FASTQ quality bytes. */
extern const guint8 dc_iupac[256];

/* The compression layer (datacheck-gzip.c). */

/* Checks both ends of a BGZF file without reading it all: the EOF marker
 * and the last blocks (CRC32 and size verified). Sets f->damaged_from when
 * the file is cut short. */
void dc_bgzf_check_ends (DcFile *f);

/* Uncompressed bytes of a file, whatever its compression. Errors of the
 * compression layer are added as problems by the stream itself. */
typedef struct DcStream DcStream;
/* Takes ownership of `hf` (positioned at the start). */
DcStream *dc_stream_new (DcFile *f, hFILE *hf);
/* > 0 bytes read, 0 at the clean end, -1 after an error (already reported). */
gssize dc_stream_read (DcStream *s, void *buf, gsize len);
void dc_stream_free (DcStream *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DcStream, dc_stream_free)

/* Inflates a whole plain gzip file to check it; used for gzip files that
 * htslib reads (SAM, VCF) when the whole file is read. */
void dc_gzip_verify (DcFile *f);

/* Lines of uncompressed text, for FASTQ, FASTA, SAM and VCF: no copy unless
 * a line spans two reads, lines up to 256 MiB. */
typedef struct {
  DcFile *f;
  DcStream *s;
  guint8 *buf;
  gsize cap, start, end, scanned; /* unread data is buf[start, end); no '\n' in [start, scanned) */
  gboolean eof;
  gboolean failed;                 /* stream error or line too long: already reported */
  guint64 consumed;                /* uncompressed bytes handed out */
  guint64 lineno;
  gboolean has_newline;            /* the last line returned ended with '\n' */
  gboolean crlf_reported;
} DcLines;

/* Takes ownership of `hf`. */
void dc_lines_init (DcLines *r, DcFile *f, hFILE *hf);
/* The next line, without its '\n' (nor a final '\r', reported once as
 * "line-ending"); valid until the next call. FALSE at the end of the data or
 * after an error (r->failed). */
gboolean dc_lines_next (DcLines *r, const guint8 **line, gsize *len);
void dc_lines_clear (DcLines *r);
gboolean dc_is_blank (const guint8 *line, gsize len);

/* Blank lines: an error between records, a warning at the very end. */
void dc_blank_lines_flush (DcFile *f, guint64 *first, const char *code, gboolean at_end);

/* The formats. */
void dc_check_fastq (DcFile *f, hFILE *hf);
void dc_check_fasta (DcFile *f, hFILE *hf);
void dc_check_sam (DcFile *f, hFILE *hf);
void dc_check_vcf (DcFile *f, hFILE *hf);

/* htslib writes its diagnostics to stderr; the library must not. */
void dc_hts_quiet_begin (void);
void dc_hts_quiet_end (void);

G_END_DECLS
