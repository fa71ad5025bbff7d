#include "priority.h"

#include <string.h>

#define HOUR_US ((gint64) 3600 * G_USEC_PER_SEC)
/* Times and settings are clamped into +-2^60, so that a time plus a
 * setting never overflows; TIME_LIMIT stands for "never". */
#define TIME_LIMIT ((gint64) 1 << 60)
#define N_BANDS (STRAND_RANK_ROUTINE_RELAXED + 1)
#define NO_BAND 0xff

enum {
  F_QUEUED = 1 << 0,  /* has a ready task */
  F_FLAGGED = 1 << 1, /* infeasible and reported; out of the queue */
  F_DIRTY = 1 << 2,   /* in the dirty list */
  F_LATE = 1 << 3,    /* accepted late: deadlines dropped */
  F_DOOMED = 1 << 4,  /* running tasks already pass a deadline */
  F_RETIRED = 1 << 5, /* finished or cancelled */
};

/* One entry of a band's queue: the sample's order keys, copied so that
 * comparing two entries reads nothing else. When a sample changes band or
 * key a new entry is pushed and the old one goes stale (its version no
 * longer matches); stale entries are skipped and swept out in bulk, so a
 * change costs a push, which is O(1) on average, not a sift through the
 * heap. */
typedef struct {
  gint64 key;     /* within the band */
  gint64 arrived;
  guint32 index;
  guint32 version;
  guint8 clinical;
} Entry;

struct _StrandPriorityTable {
  StrandPriorityConfig config; /* clamped */
  guint n, capacity;
  /* inputs */
  gint64 *usable_until, *stabilise_work, *due, *finish_work, *next_task;
  gint64 *stabilised_by, *finished_by;
  gint64 *arrived;
  guint8 *clinical;
  guint8 *flags;
  /* derived */
  gint64 *latest;    /* L, clamped; TIME_LIMIT: no deadline */
  gint64 *relaxed;   /* rule 5's key: minus work ahead per unit of next task */
  gint64 *next_at;   /* the next instant its rank changes by time alone; G_MAXINT64:
                      * never, or it is not in the queue */
  guint8 *rank;
  guint8 *band_of;   /* the band holding its live entry, NO_BAND: none */
  guint32 *version;
  /* the queue: one binary min-heap of entries per band */
  GArray *bands[N_BANDS];
  guint live[N_BANDS];
  /* bookkeeping */
  GArray *dirty;     /* guint */
  GArray *flagged;   /* guint, not yet taken */
  GArray *changed;   /* guint, scratch of the full pass */
  GArray *walk;      /* guint heap places, a small heap of the walk's frontier */
  guint walk_band;
  gboolean walk_fresh;
  gint64 now;
  gint64 next_change;
};

void
strand_priority_config_init (StrandPriorityConfig *config)
{
  config->critical_margin_us = HOUR_US;
  config->aging_step_us = 8 * HOUR_US;
  config->pressure_window_us = 24 * HOUR_US;
  config->slack_horizon_us = 72 * HOUR_US;
}

gboolean
strand_clinical_class_parse (const char *text, StrandClinicalClass *out)
{
  if (text == NULL || strcmp (text, "routine") == 0)
    *out = STRAND_CLINICAL_ROUTINE;
  else if (strcmp (text, "urgent") == 0)
    *out = STRAND_CLINICAL_URGENT;
  else if (strcmp (text, "stat") == 0)
    *out = STRAND_CLINICAL_STAT;
  else
    return FALSE;
  return TRUE;
}

const char *
strand_clinical_class_name (StrandClinicalClass c)
{
  static const char *const names[] = { "stat", "urgent", "routine" };
  return c <= STRAND_CLINICAL_ROUTINE ? names[c] : "routine";
}

static void
grow (StrandPriorityTable *t, guint capacity)
{
  t->capacity = capacity;
#define GROW(field) t->field = g_renew (__typeof__ (*t->field), t->field, capacity)
  GROW (usable_until);
  GROW (stabilise_work);
  GROW (due);
  GROW (finish_work);
  GROW (next_task);
  GROW (stabilised_by);
  GROW (finished_by);
  GROW (arrived);
  GROW (clinical);
  GROW (flags);
  GROW (latest);
  GROW (relaxed);
  GROW (next_at);
  GROW (rank);
  GROW (band_of);
  GROW (version);
#undef GROW
}

static gint64
clamp_time (gint64 t)
{
  return CLAMP (t, -TIME_LIMIT, TIME_LIMIT);
}

StrandPriorityTable *
strand_priority_table_new (const StrandPriorityConfig *config, guint expected_samples)
{
  StrandPriorityTable *t = g_new0 (StrandPriorityTable, 1);
  if (config != NULL)
    t->config = *config;
  else
    strand_priority_config_init (&t->config);
  t->config.critical_margin_us = CLAMP (t->config.critical_margin_us, 0, TIME_LIMIT);
  t->config.aging_step_us = CLAMP (t->config.aging_step_us, 1, TIME_LIMIT);
  t->config.pressure_window_us = CLAMP (t->config.pressure_window_us, 0, TIME_LIMIT);
  t->config.slack_horizon_us = CLAMP (t->config.slack_horizon_us, 0, TIME_LIMIT);
  grow (t, MAX (expected_samples, 16));
  for (guint b = 0; b < N_BANDS; b++)
    t->bands[b] = g_array_new (FALSE, FALSE, sizeof (Entry));
  t->dirty = g_array_new (FALSE, FALSE, sizeof (guint));
  t->flagged = g_array_new (FALSE, FALSE, sizeof (guint));
  t->changed = g_array_new (FALSE, FALSE, sizeof (guint));
  t->walk = g_array_new (FALSE, FALSE, sizeof (guint));
  t->now = G_MININT64;
  t->next_change = G_MININT64;
  return t;
}

void
strand_priority_table_free (StrandPriorityTable *t)
{
  if (t == NULL)
    return;
  g_free (t->usable_until);
  g_free (t->stabilise_work);
  g_free (t->due);
  g_free (t->finish_work);
  g_free (t->next_task);
  g_free (t->stabilised_by);
  g_free (t->finished_by);
  g_free (t->arrived);
  g_free (t->clinical);
  g_free (t->flags);
  g_free (t->latest);
  g_free (t->relaxed);
  g_free (t->next_at);
  g_free (t->rank);
  g_free (t->band_of);
  g_free (t->version);
  for (guint b = 0; b < N_BANDS; b++)
    g_array_unref (t->bands[b]);
  g_array_unref (t->dirty);
  g_array_unref (t->flagged);
  g_array_unref (t->changed);
  g_array_unref (t->walk);
  g_free (t);
}

static void
mark_dirty (StrandPriorityTable *t, guint i)
{
  if (!(t->flags[i] & F_DIRTY))
    {
      t->flags[i] |= F_DIRTY;
      g_array_append_val (t->dirty, i);
    }
}

guint
strand_priority_add (StrandPriorityTable *t, StrandClinicalClass clinical, gint64 arrived_us)
{
  if (t->n == t->capacity)
    grow (t, t->capacity * 2);
  guint i = t->n++;
  t->usable_until[i] = G_MAXINT64;
  t->stabilise_work[i] = 0;
  t->due[i] = G_MAXINT64;
  t->finish_work[i] = 0;
  t->next_task[i] = 0;
  t->stabilised_by[i] = G_MININT64;
  t->finished_by[i] = G_MININT64;
  t->arrived[i] = clamp_time (arrived_us);
  t->clinical[i] = (guint8) MIN (clinical, STRAND_CLINICAL_ROUTINE);
  t->flags[i] = 0;
  t->latest[i] = TIME_LIMIT;
  t->relaxed[i] = 0;
  t->next_at[i] = G_MAXINT64;
  t->rank[i] = STRAND_RANK_IDLE;
  t->band_of[i] = NO_BAND;
  t->version[i] = 0;
  mark_dirty (t, i);
  return i;
}

guint
strand_priority_count (const StrandPriorityTable *t)
{
  return t->n;
}

void
strand_priority_set_deadlines (StrandPriorityTable *t, guint i, gint64 usable_until_us,
                               gint64 work_to_stabilise_us, gint64 due_us, gint64 work_to_finish_us,
                               gint64 next_task_us)
{
  g_return_if_fail (i < t->n);
  t->next_task[i] = MAX (next_task_us, 0);
  t->usable_until[i] = usable_until_us;
  t->stabilise_work[i] = MAX (work_to_stabilise_us, 0);
  t->due[i] = due_us;
  t->finish_work[i] = MAX (work_to_finish_us, 0);
  mark_dirty (t, i);
}

void
strand_priority_set_committed (StrandPriorityTable *t, guint i, gint64 stabilised_by_us,
                               gint64 finished_by_us)
{
  g_return_if_fail (i < t->n);
  t->stabilised_by[i] = stabilised_by_us;
  t->finished_by[i] = finished_by_us;
  mark_dirty (t, i);
}

void
strand_priority_set_clinical (StrandPriorityTable *t, guint i, StrandClinicalClass clinical)
{
  g_return_if_fail (i < t->n);
  t->clinical[i] = (guint8) MIN (clinical, STRAND_CLINICAL_ROUTINE);
  mark_dirty (t, i);
}

void
strand_priority_set_queued (StrandPriorityTable *t, guint i, gboolean queued)
{
  g_return_if_fail (i < t->n);
  if (!!(t->flags[i] & F_QUEUED) == !!queued)
    return;
  t->flags[i] = queued ? (t->flags[i] | F_QUEUED) : (t->flags[i] & ~F_QUEUED);
  mark_dirty (t, i);
}

void
strand_priority_accept_late (StrandPriorityTable *t, guint i)
{
  g_return_if_fail (i < t->n);
  t->flags[i] = (t->flags[i] | F_LATE) & ~F_FLAGGED;
  mark_dirty (t, i);
}

void
strand_priority_retire (StrandPriorityTable *t, guint i)
{
  g_return_if_fail (i < t->n);
  t->flags[i] = (t->flags[i] | F_RETIRED) & ~F_QUEUED;
  mark_dirty (t, i);
}

/* ---- the bands' queues ----------------------------------------------------------- */

static inline gboolean
entry_before (const Entry *a, const Entry *b)
{
  if (a->key != b->key)
    return a->key < b->key;
  if (a->clinical != b->clinical)
    return a->clinical < b->clinical;
  if (a->arrived != b->arrived)
    return a->arrived < b->arrived;
  return a->index < b->index;
}

static void
heap_sift_down (Entry *h, guint n, guint pos)
{
  Entry e = h[pos];
  for (;;)
    {
      guint l = 2 * pos + 1, r = l + 1, m = pos;
      const Entry *best = &e;
      if (l < n && entry_before (&h[l], best))
        m = l, best = &h[l];
      if (r < n && entry_before (&h[r], best))
        m = r;
      if (m == pos)
        break;
      h[pos] = h[m];
      pos = m;
    }
  h[pos] = e;
}

static void
heap_push (GArray *heap, const Entry *e)
{
  g_array_append_val (heap, *e);
  Entry *h = (Entry *) heap->data;
  guint pos = heap->len - 1;
  while (pos > 0)
    {
      guint parent = (pos - 1) / 2;
      if (!entry_before (e, &h[parent]))
        break;
      h[pos] = h[parent];
      pos = parent;
    }
  h[pos] = *e;
}

static void
heap_pop (GArray *heap)
{
  Entry *h = (Entry *) heap->data;
  h[0] = h[heap->len - 1];
  g_array_set_size (heap, heap->len - 1);
  if (heap->len > 1)
    heap_sift_down ((Entry *) heap->data, heap->len, 0);
}

static inline gboolean
entry_live (const StrandPriorityTable *t, guint band, const Entry *e)
{
  return t->band_of[e->index] == band && t->version[e->index] == e->version;
}

static void
band_put (StrandPriorityTable *t, guint i, guint8 band, gint64 key)
{
  if (t->band_of[i] != NO_BAND)
    t->live[t->band_of[i]]--;
  Entry e = { key, t->arrived[i], i, ++t->version[i], t->clinical[i] };
  heap_push (t->bands[band], &e);
  t->band_of[i] = band;
  t->live[band]++;
}

static void
band_drop (StrandPriorityTable *t, guint i)
{
  if (t->band_of[i] == NO_BAND)
    return;
  t->live[t->band_of[i]]--;
  t->band_of[i] = NO_BAND;
  t->version[i]++;
}

/* Stale entries go: from the tops always (a walk then starts on a live
 * entry), from the whole heap once they outnumber the live ones. */
static void
sweep (StrandPriorityTable *t)
{
  for (guint b = 0; b < N_BANDS; b++)
    {
      GArray *heap = t->bands[b];
      if (heap->len > 2 * t->live[b] + 1024)
        {
          Entry *h = (Entry *) heap->data;
          guint out = 0;
          for (guint k = 0; k < heap->len; k++)
            if (entry_live (t, b, &h[k]))
              h[out++] = h[k];
          g_array_set_size (heap, out);
          h = (Entry *) heap->data;
          for (guint pos = out / 2; pos-- > 0;)
            heap_sift_down (h, out, pos);
        }
      while (heap->len > 0 && !entry_live (t, b, &g_array_index (heap, Entry, 0)))
        heap_pop (heap);
    }
}

/* ---- ranks ---------------------------------------------------------------------- */

static inline gint64
sub_sat (gint64 a, gint64 b)
{
  if (a == G_MAXINT64)
    return G_MAXINT64;
  return b > 0 && a < G_MININT64 + b ? G_MININT64 : a - b;
}

/* L, the doomed flag and rule 5's key from the inputs: what a dirty
 * sample recomputes. */
static void
derive (StrandPriorityTable *t, guint i)
{
  double ratio = (double) t->finish_work[i] / (double) MAX (t->next_task[i], 1);
  t->relaxed[i] = -(gint64) MIN (ratio * 1e6, 1e16);
  if (t->flags[i] & F_LATE)
    {
      t->latest[i] = TIME_LIMIT;
      t->flags[i] &= ~F_DOOMED;
      return;
    }
  gint64 a = sub_sat (t->usable_until[i], t->stabilise_work[i]);
  gint64 b = sub_sat (t->due[i], t->finish_work[i]);
  t->latest[i] = clamp_time (MIN (a, b));
  gboolean doomed = t->stabilised_by[i] > t->usable_until[i] || t->finished_by[i] > t->due[i];
  t->flags[i] = doomed ? (t->flags[i] | F_DOOMED) : (t->flags[i] & ~F_DOOMED);
}

/* The rank at `now` and the next instant it can change by time alone.
 * Every quantity is clamped, so there is no overflow to guard against. */
static inline guint8
rank_now (const StrandPriorityTable *t, guint i, gint64 now, gint64 *next)
{
  const gint64 L = t->latest[i], a = t->arrived[i];
  const gint64 margin = t->config.critical_margin_us, step = t->config.aging_step_us;
  const gint64 window = t->config.pressure_window_us, horizon = t->config.slack_horizon_us;
  const int clinical = t->clinical[i];
  const gboolean doomed = (t->flags[i] & F_DOOMED) != 0;
  const gint64 waited = now - a;
  const int promotions = (waited >= step) + (waited >= 2 * step);
  const int cls = clinical > promotions ? clinical - promotions : 0;
  const gint64 capped = L < a + horizon ? L : a + horizon;
  const int pressed = capped < now + window;
  guint8 r = (L < now || doomed) ? STRAND_RANK_INFEASIBLE
             : (L < now + margin) ? STRAND_RANK_CRITICAL
                                  : (guint8) (STRAND_RANK_STAT + 2 * cls + !pressed);
  gint64 n = G_MAXINT64, c;
  const gboolean has_L = L < TIME_LIMIT, has_cap = capped < TIME_LIMIT;
  c = L - margin + 1;
  n = has_L && c > now && c < n ? c : n;
  c = L + 1;
  n = has_L && c > now && c < n ? c : n;
  c = capped - window + 1;
  n = has_cap && c > now && c < n ? c : n;
  c = a + step;
  n = clinical > 0 && c > now && c < n ? c : n;
  c = a + 2 * step;
  n = clinical > 1 && c > now && c < n ? c : n;
  *next = n;
  return r;
}

static gint64
key_in (const StrandPriorityTable *t, guint i, guint8 rank)
{
  gint64 L = t->latest[i];
  if (rank == STRAND_RANK_CRITICAL)
    return L;
  if ((rank - STRAND_RANK_STAT) % 2 == 0) /* pressed */
    return MIN (L, t->arrived[i] + t->config.slack_horizon_us);
  return t->relaxed[i];
}

static gboolean
competes (const StrandPriorityTable *t, guint i)
{
  return (t->flags[i] & (F_QUEUED | F_FLAGGED | F_RETIRED)) == F_QUEUED;
}

static void
flag (StrandPriorityTable *t, guint i)
{
  t->flags[i] |= F_FLAGGED;
  g_array_append_val (t->flagged, i);
}

/* Puts sample i where its rank says: in a band, flagged, or idle; `next`
 * is when that rank changes by time alone. */
static void
place_sample (StrandPriorityTable *t, guint i, guint8 r, gint64 next)
{
  gboolean infeasible = r == STRAND_RANK_INFEASIBLE;
  if (infeasible && !(t->flags[i] & (F_FLAGGED | F_RETIRED)))
    flag (t, i);
  if (!competes (t, i) || infeasible)
    {
      gboolean flagged = (t->flags[i] & (F_FLAGGED | F_RETIRED)) == F_FLAGGED;
      t->rank[i] = flagged ? STRAND_RANK_INFEASIBLE : STRAND_RANK_IDLE;
      t->next_at[i] = G_MAXINT64;
      band_drop (t, i);
      return;
    }
  t->rank[i] = r;
  t->next_at[i] = next;
  band_put (t, i, r, key_in (t, i, r));
}

static void
update_dirty (StrandPriorityTable *t, gint64 now)
{
  for (guint k = 0; k < t->dirty->len; k++)
    {
      guint i = g_array_index (t->dirty, guint, k);
      t->flags[i] &= ~F_DIRTY;
      derive (t, i);
      gint64 next;
      guint8 r = rank_now (t, i, now, &next);
      /* A sample without a ready task is flagged only when what is already
       * running passes a deadline; its L says nothing until a task is ready. */
      if (!(t->flags[i] & F_QUEUED) && r == STRAND_RANK_INFEASIBLE && !(t->flags[i] & F_DOOMED))
        r = STRAND_RANK_IDLE;
      place_sample (t, i, r, next);
      t->next_change = MIN (t->next_change, t->next_at[i]);
    }
  g_array_set_size (t->dirty, 0);
}

/* A time shift: one pass over one array finds the samples whose rank
 * time has changed and the next instant any will; only those are
 * recomputed and get a new entry. */
static void
full_pass (StrandPriorityTable *t, gint64 now)
{
  gint64 next_change = G_MAXINT64;
  g_array_set_size (t->changed, 0);
  const guint n = t->n;
  const gint64 *next_at = t->next_at;
  for (guint i = 0; i < n; i++)
    {
      gint64 x = next_at[i];
      if (G_UNLIKELY (x <= now))
        g_array_append_val (t->changed, i);
      else
        next_change = x < next_change ? x : next_change;
    }
  for (guint k = 0; k < t->changed->len; k++)
    {
      guint i = g_array_index (t->changed, guint, k);
      gint64 next;
      guint8 r = rank_now (t, i, now, &next);
      if (r == t->rank[i])
        t->next_at[i] = next; /* same band, same key: the entry stands */
      else
        place_sample (t, i, r, next);
      next_change = MIN (next_change, t->next_at[i]);
    }
  t->next_change = next_change;
}

void
strand_priority_recalculate (StrandPriorityTable *t, gint64 now)
{
  if (now < t->now)
    now = t->now; /* time never goes back; a late caller sees the order as it is */
  t->now = now;
  if (now >= t->next_change)
    {
      t->next_change = G_MAXINT64;
      update_dirty (t, now);
      full_pass (t, now);
    }
  else
    update_dirty (t, now);
  sweep (t);
}

gint64
strand_priority_next_change_us (const StrandPriorityTable *t)
{
  return t->dirty->len > 0 ? t->now : t->next_change;
}

guint
strand_priority_take_flagged (StrandPriorityTable *t, GArray *samples)
{
  guint n = t->flagged->len;
  if (n > 0)
    g_array_append_vals (samples, t->flagged->data, n);
  g_array_set_size (t->flagged, 0);
  return n;
}

StrandRank
strand_priority_rank (const StrandPriorityTable *t, guint i)
{
  g_return_val_if_fail (i < t->n, STRAND_RANK_IDLE);
  return (StrandRank) t->rank[i];
}

gint64
strand_priority_latest_start_us (const StrandPriorityTable *t, guint i)
{
  g_return_val_if_fail (i < t->n, G_MAXINT64);
  return t->latest[i] >= TIME_LIMIT ? G_MAXINT64 : t->latest[i];
}

gboolean
strand_priority_is_flagged (const StrandPriorityTable *t, guint i)
{
  g_return_val_if_fail (i < t->n, FALSE);
  return (t->flags[i] & F_FLAGGED) != 0;
}

guint
strand_priority_queued (const StrandPriorityTable *t)
{
  guint n = 0;
  for (guint b = 0; b < N_BANDS; b++)
    n += t->live[b];
  return n;
}

/* ---- walking the order ------------------------------------------------------------ */

static void
walk_push (StrandPriorityTable *t, guint pos)
{
  const Entry *h = (const Entry *) t->bands[t->walk_band]->data;
  g_array_append_val (t->walk, pos);
  guint *w = (guint *) t->walk->data;
  guint k = t->walk->len - 1;
  while (k > 0)
    {
      guint parent = (k - 1) / 2;
      if (!entry_before (&h[w[k]], &h[w[parent]]))
        break;
      guint x = w[k];
      w[k] = w[parent];
      w[parent] = x;
      k = parent;
    }
}

static guint
walk_pop (StrandPriorityTable *t)
{
  const Entry *h = (const Entry *) t->bands[t->walk_band]->data;
  guint *w = (guint *) t->walk->data;
  guint top = w[0];
  w[0] = w[t->walk->len - 1];
  g_array_set_size (t->walk, t->walk->len - 1);
  guint n = t->walk->len, k = 0;
  w = (guint *) t->walk->data;
  for (;;)
    {
      guint l = 2 * k + 1, r = l + 1, m = k;
      if (l < n && entry_before (&h[w[l]], &h[w[m]]))
        m = l;
      if (r < n && entry_before (&h[w[r]], &h[w[m]]))
        m = r;
      if (m == k)
        break;
      guint x = w[k];
      w[k] = w[m];
      w[m] = x;
      k = m;
    }
  return top;
}

void
strand_priority_walk_start (StrandPriorityTable *t)
{
  g_array_set_size (t->walk, 0);
  t->walk_band = 0;
  t->walk_fresh = TRUE;
}

gint64
strand_priority_walk_next (StrandPriorityTable *t)
{
  for (;;)
    {
      if (t->walk->len == 0)
        {
          if (!t->walk_fresh)
            t->walk_band++;
          t->walk_fresh = FALSE;
          while (t->walk_band < N_BANDS && t->bands[t->walk_band]->len == 0)
            t->walk_band++;
          if (t->walk_band >= N_BANDS)
            return -1;
          walk_push (t, 0);
        }
      guint pos = walk_pop (t);
      GArray *heap = t->bands[t->walk_band];
      if (2 * pos + 1 < heap->len)
        walk_push (t, 2 * pos + 1);
      if (2 * pos + 2 < heap->len)
        walk_push (t, 2 * pos + 2);
      const Entry *e = &g_array_index (heap, Entry, pos);
      if (entry_live (t, t->walk_band, e))
        return e->index;
    }
}
