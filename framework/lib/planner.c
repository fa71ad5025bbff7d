#include "planner.h"

#include <string.h>

#include "clock.h"

G_DEFINE_QUARK (strand-planner-error-quark, strand_planner_error)

#define NONE G_MAXUINT

typedef struct {
  guint op;
  guint machine;
  gint64 duration;
} Option;

typedef struct {
  guint before;
  guint after;
} Arc;

struct _StrandPlannerProblem {
  guint n_machines;
  GArray *release;       /* gint64 per operation */
  GArray *options;       /* Option */
  GArray *arcs;          /* Arc */
  gint64 *machine_ready; /* per machine */
};

StrandPlannerProblem *
strand_planner_problem_new (guint n_machines)
{
  StrandPlannerProblem *p = g_new0 (StrandPlannerProblem, 1);
  p->n_machines = n_machines;
  p->release = g_array_new (FALSE, FALSE, sizeof (gint64));
  p->options = g_array_new (FALSE, FALSE, sizeof (Option));
  p->arcs = g_array_new (FALSE, FALSE, sizeof (Arc));
  p->machine_ready = g_new0 (gint64, MAX (n_machines, 1));
  return p;
}

void
strand_planner_problem_free (StrandPlannerProblem *p)
{
  if (p == NULL)
    return;
  g_array_unref (p->release);
  g_array_unref (p->options);
  g_array_unref (p->arcs);
  g_free (p->machine_ready);
  g_free (p);
}

guint
strand_planner_problem_add_op (StrandPlannerProblem *p, gint64 release)
{
  g_array_append_val (p->release, release);
  return p->release->len - 1;
}

void
strand_planner_problem_add_option (StrandPlannerProblem *p, guint op, guint machine, gint64 duration)
{
  g_return_if_fail (op < p->release->len && machine < p->n_machines && duration >= 0);
  Option o = { op, machine, duration };
  g_array_append_val (p->options, o);
}

void
strand_planner_problem_add_precedence (StrandPlannerProblem *p, guint before, guint after)
{
  g_return_if_fail (before < p->release->len && after < p->release->len);
  Arc a = { before, after };
  g_array_append_val (p->arcs, a);
}

void
strand_planner_problem_set_machine_ready (StrandPlannerProblem *p, guint machine, gint64 time)
{
  g_return_if_fail (machine < p->n_machines);
  p->machine_ready[machine] = time;
}

guint
strand_planner_problem_op_count (const StrandPlannerProblem *p)
{
  return p->release->len;
}

guint
strand_planner_problem_machine_count (const StrandPlannerProblem *p)
{
  return p->n_machines;
}

StrandSchedule *
strand_schedule_new (guint n_ops)
{
  StrandSchedule *plan = g_new0 (StrandSchedule, 1);
  plan->n_ops = n_ops;
  plan->machine = g_new0 (guint, MAX (n_ops, 1));
  plan->start = g_new0 (gint64, MAX (n_ops, 1));
  return plan;
}

void
strand_schedule_free (StrandSchedule *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->machine);
  g_free (plan->start);
  g_free (plan);
}

/* ---- the problem in compact form ------------------------------------------------ */

typedef struct {
  guint n, M;
  const gint64 *release;
  const gint64 *machine_ready;
  guint *opt_start;  /* n + 1: options of op x are [opt_start[x], opt_start[x + 1]) */
  guint *opt_machine;
  gint64 *opt_duration;
  guint *pred_start, *pred; /* CSR */
  guint *succ_start, *succ;
  guint *topo;              /* a topological order of the precedences */
  guint *on_machine;        /* per machine: operations that may run on it */
  gint64 *min_duration;
} Shape;

static void
shape_free (Shape *s)
{
  if (s == NULL)
    return;
  g_free (s->opt_start);
  g_free (s->opt_machine);
  g_free (s->opt_duration);
  g_free (s->pred_start);
  g_free (s->pred);
  g_free (s->succ_start);
  g_free (s->succ);
  g_free (s->topo);
  g_free (s->on_machine);
  g_free (s->min_duration);
  g_free (s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Shape, shape_free)

static void
csr (guint n, const GArray *arcs, gboolean by_after, guint **start_out, guint **items_out)
{
  guint *start = g_new0 (guint, n + 1);
  guint *items = g_new (guint, MAX (arcs->len, 1));
  for (guint k = 0; k < arcs->len; k++)
    {
      const Arc *a = &g_array_index (arcs, Arc, k);
      start[(by_after ? a->after : a->before) + 1]++;
    }
  for (guint x = 0; x < n; x++)
    start[x + 1] += start[x];
  g_autofree guint *fill = g_memdup2 (start, sizeof (guint) * (n + 1));
  for (guint k = 0; k < arcs->len; k++)
    {
      const Arc *a = &g_array_index (arcs, Arc, k);
      guint key = by_after ? a->after : a->before;
      items[fill[key]++] = by_after ? a->before : a->after;
    }
  *start_out = start;
  *items_out = items;
}

static Shape *
compile (const StrandPlannerProblem *p, GError **error)
{
  g_autoptr (Shape) s = g_new0 (Shape, 1);
  guint n = s->n = p->release->len;
  s->M = p->n_machines;
  s->release = (const gint64 *) p->release->data;
  s->machine_ready = p->machine_ready;
  s->opt_start = g_new0 (guint, n + 1);
  for (guint k = 0; k < p->options->len; k++)
    s->opt_start[g_array_index (p->options, Option, k).op + 1]++;
  for (guint x = 0; x < n; x++)
    s->opt_start[x + 1] += s->opt_start[x];
  s->opt_machine = g_new (guint, MAX (p->options->len, 1));
  s->opt_duration = g_new (gint64, MAX (p->options->len, 1));
  g_autofree guint *fill = g_memdup2 (s->opt_start, sizeof (guint) * (n + 1));
  for (guint k = 0; k < p->options->len; k++)
    {
      const Option *o = &g_array_index (p->options, Option, k);
      s->opt_machine[fill[o->op]] = o->machine;
      s->opt_duration[fill[o->op]++] = o->duration;
    }
  /* A machine given twice for one operation: only the shorter stays. */
  guint out = 0;
  for (guint x = 0; x < n; x++)
    {
      guint first = out;
      for (guint k = s->opt_start[x]; k < s->opt_start[x + 1]; k++)
        {
          guint j = first;
          while (j < out && s->opt_machine[j] != s->opt_machine[k])
            j++;
          if (j < out)
            s->opt_duration[j] = MIN (s->opt_duration[j], s->opt_duration[k]);
          else
            {
              s->opt_machine[out] = s->opt_machine[k];
              s->opt_duration[out++] = s->opt_duration[k];
            }
        }
      s->opt_start[x] = first;
    }
  s->opt_start[n] = out;
  s->min_duration = g_new (gint64, MAX (n, 1));
  s->on_machine = g_new0 (guint, MAX (s->M, 1));
  for (guint x = 0; x < n; x++)
    {
      if (s->opt_start[x] == s->opt_start[x + 1])
        {
          g_set_error (error, STRAND_PLANNER_ERROR, STRAND_PLANNER_ERROR_INVALID,
                       "operation %u has no machine", x);
          return NULL;
        }
      s->min_duration[x] = G_MAXINT64;
      for (guint k = s->opt_start[x]; k < s->opt_start[x + 1]; k++)
        {
          s->min_duration[x] = MIN (s->min_duration[x], s->opt_duration[k]);
          s->on_machine[s->opt_machine[k]]++;
        }
    }
  csr (n, p->arcs, TRUE, &s->pred_start, &s->pred);
  csr (n, p->arcs, FALSE, &s->succ_start, &s->succ);
  /* Kahn's algorithm: a topological order, or the proof of a cycle. */
  s->topo = g_new (guint, MAX (n, 1));
  g_autofree guint *indeg = g_new (guint, MAX (n, 1));
  guint head = 0, tail = 0;
  for (guint x = 0; x < n; x++)
    if ((indeg[x] = s->pred_start[x + 1] - s->pred_start[x]) == 0)
      s->topo[tail++] = x;
  while (head < tail)
    {
      guint x = s->topo[head++];
      for (guint k = s->succ_start[x]; k < s->succ_start[x + 1]; k++)
        if (--indeg[s->succ[k]] == 0)
          s->topo[tail++] = s->succ[k];
    }
  if (tail < n)
    {
      g_set_error (error, STRAND_PLANNER_ERROR, STRAND_PLANNER_ERROR_INVALID,
                   "the precedences have a cycle (%u operations on it or after it)", n - tail);
      return NULL;
    }
  return g_steal_pointer (&s);
}

gint64
strand_planner_problem_lower_bound (const StrandPlannerProblem *p)
{
  g_autoptr (Shape) s = compile (p, NULL);
  if (s == NULL)
    return 0;
  g_autofree gint64 *end = g_new (gint64, MAX (s->n, 1));
  g_autofree gint64 *load = g_new0 (gint64, MAX (s->M, 1));
  gint64 bound = 0;
  for (guint k = 0; k < s->n; k++)
    {
      guint x = s->topo[k];
      gint64 start = s->release[x];
      for (guint j = s->pred_start[x]; j < s->pred_start[x + 1]; j++)
        start = MAX (start, end[s->pred[j]]);
      end[x] = start + s->min_duration[x];
      bound = MAX (bound, end[x]);
      if (s->opt_start[x + 1] - s->opt_start[x] == 1)
        load[s->opt_machine[s->opt_start[x]]] += s->opt_duration[s->opt_start[x]];
    }
  for (guint m = 0; m < s->M; m++)
    bound = MAX (bound, s->machine_ready[m] + load[m]);
  return bound;
}

/* ---- a solution: machine sequences, heads and tails ------------------------------ */

typedef struct {
  guint *opt;     /* chosen option (index into the shape's options) */
  guint *mach;
  gint64 *dur;
  guint **seq;    /* per machine, the operations in order */
  guint *len;
  guint *pos;     /* place of each operation in its machine's sequence */
  gint64 *r;      /* heads: earliest starts */
  gint64 *q;      /* tails: longest path after the end */
  gint64 cmax;
} Sol;

static Sol *
sol_new (const Shape *s)
{
  Sol *x = g_new0 (Sol, 1);
  guint n = MAX (s->n, 1);
  x->opt = g_new0 (guint, n);
  x->mach = g_new0 (guint, n);
  x->dur = g_new0 (gint64, n);
  x->pos = g_new0 (guint, n);
  x->r = g_new0 (gint64, n);
  x->q = g_new0 (gint64, n);
  x->seq = g_new0 (guint *, MAX (s->M, 1));
  x->len = g_new0 (guint, MAX (s->M, 1));
  for (guint m = 0; m < s->M; m++)
    x->seq[m] = g_new (guint, MAX (s->on_machine[m], 1));
  return x;
}

static void
sol_free (Sol *x, const Shape *s)
{
  if (x == NULL)
    return;
  for (guint m = 0; m < s->M; m++)
    g_free (x->seq[m]);
  g_free (x->seq);
  g_free (x->len);
  g_free (x->opt);
  g_free (x->mach);
  g_free (x->dur);
  g_free (x->pos);
  g_free (x->r);
  g_free (x->q);
  g_free (x);
}

static void
sol_copy (Sol *to, const Sol *from, const Shape *s)
{
  guint n = s->n;
  memcpy (to->opt, from->opt, sizeof (guint) * n);
  memcpy (to->mach, from->mach, sizeof (guint) * n);
  memcpy (to->dur, from->dur, sizeof (gint64) * n);
  memcpy (to->pos, from->pos, sizeof (guint) * n);
  memcpy (to->r, from->r, sizeof (gint64) * n);
  memcpy (to->q, from->q, sizeof (gint64) * n);
  for (guint m = 0; m < s->M; m++)
    {
      memcpy (to->seq[m], from->seq[m], sizeof (guint) * from->len[m]);
      to->len[m] = from->len[m];
    }
  to->cmax = from->cmax;
}

typedef struct {
  guint *indeg;
  guint *order;
} Scratch;

static inline gint64
base_of (const Shape *s, const Sol *x, guint op)
{
  return MAX (s->release[op], s->machine_ready[x->mach[op]]);
}

/* Heads, tails and makespan of the sequences; FALSE when they form a cycle. */
static gboolean
evaluate (const Shape *s, Sol *x, Scratch *w)
{
  guint n = s->n, head = 0, tail = 0;
  for (guint op = 0; op < n; op++)
    {
      w->indeg[op] = s->pred_start[op + 1] - s->pred_start[op] + (x->pos[op] > 0);
      x->r[op] = base_of (s, x, op);
      if (w->indeg[op] == 0)
        w->order[tail++] = op;
    }
  while (head < tail)
    {
      guint op = w->order[head++];
      gint64 end = x->r[op] + x->dur[op];
      for (guint k = s->succ_start[op]; k < s->succ_start[op + 1]; k++)
        {
          guint t = s->succ[k];
          if (x->r[t] < end)
            x->r[t] = end;
          if (--w->indeg[t] == 0)
            w->order[tail++] = t;
        }
      guint m = x->mach[op];
      if (x->pos[op] + 1 < x->len[m])
        {
          guint t = x->seq[m][x->pos[op] + 1];
          if (x->r[t] < end)
            x->r[t] = end;
          if (--w->indeg[t] == 0)
            w->order[tail++] = t;
        }
    }
  if (tail < n)
    return FALSE;
  gint64 cmax = 0;
  for (guint k = n; k-- > 0;)
    {
      guint op = w->order[k];
      gint64 qq = 0;
      for (guint j = s->succ_start[op]; j < s->succ_start[op + 1]; j++)
        qq = MAX (qq, x->q[s->succ[j]] + x->dur[s->succ[j]]);
      guint m = x->mach[op];
      if (x->pos[op] + 1 < x->len[m])
        {
          guint t = x->seq[m][x->pos[op] + 1];
          qq = MAX (qq, x->q[t] + x->dur[t]);
        }
      x->q[op] = qq;
      cmax = MAX (cmax, x->r[op] + x->dur[op]);
    }
  x->cmax = cmax;
  return TRUE;
}

static int
compare_by_start (gconstpointer a, gconstpointer b, gpointer data)
{
  const gint64 *start = data;
  guint x = *(const guint *) a, y = *(const guint *) b;
  if (start[x] != start[y])
    return start[x] < start[y] ? -1 : 1;
  return (x > y) - (x < y);
}

/* The option of `op` on machine `m` (the shortest, should it be listed
 * twice), or NONE. */
static guint
option_on (const Shape *s, guint op, guint m)
{
  guint best = NONE;
  for (guint k = s->opt_start[op]; k < s->opt_start[op + 1]; k++)
    if (s->opt_machine[k] == m && (best == NONE || s->opt_duration[k] < s->opt_duration[best]))
      best = k;
  return best;
}

/* Sequences from a plan: each machine's operations in order of start. */
static gboolean
sol_from_plan (const Shape *s, Sol *x, const StrandSchedule *plan, Scratch *w, GError **error)
{
  if (plan->n_ops != s->n)
    {
      g_set_error (error, STRAND_PLANNER_ERROR, STRAND_PLANNER_ERROR_INVALID,
                   "the plan has %u operations, the problem %u", plan->n_ops, s->n);
      return FALSE;
    }
  for (guint m = 0; m < s->M; m++)
    x->len[m] = 0;
  for (guint op = 0; op < s->n; op++)
    {
      guint k = option_on (s, op, plan->machine[op]);
      if (k == NONE)
        {
          g_set_error (error, STRAND_PLANNER_ERROR, STRAND_PLANNER_ERROR_INFEASIBLE,
                       "operation %u is planned on machine %u, which is not one of its machines",
                       op, plan->machine[op]);
          return FALSE;
        }
      x->opt[op] = k;
      x->mach[op] = s->opt_machine[k];
      x->dur[op] = s->opt_duration[k];
      x->seq[x->mach[op]][x->len[x->mach[op]]++] = op;
    }
  for (guint m = 0; m < s->M; m++)
    {
      g_qsort_with_data (x->seq[m], x->len[m], sizeof (guint), compare_by_start, plan->start);
      for (guint k = 0; k < x->len[m]; k++)
        x->pos[x->seq[m][k]] = k;
    }
  if (!evaluate (s, x, w))
    {
      g_set_error (error, STRAND_PLANNER_ERROR, STRAND_PLANNER_ERROR_INFEASIBLE,
                   "the plan's machine orders contradict the precedences");
      return FALSE;
    }
  return TRUE;
}

static StrandSchedule *
plan_from_sol (const Shape *s, const Sol *x)
{
  StrandSchedule *plan = strand_schedule_new (s->n);
  for (guint op = 0; op < s->n; op++)
    {
      plan->machine[op] = x->mach[op];
      plan->start[op] = x->r[op];
    }
  plan->makespan = x->cmax;
  return plan;
}

/* ---- construction --------------------------------------------------------------- */

static void
construct (const Shape *s, Sol *x, Scratch *w)
{
  guint n = s->n;
  g_autofree gint64 *after = g_new (gint64, MAX (n, 1)); /* most work from op to the end */
  for (guint k = n; k-- > 0;)
    {
      guint op = s->topo[k];
      gint64 tail = 0;
      for (guint j = s->succ_start[op]; j < s->succ_start[op + 1]; j++)
        tail = MAX (tail, after[s->succ[j]]);
      after[op] = s->min_duration[op] + tail;
    }
  g_autofree gint64 *earliest = g_new (gint64, MAX (n, 1));
  g_autofree gint64 *mfree = g_memdup2 (s->machine_ready, sizeof (gint64) * MAX (s->M, 1));
  g_autofree guint *ready = g_new (guint, MAX (n, 1));
  guint n_ready = 0;
  for (guint op = 0; op < n; op++)
    {
      earliest[op] = s->release[op];
      w->indeg[op] = s->pred_start[op + 1] - s->pred_start[op];
      if (w->indeg[op] == 0)
        ready[n_ready++] = op;
    }
  for (guint m = 0; m < s->M; m++)
    x->len[m] = 0;
  for (guint step = 0; step < n; step++)
    {
      /* The earliest start any ready operation can have... */
      gint64 t_star = G_MAXINT64;
      for (guint i = 0; i < n_ready; i++)
        {
          guint op = ready[i];
          for (guint k = s->opt_start[op]; k < s->opt_start[op + 1]; k++)
            t_star = MIN (t_star, MAX (earliest[op], mfree[s->opt_machine[k]]));
        }
      /* ...and of those that can start then, the one with the most work. */
      guint best_i = 0, best_k = 0;
      gint64 best_after = -1, best_end = G_MAXINT64;
      for (guint i = 0; i < n_ready; i++)
        {
          guint op = ready[i];
          for (guint k = s->opt_start[op]; k < s->opt_start[op + 1]; k++)
            {
              gint64 st = MAX (earliest[op], mfree[s->opt_machine[k]]);
              if (st != t_star)
                continue;
              gint64 end = st + s->opt_duration[k];
              if (after[op] > best_after || (after[op] == best_after && end < best_end))
                {
                  best_after = after[op];
                  best_end = end;
                  best_i = i;
                  best_k = k;
                }
            }
        }
      guint op = ready[best_i];
      ready[best_i] = ready[--n_ready];
      /* On the machine where it ends first. */
      for (guint k = s->opt_start[op]; k < s->opt_start[op + 1]; k++)
        {
          gint64 end = MAX (earliest[op], mfree[s->opt_machine[k]]) + s->opt_duration[k];
          if (end < best_end)
            best_end = end, best_k = k;
        }
      guint m = s->opt_machine[best_k];
      x->opt[op] = best_k;
      x->mach[op] = m;
      x->dur[op] = s->opt_duration[best_k];
      x->pos[op] = x->len[m];
      x->seq[m][x->len[m]++] = op;
      mfree[m] = best_end;
      for (guint j = s->succ_start[op]; j < s->succ_start[op + 1]; j++)
        {
          guint t = s->succ[j];
          earliest[t] = MAX (earliest[t], best_end);
          if (--w->indeg[t] == 0)
            ready[n_ready++] = t;
        }
    }
  gboolean ok = evaluate (s, x, w);
  g_assert (ok);
}

StrandSchedule *
strand_planner_construct (const StrandPlannerProblem *problem, GError **error)
{
  g_autoptr (Shape) s = compile (problem, error);
  if (s == NULL)
    return NULL;
  Sol *x = sol_new (s);
  Scratch w = { g_new (guint, MAX (s->n, 1)), g_new (guint, MAX (s->n, 1)) };
  construct (s, x, &w);
  StrandSchedule *plan = plan_from_sol (s, x);
  sol_free (x, s);
  g_free (w.indeg);
  g_free (w.order);
  return plan;
}

/* ---- the tabu search ------------------------------------------------------------- */

typedef enum { MOVE_FORWARD, MOVE_BACKWARD, MOVE_REASSIGN } MoveKind;

typedef struct {
  MoveKind kind;
  guint u, v;        /* forward: u goes right after v; backward: v goes right before u */
  guint op, opt, at; /* reassign: op to option opt, at place `at` of its machine */
  gint64 value;      /* estimated (or, for reassignments, exact) makespan */
  gboolean tabu;
} Move;

typedef struct {
  const Shape *s;
  Sol *cur, *best;
  Scratch w;
  GHashTable *tabu;  /* key -> iteration until which it holds */
  guint64 iter;
  GRand *rand;
  GArray *path;      /* guint */
  GArray *moves;     /* Move */
  gint64 *seg_r, *seg_q; /* scratch of the estimates */
  guint tenure_min, tenure_span;
} Search;

static guint
tabu_hash (gconstpointer key)
{
  guint64 k = (guint64) (guintptr) key;
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return (guint) k;
}

/* "a before b on a machine" and "op on machine m" as keys. */
static inline gpointer
order_key (const Search *S, guint a, guint b)
{
  return (gpointer) (guintptr) (((guint64) a << 32 | b) << 1);
}

static inline gpointer
machine_key (guint op, guint m)
{
  return (gpointer) (guintptr) ((((guint64) op << 32 | m) << 1) | 1);
}

static gboolean
is_tabu (const Search *S, gpointer key)
{
  gpointer until = g_hash_table_lookup (S->tabu, key);
  return until != NULL && (guint64) (guintptr) until > S->iter;
}

static void
make_tabu (Search *S, gpointer key)
{
  guint tenure = S->tenure_min + g_rand_int_range (S->rand, 0, (gint32) S->tenure_span + 1);
  g_hash_table_insert (S->tabu, key, (gpointer) (guintptr) (S->iter + tenure));
}

static gboolean
expired (gpointer key, gpointer value, gpointer data)
{
  return (guint64) (guintptr) value <= *(guint64 *) data;
}

static inline gint64
job_head (const Search *S, guint op)
{
  const Shape *s = S->s;
  const Sol *x = S->cur;
  gint64 h = base_of (s, x, op);
  for (guint k = s->pred_start[op]; k < s->pred_start[op + 1]; k++)
    h = MAX (h, x->r[s->pred[k]] + x->dur[s->pred[k]]);
  return h;
}

static inline gint64
job_tail (const Search *S, guint op)
{
  const Shape *s = S->s;
  const Sol *x = S->cur;
  gint64 t = 0;
  for (guint k = s->succ_start[op]; k < s->succ_start[op + 1]; k++)
    t = MAX (t, x->q[s->succ[k]] + x->dur[s->succ[k]]);
  return t;
}

/* One longest path, start to end, preferring machine arcs (longer blocks). */
static void
critical_path (Search *S)
{
  const Shape *s = S->s;
  const Sol *x = S->cur;
  g_array_set_size (S->path, 0);
  guint end = NONE;
  guint n_ends = 0;
  for (guint op = 0; op < s->n; op++)
    if (x->r[op] + x->dur[op] == x->cmax && g_rand_int_range (S->rand, 0, (gint32) ++n_ends) == 0)
      end = op;
  for (guint op = end; op != NONE;)
    {
      g_array_append_val (S->path, op);
      guint next = NONE;
      guint m = x->mach[op];
      if (x->pos[op] > 0)
        {
          guint mp = x->seq[m][x->pos[op] - 1];
          if (x->r[mp] + x->dur[mp] == x->r[op])
            next = mp;
        }
      for (guint k = s->pred_start[op]; next == NONE && k < s->pred_start[op + 1]; k++)
        if (x->r[s->pred[k]] + x->dur[s->pred[k]] == x->r[op])
          next = s->pred[k];
      op = next;
    }
  /* reverse: start first */
  guint *p = (guint *) S->path->data;
  for (guint i = 0, j = S->path->len; i + 1 < j; i++, j--)
    {
      guint t = p[i];
      p[i] = p[j - 1];
      p[j - 1] = t;
    }
}

/* Estimated makespan of moving u (at machine place i) right after the
 * operation at place j > i, and whether the move is tabu. */
static gint64
estimate_forward (Search *S, guint m, guint i, guint j, gboolean *tabu)
{
  const Sol *x = S->cur;
  const guint *seq = x->seq[m];
  guint u = seq[i];
  guint k = j - i; /* l_1..l_k are seq[i+1..j] */
  gint64 *R = S->seg_r, *Q = S->seg_q;
  gint64 prev_end = i > 0 ? x->r[seq[i - 1]] + x->dur[seq[i - 1]] : G_MININT64;
  *tabu = FALSE;
  for (guint w = 1; w <= k; w++)
    {
      guint l = seq[i + w];
      R[w] = MAX (job_head (S, l), prev_end);
      prev_end = R[w] + x->dur[l];
      *tabu |= is_tabu (S, order_key (S, l, u));
    }
  gint64 ru = MAX (job_head (S, u), prev_end);
  gint64 next_q = j + 1 < x->len[m] ? x->q[seq[j + 1]] + x->dur[seq[j + 1]] : 0;
  gint64 qu = MAX (job_tail (S, u), next_q);
  gint64 value = ru + x->dur[u] + qu;
  gint64 after = qu + x->dur[u];
  for (guint w = k; w >= 1; w--)
    {
      guint l = seq[i + w];
      Q[w] = MAX (job_tail (S, l), after);
      after = Q[w] + x->dur[l];
      value = MAX (value, R[w] + x->dur[l] + Q[w]);
    }
  return value;
}

/* Estimated makespan of moving v (at place j) right before the operation at
 * place i < j. */
static gint64
estimate_backward (Search *S, guint m, guint i, guint j, gboolean *tabu)
{
  const Sol *x = S->cur;
  const guint *seq = x->seq[m];
  guint v = seq[j];
  guint k = j - i; /* l_1..l_k are seq[i..j-1] */
  gint64 *R = S->seg_r, *Q = S->seg_q;
  gint64 prev_end = i > 0 ? x->r[seq[i - 1]] + x->dur[seq[i - 1]] : G_MININT64;
  gint64 rv = MAX (job_head (S, v), prev_end);
  prev_end = rv + x->dur[v];
  *tabu = FALSE;
  for (guint w = 1; w <= k; w++)
    {
      guint l = seq[i + w - 1];
      R[w] = MAX (job_head (S, l), prev_end);
      prev_end = R[w] + x->dur[l];
      *tabu |= is_tabu (S, order_key (S, v, l));
    }
  gint64 after = j + 1 < x->len[m] ? x->q[seq[j + 1]] + x->dur[seq[j + 1]] : 0;
  gint64 value = 0;
  for (guint w = k; w >= 1; w--)
    {
      guint l = seq[i + w - 1];
      Q[w] = MAX (job_tail (S, l), after);
      after = Q[w] + x->dur[l];
      value = MAX (value, R[w] + x->dur[l] + Q[w]);
    }
  gint64 qv = MAX (job_tail (S, v), after);
  return MAX (value, rv + x->dur[v] + qv);
}

/* Balas & Vazacopoulos: moving u after v creates no cycle when the longest
 * path from v to the end is at least that from every job successor of u. */
static gboolean
forward_safe (const Search *S, guint u, guint v)
{
  const Shape *s = S->s;
  const Sol *x = S->cur;
  for (guint k = s->succ_start[u]; k < s->succ_start[u + 1]; k++)
    {
      guint t = s->succ[k];
      if (x->q[v] + x->dur[v] < x->q[t] + x->dur[t])
        return FALSE;
    }
  return TRUE;
}

static gboolean
backward_safe (const Search *S, guint u, guint v)
{
  const Shape *s = S->s;
  const Sol *x = S->cur;
  for (guint k = s->pred_start[v]; k < s->pred_start[v + 1]; k++)
    {
      guint t = s->pred[k];
      if (x->r[u] + x->dur[u] < x->r[t] + x->dur[t])
        return FALSE;
    }
  return TRUE;
}

static void
seq_move (Sol *x, guint m, guint from, guint to)
{
  guint *seq = x->seq[m];
  guint op = seq[from];
  if (from < to)
    memmove (seq + from, seq + from + 1, sizeof (guint) * (to - from));
  else if (to < from)
    memmove (seq + to + 1, seq + to, sizeof (guint) * (from - to));
  seq[to] = op;
  for (guint k = MIN (from, to); k <= MAX (from, to); k++)
    x->pos[seq[k]] = k;
}

static void
seq_remove (Sol *x, guint m, guint at)
{
  guint *seq = x->seq[m];
  memmove (seq + at, seq + at + 1, sizeof (guint) * (x->len[m] - at - 1));
  x->len[m]--;
  for (guint k = at; k < x->len[m]; k++)
    x->pos[seq[k]] = k;
}

static void
seq_insert (Sol *x, guint m, guint at, guint op)
{
  guint *seq = x->seq[m];
  memmove (seq + at + 1, seq + at, sizeof (guint) * (x->len[m] - at));
  seq[at] = op;
  x->len[m]++;
  for (guint k = at; k < x->len[m]; k++)
    x->pos[seq[k]] = k;
}

static void
reassign (const Shape *s, Sol *x, guint op, guint opt, guint at)
{
  seq_remove (x, x->mach[op], x->pos[op]);
  x->opt[op] = opt;
  x->mach[op] = s->opt_machine[opt];
  x->dur[op] = s->opt_duration[opt];
  seq_insert (x, x->mach[op], at, op);
}

/* Flexible shops: the best place for `op` on the machine of option `opt`,
 * among those that cannot close a cycle; NONE when there is none. */
static guint
best_place (Search *S, guint op, guint opt, gint64 *value)
{
  const Shape *s = S->s;
  const Sol *x = S->cur;
  guint m = s->opt_machine[opt];
  gint64 d = s->opt_duration[opt];
  gint64 head = MAX (s->release[op], s->machine_ready[m]);
  for (guint k = s->pred_start[op]; k < s->pred_start[op + 1]; k++)
    head = MAX (head, x->r[s->pred[k]] + x->dur[s->pred[k]]);
  gint64 tail = job_tail (S, op);
  guint best = NONE;
  gint64 best_value = G_MAXINT64;
  for (guint at = 0; at <= x->len[m]; at++)
    {
      guint a = at > 0 ? x->seq[m][at - 1] : NONE;
      guint b = at < x->len[m] ? x->seq[m][at] : NONE;
      /* a must not come after op, b not before it (see the comment in the
       * header of this section): heads prove it. */
      if (a != NONE && !(x->r[a] < x->r[op] + x->dur[op]))
        continue;
      if (b != NONE && !(x->r[b] + x->dur[b] > x->r[op]))
        continue;
      gint64 r = MAX (head, a != NONE ? x->r[a] + x->dur[a] : G_MININT64);
      gint64 q = MAX (tail, b != NONE ? x->q[b] + x->dur[b] : 0);
      if (r + d + q < best_value)
        best_value = r + d + q, best = at;
    }
  *value = best_value;
  return best;
}

static void
add_sequence_moves (Search *S)
{
  const Sol *x = S->cur;
  const guint *path = (const guint *) S->path->data;
  guint n = S->path->len;
  for (guint a = 0; a < n;)
    {
      /* a block: consecutive path operations adjacent on one machine */
      guint b = a;
      while (b + 1 < n && x->mach[path[b + 1]] == x->mach[path[a]] &&
             x->pos[path[b + 1]] == x->pos[path[b]] + 1)
        b++;
      if (b > a)
        {
          guint m = x->mach[path[a]];
          guint first = x->pos[path[a]], last = x->pos[path[b]];
          for (guint i = first; i <= last; i++)
            for (guint j = i + 1; j <= last; j++)
              {
                if (i != first && j != last)
                  continue;
                guint u = x->seq[m][i], v = x->seq[m][j];
                Move mv = { 0 };
                mv.u = u;
                mv.v = v;
                if (forward_safe (S, u, v))
                  {
                    mv.kind = MOVE_FORWARD;
                    mv.value = estimate_forward (S, m, i, j, &mv.tabu);
                    g_array_append_val (S->moves, mv);
                  }
                if (j > i + 1 && backward_safe (S, u, v))
                  {
                    mv.kind = MOVE_BACKWARD;
                    mv.value = estimate_backward (S, m, i, j, &mv.tabu);
                    g_array_append_val (S->moves, mv);
                  }
              }
        }
      a = b + 1;
    }
}

static void
add_reassign_moves (Search *S)
{
  const Shape *s = S->s;
  const Sol *x = S->cur;
  for (guint i = 0; i < S->path->len; i++)
    {
      guint op = g_array_index (S->path, guint, i);
      for (guint k = s->opt_start[op]; k < s->opt_start[op + 1]; k++)
        {
          if (k == x->opt[op])
            continue;
          Move mv = { .kind = MOVE_REASSIGN, .op = op, .opt = k };
          mv.at = best_place (S, op, k, &mv.value);
          if (mv.at == NONE)
            continue;
          mv.tabu = is_tabu (S, machine_key (op, s->opt_machine[k]));
          g_array_append_val (S->moves, mv);
        }
    }
}

/* Applies a move to the current solution; returns what undoes it. */
static Move
apply (Search *S, const Move *mv)
{
  const Shape *s = S->s;
  Sol *x = S->cur;
  Move undo = *mv;
  if (mv->kind == MOVE_REASSIGN)
    {
      undo.opt = x->opt[mv->op];
      undo.at = x->pos[mv->op];
      reassign (s, x, mv->op, mv->opt, mv->at);
      return undo;
    }
  guint m = x->mach[mv->u];
  guint i = x->pos[mv->u], j = x->pos[mv->v];
  if (mv->kind == MOVE_FORWARD)
    {
      seq_move (x, m, i, j);
      undo.kind = MOVE_BACKWARD; /* u at j goes back before the operation at i */
      undo.u = x->seq[m][i];
      undo.v = mv->u;
    }
  else
    {
      seq_move (x, m, j, i);
      undo.kind = MOVE_FORWARD; /* v at i goes back after the operation at j */
      undo.u = mv->v;
      undo.v = x->seq[m][j];
    }
  return undo;
}

static void
remember (Search *S, const Move *mv, const Move *undo)
{
  const Shape *s = S->s;
  Sol *x = S->cur;
  if (mv->kind == MOVE_REASSIGN)
    {
      make_tabu (S, machine_key (mv->op, s->opt_machine[undo->opt]));
      return;
    }
  /* The orders the move undid must not come back for a while. */
  guint m = x->mach[mv->u];
  if (mv->kind == MOVE_FORWARD)
    {
      guint to = x->pos[mv->u];
      for (guint k = x->pos[undo->u]; k < to; k++)
        make_tabu (S, order_key (S, mv->u, x->seq[m][k]));
    }
  else
    {
      guint from = x->pos[mv->v];
      for (guint k = from + 1; k <= x->pos[undo->v]; k++)
        make_tabu (S, order_key (S, x->seq[m][k], mv->v));
    }
}

/* A few random swaps on the critical path, to leave a basin. */
static void
perturb (Search *S, guint swaps)
{
  for (guint t = 0; t < swaps; t++)
    {
      critical_path (S);
      g_array_set_size (S->moves, 0);
      add_sequence_moves (S);
      if (S->moves->len == 0)
        return;
      Move mv = g_array_index (S->moves, Move, g_rand_int_range (S->rand, 0, (gint32) S->moves->len));
      Move undo = apply (S, &mv);
      if (!evaluate (S->s, S->cur, &S->w))
        {
          apply (S, &undo);
          evaluate (S->s, S->cur, &S->w);
        }
    }
}

void
strand_planner_options_init (StrandPlannerOptions *o)
{
  memset (o, 0, sizeof *o);
  o->budget_us = 10 * G_USEC_PER_SEC;
  o->seed = 1;
}

StrandSchedule *
strand_planner_improve (const StrandPlannerProblem *problem, const StrandSchedule *initial,
                        const StrandPlannerOptions *options, StrandPlannerStats *stats,
                        GError **error)
{
  StrandPlannerOptions defaults;
  if (options == NULL)
    {
      strand_planner_options_init (&defaults);
      options = &defaults;
    }
  gint64 started = strand_clock_real_monotonic_us ();
  g_autoptr (Shape) s = compile (problem, error);
  if (s == NULL)
    return NULL;
  Search S = { .s = s };
  S.cur = sol_new (s);
  S.best = sol_new (s);
  S.w.indeg = g_new (guint, MAX (s->n, 1));
  S.w.order = g_new (guint, MAX (s->n, 1));
  S.seg_r = g_new (gint64, MAX (s->n, 1) + 2);
  S.seg_q = g_new (gint64, MAX (s->n, 1) + 2);
  S.tabu = g_hash_table_new (tabu_hash, g_direct_equal);
  S.rand = g_rand_new_with_seed (options->seed);
  S.path = g_array_new (FALSE, FALSE, sizeof (guint));
  S.moves = g_array_new (FALSE, FALSE, sizeof (Move));
  guint per_machine = s->M > 0 ? s->n / s->M : s->n;
  S.tenure_min = 10 + per_machine;
  S.tenure_span = S.tenure_min / 2;

  StrandSchedule *result = NULL;
  if (initial != NULL)
    {
      if (!sol_from_plan (s, S.cur, initial, &S.w, error))
        goto out;
    }
  else
    construct (s, S.cur, &S.w);
  sol_copy (S.best, S.cur, s);
  gint64 bound = strand_planner_problem_lower_bound (problem);
  gint64 stop_at = options->stop_at > 0 ? options->stop_at : bound;
  if (stats)
    {
      memset (stats, 0, sizeof *stats);
      stats->initial_makespan = S.cur->cmax;
      stats->lower_bound = bound;
    }
  gboolean flexible = FALSE;
  for (guint op = 0; op < s->n && !flexible; op++)
    flexible = s->opt_start[op + 1] - s->opt_start[op] > 1;

  guint64 stall = 0, max_stall = 2000 + 20 * (guint64) per_machine;
  gint64 deadline = options->budget_us > 0 ? started + options->budget_us : started;
  while (S.best->cmax > stop_at && s->n > 0)
    {
      if (options->max_iterations > 0 && S.iter >= options->max_iterations)
        break;
      if ((S.iter & 31) == 0 && strand_clock_real_monotonic_us () >= deadline)
        break;
      S.iter++;
      if ((S.iter & 4095) == 0)
        g_hash_table_foreach_remove (S.tabu, expired, &S.iter);

      critical_path (&S);
      g_array_set_size (S.moves, 0);
      add_sequence_moves (&S);
      guint n_sequence = S.moves->len;
      if (flexible)
        add_reassign_moves (&S);
      if (S.moves->len == 0)
        break; /* the critical path is one chain: nothing can shorten it */

      /* Reassignments are evaluated exactly, being rarer and less local. */
      for (guint k = n_sequence; k < S.moves->len; k++)
        {
          Move *mv = &g_array_index (S.moves, Move, k);
          Move undo = apply (&S, mv);
          mv->value = evaluate (s, S.cur, &S.w) ? S.cur->cmax : G_MAXINT64;
          apply (&S, &undo);
        }
      if (S.moves->len > n_sequence)
        evaluate (s, S.cur, &S.w);

      gint chosen = -1;
      guint ties = 0;
      for (guint k = 0; k < S.moves->len; k++)
        {
          const Move *mv = &g_array_index (S.moves, Move, k);
          if (mv->value == G_MAXINT64 || (mv->tabu && mv->value >= S.best->cmax))
            continue;
          const Move *c = chosen >= 0 ? &g_array_index (S.moves, Move, chosen) : NULL;
          if (c == NULL || mv->value < c->value)
            chosen = (gint) k, ties = 1;
          else if (mv->value == c->value && g_rand_int_range (S.rand, 0, (gint32) ++ties) == 0)
            chosen = (gint) k;
        }
      if (chosen < 0) /* everything tabu: take any move */
        chosen = g_rand_int_range (S.rand, 0, (gint32) S.moves->len);
      Move mv = g_array_index (S.moves, Move, chosen);
      Move undo = apply (&S, &mv);
      if (!evaluate (s, S.cur, &S.w))
        {
          apply (&S, &undo);
          evaluate (s, S.cur, &S.w);
          stall++;
          continue;
        }
      remember (&S, &mv, &undo);
      if (S.cur->cmax < S.best->cmax)
        {
          sol_copy (S.best, S.cur, s);
          stall = 0;
        }
      else if (++stall > max_stall)
        {
          sol_copy (S.cur, S.best, s);
          g_hash_table_remove_all (S.tabu);
          perturb (&S, 2 + g_rand_int_range (S.rand, 0, 6));
          stall = 0;
          if (stats)
            stats->restarts++;
        }
    }
  result = plan_from_sol (s, S.best);
  if (stats)
    {
      stats->makespan = S.best->cmax;
      stats->iterations = S.iter;
      stats->elapsed_us = strand_clock_real_monotonic_us () - started;
    }
out:
  sol_free (S.cur, s);
  sol_free (S.best, s);
  g_free (S.w.indeg);
  g_free (S.w.order);
  g_free (S.seg_r);
  g_free (S.seg_q);
  g_hash_table_unref (S.tabu);
  g_rand_free (S.rand);
  g_array_unref (S.path);
  g_array_unref (S.moves);
  return result;
}

/* ---- checking a plan --------------------------------------------------------------- */

gboolean
strand_schedule_check (const StrandPlannerProblem *problem, const StrandSchedule *plan, GError **error)
{
  g_autoptr (Shape) s = compile (problem, error);
  if (s == NULL)
    return FALSE;
#define FAIL(...)                                                                              \
  do                                                                                           \
    {                                                                                          \
      g_set_error (error, STRAND_PLANNER_ERROR, STRAND_PLANNER_ERROR_INFEASIBLE, __VA_ARGS__); \
      return FALSE;                                                                            \
    }                                                                                          \
  while (0)
  if (plan->n_ops != s->n)
    FAIL ("the plan has %u operations, the problem %u", plan->n_ops, s->n);
  g_autofree gint64 *dur = g_new (gint64, MAX (s->n, 1));
  gint64 makespan = 0;
  for (guint op = 0; op < s->n; op++)
    {
      guint k = option_on (s, op, plan->machine[op]);
      if (k == NONE)
        FAIL ("operation %u is on machine %u, not one of its machines", op, plan->machine[op]);
      dur[op] = s->opt_duration[k];
      if (plan->start[op] < s->release[op])
        FAIL ("operation %u starts at %" G_GINT64_FORMAT ", before its release at %" G_GINT64_FORMAT,
              op, plan->start[op], s->release[op]);
      if (plan->start[op] < s->machine_ready[plan->machine[op]])
        FAIL ("operation %u starts at %" G_GINT64_FORMAT " while machine %u is busy until %"
              G_GINT64_FORMAT, op, plan->start[op], plan->machine[op],
              s->machine_ready[plan->machine[op]]);
      makespan = MAX (makespan, plan->start[op] + dur[op]);
    }
  for (guint op = 0; op < s->n; op++)
    for (guint k = s->pred_start[op]; k < s->pred_start[op + 1]; k++)
      {
        guint p = s->pred[k];
        if (plan->start[op] < plan->start[p] + dur[p])
          FAIL ("operation %u starts at %" G_GINT64_FORMAT " before operation %u, which it comes "
                "after, ends at %" G_GINT64_FORMAT, op, plan->start[op], p, plan->start[p] + dur[p]);
      }
  g_autofree guint *order = g_new (guint, MAX (s->n, 1));
  for (guint op = 0; op < s->n; op++)
    order[op] = op;
  g_qsort_with_data (order, s->n, sizeof (guint), compare_by_start, plan->start);
  g_autofree gint64 *busy_until = g_new (gint64, MAX (s->M, 1));
  g_autofree guint *last = g_new (guint, MAX (s->M, 1));
  for (guint m = 0; m < s->M; m++)
    busy_until[m] = G_MININT64, last[m] = NONE;
  for (guint k = 0; k < s->n; k++)
    {
      guint op = order[k], m = plan->machine[op];
      if (dur[op] > 0 && plan->start[op] < busy_until[m])
        FAIL ("operations %u and %u overlap on machine %u", last[m], op, m);
      if (dur[op] > 0)
        busy_until[m] = plan->start[op] + dur[op], last[m] = op;
    }
  if (plan->makespan != makespan)
    FAIL ("the plan says its makespan is %" G_GINT64_FORMAT " but its last end is %" G_GINT64_FORMAT,
          plan->makespan, makespan);
#undef FAIL
  return TRUE;
}
