#include "runner.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "plan.h"
#include "record-build.h"
#include "store-tree.h"
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
  g_autofree char *task_id = g_strdup_printf ("%s/%s", sample_id ? sample_id : "_run", stage->id);
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

static void G_GNUC_PRINTF (3, 4)
fail_task (StrandTaskResult *r, StrandErrorClass error_class, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_free (r->message);
  r->message = g_strdup_vprintf (format, ap);
  va_end (ap);
  r->ok = FALSE;
  r->error_class = error_class;
}

/* Moves each output into the store: read-only first, so the store may take
 * it by hard link instead of a copy; hashed once on the way in. A directory
 * becomes a tree (store-tree.h). */
static void
store_outputs (StrandProvenance *prov, StrandTaskResult *r)
{
  StrandStore *store = strand_provenance_store (prov);
  for (guint i = 0; r->ok && i < r->outputs->len; i++)
    {
      StrandTaskOutput *out = r->outputs->pdata[i];
      g_autoptr (GError) error = NULL;
      StrandObjectInfo info;
      gboolean stored;
      out->tree = g_file_test (out->path, G_FILE_TEST_IS_DIR) &&
                  !g_file_test (out->path, G_FILE_TEST_IS_SYMLINK);
      if (out->tree)
        {
          g_autoptr (StrandDirTree) tree = NULL;
          stored = strand_store_ingest_tree (store, out->path, FALSE, &info, &tree, &error);
          if (stored)
            info.size = tree->bytes;
        }
      else
        {
          g_chmod (out->path, 0444);
          stored = strand_store_ingest_file (store, out->path, TRUE, &info, &error);
        }
      if (!stored)
        {
          StrandErrorClass cls = STRAND_ERROR_TRANSIENT;
          if (g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE))
            cls = STRAND_ERROR_STORAGE;
          else if (g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID))
            cls = STRAND_ERROR_INTERNAL; /* the stage wrote something no store can hold */
          fail_task (r, cls, "output '%s' could not be stored: %s", out->port, error->message);
          return;
        }
      out->sha256 = g_strdup (info.sha256);
      out->md5 = out->tree ? NULL : g_strdup (info.md5);
      out->size = info.size;
      g_free (out->path);
      out->path = strand_store_object_path (store, info.sha256);
    }
}

/* One signed record per attempt, successful or not. Failing to write it
 * fails the task: an output nobody can account for must not be used. */
static void
record_attempt (StrandProvenance *prov, const char *run_id, const StrandStage *stage,
                const StrandTaskSpec *spec, StrandTaskResult *r)
{
  g_autoptr (GArray) inputs = g_array_new (FALSE, FALSE, sizeof (StrandRecordFile));
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const StrandTaskInput *in = spec->inputs->pdata[i];
      if (in->sha256 == NULL)
        continue;
      g_autofree char *base = in->name ? g_strdup (in->name) : g_path_get_basename (in->path);
      /* A per-run task's inputs say whose they are: "reads/@s1/s1.fastq". */
      char *name = spec->sample_id == NULL && in->sample_id
                       ? g_strdup_printf ("%s/@%s/%s", in->port, in->sample_id, base)
                       : g_strdup_printf ("%s/%s", in->port, base);
      g_ptr_array_add (names, name);
      StrandRecordFile f = { name, in->sha256, NULL };
      g_array_append_val (inputs, f);
    }
  g_autoptr (GArray) outputs = g_array_new (FALSE, FALSE, sizeof (StrandRecordFile));
  for (guint i = 0; r->ok && i < r->outputs->len; i++)
    {
      const StrandTaskOutput *out = r->outputs->pdata[i];
      char *name = out->sample_id ? g_strdup_printf ("%s/@%s/%s", out->port, out->sample_id, out->name)
                                  : g_strdup_printf ("%s/%s", out->port, out->name);
      g_ptr_array_add (names, name);
      StrandRecordFile f = { name, out->sha256, out->md5 };
      g_array_append_val (outputs, f);
    }
  g_autoptr (GArray) tools = g_array_new (FALSE, FALSE, sizeof (StrandRecordTool));
  for (guint i = 0; i < r->tools->len; i++)
    {
      const StrandToolUse *t = r->tools->pdata[i];
      if (t->sha256 == NULL)
        continue;
      StrandRecordTool tool = { t->path, t->version, t->sha256 };
      g_array_append_val (tools, tool);
    }
  const StrandPluginInfo *plugin = stage->resolved;
  StrandStageRunFacts facts = {
    .run_id = run_id,
    .stage = stage->id,
    .sample = spec->sample_id,
    .plugin_name = plugin->name,
    .plugin_version = plugin->version,
    .plugin_path = plugin->path,
    .plugin_sha256 = plugin->sha256,
    .params = spec->params,
    .inputs = (const StrandRecordFile *) inputs->data,
    .n_inputs = inputs->len,
    .outputs = (const StrandRecordFile *) outputs->data,
    .n_outputs = outputs->len,
    .tools = (const StrandRecordTool *) tools->data,
    .n_tools = tools->len,
    .cores = spec->cores,
    .memory_bytes = spec->memory_bytes,
    .attempt = spec->attempt,
    .started_us = r->start_us,
    .finished_us = r->end_us,
    .exit_status = r->exit_status,
    .error_class = r->ok ? NULL : strand_error_class_name (r->error_class),
    .message = r->ok ? NULL : r->message,
    .host_id = strand_provenance_host_id (prov),
  };
  g_autoptr (JsonNode) statement = strand_statement_stage_run (&facts);
  g_autoptr (GError) error = NULL;
  if (!strand_provenance_record (prov, statement, &error))
    {
      g_warning ("task %s: the ledger refused its record: %s", spec->task_id, error->message);
      fail_task (r, STRAND_ERROR_STORAGE, "its record could not be written: %s", error->message);
    }
}

/* How an input that could not be prepared fails its task. */
static StrandErrorClass
input_error_class (const GError *error)
{
  if (g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INTEGRITY))
    return STRAND_ERROR_INTEGRITY;
  if (g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE))
    return STRAND_ERROR_STORAGE;
  return STRAND_ERROR_TRANSIENT;
}

/* The run's own files (samples' and per-run inputs) enter the store with
 * their ingest records before anything runs, so every stage's record names
 * inputs an auditor can find and a reproduction can use. */
static gboolean
ingest_inputs (StrandProvenance *prov, StrandPipeline *pipeline, GPtrArray *samples,
               GError **error)
{
  for (guint i = 0; i < pipeline->inputs->len; i++)
    {
      const StrandPipelineInput *in = pipeline->inputs->pdata[i];
      if (in->per_run && in->path != NULL &&
          !strand_provenance_ingest (prov, in->path, NULL, NULL, NULL, NULL, error))
        return FALSE;
    }
  for (guint i = 0; i < samples->len; i++)
    {
      const StrandSample *s = samples->pdata[i];
      for (guint k = 0; k < s->files->len; k++)
        {
          const StrandSampleFile *f = s->files->pdata[k];
          if (!strand_provenance_ingest (prov, f->path, s->id, f->format, NULL, NULL, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* A stage that names a bad input names the store's copy it read; the
 * operator knows the file by the name they gave it. */
static void
name_user_files (const StrandTaskSpec *spec, StrandTaskResult *r)
{
  for (guint i = 0; !r->ok && r->message && i < spec->inputs->len; i++)
    {
      const StrandTaskInput *in = spec->inputs->pdata[i];
      if (in->source == NULL || strstr (r->message, in->path) == NULL)
        continue;
      g_auto (GStrv) parts = g_strsplit (r->message, in->path, -1);
      g_free (r->message);
      r->message = g_strjoinv (in->source, parts);
    }
}

StrandRun *
strand_run_pipeline (StrandPipeline *pipeline, GPtrArray *samples, StrandProvenance *prov,
                     const char *runs_dir, StrandRunProgress progress, gpointer user_data,
                     GError **error)
{
  gint64 now = strand_clock_now_us ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now / G_USEC_PER_SEC);
  g_autofree char *stamp = g_date_time_format (dt, "%Y%m%dT%H%M%SZ");
  g_autoptr (StrandRun) run = g_new0 (StrandRun, 1);
  run->run_id = g_strdup_printf ("%s-%08x", stamp, g_random_int ());
  /* Absolute, so that links a stage makes to its inputs resolve anywhere. */
  g_autofree char *runs_abs = g_canonicalize_filename (runs_dir, NULL);
  run->run_dir = g_build_filename (runs_abs, run->run_id, NULL);
  run->tasks = g_ptr_array_new_with_free_func (record_free);
  if (g_mkdir_with_parents (run->run_dir, 0750) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "cannot create run directory %s: %s", run->run_dir, g_strerror (errno));
      return NULL;
    }
  StrandStore *store = prov ? strand_provenance_store (prov) : NULL;
  if (prov && !ingest_inputs (prov, pipeline, samples, error))
    return NULL;
  g_autoptr (StrandPlan) plan = strand_plan_new (pipeline, samples);
  /* Each plan task's result, borrowed from its record. */
  g_autofree StrandTaskResult **results = g_new0 (StrandTaskResult *, plan->tasks->len);

  for (guint t = 0; t < plan->tasks->len; t++)
    {
      const StrandPlanTask *task = plan->tasks->pdata[t];
      const StrandStage *stage = task->stage;
      const char *sample_id = task->sample ? task->sample->id : NULL;
      StrandTaskRecord *record = g_new0 (StrandTaskRecord, 1);
      record->sample_id = g_strdup (sample_id);
      record->stage_id = g_strdup (stage->id);
      g_ptr_array_add (run->tasks, record);

      g_autofree char *work_dir =
          g_build_filename (run->run_dir, sample_id ? sample_id : "_run", stage->id, NULL);
      g_autoptr (StrandTaskSpec) spec = strand_stage_task_spec (stage, sample_id, work_dir);
      if (task->sample)
        spec->sample_meta = g_hash_table_ref (task->sample->meta);
      g_autoptr (GError) input_error = NULL;
      StrandPlanInputs ready = strand_plan_task_inputs (plan, task, results, store, spec, &input_error);
      if (ready == STRAND_PLAN_UPSTREAM_FAILED)
        {
          run->skipped++;
          if (progress)
            progress (record, user_data);
          continue;
        }
      g_autoptr (GError) space_error = NULL;
      if (ready == STRAND_PLAN_READY && store)
        strand_store_check_space (store, stage->resolved->resources.output_bytes, &space_error);
      if (input_error != NULL || space_error != NULL)
        {
          /* Nothing ran: say why, in the same place a run's failure goes. */
          record->result = strand_task_result_new ();
          record->result->start_us = record->result->end_us = strand_clock_now_us ();
          if (input_error)
            fail_task (record->result, input_error_class (input_error), "%s", input_error->message);
          else
            fail_task (record->result, STRAND_ERROR_STORAGE, "%s", space_error->message);
        }
      else
        {
          record->result = strand_worker_run (spec);
          name_user_files (spec, record->result);
          if (record->result->ok && prov)
            store_outputs (prov, record->result);
        }
      if (prov)
        record_attempt (prov, run->run_id, stage, spec, record->result);
      results[t] = record->result;
      if (record->result->ok)
        run->succeeded++;
      else
        run->failed++;
      if (progress)
        progress (record, user_data);
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
              json_builder_set_member_name (b, "sample");
              if (o->sample_id)
                json_builder_add_string_value (b, o->sample_id);
              else
                json_builder_add_null_value (b);
              json_builder_set_member_name (b, "tree");
              json_builder_add_boolean_value (b, o->tree);
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
