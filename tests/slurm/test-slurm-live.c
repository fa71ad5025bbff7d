/* The Slurm command layer against a real cluster: the one-node test cluster
 * (packaging/slurm/test-cluster.sh), reached through SLURM_CONF. Jobs run a
 * tiny program (tiny-job.c) and write files; a job is cancelled with
 * scancel; a maintenance reservation comes back as a maintenance window.
 * Nothing is skipped: without a cluster every test fails and says why.
 * Issue 9, parts 2 to 4. */
#include "slurm.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "test-util.h"

#define SEC ((gint64) G_USEC_PER_SEC)
#define MiB ((guint64) 1 << 20)
/* The name of every job that sleeps (see remove_leftovers). */
#define SLEEPER "strand-test-sleeper"

typedef struct {
  gboolean ready;   /* a cluster answered */
  StrandSlurm *slurm;
  char *dir;        /* scripts, outputs */
  char *node;       /* the first usable node */
  char *partition;  /* one of its partitions */
  GPtrArray *jobs;  /* ids submitted: cancelled at teardown */
  char *reservation; /* created by the test: deleted at teardown */
} Fixture;

/* Why the cluster could not start, as the start script left it. */
static char *
start_failure (void)
{
  const char *dir = g_getenv ("STRAND_TEST_SLURM_DIR");
  g_autofree char *path = g_build_filename (dir ? dir : "/run/strand-test-slurm", "failed", NULL);
  char *text = NULL;
  if (g_file_get_contents (path, &text, NULL, NULL))
    return g_strchomp (text);
  return g_strdup ("no failure recorded; was packaging/slurm/test-cluster.sh start run?");
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->jobs = g_ptr_array_new_with_free_func (g_free);
  f->dir = g_dir_make_tmp ("strand-slurm-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  g_chmod (f->dir, 0755);
  const char *conf = g_getenv ("SLURM_CONF");
  if (conf == NULL)
    {
      g_test_fail_printf ("SLURM_CONF is not set: the test cluster's slurm.conf is unknown");
      return;
    }
  f->slurm = strand_slurm_new (conf);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) nodes = strand_slurm_nodes (f->slurm, NULL, &error);
  if (nodes == NULL)
    {
      g_autofree char *why = start_failure ();
      g_test_fail_printf ("no Slurm test cluster: %s (start: %s)", error->message, why);
      return;
    }
  for (guint i = 0; i < nodes->len && f->node == NULL; i++)
    {
      const StrandSlurmNode *n = nodes->pdata[i];
      if (strand_slurm_node_usable (n) && n->partitions != NULL)
        {
          f->node = g_strdup (n->name);
          f->partition = g_strdup (n->partitions[0]);
        }
    }
  if (f->node == NULL)
    {
      g_autofree char *why = start_failure ();
      g_test_fail_printf ("the Slurm test cluster has no usable node (%u listed; start: %s)", nodes->len, why);
      return;
    }
  f->ready = TRUE;
}

static void
run_scontrol (const char *const *argv, gboolean must_succeed)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (must_succeed && !g_spawn_check_wait_status (status, NULL))
    g_error ("%s %s %s failed: %s", argv[0], argv[1], argv[2], err);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (f->ready && f->jobs->len > 0)
    {
      g_ptr_array_add (f->jobs, NULL);
      strand_slurm_cancel (f->slurm, (const char *const *) f->jobs->pdata, NULL);
    }
  if (f->reservation != NULL)
    {
      g_autofree char *name = g_strdup_printf ("reservationname=%s", f->reservation);
      const char *argv[] = { "scontrol", "delete", name, NULL };
      run_scontrol (argv, FALSE);
    }
  strand_test_remove_tree (f->dir);
  strand_slurm_free (f->slurm);
  g_ptr_array_unref (f->jobs);
  g_free (f->dir);
  g_free (f->node);
  g_free (f->partition);
  g_free (f->reservation);
}

/* Submits tiny-job with `args` as a small job of the test partition. */
static char *
submit (Fixture *f, const char *name, const char *array, const char *const *args, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) STRAND_TINY_JOB);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *script = g_build_filename (f->dir, name, NULL);
  g_autofree char *log = g_strdup_printf ("%s/%s.log", f->dir, name);
  if (!strand_slurm_write_script (script, (const char *const *) argv->pdata, error))
    return NULL;
  StrandSlurmSubmit s = {
    .job_name = name,
    .partition = f->partition,
    .cpus = 1,
    .memory_bytes = 64 * MiB,
    .time_limit_s = 300,
    .output_path = log,
    .array = array,
  };
  char *id = strand_slurm_submit (f->slurm, &s, script, error);
  if (id != NULL)
    g_ptr_array_add (f->jobs, g_strdup (id));
  return id;
}

static void
wait_until_running (StrandSlurmPoller *p, const char *id)
{
  gint64 deadline = strand_clock_monotonic_us () + 60 * SEC;
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      strand_slurm_poller_poll (p, NULL, &error);
      g_assert_no_error (error);
      const StrandSlurmJob *job = strand_slurm_poller_job (p, id);
      if (job != NULL && job->state == STRAND_SLURM_JOB_RUNNING)
        return;
      if (job != NULL && strand_slurm_job_state_is_final (job->state))
        g_error ("job %s ended (%s) before it was seen running", id, job->state_name);
      if (strand_clock_monotonic_us () > deadline)
        g_error ("job %s not running after 60 s (%s, %s)", id, job ? job->state_name : "not seen",
                 job && job->reason ? job->reason : "no reason");
      g_usleep (100 * 1000);
    }
}

/* ---- Tests ------------------------------------------------------------------ */

static void
test_nodes (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) nodes = strand_slurm_nodes (f->slurm, f->partition, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (nodes->len, >=, 1);
  StrandSlurmCapacity c;
  strand_slurm_capacity (nodes, f->partition, &c);
  g_assert_cmpuint (c.nodes_usable, >=, 1);
  g_assert_cmpuint (c.cpus_usable, >=, 1);
  /* The node as slurmd -C saw it: the machine's CPUs. */
  g_assert_cmpuint (c.cpus_usable, <=, (guint) sysconf (_SC_NPROCESSORS_CONF));
  g_assert_cmpuint (c.memory_usable_bytes, >, 64 * MiB);
}

static void
test_submit_and_wait (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  g_autofree char *out = g_build_filename (f->dir, "written.txt", NULL);
  g_autofree char *bad = g_build_filename (f->dir, "failed.txt", NULL);
  /* Words a shell would act on arrive as they are. */
  const char *text_in = "hello from a 'Slurm' job: \"$HOME\" `id` $(false) \\ *";
  const char *ok_args[] = { "write", out, text_in, NULL };
  const char *fail_args[] = { "write", bad, "then exit 3", "3", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *ok = submit (f, "strand-test-write", NULL, ok_args, &error);
  g_assert_no_error (error);
  g_autofree char *fail = submit (f, "strand-test-fail", NULL, fail_args, &error);
  g_assert_no_error (error);

  g_autoptr (StrandSlurmPoller) p = strand_slurm_poller_new (f->slurm, 100 * 1000, 2 * SEC);
  strand_slurm_poller_watch (p, ok);
  strand_slurm_poller_watch (p, fail);
  strand_slurm_poller_wait (p, 120 * SEC, &error);
  g_assert_no_error (error);

  const StrandSlurmJob *done = strand_slurm_poller_job (p, ok);
  g_assert_nonnull (done);
  g_assert_cmpint (done->state, ==, STRAND_SLURM_JOB_COMPLETED);
  g_assert_cmpstr (done->name, ==, "strand-test-write");
  g_assert_cmpstr (done->partition, ==, f->partition);
  g_assert_cmpstr (done->nodes, ==, f->node);
  g_assert_cmpint (done->time_limit_s, ==, 300);
  g_assert_cmpint (done->end_us, >=, done->start_us);
  g_assert_cmpint (done->start_us, >, 0);
  g_autofree char *text = NULL;
  g_file_get_contents (out, &text, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, text_in);
  g_autofree char *log_path = g_strdup_printf ("%s/strand-test-write.log", f->dir);
  g_autofree char *log = NULL;
  g_file_get_contents (log_path, &log, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (log, "tiny-job wrote"));

  const StrandSlurmJob *failed = strand_slurm_poller_job (p, fail);
  g_assert_cmpint (failed->state, ==, STRAND_SLURM_JOB_FAILED);
  /* squeue has no exit status; scontrol does. */
  g_autoptr (StrandSlurmJob) shown = strand_slurm_show_job (f->slurm, fail, &error);
  g_assert_no_error (error);
  g_assert_nonnull (shown);
  g_assert_cmpint (shown->exit_status, ==, 3);
  g_autoptr (StrandSlurmJob) shown_ok = strand_slurm_show_job (f->slurm, ok, &error);
  g_assert_cmpint (shown_ok->exit_status, ==, 0);
  g_assert_cmpint (shown_ok->state, ==, STRAND_SLURM_JOB_COMPLETED);
}

static void
test_array (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  g_autofree char *out = g_build_filename (f->dir, "array.txt", NULL);
  const char *args[] = { "write", out, "a task", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *id = submit (f, "strand-test-array", "0-2", args, &error);
  g_assert_no_error (error);
  g_autoptr (StrandSlurmPoller) p = strand_slurm_poller_new (f->slurm, 100 * 1000, 2 * SEC);
  strand_slurm_poller_watch (p, id);
  strand_slurm_poller_wait (p, 120 * SEC, &error);
  g_assert_no_error (error);
  /* Watching the array follows each of its tasks. */
  for (int t = 0; t < 3; t++)
    {
      g_autofree char *task = g_strdup_printf ("%s_%d", id, t);
      const StrandSlurmJob *job = strand_slurm_poller_job (p, task);
      g_assert_nonnull (job);
      g_assert_cmpint (job->state, ==, STRAND_SLURM_JOB_COMPLETED);
      g_assert_cmpint (job->array_task_id, ==, t);
    }
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  const char *args[] = { "sleep", "300", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *id = submit (f, SLEEPER, NULL, args, &error);
  g_assert_no_error (error);
  g_autoptr (StrandSlurmPoller) p = strand_slurm_poller_new (f->slurm, 100 * 1000, SEC);
  strand_slurm_poller_watch (p, id);
  wait_until_running (p, id);

  const char *ids[] = { id, NULL };
  g_assert_true (strand_slurm_cancel (f->slurm, ids, &error));
  g_assert_no_error (error);
  strand_slurm_poller_wait (p, 60 * SEC, &error);
  g_assert_no_error (error);
  const StrandSlurmJob *job = strand_slurm_poller_job (p, id);
  g_assert_cmpint (job->state, ==, STRAND_SLURM_JOB_CANCELLED);
  g_assert_cmpstr (job->state_name, ==, "CANCELLED");
  g_assert_true (strand_slurm_job_state_is_final (job->state));

  /* Cancelling what already ended is no error. */
  g_assert_true (strand_slurm_cancel (f->slurm, ids, &error));
  g_assert_no_error (error);
}

static void
test_backoff (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  const char *args[] = { "sleep", "300", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *a = submit (f, SLEEPER, NULL, args, &error);
  g_assert_no_error (error);
  g_autofree char *b = submit (f, SLEEPER, NULL, args, &error);
  g_assert_no_error (error);
  const gint64 min = 10 * 1000, max = 80 * 1000;
  g_autoptr (StrandSlurmPoller) p = strand_slurm_poller_new (f->slurm, min, max);
  strand_slurm_poller_watch (p, a);
  strand_slurm_poller_watch (p, b);
  wait_until_running (p, a);
  wait_until_running (p, b);

  /* Nothing changes: each poll is one squeue for both jobs, and the
   * interval doubles up to the maximum, and stays there. */
  gint64 interval = strand_slurm_poller_interval_us (p);
  for (guint i = 0; i < 6; i++)
    {
      guint calls = strand_slurm_calls (f->slurm);
      gint64 before = strand_clock_monotonic_us ();
      GPtrArray *changed = NULL;
      g_assert_true (strand_slurm_poller_poll (p, &changed, &error));
      g_assert_no_error (error);
      gint64 after = strand_clock_monotonic_us ();
      g_assert_cmpuint (strand_slurm_calls (f->slurm) - calls, ==, 1);
      g_assert_cmpuint (changed->len, ==, 0);
      gint64 expect = MIN (interval * 2, max);
      g_assert_cmpint (strand_slurm_poller_interval_us (p), ==, expect);
      g_assert_cmpint (strand_slurm_poller_due_us (p), >=, before + expect);
      g_assert_cmpint (strand_slurm_poller_due_us (p), <=, after + expect);
      interval = expect;
    }
  g_assert_cmpint (interval, ==, max);

  /* A change halves the interval. */
  const char *ids[] = { a, NULL };
  g_assert_true (strand_slurm_cancel (f->slurm, ids, &error));
  gint64 deadline = strand_clock_monotonic_us () + 30 * SEC;
  for (;;)
    {
      GPtrArray *changed = NULL;
      gint64 before = strand_clock_monotonic_us ();
      g_assert_true (strand_slurm_poller_poll (p, &changed, &error));
      if (changed->len > 0)
        {
          g_assert_cmpstr (((StrandSlurmJob *) changed->pdata[0])->id, ==, a);
          g_assert_cmpint (strand_slurm_poller_interval_us (p), ==, MAX (interval / 2, min));
          g_assert_cmpint (strand_slurm_poller_due_us (p), >=, before + MAX (interval / 2, min));
          break;
        }
      interval = strand_slurm_poller_interval_us (p);
      g_assert_cmpint (strand_clock_monotonic_us (), <, deadline);
      g_usleep (50 * 1000);
    }
}

static void
test_unknown_job (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  /* Far above any id this cluster has given. */
  const char *ids[] = { "67000000", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) jobs = strand_slurm_query_jobs (f->slurm, ids, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (jobs->len, ==, 0);
  g_autoptr (StrandSlurmJob) shown = strand_slurm_show_job (f->slurm, ids[0], &error);
  g_assert_no_error (error);
  g_assert_null (shown);

  /* Followed, it becomes UNKNOWN (final): this cluster has no accounting
   * database to ask, which is learnt once. */
  g_autoptr (StrandSlurmPoller) p = strand_slurm_poller_new (f->slurm, 1000, 1000);
  strand_slurm_poller_watch (p, ids[0]);
  guint calls = strand_slurm_calls (f->slurm);
  g_assert_true (strand_slurm_poller_poll (p, NULL, &error));
  g_assert_cmpuint (strand_slurm_calls (f->slurm) - calls, ==, 2); /* squeue, sacct */
  const StrandSlurmJob *job = strand_slurm_poller_job (p, ids[0]);
  g_assert_cmpint (job->state, ==, STRAND_SLURM_JOB_UNKNOWN);
  g_assert_nonnull (strstr (job->reason, "no longer known"));
  g_assert_true (strand_slurm_poller_all_final (p));

  strand_slurm_poller_watch (p, "67000001");
  calls = strand_slurm_calls (f->slurm);
  g_assert_true (strand_slurm_poller_poll (p, NULL, &error));
  g_assert_cmpuint (strand_slurm_calls (f->slurm) - calls, ==, 1); /* squeue only */

  g_autoptr (GPtrArray) acct = strand_slurm_query_accounting (f->slurm, ids, &error);
  g_assert_null (acct);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_NO_ACCOUNTING);
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  g_autofree char *script = g_build_filename (f->dir, "refused", NULL);
  const char *argv[] = { STRAND_TINY_JOB, "sleep", "1", NULL };
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_slurm_write_script (script, argv, &error));
  StrandSlurmSubmit s = { .partition = "no-such-partition" };
  g_autofree char *id = strand_slurm_submit (f->slurm, &s, script, &error);
  g_assert_null (id);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "sbatch failed"));
  g_assert_nonnull (strstr (error->message, "nvalid partition"));
  g_clear_error (&error);

  /* Refused before Slurm sees it: a newline would break squeue's lines. */
  StrandSlurmSubmit n = { .job_name = "two\nlines" };
  g_assert_null (strand_slurm_submit (f->slurm, &n, script, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID);
  g_clear_error (&error);
  StrandSlurmSubmit a = { .array = "0-9; rm -rf" };
  g_assert_null (strand_slurm_submit (f->slurm, &a, script, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID);
  g_clear_error (&error);
  const char *bad_ids[] = { "12;34", NULL };
  g_assert_false (strand_slurm_cancel (f->slurm, bad_ids, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID);
}

static void
test_unreachable (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  /* The same cluster's configuration with a port nobody listens on. */
  g_autofree char *conf = NULL;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (g_getenv ("SLURM_CONF"), &conf, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GRegex) port = g_regex_new ("^SlurmctldPort=.*$", G_REGEX_MULTILINE, 0, NULL);
  g_autofree char *moved = g_regex_replace_literal (port, conf, -1, 0, "SlurmctldPort=1", 0, NULL);
  g_autofree char *dead = g_strconcat (moved, "MessageTimeout=1\nTCPTimeout=1\n", NULL);
  g_autofree char *path = g_build_filename (f->dir, "slurm.conf", NULL);
  g_file_set_contents (path, dead, -1, &error);
  g_assert_no_error (error);
  g_autoptr (StrandSlurm) away = strand_slurm_new (path);
  g_autoptr (GPtrArray) nodes = strand_slurm_nodes (away, NULL, &error);
  g_assert_null (nodes);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "sinfo"));
  g_clear_error (&error);

  /* A poller keeps its jobs as they were and backs off. */
  g_autoptr (StrandSlurmPoller) p = strand_slurm_poller_new (away, 10 * 1000, 40 * 1000);
  strand_slurm_poller_watch (p, "1");
  g_assert_false (strand_slurm_poller_poll (p, NULL, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_UNREACHABLE);
  g_clear_error (&error);
  g_assert_null (strand_slurm_poller_job (p, "1"));
  g_assert_false (strand_slurm_poller_all_final (p));
  /* ... and a wait runs out of time, saying why. */
  g_assert_false (strand_slurm_poller_wait (p, 200 * 1000, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "Unable to contact slurm controller"));
  g_clear_error (&error);

  /* No configuration at all: said at once, naming the file. */
  g_autoptr (StrandSlurm) none = strand_slurm_new ("/nonexistent/slurm.conf");
  g_autoptr (GPtrArray) r = strand_slurm_reservations (none, &error);
  g_assert_null (r);
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_UNREACHABLE);
  g_assert_nonnull (strstr (error->message, "/nonexistent/slurm.conf"));
  g_clear_error (&error);

  /* Commands that are not there. */
  g_autoptr (StrandSlurm) nobin = strand_slurm_new (NULL);
  strand_slurm_set_bindir (nobin, f->dir);
  g_assert_null (strand_slurm_nodes (nobin, NULL, &error));
  g_assert_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_COMMAND);
}

static void
test_maintenance (Fixture *f, gconstpointer data)
{
  if (!f->ready)
    return;
  f->reservation = g_strdup_printf ("strand-test-maint-%d", (int) getpid ());
  g_autofree char *name = g_strdup_printf ("reservationname=%s", f->reservation);
  g_autofree char *nodes = g_strdup_printf ("nodes=%s", f->node);
  g_autofree char *users = g_strdup_printf ("users=%s", g_get_user_name ());
  const char *argv[] = { "scontrol", "create", "reservation", name, "starttime=now+1hour",
                         "duration=90", nodes, "flags=maint", users, NULL };
  gint64 before = strand_clock_now_us ();
  run_scontrol (argv, TRUE);
  gint64 after = strand_clock_now_us ();

  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) resv = strand_slurm_reservations (f->slurm, &error);
  g_assert_no_error (error);
  const StrandSlurmReservation *r = NULL;
  for (guint i = 0; i < resv->len; i++)
    if (g_str_equal (((StrandSlurmReservation *) resv->pdata[i])->name, f->reservation))
      r = resv->pdata[i];
  g_assert_nonnull (r);
  g_assert_true (r->flags & STRAND_SLURM_RESV_MAINT);
  g_assert_false (r->active);
  g_assert_true (g_strv_contains ((const char *const *) r->node_names, f->node));

  /* It comes back as a maintenance window of the node, where Slurm put it. */
  g_autoptr (GPtrArray) windows = strand_slurm_maintenance_windows (resv, f->node, after + 86400 * SEC);
  const StrandMaintenance *w = NULL;
  for (guint i = 0; i < windows->len; i++)
    if (strstr (((StrandMaintenance *) windows->pdata[i])->reason, f->reservation) != NULL)
      w = windows->pdata[i];
  g_assert_nonnull (w);
  g_assert_cmpint (w->start_us, >=, before - before % SEC + 3600 * SEC - SEC);
  g_assert_cmpint (w->start_us, <=, after + 3600 * SEC + SEC);
  g_assert_cmpint (w->end_us - w->start_us, ==, (gint64) 90 * 60 * SEC);

  /* The node is still usable now; the equipment model plans around the window. */
  g_autoptr (GPtrArray) now_nodes = strand_slurm_nodes (f->slurm, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < now_nodes->len; i++)
    {
      const StrandSlurmNode *n = now_nodes->pdata[i];
      if (g_str_equal (n->name, f->node))
        g_assert_true (strand_slurm_node_usable (n));
    }
  const char *json = "{\"equipment\": [{\"id\": \"cluster-node\", \"class\": \"compute\"}]}";
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandInventory) inv = strand_inventory_load_data (json, strlen (json), "inline.json", problems);
  g_assert_nonnull (inv);
  StrandEquipment *e = inv->items->pdata[0];
  strand_slurm_equipment_add_maintenance (e, windows);
  g_assert_true (strand_equipment_available (e, after));
  g_assert_false (strand_equipment_available (e, w->start_us + 60 * SEC));
  g_assert_true (strand_equipment_available (e, w->end_us));
  g_assert_cmpint (strand_equipment_longest_window (e, after, w->end_us), <, 3600 * SEC);
}

/* What a failed run left behind (an assertion ends the program before the
 * teardowns): its sleeping jobs, which all share one name and would hold
 * the node's CPUs, and its maintenance reservations. */
static void
remove_leftovers (void)
{
  g_autofree char *name = g_strdup_printf ("--name=%s", SLEEPER);
  g_autofree char *user = g_strdup_printf ("--user=%s", g_get_user_name ());
  const char *argv[] = { "scancel", "--quiet", name, user, NULL };
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, NULL, NULL);
  g_autoptr (StrandSlurm) slurm = strand_slurm_new (g_getenv ("SLURM_CONF"));
  g_autoptr (GPtrArray) resv = strand_slurm_reservations (slurm, NULL);
  for (guint i = 0; resv != NULL && i < resv->len; i++)
    {
      const StrandSlurmReservation *r = resv->pdata[i];
      if (!g_str_has_prefix (r->name, "strand-test-maint-"))
        continue;
      g_autofree char *delete = g_strdup_printf ("reservationname=%s", r->name);
      const char *del[] = { "scontrol", "delete", delete, NULL };
      run_scontrol (del, FALSE);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  remove_leftovers ();
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/slurm/live/nodes", test_nodes);
  ADD ("/slurm/live/submit-and-wait", test_submit_and_wait);
  ADD ("/slurm/live/array", test_array);
  ADD ("/slurm/live/cancel", test_cancel);
  ADD ("/slurm/live/backoff", test_backoff);
  ADD ("/slurm/live/unknown-job", test_unknown_job);
  ADD ("/slurm/live/refused", test_refused);
  ADD ("/slurm/live/unreachable", test_unreachable);
  ADD ("/slurm/live/maintenance", test_maintenance);
  return g_test_run ();
}
