/* A run scheduled as a facility expects: samples in order of urgency,
 * samples past their stability window stopped (or run late, when the
 * operator says so, and recorded either way), instruments used only when
 * they are open and out of maintenance, and a task no machine can hold
 * failed at once with a reason instead of waiting for ever. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "clock.h"
#include "degradation.h"
#include "equipment-health.h"
#include "runner.h"
#include "test-run.h"
#include "test-util.h"
#include "validator.h"

#define HOUR_US ((gint64) 3600 * G_USEC_PER_SEC)

static char *tmp;
static StrandRegistry *registry;

static StrandInventory *
inventory_from (const char *json)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inv = strand_inventory_load_data (json, strlen (json), "inv.json", problems);
  for (guint i = 0; i < problems->len; i++)
    g_error ("%s", ((StrandProblem *) problems->pdata[i])->message);
  g_assert_nonnull (inv);
  return inv;
}

static StrandSample *
sample (const char *id, const char *priority)
{
  StrandSample *s = strand_sample_new (id);
  s->priority = g_strdup (priority);
  return s;
}

/* Runs in a store of its own, `name`-N. */
static StrandRun *
run_with (StrandPipeline *p, GPtrArray *samples, const char *name, const StrandRunOptions *opt)
{
  g_autofree char *store = strand_test_fresh_dir (tmp, name);
  return strand_test_run (registry, p, samples, store, NULL, opt);
}

static const char *one_stage =
    "{\"name\": \"t\", \"stages\": [{\"id\": \"work\", \"plugin\": \"noop-stage\"}], \"edges\": []}";

/* One task at a time: a stat sample listed last goes first, then urgent,
 * then routine in sheet order. */
static void
test_priority_order (void)
{
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, one_stage, NULL);
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  g_ptr_array_add (samples, sample ("R1", "routine"));
  g_ptr_array_add (samples, sample ("R2", "routine"));
  g_ptr_array_add (samples, sample ("U1", "urgent"));
  g_ptr_array_add (samples, sample ("S1", "stat"));
  StrandRunOptions opt = { .jobs = 1 };
  g_autoptr (StrandRun) run = run_with (p, samples, "priority", &opt);
  g_assert_cmpstr (run->status, ==, "complete");
  const char *expected[] = { "S1", "U1", "R1", "R2" };
  for (guint k = 0; k + 1 < G_N_ELEMENTS (expected); k++)
    {
      StrandTaskRecord *a = strand_test_task (run, expected[k], "work");
      StrandTaskRecord *b = strand_test_task (run, expected[k + 1], "work");
      g_assert_cmpint (a->result->end_us, <=, b->result->start_us);
    }
}

static const char *material_pipeline =
    "{\"name\": \"t\", \"stages\": ["
    " {\"id\": \"extract\", \"plugin\": \"noop-stage\","
    "  \"resources\": {\"equipment_class\": \"extraction\", \"expected_seconds\": 600}},"
    " {\"id\": \"work\", \"plugin\": \"sleep-stage\", \"params\": {\"seconds\": 0}}],"
    " \"edges\": []}";

static const char *robot_inventory =
    "{\"equipment\": [{\"id\": \"robot1\", \"class\": \"extraction\", \"capacity\": 1}]}";

static const char *four_hour_type =
    "{\"sample_types\": [{\"id\": \"edta\", \"model\": \"window\", \"window_hours\": 4,"
    " \"source\": \"test\"}]}";

static GPtrArray *
collected_samples (void)
{
  GPtrArray *samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  gint64 now = strand_clock_now_us ();
  StrandSample *fresh = sample ("FRESH", "routine");
  fresh->type = g_strdup ("edta");
  fresh->collected_us = now - HOUR_US;
  StrandSample *old = sample ("OLD", "routine");
  old->type = g_strdup ("edta");
  old->collected_us = now - 10 * HOUR_US;
  g_ptr_array_add (samples, fresh);
  g_ptr_array_add (samples, old);
  return samples;
}

static void
keep_counts (const StrandTaskRecord *record, const StrandRunCounts *counts, gpointer user_data)
{
  *(StrandRunCounts *) user_data = *counts;
}

/* A sample whose material expired before it could be extracted stops with
 * a "late" decision; the others run, on the instrument of their class. With
 * accept_late it runs, and the decision says it was late. */
static void
test_late_sample (void)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandSampleTypes) types =
      strand_sample_types_load_data (four_hour_type, strlen (four_hour_type), "types.json", problems);
  g_assert_nonnull (types);
  g_assert_cmpuint (problems->len, ==, 0);
  g_autoptr (StrandInventory) inv = inventory_from (robot_inventory);
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, material_pipeline, NULL);

  g_autoptr (GPtrArray) samples = collected_samples ();
  StrandRunCounts last = { 0 };
  StrandRunOptions opt = { .jobs = 2, .inventory = inv, .sample_types = types,
                           .progress = keep_counts, .user_data = &last };
  g_autoptr (StrandRun) run = run_with (p, samples, "late", &opt);
  g_assert_cmpstr (run->status, ==, "failed");
  /* What the progress line last showed: one sample through, one stopped. */
  g_assert_cmpuint (last.samples, ==, 2);
  g_assert_cmpuint (last.samples_done, ==, 1);
  g_assert_cmpuint (last.samples_failed, ==, 1);
  g_assert_cmpuint (last.samples_running, ==, 0);
  g_assert_cmpstr (strand_test_task (run, "FRESH", "extract")->status, ==, "ok");
  g_assert_cmpstr (strand_test_task (run, "FRESH", "extract")->equipment, ==, "robot1");
  g_assert_cmpstr (strand_test_task (run, "FRESH", "work")->status, ==, "ok");
  g_assert_null (strand_test_task (run, "FRESH", "work")->equipment); /* compute here: no named machine */
  StrandTaskRecord *old = strand_test_task (run, "OLD", "extract");
  g_assert_cmpstr (old->status, ==, "skipped");
  g_assert_cmpint (old->attempts, ==, 0);
  g_assert_true (
      strand_test_has_decision (old, "late: sample OLD can no longer be processed in time (usable until"));
  g_assert_cmpstr (strand_test_task (run, "OLD", "work")->status, ==, "skipped");

  g_autoptr (GPtrArray) samples2 = collected_samples ();
  StrandRunOptions late = { .jobs = 2, .inventory = inv, .sample_types = types, .accept_late = TRUE };
  g_autoptr (StrandRun) run2 = run_with (p, samples2, "accept-late", &late);
  g_assert_cmpstr (run2->status, ==, "complete");
  g_assert_true (strand_test_has_decision (strand_test_task (run2, "OLD", "extract"), "accept-late: sample OLD"));
  g_assert_false (strand_test_has_decision (strand_test_task (run2, "FRESH", "extract"), "accept-late"));

  /* The same samples as data (no stage handles material): nothing is late. */
  g_autoptr (StrandPipeline) data_only = strand_test_pipeline (registry, one_stage, NULL);
  g_autoptr (GPtrArray) samples3 = collected_samples ();
  StrandRunOptions plain = { .jobs = 2, .sample_types = types };
  g_autoptr (StrandRun) run3 = run_with (data_only, samples3, "data-only", &plain);
  g_assert_cmpstr (run3->status, ==, "complete");
}

/* The first "waiting for equipment until" the progress saw. */
static void
keep_waiting (const StrandTaskRecord *record, const StrandRunCounts *counts, gpointer user_data)
{
  StrandRunCounts *seen = user_data;
  if (seen->next_start_us == 0 && counts->next_start_us != 0)
    *seen = *counts;
}

/* An instrument in maintenance takes its task when the window ends; on the
 * discrete clock the run gets there at once. A machine closed by its hours
 * waits for them the same way. */
static void
test_maintenance_wait (void)
{
  /* Saturday 2026-11-28 10:00 UTC. */
  gint64 start = 1795860000LL * G_USEC_PER_SEC;
  strand_clock_use_virtual (start);
  g_autofree char *inv_json = g_strdup_printf (
      "{\"equipment\": ["
      " {\"id\": \"robot1\", \"class\": \"extraction\", \"capacity\": 1,"
      "  \"maintenance\": [{\"start\": \"2026-11-28T09:00:00Z\", \"end\": \"2026-11-28T13:00:00Z\","
      "   \"reason\": \"service\"}]},"
      " {\"id\": \"seq1\", \"class\": \"sequencer\", \"capacity\": 1,"
      "  \"hours\": [{\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"],"
      "   \"start\": \"07:00\", \"end\": \"19:00\"}]}]}");
  g_autoptr (StrandInventory) inv = inventory_from (inv_json);
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"t\", \"stages\": ["
      " {\"id\": \"extract\", \"plugin\": \"noop-stage\","
      "  \"resources\": {\"equipment_class\": \"extraction\", \"expected_seconds\": 600}},"
      " {\"id\": \"sequence\", \"plugin\": \"noop-stage\","
      "  \"resources\": {\"equipment_class\": \"sequencer\", \"expected_seconds\": 3600}}],"
      " \"edges\": []}", NULL);
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  g_ptr_array_add (samples, sample ("S1", "routine"));
  StrandRunCounts seen = { 0 };
  StrandRunOptions opt = { .jobs = 1, .inventory = inv, .progress = keep_waiting, .user_data = &seen };
  g_autoptr (StrandRun) run = run_with (p, samples, "maintenance", &opt);
  /* The progress line said when the robot would be back. */
  g_assert_cmpint (seen.next_start_us, ==, start + 3 * HOUR_US);
  strand_clock_use_real ();
  g_assert_cmpstr (run->status, ==, "complete");
  StrandTaskRecord *extract = strand_test_task (run, "S1", "extract");
  g_assert_cmpstr (extract->equipment, ==, "robot1");
  g_assert_cmpint (extract->result->start_us, >=, start + 3 * HOUR_US); /* after 13:00 */
  g_assert_cmpint (extract->result->start_us, <, start + 4 * HOUR_US);
  StrandTaskRecord *seq = strand_test_task (run, "S1", "sequence");
  g_assert_cmpstr (seq->equipment, ==, "seq1");
  /* Monday 07:00 UTC. */
  g_assert_cmpint (seq->result->start_us, >=, start + (24 + 21) * HOUR_US);
  g_assert_cmpint (seq->result->start_us, <, start + (24 + 22) * HOUR_US);
}

/* No machine of the class has the memory: the task fails at once as a
 * configuration error that says so; the run does not wait. */
static void
test_unplaceable (void)
{
  g_autoptr (StrandInventory) inv = inventory_from (
      "{\"equipment\": [{\"id\": \"node1\", \"class\": \"compute\", \"capacity\": 2,"
      " \"cores\": 2, \"memory_bytes\": 1000000000}]}");
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"t\", \"stages\": [{\"id\": \"big\", \"plugin\": \"noop-stage\","
      " \"resources\": {\"memory_bytes\": 64000000000}}], \"edges\": []}", NULL);
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  g_ptr_array_add (samples, sample ("S1", "routine"));
  StrandRunOptions opt = { .jobs = 1, .inventory = inv };
  g_autoptr (StrandRun) run = run_with (p, samples, "unplaceable", &opt);
  g_assert_cmpstr (run->status, ==, "failed");
  StrandTaskRecord *t = strand_test_task (run, "S1", "big");
  g_assert_cmpstr (t->status, ==, "failed");
  g_assert_nonnull (t->result);
  g_assert_cmpint (t->result->error_class, ==, STRAND_ERROR_CONFIG);
  g_assert_nonnull (strstr (t->result->message, "no compute equipment can run it"));
}

/* The monitor hears of every task on named equipment: a robot one run
 * short of its service takes one task and no more; the rest go to the
 * other robot, and both robots' histories show them busy. */
static void
test_service_due (void)
{
  g_autoptr (StrandInventory) inv = inventory_from (
      "{\"equipment\": ["
      " {\"id\": \"robot1\", \"class\": \"extraction\", \"capacity\": 1,"
      "  \"service\": {\"counters\": {\"runs\": {\"count\": 9, \"due\": 10}}}},"
      " {\"id\": \"robot2\", \"class\": \"extraction\", \"capacity\": 1}]}");
  g_autoptr (StrandMonitor) monitor = strand_monitor_new (inv);
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry,
      "{\"name\": \"t\", \"stages\": [{\"id\": \"extract\", \"plugin\": \"noop-stage\","
      " \"resources\": {\"equipment_class\": \"extraction\", \"expected_seconds\": 60}}], \"edges\": []}", NULL);
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("S%u", i + 1);
      g_ptr_array_add (samples, sample (id, "routine"));
    }
  StrandRunOptions opt = { .jobs = 1, .inventory = inv, .monitor = monitor };
  g_autoptr (StrandRun) run = run_with (p, samples, "service", &opt);
  g_assert_cmpstr (run->status, ==, "complete");
  guint on_robot1 = 0;
  for (guint i = 0; i < run->tasks->len; i++)
    on_robot1 += g_strcmp0 (((StrandTaskRecord *) run->tasks->pdata[i])->equipment, "robot1") == 0;
  g_assert_cmpuint (on_robot1, ==, 1);
  StrandEquipment *robot1 = strand_monitor_equipment (monitor, "robot1");
  g_assert_cmpfloat (strand_health_counter (robot1->health, "runs")->count, ==, 10);
  for (const char *const *id = (const char *const[]){ "robot1", "robot2", NULL }; *id; id++)
    {
      g_assert_cmpint (strand_monitor_status (monitor, *id, NULL), ==, STRAND_EQUIPMENT_UP);
      g_autoptr (GArray) history = strand_monitor_history (monitor, *id, strand_clock_now_us ());
      gboolean busy = FALSE;
      for (guint k = 0; k < history->len; k++)
        busy |= g_array_index (history, StrandStatusInterval, k).status == STRAND_EQUIPMENT_BUSY;
      g_assert_true (busy);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-schedule-XXXXXX", NULL);
  registry = strand_test_registry (STRAND_PLUGIN_BUILD_DIR, STRAND_EXEC_PLUGIN_DIR, NULL);
  g_test_add_func ("/schedule/priority-order", test_priority_order);
  g_test_add_func ("/schedule/late-sample", test_late_sample);
  g_test_add_func ("/schedule/maintenance-wait", test_maintenance_wait);
  g_test_add_func ("/schedule/unplaceable", test_unplaceable);
  g_test_add_func ("/schedule/service-due", test_service_due);
  int rc = g_test_run ();
  strand_registry_free (registry);
  strand_test_remove_tree (tmp);
  g_free (tmp);
  return rc;
}
