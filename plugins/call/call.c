/* call: variants of one sample from its aligned reads with bcftools, as a
 * bgzipped VCF and its tabix index.
 *
 *   bcftools mpileup --no-version -f REF -a FORMAT/AD,FORMAT/DP -q MAPQ -Q BASEQ
 *                    -d DEPTH -Ou [-r REGIONS] SAMPLE.bam
 *     | bcftools call --no-version -m -v [--ploidy P] -Oz -o calls.vcf.gz
 *   bcftools reheader -h header.txt -o SAMPLE.vcf.gz calls.vcf.gz
 *   bcftools index -t -o SAMPLE.vcf.gz.tbi SAMPLE.vcf.gz
 *
 * every command through the host's run_tool (argv arrays, no shell), so
 * tool paths, versions and digests are recorded. The BAM and its index
 * arrive on two ports; they are linked side by side in the scratch
 * directory, where bcftools finds the index, and checked first: an index
 * that is not a BAM index, or belongs to another BAM, is refused with the
 * file named (bcftools would read a stale index without a word). The
 * reference is the directory bwa-index made. mpileup names the reference by
 * the task's private path in ##reference; that line is rewritten to the
 * file's name so that the same inputs give the same bytes. */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <htslib/hts.h>
#include <htslib/sam.h>
#include <htslib/vcf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REFERENCE_NAME "reference.fa"

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

static bool
has_suffix (const char *s, const char *suffix)
{
  size_t n = strlen (s), k = strlen (suffix);
  return n >= k && strcmp (s + n - k, suffix) == 0;
}

typedef struct {
  int64_t min_mapq;
  int64_t min_baseq;
  int64_t max_depth;
  const char *ploidy;
  const char *regions;
} Params;

static int
read_params (StrandTask *task, const StrandHost *host, Params *p)
{
  if (host->param_int (task, "min_mapping_quality", &p->min_mapq) < 0
      || host->param_int (task, "min_base_quality", &p->min_baseq) < 0
      || host->param_int (task, "max_depth", &p->max_depth) < 0
      || host->param_string (task, "ploidy", &p->ploidy) < 0
      || host->param_string (task, "regions", &p->regions) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read parameters");
  for (const char *c = p->regions; *c; c++)
    if (*c < 0x21 || *c > 0x7e)
      return host->fail (task, STRAND_ERROR_CONFIG,
                         "param 'regions': '%s' contains a space or control "
                         "character; give CHROM[:FROM-TO],...",
                         p->regions);
  if (p->regions[0] == '-')
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "param 'regions': '%s' starts with '-'", p->regions);
  return STRAND_OK;
}

static int
validate (StrandTask *task, const StrandHost *host)
{
  Params p;
  return read_params (task, host, &p);
}

/* The index must be an index of this BAM: it loads, it knows no more
 * references than the header, and for every reference it says holds reads,
 * the first record it points to is a record of that reference. */
static int
check_bam (StrandTask *task, const StrandHost *host, const char *bam_path,
           const char *index, const char *bam_label, const char *index_label)
{
  samFile *in = sam_open (bam_path, "r");
  if (in == NULL)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT, "%s: cannot open: %s",
                       bam_label, strerror (errno));
  int ret = STRAND_OK;
  sam_hdr_t *hdr = NULL;
  hts_idx_t *idx = NULL;
  bam1_t *b = bam_init1 ();
  if (hts_get_format (in)->format != bam)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT, "%s: not a BAM file",
                      bam_label);
  else if ((hdr = sam_hdr_read (in)) == NULL)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "%s: cannot read the BAM header", bam_label);
  else if (sam_hdr_nref (hdr) == 0)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "%s: the header names no reference sequence: not "
                      "aligned",
                      bam_label);
  else if ((idx = sam_index_load3 (in, bam_path, index, HTS_IDX_SILENT_FAIL)) == NULL)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "%s: not a BAM index (.bai or .csi) that can be read",
                      index_label);
  else
    {
      int n_idx = hts_idx_nseq (idx);
      if (n_idx > sam_hdr_nref (hdr))
        ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                          "%s: indexes %d references but %s has %d: the "
                          "index belongs to another BAM",
                          index_label, n_idx, bam_label, sam_hdr_nref (hdr));
      for (int tid = 0; tid < sam_hdr_nref (hdr) && ret == STRAND_OK; tid++)
        {
          uint64_t mapped = 0, unmapped = 0;
          if (hts_idx_get_stat (idx, tid, &mapped, &unmapped) != 0
              || mapped + unmapped == 0)
            continue;
          hts_itr_t *itr = sam_itr_queryi (idx, tid, 0, HTS_POS_MAX);
          int r = itr ? sam_itr_next (in, itr, b) : -2;
          if (r < 0 || b->core.tid != tid)
            ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                              "%s: does not match %s (reference '%s' points "
                              "to %s): the index belongs to another BAM or "
                              "is stale",
                              index_label, bam_label, sam_hdr_tid2name (hdr, tid),
                              r < 0 ? "no readable record" : "another reference");
          hts_itr_destroy (itr);
        }
    }
  bam_destroy1 (b);
  if (idx)
    hts_idx_destroy (idx);
  if (hdr)
    sam_hdr_destroy (hdr);
  sam_close (in);
  return ret;
}

/* Writes the header of `vcf` with ##reference naming the file only. */
static int
write_header (StrandTask *task, const StrandHost *host, const char *vcf,
              const char *header_path)
{
  htsFile *in = hts_open (vcf, "r");
  bcf_hdr_t *hdr = in ? bcf_hdr_read (in) : NULL;
  int ret = STRAND_OK;
  if (hdr == NULL)
    ret = host->fail (task, STRAND_ERROR_INTERNAL,
                      "%s: cannot read the calls' header", vcf);
  else
    {
      bcf_hdr_remove (hdr, BCF_HL_GEN, "reference");
      kstring_t text = { 0, 0, NULL };
      if (bcf_hdr_append (hdr, "##reference=" REFERENCE_NAME) != 0
          || bcf_hdr_sync (hdr) != 0 || bcf_hdr_format (hdr, 0, &text) != 0)
        ret = host->fail (task, STRAND_ERROR_RESOURCE,
                          "cannot rewrite the VCF header");
      else
        {
          FILE *out = fopen (header_path, "w");
          int err = out ? 0 : errno;
          if (out && fwrite (text.s, 1, text.l, out) != text.l)
            err = errno;
          if (out && fclose (out) != 0 && err == 0)
            err = errno;
          if (err)
            ret = host->fail (task, strand_error_class_from_errno (err),
                              "%s: write failed: %s", header_path,
                              strerror (err));
        }
      free (text.s);
      bcf_hdr_destroy (hdr);
    }
  if (in)
    hts_close (in);
  return ret;
}

/* Counts the calls for the task's metrics. */
static int
count_calls (StrandTask *task, const StrandHost *host, const char *vcf)
{
  htsFile *in = hts_open (vcf, "r");
  bcf_hdr_t *hdr = in ? bcf_hdr_read (in) : NULL;
  if (hdr == NULL)
    {
      if (in)
        hts_close (in);
      return host->fail (task, STRAND_ERROR_INTERNAL,
                         "%s: cannot read back the calls", vcf);
    }
  bcf1_t *rec = bcf_init ();
  uint64_t records = 0, snvs = 0, indels = 0;
  int r;
  while ((r = bcf_read (in, hdr, rec)) == 0)
    {
      records++;
      int type = bcf_get_variant_types (rec);
      if (type & VCF_SNP)
        snvs++;
      if (type & VCF_INDEL)
        indels++;
    }
  bcf_destroy (rec);
  bcf_hdr_destroy (hdr);
  hts_close (in);
  if (r < -1)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "%s: cannot read back the calls", vcf);
  host->metric (task, "variants", (double) records);
  host->metric (task, "snvs", (double) snvs);
  host->metric (task, "indels", (double) indels);
  return STRAND_OK;
}

static int
tool_failed (StrandTask *task, const StrandHost *host, int rc, int status,
             const char *what)
{
  if (rc == STRAND_E_CANCELLED || host->cancelled (task))
    return STRAND_E_CANCELLED;
  if (status == 128 + 9)
    return host->fail (task, STRAND_ERROR_RESOURCE,
                       "%s was killed (signal 9); see the task log", what);
  return host->fail (task, STRAND_ERROR_INTERNAL,
                     "%s failed (exit status %d); see the task log", what,
                     status);
}

typedef struct {
  char *fasta;
  char *bam;
  char *bai;
  char *calls;
  char *header;
} Paths;

static void
paths_clear (Paths *p)
{
  free (p->fasta);
  free (p->bam);
  free (p->bai);
  free (p->calls);
  free (p->header);
}

static int
run_tool (StrandTask *task, const StrandHost *host, StrandCommand *cmds,
          size_t n, const char *what)
{
  int status = 0;
  int rc = host->run_tool (task, cmds, n, NULL, &status);
  return rc < 0 ? tool_failed (task, host, rc, status, what) : STRAND_OK;
}

static int
run (StrandTask *task, const StrandHost *host)
{
  Params p;
  int ret = read_params (task, host, &p);
  if (ret != STRAND_OK)
    return ret;
  if (host->input_count (task, "reference") != 1
      || host->input_count (task, "bam") != 1)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "inputs 'reference' and 'bam' take one item each");
  if (host->input_count (task, "index") != 1)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT,
                       "the BAM has no index: connect the aligner's 'index' "
                       "output to input 'index'");
  const char *ref_dir = host->input_path (task, "reference", 0);
  const char *bam_in = host->input_path (task, "bam", 0);
  const char *bai_in = host->input_path (task, "index", 0);
  if (ref_dir == NULL || bam_in == NULL || bai_in == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL, "no path for an input");

  const char *scratch = host->scratch_dir (task);
  const char *index_ext = has_suffix (bai_in, ".csi") ? "csi" : "bai";
  char bam_name[32], bai_name[40];
  snprintf (bam_name, sizeof bam_name, "input.bam");
  snprintf (bai_name, sizeof bai_name, "input.bam.%s", index_ext);
  Paths paths = {
    .fasta = join (ref_dir, REFERENCE_NAME),
    .bam = join (scratch, bam_name),
    .bai = join (scratch, bai_name),
    .calls = join (scratch, "calls.vcf.gz"),
    .header = join (scratch, "header.txt"),
  };
  if (!paths.fasta || !paths.bam || !paths.bai || !paths.calls || !paths.header)
    {
      paths_clear (&paths);
      return host->fail (task, STRAND_ERROR_RESOURCE, "out of memory");
    }
  char fai[4096];
  snprintf (fai, sizeof fai, "%s.fai", paths.fasta);
  if (access (paths.fasta, R_OK) != 0 || access (fai, R_OK) != 0)
    ret = host->fail (task, STRAND_ERROR_INVALID_INPUT,
                      "input 'reference': " REFERENCE_NAME " or its .fai is "
                      "missing (%s): give the directory made by bwa-index",
                      strerror (errno));

  /* Side by side, where bcftools looks for the index. */
  if (ret == STRAND_OK
      && (symlink (bam_in, paths.bam) != 0 || symlink (bai_in, paths.bai) != 0))
    ret = host->fail (task, strand_error_class_from_errno (errno),
                      "cannot link the BAM into the scratch directory: %s",
                      strerror (errno));
  if (ret == STRAND_OK)
    ret = check_bam (task, host, paths.bam, paths.bai, base_name (bam_in),
                     base_name (bai_in));

  char mapq[24], baseq[24], depth[24];
  snprintf (mapq, sizeof mapq, "%" PRId64, p.min_mapq);
  snprintf (baseq, sizeof baseq, "%" PRId64, p.min_baseq);
  snprintf (depth, sizeof depth, "%" PRId64, p.max_depth);
  if (ret == STRAND_OK)
    {
      host->progress (task, 0.05, "bcftools mpileup | bcftools call");
      const char *mpileup[20] = { "bcftools", "mpileup", "--no-version", "-f",
                                  paths.fasta, "-a", "FORMAT/AD,FORMAT/DP",
                                  "-q", mapq, "-Q", baseq, "-d", depth, "-Ou" };
      size_t k = 14;
      if (p.regions[0])
        {
          mpileup[k++] = "-r";
          mpileup[k++] = p.regions;
        }
      mpileup[k++] = paths.bam;
      mpileup[k] = NULL;
      const char *call[16] = { "bcftools", "call", "--no-version", "-m", "-v" };
      k = 5;
      if (strcmp (p.ploidy, "2") != 0)
        {
          call[k++] = "--ploidy";
          call[k++] = p.ploidy;
        }
      call[k++] = "-Oz";
      call[k++] = "-o";
      call[k++] = paths.calls;
      call[k] = NULL;
      StrandCommand pipe[2] = { { mpileup, NULL }, { call, NULL } };
      ret = run_tool (task, host, pipe, 2, "bcftools mpileup | bcftools call");
    }

  char stem[160], vcf_name[192], tbi_name[200];
  const char *sample = host->sample_id (task);
  bool safe = sample && sample[0] && sample[0] != '.' && strlen (sample) < 128;
  for (const char *c = sample; safe && *c; c++)
    safe = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
           || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.';
  snprintf (stem, sizeof stem, "%s", safe ? sample : "calls");
  snprintf (vcf_name, sizeof vcf_name, "%s.vcf.gz", stem);
  snprintf (tbi_name, sizeof tbi_name, "%s.vcf.gz.tbi", stem);
  const char *vcf = NULL, *tbi = NULL;
  if (ret == STRAND_OK)
    ret = write_header (task, host, paths.calls, paths.header);
  if (ret == STRAND_OK
      && (host->output_path (task, "vcf", vcf_name, &vcf) < 0 || vcf == NULL
          || host->output_path (task, "index", tbi_name, &tbi) < 0 || tbi == NULL))
    ret = host->fail (task, STRAND_ERROR_INTERNAL,
                      "no output paths for ports 'vcf' and 'index'");
  if (ret == STRAND_OK)
    {
      host->progress (task, 0.9, "bcftools reheader");
      const char *argv[] = { "bcftools", "reheader", "-h", paths.header, "-o",
                             vcf, paths.calls, NULL };
      StrandCommand cmd = { argv, NULL };
      ret = run_tool (task, host, &cmd, 1, "bcftools reheader");
    }
  if (ret == STRAND_OK)
    {
      host->progress (task, 0.95, "bcftools index");
      const char *argv[] = { "bcftools", "index", "-t", "-o", tbi, vcf, NULL };
      StrandCommand cmd = { argv, NULL };
      ret = run_tool (task, host, &cmd, 1, "bcftools index");
    }
  if (ret == STRAND_OK)
    ret = count_calls (task, host, vcf);
  unlink (paths.calls);
  paths_clear (&paths);
  if (ret == STRAND_OK)
    host->progress (task, 1.0, "done");
  return ret;
}

static const StrandPort inputs[] = {
  { .name = "reference", .formats = STRAND_FORMAT_BWA_INDEX, .flags = 0,
    .description = "the reference directory made by bwa-index" },
  { .name = "bam", .formats = STRAND_FORMAT_BAM, .flags = 0,
    .description = "the sample's coordinate-sorted alignments" },
  { .name = "index", .formats = STRAND_FORMAT_BAI "," STRAND_FORMAT_CSI,
    .flags = 0, .description = "the BAM's index" },
};

static const StrandPort outputs[] = {
  { .name = "vcf", .formats = STRAND_FORMAT_VCF, .flags = 0,
    .description = "variant sites (SNVs and indels), bgzipped VCF" },
  { .name = "index", .formats = STRAND_FORMAT_TBI, .flags = 0,
    .description = "the VCF's tabix index" },
};

static const StrandParamSpec params[] = {
  { .name = "min_mapping_quality", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "skip alignments with a lower mapping quality (-q)",
    .default_value = "0", .min = 0, .max = 255 },
  { .name = "min_base_quality", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "skip bases with a lower quality (-Q)",
    .default_value = "13", .min = 0, .max = 93 },
  { .name = "max_depth", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN,
    .description = "reads per position considered (-d)",
    .default_value = "250", .min = 1 },
  { .name = "ploidy", .type = STRAND_PARAM_ENUM, .flags = 0,
    .description = "2, 1, or a human assembly's sex-aware ploidy",
    .default_value = "2", .choices = "2,1,GRCh37,GRCh38" },
  { .name = "regions", .type = STRAND_PARAM_STRING, .flags = 0,
    .description = "only these regions, CHROM[:FROM-TO],... (uses the "
                   "index); empty: everything",
    .default_value = "" },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 1ull << 30,
  .output_bytes = 64ull << 20,
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
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "call",
  .version = "0.1.0",
  .description = "Calls SNVs and indels with bcftools mpileup | call into a "
                 "bgzipped, indexed VCF",
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
