/* Equipment events: their parser, the state machine of each machine, what a
 * change records and whom it tells. */
#include "equipment-monitor.h"

#include <math.h>
#include <string.h>

#include "clock.h"
#include "json-util.h"
#include "records.h"

G_DEFINE_QUARK (strand-monitor-error-quark, strand_monitor_error)

#define HOUR_US ((double) 3600 * G_USEC_PER_SEC)
#define MAX_TASKS 4096
#define MAX_TASK_BYTES 512
#define MAX_REASON_BYTES 1024

static const char *const status_names[STRAND_EQUIPMENT_N_STATUS] = {
  "unknown", "up", "busy", "down", "maintenance",
};

const char *
strand_equipment_status_name (StrandEquipmentStatus status)
{
  return (guint) status < STRAND_EQUIPMENT_N_STATUS ? status_names[status] : "invalid";
}

gboolean
strand_equipment_status_parse (const char *name, StrandEquipmentStatus *status)
{
  for (guint i = STRAND_EQUIPMENT_UP; name && i < STRAND_EQUIPMENT_N_STATUS; i++)
    if (strcmp (name, status_names[i]) == 0)
      {
        *status = (StrandEquipmentStatus) i;
        return TRUE;
      }
  return FALSE;
}

/* ---- events --------------------------------------------------------------------- */

static void
named_value_clear (gpointer p)
{
  g_free (((StrandNamedValue *) p)->name);
}

void
strand_equipment_event_clear (StrandEquipmentEvent *event)
{
  g_free (event->equipment);
  g_strfreev (event->tasks);
  g_free (event->reason);
  g_clear_pointer (&event->telemetry, g_array_unref);
  g_clear_pointer (&event->usage, g_array_unref);
  memset (event, 0, sizeof *event);
}

static gboolean G_GNUC_PRINTF (2, 3)
malformed (GError **error, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error_literal (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_MALFORMED, msg);
  return FALSE;
}

/* Equipment ids as the inventory has them (equipment.schema.json). */
static gboolean
equipment_id_ok (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 64 || !g_ascii_isalnum (*s))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

/* Telemetry names become HDF5 dataset names: no '/', never "." or "..". */
static gboolean
telemetry_name_ok (const char *s)
{
  return equipment_id_ok (s);
}

static gboolean
counter_name_ok (const char *s)
{
  if (*s == '\0' || strlen (s) > 64 || !(g_ascii_islower (*s) || g_ascii_isdigit (*s)))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
printable (const char *s)
{
  for (const guchar *p = (const guchar *) s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

static const char *
string_member (JsonObject *o, const char *key, gboolean *wrong_type)
{
  JsonNode *n = json_object_get_member (o, key);
  *wrong_type = FALSE;
  if (n == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return json_node_get_string (n);
  *wrong_type = TRUE;
  return NULL;
}

static gboolean
number_of (JsonNode *n, double *out)
{
  if (!JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    *out = (double) json_node_get_int (n);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double (n);
  else
    return FALSE;
  return isfinite (*out);
}

/* {NAME: NUMBER...} with at least one member. */
static GArray *
named_values (JsonObject *o, const char *key, gboolean usage, GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  if (!JSON_NODE_HOLDS_OBJECT (n) || json_object_get_size (json_node_get_object (n)) == 0)
    {
      malformed (error, "'%s' is an object of one or more NAME: NUMBER", key);
      return NULL;
    }
  JsonObject *values = json_node_get_object (n);
  g_autoptr (GArray) out = g_array_new (FALSE, TRUE, sizeof (StrandNamedValue));
  g_array_set_clear_func (out, named_value_clear);
  g_autoptr (GList) names = json_object_get_members (values);
  for (GList *m = names; m; m = m->next)
    {
      const char *name = m->data;
      StrandNamedValue v = { NULL, 0 };
      if (usage ? !counter_name_ok (name) : !telemetry_name_ok (name))
        {
          malformed (error, usage ? "'usage': counter names are [a-z0-9_-], at most 64 bytes"
                                  : "'telemetry': names are a letter or digit, then letters, "
                                    "digits, '.', '_' or '-'; at most 64 bytes");
          return NULL;
        }
      if (usage && (strcmp (name, STRAND_COUNTER_RUNS) == 0 || strcmp (name, STRAND_COUNTER_HOURS) == 0))
        {
          malformed (error, "'usage': '%s' is counted from the status events, not given", name);
          return NULL;
        }
      if (!number_of (json_object_get_member (values, name), &v.value) || (usage && v.value < 0))
        {
          malformed (error, "'%s': '%s' must be a finite number%s", key, name, usage ? " from 0" : "");
          return NULL;
        }
      v.name = g_strdup (name);
      g_array_append_val (out, v);
    }
  return g_steal_pointer (&out);
}

static gboolean
parse_tasks (JsonObject *o, StrandEquipmentEvent *ev, GError **error)
{
  JsonNode *n = json_object_get_member (o, "tasks");
  if (n == NULL)
    return TRUE;
  if (ev->status != STRAND_EQUIPMENT_BUSY)
    return malformed (error, "'tasks' goes with status \"busy\" only");
  if (!JSON_NODE_HOLDS_ARRAY (n))
    return malformed (error, "'tasks' is an array of task ids");
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a);
  if (len > MAX_TASKS)
    return malformed (error, "'tasks' lists %u tasks, more than %u", len, MAX_TASKS);
  g_autoptr (GPtrArray) tasks = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < len; i++)
    {
      JsonNode *t = json_array_get_element (a, i);
      const char *s = JSON_NODE_HOLDS_VALUE (t) && json_node_get_value_type (t) == G_TYPE_STRING
                          ? json_node_get_string (t) : NULL;
      if (s == NULL || *s == '\0' || strlen (s) > MAX_TASK_BYTES || !printable (s))
        return malformed (error, "'tasks'[%u] must be a task id: text of 1 to %u bytes without "
                          "control characters", i, MAX_TASK_BYTES);
      for (guint k = 0; k < tasks->len; k++)
        if (strcmp (tasks->pdata[k], s) == 0)
          return malformed (error, "'tasks' lists '%s' twice", s);
      g_ptr_array_add (tasks, g_strdup (s));
    }
  g_ptr_array_add (tasks, NULL);
  ev->tasks = (char **) g_ptr_array_free (g_steal_pointer (&tasks), FALSE);
  return TRUE;
}

static gboolean
parse_object (JsonObject *o, StrandEquipmentEvent *ev, GError **error)
{
  static const char *const keys[] = { "time", "equipment", "status", "tasks", "reason",
                                      "serviced", "telemetry", "usage", NULL };
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *m = members; m; m = m->next)
    if (!g_strv_contains (keys, m->data))
      return malformed (error, "'%s' is not an event member (time, equipment, status, tasks, "
                        "reason, serviced, telemetry, usage)", (char *) m->data);
  gboolean wrong;
  const char *time = string_member (o, "time", &wrong);
  if (time == NULL || !strand_clock_parse_rfc3339 (time, &ev->time_us))
    return malformed (error, "'time' must be an RFC 3339 time with a zone, e.g. "
                      "\"2027-01-11T08:00:00Z\"");
  const char *id = string_member (o, "equipment", &wrong);
  if (!equipment_id_ok (id))
    return malformed (error, "'equipment' must be an equipment id from the inventory");
  ev->equipment = g_strdup (id);
  const char *status = string_member (o, "status", &wrong);
  if (wrong || (status != NULL && !strand_equipment_status_parse (status, &ev->status)))
    return malformed (error, "'status' is one of \"up\", \"busy\", \"down\", \"maintenance\"");
  if (!parse_tasks (o, ev, error))
    return FALSE;
  const char *reason = string_member (o, "reason", &wrong);
  if (wrong || (reason != NULL && (strlen (reason) > MAX_REASON_BYTES || !printable (reason))))
    return malformed (error, "'reason' is text of at most %u bytes without control characters",
                      MAX_REASON_BYTES);
  ev->reason = g_strdup (reason);
  JsonNode *serviced = json_object_get_member (o, "serviced");
  if (serviced != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (serviced) || json_node_get_value_type (serviced) != G_TYPE_BOOLEAN)
        return malformed (error, "'serviced' is true or false");
      ev->serviced = json_node_get_boolean (serviced);
      if (ev->serviced && ev->status != STRAND_EQUIPMENT_UP)
        return malformed (error, "'serviced' goes with status \"up\": the machine is back from service");
    }
  if (json_object_has_member (o, "telemetry") &&
      (ev->telemetry = named_values (o, "telemetry", FALSE, error)) == NULL)
    return FALSE;
  if (json_object_has_member (o, "usage") && (ev->usage = named_values (o, "usage", TRUE, error)) == NULL)
    return FALSE;
  if (ev->status == STRAND_EQUIPMENT_UNKNOWN && ev->telemetry == NULL && ev->usage == NULL)
    return malformed (error, "an event states a 'status', 'telemetry' or 'usage'");
  if (reason != NULL && ev->status == STRAND_EQUIPMENT_UNKNOWN)
    return malformed (error, "'reason' goes with a 'status'");
  return TRUE;
}

gboolean
strand_equipment_event_parse (const char *line, gsize len, StrandEquipmentEvent *event,
                              GError **error)
{
  g_return_val_if_fail (event != NULL && event->equipment == NULL, FALSE);
  if (len > G_MAXSSIZE || !g_utf8_validate_len (line, len, NULL))
    return malformed (error, "the line is not UTF-8 text");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) json_error = NULL;
  if (!json_parser_load_from_data (parser, line, (gssize) len, &json_error))
    return malformed (error, "not JSON: %s", json_error->message);
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return malformed (error, "an event is a JSON object");
  if (!parse_object (json_node_get_object (root), event, error))
    {
      strand_equipment_event_clear (event);
      return FALSE;
    }
  return TRUE;
}

/* ---- the monitor ------------------------------------------------------------------ */

typedef struct {
  double value;
  gint64 time_us;
} LastValue;

typedef struct {
  StrandEquipment *equipment;
  StrandEquipmentStatus status;
  guint slots;
  gint64 since_us;
  gint64 first_us;  /* first event; G_MININT64 before it */
  gint64 last_us;   /* last event; G_MININT64 before the first */
  gint64 counted_us; /* busy and operating time counted up to here */
  GPtrArray *tasks; /* char*, NULL-terminated */
  char *reason;
  GArray *history;  /* closed StrandStatusInterval */
  GHashTable *telemetry; /* name -> LastValue */
} Machine;

typedef struct {
  guint id;
  StrandMonitorListener listener;
  gpointer user_data;
} Listener;

struct StrandMonitor {
  StrandInventory *inventory;
  GPtrArray *machines;
  GHashTable *by_id; /* borrowed id -> Machine */
  StrandProvenance *prov;
  GArray *listeners;
  guint next_listener;
};

static GPtrArray *
task_list_new (void)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (a, NULL);
  return a;
}

static void
task_list_add (GPtrArray *list, const char *task)
{
  g_ptr_array_insert (list, (gint) list->len - 1, g_strdup (task));
}

static void
machine_free (gpointer p)
{
  Machine *m = p;
  g_ptr_array_unref (m->tasks);
  g_free (m->reason);
  g_array_unref (m->history);
  g_hash_table_unref (m->telemetry);
  g_free (m);
}

StrandMonitor *
strand_monitor_new (StrandInventory *inventory)
{
  g_return_val_if_fail (inventory != NULL, NULL);
  StrandMonitor *mon = g_new0 (StrandMonitor, 1);
  mon->inventory = inventory;
  mon->machines = g_ptr_array_new_with_free_func (machine_free);
  mon->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  mon->listeners = g_array_new (FALSE, TRUE, sizeof (Listener));
  mon->next_listener = 1;
  for (guint i = 0; i < inventory->items->len; i++)
    {
      Machine *m = g_new0 (Machine, 1);
      m->equipment = inventory->items->pdata[i];
      m->first_us = m->last_us = m->counted_us = G_MININT64;
      m->tasks = task_list_new ();
      m->history = g_array_new (FALSE, FALSE, sizeof (StrandStatusInterval));
      m->telemetry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_ptr_array_add (mon->machines, m);
      g_hash_table_insert (mon->by_id, m->equipment->id, m);
    }
  return mon;
}

void
strand_monitor_free (StrandMonitor *monitor)
{
  if (monitor == NULL)
    return;
  g_ptr_array_unref (monitor->machines);
  g_hash_table_unref (monitor->by_id);
  g_array_unref (monitor->listeners);
  g_free (monitor);
}

void
strand_monitor_set_provenance (StrandMonitor *monitor, StrandProvenance *provenance)
{
  monitor->prov = provenance;
}

guint
strand_monitor_add_listener (StrandMonitor *monitor, const StrandMonitorListener *listener,
                             gpointer user_data)
{
  Listener l = { monitor->next_listener++, *listener, user_data };
  g_array_append_val (monitor->listeners, l);
  return l.id;
}

void
strand_monitor_remove_listener (StrandMonitor *monitor, guint id)
{
  for (guint i = 0; i < monitor->listeners->len; i++)
    if (g_array_index (monitor->listeners, Listener, i).id == id)
      {
        g_array_remove_index (monitor->listeners, i);
        return;
      }
}

StrandInventory *
strand_monitor_inventory (StrandMonitor *monitor)
{
  return monitor->inventory;
}

static Machine *
lookup (StrandMonitor *monitor, const char *id, GError **error)
{
  Machine *m = id ? g_hash_table_lookup (monitor->by_id, id) : NULL;
  if (m == NULL)
    g_set_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_UNKNOWN_EQUIPMENT,
                 "the inventory has no equipment '%s'", id ? id : "(null)");
  return m;
}

StrandEquipment *
strand_monitor_equipment (StrandMonitor *monitor, const char *id)
{
  Machine *m = lookup (monitor, id, NULL);
  return m ? m->equipment : NULL;
}

/* Busy hours and operating hours from the last count to `until_us`. */
static void
count_time (Machine *m, gint64 until_us)
{
  if (m->counted_us == G_MININT64 || until_us <= m->counted_us)
    return;
  double hours = (double) (until_us - m->counted_us) / HOUR_US;
  StrandHealth *h = m->equipment->health;
  if (m->status == STRAND_EQUIPMENT_BUSY)
    {
      StrandUsageCounter *c = strand_health_counter (h, STRAND_COUNTER_HOURS);
      if (c != NULL)
        c->count += hours;
    }
  if (m->status == STRAND_EQUIPMENT_BUSY || m->status == STRAND_EQUIPMENT_UP)
    h->observed_hours += hours;
  m->counted_us = until_us;
}

void
strand_monitor_advance (StrandMonitor *monitor, gint64 until_us)
{
  for (guint i = 0; i < monitor->machines->len; i++)
    count_time (monitor->machines->pdata[i], until_us);
}

static gboolean
contains (char *const *list, const char *s)
{
  for (; list && *list; list++)
    if (strcmp (*list, s) == 0)
      return TRUE;
  return FALSE;
}

static JsonNode *
string_array (const char *const *list)
{
  JsonArray *a = json_array_new ();
  for (; list && *list; list++)
    json_array_add_string_element (a, *list);
  JsonNode *n = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (n, a);
  return n;
}

/* The statement of STRAND_RECORD_EQUIPMENT_STATUS (records.h). */
static JsonNode *
status_statement (const Machine *m, const StrandStatusChange *c)
{
  JsonObject *p = json_object_new ();
  json_object_set_string_member (p, "equipment", m->equipment->id);
  json_object_set_string_member (p, "class", m->equipment->equipment_class);
  json_object_set_string_member (p, "status", strand_equipment_status_name (c->status));
  json_object_set_string_member (p, "previous", strand_equipment_status_name (c->previous));
  g_autofree char *time = strand_clock_format_rfc3339 (c->time_us);
  json_object_set_string_member (p, "time", time);
  if (c->reason)
    json_object_set_string_member (p, "reason", c->reason);
  if (c->tasks[0])
    json_object_set_member (p, "tasks", string_array (c->tasks));
  if (c->interrupted[0])
    json_object_set_member (p, "interrupted", string_array (c->interrupted));
  if (c->serviced)
    json_object_set_boolean_member (p, "serviced", TRUE);
  if (c->failure)
    json_object_set_boolean_member (p, "failure", TRUE);
  if (c->source)
    json_object_set_string_member (p, "source", c->source);
  JsonObject *counters = json_object_new ();
  GArray *cs = m->equipment->health->counters;
  for (guint i = 0; i < cs->len; i++)
    json_object_set_double_member (counters, g_array_index (cs, StrandUsageCounter, i).name,
                                   g_array_index (cs, StrandUsageCounter, i).count);
  json_object_set_object_member (p, "counters", counters);

  JsonObject *st = json_object_new ();
  json_object_set_string_member (st, "_type", STRAND_STATEMENT_TYPE);
  json_object_set_array_member (st, "subject", json_array_new ());
  json_object_set_string_member (st, "predicateType", STRAND_RECORD_EQUIPMENT_STATUS);
  json_object_set_object_member (st, "predicate", p);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, st);
  return node;
}

static void
keep_error (GError **first, GError *error)
{
  if (*first == NULL)
    *first = error;
  else
    g_error_free (error);
}

gboolean
strand_monitor_apply (StrandMonitor *monitor, const StrandEquipmentEvent *ev, const char *source,
                      GError **error)
{
  g_return_val_if_fail (monitor != NULL && ev != NULL, FALSE);
  Machine *m = lookup (monitor, ev->equipment, error);
  if (m == NULL)
    return FALSE;
  if (m->last_us != G_MININT64 && ev->time_us < m->last_us)
    {
      g_autofree char *t = strand_clock_format_rfc3339 (ev->time_us);
      g_autofree char *last = strand_clock_format_rfc3339 (m->last_us);
      g_set_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_OUT_OF_ORDER,
                   "'%s': %s is before its last event at %s", m->equipment->id, t, last);
      return FALSE;
    }

  /* What the event makes of the machine. */
  gboolean states = ev->status != STRAND_EQUIPMENT_UNKNOWN;
  StrandEquipmentStatus status = states ? ev->status : m->status;
  g_autoptr (GPtrArray) tasks = task_list_new ();
  const char *const *new_tasks = !states ? (const char *const *) m->tasks->pdata
                                 : status == STRAND_EQUIPMENT_BUSY ? (const char *const *) ev->tasks
                                 : NULL;
  for (; new_tasks && *new_tasks; new_tasks++)
    task_list_add (tasks, *new_tasks);
  guint n_tasks = tasks->len - 1;
  if (status == STRAND_EQUIPMENT_BUSY && n_tasks > m->equipment->capacity)
    {
      g_set_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_CAPACITY,
                   "'%s' is busy with %u tasks but has %u slot%s", m->equipment->id, n_tasks,
                   m->equipment->capacity, m->equipment->capacity == 1 ? "" : "s");
      return FALSE;
    }
  guint slots = status != STRAND_EQUIPMENT_BUSY ? 0 : n_tasks ? n_tasks : m->equipment->capacity;
  gboolean stops = status == STRAND_EQUIPMENT_DOWN || status == STRAND_EQUIPMENT_MAINTENANCE;
  /* Tasks that leave the list finished, unless the machine stopped under them. */
  g_autoptr (GPtrArray) interrupted = task_list_new ();
  for (guint i = 0; stops && i + 1 < m->tasks->len; i++)
    if (!contains ((char **) tasks->pdata, m->tasks->pdata[i]))
      task_list_add (interrupted, m->tasks->pdata[i]);
  guint runs = 0;
  for (guint i = 0; i < n_tasks; i++)
    runs += !contains ((char **) m->tasks->pdata, tasks->pdata[i]);
  if (status == STRAND_EQUIPMENT_BUSY && n_tasks == 0 && m->status != STRAND_EQUIPMENT_BUSY)
    runs = 1;
  gboolean status_changed = (states && status != m->status) || ev->serviced;
  gboolean load_changed = status_changed || slots != m->slots;

  /* The time up to the event counts into the record's counters; it is
   * taken back if the record cannot be written. */
  StrandUsageCounter *hours = strand_health_counter (m->equipment->health, STRAND_COUNTER_HOURS);
  gint64 counted_before = m->counted_us;
  double hours_before = hours ? hours->count : 0;
  double observed_before = m->equipment->health->observed_hours;
  count_time (m, ev->time_us);
  if (m->counted_us == G_MININT64)
    m->counted_us = ev->time_us;

  StrandStatusChange change = {
    .equipment = m->equipment,
    .time_us = ev->time_us,
    .previous = m->status,
    .status = status,
    .previous_slots = m->slots,
    .slots = slots,
    .reason = ev->reason,
    .tasks = (const char *const *) tasks->pdata,
    .interrupted = (const char *const *) interrupted->pdata,
    .serviced = ev->serviced,
    .failure = status == STRAND_EQUIPMENT_DOWN && status_changed &&
               (m->status == STRAND_EQUIPMENT_UP || m->status == STRAND_EQUIPMENT_BUSY),
    .source = source,
  };
  if (status_changed && monitor->prov != NULL)
    {
      g_autoptr (JsonNode) statement = status_statement (m, &change);
      g_autoptr (GError) local = NULL;
      if (!strand_provenance_record (monitor->prov, statement, &local))
        {
          m->counted_us = counted_before;
          if (hours != NULL)
            hours->count = hours_before;
          m->equipment->health->observed_hours = observed_before;
          g_set_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_RECORD,
                       "'%s': the change to %s could not be recorded: %s", m->equipment->id,
                       strand_equipment_status_name (status), local->message);
          return FALSE;
        }
    }

  /* The model. */
  StrandHealth *h = m->equipment->health;
  StrandUsageCounter *run_counter = strand_health_counter (h, STRAND_COUNTER_RUNS);
  if (run_counter != NULL)
    run_counter->count += runs;
  for (guint i = 0; ev->usage && i < ev->usage->len; i++)
    strand_health_count (h, g_array_index (ev->usage, StrandNamedValue, i).name,
                         g_array_index (ev->usage, StrandNamedValue, i).value);
  if (change.failure)
    h->observed_failures++;
  if (ev->serviced)
    strand_health_serviced (h, ev->time_us);

  /* The state and its history. */
  if (load_changed)
    {
      if (m->status != STRAND_EQUIPMENT_UNKNOWN && ev->time_us > m->since_us)
        {
          StrandStatusInterval closed = { m->since_us, ev->time_us, m->status, m->slots };
          g_array_append_val (m->history, closed);
        }
      m->since_us = ev->time_us;
    }
  m->status = status;
  m->slots = slots;
  g_ptr_array_unref (m->tasks);
  m->tasks = g_steal_pointer (&tasks);
  change.tasks = (const char *const *) m->tasks->pdata;
  if (states)
    {
      g_free (m->reason);
      m->reason = g_strdup (ev->reason);
    }
  if (m->first_us == G_MININT64)
    m->first_us = ev->time_us;
  m->last_us = ev->time_us;
  for (guint i = 0; ev->telemetry && i < ev->telemetry->len; i++)
    {
      const StrandNamedValue *v = &g_array_index (ev->telemetry, StrandNamedValue, i);
      LastValue *last = g_new (LastValue, 1);
      *last = (LastValue) { v->value, ev->time_us };
      g_hash_table_replace (m->telemetry, g_strdup (v->name), last);
    }

  /* Whom it concerns. Listeners may remove themselves: iterate over a copy. */
  g_autoptr (GArray) listeners = g_array_copy (monitor->listeners);
  GError *first = NULL;
  for (guint i = 0; i < listeners->len; i++)
    {
      const Listener *l = &g_array_index (listeners, Listener, i);
      for (guint k = 0; l->listener.task_interrupted && k + 1 < interrupted->len; k++)
        l->listener.task_interrupted (m->equipment, interrupted->pdata[k], status, ev->time_us,
                                      l->user_data);
      GError *local = NULL;
      if (load_changed && l->listener.status_changed &&
          !l->listener.status_changed (&change, l->user_data, &local))
        keep_error (&first, local);
      for (guint k = 0; ev->telemetry && l->listener.telemetry && k < ev->telemetry->len; k++)
        {
          const StrandNamedValue *v = &g_array_index (ev->telemetry, StrandNamedValue, k);
          local = NULL;
          if (!l->listener.telemetry (m->equipment, v->name, v->value, ev->time_us, l->user_data,
                                      &local))
            keep_error (&first, local);
        }
    }
  if (first != NULL)
    {
      g_set_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_LISTENER, "'%s': %s",
                   m->equipment->id, first->message);
      g_error_free (first);
      return FALSE;
    }
  return TRUE;
}

/* ---- the C API for the executor ----------------------------------------------------- */

static gboolean
apply_simple (StrandMonitor *monitor, const char *equipment, StrandEquipmentStatus status,
              char **tasks, const char *reason, gint64 time_us, GError **error)
{
  StrandEquipmentEvent ev = {
    .time_us = time_us,
    .equipment = (char *) equipment,
    .status = status,
    .tasks = tasks,
    .reason = (char *) reason,
  };
  return strand_monitor_apply (monitor, &ev, NULL, error);
}

gboolean
strand_monitor_set_status (StrandMonitor *monitor, const char *equipment,
                           StrandEquipmentStatus status, const char *reason, gint64 time_us,
                           GError **error)
{
  g_return_val_if_fail (status != STRAND_EQUIPMENT_UNKNOWN, FALSE);
  Machine *m = lookup (monitor, equipment, error);
  if (m == NULL)
    return FALSE;
  /* Busy again without naming tasks keeps the ones running. */
  char **tasks = status == STRAND_EQUIPMENT_BUSY && m->status == STRAND_EQUIPMENT_BUSY
                     ? (char **) m->tasks->pdata : NULL;
  return apply_simple (monitor, equipment, status, tasks, reason, time_us, error);
}

gboolean
strand_monitor_task_started (StrandMonitor *monitor, const char *equipment, const char *task,
                             gint64 time_us, GError **error)
{
  Machine *m = lookup (monitor, equipment, error);
  if (m == NULL)
    return FALSE;
  if (m->status == STRAND_EQUIPMENT_DOWN || m->status == STRAND_EQUIPMENT_MAINTENANCE ||
      contains ((char **) m->tasks->pdata, task))
    {
      g_set_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_MALFORMED,
                   "'%s' cannot start task '%s': %s", equipment, task,
                   contains ((char **) m->tasks->pdata, task) ? "it is running already"
                                                             : strand_equipment_status_name (m->status));
      return FALSE;
    }
  g_autoptr (GPtrArray) tasks = g_ptr_array_new ();
  for (guint i = 0; i + 1 < m->tasks->len; i++)
    g_ptr_array_add (tasks, m->tasks->pdata[i]);
  g_ptr_array_add (tasks, (char *) task);
  g_ptr_array_add (tasks, NULL);
  return apply_simple (monitor, equipment, STRAND_EQUIPMENT_BUSY, (char **) tasks->pdata, NULL,
                       time_us, error);
}

gboolean
strand_monitor_task_finished (StrandMonitor *monitor, const char *equipment, const char *task,
                              gint64 time_us, GError **error)
{
  Machine *m = lookup (monitor, equipment, error);
  if (m == NULL)
    return FALSE;
  if (!contains ((char **) m->tasks->pdata, task))
    {
      g_set_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_MALFORMED,
                   "task '%s' is not running on '%s'", task, equipment);
      return FALSE;
    }
  g_autoptr (GPtrArray) tasks = g_ptr_array_new ();
  for (guint i = 0; i + 1 < m->tasks->len; i++)
    if (strcmp (m->tasks->pdata[i], task) != 0)
      g_ptr_array_add (tasks, m->tasks->pdata[i]);
  g_ptr_array_add (tasks, NULL);
  if (tasks->len == 1)
    return apply_simple (monitor, equipment, STRAND_EQUIPMENT_UP, NULL, NULL, time_us, error);
  return apply_simple (monitor, equipment, STRAND_EQUIPMENT_BUSY, (char **) tasks->pdata, NULL,
                       time_us, error);
}

gboolean
strand_monitor_telemetry (StrandMonitor *monitor, const char *equipment, const char *name,
                          double value, gint64 time_us, GError **error)
{
  if (!telemetry_name_ok (name) || !isfinite (value))
    {
      g_set_error (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_MALFORMED,
                   "telemetry '%s' of '%s' needs a name of letters, digits, '.', '_', '-' and a "
                   "finite value", name, equipment);
      return FALSE;
    }
  g_autoptr (GArray) values = g_array_new (FALSE, FALSE, sizeof (StrandNamedValue));
  StrandNamedValue v = { (char *) name, value };
  g_array_append_val (values, v);
  StrandEquipmentEvent ev = { .time_us = time_us, .equipment = (char *) equipment, .telemetry = values };
  return strand_monitor_apply (monitor, &ev, NULL, error);
}

/* ---- questions ------------------------------------------------------------------------ */

StrandEquipmentStatus
strand_monitor_status (StrandMonitor *monitor, const char *equipment, gint64 *since_us)
{
  Machine *m = lookup (monitor, equipment, NULL);
  if (since_us)
    *since_us = m && m->status != STRAND_EQUIPMENT_UNKNOWN ? m->since_us : G_MININT64;
  return m ? m->status : STRAND_EQUIPMENT_UNKNOWN;
}

const char *const *
strand_monitor_tasks (StrandMonitor *monitor, const char *equipment)
{
  static const char *const none[] = { NULL };
  Machine *m = lookup (monitor, equipment, NULL);
  return m ? (const char *const *) m->tasks->pdata : none;
}

gboolean
strand_monitor_last_telemetry (StrandMonitor *monitor, const char *equipment, const char *name,
                               double *value, gint64 *time_us)
{
  Machine *m = lookup (monitor, equipment, NULL);
  LastValue *v = m ? g_hash_table_lookup (m->telemetry, name) : NULL;
  if (v == NULL)
    return FALSE;
  if (value)
    *value = v->value;
  if (time_us)
    *time_us = v->time_us;
  return TRUE;
}

gint64
strand_monitor_last_event (StrandMonitor *monitor, const char *equipment)
{
  Machine *m = lookup (monitor, equipment, NULL);
  return m ? m->last_us : G_MININT64;
}

gboolean
strand_monitor_event_span (StrandMonitor *monitor, gint64 *first_us, gint64 *last_us)
{
  gint64 first = G_MAXINT64, last = G_MININT64;
  for (guint i = 0; i < monitor->machines->len; i++)
    {
      const Machine *m = monitor->machines->pdata[i];
      if (m->first_us == G_MININT64)
        continue;
      first = MIN (first, m->first_us);
      last = MAX (last, m->last_us);
    }
  if (first_us)
    *first_us = first;
  if (last_us)
    *last_us = last;
  return last != G_MININT64;
}

GArray *
strand_monitor_history (StrandMonitor *monitor, const char *equipment, gint64 until_us)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (StrandStatusInterval));
  Machine *m = lookup (monitor, equipment, NULL);
  if (m == NULL)
    return out;
  g_array_append_vals (out, m->history->data, m->history->len);
  if (m->status != STRAND_EQUIPMENT_UNKNOWN && until_us > m->since_us)
    {
      StrandStatusInterval open = { m->since_us, until_us, m->status, m->slots };
      g_array_append_val (out, open);
    }
  return out;
}

void
strand_monitor_forget_before (StrandMonitor *monitor, gint64 before_us)
{
  for (guint i = 0; i < monitor->machines->len; i++)
    {
      Machine *m = monitor->machines->pdata[i];
      guint n = 0;
      while (n < m->history->len && g_array_index (m->history, StrandStatusInterval, n).end_us < before_us)
        n++;
      if (n > 0)
        g_array_remove_range (m->history, 0, n);
    }
}

static void
add_time (JsonBuilder *b, const char *key, gint64 t)
{
  json_builder_set_member_name (b, key);
  if (t == G_MININT64)
    {
      json_builder_add_null_value (b);
      return;
    }
  g_autofree char *text = strand_clock_format_rfc3339 (t);
  json_builder_add_string_value (b, text);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

JsonNode *
strand_monitor_to_json (StrandMonitor *monitor, gint64 now_us)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "equipment");
  json_builder_begin_array (b);
  for (guint i = 0; i < monitor->machines->len; i++)
    {
      Machine *m = monitor->machines->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, m->equipment->id);
      json_builder_set_member_name (b, "class");
      json_builder_add_string_value (b, m->equipment->equipment_class);
      json_builder_set_member_name (b, "capacity");
      json_builder_add_int_value (b, m->equipment->capacity);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, strand_equipment_status_name (m->status));
      add_time (b, "since", m->status != STRAND_EQUIPMENT_UNKNOWN ? m->since_us : G_MININT64);
      add_time (b, "last_event", m->last_us);
      json_builder_set_member_name (b, "slots_busy");
      json_builder_add_int_value (b, m->slots);
      json_builder_set_member_name (b, "tasks");
      json_builder_begin_array (b);
      for (guint k = 0; k + 1 < m->tasks->len; k++)
        json_builder_add_string_value (b, m->tasks->pdata[k]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "reason");
      if (m->reason)
        json_builder_add_string_value (b, m->reason);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "telemetry");
      json_builder_begin_object (b);
      g_autofree gpointer *names = g_hash_table_get_keys_as_array (m->telemetry, NULL);
      guint n_names = g_hash_table_size (m->telemetry);
      qsort (names, n_names, sizeof (gpointer), compare_strings);
      for (guint k = 0; k < n_names; k++)
        {
          const LastValue *v = g_hash_table_lookup (m->telemetry, names[k]);
          json_builder_set_member_name (b, names[k]);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "value");
          json_builder_add_double_value (b, v->value);
          add_time (b, "time", v->time_us);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "health");
      json_builder_add_value (b, strand_health_to_json (m->equipment->health, now_us));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
