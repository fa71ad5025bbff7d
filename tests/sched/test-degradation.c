/* Sample degradation from a facility's side: the shipped sample-types
 * table, the three models, a table with mistakes in it, and the sample
 * sheet's new fields (due, quality). Issue 6, part 2. */
#include "degradation.h"

#include <math.h>
#include <string.h>

#include "clock.h"

#define HOUR_US ((gint64) 3600 * G_USEC_PER_SEC)

static StrandSampleTypes *
load_shipped (void)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autofree char *path = g_build_filename (STRAND_SOURCE_ROOT, "packaging", "sample-types.json", NULL);
  StrandSampleTypes *types = strand_sample_types_load (path, problems);
  g_assert_nonnull (types);
  for (guint i = 0; i < problems->len; i++)
    g_printerr ("%s\n", ((StrandProblem *) problems->pdata[i])->message);
  g_assert_cmpuint (problems->len, ==, 0);
  return types;
}

/* Every shipped entry loads, names its source, and gives the stability its
 * figures say. */
static void
test_shipped_table (void)
{
  g_autoptr (StrandSampleTypes) types = load_shipped ();
  g_assert_cmpuint (types->types->len, >=, 5);
  for (guint i = 0; i < types->types->len; i++)
    {
      StrandSampleType *t = types->types->pdata[i];
      g_assert_nonnull (t->source);
      g_assert_cmpuint (strlen (t->source), >, 10);
      g_assert_cmpint (strand_sample_type_usable_for_us (t, NAN), >, 0);
    }
  const StrandSampleType *edta = strand_sample_types_lookup (types, "cfdna-edta");
  g_assert_nonnull (edta);
  g_assert_cmpint (edta->model, ==, STRAND_DEGRADATION_WINDOW);
  g_assert_cmpint (strand_sample_type_usable_for_us (edta, NAN), ==, 4 * HOUR_US);
  g_assert_cmpfloat (strand_sample_type_value_at (edta, NAN, 4 * HOUR_US - 1), ==, 1);
  g_assert_cmpfloat (strand_sample_type_value_at (edta, NAN, 4 * HOUR_US), ==, 0);

  /* Exponential: RIN 8 with a 5.2 h half-life reaches 7 after about an hour,
   * and the model's value there is the threshold. */
  const StrandSampleType *rna = strand_sample_types_lookup (types, "rna-tissue-unfixed");
  g_assert_cmpint (rna->model, ==, STRAND_DEGRADATION_EXPONENTIAL);
  gint64 rna_for = strand_sample_type_usable_for_us (rna, NAN);
  g_assert_cmpint (rna_for, >, (gint64) 55 * 60 * G_USEC_PER_SEC);
  g_assert_cmpint (rna_for, <, (gint64) 65 * 60 * G_USEC_PER_SEC);
  g_assert_cmpfloat_with_epsilon (strand_sample_type_value_at (rna, NAN, rna_for), 7.0, 1e-6);
  /* A measured quality replaces the table's: RIN 9 lasts longer, RIN 6.5 is
   * unusable from the start. */
  g_assert_cmpint (strand_sample_type_usable_for_us (rna, 9.0), >, rna_for);
  g_assert_cmpint (strand_sample_type_usable_for_us (rna, 6.5), ==, 0);

  /* Weibull: the probability of being usable at the limit is the minimum. */
  const StrandSampleType *ffpe = strand_sample_types_lookup (types, "ffpe-block");
  g_assert_cmpint (ffpe->model, ==, STRAND_DEGRADATION_WEIBULL);
  gint64 ffpe_for = strand_sample_type_usable_for_us (ffpe, NAN);
  g_assert_cmpfloat_with_epsilon (strand_sample_type_value_at (ffpe, NAN, ffpe_for), 0.8, 1e-6);
  g_assert_cmpint (ffpe_for / (24 * HOUR_US), >, 5 * 365);
  g_assert_cmpint (ffpe_for / (24 * HOUR_US), <, 6 * 365);
  /* Frozen DNA keeps for years, blood in EDTA for hours. */
  g_assert_cmpint (strand_sample_type_usable_for_us (strand_sample_types_lookup (types, "dna-frozen"), NAN),
                   >, 365 * 24 * HOUR_US);
}

typedef struct {
  const char *json;
  const char *code;
  const char *where; /* the problem's location, after "t.json" */
} Broken;

/* Each mistake gives one precise problem at its place, and the rest of the
 * table still loads. */
static void
test_broken_tables (void)
{
  static const Broken cases[] = {
    { "", "empty-file", "" },
    { "[1, 2]", "missing-field", "#/sample_types" },
    { "{\"sample_types\": [], \"extra\": 1}", "unknown-field", "#/extra" },
    { "{\"sample_types\": [7]}", "wrong-type", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"Bad Id\", \"model\": \"window\", \"window_hours\": 1, \"source\": \"x\"}]}",
      "bad-id", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"window\", \"window_hours\": 1}]}",
      "missing-field", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"gamma\", \"source\": \"x\"}]}",
      "bad-model", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"window\", \"source\": \"x\"}]}",
      "missing-field", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"window\", \"window_hours\": 0, \"source\": \"x\"}]}",
      "out-of-range", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"window\", \"window_hours\": \"4\", \"source\": \"x\"}]}",
      "wrong-type", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"window\", \"window_hours\": 4, \"shape\": 2, \"source\": \"x\"}]}",
      "unknown-field", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"weibull\", \"shape\": 2, \"scale_hours\": 10, "
      "\"min_probability\": 1, \"source\": \"x\"}]}", "out-of-range", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"exponential\", \"initial_quality\": 7, "
      "\"threshold\": 8, \"half_life_hours\": 5, \"source\": \"x\"}]}", "out-of-range", "#/sample_types/0" },
    { "{\"sample_types\": [{\"id\": \"a\", \"model\": \"window\", \"window_hours\": 1, \"source\": \"x\"},"
      " {\"id\": \"a\", \"model\": \"window\", \"window_hours\": 2, \"source\": \"y\"}]}",
      "duplicate-id", "#/sample_types/1" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      g_autoptr (StrandSampleTypes) types =
          strand_sample_types_load_data (cases[i].json, strlen (cases[i].json), "t.json", problems);
      g_assert_cmpuint (problems->len, ==, 1);
      StrandProblem *p = problems->pdata[0];
      g_autofree char *where = g_strconcat ("t.json", cases[i].where, NULL);
      if (g_strcmp0 (p->code, cases[i].code) != 0 || g_strcmp0 (p->where, where) != 0)
        g_error ("case %u: got %s at %s (%s), expected %s at %s", i, p->code, p->where, p->message,
                 cases[i].code, where);
      if (types != NULL && g_str_has_prefix (cases[i].code, "duplicate"))
        g_assert_cmpuint (types->types->len, ==, 1); /* the first one stays */
    }
}

static GPtrArray *
sheet (const char *text, GPtrArray *problems)
{
  return strand_samples_load_data (text, strlen (text), "s.json", "/data", problems);
}

/* The sample sheet's new fields, and the stability a sample gets. */
static void
test_samples (void)
{
  g_autoptr (StrandSampleTypes) types = load_shipped ();
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (GPtrArray) samples = sheet (
      "{\"samples\": ["
      " {\"id\": \"s1\", \"type\": \"blood\", \"degradation_class\": \"cfdna-edta\","
      "  \"collected\": \"2027-01-04T08:00:00Z\", \"priority\": \"stat\", \"due\": \"2027-01-04T20:00:00Z\"},"
      " {\"id\": \"s2\", \"type\": \"rna-tissue-unfixed\", \"collected\": \"2027-01-04T08:00:00Z\","
      "  \"quality\": 9.5},"
      " {\"id\": \"s3\", \"type\": \"saliva\"},"
      " {\"id\": \"s4\", \"degradation_class\": \"no-such-type\"},"
      " {\"id\": \"s5\", \"degradation_class\": \"ffpe-block\"}"
      "]}", problems);
  g_assert_cmpuint (problems->len, ==, 0);
  StrandSample *s1 = samples->pdata[0], *s2 = samples->pdata[1], *s3 = samples->pdata[2];
  gint64 eight = 0, twenty = 0;
  strand_clock_parse_rfc3339 ("2027-01-04T08:00:00Z", &eight);
  strand_clock_parse_rfc3339 ("2027-01-04T20:00:00Z", &twenty);
  g_assert_cmpint (s1->due_us, ==, twenty);
  g_assert_true (isnan (s1->quality));
  g_assert_cmpfloat (s2->quality, ==, 9.5);
  g_assert_cmpint (strand_sample_usable_until (types, s1), ==, eight + 4 * HOUR_US);
  /* No class: the type is looked up; the measured RIN counts. */
  const StrandSampleType *rna = strand_sample_types_lookup (types, "rna-tissue-unfixed");
  g_assert_cmpint (strand_sample_usable_until (types, s2), ==,
                   eight + strand_sample_type_usable_for_us (rna, 9.5));
  g_assert_cmpint (strand_sample_usable_until (types, s3), ==, G_MAXINT64);

  strand_sample_types_check (types, samples, problems);
  g_assert_cmpuint (problems->len, ==, 2);
  StrandProblem *unknown = problems->pdata[0], *no_time = problems->pdata[1];
  g_assert_cmpstr (unknown->code, ==, "unknown-sample-type");
  g_assert_cmpstr (unknown->where, ==, "s.json#/samples/3");
  g_assert_false (unknown->warning);
  g_assert_cmpstr (no_time->code, ==, "no-collection-time");
  g_assert_true (no_time->warning);
}

/* The same fields in TSV, mistakes in them, and an old sheet unchanged. */
static void
test_samples_tsv (void)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  const char *tsv = "sample_id\tcollected\tdue\tquality\tinput\tpath\n"
                    "a\t2027-01-04T08:00:00Z\t2027-01-05T08:00:00Z\t7.5\treads\tr1.fq\n"
                    "a\t2027-01-04T08:00:00Z\t2027-01-05T08:00:00Z\t7.5\treads\tr2.fq\n"
                    "b\t\t2027-13-05T08:00:00Z\tlots\treads\tr3.fq\n"
                    "c\t\t\t1\treads\tr4.fq\n"
                    "c\t\t\t2\treads\tr5.fq\n";
  g_autoptr (GPtrArray) samples = strand_samples_load_data (tsv, strlen (tsv), "s.tsv", "/data", problems);
  g_assert_cmpuint (samples->len, ==, 3);
  StrandSample *a = samples->pdata[0];
  g_assert_cmpfloat (a->quality, ==, 7.5);
  g_assert_cmpint (a->due_us, >, 0);
  g_assert_cmpuint (problems->len, ==, 3);
  const char *codes[] = { "bad-time", "out-of-range", "conflicting-metadata" };
  const char *wheres[] = { "s.tsv:4", "s.tsv:4", "s.tsv:6" };
  for (guint i = 0; i < 3; i++)
    {
      StrandProblem *p = problems->pdata[i];
      g_assert_cmpstr (p->code, ==, codes[i]);
      g_assert_cmpstr (p->where, ==, wheres[i]);
    }

  /* The shipped example sheets still load without a problem. */
  const char *names[] = { "fastq-demo.samples.json", "fastq-demo.samples.tsv" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (GPtrArray) p2 = strand_problems_new ();
      g_autofree char *path = g_build_filename (STRAND_SOURCE_ROOT, "packaging", "pipelines", names[i], NULL);
      g_autoptr (GPtrArray) s2 = strand_samples_load (path, p2);
      g_assert_nonnull (s2);
      g_assert_cmpuint (p2->len, ==, 0);
    }

  /* JSON: wrong types and ranges. */
  g_autoptr (GPtrArray) p3 = strand_problems_new ();
  g_autoptr (GPtrArray) s3 = sheet ("{\"samples\": [{\"id\": \"x\", \"quality\": \"high\", \"due\": 5},"
                                    " {\"id\": \"y\", \"quality\": -1}]}", p3);
  g_assert_cmpuint (p3->len, ==, 3);
  g_assert_cmpstr (((StrandProblem *) p3->pdata[0])->code, ==, "wrong-type"); /* due */
  g_assert_cmpstr (((StrandProblem *) p3->pdata[1])->code, ==, "wrong-type"); /* quality */
  g_assert_cmpstr (((StrandProblem *) p3->pdata[2])->code, ==, "out-of-range");
  g_assert_cmpstr (((StrandProblem *) p3->pdata[2])->where, ==, "s.json#/samples/1");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/degradation/shipped-table", test_shipped_table);
  g_test_add_func ("/degradation/broken-tables", test_broken_tables);
  g_test_add_func ("/degradation/samples", test_samples);
  g_test_add_func ("/degradation/samples-tsv", test_samples_tsv);
  return g_test_run ();
}
