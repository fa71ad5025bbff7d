#include "run-report.h"

#include <math.h>
#include <string.h>

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

JsonNode *
strand_run_report (const StrandRun *run, const StrandPipeline *pipeline)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (row_free);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      const StrandTaskRecord *t = run->tasks->pdata[i];
      Row *row = row_for (rows, t->sample_id);
      const StrandTaskResult *r = t->result;
      if (r == NULL)
        row->incomplete = TRUE;
      else if (!r->ok && row->failure == NULL)
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
  return g_string_free (text, FALSE);
}
