/* strand simulate FACILITY.json: a facility on the discrete-event clock
 * with the real scheduler (simulate.h), and its report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "clock.h"
#include "simulate.h"

static void
print_text (const StrandSimReport *r, const StrandFacility *f)
{
  g_autofree char *start = strand_clock_format_rfc3339 (r->start_us);
  g_autofree char *end = strand_clock_format_rfc3339 (r->end_us);
  printf ("facility %s, seed %" G_GUINT64_FORMAT ", %s to %s\n", f->name, r->seed, start, end);
  printf ("samples: %u arrived, %u completed, %u in progress, %u flagged, %u late\n", r->arrived,
          r->completed, r->in_progress, r->flagged, r->late);
  if (isnan (r->mean_age_hours))
    printf ("mean age at processing: -\n");
  else
    printf ("mean age at processing: %.2f h (over %u samples)\n", r->mean_age_hours, r->aged);
  printf ("deadline misses: %u (%u unavoidable by an EDF check, %u avoidable)\n", r->misses,
          r->unavoidable, r->avoidable);
  printf ("\n%-16s %8s %6s %12s %12s %10s %8s\n", "CLASS", "MACHINES", "SLOTS", "SLOT HOURS",
          "H/SAMPLE", "BOUND", "PASSED");
  for (guint c = 0; c < r->classes->len; c++)
    {
      const StrandSimClass *sc = r->classes->pdata[c];
      printf ("%-16s %8u %6u %12.1f %12.3f %10.1f %8u%s\n", sc->equipment_class, sc->machines,
              sc->slots, sc->slot_hours, sc->hours_per_sample, sc->bound, sc->passed,
              c == r->bottleneck ? "  bottleneck" : "");
    }
  if (r->classes->len > 0)
    printf ("throughput: %.0f samples through the bottleneck, %.1f%% of its bound\n",
            r->throughput, 100 * r->throughput_ratio);
  printf ("\n%-20s %-12s %12s %10s %10s %7s %9s\n", "EQUIPMENT", "CLASS", "UTILIZATION", "BUSY H",
          "AVAIL H", "TASKS", "FAILURES");
  for (guint m = 0; m < r->equipment->len; m++)
    {
      const StrandSimEquipment *e = r->equipment->pdata[m];
      printf ("%-20s %-12s %11.1f%% %10.1f %10.1f %7u %9u\n", e->id, e->equipment_class,
              100 * e->utilization, e->busy_hours, e->available_hours, e->tasks, e->failures);
    }
  if (r->failures > 0)
    printf ("\n%u failures, %u tasks interrupted and requeued\n", r->failures, r->interrupted);
}

int
strand_cmd_simulate (int argc, char **argv)
{
  int samples = 0;
  double days = 0;
  gint64 seed = 1;
  gboolean json = FALSE;
  g_autofree char *metrics = NULL;
  GOptionEntry entries[] = {
    { "samples", 'n', 0, G_OPTION_ARG_INT, &samples,
      "Stop arrivals after N samples (default: arrivals go on for the whole run)", "N" },
    { "days", 'd', 0, G_OPTION_ARG_DOUBLE, &days, "Days to run (default: the facility's, or 7)",
      "D" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Seed of the random draws (default 1)", "S" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "metrics", 0, 0, G_OPTION_ARG_FILENAME, &metrics,
      "Append the equipment's status and daily utilization to this HDF5 file", "OUT.h5" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context =
      g_option_context_new ("FACILITY.json - run a facility on the discrete-event clock");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2)
    {
      fprintf (stderr, "strand: simulate takes one facility file\n");
      return STRAND_EXIT_USAGE;
    }
  if (samples < 0 || days < 0 || days > 3660 || seed < 0)
    {
      fprintf (stderr, "strand: --samples, --seed and --days must not be negative, and --days "
               "at most 3660\n");
      return STRAND_EXIT_USAGE;
    }
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandFacility) facility = strand_facility_load (argv[1], problems);
  strand_cli_print_problems (problems, stderr);
  if (facility == NULL)
    return STRAND_EXIT_FAILED;

  StrandSimulateOptions options;
  strand_simulate_options_init (&options);
  options.seed = (guint64) seed;
  options.days = days;
  options.max_samples = (guint) samples;
  options.metrics_path = metrics;
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandSimReport) report = strand_simulate (facility, &options, &error);
  if (report == NULL)
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  if (json)
    {
      g_autoptr (JsonNode) node = strand_sim_report_to_json (report, facility);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, node);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    print_text (report, facility);
  return STRAND_EXIT_OK;
}
