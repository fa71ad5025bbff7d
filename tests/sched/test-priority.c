/* Priorities from the queue's side: slack, the critical band, STAT against
 * an expiring sample, infeasible samples flagged at once, aging, and the
 * incremental recalculation checked against the documented rules computed
 * from scratch. Issue 6, part 2. */
#include "priority.h"

#include <glib.h>

#define MIN_US ((gint64) 60 * G_USEC_PER_SEC)
#define HOUR_US (60 * MIN_US)
#define T0 ((gint64) 1799020800 * G_USEC_PER_SEC)
#define NO G_MAXINT64

static StrandPriorityTable *
table_new (void)
{
  StrandPriorityConfig c;
  strand_priority_config_init (&c);
  return strand_priority_table_new (&c, 4);
}

static guint
add (StrandPriorityTable *t, StrandClinicalClass c, gint64 arrived, gint64 usable, gint64 due,
     gint64 work)
{
  guint i = strand_priority_add (t, c, arrived);
  strand_priority_set_deadlines (t, i, usable, work, due, work, work);
  strand_priority_set_queued (t, i, TRUE);
  return i;
}

static GArray *
order (StrandPriorityTable *t)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (guint));
  strand_priority_walk_start (t);
  gint64 i;
  while ((i = strand_priority_walk_next (t)) >= 0)
    {
      guint u = (guint) i;
      g_array_append_val (a, u);
    }
  return a;
}

static void
assert_order (StrandPriorityTable *t, const guint *expected, guint n)
{
  g_autoptr (GArray) got = order (t);
  g_assert_cmpuint (got->len, ==, n);
  for (guint k = 0; k < n; k++)
    g_assert_cmpuint (g_array_index (got, guint, k), ==, expected[k]);
}

/* Two older routine samples with time to spare; a cfDNA tube arrives that
 * must be processed within the hour: it goes first. */
static void
test_expiring_overtakes (void)
{
  g_autoptr (StrandPriorityTable) t = table_new ();
  guint a = add (t, STRAND_CLINICAL_ROUTINE, T0, NO, NO, HOUR_US);
  guint b = add (t, STRAND_CLINICAL_ROUTINE, T0 + MIN_US, T0 + 48 * HOUR_US, NO, HOUR_US);
  strand_priority_recalculate (t, T0 + 2 * HOUR_US);
  guint c = add (t, STRAND_CLINICAL_ROUTINE, T0 + 2 * HOUR_US, T0 + 4 * HOUR_US + 30 * MIN_US, NO, 2 * HOUR_US);
  strand_priority_recalculate (t, T0 + 2 * HOUR_US);
  g_assert_cmpint (strand_priority_rank (t, c), ==, STRAND_RANK_CRITICAL);
  g_assert_cmpint (strand_priority_rank (t, b), ==, STRAND_RANK_ROUTINE_RELAXED); /* 45 h to spare */
  guint expected[] = { c, a, b };
  assert_order (t, expected, 3);
}

/* The documented STAT rule: an expiring sample goes before a STAT sample
 * that can wait; a STAT sample with less slack than the expiring one goes
 * first; with equal slack STAT wins. */
static void
test_stat_against_expiring (void)
{
  g_autoptr (StrandPriorityTable) t = table_new ();
  gint64 now = T0 + 10 * HOUR_US;
  guint stat = add (t, STRAND_CLINICAL_STAT, T0, NO, now + 5 * HOUR_US, HOUR_US);
  guint expiring = add (t, STRAND_CLINICAL_ROUTINE, T0, now + 90 * MIN_US, NO, HOUR_US);
  strand_priority_recalculate (t, now);
  g_assert_cmpint (strand_priority_rank (t, expiring), ==, STRAND_RANK_CRITICAL);
  g_assert_cmpint (strand_priority_rank (t, stat), ==, STRAND_RANK_STAT);
  guint first[] = { expiring, stat };
  assert_order (t, first, 2);

  /* Now the STAT result is due in 80 minutes: 20 minutes of slack against
   * the tube's 30. */
  strand_priority_set_deadlines (t, stat, NO, HOUR_US, now + 80 * MIN_US, HOUR_US, HOUR_US);
  strand_priority_recalculate (t, now);
  g_assert_cmpint (strand_priority_rank (t, stat), ==, STRAND_RANK_CRITICAL);
  guint second[] = { stat, expiring };
  assert_order (t, second, 2);

  /* Equal slack: STAT first, whatever the order they were added in. */
  strand_priority_set_deadlines (t, stat, NO, HOUR_US, now + 90 * MIN_US, HOUR_US, HOUR_US);
  strand_priority_recalculate (t, now);
  assert_order (t, second, 2);
}

/* Equal slack and class: the one that arrived first, then the one added
 * first. */
static void
test_ties (void)
{
  g_autoptr (StrandPriorityTable) t = table_new ();
  gint64 deadline = T0 + 5 * HOUR_US;
  guint late = add (t, STRAND_CLINICAL_URGENT, T0 + MIN_US, deadline, NO, HOUR_US);
  guint early = add (t, STRAND_CLINICAL_URGENT, T0, deadline, NO, HOUR_US);
  guint twin = add (t, STRAND_CLINICAL_URGENT, T0, deadline, NO, HOUR_US);
  strand_priority_recalculate (t, T0 + 2 * HOUR_US);
  guint expected[] = { early, twin, late };
  assert_order (t, expected, 3);
}

/* A sample that cannot make its window is flagged the moment it is known,
 * once, and leaves the queue until someone accepts it late. */
static void
test_infeasible_flagged (void)
{
  g_autoptr (StrandPriorityTable) t = table_new ();
  g_autoptr (GArray) flags = g_array_new (FALSE, FALSE, sizeof (guint));
  guint ok = add (t, STRAND_CLINICAL_ROUTINE, T0, NO, NO, HOUR_US);
  guint doomed = add (t, STRAND_CLINICAL_STAT, T0, T0 + HOUR_US, NO, 2 * HOUR_US);
  strand_priority_recalculate (t, T0);
  g_assert_cmpuint (strand_priority_take_flagged (t, flags), ==, 1);
  g_assert_cmpuint (g_array_index (flags, guint, 0), ==, doomed);
  g_assert_true (strand_priority_is_flagged (t, doomed));
  g_assert_cmpint (strand_priority_rank (t, doomed), ==, STRAND_RANK_INFEASIBLE);
  guint only_ok[] = { ok };
  assert_order (t, only_ok, 1);
  strand_priority_recalculate (t, T0 + HOUR_US);
  g_assert_cmpuint (strand_priority_take_flagged (t, flags), ==, 0); /* once */

  /* A sample that becomes infeasible while it waits is flagged at the
   * recalculation that passes its latest start, which next_change names. */
  guint waits = add (t, STRAND_CLINICAL_ROUTINE, T0 + HOUR_US, T0 + 4 * HOUR_US, NO, HOUR_US);
  strand_priority_recalculate (t, T0 + HOUR_US);
  g_assert_cmpint (strand_priority_rank (t, waits), ==, STRAND_RANK_ROUTINE);
  g_assert_cmpint (strand_priority_next_change_us (t), ==, T0 + 2 * HOUR_US + 1); /* critical */
  strand_priority_recalculate (t, T0 + 2 * HOUR_US + 1);
  g_assert_cmpint (strand_priority_rank (t, waits), ==, STRAND_RANK_CRITICAL);
  g_assert_cmpint (strand_priority_next_change_us (t), ==, T0 + 3 * HOUR_US + 1);
  strand_priority_recalculate (t, T0 + 3 * HOUR_US);
  g_assert_cmpuint (strand_priority_take_flagged (t, flags), ==, 0);
  strand_priority_recalculate (t, T0 + 3 * HOUR_US + 1);
  g_assert_cmpuint (strand_priority_take_flagged (t, flags), ==, 1);
  g_assert_cmpuint (g_array_index (flags, guint, 1), ==, waits);

  /* Running work that already ends past a deadline flags a sample that
   * has nothing ready. */
  guint running = add (t, STRAND_CLINICAL_ROUTINE, T0, NO, T0 + 10 * HOUR_US, 0);
  strand_priority_set_queued (t, running, FALSE);
  strand_priority_set_committed (t, running, G_MININT64, T0 + 11 * HOUR_US);
  strand_priority_recalculate (t, T0 + 4 * HOUR_US);
  g_assert_cmpuint (strand_priority_take_flagged (t, flags), ==, 1);
  g_assert_cmpuint (g_array_index (flags, guint, 2), ==, running);

  /* Accepted late: back in the queue, never flagged again. */
  strand_priority_accept_late (t, doomed);
  strand_priority_recalculate (t, T0 + 5 * HOUR_US);
  g_assert_false (strand_priority_is_flagged (t, doomed));
  g_assert_cmpint (strand_priority_rank (t, doomed), ==, STRAND_RANK_STAT_RELAXED);
  g_assert_cmpuint (strand_priority_take_flagged (t, flags), ==, 0);
  g_assert_cmpuint (strand_priority_queued (t), ==, 2);
}

/* Aging: a routine sample that has waited two aging steps ranks as STAT;
 * a sample without a deadline comes under pressure and then beats newer
 * arrivals however much work they have. */
static void
test_aging (void)
{
  g_autoptr (StrandPriorityTable) t = table_new ();
  guint old = add (t, STRAND_CLINICAL_ROUTINE, T0, NO, NO, HOUR_US);
  strand_priority_recalculate (t, T0);
  g_assert_cmpint (strand_priority_rank (t, old), ==, STRAND_RANK_ROUTINE_RELAXED);
  g_assert_cmpint (strand_priority_next_change_us (t), ==, T0 + 8 * HOUR_US);
  guint urgent = add (t, STRAND_CLINICAL_URGENT, T0 + 9 * HOUR_US, NO, NO, HOUR_US);
  strand_priority_recalculate (t, T0 + 9 * HOUR_US);
  g_assert_cmpint (strand_priority_rank (t, old), ==, STRAND_RANK_URGENT_RELAXED);
  guint tie[] = { urgent, old }; /* same band and ratio: its own class decides */
  assert_order (t, tie, 2);
  guint stat = add (t, STRAND_CLINICAL_STAT, T0 + 17 * HOUR_US, NO, NO, 10 * MIN_US);
  strand_priority_recalculate (t, T0 + 17 * HOUR_US);
  g_assert_cmpint (strand_priority_rank (t, old), ==, STRAND_RANK_STAT_RELAXED);
  g_assert_cmpint (strand_priority_rank (t, urgent), ==, STRAND_RANK_STAT_RELAXED);
  /* All three rank as STAT with the same ratio: their own class decides. */
  guint promoted[] = { stat, urgent, old };
  assert_order (t, promoted, 3);
  /* Under pressure after slack_horizon - pressure_window = 48 h. */
  strand_priority_recalculate (t, T0 + 48 * HOUR_US);
  g_assert_cmpint (strand_priority_rank (t, old), ==, STRAND_RANK_STAT_RELAXED);
  strand_priority_recalculate (t, T0 + 48 * HOUR_US + 1);
  g_assert_cmpint (strand_priority_rank (t, old), ==, STRAND_RANK_STAT);
  guint fresh = add (t, STRAND_CLINICAL_STAT, T0 + 48 * HOUR_US + 1, NO, NO, 50 * HOUR_US);
  strand_priority_recalculate (t, T0 + 48 * HOUR_US + 1);
  guint pressed[] = { old, stat, fresh, urgent };
  assert_order (t, pressed, 4);
}

/* Without deadline pressure: the task that frees the most work per hour of
 * equipment first. */
static void
test_throughput_order (void)
{
  g_autoptr (StrandPriorityTable) t = table_new ();
  guint a = strand_priority_add (t, STRAND_CLINICAL_ROUTINE, T0);
  guint b = strand_priority_add (t, STRAND_CLINICAL_ROUTINE, T0);
  guint c = strand_priority_add (t, STRAND_CLINICAL_ROUTINE, T0);
  /* a: 10 h ahead, next task 5 h (2); b: 6 h ahead, next 1 h (6); c: 3 h, next 1 h (3). */
  strand_priority_set_deadlines (t, a, NO, 10 * HOUR_US, NO, 10 * HOUR_US, 5 * HOUR_US);
  strand_priority_set_deadlines (t, b, NO, 6 * HOUR_US, NO, 6 * HOUR_US, HOUR_US);
  strand_priority_set_deadlines (t, c, NO, 3 * HOUR_US, NO, 3 * HOUR_US, HOUR_US);
  for (guint i = 0; i < 3; i++)
    strand_priority_set_queued (t, i, TRUE);
  strand_priority_recalculate (t, T0);
  guint expected[] = { b, c, a };
  assert_order (t, expected, 3);
}

/* ---- the rules from scratch, against the incremental table ------------------------ */

typedef struct {
  gint64 usable, stab, due, fin, next, stab_by, fin_by, arrived;
  int clinical;
  gboolean queued, late, retired, flagged;
} Ref;

static gint64
sat_sub (gint64 a, gint64 b)
{
  return a == NO ? NO : a - b;
}

/* Rank and key by the rules in priority.h, written plainly. */
static int
ref_rank (const Ref *r, gint64 now, const StrandPriorityConfig *c, gint64 *key)
{
  gint64 L = r->late ? NO : MIN (sat_sub (r->usable, r->stab), sat_sub (r->due, r->fin));
  gboolean doomed = !r->late && (r->stab_by > r->usable || r->fin_by > r->due);
  if (L < now || doomed)
    return STRAND_RANK_INFEASIBLE;
  if (L - now < c->critical_margin_us)
    {
      *key = L;
      return STRAND_RANK_CRITICAL;
    }
  gint64 steps = (now - r->arrived) / c->aging_step_us;
  int cls = MAX (r->clinical - (int) MIN (MAX (steps, 0), 2), 0);
  gint64 capped = MIN (L, r->arrived + c->slack_horizon_us);
  gboolean pressed = capped - now < c->pressure_window_us;
  double ratio = (double) r->fin / (double) MAX (r->next, 1);
  *key = pressed ? capped : -(gint64) MIN (ratio * 1e6, 1e16);
  return 1 + 2 * cls + (pressed ? 0 : 1);
}

typedef struct {
  int rank;
  gint64 key;
  int clinical;
  gint64 arrived;
  guint index;
} RefEntry;

static int
ref_compare (gconstpointer a, gconstpointer b)
{
  const RefEntry *x = a, *y = b;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  if (x->clinical != y->clinical)
    return x->clinical < y->clinical ? -1 : 1;
  if (x->arrived != y->arrived)
    return x->arrived < y->arrived ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

/* The queue's order at `now`; flags what the rules say is infeasible. */
static GArray *
ref_order (Ref *refs, guint n, gint64 now, const StrandPriorityConfig *c, GArray *new_flags)
{
  GArray *entries = g_array_new (FALSE, FALSE, sizeof (RefEntry));
  for (guint i = 0; i < n; i++)
    {
      Ref *r = &refs[i];
      if (r->retired || r->flagged)
        continue;
      gint64 key = 0;
      int rank = ref_rank (r, now, c, &key);
      gboolean doomed = !r->late && (r->stab_by > r->usable || r->fin_by > r->due);
      if ((rank == STRAND_RANK_INFEASIBLE && r->queued) || doomed)
        {
          if (new_flags) /* only the call at the table's own time flags */
            {
              r->flagged = TRUE;
              g_array_append_val (new_flags, i);
            }
          continue;
        }
      if (!r->queued)
        continue;
      RefEntry e = { rank, key, r->clinical, r->arrived, i };
      g_array_append_val (entries, e);
    }
  g_array_sort (entries, ref_compare);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint k = 0; k < entries->len; k++)
    g_array_append_val (out, g_array_index (entries, RefEntry, k).index);
  g_array_unref (entries);
  return out;
}

static void
assert_same (GArray *a, GArray *b, const char *when)
{
  if (a->len != b->len)
    g_error ("%s: %u samples queued, the rules say %u", when, a->len, b->len);
  for (guint k = 0; k < a->len; k++)
    if (g_array_index (a, guint, k) != g_array_index (b, guint, k))
      g_error ("%s: place %u holds sample %u, the rules say %u", when, k, g_array_index (a, guint, k),
               g_array_index (b, guint, k));
}

static void
random_inputs (GRand *rnd, Ref *r, gint64 now)
{
  gint64 work = g_rand_int_range (rnd, 0, 12 * 60) * MIN_US;
  r->fin = work;
  r->stab = g_rand_boolean (rnd) ? work : work / 2;
  r->next = MIN (work, g_rand_int_range (rnd, 1, 5 * 60) * MIN_US);
  int kind = g_rand_int_range (rnd, 0, 4);
  r->usable = kind == 0 ? NO : now + g_rand_int_range (rnd, -2 * 60, 30 * 60) * MIN_US;
  r->due = kind == 1 ? now + g_rand_int_range (rnd, 0, 100 * 60) * MIN_US : NO;
  r->stab_by = G_MININT64;
  r->fin_by = g_rand_int_range (rnd, 0, 40) == 0 ? now + 200 * HOUR_US : G_MININT64;
}

static void
push (StrandPriorityTable *t, guint i, const Ref *r)
{
  strand_priority_set_deadlines (t, i, r->usable, r->stab, r->due, r->fin, r->next);
  strand_priority_set_committed (t, i, r->stab_by, r->fin_by);
  strand_priority_set_queued (t, i, r->queued);
}

/* Hundreds of samples, time moving in random steps, random changes: after
 * every recalculation the table's order and flags are those the rules give
 * from scratch, and until next_change the order does not move. */
static void
test_against_rules (void)
{
  StrandPriorityConfig c;
  strand_priority_config_init (&c);
  g_autoptr (StrandPriorityTable) t = strand_priority_table_new (&c, 8);
  g_autoptr (GRand) rnd = g_rand_new_with_seed (6);
  guint n = 0, cap = 1200;
  g_autofree Ref *refs = g_new0 (Ref, cap);
  g_autoptr (GArray) flags = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GArray) ref_flags = g_array_new (FALSE, FALSE, sizeof (guint));
  gint64 now = T0;
  for (guint round = 0; round < 400; round++)
    {
      now += g_rand_int_range (rnd, 0, 4) == 0 ? 0 : g_rand_int_range (rnd, 1, 3 * 60) * MIN_US;
      guint arrivals = g_rand_int_range (rnd, 0, 4);
      for (guint k = 0; k < arrivals && n < cap; k++)
        {
          Ref *r = &refs[n];
          r->clinical = g_rand_int_range (rnd, 0, 3);
          r->arrived = now - g_rand_int_range (rnd, 0, 60) * MIN_US;
          r->queued = g_rand_int_range (rnd, 0, 5) > 0;
          random_inputs (rnd, r, now);
          guint i = strand_priority_add (t, (StrandClinicalClass) r->clinical, r->arrived);
          g_assert_cmpuint (i, ==, n);
          push (t, i, r);
          n++;
        }
      guint changes = g_rand_int_range (rnd, 0, 6);
      for (guint k = 0; k < changes && n > 0; k++)
        {
          guint i = g_rand_int_range (rnd, 0, (gint32) n);
          Ref *r = &refs[i];
          if (r->retired)
            continue;
          switch (g_rand_int_range (rnd, 0, 5))
            {
            case 0:
              random_inputs (rnd, r, now);
              push (t, i, r);
              break;
            case 1:
              r->queued = !r->queued;
              strand_priority_set_queued (t, i, r->queued);
              break;
            case 2:
              r->clinical = g_rand_int_range (rnd, 0, 3);
              strand_priority_set_clinical (t, i, (StrandClinicalClass) r->clinical);
              break;
            case 3:
              if (r->flagged)
                {
                  r->flagged = FALSE;
                  r->late = TRUE;
                  strand_priority_accept_late (t, i);
                }
              break;
            default:
              r->retired = TRUE;
              r->queued = FALSE;
              strand_priority_retire (t, i);
              break;
            }
        }
      strand_priority_recalculate (t, now);
      g_array_set_size (flags, 0);
      g_array_set_size (ref_flags, 0);
      strand_priority_take_flagged (t, flags);
      g_autoptr (GArray) want = ref_order (refs, n, now, &c, ref_flags);
      g_autoptr (GArray) got = order (t);
      g_autofree char *when = g_strdup_printf ("round %u", round);
      assert_same (got, want, when);
      g_assert_cmpuint (flags->len, ==, ref_flags->len);
      for (guint k = 0; k < flags->len; k++)
        {
          gboolean found = FALSE;
          for (guint j = 0; j < ref_flags->len; j++)
            found |= g_array_index (flags, guint, k) == g_array_index (ref_flags, guint, j);
          g_assert_true (found);
        }
      /* Just before the next change, the rules still give this order. */
      gint64 next = strand_priority_next_change_us (t);
      g_assert_cmpint (next, >, now);
      if (next != NO && next - 1 > now)
        {
          g_autoptr (GArray) later = ref_order (refs, n, next - 1, &c, NULL);
          g_autofree char *when2 = g_strdup_printf ("round %u, just before the next change", round);
          assert_same (got, later, when2);
        }
    }
  g_assert_cmpuint (n, >, 400);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/priority/expiring-overtakes", test_expiring_overtakes);
  g_test_add_func ("/priority/stat-against-expiring", test_stat_against_expiring);
  g_test_add_func ("/priority/ties", test_ties);
  g_test_add_func ("/priority/infeasible-flagged", test_infeasible_flagged);
  g_test_add_func ("/priority/aging", test_aging);
  g_test_add_func ("/priority/throughput-order", test_throughput_order);
  g_test_add_func ("/priority/against-rules", test_against_rules);
  return g_test_run ();
}
