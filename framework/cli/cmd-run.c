#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run-report.h"
#include "runner.h"
#include "validator.h"

static void
on_task (const StrandTaskRecord *record, gpointer user_data)
{
  gboolean quiet = GPOINTER_TO_INT (user_data);
  if (quiet)
    return;
  const StrandTaskResult *r = record->result;
  if (r == NULL)
    printf ("  %-12s %-14s skipped (an upstream stage failed)\n", record->sample_id,
            record->stage_id);
  else if (r->ok)
    printf ("  %-12s %-14s ok      %6.2f s\n", record->sample_id, record->stage_id,
            (double) (r->end_us - r->start_us) / G_USEC_PER_SEC);
  else
    printf ("  %-12s %-14s FAILED  %s: %s\n", record->sample_id, record->stage_id,
            strand_error_class_name (r->error_class), r->message ? r->message : "");
  fflush (stdout);
}

static void print_summary (const StrandRun *run, const char *store_dir);

static int
execute (StrandPipeline *pipeline, GPtrArray *samples, const char *store_option,
         const char *quota_option, const char *runs_option, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *store_dir = strand_cli_store_dir (store_option);
  g_autoptr (StrandProvenance) prov = strand_cli_open_store (store_dir);
  if (prov == NULL)
    return STRAND_EXIT_FAILED;
  if (quota_option != NULL)
    {
      guint64 quota;
      if (!g_ascii_string_to_unsigned (quota_option, 10, 0, G_MAXUINT64, &quota, &error) ||
          !strand_store_set_quota (strand_provenance_store (prov), quota, &error))
        {
          fprintf (stderr, "strand: --store-quota: %s\n", error->message);
          return STRAND_EXIT_USAGE;
        }
    }
  g_autofree char *runs_dir = runs_option ? g_strdup (runs_option)
                                          : g_build_filename (store_dir, "runs", NULL);
  if (!json)
    printf ("running pipeline '%s' on %u sample%s\n", pipeline->name, samples->len,
            samples->len == 1 ? "" : "s");
  g_autoptr (StrandRun) run = strand_run_pipeline (pipeline, samples, prov, runs_dir, on_task,
                                                   GINT_TO_POINTER (json), &error);
  if (run == NULL)
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  if (json)
    {
      g_autoptr (JsonNode) node = strand_run_to_json (run, pipeline);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, node);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    {
      if (pipeline->report->len > 0)
        {
          g_autoptr (JsonNode) report = strand_run_report (run, pipeline);
          g_autofree char *table = strand_run_report_text (report);
          printf ("\n%s\n", table);
        }
      print_summary (run, store_dir);
    }
  return run->failed == 0 && run->skipped == 0 ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}

static void
print_summary (const StrandRun *run, const char *store_dir)
{
  printf ("run %s: %u task%s ok, %u failed, %u skipped\nsummary: %s/run.json\n"
          "provenance: %s lineage %s --store %s\n", run->run_id,
          run->succeeded, run->succeeded == 1 ? "" : "s", run->failed, run->skipped,
          run->run_dir, strand_cli_program, run->run_id, store_dir);
  printf ("outputs: %s export %s --ro-crate DIR --store %s (or archive %s -o FILE.tar.zst)\n",
          strand_cli_program, run->run_id, store_dir, run->run_id);
}

int
strand_cmd_run (int argc, char **argv)
{
  g_auto (StrandPluginOptions) options = { 0 };
  g_autofree char *samples_path = NULL;
  g_autofree char *equipment_path = NULL;
  g_autofree char *runs_dir = NULL;
  g_autofree char *store_dir = NULL;
  g_autofree char *store_quota = NULL;
  g_auto (GStrv) run_inputs = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "samples", 's', 0, G_OPTION_ARG_FILENAME, &samples_path, "Sample sheet (JSON or TSV)", "FILE" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, &run_inputs,
      "The file of a per-run input (a reference genome), over the pipeline's", "NAME=FILE" },
    { "equipment", 'e', 0, G_OPTION_ARG_FILENAME, &equipment_path, "Equipment inventory (JSON)", "FILE" },
    STRAND_CLI_STORE_OPTION (store_dir),
    { "store-quota", 0, 0, G_OPTION_ARG_STRING, &store_quota,
      "Bound the store to BYTES (0: no bound); kept for later runs", "BYTES" },
    { "runs-dir", 0, 0, G_OPTION_ARG_FILENAME, &runs_dir,
      "Where run folders go (default: STORE/runs)", "DIR" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the run summary as JSON", NULL },
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
  return execute (pipeline, samples, store_dir, store_quota, runs_dir, json);
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
  return execute (pipeline, samples, store_dir, store_quota, runs_dir, json);
}
