/* Checks of input data files, through htslib: is the file what it claims to
 * be, complete and well formed?
 *
 * Stricter than samtools and bcftools: a missing BGZF EOF block, a non-IUPAC
 * base, a POS that is not a number, a record on a contig the header lacks are
 * corruption here, not warnings. The default mode reads a bounded prefix of
 * the data (and, for BGZF files, always checks both ends); deep mode reads
 * everything. CRAM is decoded only against the reference given, never one
 * fetched from the network or a cache: htslib 1.16 has no switch for that, so
 * while a CRAM is decoded REF_PATH points at a directory that does not exist
 * and REF_CACHE is unset, process-wide, and both are restored afterwards
 * (under a lock; see datacheck-hts.c). htslib writes REFERENCE.fai beside a
 * reference that has none, as samtools does. */
#pragma once

#include <glib.h>

#include "problems.h"

G_BEGIN_DECLS

typedef struct {
  gboolean deep;          /* read whole files */
  guint64 prefix_bytes;   /* default mode: uncompressed bytes to read; 0: 64 MiB */
  const char *format;     /* expected format name (formats.h), NULL: sniff only */
  const char *reference;  /* FASTA for CRAM decoding; NULL: none */
  const char *sha256;     /* declared digest to verify; NULL: not checked */
  const char *md5;        /* declared MD5 to verify; NULL: not checked */
  guint threads;          /* decompression threads; 0: one per core */
} StrandCheckOptions;

typedef struct {
  char *format;        /* sniffed format name, or "unknown" */
  char *compression;   /* "none", "gzip", "bgzf", "cram" (its own codecs), or the
                        * unsupported "bzip2", "xz", "zstd", "other" */
  gboolean complete;   /* the whole file was read */
  guint64 records;     /* records read */
  guint64 bases;       /* FASTQ/FASTA/SAM/BAM/CRAM: bases read */
  double mean_quality; /* FASTQ/SAM/BAM/CRAM: mean base quality of what was read
                        * (records whose qualities are sound) */
  double n_fraction;   /* fraction of N among bases read */
  GPtrArray *samples;  /* char*: read-group SM (SAM/BAM/CRAM) or sample columns (VCF/BCF) */
  GPtrArray *contigs;  /* char*: "name\tlength" from the header, in header order (length
                        * 0 when a VCF header gives none); FASTA: the sequences read */
  char *sha256;        /* set when a digest was verified or deep mode hashed the file */
  char *md5;           /* set when a declared MD5 was verified */
  guint64 size;        /* file size in bytes */
} StrandDataSummary;

void strand_data_summary_clear (StrandDataSummary *summary);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StrandDataSummary, strand_data_summary_clear)

/* Checks one file and appends every problem found, each with a stable code
 * and `where` as "PATH:LINE", "PATH: record N" or "PATH: byte N" (PATH in
 * its UTF-8 display form). Returns TRUE when there was no error (warnings
 * allowed). `summary` may be NULL; otherwise it must be zero-initialised or
 * cleared, and is filled in even when the file is bad. `options` may be NULL.
 * htslib's log is silenced meanwhile (a few CRAM codec messages of htslib
 * 1.16 go to stderr with fprintf and cannot be). Opens nothing but `path` and
 * `options->reference`, both as local files (no URLs). Thread-safe.
 * Problem codes: see the table at the top of datacheck.c. */
gboolean strand_check_file (const char *path, const StrandCheckOptions *options,
                            StrandDataSummary *summary, GPtrArray *problems);

/* A `sha256sum` or `md5sum` listing, as providers deliver beside their data. */
typedef struct {
  char *path;      /* resolved against the manifest's directory */
  char *sha256;    /* one of these two is set, lower-case hex */
  char *md5;
  guint line;      /* where it was listed */
} StrandManifestEntry;

void strand_manifest_entry_free (StrandManifestEntry *entry);

/* Reads a manifest: GNU `sha256sum`/`md5sum` lines ("HEX  NAME", "HEX *NAME",
 * the backslash-escaped form) or BSD tags ("SHA256 (NAME) = HEX"); blank
 * lines are skipped, CRLF endings accepted. Malformed and duplicate lines are
 * problems with "PATH:LINE". Returns the entries (StrandManifestEntry*, owned),
 * or NULL with a problem when the manifest cannot be read. */
GPtrArray *strand_manifest_load (const char *path, GPtrArray *problems);

G_END_DECLS
