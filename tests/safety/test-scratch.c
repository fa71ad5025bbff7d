/* Scratch space from the operator's side: a task that writes past what it
 * declared is stopped while it runs (its tools too) and fails as a resource
 * with what it wrote against its limit, while the tasks beside it finish;
 * one that keeps within is untouched; a retry-escalate rule raises the
 * limit for the next attempt; a disk that fills is still storage. */
#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "plugin-info.h"
#include "runner.h"
#include "test-run.h"
#include "test-util.h"
#include "validator.h"
#include "worker-scratch.h"

static char *tmp;
static StrandRegistry *registry;

/* Runs `json` on samples S1 and S2 with a store of its own. */
static StrandRun *
run_pipeline (const char *json, gint64 timeout_us)
{
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, json, NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (2);
  g_autofree char *store = strand_test_fresh_dir (tmp, "store");
  StrandRunOptions opt = { .task_timeout_us = timeout_us };
  return strand_test_run (registry, p, samples, store, NULL, &opt);
}

static const char *
message_of (StrandTaskRecord *t)
{
  return t->result && t->result->message ? t->result->message : "";
}

static void
assert_contains (const char *text, const char *part)
{
  if (strstr (text, part) == NULL)
    g_error ("'%s' is not in: %s", part, text);
}

/* The watch may stop a task at any point past its limit: what it says it
 * wrote is past the limit and at most what the task meant to write. */
static void
assert_overrun (const char *message, guint64 limit, guint64 at_most)
{
  const char *prefix = "scratch space exceeded: the task wrote ";
  assert_contains (message, prefix);
  const char *open = strchr (strstr (message, prefix), '(');
  g_assert_nonnull (open);
  guint64 wrote = g_ascii_strtoull (open + 1, NULL, 10);
  g_assert_cmpuint (wrote, >, limit);
  g_assert_cmpuint (wrote, <=, at_most);
  g_autofree char *against = g_strdup_printf (" bytes) under its scratch and outputs folders against "
                                              "its limit of %.1f MiB (%" G_GUINT64_FORMAT " bytes: ",
                                              (double) limit / (1 << 20), limit);
  assert_contains (message, against);
}

/* ---- measuring ------------------------------------------------------------------ */

static void
write_kib (const char *path, guint kib)
{
  g_autofree char *bytes = g_malloc (kib * 1024u);
  memset (bytes, 'x', kib * 1024u);
  g_assert_true (g_file_set_contents (path, bytes, kib * 1024u, NULL));
}

/* What counts is what files take under scratch/ and outputs/: sparse holes
 * are free, two names of one file count it once, inputs and the log are
 * not the task's scratch. */
static void
test_usage (void)
{
  g_autofree char *work = strand_test_fresh_dir (tmp, "usage");
  g_autofree char *scratch = g_build_filename (work, "scratch", NULL);
  g_autofree char *outputs = g_build_filename (work, "outputs", "out", NULL);
  g_autofree char *inputs = g_build_filename (work, "inputs", NULL);
  g_mkdir_with_parents (scratch, 0700);
  g_mkdir_with_parents (outputs, 0700);
  g_mkdir_with_parents (inputs, 0700);
  g_assert_cmpuint (strand_scratch_usage (work), <, 64 * 1024);

  g_autofree char *a = g_build_filename (scratch, "a.bin", NULL);
  g_autofree char *a2 = g_build_filename (outputs, "a-again.bin", NULL);
  g_autofree char *b = g_build_filename (outputs, "b.bin", NULL);
  write_kib (a, 512);
  g_assert_cmpint (link (a, a2), ==, 0);
  write_kib (b, 256);
  g_autofree char *sparse = g_build_filename (scratch, "sparse.bin", NULL);
  int fd = open (sparse, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  g_assert_cmpint (ftruncate (fd, 1 << 30), ==, 0);
  close (fd);
  g_autofree char *input = g_build_filename (inputs, "in.bin", NULL);
  write_kib (input, 1024);
  g_autofree char *log = g_build_filename (work, "task.log", NULL);
  write_kib (log, 1024);

  guint64 used = strand_scratch_usage (work);
  g_assert_cmpuint (used, >=, 768 * 1024);
  g_assert_cmpuint (used, <, 900 * 1024);
  g_assert_cmpuint (strand_scratch_usage ("/no/such/folder"), ==, 0);
}

/* The limit: declared scratch and outputs, a tenth more and 1 MiB; none
 * when no scratch is declared. */
static void
test_limit (void)
{
  const StrandPluginInfo *plugin = strand_registry_lookup (registry, "scratch-stage", NULL);
  g_assert_nonnull (plugin);
  g_autoptr (StrandTaskSpec) spec = strand_task_spec_new (plugin, "S1/s");
  spec->scratch_bytes = 10u << 20;
  g_assert_cmpuint (strand_scratch_limit (spec), ==, (10u << 20) + (1u << 20) + (1u << 20));
  spec->scratch_bytes = 0;
  g_assert_cmpuint (strand_scratch_limit (spec), ==, 0);
}

/* ---- running ---------------------------------------------------------------------- */

/* 1.5 MiB against a limit of 2.1, watched for half a second: untouched. */
static void
test_within_limit (void)
{
  g_autoptr (StrandRun) run = run_pipeline (
      "{\"name\": \"within\", \"stages\": [{\"id\": \"w\", \"plugin\": \"scratch-stage\","
      " \"params\": {\"kib\": 1536, \"linger\": 0.5}}]}", 0);
  g_assert_cmpstr (run->status, ==, "complete");
  StrandTaskRecord *t = strand_test_task (run, "S1", "w");
  g_assert_cmpstr (t->status, ==, "ok");
  g_assert_cmpint (t->attempts, ==, 1);
  g_assert_cmpuint (t->result->outputs->len, ==, 1);
}

/* 4 MiB of outputs, then an hour of waiting: the watch stops it long before
 * its time limit would, as a resource, naming what it wrote and its limit;
 * the stage beside it on the same samples finishes. */
static void
test_stopped_while_running (void)
{
  gint64 started = g_get_monotonic_time ();
  g_autoptr (StrandRun) run = run_pipeline (
      "{\"name\": \"over\", \"stages\": ["
      " {\"id\": \"big\", \"plugin\": \"scratch-stage\","
      "  \"params\": {\"kib\": 4096, \"where\": \"outputs\", \"linger\": 3600},"
      "  \"policy\": [{\"on\": \"resource\", \"action\": \"continue\"}]},"
      " {\"id\": \"small\", \"plugin\": \"scratch-stage\", \"params\": {\"kib\": 64}}]}",
      120 * G_USEC_PER_SEC);
  for (const char *const *s = (const char *const[]){ "S1", "S2", NULL }; *s; s++)
    {
      StrandTaskRecord *big = strand_test_task (run, *s, "big");
      g_assert_cmpstr (big->status, ==, "failed");
      g_assert_cmpstr (strand_error_class_name (big->result->error_class), ==, "resource");
      assert_overrun (message_of (big), 2202009, (4096 + 64) * 1024);
      assert_contains (message_of (big), "1.0 MiB of scratch and 0 bytes of outputs declared, "
                                         "and a margin of a tenth and 1 MiB");
      g_assert_cmpint (big->attempts, ==, 1);
      StrandTaskRecord *small = strand_test_task (run, *s, "small");
      g_assert_cmpstr (small->status, ==, "ok");
    }
  g_test_message ("stopped after %.1f s", (double) (g_get_monotonic_time () - started) / 1e6);
}

/* Every process whose command line names `path`, for the test to find
 * stray tools; each is killed (by its own id) so a failure leaves none. */
static guint
processes_naming (const char *path)
{
  guint found = 0;
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  while (proc && (name = g_dir_read_name (proc)) != NULL)
    {
      if (!g_ascii_isdigit (name[0]))
        continue;
      g_autofree char *file = g_build_filename ("/proc", name, "cmdline", NULL);
      g_autofree char *cmdline = NULL;
      gsize len = 0;
      if (!g_file_get_contents (file, &cmdline, &len, NULL))
        continue;
      for (gsize i = 0; i + 1 < len; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      if (strstr (cmdline, path) != NULL)
        {
          g_test_message ("left running: %s %s", name, cmdline);
          kill ((pid_t) g_ascii_strtoll (name, NULL, 10), SIGKILL);
          found++;
        }
    }
  return found;
}

/* The bytes come from a tool (dd), and another (tail -f) holds the task
 * open: the watch stops the tools with the stage. */
static void
test_tools_stopped (void)
{
  g_autoptr (StrandRun) run = run_pipeline (
      "{\"name\": \"tools\", \"stages\": [{\"id\": \"t\", \"plugin\": \"scratch-stage\","
      " \"params\": {\"kib\": 4096, \"tool\": true},"
      " \"policy\": [{\"on\": \"resource\", \"action\": \"fail-sample\"}]}]}",
      60 * G_USEC_PER_SEC);
  StrandTaskRecord *t = strand_test_task (run, "S1", "t");
  g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, "resource");
  assert_overrun (message_of (t), 2202009, (4096 + 64) * 1024);
  g_assert_cmpuint (processes_naming (run->run_dir), ==, 0);
}

/* 2.5 MiB: past the first attempt's 2.1 MiB, within the 3.2 MiB of the
 * second, whose scratch the rule doubled. */
static void
test_escalation (void)
{
  g_autoptr (StrandRun) run = run_pipeline (
      "{\"name\": \"escalate\", \"stages\": [{\"id\": \"e\", \"plugin\": \"scratch-stage\","
      " \"params\": {\"kib\": 2560},"
      " \"policy\": [{\"on\": \"resource\", \"action\": \"retry-escalate\", \"max_attempts\": 3,"
      "              \"escalate_factor\": 2}]}]}", 0);
  g_assert_cmpstr (run->status, ==, "complete");
  StrandTaskRecord *t = strand_test_task (run, "S1", "e");
  g_assert_cmpstr (t->status, ==, "ok");
  g_assert_cmpint (t->attempts, ==, 2);
  g_assert_cmpuint (t->decisions->len, ==, 1);
  assert_contains (t->decisions->pdata[0], "retry-escalate: resource after scratch space exceeded");
  assert_overrun (t->decisions->pdata[0], 2202009, (2560 + 64) * 1024);
}

/* A disk that fills under a task within its limit is storage, not its
 * scratch limit. */
static void
test_disk_full (void)
{
  g_autoptr (StrandRun) run = run_pipeline (
      "{\"name\": \"full\", \"stages\": [{\"id\": \"f\", \"plugin\": \"scratch-stage\","
      " \"params\": {\"kib\": 512, \"full\": true},"
      " \"policy\": [{\"on\": \"storage\", \"action\": \"fail-sample\"}]}]}", 0);
  StrandTaskRecord *t = strand_test_task (run, "S1", "f");
  g_assert_cmpstr (t->status, ==, "failed");
  g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, "storage");
  assert_contains (message_of (t), "No space left on device");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-scratch-XXXXXX", NULL);
  registry = strand_test_registry (STRAND_SAFETY_PLUGIN_DIR, NULL);
  g_test_add_func ("/scratch/usage", test_usage);
  g_test_add_func ("/scratch/limit", test_limit);
  g_test_add_func ("/scratch/within-limit", test_within_limit);
  g_test_add_func ("/scratch/stopped-while-running", test_stopped_while_running);
  g_test_add_func ("/scratch/tools-stopped", test_tools_stopped);
  g_test_add_func ("/scratch/escalation", test_escalation);
  g_test_add_func ("/scratch/disk-full", test_disk_full);
  int rc = g_test_run ();
  strand_registry_free (registry);
  strand_test_remove_tree (tmp);
  g_free (tmp);
  return rc;
}
