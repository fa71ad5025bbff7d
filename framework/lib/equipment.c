#include "equipment.h"

#include <string.h>

#include "clock.h"
#include "json-util.h"

static void
maintenance_free (gpointer p)
{
  StrandMaintenance *m = p;
  g_free (m->reason);
  g_free (m);
}

static void
equipment_free (gpointer p)
{
  StrandEquipment *e = p;
  g_free (e->id);
  g_free (e->equipment_class);
  g_array_unref (e->hours);
  g_ptr_array_unref (e->maintenance);
  g_free (e->where);
  strand_health_free (e->health);
  g_free (e->slurm_partition);
  g_free (e->slurm_account);
  g_free (e);
}

void
strand_inventory_free (StrandInventory *inventory)
{
  if (inventory == NULL)
    return;
  g_ptr_array_unref (inventory->items);
  g_free (inventory);
}

static gboolean
identifier (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 64 || !g_ascii_isalnum (*s))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

static gboolean
parse_hhmm (const char *text, guint16 *out)
{
  if (text == NULL || strlen (text) != 5 || text[2] != ':' || !g_ascii_isdigit (text[0]) ||
      !g_ascii_isdigit (text[1]) || !g_ascii_isdigit (text[3]) || !g_ascii_isdigit (text[4]))
    return FALSE;
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0))
    return FALSE;
  *out = (guint16) (h * 60 + m);
  return TRUE;
}

static int
compare_maintenance (gconstpointer a, gconstpointer b)
{
  const StrandMaintenance *x = *(StrandMaintenance *const *) a, *y = *(StrandMaintenance *const *) b;
  return (x->start_us > y->start_us) - (x->start_us < y->start_us);
}

static void G_GNUC_PRINTF (4, 5)
complain (GPtrArray *problems, const char *code, const char *where, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  strand_problems_add (problems, FALSE, code, where, "%s", msg);
}

/* A name Slurm takes for a partition or an account. */
static gboolean
slurm_name (const char *text)
{
  gsize n = text ? strlen (text) : 0;
  return n > 0 && n <= 64 && strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789._-") == n;
}

/* "slurm": {"partition", "account"}: compute backed by a Slurm partition. */
static void
load_slurm (JsonObject *o, const char *where, StrandEquipment *e, GPtrArray *problems)
{
  JsonNode *n = json_object_get_member (o, "slurm");
  if (n == NULL)
    return;
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      complain (problems, "wrong-type", where, "equipment '%s': 'slurm' must be an object "
                "{\"partition\", \"account\"}", e->id);
      return;
    }
  JsonObject *so = json_node_get_object (n);
  g_autoptr (GList) members = json_object_get_members (so);
  for (GList *m = members; m; m = m->next)
    if (strcmp (m->data, "partition") != 0 && strcmp (m->data, "account") != 0)
      complain (problems, "unknown-field", where, "equipment '%s': '%s' is not a field of 'slurm' "
                "(partition, account)", e->id, (char *) m->data);
  const char *keys[] = { "partition", "account" };
  char **fields[] = { &e->slurm_partition, &e->slurm_account };
  for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
    {
      JsonNode *v = json_object_get_member (so, keys[k]);
      if (v == NULL && k == 0)
        complain (problems, "missing-field", where, "equipment '%s': 'slurm' needs a 'partition'", e->id);
      if (v == NULL)
        continue;
      const char *text = JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_STRING
                             ? json_node_get_string (v) : NULL;
      if (!slurm_name (text))
        complain (problems, "bad-slurm-name", where, "equipment '%s': slurm '%s' must be a Slurm name "
                  "(letters, digits, '.', '_', '-'; at most 64)", e->id, keys[k]);
      else
        *fields[k] = g_strdup (text);
    }
}

static void
load_item (JsonNode *n, const char *where, GPtrArray *items, GHashTable *ids, GPtrArray *problems)
{
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      complain (problems, "wrong-type", where, "equipment must be an object");
      return;
    }
  JsonObject *o = json_node_get_object (n);
  static const char *const keys[] = { "id", "class", "capacity", "cores", "memory_bytes", "gpus",
                                      "hours", "maintenance", "service", "reliability", "slurm", NULL };
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *m = members; m; m = m->next)
    if (!g_strv_contains (keys, m->data))
      complain (problems, "unknown-field", where, "'%s' is not an equipment field", (char *) m->data);
  const char *id = strand_json_string (o, "id", NULL);
  const char *cls = strand_json_string (o, "class", NULL);
  if (!identifier (id))
    {
      complain (problems, "bad-id", where, "equipment needs an 'id' of letters, digits, '.', '_', '-'");
      return;
    }
  if (!g_hash_table_add (ids, g_strdup (id)))
    complain (problems, "duplicate-equipment-id", where, "equipment id '%s' is used twice", id);
  gboolean class_ok = cls != NULL && *cls != '\0' && strlen (cls) <= 64 && !g_ascii_isupper (*cls);
  for (const char *c = cls; class_ok && *c; c++)
    class_ok = g_ascii_islower (*c) || g_ascii_isdigit (*c) || *c == '_' || *c == '-';
  if (!class_ok)
    complain (problems, "bad-class", where, "equipment '%s' needs a 'class' of [a-z0-9_-], as stages "
              "name it", id);

  StrandEquipment *e = g_new0 (StrandEquipment, 1);
  e->id = g_strdup (id);
  e->equipment_class = g_strdup (cls ? cls : "");
  e->where = g_strdup (where);
  e->hours = g_array_new (FALSE, FALSE, sizeof (StrandHours));
  e->maintenance = g_ptr_array_new_with_free_func (maintenance_free);
  e->health = strand_health_load (o, where, id, problems);
  g_ptr_array_add (items, e);

  struct { const char *key; gint64 min, max, fallback; } nums[] = {
    { "capacity", 1, 1 << 20, 1 }, { "cores", 0, 1 << 20, 0 },
    { "memory_bytes", 0, G_MAXINT64, 0 }, { "gpus", 0, 1 << 16, 0 },
  };
  gint64 values[G_N_ELEMENTS (nums)];
  for (guint k = 0; k < G_N_ELEMENTS (nums); k++)
    {
      JsonNode *v = json_object_get_member (o, nums[k].key);
      values[k] = nums[k].fallback;
      if (v == NULL)
        continue;
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_INT64)
        complain (problems, "wrong-type", where, "equipment '%s': '%s' must be an integer", id, nums[k].key);
      else if (json_node_get_int (v) < nums[k].min || json_node_get_int (v) > nums[k].max)
        complain (problems, "out-of-range", where, "equipment '%s': '%s' is %" G_GINT64_FORMAT
                  ", outside %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, id, nums[k].key,
                  json_node_get_int (v), nums[k].min, nums[k].max);
      else
        values[k] = json_node_get_int (v);
    }
  load_slurm (o, where, e, problems);
  e->capacity = (guint) values[0];
  e->cores = (guint) values[1];
  e->memory_bytes = (guint64) values[2];
  e->gpus = (guint) values[3];

  static const char *const day_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
  JsonNode *hours = json_object_get_member (o, "hours");
  if (hours != NULL && !JSON_NODE_HOLDS_ARRAY (hours))
    complain (problems, "wrong-type", where, "equipment '%s': 'hours' must be an array", id);
  for (guint i = 0; hours && JSON_NODE_HOLDS_ARRAY (hours) && i < json_array_get_length (json_node_get_array (hours)); i++)
    {
      JsonNode *h = json_array_get_element (json_node_get_array (hours), i);
      g_autofree char *hw = g_strdup_printf ("%s/hours/%u", where, i);
      JsonObject *ho = JSON_NODE_HOLDS_OBJECT (h) ? json_node_get_object (h) : NULL;
      JsonNode *days = ho ? json_object_get_member (ho, "days") : NULL;
      StrandHours span = { 0 };
      gboolean ok = ho != NULL && days != NULL && JSON_NODE_HOLDS_ARRAY (days) &&
                    parse_hhmm (strand_json_string (ho, "start", NULL), &span.start_min) &&
                    parse_hhmm (strand_json_string (ho, "end", NULL), &span.end_min) &&
                    span.start_min != span.end_min;
      for (guint d = 0; ok && d < json_array_get_length (json_node_get_array (days)); d++)
        {
          JsonNode *dn = json_array_get_element (json_node_get_array (days), d);
          const char *day = JSON_NODE_HOLDS_VALUE (dn) && json_node_get_value_type (dn) == G_TYPE_STRING
                                ? json_node_get_string (dn) : NULL;
          gboolean found = FALSE;
          for (guint k = 0; day && k < 7; k++)
            if (strcmp (day, day_names[k]) == 0)
              {
                span.days |= (guint8) (1u << k);
                found = TRUE;
              }
          ok = found;
        }
      if (!ok || span.days == 0)
        complain (problems, "bad-hours", hw, "operating hours are {\"days\": [\"mon\", ...], "
                  "\"start\": \"HH:MM\", \"end\": \"HH:MM\"} with start and end different");
      else
        g_array_append_val (e->hours, span);
    }

  JsonNode *maint = json_object_get_member (o, "maintenance");
  if (maint != NULL && !JSON_NODE_HOLDS_ARRAY (maint))
    complain (problems, "wrong-type", where, "equipment '%s': 'maintenance' must be an array", id);
  for (guint i = 0; maint && JSON_NODE_HOLDS_ARRAY (maint) && i < json_array_get_length (json_node_get_array (maint)); i++)
    {
      JsonNode *m = json_array_get_element (json_node_get_array (maint), i);
      g_autofree char *mw = g_strdup_printf ("%s/maintenance/%u", where, i);
      JsonObject *mo = JSON_NODE_HOLDS_OBJECT (m) ? json_node_get_object (m) : NULL;
      gint64 start = 0, end = 0;
      if (mo == NULL || !strand_clock_parse_rfc3339 (strand_json_string (mo, "start", NULL), &start) ||
          !strand_clock_parse_rfc3339 (strand_json_string (mo, "end", NULL), &end) || start >= end)
        {
          complain (problems, "bad-maintenance", mw, "a maintenance window is {\"start\", \"end\"} "
                    "as RFC 3339 times with a zone, start before end");
          continue;
        }
      StrandMaintenance *w = g_new0 (StrandMaintenance, 1);
      w->start_us = start;
      w->end_us = end;
      w->reason = g_strdup (strand_json_string (mo, "reason", NULL));
      g_ptr_array_add (e->maintenance, w);
    }
  g_ptr_array_sort (e->maintenance, compare_maintenance);
}

StrandInventory *
strand_inventory_load_data (const char *data, gsize len, const char *name, GPtrArray *problems)
{
  g_autoptr (JsonParser) parser = strand_json_parse_document (data, len, name, problems);
  if (parser == NULL)
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *list = root && JSON_NODE_HOLDS_OBJECT (root)
                       ? json_object_get_member (json_node_get_object (root), "equipment") : NULL;
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_autofree char *where = g_strdup_printf ("%s#/equipment", name);
      strand_problems_add (problems, FALSE, "missing-field", where,
                           "an inventory is an object with an 'equipment' array");
      return NULL;
    }
  StrandInventory *inventory = g_new0 (StrandInventory, 1);
  inventory->items = g_ptr_array_new_with_free_func (equipment_free);
  g_autoptr (GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonArray *a = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *where = g_strdup_printf ("%s#/equipment/%u", name, i);
      load_item (json_array_get_element (a, i), where, inventory->items, ids, problems);
    }
  return inventory;
}

StrandInventory *
strand_inventory_load (const char *path, GPtrArray *problems)
{
  gsize len = 0;
  g_autofree char *contents = strand_read_user_file (path, &len, problems);
  return contents ? strand_inventory_load_data (contents, len, path, problems) : NULL;
}

/* ---- availability --------------------------------------------------------------- */

#define MINUTE_US ((gint64) 60 * G_USEC_PER_SEC)
#define DAY_US (24 * 60 * MINUTE_US)

/* Monday-based weekday (0..6) of a day number since the epoch (a Thursday). */
static guint
weekday (gint64 day)
{
  return (guint) (((day % 7) + 7 + 3) % 7);
}

static gboolean
in_hours (const StrandEquipment *e, gint64 wall_us)
{
  if (e->hours->len == 0)
    return TRUE;
  gint64 day = wall_us >= 0 ? wall_us / DAY_US : (wall_us - DAY_US + 1) / DAY_US;
  guint minute = (guint) ((wall_us - day * DAY_US) / MINUTE_US);
  for (guint i = 0; i < e->hours->len; i++)
    {
      const StrandHours *h = &g_array_index (e->hours, StrandHours, i);
      if (h->start_min < h->end_min)
        {
          if ((h->days & (1u << weekday (day))) && minute >= h->start_min && minute < h->end_min)
            return TRUE;
        }
      else /* passes midnight: the part after midnight belongs to the day before */
        {
          if ((h->days & (1u << weekday (day))) && minute >= h->start_min)
            return TRUE;
          if ((h->days & (1u << weekday (day - 1))) && minute < h->end_min)
            return TRUE;
        }
    }
  return FALSE;
}

static gboolean
in_maintenance (const StrandEquipment *e, gint64 wall_us)
{
  for (guint i = 0; i < e->maintenance->len; i++)
    {
      const StrandMaintenance *m = e->maintenance->pdata[i];
      if (wall_us >= m->start_us && wall_us < m->end_us)
        return TRUE;
    }
  return FALSE;
}

gboolean
strand_equipment_available (const StrandEquipment *equipment, gint64 wall_us)
{
  return in_hours (equipment, wall_us) && !in_maintenance (equipment, wall_us);
}

/* Availability changes only on minute boundaries of operating hours and at
 * maintenance edges; stepping by minutes over a horizon of days is cheap and
 * exact for the hours model, and maintenance edges are taken exactly. */
gint64
strand_equipment_longest_window (const StrandEquipment *e, gint64 from_us, gint64 until_us)
{
  gint64 best = 0, run_start = -1;
  gint64 t = from_us;
  while (t < until_us)
    {
      gint64 next = MIN (until_us, (t / MINUTE_US + 1) * MINUTE_US);
      for (guint i = 0; i < e->maintenance->len; i++)
        {
          const StrandMaintenance *m = e->maintenance->pdata[i];
          if (m->start_us > t && m->start_us < next)
            next = m->start_us;
          if (m->end_us > t && m->end_us < next)
            next = m->end_us;
        }
      gboolean up = strand_equipment_available (e, t);
      if (up && run_start < 0)
        run_start = t;
      if (!up && run_start >= 0)
        {
          best = MAX (best, t - run_start);
          run_start = -1;
        }
      t = next;
    }
  if (run_start >= 0)
    best = MAX (best, until_us - run_start);
  return best;
}
