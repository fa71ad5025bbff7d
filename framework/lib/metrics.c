/* The HDF5 side of the metrics file: compound row types, extendable
 * datasets created on first use, appends, and reading rows back. */
#include "metrics.h"

#include <hdf5.h>
#include <math.h>
#include <string.h>

#include "clock.h"

G_DEFINE_QUARK (strand-metrics-error-quark, strand_metrics_error)

#define METRICS_VERSION 1
#define VERSION_ATTRIBUTE "strand_metrics_version"
#define CHUNK_ROWS 256
/* Reading refuses datasets claiming more rows than this (a damaged file). */
#define MAX_READ_ROWS ((hsize_t) 1 << 26)
#define DAY_US ((gint64) 86400 * G_USEC_PER_SEC)

typedef struct {
  gint64 start_us;
  gint64 end_us;
  guint8 status;
  guint32 slots;
} StatusRow;

typedef struct {
  gint64 day_us, from_us, until_us;
  double operating_s, maintenance_s, scheduled_s, down_s, unknown_s, available_s, busy_s, overrun_s;
  double utilization, availability;
  guint8 complete;
} DayRow;

typedef struct {
  gint64 made_us, from_us, until_us;
  double available_s, busy_s, utilization;
} ForecastRow;

typedef struct {
  gint64 time_us;
  char *task;
  char *equipment;
  char *name;
  double value;
} QualityRow;

typedef struct Follow Follow;

struct StrandMetrics {
  hid_t file;
  char *path;
  GHashTable *datasets;  /* path -> hid_t* */
  GHashTable *open_rows; /* equipment id -> OpenRow*: its open status row */
  hid_t status_enum, status_type, telemetry_type, day_type, forecast_type, quality_type, string_type;
  Follow *follow;
};

struct Follow {
  StrandMonitor *monitor;
  guint listener;
  GHashTable *next_day; /* equipment id -> gint64*: the first day not yet written */
};

/* ---- errors ------------------------------------------------------------------------ */

static herr_t
innermost (unsigned n, const H5E_error2_t *e, void *data)
{
  char **detail = data;
  if (*detail == NULL && e->desc != NULL && *e->desc)
    *detail = g_strdup (e->desc);
  return 0;
}

static gboolean G_GNUC_PRINTF (4, 5)
fail (GError **error, StrandMetrics *m, int code, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autofree char *detail = NULL;
  H5Ewalk2 (H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &detail);
  H5Eclear2 (H5E_DEFAULT);
  g_autofree char *why = detail ? g_strdup_printf (" (HDF5: %s)", detail) : g_strdup ("");
  g_set_error (error, STRAND_METRICS_ERROR, code, "%s: %s%s", m ? m->path : "metrics", msg, why);
  return FALSE;
}

/* HDF5 prints its error stack to stderr by default; errors become GErrors. */
static void
quiet_hdf5 (void)
{
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
}

/* ---- types ---------------------------------------------------------------------------- */

static hid_t
string_type_new (void)
{
  hid_t t = H5Tcopy (H5T_C_S1);
  H5Tset_size (t, H5T_VARIABLE);
  H5Tset_cset (t, H5T_CSET_UTF8);
  return t;
}

static void
types_new (StrandMetrics *m)
{
  m->status_enum = H5Tenum_create (H5T_NATIVE_UINT8);
  for (guint8 i = 0; i < STRAND_EQUIPMENT_N_STATUS; i++)
    H5Tenum_insert (m->status_enum, strand_equipment_status_name (i), &i);

  m->status_type = H5Tcreate (H5T_COMPOUND, sizeof (StatusRow));
  H5Tinsert (m->status_type, "start_us", HOFFSET (StatusRow, start_us), H5T_NATIVE_INT64);
  H5Tinsert (m->status_type, "end_us", HOFFSET (StatusRow, end_us), H5T_NATIVE_INT64);
  H5Tinsert (m->status_type, "status", HOFFSET (StatusRow, status), m->status_enum);
  H5Tinsert (m->status_type, "slots", HOFFSET (StatusRow, slots), H5T_NATIVE_UINT32);

  m->telemetry_type = H5Tcreate (H5T_COMPOUND, sizeof (StrandTelemetryPoint));
  H5Tinsert (m->telemetry_type, "time_us", HOFFSET (StrandTelemetryPoint, time_us), H5T_NATIVE_INT64);
  H5Tinsert (m->telemetry_type, "value", HOFFSET (StrandTelemetryPoint, value), H5T_NATIVE_DOUBLE);

  m->day_type = H5Tcreate (H5T_COMPOUND, sizeof (DayRow));
#define DAY_FIELD(name, type) H5Tinsert (m->day_type, #name, HOFFSET (DayRow, name), type)
  DAY_FIELD (day_us, H5T_NATIVE_INT64);
  DAY_FIELD (from_us, H5T_NATIVE_INT64);
  DAY_FIELD (until_us, H5T_NATIVE_INT64);
  DAY_FIELD (operating_s, H5T_NATIVE_DOUBLE);
  DAY_FIELD (maintenance_s, H5T_NATIVE_DOUBLE);
  DAY_FIELD (scheduled_s, H5T_NATIVE_DOUBLE);
  DAY_FIELD (down_s, H5T_NATIVE_DOUBLE);
  DAY_FIELD (unknown_s, H5T_NATIVE_DOUBLE);
  DAY_FIELD (available_s, H5T_NATIVE_DOUBLE);
  DAY_FIELD (busy_s, H5T_NATIVE_DOUBLE);
  DAY_FIELD (overrun_s, H5T_NATIVE_DOUBLE);
  DAY_FIELD (utilization, H5T_NATIVE_DOUBLE);
  DAY_FIELD (availability, H5T_NATIVE_DOUBLE);
  DAY_FIELD (complete, H5T_NATIVE_UINT8);
#undef DAY_FIELD

  m->forecast_type = H5Tcreate (H5T_COMPOUND, sizeof (ForecastRow));
  H5Tinsert (m->forecast_type, "made_us", HOFFSET (ForecastRow, made_us), H5T_NATIVE_INT64);
  H5Tinsert (m->forecast_type, "from_us", HOFFSET (ForecastRow, from_us), H5T_NATIVE_INT64);
  H5Tinsert (m->forecast_type, "until_us", HOFFSET (ForecastRow, until_us), H5T_NATIVE_INT64);
  H5Tinsert (m->forecast_type, "available_s", HOFFSET (ForecastRow, available_s), H5T_NATIVE_DOUBLE);
  H5Tinsert (m->forecast_type, "busy_s", HOFFSET (ForecastRow, busy_s), H5T_NATIVE_DOUBLE);
  H5Tinsert (m->forecast_type, "utilization", HOFFSET (ForecastRow, utilization), H5T_NATIVE_DOUBLE);

  m->string_type = string_type_new ();
  m->quality_type = H5Tcreate (H5T_COMPOUND, sizeof (QualityRow));
  H5Tinsert (m->quality_type, "time_us", HOFFSET (QualityRow, time_us), H5T_NATIVE_INT64);
  H5Tinsert (m->quality_type, "task", HOFFSET (QualityRow, task), m->string_type);
  H5Tinsert (m->quality_type, "equipment", HOFFSET (QualityRow, equipment), m->string_type);
  H5Tinsert (m->quality_type, "name", HOFFSET (QualityRow, name), m->string_type);
  H5Tinsert (m->quality_type, "value", HOFFSET (QualityRow, value), H5T_NATIVE_DOUBLE);
}

/* ---- opening -------------------------------------------------------------------------- */

static void
close_dataset (gpointer p)
{
  H5Dclose (*(hid_t *) p);
  g_free (p);
}

static StrandMetrics *
metrics_new (const char *path)
{
  StrandMetrics *m = g_new0 (StrandMetrics, 1);
  m->file = H5I_INVALID_HID;
  m->path = g_strdup (path);
  m->datasets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, close_dataset);
  m->open_rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  types_new (m);
  return m;
}

static void follow_stop (StrandMetrics *m);

void
strand_metrics_free (StrandMetrics *m)
{
  if (m == NULL)
    return;
  follow_stop (m);
  g_hash_table_unref (m->datasets);
  g_hash_table_unref (m->open_rows);
  hid_t types[] = { m->status_type, m->telemetry_type, m->day_type, m->forecast_type,
                    m->quality_type, m->string_type, m->status_enum };
  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    H5Tclose (types[i]);
  if (m->file != H5I_INVALID_HID)
    H5Fclose (m->file);
  H5Eclear2 (H5E_DEFAULT);
  g_free (m->path);
  g_free (m);
}

gboolean
strand_metrics_flush (StrandMetrics *m, GError **error)
{
  if (H5Fflush (m->file, H5F_SCOPE_GLOBAL) < 0)
    return fail (error, m, STRAND_METRICS_ERROR_IO, "could not flush");
  return TRUE;
}

gboolean
strand_metrics_close (StrandMetrics *m, GError **error)
{
  gboolean ok = strand_metrics_flush (m, error);
  strand_metrics_free (m);
  return ok;
}

static gboolean
is_hdf5 (const char *path)
{
#if H5_VERSION_GE(1, 12, 0)
  return H5Fis_accessible (path, H5P_DEFAULT) > 0;
#else
  return H5Fis_hdf5 (path) > 0;
#endif
}

/* The version attribute of a Strand metrics file, or -1. */
static int
file_version (hid_t file)
{
  if (H5Aexists (file, VERSION_ATTRIBUTE) <= 0)
    return -1;
  hid_t a = H5Aopen (file, VERSION_ATTRIBUTE, H5P_DEFAULT);
  int version = -1;
  hid_t space = a >= 0 ? H5Aget_space (a) : H5I_INVALID_HID;
  if (a < 0 || space < 0 || H5Sget_simple_extent_npoints (space) != 1 ||
      H5Aread (a, H5T_NATIVE_INT, &version) < 0)
    version = -1;
  if (space >= 0)
    H5Sclose (space);
  if (a >= 0)
    H5Aclose (a);
  return version;
}

static gboolean
set_string_attribute (hid_t object, const char *name, const char *value)
{
  hid_t t = H5Tcopy (H5T_C_S1);
  H5Tset_size (t, strlen (value) + 1);
  H5Tset_cset (t, H5T_CSET_UTF8);
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t a = H5Acreate2 (object, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
  gboolean ok = a >= 0 && H5Awrite (a, t, value) >= 0;
  if (a >= 0)
    H5Aclose (a);
  H5Sclose (space);
  H5Tclose (t);
  return ok;
}

static gboolean
check_version (StrandMetrics *m, GError **error)
{
  int version = file_version (m->file);
  if (version < 1)
    return fail (error, m, STRAND_METRICS_ERROR_NOT_METRICS,
                 "an HDF5 file without the '" VERSION_ATTRIBUTE "' attribute is not a Strand "
                 "metrics file; left untouched");
  if (version > METRICS_VERSION)
    return fail (error, m, STRAND_METRICS_ERROR_NOT_METRICS,
                 "metrics file version %d is newer than this host's (%d)", version, METRICS_VERSION);
  return TRUE;
}

StrandMetrics *
strand_metrics_open (const char *path, GError **error)
{
  quiet_hdf5 ();
  g_autoptr (StrandMetrics) m = metrics_new (path);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!is_hdf5 (path))
        {
          fail (error, m, STRAND_METRICS_ERROR_NOT_METRICS,
                "exists and is not an HDF5 file; left untouched");
          return NULL;
        }
      m->file = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
      if (m->file < 0)
        {
          fail (error, m, STRAND_METRICS_ERROR_IO, "could not open for writing");
          return NULL;
        }
      return check_version (m, error) ? g_steal_pointer (&m) : NULL;
    }
  m->file = H5Fcreate (path, H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
  if (m->file < 0)
    {
      fail (error, m, STRAND_METRICS_ERROR_IO, "could not create");
      return NULL;
    }
  int version = METRICS_VERSION;
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t a = H5Acreate2 (m->file, VERSION_ATTRIBUTE, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
  gboolean ok = a >= 0 && H5Awrite (a, H5T_NATIVE_INT, &version) >= 0;
  if (a >= 0)
    H5Aclose (a);
  H5Sclose (space);
  ok = ok && set_string_attribute (m->file, "time_units", "microseconds since 1970-01-01T00:00:00Z");
  if (!ok)
    {
      fail (error, m, STRAND_METRICS_ERROR_IO, "could not write the version attribute");
      return NULL;
    }
  return g_steal_pointer (&m);
}

StrandMetrics *
strand_metrics_open_read (const char *path, GError **error)
{
  quiet_hdf5 ();
  g_autoptr (StrandMetrics) m = metrics_new (path);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, STRAND_METRICS_ERROR, STRAND_METRICS_ERROR_IO, "%s: no such file", path);
      return NULL;
    }
  if (!is_hdf5 (path))
    {
      fail (error, m, STRAND_METRICS_ERROR_NOT_METRICS, "not an HDF5 file");
      return NULL;
    }
  m->file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (m->file < 0)
    {
      fail (error, m, STRAND_METRICS_ERROR_IO, "could not open");
      return NULL;
    }
  return check_version (m, error) ? g_steal_pointer (&m) : NULL;
}

/* ---- datasets --------------------------------------------------------------------------- */

/* Whether every component of an absolute `path` exists. */
static gboolean
exists (hid_t file, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  GString *prefix = g_string_new ("");
  gboolean ok = TRUE;
  for (guint i = 0; ok && parts[i]; i++)
    {
      g_string_append_printf (prefix, "/%s", parts[i]);
      ok = H5Lexists (file, prefix->str, H5P_DEFAULT) > 0;
    }
  g_string_free (prefix, TRUE);
  H5Eclear2 (H5E_DEFAULT);
  return ok;
}

static hid_t
dataset (StrandMetrics *m, const char *path, hid_t type, const char *description, GError **error)
{
  hid_t *cached = g_hash_table_lookup (m->datasets, path);
  if (cached != NULL)
    return *cached;
  hid_t d;
  if (exists (m->file, path))
    d = H5Dopen2 (m->file, path, H5P_DEFAULT);
  else
    {
      hsize_t dims = 0, max = H5S_UNLIMITED, chunk = CHUNK_ROWS;
      hid_t space = H5Screate_simple (1, &dims, &max);
      hid_t dcpl = H5Pcreate (H5P_DATASET_CREATE);
      H5Pset_chunk (dcpl, 1, &chunk);
      hid_t lcpl = H5Pcreate (H5P_LINK_CREATE);
      H5Pset_create_intermediate_group (lcpl, 1);
      d = H5Dcreate2 (m->file, path, type, space, lcpl, dcpl, H5P_DEFAULT);
      if (d >= 0 && description != NULL)
        set_string_attribute (d, "description", description);
      H5Pclose (lcpl);
      H5Pclose (dcpl);
      H5Sclose (space);
    }
  if (d < 0)
    {
      fail (error, m, STRAND_METRICS_ERROR_IO, "could not open or create %s", path);
      return H5I_INVALID_HID;
    }
  hid_t *boxed = g_new (hid_t, 1);
  *boxed = d;
  g_hash_table_insert (m->datasets, g_strdup (path), boxed);
  return d;
}

static gboolean
rows_of (hid_t d, hsize_t *rows)
{
  hid_t space = H5Dget_space (d);
  gboolean ok = space >= 0 && H5Sget_simple_extent_ndims (space) == 1 &&
                H5Sget_simple_extent_dims (space, rows, NULL) == 1;
  if (space >= 0)
    H5Sclose (space);
  return ok;
}

/* Writes `n` rows of `type` at `row` (hyperslab of the 1-D dataset). */
static gboolean
write_rows (hid_t d, hid_t type, hsize_t row, hsize_t n, const void *data)
{
  hid_t space = H5Dget_space (d);
  hid_t mem = H5Screate_simple (1, &n, NULL);
  gboolean ok = space >= 0 && H5Sselect_hyperslab (space, H5S_SELECT_SET, &row, NULL, &n, NULL) >= 0 &&
                H5Dwrite (d, type, mem, space, H5P_DEFAULT, data) >= 0;
  H5Sclose (mem);
  if (space >= 0)
    H5Sclose (space);
  return ok;
}

static gboolean
append (StrandMetrics *m, const char *path, hid_t type, const char *description, const void *rows,
        hsize_t n, hsize_t *first_row, GError **error)
{
  hid_t d = dataset (m, path, type, description, error);
  if (d < 0)
    return FALSE;
  hsize_t have = 0;
  if (!rows_of (d, &have))
    return fail (error, m, STRAND_METRICS_ERROR_CORRUPT, "%s is not a one-dimensional dataset", path);
  hsize_t want = have + n;
  if (H5Dset_extent (d, &want) < 0 || !write_rows (d, type, have, n, rows))
    return fail (error, m, STRAND_METRICS_ERROR_IO, "could not append to %s", path);
  if (first_row)
    *first_row = have;
  return TRUE;
}

/* ---- writing --------------------------------------------------------------------------- */

typedef struct {
  hsize_t index;
  StatusRow row;
} OpenRow;

/* Equipment ids and series names become HDF5 link names. */
static gboolean
name_ok (StrandMetrics *m, const char *name, GError **error)
{
  if (name != NULL && *name != '\0' && *name != '.' && strchr (name, '/') == NULL)
    return TRUE;
  g_set_error (error, STRAND_METRICS_ERROR, STRAND_METRICS_ERROR_IO,
               "%s: '%s' cannot name a group or series (empty, '/', or a leading '.')", m->path,
               name ? name : "(null)");
  return FALSE;
}

gboolean
strand_metrics_add_status (StrandMetrics *m, const StrandStatusChange *c, GError **error)
{
  const char *id = c->equipment->id;
  if (!name_ok (m, id, error))
    return FALSE;
  g_autofree char *path = g_strdup_printf ("/equipment/%s/status", id);
  OpenRow *open = g_hash_table_lookup (m->open_rows, id);
  if (open != NULL)
    {
      hid_t d = dataset (m, path, m->status_type, NULL, error);
      if (d < 0)
        return FALSE;
      /* The whole row again, its end set: the file's own type, so HDF5
       * converts nothing (a one-member write would). */
      open->row.end_us = c->time_us;
      if (!write_rows (d, m->status_type, open->index, 1, &open->row))
        return fail (error, m, STRAND_METRICS_ERROR_IO, "could not close the open row of %s", path);
    }
  StatusRow row = { c->time_us, -1, (guint8) c->status, c->slots };
  hsize_t at;
  if (!append (m, path, m->status_type, "status intervals: end_us -1 while the status holds",
               &row, 1, &at, error))
    return FALSE;
  OpenRow *next = g_new (OpenRow, 1);
  *next = (OpenRow) { at, row };
  g_hash_table_replace (m->open_rows, g_strdup (id), next);
  return TRUE;
}

gboolean
strand_metrics_add_telemetry (StrandMetrics *m, const char *equipment, const char *name,
                              double value, gint64 time_us, GError **error)
{
  if (!name_ok (m, equipment, error) || !name_ok (m, name, error))
    return FALSE;
  g_autofree char *path = g_strdup_printf ("/equipment/%s/telemetry/%s", equipment, name);
  StrandTelemetryPoint row = { time_us, value };
  return append (m, path, m->telemetry_type, "telemetry series", &row, 1, NULL, error);
}

gboolean
strand_metrics_add_day (StrandMetrics *m, const char *equipment, const StrandUtilization *u,
                        gboolean complete, GError **error)
{
  if (!name_ok (m, equipment, error))
    return FALSE;
  g_autofree char *path = g_strdup_printf ("/equipment/%s/utilization_daily", equipment);
  const double s = G_USEC_PER_SEC;
  DayRow row = {
    strand_utilization_day_start (u->from_us), u->from_us, u->until_us,
    u->operating_us / s, u->maintenance_us / s, u->scheduled_us / s, u->down_us / s,
    u->unknown_us / s, u->available_us / s, u->busy_us / s, u->overrun_us / s,
    u->utilization, u->availability, complete ? 1 : 0,
  };
  return append (m, path, m->day_type, "utilization per UTC day (utilization.h)", &row, 1, NULL, error);
}

gboolean
strand_metrics_add_forecast (StrandMetrics *m, const StrandForecast *f, gint64 made_us,
                             GError **error)
{
  if (f->hours == NULL || f->hours->len == 0)
    return TRUE;
  if (!name_ok (m, f->equipment->id, error))
    return FALSE;
  g_autofree ForecastRow *rows = g_new0 (ForecastRow, f->hours->len);
  for (guint i = 0; i < f->hours->len; i++)
    {
      const StrandUtilization *u = &g_array_index (f->hours, StrandUtilization, i);
      rows[i] = (ForecastRow) { made_us, u->from_us, u->until_us, (double) u->available_us / G_USEC_PER_SEC,
                                (double) u->busy_us / G_USEC_PER_SEC, u->utilization };
    }
  g_autofree char *path = g_strdup_printf ("/equipment/%s/forecast", f->equipment->id);
  return append (m, path, m->forecast_type, "hourly forecast from reservations", rows,
                 f->hours->len, NULL, error);
}

gboolean
strand_metrics_add_task (StrandMetrics *m, const char *task, const char *equipment, gint64 time_us,
                         GHashTable *values, GError **error)
{
  g_return_val_if_fail (task != NULL, FALSE);
  guint n = values ? g_hash_table_size (values) : 0;
  if (n == 0)
    return TRUE;
  g_autofree QualityRow *rows = g_new0 (QualityRow, n);
  GHashTableIter iter;
  gpointer key, value;
  guint i = 0;
  g_hash_table_iter_init (&iter, values);
  while (g_hash_table_iter_next (&iter, &key, &value))
    rows[i++] = (QualityRow) { time_us, (char *) task, (char *) (equipment ? equipment : ""),
                               key, value ? *(double *) value : 0 };
  return append (m, "/tasks/quality", m->quality_type, "named quality metrics of task results",
                 rows, n, NULL, error);
}

/* ---- following a monitor ------------------------------------------------------------------ */

/* Writes the complete days of `equipment` that ended by `time_us`. */
static gboolean
write_days (StrandMetrics *m, const char *equipment, gint64 time_us, GError **error)
{
  gint64 *next = g_hash_table_lookup (m->follow->next_day, equipment);
  if (next == NULL)
    {
      next = g_new (gint64, 1);
      *next = strand_utilization_day_start (time_us);
      g_hash_table_insert (m->follow->next_day, g_strdup (equipment), next);
    }
  for (; *next + DAY_US <= time_us; *next += DAY_US)
    {
      StrandUtilization u;
      strand_utilization_of (m->follow->monitor, equipment, *next, *next + DAY_US, &u);
      if (!strand_metrics_add_day (m, equipment, &u, TRUE, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
on_status (const StrandStatusChange *change, gpointer user_data, GError **error)
{
  StrandMetrics *m = user_data;
  return write_days (m, change->equipment->id, change->time_us, error) &&
         strand_metrics_add_status (m, change, error);
}

static gboolean
on_telemetry (const StrandEquipment *equipment, const char *name, double value, gint64 time_us,
              gpointer user_data, GError **error)
{
  StrandMetrics *m = user_data;
  return write_days (m, equipment->id, time_us, error) &&
         strand_metrics_add_telemetry (m, equipment->id, name, value, time_us, error);
}

static void
follow_stop (StrandMetrics *m)
{
  if (m->follow == NULL)
    return;
  strand_monitor_remove_listener (m->follow->monitor, m->follow->listener);
  g_hash_table_unref (m->follow->next_day);
  g_clear_pointer (&m->follow, g_free);
}

void
strand_metrics_follow (StrandMetrics *m, StrandMonitor *monitor)
{
  follow_stop (m);
  m->follow = g_new0 (Follow, 1);
  m->follow->monitor = monitor;
  m->follow->next_day = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  StrandMonitorListener listener = { .status_changed = on_status, .telemetry = on_telemetry };
  m->follow->listener = strand_monitor_add_listener (monitor, &listener, m);
}

gboolean
strand_metrics_finish_days (StrandMetrics *m, gint64 until_us, GError **error)
{
  g_return_val_if_fail (m->follow != NULL, FALSE);
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init (&iter, m->follow->next_day);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      if (!write_days (m, key, until_us, error))
        return FALSE;
      gint64 day = *(gint64 *) value;
      if (day < until_us)
        {
          StrandUtilization u;
          strand_utilization_of (m->follow->monitor, key, day, until_us, &u);
          if (!strand_metrics_add_day (m, key, &u, FALSE, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* ---- reading ---------------------------------------------------------------------------- */

void
strand_quality_metric_free (StrandQualityMetric *q)
{
  if (q == NULL)
    return;
  g_free (q->task);
  g_free (q->equipment);
  g_free (q->name);
  g_free (q);
}

#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t LinkInfo;
#define link_iterate H5Literate2
#define vlen_reclaim H5Treclaim
#else
typedef H5L_info_t LinkInfo;
#define link_iterate H5Literate
#define vlen_reclaim H5Dvlen_reclaim
#endif

static herr_t
collect_name (hid_t group, const char *name, const LinkInfo *info, void *data)
{
  g_ptr_array_add (data, g_strdup (name));
  return 0;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
strand_metrics_equipment (StrandMetrics *m, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  if (exists (m->file, "/equipment"))
    {
      hid_t g = H5Gopen2 (m->file, "/equipment", H5P_DEFAULT);
      hsize_t idx = 0;
      if (g < 0 || link_iterate (g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, names) < 0)
        {
          if (g >= 0)
            H5Gclose (g);
          fail (error, m, STRAND_METRICS_ERROR_CORRUPT, "could not list /equipment");
          return NULL;
        }
      H5Gclose (g);
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

/* All rows of a dataset read as `type` into a new buffer; `n` receives the count. */
static void *
read_rows (StrandMetrics *m, const char *path, hid_t type, gsize row_size, hsize_t *n,
           GError **error)
{
  if (!exists (m->file, path))
    {
      g_set_error (error, STRAND_METRICS_ERROR, STRAND_METRICS_ERROR_NOT_FOUND, "%s: no %s",
                   m->path, path);
      return NULL;
    }
  hid_t d = H5Dopen2 (m->file, path, H5P_DEFAULT);
  if (d < 0)
    {
      fail (error, m, STRAND_METRICS_ERROR_CORRUPT, "%s is not a dataset", path);
      return NULL;
    }
  void *buf = NULL;
  if (!rows_of (d, n) || *n > MAX_READ_ROWS)
    fail (error, m, STRAND_METRICS_ERROR_CORRUPT, "%s is not a one-dimensional dataset of at "
          "most %" G_GUINT64_FORMAT " rows", path, (guint64) MAX_READ_ROWS);
  else if ((buf = g_try_malloc0 (MAX (*n, 1) * row_size)) == NULL)
    fail (error, m, STRAND_METRICS_ERROR_IO, "no memory for %" G_GUINT64_FORMAT " rows of %s",
          (guint64) *n, path);
  else if (*n > 0 && H5Dread (d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    {
      fail (error, m, STRAND_METRICS_ERROR_CORRUPT, "%s does not have the expected columns", path);
      g_clear_pointer (&buf, g_free);
    }
  H5Dclose (d);
  return buf;
}

GArray *
strand_metrics_read_status (StrandMetrics *m, const char *equipment, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/equipment/%s/status", equipment);
  hsize_t n = 0;
  g_autofree StatusRow *rows = read_rows (m, path, m->status_type, sizeof (StatusRow), &n, error);
  if (rows == NULL)
    return NULL;
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (StrandStatusInterval), (guint) n);
  for (hsize_t i = 0; i < n; i++)
    {
      StrandStatusInterval s = { rows[i].start_us, rows[i].end_us,
                                 rows[i].status < STRAND_EQUIPMENT_N_STATUS ? rows[i].status
                                                                            : STRAND_EQUIPMENT_UNKNOWN,
                                 rows[i].slots };
      g_array_append_val (out, s);
    }
  return out;
}

GArray *
strand_metrics_read_telemetry (StrandMetrics *m, const char *equipment, const char *name,
                               GError **error)
{
  g_autofree char *path = g_strdup_printf ("/equipment/%s/telemetry/%s", equipment, name);
  hsize_t n = 0;
  StrandTelemetryPoint *rows = read_rows (m, path, m->telemetry_type, sizeof (StrandTelemetryPoint),
                                          &n, error);
  if (rows == NULL)
    return NULL;
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (StrandTelemetryPoint), (guint) n);
  g_array_append_vals (out, rows, (guint) n);
  g_free (rows);
  return out;
}

GArray *
strand_metrics_read_days (StrandMetrics *m, const char *equipment, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/equipment/%s/utilization_daily", equipment);
  hsize_t n = 0;
  g_autofree DayRow *rows = read_rows (m, path, m->day_type, sizeof (DayRow), &n, error);
  if (rows == NULL)
    return NULL;
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (StrandMetricsDay), (guint) n);
  const double s = G_USEC_PER_SEC;
  for (hsize_t i = 0; i < n; i++)
    {
      const DayRow *r = &rows[i];
      StrandMetricsDay day = {
        { r->from_us, r->until_us, llround (r->operating_s * s), llround (r->maintenance_s * s),
          llround (r->scheduled_s * s), llround (r->down_s * s), llround (r->unknown_s * s),
          llround (r->available_s * s), llround (r->busy_s * s), llround (r->overrun_s * s),
          r->utilization, r->availability },
        r->complete != 0,
      };
      g_array_append_val (out, day);
    }
  return out;
}

GPtrArray *
strand_metrics_read_quality (StrandMetrics *m, GError **error)
{
  hsize_t n = 0;
  QualityRow *rows = read_rows (m, "/tasks/quality", m->quality_type, sizeof (QualityRow), &n, error);
  if (rows == NULL)
    return NULL;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_quality_metric_free);
  for (hsize_t i = 0; i < n; i++)
    {
      StrandQualityMetric *q = g_new0 (StrandQualityMetric, 1);
      q->time_us = rows[i].time_us;
      q->task = g_strdup (rows[i].task ? rows[i].task : "");
      q->equipment = g_strdup (rows[i].equipment ? rows[i].equipment : "");
      q->name = g_strdup (rows[i].name ? rows[i].name : "");
      q->value = rows[i].value;
      g_ptr_array_add (out, q);
    }
  if (n > 0)
    {
      hid_t space = H5Screate_simple (1, &n, NULL);
      vlen_reclaim (m->quality_type, space, H5P_DEFAULT, rows);
      H5Sclose (space);
    }
  g_free (rows);
  return out;
}
