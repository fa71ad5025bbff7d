#include "plugin-validate.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "json-util.h"
#include "plan.h"
#include "problems.h"
#include "runner.h"
#include "worker.h"

#define MAX_WORKERS 4       /* plugins checked at once */
#define MAX_CRASHES 3       /* a plugin's crashes before its other checks are given up */
#define MAX_FINDINGS 100    /* distinct problems kept per plugin; the rest are counted */
#define MAX_MESSAGE 1000    /* bytes kept of a plugin's message */
#define MAX_LINE (1 << 20)  /* a longer report line is skipped */
#define SAMPLES_NAMED 3     /* samples named in one problem; the rest are counted */

/* One problem, possibly reported for several samples of a stage. */
typedef struct {
  const char *code;
  guint stage;         /* its index in the pipeline */
  guint task;          /* plan index of the first task that reported it */
  char *message;
  GPtrArray *samples;  /* char*, borrowed from the samples */
} Finding;

static void
finding_free (Finding *f)
{
  g_free (f->message);
  g_ptr_array_unref (f->samples);
  g_free (f);
}

/* The tasks of one plugin, checked by one worker at a time. */
typedef struct {
  const StrandPluginInfo *plugin;
  GPtrArray *specs;  /* StrandTaskSpec */
  GPtrArray *tasks;  /* const StrandPlanTask *, beside specs */
  guint next;        /* the first task whose check has not ended */
  guint crashes;
  guint kept;        /* findings it made */
  guint dropped;     /* findings past MAX_FINDINGS */
} Batch;

static void
batch_free (Batch *b)
{
  g_ptr_array_unref (b->specs);
  g_ptr_array_unref (b->tasks);
  g_free (b);
}

typedef struct {
  StrandPipeline *pipeline;
  gint64 timeout_us;
  GPtrArray *findings; /* Finding */
  GHashTable *by_key;  /* "code\tstage\tmessage" -> Finding */
} Checks;

typedef struct {
  Batch *batch;
  pid_t pid;
  int fd;              /* the report pipe; -1 once at its end */
  int pidfd;           /* readable when the process ended; -1: none */
  GString *pending;
  gboolean skipping;   /* inside a line longer than MAX_LINE */
  gint current;        /* the task whose callback runs; -1: none */
  gboolean loaded;     /* the plugin is open: callbacks run */
  gboolean said_why;   /* the current task reported a problem */
  char *load_message;  /* a failure reported before any callback */
  gint64 deadline;     /* monotonic */
  gboolean timed_out;
  gboolean reaped;
  int status;
} Worker;

/* ---- findings ----------------------------------------------------------------- */

static void G_GNUC_PRINTF (5, 6)
add_finding (Checks *c, Batch *b, const char *code, guint i, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  /* A task past the end: the plugin as a whole, at its next task's stage. */
  gboolean whole = i >= b->tasks->len;
  const StrandPlanTask *t = b->tasks->pdata[!whole ? i : b->next < b->tasks->len ? b->next : 0];
  g_autofree char *key = g_strdup_printf ("%s\t%u\t%s", code, t->stage->index, message);
  Finding *f = g_hash_table_lookup (c->by_key, key);
  if (f == NULL)
    {
      if (b->kept >= MAX_FINDINGS)
        {
          b->dropped++;
          return;
        }
      b->kept++;
      f = g_new0 (Finding, 1);
      f->code = code;
      f->stage = t->stage->index;
      f->task = t->index;
      f->message = g_steal_pointer (&message);
      f->samples = g_ptr_array_new ();
      g_ptr_array_add (c->findings, f);
      g_hash_table_insert (c->by_key, g_steal_pointer (&key), f);
    }
  if (t->sample != NULL && !whole)
    g_ptr_array_add (f->samples, t->sample->id);
}

/* A plugin's own words, one line of bounded length. */
static char *
plugin_text (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  if (strlen (valid) > MAX_MESSAGE)
    {
      const char *end = g_utf8_find_prev_char (valid, valid + MAX_MESSAGE + 1);
      valid[end - valid] = '\0';
    }
  for (char *p = valid; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t')
      *p = ' ';
  return g_strdup (g_strstrip (valid));
}

static char *
plugin_name (const StrandPluginInfo *plugin)
{
  return g_strdup_printf ("%s %s", plugin->name, plugin->version);
}

static int
compare_findings (gconstpointer a, gconstpointer b)
{
  const Finding *x = *(const Finding *const *) a, *y = *(const Finding *const *) b;
  if (x->stage != y->stage)
    return x->stage < y->stage ? -1 : 1;
  return x->task < y->task ? -1 : x->task > y->task;
}

static void
emit_findings (Checks *c, GPtrArray *problems)
{
  /* Workers end in any order: the problems come in pipeline order. */
  g_ptr_array_sort (c->findings, compare_findings);
  for (guint i = 0; i < c->findings->len; i++)
    {
      const Finding *f = c->findings->pdata[i];
      const StrandStage *stage = c->pipeline->stages->pdata[f->stage];
      g_autoptr (GString) who = g_string_new (NULL);
      g_string_printf (who, "stage '%s'", stage->id);
      guint n = f->samples->len;
      for (guint k = 0; k < MIN (n, SAMPLES_NAMED); k++)
        g_string_append_printf (who, "%s'%s'", k == 0 ? (n == 1 ? ", sample " : ", samples ") : ", ",
                                (const char *) f->samples->pdata[k]);
      if (n > SAMPLES_NAMED)
        g_string_append_printf (who, " and %u more", n - SAMPLES_NAMED);
      g_autofree char *where = g_strdup_printf ("%s#/stages/%u",
                                                c->pipeline->source ? c->pipeline->source : "",
                                                f->stage);
      strand_problems_add (problems, FALSE, f->code, where, "%s: %s", who->str, f->message);
    }
}

/* ---- the tasks ---------------------------------------------------------------- */

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st; (void) flag; (void) ftw;
  remove (path);
  return 0;
}

/* Every task of the plan whose plugin has a validate callback, one batch
 * per plugin. Task folders lie under `tmp` and are made only if a plugin
 * asks for scratch space. */
static GPtrArray *
collect_batches (StrandPlan *plan, const char *tmp)
{
  GPtrArray *batches = g_ptr_array_new_with_free_func ((GDestroyNotify) batch_free);
  g_autoptr (GHashTable) by_plugin = g_hash_table_new (NULL, NULL);
  g_autofree StrandTaskResult **none = g_new0 (StrandTaskResult *, plan->tasks->len + 1);
  for (guint i = 0; i < plan->tasks->len; i++)
    {
      const StrandPlanTask *t = plan->tasks->pdata[i];
      const StrandPluginInfo *plugin = t->stage->resolved;
      if (!plugin->has_validate)
        continue;
      Batch *b = g_hash_table_lookup (by_plugin, plugin);
      if (b == NULL)
        {
          b = g_new0 (Batch, 1);
          b->plugin = plugin;
          b->specs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_task_spec_free);
          b->tasks = g_ptr_array_new ();
          g_hash_table_insert (by_plugin, (gpointer) plugin, b);
          g_ptr_array_add (batches, b);
        }
      g_autofree char *num = g_strdup_printf ("%u", t->index);
      g_autofree char *work_dir = g_build_filename (tmp, num, NULL);
      StrandTaskSpec *spec = strand_stage_task_spec (t->stage, t->sample ? t->sample->id : NULL,
                                                     work_dir);
      if (t->sample != NULL && t->sample->meta != NULL)
        spec->sample_meta = g_hash_table_ref (t->sample->meta);
      /* Without a store nothing is hashed or linked: the sample sheet's and
       * the pipeline's files are given where they lie; producers' outputs
       * do not exist yet. */
      g_autoptr (GError) error = NULL;
      strand_plan_task_inputs (plan, t, none, NULL, spec, &error);
      for (guint k = spec->inputs->len; k > 0; k--)
        {
          const StrandTaskInput *in = spec->inputs->pdata[k - 1];
          if (!g_file_test (in->path, G_FILE_TEST_EXISTS))
            g_ptr_array_remove_index (spec->inputs, k - 1);
        }
      g_ptr_array_add (b->specs, spec);
      g_ptr_array_add (b->tasks, (gpointer) t);
    }
  return batches;
}

/* ---- workers ------------------------------------------------------------------ */

static Worker *
worker_start (Checks *c, Batch *b)
{
  g_autoptr (GError) error = NULL;
  int fd = -1;
  pid_t pid = strand_worker_start_checks (b->specs, b->next, &fd, &error);
  if (pid < 0)
    {
      g_autofree char *name = plugin_name (b->plugin);
      add_finding (c, b, "stage-validate-failed", G_MAXUINT,
                   "plugin %s could not be checked: %s", name, error->message);
      b->next = b->specs->len;
      return NULL;
    }
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  Worker *w = g_new0 (Worker, 1);
  w->batch = b;
  w->pid = pid;
  w->fd = fd;
  w->pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  w->pending = g_string_new (NULL);
  w->current = -1;
  w->deadline = strand_clock_monotonic_us () + c->timeout_us;
  return w;
}

static void
worker_free (Worker *w)
{
  if (!w->reaped)
    {
      kill (w->pid, SIGKILL);
      while (waitpid (w->pid, &w->status, 0) < 0 && errno == EINTR)
        ;
    }
  if (w->fd >= 0)
    close (w->fd);
  if (w->pidfd >= 0)
    close (w->pidfd);
  g_string_free (w->pending, TRUE);
  g_free (w->load_message);
  g_free (w);
}

static void
take_line (Checks *c, Worker *w, const char *line)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, line, -1, NULL))
    return;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObject *o = json_node_get_object (root);
  const char *t = strand_json_string (o, "t", "");
  Batch *b = w->batch;
  gint64 task = strand_json_int (o, "task", -1);
  if (strcmp (t, "loaded") == 0 && !w->loaded)
    {
      w->loaded = TRUE;
      w->current = b->next < b->specs->len ? (gint) b->next : -1;
      w->said_why = FALSE;
      w->deadline = strand_clock_monotonic_us () + c->timeout_us;
    }
  else if (strcmp (t, "end") == 0 && task == w->current)
    {
      gint64 status = strand_json_int (o, "status", 0);
      if (status < 0 && !w->said_why)
        {
          g_autofree char *name = plugin_name (b->plugin);
          add_finding (c, b, "stage-validate", (guint) task,
                       "the validate callback of plugin %s refused the task (status %" G_GINT64_FORMAT
                       ") without saying why", name, status);
        }
      b->next = (guint) task + 1;
      w->current = b->next < b->specs->len ? (gint) b->next : -1;
      w->said_why = FALSE;
      w->deadline = strand_clock_monotonic_us () + c->timeout_us;
    }
  else if (strcmp (t, "fail") == 0)
    {
      g_autofree char *msg = plugin_text (strand_json_string (o, "msg", ""));
      if (w->current >= 0)
        {
          w->said_why = TRUE;
          add_finding (c, b, "stage-validate", (guint) w->current, "%s", msg);
        }
      else if (!w->loaded && w->load_message == NULL)
        w->load_message = g_steal_pointer (&msg);
    }
}

/* Reads what is there; FALSE once the pipe reached its end. */
static gboolean
worker_read (Checks *c, Worker *w)
{
  char buf[65536];
  for (guint reads = 0; w->fd >= 0 && reads < 16; reads++)
    {
      ssize_t n = read (w->fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return TRUE;
      if (n <= 0)
        {
          close (w->fd);
          w->fd = -1;
          return FALSE;
        }
      for (ssize_t k = 0; k < n;)
        {
          const char *nl = memchr (buf + k, '\n', (size_t) (n - k));
          size_t len = nl ? (size_t) (nl - (buf + k)) : (size_t) (n - k);
          if (!w->skipping)
            g_string_append_len (w->pending, buf + k, (gssize) len);
          if (w->pending->len > MAX_LINE)
            {
              w->skipping = TRUE;
              g_string_truncate (w->pending, 0);
            }
          if (nl != NULL)
            {
              if (!w->skipping)
                take_line (c, w, w->pending->str);
              g_string_truncate (w->pending, 0);
              w->skipping = FALSE;
            }
          k += (ssize_t) len + (nl != NULL);
        }
    }
  return w->fd >= 0;
}

static gboolean
worker_reap (Worker *w)
{
  if (w->reaped)
    return TRUE;
  pid_t got;
  do
    got = waitpid (w->pid, &w->status, WNOHANG);
  while (got < 0 && errno == EINTR);
  w->reaped = got == w->pid;
  return w->reaped;
}

static char *
describe_end (int status)
{
  if (WIFSIGNALED (status))
    return g_strdup_printf ("crashed (signal %d, %s)", WTERMSIG (status), g_strsignal (WTERMSIG (status)));
  return g_strdup_printf ("ended its worker (exit status %d)", WIFEXITED (status) ? WEXITSTATUS (status) : -1);
}

/* Turns how the worker ended into findings; TRUE when it should be
 * started again for the tasks after the one it stopped at. */
static gboolean
worker_finish (Checks *c, Worker *w)
{
  Batch *b = w->batch;
  g_autofree char *name = plugin_name (b->plugin);
  guint n = b->specs->len;
  if (w->timed_out)
    {
      guint at = w->current >= 0 ? (guint) w->current : b->next;
      guint left = n > at + 1 ? n - at - 1 : 0;
      g_autofree char *rest = left ? g_strdup_printf ("; its %u other check%s not run", left,
                                                      left == 1 ? " was" : "s were")
                                   : g_strdup ("");
      double seconds = (double) c->timeout_us / G_USEC_PER_SEC;
      if (w->loaded && w->current < 0)
        add_finding (c, b, "stage-validate-timeout", G_MAXUINT,
                     "plugin %s did not end within %g s of its last check, and was stopped",
                     name, seconds);
      else if (w->loaded)
        add_finding (c, b, "stage-validate-timeout", at,
                     "the validate callback of plugin %s did not return within %g s and was "
                     "stopped%s", name, seconds, rest);
      else
        add_finding (c, b, "stage-validate-timeout", G_MAXUINT,
                     "plugin %s did not load within %g s to be checked, and was stopped", name,
                     seconds);
      b->next = n;
      return FALSE;
    }
  gboolean clean = WIFEXITED (w->status) && WEXITSTATUS (w->status) == 0;
  if (!w->loaded)
    {
      /* Nothing was checked: the plugin would not load, or has no
       * validate callback after all. */
      if (w->load_message != NULL)
        add_finding (c, b, "stage-validate-failed", G_MAXUINT, "plugin %s could not be loaded "
                     "to be checked: %s", name, w->load_message);
      else if (!clean)
        {
          g_autofree char *how = describe_end (w->status);
          add_finding (c, b, "stage-validate-crashed", G_MAXUINT,
                       "plugin %s %s while it was loaded to be checked", name, how);
        }
      b->next = n;
      return FALSE;
    }
  if (clean && w->current < 0)
    return b->next < n;
  g_autofree char *how = describe_end (w->status);
  if (w->current >= 0)
    {
      add_finding (c, b, "stage-validate-crashed", (guint) w->current,
                   "the validate callback of plugin %s %s", name, how);
      b->next = (guint) w->current + 1;
    }
  if (b->next >= n)
    return FALSE;
  if (++b->crashes >= MAX_CRASHES)
    {
      guint left = n - b->next;
      add_finding (c, b, "stage-validate-crashed", G_MAXUINT,
                   "plugin %s crashed %u times while checking; its %u other check%s not run",
                   name, b->crashes, left, left == 1 ? " was" : "s were");
      b->next = n;
      return FALSE;
    }
  return TRUE;
}

static void
run_batches (Checks *c, GPtrArray *batches)
{
  g_autoptr (GPtrArray) running = g_ptr_array_new ();
  g_autoptr (GPtrArray) waiting = g_ptr_array_new ();
  for (guint i = batches->len; i > 0; i--)
    g_ptr_array_add (waiting, batches->pdata[i - 1]);
  g_autofree struct pollfd *pfds = g_new0 (struct pollfd, 2 * MAX_WORKERS);
  while (waiting->len > 0 || running->len > 0)
    {
      while (running->len < MAX_WORKERS && waiting->len > 0)
        {
          Batch *b = g_ptr_array_steal_index (waiting, waiting->len - 1);
          Worker *w = worker_start (c, b);
          if (w != NULL)
            g_ptr_array_add (running, w);
        }
      if (running->len == 0)
        continue;
      gint64 now = strand_clock_monotonic_us ();
      gint64 wait_us = G_MAXINT64;
      nfds_t n = 0;
      for (guint i = 0; i < running->len; i++)
        {
          Worker *w = running->pdata[i];
          wait_us = MIN (wait_us, MAX (w->deadline - now, 0));
          if (w->pidfd < 0 && w->fd < 0)
            wait_us = MIN (wait_us, 20000); /* no pidfd: look for its end now and then */
          pfds[n++] = (struct pollfd) { .fd = w->fd, .events = POLLIN };
          pfds[n++] = (struct pollfd) { .fd = w->pidfd, .events = POLLIN };
        }
      int pr = poll (pfds, n, (int) MIN (wait_us / 1000 + 1, G_MAXINT));
      if (pr < 0 && errno != EINTR)
        break;
      now = strand_clock_monotonic_us ();
      for (guint i = running->len; i > 0; i--)
        {
          Worker *w = running->pdata[i - 1];
          if (pfds[2 * (i - 1)].revents)
            worker_read (c, w);
          if (w->fd < 0 || pfds[2 * (i - 1) + 1].revents)
            worker_reap (w);
          if (!w->reaped && now >= w->deadline)
            {
              w->timed_out = TRUE;
              kill (w->pid, SIGKILL);
              while (waitpid (w->pid, &w->status, 0) < 0 && errno == EINTR)
                ;
              w->reaped = TRUE;
            }
          if (!w->reaped)
            continue;
          /* What it wrote before it ended, even if a child of its own
           * still holds the pipe open. */
          worker_read (c, w);
          g_ptr_array_remove_index (running, i - 1);
          gboolean again = worker_finish (c, w);
          Batch *b = w->batch;
          worker_free (w);
          if (again)
            g_ptr_array_add (waiting, b);
        }
    }
  for (guint i = 0; i < running->len; i++)
    worker_free (running->pdata[i]);
}

guint
strand_plugin_validate (StrandPipeline *pipeline, GPtrArray *samples, gint64 timeout_us,
                        GPtrArray *problems)
{
  for (guint i = 0; i < pipeline->stages->len; i++)
    if (((StrandStage *) pipeline->stages->pdata[i])->resolved == NULL)
      return 0;
  gboolean any = FALSE;
  for (guint i = 0; i < pipeline->stages->len && !any; i++)
    any = ((StrandStage *) pipeline->stages->pdata[i])->resolved->has_validate;
  if (!any)
    return 0; /* no plugin to ask: not even a plan */

  g_autoptr (GPtrArray) none = samples ? NULL : g_ptr_array_new ();
  g_autoptr (StrandPlan) plan = strand_plan_new (pipeline, samples ? samples : none);
  g_autofree char *tmp = g_dir_make_tmp ("strand-validate-XXXXXX", NULL);
  if (tmp == NULL)
    tmp = g_build_filename (g_get_tmp_dir (), "strand-validate-unavailable", NULL);
  g_autoptr (GPtrArray) batches = collect_batches (plan, tmp);
  Checks c = {
    .pipeline = pipeline,
    .timeout_us = timeout_us > 0 ? timeout_us : STRAND_PLUGIN_VALIDATE_TIMEOUT_US,
    .findings = g_ptr_array_new_with_free_func ((GDestroyNotify) finding_free),
    .by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
  };
  run_batches (&c, batches);
  for (guint i = 0; i < batches->len; i++)
    {
      Batch *b = batches->pdata[i];
      if (b->dropped > 0)
        {
          g_autofree char *name = plugin_name (b->plugin);
          b->kept = 0;
          add_finding (&c, b, "stage-validate", G_MAXUINT,
                       "plugin %s reported %u more problems, not shown", name, b->dropped);
        }
    }
  guint before = problems->len;
  emit_findings (&c, problems);
  g_ptr_array_unref (c.findings);
  g_hash_table_unref (c.by_key);
  nftw (tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return problems->len - before;
}
