/* simulate-run: what the instrument reads from one cluster.
 *
 * A cluster is one fragment of a sample's genome: a haplotype, a sequence
 * weighted by its length, an insert size drawn around `insert_mean`, a
 * random position and strand. Read 1 sequences the fragment's start, read
 * 2 its end on the other strand; a fragment shorter than a read runs into
 * the adapter (AGATCGGAAGAGC...), as real libraries do. The index reads
 * give the sample's i7 and i5 (a shorter index runs into the adapter too).
 * Clusters with an unknown index carry a random fragment and random indices
 * at least 4 (or, for short indices, 3) mismatches from every sample's.
 *
 * Each base gets a quality first: about Q36 early in a read, declining
 * along it and faster near its end, read 2 a little worse, noise per base,
 * an occasional dip, an offset per cluster, much lower for clusters that
 * fail the filter; optionally binned to NovaSeq's four values. Then the
 * base is miscalled with the probability its quality states (10^(-Q/10)),
 * or not called at all (`n_rate`), so qualities and errors agree the way
 * a base-quality recalibrator expects.
 *
 * Cycles are numbered as RunInfo.xml lists the reads: read 1, index 1
 * (i7), index 2 (i5), read 2. */
#ifndef SIM_SEQUENCER_H
#define SIM_SEQUENCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim-rng.h"
#include "variants.h"

#define SEQ_MAX_INDEX 24
#define SEQ_MAX_READ 1000

typedef struct {
  int read_length;
  bool paired;
  int i7_cycles; /* 0: no index reads */
  int i5_cycles; /* 0: one index read */
  double insert_mean;
  double insert_sd;
  double n_rate;
  bool binned;
} SeqConfig;

typedef struct {
  char i7[SEQ_MAX_INDEX + 1]; /* the sheet's index, A/C/G/T */
  char i5[SEQ_MAX_INDEX + 1];
  Haplotype hap[2];
} SeqSample;

typedef struct Sequencer Sequencer;

/* `samples` must outlive the sequencer. */
Sequencer *sequencer_new (const SeqConfig *config, const SeqSample *samples, size_t n_samples);
void sequencer_free (Sequencer *s);
int sequencer_cycles (const Sequencer *s);

/* Where a cluster came from, for the read-truth table. */
typedef struct {
  int haplotype;
  size_t contig;
  size_t start; /* 0-based, on the haplotype */
  bool reverse;
  int insert;
  char r1[SEQ_MAX_READ + 1]; /* read 1 and 2 without errors */
  char r2[SEQ_MAX_READ + 1];
  char i7[SEQ_MAX_INDEX + 1]; /* index reads without errors */
  char i5[SEQ_MAX_INDEX + 1];
} ClusterTruth;

/* Writes the BCL byte of every cycle of one cluster to out[c * stride];
 * `sample` < 0 makes a cluster with an unknown index. */
void sequencer_cluster (const Sequencer *s, SimRng *rng, int sample, bool filtered,
                        uint8_t *out, size_t stride, ClusterTruth *truth);

/* What an index read (i7, or i5 when `i5`) shows for a sample: its index,
 * then the adapter that follows when the index is shorter than the index
 * cycles. `out` needs cycles + 1 bytes. */
void sequencer_index_read (const char *index, int cycles, bool i5, char *out);

#endif /* SIM_SEQUENCER_H */
