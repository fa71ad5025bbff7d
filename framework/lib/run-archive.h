/* Run archives: everything needed to check a run's results years later, on
 * a machine that has never seen the store, in one tar.zst (libarchive).
 *
 * The archive is a BagIt 1.0 bag (RFC 8493), which is also what RO-Crate
 * recommends for packaging a crate:
 *
 *   RUN/bagit.txt, bag-info.txt
 *   RUN/data/ro-crate-metadata.json     the run as an RO-Crate (Workflow Run
 *                                       Crate profiles, export-rocrate.h)
 *   RUN/data/SAMPLE/STAGE/PORT/FILE     the run's outputs ("_run" for a
 *                                       per-run stage; a directory output
 *                                       as its directory, a Dataset)
 *   RUN/data/inputs/NAME                the raw inputs, when asked for
 *   RUN/provenance/records.jsonl        the signed records of the run and
 *                                       of what it used, verbatim log lines
 *   RUN/provenance/host.pub, host.vkey  the key that signed them (hex, and
 *                                       as a signed-note verifier key)
 *   RUN/provenance/checkpoint           a signed checkpoint of the log at
 *                                       the run's last record (C2SP note)
 *   RUN/provenance/inclusion-proof.json that every record above is in the
 *                                       log of that checkpoint (RFC 6962)
 *   RUN/provenance/trees/SHA256.json    the manifest of each directory output
 *   RUN/manifest-sha256.txt             `sha256sum -c` and BagIt both read it
 *   RUN/manifest-md5.txt                for submission portals (ENA, EGA)
 *   RUN/tagmanifest-sha256.txt          the digests of everything else
 *
 * plus whatever a caller adds (StrandArchiveExtra: checkpoints, proofs, RO-Crate
 * metadata). Entries are written in a fixed order with fixed owners, modes
 * and times, so the same run gives the same archive bytes.
 *
 * Reading an archive trusts nothing in it: names must be relative, free of
 * "..", under the one top directory; only regular files and directories
 * pass (no links, devices or FIFOs); entry and total sizes and the entry
 * count are bounded, which also stops decompression bombs. */
#pragma once

#include "provenance.h"

G_BEGIN_DECLS

/* The crate's metadata file inside the bag: payload, but made by the
 * archive from the records rather than by a stage. */
#define STRAND_ARCHIVE_CRATE "data/ro-crate-metadata.json"

#define STRAND_ARCHIVE_ERROR (strand_archive_error_quark ())
GQuark strand_archive_error_quark (void);

typedef enum {
  STRAND_ARCHIVE_ERROR_NOT_FOUND, /* no such run */
  STRAND_ARCHIVE_ERROR_IO,
  STRAND_ARCHIVE_ERROR_INTEGRITY, /* an object no longer matches its digest */
  STRAND_ARCHIVE_ERROR_HOSTILE,   /* an entry that must not be extracted */
  STRAND_ARCHIVE_ERROR_FORMAT,    /* not a readable archive */
} StrandArchiveErrorCode;

/* A tag file a caller adds (under RUN/, e.g. "provenance/checkpoint"). */
typedef struct {
  const char *path;
  GBytes *bytes;
} StrandArchiveExtra;

typedef struct {
  gboolean with_inputs;            /* also the raw files the run ingested */
  const StrandArchiveExtra *extras;
  guint n_extras;
} StrandArchiveOptions;

typedef struct {
  guint payload_files;
  guint64 payload_bytes;
  guint records;
  char sha256[65]; /* of the archive file */
} StrandArchiveSummary;

/* Writes the archive of `run_id` to `out_path` (atomically: a temporary
 * file renamed into place) and records the export. */
gboolean strand_archive_run (StrandProvenance *prov, const char *run_id, const char *out_path,
                             const StrandArchiveOptions *options, StrandArchiveSummary *summary,
                             GError **error);

typedef struct {
  guint64 max_entry_bytes; /* 0: 1 TiB */
  guint64 max_total_bytes; /* 0: 4 TiB */
  guint max_entries;       /* 0: 1,000,000 */
} StrandArchiveLimits;

typedef struct {
  char *run_id;
  char *key_id;   /* of the key the records are signed with */
  guint payload_files;
  guint records;
  guint64 log_size;  /* records in the log at the signed checkpoint */
  GPtrArray *extras; /* char*: tag files beyond the fixed ones, for callers to check */
} StrandArchiveReport;

void strand_archive_report_clear (StrandArchiveReport *report);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StrandArchiveReport, strand_archive_report_clear)

/* Checks an archive offline: its entries (as above), every payload file
 * against both manifests, the tag manifest, every record's form and
 * signature with the archive's key, the signed checkpoint and that the
 * inclusion proof proves every record against it, that every payload file
 * is an output some record made (or a member of a recorded directory), and
 * that the RO-Crate describes the files as they are. With
 * `extract_dir` (which must not exist), also writes the payload and tag
 * files there; nothing is written outside it, and on any fault it is
 * removed again. One problem per fault (problems.h). TRUE when clean.
 * `tag_file` (may be NULL) is called for each tag file beyond the fixed
 * ones, with its bytes, so callers can check checkpoints and proofs. */
typedef void (*StrandArchiveTagFunc) (const char *path, GBytes *bytes, gpointer user_data);
gboolean strand_archive_verify (const char *path, const char *extract_dir,
                                const StrandArchiveLimits *limits, StrandArchiveTagFunc tag_file,
                                gpointer user_data, StrandArchiveReport *report,
                                GPtrArray *problems);

G_END_DECLS
