/* simulate-run: a simulated sequencer, the equipment driver for demos and
 * tests.
 *
 * A per-run stage. From a reference FASTA it makes, for every sample of
 * the run, a diploid genome with known SNVs and small indels (variants.h)
 * and its truth VCF; then sequences a flow cell on which the samples'
 * libraries are pooled (sequencer.h) and writes the Illumina run folder an
 * instrument would (run-folder.h), for basecall to demultiplex.
 *
 * Each sample's share of clusters follows `coverage` (varying by up to
 * 15% between samples, as pooling does) or is exactly `reads_per_sample`;
 * `undetermined_fraction` more carry unknown indices and
 * `filtered_fraction` of all fail the chastity filter. The clusters are
 * shuffled over the lanes and tiles. Indices come from the samples'
 * metadata ("index", "index2") or from a built-in set of well-separated
 * sequences. Everything is a function of the parameters, the reference and
 * the sample ids: the same seed gives the same bytes, and the clock is
 * never read (the run date is a parameter). */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reference.h"
#include "run-folder.h"
#include "sequencer.h"
#include "sim-rng.h"
#include "variants.h"

#define MAX_CLUSTERS (UINT32_C (200000000))
#define MAX_TILE_BYTES ((uint64_t) 1 << 30) /* one tile's BCL in memory */
#define AUTO_TILE_CLUSTERS 200000
#define UNDETERMINED UINT32_C (0xffffff)
#define FILTERED UINT32_C (0x80000000)
#define PURPOSE_ORDER 0x6f72646572ULL
#define PURPOSE_TILE 0x74696c65ULL
#define PURPOSE_SHARE 0x7368617265ULL
#define PURPOSE_INDEX 0x696e646578ULL
#define PURPOSE_FLOWCELL 0x666cULL

typedef struct {
  int64_t seed, reads_per_sample, read_length, index_length, max_indel, lanes, tiles, run_number;
  double coverage, insert_mean, insert_sd, snv_rate, indel_rate, het_fraction;
  double undetermined_fraction, filtered_fraction, n_rate;
  bool paired, dual, read_truth;
  const char *quality_model, *bcl_compression, *instrument, *run_date;
} Params;

typedef struct {
  StrandTask *task;
  const StrandHost *host;
  SimError error;
  Params p;
  Reference ref;
  const char *ref_name;
  size_t n_samples;
  const char **ids;
  SeqSample *samples;
  VariantSet *variants;
  uint64_t *clusters; /* per sample, passed filter */
  uint32_t *labels;   /* per cluster: sample or UNDETERMINED, | FILTERED */
  uint64_t n_clusters;
  Sequencer *seq;
  char run_id[128];
  char flowcell[32];
} Sim;

static StrandErrorClass
error_class (SimErrorKind kind)
{
  switch (kind)
    {
    case SIM_ERR_INPUT: return STRAND_ERROR_INVALID_INPUT;
    case SIM_ERR_CONFIG: return STRAND_ERROR_CONFIG;
    case SIM_ERR_NO_MEMORY: return STRAND_ERROR_RESOURCE;
    case SIM_ERR_NO_SPACE: return STRAND_ERROR_STORAGE;
    default: return STRAND_ERROR_TRANSIENT;
    }
}

/* ---- parameters and samples ---------------------------------------------- */

static int
read_params (StrandTask *task, const StrandHost *host, Params *p)
{
  if (host->param_int (task, "seed", &p->seed) < 0
      || host->param_int (task, "reads_per_sample", &p->reads_per_sample) < 0
      || host->param_int (task, "read_length", &p->read_length) < 0
      || host->param_int (task, "index_length", &p->index_length) < 0
      || host->param_int (task, "max_indel_length", &p->max_indel) < 0
      || host->param_int (task, "lanes", &p->lanes) < 0
      || host->param_int (task, "tiles", &p->tiles) < 0
      || host->param_int (task, "run_number", &p->run_number) < 0
      || host->param_double (task, "coverage", &p->coverage) < 0
      || host->param_double (task, "insert_mean", &p->insert_mean) < 0
      || host->param_double (task, "insert_sd", &p->insert_sd) < 0
      || host->param_double (task, "snv_rate", &p->snv_rate) < 0
      || host->param_double (task, "indel_rate", &p->indel_rate) < 0
      || host->param_double (task, "het_fraction", &p->het_fraction) < 0
      || host->param_double (task, "undetermined_fraction", &p->undetermined_fraction) < 0
      || host->param_double (task, "filtered_fraction", &p->filtered_fraction) < 0
      || host->param_double (task, "n_rate", &p->n_rate) < 0
      || host->param_bool (task, "paired", &p->paired) < 0
      || host->param_bool (task, "dual_index", &p->dual) < 0
      || host->param_bool (task, "read_truth", &p->read_truth) < 0
      || host->param_string (task, "quality_model", &p->quality_model) < 0
      || host->param_string (task, "bcl_compression", &p->bcl_compression) < 0
      || host->param_string (task, "instrument", &p->instrument) < 0
      || host->param_string (task, "run_date", &p->run_date) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read the parameters");
  if (p->index_length > 0 && p->index_length < 4)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "param 'index_length': %" PRId64 " is too short to tell samples apart; "
                       "use 0 (no index reads) or 4..%d", p->index_length, SEQ_MAX_INDEX);
  if (p->instrument[0] == '\0' || strlen (p->instrument) > 32)
    return host->fail (task, STRAND_ERROR_CONFIG, "param 'instrument': 1 to 32 characters");
  for (const char *c = p->instrument; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
          || *c == '_' || *c == '-'))
      return host->fail (task, STRAND_ERROR_CONFIG,
                         "param 'instrument': '%s' may hold only letters, digits, '_' and '-'",
                         p->instrument);
  bool date_ok = strlen (p->run_date) == 6;
  for (int i = 0; date_ok && i < 6; i++)
    date_ok = p->run_date[i] >= '0' && p->run_date[i] <= '9';
  if (!date_ok)
    return host->fail (task, STRAND_ERROR_CONFIG, "param 'run_date': '%s' is not YYMMDD",
                       p->run_date);
  return STRAND_OK;
}

/* Sample ids name files and sample-sheet rows: bcl2fastq's characters. */
static bool
valid_sample_id (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 100)
    return false;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')
          || *s == '_' || *s == '-'))
      return false;
  return true;
}

static bool
valid_index (const char *s, int max)
{
  int n = 0;
  for (; *s; s++, n++)
    if (*s != 'A' && *s != 'C' && *s != 'G' && *s != 'T')
      return false;
  return n > 0 && n <= max;
}

static int
hamming (const char *a, const char *b, size_t n)
{
  int d = 0;
  for (size_t i = 0; i < n; i++)
    d += a[i] != b[i];
  return d;
}

static bool
balanced (const char *s, int len)
{
  int gc = 0;
  for (int i = 0; i < len; i++)
    {
      gc += s[i] == 'G' || s[i] == 'C';
      if (i >= 2 && s[i] == s[i - 1] && s[i] == s[i - 2])
        return false;
    }
  return 8 * gc >= 3 * len && 8 * gc <= 5 * len;
}

/* Fills the samples that gave no index from a built-in set: sequences of
 * `len` bases, GC 37-63%, no triplet of one base, at least 4 (3 below 8
 * bases) mismatches from each other and from the indices samples gave. The
 * set is the same for every run: it is drawn from a fixed stream, not the
 * run's seed. */
static int
builtin_indices (Sim *s, bool i5)
{
  int len = (int) s->p.index_length;
  int need = len >= 8 ? 4 : 3;
  SimRng rng;
  sim_rng_seed (&rng, 0, PURPOSE_INDEX, (uint64_t) len, i5);
  char cand[SEQ_MAX_INDEX + 1];
  cand[len] = '\0';
  for (size_t k = 0; k < s->n_samples; k++)
    {
      char *slot = i5 ? s->samples[k].i5 : s->samples[k].i7;
      if (slot[0] != '\0')
        continue;
      bool found = false;
      for (int attempt = 0; attempt < 200000 && !found; attempt++)
        {
          for (int i = 0; i < len; i++)
            cand[i] = "ACGT"[sim_rng_next (&rng) >> 62];
          if (!balanced (cand, len))
            continue;
          found = true;
          for (size_t j = 0; j < s->n_samples && found; j++)
            {
              const char *other = i5 ? s->samples[j].i5 : s->samples[j].i7;
              size_t olen = strlen (other);
              if (j != k && olen > 0)
                found = hamming (cand, other, olen < (size_t) len ? olen : (size_t) len) >= need;
            }
        }
      if (!found)
        return sim_error_set (&s->error, SIM_ERR_CONFIG,
                              "no room for %zu well-separated %d-base indices: give the "
                              "samples 'index'%s metadata, or a longer index_length",
                              s->n_samples, len, s->p.dual ? " and 'index2'" : "");
      memcpy (slot, cand, (size_t) len + 1);
    }
  return 0;
}

static int
load_samples (Sim *s)
{
  const StrandHost *host = s->host;
  StrandTask *task = s->task;
  s->n_samples = host->run_sample_count (task);
  if (s->n_samples == 0)
    return sim_error_set (&s->error, SIM_ERR_CONFIG, "the run has no samples");
  if (s->p.index_length == 0 && s->n_samples > 1)
    return sim_error_set (&s->error, SIM_ERR_CONFIG,
                          "%zu samples cannot share a lane without index reads: set "
                          "index_length", s->n_samples);
  s->ids = calloc (s->n_samples, sizeof *s->ids);
  s->samples = calloc (s->n_samples, sizeof *s->samples);
  s->variants = calloc (s->n_samples, sizeof *s->variants);
  s->clusters = calloc (s->n_samples, sizeof *s->clusters);
  if (!s->ids || !s->samples || !s->variants || !s->clusters)
    return sim_error_set (&s->error, SIM_ERR_NO_MEMORY, "out of memory");
  int len = (int) s->p.index_length;
  for (size_t k = 0; k < s->n_samples; k++)
    {
      const char *id = host->run_sample_id (task, k);
      if (id == NULL || !valid_sample_id (id))
        return sim_error_set (&s->error, SIM_ERR_CONFIG,
                              "sample '%s': a sample sheet needs ids of 1-100 characters of "
                              "A-Z, a-z, 0-9, '_' and '-'", id ? id : "(null)");
      s->ids[k] = id;
      const char *i7 = host->run_sample_meta (task, id, "index");
      const char *i5 = host->run_sample_meta (task, id, "index2");
      if (i7 != NULL && i7[0] != '\0')
        {
          if (len == 0 || !valid_index (i7, len))
            return sim_error_set (&s->error, SIM_ERR_CONFIG,
                                  "sample '%s': index '%s' must be 1-%d bases of A, C, G and T "
                                  "(index_length)", id, i7, len);
          if (s->p.dual && (i5 == NULL || i5[0] == '\0'))
            return sim_error_set (&s->error, SIM_ERR_CONFIG,
                                  "sample '%s' has an index but no index2, and the run is "
                                  "dual-indexed (dual_index)", id);
          snprintf (s->samples[k].i7, sizeof s->samples[k].i7, "%s", i7);
        }
      if (i5 != NULL && i5[0] != '\0')
        {
          if (!s->p.dual || len == 0)
            return sim_error_set (&s->error, SIM_ERR_CONFIG,
                                  "sample '%s' has an index2 but the run reads no i5 "
                                  "(dual_index is false)", id);
          if (!valid_index (i5, len))
            return sim_error_set (&s->error, SIM_ERR_CONFIG,
                                  "sample '%s': index2 '%s' must be 1-%d bases of A, C, G and "
                                  "T (index_length)", id, i5, len);
          if (i7 == NULL || i7[0] == '\0')
            return sim_error_set (&s->error, SIM_ERR_CONFIG,
                                  "sample '%s' has an index2 but no index", id);
          snprintf (s->samples[k].i5, sizeof s->samples[k].i5, "%s", i5);
        }
      for (size_t j = 0; j < k; j++)
        if (strcmp (s->ids[j], id) == 0)
          return sim_error_set (&s->error, SIM_ERR_CONFIG, "sample '%s' is listed twice", id);
    }
  if (len > 0 && (builtin_indices (s, false) < 0 || (s->p.dual && builtin_indices (s, true) < 0)))
    return -1;
  return 0;
}

/* ---- genomes and truth ---------------------------------------------------- */

static int
make_genomes (Sim *s)
{
  VariantParams vp = { .snv_rate = s->p.snv_rate, .indel_rate = s->p.indel_rate,
                       .het_fraction = s->p.het_fraction, .max_indel = (int) s->p.max_indel };
  for (size_t k = 0; k < s->n_samples; k++)
    {
      const char *id = s->ids[k];
      if (variants_generate (&s->ref, &vp, (uint64_t) s->p.seed, id, &s->variants[k], &s->error) < 0
          || haplotype_build (&s->ref, &s->variants[k], 0, &s->samples[k].hap[0], &s->error) < 0
          || haplotype_build (&s->ref, &s->variants[k], 1, &s->samples[k].hap[1], &s->error) < 0)
        return -1;
      char vcf_name[160], tbi_name[170];
      snprintf (vcf_name, sizeof vcf_name, "%s.truth.vcf.gz", id);
      snprintf (tbi_name, sizeof tbi_name, "%s.truth.vcf.gz.tbi", id);
      const char *vcf = NULL, *tbi = NULL;
      if (s->host->sample_output_path (s->task, "truth", id, vcf_name, &vcf) < 0 || vcf == NULL
          || s->host->sample_output_path (s->task, "truth_index", id, tbi_name, &tbi) < 0
          || tbi == NULL)
        return sim_error_set (&s->error, SIM_ERR_IO, "no output path for %s's truth VCF", id);
      if (variants_write_vcf (&s->ref, &s->variants[k], id, s->ref_name, vcf, tbi, &s->error) < 0)
        return -1;
      size_t snvs = 0;
      for (size_t i = 0; i < s->variants[k].n; i++)
        snvs += strlen (s->variants[k].v[i].ref) == strlen (s->variants[k].v[i].alt);
      char metric[160];
      snprintf (metric, sizeof metric, "sample.%s.snvs", id);
      s->host->metric (s->task, metric, (double) snvs);
      snprintf (metric, sizeof metric, "sample.%s.indels", id);
      s->host->metric (s->task, metric, (double) (s->variants[k].n - snvs));
    }
  return 0;
}

/* ---- the flow cell -------------------------------------------------------- */

/* How many clusters each sample gets, then the order of all clusters. */
static int
plan_clusters (Sim *s)
{
  const Params *p = &s->p;
  double bases_per_cluster = (double) p->read_length * (p->paired ? 2.0 : 1.0);
  uint64_t total = 0;
  for (size_t k = 0; k < s->n_samples; k++)
    {
      double want;
      if (p->reads_per_sample > 0)
        want = (double) p->reads_per_sample;
      else
        {
          SimRng share;
          sim_rng_seed (&share, (uint64_t) p->seed, PURPOSE_SHARE, sim_hash_string (s->ids[k]), 0);
          double genome = (double) (s->samples[k].hap[0].total + s->samples[k].hap[1].total) / 2.0;
          want = p->coverage * genome / bases_per_cluster
                 * (0.85 + 0.30 * sim_rng_uniform (&share));
        }
      if (want > (double) MAX_CLUSTERS)
        want = (double) MAX_CLUSTERS;
      s->clusters[k] = want < 1.0 ? 1 : (uint64_t) (want + 0.5);
      total += s->clusters[k];
    }
  double u = p->index_length > 0 ? p->undetermined_fraction : 0.0;
  uint64_t undetermined = (uint64_t) ((double) total * u / (1.0 - u) + 0.5);
  uint64_t pf = total + undetermined;
  uint64_t filtered = (uint64_t) ((double) pf * p->filtered_fraction
                                  / (1.0 - p->filtered_fraction) + 0.5);
  s->n_clusters = pf + filtered;
  if (s->n_clusters > MAX_CLUSTERS)
    return sim_error_set (&s->error, SIM_ERR_CONFIG,
                          "%" PRIu64 " clusters: more than the %" PRIu32 " a simulated run "
                          "holds; lower coverage or reads_per_sample", s->n_clusters,
                          MAX_CLUSTERS);
  s->labels = malloc (s->n_clusters * sizeof *s->labels);
  if (s->labels == NULL)
    return sim_error_set (&s->error, SIM_ERR_NO_MEMORY, "out of memory for %" PRIu64 " clusters",
                          s->n_clusters);
  uint64_t at = 0;
  for (size_t k = 0; k < s->n_samples; k++)
    for (uint64_t i = 0; i < s->clusters[k]; i++)
      s->labels[at++] = (uint32_t) k;
  for (uint64_t i = 0; i < undetermined; i++)
    s->labels[at++] = UNDETERMINED;
  /* Filtered clusters come from the same pool as the others. */
  SimRng order;
  sim_rng_seed (&order, (uint64_t) p->seed, PURPOSE_ORDER, 0, 0);
  for (uint64_t i = 0; i < filtered; i++)
    s->labels[at++] = s->labels[sim_rng_below (&order, pf)] | FILTERED;
  for (uint64_t i = s->n_clusters - 1; i > 0; i--)
    {
      uint64_t j = sim_rng_below (&order, i + 1);
      uint32_t t = s->labels[i];
      s->labels[i] = s->labels[j];
      s->labels[j] = t;
    }
  return 0;
}

static int
write_truth_row (FILE *f, const Sim *s, int lane, int tile, int32_t x, int32_t y, uint32_t label,
                 const ClusterTruth *t)
{
  uint32_t k = label & ~FILTERED;
  const char *sample = k == UNDETERMINED ? "*" : s->ids[k];
  const char *contig = k == UNDETERMINED ? "*" : s->ref.contigs[t->contig].name;
  fprintf (f, "%d\t%d\t%" PRId32 "\t%" PRId32 "\t%s\t%d\t", lane, tile, x, y, sample,
           (label & FILTERED) ? 0 : 1);
  if (k == UNDETERMINED)
    fputs ("*\t*\t*\t*\t", f);
  else
    fprintf (f, "%d\t%s\t%zu\t%c\t", t->haplotype, contig, t->start + 1, t->reverse ? '-' : '+');
  return fprintf (f, "%d\t%s\t%s\t%s\t%s\n", t->insert, t->i7[0] ? t->i7 : "*",
                  t->i5[0] ? t->i5 : "*", t->r1, s->p.paired ? t->r2 : "*") < 0 ? -1 : 0;
}

static int
sequence_tiles (Sim *s, const char *dir, const RunLayout *layout, FILE *truth)
{
  int cycles = sequencer_cycles (s->seq);
  int n_tiles = (int) (s->p.lanes * s->p.tiles);
  uint64_t per_tile = s->n_clusters / (uint64_t) n_tiles;
  uint64_t extra = s->n_clusters % (uint64_t) n_tiles;
  uint64_t biggest = per_tile + (extra ? 1 : 0);
  if (biggest * (uint64_t) cycles > MAX_TILE_BYTES)
    return sim_error_set (&s->error, SIM_ERR_CONFIG,
                          "%" PRIu64 " clusters per tile of %d cycles is more than a tile "
                          "should hold in memory: raise 'tiles'", biggest, cycles);
  uint8_t *bcl = malloc ((size_t) (biggest ? biggest : 1) * (size_t) cycles);
  uint8_t *pass = malloc ((size_t) (biggest ? biggest : 1));
  float *x = malloc ((size_t) (biggest ? biggest : 1) * sizeof *x);
  float *y = malloc ((size_t) (biggest ? biggest : 1) * sizeof *y);
  ClusterTruth *t = malloc (sizeof *t);
  int rc = 0;
  if (!bcl || !pass || !x || !y || !t)
    rc = sim_error_set (&s->error, SIM_ERR_NO_MEMORY, "out of memory for a tile");
  bool gzip = strcmp (s->p.bcl_compression, "gzip") == 0;
  uint32_t cores = s->host->cores (s->task);
  uint64_t first = 0;
  for (int g = 0; rc == 0 && g < n_tiles; g++)
    {
      if (s->host->cancelled (s->task))
        {
          rc = 1;
          break;
        }
      int lane = g / (int) s->p.tiles + 1;
      int tile = run_folder_tile_number (layout, g % (int) s->p.tiles);
      uint64_t n = per_tile + ((uint64_t) g < extra ? 1 : 0);
      char msg[64];
      snprintf (msg, sizeof msg, "lane %d, tile %d", lane, tile);
      s->host->progress (s->task, 0.1 + 0.9 * (double) g / (double) n_tiles, msg);
      SimRng rng;
      sim_rng_seed (&rng, (uint64_t) s->p.seed, PURPOSE_TILE, (uint64_t) lane, (uint64_t) tile);
      /* Clusters sit on a grid with a little jitter, about 0.3 um apart. */
      for (uint64_t k = 0; k < n; k++)
        {
          uint32_t label = s->labels[first + k];
          uint32_t sample = label & ~FILTERED;
          sequencer_cluster (s->seq, &rng, sample == UNDETERMINED ? -1 : (int) sample,
                             (label & FILTERED) != 0, bcl + k, (size_t) n, t);
          pass[k] = (label & FILTERED) ? 0 : 1;
          uint64_t jitter = sim_rng_next (&rng);
          x[k] = (float) (20 + (k % 2048) * 10 + (jitter & 7)) / 10.0f;
          y[k] = (float) (20 + (k / 2048) * 10 + ((jitter >> 3) & 7)) / 10.0f;
          if (truth != NULL
              && write_truth_row (truth, s, lane, tile, run_folder_coordinate (x[k]),
                                  run_folder_coordinate (y[k]), label, t) < 0)
            rc = sim_error_set (&s->error, sim_error_kind_from_errno (errno),
                                "read truth: write failed: %s", strerror (errno));
        }
      if (rc == 0)
        rc = run_folder_write_tile (dir, lane, tile, cycles, bcl, (uint32_t) n, pass, x, y, gzip,
                                    (int) cores, &s->error);
      first += n;
    }
  free (bcl);
  free (pass);
  free (x);
  free (y);
  free (t);
  return rc;
}

static int
simulate (Sim *s)
{
  const Params *p = &s->p;
  if (s->host->input_count (s->task, "reference") < 1)
    return sim_error_set (&s->error, SIM_ERR_CONFIG, "no reference on input 'reference'");
  const char *ref_path = s->host->input_path (s->task, "reference", 0);
  const char *slash = ref_path ? strrchr (ref_path, '/') : NULL;
  s->ref_name = slash ? slash + 1 : ref_path ? ref_path : "reference";
  if (ref_path == NULL || reference_load (ref_path, s->ref_name, &s->ref, &s->error) < 0
      || load_samples (s) < 0)
    return -1;
  s->host->progress (s->task, 0.0, "genomes");
  if (make_genomes (s) < 0 || plan_clusters (s) < 0)
    return -1;

  int64_t tiles = p->tiles;
  if (tiles == 0)
    {
      uint64_t per_lane = s->n_clusters / (uint64_t) p->lanes;
      tiles = (int64_t) ((per_lane + AUTO_TILE_CLUSTERS - 1) / AUTO_TILE_CLUSTERS);
      tiles = tiles < 2 ? 2 : tiles > RUN_FOLDER_MAX_TILES ? RUN_FOLDER_MAX_TILES : tiles;
      s->p.tiles = tiles;
    }

  SimRng fc;
  sim_rng_seed (&fc, (uint64_t) p->seed, PURPOSE_FLOWCELL, 0, 0);
  snprintf (s->flowcell, sizeof s->flowcell, "SIM%07" PRIX64,
            sim_rng_next (&fc) & UINT64_C (0xfffffff));
  snprintf (s->run_id, sizeof s->run_id, "%s_%s_%04" PRId64 "_A%s", p->run_date, p->instrument,
            p->run_number, s->flowcell);

  RunLayout layout = {
    .run_id = s->run_id, .flowcell = s->flowcell, .instrument = p->instrument,
    .date = p->run_date, .run_number = (int) p->run_number, .read_length = (int) p->read_length,
    .paired = p->paired, .i7_cycles = (int) p->index_length,
    .i5_cycles = p->dual ? (int) p->index_length : 0, .lanes = (int) p->lanes,
    .tiles = (int) s->p.tiles,
  };
  SeqConfig cfg = {
    .read_length = (int) p->read_length, .paired = p->paired, .i7_cycles = layout.i7_cycles,
    .i5_cycles = layout.i5_cycles, .insert_mean = p->insert_mean, .insert_sd = p->insert_sd,
    .n_rate = p->n_rate, .binned = strcmp (p->quality_model, "binned") == 0,
  };
  s->seq = sequencer_new (&cfg, s->samples, s->n_samples);
  if (s->seq == NULL)
    return sim_error_set (&s->error, SIM_ERR_NO_MEMORY, "out of memory");

  const char *dir = NULL;
  if (s->host->output_path (s->task, "run", s->run_id, &dir) < 0 || dir == NULL)
    return sim_error_set (&s->error, SIM_ERR_IO, "no output path for the run folder");
  if (mkdir (dir, 0755) != 0)
    return sim_error_set (&s->error, sim_error_kind_from_errno (errno), "%s: cannot create: %s",
                          s->run_id, strerror (errno));
  if (run_folder_create (dir, &layout, sequencer_cycles (s->seq), &s->error) < 0)
    return -1;

  FILE *truth = NULL;
  if (p->read_truth)
    {
      const char *path = NULL;
      if (s->host->output_path (s->task, "read_truth", "read-truth.tsv", &path) < 0 || path == NULL)
        return sim_error_set (&s->error, SIM_ERR_IO, "no output path for the read truth");
      truth = fopen (path, "w");
      if (truth == NULL)
        return sim_error_set (&s->error, sim_error_kind_from_errno (errno),
                              "read-truth.tsv: cannot create: %s", strerror (errno));
      fputs ("#lane\ttile\tx\ty\tsample\tpass_filter\thaplotype\tcontig\tstart\tstrand\t"
             "insert\tindex\tindex2\tread1\tread2\n", truth);
    }
  int rc = sequence_tiles (s, dir, &layout, truth);
  if (truth != NULL)
    {
      int err = ferror (truth) ? (errno ? errno : EIO) : 0;
      if (fclose (truth) != 0 && err == 0)
        err = errno ? errno : EIO;
      if (err != 0 && rc == 0)
        rc = sim_error_set (&s->error, sim_error_kind_from_errno (err),
                            "read-truth.tsv: write failed: %s", strerror (err));
    }
  if (rc != 0)
    return rc;

  SheetRow *rows = calloc (s->n_samples, sizeof *rows);
  if (rows == NULL)
    return sim_error_set (&s->error, SIM_ERR_NO_MEMORY, "out of memory");
  for (size_t k = 0; k < s->n_samples; k++)
    rows[k] = (SheetRow) { s->ids[k], s->samples[k].i7, s->samples[k].i5 };
  rc = run_folder_write_run_info (dir, &layout, &s->error) < 0
               || run_folder_write_sample_sheet (dir, &layout, rows, s->n_samples, &s->error) < 0
               || run_folder_write_complete (dir, &s->error) < 0
           ? -1
           : 0;
  free (rows);
  return rc;
}

static void
sim_clear (Sim *s)
{
  sequencer_free (s->seq);
  for (size_t k = 0; s->samples != NULL && k < s->n_samples; k++)
    {
      haplotype_clear (&s->samples[k].hap[0]);
      haplotype_clear (&s->samples[k].hap[1]);
    }
  for (size_t k = 0; s->variants != NULL && k < s->n_samples; k++)
    variants_clear (&s->variants[k]);
  free (s->samples);
  free (s->variants);
  free (s->ids);
  free (s->clusters);
  free (s->labels);
  reference_clear (&s->ref);
}

static int
run (StrandTask *task, const StrandHost *host)
{
  Sim s = { .task = task, .host = host };
  int ret = read_params (task, host, &s.p);
  if (ret != STRAND_OK)
    return ret;
  int rc = simulate (&s);
  if (rc == 0)
    {
      uint64_t filtered = 0, undetermined = 0;
      for (uint64_t i = 0; i < s.n_clusters; i++)
        {
          filtered += (s.labels[i] & FILTERED) != 0;
          undetermined += (s.labels[i] & ~FILTERED) == UNDETERMINED && !(s.labels[i] & FILTERED);
        }
      host->metric (task, "clusters_raw", (double) s.n_clusters);
      host->metric (task, "clusters_pf", (double) (s.n_clusters - filtered));
      host->metric (task, "undetermined_clusters", (double) undetermined);
      for (size_t k = 0; k < s.n_samples; k++)
        {
          char metric[160];
          snprintf (metric, sizeof metric, "sample.%s.clusters", s.ids[k]);
          host->metric (task, metric, (double) s.clusters[k]);
          host->log (task, STRAND_LOG_INFO, "%s: %s+%s, %zu variants, %" PRIu64 " clusters",
                     s.ids[k], s.samples[k].i7, s.samples[k].i5, s.variants[k].n, s.clusters[k]);
        }
      host->log (task, STRAND_LOG_INFO, "run %s: %" PRIu64 " clusters on %" PRId64 " lane%s x %"
                 PRId64 " tiles", s.run_id, s.n_clusters, s.p.lanes, s.p.lanes == 1 ? "" : "s",
                 s.p.tiles);
      host->progress (task, 1.0, "done");
    }
  sim_clear (&s);
  if (rc > 0)
    return STRAND_E_CANCELLED;
  if (rc < 0)
    return host->fail (task, error_class (s.error.kind), "%s", s.error.message);
  return STRAND_OK;
}

/* Before the run: the parameters and the samples' ids and indices. */
static int
validate (StrandTask *task, const StrandHost *host)
{
  Sim s = { .task = task, .host = host };
  int ret = read_params (task, host, &s.p);
  if (ret != STRAND_OK)
    return ret;
  int rc = load_samples (&s);
  sim_clear (&s);
  if (rc < 0)
    return host->fail (task, error_class (s.error.kind), "%s", s.error.message);
  return STRAND_OK;
}

/* ---- descriptor ------------------------------------------------------------ */

static const StrandPort inputs[] = {
  { .name = "reference", .formats = STRAND_FORMAT_FASTA, .flags = 0,
    .description = "reference genome, FASTA, plain or gzip" },
};

static const StrandPort outputs[] = {
  { .name = "run", .formats = STRAND_FORMAT_BCL_RUN, .flags = 0,
    .description = "Illumina run folder (RunInfo.xml, SampleSheet.csv, BCL, filter, locs)" },
  { .name = "truth", .formats = STRAND_FORMAT_VCF, .flags = STRAND_PORT_MULTIPLE,
    .description = "each sample's true variants, bgzipped VCF with phased genotypes" },
  { .name = "truth_index", .formats = STRAND_FORMAT_TBI, .flags = STRAND_PORT_MULTIPLE,
    .description = "tabix index of each sample's truth VCF" },
  { .name = "read_truth", .formats = STRAND_FORMAT_TSV, .flags = 0,
    .description = "origin and error-free sequence of every cluster (read_truth=true)" },
};

#define P_INT(n, d, lo, hi, desc)                                                    \
  { .name = n, .type = STRAND_PARAM_INT, .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX, \
    .description = desc, .default_value = d, .min = lo, .max = hi }
#define P_DOUBLE(n, d, lo, hi, desc)                                                    \
  { .name = n, .type = STRAND_PARAM_DOUBLE,                                             \
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX, .description = desc,          \
    .default_value = d, .min = lo, .max = hi }

static const StrandParamSpec params[] = {
  P_INT ("seed", "1", 0, 9007199254740991.0, "seed of every random choice"),
  P_DOUBLE ("coverage", "40", 0.01, 100000, "mean depth per sample (about; samples vary 15%)"),
  P_INT ("reads_per_sample", "0", 0, 100000000, "exact clusters per sample; 0: from coverage"),
  P_INT ("read_length", "150", 25, 500, "cycles of each sequenced read"),
  { .name = "paired", .type = STRAND_PARAM_BOOL, .description = "sequence read 2 as well",
    .default_value = "true" },
  P_INT ("index_length", "8", 0, SEQ_MAX_INDEX, "cycles of each index read; 0: none"),
  { .name = "dual_index", .type = STRAND_PARAM_BOOL, .description = "read i5 as well as i7",
    .default_value = "true" },
  P_DOUBLE ("insert_mean", "350", 30, 10000, "mean fragment (insert) size"),
  P_DOUBLE ("insert_sd", "50", 0, 5000, "standard deviation of the insert size"),
  P_DOUBLE ("snv_rate", "0.001", 0, 0.05, "SNVs per base of each sample's genome"),
  P_DOUBLE ("indel_rate", "0.0001", 0, 0.01, "small indels per base"),
  P_DOUBLE ("het_fraction", "0.6", 0, 1, "fraction of variants that are heterozygous"),
  P_INT ("max_indel_length", "10", 1, VARIANTS_MAX_INDEL, "longest indel"),
  P_DOUBLE ("undetermined_fraction", "0.03", 0, 0.5, "clusters with unknown indices"),
  P_DOUBLE ("filtered_fraction", "0.05", 0, 0.5, "clusters failing the chastity filter"),
  P_DOUBLE ("n_rate", "0.0005", 0, 0.5, "probability a base is not called"),
  P_INT ("lanes", "1", 1, 8, "lanes of the flow cell"),
  P_INT ("tiles", "0", 0, RUN_FOLDER_MAX_TILES, "tiles per lane; 0: about 200,000 clusters each"),
  { .name = "quality_model", .type = STRAND_PARAM_ENUM,
    .description = "'full' qualities 2-41, or 'binned' to 2/12/23/37 as NovaSeq",
    .default_value = "full", .choices = "full,binned" },
  { .name = "bcl_compression", .type = STRAND_PARAM_ENUM,
    .description = "write .bcl.gz ('gzip') or plain .bcl ('none')", .default_value = "gzip",
    .choices = "gzip,none" },
  { .name = "instrument", .type = STRAND_PARAM_STRING, .description = "instrument name",
    .default_value = "SIMSEQ01" },
  P_INT ("run_number", "1", 1, 9999, "run number of the instrument"),
  { .name = "run_date", .type = STRAND_PARAM_STRING,
    .description = "run date, YYMMDD (the stage never reads the clock)",
    .default_value = "250101" },
  { .name = "read_truth", .type = STRAND_PARAM_BOOL,
    .description = "also write every cluster's origin (large)", .default_value = "false" },
};

static const StrandResources resources = {
  .cores = 2,
  .memory_bytes = 512u << 20,
  .output_bytes = 256u << 20,
  .expected_seconds = 30.0,
  .equipment_class = "sequencer",
};

static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 1000 },
  { .error_class = STRAND_ERROR_RESOURCE, .action = STRAND_ACTION_RETRY_ESCALATE,
    .max_attempts = 2, .escalate_factor = 2.0 },
  { .error_class = STRAND_ERROR_INVALID_INPUT, .action = STRAND_ACTION_HALT, .max_attempts = 1 },
  { .error_class = STRAND_ERROR_CONFIG, .action = STRAND_ACTION_HALT, .max_attempts = 1 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "simulate-run",
  .version = "0.1.0",
  .description = "Simulated sequencer: a pooled Illumina run folder of samples with known "
                 "variants",
  .license = "Apache-2.0",
  .url = NULL,
  .flags = STRAND_STAGE_DETERMINISTIC | STRAND_STAGE_PER_RUN,
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .params = params,
  .n_params = STRAND_N_ELEMENTS (params),
  .policy = policy,
  .n_policy = STRAND_N_ELEMENTS (policy),
  .resources = &resources,
  .run = run,
  .validate = validate,
};

STRAND_STAGE_DEFINE (descriptor);
