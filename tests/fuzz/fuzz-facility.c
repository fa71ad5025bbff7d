/* Fuzz target: facility files for strand simulate. Any bytes must give a
 * facility or problems that each name a place, never a crash; a facility
 * that loads must hold what the simulator relies on. */
#include <math.h>
#include <stdint.h>

#include "simulate.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandFacility) f =
      strand_facility_load_data ((const char *) data, size, "fuzz.json", problems);
  for (guint i = 0; i < problems->len; i++)
    {
      StrandProblem *p = problems->pdata[i];
      if (p->where == NULL || p->message == NULL || !g_utf8_validate (p->message, -1, NULL))
        g_error ("a problem without a place or with a non-UTF-8 message");
    }
  if (f == NULL)
    {
      if (strand_problems_errors (problems) == 0)
        g_error ("no facility and no error");
      return 0;
    }
  if (f->route->len == 0 || f->mix->len == 0 || f->inventory == NULL)
    g_error ("a facility without a route, a mix or equipment");
  double total = 0;
  for (guint i = 0; i < f->mix->len; i++)
    total += g_array_index (f->mix, StrandFacilityMix, i).proportion;
  if (fabs (total - 1) > 1e-6)
    g_error ("mix proportions add up to %g", total);
  for (guint i = 0; i < f->route->len; i++)
    if (g_array_index (f->route, guint, i) >= f->stages->len)
      g_error ("a route step past the stages");
  for (guint i = 0; i < f->stages->len; i++)
    if (strand_duration_mean_us (&((StrandFacilityStage *) f->stages->pdata[i])->duration) <= 0)
      g_error ("a stage with no duration");
  return 0;
}
