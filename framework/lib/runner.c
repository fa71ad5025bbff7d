#include "runner.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "worker.h"

static void
record_free (gpointer p)
{
  StrandTaskRecord *r = p;
  g_free (r->sample_id);
  g_free (r->stage_id);
  strand_task_result_free (r->result);
  g_free (r);
}

void
strand_run_free (StrandRun *run)
{
  if (run == NULL)
    return;
  g_free (run->run_id);
  g_free (run->run_dir);
  g_ptr_array_unref (run->tasks);
  g_free (run);
}

StrandTaskSpec *
strand_stage_task_spec (const StrandStage *stage, const char *sample_id, const char *work_dir)
{
  const StrandPluginInfo *plugin = stage->resolved;
  g_autofree char *task_id = g_strdup_printf ("%s/%s", sample_id ? sample_id : "-", stage->id);
  StrandTaskSpec *spec = strand_task_spec_new (plugin, task_id);
  spec->sample_id = g_strdup (sample_id);
  spec->work_dir = g_strdup (work_dir);
  for (guint i = 0; i < plugin->params->len; i++)
    {
      const StrandParamInfo *p = plugin->params->pdata[i];
      char *v = strand_stage_param_text (stage, p->name);
      if (v == NULL)
        v = g_strdup (p->default_value);
      if (v != NULL)
        g_hash_table_insert (spec->params, g_strdup (p->name), v);
    }
  spec->cores = MAX (stage->resources.cores ? stage->resources.cores : plugin->resources.cores, 1u);
  spec->memory_bytes = 0; /* limits come with the scheduler and executor */
  return spec;
}

static const char *
find_output (const StrandTaskRecord *record, const char *port, guint nth)
{
  if (record == NULL || record->result == NULL || !record->result->ok)
    return NULL;
  guint seen = 0;
  for (guint i = 0; i < record->result->outputs->len; i++)
    {
      const StrandTaskOutput *o = record->result->outputs->pdata[i];
      if (g_strcmp0 (o->port, port) == 0 && seen++ == nth)
        return o->path;
    }
  return NULL;
}

StrandRun *
strand_run_pipeline (StrandPipeline *pipeline, GPtrArray *samples, const char *runs_dir,
                     StrandRunProgress progress, gpointer user_data, GError **error)
{
  gint64 now = strand_clock_now_us ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now / G_USEC_PER_SEC);
  g_autofree char *stamp = g_date_time_format (dt, "%Y%m%dT%H%M%SZ");
  g_autoptr (StrandRun) run = g_new0 (StrandRun, 1);
  run->run_id = g_strdup_printf ("%s-%08x", stamp, g_random_int ());
  run->run_dir = g_build_filename (runs_dir, run->run_id, NULL);
  run->tasks = g_ptr_array_new_with_free_func (record_free);
  if (g_mkdir_with_parents (run->run_dir, 0750) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "cannot create run directory %s: %s", run->run_dir, g_strerror (errno));
      return NULL;
    }

  g_autoptr (GArray) order = strand_pipeline_topological_order (pipeline);
  guint n_stages = pipeline->stages->len;
  for (guint si = 0; si < samples->len; si++)
    {
      const StrandSample *sample = samples->pdata[si];
      /* This sample's record of each stage, by stage index. */
      g_autofree StrandTaskRecord **done = g_new0 (StrandTaskRecord *, n_stages);
      for (guint k = 0; k < order->len; k++)
        {
          guint idx = g_array_index (order, guint, k);
          const StrandStage *stage = pipeline->stages->pdata[idx];
          StrandTaskRecord *record = g_new0 (StrandTaskRecord, 1);
          record->sample_id = g_strdup (sample->id);
          record->stage_id = g_strdup (stage->id);
          done[idx] = record;
          g_ptr_array_add (run->tasks, record);

          g_autofree char *work_dir = g_build_filename (run->run_dir, sample->id, stage->id, NULL);
          g_autoptr (StrandTaskSpec) spec = strand_stage_task_spec (stage, sample->id, work_dir);
          spec->sample_meta = g_hash_table_ref (sample->meta);
          gboolean upstream_failed = FALSE;
          for (guint e = 0; e < pipeline->edges->len; e++)
            {
              const StrandEdge *edge = pipeline->edges->pdata[e];
              if (g_strcmp0 (edge->to_stage, stage->id) != 0)
                continue;
              if (edge->from_stage == NULL)
                {
                  for (guint i = 0; i < sample->files->len; i++)
                    {
                      const StrandSampleFile *in = sample->files->pdata[i];
                      if (g_strcmp0 (in->input, edge->from_port) == 0)
                        strand_task_spec_add_input (spec, edge->to_port, in->path, in->format);
                    }
                  continue;
                }
              guint from = 0;
              while (from < n_stages &&
                     g_strcmp0 (((StrandStage *) pipeline->stages->pdata[from])->id, edge->from_stage))
                from++;
              StrandTaskRecord *up = from < n_stages ? done[from] : NULL;
              if (up == NULL || up->result == NULL || !up->result->ok)
                {
                  upstream_failed = TRUE;
                  continue;
                }
              const StrandPortInfo *port =
                  strand_plugin_info_find_port (((StrandStage *) pipeline->stages->pdata[from])->resolved,
                                                TRUE, edge->from_port);
              const char *path;
              for (guint nth = 0; (path = find_output (up, edge->from_port, nth)) != NULL; nth++)
                strand_task_spec_add_input (spec, edge->to_port, path, port ? port->formats : NULL);
            }
          if (upstream_failed)
            {
              run->skipped++;
              if (progress)
                progress (record, user_data);
              continue;
            }
          record->result = strand_worker_run (spec);
          if (record->result->ok)
            run->succeeded++;
          else
            run->failed++;
          if (progress)
            progress (record, user_data);
        }
    }

  g_autoptr (JsonNode) summary = strand_run_to_json (run, pipeline);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, summary);
  g_autofree char *summary_path = g_build_filename (run->run_dir, "run.json", NULL);
  if (!json_generator_to_file (gen, summary_path, error))
    return NULL;
  return g_steal_pointer (&run);
}

JsonNode *
strand_run_to_json (const StrandRun *run, const StrandPipeline *pipeline)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "run_id");
  json_builder_add_string_value (b, run->run_id);
  json_builder_set_member_name (b, "run_dir");
  json_builder_add_string_value (b, run->run_dir);
  json_builder_set_member_name (b, "pipeline");
  json_builder_add_string_value (b, pipeline->name);
  json_builder_set_member_name (b, "succeeded");
  json_builder_add_int_value (b, run->succeeded);
  json_builder_set_member_name (b, "failed");
  json_builder_add_int_value (b, run->failed);
  json_builder_set_member_name (b, "skipped");
  json_builder_add_int_value (b, run->skipped);
  json_builder_set_member_name (b, "tasks");
  json_builder_begin_array (b);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      const StrandTaskRecord *t = run->tasks->pdata[i];
      const StrandTaskResult *r = t->result;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "sample");
      json_builder_add_string_value (b, t->sample_id);
      json_builder_set_member_name (b, "stage");
      json_builder_add_string_value (b, t->stage_id);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, r == NULL ? "skipped" : r->ok ? "ok" : "failed");
      if (r != NULL)
        {
          json_builder_set_member_name (b, "seconds");
          json_builder_add_double_value (b, (double) (r->end_us - r->start_us) / G_USEC_PER_SEC);
          if (!r->ok)
            {
              json_builder_set_member_name (b, "error_class");
              json_builder_add_string_value (b, strand_error_class_name (r->error_class));
              json_builder_set_member_name (b, "message");
              json_builder_add_string_value (b, r->message ? r->message : "");
            }
          json_builder_set_member_name (b, "log");
          json_builder_add_string_value (b, r->log_path);
          json_builder_set_member_name (b, "outputs");
          json_builder_begin_array (b);
          for (guint k = 0; k < r->outputs->len; k++)
            {
              const StrandTaskOutput *o = r->outputs->pdata[k];
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "port");
              json_builder_add_string_value (b, o->port);
              json_builder_set_member_name (b, "path");
              json_builder_add_string_value (b, o->path);
              json_builder_set_member_name (b, "sha256");
              if (o->sha256)
                json_builder_add_string_value (b, o->sha256);
              else
                json_builder_add_null_value (b);
              json_builder_set_member_name (b, "size");
              json_builder_add_int_value (b, (gint64) o->size);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_set_member_name (b, "metrics");
          json_builder_begin_object (b);
          g_autoptr (GList) keys = g_hash_table_get_keys (r->metrics);
          keys = g_list_sort (keys, (GCompareFunc) strcmp);
          for (GList *l = keys; l; l = l->next)
            {
              json_builder_set_member_name (b, l->data);
              json_builder_add_double_value (b, *(double *) g_hash_table_lookup (r->metrics, l->data));
            }
          json_builder_end_object (b);
          json_builder_set_member_name (b, "tools");
          json_builder_begin_array (b);
          for (guint k = 0; k < r->tools->len; k++)
            {
              const StrandToolUse *tool = r->tools->pdata[k];
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "path");
              json_builder_add_string_value (b, tool->path);
              json_builder_set_member_name (b, "version");
              json_builder_add_string_value (b, tool->version ? tool->version : "");
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
