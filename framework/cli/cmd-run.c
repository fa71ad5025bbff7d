#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "runner.h"

static void
print_problems (GPtrArray *problems, const char *file)
{
  for (guint i = 0; i < problems->len; i++)
    {
      const StrandProblem *p = problems->pdata[i];
      fprintf (stderr, "%s: %s%s: %s [%s]\n", file, p->warning ? "warning: " : "",
               *p->pointer ? p->pointer : "/", p->message, p->code);
    }
}

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

static int
execute (StrandPipeline *pipeline, GPtrArray *samples, const char *runs_dir, gboolean json)
{
  g_autoptr (GError) error = NULL;
  if (!json)
    printf ("running pipeline '%s' on %u sample%s\n", pipeline->name, samples->len,
            samples->len == 1 ? "" : "s");
  g_autoptr (StrandRun) run = strand_run_pipeline (pipeline, samples, runs_dir, on_task,
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
    printf ("run %s: %u task%s ok, %u failed, %u skipped\nsummary: %s/run.json\n", run->run_id,
            run->succeeded, run->succeeded == 1 ? "" : "s", run->failed, run->skipped,
            run->run_dir);
  return run->failed == 0 && run->skipped == 0 ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}

int
strand_cmd_run (int argc, char **argv)
{
  g_auto (StrandPluginOptions) options = { 0 };
  g_autofree char *samples_path = NULL;
  g_autofree char *runs_dir = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "samples", 's', 0, G_OPTION_ARG_FILENAME, &samples_path, "Sample sheet (JSON)", "FILE" },
    { "runs-dir", 0, 0, G_OPTION_ARG_FILENAME, &runs_dir,
      "Where run folders go (default: strand-runs)", "DIR" },
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

  /* Nothing starts unless the pipeline and samples are sound. */
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (argv[1], problems);
  if (pipeline != NULL)
    strand_pipeline_resolve (pipeline, registry, problems);
  print_problems (problems, argv[1]);
  guint errors = strand_problems_errors (problems);
  g_autoptr (GPtrArray) sample_problems = strand_problems_new ();
  g_autoptr (GPtrArray) samples = strand_samples_load (samples_path, sample_problems);
  print_problems (sample_problems, samples_path);
  errors += strand_problems_errors (sample_problems);
  if (pipeline == NULL || samples == NULL || errors > 0)
    {
      fprintf (stderr, "strand: %u problem%s found; nothing was run\n", errors,
               errors == 1 ? "" : "s");
      return STRAND_EXIT_FAILED;
    }
  return execute (pipeline, samples, runs_dir ? runs_dir : "strand-runs", json);
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
  g_autofree char *sample_id = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "param", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &params, "Set a parameter", "NAME=VALUE" },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, &inputs, "Feed a file to an input port",
      "PORT=FILE" },
    { "sample", 0, 0, G_OPTION_ARG_STRING, &sample_id, "Sample id (default: sample)", "ID" },
    { "runs-dir", 0, 0, G_OPTION_ARG_FILENAME, &runs_dir,
      "Where run folders go (default: strand-runs)", "DIR" },
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
  StrandStage *stage = strand_pipeline_add_stage (pipeline, argv[1], argv[1], NULL);
  for (char **p = params; p && *p; p++)
    {
      char *eq = strchr (*p, '=');
      if (eq == NULL || eq == *p)
        {
          fprintf (stderr, "strand: --param takes NAME=VALUE, not '%s'\n", *p);
          return STRAND_EXIT_USAGE;
        }
      *eq = '\0';
      strand_stage_set_param (stage, *p, eq + 1);
    }
  StrandSample *sample = g_new0 (StrandSample, 1);
  sample->id = g_strdup (sample_id ? sample_id : "sample");
  sample->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  sample->inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_task_input_free);
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  g_ptr_array_add (samples, sample);
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
      StrandTaskInput *ti = g_new0 (StrandTaskInput, 1);
      ti->port = g_strdup (*in);
      ti->path = g_canonicalize_filename (eq + 1, NULL);
      g_ptr_array_add (sample->inputs, ti);
      if (g_hash_table_add (declared, *in))
        {
          strand_pipeline_add_input (pipeline, *in, "any");
          g_autofree char *from = g_strdup_printf ("@%s", *in);
          g_autofree char *to = g_strdup_printf ("%s.%s", argv[1], *in);
          strand_pipeline_connect (pipeline, from, to);
        }
    }
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  strand_pipeline_resolve (pipeline, registry, problems);
  print_problems (problems, argv[1]);
  if (strand_problems_errors (problems) > 0)
    return STRAND_EXIT_FAILED;
  return execute (pipeline, samples, runs_dir ? runs_dir : "strand-runs", json);
}
