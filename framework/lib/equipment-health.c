/* Usage counters, service dates and failure estimates of one machine, as the
 * inventory states them and the monitor updates them. */
#include "equipment-health.h"

#include <math.h>
#include <string.h>

#include "clock.h"
#include "json-util.h"

#define HOUR_US ((gint64) 3600 * G_USEC_PER_SEC)
#define DAY_US (24 * HOUR_US)

static void
counter_clear (gpointer p)
{
  g_free (((StrandUsageCounter *) p)->name);
}

StrandHealth *
strand_health_new (void)
{
  StrandHealth *h = g_new0 (StrandHealth, 1);
  h->last_service_us = G_MININT64;
  h->counters = g_array_new (FALSE, TRUE, sizeof (StrandUsageCounter));
  g_array_set_clear_func (h->counters, counter_clear);
  return h;
}

void
strand_health_free (StrandHealth *health)
{
  if (health == NULL)
    return;
  g_array_unref (health->counters);
  g_free (health);
}

static int
compare_counters (gconstpointer a, gconstpointer b)
{
  return strcmp (((const StrandUsageCounter *) a)->name, ((const StrandUsageCounter *) b)->name);
}

StrandUsageCounter *
strand_health_counter (StrandHealth *health, const char *name)
{
  for (guint i = 0; i < health->counters->len; i++)
    {
      StrandUsageCounter *c = &g_array_index (health->counters, StrandUsageCounter, i);
      if (strcmp (c->name, name) == 0)
        return c;
    }
  return NULL;
}

static const StrandUsageCounter *
counter_const (const StrandHealth *health, const char *name)
{
  return strand_health_counter ((StrandHealth *) health, name);
}

void
strand_health_count (StrandHealth *health, const char *name, double amount)
{
  StrandUsageCounter *c = strand_health_counter (health, name);
  if (c == NULL)
    {
      StrandUsageCounter fresh = { g_strdup (name), 0, 0 };
      g_array_append_val (health->counters, fresh);
      g_array_sort (health->counters, compare_counters);
      c = strand_health_counter (health, name);
    }
  c->count += amount;
}

void
strand_health_serviced (StrandHealth *health, gint64 when_us)
{
  for (guint i = 0; i < health->counters->len; i++)
    g_array_index (health->counters, StrandUsageCounter, i).count = 0;
  health->last_service_us = when_us;
}

/* ---- loading ---------------------------------------------------------------------- */

typedef enum { NUMBER_ABSENT, NUMBER_BAD, NUMBER_OK } NumberStatus;

/* A finite number in [min, max] (`min_open`: strictly above min). */
static NumberStatus
number_member (JsonObject *o, const char *key, double min, gboolean min_open, double max,
               double *out)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    return NUMBER_ABSENT;
  if (!JSON_NODE_HOLDS_VALUE (n))
    return NUMBER_BAD;
  GType t = json_node_get_value_type (n);
  double v;
  if (t == G_TYPE_INT64)
    v = (double) json_node_get_int (n);
  else if (t == G_TYPE_DOUBLE)
    v = json_node_get_double (n);
  else
    return NUMBER_BAD;
  if (!isfinite (v) || v < min || (min_open && v == min) || v > max)
    return NUMBER_BAD;
  *out = v;
  return NUMBER_OK;
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

static void
check_members (JsonObject *o, const char *const *keys, const char *where, const char *what,
               GPtrArray *problems)
{
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *m = members; m; m = m->next)
    if (!g_strv_contains (keys, m->data))
      strand_problems_add (problems, FALSE, "unknown-field", where, "'%s' is not a %s field",
                           (char *) m->data, what);
}

static void
load_service (StrandHealth *h, JsonNode *node, const char *where, const char *id,
              GPtrArray *problems)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      strand_problems_add (problems, FALSE, "wrong-type", where,
                           "equipment '%s': 'service' must be an object", id);
      return;
    }
  JsonObject *o = json_node_get_object (node);
  static const char *const keys[] = { "last", "every_days", "counters", NULL };
  check_members (o, keys, where, "service", problems);

  JsonNode *last = json_object_get_member (o, "last");
  if (last != NULL)
    {
      const char *text = JSON_NODE_HOLDS_VALUE (last) && json_node_get_value_type (last) == G_TYPE_STRING
                             ? json_node_get_string (last) : NULL;
      gint64 t;
      g_autofree char *w = g_strdup_printf ("%s/last", where);
      if (text == NULL || !strand_clock_parse_rfc3339 (text, &t))
        strand_problems_add (problems, FALSE, "bad-time", w,
                             "equipment '%s': the last service is an RFC 3339 time with a zone", id);
      else
        h->last_service_us = t;
    }
  double days = 0;
  g_autofree char *dw = g_strdup_printf ("%s/every_days", where);
  switch (number_member (o, "every_days", 0, TRUE, 36500, &days))
    {
    case NUMBER_BAD:
      strand_problems_add (problems, FALSE, "out-of-range", dw,
                           "equipment '%s': 'every_days' is a number of days above 0, at most 36500", id);
      break;
    case NUMBER_OK:
      h->service_interval_us = (gint64) llround (days * (double) DAY_US);
      if (h->last_service_us == G_MININT64)
        strand_problems_add (problems, FALSE, "missing-field", dw,
                             "equipment '%s': a service interval needs the date of the last "
                             "service ('last')", id);
      break;
    case NUMBER_ABSENT:
      break;
    }

  JsonNode *counters = json_object_get_member (o, "counters");
  if (counters == NULL)
    return;
  g_autofree char *cw = g_strdup_printf ("%s/counters", where);
  if (!JSON_NODE_HOLDS_OBJECT (counters))
    {
      strand_problems_add (problems, FALSE, "wrong-type", cw,
                           "equipment '%s': 'counters' is an object of NAME: {\"count\", \"due\"}", id);
      return;
    }
  JsonObject *co = json_node_get_object (counters);
  g_autoptr (GList) names = json_object_get_members (co);
  for (GList *m = names; m; m = m->next)
    {
      const char *name = m->data;
      g_autofree char *w = g_strdup_printf ("%s/%s", cw, name);
      JsonNode *c = json_object_get_member (co, name);
      if (!counter_name_ok (name))
        {
          strand_problems_add (problems, FALSE, "bad-counter", w,
                               "equipment '%s': a counter name is [a-z0-9_-], at most 64 bytes", id);
          continue;
        }
      if (!JSON_NODE_HOLDS_OBJECT (c))
        {
          strand_problems_add (problems, FALSE, "wrong-type", w,
                               "equipment '%s': counter '%s' is {\"count\": N, \"due\": N}", id, name);
          continue;
        }
      JsonObject *cobj = json_node_get_object (c);
      static const char *const ckeys[] = { "count", "due", NULL };
      check_members (cobj, ckeys, w, "counter", problems);
      double count = 0, due = 0;
      gboolean ok = TRUE;
      if (number_member (cobj, "count", 0, FALSE, 1e15, &count) == NUMBER_BAD)
        {
          strand_problems_add (problems, FALSE, "out-of-range", w,
                               "equipment '%s': counter '%s': 'count' is a number from 0", id, name);
          ok = FALSE;
        }
      if (number_member (cobj, "due", 0, TRUE, 1e15, &due) == NUMBER_BAD)
        {
          strand_problems_add (problems, FALSE, "out-of-range", w,
                               "equipment '%s': counter '%s': 'due' is a number above 0", id, name);
          ok = FALSE;
        }
      if (!ok)
        continue;
      strand_health_count (h, name, count);
      strand_health_counter (h, name)->due = due;
    }
}

static void
load_reliability (StrandHealth *h, JsonNode *node, const char *where, const char *id,
                  GPtrArray *problems)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *model = strand_json_string (o, "model", NULL);
  if (o == NULL || model == NULL ||
      (strcmp (model, "rate") != 0 && strcmp (model, "weibull") != 0))
    {
      strand_problems_add (problems, FALSE, "bad-reliability", where,
                           "equipment '%s': 'reliability' is {\"model\": \"rate\", \"failures\", "
                           "\"hours\"} or {\"model\": \"weibull\", \"shape\", \"scale_hours\"}", id);
      return;
    }
  if (strcmp (model, "rate") == 0)
    {
      static const char *const keys[] = { "model", "failures", "hours", NULL };
      check_members (o, keys, where, "rate model", problems);
      double failures = 0, hours = 0;
      if (number_member (o, "failures", 0, FALSE, 1e9, &failures) != NUMBER_OK ||
          failures != floor (failures) ||
          number_member (o, "hours", 0, TRUE, 1e12, &hours) != NUMBER_OK)
        {
          strand_problems_add (problems, FALSE, "bad-reliability", where,
                               "equipment '%s': the rate model needs 'failures' (a whole number "
                               "from 0) observed over 'hours' of operation (above 0)", id);
          return;
        }
      h->model = STRAND_RELIABILITY_RATE;
      h->prior_failures = failures;
      h->prior_hours = hours;
      return;
    }
  static const char *const keys[] = { "model", "shape", "scale_hours", NULL };
  check_members (o, keys, where, "Weibull model", problems);
  double shape = 0, scale = 0;
  if (number_member (o, "shape", 0, TRUE, 100, &shape) != NUMBER_OK ||
      number_member (o, "scale_hours", 0, TRUE, 1e12, &scale) != NUMBER_OK)
    {
      strand_problems_add (problems, FALSE, "bad-reliability", where,
                           "equipment '%s': the Weibull model needs 'shape' (above 0, at most "
                           "100) and 'scale_hours' (above 0)", id);
      return;
    }
  h->model = STRAND_RELIABILITY_WEIBULL;
  h->weibull_shape = shape;
  h->weibull_scale_hours = scale;
}

StrandHealth *
strand_health_load (JsonObject *object, const char *where, const char *id, GPtrArray *problems)
{
  StrandHealth *h = strand_health_new ();
  JsonNode *service = json_object_get_member (object, "service");
  if (service != NULL)
    {
      g_autofree char *w = g_strdup_printf ("%s/service", where);
      load_service (h, service, w, id, problems);
    }
  JsonNode *reliability = json_object_get_member (object, "reliability");
  if (reliability != NULL)
    {
      g_autofree char *w = g_strdup_printf ("%s/reliability", where);
      load_reliability (h, reliability, w, id, problems);
    }
  return h;
}

/* ---- questions ---------------------------------------------------------------------- */

static gboolean
calendar_due (const StrandHealth *h, gint64 *at)
{
  if (h->service_interval_us <= 0 || h->last_service_us == G_MININT64)
    return FALSE;
  *at = h->last_service_us + h->service_interval_us;
  return TRUE;
}

void
strand_health_due (const StrandHealth *h, gint64 now_us, StrandDue *due)
{
  *due = (StrandDue) { FALSE, NULL, 0, G_MAXINT64 };
  double worst = -1; /* the largest fraction of its interval used */
  for (guint i = 0; i < h->counters->len; i++)
    {
      const StrandUsageCounter *c = &g_array_index (h->counters, StrandUsageCounter, i);
      if (c->due <= 0)
        continue;
      double used = c->count / c->due;
      if (used >= 1)
        due->due_now = TRUE;
      if (used > worst)
        {
          worst = used;
          due->reason = c->name;
          due->remaining = MAX (0, c->due - c->count);
        }
      if (strcmp (c->name, STRAND_COUNTER_HOURS) == 0)
        due->earliest_us = MIN (due->earliest_us,
                                now_us + (gint64) ceil (MAX (0, c->due - c->count) * (double) HOUR_US));
    }
  gint64 at;
  if (calendar_due (h, &at))
    {
      double used = (double) (now_us - h->last_service_us) / (double) h->service_interval_us;
      if (at <= now_us)
        due->due_now = TRUE;
      if (used > worst)
        {
          due->reason = "calendar";
          due->remaining = MAX (0, (double) (at - now_us) / (double) HOUR_US);
        }
      due->earliest_us = MIN (due->earliest_us, at);
    }
}

gboolean
strand_health_failure_rate (const StrandHealth *h, double *per_hour)
{
  *per_hour = 0;
  double failures = h->observed_failures, hours = h->observed_hours;
  if (h->model == STRAND_RELIABILITY_RATE)
    {
      failures += h->prior_failures;
      hours += h->prior_hours;
    }
  if (hours <= 0)
    return FALSE;
  *per_hour = failures / hours;
  return TRUE;
}

/* Hours of age since the last service, for the Weibull hazard. */
static double
age_hours (const StrandHealth *h, gint64 now_us)
{
  const StrandUsageCounter *c = counter_const (h, STRAND_COUNTER_HOURS);
  if (c != NULL)
    return c->count;
  if (h->last_service_us != G_MININT64 && now_us > h->last_service_us)
    return (double) (now_us - h->last_service_us) / (double) HOUR_US;
  return 0;
}

gboolean
strand_health_failure_probability (const StrandHealth *h, gint64 now_us, gint64 duration_us,
                                   double *probability)
{
  *probability = 0;
  double d = (double) MAX (0, duration_us) / (double) HOUR_US;
  if (h->model == STRAND_RELIABILITY_WEIBULL)
    {
      double a = age_hours (h, now_us), k = h->weibull_shape, eta = h->weibull_scale_hours;
      /* P(T <= a + d | T > a) = 1 - S(a + d) / S(a), S(t) = exp(-(t/eta)^k). */
      *probability = -expm1 (pow (a / eta, k) - pow ((a + d) / eta, k));
      return TRUE;
    }
  double rate;
  if (!strand_health_failure_rate (h, &rate))
    return FALSE;
  *probability = -expm1 (-rate * d);
  return TRUE;
}

gboolean
strand_health_accepts (const StrandHealth *h, gint64 now_us, gint64 duration_us, guint runs,
                       double max_failure_probability, char **why)
{
  double task_hours = (double) MAX (0, duration_us) / (double) HOUR_US;
  char *reason = NULL;
  for (guint i = 0; i < h->counters->len && reason == NULL; i++)
    {
      const StrandUsageCounter *c = &g_array_index (h->counters, StrandUsageCounter, i);
      if (c->due <= 0)
        continue;
      if (c->count >= c->due)
        reason = g_strdup_printf ("service is due: '%s' is at %g of %g", c->name, c->count, c->due);
      else if (strcmp (c->name, STRAND_COUNTER_RUNS) == 0 && c->count + runs > c->due)
        reason = g_strdup_printf ("'%s' would pass its service threshold: %g + %u > %g", c->name,
                                  c->count, runs, c->due);
      else if (strcmp (c->name, STRAND_COUNTER_HOURS) == 0 && c->count + task_hours > c->due)
        reason = g_strdup_printf ("'%s' would pass its service threshold: %g h left before %g, "
                                  "the task needs %g h", c->name, c->due - c->count, c->due,
                                  task_hours);
    }
  gint64 at;
  if (reason == NULL && calendar_due (h, &at) && at < now_us + MAX (0, duration_us))
    {
      g_autofree char *when = strand_clock_format_rfc3339 (at);
      reason = at <= now_us ? g_strdup_printf ("service was due at %s", when)
                            : g_strdup_printf ("service is due at %s, before the task would end", when);
    }
  double p;
  if (reason == NULL && max_failure_probability < 1 &&
      strand_health_failure_probability (h, now_us, duration_us, &p) && p > max_failure_probability)
    reason = g_strdup_printf ("failure probability over the task's %g h is %.3g, above %.3g",
                              task_hours, p, max_failure_probability);
  if (reason == NULL)
    return TRUE;
  if (why != NULL)
    *why = reason;
  else
    g_free (reason);
  return FALSE;
}

JsonNode *
strand_health_to_json (const StrandHealth *h, gint64 now_us)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "last_service");
  if (h->last_service_us != G_MININT64)
    {
      g_autofree char *t = strand_clock_format_rfc3339 (h->last_service_us);
      json_builder_add_string_value (b, t);
    }
  else
    json_builder_add_null_value (b);
  if (h->service_interval_us > 0)
    {
      json_builder_set_member_name (b, "service_every_days");
      json_builder_add_double_value (b, (double) h->service_interval_us / (double) DAY_US);
    }
  json_builder_set_member_name (b, "counters");
  json_builder_begin_object (b);
  for (guint i = 0; i < h->counters->len; i++)
    {
      const StrandUsageCounter *c = &g_array_index (h->counters, StrandUsageCounter, i);
      json_builder_set_member_name (b, c->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "count");
      json_builder_add_double_value (b, c->count);
      if (c->due > 0)
        {
          json_builder_set_member_name (b, "due");
          json_builder_add_double_value (b, c->due);
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  StrandDue due;
  strand_health_due (h, now_us, &due);
  json_builder_set_member_name (b, "due");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "now");
  json_builder_add_boolean_value (b, due.due_now);
  json_builder_set_member_name (b, "reason");
  if (due.reason)
    json_builder_add_string_value (b, due.reason);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "remaining");
  json_builder_add_double_value (b, due.remaining);
  json_builder_set_member_name (b, "earliest");
  if (due.earliest_us != G_MAXINT64)
    {
      g_autofree char *t = strand_clock_format_rfc3339 (due.earliest_us);
      json_builder_add_string_value (b, t);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);

  static const char *const models[] = { "none", "rate", "weibull" };
  json_builder_set_member_name (b, "reliability");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, models[h->model]);
  json_builder_set_member_name (b, "observed_failures");
  json_builder_add_int_value (b, h->observed_failures);
  json_builder_set_member_name (b, "observed_hours");
  json_builder_add_double_value (b, h->observed_hours);
  double rate, p;
  json_builder_set_member_name (b, "failures_per_hour");
  if (h->model != STRAND_RELIABILITY_WEIBULL && strand_health_failure_rate (h, &rate))
    json_builder_add_double_value (b, rate);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "failure_probability_24h");
  if (strand_health_failure_probability (h, now_us, 24 * HOUR_US, &p))
    json_builder_add_double_value (b, p);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
