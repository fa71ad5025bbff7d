/* The Slurm executor against the one-node test cluster
 * (packaging/slurm/test-cluster.sh, reached through SLURM_CONF). Nothing is
 * skipped: without a cluster every test fails and says why.
 *
 * From the operator's side: the demo pipeline, the lambda phage pipeline
 * and a many-sample run give the outputs the local executor gives, the
 * store verifies and every stage run names its Slurm job; a worker job killed with scancel mid-task costs
 * one attempt, recorded as an equipment failure, and nothing twice; SIGTERM
 * to the host leaves no job behind; a maintenance reservation is planned
 * around; a long task gets a job of its own; a worker that repeats itself is
 * not believed twice; a stranger without the token gets no work; a bad
 * partition or no cluster is said at once. Issue 9. */
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "executor-slurm.h"
#include "pilot-wire.h"
#include "runner-cache.h"
#include "runner.h"
#include "slurm.h"
#include "test-run.h"
#include "test-util.h"
#include "validator.h"

#define SEC ((gint64) G_USEC_PER_SEC)
/* Every job and reservation of these tests starts with this. */
#define PREFIX "strand-sx-"

static char *tmp;
static StrandRegistry *registry;
static char *node;      /* the cluster's first usable node */
static char *partition; /* one of its partitions */

/* ---- the cluster ------------------------------------------------------------------ */

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

/* TRUE when the cluster answers; otherwise the test fails, saying why. */
static gboolean
cluster_ready (void)
{
  if (node != NULL)
    return TRUE;
  const char *conf = g_getenv ("SLURM_CONF");
  if (conf == NULL)
    {
      g_test_fail_printf ("SLURM_CONF is not set: the test cluster's slurm.conf is unknown");
      return FALSE;
    }
  g_autoptr (StrandSlurm) slurm = strand_slurm_new (conf);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) nodes = strand_slurm_nodes (slurm, NULL, &error);
  if (nodes == NULL)
    {
      g_autofree char *why = start_failure ();
      g_test_fail_printf ("no Slurm test cluster: %s (start: %s)", error->message, why);
      return FALSE;
    }
  for (guint i = 0; i < nodes->len && node == NULL; i++)
    {
      const StrandSlurmNode *n = nodes->pdata[i];
      if (strand_slurm_node_usable (n) && n->partitions != NULL)
        {
          node = g_strdup (n->name);
          partition = g_strdup (n->partitions[0]);
        }
    }
  if (node == NULL)
    {
      g_autofree char *why = start_failure ();
      g_test_fail_printf ("the Slurm test cluster has no usable node (start: %s)", why);
      return FALSE;
    }
  return TRUE;
}

/* Job ids of the jobs named `name`: every state, or only those not ended. */
static GPtrArray *
jobs_named (const char *name, gboolean all_states)
{
  g_autofree char *opt = g_strdup_printf ("--name=%s", name);
  const char *argv[] = { "squeue", "--noheader", opt, "--format=%A", all_states ? "--states=all" : NULL, NULL };
  g_autofree char *out = NULL;
  g_assert_cmpint (strand_test_spawn_argv (NULL, NULL, argv, &out, NULL), ==, 0);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    if (*g_strstrip (*l) != '\0')
      g_ptr_array_add (ids, g_strdup (*l));
  return ids;
}

static void
delete_reservation (const char *name)
{
  g_autofree char *arg = g_strdup_printf ("reservationname=%s", name);
  const char *argv[] = { "scontrol", "delete", arg, NULL };
  strand_test_spawn_argv (NULL, NULL, argv, NULL, NULL);
}

/* What an earlier run of these tests left: its jobs and reservations. */
static void
remove_leftovers (void)
{
  g_autofree char *user = g_strdup_printf ("--user=%s", g_get_user_name ());
  const char *argv[] = { "squeue", "--noheader", user, "--format=%A %j", NULL };
  g_autofree char *out = NULL;
  if (strand_test_spawn_argv (NULL, NULL, argv, &out, NULL) != 0)
    return;
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      g_auto (GStrv) f = g_strsplit (g_strstrip (*l), " ", 2);
      if (f[0] && f[1] && g_str_has_prefix (f[1], PREFIX))
        {
          const char *cancel[] = { "scancel", f[0], NULL };
          strand_test_spawn_argv (NULL, NULL, cancel, NULL, NULL);
        }
    }
  g_autoptr (StrandSlurm) slurm = strand_slurm_new (g_getenv ("SLURM_CONF"));
  g_autoptr (GPtrArray) resv = strand_slurm_reservations (slurm, NULL);
  for (guint i = 0; resv && i < resv->len; i++)
    {
      const StrandSlurmReservation *r = resv->pdata[i];
      if (g_str_has_prefix (r->name, PREFIX))
        delete_reservation (r->name);
    }
}

/* ---- runs ---------------------------------------------------------------------------- */

static char *
job_name (const char *what)
{
  return g_strdup_printf (PREFIX "%s-%d", what, (int) getpid ());
}

/* The executor as the tests use it: small jobs, a quick eye on them. */
static StrandExecutor *
slurm_executor (const char *dir, const char *name, StrandSlurmExecutorOptions *extra)
{
  g_autofree char *state = g_build_filename (dir, "workers", NULL);
  StrandSlurmExecutorOptions opt = extra ? *extra : (StrandSlurmExecutorOptions) { 0 };
  if (opt.worker_program == NULL)
    opt.worker_program = STRAND_CLI;
  opt.state_dir = state;
  opt.job_name = name;
  if (opt.max_workers == 0)
    opt.max_workers = 1;
  if (opt.worker_cores == 0)
    opt.worker_cores = 1;
  opt.heartbeat_us = SEC;
  opt.idle_timeout_us = 5 * SEC;
  opt.refresh_us = 2 * SEC;
  opt.grace_us = SEC;
  g_autoptr (GError) error = NULL;
  StrandExecutor *x = strand_executor_slurm_new (&opt, &error);
  g_assert_no_error (error);
  return x;
}

/* An inventory of one compute equipment, "cluster", backed by the test
 * partition. */
static StrandInventory *
cluster_inventory (void)
{
  g_autofree char *json = g_strdup_printf (
      "{\"equipment\": [{\"id\": \"cluster\", \"class\": \"compute\", \"capacity\": 4, "
      "\"slurm\": {\"partition\": \"%s\"}}]}", partition);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inventory = strand_inventory_load_data (json, strlen (json), "inventory.json", problems);
  g_assert_cmpuint (problems->len, ==, 0);
  return inventory;
}

/* "sample/stage:sha256,... " of every ok task, in plan order. */
static char *
digests_of (StrandRun *run)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      StrandTaskRecord *t = run->tasks->pdata[i];
      g_assert_cmpstr (t->status, ==, "ok");
      g_string_append_printf (s, "%s/%s:", t->sample_id ? t->sample_id : "_run", t->stage_id);
      for (guint k = 0; k < t->result->outputs->len; k++)
        g_string_append_printf (s, "%s,", ((StrandTaskOutput *) t->result->outputs->pdata[k])->sha256);
      g_string_append_c (s, ' ');
    }
  return g_string_free (s, FALSE);
}

/* The digests of a `strand run --json` report of a run that completed. */
static char *
cli_digests (const char *json_text)
{
  g_autoptr (JsonObject) o = strand_test_parse_object (json_text);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "complete");
  return strand_test_cli_digests (json_text, NULL);
}

/* ---- the records ---------------------------------------------------------------------- */

typedef struct {
  char *sample;
  char *stage;
  gint64 attempt;
  char *error_class; /* NULL: it succeeded */
  char *message;
  char *job_id;      /* placement.job_id; NULL: none */
  char *executor;
  gboolean own_job;
  gint64 started_us;
  gint64 finished_us;
} StageRun;

static void
stage_run_free (gpointer p)
{
  StageRun *r = p;
  g_free (r->sample);
  g_free (r->stage);
  g_free (r->error_class);
  g_free (r->message);
  g_free (r->job_id);
  g_free (r->executor);
  g_free (r);
}

static gboolean
collect_stage_run (JsonObject *st, guint64 seq, gpointer data)
{
  if (g_strcmp0 (strand_statement_string (st, "predicateType"), "https://slsa.dev/provenance/v1") != 0)
    return TRUE;
  StageRun *r = g_new0 (StageRun, 1);
  r->sample = g_strdup (strand_statement_string (st, "predicate.buildDefinition.externalParameters.sample"));
  r->stage = g_strdup (strand_statement_string (st, "predicate.buildDefinition.externalParameters.stage"));
  JsonObject *internal = strand_statement_object (st, "predicate.buildDefinition.internalParameters");
  r->attempt = json_object_get_int_member (internal, "attempt");
  JsonObject *placement = strand_statement_object (st, "predicate.buildDefinition.internalParameters.placement");
  if (placement != NULL)
    {
      r->job_id = g_strdup (strand_statement_string (placement, "job_id"));
      r->executor = g_strdup (strand_statement_string (placement, "executor"));
      r->own_job = json_object_has_member (placement, "own_job");
    }
  JsonObject *meta = strand_statement_object (st, "predicate.runDetails.metadata");
  g_assert_true (strand_clock_parse_rfc3339 (strand_statement_string (meta, "startedOn"), &r->started_us));
  g_assert_true (strand_clock_parse_rfc3339 (strand_statement_string (meta, "finishedOn"), &r->finished_us));
  JsonArray *by = json_object_get_array_member (strand_statement_object (st, "predicate.runDetails"), "byproducts");
  JsonObject *ann = json_object_get_object_member (json_array_get_object_element (by, 0), "annotations");
  r->error_class = g_strdup (strand_statement_string (ann, "error_class"));
  r->message = g_strdup (strand_statement_string (ann, "message"));
  g_ptr_array_add (data, r);
  return TRUE;
}

/* Every stage-run record of the store, in order. */
static GPtrArray *
stage_runs (const char *store)
{
  GPtrArray *runs = g_ptr_array_new_with_free_func (stage_run_free);
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_ledger_foreach_statement (store, collect_stage_run, runs, &error));
  g_assert_no_error (error);
  return runs;
}

/* Each task succeeded in exactly one record: nothing recorded twice. */
static void
assert_one_success_each (GPtrArray *runs, guint tasks)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < runs->len; i++)
    {
      StageRun *r = runs->pdata[i];
      if (r->error_class != NULL)
        continue;
      g_autofree char *key = g_strdup_printf ("%s/%s", r->sample, r->stage);
      if (!g_hash_table_add (seen, g_steal_pointer (&key)))
        g_error ("task %s/%s succeeded in two records", r->sample, r->stage);
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, tasks);
}

static void
assert_store_verifies (const char *store)
{
  const char *argv[] = { STRAND_CLI, "verify", "--store", store, NULL };
  g_autofree char *out = NULL;
  g_assert_cmpint (strand_test_spawn_argv (NULL, NULL, argv, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "intact"));
}

/* ---- packaged pipelines, through the command -------------------------------------- */

/* Runs a packaged pipeline locally and through worker jobs: the same
 * outputs, a store that verifies, and every stage run naming a job of the
 * run. `tasks`: how many the pipeline makes. */
static void
compare_packaged (const char *what, const char *pipeline, const char *sheet, guint tasks)
{
  g_autofree char *dir = strand_test_fresh_dir (tmp, what);
  g_autofree char *local = g_build_filename (dir, "local", NULL);
  g_autofree char *slurm = g_build_filename (dir, "slurm", NULL);
  const char *local_argv[] = { STRAND_CLI, "run", pipeline, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                               "--store", local, "--json", NULL };
  g_autofree char *local_out = NULL;
  g_assert_cmpint (strand_test_spawn_argv (NULL, NULL, local_argv, &local_out, NULL), ==, 0);
  g_autofree char *name = job_name (what);
  g_autofree char *slurm_out = NULL, *slurm_err = NULL;
  /* The store named relative to where the host runs: the jobs start elsewhere. */
  const char *slurm_argv[] = { STRAND_CLI, "run", pipeline, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                               "--store", "slurm", "--json", "--executor", "slurm", "--partition", partition,
                               "--max-workers", "2", "--worker-cores", "1", "--job-name", name, NULL };
  g_assert_cmpint (strand_test_spawn_argv (dir, NULL, slurm_argv, &slurm_out, &slurm_err), ==, 0);
  g_autofree char *want = cli_digests (local_out);
  g_autofree char *got = cli_digests (slurm_out);
  g_assert_cmpstr (got, ==, want);
  assert_store_verifies (slurm);

  /* Every stage run names a job of this run. */
  g_autoptr (GPtrArray) jobs = jobs_named (name, TRUE);
  g_assert_cmpuint (jobs->len, >=, 1);
  g_autoptr (GPtrArray) runs = stage_runs (slurm);
  g_assert_cmpuint (runs->len, ==, tasks);
  for (guint i = 0; i < runs->len; i++)
    {
      StageRun *r = runs->pdata[i];
      g_assert_cmpstr (r->executor, ==, "slurm");
      g_assert_nonnull (r->job_id);
      if (!g_ptr_array_find_with_equal_func (jobs, r->job_id, g_str_equal, NULL))
        g_error ("stage run %s/%s names job %s, not one of the run's", r->sample, r->stage, r->job_id);
    }
  assert_one_success_each (runs, tasks);
  /* The local run's records say nothing of a placement. */
  g_autoptr (GPtrArray) local_runs = stage_runs (local);
  g_assert_null (((StageRun *) local_runs->pdata[0])->executor);
}

static void
test_demo_digests (void)
{
  if (cluster_ready ())
    compare_packaged ("demo", STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.json",
                      STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.samples.json", 32);
}

/* The main job: a simulated run of 8 samples on lambda phage, to variants. */
static void
test_lambda_digests (void)
{
  if (cluster_ready ())
    compare_packaged ("lambda", STRAND_SOURCE_ROOT "/packaging/pipelines/germline-lambda.json",
                      STRAND_SOURCE_ROOT "/packaging/pipelines/germline-lambda.samples.json", 35);
}

/* ---- many samples, through the library ------------------------------------------------ */

static void
test_many_samples (void)
{
  if (!cluster_ready ())
    return;
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"many\", \"stages\": ["
      " {\"id\": \"gen\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 300, \"length\": 60}},"
      " {\"id\": \"merge\", \"plugin\": \"concat\", \"params\": {\"file_name\": \"m.fastq\"}},"
      " {\"id\": \"qc\", \"plugin\": \"fastq-stats\"}],"
      " \"edges\": [{\"from\": \"gen.reads\", \"to\": \"merge.in\"}, {\"from\": \"merge.out\", \"to\": \"qc.reads\"}]}",
      NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (24);
  g_autofree char *dir = strand_test_fresh_dir (tmp, "many");
  g_autofree char *local = g_build_filename (dir, "local", NULL);
  g_autofree char *slurm = g_build_filename (dir, "slurm", NULL);
  g_autoptr (StrandRun) want = strand_test_run (registry, p, samples, local, NULL, NULL);
  g_autofree char *name = job_name ("many");
  StrandSlurmExecutorOptions two = { .max_workers = 2 };
  g_autoptr (StrandExecutor) x = slurm_executor (dir, name, &two);
  StrandRunOptions opt = { .executor = x };
  g_autoptr (StrandRun) got = strand_test_run (registry, p, samples, slurm, NULL, &opt);
  g_assert_cmpstr (got->status, ==, "complete");
  g_autofree char *dw = digests_of (want);
  g_autofree char *dg = digests_of (got);
  g_assert_cmpstr (dg, ==, dw);
  StrandSlurmExecutorStats st;
  strand_executor_slurm_stats (x, &st);
  g_assert_cmpuint (st.tasks_sent, ==, 72);
  g_assert_cmpuint (st.tasks_lost, ==, 0);
  g_assert_cmpuint (st.late_results, ==, 0);
  /* A few jobs for 72 tasks: pilots, not one job per task. */
  g_assert_cmpuint (st.jobs_submitted, >=, 1);
  g_assert_cmpuint (st.jobs_submitted, <=, 6);
  g_autoptr (GPtrArray) runs = stage_runs (slurm);
  assert_one_success_each (runs, 72);
  assert_store_verifies (slurm);
}

/* ---- a worker job killed mid-task --------------------------------------------------- */

typedef struct {
  StrandExecutor *executor;
  StrandSlurm *slurm;
  char *started;     /* where tasks note that they started */
  char *marker;      /* once it exists, waiting tasks finish */
  int phase;
  char *victim_job;
  char *victim_file; /* SAMPLE.ATTEMPT.PID of the task it ran */
} Killer;

static char *
first_file_in (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *n = d ? g_dir_read_name (d) : NULL;
  return g_strdup (n);
}

/* Once a task runs, its worker job is cancelled; once the host has asked
 * for another job, the tasks may finish. */
static void
kill_mid_task (const StrandTaskRecord *record, const StrandRunCounts *c, gpointer data)
{
  Killer *k = data;
  GPtrArray *jobs = strand_executor_slurm_jobs (k->executor);
  if (k->phase == 0)
    {
      k->victim_file = first_file_in (k->started);
      if (k->victim_file == NULL)
        return;
      g_assert_cmpuint (jobs->len, ==, 1);
      k->victim_job = g_strdup (jobs->pdata[0]);
      const char *ids[] = { k->victim_job, NULL };
      g_autoptr (GError) error = NULL;
      g_assert_true (strand_slurm_cancel (k->slurm, ids, &error));
      k->phase = 1;
    }
  else if (k->phase == 1 && jobs->len >= 2)
    {
      g_assert_true (g_file_set_contents (k->marker, "", 0, NULL));
      k->phase = 2;
    }
}

static const char wait_pipeline[] =
    "{\"name\": \"waits\", \"stages\": ["
    " {\"id\": \"wait\", \"plugin\": \"wait-stage\", \"params\": {\"marker\": \"MARKER\", \"started\": \"STARTED\"}},"
    " {\"id\": \"after\", \"plugin\": \"wait-stage\"}],"
    " \"edges\": [{\"from\": \"wait.out\", \"to\": \"after.in\"}]}";

static void
test_scancel_mid_task (void)
{
  if (!cluster_ready ())
    return;
  g_autofree char *dir = strand_test_fresh_dir (tmp, "scancel");
  g_autofree char *started = g_build_filename (dir, "started", NULL);
  g_autofree char *marker = g_build_filename (dir, "go", NULL);
  g_mkdir_with_parents (started, 0700);
  g_autofree char *a = strand_test_subst (wait_pipeline, "MARKER", marker);
  g_autofree char *json = strand_test_subst (a, "STARTED", started);
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, json, NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (2);
  g_autofree char *name = job_name ("scancel");
  /* The partition is the run's compute equipment: a lost node is not a
   * lost partition, and the next attempt stays in it. */
  g_autoptr (StrandInventory) inventory = cluster_inventory ();
  StrandSlurmPool pool = { .id = "cluster", .partition = partition, .equipment = inventory->items->pdata[0] };
  StrandSlurmExecutorOptions extra = { .pools = &pool, .n_pools = 1 };
  g_autoptr (StrandExecutor) x = slurm_executor (dir, name, &extra);
  g_autoptr (StrandSlurm) slurm = strand_slurm_new (g_getenv ("SLURM_CONF"));
  Killer k = { .executor = x, .slurm = slurm, .started = started, .marker = marker };
  StrandRunOptions opt = { .executor = x, .inventory = inventory, .progress = kill_mid_task, .user_data = &k };
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, NULL, &opt);
  g_assert_cmpint (k.phase, ==, 2);
  g_assert_cmpstr (run->status, ==, "complete");

  /* The task the job ran took a second attempt, on another job. */
  g_auto (GStrv) victim = g_strsplit (k.victim_file, ".", 3);
  StrandTaskRecord *hit = NULL;
  for (guint i = 0; i < run->tasks->len; i++)
    {
      StrandTaskRecord *t = run->tasks->pdata[i];
      gboolean is_victim = strcmp (t->sample_id, victim[0]) == 0 && strcmp (t->stage_id, "wait") == 0;
      g_assert_cmpint (t->attempts, ==, is_victim ? 2 : 1);
      g_assert_cmpstr (t->equipment, ==, "cluster");
      if (is_victim)
        hit = t;
    }
  g_assert_nonnull (hit);
  g_assert_cmpuint (hit->decisions->len, ==, 1);
  g_assert_true (g_str_has_prefix (hit->decisions->pdata[0], "reroute: equipment after worker job"));
  /* Its process went with the job. */
  pid_t pid = (pid_t) atoi (victim[2]);
  g_assert_cmpint (kill (pid, 0), ==, -1);

  StrandSlurmExecutorStats st;
  strand_executor_slurm_stats (x, &st);
  g_assert_cmpuint (st.tasks_lost, ==, 1);
  g_assert_cmpuint (st.late_results, ==, 0);
  g_assert_cmpuint (st.workers_lost, >=, 1);

  /* The records: the lost attempt as an equipment failure on the cancelled
   * job, then one success per task; the store verifies. */
  g_autoptr (GPtrArray) runs = stage_runs (store);
  guint failures = 0;
  for (guint i = 0; i < runs->len; i++)
    {
      StageRun *r = runs->pdata[i];
      if (r->error_class == NULL)
        continue;
      failures++;
      g_assert_cmpstr (r->error_class, ==, "equipment");
      g_assert_cmpstr (r->sample, ==, victim[0]);
      g_assert_cmpint (r->attempt, ==, 1);
      g_assert_cmpstr (r->job_id, ==, k.victim_job);
      g_assert_nonnull (strstr (r->message, "ended while the task ran"));
    }
  g_assert_cmpuint (failures, ==, 1);
  assert_one_success_each (runs, 4);
  assert_store_verifies (store);

  /* The outputs are those of a run that nothing interrupted. */
  g_autofree char *clean = g_build_filename (dir, "clean", NULL);
  g_autoptr (StrandRun) want = strand_test_run (registry, p, samples, clean, NULL, NULL);
  g_autofree char *dw = digests_of (want);
  g_autofree char *dg = digests_of (run);
  g_assert_cmpstr (dg, ==, dw);
  g_free (k.victim_job);
  g_free (k.victim_file);
}

/* ---- SIGTERM to the host ----------------------------------------------------------- */

static void
test_sigterm_cancels_jobs (void)
{
  if (!cluster_ready ())
    return;
  g_autofree char *dir = strand_test_fresh_dir (tmp, "sigterm");
  g_autofree char *started = g_build_filename (dir, "started", NULL);
  g_autofree char *marker = g_build_filename (dir, "never", NULL);
  g_mkdir_with_parents (started, 0700);
  g_autofree char *a = strand_test_subst (wait_pipeline, "MARKER", marker);
  g_autofree char *json = strand_test_subst (a, "STARTED", started);
  g_autofree char *pipeline = g_build_filename (dir, "p.json", NULL);
  g_assert_true (g_file_set_contents (pipeline, json, -1, NULL));
  g_autofree char *sheet = g_build_filename (dir, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}, {\"id\": \"B\"}]}", -1, NULL));
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *name = job_name ("sigterm");
  const char *argv[] = { STRAND_CLI, "run", pipeline, "--samples", sheet, "-P", STRAND_SX_PLUGIN_DIR,
                         "--store", store, "--executor", "slurm", "--max-workers", "2", "--worker-cores", "1",
                         "--job-name", name, "--grace", "1", NULL };
  GPid pid;
  int out_fd;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                           &pid, NULL, &out_fd, NULL, &error));
  /* A task runs in a worker job. */
  g_autofree char *file = NULL;
  for (int i = 0; i < 1200 && file == NULL; i++)
    {
      g_usleep (100000);
      file = first_file_in (started);
    }
  g_assert_nonnull (file);
  g_autoptr (GPtrArray) running = jobs_named (name, FALSE);
  g_assert_cmpuint (running->len, >=, 1);

  kill (pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 600 && waitpid (pid, &status, WNOHANG) != pid; i++)
    g_usleep (100000);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_autoptr (GIOChannel) ch = g_io_channel_unix_new (out_fd);
  g_io_channel_set_close_on_unref (ch, TRUE);
  g_autofree char *out = NULL;
  g_io_channel_read_to_end (ch, &out, NULL, NULL);
  if (g_test_verbose ())
    g_printerr ("%s", out);
  g_assert_nonnull (strstr (out, " cancelled: "));

  /* No job of the host is left: none pending, none running. */
  g_autoptr (GPtrArray) left = NULL;
  for (int i = 0; i < 100; i++)
    {
      g_clear_pointer (&left, g_ptr_array_unref);
      left = jobs_named (name, FALSE);
      if (left->len == 0)
        break;
      g_usleep (100000);
    }
  g_assert_cmpuint (left->len, ==, 0);
  g_auto (GStrv) f = g_strsplit (file, ".", 3);
  g_assert_cmpint (kill ((pid_t) atoi (f[2]), 0), ==, -1);
  g_autoptr (GPtrArray) all = jobs_named (name, TRUE);
  g_assert_cmpuint (all->len, >=, 1);
}

/* ---- maintenance ------------------------------------------------------------------------- */

typedef struct {
  StrandSlurm *slurm;
  char *name;
  gint64 start_us;
  gint64 end_us;
} Maint;

/* Once a task has run, the node's maintenance is announced: from 20 s on,
 * for 20 s, with the worker job left running through it. */
static void
announce_maintenance (const StrandTaskRecord *record, const StrandRunCounts *c, gpointer data)
{
  Maint *m = data;
  if (m->start_us != 0 || record == NULL)
    return;
  g_autofree char *rname = g_strdup_printf ("reservationname=%s", m->name);
  g_autofree char *nodes = g_strdup_printf ("nodes=%s", node);
  g_autofree char *users = g_strdup_printf ("users=%s", g_get_user_name ());
  const char *argv[] = { "scontrol", "create", "reservation", rname, "starttime=now+20", "endtime=now+40",
                         nodes, "flags=maint,ignore_jobs", users, NULL };
  g_autofree char *err = NULL;
  if (strand_test_spawn_argv (NULL, NULL, argv, NULL, &err) != 0)
    g_error ("scontrol create reservation: %s", err);
  g_autoptr (GPtrArray) resv = strand_slurm_reservations (m->slurm, NULL);
  for (guint i = 0; resv && i < resv->len; i++)
    {
      const StrandSlurmReservation *r = resv->pdata[i];
      if (strcmp (r->name, m->name) == 0)
        {
          m->start_us = r->start_us;
          m->end_us = r->end_us;
        }
    }
  g_assert_cmpint (m->start_us, >, 0);
}

static void
test_maintenance (void)
{
  if (!cluster_ready ())
    return;
  g_autofree char *dir = strand_test_fresh_dir (tmp, "maint");
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"maint\", \"stages\": [{\"id\": \"w\", \"plugin\": \"wait-stage\", \"params\": {\"seconds\": 2}}]}",
      NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (12);
  g_autoptr (StrandInventory) inventory = cluster_inventory ();
  StrandEquipment *cluster = inventory->items->pdata[0];
  g_assert_cmpstr (cluster->slurm_partition, ==, partition);
  g_autoptr (StrandMonitor) monitor = strand_monitor_new (inventory);
  StrandSlurmPool pool = { .id = "cluster", .partition = partition, .equipment = cluster };
  StrandSlurmExecutorOptions extra = { .pools = &pool, .n_pools = 1, .monitor = monitor };
  g_autofree char *name = job_name ("maint");
  g_autoptr (StrandExecutor) x = slurm_executor (dir, name, &extra);
  g_autoptr (StrandSlurm) slurm = strand_slurm_new (g_getenv ("SLURM_CONF"));
  Maint m = { .slurm = slurm, .name = job_name ("maint") };
  StrandRunOptions opt = { .executor = x, .inventory = inventory, .task_timeout_us = 8 * SEC,
                           .progress = announce_maintenance, .user_data = &m };
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, NULL, &opt);
  delete_reservation (m.name);
  g_assert_cmpstr (run->status, ==, "complete");
  g_assert_cmpint (m.start_us, >, 0);

  /* No task ran into the window; some ran before it, some waited for its end. */
  guint before = 0, after = 0;
  for (guint i = 0; i < run->tasks->len; i++)
    {
      StrandTaskRecord *t = run->tasks->pdata[i];
      const StrandTaskResult *r = t->result;
      g_assert_cmpstr (t->equipment, ==, "cluster");
      if (r->end_us > m.start_us && r->start_us < m.end_us)
        g_error ("task %s ran from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ", into the maintenance from %"
                 G_GINT64_FORMAT " to %" G_GINT64_FORMAT, t->sample_id, r->start_us, r->end_us, m.start_us,
                 m.end_us);
      before += r->end_us <= m.start_us;
      after += r->start_us >= m.end_us;
    }
  g_assert_cmpuint (before, >=, 1);
  g_assert_cmpuint (after, >=, 1);

  /* The equipment model has the window, and the monitor saw it. */
  gboolean windowed = FALSE;
  for (guint i = 0; i < cluster->maintenance->len; i++)
    {
      const StrandMaintenance *w = cluster->maintenance->pdata[i];
      windowed |= w->start_us == m.start_us && w->end_us == m.end_us && strstr (w->reason, m.name) != NULL;
    }
  g_assert_true (windowed);
  g_autoptr (GArray) history = strand_monitor_history (monitor, "cluster", strand_clock_now_us ());
  gboolean in_maintenance = FALSE;
  for (guint i = 0; i < history->len; i++)
    in_maintenance |= g_array_index (history, StrandStatusInterval, i).status == STRAND_EQUIPMENT_MAINTENANCE;
  g_assert_true (in_maintenance);
  g_free (m.name);
}

/* ---- a long task: a job of its own ----------------------------------------------------- */

static void
test_own_job (void)
{
  if (!cluster_ready ())
    return;
  g_autofree char *dir = strand_test_fresh_dir (tmp, "own");
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"own\", \"stages\": [{\"id\": \"long\", \"plugin\": \"long-stage\"},"
      " {\"id\": \"short\", \"plugin\": \"wait-stage\"}]}", NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (2);
  g_autofree char *name = job_name ("own");
  StrandSlurmExecutorOptions extra = { .max_workers = 3, .own_job_seconds = 300 };
  g_autoptr (StrandExecutor) x = slurm_executor (dir, name, &extra);
  StrandRunOptions opt = { .executor = x };
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, NULL, &opt);
  g_assert_cmpstr (run->status, ==, "complete");
  g_autoptr (GPtrArray) runs = stage_runs (store);
  g_autoptr (GHashTable) long_jobs = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < runs->len; i++)
    {
      StageRun *r = runs->pdata[i];
      g_assert_true (r->own_job == (strcmp (r->stage, "long") == 0));
      if (r->own_job)
        g_assert_true (g_hash_table_add (long_jobs, r->job_id)); /* one job each */
    }
  for (guint i = 0; i < runs->len; i++)
    {
      StageRun *r = runs->pdata[i];
      if (!r->own_job)
        g_assert_false (g_hash_table_contains (long_jobs, r->job_id));
    }
  g_assert_cmpuint (g_hash_table_size (long_jobs), ==, 2);
}

/* ---- a worker that repeats itself -------------------------------------------------------- */

static void
test_repeated_results (void)
{
  if (!cluster_ready ())
    return;
  g_autofree char *dir = strand_test_fresh_dir (tmp, "echo");
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"echo\", \"stages\": [{\"id\": \"n\", \"plugin\": \"noop-stage\"}]}", NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (3);
  g_autofree char *name = job_name ("echo");
  StrandSlurmExecutorOptions extra = { .worker_program = STRAND_SX_ECHO_WORKER };
  g_autoptr (StrandExecutor) x = slurm_executor (dir, name, &extra);
  StrandRunOptions opt = { .executor = x };
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, NULL, &opt);
  g_assert_cmpstr (run->status, ==, "complete");
  StrandSlurmExecutorStats st;
  strand_executor_slurm_stats (x, &st);
  g_assert_cmpuint (st.tasks_sent, ==, 3);
  /* Tasks run one after the other: the repeats of the first two come
   * before the next result; those of the last may come after the run. */
  g_assert_cmpuint (st.late_results, >=, 4);
  g_assert_cmpuint (st.late_results, <=, 6);
  g_autoptr (GPtrArray) runs = stage_runs (store);
  g_assert_cmpuint (runs->len, ==, 3);
  assert_one_success_each (runs, 3);
}

/* ---- strangers ----------------------------------------------------------------------------- */

/* Runs the executor's side until `pid` ends; its exit status. */
static int
serve_until_exit (StrandExecutor *x, GPid pid)
{
  g_autoptr (GArray) pollfds = g_array_new (FALSE, FALSE, sizeof (struct pollfd));
  g_autoptr (GArray) events = g_array_new (FALSE, FALSE, sizeof (StrandExecutorEvent));
  for (int i = 0; i < 300; i++)
    {
      g_array_set_size (pollfds, 0);
      strand_executor_prepare (x, pollfds);
      poll ((struct pollfd *) pollfds->data, pollfds->len, 100);
      strand_executor_dispatch (x, pollfds, 0, events);
      g_assert_cmpuint (events->len, ==, 0);
      int status;
      if (waitpid (pid, &status, WNOHANG) == pid)
        return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
    }
  g_error ("the probe did not end");
}

static int
probe (StrandExecutor *x, const char *token_file, const char *job)
{
  const char *argv[] = { STRAND_SX_ECHO_WORKER, "probe", strand_executor_slurm_address (x), token_file, NULL };
  g_auto (GStrv) env = g_get_environ ();
  env = job ? g_environ_setenv (env, "SLURM_JOB_ID", job, TRUE) : g_environ_unsetenv (env, "SLURM_JOB_ID");
  env = g_environ_unsetenv (env, "SLURM_ARRAY_JOB_ID");
  GPid pid;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_async (NULL, (char **) argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error));
  return serve_until_exit (x, pid);
}

static void
test_strangers_refused (void)
{
  if (!cluster_ready ())
    return;
  g_autofree char *dir = strand_test_fresh_dir (tmp, "strangers");
  g_autofree char *name = job_name ("strangers");
  g_autoptr (StrandExecutor) x = slurm_executor (dir, name, NULL);
  /* The token stays with its owner. */
  g_autofree char *token = g_build_filename (strand_executor_slurm_dir (x), "token", NULL);
  GStatBuf st;
  g_assert_cmpint (g_stat (token, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_autofree char *script = NULL;
  g_autofree char *script_path = g_build_filename (strand_executor_slurm_dir (x), "worker.sh", NULL);
  g_assert_true (g_file_get_contents (script_path, &script, NULL, NULL));
  g_autofree char *secret = NULL;
  g_assert_true (g_file_get_contents (token, &secret, NULL, NULL));
  g_strchomp (secret);
  g_assert_null (strstr (script, secret));

  /* Another token: refused. */
  g_autofree char *other = g_build_filename (dir, "other-token", NULL);
  g_autofree char *other_secret = strand_pilot_secret_new ();
  g_assert_true (strand_pilot_token_write (other, other_secret, NULL));
  g_assert_cmpint (probe (x, other, "1"), ==, 3);
  /* The token, but not a job of this host: refused too. */
  g_assert_cmpint (probe (x, token, NULL), ==, 3);
  g_assert_cmpint (probe (x, token, "999999"), ==, 3);
  StrandSlurmExecutorStats stats;
  strand_executor_slurm_stats (x, &stats);
  g_assert_cmpuint (stats.workers_connected, ==, 0);
  strand_executor_free (g_steal_pointer (&x));
  g_assert_false (g_file_test (token, G_FILE_TEST_EXISTS));
}

/* ---- compute backed by a partition, in the inventory ---------------------------------- */

static void
test_inventory_slurm_member (void)
{
  const char *good = "{\"equipment\": [{\"id\": \"hpc\", \"class\": \"compute\", "
                     "\"slurm\": {\"partition\": \"long-q\", \"account\": \"lab_01\"}},"
                     " {\"id\": \"box\", \"class\": \"compute\"}]}";
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandInventory) inv = strand_inventory_load_data (good, strlen (good), "inv.json", problems);
  g_assert_cmpuint (problems->len, ==, 0);
  StrandEquipment *hpc = inv->items->pdata[0], *box = inv->items->pdata[1];
  g_assert_cmpstr (hpc->slurm_partition, ==, "long-q");
  g_assert_cmpstr (hpc->slurm_account, ==, "lab_01");
  g_assert_null (box->slurm_partition);
  struct {
    const char *slurm;
    const char *says;
  } bad[] = {
    { "\"long\"", "'slurm' must be an object" },
    { "{}", "'slurm' needs a 'partition'" },
    { "{\"partition\": \"a b\"}", "slurm 'partition' must be a Slurm name" },
    { "{\"partition\": \"p\", \"account\": 7}", "slurm 'account' must be a Slurm name" },
    { "{\"partition\": \"p\", \"qos\": \"high\"}", "'qos' is not a field of 'slurm'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *doc = g_strdup_printf ("{\"equipment\": [{\"id\": \"hpc\", \"class\": \"compute\", "
                                              "\"slurm\": %s}]}", bad[i].slurm);
      g_autoptr (GPtrArray) p = strand_problems_new ();
      g_autoptr (StrandInventory) v = strand_inventory_load_data (doc, strlen (doc), "inv.json", p);
      g_assert_cmpuint (p->len, ==, 1);
      const StrandProblem *pr = p->pdata[0];
      if (strstr (pr->message, bad[i].says) == NULL)
        g_error ("%s: said '%s'", bad[i].slurm, pr->message);
      g_assert_cmpstr (pr->where, ==, "inv.json#/equipment/0");
    }
}

/* ---- what cannot work is said at once -------------------------------------------------- */

static void
test_bad_partition_and_no_cluster (void)
{
  if (!cluster_ready ())
    return;
  g_autofree char *dir = strand_test_fresh_dir (tmp, "bad");
  g_autofree char *pipeline = g_build_filename (dir, "p.json", NULL);
  g_assert_true (g_file_set_contents (pipeline,
      "{\"name\": \"bad\", \"stages\": [{\"id\": \"w\", \"plugin\": \"wait-stage\"}]}", -1, NULL));
  g_autofree char *sheet = g_build_filename (dir, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}]}", -1, NULL));
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *err = NULL;
  const char *argv[] = { STRAND_CLI, "run", pipeline, "--samples", sheet, "-P", STRAND_SX_PLUGIN_DIR, "--store",
                         store, "--executor", "slurm", "--partition", "no-such-partition", NULL };
  g_assert_cmpint (strand_test_spawn_argv (NULL, NULL, argv, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "partition 'no-such-partition' has no nodes"));
  g_autofree char *err2 = NULL;
  const char *bad_exec[] = { STRAND_CLI, "run", pipeline, "--samples", sheet, "-P", STRAND_SX_PLUGIN_DIR,
                             "--store", store, "--executor", "cloud", NULL };
  g_assert_cmpint (strand_test_spawn_argv (NULL, NULL, bad_exec, NULL, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "--executor takes 'local' or 'slurm', not 'cloud'"));
  /* No cluster where SLURM_CONF points. */
  g_autofree char *conf = g_build_filename (dir, "nowhere.conf", NULL);
  const char *argv2[] = { "env", NULL, STRAND_CLI, "run", pipeline, "--samples", sheet, "-P",
                          STRAND_SX_PLUGIN_DIR, "--store", store, "--executor", "slurm", NULL };
  g_autofree char *setting = g_strdup_printf ("SLURM_CONF=%s", conf);
  argv2[1] = setting;
  g_autofree char *err3 = NULL;
  g_assert_cmpint (strand_test_spawn_argv (NULL, NULL, argv2, NULL, &err3), ==, 1);
  g_assert_nonnull (strstr (err3, "no Slurm configuration at"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);
  tmp = g_dir_make_tmp ("strand-sx-XXXXXX", NULL);
  g_chmod (tmp, 0755);
  registry = strand_test_registry (STRAND_PLUGIN_BUILD_DIR, STRAND_EXEC_PLUGIN_DIR, STRAND_SX_PLUGIN_DIR, NULL);
  if (g_getenv ("SLURM_CONF") != NULL)
    remove_leftovers ();
  g_test_add_func ("/slurm-exec/demo-digests", test_demo_digests);
  g_test_add_func ("/slurm-exec/lambda-digests", test_lambda_digests);
  g_test_add_func ("/slurm-exec/many-samples", test_many_samples);
  g_test_add_func ("/slurm-exec/scancel-mid-task", test_scancel_mid_task);
  g_test_add_func ("/slurm-exec/sigterm-cancels-jobs", test_sigterm_cancels_jobs);
  g_test_add_func ("/slurm-exec/maintenance", test_maintenance);
  g_test_add_func ("/slurm-exec/own-job", test_own_job);
  g_test_add_func ("/slurm-exec/repeated-results", test_repeated_results);
  g_test_add_func ("/slurm-exec/strangers-refused", test_strangers_refused);
  g_test_add_func ("/slurm-exec/bad-partition-and-no-cluster", test_bad_partition_and_no_cluster);
  g_test_add_func ("/slurm-exec/inventory-slurm-member", test_inventory_slurm_member);
  int rc = g_test_run ();
  strand_registry_free (registry);
  strand_test_remove_tree (tmp);
  g_free (tmp);
  g_free (node);
  g_free (partition);
  return rc;
}
