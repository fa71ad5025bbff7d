#include <stdio.h>

#include "cli.h"
#include "validator.h"

int
strand_cmd_validate (int argc, char **argv)
{
  g_auto (StrandPluginOptions) options = { 0 };
  g_autofree char *samples_path = NULL;
  g_autofree char *equipment_path = NULL;
  g_autofree char *reference = NULL;
  gboolean json = FALSE, deep = FALSE, no_data = FALSE, no_stage_checks = FALSE;
  double stage_timeout = 0;
  GOptionEntry entries[] = {
    { "samples", 's', 0, G_OPTION_ARG_FILENAME, &samples_path, "Sample sheet (JSON or TSV)", "FILE" },
    { "equipment", 'e', 0, G_OPTION_ARG_FILENAME, &equipment_path, "Equipment inventory (JSON)", "FILE" },
    { "reference", 0, 0, G_OPTION_ARG_FILENAME, &reference, "Reference FASTA (CRAM inputs, contig checks)", "FASTA" },
    { "deep", 0, 0, G_OPTION_ARG_NONE, &deep, "Read whole input files, not a prefix", NULL },
    { "no-data", 0, 0, G_OPTION_ARG_NONE, &no_data, "Do not open the samples' input files", NULL },
    { "no-stage-checks", 0, 0, G_OPTION_ARG_NONE, &no_stage_checks,
      "Do not call the stages' own checks (their plugins' validate callbacks)", NULL },
    { "stage-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &stage_timeout,
      "Seconds one stage check may take (default: 10)", "SECONDS" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the report as JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context =
      g_option_context_new ("PIPELINE - find every problem before a run starts");
  g_option_context_add_main_entries (context, entries, NULL);
  strand_cli_add_plugin_options (context, &options);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2)
    {
      fprintf (stderr, "strand: validate takes one PIPELINE file\n");
      return STRAND_EXIT_USAGE;
    }
  if (!(stage_timeout >= 0 && stage_timeout <= 86400))
    {
      fprintf (stderr, "strand: --stage-timeout takes seconds from 0 to 86400\n");
      return STRAND_EXIT_USAGE;
    }
  g_autoptr (StrandRegistry) registry = strand_cli_load_registry (&options, json);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (StrandPipeline) pipeline = strand_pipeline_load (argv[1], problems);
  g_autoptr (GPtrArray) samples = samples_path ? strand_samples_load (samples_path, problems) : NULL;
  g_autoptr (StrandInventory) inventory =
      equipment_path ? strand_inventory_load (equipment_path, problems) : NULL;
  StrandValidateOptions vo = { .deep = deep, .skip_data = no_data, .reference = reference,
                              .skip_stage_checks = no_stage_checks,
                              .stage_timeout_us = (gint64) (stage_timeout * G_USEC_PER_SEC) };
  if (pipeline != NULL)
    strand_validate (pipeline, registry, samples, inventory, &vo, problems);
  guint errors = strand_problems_errors (problems);
  guint warnings = problems->len - errors;
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "valid");
      json_builder_add_boolean_value (b, errors == 0);
      json_builder_set_member_name (b, "errors");
      json_builder_add_int_value (b, errors);
      json_builder_set_member_name (b, "warnings");
      json_builder_add_int_value (b, warnings);
      json_builder_set_member_name (b, "problems");
      json_builder_add_value (b, strand_problems_to_json (problems));
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, root);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    {
      strand_cli_print_problems (problems, stdout);
      g_autoptr (GString) verdict = g_string_new (argv[1]);
      if (errors)
        g_string_append_printf (verdict, ": invalid: %u error%s", errors, errors == 1 ? "" : "s");
      else
        g_string_append (verdict, ": valid");
      if (warnings)
        g_string_append_printf (verdict, errors ? ", %u warning%s" : " (%u warning%s)", warnings,
                                warnings == 1 ? "" : "s");
      printf ("%s\n", verdict->str);
    }
  return errors == 0 ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}
