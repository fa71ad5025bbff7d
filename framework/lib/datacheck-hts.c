/* SAM/BAM/CRAM and VCF/BCF through htslib, with the checks htslib leaves
 * out: it turns a non-IUPAC base into N, reads a POS that is not a number as
 * 0, adds a contig missing from a VCF header with only a warning, takes any
 * letters as REF, and decodes CRAM against references fetched from the
 * network. Here each of those is a problem. */
#include "datacheck-private.h"

#include <htslib/bgzf.h>
#include <htslib/cram.h>
#include <htslib/kseq.h>
#include <htslib/sam.h>
#include <htslib/thread_pool.h>
#include <htslib/vcf.h>
#include <string.h>
#include <unistd.h>

/* Fixed-size part of a BAM record, to measure SAM/BAM/CRAM in bytes. */
#define BAM_CORE_BYTES 36

static char *shown_text (const char *s, gsize len);

/* Fields of a tab-separated text line, without copying it. */
typedef struct {
  const char *s[12];
  gsize len[12];
  guint n;        /* fields seen, counting past 12 */
} Fields;

static void
split_fields (const char *line, gsize len, Fields *out)
{
  out->n = 0;
  gsize start = 0;
  for (gsize i = 0; i <= len; i++)
    if (i == len || line[i] == '\t')
      {
        if (out->n < G_N_ELEMENTS (out->s))
          {
            out->s[out->n] = line + start;
            out->len[out->n] = i - start;
          }
        out->n++;
        start = i + 1;
      }
}

static gboolean
all_digits (const char *s, gsize len, gboolean allow_sign)
{
  if (len > 0 && allow_sign && s[0] == '-')
    s++, len--;
  if (len == 0 || len > 18)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* Decompression threads. A queue deeper than hts_set_threads' (2 per thread)
 * keeps the workers busy with fewer wake-ups. */
typedef struct {
  htsThreadPool p;
} DcPool;

static void
pool_attach (DcPool *pool, DcFile *f, htsFile *fp)
{
  if (f->threads == 0)
    return;
  pool->p.pool = hts_tpool_init ((int) f->threads);
  pool->p.qsize = (int) f->threads * 16;
  if (pool->p.pool != NULL)
    (void) hts_set_opt (fp, HTS_OPT_THREAD_POOL, &pool->p);
}

/* After hts_close: the pool outlives the file that used it. */
static void
pool_detach (DcPool *pool)
{
  if (pool->p.pool != NULL)
    hts_tpool_destroy (pool->p.pool);
  pool->p.pool = NULL;
}

/* Past the damage the compression layer found, a parse error is its echo. */
static gboolean
is_echo (DcFile *f, gint64 compressed_offset)
{
  return f->damaged_from >= 0 &&
         (compressed_offset < 0 || compressed_offset + 2 * 65536 >= f->damaged_from);
}

static gint64
compressed_offset (htsFile *fp)
{
  if (fp->is_bgzf && fp->fp.bgzf)
    return fp->fp.bgzf->block_address;
  return -1;
}

/* When reading failed because a BGZF block is damaged, says so (where the
 * block starts) and returns TRUE; also TRUE when that is the echo of damage
 * already reported. */
static gboolean
report_bgzf_error (DcFile *f, htsFile *fp)
{
  if (!fp->is_bgzf || fp->fp.bgzf == NULL || f->compression != bgzf)
    return FALSE;
  int err = fp->fp.bgzf->errcode;
  if (!(err & (BGZF_ERR_CRC | BGZF_ERR_ZLIB | BGZF_ERR_HEADER)))
    return FALSE;
  gint64 at = MAX (fp->fp.bgzf->block_address, 0);
  if (is_echo (f, at))
    return TRUE;
  const char *why = (err & BGZF_ERR_CRC) ? "fails its CRC32 check"
                    : (err & BGZF_ERR_ZLIB) ? "does not decompress (damaged deflate data)"
                    : "is not a valid BGZF block";
  g_autofree char *where = dc_where_byte (f, (guint64) at);
  dc_problem (f, FALSE, "bgzf-corrupt", where, "the BGZF block here %s", why);
  f->damaged_from = at;
  return TRUE;
}

/* CRAM: never a reference from the network or a cache. htslib 1.16
 * (cram/cram_io.c, cram_populate_ref) fetches from
 * https://www.ebi.ac.uk/ena/cram/md5/%s when REF_PATH is unset or empty and
 * then writes it under REF_CACHE (default ~/.cache/hts-ref); with REF_PATH
 * set, only the entries listed are searched, and URLs only when listed. It
 * finally falls back to the @SQ UR: tag, which may itself be a URL. So while
 * a CRAM is decoded REF_PATH names a directory that does not exist, REF_CACHE
 * is unset, and the UR: tags are removed from the decoder's copy of the
 * header. The environment is restored afterwards. */
#define NO_NETWORK_REF_PATH "/nonexistent/strand-no-reference-download/%s"

static GMutex cram_env_lock;

typedef struct {
  char *ref_path, *ref_cache;
  gboolean had_path, had_cache;
} SavedEnv;

static void
cram_env_enter (SavedEnv *saved)
{
  g_mutex_lock (&cram_env_lock);
  const char *p = g_getenv ("REF_PATH"), *c = g_getenv ("REF_CACHE");
  saved->had_path = p != NULL;
  saved->had_cache = c != NULL;
  saved->ref_path = g_strdup (p);
  saved->ref_cache = g_strdup (c);
  g_setenv ("REF_PATH", NO_NETWORK_REF_PATH, TRUE);
  g_unsetenv ("REF_CACHE");
}

static void
cram_env_leave (SavedEnv *saved)
{
  if (saved->had_path)
    g_setenv ("REF_PATH", saved->ref_path, TRUE);
  else
    g_unsetenv ("REF_PATH");
  if (saved->had_cache)
    g_setenv ("REF_CACHE", saved->ref_cache, TRUE);
  g_free (saved->ref_path);
  g_free (saved->ref_cache);
  g_mutex_unlock (&cram_env_lock);
}

static void
strip_ur_tags (sam_hdr_t *h)
{
  int n = sam_hdr_count_lines (h, "SQ");
  for (int i = 0; i < n; i++)
    {
      const char *name = sam_hdr_line_name (h, "SQ", i);
      if (name != NULL)
        {
          g_autofree char *copy = g_strdup (name);
          (void) sam_hdr_remove_tag_id (h, "SQ", "SN", copy, "UR");
        }
    }
}

/* Header facts for the summary. */
static void
sam_summary_header (DcFile *f, sam_hdr_t *h)
{
  int nref = sam_hdr_nref (h);
  for (int i = 0; i < nref; i++)
    {
      g_autofree char *name = g_utf8_make_valid (sam_hdr_tid2name (h, i), -1);
      g_ptr_array_add (f->summary->contigs,
                       g_strdup_printf ("%s\t%" G_GINT64_FORMAT, name,
                                        (gint64) sam_hdr_tid2len (h, i)));
    }
  int nrg = sam_hdr_count_lines (h, "RG");
  kstring_t ks = KS_INITIALIZE;
  for (int i = 0; i < nrg; i++)
    if (sam_hdr_find_tag_pos (h, "RG", i, "SM", &ks) == 0)
      {
        g_autofree char *sm = g_utf8_make_valid (ks.s, -1);
        gboolean seen = FALSE;
        for (guint k = 0; !seen && k < f->summary->samples->len; k++)
          seen = strcmp (f->summary->samples->pdata[k], sm) == 0;
        if (!seen)
          g_ptr_array_add (f->summary->samples, g_steal_pointer (&sm));
      }
  ks_free (&ks);
}

/* SAM text: htslib turns any letter into a base and takes any QUAL byte;
 * check the raw line it parsed. Returns FALSE when a problem was added. */
static gboolean
sam_check_raw (DcFile *f, sam_hdr_t *h, const char *line, gsize len, const char *where)
{
  Fields fl;
  split_fields (line, len, &fl);
  if (fl.n < 11)
    return TRUE; /* htslib refuses it; reported by the caller */
  /* htslib reads an undeclared RNAME as unmapped, with only a warning. */
  for (guint k = 2; k <= 6; k += 4)
    {
      gsize nl = fl.len[k];
      if ((nl == 1 && fl.s[k][0] == '*') || (k == 6 && nl == 1 && fl.s[k][0] == '='))
        continue;
      g_autofree char *name = g_strndup (fl.s[k], nl);
      if (sam_hdr_name2tid (h, name) < 0)
        {
          g_autofree char *shown = g_utf8_make_valid (name, -1);
          dc_problem (f, FALSE, "sam-unknown-contig", where,
                      "%s '%s' is not declared in the header (no @SQ line; samtools makes "
                      "the read unmapped)", k == 2 ? "RNAME" : "RNEXT", shown);
          return FALSE;
        }
    }
  const char *seq = fl.s[9], *qual = fl.s[10];
  gsize sl = fl.len[9], ql = fl.len[10];
  gboolean ok = TRUE;
  char cbuf[16];
  if (!(sl == 1 && seq[0] == '*'))
    for (gsize i = 0; i < sl; i++)
      if (!dc_iupac[(guint8) seq[i]] && seq[i] != '=')
        {
          dc_problem (f, FALSE, "sam-invalid-base", where,
                      "SEQ holds %s at position %" G_GSIZE_FORMAT
                      ", not an IUPAC nucleotide code (samtools reads it as N)",
                      dc_byte_repr ((guint8) seq[i], cbuf), i + 1);
          ok = FALSE;
          break;
        }
  if (!(ql == 1 && qual[0] == '*'))
    for (gsize i = 0; i < ql; i++)
      if (qual[i] < '!' || qual[i] > '~')
        {
          dc_problem (f, FALSE, "sam-invalid-quality", where,
                      "QUAL holds %s at position %" G_GSIZE_FORMAT ", not a quality character",
                      dc_byte_repr ((guint8) qual[i], cbuf), i + 1);
          ok = FALSE;
          break;
        }
  return ok;
}

/* Why htslib refused a SAM line, as far as we can tell. */
/* The bases a CIGAR string consumes from SEQ, or -1 when it is malformed. */
static gint64
cigar_query_length (const char *s, gsize len)
{
  gint64 total = 0, n = -1;
  for (gsize i = 0; i < len; i++)
    {
      if (g_ascii_isdigit (s[i]))
        {
          n = (n < 0 ? 0 : n) * 10 + (s[i] - '0');
          if (n > G_MAXINT32)
            return -1;
          continue;
        }
      if (n < 0 || !strchr ("MIDNSHP=X", s[i]))
        return -1;
      if (strchr ("MIS=X", s[i]))
        total += n;
      n = -1;
    }
  return n < 0 ? total : -1;
}

static void
sam_explain (DcFile *f, sam_hdr_t *h, const char *line, gsize len, const char *where)
{
  Fields fl;
  split_fields (line, len, &fl);
  if (fl.n < 11)
    {
      dc_problem (f, FALSE, "sam-malformed", where,
                  "the record has %u tab-separated field%s; SAM needs at least 11", fl.n,
                  fl.n == 1 ? "" : "s");
      return;
    }
  static const struct { guint field; const char *name; gboolean sign; } numeric[] = {
    { 1, "FLAG", FALSE }, { 3, "POS", FALSE }, { 4, "MAPQ", FALSE }, { 7, "PNEXT", FALSE },
    { 8, "TLEN", TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (numeric); i++)
    if (!all_digits (fl.s[numeric[i].field], fl.len[numeric[i].field], numeric[i].sign))
      {
        g_autofree char *raw = g_strndup (fl.s[numeric[i].field], MIN (fl.len[numeric[i].field], 40));
        g_autofree char *shown = g_utf8_make_valid (raw, -1);
        dc_problem (f, FALSE, "sam-malformed", where, "%s is '%s', not a number in range",
                    numeric[i].name, shown);
        return;
      }
  gsize sl = fl.len[9], ql = fl.len[10];
  gboolean seq_star = sl == 1 && fl.s[9][0] == '*', qual_star = ql == 1 && fl.s[10][0] == '*';
  if (!seq_star && !qual_star && sl != ql)
    {
      dc_problem (f, FALSE, "sam-length-mismatch", where,
                  "SEQ has %" G_GSIZE_FORMAT " bases but QUAL %" G_GSIZE_FORMAT " values", sl, ql);
      return;
    }
  gboolean cigar_star = fl.len[5] == 1 && fl.s[5][0] == '*';
  if (!cigar_star)
    {
      gint64 ql_cigar = cigar_query_length (fl.s[5], fl.len[5]);
      g_autofree char *shown = shown_text (fl.s[5], fl.len[5]);
      if (ql_cigar < 0)
        {
          dc_problem (f, FALSE, "sam-malformed", where, "CIGAR '%s' is malformed", shown);
          return;
        }
      if (!seq_star && (gsize) ql_cigar != sl)
        {
          dc_problem (f, FALSE, "sam-cigar-length-mismatch", where,
                      "CIGAR '%s' covers %" G_GINT64_FORMAT " bases, SEQ has %" G_GSIZE_FORMAT,
                      shown, ql_cigar, sl);
          return;
        }
    }
  if (!sam_check_raw (f, h, line, len, where))
    return;
  dc_problem (f, FALSE, "sam-malformed", where,
              "htslib cannot parse the record (a field is out of range or malformed, or "
              "CIGAR and SEQ disagree in length)");
}

/* Ns among 4-bit packed bases: per byte, how many of its two codes are 15. */
static guint8 n_in_byte[256];

static void
init_tables (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      for (int b = 0; b < 256; b++)
        n_in_byte[b] = (guint8) (((b >> 4) == 15) + ((b & 15) == 15));
      g_once_init_leave (&done, 1);
    }
}

/* The per-base work of a deep check, eight bytes at a time (SWAR): these
 * two loops see every base and quality of the file. */

static inline guint64
load64 (const guint8 *p)
{
  guint64 w;
  memcpy (&w, p, 8);
  return w;
}

/* Ns among 4-bit packed bases: codes equal to 15. */
static guint64
count_n_packed (const guint8 *seq, gint64 l_qseq)
{
  const guint64 low = G_GUINT64_CONSTANT (0x1111111111111111);
  gsize bytes = (gsize) (l_qseq >> 1), i = 0;
  guint64 n = 0;
  for (; i + 8 <= bytes; i += 8)
    {
      guint64 w = load64 (seq + i);
      n += (guint64) __builtin_popcountll (w & (w >> 1) & (w >> 2) & (w >> 3) & low);
    }
  for (; i < bytes; i++)
    n += n_in_byte[seq[i]];
  if (l_qseq & 1)
    n += (seq[bytes] >> 4) == 15;
  return n;
}

/* The sum of `len` quality bytes; `too_high` when one is above 93. */
static guint64
sum_qualities (const guint8 *q, gsize len, gboolean *too_high)
{
  const guint64 lanes = G_GUINT64_CONSTANT (0x00ff00ff00ff00ff);
  const guint64 bias = G_GUINT64_CONSTANT (0x2222222222222222); /* 94 + 0x22 = 0x80 */
  const guint64 high = G_GUINT64_CONSTANT (0x8080808080808080);
  guint64 total = 0, flags = 0;
  gsize i = 0;
  while (i + 8 <= len)
    {
      /* 16-bit lanes hold at most 2 * 255 per word: fold every 128 words. */
      guint64 acc = 0;
      gsize stop = MIN (len - (len - i) % 8, i + 8 * 128);
      for (; i < stop; i += 8)
        {
          guint64 w = load64 (q + i);
          acc += (w & lanes) + ((w >> 8) & lanes);
          flags |= w | (w + bias); /* a carry only follows a byte >= 0xde */
        }
      total += (acc & 0xffff) + ((acc >> 16) & 0xffff) + ((acc >> 32) & 0xffff) + (acc >> 48);
    }
  for (; i < len; i++)
    {
      total += q[i];
      flags |= q[i] > 93 ? 0x80 : 0;
    }
  *too_high = (flags & high) != 0;
  return total;
}

typedef struct {
  DcFile *f;
  sam_hdr_t *h;
  int nref;
  guint64 records, bases, n_count, qsum, qcount, bytes;
} SamTally;

/* What htslib does not check in a record it accepted. `where` is NULL for
 * binary records ("record N" is made when needed). */
static void
sam_record_checks (SamTally *t, const bam1_t *b, gboolean is_sam, const char *where_text)
{
  DcFile *f = t->f;
  const bam1_core_t *c = &b->core;
  g_autofree char *where_made = NULL;
#define WHERE() (where_text ? where_text \
                 : where_made ? where_made : (where_made = dc_where_record (f, t->records)))
  if (c->tid < -1 || c->tid >= t->nref || c->mtid < -1 || c->mtid >= t->nref)
    dc_problem (f, FALSE, "sam-unknown-contig", WHERE (),
                "the record is on reference %d, but the header declares %d", c->tid, t->nref);
  else if (c->tid >= 0 && c->pos >= 0)
    {
      hts_pos_t ln = sam_hdr_tid2len (t->h, c->tid);
      if (ln > 0 && c->pos >= ln)
        dc_problem (f, FALSE, "sam-position-out-of-range", WHERE (),
                    "position %" G_GINT64_FORMAT " is past the end of %s (%" G_GINT64_FORMAT " bp)",
                    (gint64) c->pos + 1, sam_hdr_tid2name (t->h, c->tid), (gint64) ln);
    }
  if (c->pos < -1)
    dc_problem (f, FALSE, "sam-position-out-of-range", WHERE (), "negative position");
  gint64 l = c->l_qseq;
  if (!is_sam && c->n_cigar > 0 && l > 0 && !(c->flag & BAM_FUNMAP) &&
      bam_cigar2qlen ((int) c->n_cigar, bam_get_cigar (b)) != l)
    dc_problem (f, FALSE, "sam-cigar-length-mismatch", WHERE (),
                "CIGAR covers %" G_GINT64_FORMAT " bases, SEQ has %" G_GINT64_FORMAT,
                (gint64) bam_cigar2qlen ((int) c->n_cigar, bam_get_cigar (b)), l);
  if (l <= 0)
    return;
  t->n_count += count_n_packed (bam_get_seq (b), l);
  t->bases += (guint64) l;
  const guint8 *q = bam_get_qual (b);
  if (q[0] == 0xff)
    return; /* no qualities */
  gboolean too_high = FALSE;
  guint64 sum = sum_qualities (q, (gsize) l, &too_high);
  if (too_high)
    {
      guint8 top = 0;
      for (gint64 i = 0; i < l; i++)
        top = MAX (top, q[i]);
      dc_problem (f, FALSE, "sam-invalid-quality", WHERE (),
                  "a base quality of %u is above the largest SAM can hold (93)", top);
    }
  else
    {
      t->qsum += sum;
      t->qcount += (guint64) l;
    }
#undef WHERE
}

static gboolean
reference_usable (DcFile *f, const char *reference, char **absolute)
{
  /* A local file only: htslib would open "http://..." over the network. */
  g_autofree char *abs = g_canonicalize_filename (reference, NULL);
  g_autofree char *shown = g_filename_display_name (reference);
  if (!g_file_test (abs, G_FILE_TEST_IS_REGULAR) || access (abs, R_OK) != 0)
    {
      dc_problem (f, FALSE, "cram-reference-unreadable", dc_where_file (f),
                  "the reference %s is not a readable local file", shown);
      return FALSE;
    }
  *absolute = g_steal_pointer (&abs);
  return TRUE;
}

/* Header lines htslib accepts but should not. */

/* The value of `key` in a structured VCF header line "##X=<K=v,K=\"v\",...>"
 * (NULL when absent); quotes respected. */
static char *
vcf_meta_value (const char *line, gsize len, const char *key)
{
  const char *lt = memchr (line, '<', len);
  if (lt == NULL)
    return NULL;
  gsize klen = strlen (key);
  const char *p = lt + 1, *end = line + len;
  while (p < end)
    {
      const char *item = p;
      gboolean quoted = FALSE;
      while (p < end && (quoted || (*p != ',' && *p != '>')))
        {
          if (*p == '"' && (p == item || p[-1] != '\\'))
            quoted = !quoted;
          p++;
        }
      if ((gsize) (p - item) > klen && strncmp (item, key, klen) == 0 && item[klen] == '=')
        return g_strndup (item + klen + 1, (gsize) (p - item) - klen - 1);
      p++;
    }
  return NULL;
}

static gboolean
vcf_check_header_line (DcFile *f, const char *line, gsize len, guint64 lineno)
{
  gboolean info = len > 8 && strncmp (line, "##INFO=<", 8) == 0;
  gboolean format = len > 10 && strncmp (line, "##FORMAT=<", 10) == 0;
  gboolean contig = len > 10 && strncmp (line, "##contig=<", 10) == 0;
  if (!info && !format && !contig)
    return TRUE;
  g_autofree char *where = dc_where_line (f, lineno);
  const char *what = info ? "##INFO" : format ? "##FORMAT" : "##contig";
  if (line[len - 1] != '>')
    {
      dc_problem (f, FALSE, "vcf-header-malformed", where, "a %s line must end with '>'", what);
      return FALSE;
    }
  g_autofree char *id = vcf_meta_value (line, len, "ID");
  if (id == NULL || *id == '\0')
    {
      dc_problem (f, FALSE, "vcf-header-malformed", where, "a %s line needs an ID", what);
      return FALSE;
    }
  g_autofree char *shown = g_utf8_make_valid (id, -1);
  if (contig)
    {
      g_autofree char *length = vcf_meta_value (line, len, "length");
      if (length && !all_digits (length, strlen (length), FALSE))
        {
          dc_problem (f, FALSE, "vcf-header-malformed", where,
                      "contig '%s' has length '%s', not a number", shown, length);
          return FALSE;
        }
      return TRUE;
    }
  g_autofree char *number = vcf_meta_value (line, len, "Number");
  g_autofree char *type = vcf_meta_value (line, len, "Type");
  static const char *const types[] = { "Integer", "Float", "Flag", "Character", "String" };
  gboolean type_ok = FALSE;
  for (guint i = 0; type && i < G_N_ELEMENTS (types); i++)
    type_ok |= strcmp (type, types[i]) == 0 && !(format && i == 2);
  gboolean number_ok = number && (strcmp (number, "A") == 0 || strcmp (number, "R") == 0 ||
                                  strcmp (number, "G") == 0 || strcmp (number, ".") == 0 ||
                                  all_digits (number, strlen (number), FALSE));
  if (!type_ok || !number_ok)
    {
      g_autofree char *bad = g_utf8_make_valid (!type_ok ? (type ? type : "") : number ? number : "", -1);
      dc_problem (f, FALSE, "vcf-header-malformed", where,
                  "%s %s has %s '%s' (%s)", what, shown, !type_ok ? "Type" : "Number", bad,
                  !type_ok ? (format ? "Integer, Float, Character or String"
                                     : "Integer, Float, Flag, Character or String")
                           : "a count, A, R, G or '.'");
      return FALSE;
    }
  return TRUE;
}

static gboolean
sam_check_header_line (DcFile *f, const char *line, gsize len, guint64 lineno)
{
  g_autofree char *where = dc_where_line (f, lineno);
  if (len < 3 || !g_ascii_isalpha (line[1]) || !g_ascii_isalpha (line[2]) ||
      (len > 3 && line[3] != '\t'))
    {
      dc_problem (f, FALSE, "sam-header-malformed", where,
                  "a header line is '@' and a two-letter type, then TAB-separated fields");
      return FALSE;
    }
  if (strncmp (line, "@CO", 3) == 0)
    return TRUE;
  Fields fl;
  split_fields (line, len, &fl);
  gboolean has_sn = FALSE, has_ln = FALSE, has_id = FALSE;
  for (guint i = 1; i < MIN (fl.n, G_N_ELEMENTS (fl.s)); i++)
    {
      const char *t = fl.s[i];
      gsize tl = fl.len[i];
      if (tl < 3 || t[2] != ':' || !g_ascii_isalpha (t[0]) || !g_ascii_isalnum (t[1]))
        {
          g_autofree char *shown = shown_text (t, tl);
          dc_problem (f, FALSE, "sam-header-malformed", where,
                      "'%s' is not a TAG:value field", shown);
          return FALSE;
        }
      has_sn |= strncmp (t, "SN:", 3) == 0;
      has_id |= strncmp (t, "ID:", 3) == 0;
      if (strncmp (line, "@SQ", 3) == 0 && strncmp (t, "LN:", 3) == 0)
        {
          has_ln = TRUE;
          gint64 ln = all_digits (t + 3, tl - 3, FALSE) ? g_ascii_strtoll (t + 3, NULL, 10) : -1;
          if (ln < 1 || ln > G_MAXINT32)
            {
              g_autofree char *shown = shown_text (t + 3, tl - 3);
              dc_problem (f, FALSE, "sam-header-malformed", where,
                          "@SQ LN is '%s', not a length from 1 to 2147483647", shown);
              return FALSE;
            }
        }
    }
  if (strncmp (line, "@SQ", 3) == 0 && (!has_sn || !has_ln))
    {
      dc_problem (f, FALSE, "sam-header-malformed", where, "an @SQ line needs SN and LN");
      return FALSE;
    }
  if (strncmp (line, "@RG", 3) == 0 && !has_id)
    {
      dc_problem (f, FALSE, "sam-header-malformed", where, "an @RG line needs ID");
      return FALSE;
    }
  return TRUE;
}

static void
sam_finish_summary (DcFile *f, const SamTally *t, gboolean complete)
{
  StrandDataSummary *s = f->summary;
  s->records = t->records;
  s->bases = t->bases;
  s->n_fraction = t->bases ? (double) t->n_count / (double) t->bases : 0.0;
  s->mean_quality = t->qcount ? (double) t->qsum / (double) t->qcount : 0.0;
  s->complete = complete;
}

/* SAM text: our line reader (exact places, one report where the compressed
 * data ends or breaks), each line checked raw, then parsed by htslib (which
 * tokenises it in place, hence the copy). */
static void
check_sam_text (DcFile *f, hFILE *hf)
{
  DcLines r;
  dc_lines_init (&r, f, hf);
  g_autoptr (GString) header = g_string_new (NULL);
  sam_hdr_t *h = NULL;
  bam1_t *b = bam_init1 ();
  kstring_t work = KS_INITIALIZE;
  SamTally t = { .f = f };
  guint64 blank_first = 0;
  gboolean stopped = FALSE, header_done = FALSE, header_ok = TRUE;
  const guint8 *line;
  gsize len;
  for (;;)
    {
      gboolean more = dc_lines_next (&r, &line, &len);
      if (!header_done && (!more || line[0] != '@'))
        {
          /* The end of the header: parse it. */
          header_done = TRUE;
          h = sam_hdr_parse (header->len, header->str);
          if (h == NULL && header_ok)
            {
              g_autofree char *where = dc_where_line (f, 1);
              dc_problem (f, FALSE, "sam-header-malformed", where,
                          "htslib cannot parse the header (each line '@XY' then TAB-separated "
                          "'TG:value' fields; @SQ needs SN and LN)");
              stopped = TRUE;
              break;
            }
          if (h == NULL)
            {
              stopped = TRUE;
              break;
            }
          sam_summary_header (f, h);
          t.h = h;
          t.nref = sam_hdr_nref (h);
        }
      if (!more)
        break;
      if (!header_done)
        {
          header_ok &= sam_check_header_line (f, (const char *) line, len, r.lineno);
          g_string_append_len (header, (const char *) line, (gssize) len);
          g_string_append_c (header, '\n');
          continue;
        }
      if (dc_is_blank (line, len))
        {
          blank_first = blank_first ? blank_first : r.lineno;
          continue;
        }
      dc_blank_lines_flush (f, &blank_first, "sam-malformed", FALSE);
      g_autofree char *where = dc_where_line (f, r.lineno);
      if (line[0] == '@')
        {
          dc_problem (f, FALSE, "sam-header-malformed", where, "a header line after the records");
          continue;
        }
      t.records++;
      ks_clear (&work);
      kputsn ((const char *) line, len, &work);
      int pr = sam_parse1 (&work, h, b);
      gboolean raw_ok = sam_check_raw (f, h, (const char *) line, len, where);
      if (pr < 0)
        {
          if (raw_ok)
            sam_explain (f, h, (const char *) line, len, where);
        }
      else
        sam_record_checks (&t, b, TRUE, where);
      if (r.consumed >= f->budget)
        {
          stopped = TRUE;
          break;
        }
    }
  if (!stopped && !r.failed)
    dc_blank_lines_flush (f, &blank_first, NULL, TRUE);
  sam_finish_summary (f, &t, !stopped && !r.failed && r.eof);
  ks_free (&work);
  bam_destroy1 (b);
  if (h)
    sam_hdr_destroy (h);
  dc_lines_clear (&r);
}

void
dc_check_sam (DcFile *f, hFILE *hf)
{
  init_tables ();
  if (f->sniffed == sam)
    {
      check_sam_text (f, hf);
      return;
    }
  gboolean is_cram = f->sniffed == cram;
  const char *reference = f->options->reference;
  g_autofree char *ref_abs = NULL;
  if (is_cram && reference == NULL)
    dc_problem (f, FALSE, "cram-no-reference", dc_where_file (f),
                "a CRAM file is decoded against its reference: give the reference FASTA "
                "(--reference); it is never downloaded");
  gboolean decode = !is_cram || (reference != NULL && reference_usable (f, reference, &ref_abs));

  SavedEnv env = { 0 };
  if (is_cram)
    cram_env_enter (&env);
  htsFile *fp = hts_hopen (hf, f->path, "r");
  if (fp == NULL || fp->format.format != f->sniffed)
    {
      if (fp)
        hts_close (fp);
      else
        hclose_abruptly (hf);
      if (!is_echo (f, 0) || f->size < 65536)
        dc_problem (f, FALSE, "sam-header-malformed", dc_where_file (f),
                    "htslib cannot open the file as %s (its header is damaged)",
                    is_cram ? "CRAM" : "BAM");
      if (is_cram)
        cram_env_leave (&env);
      return;
    }
  DcPool pool = { 0 };
  pool_attach (&pool, f, fp);
  if (is_cram)
    {
      strip_ur_tags (cram_fd_get_header (fp->fp.cram));
      if (cram_check_EOF (fp->fp.cram) == 0)
        {
          g_autofree char *where = dc_where_byte (f, f->size);
          dc_problem (f, FALSE, "cram-missing-eof", where,
                      "the CRAM end-of-file container is missing: the file was cut short or "
                      "never finished writing");
          f->damaged_from = (gint64) f->size;
        }
      if (decode && hts_set_opt (fp, CRAM_OPT_REFERENCE, ref_abs) != 0)
        {
          g_autofree char *shown = g_filename_display_name (reference);
          dc_problem (f, FALSE, "cram-reference-unreadable", dc_where_file (f),
                      "the reference %s cannot be loaded (a FASTA with a .fai index, or in a "
                      "directory where one can be written)", shown);
          decode = FALSE;
        }
    }

  sam_hdr_t *h = sam_hdr_read (fp);
  if (h == NULL)
    {
      if (report_bgzf_error (f, fp))
        ;
      else if (!is_echo (f, compressed_offset (fp)) || f->size < 65536)
        dc_problem (f, FALSE, "sam-header-malformed", dc_where_file (f),
                    "the header cannot be read (malformed, or the file is cut short)");
      hts_close (fp);
      pool_detach (&pool);
      if (is_cram)
        cram_env_leave (&env);
      return;
    }
  sam_summary_header (f, h);

  SamTally t = { .f = f, .h = h, .nref = sam_hdr_nref (h) };
  bam1_t *b = bam_init1 ();
  int r = -1;
  gboolean stopped = FALSE;
  while (decode)
    {
      r = sam_read1 (fp, h, b);
      if (r < -1)
        {
          if (report_bgzf_error (f, fp))
            ;
          else if (!is_echo (f, compressed_offset (fp)))
            {
              g_autofree char *where = dc_where_record (f, t.records + 1);
              if (is_cram)
                dc_problem (f, FALSE, "cram-decode-failed", where,
                            "the CRAM data cannot be decoded here (damaged, or not made "
                            "against this reference)");
              else
                dc_problem (f, FALSE, "sam-malformed", where,
                            "the BAM record cannot be read (damaged or cut short)");
            }
          break;
        }
      if (r < 0)
        break;
      t.records++;
      t.bytes += (guint64) b->l_data + BAM_CORE_BYTES;
      sam_record_checks (&t, b, FALSE, NULL);
      if (t.bytes >= f->budget)
        {
          stopped = TRUE;
          break;
        }
    }
  sam_finish_summary (f, &t, decode && !stopped && r == -1);
  bam_destroy1 (b);
  sam_hdr_destroy (h);
  hts_close (fp);
  pool_detach (&pool);
  if (is_cram)
    cram_env_leave (&env);
}

/* VCF and BCF. */

static gboolean
allele_ok (const char *a, gsize len, gboolean is_ref)
{
  if (len == 0)
    return FALSE;
  if (is_ref)
    {
      for (gsize i = 0; i < len; i++)
        if (!dc_iupac[(guint8) a[i]])
          return FALSE;
      return TRUE;
    }
  if ((len == 1 && (a[0] == '.' || a[0] == '*')) || (a[0] == '<' && a[len - 1] == '>'))
    return TRUE;
  if (memchr (a, '[', len) || memchr (a, ']', len))
    return TRUE; /* a breakend */
  gsize from = a[0] == '.' ? 1 : 0, to = a[len - 1] == '.' ? len - 1 : len;
  if (from >= to)
    return FALSE;
  for (gsize i = from; i < to; i++)
    if (!dc_iupac[(guint8) a[i]])
      return FALSE;
  return TRUE;
}

static char *
shown_text (const char *s, gsize len)
{
  g_autofree char *raw = g_strndup (s, MIN (len, 40));
  char *v = g_utf8_make_valid (raw, -1);
  if (len > 40)
    {
      char *longer = g_strconcat (v, "...", NULL);
      g_free (v);
      v = longer;
    }
  return v;
}

/* Checks REF and ALT; returns FALSE when a problem was added. */
static gboolean
vcf_check_alleles (DcFile *f, const char *where, const char *ref, gsize ref_len,
                   const char *alt, gsize alt_len)
{
  if (!allele_ok (ref, ref_len, TRUE))
    {
      g_autofree char *shown = shown_text (ref, ref_len);
      dc_problem (f, FALSE, "vcf-invalid-ref", where,
                  "REF '%s' is not made of IUPAC nucleotide codes", shown);
      return FALSE;
    }
  if (alt_len == 1 && alt[0] == '.')
    return TRUE;
  gsize start = 0;
  for (gsize i = 0; i <= alt_len; i++)
    if (i == alt_len || alt[i] == ',')
      {
        if (!allele_ok (alt + start, i - start, FALSE))
          {
            g_autofree char *shown = shown_text (alt + start, i - start);
            dc_problem (f, FALSE, "vcf-invalid-alt", where,
                        "ALT allele '%s' is neither bases, '*', '<ID>' nor a breakend", shown);
            return FALSE;
          }
        start = i + 1;
      }
  return TRUE;
}

/* VCF text: the raw line htslib parsed. Returns FALSE when a problem was added. */
static gboolean
vcf_check_raw (DcFile *f, const char *line, gsize len, const char *where)
{
  Fields fl;
  split_fields (line, len, &fl);
  if (fl.n < 8)
    {
      dc_problem (f, FALSE, "vcf-malformed", where,
                  "the record has %u tab-separated field%s; VCF needs at least 8", fl.n,
                  fl.n == 1 ? "" : "s");
      return FALSE;
    }
  if (!all_digits (fl.s[1], fl.len[1], FALSE))
    {
      g_autofree char *shown = shown_text (fl.s[1], fl.len[1]);
      dc_problem (f, FALSE, "vcf-invalid-pos", where,
                  "POS '%s' is not a number in range (bcftools reads such a POS as 0)", shown);
      return FALSE;
    }
  return vcf_check_alleles (f, where, fl.s[3], fl.len[3], fl.s[4], fl.len[4]);
}

static void
vcf_summary_header (DcFile *f, bcf_hdr_t *h)
{
  for (int i = 0; i < h->n[BCF_DT_CTG]; i++)
    {
      const char *name = bcf_hdr_id2name (h, i);
      gint64 length = 0;
      bcf_hrec_t *hrec = bcf_hdr_id2hrec (h, BCF_DT_CTG, 0, i);
      int k = hrec ? bcf_hrec_find_key (hrec, "length") : -1;
      if (k >= 0)
        length = g_ascii_strtoll (hrec->vals[k], NULL, 10);
      g_autofree char *shown = g_utf8_make_valid (name ? name : "", -1);
      g_ptr_array_add (f->summary->contigs,
                       g_strdup_printf ("%s\t%" G_GINT64_FORMAT, shown, length));
    }
  for (int i = 0; i < bcf_hdr_nsamples (h); i++)
    g_ptr_array_add (f->summary->samples, g_utf8_make_valid (h->samples[i], -1));
}

/* What a parsed record says, checked the same way for VCF and BCF. */
typedef struct {
  DcFile *f;
  bcf_hdr_t *h;
  int declared_contigs;   /* contigs of the header, before htslib adds any */
  GHashTable *unknown;    /* contigs reported as undeclared */
  gboolean tag_warned;
} VcfState;

/* Returns FALSE when the record could not be parsed at all. */
static gboolean
vcf_record_checks (VcfState *st, bcf1_t *v, int parsed, gboolean raw_ok, const char *where)
{
  DcFile *f = st->f;
  if (parsed < 0 || (v->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF)))
    {
      if (raw_ok)
        {
          const char *why = (v->errcode & BCF_ERR_NCOLS)
                              ? "the number of sample columns differs from the header's"
                            : (v->errcode & BCF_ERR_LIMITS) ? "a value is beyond what VCF/BCF can hold"
                            : (v->errcode & BCF_ERR_CHAR) ? "a field holds invalid characters"
                            : (v->errcode & (BCF_ERR_CTG_INVALID | BCF_ERR_TAG_INVALID))
                              ? "a contig or tag name is invalid"
                              : "htslib cannot parse the record";
          dc_problem (f, FALSE, "vcf-malformed", where, "%s", why);
        }
      return FALSE;
    }
  if (v->rid < 0 || v->rid >= st->declared_contigs)
    {
      const char *name = v->rid >= 0 && v->rid < st->h->n[BCF_DT_CTG]
                           ? bcf_hdr_id2name (st->h, v->rid) : NULL;
      g_autofree char *shown = g_utf8_make_valid (name ? name : "?", -1);
      if (!g_hash_table_contains (st->unknown, shown))
        {
          dc_problem (f, FALSE, "vcf-unknown-contig", where,
                      "contig '%s' is not declared in the header (bcftools only warns)", shown);
          g_hash_table_add (st->unknown, g_strdup (shown));
        }
    }
  if ((v->errcode & BCF_ERR_TAG_UNDEF) && !st->tag_warned)
    {
      dc_problem (f, TRUE, "vcf-undefined-tag", where,
                  "an INFO or FORMAT tag is used but not declared in the header");
      st->tag_warned = TRUE;
    }
  return TRUE;
}

/* BCF: the alleles htslib decoded. */
static void
bcf_check_alleles (DcFile *f, bcf1_t *v, const char *where)
{
  if (v->pos < -1)
    dc_problem (f, FALSE, "vcf-invalid-pos", where, "negative position");
  if (bcf_unpack (v, BCF_UN_STR) < 0 || v->n_allele < 1)
    {
      dc_problem (f, FALSE, "vcf-malformed", where, "the alleles cannot be read");
      return;
    }
  const char *ref = v->d.allele[0];
  if (!allele_ok (ref, strlen (ref), TRUE))
    {
      vcf_check_alleles (f, where, ref, strlen (ref), ".", 1);
      return;
    }
  for (int a = 1; a < v->n_allele; a++)
    {
      const char *alt = v->d.allele[a];
      if (!allele_ok (alt, strlen (alt), FALSE))
        {
          vcf_check_alleles (f, where, "N", 1, alt, strlen (alt));
          return;
        }
    }
}

/* VCF text: our line reader, the header parsed by htslib once whole, then
 * each line checked raw and parsed by htslib (on a copy). */
static void
check_vcf_text (DcFile *f, hFILE *hf)
{
  DcLines r;
  dc_lines_init (&r, f, hf);
  g_autoptr (GString) header = g_string_new (NULL);
  g_autoptr (GHashTable) unknown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  VcfState st = { .f = f, .unknown = unknown };
  bcf1_t *v = bcf_init ();
  kstring_t work = KS_INITIALIZE;
  guint64 blank_first = 0, records = 0;
  gboolean stopped = FALSE, header_ok = TRUE;
  const guint8 *line;
  gsize len;
  while (dc_lines_next (&r, &line, &len))
    {
      g_autofree char *where = dc_where_line (f, r.lineno);
      if (st.h == NULL)
        {
          /* The header: "##" lines, then the #CHROM line. */
          gboolean chrom = len >= 6 && memcmp (line, "#CHROM", 6) == 0;
          if (r.lineno == 1 && !(len >= 16 && memcmp (line, "##fileformat=VCF", 16) == 0))
            {
              dc_problem (f, FALSE, "vcf-header-malformed", where,
                          "a VCF file must start with ##fileformat=VCFv4.x");
              stopped = TRUE;
              break;
            }
          if (!chrom && !(len >= 2 && line[0] == '#' && line[1] == '#'))
            {
              dc_problem (f, FALSE, "vcf-header-malformed", where,
                          "the header must end with the #CHROM line before any record");
              stopped = TRUE;
              break;
            }
          header_ok &= vcf_check_header_line (f, (const char *) line, len, r.lineno);
          g_string_append_len (header, (const char *) line, (gssize) len);
          g_string_append_c (header, '\n');
          if (!chrom)
            continue;
          st.h = bcf_hdr_init ("r");
          if (st.h == NULL || bcf_hdr_parse (st.h, header->str) != 0 || !header_ok)
            {
              if (header_ok)
              dc_problem (f, FALSE, "vcf-header-malformed", where,
                          "htslib cannot parse the header (a ##INFO, ##FORMAT or ##contig line, "
                          "or the #CHROM line, is malformed)");
              stopped = TRUE;
              break;
            }
          vcf_summary_header (f, st.h);
          st.declared_contigs = st.h->n[BCF_DT_CTG];
          continue;
        }
      if (dc_is_blank (line, len))
        {
          blank_first = blank_first ? blank_first : r.lineno;
          continue;
        }
      dc_blank_lines_flush (f, &blank_first, "vcf-malformed", FALSE);
      if (line[0] == '#')
        {
          dc_problem (f, FALSE, "vcf-malformed", where, "a header line after the #CHROM line");
          continue;
        }
      records++;
      ks_clear (&work);
      kputsn ((const char *) line, len, &work);
      int parsed = vcf_parse (&work, st.h, v);
      gboolean raw_ok = vcf_check_raw (f, (const char *) line, len, where);
      vcf_record_checks (&st, v, parsed, raw_ok, where);
      if (r.consumed >= f->budget)
        {
          stopped = TRUE;
          break;
        }
    }
  if (!stopped && !r.failed && st.h == NULL)
    {
      g_autofree char *where = dc_where_line (f, MAX (r.lineno, 1));
      dc_problem (f, FALSE, "vcf-header-malformed", where,
                  "the file ends before the #CHROM line that ends the header");
    }
  if (!stopped && !r.failed)
    dc_blank_lines_flush (f, &blank_first, NULL, TRUE);
  f->summary->records = records;
  f->summary->complete = !stopped && !r.failed && r.eof;
  ks_free (&work);
  bcf_destroy (v);
  if (st.h)
    bcf_hdr_destroy (st.h);
  dc_lines_clear (&r);
}

void
dc_check_vcf (DcFile *f, hFILE *hf)
{
  if (f->sniffed == vcf)
    {
      check_vcf_text (f, hf);
      return;
    }
  htsFile *fp = hts_hopen (hf, f->path, "r");
  if (fp == NULL || fp->format.format != bcf)
    {
      if (fp)
        hts_close (fp);
      else
        hclose_abruptly (hf);
      if (!is_echo (f, 0) || f->size < 65536)
        dc_problem (f, FALSE, "vcf-header-malformed", dc_where_file (f),
                    "htslib cannot open the file as BCF (its header is damaged)");
      return;
    }
  DcPool pool = { 0 };
  pool_attach (&pool, f, fp);
  g_autoptr (GHashTable) unknown = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  VcfState st = { .f = f, .unknown = unknown, .h = bcf_hdr_read (fp) };
  if (st.h == NULL)
    {
      if (report_bgzf_error (f, fp))
        ;
      else if (!is_echo (f, compressed_offset (fp)) || f->size < 65536)
        dc_problem (f, FALSE, "vcf-header-malformed", dc_where_file (f),
                    "the BCF header cannot be read (malformed, or the file is cut short)");
      hts_close (fp);
      pool_detach (&pool);
      return;
    }
  vcf_summary_header (f, st.h);
  st.declared_contigs = st.h->n[BCF_DT_CTG];
  bcf1_t *v = bcf_init ();
  guint64 records = 0, bytes = 0;
  int r = -1;
  gboolean stopped = FALSE;
  for (;;)
    {
      r = bcf_read (fp, st.h, v);
      if (r < -1)
        {
          if (report_bgzf_error (f, fp))
            ;
          else if (!is_echo (f, compressed_offset (fp)))
            {
              g_autofree char *where = dc_where_record (f, records + 1);
              dc_problem (f, FALSE, "vcf-malformed", where,
                          "the BCF record cannot be read (damaged or cut short)");
            }
          break;
        }
      if (r < 0)
        break;
      records++;
      g_autofree char *where = dc_where_record (f, records);
      if (!vcf_record_checks (&st, v, 0, TRUE, where))
        break;
      bcf_check_alleles (f, v, where);
      bytes += (guint64) v->shared.l + v->indiv.l + 32;
      if (bytes >= f->budget)
        {
          stopped = TRUE;
          break;
        }
    }
  f->summary->records = records;
  f->summary->complete = !stopped && r == -1;
  bcf_destroy (v);
  bcf_hdr_destroy (st.h);
  hts_close (fp);
  pool_detach (&pool);
}
