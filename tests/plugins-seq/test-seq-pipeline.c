/* The sequencing stages in a pipeline run by the strand command: the
 * simulated sequencer writes a run folder the host stores as a tree,
 * basecall demultiplexes it once for the run, and each sample's reads reach
 * that sample's tasks only. Index collisions stop the run before it
 * starts. With bwa, samtools and bcftools installed, the whole chain calls
 * the simulator's variants back with precision and recall of at least 0.95
 * on every sample. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "seq-test-util.h"
#include "test-util.h"

typedef struct {
  char *dir;
  char *store;
  char *reference;
} Fixture;

static const gsize contig_lengths[] = { 9000, 3000 };

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-seq-pipeline-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->store = g_build_filename (f->dir, "store", NULL);
  f->reference = g_build_filename (f->dir, "reference.fa", NULL);
  g_autoptr (GPtrArray) seqs = seq_test_write_reference (f->reference, contig_lengths,
                                                         G_N_ELEMENTS (contig_lengths), 11);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->store);
  g_free (f->reference);
}

static char *
write_file (Fixture *f, const char *name, const char *contents)
{
  char *path = g_build_filename (f->dir, name, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return path;
}

/* Runs `strand ARGS...`; returns the exit status, and what it printed. */
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
  int status = 0;
  g_autofree char *o = NULL, *e = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &o, &e, &status, &error));
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("%s%s", o, e);
  if (out)
    *out = g_steal_pointer (&o);
  if (err)
    *err = g_steal_pointer (&e);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
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
find_task (JsonNode *run, const char *sample, const char *stage)
{
  JsonArray *tasks = json_object_get_array_member (json_node_get_object (run), "tasks");
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      JsonNode *s = json_object_get_member (t, "sample");
      const char *id = s && !JSON_NODE_HOLDS_NULL (s) ? json_node_get_string (s) : NULL;
      if (g_strcmp0 (id, sample) == 0 && g_strcmp0 (json_object_get_string_member (t, "stage"), stage) == 0)
        return t;
    }
  g_error ("no task %s of %s", stage, sample ? sample : "the run");
}

static double
metric (JsonObject *task, const char *name)
{
  JsonObject *m = json_object_get_object_member (task, "metrics");
  g_assert_true (json_object_has_member (m, name));
  return json_object_get_double_member (m, name);
}

/* The sha256 of each output of a task, in order. */
static char *
output_digests (JsonObject *task)
{
  GString *s = g_string_new (NULL);
  JsonArray *outputs = json_object_get_array_member (task, "outputs");
  for (guint i = 0; i < json_array_get_length (outputs); i++)
    g_string_append_printf (s, "%s ", json_object_get_string_member (
                                          json_array_get_object_element (outputs, i), "sha256"));
  return g_string_free (s, FALSE);
}

static const char samples_tsv[] = "sample_id\tindex\tindex2\n"
                                  "S1\t\t\n"
                                  "S2\tCTTGTAAT\tAGATCTCG\n"
                                  "S3\t\t\n";

static char *
pipeline (Fixture *f, const char *name, gboolean variants)
{
  g_autofree char *text = g_strdup_printf (
      "{\"name\": \"sequencing\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"fasta\", \"per_run\": true,"
      "               \"path\": \"%s\"}],"
      " \"stages\": [{\"id\": \"sequencer\", \"plugin\": \"simulate-run\","
      "               \"params\": {\"seed\": 9, \"coverage\": 40, \"read_length\": 100,"
      "                          \"snv_rate\": 0.003, \"tiles\": 3}},"
      "              {\"id\": \"demux\", \"plugin\": \"basecall\"},"
      "              {\"id\": \"qc\", \"plugin\": \"fastq-qc\"}%s],"
      " \"edges\": [{\"from\": \"@reference\", \"to\": \"sequencer.reference\"},"
      "             {\"from\": \"sequencer.run\", \"to\": \"demux.run\"},"
      "             {\"from\": \"demux.read1\", \"to\": \"qc.reads\"},"
      "             {\"from\": \"demux.read2\", \"to\": \"qc.reads\"}%s],"
      " \"outputs\": [\"demux.stats\", \"demux.undetermined\", \"sequencer.truth\","
      "               \"sequencer.truth_index\", \"sequencer.read_truth\", \"qc.report\","
      "               \"qc.trimmed\"%s]}",
      f->reference,
      variants ? ", {\"id\": \"index\", \"plugin\": \"bwa-index\"},"
                 " {\"id\": \"align\", \"plugin\": \"align\"},"
                 " {\"id\": \"call\", \"plugin\": \"call\"},"
                 " {\"id\": \"compare\", \"plugin\": \"vcf-compare\"}" : "",
      variants ? ", {\"from\": \"@reference\", \"to\": \"index.reference\"},"
                 " {\"from\": \"index.index\", \"to\": \"align.reference\"},"
                 " {\"from\": \"demux.read1\", \"to\": \"align.reads\"},"
                 " {\"from\": \"demux.read2\", \"to\": \"align.reads\"},"
                 " {\"from\": \"index.index\", \"to\": \"call.reference\"},"
                 " {\"from\": \"align.bam\", \"to\": \"call.bam\"},"
                 " {\"from\": \"align.index\", \"to\": \"call.index\"},"
                 " {\"from\": \"call.vcf\", \"to\": \"compare.vcf\"},"
                 " {\"from\": \"sequencer.truth\", \"to\": \"compare.truth\"}" : "",
      variants ? ", \"call.index\", \"compare.report\"" : "");
  return write_file (f, name, text);
}

static JsonNode *
run (Fixture *f, const char *pipeline_path, const char *sheet)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = strand (&out, &err, "run", pipeline_path, "--samples", sheet, "-P",
                       STRAND_PLUGIN_BUILD_DIR, "--store", f->store, "--json", NULL);
  if (status != 0)
    g_error ("strand run failed (%d): %s%s", status, out, err);
  return parse_json (out);
}

static void
test_demultiplexed_run (Fixture *f, gconstpointer data)
{
  g_autofree char *sheet = write_file (f, "samples.tsv", samples_tsv);
  g_autofree char *p = pipeline (f, "p.json", FALSE);
  g_autoptr (JsonNode) root = run (f, p, sheet);
  JsonObject *demux = find_task (root, NULL, "demux");
  JsonObject *sequencer = find_task (root, NULL, "sequencer");
  g_assert_cmpfloat (metric (demux, "clusters_raw"), ==, metric (sequencer, "clusters_raw"));

  /* Each sample's reads went to its own QC task, and to no other. */
  const char *ids[] = { "S1", "S2", "S3" };
  JsonArray *outputs = json_object_get_array_member (demux, "outputs");
  for (int s = 0; s < 3; s++)
    {
      guint mine = 0;
      for (guint i = 0; i < json_array_get_length (outputs); i++)
        {
          JsonObject *o = json_array_get_object_element (outputs, i);
          JsonNode *sample = json_object_get_member (o, "sample");
          if (!JSON_NODE_HOLDS_NULL (sample) && strcmp (json_node_get_string (sample), ids[s]) == 0)
            mine++;
        }
      g_assert_cmpuint (mine, ==, 2); /* read 1 and read 2 */
      g_autofree char *name = g_strdup_printf ("sample.%s.clusters", ids[s]);
      double clusters = metric (demux, name);
      g_assert_cmpfloat (clusters, >, 1000);
      g_assert_cmpfloat (metric (find_task (root, ids[s], "qc"), "reads"), ==, 2 * clusters);
    }

  /* The same run again: the deterministic stages give the same digests. */
  g_autoptr (JsonNode) again = run (f, p, sheet);
  g_autofree char *a = output_digests (sequencer);
  g_autofree char *b = output_digests (find_task (again, NULL, "sequencer"));
  g_assert_cmpstr (a, ==, b);
  g_autofree char *c = output_digests (demux);
  g_autofree char *d = output_digests (find_task (again, NULL, "demux"));
  g_assert_cmpstr (c, ==, d);
}

/* Colliding indices in the samples' metadata stop the run: basecall's
 * validate callback refuses them before the run, where the host calls it,
 * and its run refuses them before writing anything. Exact matching tells
 * the same samples apart. */
static void
test_collision_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *sheet = write_file (f, "collide.tsv",
                                       "sample_id\tindex\tindex2\n"
                                       "S1\tACGTACGT\tTTGGCCAA\n"
                                       "S2\tACGTACGA\tTTGGCCAT\n");
  g_autofree char *p = pipeline (f, "p.json", FALSE);
  g_autofree char *out = NULL, *err = NULL;
  int status = strand (&out, &err, "run", p, "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR,
                       "--store", f->store, NULL);
  g_assert_cmpint (status, !=, 0);
  g_autofree char *both = g_strconcat (out, err, NULL);
  g_assert_nonnull (strstr (both, "index collision: samples 'S1' "));
  g_assert_nonnull (strstr (both, "(ACGTACGT+TTGGCCAA) and 'S2' "));
  g_assert_nonnull (strstr (both, "(ACGTACGA+TTGGCCAT) differ in 1 i7 and 1 i5 positions"));
  g_assert_null (strstr (both, "qc             ok"));

  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (p, &text, NULL, NULL));
  g_auto (GStrv) parts = g_strsplit (text, "{\"id\": \"demux\", \"plugin\": \"basecall\"}", 2);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  g_autofree char *joined = g_strjoinv ("{\"id\": \"demux\", \"plugin\": \"basecall\", "
                                        "\"params\": {\"mismatches\": 0}}", parts);
  g_autofree char *strict = write_file (f, "strict.json", joined);
  g_autoptr (JsonNode) root = run (f, strict, sheet);
  JsonObject *demux = find_task (root, NULL, "demux");
  g_assert_cmpfloat (metric (demux, "sample.S1.clusters"), >, 1000);
  g_assert_cmpfloat (metric (demux, "sample.S2.clusters"), >, 1000);
}

static void
test_variants_called (Fixture *f, gconstpointer data)
{
  const char *tools[] = { "bwa", "samtools", "bcftools" };
  for (gsize i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      g_autofree char *found = g_find_program_in_path (tools[i]);
      if (found == NULL)
        {
          g_test_skip ("bwa, samtools and bcftools are needed");
          return;
        }
    }
  g_autofree char *sheet = write_file (f, "samples.tsv", samples_tsv);
  g_autofree char *p = pipeline (f, "p.json", TRUE);
  g_autoptr (JsonNode) root = run (f, p, sheet);
  const char *ids[] = { "S1", "S2", "S3" };
  for (int s = 0; s < 3; s++)
    {
      JsonObject *compare = find_task (root, ids[s], "compare");
      g_test_message ("%s: %g SNVs, precision %g, recall %g", ids[s], metric (compare, "snvs"),
                      metric (compare, "snv_precision"), metric (compare, "snv_recall"));
      g_assert_cmpfloat (metric (compare, "snvs"), >, 10);
      g_assert_cmpfloat (metric (compare, "snv_precision"), >=, 0.95);
      g_assert_cmpfloat (metric (compare, "snv_recall"), >=, 0.95);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/seq-pipeline/demultiplexed-run", Fixture, NULL, fixture_setup,
              test_demultiplexed_run, fixture_teardown);
  g_test_add ("/seq-pipeline/collision-refused", Fixture, NULL, fixture_setup,
              test_collision_refused, fixture_teardown);
  g_test_add ("/seq-pipeline/variants-called", Fixture, NULL, fixture_setup, test_variants_called,
              fixture_teardown);
  return g_test_run ();
}
