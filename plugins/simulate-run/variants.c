/* simulate-run: variants, haplotypes and the truth VCF (see variants.h). */
#include "variants.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/hts.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include "sim-rng.h"

#define EDGE 20    /* bases left alone at each end of a sequence */
#define MIN_GAP 10 /* bases between one variant's REF and the next */
#define PURPOSE_VARIANTS 0x7661726961ULL

typedef struct {
  VariantSet *set;
  size_t cap;
} Builder;

static int
push (Builder *b, uint32_t contig, size_t pos, const char *ref, size_t ref_len,
      const char *alt, size_t alt_len, uint8_t haps, SimError *e)
{
  VariantSet *set = b->set;
  if (set->n == b->cap)
    {
      size_t cap = b->cap ? b->cap * 2 : 64;
      Variant *v = realloc (set->v, cap * sizeof *v);
      if (v == NULL)
        return sim_error_set (e, SIM_ERR_NO_MEMORY, "out of memory for variants");
      set->v = v;
      b->cap = cap;
    }
  Variant *v = &set->v[set->n];
  v->contig = contig;
  v->pos = (uint32_t) pos;
  v->haplotypes = haps;
  v->ref = malloc (ref_len + 1);
  v->alt = malloc (alt_len + 1);
  if (v->ref == NULL || v->alt == NULL)
    {
      free (v->ref);
      free (v->alt);
      return sim_error_set (e, SIM_ERR_NO_MEMORY, "out of memory for variants");
    }
  memcpy (v->ref, ref, ref_len);
  v->ref[ref_len] = '\0';
  memcpy (v->alt, alt, alt_len);
  v->alt[alt_len] = '\0';
  set->n++;
  return 0;
}

static char
random_base (SimRng *rng)
{
  return "ACGT"[sim_rng_next (rng) >> 62];
}

/* Transitions (A<->G, C<->T) twice as often as transversions. */
static char
snv_alt (SimRng *rng, char ref)
{
  static const char *const transversions[4] = { "CT", "AG", "CT", "AG" };
  int i = ref == 'A' ? 0 : ref == 'C' ? 1 : ref == 'G' ? 2 : 3;
  uint64_t u = sim_rng_below (rng, 3);
  if (u < 2)
    return "GTAC"[i];
  return transversions[i][sim_rng_next (rng) >> 63];
}

static bool
all_called (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] == 'N')
      return false;
  return true;
}

int
variants_generate (const Reference *ref, const VariantParams *params, uint64_t seed,
                   const char *sample, VariantSet *out, SimError *e)
{
  memset (out, 0, sizeof *out);
  Builder b = { .set = out };
  SimRng rng;
  sim_rng_seed (&rng, seed, PURPOSE_VARIANTS, sim_hash_string (sample), 0);
  double rate = params->snv_rate + params->indel_rate;
  uint64_t any = sim_threshold (rate);
  double p_snv = rate > 0 ? params->snv_rate / rate : 1.0;
  int max_indel = params->max_indel < 1 ? 1
                  : params->max_indel > VARIANTS_MAX_INDEL ? VARIANTS_MAX_INDEL
                                                          : params->max_indel;
  char ins[VARIANTS_MAX_INDEL + 2];
  char alt[VARIANTS_MAX_INDEL + 2];

  for (uint32_t ci = 0; ci < ref->n; ci++)
    {
      const char *seq = ref->contigs[ci].seq;
      size_t len = ref->contigs[ci].len;
      size_t free_from = EDGE; /* the next REF may start here */
      for (size_t pos = EDGE; pos + EDGE + (size_t) max_indel < len; pos++)
        {
          if (sim_rng_next (&rng) >= any)
            continue;
          bool snv = sim_rng_uniform (&rng) < p_snv;
          size_t length = 1;
          while (length < (size_t) max_indel && (sim_rng_next (&rng) >> 63))
            length++;
          bool insertion = sim_rng_next (&rng) >> 63;
          uint8_t haps = sim_rng_uniform (&rng) < params->het_fraction
                             ? (uint8_t) (1u << (sim_rng_next (&rng) >> 63))
                             : 3;
          size_t anchor, ref_len, alt_len;
          if (snv)
            {
              if (seq[pos] == 'N')
                continue;
              anchor = pos;
              ref_len = 1;
              alt[0] = snv_alt (&rng, seq[pos]);
              alt_len = 1;
            }
          else if (insertion)
            {
              for (size_t i = 0; i < length; i++)
                ins[i] = random_base (&rng);
              /* Left-align: the inserted bases rotate while the base
               * before them equals their last. */
              size_t d = pos;
              while (d - 1 > EDGE && seq[d - 1] == ins[length - 1])
                {
                  memmove (ins + 1, ins, length - 1);
                  ins[0] = seq[d - 1];
                  d--;
                }
              if (seq[d - 1] == ins[length - 1])
                continue; /* it would align past the edge */
              anchor = d - 1;
              ref_len = 1;
              alt[0] = seq[anchor];
              memcpy (alt + 1, ins, length);
              alt_len = length + 1;
            }
          else
            {
              size_t d = pos;
              while (d - 1 > EDGE && seq[d - 1] == seq[d + length - 1])
                d--;
              if (seq[d - 1] == seq[d + length - 1])
                continue;
              anchor = d - 1;
              ref_len = length + 1;
              alt[0] = seq[anchor];
              alt_len = 1;
            }
          if (anchor < free_from || !all_called (seq + anchor, ref_len))
            continue;
          if (push (&b, ci, anchor, seq + anchor, ref_len, alt, alt_len, haps, e) < 0)
            {
              variants_clear (out);
              return -1;
            }
          free_from = anchor + ref_len + MIN_GAP;
          if (pos < free_from)
            pos = free_from - 1;
        }
    }
  return 0;
}

void
variants_clear (VariantSet *set)
{
  for (size_t i = 0; i < set->n; i++)
    {
      free (set->v[i].ref);
      free (set->v[i].alt);
    }
  free (set->v);
  memset (set, 0, sizeof *set);
}

int
haplotype_build (const Reference *ref, const VariantSet *set, int which, Haplotype *out,
                 SimError *e)
{
  memset (out, 0, sizeof *out);
  out->seq = calloc (ref->n, sizeof *out->seq);
  out->len = calloc (ref->n, sizeof *out->len);
  if (out->seq == NULL || out->len == NULL)
    {
      haplotype_clear (out);
      return sim_error_set (e, SIM_ERR_NO_MEMORY, "out of memory for a haplotype");
    }
  out->n = ref->n;
  size_t vi = 0;
  for (uint32_t ci = 0; ci < ref->n; ci++)
    {
      const Contig *c = &ref->contigs[ci];
      size_t first = vi, grow = 0;
      while (vi < set->n && set->v[vi].contig == ci)
        {
          const Variant *v = &set->v[vi++];
          size_t rl = strlen (v->ref), al = strlen (v->alt);
          if ((v->haplotypes >> which) & 1 && al > rl)
            grow += al - rl;
        }
      char *s = malloc (c->len + grow + 1);
      if (s == NULL)
        {
          haplotype_clear (out);
          return sim_error_set (e, SIM_ERR_NO_MEMORY, "out of memory for a haplotype");
        }
      size_t from = 0, n = 0;
      for (size_t k = first; k < vi; k++)
        {
          const Variant *v = &set->v[k];
          if (!((v->haplotypes >> which) & 1))
            continue;
          memcpy (s + n, c->seq + from, v->pos - from);
          n += v->pos - from;
          size_t al = strlen (v->alt);
          memcpy (s + n, v->alt, al);
          n += al;
          from = v->pos + strlen (v->ref);
        }
      memcpy (s + n, c->seq + from, c->len - from);
      n += c->len - from;
      s[n] = '\0';
      out->seq[ci] = s;
      out->len[ci] = n;
      out->total += n;
    }
  return 0;
}

void
haplotype_clear (Haplotype *hap)
{
  for (size_t i = 0; hap->seq != NULL && i < hap->n; i++)
    free (hap->seq[i]);
  free (hap->seq);
  free (hap->len);
  memset (hap, 0, sizeof *hap);
}

int
variants_write_vcf (const Reference *ref, const VariantSet *set, const char *sample,
                    const char *reference_name, const char *vcf_path, const char *tbi_path,
                    SimError *e)
{
  int rc = 0;
  errno = 0;
  htsFile *fp = hts_open (vcf_path, "wz");
  bcf_hdr_t *hdr = bcf_hdr_init ("w");
  bcf1_t *rec = bcf_init ();
  if (fp == NULL || hdr == NULL || rec == NULL)
    {
      int err = errno ? errno : ENOMEM;
      rc = sim_error_set (e, sim_error_kind_from_errno (err), "%s.truth.vcf.gz: cannot create: %s",
                          sample, strerror (err));
      goto out;
    }
  char line[1024];
  bool ok = bcf_hdr_append (hdr, "##source=strand simulate-run") == 0;
  snprintf (line, sizeof line, "##reference=%s", reference_name);
  ok = ok && bcf_hdr_append (hdr, line) == 0;
  for (size_t i = 0; ok && i < ref->n; i++)
    {
      snprintf (line, sizeof line, "##contig=<ID=%s,length=%zu>", ref->contigs[i].name,
                ref->contigs[i].len);
      ok = bcf_hdr_append (hdr, line) == 0;
    }
  ok = ok && bcf_hdr_append (hdr, "##INFO=<ID=VT,Number=1,Type=String,Description=\"Variant "
                                  "type: SNV, INS or DEL\">") == 0
       && bcf_hdr_append (hdr, "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Phased "
                               "genotype: the haplotypes carrying the variant\">") == 0
       && bcf_hdr_add_sample (hdr, sample) == 0 && bcf_hdr_sync (hdr) == 0;
  if (!ok || bcf_hdr_write (fp, hdr) != 0)
    {
      rc = sim_error_set (e, SIM_ERR_IO, "%s.truth.vcf.gz: cannot write the header", sample);
      goto out;
    }
  int pass = bcf_hdr_id2int (hdr, BCF_DT_ID, "PASS");
  for (size_t i = 0; i < set->n; i++)
    {
      const Variant *v = &set->v[i];
      bcf_clear (rec);
      rec->rid = bcf_hdr_name2id (hdr, ref->contigs[v->contig].name);
      rec->pos = v->pos;
      snprintf (line, sizeof line, "%s,%s", v->ref, v->alt);
      size_t rl = strlen (v->ref), al = strlen (v->alt);
      const char *type = rl == al ? "SNV" : al > rl ? "INS" : "DEL";
      int32_t gt[2] = { bcf_gt_unphased (v->haplotypes & 1), bcf_gt_phased ((v->haplotypes >> 1) & 1) };
      if (bcf_update_alleles_str (hdr, rec, line) < 0 || bcf_update_filter (hdr, rec, &pass, 1) < 0
          || bcf_update_info_string (hdr, rec, "VT", type) < 0
          || bcf_update_genotypes (hdr, rec, gt, 2) < 0 || bcf_write (fp, hdr, rec) != 0)
        {
          int err = errno ? errno : EIO;
          rc = sim_error_set (e, sim_error_kind_from_errno (err),
                              "%s.truth.vcf.gz: write failed: %s", sample, strerror (err));
          goto out;
        }
    }

out:
  if (rec != NULL)
    bcf_destroy (rec);
  if (hdr != NULL)
    bcf_hdr_destroy (hdr);
  if (fp != NULL && hts_close (fp) != 0 && rc == 0)
    {
      int err = errno ? errno : EIO;
      rc = sim_error_set (e, sim_error_kind_from_errno (err), "%s.truth.vcf.gz: write failed: %s",
                          sample, strerror (err));
    }
  if (rc == 0 && tbx_index_build2 (vcf_path, tbi_path, 0, &tbx_conf_vcf) != 0)
    rc = sim_error_set (e, SIM_ERR_IO, "%s.truth.vcf.gz.tbi: cannot build the index", sample);
  return rc;
}
