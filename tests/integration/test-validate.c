/* Validation from a pipeline engineer's side: for each kind of mistake, the
 * smallest file that makes it, and the exact code and location reported.
 * A valid pipeline passes clean. */
#include <glib.h>
#include <glib/gstdio.h>
#include <htslib/sam.h>
#include <string.h>

#include "canonical-json.h"
#include "validator.h"
#include "test-run.h"
#include "test-util.h"

static StrandRegistry *registry;

typedef struct {
  char *dir;
  GPtrArray *problems;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-validate-XXXXXX", NULL);
  f->problems = strand_problems_new ();
}

static void
teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_ptr_array_unref (f->problems);
}

static const char *const valid_pipeline =
  "{\"name\": \"germline\", \"inputs\": [{\"name\": \"reads\", \"formats\": \"fastq\"}],"
  " \"stages\": ["
  "  {\"id\": \"align\", \"plugin\": \"mock-align\", \"version\": \"^1.2\","
  "   \"params\": {\"reference\": \"ref.fa\", \"threads\": 8}},"
  "  {\"id\": \"call\", \"plugin\": \"mock-call\", \"params\": {\"reference\": \"ref.fa\"}}],"
  " \"edges\": [{\"from\": \"@reads\", \"to\": \"align.reads\"},"
  "            {\"from\": \"align.alignments\", \"to\": \"call.alignments\"}],"
  " \"outputs\": [\"call.variants\"],"
  " \"qc\": {\"min_reads\": 2, \"min_mean_quality\": 20, \"max_n_fraction\": 0.2}}";

static const char *const valid_equipment =
  "{\"equipment\": [{\"id\": \"node1\", \"class\": \"compute\", \"capacity\": 2, \"cores\": 16,"
  " \"memory_bytes\": 68719476736}]}";

static const char *const good_fastq = "@r1\nACGTACGT\n+\nIIIIIIII\n@r2\nTTGCA\n+\nIIIII\n";

/* Validates the given texts (samples and equipment may be NULL) the way
 * `strand validate` does. */
static void
validate (Fixture *f, const char *pipeline_text, const char *samples_name, const char *samples_text,
          const char *equipment_text)
{
  g_autofree char *ref = strand_test_write (f->dir, "ref.fa", ">chr1\nACGTACGTACGTACGT\n>chr2\nGGGGCCCC\n");
  g_autofree char *pp = strand_test_write (f->dir, "p.json", pipeline_text);
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (pp, f->problems);
  g_autoptr (GPtrArray) samples = NULL;
  g_autoptr (StrandInventory) inventory = NULL;
  if (samples_text)
    {
      g_autofree char *sp = strand_test_write (f->dir, samples_name, samples_text);
      samples = strand_samples_load (sp, f->problems);
    }
  if (equipment_text)
    {
      g_autofree char *ep = strand_test_write (f->dir, "equipment.json", equipment_text);
      inventory = strand_inventory_load (ep, f->problems);
    }
  /* A fixed "now" keeps maintenance look-ahead independent of the day. */
  StrandValidateOptions options = { .now_us = (gint64) 1798761600 * G_USEC_PER_SEC };
  if (pipeline)
    strand_validate (pipeline, registry, samples, inventory, &options, f->problems);
  for (guint i = 0; i < f->problems->len; i++)
    {
      StrandProblem *p = f->problems->pdata[i];
      g_test_message ("%s: %s%s [%s]", p->where, p->warning ? "warning: " : "", p->message, p->code);
    }
}

/* The problems must be exactly these (code, location relative to the test
 * folder), errors and warnings alike: nothing missing, nothing extra. */
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
      g_ptr_array_add (got, g_strdup_printf ("%s %s", p->code, where));
    }
  guint n = 0;
  for (; expected[n]; n++)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < got->len && !found; i++)
        found = strcmp (got->pdata[i], expected[n]) == 0;
      if (!found)
        g_error ("expected problem '%s' was not reported", expected[n]);
    }
  if (got->len != n)
    {
      g_ptr_array_add (got, NULL);
      g_autofree char *all = g_strjoinv ("\n  ", (char **) got->pdata);
      g_error ("expected %u problems, got %u:\n  %s", n, f->problems->len, all);
    }
}

static const char *
message_of (Fixture *f, const char *code)
{
  for (guint i = 0; i < f->problems->len; i++)
    if (strcmp (((StrandProblem *) f->problems->pdata[i])->code, code) == 0)
      return ((StrandProblem *) f->problems->pdata[i])->message;
  g_error ("no problem with code %s", code);
}

/* Replaces the first `from` in the valid pipeline by `to`. */
static char *
variant (const char *from, const char *to)
{
  const char *at = strstr (valid_pipeline, from);
  g_assert_nonnull (at);
  return g_strdup_printf ("%.*s%s%s", (int) (at - valid_pipeline), valid_pipeline, to,
                          at + strlen (from));
}

/* ---- a valid run passes clean ------------------------------------------------- */

static void
test_valid (Fixture *f, gconstpointer data)
{
  g_autofree char *fq = strand_test_write (f->dir, "S1.fq", good_fastq);
  validate (f, valid_pipeline, "samples.tsv",
            "sample_id\ttype\tpriority\tinput\tpath\n"
            "S1\tblood\tstat\treads\tS1.fq\n",
            valid_equipment);
  expect (f, (const char *[]){ NULL });
}

/* ---- structure ----------------------------------------------------------------- */

static void
test_unknown_plugin (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"plugin\": \"mock-call\"", "\"plugin\": \"mock-cal\"");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "unknown-plugin p.json#/stages/1/plugin", NULL });
}

static void
test_unknown_version (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"^1.2\"", "\">=2.0, <3\"");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "unknown-plugin-version p.json#/stages/0/plugin", NULL });
  g_assert_nonnull (strstr (message_of (f, "unknown-plugin-version"), "installed: 1.2.0"));
}

static void
test_bad_version_constraint (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"^1.2\"", "\"~>1\"");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "bad-version-constraint p.json#/stages/0/version", NULL });
}

static void
test_pinned_digest (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"version\": \"^1.2\"",
      "\"sha256\": \"0000000000000000000000000000000000000000000000000000000000000000\"");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "plugin-digest-mismatch p.json#/stages/0/sha256", NULL });
  g_assert_nonnull (strstr (message_of (f, "plugin-digest-mismatch"), "mock-align.so"));
}

static void
test_duplicate_id (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"id\": \"call\"", "\"id\": \"align\"");
  validate (f, p, NULL, NULL, NULL);
  /* The second 'align' is the duplicate; edges to 'call' now go nowhere. */
  expect (f, (const char *[]){ "duplicate-stage-id p.json#/stages/1/id",
                               "unknown-stage p.json#/edges/1",
                               "unknown-stage p.json#/outputs/0",
                               "unused-output p.json#/stages/0", NULL });
}

static void
test_cycle (Fixture *f, gconstpointer data)
{
  g_autofree char *p = g_strdup (
      "{\"name\": \"loop\", \"stages\": ["
      " {\"id\": \"a\", \"plugin\": \"concat\"}, {\"id\": \"b\", \"plugin\": \"concat\"},"
      " {\"id\": \"c\", \"plugin\": \"concat\"}, {\"id\": \"d\", \"plugin\": \"concat\"}],"
      " \"edges\": [{\"from\": \"a.out\", \"to\": \"b.in\"}, {\"from\": \"b.out\", \"to\": \"c.in\"},"
      "  {\"from\": \"c.out\", \"to\": \"a.in\"}, {\"from\": \"c.out\", \"to\": \"d.in\"}],"
      " \"outputs\": [\"d.out\"]}");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "cycle p.json#/edges", NULL });
  const char *msg = message_of (f, "cycle");
  /* The loop itself, not the stage hanging off it. */
  g_assert_nonnull (strstr (msg, "a -> b -> c -> a") ? msg : strstr (msg, "b -> c -> a -> b")
                    ? msg : strstr (msg, "c -> a -> b -> c"));
  g_assert_null (strstr (msg, "d"));
}

static void
test_unconnected_input (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("{\"from\": \"align.alignments\", \"to\": \"call.alignments\"}",
                                "{\"from\": \"@reads\", \"to\": \"align.reads\"}");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "unconnected-input p.json#/stages/1",
                               "unused-output p.json#/stages/0", NULL });
}

static void
test_unused_output_is_warning (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"outputs\": [\"call.variants\"],", "");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "unused-output p.json#/stages/1", NULL });
  g_assert_true (((StrandProblem *) f->problems->pdata[0])->warning);
  g_assert_cmpuint (strand_problems_errors (f->problems), ==, 0);
}

static void
test_port_fed_twice (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("{\"from\": \"align.alignments\", \"to\": \"call.alignments\"}",
                                "{\"from\": \"align.alignments\", \"to\": \"call.alignments\"},"
                                "{\"from\": \"align.alignments\", \"to\": \"call.alignments\"}");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "port-fed-twice p.json#/edges/2", NULL });
}

/* ---- formats --------------------------------------------------------------------- */

static void
test_vcf_into_aligner (Fixture *f, gconstpointer data)
{
  g_autofree char *p = g_strdup (
      "{\"name\": \"wrong\", \"stages\": ["
      " {\"id\": \"call\", \"plugin\": \"mock-call\", \"params\": {\"reference\": \"ref.fa\"}},"
      " {\"id\": \"align\", \"plugin\": \"mock-align\", \"params\": {\"reference\": \"ref.fa\"}},"
      " {\"id\": \"again\", \"plugin\": \"mock-call\", \"params\": {\"reference\": \"ref.fa\"}}],"
      " \"edges\": [{\"from\": \"align.alignments\", \"to\": \"call.alignments\"},"
      "  {\"from\": \"call.variants\", \"to\": \"align.reads\"},"
      "  {\"from\": \"align.alignments\", \"to\": \"again.alignments\"}],"
      " \"outputs\": [\"again.variants\"]}");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "format-mismatch p.json#/edges/1", "cycle p.json#/edges", NULL });
  g_assert_cmpstr (message_of (f, "format-mismatch"), ==,
                   "'call.variants' makes vcf but 'align.reads' takes fastq");
}

/* ---- parameters ------------------------------------------------------------------ */

static void
test_params (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"threads\": 8",
                                "\"threads\": \"8\", \"mode\": \"turbo\", \"min_score\": -1,"
                                " \"mark_duplicates\": 1, \"colour\": \"red\"");
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){
    "wrong-param-type p.json#/stages/0/params/threads",
    "bad-param-value p.json#/stages/0/params/mode",
    "bad-param-value p.json#/stages/0/params/min_score",
    "wrong-param-type p.json#/stages/0/params/mark_duplicates",
    "unknown-param p.json#/stages/0/params/colour", NULL });
}

static void
test_range_and_required (Fixture *f, gconstpointer data)
{
  g_autofree char *p1 = variant ("\"threads\": 8", "\"threads\": 65");
  g_autofree char *p = g_strdup (p1);
  /* Drop the caller's reference: a required parameter. */
  char *at = strstr (p, "\"params\": {\"reference\": \"ref.fa\"}}]");
  g_assert_nonnull (at);
  memcpy (at, "\"params\": {                     }}]", strlen ("\"params\": {\"reference\": \"ref.fa\"}}]"));
  validate (f, p, NULL, NULL, NULL);
  expect (f, (const char *[]){ "bad-param-value p.json#/stages/0/params/threads",
                               "missing-param p.json#/stages/1/params", NULL });
  g_assert_nonnull (strstr (message_of (f, "bad-param-value"), "65 is above the maximum 64"));
}

static void
test_reference_consistency (Fixture *f, gconstpointer data)
{
  g_autofree char *other = strand_test_write (f->dir, "other.fa", ">chrX\nAAAA\n");
  g_autofree char *same = strand_test_write (f->dir, "copy.fa", ">chr1\nACGTACGTACGTACGT\n>chr2\nGGGGCCCC\n");
  /* A byte-identical copy under another name is the same reference. */
  g_autofree char *ok = variant ("\"params\": {\"reference\": \"ref.fa\"}}",
                                 "\"params\": {\"reference\": \"copy.fa\"}}");
  validate (f, ok, NULL, NULL, NULL);
  expect (f, (const char *[]){ NULL });
  g_ptr_array_set_size (f->problems, 0);
  g_autofree char *bad = variant ("\"params\": {\"reference\": \"ref.fa\"}}",
                                  "\"params\": {\"reference\": \"other.fa\"}}");
  validate (f, bad, NULL, NULL, NULL);
  expect (f, (const char *[]){ "inconsistent-param p.json#/stages/1/params/reference", NULL });
  g_autofree char *missing = variant ("\"params\": {\"reference\": \"ref.fa\"}}",
                                      "\"params\": {\"reference\": \"nowhere.fa\"}}");
  g_ptr_array_set_size (f->problems, 0);
  validate (f, missing, NULL, NULL, NULL);
  expect (f, (const char *[]){ "missing-file p.json#/stages/1/params/reference", NULL });
}

/* ---- resources ------------------------------------------------------------------- */

static void
test_resources_exact (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"threads\": 8}}", "\"threads\": 8},"
                                " \"resources\": {\"cores\": 32, \"equipment_class\": \"compute\"}}");
  validate (f, p, NULL, NULL,
            "{\"equipment\": [{\"id\": \"n1\", \"class\": \"compute\", \"cores\": 16,"
            " \"memory_bytes\": 1073741824}]}");
  expect (f, (const char *[]){ "insufficient-cores p.json#/stages/0",
                               "insufficient-memory p.json#/stages/1", NULL });
  g_assert_cmpstr (message_of (f, "insufficient-cores"), ==,
                   "stage 'align' needs 32 cores; the largest 'compute' equipment has 16");
}

static void
test_equipment_class (Fixture *f, gconstpointer data)
{
  g_autofree char *p = variant ("\"threads\": 8}}", "\"threads\": 8},"
                                " \"resources\": {\"equipment_class\": \"gpu-node\"}}");
  validate (f, p, NULL, NULL, valid_equipment);
  expect (f, (const char *[]){ "no-equipment-class p.json#/stages/0", NULL });
}

/* Operating hours of four hours a day cannot hold a two-hour stage that
 * would run into a daily maintenance... but they can hold it; a one-hour
 * maintenance in the middle of each span cannot. */
static void
test_maintenance_window_warning (Fixture *f, gconstpointer data)
{
  validate (f, valid_pipeline, NULL, NULL,
            "{\"equipment\": [{\"id\": \"n1\", \"class\": \"compute\", \"cores\": 16,"
            " \"memory_bytes\": 68719476736,"
            " \"hours\": [{\"days\": [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"],"
            "   \"start\": \"08:00\", \"end\": \"09:30\"}]}]}");
  expect (f, (const char *[]){ "no-window-long-enough p.json#/stages/0", NULL });
  g_assert_cmpuint (strand_problems_errors (f->problems), ==, 0);
  g_assert_nonnull (strstr (message_of (f, "no-window-long-enough"), "longer than 5400 s"));
}

/* ---- samples and metadata --------------------------------------------------------- */

static void
test_sample_sheet_problems (Fixture *f, gconstpointer data)
{
  g_autofree char *fq = strand_test_write (f->dir, "S1.fq", good_fastq);
  validate (f, valid_pipeline, "samples.tsv",
            "sample_id\ttype\tread_group\tinput\tpath\n"
            "S1\tblood\tRG1\treads\tS1.fq\n"
            "S1\tsaliva\tRG1\treads\tS1.fq\n"
            "S2\tblood\tRG1\tbam\tS1.fq\n"
            "S3\tblood\tRG3\t\t\n"
            "S4\tblood\tRG4\treads\tS4.fq\n"
            "../x\tblood\tRG5\treads\tS1.fq\n"
            "S5\tblood\n",
            NULL);
  expect (f, (const char *[]){
    "conflicting-metadata samples.tsv:3",   /* S1: type blood, then saliva */
    "conflicting-metadata samples.tsv:4",   /* RG1 claimed by S1 and S2 */
    "unknown-input samples.tsv:4",          /* S2 feeds 'bam', which the pipeline lacks */
    "missing-input samples.tsv:4",          /* ... and so has no 'reads' */
    "missing-input samples.tsv:5",
    "missing-input-file samples.tsv:6",
    "bad-sample-id samples.tsv:7",
    "bad-row samples.tsv:8",
    NULL });
}

static void
test_duplicate_sample_json (Fixture *f, gconstpointer data)
{
  g_autofree char *fq = strand_test_write (f->dir, "S1.fq", good_fastq);
  validate (f, valid_pipeline, "samples.json",
            "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"reads\": [\"S1.fq\"]}},"
            " {\"id\": \"S1\", \"inputs\": {\"reads\": [\"S1.fq\"]}},"
            " {\"id\": \"S2\", \"priority\": \"asap\", \"collected\": \"yesterday\","
            "  \"inputs\": {\"reads\": [{\"path\": \"S1.fq\", \"format\": \"vcf\"}]}}]}",
            NULL);
  expect (f, (const char *[]){
    "duplicate-sample-id samples.json#/samples/1",
    "bad-priority samples.json#/samples/2",
    "bad-time samples.json#/samples/2",
    "format-mismatch samples.json#/samples/2/inputs/reads/0",
    "format-mismatch S1.fq",                /* ... and the data is not VCF either */
    NULL });
}

/* ---- data ------------------------------------------------------------------------- */

static void
test_data_thresholds (Fixture *f, gconstpointer data)
{
  g_autofree char *low = strand_test_write (f->dir, "low.fq", "@r1\nACGTNNNN\n+\n++++++++\n");
  validate (f, valid_pipeline, "samples.json",
            "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"reads\": [\"low.fq\"]}}]}", NULL);
  expect (f, (const char *[]){ "low-quality samples.json#/samples/0/inputs/reads/0",
                               "too-many-n samples.json#/samples/0/inputs/reads/0",
                               "too-few-reads samples.json#/samples/0", NULL });
}

static void
test_data_checksum (Fixture *f, gconstpointer data)
{
  g_autofree char *fq = strand_test_write (f->dir, "S1.fq", good_fastq);
  validate (f, valid_pipeline, "samples.json",
            "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"reads\": [{\"path\": \"S1.fq\","
            " \"sha256\": \"1111111111111111111111111111111111111111111111111111111111111111\"}]}}]}",
            NULL);
  g_assert_cmpuint (f->problems->len, ==, 1);
  g_assert_cmpstr (((StrandProblem *) f->problems->pdata[0])->code, ==, "checksum-mismatch");
}

static void
test_data_corrupt (Fixture *f, gconstpointer data)
{
  g_autofree char *bad = strand_test_write (f->dir, "bad.fq", "@r1\nACGTACGT\n+\nIIII\n");
  validate (f, valid_pipeline, "samples.json",
            "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"reads\": [\"bad.fq\"]}}]}", NULL);
  g_assert_cmpuint (strand_problems_errors (f->problems), >=, 1);
  StrandProblem *p = f->problems->pdata[0];
  g_assert_true (g_str_has_suffix (p->where, "bad.fq:4"));
}

/* A BAM whose read group names another sample than the sheet. */
static void
write_bam (const char *path, const char *sample)
{
  samFile *out = sam_open (path, "wb");
  g_assert_nonnull (out);
  g_autofree char *text = g_strdup_printf (
      "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:16\n@SQ\tSN:chr2\tLN:8\n@RG\tID:rg1\tSM:%s\n",
      sample);
  sam_hdr_t *h = sam_hdr_parse (strlen (text), text);
  g_assert_cmpint (sam_hdr_write (out, h), ==, 0);
  bam1_t *b = bam_init1 ();
  kstring_t line = KS_INITIALIZE;
  kputs ("r1\t4\t*\t0\t0\t*\t*\t0\t0\tACGT\tIIII\tRG:Z:rg1", &line);
  g_assert_cmpint (sam_parse1 (&line, h, b), >=, 0);
  g_assert_cmpint (sam_write1 (out, h, b), >=, 0);
  ks_free (&line);
  bam_destroy1 (b);
  sam_hdr_destroy (h);
  g_assert_cmpint (sam_close (out), ==, 0);
}

static void
test_bam_names_other_sample (Fixture *f, gconstpointer data)
{
  g_autofree char *bam = g_build_filename (f->dir, "S1.bam", NULL);
  write_bam (bam, "SOMEONE_ELSE");
  const char *p = "{\"name\": \"recall\", \"inputs\": [{\"name\": \"bam\", \"formats\": \"bam\"}],"
                  " \"stages\": [{\"id\": \"call\", \"plugin\": \"mock-call\","
                  "  \"params\": {\"reference\": \"ref.fa\"}}],"
                  " \"edges\": [{\"from\": \"@bam\", \"to\": \"call.alignments\"}],"
                  " \"outputs\": [\"call.variants\"]}";
  validate (f, p, "samples.json",
            "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"bam\": [\"S1.bam\"]}}]}", NULL);
  expect (f, (const char *[]){ "sample-mismatch samples.json#/samples/0/inputs/bam/0", NULL });
  g_ptr_array_set_size (f->problems, 0);
  write_bam (bam, "S1");
  validate (f, p, "samples.json",
            "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"bam\": [\"S1.bam\"]}}]}", NULL);
  expect (f, (const char *[]){ NULL });
  /* The same BAM against another reference. */
  g_ptr_array_set_size (f->problems, 0);
  g_autofree char *o = strand_test_write (f->dir, "other.fa", ">chr1\nACGT\n");
  g_auto (GStrv) parts = g_strsplit (p, "ref.fa", -1);
  g_autofree char *p3 = g_strjoinv ("other.fa", parts);
  validate (f, p3, "samples.json",
            "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"bam\": [\"S1.bam\"]}}]}", NULL);
  expect (f, (const char *[]){ "reference-mismatch samples.json#/samples/0/inputs/bam/0", NULL });
}

/* ---- files that are not what they should be --------------------------------------- */

static void
test_malformed_files (Fixture *f, gconstpointer data)
{
  struct { const char *text; const char *code; } cases[] = {
    { "", "empty-file" },
    { "{\"name\": ", "invalid-json" },
    { "\xff\xfe{}", "not-utf8" },
    { "[]", "wrong-type" },
    { "{\"name\": \"x\", \"stages\": {}}", "wrong-type" },
    { "{\"name\": \"x\", \"stages\": [], \"stagess\": []}", "unknown-field" },
    { "{\"name\": 7, \"stages\": []}", "wrong-type" },
    { "{\"name\": \"x\", \"stages\": [], \"qc\": {\"min_reads\": 1e400}}", "wrong-type" },
    { "{\"name\": \"x\", \"stages\": [], \"qc\": {\"min_mean_quality\": 1e400}}", "out-of-range" },
    { "{\"name\": \"x\", \"stages\": [], \"qc\": {\"min_reads\": -5}}", "out-of-range" },
    { "{\"name\": \"x\", \"stages\": [], \"qc\": {\"max_n_fraction\": 2}}", "out-of-range" },
    { "{\"name\": \"x\", \"stages\": [{\"id\": \"a\", \"plugin\": \"concat\","
      " \"resources\": {\"cores\": 99999999999999999999}}]}", "out-of-range" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_ptr_array_set_size (f->problems, 0);
      g_autofree char *path = strand_test_write (f->dir, "p.json", cases[i].text);
      g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (path, f->problems);
      gboolean found = FALSE;
      for (guint k = 0; k < f->problems->len; k++)
        found |= strcmp (((StrandProblem *) f->problems->pdata[k])->code, cases[i].code) == 0;
      if (!found)
        g_error ("case %u: no %s problem", i, cases[i].code);
    }
}

/* ---- the model ---------------------------------------------------------------------- */

/* The C API and the file give the same model, written back as the same
 * canonical JSON. */
static void
test_api_and_file_agree (Fixture *f, gconstpointer data)
{
  g_autofree char *path = strand_test_write (f->dir, "p.json", valid_pipeline);
  g_autoptr (StrandPipeline) from_file = strand_pipeline_load (path, f->problems);
  g_assert_cmpuint (f->problems->len, ==, 0);

  g_autoptr (StrandPipeline) built = strand_pipeline_new ("germline");
  strand_pipeline_add_input (built, "reads", "fastq");
  StrandStage *align = strand_pipeline_add_stage (built, "align", "mock-align", "^1.2");
  strand_stage_set_param_string (align, "reference", "ref.fa");
  strand_stage_set_param_int (align, "threads", 8);
  StrandStage *call = strand_pipeline_add_stage (built, "call", "mock-call", NULL);
  strand_stage_set_param_string (call, "reference", "ref.fa");
  g_assert_true (strand_pipeline_connect (built, "@reads", "align.reads"));
  g_assert_true (strand_pipeline_connect (built, "align.alignments", "call.alignments"));
  g_assert_false (strand_pipeline_connect (built, "nodot", "call.alignments"));
  strand_pipeline_add_output (built, "call.variants");
  built->qc.has_min_reads = TRUE;
  built->qc.min_reads = 2;
  built->qc.has_min_mean_quality = TRUE;
  built->qc.min_mean_quality = 20;
  built->qc.has_max_n_fraction = TRUE;
  built->qc.max_n_fraction = 0.2;

  g_autoptr (JsonNode) a = strand_pipeline_to_json (from_file);
  g_autoptr (JsonNode) b = strand_pipeline_to_json (built);
  g_autofree char *ca = strand_canonical_json (a);
  g_autofree char *cb = strand_canonical_json (b);
  g_assert_cmpstr (ca, ==, cb);

  /* Canonical: sorted keys, no spaces; and it reads back to itself. */
  g_assert_true (g_str_has_prefix (ca, "{\"edges\":[{\"from\":\"@reads\",\"to\":\"align.reads\"}"));
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) again = strand_pipeline_load_data (ca, strlen (ca), "canonical", problems);
  g_assert_cmpuint (problems->len, ==, 0);
  g_autoptr (JsonNode) c = strand_pipeline_to_json (again);
  g_autofree char *cc = strand_canonical_json (c);
  g_assert_cmpstr (ca, ==, cc);
}

/* Parameters typed on the command line take the type the plugin declares;
 * text that is not of that type stays text and validation says so. */
static void
test_params_from_text (Fixture *f, gconstpointer data)
{
  g_autofree char *ref = strand_test_write (f->dir, "ref.fa", ">chr1\nACGT\n");
  g_autoptr (StrandPipeline) p = strand_pipeline_new ("typed");
  p->source = g_build_filename (f->dir, "typed.json", NULL);
  StrandStage *s = strand_pipeline_add_stage (p, "align", "mock-align", NULL);
  const StrandPluginInfo *plugin = strand_registry_lookup (registry, "mock-align", NULL);
  strand_stage_set_param_typed (s, plugin, "threads", "12");
  strand_stage_set_param_typed (s, plugin, "min_score", "2.5");
  strand_stage_set_param_typed (s, plugin, "mark_duplicates", "false");
  strand_stage_set_param_typed (s, plugin, "reference", "ref.fa");
  strand_pipeline_add_input (p, "reads", "fastq");
  strand_pipeline_connect (p, "@reads", "align.reads");
  strand_pipeline_add_output (p, "align.alignments");
  g_autoptr (JsonNode) node = strand_pipeline_to_json (p);
  g_autofree char *text = strand_canonical_json (node);
  g_assert_nonnull (strstr (text, "\"params\":{\"mark_duplicates\":false,\"min_score\":2.5,"
                                  "\"reference\":\"ref.fa\",\"threads\":12}"));
  strand_validate (p, registry, NULL, NULL, NULL, f->problems);
  g_assert_cmpuint (f->problems->len, ==, 0);
  strand_stage_set_param_typed (s, plugin, "threads", "twelve");
  strand_validate (p, registry, NULL, NULL, NULL, f->problems);
  expect (f, (const char *[]){ "wrong-param-type typed.json#/stages/0/params/threads", NULL });
}

static void
test_canonical_numbers (void)
{
  const char *cases[][2] = {
    { "{\"b\":1,\"a\":[0.1,1e21,-0.0,2.5e-7,100.0,1.7976931348623157e308]}",
      "{\"a\":[0.1,1e+21,0,2.5e-07,100,1.7976931348623157e+308],\"b\":1}" },
    { "{\"z\":\"\\u00e9\\n\\u0001\",\"\\u00e9\":true,\"a\":null}",
      "{\"a\":null,\"z\":\"\xc3\xa9\\n\\u0001\",\"\xc3\xa9\":true}" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, cases[i][0], -1, NULL));
      g_autofree char *text = strand_canonical_json (json_parser_get_root (parser));
      g_assert_cmpstr (text, ==, cases[i][1]);
    }
}

/* ---- the command ---------------------------------------------------------------------- */

static int
run_validate (Fixture *f, char **out, const char *pipeline, const char *samples, gboolean json)
{
  const char *argv[] = { STRAND_CLI, "validate", pipeline, "-P", STRAND_PLUGIN_BUILD_DIR, "-P",
                         STRAND_TEST_PLUGIN_DIR, samples ? "--samples" : NULL, samples,
                         json ? "--json" : NULL, NULL };
  if (samples == NULL)
    argv[7] = json ? "--json" : NULL;
  int status;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, NULL,
                               &status, &error));
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_command (Fixture *f, gconstpointer data)
{
  g_autofree char *ref = strand_test_write (f->dir, "ref.fa", ">chr1\nACGT\n");
  g_autofree char *good = strand_test_write (f->dir, "good.json", valid_pipeline);
  g_autofree char *fq = strand_test_write (f->dir, "S1.fq", good_fastq);
  g_autofree char *sheet = strand_test_write (f->dir, "s.tsv", "sample_id\tinput\tpath\nS1\treads\tS1.fq\n");
  g_autofree char *out = NULL;
  g_assert_cmpint (run_validate (f, &out, good, sheet, FALSE), ==, 0);
  g_assert_true (g_str_has_suffix (out, "good.json: valid\n"));

  g_autofree char *p = variant ("\"threads\": 8", "\"threads\": 0");
  g_autofree char *bad = strand_test_write (f->dir, "bad.json", p);
  g_autofree char *out2 = NULL;
  g_assert_cmpint (run_validate (f, &out2, bad, NULL, TRUE), ==, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out2, -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_false (json_object_get_boolean_member (o, "valid"));
  g_assert_cmpint (json_object_get_int_member (o, "errors"), ==, 1);
  JsonObject *problem = json_array_get_object_element (json_object_get_array_member (o, "problems"), 0);
  g_assert_cmpstr (json_object_get_string_member (problem, "code"), ==, "bad-param-value");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (problem, "where"),
                                   "bad.json#/stages/0/params/threads"));

  const char *usage[] = { STRAND_CLI, "validate", NULL };
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) usage, NULL, G_SPAWN_STDOUT_TO_DEV_NULL |
                               G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  registry = strand_test_registry (STRAND_PLUGIN_BUILD_DIR, STRAND_TEST_PLUGIN_DIR, NULL);
  g_assert_cmpuint (strand_registry_problems (registry)->len, ==, 0);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/validate/valid", test_valid);
  ADD ("/validate/structure/unknown-plugin", test_unknown_plugin);
  ADD ("/validate/structure/unknown-version", test_unknown_version);
  ADD ("/validate/structure/bad-version-constraint", test_bad_version_constraint);
  ADD ("/validate/structure/pinned-digest", test_pinned_digest);
  ADD ("/validate/structure/duplicate-id", test_duplicate_id);
  ADD ("/validate/structure/cycle", test_cycle);
  ADD ("/validate/structure/unconnected-input", test_unconnected_input);
  ADD ("/validate/structure/unused-output", test_unused_output_is_warning);
  ADD ("/validate/structure/port-fed-twice", test_port_fed_twice);
  ADD ("/validate/formats/vcf-into-aligner", test_vcf_into_aligner);
  ADD ("/validate/params/types-choices-unknown", test_params);
  ADD ("/validate/params/range-required", test_range_and_required);
  ADD ("/validate/params/reference-consistency", test_reference_consistency);
  ADD ("/validate/resources/cores-memory", test_resources_exact);
  ADD ("/validate/resources/equipment-class", test_equipment_class);
  ADD ("/validate/resources/maintenance-window", test_maintenance_window_warning);
  ADD ("/validate/samples/tsv", test_sample_sheet_problems);
  ADD ("/validate/samples/json", test_duplicate_sample_json);
  ADD ("/validate/data/thresholds", test_data_thresholds);
  ADD ("/validate/data/checksum", test_data_checksum);
  ADD ("/validate/data/corrupt", test_data_corrupt);
  ADD ("/validate/data/bam-sample-and-reference", test_bam_names_other_sample);
  ADD ("/validate/files/malformed", test_malformed_files);
  ADD ("/validate/model/api-and-file-agree", test_api_and_file_agree);
  ADD ("/validate/model/params-from-text", test_params_from_text);
  ADD ("/validate/command", test_command);
  g_test_add_func ("/validate/model/canonical-json", test_canonical_numbers);
  int rc = g_test_run ();
  strand_registry_free (registry);
  return rc;
}
