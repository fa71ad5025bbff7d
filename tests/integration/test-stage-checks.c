/* The stages' own validate callbacks, called by the host before a run:
 * what they report becomes a validation problem at the stage (and sample),
 * and one that crashes, exits, hangs or grabs memory is a problem naming
 * the stage and plugin, never the host's end. `strand validate` prints
 * them and `strand run` starts nothing; basecall's index collisions are
 * caught that way, before any task runs. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "test-run.h"
#include "test-util.h"
#include "validator.h"

static StrandRegistry *registry;

typedef struct {
  char *dir;
  GPtrArray *problems;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-stage-checks-XXXXXX", NULL);
  f->problems = strand_problems_new ();
}

static void
teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_ptr_array_unref (f->problems);
}

/* One stage of validate-stage fed by the samples' "in" files, with `params`
 * (JSON members, may be ""); `after` adds a second one fed by the first. */
static char *
checks_pipeline (Fixture *f, const char *params, gboolean after)
{
  g_autofree char *text = g_strdup_printf (
      "{\"name\": \"checks\", \"inputs\": [{\"name\": \"in\", \"formats\": \"any\"}],"
      " \"stages\": [{\"id\": \"checks\", \"plugin\": \"validate-stage\", \"params\": {%s}}%s],"
      " \"edges\": [{\"from\": \"@in\", \"to\": \"checks.in\"}%s],"
      " \"outputs\": [\"%s.out\"]}",
      params, after ? ", {\"id\": \"after\", \"plugin\": \"validate-stage\"}" : "",
      after ? ", {\"from\": \"checks.out\", \"to\": \"after.in\"}" : "", after ? "after" : "checks");
  return strand_test_write (f->dir, "p.json", text);
}

/* A sample sheet giving each of `ids` the file in.fq. */
static char *
sheet (Fixture *f, const char *const *ids)
{
  g_autofree char *in = strand_test_write (f->dir, "in.fq", "@r1\nACGT\n+\nIIII\n");
  g_autoptr (GString) text = g_string_new ("sample_id\tinput\tpath\n");
  for (; *ids; ids++)
    g_string_append_printf (text, "%s\tin\tin.fq\n", *ids);
  return strand_test_write (f->dir, "samples.tsv", text->str);
}

/* Validates as `strand validate` does, file checks aside. */
static void
validate (Fixture *f, const char *pipeline_path, const char *sheet_path, gint64 timeout_us)
{
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (pipeline_path, f->problems);
  g_autoptr (GPtrArray) samples = strand_samples_load (sheet_path, f->problems);
  g_assert_nonnull (pipeline);
  g_assert_nonnull (samples);
  StrandValidateOptions options = { .skip_data = TRUE, .stage_timeout_us = timeout_us };
  strand_validate (pipeline, registry, samples, NULL, &options, f->problems);
  for (guint i = 0; i < f->problems->len; i++)
    {
      StrandProblem *p = f->problems->pdata[i];
      g_test_message ("%s: %s [%s]", p->where, p->message, p->code);
    }
}

/* The problems must be exactly these "code where: message" lines (where
 * relative to the test folder), in this order. */
static void
expect (Fixture *f, const char *const *expected)
{
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < f->problems->len; i++)
    {
      StrandProblem *p = f->problems->pdata[i];
      const char *where = p->where;
      if (g_str_has_prefix (where, f->dir))
        where += strlen (f->dir) + 1;
      g_ptr_array_add (got, g_strdup_printf ("%s %s: %s", p->code, where, p->message));
    }
  g_ptr_array_add (got, NULL);
  g_autofree char *all = g_strjoinv ("\n", (char **) got->pdata);
  g_autofree char *want = g_strjoinv ("\n", (char **) expected);
  g_assert_cmpstr (all, ==, want);
}

/* The problem with `code`; there must be one. */
static const StrandProblem *
problem (Fixture *f, const char *code)
{
  for (guint i = 0; i < f->problems->len; i++)
    if (strcmp (((StrandProblem *) f->problems->pdata[i])->code, code) == 0)
      return f->problems->pdata[i];
  g_error ("no problem %s", code);
}

/* ---- through the library --------------------------------------------------------------- */

static void
test_reported (Fixture *f, gconstpointer data)
{
  g_autofree char *p = checks_pipeline (f, "", TRUE);
  g_autofree char *s = sheet (f, (const char *[]){ "fine", "twice", "silent", "inputs", NULL });
  validate (f, p, s, 0);
  /* Upstream outputs do not exist yet: the second stage sees no input. */
  expect (f, (const char *[]){
    "stage-validate p.json#/stages/0: stage 'checks', sample 'twice': first problem of 'twice'",
    "stage-validate p.json#/stages/0: stage 'checks', sample 'twice': second problem of 'twice'",
    "stage-validate p.json#/stages/0: stage 'checks', sample 'silent': the validate callback of "
    "plugin validate-stage 1.0.0 refused the task (status -2) without saying why",
    "stage-validate p.json#/stages/0: stage 'checks', sample 'inputs': 1 input(s) on 'in', "
    "the first in.fq",
    "stage-validate p.json#/stages/1: stage 'after', sample 'twice': first problem of 'twice'",
    "stage-validate p.json#/stages/1: stage 'after', sample 'twice': second problem of 'twice'",
    "stage-validate p.json#/stages/1: stage 'after', sample 'silent': the validate callback of "
    "plugin validate-stage 1.0.0 refused the task (status -2) without saying why",
    "stage-validate p.json#/stages/1: stage 'after', sample 'inputs': 0 input(s) on 'in', "
    "the first none",
    NULL });
}

/* The same problem of every sample is one problem naming them. */
static void
test_same_for_every_sample (Fixture *f, gconstpointer data)
{
  g_autofree char *p = checks_pipeline (f, "\"mode\": \"refuse\"", FALSE);
  g_autofree char *s = sheet (f, (const char *[]){ "A", "B", "C", "D", "E", NULL });
  validate (f, p, s, 0);
  expect (f, (const char *[]){
    "stage-validate p.json#/stages/0: stage 'checks', samples 'A', 'B', 'C' and 2 more: "
    "mode 'refuse' refuses every task",
    NULL });
}

/* A per-run stage is checked once, seeing every sample of the run. */
static void
test_per_run (Fixture *f, gconstpointer data)
{
  g_autofree char *p = strand_test_write (f->dir, "p.json",
      "{\"name\": \"run\", \"stages\": [{\"id\": \"lane\", \"plugin\": \"validate-run-stage\"}],"
      " \"outputs\": [\"lane.out\"]}");
  g_autofree char *s = strand_test_write (f->dir, "samples.tsv", "sample_id\tbarcode\nA\tACGT\nB\t\nC\t\n");
  validate (f, p, s, 0);
  expect (f, (const char *[]){
    "stage-validate p.json#/stages/0: stage 'lane': sample 'B' has no barcode",
    "stage-validate p.json#/stages/0: stage 'lane': sample 'C' has no barcode",
    NULL });
}

/* A crash is the problem of its sample; the samples after it are still
 * checked, in a new worker. */
static void
test_crash (Fixture *f, gconstpointer data)
{
  g_autofree char *p = checks_pipeline (f, "", FALSE);
  g_autofree char *s = sheet (f, (const char *[]){ "fine", "crash", "exit", "twice", NULL });
  validate (f, p, s, 0);
  g_assert_cmpuint (f->problems->len, ==, 4);
  const StrandProblem *crash = f->problems->pdata[0];
  g_assert_cmpstr (crash->code, ==, "stage-validate-crashed");
  g_assert_true (g_str_has_suffix (crash->where, "p.json#/stages/0"));
  /* SIGSEGV, or SIGABRT where a sanitizer catches it first. */
  g_assert_true (g_str_has_prefix (crash->message, "stage 'checks', sample 'crash': the validate "
                                   "callback of plugin validate-stage 1.0.0 crashed (signal "));
  const StrandProblem *exited = f->problems->pdata[1];
  g_assert_cmpstr (exited->code, ==, "stage-validate-crashed");
  g_assert_cmpstr (exited->message, ==, "stage 'checks', sample 'exit': the validate callback of "
                   "plugin validate-stage 1.0.0 ended its worker (exit status 3)");
  g_assert_cmpstr (((StrandProblem *) f->problems->pdata[2])->message, ==,
                   "stage 'checks', sample 'twice': first problem of 'twice'");
  g_assert_cmpstr (((StrandProblem *) f->problems->pdata[3])->message, ==,
                   "stage 'checks', sample 'twice': second problem of 'twice'");
}

/* A plugin that crashes on every task is given up after a few. */
static void
test_crash_everywhere (Fixture *f, gconstpointer data)
{
  /* One plugin for four stages: one batch of four checks. */
  g_autofree char *many = strand_test_write (f->dir, "many.json",
      "{\"name\": \"many\", \"inputs\": [{\"name\": \"in\", \"formats\": \"any\"}],"
      " \"stages\": [{\"id\": \"a\", \"plugin\": \"validate-stage\"},"
      "              {\"id\": \"b\", \"plugin\": \"validate-stage\"},"
      "              {\"id\": \"c\", \"plugin\": \"validate-stage\"},"
      "              {\"id\": \"d\", \"plugin\": \"validate-stage\"}],"
      " \"edges\": [{\"from\": \"@in\", \"to\": \"a.in\"}, {\"from\": \"@in\", \"to\": \"b.in\"},"
      "            {\"from\": \"@in\", \"to\": \"c.in\"}, {\"from\": \"@in\", \"to\": \"d.in\"}],"
      " \"outputs\": [\"a.out\", \"b.out\", \"c.out\", \"d.out\"]}");
  g_autofree char *crash_only = sheet (f, (const char *[]){ "crash", NULL });
  validate (f, many, crash_only, 0);
  g_assert_cmpuint (f->problems->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (((StrandProblem *) f->problems->pdata[i])->code, ==, "stage-validate-crashed");
  const StrandProblem *last = f->problems->pdata[3];
  g_assert_cmpstr (last->code, ==, "stage-validate-crashed");
  g_assert_true (g_str_has_suffix (last->where, "many.json#/stages/3"));
  g_assert_cmpstr (last->message, ==, "stage 'd': plugin validate-stage 1.0.0 crashed 3 times "
                   "while checking; its 1 other check was not run");
}

/* A callback that does not return is stopped at the time limit; the
 * plugin's other checks are not run, other plugins' are. */
static void
test_hang (Fixture *f, gconstpointer data)
{
  g_autofree char *in = strand_test_write (f->dir, "in.fq", "@r1\nACGT\n+\nIIII\n");
  g_autofree char *p = strand_test_write (f->dir, "p.json",
      "{\"name\": \"hang\", \"inputs\": [{\"name\": \"in\", \"formats\": \"any\"}],"
      " \"stages\": [{\"id\": \"checks\", \"plugin\": \"validate-stage\"},"
      "              {\"id\": \"lane\", \"plugin\": \"validate-run-stage\"}],"
      " \"edges\": [{\"from\": \"@in\", \"to\": \"checks.in\"}],"
      " \"outputs\": [\"checks.out\", \"lane.out\"]}");
  g_autofree char *s = strand_test_write (f->dir, "samples.tsv", "sample_id\tinput\tpath\n"
                                                                 "hang\tin\tin.fq\ntwice\tin\tin.fq\n");
  validate (f, p, s, G_USEC_PER_SEC / 2);
  expect (f, (const char *[]){
    "stage-validate-timeout p.json#/stages/0: stage 'checks', sample 'hang': the validate "
    "callback of plugin validate-stage 1.0.0 did not return within 0.5 s and was stopped; "
    "its 1 other check was not run",
    "stage-validate p.json#/stages/1: stage 'lane': sample 'hang' has no barcode",
    "stage-validate p.json#/stages/1: stage 'lane': sample 'twice' has no barcode",
    NULL });
}

/* A callback's address space is bounded: allocating without end fails. */
static void
test_greedy (Fixture *f, gconstpointer data)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("AddressSanitizer reserves terabytes: no address-space limit");
  return;
#endif
  g_autofree char *p = checks_pipeline (f, "", FALSE);
  g_autofree char *s = sheet (f, (const char *[]){ "greedy", NULL });
  validate (f, p, s, 0);
  const StrandProblem *greedy = problem (f, "stage-validate");
  guint64 mib = 0;
  g_assert_cmpint (sscanf (greedy->message, "stage 'checks', sample 'greedy': allocated %"
                           G_GUINT64_FORMAT " MiB", &mib), ==, 1);
  g_assert_cmpuint (mib, <, 2048);
}

/* Nothing is asked of plugins without samples to plan a run for, nor when
 * the pipeline does not resolve. */
static void
test_not_asked (Fixture *f, gconstpointer data)
{
  g_autofree char *p = checks_pipeline (f, "\"mode\": \"refuse\"", FALSE);
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (p, f->problems);
  strand_validate (pipeline, registry, NULL, NULL, NULL, f->problems);
  g_assert_cmpuint (f->problems->len, ==, 0);

  g_autofree char *bad = checks_pipeline (f, "\"mode\": \"refuse\", \"nonsense\": 1", FALSE);
  g_autofree char *s = sheet (f, (const char *[]){ "A", NULL });
  validate (f, bad, s, 0);
  g_assert_cmpuint (f->problems->len, ==, 1);
  g_assert_cmpstr (((StrandProblem *) f->problems->pdata[0])->code, ==, "unknown-param");
}

/* ---- through the command --------------------------------------------------------------- */

static int
strand (Fixture *f, char **envp, char **out, const char *command, const char *pipeline,
        const char *samples, const char *store)
{
  g_autofree char *err = NULL, *o = NULL;
  int status = strand_test_spawn (f->dir, envp, &o, &err, STRAND_CLI, command, pipeline,
                                  "--samples", samples, "-P", STRAND_PLUGIN_BUILD_DIR, "-P",
                                  STRAND_TEST_PLUGIN_DIR,
                                  store ? "--store" : (strcmp (command, "validate") == 0 ? "--no-data" : NULL),
                                  store, NULL);
  *out = g_strconcat (o, err, NULL);
  return status;
}

/* Colliding indices within basecall's tolerance (one mismatch): the
 * samples' metadata, checked before the sequencer has made a run folder. */
static char *
collision_pipeline (Fixture *f)
{
  g_autofree char *ref = strand_test_write (f->dir, "ref.fa",
                                            ">chr1\nACGTACGTTTGACCAGTACCAGGATTACAGGACCATTAGACAGATTACA\n");
  g_autofree char *text = g_strdup_printf (
      "{\"name\": \"sequencing\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"fasta\", \"per_run\": true,"
      "               \"path\": \"%s\"}],"
      " \"stages\": [{\"id\": \"sequencer\", \"plugin\": \"simulate-run\"},"
      "              {\"id\": \"demux\", \"plugin\": \"basecall\"}],"
      " \"edges\": [{\"from\": \"@reference\", \"to\": \"sequencer.reference\"},"
      "             {\"from\": \"sequencer.run\", \"to\": \"demux.run\"}],"
      " \"outputs\": [\"demux.read1\", \"demux.read2\", \"demux.stats\", \"demux.undetermined\","
      "               \"sequencer.truth\", \"sequencer.truth_index\", \"sequencer.read_truth\"]}",
      ref);
  return strand_test_write (f->dir, "seq.json", text);
}

static void
test_command_collision (Fixture *f, gconstpointer data)
{
  g_autofree char *p = collision_pipeline (f);
  g_autofree char *s = strand_test_write (f->dir, "collide.tsv", "sample_id\tindex\tindex2\n"
                                                                 "S1\tACGTACGT\tTTGGCCAA\n"
                                                                 "S2\tACGTACGA\tTTGGCCAT\n");
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (f, NULL, &out, "validate", p, s, NULL), ==, 1);
  g_assert_nonnull (strstr (out, "seq.json#/stages/1: stage 'demux': index collision: samples 'S1' "));
  g_assert_nonnull (strstr (out, "differ in 1 i7 and 1 i5 positions"));
  g_assert_nonnull (strstr (out, "[stage-validate]\n"));
  g_assert_true (g_str_has_suffix (out, "seq.json: invalid: 1 error\n"));

  /* strand run refuses before anything starts: no store, no records. */
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *run_out = NULL;
  g_assert_cmpint (strand (f, NULL, &run_out, "run", p, s, store), ==, 1);
  g_assert_nonnull (strstr (run_out, "index collision: samples 'S1' "));
  g_assert_nonnull (strstr (run_out, "1 problem found; nothing was run"));
  g_assert_false (g_file_test (store, G_FILE_TEST_EXISTS));

  /* Distinct indices validate clean. */
  g_autofree char *fine = strand_test_write (f->dir, "fine.tsv", "sample_id\tindex\tindex2\n"
                                                                 "S1\tACGTACGT\tTTGGCCAA\n"
                                                                 "S2\tTGCATGCA\tAACCGGTT\n");
  g_autofree char *fine_out = NULL;
  g_assert_cmpint (strand (f, NULL, &fine_out, "validate", p, fine, NULL), ==, 0);
  g_assert_true (g_str_has_suffix (fine_out, "seq.json: valid\n"));
}

/* A crash and a hang in plugin code, with workers from the worker
 * program and forked from the host: `strand` reports them and exits 1. */
static void
test_command_crash (Fixture *f, gconstpointer data)
{
  g_autofree char *p = checks_pipeline (f, "", FALSE);
  g_autofree char *s = sheet (f, (const char *[]){ "crash", "twice", NULL });
  g_auto (GStrv) forked = g_environ_setenv (g_get_environ (), "STRAND_WORKER", "", TRUE);
  char **envs[] = { NULL, forked };
  for (guint i = 0; i < G_N_ELEMENTS (envs); i++)
    {
      g_autofree char *out = NULL;
      g_assert_cmpint (strand (f, envs[i], &out, "validate", p, s, NULL), ==, 1);
      g_assert_nonnull (strstr (out, "p.json#/stages/0: stage 'checks', sample 'crash': the "
                                     "validate callback of plugin validate-stage 1.0.0 crashed"));
      g_assert_nonnull (strstr (out, "second problem of 'twice' [stage-validate]\n"));
      g_assert_true (g_str_has_suffix (out, "p.json: invalid: 3 errors\n"));
    }

  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *run_out = NULL;
  g_assert_cmpint (strand (f, NULL, &run_out, "run", p, s, store), ==, 1);
  g_assert_nonnull (strstr (run_out, "3 problems found; nothing was run"));
  g_assert_false (g_file_test (store, G_FILE_TEST_EXISTS));

  /* The plugin's checks pass: the run goes ahead. */
  g_autofree char *good = sheet (f, (const char *[]){ "S1", "S2", NULL });
  g_autofree char *good_out = NULL;
  g_assert_cmpint (strand (f, NULL, &good_out, "run", p, good, store), ==, 0);
}

/* A pipeline whose plugins have no validate callback starts no worker for
 * validation: with no worker program to start, it still validates. */
static void
test_command_no_callbacks (Fixture *f, gconstpointer data)
{
  g_autofree char *in = strand_test_write (f->dir, "in.fq", "@r1\nACGT\n+\nIIII\n");
  g_autofree char *p = strand_test_write (f->dir, "plain.json",
      "{\"name\": \"plain\", \"inputs\": [{\"name\": \"in\", \"formats\": \"any\"}],"
      " \"stages\": [{\"id\": \"copy\", \"plugin\": \"crash-stage\"}],"
      " \"edges\": [{\"from\": \"@in\", \"to\": \"copy.in\"}], \"outputs\": [\"copy.out\"]}");
  g_autofree char *s = sheet (f, (const char *[]){ "S1", NULL });
  g_autofree char *missing = g_build_filename (f->dir, "no-worker-here", NULL);
  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "STRAND_WORKER", missing, TRUE);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (f, env, &out, "validate", p, s, NULL), ==, 0);
  g_assert_true (g_str_has_suffix (out, "plain.json: valid\n"));

  /* The same environment with a validate callback to call. */
  g_autofree char *checked = checks_pipeline (f, "", FALSE);
  g_autofree char *out2 = NULL;
  g_assert_cmpint (strand (f, env, &out2, "validate", checked, s, NULL), ==, 1);
  g_assert_nonnull (strstr (out2, "plugin validate-stage 1.0.0 could not be checked: "));
  g_assert_nonnull (strstr (out2, "[stage-validate-failed]\n"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  registry = strand_test_registry (STRAND_PLUGIN_BUILD_DIR, STRAND_TEST_PLUGIN_DIR, NULL);
  g_assert_cmpuint (strand_registry_problems (registry)->len, ==, 0);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/stage-checks/reported", test_reported);
  ADD ("/stage-checks/same-for-every-sample", test_same_for_every_sample);
  ADD ("/stage-checks/per-run", test_per_run);
  ADD ("/stage-checks/crash", test_crash);
  ADD ("/stage-checks/crash-everywhere", test_crash_everywhere);
  ADD ("/stage-checks/hang", test_hang);
  ADD ("/stage-checks/greedy", test_greedy);
  ADD ("/stage-checks/not-asked", test_not_asked);
  ADD ("/stage-checks/command/collision", test_command_collision);
  ADD ("/stage-checks/command/crash", test_command_crash);
  ADD ("/stage-checks/command/no-callbacks", test_command_no_callbacks);
  int rc = g_test_run ();
  strand_registry_free (registry);
  return rc;
}
