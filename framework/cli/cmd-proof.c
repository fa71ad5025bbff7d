/* strand checkpoint and strand proof: signed checkpoints of the ledger's
 * Merkle tree, inclusion and consistency proofs, and checking a proof with
 * the public key alone (checkpoint.h, merkle-proof.h). */
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "merkle-proof.h"

static char *
to_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

static int
fail (const GError *error)
{
  fprintf (stderr, "strand: %s\n", error->message);
  return STRAND_EXIT_FAILED;
}

/* ---- strand checkpoint -------------------------------------------------------- */

int
strand_cmd_checkpoint (int argc, char **argv)
{
  g_autofree char *store = NULL, *output = NULL;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Also write the checkpoint to FILE", "FILE" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "- sign the ledger's Merkle tree as it stands (a C2SP checkpoint), keep it and print it");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv) || argc != 1)
    return STRAND_EXIT_USAGE;
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandTree) tree = strand_checkpoint_open_tree (dir, &error);
  g_autoptr (StrandCheckpoint) cp =
      tree ? strand_checkpoint_make (dir, tree, strand_tree_size (tree), &error) : NULL;
  if (cp == NULL)
    return fail (error);
  const char *text = strand_checkpoint_text (cp);
  if (output != NULL && !g_file_set_contents (output, text, -1, &error))
    return fail (error);
  fputs (text, stdout);
  fprintf (stderr, "strand: checkpoint of %" G_GUINT64_FORMAT " records kept in %s/checkpoints; "
           "verifier key in %s/keys/host.vkey\n",
           strand_checkpoint_size (cp), dir, dir);
  return STRAND_EXIT_OK;
}

/* ---- strand proof ---------------------------------------------------------------- */

static const char *
member_string (JsonObject *o, const char *name)
{
  return json_object_get_string_member_with_default (o, name, "");
}

static void
print_hashes (const char *label, JsonArray *hashes)
{
  guint n = json_array_get_length (hashes);
  printf ("  %s (%u):", label, n);
  for (guint i = 0; i < n; i++)
    printf ("%s%s\n", i ? "    " : "\n    ", json_array_get_string_element (hashes, i));
  if (n == 0)
    printf (" none\n");
}

static void
print_inclusion (JsonObject *doc)
{
  JsonObject *cp = json_object_get_object_member (doc, "checkpoint");
  JsonArray *items = json_object_get_array_member (doc, "inclusion");
  JsonArray *subjects = json_object_get_array_member (doc, "subjects");
  printf ("%s: %u record%s made or used it, in the tree of %" G_GINT64_FORMAT " records of %s\n",
          member_string (doc, "target"), json_array_get_length (items),
          json_array_get_length (items) == 1 ? "" : "s", json_object_get_int_member (cp, "size"),
          member_string (cp, "origin"));
  for (guint i = 0; i < json_array_get_length (subjects); i++)
    printf ("data item: %s\n", json_array_get_string_element (subjects, i));
  printf ("root: %s\n", member_string (cp, "root"));
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *r = json_array_get_object_element (items, i);
      JsonArray *relations = json_object_get_array_member (r, "relations");
      g_autoptr (GString) rel = g_string_new (NULL);
      for (guint j = 0; j < json_array_get_length (relations); j++)
        g_string_append_printf (rel, "%s%s", j ? " and " : "", json_array_get_string_element (relations, j));
      printf ("record %" G_GINT64_FORMAT " (leaf %" G_GINT64_FORMAT "), %s it\n  leaf hash: %s\n",
              json_object_get_int_member (r, "seq"), json_object_get_int_member (r, "leaf_index"),
              rel->str, member_string (r, "leaf_hash"));
      print_hashes ("audit path", json_object_get_array_member (r, "audit_path"));
    }
}

static void
print_consistency (JsonObject *doc)
{
  JsonObject *old_cp = json_object_get_object_member (doc, "old");
  JsonObject *new_cp = json_object_get_object_member (doc, "new");
  printf ("%s: the tree of %" G_GINT64_FORMAT " records is a prefix of the tree of %" G_GINT64_FORMAT "\n",
          member_string (new_cp, "origin"), json_object_get_int_member (old_cp, "size"),
          json_object_get_int_member (new_cp, "size"));
  printf ("old root: %s\nnew root: %s\n", member_string (old_cp, "root"), member_string (new_cp, "root"));
  print_hashes ("proof", json_object_get_array_member (doc, "proof"));
}

static int
verify (const char *path, const char *key_path, const char *checkpoint_path, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandNoteKey) key = strand_note_key_load (key_path, &error);
  if (key == NULL)
    return fail (error);
  g_autoptr (StrandCheckpoint) trusted = NULL;
  if (checkpoint_path != NULL)
    {
      trusted = strand_checkpoint_load (checkpoint_path, &error);
      if (trusted == NULL || !strand_checkpoint_verify (trusted, key, &error))
        {
          fprintf (stderr, "strand: %s: %s\n", checkpoint_path, error->message);
          return STRAND_EXIT_FAILED;
        }
    }
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (JsonNode) doc = strand_proof_load (path, problems);
  StrandProofSummary summary = { 0 };
  gboolean ok = doc != NULL && strand_proof_verify (doc, key, trusted, problems, &summary);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, ok);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, summary.consistency ? "consistency" : "inclusion");
      json_builder_set_member_name (b, "origin");
      json_builder_add_string_value (b, summary.origin);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64) summary.size);
      json_builder_set_member_name (b, summary.consistency ? "old_size" : "records");
      json_builder_add_int_value (b, summary.consistency ? (gint64) summary.old_size : summary.records);
      json_builder_set_member_name (b, "problems");
      json_builder_add_value (b, strand_problems_to_json (problems));
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      g_autofree char *text = to_json (root);
      printf ("%s\n", text);
    }
  else
    {
      strand_cli_print_problems (problems, stdout);
      if (!ok)
        printf ("%s: NOT VERIFIED\n", path);
      else if (summary.consistency)
        printf ("%s: verified: %s only grew from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " records\n",
                path, summary.origin, summary.old_size, summary.size);
      else
        printf ("%s: verified: %u record%s in %s at %" G_GUINT64_FORMAT " records\n", path,
                summary.records, summary.records == 1 ? "" : "s", summary.origin, summary.size);
    }
  return ok ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}

int
strand_cmd_proof (int argc, char **argv)
{
  g_autofree char *store = NULL, *checkpoint = NULL, *output = NULL, *verify_path = NULL,
                  *key = NULL;
  gboolean json = FALSE, fresh = FALSE, consistency = FALSE;
  GOptionEntry entries[] = {
    STRAND_CLI_STORE_OPTION (store),
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
      "Prove against this checkpoint (default: the latest kept one that covers the records); "
      "with --verify, require the proof to be against it", "FILE" },
    { "fresh", 0, 0, G_OPTION_ARG_NONE, &fresh, "Sign a new checkpoint of the whole log to prove against", NULL },
    { "consistency", 0, 0, G_OPTION_ARG_NONE, &consistency,
      "Prove that the log only grew from OLD to NEW (checkpoint files or tree sizes)", NULL },
    { "verify", 0, 0, G_OPTION_ARG_FILENAME, &verify_path,
      "Check a proof offline with the log's key (--key); no store needed", "PROOF.json" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key,
      "The log's verifier key for --verify: STORE/keys/host.vkey or host.pub", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the proof (JSON) to FILE", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
      "DIGEST | --consistency OLD NEW | --verify PROOF.json --key FILE - Merkle proofs of the "
      "records that made or used a data item, that the log only grew, or checking one");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;

  if (verify_path != NULL)
    {
      if (argc != 1 || key == NULL || consistency || fresh || output != NULL)
        {
          fprintf (stderr, "strand: proof --verify PROOF.json takes --key FILE (and --checkpoint, --json)\n");
          return STRAND_EXIT_USAGE;
        }
      return verify (verify_path, key, checkpoint, json);
    }
  if (consistency ? argc != 3 || checkpoint != NULL || fresh : argc != 2)
    {
      fprintf (stderr, "strand: proof takes a DIGEST, or --consistency OLD NEW, or --verify PROOF.json\n");
      return STRAND_EXIT_USAGE;
    }
  g_autofree char *dir = strand_cli_store_dir (store);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) doc = consistency
                                 ? strand_proof_consistency_for_store (dir, argv[1], argv[2], &error)
                                 : strand_proof_for_target (dir, argv[1], checkpoint, fresh, &error);
  if (doc == NULL)
    return fail (error);
  g_autofree char *text = to_json (doc);
  if (output != NULL)
    {
      g_autofree char *with_newline = g_strconcat (text, "\n", NULL);
      if (!g_file_set_contents (output, with_newline, -1, &error))
        return fail (error);
    }
  if (json)
    printf ("%s\n", text);
  else if (consistency)
    print_consistency (json_node_get_object (doc));
  else
    print_inclusion (json_node_get_object (doc));
  return STRAND_EXIT_OK;
}
