/* simulate-run: the cluster model (see sequencer.h). */
#include "sequencer.h"

#include <stdlib.h>
#include <string.h>

#define MAX_QUALITY 41
#define ERROR_BITS 24
#define ADAPTER_R1 "AGATCGGAAGAGCACACGTCTGAACTCCAGTCAC"
#define ADAPTER_R2 "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"
#define AFTER_I7 "ATCTCGTATGCCGTCTTCTGCTTG"
#define AFTER_I5 "GTGTAGATCTCGGTGGTCGCCGTATCATT"

struct Sequencer {
  SeqConfig cfg;
  const SeqSample *samples;
  size_t n_samples;
  int cycles;
  double *mean; /* per cycle: the mean quality before noise */
  uint32_t error_threshold[MAX_QUALITY + 1];
  uint32_t n_threshold;
  char (*i7)[SEQ_MAX_INDEX + 1]; /* each sample's index reads, adapter-padded */
  char (*i5)[SEQ_MAX_INDEX + 1];
  size_t *contig_total[2]; /* per sample: cumulative contig lengths per haplotype */
};

/* 10^(-q/10) * 2^24 for q = 0..41, to the nearest integer. */
static const uint32_t error_thresholds[MAX_QUALITY + 1] = {
  16777216, 13326616, 10585708, 8408526, 6679130, 5305422, 4214246, 3347495, 2659010,
  2112126, 1677722, 1332662, 1058571, 840853, 667913, 530542, 421425, 334749,
  265901, 211213, 167772, 133266, 105857, 84085, 66791, 53054, 42142,
  33475, 26590, 21121, 16777, 13327, 10586, 8409, 6679, 5305,
  4214, 3347, 2659, 2112, 1678, 1333,
};

static double
mean_quality (int pos, int len, int read)
{
  double x = len > 1 ? (double) pos / (double) (len - 1) : 0.0;
  double q = 36.5 - 3.0 * x;
  if (x > 0.65)
    q -= 14.0 * (x - 0.65) * (x - 0.65);
  if (pos < 3)
    q -= (double) (3 - pos);
  if (read == 1)
    q -= 1.5;
  return q;
}

void
sequencer_index_read (const char *index, int cycles, bool i5, char *out)
{
  const char *after = i5 ? AFTER_I5 : AFTER_I7;
  size_t n = strlen (index), a = strlen (after);
  for (int c = 0; c < cycles; c++)
    {
      size_t k = (size_t) c;
      out[c] = k < n ? index[k] : k - n < a ? after[k - n] : 'A';
    }
  out[cycles] = '\0';
}

Sequencer *
sequencer_new (const SeqConfig *config, const SeqSample *samples, size_t n_samples)
{
  Sequencer *s = calloc (1, sizeof *s);
  if (s == NULL)
    return NULL;
  s->cfg = *config;
  s->samples = samples;
  s->n_samples = n_samples;
  int L = config->read_length;
  s->cycles = L + config->i7_cycles + config->i5_cycles + (config->paired ? L : 0);
  s->mean = calloc ((size_t) s->cycles, sizeof *s->mean);
  s->i7 = calloc (n_samples ? n_samples : 1, sizeof *s->i7);
  s->i5 = calloc (n_samples ? n_samples : 1, sizeof *s->i5);
  if (s->mean == NULL || s->i7 == NULL || s->i5 == NULL)
    {
      sequencer_free (s);
      return NULL;
    }
  int c = 0;
  for (int i = 0; i < L; i++)
    s->mean[c++] = mean_quality (i, L, 0);
  for (int i = 0; i < config->i7_cycles + config->i5_cycles; i++)
    s->mean[c++] = 35.5;
  if (config->paired)
    for (int i = 0; i < L; i++)
      s->mean[c++] = mean_quality (i, L, 1);
  memcpy (s->error_threshold, error_thresholds, sizeof error_thresholds);
  double n = config->n_rate * (double) (1u << ERROR_BITS);
  s->n_threshold = n <= 0 ? 0 : n >= (double) (1u << ERROR_BITS) ? 1u << ERROR_BITS : (uint32_t) n;
  for (size_t k = 0; k < n_samples; k++)
    {
      sequencer_index_read (samples[k].i7, config->i7_cycles, false, s->i7[k]);
      sequencer_index_read (samples[k].i5, config->i5_cycles, true, s->i5[k]);
    }
  /* Cumulative contig lengths, to pick a sequence by its length. */
  size_t contigs = n_samples ? samples[0].hap[0].n : 0;
  for (int h = 0; h < 2; h++)
    {
      s->contig_total[h] = calloc (n_samples * (contigs ? contigs : 1), sizeof (size_t));
      if (s->contig_total[h] == NULL)
        {
          sequencer_free (s);
          return NULL;
        }
      for (size_t k = 0; k < n_samples; k++)
        {
          size_t sum = 0;
          for (size_t ci = 0; ci < contigs; ci++)
            {
              sum += samples[k].hap[h].len[ci];
              s->contig_total[h][k * contigs + ci] = sum;
            }
        }
    }
  return s;
}

void
sequencer_free (Sequencer *s)
{
  if (s == NULL)
    return;
  free (s->mean);
  free (s->i7);
  free (s->i5);
  free (s->contig_total[0]);
  free (s->contig_total[1]);
  free (s);
}

int
sequencer_cycles (const Sequencer *s)
{
  return s->cycles;
}

static char
complement (char b)
{
  switch (b)
    {
    case 'A': return 'T';
    case 'C': return 'G';
    case 'G': return 'C';
    case 'T': return 'A';
    default: return 'N';
    }
}

static int
code_of (char b)
{
  switch (b)
    {
    case 'A': return 0;
    case 'C': return 1;
    case 'G': return 2;
    case 'T': return 3;
    default: return -1;
    }
}

static int
distance (const char *a, const char *b, int n)
{
  int d = 0;
  for (int i = 0; i < n; i++)
    d += a[i] != b[i];
  return d;
}

/* Random index reads far from every sample's. */
static void
unknown_indices (const Sequencer *s, SimRng *rng, char *i7, char *i5)
{
  int n7 = s->cfg.i7_cycles, n5 = s->cfg.i5_cycles;
  int need7 = n7 >= 8 ? 4 : 3, need5 = n5 >= 8 ? 4 : 3;
  for (int attempt = 0; attempt < 100; attempt++)
    {
      for (int i = 0; i < n7; i++)
        i7[i] = "ACGT"[sim_rng_next (rng) >> 62];
      for (int i = 0; i < n5; i++)
        i5[i] = "ACGT"[sim_rng_next (rng) >> 62];
      bool far = true;
      for (size_t k = 0; far && k < s->n_samples; k++)
        far = distance (i7, s->i7[k], n7) >= need7
              || (n5 > 0 && distance (i5, s->i5[k], n5) >= need5);
      if (far)
        break;
    }
  i7[n7] = '\0';
  i5[n5] = '\0';
}

/* Emits `n` cycles of template `t` from cycle `first` on. */
static void
emit (const Sequencer *s, SimRng *rng, const char *t, int n, int first, double offset,
      uint8_t *out, size_t stride)
{
  for (int i = 0; i < n; i++)
    {
      int c = first + i;
      uint64_t u = sim_rng_next (rng);
      double noise = (double) (u & 0xfff) / 4096.0 + (double) ((u >> 12) & 0xfff) / 4096.0 - 1.0;
      double q = s->mean[c] + offset + 4.0 * noise;
      if (((u >> 24) & 31) == 0)
        q -= 6.0 + (double) ((u >> 29) & 15);
      int iq = (int) (q + 0.5);
      if (iq < 2)
        iq = 2;
      if (iq > MAX_QUALITY)
        iq = MAX_QUALITY;
      if (s->cfg.binned)
        iq = iq <= 2 ? 2 : iq < 15 ? 12 : iq < 30 ? 23 : 37;
      uint32_t e = (uint32_t) ((u >> 33) & ((1u << ERROR_BITS) - 1));
      int b = code_of (t[i]);
      uint8_t byte;
      if (b < 0 || e < s->n_threshold)
        byte = 0; /* no-call */
      else
        {
          if (e - s->n_threshold < s->error_threshold[iq])
            b = (b + 1 + (int) ((u >> 57) % 3)) & 3;
          byte = (uint8_t) (iq << 2 | b);
        }
      out[(size_t) c * stride] = byte;
    }
}

/* A read's template: the fragment's first `len` bases, then the adapter. */
static void
fill_read (char *r, int L, int insert, const char *adapter)
{
  size_t a = strlen (adapter);
  for (int j = insert; j < L; j++)
    r[j] = (size_t) (j - insert) < a ? adapter[j - insert] : 'A';
  r[L] = '\0';
}

void
sequencer_cluster (const Sequencer *s, SimRng *rng, int sample, bool filtered, uint8_t *out,
                   size_t stride, ClusterTruth *truth)
{
  const SeqConfig *cfg = &s->cfg;
  int L = cfg->read_length;
  double offset = 1.2 * sim_rng_normal (rng) - (filtered ? 12.0 : 0.0);
  double x = cfg->insert_mean + cfg->insert_sd * sim_rng_normal (rng);
  int insert = x < 30.0 ? 30 : x > 100000.0 ? 100000 : (int) (x + 0.5);
  memset (truth, 0, sizeof *truth);

  if (sample >= 0)
    {
      const SeqSample *smp = &s->samples[sample];
      int h = (int) (sim_rng_next (rng) >> 63);
      const Haplotype *hap = &smp->hap[h];
      const size_t *cum = s->contig_total[h] + (size_t) sample * hap->n;
      size_t at = (size_t) sim_rng_below (rng, hap->total);
      size_t ci = 0;
      while (ci + 1 < hap->n && at >= cum[ci])
        ci++;
      size_t len = hap->len[ci];
      if ((size_t) insert > len)
        insert = (int) len;
      size_t start = (size_t) sim_rng_below (rng, len - (size_t) insert + 1);
      bool reverse = sim_rng_next (rng) >> 63;
      const char *seg = hap->seq[ci] + start;
      int n = insert < L ? insert : L;
      for (int j = 0; j < n; j++)
        {
          char fwd = seg[j], back = seg[insert - 1 - j];
          truth->r1[j] = reverse ? complement (back) : fwd;
          truth->r2[j] = reverse ? fwd : complement (back);
        }
      truth->haplotype = h;
      truth->contig = ci;
      truth->start = start;
      truth->reverse = reverse;
      memcpy (truth->i7, s->i7[sample], (size_t) cfg->i7_cycles + 1);
      memcpy (truth->i5, s->i5[sample], (size_t) cfg->i5_cycles + 1);
    }
  else
    {
      /* Not from any sample: a random fragment with unknown indices. */
      int n = insert < L ? insert : L;
      for (int j = 0; j < n; j++)
        truth->r1[j] = "ACGT"[sim_rng_next (rng) >> 62];
      for (int j = 0; j < n; j++)
        truth->r2[j] = "ACGT"[sim_rng_next (rng) >> 62];
      unknown_indices (s, rng, truth->i7, truth->i5);
    }
  truth->insert = insert;
  fill_read (truth->r1, L, insert < L ? insert : L, ADAPTER_R1);
  fill_read (truth->r2, L, insert < L ? insert : L, ADAPTER_R2);

  int c = 0;
  emit (s, rng, truth->r1, L, c, offset, out, stride);
  c += L;
  emit (s, rng, truth->i7, cfg->i7_cycles, c, offset, out, stride);
  c += cfg->i7_cycles;
  emit (s, rng, truth->i5, cfg->i5_cycles, c, offset, out, stride);
  c += cfg->i5_cycles;
  if (cfg->paired)
    emit (s, rng, truth->r2, L, c, offset, out, stride);
}
