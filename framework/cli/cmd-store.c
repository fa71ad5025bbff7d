#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cli.h"
#include "lineage-dot.h"

static void
print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

/* ---- strand init ---------------------------------------------------------------- */

int
strand_cmd_init (int argc, char **argv)
{
  g_autofree char *store = NULL;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- create a store and the host's signing key");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv) || argc != 1)
    return STRAND_EXIT_USAGE;
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (GError) error = NULL;
  if (!strand_provenance_init (dir, &error))
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  g_autoptr (StrandKey) key = strand_key_load (dir, &error);
  if (key == NULL)
    {
      fprintf (stderr, "strand: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  printf ("store %s ready; host key %s\npublic key: %s/keys/host.pub\n", dir, strand_key_id (key), dir);
  return STRAND_EXIT_OK;
}

/* ---- strand ingest -------------------------------------------------------------- */

int
strand_cmd_ingest (int argc, char **argv)
{
  g_autofree char *store = NULL, *sample = NULL, *format = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    { "sample", 0, 0, G_OPTION_ARG_STRING, &sample, "The sample the data belongs to", "ID" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Its format (fastq, bam, ...)", "F" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("PATH... - register raw data, with its record");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc < 2)
    {
      fprintf (stderr, "strand: ingest takes one or more files\n");
      return STRAND_EXIT_USAGE;
    }
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (StrandProvenance) prov = strand_cli_open_store (dir);
  if (prov == NULL)
    return STRAND_EXIT_FAILED;
  int status = STRAND_EXIT_OK;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      StrandObjectInfo info;
      if (!strand_provenance_ingest (prov, argv[i], sample, format, NULL, &info, &error))
        {
          fprintf (stderr, "strand: %s: %s\n", argv[i], error->message);
          status = STRAND_EXIT_FAILED;
          continue;
        }
      if (json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, argv[i]);
          json_builder_set_member_name (b, "sha256");
          json_builder_add_string_value (b, info.sha256);
          json_builder_set_member_name (b, "md5");
          json_builder_add_string_value (b, info.md5);
          json_builder_set_member_name (b, "size");
          json_builder_add_int_value (b, (gint64) info.size);
          json_builder_set_member_name (b, "placement");
          json_builder_add_string_value (b, strand_placement_name (info.placement));
          json_builder_end_object (b);
        }
      else
        printf ("%s  %s  (%s, %" G_GUINT64_FORMAT " bytes)\n", info.sha256, argv[i],
                strand_placement_name (info.placement), info.size);
    }
  json_builder_end_array (b);
  if (json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
    }
  return status;
}

/* ---- strand store du / get ------------------------------------------------------- */

int
strand_cmd_store (int argc, char **argv)
{
  g_autofree char *store = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "du | get DIGEST DEST - space used, or copy an object out (recorded)");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  g_autofree char *dir = strand_cli_store_dir (store);
  if (argc == 2 && strcmp (argv[1], "du") == 0)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (StrandStore) s = strand_store_open (dir, &error);
      if (s == NULL)
        {
          fprintf (stderr, "strand: %s\n", error->message);
          return STRAND_EXIT_FAILED;
        }
      StrandStoreUsage usage;
      strand_store_usage (s, &usage);
      if (json)
        printf ("{\"objects\": %" G_GUINT64_FORMAT ", \"logical_bytes\": %" G_GUINT64_FORMAT
                ", \"physical_bytes\": %" G_GUINT64_FORMAT ", \"quota_bytes\": %" G_GUINT64_FORMAT "}\n",
                usage.objects, usage.bytes, usage.disk_bytes, strand_store_quota (s));
      else
        {
          g_autofree char *logical = g_format_size_full (usage.bytes, G_FORMAT_SIZE_IEC_UNITS);
          g_autofree char *physical = g_format_size_full (usage.disk_bytes, G_FORMAT_SIZE_IEC_UNITS);
          printf ("%" G_GUINT64_FORMAT " objects, %s logical, %s on disk\n", usage.objects, logical,
                  physical);
        }
      return STRAND_EXIT_OK;
    }
  if (argc == 4 && strcmp (argv[1], "get") == 0)
    {
      g_autoptr (StrandProvenance) prov = strand_cli_open_store (dir);
      g_autoptr (GError) error = NULL;
      if (prov == NULL)
        return STRAND_EXIT_FAILED;
      if (!strand_provenance_materialize (prov, argv[2], argv[3], &error))
        {
          fprintf (stderr, "strand: %s\n", error->message);
          return STRAND_EXIT_FAILED;
        }
      return STRAND_EXIT_OK;
    }
  fprintf (stderr, "strand: store takes 'du' or 'get DIGEST DEST'\n");
  return STRAND_EXIT_USAGE;
}

int
strand_cmd_gc (int argc, char **argv)
{
  g_autofree char *store = NULL;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- remove objects no record needs");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv) || argc != 1)
    return STRAND_EXIT_USAGE;
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (StrandProvenance) prov = strand_cli_open_store (dir);
  if (prov == NULL)
    return STRAND_EXIT_FAILED;
  g_autoptr (GError) error = NULL;
  guint removed = 0;
  guint64 bytes = 0;
  if (!strand_provenance_gc (prov, &removed, &bytes, &error))
    {
      fprintf (stderr, "strand: gc: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  g_autofree char *size = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
  printf ("removed %u object%s (%s); recorded in the ledger\n", removed, removed == 1 ? "" : "s", size);
  return STRAND_EXIT_OK;
}

/* ---- strand lineage ------------------------------------------------------------- */

static void
print_lineage (JsonNode *node)
{
  JsonObject *o = json_node_get_object (node);
  JsonArray *acts = json_object_get_array_member (o, "activities");
  JsonArray *ents = json_object_get_array_member (o, "entities");
  printf ("%s of %s: %u data item%s, %u activit%s\n",
          g_strcmp0 (json_object_get_string_member (o, "direction"), "down") == 0 ? "descendants" : "ancestors",
          json_object_get_string_member (o, "target"), json_array_get_length (ents),
          json_array_get_length (ents) == 1 ? "" : "s", json_array_get_length (acts),
          json_array_get_length (acts) == 1 ? "y" : "ies");
  for (guint i = 0; i < json_array_get_length (acts); i++)
    {
      JsonObject *a = json_array_get_object_element (acts, i);
      printf ("  #%" G_GINT64_FORMAT " %-8s %s", json_object_get_int_member_with_default (a, "seq", 0),
              json_object_get_string_member_with_default (a, "kind", ""),
              json_object_get_string_member_with_default (a, "started", ""));
      const char *stage = json_object_get_string_member_with_default (a, "stage", NULL);
      if (stage)
        printf ("  %s/%s  %s %s (%.12s)  %s", json_object_get_string_member_with_default (a, "sample", "-"),
                stage, json_object_get_string_member_with_default (a, "plugin", ""),
                json_object_get_string_member_with_default (a, "plugin_version", ""),
                json_object_get_string_member_with_default (a, "plugin_sha256", ""),
                json_object_get_string_member_with_default (a, "status", ""));
      printf ("\n");
    }
  for (guint i = 0; i < json_array_get_length (ents); i++)
    {
      JsonObject *e = json_array_get_object_element (ents, i);
      JsonArray *names = json_object_has_member (e, "names") ? json_object_get_array_member (e, "names") : NULL;
      printf ("  %s  %s\n", json_object_get_string_member_with_default (e, "sha256", ""),
              names && json_array_get_length (names) ? json_array_get_string_element (names, 0) : "");
    }
}

int
strand_cmd_lineage (int argc, char **argv)
{
  g_autofree char *store = NULL, *equipment = NULL, *from = NULL, *until = NULL;
  gboolean up = FALSE, down = FALSE, json = FALSE, dot = FALSE;
  int depth = -1;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    { "up", 0, 0, G_OPTION_ARG_NONE, &up, "Ancestors: how was this made (default)", NULL },
    { "down", 0, 0, G_OPTION_ARG_NONE, &down, "Descendants: what did this feed", NULL },
    { "depth", 0, 0, G_OPTION_ARG_INT, &depth, "Follow at most N activities", "N" },
    { "equipment", 0, 0, G_OPTION_ARG_STRING, &equipment, "Everything this equipment ran (with --from, --until)", "ID" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &from, "Start of the window (RFC 3339)", "TIME" },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until, "End of the window (RFC 3339)", "TIME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "dot", 0, 0, G_OPTION_ARG_NONE, &dot, "Print the graph for Graphviz (dot -Tsvg)", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "TARGET - where a data item came from, or what it fed (digest, path, sample or run)");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if ((equipment == NULL) != (argc == 2) || (up && down) || (dot && (json || equipment)))
    {
      fprintf (stderr, "strand: lineage takes one TARGET (or --equipment ID), and --up or --down; "
               "--dot draws a TARGET's lineage\n");
      return STRAND_EXIT_USAGE;
    }
  gint64 t1 = G_MININT64, t2 = G_MAXINT64;
  if ((from && !strand_clock_parse_rfc3339 (from, &t1)) || (until && !strand_clock_parse_rfc3339 (until, &t2)))
    {
      fprintf (stderr, "strand: --from and --until take RFC 3339 times, e.g. 2026-11-27T08:00:00Z\n");
      return STRAND_EXIT_USAGE;
    }
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autofree char *db = g_build_filename (dir, "ledger", "index.sqlite", NULL);
  g_autofree char *log = g_build_filename (dir, "ledger", "log.jsonl", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandIndex) index = strand_index_open (db, log, NULL, &error);
  g_autoptr (JsonNode) result = NULL;
  if (index != NULL)
    result = equipment ? strand_lineage_equipment (index, equipment, t1, t2, &error)
                       : strand_lineage (index, argv[1], down ? STRAND_LINEAGE_DOWN : STRAND_LINEAGE_UP,
                                         depth, &error);
  if (result == NULL)
    {
      fprintf (stderr, "strand: lineage: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  if (dot)
    {
      g_autofree char *graph = strand_lineage_dot (result);
      fputs (graph, stdout);
    }
  else if (json)
    print_json (result);
  else if (equipment == NULL)
    print_lineage (result);
  else
    print_json (result);
  return STRAND_EXIT_OK;
}

/* ---- strand verify --------------------------------------------------------------- */

int
strand_cmd_verify (int argc, char **argv)
{
  g_autofree char *store = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "- check every record's signature and chain and every object's digest");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv) || argc != 1)
    return STRAND_EXIT_USAGE;
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  guint64 records = 0, objects = 0;
  gboolean ok = strand_provenance_verify (dir, problems, &records, &objects);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, ok);
      json_builder_set_member_name (b, "records");
      json_builder_add_int_value (b, (gint64) records);
      json_builder_set_member_name (b, "objects");
      json_builder_add_int_value (b, (gint64) objects);
      json_builder_set_member_name (b, "problems");
      json_builder_add_value (b, strand_problems_to_json (problems));
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
    }
  else
    {
      strand_cli_print_problems (problems, stdout);
      printf ("%s: %" G_GUINT64_FORMAT " records, %" G_GUINT64_FORMAT " objects: %s\n", dir, records,
              objects, ok ? "intact" : "TAMPERED OR DAMAGED");
    }
  return ok ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}
