/* strand equipment status|utilization: the state and utilization of the
 * equipment from an inventory and its event feeds. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "equipment-feed.h"
#include "metrics.h"
#include "utilization.h"

#define HOUR_US ((gint64) 3600 * G_USEC_PER_SEC)

typedef struct {
  char **events;
  char *metrics;
  char *store;
  char *from;
  char *until;
  char *reservations;
  gboolean record;
  gboolean json;
  int horizon_hours;
} Options;

static void
options_clear (Options *o)
{
  g_strfreev (o->events);
  g_free (o->metrics);
  g_free (o->store);
  g_free (o->from);
  g_free (o->until);
  g_free (o->reservations);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static void
print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static void
print_feed_error (const GError *error, gpointer user_data)
{
  fprintf (stderr, "%s\n", error->message);
}

/* "now" or an RFC 3339 time. */
static gboolean
parse_time (const char *option, const char *text, gint64 *out)
{
  if (strcmp (text, "now") == 0)
    {
      *out = strand_clock_now_us ();
      return TRUE;
    }
  if (strand_clock_parse_rfc3339 (text, out))
    return TRUE;
  fprintf (stderr, "strand: %s '%s' is not an RFC 3339 time with a zone (e.g. "
           "2027-01-11T08:00:00Z) or 'now'\n", option, text);
  return FALSE;
}

/* Everything both subcommands do: inventory, feeds, records, metrics. */
typedef struct {
  StrandInventory *inventory;
  StrandMonitor *monitor;
  StrandProvenance *prov;
  StrandMetrics *metrics;
  gint64 from_us, until_us;
  guint64 bad_lines;
} Session;

static void
session_clear (Session *s)
{
  g_clear_pointer (&s->metrics, strand_metrics_free);
  g_clear_pointer (&s->monitor, strand_monitor_free);
  g_clear_pointer (&s->prov, strand_provenance_close);
  g_clear_pointer (&s->inventory, strand_inventory_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Session, session_clear)

static int
session_run (Session *s, const char *inventory_path, const Options *o)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  s->inventory = strand_inventory_load (inventory_path, problems);
  strand_cli_print_problems (problems, stderr);
  if (s->inventory == NULL || strand_problems_errors (problems) > 0)
    return STRAND_EXIT_FAILED;
  s->monitor = strand_monitor_new (s->inventory);
  if (o->record)
    {
      g_autofree char *dir = strand_cli_store_dir (o->store);
      if ((s->prov = strand_cli_open_store (dir)) == NULL)
        return STRAND_EXIT_FAILED;
      strand_monitor_set_provenance (s->monitor, s->prov);
    }
  g_autoptr (GError) error = NULL;
  if (o->metrics != NULL)
    {
      if ((s->metrics = strand_metrics_open (o->metrics, &error)) == NULL)
        {
          fprintf (stderr, "strand: %s\n", error->message);
          return STRAND_EXIT_FAILED;
        }
      strand_metrics_follow (s->metrics, s->monitor);
    }
  for (char **path = o->events; path && *path; path++)
    {
      g_autoptr (StrandEventFeed) feed = strand_event_feed_open (*path, s->monitor, &error);
      if (feed == NULL || (strand_event_feed_set_error_func (feed, print_feed_error, NULL),
                           !strand_event_feed_run (feed, &error)))
        {
          fprintf (stderr, "strand: %s\n", error->message);
          return STRAND_EXIT_FAILED;
        }
      s->bad_lines += strand_event_feed_errors (feed);
    }

  gint64 first, last;
  gboolean any = strand_monitor_event_span (s->monitor, &first, &last);
  s->until_us = any ? last : strand_clock_now_us ();
  s->from_us = strand_utilization_day_start (any ? first : s->until_us);
  if ((o->until && !parse_time ("--until", o->until, &s->until_us)) ||
      (o->from && !parse_time ("--from", o->from, &s->from_us)))
    return STRAND_EXIT_USAGE;
  if (s->from_us >= s->until_us && o->from)
    {
      fprintf (stderr, "strand: --from must be before --until\n");
      return STRAND_EXIT_USAGE;
    }
  strand_monitor_advance (s->monitor, s->until_us);
  if (s->metrics != NULL)
    {
      gboolean ok = strand_metrics_finish_days (s->metrics, s->until_us, &error);
      StrandMetrics *m = g_steal_pointer (&s->metrics);
      if (!strand_metrics_close (m, ok ? &error : NULL) || !ok)
        {
          fprintf (stderr, "strand: %s\n", error->message);
          return STRAND_EXIT_FAILED;
        }
    }
  return STRAND_EXIT_OK;
}

static GOptionContext *
context_new (const char *summary, Options *o, gboolean utilization)
{
  GOptionEntry common[] = {
    { "events", 'e', 0, G_OPTION_ARG_FILENAME_ARRAY, &o->events,
      "Read equipment events from FEED: a file, a named pipe or - (repeatable)", "FEED" },
    { "metrics", 0, 0, G_OPTION_ARG_FILENAME, &o->metrics,
      "Append status, telemetry and daily utilization to this HDF5 file", "FILE.h5" },
    { "record", 0, 0, G_OPTION_ARG_NONE, &o->record,
      "Record the status changes in the store's ledger", NULL },
    STRAND_CLI_STORE_OPTION (o->store),
    { "until", 0, 0, G_OPTION_ARG_STRING, &o->until,
      "The time to report at (default: the last event)", "TIME|now" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  GOptionEntry more[] = {
    { "from", 0, 0, G_OPTION_ARG_STRING, &o->from,
      "Start of the period (default: the day of the first event)", "TIME" },
    { "reservations", 'r', 0, G_OPTION_ARG_FILENAME, &o->reservations,
      "Forecast from the tasks reserved in FILE (equipment-reservations.schema.json)", "FILE" },
    { "hours", 0, 0, G_OPTION_ARG_INT, &o->horizon_hours,
      "Forecast horizon from --until (default 24)", "H" },
    G_OPTION_ENTRY_NULL
  };
  GOptionContext *context = g_option_context_new (summary);
  g_option_context_add_main_entries (context, common, NULL);
  if (utilization)
    g_option_context_add_main_entries (context, more, NULL);
  return context;
}

/* ---- status ------------------------------------------------------------------------ */

static void
print_status (JsonNode *report)
{
  JsonArray *items = json_object_get_array_member (json_node_get_object (report), "equipment");
  printf ("%-20s %-12s %-12s %-21s %-24s %s\n", "EQUIPMENT", "CLASS", "STATUS", "SINCE",
          "SERVICE DUE", "P(FAIL 24H)");
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *e = json_array_get_object_element (items, i);
      JsonObject *health = json_object_get_object_member (e, "health");
      JsonObject *due = json_object_get_object_member (health, "due");
      JsonObject *rel = json_object_get_object_member (health, "reliability");
      const char *since = json_object_get_string_member_with_default (e, "since", NULL);
      const char *reason = json_object_get_string_member_with_default (due, "reason", NULL);
      g_autofree char *due_text =
          reason == NULL ? g_strdup ("-")
          : json_object_get_boolean_member (due, "now")
              ? g_strdup_printf ("NOW (%s)", reason)
              : g_strdup_printf ("%s: %.4g left", reason, json_object_get_double_member (due, "remaining"));
      JsonNode *p = json_object_get_member (rel, "failure_probability_24h");
      g_autofree char *p_text = JSON_NODE_HOLDS_NULL (p) ? g_strdup ("-")
                                                         : g_strdup_printf ("%.3g", json_node_get_double (p));
      g_autofree char *since_text = since ? g_strndup (since, 19) : g_strdup ("-");
      printf ("%-20s %-12s %-12s %-21s %-24s %s\n", json_object_get_string_member (e, "id"),
              json_object_get_string_member (e, "class"), json_object_get_string_member (e, "status"),
              since_text, due_text, p_text);
      JsonArray *tasks = json_object_get_array_member (e, "tasks");
      for (guint k = 0; k < json_array_get_length (tasks); k++)
        printf ("    task %s\n", json_array_get_string_element (tasks, k));
      const char *why = json_object_get_string_member_with_default (e, "reason", NULL);
      if (why != NULL)
        printf ("    reason: %s\n", why);
      JsonObject *telemetry = json_object_get_object_member (e, "telemetry");
      g_autoptr (GList) names = json_object_get_members (telemetry);
      for (GList *n = names; n; n = n->next)
        {
          JsonObject *v = json_object_get_object_member (telemetry, n->data);
          printf ("    %s = %g at %s\n", (char *) n->data, json_object_get_double_member (v, "value"),
                  json_object_get_string_member (v, "time"));
        }
    }
}

static int
equipment_status (int argc, char **argv)
{
  g_auto (Options) o = { 0 };
  g_autoptr (GOptionContext) context =
      context_new ("status INVENTORY.json - each machine's status, service due and telemetry", &o, FALSE);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 3)
    {
      fprintf (stderr, "strand: equipment status takes one inventory file\n");
      return STRAND_EXIT_USAGE;
    }
  g_auto (Session) s = { 0 };
  int status = session_run (&s, argv[2], &o);
  if (s.monitor == NULL || status == STRAND_EXIT_USAGE)
    return status;
  g_autoptr (JsonNode) report = strand_monitor_to_json (s.monitor, s.until_us);
  g_autofree char *at = strand_clock_format_rfc3339 (s.until_us);
  json_object_set_string_member (json_node_get_object (report), "at", at);
  json_object_set_int_member (json_node_get_object (report), "bad_lines", (gint64) s.bad_lines);
  if (o.json)
    print_json (report);
  else
    {
      printf ("at %s\n", at);
      print_status (report);
    }
  return status != STRAND_EXIT_OK ? status : s.bad_lines ? STRAND_EXIT_FAILED : STRAND_EXIT_OK;
}

/* ---- utilization ----------------------------------------------------------------------- */

static void
print_figures (const char *label, const StrandUtilization *u)
{
  printf ("  %-22s %6.1f%%  busy %7.2f h of %7.2f h available;  down %6.2f h, maintenance %6.2f h, "
          "unknown %6.2f h, overrun %5.2f h\n", label, 100 * u->utilization,
          (double) u->busy_us / HOUR_US, (double) u->available_us / HOUR_US,
          (double) u->down_us / HOUR_US, (double) u->maintenance_us / HOUR_US,
          (double) u->unknown_us / HOUR_US, (double) u->overrun_us / HOUR_US);
}

static int
equipment_utilization (int argc, char **argv)
{
  g_auto (Options) o = { .horizon_hours = 24 };
  g_autoptr (GOptionContext) context = context_new (
      "utilization INVENTORY.json - busy over available time per machine, per day, and forecast",
      &o, TRUE);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 3 || o.horizon_hours < 1 || o.horizon_hours > 24 * 366)
    {
      fprintf (stderr, "strand: equipment utilization takes one inventory file (and --hours 1..8784)\n");
      return STRAND_EXIT_USAGE;
    }
  g_auto (Session) s = { 0 };
  int status = session_run (&s, argv[2], &o);
  if (s.monitor == NULL || status == STRAND_EXIT_USAGE)
    return status;

  g_autoptr (GArray) reservations = NULL;
  g_autoptr (GArray) forecast = NULL;
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  if (o.reservations != NULL)
    {
      reservations = strand_reservations_load (o.reservations, problems);
      if (reservations != NULL)
        forecast = strand_forecast (s.inventory, (StrandReservation *) reservations->data,
                                    reservations->len, s.until_us, o.horizon_hours * HOUR_US, problems);
      strand_cli_print_problems (problems, stderr);
      if (forecast == NULL || strand_problems_errors (problems) > 0)
        status = STRAND_EXIT_FAILED;
    }

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  g_autofree char *from = strand_clock_format_rfc3339 (s.from_us);
  g_autofree char *until = strand_clock_format_rfc3339 (s.until_us);
  if (!o.json)
    printf ("utilization from %s until %s (busy over available operating time)\n", from, until);
  json_builder_set_member_name (b, "equipment");
  json_builder_begin_array (b);
  for (guint i = 0; i < s.inventory->items->len; i++)
    {
      const StrandEquipment *e = s.inventory->items->pdata[i];
      g_autoptr (GArray) history = strand_monitor_history (s.monitor, e->id, s.until_us);
      const StrandStatusInterval *h = (const StrandStatusInterval *) history->data;
      StrandUtilization total;
      strand_utilization_compute (e, h, history->len, s.from_us, s.until_us, &total);
      g_autoptr (GArray) days = strand_utilization_daily (e, h, history->len, s.from_us, s.until_us);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, e->id);
      json_builder_set_member_name (b, "total");
      json_builder_add_value (b, strand_utilization_to_json (&total));
      json_builder_set_member_name (b, "days");
      json_builder_begin_array (b);
      if (!o.json)
        {
          printf ("%s (%s)\n", e->id, e->equipment_class);
          print_figures ("total", &total);
        }
      for (guint d = 0; d < days->len; d++)
        {
          const StrandUtilization *u = &g_array_index (days, StrandUtilization, d);
          json_builder_add_value (b, strand_utilization_to_json (u));
          g_autofree char *day = strand_clock_format_rfc3339 (u->from_us);
          day[10] = '\0';
          if (!o.json && days->len > 1)
            print_figures (day, u);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  if (forecast != NULL)
    {
      if (!o.json)
        printf ("forecast for the %d h from %s, from %u reservation%s\n", o.horizon_hours, until,
                reservations->len, reservations->len == 1 ? "" : "s");
      json_builder_set_member_name (b, "forecast");
      json_builder_begin_array (b);
      for (guint i = 0; i < forecast->len; i++)
        {
          const StrandForecast *f = &g_array_index (forecast, StrandForecast, i);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, f->equipment->id);
          json_builder_set_member_name (b, "reservations");
          json_builder_add_int_value (b, f->reservations);
          json_builder_set_member_name (b, "overbooked_s");
          json_builder_add_double_value (b, (double) f->overbooked_us / G_USEC_PER_SEC);
          json_builder_set_member_name (b, "total");
          json_builder_add_value (b, strand_utilization_to_json (&f->total));
          json_builder_set_member_name (b, "hours");
          json_builder_begin_array (b);
          for (guint k = 0; k < f->hours->len; k++)
            json_builder_add_value (b, strand_utilization_to_json (&g_array_index (f->hours, StrandUtilization, k)));
          json_builder_end_array (b);
          json_builder_end_object (b);
          if (!o.json)
            {
              g_autofree char *label = g_strdup_printf ("%s", f->equipment->id);
              print_figures (label, &f->total);
              if (f->overbooked_us > 0)
                printf ("  %-22s overbooked for %.2f h\n", "", (double) f->overbooked_us / HOUR_US);
            }
        }
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "from");
  json_builder_add_string_value (b, from);
  json_builder_set_member_name (b, "until");
  json_builder_add_string_value (b, until);
  json_builder_set_member_name (b, "bad_lines");
  json_builder_add_int_value (b, (gint64) s.bad_lines);
  json_builder_end_object (b);
  if (o.json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
    }
  return status != STRAND_EXIT_OK ? status : s.bad_lines ? STRAND_EXIT_FAILED : STRAND_EXIT_OK;
}

int
strand_cmd_equipment (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "status") == 0)
    return equipment_status (argc, argv);
  if (argc >= 2 && strcmp (argv[1], "utilization") == 0)
    return equipment_utilization (argc, argv);
  fprintf (stderr, "strand: equipment takes 'status' or 'utilization' and an inventory file "
           "(strand equipment status --help)\n");
  return STRAND_EXIT_USAGE;
}
