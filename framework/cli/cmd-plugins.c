#include <stdio.h>
#include <string.h>

#include "cli.h"

static void
print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static JsonNode *
problem_to_json (const char *path, const GError *error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "code");
  json_builder_add_string_value (b, strand_plugin_error_code_name (error->code));
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, error->message);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static int
cmd_list (int argc, char **argv)
{
  g_auto (StrandPluginOptions) options = { 0 };
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- list plugins");
  g_option_context_add_main_entries (context, entries, NULL);
  strand_cli_add_plugin_options (context, &options);
  if (!strand_cli_parse (context, &argc, &argv) || argc != 1)
    return STRAND_EXIT_USAGE;

  g_autoptr (StrandRegistry) registry = strand_cli_load_registry (&options, json);
  GPtrArray *plugins = strand_registry_plugins (registry);
  GPtrArray *problems = strand_registry_problems (registry);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "plugins");
      json_builder_begin_array (b);
      for (guint i = 0; i < plugins->len; i++)
        json_builder_add_value (b, strand_plugin_info_to_json (plugins->pdata[i]));
      json_builder_end_array (b);
      json_builder_set_member_name (b, "refused");
      json_builder_begin_array (b);
      for (guint i = 0; i < problems->len; i++)
        {
          const StrandPluginProblem *p = problems->pdata[i];
          json_builder_add_value (b, problem_to_json (p->path, p->error));
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
    }
  else
    {
      for (guint i = 0; i < plugins->len; i++)
        {
          const StrandPluginInfo *p = plugins->pdata[i];
          printf ("%-20s %-10s %s\n", p->name, p->version, p->description);
        }
      printf ("\n%u plugin%s, %u file%s refused\n", plugins->len, plugins->len == 1 ? "" : "s",
              problems->len, problems->len == 1 ? "" : "s");
    }
  return STRAND_EXIT_OK;
}

static char *
format_bytes (guint64 bytes)
{
  if (bytes == 0)
    return g_strdup ("-");
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static void
print_ports (const char *title, GPtrArray *ports)
{
  printf ("\n%s:\n", title);
  if (ports->len == 0)
    printf ("  (none)\n");
  for (guint i = 0; i < ports->len; i++)
    {
      const StrandPortInfo *port = ports->pdata[i];
      printf ("  %-16s %-18s %-9s%-9s %s\n", port->name, port->formats,
              (port->flags & STRAND_PORT_OPTIONAL) ? "optional" : "",
              (port->flags & STRAND_PORT_MULTIPLE) ? "multiple" : "",
              port->description ? port->description : "");
    }
}

static void
print_plugin (const StrandPluginInfo *p)
{
  printf ("%s %s\n  %s\n\n", p->name, p->version, p->description);
  printf ("  File:           %s\n", p->path);
  printf ("  SHA-256:        %s\n", p->sha256 ? p->sha256 : "-");
  printf ("  ABI:            %u.%u (descriptor %u bytes)\n", p->abi_major, p->abi_minor,
          p->descriptor_size);
  printf ("  License:        %s\n", p->license ? p->license : "-");
  if (p->url)
    printf ("  URL:            %s\n", p->url);
  printf ("  Deterministic:  %s\n", (p->flags & STRAND_STAGE_DETERMINISTIC) ? "yes" : "no");
  printf ("  Callbacks:      run%s%s\n", p->has_validate ? ", validate" : "",
          p->has_cancel ? ", cancel" : "");

  print_ports ("Inputs", p->inputs);
  print_ports ("Outputs", p->outputs);

  printf ("\nParameters:\n");
  if (p->params->len == 0)
    printf ("  (none)\n");
  for (guint i = 0; i < p->params->len; i++)
    {
      const StrandParamInfo *param = p->params->pdata[i];
      g_autoptr (GString) range = g_string_new (NULL);
      if (param->flags & (STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX))
        {
          g_string_append (range, (param->flags & STRAND_PARAM_HAS_MIN) ? "[" : "(");
          if (param->flags & STRAND_PARAM_HAS_MIN)
            g_string_append_printf (range, "%g", param->min);
          else
            g_string_append (range, "-inf");
          g_string_append (range, ", ");
          if (param->flags & STRAND_PARAM_HAS_MAX)
            g_string_append_printf (range, "%g]", param->max);
          else
            g_string_append (range, "inf)");
        }
      else if (param->choices)
        g_string_append_printf (range, "{%s}", param->choices);
      printf ("  %-18s %-7s %-10s %-18s %s\n", param->name, strand_param_type_name (param->type),
              (param->flags & STRAND_PARAM_REQUIRED)
                  ? "required" : (param->default_value ? param->default_value : "-"),
              range->str, param->description ? param->description : "");
    }

  const StrandResourceInfo *r = &p->resources;
  g_autofree char *mem = format_bytes (r->memory_bytes);
  g_autofree char *scratch = format_bytes (r->scratch_bytes);
  g_autofree char *out = format_bytes (r->output_bytes);
  printf ("\nResources:\n  cores %u, GPUs %u, memory %s, scratch %s, output estimate %s,"
          " expected %.0f s, equipment %s\n",
          r->cores, r->gpus, mem, scratch, out, r->expected_seconds,
          r->equipment_class ? r->equipment_class : "any");

  printf ("\nError policy:\n");
  if (p->policy->len == 0)
    printf ("  (host default: fail the sample)\n");
  for (guint i = 0; i < p->policy->len; i++)
    {
      const StrandRuleInfo *rule = p->policy->pdata[i];
      printf ("  %-14s %-15s attempts %u", strand_error_class_name (rule->error_class),
              strand_action_name (rule->action), rule->max_attempts);
      if (rule->backoff_ms)
        printf (", back-off %u ms", rule->backoff_ms);
      if (rule->action == STRAND_ACTION_RETRY_ESCALATE)
        printf (", resources x%g", rule->escalate_factor);
      if (rule->fallback_plugin)
        printf (", fallback %s", rule->fallback_plugin);
      printf ("\n");
    }
}

static int
cmd_inspect (int argc, char **argv)
{
  g_auto (StrandPluginOptions) options = { 0 };
  gboolean json = FALSE;
  g_autofree char *version = NULL;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (schemas/plugin-inspect.schema.json)", NULL },
    { "version", 'V', 0, G_OPTION_ARG_STRING, &version, "Version constraint, e.g. '>=1.0'", "C" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("NAME - describe one plugin");
  g_option_context_add_main_entries (context, entries, NULL);
  strand_cli_add_plugin_options (context, &options);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc != 2)
    {
      fprintf (stderr, "strand: plugins inspect takes one plugin NAME\n");
      return STRAND_EXIT_USAGE;
    }
  if (version && !strand_version_constraint_valid (version))
    {
      fprintf (stderr, "strand: version constraint '%s' is not valid\n", version);
      return STRAND_EXIT_USAGE;
    }
  g_autoptr (StrandRegistry) registry = strand_cli_load_registry (&options, TRUE);
  const StrandPluginInfo *p = strand_registry_lookup (registry, argv[1], version);
  int status = STRAND_EXIT_OK;
  if (p == NULL)
    {
      fprintf (stderr, "strand: no plugin '%s'%s%s found (try 'strand plugins list')\n",
               argv[1], version ? " matching " : "", version ? version : "");
      status = STRAND_EXIT_FAILED;
    }
  else if (json)
    {
      g_autoptr (JsonNode) node = strand_plugin_info_to_json (p);
      print_json (node);
    }
  else
    print_plugin (p);
  return status;
}

static int
cmd_check (int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context =
      g_option_context_new ("FILE.so... - check plugin files for conformance");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc < 2)
    {
      fprintf (stderr, "strand: plugins check takes one or more plugin files\n");
      return STRAND_EXIT_USAGE;
    }
  int status = STRAND_EXIT_OK;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
      g_autoptr (StrandPluginInfo) info = strand_registry_check_file (argv[i], problems);
      if (problems->len > 0)
        status = STRAND_EXIT_FAILED;
      if (json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "file");
          json_builder_add_string_value (b, argv[i]);
          json_builder_set_member_name (b, "ok");
          json_builder_add_boolean_value (b, problems->len == 0);
          json_builder_set_member_name (b, "problems");
          json_builder_begin_array (b);
          for (guint k = 0; k < problems->len; k++)
            json_builder_add_value (b, problem_to_json (argv[i], problems->pdata[k]));
          json_builder_end_array (b);
          if (info)
            {
              json_builder_set_member_name (b, "plugin");
              json_builder_add_value (b, strand_plugin_info_to_json (info));
            }
          json_builder_end_object (b);
          continue;
        }
      for (guint k = 0; k < problems->len; k++)
        {
          const GError *e = problems->pdata[k];
          printf ("%s: %s: %s\n", argv[i], strand_plugin_error_code_name (e->code), e->message);
        }
      if (problems->len == 0)
        printf ("%s: ok: %s %s, ABI %u.%u\n", argv[i], info->name, info->version,
                info->abi_major, info->abi_minor);
    }
  json_builder_end_array (b);
  if (json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
    }
  return status;
}

int
strand_cmd_plugins (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "strand: plugins needs a subcommand: list, inspect, check or run\n");
      return STRAND_EXIT_USAGE;
    }
  const char *sub = argv[1];
  if (strcmp (sub, "list") == 0)
    return cmd_list (argc - 1, argv + 1);
  if (strcmp (sub, "inspect") == 0)
    return cmd_inspect (argc - 1, argv + 1);
  if (strcmp (sub, "check") == 0)
    return cmd_check (argc - 1, argv + 1);
  if (strcmp (sub, "run") == 0)
    return strand_cmd_plugins_run (argc - 1, argv + 1);
  fprintf (stderr, "strand: unknown plugins subcommand '%s'\n", sub);
  return STRAND_EXIT_USAGE;
}
