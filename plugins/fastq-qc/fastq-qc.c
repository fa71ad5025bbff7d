/* fastq-qc: quality control of one sample's reads, single or paired, with
 * optional adapter and quality trimming.
 *
 * Reads R1 (and R2) as streams through the strict reader of fastq-reader.h;
 * for pairs it checks that both files hold the same reads in the same order.
 * For each file it counts reads, bases, the quality distribution at every
 * position (from which mean quality and the Q30 fraction follow), N and GC
 * content, the read length distribution and the fraction of reads carrying
 * the start of an Illumina TruSeq or Nextera adapter. The figures go to a
 * JSON report and the key ones to metrics, then thresholds given as
 * parameters turn them into the sample's verdict: a sample that fails QC
 * fails with STRAND_ERROR_INVALID_INPUT (its data is not usable), after the
 * report is written.
 *
 * With `trim`, each read loses its low-quality 3' end (BWA's algorithm, as in
 * cutadapt -q) and anything from an adapter on; reads shorter than
 * `min_length` are dropped (for pairs, both mates), and the rest are written
 * as gzip FASTQ to the `trimmed` port, one file per input. */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "fastq-reader.h"

#define CHECK_EVERY (1u << 16) /* records between cancel checks */
#define N_QUAL (FASTQ_MAX_PHRED + 1)
#define ADAPTER_PROBE 12 /* bases of an adapter counted as its presence */
#define ADAPTER_ERROR_RATE 0.1
#define MAX_NAME 255

typedef struct {
  const char *name;
  const char *sequence; /* what trimming looks for */
} Adapter;

/* The start of the adapters read into on Illumina libraries: the TruSeq
 * universal prefix (both mates) and the Nextera transposase sequence. */
static const Adapter adapters[] = {
  { "truseq", "AGATCGGAAGAGC" },
  { "nextera", "CTGTCTCTTATACACATCT" },
};
#define N_ADAPTERS (sizeof adapters / sizeof adapters[0])

/* Base classes for counting. */
enum { BASE_OTHER = 0, BASE_N, BASE_GC, BASE_AT, N_CLASSES };
static const unsigned char base_class[256] = {
  ['N'] = BASE_N, ['n'] = BASE_N,
  ['G'] = BASE_GC, ['g'] = BASE_GC, ['C'] = BASE_GC, ['c'] = BASE_GC,
  ['A'] = BASE_AT, ['a'] = BASE_AT, ['T'] = BASE_AT, ['t'] = BASE_AT,
  ['U'] = BASE_AT, ['u'] = BASE_AT,
};

/* The figures of one input file. */
typedef struct {
  char name[MAX_NAME + 1];
  uint64_t reads;
  uint64_t bases;
  uint64_t classes[N_CLASSES];
  uint64_t *pos_hist; /* [position * N_QUAL + quality] */
  size_t pos_cap;     /* positions allocated */
  uint64_t *len_hist; /* [length] */
  size_t len_cap;
  uint64_t adapter_reads[N_ADAPTERS];
} FileStats;

typedef struct {
  uint64_t fragments_in;
  uint64_t fragments_out;
  uint64_t bases_in;
  uint64_t bases_out;
  uint64_t quality_trimmed_bases;
  uint64_t adapter_trimmed_reads;
  uint64_t dropped_fragments;
} TrimStats;

typedef struct {
  bool trim;
  int64_t trim_quality;
  int64_t min_length;
  int64_t min_overlap;
  int64_t level;
  int64_t min_reads;
  double min_mean_quality;
  double min_q30_fraction;
  double max_n_fraction;
  double max_adapter_fraction;
  double min_gc_fraction;
  double max_gc_fraction;
} Params;

/* Grows a zero-filled array of uint64_t to hold index `need`. */
static bool
grow (uint64_t **array, size_t *cap, size_t need, size_t unit)
{
  if (need < *cap)
    return true;
  size_t n = *cap ? *cap : 256;
  while (n <= need)
    n *= 2;
  uint64_t *a = realloc (*array, n * unit * sizeof **array);
  if (a == NULL)
    return false;
  memset (a + *cap * unit, 0, (n - *cap) * unit * sizeof *a);
  *array = a;
  *cap = n;
  return true;
}

static bool
count_record (FileStats *fs, const FastqRecord *rec)
{
  size_t len = rec->len;
  if (!grow (&fs->len_hist, &fs->len_cap, len, 1)
      || (len > 0 && !grow (&fs->pos_hist, &fs->pos_cap, len - 1, N_QUAL)))
    return false;
  fs->reads++;
  fs->bases += len;
  fs->len_hist[len]++;
  const unsigned char *s = (const unsigned char *) rec->seq;
  const unsigned char *q = (const unsigned char *) rec->qual;
  uint64_t *h = fs->pos_hist;
  for (size_t i = 0; i < len; i++, h += N_QUAL)
    {
      h[q[i] - FASTQ_PHRED_OFFSET]++;
      fs->classes[base_class[s[i]]]++;
    }
  for (size_t a = 0; a < N_ADAPTERS; a++)
    if (len >= ADAPTER_PROBE
        && memmem (rec->seq, len, adapters[a].sequence, ADAPTER_PROBE) != NULL)
      fs->adapter_reads[a]++;
  return true;
}

/* ---- trimming ------------------------------------------------------------- */

/* Length left after cutting the low-quality 3' end: the cut that maximises
 * the sum of (cutoff - quality) over the removed bases (BWA's -q). */
static size_t
quality_trim (const char *qual, size_t len, int cutoff)
{
  long sum = 0, best = 0;
  size_t cut = len;
  for (size_t i = len; i-- > 0;)
    {
      sum += cutoff - (qual[i] - FASTQ_PHRED_OFFSET);
      if (sum < 0)
        break;
      if (sum > best)
        {
          best = sum;
          cut = i;
        }
    }
  return cut;
}

static inline bool
base_match (char a, char b)
{
  return (a | 0x20) == (b | 0x20);
}

/* Position of the leftmost adapter occurrence, whole or cut short by the
 * read's end, overlapping at least `min_overlap` bases with at most 10%
 * mismatches; `len` when there is none. */
static size_t
adapter_position (const char *seq, size_t len, const char *adapter,
                  size_t min_overlap)
{
  size_t alen = strlen (adapter);
  for (size_t i = 0; i + min_overlap <= len; i++)
    {
      size_t overlap = len - i < alen ? len - i : alen;
      size_t allowed = (size_t) ((double) overlap * ADAPTER_ERROR_RATE);
      size_t mismatches = 0;
      size_t k = 0;
      for (; k < overlap; k++)
        if (!base_match (seq[i + k], adapter[k]) && ++mismatches > allowed)
          break;
      if (k == overlap)
        return i;
    }
  return len;
}

/* Length of `rec` after trimming; counts what was cut. */
static size_t
trim_length (const FastqRecord *rec, const Params *p, TrimStats *ts)
{
  size_t len = quality_trim (rec->qual, rec->len, (int) p->trim_quality);
  ts->quality_trimmed_bases += rec->len - len;
  size_t cut = len;
  for (size_t a = 0; a < N_ADAPTERS; a++)
    {
      size_t at = adapter_position (rec->seq, cut, adapters[a].sequence,
                                    (size_t) p->min_overlap);
      if (at < cut)
        cut = at;
    }
  if (cut < len)
    ts->adapter_trimmed_reads++;
  return cut;
}

/* A gzip FASTQ writer with its own buffer: gzwrite per line is slow. */
typedef struct {
  gzFile gz;
  const char *path;
  char *buf;
  size_t len;
  int err; /* errno of the first failure, or -1 for a zlib error */
} Writer;

#define WRITER_BUFFER (1u << 20)

static bool
writer_flush (Writer *w)
{
  if (w->len > 0 && w->err == 0
      && gzwrite (w->gz, w->buf, (unsigned) w->len) != (int) w->len)
    {
      int errnum = 0;
      gzerror (w->gz, &errnum);
      w->err = errnum == Z_ERRNO && errno ? errno : -1;
    }
  w->len = 0;
  return w->err == 0;
}

static void
writer_put (Writer *w, const char *data, size_t n)
{
  while (n > 0 && w->err == 0)
    {
      if (w->len == WRITER_BUFFER && !writer_flush (w))
        return;
      size_t take = WRITER_BUFFER - w->len < n ? WRITER_BUFFER - w->len : n;
      memcpy (w->buf + w->len, data, take);
      w->len += take;
      data += take;
      n -= take;
    }
}

static void
writer_record (Writer *w, const FastqRecord *rec, size_t len)
{
  writer_put (w, "@", 1);
  writer_put (w, rec->header, rec->header_len);
  writer_put (w, "\n", 1);
  writer_put (w, rec->seq, len);
  writer_put (w, "\n+\n", 3);
  writer_put (w, rec->qual, len);
  writer_put (w, "\n", 1);
}

/* ---- the run -------------------------------------------------------------- */

static StrandErrorClass
reader_error_class (FastqStatus st)
{
  switch (st)
    {
    case FASTQ_IO:
      return STRAND_ERROR_TRANSIENT;
    case FASTQ_NO_MEMORY:
      return STRAND_ERROR_RESOURCE;
    default:
      return STRAND_ERROR_INVALID_INPUT;
    }
}

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* Read names of mates agree up to the first space, after dropping a "/1" or
 * "/2" suffix. */
static bool
mates_agree (const FastqRecord *a, const FastqRecord *b)
{
  size_t la = a->name_len, lb = b->name_len;
  if (la >= 2 && a->name[la - 2] == '/' && (a->name[la - 1] == '1' || a->name[la - 1] == '2'))
    la -= 2;
  if (lb >= 2 && b->name[lb - 2] == '/' && (b->name[lb - 1] == '1' || b->name[lb - 1] == '2'))
    lb -= 2;
  return la == lb && memcmp (a->name, b->name, la) == 0;
}

/* Orders a pair of inputs as R1, R2: by the name when the two names differ
 * only in one character, '1' in one and '2' in the other (S1_R1.fq.gz,
 * reads_2.fastq); otherwise as connected. */
static void
order_pair (const char *paths[2])
{
  const char *a = base_name (paths[0]), *b = base_name (paths[1]);
  size_t la = strlen (a);
  if (la != strlen (b))
    return;
  size_t diff = la, n_diff = 0;
  for (size_t i = 0; i < la; i++)
    if (a[i] != b[i])
      {
        diff = i;
        n_diff++;
      }
  if (n_diff == 1 && a[diff] == '2' && b[diff] == '1')
    {
      const char *t = paths[0];
      paths[0] = paths[1];
      paths[1] = t;
    }
}

/* "S1_R1.fastq.gz" -> "S1_R1.trimmed.fastq.gz". */
static void
trimmed_name (const char *input, char *out, size_t size)
{
  char stem[MAX_NAME + 1];
  snprintf (stem, sizeof stem, "%s", base_name (input));
  static const char *const suffixes[] = { ".gz", ".fastq", ".fq", NULL };
  for (const char *const *s = suffixes; *s; s++)
    {
      size_t n = strlen (stem), k = strlen (*s);
      if (n > k && strcmp (stem + n - k, *s) == 0)
        stem[n - k] = '\0';
    }
  snprintf (out, size, "%s.trimmed.fastq.gz", stem);
}

static double
ratio (uint64_t num, uint64_t den)
{
  return den ? (double) num / (double) den : 0.0;
}

typedef struct {
  uint64_t quality_sum;
  uint64_t q30;
} QualitySums;

static QualitySums
quality_sums (const FileStats *fs)
{
  QualitySums s = { 0, 0 };
  for (size_t p = 0; p < fs->pos_cap; p++)
    for (int q = 0; q < N_QUAL; q++)
      {
        uint64_t n = fs->pos_hist[p * N_QUAL + (size_t) q];
        s.quality_sum += n * (uint64_t) q;
        if (q >= 30)
          s.q30 += n;
      }
  return s;
}

/* The quality at rank `rank` (0-based) of a position's histogram. */
static int
hist_rank (const uint64_t *h, uint64_t rank)
{
  uint64_t seen = 0;
  for (int q = 0; q < N_QUAL; q++)
    {
      seen += h[q];
      if (seen > rank)
        return q;
    }
  return 0;
}

typedef struct {
  uint64_t reads, bases, quality_sum, q30, n, gc, acgt;
  uint64_t adapter_reads[N_ADAPTERS];
} Totals;

static void
json_string (FILE *out, const char *s)
{
  fputc ('"', out);
  for (; s && *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        fprintf (out, "\\%c", c);
      else if (c < 0x20)
        fprintf (out, "\\u%04x", c);
      else
        fputc (c, out);
    }
  fputc ('"', out);
}

static void
json_file (FILE *out, const FileStats *fs, int mate, Totals *t)
{
  QualitySums qs = quality_sums (fs);
  uint64_t acgt = fs->classes[BASE_GC] + fs->classes[BASE_AT];
  size_t positions = 0, min_len = 0, max_len = 0;
  bool any = false;
  for (size_t l = 0; l < fs->len_cap; l++)
    if (fs->len_hist[l])
      {
        if (!any)
          min_len = l;
        max_len = l;
        any = true;
      }
  positions = max_len;

  fputs ("{\"name\":", out);
  json_string (out, fs->name);
  fprintf (out, ",\"mate\":%d,\"reads\":%" PRIu64
                ",\"bases\":%" PRIu64 ",\"mean_quality\":%.6f"
                ",\"q30_fraction\":%.6f,\"n_fraction\":%.6f"
                ",\"gc_fraction\":%.6f,\"min_length\":%zu,\"max_length\":%zu",
           mate, fs->reads, fs->bases,
           ratio (qs.quality_sum, fs->bases), ratio (qs.q30, fs->bases),
           ratio (fs->classes[BASE_N], fs->bases),
           ratio (fs->classes[BASE_GC], acgt), min_len, max_len);

  fputs (",\"adapter_fraction\":{", out);
  for (size_t a = 0; a < N_ADAPTERS; a++)
    fprintf (out, "%s\"%s\":%.6f", a ? "," : "", adapters[a].name,
             ratio (fs->adapter_reads[a], fs->reads));
  fputs ("},\"length_distribution\":[", out);
  bool first = true;
  for (size_t l = 0; l < fs->len_cap; l++)
    if (fs->len_hist[l])
      {
        fprintf (out, "%s[%zu,%" PRIu64 "]", first ? "" : ",", l,
                 fs->len_hist[l]);
        first = false;
      }

  /* The quality histogram over all positions, up to the highest seen. */
  uint64_t qual_hist[N_QUAL] = { 0 };
  for (size_t p = 0; p < positions; p++)
    for (int q = 0; q < N_QUAL; q++)
      qual_hist[q] += fs->pos_hist[p * N_QUAL + (size_t) q];
  int last = -1;
  for (int q = 0; q < N_QUAL; q++)
    if (qual_hist[q])
      last = q;
  fputs ("],\"quality_histogram\":[", out);
  for (int q = 0; q <= last; q++)
    fprintf (out, "%s%" PRIu64, q ? "," : "", qual_hist[q]);

  /* Per position (1-based in the report's reading: index 0 is base 1). */
  static const char *const keys[] = { "mean", "q25", "median", "q75" };
  fputs ("],\"per_position_quality\":{\"bases\":[", out);
  for (size_t p = 0; p < positions; p++)
    {
      uint64_t n = 0;
      for (int q = 0; q < N_QUAL; q++)
        n += fs->pos_hist[p * N_QUAL + (size_t) q];
      fprintf (out, "%s%" PRIu64, p ? "," : "", n);
    }
  fputc (']', out);
  for (int k = 0; k < 4; k++)
    {
      fprintf (out, ",\"%s\":[", keys[k]);
      for (size_t p = 0; p < positions; p++)
        {
          const uint64_t *h = fs->pos_hist + p * N_QUAL;
          uint64_t n = 0, sum = 0;
          for (int q = 0; q < N_QUAL; q++)
            {
              n += h[q];
              sum += h[q] * (uint64_t) q;
            }
          if (k == 0)
            fprintf (out, "%s%.4f", p ? "," : "", ratio (sum, n));
          else
            fprintf (out, "%s%d", p ? "," : "",
                     n ? hist_rank (h, (n - 1) * (uint64_t) k / 4) : 0);
        }
      fputc (']', out);
    }
  fputs ("}}", out);

  t->reads += fs->reads;
  t->bases += fs->bases;
  t->quality_sum += qs.quality_sum;
  t->q30 += qs.q30;
  t->n += fs->classes[BASE_N];
  t->gc += fs->classes[BASE_GC];
  t->acgt += acgt;
  for (size_t a = 0; a < N_ADAPTERS; a++)
    t->adapter_reads[a] += fs->adapter_reads[a];
}

/* The verdict: the first threshold the sample misses, written into `why`;
 * empty when it passes. */
static void
verdict (const Params *p, const Totals *t, uint64_t fragments, char *why,
         size_t size)
{
  double mean = ratio (t->quality_sum, t->bases);
  double q30 = ratio (t->q30, t->bases);
  double n = ratio (t->n, t->bases);
  double gc = ratio (t->gc, t->acgt);
  double adapter = 0;
  for (size_t a = 0; a < N_ADAPTERS; a++)
    if (ratio (t->adapter_reads[a], t->reads) > adapter)
      adapter = ratio (t->adapter_reads[a], t->reads);
  why[0] = '\0';
  if (p->min_reads > 0 && fragments < (uint64_t) p->min_reads)
    snprintf (why, size, "%" PRIu64 " reads%s, fewer than min_reads %" PRId64,
              fragments, p->trim ? " after trimming" : "", p->min_reads);
  else if (mean < p->min_mean_quality)
    snprintf (why, size, "mean quality %.2f is below min_mean_quality %g",
              mean, p->min_mean_quality);
  else if (q30 < p->min_q30_fraction)
    snprintf (why, size, "Q30 fraction %.4f is below min_q30_fraction %g",
              q30, p->min_q30_fraction);
  else if (n > p->max_n_fraction)
    snprintf (why, size, "N fraction %.6f is above max_n_fraction %g", n,
              p->max_n_fraction);
  else if (adapter > p->max_adapter_fraction)
    snprintf (why, size,
              "adapter fraction %.4f is above max_adapter_fraction %g",
              adapter, p->max_adapter_fraction);
  else if (t->acgt > 0 && (gc < p->min_gc_fraction || gc > p->max_gc_fraction))
    snprintf (why, size, "GC fraction %.4f is outside [%g, %g]", gc,
              p->min_gc_fraction, p->max_gc_fraction);
}

static int
fail_write (StrandTask *task, const StrandHost *host, const char *path,
            int err)
{
  if (err < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "%s: compression failed", path);
  return host->fail (task, strand_error_class_from_errno (err), "%s: write failed: %s", path,
                     strerror (err));
}

static int
write_report (StrandTask *task, const StrandHost *host, const Params *p,
              FileStats *files, size_t n_files, const TrimStats *ts,
              uint64_t fragments, char *why, size_t why_size)
{
  const char *path = NULL;
  if (host->output_path (task, "report", "qc.json", &path) < 0 || path == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no output path for port 'report'");
  FILE *out = fopen (path, "w");
  if (out == NULL)
    return fail_write (task, host, path, errno);

  locale_t c_locale = newlocale (LC_NUMERIC_MASK, "C", (locale_t) 0);
  locale_t previous = c_locale ? uselocale (c_locale) : (locale_t) 0;

  Totals t = { 0 };
  fputs ("{\"sample\":", out);
  json_string (out, host->sample_id (task));
  fprintf (out, ",\"paired\":%s,\"files\":[", n_files == 2 ? "true" : "false");
  for (size_t i = 0; i < n_files; i++)
    {
      if (i)
        fputc (',', out);
      json_file (out, &files[i], n_files == 2 ? (int) i + 1 : 0, &t);
    }
  verdict (p, &t, p->trim ? ts->fragments_out : fragments, why, why_size);

  double adapter = 0;
  for (size_t a = 0; a < N_ADAPTERS; a++)
    if (ratio (t.adapter_reads[a], t.reads) > adapter)
      adapter = ratio (t.adapter_reads[a], t.reads);
  fprintf (out, "],\"fragments\":%" PRIu64 ",\"reads\":%" PRIu64
                ",\"bases\":%" PRIu64 ",\"mean_quality\":%.6f"
                ",\"q30_fraction\":%.6f,\"n_fraction\":%.6f"
                ",\"gc_fraction\":%.6f,\"adapter_fraction\":%.6f",
           fragments, t.reads, t.bases, ratio (t.quality_sum, t.bases),
           ratio (t.q30, t.bases), ratio (t.n, t.bases),
           ratio (t.gc, t.acgt), adapter);
  if (p->trim)
    fprintf (out, ",\"trimming\":{\"quality_cutoff\":%" PRId64
                  ",\"min_length\":%" PRId64 ",\"min_overlap\":%" PRId64
                  ",\"fragments_in\":%" PRIu64 ",\"fragments_out\":%" PRIu64
                  ",\"dropped_fragments\":%" PRIu64 ",\"bases_in\":%" PRIu64
                  ",\"bases_out\":%" PRIu64
                  ",\"quality_trimmed_bases\":%" PRIu64
                  ",\"adapter_trimmed_reads\":%" PRIu64 "}",
             p->trim_quality, p->min_length, p->min_overlap, ts->fragments_in,
             ts->fragments_out, ts->dropped_fragments, ts->bases_in,
             ts->bases_out, ts->quality_trimmed_bases,
             ts->adapter_trimmed_reads);
  fprintf (out, ",\"thresholds\":{\"min_reads\":%" PRId64
                ",\"min_mean_quality\":%g,\"min_q30_fraction\":%g"
                ",\"max_n_fraction\":%g,\"max_adapter_fraction\":%g"
                ",\"min_gc_fraction\":%g,\"max_gc_fraction\":%g}"
                ",\"verdict\":\"%s\",\"reason\":",
           p->min_reads, p->min_mean_quality, p->min_q30_fraction,
           p->max_n_fraction, p->max_adapter_fraction, p->min_gc_fraction,
           p->max_gc_fraction, why[0] ? "fail" : "pass");
  if (why[0])
    json_string (out, why);
  else
    fputs ("null", out);
  fputs ("}\n", out);

  if (c_locale)
    {
      uselocale (previous);
      freelocale (c_locale);
    }

  int err = ferror (out) ? (errno ? errno : EIO) : 0;
  if (fclose (out) != 0 && err == 0)
    err = errno;
  if (err != 0)
    return fail_write (task, host, path, err);

  host->metric (task, "reads", (double) t.reads);
  host->metric (task, "bases", (double) t.bases);
  host->metric (task, "mean_quality", ratio (t.quality_sum, t.bases));
  host->metric (task, "q30_fraction", ratio (t.q30, t.bases));
  host->metric (task, "n_fraction", ratio (t.n, t.bases));
  host->metric (task, "gc_fraction", ratio (t.gc, t.acgt));
  host->metric (task, "adapter_fraction", adapter);
  if (p->trim)
    host->metric (task, "reads_after_trimming",
                  (double) ts->fragments_out * (double) n_files);
  return STRAND_OK;
}

static int
read_params (StrandTask *task, const StrandHost *host, Params *p)
{
  if (host->param_bool (task, "trim", &p->trim) < 0
      || host->param_int (task, "trim_quality", &p->trim_quality) < 0
      || host->param_int (task, "min_length", &p->min_length) < 0
      || host->param_int (task, "adapter_min_overlap", &p->min_overlap) < 0
      || host->param_int (task, "compression_level", &p->level) < 0
      || host->param_int (task, "min_reads", &p->min_reads) < 0
      || host->param_double (task, "min_mean_quality", &p->min_mean_quality) < 0
      || host->param_double (task, "min_q30_fraction", &p->min_q30_fraction) < 0
      || host->param_double (task, "max_n_fraction", &p->max_n_fraction) < 0
      || host->param_double (task, "max_adapter_fraction",
                             &p->max_adapter_fraction) < 0
      || host->param_double (task, "min_gc_fraction", &p->min_gc_fraction) < 0
      || host->param_double (task, "max_gc_fraction", &p->max_gc_fraction) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read parameters");
  if (p->min_gc_fraction > p->max_gc_fraction)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "param 'min_gc_fraction' %g is above max_gc_fraction %g",
                       p->min_gc_fraction, p->max_gc_fraction);
  return STRAND_OK;
}

static int
validate (StrandTask *task, const StrandHost *host)
{
  Params p;
  int ret = read_params (task, host, &p);
  if (ret != STRAND_OK)
    return ret;
  int n = host->input_count (task, "reads");
  if (n > 2)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "input 'reads': %d files; give one (single-end) or "
                       "two (R1 and R2)",
                       n);
  return STRAND_OK;
}

typedef struct {
  FastqReader *readers[2];
  Writer writers[2];
  FileStats files[2];
  size_t n;
} Job;

static void
job_clear (Job *job)
{
  for (size_t i = 0; i < 2; i++)
    {
      fastq_reader_close (job->readers[i]);
      if (job->writers[i].gz != NULL)
        gzclose_w (job->writers[i].gz);
      free (job->writers[i].buf);
      free (job->files[i].pos_hist);
      free (job->files[i].len_hist);
    }
}

static int
open_writer (StrandTask *task, const StrandHost *host, const Params *p,
             const char *input, Writer *w)
{
  char name[MAX_NAME + 32];
  trimmed_name (input, name, sizeof name);
  if (host->output_path (task, "trimmed", name, &w->path) < 0
      || w->path == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no output path for port 'trimmed' and file '%s'", name);
  char mode[8];
  snprintf (mode, sizeof mode, "wb%d", (int) p->level);
  errno = 0;
  w->gz = gzopen (w->path, mode);
  w->buf = malloc (WRITER_BUFFER);
  if (w->gz == NULL || w->buf == NULL)
    return host->fail (task, strand_error_class_from_errno (errno ? errno : ENOMEM),
                       "%s: cannot create: %s", w->path,
                       strerror (errno ? errno : ENOMEM));
  return STRAND_OK;
}

static int
scan (StrandTask *task, const StrandHost *host, const Params *p, Job *job,
      TrimStats *ts, uint64_t *fragments)
{
  int64_t total_size = 0;
  FastqRecord rec[2];
  for (uint64_t k = 0;; k++)
    {
      if (k > 0 && k % CHECK_EVERY == 0)
        {
          if (host->cancelled (task))
            return STRAND_E_CANCELLED;
          if (total_size > 0)
            host->progress (task,
                            (double) fastq_reader_offset (job->readers[0])
                                / (double) total_size,
                            "reading");
        }
      else if (k == 0)
        {
          struct stat st;
          const char *path = host->input_path (task, "reads", 0);
          if (path != NULL && stat (path, &st) == 0)
            total_size = st.st_size;
        }
      FastqStatus st[2] = { FASTQ_END, FASTQ_END };
      for (size_t i = 0; i < job->n; i++)
        st[i] = fastq_reader_next (job->readers[i], &rec[i]);
      for (size_t i = 0; i < job->n; i++)
        if (st[i] != FASTQ_OK && st[i] != FASTQ_END)
          return host->fail (task, reader_error_class (st[i]), "%s",
                             fastq_reader_error (job->readers[i]));
      if (st[0] == FASTQ_END && (job->n == 1 || st[1] == FASTQ_END))
        break;
      if (job->n == 2 && st[0] != st[1])
        {
          size_t shorter = st[0] == FASTQ_END ? 0 : 1;
          return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                             "%s ends after %" PRIu64 " reads but %s has more: "
                             "the mates are out of step",
                             job->files[shorter].name, k,
                             job->files[1 - shorter].name);
        }
      if (job->n == 2 && !mates_agree (&rec[0], &rec[1]))
        return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                           "%s:%" PRIu64 ": read '%.*s' is not the mate of "
                           "'%.*s' (%s:%" PRIu64 ")",
                           job->files[1].name,
                           fastq_reader_line (job->readers[1]) - 3,
                           (int) rec[1].name_len, rec[1].name,
                           (int) rec[0].name_len, rec[0].name,
                           job->files[0].name,
                           fastq_reader_line (job->readers[0]) - 3);
      for (size_t i = 0; i < job->n; i++)
        if (!count_record (&job->files[i], &rec[i]))
          return host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
      (*fragments)++;

      if (!p->trim)
        continue;
      size_t len[2] = { 0, 0 };
      bool keep = true;
      ts->fragments_in++;
      for (size_t i = 0; i < job->n; i++)
        {
          ts->bases_in += rec[i].len;
          len[i] = trim_length (&rec[i], p, ts);
          if (len[i] < (size_t) p->min_length)
            keep = false;
        }
      if (!keep)
        {
          ts->dropped_fragments++;
          continue;
        }
      ts->fragments_out++;
      for (size_t i = 0; i < job->n; i++)
        {
          ts->bases_out += len[i];
          writer_record (&job->writers[i], &rec[i], len[i]);
          if (job->writers[i].err != 0)
            return fail_write (task, host, job->writers[i].path,
                               job->writers[i].err);
        }
    }
  return STRAND_OK;
}

static int
run (StrandTask *task, const StrandHost *host)
{
  Params p;
  int ret = read_params (task, host, &p);
  if (ret != STRAND_OK)
    return ret;
  int count = host->input_count (task, "reads");
  if (count < 1 || count > 2)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "input 'reads': %d files; give one (single-end) or "
                       "two (R1 and R2)",
                       count);

  Job job = { .n = (size_t) count };
  const char *paths[2] = { NULL, NULL };
  for (size_t i = 0; i < job.n; i++)
    if ((paths[i] = host->input_path (task, "reads", i)) == NULL)
      return host->fail (task, STRAND_ERROR_INTERNAL,
                         "no path for input %zu of port 'reads'", i);
  if (job.n == 2)
    order_pair (paths);

  for (size_t i = 0; i < job.n && ret == STRAND_OK; i++)
    {
      snprintf (job.files[i].name, sizeof job.files[i].name, "%s",
                base_name (paths[i]));
      job.readers[i] = fastq_reader_open (paths[i], job.files[i].name);
      if (job.readers[i] == NULL)
        {
          int err = errno;
          ret = host->fail (task, strand_error_class_from_errno (err), "%s: cannot open: %s",
                            paths[i], strerror (err));
        }
      else if (p.trim)
        ret = open_writer (task, host, &p, paths[i], &job.writers[i]);
    }

  TrimStats ts = { 0 };
  uint64_t fragments = 0;
  if (ret == STRAND_OK)
    ret = scan (task, host, &p, &job, &ts, &fragments);
  for (size_t i = 0; i < job.n && p.trim && ret == STRAND_OK; i++)
    {
      Writer *w = &job.writers[i];
      writer_flush (w);
      int rc = gzclose_w (w->gz);
      w->gz = NULL;
      if (w->err == 0 && rc != Z_OK)
        w->err = rc == Z_ERRNO ? errno : -1;
      if (w->err != 0)
        ret = fail_write (task, host, w->path, w->err);
    }

  char why[256] = "";
  if (ret == STRAND_OK)
    ret = write_report (task, host, &p, job.files, job.n, &ts, fragments, why,
                        sizeof why);
  job_clear (&job);
  if (ret != STRAND_OK)
    return ret;
  host->progress (task, 1.0, "done");
  /* The QC verdict, after the figures are safely written. */
  if (why[0])
    return host->fail (task, STRAND_ERROR_INVALID_INPUT, "QC failed: %s", why);
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { .name = "reads", .formats = STRAND_FORMAT_FASTQ,
    .flags = STRAND_PORT_MULTIPLE,
    .description = "one FASTQ file (single-end) or two (R1, R2), plain or "
                   "gzip" },
};

static const StrandPort outputs[] = {
  { .name = "report", .formats = STRAND_FORMAT_JSON, .flags = 0,
    .description = "read counts, quality per position, Q30, N, GC, adapter "
                   "content, lengths, trimming, verdict" },
  { .name = "trimmed", .formats = STRAND_FORMAT_FASTQ,
    .flags = STRAND_PORT_MULTIPLE | STRAND_PORT_OPTIONAL,
    .description = "trimmed reads, gzip FASTQ, one file per input (only "
                   "with trim)" },
};

static const StrandParamSpec params[] = {
  { .name = "min_reads", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN,
    .description = "fail QC with fewer reads (pairs) than this, counted "
                   "after trimming when trimming",
    .default_value = "0", .min = 0 },
  { .name = "min_mean_quality", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail QC when the mean base quality is below this",
    .default_value = "0", .min = 0, .max = 93 },
  { .name = "min_q30_fraction", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail QC when fewer bases than this have quality >= 30",
    .default_value = "0", .min = 0, .max = 1 },
  { .name = "max_n_fraction", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail QC when the fraction of N bases is above this",
    .default_value = "1", .min = 0, .max = 1 },
  { .name = "max_adapter_fraction", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail QC when more reads than this carry an adapter",
    .default_value = "1", .min = 0, .max = 1 },
  { .name = "min_gc_fraction", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail QC when the GC fraction (of A, C, G, T) is below "
                   "this",
    .default_value = "0", .min = 0, .max = 1 },
  { .name = "max_gc_fraction", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail QC when the GC fraction is above this",
    .default_value = "1", .min = 0, .max = 1 },
  { .name = "trim", .type = STRAND_PARAM_BOOL, .flags = 0,
    .description = "write trimmed reads to the 'trimmed' port",
    .default_value = "false" },
  { .name = "trim_quality", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "cut 3' ends below this quality (BWA's algorithm); 0 "
                   "keeps them",
    .default_value = "20", .min = 0, .max = 93 },
  { .name = "min_length", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN,
    .description = "drop reads (both mates) shorter than this after trimming",
    .default_value = "30", .min = 0 },
  { .name = "adapter_min_overlap", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "shortest adapter start at a read's end that is trimmed",
    .default_value = "5", .min = 1, .max = 19 },
  { .name = "compression_level", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "gzip level of the trimmed reads",
    .default_value = "4", .min = 1, .max = 9 },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 64u << 20,
  .output_bytes = 64u << 10,
  .expected_seconds = 10.0,
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
  .name = "fastq-qc",
  .version = "0.1.0",
  .description = "Quality control of single or paired FASTQ reads against "
                 "thresholds, with optional adapter and quality trimming",
  .license = "Apache-2.0",
  .url = NULL,
  .flags = STRAND_STAGE_DETERMINISTIC,
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
