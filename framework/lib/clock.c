#include "clock.h"

#include <string.h>

/* Everything below is guarded by `lock`: an executor thread may schedule an
 * event while the host's loop waits in strand_clock_run_next(). Callbacks
 * run with the lock released, so they may schedule and cancel events. */
static GMutex lock;
static GCond wakeup;

static StrandClockMode clock_mode = STRAND_CLOCK_REAL;
static gint64 virtual_now_us;    /* virtual and discrete: the time */
static gint64 virtual_origin_us; /* where virtual time started (its monotonic zero) */
static gint64 real_origin_us;    /* accelerated: real monotonic time at the start */
static double speed = 1.0;       /* accelerated: virtual seconds per real second */

typedef struct {
  gint64 due_us;
  guint64 id;
  StrandClockFunc func;
  gpointer user_data;
} Event;

static GArray *events;      /* Event, a binary min-heap by (due_us, id) */
static GHashTable *pending; /* guint64 ids scheduled and neither run nor cancelled */
static guint64 next_id = 1;

static gboolean
event_before (const Event *a, const Event *b)
{
  return a->due_us < b->due_us || (a->due_us == b->due_us && a->id < b->id);
}

static void
ensure_queue (void)
{
  if (events == NULL)
    {
      events = g_array_new (FALSE, FALSE, sizeof (Event));
      pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
    }
}

static void
heap_push (const Event *e)
{
  g_array_append_val (events, *e);
  Event *h = (Event *) events->data;
  guint i = events->len - 1;
  while (i > 0)
    {
      guint parent = (i - 1) / 2;
      if (!event_before (&h[i], &h[parent]))
        break;
      Event t = h[i];
      h[i] = h[parent];
      h[parent] = t;
      i = parent;
    }
}

static Event
heap_pop (void)
{
  Event *h = (Event *) events->data;
  Event top = h[0];
  h[0] = h[events->len - 1];
  g_array_set_size (events, events->len - 1);
  guint n = events->len, i = 0;
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = i;
      if (l < n && event_before (&h[l], &h[m]))
        m = l;
      if (r < n && event_before (&h[r], &h[m]))
        m = r;
      if (m == i)
        break;
      Event t = h[i];
      h[i] = h[m];
      h[m] = t;
      i = m;
    }
  return top;
}

/* The earliest live event, cancelled ones dropped on the way; NULL if none. */
static const Event *
heap_top (void)
{
  ensure_queue ();
  while (events->len > 0)
    {
      const Event *top = &g_array_index (events, Event, 0);
      if (g_hash_table_contains (pending, &top->id))
        return top;
      heap_pop ();
    }
  return NULL;
}

static void
reset_queue (void)
{
  ensure_queue ();
  g_array_set_size (events, 0);
  g_hash_table_remove_all (pending);
}

static gint64
now_locked (void)
{
  switch (clock_mode)
    {
    case STRAND_CLOCK_VIRTUAL:
    case STRAND_CLOCK_DISCRETE:
      return virtual_now_us;
    case STRAND_CLOCK_ACCELERATED:
      return virtual_origin_us +
             (gint64) ((double) (g_get_monotonic_time () - real_origin_us) * speed);
    case STRAND_CLOCK_REAL:
    default:
      return g_get_real_time ();
    }
}

gint64
strand_clock_now_us (void)
{
  g_mutex_lock (&lock);
  gint64 now = now_locked ();
  g_mutex_unlock (&lock);
  return now;
}

gint64
strand_clock_monotonic_us (void)
{
  g_mutex_lock (&lock);
  gint64 t = clock_mode == STRAND_CLOCK_REAL ? g_get_monotonic_time ()
                                             : now_locked () - virtual_origin_us;
  g_mutex_unlock (&lock);
  return t;
}

gint64
strand_clock_real_monotonic_us (void)
{
  return g_get_monotonic_time ();
}

static void
switch_mode (StrandClockMode mode, gint64 start_us, double factor)
{
  g_mutex_lock (&lock);
  clock_mode = mode;
  virtual_now_us = start_us;
  virtual_origin_us = start_us;
  real_origin_us = g_get_monotonic_time ();
  speed = factor;
  reset_queue ();
  g_cond_broadcast (&wakeup);
  g_mutex_unlock (&lock);
}

void
strand_clock_use_virtual (gint64 start_us)
{
  switch_mode (STRAND_CLOCK_VIRTUAL, start_us, 1.0);
}

void
strand_clock_use_accelerated (gint64 start_us, double factor)
{
  g_return_if_fail (factor > 0);
  switch_mode (STRAND_CLOCK_ACCELERATED, start_us, factor);
}

void
strand_clock_use_discrete (gint64 start_us)
{
  switch_mode (STRAND_CLOCK_DISCRETE, start_us, 1.0);
}

void
strand_clock_use_real (void)
{
  switch_mode (STRAND_CLOCK_REAL, 0, 1.0);
}

StrandClockMode
strand_clock_mode (void)
{
  g_mutex_lock (&lock);
  StrandClockMode mode = clock_mode;
  g_mutex_unlock (&lock);
  return mode;
}

/* Pops the top event (which must be live) and runs it without the lock. */
static void
run_top_unlocked (void)
{
  Event e = heap_pop ();
  g_hash_table_remove (pending, &e.id);
  g_mutex_unlock (&lock);
  e.func (e.due_us, e.user_data);
  g_mutex_lock (&lock);
}

void
strand_clock_advance_us (gint64 delta_us)
{
  g_return_if_fail (delta_us >= 0);
  g_mutex_lock (&lock);
  if (clock_mode != STRAND_CLOCK_VIRTUAL && clock_mode != STRAND_CLOCK_DISCRETE)
    {
      g_mutex_unlock (&lock);
      g_return_if_fail (clock_mode == STRAND_CLOCK_VIRTUAL || clock_mode == STRAND_CLOCK_DISCRETE);
      return;
    }
  gint64 target = delta_us > G_MAXINT64 - virtual_now_us ? G_MAXINT64 : virtual_now_us + delta_us;
  const Event *top;
  while ((top = heap_top ()) != NULL && top->due_us <= target)
    {
      virtual_now_us = MAX (virtual_now_us, top->due_us);
      run_top_unlocked ();
    }
  virtual_now_us = MAX (virtual_now_us, target);
  g_mutex_unlock (&lock);
}

guint64
strand_clock_schedule (gint64 due_us, StrandClockFunc func, gpointer user_data)
{
  g_return_val_if_fail (func != NULL, 0);
  g_mutex_lock (&lock);
  ensure_queue ();
  Event e = { .due_us = due_us, .id = next_id++, .func = func, .user_data = user_data };
  heap_push (&e);
  g_hash_table_add (pending, g_memdup2 (&e.id, sizeof e.id));
  g_cond_broadcast (&wakeup);
  g_mutex_unlock (&lock);
  return e.id;
}

gboolean
strand_clock_cancel (guint64 id)
{
  g_mutex_lock (&lock);
  ensure_queue ();
  gboolean found = g_hash_table_remove (pending, &id);
  g_mutex_unlock (&lock);
  return found;
}

gint64
strand_clock_next_event_us (void)
{
  g_mutex_lock (&lock);
  const Event *top = heap_top ();
  gint64 due = top ? top->due_us : G_MAXINT64;
  g_mutex_unlock (&lock);
  return due;
}

guint
strand_clock_pending (void)
{
  g_mutex_lock (&lock);
  ensure_queue ();
  guint n = g_hash_table_size (pending);
  g_mutex_unlock (&lock);
  return n;
}

/* Real and accelerated time: sleeps until wall (or virtual) time `due_us`
 * or until someone schedules an event. */
static void
sleep_until_locked (gint64 due_us)
{
  gint64 now = now_locked ();
  if (due_us <= now)
    return;
  double real_wait = (double) (due_us - now);
  if (clock_mode == STRAND_CLOCK_ACCELERATED)
    real_wait /= speed;
  gint64 wait = real_wait > (double) G_MAXINT64 / 2 ? G_MAXINT64 / 2 : (gint64) real_wait + 1;
  g_cond_wait_until (&wakeup, &lock, g_get_monotonic_time () + wait);
}

gboolean
strand_clock_run_next (gint64 until_us)
{
  g_mutex_lock (&lock);
  for (;;)
    {
      const Event *top = heap_top ();
      gint64 now = now_locked ();
      if (top == NULL || top->due_us > until_us)
        {
          gboolean waits = clock_mode == STRAND_CLOCK_REAL || clock_mode == STRAND_CLOCK_ACCELERATED;
          if (waits && until_us != G_MAXINT64 && until_us > now)
            {
              sleep_until_locked (top ? MIN (top->due_us, until_us) : until_us);
              continue;
            }
          if (clock_mode == STRAND_CLOCK_DISCRETE && until_us != G_MAXINT64 && until_us > now)
            virtual_now_us = until_us;
          g_mutex_unlock (&lock);
          return FALSE;
        }
      if (top->due_us > now)
        {
          if (clock_mode == STRAND_CLOCK_VIRTUAL)
            {
              g_mutex_unlock (&lock);
              return FALSE;
            }
          if (clock_mode == STRAND_CLOCK_DISCRETE)
            virtual_now_us = top->due_us;
          else
            {
              sleep_until_locked (top->due_us);
              continue;
            }
        }
      break;
    }
  /* Run the event and its companions due at the same time, in order. */
  gint64 due = heap_top ()->due_us;
  const Event *top;
  while ((top = heap_top ()) != NULL && top->due_us == due)
    run_top_unlocked ();
  g_mutex_unlock (&lock);
  return TRUE;
}

guint
strand_clock_run_until (gint64 until_us)
{
  guint ran = 0;
  while (strand_clock_run_next (until_us))
    ran++;
  return ran;
}

char *
strand_clock_format_rfc3339 (gint64 wall_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (wall_us / G_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup ("invalid-time");
  g_autofree char *base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%06dZ", base, (int) (wall_us % G_USEC_PER_SEC));
}

gboolean
strand_clock_parse_rfc3339 (const char *text, gint64 *wall_us)
{
  if (text == NULL || strlen (text) < 20 || text[10] != 'T')
    return FALSE;
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);
  if (dt == NULL)
    return FALSE;
  *wall_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}
