/* Running Slurm's commands and following jobs (slurm.h); slurm-parse.c reads
 * what they print.
 *
 * Each command is one g_spawn_sync() of an argv array. Its environment is
 * the host's (so SBATCH_* defaults a site sets still apply) with three
 * changes: SLURM_CONF when the handle names a cluster, SLURM_TIME_FORMAT=%s,
 * and none of the variables that reshape squeue, sinfo or sacct output. A
 * command that fails is classified from what it wrote to stderr: a
 * controller that cannot be reached (UNREACHABLE, worth waiting for) or a
 * request Slurm refused (REFUSED, with Slurm's own words). */
#include "slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fs-util.h"
#include "slurm-private.h"

struct StrandSlurm {
  char *conf;
  char *bindir;
  guint calls;
};

StrandSlurm *
strand_slurm_new (const char *slurm_conf)
{
  StrandSlurm *slurm = g_new0 (StrandSlurm, 1);
  slurm->conf = g_strdup (slurm_conf);
  return slurm;
}

void
strand_slurm_free (StrandSlurm *slurm)
{
  if (slurm == NULL)
    return;
  g_free (slurm->conf);
  g_free (slurm->bindir);
  g_free (slurm);
}

void
strand_slurm_set_bindir (StrandSlurm *slurm, const char *bindir)
{
  g_free (slurm->bindir);
  slurm->bindir = g_strdup (bindir);
}

guint
strand_slurm_calls (const StrandSlurm *slurm)
{
  return slurm->calls;
}

/* ---- Running a command ------------------------------------------------------ */

typedef struct {
  char *program; /* "squeue" */
  char *out;
  char *err;
  gboolean ok;   /* exited 0 */
} Output;

static void
output_clear (Output *o)
{
  g_free (o->program);
  g_free (o->out);
  g_free (o->err);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Output, output_clear)

/* Variables that would change what the parsers read. */
static const char *const reshaping_env[] = {
  "SQUEUE_FORMAT", "SQUEUE_FORMAT2", "SQUEUE_SORT", "SQUEUE_ARRAY", "SQUEUE_STATES",
  "SQUEUE_ALL", "SQUEUE_PARTITION", "SQUEUE_USERS", "SQUEUE_ACCOUNT", "SQUEUE_NAMES",
  "SINFO_FORMAT", "SINFO_SORT", "SINFO_PARTITION", "SINFO_ALL",
  "SACCT_FORMAT", "SBATCH_WRAP", "SLURM_TIME_FORMAT",
};

/* Runs `argv` (argv[0] the command's name). FALSE only when it could not run
 * at all or died from a signal; a non-zero exit is `o->ok == FALSE`. */
static gboolean
run (StrandSlurm *slurm, GPtrArray *args, Output *o, GError **error)
{
  o->program = g_strdup (args->pdata[0]);
  if (slurm->conf != NULL && !g_file_test (slurm->conf, G_FILE_TEST_IS_REGULAR))
    {
      /* Slurm's own commands would retry for a minute before saying so. */
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_UNREACHABLE,
                   "%s: no Slurm configuration at %s", o->program, slurm->conf);
      return FALSE;
    }
  g_auto (GStrv) env = g_get_environ ();
  for (guint i = 0; i < G_N_ELEMENTS (reshaping_env); i++)
    env = g_environ_unsetenv (env, reshaping_env[i]);
  env = g_environ_setenv (env, "SLURM_TIME_FORMAT", "%s", TRUE);
  if (slurm->conf != NULL)
    env = g_environ_setenv (env, "SLURM_CONF", slurm->conf, TRUE);

  g_autofree char *path = slurm->bindir ? g_build_filename (slurm->bindir, o->program, NULL) : NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, path ? path : o->program);
  for (guint i = 1; i < args->len; i++)
    g_ptr_array_add (argv, args->pdata[i]);
  g_ptr_array_add (argv, NULL);

  int status = 0;
  g_autoptr (GError) local = NULL;
  slurm->calls++;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, env,
                     (path ? 0 : G_SPAWN_SEARCH_PATH) | G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                     &o->out, &o->err, &status, &local))
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_COMMAND, "cannot run %s: %s",
                   o->program, local->message);
      return FALSE;
    }
  if (WIFSIGNALED (status))
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_COMMAND, "%s was killed by signal %d",
                   o->program, WTERMSIG (status));
      return FALSE;
    }
  o->ok = WIFEXITED (status) && WEXITSTATUS (status) == 0;
  return TRUE;
}

static gboolean
err_says (const Output *o, const char *words)
{
  return o->err != NULL && strstr (o->err, words) != NULL;
}

/* The error of a command that exited non-zero: Slurm's last "error:" line
 * (or its last line), classified. */
static void
set_command_error (const Output *o, GError **error)
{
  static const char *const unreachable[] = {
    "Unable to contact slurm controller", "Socket timed out", "Connection refused",
    "Unable to process configuration file", "Zero Bytes were transmitted",
    "Communication connection failure", "Unable to establish controller machine",
  };
  int code = STRAND_SLURM_ERROR_REFUSED;
  for (guint i = 0; i < G_N_ELEMENTS (unreachable); i++)
    if (err_says (o, unreachable[i]))
      code = STRAND_SLURM_ERROR_UNREACHABLE;
  g_auto (GStrv) lines = g_strsplit (o->err ? o->err : "", "\n", -1);
  const char *said = NULL;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_strstrip (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      if (strstr (lines[i], "error:") != NULL || said == NULL || strstr (said, "error:") == NULL)
        said = lines[i];
    }
  g_set_error (error, STRAND_SLURM_ERROR, code, "%s failed: %s", o->program,
               said ? said : "no message (non-zero exit)");
}

static GPtrArray *
args_new (const char *program)
{
  GPtrArray *args = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (args, g_strdup (program));
  return args;
}

static void G_GNUC_PRINTF (2, 3)
add_arg (GPtrArray *args, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_ptr_array_add (args, g_strdup_vprintf (format, ap));
  va_end (ap);
}

/* Ids as the caller gives them; joined for --jobs. */
static char *
join_ids (const char *const *ids, GError **error)
{
  for (guint i = 0; ids[i] != NULL; i++)
    if (!strand_slurm_valid_job_id (ids[i]) || strchr (ids[i], ',') != NULL)
      {
        g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID, "'%.64s' is not a Slurm job id",
                     ids[i]);
        return NULL;
      }
  return g_strjoinv (",", (char **) ids);
}

/* ---- Submitting ------------------------------------------------------------ */

gboolean
strand_slurm_write_script (const char *path, const char *const *argv, GError **error)
{
  if (argv == NULL || argv[0] == NULL)
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID, "%s: no command to run", path);
      return FALSE;
    }
  g_autoptr (GString) s = g_string_new ("#!/bin/sh\n# Written by Strand: runs one command.\nexec");
  for (guint i = 0; argv[i] != NULL; i++)
    {
      g_autofree char *quoted = g_shell_quote (argv[i]);
      g_string_append_c (s, ' ');
      g_string_append (s, quoted);
    }
  g_string_append_c (s, '\n');
  g_autofree char *tmp = g_strdup_printf ("%s.tmp.%d", path, (int) getpid ());
  int fd = g_open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  int err = fd < 0 ? errno : strand_write_all (fd, s->str, s->len, NULL);
  if (fd >= 0 && err == 0 && fsync (fd) != 0)
    err = errno;
  if (fd >= 0 && close (fd) != 0 && err == 0)
    err = errno;
  if (err == 0 && g_rename (tmp, path) != 0)
    err = errno;
  if (err != 0)
    {
      g_unlink (tmp);
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_IO, "cannot write the batch script %s: %s",
                   path, g_strerror (err));
      return FALSE;
    }
  return TRUE;
}

/* Option values end up in squeue's lines: no control characters. */
static gboolean
check_value (const char *what, const char *value, GError **error)
{
  if (value == NULL)
    return TRUE;
  for (const char *p = value; *p; p++)
    if ((unsigned char) *p < 0x20 || *p == 0x7f)
      {
        g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID,
                     "sbatch: the %s '%s' holds a control character", what, value);
        return FALSE;
      }
  if (value[0] == '\0')
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID, "sbatch: empty %s", what);
      return FALSE;
    }
  return TRUE;
}

char *
strand_slurm_submit (StrandSlurm *slurm, const StrandSlurmSubmit *submit, const char *script,
                     GError **error)
{
  if (!g_file_test (script, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID, "sbatch: no batch script at %s", script);
      return NULL;
    }
  if (!check_value ("job name", submit->job_name, error) || !check_value ("partition", submit->partition, error) ||
      !check_value ("account", submit->account, error) || !check_value ("QOS", submit->qos, error) ||
      !check_value ("output path", submit->output_path, error) ||
      !check_value ("error path", submit->error_path, error) ||
      !check_value ("working directory", submit->work_dir, error) ||
      !check_value ("array", submit->array, error))
    return NULL;
  if (submit->array != NULL && strspn (submit->array, "0123456789,-%:") != strlen (submit->array))
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID,
                   "sbatch: '%s' is not an array specification (e.g. 0-99%%10)", submit->array);
      return NULL;
    }
  if (submit->time_limit_s < 0)
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID, "sbatch: negative time limit");
      return NULL;
    }

  g_autoptr (GPtrArray) args = args_new ("sbatch");
  add_arg (args, "--parsable");
  if (submit->job_name)
    add_arg (args, "--job-name=%s", submit->job_name);
  if (submit->partition)
    add_arg (args, "--partition=%s", submit->partition);
  if (submit->account)
    add_arg (args, "--account=%s", submit->account);
  if (submit->qos)
    add_arg (args, "--qos=%s", submit->qos);
  if (submit->cpus > 0)
    add_arg (args, "--cpus-per-task=%u", submit->cpus);
  if (submit->memory_bytes > 0)
    add_arg (args, "--mem=%" G_GUINT64_FORMAT "M", (submit->memory_bytes + (1u << 20) - 1) >> 20);
  if (submit->time_limit_s > 0)
    add_arg (args, "--time=%" G_GINT64_FORMAT, (submit->time_limit_s + 59) / 60);
  if (submit->output_path)
    add_arg (args, "--output=%s", submit->output_path);
  if (submit->error_path)
    add_arg (args, "--error=%s", submit->error_path);
  if (submit->work_dir)
    add_arg (args, "--chdir=%s", submit->work_dir);
  if (submit->array)
    add_arg (args, "--array=%s", submit->array);
  add_arg (args, submit->requeue ? "--requeue" : "--no-requeue");
  /* A script named like an option must not be read as one. */
  add_arg (args, "%s%s", script[0] == '-' ? "./" : "", script);

  g_auto (Output) o = { 0 };
  if (!run (slurm, args, &o, error))
    return NULL;
  if (!o.ok)
    {
      set_command_error (&o, error);
      return NULL;
    }
  return strand_slurm_parse_sbatch (o.out, error);
}

/* ---- Jobs ------------------------------------------------------------------ */

GPtrArray *
strand_slurm_query_jobs (StrandSlurm *slurm, const char *const *ids, GError **error)
{
  if (ids == NULL || ids[0] == NULL)
    return g_ptr_array_new_with_free_func ((GDestroyNotify) strand_slurm_job_free);
  g_autofree char *joined = join_ids (ids, error);
  if (joined == NULL)
    return NULL;
  g_autoptr (GPtrArray) args = args_new ("squeue");
  add_arg (args, "--array");
  add_arg (args, "--states=all");
  add_arg (args, "--jobs=%s", joined);
  add_arg (args, "--Format=%s", STRAND_SQUEUE_FORMAT);
  g_auto (Output) o = { 0 };
  if (!run (slurm, args, &o, error))
    return NULL;
  if (!o.ok)
    {
      /* Every id unknown to the controller: nothing to report, not a failure. */
      if (err_says (&o, "Invalid job id specified"))
        return g_ptr_array_new_with_free_func ((GDestroyNotify) strand_slurm_job_free);
      set_command_error (&o, error);
      return NULL;
    }
  return strand_slurm_parse_squeue (o.out, strlen (o.out), error);
}

StrandSlurmJob *
strand_slurm_show_job (StrandSlurm *slurm, const char *id, GError **error)
{
  const char *ids[] = { id, NULL };
  g_autofree char *joined = join_ids (ids, error);
  if (joined == NULL)
    return NULL;
  g_autoptr (GPtrArray) args = args_new ("scontrol");
  add_arg (args, "--oneliner");
  add_arg (args, "show");
  add_arg (args, "job");
  add_arg (args, "%s", id);
  g_auto (Output) o = { 0 };
  if (!run (slurm, args, &o, error))
    return NULL;
  if (!o.ok)
    {
      if (!err_says (&o, "Invalid job id specified"))
        set_command_error (&o, error);
      return NULL;
    }
  g_autoptr (GPtrArray) jobs = strand_slurm_parse_scontrol_jobs (o.out, strlen (o.out), error);
  if (jobs == NULL)
    return NULL;
  for (guint i = 0; i < jobs->len; i++)
    {
      StrandSlurmJob *job = jobs->pdata[i];
      if (g_str_equal (job->id, id))
        return g_ptr_array_steal_index (jobs, i);
    }
  /* An array's id shows all its tasks; the caller asked for the array. */
  return jobs->len > 0 ? g_ptr_array_steal_index (jobs, 0) : NULL;
}

GPtrArray *
strand_slurm_query_accounting (StrandSlurm *slurm, const char *const *ids, GError **error)
{
  if (ids == NULL || ids[0] == NULL)
    return g_ptr_array_new_with_free_func ((GDestroyNotify) strand_slurm_job_free);
  g_autofree char *joined = join_ids (ids, error);
  if (joined == NULL)
    return NULL;
  g_autoptr (GPtrArray) args = args_new ("sacct");
  add_arg (args, "--parsable2");
  add_arg (args, "--allocations");
  add_arg (args, "--jobs=%s", joined);
  add_arg (args, "--format=%s", STRAND_SACCT_FORMAT);
  g_auto (Output) o = { 0 };
  if (!run (slurm, args, &o, error))
    return NULL;
  if (!o.ok || err_says (&o, "accounting storage is disabled"))
    {
      if (err_says (&o, "accounting storage is disabled"))
        g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_NO_ACCOUNTING,
                     "sacct: this cluster keeps no accounting database");
      else
        set_command_error (&o, error);
      return NULL;
    }
  return strand_slurm_parse_sacct (o.out, strlen (o.out), error);
}

gboolean
strand_slurm_cancel (StrandSlurm *slurm, const char *const *ids, GError **error)
{
  if (ids == NULL || ids[0] == NULL)
    return TRUE;
  g_autofree char *joined = join_ids (ids, error);
  if (joined == NULL)
    return FALSE;
  g_autoptr (GPtrArray) args = args_new ("scancel");
  for (guint i = 0; ids[i] != NULL; i++)
    add_arg (args, "%s", ids[i]);
  g_auto (Output) o = { 0 };
  if (!run (slurm, args, &o, error))
    return FALSE;
  /* Gone already, or ending: what cancelling wanted. */
  if (!o.ok && !err_says (&o, "already completing or completed") && !err_says (&o, "Invalid job id"))
    {
      set_command_error (&o, error);
      return FALSE;
    }
  return TRUE;
}

/* ---- Nodes and reservations ---------------------------------------------- */

GPtrArray *
strand_slurm_nodes (StrandSlurm *slurm, const char *partition, GError **error)
{
  if (partition != NULL && !check_value ("partition", partition, error))
    return NULL;
  g_autoptr (GPtrArray) args = args_new ("sinfo");
  add_arg (args, "--Node");
  add_arg (args, "--Format=%s", STRAND_SINFO_FORMAT);
  if (partition != NULL)
    add_arg (args, "--partition=%s", partition);
  g_auto (Output) o = { 0 };
  if (!run (slurm, args, &o, error))
    return NULL;
  if (!o.ok)
    {
      set_command_error (&o, error);
      return NULL;
    }
  return strand_slurm_parse_sinfo (o.out, strlen (o.out), error);
}

GPtrArray *
strand_slurm_reservations (StrandSlurm *slurm, GError **error)
{
  g_autoptr (GPtrArray) args = args_new ("scontrol");
  add_arg (args, "--oneliner");
  add_arg (args, "show");
  add_arg (args, "reservation");
  g_auto (Output) o = { 0 };
  if (!run (slurm, args, &o, error))
    return NULL;
  if (!o.ok)
    {
      set_command_error (&o, error);
      return NULL;
    }
  return strand_slurm_parse_reservations (o.out, strlen (o.out), error);
}

/* ---- The poller ------------------------------------------------------------ */

typedef struct {
  char *id;          /* as the caller watches it */
  GPtrArray *members; /* ids of the jobs it stands for: itself, or an array's tasks */
  gboolean gone;     /* the controller no longer knows it */
} Watch;

static void
watch_free (Watch *w)
{
  g_free (w->id);
  g_ptr_array_unref (w->members);
  g_free (w);
}

struct StrandSlurmPoller {
  StrandSlurm *slurm;
  gint64 min_us, max_us, interval_us, due_us;
  GPtrArray *watches;  /* Watch */
  GHashTable *jobs;    /* id -> StrandSlurmJob, the last seen */
  GPtrArray *changed;  /* borrowed from jobs */
  gboolean no_accounting;
};

StrandSlurmPoller *
strand_slurm_poller_new (StrandSlurm *slurm, gint64 min_interval_us, gint64 max_interval_us)
{
  StrandSlurmPoller *p = g_new0 (StrandSlurmPoller, 1);
  p->slurm = slurm;
  p->min_us = MAX (min_interval_us, 1000);
  p->max_us = MAX (max_interval_us, p->min_us);
  p->interval_us = p->min_us;
  p->due_us = strand_clock_monotonic_us ();
  p->watches = g_ptr_array_new_with_free_func ((GDestroyNotify) watch_free);
  p->jobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) strand_slurm_job_free);
  p->changed = g_ptr_array_new ();
  return p;
}

void
strand_slurm_poller_free (StrandSlurmPoller *p)
{
  if (p == NULL)
    return;
  g_ptr_array_unref (p->watches);
  g_hash_table_unref (p->jobs);
  g_ptr_array_unref (p->changed);
  g_free (p);
}

static Watch *
find_watch (const StrandSlurmPoller *p, const char *id)
{
  for (guint i = 0; i < p->watches->len; i++)
    {
      Watch *w = p->watches->pdata[i];
      if (g_str_equal (w->id, id))
        return w;
    }
  return NULL;
}

void
strand_slurm_poller_watch (StrandSlurmPoller *p, const char *id)
{
  if (find_watch (p, id) != NULL)
    return;
  Watch *w = g_new0 (Watch, 1);
  w->id = g_strdup (id);
  w->members = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (p->watches, w);
  /* Something new to follow: look soon. */
  p->interval_us = p->min_us;
  p->due_us = MIN (p->due_us, strand_clock_monotonic_us () + p->min_us);
}

void
strand_slurm_poller_forget (StrandSlurmPoller *p, const char *id)
{
  for (guint i = 0; i < p->watches->len; i++)
    {
      Watch *w = p->watches->pdata[i];
      if (!g_str_equal (w->id, id))
        continue;
      for (guint m = 0; m < w->members->len; m++)
        g_hash_table_remove (p->jobs, w->members->pdata[m]);
      g_ptr_array_remove_index (p->watches, i);
      return;
    }
}

gint64
strand_slurm_poller_due_us (const StrandSlurmPoller *p)
{
  return p->due_us;
}

gint64
strand_slurm_poller_interval_us (const StrandSlurmPoller *p)
{
  return p->interval_us;
}

const StrandSlurmJob *
strand_slurm_poller_job (const StrandSlurmPoller *p, const char *id)
{
  return g_hash_table_lookup (p->jobs, id);
}

static gboolean
watch_final (const StrandSlurmPoller *p, const Watch *w)
{
  if (w->members->len == 0)
    return FALSE;
  for (guint m = 0; m < w->members->len; m++)
    {
      const StrandSlurmJob *job = g_hash_table_lookup (p->jobs, w->members->pdata[m]);
      if (job == NULL || !strand_slurm_job_state_is_final (job->state))
        return FALSE;
    }
  return TRUE;
}

gboolean
strand_slurm_poller_all_final (const StrandSlurmPoller *p)
{
  for (guint i = 0; i < p->watches->len; i++)
    if (!watch_final (p, p->watches->pdata[i]))
      return FALSE;
  return TRUE;
}

static gboolean
belongs_to (const StrandSlurmJob *job, const char *watched)
{
  if (g_str_equal (job->id, watched))
    return TRUE;
  guint64 n;
  if (!g_ascii_string_to_unsigned (watched, 10, 1, G_MAXUINT32, &n, NULL))
    return FALSE;
  return job->array_job_id == n || job->job_id == n;
}

/* Stores what was seen of a job; notes it in `changed` when its state moved. */
static void
record_job (StrandSlurmPoller *p, Watch *w, StrandSlurmJob *job)
{
  if (!g_ptr_array_find_with_equal_func (w->members, job->id, g_str_equal, NULL))
    g_ptr_array_add (w->members, g_strdup (job->id));
  const StrandSlurmJob *before = g_hash_table_lookup (p->jobs, job->id);
  gboolean moved = before == NULL || before->state != job->state;
  StrandSlurmJob *copy = strand_slurm_job_copy (job);
  g_hash_table_replace (p->jobs, g_strdup (job->id), copy);
  if (moved)
    g_ptr_array_add (p->changed, copy);
}

/* Jobs squeue no longer lists: from sacct when the cluster keeps accounting,
 * otherwise UNKNOWN, which is final. */
static void
settle_missing (StrandSlurmPoller *p, GPtrArray *missing)
{
  g_autoptr (GPtrArray) found = NULL;
  if (!p->no_accounting)
    {
      g_autoptr (GPtrArray) ids = g_ptr_array_new ();
      for (guint i = 0; i < missing->len; i++)
        g_ptr_array_add (ids, ((Watch *) missing->pdata[i])->id);
      g_ptr_array_add (ids, NULL);
      g_autoptr (GError) error = NULL;
      found = strand_slurm_query_accounting (p->slurm, (const char *const *) ids->pdata, &error);
      if (g_error_matches (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_NO_ACCOUNTING))
        p->no_accounting = TRUE;
    }
  for (guint i = 0; i < missing->len; i++)
    {
      Watch *w = missing->pdata[i];
      gboolean settled = FALSE;
      for (guint j = 0; found != NULL && j < found->len; j++)
        if (belongs_to (found->pdata[j], w->id))
          {
            record_job (p, w, found->pdata[j]);
            settled = TRUE;
          }
      if (settled)
        continue;
      w->gone = TRUE;
      if (w->members->len == 0)
        g_ptr_array_add (w->members, g_strdup (w->id));
      for (guint m = 0; m < w->members->len; m++)
        {
          const char *id = w->members->pdata[m];
          const StrandSlurmJob *before = g_hash_table_lookup (p->jobs, id);
          if (before != NULL && strand_slurm_job_state_is_final (before->state))
            continue;
          StrandSlurmJob *job = before ? strand_slurm_job_copy (before) : g_new0 (StrandSlurmJob, 1);
          if (before == NULL)
            {
              job->id = g_strdup (id);
              job->array_task_id = -1;
              job->exit_status = -1;
            }
          job->state = STRAND_SLURM_JOB_UNKNOWN;
          g_free (job->state_name);
          job->state_name = g_strdup ("UNKNOWN");
          g_free (job->reason);
          job->reason = g_strdup ("no longer known to the Slurm controller");
          g_hash_table_replace (p->jobs, g_strdup (id), job);
          g_ptr_array_add (p->changed, job);
        }
    }
}

gboolean
strand_slurm_poller_poll (StrandSlurmPoller *p, GPtrArray **changed, GError **error)
{
  g_ptr_array_set_size (p->changed, 0);
  if (changed != NULL)
    *changed = p->changed;
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  for (guint i = 0; i < p->watches->len; i++)
    {
      Watch *w = p->watches->pdata[i];
      if (!w->gone && !watch_final (p, w))
        g_ptr_array_add (ids, w->id);
    }
  if (ids->len == 0)
    {
      p->due_us = strand_clock_monotonic_us () + p->max_us;
      return TRUE;
    }
  g_ptr_array_add (ids, NULL);

  g_autoptr (GPtrArray) jobs = strand_slurm_query_jobs (p->slurm, (const char *const *) ids->pdata, error);
  if (jobs != NULL)
    {
      g_autoptr (GPtrArray) missing = g_ptr_array_new ();
      for (guint i = 0; ids->pdata[i] != NULL; i++)
        {
          Watch *w = find_watch (p, ids->pdata[i]);
          gboolean seen = FALSE;
          for (guint j = 0; j < jobs->len; j++)
            if (belongs_to (jobs->pdata[j], w->id))
              {
                record_job (p, w, jobs->pdata[j]);
                seen = TRUE;
              }
          if (!seen)
            g_ptr_array_add (missing, w);
        }
      if (missing->len > 0)
        settle_missing (p, missing);
    }
  /* Halved, not reset, on a change: a large array whose tasks end one by
   * one must not pin the poller to its minimum. */
  p->interval_us = p->changed->len > 0 ? MAX (p->interval_us / 2, p->min_us) : MIN (p->interval_us * 2, p->max_us);
  p->due_us = strand_clock_monotonic_us () + p->interval_us;
  return jobs != NULL;
}

gboolean
strand_slurm_poller_wait (StrandSlurmPoller *p, gint64 timeout_us, GError **error)
{
  gint64 start = strand_clock_monotonic_us ();
  g_autoptr (GError) last = NULL;
  for (;;)
    {
      g_clear_error (&last);
      if (!strand_slurm_poller_poll (p, NULL, &last) &&
          !g_error_matches (last, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_UNREACHABLE))
        {
          g_propagate_error (error, g_steal_pointer (&last));
          return FALSE;
        }
      if (last == NULL && strand_slurm_poller_all_final (p))
        return TRUE;
      gint64 now = strand_clock_monotonic_us ();
      if (timeout_us > 0 && now - start >= timeout_us)
        {
          g_autoptr (GString) waiting = g_string_new (NULL);
          for (guint i = 0; i < p->watches->len; i++)
            {
              Watch *w = p->watches->pdata[i];
              if (watch_final (p, w))
                continue;
              const StrandSlurmJob *job = g_hash_table_lookup (p->jobs, w->id);
              g_string_append_printf (waiting, "%s%s (%s)", waiting->len ? ", " : "", w->id,
                                      job ? job->state_name : "not seen");
            }
          g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_TIMEOUT,
                       "Slurm jobs not finished after %.1f s: %s%s%s", timeout_us / 1e6, waiting->str,
                       last ? "; " : "", last ? last->message : "");
          return FALSE;
        }
      gint64 sleep_us = p->due_us - now;
      if (timeout_us > 0)
        sleep_us = MIN (sleep_us, start + timeout_us - now);
      if (sleep_us > 0)
        g_usleep ((gulong) sleep_us);
    }
}
