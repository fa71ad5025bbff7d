#include "plugin-scan.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json-util.h"
#include "plugin-load.h"

void
strand_scan_result_free (StrandScanResult *result)
{
  if (result == NULL)
    return;
  g_free (result->path);
  strand_plugin_info_free (result->info);
  g_clear_error (&result->error);
  g_free (result);
}

JsonNode *
strand_scan_result_to_json (const StrandScanResult *result)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, result->info != NULL);
  if (result->info != NULL)
    {
      json_builder_set_member_name (b, "plugin");
      json_builder_add_value (b, strand_plugin_info_to_json (result->info));
    }
  else
    {
      json_builder_set_member_name (b, "code");
      json_builder_add_string_value (b, strand_plugin_error_code_name (result->error->code));
      json_builder_set_member_name (b, "code_num");
      json_builder_add_int_value (b, result->error->code);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, result->error->message);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

StrandScanResult *
strand_scan_result_from_json (const char *path, JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  JsonObject *o = json_node_get_object (node);
  if (!json_object_has_member (o, "ok"))
    return NULL;
  StrandScanResult *result = g_new0 (StrandScanResult, 1);
  result->path = g_strdup (path);
  result->cacheable = TRUE;
  if (strand_json_bool (o, "ok", FALSE))
    {
      result->info = strand_plugin_info_from_json (json_object_get_member (o, "plugin"), NULL);
      if (result->info == NULL)
        {
          strand_scan_result_free (result);
          return NULL;
        }
      g_free (result->info->path);
      result->info->path = g_strdup (path);
      return result;
    }
  gint64 code = strand_json_int (o, "code_num", -1);
  const char *msg = strand_json_string (o, "message", NULL);
  if (code < 0 || code > STRAND_PLUGIN_ERROR_DUPLICATE || msg == NULL)
    {
      strand_scan_result_free (result);
      return NULL;
    }
  result->error = g_error_new_literal (STRAND_PLUGIN_ERROR, (int) code, msg);
  return result;
}

/* ---- the scanner process ------------------------------------------------- */

static void
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        _exit (3);
      data += n;
      len -= (gsize) n;
    }
}

static G_GNUC_NORETURN void
scanner_main (int out_fd, const char *const *paths, guint first, guint n_paths)
{
  /* A plugin that prints must not garble the host's own output. */
  dup2 (STDERR_FILENO, STDOUT_FILENO);
  for (guint i = first; i < n_paths; i++)
    {
      StrandScanResult result = { .path = (char *) paths[i] };
      g_autoptr (StrandPluginModule) module = strand_plugin_module_open (paths[i], &result.error);
      if (module != NULL)
        result.info = strand_plugin_info_from_descriptor (
            strand_plugin_module_descriptor (module),
            strand_plugin_module_declared_size (module));
      g_autoptr (JsonNode) node = strand_scan_result_to_json (&result);
      g_autofree char *text = json_to_string (node, FALSE);
      g_autofree char *line = g_strdup_printf ("%u\t%s\n", i, text);
      write_all (out_fd, line, strlen (line));
      strand_plugin_info_free (result.info);
      g_clear_error (&result.error);
    }
  _exit (0);
}

static StrandScanResult *
failed_result (const char *path, StrandPluginErrorCode code, const char *message)
{
  StrandScanResult *result = g_new0 (StrandScanResult, 1);
  result->path = g_strdup (path);
  result->error = g_error_new_literal (STRAND_PLUGIN_ERROR, code, message);
  return result;
}

/* Handles one complete line from the scanner; returns the index it answered. */
static gint64
take_line (const char *line, const char *const *paths, guint n_paths, GPtrArray *results)
{
  char *tab = strchr (line, '\t');
  guint64 index;
  if (tab == NULL)
    return -1;
  g_autofree char *num = g_strndup (line, (gsize) (tab - line));
  if (!g_ascii_string_to_unsigned (num, 10, 0, n_paths - 1, &index, NULL))
    return -1;
  g_autoptr (JsonParser) parser = json_parser_new ();
  StrandScanResult *result = NULL;
  if (json_parser_load_from_data (parser, tab + 1, -1, NULL))
    result = strand_scan_result_from_json (paths[index], json_parser_get_root (parser));
  if (result == NULL)
    result = failed_result (paths[index], STRAND_PLUGIN_ERROR_LOAD_CRASHED,
                            "the scanner sent an unreadable answer");
  g_clear_pointer (&results->pdata[index], strand_scan_result_free);
  results->pdata[index] = result;
  return (gint64) index;
}

GPtrArray *
strand_plugin_scan (const char *const *paths, guint n_paths, guint timeout_ms)
{
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_scan_result_free);
  g_ptr_array_set_size (results, n_paths);
  guint next = 0;
  while (next < n_paths)
    {
      int fds[2];
      if (pipe2 (fds, O_CLOEXEC) != 0)
        g_error ("pipe: %s", g_strerror (errno));
      fflush (stdout);
      fflush (stderr);
      pid_t pid = fork ();
      if (pid < 0)
        g_error ("fork: %s", g_strerror (errno));
      if (pid == 0)
        {
          close (fds[0]);
          scanner_main (fds[1], paths, next, n_paths);
        }
      close (fds[1]);

      g_autoptr (GString) pending = g_string_new (NULL);
      gboolean hung = FALSE;
      char buf[65536];
      for (;;)
        {
          struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
          int r = poll (&pfd, 1, (int) timeout_ms);
          if (r < 0 && errno == EINTR)
            continue;
          if (r == 0)
            {
              hung = TRUE;
              kill (pid, SIGKILL);
              break;
            }
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
              gint64 answered = take_line (pending->str, paths, n_paths, results);
              if (answered >= 0)
                next = (guint) answered + 1;
              g_string_erase (pending, 0, (gssize) (nl - pending->str) + 1);
            }
        }
      close (fds[0]);
      int status = 0;
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
      if (next >= n_paths)
        break;
      /* The scanner stopped before answering for paths[next]: blame that file. */
      g_autofree char *why = NULL;
      if (hung)
        why = g_strdup_printf ("hung while loading (no answer in %u ms); remove the file",
                               timeout_ms);
      else if (WIFSIGNALED (status))
        why = g_strdup_printf ("crashed while loading (signal %d, %s); remove the file",
                               WTERMSIG (status), g_strsignal (WTERMSIG (status)));
      else
        why = g_strdup_printf ("ended the scanner while loading (exit status %d); remove the file",
                               WIFEXITED (status) ? WEXITSTATUS (status) : -1);
      results->pdata[next] = failed_result (paths[next], STRAND_PLUGIN_ERROR_LOAD_CRASHED, why);
      next++;
    }
  return results;
}
