/* The planning pass: a bounded local search over the queued tasks.
 *
 * The dispatcher (scheduler.h) decides one moment at a time. When there is
 * time to think, the planner looks at the whole queue at once as a
 * (flexible) job shop: operations with precedences among them, each to run
 * on one of its machines for that machine's duration, one operation per
 * machine at a time, and searches for the order with the shortest makespan.
 *
 * The search is tabu search on the critical path (Nowicki & Smutnicki's
 * TSAB idea with the N6 neighbourhood of Balas & Vazacopoulos as Zhang et
 * al. 2007 use it): on a longest path of the current schedule, operations
 * are moved to the front or the back of their block of consecutive
 * operations on one machine, moves are ranked by a fast estimate of the new
 * makespan, recently undone orders are tabu for a while, and a stalled
 * search restarts from the best plan with a small perturbation. Operations
 * with several machines (flexible shops) may also move to another machine
 * at the best place on it. The search stops at its time budget, its
 * iteration limit, or when the plan reaches a lower bound and is optimal.
 *
 * Times are plain integers in whatever unit the caller uses. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _StrandPlannerProblem StrandPlannerProblem;

StrandPlannerProblem *strand_planner_problem_new (guint n_machines);
void strand_planner_problem_free (StrandPlannerProblem *problem);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPlannerProblem, strand_planner_problem_free)

/* Adds an operation that cannot start before `release`; returns its index. */
guint strand_planner_problem_add_op (StrandPlannerProblem *problem, gint64 release);
/* The operation may run on `machine` for `duration` (>= 0); should a
 * machine be given twice, the shorter duration counts. */
void strand_planner_problem_add_option (StrandPlannerProblem *problem, guint op, guint machine,
                                        gint64 duration);
/* `before` must end before `after` starts. */
void strand_planner_problem_add_precedence (StrandPlannerProblem *problem, guint before,
                                            guint after);
/* The machine is busy until `time` (a task already running). */
void strand_planner_problem_set_machine_ready (StrandPlannerProblem *problem, guint machine,
                                               gint64 time);
guint strand_planner_problem_op_count (const StrandPlannerProblem *problem);
guint strand_planner_problem_machine_count (const StrandPlannerProblem *problem);
/* A bound no plan can beat: the longest chain of shortest durations, and
 * for operations with a single machine, that machine's total load. */
gint64 strand_planner_problem_lower_bound (const StrandPlannerProblem *problem);

typedef struct {
  guint n_ops;
  guint *machine;  /* per operation */
  gint64 *start;   /* per operation */
  gint64 makespan; /* the latest end */
} StrandSchedule;

StrandSchedule *strand_schedule_new (guint n_ops);
void strand_schedule_free (StrandSchedule *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSchedule, strand_schedule_free)

/* Every operation on one of its machines for that machine's duration, not
 * before its release, its predecessors' ends or its machine's ready time,
 * and no two operations on one machine at once. On failure `error` says
 * which operation breaks which rule. */
gboolean strand_schedule_check (const StrandPlannerProblem *problem, const StrandSchedule *plan,
                                GError **error);

typedef struct {
  gint64 budget_us;        /* real time the search may take; 0: construct only */
  guint64 max_iterations;  /* 0: no limit */
  guint32 seed;            /* the search is deterministic for a seed and an iteration limit */
  gint64 stop_at;          /* stop once the makespan is this or less; 0: at the lower bound */
} StrandPlannerOptions;

/* Ten seconds, no iteration limit, seed 1. */
void strand_planner_options_init (StrandPlannerOptions *options);

typedef struct {
  gint64 initial_makespan;
  gint64 makespan;
  gint64 lower_bound;
  guint64 iterations;
  guint restarts;
  gint64 elapsed_us;
} StrandPlannerStats;

/* A first plan by list scheduling: at each step, of the operations that can
 * start earliest, the one with the most work after it, on the machine where
 * it ends first. NULL (with `error`) when the precedences have a cycle or an
 * operation has no machine. */
StrandSchedule *strand_planner_construct (const StrandPlannerProblem *problem, GError **error);
/* Searches from `initial` (NULL: a constructed plan) and returns the best
 * plan found, never worse than the start. `stats` may be NULL. */
StrandSchedule *strand_planner_improve (const StrandPlannerProblem *problem,
                                        const StrandSchedule *initial,
                                        const StrandPlannerOptions *options,
                                        StrandPlannerStats *stats, GError **error);

#define STRAND_PLANNER_ERROR (strand_planner_error_quark ())
GQuark strand_planner_error_quark (void);

typedef enum {
  STRAND_PLANNER_ERROR_INVALID,    /* the problem cannot be planned */
  STRAND_PLANNER_ERROR_INFEASIBLE, /* a plan breaks a rule (strand_schedule_check) */
} StrandPlannerError;

G_END_DECLS
