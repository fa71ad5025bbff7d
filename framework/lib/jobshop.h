/* Job-shop instances: the yardstick for allocation quality.
 *
 * The classic job shop (each job a chain of operations, each operation on
 * one given machine) and the flexible one (each operation on one of several
 * machines, each with its own duration) are the scheduling literature's
 * standard tests, with published optimal or best-known makespans. This
 * module reads the two usual text formats, runs an instance through the
 * host's own scheduler on the discrete-event clock (jobs are samples,
 * operations their tasks, machines equipment) and checks the resulting
 * schedule on its own, without trusting the scheduler or the planner.
 *
 * Formats (blank lines and lines starting with '#' are skipped):
 *   classic   "JOBS MACHINES", then one line per job of "MACHINE DURATION"
 *             pairs in processing order; machines numbered from 0.
 *   flexible  "JOBS MACHINES [AVERAGE]", then one line per job: the number
 *             of operations, then for each operation the number of machines
 *             it may use followed by that many "MACHINE DURATION" pairs;
 *             machines numbered from 1 (Brandimarte's files) or from 0 (as
 *             some collections convert them): a file that uses machine 0
 *             is read as numbered from 0. */
#pragma once

#include <glib.h>

#include "planner.h"
#include "scheduler.h"

G_BEGIN_DECLS

typedef enum {
  STRAND_JOBSHOP_AUTO = 0, /* classic if it reads as one, else flexible */
  STRAND_JOBSHOP_CLASSIC,
  STRAND_JOBSHOP_FLEXIBLE,
} StrandJobShopFormat;

typedef struct {
  guint machine;
  gint64 duration;
} StrandShopOption;

typedef struct {
  char *name;
  gboolean flexible;
  guint n_jobs;
  guint n_machines;
  guint n_ops;
  guint *job_start;  /* n_jobs + 1: job j's operations are [job_start[j], job_start[j + 1]) */
  guint *op_job;     /* per operation */
  guint *opt_start;  /* n_ops + 1: operation k's options are [opt_start[k], opt_start[k + 1]) */
  StrandShopOption *options;
} StrandJobShop;

void strand_jobshop_free (StrandJobShop *shop);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandJobShop, strand_jobshop_free)

#define STRAND_JOBSHOP_ERROR (strand_jobshop_error_quark ())
GQuark strand_jobshop_error_quark (void);

typedef enum {
  STRAND_JOBSHOP_ERROR_PARSE,      /* "NAME:LINE: what is wrong" */
  STRAND_JOBSHOP_ERROR_INFEASIBLE, /* a schedule breaks a rule */
  STRAND_JOBSHOP_ERROR_FAILED,     /* the scheduler could not finish the shop */
} StrandJobShopError;

/* Reads an instance; `name` is used in error locations. Limits: 100,000
 * jobs and machines, 10,000,000 operations, durations up to 10^9. */
StrandJobShop *strand_jobshop_parse (const char *data, gsize len, const char *name,
                                     StrandJobShopFormat format, GError **error);
StrandJobShop *strand_jobshop_load (const char *path, StrandJobShopFormat format, GError **error);

/* Sum of all shortest durations; a bound on any schedule that never idles
 * every machine at once. */
gint64 strand_jobshop_total_work (const StrandJobShop *shop);

/* The instance as a planning problem (operations in the shop's order). */
StrandPlannerProblem *strand_jobshop_to_problem (const StrandJobShop *shop);

/* A schedule is a plan over the shop's operations (planner.h). Checks it
 * from the instance alone: every operation on one of its machines for that
 * machine's duration, after the previous operation of its job, no two
 * operations on one machine at once, and the makespan the latest end. */
gboolean strand_jobshop_check (const StrandJobShop *shop, const StrandSchedule *schedule,
                               GError **error);

/* Runs the shop through a new scheduler (`config` may be NULL) on the
 * discrete-event clock, which it switches to; time unit = one second. With
 * `plan` it first runs the planning pass with those options (`stats` may be
 * NULL; its makespans are then in the instance's unit). Returns the
 * schedule the scheduler produced. */
StrandSchedule *strand_jobshop_run (const StrandJobShop *shop, const StrandSchedulerConfig *config,
                                    const StrandPlannerOptions *plan, StrandPlannerStats *stats,
                                    GError **error);

G_END_DECLS
