/* How much of the time a machine could work it did work: over a stretch of
 * its history (per day, or up to now), and forecast for the next hours from
 * the tasks the scheduler has reserved on it.
 *
 * Over [from, until):
 *
 *   operating    the inventory's operating hours (equipment.h)
 *   maintenance  operating time inside a planned maintenance window or in
 *                status maintenance
 *   scheduled    operating - maintenance: when the machine should work
 *   down         scheduled time in status down (lost to faults)
 *   unknown      scheduled time no event covers (before the first event)
 *   available    scheduled - down - unknown: up or busy
 *   busy         busy time inside available time, each busy stretch weighted
 *                by its busy slots / capacity
 *   overrun      busy time outside scheduled time (a run going on past closing
 *                time or into a maintenance window), weighted the same way
 *
 *   utilization  = busy / available   (0 when nothing was available)
 *   availability = available / (scheduled - unknown)
 *
 * so utilization says how well the working time was used and availability
 * how much of it faults took away; their product is busy over scheduled
 * time. Days are UTC days, as operating hours are UTC. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "equipment-monitor.h"
#include "equipment.h"
#include "problems.h"

G_BEGIN_DECLS

typedef struct {
  gint64 from_us;
  gint64 until_us;
  gint64 operating_us;
  gint64 maintenance_us;
  gint64 scheduled_us;
  gint64 down_us;
  gint64 unknown_us;
  gint64 available_us;
  gint64 busy_us;
  gint64 overrun_us;
  double utilization;
  double availability;
} StrandUtilization;

/* The figures of `equipment` over [from_us, until_us) from its status
 * history (StrandStatusInterval in time order, not overlapping; time no
 * interval covers is unknown). */
void strand_utilization_compute (const StrandEquipment *equipment,
                                 const StrandStatusInterval *history, guint n_history,
                                 gint64 from_us, gint64 until_us, StrandUtilization *out);

/* One StrandUtilization per UTC day touching [from_us, until_us), each
 * clipped to the range (the first and last may be partial days). */
GArray *strand_utilization_daily (const StrandEquipment *equipment,
                                  const StrandStatusInterval *history, guint n_history,
                                  gint64 from_us, gint64 until_us);

/* The same from a monitor's history of `equipment`, the current status
 * running to `until_us` (pass strand_clock_now_us() for live figures). */
gboolean strand_utilization_of (StrandMonitor *monitor, const char *equipment, gint64 from_us,
                                gint64 until_us, StrandUtilization *out);

/* Start of the UTC day holding `wall_us`. */
gint64 strand_utilization_day_start (gint64 wall_us);

/* ---- forecast ---------------------------------------------------------------------- */

/* A task the scheduler has placed: one slot of `equipment` from start to end. */
typedef struct {
  char *equipment;
  char *task; /* may be NULL */
  gint64 start_us;
  gint64 end_us;
} StrandReservation;

void strand_reservation_clear (StrandReservation *reservation);

/* Reads {"reservations": [{"equipment", "start", "end", "task"?}...]}
 * (schemas/equipment-reservations.schema.json) into a new array of
 * StrandReservation; NULL and problems (code, JSON pointer, message) when
 * anything is wrong. */
GArray *strand_reservations_load (const char *path, GPtrArray *problems);
GArray *strand_reservations_load_data (const char *data, gsize len, const char *name,
                                       GPtrArray *problems);

typedef struct {
  const StrandEquipment *equipment;
  StrandUtilization total;  /* over [now, now + horizon) */
  GArray *hours;            /* StrandUtilization per hour from now */
  gint64 overbooked_us;     /* time with more reservations than slots */
  guint reservations;       /* reservations on it that overlap the horizon */
} StrandForecast;

void strand_forecast_clear (StrandForecast *forecast);

/* For every machine of `inventory`: what the reservations make of
 * [now_us, now_us + horizon_us), assuming each machine is up outside its
 * planned maintenance (a reservation is busy for one slot; more than the
 * machine's slots at once count as full and as overbooked). Reservations
 * naming no machine of the inventory are problems ("unknown-equipment").
 * Returns an array of StrandForecast in inventory order. */
GArray *strand_forecast (const StrandInventory *inventory, const StrandReservation *reservations,
                         guint n_reservations, gint64 now_us, gint64 horizon_us,
                         GPtrArray *problems);

/* {"from", "until", "operating_s", ..., "utilization", "availability"}. */
JsonNode *strand_utilization_to_json (const StrandUtilization *u);

G_END_DECLS
