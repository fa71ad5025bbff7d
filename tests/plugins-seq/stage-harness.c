/* The stand-in host (see stage-harness.h). */
#include "stage-harness.h"

#include <gmodule.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  char *id;
  GHashTable *meta;
} HarnessSample;

struct StrandTask {
  StageHarness *h;
};

struct StageHarness {
  GModule *module;
  const StrandStageDescriptor *desc;
  char *work_dir;
  GHashTable *params;  /* name -> value */
  GPtrArray *inputs;   /* char*[2]: port, path */
  GPtrArray *samples;  /* HarnessSample */
  GPtrArray *outputs;  /* HarnessOutput */
  GHashTable *metrics; /* name -> double* */
  char *failure;
  StrandErrorClass error_class;
  guint cores;
  char *scratch;
  struct StrandTask task;
};

static StageHarness *
H (StrandTask *task)
{
  return task->h;
}

static void
output_free (gpointer p)
{
  HarnessOutput *o = p;
  g_free (o->port);
  g_free (o->sample);
  g_free (o->name);
  g_free (o->path);
  g_free (o);
}

static void
sample_free (gpointer p)
{
  HarnessSample *s = p;
  g_free (s->id);
  g_hash_table_unref (s->meta);
  g_free (s);
}

static void
input_free (gpointer p)
{
  char **pair = p;
  g_free (pair[0]);
  g_free (pair[1]);
  g_free (pair);
}

/* ---- the host table ------------------------------------------------------ */

static void
h_log (StrandTask *task, StrandLogLevel level, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (g_test_verbose ())
    g_printerr ("[stage %d] %s\n", (int) level, msg);
}

static int
h_fail (StrandTask *task, StrandErrorClass error_class, const char *format, ...)
{
  StageHarness *h = H (task);
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (g_test_verbose ())
    g_printerr ("[stage failed] %s\n", msg);
  if (h->failure == NULL)
    {
      h->failure = g_steal_pointer (&msg);
      h->error_class = error_class;
    }
  return STRAND_E_FAILED;
}

static const char *
h_sample_id (StrandTask *task)
{
  return NULL;
}

static const char *
h_sample_meta (StrandTask *task, const char *key)
{
  return NULL;
}

static uint32_t
h_cores (StrandTask *task)
{
  return H (task)->cores;
}

static uint64_t
h_memory_bytes (StrandTask *task)
{
  return 0;
}

static int
h_attempt (StrandTask *task)
{
  return 1;
}

static const StrandParamSpec *
find_param (StageHarness *h, const char *name)
{
  for (uint32_t i = 0; i < h->desc->n_params; i++)
    if (strcmp (h->desc->params[i].name, name) == 0)
      return &h->desc->params[i];
  return NULL;
}

static int
param_text (StrandTask *task, const char *name, uint32_t want, const char **text)
{
  StageHarness *h = H (task);
  const StrandParamSpec *spec = find_param (h, name);
  if (spec == NULL)
    return STRAND_E_NOT_FOUND;
  gboolean ok = spec->type == want
                || (want == STRAND_PARAM_STRING
                    && (spec->type == STRAND_PARAM_ENUM || spec->type == STRAND_PARAM_PATH))
                || (want == STRAND_PARAM_DOUBLE && spec->type == STRAND_PARAM_INT);
  if (!ok)
    return STRAND_E_TYPE;
  *text = g_hash_table_lookup (h->params, name);
  if (*text == NULL)
    *text = spec->default_value;
  return *text ? STRAND_OK : STRAND_E_NOT_FOUND;
}

static int
h_param_string (StrandTask *task, const char *name, const char **value)
{
  return param_text (task, name, STRAND_PARAM_STRING, value);
}

static int
h_param_int (StrandTask *task, const char *name, int64_t *value)
{
  const char *text;
  int rc = param_text (task, name, STRAND_PARAM_INT, &text);
  if (rc < 0)
    return rc;
  *value = g_ascii_strtoll (text, NULL, 10);
  return STRAND_OK;
}

static int
h_param_double (StrandTask *task, const char *name, double *value)
{
  const char *text;
  int rc = param_text (task, name, STRAND_PARAM_DOUBLE, &text);
  if (rc < 0)
    return rc;
  *value = g_ascii_strtod (text, NULL);
  return STRAND_OK;
}

static int
h_param_bool (StrandTask *task, const char *name, bool *value)
{
  const char *text;
  int rc = param_text (task, name, STRAND_PARAM_BOOL, &text);
  if (rc < 0)
    return rc;
  *value = strcmp (text, "true") == 0;
  return STRAND_OK;
}

static int
h_input_count (StrandTask *task, const char *port)
{
  StageHarness *h = H (task);
  int n = 0;
  for (guint i = 0; i < h->inputs->len; i++)
    n += g_strcmp0 (((char **) h->inputs->pdata[i])[0], port) == 0;
  return n;
}

static const char *
h_input_path (StrandTask *task, const char *port, size_t index)
{
  StageHarness *h = H (task);
  for (guint i = 0; i < h->inputs->len; i++)
    {
      char **pair = h->inputs->pdata[i];
      if (g_strcmp0 (pair[0], port) == 0 && index-- == 0)
        return pair[1];
    }
  return NULL;
}

static const char *
h_input_format (StrandTask *task, const char *port, size_t index)
{
  return NULL;
}

static gboolean
has_sample (StageHarness *h, const char *id)
{
  for (guint i = 0; id != NULL && i < h->samples->len; i++)
    if (strcmp (((HarnessSample *) h->samples->pdata[i])->id, id) == 0)
      return TRUE;
  return FALSE;
}

static int
make_output (StrandTask *task, const char *port, const char *sample, const char *name,
             const char **path)
{
  StageHarness *h = H (task);
  gboolean known = FALSE;
  for (uint32_t i = 0; i < h->desc->n_outputs && port; i++)
    known = known || strcmp (h->desc->outputs[i].name, port) == 0;
  if (!known || name == NULL || *name == '\0' || *name == '.' || strchr (name, '/') != NULL
      || path == NULL)
    return STRAND_E_INVALID;
  g_autofree char *sample_dir = sample ? g_strconcat ("@", sample, NULL) : NULL;
  g_autofree char *dir = g_build_filename (h->work_dir, "outputs", port, sample_dir, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  HarnessOutput *o = g_new0 (HarnessOutput, 1);
  o->port = g_strdup (port);
  o->sample = g_strdup (sample);
  o->name = g_strdup (name);
  o->path = g_build_filename (dir, name, NULL);
  for (guint i = 0; i < h->outputs->len; i++)
    if (strcmp (((HarnessOutput *) h->outputs->pdata[i])->path, o->path) == 0)
      {
        output_free (o);
        return STRAND_E_INVALID;
      }
  g_ptr_array_add (h->outputs, o);
  *path = o->path;
  return STRAND_OK;
}

static int
h_output_path (StrandTask *task, const char *port, const char *file_name, const char **path)
{
  return make_output (task, port, NULL, file_name, path);
}

static void
h_progress (StrandTask *task, double fraction, const char *message)
{
}

static bool
h_cancelled (StrandTask *task)
{
  return false;
}

static const char *
h_scratch_dir (StrandTask *task)
{
  StageHarness *h = H (task);
  if (h->scratch == NULL)
    {
      h->scratch = g_build_filename (h->work_dir, "scratch", NULL);
      g_mkdir_with_parents (h->scratch, 0755);
    }
  return h->scratch;
}

static int
h_run_tool (StrandTask *task, const StrandCommand *commands, size_t n, const StrandToolRun *io,
            int *exit_status)
{
  return STRAND_E_UNSUPPORTED;
}

static int
h_metric (StrandTask *task, const char *name, double value)
{
  double *v = g_new (double, 1);
  *v = value;
  g_hash_table_replace (H (task)->metrics, g_strdup (name), v);
  return STRAND_OK;
}

static size_t
h_run_sample_count (StrandTask *task)
{
  return H (task)->samples->len;
}

static const char *
h_run_sample_id (StrandTask *task, size_t index)
{
  StageHarness *h = H (task);
  return index < h->samples->len ? ((HarnessSample *) h->samples->pdata[index])->id : NULL;
}

static const char *
h_run_sample_meta (StrandTask *task, const char *sample_id, const char *key)
{
  StageHarness *h = H (task);
  for (guint i = 0; sample_id != NULL && i < h->samples->len; i++)
    {
      HarnessSample *s = h->samples->pdata[i];
      if (strcmp (s->id, sample_id) == 0)
        return key ? g_hash_table_lookup (s->meta, key) : NULL;
    }
  return NULL;
}

static int
h_sample_output_path (StrandTask *task, const char *port, const char *sample_id,
                      const char *file_name, const char **path)
{
  if (!has_sample (H (task), sample_id))
    return STRAND_E_INVALID;
  return make_output (task, port, sample_id, file_name, path);
}

static const char *
h_input_sample (StrandTask *task, const char *port, size_t index)
{
  return NULL;
}

static const StrandHost host_table = {
  .struct_size = sizeof (StrandHost),
  .abi_major = STRAND_ABI_MAJOR,
  .abi_minor = STRAND_ABI_MINOR,
  .log = h_log,
  .fail = h_fail,
  .sample_id = h_sample_id,
  .sample_meta = h_sample_meta,
  .cores = h_cores,
  .memory_bytes = h_memory_bytes,
  .attempt = h_attempt,
  .param_string = h_param_string,
  .param_int = h_param_int,
  .param_double = h_param_double,
  .param_bool = h_param_bool,
  .input_count = h_input_count,
  .input_path = h_input_path,
  .input_format = h_input_format,
  .output_path = h_output_path,
  .progress = h_progress,
  .cancelled = h_cancelled,
  .scratch_dir = h_scratch_dir,
  .run_tool = h_run_tool,
  .metric = h_metric,
  .run_sample_count = h_run_sample_count,
  .run_sample_id = h_run_sample_id,
  .run_sample_meta = h_run_sample_meta,
  .sample_output_path = h_sample_output_path,
  .input_sample = h_input_sample,
};

/* ---- the harness ------------------------------------------------------------- */

StageHarness *
stage_harness_new (const char *plugin_path, const char *work_dir)
{
  StageHarness *h = g_new0 (StageHarness, 1);
  h->module = g_module_open (plugin_path, G_MODULE_BIND_LOCAL);
  if (h->module == NULL)
    g_error ("cannot load %s: %s", plugin_path, g_module_error ());
  gpointer entry = NULL;
  if (!g_module_symbol (h->module, STRAND_STAGE_ENTRY_SYMBOL, &entry) || entry == NULL)
    g_error ("%s has no %s", plugin_path, STRAND_STAGE_ENTRY_SYMBOL);
  h->desc = ((const StrandStageDescriptor *(*) (void)) entry) ();
  h->work_dir = g_strdup (work_dir);
  h->params = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  h->inputs = g_ptr_array_new_with_free_func (input_free);
  h->samples = g_ptr_array_new_with_free_func (sample_free);
  h->outputs = g_ptr_array_new_with_free_func (output_free);
  h->metrics = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  h->cores = 2;
  h->task.h = h;
  g_mkdir_with_parents (work_dir, 0755);
  return h;
}

void
stage_harness_free (StageHarness *h)
{
  if (h == NULL)
    return;
  g_module_close (h->module);
  g_free (h->work_dir);
  g_hash_table_unref (h->params);
  g_ptr_array_unref (h->inputs);
  g_ptr_array_unref (h->samples);
  g_ptr_array_unref (h->outputs);
  g_hash_table_unref (h->metrics);
  g_free (h->failure);
  g_free (h->scratch);
  g_free (h);
}

const StrandStageDescriptor *
stage_harness_descriptor (StageHarness *h)
{
  return h->desc;
}

void
stage_harness_set_param (StageHarness *h, const char *name, const char *value)
{
  g_assert_nonnull (find_param (h, name));
  g_hash_table_replace (h->params, g_strdup (name), g_strdup (value));
}

void
stage_harness_add_input (StageHarness *h, const char *port, const char *path)
{
  char **pair = g_new0 (char *, 2);
  pair[0] = g_strdup (port);
  pair[1] = g_strdup (path);
  g_ptr_array_add (h->inputs, pair);
}

void
stage_harness_add_sample (StageHarness *h, const char *id, ...)
{
  HarnessSample *s = g_new0 (HarnessSample, 1);
  s->id = g_strdup (id);
  s->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  va_list ap;
  va_start (ap, id);
  const char *key;
  while ((key = va_arg (ap, const char *)) != NULL)
    {
      const char *value = va_arg (ap, const char *);
      g_hash_table_replace (s->meta, g_strdup (key), g_strdup (value));
    }
  va_end (ap);
  g_ptr_array_add (h->samples, s);
}

void
stage_harness_set_cores (StageHarness *h, guint cores)
{
  h->cores = cores;
}

static void
reset (StageHarness *h)
{
  g_clear_pointer (&h->failure, g_free);
  h->error_class = STRAND_ERROR_NONE;
  g_ptr_array_set_size (h->outputs, 0);
  g_hash_table_remove_all (h->metrics);
}

int
stage_harness_validate (StageHarness *h)
{
  reset (h);
  return h->desc->validate ? h->desc->validate (&h->task, &host_table) : STRAND_OK;
}

int
stage_harness_run (StageHarness *h)
{
  reset (h);
  int rc = h->desc->run (&h->task, &host_table);
  if (rc == STRAND_OK)
    g_assert_null (h->failure);
  else if (rc == STRAND_E_FAILED)
    g_assert_nonnull (h->failure);
  return rc;
}

const char *
stage_harness_failure (StageHarness *h)
{
  return h->failure;
}

StrandErrorClass
stage_harness_error_class (StageHarness *h)
{
  return h->error_class;
}

GPtrArray *
stage_harness_outputs (StageHarness *h)
{
  return h->outputs;
}

const char *
stage_harness_output (StageHarness *h, const char *port, const char *sample,
                      const char *name_suffix)
{
  for (guint i = 0; i < h->outputs->len; i++)
    {
      HarnessOutput *o = h->outputs->pdata[i];
      if (strcmp (o->port, port) == 0 && g_strcmp0 (o->sample, sample) == 0
          && (name_suffix == NULL || g_str_has_suffix (o->name, name_suffix)))
        return o->path;
    }
  return NULL;
}

double
stage_harness_metric (StageHarness *h, const char *name)
{
  double *v = g_hash_table_lookup (h->metrics, name);
  return v ? *v : NAN;
}
