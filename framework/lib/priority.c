#include "priority.h"

#include <string.h>

#define HOUR_US ((gint64) 3600 * G_USEC_PER_SEC)
/* Keys are clipped to this range so that the rank fits above them. */
#define KEY_LIMIT ((gint64) 1 << 57)

enum {
  F_QUEUED = 1 << 0,  /* has a ready task */
  F_FLAGGED = 1 << 1, /* infeasible and reported; out of the queue */
  F_DIRTY = 1 << 2,   /* in the dirty list */
  F_LATE = 1 << 3,    /* accepted late: deadlines dropped */
  F_DOOMED = 1 << 4,  /* running tasks already pass a deadline */
  F_RETIRED = 1 << 5, /* finished or cancelled */
};

struct _StrandPriorityTable {
  StrandPriorityConfig config;
  guint n, capacity;
  /* inputs */
  gint64 *usable_until, *stabilise_work, *due, *finish_work, *next_task;
  gint64 *stabilised_by, *finished_by;
  gint64 *arrived;
  guint8 *clinical;
  guint8 *flags;
  /* derived */
  gint64 *latest;    /* L */
  gint64 *relaxed;   /* rule 5's key: minus work ahead per unit of next task */
  gint64 *primary;   /* rank << 58 | clipped key: the first part of the order */
  guint8 *rank;
  /* the queue: a binary min-heap of sample indices, and each one's place */
  guint *heap;
  gint *place;       /* -1: not in the heap */
  guint heap_len;
  /* bookkeeping */
  GArray *dirty;     /* guint */
  GArray *flagged;   /* guint, not yet taken */
  GArray *changed;   /* guint, scratch of the full pass */
  GArray *walk;      /* guint heap places, a small heap of the walk's frontier */
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
  GROW (relaxed);
  GROW (stabilised_by);
  GROW (finished_by);
  GROW (arrived);
  GROW (clinical);
  GROW (flags);
  GROW (latest);
  GROW (primary);
  GROW (rank);
  GROW (heap);
  GROW (place);
#undef GROW
}

StrandPriorityTable *
strand_priority_table_new (const StrandPriorityConfig *config, guint expected_samples)
{
  StrandPriorityTable *t = g_new0 (StrandPriorityTable, 1);
  if (config != NULL)
    t->config = *config;
  else
    strand_priority_config_init (&t->config);
  grow (t, MAX (expected_samples, 16));
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
  g_free (t->relaxed);
  g_free (t->stabilised_by);
  g_free (t->finished_by);
  g_free (t->arrived);
  g_free (t->clinical);
  g_free (t->flags);
  g_free (t->latest);
  g_free (t->primary);
  g_free (t->rank);
  g_free (t->heap);
  g_free (t->place);
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
  t->relaxed[i] = 0;
  t->stabilised_by[i] = G_MININT64;
  t->finished_by[i] = G_MININT64;
  t->arrived[i] = arrived_us;
  t->clinical[i] = (guint8) MIN (clinical, STRAND_CLINICAL_ROUTINE);
  t->flags[i] = 0;
  t->latest[i] = G_MAXINT64;
  t->primary[i] = G_MAXINT64;
  t->rank[i] = STRAND_RANK_IDLE;
  t->place[i] = -1;
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

/* ---- the order ------------------------------------------------------------------ */

static inline gboolean
before (const StrandPriorityTable *t, guint a, guint b)
{
  if (t->primary[a] != t->primary[b])
    return t->primary[a] < t->primary[b];
  if (t->clinical[a] != t->clinical[b])
    return t->clinical[a] < t->clinical[b];
  if (t->arrived[a] != t->arrived[b])
    return t->arrived[a] < t->arrived[b];
  return a < b;
}

static void
heap_set (StrandPriorityTable *t, guint pos, guint i)
{
  t->heap[pos] = i;
  t->place[i] = (gint) pos;
}

static void
sift_up (StrandPriorityTable *t, guint pos)
{
  guint i = t->heap[pos];
  while (pos > 0)
    {
      guint parent = (pos - 1) / 2;
      if (!before (t, i, t->heap[parent]))
        break;
      heap_set (t, pos, t->heap[parent]);
      pos = parent;
    }
  heap_set (t, pos, i);
}

static void
sift_down (StrandPriorityTable *t, guint pos)
{
  guint i = t->heap[pos];
  for (;;)
    {
      guint l = 2 * pos + 1, r = l + 1, m = pos;
      guint best = i;
      if (l < t->heap_len && before (t, t->heap[l], best))
        m = l, best = t->heap[l];
      if (r < t->heap_len && before (t, t->heap[r], best))
        m = r, best = t->heap[r];
      if (m == pos)
        break;
      heap_set (t, pos, best);
      pos = m;
    }
  heap_set (t, pos, i);
}

static void
heap_insert (StrandPriorityTable *t, guint i)
{
  heap_set (t, t->heap_len++, i);
  sift_up (t, t->heap_len - 1);
}

static void
heap_remove (StrandPriorityTable *t, guint i)
{
  guint pos = (guint) t->place[i];
  t->place[i] = -1;
  guint last = t->heap[--t->heap_len];
  if (pos == t->heap_len)
    return;
  heap_set (t, pos, last);
  sift_up (t, pos);
  sift_down (t, (guint) t->place[last]);
}

static void
heap_fix (StrandPriorityTable *t, guint i)
{
  guint pos = (guint) t->place[i];
  sift_up (t, pos);
  sift_down (t, (guint) t->place[i]);
}

static void
heap_rebuild (StrandPriorityTable *t)
{
  for (guint pos = t->heap_len / 2; pos-- > 0;)
    sift_down (t, pos);
}

/* ---- ranks ---------------------------------------------------------------------- */

static inline gint64
sub_sat (gint64 a, gint64 b)
{
  if (a == G_MAXINT64)
    return G_MAXINT64;
  return b > 0 && a < G_MININT64 + b ? G_MININT64 : a - b;
}

static inline gint64
add_sat (gint64 a, gint64 b)
{
  return a > 0 && b > G_MAXINT64 - a ? G_MAXINT64 : a + b;
}

/* L and the doomed flag from the inputs: what a dirty sample recomputes. */
static void
derive (StrandPriorityTable *t, guint i)
{
  /* Rule 5: work ahead per unit of the next task, larger first. */
  double ratio = (double) t->finish_work[i] / (double) MAX (t->next_task[i], 1);
  t->relaxed[i] = -(gint64) MIN (ratio * 1e6, 1e16);
  if (t->flags[i] & F_LATE)
    {
      t->latest[i] = G_MAXINT64;
      t->flags[i] &= ~F_DOOMED;
      return;
    }
  gint64 a = sub_sat (t->usable_until[i], t->stabilise_work[i]);
  gint64 b = sub_sat (t->due[i], t->finish_work[i]);
  t->latest[i] = MIN (a, b);
  gboolean doomed = t->stabilised_by[i] > t->usable_until[i] || t->finished_by[i] > t->due[i];
  t->flags[i] = doomed ? (t->flags[i] | F_DOOMED) : (t->flags[i] & ~F_DOOMED);
}

/* The rank at `now` and the key within it, from L, the class and the age.
 * Branch-light on purpose: the full pass runs this over every sample. */
static inline guint8
rank_at (const StrandPriorityTable *t, guint i, gint64 now, gint64 *key, gint64 *next)
{
  gint64 L = t->latest[i];
  gint64 margin_end = add_sat (now, t->config.critical_margin_us);
  gint64 waited = now - t->arrived[i];
  gint64 step = t->config.aging_step_us;
  int promotions = waited >= step ? (waited - step >= step ? 2 : 1) : 0;
  int cls = MAX ((int) t->clinical[i] - promotions, 0);
  gint64 capped = MIN (L, add_sat (t->arrived[i], t->config.slack_horizon_us));
  gboolean pressed = capped < add_sat (now, t->config.pressure_window_us);
  guint8 r;
  if (L < now || (t->flags[i] & F_DOOMED))
    r = STRAND_RANK_INFEASIBLE;
  else if (L < margin_end)
    r = STRAND_RANK_CRITICAL;
  else
    r = (guint8) (STRAND_RANK_STAT + 2 * cls + !pressed);
  *key = r == STRAND_RANK_CRITICAL ? L : pressed ? capped : t->relaxed[i];
  /* The next instant this sample's rank can change by time alone. */
  gint64 n = G_MAXINT64;
  if (r == STRAND_RANK_CRITICAL)
    n = L + 1;
  else if (r != STRAND_RANK_INFEASIBLE)
    {
      if (L != G_MAXINT64)
        n = MAX (sub_sat (L, t->config.critical_margin_us) + 1, now + 1);
      if (!pressed && capped != G_MAXINT64)
        n = MIN (n, MAX (sub_sat (capped, t->config.pressure_window_us) + 1, now + 1));
      if (cls > 0)
        n = MIN (n, add_sat (add_sat (t->arrived[i], step), promotions > 0 ? step : 0));
    }
  *next = n;
  return r;
}

static inline gint64
primary_of (guint8 rank, gint64 key)
{
  gint64 k = CLAMP (key, -KEY_LIMIT, KEY_LIMIT - 1) + KEY_LIMIT;
  return ((gint64) rank << 58) | k;
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

/* Puts sample i where its rank says: in the heap, flagged, or idle. */
static void
place_sample (StrandPriorityTable *t, guint i, guint8 r, gint64 key)
{
  gboolean infeasible = r == STRAND_RANK_INFEASIBLE;
  if (infeasible && !(t->flags[i] & (F_FLAGGED | F_RETIRED)))
    flag (t, i);
  if (!competes (t, i) || infeasible)
    {
      gboolean flagged = (t->flags[i] & (F_FLAGGED | F_RETIRED)) == F_FLAGGED;
      t->rank[i] = flagged ? STRAND_RANK_INFEASIBLE : STRAND_RANK_IDLE;
      if (t->place[i] >= 0)
        heap_remove (t, i);
      return;
    }
  t->rank[i] = r;
  t->primary[i] = primary_of (r, key);
  if (t->place[i] >= 0)
    heap_fix (t, i);
  else
    heap_insert (t, i);
}

static void
update_dirty (StrandPriorityTable *t, gint64 now)
{
  for (guint k = 0; k < t->dirty->len; k++)
    {
      guint i = g_array_index (t->dirty, guint, k);
      t->flags[i] &= ~F_DIRTY;
      derive (t, i);
      gint64 key, next;
      guint8 r = rank_at (t, i, now, &key, &next);
      /* A sample without a ready task is flagged only when what is already
       * running passes a deadline; its L says nothing until a task is ready. */
      if (!(t->flags[i] & F_QUEUED) && r == STRAND_RANK_INFEASIBLE && !(t->flags[i] & F_DOOMED))
        r = STRAND_RANK_IDLE;
      place_sample (t, i, r, key);
      if (competes (t, i))
        t->next_change = MIN (t->next_change, next);
    }
  g_array_set_size (t->dirty, 0);
}

/* Every competing sample's rank at `now`: one pass over the arrays, then the
 * few that changed band are moved in the heap. */
static void
full_pass (StrandPriorityTable *t, gint64 now)
{
  gint64 next_change = G_MAXINT64;
  g_array_set_size (t->changed, 0);
  const guint n = t->n;
  for (guint i = 0; i < n; i++)
    {
      if ((t->flags[i] & (F_QUEUED | F_FLAGGED | F_RETIRED)) != F_QUEUED)
        continue;
      gint64 key, next;
      guint8 r = rank_at (t, i, now, &key, &next);
      next_change = MIN (next_change, next);
      if (r != t->rank[i])
        g_array_append_val (t->changed, i);
    }
  guint changed = t->changed->len;
  gboolean rebuild = changed > t->heap_len / 16 + 64;
  for (guint k = 0; k < changed; k++)
    {
      guint i = g_array_index (t->changed, guint, k);
      gint64 key, next;
      guint8 r = rank_at (t, i, now, &key, &next);
      if (rebuild && r != STRAND_RANK_INFEASIBLE)
        {
          t->rank[i] = r;
          t->primary[i] = primary_of (r, key);
        }
      else
        place_sample (t, i, r, key);
    }
  if (rebuild)
    heap_rebuild (t);
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
  return t->latest[i];
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
  return t->heap_len;
}

/* ---- walking the order ---------------------------------------------------------- */

static gboolean
walk_before (const StrandPriorityTable *t, guint pa, guint pb)
{
  return before (t, t->heap[pa], t->heap[pb]);
}

static void
walk_push (StrandPriorityTable *t, guint pos)
{
  g_array_append_val (t->walk, pos);
  guint *w = (guint *) t->walk->data;
  guint k = t->walk->len - 1;
  while (k > 0)
    {
      guint parent = (k - 1) / 2;
      if (!walk_before (t, w[k], w[parent]))
        break;
      guint x = w[k];
      w[k] = w[parent];
      w[parent] = x;
      k = parent;
    }
}

void
strand_priority_walk_start (StrandPriorityTable *t)
{
  g_array_set_size (t->walk, 0);
  if (t->heap_len > 0)
    walk_push (t, 0);
}

gint64
strand_priority_walk_next (StrandPriorityTable *t)
{
  if (t->walk->len == 0)
    return -1;
  guint *w = (guint *) t->walk->data;
  guint top = w[0];
  w[0] = w[t->walk->len - 1];
  g_array_set_size (t->walk, t->walk->len - 1);
  guint n = t->walk->len, k = 0;
  w = (guint *) t->walk->data;
  for (;;)
    {
      guint l = 2 * k + 1, r = l + 1, m = k;
      if (l < n && walk_before (t, w[l], w[m]))
        m = l;
      if (r < n && walk_before (t, w[r], w[m]))
        m = r;
      if (m == k)
        break;
      guint x = w[k];
      w[k] = w[m];
      w[m] = x;
      k = m;
    }
  if (2 * top + 1 < t->heap_len)
    walk_push (t, 2 * top + 1);
  if (2 * top + 2 < t->heap_len)
    walk_push (t, 2 * top + 2);
  return t->heap[top];
}
