/* Fuzz target: sample-types tables, and every model's arithmetic on
 * whatever loads. Any bytes must give a table or problems, never a crash,
 * and a loaded type's limits must be sane. */
#include <math.h>
#include <stdint.h>

#include "degradation.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandSampleTypes) types =
      strand_sample_types_load_data ((const char *) data, size, "fuzz.json", problems);
  for (guint i = 0; i < problems->len; i++)
    {
      StrandProblem *p = problems->pdata[i];
      if (p->where == NULL || p->message == NULL || !g_utf8_validate (p->message, -1, NULL))
        g_error ("a problem without a place or with a non-UTF-8 message");
    }
  if (types == NULL)
    return 0;
  for (guint i = 0; i < types->types->len; i++)
    {
      const StrandSampleType *t = types->types->pdata[i];
      const double qualities[] = { NAN, 0, 0.5, 7, 1e6 };
      for (guint q = 0; q < G_N_ELEMENTS (qualities); q++)
        {
          gint64 span = strand_sample_type_usable_for_us (t, qualities[q]);
          if (span < 0)
            g_error ("type '%s': usable for %" G_GINT64_FORMAT " us", t->id, span);
          double v = strand_sample_type_value_at (t, qualities[q], span == G_MAXINT64 ? G_MAXINT64 / 2 : span);
          if (isnan (v) || v < 0)
            g_error ("type '%s': model value %g", t->id, v);
        }
    }
  return 0;
}
