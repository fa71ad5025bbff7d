#include "task.h"

void
strand_task_input_free (StrandTaskInput *in)
{
  if (in == NULL)
    return;
  g_free (in->port);
  g_free (in->path);
  g_free (in->format);
  g_free (in->name);
  g_free (in->sha256);
  g_free (in->sample_id);
  g_free (in->source);
  g_free (in);
}

static void
task_sample_free (gpointer p)
{
  StrandTaskSample *s = p;
  g_free (s->id);
  g_clear_pointer (&s->meta, g_hash_table_unref);
  g_free (s);
}

static void
output_free (gpointer p)
{
  StrandTaskOutput *out = p;
  g_free (out->port);
  g_free (out->path);
  g_free (out->name);
  g_free (out->sha256);
  g_free (out->md5);
  g_free (out->sample_id);
  g_free (out);
}

static void
tool_free (gpointer p)
{
  StrandToolUse *tool = p;
  g_free (tool->path);
  g_free (tool->version);
  g_free (tool->sha256);
  g_free (tool);
}

StrandTaskSpec *
strand_task_spec_new (const StrandPluginInfo *plugin, const char *task_id)
{
  StrandTaskSpec *spec = g_new0 (StrandTaskSpec, 1);
  spec->plugin = plugin;
  spec->task_id = g_strdup (task_id);
  spec->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  spec->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_task_input_free);
  spec->run_samples = g_ptr_array_new_with_free_func (task_sample_free);
  spec->cores = 1;
  spec->attempt = 1;
  return spec;
}

void
strand_task_spec_free (StrandTaskSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->task_id);
  g_free (spec->sample_id);
  g_clear_pointer (&spec->sample_meta, g_hash_table_unref);
  g_hash_table_unref (spec->params);
  g_ptr_array_unref (spec->inputs);
  g_ptr_array_unref (spec->run_samples);
  g_free (spec->work_dir);
  g_free (spec);
}

StrandTaskInput *
strand_task_spec_add_input (StrandTaskSpec *spec, const char *port, const char *path,
                            const char *format)
{
  StrandTaskInput *in = g_new0 (StrandTaskInput, 1);
  in->port = g_strdup (port);
  in->path = g_strdup (path);
  in->format = g_strdup (format);
  g_ptr_array_add (spec->inputs, in);
  return in;
}

void
strand_task_spec_add_run_sample (StrandTaskSpec *spec, const char *id, GHashTable *meta)
{
  StrandTaskSample *s = g_new0 (StrandTaskSample, 1);
  s->id = g_strdup (id);
  s->meta = meta ? g_hash_table_ref (meta) : NULL;
  g_ptr_array_add (spec->run_samples, s);
}

StrandTaskResult *
strand_task_result_new (void)
{
  StrandTaskResult *result = g_new0 (StrandTaskResult, 1);
  result->exit_status = -1;
  result->outputs = g_ptr_array_new_with_free_func (output_free);
  result->tools = g_ptr_array_new_with_free_func (tool_free);
  result->metrics = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return result;
}

void
strand_task_result_free (StrandTaskResult *result)
{
  if (result == NULL)
    return;
  g_free (result->message);
  g_ptr_array_unref (result->outputs);
  g_ptr_array_unref (result->tools);
  g_hash_table_unref (result->metrics);
  g_free (result->log_path);
  g_free (result);
}
