/* strand export RUN --prov-json [-o FILE] | --ro-crate DIR */
#include <stdio.h>

#include "cli.h"
#include "export-prov.h"
#include "export-rocrate.h"
#include "run-records.h"

int
strand_cmd_export (int argc, char **argv)
{
  g_autofree char *store = NULL, *output = NULL, *crate = NULL;
  gboolean prov_json = FALSE;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    { "prov-json", 0, 0, G_OPTION_ARG_NONE, &prov_json, "W3C PROV-JSON of the run", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the PROV-JSON to FILE (default: stdout)", "FILE" },
    { "ro-crate", 0, 0, G_OPTION_ARG_FILENAME, &crate, "Write an RO-Crate of the run, with its data, into the new directory DIR", "DIR" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "RUN - describe a run from its signed records, as PROV-JSON or an RO-Crate");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2 || prov_json == (crate != NULL) || (output && !prov_json))
    {
      fprintf (stderr, "strand: export takes one RUN and either --prov-json [-o FILE] or --ro-crate DIR\n");
      return STRAND_EXIT_USAGE;
    }
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandRunRecords) run = strand_run_records_load (dir, argv[1], &error);
  if (run == NULL)
    {
      fprintf (stderr, "strand: export: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  if (prov_json)
    {
      g_autoptr (JsonNode) doc = strand_export_prov_json (run);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, doc);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      if (output == NULL)
        {
          printf ("%s\n", text);
          return STRAND_EXIT_OK;
        }
      g_autofree char *with_newline = g_strconcat (text, "\n", NULL);
      if (!g_file_set_contents (output, with_newline, -1, &error))
        {
          fprintf (stderr, "strand: export: %s\n", error->message);
          return STRAND_EXIT_FAILED;
        }
      return STRAND_EXIT_OK;
    }
  g_autoptr (StrandProvenance) prov = strand_provenance_open (dir, &error);
  if (prov == NULL || !strand_export_rocrate (prov, run, crate, &error))
    {
      fprintf (stderr, "strand: export: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  printf ("crate of run %s: %s/ro-crate-metadata.json\n", run->run_id, crate);
  return STRAND_EXIT_OK;
}
