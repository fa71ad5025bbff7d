#include "degradation.h"

#include <math.h>
#include <string.h>

#include "json-util.h"

#define HOUR_US ((double) 3600 * G_USEC_PER_SEC)
#define MAX_HOURS 1e6

static void
sample_type_free (gpointer p)
{
  StrandSampleType *t = p;
  g_free (t->id);
  g_free (t->description);
  g_free (t->storage);
  g_free (t->source);
  g_free (t->quality_unit);
  g_free (t->where);
  g_free (t);
}

void
strand_sample_types_free (StrandSampleTypes *types)
{
  if (types == NULL)
    return;
  g_hash_table_unref (types->by_id);
  g_ptr_array_unref (types->types);
  g_free (types);
}

static gboolean
identifier (const char *s)
{
  if (s == NULL || *s == '\0' || strlen (s) > 64 || !(g_ascii_islower (*s) || g_ascii_isdigit (*s)))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
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

typedef struct {
  const char *key;
  StrandDegradationModel model; /* the model it belongs to */
  gsize offset;                 /* in StrandSampleType */
  double min, max;              /* exclusive min, inclusive max */
  gboolean max_exclusive;
} NumberField;

static const NumberField number_fields[] = {
  { "window_hours", STRAND_DEGRADATION_WINDOW, G_STRUCT_OFFSET (StrandSampleType, window_hours), 0, MAX_HOURS, FALSE },
  { "initial_quality", STRAND_DEGRADATION_EXPONENTIAL, G_STRUCT_OFFSET (StrandSampleType, initial_quality), 0, 1e6, FALSE },
  { "threshold", STRAND_DEGRADATION_EXPONENTIAL, G_STRUCT_OFFSET (StrandSampleType, threshold), 0, 1e6, FALSE },
  { "half_life_hours", STRAND_DEGRADATION_EXPONENTIAL, G_STRUCT_OFFSET (StrandSampleType, half_life_hours), 0, MAX_HOURS, FALSE },
  { "shape", STRAND_DEGRADATION_WEIBULL, G_STRUCT_OFFSET (StrandSampleType, shape), 0, 100, FALSE },
  { "scale_hours", STRAND_DEGRADATION_WEIBULL, G_STRUCT_OFFSET (StrandSampleType, scale_hours), 0, MAX_HOURS, FALSE },
  { "min_probability", STRAND_DEGRADATION_WEIBULL, G_STRUCT_OFFSET (StrandSampleType, min_probability), 0, 1, TRUE },
};

static const char *const model_names[] = { "window", "exponential", "weibull" };

/* Reads one entry; NULL (with problems) when it cannot be used. */
static StrandSampleType *
load_entry (JsonNode *node, const char *where, GPtrArray *problems)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      complain (problems, "wrong-type", where, "a sample type must be an object");
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  guint before = strand_problems_errors (problems);
  static const char *const keys[] = { "id", "description", "storage", "source", "model",
                                      "window_hours", "initial_quality", "threshold",
                                      "half_life_hours", "quality_unit", "shape", "scale_hours",
                                      "min_probability", NULL };
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *m = members; m; m = m->next)
    if (!g_strv_contains (keys, m->data))
      complain (problems, "unknown-field", where, "'%s' is not a sample-type field", (char *) m->data);

  static const char *const text_keys[] = { "id", "description", "storage", "source", "model",
                                           "quality_unit" };
  for (guint k = 0; k < G_N_ELEMENTS (text_keys); k++)
    {
      JsonNode *v = json_object_get_member (o, text_keys[k]);
      if (v != NULL && (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING))
        complain (problems, "wrong-type", where, "'%s' must be a string", text_keys[k]);
    }
  const char *id = strand_json_string (o, "id", NULL);
  if (!identifier (id))
    {
      complain (problems, "bad-id", where, "a sample type needs an 'id' of [a-z0-9_-], at most 64 "
                "bytes, starting with a letter or digit");
      return NULL;
    }
  const char *source = strand_json_string (o, "source", NULL);
  if (source == NULL || *source == '\0')
    complain (problems, "missing-field", where, "sample type '%s': 'source' must say where the "
              "figures come from", id);
  const char *model = strand_json_string (o, "model", NULL);
  gint model_index = -1;
  for (guint k = 0; model && k < G_N_ELEMENTS (model_names); k++)
    if (strcmp (model, model_names[k]) == 0)
      model_index = (gint) k;
  if (model_index < 0)
    {
      complain (problems, "bad-model", where, "sample type '%s': 'model' must be window, "
                "exponential or weibull", id);
      return NULL;
    }

  StrandSampleType *t = g_new0 (StrandSampleType, 1);
  t->model = (StrandDegradationModel) model_index;
  for (guint k = 0; k < G_N_ELEMENTS (number_fields); k++)
    {
      const NumberField *f = &number_fields[k];
      JsonNode *v = json_object_get_member (o, f->key);
      if (f->model != t->model)
        {
          if (v != NULL)
            complain (problems, "unknown-field", where, "sample type '%s': '%s' does not belong to "
                      "the %s model", id, f->key, model);
          continue;
        }
      if (v == NULL)
        {
          complain (problems, "missing-field", where, "sample type '%s': the %s model needs '%s'",
                    id, model, f->key);
          continue;
        }
      GType vt = JSON_NODE_HOLDS_VALUE (v) ? json_node_get_value_type (v) : G_TYPE_INVALID;
      if (vt != G_TYPE_INT64 && vt != G_TYPE_DOUBLE)
        {
          complain (problems, "wrong-type", where, "sample type '%s': '%s' must be a number", id,
                    f->key);
          continue;
        }
      double x = vt == G_TYPE_INT64 ? (double) json_node_get_int (v) : json_node_get_double (v);
      if (!isfinite (x) || x <= f->min || x > f->max || (f->max_exclusive && x >= f->max))
        {
          complain (problems, "out-of-range", where, "sample type '%s': '%s' is %g, outside (%g, %g%s",
                    id, f->key, x, f->min, f->max, f->max_exclusive ? ")" : "]");
          continue;
        }
      G_STRUCT_MEMBER (double, t, f->offset) = x;
    }
  if (t->model == STRAND_DEGRADATION_EXPONENTIAL && t->initial_quality > 0 && t->threshold > 0 &&
      t->initial_quality <= t->threshold)
    complain (problems, "out-of-range", where, "sample type '%s': initial_quality %g must be above "
              "the threshold %g", id, t->initial_quality, t->threshold);
  if (strand_problems_errors (problems) > before)
    {
      sample_type_free (t);
      return NULL;
    }
  t->id = g_strdup (id);
  t->description = g_strdup (strand_json_string (o, "description", NULL));
  t->storage = g_strdup (strand_json_string (o, "storage", NULL));
  t->source = g_strdup (source);
  t->quality_unit = g_strdup (strand_json_string (o, "quality_unit", NULL));
  t->where = g_strdup (where);
  return t;
}

StrandSampleTypes *
strand_sample_types_load_data (const char *data, gsize len, const char *name, GPtrArray *problems)
{
  g_autoptr (JsonParser) parser = strand_json_parse_document (data, len, name, problems);
  if (parser == NULL)
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *ro = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *list = ro ? json_object_get_member (ro, "sample_types") : NULL;
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_autofree char *where = g_strdup_printf ("%s#/sample_types", name);
      complain (problems, "missing-field", where, "a sample-types table is an object with a "
                "'sample_types' array");
      return NULL;
    }
  g_autoptr (GList) members = json_object_get_members (ro);
  for (GList *m = members; m; m = m->next)
    if (strcmp (m->data, "sample_types") != 0 && strcmp (m->data, "comment") != 0)
      {
        g_autofree char *where = g_strdup_printf ("%s#/%s", name, (char *) m->data);
        complain (problems, "unknown-field", where, "'%s' is not a field of the table",
                  (char *) m->data);
      }
  StrandSampleTypes *types = g_new0 (StrandSampleTypes, 1);
  types->types = g_ptr_array_new_with_free_func (sample_type_free);
  types->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *a = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      g_autofree char *where = g_strdup_printf ("%s#/sample_types/%u", name, i);
      StrandSampleType *t = load_entry (json_array_get_element (a, i), where, problems);
      if (t == NULL)
        continue;
      StrandSampleType *first = g_hash_table_lookup (types->by_id, t->id);
      if (first != NULL)
        {
          complain (problems, "duplicate-id", where, "sample type '%s' is defined twice (first at %s)",
                    t->id, first->where);
          sample_type_free (t);
          continue;
        }
      g_ptr_array_add (types->types, t);
      g_hash_table_insert (types->by_id, t->id, t);
    }
  return types;
}

StrandSampleTypes *
strand_sample_types_load (const char *path, GPtrArray *problems)
{
  gsize len = 0;
  g_autofree char *contents = strand_read_user_file (path, &len, problems);
  return contents ? strand_sample_types_load_data (contents, len, path, problems) : NULL;
}

StrandSampleTypes *
strand_sample_types_load_default (GPtrArray *problems)
{
  const char *path = g_getenv ("STRAND_SAMPLE_TYPES");
  if (path != NULL && *path != '\0')
    return strand_sample_types_load (path, problems);
  g_autofree char *installed = g_build_filename (STRAND_DATADIR, "sample-types.json", NULL);
  return strand_sample_types_load (installed, problems);
}

const StrandSampleType *
strand_sample_types_lookup (const StrandSampleTypes *types, const char *id)
{
  return types != NULL && id != NULL ? g_hash_table_lookup (types->by_id, id) : NULL;
}

const StrandSampleType *
strand_sample_types_for_sample (const StrandSampleTypes *types, const StrandSample *sample)
{
  if (sample->degradation_class != NULL)
    return strand_sample_types_lookup (types, sample->degradation_class);
  return strand_sample_types_lookup (types, sample->type);
}

/* Hours to microseconds, saturating: a limit beyond a century is "never". */
static gint64
hours_to_us (double hours)
{
  if (!(hours > 0))
    return 0;
  if (hours > MAX_HOURS * 10)
    return G_MAXINT64;
  return (gint64) (hours * HOUR_US);
}

gint64
strand_sample_type_usable_for_us (const StrandSampleType *type, double quality)
{
  switch (type->model)
    {
    case STRAND_DEGRADATION_WINDOW:
      return hours_to_us (type->window_hours);
    case STRAND_DEGRADATION_EXPONENTIAL:
      {
        double q0 = isnan (quality) ? type->initial_quality : quality;
        if (q0 < type->threshold)
          return 0;
        return hours_to_us (type->half_life_hours * log2 (q0 / type->threshold));
      }
    case STRAND_DEGRADATION_WEIBULL:
      return hours_to_us (type->scale_hours * pow (-log (type->min_probability), 1.0 / type->shape));
    default:
      return G_MAXINT64;
    }
}

double
strand_sample_type_value_at (const StrandSampleType *type, double quality, gint64 age_us)
{
  double hours = age_us > 0 ? (double) age_us / HOUR_US : 0;
  switch (type->model)
    {
    case STRAND_DEGRADATION_WINDOW:
      return hours < type->window_hours ? 1 : 0;
    case STRAND_DEGRADATION_EXPONENTIAL:
      return (isnan (quality) ? type->initial_quality : quality) * exp2 (-hours / type->half_life_hours);
    case STRAND_DEGRADATION_WEIBULL:
      return exp (-pow (hours / type->scale_hours, type->shape));
    default:
      return 1;
    }
}

gint64
strand_sample_usable_until (const StrandSampleTypes *types, const StrandSample *sample)
{
  const StrandSampleType *type = strand_sample_types_for_sample (types, sample);
  if (type == NULL || sample->collected_us == 0)
    return G_MAXINT64;
  gint64 span = strand_sample_type_usable_for_us (type, sample->quality);
  if (span == G_MAXINT64 || span > G_MAXINT64 - sample->collected_us)
    return G_MAXINT64;
  return sample->collected_us + span;
}

void
strand_sample_types_check (const StrandSampleTypes *types, GPtrArray *samples, GPtrArray *problems)
{
  for (guint i = 0; i < samples->len; i++)
    {
      const StrandSample *s = samples->pdata[i];
      const char *where = s->where ? s->where : s->id;
      if (s->degradation_class != NULL && strand_sample_types_lookup (types, s->degradation_class) == NULL)
        {
          strand_problems_add (problems, FALSE, "unknown-sample-type", where,
                               "sample '%s': degradation_class '%s' is not in the sample-types table",
                               s->id, s->degradation_class);
          continue;
        }
      if (strand_sample_types_for_sample (types, s) != NULL && s->collected_us == 0)
        strand_problems_add (problems, TRUE, "no-collection-time", where,
                             "sample '%s' has a degradation model but no 'collected' time to count "
                             "its stability from", s->id);
    }
}
