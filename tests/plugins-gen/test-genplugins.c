/* The genomic stage plugins (fastq-qc, bwa-index, align, call, vcf-compare)
 * from the operator's side: real tools on small real and simulated data,
 * through `strand plugins run` and `strand run`. QC figures are checked
 * against an independent recount (gendata.py), trimming against planted
 * adapters, calls against planted SNVs, and each bad input against the
 * failure class and message a user gets. */
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "test-util.h"

#define GENDATA STRAND_SOURCE_ROOT "/tests/plugins-gen/gendata.py"
#define LAMBDA "/usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz"
#define N_SNVS 6

typedef struct {
  char *dir;
  char *store;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-gen-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->store = g_build_filename (f->dir, "store", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->store);
}

/* Runs argv (NULL-terminated); returns the exit status and its output. */
static int
spawn (char **out, char **err, const char *const *argv)
{
  int status = 0;
  g_autofree char *o = NULL, *e = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
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

static JsonNode *
load_json (const char *path)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return parse_json (text);
}

static char *
write_file (Fixture *f, const char *name, const char *contents)
{
  char *path = g_build_filename (f->dir, name, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return path;
}

static void
gendata (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) "python3");
  g_ptr_array_add (argv, (char *) GENDATA);
  for (; *args; args++)
    g_ptr_array_add (argv, (char *) *args);
  g_ptr_array_add (argv, NULL);
  g_assert_cmpint (spawn (NULL, NULL, (const char *const *) argv->pdata), ==, 0);
}

/* `strand plugins run NAME ARGS... --json`: the exit status and the one
 * task of the run. */
static int
plugins_run (Fixture *f, JsonNode **root, const char *name, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) STRAND_CLI);
  g_ptr_array_add (argv, (char *) "plugins");
  g_ptr_array_add (argv, (char *) "run");
  g_ptr_array_add (argv, (char *) name);
  va_list ap;
  va_start (ap, name);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  const char *tail[] = { "-P", STRAND_PLUGIN_BUILD_DIR, "--store", f->store, "--json", NULL };
  for (const char **t = tail; *t; t++)
    g_ptr_array_add (argv, (char *) *t);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL;
  int rc = spawn (&out, NULL, (const char *const *) argv->pdata);
  *root = parse_json (out);
  return rc;
}

static JsonObject *
only_task (JsonNode *root)
{
  JsonArray *tasks = json_object_get_array_member (json_node_get_object (root), "tasks");
  g_assert_cmpuint (json_array_get_length (tasks), ==, 1);
  return json_array_get_object_element (tasks, 0);
}

static JsonObject *
find_task (JsonNode *root, const char *sample, const char *stage)
{
  JsonArray *tasks = json_object_get_array_member (json_node_get_object (root), "tasks");
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      const char *s = json_object_get_string_member_with_default (t, "sample", NULL);
      if ((sample == NULL || g_strcmp0 (s, sample) == 0) &&
          g_strcmp0 (json_object_get_string_member (t, "stage"), stage) == 0)
        return t;
    }
  g_assert_not_reached ();
}

/* The path of the `index`-th output of `port`. */
static const char *
output_path (JsonObject *task, const char *port, guint index)
{
  JsonArray *outs = json_object_get_array_member (task, "outputs");
  for (guint i = 0; i < json_array_get_length (outs); i++)
    {
      JsonObject *o = json_array_get_object_element (outs, i);
      if (g_strcmp0 (json_object_get_string_member (o, "port"), port) == 0 && index-- == 0)
        return json_object_get_string_member (o, "path");
    }
  g_assert_not_reached ();
}

static double
metric (JsonObject *task, const char *name)
{
  return json_object_get_double_member (json_object_get_object_member (task, "metrics"), name);
}

static void
assert_failed (JsonObject *task, const char *error_class, const char *needle)
{
  g_assert_cmpstr (json_object_get_string_member (task, "status"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (task, "error_class"), ==, error_class);
  const char *msg = json_object_get_string_member (task, "message");
  if (strstr (msg, needle) == NULL)
    g_error ("message '%s' does not say '%s'", msg, needle);
}

/* Decompresses a gzip file into memory. */
static char *
gunzip (const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) raw = g_file_read (file, NULL, NULL);
  g_assert_nonnull (raw);
  g_autoptr (GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr (GInputStream) in = g_converter_input_stream_new (G_INPUT_STREAM (raw), G_CONVERTER (z));
  g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_assert_cmpint (g_output_stream_splice (mem, in, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, NULL),
                   >=, 0);
  g_assert_true (g_output_stream_write_all (mem, "", 1, NULL, NULL, NULL));
  g_assert_true (g_output_stream_close (mem, NULL, NULL));
  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (mem));
}

static void
assert_close (double got, double want, double tolerance, const char *what)
{
  if (fabs (got - want) > tolerance)
    g_error ("%s: %.6f, the recount says %.6f", what, got, want);
}

/* ---- fastq-qc ------------------------------------------------------------- */

/* Every figure of the report agrees with an independent recount; R2 given
 * first is still read as mate 2. */
static void
test_qc_recount (Fixture *f, gconstpointer data)
{
  gendata ((const char *[]){ "qc-reads", f->dir, NULL });
  g_autofree char *r1 = g_build_filename (f->dir, "S1_R1.fastq.gz", NULL);
  g_autofree char *r2 = g_build_filename (f->dir, "S1_R2.fastq.gz", NULL);
  g_autofree char *in1 = g_strconcat ("reads=", r2, NULL);
  g_autofree char *in2 = g_strconcat ("reads=", r1, NULL);
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (plugins_run (f, &root, "fastq-qc", "-i", in1, "-i", in2, "--sample", "S1", NULL),
                   ==, 0);
  JsonObject *task = only_task (root);
  g_autoptr (JsonNode) report = load_json (output_path (task, "report", 0));
  JsonObject *rep = json_node_get_object (report);

  g_autofree char *recount_text = NULL;
  const char *argv[] = { "python3", GENDATA, "recount", r1, r2, NULL };
  g_assert_cmpint (spawn (&recount_text, NULL, argv), ==, 0);
  g_autoptr (JsonNode) recount = parse_json (recount_text);
  JsonArray *want_files = json_object_get_array_member (json_node_get_object (recount), "files");
  JsonArray *files = json_object_get_array_member (rep, "files");
  g_assert_true (json_object_get_boolean_member (rep, "paired"));
  g_assert_cmpint (json_object_get_int_member (rep, "fragments"), ==, 3000);
  g_assert_cmpint (json_object_get_int_member (rep, "reads"), ==, 6000);
  g_assert_cmpfloat (metric (task, "reads"), ==, 6000);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *got = json_array_get_object_element (files, i);
      JsonObject *want = json_array_get_object_element (want_files, i);
      g_assert_cmpstr (json_object_get_string_member (got, "name"), ==,
                       i == 0 ? "S1_R1.fastq.gz" : "S1_R2.fastq.gz");
      g_assert_cmpint (json_object_get_int_member (got, "mate"), ==, i + 1);
      g_assert_cmpint (json_object_get_int_member (got, "reads"), ==,
                       json_object_get_int_member (want, "reads"));
      g_assert_cmpint (json_object_get_int_member (got, "bases"), ==,
                       json_object_get_int_member (want, "bases"));
      static const char *const keys[] = { "mean_quality", "q30_fraction", "n_fraction", "gc_fraction" };
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        assert_close (json_object_get_double_member (got, keys[k]),
                      json_object_get_double_member (want, keys[k]), 1e-6, keys[k]);
      JsonObject *ga = json_object_get_object_member (got, "adapter_fraction");
      JsonObject *wa = json_object_get_object_member (want, "adapter_fraction");
      assert_close (json_object_get_double_member (ga, "truseq"),
                    json_object_get_double_member (wa, "truseq"), 1e-6, "truseq");
      assert_close (json_object_get_double_member (ga, "nextera"),
                    json_object_get_double_member (wa, "nextera"), 1e-6, "nextera");
      if (i == 0)
        g_assert_cmpfloat (json_object_get_double_member (ga, "truseq"), >, 0.05);

      JsonArray *gl = json_object_get_array_member (got, "length_distribution");
      JsonArray *wl = json_object_get_array_member (want, "length_distribution");
      g_assert_cmpuint (json_array_get_length (gl), ==, json_array_get_length (wl));
      for (guint k = 0; k < json_array_get_length (gl); k++)
        for (guint c = 0; c < 2; c++)
          g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (gl, k), c), ==,
                           json_array_get_int_element (json_array_get_array_element (wl, k), c));

      JsonArray *gm = json_object_get_array_member (
          json_object_get_object_member (got, "per_position_quality"), "mean");
      JsonArray *wm = json_object_get_array_member (want, "per_position_mean");
      g_assert_cmpuint (json_array_get_length (gm), ==, json_array_get_length (wm));
      for (guint k = 0; k < json_array_get_length (gm); k++)
        assert_close (json_array_get_double_element (gm, k), json_array_get_double_element (wm, k),
                      1e-4, "per-position mean");
    }
  g_assert_cmpstr (json_object_get_string_member (rep, "verdict"), ==, "pass");
}

/* Trimming cuts every read at its planted adapter, leaves no adapter start
 * behind, keeps the mates in step and names the outputs after the inputs. */
static void
test_qc_trim (Fixture *f, gconstpointer data)
{
  gendata ((const char *[]){ "qc-reads", f->dir, NULL });
  g_autofree char *r1 = g_build_filename (f->dir, "S1_R1.fastq.gz", NULL);
  g_autofree char *r2 = g_build_filename (f->dir, "S1_R2.fastq.gz", NULL);
  g_autofree char *in1 = g_strconcat ("reads=", r1, NULL);
  g_autofree char *in2 = g_strconcat ("reads=", r2, NULL);
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (plugins_run (f, &root, "fastq-qc", "-i", in1, "-i", in2, "-p", "trim=true",
                                "-p", "trim_quality=0", "-p", "min_length=0", NULL),
                   ==, 0);
  JsonObject *task = only_task (root);
  g_autofree char *t1 = gunzip (output_path (task, "trimmed", 0));
  g_autofree char *t2 = gunzip (output_path (task, "trimmed", 1));
  g_assert_true (g_str_has_prefix (t1, "@read0/1\n"));
  g_assert_true (g_str_has_prefix (t2, "@read0/2\n"));
  g_assert_null (strstr (t1, "AGATCGGAAGAGC"));

  g_autofree char *planted_text = NULL;
  g_autofree char *planted_path = g_build_filename (f->dir, "planted.tsv", NULL);
  g_assert_true (g_file_get_contents (planted_path, &planted_text, NULL, NULL));
  g_autoptr (GHashTable) inserts = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto (GStrv) rows = g_strsplit (planted_text, "\n", -1);
  for (char **row = rows; *row && **row; row++)
    {
      char *tab = strchr (*row, '\t');
      *tab = '\0';
      g_hash_table_insert (inserts, *row, tab + 1);
    }
  g_auto (GStrv) lines = g_strsplit (t1, "\n", -1);
  guint records = 0, checked = 0;
  for (guint i = 0; lines[i] && lines[i + 1]; i += 4, records++)
    {
      const char *insert = g_hash_table_lookup (inserts, lines[i] + 1);
      if (insert == NULL)
        continue;
      guint want = (guint) atoi (insert);
      /* An adapter is cut once at least 5 of its bases are in the read;
       * reads that held fewer keep their length (60 to 100 bases). */
      gsize got = strlen (lines[i + 1]);
      if (got != want && got < 60)
        g_error ("%s: trimmed to %zu bases, the adapter starts at %u", lines[i] + 1, got, want);
      if (got == want)
        checked++;
    }
  g_assert_cmpuint (records, ==, 3000);
  g_assert_cmpuint (checked, >, 200);
  g_autoptr (JsonNode) report = load_json (output_path (task, "report", 0));
  JsonObject *trim = json_object_get_object_member (json_node_get_object (report), "trimming");
  g_assert_cmpint (json_object_get_int_member (trim, "fragments_out"), ==, 3000);
  g_assert_cmpint (json_object_get_int_member (trim, "adapter_trimmed_reads"), >=, checked);
}

/* A threshold turns the figures into a failed sample, classified as
 * invalid input and saying which threshold. */
static void
test_qc_threshold (Fixture *f, gconstpointer data)
{
  gendata ((const char *[]){ "qc-reads", f->dir, NULL });
  g_autofree char *in1 = g_strconcat ("reads=", f->dir, "/S1_R1.fastq.gz", NULL);
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (plugins_run (f, &root, "fastq-qc", "-i", in1, "-p", "min_q30_fraction=0.99", NULL),
                   ==, 1);
  assert_failed (only_task (root), "invalid-input", "QC failed: Q30 fraction");
  g_autoptr (JsonNode) root2 = NULL;
  g_assert_cmpint (plugins_run (f, &root2, "fastq-qc", "-i", in1, "-p", "max_adapter_fraction=0.01",
                                NULL),
                   ==, 1);
  assert_failed (only_task (root2), "invalid-input", "adapter fraction");
}

/* A gzip FASTQ cut short, and mates out of step, are invalid input named
 * with the file. */
static void
test_qc_bad_input (Fixture *f, gconstpointer data)
{
  gendata ((const char *[]){ "qc-reads", f->dir, NULL });
  g_autofree char *r1 = g_build_filename (f->dir, "S1_R1.fastq.gz", NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (r1, &bytes, &len, NULL));
  g_autofree char *cut = g_build_filename (f->dir, "cut_R1.fastq.gz", NULL);
  g_assert_true (g_file_set_contents (cut, bytes, (gssize) len / 2, NULL));
  g_autofree char *in = g_strconcat ("reads=", cut, NULL);
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (plugins_run (f, &root, "fastq-qc", "-i", in, NULL), ==, 1);
  assert_failed (only_task (root), "invalid-input", "cut_R1.fastq.gz:");
  assert_failed (only_task (root), "invalid-input", "truncated");

  g_autofree char *other = write_file (f, "other_R2.fastq", "@x/2\nACGT\n+\nIIII\n");
  g_autofree char *in1 = g_strconcat ("reads=", r1, NULL);
  g_autofree char *in2 = g_strconcat ("reads=", other, NULL);
  g_autoptr (JsonNode) root2 = NULL;
  g_assert_cmpint (plugins_run (f, &root2, "fastq-qc", "-i", in1, "-i", in2, NULL), ==, 1);
  assert_failed (only_task (root2), "invalid-input", "is not the mate of");
}

/* ---- the pipeline: index, align, call, compare ----------------------------- */

static char *
pipeline_json (Fixture *f, const char *name, guint align_cores)
{
  g_autofree char *text = g_strdup_printf (
      "{\"name\": \"germline\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"fasta\", \"per_run\": true,"
      "               \"path\": \"" LAMBDA "\"},"
      "              {\"name\": \"reads\", \"formats\": \"fastq\"},"
      "              {\"name\": \"truth\", \"formats\": \"vcf\"}],"
      " \"stages\": [{\"id\": \"qc\", \"plugin\": \"fastq-qc\","
      "               \"params\": {\"min_reads\": 1000, \"min_mean_quality\": 30}},"
      "              {\"id\": \"index\", \"plugin\": \"bwa-index\"},"
      "              {\"id\": \"align\", \"plugin\": \"align\", \"resources\": {\"cores\": %u}},"
      "              {\"id\": \"call\", \"plugin\": \"call\", \"params\": {\"ploidy\": \"1\"}},"
      "              {\"id\": \"compare\", \"plugin\": \"vcf-compare\","
      "               \"params\": {\"min_recall\": 0.95}}],"
      " \"edges\": [{\"from\": \"@reads\", \"to\": \"qc.reads\"},"
      "             {\"from\": \"@reference\", \"to\": \"index.reference\"},"
      "             {\"from\": \"index.index\", \"to\": \"align.reference\"},"
      "             {\"from\": \"@reads\", \"to\": \"align.reads\"},"
      "             {\"from\": \"index.index\", \"to\": \"call.reference\"},"
      "             {\"from\": \"align.bam\", \"to\": \"call.bam\"},"
      "             {\"from\": \"align.index\", \"to\": \"call.index\"},"
      "             {\"from\": \"call.vcf\", \"to\": \"compare.vcf\"},"
      "             {\"from\": \"@truth\", \"to\": \"compare.truth\"}],"
      " \"outputs\": [\"qc.report\", \"call.vcf\", \"call.index\", \"compare.report\"]}",
      align_cores);
  return write_file (f, name, text);
}

static JsonNode *
run_pipeline (Fixture *f, const char *pipeline, const char *sheet, int want_status)
{
  g_autofree char *out = NULL;
  const char *argv[] = { STRAND_CLI, "run", pipeline, "--samples", sheet, "-P",
                         STRAND_PLUGIN_BUILD_DIR, "--store", f->store, "--json", NULL };
  g_assert_cmpint (spawn (&out, NULL, argv), ==, want_status);
  return parse_json (out);
}

/* Simulated reads carrying planted SNVs go through QC, the per-run index,
 * alignment and calling; every SNV is called and nothing else (precision and
 * recall 1.0). The VCF holds the same records as the same tools run by hand,
 * and the BAM is the same bytes whether bwa and samtools have one core or
 * two. Taking a variant out of the truth makes it a false positive; adding
 * one the sample lacks makes a false negative. */
static void
test_planted_snvs (Fixture *f, gconstpointer data)
{
  if (!g_file_test (LAMBDA, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the lambda phage reference (Debian: bowtie2-examples) is not installed");
      return;
    }
  g_autofree char *n = g_strdup_printf ("%d", N_SNVS);
  gendata ((const char *[]){ "simulate", LAMBDA, f->dir, n, NULL });
  g_autofree char *sheet_text = g_strdup_printf (
      "sample_id\tinput\tpath\nS1\treads\t%s/sim_R1.fastq.gz\nS1\treads\t%s/sim_R2.fastq.gz\n"
      "S1\ttruth\t%s/truth.vcf\n", f->dir, f->dir, f->dir);
  g_autofree char *sheet = write_file (f, "samples.tsv", sheet_text);
  g_autofree char *p2 = pipeline_json (f, "two.json", 2);
  g_autoptr (JsonNode) root = run_pipeline (f, p2, sheet, 0);

  JsonObject *compare = find_task (root, "S1", "compare");
  g_assert_cmpfloat (metric (compare, "snvs"), ==, N_SNVS);
  g_assert_cmpfloat (metric (compare, "precision"), ==, 1.0);
  g_assert_cmpfloat (metric (compare, "recall"), ==, 1.0);
  g_assert_cmpfloat (metric (find_task (root, "S1", "qc"), "reads"), >, 1000);
  JsonObject *align = find_task (root, "S1", "align");
  g_assert_cmpfloat (metric (align, "mapped_fraction"), >, 0.99);
  /* Tools are recorded with their versions. */
  JsonArray *tools = json_object_get_array_member (find_task (root, "S1", "call"), "tools");
  g_assert_cmpuint (json_array_get_length (tools), >=, 1);
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (tools, 0),
                                                           "version"), "bcftools"));

  /* One core gives the same BAM, and the same VCF, byte for byte. */
  g_autofree char *p1 = pipeline_json (f, "one.json", 1);
  g_autoptr (JsonNode) root1 = run_pipeline (f, p1, sheet, 0);
  const char *bam = output_path (align, "bam", 0);
  g_assert_cmpstr (bam, ==, output_path (find_task (root1, "S1", "align"), "bam", 0));
  const char *vcf = output_path (find_task (root, "S1", "call"), "vcf", 0);
  g_assert_cmpstr (vcf, ==, output_path (find_task (root1, "S1", "call"), "vcf", 0));

  /* The same tools by hand. */
  g_autofree char *ref = g_build_filename (f->dir, "ref.fa", NULL);
  {
    g_autofree char *fa = NULL;
    const char *zcat[] = { "gzip", "-dc", LAMBDA, NULL };
    g_assert_cmpint (spawn (&fa, NULL, zcat), ==, 0);
    g_assert_true (g_file_set_contents (ref, fa, -1, NULL));
  }
  const char *faidx[] = { "samtools", "faidx", ref, NULL };
  g_assert_cmpint (spawn (NULL, NULL, faidx), ==, 0);
  g_autofree char *bam_copy = g_build_filename (f->dir, "hand.bam", NULL);
  g_autofree char *bam_bytes = NULL;
  gsize bam_len = 0;
  g_assert_true (g_file_get_contents (bam, &bam_bytes, &bam_len, NULL));
  g_assert_true (g_file_set_contents (bam_copy, bam_bytes, (gssize) bam_len, NULL));
  g_autofree char *hand_vcf = g_build_filename (f->dir, "hand.vcf", NULL);
  g_autofree char *bcf_out = NULL;
  {
    const char *mpileup[] = { "bcftools", "mpileup", "-f", ref, "-a", "FORMAT/AD,FORMAT/DP",
                              "-q", "0", "-Q", "13", "-d", "250", "-Ov", "-o", hand_vcf,
                              bam_copy, NULL };
    g_assert_cmpint (spawn (NULL, NULL, mpileup), ==, 0);
    const char *call[] = { "bcftools", "call", "-m", "-v", "--ploidy", "1", "-Ov", hand_vcf, NULL };
    g_assert_cmpint (spawn (&bcf_out, NULL, call), ==, 0);
  }
  g_autofree char *ours = NULL;
  const char *view[] = { "bcftools", "view", "-H", vcf, NULL };
  g_assert_cmpint (spawn (&ours, NULL, view), ==, 0);
  g_autoptr (GString) theirs = g_string_new (NULL);
  g_auto (GStrv) hand_lines = g_strsplit (bcf_out, "\n", -1);
  for (char **l = hand_lines; *l; l++)
    if (**l && **l != '#')
      g_string_append_printf (theirs, "%s\n", *l);
  g_assert_cmpstr (ours, ==, theirs->str);

  /* The truth without its first variant; then with one the sample lacks. */
  g_autofree char *truth_path = g_build_filename (f->dir, "truth.vcf", NULL);
  g_autofree char *truth = NULL;
  g_assert_true (g_file_get_contents (truth_path, &truth, NULL, NULL));
  char *first = strstr (truth, "\n#CHROM");
  first = strchr (first + 1, '\n') + 1;
  char *second = strchr (first, '\n') + 1;
  g_autofree char *head = g_strndup (truth, (gsize) (first - truth));
  g_autofree char *less = g_strconcat (head, second, NULL);
  g_autofree char *less_path = write_file (f, "less.vcf", less);
  g_autofree char *more = g_strdup_printf ("%sgi|9626243|ref|NC_001416.1|\t5\t.\tG\tT\t.\tPASS\t.\tGT\t1\n",
                                           truth);
  g_autofree char *more_path = write_file (f, "more.vcf", more);
  g_autofree char *in_vcf = g_strconcat ("vcf=", vcf, NULL);
  g_autofree char *in_less = g_strconcat ("truth=", less_path, NULL);
  g_autofree char *in_more = g_strconcat ("truth=", more_path, NULL);
  g_autoptr (JsonNode) r_less = NULL, r_more = NULL;
  g_assert_cmpint (plugins_run (f, &r_less, "vcf-compare", "-i", in_vcf, "-i", in_less, "--sample",
                                "S1", NULL), ==, 0);
  assert_close (metric (only_task (r_less), "precision"), (N_SNVS - 1.0) / N_SNVS, 1e-9, "precision");
  assert_close (metric (only_task (r_less), "recall"), 1.0, 1e-9, "recall");
  g_assert_cmpint (plugins_run (f, &r_more, "vcf-compare", "-i", in_vcf, "-i", in_more, "--sample",
                                "S1", "-p", "min_recall=0.95", NULL), ==, 1);
  JsonObject *t_more = only_task (r_more);
  assert_failed (t_more, "invalid-input", "recall");
  /* The report is written before the verdict: read it from the run folder. */
  const char *log = json_object_get_string_member (t_more, "log");
  g_autofree char *dir = g_path_get_dirname (log);
  g_autofree char *report = g_build_filename (dir, "outputs", "report", "compare.json", NULL);
  g_autoptr (JsonNode) rep = load_json (report);
  JsonObject *all = json_object_get_object_member (
      json_object_get_object_member (json_node_get_object (rep), "comparison"), "all");
  assert_close (json_object_get_double_member (all, "recall"), N_SNVS / (N_SNVS + 1.0), 1e-6, "recall");
  assert_close (json_object_get_double_member (all, "precision"), 1.0, 1e-9, "precision");
}

/* ---- bad inputs to align, call and compare --------------------------------- */

/* A read group value with a tab is refused before anything runs. */
static void
test_align_read_group_tab (Fixture *f, gconstpointer data)
{
  gendata ((const char *[]){ "qc-reads", f->dir, NULL });
  g_autofree char *sheet_text = g_strdup_printf (
      "{\"samples\": [{\"id\": \"S1\", \"meta\": {\"library\": \"lib\\t1\"},"
      " \"inputs\": {\"reads\": [\"%s/S1_R1.fastq.gz\"]}}]}", f->dir);
  g_autofree char *sheet = write_file (f, "samples.json", sheet_text);
  g_autofree char *pipeline = write_file (f, "p.json",
      "{\"name\": \"rg\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"fasta\", \"per_run\": true,"
      "               \"path\": \"" LAMBDA "\"}, {\"name\": \"reads\", \"formats\": \"fastq\"}],"
      " \"stages\": [{\"id\": \"index\", \"plugin\": \"bwa-index\"}, {\"id\": \"align\", \"plugin\": \"align\"}],"
      " \"edges\": [{\"from\": \"@reference\", \"to\": \"index.reference\"},"
      "             {\"from\": \"index.index\", \"to\": \"align.reference\"},"
      "             {\"from\": \"@reads\", \"to\": \"align.reads\"}],"
      " \"outputs\": [\"align.bam\", \"align.index\"]}");
  g_autofree char *out = NULL, *err = NULL;
  const char *argv[] = { STRAND_CLI, "run", pipeline, "--samples", sheet, "-P",
                         STRAND_PLUGIN_BUILD_DIR, "--store", f->store, "--json", NULL };
  g_assert_cmpint (spawn (&out, &err, argv), ==, 1);
  g_autofree char *both = g_strconcat (out, err, NULL);
  if (strstr (both, "metadata 'library' contains a tab") == NULL)
    g_error ("no word of the tab in:\n%s", both);
}

/* align checks the reads while bwa reads them: a mate out of step fails
 * the task as invalid input naming the file and the line, whether the
 * check finds it before bwa starts (the first read) or after bwa has read
 * past it (the last), and nothing of the task is stored. */
static JsonObject *
align_task (JsonNode *root)
{
  JsonArray *tasks = json_object_get_array_member (json_node_get_object (root), "tasks");
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      if (strcmp (json_object_get_string_member (t, "stage"), "align") == 0)
        return t;
    }
  g_error ("no align task");
}

static JsonNode *
align_reads (Fixture *f, const char *r1, const char *r2)
{
  g_autofree char *sheet_text = g_strdup_printf (
      "sample_id\tinput\tpath\nS1\treads\t%s\nS1\treads\t%s\n", r1, r2);
  g_autofree char *sheet = write_file (f, "samples.tsv", sheet_text);
  g_autofree char *pipeline = write_file (f, "p.json",
      "{\"name\": \"align-check\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"fasta\", \"per_run\": true,"
      "               \"path\": \"" LAMBDA "\"}, {\"name\": \"reads\", \"formats\": \"fastq\"}],"
      " \"stages\": [{\"id\": \"index\", \"plugin\": \"bwa-index\"}, {\"id\": \"align\", \"plugin\": \"align\"}],"
      " \"edges\": [{\"from\": \"@reference\", \"to\": \"index.reference\"},"
      "             {\"from\": \"index.index\", \"to\": \"align.reference\"},"
      "             {\"from\": \"@reads\", \"to\": \"align.reads\"}],"
      " \"outputs\": [\"align.bam\", \"align.index\"]}");
  g_autofree char *out = NULL;
  const char *argv[] = { STRAND_CLI, "run", pipeline, "--samples", sheet, "-P",
                         STRAND_PLUGIN_BUILD_DIR, "--store", f->store, "--json", NULL };
  g_assert_cmpint (spawn (&out, NULL, argv), ==, 1);
  g_autoptr (JsonNode) root = parse_json (out);
  JsonObject *t = align_task (root);
  g_assert_false (json_object_has_member (t, "outputs") &&
                  json_array_get_length (json_object_get_array_member (t, "outputs")) > 0);
  return g_steal_pointer (&root);
}

static void
test_align_bad_mates (Fixture *f, gconstpointer data)
{
  if (!g_file_test (LAMBDA, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the lambda phage reference (Debian: bowtie2-examples) is not installed");
      return;
    }
  gendata ((const char *[]){ "simulate", LAMBDA, f->dir, "2", NULL });
  g_autofree char *r1 = g_build_filename (f->dir, "sim_R1.fastq.gz", NULL);
  g_autofree char *r2 = g_build_filename (f->dir, "sim_R2.fastq.gz", NULL);
  g_autofree char *text = gunzip (r2);
  guint lines = 0;
  for (const char *p = text; *p; p++)
    lines += *p == '\n';

  /* The first read of R2 renamed. */
  text[1] = 'X';
  g_autofree char *first = write_file (f, "first_R2.fastq", text);
  g_autoptr (JsonNode) root = align_reads (f, r1, first);
  assert_failed (align_task (root), "invalid-input", "first_R2.fastq:1: read 'Xim0/2' is not the mate");
  text[1] = 's';

  /* The last read of R2 renamed: bwa has read it by the time the check
   * gets there, or nearly. */
  char *last = text;
  for (guint n = 0; n < lines - 4; last++)
    if (*last == '\n')
      n++;
  g_assert_cmpint (last[0], ==, '@');
  last[1] = 'X';
  g_autofree char *last_path = write_file (f, "last_R2.fastq", text);
  g_autoptr (JsonNode) root2 = align_reads (f, r1, last_path);
  g_autofree char *where = g_strdup_printf ("last_R2.fastq:%u: read 'X", lines - 3);
  assert_failed (align_task (root2), "invalid-input", where);
}

/* An index that belongs to another BAM, or is no index at all, is invalid
 * input named by its file; a pipeline that feeds call no index is refused. */
static void
test_call_bad_index (Fixture *f, gconstpointer data)
{
  if (!g_file_test (LAMBDA, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the lambda phage reference (Debian: bowtie2-examples) is not installed");
      return;
    }
  gendata ((const char *[]){ "simulate", LAMBDA, f->dir, "2", NULL });
  g_autofree char *sheet_text = g_strdup_printf (
      "sample_id\tinput\tpath\nS1\treads\t%s/sim_R1.fastq.gz\nS1\treads\t%s/sim_R2.fastq.gz\n"
      "S1\ttruth\t%s/truth.vcf\n", f->dir, f->dir, f->dir);
  g_autofree char *sheet = write_file (f, "samples.tsv", sheet_text);
  g_autofree char *p = pipeline_json (f, "p.json", 1);
  g_autoptr (JsonNode) root = run_pipeline (f, p, sheet, 0);
  const char *bam = output_path (find_task (root, "S1", "align"), "bam", 0);

  /* Another BAM's index: one whose first record is on another reference. */
  g_autofree char *other_sam = write_file (f, "other.sam",
      "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:gi|9626243|ref|NC_001416.1|\tLN:48502\n"
      "@SQ\tSN:extra\tLN:1000\n"
      "r1\t0\textra\t10\t60\t4M\t*\t0\t0\tACGT\tIIII\n");
  g_autofree char *other_bam = g_build_filename (f->dir, "other.bam", NULL);
  const char *view[] = { "samtools", "view", "-b", "-o", other_bam, other_sam, NULL };
  g_assert_cmpint (spawn (NULL, NULL, view), ==, 0);
  const char *index[] = { "samtools", "index", other_bam, NULL };
  g_assert_cmpint (spawn (NULL, NULL, index), ==, 0);
  g_autofree char *other_bai = g_strconcat (other_bam, ".bai", NULL);
  g_autofree char *junk = write_file (f, "junk.bai", "not an index at all");

  /* call alone, on a BAM and an index from the sample sheet. */
  g_autofree char *call_only = write_file (f, "call.json",
      "{\"name\": \"call-only\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"fasta\", \"per_run\": true,"
      "               \"path\": \"" LAMBDA "\"},"
      "              {\"name\": \"bam\", \"formats\": \"bam\"}, {\"name\": \"bai\", \"formats\": \"bai\"}],"
      " \"stages\": [{\"id\": \"index\", \"plugin\": \"bwa-index\"}, {\"id\": \"call\", \"plugin\": \"call\"}],"
      " \"edges\": [{\"from\": \"@reference\", \"to\": \"index.reference\"},"
      "             {\"from\": \"index.index\", \"to\": \"call.reference\"},"
      "             {\"from\": \"@bam\", \"to\": \"call.bam\"}, {\"from\": \"@bai\", \"to\": \"call.index\"}],"
      " \"outputs\": [\"call.vcf\", \"call.index\"]}");
  struct { const char *index, *needle; } cases[] = {
    { other_bai, "the index belongs to another BAM" },
    { junk, "junk.bai: not a BAM index" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("sample_id\tinput\tpath\nS1\tbam\t%s\nS1\tbai\t%s\n",
                                               bam, cases[i].index);
      g_autofree char *bad_sheet = write_file (f, "bad.tsv", text);
      g_autoptr (JsonNode) r = run_pipeline (f, call_only, bad_sheet, 1);
      assert_failed (find_task (r, "S1", "call"), "invalid-input", cases[i].needle);
    }

  /* No index at all: refused before anything runs. */
  g_autofree char *in_bam = g_strconcat ("bam=", bam, NULL);
  g_autofree char *err = NULL;
  const char *argv[] = { STRAND_CLI, "plugins", "run", "call", "-i", in_bam, "-P",
                         STRAND_PLUGIN_BUILD_DIR, "--store", f->store, NULL };
  g_assert_cmpint (spawn (NULL, &err, argv), ==, 1);
  g_assert_nonnull (strstr (err, "index"));
}

/* A VCF that is not one, and a record htslib cannot parse, are invalid
 * input named by the file. */
static void
test_compare_bad_vcf (Fixture *f, gconstpointer data)
{
  g_autofree char *bad = write_file (f, "bad.vcf",
      "##fileformat=VCFv4.2\n##contig=<ID=c,length=100>\n"
      "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
      "c\t10\t.\tA\tG\t.\tPASS\t.\n"
      "c\t20\n");
  g_autofree char *in = g_strconcat ("vcf=", bad, NULL);
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (plugins_run (f, &root, "vcf-compare", "-i", in, NULL), ==, 1);
  assert_failed (only_task (root), "invalid-input", "bad.vcf: record 2 (c): no REF allele");

  g_autofree char *text = write_file (f, "text.vcf", "hello\n");
  g_autofree char *in2 = g_strconcat ("vcf=", text, NULL);
  g_autoptr (JsonNode) root2 = NULL;
  g_assert_cmpint (plugins_run (f, &root2, "vcf-compare", "-i", in2, NULL), ==, 1);
  assert_failed (only_task (root2), "invalid-input", "text.vcf");

  /* Without a truth: counts, het/hom and Ti/Tv. */
  g_autofree char *good = write_file (f, "good.vcf",
      "##fileformat=VCFv4.2\n##contig=<ID=c,length=100>\n"
      "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
      "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
      "c\t10\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n"
      "c\t20\t.\tC\tT\t.\t.\t.\tGT\t1/1\n"
      "c\t30\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\n"
      "c\t40\t.\tAT\tA\t.\tPASS\t.\tGT\t1/1\n"
      "c\t50\t.\tG\tA\t.\tLowQual\t.\tGT\t1/1\n");
  g_autofree char *in3 = g_strconcat ("vcf=", good, NULL);
  g_autoptr (JsonNode) root3 = NULL;
  g_assert_cmpint (plugins_run (f, &root3, "vcf-compare", "-i", in3, "--sample", "S1", NULL), ==, 0);
  JsonObject *t = only_task (root3);
  g_assert_cmpfloat (metric (t, "snvs"), ==, 3);
  g_assert_cmpfloat (metric (t, "indels"), ==, 1);
  assert_close (metric (t, "ti_tv"), 2.0, 1e-9, "ti_tv");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/genplugins/qc/recount", Fixture, NULL, fixture_setup, test_qc_recount, fixture_teardown);
  g_test_add ("/genplugins/qc/trim", Fixture, NULL, fixture_setup, test_qc_trim, fixture_teardown);
  g_test_add ("/genplugins/qc/threshold", Fixture, NULL, fixture_setup, test_qc_threshold, fixture_teardown);
  g_test_add ("/genplugins/qc/bad-input", Fixture, NULL, fixture_setup, test_qc_bad_input, fixture_teardown);
  g_test_add ("/genplugins/pipeline/planted-snvs", Fixture, NULL, fixture_setup, test_planted_snvs,
              fixture_teardown);
  g_test_add ("/genplugins/align/read-group-tab", Fixture, NULL, fixture_setup,
              test_align_read_group_tab, fixture_teardown);
  g_test_add ("/genplugins/align/bad-mates", Fixture, NULL, fixture_setup, test_align_bad_mates,
              fixture_teardown);
  g_test_add ("/genplugins/call/bad-index", Fixture, NULL, fixture_setup, test_call_bad_index,
              fixture_teardown);
  g_test_add ("/genplugins/compare/bad-vcf", Fixture, NULL, fixture_setup, test_compare_bad_vcf,
              fixture_teardown);
  return g_test_run ();
}
