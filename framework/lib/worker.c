#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "clock.h"
#include "host-table.h"
#include "json-util.h"
#include "plugin-load.h"

/* Exit codes of the worker process itself. */
#define WORKER_EXIT_OK 0
#define WORKER_EXIT_STAGE_FAILED 1
#define WORKER_EXIT_LOAD_FAILED 3

static void
on_sigterm (int sig)
{
  (void) sig;
  strand_task_cancel_requested = 1;
}

static G_GNUC_NORETURN void
worker_main (const StrandTaskSpec *spec, int report_fd, int log_fd)
{
  dup2 (log_fd, STDOUT_FILENO);
  dup2 (log_fd, STDERR_FILENO);
  close (log_fd);
  /* Nothing of the host's (the ledger and its lock, the store's database)
   * may outlive it in a stage that hangs on: keep only the report pipe. */
  if (report_fd > 3)
    close_range (3, (unsigned) report_fd - 1, 0);
  close_range ((unsigned) report_fd + 1, ~0U, 0);
  setvbuf (stderr, NULL, _IOLBF, 0);
  struct sigaction sa = { .sa_handler = on_sigterm };
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  if (spec->memory_bytes > 0)
    {
      struct rlimit rl = { spec->memory_bytes, spec->memory_bytes };
      setrlimit (RLIMIT_AS, &rl);
    }

  g_autoptr (GError) error = NULL;
  StrandPluginModule *module = strand_plugin_module_open (spec->plugin->path, &error);
  StrandTask task;
  const StrandStageDescriptor *desc = module ? strand_plugin_module_descriptor (module) : NULL;
  strand_task_init (&task, spec, desc, report_fd);
  if (module == NULL)
    {
      strand_host_table ()->fail (&task, STRAND_ERROR_CONFIG, "plugin %s: %s",
                                  spec->plugin->path, error->message);
      _exit (WORKER_EXIT_LOAD_FAILED);
    }
  int rc = desc->run (&task, strand_host_table ());
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "t");
  json_builder_add_string_value (b, "done");
  json_builder_set_member_name (b, "status");
  json_builder_add_int_value (b, rc);
  json_builder_end_object (b);
  g_autoptr (JsonNode) done = json_builder_get_root (b);
  strand_task_report (&task, done);
  fflush (NULL);
  /* No cleanup: the process ends here and the plugin stays mapped. */
  _exit (rc == STRAND_OK ? WORKER_EXIT_OK : WORKER_EXIT_STAGE_FAILED);
}

typedef struct {
  StrandTaskResult *result;
  gboolean done_seen;
  gint64 done_status;
  gboolean fail_seen;
} Reading;

static void
take_message (Reading *rd, const char *line)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, line, -1, NULL))
    return;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObject *o = json_node_get_object (root);
  const char *t = strand_json_string (o, "t", "");
  StrandTaskResult *r = rd->result;
  if (strcmp (t, "done") == 0)
    {
      rd->done_seen = TRUE;
      rd->done_status = strand_json_int (o, "status", -1);
    }
  else if (strcmp (t, "fail") == 0 && !rd->fail_seen)
    {
      /* The first failure is the cause; later ones are consequences. */
      rd->fail_seen = TRUE;
      StrandErrorClass cls = STRAND_ERROR_INTERNAL;
      strand_error_class_from_name (strand_json_string (o, "class", ""), &cls);
      r->error_class = cls;
      g_free (r->message);
      r->message = g_strdup (strand_json_string (o, "msg", ""));
    }
  else if (strcmp (t, "output") == 0)
    {
      const char *port = strand_json_string (o, "port", NULL);
      const char *path = strand_json_string (o, "path", NULL);
      if (port && path)
        {
          StrandTaskOutput *out = g_new0 (StrandTaskOutput, 1);
          out->port = g_strdup (port);
          out->path = g_strdup (path);
          out->name = g_path_get_basename (path);
          out->sample_id = g_strdup (strand_json_string (o, "sample", NULL));
          g_ptr_array_add (r->outputs, out);
        }
    }
  else if (strcmp (t, "tool") == 0)
    {
      StrandToolUse *tool = g_new0 (StrandToolUse, 1);
      tool->path = g_strdup (strand_json_string (o, "path", ""));
      tool->version = g_strdup (strand_json_string (o, "version", NULL));
      tool->sha256 = g_strdup (strand_json_string (o, "sha256", NULL));
      g_ptr_array_add (r->tools, tool);
    }
  else if (strcmp (t, "metric") == 0)
    {
      const char *name = strand_json_string (o, "name", NULL);
      if (name)
        {
          double *v = g_new (double, 1);
          *v = strand_json_double (o, "value", 0);
          g_hash_table_replace (r->metrics, g_strdup (name), v);
        }
    }
}

static void G_GNUC_PRINTF (3, 4)
fail (StrandTaskResult *r, StrandErrorClass cls, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_free (r->message);
  r->message = g_strdup_vprintf (format, ap);
  va_end (ap);
  r->error_class = cls;
  r->ok = FALSE;
}

/* Every output the stage declared must exist, as a file or a directory of
 * its own (never a link to something else); the caller stores and hashes
 * them (once, as they enter the store). */
static void
check_outputs (StrandTaskResult *r)
{
  for (guint i = 0; i < r->outputs->len; i++)
    {
      StrandTaskOutput *out = r->outputs->pdata[i];
      GStatBuf st;
      if (g_lstat (out->path, &st) != 0)
        {
          fail (r, STRAND_ERROR_INTERNAL, "output '%s' was declared but not written: %s",
                out->port, out->path);
          return;
        }
      if (!S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode))
        {
          fail (r, STRAND_ERROR_INTERNAL, "output '%s' is neither a file nor a directory: %s",
                out->port, out->path);
          return;
        }
      out->size = S_ISREG (st.st_mode) ? (guint64) st.st_size : 0;
    }
}

StrandTaskResult *
strand_worker_run (const StrandTaskSpec *spec)
{
  StrandTaskResult *r = strand_task_result_new ();
  r->start_us = strand_clock_now_us ();
  g_mkdir_with_parents (spec->work_dir, 0750);
  r->log_path = g_build_filename (spec->work_dir, "task.log", NULL);
  int log_fd = open (r->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  int fds[2];
  if (log_fd < 0 || pipe2 (fds, O_CLOEXEC) != 0)
    {
      fail (r, errno == ENOSPC ? STRAND_ERROR_STORAGE : STRAND_ERROR_TRANSIENT,
            "cannot prepare the task's work directory %s: %s", spec->work_dir, g_strerror (errno));
      if (log_fd >= 0)
        close (log_fd);
      r->end_us = strand_clock_now_us ();
      return r;
    }
  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (pid == 0)
    {
      close (fds[0]);
      worker_main (spec, fds[1], log_fd);
    }
  close (fds[1]);
  close (log_fd);

  Reading rd = { .result = r };
  g_autoptr (GString) pending = g_string_new (NULL);
  gboolean timed_out = FALSE;
  gint64 deadline = spec->timeout_us > 0 ? strand_clock_monotonic_us () + spec->timeout_us : 0;
  char buf[65536];
  for (;;)
    {
      int wait_ms = -1;
      if (deadline)
        {
          gint64 left = deadline - strand_clock_monotonic_us ();
          if (left <= 0)
            {
              timed_out = TRUE;
              kill (pid, SIGKILL);
              break;
            }
          wait_ms = (int) MIN (left / 1000 + 1, G_MAXINT);
        }
      struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
      int pr = poll (&pfd, 1, wait_ms);
      if (pr < 0 && errno == EINTR)
        continue;
      if (pr == 0)
        continue; /* the deadline check above handles it */
      ssize_t n = read (fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      g_string_append_len (pending, buf, n);
      char *nl;
      while ((nl = memchr (pending->str, '\n', pending->len)) != NULL)
        {
          *nl = '\0';
          take_message (&rd, pending->str);
          g_string_erase (pending, 0, (gssize) (nl - pending->str) + 1);
        }
    }
  close (fds[0]);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  r->end_us = strand_clock_now_us ();
  r->exit_status = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
  r->term_signal = WIFSIGNALED (status) ? WTERMSIG (status) : 0;

  if (timed_out)
    fail (r, STRAND_ERROR_TIMEOUT, "killed after its time limit of %.1f s",
          (double) spec->timeout_us / G_USEC_PER_SEC);
  else if (r->term_signal != 0)
    fail (r, STRAND_ERROR_CRASH, "the stage crashed: signal %d (%s); see %s", r->term_signal,
          g_strsignal (r->term_signal), r->log_path);
  else if (!rd.done_seen && rd.fail_seen)
    r->ok = FALSE; /* refused before run(): the plugin could not be loaded */
  else if (!rd.done_seen)
    fail (r, STRAND_ERROR_CRASH, "the stage ended its worker (exit status %d) before "
          "returning; see %s", r->exit_status, r->log_path);
  else if (rd.done_status == STRAND_E_CANCELLED && !rd.fail_seen)
    fail (r, STRAND_ERROR_TRANSIENT, "cancelled");
  else if (rd.done_status != STRAND_OK)
    {
      r->ok = FALSE;
      if (!rd.fail_seen)
        fail (r, STRAND_ERROR_INTERNAL, "the stage returned %" G_GINT64_FORMAT
              " without saying why", rd.done_status);
    }
  else
    {
      r->ok = TRUE;
      r->error_class = STRAND_ERROR_NONE;
      g_clear_pointer (&r->message, g_free);
      check_outputs (r);
    }
  return r;
}
