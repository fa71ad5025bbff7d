/* simulate-run and basecall as stages, from the operator's side: a run
 * simulated from a reference, demultiplexed back into samples, and checked
 * against the simulator's truth: every read with its sample, its bases
 * those of its fragment except for errors its qualities predict, the truth
 * VCF the genome the reads came from, the statistics the reads' own count.
 * Then determinism, mismatch tolerance on a hand-made run folder, index
 * collisions, and damaged or inconsistent run folders. */
#include <glib.h>
#include <glib/gstdio.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seq-test-util.h"
#include "test-util.h"

typedef struct {
  char *dir;
  char *reference;
  GPtrArray *contigs;
} Fixture;

static const gsize contig_lengths[] = { 6000, 3500 };

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-seq-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->reference = g_build_filename (f->dir, "reference.fa.gz", NULL);
  f->contigs = seq_test_write_reference (f->reference, contig_lengths,
                                         G_N_ELEMENTS (contig_lengths), 7);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->reference);
  g_ptr_array_unref (f->contigs);
}

static char *
sub_dir (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

/* A small pooled run of three samples, one with its own indices, on two
 * lanes of two tiles, with every cluster's origin written down. */
static StageHarness *
simulate (Fixture *f, const char *work, const char *seed)
{
  g_autofree char *dir = sub_dir (f, work);
  StageHarness *h = seq_test_stage ("simulate-run", dir);
  stage_harness_add_input (h, "reference", f->reference);
  stage_harness_add_sample (h, "S1", "index", "CTTGTAAT", "index2", "AGATCTCG", NULL);
  stage_harness_add_sample (h, "S2", NULL);
  stage_harness_add_sample (h, "S3", NULL);
  stage_harness_set_param (h, "seed", seed);
  stage_harness_set_param (h, "reads_per_sample", "500");
  stage_harness_set_param (h, "read_length", "100");
  stage_harness_set_param (h, "lanes", "2");
  stage_harness_set_param (h, "tiles", "2");
  stage_harness_set_param (h, "undetermined_fraction", "0.05");
  stage_harness_set_param (h, "snv_rate", "0.004");
  stage_harness_set_param (h, "indel_rate", "0.001");
  stage_harness_set_param (h, "read_truth", "true");
  g_assert_cmpint (stage_harness_validate (h), ==, STRAND_OK);
  g_assert_cmpint (stage_harness_run (h), ==, STRAND_OK);
  return h;
}

static StageHarness *
basecall (Fixture *f, const char *work, const char *run_dir, guint cores)
{
  g_autofree char *dir = sub_dir (f, work);
  StageHarness *h = seq_test_stage ("basecall", dir);
  stage_harness_add_input (h, "run", run_dir);
  stage_harness_add_sample (h, "S1", "index", "CTTGTAAT", NULL);
  stage_harness_add_sample (h, "S2", NULL);
  stage_harness_add_sample (h, "S3", NULL);
  stage_harness_set_cores (h, cores);
  g_assert_cmpint (stage_harness_validate (h), ==, STRAND_OK);
  g_assert_cmpint (stage_harness_run (h), ==, STRAND_OK);
  return h;
}

/* ---- reading what the stages wrote ----------------------------------------- */

typedef struct {
  char *id;
  char *i7;
  char *i5;
} SheetRow;

/* The [Data] rows of a sample sheet the simulator wrote (no quoting). */
static GPtrArray *
read_sheet (const char *run_dir)
{
  g_autofree char *path = g_build_filename (run_dir, "SampleSheet.csv", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  const char *data = strstr (text, "[Data]\nSample_ID,Sample_Name,index,index2\n");
  g_assert_nonnull (data);
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  GPtrArray *rows = g_ptr_array_new ();
  for (guint i = 2; lines[i] && lines[i][0]; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], ",", -1);
      g_assert_cmpuint (g_strv_length (fields), ==, 4);
      SheetRow *r = g_new0 (SheetRow, 1);
      r->id = g_strdup (fields[0]);
      r->i7 = g_strdup (fields[2]);
      r->i5 = g_strdup (fields[3]);
      g_ptr_array_add (rows, r);
    }
  return rows;
}

static void
sheet_free (GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    {
      SheetRow *r = rows->pdata[i];
      g_free (r->id);
      g_free (r->i7);
      g_free (r->i5);
      g_free (r);
    }
  g_ptr_array_unref (rows);
}

typedef struct {
  char **fields; /* lane tile x y sample pf hap contig start strand insert i7 i5 r1 r2 */
  int seen[2];   /* times read 1 and read 2 were found in the FASTQ */
} TruthRow;

static void
truth_row_free (gpointer p)
{
  TruthRow *r = p;
  g_strfreev (r->fields);
  g_free (r);
}

/* The read-truth table by "lane:tile:x:y". */
static GHashTable *
read_truth (const char *path, guint *n_rows)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_true (g_str_has_prefix (lines[0], "#lane\ttile\tx\ty\tsample"));
  GHashTable *rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, truth_row_free);
  *n_rows = 0;
  for (guint i = 1; lines[i] && lines[i][0]; i++)
    {
      TruthRow *r = g_new0 (TruthRow, 1);
      r->fields = g_strsplit (lines[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (r->fields), ==, 15);
      char *key = g_strdup_printf ("%s:%s:%s:%s", r->fields[0], r->fields[1], r->fields[2],
                                   r->fields[3]);
      g_assert_true (g_hash_table_insert (rows, key, r)); /* coordinates are unique */
      (*n_rows)++;
    }
  return rows;
}

static int
mismatches (const char *observed, const char *expected)
{
  int d = 0;
  for (gsize i = 0; expected[i]; i++)
    d += observed[i] == 'N' || observed[i] != expected[i];
  return d;
}

/* The sample a read's indices belong to, decided here without basecall's
 * code: within one mismatch per index (an N counts), else NULL. */
static const char *
expected_sample (GPtrArray *sheet, const char *comment)
{
  /* "1:N:0:I7+I5" */
  g_auto (GStrv) parts = g_strsplit (comment, ":", 4);
  g_assert_cmpuint (g_strv_length (parts), ==, 4);
  g_auto (GStrv) idx = g_strsplit (parts[3], "+", 2);
  for (guint i = 0; i < sheet->len; i++)
    {
      SheetRow *r = sheet->pdata[i];
      if (mismatches (idx[0], r->i7) <= 1 && mismatches (idx[1], r->i5) <= 1)
        return r->id;
    }
  return NULL;
}

static JsonNode *
read_json (const char *path)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static JsonObject *
find_by_id (JsonArray *a, const char *id)
{
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (g_strcmp0 (json_object_get_string_member (o, "sample_id"), id) == 0)
        return o;
    }
  return NULL;
}

/* ---- the round trip ----------------------------------------------------------- */

typedef struct {
  double expected_errors; /* sum of 10^(-Q/10) over called bases */
  guint64 errors;
  guint64 bases;
  guint64 q30;
} ErrorTally;

/* Checks one FASTQ record against its cluster's truth. */
static void
check_read (const FastqRecord *rec, const TruthRow *t, int read, ErrorTally *tally)
{
  const char *truth = t->fields[13 + read];
  g_assert_cmpuint (strlen (rec->seq), ==, strlen (truth));
  for (gsize i = 0; rec->seq[i]; i++)
    {
      int q = rec->qual[i] - 33;
      g_assert_cmpint (q, >=, 2);
      g_assert_cmpint (q, <=, 41);
      tally->bases++;
      tally->q30 += q >= 30;
      if (rec->seq[i] == 'N')
        {
          g_assert_cmpint (q, ==, 2);
          continue;
        }
      tally->expected_errors += pow (10.0, -q / 10.0);
      tally->errors += rec->seq[i] != truth[i];
    }
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr (StageHarness) sim = simulate (f, "sim", "11");
  const char *run_dir = stage_harness_output (sim, "run", NULL, NULL);
  g_assert_true (g_file_test (run_dir, G_FILE_TEST_IS_DIR));
  guint n_truth = 0;
  g_autoptr (GHashTable) truth =
      read_truth (stage_harness_output (sim, "read_truth", NULL, NULL), &n_truth);
  GPtrArray *sheet = read_sheet (run_dir);
  g_assert_cmpuint (sheet->len, ==, 3);
  g_assert_cmpstr (((SheetRow *) sheet->pdata[0])->i7, ==, "CTTGTAAT");
  g_assert_cmpstr (((SheetRow *) sheet->pdata[0])->i5, ==, "AGATCTCG");

  g_autoptr (StageHarness) bc = basecall (f, "bc", run_dir, 2);
  const char *bins[] = { "S1", "S2", "S3", NULL };
  g_autoptr (GHashTable) counted = g_hash_table_new (g_str_hash, g_str_equal);
  ErrorTally tally = { 0 };
  guint64 records_of[4] = { 0 };
  guint64 q30_of[4] = { 0 }, bases_of[4] = { 0 };
  for (int b = 0; b < 4; b++)
    for (int read = 0; read < 2; read++)
      {
        const char *path = b < 3 ? stage_harness_output (bc, read ? "read2" : "read1", bins[b], NULL)
                                 : stage_harness_output (bc, "undetermined", NULL,
                                                         read ? "_R2_001.fastq.gz" : "_R1_001.fastq.gz");
        g_assert_nonnull (path);
        if (b < 3)
          {
            g_autofree char *want = g_strdup_printf ("%s_S%d_R%d_001.fastq.gz", bins[b], b + 1, read + 1);
            g_assert_true (g_str_has_suffix (path, want));
          }
        g_autoptr (GPtrArray) records = seq_test_read_fastq (path);
        for (guint i = 0; i < records->len; i++)
          {
            FastqRecord *rec = records->pdata[i];
            /* SIMSEQ01:1:FLOWCELL:lane:tile:x:y */
            g_auto (GStrv) parts = g_strsplit (rec->name, ":", -1);
            g_assert_cmpuint (g_strv_length (parts), ==, 7);
            g_assert_cmpstr (parts[0], ==, "SIMSEQ01");
            g_assert_cmpstr (parts[1], ==, "1");
            g_autofree char *key = g_strdup_printf ("%s:%s:%s:%s", parts[3], parts[4], parts[5], parts[6]);
            TruthRow *t = g_hash_table_lookup (truth, key);
            g_assert_nonnull (t);
            g_assert_cmpstr (t->fields[5], ==, "1"); /* filtered clusters are left out */
            g_autofree char *prefix = g_strdup_printf ("%d:N:0:", read + 1);
            g_assert_true (g_str_has_prefix (rec->comment, prefix));
            /* The read is where an independent reading of its indices puts
             * it, and that is its true sample when it has one. */
            const char *want = expected_sample (sheet, rec->comment);
            g_assert_cmpstr (want, ==, bins[b]);
            if (want != NULL)
              g_assert_cmpstr (t->fields[4], ==, want);
            t->seen[read]++;
            check_read (rec, t, read, &tally);
            if (read == 0)
              records_of[b]++;
            for (gsize k = 0; rec->qual[k]; k++)
              q30_of[b] += rec->qual[k] - 33 >= 30;
            bases_of[b] += strlen (rec->qual);
          }
      }

  /* Every cluster that passed the filter is there exactly once per read. */
  GHashTableIter it;
  gpointer value;
  guint pf = 0, true_undetermined = 0;
  g_hash_table_iter_init (&it, truth);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      TruthRow *t = value;
      gboolean passed = strcmp (t->fields[5], "1") == 0;
      pf += passed;
      true_undetermined += passed && strcmp (t->fields[4], "*") == 0;
      g_assert_cmpint (t->seen[0], ==, passed ? 1 : 0);
      g_assert_cmpint (t->seen[1], ==, passed ? 1 : 0);
    }
  g_assert_cmpuint (pf, ==, records_of[0] + records_of[1] + records_of[2] + records_of[3]);
  g_assert_cmpuint (pf, <, n_truth); /* some failed the filter */
  g_assert_cmpuint (records_of[3], >=, true_undetermined);
  g_assert_cmpuint (true_undetermined, >, 0);

  /* Errors as the qualities predict them: within 20% of the expectation
   * (over 250 are expected: chance stays within about 12%). */
  g_test_message ("%" G_GUINT64_FORMAT " errors in %" G_GUINT64_FORMAT " bases, %.1f expected",
                  tally.errors, tally.bases, tally.expected_errors);
  g_assert_cmpfloat (tally.expected_errors, >, 250.0);
  g_assert_cmpfloat ((double) tally.errors, >, 0.8 * tally.expected_errors);
  g_assert_cmpfloat ((double) tally.errors, <, 1.2 * tally.expected_errors);
  /* And realistic: most bases at Q30 or better, not all. */
  double q30 = (double) tally.q30 / (double) tally.bases;
  g_assert_cmpfloat (q30, >, 0.75);
  g_assert_cmpfloat (q30, <, 0.98);

  /* The statistics say what the files hold. */
  g_autoptr (JsonNode) stats = read_json (stage_harness_output (bc, "stats", NULL, NULL));
  JsonObject *root = json_node_get_object (stats);
  JsonArray *samples = json_object_get_array_member (root, "samples");
  g_assert_cmpuint (json_array_get_length (samples), ==, 3);
  for (int b = 0; b < 3; b++)
    {
      JsonObject *s = find_by_id (samples, bins[b]);
      g_assert_nonnull (s);
      g_assert_cmpint (json_object_get_int_member (s, "clusters"), ==, (gint64) records_of[b]);
      g_assert_cmpint (json_object_get_int_member (s, "yield"), ==, (gint64) bases_of[b]);
      g_assert_cmpint (json_object_get_int_member (s, "yield_q30"), ==, (gint64) q30_of[b]);
      g_assert_true (json_object_get_boolean_member (s, "written"));
      gint64 perfect = json_object_get_int_member (s, "perfect_index_reads");
      gint64 one = json_object_get_int_member (s, "one_mismatch_index_reads");
      g_assert_cmpint (perfect + one, <=, (gint64) records_of[b]);
      g_assert_cmpint (perfect, >, (gint64) records_of[b] * 8 / 10);
      g_autofree char *name = g_strdup_printf ("sample.%s.clusters", bins[b]);
      g_assert_cmpfloat (stage_harness_metric (bc, name), ==, (double) records_of[b]);
    }
  JsonObject *und = json_object_get_object_member (root, "undetermined");
  g_assert_cmpint (json_object_get_int_member (und, "clusters"), ==, (gint64) records_of[3]);
  JsonArray *lanes = json_object_get_array_member (root, "lanes");
  g_assert_cmpuint (json_array_get_length (lanes), ==, 2);
  gint64 raw = 0, lane_pf = 0;
  for (guint l = 0; l < 2; l++)
    {
      JsonObject *lane = json_array_get_object_element (lanes, l);
      g_assert_cmpint (json_object_get_int_member (lane, "lane"), ==, l + 1);
      raw += json_object_get_int_member (lane, "clusters_raw");
      lane_pf += json_object_get_int_member (lane, "clusters_pf");
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (lane, "samples")), ==, 3);
    }
  g_assert_cmpint (raw, ==, n_truth);
  g_assert_cmpint (lane_pf, ==, pf);
  g_assert_cmpfloat (stage_harness_metric (bc, "clusters_raw"), ==, (double) n_truth);
  g_assert_cmpfloat (stage_harness_metric (bc, "clusters_pf"), ==, (double) pf);
  g_assert_cmpfloat (stage_harness_metric (sim, "clusters_raw"), ==, (double) n_truth);
  sheet_free (sheet);
}

/* ---- the truth VCF ------------------------------------------------------------ */

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

/* The sample's two haplotypes, per contig, built here from the reference
 * and the truth VCF's phased genotypes. Counts SNVs, indels, het, hom. */
static void
apply_vcf (Fixture *f, const char *vcf, GPtrArray *haps[2], guint counts[4])
{
  htsFile *fp = hts_open (vcf, "r");
  g_assert_nonnull (fp);
  bcf_hdr_t *hdr = bcf_hdr_read (fp);
  g_assert_nonnull (hdr);
  g_assert_cmpint (bcf_hdr_nsamples (hdr), ==, 1);
  bcf1_t *rec = bcf_init ();
  GString *built[2][G_N_ELEMENTS (contig_lengths)];
  gsize from[2][G_N_ELEMENTS (contig_lengths)] = { { 0 } };
  for (int h = 0; h < 2; h++)
    for (gsize c = 0; c < G_N_ELEMENTS (contig_lengths); c++)
      built[h][c] = g_string_new (NULL);
  int32_t *gt = NULL, n_gt = 0;
  hts_pos_t last_end[G_N_ELEMENTS (contig_lengths)] = { 0 };
  while (bcf_read (fp, hdr, rec) == 0)
    {
      bcf_unpack (rec, BCF_UN_ALL);
      gsize c = (gsize) rec->rid;
      g_assert_cmpuint (c, <, G_N_ELEMENTS (contig_lengths));
      g_assert_cmpstr (bcf_hdr_id2name (hdr, rec->rid), ==, c == 0 ? "contig1" : "contig2");
      const char *ref_seq = f->contigs->pdata[c];
      const char *ref = rec->d.allele[0], *alt = rec->d.allele[1];
      g_assert_cmpint (rec->n_allele, ==, 2);
      /* REF is the reference; records are sorted and apart. */
      g_assert_cmpint (strncmp (ref_seq + rec->pos, ref, strlen (ref)), ==, 0);
      g_assert_cmpint (rec->pos, >, last_end[c]);
      last_end[c] = rec->pos + (hts_pos_t) strlen (ref);
      gsize rl = strlen (ref), al = strlen (alt);
      if (rl != al)
        {
          /* Indels are anchored and left-aligned: the anchor base differs
           * from the last base of the inserted or deleted sequence. */
          g_assert_cmpint (ref[0], ==, alt[0]);
          const char *longer = rl > al ? ref : alt;
          g_assert_cmpint (longer[0], !=, longer[strlen (longer) - 1]);
        }
      counts[rl == al ? 0 : 1]++;
      g_assert_cmpint (bcf_get_genotypes (hdr, rec, &gt, &n_gt), ==, 2);
      g_assert_true (bcf_gt_is_phased (gt[1]));
      int a[2] = { bcf_gt_allele (gt[0]), bcf_gt_allele (gt[1]) };
      g_assert_true (a[0] + a[1] >= 1);
      counts[a[0] + a[1] == 2 ? 3 : 2]++;
      for (int h = 0; h < 2; h++)
        {
          if (a[h] == 0)
            continue;
          g_string_append_len (built[h][c], ref_seq + from[h][c], (gssize) ((gsize) rec->pos - from[h][c]));
          g_string_append (built[h][c], alt);
          from[h][c] = (gsize) rec->pos + rl;
        }
    }
  for (int h = 0; h < 2; h++)
    {
      haps[h] = g_ptr_array_new_with_free_func (g_free);
      for (gsize c = 0; c < G_N_ELEMENTS (contig_lengths); c++)
        {
          g_string_append (built[h][c], (const char *) f->contigs->pdata[c] + from[h][c]);
          g_ptr_array_add (haps[h], g_string_free (built[h][c], FALSE));
        }
    }
  free (gt);
  bcf_destroy (rec);
  bcf_hdr_destroy (hdr);
  hts_close (fp);
}

/* The reads came from the genome the truth VCF describes: each cluster's
 * error-free read 1 is its haplotype at the position the truth table
 * gives, on the strand it gives. */
static void
test_truth_vcf (Fixture *f, gconstpointer data)
{
  g_autoptr (StageHarness) sim = simulate (f, "sim", "5");
  guint n = 0;
  g_autoptr (GHashTable) truth =
      read_truth (stage_harness_output (sim, "read_truth", NULL, NULL), &n);
  const char *ids[] = { "S1", "S2", "S3" };
  for (int s = 0; s < 3; s++)
    {
      const char *vcf = stage_harness_output (sim, "truth", ids[s], NULL);
      const char *tbi = stage_harness_output (sim, "truth_index", ids[s], NULL);
      g_assert_nonnull (vcf);
      g_assert_true (g_str_has_suffix (vcf, "/truth/@S1/S1.truth.vcf.gz") || s > 0);
      g_assert_true (g_file_test (tbi, G_FILE_TEST_IS_REGULAR));
      /* The index opens and answers a region query. */
      htsFile *fp = hts_open (vcf, "r");
      tbx_t *idx = tbx_index_load2 (vcf, tbi);
      g_assert_nonnull (idx);
      hts_itr_t *itr = tbx_itr_querys (idx, "contig1:1-6000");
      g_assert_nonnull (itr);
      kstring_t line = { 0 };
      int records = 0;
      while (tbx_itr_next (fp, idx, itr, &line) >= 0)
        records++;
      g_assert_cmpint (records, >, 0);
      free (line.s);
      tbx_itr_destroy (itr);
      tbx_destroy (idx);
      hts_close (fp);

      GPtrArray *haps[2];
      guint counts[4] = { 0 }; /* SNVs, indels, het, hom */
      apply_vcf (f, vcf, haps, counts);
      g_test_message ("%s: %u SNVs, %u indels, %u het, %u hom", ids[s], counts[0], counts[1],
                      counts[2], counts[3]);
      /* snv_rate 0.004 and indel_rate 0.001 over 9.5 kb. */
      g_assert_cmpuint (counts[0], >, 15);
      g_assert_cmpuint (counts[1], >, 2);
      g_assert_cmpuint (counts[2], >, 0);
      g_assert_cmpuint (counts[3], >, 0);
      g_autofree char *name = g_strdup_printf ("sample.%s.snvs", ids[s]);
      g_assert_cmpfloat (stage_harness_metric (sim, name), ==, counts[0]);

      GHashTableIter it;
      gpointer value;
      guint checked = 0;
      g_hash_table_iter_init (&it, truth);
      while (g_hash_table_iter_next (&it, NULL, &value))
        {
          char **t = ((TruthRow *) value)->fields;
          if (strcmp (t[4], ids[s]) != 0)
            continue;
          int hap = atoi (t[6]);
          const char *seq = haps[hap]->pdata[strcmp (t[7], "contig1") == 0 ? 0 : 1];
          gsize start = (gsize) g_ascii_strtoull (t[8], NULL, 10) - 1;
          gsize insert = (gsize) g_ascii_strtoull (t[10], NULL, 10);
          gsize len = strlen (t[13]), m = MIN (len, insert);
          g_assert_cmpuint (start + insert, <=, strlen (seq));
          for (gsize j = 0; j < m; j++)
            {
              char want = t[9][0] == '+' ? seq[start + j] : complement (seq[start + insert - 1 - j]);
              g_assert_cmpint (t[13][j], ==, want);
              /* Read 2 reads the fragment's other end, other strand. */
              char want2 = t[9][0] == '+' ? complement (seq[start + insert - 1 - j]) : seq[start + j];
              g_assert_cmpint (t[14][j], ==, want2);
            }
          /* A fragment shorter than the read runs into the adapter. */
          if (m < len)
            g_assert_true (g_str_has_prefix (t[13] + m, "AGATCGGAAGAGC"));
          checked++;
        }
      g_assert_cmpuint (checked, >, 400);
      g_ptr_array_unref (haps[0]);
      g_ptr_array_unref (haps[1]);
    }
}

/* bcftools reads the truth VCF and finds nothing to normalize. */
static void
test_truth_vcf_bcftools (Fixture *f, gconstpointer data)
{
  g_autofree char *bcftools = g_find_program_in_path ("bcftools");
  if (bcftools == NULL)
    {
      g_test_skip ("bcftools is not installed");
      return;
    }
  g_autoptr (StageHarness) sim = simulate (f, "sim", "5");
  g_autofree char *plain = g_build_filename (f->dir, "reference.fa", NULL);
  g_autoptr (GPtrArray) again = seq_test_write_reference (plain, contig_lengths,
                                                          G_N_ELEMENTS (contig_lengths), 7);
  const char *vcf = stage_harness_output (sim, "truth", "S2", NULL);
  const char *argv[] = { bcftools, "norm", "--check-ref", "e", "-f", plain, "-Ov", "-o",
                         "/dev/null", vcf, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s", err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  /* "Lines   total/split/realigned/skipped:	N/0/0/0" */
  const char *lines = strstr (err, "total/split/realigned/skipped:");
  g_assert_nonnull (lines);
  g_assert_nonnull (strstr (lines, "/0/0/0"));
}

/* ---- determinism ---------------------------------------------------------------- */

/* Every regular file under `dir`, by relative path, with its bytes. */
static void
collect_files (const char *root, const char *rel, GHashTable *files)
{
  g_autofree char *dir = g_build_filename (root, rel, NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child_rel = rel[0] ? g_build_filename (rel, name, NULL) : g_strdup (name);
      g_autofree char *child = g_build_filename (root, child_rel, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        collect_files (root, child_rel, files);
      else
        {
          char *data = NULL;
          gsize len = 0;
          g_assert_true (g_file_get_contents (child, &data, &len, NULL));
          g_hash_table_insert (files, g_steal_pointer (&child_rel), g_bytes_new_take (data, len));
        }
    }
}

static GHashTable *
outputs_of (Fixture *f, const char *work)
{
  GHashTable *files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) g_bytes_unref);
  g_autofree char *dir = g_build_filename (f->dir, work, "outputs", NULL);
  collect_files (dir, "", files);
  return files;
}

/* Same files, same bytes; returns how many. */
static guint
assert_same_files (GHashTable *a, GHashTable *b)
{
  g_assert_cmpuint (g_hash_table_size (a), ==, g_hash_table_size (b));
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, a);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GBytes *other = g_hash_table_lookup (b, key);
      if (other == NULL || !g_bytes_equal (value, other))
        g_error ("%s differs between the two runs", (const char *) key);
    }
  return g_hash_table_size (a);
}

static void
test_determinism (Fixture *f, gconstpointer data)
{
  g_autoptr (StageHarness) one = simulate (f, "sim1", "3");
  g_autoptr (StageHarness) two = simulate (f, "sim2", "3");
  g_autoptr (GHashTable) a = outputs_of (f, "sim1");
  g_autoptr (GHashTable) b = outputs_of (f, "sim2");
  guint n = assert_same_files (a, b);
  g_assert_cmpuint (n, >, 2 * 2 * 216); /* BCL files of 2 lanes x 2 tiles, VCFs, ... */

  /* Another seed, another run: other BCL bytes, other variants. */
  g_autoptr (StageHarness) three = simulate (f, "sim3", "4");
  g_autoptr (GHashTable) c = outputs_of (f, "sim3");
  /* (The run folder's name holds the flow cell, which the seed picks.) */
  GBytes *bcl[2] = { NULL, NULL };
  GHashTable *runs[2] = { a, c };
  for (int r = 0; r < 2; r++)
    {
      GHashTableIter it;
      gpointer key, value;
      g_hash_table_iter_init (&it, runs[r]);
      while (g_hash_table_iter_next (&it, &key, &value))
        if (g_str_has_suffix (key, "/Data/Intensities/BaseCalls/L001/C10.1/s_1_1101.bcl.gz"))
          bcl[r] = value;
      g_assert_nonnull (bcl[r]);
    }
  g_assert_false (g_bytes_equal (bcl[0], bcl[1]));
  g_assert_false (g_bytes_equal (g_hash_table_lookup (a, "truth/@S2/S2.truth.vcf.gz"),
                                 g_hash_table_lookup (c, "truth/@S2/S2.truth.vcf.gz")));

  /* basecall: the same bytes with one core or four. */
  const char *run_dir = stage_harness_output (one, "run", NULL, NULL);
  g_autoptr (StageHarness) bc1 = basecall (f, "bc1", run_dir, 1);
  g_autoptr (StageHarness) bc4 = basecall (f, "bc4", run_dir, 4);
  g_autoptr (GHashTable) x = outputs_of (f, "bc1");
  g_autoptr (GHashTable) y = outputs_of (f, "bc4");
  g_assert_cmpuint (assert_same_files (x, y), ==, 3 * 2 + 2 + 1);
}

/* ---- a run folder made by hand ---------------------------------------------------- */

/* One lane, one tile, 4+4+4+4 cycles (read 1, i7, i5, read 2), two
 * samples: A (AAAA+CCCC) and B (GGGG+TTTT), no locs file. */
typedef struct {
  const char *r1, *i7, *i5, *r2;
  gboolean pass;
} Cluster;

static const Cluster hand_clusters[] = {
  { "ACGT", "AAAA", "CCCC", "TTGA", TRUE },  /* 0: A, perfect */
  { "CCGT", "AAAT", "CCCC", "TTGC", TRUE },  /* 1: A, one mismatch in i7 */
  { "GCGT", "AATT", "CCCC", "TTGG", TRUE },  /* 2: two in i7: Undetermined */
  { "TCGT", "AAAA", "CCCN", "TTGT", TRUE },  /* 3: A, a no-call in i5 */
  { "ANGT", "GGGG", "TTTA", "ATGA", TRUE },  /* 4: B, one in i5; a no-call in read 1 */
  { "AGGT", "AAAT", "CCCA", "CTGA", TRUE },  /* 5: A, one in each index */
  { "ATGT", "GGGG", "TTTT", "GTGA", FALSE }, /* 6: B's, but failed the filter */
  { "AAGT", "TTTT", "TTTT", "TAGA", TRUE },  /* 7: nobody's */
};

static guint8
hand_byte (const char *bases, int i, int cycle)
{
  int q = 20 + (cycle * 3) % 21;
  switch (bases[i])
    {
    case 'A': return (guint8) (q << 2 | 0);
    case 'C': return (guint8) (q << 2 | 1);
    case 'G': return (guint8) (q << 2 | 2);
    case 'T': return (guint8) (q << 2 | 3);
    default: return 0;
    }
}

static char
hand_quality (const char *bases, int i, int cycle)
{
  return bases[i] == 'N' ? '#' : (char) (33 + 20 + (cycle * 3) % 21);
}

static const char hand_run_info[] =
    "<?xml version=\"1.0\"?>\n<RunInfo Version=\"2\"><Run Id=\"RUN7\" Number=\"7\">"
    "<Flowcell>FC1</Flowcell><Instrument>INSTR</Instrument><Reads>"
    "<Read Number=\"1\" NumCycles=\"4\" IsIndexedRead=\"N\"/>"
    "<Read Number=\"2\" NumCycles=\"4\" IsIndexedRead=\"Y\"/>"
    "<Read Number=\"3\" NumCycles=\"4\" IsIndexedRead=\"Y\"/>"
    "<Read Number=\"4\" NumCycles=\"4\" IsIndexedRead=\"N\"/></Reads>"
    "<FlowcellLayout LaneCount=\"1\"><TileSet><Tiles><Tile>1_1101</Tile></Tiles></TileSet>"
    "</FlowcellLayout></Run></RunInfo>\n";

static const char hand_sheet[] = "[Header]\nIEMFileVersion,4\n\n[Data]\n"
                                 "Sample_ID,Sample_Name,index,index2\n"
                                 "A,,AAAA,CCCC\nB,,GGGG,TTTT\n";

static void
put_le32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v, v >> 8, v >> 16, v >> 24 };
  g_byte_array_append (a, b, 4);
}

static void
write_in (const char *run, const char *rel, const void *data, gsize len)
{
  g_autofree char *path = g_build_filename (run, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
}

static char *
hand_run (Fixture *f, const char *name)
{
  char *run = g_build_filename (f->dir, name, NULL);
  write_in (run, "RunInfo.xml", hand_run_info, strlen (hand_run_info));
  write_in (run, "SampleSheet.csv", hand_sheet, strlen (hand_sheet));
  guint32 n = G_N_ELEMENTS (hand_clusters);
  for (int cycle = 1; cycle <= 16; cycle++)
    {
      g_autoptr (GByteArray) a = g_byte_array_new ();
      put_le32 (a, n);
      for (guint32 k = 0; k < n; k++)
        {
          const Cluster *c = &hand_clusters[k];
          const char *parts[4] = { c->r1, c->i7, c->i5, c->r2 };
          guint8 b = hand_byte (parts[(cycle - 1) / 4], (cycle - 1) % 4, cycle);
          g_byte_array_append (a, &b, 1);
        }
      g_autofree char *rel = g_strdup_printf ("Data/Intensities/BaseCalls/L001/C%d.1/s_1_1101.bcl",
                                              cycle);
      write_in (run, rel, a->data, a->len);
    }
  g_autoptr (GByteArray) filter = g_byte_array_new ();
  put_le32 (filter, 0);
  put_le32 (filter, 3);
  put_le32 (filter, n);
  for (guint32 k = 0; k < n; k++)
    {
      guint8 b = hand_clusters[k].pass ? 1 : 0;
      g_byte_array_append (filter, &b, 1);
    }
  write_in (run, "Data/Intensities/BaseCalls/L001/s_1_1101.filter", filter->data, filter->len);
  return run;
}

/* The FASTQ basecall must write for these clusters, read 1 or 2. */
static char *
expected_fastq (const int *clusters, gsize n, int read)
{
  GString *s = g_string_new (NULL);
  for (gsize i = 0; i < n; i++)
    {
      const Cluster *c = &hand_clusters[clusters[i]];
      const char *bases = read == 1 ? c->r1 : c->r2;
      int first = read == 1 ? 1 : 13;
      g_string_append_printf (s, "@INSTR:7:FC1:1:1101:%d:0 %d:N:0:%s+%s\n", clusters[i] + 1, read,
                              c->i7, c->i5);
      for (int j = 0; j < 4; j++)
        g_string_append_c (s, bases[j]);
      g_string_append (s, "\n+\n");
      for (int j = 0; j < 4; j++)
        g_string_append_c (s, hand_quality (bases, j, first + j));
      g_string_append_c (s, '\n');
    }
  return g_string_free (s, FALSE);
}

static void
assert_fastq (const char *path, const int *clusters, gsize n, int read)
{
  g_assert_nonnull (path);
  g_autoptr (GBytes) got = seq_test_gunzip (path);
  g_autofree char *want = expected_fastq (clusters, n, read);
  g_autofree char *text = g_bytes_get_size (got) ? g_strndup (g_bytes_get_data (got, NULL), g_bytes_get_size (got))
                                                  : g_strdup ("");
  g_assert_cmpstr (text, ==, want);
}

static StageHarness *
hand_basecall (Fixture *f, const char *work, const char *run, const char *mismatches)
{
  g_autofree char *dir = sub_dir (f, work);
  StageHarness *h = seq_test_stage ("basecall", dir);
  stage_harness_add_input (h, "run", run);
  stage_harness_add_sample (h, "A", NULL);
  stage_harness_add_sample (h, "B", NULL);
  stage_harness_set_param (h, "mismatches", mismatches);
  return h;
}

static void
test_mismatches (Fixture *f, gconstpointer data)
{
  g_autofree char *run = hand_run (f, "run");
  g_autoptr (StageHarness) h = hand_basecall (f, "bc", run, "1");
  g_assert_cmpint (stage_harness_validate (h), ==, STRAND_OK);
  g_assert_cmpint (stage_harness_run (h), ==, STRAND_OK);
  /* One mismatch per index is accepted, two in one index are not; the
   * cluster that failed the filter is nowhere. */
  const int a[] = { 0, 1, 3, 5 }, b[] = { 4 }, und[] = { 2, 7 };
  assert_fastq (stage_harness_output (h, "read1", "A", NULL), a, G_N_ELEMENTS (a), 1);
  assert_fastq (stage_harness_output (h, "read2", "A", NULL), a, G_N_ELEMENTS (a), 2);
  assert_fastq (stage_harness_output (h, "read1", "B", NULL), b, G_N_ELEMENTS (b), 1);
  assert_fastq (stage_harness_output (h, "read2", "B", NULL), b, G_N_ELEMENTS (b), 2);
  assert_fastq (stage_harness_output (h, "undetermined", NULL, "_R1_001.fastq.gz"), und,
                G_N_ELEMENTS (und), 1);
  assert_fastq (stage_harness_output (h, "undetermined", NULL, "_R2_001.fastq.gz"), und,
                G_N_ELEMENTS (und), 2);

  g_autoptr (JsonNode) stats = read_json (stage_harness_output (h, "stats", NULL, NULL));
  JsonObject *root = json_node_get_object (stats);
  JsonObject *lane = json_array_get_object_element (json_object_get_array_member (root, "lanes"), 0);
  g_assert_cmpint (json_object_get_int_member (lane, "clusters_raw"), ==, 8);
  g_assert_cmpint (json_object_get_int_member (lane, "clusters_pf"), ==, 7);
  JsonObject *sa = find_by_id (json_object_get_array_member (root, "samples"), "A");
  g_assert_cmpint (json_object_get_int_member (sa, "clusters"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (sa, "perfect_index_reads"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (sa, "one_mismatch_index_reads"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (sa, "yield"), ==, 4 * 8);
  JsonArray *top = json_object_get_array_member (lane, "top_unknown_barcodes");
  g_assert_cmpuint (json_array_get_length (top), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (top, 0), "index"),
                   ==, "AATT+CCCC");

  /* With no mismatches allowed, only perfect matches are assigned. */
  g_autoptr (StageHarness) strict = hand_basecall (f, "bc0", run, "0");
  g_assert_cmpint (stage_harness_run (strict), ==, STRAND_OK);
  const int a0[] = { 0 }, und0[] = { 1, 2, 3, 4, 5, 7 };
  assert_fastq (stage_harness_output (strict, "read1", "A", NULL), a0, 1, 1);
  assert_fastq (stage_harness_output (strict, "read1", "B", NULL), NULL, 0, 1);
  assert_fastq (stage_harness_output (strict, "undetermined", NULL, "_R1_001.fastq.gz"), und0,
                G_N_ELEMENTS (und0), 1);
}

static void
assert_failed (StageHarness *h, int rc, StrandErrorClass error_class, const char *part,
               const char *part2)
{
  g_assert_cmpint (rc, ==, STRAND_E_FAILED);
  g_assert_cmpint (stage_harness_error_class (h), ==, error_class);
  const char *msg = stage_harness_failure (h);
  if (strstr (msg, part) == NULL || (part2 != NULL && strstr (msg, part2) == NULL))
    g_error ("'%s' should say '%s'%s%s", msg, part, part2 ? " and " : "", part2 ? part2 : "");
}

/* Index collisions within the tolerance are refused before anything runs. */
static void
test_collisions (Fixture *f, gconstpointer data)
{
  g_autofree char *run = hand_run (f, "run");
  const char sheet[] = "[Data]\nSample_ID,index,index2\nA,AAAA,CCCC\nB,AAAT,CCCA\n";
  write_in (run, "SampleSheet.csv", sheet, strlen (sheet));
  g_autoptr (StageHarness) h = hand_basecall (f, "bc", run, "1");
  assert_failed (h, stage_harness_validate (h), STRAND_ERROR_CONFIG,
                 "index collision: samples 'A' (SampleSheet.csv:3) (AAAA+CCCC) and "
                 "'B' (SampleSheet.csv:4) (AAAT+CCCA)", "use mismatches=0");
  assert_failed (h, stage_harness_run (h), STRAND_ERROR_CONFIG, "index collision", NULL);
  g_assert_cmpuint (stage_harness_outputs (h)->len, ==, 0);
  /* Exact matching tells them apart. */
  g_autoptr (StageHarness) strict = hand_basecall (f, "bc0", run, "0");
  g_assert_cmpint (stage_harness_validate (strict), ==, STRAND_OK);

  /* Before a sequencer upstream has made the run folder: the samples'
   * index metadata is checked. */
  g_autofree char *dir = sub_dir (f, "early");
  g_autoptr (StageHarness) early = seq_test_stage ("basecall", dir);
  stage_harness_add_sample (early, "X", "index", "ACGTACGT", "index2", "TTTTCCCC", NULL);
  stage_harness_add_sample (early, "Y", "index", "ACGTACTT", "index2", "TTTTCCGC", NULL);
  assert_failed (early, stage_harness_validate (early), STRAND_ERROR_CONFIG,
                 "samples 'X' (ACGTACGT+TTTTCCCC) and 'Y' (ACGTACTT+TTTTCCGC) differ in 1 i7 "
                 "and 1 i5 positions", NULL);
  stage_harness_set_param (early, "mismatches", "0");
  g_assert_cmpint (stage_harness_validate (early), ==, STRAND_OK);
  /* Or a connected sample sheet, when there is one. */
  g_autofree char *sheet_path = g_build_filename (f->dir, "sheet.csv", NULL);
  g_assert_true (g_file_set_contents (sheet_path, sheet, -1, NULL));
  stage_harness_add_input (early, "sample_sheet", sheet_path);
  stage_harness_set_param (early, "mismatches", "1");
  assert_failed (early, stage_harness_validate (early), STRAND_ERROR_CONFIG,
                 "'A' (sheet.csv:3)", "'B' (sheet.csv:4)");
}

static void
test_damaged_run (Fixture *f, gconstpointer data)
{
  struct {
    const char *name;
    const char *file;     /* relative to the run folder */
    gssize keep;          /* bytes kept; -1: delete the file */
    const char *contents; /* or new contents */
    const char *part, *part2;
  } cases[] = {
    { "truncated", "Data/Intensities/BaseCalls/L001/C6.1/s_1_1101.bcl", 4 + 5, NULL,
      "Data/Intensities/BaseCalls/L001/C6.1/s_1_1101.bcl: truncated", "ends after 5" },
    { "missing", "Data/Intensities/BaseCalls/L001/C9.1/s_1_1101.bcl", -1, NULL,
      "Data/Intensities/BaseCalls/L001/C9.1/s_1_1101.bcl(.gz): missing", NULL },
    { "count", "Data/Intensities/BaseCalls/L001/C2.1/s_1_1101.bcl", 0, "\x09\0\0\0ABCDEFGHI",
      "C2.1/s_1_1101.bcl: 9 clusters, but the filter file of the tile says 8", NULL },
    { "gzip", "Data/Intensities/BaseCalls/L001/C3.1/s_1_1101.bcl", -1, NULL, NULL, NULL },
    { "filter", "Data/Intensities/BaseCalls/L001/s_1_1101.filter", 10, NULL,
      "s_1_1101.filter: truncated", NULL },
    { "run-info", "RunInfo.xml", 200, NULL, "RunInfo.xml:2: not well-formed XML: unclosed token", NULL },
    { "no-run-info", "RunInfo.xml", -1, NULL, "RunInfo.xml: missing", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("run-%s", cases[i].name);
      g_autofree char *run = hand_run (f, name);
      g_autofree char *path = g_build_filename (run, cases[i].file, NULL);
      if (strcmp (cases[i].name, "gzip") == 0)
        {
          /* A ".bcl.gz" beside the plain one wins, and this one is damaged. */
          g_autofree char *gz = g_strconcat (path, ".gz", NULL);
          const char bad[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage, not deflate";
          g_assert_true (g_file_set_contents (gz, bad, sizeof bad - 1, NULL));
          cases[i].part = "C3.1/s_1_1101.bcl.gz: damaged gzip data";
        }
      else if (cases[i].contents != NULL)
        g_assert_true (g_file_set_contents (path, cases[i].contents, 13, NULL));
      else if (cases[i].keep < 0)
        g_assert_cmpint (g_unlink (path), ==, 0);
      else
        {
          g_autofree char *bytes = NULL;
          gsize len;
          g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
          g_assert_true (g_file_set_contents (path, bytes, MIN ((gsize) cases[i].keep, len), NULL));
        }
      g_autofree char *work = g_strdup_printf ("bc-%s", cases[i].name);
      g_autoptr (StageHarness) h = hand_basecall (f, work, run, "1");
      assert_failed (h, stage_harness_run (h), STRAND_ERROR_INVALID_INPUT, cases[i].part,
                     cases[i].part2);
    }

  /* A file where the run folder should be. */
  g_autofree char *file = g_build_filename (f->dir, "not-a-folder", NULL);
  g_assert_true (g_file_set_contents (file, "BCL?", -1, NULL));
  g_autoptr (StageHarness) h = hand_basecall (f, "bc-file", file, "1");
  assert_failed (h, stage_harness_validate (h), STRAND_ERROR_INVALID_INPUT, "not a run folder",
                 NULL);
  assert_failed (h, stage_harness_run (h), STRAND_ERROR_INVALID_INPUT, "not a run folder", NULL);
}

/* The run's samples and the sample sheet must agree. */
static void
test_samples (Fixture *f, gconstpointer data)
{
  g_autofree char *run = hand_run (f, "run");

  /* A sample of the run that the sheet does not list. */
  g_autoptr (StageHarness) extra = hand_basecall (f, "extra", run, "1");
  stage_harness_add_sample (extra, "C", NULL);
  assert_failed (extra, stage_harness_validate (extra), STRAND_ERROR_CONFIG,
                 "sample 'C' of the run is not in SampleSheet.csv", NULL);
  assert_failed (extra, stage_harness_run (extra), STRAND_ERROR_CONFIG, "sample 'C'", NULL);

  /* Index metadata that contradicts the sheet. */
  g_autofree char *dir = sub_dir (f, "meta");
  g_autoptr (StageHarness) meta = seq_test_stage ("basecall", dir);
  stage_harness_add_input (meta, "run", run);
  stage_harness_add_sample (meta, "A", "index", "GGGG", NULL);
  assert_failed (meta, stage_harness_validate (meta), STRAND_ERROR_CONFIG,
                 "sample 'A': its index is GGGG in the run's samples but AAAA in "
                 "SampleSheet.csv:6", NULL);

  /* A sample of the sheet that is not in the run: demultiplexed and
   * counted (its reads are not Undetermined), not written. */
  g_autofree char *only_dir = sub_dir (f, "only-a");
  g_autoptr (StageHarness) only = seq_test_stage ("basecall", only_dir);
  stage_harness_add_input (only, "run", run);
  stage_harness_add_sample (only, "A", "index", "aaaa", NULL);
  g_assert_cmpint (stage_harness_run (only), ==, STRAND_OK);
  const int a[] = { 0, 1, 3, 5 }, und[] = { 2, 7 };
  assert_fastq (stage_harness_output (only, "read1", "A", NULL), a, G_N_ELEMENTS (a), 1);
  assert_fastq (stage_harness_output (only, "undetermined", NULL, "_R1_001.fastq.gz"), und,
                G_N_ELEMENTS (und), 1);
  g_assert_null (stage_harness_output (only, "read1", "B", NULL));
  g_autoptr (JsonNode) stats = read_json (stage_harness_output (only, "stats", NULL, NULL));
  JsonObject *b = find_by_id (json_object_get_array_member (json_node_get_object (stats), "samples"),
                              "B");
  g_assert_cmpint (json_object_get_int_member (b, "clusters"), ==, 1);
  g_assert_false (json_object_get_boolean_member (b, "written"));

  /* A connected sample sheet replaces the run folder's. */
  const char swapped[] = "[Data]\nSample_ID,index,index2\nA,GGGG,TTTT\nB,AAAA,CCCC\n";
  g_autofree char *sheet = g_build_filename (f->dir, "swapped.csv", NULL);
  g_assert_true (g_file_set_contents (sheet, swapped, -1, NULL));
  g_autoptr (StageHarness) sw = hand_basecall (f, "swapped", run, "1");
  stage_harness_add_input (sw, "sample_sheet", sheet);
  g_assert_cmpint (stage_harness_run (sw), ==, STRAND_OK);
  const int four[] = { 4 };
  assert_fastq (stage_harness_output (sw, "read1", "A", NULL), four, 1, 1);
  assert_fastq (stage_harness_output (sw, "read1", "B", NULL), a, G_N_ELEMENTS (a), 1);
}

static void
test_simulate_bad (Fixture *f, gconstpointer data)
{
  struct {
    const char *name;
    const char *fasta;
    const char *part;
  } refs[] = {
    { "text.fa", "hello world\n", "text.fa:1: sequence before the first '>' header: not FASTA" },
    { "digits.fa", ">chr1\nACGT\nAC1T\n", "digits.fa:3: '1' is not a nucleotide code" },
    { "empty.fa", ">chr1\n>chr2\nACGT\n", "empty.fa:2: sequence 'chr1' has no bases" },
    { "twice.fa", ">chr1\nACGT\n>chr1\nACGT\n", "twice.fa:3: sequence 'chr1' appears twice" },
    { "name.fa", ">chr<1>\nACGT\n", "name.fa:1: 'chr<1>' is not a usable sequence name" },
    { "nothing.fa", "", "nothing.fa: no sequences: not FASTA" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (refs); i++)
    {
      g_autofree char *path = g_build_filename (f->dir, refs[i].name, NULL);
      g_assert_true (g_file_set_contents (path, refs[i].fasta, -1, NULL));
      g_autofree char *dir = g_strdup_printf ("%s/sim-%s", f->dir, refs[i].name);
      g_autoptr (StageHarness) h = seq_test_stage ("simulate-run", dir);
      stage_harness_add_input (h, "reference", path);
      stage_harness_add_sample (h, "S1", NULL);
      assert_failed (h, stage_harness_run (h), STRAND_ERROR_INVALID_INPUT, refs[i].part, NULL);
    }

  /* A gzip reference cut short. */
  g_autofree char *gz = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (f->reference, &gz, &len, NULL));
  g_autofree char *cut = g_build_filename (f->dir, "cut.fa.gz", NULL);
  g_assert_true (g_file_set_contents (cut, gz, (gssize) len / 2, NULL));
  g_autofree char *cut_dir = sub_dir (f, "sim-cut");
  g_autoptr (StageHarness) h = seq_test_stage ("simulate-run", cut_dir);
  stage_harness_add_input (h, "reference", cut);
  stage_harness_add_sample (h, "S1", NULL);
  assert_failed (h, stage_harness_run (h), STRAND_ERROR_INVALID_INPUT,
                 "cut.fa.gz:", "corrupt or truncated compressed data");

  /* Samples and parameters that cannot make a run: refused by validate. */
  struct {
    const char *id, *index, *index2, *param, *value, *part;
  } bad[] = {
    { "S.1", NULL, NULL, NULL, NULL, "sample 'S.1': a sample sheet needs ids" },
    { "S1", "ACGN", "ACGT", NULL, NULL, "sample 'S1': index 'ACGN' must be 1-8 bases" },
    { "S1", "ACGTACGTA", "ACGT", NULL, NULL, "index 'ACGTACGTA' must be 1-8 bases" },
    { "S1", "ACGT", NULL, NULL, NULL, "has an index but no index2, and the run is dual-indexed" },
    { "S1", "ACGT", "ACGT", "dual_index", "false", "has an index2 but the run reads no i5" },
    { "S1", NULL, NULL, "index_length", "0", "2 samples cannot share a lane without index reads" },
    { "S1", NULL, NULL, "index_length", "3", "too short to tell samples apart" },
    { "S1", NULL, NULL, "run_date", "2025-01-01", "param 'run_date': '2025-01-01' is not YYMMDD" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *dir = g_strdup_printf ("%s/bad-%" G_GSIZE_FORMAT, f->dir, i);
      g_autoptr (StageHarness) v = seq_test_stage ("simulate-run", dir);
      stage_harness_add_input (v, "reference", f->reference);
      if (bad[i].index2)
        stage_harness_add_sample (v, bad[i].id, "index", bad[i].index, "index2", bad[i].index2, NULL);
      else if (bad[i].index)
        stage_harness_add_sample (v, bad[i].id, "index", bad[i].index, NULL);
      else
        stage_harness_add_sample (v, bad[i].id, NULL);
      stage_harness_add_sample (v, "S2", NULL);
      if (bad[i].param)
        stage_harness_set_param (v, bad[i].param, bad[i].value);
      assert_failed (v, stage_harness_validate (v), STRAND_ERROR_CONFIG, bad[i].part, NULL);
      assert_failed (v, stage_harness_run (v), STRAND_ERROR_CONFIG, bad[i].part, NULL);
    }
}

/* A second implementation: a Python decoder reads the run folder and must
 * find exactly the FASTQ records basecall wrote, and a statistics report
 * valid against its schema. */
static void
test_python_decoder (Fixture *f, gconstpointer data)
{
  const char *python = "/usr/bin/python3";
  if (!g_file_test (python, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/bin/python3");
      return;
    }
  g_autoptr (StageHarness) sim = simulate (f, "sim", "21");
  const char *run_dir = stage_harness_output (sim, "run", NULL, NULL);
  g_autoptr (StageHarness) bc = basecall (f, "bc", run_dir, 2);
  g_autofree char *outputs = g_build_filename (f->dir, "bc", "outputs", NULL);
  g_autofree char *script = g_build_filename (STRAND_SOURCE_ROOT, "tests", "plugins-seq",
                                              "check-basecall.py", NULL);
  g_autofree char *schema = g_build_filename (STRAND_SOURCE_ROOT, "schemas",
                                              "demux-stats.schema.json", NULL);
  const char *argv[] = { python, script, run_dir, outputs, "1", schema, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s%s", out, err);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("check-basecall.py: %s%s", out, err);
  g_assert_nonnull (strstr (out, "records match"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/seq/round-trip", Fixture, NULL, fixture_setup, test_round_trip, fixture_teardown);
  g_test_add ("/seq/determinism", Fixture, NULL, fixture_setup, test_determinism, fixture_teardown);
  g_test_add ("/seq/basecall/mismatches", Fixture, NULL, fixture_setup, test_mismatches,
              fixture_teardown);
  g_test_add ("/seq/basecall/collisions", Fixture, NULL, fixture_setup, test_collisions,
              fixture_teardown);
  g_test_add ("/seq/basecall/damaged-run", Fixture, NULL, fixture_setup, test_damaged_run,
              fixture_teardown);
  g_test_add ("/seq/basecall/samples", Fixture, NULL, fixture_setup, test_samples, fixture_teardown);
  g_test_add ("/seq/basecall/python-decoder", Fixture, NULL, fixture_setup, test_python_decoder,
              fixture_teardown);
  g_test_add ("/seq/simulate/bad", Fixture, NULL, fixture_setup, test_simulate_bad,
              fixture_teardown);
  g_test_add ("/seq/truth-vcf", Fixture, NULL, fixture_setup, test_truth_vcf, fixture_teardown);
  g_test_add ("/seq/truth-vcf/bcftools", Fixture, NULL, fixture_setup, test_truth_vcf_bcftools,
              fixture_teardown);
  return g_test_run ();
}
