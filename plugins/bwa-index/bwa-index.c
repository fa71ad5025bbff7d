/* bwa-index: a reference genome, once per run, as a directory that aligners
 * and callers use: the FASTA, its .fai and bwa's index.
 *
 * The reference arrives plain or gzip-compressed (as Debian ships lambda
 * phage) and is checked while it is copied, line by line, into the output
 * directory as plain FASTA with '\n' line ends and no blank lines:
 *
 *   reference.fa                     the sequences, as given
 *   reference.fa.fai                 samtools' index (htslib's fai_build)
 *   reference.fa.{amb,ann,bwt,pac,sa} `bwa index`
 *   index.json                       the source file's name, the sequences
 *                                    and their lengths
 *
 * The fixed names let every consumer find the parts without configuration.
 * Every file in the directory is a function of the reference's bytes, so
 * the directory's digest is too, and the host stores and caches it like any
 * other output: a second run with the same reference reuses it. */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <htslib/faidx.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_LINE (16u << 20) /* a FASTA line, newline excluded */
#define READ_CHUNK (256u << 10)
#define REFERENCE_NAME "reference.fa"

static const bool iupac[256] = {
  ['A'] = 1, ['C'] = 1, ['G'] = 1, ['T'] = 1, ['U'] = 1, ['N'] = 1,
  ['R'] = 1, ['Y'] = 1, ['S'] = 1, ['W'] = 1, ['K'] = 1, ['M'] = 1,
  ['B'] = 1, ['D'] = 1, ['H'] = 1, ['V'] = 1,
  ['a'] = 1, ['c'] = 1, ['g'] = 1, ['t'] = 1, ['u'] = 1, ['n'] = 1,
  ['r'] = 1, ['y'] = 1, ['s'] = 1, ['w'] = 1, ['k'] = 1, ['m'] = 1,
  ['b'] = 1, ['d'] = 1, ['h'] = 1, ['v'] = 1,
};

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

typedef struct {
  char *name;
  uint64_t length;
} Sequence;

typedef struct {
  Sequence *items;
  size_t n;
  size_t cap;
} Sequences;

static void
sequences_clear (Sequences *s)
{
  for (size_t i = 0; i < s->n; i++)
    free (s->items[i].name);
  free (s->items);
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The reader: lines from a gzip or plain file, in a growing buffer. */
typedef struct {
  gzFile gz;
  const char *label;
  unsigned char buf[READ_CHUNK];
  size_t pos, len;
  bool eof;
  char *line;
  size_t line_len, line_cap;
  uint64_t line_no;
} Reader;

/* 1: a line, 0: end of file, -1: an error in `detail`. */
static int
read_line (Reader *r, char *detail, size_t size)
{
  r->line_len = 0;
  bool any = false;
  for (;;)
    {
      if (r->pos == r->len)
        {
          if (r->eof)
            break;
          int n = gzread (r->gz, r->buf, sizeof r->buf);
          int errnum = Z_OK;
          const char *msg = gzerror (r->gz, &errnum);
          if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END))
            {
              snprintf (detail, size, "%s:%" PRIu64 ": %s", r->label,
                        r->line_no + 1,
                        errnum == Z_ERRNO ? strerror (errno)
                                          : msg ? msg : "zlib error");
              return -1;
            }
          r->pos = 0;
          r->len = (size_t) n;
          r->eof = n == 0;
          continue;
        }
      any = true;
      unsigned char *start = r->buf + r->pos;
      unsigned char *nl = memchr (start, '\n', r->len - r->pos);
      size_t take = nl ? (size_t) (nl - start) : r->len - r->pos;
      if (r->line_len + take > MAX_LINE)
        {
          snprintf (detail, size, "%s:%" PRIu64 ": line longer than %u bytes",
                    r->label, r->line_no + 1, MAX_LINE);
          return -1;
        }
      if (r->line_len + take + 1 > r->line_cap)
        {
          size_t cap = r->line_cap ? r->line_cap : 4096;
          while (cap < r->line_len + take + 1)
            cap *= 2;
          char *p = realloc (r->line, cap);
          if (p == NULL)
            {
              snprintf (detail, size, "out of memory");
              return -1;
            }
          r->line = p;
          r->line_cap = cap;
        }
      memcpy (r->line + r->line_len, start, take);
      r->line_len += take;
      r->pos += take + (nl != NULL);
      if (nl)
        break;
    }
  if (!any)
    return 0;
  if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
    r->line_len--;
  r->line[r->line_len] = '\0';
  r->line_no++;
  return 1;
}

/* Copies the FASTA at `in_path` to `out_path`, checking it as faidx will
 * read it: a '>' header with a name first, only IUPAC codes in sequences,
 * every line of a sequence as long as its first but the last, no empty
 * sequence, no name twice. */
static int
copy_reference (StrandTask *task, const StrandHost *host, const char *in_path,
                const char *out_path, Sequences *seqs)
{
  Reader *r = calloc (1, sizeof *r);
  if (r == NULL)
    return host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
  r->label = base_name (in_path);
  errno = 0;
  r->gz = gzopen (in_path, "rb");
  if (r->gz == NULL)
    {
      int err = errno ? errno : ENOMEM;
      free (r);
      return host->fail (task, strand_error_class_from_errno (err), "%s: cannot open: %s",
                         in_path, strerror (err));
    }
  FILE *out = fopen (out_path, "w");
  if (out == NULL)
    {
      int err = errno;
      gzclose_r (r->gz);
      free (r);
      return host->fail (task, strand_error_class_from_errno (err), "%s: cannot create: %s",
                         out_path, strerror (err));
    }

  char detail[512];
  int ret = STRAND_OK;
  uint64_t width = 0;       /* first line's length in this sequence */
  uint64_t short_line = 0;  /* a line shorter than width was seen here */
  int rc;
  while ((rc = read_line (r, detail, sizeof detail)) > 0)
    {
      const char *l = r->line;
      size_t n = r->line_len;
      if (n == 0)
        continue; /* blank lines are dropped from the copy */
      if (l[0] == '>')
        {
          if (seqs->n > 0 && seqs->items[seqs->n - 1].length == 0)
            {
              ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                                "%s:%" PRIu64 ": sequence '%s' is empty",
                                r->label, r->line_no - 1,
                                seqs->items[seqs->n - 1].name);
              break;
            }
          size_t k = 1;
          while (k < n && l[k] != ' ' && l[k] != '\t')
            k++;
          if (k == 1)
            {
              ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                                "%s:%" PRIu64 ": header has no sequence name",
                                r->label, r->line_no);
              break;
            }
          if (seqs->n == seqs->cap)
            {
              size_t cap = seqs->cap ? seqs->cap * 2 : 16;
              Sequence *items = realloc (seqs->items, cap * sizeof *items);
              if (items == NULL)
                {
                  ret = host->fail (task, STRAND_ERROR_RESOURCE,
                                    "out of memory");
                  break;
                }
              seqs->items = items;
              seqs->cap = cap;
            }
          Sequence *s = &seqs->items[seqs->n];
          s->name = strndup (l + 1, k - 1);
          s->length = 0;
          if (s->name == NULL)
            {
              ret = host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
              break;
            }
          seqs->n++;
          width = 0;
          short_line = 0;
        }
      else if (seqs->n == 0)
        {
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s:%" PRIu64 ": not FASTA: the first line must "
                            "be a '>' header",
                            r->label, r->line_no);
          break;
        }
      else
        {
          size_t bad = n;
          for (size_t i = 0; i < n && bad == n; i++)
            if (!iupac[(unsigned char) l[i]])
              bad = i;
          if (bad < n)
            {
              unsigned char c = (unsigned char) l[bad];
              if (c >= 0x21 && c <= 0x7e)
                ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                                  "%s:%" PRIu64 ": column %zu: '%c' is not an "
                                  "IUPAC nucleotide code",
                                  r->label, r->line_no, bad + 1, c);
              else
                ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                                  "%s:%" PRIu64 ": column %zu: byte 0x%02x is "
                                  "not an IUPAC nucleotide code",
                                  r->label, r->line_no, bad + 1, c);
              break;
            }
          if (short_line)
            {
              ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                                "%s:%" PRIu64 ": sequence '%s' goes on after "
                                "a shorter line (%" PRIu64 "); lines of a "
                                "sequence must all be as long as its first "
                                "but the last",
                                r->label, r->line_no,
                                seqs->items[seqs->n - 1].name, short_line);
              break;
            }
          if (width == 0)
            width = n;
          else if (n > width)
            {
              ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                                "%s:%" PRIu64 ": line of %zu bases, longer "
                                "than the %" PRIu64 " of the sequence's first "
                                "line",
                                r->label, r->line_no, n, width);
              break;
            }
          if (n < width)
            short_line = r->line_no;
          seqs->items[seqs->n - 1].length += n;
        }
      if (fwrite (l, 1, n, out) != n || fputc ('\n', out) == EOF)
        {
          int err = errno;
          ret = host->fail (task, strand_error_class_from_errno (err), "%s: write failed: %s",
                            out_path, strerror (err));
          break;
        }
      if (r->line_no % (1u << 20) == 0 && host->cancelled (task))
        {
          ret = STRAND_E_CANCELLED;
          break;
        }
    }
  if (ret == STRAND_OK && rc < 0)
    ret = host->fail (task,
                      strstr (detail, "out of memory") ? STRAND_ERROR_RESOURCE
                                                       : STRAND_ERROR_INVALID_INPUT,
                      "%s", detail);
  if (ret == STRAND_OK && seqs->n == 0)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "%s: no sequences: not a FASTA reference", r->label);
  if (ret == STRAND_OK && seqs->items[seqs->n - 1].length == 0)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "%s:%" PRIu64 ": sequence '%s' is empty", r->label,
                      r->line_no, seqs->items[seqs->n - 1].name);
  if (ret == STRAND_OK)
    {
      /* Names must be unique: sort a copy of the pointers. */
      char **names = malloc (seqs->n * sizeof *names);
      if (names == NULL)
        ret = host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
      for (size_t i = 0; names && i < seqs->n; i++)
        names[i] = seqs->items[i].name;
      if (names)
        qsort (names, seqs->n, sizeof *names, compare_names);
      for (size_t i = 1; names && i < seqs->n && ret == STRAND_OK; i++)
        if (strcmp (names[i - 1], names[i]) == 0)
          ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                            "%s: sequence name '%s' appears twice", r->label,
                            names[i]);
      free (names);
    }

  gzclose_r (r->gz);
  free (r->line);
  free (r);
  if (fclose (out) != 0 && ret == STRAND_OK)
    {
      int err = errno;
      ret = host->fail (task, strand_error_class_from_errno (err), "%s: write failed: %s",
                        out_path, strerror (err));
    }
  return ret;
}

static void
json_string (FILE *out, const char *s)
{
  fputc ('"', out);
  for (; *s; s++)
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

static int
write_manifest (StrandTask *task, const StrandHost *host, const char *path,
                const char *source, const Sequences *seqs)
{
  FILE *out = fopen (path, "w");
  if (out == NULL)
    {
      int err = errno;
      return host->fail (task, strand_error_class_from_errno (err), "%s: cannot create: %s",
                         path, strerror (err));
    }
  uint64_t bases = 0;
  fputs ("{\"source\":", out);
  json_string (out, source);
  fputs (",\"fasta\":\"" REFERENCE_NAME "\",\"sequences\":[", out);
  for (size_t i = 0; i < seqs->n; i++)
    {
      fputs (i ? ",{\"name\":" : "{\"name\":", out);
      json_string (out, seqs->items[i].name);
      fprintf (out, ",\"length\":%" PRIu64 "}", seqs->items[i].length);
      bases += seqs->items[i].length;
    }
  fprintf (out, "],\"bases\":%" PRIu64 "}\n", bases);
  int err = ferror (out) ? EIO : 0;
  if (fclose (out) != 0 && err == 0)
    err = errno;
  if (err)
    return host->fail (task, strand_error_class_from_errno (err), "%s: write failed: %s",
                       path, strerror (err));
  host->metric (task, "sequences", (double) seqs->n);
  host->metric (task, "bases", (double) bases);
  return STRAND_OK;
}

/* "lambda_virus.fa.gz" -> "lambda_virus": the directory's name. */
static void
index_name (const char *input, char *out, size_t size)
{
  snprintf (out, size, "%s", base_name (input));
  static const char *const suffixes[] = { ".gz", ".bgz", ".fa", ".fasta",
                                          ".fna", ".fas", NULL };
  for (const char *const *s = suffixes; *s; s++)
    {
      size_t n = strlen (out), k = strlen (*s);
      if (n > k && strcmp (out + n - k, *s) == 0)
        out[n - k] = '\0';
    }
  if (out[0] == '\0' || out[0] == '.')
    snprintf (out, size, "reference");
}

static int
run (StrandTask *task, const StrandHost *host)
{
  if (host->input_count (task, "reference") != 1)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "input 'reference' takes exactly one FASTA file");
  const char *in_path = host->input_path (task, "reference", 0);
  if (in_path == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no path for input 'reference'");

  char name[256];
  index_name (in_path, name, sizeof name);
  const char *dir = NULL;
  if (host->output_path (task, "index", name, &dir) < 0 || dir == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no output path for port 'index'");
  if (mkdir (dir, 0755) != 0)
    {
      int err = errno;
      return host->fail (task, strand_error_class_from_errno (err), "%s: cannot create: %s",
                         dir, strerror (err));
    }

  size_t len = strlen (dir) + 64;
  char *fasta = malloc (len), *manifest = malloc (len);
  if (fasta == NULL || manifest == NULL)
    {
      free (fasta);
      free (manifest);
      return host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
    }
  snprintf (fasta, len, "%s/" REFERENCE_NAME, dir);
  snprintf (manifest, len, "%s/index.json", dir);

  Sequences seqs = { 0 };
  host->progress (task, 0.0, "copying the reference");
  int ret = copy_reference (task, host, in_path, fasta, &seqs);
  if (ret == STRAND_OK && fai_build (fasta) != 0)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "%s: cannot build the FASTA index (.fai)",
                      base_name (in_path));
  if (ret == STRAND_OK)
    ret = write_manifest (task, host, manifest, base_name (in_path), &seqs);
  if (ret == STRAND_OK)
    {
      host->progress (task, 0.1, "bwa index");
      const char *argv[] = { "bwa", "index", fasta, NULL };
      const char *version[] = { "bwa", NULL };
      StrandCommand cmd = { argv, version };
      int status = 0;
      int rc = host->run_tool (task, &cmd, 1, NULL, &status);
      if (rc == STRAND_E_CANCELLED || host->cancelled (task))
        ret = STRAND_E_CANCELLED;
      else if (rc < 0)
        ret = host->fail (task,
                          status == 128 + 9 ? STRAND_ERROR_RESOURCE
                                            : STRAND_ERROR_INTERNAL,
                          "bwa index failed (exit status %d); see the task "
                          "log",
                          status);
    }
  sequences_clear (&seqs);
  free (fasta);
  free (manifest);
  if (ret == STRAND_OK)
    host->progress (task, 1.0, "done");
  return ret;
}

static const StrandPort inputs[] = {
  { .name = "reference", .formats = STRAND_FORMAT_FASTA, .flags = 0,
    .description = "the reference genome, FASTA, plain or gzip" },
};

static const StrandPort outputs[] = {
  { .name = "index", .formats = STRAND_FORMAT_BWA_INDEX, .flags = 0,
    .description = "a directory: reference.fa, its .fai, bwa's index files "
                   "and index.json" },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 6ull << 30, /* bwtsw needs ~5.4 bytes per base: human */
  .output_bytes = 8ull << 30,
  .expected_seconds = 60.0,
};

static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 1000 },
  { .error_class = STRAND_ERROR_RESOURCE,
    .action = STRAND_ACTION_RETRY_ESCALATE, .max_attempts = 2,
    .escalate_factor = 2.0 },
  { .error_class = STRAND_ERROR_INVALID_INPUT, .action = STRAND_ACTION_HALT,
    .max_attempts = 1 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "bwa-index",
  .version = "0.1.0",
  .description = "Indexes a reference genome for bwa and samtools, once per "
                 "run, as a cached directory",
  .license = "Apache-2.0",
  .url = NULL,
  .flags = STRAND_STAGE_DETERMINISTIC | STRAND_STAGE_PER_RUN,
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .params = NULL,
  .n_params = 0,
  .policy = policy,
  .n_policy = STRAND_N_ELEMENTS (policy),
  .resources = &resources,
  .run = run,
};

STRAND_STAGE_DEFINE (descriptor);
