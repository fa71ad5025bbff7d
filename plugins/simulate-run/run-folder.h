/* simulate-run: writing an Illumina run folder.
 *
 *   RunInfo.xml                  reads, cycles, lanes, tiles
 *   SampleSheet.csv              each sample's i7 (index) and i5 (index2)
 *   RTAComplete.txt              the instrument's "finished" mark
 *   Data/Intensities/BaseCalls/L00N/C<cycle>.1/s_N_<tile>.bcl[.gz]
 *   Data/Intensities/BaseCalls/L00N/s_N_<tile>.filter
 *   Data/Intensities/L00N/s_N_<tile>.locs
 *
 * in the formats basecall (and bcl2fastq) read: see plugins/basecall/bcl.h.
 * Tile numbers follow the FourDigit convention: surface, swath, tile
 * (1101, 1102, ..., 2101, ...). */
#ifndef SIM_RUN_FOLDER_H
#define SIM_RUN_FOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim-error.h"

#define RUN_FOLDER_MAX_TILES 198 /* per lane: 2 surfaces x 99 */

typedef struct {
  const char *run_id;
  const char *flowcell;
  const char *instrument;
  const char *date; /* YYMMDD */
  int run_number;
  int read_length;
  bool paired;
  int i7_cycles;
  int i5_cycles;
  int lanes;
  int tiles; /* per lane */
} RunLayout;

typedef struct {
  const char *id;
  const char *index;
  const char *index2;
} SheetRow;

/* The number of the i-th tile of a lane (0 <= i < tiles), in sorted order. */
int run_folder_tile_number (const RunLayout *layout, int i);

/* The read-name coordinate bcl2fastq derives from a locs position:
 * round (10 p + 1000). */
int32_t run_folder_coordinate (float position);

/* Creates the directory tree under `dir` (which must exist). */
int run_folder_create (const char *dir, const RunLayout *layout, int cycles, SimError *error);
int run_folder_write_run_info (const char *dir, const RunLayout *layout, SimError *error);
int run_folder_write_sample_sheet (const char *dir, const RunLayout *layout,
                                   const SheetRow *rows, size_t n, SimError *error);
int run_folder_write_complete (const char *dir, SimError *error);

/* Writes one tile: `bcl` holds cycle c of cluster k at bcl[c * n + k];
 * `pass` a byte per cluster (1: passed the filter); `x` and `y` the
 * positions. Cycle files are compressed by `threads` threads when `gzip`. */
int run_folder_write_tile (const char *dir, int lane, int tile, int cycles, const uint8_t *bcl,
                           uint32_t n, const uint8_t *pass, const float *x, const float *y,
                           bool gzip, int threads, SimError *error);

#endif /* SIM_RUN_FOLDER_H */
