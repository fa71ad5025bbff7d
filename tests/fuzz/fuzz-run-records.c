/* Fuzz target: what the exports read and write. An array is taken as the
 * stage-run statements of one run (run-records.h), which then go through
 * every writer: PROV-JSON, RO-Crate metadata (with every item treated as
 * in the store, so crafted names reach the path planner) and the diff of
 * the run with itself; an object is taken as a lineage answer and drawn as
 * DOT. Invariants: a run never differs from itself, no crate path leaves
 * the crate, and DOT output is produced for any lineage answer. */
#include <stdint.h>
#include <string.h>

#include "export-prov.h"
#include "export-rocrate.h"
#include "lineage-dot.h"
#include "run-diff.h"
#include "run-records.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_paths (GHashTable *paths)
{
  GHashTableIter it;
  gpointer sha, rel;
  g_hash_table_iter_init (&it, paths);
  while (g_hash_table_iter_next (&it, &sha, &rel))
    {
      const char *p = rel;
      if (!g_str_has_prefix (p, "data/") || strstr (p, "//") != NULL)
        g_error ("crate path '%s' is not under data/", p);
      g_auto (GStrv) parts = g_strsplit (p, "/", -1);
      for (guint i = 0; parts[i]; i++)
        if (strcmp (parts[i], "..") == 0 || strcmp (parts[i], ".") == 0 || parts[i][0] == '\0')
          g_error ("crate path '%s' has a component '%s'", p, parts[i]);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, (const char *) data, (gssize) size, NULL))
    return 0;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL)
    return 0;
  if (JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *dot = strand_lineage_dot (root);
      return 0;
    }
  if (!JSON_NODE_HOLDS_ARRAY (root))
    return 0;
  g_autoptr (StrandRunRecords) run = strand_run_records_new ("R");
  JsonArray *statements = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (statements); i++)
    {
      g_autoptr (GError) error = NULL;
      char hash[65];
      memset (hash, 'a', 64);
      hash[64] = '\0';
      if (!strand_run_records_add_statement (run, json_array_get_element (statements, i), i + 1,
                                             hash, &error) &&
          error == NULL)
        g_error ("a refused statement without a reason");
    }
  for (guint i = 0; i < run->entities->len; i++)
    ((StrandRunEntity *) run->entities->pdata[i])->in_store = TRUE;
  g_autoptr (JsonNode) prov = strand_export_prov_json (run);
  g_autoptr (GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (JsonNode) crate = strand_export_rocrate_metadata (run, paths);
  check_paths (paths);
  gboolean same = FALSE;
  g_autoptr (JsonNode) diff = strand_run_diff (run, run, &same);
  if (!same)
    g_error ("a run differs from itself");
  g_autofree char *text = strand_run_diff_format (diff);
  return 0;
}
