/* When a machine can run a task: operating hours, downtime, due service.
 *
 * Operating hours repeat weekly (equipment.h); each span is taken as
 * instances on concrete days, so a question about one instant looks at the
 * day before (a span may pass midnight) and the day itself. */
#include "scheduler-private.h"

#define MINUTE_US ((gint64) 60 * G_USEC_PER_SEC)
#define DAY_US (24 * 60 * MINUTE_US)
#define WEEK_US (7 * DAY_US)

void
strand_calendar_init (StrandCalendar *c)
{
  c->hours = g_array_new (FALSE, FALSE, sizeof (StrandHours));
  c->downtime = g_array_new (FALSE, FALSE, sizeof (StrandInterval));
  c->due = G_MAXINT64;
}

void
strand_calendar_clear (StrandCalendar *c)
{
  g_clear_pointer (&c->hours, g_array_unref);
  g_clear_pointer (&c->downtime, g_array_unref);
}

static int
compare_start (gconstpointer a, gconstpointer b)
{
  const StrandInterval *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

void
strand_calendar_add_downtime (StrandCalendar *c, gint64 start, gint64 end)
{
  if (end <= start)
    return;
  StrandInterval add = { start, end };
  g_array_append_val (c->downtime, add);
  g_array_sort (c->downtime, compare_start);
  guint out = 0;
  StrandInterval *d = (StrandInterval *) c->downtime->data;
  for (guint i = 0; i < c->downtime->len; i++)
    {
      if (out > 0 && d[i].start <= d[out - 1].end)
        d[out - 1].end = MAX (d[out - 1].end, d[i].end);
      else
        d[out++] = d[i];
    }
  g_array_set_size (c->downtime, out);
}

static gint64
floor_day (gint64 t)
{
  return t >= 0 ? t / DAY_US : -((-t + DAY_US - 1) / DAY_US);
}

/* Monday-based weekday of a day number (day 0, 1970-01-01, was a Thursday). */
static guint
weekday (gint64 day)
{
  return (guint) ((((day + 3) % 7) + 7) % 7);
}

static gboolean
instance (const StrandHours *h, gint64 day, gint64 *start, gint64 *end)
{
  if (!(h->days & (1u << weekday (day))))
    return FALSE;
  gint64 end_min = h->end_min > h->start_min ? h->end_min : h->end_min + 24 * 60;
  *start = day * DAY_US + h->start_min * MINUTE_US;
  *end = day * DAY_US + end_min * MINUTE_US;
  return TRUE;
}

/* The end of the latest span instance containing t, or t if none does. */
static gint64
covered_until (const GArray *hours, gint64 t)
{
  gint64 day = floor_day (t), until = t;
  for (gint64 d = day - 1; d <= day; d++)
    for (guint i = 0; i < hours->len; i++)
      {
        gint64 s, e;
        if (instance (&g_array_index (hours, StrandHours, i), d, &s, &e) && s <= t && t < e)
          until = MAX (until, e);
      }
  return until;
}

/* The end of the operating stretch containing t (t itself when closed);
 * G_MAXINT64 when it runs a whole week without a break. */
static gint64
hours_open_until (const GArray *hours, gint64 t)
{
  if (hours->len == 0)
    return G_MAXINT64;
  gint64 e = t;
  for (;;)
    {
      gint64 next = covered_until (hours, e);
      if (next == e)
        return e;
      e = next;
      if (e - t > WEEK_US + DAY_US)
        return G_MAXINT64;
    }
}

/* The next start of a span instance after t; G_MAXINT64 if none. */
static gint64
hours_next_open (const GArray *hours, gint64 t)
{
  gint64 day = floor_day (t), best = G_MAXINT64;
  for (gint64 d = day - 1; d <= day + 8; d++)
    for (guint i = 0; i < hours->len; i++)
      {
        gint64 s, e;
        if (instance (&g_array_index (hours, StrandHours, i), d, &s, &e) && s > t)
          best = MIN (best, s);
      }
  return best;
}

/* The downtime interval containing t, or the first after it; NULL if none. */
static const StrandInterval *
downtime_at_or_after (const GArray *downtime, gint64 t)
{
  guint lo = 0, hi = downtime->len;
  const StrandInterval *d = (const StrandInterval *) downtime->data;
  while (lo < hi) /* first interval ending after t */
    {
      guint mid = (lo + hi) / 2;
      if (d[mid].end <= t)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo < downtime->len ? &d[lo] : NULL;
}

gboolean
strand_calendar_open (const StrandCalendar *c, gint64 t)
{
  if (t >= c->due)
    return FALSE;
  const StrandInterval *d = downtime_at_or_after (c->downtime, t);
  if (d != NULL && d->start <= t)
    return FALSE;
  return c->hours->len == 0 || covered_until (c->hours, t) > t;
}

gint64
strand_calendar_fit (const StrandCalendar *c, gint64 from, gint64 duration, gint64 horizon)
{
  gint64 s = from;
  if (c->hours->len == 0 && c->downtime->len == 0)
    return duration <= c->due - s ? s : G_MAXINT64;
  for (guint guard = 0; guard < 100000; guard++)
    {
      if (s > horizon || s >= c->due || duration > c->due - s)
        return G_MAXINT64;
      const StrandInterval *d = downtime_at_or_after (c->downtime, s);
      if (d != NULL && d->start <= s)
        {
          s = d->end;
          continue;
        }
      gint64 open_until = hours_open_until (c->hours, s);
      if (open_until == s)
        {
          s = hours_next_open (c->hours, s);
          if (s == G_MAXINT64)
            return G_MAXINT64;
          continue;
        }
      gint64 end = MIN (open_until, c->due);
      if (d != NULL)
        end = MIN (end, d->start);
      if (duration <= end - s)
        return s;
      s = end;
    }
  return G_MAXINT64;
}
