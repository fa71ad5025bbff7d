/* The end of `strand run` as an operator reads it, on a small run of three
 * samples on the equipment of an inventory, one of which fails: figures
 * over the samples and the verdicts beneath the table, the equipment's use,
 * and commands for the outputs that work when pasted back. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "test-util.h"

typedef struct {
  char *dir;
  char *store;
  char *pipeline;
  char *samples;
  char *equipment;
} Fixture;

static char *
write_file (Fixture *f, const char *name, const char *contents)
{
  char *path = g_build_filename (f->dir, name, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return path;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-summary-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->store = g_build_filename (f->dir, "store", NULL);
  /* Reads per sample, QC on them, and a gate that fails the sample "fail". */
  f->pipeline = write_file (f, "p.json",
      "{\"name\": \"summary\", \"stages\": ["
      "  {\"id\": \"lane1\", \"plugin\": \"fastq-generate\","
      "   \"params\": {\"reads\": 2000, \"length\": 100, \"seed\": 1}},"
      "  {\"id\": \"gate\", \"plugin\": \"crash-stage\"},"
      "  {\"id\": \"qc\", \"plugin\": \"fastq-stats\", \"params\": {\"min_reads\": 1000}}],"
      " \"edges\": [{\"from\": \"lane1.reads\", \"to\": \"qc.reads\"},"
      "             {\"from\": \"lane1.reads\", \"to\": \"gate.in\"}],"
      " \"outputs\": [\"qc.stats\", \"lane1.reads\", \"gate.out\"],"
      " \"report\": [\"qc.reads\", \"qc.mean_quality\", \"lane1.bases\"]}");
  f->samples = write_file (f, "s.json", "{\"samples\": [{\"id\": \"s1\"}, {\"id\": \"s2\"}, {\"id\": \"fail\"}]}");
  f->equipment = write_file (f, "e.json",
      "{\"equipment\": [{\"id\": \"node-a\", \"class\": \"compute\", \"capacity\": 3},"
      "                 {\"id\": \"node-b\", \"class\": \"compute\", \"capacity\": 2}]}");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->store);
  g_free (f->pipeline);
  g_free (f->samples);
  g_free (f->equipment);
}

static int
run (Fixture *f, gboolean json, char **out)
{
  return strand_test_spawn (f->dir, NULL, out, NULL, STRAND_CLI, "run", f->pipeline, "--samples",
                            f->samples, "--equipment", f->equipment, "-P", STRAND_PLUGIN_BUILD_DIR,
                            "-P", STRAND_TEST_PLUGIN_DIR, "--store", f->store,
                            json ? "--json" : NULL, NULL);
}

static gboolean
has_line (const char *text, const char *pattern)
{
  return g_regex_match_simple (pattern, text, G_REGEX_MULTILINE, 0);
}

/* The words of the line `pattern` matches, split on spaces; NULL if none. */
static GStrv
command_line (const char *text, const char *pattern)
{
  g_autoptr (GRegex) re = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) m = NULL;
  if (!g_regex_match (re, text, 0, &m))
    return NULL;
  g_autofree char *line = g_match_info_fetch (m, 1);
  return g_strsplit (line, " ", -1);
}

static void
test_text_summary (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (run (f, FALSE, &out), ==, 1); /* a sample failed */
  /* Beneath the table: each figure over the three samples, the verdicts. */
  g_assert_true (has_line (out, "^over 3 samples +min +median +max$"));
  g_assert_true (has_line (out, "^  qc\\.reads +2000 +2000 +2000$"));
  g_assert_true (has_line (out, "^  lane1\\.bases +200000 +200000 +200000$"));
  g_assert_true (has_line (out, "^  qc\\.mean_quality +[0-9.]+ +[0-9.]+ +[0-9.]+$"));
  g_assert_true (has_line (out, "^3 samples: 2 passed every stage, 1 failed \\(1 at gate\\)$"));
  /* The run's use of its equipment: the scheduler spreads the nine tasks
   * over both machines as it sees fit; each line counts its own. */
  /* Nine tasks, or eight when the failing sample's qc had not started
   * before its gate failed and stopped the sample. */
  g_auto (GStrv) ran = command_line (out, "^wall time [0-9.]+ s; ([89]) tasks ran [0-9.]+ s in all, [0-9.]+ s of CPU$");
  g_assert_nonnull (ran);
  guint tasks_ran = (guint) atoi (ran[0]);
  guint on_machines = 0;
  const char *const slots[] = { "3 slots", "2 slots" };
  const char *const nodes[] = { "node-a", "node-b" };
  for (guint k = 0; k < 2; k++)
    {
      g_autofree char *pattern = g_strdup_printf (
          "^  %s +([0-9]+) tasks? +busy +[0-9.]+%% of %s \\([0-9.]+ s\\)$", nodes[k], slots[k]);
      g_autoptr (GRegex) re = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
      g_autoptr (GMatchInfo) m = NULL;
      if (g_regex_match (re, out, 0, &m))
        {
          g_autofree char *n = g_match_info_fetch (m, 1);
          on_machines += (guint) atoi (n);
        }
    }
  g_assert_cmpuint (on_machines, ==, tasks_ran);
  /* The outputs of the two samples that came through. */
  g_assert_true (has_line (out, "^outputs \\(.* in the store\\): 2 qc\\.stats, 2 lane1\\.reads, 2 gate\\.out$"));
  g_assert_true (has_line (out, "^  all of them: \\S+ export \\S+ --ro-crate DIR --store \\S+$"));
  /* Reads rank above the others: s1's, with commands that work as pasted. */
  g_assert_true (has_line (out, "^s1's lane1\\.reads \\(reads\\.fastq\\): copy it out, and see where it came from:$"));
  g_auto (GStrv) get = command_line (out, "^  (\\S+ store get [0-9a-f]{64} reads\\.fastq --store \\S+)$");
  g_auto (GStrv) lineage = command_line (out, "^  (\\S+ lineage [0-9a-f]{64} --store \\S+)$");
  g_assert_nonnull (get);
  g_assert_nonnull (lineage);
  g_assert_cmpstr (get[3], ==, lineage[2]);
  g_autofree char *got = NULL;
  g_assert_cmpint (strand_test_spawn (f->dir, NULL, NULL, NULL, get[0], get[1], get[2], get[3], get[4],
                                      get[5], get[6], NULL), ==, 0);
  g_autofree char *copy = g_build_filename (f->dir, "reads.fastq", NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (copy, &bytes, &len, NULL));
  g_autofree char *digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) bytes, len);
  g_assert_cmpstr (digest, ==, get[3]);
  g_assert_true (g_str_has_prefix (bytes, "@s1"));
  g_autofree char *story = NULL;
  g_assert_cmpint (strand_test_spawn (f->dir, NULL, &story, NULL, lineage[0], lineage[1], lineage[2],
                                      lineage[3], lineage[4], NULL), ==, 0);
  g_assert_nonnull (strstr (story, "lane1"));
  g_assert_nonnull (strstr (story, "fastq-generate"));
}

/* --json and run.json carry the same: the report with its summary and
 * verdicts, the usage per equipment, the outputs. */
static void
test_json_summary (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (run (f, TRUE, &out), ==, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  JsonObject *report = json_object_get_object_member (o, "report");
  JsonObject *verdicts = json_object_get_object_member (report, "verdicts");
  g_assert_cmpint (json_object_get_int_member (verdicts, "ok"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (verdicts, "failed_at"),
                                               "gate"), ==, 1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (report, "summary")), ==, 3);
  JsonObject *usage = json_object_get_object_member (o, "usage");
  gint64 tasks_ran = json_object_get_int_member (usage, "tasks");
  g_assert_true (tasks_ran == 8 || tasks_ran == 9); /* see test_text_summary */
  g_assert_cmpint (json_object_get_int_member (usage, "cpu_tasks"), ==, tasks_ran);
  double wall = json_object_get_double_member (usage, "wall_seconds");
  JsonArray *equipment = json_object_get_array_member (usage, "equipment");
  g_assert_cmpuint (json_array_get_length (equipment), >=, 1);
  /* Each machine's share is its busy time over its slots for the run's
   * span; together they were busy for every task's time. */
  double busy_total = 0;
  for (guint k = 0; k < json_array_get_length (equipment); k++)
    {
      JsonObject *a = json_array_get_object_element (equipment, k);
      const char *id = json_object_get_string_member (a, "id");
      gint64 capacity = strcmp (id, "node-a") == 0 ? 3 : 2;
      g_assert_true (strcmp (id, "node-a") == 0 || strcmp (id, "node-b") == 0);
      g_assert_cmpint (json_object_get_int_member (a, "capacity"), ==, capacity);
      double busy = json_object_get_double_member (a, "busy_seconds");
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (a, "busy_share"),
                                      busy / (capacity * wall), 1e-9);
      busy_total += busy;
    }
  g_assert_cmpfloat_with_epsilon (busy_total, json_object_get_double_member (usage, "task_seconds"), 1e-6);
  JsonObject *ex = json_object_get_object_member (json_object_get_object_member (o, "pipeline_outputs"),
                                                  "example");
  g_assert_cmpstr (json_object_get_string_member (ex, "output"), ==, "lane1.reads");

  /* run.json, where the text points, holds the same members. */
  g_autofree char *path = g_build_filename (json_object_get_string_member (o, "run_dir"), "run.json", NULL);
  g_autoptr (JsonParser) saved = json_parser_new ();
  g_assert_true (json_parser_load_from_file (saved, path, NULL));
  JsonObject *s = json_node_get_object (json_parser_get_root (saved));
  for (const char *const *m = (const char *const[]){ "report", "usage", "pipeline_outputs", NULL }; *m; m++)
    g_assert_true (json_object_has_member (s, *m));
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (s, "usage"), "wall_seconds"),
                     ==, wall);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/run-summary/text", Fixture, NULL, fixture_setup, test_text_summary, fixture_teardown);
  g_test_add ("/run-summary/json", Fixture, NULL, fixture_setup, test_json_summary, fixture_teardown);
  return g_test_run ();
}
