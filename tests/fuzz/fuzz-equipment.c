/* Fuzz target: equipment inventories, and the availability arithmetic on
 * whatever loads. */
#include <stdint.h>

#include "equipment.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandInventory) inventory =
      strand_inventory_load_data ((const char *) data, size, "fuzz.json", problems);
  if (inventory == NULL)
    return 0;
  const gint64 start = (gint64) 1798761600 * G_USEC_PER_SEC;
  for (guint i = 0; i < inventory->items->len; i++)
    {
      StrandEquipment *e = inventory->items->pdata[i];
      gint64 w = strand_equipment_longest_window (e, start, start + (gint64) 2 * 86400 * G_USEC_PER_SEC);
      if (w < 0 || w > (gint64) 2 * 86400 * G_USEC_PER_SEC)
        g_error ("window of %" G_GINT64_FORMAT " us outside the horizon", w);
    }
  return 0;
}
