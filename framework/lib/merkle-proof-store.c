/* Proofs for a store (merkle-proof.h): the records come from the lineage
 * index, the tree and checkpoints from checkpoint.h. */
#include "merkle-proof.h"

#include <string.h>

#include "lineage.h"

static StrandIndex *
open_index (const char *store_dir, GError **error)
{
  g_autofree char *db = g_build_filename (store_dir, "ledger", "index.sqlite", NULL);
  g_autofree char *log = g_build_filename (store_dir, "ledger", "log.jsonl", NULL);
  return strand_index_open (db, log, NULL, error);
}

static int
compare_records (gconstpointer a, gconstpointer b)
{
  guint64 x = ((const StrandProofRecord *) a)->seq, y = ((const StrandProofRecord *) b)->seq;
  return (x > y) - (x < y);
}

/* Adds the activities of a lineage answer to `records` (seq -> record). */
static void
collect (JsonNode *answer, gboolean generated, GHashTable *records)
{
  JsonArray *acts = json_object_get_array_member (json_node_get_object (answer), "activities");
  for (guint i = 0; i < json_array_get_length (acts); i++)
    {
      guint64 seq = (guint64) json_object_get_int_member (json_array_get_object_element (acts, i), "seq");
      StrandProofRecord *r = g_hash_table_lookup (records, &seq);
      if (r == NULL)
        {
          r = g_new0 (StrandProofRecord, 1);
          r->seq = seq;
          g_hash_table_insert (records, &r->seq, r);
        }
      if (generated)
        r->generated = TRUE;
      else
        r->used = TRUE;
    }
}

/* The checkpoint a proof of records up to `last_seq` is made against. */
static StrandCheckpoint *
choose_checkpoint (const char *store_dir, StrandTree *tree, const char *path, gboolean fresh,
                   guint64 last_seq, GError **error)
{
  if (path != NULL)
    {
      g_autoptr (StrandNoteKey) key = strand_checkpoint_store_key (store_dir, error);
      g_autoptr (StrandCheckpoint) cp = key ? strand_checkpoint_load (path, error) : NULL;
      if (cp == NULL)
        return NULL;
      if (!strand_checkpoint_verify (cp, key, error) || !strand_checkpoint_check_tree (cp, tree, error))
        {
          g_prefix_error (error, "%s: ", path);
          return NULL;
        }
      return g_steal_pointer (&cp);
    }
  if (!fresh)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (StrandCheckpoint) latest = strand_checkpoint_latest (store_dir, &local);
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      if (latest != NULL && strand_checkpoint_size (latest) >= last_seq)
        return strand_checkpoint_check_tree (latest, tree, error) ? g_steal_pointer (&latest) : NULL;
    }
  return strand_checkpoint_make (store_dir, tree, strand_tree_size (tree), error);
}

JsonNode *
strand_proof_for_target (const char *store_dir, const char *target, const char *checkpoint_path,
                         gboolean fresh, GError **error)
{
  g_return_val_if_fail (store_dir != NULL && target != NULL, NULL);
  g_autoptr (StrandTree) tree = strand_checkpoint_open_tree (store_dir, error);
  if (tree == NULL)
    return NULL;
  g_autoptr (StrandIndex) index = open_index (store_dir, error);
  if (index == NULL)
    return NULL;

  /* The data items TARGET names, then who made and who used them. */
  g_autoptr (JsonNode) self = strand_lineage (index, target, STRAND_LINEAGE_UP, 0, error);
  if (self == NULL)
    return NULL;
  JsonObject *so = json_node_get_object (self);
  const char *matched = json_object_get_string_member (so, "matched");
  if (strcmp (matched, "digest") != 0 && strcmp (matched, "path") != 0)
    {
      g_set_error (error, STRAND_PROOF_ERROR, STRAND_PROOF_ERROR_TARGET,
                   "'%s' is a %s: proofs are for a data item, by digest or path", target, matched);
      return NULL;
    }
  g_autoptr (GPtrArray) subjects = g_ptr_array_new ();
  JsonArray *entities = json_object_get_array_member (so, "entities");
  for (guint i = 0; i < json_array_get_length (entities); i++)
    g_ptr_array_add (subjects, (gpointer) json_object_get_string_member (
                                   json_array_get_object_element (entities, i), "sha256"));
  g_ptr_array_add (subjects, NULL);

  g_autoptr (JsonNode) up = strand_lineage (index, target, STRAND_LINEAGE_UP, 1, error);
  g_autoptr (JsonNode) down = up ? strand_lineage (index, target, STRAND_LINEAGE_DOWN, 1, error) : NULL;
  if (down == NULL)
    return NULL;
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  collect (up, TRUE, found);
  collect (down, FALSE, found);
  if (g_hash_table_size (found) == 0)
    {
      g_set_error (error, STRAND_PROOF_ERROR, STRAND_PROOF_ERROR_TARGET,
                   "no record made or used '%s'", target);
      return NULL;
    }
  g_autoptr (GArray) records = g_array_new (FALSE, FALSE, sizeof (StrandProofRecord));
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, found);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_array_append_vals (records, value, 1);
  g_array_sort (records, compare_records);
  guint64 last_seq = g_array_index (records, StrandProofRecord, records->len - 1).seq;

  g_autoptr (StrandCheckpoint) cp = choose_checkpoint (store_dir, tree, checkpoint_path, fresh,
                                                       last_seq, error);
  if (cp == NULL)
    return NULL;
  return strand_proof_inclusion (tree, cp, target, (const char *const *) subjects->pdata,
                                 (const StrandProofRecord *) records->data, records->len, error);
}

/* OLD or NEW: a size, or a checkpoint file. */
static StrandCheckpoint *
resolve (const char *store_dir, StrandTree *tree, const char *spec, GError **error)
{
  guint64 size = 0;
  gboolean digits = spec[0] != '\0';
  for (const char *c = spec; *c != '\0'; c++)
    digits = digits && g_ascii_isdigit (*c);
  if (digits && !g_file_test (spec, G_FILE_TEST_EXISTS))
    {
      if (!g_ascii_string_to_unsigned (spec, 10, 0, G_MAXUINT64, &size, NULL) ||
          size > strand_tree_size (tree))
        {
          g_set_error (error, STRAND_PROOF_ERROR, STRAND_PROOF_ERROR_NOT_COVERED,
                       "the log has %" G_GUINT64_FORMAT " records, not %s", strand_tree_size (tree), spec);
          return NULL;
        }
      return strand_checkpoint_make (store_dir, tree, size, error);
    }
  return choose_checkpoint (store_dir, tree, spec, FALSE, 0, error);
}

JsonNode *
strand_proof_consistency_for_store (const char *store_dir, const char *old_spec,
                                    const char *new_spec, GError **error)
{
  g_autoptr (StrandTree) tree = strand_checkpoint_open_tree (store_dir, error);
  if (tree == NULL)
    return NULL;
  g_autoptr (StrandCheckpoint) old_cp = resolve (store_dir, tree, old_spec, error);
  g_autoptr (StrandCheckpoint) new_cp = old_cp ? resolve (store_dir, tree, new_spec, error) : NULL;
  if (new_cp == NULL)
    return NULL;
  return strand_proof_consistency (tree, old_cp, new_cp, error);
}
