/* Fuzz target: STRAND_FAULTS specs. Any bytes must parse into rules or give
 * one error naming the rule, never a crash, a leak or a GLib critical; what
 * parses must answer every question the host asks of it. */
#include <stdint.h>
#include <string.h>

#include "faults.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandFaults) faults = strand_faults_parse (text, "fuzz", &error);
  if (faults == NULL)
    {
      if (error == NULL || !g_str_has_prefix (error->message, "fuzz: "))
        g_error ("a refused spec must say why, naming its source");
      return 0;
    }
  g_assert_no_error (error);
  strand_faults_start (faults, 1000000);
  for (int attempt = 1; attempt <= 3; attempt++)
    {
      strand_faults_for_task (faults, "qc", "S1", attempt);
      strand_faults_corrupt_bytes (faults, "lane1", NULL, attempt);
    }
  strand_faults_enospc_after (faults);
  strand_faults_kill_host_record (faults);
  strand_faults_tick (faults, G_MAXINT64 / 2);
  strand_faults_equipment_down (faults, "seq1", 5000000);
  strand_faults_next_equipment_event (faults, 0);
  return 0;
}
