/* The HDF5 metrics file: written while a day of events is applied, read
 * back through the C API and by h5dump, appended to when opened again, and
 * never written over when it is something else. Issue 6, part 5. */
#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <string.h>

#include "clock.h"
#include "equipment-feed.h"
#include "metrics.h"
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

typedef struct {
  char *dir;
  char *path; /* dir/metrics.h5 */
  StrandInventory *inventory;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-metrics-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "metrics.h5", NULL);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  f->inventory = strand_inventory_load (DATA "/facility.equipment.json", problems);
  g_assert_nonnull (f->inventory);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_inventory_free (f->inventory);
  strand_test_remove_tree (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* Writes day.jsonl's events through a followed monitor, the days up to
 * Tuesday noon, and the quality metrics of one task. */
static void
write_day (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandMonitor) mon = strand_monitor_new (f->inventory);
  StrandMetrics *m = strand_metrics_open (f->path, &error);
  g_assert_no_error (error);
  strand_metrics_follow (m, mon);
  g_autoptr (StrandEventFeed) feed = strand_event_feed_open (DATA "/day.jsonl", mon, &error);
  g_assert_true (strand_event_feed_run (feed, &error));
  g_assert_cmpuint (strand_event_feed_errors (feed), ==, 0);
  g_assert_true (strand_metrics_finish_days (m, T ("2027-01-12T12:00:00Z"), &error));
  g_autoptr (GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_hash_table_insert (values, "q30_fraction", g_memdup2 (&(double) { 0.93 }, sizeof (double)));
  g_hash_table_insert (values, "reads", g_memdup2 (&(double) { 1e6 }, sizeof (double)));
  g_assert_true (strand_metrics_add_task (m, "S0/qc", "compute-01", T ("2027-01-11T11:00:00Z"), values, &error));
  g_assert_true (strand_metrics_close (m, &error));
  g_assert_no_error (error);
}

static void
test_read_back (Fixture *f, gconstpointer data)
{
  write_day (f);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandMetrics) m = strand_metrics_open_read (f->path, &error);
  g_assert_no_error (error);
  g_auto (GStrv) ids = strand_metrics_equipment (m, &error);
  g_assert_cmpuint (g_strv_length (ids), ==, 2);
  g_assert_cmpstr (ids[0], ==, "compute-01");
  g_assert_cmpstr (ids[1], ==, "novaseq-a01");

  /* Status intervals: each closed at the next change, the last one open. */
  g_autoptr (GArray) seq = strand_metrics_read_status (m, "novaseq-a01", &error);
  g_assert_no_error (error);
  const struct { const char *start, *end; StrandEquipmentStatus status; guint slots; } expected[] = {
    { "2027-01-11T07:00:00Z", "2027-01-11T08:00:00Z", STRAND_EQUIPMENT_UP, 0 },
    { "2027-01-11T08:00:00Z", "2027-01-11T16:00:00Z", STRAND_EQUIPMENT_BUSY, 1 },
    { "2027-01-11T16:00:00Z", "2027-01-12T07:00:00Z", STRAND_EQUIPMENT_UP, 0 },
    { "2027-01-12T07:00:00Z", "2027-01-12T09:00:00Z", STRAND_EQUIPMENT_MAINTENANCE, 0 },
    { "2027-01-12T09:00:00Z", NULL, STRAND_EQUIPMENT_UP, 0 },
  };
  g_assert_cmpuint (seq->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const StrandStatusInterval *s = &g_array_index (seq, StrandStatusInterval, i);
      g_assert_cmpint (s->start_us, ==, T (expected[i].start));
      g_assert_cmpint (s->end_us, ==, expected[i].end ? T (expected[i].end) : -1);
      g_assert_cmpint (s->status, ==, expected[i].status);
      g_assert_cmpuint (s->slots, ==, expected[i].slots);
    }
  g_autoptr (GArray) node = strand_metrics_read_status (m, "compute-01", &error);
  g_assert_cmpuint (node->len, ==, 5);
  g_assert_cmpuint (g_array_index (node, StrandStatusInterval, 1).slots, ==, 2);
  g_assert_cmpuint (g_array_index (node, StrandStatusInterval, 2).slots, ==, 1);
  g_assert_cmpint (g_array_index (node, StrandStatusInterval, 3).status, ==, STRAND_EQUIPMENT_DOWN);

  g_autoptr (GArray) temp = strand_metrics_read_telemetry (m, "novaseq-a01", "temperature_c", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (temp->len, ==, 3);
  g_assert_cmpfloat (g_array_index (temp, StrandTelemetryPoint, 0).value, ==, 21.5);
  g_assert_cmpfloat (g_array_index (temp, StrandTelemetryPoint, 1).value, ==, 22.0);
  g_assert_cmpfloat (g_array_index (temp, StrandTelemetryPoint, 2).value, ==, 20.5);
  g_assert_cmpint (g_array_index (temp, StrandTelemetryPoint, 2).time_us, ==, T ("2027-01-12T09:00:00Z"));

  /* Monday complete (written when Tuesday's first event came), Tuesday
   * morning partial: 07:00-12:00 operating, 07:00-09:00 maintenance, 3 h
   * available, idle. */
  g_autoptr (GArray) days = strand_metrics_read_days (m, "novaseq-a01", &error);
  g_assert_cmpuint (days->len, ==, 2);
  const StrandMetricsDay *mon = &g_array_index (days, StrandMetricsDay, 0);
  g_assert_true (mon->complete);
  g_assert_cmpint (mon->utilization.from_us, ==, T ("2027-01-11T00:00:00Z"));
  g_assert_cmpint (mon->utilization.available_us, ==, 12 * H);
  g_assert_cmpint (mon->utilization.busy_us, ==, 8 * H);
  g_assert_cmpfloat_with_epsilon (mon->utilization.utilization, 8.0 / 12.0, 1e-12);
  const StrandMetricsDay *tue = &g_array_index (days, StrandMetricsDay, 1);
  g_assert_false (tue->complete);
  g_assert_cmpint (tue->utilization.until_us, ==, T ("2027-01-12T12:00:00Z"));
  g_assert_cmpint (tue->utilization.maintenance_us, ==, 2 * H);
  g_assert_cmpint (tue->utilization.available_us, ==, 3 * H);
  g_assert_cmpint (tue->utilization.busy_us, ==, 0);
  /* compute-01 Monday: unknown before 07:00, down 12-14, busy 2 h full and
   * 1 h on one slot of two: 2.5 of 15 available hours. */
  g_autoptr (GArray) cdays = strand_metrics_read_days (m, "compute-01", &error);
  g_assert_cmpuint (cdays->len, ==, 2);
  const StrandUtilization *cm = &g_array_index (cdays, StrandMetricsDay, 0).utilization;
  g_assert_cmpint (cm->unknown_us, ==, 7 * H);
  g_assert_cmpint (cm->down_us, ==, 2 * H);
  g_assert_cmpint (cm->available_us, ==, 15 * H);
  g_assert_cmpint (cm->busy_us, ==, 5 * H / 2);

  g_autoptr (GPtrArray) quality = strand_metrics_read_quality (m, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (quality->len, ==, 2);
  for (guint i = 0; i < quality->len; i++)
    {
      const StrandQualityMetric *q = quality->pdata[i];
      g_assert_cmpstr (q->task, ==, "S0/qc");
      g_assert_cmpstr (q->equipment, ==, "compute-01");
      g_assert_cmpfloat (q->value, ==, strcmp (q->name, "reads") == 0 ? 1e6 : 0.93);
    }

  g_assert_null (strand_metrics_read_status (m, "seq-9", &error));
  g_assert_error (error, STRAND_METRICS_ERROR, STRAND_METRICS_ERROR_NOT_FOUND);
}

static char *
h5dump (const char *path, const char *option, const char *object)
{
  g_assert_cmpstr (STRAND_H5DUMP, !=, ""); /* hdf5-tools: packaging/install-deps.sh --test */
  const char *argv[] = { STRAND_H5DUMP, option, object, path, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = -1;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("h5dump %s %s failed: %s", option, object, err);
  return g_steal_pointer (&out);
}

/* Anyone's tools read it: h5dump shows the datasets with the status names. */
static void
test_h5dump (Fixture *f, gconstpointer data)
{
  write_day (f);
  g_autofree char *status = h5dump (f->path, "-d", "/equipment/novaseq-a01/status");
  g_assert_nonnull (strstr (status, "H5T_ENUM"));
  g_assert_nonnull (strstr (status, "maintenance"));
  g_assert_nonnull (strstr (status, "busy"));
  g_assert_nonnull (strstr (status, "( 5 )")); /* five rows */
  g_autofree char *t0 = g_strdup_printf ("%" G_GINT64_FORMAT, T ("2027-01-11T08:00:00Z"));
  g_assert_nonnull (strstr (status, t0));
  g_autofree char *temp = h5dump (f->path, "-d", "/equipment/novaseq-a01/telemetry/temperature_c");
  g_assert_nonnull (strstr (temp, "21.5"));
  g_assert_nonnull (strstr (temp, "20.5"));
  g_autofree char *version = h5dump (f->path, "-a", "/strand_metrics_version");
  g_assert_nonnull (strstr (version, "(0): 1"));
  g_autofree char *quality = h5dump (f->path, "-d", "/tasks/quality");
  g_assert_nonnull (strstr (quality, "\"S0/qc\""));
  g_assert_nonnull (strstr (quality, "\"q30_fraction\""));
  g_autofree char *days = h5dump (f->path, "-d", "/equipment/compute-01/utilization_daily");
  g_assert_nonnull (strstr (days, "busy_s"));
}

/* Opened again, the file grows; a forecast adds its hourly rows. */
static void
test_append (Fixture *f, gconstpointer data)
{
  write_day (f);
  g_autoptr (GError) error = NULL;
  StrandMetrics *m = strand_metrics_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_true (strand_metrics_add_telemetry (m, "novaseq-a01", "temperature_c", 23.0, T ("2027-01-12T10:00:00Z"), &error));
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (GArray) res = strand_reservations_load (DATA "/reservations.json", problems);
  g_assert_nonnull (res);
  g_autoptr (GArray) forecast = strand_forecast (f->inventory, (StrandReservation *) res->data, res->len,
                                                 T ("2027-01-12T09:00:00Z"), 24 * H, problems);
  for (guint i = 0; i < forecast->len; i++)
    g_assert_true (strand_metrics_add_forecast (m, &g_array_index (forecast, StrandForecast, i),
                                                T ("2027-01-12T09:00:00Z"), &error));
  g_assert_true (strand_metrics_close (m, &error));

  g_autoptr (StrandMetrics) r = strand_metrics_open_read (f->path, &error);
  g_autoptr (GArray) temp = strand_metrics_read_telemetry (r, "novaseq-a01", "temperature_c", &error);
  g_assert_cmpuint (temp->len, ==, 4);
  g_assert_cmpfloat (g_array_index (temp, StrandTelemetryPoint, 3).value, ==, 23.0);
  g_autofree char *dump = h5dump (f->path, "-d", "/equipment/novaseq-a01/forecast");
  /* Names that would escape their group are refused. */
  g_autofree char *fresh = g_build_filename (f->dir, "fresh.h5", NULL);
  StrandMetrics *w = strand_metrics_open (fresh, &error);
  g_assert_no_error (error);
  g_assert_false (strand_metrics_add_telemetry (w, "novaseq-a01", "../x", 1, 0, &error));
  g_assert_error (error, STRAND_METRICS_ERROR, STRAND_METRICS_ERROR_IO);
  g_clear_error (&error);
  g_assert_false (strand_metrics_add_telemetry (w, "a/b", "t", 1, 0, &error));
  g_clear_error (&error);
  g_assert_true (strand_metrics_close (w, &error));
  g_assert_nonnull (strstr (dump, "( 24 )"));
}

/* A file that is not ours is refused and left as it was. */
static void
test_refuses (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (f->path, "temperature,22\n", -1, NULL));
  g_assert_null (strand_metrics_open (f->path, &error));
  g_assert_error (error, STRAND_METRICS_ERROR, STRAND_METRICS_ERROR_NOT_METRICS);
  g_clear_error (&error);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (f->path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "temperature,22\n");

  g_autofree char *other = g_build_filename (f->dir, "other.h5", NULL);
  hid_t file = H5Fcreate (other, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (file, >=, 0);
  H5Fclose (file);
  g_assert_null (strand_metrics_open (other, &error));
  g_assert_error (error, STRAND_METRICS_ERROR, STRAND_METRICS_ERROR_NOT_METRICS);
  g_assert_nonnull (strstr (error->message, "not a Strand metrics file"));
  g_clear_error (&error);
  g_assert_null (strand_metrics_open_read (other, &error));
  g_clear_error (&error);

  /* A damaged copy: an error, not a crash. */
  g_unlink (f->path);
  write_day (f);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (f->path, &bytes, &len, NULL));
  g_autofree char *cut = g_build_filename (f->dir, "cut.h5", NULL);
  g_assert_true (g_file_set_contents (cut, bytes, (gssize) (len / 2), NULL));
  g_autoptr (StrandMetrics) m = strand_metrics_open_read (cut, &error);
  if (m != NULL)
    {
      g_autoptr (GArray) rows = strand_metrics_read_status (m, "novaseq-a01", &error);
      g_autoptr (GArray) days = strand_metrics_read_days (m, "compute-01", &error);
      (void) rows;
      (void) days;
    }
  else
    g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (strand_metrics_open_read (f->dir, &error));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/metrics/read-back", test_read_back);
  ADD ("/metrics/h5dump", test_h5dump);
  ADD ("/metrics/append", test_append);
  ADD ("/metrics/refuses", test_refuses);
  return g_test_run ();
}
