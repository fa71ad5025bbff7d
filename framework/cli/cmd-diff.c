/* strand diff RUN1 RUN2 [--json]: exit 0 when the outputs are the same, 1
 * when they differ, 2 on trouble (as diff(1) does). */
#include <stdio.h>

#include "cli.h"
#include "run-diff.h"
#include "run-records.h"

int
strand_cmd_diff (int argc, char **argv)
{
  g_autofree char *store = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "RUN1 RUN2 - what differs between two runs: stages, plugins, parameters, inputs, outputs");
  g_option_context_set_description (context,
                                    "Exit status: 0 when both runs made the same outputs, 1 when "
                                    "they differ, 2 on trouble.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 3)
    {
      fprintf (stderr, "strand: diff takes two runs\n");
      return STRAND_EXIT_USAGE;
    }
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandRunRecords) first = strand_run_records_load (dir, argv[1], &error);
  g_autoptr (StrandRunRecords) second = first ? strand_run_records_load (dir, argv[2], &error) : NULL;
  if (second == NULL)
    {
      fprintf (stderr, "strand: diff: %s\n", error->message);
      return 2;
    }
  gboolean same = FALSE;
  g_autoptr (JsonNode) diff = strand_run_diff (first, second, &same);
  if (json)
    {
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, diff);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    {
      g_autofree char *text = strand_run_diff_format (diff);
      fputs (text, stdout);
    }
  return same ? 0 : 1;
}
