/* What `strand run` tells the operator at the end (run-report.h,
 * run-usage.h), computed from hand-built runs whose figures are known: each
 * reported figure over the samples, the samples' verdicts, the equipment's
 * busy share and the run's times, and which output to point a user at. */
#include <glib.h>
#include <string.h>

#include "clock.h"
#include "run-report.h"
#include "run-usage.h"

#define T0 (G_GINT64_CONSTANT (1798000000) * G_USEC_PER_SEC) /* some day in 2026 */
#define S(x) ((gint64) ((x) * G_USEC_PER_SEC))

static void
record_free (gpointer p)
{
  StrandTaskRecord *r = p;
  g_free (r->sample_id);
  g_free (r->stage_id);
  strand_task_result_free (r->result);
  g_free (r->equipment);
  g_ptr_array_unref (r->decisions);
  g_free (r);
}

static StrandRun *
run_new (void)
{
  StrandRun *run = g_new0 (StrandRun, 1);
  run->run_id = g_strdup ("R1");
  run->run_dir = g_strdup ("/runs/R1");
  run->tasks = g_ptr_array_new_with_free_func (record_free);
  run->status = "failed";
  return run;
}

/* A task of `run`; `status` "ok", "failed", "cached" get a result from
 * `start` to `end` seconds after T0, anything else none. */
static StrandTaskRecord *
add_task (StrandRun *run, const char *sample, const char *stage, const char *status,
          const char *equipment, double start, double end)
{
  StrandTaskRecord *t = g_new0 (StrandTaskRecord, 1);
  t->sample_id = g_strdup (sample);
  t->stage_id = g_strdup (stage);
  t->status = status;
  t->equipment = g_strdup (equipment);
  t->decisions = g_ptr_array_new_with_free_func (g_free);
  if (strcmp (status, "ok") == 0 || strcmp (status, "failed") == 0 || strcmp (status, "cached") == 0)
    {
      t->result = strand_task_result_new ();
      t->result->ok = strcmp (status, "failed") != 0;
      t->result->error_class = t->result->ok ? STRAND_ERROR_NONE : STRAND_ERROR_INVALID_INPUT;
      t->result->message = t->result->ok ? NULL : g_strdup ("below the QC thresholds");
      t->result->start_us = T0 + S (start);
      t->result->end_us = T0 + S (end);
    }
  g_ptr_array_add (run->tasks, t);
  return t;
}

static void
set_metric (StrandTaskRecord *t, const char *name, double value)
{
  g_hash_table_insert (t->result->metrics, g_strdup (name), g_memdup2 (&value, sizeof value));
}

static void
add_output (StrandTaskRecord *t, const char *port, const char *name, const char *sha256, guint64 size)
{
  StrandTaskOutput *o = g_new0 (StrandTaskOutput, 1);
  o->port = g_strdup (port);
  o->name = g_strdup (name);
  o->path = g_strdup_printf ("/store/objects/%s", sha256);
  o->sha256 = g_strdup (sha256);
  o->size = size;
  g_ptr_array_add (t->result->outputs, o);
}

static JsonObject *
summary_of (JsonObject *report, const char *column)
{
  JsonArray *summary = json_object_get_array_member (report, "summary");
  for (guint i = 0; i < json_array_get_length (summary); i++)
    {
      JsonObject *s = json_array_get_object_element (summary, i);
      if (strcmp (json_object_get_string_member (s, "column"), column) == 0)
        return s;
    }
  return NULL;
}

static gboolean
has_line (const char *text, const char *pattern)
{
  return g_regex_match_simple (pattern, text, G_REGEX_MULTILINE, 0);
}

/* Five samples: three come through, one fails QC, one stops with a task
 * that never ran. Each reported figure is summed up over the samples that
 * have it, the run's own row left out: min, median (the middle two's mean
 * for an even count) and max; a column no sample has is left out. */
static void
test_figures_over_samples (void)
{
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_new ("p");
  for (const char *const *c = (const char *const[]){ "qc.reads", "call.recall", "call.snvs",
                                                      "index.seconds", "call.missing", NULL };
       *c; c++)
    g_ptr_array_add (pipeline->report, g_strdup (*c));
  g_autoptr (StrandRun) run = run_new ();
  set_metric (add_task (run, NULL, "index", "ok", NULL, 0, 5), "seconds", 5);
  const double reads[] = { 1000, 4000, 2000, 3000, 500 };
  const double recall[] = { 0.9, 1.0, 0.95, 0 };
  const double snvs[] = { 10, 12, 11 };
  const char *const ids[] = { "s1", "s2", "s3", "s4", "low" };
  for (guint i = 0; i < 5; i++)
    {
      gboolean low = strcmp (ids[i], "low") == 0;
      StrandTaskRecord *qc = add_task (run, ids[i], "qc", low ? "failed" : "ok", NULL, 5, 6);
      set_metric (qc, "reads", reads[i]);
      if (low)
        {
          add_task (run, ids[i], "call", "skipped", NULL, 0, 0);
          continue;
        }
      if (i == 3)
        {
          /* s4: its caller never ran; its qc figure still counts. */
          add_task (run, ids[i], "call", "not-run", NULL, 0, 0);
          continue;
        }
      StrandTaskRecord *call = add_task (run, ids[i], "call", "ok", NULL, 6, 8);
      set_metric (call, "recall", recall[i]);
      set_metric (call, "snvs", snvs[i]);
    }

  g_autoptr (JsonNode) node = strand_run_report (run, pipeline);
  JsonObject *report = json_node_get_object (node);
  JsonObject *s = summary_of (report, "qc.reads");
  g_assert_nonnull (s);
  g_assert_cmpint (json_object_get_int_member (s, "samples"), ==, 5);
  g_assert_cmpfloat (json_object_get_double_member (s, "min"), ==, 500);
  g_assert_cmpfloat (json_object_get_double_member (s, "median"), ==, 2000);
  g_assert_cmpfloat (json_object_get_double_member (s, "max"), ==, 4000);
  s = summary_of (report, "call.recall");
  g_assert_cmpint (json_object_get_int_member (s, "samples"), ==, 3);
  g_assert_cmpfloat (json_object_get_double_member (s, "min"), ==, 0.9);
  g_assert_cmpfloat (json_object_get_double_member (s, "median"), ==, 0.95);
  g_assert_cmpfloat (json_object_get_double_member (s, "max"), ==, 1.0);
  s = summary_of (report, "call.snvs");
  g_assert_cmpfloat (json_object_get_double_member (s, "median"), ==, 11);
  /* The run's own figure is not a sample's; no sample has call.missing. */
  g_assert_null (summary_of (report, "index.seconds"));
  g_assert_null (summary_of (report, "call.missing"));

  JsonObject *v = json_object_get_object_member (report, "verdicts");
  g_assert_cmpint (json_object_get_int_member (v, "samples"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (v, "ok"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (v, "failed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (v, "incomplete"), ==, 1);
  JsonObject *at = json_object_get_object_member (v, "failed_at");
  g_assert_cmpuint (json_object_get_size (at), ==, 1);
  g_assert_cmpint (json_object_get_int_member (at, "qc"), ==, 1);

  /* Beneath the table, one line per figure in the table's own format. */
  g_autofree char *text = strand_run_report_text (node);
  if (g_test_verbose ())
    g_printerr ("%s", text);
  g_assert_true (has_line (text, "^over 5 samples +min +median +max$"));
  g_assert_true (has_line (text, "^  qc\\.reads +500 +2000 +4000$"));
  g_assert_true (has_line (text, "^  call\\.recall +0\\.900 +0\\.950 +1\\.000$"));
  g_assert_true (has_line (text, "^  call\\.snvs +10 +11 +12$"));
  g_assert_false (has_line (text, "^  index\\.seconds"));
  g_assert_true (has_line (text, "^5 samples: 3 passed every stage, 1 failed \\(1 at qc\\), 1 incomplete$"));
}

/* Every sample through: no failures to list; a figure only one sample has
 * gets no line of its own (the table shows it). */
static void
test_all_passed (void)
{
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_new ("p");
  g_ptr_array_add (pipeline->report, g_strdup ("qc.reads"));
  g_ptr_array_add (pipeline->report, g_strdup ("qc.rare"));
  g_autoptr (StrandRun) run = run_new ();
  set_metric (add_task (run, "a", "qc", "ok", NULL, 0, 1), "reads", 7);
  StrandTaskRecord *b = add_task (run, "b", "qc", "ok", NULL, 0, 1);
  set_metric (b, "reads", 9);
  set_metric (b, "rare", 3);
  g_autoptr (JsonNode) node = strand_run_report (run, pipeline);
  g_autofree char *text = strand_run_report_text (node);
  g_assert_true (has_line (text, "^  qc\\.reads +7 +8 +9$"));
  g_assert_false (has_line (text, "^  qc\\.rare"));
  g_assert_true (has_line (text, "^2 samples: 2 passed every stage$"));
}

static StrandInventory *
inventory (void)
{
  static const char json[] =
      "{\"equipment\": ["
      " {\"id\": \"seq-1\", \"class\": \"sequencer\", \"capacity\": 1},"
      " {\"id\": \"compute-1\", \"class\": \"compute\", \"capacity\": 4, \"cores\": 8},"
      " {\"id\": \"idle-1\", \"class\": \"compute\", \"capacity\": 2}]}";
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inv = strand_inventory_load_data (json, sizeof json - 1, "inventory.json", problems);
  g_assert_nonnull (inv);
  g_assert_cmpuint (strand_problems_errors (problems), ==, 0);
  return inv;
}

static JsonObject *
equipment_of (JsonObject *usage, guint i, const char *id)
{
  JsonArray *list = json_object_get_array_member (usage, "equipment");
  g_assert_cmpuint (i, <, json_array_get_length (list));
  JsonObject *e = json_array_get_object_element (list, i);
  if (id)
    g_assert_cmpstr (json_object_get_string_member (e, "id"), ==, id);
  else
    g_assert_true (json_object_get_null_member (e, "id"));
  return e;
}

/* A run from T0+10 s to T0+110 s. compute-1 (4 slots) ran three tasks for
 * 50 + 50 + 50 s: busy 150 / (4 x 100) = 37.5%; seq-1 (1 slot) one of 40 s,
 * 40%. A task on equipment the inventory does not name and one assigned to
 * none have no share. A reused task did not run; one that never started
 * has no result; neither counts. idle-1 ran nothing and is not listed. */
static void
test_equipment_busy_share (void)
{
  g_autoptr (StrandInventory) inv = inventory ();
  g_autoptr (StrandRun) run = run_new ();
  add_task (run, NULL, "sequencer", "ok", "seq-1", 10, 50)->result->cpu_us = S (2);
  add_task (run, "a", "align", "ok", "compute-1", 50, 100)->result->cpu_us = S (120);
  add_task (run, "b", "align", "failed", "compute-1", 55, 105)->result->cpu_us = S (30.5);
  add_task (run, "c", "align", "ok", "compute-1", 60, 110);
  add_task (run, "d", "align", "ok", "elsewhere", 60, 70)->result->cpu_us = S (1);
  add_task (run, "e", "align", "ok", NULL, 20, 23);
  add_task (run, "f", "align", "cached", "compute-1", -1000, 500);
  add_task (run, "g", "call", "skipped", "compute-1", 0, 0);

  g_autoptr (JsonNode) node = strand_run_usage (run, inv);
  JsonObject *u = json_node_get_object (node);
  g_assert_cmpfloat (json_object_get_double_member (u, "wall_seconds"), ==, 100);
  g_assert_cmpint (json_object_get_int_member (u, "tasks"), ==, 6);
  g_assert_cmpfloat (json_object_get_double_member (u, "task_seconds"), ==, 40 + 150 + 10 + 3);
  g_assert_cmpfloat (json_object_get_double_member (u, "cpu_seconds"), ==, 153.5);
  g_assert_cmpint (json_object_get_int_member (u, "cpu_tasks"), ==, 4);
  g_autofree char *start = strand_clock_format_rfc3339 (T0 + S (10));
  g_assert_cmpstr (json_object_get_string_member (u, "start"), ==, start);

  /* Inventory order, then what it does not name, then no equipment. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (u, "equipment")), ==, 4);
  JsonObject *e = equipment_of (u, 0, "seq-1");
  g_assert_cmpstr (json_object_get_string_member (e, "class"), ==, "sequencer");
  g_assert_cmpint (json_object_get_int_member (e, "tasks"), ==, 1);
  g_assert_cmpfloat (json_object_get_double_member (e, "busy_share"), ==, 0.4);
  e = equipment_of (u, 1, "compute-1");
  g_assert_cmpint (json_object_get_int_member (e, "capacity"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (e, "tasks"), ==, 3);
  g_assert_cmpfloat (json_object_get_double_member (e, "busy_seconds"), ==, 150);
  g_assert_cmpfloat (json_object_get_double_member (e, "busy_share"), ==, 0.375);
  e = equipment_of (u, 2, "elsewhere");
  g_assert_true (json_object_get_null_member (e, "capacity"));
  g_assert_true (json_object_get_null_member (e, "busy_share"));
  g_assert_cmpfloat (json_object_get_double_member (e, "busy_seconds"), ==, 10);
  e = equipment_of (u, 3, NULL);
  g_assert_cmpint (json_object_get_int_member (e, "tasks"), ==, 1);

  g_autofree char *text = strand_run_usage_text (node);
  if (g_test_verbose ())
    g_printerr ("%s", text);
  g_assert_true (has_line (text, "^wall time 100\\.0 s; 6 tasks ran 203\\.0 s in all, "
                                 "153\\.5 s of CPU where measured$"));
  g_assert_true (has_line (text, "^  seq-1 +1 task +busy +40\\.0% of 1 slot \\(40\\.0 s\\)$"));
  g_assert_true (has_line (text, "^  compute-1 +3 tasks +busy +37\\.5% of 4 slots \\(150\\.0 s\\)$"));
  g_assert_true (has_line (text, "^  elsewhere +1 task +busy 10\\.0 s$"));
  g_assert_true (has_line (text, "^  \\(no equipment\\) +1 task +busy 3\\.00 s$"));

  /* Without an inventory the same run has no capacities, hence no shares. */
  g_autoptr (JsonNode) bare = strand_run_usage (run, NULL);
  e = equipment_of (json_node_get_object (bare), 1, "compute-1");
  g_assert_true (json_object_get_null_member (e, "busy_share"));
}

/* A run that reused every output ran nothing: no span, no shares. */
static void
test_nothing_ran (void)
{
  g_autoptr (StrandInventory) inv = inventory ();
  g_autoptr (StrandRun) run = run_new ();
  add_task (run, "a", "align", "cached", "compute-1", 0, 0);
  g_autoptr (JsonNode) node = strand_run_usage (run, inv);
  JsonObject *u = json_node_get_object (node);
  g_assert_cmpint (json_object_get_int_member (u, "tasks"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (u, "wall_seconds"), ==, 0);
  g_assert_true (json_object_get_null_member (u, "start"));
  g_assert_true (json_object_get_null_member (u, "cpu_seconds"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (u, "equipment")), ==, 0);
  g_autofree char *text = strand_run_usage_text (node);
  g_assert_cmpstr (text, ==, "no task ran in this run: every output was reused\n");
}

static void
add_stage (StrandPipeline *pipeline, StrandPluginInfo *plugin, const char *id, const char *port,
           const char *formats)
{
  StrandPortInfo *p = g_new0 (StrandPortInfo, 1);
  p->name = g_strdup (port);
  p->formats = g_strdup (formats);
  g_ptr_array_add (plugin->outputs, p);
  strand_pipeline_add_stage (pipeline, id, id, NULL)->resolved = plugin;
}

/* The pipeline's declared outputs are counted over the samples that came
 * through (a quarantined sample's are not), and the one to point a user at
 * is a variant file, though the pipeline lists a report first. */
static void
test_outputs (void)
{
  g_autoptr (StrandPluginInfo) qc = strand_plugin_info_new ();
  g_autoptr (StrandPluginInfo) call = strand_plugin_info_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_new ("p");
  add_stage (pipeline, qc, "qc", "report", "json");
  add_stage (pipeline, call, "call", "vcf", "bcf,vcf");
  strand_pipeline_add_output (pipeline, "qc.report");
  strand_pipeline_add_output (pipeline, "call.vcf");
  strand_pipeline_add_output (pipeline, "call.index");
  g_autoptr (StrandRun) run = run_new ();
  add_output (add_task (run, "s1", "qc", "ok", NULL, 0, 1), "report", "s1.json", "aa", 100);
  add_output (add_task (run, "s1", "call", "ok", NULL, 1, 2), "vcf", "s1.vcf.gz", "bb", 1000);
  add_output (add_task (run, "s2", "qc", "cached", NULL, 0, 0), "report", "s2.json", "cc", 200);
  add_output (add_task (run, "s2", "call", "ok", NULL, 1, 2), "vcf", "s2.vcf.gz", "dd", 3000);
  StrandTaskRecord *bad = add_task (run, "s3", "call", "ok", NULL, 1, 2);
  add_output (bad, "vcf", "s3.vcf.gz", "ee", 5000);
  bad->quarantined = TRUE;

  g_autoptr (JsonNode) node = strand_run_outputs (run, pipeline);
  JsonObject *o = json_node_get_object (node);
  JsonArray *list = json_object_get_array_member (o, "outputs");
  g_assert_cmpuint (json_array_get_length (list), ==, 3);
  const struct { const char *output; gint64 files, bytes; } expect[] = {
    { "qc.report", 2, 300 }, { "call.vcf", 2, 4000 }, { "call.index", 0, 0 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);
      g_assert_cmpstr (json_object_get_string_member (e, "output"), ==, expect[i].output);
      g_assert_cmpint (json_object_get_int_member (e, "files"), ==, expect[i].files);
      g_assert_cmpint (json_object_get_int_member (e, "bytes"), ==, expect[i].bytes);
    }
  JsonObject *ex = json_object_get_object_member (o, "example");
  g_assert_cmpstr (json_object_get_string_member (ex, "output"), ==, "call.vcf");
  g_assert_cmpstr (json_object_get_string_member (ex, "sample"), ==, "s1");
  g_assert_cmpstr (json_object_get_string_member (ex, "name"), ==, "s1.vcf.gz");
  g_assert_cmpstr (json_object_get_string_member (ex, "sha256"), ==, "bb");

  /* Nothing made: no example. */
  g_autoptr (StrandRun) empty = run_new ();
  g_autoptr (JsonNode) none = strand_run_outputs (empty, pipeline);
  g_assert_true (json_object_get_null_member (json_node_get_object (none), "example"));

  /* run.json and --json carry the report, the usage and the outputs. */
  g_autoptr (JsonNode) summary = strand_run_to_json (run, pipeline);
  strand_run_summary_add (summary, run, pipeline, NULL);
  JsonObject *so = json_node_get_object (summary);
  g_assert_true (json_object_has_member (so, "tasks"));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (so, "report")));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (so, "usage"), "tasks"), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (json_object_get_object_member (so, "pipeline_outputs"),
                                                      "example"), "sha256"), ==, "bb");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/run-report/figures-over-samples", test_figures_over_samples);
  g_test_add_func ("/run-report/all-passed", test_all_passed);
  g_test_add_func ("/run-report/outputs", test_outputs);
  g_test_add_func ("/run-usage/equipment-busy-share", test_equipment_busy_share);
  g_test_add_func ("/run-usage/nothing-ran", test_nothing_ran);
  return g_test_run ();
}
