/* `strand equipment status|utilization` as an operator runs it: a feed from
 * a file or stdin, a bad line reported with its number, figures for a day,
 * a forecast, the metrics file and the records. Issue 6, parts 3 and 5. */
#include <gio/gio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "clock.h"
#include "metrics.h"
#include "test-util.h"

#define DATA STRAND_EQUIPMENT_DATA
#define INVENTORY DATA "/facility.equipment.json"
#define DAY DATA "/day.jsonl"

static char *tmp;

/* Runs strand with `argv` (NULL-terminated after the first), `input` on
 * stdin; returns the exit status, stdout and stderr. */
static int
strand (const char *input, char **out, char **err, ...)
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
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_cwd (launcher, tmp);
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_autofree char *o = NULL, *e = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, input ? input : "", NULL, &o, &e, &error));
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("%s%s", o, e);
  if (out)
    *out = g_steal_pointer (&o);
  if (err)
    *err = g_steal_pointer (&e);
  return g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p) : 128;
}

static JsonNode *
parse (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (p, text, -1, &error))
    g_error ("not JSON (%s): %s", error->message, text);
  return json_node_copy (json_parser_get_root (p));
}

static JsonObject *
find (JsonObject *report, const char *member, const char *id)
{
  JsonArray *a = json_object_get_array_member (report, member);
  for (guint i = 0; i < json_array_get_length (a); i++)
    if (strcmp (json_object_get_string_member (json_array_get_object_element (a, i), "id"), id) == 0)
      return json_array_get_object_element (a, i);
  g_error ("no %s in %s", id, member);
}

static void
test_status (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (strand (NULL, &out, &err, "equipment", "status", INVENTORY, "--events", DAY, "--json", NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_autoptr (JsonNode) root = parse (out);
  JsonObject *r = json_node_get_object (root);
  g_assert_cmpstr (json_object_get_string_member (r, "at"), ==, "2027-01-12T09:00:00.000000Z");
  JsonObject *seq = find (r, "equipment", "novaseq-a01");
  g_assert_cmpstr (json_object_get_string_member (seq, "status"), ==, "up");
  JsonObject *health = json_object_get_object_member (seq, "health");
  g_assert_cmpstr (json_object_get_string_member (health, "last_service"), ==, "2027-01-12T09:00:00.000000Z");
  JsonObject *node = find (r, "equipment", "compute-01");
  JsonObject *rel = json_object_get_object_member (json_object_get_object_member (node, "health"), "reliability");
  g_assert_cmpint (json_object_get_int_member (rel, "observed_failures"), ==, 1);

  /* The table an operator reads. */
  g_autofree char *table = NULL;
  g_assert_cmpint (strand (NULL, &table, NULL, "equipment", "status", INVENTORY, "-e", DAY, NULL), ==, 0);
  g_assert_nonnull (strstr (table, "novaseq-a01"));
  g_assert_nonnull (strstr (table, "temperature_c = 20.5"));
  g_assert_nonnull (strstr (table, "reason: rebooted"));
}

/* A bad line is one error with its line number; the rest still counts and
 * the exit status says something was wrong. Read from stdin this time. */
static void
test_bad_line_stdin (void)
{
  g_autofree char *feed = NULL;
  g_assert_true (g_file_get_contents (DAY, &feed, NULL, NULL));
  char *second = strchr (feed, '\n') + 1;
  g_autofree char *broken = g_strdup_printf ("%.*s{\"time\": \"noon\"}\n%s", (int) (second - feed), feed, second);
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (strand (broken, &out, &err, "equipment", "status", INVENTORY, "--events", "-", "--json", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "stdin:2: 'time' must be an RFC 3339 time"));
  g_assert_null (strstr (err, "stdin:3"));
  g_autoptr (JsonNode) root = parse (out);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (root), "bad_lines"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (find (json_node_get_object (root), "equipment", "novaseq-a01"), "status"),
                   ==, "up");
}

static void
test_utilization (void)
{
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (NULL, &out, NULL, "equipment", "utilization", INVENTORY, "--events", DAY,
                           "--from", "2027-01-11T00:00:00Z", "--until", "2027-01-12T00:00:00Z", "--json", NULL), ==, 0);
  g_autoptr (JsonNode) root = parse (out);
  JsonObject *r = json_node_get_object (root);
  JsonObject *seq = json_object_get_object_member (find (r, "equipment", "novaseq-a01"), "total");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (seq, "utilization"), 8.0 / 12.0, 1e-9);
  g_assert_cmpfloat (json_object_get_double_member (seq, "busy_s"), ==, 8 * 3600);
  JsonObject *node = json_object_get_object_member (find (r, "equipment", "compute-01"), "total");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (node, "utilization"), 2.5 / 15.0, 1e-9);
  g_assert_cmpfloat (json_object_get_double_member (node, "down_s"), ==, 2 * 3600);
  g_assert_cmpfloat (json_object_get_double_member (node, "unknown_s"), ==, 7 * 3600);

  /* By default the feed's days: Monday and Tuesday until 09:00. */
  g_autofree char *days = NULL;
  g_assert_cmpint (strand (NULL, &days, NULL, "equipment", "utilization", INVENTORY, "--events", DAY, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) droot = parse (days);
  JsonObject *d = json_node_get_object (droot);
  g_assert_cmpstr (json_object_get_string_member (d, "from"), ==, "2027-01-11T00:00:00.000000Z");
  g_assert_cmpstr (json_object_get_string_member (d, "until"), ==, "2027-01-12T09:00:00.000000Z");
  JsonArray *per_day = json_object_get_array_member (find (d, "equipment", "novaseq-a01"), "days");
  g_assert_cmpuint (json_array_get_length (per_day), ==, 2);
  JsonObject *tuesday = json_array_get_object_element (per_day, 1);
  g_assert_cmpfloat (json_object_get_double_member (tuesday, "maintenance_s"), ==, 2 * 3600);

  /* The forecast from 09:00 Tuesday: 6 h reserved on the sequencer of its
   * 12 working hours (Tue 09-19, Wed 07-09). */
  g_autofree char *fc = NULL;
  g_assert_cmpint (strand (NULL, &fc, NULL, "equipment", "utilization", INVENTORY, "--events", DAY,
                           "--reservations", DATA "/reservations.json", "--json", NULL), ==, 0);
  g_autoptr (JsonNode) froot = parse (fc);
  JsonObject *f = find (json_node_get_object (froot), "forecast", "novaseq-a01");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (f, "hours")), ==, 24);
  JsonObject *total = json_object_get_object_member (f, "total");
  g_assert_cmpfloat (json_object_get_double_member (total, "available_s"), ==, 12 * 3600);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (total, "utilization"), 0.5, 1e-9);

  g_autofree char *text = NULL;
  g_assert_cmpint (strand (NULL, &text, NULL, "equipment", "utilization", INVENTORY, "--events", DAY, NULL), ==, 0);
  g_assert_nonnull (strstr (text, "66.7%"));
}

/* --metrics writes the HDF5 file; --record writes the records verify checks. */
static void
test_metrics_and_records (void)
{
  g_autofree char *h5 = g_build_filename (tmp, "m.h5", NULL);
  g_autofree char *store = g_build_filename (tmp, "store", NULL);
  g_autofree char *err = NULL;
  g_assert_cmpint (strand (NULL, NULL, &err, "equipment", "status", INVENTORY, "--events", DAY, "--metrics", h5,
                           "--record", "--store", store, NULL), ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandMetrics) m = strand_metrics_open_read (h5, &error);
  g_assert_no_error (error);
  g_autoptr (GArray) status = strand_metrics_read_status (m, "compute-01", &error);
  g_assert_cmpuint (status->len, ==, 5);
  g_autoptr (GArray) days = strand_metrics_read_days (m, "novaseq-a01", &error);
  g_assert_cmpuint (days->len, ==, 2);
  g_assert_true (g_array_index (days, StrandMetricsDay, 0).complete);
  g_assert_false (g_array_index (days, StrandMetricsDay, 1).complete);

  g_autofree char *out = NULL;
  g_assert_cmpint (strand (NULL, &out, NULL, "verify", "--store", store, NULL), ==, 0);
  g_autofree char *log = g_build_filename (store, "ledger", "log.jsonl", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 9);

  /* A file that is not a metrics file is left alone. */
  g_autofree char *notes = g_build_filename (tmp, "notes.h5", NULL);
  g_assert_true (g_file_set_contents (notes, "not hdf5", -1, NULL));
  g_autofree char *err2 = NULL;
  g_assert_cmpint (strand (NULL, NULL, &err2, "equipment", "status", INVENTORY, "--metrics", notes, NULL), ==, 1);
  g_assert_nonnull (strstr (err2, "not an HDF5 file"));
}

static void
test_usage_and_bad_inventory (void)
{
  g_autofree char *err = NULL;
  g_assert_cmpint (strand (NULL, NULL, &err, "equipment", NULL), ==, 2);
  g_assert_cmpint (strand (NULL, NULL, NULL, "equipment", "status", NULL), ==, 2);
  g_assert_cmpint (strand (NULL, NULL, NULL, "equipment", "utilization", INVENTORY, "--until", "tomorrow", NULL), ==, 2);
  g_assert_cmpint (strand (NULL, NULL, NULL, "equipment", "utilization", INVENTORY, "--hours", "0", NULL), ==, 2);
  g_autofree char *err2 = NULL;
  g_assert_cmpint (strand (NULL, NULL, &err2, "equipment", "status", INVENTORY, "--events", "missing.jsonl", NULL), ==, 1);
  g_assert_nonnull (strstr (err2, "missing.jsonl"));

  g_autofree char *bad = g_build_filename (tmp, "bad.equipment.json", NULL);
  g_assert_true (g_file_set_contents (bad, "{\"equipment\": [{\"id\": \"x\", \"class\": \"compute\","
                                           " \"service\": {\"counters\": {\"runs\": {\"due\": -5}}}}]}", -1, NULL));
  g_autofree char *err3 = NULL;
  g_assert_cmpint (strand (NULL, NULL, &err3, "equipment", "status", bad, NULL), ==, 1);
  g_assert_nonnull (strstr (err3, "#/equipment/0/service/counters/runs"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-cmd-equipment-XXXXXX", NULL);
  g_test_add_func ("/cmd-equipment/status", test_status);
  g_test_add_func ("/cmd-equipment/bad-line-stdin", test_bad_line_stdin);
  g_test_add_func ("/cmd-equipment/utilization", test_utilization);
  g_test_add_func ("/cmd-equipment/metrics-and-records", test_metrics_and_records);
  g_test_add_func ("/cmd-equipment/usage-and-bad-inventory", test_usage_and_bad_inventory);
  int status = g_test_run ();
  strand_test_remove_tree (tmp);
  g_free (tmp);
  return status;
}
