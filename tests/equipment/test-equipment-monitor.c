/* The equipment monitor and its event feed from the host's side: a day of
 * events recorded in the ledger and fed to the model, a machine going down
 * mid-task reported for requeueing, malformed lines reported with their
 * line number while the feed goes on, and feeds read from pipes without
 * blocking. Issue 6, part 3. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "equipment-feed.h"
#include "equipment-monitor.h"
#include "provenance.h"
#include "test-util.h"

#define H ((gint64) 3600 * G_USEC_PER_SEC)
#define DATA STRAND_EQUIPMENT_DATA

static gint64
T (const char *text)
{
  gint64 t = 0;
  g_assert_true (strand_clock_parse_rfc3339 (text, &t));
  return t;
}

static StrandInventory *
facility (void)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inv = strand_inventory_load (DATA "/facility.equipment.json", problems);
  g_assert_nonnull (inv);
  g_assert_cmpuint (problems->len, ==, 0);
  return inv;
}

static char **
read_lines (const char *path)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_strchomp (text);
  return g_strsplit (text, "\n", -1);
}

/* What listeners saw. */
typedef struct {
  GPtrArray *interrupted; /* "EQUIPMENT TASK STATUS" */
  GPtrArray *changes;     /* "EQUIPMENT PREVIOUS>STATUS slots" */
  guint telemetry;
  GPtrArray *errors;      /* feed errors, whole messages */
} Seen;

static void
seen_init (Seen *s)
{
  s->interrupted = g_ptr_array_new_with_free_func (g_free);
  s->changes = g_ptr_array_new_with_free_func (g_free);
  s->errors = g_ptr_array_new_with_free_func (g_free);
  s->telemetry = 0;
}

static void
seen_clear (Seen *s)
{
  g_ptr_array_unref (s->interrupted);
  g_ptr_array_unref (s->changes);
  g_ptr_array_unref (s->errors);
}

static void
on_interrupted (const StrandEquipment *e, const char *task, StrandEquipmentStatus status, gint64 t,
                gpointer data)
{
  Seen *s = data;
  g_ptr_array_add (s->interrupted, g_strdup_printf ("%s %s %s", e->id, task, strand_equipment_status_name (status)));
}

static gboolean
on_change (const StrandStatusChange *c, gpointer data, GError **error)
{
  Seen *s = data;
  g_ptr_array_add (s->changes, g_strdup_printf ("%s %s>%s %u", c->equipment->id,
                                                strand_equipment_status_name (c->previous),
                                                strand_equipment_status_name (c->status), c->slots));
  return TRUE;
}

static gboolean
on_telemetry (const StrandEquipment *e, const char *name, double value, gint64 t, gpointer data,
              GError **error)
{
  ((Seen *) data)->telemetry++;
  return TRUE;
}

static void
on_feed_error (const GError *error, gpointer data)
{
  g_ptr_array_add (((Seen *) data)->errors, g_strdup (error->message));
}

static const StrandMonitorListener listener = { on_change, on_interrupted, on_telemetry };

/* Every line of bad-events.jsonl is refused by the parser (the schema test
 * checks the same lines against the schema); every line of day.jsonl parses. */
static void
test_parse (void)
{
  g_auto (GStrv) bad = read_lines (DATA "/bad-events.jsonl");
  g_assert_cmpuint (g_strv_length (bad), >=, 20);
  for (guint i = 0; bad[i]; i++)
    {
      g_auto (StrandEquipmentEvent) ev = { 0 };
      g_autoptr (GError) error = NULL;
      if (strand_equipment_event_parse (bad[i], strlen (bad[i]), &ev, &error))
        g_error ("bad-events.jsonl:%u was accepted: %s", i + 1, bad[i]);
      g_assert_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_MALFORMED);
      g_assert_null (ev.equipment);
      g_assert_null (strchr (error->message, '\n'));
    }
  g_auto (GStrv) good = read_lines (DATA "/day.jsonl");
  for (guint i = 0; good[i]; i++)
    {
      g_auto (StrandEquipmentEvent) ev = { 0 };
      g_autoptr (GError) error = NULL;
      g_assert_true (strand_equipment_event_parse (good[i], strlen (good[i]), &ev, &error));
      g_assert_no_error (error);
    }
  /* The members as the C side sees them. */
  const char *line = "{\"time\": \"2027-01-11T08:00:00+01:00\", \"equipment\": \"x.1\", \"status\": \"busy\","
                     " \"tasks\": [\"a\", \"b\"], \"reason\": \"run\", \"telemetry\": {\"t\": 1.5},"
                     " \"usage\": {\"cycles\": 300}}";
  g_auto (StrandEquipmentEvent) ev = { 0 };
  g_assert_true (strand_equipment_event_parse (line, strlen (line), &ev, NULL));
  g_assert_cmpint (ev.time_us, ==, T ("2027-01-11T07:00:00Z"));
  g_assert_cmpstr (ev.equipment, ==, "x.1");
  g_assert_cmpint (ev.status, ==, STRAND_EQUIPMENT_BUSY);
  g_assert_cmpuint (g_strv_length (ev.tasks), ==, 2);
  g_assert_cmpstr (ev.reason, ==, "run");
  g_assert_cmpfloat (g_array_index (ev.telemetry, StrandNamedValue, 0).value, ==, 1.5);
  g_assert_cmpstr (g_array_index (ev.usage, StrandNamedValue, 0).name, ==, "cycles");
  /* Bytes that are not text, and a NUL inside the line. */
  g_auto (StrandEquipmentEvent) ev2 = { 0 };
  g_autoptr (GError) error = NULL;
  g_assert_false (strand_equipment_event_parse ("{\"time\": \"\xff\"}", 13, &ev2, &error));
  g_assert_nonnull (strstr (error->message, "UTF-8"));
  g_clear_error (&error);
  g_assert_false (strand_equipment_event_parse ("{}\0{}", 5, &ev2, &error));
}

typedef struct {
  char *dir;
  StrandInventory *inventory;
  StrandMonitor *monitor;
  StrandProvenance *prov;
  Seen seen;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-equipment-XXXXXX", NULL);
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_provenance_init (store, &error));
  f->prov = strand_provenance_open (store, &error);
  g_assert_no_error (error);
  f->inventory = facility ();
  f->monitor = strand_monitor_new (f->inventory);
  strand_monitor_set_provenance (f->monitor, f->prov);
  seen_init (&f->seen);
  strand_monitor_add_listener (f->monitor, &listener, &f->seen);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_monitor_free (f->monitor);
  strand_inventory_free (f->inventory);
  strand_provenance_close (f->prov);
  seen_clear (&f->seen);
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
}

static StrandEquipment *
equipment (Fixture *f, const char *id)
{
  return strand_monitor_equipment (f->monitor, id);
}

static double
counter (Fixture *f, const char *id, const char *name)
{
  StrandUsageCounter *c = strand_health_counter (equipment (f, id)->health, name);
  g_assert_nonnull (c);
  return c->count;
}

typedef struct {
  GPtrArray *statements; /* JsonNode of equipment-status records */
  const StrandKey *key;
} Records;

static gboolean
collect_record (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset, gpointer data)
{
  Records *r = data;
  g_autoptr (GError) error = NULL;
  JsonNode *st = strand_record_open (line, len, r->key, NULL, NULL, &error);
  g_assert_no_error (error);
  if (g_strcmp0 (json_object_get_string_member (json_node_get_object (st), "predicateType"),
                 STRAND_RECORD_EQUIPMENT_STATUS) == 0)
    g_ptr_array_add (r->statements, st);
  else
    json_node_unref (st);
  return TRUE;
}

static GPtrArray *
status_records (Fixture *f)
{
  Records r = { g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref), strand_provenance_key (f->prov) };
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_ledger_read (strand_ledger_path (strand_provenance_ledger (f->prov)), 0,
                                     collect_record, &r, &error));
  g_assert_no_error (error);
  return r.statements;
}

static JsonObject *
predicate (GPtrArray *records, guint i)
{
  return json_object_get_object_member (json_node_get_object (records->pdata[i]), "predicate");
}

/* A day of events: the state, the counters, the failure, the interrupted
 * task and the signed records of every status change. */
static void
test_day (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandEventFeed) feed = strand_event_feed_open (DATA "/day.jsonl", f->monitor, &error);
  g_assert_no_error (error);
  strand_event_feed_set_error_func (feed, on_feed_error, &f->seen);
  g_assert_true (strand_event_feed_run (feed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (f->seen.errors->len, ==, 0);
  g_assert_cmpuint (strand_event_feed_lines (feed), ==, 11);
  g_assert_cmpuint (strand_event_feed_applied (feed), ==, 11);

  /* compute-01 went down with S0/qc on it; S0/align had finished at 11:00. */
  g_assert_cmpuint (f->seen.interrupted->len, ==, 1);
  g_assert_cmpstr (f->seen.interrupted->pdata[0], ==, "compute-01 S0/qc down");
  g_assert_cmpint (strand_monitor_status (f->monitor, "compute-01", NULL), ==, STRAND_EQUIPMENT_UP);
  StrandHealth *ch = equipment (f, "compute-01")->health;
  g_assert_cmpuint (ch->observed_failures, ==, 1);
  g_assert_cmpfloat (counter (f, "compute-01", "runs"), ==, 2);
  /* Busy 09:00-12:00; operating (up or busy) 07:00-12:00 up to its last event at
   * 14:00, then 14:00-16:00 once the monitor is told the time. */
  g_assert_cmpfloat_with_epsilon (counter (f, "compute-01", "hours"), 3, 1e-9);
  g_assert_cmpfloat_with_epsilon (ch->observed_hours, 5, 1e-9);
  strand_monitor_advance (f->monitor, T ("2027-01-11T16:00:00Z"));
  g_assert_cmpfloat_with_epsilon (ch->observed_hours, 7, 1e-9);

  /* The sequencer was serviced on Tuesday at 09:00: every counter back to 0. */
  gint64 since = 0;
  g_assert_cmpint (strand_monitor_status (f->monitor, "novaseq-a01", &since), ==, STRAND_EQUIPMENT_UP);
  g_assert_cmpint (since, ==, T ("2027-01-12T09:00:00Z"));
  StrandHealth *sh = equipment (f, "novaseq-a01")->health;
  g_assert_cmpint (sh->last_service_us, ==, T ("2027-01-12T09:00:00Z"));
  g_assert_cmpfloat (counter (f, "novaseq-a01", "runs"), ==, 0);
  g_assert_cmpfloat (counter (f, "novaseq-a01", "lamp_hours"), ==, 0);
  double value = 0;
  gint64 when = 0;
  g_assert_true (strand_monitor_last_telemetry (f->monitor, "novaseq-a01", "temperature_c", &value, &when));
  g_assert_cmpfloat (value, ==, 20.5);
  g_assert_cmpint (when, ==, T ("2027-01-12T09:00:00Z"));
  g_assert_true (strand_monitor_last_telemetry (f->monitor, "novaseq-a01", "flow_ml_min", &value, NULL));
  g_assert_cmpfloat (value, ==, 1.2);
  g_assert_cmpuint (f->seen.telemetry, ==, 4);

  /* Listeners saw the slot change too; the ledger only status changes. */
  const char *expected[] = {
    "novaseq-a01 unknown>up 0", "compute-01 unknown>up 0", "novaseq-a01 up>busy 1", "compute-01 up>busy 2",
    "compute-01 busy>busy 1", "compute-01 busy>down 0", "compute-01 down>up 0", "novaseq-a01 busy>up 0",
    "novaseq-a01 up>maintenance 0", "novaseq-a01 maintenance>up 0",
  };
  g_assert_cmpuint (f->seen.changes->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (f->seen.changes->pdata[i], ==, expected[i]);

  g_autoptr (GPtrArray) records = status_records (f);
  g_assert_cmpuint (records->len, ==, 9);
  JsonObject *down = predicate (records, 4);
  g_assert_cmpstr (json_object_get_string_member (down, "equipment"), ==, "compute-01");
  g_assert_cmpstr (json_object_get_string_member (down, "status"), ==, "down");
  g_assert_cmpstr (json_object_get_string_member (down, "previous"), ==, "busy");
  g_assert_cmpstr (json_object_get_string_member (down, "reason"), ==, "kernel panic");
  g_assert_true (json_object_get_boolean_member (down, "failure"));
  g_assert_cmpstr (json_object_get_string_member (down, "time"), ==, "2027-01-11T12:00:00.000000Z");
  JsonArray *cut = json_object_get_array_member (down, "interrupted");
  g_assert_cmpuint (json_array_get_length (cut), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (cut, 0), ==, "S0/qc");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (down, "source"), "day.jsonl:7"));
  JsonObject *serviced = predicate (records, 8);
  g_assert_cmpstr (json_object_get_string_member (serviced, "status"), ==, "up");
  g_assert_true (json_object_get_boolean_member (serviced, "serviced"));
  /* The counters as they stood at the service: 41 runs, 308 hours. */
  JsonObject *counters = json_object_get_object_member (serviced, "counters");
  g_assert_cmpfloat (json_object_get_double_member (counters, "runs"), ==, 41);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (counters, "hours"), 308, 1e-9);

  /* Anyone can check them. */
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  guint64 n = 0, objects = 0;
  g_assert_true (strand_provenance_verify (strand_provenance_dir (f->prov), problems, &n, &objects));
  g_assert_cmpuint (n, ==, 9);
}

/* Bad lines between good ones: one error each, with its line number, and
 * the good lines after them still count. */
static void
test_malformed_feed (Fixture *f, gconstpointer data)
{
  g_autofree char *long_line = g_strnfill (STRAND_FEED_MAX_LINE + 10, 'x');
  g_autofree char *text = g_strconcat (
      "{\"time\": \"2027-01-11T07:00:00Z\", \"equipment\": \"compute-01\", \"status\": \"up\"}\n", /* 1 */
      "{\"time\": \"2027-01-11T07:10:00Z\", \"equipment\": \"compute-01\", \"status\": \"busy\"\n", /* 2: cut */
      "\n",                                                                                           /* 3: blank */
      "{\"time\": \"2027-01-11T08:00:00Z\", \"equipment\": \"compute-99\", \"status\": \"up\"}\n", /* 4 */
      long_line, "\n",                                                                                /* 5 */
      "{\"time\": \"2027-01-11T08:00:00Z\", \"equipment\": \"compute-01\", \"status\": \"busy\", \"tasks\": [\"a\"]}\r\n", /* 6 */
      "{\"time\": \"2027-01-11T07:30:00Z\", \"equipment\": \"compute-01\", \"status\": \"down\"}\n", /* 7: back in time */
      "{\"time\": \"2027-01-11T09:00:00Z\", \"equipment\": \"compute-01\", \"status\": \"busy\", \"tasks\": [\"a\", \"b\", \"c\"]}\n", /* 8 */
      "{\"time\": \"2027-01-11T09:00:00Z\", \"equipment\": \"compute-01\", \"status\": \"sleeping\"}\n", /* 9 */
      "{\"time\": \"2027-01-11T10:00:00Z\", \"equipment\": \"compute-01\", \"status\": \"busy\", \"tasks\": [\"a\", \"b\"]}", /* 10, no newline */
      NULL);
  g_autofree char *path = g_build_filename (f->dir, "feed.jsonl", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandEventFeed) feed = strand_event_feed_open (path, f->monitor, &error);
  strand_event_feed_set_error_func (feed, on_feed_error, &f->seen);
  g_assert_true (strand_event_feed_run (feed, &error));
  g_assert_cmpuint (strand_event_feed_lines (feed), ==, 10);
  g_assert_cmpuint (strand_event_feed_applied (feed), ==, 3);
  g_assert_cmpuint (strand_event_feed_errors (feed), ==, 6);
  const struct { guint line; const char *says; } expected[] = {
    { 2, "not JSON" }, { 4, "no equipment 'compute-99'" }, { 5, "longer than 65536 bytes" },
    { 7, "is before its last event" }, { 8, "busy with 3 tasks but has 2 slots" },
    { 9, "'status' is one of" },
  };
  g_assert_cmpuint (f->seen.errors->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *prefix = g_strdup_printf ("%s:%u: ", path, expected[i].line);
      const char *msg = f->seen.errors->pdata[i];
      if (!g_str_has_prefix (msg, prefix) || strstr (msg, expected[i].says) == NULL)
        g_error ("error %u: expected '%s...%s', got '%s'", i, prefix, expected[i].says, msg);
    }
  g_assert_cmpint (strand_monitor_status (f->monitor, "compute-01", NULL), ==, STRAND_EQUIPMENT_BUSY);
  const char *const *tasks = strand_monitor_tasks (f->monitor, "compute-01");
  g_assert_cmpstr (tasks[0], ==, "a");
  g_assert_cmpstr (tasks[1], ==, "b");
  g_assert_null (tasks[2]);
  /* Refused events changed nothing: no failure was counted. */
  g_assert_cmpuint (equipment (f, "compute-01")->health->observed_failures, ==, 0);
}

/* A pipe in a main loop: half a line waits for its end, and the end of the
 * pipe ends the feed. */
typedef struct {
  gboolean done;
  StrandFeedStatus status;
} Done;

static void
on_done (StrandEventFeed *feed, StrandFeedStatus status, const GError *error, gpointer data)
{
  Done *d = data;
  d->done = TRUE;
  d->status = status;
}

static void
write_str (int fd, const char *s)
{
  g_assert_cmpint (write (fd, s, strlen (s)), ==, (gssize) strlen (s));
}

static void
iterate (GMainContext *ctx)
{
  /* Run what is ready, without blocking. */
  for (int i = 0; i < 10 && g_main_context_iteration (ctx, FALSE); i++)
    ;
}

static void
test_pipe_main_loop (Fixture *f, gconstpointer data)
{
  int fds[2];
  g_assert_cmpint (pipe (fds), ==, 0);
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  g_autoptr (StrandEventFeed) feed = strand_event_feed_new_fd (fds[0], "instrument", f->monitor);
  strand_event_feed_set_error_func (feed, on_feed_error, &f->seen);
  Done done = { FALSE, STRAND_FEED_AGAIN };
  g_assert_cmpuint (strand_event_feed_attach (feed, ctx, on_done, &done), >, 0);

  iterate (ctx); /* nothing written: nothing happens, nothing blocks */
  g_assert_false (done.done);
  write_str (fds[1], "{\"time\": \"2027-01-11T07:00:00Z\", \"equipment\": \"novaseq-a01\", \"sta");
  iterate (ctx);
  g_assert_cmpuint (strand_event_feed_applied (feed), ==, 0);
  g_assert_cmpint (strand_monitor_status (f->monitor, "novaseq-a01", NULL), ==, STRAND_EQUIPMENT_UNKNOWN);
  write_str (fds[1], "tus\": \"up\"}\n{\"time\": \"2027-01-11T08:00:00Z\", \"equipment\": \"novaseq-a01\", "
                     "\"status\": \"busy\", \"tasks\": [\"S1/sequence\"]}\n");
  iterate (ctx);
  g_assert_cmpuint (strand_event_feed_applied (feed), ==, 2);
  g_assert_cmpint (strand_monitor_status (f->monitor, "novaseq-a01", NULL), ==, STRAND_EQUIPMENT_BUSY);
  write_str (fds[1], "garbage\n{\"time\": \"2027-01-11T09:00:00Z\", \"equipment\": \"novaseq-a01\", \"status\": \"down\"}");
  iterate (ctx);
  g_assert_cmpuint (f->seen.errors->len, ==, 1);
  g_assert_true (g_str_has_prefix (f->seen.errors->pdata[0], "instrument:3: "));
  g_assert_false (done.done);
  close (fds[1]); /* the last line had no newline: the end applies it */
  for (int i = 0; i < 100 && !done.done; i++)
    g_main_context_iteration (ctx, TRUE);
  g_assert_true (done.done);
  g_assert_cmpint (done.status, ==, STRAND_FEED_END);
  g_assert_cmpint (strand_monitor_status (f->monitor, "novaseq-a01", NULL), ==, STRAND_EQUIPMENT_DOWN);
  g_assert_cmpuint (f->seen.interrupted->len, ==, 1);
  g_assert_cmpstr (f->seen.interrupted->pdata[0], ==, "novaseq-a01 S1/sequence down");
}

/* A named pipe nobody has opened yet is not an ended feed. */
static void
test_fifo_waits_for_writer (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "feed.fifo", NULL);
  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandEventFeed) feed = strand_event_feed_open (path, f->monitor, &error);
  g_assert_no_error (error);
  g_assert_cmpint (strand_event_feed_read (feed, &error), ==, STRAND_FEED_AGAIN);
  int w = open (path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (w, >=, 0);
  g_assert_cmpint (strand_event_feed_read (feed, &error), ==, STRAND_FEED_AGAIN);
  write_str (w, "{\"time\": \"2027-01-11T07:00:00Z\", \"equipment\": \"compute-01\", \"status\": \"up\"}\n");
  close (w);
  g_assert_true (strand_event_feed_run (feed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strand_event_feed_applied (feed), ==, 1);
  g_assert_cmpint (strand_event_feed_read (feed, &error), ==, STRAND_FEED_END);

  /* What is not a feed. */
  g_autoptr (StrandEventFeed) none = strand_event_feed_open (f->dir, f->monitor, &error);
  g_assert_null (none);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR);
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (f->dir, "missing", NULL);
  g_assert_null (strand_event_feed_open (missing, f->monitor, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

/* The executor's C API: tasks in and out, what may not happen, history. */
static void
test_task_api (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  StrandMonitor *m = f->monitor;
  gint64 t0 = T ("2027-01-11T07:00:00Z");
  g_assert_true (strand_monitor_set_status (m, "compute-01", STRAND_EQUIPMENT_UP, NULL, t0, &error));
  g_assert_true (strand_monitor_task_started (m, "compute-01", "A/align", t0 + H, &error));
  g_assert_true (strand_monitor_task_started (m, "compute-01", "B/align", t0 + 2 * H, &error));
  g_assert_false (strand_monitor_task_started (m, "compute-01", "C/align", t0 + 2 * H, &error));
  g_assert_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_CAPACITY);
  g_clear_error (&error);
  g_assert_false (strand_monitor_task_started (m, "compute-01", "A/align", t0 + 2 * H, &error));
  g_clear_error (&error);
  g_assert_true (strand_monitor_task_finished (m, "compute-01", "A/align", t0 + 3 * H, &error));
  g_assert_false (strand_monitor_task_finished (m, "compute-01", "A/align", t0 + 3 * H, &error));
  g_clear_error (&error);
  g_assert_true (strand_monitor_task_finished (m, "compute-01", "B/align", t0 + 4 * H, &error));
  g_assert_cmpint (strand_monitor_status (m, "compute-01", NULL), ==, STRAND_EQUIPMENT_UP);
  g_assert_cmpfloat (counter (f, "compute-01", "runs"), ==, 2);
  g_assert_cmpfloat_with_epsilon (counter (f, "compute-01", "hours"), 3, 1e-9);

  g_assert_true (strand_monitor_set_status (m, "compute-01", STRAND_EQUIPMENT_MAINTENANCE, "update", t0 + 5 * H, &error));
  g_assert_false (strand_monitor_task_started (m, "compute-01", "C/align", t0 + 5 * H, &error));
  g_clear_error (&error);
  g_assert_false (strand_monitor_set_status (m, "compute-01", STRAND_EQUIPMENT_UP, NULL, t0, &error));
  g_assert_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_OUT_OF_ORDER);
  g_clear_error (&error);
  g_assert_false (strand_monitor_set_status (m, "nowhere", STRAND_EQUIPMENT_UP, NULL, t0, &error));
  g_assert_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_UNKNOWN_EQUIPMENT);
  g_clear_error (&error);
  g_assert_true (strand_monitor_telemetry (m, "compute-01", "load", 0.5, t0 + 6 * H, &error));
  g_assert_false (strand_monitor_telemetry (m, "compute-01", "bad/name", 1, t0 + 6 * H, &error));
  g_clear_error (&error);

  g_autoptr (GArray) history = strand_monitor_history (m, "compute-01", t0 + 7 * H);
  /* up, busy 1, busy 2, busy 1, up, maintenance (open to +7 h) */
  g_assert_cmpuint (history->len, ==, 6);
  const StrandStatusInterval *h = (const StrandStatusInterval *) history->data;
  g_assert_cmpint (h[2].status, ==, STRAND_EQUIPMENT_BUSY);
  g_assert_cmpuint (h[2].slots, ==, 2);
  g_assert_cmpint (h[2].start_us, ==, t0 + 2 * H);
  g_assert_cmpint (h[2].end_us, ==, t0 + 3 * H);
  g_assert_cmpint (h[5].status, ==, STRAND_EQUIPMENT_MAINTENANCE);
  g_assert_cmpint (h[5].end_us, ==, t0 + 7 * H);
  strand_monitor_forget_before (m, t0 + 3 * H + 1);
  g_autoptr (GArray) rest = strand_monitor_history (m, "compute-01", t0 + 7 * H);
  g_assert_cmpuint (rest->len, ==, 3);
  gint64 first = 0, last = 0;
  g_assert_true (strand_monitor_event_span (m, &first, &last));
  g_assert_cmpint (first, ==, t0);
  g_assert_cmpint (last, ==, t0 + 6 * H);

  g_autoptr (JsonNode) report = strand_monitor_to_json (m, t0 + 7 * H);
  JsonArray *items = json_object_get_array_member (json_node_get_object (report), "equipment");
  JsonObject *c = json_array_get_object_element (items, 1);
  g_assert_cmpstr (json_object_get_string_member (c, "status"), ==, "maintenance");
  g_assert_cmpstr (json_object_get_string_member (c, "reason"), ==, "update");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (items, 0), "status"), ==, "unknown");
}

/* A change the ledger cannot take does not happen: the error says so and
 * the machine keeps its status, tasks and counters. The ledger's writes are
 * made to fail by a file size limit, in a child process. */
static void
test_record_failure (Fixture *f, gconstpointer data)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }
  g_autoptr (GError) error = NULL;
  gint64 t0 = T ("2027-01-11T07:00:00Z");
  g_assert_true (strand_monitor_set_status (f->monitor, "compute-01", STRAND_EQUIPMENT_UP, NULL, t0, &error));
  g_assert_true (strand_monitor_task_started (f->monitor, "compute-01", "A/align", t0 + H, &error));
  g_assert_no_error (error);
  GStatBuf st;
  g_assert_cmpint (g_stat (strand_ledger_path (strand_provenance_ledger (f->prov)), &st), ==, 0);
  signal (SIGXFSZ, SIG_IGN);
  struct rlimit limit = { (rlim_t) st.st_size + 16, (rlim_t) st.st_size + 16 };
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);

  g_assert_false (strand_monitor_set_status (f->monitor, "compute-01", STRAND_EQUIPMENT_DOWN, "psu", t0 + 3 * H, &error));
  g_assert_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_RECORD);
  g_assert_nonnull (strstr (error->message, "could not be recorded"));
  g_assert_cmpint (strand_monitor_status (f->monitor, "compute-01", NULL), ==, STRAND_EQUIPMENT_BUSY);
  g_assert_cmpstr (strand_monitor_tasks (f->monitor, "compute-01")[0], ==, "A/align");
  g_assert_cmpuint (f->seen.interrupted->len, ==, 0);
  StrandHealth *h = equipment (f, "compute-01")->health;
  g_assert_cmpuint (h->observed_failures, ==, 0);
  g_assert_cmpfloat_with_epsilon (counter (f, "compute-01", "hours"), 0, 1e-12);
  g_assert_cmpfloat_with_epsilon (h->observed_hours, 1, 1e-12);

  /* Closing the store still cannot write it, and says so. */
  strand_monitor_set_provenance (f->monitor, NULL);
  g_test_expect_message ("strand", G_LOG_LEVEL_WARNING, "*File too large*");
  g_test_expect_message ("strand", G_LOG_LEVEL_WARNING, "*File too large*");
  g_clear_pointer (&f->prov, strand_provenance_close);
  g_test_assert_expected_messages ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/monitor/parse", test_parse);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/monitor/day", test_day);
  ADD ("/monitor/malformed-feed", test_malformed_feed);
  ADD ("/monitor/pipe-main-loop", test_pipe_main_loop);
  ADD ("/monitor/fifo-waits-for-writer", test_fifo_waits_for_writer);
  ADD ("/monitor/task-api", test_task_api);
  ADD ("/monitor/record-failure", test_record_failure);
  return g_test_run ();
}
