/* `strand run` and `strand plugins run` from the operator's side: the files
 * they hand over, the exit status and the outputs they get back. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "test-run.h"
#include "test-util.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-run-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static JsonObject *
find_task (JsonArray *tasks, const char *sample, const char *stage)
{
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      if (g_strcmp0 (json_object_get_string_member (t, "sample"), sample) == 0 &&
          g_strcmp0 (json_object_get_string_member (t, "stage"), stage) == 0)
        return t;
    }
  g_assert_not_reached ();
}

/* The packaged demo pipeline on two samples: every task succeeds, QC counts
 * both lanes, outputs carry the digest of their bytes, and a second run gives
 * the same digests (every shipped stage is deterministic). */
static void
test_demo_pipeline (Fixture *f, gconstpointer data)
{
  g_autofree char *sheet = strand_test_write (f->dir, "samples.json",
      "{\"samples\": [{\"id\": \"A1\"}, {\"id\": \"B2\", \"meta\": {\"type\": \"blood\"}}]}");
  g_autofree char *runs = g_build_filename (f->dir, "runs", NULL);
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  char *digests[2] = { NULL, NULL };
  for (int round = 0; round < 2; round++)
    {
      g_autofree char *out = NULL;
      int rc = strand_test_cli (NULL, &out, NULL, "run", STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.json",
                                "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR, "--runs-dir", runs, "--store",
                                store, "--json", NULL);
      g_assert_cmpint (rc, ==, 0);
      g_autoptr (JsonNode) root = parse_json (out);
      JsonObject *o = json_node_get_object (root);
      g_assert_cmpint (json_object_get_int_member (o, "succeeded"), ==, 8);
      g_assert_cmpint (json_object_get_int_member (o, "failed"), ==, 0);
      JsonArray *tasks = json_object_get_array_member (o, "tasks");
      g_autoptr (GString) all = g_string_new (NULL);
      for (const char *const *s = (const char *const[]){ "A1", "B2", NULL }; *s; s++)
        {
          JsonObject *qc = find_task (tasks, *s, "qc");
          JsonObject *metrics = json_object_get_object_member (qc, "metrics");
          g_assert_cmpfloat (json_object_get_double_member (metrics, "reads"), ==, 40000);
          JsonObject *merge = find_task (tasks, *s, "merge");
          JsonObject *output = json_array_get_object_element (
              json_object_get_array_member (merge, "outputs"), 0);
          const char *path = json_object_get_string_member (output, "path");
          g_autofree char *bytes = NULL;
          gsize len = 0;
          g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
          g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) bytes, len);
          g_assert_cmpstr (sha, ==, json_object_get_string_member (output, "sha256"));
          g_assert_cmpint (json_object_get_int_member (output, "size"), ==, (gint64) len);
          g_string_append_printf (all, "%s:%s ", *s, sha);
        }
      digests[round] = g_string_free (g_steal_pointer (&all), FALSE);
    }
  g_assert_cmpstr (digests[0], ==, digests[1]);
  /* Different samples get different reads. */
  g_auto (GStrv) parts = g_strsplit (digests[0], " ", -1);
  g_assert_cmpstr (strchr (parts[0], ':'), !=, strchr (parts[1], ':'));
  g_free (digests[0]);
  g_free (digests[1]);
}

/* A stage that crashes, aborts, exits or fails takes only its own task down:
 * the host survives, classifies each failure, and the other sample runs. */
static void
test_failures_isolated (Fixture *f, gconstpointer data)
{
  g_autofree char *pipeline = strand_test_write (f->dir, "p.json",
      "{\"name\": \"isolation\", \"stages\": ["
      "  {\"id\": \"bad\", \"plugin\": \"crash-stage\"},"
      "  {\"id\": \"after\", \"plugin\": \"concat\", \"params\": {\"file_name\": \"x\"}}],"
      " \"edges\": [{\"from\": \"bad.out\", \"to\": \"after.in\"}]}");
  g_autofree char *sheet = strand_test_write (f->dir, "s.json",
      "{\"samples\": [{\"id\": \"crash\"}, {\"id\": \"abort\"}, {\"id\": \"exit\"},"
      " {\"id\": \"fail\"}, {\"id\": \"fine\"}]}");
  g_autofree char *runs = g_build_filename (f->dir, "runs", NULL);
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *out = NULL;
  int rc = strand_test_cli (NULL, &out, NULL, "run", pipeline, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                            "-P", STRAND_TEST_PLUGIN_DIR, "--runs-dir", runs, "--store", store, "--json", NULL);
  g_assert_cmpint (rc, ==, 1);
  g_autoptr (JsonNode) root = parse_json (out);
  JsonObject *o = json_node_get_object (root);
  g_assert_cmpint (json_object_get_int_member (o, "failed"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (o, "skipped"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (o, "succeeded"), ==, 2);
  JsonArray *tasks = json_object_get_array_member (o, "tasks");
  struct { const char *sample, *error_class, *needle; } expect[] = {
    /* Sanitizer builds turn SIGSEGV into their own report and abort. */
    { "crash", "crash", "" },
    { "abort", "crash", "signal 6" },
    { "exit", "crash", "exit status 3" },
    { "fail", "invalid-input", "always fails" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      JsonObject *t = find_task (tasks, expect[i].sample, "bad");
      g_assert_cmpstr (json_object_get_string_member (t, "status"), ==, "failed");
      g_assert_cmpstr (json_object_get_string_member (t, "error_class"), ==, expect[i].error_class);
      g_assert_nonnull (strstr (json_object_get_string_member (t, "message"), expect[i].needle));
      g_assert_cmpstr (json_object_get_string_member (find_task (tasks, expect[i].sample, "after"),
                                                      "status"), ==, "skipped");
    }
  g_assert_cmpstr (json_object_get_string_member (find_task (tasks, "fine", "after"), "status"),
                   ==, "ok");
}

/* Everything wrong with a pipeline is reported at once, with a code and a JSON
 * pointer, and nothing runs. */
static void
test_invalid_pipeline_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *pipeline = strand_test_write (f->dir, "bad.json",
      "{\"name\": \"bad\", \"stages\": ["
      "  {\"id\": \"gen\", \"plugin\": \"fastq-generate\", \"params\": {\"reads\": 0, \"colour\": 1}},"
      "  {\"id\": \"qc\", \"plugin\": \"fastq-stats\"},"
      "  {\"id\": \"qc2\", \"plugin\": \"fastq-stats\"},"
      "  {\"id\": \"ghost\", \"plugin\": \"no-such-plugin\"},"
      "  {\"id\": \"old\", \"plugin\": \"concat\", \"version\": \">=9\"},"
      "  {\"id\": \"c1\", \"plugin\": \"concat\"}, {\"id\": \"c2\", \"plugin\": \"concat\"}],"
      " \"edges\": [{\"from\": \"gen.reads\", \"to\": \"qc.reads\"},"
      "             {\"from\": \"qc.stats\", \"to\": \"qc2.reads\"},"
      "             {\"from\": \"c1.out\", \"to\": \"c2.in\"}, {\"from\": \"c2.out\", \"to\": \"c1.in\"}]}");
  g_autofree char *sheet = strand_test_write (f->dir, "s.json", "{\"samples\": [{\"id\": \"S1\"}]}");
  g_autofree char *runs = g_build_filename (f->dir, "runs", NULL);
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *err = NULL;
  int rc = strand_test_cli (NULL, NULL, &err, "run", pipeline, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                            "--runs-dir", runs, "--store", store, NULL);
  g_assert_cmpint (rc, ==, 1);
  const char *expected[] = {
    "bad.json#/stages/0/params/reads: stage 'gen': parameter 'reads': 0 is below the minimum 1 [bad-param-value]",
    "bad.json#/stages/0/params/colour: stage 'gen': plugin fastq-generate has no parameter 'colour' [unknown-param]",
    "bad.json#/stages/3/plugin: stage 'ghost': no plugin named 'no-such-plugin' is installed [unknown-plugin]",
    "bad.json#/stages/4/plugin: stage 'old': no version of plugin 'concat' matches '>=9' (installed: 0.1.0) [unknown-plugin-version]",
    "bad.json#/edges/1: 'qc.stats' makes json but 'qc2.reads' takes fastq [format-mismatch]",
    "bad.json#/edges: the stages form a cycle: c2 -> c1 -> c2 [cycle]",
    "nothing was run",
  };
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    if (strstr (err, expected[i]) == NULL)
      g_error ("missing from stderr: %s\n--- stderr ---\n%s", expected[i], err);
  g_assert_false (g_file_test (runs, G_FILE_TEST_EXISTS));
}

/* Malformed input files give one clear line and a non-zero exit. */
static void
test_bad_files (Fixture *f, gconstpointer data)
{
  const char *cases[][2] = {
    { "{\"name\": \"x\", \"stages\": [", "invalid-json" },
    { "", "is empty [empty-file]" },
    { "[1, 2]", "a pipeline must be a JSON object" },
    { "{\"name\": \"x\", \"stages\": 7}", "'stages' must be an array" },
    { "{\"name\": \"x\xff\", \"stages\": []}", "not UTF-8" },
    { "{\"name\": \"x\", \"stages\": [{\"id\": 1, \"plugin\": \"concat\"}]}", "'id' must be a string" },
  };
  g_autofree char *sheet = strand_test_write (f->dir, "s.json", "{\"samples\": [{\"id\": \"S1\"}]}");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *pipeline = strand_test_write (f->dir, "p.json", cases[i][0]);
      g_autofree char *err = NULL;
      int rc = strand_test_cli (NULL, NULL, &err, "run", pipeline, "--samples", sheet, "-P",
                                STRAND_PLUGIN_BUILD_DIR, NULL);
      g_assert_cmpint (rc, ==, 1);
      if (strstr (err, cases[i][1]) == NULL)
        g_error ("case %u: expected '%s' in:\n%s", i, cases[i][1], err);
    }
  g_autofree char *pipeline = strand_test_write (f->dir, "p.json", "{\"name\": \"x\", \"stages\": []}");
  g_autofree char *bad_sheet = strand_test_write (f->dir, "bad.json",
      "{\"samples\": [{\"id\": \"../etc\"}, {\"id\": \"A\"}, {\"id\": \"A\"},"
      " {\"id\": \"B\", \"inputs\": {\"reads\": [\"missing.fq\"]}}]}");
  g_autofree char *err = NULL;
  g_assert_cmpint (strand_test_cli (NULL, NULL, &err, "run", pipeline, "--samples", bad_sheet, "-P",
                                    STRAND_PLUGIN_BUILD_DIR, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "bad.json#/samples/0: sample id must be"));
  g_assert_nonnull (strstr (err, "bad.json#/samples/2: sample id 'A' is used twice"));
  g_assert_nonnull (strstr (err, "bad.json#/samples/3/inputs/reads/0: sample 'B':"));
  g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "run", pipeline, NULL), ==, 2);
}

/* `plugins run`: one stage on a user's file; corrupt data fails with the
 * file, the line and the error class. */
static void
test_plugins_run (Fixture *f, gconstpointer data)
{
  g_autofree char *good = strand_test_write (f->dir, "good.fq", "@r1\nACGT\n+\nIIII\n@r2\nACGN\n+\nII#I\n");
  g_autofree char *bad = strand_test_write (f->dir, "bad.fq", "@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nIII\n");
  g_autofree char *runs = g_build_filename (f->dir, "runs", NULL);
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *in_good = g_strdup_printf ("reads=%s", good);
  g_autofree char *in_bad = g_strdup_printf ("reads=%s", bad);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out, NULL, "plugins", "run", "fastq-stats", "-P",
                                    STRAND_PLUGIN_BUILD_DIR,
                                    "-i", in_good, "--runs-dir", runs, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) root = parse_json (out);
  JsonObject *t = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (root), "tasks"), 0);
  JsonObject *m = json_object_get_object_member (t, "metrics");
  g_assert_cmpfloat (json_object_get_double_member (m, "reads"), ==, 2);
  g_assert_cmpfloat (json_object_get_double_member (m, "n_fraction"), ==, 0.125);

  g_autofree char *out2 = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out2, NULL, "plugins", "run", "fastq-stats", "-P",
                                    STRAND_PLUGIN_BUILD_DIR,
                                    "-i", in_bad, "--runs-dir", runs, "--store", store, NULL), ==, 1);
  g_autofree char *where = g_strdup_printf ("%s:8", bad);
  g_assert_nonnull (strstr (out2, "FAILED  invalid-input"));
  g_assert_nonnull (strstr (out2, where));

  g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "plugins", "run", "fastq-stats", "-P",
                                    STRAND_PLUGIN_BUILD_DIR, "-p", "nonsense", NULL), ==, 2);
}

/* Per-run stages: a sequencer runs once for the run and writes a run folder
 * (a directory, stored as a tree) and one file per sample; each sample's
 * merge receives its own file plus the run-wide one; a gathering stage gets
 * every sample's result tagged with its sample, and the run folder as a
 * read-only directory. The per-run reference reaches the sequencer. The
 * tree survives gc and verify checks its members. */
static void
test_per_run_routing (Fixture *f, gconstpointer data)
{
  g_autofree char *ref = strand_test_write (f->dir, "ref.txt", ">lambda\nACGT\n");
  g_autofree char *pipeline = strand_test_write (f->dir, "pipeline.json",
      "{\"name\": \"per-run\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"any\", \"per_run\": true,"
      "               \"path\": \"ref.txt\"}],"
      " \"stages\": [{\"id\": \"sequence\", \"plugin\": \"fixture-sequencer\"},"
      "              {\"id\": \"merge\", \"plugin\": \"concat\", \"params\": {\"file_name\": \"merged.txt\"}},"
      "              {\"id\": \"gather\", \"plugin\": \"fixture-gather\"}],"
      " \"edges\": [{\"from\": \"@reference\", \"to\": \"sequence.reference\"},"
      "             {\"from\": \"sequence.reads\", \"to\": \"merge.in\"},"
      "             {\"from\": \"sequence.notes\", \"to\": \"merge.in\"},"
      "             {\"from\": \"merge.out\", \"to\": \"gather.items\"},"
      "             {\"from\": \"sequence.run\", \"to\": \"gather.items\"}],"
      " \"outputs\": [\"gather.report\"]}");
  g_autofree char *sheet = strand_test_write (f->dir, "samples.json",
      "{\"samples\": [{\"id\": \"s1\", \"meta\": {\"index\": \"ACGTACGT\"}}, {\"id\": \"s2\"}]}");
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *out = NULL, *err = NULL;
  int rc = strand_test_cli (NULL, &out, &err, "run", pipeline, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                            "-P", STRAND_TEST_PLUGIN_DIR, "--store", store, "--json", NULL);
  g_assert_cmpint (rc, ==, 0);
  g_autoptr (JsonNode) root = parse_json (out);
  JsonObject *o = json_node_get_object (root);
  g_assert_cmpint (json_object_get_int_member (o, "succeeded"), ==, 4);
  JsonArray *tasks = json_object_get_array_member (o, "tasks");
  g_assert_cmpuint (json_array_get_length (tasks), ==, 4);

  JsonObject *gather = find_task (tasks, NULL, "gather");
  JsonObject *report = json_array_get_object_element (json_object_get_array_member (gather, "outputs"), 0);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (json_object_get_string_member (report, "path"), &text, NULL, NULL));
  g_assert_cmpstr (text, ==,
                   "items s1 merged.txt: s1 index=ACGTACGT ref=>lambda\n"
                   "items s2 merged.txt: s2 index=- ref=>lambda\n"
                   "items - RunFolder: directory\n"
                   "  Data/\n"
                   "  Data/empty/\n"
                   "  Data/s1.bcl: s1\n"
                   "  Data/s2.bcl: s2\n"
                   "  RunInfo.txt: samples=2\n");

  /* Each sample's merge saw its own reads and the run-wide notes, no more. */
  for (const char *const *s = (const char *const[]){ "s1", "s2", NULL }; *s; s++)
    {
      JsonObject *merge = find_task (tasks, *s, "merge");
      JsonObject *merged = json_array_get_object_element (json_object_get_array_member (merge, "outputs"), 0);
      g_autofree char *bytes = NULL;
      g_assert_true (g_file_get_contents (json_object_get_string_member (merged, "path"), &bytes, NULL, NULL));
      g_autofree char *expected = g_strdup_printf ("%s index=%s ref=>lambda\nfor everyone\n", *s,
                                                   strcmp (*s, "s1") == 0 ? "ACGTACGT" : "-");
      g_assert_cmpstr (bytes, ==, expected);
    }

  /* gc keeps the tree's members; verify checks them. */
  g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "gc", "--store", store, NULL), ==, 0);
  g_autofree char *vout = NULL;
  g_autofree char *verr = NULL;
  int vrc = strand_test_cli (NULL, &vout, &verr, "verify", "--store", store, NULL);
  if (vrc != 0)
    g_printerr ("%s%s", vout, verr);
  g_assert_cmpint (vrc, ==, 0);
  JsonObject *sequence = find_task (tasks, NULL, "sequence");
  JsonArray *outputs = json_object_get_array_member (sequence, "outputs");
  const char *tree_object = NULL;
  for (guint i = 0; i < json_array_get_length (outputs); i++)
    {
      JsonObject *out_i = json_array_get_object_element (outputs, i);
      if (strcmp (json_object_get_string_member (out_i, "port"), "run") == 0)
        tree_object = json_object_get_string_member (out_i, "path");
    }
  g_assert_nonnull (tree_object);
  g_autofree char *manifest = NULL;
  g_assert_true (g_file_get_contents (tree_object, &manifest, NULL, NULL));
  g_assert_true (g_str_has_prefix (manifest, "{\"dirs\":[\"Data\",\"Data/empty\"]"));
  /* Removing a member is found by verify. */
  g_autofree char *bcl_sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "s1", -1);
  g_autofree char *member = g_build_filename (store, "objects", "sha256", NULL);
  g_autofree char *prefix = g_strndup (bcl_sha, 2);
  g_autofree char *member_path = g_build_filename (member, prefix, bcl_sha, NULL);
  g_assert_true (g_file_test (member_path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_unlink (member_path), ==, 0);
  g_autofree char *vout2 = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &vout2, NULL, "verify", "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (vout2, bcl_sha));
}

/* A per-run input pinned to another digest stops its stage with an
 * integrity error before the stage runs; a missing one is a validation
 * problem and nothing runs. */
static void
test_per_run_input_pinned (Fixture *f, gconstpointer data)
{
  g_autofree char *ref = strand_test_write (f->dir, "ref.txt", ">lambda\n");
  g_autofree char *pipeline = strand_test_write (f->dir, "pipeline.json",
      "{\"name\": \"pinned\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"any\", \"per_run\": true, \"path\": \"ref.txt\","
      "               \"sha256\": \"0000000000000000000000000000000000000000000000000000000000000000\"}],"
      " \"stages\": [{\"id\": \"sequence\", \"plugin\": \"fixture-sequencer\"}],"
      " \"edges\": [{\"from\": \"@reference\", \"to\": \"sequence.reference\"}]}");
  g_autofree char *sheet = strand_test_write (f->dir, "samples.json", "{\"samples\": [{\"id\": \"s1\"}]}");
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out, NULL, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_TEST_PLUGIN_DIR, "--store", store, "--json", NULL), ==, 1);
  g_autoptr (JsonNode) root = parse_json (out);
  JsonObject *t = find_task (json_object_get_array_member (json_node_get_object (root), "tasks"), NULL, "sequence");
  g_assert_cmpstr (json_object_get_string_member (t, "error_class"), ==, "integrity");
  g_assert_nonnull (strstr (json_object_get_string_member (t, "message"), "pins 0000"));

  /* --input puts another file in the pinned input's place: refused too. */
  g_autofree char *other = strand_test_write (f->dir, "other.txt", ">other\n");
  g_autofree char *over = g_strdup_printf ("reference=%s", other);
  g_autofree char *out3 = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out3, NULL, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_TEST_PLUGIN_DIR, "--store", store, "--input", over, NULL), ==, 1);
  g_assert_nonnull (strstr (out3, other));
  g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_TEST_PLUGIN_DIR, "--store", store, "--input", "nosuch=x", NULL), ==, 2);

  /* One per-run stage alone, on a sample sheet. */
  g_autofree char *in = g_strdup_printf ("reference=%s", other);
  g_autofree char *two = strand_test_write (f->dir, "two.json",
                                            "{\"samples\": [{\"id\": \"a\"}, {\"id\": \"b\"}]}");
  g_autofree char *out4 = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out4, NULL, "plugins", "run", "fixture-sequencer", "-P",
                                    STRAND_TEST_PLUGIN_DIR,
                                    "--samples", two, "-i", in, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) r4 = parse_json (out4);
  JsonObject *seq = find_task (json_object_get_array_member (json_node_get_object (r4), "tasks"), NULL,
                               "fixture-sequencer");
  guint per_sample = 0;
  JsonArray *outs = json_object_get_array_member (seq, "outputs");
  for (guint i = 0; i < json_array_get_length (outs); i++)
    {
      JsonObject *o = json_array_get_object_element (outs, i);
      if (json_object_has_member (o, "sample") && !json_object_get_null_member (o, "sample"))
        per_sample++;
    }
  g_assert_cmpuint (per_sample, ==, 2);
  g_assert_cmpint (strand_test_cli (NULL, NULL, NULL, "plugins", "run", "concat", "-P", STRAND_PLUGIN_BUILD_DIR,
                                    "--samples", two, NULL), ==, 2);

  /* A directory handed in (a sequencer's run folder) arrives as a
   * read-only tree, and is recorded as one. */
  g_autofree char *folder = g_build_filename (f->dir, "RunFolder", "Data", NULL);
  g_assert_cmpint (g_mkdir_with_parents (folder, 0750), ==, 0);
  g_autofree char *bcl = strand_test_write (f->dir, "RunFolder/Data/x.bcl", "bcl bytes\n");
  g_autofree char *folder_in = g_strdup_printf ("items=%s/RunFolder", f->dir);
  g_autofree char *out5 = NULL;
  g_assert_cmpint (strand_test_cli (NULL, &out5, NULL, "plugins", "run", "fixture-gather", "-P",
                                    STRAND_TEST_PLUGIN_DIR,
                                    "--samples", two, "-i", folder_in, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) r5 = parse_json (out5);
  JsonObject *g = find_task (json_object_get_array_member (json_node_get_object (r5), "tasks"), NULL,
                             "fixture-gather");
  JsonObject *rep = json_array_get_object_element (json_object_get_array_member (g, "outputs"), 0);
  g_autofree char *listing = NULL;
  g_assert_true (g_file_get_contents (json_object_get_string_member (rep, "path"), &listing, NULL, NULL));
  g_assert_cmpstr (listing, ==, "items - RunFolder: directory\n  Data/\n  Data/x.bcl: bcl bytes\n");
  g_autofree char *lin = NULL;
  g_autofree char *folder_path = g_build_filename (f->dir, "RunFolder", NULL);
  g_assert_cmpint (strand_test_cli (NULL, &lin, NULL, "lineage", folder_path, "--store", store, NULL), ==, 0);

  g_assert_cmpint (g_unlink (ref), ==, 0);
  g_autofree char *err = NULL;
  g_assert_cmpint (strand_test_cli (NULL, NULL, &err, "run", pipeline, "--samples", sheet, "-P",
                                    STRAND_TEST_PLUGIN_DIR, "--store", store, NULL), ==, 1);
  g_autofree char *where = g_strdup_printf ("%s#/inputs/0", pipeline);
  g_assert_nonnull (strstr (err, where));
  g_assert_nonnull (strstr (err, "missing-input-file"));
  g_assert_nonnull (strstr (err, "nothing was run"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/run/demo-pipeline", Fixture, NULL, fixture_setup, test_demo_pipeline, fixture_teardown);
  g_test_add ("/run/failures-isolated", Fixture, NULL, fixture_setup, test_failures_isolated, fixture_teardown);
  g_test_add ("/run/invalid-pipeline-refused", Fixture, NULL, fixture_setup, test_invalid_pipeline_refused, fixture_teardown);
  g_test_add ("/run/bad-files", Fixture, NULL, fixture_setup, test_bad_files, fixture_teardown);
  g_test_add ("/run/per-run-routing", Fixture, NULL, fixture_setup, test_per_run_routing, fixture_teardown);
  g_test_add ("/run/per-run-input-pinned", Fixture, NULL, fixture_setup, test_per_run_input_pinned, fixture_teardown);
  g_test_add ("/run/plugins-run", Fixture, NULL, fixture_setup, test_plugins_run, fixture_teardown);
  return g_test_run ();
}
