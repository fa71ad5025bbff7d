/* The pipelines in packaging/pipelines, as the README's main command and an
 * operator run them: they validate, they run to the end, and the germline
 * pipeline's calls match the simulator's truth on every sample. */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "test-util.h"

#define PIPELINES STRAND_SOURCE_ROOT "/packaging/pipelines/"

/* Runs in `cwd` with the store given as `store` (relative to it, as an
 * operator in their working directory would). */
static JsonNode *
run_json (const char *cwd, const char *store, const char *pipeline, const char *samples)
{
  g_autofree char *out = NULL, *err = NULL;
  int rc = strand_test_spawn (cwd, NULL, &out, &err, STRAND_CLI, "run", pipeline, "--samples", samples,
                              "-P", STRAND_PLUGIN_BUILD_DIR, "--store", store, "--json", NULL);
  if (rc != 0)
    g_error ("%s: exit %d\n%s%s", pipeline, rc, out, err);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static double
metric (JsonObject *task, const char *name)
{
  JsonObject *m = json_object_get_object_member (task, "metrics");
  g_assert_true (json_object_has_member (m, name));
  return json_object_get_double_member (m, name);
}

/* As the README's main command runs it: text for the operator, then the
 * figures behind it from the run's summary file. */
static void
test_germline_lambda (void)
{
  g_autofree char *dir = g_dir_make_tmp ("strand-packaged-XXXXXX", NULL);
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *text = NULL, *err = NULL;
  int rc = strand_test_spawn (NULL, NULL, &text, &err, STRAND_CLI, "run",
                              PIPELINES "germline-lambda.json", "--samples",
                              PIPELINES "germline-lambda.samples.json", "--equipment",
                              PIPELINES "germline-lambda.equipment.json", "-P", STRAND_PLUGIN_BUILD_DIR,
                              "--store", store, NULL);
  if (rc != 0)
    g_error ("exit %d\n%s%s", rc, text, err);
  /* One line per sample, with the figures the pipeline names. */
  g_assert_nonnull (strstr (text, "compare.snv_recall"));
  g_autoptr (GRegex) row = g_regex_new ("^s8 +ok +[0-9]+ ", G_REGEX_MULTILINE, 0, NULL);
  g_assert_true (g_regex_match (row, text, 0, NULL));

  g_autoptr (GRegex) summary = g_regex_new ("^summary: (.*)$", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;
  g_assert_true (g_regex_match (summary, text, 0, &match));
  g_autofree char *summary_path = g_match_info_fetch (match, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, summary_path, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "failed"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "skipped"), ==, 0);
  JsonArray *tasks = json_object_get_array_member (o, "tasks");
  guint compared = 0;
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      if (strcmp (json_object_get_string_member (t, "stage"), "compare") != 0)
        continue;
      compared++;
      const char *sample = json_object_get_string_member (t, "sample");
      double precision = metric (t, "snv_precision"), recall = metric (t, "snv_recall");
      if (precision < 0.95 || recall < 0.95)
        g_error ("sample %s: SNV precision %.3f, recall %.3f", sample, precision, recall);
    }
  g_assert_cmpuint (compared, ==, 8);
  g_assert_cmpint (strand_test_spawn (NULL, NULL, NULL, NULL, STRAND_CLI, "verify", "--store", store,
                                      NULL), ==, 0);
  strand_test_remove_tree (dir);
}

static void
test_lambda_reads (void)
{
  g_autofree char *dir = g_dir_make_tmp ("strand-packaged-XXXXXX", NULL);
  g_autoptr (JsonNode) root = run_json (dir, "store", PIPELINES "lambda-reads.json",
                                        PIPELINES "lambda-reads.samples.tsv");
  JsonObject *o = json_node_get_object (root);
  g_assert_cmpint (json_object_get_int_member (o, "succeeded"), ==, 5);
  JsonArray *tasks = json_object_get_array_member (o, "tasks");
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      if (strcmp (json_object_get_string_member (t, "stage"), "align") == 0)
        g_assert_cmpfloat (metric (t, "mapped_fraction"), >, 0.9);
      if (strcmp (json_object_get_string_member (t, "stage"), "qc") == 0)
        g_assert_cmpfloat (metric (t, "reads"), ==, 20000);
    }
  strand_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/packaged/germline-lambda", test_germline_lambda);
  g_test_add_func ("/packaged/lambda-reads", test_lambda_reads);
  return g_test_run ();
}
