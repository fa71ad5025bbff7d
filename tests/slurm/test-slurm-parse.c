/* The Slurm layer's parsers on real command output (fixtures/, captured from
 * the test cluster by capture-fixtures.sh): what the host learns about jobs,
 * nodes and reservations, and the precise error it gives for output it
 * cannot read. Issue 9, parts 2 and 3. */
#include "slurm.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#define FIXTURES STRAND_SOURCE_ROOT "/tests/slurm/fixtures"
#define SEC ((gint64) G_USEC_PER_SEC)
/* The header of squeue-mixed.txt, for lines made up here. */
#define STRAND_SQUEUE_HEADER_FOR_TEST                                                     \
  "JOBID|JOBID|ARRAY_JOB_ID|ARRAY_TASK_ID|STATE|PARTITION|NODELIST|SUBMIT_TIME|"          \
  "START_TIME|END_TIME|TIME_LIMIT|CPUS|ACCOUNT|USER|REASON|NAME|"

static char *
fixture (const char *name, gsize *len)
{
  g_autofree char *path = g_build_filename (FIXTURES, name, NULL);
  char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &text, len, &error);
  g_assert_no_error (error);
  return text;
}

static GPtrArray *
parse_fixture (GPtrArray *(*parse) (const char *, gsize, GError **), const char *name)
{
  gsize len;
  g_autofree char *text = fixture (name, &len);
  g_autoptr (GError) error = NULL;
  GPtrArray *out = parse (text, len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (out);
  return out;
}

static const StrandSlurmJob *
find_job (GPtrArray *jobs, const char *id)
{
  for (guint i = 0; i < jobs->len; i++)
    {
      const StrandSlurmJob *job = jobs->pdata[i];
      if (g_str_equal (job->id, id))
        return job;
    }
  g_error ("no job %s", id);
}

/* The first job whose name is `name` (ids differ between captures). */
static const StrandSlurmJob *
find_named (GPtrArray *jobs, const char *name, StrandSlurmJobState state)
{
  for (guint i = 0; i < jobs->len; i++)
    {
      const StrandSlurmJob *job = jobs->pdata[i];
      if (g_str_equal (job->name, name) && job->state == state)
        return job;
    }
  g_error ("no %s job named %s", strand_slurm_job_state_name (state), name);
}

static const StrandSlurmReservation *
find_reservation (GPtrArray *resv, const char *name)
{
  for (guint i = 0; i < resv->len; i++)
    {
      const StrandSlurmReservation *r = resv->pdata[i];
      if (g_str_equal (r->name, name))
        return r;
    }
  g_error ("no reservation %s", name);
}

/* ---- squeue ---------------------------------------------------------------- */

static void
test_squeue_states (void)
{
  g_autoptr (GPtrArray) jobs = parse_fixture (strand_slurm_parse_squeue, "squeue-mixed.txt");
  g_autofree char *text = fixture ("squeue-mixed.txt", NULL);
  /* One job per line after the header. */
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_assert_cmpuint (jobs->len, ==, g_strv_length (lines) - 1);

  /* A running job whose name holds '|': the name is the last field. */
  const StrandSlurmJob *run = find_named (jobs, "sleeper|with bar", STRAND_SLURM_JOB_RUNNING);
  g_assert_cmpstr (run->state_name, ==, "RUNNING");
  g_assert_cmpstr (run->nodes, ==, "vm");
  g_assert_cmpstr (run->partition, ==, "strand");
  g_assert_cmpstr (run->user, ==, "root");
  g_assert_null (run->account);  /* "(null)" */
  g_assert_null (run->reason);   /* "None" */
  g_assert_cmpint (run->time_limit_s, ==, 600);
  g_assert_cmpuint (run->cpus, ==, 1);
  g_assert_cmpint (run->array_task_id, ==, -1);
  g_assert_cmpuint (run->array_job_id, ==, 0);
  g_assert_cmpint (run->exit_status, ==, -1); /* squeue does not say */
  g_assert_cmpint (run->start_us, >, run->submit_us - 1);
  g_assert_cmpint (run->start_us % SEC, ==, 0);
  g_assert_false (strand_slurm_job_state_is_final (run->state));

  /* Pending for resources: squeue's expected start is no fact. */
  const StrandSlurmJob *wait = find_named (jobs, "needs-all", STRAND_SLURM_JOB_PENDING);
  g_assert_cmpstr (wait->reason, ==, "Resources");
  g_assert_cmpuint (wait->cpus, ==, 2);
  g_assert_cmpint (wait->start_us, ==, 0);
  g_assert_cmpint (wait->end_us, ==, 0);
  g_assert_cmpint (wait->time_limit_s, ==, 0); /* UNLIMITED */
  g_assert_null (wait->nodes);

  /* Array tasks, one line each. */
  const StrandSlurmJob *task = find_named (jobs, "array", STRAND_SLURM_JOB_PENDING);
  g_assert_cmpuint (task->array_job_id, !=, 0);
  g_assert_cmpint (task->array_task_id, >=, 0);
  g_autofree char *want = g_strdup_printf ("%" G_GUINT64_FORMAT "_%" G_GINT64_FORMAT, task->array_job_id,
                                           task->array_task_id);
  g_assert_cmpstr (task->id, ==, want);
  for (gint64 t = 0; t < 4; t++)
    {
      g_autofree char *id = g_strdup_printf ("%" G_GUINT64_FORMAT "_%" G_GINT64_FORMAT, task->array_job_id, t);
      const StrandSlurmJob *other = find_job (jobs, id);
      g_assert_cmpint (other->array_task_id, ==, t);
      g_assert_cmpuint (other->array_job_id, ==, task->array_job_id);
    }

  /* Finished jobs, while the controller remembers them. */
  const StrandSlurmJob *ok = find_named (jobs, "ok", STRAND_SLURM_JOB_COMPLETED);
  g_assert_true (strand_slurm_job_state_is_final (ok->state));
  g_assert_cmpint (ok->end_us, >=, ok->start_us);
  const StrandSlurmJob *failed = find_named (jobs, "fail", STRAND_SLURM_JOB_FAILED);
  g_assert_cmpstr (failed->reason, ==, "NonZeroExitCode");
  const StrandSlurmJob *cancelled = find_named (jobs, "cancelled", STRAND_SLURM_JOB_CANCELLED);
  g_assert_true (strand_slurm_job_state_is_final (cancelled->state));
}

static void
test_squeue_malformed (void)
{
  g_autofree char *text = fixture ("squeue-mixed.txt", NULL);
  g_autoptr (GError) error = NULL;

  /* Another format than ours: refused at the header. */
  GPtrArray *jobs = strand_slurm_parse_squeue ("JOBID|STATE|\n1|RUNNING|\n", 24, &error);
  g_assert_null (jobs);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "line 1"));
  g_clear_error (&error);

  /* A line cut short. */
  g_autoptr (GString) cut = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_string_append_printf (cut, "%s\n%s\n", lines[0], lines[1]);
  g_string_append_len (cut, lines[2], (gssize) (strlen (lines[2]) / 2));
  jobs = strand_slurm_parse_squeue (cut->str, cut->len, &error);
  g_assert_null (jobs);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "line 3"));
  g_clear_error (&error);

  /* A time that is none: the field is named. */
  g_autofree char *bad = g_strdup_printf ("%s\n1|1|1|N/A|RUNNING|p|n|yesterday|1|2|UNLIMITED|1|a|u|None|x|\n",
                                          lines[0]);
  jobs = strand_slurm_parse_squeue (bad, strlen (bad), &error);
  g_assert_null (jobs);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "line 2, field 'SUBMIT_TIME'"));
  g_assert_nonnull (strstr (error->message, "yesterday"));
  g_clear_error (&error);

  /* A NUL byte, which no command prints. */
  jobs = strand_slurm_parse_squeue ("JOBID\0|", 7, &error);
  g_assert_null (jobs);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
}

/* Time limits in each form Slurm writes them. */
static void
test_durations (void)
{
  static const struct {
    const char *text;
    gint64 seconds; /* -1: refused */
  } cases[] = {
    { "365-00:00:00", 365 * 86400 }, { "1-02", 26 * 3600 }, { "1-02:03", 26 * 3600 + 180 },
    { "02:03:04", 7384 }, { "30:00", 1800 }, { "45", 2700 }, { "UNLIMITED", 0 },
    { "INFINITE", 0 }, { "1-", -1 }, { "a:b", -1 }, { "1:2:3:4", -1 }, { "-5", -1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("%s\n1|1|1|N/A|RUNNING|p|n|1|2|3|%s|1|a|u|None|x|\n",
                                               STRAND_SQUEUE_HEADER_FOR_TEST, cases[i].text);
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) jobs = strand_slurm_parse_squeue (text, strlen (text), &error);
      if (cases[i].seconds < 0)
        {
          g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
          g_assert_nonnull (strstr (error->message, "TIME_LIMIT"));
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (((StrandSlurmJob *) jobs->pdata[0])->time_limit_s, ==, cases[i].seconds);
    }
}

static void
test_job_state_names (void)
{
  g_assert_cmpint (strand_slurm_job_state_from_name ("CANCELLED by 1000"), ==, STRAND_SLURM_JOB_CANCELLED);
  g_assert_cmpint (strand_slurm_job_state_from_name ("CANCELLED+"), ==, STRAND_SLURM_JOB_CANCELLED);
  g_assert_cmpint (strand_slurm_job_state_from_name ("OUT_OF_MEMORY"), ==, STRAND_SLURM_JOB_OUT_OF_MEMORY);
  g_assert_cmpint (strand_slurm_job_state_from_name ("SOMETHING_NEW"), ==, STRAND_SLURM_JOB_UNKNOWN);
  g_assert_cmpint (strand_slurm_job_state_from_name ("RUN"), ==, STRAND_SLURM_JOB_UNKNOWN);
  g_assert_false (strand_slurm_job_state_is_final (STRAND_SLURM_JOB_COMPLETING));
  g_assert_false (strand_slurm_job_state_is_final (STRAND_SLURM_JOB_REQUEUED));
  g_assert_true (strand_slurm_job_state_is_final (STRAND_SLURM_JOB_NODE_FAIL));
  g_assert_true (strand_slurm_job_state_is_final (STRAND_SLURM_JOB_TIMEOUT));
  for (int s = STRAND_SLURM_JOB_UNKNOWN; s <= STRAND_SLURM_JOB_SPECIAL_EXIT; s++)
    g_assert_cmpint (strand_slurm_job_state_from_name (strand_slurm_job_state_name (s)), ==, s);
}

/* ---- scontrol show job and sbatch -------------------------------------- */

static void
test_scontrol_jobs (void)
{
  g_autoptr (GPtrArray) done = parse_fixture (strand_slurm_parse_scontrol_jobs, "scontrol-job-completed.txt");
  g_assert_cmpuint (done->len, ==, 1);
  const StrandSlurmJob *ok = done->pdata[0];
  g_assert_cmpint (ok->state, ==, STRAND_SLURM_JOB_COMPLETED);
  g_assert_cmpint (ok->exit_status, ==, 0);
  g_assert_cmpint (ok->exit_signal, ==, 0);
  g_assert_cmpstr (ok->user, ==, "root");
  g_assert_cmpstr (ok->nodes, ==, "vm");
  g_assert_cmpint (ok->time_limit_s, ==, 0); /* UNLIMITED */

  g_autoptr (GPtrArray) failed = parse_fixture (strand_slurm_parse_scontrol_jobs, "scontrol-job-failed.txt");
  const StrandSlurmJob *fail = failed->pdata[0];
  g_assert_cmpint (fail->state, ==, STRAND_SLURM_JOB_FAILED);
  g_assert_cmpint (fail->exit_status, ==, 3);
  g_assert_cmpstr (fail->reason, ==, "NonZeroExitCode");
  g_assert_cmpstr (fail->name, ==, "fail");

  g_autoptr (GPtrArray) cancelled = parse_fixture (strand_slurm_parse_scontrol_jobs, "scontrol-job-cancelled.txt");
  g_assert_cmpint (((StrandSlurmJob *) cancelled->pdata[0])->state, ==, STRAND_SLURM_JOB_CANCELLED);
  g_assert_null (((StrandSlurmJob *) cancelled->pdata[0])->nodes); /* "NodeList=" */

  /* The multi-line form, of an array not yet split into tasks. */
  g_autoptr (GPtrArray) array = parse_fixture (strand_slurm_parse_scontrol_jobs, "scontrol-job-array-multiline.txt");
  g_assert_cmpuint (array->len, ==, 1);
  const StrandSlurmJob *a = array->pdata[0];
  g_assert_cmpint (a->state, ==, STRAND_SLURM_JOB_PENDING);
  g_assert_cmpuint (a->array_job_id, ==, a->job_id);
  g_assert_cmpint (a->array_task_id, ==, -1);
  g_autofree char *want = g_strdup_printf ("%" G_GUINT64_FORMAT "_[0-3%%1]", a->job_id);
  g_assert_cmpstr (a->id, ==, want);
  g_assert_cmpstr (a->name, ==, "array");

  g_autoptr (GPtrArray) none = strand_slurm_parse_scontrol_jobs ("No jobs in the system\n", 22, NULL);
  g_assert_cmpuint (none->len, ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_null (strand_slurm_parse_scontrol_jobs ("JobState=RUNNING JobId=3\n", 25, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "line 1"));
}

static void
test_sacct (void)
{
  g_autoptr (GPtrArray) jobs = parse_fixture (strand_slurm_parse_sacct, "sacct-jobs.txt");
  g_assert_cmpuint (jobs->len, ==, 9);
  const StrandSlurmJob *ok = find_named (jobs, "ok", STRAND_SLURM_JOB_COMPLETED);
  g_assert_cmpint (ok->exit_status, ==, 0);
  g_assert_cmpstr (ok->account, ==, "root");
  const StrandSlurmJob *fail = find_named (jobs, "fail", STRAND_SLURM_JOB_FAILED);
  g_assert_cmpint (fail->exit_status, ==, 3);
  g_assert_cmpint (fail->exit_signal, ==, 0);
  const StrandSlurmJob *late = find_named (jobs, "timeout", STRAND_SLURM_JOB_TIMEOUT);
  g_assert_cmpint (late->time_limit_s, ==, 60);
  g_assert_cmpint (late->end_us - late->start_us, >=, 60 * SEC);
  const StrandSlurmJob *run = find_named (jobs, "sleeper", STRAND_SLURM_JOB_RUNNING);
  g_assert_cmpint (run->end_us, ==, 0);
  /* "CANCELLED by 0": cancelled by root, before it had a node. */
  const StrandSlurmJob *cancelled = find_named (jobs, "cancelled", STRAND_SLURM_JOB_CANCELLED);
  g_assert_cmpstr (cancelled->state_name, ==, "CANCELLED by 0");
  g_assert_null (cancelled->nodes);
  g_assert_cmpint (cancelled->start_us, ==, 0);
  /* Killed by a signal: status 0, signal 9. */
  const StrandSlurmJob *killed = find_named (jobs, "allocation", STRAND_SLURM_JOB_FAILED);
  g_assert_cmpint (killed->exit_signal, ==, 9);
  g_assert_null (killed->partition);
  /* Array tasks: "3_1" with its own job number. */
  guint tasks = 0;
  for (guint i = 0; i < jobs->len; i++)
    {
      const StrandSlurmJob *j = jobs->pdata[i];
      if (!g_str_equal (j->name, "array|job"))
        continue;
      tasks++;
      g_assert_cmpint (j->array_task_id, >=, 0);
      g_autofree char *want = g_strdup_printf ("%" G_GUINT64_FORMAT "_%" G_GINT64_FORMAT, j->array_job_id,
                                               j->array_task_id);
      g_assert_cmpstr (j->id, ==, want);
      g_assert_cmpint (j->state, ==, STRAND_SLURM_JOB_COMPLETED);
    }
  g_assert_cmpuint (tasks, ==, 3);

  /* Steps ("1.batch") are left out: one entry per job. */
  g_autoptr (GPtrArray) steps = parse_fixture (strand_slurm_parse_sacct, "sacct-steps.txt");
  g_assert_cmpuint (steps->len, ==, 4);
  for (guint i = 0; i < steps->len; i++)
    g_assert_null (strchr (((StrandSlurmJob *) steps->pdata[i])->id, '.'));
  /* The batch step of the timed-out job was cancelled by SIGTERM, the job
   * itself is TIMEOUT. */
  g_assert_cmpint (find_named (steps, "timeout", STRAND_SLURM_JOB_TIMEOUT)->exit_signal, ==, 0);

  g_autoptr (GError) error = NULL;
  g_autofree char *text = fixture ("sacct-jobs.txt", NULL);
  g_autofree char *bad = g_strconcat (text, "7|7|COMPLETED|zero|strand|vm|1|2|3|UNLIMITED|1|a|u|x\n", NULL);
  g_assert_null (strand_slurm_parse_sacct (bad, strlen (bad), &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "line 11, field 'ExitCode'"));
}

static void
test_sbatch (void)
{
  g_autofree char *text = fixture ("sbatch-parsable.txt", NULL);
  g_autofree char *id = strand_slurm_parse_sbatch (text, NULL);
  g_assert_nonnull (id);
  g_assert_cmpstr (id, ==, g_strchomp (text));
  g_autofree char *fed = strand_slurm_parse_sbatch ("4242;cluster-b\n", NULL);
  g_assert_cmpstr (fed, ==, "4242");
  g_autoptr (GError) error = NULL;
  g_assert_null (strand_slurm_parse_sbatch ("Submitted batch job 12\n", &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
}

/* ---- sinfo ------------------------------------------------------------------ */

static StrandSlurmNode *
one_node (const char *name)
{
  g_autoptr (GPtrArray) nodes = parse_fixture (strand_slurm_parse_sinfo, name);
  g_assert_cmpuint (nodes->len, ==, 1);
  return g_ptr_array_steal_index (nodes, 0);
}

static void
test_sinfo_states (void)
{
  g_autoptr (StrandSlurmNode) idle = one_node ("sinfo-idle.txt");
  g_assert_cmpstr (idle->name, ==, "vm");
  g_assert_cmpint (idle->state, ==, STRAND_SLURM_NODE_IDLE);
  g_assert_cmpuint (idle->flags, ==, 0);
  g_assert_true (strand_slurm_node_usable (idle));
  g_assert_cmpuint (idle->cpus, ==, 2);
  g_assert_cmpuint (idle->cpus_alloc, ==, 0);
  g_assert_cmpuint (idle->memory_bytes, ==, (guint64) 24105 << 20);
  g_assert_null (idle->reason);
  g_assert_cmpint (idle->reason_us, ==, 0);
  g_assert_true (strand_slurm_node_in_partition (idle, "strand")); /* "strand*": the default */
  g_assert_false (strand_slurm_node_in_partition (idle, "strand*"));

  g_autoptr (StrandSlurmNode) mixed = one_node ("sinfo-mixed.txt");
  g_assert_cmpint (mixed->state, ==, STRAND_SLURM_NODE_MIXED);
  g_assert_true (strand_slurm_node_usable (mixed));
  g_assert_cmpuint (mixed->cpus_alloc, ==, 1);
  g_assert_cmpuint (mixed->memory_alloc_bytes, ==, (guint64) 100 << 20);

  g_autoptr (StrandSlurmNode) full = one_node ("sinfo-allocated.txt");
  g_assert_cmpint (full->state, ==, STRAND_SLURM_NODE_ALLOCATED);
  g_assert_true (strand_slurm_node_usable (full)); /* busy, not broken */

  /* Draining: still running a job, taking no new one; the reason holds '|'. */
  g_autoptr (StrandSlurmNode) draining = one_node ("sinfo-draining.txt");
  g_assert_cmpint (draining->state, ==, STRAND_SLURM_NODE_ALLOCATED);
  g_assert_cmpuint (draining->flags, ==, STRAND_SLURM_NODE_DRAIN);
  g_assert_false (strand_slurm_node_usable (draining));
  g_assert_cmpstr (draining->reason, ==, "disk replacement | ticket 4711");
  g_assert_cmpstr (draining->reason_user, ==, "root");
  g_assert_cmpint (draining->reason_us, >, 0);

  g_autoptr (StrandSlurmNode) drained = one_node ("sinfo-drained.txt");
  g_assert_cmpint (drained->state, ==, STRAND_SLURM_NODE_IDLE);
  g_assert_cmpuint (drained->flags, ==, STRAND_SLURM_NODE_DRAIN);
  g_assert_false (strand_slurm_node_usable (drained));
  g_assert_cmpstr (drained->state_text, ==, "idle+drain");

  g_autoptr (StrandSlurmNode) down = one_node ("sinfo-down.txt");
  g_assert_cmpint (down->state, ==, STRAND_SLURM_NODE_DOWN);
  g_assert_false (strand_slurm_node_usable (down));
  g_assert_cmpstr (down->reason, ==, "power supply failed");
  g_assert_cmpuint (down->cpus_other, ==, 2);

  /* In an active MAINT reservation. */
  g_autoptr (StrandSlurmNode) maint = one_node ("sinfo-maint.txt");
  g_assert_cmpint (maint->state, ==, STRAND_SLURM_NODE_IDLE);
  g_assert_cmpuint (maint->flags, ==, STRAND_SLURM_NODE_MAINT | STRAND_SLURM_NODE_RESERVED);
  g_assert_false (strand_slurm_node_usable (maint));

  /* Listed once per partition, read as one node in both. */
  g_autoptr (StrandSlurmNode) two = one_node ("sinfo-two-partitions.txt");
  g_assert_cmpuint (g_strv_length (two->partitions), ==, 2);
  g_assert_true (strand_slurm_node_in_partition (two, "strand"));
  g_assert_true (strand_slurm_node_in_partition (two, "second"));
}

static void
test_capacity (void)
{
  g_autoptr (GPtrArray) mixed = parse_fixture (strand_slurm_parse_sinfo, "sinfo-mixed.txt");
  g_autoptr (GPtrArray) drained = parse_fixture (strand_slurm_parse_sinfo, "sinfo-drained.txt");
  StrandSlurmCapacity c;
  strand_slurm_capacity (mixed, "strand", &c);
  g_assert_cmpuint (c.nodes, ==, 1);
  g_assert_cmpuint (c.nodes_usable, ==, 1);
  g_assert_cmpuint (c.cpus, ==, 2);
  g_assert_cmpuint (c.cpus_free, ==, 1);
  g_assert_cmpuint (c.memory_free_bytes, ==, ((guint64) 24105 - 100) << 20);
  g_assert_cmpuint (c.largest_node_cpus, ==, 2);
  strand_slurm_capacity (mixed, "elsewhere", &c);
  g_assert_cmpuint (c.nodes, ==, 0);

  /* Both nodes under one partition: the drained one counts, but not as usable. */
  g_ptr_array_extend_and_steal (mixed, g_steal_pointer (&drained));
  StrandSlurmNode *second = mixed->pdata[1];
  g_free (second->name);
  second->name = g_strdup ("vm2");
  strand_slurm_capacity (mixed, NULL, &c);
  g_assert_cmpuint (c.nodes, ==, 2);
  g_assert_cmpuint (c.nodes_usable, ==, 1);
  g_assert_cmpuint (c.cpus, ==, 4);
  g_assert_cmpuint (c.cpus_usable, ==, 2);
  g_assert_cmpuint (c.cpus_free, ==, 1);
}

static void
test_sinfo_malformed (void)
{
  g_autofree char *text = fixture ("sinfo-idle.txt", NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  static const char *const rows[] = {
    "vm|idle|0/2/0/2|lots|0|strand*|Unknown|Unknown|none|",   /* memory */
    "vm|idle|0/2/2|24105|0|strand*|Unknown|Unknown|none|",    /* CPUs */
    "node[1-2]|idle|0/2/0/2|24105|0|strand*|Unknown|Unknown|none|", /* not one node */
    "vm|idle|0/2/0/2|24105|0|strand*|Unknown|Unknown|none",   /* no final '|' */
    "|idle|0/2/0/2|24105|0|strand*|Unknown|Unknown|none|",
  };
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *bad = g_strdup_printf ("%s\n%s\n", lines[0], rows[i]);
      g_autoptr (GError) error = NULL;
      GPtrArray *nodes = strand_slurm_parse_sinfo (bad, strlen (bad), &error);
      g_assert_null (nodes);
      g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
      g_assert_nonnull (strstr (error->message, "sinfo output, line 2"));
    }
}

/* ---- Reservations and maintenance windows ------------------------------- */

static void
test_reservations (void)
{
  g_autoptr (GPtrArray) none = parse_fixture (strand_slurm_parse_reservations, "reservations-none.txt");
  g_assert_cmpuint (none->len, ==, 0);

  g_autoptr (GPtrArray) resv = parse_fixture (strand_slurm_parse_reservations, "reservations-oneline.txt");
  g_assert_cmpuint (resv->len, ==, 4);
  const StrandSlurmReservation *now = find_reservation (resv, "maint-now");
  g_assert_true (now->active);
  g_assert_cmpuint (now->flags, ==, STRAND_SLURM_RESV_MAINT);
  g_assert_cmpstr (now->flags_text, ==, "MAINT,SPEC_NODES");
  g_assert_cmpint (now->end_us - now->start_us, ==, (gint64) 30 * 60 * SEC);
  g_assert_cmpstr (now->nodes, ==, "vm");
  g_assert_cmpuint (g_strv_length (now->node_names), ==, 1);
  g_assert_null (now->partition);
  g_assert_cmpstr (now->users, ==, "root");
  g_assert_null (now->accounts);

  const StrandSlurmReservation *later = find_reservation (resv, "maint-later");
  g_assert_false (later->active);
  g_assert_cmpuint (later->flags, ==, STRAND_SLURM_RESV_MAINT | STRAND_SLURM_RESV_IGNORE_JOBS);
  g_assert_cmpint (later->start_us - now->start_us, ==, (gint64) 7 * 86400 * SEC);
  const StrandSlurmReservation *daily = find_reservation (resv, "maint-daily");
  g_assert_true (daily->flags & STRAND_SLURM_RESV_DAILY);
  g_assert_true (daily->flags & STRAND_SLURM_RESV_ALL_NODES);
  const StrandSlurmReservation *course = find_reservation (resv, "course");
  g_assert_false (course->flags & STRAND_SLURM_RESV_MAINT);

  /* The default multi-line form, with local times (captured in UTC): the
   * same reservations at the same times. */
  g_autoptr (GPtrArray) multi = parse_fixture (strand_slurm_parse_reservations, "reservations-multiline.txt");
  g_assert_cmpuint (multi->len, ==, resv->len);
  for (guint i = 0; i < resv->len; i++)
    {
      const StrandSlurmReservation *a = resv->pdata[i];
      const StrandSlurmReservation *b = find_reservation (multi, a->name);
      g_assert_cmpint (a->start_us, ==, b->start_us);
      g_assert_cmpint (a->end_us, ==, b->end_us);
      g_assert_cmpuint (a->flags, ==, b->flags);
      g_assert_cmpint (a->active, ==, b->active);
    }
}

static void
test_maintenance_windows (void)
{
  g_autoptr (GPtrArray) resv = parse_fixture (strand_slurm_parse_reservations, "reservations-oneline.txt");
  const StrandSlurmReservation *now = find_reservation (resv, "maint-now");
  const StrandSlurmReservation *later = find_reservation (resv, "maint-later");
  const StrandSlurmReservation *daily = find_reservation (resv, "maint-daily");
  const StrandSlurmReservation *course = find_reservation (resv, "course");
  gint64 until = now->start_us + (gint64) 10 * 86400 * SEC;

  g_autoptr (GPtrArray) w = strand_slurm_maintenance_windows (resv, "vm", until);
  /* maint-now, maint-later, and the daily one on every day from its first
   * until the horizon; "course" is no maintenance. */
  guint days = 0;
  for (gint64 s = daily->start_us; s < until; s += (gint64) 86400 * SEC)
    days++;
  g_assert_cmpuint (w->len, ==, 2 + days);
  for (guint i = 1; i < w->len; i++)
    g_assert_cmpint (((StrandMaintenance *) w->pdata[i - 1])->start_us, <=,
                     ((StrandMaintenance *) w->pdata[i])->start_us);
  const StrandMaintenance *first = w->pdata[0];
  g_assert_cmpint (first->start_us, ==, now->start_us);
  g_assert_cmpint (first->end_us, ==, now->end_us);
  g_assert_nonnull (strstr (first->reason, "maint-now"));
  for (guint i = 0; i < w->len; i++)
    g_assert_null (strstr (((StrandMaintenance *) w->pdata[i])->reason, "course"));

  /* Another node: none of them. */
  g_autoptr (GPtrArray) other = strand_slurm_maintenance_windows (resv, "gpu01", until);
  g_assert_cmpuint (other->len, ==, 0);

  /* The equipment model takes them: the node is unavailable inside each. */
  const char *inventory_json =
      "{\"equipment\": [{\"id\": \"vm\", \"class\": \"compute\", \"capacity\": 2,"
      " \"maintenance\": [{\"start\": \"2030-01-01T00:00:00Z\", \"end\": \"2030-01-02T00:00:00Z\"}]}]}";
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandInventory) inv =
      strand_inventory_load_data (inventory_json, strlen (inventory_json), "inline.json", problems);
  g_assert_nonnull (inv);
  StrandEquipment *e = inv->items->pdata[0];
  g_assert_true (strand_equipment_available (e, later->start_us - SEC));
  strand_slurm_equipment_add_maintenance (e, w);
  g_assert_cmpuint (e->maintenance->len, ==, w->len + 1);
  for (guint i = 1; i < e->maintenance->len; i++)
    g_assert_cmpint (((StrandMaintenance *) e->maintenance->pdata[i - 1])->start_us, <=,
                     ((StrandMaintenance *) e->maintenance->pdata[i])->start_us);
  g_assert_false (strand_equipment_available (e, later->start_us));
  g_assert_false (strand_equipment_available (e, later->end_us - SEC));
  g_assert_true (strand_equipment_available (e, later->end_us));
  g_assert_false (strand_equipment_available (e, now->start_us + 60 * SEC));
  /* The course is no maintenance; the daily window that starts with it is. */
  g_assert_false (strand_equipment_available (e, course->start_us));
  g_assert_true (strand_equipment_available (e, course->start_us + 61 * 60 * SEC));
  /* Between two daily windows: 23 hours free at most. */
  gint64 longest = strand_equipment_longest_window (e, daily->start_us, daily->start_us + (gint64) 2 * 86400 * SEC);
  g_assert_cmpint (longest, ==, (gint64) 23 * 3600 * SEC);
}

static void
test_reservations_malformed (void)
{
  static const char *const texts[] = {
    "Nodes=vm ReservationName=x StartTime=1 EndTime=2\n",               /* not first */
    "ReservationName=x StartTime=soon EndTime=2 Nodes=vm\n",             /* a time */
    "ReservationName=x StartTime=5 EndTime=2 Nodes=vm\n",                /* ends first */
    "ReservationName=x StartTime=1 EndTime=2 Nodes=vm[1-\n",             /* host list */
    "ReservationName=x StartTime=1 EndTime=2 Nodes=n[0-99999999]\n",     /* too many */
    "ReservationName= StartTime=1 EndTime=2\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GError) error = NULL;
      GPtrArray *r = strand_slurm_parse_reservations (texts[i], strlen (texts[i]), &error);
      g_assert_null (r);
      g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
      g_assert_nonnull (strstr (error->message, "line 1"));
    }
}

static void
test_hostlist (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) a = strand_slurm_hostlist_expand ("node[01-03,7],gpu-a", 100, &error);
  g_assert_no_error (error);
  const char *want_a[] = { "node01", "node02", "node03", "node7", "gpu-a", NULL };
  g_assert_cmpstrv (a, want_a);
  g_auto (GStrv) b = strand_slurm_hostlist_expand ("rack[1-2]-n[8-9]", 100, &error);
  const char *want_b[] = { "rack1-n8", "rack1-n9", "rack2-n8", "rack2-n9", NULL };
  g_assert_cmpstrv (b, want_b);
  g_auto (GStrv) c = strand_slurm_hostlist_expand ("n[098-101]", 100, &error);
  const char *want_c[] = { "n098", "n099", "n100", "n101", NULL };
  g_assert_cmpstrv (c, want_c);
  g_auto (GStrv) empty = strand_slurm_hostlist_expand ("(null)", 100, &error);
  g_assert_cmpuint (g_strv_length (empty), ==, 0);

  static const char *const bad[] = { "node[1-", "node[3-1]", "a]b", "n[]", "n[1-2]]", "a,,b", "n[x]", "n[1[2]]" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto (GStrv) r = strand_slurm_hostlist_expand (bad[i], 100, &error);
      g_assert_null (r);
      g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
      g_clear_error (&error);
    }
  g_auto (GStrv) big = strand_slurm_hostlist_expand ("n[1-100],m[1-100]", 150, &error);
  g_assert_null (big);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "more than 150"));
}

/* The batch script runs its argv word for word, whatever the words hold. */
static void
test_write_script (void)
{
  g_autofree char *dir = g_dir_make_tmp ("strand-slurm-script-XXXXXX", NULL);
  g_autofree char *script = g_build_filename (dir, "job.sh", NULL);
  const char *weird = "it's \"$HOME\" `id`; $(echo injected) \\ \n* ~ %s";
  const char *argv[] = { "printf", "[%s]", weird, "", NULL };
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_slurm_write_script (script, argv, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (script, G_FILE_TEST_IS_EXECUTABLE));
  g_autofree char *text = NULL;
  g_file_get_contents (script, &text, NULL, NULL);
  g_assert_true (g_str_has_prefix (text, "#!/bin/sh\n"));

  const char *run[] = { script, NULL };
  g_autofree char *out = NULL;
  int status;
  g_spawn_sync (dir, (char **) run, NULL, 0, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_autofree char *want = g_strdup_printf ("[%s][]", weird);
  g_assert_cmpstr (out, ==, want);

  /* Nothing to run; nowhere to write. */
  const char *empty[] = { NULL };
  g_assert_false (strand_slurm_write_script (script, empty, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID);
  g_clear_error (&error);
  g_autofree char *nowhere = g_build_filename (dir, "missing", "job.sh", NULL);
  g_assert_false (strand_slurm_write_script (nowhere, argv, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_IO);
  g_assert_nonnull (strstr (error->message, nowhere));
  g_unlink (script);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  /* The multi-line reservation fixture prints local time; it was captured in UTC. */
  g_setenv ("TZ", "UTC", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/slurm/parse/squeue", test_squeue_states);
  g_test_add_func ("/slurm/parse/squeue-malformed", test_squeue_malformed);
  g_test_add_func ("/slurm/parse/job-state-names", test_job_state_names);
  g_test_add_func ("/slurm/parse/durations", test_durations);
  g_test_add_func ("/slurm/parse/scontrol-jobs", test_scontrol_jobs);
  g_test_add_func ("/slurm/parse/sacct", test_sacct);
  g_test_add_func ("/slurm/parse/sbatch", test_sbatch);
  g_test_add_func ("/slurm/parse/sinfo", test_sinfo_states);
  g_test_add_func ("/slurm/parse/sinfo-malformed", test_sinfo_malformed);
  g_test_add_func ("/slurm/parse/capacity", test_capacity);
  g_test_add_func ("/slurm/parse/reservations", test_reservations);
  g_test_add_func ("/slurm/parse/reservations-malformed", test_reservations_malformed);
  g_test_add_func ("/slurm/parse/maintenance-windows", test_maintenance_windows);
  g_test_add_func ("/slurm/parse/hostlist", test_hostlist);
  g_test_add_func ("/slurm/script", test_write_script);
  return g_test_run ();
}
