/* fastq-generate: a source stage that writes synthetic, Illumina-like reads.
 *
 * Output is a pure function of the parameters and the sample id: the PRNG
 * (xoshiro256**, seeded through splitmix64) starts from `seed` XOR a hash of
 * the sample id, so every sample gets its own reads and a rerun reproduces
 * them byte for byte. Qualities start high and decline along the read, as on
 * a sequencer; an N carries quality 2 ('#'). */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_EVERY (1u << 16) /* reads between cancel checks */
#define MAX_NAME 128           /* bytes of the sample id kept in read names */
#define PHRED_OFFSET 33
#define N_QUALITY 2

/* PRNG: splitmix64 to expand the seed, xoshiro256** to generate. */

typedef struct {
  uint64_t s[4];
} Rng;

static uint64_t
splitmix64 (uint64_t *x)
{
  uint64_t z = (*x += UINT64_C (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static void
rng_seed (Rng *rng, uint64_t seed)
{
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&seed);
}

static inline uint64_t
rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t
rng_next (Rng *rng)
{
  uint64_t *s = rng->s;
  uint64_t result = rotl (s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

/* FNV-1a, 64 bits: stable across hosts and releases. */
static uint64_t
hash_string (const char *s)
{
  uint64_t h = UINT64_C (0xcbf29ce484222325);
  for (; *s; s++)
    {
      h ^= (unsigned char) *s;
      h *= UINT64_C (0x100000001b3);
    }
  return h;
}

/* The read-name prefix: the sample id with anything that would end or
 * confuse a FASTQ name (whitespace, control characters) replaced by '_'. */
static void
make_prefix (const char *sample, char *out, size_t size)
{
  size_t n = 0;
  if (sample == NULL || *sample == '\0')
    sample = "read";
  for (; sample[n] && n + 1 < size; n++)
    {
      unsigned char c = (unsigned char) sample[n];
      out[n] = (c <= ' ' || c >= 0x7f) ? '_' : (char) c;
    }
  out[n] = '\0';
}

static int
fail_write (StrandTask *task, const StrandHost *host, const char *path,
            int err)
{
  if (err == ENOSPC || err == EDQUOT)
    return host->fail (task, STRAND_ERROR_STORAGE, "%s: write failed: %s",
                       path, strerror (err));
  return host->fail (task, STRAND_ERROR_TRANSIENT, "%s: write failed: %s",
                     path, strerror (err));
}

/* Mean quality at `pos` of a read of length `len`: about Q36 at the start,
 * a gentle decline, and a steeper fall over the last fifth (Q~24 at the
 * end), like a typical Illumina run. */
static double
mean_quality_at (int64_t pos, int64_t len)
{
  double x = len > 1 ? (double) pos / (double) (len - 1) : 0.0;
  double q = 36.0 - 5.0 * x;
  if (x > 0.8)
    q -= 35.0 * (x - 0.8);
  return q;
}

static int
run (StrandTask *task, const StrandHost *host)
{
  int64_t n_reads, length, seed;
  double n_rate;
  if (host->param_int (task, "reads", &n_reads) < 0
      || host->param_int (task, "length", &length) < 0
      || host->param_int (task, "seed", &seed) < 0
      || host->param_double (task, "n_rate", &n_rate) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "cannot read parameters reads, length, seed, n_rate");
  if (n_reads < 1 || length < 1 || length > 100000 || seed < 0
      || !(n_rate >= 0.0 && n_rate <= 1.0))
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "parameters out of range: reads=%" PRId64
                       " length=%" PRId64 " seed=%" PRId64 " n_rate=%g",
                       n_reads, length, seed, n_rate);

  const char *sample = host->sample_id (task);
  uint64_t state = (uint64_t) seed;
  if (sample != NULL)
    state ^= hash_string (sample);
  Rng rng;
  rng_seed (&rng, state);

  char prefix[MAX_NAME];
  make_prefix (sample, prefix, sizeof prefix);

  const char *path = NULL;
  if (host->output_path (task, "reads", "reads.fastq", &path) < 0
      || path == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no output path for port 'reads'");

  /* One record at a time: name, sequence, '+', quality, each on its line. */
  size_t len = (size_t) length;
  char *seq = malloc (len + 1);
  char *qual = malloc (len + 1);
  if (seq == NULL || qual == NULL)
    {
      free (seq);
      free (qual);
      return host->fail (task, STRAND_ERROR_RESOURCE,
                         "out of memory for reads of length %zu", len);
    }
  seq[len] = '\n';
  qual[len] = '\n';

  FILE *out = fopen (path, "wb");
  if (out == NULL)
    {
      int err = errno;
      free (seq);
      free (qual);
      return fail_write (task, host, path, err);
    }
  setvbuf (out, NULL, _IOFBF, 1 << 20);

  static const char bases[4] = { 'A', 'C', 'G', 'T' };
  /* A base is N when the top 24 bits of its draw fall below this. */
  uint64_t n_threshold = (uint64_t) (n_rate * 16777216.0);
  uint64_t n_bases = 0;
  int ret = STRAND_OK;
  for (int64_t r = 0; r < n_reads; r++)
    {
      if ((uint64_t) r % CHECK_EVERY == 0 && r > 0)
        {
          if (host->cancelled (task))
            {
              host->log (task, STRAND_LOG_INFO,
                         "cancelled after %" PRId64 " reads", r);
              ret = STRAND_E_CANCELLED;
              break;
            }
          host->progress (task, (double) r / (double) n_reads, "generating");
        }

      /* One 64-bit draw per base: bits 0-15 and 16-31 make the quality
       * noise, 32-33 the base, 34-39 an occasional dip, 40-63 the N test. */
      for (size_t i = 0; i < len; i++)
        {
          uint64_t u = rng_next (&rng);
          if ((u >> 40) < n_threshold)
            {
              seq[i] = 'N';
              qual[i] = (char) (PHRED_OFFSET + N_QUALITY);
              continue;
            }
          seq[i] = bases[(u >> 32) & 3];
          /* Triangular noise of +-6 around the mean; 1 in 64 bases dips. */
          double noise = (double) (u & 0xffff) / 65536.0
                         + (double) ((u >> 16) & 0xffff) / 65536.0 - 1.0;
          double q = mean_quality_at ((int64_t) i, length) + 6.0 * noise;
          if (((u >> 34) & 0x3f) == 0)
            q -= 12.0;
          int iq = (int) q;
          if (iq < N_QUALITY + 1)
            iq = N_QUALITY + 1;
          if (iq > 41)
            iq = 41;
          qual[i] = (char) (PHRED_OFFSET + iq);
        }
      n_bases += len;

      if (fprintf (out, "@%s:%" PRId64 "\n", prefix, r + 1) < 0
          || fwrite (seq, 1, len + 1, out) != len + 1
          || fputs ("+\n", out) == EOF
          || fwrite (qual, 1, len + 1, out) != len + 1)
        {
          ret = fail_write (task, host, path, errno);
          break;
        }
    }

  free (seq);
  free (qual);
  if (fclose (out) != 0 && ret == STRAND_OK)
    ret = fail_write (task, host, path, errno);
  if (ret != STRAND_OK)
    return ret;

  host->metric (task, "reads", (double) n_reads);
  host->metric (task, "bases", (double) n_bases);
  host->progress (task, 1.0, "done");
  return STRAND_OK;
}

static const StrandPort outputs[] = {
  { .name = "reads", .formats = STRAND_FORMAT_FASTQ, .flags = 0,
    .description = "synthetic reads, uncompressed FASTQ (Phred+33)" },
};

static const StrandParamSpec params[] = {
  { .name = "reads", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "number of reads to write", .default_value = "1000",
    .min = 1, .max = 100000000 },
  { .name = "length", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "length of every read, in bases", .default_value = "100",
    .min = 1, .max = 100000 },
  { .name = "seed", .type = STRAND_PARAM_INT, .flags = STRAND_PARAM_HAS_MIN,
    .description = "PRNG seed, combined with the sample id",
    .default_value = "1", .min = 0 },
  { .name = "n_rate", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "probability that a base is N", .default_value = "0.001",
    .min = 0, .max = 1 },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 16u << 20,
  .output_bytes = 256u << 10, /* 1000 reads of 100 bases */
  .expected_seconds = 1.0,
};

static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 1000 },
  { .error_class = STRAND_ERROR_RESOURCE,
    .action = STRAND_ACTION_RETRY_ESCALATE, .max_attempts = 3,
    .escalate_factor = 1.5 },
  { .error_class = STRAND_ERROR_INVALID_INPUT,
    .action = STRAND_ACTION_FAIL_SAMPLE, .max_attempts = 1 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "fastq-generate",
  .version = "0.1.0",
  .description = "Generates deterministic synthetic Illumina-like FASTQ reads",
  .license = "Apache-2.0",
  .url = NULL,
  .flags = STRAND_STAGE_DETERMINISTIC,
  .inputs = NULL,
  .n_inputs = 0,
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .params = params,
  .n_params = STRAND_N_ELEMENTS (params),
  .policy = policy,
  .n_policy = STRAND_N_ELEMENTS (policy),
  .resources = &resources,
  .run = run,
};

STRAND_STAGE_DEFINE (descriptor);
