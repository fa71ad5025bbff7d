/* What leaves the host about a run, checked from the user's side: the
 * PROV-JSON export against the W3C schema and python3-prov, the RO-Crate as
 * JSON-LD against the run crate profiles (rdflib and SPARQL), the lineage
 * picture through Graphviz, the run diff answering "why did this result
 * change?", and one clear error for a run the store does not have or a
 * record that was changed. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "test-util.h"

static char *tmp;
static char *store;
static char *run1; /* the demo pipeline on samples A and B */
static char *run2; /* the same with lane2's seed changed from 2 to 3 */

/* Runs argv; returns the exit status; `out` gets stdout, `err` stderr. */
static int
spawn (char **out, char **err, const char *const *argv)
{
  int status = 0;
  g_autofree char *o = NULL, *e = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &o, &e,
                               &status, &error));
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("$ %s ...\n%s%s", argv[1], o, e);
  if (out)
    *out = g_steal_pointer (&o);
  if (err)
    *err = g_steal_pointer (&e);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

static int
strand (char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) STRAND_CLI);
  va_list ap;
  va_start (ap, err);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return spawn (out, err, (const char *const *) argv->pdata);
}

static JsonNode *
parse (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (p, text, -1, &error));
  return json_node_copy (json_parser_get_root (p));
}

static char *
run_pipeline (const char *pipeline)
{
  g_autofree char *sheet = g_build_filename (tmp, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}, {\"id\": \"B\"}]}", -1, NULL));
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, NULL, "run", pipeline, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                           "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) summary = parse (strstr (out, "{"));
  return g_strdup (json_object_get_string_member (json_node_get_object (summary), "run_id"));
}

/* The demo pipeline as shipped, and a copy whose lane 2 uses another seed. */
static void
make_runs (void)
{
  const char *demo = STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.json";
  run1 = run_pipeline (demo);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (demo, &text, NULL, NULL));
  const char *needle = "\"seed\": 2";
  char *at = strstr (text, needle);
  g_assert_nonnull (at);
  at[strlen (needle) - 1] = '3';
  g_autofree char *changed = g_build_filename (tmp, "fastq-demo-seed3.json", NULL);
  g_assert_true (g_file_set_contents (changed, text, -1, NULL));
  run2 = run_pipeline (changed);
}

static int
python (char **out, const char *script, const char *a1, const char *a2, const char *a3)
{
  g_autofree char *path = g_build_filename (STRAND_SOURCE_ROOT, "tests", "export", script, NULL);
  const char *argv[] = { PYTHON3, path, a1, a2, a3, NULL };
  g_autofree char *err = NULL;
  int status = spawn (out, &err, argv);
  if (status != 0)
    g_printerr ("%s%s", out ? *out : "", err);
  return status;
}

static void
test_prov_json (void)
{
  g_autofree char *file = g_build_filename (tmp, "run1.prov.json", NULL);
  g_assert_cmpint (strand (NULL, NULL, "export", run1, "--prov-json", "-o", file, "--store", store, NULL), ==, 0);
  g_autofree char *out = NULL;
  g_assert_cmpint (python (&out, "check-prov.py", file,
                           STRAND_SOURCE_ROOT "/tests/fixtures/export/prov-json.schema.json", "8"), ==, 0);
  g_assert_nonnull (strstr (out, "8 activities"));

  /* Without -o the same document goes to stdout. */
  g_autofree char *stdout_doc = NULL, *file_doc = NULL;
  g_assert_cmpint (strand (&stdout_doc, NULL, "export", run1, "--prov-json", "--store", store, NULL), ==, 0);
  g_assert_true (g_file_get_contents (file, &file_doc, NULL, NULL));
  g_assert_cmpstr (stdout_doc, ==, file_doc);

  /* The parameters and the plugin's digest are there, as recorded. */
  g_autoptr (JsonNode) doc = parse (file_doc);
  JsonObject *acts = json_object_get_object_member (json_node_get_object (doc), "activity");
  guint seeds = 0;
  GList *ids = json_object_get_members (acts);
  for (GList *l = ids; l; l = l->next)
    {
      JsonObject *a = json_object_get_object_member (acts, l->data);
      g_assert_cmpuint (strlen (json_object_get_string_member (a, "strand:pluginSha256")), ==, 64);
      if (json_object_has_member (a, "param:seed"))
        seeds++;
    }
  g_list_free (ids);
  g_assert_cmpuint (seeds, ==, 4); /* lane1 and lane2 of two samples */
}

static void
test_ro_crate (void)
{
  g_autofree char *crate = g_build_filename (tmp, "crate", NULL);
  g_autofree char *before = NULL, *after = NULL;
  g_assert_cmpint (strand (&before, NULL, "verify", "--store", store, NULL), ==, 0);
  g_assert_cmpint (strand (NULL, NULL, "export", run1, "--ro-crate", crate, "--store", store, NULL), ==, 0);
  g_autofree char *out = NULL;
  g_assert_cmpint (python (&out, "check-rocrate.py", crate,
                           STRAND_SOURCE_ROOT "/tests/fixtures/export/ro-crate-1.1-context.excerpt.jsonld",
                           "8"), ==, 0);
  g_assert_nonnull (strstr (out, "8 files checked on disk: ok"));

  /* Each file left the store by a recorded materialisation: eight more
   * records, and the store still verifies. */
  g_assert_cmpint (strand (&after, NULL, "verify", "--store", store, NULL), ==, 0);
  guint64 n_before = g_ascii_strtoull (strstr (before, ": ") + 2, NULL, 10);
  guint64 n_after = g_ascii_strtoull (strstr (after, ": ") + 2, NULL, 10);
  g_assert_cmpuint (n_after, ==, n_before + 8);
  g_autofree char *qc = g_build_filename (crate, "data", "A", "qc", "stats", "stats.json", NULL);
  g_autofree char *lineage = NULL;
  g_assert_cmpint (strand (&lineage, NULL, "lineage", qc, "--store", store, "--json", NULL), ==, 0);
  g_assert_nonnull (strstr (lineage, "\"matched\" : \"path\""));

  /* A crate is written into a new directory, never over one. */
  g_autofree char *err = NULL;
  g_assert_cmpint (strand (NULL, &err, "export", run1, "--ro-crate", crate, "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "not an empty directory"));
}

static JsonObject *
stage_of (JsonArray *stages, const char *sample, const char *stage)
{
  for (guint i = 0; i < json_array_get_length (stages); i++)
    {
      JsonObject *s = json_array_get_object_element (stages, i);
      if (!strcmp (json_object_get_string_member (s, "stage"), stage) &&
          !g_strcmp0 (json_object_get_string_member (s, "sample"), sample))
        return s;
    }
  return NULL;
}

static void
test_diff (void)
{
  /* A run against itself: nothing differs, exit 0. */
  g_autofree char *same = NULL;
  g_assert_cmpint (strand (&same, NULL, "diff", run1, run1, "--store", store, NULL), ==, 0);
  g_assert_nonnull (strstr (same, "outputs identical"));

  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, NULL, "diff", run1, run2, "--store", store, "--json", NULL), ==, 1);
  g_autoptr (JsonNode) diff = parse (out);
  JsonObject *root = json_node_get_object (diff);
  g_assert_false (json_object_get_boolean_member (root, "identical_outputs"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "only_in_first")), ==, 0);
  JsonArray *stages = json_object_get_array_member (root, "stages");
  const char *samples[] = { "A", "B" };
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      /* Lane 1 did not change and is not listed. */
      g_assert_null (stage_of (stages, samples[i], "lane1"));
      /* Lane 2: exactly the one parameter, and so its output. */
      JsonObject *lane2 = stage_of (stages, samples[i], "lane2");
      g_assert_nonnull (lane2);
      JsonObject *changes = json_object_get_object_member (lane2, "changes");
      JsonObject *params = json_object_get_object_member (changes, "params");
      g_assert_cmpuint (json_object_get_size (params), ==, 1);
      JsonObject *seed = json_object_get_object_member (params, "seed");
      g_assert_cmpstr (json_object_get_string_member (seed, "first"), ==, "2");
      g_assert_cmpstr (json_object_get_string_member (seed, "second"), ==, "3");
      g_assert_true (json_object_has_member (changes, "outputs"));
      g_assert_false (json_object_has_member (changes, "inputs"));
      g_assert_false (json_object_get_boolean_member (lane2, "unexplained"));
      /* Downstream: new inputs, new outputs, no parameter changed. */
      const char *downstream[] = { "merge", "qc" };
      for (guint k = 0; k < G_N_ELEMENTS (downstream); k++)
        {
          JsonObject *s = stage_of (stages, samples[i], downstream[k]);
          g_assert_nonnull (s);
          JsonObject *c = json_object_get_object_member (s, "changes");
          g_assert_true (json_object_has_member (c, "inputs"));
          g_assert_true (json_object_has_member (c, "outputs"));
          g_assert_false (json_object_has_member (c, "params"));
          g_assert_false (json_object_has_member (c, "plugin_sha256"));
        }
    }
  g_assert_cmpuint (json_array_get_length (stages), ==, 6);

  /* The text form says the same for people. */
  g_autofree char *text = NULL;
  g_assert_cmpint (strand (&text, NULL, "diff", run1, run2, "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (text, "A/lane2: parameter seed: 2 -> 3"));
  g_assert_nonnull (strstr (text, "outputs differ"));
}

static void
test_lineage_dot (void)
{
  g_autofree char *json = NULL;
  g_assert_cmpint (strand (&json, NULL, "lineage", run1, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) lineage = parse (json);
  JsonArray *acts = json_object_get_array_member (json_node_get_object (lineage), "activities");
  const char *qc = NULL;
  for (guint i = 0; i < json_array_get_length (acts); i++)
    {
      JsonObject *a = json_array_get_object_element (acts, i);
      if (!strcmp (json_object_get_string_member (a, "stage"), "qc") &&
          !strcmp (json_object_get_string_member (a, "sample"), "A"))
        qc = json_array_get_string_element (json_object_get_array_member (a, "generated"), 0);
    }
  g_assert_nonnull (qc);

  g_autofree char *graph = NULL;
  g_assert_cmpint (strand (&graph, NULL, "lineage", qc, "--store", store, "--dot", NULL), ==, 0);
  /* Sample A's four stage runs and their four data items, nothing of B;
   * lane 1 made the same bytes in both runs (same seed), so its item has
   * two producers: five activities. */
  guint activities = 0, items = 0, used = 0, generated = 0;
  g_auto (GStrv) lines = g_strsplit (graph, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (g_str_has_prefix (lines[i], "  \"a:") && strstr (lines[i], "shape=ellipse"))
        activities++;
      if (g_str_has_prefix (lines[i], "  \"e:") && strstr (lines[i], "shape=box"))
        items++;
      used += strstr (lines[i], "[label=\"used\"]") != NULL;
      generated += strstr (lines[i], "[label=\"generated\"]") != NULL;
      g_assert_null (strstr (lines[i], "sample B"));
    }
  g_assert_cmpuint (activities, ==, 5);
  g_assert_cmpuint (items, ==, 4);
  g_assert_cmpuint (used, ==, 3);
  g_assert_cmpuint (generated, ==, 5);
  g_autofree char *node = g_strdup_printf ("\"e:%s\" [shape=box", qc);
  g_assert_nonnull (strstr (graph, node));
  g_assert_nonnull (strstr (graph, "A/qc"));

  /* Graphviz accepts it. */
  g_autofree char *dot_file = g_build_filename (tmp, "lineage.dot", NULL);
  g_autofree char *svg_file = g_build_filename (tmp, "lineage.svg", NULL);
  g_assert_true (g_file_set_contents (dot_file, graph, -1, NULL));
  const char *argv[] = { DOT_PROG, "-Tsvg", dot_file, "-o", svg_file, NULL };
  g_assert_cmpint (spawn (NULL, NULL, argv), ==, 0);
  g_autofree char *svg = NULL;
  g_assert_true (g_file_get_contents (svg_file, &svg, NULL, NULL));
  g_assert_nonnull (strstr (svg, "<svg"));
  g_assert_nonnull (strstr (svg, "A/qc"));
}

/* Inputs a sample sheet names, which the run brings into the store with
 * an ingest record each: their records give the path, sample, operator
 * (and the format, for the one the operator ingested first with
 * --format), and the crate carries their bytes. */
static void
test_ingested_inputs (void)
{
  g_autofree char *dir = g_build_filename (tmp, "inputs", NULL);
  g_autofree char *st = g_build_filename (dir, "store", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0750), ==, 0);
  const char *names[] = { "reads.fq", "other.fq" };
  for (guint f = 0; f < G_N_ELEMENTS (names); f++)
    {
      GString *fq = g_string_new (NULL);
      for (guint i = 0; i < 20 + 10 * f; i++)
        g_string_append_printf (fq, "@r%u\nACGTACGTTGCA%c\n+\nIIIIIIIIIIII%c\n", i, "ACGT"[i % 4], 'I');
      g_autofree char *path = g_build_filename (dir, names[f], NULL);
      g_assert_true (g_file_set_contents (path, fq->str, -1, NULL));
      g_string_free (fq, TRUE);
    }
  g_autofree char *pipeline = g_build_filename (dir, "qc.json", NULL);
  g_assert_true (g_file_set_contents (pipeline,
      "{\"name\": \"qc-only\", \"inputs\": [{\"name\": \"reads\", \"formats\": \"fastq\"}],"
      " \"stages\": [{\"id\": \"qc\", \"plugin\": \"fastq-stats\", \"version\": \"^0.1\","
      " \"params\": {\"min_reads\": 1}}],"
      " \"edges\": [{\"from\": \"@reads\", \"to\": \"qc.reads\"}], \"outputs\": [\"qc.stats\"]}", -1, NULL));
  g_autofree char *sheet = g_build_filename (dir, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet,
      "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"reads\": [\"reads.fq\"]}},"
      " {\"id\": \"S2\", \"inputs\": {\"reads\": [\"other.fq\"]}}]}", -1, NULL));
  g_autofree char *reads = g_build_filename (dir, "reads.fq", NULL);
  g_assert_cmpint (strand (NULL, NULL, "ingest", reads, "--sample", "S1", "--format", "fastq", "--store", st,
                           NULL), ==, 0);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, NULL, "run", pipeline, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                           "--store", st, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) summary = parse (strstr (out, "{"));
  const char *run = json_object_get_string_member (json_node_get_object (summary), "run_id");

  g_autofree char *prov_file = g_build_filename (dir, "prov.json", NULL);
  g_assert_cmpint (strand (NULL, NULL, "export", run, "--prov-json", "-o", prov_file, "--store", st, NULL), ==, 0);
  g_assert_cmpint (python (NULL, "check-prov.py", prov_file,
                           STRAND_SOURCE_ROOT "/tests/fixtures/export/prov-json.schema.json", "2"), ==, 0);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (prov_file, &text, NULL, NULL));
  g_autoptr (JsonNode) doc = parse (text);
  JsonObject *root = json_node_get_object (doc);
  JsonObject *entities = json_object_get_object_member (root, "entity");
  g_autofree char *other = g_build_filename (dir, "other.fq", NULL);
  guint inputs = 0;
  GList *ids = json_object_get_members (entities);
  for (GList *l = ids; l; l = l->next)
    {
      JsonObject *e = json_object_get_object_member (entities, l->data);
      if (!json_object_has_member (e, "strand:path"))
        continue;
      inputs++;
      g_assert_true (json_object_get_boolean_member (e, "strand:inStore"));
      const char *path = json_object_get_string_member (e, "strand:path");
      if (!strcmp (path, reads))
        {
          /* The first ingest record is the operator's, with its format. */
          g_assert_cmpstr (json_object_get_string_member (e, "strand:format"), ==, "fastq");
          g_assert_cmpint (json_object_get_int_member (e, "strand:ingestRecord"), ==, 1);
          g_assert_cmpstr (json_object_get_string_member (e, "strand:sample"), ==, "S1");
        }
      else
        {
          g_assert_cmpstr (path, ==, other);
          g_assert_cmpstr (json_object_get_string_member (e, "strand:sample"), ==, "S2");
        }
    }
  g_list_free (ids);
  g_assert_cmpuint (inputs, ==, 2);
  JsonObject *agents = json_object_get_object_member (root, "agent");
  g_assert_true (json_object_has_member (agents, "operator:auditor"));
  JsonObject *op = json_object_get_object_member (agents, "operator:auditor");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (op, "prov:type"), "$"), ==,
                   "prov:Person");

  g_autofree char *crate = g_build_filename (dir, "crate", NULL);
  g_assert_cmpint (strand (NULL, NULL, "export", run, "--ro-crate", crate, "--store", st, NULL), ==, 0);
  g_assert_cmpint (python (NULL, "check-rocrate.py", crate,
                           STRAND_SOURCE_ROOT "/tests/fixtures/export/ro-crate-1.1-context.excerpt.jsonld",
                           "2"), ==, 0);
  const char *files[] = { "reads.fq", "other.fq" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *copy = g_build_filename (crate, "data", "inputs", files[i], NULL);
      g_autofree char *original = g_build_filename (dir, files[i], NULL);
      g_autofree char *a = NULL, *b = NULL;
      g_assert_true (g_file_get_contents (copy, &a, NULL, NULL));
      g_assert_true (g_file_get_contents (original, &b, NULL, NULL));
      g_assert_cmpstr (a, ==, b);
    }
}

/* One line, naming what is wrong; exit 1 (2 for diff, as diff(1)). */
static void
test_hostile (void)
{
  g_autofree char *err = NULL;
  g_assert_cmpint (strand (NULL, &err, "export", "20990101T000000Z-nosuchrun", "--prov-json", "--store",
                           store, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "no run '20990101T000000Z-nosuchrun'"));
  g_assert_cmpuint (strlen (err), ==, (gsize) (strchr (err, '\n') - err) + 1);
  g_autofree char *err2 = NULL;
  g_assert_cmpint (strand (NULL, &err2, "diff", run1, "nosuchrun", "--store", store, NULL), ==, 2);
  g_assert_nonnull (strstr (err2, "no run 'nosuchrun'"));
  g_autofree char *err3 = NULL;
  g_autofree char *nowhere = g_build_filename (tmp, "not-a-store", NULL);
  g_assert_cmpint (strand (NULL, &err3, "export", run1, "--prov-json", "--store", nowhere, NULL), ==, 1);
  g_assert_nonnull (strstr (err3, "is not a Strand store"));
  g_assert_false (g_file_test (nowhere, G_FILE_TEST_EXISTS)); /* nothing created */

  /* A changed byte in one of the run's records: the export refuses,
   * naming the record, and writes nothing. */
  g_autofree char *log = g_build_filename (store, "ledger", "log.jsonl", NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (log, &text, &len, NULL));
  char *second = strchr (text, '\n') + 1; /* record 2: lane2 of sample A in run 1 */
  gsize offset = (gsize) (second - text) + 300;
  g_chmod (log, 0644);
  text[offset] ^= 0x01;
  g_assert_true (g_file_set_contents (log, text, (gssize) len, NULL));
  g_autofree char *err4 = NULL;
  g_autofree char *crate = g_build_filename (tmp, "crate-of-damaged", NULL);
  g_assert_cmpint (strand (NULL, &err4, "export", run1, "--ro-crate", crate, "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (err4, "record 2"));
  g_assert_false (g_file_test (crate, G_FILE_TEST_EXISTS));
  text[offset] ^= 0x01;
  g_assert_true (g_file_set_contents (log, text, (gssize) len, NULL));
  g_assert_cmpint (strand (NULL, NULL, "export", run1, "--prov-json", "--store", store, NULL), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-export-XXXXXX", NULL);
  store = g_build_filename (tmp, "store", NULL);
  g_setenv ("STRAND_OPERATOR", "auditor", TRUE);
  make_runs ();
  g_test_add_func ("/export/prov-json", test_prov_json);
  g_test_add_func ("/export/ro-crate", test_ro_crate);
  g_test_add_func ("/export/diff", test_diff);
  g_test_add_func ("/export/lineage-dot", test_lineage_dot);
  g_test_add_func ("/export/ingested-inputs", test_ingested_inputs);
  g_test_add_func ("/export/hostile", test_hostile);
  int status = g_test_run ();
  strand_test_remove_tree (tmp);
  g_free (run1);
  g_free (run2);
  g_free (store);
  g_free (tmp);
  return status;
}
