/* The reference facility (packaging/facility/reference-facility.json)
 * under its saturating load, a simulated week per seed: utilization of the
 * bottleneck equipment during its operating hours (aim >= 95%), throughput
 * against the bottleneck bound (aim >= 98%), deadline misses an
 * earliest-deadline-first check shows were avoidable (aim 0), and the real
 * time a simulated week takes.
 *
 *   bench-simulate FACILITY.json [SEEDS]   (default 10 seeds) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "simulate.h"

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: bench-simulate FACILITY.json [SEEDS]\n");
      return 2;
    }
  guint seeds = argc > 2 ? (guint) atoi (argv[2]) : 10;
  seeds = CLAMP (seeds, 1, 1000);
  double *wall = g_new (double, seeds);
  double util_min = 1, util_sum = 0, ratio_min = G_MAXDOUBLE, ratio_sum = 0;
  guint avoidable = 0, misses = 0, arrived = 0;
  printf ("%-6s %9s %9s %11s %10s %9s %8s %10s\n", "SEED", "ARRIVED", "THROUGH", "BOUND",
          "RATIO", "UTIL", "MISSES", "WALL MS");
  for (guint i = 0; i < seeds; i++)
    {
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      g_autoptr (StrandFacility) f = strand_facility_load (argv[1], problems);
      if (f == NULL)
        {
          for (guint k = 0; k < problems->len; k++)
            fprintf (stderr, "%s: %s\n", ((StrandProblem *) problems->pdata[k])->where,
                     ((StrandProblem *) problems->pdata[k])->message);
          return 1;
        }
      StrandSimulateOptions o;
      strand_simulate_options_init (&o);
      o.seed = i + 1;
      o.days = 7;
      g_autoptr (GError) error = NULL;
      gint64 t0 = strand_clock_real_monotonic_us ();
      g_autoptr (StrandSimReport) r = strand_simulate (f, &o, &error);
      wall[i] = (double) (strand_clock_real_monotonic_us () - t0) / 1000;
      if (r == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      const StrandSimClass *b = r->classes->pdata[r->bottleneck];
      /* Busy over available time, over all machines of the bottleneck class. */
      double busy = 0, available = 0;
      for (guint m = 0; m < r->equipment->len; m++)
        {
          const StrandSimEquipment *e = r->equipment->pdata[m];
          if (strcmp (e->equipment_class, b->equipment_class) != 0)
            continue;
          busy += e->busy_hours;
          available += e->available_hours;
        }
      double util = available > 0 ? busy / available : 0;
      printf ("%-6u %9u %9.0f %11.1f %9.2f%% %8.2f%% %8u %10.2f\n", i + 1, r->arrived,
              r->throughput, b->bound, 100 * r->throughput_ratio, 100 * util, r->misses, wall[i]);
      util_min = MIN (util_min, util);
      util_sum += util;
      ratio_min = MIN (ratio_min, r->throughput_ratio);
      ratio_sum += r->throughput_ratio;
      avoidable += r->avoidable;
      misses += r->misses;
      arrived += r->arrived;
    }
  qsort (wall, seeds, sizeof *wall, compare_double);
  printf ("\nbottleneck utilization during operating hours: mean %.2f%%, worst %.2f%% (aim >= 95%%)\n",
          100 * util_sum / seeds, 100 * util_min);
  printf ("throughput / bottleneck bound: mean %.2f%%, worst %.2f%% (aim >= 98%%)\n",
          100 * ratio_sum / seeds, 100 * ratio_min);
  printf ("deadline misses: %u of %u samples, %u avoidable by the EDF check (aim 0)\n", misses,
          arrived, avoidable);
  printf ("wall time of a simulated week: median %.2f ms, worst %.2f ms\n", wall[seeds / 2],
          wall[seeds - 1]);
  g_free (wall);
  return 0;
}
