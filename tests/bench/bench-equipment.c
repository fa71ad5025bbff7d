/* Equipment monitoring throughput: a year of events of a 20-machine
 * facility (a status change or telemetry line every few minutes per
 * machine) read from a feed file into the monitor; the same with every
 * event appended to the HDF5 metrics file; then daily utilization of every
 * machine over the year from the monitor's history.
 *
 *   meson test -C BUILD --benchmark --suite bench -v equipment-feed
 *   BUILD/tests/bench/bench-equipment WORK_DIR [EVENTS] [RUNS]
 *
 * Each figure is the median of RUNS runs (default 3) over EVENTS events
 * (default 1,000,000; the metrics run takes a fifth of them). */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "equipment-feed.h"
#include "metrics.h"
#include "utilization.h"

#define MACHINES 20

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, compare_doubles);
  return v[n / 2];
}

static StrandInventory *
facility (void)
{
  GString *json = g_string_new ("{\"equipment\": [");
  for (int i = 0; i < MACHINES; i++)
    g_string_append_printf (json, "%s{\"id\": \"m%02d\", \"class\": \"%s\", \"capacity\": %d,"
                            " \"hours\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], \"start\": \"06:00\", \"end\": \"22:00\"}],"
                            " \"maintenance\": [{\"start\": \"2027-03-01T06:00:00Z\", \"end\": \"2027-03-01T12:00:00Z\"}],"
                            " \"service\": {\"counters\": {\"runs\": {\"count\": 0, \"due\": 100000}, \"hours\": {\"count\": 0}}},"
                            " \"reliability\": {\"model\": \"rate\", \"failures\": 2, \"hours\": 5000}}",
                            i ? ", " : "", i, i < 4 ? "sequencer" : "compute", i < 4 ? 1 : 4);
  g_string_append (json, "]}");
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inv = strand_inventory_load_data (json->str, json->len, "bench", problems);
  g_assert (inv != NULL && problems->len == 0);
  g_string_free (json, TRUE);
  return inv;
}

/* A plausible feed: per machine, in turn, busy with a task, telemetry, up,
 * now and then down and up again. */
static void
write_feed (const char *path, guint events)
{
  FILE *fp = fopen (path, "w");
  g_assert (fp != NULL);
  const gint64 start = (gint64) 1798761600 * G_USEC_PER_SEC; /* 2027-01-01 */
  const gint64 step = (gint64) 365 * 86400 * G_USEC_PER_SEC / events * MACHINES;
  guint phase[MACHINES] = { 0 };
  for (guint i = 0; i < events; i++)
    {
      guint m = i % MACHINES;
      gint64 t = start + (gint64) (i / MACHINES) * step + m;
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t / G_USEC_PER_SEC);
      g_autofree char *iso = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
      switch (phase[m]++ % 8)
        {
        case 0:
          fprintf (fp, "{\"time\": \"%s\", \"equipment\": \"m%02u\", \"status\": \"busy\", \"tasks\": [\"S%u/align\"]}\n",
                   iso, m, i);
          break;
        case 1:
        case 2:
        case 4:
        case 5:
          fprintf (fp, "{\"time\": \"%s\", \"equipment\": \"m%02u\", \"telemetry\": {\"temperature_c\": %.1f, \"load\": %.2f}}\n",
                   iso, m, 20 + (i % 50) / 10.0, (i % 100) / 100.0);
          break;
        case 3:
          fprintf (fp, "{\"time\": \"%s\", \"equipment\": \"m%02u\", \"status\": \"up\"}\n", iso, m);
          break;
        case 6:
          fprintf (fp, "{\"time\": \"%s\", \"equipment\": \"m%02u\", \"status\": \"%s\", \"reason\": \"bench\"}\n",
                   iso, m, i % 3 ? "up" : "down");
          break;
        default:
          fprintf (fp, "{\"time\": \"%s\", \"equipment\": \"m%02u\", \"status\": \"up\"}\n", iso, m);
        }
    }
  g_assert (fclose (fp) == 0);
}

static double
run_feed (const char *feed_path, const char *metrics_path, gint64 *last)
{
  g_autoptr (StrandInventory) inv = facility ();
  g_autoptr (StrandMonitor) mon = strand_monitor_new (inv);
  g_autoptr (GError) error = NULL;
  StrandMetrics *metrics = NULL;
  if (metrics_path)
    {
      g_unlink (metrics_path);
      metrics = strand_metrics_open (metrics_path, &error);
      g_assert_no_error (error);
      strand_metrics_follow (metrics, mon);
    }
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (StrandEventFeed) feed = strand_event_feed_open (feed_path, mon, &error);
  g_assert (strand_event_feed_run (feed, &error));
  if (metrics)
    g_assert (strand_metrics_close (metrics, &error));
  double seconds = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  if (strand_event_feed_errors (feed) != 0)
    g_error ("%" G_GUINT64_FORMAT " bad lines in the generated feed", strand_event_feed_errors (feed));
  gint64 first;
  strand_monitor_event_span (mon, &first, last);
  return (double) strand_event_feed_applied (feed) / seconds;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: bench-equipment WORK_DIR [EVENTS] [RUNS]\n");
      return 2;
    }
  guint events = argc > 2 ? (guint) atoi (argv[2]) : 1000000;
  int runs = argc > 3 ? atoi (argv[3]) : 3;
  g_mkdir_with_parents (argv[1], 0755);
  g_autofree char *feed = g_build_filename (argv[1], "feed.jsonl", NULL);
  g_autofree char *small = g_build_filename (argv[1], "feed-small.jsonl", NULL);
  g_autofree char *h5 = g_build_filename (argv[1], "metrics.h5", NULL);
  write_feed (feed, events);
  write_feed (small, events / 5);

  g_autofree double *rate = g_new (double, runs);
  g_autofree double *rate_h5 = g_new (double, runs);
  g_autofree double *daily = g_new (double, runs);
  gint64 last = 0;
  for (int r = 0; r < runs; r++)
    {
      rate[r] = run_feed (feed, NULL, &last);
      rate_h5[r] = run_feed (small, h5, &last);
    }
  /* Daily utilization of every machine over the year, from the history. */
  g_autoptr (StrandInventory) inv = facility ();
  g_autoptr (StrandMonitor) mon = strand_monitor_new (inv);
  g_autoptr (StrandEventFeed) f = strand_event_feed_open (feed, mon, NULL);
  g_assert (strand_event_feed_run (f, NULL));
  gint64 first;
  strand_monitor_event_span (mon, &first, &last);
  guint days = 0;
  for (int r = 0; r < runs; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      days = 0;
      for (guint i = 0; i < inv->items->len; i++)
        {
          const StrandEquipment *e = inv->items->pdata[i];
          g_autoptr (GArray) history = strand_monitor_history (mon, e->id, last);
          g_autoptr (GArray) per_day = strand_utilization_daily (e, (StrandStatusInterval *) history->data,
                                                                 history->len, first, last);
          days += per_day->len;
        }
      daily[r] = (double) (g_get_monotonic_time () - t0) / 1000.0;
    }
  GStatBuf st;
  g_stat (h5, &st);
  printf ("feed -> monitor:           %.0f events/s (%u events, median of %d)\n", median (rate, runs), events, runs);
  printf ("feed -> monitor + HDF5:    %.0f events/s (%u events; file %.1f MB)\n", median (rate_h5, runs),
          events / 5, st.st_size / 1e6);
  printf ("daily utilization:         %.1f ms for %u machine-days\n", median (daily, runs), days);
  return 0;
}
