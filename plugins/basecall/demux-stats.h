/* basecall: demultiplexing statistics and their JSON report.
 *
 * Counted per lane and per sample-sheet row, and for the reads no sample
 * claimed (Undetermined): clusters that passed the filter, those whose
 * indices matched perfectly or with one mismatch, the yield in bases of the
 * sequenced reads (index reads excluded), the bases at Q30 or better and
 * the quality sum. Per lane also the raw cluster count and the most
 * frequent unknown index pairs. The report (schemas/demux-stats.schema.json)
 * gives those per lane and per sample, with the derived percentages. */
#ifndef BC_DEMUX_STATS_H
#define BC_DEMUX_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bc-error.h"
#include "run-info.h"
#include "sample-sheet.h"

typedef struct {
  uint64_t clusters;
  uint64_t perfect;
  uint64_t one_mismatch;
  uint64_t yield;
  uint64_t yield_q30;
  uint64_t quality_sum;
} DemuxCounts;

typedef struct {
  int lane;
  uint64_t clusters_raw;
  uint64_t clusters_pf;
  DemuxCounts *rows;        /* one per sample-sheet row */
  DemuxCounts undetermined;
} LaneStats;

typedef struct DemuxStats DemuxStats;

DemuxStats *demux_stats_new (const RunInfo *info, const SampleSheet *sheet);
void demux_stats_free (DemuxStats *stats);

/* The lane's counters; NULL for a lane without tiles. */
LaneStats *demux_stats_lane (DemuxStats *stats, int lane);

/* Counts one more cluster with an unknown index pair ("ACGT+TTGA"). */
void demux_stats_unknown (DemuxStats *stats, int lane, const char *indices);

/* Adds a cluster's sequenced bases to `counts`. */
static inline void
demux_counts_add_bases (DemuxCounts *counts, const uint8_t *bcl, size_t stride, int cycles)
{
  uint64_t q30 = 0, qsum = 0;
  for (int c = 0; c < cycles; c++)
    {
      unsigned q = bcl[(size_t) c * stride] >> 2;
      qsum += q ? q : 2; /* a no-call is written as quality 2 */
      q30 += q >= 30;
    }
  counts->yield += (uint64_t) cycles;
  counts->yield_q30 += q30;
  counts->quality_sum += qsum;
}

typedef struct {
  int mismatches;
  const bool *row_in_run; /* per sheet row: are its reads written? */
} DemuxReportOptions;

/* Writes the JSON report. */
int demux_stats_write_json (const DemuxStats *stats, const RunInfo *info,
                            const SampleSheet *sheet, const DemuxReportOptions *options,
                            FILE *out);

/* Totals across lanes for every row of sample `id` (all rows when NULL
 * and `undetermined` is false), or for Undetermined. */
DemuxCounts demux_stats_total (const DemuxStats *stats, const SampleSheet *sheet,
                               const char *id, bool undetermined);

#endif /* BC_DEMUX_STATS_H */
