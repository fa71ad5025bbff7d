/* Fuzz target: job-shop instance files, classic and flexible. Any bytes
 * must give an instance or one error naming its line, never a crash; a
 * small instance that loads is also scheduled and its schedule checked. */
#include <stdint.h>

#include "jobshop.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandJobShop) shop =
      strand_jobshop_parse ((const char *) data, size, "fuzz.txt", STRAND_JOBSHOP_AUTO, &error);
  if (shop == NULL)
    {
      if (error == NULL || !g_str_has_prefix (error->message, "fuzz.txt") ||
          !g_utf8_validate (error->message, -1, NULL))
        g_error ("a refusal without a place or with a non-UTF-8 message");
      return 0;
    }
  if (shop->n_ops == 0 || shop->n_ops > 200 || strand_jobshop_total_work (shop) > 100000)
    return 0;
  g_autoptr (StrandSchedule) plan = strand_jobshop_run (shop, NULL, NULL, NULL, &error);
  if (plan == NULL || !strand_jobshop_check (shop, plan, &error))
    g_error ("a loaded instance gave no feasible schedule: %s", error ? error->message : "?");
  return 0;
}
