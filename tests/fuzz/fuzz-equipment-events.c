/* Fuzz target: an equipment event feed, read as the host reads it (line
 * buffering, the event parser, the monitor's state machine), then the
 * utilization arithmetic over what it made of the machines. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "equipment-feed.h"
#include "utilization.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char inventory_json[] =
  "{\"equipment\": ["
  " {\"id\": \"novaseq-a01\", \"class\": \"sequencer\","
  "  \"hours\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], \"start\": \"07:00\", \"end\": \"19:00\"},"
  "             {\"days\": [\"sat\"], \"start\": \"22:00\", \"end\": \"02:00\"}],"
  "  \"maintenance\": [{\"start\": \"2027-01-12T07:00:00Z\", \"end\": \"2027-01-12T09:00:00Z\"}],"
  "  \"service\": {\"last\": \"2026-12-01T00:00:00Z\", \"every_days\": 90,"
  "   \"counters\": {\"runs\": {\"count\": 40, \"due\": 50}, \"hours\": {\"count\": 300, \"due\": 500}}},"
  "  \"reliability\": {\"model\": \"weibull\", \"shape\": 1.8, \"scale_hours\": 4000}},"
  " {\"id\": \"compute-01\", \"class\": \"compute\", \"capacity\": 2,"
  "  \"reliability\": {\"model\": \"rate\", \"failures\": 3, \"hours\": 8760}}]}";

#define DAY_US ((gint64) 86400 * G_USEC_PER_SEC)

static void
check (const StrandUtilization *u)
{
  if (u->scheduled_us != u->operating_us - u->maintenance_us ||
      u->scheduled_us != u->available_us + u->down_us + u->unknown_us || u->unknown_us < 0 ||
      u->busy_us < 0 || u->busy_us > u->available_us || u->overrun_us < 0 ||
      u->operating_us > u->until_us - u->from_us || u->utilization < 0 || u->utilization > 1)
    g_error ("inconsistent utilization over [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
             u->from_us, u->until_us);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* The inventory's health changes with the events: start from a fresh copy. */
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandInventory) inv = strand_inventory_load_data (inventory_json, sizeof inventory_json - 1,
                                                                "fuzz", problems);
  g_assert (inv != NULL && problems->len == 0);
  int fd = memfd_create ("feed", MFD_CLOEXEC);
  g_assert (fd >= 0);
  g_assert (size == 0 || write (fd, data, size) == (ssize_t) size);
  g_assert (lseek (fd, 0, SEEK_SET) == 0);
  g_autoptr (StrandMonitor) monitor = strand_monitor_new (inv);
  g_autoptr (StrandEventFeed) feed = strand_event_feed_new_fd (fd, "fuzz", monitor);
  g_autoptr (GError) error = NULL;
  if (!strand_event_feed_run (feed, &error))
    g_error ("reading a memory file failed: %s", error->message);
  if (strand_event_feed_applied (feed) + strand_event_feed_errors (feed) > strand_event_feed_lines (feed) + 1)
    g_error ("more events and errors than lines");

  gint64 first, last;
  if (!strand_monitor_event_span (monitor, &first, &last))
    return 0;
  gint64 until = MIN (last, first + 9 * DAY_US) + 1;
  strand_monitor_advance (monitor, until);
  for (guint i = 0; i < inv->items->len; i++)
    {
      const StrandEquipment *e = inv->items->pdata[i];
      g_autoptr (GArray) history = strand_monitor_history (monitor, e->id, until);
      const StrandStatusInterval *h = (const StrandStatusInterval *) history->data;
      for (guint k = 1; k < history->len; k++)
        if (h[k].start_us < h[k - 1].end_us || h[k].start_us >= h[k].end_us)
          g_error ("history intervals overlap or are empty");
      StrandUtilization total;
      strand_utilization_compute (e, h, history->len, first, until, &total);
      check (&total);
      g_autoptr (GArray) days = strand_utilization_daily (e, h, history->len, first, until);
      gint64 busy = 0;
      for (guint d = 0; d < days->len; d++)
        {
          check (&g_array_index (days, StrandUtilization, d));
          busy += g_array_index (days, StrandUtilization, d).busy_us;
        }
      if (busy < total.busy_us - (gint64) days->len || busy > total.busy_us + (gint64) days->len)
        g_error ("days add up to %" G_GINT64_FORMAT " busy us, the whole to %" G_GINT64_FORMAT, busy, total.busy_us);
      StrandDue due;
      strand_health_due (e->health, until, &due);
      double p;
      if (strand_health_failure_probability (e->health, until, DAY_US, &p) && !(p >= 0 && p <= 1))
        g_error ("failure probability %g", p);
    }
  g_autoptr (JsonNode) report = strand_monitor_to_json (monitor, until);
  return 0;
}
