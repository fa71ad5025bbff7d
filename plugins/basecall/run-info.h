/* basecall: RunInfo.xml, the description of an Illumina run folder.
 *
 * It says how many cycles each read has and which reads are index reads,
 * how many lanes the flow cell has and which tiles each lane holds; the
 * BCL files are found from that (see bcl.h). The file is parsed with expat
 * (a real XML parser: entities, comments, CDATA and attribute quoting are
 * its business) and then checked for sense, so every later step can trust
 * the numbers: reads numbered 1..n, 1..1000 cycles each, at most two index
 * reads and two sequenced reads, lanes 1..64, tiles 1..99999 and unique. */
#ifndef BC_RUN_INFO_H
#define BC_RUN_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bc-error.h"

#define RUN_INFO_MAX_READS 8
#define RUN_INFO_MAX_CYCLES_PER_READ 1000
#define RUN_INFO_MAX_LANES 64
#define RUN_INFO_MAX_TILE 99999

typedef struct {
  int number;  /* 1-based, in sequencing order */
  int cycles;
  bool is_index;
  int first_cycle; /* 1-based cycle number of its first cycle in the run */
} RunRead;

typedef struct {
  int lane;
  int tile;
} RunTile;

typedef struct {
  char *run_id;     /* Run/@Id, or "" */
  char *flowcell;   /* Run/Flowcell, or "" */
  char *instrument; /* Run/Instrument, or "" */
  int run_number;   /* Run/@Number, 0 if absent */
  RunRead reads[RUN_INFO_MAX_READS];
  size_t n_reads;
  int total_cycles;
  int lane_count;
  RunTile *tiles; /* sorted by lane, then tile */
  size_t n_tiles;
} RunInfo;

/* Parses `len` bytes of RunInfo.xml; `name` is used in messages
 * ("RunInfo.xml:12: ..."). Fills `info` (free with run_info_clear) and
 * returns 0, or returns -1 with `error` set (BC_ERR_CORRUPT for a bad file,
 * BC_ERR_NO_MEMORY). */
int run_info_parse (const char *data, size_t len, const char *name,
                    RunInfo *info, BcError *error);

/* Reads and parses the file at `path`. */
int run_info_load (const char *path, const char *name, RunInfo *info,
                   BcError *error);

void run_info_clear (RunInfo *info);

/* The sequenced (non-index) reads and the index reads, in order; returns
 * how many were stored (at most `max`). */
size_t run_info_reads (const RunInfo *info, bool index, const RunRead **out,
                       size_t max);

/* Reads a whole small file (at most `max_bytes`) into a NUL-terminated
 * buffer; used for RunInfo.xml and the sample sheet. */
int bc_read_small_file (const char *path, const char *name, size_t max_bytes,
                        char **data, size_t *len, BcError *error);

#endif /* BC_RUN_INFO_H */
