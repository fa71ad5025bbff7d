/* Predictive maintenance: how worn a machine is, when its next service is
 * due, and how likely it is to fail before a task would finish.
 *
 * The inventory (equipment.h) gives each machine an optional "service"
 * member (the last service, a calendar interval, usage counters since that
 * service with due thresholds) and an optional "reliability" member (a
 * failure-rate estimate or a Weibull hazard). The monitor
 * (equipment-monitor.h) keeps the counters and the failure history current
 * from what it observes; the scheduler asks strand_health_accepts() before it
 * puts a long task on a machine that is nearly due, so the task is not cut
 * short by the service it could not finish before.
 *
 * Two counter names mean something to the host: "runs" (tasks started on
 * the machine) and "hours" (hours it was busy). Any other name (lamp_hours,
 * flowcells, cycles...) counts whatever the instrument reports in its feed's
 * "usage" member. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "problems.h"

G_BEGIN_DECLS

#define STRAND_COUNTER_RUNS "runs"
#define STRAND_COUNTER_HOURS "hours"

typedef struct {
  char *name;
  double count; /* since the last service */
  double due;   /* service is due when count reaches it; 0: no threshold */
} StrandUsageCounter;

typedef enum {
  STRAND_RELIABILITY_NONE = 0, /* no estimate in the inventory: failures observed
                                * by the monitor give the rate model */
  STRAND_RELIABILITY_RATE,     /* constant hazard: failures per operating hour */
  STRAND_RELIABILITY_WEIBULL,  /* hazard growing (shape > 1) with age since service */
} StrandReliabilityModel;

typedef struct {
  gint64 last_service_us;     /* wall time; G_MININT64 when unknown */
  gint64 service_interval_us; /* calendar service every so often; 0: none */
  GArray *counters;           /* StrandUsageCounter, sorted by name */
  StrandReliabilityModel model;
  /* Rate model: a Gamma(failures, hours) prior from the inventory's history,
   * pooled with what the monitor observes; the estimate is the posterior mean
   * (prior_failures + observed_failures) / (prior_hours + observed_hours). */
  double prior_failures;
  double prior_hours;
  /* Weibull: P(alive at age t) = exp(-(t / scale)^shape), t in hours since
   * the last service (the "hours" counter when there is one, else calendar
   * hours since last_service_us, else 0). Observed failures do not refit it. */
  double weibull_shape;
  double weibull_scale_hours;
  /* Kept by the monitor: failures seen and operating hours (up or busy). */
  guint observed_failures;
  double observed_hours;
} StrandHealth;

StrandHealth *strand_health_new (void);
void strand_health_free (StrandHealth *health);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandHealth, strand_health_free)

/* Reads the "service" and "reliability" members of one inventory entry
 * (`object`, at JSON pointer `where`) into a new health record. Problems
 * (code, where, message) go to `problems`; what is wrong is left out. */
StrandHealth *strand_health_load (JsonObject *object, const char *where, const char *id,
                                  GPtrArray *problems);

/* The counter of that name, or NULL. */
StrandUsageCounter *strand_health_counter (StrandHealth *health, const char *name);
/* Adds `amount` to a counter, creating it (no threshold) when it is new. */
void strand_health_count (StrandHealth *health, const char *name, double amount);
/* A service at `when_us`: every counter back to 0, age 0. */
void strand_health_serviced (StrandHealth *health, gint64 when_us);

/* When service is due, as far as the machine's state says now. */
typedef struct {
  gboolean due_now;     /* a counter has reached its threshold or the calendar date passed */
  const char *reason;   /* the counter that is (or comes) due first, or "calendar"; NULL: none */
  double remaining;     /* in that counter's unit (hours for "calendar"); 0 when due */
  /* The earliest wall time it can fall due: the calendar date, or now plus
   * the remaining busy hours; G_MAXINT64 when no date bounds it (runs and
   * instrument counters have none). */
  gint64 earliest_us;
} StrandDue;

void strand_health_due (const StrandHealth *health, gint64 now_us, StrandDue *due);

/* The failure rate per operating hour the rate model gives (prior pooled
 * with observations); FALSE when there is no data at all. */
gboolean strand_health_failure_rate (const StrandHealth *health, double *per_hour);

/* The probability that the machine fails within the next `duration_us` of
 * operation, given it has not failed yet (for Weibull, at its current age).
 * FALSE, with 0, when no model and no observation give an estimate. */
gboolean strand_health_failure_probability (const StrandHealth *health, gint64 now_us,
                                            gint64 duration_us, double *probability);

/* Whether the machine can take a task of `duration_us` that adds `runs`
 * runs, started at `now_us`, without running into due service: no counter
 * due now or passed by the task ("runs" by `runs`, "hours" by the duration),
 * the calendar date not before the task's end, and the failure probability
 * over the task at most `max_failure_probability` (1: not checked). When it
 * cannot, `why` (may be NULL) receives one line saying which limit. */
gboolean strand_health_accepts (const StrandHealth *health, gint64 now_us, gint64 duration_us,
                                guint runs, double max_failure_probability, char **why);

/* {"last_service", "service_every_days", "counters": {NAME: {"count", "due"}},
 * "due": {"now", "reason", "remaining", "earliest"}, "reliability": {"model",
 * "failures_per_hour", "failure_probability_24h"}} for reports. */
JsonNode *strand_health_to_json (const StrandHealth *health, gint64 now_us);

G_END_DECLS
