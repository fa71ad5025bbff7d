/* vcf-compare: what one sample's calls hold and, given the truth, how good
 * they are.
 *
 * Always: records, SNVs, indels and other variants, heterozygous and
 * homozygous-alternate genotypes, transitions, transversions and Ti/Tv.
 * When a truth VCF is connected: true positives, false positives and false
 * negatives, precision, recall and F1, for all variants, SNVs and indels.
 *
 * Variants are matched on CHROM, POS, REF and ALT after splitting
 * multi-allelic records into one allele each and normalising simple
 * representations: bases shared at the end of REF and ALT are trimmed, then
 * bases shared at the start, keeping one (so "CTT>CT" at 100 and "CT>C" at
 * 100 match). Only alleles the sample carries count (its GT, where there is
 * one); symbolic and '*' alleles are left out, and with `pass_only` so are
 * records whose FILTER is neither PASS nor '.'. The sample is the column
 * named like the task's sample, else the first.
 *
 * Both files are read with htslib (VCF or BCF, plain or bgzipped), record by
 * record; a malformed record fails the task with the file and the record's
 * position. Optional thresholds on precision, recall and F1 fail the sample
 * (STRAND_ERROR_INVALID_INPUT) after the report is written. */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <htslib/hts.h>
#include <htslib/vcf.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* ---- a set of variant keys (open addressing) ------------------------------ */

typedef struct {
  char **keys;
  uint8_t *found;  /* matched by a call */
  uint8_t *kind;   /* VariantKind */
  size_t cap;      /* a power of two */
  size_t n;
} KeySet;

static uint64_t
hash_key (const char *s)
{
  uint64_t h = UINT64_C (0xcbf29ce484222325);
  for (; *s; s++)
    {
      h ^= (unsigned char) *s;
      h *= UINT64_C (0x100000001b3);
    }
  return h;
}

static size_t
keyset_slot (const KeySet *set, const char *key)
{
  size_t i = (size_t) hash_key (key) & (set->cap - 1);
  while (set->keys[i] != NULL && strcmp (set->keys[i], key) != 0)
    i = (i + 1) & (set->cap - 1);
  return i;
}

static bool
keyset_grow (KeySet *set)
{
  size_t cap = set->cap ? set->cap * 2 : 1024;
  KeySet bigger = { calloc (cap, sizeof (char *)), calloc (cap, 1),
                    calloc (cap, 1), cap, set->n };
  if (!bigger.keys || !bigger.found || !bigger.kind)
    {
      free (bigger.keys);
      free (bigger.found);
      free (bigger.kind);
      return false;
    }
  for (size_t i = 0; i < set->cap; i++)
    if (set->keys[i] != NULL)
      {
        size_t j = keyset_slot (&bigger, set->keys[i]);
        bigger.keys[j] = set->keys[i];
        bigger.found[j] = set->found[i];
        bigger.kind[j] = set->kind[i];
      }
  free (set->keys);
  free (set->found);
  free (set->kind);
  *set = bigger;
  return true;
}

/* Adds `key` (copied); false when out of memory. */
static bool
keyset_add (KeySet *set, const char *key, uint8_t kind)
{
  if ((set->n + 1) * 2 > set->cap && !keyset_grow (set))
    return false;
  size_t i = keyset_slot (set, key);
  if (set->keys[i] != NULL)
    return true;
  if ((set->keys[i] = strdup (key)) == NULL)
    return false;
  set->kind[i] = kind;
  set->n++;
  return true;
}

static void
keyset_clear (KeySet *set)
{
  for (size_t i = 0; i < set->cap; i++)
    free (set->keys[i]);
  free (set->keys);
  free (set->found);
  free (set->kind);
}

/* ---- alleles -------------------------------------------------------------- */

typedef enum { KIND_SNV = 0, KIND_INDEL, KIND_OTHER, N_KINDS } VariantKind;
static const char *const kind_names[N_KINDS] = { "snv", "indel", "other" };

/* Normalises one REF/ALT allele pair into `key` ("CHROM\tPOS\tREF\tALT");
 * returns its kind, or -1 for an allele that is left out. */
static int
allele_key (const char *chrom, int64_t pos, const char *ref, const char *alt,
            kstring_t *key)
{
  if (alt[0] == '<' || strcmp (alt, "*") == 0 || strcmp (alt, ".") == 0
      || strchr (alt, '[') || strchr (alt, ']'))
    return -1;
  size_t rl = strlen (ref), al = strlen (alt);
  size_t start = 0;
  /* Shared suffix, then shared prefix, keeping at least one base each. */
  while (rl > 1 && al > 1
         && (ref[rl - 1] | 0x20) == (alt[al - 1] | 0x20))
    {
      rl--;
      al--;
    }
  while (rl - start > 1 && al - start > 1
         && (ref[start] | 0x20) == (alt[start] | 0x20))
    start++;
  key->l = 0;
  ksprintf (key, "%s\t%" PRId64 "\t", chrom, pos + (int64_t) start);
  for (size_t i = start; i < rl; i++)
    kputc (ref[i] & ~0x20, key);
  kputc ('\t', key);
  for (size_t i = start; i < al; i++)
    kputc (alt[i] & ~0x20, key);
  size_t r = rl - start, a = al - start;
  if (r == 1 && a == 1)
    return KIND_SNV;
  if (r == 1 || a == 1)
    return KIND_INDEL;
  return KIND_OTHER;
}

static bool
is_transition (char r, char a)
{
  r &= ~0x20;
  a &= ~0x20;
  return (r == 'A' && a == 'G') || (r == 'G' && a == 'A')
         || (r == 'C' && a == 'T') || (r == 'T' && a == 'C');
}

typedef struct {
  uint64_t records;
  uint64_t kinds[N_KINDS];
  uint64_t het;
  uint64_t hom_alt;
  uint64_t transitions;
  uint64_t transversions;
  uint64_t filtered;
} CallStats;

/* Reads every record of `path`, calling `each` for every counted allele. */
typedef struct {
  StrandTask *task;
  const StrandHost *host;
  const char *path;
  const char *label;
  const char *sample; /* preferred sample column */
  bool pass_only;
  CallStats *stats;   /* NULL: no counting */
  KeySet *set;        /* truth: add; calls: look up */
  uint64_t tp[N_KINDS];
  uint64_t fp[N_KINDS];
} Reader;

static int
read_vcf (Reader *rd, bool is_truth)
{
  StrandTask *task = rd->task;
  const StrandHost *host = rd->host;
  htsFile *in = hts_open (rd->path, "r");
  if (in == NULL)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT, "%s: cannot open: %s",
                       rd->label, strerror (errno));
  const htsFormat *fmt = hts_get_format (in);
  if (fmt->format != vcf && fmt->format != bcf)
    {
      hts_close (in);
      return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                         "%s: not a VCF or BCF file", rd->label);
    }
  bcf_hdr_t *hdr = bcf_hdr_read (in);
  if (hdr == NULL)
    {
      hts_close (in);
      return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                         "%s: cannot read the VCF header", rd->label);
    }
  int sample = -1;
  if (bcf_hdr_nsamples (hdr) > 0)
    {
      sample = rd->sample ? bcf_hdr_id2int (hdr, BCF_DT_SAMPLE, rd->sample) : -1;
      if (sample < 0)
        sample = 0;
    }
  int pass_id = bcf_hdr_id2int (hdr, BCF_DT_ID, "PASS");

  bcf1_t *rec = bcf_init ();
  kstring_t key = { 0, 0, NULL };
  int32_t *gt = NULL;
  int n_gt = 0;
  int ret = STRAND_OK;
  int r;
  uint64_t n = 0;
  while ((r = bcf_read (in, hdr, rec)) == 0)
    {
      n++;
      if (n % 65536 == 0 && host->cancelled (task))
        {
          ret = STRAND_E_CANCELLED;
          break;
        }
      /* htslib recovers from undeclared contigs and tags (with a warning);
       * anything else it flags, and what it lets through without a REF or
       * a position, is a broken record. */
      int errcode = bcf_unpack (rec, BCF_UN_ALL) != 0
                        ? -1
                        : rec->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF);
      const char *what = NULL;
      if (errcode == 0 && rec->pos < 0)
        what = "POS is not a position";
      else if (errcode == 0
               && (rec->n_allele < 1 || rec->d.allele[0][0] == '\0'
                   || strcmp (rec->d.allele[0], ".") == 0))
        what = "no REF allele (too few columns?)";
      if (what != NULL)
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s: record %" PRIu64 " (%s): %s", rd->label, n,
                            bcf_seqname_safe (hdr, rec), what);
          break;
        }
      if (errcode != 0)
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s: record %" PRIu64 " (%s:%" PRId64 "): "
                            "malformed (htslib error %d)",
                            rd->label, n, bcf_seqname_safe (hdr, rec),
                            (int64_t) rec->pos + 1, rec->errcode);
          break;
        }
      if (rd->stats)
        rd->stats->records++;
      if (rd->pass_only && rec->d.n_flt > 0
          && !(rec->d.n_flt == 1 && rec->d.flt[0] == pass_id))
        {
          if (rd->stats)
            rd->stats->filtered++;
          continue;
        }

      /* The alleles the sample carries; all of them without genotypes. */
      bool carried[64] = { false };
      int n_allele = rec->n_allele < 64 ? rec->n_allele : 64;
      int ploidy = 0, n_alt_copies = 0;
      bool any_gt = false;
      if (sample >= 0)
        {
          int ng = bcf_get_genotypes (hdr, rec, &gt, &n_gt);
          int per = ng > 0 ? ng / bcf_hdr_nsamples (hdr) : 0;
          for (int i = 0; i < per; i++)
            {
              int32_t g = gt[sample * per + i];
              if (g == bcf_int32_vector_end)
                break;
              ploidy++;
              if (bcf_gt_is_missing (g))
                continue;
              any_gt = true;
              int a = bcf_gt_allele (g);
              if (a > 0 && a < n_allele)
                {
                  carried[a] = true;
                  n_alt_copies++;
                }
            }
        }
      if (!any_gt)
        for (int a = 1; a < n_allele; a++)
          carried[a] = true;
      else if (rd->stats && n_alt_copies > 0)
        {
          if (n_alt_copies == ploidy)
            rd->stats->hom_alt++;
          else
            rd->stats->het++;
        }

      const char *chrom = bcf_seqname_safe (hdr, rec);
      for (int a = 1; a < n_allele && ret == STRAND_OK; a++)
        {
          if (!carried[a])
            continue;
          int kind = allele_key (chrom, (int64_t) rec->pos + 1,
                                 rec->d.allele[0], rec->d.allele[a], &key);
          if (kind < 0)
            continue;
          if (rd->stats)
            {
              rd->stats->kinds[kind]++;
              if (kind == KIND_SNV)
                {
                  const char *k = key.s + key.l - 3; /* "R\tA" */
                  if (is_transition (k[0], k[2]))
                    rd->stats->transitions++;
                  else
                    rd->stats->transversions++;
                }
            }
          if (rd->set == NULL)
            continue;
          if (is_truth)
            {
              if (!keyset_add (rd->set, key.s, (uint8_t) kind))
                ret = host->fail (task, STRAND_ERROR_RESOURCE,
                                  "out of memory");
            }
          else
            {
              size_t i = keyset_slot (rd->set, key.s);
              if (rd->set->keys[i] != NULL)
                {
                  if (!rd->set->found[i])
                    {
                      rd->set->found[i] = 1;
                      rd->tp[rd->set->kind[i]]++;
                    }
                }
              else
                rd->fp[kind]++;
            }
        }
      if (ret != STRAND_OK)
        break;
    }
  if (ret == STRAND_OK && r < -1)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "%s: record %" PRIu64 ": malformed or truncated "
                      "(htslib could not read it)",
                      rd->label, n + 1);
  free (gt);
  free (key.s);
  bcf_destroy (rec);
  bcf_hdr_destroy (hdr);
  if (hts_close (in) != 0 && ret == STRAND_OK)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "%s: corrupt or truncated compressed data", rd->label);
  return ret;
}

/* ---- the report ----------------------------------------------------------- */

static double
ratio (uint64_t num, uint64_t den)
{
  return den ? (double) num / (double) den : 0.0;
}

typedef struct {
  uint64_t tp, fp, fn;
  double precision, recall, f1;
} Score;

static Score
score (uint64_t tp, uint64_t fp, uint64_t fn)
{
  Score s = { tp, fp, fn, ratio (tp, tp + fp), ratio (tp, tp + fn), 0 };
  if (s.precision + s.recall > 0)
    s.f1 = 2 * s.precision * s.recall / (s.precision + s.recall);
  return s;
}

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
json_score (FILE *out, const char *name, Score s)
{
  fprintf (out, "\"%s\":{\"tp\":%" PRIu64 ",\"fp\":%" PRIu64 ",\"fn\":%" PRIu64
                ",\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f}",
           name, s.tp, s.fp, s.fn, s.precision, s.recall, s.f1);
}

typedef struct {
  double min_precision;
  double min_recall;
  double min_f1;
  bool pass_only;
} Params;

static int
read_params (StrandTask *task, const StrandHost *host, Params *p)
{
  if (host->param_double (task, "min_precision", &p->min_precision) < 0
      || host->param_double (task, "min_recall", &p->min_recall) < 0
      || host->param_double (task, "min_f1", &p->min_f1) < 0
      || host->param_bool (task, "pass_only", &p->pass_only) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read parameters");
  return STRAND_OK;
}

static int
validate (StrandTask *task, const StrandHost *host)
{
  Params p;
  return read_params (task, host, &p);
}

static int
run (StrandTask *task, const StrandHost *host)
{
  Params p;
  int ret = read_params (task, host, &p);
  if (ret != STRAND_OK)
    return ret;
  if (host->input_count (task, "vcf") != 1)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "input 'vcf' takes one VCF of calls");
  int n_truth = host->input_count (task, "truth");
  if (n_truth > 1)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "input 'truth' takes at most one VCF");
  const char *calls_path = host->input_path (task, "vcf", 0);
  const char *truth_path = n_truth == 1 ? host->input_path (task, "truth", 0)
                                        : NULL;
  if (calls_path == NULL || (n_truth == 1 && truth_path == NULL))
    return host->fail (task, STRAND_ERROR_INTERNAL, "no path for an input");

  const char *sample = host->sample_id (task);
  KeySet truth = { 0 };
  Reader tr = { task, host, truth_path, truth_path ? base_name (truth_path) : NULL,
                sample, p.pass_only, NULL, &truth, { 0 }, { 0 } };
  CallStats truth_stats = { 0 };
  tr.stats = &truth_stats;
  if (truth_path != NULL)
    {
      host->progress (task, 0.0, "reading the truth");
      ret = read_vcf (&tr, true);
    }
  CallStats stats = { 0 };
  Reader cr = { task, host, calls_path, base_name (calls_path), sample,
                p.pass_only, &stats, truth_path ? &truth : NULL, { 0 }, { 0 } };
  if (ret == STRAND_OK)
    {
      host->progress (task, 0.5, "reading the calls");
      ret = read_vcf (&cr, false);
    }
  if (ret != STRAND_OK)
    {
      keyset_clear (&truth);
      return ret;
    }

  /* False negatives: truth alleles no call matched. */
  uint64_t fn[N_KINDS] = { 0 };
  for (size_t i = 0; i < truth.cap; i++)
    if (truth.keys[i] != NULL && !truth.found[i])
      fn[truth.kind[i]]++;
  Score scores[N_KINDS + 1];
  uint64_t all_tp = 0, all_fp = 0, all_fn = 0;
  for (int k = 0; k < N_KINDS; k++)
    {
      scores[k] = score (cr.tp[k], cr.fp[k], fn[k]);
      all_tp += cr.tp[k];
      all_fp += cr.fp[k];
      all_fn += fn[k];
    }
  scores[N_KINDS] = score (all_tp, all_fp, all_fn);
  uint64_t truth_variants = truth.n;
  keyset_clear (&truth);
  Score all = scores[N_KINDS];

  char why[256] = "";
  if (truth_path != NULL)
    {
      if (all.precision < p.min_precision)
        snprintf (why, sizeof why, "precision %.4f is below min_precision %g",
                  all.precision, p.min_precision);
      else if (all.recall < p.min_recall)
        snprintf (why, sizeof why, "recall %.4f is below min_recall %g",
                  all.recall, p.min_recall);
      else if (all.f1 < p.min_f1)
        snprintf (why, sizeof why, "F1 %.4f is below min_f1 %g", all.f1,
                  p.min_f1);
    }
  else if (p.min_precision > 0 || p.min_recall > 0 || p.min_f1 > 0)
    host->log (task, STRAND_LOG_WARNING,
               "no truth VCF connected: thresholds on precision, recall "
               "and F1 are not applied");

  const char *path = NULL;
  if (host->output_path (task, "report", "compare.json", &path) < 0
      || path == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no output path for port 'report'");
  FILE *out = fopen (path, "w");
  if (out == NULL)
    return host->fail (task, errno == ENOSPC ? STRAND_ERROR_STORAGE
                                             : STRAND_ERROR_TRANSIENT,
                       "%s: cannot create: %s", path, strerror (errno));
  locale_t c_locale = newlocale (LC_NUMERIC_MASK, "C", (locale_t) 0);
  locale_t previous = c_locale ? uselocale (c_locale) : (locale_t) 0;
  double ti_tv = ratio (stats.transitions, stats.transversions);
  fputs ("{\"sample\":", out);
  json_string (out, sample);
  fputs (",\"calls\":{\"file\":", out);
  json_string (out, cr.label);
  fprintf (out, ",\"records\":%" PRIu64 ",\"filtered\":%" PRIu64
                ",\"snvs\":%" PRIu64 ",\"indels\":%" PRIu64
                ",\"other\":%" PRIu64 ",\"het\":%" PRIu64
                ",\"hom_alt\":%" PRIu64 ",\"transitions\":%" PRIu64
                ",\"transversions\":%" PRIu64 ",\"ti_tv\":%.6f}",
           stats.records, stats.filtered, stats.kinds[KIND_SNV],
           stats.kinds[KIND_INDEL], stats.kinds[KIND_OTHER], stats.het,
           stats.hom_alt, stats.transitions, stats.transversions, ti_tv);
  if (truth_path != NULL)
    {
      fputs (",\"truth\":{\"file\":", out);
      json_string (out, tr.label);
      fprintf (out, ",\"variants\":%" PRIu64 "},\"comparison\":{",
               truth_variants);
      json_score (out, "all", all);
      for (int k = 0; k < N_KINDS; k++)
        {
          fputc (',', out);
          json_score (out, kind_names[k], scores[k]);
        }
      fputc ('}', out);
    }
  fprintf (out, ",\"verdict\":\"%s\",\"reason\":", why[0] ? "fail" : "pass");
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
  int err = ferror (out) ? EIO : 0;
  if (fclose (out) != 0 && err == 0)
    err = errno;
  if (err)
    return host->fail (task, err == ENOSPC ? STRAND_ERROR_STORAGE
                                           : STRAND_ERROR_TRANSIENT,
                       "%s: write failed: %s", path, strerror (err));

  host->metric (task, "variants", (double) (stats.kinds[KIND_SNV]
                                            + stats.kinds[KIND_INDEL]
                                            + stats.kinds[KIND_OTHER]));
  host->metric (task, "snvs", (double) stats.kinds[KIND_SNV]);
  host->metric (task, "indels", (double) stats.kinds[KIND_INDEL]);
  host->metric (task, "ti_tv", ti_tv);
  if (truth_path != NULL)
    {
      host->metric (task, "precision", all.precision);
      host->metric (task, "recall", all.recall);
      host->metric (task, "f1", all.f1);
      host->metric (task, "snv_precision", scores[KIND_SNV].precision);
      host->metric (task, "snv_recall", scores[KIND_SNV].recall);
    }
  host->progress (task, 1.0, "done");
  if (why[0])
    return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                       "comparison failed: %s", why);
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { .name = "vcf", .formats = STRAND_FORMAT_VCF "," STRAND_FORMAT_BCF,
    .flags = 0, .description = "the sample's calls" },
  { .name = "truth", .formats = STRAND_FORMAT_VCF "," STRAND_FORMAT_BCF,
    .flags = STRAND_PORT_OPTIONAL,
    .description = "the variants the sample is known to carry" },
};

static const StrandPort outputs[] = {
  { .name = "report", .formats = STRAND_FORMAT_JSON, .flags = 0,
    .description = "counts, Ti/Tv and, with a truth, precision, recall, F1" },
};

static const StrandParamSpec params[] = {
  { .name = "min_precision", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail the sample below this precision (with a truth)",
    .default_value = "0", .min = 0, .max = 1 },
  { .name = "min_recall", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail the sample below this recall (with a truth)",
    .default_value = "0", .min = 0, .max = 1 },
  { .name = "min_f1", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail the sample below this F1 (with a truth)",
    .default_value = "0", .min = 0, .max = 1 },
  { .name = "pass_only", .type = STRAND_PARAM_BOOL, .flags = 0,
    .description = "count only records whose FILTER is PASS or '.'",
    .default_value = "true" },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 512u << 20,
  .output_bytes = 4u << 10,
  .expected_seconds = 5.0,
};

static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 1000 },
  { .error_class = STRAND_ERROR_RESOURCE,
    .action = STRAND_ACTION_RETRY_ESCALATE, .max_attempts = 2,
    .escalate_factor = 2.0 },
  { .error_class = STRAND_ERROR_INVALID_INPUT,
    .action = STRAND_ACTION_FAIL_SAMPLE, .max_attempts = 1 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "vcf-compare",
  .version = "0.1.0",
  .description = "Counts a sample's variants (SNVs, indels, het/hom, Ti/Tv) "
                 "and scores them against a truth VCF",
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
