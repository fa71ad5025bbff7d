/* basecall: SampleSheet.csv, which sample carries which index.
 *
 * The Illumina (IEM / bcl2fastq) layout: sections opened by "[Name]" lines;
 * only [Data] matters here. Its first non-empty row names the columns
 * (case-insensitive): Sample_ID (required), index and index2 (the i7 and i5
 * sequences), Lane, Sample_Name, Sample_Project; others are ignored. Fields
 * are CSV: commas, optional double quotes with "" for a quote. Empty rows
 * and the trailing commas spreadsheets leave are skipped. A UTF-8 byte-order
 * mark and CRLF line ends are accepted.
 *
 * Checks: Sample_ID made of [A-Za-z0-9_-] (it names files), indices of
 * A/C/G/T only (upper-cased), Lane in 1..64, one row per sample and lane,
 * and within a lane every sample's index (and index2) of one length. Every
 * problem is reported with the line ("SampleSheet.csv:14: ..."). */
#ifndef BC_SAMPLE_SHEET_H
#define BC_SAMPLE_SHEET_H

#include <stddef.h>

#include "bc-error.h"

#define SAMPLE_SHEET_MAX_INDEX 32 /* bases of one index sequence */
#define SAMPLE_SHEET_MAX_ID 100   /* bytes of a Sample_ID */

typedef struct {
  int lane;      /* 0: every lane */
  char *id;      /* Sample_ID */
  char *name;    /* Sample_Name, or the id */
  char *project; /* Sample_Project, or "" */
  char *index;   /* i7, upper case; "" when none */
  char *index2;  /* i5, upper case; "" when none */
  int number;    /* S<number> in file names: order of first appearance */
  size_t line;   /* where the row is, for messages */
} SheetSample;

typedef struct {
  SheetSample *samples;
  size_t n_samples;
  int n_numbers; /* distinct Sample_IDs */
} SampleSheet;

int sample_sheet_parse (const char *data, size_t len, const char *name,
                        SampleSheet *sheet, BcError *error);
int sample_sheet_load (const char *path, const char *name, SampleSheet *sheet,
                       BcError *error);
void sample_sheet_clear (SampleSheet *sheet);

/* Whether `s` is a valid index sequence (A/C/G/T, any case, at most
 * SAMPLE_SHEET_MAX_INDEX); the empty string is one ("no index"). */
int sample_sheet_valid_index (const char *s);

#endif /* BC_SAMPLE_SHEET_H */
