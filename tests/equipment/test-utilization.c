/* Utilization arithmetic on cases worked out by hand: partial days, a task
 * running over midnight and into a maintenance window, a machine down for
 * part of a day, overnight operating hours, shared slots, and the 24 h
 * forecast from reservations. Issue 6, part 5. */
#include <glib.h>
#include <string.h>

#include "clock.h"
#include "equipment-monitor.h"
#include "utilization.h"

#define H ((gint64) 3600 * G_USEC_PER_SEC)

static gint64
T (const char *text)
{
  gint64 t = 0;
  g_assert_true (strand_clock_parse_rfc3339 (text, &t));
  return t;
}

static StrandInventory *
inventory (const char *json)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inv = strand_inventory_load_data (json, strlen (json), "test.json", problems);
  g_assert_nonnull (inv);
  g_assert_cmpuint (problems->len, ==, 0);
  return inv;
}

static void
add (GArray *history, const char *start, const char *end, StrandEquipmentStatus status, guint slots)
{
  StrandStatusInterval s = { T (start), T (end), status, slots };
  g_array_append_val (history, s);
}

#define ASSERT_HOURS(us, hours) g_assert_cmpint ((us), ==, (gint64) ((hours) * H))

static const char sequencer[] =
  "{\"equipment\": [{\"id\": \"seq-1\", \"class\": \"sequencer\","
  " \"hours\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], \"start\": \"07:00\", \"end\": \"19:00\"}]}]}";

/* Monday: first heard of at 10:00, busy 11:00-15:00, asked at 16:00.
 * Operating 07:00-16:00 = 9 h; 07:00-10:00 unknown (3 h); available 6 h;
 * busy 4 h: 4/6. */
static void
test_partial_day (void)
{
  g_autoptr (StrandInventory) inv = inventory (sequencer);
  const StrandEquipment *e = inv->items->pdata[0];
  g_autoptr (GArray) h = g_array_new (FALSE, FALSE, sizeof (StrandStatusInterval));
  add (h, "2027-01-11T10:00:00Z", "2027-01-11T11:00:00Z", STRAND_EQUIPMENT_UP, 0);
  add (h, "2027-01-11T11:00:00Z", "2027-01-11T15:00:00Z", STRAND_EQUIPMENT_BUSY, 1);
  add (h, "2027-01-11T15:00:00Z", "2027-01-11T16:00:00Z", STRAND_EQUIPMENT_UP, 0);
  StrandUtilization u;
  strand_utilization_compute (e, (StrandStatusInterval *) h->data, h->len, T ("2027-01-11T00:00:00Z"),
                              T ("2027-01-11T16:00:00Z"), &u);
  ASSERT_HOURS (u.operating_us, 9);
  ASSERT_HOURS (u.maintenance_us, 0);
  ASSERT_HOURS (u.scheduled_us, 9);
  ASSERT_HOURS (u.unknown_us, 3);
  ASSERT_HOURS (u.available_us, 6);
  ASSERT_HOURS (u.busy_us, 4);
  ASSERT_HOURS (u.down_us, 0);
  g_assert_cmpfloat_with_epsilon (u.utilization, 4.0 / 6.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (u.availability, 1.0, 1e-12);

  /* The same Monday split at noon: two partial days of one. */
  g_autoptr (GArray) days = strand_utilization_daily (e, (StrandStatusInterval *) h->data, h->len,
                                                      T ("2027-01-10T12:00:00Z"), T ("2027-01-11T16:00:00Z"));
  g_assert_cmpuint (days->len, ==, 2);
  const StrandUtilization *sunday = &g_array_index (days, StrandUtilization, 0);
  g_assert_cmpint (sunday->from_us, ==, T ("2027-01-10T12:00:00Z"));
  g_assert_cmpint (sunday->until_us, ==, T ("2027-01-11T00:00:00Z"));
  ASSERT_HOURS (sunday->operating_us, 0); /* not a working day */
  g_assert_cmpfloat (sunday->utilization, ==, 0);
  const StrandUtilization *monday = &g_array_index (days, StrandUtilization, 1);
  g_assert_cmpint (monday->from_us, ==, T ("2027-01-11T00:00:00Z"));
  ASSERT_HOURS (monday->busy_us, 4);
  ASSERT_HOURS (monday->available_us, 6);
}

/* A compute node always operating, planned maintenance Tue 02:00-04:00; a
 * task runs Mon 22:00 to Tue 03:00.
 * Monday: 24 h available, busy 22:00-24:00 = 2 h.
 * Tuesday: maintenance 2 h, available 22 h, busy 00:00-02:00 = 2 h; 02:00-03:00
 * is inside the window: not busy, but overrun 1 h. */
static void
test_midnight_and_maintenance (void)
{
  g_autoptr (StrandInventory) inv = inventory (
      "{\"equipment\": [{\"id\": \"node-1\", \"class\": \"compute\","
      " \"maintenance\": [{\"start\": \"2027-01-12T02:00:00Z\", \"end\": \"2027-01-12T04:00:00Z\"}]}]}");
  const StrandEquipment *e = inv->items->pdata[0];
  g_autoptr (GArray) h = g_array_new (FALSE, FALSE, sizeof (StrandStatusInterval));
  add (h, "2027-01-11T00:00:00Z", "2027-01-11T22:00:00Z", STRAND_EQUIPMENT_UP, 0);
  add (h, "2027-01-11T22:00:00Z", "2027-01-12T03:00:00Z", STRAND_EQUIPMENT_BUSY, 1);
  add (h, "2027-01-12T03:00:00Z", "2027-01-13T00:00:00Z", STRAND_EQUIPMENT_UP, 0);
  g_autoptr (GArray) days = strand_utilization_daily (e, (StrandStatusInterval *) h->data, h->len,
                                                      T ("2027-01-11T00:00:00Z"), T ("2027-01-13T00:00:00Z"));
  g_assert_cmpuint (days->len, ==, 2);
  const StrandUtilization *mon = &g_array_index (days, StrandUtilization, 0);
  ASSERT_HOURS (mon->operating_us, 24);
  ASSERT_HOURS (mon->available_us, 24);
  ASSERT_HOURS (mon->busy_us, 2);
  ASSERT_HOURS (mon->overrun_us, 0);
  g_assert_cmpfloat_with_epsilon (mon->utilization, 2.0 / 24.0, 1e-12);
  const StrandUtilization *tue = &g_array_index (days, StrandUtilization, 1);
  ASSERT_HOURS (tue->operating_us, 24);
  ASSERT_HOURS (tue->maintenance_us, 2);
  ASSERT_HOURS (tue->scheduled_us, 22);
  ASSERT_HOURS (tue->available_us, 22);
  ASSERT_HOURS (tue->busy_us, 2);
  ASSERT_HOURS (tue->overrun_us, 1);
  g_assert_cmpfloat_with_epsilon (tue->utilization, 2.0 / 22.0, 1e-12);

  /* The whole stretch at once adds up the two days. */
  StrandUtilization both;
  strand_utilization_compute (e, (StrandStatusInterval *) h->data, h->len, T ("2027-01-11T00:00:00Z"),
                              T ("2027-01-13T00:00:00Z"), &both);
  ASSERT_HOURS (both.busy_us, 4);
  ASSERT_HOURS (both.available_us, 46);
  ASSERT_HOURS (both.overrun_us, 1);
}

/* Wednesday, hours 08:00-20:00 (12 h): busy 08-10, down 10-13, up 13-14,
 * busy 14-18, up 18-24. Down 3 h, available 9 h, busy 6 h: utilization 6/9,
 * availability 9/12. Maintenance status 18-19 would be excluded instead. */
static void
test_down_part_of_day (void)
{
  g_autoptr (StrandInventory) inv = inventory (
      "{\"equipment\": [{\"id\": \"node-2\", \"class\": \"compute\","
      " \"hours\": [{\"days\": [\"wed\"], \"start\": \"08:00\", \"end\": \"20:00\"}]}]}");
  const StrandEquipment *e = inv->items->pdata[0];
  g_autoptr (GArray) h = g_array_new (FALSE, FALSE, sizeof (StrandStatusInterval));
  add (h, "2027-01-13T00:00:00Z", "2027-01-13T08:00:00Z", STRAND_EQUIPMENT_UP, 0);
  add (h, "2027-01-13T08:00:00Z", "2027-01-13T10:00:00Z", STRAND_EQUIPMENT_BUSY, 1);
  add (h, "2027-01-13T10:00:00Z", "2027-01-13T13:00:00Z", STRAND_EQUIPMENT_DOWN, 0);
  add (h, "2027-01-13T13:00:00Z", "2027-01-13T14:00:00Z", STRAND_EQUIPMENT_UP, 0);
  add (h, "2027-01-13T14:00:00Z", "2027-01-13T18:00:00Z", STRAND_EQUIPMENT_BUSY, 1);
  add (h, "2027-01-13T18:00:00Z", "2027-01-14T00:00:00Z", STRAND_EQUIPMENT_UP, 0);
  StrandUtilization u;
  strand_utilization_compute (e, (StrandStatusInterval *) h->data, h->len, T ("2027-01-13T00:00:00Z"),
                              T ("2027-01-14T00:00:00Z"), &u);
  ASSERT_HOURS (u.operating_us, 12);
  ASSERT_HOURS (u.scheduled_us, 12);
  ASSERT_HOURS (u.down_us, 3);
  ASSERT_HOURS (u.available_us, 9);
  ASSERT_HOURS (u.busy_us, 6);
  ASSERT_HOURS (u.unknown_us, 0);
  g_assert_cmpfloat_with_epsilon (u.utilization, 6.0 / 9.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (u.availability, 9.0 / 12.0, 1e-12);

  /* Unplanned maintenance 18:00-19:00 is not working time: scheduled 11 h. */
  g_array_set_size (h, 5);
  add (h, "2027-01-13T18:00:00Z", "2027-01-13T19:00:00Z", STRAND_EQUIPMENT_MAINTENANCE, 0);
  add (h, "2027-01-13T19:00:00Z", "2027-01-14T00:00:00Z", STRAND_EQUIPMENT_UP, 0);
  strand_utilization_compute (e, (StrandStatusInterval *) h->data, h->len, T ("2027-01-13T00:00:00Z"),
                              T ("2027-01-14T00:00:00Z"), &u);
  ASSERT_HOURS (u.maintenance_us, 1);
  ASSERT_HOURS (u.scheduled_us, 11);
  ASSERT_HOURS (u.available_us, 8);
  ASSERT_HOURS (u.busy_us, 6);
}

/* Hours Mon 22:00-06:00: on Tuesday only 00:00-06:00 operates (the span
 * belongs to Monday), on Monday 22:00-24:00. */
static void
test_overnight_hours (void)
{
  g_autoptr (StrandInventory) inv = inventory (
      "{\"equipment\": [{\"id\": \"night\", \"class\": \"sequencer\","
      " \"hours\": [{\"days\": [\"mon\"], \"start\": \"22:00\", \"end\": \"06:00\"}]}]}");
  const StrandEquipment *e = inv->items->pdata[0];
  g_autoptr (GArray) h = g_array_new (FALSE, FALSE, sizeof (StrandStatusInterval));
  add (h, "2027-01-11T00:00:00Z", "2027-01-11T23:00:00Z", STRAND_EQUIPMENT_UP, 0);
  add (h, "2027-01-11T23:00:00Z", "2027-01-12T02:00:00Z", STRAND_EQUIPMENT_BUSY, 1);
  add (h, "2027-01-12T02:00:00Z", "2027-01-14T00:00:00Z", STRAND_EQUIPMENT_UP, 0);
  g_autoptr (GArray) days = strand_utilization_daily (e, (StrandStatusInterval *) h->data, h->len,
                                                      T ("2027-01-11T00:00:00Z"), T ("2027-01-14T00:00:00Z"));
  g_assert_cmpuint (days->len, ==, 3);
  ASSERT_HOURS (g_array_index (days, StrandUtilization, 0).operating_us, 2);
  ASSERT_HOURS (g_array_index (days, StrandUtilization, 0).busy_us, 1);
  ASSERT_HOURS (g_array_index (days, StrandUtilization, 1).operating_us, 6);
  ASSERT_HOURS (g_array_index (days, StrandUtilization, 1).busy_us, 2);
  ASSERT_HOURS (g_array_index (days, StrandUtilization, 2).operating_us, 0);
  g_assert_cmpfloat_with_epsilon (g_array_index (days, StrandUtilization, 1).utilization, 2.0 / 6.0, 1e-12);
}

/* Capacity 4: 2 slots busy for 6 h and 4 slots for 3 h of a 12 h day count
 * 0.5 * 6 + 1 * 3 = 6 busy hours: utilization 0.5. */
static void
test_slots (void)
{
  g_autoptr (StrandInventory) inv = inventory (
      "{\"equipment\": [{\"id\": \"node-4\", \"class\": \"compute\", \"capacity\": 4}]}");
  const StrandEquipment *e = inv->items->pdata[0];
  g_autoptr (GArray) h = g_array_new (FALSE, FALSE, sizeof (StrandStatusInterval));
  add (h, "2027-01-11T00:00:00Z", "2027-01-11T06:00:00Z", STRAND_EQUIPMENT_BUSY, 2);
  add (h, "2027-01-11T06:00:00Z", "2027-01-11T09:00:00Z", STRAND_EQUIPMENT_BUSY, 4);
  add (h, "2027-01-11T09:00:00Z", "2027-01-11T12:00:00Z", STRAND_EQUIPMENT_UP, 0);
  StrandUtilization u;
  strand_utilization_compute (e, (StrandStatusInterval *) h->data, h->len, T ("2027-01-11T00:00:00Z"),
                              T ("2027-01-11T12:00:00Z"), &u);
  ASSERT_HOURS (u.available_us, 12);
  ASSERT_HOURS (u.busy_us, 6);
  g_assert_cmpfloat_with_epsilon (u.utilization, 0.5, 1e-12);
}

/* The live figure from a monitor: the current status runs to the time asked. */
static void
test_live_from_monitor (void)
{
  g_autoptr (StrandInventory) inv = inventory (sequencer);
  g_autoptr (StrandMonitor) mon = strand_monitor_new (inv);
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_monitor_set_status (mon, "seq-1", STRAND_EQUIPMENT_UP, NULL, T ("2027-01-11T07:00:00Z"), &error));
  g_assert_true (strand_monitor_task_started (mon, "seq-1", "S1/basecall", T ("2027-01-11T09:00:00Z"), &error));
  g_assert_no_error (error);
  StrandUtilization u;
  g_assert_true (strand_utilization_of (mon, "seq-1", T ("2027-01-11T00:00:00Z"), T ("2027-01-11T12:00:00Z"), &u));
  ASSERT_HOURS (u.available_us, 5);
  ASSERT_HOURS (u.busy_us, 3);
  g_assert_true (strand_monitor_task_finished (mon, "seq-1", "S1/basecall", T ("2027-01-11T13:00:00Z"), &error));
  g_assert_true (strand_utilization_of (mon, "seq-1", T ("2027-01-11T00:00:00Z"), T ("2027-01-11T19:00:00Z"), &u));
  ASSERT_HOURS (u.available_us, 12);
  ASSERT_HOURS (u.busy_us, 4);
  g_assert_false (strand_utilization_of (mon, "nope", 0, 1, &u));
}

/* Forecast from Mon 12:00 for 24 h. Sequencer hours 07-19 on weekdays,
 * planned maintenance Tue 07:00-09:00. Reservations 13-17, 18-20 (one hour
 * past closing) and Tue 08-10 (one hour inside the window).
 * Operating 12-19 + 07-12 = 12 h; maintenance 2 h; available 10 h; busy
 * 4 + 1 + 1 = 6 h: 0.6; overrun 2 h. A two-slot node with three reservations
 * at once for an hour is overbooked for that hour. */
static void
test_forecast (void)
{
  g_autoptr (StrandInventory) inv = inventory (
      "{\"equipment\": ["
      " {\"id\": \"seq-1\", \"class\": \"sequencer\","
      "  \"hours\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], \"start\": \"07:00\", \"end\": \"19:00\"}],"
      "  \"maintenance\": [{\"start\": \"2027-01-12T07:00:00Z\", \"end\": \"2027-01-12T09:00:00Z\"}]},"
      " {\"id\": \"node-2\", \"class\": \"compute\", \"capacity\": 2}]}");
  const char *json =
      "{\"reservations\": ["
      " {\"equipment\": \"seq-1\", \"task\": \"A/seq\", \"start\": \"2027-01-11T13:00:00Z\", \"end\": \"2027-01-11T17:00:00Z\"},"
      " {\"equipment\": \"seq-1\", \"task\": \"B/seq\", \"start\": \"2027-01-11T18:00:00Z\", \"end\": \"2027-01-11T20:00:00Z\"},"
      " {\"equipment\": \"seq-1\", \"task\": \"C/seq\", \"start\": \"2027-01-12T08:00:00Z\", \"end\": \"2027-01-12T10:00:00Z\"},"
      " {\"equipment\": \"seq-1\", \"task\": \"late\", \"start\": \"2027-01-12T13:00:00Z\", \"end\": \"2027-01-12T14:00:00Z\"},"
      " {\"equipment\": \"node-2\", \"task\": \"x\", \"start\": \"2027-01-11T12:00:00Z\", \"end\": \"2027-01-11T14:00:00Z\"},"
      " {\"equipment\": \"node-2\", \"task\": \"y\", \"start\": \"2027-01-11T13:00:00Z\", \"end\": \"2027-01-11T15:00:00Z\"},"
      " {\"equipment\": \"node-2\", \"task\": \"z\", \"start\": \"2027-01-11T13:00:00Z\", \"end\": \"2027-01-11T14:00:00Z\"}]}";
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (GArray) res = strand_reservations_load_data (json, strlen (json), "r.json", problems);
  g_assert_nonnull (res);
  g_assert_cmpuint (res->len, ==, 7);
  g_autoptr (GArray) f = strand_forecast (inv, (StrandReservation *) res->data, res->len,
                                          T ("2027-01-11T12:00:00Z"), 24 * H, problems);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_cmpuint (f->len, ==, 2);
  const StrandForecast *seq = &g_array_index (f, StrandForecast, 0);
  g_assert_cmpstr (seq->equipment->id, ==, "seq-1");
  g_assert_cmpuint (seq->reservations, ==, 3); /* "late" is past the horizon */
  ASSERT_HOURS (seq->total.operating_us, 12);
  ASSERT_HOURS (seq->total.maintenance_us, 2);
  ASSERT_HOURS (seq->total.available_us, 10);
  ASSERT_HOURS (seq->total.busy_us, 6);
  ASSERT_HOURS (seq->total.overrun_us, 2);
  g_assert_cmpfloat_with_epsilon (seq->total.utilization, 0.6, 1e-12);
  g_assert_cmpint (seq->overbooked_us, ==, 0);
  g_assert_cmpuint (seq->hours->len, ==, 24);
  g_assert_cmpfloat (g_array_index (seq->hours, StrandUtilization, 0).utilization, ==, 0); /* 12-13 */
  g_assert_cmpfloat (g_array_index (seq->hours, StrandUtilization, 1).utilization, ==, 1); /* 13-14 */
  ASSERT_HOURS (g_array_index (seq->hours, StrandUtilization, 7).operating_us, 0);        /* 19-20 */
  ASSERT_HOURS (g_array_index (seq->hours, StrandUtilization, 7).overrun_us, 1);

  const StrandForecast *node = &g_array_index (f, StrandForecast, 1);
  g_assert_cmpuint (node->reservations, ==, 3);
  ASSERT_HOURS (node->overbooked_us, 1);
  /* 12-13 one slot of two, 13-14 full, 14-15 one slot: 2 busy hours of 24. */
  ASSERT_HOURS (node->total.busy_us, 2);
  ASSERT_HOURS (node->total.available_us, 24);

  /* A reservation on a machine the inventory lacks is a problem. */
  StrandReservation stray = { (char *) "seq-9", (char *) "lost", T ("2027-01-11T13:00:00Z"), T ("2027-01-11T14:00:00Z") };
  g_autoptr (GArray) f2 = strand_forecast (inv, &stray, 1, T ("2027-01-11T12:00:00Z"), 24 * H, problems);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_cmpstr (((StrandProblem *) problems->pdata[0])->code, ==, "unknown-equipment");
}

static void
test_reservations_malformed (void)
{
  static const struct { const char *json; const char *code; const char *where; } cases[] = {
    { "[]", "missing-field", "r.json#" },
    { "{\"reservations\": [{\"equipment\": \"a\", \"start\": \"2027-01-11T13:00:00Z\", \"end\": \"2027-01-11T12:00:00Z\"}]}",
      "bad-reservation", "r.json#/reservations/0" },
    { "{\"reservations\": [{\"equipment\": \"a\", \"start\": \"2027-01-11T13:00:00Z\", \"end\": \"2027-01-11T14:00:00Z\"},"
      " {\"equipment\": \"a\", \"start\": \"noon\", \"end\": \"2027-01-11T14:00:00Z\"}]}",
      "bad-reservation", "r.json#/reservations/1" },
    { "{\"reservations\": [{\"equipment\": \"a\", \"when\": 1, \"start\": \"2027-01-11T13:00:00Z\", \"end\": \"2027-01-11T14:00:00Z\"}]}",
      "unknown-field", "r.json#/reservations/0" },
    { "{\"reservations\": [7]}", "wrong-type", "r.json#/reservations/0" },
    { "{\"reservations\": [{\"equipment\": \"a\", \"task\": 3, \"start\": \"2027-01-11T13:00:00Z\", \"end\": \"2027-01-11T14:00:00Z\"}]}",
      "wrong-type", "r.json#/reservations/0" },
    { "{\"reservations\": [], \"extra\": 1}", "missing-field", "r.json#" },
    { "{\"reservations\": [", "invalid-json", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      g_autoptr (GArray) r = strand_reservations_load_data (cases[i].json, strlen (cases[i].json), "r.json", problems);
      g_assert_null (r);
      g_assert_cmpuint (problems->len, >=, 1);
      const StrandProblem *p = problems->pdata[0];
      g_assert_cmpstr (p->code, ==, cases[i].code);
      if (cases[i].where)
        g_assert_cmpstr (p->where, ==, cases[i].where);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/utilization/partial-day", test_partial_day);
  g_test_add_func ("/utilization/midnight-and-maintenance", test_midnight_and_maintenance);
  g_test_add_func ("/utilization/down-part-of-day", test_down_part_of_day);
  g_test_add_func ("/utilization/overnight-hours", test_overnight_hours);
  g_test_add_func ("/utilization/slots", test_slots);
  g_test_add_func ("/utilization/live-from-monitor", test_live_from_monitor);
  g_test_add_func ("/utilization/forecast", test_forecast);
  g_test_add_func ("/utilization/reservations-malformed", test_reservations_malformed);
  return g_test_run ();
}
