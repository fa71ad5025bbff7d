/* align: one sample's reads onto the reference with `bwa mem`, as a
 * coordinate-sorted BAM and its index.
 *
 *   bwa mem -t CORES -K BATCH -R '@RG\tID:..\tSM:SAMPLE\t...' REF R1 [R2]
 *     | samtools sort --no-PG -@ CORES -m MEM -T SCRATCH -o sorted.bam -
 *   samtools reheader --no-PG header.sam sorted.bam > SAMPLE.bam
 *   samtools index SAMPLE.bam SAMPLE.bam.bai
 *
 * every command through the host's run_tool (argv arrays, no shell), so each
 * tool's path, version and digest are recorded. The output does not depend
 * on the number of cores: bwa reads a fixed number of bases per batch (-K),
 * samtools sort breaks ties the same way whatever its threads, and the @PG
 * line bwa writes (its command line names the thread count and the task's
 * private paths) is rewritten to a stable one naming only the options and
 * file names. The BAM and its index are two outputs, on ports `bam` and
 * `index`: a caller links them side by side.
 *
 * The reads are checked with the strict FASTQ reader (bwa stops quietly at
 * a record cut short and at the end of the shorter mate file, which would
 * lose reads without a word), in a thread of the stage while bwa reads the
 * same files: the check no longer adds its time before bwa starts. A bad
 * record stops the tools (the host's stop_tools, ABI 1.2) and fails the
 * task as invalid input naming the file, whether bwa had finished or not.
 * A host without stop_tools gets the check before bwa starts.
 *
 * The read group comes from the sample: ID from the metadata `read_group`
 * (default: the sample id), SM the sample id, PL `platform` (default
 * ILLUMINA), LB `library` (default: the sample id), PU `platform_unit`, CN
 * `center`. A value with a
 * tab, newline, backslash or another control character is refused before
 * anything runs: it would break the SAM header. */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <htslib/hts.h>
#include <htslib/sam.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastq-reader.h"

#define REFERENCE_NAME "reference.fa"
#define CHECK_EVERY (1u << 16)
#define MAX_FIELD 256
#define BAI_MAX_LENGTH (1ll << 29) /* longest reference a .bai can index */

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

static char *
join (const char *dir, const char *name)
{
  size_t n = strlen (dir) + strlen (name) + 2;
  char *p = malloc (n);
  if (p != NULL)
    snprintf (p, n, "%s/%s", dir, name);
  return p;
}

/* ---- the read group ------------------------------------------------------- */

typedef struct {
  const char *tag;
  const char *meta;   /* sample metadata key, or NULL for the sample id */
  bool default_id;    /* unset: the sample id */
  const char *fixed;  /* unset: this value */
} RgField;

static const RgField rg_fields[] = {
  { "ID", "read_group", true, NULL },
  { "SM", NULL, true, NULL },
  { "PL", "platform", false, "ILLUMINA" },
  { "LB", "library", true, NULL },
  { "PU", "platform_unit", false, NULL },
  { "CN", "center", false, NULL },
};

/* A value may go into a SAM header field and through bwa's -R unescaping. */
static const char *
field_problem (const char *v)
{
  if (v[0] == '\0')
    return "is empty";
  if (strlen (v) > MAX_FIELD)
    return "is longer than 256 bytes";
  for (const unsigned char *p = (const unsigned char *) v; *p; p++)
    {
      if (*p == '\t')
        return "contains a tab";
      if (*p == '\n' || *p == '\r')
        return "contains a line break";
      if (*p == '\\')
        return "contains a backslash";
      if (*p < 0x20 || *p == 0x7f)
        return "contains a control character";
    }
  return NULL;
}

/* Builds bwa's -R argument ("@RG\tID:S1\tSM:S1..." with literal "\t"). */
static int
read_group (StrandTask *task, const StrandHost *host, char *out, size_t size)
{
  const char *sample = host->sample_id (task);
  if (sample == NULL)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "align runs per sample, but the task has no sample");
  const char *why = field_problem (sample);
  if (why != NULL)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "sample id %s; it cannot name a read group", why);
  size_t len = (size_t) snprintf (out, size, "@RG");
  for (size_t i = 0; i < sizeof rg_fields / sizeof rg_fields[0]; i++)
    {
      const RgField *f = &rg_fields[i];
      const char *v = f->meta ? host->sample_meta (task, f->meta) : NULL;
      if (v != NULL && (why = field_problem (v)) != NULL)
        return host->fail (task, STRAND_ERROR_CONFIG,
                           "sample '%s': metadata '%s' %s; it cannot go into "
                           "the read group",
                           sample, f->meta, why);
      if (v == NULL)
        v = f->default_id ? sample : f->fixed;
      if (v == NULL)
        continue;
      len += (size_t) snprintf (out + len, len < size ? size - len : 0,
                                "\\t%s:%s", f->tag, v);
    }
  if (len >= size)
    return host->fail (task, STRAND_ERROR_CONFIG, "read group too long");
  return STRAND_OK;
}

/* ---- inputs --------------------------------------------------------------- */

/* Orders a pair of inputs as R1, R2 by name when the names differ only in
 * one character, '1' in one and '2' in the other; otherwise as connected. */
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

static bool
mates_agree (const FastqRecord *a, const FastqRecord *b)
{
  size_t la = a->name_len, lb = b->name_len;
  if (la >= 2 && a->name[la - 2] == '/')
    la -= 2;
  if (lb >= 2 && b->name[lb - 2] == '/')
    lb -= 2;
  return la == lb && memcmp (a->name, b->name, la) == 0;
}

/* Reads every record (of both mates, in step). Runs in a thread of its own
 * while bwa reads the same files, so it calls only what the SDK allows from
 * any thread (cancelled, stop_tools) and keeps its verdict for run(). */
typedef struct {
  StrandTask *task;
  const StrandHost *host;
  const char *paths[2];
  size_t n;
  bool stop_tools;            /* stop the tools at the first bad record */
  uint64_t fragments;         /* read pairs (or reads) seen */
  int status;                 /* STRAND_OK, STRAND_E_FAILED, STRAND_E_CANCELLED */
  StrandErrorClass error_class;
  char message[1024];
} ReadCheck;

static void STRAND_PRINTF (3, 4)
check_failed (ReadCheck *c, StrandErrorClass cls, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  vsnprintf (c->message, sizeof c->message, format, ap);
  va_end (ap);
  c->error_class = cls;
  c->status = STRAND_E_FAILED;
}

static void *
check_reads (void *data)
{
  ReadCheck *c = data;
  FastqReader *r[2] = { NULL, NULL };
  c->status = STRAND_OK;
  for (size_t i = 0; i < c->n && c->status == STRAND_OK; i++)
    if ((r[i] = fastq_reader_open (c->paths[i], base_name (c->paths[i]))) == NULL)
      {
        int err = errno;
        check_failed (c, strand_error_class_from_errno (err), "%s: cannot open: %s",
                      c->paths[i], strerror (err));
      }
  FastqRecord rec[2];
  for (uint64_t k = 0; c->status == STRAND_OK; k++)
    {
      if (k % CHECK_EVERY == 0 && k > 0 && c->host->cancelled (c->task))
        {
          c->status = STRAND_E_CANCELLED;
          break;
        }
      FastqStatus st[2] = { FASTQ_END, FASTQ_END };
      for (size_t i = 0; i < c->n; i++)
        st[i] = fastq_reader_next (r[i], &rec[i]);
      for (size_t i = 0; i < c->n && c->status == STRAND_OK; i++)
        if (st[i] != FASTQ_OK && st[i] != FASTQ_END)
          check_failed (c,
                        st[i] == FASTQ_IO ? STRAND_ERROR_TRANSIENT
                        : st[i] == FASTQ_NO_MEMORY ? STRAND_ERROR_RESOURCE
                                                   : STRAND_ERROR_INVALID_INPUT,
                        "%s", fastq_reader_error (r[i]));
      if (c->status != STRAND_OK
          || (st[0] == FASTQ_END && (c->n == 1 || st[1] == FASTQ_END)))
        break;
      if (c->n == 2 && st[0] != st[1])
        {
          size_t shorter = st[0] == FASTQ_END ? 0 : 1;
          check_failed (c, STRAND_ERROR_INVALID_INPUT,
                        "%s ends after %" PRIu64 " reads but %s has more: "
                        "the mates are out of step",
                        base_name (c->paths[shorter]), k,
                        base_name (c->paths[1 - shorter]));
          break;
        }
      if (c->n == 2 && !mates_agree (&rec[0], &rec[1]))
        {
          check_failed (c, STRAND_ERROR_INVALID_INPUT,
                        "%s:%" PRIu64 ": read '%.*s' is not the mate of "
                        "'%.*s'",
                        base_name (c->paths[1]), fastq_reader_line (r[1]) - 3,
                        (int) rec[1].name_len, rec[1].name,
                        (int) rec[0].name_len, rec[0].name);
          break;
        }
      c->fragments++;
    }
  for (size_t i = 0; i < c->n; i++)
    fastq_reader_close (r[i]);
  if (c->status != STRAND_OK && c->stop_tools)
    c->host->stop_tools (c->task);
  return NULL;
}

/* The check's verdict, reported from run()'s thread: a bad read is the
 * cause, whatever became of the tools it stopped. */
static int
check_verdict (ReadCheck *c, int n_reads)
{
  if (c->status == STRAND_E_FAILED)
    return c->host->fail (c->task, c->error_class, "%s", c->message);
  if (c->status == STRAND_OK)
    c->host->metric (c->task, "reads", (double) c->fragments * n_reads);
  return c->status;
}

/* ---- the @PG line --------------------------------------------------------- */

/* Replaces the CL field of bwa's @PG line in `text` with `cl`. Returns a new
 * string, or NULL when out of memory. */
static char *
rewrite_pg (const char *text, const char *cl)
{
  size_t n = strlen (text);
  char *out = malloc (n + strlen (cl) + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  const char *line = text;
  while (*line)
    {
      const char *end = strchr (line, '\n');
      size_t len = end ? (size_t) (end - line) + 1 : strlen (line);
      const char *field;
      if (strncmp (line, "@PG\tID:bwa\t", 11) == 0
          && (field = strstr (line, "\tCL:")) != NULL && field < line + len)
        {
          size_t keep = (size_t) (field - line) + 4;
          memcpy (out + o, line, keep);
          o += keep;
          /* CL is the last field bwa writes: the rest of the line goes. */
          size_t cl_len = strlen (cl);
          memcpy (out + o, cl, cl_len);
          o += cl_len;
          out[o++] = '\n';
        }
      else
        {
          memcpy (out + o, line, len);
          o += len;
        }
      line += len;
    }
  out[o] = '\0';
  return out;
}

static int
write_header (StrandTask *task, const StrandHost *host, const char *bam_path,
              const char *header_path, const char *cl, bool *needs_csi)
{
  samFile *in = sam_open (bam_path, "r");
  sam_hdr_t *hdr = in ? sam_hdr_read (in) : NULL;
  if (hdr == NULL)
    {
      if (in)
        sam_close (in);
      return host->fail (task, STRAND_ERROR_INTERNAL,
                         "%s: cannot read the sorted BAM's header", bam_path);
    }
  *needs_csi = false;
  for (int i = 0; i < sam_hdr_nref (hdr); i++)
    if ((int64_t) sam_hdr_tid2len (hdr, i) >= BAI_MAX_LENGTH)
      *needs_csi = true;
  char *text = rewrite_pg (sam_hdr_str (hdr), cl);
  sam_hdr_destroy (hdr);
  sam_close (in);
  if (text == NULL)
    return host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
  FILE *out = fopen (header_path, "w");
  int err = out == NULL ? errno : 0;
  if (out != NULL)
    {
      if (fputs (text, out) == EOF)
        err = errno;
      if (fclose (out) != 0 && err == 0)
        err = errno;
    }
  free (text);
  if (err)
    return host->fail (task, strand_error_class_from_errno (err), "%s: write failed: %s",
                       header_path, strerror (err));
  return STRAND_OK;
}

/* ---- the run -------------------------------------------------------------- */

typedef struct {
  int64_t batch;
  int64_t sort_mb;
  bool mark_secondary;
  bool check;
} Params;

static int
read_params (StrandTask *task, const StrandHost *host, Params *p)
{
  if (host->param_int (task, "batch_bases", &p->batch) < 0
      || host->param_int (task, "sort_memory_mb", &p->sort_mb) < 0
      || host->param_bool (task, "mark_short_splits", &p->mark_secondary) < 0
      || host->param_bool (task, "check_reads", &p->check) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read parameters");
  return STRAND_OK;
}

static int
validate (StrandTask *task, const StrandHost *host)
{
  Params p;
  char rg[2048];
  int ret = read_params (task, host, &p);
  if (ret == STRAND_OK)
    ret = read_group (task, host, rg, sizeof rg);
  if (ret == STRAND_OK && host->input_count (task, "reads") > 2)
    ret = host->fail (task, STRAND_ERROR_CONFIG,
                      "input 'reads': give one FASTQ (single-end) or two "
                      "(R1 and R2)");
  return ret;
}

/* The output's name: the sample id when it makes a safe file name. */
static void
output_stem (const char *sample, char *out, size_t size)
{
  bool safe = sample != NULL && sample[0] != '\0' && sample[0] != '.'
              && strlen (sample) < size - 16;
  for (const char *p = sample; safe && *p; p++)
    safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
           || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.';
  snprintf (out, size, "%s", safe ? sample : "aligned");
}

static int
tool_failed (StrandTask *task, const StrandHost *host, int rc, int status,
             const char *what)
{
  if (rc == STRAND_E_CANCELLED || host->cancelled (task))
    return STRAND_E_CANCELLED;
  /* Killed (by the kernel's OOM killer, most often): more memory may help. */
  if (status == 128 + 9)
    return host->fail (task, STRAND_ERROR_RESOURCE,
                       "%s was killed (signal 9); see the task log", what);
  return host->fail (task, STRAND_ERROR_INTERNAL,
                     "%s failed (exit status %d); see the task log", what,
                     status);
}

typedef struct {
  char *fasta;
  char *sorted;
  char *sort_prefix;
  char *header;
} Paths;

static void
paths_clear (Paths *p)
{
  free (p->fasta);
  free (p->sorted);
  free (p->sort_prefix);
  free (p->header);
}

static int
index_stats (StrandTask *task, const StrandHost *host, const char *bam,
             const char *index)
{
  samFile *in = sam_open (bam, "r");
  sam_hdr_t *hdr = in ? sam_hdr_read (in) : NULL;
  hts_idx_t *idx = hdr ? sam_index_load2 (in, bam, index) : NULL;
  int ret = STRAND_OK;
  if (idx == NULL)
    ret = host->fail (task, STRAND_ERROR_INTERNAL,
                      "%s: cannot read back the BAM and its index", bam);
  else
    {
      uint64_t mapped = 0, unmapped = 0;
      for (int i = 0; i < sam_hdr_nref (hdr); i++)
        {
          uint64_t m = 0, u = 0;
          if (hts_idx_get_stat (idx, i, &m, &u) == 0)
            {
              mapped += m;
              unmapped += u;
            }
        }
      unmapped += hts_idx_get_n_no_coor (idx);
      host->metric (task, "records", (double) (mapped + unmapped));
      host->metric (task, "mapped_records", (double) mapped);
      host->metric (task, "mapped_fraction",
                    mapped + unmapped
                        ? (double) mapped / (double) (mapped + unmapped)
                        : 0.0);
    }
  if (idx)
    hts_idx_destroy (idx);
  if (hdr)
    sam_hdr_destroy (hdr);
  if (in)
    sam_close (in);
  return ret;
}

static int
run (StrandTask *task, const StrandHost *host)
{
  Params p;
  char rg[2048];
  int ret = read_params (task, host, &p);
  if (ret == STRAND_OK)
    ret = read_group (task, host, rg, sizeof rg);
  if (ret != STRAND_OK)
    return ret;

  int n_reads = host->input_count (task, "reads");
  if (n_reads < 1 || n_reads > 2)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "input 'reads': %d files; give one FASTQ (single-end) "
                       "or two (R1 and R2)",
                       n_reads);
  const char *reads[2] = { NULL, NULL };
  for (int i = 0; i < n_reads; i++)
    if ((reads[i] = host->input_path (task, "reads", (size_t) i)) == NULL)
      return host->fail (task, STRAND_ERROR_INTERNAL,
                         "no path for input %d of port 'reads'", i);
  if (n_reads == 2)
    order_pair (reads);

  const char *ref_dir = host->input_count (task, "reference") == 1
                            ? host->input_path (task, "reference", 0)
                            : NULL;
  if (ref_dir == NULL)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "input 'reference' takes one bwa-index directory");
  const char *scratch = host->scratch_dir (task);
  Paths paths = {
    .fasta = join (ref_dir, REFERENCE_NAME),
    .sorted = join (scratch, "sorted.bam"),
    .sort_prefix = join (scratch, "sort"),
    .header = join (scratch, "header.sam"),
  };
  if (!paths.fasta || !paths.sorted || !paths.sort_prefix || !paths.header)
    {
      paths_clear (&paths);
      return host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
    }
  static const char *const parts[] = { "", ".fai", ".amb", ".ann", ".bwt",
                                       ".pac", ".sa" };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0] && ret == STRAND_OK; i++)
    {
      char part[4096];
      snprintf (part, sizeof part, "%s%s", paths.fasta, parts[i]);
      if (access (part, R_OK) != 0)
        ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                          "input 'reference': %s" REFERENCE_NAME "%s is "
                          "missing (%s): give the directory made by bwa-index",
                          i == 0 ? "" : "the index file ", parts[i],
                          strerror (errno));
    }

  /* The reads are checked while bwa reads them, when the host can stop
   * the tools at a bad record (ABI 1.2); before bwa starts otherwise. */
  ReadCheck check = { .task = task, .host = host, .n = (size_t) n_reads,
                      .paths = { reads[0], reads[1] } };
  pthread_t checker;
  bool checking = false;
  if (ret == STRAND_OK && p.check)
    {
      check.stop_tools = STRAND_HOST_HAS (host, stop_tools) && host->stop_tools != NULL;
      if (check.stop_tools && pthread_create (&checker, NULL, check_reads, &check) == 0)
        checking = true;
      else
        {
          host->progress (task, 0.0, "checking reads");
          check.stop_tools = false;
          check_reads (&check);
          ret = check_verdict (&check, n_reads);
        }
    }

  char stem[160], bam_name[192], bai_name[200];
  output_stem (host->sample_id (task), stem, sizeof stem);
  snprintf (bam_name, sizeof bam_name, "%s.bam", stem);
  const char *bam = NULL, *bai = NULL;
  if (ret == STRAND_OK
      && (host->output_path (task, "bam", bam_name, &bam) < 0 || bam == NULL))
    ret = host->fail (task, STRAND_ERROR_INTERNAL,
                      "no output path for port 'bam'");

  char threads[16], batch[32], memory[32];
  uint32_t cores = host->cores (task);
  snprintf (threads, sizeof threads, "%u", cores);
  snprintf (batch, sizeof batch, "%" PRId64, p.batch);
  snprintf (memory, sizeof memory, "%" PRId64 "M", p.sort_mb);

  if (ret == STRAND_OK)
    {
      host->progress (task, 0.05, "bwa mem | samtools sort");
      const char *bwa[16] = { "bwa", "mem", "-t", threads, "-K", batch, "-v",
                              "2", "-R", rg };
      size_t k = 10;
      if (p.mark_secondary)
        bwa[k++] = "-M";
      bwa[k++] = paths.fasta;
      bwa[k++] = reads[0];
      if (n_reads == 2)
        bwa[k++] = reads[1];
      bwa[k] = NULL;
      const char *sort[] = { "samtools", "sort", "--no-PG", "-@", threads,
                             "-m", memory, "-T", paths.sort_prefix, "-o",
                             paths.sorted, "-", NULL };
      const char *bwa_version[] = { "bwa", NULL };
      StrandCommand pipe[2] = { { bwa, bwa_version }, { sort, NULL } };
      int status = 0;
      int rc = host->run_tool (task, pipe, 2, NULL, &status);
      if (checking)
        {
          pthread_join (checker, NULL);
          checking = false;
          ret = check_verdict (&check, n_reads);
        }
      if (rc < 0 && ret == STRAND_OK)
        ret = tool_failed (task, host, rc, status, "bwa mem | samtools sort");
    }
  if (checking)
    {
      /* bwa never started (no output path): the check ends on its own. */
      pthread_join (checker, NULL);
      int verdict = check_verdict (&check, n_reads);
      if (ret == STRAND_OK)
        ret = verdict;
    }

  /* bwa's @PG line, without the thread count and the task's paths. */
  bool csi = false;
  if (ret == STRAND_OK)
    {
      char cl[4096];
      snprintf (cl, sizeof cl, "bwa mem -K %s%s -R %s %s %s%s%s", batch,
                p.mark_secondary ? " -M" : "", rg, REFERENCE_NAME,
                base_name (reads[0]), n_reads == 2 ? " " : "",
                n_reads == 2 ? base_name (reads[1]) : "");
      ret = write_header (task, host, paths.sorted, paths.header, cl, &csi);
    }
  if (ret == STRAND_OK)
    {
      host->progress (task, 0.9, "samtools reheader");
      const char *argv[] = { "samtools", "reheader", "--no-PG", paths.header,
                             paths.sorted, NULL };
      StrandCommand cmd = { argv, NULL };
      StrandToolRun io = { sizeof io, NULL, bam, NULL };
      int status = 0;
      int rc = host->run_tool (task, &cmd, 1, &io, &status);
      if (rc < 0)
        ret = tool_failed (task, host, rc, status, "samtools reheader");
    }
  snprintf (bai_name, sizeof bai_name, "%s.bam.%s", stem, csi ? "csi" : "bai");
  if (ret == STRAND_OK
      && (host->output_path (task, "index", bai_name, &bai) < 0 || bai == NULL))
    ret = host->fail (task, STRAND_ERROR_INTERNAL,
                      "no output path for port 'index'");
  if (ret == STRAND_OK)
    {
      host->progress (task, 0.95, "samtools index");
      const char *argv[] = { "samtools", "index", csi ? "-c" : "-b", "-@",
                             threads, bam, bai, NULL };
      StrandCommand cmd = { argv, NULL };
      int status = 0;
      int rc = host->run_tool (task, &cmd, 1, NULL, &status);
      if (rc < 0)
        ret = tool_failed (task, host, rc, status, "samtools index");
    }
  if (ret == STRAND_OK)
    ret = index_stats (task, host, bam, bai);
  unlink (paths.sorted);
  paths_clear (&paths);
  if (ret == STRAND_OK)
    host->progress (task, 1.0, "done");
  return ret;
}

static const StrandPort inputs[] = {
  { .name = "reference", .formats = STRAND_FORMAT_BWA_INDEX, .flags = 0,
    .description = "the reference directory made by bwa-index" },
  { .name = "reads", .formats = STRAND_FORMAT_FASTQ,
    .flags = STRAND_PORT_MULTIPLE,
    .description = "one FASTQ (single-end) or two (R1, R2), plain or gzip" },
};

static const StrandPort outputs[] = {
  { .name = "bam", .formats = STRAND_FORMAT_BAM, .flags = 0,
    .description = "coordinate-sorted alignments with the sample's read "
                   "group" },
  { .name = "index", .formats = STRAND_FORMAT_BAI "," STRAND_FORMAT_CSI,
    .flags = 0,
    .description = "the BAM's index (.bai; .csi for references over 512 "
                   "Mbp)" },
};

static const StrandParamSpec params[] = {
  { .name = "batch_bases", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN,
    .description = "bases bwa reads per batch (-K): fixed, so that the "
                   "output does not depend on the thread count",
    .default_value = "10000000", .min = 1000 },
  { .name = "sort_memory_mb", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "memory per samtools sort thread, in MiB",
    .default_value = "512", .min = 16, .max = 65536 },
  { .name = "mark_short_splits", .type = STRAND_PARAM_BOOL, .flags = 0,
    .description = "mark shorter split hits as secondary (bwa -M, for "
                   "Picard)",
    .default_value = "false" },
  { .name = "check_reads", .type = STRAND_PARAM_BOOL, .flags = 0,
    .description = "read every FASTQ record while bwa aligns, and fail on "
                   "a bad one (bwa stops quietly at a truncated file)",
    .default_value = "true" },
};

static const StrandResources resources = {
  .cores = 2,
  .memory_bytes = 2ull << 30,
  .scratch_bytes = 4ull << 30,
  .output_bytes = 1ull << 30,
  .expected_seconds = 60.0,
};

static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 1000 },
  { .error_class = STRAND_ERROR_RESOURCE,
    .action = STRAND_ACTION_RETRY_ESCALATE, .max_attempts = 3,
    .escalate_factor = 1.5 },
  { .error_class = STRAND_ERROR_INVALID_INPUT,
    .action = STRAND_ACTION_FAIL_SAMPLE, .max_attempts = 1 },
  { .error_class = STRAND_ERROR_CONFIG, .action = STRAND_ACTION_FAIL_SAMPLE,
    .max_attempts = 1 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "align",
  .version = "0.1.0",
  .description = "Aligns reads with bwa mem into a coordinate-sorted, "
                 "indexed BAM carrying the sample's read group",
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
