/* simulate-run: a sample's genome, the reference with known variants.
 *
 * Variants are drawn along each sequence at `snv_rate` and `indel_rate`
 * per base, from a generator seeded by the run's seed and the sample, so
 * each sample has its own and a rerun has the same. SNVs favour
 * transitions two to one (a human-like Ti/Tv); indels are 1 to
 * `max_indel` bases, shorter ones likelier. Each is heterozygous (on one
 * haplotype, either) with probability `het_fraction`, else homozygous.
 *
 * Indels are left-aligned as `bcftools norm` would write them, and
 * variants keep a few bases apart and away from sequence ends and Ns, so
 * the truth VCF has one obvious representation per event and a caller's
 * output can be compared with it record by record. The two haplotypes are
 * built by applying the variants; the truth VCF (bgzip, tabix index) gives
 * phased genotypes (1|0, 0|1, 1|1), so reads can be traced back to it. */
#ifndef SIM_VARIANTS_H
#define SIM_VARIANTS_H

#include <stddef.h>
#include <stdint.h>

#include "reference.h"
#include "sim-error.h"

#define VARIANTS_MAX_INDEL 50

typedef struct {
  double snv_rate;
  double indel_rate;
  double het_fraction;
  int max_indel;
} VariantParams;

typedef struct {
  uint32_t contig;
  uint32_t pos; /* 0-based position of REF's first base */
  char *ref;
  char *alt;
  uint8_t haplotypes; /* bit 0: on haplotype 0, bit 1: on haplotype 1 */
} Variant;

typedef struct {
  Variant *v; /* sorted by contig, then position */
  size_t n;
} VariantSet;

/* A genome: one sequence per reference contig. */
typedef struct {
  char **seq;
  size_t *len;
  size_t n;
  size_t total;
} Haplotype;

int variants_generate (const Reference *ref, const VariantParams *params, uint64_t seed,
                       const char *sample, VariantSet *out, SimError *error);
void variants_clear (VariantSet *set);

/* Applies the variants on haplotype `which` (0 or 1). */
int haplotype_build (const Reference *ref, const VariantSet *set, int which, Haplotype *out,
                     SimError *error);
void haplotype_clear (Haplotype *hap);

/* Writes the truth VCF (BGZF) at `vcf_path` and its tabix index at
 * `tbi_path`; `reference_name` goes in the header. */
int variants_write_vcf (const Reference *ref, const VariantSet *set, const char *sample,
                        const char *reference_name, const char *vcf_path,
                        const char *tbi_path, SimError *error);

#endif /* SIM_VARIANTS_H */
