/* Fuzz target: what Slurm's commands print, through every parser of the
 * Slurm layer, and the maintenance windows and capacity made from what
 * parses. Seeds: output captured from the test cluster. */
#include <stdint.h>

#include "slurm.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_jobs (GPtrArray *jobs)
{
  if (jobs == NULL)
    return;
  for (guint i = 0; i < jobs->len; i++)
    {
      StrandSlurmJob *copy = strand_slurm_job_copy (jobs->pdata[i]);
      if (copy->id == NULL || copy->state_name == NULL)
        g_error ("a job without an id or state");
      (void) strand_slurm_job_state_is_final (copy->state);
      strand_slurm_job_free (copy);
    }
  g_ptr_array_unref (jobs);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  check_jobs (strand_slurm_parse_squeue (text, size, NULL));
  check_jobs (strand_slurm_parse_sacct (text, size, NULL));
  check_jobs (strand_slurm_parse_scontrol_jobs (text, size, NULL));

  g_autoptr (GPtrArray) nodes = strand_slurm_parse_sinfo (text, size, NULL);
  if (nodes != NULL)
    {
      StrandSlurmCapacity c;
      strand_slurm_capacity (nodes, NULL, &c);
      if (c.nodes_usable > c.nodes || c.nodes != nodes->len)
        g_error ("%u usable nodes of %u (%u listed)", c.nodes_usable, c.nodes, nodes->len);
      for (guint i = 0; i < nodes->len; i++)
        (void) strand_slurm_node_usable (nodes->pdata[i]);
    }

  g_autoptr (GPtrArray) resv = strand_slurm_parse_reservations (text, size, NULL);
  if (resv != NULL)
    {
      const gint64 horizon = (gint64) 1798761600 * G_USEC_PER_SEC;
      g_autoptr (GPtrArray) windows = strand_slurm_maintenance_windows (resv, NULL, horizon);
      for (guint i = 0; i < windows->len; i++)
        {
          const StrandMaintenance *m = windows->pdata[i];
          if (m->end_us < m->start_us)
            g_error ("a window that ends before it starts");
          if (i > 0 && ((StrandMaintenance *) windows->pdata[i - 1])->start_us > m->start_us)
            g_error ("windows out of order");
        }
    }

  /* The NUL-terminated parsers see the text up to its first NUL. */
  g_autofree char *str = g_strndup (text, size);
  g_autofree char *id = strand_slurm_parse_sbatch (str, NULL);
  g_auto (GStrv) hosts = strand_slurm_hostlist_expand (str, 4096, NULL);
  if (hosts != NULL && g_strv_length (hosts) > 4096)
    g_error ("host list beyond its limit");
  return 0;
}
