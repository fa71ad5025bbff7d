/* Fuzz target: sample sheets, JSON and TSV (the first non-space byte picks
 * the parser). Any bytes must give samples or problems, never a crash. */
#include <stdint.h>

#include "samples.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (GPtrArray) samples =
      strand_samples_load_data ((const char *) data, size, "fuzz.tsv", "/nonexistent", problems);
  for (guint i = 0; i < problems->len; i++)
    {
      StrandProblem *p = problems->pdata[i];
      if (p->where == NULL || p->message == NULL || !g_utf8_validate (p->message, -1, NULL))
        g_error ("a problem without a place or with a non-UTF-8 message");
    }
  return 0;
}
