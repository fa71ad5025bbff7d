/* `strand reproduce RUN`: run a recorded run again from its records alone
 * and compare every stage's outputs with the recorded ones. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "runner-reproduce.h"

int
strand_cmd_reproduce (int argc, char **argv)
{
  g_auto (StrandPluginOptions) options = { 0 };
  g_autofree char *store_dir = NULL;
  g_autofree char *into = NULL;
  gboolean json = FALSE;
  int jobs = 0;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store_dir),
    { "into", 0, 0, G_OPTION_ARG_FILENAME, &into,
      "The fresh store to reproduce into (default: ./strand-reproduce-RUN)", "DIR" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Tasks at once (default: the machine's cores)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the comparison as JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context =
      g_option_context_new ("RUN - run a recorded run again and compare its outputs");
  g_option_context_add_main_entries (context, entries, NULL);
  strand_cli_add_plugin_options (context, &options);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2 || jobs < 0)
    {
      fprintf (stderr, "strand: reproduce takes one RUN id\n");
      return STRAND_EXIT_USAGE;
    }
  g_autofree char *store = strand_cli_store_dir (store_dir);
  g_autofree char *dest = into ? g_strdup (into) : g_strdup_printf ("strand-reproduce-%s", argv[1]);
  g_autoptr (StrandRegistry) registry = strand_cli_load_registry (&options, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandReproduction) repro =
      strand_reproduce_run (store, argv[1], registry, dest, (guint) jobs, &error);
  if (repro == NULL)
    {
      fprintf (stderr, "strand: reproduce %s: %s\n", argv[1], error->message);
      return STRAND_EXIT_FAILED;
    }
  if (json)
    {
      g_autoptr (JsonNode) node = strand_reproduction_to_json (repro);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, node);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    {
      for (guint i = 0; i < repro->tasks->len; i++)
        {
          const StrandReproducedTask *t = repro->tasks->pdata[i];
          if (strcmp (t->status, "match") == 0)
            continue;
          printf ("  %-12s %-14s %s%s\n", t->sample, t->stage, t->status,
                  strcmp (t->status, "mismatch") == 0 && !t->deterministic
                      ? " (the stage is not deterministic)" : "");
          for (guint k = 0; k < t->recorded->len; k++)
            printf ("      recorded   %s\n", (char *) t->recorded->pdata[k]);
          for (guint k = 0; k < t->reproduced->len; k++)
            printf ("      reproduced %s\n", (char *) t->reproduced->pdata[k]);
        }
      printf ("run %s reproduced as %s in %s: %u task%s match, %u differ in deterministic stages, "
              "%u in stages that are not deterministic, %u missing\n",
              repro->run_id, repro->new_run_id, repro->into, repro->matched,
              repro->matched == 1 ? "" : "s", repro->mismatched,
              repro->mismatched_nondeterministic, repro->missing);
    }
  return strand_reproduction_ok (repro) ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}
