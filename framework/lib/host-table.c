#include "host-table.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest.h"

volatile int strand_task_cancel_requested = 0;

/* ---- reporting ------------------------------------------------------------ */

void
strand_task_report (StrandTask *task, JsonNode *message)
{
  g_autofree char *text = json_to_string (message, FALSE);
  g_autofree char *line = g_strconcat (text, "\n", NULL);
  const char *p = line;
  gsize left = strlen (line);
  while (left > 0)
    {
      ssize_t n = write (task->report_fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        _exit (120); /* the host is gone: nothing left to report to */
      p += n;
      left -= (gsize) n;
    }
}

static void G_GNUC_NULL_TERMINATED
report (StrandTask *task, const char *type, ...)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "t");
  json_builder_add_string_value (b, type);
  va_list ap;
  va_start (ap, type);
  const char *key;
  while ((key = va_arg (ap, const char *)) != NULL)
    {
      char kind = (char) va_arg (ap, int);
      json_builder_set_member_name (b, key);
      if (kind == 's')
        {
          const char *v = va_arg (ap, const char *);
          g_autofree char *valid = v ? g_utf8_make_valid (v, -1) : NULL;
          if (valid)
            json_builder_add_string_value (b, valid);
          else
            json_builder_add_null_value (b);
        }
      else if (kind == 'i')
        json_builder_add_int_value (b, va_arg (ap, gint64));
      else
        json_builder_add_double_value (b, va_arg (ap, double));
    }
  va_end (ap);
  json_builder_end_object (b);
  g_autoptr (JsonNode) node = json_builder_get_root (b);
  strand_task_report (task, node);
}

static const char *
keep (StrandTask *task, const char *key, char *value)
{
  g_hash_table_replace (task->strings, g_strdup (key), value);
  return value;
}

/* ---- logging and failure -------------------------------------------------- */

static void
host_log (StrandTask *task, StrandLogLevel level, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  static const char *const names[] = { "error", "warning", "info", "debug" };
  const char *name = (guint) level < G_N_ELEMENTS (names) ? names[level] : "info";
  fprintf (stderr, "[%s] %s\n", name, msg);
  report (task, "log", "level", 's', name, "msg", 's', msg, NULL);
}

static int
host_fail (StrandTask *task, StrandErrorClass error_class, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  const char *name = strand_error_class_name (error_class);
  if (name == NULL || error_class == STRAND_ERROR_NONE)
    name = strand_error_class_name (STRAND_ERROR_INTERNAL);
  fprintf (stderr, "[fail:%s] %s\n", name, msg);
  report (task, "fail", "class", 's', name, "msg", 's', msg, NULL);
  return STRAND_E_FAILED;
}

/* ---- the task ------------------------------------------------------------- */

static const char *
host_sample_id (StrandTask *task)
{
  return task->spec->sample_id;
}

static const char *
host_sample_meta (StrandTask *task, const char *key)
{
  if (task->spec->sample_meta == NULL || key == NULL)
    return NULL;
  return g_hash_table_lookup (task->spec->sample_meta, key);
}

static uint32_t
host_cores (StrandTask *task)
{
  return MAX (task->spec->cores, 1u);
}

static uint64_t
host_memory_bytes (StrandTask *task)
{
  return task->spec->memory_bytes;
}

static int
host_attempt (StrandTask *task)
{
  return task->spec->attempt;
}

/* ---- parameters ----------------------------------------------------------- */

static int
lookup_param (StrandTask *task, const char *name, StrandParamType want, const char **text)
{
  if (name == NULL)
    return STRAND_E_INVALID;
  const StrandParamInfo *p = strand_plugin_info_find_param (task->spec->plugin, name);
  if (p == NULL)
    return STRAND_E_NOT_FOUND;
  gboolean string_like = want == STRAND_PARAM_STRING &&
                         (p->type == STRAND_PARAM_ENUM || p->type == STRAND_PARAM_PATH);
  if (p->type != want && !string_like)
    return STRAND_E_TYPE;
  *text = g_hash_table_lookup (task->spec->params, name);
  return *text != NULL ? STRAND_OK : STRAND_E_NOT_FOUND;
}

static int
host_param_string (StrandTask *task, const char *name, const char **value)
{
  return lookup_param (task, name, STRAND_PARAM_STRING, value);
}

static int
host_param_int (StrandTask *task, const char *name, int64_t *value)
{
  const char *text;
  int rc = lookup_param (task, name, STRAND_PARAM_INT, &text);
  if (rc < 0)
    return rc;
  gint64 v;
  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &v, NULL))
    return STRAND_E_TYPE;
  *value = v;
  return STRAND_OK;
}

static int
host_param_double (StrandTask *task, const char *name, double *value)
{
  const char *text;
  int rc = lookup_param (task, name, STRAND_PARAM_DOUBLE, &text);
  if (rc < 0)
    return rc;
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0')
    return STRAND_E_TYPE;
  *value = v;
  return STRAND_OK;
}

static int
host_param_bool (StrandTask *task, const char *name, bool *value)
{
  const char *text;
  int rc = lookup_param (task, name, STRAND_PARAM_BOOL, &text);
  if (rc < 0)
    return rc;
  *value = strcmp (text, "true") == 0;
  return STRAND_OK;
}

/* ---- inputs --------------------------------------------------------------- */

static const StrandTaskInput *
nth_input (StrandTask *task, const char *port, size_t index)
{
  size_t seen = 0;
  for (guint i = 0; i < task->spec->inputs->len; i++)
    {
      const StrandTaskInput *in = task->spec->inputs->pdata[i];
      if (g_strcmp0 (in->port, port) == 0 && seen++ == index)
        return in;
    }
  return NULL;
}

static int
host_input_count (StrandTask *task, const char *port)
{
  if (port == NULL || strand_plugin_info_find_port (task->spec->plugin, FALSE, port) == NULL)
    return STRAND_E_INVALID;
  int n = 0;
  for (guint i = 0; i < task->spec->inputs->len; i++)
    n += g_strcmp0 (((StrandTaskInput *) task->spec->inputs->pdata[i])->port, port) == 0;
  return n;
}

static const char *
host_input_path (StrandTask *task, const char *port, size_t index)
{
  const StrandTaskInput *in = nth_input (task, port, index);
  return in ? in->path : NULL;
}

static const char *
host_input_format (StrandTask *task, const char *port, size_t index)
{
  const StrandTaskInput *in = nth_input (task, port, index);
  return in ? in->format : NULL;
}

/* ---- outputs -------------------------------------------------------------- */

static gboolean
safe_file_name (const char *name)
{
  return name != NULL && *name != '\0' && *name != '.' && strchr (name, '/') == NULL &&
         strlen (name) <= 255 && g_utf8_validate (name, -1, NULL);
}

static const StrandTaskSample *
find_run_sample (StrandTask *task, const char *sample_id)
{
  for (guint i = 0; sample_id != NULL && i < task->spec->run_samples->len; i++)
    {
      const StrandTaskSample *s = task->spec->run_samples->pdata[i];
      if (strcmp (s->id, sample_id) == 0)
        return s;
    }
  return NULL;
}

/* Outputs of one sample go in their own folder, so two samples' files may
 * share a name: outputs/PORT[/@SAMPLE]/NAME. */
static int
make_output_path (StrandTask *task, const char *port, const char *sample_id,
                  const char *file_name, const char **path)
{
  const StrandPortInfo *info =
      port ? strand_plugin_info_find_port (task->spec->plugin, TRUE, port) : NULL;
  if (info == NULL || !safe_file_name (file_name) || path == NULL)
    return STRAND_E_INVALID;
  g_autofree char *key = sample_id ? g_strdup_printf ("%s/@%s/%s", port, sample_id, file_name)
                                    : g_strdup_printf ("%s/%s", port, file_name);
  if (g_hash_table_contains (task->output_files, key))
    return STRAND_E_INVALID;
  if (!(info->flags & STRAND_PORT_MULTIPLE))
    {
      GHashTableIter it;
      gpointer k;
      g_hash_table_iter_init (&it, task->output_files);
      while (g_hash_table_iter_next (&it, &k, NULL))
        if (g_str_has_prefix (k, port) && ((char *) k)[strlen (port)] == '/')
          return STRAND_E_INVALID; /* a single-file port already has its file */
    }
  g_autofree char *sample_dir = sample_id ? g_strconcat ("@", sample_id, NULL) : NULL;
  g_autofree char *dir = g_build_filename (task->outputs_dir, port, sample_dir, NULL);
  if (g_mkdir_with_parents (dir, 0750) != 0)
    return errno == ENOSPC || errno == EDQUOT ? STRAND_E_NO_SPACE : STRAND_E_IO;
  char *full = g_build_filename (dir, file_name, NULL);
  g_hash_table_add (task->output_files, g_strdup (key));
  report (task, "output", "port", 's', port, "path", 's', full, "sample", 's', sample_id, NULL);
  *path = keep (task, key, full);
  return STRAND_OK;
}

static int
host_output_path (StrandTask *task, const char *port, const char *file_name,
                  const char **path)
{
  return make_output_path (task, port, NULL, file_name, path);
}

static int
host_sample_output_path (StrandTask *task, const char *port, const char *sample_id,
                         const char *file_name, const char **path)
{
  if (find_run_sample (task, sample_id) == NULL)
    return STRAND_E_INVALID;
  return make_output_path (task, port, sample_id, file_name, path);
}

/* ---- the run's samples ---------------------------------------------------- */

static size_t
host_run_sample_count (StrandTask *task)
{
  return task->spec->run_samples->len;
}

static const char *
host_run_sample_id (StrandTask *task, size_t index)
{
  if (index >= task->spec->run_samples->len)
    return NULL;
  return ((const StrandTaskSample *) task->spec->run_samples->pdata[index])->id;
}

static const char *
host_run_sample_meta (StrandTask *task, const char *sample_id, const char *key)
{
  const StrandTaskSample *s = find_run_sample (task, sample_id);
  if (s == NULL || s->meta == NULL || key == NULL)
    return NULL;
  return g_hash_table_lookup (s->meta, key);
}

static const char *
host_input_sample (StrandTask *task, const char *port, size_t index)
{
  const StrandTaskInput *in = nth_input (task, port, index);
  return in ? in->sample_id : NULL;
}

/* ---- progress, cancellation, scratch --------------------------------------- */

static void
host_progress (StrandTask *task, double fraction, const char *message)
{
  report (task, "progress", "f", 'd', CLAMP (fraction, 0.0, 1.0), "msg", 's', message, NULL);
}

static bool
host_cancelled (StrandTask *task)
{
  return strand_task_cancel_requested != 0;
}

/* Made on first use: most stages never ask, and every folder costs. */
static const char *
host_scratch_dir (StrandTask *task)
{
  g_mkdir_with_parents (task->scratch_dir, 0700);
  return task->scratch_dir;
}

/* ---- external tools -------------------------------------------------------- */

/* Runs the tool's version command once and records its path, version line and
 * digest, so provenance names the exact binary. */
static void
record_tool (StrandTask *task, const StrandCommand *cmd)
{
  const char *name = cmd->argv[0];
  if (g_hash_table_contains (task->tools_seen, name))
    return;
  g_hash_table_add (task->tools_seen, g_strdup (name));
  g_autofree char *path = g_find_program_in_path (name);
  const char *fallback[] = { name, "--version", NULL };
  const char *const *vargv = cmd->version_argv ? cmd->version_argv : fallback;
  g_autofree char *out = NULL, *err = NULL;
  g_spawn_sync (NULL, (char **) vargv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL,
                NULL, NULL, &out, &err, NULL, NULL);
  g_autofree char *version = NULL;
  g_autofree char *both = g_strconcat (out ? out : "", "\n", err ? err : "", NULL);
  g_auto (GStrv) lines = g_strsplit (both, "\n", -1);
  for (char **l = lines; *l && version == NULL; l++)
    if (g_strrstr (*l, "ersion") || (**l && strpbrk (*l, "0123456789")))
      version = g_strstrip (g_strdup (*l));
  g_autofree char *sha = path ? strand_sha256_file (path, NULL, NULL) : NULL;
  report (task, "tool", "path", 's', path ? path : name, "version", 's', version,
          "sha256", 's', sha, NULL);
}

static int
open_for (const char *path, int flags, int fallback_fd)
{
  if (path == NULL)
    return dup (fallback_fd);
  return open (path, flags | O_CLOEXEC, 0640);
}

static int
host_run_tool (StrandTask *task, const StrandCommand *commands, size_t n,
               const StrandToolRun *io, int *exit_status)
{
  if (commands == NULL || n == 0 || n > 64)
    return STRAND_E_INVALID;
  for (size_t i = 0; i < n; i++)
    if (commands[i].argv == NULL || commands[i].argv[0] == NULL)
      return STRAND_E_INVALID;
  StrandToolRun none = { sizeof none, NULL, NULL, NULL };
  if (io == NULL)
    io = &none;
  const char *stdin_path = io->struct_size >= G_STRUCT_OFFSET (StrandToolRun, stdin_path) + sizeof (char *)
                               ? io->stdin_path : NULL;
  const char *stdout_path = io->struct_size >= G_STRUCT_OFFSET (StrandToolRun, stdout_path) + sizeof (char *)
                                ? io->stdout_path : NULL;
  const char *stderr_path = io->struct_size >= G_STRUCT_OFFSET (StrandToolRun, stderr_path) + sizeof (char *)
                                ? io->stderr_path : NULL;

  for (size_t i = 0; i < n; i++)
    record_tool (task, &commands[i]);

  int devnull = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  int in_fd = stdin_path ? open (stdin_path, O_RDONLY | O_CLOEXEC) : dup (devnull);
  int out_fd = open_for (stdout_path, O_WRONLY | O_CREAT | O_TRUNC, STDERR_FILENO);
  int err_fd = open_for (stderr_path, O_WRONLY | O_CREAT | O_TRUNC, STDERR_FILENO);
  close (devnull);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0)
    {
      int saved = errno;
      if (in_fd >= 0) close (in_fd);
      if (out_fd >= 0) close (out_fd);
      if (err_fd >= 0) close (err_fd);
      host_fail (task, STRAND_ERROR_TRANSIENT, "cannot open the tool's files: %s",
                 g_strerror (saved));
      return STRAND_E_IO;
    }

  g_autofree GPid *pids = g_new0 (GPid, n);
  int prev_read = in_fd;
  int rc = STRAND_OK;
  size_t started = 0;
  /* Held while the commands start, so that stop_tools sees all or none. */
  g_mutex_lock (&task->tools_lock);
  for (size_t i = 0; i < n && !task->tools_stopped; i++)
    {
      int pipe_fds[2] = { -1, -1 };
      gboolean last = i + 1 == n;
      if (!last && pipe2 (pipe_fds, O_CLOEXEC) != 0)
        {
          rc = STRAND_E_IO;
          break;
        }
      g_autoptr (GError) error = NULL;
      gboolean ok = g_spawn_async_with_pipes_and_fds (
          NULL, (const char *const *) commands[i].argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
          prev_read, last ? out_fd : pipe_fds[1], err_fd, NULL, NULL, 0, &pids[i],
          NULL, NULL, NULL, &error);
      close (prev_read);
      if (!last)
        close (pipe_fds[1]);
      prev_read = last ? -1 : pipe_fds[0];
      if (!ok)
        {
          host_fail (task, STRAND_ERROR_CONFIG, "cannot start %s: %s", commands[i].argv[0],
                     error->message);
          rc = STRAND_E_TOOL;
          break;
        }
      started++;
    }
  task->tool_pids = pids;
  task->n_tool_pids = started;
  g_mutex_unlock (&task->tools_lock);
  if (prev_read >= 0)
    close (prev_read);
  close (out_fd);
  close (err_fd);

  int last_status = -1;
  for (size_t i = 0; i < started; i++)
    {
      /* Waited for without reaping first: until it is reaped under the
       * lock, stop_tools cannot signal a pid the system gave to another. */
      siginfo_t info;
      while (waitid (P_PID, (id_t) pids[i], &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
      int status = 0;
      g_mutex_lock (&task->tools_lock);
      while (waitpid (pids[i], &status, 0) < 0 && errno == EINTR)
        ;
      pids[i] = 0;
      g_mutex_unlock (&task->tools_lock);
      int code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
      if (code != 0 && rc == STRAND_OK)
        rc = STRAND_E_TOOL;
      if (i + 1 == n)
        last_status = code;
      if (code != 0)
        fprintf (stderr, "[tool] %s exited with status %d\n", commands[i].argv[0], code);
    }
  g_mutex_lock (&task->tools_lock);
  task->tool_pids = NULL;
  task->n_tool_pids = 0;
  if (task->tools_stopped)
    rc = STRAND_E_CANCELLED;
  g_mutex_unlock (&task->tools_lock);
  if (exit_status != NULL)
    *exit_status = last_status;
  return rc;
}

static int
host_stop_tools (StrandTask *task)
{
  g_mutex_lock (&task->tools_lock);
  task->tools_stopped = TRUE;
  for (size_t i = 0; i < task->n_tool_pids; i++)
    if (task->tool_pids[i] > 0)
      kill (task->tool_pids[i], SIGTERM);
  g_mutex_unlock (&task->tools_lock);
  return STRAND_OK;
}

static int
host_metric (StrandTask *task, const char *name, double value)
{
  if (name == NULL || *name == '\0')
    return STRAND_E_INVALID;
  report (task, "metric", "name", 's', name, "value", 'd', value, NULL);
  return STRAND_OK;
}

static const StrandHost host_table = {
  .struct_size = sizeof (StrandHost),
  .abi_major = STRAND_ABI_MAJOR,
  .abi_minor = STRAND_ABI_MINOR,
  .log = host_log,
  .fail = host_fail,
  .sample_id = host_sample_id,
  .sample_meta = host_sample_meta,
  .cores = host_cores,
  .memory_bytes = host_memory_bytes,
  .attempt = host_attempt,
  .param_string = host_param_string,
  .param_int = host_param_int,
  .param_double = host_param_double,
  .param_bool = host_param_bool,
  .input_count = host_input_count,
  .input_path = host_input_path,
  .input_format = host_input_format,
  .output_path = host_output_path,
  .progress = host_progress,
  .cancelled = host_cancelled,
  .scratch_dir = host_scratch_dir,
  .run_tool = host_run_tool,
  .metric = host_metric,
  .run_sample_count = host_run_sample_count,
  .run_sample_id = host_run_sample_id,
  .run_sample_meta = host_run_sample_meta,
  .sample_output_path = host_sample_output_path,
  .input_sample = host_input_sample,
  .stop_tools = host_stop_tools,
};

const StrandHost *
strand_host_table (void)
{
  return &host_table;
}

void
strand_task_init (StrandTask *task, const StrandTaskSpec *spec,
                  const StrandStageDescriptor *desc, int report_fd)
{
  memset (task, 0, sizeof *task);
  task->spec = spec;
  task->desc = desc;
  task->report_fd = report_fd;
  task->outputs_dir = g_build_filename (spec->work_dir, "outputs", NULL);
  task->scratch_dir = g_build_filename (spec->work_dir, "scratch", NULL);
  task->strings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  task->output_files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  task->tools_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init (&task->tools_lock);
}

void
strand_task_clear (StrandTask *task)
{
  g_free (task->outputs_dir);
  g_free (task->scratch_dir);
  g_clear_pointer (&task->strings, g_hash_table_unref);
  g_clear_pointer (&task->output_files, g_hash_table_unref);
  g_clear_pointer (&task->tools_seen, g_hash_table_unref);
  g_mutex_clear (&task->tools_lock);
}
