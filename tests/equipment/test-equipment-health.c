/* Predictive maintenance from the scheduler's side: which machine is due,
 * how likely it fails within a task, and whether a long task may go on a
 * machine close to its service. Issue 6, part 3. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "clock.h"
#include "equipment-monitor.h"
#include "equipment.h"

#define H ((gint64) 3600 * G_USEC_PER_SEC)

static gint64
T (const char *text)
{
  gint64 t = 0;
  g_assert_true (strand_clock_parse_rfc3339 (text, &t));
  return t;
}

static StrandInventory *
load (const char *json, GPtrArray *problems)
{
  return strand_inventory_load_data (json, strlen (json), "inv.json", problems);
}

static StrandInventory *
load_clean (const char *json)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inv = load (json, problems);
  for (guint i = 0; i < problems->len; i++)
    g_printerr ("%s: %s\n", ((StrandProblem *) problems->pdata[i])->where,
                ((StrandProblem *) problems->pdata[i])->message);
  g_assert_nonnull (inv);
  g_assert_cmpuint (problems->len, ==, 0);
  return inv;
}

static StrandEquipment *
item (StrandInventory *inv, guint i)
{
  return inv->items->pdata[i];
}

/* Inventories written before predictive maintenance still load, with no
 * counters and no estimate. */
static void
test_old_inventory (void)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandInventory) inv =
      strand_inventory_load (STRAND_SOURCE_ROOT "/packaging/pipelines/facility.equipment.json", problems);
  g_assert_nonnull (inv);
  g_assert_cmpuint (problems->len, ==, 0);
  for (guint i = 0; i < inv->items->len; i++)
    {
      StrandHealth *h = item (inv, i)->health;
      g_assert_nonnull (h);
      g_assert_cmpuint (h->counters->len, ==, 0);
      g_assert_cmpint (h->model, ==, STRAND_RELIABILITY_NONE);
      StrandDue due;
      strand_health_due (h, T ("2027-01-11T08:00:00Z"), &due);
      g_assert_false (due.due_now);
      g_assert_null (due.reason);
      g_assert_cmpint (due.earliest_us, ==, G_MAXINT64);
      double p = 1;
      g_assert_false (strand_health_failure_probability (h, 0, 24 * H, &p));
      g_assert_cmpfloat (p, ==, 0);
      g_assert_true (strand_health_accepts (h, T ("2027-01-11T08:00:00Z"), 1000 * H, 10, 0.01, NULL));
    }
}

static const char two_sequencers[] =
  "{\"equipment\": ["
  " {\"id\": \"seq-a\", \"class\": \"sequencer\","
  "  \"service\": {\"last\": \"2026-12-01T00:00:00Z\", \"counters\": {"
  "    \"runs\": {\"count\": 490, \"due\": 500}, \"hours\": {\"count\": 1990, \"due\": 2000},"
  "    \"lamp_hours\": {\"count\": 10.5}}}},"
  " {\"id\": \"seq-b\", \"class\": \"sequencer\","
  "  \"service\": {\"last\": \"2027-01-04T00:00:00Z\", \"counters\": {"
  "    \"runs\": {\"count\": 12, \"due\": 500}, \"hours\": {\"count\": 40, \"due\": 2000}}}}]}";

/* The scheduler's question before placing a task: the long run goes to the
 * machine that can finish it before its service, the short one may still
 * use the nearly-due machine. */
static const StrandEquipment *
place (StrandInventory *inv, gint64 now, gint64 duration, char **why_first)
{
  for (guint i = 0; i < inv->items->len; i++)
    {
      char *why = NULL;
      if (strand_health_accepts (item (inv, i)->health, now, duration, 1, 1, &why))
        return item (inv, i);
      if (i == 0 && why_first)
        *why_first = why;
      else
        g_free (why);
    }
  return NULL;
}

static void
test_long_task_moves_away (void)
{
  g_autoptr (StrandInventory) inv = load_clean (two_sequencers);
  gint64 now = T ("2027-01-11T08:00:00Z");
  g_autofree char *why = NULL;
  const StrandEquipment *e = place (inv, now, 12 * H, &why);
  g_assert_nonnull (e);
  g_assert_cmpstr (e->id, ==, "seq-b");
  g_assert_nonnull (strstr (why, "'hours'"));
  g_assert_nonnull (strstr (why, "10 h left"));
  e = place (inv, now, 5 * H, NULL);
  g_assert_cmpstr (e->id, ==, "seq-a");

  /* Runs: ten more fit under 500, eleven do not. */
  StrandHealth *a = item (inv, 0)->health;
  g_assert_true (strand_health_accepts (a, now, H, 10, 1, NULL));
  g_autofree char *runs_why = NULL;
  g_assert_false (strand_health_accepts (a, now, H, 11, 1, &runs_why));
  g_assert_nonnull (strstr (runs_why, "'runs'"));

  /* "When is it due": hours is the counter closest to its threshold
   * (1990 of 2000 against 490 of 500 runs). */
  StrandDue due;
  strand_health_due (a, now, &due);
  g_assert_false (due.due_now);
  g_assert_cmpstr (due.reason, ==, "hours");
  g_assert_cmpfloat_with_epsilon (due.remaining, 10, 1e-9);
  g_assert_cmpint (due.earliest_us, ==, now + 10 * H);

  /* A counter at its threshold refuses everything. */
  strand_health_count (a, "runs", 10);
  g_assert_false (strand_health_accepts (a, now, 1, 0, 1, NULL));
  strand_health_due (a, now, &due);
  g_assert_true (due.due_now);
  g_assert_cmpstr (due.reason, ==, "runs");
  g_assert_cmpfloat (due.remaining, ==, 0);

  /* After a service every counter restarts and the machine takes the long task. */
  strand_health_serviced (a, now);
  g_assert_cmpfloat (strand_health_counter (a, "runs")->count, ==, 0);
  g_assert_cmpfloat (strand_health_counter (a, "lamp_hours")->count, ==, 0);
  g_assert_cmpint (a->last_service_us, ==, now);
  g_assert_true (strand_health_accepts (a, now, 12 * H, 1, 1, NULL));
}

/* Calendar service every 10 days after 1 January: due 11 January 00:00. */
static void
test_calendar (void)
{
  g_autoptr (StrandInventory) inv = load_clean (
      "{\"equipment\": [{\"id\": \"q1\", \"class\": \"qpcr\","
      " \"service\": {\"last\": \"2027-01-01T00:00:00Z\", \"every_days\": 10}}]}");
  StrandHealth *h = item (inv, 0)->health;
  gint64 now = T ("2027-01-10T12:00:00Z");
  StrandDue due;
  strand_health_due (h, now, &due);
  g_assert_false (due.due_now);
  g_assert_cmpstr (due.reason, ==, "calendar");
  g_assert_cmpfloat_with_epsilon (due.remaining, 12, 1e-9);
  g_assert_cmpint (due.earliest_us, ==, T ("2027-01-11T00:00:00Z"));
  g_assert_true (strand_health_accepts (h, now, 6 * H, 1, 1, NULL));
  g_autofree char *why = NULL;
  g_assert_false (strand_health_accepts (h, now, 13 * H, 1, 1, &why));
  g_assert_nonnull (strstr (why, "2027-01-11T00:00:00"));
  strand_health_due (h, T ("2027-01-11T00:00:00Z"), &due);
  g_assert_true (due.due_now);
}

/* Weibull shape 2, scale 1000 h, 500 busy hours since service:
 * P(fail in the next 100 h) = 1 - exp((500/1000)^2 - (600/1000)^2)
 *                           = 1 - exp(-0.11) = 0.104166.
 * P(next 10 h) = 1 - exp(0.25 - 0.2601) = 0.010049. */
static void
test_weibull (void)
{
  g_autoptr (StrandInventory) inv = load_clean (
      "{\"equipment\": [{\"id\": \"s\", \"class\": \"sequencer\","
      " \"service\": {\"counters\": {\"hours\": {\"count\": 500}}},"
      " \"reliability\": {\"model\": \"weibull\", \"shape\": 2, \"scale_hours\": 1000}}]}");
  StrandHealth *h = item (inv, 0)->health;
  double p = 0;
  g_assert_true (strand_health_failure_probability (h, 0, 100 * H, &p));
  g_assert_cmpfloat_with_epsilon (p, 0.1041659, 1e-6);
  g_assert_true (strand_health_failure_probability (h, 0, 10 * H, &p));
  g_assert_cmpfloat_with_epsilon (p, 0.0100492, 1e-6);
  g_autofree char *why = NULL;
  g_assert_false (strand_health_accepts (h, 0, 100 * H, 1, 0.05, &why));
  g_assert_nonnull (strstr (why, "failure probability"));
  g_assert_true (strand_health_accepts (h, 0, 10 * H, 1, 0.05, NULL));
  /* Older, likelier: the same 10 h at 900 h of age. */
  strand_health_counter (h, "hours")->count = 900;
  g_assert_true (strand_health_failure_probability (h, 0, 10 * H, &p));
  g_assert_cmpfloat_with_epsilon (p, -expm1 (0.81 - 0.91 * 0.91), 1e-9);
  g_assert_false (strand_health_accepts (h, 0, 10 * H, 1, 0.01, NULL));
}

/* Without an hours counter the Weibull age is calendar time since service. */
static void
test_weibull_calendar_age (void)
{
  g_autoptr (StrandInventory) inv = load_clean (
      "{\"equipment\": [{\"id\": \"s\", \"class\": \"sequencer\","
      " \"service\": {\"last\": \"2027-01-01T00:00:00Z\"},"
      " \"reliability\": {\"model\": \"weibull\", \"shape\": 1.5, \"scale_hours\": 2000}}]}");
  double p = 0;
  /* 10 days = 240 h of age. */
  g_assert_true (strand_health_failure_probability (item (inv, 0)->health, T ("2027-01-11T00:00:00Z"), 24 * H, &p));
  g_assert_cmpfloat_with_epsilon (p, -expm1 (pow (240.0 / 2000, 1.5) - pow (264.0 / 2000, 1.5)), 1e-12);
}

/* Rate model: 2 failures in 1000 h, then the monitor sees 100 operating hours
 * and one failure: (2 + 1) / (1000 + 100) per hour. */
static void
test_rate_with_observations (void)
{
  g_autoptr (StrandInventory) inv = load_clean (
      "{\"equipment\": [{\"id\": \"n\", \"class\": \"compute\","
      " \"reliability\": {\"model\": \"rate\", \"failures\": 2, \"hours\": 1000}},"
      " {\"id\": \"m\", \"class\": \"compute\"}]}");
  StrandHealth *h = item (inv, 0)->health;
  double rate = 0, p = 0;
  g_assert_true (strand_health_failure_rate (h, &rate));
  g_assert_cmpfloat_with_epsilon (rate, 0.002, 1e-12);
  g_assert_true (strand_health_failure_probability (h, 0, 24 * H, &p));
  g_assert_cmpfloat_with_epsilon (p, -expm1 (-0.048), 1e-12);

  g_autoptr (StrandMonitor) mon = strand_monitor_new (inv);
  g_autoptr (GError) error = NULL;
  gint64 t0 = T ("2027-01-01T00:00:00Z");
  for (guint i = 0; i < inv->items->len; i++)
    {
      const char *id = item (inv, i)->id;
      g_assert_true (strand_monitor_set_status (mon, id, STRAND_EQUIPMENT_UP, NULL, t0, &error));
      g_assert_true (strand_monitor_task_started (mon, id, "t", t0 + 40 * H, &error));
      g_assert_true (strand_monitor_set_status (mon, id, STRAND_EQUIPMENT_DOWN, "fan", t0 + 100 * H, &error));
      /* Down time is not operating time, and repair is not a failure. */
      g_assert_true (strand_monitor_set_status (mon, id, STRAND_EQUIPMENT_MAINTENANCE, NULL, t0 + 130 * H, &error));
      g_assert_true (strand_monitor_set_status (mon, id, STRAND_EQUIPMENT_UP, NULL, t0 + 140 * H, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (h->observed_failures, ==, 1);
  g_assert_cmpfloat_with_epsilon (h->observed_hours, 100, 1e-9);
  g_assert_true (strand_health_failure_rate (h, &rate));
  g_assert_cmpfloat_with_epsilon (rate, 3.0 / 1100.0, 1e-12);
  /* No prior: the observations alone. */
  g_assert_true (strand_health_failure_rate (item (inv, 1)->health, &rate));
  g_assert_cmpfloat_with_epsilon (rate, 1.0 / 100.0, 1e-12);
}

/* Every mistake in the new members is a problem at its JSON pointer; the
 * rest of the inventory still loads. */
static void
test_malformed (void)
{
  static const struct { const char *member; const char *code; const char *where; } cases[] = {
    { "\"service\": 3", "wrong-type", "/service" },
    { "\"service\": {\"when\": 1}", "unknown-field", "/service" },
    { "\"service\": {\"last\": \"yesterday\"}", "bad-time", "/service/last" },
    { "\"service\": {\"every_days\": 30}", "missing-field", "/service/every_days" },
    { "\"service\": {\"last\": \"2027-01-01T00:00:00Z\", \"every_days\": 0}", "out-of-range", "/service/every_days" },
    { "\"service\": {\"counters\": []}", "wrong-type", "/service/counters" },
    { "\"service\": {\"counters\": {\"Runs\": {\"count\": 1}}}", "bad-counter", "/service/counters/Runs" },
    { "\"service\": {\"counters\": {\"runs\": 5}}", "wrong-type", "/service/counters/runs" },
    { "\"service\": {\"counters\": {\"runs\": {\"count\": -1}}}", "out-of-range", "/service/counters/runs" },
    { "\"service\": {\"counters\": {\"runs\": {\"count\": 1, \"due\": 0}}}", "out-of-range", "/service/counters/runs" },
    { "\"service\": {\"counters\": {\"runs\": {\"count\": \"1\"}}}", "out-of-range", "/service/counters/runs" },
    { "\"service\": {\"counters\": {\"runs\": {\"count\": 1, \"limit\": 2}}}", "unknown-field", "/service/counters/runs" },
    { "\"reliability\": {\"model\": \"gamma\"}", "bad-reliability", "/reliability" },
    { "\"reliability\": []", "bad-reliability", "/reliability" },
    { "\"reliability\": {\"model\": \"rate\", \"failures\": 1.5, \"hours\": 10}", "bad-reliability", "/reliability" },
    { "\"reliability\": {\"model\": \"rate\", \"failures\": 1, \"hours\": 0}", "bad-reliability", "/reliability" },
    { "\"reliability\": {\"model\": \"rate\", \"failures\": 1}", "bad-reliability", "/reliability" },
    { "\"reliability\": {\"model\": \"weibull\", \"shape\": 0, \"scale_hours\": 10}", "bad-reliability", "/reliability" },
    { "\"reliability\": {\"model\": \"weibull\", \"shape\": 2}", "bad-reliability", "/reliability" },
    { "\"reliability\": {\"model\": \"weibull\", \"shape\": 2, \"scale_hours\": 9, \"x\": 1}", "unknown-field", "/reliability" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = g_strdup_printf (
          "{\"equipment\": [{\"id\": \"ok\", \"class\": \"compute\"}, {\"id\": \"bad\", \"class\": \"compute\", %s}]}",
          cases[i].member);
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      g_autoptr (StrandInventory) inv = load (json, problems);
      g_assert_nonnull (inv);
      g_assert_cmpuint (inv->items->len, ==, 2);
      g_assert_cmpuint (problems->len, ==, 1);
      const StrandProblem *p = problems->pdata[0];
      g_autofree char *where = g_strconcat ("inv.json#/equipment/1", cases[i].where, NULL);
      if (g_strcmp0 (p->code, cases[i].code) != 0 || g_strcmp0 (p->where, where) != 0)
        g_error ("case %u (%s): got %s at %s: %s", i, cases[i].member, p->code, p->where, p->message);
      g_assert_true (strstr (p->message, "'bad'") != NULL || strstr (p->message, "not a") != NULL);
    }
}

static void
test_to_json (void)
{
  g_autoptr (StrandInventory) inv = load_clean (two_sequencers);
  g_autoptr (JsonNode) node = strand_health_to_json (item (inv, 0)->health, T ("2027-01-11T08:00:00Z"));
  JsonObject *o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "last_service"), ==, "2026-12-01T00:00:00.000000Z");
  JsonObject *counters = json_object_get_object_member (o, "counters");
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (counters, "runs"), "due"), ==, 500);
  JsonObject *due = json_object_get_object_member (o, "due");
  g_assert_cmpstr (json_object_get_string_member (due, "reason"), ==, "hours");
  g_assert_cmpstr (json_object_get_string_member (due, "earliest"), ==, "2027-01-11T18:00:00.000000Z");
  JsonObject *rel = json_object_get_object_member (o, "reliability");
  g_assert_cmpstr (json_object_get_string_member (rel, "model"), ==, "none");
  g_assert_true (json_node_is_null (json_object_get_member (rel, "failure_probability_24h")));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/health/old-inventory", test_old_inventory);
  g_test_add_func ("/health/long-task-moves-away", test_long_task_moves_away);
  g_test_add_func ("/health/calendar", test_calendar);
  g_test_add_func ("/health/weibull", test_weibull);
  g_test_add_func ("/health/weibull-calendar-age", test_weibull_calendar_age);
  g_test_add_func ("/health/rate-with-observations", test_rate_with_observations);
  g_test_add_func ("/health/malformed", test_malformed);
  g_test_add_func ("/health/to-json", test_to_json);
  return g_test_run ();
}
