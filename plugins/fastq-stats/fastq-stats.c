/* fastq-stats: quality-control figures of one or more FASTQ files.
 *
 * Reads plain or gzip-compressed FASTQ (zlib's gzread handles both) as a
 * stream, one record at a time, with a strict four-line parser: any
 * malformed, truncated or corrupt input fails the task with the file, the
 * line number and what is wrong. Writes the figures as one JSON object and
 * records the key ones as metrics; thresholds turn the figures into a QC
 * verdict (the JSON is written either way). */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define READ_CHUNK (64u << 10)  /* bytes per gzread */
#define MAX_LINE (1u << 20)     /* longest line accepted, newline excluded */
#define CHECK_EVERY (1u << 16)  /* records between cancel checks */
#define PHRED_OFFSET 33
#define MAX_PHRED 93            /* '~' - '!' */

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} Line;

typedef struct {
  gzFile gz;
  const char *path;
  unsigned long long line_no; /* of the line last returned */
  unsigned char buf[READ_CHUNK];
  size_t pos;
  size_t len;
  bool eof;
} Reader;

typedef struct {
  uint64_t reads;
  uint64_t bases;
  uint64_t quality_sum;
  uint64_t n_bases;
  uint64_t gc_bases;
  uint64_t min_length;
  uint64_t max_length;
  uint64_t histogram[MAX_PHRED + 1];
} Stats;

/* Why read_line stopped short of a line. */
typedef enum {
  LINE_OK = 0,
  LINE_EOF,
  LINE_TOO_LONG,
  LINE_NO_MEMORY,
  LINE_CORRUPT, /* gzip data damaged or cut short */
  LINE_IO,      /* the operating system failed to read */
} LineStatus;

/* IUPAC nucleotide codes, either case. */
static bool
is_iupac (unsigned char c)
{
  switch (c | 0x20)
    {
    case 'a': case 'c': case 'g': case 't': case 'u': case 'n':
    case 'r': case 'y': case 's': case 'w': case 'k': case 'm':
    case 'b': case 'd': case 'h': case 'v':
      return true;
    default:
      return false;
    }
}

static LineStatus
reader_fill (Reader *r, const char **detail)
{
  int n = gzread (r->gz, r->buf, sizeof r->buf);
  int errnum = Z_OK;
  const char *msg = gzerror (r->gz, &errnum);
  if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END))
    {
      *detail = msg != NULL ? msg : "unknown zlib error";
      if (errnum == Z_ERRNO)
        {
          *detail = strerror (errno);
          return LINE_IO;
        }
      if (errnum == Z_MEM_ERROR)
        return LINE_NO_MEMORY;
      return LINE_CORRUPT;
    }
  r->pos = 0;
  r->len = (size_t) n;
  if (n == 0)
    r->eof = true;
  return LINE_OK;
}

static bool
line_append (Line *line, const unsigned char *p, size_t n)
{
  if (line->len + n + 1 > line->cap)
    {
      size_t cap = line->cap ? line->cap : 256;
      while (cap < line->len + n + 1)
        cap *= 2;
      char *data = realloc (line->data, cap);
      if (data == NULL)
        return false;
      line->data = data;
      line->cap = cap;
    }
  memcpy (line->data + line->len, p, n);
  line->len += n;
  line->data[line->len] = '\0';
  return true;
}

/* Reads the next line into `line` without its "\n" (or "\r\n"). The last
 * line of a file may lack its newline. */
static LineStatus
read_line (Reader *r, Line *line, const char **detail)
{
  line->len = 0;
  if (line->data != NULL)
    line->data[0] = '\0';
  bool any = false;
  for (;;)
    {
      if (r->pos == r->len)
        {
          if (r->eof)
            break;
          LineStatus st = reader_fill (r, detail);
          if (st != LINE_OK)
            return st;
          if (r->eof)
            break;
        }
      any = true;
      const unsigned char *start = r->buf + r->pos;
      size_t avail = r->len - r->pos;
      const unsigned char *nl = memchr (start, '\n', avail);
      size_t take = nl != NULL ? (size_t) (nl - start) : avail;
      if (line->len + take > MAX_LINE + 1) /* +1: a '\r' still to strip */
        return LINE_TOO_LONG;
      if (!line_append (line, start, take))
        return LINE_NO_MEMORY;
      r->pos += take;
      if (nl != NULL)
        {
          r->pos++;
          break;
        }
    }
  if (!any)
    return LINE_EOF;
  if (line->len > 0 && line->data[line->len - 1] == '\r')
    line->data[--line->len] = '\0';
  if (line->len > MAX_LINE)
    return LINE_TOO_LONG;
  r->line_no++;
  if (line->data == NULL && !line_append (line, (const unsigned char *) "", 0))
    return LINE_NO_MEMORY;
  return LINE_OK;
}

/* Turns a read_line failure into the task's failure. `what` names the line
 * the parser wanted, for LINE_EOF inside a record. */
static int
fail_line (StrandTask *task, const StrandHost *host, const Reader *r,
           LineStatus st, const char *detail, const char *what)
{
  unsigned long long at = r->line_no + 1;
  switch (st)
    {
    case LINE_EOF:
      return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                         "%s:%llu: truncated record: file ends where the %s "
                         "line was expected",
                         r->path, at, what);
    case LINE_TOO_LONG:
      return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                         "%s:%llu: line longer than %u bytes", r->path, at,
                         MAX_LINE);
    case LINE_NO_MEMORY:
      return host->fail (task, STRAND_ERROR_RESOURCE,
                         "%s:%llu: out of memory", r->path, at);
    case LINE_CORRUPT:
      return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                         "%s:%llu: corrupt or truncated compressed data: %s",
                         r->path, at, detail);
    case LINE_IO:
    default:
      return host->fail (task, STRAND_ERROR_TRANSIENT,
                         "%s:%llu: read failed: %s", r->path, at, detail);
    }
}

typedef struct {
  Line header;
  Line seq;
  Line plus;
  Line qual;
} Record;

static void
record_clear (Record *rec)
{
  free (rec->header.data);
  free (rec->seq.data);
  free (rec->plus.data);
  free (rec->qual.data);
}

/* Reads and checks every record of one file, adding to `stats`. */
static int
scan_file (StrandTask *task, const StrandHost *host, const char *path,
           size_t file_index, size_t n_files, Stats *stats, Record *rec)
{
  Reader *r = calloc (1, sizeof *r);
  if (r == NULL)
    return host->fail (task, STRAND_ERROR_RESOURCE, "%s: out of memory", path);
  r->path = path;

  errno = 0;
  r->gz = gzopen (path, "rb");
  if (r->gz == NULL)
    {
      int err = errno;
      free (r);
      if (err == ENOMEM)
        return host->fail (task, STRAND_ERROR_RESOURCE,
                           "%s: cannot open: out of memory", path);
      return host->fail (task, STRAND_ERROR_TRANSIENT, "%s: cannot open: %s",
                         path, err ? strerror (err) : "zlib error");
    }
  gzbuffer (r->gz, 128u << 10);

  struct stat st;
  double file_size = stat (path, &st) == 0 && st.st_size > 0
                         ? (double) st.st_size
                         : 0.0;

  int ret = STRAND_OK;
  const char *detail = NULL;
  uint64_t records = 0;
  for (;;)
    {
      if (records > 0 && records % CHECK_EVERY == 0)
        {
          if (host->cancelled (task))
            {
              host->log (task, STRAND_LOG_INFO, "%s: cancelled at line %llu",
                         path, r->line_no);
              ret = STRAND_E_CANCELLED;
              break;
            }
          double within = file_size > 0.0
                              ? (double) gzoffset (r->gz) / file_size
                              : 0.0;
          if (within > 1.0)
            within = 1.0;
          host->progress (task, ((double) file_index + within)
                                    / (double) n_files,
                          "reading");
        }

      /* Line 1: "@name ...". */
      LineStatus ls = read_line (r, &rec->header, &detail);
      if (ls == LINE_EOF)
        break; /* a clean end between records */
      if (ls != LINE_OK)
        {
          ret = fail_line (task, host, r, ls, detail, "header");
          break;
        }
      if (rec->header.data[0] != '@')
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s:%llu: record header must start with '@'%s",
                            path, r->line_no,
                            rec->header.len == 0 ? " (empty line)" : "");
          break;
        }
      if (rec->header.len < 2 || rec->header.data[1] == ' '
          || rec->header.data[1] == '\t')
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s:%llu: record header has no read name",
                            path, r->line_no);
          break;
        }

      /* Line 2: the sequence. */
      ls = read_line (r, &rec->seq, &detail);
      if (ls != LINE_OK)
        {
          ret = fail_line (task, host, r, ls, detail, "sequence");
          break;
        }
      const unsigned char *s = (const unsigned char *) rec->seq.data;
      size_t len = rec->seq.len;
      uint64_t n = 0, gc = 0;
      size_t bad = len;
      for (size_t i = 0; i < len; i++)
        {
          unsigned char c = s[i] | 0x20;
          if (c == 'n')
            n++;
          else if (c == 'g' || c == 'c')
            gc++;
          else if (!is_iupac (s[i]))
            {
              bad = i;
              break;
            }
        }
      if (bad < len)
        {
          unsigned char c = s[bad];
          if (c >= 0x21 && c <= 0x7e)
            ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                              "%s:%llu: column %zu: '%c' is not an IUPAC "
                              "nucleotide code",
                              path, r->line_no, bad + 1, c);
          else
            ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                              "%s:%llu: column %zu: byte 0x%02x is not an "
                              "IUPAC nucleotide code",
                              path, r->line_no, bad + 1, c);
          break;
        }

      /* Line 3: "+", optionally repeating the name. */
      ls = read_line (r, &rec->plus, &detail);
      if (ls != LINE_OK)
        {
          ret = fail_line (task, host, r, ls, detail, "'+' separator");
          break;
        }
      if (rec->plus.data[0] != '+')
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s:%llu: expected the '+' separator line",
                            path, r->line_no);
          break;
        }
      if (rec->plus.len > 1
          && (rec->plus.len != rec->header.len
              || memcmp (rec->plus.data + 1, rec->header.data + 1,
                         rec->plus.len - 1) != 0))
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s:%llu: '+' line does not repeat the header "
                            "of line %llu",
                            path, r->line_no, r->line_no - 2);
          break;
        }

      /* Line 4: one quality character per base. */
      ls = read_line (r, &rec->qual, &detail);
      if (ls != LINE_OK)
        {
          ret = fail_line (task, host, r, ls, detail, "quality");
          break;
        }
      if (rec->qual.len != len)
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s:%llu: quality has %zu characters but the "
                            "sequence has %zu",
                            path, r->line_no, rec->qual.len, len);
          break;
        }
      const unsigned char *q = (const unsigned char *) rec->qual.data;
      uint64_t qsum = 0;
      bad = len;
      for (size_t i = 0; i < len; i++)
        {
          unsigned v = (unsigned) q[i] - PHRED_OFFSET;
          if (v > MAX_PHRED)
            {
              bad = i;
              break;
            }
          qsum += v;
          stats->histogram[v]++;
        }
      if (bad < len)
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s:%llu: column %zu: quality byte 0x%02x is "
                            "outside '!'..'~'",
                            path, r->line_no, bad + 1, q[bad]);
          break;
        }

      if (stats->reads == 0 || len < stats->min_length)
        stats->min_length = len;
      if (len > stats->max_length)
        stats->max_length = len;
      stats->reads++;
      stats->bases += len;
      stats->quality_sum += qsum;
      stats->n_bases += n;
      stats->gc_bases += gc;
      records++;
    }

  gzclose_r (r->gz);
  free (r);
  return ret;
}

static double
ratio (uint64_t num, uint64_t den)
{
  return den ? (double) num / (double) den : 0.0;
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

/* Writes the figures as one JSON object, numbers in the C locale whatever
 * the process's locale is. */
static int
write_json (StrandTask *task, const StrandHost *host, const Stats *stats)
{
  const char *path = NULL;
  if (host->output_path (task, "stats", "stats.json", &path) < 0
      || path == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no output path for port 'stats'");
  FILE *out = fopen (path, "w");
  if (out == NULL)
    return fail_write (task, host, path, errno);

  locale_t c_locale = newlocale (LC_NUMERIC_MASK, "C", (locale_t) 0);
  locale_t previous = c_locale ? uselocale (c_locale) : (locale_t) 0;

  int last = -1; /* the histogram stops at the highest quality seen */
  for (int i = 0; i <= MAX_PHRED; i++)
    if (stats->histogram[i])
      last = i;

  fprintf (out,
           "{\"reads\":%" PRIu64 ",\"bases\":%" PRIu64
           ",\"mean_quality\":%.6f,\"n_fraction\":%.6f,\"gc_fraction\":%.6f"
           ",\"min_length\":%" PRIu64 ",\"max_length\":%" PRIu64
           ",\"quality_histogram\":[",
           stats->reads, stats->bases,
           ratio (stats->quality_sum, stats->bases),
           ratio (stats->n_bases, stats->bases),
           ratio (stats->gc_bases, stats->bases), stats->min_length,
           stats->max_length);
  for (int i = 0; i <= last; i++)
    fprintf (out, "%s%" PRIu64, i ? "," : "", stats->histogram[i]);
  fputs ("]}\n", out);

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
  return STRAND_OK;
}

static int
run (StrandTask *task, const StrandHost *host)
{
  int64_t min_reads;
  double min_mean_quality, max_n_fraction;
  if (host->param_int (task, "min_reads", &min_reads) < 0
      || host->param_double (task, "min_mean_quality", &min_mean_quality) < 0
      || host->param_double (task, "max_n_fraction", &max_n_fraction) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "cannot read parameters min_reads, min_mean_quality, "
                       "max_n_fraction");

  int count = host->input_count (task, "reads");
  if (count < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "cannot list the inputs of port 'reads'");
  size_t n_files = (size_t) count;

  Stats *stats = calloc (1, sizeof *stats);
  if (stats == NULL)
    return host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
  Record rec = { 0 };
  int ret = STRAND_OK;
  for (size_t i = 0; i < n_files && ret == STRAND_OK; i++)
    {
      const char *path = host->input_path (task, "reads", i);
      if (path == NULL)
        ret = host->fail (task, STRAND_ERROR_INTERNAL,
                          "no path for input %zu of port 'reads'", i);
      else
        ret = scan_file (task, host, path, i, n_files, stats, &rec);
    }
  record_clear (&rec);
  if (ret == STRAND_OK)
    ret = write_json (task, host, stats);
  if (ret != STRAND_OK)
    {
      free (stats);
      return ret;
    }

  double mean_quality = ratio (stats->quality_sum, stats->bases);
  double n_fraction = ratio (stats->n_bases, stats->bases);
  uint64_t reads = stats->reads;
  host->metric (task, "reads", (double) reads);
  host->metric (task, "bases", (double) stats->bases);
  host->metric (task, "mean_quality", mean_quality);
  host->metric (task, "n_fraction", n_fraction);
  host->metric (task, "gc_fraction", ratio (stats->gc_bases, stats->bases));
  free (stats);
  host->progress (task, 1.0, "done");

  /* The QC verdict, after the figures are safely written. */
  if (min_reads > 0 && reads < (uint64_t) min_reads)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                       "QC failed: %" PRIu64 " reads, fewer than min_reads "
                       "%" PRId64,
                       reads, min_reads);
  if (mean_quality < min_mean_quality)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                       "QC failed: mean quality %.2f is below "
                       "min_mean_quality %g",
                       mean_quality, min_mean_quality);
  if (n_fraction > max_n_fraction)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                       "QC failed: N fraction %.6f is above max_n_fraction %g",
                       n_fraction, max_n_fraction);
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { .name = "reads", .formats = STRAND_FORMAT_FASTQ,
    .flags = STRAND_PORT_MULTIPLE,
    .description = "FASTQ files, plain or gzip-compressed; all are pooled" },
};

static const StrandPort outputs[] = {
  { .name = "stats", .formats = STRAND_FORMAT_JSON, .flags = 0,
    .description = "read count, bases, mean quality, N and GC fractions, "
                   "lengths, quality histogram" },
};

static const StrandParamSpec params[] = {
  { .name = "min_reads", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN,
    .description = "fail QC with fewer reads than this",
    .default_value = "0", .min = 0 },
  { .name = "min_mean_quality", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail QC when the mean base quality is below this",
    .default_value = "0", .min = 0, .max = 93 },
  { .name = "max_n_fraction", .type = STRAND_PARAM_DOUBLE,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "fail QC when the fraction of N bases is above this",
    .default_value = "1", .min = 0, .max = 1 },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 32u << 20,
  .output_bytes = 4u << 10,
  .expected_seconds = 5.0,
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
  .name = "fastq-stats",
  .version = "0.1.0",
  .description = "Checks FASTQ files strictly and reports quality-control "
                 "figures as JSON",
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
};

STRAND_STAGE_DEFINE (descriptor);
