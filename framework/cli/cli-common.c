/* What the subcommands share: option groups, parsing, the registry and the
 * store they work on, and how problems are printed. */
#include <stdio.h>

#include "cli.h"

const char *strand_cli_program = "strand";

void
strand_plugin_options_clear (StrandPluginOptions *options)
{
  g_clear_pointer (&options->plugin_dirs, g_strfreev);
}

void
strand_cli_add_plugin_options (GOptionContext *context, StrandPluginOptions *options)
{
  GOptionEntry entries[] = {
    { "plugin-dir", 'P', 0, G_OPTION_ARG_FILENAME_ARRAY, &options->plugin_dirs,
      "Look for plugins in DIR first (repeatable)", "DIR" },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &options->no_cache,
      "Open every plugin afresh; do not read or write the registry cache", NULL },
    G_OPTION_ENTRY_NULL
  };
  GOptionGroup *group = g_option_group_new ("plugins", "Plugin search options:",
                                            "Show plugin search options", NULL, NULL);
  g_option_group_add_entries (group, entries);
  g_option_context_add_group (context, group);
}

void
strand_cli_print_problem (const char *path, const GError *error)
{
  fprintf (stderr, "strand: plugin %s: %s [%s]\n", path, error->message,
           error->domain == STRAND_PLUGIN_ERROR
               ? strand_plugin_error_code_name (error->code) : "error");
}

StrandRegistry *
strand_cli_load_registry (const StrandPluginOptions *options, gboolean quiet)
{
  StrandRegistry *registry = strand_registry_new ();
  for (char **d = options->plugin_dirs; d && *d; d++)
    strand_registry_add_dir (registry, *d);
  strand_registry_add_default_dirs (registry);
  if (!options->no_cache)
    {
      g_autofree char *cache = strand_registry_default_cache_file ();
      strand_registry_set_cache_file (registry, cache);
    }
  strand_registry_scan (registry);
  GPtrArray *problems = strand_registry_problems (registry);
  for (guint i = 0; !quiet && i < problems->len; i++)
    {
      const StrandPluginProblem *p = problems->pdata[i];
      strand_cli_print_problem (p->path, p->error);
    }
  return registry;
}

gboolean
strand_cli_parse (GOptionContext *context, int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

void
strand_cli_print_problems (GPtrArray *problems, FILE *to)
{
  for (guint i = 0; i < problems->len; i++)
    {
      const StrandProblem *p = problems->pdata[i];
      fprintf (to, "%s: %s%s [%s]\n", p->where, p->warning ? "warning: " : "", p->message, p->code);
    }
}

char *
strand_cli_store_dir (const char *option)
{
  if (option != NULL)
    return g_strdup (option);
  const char *env = g_getenv ("STRAND_STORE");
  return g_strdup (env && *env ? env : "strand-store");
}

StrandProvenance *
strand_cli_open_store (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pub = g_build_filename (dir, "keys", "host.pub", NULL);
  if (!g_file_test (pub, G_FILE_TEST_EXISTS))
    {
      if (!strand_provenance_init (dir, &error))
        {
          fprintf (stderr, "strand: %s\n", error->message);
          return NULL;
        }
      fprintf (stderr, "strand: created store %s with a new host key (%s)\n", dir, pub);
    }
  StrandProvenance *prov = strand_provenance_open (dir, &error);
  if (prov == NULL)
    fprintf (stderr, "strand: %s\n", error->message);
  return prov;
}
