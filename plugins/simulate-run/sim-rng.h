/* simulate-run: the random numbers behind every simulated choice.
 *
 * xoshiro256** seeded through splitmix64, as fastq-generate does; one
 * generator per purpose (a sample's variants, a tile's clusters, the order
 * of clusters), each seeded from the run's seed and what it is for, so a
 * change in one part never shifts the draws of another. Only integer and
 * plain floating-point arithmetic (no libm), so the same seed gives the
 * same bytes on every machine. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t s[4];
} SimRng;

static inline uint64_t
sim_splitmix64 (uint64_t *x)
{
  uint64_t z = (*x += UINT64_C (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* FNV-1a, 64 bits: stable across hosts and releases. */
static inline uint64_t
sim_hash_string (const char *s)
{
  uint64_t h = UINT64_C (0xcbf29ce484222325);
  for (; *s; s++)
    {
      h ^= (unsigned char) *s;
      h *= UINT64_C (0x100000001b3);
    }
  return h;
}

/* A generator for `purpose` (a small constant), `a` and `b` (a sample's
 * hash, a lane and tile) under the run's `seed`. */
static inline void
sim_rng_seed (SimRng *rng, uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b)
{
  uint64_t x = seed;
  x = sim_splitmix64 (&x) ^ purpose;
  x = sim_splitmix64 (&x) ^ a;
  x = sim_splitmix64 (&x) ^ b;
  for (int i = 0; i < 4; i++)
    rng->s[i] = sim_splitmix64 (&x);
}

static inline uint64_t
sim_rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t
sim_rng_next (SimRng *rng)
{
  uint64_t *s = rng->s;
  uint64_t result = sim_rotl (s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = sim_rotl (s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static inline double
sim_rng_uniform (SimRng *rng)
{
  return (double) (sim_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is below
 * 2^-32 for the sizes used here). */
static inline uint64_t
sim_rng_below (SimRng *rng, uint64_t n)
{
  return (uint64_t) (((unsigned __int128) sim_rng_next (rng) * n) >> 64);
}

/* About standard normal: the sum of 12 uniforms minus 6 (Irwin-Hall),
 * bounded to +-6, which suits insert sizes and quality offsets. */
static inline double
sim_rng_normal (SimRng *rng)
{
  double sum = 0.0;
  for (int i = 0; i < 12; i++)
    sum += sim_rng_uniform (rng);
  return sum - 6.0;
}

/* The threshold for a Bernoulli draw of probability p: an event is
 * sim_rng_next () < threshold. */
static inline uint64_t
sim_threshold (double p)
{
  if (!(p > 0.0))
    return 0;
  if (p >= 1.0)
    return UINT64_MAX;
  return (uint64_t) (p * 18446744073709551616.0);
}

#endif /* SIM_RNG_H */
