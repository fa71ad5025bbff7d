/* What the equipment is doing now: a state machine per machine, fed by
 * events from the instruments' feed (equipment-feed.h) or by the host's own
 * executor through this C API.
 *
 * Each machine is up (idle), busy (running tasks), down (stopped by a fault)
 * or maintenance (in service); before its first event it is unknown. A
 * status change is recorded in the ledger (records.h,
 * STRAND_RECORD_EQUIPMENT_STATUS) before it takes effect, so a change the
 * host acted on is never missing from the records. Changes feed the model:
 * tasks started count "runs", busy time counts "hours", a machine going down
 * from up or busy counts a failure and the time it ran counts operating
 * hours for the failure-rate estimate (equipment-health.h). A machine that
 * stops while busy reports each task it cut short to the listeners'
 * task_interrupted, so the executor can requeue it; the finished results of
 * other tasks are untouched.
 *
 * Telemetry (temperature, pressure, ...) goes to listeners (the metrics file,
 * metrics.h) and the last value is kept; it is not recorded in the ledger.
 *
 * Everything here runs in the thread that owns the monitor. Times are wall
 * microseconds as events state them; the monitor never reads the clock. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "equipment.h"
#include "provenance.h"

G_BEGIN_DECLS

#define STRAND_MONITOR_ERROR (strand_monitor_error_quark ())
GQuark strand_monitor_error_quark (void);

typedef enum {
  STRAND_MONITOR_ERROR_MALFORMED,         /* not an event (equipment-event.schema.json) */
  STRAND_MONITOR_ERROR_UNKNOWN_EQUIPMENT, /* the inventory has no such id */
  STRAND_MONITOR_ERROR_OUT_OF_ORDER,      /* earlier than the machine's last event */
  STRAND_MONITOR_ERROR_CAPACITY,          /* more tasks than the machine has slots */
  STRAND_MONITOR_ERROR_RECORD,            /* the ledger could not record the change */
  STRAND_MONITOR_ERROR_LISTENER,          /* a listener (the metrics file) failed */
} StrandMonitorError;

typedef enum {
  STRAND_EQUIPMENT_UNKNOWN = 0, /* no event yet */
  STRAND_EQUIPMENT_UP,          /* operating, idle */
  STRAND_EQUIPMENT_BUSY,        /* running one or more tasks */
  STRAND_EQUIPMENT_DOWN,        /* stopped by a fault */
  STRAND_EQUIPMENT_MAINTENANCE, /* in service, planned or not */
} StrandEquipmentStatus;

#define STRAND_EQUIPMENT_N_STATUS 5

/* "unknown", "up", "busy", "down", "maintenance". */
const char *strand_equipment_status_name (StrandEquipmentStatus status);
/* The four an event may state (not "unknown"). */
gboolean strand_equipment_status_parse (const char *name, StrandEquipmentStatus *status);

/* One stretch of a machine's history: from start (inclusive) to end
 * (exclusive) in one status; `slots` busy slots while busy, else 0. */
typedef struct {
  gint64 start_us;
  gint64 end_us;
  StrandEquipmentStatus status;
  guint slots;
} StrandStatusInterval;

typedef struct {
  char *name;
  double value;
} StrandNamedValue;

/* One line of the feed (schemas/equipment-event.schema.json):
 *
 *   {"time": RFC3339, "equipment": ID, "status": "up"|"busy"|"down"|"maintenance",
 *    "tasks": [TASK...], "reason": TEXT, "serviced": true,
 *    "telemetry": {NAME: NUMBER...}, "usage": {COUNTER: INCREMENT...}}
 *
 * time and equipment always, and at least one of status, telemetry and usage.
 * "tasks" only with busy: the full list of what runs now (a task missing from
 * the next busy list has finished); busy without tasks means the whole
 * machine. "serviced" only with up: the machine comes back from a service,
 * every usage counter restarts from 0. "usage" adds to instrument counters
 * ("runs" and "hours" are counted from the status, not given). */
typedef struct {
  gint64 time_us;
  char *equipment;
  StrandEquipmentStatus status; /* UNKNOWN: the event does not state one */
  char **tasks;                 /* NULL-terminated; NULL unless busy with tasks */
  char *reason;
  gboolean serviced;
  GArray *telemetry; /* StrandNamedValue; NULL when none */
  GArray *usage;     /* StrandNamedValue; NULL when none */
} StrandEquipmentEvent;

void strand_equipment_event_clear (StrandEquipmentEvent *event);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StrandEquipmentEvent, strand_equipment_event_clear)

/* Parses one line (without its newline; `len` bytes, any content) into
 * `event`, which must be zeroed or cleared. On failure `event` stays empty
 * and `error` (MALFORMED) says what is wrong in one line, naming the member. */
gboolean strand_equipment_event_parse (const char *line, gsize len, StrandEquipmentEvent *event,
                                       GError **error);

/* ---- the monitor --------------------------------------------------------------- */

typedef struct StrandMonitor StrandMonitor;

/* Watches every machine of `inventory`, which must outlive the monitor; the
 * monitor updates the machines' health (counters, failures) in place. */
StrandMonitor *strand_monitor_new (StrandInventory *inventory);
void strand_monitor_free (StrandMonitor *monitor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandMonitor, strand_monitor_free)

/* Status changes are recorded in `prov`'s ledger from now on (NULL: not
 * recorded). Borrowed: it must outlive the monitor or be unset. */
void strand_monitor_set_provenance (StrandMonitor *monitor, StrandProvenance *provenance);

/* A status or busy-slot change, as listeners see it. */
typedef struct {
  const StrandEquipment *equipment;
  gint64 time_us;
  StrandEquipmentStatus previous;
  StrandEquipmentStatus status;
  guint previous_slots;
  guint slots;
  const char *reason;             /* may be NULL */
  const char *const *tasks;       /* running now; NULL-terminated, never NULL */
  const char *const *interrupted; /* cut short by this change; never NULL */
  gboolean serviced;
  gboolean failure;               /* down from up or busy */
  const char *source;             /* "FEED:LINE", or NULL for the C API */
} StrandStatusChange;

/* Callbacks, each may be NULL. status_changed and telemetry may fail (the
 * metrics file cannot be written): the event is applied all the same and
 * the failure is returned by the call that applied it. */
typedef struct {
  gboolean (*status_changed) (const StrandStatusChange *change, gpointer user_data,
                              GError **error);
  void (*task_interrupted) (const StrandEquipment *equipment, const char *task,
                            StrandEquipmentStatus status, gint64 time_us, gpointer user_data);
  gboolean (*telemetry) (const StrandEquipment *equipment, const char *name, double value,
                         gint64 time_us, gpointer user_data, GError **error);
} StrandMonitorListener;

/* Returns an id for strand_monitor_remove_listener(); listeners are called
 * in the order they were added. `listener` is copied. */
guint strand_monitor_add_listener (StrandMonitor *monitor, const StrandMonitorListener *listener,
                                   gpointer user_data);
void strand_monitor_remove_listener (StrandMonitor *monitor, guint id);

/* Applies one event; `source` ("FEED:LINE", may be NULL) goes into the
 * record. On UNKNOWN_EQUIPMENT, OUT_OF_ORDER, CAPACITY and RECORD the
 * machine is left as it was (after RECORD, as after any failed
 * strand_provenance_record(), the record may still reach the log with a
 * later sync); on LISTENER the event was applied. */
gboolean strand_monitor_apply (StrandMonitor *monitor, const StrandEquipmentEvent *event,
                               const char *source, GError **error);

/* The same for the host's executor, which knows what it started where. */
gboolean strand_monitor_set_status (StrandMonitor *monitor, const char *equipment,
                                    StrandEquipmentStatus status, const char *reason,
                                    gint64 time_us, GError **error);
gboolean strand_monitor_task_started (StrandMonitor *monitor, const char *equipment,
                                      const char *task, gint64 time_us, GError **error);
gboolean strand_monitor_task_finished (StrandMonitor *monitor, const char *equipment,
                                       const char *task, gint64 time_us, GError **error);
gboolean strand_monitor_telemetry (StrandMonitor *monitor, const char *equipment,
                                   const char *name, double value, gint64 time_us, GError **error);

/* Counts busy and operating time up to `until_us` without an event, so
 * counters and failure estimates asked now include the stretch since the
 * last event. Machines whose last event is later are left alone. */
void strand_monitor_advance (StrandMonitor *monitor, gint64 until_us);

StrandInventory *strand_monitor_inventory (StrandMonitor *monitor);
/* NULL when the inventory has no such id. */
StrandEquipment *strand_monitor_equipment (StrandMonitor *monitor, const char *id);
/* The machine's status and since when (`since_us` may be NULL). */
StrandEquipmentStatus strand_monitor_status (StrandMonitor *monitor, const char *equipment,
                                             gint64 *since_us);
/* The tasks running on it now; NULL-terminated, owned by the monitor. */
const char *const *strand_monitor_tasks (StrandMonitor *monitor, const char *equipment);
/* The last value of a telemetry series. */
gboolean strand_monitor_last_telemetry (StrandMonitor *monitor, const char *equipment,
                                        const char *name, double *value, gint64 *time_us);
/* The time of the machine's last event; G_MININT64 before the first. */
gint64 strand_monitor_last_event (StrandMonitor *monitor, const char *equipment);
/* The earliest first event and the latest last event over all machines;
 * FALSE when no event came yet. */
gboolean strand_monitor_event_span (StrandMonitor *monitor, gint64 *first_us, gint64 *last_us);
/* The machine's history, the current status running to `until_us` (not
 * past it, and not before the status began): a new array of
 * StrandStatusInterval in time order, empty before the first event. */
GArray *strand_monitor_history (StrandMonitor *monitor, const char *equipment, gint64 until_us);
/* Forgets history that ended before `before_us` (a long-running host). */
void strand_monitor_forget_before (StrandMonitor *monitor, gint64 before_us);

/* {"equipment": [{"id", "class", "capacity", "status", "since", "tasks",
 * "reason", "telemetry": {NAME: {"value", "time"}}, "health": {...}}]}
 * at `now_us` (health, equipment-health.h). */
JsonNode *strand_monitor_to_json (StrandMonitor *monitor, gint64 now_us);

G_END_DECLS
