/* Utilization as interval arithmetic: operating hours, maintenance and the
 * status history become sorted, disjoint spans, and every figure is the
 * length of an intersection or a difference of them. */
#include "utilization.h"

#include <math.h>
#include <string.h>

#include "clock.h"
#include "json-util.h"

#define MINUTE_US ((gint64) 60 * G_USEC_PER_SEC)
#define HOUR_US (60 * MINUTE_US)
#define DAY_US (24 * HOUR_US)

typedef struct {
  gint64 start;
  gint64 end;
} Span;

static int
compare_spans (gconstpointer a, gconstpointer b)
{
  const Span *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

static GArray *
spans_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (Span));
}

/* Adds [start, end) clipped to [lo, hi). */
static void
add_clipped (GArray *spans, gint64 start, gint64 end, gint64 lo, gint64 hi)
{
  Span s = { MAX (start, lo), MIN (end, hi) };
  if (s.start < s.end)
    g_array_append_val (spans, s);
}

/* Sorts and merges overlapping or touching spans. */
static void
normalize (GArray *spans)
{
  if (spans->len < 2)
    return;
  g_array_sort (spans, compare_spans);
  guint out = 0;
  for (guint i = 1; i < spans->len; i++)
    {
      Span *last = &g_array_index (spans, Span, out);
      const Span *s = &g_array_index (spans, Span, i);
      if (s->start <= last->end)
        last->end = MAX (last->end, s->end);
      else
        g_array_index (spans, Span, ++out) = *s;
    }
  g_array_set_size (spans, out + 1);
}

static GArray *
intersect (const GArray *x, const GArray *y)
{
  GArray *out = spans_new ();
  guint i = 0, j = 0;
  while (i < x->len && j < y->len)
    {
      const Span *a = &g_array_index (x, Span, i), *b = &g_array_index (y, Span, j);
      add_clipped (out, a->start, a->end, b->start, b->end);
      if (a->end < b->end)
        i++;
      else
        j++;
    }
  return out;
}

static GArray *
subtract (const GArray *x, const GArray *y)
{
  GArray *out = spans_new ();
  guint j = 0;
  for (guint i = 0; i < x->len; i++)
    {
      gint64 start = g_array_index (x, Span, i).start, end = g_array_index (x, Span, i).end;
      while (j < y->len && g_array_index (y, Span, j).end <= start)
        j++;
      for (guint k = j; k < y->len && g_array_index (y, Span, k).start < end; k++)
        {
          const Span *cut = &g_array_index (y, Span, k);
          if (cut->start > start)
            add_clipped (out, start, cut->start, start, end);
          start = MAX (start, cut->end);
        }
      if (start < end)
        add_clipped (out, start, end, start, end);
    }
  return out;
}

static gint64
measure (const GArray *spans)
{
  gint64 total = 0;
  for (guint i = 0; i < spans->len; i++)
    total += g_array_index (spans, Span, i).end - g_array_index (spans, Span, i).start;
  return total;
}

/* Length of [start, end) inside the disjoint sorted `spans`. */
static gint64
overlap (const GArray *spans, gint64 start, gint64 end)
{
  guint lo = 0, hi = spans->len;
  while (lo < hi) /* the first span ending after start */
    {
      guint mid = lo + (hi - lo) / 2;
      if (g_array_index (spans, Span, mid).end <= start)
        lo = mid + 1;
      else
        hi = mid;
    }
  gint64 total = 0;
  for (guint i = lo; i < spans->len && g_array_index (spans, Span, i).start < end; i++)
    total += MIN (end, g_array_index (spans, Span, i).end) - MAX (start, g_array_index (spans, Span, i).start);
  return total;
}

static gint64
floor_div (gint64 a, gint64 b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

gint64
strand_utilization_day_start (gint64 wall_us)
{
  return floor_div (wall_us, DAY_US) * DAY_US;
}

/* Operating hours inside [from, until). */
static GArray *
operating (const StrandEquipment *e, gint64 from, gint64 until)
{
  GArray *out = spans_new ();
  if (e->hours->len == 0)
    {
      add_clipped (out, from, until, from, until);
      return out;
    }
  /* A span may start the day before and pass midnight. */
  for (gint64 day = floor_div (from, DAY_US) - 1; day * DAY_US < until; day++)
    {
      guint weekday = (guint) (((day % 7) + 7 + 3) % 7); /* day 0 was a Thursday; Monday = 0 */
      for (guint i = 0; i < e->hours->len; i++)
        {
          const StrandHours *h = &g_array_index (e->hours, StrandHours, i);
          if (!(h->days & (1u << weekday)))
            continue;
          gint64 start = day * DAY_US + h->start_min * MINUTE_US;
          gint64 end = day * DAY_US + h->end_min * MINUTE_US;
          if (h->end_min <= h->start_min)
            end += DAY_US;
          add_clipped (out, start, end, from, until);
        }
    }
  normalize (out);
  return out;
}

/* The first interval of `history` that ends after `from`. */
static guint
first_after (const StrandStatusInterval *history, guint n, gint64 from)
{
  guint lo = 0, hi = n;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (history[mid].end_us <= from)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static double
ratio (gint64 a, gint64 b)
{
  return b > 0 ? (double) a / (double) b : 0;
}

void
strand_utilization_compute (const StrandEquipment *e, const StrandStatusInterval *history,
                            guint n_history, gint64 from, gint64 until, StrandUtilization *out)
{
  memset (out, 0, sizeof *out);
  out->from_us = from;
  out->until_us = MAX (from, until);
  if (until <= from)
    return;
  g_autoptr (GArray) op = operating (e, from, until);
  g_autoptr (GArray) maint = spans_new ();
  for (guint i = 0; i < e->maintenance->len; i++)
    {
      const StrandMaintenance *m = e->maintenance->pdata[i];
      add_clipped (maint, m->start_us, m->end_us, from, until);
    }
  g_autoptr (GArray) down = spans_new ();
  g_autoptr (GArray) working = spans_new (); /* up or busy */
  guint first = first_after (history, n_history, from);
  for (guint i = first; i < n_history && history[i].start_us < until; i++)
    {
      const StrandStatusInterval *h = &history[i];
      switch (h->status)
        {
        case STRAND_EQUIPMENT_MAINTENANCE:
          add_clipped (maint, h->start_us, h->end_us, from, until);
          break;
        case STRAND_EQUIPMENT_DOWN:
          add_clipped (down, h->start_us, h->end_us, from, until);
          break;
        case STRAND_EQUIPMENT_UP:
        case STRAND_EQUIPMENT_BUSY:
          add_clipped (working, h->start_us, h->end_us, from, until);
          break;
        default:
          break;
        }
    }
  normalize (maint);
  normalize (down);
  normalize (working);
  g_autoptr (GArray) maint_op = intersect (op, maint);
  g_autoptr (GArray) scheduled = subtract (op, maint_op);
  g_autoptr (GArray) down_s = intersect (scheduled, down);
  g_autoptr (GArray) available = intersect (scheduled, working);

  double busy = 0, overrun = 0;
  guint capacity = MAX (e->capacity, 1);
  for (guint i = first; i < n_history && history[i].start_us < until; i++)
    {
      const StrandStatusInterval *h = &history[i];
      if (h->status != STRAND_EQUIPMENT_BUSY)
        continue;
      gint64 start = MAX (h->start_us, from), end = MIN (h->end_us, until);
      if (start >= end)
        continue;
      double w = (double) MIN (h->slots, capacity) / capacity;
      gint64 inside = overlap (available, start, end);
      busy += w * (double) inside;
      overrun += w * (double) (end - start - overlap (scheduled, start, end));
    }

  out->operating_us = measure (op);
  out->maintenance_us = measure (maint_op);
  out->scheduled_us = measure (scheduled);
  out->down_us = measure (down_s);
  out->available_us = measure (available);
  out->unknown_us = out->scheduled_us - out->down_us - out->available_us;
  out->busy_us = llround (busy);
  out->overrun_us = llround (overrun);
  out->utilization = ratio (out->busy_us, out->available_us);
  out->availability = ratio (out->available_us, out->scheduled_us - out->unknown_us);
}

GArray *
strand_utilization_daily (const StrandEquipment *e, const StrandStatusInterval *history,
                          guint n_history, gint64 from, gint64 until)
{
  GArray *days = g_array_new (FALSE, FALSE, sizeof (StrandUtilization));
  for (gint64 day = strand_utilization_day_start (from); day < until; day += DAY_US)
    {
      StrandUtilization u;
      strand_utilization_compute (e, history, n_history, MAX (from, day), MIN (until, day + DAY_US), &u);
      g_array_append_val (days, u);
    }
  return days;
}

gboolean
strand_utilization_of (StrandMonitor *monitor, const char *equipment, gint64 from, gint64 until,
                       StrandUtilization *out)
{
  const StrandEquipment *e = strand_monitor_equipment (monitor, equipment);
  if (e == NULL)
    return FALSE;
  g_autoptr (GArray) history = strand_monitor_history (monitor, equipment, until);
  strand_utilization_compute (e, (const StrandStatusInterval *) history->data, history->len, from,
                              until, out);
  return TRUE;
}

JsonNode *
strand_utilization_to_json (const StrandUtilization *u)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  g_autofree char *from = strand_clock_format_rfc3339 (u->from_us);
  g_autofree char *until = strand_clock_format_rfc3339 (u->until_us);
  json_builder_set_member_name (b, "from");
  json_builder_add_string_value (b, from);
  json_builder_set_member_name (b, "until");
  json_builder_add_string_value (b, until);
  const struct { const char *name; gint64 us; } spans[] = {
    { "operating_s", u->operating_us }, { "maintenance_s", u->maintenance_us },
    { "scheduled_s", u->scheduled_us }, { "down_s", u->down_us },
    { "unknown_s", u->unknown_us },     { "available_s", u->available_us },
    { "busy_s", u->busy_us },           { "overrun_s", u->overrun_us },
  };
  for (guint i = 0; i < G_N_ELEMENTS (spans); i++)
    {
      json_builder_set_member_name (b, spans[i].name);
      json_builder_add_double_value (b, (double) spans[i].us / G_USEC_PER_SEC);
    }
  json_builder_set_member_name (b, "utilization");
  json_builder_add_double_value (b, u->utilization);
  json_builder_set_member_name (b, "availability");
  json_builder_add_double_value (b, u->availability);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- reservations and the forecast ---------------------------------------------------- */

void
strand_reservation_clear (StrandReservation *r)
{
  g_free (r->equipment);
  g_free (r->task);
  memset (r, 0, sizeof *r);
}

static void
reservation_clear (gpointer p)
{
  strand_reservation_clear (p);
}

GArray *
strand_reservations_load_data (const char *data, gsize len, const char *name, GPtrArray *problems)
{
  g_autoptr (JsonParser) parser = strand_json_parse_document (data, len, name, problems);
  if (parser == NULL)
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *top = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *list = top ? json_object_get_member (top, "reservations") : NULL;
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list) || json_object_get_size (top) != 1)
    {
      g_autofree char *where = g_strdup_printf ("%s#", name);
      strand_problems_add (problems, FALSE, "missing-field", where,
                           "reservations are an object with one member, a 'reservations' array");
      return NULL;
    }
  guint before = strand_problems_errors (problems);
  g_autoptr (GArray) out = g_array_new (FALSE, TRUE, sizeof (StrandReservation));
  g_array_set_clear_func (out, reservation_clear);
  JsonArray *a = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *where = g_strdup_printf ("%s#/reservations/%u", name, i);
      JsonNode *n = json_array_get_element (a, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      if (o == NULL)
        {
          strand_problems_add (problems, FALSE, "wrong-type", where, "a reservation is an object");
          continue;
        }
      static const char *const keys[] = { "equipment", "task", "start", "end", NULL };
      g_autoptr (GList) members = json_object_get_members (o);
      for (GList *m = members; m; m = m->next)
        if (!g_strv_contains (keys, m->data))
          strand_problems_add (problems, FALSE, "unknown-field", where,
                               "'%s' is not a reservation field", (char *) m->data);
      const char *equipment = strand_json_string (o, "equipment", NULL);
      JsonNode *task = json_object_get_member (o, "task");
      gint64 start = 0, end = 0;
      if (equipment == NULL || *equipment == '\0')
        strand_problems_add (problems, FALSE, "missing-field", where,
                             "a reservation names its 'equipment'");
      else if (task != NULL && (!JSON_NODE_HOLDS_VALUE (task) ||
                                json_node_get_value_type (task) != G_TYPE_STRING))
        strand_problems_add (problems, FALSE, "wrong-type", where, "'task' is a task id");
      else if (!strand_clock_parse_rfc3339 (strand_json_string (o, "start", NULL), &start) ||
               !strand_clock_parse_rfc3339 (strand_json_string (o, "end", NULL), &end) ||
               start >= end)
        strand_problems_add (problems, FALSE, "bad-reservation", where,
                             "a reservation has 'start' and 'end' as RFC 3339 times with a zone, "
                             "start before end");
      else
        {
          StrandReservation r = { g_strdup (equipment), task ? g_strdup (json_node_get_string (task)) : NULL,
                                  start, end };
          g_array_append_val (out, r);
        }
    }
  if (strand_problems_errors (problems) > before)
    return NULL;
  return g_steal_pointer (&out);
}

GArray *
strand_reservations_load (const char *path, GPtrArray *problems)
{
  gsize len = 0;
  g_autofree char *contents = strand_read_user_file (path, &len, problems);
  return contents ? strand_reservations_load_data (contents, len, path, problems) : NULL;
}

void
strand_forecast_clear (StrandForecast *f)
{
  g_clear_pointer (&f->hours, g_array_unref);
}

static void
forecast_clear (gpointer p)
{
  strand_forecast_clear (p);
}

typedef struct {
  gint64 time;
  int delta;
} Edge;

static int
compare_edges (gconstpointer a, gconstpointer b)
{
  const Edge *x = a, *y = b;
  if (x->time != y->time)
    return (x->time > y->time) - (x->time < y->time);
  return x->delta - y->delta; /* ends before starts at the same instant */
}

/* The machine up over [from, until), busy where reservations are. */
static GArray *
reserved_history (const StrandEquipment *e, GArray *edges, gint64 from, gint64 until,
                  gint64 *overbooked)
{
  GArray *history = g_array_new (FALSE, FALSE, sizeof (StrandStatusInterval));
  g_array_sort (edges, compare_edges);
  gint64 t = from;
  int running = 0;
  *overbooked = 0;
  for (guint i = 0; i <= edges->len; i++)
    {
      gint64 next = i < edges->len ? CLAMP (g_array_index (edges, Edge, i).time, from, until) : until;
      if (next > t)
        {
          StrandStatusInterval s = { t, next, running > 0 ? STRAND_EQUIPMENT_BUSY : STRAND_EQUIPMENT_UP,
                                     (guint) MIN ((guint) MAX (running, 0), e->capacity) };
          if (running > (int) e->capacity)
            *overbooked += next - t;
          g_array_append_val (history, s);
          t = next;
        }
      if (i < edges->len)
        running += g_array_index (edges, Edge, i).delta;
    }
  return history;
}

GArray *
strand_forecast (const StrandInventory *inventory, const StrandReservation *reservations,
                 guint n_reservations, gint64 now, gint64 horizon, GPtrArray *problems)
{
  gint64 until = now + MAX (horizon, 0);
  GArray *out = g_array_new (FALSE, TRUE, sizeof (StrandForecast));
  g_array_set_clear_func (out, forecast_clear);
  g_autoptr (GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) edges = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autofree guint *counts = g_new0 (guint, inventory->items->len + 1);
  for (guint i = 0; i < inventory->items->len; i++)
    {
      const StrandEquipment *e = inventory->items->pdata[i];
      g_hash_table_insert (index, e->id, GUINT_TO_POINTER (i + 1));
      g_ptr_array_add (edges, g_array_new (FALSE, FALSE, sizeof (Edge)));
    }
  for (guint r = 0; r < n_reservations; r++)
    {
      const StrandReservation *res = &reservations[r];
      guint k = GPOINTER_TO_UINT (g_hash_table_lookup (index, res->equipment ? res->equipment : ""));
      if (k == 0)
        {
          g_autofree char *where = g_strdup_printf ("reservations/%u", r);
          if (problems != NULL)
            strand_problems_add (problems, FALSE, "unknown-equipment", where,
                                 "task '%s' is reserved on equipment '%s', which the inventory "
                                 "does not have", res->task ? res->task : "(unnamed)",
                                 res->equipment ? res->equipment : "");
          continue;
        }
      if (res->end_us <= now || res->start_us >= until || res->end_us <= res->start_us)
        continue;
      counts[k - 1]++;
      Edge s = { res->start_us, +1 }, e = { res->end_us, -1 };
      g_array_append_val (edges->pdata[k - 1], s);
      g_array_append_val (edges->pdata[k - 1], e);
    }
  for (guint i = 0; i < inventory->items->len; i++)
    {
      const StrandEquipment *e = inventory->items->pdata[i];
      StrandForecast f = { e };
      f.reservations = counts[i];
      g_autoptr (GArray) history = reserved_history (e, edges->pdata[i], now, until, &f.overbooked_us);
      const StrandStatusInterval *h = (const StrandStatusInterval *) history->data;
      strand_utilization_compute (e, h, history->len, now, until, &f.total);
      f.hours = g_array_new (FALSE, FALSE, sizeof (StrandUtilization));
      for (gint64 t = now; t < until; t += HOUR_US)
        {
          StrandUtilization u;
          strand_utilization_compute (e, h, history->len, t, MIN (until, t + HOUR_US), &u);
          g_array_append_val (f.hours, u);
        }
      g_array_append_val (out, f);
    }
  return out;
}
