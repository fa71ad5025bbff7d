/* How long a sample stays usable: the sample-types table and its models.
 *
 * A facility keeps a table of sample types (packaging/sample-types.json,
 * schemas/sample-types.schema.json) that it edits to match its own
 * validation data. Each type names one model:
 *
 *   window       a hard stability window: usable for `window_hours` after
 *                collection, then not at all (e.g. EDTA blood for cfDNA);
 *   exponential  a quality score decays as q(t) = q0 * exp(-ln 2 * t / half_life)
 *                and the sample is usable while q(t) >= threshold (e.g. RIN
 *                of unfixed tissue); q0 is the sample's measured "quality"
 *                when the sheet gives one, else the type's initial_quality;
 *   weibull      the probability that the sample is still usable at age t is
 *                exp(-(t / scale)^shape), and it counts as usable while that
 *                is >= min_probability (e.g. nucleic acids in FFPE blocks).
 *
 * Every model reduces to one number, the age at which the sample stops being
 * usable, so the scheduler compares deadlines and never evaluates a model in
 * its inner loop. A sample names its type by "degradation_class" (or, when
 * that is absent, by "type"); a sample whose type is not in the table has no
 * degradation deadline. */
#pragma once

#include <glib.h>

#include "problems.h"
#include "samples.h"

G_BEGIN_DECLS

typedef enum {
  STRAND_DEGRADATION_WINDOW = 0,
  STRAND_DEGRADATION_EXPONENTIAL,
  STRAND_DEGRADATION_WEIBULL,
} StrandDegradationModel;

typedef struct {
  char *id;          /* what samples name in "degradation_class" */
  char *description;
  char *storage;     /* the conditions the figures hold for, e.g. "18-25 °C" */
  char *source;      /* where the figures come from */
  StrandDegradationModel model;
  double window_hours;      /* window */
  double initial_quality;   /* exponential: q0 when the sample states none */
  double threshold;         /* exponential: lowest usable quality */
  double half_life_hours;   /* exponential */
  double shape;             /* weibull */
  double scale_hours;       /* weibull */
  double min_probability;   /* weibull: lowest acceptable P(usable) */
  char *quality_unit;       /* exponential: e.g. "RIN"; may be NULL */
  char *where;              /* where it was declared, for problems */
} StrandSampleType;

typedef struct {
  GPtrArray *types;   /* StrandSampleType, in file order */
  GHashTable *by_id;  /* id -> StrandSampleType* (borrowed) */
} StrandSampleTypes;

void strand_sample_types_free (StrandSampleTypes *types);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSampleTypes, strand_sample_types_free)

/* Reads a sample-types table. Every problem (code, JSON pointer, message) is
 * appended to `problems`; an entry with a problem is left out. Returns NULL
 * only when the file is not a table at all. */
StrandSampleTypes *strand_sample_types_load (const char *path, GPtrArray *problems);
StrandSampleTypes *strand_sample_types_load_data (const char *data, gsize len, const char *name,
                                                  GPtrArray *problems);
/* The table installed with the host (datadir/strand/sample-types.json), or
 * the one STRAND_SAMPLE_TYPES names. */
StrandSampleTypes *strand_sample_types_load_default (GPtrArray *problems);

const StrandSampleType *strand_sample_types_lookup (const StrandSampleTypes *types, const char *id);
/* The entry for a sample: its degradation_class, else its type; NULL when
 * neither is in the table. */
const StrandSampleType *strand_sample_types_for_sample (const StrandSampleTypes *types,
                                                        const StrandSample *sample);

/* For how long after collection a sample of this type stays usable, in
 * microseconds; `quality` is the measured score at collection (NAN: the
 * type's initial quality; only the exponential model uses it). 0 when it is
 * unusable from the start; G_MAXINT64 when the model never crosses its limit. */
gint64 strand_sample_type_usable_for_us (const StrandSampleType *type, double quality);

/* The model's value at `age_us` after collection: the quality score
 * (exponential), the probability of being usable (weibull) or 1 then 0
 * (window). For reports. */
double strand_sample_type_value_at (const StrandSampleType *type, double quality, gint64 age_us);

/* When a sample stops being usable (wall time): its collection time plus
 * what its type allows, or G_MAXINT64 when it has no known type or no
 * collection time. */
gint64 strand_sample_usable_until (const StrandSampleTypes *types, const StrandSample *sample);

/* Checks samples against the table: a degradation_class the table does not
 * know is an error ("unknown-sample-type"); a sample with a model but no
 * collection time is a warning ("no-collection-time": nothing to count its
 * stability from). */
void strand_sample_types_check (const StrandSampleTypes *types, GPtrArray *samples,
                                GPtrArray *problems);

G_END_DECLS
