/* The metrics file: equipment time series and per-task quality metrics in
 * HDF5, appended as events come, readable with h5dump, h5py or this API.
 *
 *   /                               attribute strand_metrics_version = 1
 *   /equipment/ID/status            {start_us, end_us, status, slots}: one row
 *                                   per status interval; end_us is -1 while
 *                                   the status still held when last written
 *   /equipment/ID/utilization_daily {day_us, from_us, until_us, operating_s,
 *                                   maintenance_s, scheduled_s, down_s,
 *                                   unknown_s, available_s, busy_s, overrun_s,
 *                                   utilization, availability, complete}
 *                                   one row per UTC day (utilization.h);
 *                                   complete = 0 for a day still going on
 *   /equipment/ID/forecast          {made_us, from_us, until_us, available_s,
 *                                   busy_s, utilization}: hourly forecast rows
 *   /equipment/ID/telemetry/NAME    {time_us, value}
 *   /tasks/quality                  {time_us, task, equipment, name, value}:
 *                                   one row per named metric of a task result
 *
 * Times are microseconds since 1970-01-01T00:00:00Z (UTC); status is an
 * HDF5 enum (unknown, up, busy, down, maintenance). Every dataset is chunked
 * and extendable; a file opened again is appended to. */
#pragma once

#include <glib.h>

#include "equipment-monitor.h"
#include "utilization.h"

G_BEGIN_DECLS

#define STRAND_METRICS_ERROR (strand_metrics_error_quark ())
GQuark strand_metrics_error_quark (void);

typedef enum {
  STRAND_METRICS_ERROR_IO,         /* HDF5 could not open, read or write */
  STRAND_METRICS_ERROR_NOT_METRICS, /* an HDF5 file, but not a Strand metrics file */
  STRAND_METRICS_ERROR_CORRUPT,     /* a dataset has an unexpected shape or type */
  STRAND_METRICS_ERROR_NOT_FOUND,   /* no such equipment or series */
} StrandMetricsError;

typedef struct StrandMetrics StrandMetrics;

/* Opens `path` for appending, creating it when missing. A file that exists
 * and is not a Strand metrics file is refused, untouched. */
StrandMetrics *strand_metrics_open (const char *path, GError **error);
/* Opens an existing file for reading only. */
StrandMetrics *strand_metrics_open_read (const char *path, GError **error);
/* Flushes and closes; FALSE when the last writes could not be flushed. */
gboolean strand_metrics_close (StrandMetrics *metrics, GError **error);
void strand_metrics_free (StrandMetrics *metrics);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandMetrics, strand_metrics_free)

gboolean strand_metrics_flush (StrandMetrics *metrics, GError **error);

/* ---- writing ---------------------------------------------------------------------- */

/* A status change: closes the equipment's open interval at its time and
 * opens the next. */
gboolean strand_metrics_add_status (StrandMetrics *metrics, const StrandStatusChange *change,
                                    GError **error);
gboolean strand_metrics_add_telemetry (StrandMetrics *metrics, const char *equipment,
                                       const char *name, double value, gint64 time_us,
                                       GError **error);
gboolean strand_metrics_add_day (StrandMetrics *metrics, const char *equipment,
                                 const StrandUtilization *day, gboolean complete, GError **error);
gboolean strand_metrics_add_forecast (StrandMetrics *metrics, const StrandForecast *forecast,
                                      gint64 made_us, GError **error);
/* One row per metric of a task result: `values` maps char* names to double*
 * values (task.h StrandTaskResult.metrics). */
gboolean strand_metrics_add_task (StrandMetrics *metrics, const char *task, const char *equipment,
                                  gint64 time_us, GHashTable *values, GError **error);

/* Writes what `monitor` reports from now on: status changes, telemetry and,
 * each time a machine's events pass a UTC midnight, the utilization of the
 * days that ended. A write failure is returned by the monitor call that
 * caused it (STRAND_MONITOR_ERROR_LISTENER). One monitor per metrics file;
 * the monitor must outlive the metrics or be followed no longer. */
void strand_metrics_follow (StrandMetrics *metrics, StrandMonitor *monitor);
/* Writes each followed machine's days up to `until_us`: the complete ones
 * not yet written, and the day holding `until_us` as incomplete. */
gboolean strand_metrics_finish_days (StrandMetrics *metrics, gint64 until_us, GError **error);

/* ---- reading ------------------------------------------------------------------------ */

typedef struct {
  gint64 time_us;
  double value;
} StrandTelemetryPoint;

typedef struct {
  StrandUtilization utilization;
  gboolean complete;
} StrandMetricsDay;

typedef struct {
  gint64 time_us;
  char *task;
  char *equipment;
  char *name;
  double value;
} StrandQualityMetric;

void strand_quality_metric_free (StrandQualityMetric *metric);

/* The equipment ids with a group in the file, sorted. */
char **strand_metrics_equipment (StrandMetrics *metrics, GError **error);
/* StrandStatusInterval rows (end_us -1: still open). */
GArray *strand_metrics_read_status (StrandMetrics *metrics, const char *equipment, GError **error);
/* StrandTelemetryPoint rows. */
GArray *strand_metrics_read_telemetry (StrandMetrics *metrics, const char *equipment,
                                       const char *name, GError **error);
/* StrandMetricsDay rows. */
GArray *strand_metrics_read_days (StrandMetrics *metrics, const char *equipment, GError **error);
/* StrandQualityMetric rows. */
GPtrArray *strand_metrics_read_quality (StrandMetrics *metrics, GError **error);

G_END_DECLS
