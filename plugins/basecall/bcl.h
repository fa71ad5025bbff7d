/* basecall: reading one tile of a run folder, cycle by cycle, in chunks.
 *
 * Files of lane L, tile T (paths relative to the run folder):
 *
 *   Data/Intensities/BaseCalls/L00L/C<c>.1/s_L_T.bcl[.gz]   one per cycle
 *   Data/Intensities/BaseCalls/L00L/s_L_T.filter            pass-filter flags
 *   Data/Intensities/L00L/s_L_T.locs                        positions (optional)
 *
 * A BCL file is a little-endian uint32 cluster count, then one byte per
 * cluster: bits 0-1 the base (A, C, G, T), bits 2-7 its quality; a quality
 * of 0 (in practice the byte 0) is a no-call. It is plain or gzip-compressed
 * (the ".gz" name says which, and a ".gz" that is not gzip is corrupt). A
 * filter file (version 3) is uint32 0, uint32 version, uint32 count, then a
 * byte per cluster whose bit 0 says the cluster passed the chastity filter.
 * A locs file is int32 1, float 1.0, uint32 count, then float x and y per
 * cluster.
 *
 * All files of a tile are opened together and read in step, `n` clusters at
 * a time, so memory holds one chunk per cycle, never a whole tile or run.
 * Every file must declare the same cluster count and hold exactly that
 * many bytes; anything else (a missing cycle, a short or long file, damaged
 * gzip data) fails with BC_ERR_CORRUPT naming the file. */
#ifndef BC_BCL_H
#define BC_BCL_H

#include <stddef.h>
#include <stdint.h>

#include "bc-error.h"

typedef struct BclTile BclTile;

/* Opens the files of one tile for cycles 1..n_cycles and checks their
 * headers agree. */
BclTile *bcl_tile_open (const char *run_dir, int lane, int tile, int n_cycles,
                        BcError *error);

/* Clusters the tile declares. */
uint32_t bcl_tile_clusters (const BclTile *t);
/* Whether the tile has a positions file; without one, x is the cluster's
 * number in the tile (from 1) and y is 0. */
int bcl_tile_has_positions (const BclTile *t);

/* Reads the next `n` clusters: the byte of cycle c (0-based) of cluster k
 * goes to bcl[c * n + k], its filter flag (1 passed, 0 failed) to pass[k],
 * its read-name coordinates to x[k] and y[k]. `n` must not exceed what is
 * left. Returns 0 or -1. */
int bcl_tile_read (BclTile *t, size_t n, uint8_t *bcl, uint8_t *pass, int32_t *x,
                   int32_t *y, BcError *error);

/* After the last cluster: checks that no file holds more. */
int bcl_tile_finish (BclTile *t, BcError *error);

void bcl_tile_close (BclTile *t);

/* Paths of one tile's files relative to the run folder, for writers and
 * messages. `cycle` is 1-based; `gz` adds ".gz". */
void bcl_path (char *out, size_t size, int lane, int tile, int cycle, int gz);
void bcl_filter_path (char *out, size_t size, int lane, int tile);
void bcl_locs_path (char *out, size_t size, int lane, int tile);

/* The read-name coordinate of a locs position, as bcl2fastq computes it:
 * round (10 x + 1000). */
int32_t bcl_coordinate (float position);

#endif /* BC_BCL_H */
