/* simulate-run's parts on their own: the FASTA reader, variants (placed,
 * left-aligned, applied to the haplotypes) on repetitive sequence where
 * alignment matters, and the quality model of the sequencer. */
#include <glib.h>
#include <string.h>

#include "reference.h"
#include "sequencer.h"
#include "variants.h"

static void
test_reference (void)
{
  const char fasta[] = ">chr1 the first\r\nACGTN\r\nacgtRYK\r\n\r\n>chr2\nU\n";
  Reference ref;
  SimError e = { 0 };
  g_assert_cmpint (reference_parse (fasta, sizeof fasta - 1, "ref.fa", &ref, &e), ==, 0);
  g_assert_cmpuint (ref.n, ==, 2);
  g_assert_cmpstr (ref.contigs[0].name, ==, "chr1");
  g_assert_cmpstr (ref.contigs[0].seq, ==, "ACGTNACGTNNN");
  g_assert_cmpuint (ref.contigs[0].len, ==, 12);
  g_assert_cmpstr (ref.contigs[1].seq, ==, "T");
  g_assert_cmpuint (ref.total, ==, 13);
  reference_clear (&ref);

  struct {
    const char *fasta, *message;
  } bad[] = {
    { "ACGT\n", "ref.fa:1: sequence before the first '>' header" },
    { ">a\nAC-T\n", "ref.fa:2: '-' is not a nucleotide code" },
    { ">a\nAC\x01T\n", "ref.fa:2: byte 0x01 is not a nucleotide code" },
    { ">a\n>b\nA\n", "ref.fa:2: sequence 'a' has no bases" },
    { ">a\nA\n>b", "ref.fa:3: sequence 'b' has no bases" },
    { ">\nA\n", "ref.fa:1: '' is not a usable sequence name" },
    { ">a,b\nA\n", "'a,b' is not a usable sequence name" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      SimError err = { 0 };
      g_assert_cmpint (reference_parse (bad[i].fasta, strlen (bad[i].fasta), "ref.fa", &ref, &err),
                       ==, -1);
      g_assert_cmpint (err.kind, ==, SIM_ERR_INPUT);
      if (strstr (err.message, bad[i].message) == NULL)
        g_error ("'%s' should say '%s'", err.message, bad[i].message);
    }
}

/* A genome of repeats: homopolymers, dinucleotide and triplet repeats
 * between random stretches, where indels have many representations. */
static void
repetitive_reference (Reference *ref, gsize len)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  GString *s = g_string_new (NULL);
  while (s->len < len)
    {
      int kind = g_rand_int_range (rand, 0, 4);
      int unit = kind == 0 ? 1 : kind == 1 ? 2 : kind == 2 ? 3 : 0;
      char motif[3];
      for (int i = 0; i < 3; i++)
        motif[i] = "ACGT"[g_rand_int_range (rand, 0, 4)];
      int n = g_rand_int_range (rand, 5, 20);
      for (int i = 0; i < n && s->len < len; i++)
        g_string_append_c (s, unit ? motif[i % unit] : "ACGT"[g_rand_int_range (rand, 0, 4)]);
    }
  ref->n = 1;
  ref->contigs = g_new0 (Contig, 1);
  ref->contigs[0].name = g_strdup ("rep");
  ref->contigs[0].len = s->len;
  ref->contigs[0].seq = g_string_free (s, FALSE);
  ref->total = len;
}

static void
free_reference (Reference *ref)
{
  g_free (ref->contigs[0].name);
  g_free (ref->contigs[0].seq);
  g_free (ref->contigs);
}

static void
test_variants (void)
{
  Reference ref;
  repetitive_reference (&ref, 200000);
  const char *seq = ref.contigs[0].seq;
  VariantParams p = { .snv_rate = 0.002, .indel_rate = 0.002, .het_fraction = 0.6, .max_indel = 8 };
  VariantSet set;
  SimError e = { 0 };
  g_assert_cmpint (variants_generate (&ref, &p, 42, "S1", &set, &e), ==, 0);

  guint snv = 0, ins = 0, del = 0, het = 0, ts = 0, tv = 0;
  for (gsize i = 0; i < set.n; i++)
    {
      const Variant *v = &set.v[i];
      gsize rl = strlen (v->ref), al = strlen (v->alt);
      g_assert_cmpint (strncmp (seq + v->pos, v->ref, rl), ==, 0);
      g_assert_cmpuint (v->pos, >=, 20);
      g_assert_cmpuint (v->pos + rl + 20, <=, ref.contigs[0].len);
      if (i > 0)
        g_assert_cmpuint (v->pos, >=, set.v[i - 1].pos + strlen (set.v[i - 1].ref) + 10);
      g_assert_true (v->haplotypes >= 1 && v->haplotypes <= 3);
      het += v->haplotypes != 3;
      if (rl == al)
        {
          snv++;
          g_assert_cmpint (v->ref[0], !=, v->alt[0]);
          gboolean purine_ref = v->ref[0] == 'A' || v->ref[0] == 'G';
          gboolean purine_alt = v->alt[0] == 'A' || v->alt[0] == 'G';
          if (purine_ref == purine_alt)
            ts++;
          else
            tv++;
          continue;
        }
      /* Anchored and left-aligned: moving one base left would need the
       * anchor to equal the last inserted or deleted base. */
      g_assert_cmpint (v->ref[0], ==, v->alt[0]);
      const char *longer = rl > al ? v->ref : v->alt;
      g_assert_cmpint (longer[0], !=, longer[strlen (longer) - 1]);
      g_assert_cmpuint (strlen (longer) - 1, <=, 8);
      if (rl > al)
        del++;
      else
        ins++;
    }
  g_test_message ("%u SNVs (Ti/Tv %.2f), %u insertions, %u deletions, %u het", snv,
                  (double) ts / tv, ins, del, het);
  /* 0.002 per base each over 200 kb, less what the spacing rule drops. */
  g_assert_cmpuint (snv, >, 250);
  g_assert_cmpuint (snv, <, 450);
  g_assert_cmpuint (ins + del, >, 250);
  g_assert_cmpuint (ins, >, 80);
  g_assert_cmpuint (del, >, 80);
  g_assert_cmpfloat ((double) ts / tv, >, 1.5);
  g_assert_cmpfloat ((double) ts / tv, <, 2.7);
  double het_share = (double) het / (double) set.n;
  g_assert_cmpfloat (het_share, >, 0.5);
  g_assert_cmpfloat (het_share, <, 0.7);

  /* The haplotypes are the reference with their variants applied. */
  for (int h = 0; h < 2; h++)
    {
      Haplotype hap;
      g_assert_cmpint (haplotype_build (&ref, &set, h, &hap, &e), ==, 0);
      GString *want = g_string_new (NULL);
      gsize from = 0;
      for (gsize i = 0; i < set.n; i++)
        if ((set.v[i].haplotypes >> h) & 1)
          {
            g_string_append_len (want, seq + from, (gssize) (set.v[i].pos - from));
            g_string_append (want, set.v[i].alt);
            from = set.v[i].pos + strlen (set.v[i].ref);
          }
      g_string_append (want, seq + from);
      g_assert_cmpstr (hap.seq[0], ==, want->str);
      g_assert_cmpuint (hap.len[0], ==, want->len);
      g_string_free (want, TRUE);
      haplotype_clear (&hap);
    }

  /* The same seed and sample give the same variants; another sample,
   * others. */
  VariantSet again, other;
  g_assert_cmpint (variants_generate (&ref, &p, 42, "S1", &again, &e), ==, 0);
  g_assert_cmpint (variants_generate (&ref, &p, 42, "S2", &other, &e), ==, 0);
  g_assert_cmpuint (again.n, ==, set.n);
  for (gsize i = 0; i < set.n; i++)
    {
      g_assert_cmpuint (again.v[i].pos, ==, set.v[i].pos);
      g_assert_cmpstr (again.v[i].alt, ==, set.v[i].alt);
      g_assert_cmpuint (again.v[i].haplotypes, ==, set.v[i].haplotypes);
    }
  gsize shared = 0;
  for (gsize i = 0, j = 0; i < set.n && j < other.n;)
    {
      if (set.v[i].pos == other.v[j].pos)
        shared++, i++, j++;
      else if (set.v[i].pos < other.v[j].pos)
        i++;
      else
        j++;
    }
  g_assert_cmpuint (shared, <, set.n / 10);
  variants_clear (&set);
  variants_clear (&again);
  variants_clear (&other);
  free_reference (&ref);
}

static void
test_quality_model (void)
{
  char read[17];
  sequencer_index_read ("ACGT", 8, false, read);
  g_assert_cmpstr (read, ==, "ACGTATCT");
  sequencer_index_read ("ACGTAC", 8, true, read);
  g_assert_cmpstr (read, ==, "ACGTACGT");

  /* One sample whose genome is one sequence, no variants. */
  Reference ref;
  repetitive_reference (&ref, 5000);
  VariantSet none = { 0 };
  SeqSample sample = { .i7 = "ACGTACGT", .i5 = "TTGGCCAA" };
  SimError e = { 0 };
  g_assert_cmpint (haplotype_build (&ref, &none, 0, &sample.hap[0], &e), ==, 0);
  g_assert_cmpint (haplotype_build (&ref, &none, 1, &sample.hap[1], &e), ==, 0);
  for (int binned = 0; binned < 2; binned++)
    {
      SeqConfig cfg = { .read_length = 100, .paired = true, .i7_cycles = 8, .i5_cycles = 8,
                        .insert_mean = 300, .insert_sd = 30, .n_rate = 0, .binned = binned };
      Sequencer *s = sequencer_new (&cfg, &sample, 1);
      g_assert_cmpint (sequencer_cycles (s), ==, 216);
      SimRng rng;
      sim_rng_seed (&rng, 1, 2, 3, 4);
      enum { N = 2000 };
      g_autofree guint8 *bcl = g_malloc (216 * N);
      ClusterTruth t;
      double sum_q[216] = { 0 };
      for (int k = 0; k < N; k++)
        {
          sequencer_cluster (s, &rng, 0, false, bcl + k, N, &t);
          g_assert_cmpstr (t.i7, ==, "ACGTACGT");
          g_assert_cmpint (t.insert, >, 150);
          for (int c = 0; c < 216; c++)
            {
              int q = bcl[c * N + k] >> 2;
              g_assert_cmpint (q, >=, 2);
              g_assert_cmpint (q, <=, 41);
              if (binned)
                g_assert_true (q == 2 || q == 12 || q == 23 || q == 37);
              sum_q[c] += q;
            }
        }
      if (!binned)
        {
          /* Qualities start high, decline along each read, faster at the
           * end, and read 2 is a little worse than read 1. */
          double early = sum_q[10] / N, late = sum_q[99] / N, r2 = sum_q[116 + 10] / N;
          g_assert_cmpfloat (early, >, 34.0);
          g_assert_cmpfloat (late, <, early - 3.0);
          g_assert_cmpfloat (late, >, 28.0);
          g_assert_cmpfloat (r2, <, early);
        }
      /* A cluster that fails the filter reads much worse. */
      double good = 0, bad = 0;
      for (int k = 0; k < 200; k++)
        {
          sequencer_cluster (s, &rng, 0, k % 2, bcl + k, N, &t);
          for (int c = 0; c < 100; c++)
            *(k % 2 ? &bad : &good) += bcl[c * N + k] >> 2;
        }
      g_assert_cmpfloat (bad, <, good - 100 * 100 * 6.0);
      sequencer_free (s);
    }
  haplotype_clear (&sample.hap[0]);
  haplotype_clear (&sample.hap[1]);
  free_reference (&ref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/simulate/reference", test_reference);
  g_test_add_func ("/simulate/variants", test_variants);
  g_test_add_func ("/simulate/quality-model", test_quality_model);
  return g_test_run ();
}
