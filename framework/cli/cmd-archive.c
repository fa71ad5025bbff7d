/* `strand archive RUN -o FILE.tar.zst` and `strand verify-archive FILE`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "run-archive.h"

int
strand_cmd_archive (int argc, char **argv)
{
  g_autofree char *store = NULL;
  g_autofree char *output = NULL;
  gboolean with_inputs = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "The archive to write (.tar.zst)", "FILE" },
    { "with-inputs", 0, 0, G_OPTION_ARG_NONE, &with_inputs,
      "Also the raw files the run read (they may be large)", NULL },
    STRAND_CLI_STORE_OPTION (store),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "RUN - a run's outputs and signed records in one checkable archive");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2 || output == NULL)
    {
      fprintf (stderr, "strand: archive takes one RUN id and -o FILE\n");
      return STRAND_EXIT_USAGE;
    }
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (StrandProvenance) prov = strand_cli_open_store (dir);
  if (prov == NULL)
    return STRAND_EXIT_FAILED;
  StrandArchiveOptions options = { .with_inputs = with_inputs };
  StrandArchiveSummary summary;
  g_autoptr (GError) error = NULL;
  if (!strand_archive_run (prov, argv[1], output, &options, &summary, &error))
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  printf ("%s: run %s, %u files (%" G_GUINT64_FORMAT " bytes), %u records\nsha256 %s\n", output,
          argv[1], summary.payload_files, summary.payload_bytes, summary.records, summary.sha256);
  return STRAND_EXIT_OK;
}

int
strand_cmd_verify_archive (int argc, char **argv)
{
  g_autofree char *extract = NULL;
  gint64 max_entry = 0, max_total = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "extract", 'x', 0, G_OPTION_ARG_FILENAME, &extract,
      "Also extract it into DIR (a new directory; removed again if anything is wrong)", "DIR" },
    { "max-entry-size", 0, 0, G_OPTION_ARG_INT64, &max_entry,
      "Refuse entries larger than BYTES (default 1 TiB)", "BYTES" },
    { "max-total-size", 0, 0, G_OPTION_ARG_INT64, &max_total,
      "Refuse archives that expand beyond BYTES (default 4 TiB)", "BYTES" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "FILE - check a run archive offline: manifests, signatures, that records made every file");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2 || max_entry < 0 || max_total < 0)
    {
      fprintf (stderr, "strand: verify-archive takes one FILE (and sizes >= 0)\n");
      return STRAND_EXIT_USAGE;
    }
  StrandArchiveLimits limits = { (guint64) max_entry, (guint64) max_total, 0 };
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_auto (StrandArchiveReport) report = { 0 };
  gboolean ok = strand_archive_verify (argv[1], extract, &limits, NULL, NULL, &report, problems);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, ok);
      json_builder_set_member_name (b, "run");
      json_builder_add_string_value (b, report.run_id);
      json_builder_set_member_name (b, "key_id");
      json_builder_add_string_value (b, report.key_id);
      json_builder_set_member_name (b, "files");
      json_builder_add_int_value (b, report.payload_files);
      json_builder_set_member_name (b, "records");
      json_builder_add_int_value (b, report.records);
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
      if (ok)
        printf ("%s: run %s, %u files, %u records signed by key %s: intact\n", argv[1],
                report.run_id, report.payload_files, report.records, report.key_id);
      else
        printf ("%s: REFUSED OR DAMAGED\n", argv[1]);
    }
  return ok ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}
