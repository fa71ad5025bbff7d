#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "executor-slurm.h"
#include "run-report.h"
#include "run-usage.h"
#include "runner.h"
#include "validator.h"

typedef struct {
  gboolean json;
  gboolean explain;
  gboolean tty;
  gboolean line_shown; /* a live line is on the terminal */
} Progress;

static void
clear_line (Progress *p)
{
  if (p->line_shown)
    {
      fputs ("\r\033[K", stdout);
      p->line_shown = FALSE;
    }
}

static void
on_progress (const StrandTaskRecord *record, const StrandRunCounts *c, gpointer user_data)
{
  Progress *p = user_data;
  if (p->json)
    return;
  if (record != NULL)
    {
      clear_line (p);
      const char *sample = record->sample_id ? record->sample_id : "(run)";
      const StrandTaskResult *r = record->result;
      const char *status = record->status;
      if (strcmp (status, "ok") == 0 && r)
        printf ("  %-12s %-14s ok      %6.2f s%s\n", sample, record->stage_id,
                (double) (r->end_us - r->start_us) / G_USEC_PER_SEC,
                record->attempts > 1 ? " (after retries)" : "");
      else if (strcmp (status, "cached") == 0)
        printf ("  %-12s %-14s cached  (verified output of an earlier run)\n", sample,
                record->stage_id);
      else if (strcmp (status, "failed") == 0 && r)
        printf ("  %-12s %-14s FAILED  %s: %s\n", sample, record->stage_id,
                strand_error_class_name (r->error_class), r->message ? r->message : "");
      else
        printf ("  %-12s %-14s %s\n", sample, record->stage_id,
                strcmp (status, "skipped") == 0 ? "skipped (an upstream stage or its sample failed)"
                                                : status);
      for (guint i = 0; i < record->decisions->len; i++)
        printf ("  %-12s %-14s   %s\n", "", "", (char *) record->decisions->pdata[i]);
      if (p->explain && record->explain && strcmp (status, "cached") != 0)
        printf ("  %-12s %-14s   ran because %s\n", "", "", record->explain);
    }
  if (p->tty)
    {
      clear_line (p);
      g_autofree char *eta = c->eta_us >= 0 ? g_strdup_printf (", ETA %" G_GINT64_FORMAT " s",
                                                               c->eta_us / G_USEC_PER_SEC)
                                            : g_strdup ("");
      g_autofree char *waiting = NULL;
      if (c->next_start_us > 0)
        {
          g_autofree char *when = strand_clock_format_rfc3339 (c->next_start_us);
          waiting = g_strdup_printf (", waiting for equipment until %s", when);
        }
      printf ("[samples: %u/%u done, %u failed, %u running; tasks: %u/%u done, %u skipped%s%s]",
              c->samples_done, c->samples, c->samples_failed, c->samples_running, c->done,
              c->total, c->skipped, eta, waiting ? waiting : "");
      p->line_shown = TRUE;
    }
  fflush (stdout);
}

/* What the operator reads when the run ends: the pipeline's figures per
 * sample and over the samples, how the equipment was used, and commands to
 * copy-paste for the outputs and their lineage. */
static void
print_summary (const StrandRun *run, const StrandPipeline *pipeline, const StrandInventory *inventory,
               const char *store_dir)
{
  const char *prog = strand_cli_program;
  if (pipeline->report->len > 0)
    {
      g_autoptr (JsonNode) report = strand_run_report (run, pipeline);
      g_autofree char *table = strand_run_report_text (report);
      printf ("\n%s\n", table);
    }
  printf ("run %s %s: %u task%s ok, %u reused, %u failed, %u skipped\n", run->run_id, run->status,
          run->succeeded, run->succeeded == 1 ? "" : "s", run->cached, run->failed, run->skipped);
  g_autoptr (JsonNode) usage = strand_run_usage (run, inventory);
  g_autofree char *usage_text = strand_run_usage_text (usage);
  fputs (usage_text, stdout);
  printf ("summary: %s/run.json\n", run->run_dir);

  g_autoptr (JsonNode) outputs = strand_run_outputs (run, pipeline);
  JsonObject *o = json_node_get_object (outputs);
  JsonArray *list = json_object_get_array_member (o, "outputs");
  g_autoptr (GString) made = g_string_new (NULL);
  guint64 bytes = 0;
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *e = json_array_get_object_element (list, i);
      gint64 files = json_object_get_int_member (e, "files");
      if (files == 0)
        continue;
      bytes += (guint64) json_object_get_int_member (e, "bytes");
      g_string_append_printf (made, "%s%" G_GINT64_FORMAT " %s", made->len ? ", " : "", files,
                              json_object_get_string_member (e, "output"));
    }
  if (made->len > 0)
    {
      /* GLib puts a no-break space between number and unit. */
      g_autofree char *size = g_format_size (bytes);
      g_auto (GStrv) parts = g_strsplit (size, "\u00a0", -1);
      g_autofree char *plain = g_strjoinv (" ", parts);
      printf ("outputs (%s in the store): %s\n", plain, made->str);
    }
  printf ("  all of them: %s export %s --ro-crate DIR --store %s\n"
          "  the run as one file: %s archive %s -o FILE.tar.zst --store %s\n",
          prog, run->run_id, store_dir, prog, run->run_id, store_dir);
  JsonObject *ex = json_object_get_null_member (o, "example") ? NULL
                                                               : json_object_get_object_member (o, "example");
  if (ex != NULL)
    {
      const char *sample = json_object_get_null_member (ex, "sample") ? NULL
                                                                       : json_object_get_string_member (ex, "sample");
      const char *name = json_object_get_string_member (ex, "name");
      const char *sha = json_object_get_string_member (ex, "sha256");
      printf ("%s%s%s (%s): copy it out, and see where it came from:\n"
              "  %s store get %s %s --store %s\n  %s lineage %s --store %s\n",
              sample ? sample : "", sample ? "'s " : "", json_object_get_string_member (ex, "output"),
              name, prog, sha, name, store_dir, prog, sha, store_dir);
    }
  printf ("the whole run's provenance: %s lineage %s --store %s\n", prog, run->run_id, store_dir);
  if (strcmp (run->status, "complete") != 0 && strcmp (run->status, "failed") != 0)
    printf ("resume with: %s run ... --resume --store %s\n", prog, store_dir);
}

typedef struct {
  const char *store;
  const char *quota;
  const char *runs;
  gboolean json;
  gboolean explain;
  int jobs;
  gboolean resume;
  double task_timeout;
  double grace;
  StrandRegistry *registry;
  StrandInventory *inventory;
  StrandSampleTypes *sample_types;
  gboolean accept_late;
  /* where tasks run */
  char *executor;
  char *partition;
  char *account;
  char *job_name;
  char *advertise;
  int max_workers;
  int worker_cores;
  char *worker_memory;
  double worker_time;
  double own_job_seconds;
} RunSettings;

static void
run_settings_clear (RunSettings *set)
{
  g_free (set->executor);
  g_free (set->partition);
  g_free (set->account);
  g_free (set->job_name);
  g_free (set->advertise);
  g_free (set->worker_memory);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RunSettings, run_settings_clear)

/* Slurm is asked for: by --executor slurm, or by compute equipment of the
 * inventory backed by a partition (its "slurm" member). */
static gboolean
slurm_equipment (const RunSettings *set)
{
  for (guint i = 0; set->inventory && i < set->inventory->items->len; i++)
    if (((StrandEquipment *) set->inventory->items->pdata[i])->slurm_partition != NULL)
      return TRUE;
  return FALSE;
}

static gboolean
wants_slurm (const RunSettings *set)
{
  return g_strcmp0 (set->executor, "slurm") == 0 || (set->executor == NULL && slurm_equipment (set));
}

/* The executor the options and the inventory ask for: NULL with no error
 * for the local one. Slurm is chosen by --executor slurm, or by compute
 * equipment of the inventory backed by a partition (its "slurm" member);
 * each such equipment is a pool of its own. */
static StrandExecutor *
make_executor (const RunSettings *set, const char *runs_dir, StrandMonitor *monitor, GError **error)
{
  gboolean backed = slurm_equipment (set);
  if (set->executor != NULL && g_strcmp0 (set->executor, "local") != 0 &&
      g_strcmp0 (set->executor, "slurm") != 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--executor takes 'local' or 'slurm', not '%s'", set->executor);
      return NULL;
    }
  if (!wants_slurm (set))
    {
      if (set->partition || set->account || set->max_workers || set->worker_cores || set->worker_memory)
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "--partition, --account and the --worker options are for --executor slurm");
      return NULL;
    }
  guint64 worker_memory = 0;
  if (set->max_workers < 0 || set->worker_cores < 0 || set->worker_time < 0 || set->own_job_seconds < 0 ||
      (set->worker_memory && !g_ascii_string_to_unsigned (set->worker_memory, 10, 1, G_MAXUINT64,
                                                           &worker_memory, NULL)))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--max-workers, --worker-cores, --worker-memory, --worker-time and "
                   "--own-job-seconds take positive numbers");
      return NULL;
    }
  g_autoptr (GArray) pools = g_array_new (FALSE, TRUE, sizeof (StrandSlurmPool));
  if (set->partition || set->account || !backed)
    {
      StrandSlurmPool pool = { .partition = set->partition, .account = set->account };
      g_array_append_val (pools, pool);
    }
  for (guint i = 0; set->inventory && i < set->inventory->items->len; i++)
    {
      StrandEquipment *e = set->inventory->items->pdata[i];
      if (e->slurm_partition == NULL)
        continue;
      StrandSlurmPool pool = { .id = e->id, .partition = e->slurm_partition,
                               .account = set->account ? set->account : e->slurm_account, .equipment = e };
      g_array_append_val (pools, pool);
    }
  g_autofree char *program = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *state_dir = g_build_filename (runs_dir, "slurm-workers", NULL);
  StrandSlurmExecutorOptions options = {
    .worker_program = program,
    .state_dir = state_dir,
    .advertise = set->advertise,
    .job_name = set->job_name,
    .pools = (const StrandSlurmPool *) pools->data,
    .n_pools = pools->len,
    .max_workers = (guint) set->max_workers,
    .worker_cores = (guint) set->worker_cores,
    .worker_memory_bytes = worker_memory,
    .worker_time_limit_s = (gint64) set->worker_time,
    .grace_us = (gint64) (set->grace * G_USEC_PER_SEC),
    .own_job_seconds = set->own_job_seconds,
    .monitor = monitor,
  };
  return strand_executor_slurm_new (&options, error);
}

static int
execute (StrandPipeline *pipeline, GPtrArray *samples, const RunSettings *set)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandFaults) faults = strand_faults_from_env (&error);
  if (error != NULL)
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return STRAND_EXIT_USAGE;
    }
  if (set->jobs < 0 || set->task_timeout < 0 || set->grace < 0)
    {
      fprintf (stderr, "strand: --jobs, --task-timeout and --grace take positive numbers\n");
      return STRAND_EXIT_USAGE;
    }
  g_autofree char *store_dir = strand_cli_store_dir (set->store);
  if (wants_slurm (set))
    {
      /* Worker jobs start elsewhere: every path they are given is absolute. */
      char *absolute = g_canonicalize_filename (store_dir, NULL);
      g_free (store_dir);
      store_dir = absolute;
    }
  g_autoptr (StrandProvenance) prov = strand_cli_open_store (store_dir);
  if (prov == NULL)
    return STRAND_EXIT_FAILED;
  if (set->quota != NULL)
    {
      guint64 quota;
      if (!g_ascii_string_to_unsigned (set->quota, 10, 0, G_MAXUINT64, &quota, &error) ||
          !strand_store_set_quota (strand_provenance_store (prov), quota, &error))
        {
          fprintf (stderr, "strand: --store-quota: %s\n", error->message);
          return STRAND_EXIT_USAGE;
        }
    }
  g_autofree char *runs_dir = set->runs ? g_canonicalize_filename (set->runs, NULL)
                                        : g_build_filename (store_dir, "runs", NULL);
  /* The run tells the monitor what runs where: equipment status records,
   * usage and service counters the scheduler reads. */
  g_autoptr (StrandMonitor) monitor = set->inventory ? strand_monitor_new (set->inventory) : NULL;
  if (monitor != NULL)
    strand_monitor_set_provenance (monitor, prov);
  g_autoptr (StrandExecutor) executor = make_executor (set, runs_dir, monitor, &error);
  if (error != NULL)
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return g_error_matches (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE) ? STRAND_EXIT_USAGE
                                                                              : STRAND_EXIT_FAILED;
    }
  if (!set->json)
    printf ("running pipeline '%s' on %u sample%s%s\n", pipeline->name, samples->len,
            samples->len == 1 ? "" : "s", set->resume ? ", reusing verified earlier outputs" : "");
  Progress progress = { .json = set->json, .explain = set->explain,
                        .tty = !set->json && isatty (STDOUT_FILENO) };
  StrandRunOptions options = {
    .jobs = (guint) set->jobs,
    .resume = set->resume,
    .task_timeout_us = (gint64) (set->task_timeout * G_USEC_PER_SEC),
    .grace_us = (gint64) (set->grace * G_USEC_PER_SEC),
    .handle_signals = TRUE,
    .registry = set->registry,
    .inventory = set->inventory,
    .sample_types = set->sample_types,
    .accept_late = set->accept_late,
    .faults = faults,
    .monitor = monitor,
    .executor = executor,
    .progress = on_progress,
    .user_data = &progress,
  };
  g_autoptr (StrandRun) run = strand_run_pipeline_with (pipeline, samples, prov, runs_dir, &options,
                                                        &error);
  clear_line (&progress);
  if (executor != NULL && strcmp (executor->klass->name, "slurm") == 0 && !set->json)
    {
      StrandSlurmExecutorStats st;
      strand_executor_slurm_stats (executor, &st);
      printf ("slurm: %u worker job%s, %u task%s sent, %u lost with a worker; logs in %s\n",
              st.jobs_submitted, st.jobs_submitted == 1 ? "" : "s", st.tasks_sent,
              st.tasks_sent == 1 ? "" : "s", st.tasks_lost, strand_executor_slurm_dir (executor));
    }
  /* Its jobs are cancelled now, whatever became of the run. */
  g_clear_pointer (&executor, strand_executor_free);
  if (run == NULL)
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  if (set->json)
    {
      g_autoptr (JsonNode) node = strand_run_to_json (run, pipeline);
      strand_run_summary_add (node, run, pipeline, set->inventory);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, node);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    print_summary (run, pipeline, set->inventory, store_dir);
  return strcmp (run->status, "complete") == 0 ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}

#define RUN_OPTIONS(set)                                                                      \
  { "jobs", 'j', 0, G_OPTION_ARG_INT, &(set).jobs,                                            \
    "Tasks at once (default: the machine's cores)", "N" },                                   \
  { "resume", 0, 0, G_OPTION_ARG_NONE, &(set).resume,                                         \
    "Reuse verified outputs of earlier runs; run only what changed", NULL },                  \
  { "explain", 0, 0, G_OPTION_ARG_NONE, &(set).explain,                                       \
    "Say why each task runs again (with --resume)", NULL },                                   \
  { "accept-late", 0, 0, G_OPTION_ARG_NONE, &(set).accept_late,                               \
    "Process samples that can no longer make their stability window or due time "           \
    "(recorded as late); otherwise they stop before any task starts", NULL },                 \
  { "task-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &(set).task_timeout,                           \
    "Wall-time limit of each task (0: none)", "SECONDS" },                                    \
  { "grace", 0, 0, G_OPTION_ARG_DOUBLE, &(set).grace,                                         \
    "Time a task asked to stop has before it is killed (default 10)", "SECONDS" },            \
  { "executor", 0, 0, G_OPTION_ARG_STRING, &(set).executor,                                   \
    "Where tasks run: local (worker processes here) or slurm (worker jobs on a cluster)",    \
    "local|slurm" },                                                                          \
  { "partition", 0, 0, G_OPTION_ARG_STRING, &(set).partition,                                 \
    "Slurm partition of the worker jobs (default: the cluster's)", "P" },                     \
  { "account", 0, 0, G_OPTION_ARG_STRING, &(set).account,                                     \
    "Slurm account the worker jobs are charged to", "A" },                                    \
  { "max-workers", 0, 0, G_OPTION_ARG_INT, &(set).max_workers,                                \
    "Slurm jobs at once (default 4)", "N" },                                                  \
  { "worker-cores", 0, 0, G_OPTION_ARG_INT, &(set).worker_cores,                              \
    "Cores of each worker job (default: sized from the tasks)", "N" },                        \
  { "worker-memory", 0, 0, G_OPTION_ARG_STRING, &(set).worker_memory,                         \
    "Memory of each worker job (default: sized from the tasks)", "BYTES" },                   \
  { "worker-time", 0, 0, G_OPTION_ARG_DOUBLE, &(set).worker_time,                             \
    "Time limit of each worker job (default: the partition's)", "SECONDS" },                  \
  { "own-job-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &(set).own_job_seconds,                     \
    "Tasks expected to run longer get a Slurm job of their own (default 3600)", "SECONDS" },  \
  { "job-name", 0, 0, G_OPTION_ARG_STRING, &(set).job_name,                                   \
    "Slurm job name of the worker jobs (default strand-worker)", "NAME" },                    \
  { "advertise", 0, 0, G_OPTION_ARG_STRING, &(set).advertise,                                 \
    "Host name the worker jobs connect back to (default: this machine's)", "HOST" }

int
strand_cmd_run (int argc, char **argv)
{
  g_auto (StrandPluginOptions) options = { 0 };
  g_autofree char *samples_path = NULL;
  g_autofree char *equipment_path = NULL;
  g_autofree char *runs_dir = NULL;
  g_autofree char *store_dir = NULL;
  g_autofree char *store_quota = NULL;
  g_autofree char *sample_types_path = NULL;
  g_auto (GStrv) run_inputs = NULL;
  gboolean json = FALSE;
  g_auto (RunSettings) set = { 0 };
  GOptionEntry entries[] = {
    { "samples", 's', 0, G_OPTION_ARG_FILENAME, &samples_path, "Sample sheet (JSON or TSV)", "FILE" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, &run_inputs,
      "The file of a per-run input (a reference genome), over the pipeline's", "NAME=FILE" },
    { "equipment", 'e', 0, G_OPTION_ARG_FILENAME, &equipment_path, "Equipment inventory (JSON)", "FILE" },
    { "sample-types", 0, 0, G_OPTION_ARG_FILENAME, &sample_types_path,
      "How long each sample type stays usable (default: the table installed with strand)", "FILE" },
    STRAND_CLI_STORE_OPTION (store_dir),
    { "store-quota", 0, 0, G_OPTION_ARG_STRING, &store_quota,
      "Bound the store to BYTES (0: no bound); kept for later runs", "BYTES" },
    { "runs-dir", 0, 0, G_OPTION_ARG_FILENAME, &runs_dir,
      "Where run folders go (default: STORE/runs)", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the run summary as JSON", NULL },
    RUN_OPTIONS (set),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PIPELINE - run a pipeline");
  g_option_context_add_main_entries (context, entries, NULL);
  strand_cli_add_plugin_options (context, &options);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2 || samples_path == NULL)
    {
      fprintf (stderr, "strand: run takes one PIPELINE file and --samples FILE\n");
      return STRAND_EXIT_USAGE;
    }
  g_autoptr (StrandRegistry) registry = strand_cli_load_registry (&options, FALSE);

  /* Nothing starts unless `strand validate` would pass. */
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (argv[1], problems);
  g_autoptr (GPtrArray) samples = strand_samples_load (samples_path, problems);
  for (char **in = run_inputs; pipeline && in && *in; in++)
    {
      char *eq = strchr (*in, '=');
      StrandPipelineInput *pin = NULL;
      if (eq != NULL && eq[1] != '\0')
        {
          *eq = '\0';
          pin = strand_pipeline_find_input (pipeline, *in);
        }
      if (pin == NULL || !pin->per_run)
        {
          fprintf (stderr, "strand: --input takes NAME=FILE for a per-run input of the pipeline, "
                           "not '%s'\n", *in);
          return STRAND_EXIT_USAGE;
        }
      g_free (pin->path);
      pin->path = g_canonicalize_filename (eq + 1, NULL);
    }
  g_autoptr (StrandInventory) inventory =
      equipment_path ? strand_inventory_load (equipment_path, problems) : NULL;
  /* Sample types say when each sample stops being usable: the scheduler's
   * priorities and late samples follow from them. */
  g_autoptr (StrandSampleTypes) sample_types = NULL;
  if (sample_types_path != NULL)
    sample_types = strand_sample_types_load (sample_types_path, problems);
  else
    {
      /* Without the installed table (an uninstalled build) the run goes on,
       * warned that no window is checked. */
      g_autoptr (GPtrArray) table_problems = strand_problems_new ();
      sample_types = strand_sample_types_load_default (table_problems);
      if (sample_types == NULL || strand_problems_errors (table_problems) > 0)
        {
          const StrandProblem *first = table_problems->len ? table_problems->pdata[0] : NULL;
          strand_problems_add (problems, TRUE, "no-sample-types", first ? first->where : "sample-types",
                               "no sample-types table could be read (%s): samples are not checked "
                               "against stability windows; give --sample-types FILE",
                               first ? first->message : "not found");
          g_clear_pointer (&sample_types, strand_sample_types_free);
        }
    }
  if (sample_types != NULL && samples != NULL)
    strand_sample_types_check (sample_types, samples, problems);
  if (pipeline != NULL && samples != NULL)
    strand_validate (pipeline, registry, samples, inventory, NULL, problems);
  strand_cli_print_problems (problems, stderr);
  guint errors = strand_problems_errors (problems);
  if (pipeline == NULL || samples == NULL || errors > 0)
    {
      fprintf (stderr, "strand: %u problem%s found; nothing was run\n", errors,
               errors == 1 ? "" : "s");
      return STRAND_EXIT_FAILED;
    }
  set.store = store_dir;
  set.quota = store_quota;
  set.runs = runs_dir;
  set.json = json;
  set.registry = registry;
  set.inventory = inventory;
  set.sample_types = sample_types;
  return execute (pipeline, samples, &set);
}

/* `strand plugins run NAME -p k=v -i port=FILE`: one stage on files, through
 * the same pipeline machinery as `strand run`. */
int
strand_cmd_plugins_run (int argc, char **argv)
{
  g_auto (StrandPluginOptions) options = { 0 };
  g_auto (GStrv) params = NULL;
  g_auto (GStrv) inputs = NULL;
  g_autofree char *runs_dir = NULL;
  g_autofree char *store_dir = NULL;
  g_autofree char *store_quota = NULL;
  g_autofree char *sample_id = NULL;
  g_autofree char *samples_path = NULL;
  gboolean json = FALSE;
  g_auto (RunSettings) set = { 0 };
  GOptionEntry entries[] = {
    { "param", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &params, "Set a parameter", "NAME=VALUE" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, &inputs, "Feed a file to an input port",
      "PORT=FILE" },
    { "sample", 0, 0, G_OPTION_ARG_STRING, &sample_id, "Sample id (default: sample)", "ID" },
    { "samples", 's', 0, G_OPTION_ARG_FILENAME, &samples_path,
      "The run's samples, for a per-run stage (JSON or TSV)", "FILE" },
    STRAND_CLI_STORE_OPTION (store_dir),
    { "store-quota", 0, 0, G_OPTION_ARG_STRING, &store_quota,
      "Bound the store to BYTES (0: no bound); kept for later runs", "BYTES" },
    { "runs-dir", 0, 0, G_OPTION_ARG_FILENAME, &runs_dir,
      "Where run folders go (default: STORE/runs)", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the run summary as JSON", NULL },
    RUN_OPTIONS (set),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("NAME - run one stage on files");
  g_option_context_add_main_entries (context, entries, NULL);
  strand_cli_add_plugin_options (context, &options);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2)
    {
      fprintf (stderr, "strand: plugins run takes one plugin NAME\n");
      return STRAND_EXIT_USAGE;
    }
  g_autoptr (StrandRegistry) registry = strand_cli_load_registry (&options, TRUE);

  g_autoptr (StrandPipeline) pipeline = strand_pipeline_new (argv[1]);
  pipeline->source = g_strdup ("(command line)");
  StrandStage *stage = strand_pipeline_add_stage (pipeline, argv[1], argv[1], NULL);
  const StrandPluginInfo *plugin = strand_registry_lookup (registry, argv[1], NULL);
  for (char **p = params; p && *p; p++)
    {
      char *eq = strchr (*p, '=');
      if (eq == NULL || eq == *p)
        {
          fprintf (stderr, "strand: --param takes NAME=VALUE, not '%s'\n", *p);
          return STRAND_EXIT_USAGE;
        }
      *eq = '\0';
      strand_stage_set_param_typed (stage, plugin, *p, eq + 1);
    }
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  gboolean per_run = plugin != NULL && (plugin->flags & STRAND_STAGE_PER_RUN) != 0;
  if (samples_path != NULL && (!per_run || sample_id != NULL))
    {
      fprintf (stderr, "strand: --samples is for a per-run stage, and replaces --sample\n");
      return STRAND_EXIT_USAGE;
    }
  g_autoptr (GPtrArray) samples = NULL;
  StrandSample *sample = NULL;
  if (samples_path != NULL)
    samples = strand_samples_load (samples_path, problems);
  else
    {
      samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
      sample = strand_sample_new (sample_id ? sample_id : "sample");
      sample->where = g_strdup ("(command line)");
      g_ptr_array_add (samples, sample);
    }
  if (samples == NULL)
    {
      strand_cli_print_problems (problems, stderr);
      return STRAND_EXIT_FAILED;
    }
  g_autoptr (GHashTable) declared = g_hash_table_new (g_str_hash, g_str_equal);
  for (char **in = inputs; in && *in; in++)
    {
      char *eq = strchr (*in, '=');
      if (eq == NULL || eq == *in || eq[1] == '\0')
        {
          fprintf (stderr, "strand: --input takes PORT=FILE, not '%s'\n", *in);
          return STRAND_EXIT_USAGE;
        }
      *eq = '\0';
      g_autofree char *path = g_canonicalize_filename (eq + 1, NULL);
      if (per_run)
        {
          /* A per-run stage's files belong to the run: one input each. */
          g_autofree char *name = g_strdup_printf ("%s-%u", *in, (guint) (in - inputs));
          StrandPipelineInput *pin = strand_pipeline_add_input (pipeline, name, "any");
          pin->per_run = TRUE;
          pin->path = g_steal_pointer (&path);
          g_autofree char *from = g_strdup_printf ("@%s", name);
          g_autofree char *to = g_strdup_printf ("%s.%s", argv[1], *in);
          strand_pipeline_connect (pipeline, from, to);
          continue;
        }
      strand_sample_add_file (sample, *in, path);
      if (g_hash_table_add (declared, *in))
        {
          strand_pipeline_add_input (pipeline, *in, "any");
          g_autofree char *from = g_strdup_printf ("@%s", *in);
          g_autofree char *to = g_strdup_printf ("%s.%s", argv[1], *in);
          strand_pipeline_connect (pipeline, from, to);
        }
    }
  StrandValidateOptions checks = { .skip_data = TRUE };
  strand_validate (pipeline, registry, samples, NULL, &checks, problems);
  strand_cli_print_problems (problems, stderr);
  if (strand_problems_errors (problems) > 0)
    return STRAND_EXIT_FAILED;
  set.store = store_dir;
  set.quota = store_quota;
  set.runs = runs_dir;
  set.json = json;
  set.registry = registry;
  return execute (pipeline, samples, &set);
}
