/* A facility on the discrete-event clock: samples arrive, the real
 * scheduler (scheduler.h) puts their stages onto the equipment, and the
 * report says how well the equipment was used and what happened to the
 * samples.
 *
 * A facility file (schemas/facility.schema.json) names the equipment (an
 * inventory inline or a path, equipment.h), the stages (each on an
 * equipment class, with a duration distribution), the route every sample
 * takes through them, and an arrival process: Poisson arrivals at a rate,
 * with a mix of sample types (their degradation, degradation.h), clinical
 * classes and due times in given proportions.
 *
 * The run is deterministic for a seed: every random draw comes from one
 * generator, made in event order, and the clock's events at the same time
 * run in the order they were scheduled. Each sample's durations are drawn
 * when it arrives; the scheduler only sees each stage's mean as its
 * estimate, as a real host sees a plugin's expected time.
 *
 * What the report holds:
 *   utilization  per machine over the period (utilization.h), from the
 *                status history the simulated executor gives the monitor;
 *   bound        for each equipment class on the route: its slot time
 *                within operating hours and outside maintenance windows,
 *                divided by the mean time each sample needs on that
 *                class. The smallest is the bottleneck bound: no schedule
 *                passes more samples through that class in the period;
 *   throughput   samples that finished their bottleneck stage in the
 *                period (the line's pace is its bottleneck's) and samples
 *                that finished the route;
 *   misses       samples flagged by the scheduler (they could no longer be
 *                processed in time, and were withdrawn), plus samples that
 *                ended late because a stage ran longer than expected;
 *   unavoidable  misses that an earliest-deadline-first check also has:
 *                each stage up to the deadline is relaxed to one machine
 *                as fast as all machines of its class that are open at
 *                the time, preemptive, and given each sample's true
 *                durations; a sample that misses its deadline there (or
 *                cannot meet it at all) counts as unavoidable. That
 *                check is optimistic, so "avoidable" is an upper bound;
 *   age          time from collection to the start of the stage that
 *                stabilises the sample (its first stage when none does),
 *                averaged over the samples that reached it. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "degradation.h"
#include "equipment.h"
#include "priority.h"
#include "problems.h"

G_BEGIN_DECLS

typedef enum {
  STRAND_DURATION_FIXED = 0,
  STRAND_DURATION_UNIFORM,
  STRAND_DURATION_LOGNORMAL,
} StrandDurationModel;

typedef struct {
  StrandDurationModel model;
  double hours;     /* fixed */
  double min_hours; /* uniform */
  double max_hours;
  double mean_hours; /* lognormal: the mean of the distribution */
  double sigma;      /* lognormal: standard deviation of its logarithm */
} StrandDuration;

/* The mean, in microseconds. */
gint64 strand_duration_mean_us (const StrandDuration *duration);

typedef struct {
  char *id;
  char *equipment_class;
  StrandDuration duration;
  gboolean stabilises; /* once it ends, the sample no longer degrades */
} StrandFacilityStage;

typedef struct {
  double proportion;          /* normalised to sum to 1 on loading */
  char *sample_type;          /* from the sample-types table; NULL: usable_hours */
  double usable_hours;        /* without a type: 0 means it does not degrade */
  StrandClinicalClass clinical;
  double due_hours;           /* after collection; 0: no due time */
  double transit_hours;       /* collection to arrival */
  gint64 usable_for_us;       /* resolved: G_MAXINT64 when it does not degrade */
} StrandFacilityMix;

typedef struct {
  char *name;
  char *path;
  gint64 start_us;          /* wall time the run starts at */
  double days;              /* default length of a run */
  StrandInventory *inventory;
  GPtrArray *stages;        /* StrandFacilityStage, declaration order */
  GArray *route;            /* guint: stage indices in order */
  double arrivals_per_hour;
  GArray *arrival_hours;    /* double: fixed arrival times after the start,
                             * ascending; empty: Poisson at the rate */
  GArray *mix;              /* StrandFacilityMix */
  gboolean failures;        /* machines fail per their reliability */
  double repair_hours;
  StrandSampleTypes *sample_types; /* NULL when no mix entry names a type */
  StrandPriorityConfig priority;   /* the facility's policy ("priority"), else defaults */
} StrandFacility;

void strand_facility_free (StrandFacility *facility);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandFacility, strand_facility_free)

/* Reads a facility file. Every problem (code, JSON pointer, message) goes
 * to `problems`; NULL when there is any error. An inventory or sample-types
 * path is read relative to the facility file's directory. */
StrandFacility *strand_facility_load (const char *path, GPtrArray *problems);
StrandFacility *strand_facility_load_data (const char *data, gsize len, const char *name,
                                           GPtrArray *problems);

typedef struct {
  guint64 seed;
  double days;        /* 0: the facility's */
  guint max_samples;  /* arrivals stop after this many; 0: no limit */
  const char *metrics_path; /* HDF5 metrics file to append to; NULL: none */
} StrandSimulateOptions;

void strand_simulate_options_init (StrandSimulateOptions *options);

typedef struct {
  char *id;
  char *equipment_class;
  double utilization;      /* busy / available during operating hours */
  double busy_hours;
  double available_hours;
  double scheduled_hours;  /* operating hours outside maintenance */
  guint tasks;
  guint failures;
} StrandSimEquipment;

typedef struct {
  char *equipment_class;
  guint machines;
  guint slots;
  double slot_hours;        /* scheduled slot time in the period */
  double hours_per_sample;  /* mean time each sample needs on the class */
  double bound;             /* samples the class can take in the period */
  guint passed;             /* samples that finished their stages on it */
} StrandSimClass;

typedef struct {
  gint64 start_us;
  gint64 end_us;
  guint64 seed;
  guint arrived;
  guint completed;          /* finished the route in the period */
  guint in_progress;        /* neither finished nor withdrawn at the end */
  guint flagged;            /* withdrawn by the scheduler: could not be on time */
  guint late;               /* finished a deadline-bound stage after its deadline */
  guint misses;             /* flagged + late */
  guint unavoidable;        /* of those, missed by the EDF check too */
  guint avoidable;          /* misses - unavoidable */
  guint interrupted;        /* tasks cut short by failures and requeued */
  guint failures;
  double mean_age_hours;    /* collection to processing; NAN when none */
  guint aged;               /* samples the mean is over */
  GPtrArray *classes;       /* StrandSimClass, route order of first use */
  guint bottleneck;         /* index in classes */
  double throughput;        /* samples through the bottleneck in the period */
  double throughput_ratio;  /* throughput / bottleneck bound */
  GPtrArray *equipment;     /* StrandSimEquipment, inventory order */
  guint64 decisions;
} StrandSimReport;

void strand_sim_report_free (StrandSimReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSimReport, strand_sim_report_free)

/* Runs the facility from its start for the given days on the discrete
 * clock (the process's clock is switched to discrete time and left
 * there). The facility's inventory is used in place: its health counters
 * move as the machines work. NULL and `error` only when the metrics file
 * cannot be written. */
StrandSimReport *strand_simulate (StrandFacility *facility, const StrandSimulateOptions *options,
                                  GError **error);

/* The report as JSON (schema-free, stable member names). */
JsonNode *strand_sim_report_to_json (const StrandSimReport *report, const StrandFacility *facility);

G_END_DECLS
