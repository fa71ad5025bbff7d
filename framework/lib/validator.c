#include "validator.h"

#include <htslib/faidx.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "clock.h"
#include "datacheck.h"
#include "formats.h"
#include "plugin-validate.h"

#define DEFAULT_HORIZON_US ((gint64) 7 * 24 * 3600 * G_USEC_PER_SEC)

static void G_GNUC_PRINTF (5, 6)
add (GPtrArray *problems, gboolean warning, const char *code, const char *where,
     const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  strand_problems_add (problems, warning, code, where, "%s", msg);
}

/* Pipeline problems carry bare JSON pointers; name the file in front. */
static void
prefix_locations (GPtrArray *problems, guint from, const char *source)
{
  for (guint i = from; i < problems->len; i++)
    {
      StrandProblem *p = problems->pdata[i];
      char *where = g_strdup_printf ("%s#%s", source, p->where);
      g_free (p->where);
      p->where = where;
    }
}

/* ---- samples against the pipeline ----------------------------------------------- */

static void
check_samples (StrandPipeline *pipeline, GPtrArray *samples, GPtrArray *problems)
{
  if (samples->len == 0)
    {
      add (problems, FALSE, "no-samples", "samples", "the sample sheet lists no samples");
      return;
    }
  g_autoptr (GHashTable) declared = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < pipeline->inputs->len; i++)
    {
      StrandPipelineInput *in = pipeline->inputs->pdata[i];
      g_hash_table_insert (declared, in->name, in);
    }
  for (guint i = 0; i < pipeline->edges->len; i++)
    {
      StrandEdge *e = pipeline->edges->pdata[i];
      StrandPipelineInput *in = e->from_stage ? NULL : g_hash_table_lookup (declared, e->from_port);
      if (e->from_stage == NULL && (in == NULL || !in->per_run))
        g_hash_table_add (used, e->from_port);
    }
  for (guint i = 0; i < pipeline->inputs->len; i++)
    {
      StrandPipelineInput *in = pipeline->inputs->pdata[i];
      g_autofree char *where = g_strdup_printf ("%s#/inputs/%u",
                                                pipeline->source ? pipeline->source : "pipeline", i);
      if (!in->per_run)
        continue;
      if (in->path == NULL)
        add (problems, FALSE, "missing-run-input", where,
             "the per-run input '%s' has no file: give \"path\" in the pipeline or --input %s=PATH",
             in->name, in->name);
      else if (!g_file_test (in->path, G_FILE_TEST_IS_REGULAR) &&
               !g_file_test (in->path, G_FILE_TEST_IS_DIR))
        add (problems, FALSE, "missing-input-file", where,
             "the per-run input '%s': %s does not exist or is neither a file nor a directory",
             in->name, in->path);
    }
  for (guint i = 0; i < samples->len; i++)
    {
      StrandSample *s = samples->pdata[i];
      g_autoptr (GHashTable) supplied = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint k = 0; k < s->files->len; k++)
        {
          StrandSampleFile *f = s->files->pdata[k];
          StrandPipelineInput *in = g_hash_table_lookup (declared, f->input);
          g_hash_table_add (supplied, f->input);
          if (in == NULL)
            {
              add (problems, FALSE, "unknown-input", f->where,
                   "sample '%s' supplies '%s', which the pipeline has no input for", s->id, f->input);
              continue;
            }
          if (in->per_run)
            {
              add (problems, FALSE, "per-run-input", f->where,
                   "sample '%s' supplies '%s', which is one file for the whole run", s->id, f->input);
              continue;
            }
          if (f->format && !strand_formats_compatible (f->format, in->formats))
            add (problems, FALSE, "format-mismatch", f->where,
                 "sample '%s': %s is declared %s but the pipeline's input '%s' takes %s", s->id,
                 f->path, f->format, in->name, in->formats);
        }
      GHashTableIter it;
      gpointer name;
      g_hash_table_iter_init (&it, used);
      while (g_hash_table_iter_next (&it, &name, NULL))
        if (!g_hash_table_contains (supplied, name))
          add (problems, FALSE, "missing-input", s->where,
               "sample '%s' has no file for the pipeline's input '%s'", s->id, (char *) name);
    }
}

/* ---- resources against the equipment ------------------------------------------- */

typedef struct {
  const char *equipment_class;
  guint cores;
  guint gpus;
  guint64 memory_bytes;
  double expected_seconds;
} Needs;

static Needs
stage_needs (const StrandStage *s)
{
  const StrandResourceInfo *r = &s->resolved->resources;
  const StrandStageResources *o = &s->resources;
  Needs n = {
    .equipment_class = o->equipment_class ? o->equipment_class
                       : r->equipment_class ? r->equipment_class : "compute",
    .cores = o->cores ? o->cores : r->cores,
    .gpus = o->gpus ? o->gpus : r->gpus,
    .memory_bytes = o->memory_bytes ? o->memory_bytes : r->memory_bytes,
    .expected_seconds = o->expected_seconds > 0 ? o->expected_seconds : r->expected_seconds,
  };
  return n;
}

static void
check_resources (StrandPipeline *pipeline, StrandInventory *inventory,
                 const StrandValidateOptions *options, GPtrArray *problems)
{
  gint64 now = options->now_us ? options->now_us : strand_clock_now_us ();
  gint64 horizon = options->horizon_us ? options->horizon_us : DEFAULT_HORIZON_US;
  /* Per equipment: the longest stretch it can run without a stop, computed once. */
  g_autofree gint64 *window = g_new0 (gint64, inventory->items->len);
  g_autofree gboolean *window_known = g_new0 (gboolean, inventory->items->len);

  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      StrandStage *s = pipeline->stages->pdata[i];
      if (s->resolved == NULL)
        continue;
      Needs n = stage_needs (s);
      g_autofree char *where = g_strdup_printf ("%s#/stages/%u", pipeline->source ? pipeline->source : "", i);
      guint of_class = 0, fitting = 0;
      guint max_cores = 0, max_gpus = 0;
      guint64 max_memory = 0;
      gint64 best_window = 0;
      for (guint k = 0; k < inventory->items->len; k++)
        {
          StrandEquipment *e = inventory->items->pdata[k];
          if (strcmp (e->equipment_class, n.equipment_class) != 0)
            continue;
          of_class++;
          max_cores = MAX (max_cores, e->cores);
          max_gpus = MAX (max_gpus, e->gpus);
          max_memory = MAX (max_memory, e->memory_bytes);
          /* Zero in the inventory means "not stated": it does not limit. */
          if ((e->cores && n.cores > e->cores) || n.gpus > e->gpus ||
              (e->memory_bytes && n.memory_bytes > e->memory_bytes))
            continue;
          fitting++;
          if (!window_known[k])
            {
              window[k] = strand_equipment_longest_window (e, now, now + horizon);
              window_known[k] = TRUE;
            }
          best_window = MAX (best_window, window[k]);
        }
      if (of_class == 0)
        {
          add (problems, FALSE, "no-equipment-class", where,
               "stage '%s' needs equipment of class '%s' and the inventory has none", s->id,
               n.equipment_class);
          continue;
        }
      if (fitting == 0)
        {
          g_autofree char *need_mem = g_format_size_full (n.memory_bytes, G_FORMAT_SIZE_IEC_UNITS);
          g_autofree char *have_mem = g_format_size_full (max_memory, G_FORMAT_SIZE_IEC_UNITS);
          if (max_cores && n.cores > max_cores)
            add (problems, FALSE, "insufficient-cores", where,
                 "stage '%s' needs %u cores; the largest '%s' equipment has %u", s->id, n.cores,
                 n.equipment_class, max_cores);
          else if (n.gpus > max_gpus)
            add (problems, FALSE, "insufficient-gpus", where,
                 "stage '%s' needs %u GPUs; the most any '%s' equipment has is %u", s->id, n.gpus,
                 n.equipment_class, max_gpus);
          else if (max_memory && n.memory_bytes > max_memory)
            add (problems, FALSE, "insufficient-memory", where,
                 "stage '%s' needs %s of memory; the largest '%s' equipment has %s", s->id, need_mem,
                 n.equipment_class, have_mem);
          else
            add (problems, FALSE, "insufficient-resources", where,
                 "stage '%s': no single '%s' equipment has its cores, memory and GPUs together",
                 s->id, n.equipment_class);
          continue;
        }
      gint64 need_us = (gint64) (n.expected_seconds * G_USEC_PER_SEC);
      if (need_us > 0 && best_window < need_us)
        add (problems, TRUE, "no-window-long-enough", where,
             "stage '%s' is expected to take %.0f s, but in the next %" G_GINT64_FORMAT
             " days no '%s' equipment is up for longer than %.0f s (operating hours and "
             "maintenance)", s->id, n.expected_seconds, horizon / ((gint64) 24 * 3600 * G_USEC_PER_SEC),
             n.equipment_class, (double) best_window / G_USEC_PER_SEC);
    }
}

/* ---- input data ------------------------------------------------------------------ */

/* "name\tlength" of each sequence of a plain FASTA, in one streaming pass:
 * used when the reference has no .fai, which validation must not create. */
static GPtrArray *
scan_fasta (const char *fasta)
{
  gzFile in = gzopen (fasta, "rb"); /* plain or gzip, as references ship */
  if (in == NULL)
    return NULL;
  GPtrArray *contigs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) name = g_string_new (NULL);
  gboolean in_header = FALSE, in_name = FALSE, have = FALSE, at_line_start = TRUE;
  guint64 length = 0;
  g_autofree char *buf = g_malloc (1 << 20);
  int n;
  while ((n = gzread (in, buf, 1 << 20)) > 0)
    for (int i = 0; i < n; i++)
      {
        char c = buf[i];
        if (at_line_start && c == '>')
          {
            if (have)
              g_ptr_array_add (contigs, g_strdup_printf ("%s\t%" G_GUINT64_FORMAT, name->str, length));
            g_string_truncate (name, 0);
            length = 0;
            have = in_header = in_name = TRUE;
          }
        else if (c == '\n')
          in_header = FALSE;
        else if (in_header)
          {
            /* The name ends at the first white space, as in samtools faidx;
             * the rest of the header line is a description. */
            if (g_ascii_isspace (c))
              in_name = FALSE;
            else if (in_name)
              g_string_append_c (name, c);
          }
        else if (c != '\r' && have)
          length++;
        at_line_start = c == '\n';
      }
  if (have)
    g_ptr_array_add (contigs, g_strdup_printf ("%s\t%" G_GUINT64_FORMAT, name->str, length));
  gzclose (in);
  return contigs;
}

/* "name\tlength" of each reference sequence, from its .fai when there is one. */
static GPtrArray *
reference_contigs (const char *fasta)
{
  g_autofree char *fai_path = g_strconcat (fasta, ".fai", NULL);
  faidx_t *fai = g_file_test (fai_path, G_FILE_TEST_IS_REGULAR) ? fai_load3 (fasta, NULL, NULL, 0) : NULL;
  if (fai == NULL)
    return scan_fasta (fasta);
  GPtrArray *contigs = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < faidx_nseq (fai); i++)
    {
      const char *name = faidx_iseq (fai, i);
      g_ptr_array_add (contigs, g_strdup_printf ("%s\t%" G_GINT64_FORMAT, name,
                                                 (gint64) faidx_seq_len (fai, name)));
    }
  fai_destroy (fai);
  return contigs;
}

static gboolean
same_contigs (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (strcmp (a->pdata[i], b->pdata[i]) != 0)
      return FALSE;
  return TRUE;
}

/* The reference the pipeline aligns or calls against: the one given on the
 * command line, or a path parameter named "reference". */
static char *
pipeline_reference (StrandPipeline *pipeline, const StrandValidateOptions *options)
{
  if (options->reference)
    return g_strdup (options->reference);
  for (guint i = 0; i < pipeline->inputs->len; i++)
    {
      const StrandPipelineInput *in = pipeline->inputs->pdata[i];
      if (in->per_run && in->path && strand_formats_compatible (in->formats, "fasta") &&
          g_strcmp0 (in->formats, "any") != 0)
        return g_strdup (in->path);
    }
  g_autofree char *base = pipeline->source ? g_path_get_dirname (pipeline->source) : g_get_current_dir ();
  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      StrandStage *s = pipeline->stages->pdata[i];
      g_autofree char *text = strand_stage_param_text (s, "reference");
      if (text && s->resolved)
        {
          const StrandParamInfo *p = strand_plugin_info_find_param (s->resolved, "reference");
          if (p && p->type == STRAND_PARAM_PATH)
            return g_canonicalize_filename (text, base);
        }
    }
  return NULL;
}

static void
check_data (StrandPipeline *pipeline, GPtrArray *samples, const StrandValidateOptions *options,
            GPtrArray *problems)
{
  g_autofree char *reference = pipeline_reference (pipeline, options);
  g_autoptr (GPtrArray) ref_contigs = reference ? reference_contigs (reference) : NULL;
  g_autoptr (GHashTable) inputs = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < pipeline->inputs->len; i++)
    {
      StrandPipelineInput *in = pipeline->inputs->pdata[i];
      g_hash_table_insert (inputs, in->name, in);
    }
  const StrandQcThresholds *qc = &pipeline->qc;
  for (guint i = 0; i < samples->len; i++)
    {
      StrandSample *s = samples->pdata[i];
      guint64 reads = 0;
      gboolean reads_complete = TRUE, any_reads = FALSE;
      for (guint k = 0; k < s->files->len; k++)
        {
          StrandSampleFile *f = s->files->pdata[k];
          StrandPipelineInput *in = g_hash_table_lookup (inputs, f->input);
          g_auto (GStrv) accepted = strand_formats_split (in ? in->formats : NULL);
          StrandCheckOptions opts = {
            .deep = options->deep,
            .format = f->format ? f->format
                      : (accepted && accepted[0] && !accepted[1] && strcmp (accepted[0], "any") != 0)
                          ? accepted[0] : NULL,
            .reference = reference,
            .sha256 = f->sha256,
          };
          g_auto (StrandDataSummary) summary = { 0 };
          guint errors_before = strand_problems_errors (problems);
          if (!g_file_test (f->path, G_FILE_TEST_IS_REGULAR))
            {
              add (problems, FALSE, "missing-input-file", f->where,
                   "sample '%s': %s does not exist or is not a file", s->id, f->path);
              continue;
            }
          strand_check_file (f->path, &opts, &summary, problems);
          if (strand_problems_errors (problems) > errors_before)
            continue; /* figures from a damaged file would only add noise */
          if (g_strcmp0 (summary.format, "fastq") == 0 || g_strcmp0 (summary.format, "bam") == 0 ||
              g_strcmp0 (summary.format, "sam") == 0 || g_strcmp0 (summary.format, "cram") == 0)
            {
              any_reads = TRUE;
              reads += summary.records;
              reads_complete &= summary.complete;
              if (qc->has_min_mean_quality && summary.bases > 0 &&
                  summary.mean_quality < qc->min_mean_quality)
                add (problems, FALSE, "low-quality", f->where,
                     "sample '%s': mean base quality %.1f in %s is below the pipeline's minimum %.1f",
                     s->id, summary.mean_quality, f->path, qc->min_mean_quality);
              if (qc->has_max_n_fraction && summary.bases > 0 && summary.n_fraction > qc->max_n_fraction)
                add (problems, FALSE, "too-many-n", f->where,
                     "sample '%s': %.2f%% of bases in %s are N, above the pipeline's maximum %.2f%%",
                     s->id, 100 * summary.n_fraction, f->path, 100 * qc->max_n_fraction);
            }
          if (summary.samples && summary.samples->len > 0)
            {
              gboolean named = FALSE;
              for (guint j = 0; j < summary.samples->len; j++)
                named |= g_strcmp0 (summary.samples->pdata[j], s->id) == 0 ||
                         g_strcmp0 (summary.samples->pdata[j],
                                    g_hash_table_lookup (s->meta, "sample_name")) == 0;
              if (!named)
                add (problems, FALSE, "sample-mismatch", f->where,
                     "sample '%s': the header of %s names sample '%s'", s->id, f->path,
                     (char *) summary.samples->pdata[0]);
            }
          if (ref_contigs && summary.contigs && summary.contigs->len > 0 &&
              !same_contigs (ref_contigs, summary.contigs))
            add (problems, FALSE, "reference-mismatch", f->where,
                 "sample '%s': the contigs in the header of %s are not those of the reference %s",
                 s->id, f->path, reference);
        }
      /* A read count is only known once whole files were read. */
      if (qc->has_min_reads && any_reads && reads < qc->min_reads && reads_complete)
        add (problems, FALSE, "too-few-reads", s->where,
             "sample '%s' has %" G_GUINT64_FORMAT " reads, below the pipeline's minimum %"
             G_GUINT64_FORMAT, s->id, reads, qc->min_reads);
    }
}

gboolean
strand_validate (StrandPipeline *pipeline, StrandRegistry *registry, GPtrArray *samples,
                 StrandInventory *inventory, const StrandValidateOptions *options,
                 GPtrArray *problems)
{
  StrandValidateOptions defaults = { 0 };
  if (options == NULL)
    options = &defaults;
  guint first = problems->len;
  guint before = problems->len;
  strand_pipeline_resolve (pipeline, registry, problems);
  prefix_locations (problems, before, pipeline->source ? pipeline->source : "");
  gboolean resolved = TRUE;
  for (guint i = before; i < problems->len; i++)
    resolved &= ((StrandProblem *) problems->pdata[i])->warning;
  if (samples != NULL)
    check_samples (pipeline, samples, problems);
  if (inventory != NULL)
    check_resources (pipeline, inventory, options, problems);
  if (samples != NULL && !options->skip_data)
    check_data (pipeline, samples, options, problems);
  /* Only a run that could be planned has tasks to ask the stages about. */
  if (samples != NULL && resolved && !options->skip_stage_checks)
    strand_plugin_validate (pipeline, samples, options->stage_timeout_us, problems);
  for (guint i = first; i < problems->len; i++)
    if (!((StrandProblem *) problems->pdata[i])->warning)
      return FALSE;
  return TRUE;
}
