#include "run-usage.h"

#include <string.h>

#include "clock.h"

typedef struct {
  const char *id;                  /* NULL: tasks assigned to no equipment */
  const StrandEquipment *equipment; /* NULL: not in the inventory */
  guint tasks;
  gint64 busy_us;
} Use;

static const StrandEquipment *
find_equipment (const StrandInventory *inventory, const char *id)
{
  for (guint i = 0; inventory && id && i < inventory->items->len; i++)
    {
      const StrandEquipment *e = inventory->items->pdata[i];
      if (strcmp (e->id, id) == 0)
        return e;
    }
  return NULL;
}

/* Inventory order first, then equipment it does not name, then none. */
static int
use_order (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const StrandInventory *inventory = user_data;
  const Use *x = *(Use *const *) a, *y = *(Use *const *) b;
  guint rx = x->id == NULL ? 2 : x->equipment == NULL ? 1 : 0;
  guint ry = y->id == NULL ? 2 : y->equipment == NULL ? 1 : 0;
  if (rx != ry || rx != 0)
    return (int) rx - (int) ry;
  guint ix = 0, iy = 0;
  g_ptr_array_find (inventory->items, x->equipment, &ix);
  g_ptr_array_find (inventory->items, y->equipment, &iy);
  return (int) ix - (int) iy;
}

static void
add_time (JsonBuilder *b, const char *key, gboolean known, gint64 wall_us)
{
  json_builder_set_member_name (b, key);
  if (!known)
    {
      json_builder_add_null_value (b);
      return;
    }
  g_autofree char *text = strand_clock_format_rfc3339 (wall_us);
  json_builder_add_string_value (b, text);
}

JsonNode *
strand_run_usage (const StrandRun *run, const StrandInventory *inventory)
{
  g_autoptr (GPtrArray) uses = g_ptr_array_new_with_free_func (g_free);
  gint64 start = G_MAXINT64, end = G_MININT64, task_us = 0, cpu_us = 0;
  guint tasks = 0, cpu_tasks = 0;
  for (guint i = 0; i < run->tasks->len; i++)
    {
      const StrandTaskRecord *t = run->tasks->pdata[i];
      const StrandTaskResult *r = t->result;
      if (r == NULL || strcmp (t->status, "cached") == 0)
        continue;
      gint64 us = MAX (r->end_us - r->start_us, 0);
      start = MIN (start, r->start_us);
      end = MAX (end, r->end_us);
      tasks++;
      task_us += us;
      if (r->cpu_us > 0)
        {
          cpu_us += r->cpu_us;
          cpu_tasks++;
        }
      Use *use = NULL;
      for (guint k = 0; use == NULL && k < uses->len; k++)
        if (g_strcmp0 (((Use *) uses->pdata[k])->id, t->equipment) == 0)
          use = uses->pdata[k];
      if (use == NULL)
        {
          use = g_new0 (Use, 1);
          use->id = t->equipment;
          use->equipment = find_equipment (inventory, t->equipment);
          g_ptr_array_add (uses, use);
        }
      use->tasks++;
      use->busy_us += us;
    }
  g_ptr_array_sort_with_data (uses, use_order, (gpointer) inventory);
  gint64 span = tasks > 0 ? MAX (end - start, 0) : 0;

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_time (b, "start", tasks > 0, start);
  add_time (b, "end", tasks > 0, end);
  json_builder_set_member_name (b, "wall_seconds");
  json_builder_add_double_value (b, (double) span / G_USEC_PER_SEC);
  json_builder_set_member_name (b, "tasks");
  json_builder_add_int_value (b, tasks);
  json_builder_set_member_name (b, "task_seconds");
  json_builder_add_double_value (b, (double) task_us / G_USEC_PER_SEC);
  json_builder_set_member_name (b, "cpu_seconds");
  if (cpu_tasks > 0)
    json_builder_add_double_value (b, (double) cpu_us / G_USEC_PER_SEC);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "cpu_tasks");
  json_builder_add_int_value (b, cpu_tasks);
  json_builder_set_member_name (b, "equipment");
  json_builder_begin_array (b);
  for (guint k = 0; k < uses->len; k++)
    {
      const Use *use = uses->pdata[k];
      const StrandEquipment *e = use->equipment;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      if (use->id)
        json_builder_add_string_value (b, use->id);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "class");
      if (e && e->equipment_class)
        json_builder_add_string_value (b, e->equipment_class);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "capacity");
      if (e)
        json_builder_add_int_value (b, e->capacity);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "tasks");
      json_builder_add_int_value (b, use->tasks);
      json_builder_set_member_name (b, "busy_seconds");
      json_builder_add_double_value (b, (double) use->busy_us / G_USEC_PER_SEC);
      json_builder_set_member_name (b, "busy_share");
      if (e && e->capacity > 0 && span > 0)
        json_builder_add_double_value (b, (double) use->busy_us / ((double) e->capacity * (double) span));
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* Seconds with the precision a reader wants at that size. */
static char *
format_seconds (double s)
{
  return g_strdup_printf (s < 10 ? "%.2f s" : s < 600 ? "%.1f s" : "%.0f s", s);
}

static const char *
plural (gint64 n, const char *one, const char *many)
{
  return n == 1 ? one : many;
}

char *
strand_run_usage_text (JsonNode *usage)
{
  JsonObject *o = json_node_get_object (usage);
  gint64 tasks = json_object_get_int_member (o, "tasks");
  GString *text = g_string_new (NULL);
  if (tasks == 0)
    {
      g_string_append (text, "no task ran in this run: every output was reused\n");
      return g_string_free (text, FALSE);
    }
  g_autofree char *wall = format_seconds (json_object_get_double_member (o, "wall_seconds"));
  g_autofree char *task = format_seconds (json_object_get_double_member (o, "task_seconds"));
  g_string_append_printf (text, "wall time %s; %" G_GINT64_FORMAT " %s ran %s in all", wall, tasks,
                          plural (tasks, "task", "tasks"), task);
  gint64 cpu_tasks = json_object_get_int_member (o, "cpu_tasks");
  if (cpu_tasks > 0)
    {
      g_autofree char *cpu = format_seconds (json_object_get_double_member (o, "cpu_seconds"));
      g_string_append_printf (text, ", %s of CPU%s", cpu, cpu_tasks < tasks ? " where measured" : "");
    }
  g_string_append (text, "\n");

  JsonArray *equipment = json_object_get_array_member (o, "equipment");
  guint n = json_array_get_length (equipment);
  int name_width = 0, count_width = 0;
  for (guint i = 0; i < n; i++)
    {
      JsonObject *e = json_array_get_object_element (equipment, i);
      const char *id = json_object_get_string_member (e, "id");
      g_autofree char *count = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (e, "tasks"));
      name_width = MAX (name_width, (int) g_utf8_strlen (id ? id : "(no equipment)", -1));
      count_width = MAX (count_width, (int) strlen (count));
    }
  for (guint i = 0; i < n; i++)
    {
      JsonObject *e = json_array_get_object_element (equipment, i);
      const char *id = json_object_get_string_member (e, "id");
      const char *name = id ? id : "(no equipment)";
      gint64 t = json_object_get_int_member (e, "tasks");
      /* Names to the left, counts to the right, "task " and "tasks" as wide. */
      g_string_append_printf (text, "  %s%*s  %*" G_GINT64_FORMAT " %s", name,
                              name_width - (int) g_utf8_strlen (name, -1), "", count_width, t,
                              plural (t, "task ", "tasks"));
      g_autofree char *busy = format_seconds (json_object_get_double_member (e, "busy_seconds"));
      if (json_object_get_null_member (e, "busy_share"))
        g_string_append_printf (text, "  busy %s\n", busy);
      else
        {
          gint64 capacity = json_object_get_int_member (e, "capacity");
          g_string_append_printf (text, "  busy %5.1f%% of %" G_GINT64_FORMAT " %s (%s)\n",
                                  100.0 * json_object_get_double_member (e, "busy_share"), capacity,
                                  plural (capacity, "slot", "slots"), busy);
        }
    }
  return g_string_free (text, FALSE);
}
