/* Reading a facility file (schemas/facility.schema.json). */
#include <math.h>
#include <string.h>

#include "clock.h"
#include "json-util.h"
#include "simulate.h"

#define HOUR_US ((double) 3600 * G_USEC_PER_SEC)
/* No stage runs longer than a year, no rate beyond a million an hour. */
#define MAX_HOURS (366.0 * 24)
#define MAX_RATE 1e6

gint64
strand_duration_mean_us (const StrandDuration *d)
{
  switch (d->model)
    {
    case STRAND_DURATION_UNIFORM:
      return (gint64) ((d->min_hours + d->max_hours) / 2 * HOUR_US);
    case STRAND_DURATION_LOGNORMAL:
      return (gint64) (d->mean_hours * HOUR_US);
    case STRAND_DURATION_FIXED:
    default:
      return (gint64) (d->hours * HOUR_US);
    }
}

static void
stage_free (gpointer p)
{
  StrandFacilityStage *s = p;
  g_free (s->id);
  g_free (s->equipment_class);
  g_free (s);
}

static void
mix_clear (gpointer p)
{
  StrandFacilityMix *m = p;
  g_free (m->sample_type);
}

void
strand_facility_free (StrandFacility *f)
{
  if (f == NULL)
    return;
  g_free (f->name);
  g_free (f->path);
  g_clear_pointer (&f->inventory, strand_inventory_free);
  g_clear_pointer (&f->stages, g_ptr_array_unref);
  g_clear_pointer (&f->route, g_array_unref);
  g_clear_pointer (&f->mix, g_array_unref);
  g_clear_pointer (&f->arrival_hours, g_array_unref);
  g_clear_pointer (&f->sample_types, strand_sample_types_free);
  g_free (f);
}

/* ---- reading helpers: each complains once, at the member ---------------------------- */

typedef struct {
  const char *name;
  GPtrArray *problems;
  GHashTable *broken_stages; /* ids of stages left out for a problem: no second one */
} Reader;

static void G_GNUC_PRINTF (4, 5)
complain (Reader *r, const char *code, const char *pointer, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autofree char *where = g_strdup_printf ("%s#%s", r->name, pointer);
  strand_problems_add (r->problems, FALSE, code, where, "%s", message);
}

/* Members not in `known` (NULL-terminated) are errors: a misspelt member
 * would otherwise silently take its default. */
static void
check_members (Reader *r, JsonObject *o, const char *pointer, const char *const *known)
{
  g_autoptr (GList) names = json_object_get_members (o);
  for (GList *l = names; l; l = l->next)
    if (!g_strv_contains (known, l->data))
      complain (r, "unknown-member", pointer, "unknown member '%s'", (const char *) l->data);
}

/* A number member in [min, max]; `fallback` when absent and not required. */
static gboolean
number (Reader *r, JsonObject *o, const char *pointer, const char *key, gboolean required,
        double min, double max, double fallback, double *out)
{
  *out = fallback;
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    {
      if (required)
        complain (r, "missing-field", pointer, "'%s' is required", key);
      return !required;
    }
  GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
    {
      complain (r, "wrong-type", pointer, "'%s' must be a number", key);
      return FALSE;
    }
  double v = t == G_TYPE_INT64 ? (double) json_node_get_int (n) : json_node_get_double (n);
  if (!isfinite (v) || v < min || v > max)
    {
      complain (r, "out-of-range", pointer, "'%s' is %g; it must be from %g to %g", key, v, min,
                max);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

/* A string member; NULL (and a problem when required) when absent or not a string. */
static const char *
string (Reader *r, JsonObject *o, const char *pointer, const char *key, gboolean required)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    {
      if (required)
        complain (r, "missing-field", pointer, "'%s' is required", key);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      complain (r, "wrong-type", pointer, "'%s' must be a string", key);
      return NULL;
    }
  return json_node_get_string (n);
}

static JsonObject *
object (Reader *r, JsonNode *n, const char *pointer, const char *what)
{
  if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n))
    {
      complain (r, "wrong-type", pointer, "%s must be an object", what);
      return NULL;
    }
  return json_node_get_object (n);
}

static JsonArray *
array (Reader *r, JsonObject *o, const char *pointer, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    {
      complain (r, "missing-field", pointer, "'%s' is required", key);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (json_node_get_array (n)) == 0)
    {
      complain (r, "wrong-type", pointer, "'%s' must be a non-empty array", key);
      return NULL;
    }
  return json_node_get_array (n);
}

static gboolean
identifier (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 64)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return g_ascii_isalnum (*s);
}

/* A path in the facility file: absolute, or relative to the file's directory. */
static char *
beside (const char *dir, const char *path)
{
  return g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (dir, path, NULL);
}

/* ---- parts -------------------------------------------------------------------------- */

static gboolean
load_duration (Reader *r, JsonNode *n, const char *pointer, StrandDuration *d)
{
  JsonObject *o = object (r, n, pointer, "a duration");
  if (o == NULL)
    return FALSE;
  const char *model = string (r, o, pointer, "model", TRUE);
  if (model == NULL)
    return FALSE;
  if (strcmp (model, "fixed") == 0)
    {
      static const char *const known[] = { "model", "hours", NULL };
      check_members (r, o, pointer, known);
      d->model = STRAND_DURATION_FIXED;
      return number (r, o, pointer, "hours", TRUE, 1.0 / 3600, MAX_HOURS, 0, &d->hours);
    }
  if (strcmp (model, "uniform") == 0)
    {
      static const char *const known[] = { "model", "min_hours", "max_hours", NULL };
      check_members (r, o, pointer, known);
      d->model = STRAND_DURATION_UNIFORM;
      if (!number (r, o, pointer, "min_hours", TRUE, 1.0 / 3600, MAX_HOURS, 0, &d->min_hours) ||
          !number (r, o, pointer, "max_hours", TRUE, 1.0 / 3600, MAX_HOURS, 0, &d->max_hours))
        return FALSE;
      if (d->max_hours < d->min_hours)
        {
          complain (r, "out-of-range", pointer, "'max_hours' (%g) is below 'min_hours' (%g)",
                    d->max_hours, d->min_hours);
          return FALSE;
        }
      return TRUE;
    }
  if (strcmp (model, "lognormal") == 0)
    {
      static const char *const known[] = { "model", "mean_hours", "sigma", NULL };
      check_members (r, o, pointer, known);
      d->model = STRAND_DURATION_LOGNORMAL;
      return number (r, o, pointer, "mean_hours", TRUE, 1.0 / 3600, MAX_HOURS, 0,
                     &d->mean_hours) &&
             number (r, o, pointer, "sigma", TRUE, 0, 3, 0, &d->sigma);
    }
  g_autofree char *at = g_strdup_printf ("%s/model", pointer);
  complain (r, "unknown-model", at, "duration model '%s' is not fixed, uniform or lognormal",
            model);
  return FALSE;
}

static void
load_stages (Reader *r, JsonObject *root, StrandFacility *f)
{
  JsonArray *a = array (r, root, "", "stages");
  if (a == NULL)
    return;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *pointer = g_strdup_printf ("/stages/%u", i);
      JsonObject *o = object (r, json_array_get_element (a, i), pointer, "a stage");
      if (o == NULL)
        continue;
      static const char *const known[] = { "id", "class", "duration", "stabilises", NULL };
      check_members (r, o, pointer, known);
      const char *id = string (r, o, pointer, "id", TRUE);
      const char *cls = string (r, o, pointer, "class", TRUE);
      if (id != NULL && !identifier (id))
        complain (r, "bad-id", pointer, "stage id '%s' must be letters, digits, '.', '_' or '-'",
                  id);
      for (guint j = 0; id && j < f->stages->len; j++)
        if (strcmp (((StrandFacilityStage *) f->stages->pdata[j])->id, id) == 0)
          complain (r, "duplicate-id", pointer, "stage '%s' is declared twice", id);
      g_autofree char *dp = g_strdup_printf ("%s/duration", pointer);
      JsonNode *dn = json_object_get_member (o, "duration");
      StrandDuration d = { 0 };
      if (dn == NULL)
        complain (r, "missing-field", pointer, "'duration' is required");
      gboolean ok = dn != NULL && load_duration (r, dn, dp, &d);
      JsonNode *sn = json_object_get_member (o, "stabilises");
      if (sn && (!JSON_NODE_HOLDS_VALUE (sn) || json_node_get_value_type (sn) != G_TYPE_BOOLEAN))
        complain (r, "wrong-type", pointer, "'stabilises' must be true or false");
      if (id == NULL || cls == NULL || !ok)
        {
          if (id != NULL)
            g_hash_table_add (r->broken_stages, g_strdup (id));
          continue;
        }
      StrandFacilityStage *s = g_new0 (StrandFacilityStage, 1);
      s->id = g_strdup (id);
      s->equipment_class = g_strdup (cls);
      s->duration = d;
      s->stabilises = strand_json_bool (o, "stabilises", FALSE);
      g_ptr_array_add (f->stages, s);
    }
}

static void
load_route (Reader *r, JsonObject *root, StrandFacility *f)
{
  JsonArray *a = array (r, root, "", "route");
  if (a == NULL)
    return;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *pointer = g_strdup_printf ("/route/%u", i);
      JsonNode *n = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
        {
          complain (r, "wrong-type", pointer, "a route step names a stage by its id");
          continue;
        }
      const char *id = json_node_get_string (n);
      guint found = G_MAXUINT;
      for (guint j = 0; j < f->stages->len; j++)
        if (strcmp (((StrandFacilityStage *) f->stages->pdata[j])->id, id) == 0)
          found = j;
      if (found == G_MAXUINT && g_hash_table_contains (r->broken_stages, id))
        continue;
      if (found == G_MAXUINT)
        complain (r, "unknown-stage", pointer, "no stage has the id '%s'", id);
      else
        g_array_append_val (f->route, found);
    }
}

static void
load_arrivals (Reader *r, JsonObject *root, StrandFacility *f, const char *dir,
               const char *types_path)
{
  JsonNode *an = json_object_get_member (root, "arrivals");
  if (an == NULL)
    {
      complain (r, "missing-field", "", "'arrivals' is required");
      return;
    }
  JsonObject *o = object (r, an, "/arrivals", "'arrivals'");
  if (o == NULL)
    return;
  static const char *const known[] = { "per_hour", "per_day", "at_hours", "mix", NULL };
  check_members (r, o, "/arrivals", known);
  gboolean hourly = json_object_has_member (o, "per_hour");
  gboolean daily = json_object_has_member (o, "per_day");
  gboolean listed = json_object_has_member (o, "at_hours");
  if (hourly + daily + listed != 1)
    complain (r, "missing-field", "/arrivals", "give exactly one of 'per_hour', 'per_day' and "
              "'at_hours'");
  else if (listed)
    {
      JsonArray *times = array (r, o, "/arrivals", "at_hours");
      for (guint i = 0; times && i < json_array_get_length (times); i++)
        {
          g_autofree char *pointer = g_strdup_printf ("/arrivals/at_hours/%u", i);
          JsonNode *n = json_array_get_element (times, i);
          GType t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
          double v = t == G_TYPE_INT64 ? (double) json_node_get_int (n)
                     : t == G_TYPE_DOUBLE ? json_node_get_double (n) : NAN;
          double last = f->arrival_hours->len
                            ? g_array_index (f->arrival_hours, double, f->arrival_hours->len - 1)
                            : 0;
          if (!isfinite (v) || v < last || v > MAX_HOURS * 10)
            complain (r, "out-of-range", pointer, "arrival times are hours after the start, "
                      "ascending, at most %g", MAX_HOURS * 10);
          else
            g_array_append_val (f->arrival_hours, v);
        }
    }
  else if (hourly)
    number (r, o, "/arrivals", "per_hour", TRUE, 1e-9, MAX_RATE, 0, &f->arrivals_per_hour);
  else if (number (r, o, "/arrivals", "per_day", TRUE, 1e-9, MAX_RATE * 24, 0,
                   &f->arrivals_per_hour))
    f->arrivals_per_hour /= 24;

  JsonArray *a = array (r, o, "/arrivals", "mix");
  if (a == NULL)
    return;
  double total = 0;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *pointer = g_strdup_printf ("/arrivals/mix/%u", i);
      JsonObject *m = object (r, json_array_get_element (a, i), pointer, "a mix entry");
      if (m == NULL)
        continue;
      static const char *const mk[] = { "proportion", "sample_type", "usable_hours", "clinical",
                                        "due_hours", "transit_hours", NULL };
      check_members (r, m, pointer, mk);
      StrandFacilityMix e = { 0 };
      gboolean ok = number (r, m, pointer, "proportion", TRUE, 0, 1e9, 0, &e.proportion);
      ok &= number (r, m, pointer, "due_hours", FALSE, 0, MAX_HOURS * 10, 0, &e.due_hours);
      ok &= number (r, m, pointer, "transit_hours", FALSE, 0, MAX_HOURS, 0, &e.transit_hours);
      ok &= number (r, m, pointer, "usable_hours", FALSE, 0, MAX_HOURS * 100, 0,
                    &e.usable_hours);
      const char *clinical = string (r, m, pointer, "clinical", FALSE);
      if (json_object_has_member (m, "clinical") && clinical == NULL)
        ok = FALSE;
      else if (!strand_clinical_class_parse (clinical, &e.clinical))
        {
          complain (r, "unknown-class", pointer, "clinical class '%s' is not stat, urgent or "
                    "routine", clinical);
          ok = FALSE;
        }
      const char *type = string (r, m, pointer, "sample_type", FALSE);
      if (json_object_has_member (m, "sample_type") && type == NULL)
        ok = FALSE;
      if (type && json_object_has_member (m, "usable_hours"))
        {
          complain (r, "conflict", pointer, "give 'sample_type' or 'usable_hours', not both");
          ok = FALSE;
        }
      e.usable_for_us = e.usable_hours > 0 ? (gint64) (e.usable_hours * HOUR_US) : G_MAXINT64;
      if (type && ok)
        {
          if (f->sample_types == NULL)
            {
              g_autoptr (GPtrArray) tp = strand_problems_new ();
              g_autofree char *path = types_path ? beside (dir, types_path) : NULL;
              f->sample_types = path ? strand_sample_types_load (path, tp)
                                     : strand_sample_types_load_default (tp);
              if (f->sample_types == NULL || strand_problems_errors (tp) > 0)
                {
                  complain (r, "sample-types", types_path ? "/sample_types" : pointer,
                            "the sample-types table %s could not be read%s%s",
                            path ? path : "installed with the host", tp->len ? ": " : "",
                            tp->len ? ((StrandProblem *) tp->pdata[0])->message : "");
                  g_clear_pointer (&f->sample_types, strand_sample_types_free);
                  return;
                }
            }
          const StrandSampleType *t = strand_sample_types_lookup (f->sample_types, type);
          if (t == NULL)
            {
              complain (r, "unknown-sample-type", pointer, "the sample-types table has no '%s'",
                        type);
              ok = FALSE;
            }
          else
            e.usable_for_us = strand_sample_type_usable_for_us (t, NAN);
        }
      if (!ok)
        continue;
      e.sample_type = g_strdup (type);
      total += e.proportion;
      g_array_append_val (f->mix, e);
    }
  if (f->mix->len > 0 && total <= 0)
    complain (r, "out-of-range", "/arrivals/mix", "the proportions add up to 0");
  else
    for (guint i = 0; i < f->mix->len; i++)
      g_array_index (f->mix, StrandFacilityMix, i).proportion /= total;
}

/* The inventory inline ("equipment": [...]) or from a file ("equipment": PATH). */
static void
load_equipment (Reader *r, JsonObject *root, StrandFacility *f, const char *dir)
{
  JsonNode *n = json_object_get_member (root, "equipment");
  if (n == NULL)
    {
      complain (r, "missing-field", "", "'equipment' is required (an array, or an inventory's "
                "path)");
      return;
    }
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    {
      g_autofree char *path = beside (dir, json_node_get_string (n));
      f->inventory = strand_inventory_load (path, r->problems);
      return;
    }
  if (!JSON_NODE_HOLDS_ARRAY (n))
    {
      complain (r, "wrong-type", "/equipment", "'equipment' is an array or an inventory's path");
      return;
    }
  /* Read inline equipment with the inventory's own reader, so every rule
   * and message is the same; its pointers name the facility file. */
  g_autoptr (JsonObject) wrapper = json_object_new ();
  json_object_set_member (wrapper, "equipment", json_node_copy (n));
  g_autoptr (JsonNode) wn = json_node_init_object (json_node_alloc (), wrapper);
  gsize len = 0;
  g_autofree char *text = json_to_string (wn, FALSE);
  len = strlen (text);
  f->inventory = strand_inventory_load_data (text, len, r->name, r->problems);
}

static void
check_classes (Reader *r, StrandFacility *f)
{
  if (f->inventory == NULL)
    return;
  for (guint i = 0; i < f->stages->len; i++)
    {
      StrandFacilityStage *s = f->stages->pdata[i];
      gboolean found = FALSE;
      for (guint j = 0; j < f->inventory->items->len && !found; j++)
        found = strcmp (((StrandEquipment *) f->inventory->items->pdata[j])->equipment_class,
                        s->equipment_class) == 0;
      if (!found)
        {
          g_autofree char *pointer = g_strdup_printf ("/stages/%u/class", i);
          complain (r, "unknown-class", pointer, "no equipment of class '%s'", s->equipment_class);
        }
    }
}

StrandFacility *
strand_facility_load_data (const char *data, gsize len, const char *name, GPtrArray *problems)
{
  guint before = strand_problems_errors (problems);
  g_autoptr (JsonParser) parser = strand_json_parse_document (data, len, name, problems);
  if (parser == NULL)
    return NULL;
  g_autoptr (GHashTable) broken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Reader reader = { name, problems, broken }, *r = &reader;
  JsonNode *rn = json_parser_get_root (parser);
  if (rn == NULL || !JSON_NODE_HOLDS_OBJECT (rn))
    {
      complain (r, "wrong-type", "", "a facility is a JSON object");
      return NULL;
    }
  JsonObject *root = json_node_get_object (rn);
  static const char *const known[] = { "$schema", "comment", "name", "start", "days",
                                       "equipment", "sample_types", "stages", "route",
                                       "arrivals", "failures", "priority", NULL };
  check_members (r, root, "", known);

  g_autoptr (StrandFacility) f = g_new0 (StrandFacility, 1);
  f->path = g_strdup (name);
  f->stages = g_ptr_array_new_with_free_func (stage_free);
  f->route = g_array_new (FALSE, FALSE, sizeof (guint));
  f->mix = g_array_new (FALSE, TRUE, sizeof (StrandFacilityMix));
  f->arrival_hours = g_array_new (FALSE, FALSE, sizeof (double));
  g_array_set_clear_func (f->mix, mix_clear);
  g_autofree char *dir = g_path_get_dirname (name);

  const char *fname = string (r, root, "", "name", FALSE);
  f->name = g_strdup (fname ? fname : "facility");
  const char *start = string (r, root, "", "start", FALSE);
  f->start_us = 1799020800LL * G_USEC_PER_SEC; /* 2027-01-04T00:00:00Z, a Monday */
  if (start && !strand_clock_parse_rfc3339 (start, &f->start_us))
    complain (r, "bad-time", "/start", "'%s' is not an RFC 3339 time with a zone", start);
  number (r, root, "", "days", FALSE, 1.0 / 24, 3660, 7, &f->days);
  const char *types_path = string (r, root, "", "sample_types", FALSE);

  load_equipment (r, root, f, dir);
  load_stages (r, root, f);
  load_route (r, root, f);
  load_arrivals (r, root, f, dir, types_path);
  check_classes (r, f);

  strand_priority_config_init (&f->priority);
  JsonNode *pn = json_object_get_member (root, "priority");
  JsonObject *po = pn ? object (r, pn, "/priority", "'priority'") : NULL;
  if (po != NULL)
    {
      static const char *const pk[] = { "critical_margin_hours", "aging_step_hours",
                                         "pressure_window_hours", "slack_horizon_hours", NULL };
      check_members (r, po, "/priority", pk);
      struct {
        const char *key;
        gint64 *field;
      } fields[] = {
        { "critical_margin_hours", &f->priority.critical_margin_us },
        { "aging_step_hours", &f->priority.aging_step_us },
        { "pressure_window_hours", &f->priority.pressure_window_us },
        { "slack_horizon_hours", &f->priority.slack_horizon_us },
      };
      for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
        {
          double hours;
          if (json_object_has_member (po, fields[i].key) &&
              number (r, po, "/priority", fields[i].key, TRUE, 1.0 / 60, MAX_HOURS * 100, 0,
                      &hours))
            *fields[i].field = (gint64) (hours * HOUR_US);
        }
    }

  f->repair_hours = 4;
  JsonNode *fn = json_object_get_member (root, "failures");
  if (fn != NULL)
    {
      JsonObject *fo = object (r, fn, "/failures", "'failures'");
      if (fo != NULL)
        {
          static const char *const fk[] = { "enabled", "repair_hours", NULL };
          check_members (r, fo, "/failures", fk);
          JsonNode *en = json_object_get_member (fo, "enabled");
          if (en && (!JSON_NODE_HOLDS_VALUE (en) ||
                     json_node_get_value_type (en) != G_TYPE_BOOLEAN))
            complain (r, "wrong-type", "/failures", "'enabled' must be true or false");
          f->failures = strand_json_bool (fo, "enabled", FALSE);
          number (r, fo, "/failures", "repair_hours", FALSE, 0, MAX_HOURS, 4, &f->repair_hours);
        }
    }
  if (strand_problems_errors (problems) > before)
    return NULL;
  return g_steal_pointer (&f);
}

StrandFacility *
strand_facility_load (const char *path, GPtrArray *problems)
{
  gsize len = 0;
  g_autofree char *contents = strand_read_user_file (path, &len, problems);
  return contents ? strand_facility_load_data (contents, len, path, problems) : NULL;
}
