/* Reading what Slurm's commands print (slurm.h). Pure functions of the text:
 * no command runs here, so the fixtures and the fuzzer reach all of it.
 *
 * Two shapes of output: tables (squeue, sinfo, sacct), a header line then
 * '|'-separated fields, the last of which is free text and may itself hold
 * '|'; and scontrol's Key=Value records, where a value may hold spaces (a
 * drain reason) and runs until the next word that looks like a key. */
#include "slurm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurm-private.h"

G_DEFINE_QUARK (strand-slurm-error-quark, strand_slurm_error)

/* Far beyond any real output, small enough that hostile text cannot make us
 * allocate without bound. */
#define MAX_HOSTLIST_NAMES (1u << 16)
#define MAX_WINDOWS_PER_RESERVATION 4096

/* ---- Small readers -------------------------------------------------------- */

static gboolean
is_empty_value (const char *s)
{
  /* Slurm writes "None" and "NONE", "Unknown", "N/A" and "n/a". */
  return s[0] == '\0' || g_str_equal (s, "(null)") || g_ascii_strcasecmp (s, "N/A") == 0 ||
         g_ascii_strcasecmp (s, "Unknown") == 0 || g_ascii_strcasecmp (s, "None") == 0;
}

static char *
dup_value (const char *s)
{
  return is_empty_value (s) ? NULL : g_strdup (s);
}

static gboolean
read_u64 (const char *s, guint64 max, guint64 *out)
{
  return g_ascii_string_to_unsigned (s, 10, 0, max, out, NULL);
}

/* Unix seconds (SLURM_TIME_FORMAT=%s), or Slurm's default
 * "2026-11-27T08:36:21" in local time; "Unknown", "N/A", "None": 0. */
static gboolean
read_time (const char *s, gint64 *us)
{
  guint64 secs;
  *us = 0;
  if (is_empty_value (s))
    return TRUE;
  /* Up to the end of year 9999, as far as GDateTime goes. */
  if (read_u64 (s, G_GUINT64_CONSTANT (253402300799), &secs))
    {
      *us = (gint64) secs * G_USEC_PER_SEC;
      return TRUE;
    }
  int y, mo, d, h, mi, se;
  char tail;
  if (strlen (s) != 19 || sscanf (s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &tail) != 6)
    return FALSE;
  g_autoptr (GTimeZone) tz = g_time_zone_new_local ();
  g_autoptr (GDateTime) dt = g_date_time_new (tz, y, mo, d, h, mi, se);
  if (dt == NULL)
    return FALSE;
  *us = g_date_time_to_unix (dt) * G_USEC_PER_SEC;
  return TRUE;
}

/* "UNLIMITED", "[days-]hours:minutes:seconds", "minutes:seconds",
 * "minutes" (Slurm's forms) into seconds; 0: none. */
static gboolean
read_duration (const char *s, gint64 *seconds)
{
  *seconds = 0;
  if (is_empty_value (s) || g_str_equal (s, "UNLIMITED") || g_str_equal (s, "INFINITE") ||
      g_str_equal (s, "NOT_SET") || g_str_equal (s, "Partition_Limit"))
    return TRUE;
  guint64 days = 0;
  const char *rest = s;
  const char *dash = strchr (s, '-');
  if (dash != NULL)
    {
      g_autofree char *d = g_strndup (s, (gsize) (dash - s));
      if (!read_u64 (d, 1000000, &days))
        return FALSE;
      rest = dash + 1;
    }
  g_auto (GStrv) parts = g_strsplit (rest, ":", -1);
  guint n = g_strv_length (parts);
  if (n < 1 || n > 3)
    return FALSE;
  guint64 v[3] = { 0, 0, 0 };
  for (guint i = 0; i < n; i++)
    if (!read_u64 (parts[i], 100000000, &v[i]))
      return FALSE;
  guint64 total;
  if (dash != NULL) /* days-hours[:minutes[:seconds]] */
    total = ((days * 24 + v[0]) * 60 + (n > 1 ? v[1] : 0)) * 60 + (n > 2 ? v[2] : 0);
  else if (n == 3)
    total = (v[0] * 60 + v[1]) * 60 + v[2];
  else if (n == 2) /* minutes:seconds */
    total = v[0] * 60 + v[1];
  else /* minutes */
    total = v[0] * 60;
  *seconds = (gint64) total;
  return TRUE;
}

/* "0:0" (exit status : signal). */
static gboolean
read_exit_code (const char *s, int *status, int *sig)
{
  const char *colon = strchr (s, ':');
  if (colon == NULL)
    return FALSE;
  g_autofree char *a = g_strndup (s, (gsize) (colon - s));
  guint64 x, y;
  if (!read_u64 (a, 255, &x) || !read_u64 (colon + 1, 255, &y))
    return FALSE;
  *status = (int) x;
  *sig = (int) y;
  return TRUE;
}

static GPtrArray *
jobs_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) strand_slurm_job_free);
}

static StrandSlurmJob *
job_new (void)
{
  StrandSlurmJob *job = g_new0 (StrandSlurmJob, 1);
  job->array_task_id = -1;
  job->exit_status = -1;
  return job;
}

void
strand_slurm_job_free (StrandSlurmJob *job)
{
  if (job == NULL)
    return;
  g_free (job->id);
  g_free (job->name);
  g_free (job->state_name);
  g_free (job->reason);
  g_free (job->partition);
  g_free (job->nodes);
  g_free (job->account);
  g_free (job->user);
  g_free (job);
}

StrandSlurmJob *
strand_slurm_job_copy (const StrandSlurmJob *job)
{
  StrandSlurmJob *c = g_memdup2 (job, sizeof *job);
  c->id = g_strdup (job->id);
  c->name = g_strdup (job->name);
  c->state_name = g_strdup (job->state_name);
  c->reason = g_strdup (job->reason);
  c->partition = g_strdup (job->partition);
  c->nodes = g_strdup (job->nodes);
  c->account = g_strdup (job->account);
  c->user = g_strdup (job->user);
  return c;
}

/* ---- Job states ------------------------------------------------------------ */

static const struct {
  StrandSlurmJobState state;
  const char *name;
} job_states[] = {
  { STRAND_SLURM_JOB_UNKNOWN, "UNKNOWN" },
  { STRAND_SLURM_JOB_PENDING, "PENDING" },
  { STRAND_SLURM_JOB_CONFIGURING, "CONFIGURING" },
  { STRAND_SLURM_JOB_RUNNING, "RUNNING" },
  { STRAND_SLURM_JOB_SUSPENDED, "SUSPENDED" },
  { STRAND_SLURM_JOB_STOPPED, "STOPPED" },
  { STRAND_SLURM_JOB_COMPLETING, "COMPLETING" },
  { STRAND_SLURM_JOB_REQUEUED, "REQUEUED" },
  { STRAND_SLURM_JOB_REQUEUED, "REQUEUE_FED" },
  { STRAND_SLURM_JOB_REQUEUED, "REQUEUE_HOLD" },
  { STRAND_SLURM_JOB_RESIZING, "RESIZING" },
  { STRAND_SLURM_JOB_COMPLETED, "COMPLETED" },
  { STRAND_SLURM_JOB_FAILED, "FAILED" },
  { STRAND_SLURM_JOB_CANCELLED, "CANCELLED" },
  { STRAND_SLURM_JOB_TIMEOUT, "TIMEOUT" },
  { STRAND_SLURM_JOB_NODE_FAIL, "NODE_FAIL" },
  { STRAND_SLURM_JOB_PREEMPTED, "PREEMPTED" },
  { STRAND_SLURM_JOB_BOOT_FAIL, "BOOT_FAIL" },
  { STRAND_SLURM_JOB_DEADLINE, "DEADLINE" },
  { STRAND_SLURM_JOB_OUT_OF_MEMORY, "OUT_OF_MEMORY" },
  { STRAND_SLURM_JOB_REVOKED, "REVOKED" },
  { STRAND_SLURM_JOB_SPECIAL_EXIT, "SPECIAL_EXIT" },
};

const char *
strand_slurm_job_state_name (StrandSlurmJobState state)
{
  for (guint i = 0; i < G_N_ELEMENTS (job_states); i++)
    if (job_states[i].state == state)
      return job_states[i].name;
  return "UNKNOWN";
}

StrandSlurmJobState
strand_slurm_job_state_from_name (const char *name)
{
  if (name == NULL)
    return STRAND_SLURM_JOB_UNKNOWN;
  /* sacct: "CANCELLED by 1000"; a cut column: "CANCELLED+". */
  gsize n = strcspn (name, " +");
  for (guint i = 0; i < G_N_ELEMENTS (job_states); i++)
    if (strlen (job_states[i].name) == n && strncmp (job_states[i].name, name, n) == 0)
      return job_states[i].state;
  return STRAND_SLURM_JOB_UNKNOWN;
}

gboolean
strand_slurm_job_state_is_final (StrandSlurmJobState state)
{
  return state == STRAND_SLURM_JOB_UNKNOWN || state >= STRAND_SLURM_JOB_COMPLETED;
}

/* ---- Tables ---------------------------------------------------------------- */

/* Splits `text` into lines (without '\n'); fails on a NUL byte, which no
 * Slurm command prints. */
static GPtrArray *
split_lines (const char *text, gsize len, const char *what, GError **error)
{
  const char *nul = memchr (text, '\0', len);
  if (nul != NULL)
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE,
                   "%s output: a NUL byte at offset %" G_GSIZE_FORMAT, what, (gsize) (nul - text));
      return NULL;
    }
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  const char *p = text, *end = text + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      const char *stop = nl ? nl : end;
      gsize n = (gsize) (stop - p);
      if (n > 0 && p[n - 1] == '\r')
        n--;
      g_ptr_array_add (lines, g_strndup (p, n));
      p = nl ? nl + 1 : end;
    }
  return lines;
}

/* Splits a table row into exactly `n` fields on '|'; the last field takes
 * the rest of the line. With `trailing`, each field (the last one too) was
 * printed with a '|' after it, which is dropped. */
static char **
split_row (const char *line, guint n, gboolean trailing)
{
  gsize len = strlen (line);
  if (trailing)
    {
      if (len == 0 || line[len - 1] != '|')
        return NULL;
      len--;
    }
  char **fields = g_new0 (char *, n + 1);
  const char *p = line, *end = line + len;
  for (guint i = 0; i + 1 < n; i++)
    {
      const char *bar = memchr (p, '|', (gsize) (end - p));
      if (bar == NULL)
        {
          g_strfreev (fields);
          return NULL;
        }
      fields[i] = g_strndup (p, (gsize) (bar - p));
      p = bar + 1;
    }
  fields[n - 1] = g_strndup (p, (gsize) (end - p));
  return fields;
}

static guint
count_fields (const char *header)
{
  guint n = 0;
  for (const char *p = header; *p; p++)
    n += *p == '|';
  return n;
}

static gboolean
check_header (GPtrArray *lines, const char *expected, const char *what, GError **error)
{
  if (lines->len == 0 || !g_str_equal (lines->pdata[0], expected))
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE,
                   "%s output, line 1: expected the header '%s', got '%.200s'", what, expected,
                   lines->len ? (const char *) lines->pdata[0] : "");
      return FALSE;
    }
  return TRUE;
}

/* Sets a PARSE error naming the line and the field; returns NULL. */
static gpointer G_GNUC_PRINTF (5, 6)
row_error (GError **error, const char *what, guint line, const char *field, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE, "%s output, line %u%s%s%s: %s",
               what, line, field ? ", field '" : "", field ? field : "", field ? "'" : "", msg);
  return NULL;
}

/* ---- sbatch ---------------------------------------------------------------- */

char *
strand_slurm_parse_sbatch (const char *text, GError **error)
{
  g_autofree char *copy = g_strstrip (g_strdup (text));
  char *semi = strchr (copy, ';'); /* "123;cluster" in a federation */
  if (semi != NULL)
    *semi = '\0';
  guint64 id;
  if (!read_u64 (copy, G_MAXUINT32, &id) || id == 0)
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE,
                   "sbatch output: expected a job id, got '%.200s'", text);
      return NULL;
    }
  return g_strdup_printf ("%" G_GUINT64_FORMAT, id);
}

/* ---- squeue ---------------------------------------------------------------- */

enum {
  SQ_ID, SQ_JOBID, SQ_ARRAY_JOB, SQ_ARRAY_TASK, SQ_STATE, SQ_PARTITION, SQ_NODES, SQ_SUBMIT,
  SQ_START, SQ_END, SQ_LIMIT, SQ_CPUS, SQ_ACCOUNT, SQ_USER, SQ_REASON, SQ_NAME, SQ_N
};

/* A job id as squeue and scancel take it: "123" or "123_4", or an array's
 * pending range "123_[4-9%2]". */
gboolean
strand_slurm_valid_job_id (const char *id)
{
  if (!g_ascii_isdigit (id[0]))
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isdigit (*p) && !strchr ("_[]-,%", *p))
      return FALSE;
  return strlen (id) < 64;
}

GPtrArray *
strand_slurm_parse_squeue (const char *text, gsize len, GError **error)
{
  const char *what = "squeue";
  g_autoptr (GPtrArray) lines = split_lines (text, len, what, error);
  if (lines == NULL || !check_header (lines, STRAND_SQUEUE_HEADER, what, error))
    return NULL;
  G_STATIC_ASSERT (SQ_N == 16);
  g_assert (count_fields (STRAND_SQUEUE_HEADER) == SQ_N);
  g_autoptr (GPtrArray) jobs = jobs_new ();
  for (guint i = 1; i < lines->len; i++)
    {
      const char *line = lines->pdata[i];
      guint ln = i + 1;
      if (line[0] == '\0')
        continue;
      g_auto (GStrv) f = split_row (line, SQ_N, TRUE);
      if (f == NULL)
        {
          return row_error (error, what, ln, NULL, "expected %d fields ending in '|', got '%.200s'", SQ_N, line);
        }
      g_autoptr (StrandSlurmJob) job = job_new ();
      if (!strand_slurm_valid_job_id (f[SQ_ID]))
        return row_error (error, what, ln, "JOBID", "'%.64s' is not a job id", f[SQ_ID]);
      job->id = g_strdup (f[SQ_ID]);
      if (!read_u64 (f[SQ_JOBID], G_MAXUINT32, &job->job_id))
        return row_error (error, what, ln, "JOBID", "'%.64s' is not a job number", f[SQ_JOBID]);
      guint64 task;
      if (is_empty_value (f[SQ_ARRAY_TASK]))
        job->array_job_id = 0;
      else
        {
          if (!read_u64 (f[SQ_ARRAY_JOB], G_MAXUINT32, &job->array_job_id))
            return row_error (error, what, ln, "ARRAY_JOB_ID", "'%.64s' is not a job number",
                              f[SQ_ARRAY_JOB]);
          /* A range not yet split into tasks ("0-3%2") is no single task. */
          job->array_task_id = read_u64 (f[SQ_ARRAY_TASK], G_MAXUINT32, &task) ? (gint64) task : -1;
        }
      job->state_name = g_strdup (f[SQ_STATE]);
      job->state = strand_slurm_job_state_from_name (f[SQ_STATE]);
      job->partition = dup_value (f[SQ_PARTITION]);
      job->nodes = dup_value (f[SQ_NODES]);
      if (!read_time (f[SQ_SUBMIT], &job->submit_us))
        return row_error (error, what, ln, "SUBMIT_TIME", "'%.64s' is not a time", f[SQ_SUBMIT]);
      if (!read_time (f[SQ_START], &job->start_us))
        return row_error (error, what, ln, "START_TIME", "'%.64s' is not a time", f[SQ_START]);
      if (!read_time (f[SQ_END], &job->end_us))
        return row_error (error, what, ln, "END_TIME", "'%.64s' is not a time", f[SQ_END]);
      /* squeue gives a pending job's expected start and end: not facts yet. */
      if (job->state == STRAND_SLURM_JOB_PENDING)
        job->start_us = job->end_us = 0;
      if (!read_duration (f[SQ_LIMIT], &job->time_limit_s))
        return row_error (error, what, ln, "TIME_LIMIT", "'%.64s' is not a duration", f[SQ_LIMIT]);
      guint64 cpus;
      if (!read_u64 (f[SQ_CPUS], G_MAXUINT32, &cpus))
        return row_error (error, what, ln, "CPUS", "'%.64s' is not a count", f[SQ_CPUS]);
      job->cpus = (guint) cpus;
      job->account = dup_value (f[SQ_ACCOUNT]);
      job->user = dup_value (f[SQ_USER]);
      job->reason = dup_value (f[SQ_REASON]);
      job->name = g_strdup (f[SQ_NAME]);
      g_ptr_array_add (jobs, g_steal_pointer (&job));
    }
  return g_steal_pointer (&jobs);
}

/* ---- sacct ----------------------------------------------------------------- */

enum {
  SA_ID, SA_RAW, SA_STATE, SA_EXIT, SA_PARTITION, SA_NODES, SA_SUBMIT, SA_START, SA_END,
  SA_LIMIT, SA_CPUS, SA_ACCOUNT, SA_USER, SA_NAME, SA_N
};

GPtrArray *
strand_slurm_parse_sacct (const char *text, gsize len, GError **error)
{
  const char *what = "sacct";
  g_autoptr (GPtrArray) lines = split_lines (text, len, what, error);
  if (lines == NULL || !check_header (lines, STRAND_SACCT_HEADER, what, error))
    return NULL;
  g_assert (count_fields (STRAND_SACCT_HEADER) + 1 == SA_N);
  g_autoptr (GPtrArray) jobs = jobs_new ();
  for (guint i = 1; i < lines->len; i++)
    {
      const char *line = lines->pdata[i];
      guint ln = i + 1;
      if (line[0] == '\0')
        continue;
      g_auto (GStrv) f = split_row (line, SA_N, FALSE);
      if (f == NULL)
        {
          return row_error (error, what, ln, NULL, "expected %d fields, got '%.200s'", SA_N, line);
        }
      /* Steps ("123.batch", "123.0") belong to their job. */
      if (strchr (f[SA_ID], '.') != NULL)
        continue;
      g_autoptr (StrandSlurmJob) job = job_new ();
      if (!strand_slurm_valid_job_id (f[SA_ID]))
        return row_error (error, what, ln, "JobID", "'%.64s' is not a job id", f[SA_ID]);
      job->id = g_strdup (f[SA_ID]);
      if (!read_u64 (f[SA_RAW], G_MAXUINT32, &job->job_id))
        return row_error (error, what, ln, "JobIDRaw", "'%.64s' is not a job number", f[SA_RAW]);
      const char *under = strchr (f[SA_ID], '_');
      if (under != NULL)
        {
          g_autofree char *base = g_strndup (f[SA_ID], (gsize) (under - f[SA_ID]));
          guint64 task;
          if (!read_u64 (base, G_MAXUINT32, &job->array_job_id))
            return row_error (error, what, ln, "JobID", "'%.64s' is not a job id", f[SA_ID]);
          job->array_task_id = read_u64 (under + 1, G_MAXUINT32, &task) ? (gint64) task : -1;
        }
      job->state_name = g_strdup (f[SA_STATE]);
      job->state = strand_slurm_job_state_from_name (f[SA_STATE]);
      if (!read_exit_code (f[SA_EXIT], &job->exit_status, &job->exit_signal))
        return row_error (error, what, ln, "ExitCode", "'%.64s' is not status:signal", f[SA_EXIT]);
      job->partition = dup_value (f[SA_PARTITION]);
      job->nodes = g_str_equal (f[SA_NODES], "None assigned") ? NULL : dup_value (f[SA_NODES]);
      if (!read_time (f[SA_SUBMIT], &job->submit_us))
        return row_error (error, what, ln, "Submit", "'%.64s' is not a time", f[SA_SUBMIT]);
      if (!read_time (f[SA_START], &job->start_us))
        return row_error (error, what, ln, "Start", "'%.64s' is not a time", f[SA_START]);
      if (!read_time (f[SA_END], &job->end_us))
        return row_error (error, what, ln, "End", "'%.64s' is not a time", f[SA_END]);
      if (!read_duration (f[SA_LIMIT], &job->time_limit_s))
        return row_error (error, what, ln, "Timelimit", "'%.64s' is not a duration", f[SA_LIMIT]);
      guint64 cpus;
      if (!read_u64 (f[SA_CPUS], G_MAXUINT32, &cpus))
        return row_error (error, what, ln, "AllocCPUS", "'%.64s' is not a count", f[SA_CPUS]);
      job->cpus = (guint) cpus;
      job->account = dup_value (f[SA_ACCOUNT]);
      job->user = dup_value (f[SA_USER]);
      job->name = g_strdup (f[SA_NAME]);
      g_ptr_array_add (jobs, g_steal_pointer (&job));
    }
  return g_steal_pointer (&jobs);
}

/* ---- scontrol's Key=Value records ---------------------------------------- */

/* A word that starts a new field: a key of letters, digits and the few
 * punctuation marks scontrol uses in keys ("AllocNode:Sid", "CPUs/Task"),
 * then '='. */
static gboolean
starts_field (const char *word)
{
  if (!g_ascii_isalpha (word[0]))
    return FALSE;
  for (const char *p = word; *p; p++)
    {
      if (*p == '=')
        return TRUE;
      if (!g_ascii_isalnum (*p) && !strchr ("_:/.", *p))
        return FALSE;
    }
  return FALSE;
}

typedef struct {
  GHashTable *fields; /* key -> value */
  guint line;         /* where the record starts */
} Record;

static void
record_free (Record *r)
{
  g_hash_table_unref (r->fields);
  g_free (r);
}

/* Records of `first_key`=... fields, one-line or spread over lines (the
 * default form indents continuation lines; a blank line ends a record). */
static GPtrArray *
read_records (const char *text, gsize len, const char *what, const char *first_key,
              const char *empty_message, GError **error)
{
  g_autoptr (GPtrArray) lines = split_lines (text, len, what, error);
  if (lines == NULL)
    return NULL;
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) record_free);
  Record *current = NULL;
  GString *value = NULL;
  char *key = NULL;
  gboolean ok = TRUE;
  for (guint i = 0; i < lines->len && ok; i++)
    {
      const char *line = lines->pdata[i];
      g_autofree char *stripped = g_strstrip (g_strdup (line));
      if (i == 0 && records->len == 0 && g_str_equal (stripped, empty_message))
        break;
      g_auto (GStrv) words = g_strsplit_set (line, " \t", -1);
      for (guint w = 0; words[w] != NULL && ok; w++)
        {
          const char *word = words[w];
          if (word[0] == '\0')
            continue;
          if (starts_field (word))
            {
              const char *eq = strchr (word, '=');
              g_autofree char *k = g_strndup (word, (gsize) (eq - word));
              if (key != NULL)
                {
                  g_hash_table_replace (current->fields, key, g_string_free (value, FALSE));
                  key = NULL;
                  value = NULL;
                }
              if (g_str_equal (k, first_key))
                {
                  current = g_new0 (Record, 1);
                  current->fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
                  current->line = i + 1;
                  g_ptr_array_add (records, current);
                }
              else if (current == NULL)
                {
                  row_error (error, what, i + 1, NULL, "expected '%s=' first, got '%.64s'", first_key, word);
                  ok = FALSE;
                  break;
                }
              key = g_steal_pointer (&k);
              value = g_string_new (eq + 1);
            }
          else if (key != NULL)
            {
              /* A value with spaces: a reason, a comment. */
              g_string_append_c (value, ' ');
              g_string_append (value, word);
            }
          else
            {
              row_error (error, what, i + 1, NULL, "expected Key=Value, got '%.64s'", word);
              ok = FALSE;
            }
        }
    }
  if (key != NULL)
    {
      if (ok)
        g_hash_table_replace (current->fields, key, g_string_free (value, FALSE));
      else
        {
          g_free (key);
          g_string_free (value, TRUE);
        }
    }
  return ok ? g_steal_pointer (&records) : NULL;
}

static const char *
field (const Record *r, const char *key)
{
  const char *v = g_hash_table_lookup (r->fields, key);
  return v ? v : "";
}

/* ---- scontrol show job ------------------------------------------------------ */

GPtrArray *
strand_slurm_parse_scontrol_jobs (const char *text, gsize len, GError **error)
{
  const char *what = "scontrol show job";
  g_autoptr (GPtrArray) records = read_records (text, len, what, "JobId", "No jobs in the system", error);
  if (records == NULL)
    return NULL;
  g_autoptr (GPtrArray) jobs = jobs_new ();
  for (guint i = 0; i < records->len; i++)
    {
      const Record *r = records->pdata[i];
      g_autoptr (StrandSlurmJob) job = job_new ();
      if (!read_u64 (field (r, "JobId"), G_MAXUINT32, &job->job_id))
        return row_error (error, what, r->line, "JobId", "'%.64s' is not a job number",
                          field (r, "JobId"));
      const char *task = field (r, "ArrayTaskId");
      if (!is_empty_value (task))
        {
          guint64 t;
          if (!read_u64 (field (r, "ArrayJobId"), G_MAXUINT32, &job->array_job_id))
            return row_error (error, what, r->line, "ArrayJobId", "'%.64s' is not a job number",
                              field (r, "ArrayJobId"));
          if (read_u64 (task, G_MAXUINT32, &t))
            {
              job->array_task_id = (gint64) t;
              job->id = g_strdup_printf ("%" G_GUINT64_FORMAT "_%" G_GUINT64_FORMAT, job->array_job_id, t);
            }
          else
            job->id = g_strdup_printf ("%" G_GUINT64_FORMAT "_[%.32s]", job->array_job_id, task);
        }
      else
        job->id = g_strdup_printf ("%" G_GUINT64_FORMAT, job->job_id);
      job->name = g_strdup (field (r, "JobName"));
      job->state_name = g_strdup (field (r, "JobState"));
      job->state = strand_slurm_job_state_from_name (job->state_name);
      job->reason = dup_value (field (r, "Reason"));
      job->partition = dup_value (field (r, "Partition"));
      job->nodes = dup_value (field (r, "NodeList"));
      job->account = dup_value (field (r, "Account"));
      /* "UserId=alice(1000)" */
      g_autofree char *user = g_strdup (field (r, "UserId"));
      char *paren = strchr (user, '(');
      if (paren != NULL)
        *paren = '\0';
      job->user = dup_value (user);
      const char *exit_code = field (r, "ExitCode");
      if (!is_empty_value (exit_code) && !read_exit_code (exit_code, &job->exit_status, &job->exit_signal))
        return row_error (error, what, r->line, "ExitCode", "'%.64s' is not status:signal", exit_code);
      static const char *const times[] = { "SubmitTime", "StartTime", "EndTime" };
      gint64 *slots[] = { &job->submit_us, &job->start_us, &job->end_us };
      for (guint t = 0; t < G_N_ELEMENTS (times); t++)
        if (!read_time (field (r, times[t]), slots[t]))
          return row_error (error, what, r->line, times[t], "'%.64s' is not a time", field (r, times[t]));
      if (job->state == STRAND_SLURM_JOB_PENDING)
        job->start_us = job->end_us = 0;
      if (!read_duration (field (r, "TimeLimit"), &job->time_limit_s))
        return row_error (error, what, r->line, "TimeLimit", "'%.64s' is not a duration",
                          field (r, "TimeLimit"));
      guint64 cpus = 0;
      if (!is_empty_value (field (r, "NumCPUs")) && !read_u64 (field (r, "NumCPUs"), G_MAXUINT32, &cpus))
        return row_error (error, what, r->line, "NumCPUs", "'%.64s' is not a count", field (r, "NumCPUs"));
      job->cpus = (guint) cpus;
      g_ptr_array_add (jobs, g_steal_pointer (&job));
    }
  return g_steal_pointer (&jobs);
}

/* ---- Host lists ------------------------------------------------------------ */

static gboolean
hostlist_bad (const char *item, GError **error)
{
  g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE, "host list: cannot read '%.200s'", item);
  return FALSE;
}

static gboolean
hostlist_too_long (const char *item, guint max, GError **error)
{
  g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE,
               "host list: more than %u names in '%.200s'", max, item);
  return FALSE;
}

/* Appends the expansion of one item ("rack[1-2]-n[01-04]") to `out`. */
static gboolean
expand_item (const char *item, GPtrArray *out, guint max, GError **error)
{
  const char *open = strchr (item, '[');
  if (open == NULL)
    {
      if (strchr (item, ']') != NULL)
        return hostlist_bad (item, error);
      if (out->len >= max)
        return hostlist_too_long (item, max, error);
      g_ptr_array_add (out, g_strdup (item));
      return TRUE;
    }
  const char *close = strchr (open, ']');
  if (close == NULL || memchr (open + 1, '[', (gsize) (close - open - 1)) != NULL)
    return hostlist_bad (item, error);
  g_autofree char *prefix = g_strndup (item, (gsize) (open - item));
  g_autofree char *ranges = g_strndup (open + 1, (gsize) (close - open - 1));
  const char *suffix = close + 1;
  g_auto (GStrv) parts = g_strsplit (ranges, ",", -1);
  if (parts[0] == NULL)
    return hostlist_bad (item, error);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      const char *dash = strchr (parts[i], '-');
      g_autofree char *lo_s = dash ? g_strndup (parts[i], (gsize) (dash - parts[i])) : g_strdup (parts[i]);
      const char *hi_s = dash ? dash + 1 : lo_s;
      guint64 lo, hi;
      if (lo_s[0] == '\0' || !read_u64 (lo_s, 999999999, &lo) || !read_u64 (hi_s, 999999999, &hi) || hi < lo)
        return hostlist_bad (item, error);
      if (hi - lo >= max || out->len + (hi - lo) >= max)
        return hostlist_too_long (item, max, error);
      /* "node[01-10]": the low bound's width is the padding. */
      int width = (int) strlen (lo_s);
      for (guint64 v = lo; v <= hi; v++)
        {
          g_autofree char *name = g_strdup_printf ("%s%0*" G_GUINT64_FORMAT "%s", prefix, width, v, suffix);
          if (!expand_item (name, out, max, error))
            return FALSE;
        }
    }
  return TRUE;
}

char **
strand_slurm_hostlist_expand (const char *list, guint max, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  if (list != NULL && !is_empty_value (list))
    {
      /* Slurm's host lists have a few dimensions at most; each bracket is
       * one level of recursion. */
      guint brackets = 0;
      for (const char *p = list; *p; p++)
        brackets += *p == '[';
      if (brackets > 64)
        {
          g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE,
                       "host list: %u bracket groups in '%.200s'", brackets, list);
          return NULL;
        }
      /* Commas inside brackets separate ranges, outside them hosts. */
      const char *start = list;
      int depth = 0;
      for (const char *p = list;; p++)
        {
          if (*p == '[')
            depth++;
          else if (*p == ']')
            depth--;
          if ((*p == ',' && depth == 0) || *p == '\0')
            {
              g_autofree char *item = g_strndup (start, (gsize) (p - start));
              if (item[0] == '\0' || depth != 0)
                {
                  g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE,
                               "host list: cannot read '%.200s'", list);
                  return NULL;
                }
              if (!expand_item (item, out, max, error))
                return NULL;
              if (*p == '\0')
                break;
              start = p + 1;
            }
        }
      if (depth != 0)
        {
          g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE,
                       "host list: unbalanced brackets in '%.200s'", list);
          return NULL;
        }
    }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

/* ---- sinfo ----------------------------------------------------------------- */

enum { SI_NODE, SI_STATE, SI_CPUS, SI_MEMORY, SI_ALLOC_MEM, SI_PARTITION, SI_TIME, SI_WHO, SI_REASON, SI_N };

void
strand_slurm_node_free (StrandSlurmNode *node)
{
  if (node == NULL)
    return;
  g_free (node->name);
  g_free (node->state_text);
  g_strfreev (node->partitions);
  g_free (node->reason);
  g_free (node->reason_user);
  g_free (node);
}

static const struct {
  StrandSlurmNodeState state;
  const char *name;
} node_states[] = {
  { STRAND_SLURM_NODE_UNKNOWN, "unknown" },
  { STRAND_SLURM_NODE_IDLE, "idle" },
  { STRAND_SLURM_NODE_MIXED, "mixed" },
  { STRAND_SLURM_NODE_ALLOCATED, "allocated" },
  { STRAND_SLURM_NODE_DOWN, "down" },
  { STRAND_SLURM_NODE_ERROR, "error" },
  { STRAND_SLURM_NODE_FUTURE, "future" },
};

static const struct {
  guint flag;
  const char *name;
} node_flags[] = {
  { STRAND_SLURM_NODE_DRAIN, "drain" },
  { STRAND_SLURM_NODE_DRAIN, "drained" },
  { STRAND_SLURM_NODE_DRAIN, "draining" },
  { STRAND_SLURM_NODE_MAINT, "maintenance" },
  { STRAND_SLURM_NODE_MAINT, "maint" },
  { STRAND_SLURM_NODE_RESERVED, "reserved" },
  { STRAND_SLURM_NODE_NOT_RESPONDING, "not_responding" },
  { STRAND_SLURM_NODE_COMPLETING, "completing" },
  { STRAND_SLURM_NODE_FAIL, "fail" },
  { STRAND_SLURM_NODE_POWERED_DOWN, "powered_down" },
  { STRAND_SLURM_NODE_POWERED_DOWN, "powering_down" },
  { STRAND_SLURM_NODE_POWERED_DOWN, "powering_up" },
  { STRAND_SLURM_NODE_POWERED_DOWN, "power_down" },
  { STRAND_SLURM_NODE_POWERED_DOWN, "power_up" },
  { STRAND_SLURM_NODE_REBOOT, "reboot_requested" },
  { STRAND_SLURM_NODE_REBOOT, "reboot_issued" },
  { STRAND_SLURM_NODE_REBOOT, "reboot" },
  { STRAND_SLURM_NODE_PLANNED, "planned" },
  { STRAND_SLURM_NODE_INVALID_REG, "invalid_reg" },
  { STRAND_SLURM_NODE_CLOUD, "cloud" },
};

const char *
strand_slurm_node_state_name (StrandSlurmNodeState state)
{
  for (guint i = 0; i < G_N_ELEMENTS (node_states); i++)
    if (node_states[i].state == state)
      return node_states[i].name;
  return "unknown";
}

/* "idle+drain+maintenance": base state, then flags. */
static gboolean
read_node_state (const char *text, StrandSlurmNodeState *state, guint *flags)
{
  g_autofree char *lower = g_ascii_strdown (text, -1);
  g_auto (GStrv) parts = g_strsplit (lower, "+", -1);
  if (parts[0] == NULL || parts[0][0] == '\0')
    return FALSE;
  *state = STRAND_SLURM_NODE_UNKNOWN;
  *flags = 0;
  gboolean known = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (node_states); i++)
    if (g_str_equal (parts[0], node_states[i].name))
      {
        *state = node_states[i].state;
        known = TRUE;
      }
  if (!known)
    *flags |= STRAND_SLURM_NODE_OTHER;
  for (guint p = 1; parts[p] != NULL; p++)
    {
      guint flag = STRAND_SLURM_NODE_OTHER;
      for (guint i = 0; i < G_N_ELEMENTS (node_flags); i++)
        if (g_str_equal (parts[p], node_flags[i].name))
          flag = node_flags[i].flag;
      *flags |= flag;
    }
  return TRUE;
}

/* "A/I/O/T": allocated, idle, other, total. */
static gboolean
read_cpus_state (const char *text, StrandSlurmNode *node)
{
  g_auto (GStrv) parts = g_strsplit (text, "/", -1);
  guint64 v[4];
  if (g_strv_length (parts) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    if (!read_u64 (parts[i], G_MAXUINT32, &v[i]))
      return FALSE;
  node->cpus_alloc = (guint) v[0];
  node->cpus_other = (guint) v[2];
  node->cpus = (guint) v[3];
  return TRUE;
}

static gboolean
read_mebibytes (const char *text, guint64 *bytes)
{
  guint64 mib;
  if (!read_u64 (text, G_MAXUINT64 >> 20, &mib))
    return FALSE;
  *bytes = mib << 20;
  return TRUE;
}

static void
add_partition (StrandSlurmNode *node, const char *partition)
{
  if (node->partitions != NULL && g_strv_contains ((const char *const *) node->partitions, partition))
    return;
  guint n = node->partitions ? g_strv_length (node->partitions) : 0;
  node->partitions = g_renew (char *, node->partitions, n + 2);
  node->partitions[n] = g_strdup (partition);
  node->partitions[n + 1] = NULL;
}

GPtrArray *
strand_slurm_parse_sinfo (const char *text, gsize len, GError **error)
{
  const char *what = "sinfo";
  g_autoptr (GPtrArray) lines = split_lines (text, len, what, error);
  if (lines == NULL || !check_header (lines, STRAND_SINFO_HEADER, what, error))
    return NULL;
  g_assert (count_fields (STRAND_SINFO_HEADER) == SI_N);
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_slurm_node_free);
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 1; i < lines->len; i++)
    {
      const char *line = lines->pdata[i];
      guint ln = i + 1;
      if (line[0] == '\0')
        continue;
      g_auto (GStrv) f = split_row (line, SI_N, TRUE);
      if (f == NULL)
        {
          return row_error (error, what, ln, NULL, "expected %d fields ending in '|', got '%.200s'", SI_N, line);
        }
      if (f[SI_NODE][0] == '\0' || strpbrk (f[SI_NODE], "[], ") != NULL)
        return row_error (error, what, ln, "NODELIST", "'%.64s' is not one node name", f[SI_NODE]);
      /* "strand*": '*' marks the default partition. */
      gsize plen = strlen (f[SI_PARTITION]);
      if (plen > 0 && f[SI_PARTITION][plen - 1] == '*')
        f[SI_PARTITION][plen - 1] = '\0';
      StrandSlurmNode *seen = g_hash_table_lookup (by_name, f[SI_NODE]);
      if (seen != NULL)
        {
          /* The same node again, for another partition it is in. */
          if (!is_empty_value (f[SI_PARTITION]))
            add_partition (seen, f[SI_PARTITION]);
          continue;
        }
      g_autoptr (StrandSlurmNode) node = g_new0 (StrandSlurmNode, 1);
      node->name = g_strdup (f[SI_NODE]);
      node->state_text = g_strdup (f[SI_STATE]);
      if (!read_node_state (f[SI_STATE], &node->state, &node->flags))
        return row_error (error, what, ln, "STATECOMPLETE", "no state");
      if (!read_cpus_state (f[SI_CPUS], node))
        return row_error (error, what, ln, "CPUS(A/I/O/T)", "'%.64s' is not A/I/O/T", f[SI_CPUS]);
      if (!read_mebibytes (f[SI_MEMORY], &node->memory_bytes))
        return row_error (error, what, ln, "MEMORY", "'%.64s' is not MiB", f[SI_MEMORY]);
      if (!read_mebibytes (f[SI_ALLOC_MEM], &node->memory_alloc_bytes))
        return row_error (error, what, ln, "ALLOCMEM", "'%.64s' is not MiB", f[SI_ALLOC_MEM]);
      if (!is_empty_value (f[SI_PARTITION]))
        add_partition (node, f[SI_PARTITION]);
      if (!read_time (f[SI_TIME], &node->reason_us))
        return row_error (error, what, ln, "TIMESTAMP", "'%.64s' is not a time", f[SI_TIME]);
      node->reason_user = dup_value (f[SI_WHO]);
      node->reason = dup_value (f[SI_REASON]);
      g_hash_table_insert (by_name, node->name, node);
      g_ptr_array_add (nodes, g_steal_pointer (&node));
    }
  return g_steal_pointer (&nodes);
}

gboolean
strand_slurm_node_usable (const StrandSlurmNode *node)
{
  if (node->state != STRAND_SLURM_NODE_IDLE && node->state != STRAND_SLURM_NODE_MIXED &&
      node->state != STRAND_SLURM_NODE_ALLOCATED)
    return FALSE;
  guint unusable = STRAND_SLURM_NODE_DRAIN | STRAND_SLURM_NODE_MAINT | STRAND_SLURM_NODE_NOT_RESPONDING |
                   STRAND_SLURM_NODE_FAIL | STRAND_SLURM_NODE_POWERED_DOWN | STRAND_SLURM_NODE_REBOOT |
                   STRAND_SLURM_NODE_INVALID_REG;
  return (node->flags & unusable) == 0;
}

gboolean
strand_slurm_node_in_partition (const StrandSlurmNode *node, const char *partition)
{
  return node->partitions != NULL && g_strv_contains ((const char *const *) node->partitions, partition);
}

void
strand_slurm_capacity (const GPtrArray *nodes, const char *partition, StrandSlurmCapacity *c)
{
  memset (c, 0, sizeof *c);
  for (guint i = 0; i < nodes->len; i++)
    {
      const StrandSlurmNode *n = nodes->pdata[i];
      if (partition != NULL && !strand_slurm_node_in_partition (n, partition))
        continue;
      c->nodes++;
      c->cpus += n->cpus;
      c->memory_bytes += n->memory_bytes;
      if (!strand_slurm_node_usable (n))
        continue;
      c->nodes_usable++;
      c->cpus_usable += n->cpus;
      c->memory_usable_bytes += n->memory_bytes;
      guint used = n->cpus_alloc + n->cpus_other;
      c->cpus_free += n->cpus > used ? n->cpus - used : 0;
      c->memory_free_bytes += n->memory_bytes > n->memory_alloc_bytes ? n->memory_bytes - n->memory_alloc_bytes : 0;
      c->largest_node_cpus = MAX (c->largest_node_cpus, n->cpus);
      c->largest_node_memory_bytes = MAX (c->largest_node_memory_bytes, n->memory_bytes);
    }
}

/* ---- Reservations ---------------------------------------------------------- */

void
strand_slurm_reservation_free (StrandSlurmReservation *r)
{
  if (r == NULL)
    return;
  g_free (r->name);
  g_free (r->nodes);
  g_strfreev (r->node_names);
  g_free (r->partition);
  g_free (r->flags_text);
  g_free (r->users);
  g_free (r->accounts);
  g_free (r);
}

static const struct {
  guint flag;
  const char *name;
} resv_flags[] = {
  { STRAND_SLURM_RESV_MAINT, "MAINT" },
  { STRAND_SLURM_RESV_IGNORE_JOBS, "IGNORE_JOBS" },
  { STRAND_SLURM_RESV_OVERLAP, "OVERLAP" },
  { STRAND_SLURM_RESV_FLEX, "FLEX" },
  { STRAND_SLURM_RESV_DAILY, "DAILY" },
  { STRAND_SLURM_RESV_WEEKLY, "WEEKLY" },
  { STRAND_SLURM_RESV_WEEKDAY, "WEEKDAY" },
  { STRAND_SLURM_RESV_WEEKEND, "WEEKEND" },
  { STRAND_SLURM_RESV_ALL_NODES, "ALL_NODES" },
  /* Known, and of no consequence for planning. */
  { 0, "SPEC_NODES" }, { 0, "PART_NODES" }, { 0, "STATIC_ALLOC" }, { 0, "ANY_NODES" },
  { 0, "FIRST_CORES" }, { 0, "TIME_FLOAT" }, { 0, "REPLACE" }, { 0, "REPLACE_DOWN" },
  { 0, "NO_HOLD_JOBS_AFTER_END" }, { 0, "PURGE_COMP" }, { 0, "MAGNETIC" }, { 0, "USER_DELETE" },
  { 0, "LICENSE_ONLY" }, { 0, "NO_HOLD_JOBS" }, { 0, "SKIP" },
};

GPtrArray *
strand_slurm_parse_reservations (const char *text, gsize len, GError **error)
{
  const char *what = "scontrol show reservation";
  g_autoptr (GPtrArray) records =
      read_records (text, len, what, "ReservationName", "No reservations in the system", error);
  if (records == NULL)
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_slurm_reservation_free);
  for (guint i = 0; i < records->len; i++)
    {
      const Record *rec = records->pdata[i];
      g_autoptr (StrandSlurmReservation) r = g_new0 (StrandSlurmReservation, 1);
      r->name = g_strdup (field (rec, "ReservationName"));
      if (r->name[0] == '\0')
        return row_error (error, what, rec->line, "ReservationName", "empty");
      if (!read_time (field (rec, "StartTime"), &r->start_us) || r->start_us == 0)
        return row_error (error, what, rec->line, "StartTime", "'%.64s' is not a time",
                          field (rec, "StartTime"));
      if (!read_time (field (rec, "EndTime"), &r->end_us) || r->end_us == 0)
        return row_error (error, what, rec->line, "EndTime", "'%.64s' is not a time",
                          field (rec, "EndTime"));
      if (r->end_us < r->start_us)
        return row_error (error, what, rec->line, "EndTime", "ends before it starts");
      r->nodes = dup_value (field (rec, "Nodes"));
      g_autoptr (GError) local = NULL;
      r->node_names = strand_slurm_hostlist_expand (r->nodes, MAX_HOSTLIST_NAMES, &local);
      if (r->node_names == NULL)
        return row_error (error, what, rec->line, "Nodes", "%s", local->message);
      r->partition = dup_value (field (rec, "PartitionName"));
      r->flags_text = g_strdup (field (rec, "Flags"));
      g_auto (GStrv) flags = g_strsplit (r->flags_text, ",", -1);
      for (guint f = 0; flags[f] != NULL; f++)
        {
          if (flags[f][0] == '\0')
            continue;
          guint bit = STRAND_SLURM_RESV_OTHER;
          for (guint k = 0; k < G_N_ELEMENTS (resv_flags); k++)
            if (g_str_equal (flags[f], resv_flags[k].name))
              bit = resv_flags[k].flag;
          r->flags |= bit;
        }
      r->active = g_str_equal (field (rec, "State"), "ACTIVE");
      r->users = dup_value (field (rec, "Users"));
      r->accounts = dup_value (field (rec, "Accounts"));
      g_ptr_array_add (out, g_steal_pointer (&r));
    }
  return g_steal_pointer (&out);
}

static void
maintenance_free (gpointer p)
{
  StrandMaintenance *m = p;
  g_free (m->reason);
  g_free (m);
}

static int
compare_windows (gconstpointer a, gconstpointer b)
{
  const StrandMaintenance *x = *(StrandMaintenance *const *) a, *y = *(StrandMaintenance *const *) b;
  return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

/* The reservation's next occurrences: Slurm shows only the coming one of a
 * repeating reservation; a planner looking a week ahead wants them all.
 * Repeats follow local time, as Slurm's do (a daily 06:00 stays 06:00
 * across a change of summer time). */
static void
add_occurrences (GPtrArray *out, const StrandSlurmReservation *r, gint64 until_us)
{
  GDateTime *start = g_date_time_new_from_unix_local (r->start_us / G_USEC_PER_SEC);
  gint64 length = r->end_us - r->start_us;
  gboolean repeats = (r->flags & (STRAND_SLURM_RESV_DAILY | STRAND_SLURM_RESV_WEEKLY |
                                  STRAND_SLURM_RESV_WEEKDAY | STRAND_SLURM_RESV_WEEKEND)) != 0;
  for (guint n = 0; start != NULL && n < MAX_WINDOWS_PER_RESERVATION; n++)
    {
      gint64 s = g_date_time_to_unix (start) * G_USEC_PER_SEC + r->start_us % G_USEC_PER_SEC;
      if (n > 0 && s >= until_us)
        break;
      int dow = g_date_time_get_day_of_week (start); /* 1 Monday .. 7 Sunday */
      gboolean on = TRUE;
      if (n > 0 && (r->flags & STRAND_SLURM_RESV_WEEKDAY))
        on = dow <= 5;
      if (n > 0 && (r->flags & STRAND_SLURM_RESV_WEEKEND))
        on = dow >= 6;
      if (on)
        {
          StrandMaintenance *m = g_new0 (StrandMaintenance, 1);
          m->start_us = s;
          m->end_us = s + length;
          m->reason = g_strdup_printf ("Slurm reservation '%s' (%s)", r->name, r->flags_text);
          g_ptr_array_add (out, m);
        }
      if (!repeats)
        break;
      GDateTime *next = g_date_time_add_days (start, (r->flags & STRAND_SLURM_RESV_WEEKLY) ? 7 : 1);
      g_date_time_unref (start);
      start = next;
    }
  if (start != NULL)
    g_date_time_unref (start);
}

GPtrArray *
strand_slurm_maintenance_windows (const GPtrArray *reservations, const char *node, gint64 until_us)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (maintenance_free);
  for (guint i = 0; i < reservations->len; i++)
    {
      const StrandSlurmReservation *r = reservations->pdata[i];
      if (!(r->flags & STRAND_SLURM_RESV_MAINT))
        continue;
      if (node != NULL && !g_strv_contains ((const char *const *) r->node_names, node))
        continue;
      add_occurrences (out, r, until_us);
    }
  g_ptr_array_sort (out, compare_windows);
  return out;
}

void
strand_slurm_equipment_add_maintenance (StrandEquipment *equipment, const GPtrArray *windows)
{
  for (guint i = 0; i < windows->len; i++)
    {
      const StrandMaintenance *w = windows->pdata[i];
      StrandMaintenance *m = g_new0 (StrandMaintenance, 1);
      m->start_us = w->start_us;
      m->end_us = w->end_us;
      m->reason = g_strdup (w->reason);
      g_ptr_array_add (equipment->maintenance, m);
    }
  g_ptr_array_sort (equipment->maintenance, compare_windows);
}
