/* Priority recalculation with the scheduler's bookkeeping, for 10,000,
 * 100,000 and 1,000,000 samples in flight (aims: 100,000 under 5 ms,
 * 1,000,000 under 50 ms, and cost linear in the number of samples).
 *
 * Each sample has a two-task pipeline and a mix of classes and deadlines
 * (a quarter degrade within hours to two days, a quarter have a result due,
 * the rest neither). 16 machines of 8 slots run 30-minute tasks on the
 * discrete clock. Per round, half an hour passes: the 128 running tasks
 * end (their samples' critical paths are recomputed, their next tasks
 * become ready), priorities are brought up to the new time (a time shift
 * that moves samples between bands: the full vectorised pass), and a
 * decision starts the next 128. Reported: medians over the rounds of
 *   time shift   a recalculation after time alone has moved (no news)
 *   recalc       the same with the 128 finished tasks' bookkeeping
 *   decide       one decision (walk, placement, reservations)
 *
 *   bench-priority [SAMPLES...]   (default 10000 100000 1000000) */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "scheduler.h"

#define MIN_US ((gint64) 60 * G_USEC_PER_SEC)
#define HOUR_US (60 * MIN_US)
#define T0 ((gint64) 1799020800 * G_USEC_PER_SEC)
#define ROUNDS 15

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), compare_double);
  return v[n / 2];
}

static double
ms_since (gint64 t0)
{
  return (strand_clock_real_monotonic_us () - t0) / 1000.0;
}

static void
run (guint n)
{
  strand_clock_use_discrete (T0);
  StrandSchedulerConfig config;
  strand_scheduler_config_init (&config);
  g_autoptr (StrandScheduler) s = strand_scheduler_new (&config);
  for (guint m = 0; m < 16; m++)
    {
      g_autofree char *id = g_strdup_printf ("c%02u", m);
      strand_scheduler_add_machine (s, id, "compute", 8);
    }
  g_autoptr (GRand) rnd = g_rand_new_with_seed (42);
  gint64 t = strand_clock_real_monotonic_us ();
  for (guint i = 0; i < n; i++)
    {
      char id[32];
      g_snprintf (id, sizeof id, "S%07u", i);
      StrandSampleInfo info = { .id = id, .clinical = (StrandClinicalClass) g_rand_int_range (rnd, 0, 3),
                                .arrived_us = T0 - g_rand_int_range (rnd, 0, 24 * 60) * MIN_US,
                                .usable_until_us = G_MAXINT64, .due_us = G_MAXINT64 };
      switch (i % 4)
        {
        case 0:
          info.usable_until_us = T0 + g_rand_int_range (rnd, 4 * 60, 48 * 60) * MIN_US;
          break;
        case 1:
          info.due_us = T0 + g_rand_int_range (rnd, 8 * 60, 96 * 60) * MIN_US;
          break;
        default:
          break;
        }
      guint smp = strand_scheduler_add_sample (s, &info);
      StrandTaskInfo first = { .stage = "prepare", .equipment_class = "compute", .estimate_us = 30 * MIN_US };
      guint a = strand_scheduler_add_task (s, smp, &first);
      StrandTaskInfo second = { .stage = "analyse", .equipment_class = "compute",
                                .estimate_us = 30 * MIN_US, .after = &a, .n_after = 1 };
      strand_scheduler_add_task (s, smp, &second);
    }
  double load_ms = ms_since (t);
  g_autoptr (GArray) flags = g_array_new (FALSE, FALSE, sizeof (StrandSampleFlag));
  t = strand_clock_real_monotonic_us ();
  strand_scheduler_take_flags (s, flags);
  double first_ms = ms_since (t);

  g_autoptr (GArray) running = g_array_new (FALSE, FALSE, sizeof (StrandAssignment));
  strand_scheduler_decide (s, running);
  double shift[ROUNDS], recalc[ROUNDS], decide[ROUNDS];
  guint full_passes = 0;
  for (int r = 0; r < ROUNDS; r++)
    {
      /* Time alone: ten minutes in, no news. */
      gint64 before = strand_priority_next_change_us (strand_scheduler_priorities (s));
      strand_clock_advance_us (10 * MIN_US);
      full_passes += strand_clock_now_us () >= before;
      t = strand_clock_real_monotonic_us ();
      strand_scheduler_take_flags (s, flags);
      shift[r] = ms_since (t);
      /* The rest of the half hour: the running tasks end. */
      strand_clock_advance_us (20 * MIN_US);
      for (guint k = 0; k < running->len; k++)
        strand_scheduler_task_finished (s, g_array_index (running, StrandAssignment, k).task);
      t = strand_clock_real_monotonic_us ();
      strand_scheduler_take_flags (s, flags);
      recalc[r] = ms_since (t);
      g_array_set_size (running, 0);
      t = strand_clock_real_monotonic_us ();
      strand_scheduler_decide (s, running);
      decide[r] = ms_since (t);
    }
  double m_shift = median (shift, ROUNDS), m_recalc = median (recalc, ROUNDS), m_decide = median (decide, ROUNDS);
  printf ("%9u %10.2f %10.2f %9.3f %9.3f %9.3f %12.1f %10u %8u\n", n, load_ms, first_ms, m_shift,
          m_recalc, m_decide, m_recalc * 1e6 / n, full_passes, flags->len);
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  printf ("# medians of %d rounds; times in ms; ns/sample is the recalculation's\n", ROUNDS);
  printf ("%9s %10s %10s %9s %9s %9s %12s %10s %8s\n", "samples", "load", "first", "shift",
          "recalc", "decide", "ns/sample", "fullpass", "flagged");
  if (argc > 1)
    for (int i = 1; i < argc; i++)
      run ((guint) strtoul (argv[i], NULL, 10));
  else
    {
      run (10000);
      run (100000);
      run (1000000);
    }
  return 0;
}
