/* strand simulate (issue 6, part 6): a facility on the discrete-event clock
 * with the real scheduler. Figures checked by hand on small facilities,
 * the same report for the same seed, a week of the reference facility,
 * misses and the earliest-deadline-first check, failures that requeue,
 * and malformed facility files. */
#include "simulate.h"

#include <math.h>
#include <string.h>

#include "../common/test-util.h"

static StrandFacility *
load (const char *json)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandFacility *f = strand_facility_load_data (json, strlen (json), "test.json", problems);
  for (guint i = 0; i < problems->len; i++)
    {
      StrandProblem *p = problems->pdata[i];
      g_test_message ("%s: %s [%s]", p->where, p->message, p->code);
    }
  g_assert_nonnull (f);
  return f;
}

static StrandSimReport *
run (StrandFacility *f, guint64 seed)
{
  StrandSimulateOptions o;
  strand_simulate_options_init (&o);
  o.seed = seed;
  g_autoptr (GError) error = NULL;
  StrandSimReport *r = strand_simulate (f, &o, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static const StrandSimEquipment *
equipment (const StrandSimReport *r, guint i)
{
  return r->equipment->pdata[i];
}

static const StrandSimClass *
bottleneck (const StrandSimReport *r)
{
  return r->classes->pdata[r->bottleneck];
}

/* One machine, one 2 h stage, four samples at 0, 0, 0 and 1 h, 12 hours:
 * the machine works 0-8 h, so 8 of 12 hours busy; the bound is 12 / 2 = 6
 * samples; ages at the start are 0, 2, 4 and 5 h (mean 2.75). */
static void
test_one_machine (void)
{
  g_autoptr (StrandFacility) f = load (
      "{\"days\": 0.5, \"equipment\": [{\"id\": \"m1\", \"class\": \"seq\"}],"
      " \"stages\": [{\"id\": \"run\", \"class\": \"seq\","
      "   \"duration\": {\"model\": \"fixed\", \"hours\": 2}}],"
      " \"route\": [\"run\"],"
      " \"arrivals\": {\"at_hours\": [0, 0, 0, 1], \"mix\": [{\"proportion\": 1}]}}");
  g_autoptr (StrandSimReport) r = run (f, 1);
  g_assert_cmpuint (r->arrived, ==, 4);
  g_assert_cmpuint (r->completed, ==, 4);
  g_assert_cmpuint (r->in_progress, ==, 0);
  g_assert_cmpuint (r->misses, ==, 0);
  g_assert_cmpfloat_with_epsilon (equipment (r, 0)->utilization, 8.0 / 12, 1e-9);
  g_assert_cmpfloat_with_epsilon (equipment (r, 0)->busy_hours, 8, 1e-9);
  g_assert_cmpuint (equipment (r, 0)->tasks, ==, 4);
  g_assert_cmpfloat_with_epsilon (bottleneck (r)->bound, 6, 1e-9);
  g_assert_cmpfloat_with_epsilon (r->throughput, 4, 1e-9);
  g_assert_cmpfloat_with_epsilon (r->throughput_ratio, 4.0 / 6, 1e-9);
  g_assert_cmpfloat_with_epsilon (r->mean_age_hours, 2.75, 1e-9);
}

/* Operating hours 08:00-16:00 and a maintenance window 10:00-12:00: six
 * scheduled hours, three 2 h runs at 8, 12 and 14; the bound is 3. Two
 * machines of one class, one always open, share one bound. */
static void
test_operating_hours (void)
{
  g_autoptr (StrandFacility) f = load (
      "{\"days\": 1, \"equipment\": [{\"id\": \"m1\", \"class\": \"seq\","
      "   \"hours\": [{\"days\": [\"mon\"], \"start\": \"08:00\", \"end\": \"16:00\"}],"
      "   \"maintenance\": [{\"start\": \"2027-01-04T10:00:00Z\", \"end\": \"2027-01-04T12:00:00Z\"}]}],"
      " \"stages\": [{\"id\": \"run\", \"class\": \"seq\","
      "   \"duration\": {\"model\": \"fixed\", \"hours\": 2}}],"
      " \"route\": [\"run\"],"
      " \"arrivals\": {\"at_hours\": [0, 0, 0, 0, 0], \"mix\": [{\"proportion\": 1}]}}");
  g_autoptr (StrandSimReport) r = run (f, 1);
  g_assert_cmpuint (r->arrived, ==, 5);
  g_assert_cmpuint (r->completed, ==, 3);
  g_assert_cmpuint (r->in_progress, ==, 2);
  g_assert_cmpfloat_with_epsilon (equipment (r, 0)->scheduled_hours, 6, 1e-9);
  g_assert_cmpfloat_with_epsilon (equipment (r, 0)->utilization, 1, 1e-9);
  g_assert_cmpfloat_with_epsilon (bottleneck (r)->bound, 3, 1e-9);
  g_assert_cmpfloat_with_epsilon (r->throughput_ratio, 1, 1e-9);
  /* ages at the starts: 8, 12 and 14 h */
  g_assert_cmpfloat_with_epsilon (r->mean_age_hours, 34.0 / 3, 1e-9);
}

/* The smallest class bound is the bottleneck, each class's time summed
 * over the stages on it. */
static void
test_bottleneck (void)
{
  g_autoptr (StrandFacility) f = load (
      "{\"days\": 1, \"equipment\": [{\"id\": \"a\", \"class\": \"prep\", \"capacity\": 2},"
      "   {\"id\": \"b\", \"class\": \"seq\"}],"
      " \"stages\": ["
      "   {\"id\": \"p1\", \"class\": \"prep\", \"duration\": {\"model\": \"fixed\", \"hours\": 1}},"
      "   {\"id\": \"s\", \"class\": \"seq\", \"duration\": {\"model\": \"uniform\", \"min_hours\": 1, \"max_hours\": 3}},"
      "   {\"id\": \"p2\", \"class\": \"prep\", \"duration\": {\"model\": \"fixed\", \"hours\": 2}}],"
      " \"route\": [\"p1\", \"s\", \"p2\"],"
      " \"arrivals\": {\"per_hour\": 2, \"mix\": [{\"proportion\": 1}]}}");
  g_autoptr (StrandSimReport) r = run (f, 3);
  g_assert_cmpuint (r->classes->len, ==, 2);
  const StrandSimClass *prep = r->classes->pdata[0], *seq = r->classes->pdata[1];
  g_assert_cmpfloat_with_epsilon (prep->hours_per_sample, 3, 1e-9);
  g_assert_cmpfloat_with_epsilon (prep->bound, 48.0 / 3, 1e-9);
  g_assert_cmpfloat_with_epsilon (seq->bound, 24.0 / 2, 1e-9);
  g_assert_cmpstr (bottleneck (r)->equipment_class, ==, "seq");
  g_assert_cmpfloat (r->throughput, <=, seq->bound);
  g_assert_cmpfloat (r->throughput, >, 0);
}

static char *
reference_json (StrandFacility *f, guint64 seed)
{
  g_autoptr (StrandSimReport) r = run (f, seed);
  g_autoptr (JsonNode) node = strand_sim_report_to_json (r, f);
  return json_to_string (node, FALSE);
}

static StrandFacility *
reference (void)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandFacility *f = strand_facility_load (
      STRAND_SOURCE_ROOT "/packaging/facility/reference-facility.json", problems);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_nonnull (f);
  return f;
}

/* The same seed gives the same report; another seed another one. */
static void
test_determinism (void)
{
  g_autoptr (StrandFacility) a = reference ();
  g_autoptr (StrandFacility) b = reference ();
  g_autofree char *one = reference_json (a, 7);
  g_autofree char *two = reference_json (b, 7);
  g_assert_cmpstr (one, ==, two);
  g_autoptr (StrandFacility) c = reference ();
  g_autofree char *three = reference_json (c, 8);
  g_assert_cmpstr (one, !=, three);
}

/* A week of the reference facility: arrivals at the stated rate, the
 * sequencers the bottleneck, nothing passing more than its bound, every
 * sample accounted for. */
static void
test_reference_week (void)
{
  g_autoptr (StrandFacility) f = reference ();
  g_autoptr (StrandSimReport) r = run (f, 1);
  g_assert_cmpint (r->end_us - r->start_us, ==, (gint64) 7 * 24 * 3600 * G_USEC_PER_SEC);
  /* 30 a day for a week: 210 expected; Poisson keeps it within +-45 */
  g_assert_cmpuint (r->arrived, >, 165);
  g_assert_cmpuint (r->arrived, <, 255);
  g_assert_cmpstr (bottleneck (r)->equipment_class, ==, "sequencer");
  g_assert_cmpfloat_with_epsilon (bottleneck (r)->bound, 94, 1e-9); /* (96 + 92) h / 2 h */
  for (guint c = 0; c < r->classes->len; c++)
    {
      const StrandSimClass *sc = r->classes->pdata[c];
      g_assert_cmpfloat (sc->passed, <=, sc->bound + 1e-9);
    }
  g_assert_cmpuint (r->completed + r->in_progress + r->flagged, ==, r->arrived);
  for (guint m = 0; m < r->equipment->len; m++)
    {
      g_assert_cmpfloat (equipment (r, m)->utilization, >=, 0);
      g_assert_cmpfloat (equipment (r, m)->utilization, <=, 1);
    }
  g_assert_cmpuint (r->unavoidable + r->avoidable, ==, r->misses);
}

/* Two samples that each fit alone but not both on one machine: the one
 * left waiting is flagged and withdrawn the moment it can no longer be
 * stabilised in time, and the EDF check agrees it was lost whatever the
 * order. */
static void
test_misses (void)
{
  g_autoptr (StrandFacility) f = load (
      "{\"days\": 1, \"equipment\": [{\"id\": \"m1\", \"class\": \"prep\"}],"
      " \"stages\": [{\"id\": \"x\", \"class\": \"prep\", \"stabilises\": true,"
      "   \"duration\": {\"model\": \"fixed\", \"hours\": 2}}],"
      " \"route\": [\"x\"],"
      " \"arrivals\": {\"at_hours\": [5, 5], \"mix\": ["
      "   {\"proportion\": 1, \"usable_hours\": 3}]}}");
  g_autoptr (StrandSimReport) r = run (f, 1);
  g_assert_cmpuint (r->arrived, ==, 2);
  g_assert_cmpuint (r->completed, ==, 1);
  g_assert_cmpuint (r->flagged, ==, 1);
  g_assert_cmpuint (r->late, ==, 0);
  g_assert_cmpuint (r->misses, ==, 1);
  g_assert_cmpuint (r->unavoidable, ==, 1);
  g_assert_cmpuint (r->avoidable, ==, 0);
}

/* Failing machines: tasks cut short are requeued and every sample still
 * finishes; the same seed fails the same way. */
static void
test_failures (void)
{
  const char *json =
      "{\"days\": 3, \"equipment\": [{\"id\": \"m1\", \"class\": \"seq\","
      "   \"reliability\": {\"model\": \"rate\", \"failures\": 1, \"hours\": 10}}],"
      " \"stages\": [{\"id\": \"run\", \"class\": \"seq\","
      "   \"duration\": {\"model\": \"fixed\", \"hours\": 3}}],"
      " \"route\": [\"run\"],"
      " \"arrivals\": {\"at_hours\": [0, 0, 0, 0], \"mix\": [{\"proportion\": 1}]},"
      " \"failures\": {\"enabled\": true, \"repair_hours\": 1}}";
  g_autoptr (StrandFacility) f = load (json);
  g_autoptr (StrandSimReport) r = run (f, 1);
  g_assert_cmpuint (r->failures, >, 0);
  g_assert_cmpuint (r->interrupted, >, 0);
  g_assert_cmpuint (r->completed, ==, 4);
  g_assert_cmpuint (equipment (r, 0)->tasks, ==, 4);
  g_assert_cmpuint (r->aged, ==, 4);
  g_autoptr (StrandFacility) g = load (json);
  g_autoptr (StrandSimReport) again = run (g, 1);
  g_assert_cmpuint (again->failures, ==, r->failures);
  g_assert_cmpuint (again->interrupted, ==, r->interrupted);
}

/* A malformed facility: one problem, at the member that is wrong. */
static void
test_malformed (void)
{
  static const struct {
    const char *json;
    const char *where;
    const char *code;
  } cases[] = {
    { "{\"equipment\": [{\"id\": \"m\", \"class\": \"c\"}], \"stages\": [{\"id\": \"s\","
      " \"class\": \"c\", \"duration\": {\"model\": \"fixed\", \"hours\": -1}}],"
      " \"route\": [\"s\"], \"arrivals\": {\"per_hour\": 1, \"mix\": [{\"proportion\": 1}]}}",
      "test.json#/stages/0/duration", "out-of-range" },
    { "{\"equipment\": [{\"id\": \"m\", \"class\": \"c\"}], \"stages\": [{\"id\": \"s\","
      " \"class\": \"c\", \"duration\": {\"model\": \"fixed\", \"hours\": 1}}],"
      " \"route\": [\"t\"], \"arrivals\": {\"per_hour\": 1, \"mix\": [{\"proportion\": 1}]}}",
      "test.json#/route/0", "unknown-stage" },
    { "{\"equipment\": [{\"id\": \"m\", \"class\": \"c\"}], \"stages\": [{\"id\": \"s\","
      " \"class\": \"d\", \"duration\": {\"model\": \"fixed\", \"hours\": 1}}],"
      " \"route\": [\"s\"], \"arrivals\": {\"per_hour\": 1, \"mix\": [{\"proportion\": 1}]}}",
      "test.json#/stages/0/class", "unknown-class" },
    { "{\"equipment\": [{\"id\": \"m\", \"class\": \"c\", \"capacity\": 0}], \"stages\": [{\"id\": \"s\","
      " \"class\": \"c\", \"duration\": {\"model\": \"fixed\", \"hours\": 1}}],"
      " \"route\": [\"s\"], \"arrivals\": {\"per_hour\": 1, \"mix\": [{\"proportion\": 1}]}}",
      "test.json#/equipment/0", NULL },
    { "{\"equipment\": [{\"id\": \"m\", \"class\": \"c\"}], \"stages\": [{\"id\": \"s\","
      " \"class\": \"c\", \"duration\": {\"model\": \"fixed\", \"hours\": 1}}],"
      " \"route\": [\"s\"], \"arrivals\": {\"per_hour\": 1, \"mix\": [{\"proportion\": 1,"
      " \"clinical\": \"asap\"}]}}",
      "test.json#/arrivals/mix/0", "unknown-class" },
    { "{\"equipment\": [{\"id\": \"m\", \"class\": \"c\"}], \"stages\": [{\"id\": \"s\","
      " \"class\": \"c\", \"duration\": {\"model\": \"fixed\", \"hours\": 1}}], \"rout\": [],"
      " \"route\": [\"s\"], \"arrivals\": {\"per_hour\": 1, \"mix\": [{\"proportion\": 1}]}}",
      "test.json#", "unknown-member" },
    { "{\"equipment\": [", "test.json", "invalid-json" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      g_autoptr (StrandFacility) f =
          strand_facility_load_data (cases[i].json, strlen (cases[i].json), "test.json", problems);
      g_assert_null (f);
      for (guint k = 0; k < problems->len; k++)
        {
          StrandProblem *q = problems->pdata[k];
          g_test_message ("case %u: %s: %s [%s]", i, q->where, q->message, q->code);
        }
      g_assert_cmpuint (problems->len, ==, 1);
      StrandProblem *p = problems->pdata[0];
      g_assert_true (g_str_has_prefix (p->where, cases[i].where));
      if (cases[i].code)
        g_assert_cmpstr (p->code, ==, cases[i].code);
    }
}

/* The command: a report, and a malformed file gives one line with the
 * location and exit status 1. */
static void
test_cli (void)
{
  g_autofree char *dir = g_dir_make_tmp ("strand-simulate-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.json", NULL);
  g_assert_true (g_file_set_contents (
      bad, "{\"equipment\": [{\"id\": \"m\", \"class\": \"c\"}], \"stages\": [{\"id\": \"s\","
           " \"class\": \"c\", \"duration\": {\"model\": \"gamma\"}}], \"route\": [\"s\"],"
           " \"arrivals\": {\"per_hour\": 1, \"mix\": [{\"proportion\": 1}]}}", -1, NULL));
  g_autofree char *out = NULL, *err = NULL;
  int status = strand_test_spawn (NULL, NULL, &out, &err, STRAND_CLI, "simulate", bad, NULL);
  g_assert_cmpint (status, ==, 1);
  g_autofree char *expected = g_strdup_printf ("%s#/stages/0/duration/model: ", bad);
  g_assert_true (g_str_has_prefix (err, expected));
  g_assert_cmpint (strchr (err, '\n') - err, ==, (int) strlen (err) - 1);

  g_autofree char *out2 = NULL, *err2 = NULL;
  g_autofree char *metrics = g_build_filename (dir, "m.h5", NULL);
  status = strand_test_spawn (NULL, NULL, &out2, &err2, STRAND_CLI, "simulate",
                              STRAND_SOURCE_ROOT "/packaging/facility/reference-facility.json",
                              "--json", "--seed", "3", "--days", "2", "--metrics", metrics, NULL);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out2, -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "seed"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (o, "end"), ==, "2027-01-06T00:00:00.000000Z");
  g_assert_true (g_file_test (metrics, G_FILE_TEST_IS_REGULAR));
  strand_test_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("STRAND_SAMPLE_TYPES", STRAND_SOURCE_ROOT "/packaging/sample-types.json", TRUE);
  g_test_add_func ("/simulate/one-machine", test_one_machine);
  g_test_add_func ("/simulate/operating-hours", test_operating_hours);
  g_test_add_func ("/simulate/bottleneck", test_bottleneck);
  g_test_add_func ("/simulate/determinism", test_determinism);
  g_test_add_func ("/simulate/reference-week", test_reference_week);
  g_test_add_func ("/simulate/misses", test_misses);
  g_test_add_func ("/simulate/failures", test_failures);
  g_test_add_func ("/simulate/malformed", test_malformed);
  g_test_add_func ("/simulate/cli", test_cli);
  return g_test_run ();
}
