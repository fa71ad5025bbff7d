#include "run-report.h"

#include <math.h>
#include <string.h>

#include "formats.h"
#include "run-usage.h"

typedef struct {
  const char *sample;     /* NULL: the run's own tasks */
  const char *stopped_at; /* the first stage that failed */
  const StrandTaskResult *failure;
  gboolean incomplete;    /* a task was skipped without a failure of its own */
  GHashTable *values;     /* "stage.metric" -> double* (borrowed) */
} Row;

static Row *
row_for (GPtrArray *rows, const char *sample)
{
  for (guint i = 0; i < rows->len; i++)
    {
      Row *r = rows->pdata[i];
      if (g_strcmp0 (r->sample, sample) == 0)
        return r;
    }
  Row *r = g_new0 (Row, 1);
  r->sample = sample;
  r->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_ptr_array_add (rows, r);
  return r;
}

static void
row_free (gpointer p)
{
  Row *r = p;
  g_hash_table_unref (r->values);
  g_free (r);
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Each column over the samples that have a figure in it (the run's own row
 * is not a sample): how many, min, median (the mean of the middle two for
 * an even count) and max. */
static void
add_column_summaries (JsonBuilder *b, GPtrArray *rows, GPtrArray *columns)
{
  json_builder_set_member_name (b, "summary");
  json_builder_begin_array (b);
  for (guint c = 0; c < columns->len; c++)
    {
      g_autoptr (GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
      for (guint i = 0; i < rows->len; i++)
        {
          const Row *row = rows->pdata[i];
          double *v = g_hash_table_lookup (row->values, columns->pdata[c]);
          if (row->sample != NULL && v != NULL && isfinite (*v))
            g_array_append_val (values, *v);
        }
      if (values->len == 0)
        continue;
      g_array_sort (values, compare_doubles);
      const double *v = (const double *) values->data;
      guint n = values->len;
      double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "column");
      json_builder_add_string_value (b, columns->pdata[c]);
      json_builder_set_member_name (b, "samples");
      json_builder_add_int_value (b, n);
      json_builder_set_member_name (b, "min");
      json_builder_add_double_value (b, v[0]);
      json_builder_set_member_name (b, "median");
      json_builder_add_double_value (b, median);
      json_builder_set_member_name (b, "max");
      json_builder_add_double_value (b, v[n - 1]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* How many samples came through every stage, and where the others stopped:
 * a QC stage that fails a sample shows as failures at that stage. */
static void
add_verdicts (JsonBuilder *b, GPtrArray *rows)
{
  guint samples = 0, ok = 0, failed = 0, incomplete = 0;
  g_autoptr (GPtrArray) stages = g_ptr_array_new (); /* where failures stopped, first seen first */
  g_autoptr (GArray) counts = g_array_new (FALSE, TRUE, sizeof (guint));
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *row = rows->pdata[i];
      if (row->sample == NULL)
        continue;
      samples++;
      if (row->failure == NULL)
        {
          row->incomplete ? incomplete++ : ok++;
          continue;
        }
      failed++;
      guint k = 0;
      while (k < stages->len && strcmp (stages->pdata[k], row->stopped_at) != 0)
        k++;
      if (k == stages->len)
        {
          g_ptr_array_add (stages, (gpointer) row->stopped_at);
          g_array_set_size (counts, stages->len);
        }
      g_array_index (counts, guint, k)++;
    }
  json_builder_set_member_name (b, "verdicts");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "samples");
  json_builder_add_int_value (b, samples);
  json_builder_set_member_name (b, "ok");
  json_builder_add_int_value (b, ok);
  json_builder_set_member_name (b, "failed");
  json_builder_add_int_value (b, failed);
  json_builder_set_member_name (b, "incomplete");
  json_builder_add_int_value (b, incomplete);
  json_builder_set_member_name (b, "failed_at");
  json_builder_begin_object (b);
  for (guint k = 0; k < stages->len; k++)
    {
      json_builder_set_member_name (b, stages->pdata[k]);
      json_builder_add_int_value (b, g_array_index (counts, guint, k));
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
}

JsonNode *
strand_run_report (const StrandRun *run, const StrandPipeline *pipeline)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (row_free);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      const StrandTaskRecord *t = run->tasks->pdata[i];
      Row *row = row_for (rows, t->sample_id);
      const StrandTaskResult *r = t->result;
      /* A task stopped because its sample failed elsewhere (or the run
       * stopped) has a result that is not ok, but the failure is not its. */
      gboolean failed_here = r != NULL && !r->ok && g_strcmp0 (t->status, "failed") == 0;
      if (r == NULL || (!r->ok && !failed_here))
        row->incomplete = TRUE;
      else if (failed_here && row->failure == NULL)
        {
          row->failure = r;
          row->stopped_at = t->stage_id;
        }
      for (guint c = 0; r && c < pipeline->report->len; c++)
        {
          const char *column = pipeline->report->pdata[c];
          gsize n = strlen (t->stage_id);
          if (strncmp (column, t->stage_id, n) != 0 || column[n] != '.')
            continue;
          double *v = g_hash_table_lookup (r->metrics, column + n + 1);
          if (v != NULL)
            g_hash_table_replace (row->values, g_strdup (column), v);
        }
    }
  /* The run's own stages get a row only when there is something to say. */
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = rows->pdata[i];
      if (row->sample == NULL && row->failure == NULL && !row->incomplete &&
          g_hash_table_size (row->values) == 0)
        g_ptr_array_remove_index (rows, i--);
    }

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "run");
  json_builder_add_string_value (b, run->run_id);
  json_builder_set_member_name (b, "columns");
  json_builder_begin_array (b);
  for (guint c = 0; c < pipeline->report->len; c++)
    json_builder_add_string_value (b, pipeline->report->pdata[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "samples");
  json_builder_begin_array (b);
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *row = rows->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "sample");
      if (row->sample)
        json_builder_add_string_value (b, row->sample);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, row->failure ? "failed" : row->incomplete ? "incomplete" : "ok");
      if (row->failure)
        {
          json_builder_set_member_name (b, "stopped_at");
          json_builder_add_string_value (b, row->stopped_at);
          json_builder_set_member_name (b, "error_class");
          json_builder_add_string_value (b, strand_error_class_name (row->failure->error_class));
          json_builder_set_member_name (b, "message");
          json_builder_add_string_value (b, row->failure->message ? row->failure->message : "");
        }
      json_builder_set_member_name (b, "values");
      json_builder_begin_object (b);
      for (guint c = 0; c < pipeline->report->len; c++)
        {
          double *v = g_hash_table_lookup (row->values, pipeline->report->pdata[c]);
          if (v == NULL)
            continue;
          json_builder_set_member_name (b, pipeline->report->pdata[c]);
          json_builder_add_double_value (b, *v);
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  add_column_summaries (b, rows, pipeline->report);
  add_verdicts (b, rows);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

typedef enum { AS_COUNT, AS_FRACTION, AS_NUMBER } Format;

/* A column of counts prints as integers, one of fractions (or named as
 * one: precision, recall, ...) with three decimals, anything else with two. */
static Format
column_format (JsonArray *samples, const char *column)
{
  static const char *const fraction_names[] = { "fraction", "precision", "recall", "f1", "rate" };
  for (guint i = 0; i < G_N_ELEMENTS (fraction_names); i++)
    if (g_str_has_suffix (column, fraction_names[i]))
      return AS_FRACTION;
  gboolean integers = TRUE, fractions = TRUE;
  for (guint i = 0; i < json_array_get_length (samples); i++)
    {
      JsonObject *values = json_object_get_object_member (json_array_get_object_element (samples, i), "values");
      if (!json_object_has_member (values, column))
        continue;
      double v = json_object_get_double_member (values, column);
      integers &= isfinite (v) && v == floor (v) && fabs (v) < 1e15;
      fractions &= isfinite (v) && fabs (v) <= 1.0;
    }
  return integers ? AS_COUNT : fractions ? AS_FRACTION : AS_NUMBER;
}

static char *
format_value (Format format, double v)
{
  switch (format)
    {
    case AS_COUNT:
      return g_strdup_printf ("%.0f", v);
    case AS_FRACTION:
      return g_strdup_printf ("%.3f", v);
    default:
      return g_strdup_printf ("%.2f", v);
    }
}

/* Beneath the table: each column over two samples or more as min / median
 * / max, then how many samples passed. `formats` are the columns'. */
static void
append_summary (GString *text, JsonObject *report, const Format *formats)
{
  JsonArray *columns = json_object_get_array_member (report, "columns");
  JsonArray *summary = json_object_get_array_member (report, "summary");
  JsonObject *verdicts = json_object_get_object_member (report, "verdicts");
  g_autoptr (GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (cells, g_strdup_printf ("over %" G_GINT64_FORMAT " samples",
                                           json_object_get_int_member (verdicts, "samples")));
  g_ptr_array_add (cells, g_strdup ("min"));
  g_ptr_array_add (cells, g_strdup ("median"));
  g_ptr_array_add (cells, g_strdup ("max"));
  for (guint i = 0; i < json_array_get_length (summary); i++)
    {
      JsonObject *s = json_array_get_object_element (summary, i);
      if (json_object_get_int_member (s, "samples") < 2)
        continue;
      const char *column = json_object_get_string_member (s, "column");
      guint c = 0;
      while (g_strcmp0 (json_array_get_string_element (columns, c), column) != 0)
        c++;
      g_ptr_array_add (cells, g_strdup_printf ("  %s", column));
      g_ptr_array_add (cells, format_value (formats[c], json_object_get_double_member (s, "min")));
      g_ptr_array_add (cells, format_value (formats[c], json_object_get_double_member (s, "median")));
      g_ptr_array_add (cells, format_value (formats[c], json_object_get_double_member (s, "max")));
    }
  guint width[4] = { 0 };
  for (guint i = 0; i < cells->len; i++)
    width[i % 4] = MAX (width[i % 4], (guint) g_utf8_strlen (cells->pdata[i], -1));
  for (guint i = 0; cells->len > 4 && i < cells->len; i += 4)
    {
      const char *name = cells->pdata[i];
      g_string_append_printf (text, "%s%s%*s", i == 0 ? "\n" : "", name,
                              (int) (width[0] - g_utf8_strlen (name, -1)), "");
      for (guint k = 1; k < 4; k++)
        g_string_append_printf (text, "  %*s", (int) width[k], (const char *) cells->pdata[i + k]);
      g_string_append_c (text, '\n');
    }

  gint64 samples = json_object_get_int_member (verdicts, "samples");
  gint64 ok = json_object_get_int_member (verdicts, "ok");
  gint64 failed = json_object_get_int_member (verdicts, "failed");
  gint64 incomplete = json_object_get_int_member (verdicts, "incomplete");
  g_string_append_printf (text, "\n%" G_GINT64_FORMAT " sample%s: %" G_GINT64_FORMAT
                          " passed every stage", samples, samples == 1 ? "" : "s", ok);
  if (failed > 0)
    {
      g_string_append_printf (text, ", %" G_GINT64_FORMAT " failed (", failed);
      JsonObject *at = json_object_get_object_member (verdicts, "failed_at");
      g_autoptr (GList) stages = json_object_get_members (at);
      for (GList *l = stages; l; l = l->next)
        g_string_append_printf (text, "%s%" G_GINT64_FORMAT " at %s", l == stages ? "" : ", ",
                                json_object_get_int_member (at, l->data), (const char *) l->data);
      g_string_append_c (text, ')');
    }
  if (incomplete > 0)
    g_string_append_printf (text, ", %" G_GINT64_FORMAT " incomplete", incomplete);
  g_string_append_c (text, '\n');
}

char *
strand_run_report_text (JsonNode *report)
{
  JsonObject *o = json_node_get_object (report);
  JsonArray *columns = json_object_get_array_member (o, "columns");
  JsonArray *samples = json_object_get_array_member (o, "samples");
  guint n_cols = json_array_get_length (columns) + 2;
  guint n_rows = json_array_get_length (samples) + 1;
  g_autoptr (GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (cells, g_strdup ("sample"));
  g_ptr_array_add (cells, g_strdup ("status"));
  for (guint c = 0; c + 2 < n_cols; c++)
    g_ptr_array_add (cells, g_strdup (json_array_get_string_element (columns, c)));
  g_autofree Format *formats = g_new0 (Format, n_cols);
  for (guint c = 0; c + 2 < n_cols; c++)
    formats[c + 2] = column_format (samples, json_array_get_string_element (columns, c));
  for (guint i = 0; i + 1 < n_rows; i++)
    {
      JsonObject *s = json_array_get_object_element (samples, i);
      JsonObject *values = json_object_get_object_member (s, "values");
      const char *id = json_object_get_null_member (s, "sample") ? "(run)"
                                                                : json_object_get_string_member (s, "sample");
      g_ptr_array_add (cells, g_strdup (id));
      const char *status = json_object_get_string_member (s, "status");
      if (strcmp (status, "failed") == 0)
        g_ptr_array_add (cells, g_strdup_printf ("FAILED at %s (%s)",
                                                 json_object_get_string_member (s, "stopped_at"),
                                                 json_object_get_string_member (s, "error_class")));
      else
        g_ptr_array_add (cells, g_strdup (status));
      for (guint c = 0; c + 2 < n_cols; c++)
        {
          const char *col = json_array_get_string_element (columns, c);
          g_ptr_array_add (cells, json_object_has_member (values, col)
                                      ? format_value (formats[c + 2],
                                                      json_object_get_double_member (values, col))
                                      : g_strdup ("-"));
        }
    }
  g_autofree guint *width = g_new0 (guint, n_cols);
  for (guint i = 0; i < cells->len; i++)
    width[i % n_cols] = MAX (width[i % n_cols], (guint) g_utf8_strlen (cells->pdata[i], -1));
  GString *text = g_string_new (NULL);
  for (guint r = 0; r < n_rows; r++)
    {
      for (guint c = 0; c < n_cols; c++)
        {
          const char *cell = cells->pdata[r * n_cols + c];
          guint pad = width[c] - (guint) g_utf8_strlen (cell, -1);
          /* Names to the left, figures to the right. */
          if (c < 2)
            g_string_append_printf (text, "%s%*s", cell, c + 1 < n_cols ? (int) pad + 2 : 0, "");
          else
            g_string_append_printf (text, "%*s%s%s", (int) pad, "", cell, c + 1 < n_cols ? "  " : "");
        }
      g_string_append_c (text, '\n');
    }
  append_summary (text, o, formats + 2);
  return g_string_free (text, FALSE);
}

/* ---- the pipeline's outputs ------------------------------------------------------- */

/* The product an analyst asks about first, by the format of its port:
 * variant calls, then alignments, then reads. */
static guint
format_rank (const StrandPipeline *pipeline, const char *stage_port)
{
  static const char *const ranked[] = { "vcf", "bcf", "cram", "bam", "fastq" };
  const char *dot = strchr (stage_port, '.');
  g_autofree char *stage_id = g_strndup (stage_port, dot ? (gsize) (dot - stage_port) : strlen (stage_port));
  const StrandStage *stage = strand_pipeline_find_stage (pipeline, stage_id);
  const StrandPluginInfo *plugin = stage ? stage->resolved : NULL;
  for (guint i = 0; dot && plugin && i < plugin->outputs->len; i++)
    {
      const StrandPortInfo *port = plugin->outputs->pdata[i];
      if (strcmp (port->name, dot + 1) != 0 || port->formats == NULL)
        continue;
      guint best = G_N_ELEMENTS (ranked);
      g_auto (GStrv) formats = strand_formats_split (port->formats);
      for (char **f = formats; *f; f++)
        for (guint r = 0; r < best; r++)
          if (strcmp (*f, ranked[r]) == 0)
            best = r;
      return best;
    }
  return G_N_ELEMENTS (ranked);
}

JsonNode *
strand_run_outputs (const StrandRun *run, const StrandPipeline *pipeline)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "outputs");
  json_builder_begin_array (b);
  const StrandTaskRecord *example_task = NULL;
  const StrandTaskOutput *example = NULL;
  const char *example_output = NULL;
  guint example_rank = G_MAXUINT;
  for (guint p = 0; p < pipeline->outputs->len; p++)
    {
      const char *stage_port = pipeline->outputs->pdata[p];
      const char *dot = strchr (stage_port, '.');
      if (dot == NULL)
        continue;
      guint rank = format_rank (pipeline, stage_port);
      guint files = 0;
      guint64 bytes = 0;
      for (guint i = 0; i < run->tasks->len; i++)
        {
          const StrandTaskRecord *t = run->tasks->pdata[i];
          const StrandTaskResult *r = t->result;
          if (r == NULL || !r->ok || t->quarantined ||
              strncmp (t->stage_id, stage_port, (gsize) (dot - stage_port)) != 0 ||
              t->stage_id[dot - stage_port] != '\0')
            continue;
          for (guint k = 0; k < r->outputs->len; k++)
            {
              const StrandTaskOutput *o = r->outputs->pdata[k];
              if (strcmp (o->port, dot + 1) != 0)
                continue;
              files++;
              bytes += o->size;
              if (rank < example_rank && o->sha256 != NULL)
                {
                  example_rank = rank;
                  example_task = t;
                  example = o;
                  example_output = stage_port;
                }
            }
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, stage_port);
      json_builder_set_member_name (b, "files");
      json_builder_add_int_value (b, files);
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, (gint64) bytes);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "example");
  if (example == NULL)
    json_builder_add_null_value (b);
  else
    {
      const char *sample = example->sample_id ? example->sample_id : example_task->sample_id;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "output");
      json_builder_add_string_value (b, example_output);
      json_builder_set_member_name (b, "sample");
      if (sample)
        json_builder_add_string_value (b, sample);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, example->name ? example->name : "");
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, example->sha256);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, example->path ? example->path : "");
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

void
strand_run_summary_add (JsonNode *summary, const StrandRun *run, const StrandPipeline *pipeline,
                        const StrandInventory *inventory)
{
  JsonObject *o = json_node_get_object (summary);
  json_object_set_member (o, "report", strand_run_report (run, pipeline));
  json_object_set_member (o, "usage", strand_run_usage (run, inventory));
  json_object_set_member (o, "pipeline_outputs", strand_run_outputs (run, pipeline));
}
