/* Data checks (datacheck.h) and `strand check`, from the user's side: the
 * file they hand over and the problems, codes and places they get back.
 *
 * Every file is made here at run time: good files by htslib, then damaged
 * byte by byte (cut short, EOF block dropped, a BGZF block removed or
 * flipped), and hand-written bad records of every kind. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <htslib/bgzf.h>
#include <htslib/sam.h>
#include <htslib/vcf.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "datacheck.h"
#include "test-util.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-check-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
}

/* Files. */

static char *
path_in (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static char *
write_bytes (Fixture *f, const char *name, const void *bytes, gsize len)
{
  char *path = path_in (f, name);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) len, NULL));
  return path;
}

static char *
write_text (Fixture *f, const char *name, const char *text)
{
  return write_bytes (f, name, text, strlen (text));
}

static GBytes *
read_all (const char *path)
{
  char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

/* Writes `len` bytes of `src` from `offset`, plus the rest of `src` from
 * `resume` (a splice), to a new file. */
static char *
splice_file (Fixture *f, const char *src, const char *name, gsize keep, gsize resume)
{
  g_autoptr (GBytes) b = read_all (src);
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (b, &len);
  g_assert_cmpuint (keep, <=, len);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, d, (guint) keep);
  if (resume < len)
    g_byte_array_append (out, d + resume, (guint) (len - resume));
  return write_bytes (f, name, out->data, out->len);
}

static char *
flip_byte (Fixture *f, const char *src, const char *name, gsize offset)
{
  g_autoptr (GBytes) b = read_all (src);
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (b, &len);
  g_assert_cmpuint (offset, <, len);
  g_autofree guint8 *copy = g_memdup2 (d, len);
  copy[offset] ^= 0x55;
  return write_bytes (f, name, copy, len);
}

static guint64
file_size (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return (guint64) st.st_size;
}

/* The offsets of a BGZF file's blocks, and the file size at the end. */
static GArray *
bgzf_blocks (const char *path)
{
  g_autoptr (GBytes) b = read_all (path);
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (b, &len);
  GArray *offsets = g_array_new (FALSE, FALSE, sizeof (guint64));
  gsize p = 0;
  while (p + 18 <= len)
    {
      g_assert_true (d[p] == 0x1f && d[p + 1] == 0x8b && d[p + 12] == 'B' && d[p + 13] == 'C');
      guint64 off = p;
      g_array_append_val (offsets, off);
      p += ((gsize) d[p + 16] | (gsize) d[p + 17] << 8) + 1;
    }
  g_assert_cmpuint (p, ==, len);
  return offsets;
}

static char *
gzip_text (Fixture *f, const char *name, const char *text)
{
  char *path = path_in (f, name);
  gzFile gz = gzopen (path, "wb");
  g_assert_nonnull (gz);
  g_assert_cmpint (gzwrite (gz, text, (unsigned) strlen (text)), ==, (int) strlen (text));
  g_assert_cmpint (gzclose (gz), ==, Z_OK);
  return path;
}

static char *
bgzip_text (Fixture *f, const char *name, const char *text)
{
  char *path = path_in (f, name);
  BGZF *z = bgzf_open (path, "w");
  g_assert_nonnull (z);
  g_assert_cmpint (bgzf_write (z, text, strlen (text)), ==, (ssize_t) strlen (text));
  g_assert_cmpint (bgzf_close (z), ==, 0);
  return path;
}

/* Deterministic data. */

static guint32 rng_state;

static guint32
rng (void)
{
  rng_state = rng_state * 1103515245u + 12345u;
  return rng_state >> 8;
}

#define CHR1_LEN 6000
#define CHR2_LEN 4000

static char *
reference_seq (int chr)
{
  guint32 saved = rng_state;
  rng_state = 1000u + (guint32) chr;
  int len = chr == 0 ? CHR1_LEN : CHR2_LEN;
  char *s = g_malloc (len + 1);
  for (int i = 0; i < len; i++)
    s[i] = "ACGT"[rng () & 3];
  s[len] = '\0';
  rng_state = saved;
  return s;
}

static char *
write_reference (Fixture *f, const char *name, gboolean with_chr2)
{
  g_autoptr (GString) fa = g_string_new (NULL);
  for (int chr = 0; chr < (with_chr2 ? 2 : 1); chr++)
    {
      g_autofree char *seq = reference_seq (chr);
      g_string_append_printf (fa, ">chr%d test contig\n", chr + 1);
      for (gsize i = 0; i < strlen (seq); i += 60)
        g_string_append_printf (fa, "%.60s\n", seq + i);
    }
  return write_text (f, name, fa->str);
}

typedef struct {
  guint64 records, bases, ns, qsum;
} Expect;

/* Reads drawn from the reference, some with an N; written by htslib in
 * `mode` ("w" SAM, "wb" BAM, "wc" CRAM, "wz" gzipped SAM). */
static char *
write_reads (Fixture *f, const char *name, const char *mode, guint n, int read_len,
             const char *reference, Expect *e)
{
  char *path = path_in (f, name);
  htsFile *out = hts_open (path, mode);
  g_assert_nonnull (out);
  if (reference)
    g_assert_cmpint (hts_set_fai_filename (out, reference), ==, 0);
  sam_hdr_t *h = sam_hdr_init ();
  g_autofree char *l1 = g_strdup_printf ("%d", CHR1_LEN), *l2 = g_strdup_printf ("%d", CHR2_LEN);
  g_assert_cmpint (sam_hdr_add_line (h, "HD", "VN", "1.6", "SO", "unsorted", NULL), ==, 0);
  g_assert_cmpint (sam_hdr_add_line (h, "SQ", "SN", "chr1", "LN", l1, NULL), ==, 0);
  g_assert_cmpint (sam_hdr_add_line (h, "SQ", "SN", "chr2", "LN", l2, NULL), ==, 0);
  g_assert_cmpint (sam_hdr_add_line (h, "RG", "ID", "rg1", "SM", "S1", NULL), ==, 0);
  g_assert_cmpint (sam_hdr_add_line (h, "RG", "ID", "rg2", "SM", "S2", NULL), ==, 0);
  g_assert_cmpint (sam_hdr_write (out, h), ==, 0);
  g_autofree char *chr1 = reference_seq (0), *chr2 = reference_seq (1);
  const char *chr[2] = { chr1, chr2 };
  bam1_t *b = bam_init1 ();
  g_autofree char *seq = g_malloc (read_len + 1);
  g_autofree char *qual = g_malloc (read_len);
  rng_state = 7;
  Expect x = { 0 };
  for (guint i = 0; i < n; i++)
    {
      int tid = (int) (i % 2);
      int len = tid == 0 ? CHR1_LEN : CHR2_LEN;
      int pos = (int) (rng () % (guint32) (len - read_len));
      for (int k = 0; k < read_len; k++)
        {
          seq[k] = rng () % 97 == 0 ? 'N' : chr[tid][pos + k];
          qual[k] = (char) (2 + rng () % 40);
          x.ns += seq[k] == 'N';
          x.qsum += (guint64) qual[k];
        }
      uint32_t cigar = bam_cigar_gen (read_len, BAM_CMATCH);
      char qname[32];
      int ql = g_snprintf (qname, sizeof qname, "read%05u", i);
      g_assert_cmpint (bam_set1 (b, (size_t) ql, qname, 0, tid, pos, 60, 1, &cigar, -1, -1, 0,
                                 (size_t) read_len, seq, qual, 8), >=, 0);
      g_assert_cmpint (bam_aux_append (b, "RG", 'Z', 4, (const uint8_t *) (i % 3 ? "rg1" : "rg2")),
                       ==, 0);
      g_assert_cmpint (sam_write1 (out, h, b), >=, 0);
      x.records++;
      x.bases += (guint64) read_len;
    }
  bam_destroy1 (b);
  sam_hdr_destroy (h);
  g_assert_cmpint (hts_close (out), ==, 0);
  if (e)
    *e = x;
  return path;
}

static const char vcf_header[] =
  "##fileformat=VCFv4.2\n"
  "##contig=<ID=chr1,length=6000>\n"
  "##contig=<ID=chr2,length=4000>\n"
  "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n"
  "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA1\tNA2\n";
#define VCF_HEADER_LINES 6

static char *
vcf_text (guint n)
{
  GString *s = g_string_new (vcf_header);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "chr%u\t%u\t.\tA\t%s\t50\tPASS\tDP=%u\tGT\t0/1\t1/1\n",
                            1 + (i * 2 >= n), 1 + (i % 3000) * 2 + (i * 2 >= n ? 0 : 0),
                            i % 5 ? "G" : "C,<DEL>", 10 + i % 50);
  return g_string_free (s, FALSE);
}

/* Converts a text VCF with htslib into `mode` ("wz" bgzipped VCF, "wb" BCF). */
static char *
convert_vcf (Fixture *f, const char *src, const char *name, const char *mode)
{
  char *path = path_in (f, name);
  htsFile *in = hts_open (src, "r"), *out = hts_open (path, mode);
  g_assert_true (in && out);
  bcf_hdr_t *h = bcf_hdr_read (in);
  g_assert_nonnull (h);
  g_assert_cmpint (bcf_hdr_write (out, h), ==, 0);
  bcf1_t *v = bcf_init ();
  while (bcf_read (in, h, v) == 0)
    g_assert_cmpint (bcf_write (out, h, v), ==, 0);
  bcf_destroy (v);
  bcf_hdr_destroy (h);
  hts_close (in);
  g_assert_cmpint (hts_close (out), ==, 0);
  return path;
}

/* Checking. */

typedef struct {
  GPtrArray *problems;
  StrandDataSummary summary;
  gboolean ok;
} Result;

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->problems, g_ptr_array_unref);
  strand_data_summary_clear (&r->summary);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

static void
check_with (Result *r, const char *path, const StrandCheckOptions *options)
{
  r->problems = strand_problems_new ();
  r->ok = strand_check_file (path, options, &r->summary, r->problems);
  if (g_test_verbose ())
    for (guint i = 0; i < r->problems->len; i++)
      {
        StrandProblem *p = r->problems->pdata[i];
        g_printerr ("  %s: %s [%s]\n", p->where, p->message, p->code);
      }
}

static void
check (Result *r, const char *path, const char *format, gboolean deep)
{
  StrandCheckOptions o = { .format = format, .deep = deep };
  check_with (r, path, &o);
}

static char *
codes (GPtrArray *problems)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < problems->len; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", ((StrandProblem *) problems->pdata[i])->code);
  return g_string_free (s, FALSE);
}

/* The problems are exactly `expected` (codes, space-separated, in order). */
#define assert_codes(r, expected)                                       \
  G_STMT_START {                                                        \
    g_autofree char *got_ = codes ((r)->problems);                      \
    g_assert_cmpstr (got_, ==, (expected));                             \
  } G_STMT_END

static const StrandProblem *
problem (Result *r, guint i)
{
  g_assert_cmpuint (i, <, r->problems->len);
  return r->problems->pdata[i];
}

static void
assert_where (Result *r, guint i, const char *path, const char *suffix)
{
  g_autofree char *shown = g_filename_display_name (path);
  g_autofree char *want = g_strconcat (shown, suffix, NULL);
  g_assert_cmpstr (problem (r, i)->where, ==, want);
}

/* Good files of each format. */

static void
test_good_fastq (Fixture *f, gconstpointer data)
{
  const char *fq = "@r1 lane 1\nACGTNacgtn\n+\nIIIII!!!!!\n"
                   "@r2\nRYSWKMBDHV\n+r2\n~~~~~~~~~~\n"
                   "@r3\n\n+\n\n";
  g_autofree char *plain = write_text (f, "a.fastq", fq);
  g_autofree char *gz = gzip_text (f, "a.fastq.gz", fq);
  g_autofree char *bgz = bgzip_text (f, "a.fastq.bgz", fq);
  const char *compression[] = { "none", "gzip", "bgzf" };
  const char *paths[] = { plain, gz, bgz };
  for (guint i = 0; i < 3; i++)
    {
      g_auto (Result) r = { 0 };
      check (&r, paths[i], "fastq", FALSE);
      assert_codes (&r, "");
      g_assert_true (r.ok);
      g_assert_cmpstr (r.summary.format, ==, "fastq");
      g_assert_cmpstr (r.summary.compression, ==, compression[i]);
      g_assert_cmpuint (r.summary.records, ==, 3);
      g_assert_cmpuint (r.summary.bases, ==, 20);
      g_assert_true (r.summary.complete);
      g_assert_cmpfloat_with_epsilon (r.summary.n_fraction, 2.0 / 20, 1e-12);
      g_assert_cmpfloat_with_epsilon (r.summary.mean_quality, (5 * 40 + 0 + 10 * 93) / 20.0, 1e-12);
    }
  /* Sniffed alone, too; the trailing blank line is only a warning. */
  g_autofree char *blank = write_text (f, "b.fq", "@r\nAC\n+\nII\n\n\n");
  g_auto (Result) r = { 0 };
  check (&r, blank, NULL, FALSE);
  assert_codes (&r, "trailing-blank-lines");
  g_assert_true (r.ok);
  assert_where (&r, 0, blank, ":5");
}

static void
test_good_fasta (Fixture *f, gconstpointer data)
{
  g_autofree char *ref = write_reference (f, "ref.fa", TRUE);
  g_auto (Result) r = { 0 };
  check (&r, ref, "fasta", FALSE);
  assert_codes (&r, "");
  g_assert_cmpstr (r.summary.format, ==, "fasta");
  g_assert_cmpuint (r.summary.records, ==, 2);
  g_assert_cmpuint (r.summary.bases, ==, CHR1_LEN + CHR2_LEN);
  g_assert_cmpuint (r.summary.contigs->len, ==, 2);
  g_assert_cmpstr (r.summary.contigs->pdata[0], ==, "chr1\t6000");
  g_assert_cmpstr (r.summary.contigs->pdata[1], ==, "chr2\t4000");
  g_assert_true (r.summary.complete);
}

static void
assert_reads_summary (Result *r, const Expect *e, const char *format)
{
  assert_codes (r, "");
  g_assert_true (r->ok);
  g_assert_cmpstr (r->summary.format, ==, format);
  g_assert_cmpuint (r->summary.records, ==, e->records);
  g_assert_cmpuint (r->summary.bases, ==, e->bases);
  g_assert_cmpfloat_with_epsilon (r->summary.n_fraction, (double) e->ns / e->bases, 1e-12);
  g_assert_cmpfloat_with_epsilon (r->summary.mean_quality, (double) e->qsum / e->bases, 1e-9);
  g_assert_true (r->summary.complete);
  g_assert_cmpuint (r->summary.samples->len, ==, 2);
  g_assert_cmpstr (r->summary.samples->pdata[0], ==, "S1");
  g_assert_cmpstr (r->summary.samples->pdata[1], ==, "S2");
  g_assert_cmpuint (r->summary.contigs->len, ==, 2);
  g_assert_cmpstr (r->summary.contigs->pdata[0], ==, "chr1\t6000");
  g_assert_cmpstr (r->summary.contigs->pdata[1], ==, "chr2\t4000");
}

static void
test_good_sam_bam (Fixture *f, gconstpointer data)
{
  /* Odd and long read lengths exercise the word-at-a-time loops' tails. */
  static const int lengths[] = { 37, 1203 };
  for (guint k = 0; k < G_N_ELEMENTS (lengths); k++)
    {
      Expect e;
      g_autofree char *sam = write_reads (f, "a.sam", "w", 200, lengths[k], NULL, &e);
      g_autofree char *bam = write_reads (f, "a.bam", "wb", 200, lengths[k], NULL, NULL);
      g_autofree char *samgz = write_reads (f, "a.sam.gz", "wz", 200, lengths[k], NULL, NULL);
      g_auto (Result) r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
      check (&r1, sam, "sam", FALSE);
      assert_reads_summary (&r1, &e, "sam");
      check (&r2, bam, "bam", TRUE);
      assert_reads_summary (&r2, &e, "bam");
      g_assert_cmpstr (r2.summary.compression, ==, "bgzf");
      check (&r3, samgz, NULL, FALSE);
      assert_reads_summary (&r3, &e, "sam");
      g_assert_cmpstr (r3.summary.compression, ==, "bgzf");
    }
}

static void
test_good_vcf_bcf (Fixture *f, gconstpointer data)
{
  g_autofree char *text = vcf_text (300);
  g_autofree char *vcf = write_text (f, "a.vcf", text);
  g_autofree char *vcfgz = convert_vcf (f, vcf, "a.vcf.gz", "wz");
  g_autofree char *bcf = convert_vcf (f, vcf, "a.bcf", "wb");
  const char *paths[] = { vcf, vcfgz, bcf }, *formats[] = { "vcf", "vcf", "bcf" };
  for (guint i = 0; i < 3; i++)
    {
      g_auto (Result) r = { 0 };
      check (&r, paths[i], formats[i], i == 2);
      assert_codes (&r, "");
      g_assert_cmpstr (r.summary.format, ==, formats[i]);
      g_assert_cmpuint (r.summary.records, ==, 300);
      g_assert_true (r.summary.complete);
      g_assert_cmpuint (r.summary.samples->len, ==, 2);
      g_assert_cmpstr (r.summary.samples->pdata[1], ==, "NA2");
      g_assert_cmpstr (r.summary.contigs->pdata[0], ==, "chr1\t6000");
    }
}

/* CRAM is decoded against the reference given, and no other. */
static void
test_cram_reference (Fixture *f, gconstpointer data)
{
  g_autofree char *ref = write_reference (f, "ref.fa", TRUE);
  Expect e;
  g_autofree char *cram = write_reads (f, "a.cram", "wc", 300, 60, ref, &e);
  g_setenv ("REF_PATH", "/somewhere/else/%s", TRUE);

  g_auto (Result) ok = { 0 };
  StrandCheckOptions o = { .format = "cram", .reference = ref, .deep = TRUE };
  check_with (&ok, cram, &o);
  assert_reads_summary (&ok, &e, "cram");
  g_assert_cmpstr (g_getenv ("REF_PATH"), ==, "/somewhere/else/%s"); /* restored */

  g_auto (Result) none = { 0 };
  check (&none, cram, NULL, FALSE);
  assert_codes (&none, "cram-no-reference");
  g_assert_false (none.ok);
  g_assert_cmpuint (none.summary.samples->len, ==, 2); /* the header is still read */
  g_assert_false (none.summary.complete);

  /* A reference lacking chr2: the header's UR: tag names the full local
   * reference the file was written with, but it is not used. */
  g_autofree char *half = write_reference (f, "half.fa", FALSE);
  g_auto (Result) wrong = { 0 };
  StrandCheckOptions w = { .reference = half, .deep = TRUE };
  check_with (&wrong, cram, &w);
  assert_codes (&wrong, "cram-decode-failed");

  g_auto (Result) missing = { 0 };
  StrandCheckOptions m = { .reference = "http://127.0.0.1:9/ref.fa" };
  check_with (&missing, cram, &m);
  assert_codes (&missing, "cram-reference-unreadable");
  g_unsetenv ("REF_PATH");
}

/* Default mode reads a prefix but always both ends of a BGZF file; deep
 * mode reads all and hashes it. */
static void
test_prefix_and_deep (Fixture *f, gconstpointer data)
{
  Expect e;
  g_autofree char *bam = write_reads (f, "big.bam", "wb", 12000, 100, NULL, &e);
  g_assert_cmpuint (file_size (bam), >, 1 << 20);
  g_auto (Result) quick = { 0 };
  StrandCheckOptions o = { .prefix_bytes = 64 << 10 };
  check_with (&quick, bam, &o);
  assert_codes (&quick, "");
  g_assert_false (quick.summary.complete);
  g_assert_cmpuint (quick.summary.records, >, 0);
  g_assert_cmpuint (quick.summary.records, <, e.records);
  g_assert_null (quick.summary.sha256);

  g_auto (Result) deep = { 0 };
  check (&deep, bam, "bam", TRUE);
  assert_codes (&deep, "");
  g_assert_true (deep.summary.complete);
  g_assert_cmpuint (deep.summary.records, ==, e.records);
  g_autoptr (GBytes) bytes = read_all (bam);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  g_assert_cmpstr (deep.summary.sha256, ==, sha);
  g_assert_cmpuint (deep.summary.size, ==, g_bytes_get_size (bytes));
}

/* A BGZF file cut short, without its EOF block, with a block lost or damaged. */
static void
test_bgzf_damage (Fixture *f, gconstpointer data)
{
  g_autofree char *bam = write_reads (f, "big.bam", "wb", 12000, 100, NULL, NULL);
  g_autoptr (GArray) blocks = bgzf_blocks (bam);
  guint n = blocks->len;
  g_assert_cmpuint (n, >, 10);
  guint64 size = file_size (bam);
  guint64 last_data = g_array_index (blocks, guint64, n - 2);
  StrandCheckOptions quick = { .prefix_bytes = 64 << 10 }, deep = { .deep = TRUE };
  const StrandCheckOptions *modes[] = { &quick, &deep };

  /* Cut inside the last data block: one problem, where the block starts,
   * whether or not the records there were read. */
  g_autofree char *cut = splice_file (f, bam, "cut.bam", last_data + 100, G_MAXSIZE);
  g_autofree char *cut_at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, last_data);
  for (guint m = 0; m < 2; m++)
    {
      g_auto (Result) r = { 0 };
      check_with (&r, cut, modes[m]);
      assert_codes (&r, "truncated-bgzf");
      assert_where (&r, 0, cut, cut_at);
      g_assert_false (r.summary.complete);
    }

  /* Without the EOF block: whole blocks, so it parses, and samtools only warns. */
  g_autofree char *noeof = splice_file (f, bam, "noeof.bam", size - 28, G_MAXSIZE);
  for (guint m = 0; m < 2; m++)
    {
      g_auto (Result) r = { 0 };
      check_with (&r, noeof, modes[m]);
      assert_codes (&r, "bgzf-missing-eof");
      g_autofree char *at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, size - 28);
      assert_where (&r, 0, noeof, at);
    }

  /* A whole block lost in transfer: htslib writes records so that none
   * spans two blocks, so what is left parses cleanly. Only the digest shows it. */
  guint64 b5 = g_array_index (blocks, guint64, 5), b6 = g_array_index (blocks, guint64, 6);
  g_autofree char *lost = splice_file (f, bam, "lost.bam", b5, b6);
  g_autoptr (GBytes) orig = read_all (bam);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, orig);
  for (guint m = 0; m < 2; m++)
    {
      g_auto (Result) r = { 0 };
      check_with (&r, lost, modes[m]);
      assert_codes (&r, "");
      StrandCheckOptions with_digest = *modes[m];
      with_digest.sha256 = sha;
      g_auto (Result) d = { 0 };
      check_with (&d, lost, &with_digest);
      assert_codes (&d, "checksum-mismatch");
      g_assert_nonnull (strstr (problem (&d, 0)->message, sha));
    }

  /* A damaged byte in the last data block: caught at the end even when only
   * a prefix is read; in the middle of the file, by a deep check. */
  g_autofree char *flipped = flip_byte (f, bam, "flip.bam", last_data + 40);
  g_autofree char *flip_at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, last_data);
  for (guint m = 0; m < 2; m++)
    {
      g_auto (Result) r = { 0 };
      check_with (&r, flipped, modes[m]);
      g_assert_false (r.ok);
      g_assert_cmpstr (problem (&r, 0)->code, ==, "bgzf-corrupt");
      assert_where (&r, 0, flipped, flip_at);
    }
  guint64 mid = g_array_index (blocks, guint64, n / 2);
  g_autofree char *mid_flip = flip_byte (f, bam, "midflip.bam", mid + 40);
  g_auto (Result) qm = { 0 }, dm = { 0 };
  check_with (&qm, mid_flip, &quick);
  assert_codes (&qm, "");
  check_with (&dm, mid_flip, &deep);
  assert_codes (&dm, "bgzf-corrupt");
  g_autofree char *mid_at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, mid);
  assert_where (&dm, 0, mid_flip, mid_at);

  /* Data appended after the EOF block. */
  g_autoptr (GByteArray) tail = g_byte_array_new ();
  g_byte_array_append (tail, g_bytes_get_data (orig, NULL), (guint) g_bytes_get_size (orig));
  g_byte_array_append (tail, (const guint8 *) "garbage!", 8);
  g_autofree char *appended = write_bytes (f, "appended.bam", tail->data, tail->len);
  g_auto (Result) ap = { 0 };
  check_with (&ap, appended, &quick);
  assert_codes (&ap, "bgzf-corrupt");
  g_autofree char *ap_at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, size);
  assert_where (&ap, 0, appended, ap_at);
}

/* A bgzipped VCF that lost a block in the middle: parses (htslib aligns
 * lines to blocks), so only the manifest digest catches it. Cut short:
 * caught, and said once. */
static void
test_bgzf_vcf_damage (Fixture *f, gconstpointer data)
{
  g_autofree char *text = vcf_text (4000);
  g_autofree char *vcf = write_text (f, "a.vcf", text);
  g_autofree char *gz = convert_vcf (f, vcf, "a.vcf.gz", "wz");
  g_autoptr (GArray) blocks = bgzf_blocks (gz);
  g_assert_cmpuint (blocks->len, >=, 4);
  guint64 b1 = g_array_index (blocks, guint64, 1), b2 = g_array_index (blocks, guint64, 2);
  g_autofree char *lost = splice_file (f, gz, "lost.vcf.gz", b1, b2);
  g_auto (Result) r = { 0 };
  check (&r, lost, "vcf", TRUE);
  g_assert_true (r.ok);
  g_assert_cmpuint (r.summary.records, <, 4000);
  guint64 last = g_array_index (blocks, guint64, blocks->len - 2);
  g_autofree char *cut = splice_file (f, gz, "cut.vcf.gz", last + 50, G_MAXSIZE);
  g_auto (Result) c = { 0 };
  check (&c, cut, "vcf", TRUE);
  assert_codes (&c, "truncated-bgzf");

  /* Plain gzip, cut short: said once, where the data ends, either way. */
  g_autofree char *plain_gz = gzip_text (f, "p.vcf.gz", text);
  guint64 size = file_size (plain_gz);
  g_autofree char *pcut = splice_file (f, plain_gz, "pcut.vcf.gz", size / 2, G_MAXSIZE);
  g_autofree char *pcut_at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, size / 2);
  for (int deep = 0; deep < 2; deep++)
    {
      g_auto (Result) p = { 0 };
      check (&p, pcut, "vcf", deep);
      assert_codes (&p, "truncated-gzip");
      assert_where (&p, 0, pcut, pcut_at);
    }

  /* Line numbers run on through BGZF blocks. */
  g_autoptr (GString) bad = g_string_new (text);
  g_string_append (bad, "chr1\tten\t.\tA\tC\t.\t.\t.\n");
  g_autofree char *badgz = bgzip_text (f, "bad.vcf.gz", bad->str);
  g_auto (Result) bl = { 0 };
  check (&bl, badgz, NULL, TRUE);
  assert_codes (&bl, "vcf-invalid-pos");
  g_autofree char *line = g_strdup_printf (":%d", VCF_HEADER_LINES + 4000 + 1);
  assert_where (&bl, 0, badgz, line);
}

static void
test_gzip_damage (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) fq = g_string_new (NULL);
  rng_state = 3;
  for (int i = 0; i < 2000; i++)
    {
      g_string_append_printf (fq, "@read%d\n", i);
      for (int k = 0; k < 80; k++)
        g_string_append_c (fq, "ACGT"[rng () & 3]);
      g_string_append (fq, "\n+\n");
      for (int k = 0; k < 80; k++)
        g_string_append_c (fq, (char) ('#' + rng () % 38));
      g_string_append_c (fq, '\n');
    }
  g_autofree char *gz = gzip_text (f, "a.fq.gz", fq->str);
  guint64 size = file_size (gz);
  g_autofree char *cut = splice_file (f, gz, "cut.fq.gz", size / 2, G_MAXSIZE);
  g_autofree char *at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, size / 2);
  for (int deep = 0; deep < 2; deep++)
    {
      g_auto (Result) r = { 0 };
      check (&r, cut, "fastq", deep);
      assert_codes (&r, "truncated-gzip");
      assert_where (&r, 0, cut, at);
    }
  /* The CRC32 in the trailer. */
  g_autofree char *crc = flip_byte (f, gz, "crc.fq.gz", size - 6);
  g_auto (Result) c = { 0 };
  check (&c, crc, "fastq", FALSE);
  assert_codes (&c, "gzip-corrupt");
  g_assert_nonnull (strstr (problem (&c, 0)->message, "CRC32"));
  g_autofree char *crc_at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, size - 4);
  assert_where (&c, 0, crc, crc_at);
  /* Two members are one stream; bytes after the last are not. */
  g_autoptr (GBytes) one = read_all (gz);
  g_autoptr (GByteArray) two = g_byte_array_new ();
  for (int i = 0; i < 2; i++)
    g_byte_array_append (two, g_bytes_get_data (one, NULL), (guint) g_bytes_get_size (one));
  g_autofree char *cat = write_bytes (f, "cat.fq.gz", two->data, two->len);
  g_auto (Result) ok = { 0 };
  check (&ok, cat, "fastq", FALSE);
  assert_codes (&ok, "");
  g_assert_cmpuint (ok.summary.records, ==, 4000);
  g_byte_array_append (two, (const guint8 *) "\0\0\0\0", 4);
  g_autofree char *pad = write_bytes (f, "pad.fq.gz", two->data, two->len);
  g_auto (Result) p = { 0 };
  check (&p, pad, "fastq", FALSE);
  assert_codes (&p, "gzip-trailing-data");
  g_autofree char *pad_at = g_strdup_printf (": byte %" G_GUINT64_FORMAT, 2 * size);
  assert_where (&p, 0, pad, pad_at);
}

/* Bad records: content, expected codes, and the line of the first. */
typedef struct {
  const char *content;
  const char *codes;
  const char *where; /* suffix after the path */
} Case;

static void
run_cases (Fixture *f, const char *format, const Case *cases, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("case%u.%s", i, format);
      g_autofree char *path = write_text (f, name, cases[i].content);
      g_auto (Result) r = { 0 };
      check (&r, path, format, FALSE);
      if (g_test_verbose ())
        g_printerr ("case %u: %s\n", i, cases[i].codes);
      assert_codes (&r, cases[i].codes);
      g_assert_false (r.ok);
      if (cases[i].where)
        assert_where (&r, 0, path, cases[i].where);
    }
}

static void
test_fastq_malformed (Fixture *f, gconstpointer data)
{
  static const Case cases[] = {
    { "@r1\nACGT\n+\nIIII\nr2\nACGT\n+\nIIII\n", "fastq-malformed", ":5" },
    { "@r1\nACXT\n+\nIIII\n", "fastq-invalid-base", ":2" },
    { "@r1\nACGT\n+\nII I\n", "fastq-invalid-quality", ":4" },
    { "@r1\nACGT\n+\nIII\n@r2\nACGT\n+\nIIII\n", "fastq-length-mismatch", ":4" },
    { "@r1\nACGT\n+\nIIIII\n", "fastq-length-mismatch", ":4" },
    { "@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\n", "fastq-truncated", ":5" },
    { "@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nII", "fastq-truncated", ":8" },
    { "@r1\nACGT\n", "fastq-truncated", ":1" },
    { "@r1\nACGT\n+r2\nIIII\n", "fastq-name-mismatch", ":3" },
    { "@r1\nACGT\nIIII\n+\n", "fastq-malformed", ":3" },
    { "@r1\nACGT\n+\nIIII\n\n@r2\nACGT\n+\nIIII\n", "fastq-malformed", ":5" },
    { "@r1\r\nACGT\r\n+\r\nIIII\r\n", "line-ending", ":1" },
    { "@\nACGT\n+\nIIII\n", "fastq-malformed", ":1" },
    { "@r1\nAC\xff" "T\n+\nII\x80I\n", "fastq-invalid-base fastq-invalid-quality", ":2" },
    { "hello world\n", "fastq-malformed", ":1" },
  };
  run_cases (f, "fastq", cases, G_N_ELEMENTS (cases));
}

static void
test_fasta_malformed (Fixture *f, gconstpointer data)
{
  static const Case cases[] = {
    { ">chr1\nACGTX\n", "fasta-invalid-base", ":2" },
    { "ACGT\n>chr1\nACGT\n", "fasta-malformed", ":1" },
    { ">chr1\nACGT\n\nACGT\n", "fasta-malformed", ":3" },
    { ">\nACGT\n", "fasta-malformed", ":1" },
    { ">chr1\nAC-GT\n>chr2\nAC*\n", "fasta-invalid-base fasta-invalid-base", ":2" },
  };
  run_cases (f, "fasta", cases, G_N_ELEMENTS (cases));
  g_autofree char *empty = write_text (f, "e.fa", ">chr1\n>chr2\nACGT\n");
  g_auto (Result) r = { 0 };
  check (&r, empty, "fasta", FALSE);
  assert_codes (&r, "fasta-empty-sequence");
  g_assert_true (r.ok); /* a warning */
}

#define SAM_HEAD "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:100\n"
#define SAM_OK "r0\t0\tchr1\t1\t60\t4M\t*\t0\t0\tACGT\tIIII\n"

static void
test_sam_malformed (Fixture *f, gconstpointer data)
{
  static const Case cases[] = {
    { SAM_HEAD SAM_OK "r1\t0\tchr1\t10\t60\t4M\t*\t0\t0\tACXT\tIIII\n", "sam-invalid-base", ":4" },
    { SAM_HEAD "r1\t0\tchr1\t10\t60\t4M\t*\t0\t0\tAC.T\tIIII\n", "sam-invalid-base", ":3" },
    { SAM_HEAD "r1\t0\tchr1\t10\t60\t4M\t*\t0\t0\tACGT\tII I\n", "sam-invalid-quality", ":3" },
    { SAM_HEAD "r1\t0\tchr1\t10\t60\t4M\t*\t0\t0\tACGT\tIII\n", "sam-length-mismatch", ":3" },
    { SAM_HEAD "r1\t0\tchr1\t10\t60\t5M\t*\t0\t0\tACGT\tIIII\n", "sam-cigar-length-mismatch", ":3" },
    { SAM_HEAD "r1\t0\tchr9\t10\t60\t4M\t*\t0\t0\tACGT\tIIII\n", "sam-unknown-contig", ":3" },
    { SAM_HEAD "r1\t0\tchr1\t99\t60\t4M\t*\t0\t0\tACGT\tIIII\n"
      "r2\t0\tchr1\t101\t60\t4M\t*\t0\t0\tACGT\tIIII\n", "sam-position-out-of-range", ":4" },
    { SAM_HEAD "r1\t0\tchr1\tten\t60\t4M\t*\t0\t0\tACGT\tIIII\n", "sam-malformed", ":3" },
    { SAM_HEAD "r1\t0\tchr1\t99999999999999999999999\t60\t4M\t*\t0\t0\tACGT\tIIII\n", "sam-malformed", ":3" },
    { SAM_HEAD "r1\t0\tchr1\t10\n" SAM_OK, "sam-malformed", ":3" },
    { SAM_HEAD SAM_OK "\n" SAM_OK, "sam-malformed", ":4" },
    { SAM_HEAD "r1\t0\tchr1\t10\t60\t4Q\t*\t0\t0\tACGT\tIIII\n", "sam-malformed", ":3" },
    /* Headers htslib takes as they are. */
    { "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:abc\n" SAM_OK, "sam-header-malformed", ":2" },
    { "@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:0\n" SAM_OK, "sam-header-malformed", ":2" },
    { "@HD\tVN:1.6\n@SQ\tSN:chr1\n" SAM_OK, "sam-header-malformed", ":2" },
    { SAM_HEAD "@RG\tSM:x\n" SAM_OK, "sam-header-malformed", ":3" },
    { SAM_HEAD "@XYZ\tjunk\n" SAM_OK, "sam-header-malformed", ":3" },
    { SAM_HEAD SAM_OK "@CO\tlate\n", "sam-header-malformed", ":4" },
  };
  run_cases (f, "sam", cases, G_N_ELEMENTS (cases));
}

/* BAM records htslib accepts but which are wrong. */
static void
test_bam_malformed (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "bad.bam");
  htsFile *out = hts_open (path, "wb");
  sam_hdr_t *h = sam_hdr_parse (strlen (SAM_HEAD), SAM_HEAD);
  g_assert_cmpint (sam_hdr_write (out, h), ==, 0);
  bam1_t *b = bam_init1 ();
  uint32_t cigar = bam_cigar_gen (4, BAM_CMATCH);
  static const char q_ok[] = { 30, 30, 30, 30 }, q_high[] = { 30, 120, 30, 30 };
  struct { int tid; hts_pos_t pos; const char *qual; } recs[] = {
    { 0, 5, q_ok }, { 0, 5, q_high }, { 0, 500, q_ok }, { 0, 6, q_ok },
  };
  for (guint i = 0; i < G_N_ELEMENTS (recs); i++)
    {
      g_assert_cmpint (bam_set1 (b, 2, "r1", 0, recs[i].tid, recs[i].pos, 60, 1, &cigar, -1, -1,
                                 0, 4, "ACGT", recs[i].qual, 0), >=, 0);
      g_assert_cmpint (bam_write1 (out->fp.bgzf, b), >=, 0);
    }
  bam_destroy1 (b);
  sam_hdr_destroy (h);
  g_assert_cmpint (hts_close (out), ==, 0);
  g_auto (Result) r = { 0 };
  check (&r, path, "bam", FALSE);
  assert_codes (&r, "sam-invalid-quality sam-position-out-of-range");
  assert_where (&r, 0, path, ": record 2");
  assert_where (&r, 1, path, ": record 3");
  g_assert_cmpuint (r.summary.records, ==, 4);
}

#define VCF_HEAD "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n" \
  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
#define VCF_OK "chr1\t5\t.\tA\tC\t.\t.\t.\n"

static void
test_vcf_malformed (Fixture *f, gconstpointer data)
{
  static const Case cases[] = {
    { VCF_HEAD VCF_OK "chr1\tabc\t.\tA\tC\t.\t.\t.\n", "vcf-invalid-pos", ":5" },
    { VCF_HEAD "chr1\t-5\t.\tA\tC\t.\t.\t.\n", "vcf-invalid-pos", ":4" },
    { VCF_HEAD VCF_OK "chr2\t5\t.\tA\tC\t.\t.\t.\nchr2\t6\t.\tA\tC\t.\t.\t.\n"
      "chr3\t6\t.\tA\tC\t.\t.\t.\n", "vcf-unknown-contig vcf-unknown-contig", ":5" },
    { VCF_HEAD "chr1\t7\t.\tAXZ\tC\t.\t.\t.\n", "vcf-invalid-ref", ":4" },
    { VCF_HEAD "chr1\t7\t.\tA\tC,Q\t.\t.\t.\n", "vcf-invalid-alt", ":4" },
    { VCF_HEAD "chr1\t7\t.\tA\n", "vcf-malformed", ":4" },
    { VCF_HEAD VCF_OK "#CHROM\tPOS\n", "vcf-malformed", ":5" },
    { "chr1\t5\t.\tA\tC\t.\t.\t.\n", "format-mismatch", "" },
    { "##fileformat=VCFv4.2\n" VCF_OK, "vcf-header-malformed", ":2" },
    { VCF_HEAD "chr1\t99999999999999999999999\t.\tA\tC\t.\t.\t.\n", "vcf-invalid-pos", ":4" },
    { "##fileformat=VCFv4.2\n##INFO=<ID=DP,Number=1,Type=Bogus,Description=\"a, b\">\n"
      "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", "vcf-header-malformed", ":2" },
    { "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=Q,Type=String,Description=\"x\">\n"
      "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", "vcf-header-malformed", ":2" },
    { "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=ten>\n"
      "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n", "vcf-header-malformed", ":2" },
    { "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n", "vcf-header-malformed", ":2" },
  };
  run_cases (f, "vcf", cases, G_N_ELEMENTS (cases));
  /* Breakends, symbolic and spanning alleles are fine. */
  g_autofree char *ok = write_text (f, "ok.vcf", VCF_HEAD
      "chr1\t5\t.\tA\tA[chr1:10[,<DEL>,*,.A\t.\t.\t.\nchr1\t6\t.\tn\t.\t.\t.\t.\n");
  g_auto (Result) r = { 0 };
  check (&r, ok, "vcf", FALSE);
  assert_codes (&r, "");
}

static void
test_format_and_files (Fixture *f, gconstpointer data)
{
  g_autofree char *vcf = write_text (f, "a.vcf", VCF_HEAD VCF_OK);
  struct { const char *path, *format, *codes; gboolean ok; } cases[] = {
    { vcf, "bam", "format-mismatch", FALSE },
    { vcf, "wiggle", "unknown-format", FALSE },
    { vcf, "any", "", TRUE },
    { vcf, NULL, "", TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (Result) r = { 0 };
      check (&r, cases[i].path, cases[i].format, FALSE);
      assert_codes (&r, cases[i].codes);
      g_assert_cmpint (r.ok, ==, cases[i].ok);
    }
  g_autofree char *text = write_text (f, "notes.txt", "just some notes\n");
  g_auto (Result) t1 = { 0 }, t2 = { 0 };
  check (&t1, text, NULL, FALSE);
  assert_codes (&t1, "unrecognised-format");
  check (&t2, text, "text", FALSE);
  assert_codes (&t2, "");
  g_autofree char *empty = write_text (f, "empty.fq", "");
  g_autofree char *empty_gz = gzip_text (f, "empty.fq.gz", "");
  g_autofree char *missing = path_in (f, "nope.bam");
  g_autofree char *bzip = write_bytes (f, "x.bz2", "BZh91AY&SY\x01\x02\x03", 13);
  struct { const char *path, *codes; } bad[] = {
    { empty, "empty-file" }, { empty_gz, "empty-file" }, { missing, "file-missing" },
    { f->dir, "not-a-regular-file" }, { bzip, "unsupported-compression" },
    { "/dev/null", "not-a-regular-file" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto (Result) r = { 0 };
      check (&r, bad[i].path, "fastq", FALSE);
      assert_codes (&r, bad[i].codes);
      g_assert_false (r.ok);
    }
  g_auto (Result) run = { 0 };
  check (&run, f->dir, "bcl-run", FALSE);
  assert_codes (&run, "");
  g_assert_cmpstr (run.summary.format, ==, "bcl-run");
}

static void
test_digests (Fixture *f, gconstpointer data)
{
  const char *text = "@r\nACGT\n+\nIIII\n";
  g_autofree char *fq = write_text (f, "a.fq", text);
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  g_autofree char *md5 = g_compute_checksum_for_string (G_CHECKSUM_MD5, text, -1);
  g_autofree char *sha_up = g_ascii_strup (sha, -1);
  const char *zeros = "0000000000000000000000000000000000000000000000000000000000000000";
  struct { const char *sha256, *md5, *codes; } cases[] = {
    { sha, NULL, "" }, { sha_up, md5, "" }, { zeros, NULL, "checksum-mismatch" },
    { NULL, "00000000000000000000000000000000", "checksum-mismatch" },
    { "abc", NULL, "checksum-invalid" }, { NULL, "xyz", "checksum-invalid" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (Result) r = { 0 };
      StrandCheckOptions o = { .sha256 = cases[i].sha256, .md5 = cases[i].md5 };
      check_with (&r, fq, &o);
      assert_codes (&r, cases[i].codes);
      if (i == 1)
        {
          g_assert_cmpstr (r.summary.sha256, ==, sha);
          g_assert_cmpstr (r.summary.md5, ==, md5);
        }
      if (i == 2)
        {
          g_assert_nonnull (strstr (problem (&r, 0)->message, sha));
          g_assert_nonnull (strstr (problem (&r, 0)->message, zeros));
        }
    }
}

static void
test_too_many_problems (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (int i = 0; i < 80; i++)
    g_string_append_printf (s, "@r%d\nAXGT\n+\nIIII\n", i);
  g_autofree char *fq = write_text (f, "many.fq", s->str);
  g_auto (Result) r = { 0 };
  check (&r, fq, "fastq", FALSE);
  g_assert_cmpuint (r.problems->len, ==, 51);
  g_assert_cmpstr (problem (&r, 50)->code, ==, "too-many-problems");
  g_assert_nonnull (strstr (problem (&r, 50)->message, "30 more"));
  g_assert_false (r.ok);
}

/* Manifests as providers deliver them. */
static void
test_manifest_load (Fixture *f, gconstpointer data)
{
  g_autofree char *sub = path_in (f, "sub");
  g_mkdir (sub, 0755);
  const char *h64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  const char *h32 = "D41D8CD98F00B204E9800998ECF8427E";
  g_autofree char *text = g_strdup_printf (
      "%s  a.fq\n"                    /* 1 */
      "%s *sub/b.bam\r\n"             /* 2: binary mode, CRLF */
      "\n"                            /* 3: blank */
      "%s  c.vcf\n"                   /* 4: md5, upper case */
      "SHA256 (d.fq) = %s\n"          /* 5: BSD tag */
      "\\%s  new\\nline.fq\n"         /* 6: escaped name */
      "%s a.fq\n"                     /* 7: one space */
      "xyz  e.fq\n"                   /* 8: not a digest */
      "%s  a.fq\n"                    /* 9: duplicate */
      "MD5 (f.fq) = 123\n"            /* 10: short */
      "%s  \n",                       /* 11: no name */
      h64, h64, h32, h64, h64, h64, h64, h64);
  g_autofree char *m = write_text (f, "MANIFEST.sha256", text);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (GPtrArray) entries = strand_manifest_load (m, problems);
  g_assert_nonnull (entries);
  g_assert_cmpuint (entries->len, ==, 5);
  StrandManifestEntry *e0 = entries->pdata[0], *e1 = entries->pdata[1], *e2 = entries->pdata[2],
                      *e4 = entries->pdata[4];
  g_autofree char *a = path_in (f, "a.fq"), *b = g_build_filename (f->dir, "sub", "b.bam", NULL);
  g_autofree char *nl = path_in (f, "new\nline.fq");
  g_assert_cmpstr (e0->path, ==, a);
  g_assert_cmpstr (e0->sha256, ==, h64);
  g_assert_cmpstr (e1->path, ==, b);
  g_assert_cmpstr (e2->md5, ==, "d41d8cd98f00b204e9800998ecf8427e");
  g_assert_null (e2->sha256);
  g_assert_cmpuint (e2->line, ==, 4);
  g_assert_cmpstr (e4->path, ==, nl);
  g_autofree char *got = codes (problems);
  g_assert_cmpstr (got, ==, "manifest-malformed manifest-malformed manifest-duplicate "
                            "manifest-malformed manifest-malformed");
  const char *lines[] = { ":7", ":8", ":9", ":10", ":11" };
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autofree char *want = g_strconcat (m, lines[i], NULL);
      g_assert_cmpstr (((StrandProblem *) problems->pdata[i])->where, ==, want);
    }
  g_autofree char *nothing = path_in (f, "none.md5");
  g_autoptr (GPtrArray) p2 = strand_problems_new ();
  g_assert_null (strand_manifest_load (nothing, p2));
  g_autofree char *c2 = codes (p2);
  g_assert_cmpstr (c2, ==, "manifest-unreadable");
}

/* The command. */

static int
strand_argv (char **out, const char *const *env, GPtrArray *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) STRAND_CLI);
  for (guint i = 0; i < args->len; i++)
    g_ptr_array_add (argv, args->pdata[i]);
  g_ptr_array_add (argv, NULL);
  int status = 0;
  g_autofree char *o = NULL, *e = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, (char **) env, G_SPAWN_DEFAULT, NULL,
                               NULL, &o, &e, &status, &error));
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("%s%s", o, e);
  g_assert_cmpstr (e, ==, ""); /* results go to stdout; nothing from htslib */
  if (out)
    *out = g_steal_pointer (&o);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static int
strand (char **out, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;
  va_start (ap, out);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  return strand_argv (out, NULL, args);
}

static int
strand_usage (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) STRAND_CLI);
  g_ptr_array_add (argv, (char *) first);
  va_list ap;
  va_start (ap, first);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL |
                               G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL));
  return WEXITSTATUS (status);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_cli (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (strand_usage ("check", NULL), ==, 2);
  g_assert_cmpint (strand_usage ("check", "--format", "wiggle", "x", NULL), ==, 2);
  g_assert_cmpint (strand_usage ("check", "--threads", "-3", "x", NULL), ==, 2);
  g_assert_cmpint (strand_usage ("check", "--bogus", "x", NULL), ==, 2);
  g_assert_cmpint (strand_usage ("check", "--help", NULL), ==, 0);

  g_autofree char *good = write_text (f, "good.fq", "@r\nACGT\n+\nIIII\n");
  g_autofree char *bad = write_text (f, "bad.fq", "@r\nACXT\n+\nIII\n");
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "check", good, NULL), ==, 0);
  g_autofree char *want = g_strdup_printf ("%s: ok (fastq, 1 record, complete)\n", good);
  g_assert_cmpstr (out, ==, want);

  g_autofree char *out2 = NULL;
  g_assert_cmpint (strand (&out2, "check", good, bad, NULL), ==, 1);
  g_autofree char *want2 = g_strdup_printf (
      "%s: ok (fastq, 1 record, complete)\n"
      "%s:2: 'X' at column 3 is not an IUPAC nucleotide code [fastq-invalid-base]\n"
      "%s:4: 3 quality values for 4 bases [fastq-length-mismatch]\n", good, bad, bad);
  g_assert_cmpstr (out2, ==, want2);

  g_autofree char *out3 = NULL;
  g_assert_cmpint (strand (&out3, "check", "--json", "--deep", good, bad, NULL), ==, 1);
  g_autoptr (JsonNode) root = parse_json (out3);
  JsonArray *arr = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (arr), ==, 2);
  JsonObject *g = json_array_get_object_element (arr, 0), *b = json_array_get_object_element (arr, 1);
  g_assert_true (json_object_get_boolean_member (g, "ok"));
  g_assert_cmpstr (json_object_get_string_member (g, "format"), ==, "fastq");
  g_assert_cmpstr (json_object_get_string_member (g, "compression"), ==, "none");
  g_assert_cmpint (json_object_get_int_member (g, "records"), ==, 1);
  g_assert_true (json_object_get_boolean_member (g, "complete"));
  g_assert_cmpuint (strlen (json_object_get_string_member (g, "sha256")), ==, 64);
  g_assert_false (json_object_get_boolean_member (b, "ok"));
  JsonArray *probs = json_object_get_array_member (b, "problems");
  g_assert_cmpuint (json_array_get_length (probs), ==, 2);
  JsonObject *p0 = json_array_get_object_element (probs, 0);
  g_assert_cmpstr (json_object_get_string_member (p0, "severity"), ==, "error");
  g_assert_cmpstr (json_object_get_string_member (p0, "code"), ==, "fastq-invalid-base");
  g_autofree char *w = g_strdup_printf ("%s:2", bad);
  g_assert_cmpstr (json_object_get_string_member (p0, "where"), ==, w);

  g_autofree char *out4 = NULL;
  g_assert_cmpint (strand (&out4, "check", "--format", "bam", good, NULL), ==, 1);
  g_assert_nonnull (strstr (out4, "[format-mismatch]"));
}

static void
test_cli_manifest (Fixture *f, gconstpointer data)
{
  const char *ta = "@r\nACGT\n+\nIIII\n", *tb = "@s\nGGGG\n+\nIIII\n";
  g_autofree char *a = write_text (f, "a.fq", ta);
  g_autofree char *b = write_text (f, "b.fq", tb);
  g_autofree char *sa = g_compute_checksum_for_string (G_CHECKSUM_SHA256, ta, -1);
  g_autofree char *mb = g_compute_checksum_for_string (G_CHECKSUM_MD5, tb, -1);
  g_autofree char *good_text = g_strdup_printf ("%s  a.fq\n%s  b.fq\n", sa, mb);
  g_autofree char *good = write_text (f, "good.sums", good_text);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "check", "--manifest", good, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "a.fq: ok (fastq, 1 record, complete)"));
  g_assert_nonnull (strstr (out, "b.fq: ok (fastq, 1 record, complete)"));

  /* A FILE also listed is checked once, with its digest. */
  g_autofree char *out1 = NULL;
  g_assert_cmpint (strand (&out1, "check", "--manifest", good, a, NULL), ==, 0);
  g_auto (GStrv) lines = g_strsplit (out1, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3); /* two lines and the end */

  g_autofree char *bad_text = g_strdup_printf ("%s  b.fq\n%s  missing.fq\nnot a line\n", sa, sa);
  g_autofree char *bad = write_text (f, "bad.sums", bad_text);
  g_autofree char *out2 = NULL;
  g_assert_cmpint (strand (&out2, "check", "--manifest", bad, NULL), ==, 1);
  g_assert_nonnull (strstr (out2, "bad.sums:3: expected a 64-digit SHA-256"));
  g_assert_nonnull (strstr (out2, "[checksum-mismatch]"));
  g_assert_nonnull (strstr (out2, "missing.fq: no such file [file-missing]"));

  g_autofree char *out3 = NULL;
  g_assert_cmpint (strand (&out3, "check", "--json", "--manifest", bad, NULL), ==, 1);
  g_autoptr (JsonNode) root = parse_json (out3);
  JsonArray *arr = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (arr), ==, 3); /* the manifest, then two files */
  JsonObject *m = json_array_get_object_element (arr, 0);
  g_assert_cmpstr (json_object_get_string_member (m, "format"), ==, "manifest");
  g_assert_false (json_object_get_boolean_member (m, "ok"));
}

/* Names and bytes that are not UTF-8 come out as valid UTF-8. */
static void
test_cli_not_utf8 (Fixture *f, gconstpointer data)
{
  g_autofree char *bad = write_text (f, "caf\xe9-\xff.fq", "@r\xff\nAC\xfe" "T\n+\nIIII\n");
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "check", bad, NULL), ==, 1);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  g_assert_nonnull (strstr (out, "byte 0xfe at column 3"));
  g_autofree char *js = NULL;
  g_assert_cmpint (strand (&js, "check", "--json", bad, NULL), ==, 1);
  g_assert_true (g_utf8_validate (js, -1, NULL));
  g_autoptr (JsonNode) root = parse_json (js);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 1);
}

static void
on_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

/* No reference is ever fetched from the network for CRAM: a local server
 * stands where REF_PATH points (as a URL) and must see no connection, and
 * the REF_CACHE directory stays empty. */
static void
test_cram_no_network (Fixture *f, gconstpointer data)
{
  g_autofree char *ref = write_reference (f, "ref.fa", TRUE);
  g_autofree char *cram = write_reads (f, "a.cram", "wc", 50, 60, ref, NULL);
  g_autofree char *half = write_reference (f, "half.fa", FALSE);
  g_autofree char *cache = path_in (f, "cache");
  g_mkdir (cache, 0755);

  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) server = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (server, addr, TRUE, &error));
  g_assert_true (g_socket_listen (server, &error));
  g_socket_set_blocking (server, FALSE);
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (server, &error);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  g_autofree char *ref_path = g_strdup_printf ("http://127.0.0.1:%u/%%s", port);
  g_autofree char *ref_cache = g_strdup_printf ("%s/%%2s/%%2s/%%s", cache);
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "REF_PATH", ref_path, TRUE);
  env = g_environ_setenv (env, "REF_CACHE", ref_cache, TRUE);

  const char *without[] = { STRAND_CLI, "check", "--deep", cram, NULL };
  const char *with_half[] = { STRAND_CLI, "check", "--deep", "--reference", half, cram, NULL };
  const char *const *variants[] = { without, with_half };
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
    {
      g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_MERGE);
      g_subprocess_launcher_set_environ (l, env);
      g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, variants[v], &error);
      g_assert_no_error (error);
      gboolean done = FALSE, connected = FALSE;
      g_subprocess_wait_async (p, NULL, on_exited, &done);
      gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
      while (!done && !connected && g_get_monotonic_time () < deadline)
        {
          g_main_context_iteration (NULL, FALSE);
          g_autoptr (GSocket) c = g_socket_accept (server, NULL, NULL);
          connected = c != NULL;
          g_usleep (5000);
        }
      if (!done)
        g_subprocess_force_exit (p);
      g_autofree char *out = NULL;
      g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, NULL);
      g_autoptr (GSocket) late = g_socket_accept (server, NULL, NULL);
      if (g_test_verbose ())
        g_printerr ("%s", out);
      g_assert_false (connected);
      g_assert_null (late);
      g_assert_true (done);
      g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 1);
      g_assert_nonnull (strstr (out, v == 0 ? "[cram-no-reference]" : "[cram-decode-failed]"));
      g_assert_null (strstr (out, "http"));
    }
  g_autoptr (GDir) d = g_dir_open (cache, 0, NULL);
  g_assert_null (g_dir_read_name (d));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Tests that write CRAMs need no network either. */
  g_setenv ("REF_PATH", "/nonexistent/%s", TRUE);
  g_unsetenv ("REF_CACHE");
  hts_set_log_level (HTS_LOG_ERROR);
#define ADD(name, fn) g_test_add ("/check/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("good/fastq", test_good_fastq);
  ADD ("good/fasta", test_good_fasta);
  ADD ("good/sam-bam", test_good_sam_bam);
  ADD ("good/vcf-bcf", test_good_vcf_bcf);
  ADD ("cram/reference", test_cram_reference);
  ADD ("cram/no-network", test_cram_no_network);
  ADD ("prefix-and-deep", test_prefix_and_deep);
  ADD ("bgzf/bam-damage", test_bgzf_damage);
  ADD ("bgzf/vcf-damage", test_bgzf_vcf_damage);
  ADD ("gzip/damage", test_gzip_damage);
  ADD ("fastq/malformed", test_fastq_malformed);
  ADD ("fasta/malformed", test_fasta_malformed);
  ADD ("sam/malformed", test_sam_malformed);
  ADD ("bam/malformed", test_bam_malformed);
  ADD ("vcf/malformed", test_vcf_malformed);
  ADD ("format-and-files", test_format_and_files);
  ADD ("digests", test_digests);
  ADD ("too-many-problems", test_too_many_problems);
  ADD ("manifest/load", test_manifest_load);
  ADD ("cli/basics", test_cli);
  ADD ("cli/manifest", test_cli_manifest);
  ADD ("cli/not-utf8", test_cli_not_utf8);
  return g_test_run ();
}
