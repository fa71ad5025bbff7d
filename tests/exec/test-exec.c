/* The executor from the operator's side: what a failure of each class does
 * to a run of each shipped plugin (attempts, escalated limits, quarantine,
 * the other samples untouched), that a host killed at any record resumes to
 * the same outputs with a store that verifies, that a hundred samples run
 * at once, that a cancelled run resumes, and that a recorded run reproduces
 * (and a stage that is not deterministic is reported, not hidden). */
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "faults.h"
#include "policy.h"
#include "runner-cache.h"
#include "runner.h"
#include "test-run.h"
#include "test-util.h"
#include "validator.h"

static char *tmp;
static StrandRegistry *registry;

/* ---- faults, policies, classification, task JSON ---------------------------- */

static void
test_faults_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandFaults) f = strand_faults_parse (
      "seed=7; fail:stage=qc,class=transient,attempt=1\n# a comment\n"
      "crash:stage=merge,signal=ABRT,p=0.5; hang:stage=x;corrupt:stage=lane1,bytes=3\n"
      "enospc:bytes=100;equipment-down:id=seq1,at=+5;kill-host:record=4", "spec", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strand_faults_rules (f)->len, ==, 7);
  g_assert_cmpuint (strand_faults_seed (f), ==, 7);
  const StrandFault *hit = strand_faults_for_task (f, "qc", "S1", 1);
  g_assert_nonnull (hit);
  g_assert_cmpint (hit->kind, ==, STRAND_FAULT_FAIL);
  g_assert_cmpint (hit->error_class, ==, STRAND_ERROR_TRANSIENT);
  g_assert_null (strand_faults_for_task (f, "qc", "S1", 2));
  g_assert_cmpuint (strand_faults_kill_host_record (f), ==, 4);
  g_assert_cmpuint (strand_faults_enospc_after (f), ==, 100);
  g_assert_cmpuint (strand_faults_corrupt_bytes (f, "lane1", "S9", 3), ==, 3);
  strand_faults_start (f, 1000000);
  g_assert_false (strand_faults_equipment_down (f, "seq1", 1000000 + 4 * G_USEC_PER_SEC));
  g_assert_true (strand_faults_equipment_down (f, "seq1", 1000000 + 5 * G_USEC_PER_SEC));
  /* p=0.5: the same draw every time, about half of the tasks. */
  guint hits = 0;
  for (guint i = 0; i < 400; i++)
    {
      g_autofree char *sample = g_strdup_printf ("S%u", i);
      const StrandFault *a = strand_faults_for_task (f, "merge", sample, 1);
      g_assert_true (a == strand_faults_for_task (f, "merge", sample, 1));
      hits += a != NULL;
    }
  g_assert_cmpuint (hits, >, 140);
  g_assert_cmpuint (hits, <, 260);

  struct { const char *spec, *message; } bad[] = {
    { "explode:stage=x", "rule 1 'explode:stage=x': unknown fault 'explode'" },
    { "seed=1;fail:class=bogus", "rule 2 'fail:class=bogus': unknown error class 'bogus'" },
    { "crash:signal=FOO", "unknown signal 'FOO'" },
    { "kill-host:record=0", "record '0' is not a number from 1" },
    { "fail:stage", "'stage' is not KEY=VALUE" },
    { "fail:stage=x", "fail needs class=CLASS" },
    { "enospc:stage=x", "'stage' is not a key of enospc" },
    { "hang:p=2", "p '2' is not a probability" },
    { "equipment-down:id=a,at=tomorrow", "neither +SECONDS nor an RFC 3339 time" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (StrandFaults) none = strand_faults_parse (bad[i].spec, "STRAND_FAULTS", &e);
      g_assert_null (none);
      g_assert_error (e, STRAND_FAULTS_ERROR, STRAND_FAULTS_ERROR_SYNTAX);
      if (strstr (e->message, bad[i].message) == NULL || !g_str_has_prefix (e->message, "STRAND_FAULTS: "))
        g_error ("case %u: '%s' lacks '%s'", i, e->message, bad[i].message);
    }
}

static void
test_classify (void)
{
  struct {
    StrandWorkerExit e;
    StrandErrorClass want;
    const char *needle;
  } cases[] = {
    /* The OOM killer: SIGKILL with resident memory at the limit. */
    { { .term_signal = SIGKILL, .exit_status = -1, .max_rss_bytes = 95 << 20,
        .memory_limit_bytes = 100 << 20 }, STRAND_ERROR_RESOURCE, "out of memory" },
    /* A forked worker shares its parent's pages: only growth counts. */
    { { .term_signal = SIGKILL, .exit_status = -1, .max_rss_bytes = 150 << 20,
        .base_rss_bytes = 100 << 20, .memory_limit_bytes = 100 << 20 }, STRAND_ERROR_CRASH, "signal 9" },
    /* An exit after an integrity failure is not memory, whatever its RSS. */
    { { .exit_status = 1, .max_rss_bytes = 99 << 20, .memory_limit_bytes = 100 << 20,
        .fail_seen = TRUE, .reported_class = STRAND_ERROR_INTEGRITY, .reported_message = "digest" },
      STRAND_ERROR_INTEGRITY, "digest" },
    /* A tool that says "exit 1" after failing to allocate: still memory. */
    { { .exit_status = 1, .memory_exhausted = TRUE, .memory_limit_bytes = 100 << 20 },
      STRAND_ERROR_RESOURCE, "exit status 1" },
    { { .term_signal = SIGKILL, .exit_status = -1, .cgroup_oom_kills = 1,
        .memory_limit_bytes = 100 << 20 }, STRAND_ERROR_RESOURCE, "memory.events" },
    /* SIGKILL far below the limit is not memory. */
    { { .term_signal = SIGKILL, .exit_status = -1, .max_rss_bytes = 10 << 20,
        .memory_limit_bytes = 100 << 20 }, STRAND_ERROR_CRASH, "signal 9" },
    { { .term_signal = SIGSEGV, .exit_status = -1 }, STRAND_ERROR_CRASH, "signal 11" },
    { { .killed_by_host = STRAND_KILL_TIMEOUT, .term_signal = SIGTERM, .timeout_us = 1500000 },
      STRAND_ERROR_TIMEOUT, "1.5 s" },
    { { .killed_by_host = STRAND_KILL_CANCEL, .term_signal = SIGTERM }, STRAND_ERROR_TRANSIENT,
      "cancelled" },
    { { .exit_status = 3 }, STRAND_ERROR_CRASH, "exit status 3" },
    { { .exit_status = 1, .done_seen = TRUE, .done_status = -1, .fail_seen = TRUE,
        .reported_class = STRAND_ERROR_INVALID_INPUT, .reported_message = "line 8: bad" },
      STRAND_ERROR_INVALID_INPUT, "line 8" },
    { { .exit_status = 1, .done_seen = TRUE, .done_status = -1 }, STRAND_ERROR_INTERNAL,
      "without saying why" },
    { { .exit_status = 0, .done_seen = TRUE, .done_status = 0 }, STRAND_ERROR_NONE, NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *message = NULL;
      StrandErrorClass got = strand_classify_exit (&cases[i].e, &message);
      if (got != cases[i].want || (cases[i].needle && strstr (message, cases[i].needle) == NULL))
        g_error ("case %u: %s '%s'", i, strand_error_class_name (got), message);
    }
}

static void
test_policy_rules (void)
{
  const StrandPluginInfo *concat = strand_registry_lookup (registry, "concat", NULL);
  g_assert_nonnull (concat);
  g_autoptr (StrandPolicy) plain = strand_policy_new (concat, NULL);
  const StrandRule *r = strand_policy_rule (plain, STRAND_ERROR_TRANSIENT);
  g_assert_cmpint (r->action, ==, STRAND_ACTION_RETRY);
  g_assert_cmpstr (r->source, ==, "plugin");
  g_assert_cmpstr (strand_policy_rule (plain, STRAND_ERROR_STORAGE)->source, ==, "host");
  g_assert_cmpint (strand_policy_rule (plain, STRAND_ERROR_STORAGE)->action, ==, STRAND_ACTION_HALT);
  StrandDecision d;
  strand_policy_decide (plain, STRAND_ERROR_TRANSIENT, 1, FALSE, &d);
  g_assert_true (d.run_again);
  g_assert_cmpint (d.delay_us, ==, 1000000);
  strand_policy_decide (plain, STRAND_ERROR_TRANSIENT, 2, FALSE, &d);
  g_assert_cmpint (d.delay_us, ==, 2000000); /* doubles */
  strand_policy_decide (plain, STRAND_ERROR_TRANSIENT, 3, FALSE, &d);
  g_assert_false (d.run_again);
  g_assert_true (d.exhausted);
  strand_policy_decide (plain, STRAND_ERROR_RESOURCE, 1, FALSE, &d);
  g_assert_cmpfloat (d.memory_factor, ==, 1.5);

  /* The pipeline's rules win, its "any" rule only where nothing else
   * speaks for a class. */
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"p\", \"stages\": [{\"id\": \"g\", \"plugin\": \"fastq-generate\"},"
      " {\"id\": \"c\", \"plugin\": \"concat\", \"policy\": ["
      " {\"on\": \"transient\", \"action\": \"fail-sample\"},"
      " {\"on\": \"any\", \"action\": \"retry\", \"max_attempts\": 5, \"backoff_ms\": 10},"
      " {\"on\": \"resource\", \"action\": \"retry-escalate\", \"max_attempts\": 4, \"escalate_factor\": 2}]}],"
      " \"edges\": [{\"from\": \"g.reads\", \"to\": \"c.in\"}]}", NULL);
  StrandStage *s = p->stages->pdata[1];
  g_autoptr (StrandPolicy) over = strand_policy_new (s->resolved, s->policy);
  g_assert_cmpint (strand_policy_rule (over, STRAND_ERROR_TRANSIENT)->action, ==,
                   STRAND_ACTION_FAIL_SAMPLE);
  g_assert_cmpint (strand_policy_rule (over, STRAND_ERROR_CRASH)->max_attempts, ==, 5);
  g_assert_cmpstr (strand_policy_rule (over, STRAND_ERROR_CRASH)->source, ==, "pipeline");
  strand_policy_decide (over, STRAND_ERROR_RESOURCE, 3, FALSE, &d);
  g_assert_true (d.run_again);
  g_assert_cmpfloat (d.memory_factor, ==, 2);

  /* Bad rules are refused with their place. */
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  const char *bad = "{\"name\": \"p\", \"stages\": [{\"id\": \"c\", \"plugin\": \"concat\", \"policy\": ["
                    " {\"on\": \"gremlins\", \"action\": \"retry\"}, {\"on\": \"crash\", \"action\": \"pray\"},"
                    " {\"on\": \"crash\", \"action\": \"fallback\"}, {\"on\": \"crash\", \"action\": \"retry\","
                    " \"max_attempts\": 0}]}]}";
  g_autoptr (StrandPipeline) q = strand_pipeline_load_data (bad, strlen (bad), "bad.json", problems);
  g_autofree char *all = NULL;
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < problems->len; i++)
    g_string_append_printf (text, "%s %s\n", ((StrandProblem *) problems->pdata[i])->where,
                            ((StrandProblem *) problems->pdata[i])->message);
  all = g_string_free (text, FALSE);
  g_assert_nonnull (strstr (all, "bad.json#/stages/0/policy/0/on 'gremlins' is not an error class"));
  g_assert_nonnull (strstr (all, "bad.json#/stages/0/policy/1/action 'pray' is not an action"));
  g_assert_nonnull (strstr (all, "bad.json#/stages/0/policy/2 a 'fallback' rule needs 'fallback_plugin'"));
  g_assert_nonnull (strstr (all, "bad.json#/stages/0/policy/3/max_attempts"));
}

static void
test_task_json (void)
{
  const StrandPluginInfo *concat = strand_registry_lookup (registry, "concat", NULL);
  g_autoptr (StrandTaskSpec) spec = strand_task_spec_new (concat, "S1/merge");
  spec->sample_id = g_strdup ("S1");
  spec->stage_id = g_strdup ("merge");
  spec->work_dir = g_strdup ("/w");
  spec->memory_bytes = 123;
  spec->timeout_us = 456;
  spec->attempt = 3;
  spec->fault = STRAND_FAULT_CRASH;
  spec->fault_signal = SIGABRT;
  g_hash_table_insert (spec->params, g_strdup ("file_name"), g_strdup ("x.txt"));
  StrandTaskInput *in = strand_task_spec_add_input (spec, "in", "/a/b", "fastq");
  in->sha256 = g_strdup ("ab");
  in->verify = TRUE;
  g_autoptr (JsonNode) node = strand_task_spec_to_json (spec);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandTaskSpec) back = strand_task_spec_from_json (node, &error);
  g_assert_no_error (error);
  g_autoptr (JsonNode) again = strand_task_spec_to_json (back);
  g_autofree char *a = json_to_string (node, FALSE), *b = json_to_string (again, FALSE);
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (back->plugin->sha256, ==, concat->sha256);
  g_assert_cmpint (back->fault_signal, ==, SIGABRT);
  g_autoptr (JsonNode) junk = json_from_string ("{\"task_id\": 3}", NULL);
  g_autoptr (StrandTaskSpec) none = strand_task_spec_from_json (junk, &error);
  g_assert_null (none);
  g_assert_nonnull (strstr (error->message, "'plugin'"));
}

/* ---- every shipped plugin, every class it can meet ---------------------------- */

typedef struct {
  const char *plugin;   /* the plugin under test */
  const char *stage;    /* its stage in the pipeline */
  const char *upstream; /* the stage feeding it, or NULL */
  const char *pipeline;
} PluginCase;

static const PluginCase plugin_cases[] = {
  { "fastq-generate", "gen", NULL,
    "{\"name\": \"t\", \"stages\": ["
    " {\"id\": \"gen\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 200, \"length\": 50}},"
    " {\"id\": \"after\", \"plugin\": \"concat\", \"params\": {\"file_name\": \"all.fastq\"}}],"
    " \"edges\": [{\"from\": \"gen.reads\", \"to\": \"after.in\"}]}" },
  { "fastq-stats", "qc", "gen",
    "{\"name\": \"t\", \"stages\": ["
    " {\"id\": \"gen\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 200, \"length\": 50}},"
    " {\"id\": \"qc\", \"plugin\": \"fastq-stats\"}],"
    " \"edges\": [{\"from\": \"gen.reads\", \"to\": \"qc.reads\"}]}" },
  { "concat", "merge", "gen",
    "{\"name\": \"t\", \"stages\": ["
    " {\"id\": \"gen\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 200, \"length\": 50}},"
    " {\"id\": \"merge\", \"plugin\": \"concat\", \"params\": {\"file_name\": \"m.fastq\"}},"
    " {\"id\": \"qc\", \"plugin\": \"fastq-stats\"}],"
    " \"edges\": [{\"from\": \"gen.reads\", \"to\": \"merge.in\"}, {\"from\": \"merge.out\", \"to\": \"qc.reads\"}]}" },
};

typedef enum { ENDS_OK, ENDS_FAILED, ENDS_HALTED } Ending;

typedef struct {
  const char *error_class;
  const char *fault;     /* %s: the stage under test; %u: upstream first? see below */
  gboolean needs_inputs; /* only for plugins that read inputs */
  gint64 timeout_us;
  Ending ending;
  int attempts;
  double memory_factor;  /* of the last attempt */
  double time_factor;
} ClassCase;

static const ClassCase class_cases[] = {
  { "transient", "fail:stage=STAGE,sample=S1,class=transient,attempt=1", FALSE, 0, ENDS_OK, 2, 1, 1 },
  { "resource", "fail:stage=STAGE,sample=S1,class=resource,attempt=1", FALSE, 0, ENDS_OK, 2, 1.5, 1 },
  { "resource", "fail:stage=STAGE,sample=S1,class=resource", FALSE, 0, ENDS_FAILED, 3, 2.25, 1 },
  { "timeout", "hang:stage=STAGE,sample=S1,attempt=1", FALSE, 700000, ENDS_OK, 2, 1, 2 },
  { "crash", "crash:stage=STAGE,sample=S1,signal=SEGV", FALSE, 0, ENDS_FAILED, 2, 1, 1 },
  { "crash", "crash:stage=STAGE,sample=S1,signal=ABRT,attempt=1", FALSE, 0, ENDS_OK, 2, 1, 1 },
  { "invalid-input", "fail:stage=STAGE,sample=S1,class=invalid-input", FALSE, 0, ENDS_FAILED, 1, 1, 1 },
  { "integrity", "corrupt:stage=STAGE,sample=S1,bytes=2", TRUE, 0, ENDS_FAILED, 1, 1, 1 },
  { "config", "fail:stage=STAGE,sample=S1,class=config", FALSE, 0, ENDS_FAILED, 1, 1, 1 },
  { "internal", "fail:stage=STAGE,sample=S1,class=internal", FALSE, 0, ENDS_FAILED, 1, 1, 1 },
  { "equipment", "fail:stage=STAGE,sample=S1,class=equipment,attempt=1", FALSE, 0, ENDS_OK, 2, 1, 1 },
  { "storage", "fail:stage=STAGE,sample=S1,class=storage", FALSE, 0, ENDS_HALTED, 1, 1, 1 },
};

static void
test_plugin_faults (void)
{
  strand_clock_use_virtual (1800000000LL * G_USEC_PER_SEC);
  for (guint pc = 0; pc < G_N_ELEMENTS (plugin_cases); pc++)
    {
      const PluginCase *p = &plugin_cases[pc];
      g_autoptr (StrandPipeline) pipeline = strand_test_pipeline (registry, p->pipeline, NULL);
      g_autoptr (GPtrArray) samples = strand_test_samples (2);
      g_autofree char *clean_store = strand_test_fresh_dir (tmp, "clean");
      g_autoptr (StrandRun) clean = strand_test_run (registry, pipeline, samples, clean_store, NULL, NULL);
      g_assert_cmpstr (clean->status, ==, "complete");
      g_autofree char *clean1 = strand_test_digests (clean, "S1");
      g_autofree char *clean2 = strand_test_digests (clean, "S2");
      const StrandStage *stage = strand_pipeline_find_stage (pipeline, p->stage);
      guint64 memory = stage->resolved->resources.memory_bytes;
      for (guint cc = 0; cc < G_N_ELEMENTS (class_cases); cc++)
        {
          const ClassCase *c = &class_cases[cc];
          if (c->needs_inputs && p->upstream == NULL)
            continue; /* a generator reads nothing that could be damaged */
          /* Integrity is damage to what the stage reads: the upstream output. */
          g_autofree char *fault =
              strand_test_subst (c->fault, "STAGE", c->needs_inputs ? p->upstream : p->stage);
          g_test_message ("%s: %s", p->plugin, fault);
          g_autofree char *store = strand_test_fresh_dir (tmp, "fault");
          StrandRunOptions opt = { .task_timeout_us = c->timeout_us };
          g_autoptr (StrandRun) run = strand_test_run (registry, pipeline, samples, store, fault, &opt);
          StrandTaskRecord *t = strand_test_task (run, "S1", p->stage);
          g_autofree char *got2 = strand_test_digests (run, "S2");
          if (t->attempts != c->attempts)
            g_error ("%s / %s: %d attempts, expected %d: %s", p->plugin, fault, t->attempts,
                     c->attempts, t->decisions->len ? (char *) t->decisions->pdata[0] : "");
          if (c->ending == ENDS_OK)
            {
              g_assert_cmpstr (t->status, ==, "ok");
              g_assert_cmpstr (run->status, ==, "complete");
              g_autofree char *got1 = strand_test_digests (run, "S1");
              g_assert_cmpstr (got1, ==, clean1);
              g_assert_cmpstr (got2, ==, clean2);
            }
          else if (c->ending == ENDS_FAILED)
            {
              g_assert_cmpstr (t->status, ==, "failed");
              g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, c->error_class);
              g_assert_true (strand_test_has_decision (t, "fail-sample"));
              g_assert_cmpstr (run->status, ==, "failed");
              /* What the sample made before is quarantined; what follows
               * does not run; the other sample is untouched. */
              for (guint i = 0; i < run->tasks->len; i++)
                {
                  StrandTaskRecord *o = run->tasks->pdata[i];
                  if (strcmp (o->sample_id, "S1") != 0 || o == t)
                    continue;
                  if (strcmp (o->status, "ok") == 0)
                    g_assert_true (o->quarantined);
                  else
                    g_assert_cmpstr (o->status, ==, "skipped");
                }
              g_assert_cmpstr (got2, ==, clean2);
            }
          else
            {
              g_assert_cmpstr (run->status, ==, "halted");
              g_assert_true (strand_test_has_decision (t, "halt"));
              /* Once the disk is fixed, resuming finishes the same run. */
              StrandRunOptions resume = { .resume = TRUE };
              g_autoptr (StrandRun) again = strand_test_run (registry, pipeline, samples, store, NULL, &resume);
              g_assert_cmpstr (again->status, ==, "complete");
              g_autofree char *a1 = strand_test_digests (again, "S1");
              g_autofree char *a2 = strand_test_digests (again, "S2");
              g_assert_cmpstr (a1, ==, clean1);
              g_assert_cmpstr (a2, ==, clean2);
              g_assert_cmpuint (again->cached, >=, 1);
            }
          if (memory && c->memory_factor != 1)
            g_assert_cmpuint (t->memory_bytes, ==, (guint64) ((double) memory * c->memory_factor));
          if (c->timeout_us)
            g_assert_cmpint (t->timeout_us, ==, (gint64) ((double) c->timeout_us * c->time_factor));
          if (c->attempts > 1)
            g_assert_cmpuint (t->decisions->len, >=, 1);
          g_autoptr (GPtrArray) problems = strand_problems_new ();
          if (c->needs_inputs)
            {
              /* verify names the damaged object; a resumed run makes it
               * again, and then the store verifies. */
              g_assert_false (strand_provenance_verify (store, problems, NULL, NULL));
              g_assert_cmpuint (problems->len, ==, 1);
              g_assert_cmpstr (((StrandProblem *) problems->pdata[0])->code, ==, "object-damaged");
              StrandRunOptions resume = { .resume = TRUE };
              g_autoptr (StrandRun) again = strand_test_run (registry, pipeline, samples, store, NULL, &resume);
              g_assert_cmpstr (again->status, ==, "complete");
              g_autofree char *a1 = strand_test_digests (again, "S1");
              g_assert_cmpstr (a1, ==, clean1);
              g_ptr_array_set_size (problems, 0);
            }
          /* Whatever happened, the records and objects verify. */
          if (!strand_provenance_verify (store, problems, NULL, NULL))
            g_error ("%s / %s: verify: %s", p->plugin, fault,
                     ((StrandProblem *) problems->pdata[0])->message);
        }
    }
  strand_clock_use_real ();
}

/* A careless stage that aborts when malloc fails: the host sees its
 * address space at the limit and escalates its memory until it fits. Run
 * by the command, as an operator would: a worker's limit counts what its
 * address space grows by, and a test process's own large, fragmented heap
 * would blur that. */
static void
test_real_out_of_memory (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("AddressSanitizer reserves terabytes of address space: no RLIMIT_AS");
  return;
#endif
  g_autofree char *dir = strand_test_fresh_dir (tmp, "oom");
  g_autofree char *pipeline = g_build_filename (dir, "oom.json", NULL);
  g_assert_true (g_file_set_contents (pipeline,
      "{\"name\": \"oom\", \"stages\": [{\"id\": \"hold\", \"plugin\": \"memory-stage\","
      " \"params\": {\"megabytes\": 48}}], \"outputs\": [\"hold.out\"]}", -1, NULL));
  g_autofree char *sheet = g_build_filename (dir, "s.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"S1\"}]}", -1, NULL));
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out, NULL, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_EXEC_PLUGIN_DIR, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonObject) o = strand_test_parse_object (out);
  JsonObject *t = json_array_get_object_element (json_object_get_array_member (o, "tasks"), 0);
  g_assert_cmpstr (json_object_get_string_member (t, "status"), ==, "ok");
  g_assert_cmpint (json_object_get_int_member (t, "attempts"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (t, "memory_bytes"), ==, (gint64) ((32u << 20) * 2.25));
  JsonArray *decisions = json_object_get_array_member (t, "decisions");
  g_assert_cmpuint (json_array_get_length (decisions), ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_nonnull (strstr (json_array_get_string_element (decisions, i),
                              "retry-escalate: resource after out of memory"));
}

/* Equipment that goes down sends the task elsewhere, on the record. */
static void
test_reroute (void)
{
  const char *inv = "{\"equipment\": [{\"id\": \"node1\", \"class\": \"compute\", \"capacity\": 2,"
                    " \"cores\": 2, \"memory_bytes\": 1000000000}, {\"id\": \"node2\", \"class\":"
                    " \"compute\", \"capacity\": 2, \"cores\": 2, \"memory_bytes\": 1000000000}]}";
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandInventory) inventory = strand_inventory_load_data (inv, strlen (inv), "inv.json",
                                                                      problems);
  g_assert_cmpuint (problems->len, ==, 0);
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, plugin_cases[1].pipeline, NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (1);
  g_autofree char *store = strand_test_fresh_dir (tmp, "reroute");
  StrandRunOptions opt = { .inventory = inventory };
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, "equipment-down:id=node1,at=+0",
                                                &opt);
  g_assert_cmpstr (run->status, ==, "complete");
  StrandTaskRecord *t = strand_test_task (run, "S1", "gen");
  g_assert_cmpint (t->attempts, ==, 2);
  g_assert_cmpstr (t->equipment, ==, "node2");
  g_assert_true (strand_test_has_decision (t, "reroute"));
}

/* A pipeline's own rule: on a crash, run another plugin instead. */
static void
test_fallback (void)
{
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"fb\", \"stages\": [{\"id\": \"x\", \"plugin\": \"random-stage\", \"policy\": ["
      " {\"on\": \"crash\", \"action\": \"fallback\", \"fallback_plugin\": \"sleep-stage@^1\"}]}]}", NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (2);
  g_autofree char *store = strand_test_fresh_dir (tmp, "fallback");
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, "crash:stage=x,sample=S1,attempt=1",
                                                NULL);
  StrandTaskRecord *t = strand_test_task (run, "S1", "x");
  g_assert_cmpstr (t->status, ==, "ok");
  g_assert_cmpstr (t->plugin, ==, "sleep-stage@1.0.0");
  g_assert_true (strand_test_has_decision (t, "fallback"));
  g_assert_cmpstr (strand_test_task (run, "S2", "x")->plugin, ==, "random-stage@1.0.0");
}

/* A pipeline's rule to go on past a failure: downstream runs without it. */
static void
test_continue (void)
{
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"go-on\", \"stages\": ["
      " {\"id\": \"lane1\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 50, \"seed\": 1}},"
      " {\"id\": \"lane2\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 50, \"seed\": 2},"
      "  \"policy\": [{\"on\": \"invalid-input\", \"action\": \"continue\"}]},"
      " {\"id\": \"merge\", \"plugin\": \"concat\"}],"
      " \"edges\": [{\"from\": \"lane1.reads\", \"to\": \"merge.in\"}, {\"from\": \"lane2.reads\", \"to\": \"merge.in\"}]}",
      NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (1);
  g_autofree char *store = strand_test_fresh_dir (tmp, "continue");
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, "fail:stage=lane2,class=invalid-input",
                                                NULL);
  g_assert_cmpstr (strand_test_task (run, "S1", "lane2")->status, ==, "failed");
  g_assert_true (strand_test_has_decision (strand_test_task (run, "S1", "lane2"), "continue"));
  StrandTaskRecord *merge = strand_test_task (run, "S1", "merge");
  g_assert_cmpstr (merge->status, ==, "ok");
  /* The merge is lane 1 alone. */
  const StrandTaskOutput *lane1 = strand_test_task (run, "S1", "lane1")->result->outputs->pdata[0];
  const StrandTaskOutput *merged = merge->result->outputs->pdata[0];
  g_assert_cmpstr (lane1->sha256, ==, merged->sha256);
}

/* The store fills up while outputs are stored: the run halts with a
 * storage error, records stay intact, and once there is room a resumed run
 * stores what was recorded and finishes, with a store that verifies. */
static void
test_enospc_resume (void)
{
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, plugin_cases[2].pipeline, NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (2);
  g_autofree char *clean_store = strand_test_fresh_dir (tmp, "enospc-clean");
  g_autoptr (StrandRun) clean = strand_test_run (registry, p, samples, clean_store, NULL, NULL);
  g_autofree char *store = strand_test_fresh_dir (tmp, "enospc");
  g_autoptr (StrandRun) full = strand_test_run (registry, p, samples, store, "enospc:bytes=20000", NULL);
  g_assert_cmpstr (full->status, ==, "halted");
  gboolean storage = FALSE;
  for (guint i = 0; i < full->tasks->len; i++)
    {
      StrandTaskRecord *t = full->tasks->pdata[i];
      storage |= t->result && !t->result->ok && t->result->error_class == STRAND_ERROR_STORAGE;
    }
  g_assert_true (storage);
  StrandRunOptions resume = { .resume = TRUE };
  g_autoptr (StrandRun) again = strand_test_run (registry, p, samples, store, NULL, &resume);
  g_assert_cmpstr (again->status, ==, "complete");
  for (guint s = 1; s <= 2; s++)
    {
      g_autofree char *id = g_strdup_printf ("S%u", s);
      g_autofree char *want = strand_test_digests (clean, id);
      g_autofree char *got = strand_test_digests (again, id);
      g_assert_cmpstr (got, ==, want);
    }
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  if (!strand_provenance_verify (store, problems, NULL, NULL))
    g_error ("verify: %s", ((StrandProblem *) problems->pdata[0])->message);
}

/* ---- scale ----------------------------------------------------------------------- */

static void
count_running (const StrandTaskRecord *record, const StrandRunCounts *c, gpointer data)
{
  guint *most = data;
  *most = MAX (*most, c->running);
}

static void
test_hundred_samples (void)
{
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, plugin_cases[2].pipeline, NULL);
  g_autoptr (GPtrArray) samples = strand_test_samples (100);
  g_autofree char *store = strand_test_fresh_dir (tmp, "hundred");
  guint most = 0;
  StrandRunOptions opt = { .jobs = 4, .progress = count_running, .user_data = &most };
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, NULL, &opt);
  g_assert_cmpstr (run->status, ==, "complete");
  g_assert_cmpuint (run->succeeded, ==, 300);
  g_assert_cmpuint (most, >=, 2);
  /* Different samples, different reads; each qc counted 200. */
  g_autofree char *d1 = strand_test_digests (run, "S1");
  g_autofree char *d2 = strand_test_digests (run, "S100");
  g_assert_cmpstr (d1, !=, d2);
  StrandTaskRecord *qc = strand_test_task (run, "S77", "qc");
  g_assert_cmpfloat (*(double *) g_hash_table_lookup (qc->result->metrics, "reads"), ==, 200);
}

/* ---- crash consistency ------------------------------------------------------------ */

typedef struct {
  GHashTable *named;
} Named;

static gboolean
collect_named (JsonObject *st, guint64 seq, gpointer data)
{
  Named *n = data;
  const char *lists[] = { "subject", NULL };
  for (const char **l = lists; *l; l++)
    {
      JsonNode *sn = json_object_get_member (st, *l);
      JsonArray *a = sn && JSON_NODE_HOLDS_ARRAY (sn) ? json_node_get_array (sn) : NULL;
      for (guint i = 0; a && i < json_array_get_length (a); i++)
        {
          const char *sha = strand_statement_string (json_node_get_object (json_array_get_element (a, i)),
                                                     "digest.sha256");
          if (sha)
            g_hash_table_add (n->named, g_strdup (sha));
        }
    }
  return TRUE;
}

static gboolean
object_is_named (const char *sha256, guint64 size, gpointer data)
{
  if (!g_hash_table_contains (data, sha256))
    g_error ("object %s is in the store but no record names it", sha256);
  return TRUE;
}

/* The host SIGKILLed after its N-th record, at many N in a row, each time
 * resumed: the final outputs are an uninterrupted run's, `strand verify`
 * passes, and every object in the store is named by a record. */
static void
test_kill_and_resume (void)
{
  g_autofree char *dir = strand_test_fresh_dir (tmp, "kills");
  g_autofree char *sheet = g_build_filename (dir, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}, {\"id\": \"B\"},"
                                             " {\"id\": \"C\"}]}", -1, NULL));
  g_autofree char *pipeline = g_build_filename (dir, "p.json", NULL);
  g_assert_true (g_file_set_contents (pipeline,
      "{\"name\": \"kills\", \"stages\": ["
      " {\"id\": \"lane1\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 300, \"seed\": 1}},"
      " {\"id\": \"lane2\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 300, \"seed\": 2}},"
      " {\"id\": \"merge\", \"plugin\": \"concat\", \"params\": {\"file_name\": \"r.fastq\"}},"
      " {\"id\": \"qc\", \"plugin\": \"fastq-stats\"}],"
      " \"edges\": [{\"from\": \"lane1.reads\", \"to\": \"merge.in\"}, {\"from\": \"lane2.reads\","
      " \"to\": \"merge.in\"}, {\"from\": \"merge.out\", \"to\": \"qc.reads\"}]}", -1, NULL));
  g_autofree char *clean_store = g_build_filename (dir, "clean", NULL);
  g_autofree char *clean_out = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &clean_out, NULL, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_PLUGIN_BUILD_DIR, "--store", clean_store, "--json", NULL), ==, 0);
  g_autofree char *clean = strand_test_cli_digests (clean_out, NULL);

  GRand *rand = g_rand_new_with_seed (20261127);
  guint kills = 0;
  for (guint round = 0; kills < 50; round++)
    {
      g_autofree char *name = g_strdup_printf ("store%u", round);
      g_autofree char *store = g_build_filename (dir, name, NULL);
      for (guint attempt = 0; attempt < 12; attempt++)
        {
          /* A clean run writes 14 records; a resumed one, one per reused
           * task first. */
          g_autofree char *spec = g_strdup_printf ("kill-host:record=%d", g_rand_int_range (rand, 1, 20));
          int rc = strand_test_cli (spec, NULL, NULL, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_PLUGIN_BUILD_DIR, "--store", store, "--resume", "--json", NULL);
          if (rc == 128 + SIGKILL)
            kills++;
          else
            {
              g_assert_cmpint (rc, ==, 0);
              break;
            }
        }
      g_autofree char *out = NULL;
      g_assert_cmpint (strand_test_cli (NULL, &out, NULL, "run", pipeline, "--samples", sheet, "-P",
                                        STRAND_PLUGIN_BUILD_DIR, "--store", store, "--resume", "--json",
                                        NULL), ==, 0);
      g_autofree char *final = strand_test_cli_digests (out, NULL);
      g_assert_cmpstr (final, ==, clean);
      g_autofree char *verify = NULL;
      g_assert_cmpint (strand_test_cli (NULL, &verify, NULL, "verify", "--store", store, NULL), ==, 0);
      g_autoptr (GError) error = NULL;
      Named named = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
      g_assert_true (strand_ledger_foreach_statement (store, collect_named, &named, &error));
      g_autoptr (StrandStore) s = strand_store_open (store, &error);
      strand_store_foreach (s, object_is_named, named.named);
      g_hash_table_unref (named.named);
    }
  g_rand_free (rand);
  g_test_message ("%u host kills, each resumed", kills);
}

/* ---- cancellation ------------------------------------------------------------------- */

static void
test_cancel_and_resume (void)
{
  g_autofree char *dir = strand_test_fresh_dir (tmp, "cancel");
  g_autofree char *sheet = g_build_filename (dir, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}, {\"id\": \"B\"}]}", -1, NULL));
  const char *stages =
      "{\"name\": \"cancel\", \"stages\": ["
      " {\"id\": \"gen\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 100}},"
      " {\"id\": \"wait\", \"plugin\": \"sleep-stage\", \"params\": {\"seconds\": SECONDS}}],"
      " \"edges\": [{\"from\": \"gen.reads\", \"to\": \"wait.in\"}]}";
  g_autofree char *slow = g_build_filename (dir, "slow.json", NULL);
  g_autofree char *slow_text = strand_test_subst (stages, "SECONDS", "60");
  g_assert_true (g_file_set_contents (slow, slow_text, -1, NULL));
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  const char *argv[] = { STRAND_CLI, "run", slow, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                         "-P", STRAND_EXEC_PLUGIN_DIR, "--store", store, "--json", "--grace", "5", NULL };
  g_autoptr (GError) error = NULL;
  GPid pid;
  int out_fd;
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
  /* Once the sleeping stages run (their work folders exist), interrupt. */
  g_autofree char *runs = g_build_filename (store, "runs", NULL);
  gboolean sleeping = FALSE;
  for (int i = 0; i < 500 && !sleeping; i++)
    {
      g_usleep (20000);
      g_autoptr (GDir) d = g_dir_open (runs, 0, NULL);
      const char *run_id = d ? g_dir_read_name (d) : NULL;
      if (run_id)
        {
          g_autofree char *w = g_build_filename (runs, run_id, "A", "wait", "task.log", NULL);
          sleeping = g_file_test (w, G_FILE_TEST_EXISTS);
        }
    }
  g_assert_true (sleeping);
  g_usleep (200000);
  kill (pid, SIGINT);
  int status = 0;
  for (int i = 0; i < 400 && waitpid (pid, &status, WNOHANG) == 0; i++)
    g_usleep (25000); /* well within the grace period: the stage checks cancelled() */
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_spawn_close_pid (pid);
  g_autoptr (GIOChannel) ch = g_io_channel_unix_new (out_fd);
  g_io_channel_set_close_on_unref (ch, TRUE);
  g_autofree char *out = NULL;
  g_io_channel_read_to_end (ch, &out, NULL, NULL);
  g_autoptr (JsonObject) o = strand_test_parse_object (out);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "cancelled");
  JsonArray *tasks = json_object_get_array_member (o, "tasks");
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      const char *stage = json_object_get_string_member (t, "stage");
      g_assert_cmpstr (json_object_get_string_member (t, "status"), ==,
                       strcmp (stage, "gen") == 0 ? "ok" : "cancelled");
    }
  g_autofree char *v = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &v, NULL, "verify", "--store", store, NULL), ==, 0);

  /* Resumed: the generated reads are reused, only the waits run. */
  g_autofree char *fast = g_build_filename (dir, "fast.json", NULL);
  g_autofree char *fast_text = strand_test_subst (stages, "SECONDS", "0.05");
  g_assert_true (g_file_set_contents (fast, fast_text, -1, NULL));
  g_autofree char *out2 = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out2, NULL, "run", fast, "--samples", sheet, "-P",
                                    STRAND_PLUGIN_BUILD_DIR, "-P", STRAND_EXEC_PLUGIN_DIR, "--store", store,
                                    "--resume", "--json", NULL), ==, 0);
  g_autoptr (JsonObject) o2 = strand_test_parse_object (out2);
  g_assert_cmpint (json_object_get_int_member (o2, "cached"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o2, "succeeded"), ==, 2);
}

/* ---- resume explains ------------------------------------------------------------------ */

static void
test_resume_explains (void)
{
  g_autofree char *store = strand_test_fresh_dir (tmp, "explain");
  g_autoptr (GPtrArray) samples = strand_test_samples (2);
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, plugin_cases[2].pipeline, NULL);
  g_autoptr (StrandRun) first = strand_test_run (registry, p, samples, store, NULL, NULL);
  g_assert_cmpstr (first->status, ==, "complete");
  /* The file name of the merge changes: merge and qc run, gen is reused. */
  StrandStage *merge = strand_pipeline_find_stage (p, "merge");
  strand_stage_set_param_string (merge, "file_name", "renamed.fastq");
  StrandRunOptions resume = { .resume = TRUE };
  g_autoptr (StrandRun) second = strand_test_run (registry, p, samples, store, NULL, &resume);
  g_assert_cmpuint (second->cached, ==, 2);
  g_assert_cmpuint (second->succeeded, ==, 4);
  StrandTaskRecord *m = strand_test_task (second, "S1", "merge");
  g_assert_nonnull (strstr (m->explain, "parameters changed: file_name (m.fastq -> renamed.fastq)"));
  StrandTaskRecord *q = strand_test_task (second, "S1", "qc");
  g_assert_nonnull (strstr (q->explain, "its inputs changed"));
  g_assert_cmpstr (strand_test_task (second, "S2", "gen")->status, ==, "cached");
  /* A damaged object is not reused: its task runs again and replaces it. */
  const StrandTaskOutput *o = strand_test_task (second, "S2", "qc")->result->outputs->pdata[0];
  g_assert_true (strand_faults_corrupt_file (o->path, 1, 3, NULL));
  g_autoptr (StrandRun) third = strand_test_run (registry, p, samples, store, NULL, &resume);
  g_assert_cmpstr (strand_test_task (third, "S2", "qc")->status, ==, "ok");
  g_assert_nonnull (strstr (strand_test_task (third, "S2", "qc")->explain, "missing from the store or damaged"));
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_assert_true (strand_provenance_verify (store, problems, NULL, NULL));
}

/* The operator's view: --resume --explain says, task by task, what is
 * reused and why the rest runs. */
static void
test_cli_explain (void)
{
  g_autofree char *dir = strand_test_fresh_dir (tmp, "cli-explain");
  g_autofree char *sheet = g_build_filename (dir, "s.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}]}", -1, NULL));
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *demo = NULL;
  g_assert_true (g_file_get_contents (STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.json", &demo,
                                      NULL, NULL));
  g_autofree char *changed_text = strand_test_subst (demo, "\"seed\": 2", "\"seed\": 3");
  g_autofree char *changed = g_build_filename (dir, "changed.json", NULL);
  g_assert_true (g_file_set_contents (changed, changed_text, -1, NULL));
  g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "run",
                                    STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.json", "--samples", sheet,
                                    "-P", STRAND_PLUGIN_BUILD_DIR, "--store", store, NULL), ==, 0);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out, NULL, "run", changed, "--samples", sheet, "-P",
                                    STRAND_PLUGIN_BUILD_DIR, "--store", store, "--resume", "--explain", NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "lane1          cached"));
  g_assert_nonnull (strstr (out, "ran because parameters changed: seed (2 -> 3)"));
  g_assert_nonnull (strstr (out, "ran because its inputs changed"));
  g_assert_nonnull (strstr (out, "1 reused"));
}

/* ---- reproduce ------------------------------------------------------------------------ */

static void
test_reproduce (void)
{
  g_autofree char *dir = strand_test_fresh_dir (tmp, "repro");
  g_autofree char *sheet = g_build_filename (dir, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}, {\"id\": \"B\"}]}", -1, NULL));
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *pipeline = g_build_filename (dir, "p.json", NULL);
  g_assert_true (g_file_set_contents (pipeline,
      "{\"name\": \"repro\", \"stages\": ["
      " {\"id\": \"gen\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 100}},"
      " {\"id\": \"qc\", \"plugin\": \"fastq-stats\"},"
      " {\"id\": \"noise\", \"plugin\": \"random-stage\"}],"
      " \"edges\": [{\"from\": \"gen.reads\", \"to\": \"qc.reads\"}, {\"from\": \"gen.reads\", \"to\": \"noise.in\"}]}",
      -1, NULL));
  g_autofree char *out = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out, NULL, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_PLUGIN_BUILD_DIR, "-P", STRAND_EXEC_PLUGIN_DIR, "--store", store,
                                    "--json", NULL), ==, 0);
  g_autoptr (JsonObject) o = strand_test_parse_object (out);
  const char *run_id = json_object_get_string_member (o, "run_id");
  g_autofree char *into = g_build_filename (dir, "again", NULL);
  g_autofree char *rep = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &rep, NULL, "reproduce", run_id, "--store", store, "--into", into,
                                    "-P", STRAND_PLUGIN_BUILD_DIR, "-P", STRAND_EXEC_PLUGIN_DIR, "--json",
                                    NULL), ==, 0);
  g_autoptr (JsonObject) r = strand_test_parse_object (rep);
  g_assert_cmpint (json_object_get_int_member (r, "matched"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (r, "mismatched"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (r, "mismatched_nondeterministic"), ==, 2);
  JsonArray *tasks = json_object_get_array_member (r, "tasks");
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      gboolean noise = strcmp (json_object_get_string_member (t, "stage"), "noise") == 0;
      g_assert_cmpstr (json_object_get_string_member (t, "status"), ==, noise ? "mismatch" : "match");
      g_assert_true (json_object_get_boolean_member (t, "deterministic") == !noise);
    }
  /* The plain report lists the stage that differs, and says why. */
  g_autofree char *into2 = g_build_filename (dir, "again2", NULL);
  g_autofree char *text = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &text, NULL, "reproduce", run_id, "--store", store, "--into",
                                    into2, "-P", STRAND_PLUGIN_BUILD_DIR, "-P", STRAND_EXEC_PLUGIN_DIR, NULL),
                   ==, 0);
  g_assert_nonnull (strstr (text, "noise          mismatch (the stage is not deterministic)"));
  /* Into a store that is not fresh: refused. */
  g_autofree char *err = NULL;
  g_assert_cmpint (strand_test_cli (NULL, NULL, &err, "reproduce", run_id, "--store", store, "--into", into,
                                    "-P", STRAND_PLUGIN_BUILD_DIR, "-P", STRAND_EXEC_PLUGIN_DIR, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "is not empty"));
  /* Without the exact build of a plugin: refused, naming it. */
  g_autofree char *into3 = g_build_filename (dir, "again3", NULL);
  g_autofree char *err2 = NULL;
  g_assert_cmpint (strand_test_cli (NULL, NULL, &err2, "reproduce", run_id, "--store", store, "--into",
                                    into3, "-P", STRAND_PLUGIN_BUILD_DIR, NULL), ==, 1);
  g_assert_nonnull (strstr (err2, "stage 'noise': plugin random-stage 1.0.0 built as sha256"));
  g_assert_false (g_file_test (into3, G_FILE_TEST_EXISTS));
  g_autofree char *err3 = NULL;
  g_assert_cmpint (strand_test_cli (NULL, NULL, &err3, "reproduce", "no-such-run", "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (err3, "has no run 'no-such-run'"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-exec-XXXXXX", NULL);
  registry = strand_test_registry (STRAND_PLUGIN_BUILD_DIR, STRAND_EXEC_PLUGIN_DIR, NULL);
  g_test_add_func ("/exec/faults-parse", test_faults_parse);
  g_test_add_func ("/exec/classify", test_classify);
  g_test_add_func ("/exec/policy-rules", test_policy_rules);
  g_test_add_func ("/exec/task-json", test_task_json);
  g_test_add_func ("/exec/plugin-faults", test_plugin_faults);
  g_test_add_func ("/exec/real-out-of-memory", test_real_out_of_memory);
  g_test_add_func ("/exec/reroute", test_reroute);
  g_test_add_func ("/exec/fallback", test_fallback);
  g_test_add_func ("/exec/continue", test_continue);
  g_test_add_func ("/exec/enospc-resume", test_enospc_resume);
  g_test_add_func ("/exec/hundred-samples", test_hundred_samples);
  g_test_add_func ("/exec/resume-explains", test_resume_explains);
  g_test_add_func ("/exec/kill-and-resume", test_kill_and_resume);
  g_test_add_func ("/exec/cancel-and-resume", test_cancel_and_resume);
  g_test_add_func ("/exec/cli-explain", test_cli_explain);
  g_test_add_func ("/exec/reproduce", test_reproduce);
  int rc = g_test_run ();
  strand_registry_free (registry);
  strand_test_remove_tree (tmp);
  g_free (tmp);
  return rc;
}
