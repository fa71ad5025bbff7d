/* Proof documents: building them from the tree, and checking them with
 * the key alone (merkle-proof.h). A document to check comes from anyone:
 * every member is looked up with its type checked, and each fault is one
 * problem at its JSON pointer. */
#include "merkle-proof.h"

#include <glib/gstdio.h>
#include <string.h>

#include "json-util.h"
#include "problems.h"

G_DEFINE_QUARK (strand-proof-error-quark, strand_proof_error)

#define HLEN STRAND_MERKLE_HASH_LEN
#define PROOF_FILE_MAX ((goffset) 256 * 1024 * 1024)
#define PATH_MAX_HASHES 64 /* no tree of 2^64 leaves has a longer path */

static void
to_hex (const guint8 *h, char out[2 * HLEN + 1])
{
  static const char digits[] = "0123456789abcdef";
  for (guint i = 0; i < HLEN; i++)
    {
      out[2 * i] = digits[h[i] >> 4];
      out[2 * i + 1] = digits[h[i] & 0xf];
    }
  out[2 * HLEN] = '\0';
}

static void
add_hash (JsonBuilder *b, const char *name, const guint8 *h)
{
  char text[2 * HLEN + 1];
  to_hex (h, text);
  if (name != NULL)
    json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, text);
}

static void
add_hashes (JsonBuilder *b, const char *name, const GArray *hashes)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; i < hashes->len; i++)
    add_hash (b, NULL, (const guint8 *) hashes->data + (gsize) i * HLEN);
  json_builder_end_array (b);
}

static void
add_checkpoint (JsonBuilder *b, const char *name, const StrandCheckpoint *cp)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "origin");
  json_builder_add_string_value (b, strand_checkpoint_get_origin (cp));
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64) strand_checkpoint_size (cp));
  add_hash (b, "root", strand_checkpoint_root (cp));
  json_builder_set_member_name (b, "note");
  json_builder_add_string_value (b, strand_checkpoint_text (cp));
  json_builder_end_object (b);
}

/* ---- Building ---- */

JsonNode *
strand_proof_inclusion (StrandTree *tree, const StrandCheckpoint *cp, const char *target,
                        const char *const *subjects, const StrandProofRecord *records,
                        guint n_records, GError **error)
{
  guint64 size = strand_checkpoint_size (cp);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, STRAND_PROOF_INCLUSION);
  add_checkpoint (b, "checkpoint", cp);
  json_builder_set_member_name (b, "target");
  json_builder_add_string_value (b, target);
  json_builder_set_member_name (b, "subjects");
  json_builder_begin_array (b);
  for (const char *const *s = subjects; s != NULL && *s != NULL; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "inclusion");
  json_builder_begin_array (b);
  for (guint i = 0; i < n_records; i++)
    {
      guint64 seq = records[i].seq;
      if (seq == 0 || seq > size)
        {
          g_set_error (error, STRAND_PROOF_ERROR, STRAND_PROOF_ERROR_NOT_COVERED,
                       "record %" G_GUINT64_FORMAT " is not in the checkpoint of %" G_GUINT64_FORMAT
                       " records: a newer checkpoint covers it (strand checkpoint)",
                       seq, size);
          return NULL;
        }
      guint64 leaf = seq - 1;
      gsize len = 0;
      g_autofree char *line = strand_tree_line (tree, leaf, &len, error);
      if (line == NULL)
        return NULL;
      guint64 line_seq = 0;
      g_autoptr (GError) local = NULL;
      g_autoptr (JsonNode) statement = strand_record_open (line, len, NULL, &line_seq, NULL, &local);
      if (statement == NULL || line_seq != seq)
        {
          g_set_error (error, STRAND_PROOF_ERROR, STRAND_PROOF_ERROR_NOT_RECORD,
                       "leaf %" G_GUINT64_FORMAT " of the log is not record %" G_GUINT64_FORMAT
                       " (%s): run `strand verify`",
                       leaf, seq,
                       local != NULL ? local->message : "it is another record");
          return NULL;
        }
      guint8 leaf_hash[HLEN];
      g_autoptr (GArray) path = NULL;
      if (!strand_tree_leaf (tree, leaf, leaf_hash, error) ||
          (path = strand_tree_inclusion_proof (tree, leaf, size, error)) == NULL)
        return NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, (gint64) seq);
      json_builder_set_member_name (b, "leaf_index");
      json_builder_add_int_value (b, (gint64) leaf);
      json_builder_set_member_name (b, "relations");
      json_builder_begin_array (b);
      if (records[i].generated)
        json_builder_add_string_value (b, "generated");
      if (records[i].used)
        json_builder_add_string_value (b, "used");
      json_builder_end_array (b);
      json_builder_set_member_name (b, "record");
      json_builder_add_string_value (b, line);
      add_hash (b, "leaf_hash", leaf_hash);
      add_hashes (b, "audit_path", path);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
strand_proof_consistency (StrandTree *tree, const StrandCheckpoint *old_cp,
                          const StrandCheckpoint *new_cp, GError **error)
{
  guint64 m = strand_checkpoint_size (old_cp), n = strand_checkpoint_size (new_cp);
  if (m == 0 || m > n)
    {
      g_set_error (error, STRAND_PROOF_ERROR, STRAND_PROOF_ERROR_NOT_COVERED,
                   "no consistency proof from %" G_GUINT64_FORMAT " records to %" G_GUINT64_FORMAT
                   ": the old checkpoint must have records, and no more than the new one",
                   m, n);
      return NULL;
    }
  g_autoptr (GArray) proof = strand_tree_consistency_proof (tree, m, n, error);
  if (proof == NULL)
    return NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, STRAND_PROOF_CONSISTENCY);
  add_checkpoint (b, "old", old_cp);
  add_checkpoint (b, "new", new_cp);
  add_hashes (b, "proof", proof);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- Verifying ---- */

typedef struct {
  GPtrArray *problems;
  const StrandNoteKey *key;
  StrandKey *host_key; /* the same key, for the records' DSSE signatures */
} Check;

static void
problem (Check *c, const char *code, const char *where, const char *format, ...)
    G_GNUC_PRINTF (4, 5);

static void
problem (Check *c, const char *code, const char *where, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  strand_problems_add (c->problems, FALSE, code, where, "%s", message);
}

static JsonNode *
member (Check *c, JsonObject *o, const char *ptr, const char *name, JsonNodeType type,
        const char *what)
{
  JsonNode *node = json_object_get_member (o, name);
  if (node == NULL || JSON_NODE_TYPE (node) != type ||
      (type == JSON_NODE_VALUE && json_node_get_value_type (node) != G_TYPE_STRING))
    {
      g_autofree char *where = g_strdup_printf ("%s/%s", ptr, name);
      problem (c, "malformed", where, "'%s' must be %s", name, what);
      return NULL;
    }
  return node;
}

static const char *
string_member (Check *c, JsonObject *o, const char *ptr, const char *name)
{
  JsonNode *node = member (c, o, ptr, name, JSON_NODE_VALUE, "a string");
  return node != NULL ? json_node_get_string (node) : NULL;
}

static gboolean
int_member (Check *c, JsonObject *o, const char *ptr, const char *name, guint64 *out)
{
  JsonNode *node = json_object_get_member (o, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64 || json_node_get_int (node) < 0)
    {
      g_autofree char *where = g_strdup_printf ("%s/%s", ptr, name);
      problem (c, "malformed", where, "'%s' must be an integer >= 0", name);
      return FALSE;
    }
  *out = (guint64) json_node_get_int (node);
  return TRUE;
}

static gboolean
parse_hex (const char *text, guint8 out[HLEN])
{
  if (text == NULL || strlen (text) != 2 * HLEN)
    return FALSE;
  for (guint i = 0; i < 2 * HLEN; i++)
    if (!g_ascii_isdigit (text[i]) && !(text[i] >= 'a' && text[i] <= 'f'))
      return FALSE;
  for (guint i = 0; i < HLEN; i++)
    out[i] = (guint8) (g_ascii_xdigit_value (text[2 * i]) << 4 | g_ascii_xdigit_value (text[2 * i + 1]));
  return TRUE;
}

static gboolean
hash_member (Check *c, JsonObject *o, const char *ptr, const char *name, guint8 out[HLEN])
{
  const char *text = string_member (c, o, ptr, name);
  if (text == NULL)
    return FALSE;
  if (!parse_hex (text, out))
    {
      g_autofree char *where = g_strdup_printf ("%s/%s", ptr, name);
      problem (c, "malformed", where, "'%s' must be a SHA-256 in lower-case hex", name);
      return FALSE;
    }
  return TRUE;
}

/* A list of hashes; NULL (and a problem) when it is not one. */
static GArray *
hashes_member (Check *c, JsonObject *o, const char *ptr, const char *name)
{
  JsonNode *node = member (c, o, ptr, name, JSON_NODE_ARRAY, "an array of hashes");
  if (node == NULL)
    return NULL;
  JsonArray *a = json_node_get_array (node);
  g_autofree char *where = g_strdup_printf ("%s/%s", ptr, name);
  if (json_array_get_length (a) > PATH_MAX_HASHES)
    {
      problem (c, "malformed", where, "%u hashes: no proof has more than %d",
               json_array_get_length (a), PATH_MAX_HASHES);
      return NULL;
    }
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, HLEN);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      guint8 h[HLEN];
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING ||
          !parse_hex (json_node_get_string (e), h))
        {
          g_autofree char *at = g_strdup_printf ("%s/%u", where, i);
          problem (c, "malformed", at, "a SHA-256 in lower-case hex");
          return NULL;
        }
      g_array_append_vals (out, h, 1);
    }
  return g_steal_pointer (&out);
}

static const char *
checkpoint_code (const GError *error)
{
  if (error->domain == STRAND_CHECKPOINT_ERROR)
    switch ((StrandCheckpointErrorCode) error->code)
      {
      case STRAND_CHECKPOINT_ERROR_WRONG_LOG: return "wrong-log";
      case STRAND_CHECKPOINT_ERROR_UNSIGNED: return "unsigned";
      case STRAND_CHECKPOINT_ERROR_BAD_SIGNATURE: return "bad-signature";
      default: break;
      }
  return "bad-checkpoint";
}

/* The checkpoint object at `ptr`: its note parsed and verified with the key,
 * and its copies of origin, size and root equal to the note's. NULL when
 * the note cannot be trusted. */
static StrandCheckpoint *
check_checkpoint (Check *c, JsonObject *doc, const char *name)
{
  g_autofree char *ptr = g_strdup_printf ("/%s", name);
  JsonNode *node = member (c, doc, "", name, JSON_NODE_OBJECT, "a checkpoint object");
  if (node == NULL)
    return NULL;
  JsonObject *o = json_node_get_object (node);
  const char *note = string_member (c, o, ptr, "note");
  if (note == NULL)
    return NULL;
  g_autofree char *note_ptr = g_strdup_printf ("%s/note", ptr);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_parse (note, strlen (note), note_ptr, &error);
  if (cp == NULL || !strand_checkpoint_verify (cp, c->key, &error))
    {
      problem (c, checkpoint_code (error), note_ptr, "%s", error->message);
      return NULL;
    }
  const char *origin = string_member (c, o, ptr, "origin");
  guint64 size = 0;
  guint8 root[HLEN];
  if (origin != NULL && strcmp (origin, strand_checkpoint_get_origin (cp)) != 0)
    problem (c, "checkpoint-mismatch", ptr, "'origin' is not the note's origin");
  if (int_member (c, o, ptr, "size", &size) && size != strand_checkpoint_size (cp))
    problem (c, "checkpoint-mismatch", ptr, "'size' is %" G_GUINT64_FORMAT ", the note's %" G_GUINT64_FORMAT,
             size, strand_checkpoint_size (cp));
  if (hash_member (c, o, ptr, "root", root) && memcmp (root, strand_checkpoint_root (cp), HLEN) != 0)
    problem (c, "checkpoint-mismatch", ptr, "'root' is not the note's root hash");
  return g_steal_pointer (&cp);
}

static gboolean
same_tree (const StrandCheckpoint *a, const StrandCheckpoint *b)
{
  return strand_checkpoint_size (a) == strand_checkpoint_size (b) &&
         memcmp (strand_checkpoint_root (a), strand_checkpoint_root (b), HLEN) == 0;
}

/* Whether `node` holds a digest object {"sha256": HEX, ...} whose HEX is in
 * `subjects`, anywhere down. */
static gboolean
names_subject (JsonNode *node, GHashTable *subjects)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      const char *sha = strand_json_string (o, "sha256", NULL);
      if (sha != NULL && g_hash_table_contains (subjects, sha))
        return TRUE;
      g_autoptr (GList) values = json_object_get_values (o);
      for (GList *v = values; v != NULL; v = v->next)
        if (names_subject (v->data, subjects))
          return TRUE;
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        if (names_subject (json_array_get_element (a, i), subjects))
          return TRUE;
    }
  return FALSE;
}

static guint
check_records (Check *c, JsonObject *doc, const StrandCheckpoint *cp, GHashTable *subjects)
{
  JsonNode *node = member (c, doc, "", "inclusion", JSON_NODE_ARRAY, "an array");
  if (node == NULL)
    return 0;
  JsonArray *items = json_node_get_array (node);
  if (json_array_get_length (items) == 0)
    problem (c, "no-records", "/inclusion", "the proof holds no record: it proves nothing");
  guint64 size = strand_checkpoint_size (cp);
  guint proven = 0;
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      g_autofree char *ptr = g_strdup_printf ("/inclusion/%u", i);
      JsonNode *e = json_array_get_element (items, i);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        {
          problem (c, "malformed", ptr, "each inclusion is an object");
          continue;
        }
      JsonObject *o = json_node_get_object (e);
      guint before = c->problems->len;
      guint64 seq = 0, index = 0;
      guint8 leaf[HLEN];
      const char *record = NULL;
      g_autoptr (GArray) path = NULL;
      gboolean ok = int_member (c, o, ptr, "seq", &seq) & int_member (c, o, ptr, "leaf_index", &index);
      ok &= hash_member (c, o, ptr, "leaf_hash", leaf);
      ok &= (record = string_member (c, o, ptr, "record")) != NULL;
      ok &= (path = hashes_member (c, o, ptr, "audit_path")) != NULL;
      ok &= member (c, o, ptr, "relations", JSON_NODE_ARRAY, "an array") != NULL;
      if (!ok)
        continue;
      if (seq == 0 || index != seq - 1)
        problem (c, "malformed", ptr, "leaf_index is seq - 1 (seq %" G_GUINT64_FORMAT ", leaf %" G_GUINT64_FORMAT ")",
                 seq, index);
      if (index >= size)
        problem (c, "not-covered", ptr, "leaf %" G_GUINT64_FORMAT " is not in a tree of %" G_GUINT64_FORMAT " leaves",
                 index, size);

      /* The record: its own signature, its seq, what it is about. */
      g_autofree char *record_ptr = g_strdup_printf ("%s/record", ptr);
      g_autoptr (GError) error = NULL;
      guint64 record_seq = 0;
      gsize len = strlen (record);
      g_autoptr (JsonNode) statement = strand_record_open (record, len, NULL, &record_seq, NULL, &error);
      g_autoptr (JsonNode) signed_statement = NULL;
      if (statement == NULL)
        problem (c, "bad-record", record_ptr, "%s", error->message);
      else if ((signed_statement = strand_record_open (record, len, c->host_key, NULL, NULL,
                                                       &error)) == NULL)
        problem (c, "record-signature", record_ptr, "%s", error->message);
      else if (record_seq != seq)
        problem (c, "bad-record", record_ptr, "the record is seq %" G_GUINT64_FORMAT ", not %" G_GUINT64_FORMAT,
                 record_seq, seq);
      else if (g_hash_table_size (subjects) > 0 && !names_subject (statement, subjects))
        problem (c, "not-about-subject", record_ptr, "the record names none of the subjects' digests");

      guint8 computed[HLEN];
      strand_merkle_leaf_hash (record, len, computed);
      if (memcmp (computed, leaf, HLEN) != 0)
        problem (c, "leaf-mismatch", ptr, "leaf_hash is not SHA-256(0x00 || record)");
      else if (index < size &&
               !strand_merkle_verify_inclusion (leaf, index, size, path, strand_checkpoint_root (cp)))
        {
          g_autofree char *path_ptr = g_strdup_printf ("%s/audit_path", ptr);
          problem (c, "bad-path", path_ptr,
                   "the audit path does not lead from leaf %" G_GUINT64_FORMAT " to the checkpoint's root",
                   index);
        }
      if (c->problems->len == before)
        proven++;
    }
  return proven;
}

gboolean
strand_proof_verify (JsonNode *doc, const StrandNoteKey *key, const StrandCheckpoint *trusted,
                     GPtrArray *problems, StrandProofSummary *summary)
{
  g_return_val_if_fail (key != NULL && problems != NULL, FALSE);
  guint before = problems->len;
  StrandProofSummary local = { 0 };
  if (summary == NULL)
    summary = &local;
  *summary = (StrandProofSummary){ 0 };
  g_autoptr (StrandKey) host_key = strand_note_key_host_key (key);
  Check c = { problems, key, host_key };
  if (doc == NULL || !JSON_NODE_HOLDS_OBJECT (doc))
    {
      problem (&c, "malformed", "", "a proof is a JSON object");
      return FALSE;
    }
  JsonObject *o = json_node_get_object (doc);
  const char *format = string_member (&c, o, "", "format");
  if (format == NULL)
    return FALSE;
  if (strcmp (format, STRAND_PROOF_INCLUSION) == 0)
    {
      g_autoptr (StrandCheckpoint) cp = check_checkpoint (&c, o, "checkpoint");
      if (cp == NULL)
        return FALSE;
      g_strlcpy (summary->origin, strand_checkpoint_get_origin (cp), sizeof summary->origin);
      summary->size = strand_checkpoint_size (cp);
      if (trusted != NULL && !same_tree (cp, trusted))
        problem (&c, "untrusted-checkpoint", "/checkpoint",
                 "the proof is against the tree of %" G_GUINT64_FORMAT " records, not the trusted "
                 "checkpoint's %" G_GUINT64_FORMAT " with its root",
                 strand_checkpoint_size (cp), strand_checkpoint_size (trusted));
      g_autoptr (GHashTable) subjects = g_hash_table_new (g_str_hash, g_str_equal);
      JsonNode *s = member (&c, o, "", "subjects", JSON_NODE_ARRAY, "an array of digests");
      for (guint i = 0; s != NULL && i < json_array_get_length (json_node_get_array (s)); i++)
        {
          JsonNode *e = json_array_get_element (json_node_get_array (s), i);
          guint8 h[HLEN];
          if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING &&
              parse_hex (json_node_get_string (e), h))
            g_hash_table_add (subjects, (gpointer) json_node_get_string (e));
          else
            {
              g_autofree char *at = g_strdup_printf ("/subjects/%u", i);
              problem (&c, "malformed", at, "a SHA-256 in lower-case hex");
            }
        }
      summary->records = check_records (&c, o, cp, subjects);
    }
  else if (strcmp (format, STRAND_PROOF_CONSISTENCY) == 0)
    {
      summary->consistency = TRUE;
      g_autoptr (StrandCheckpoint) old_cp = check_checkpoint (&c, o, "old");
      g_autoptr (StrandCheckpoint) new_cp = check_checkpoint (&c, o, "new");
      g_autoptr (GArray) proof = hashes_member (&c, o, "", "proof");
      if (old_cp == NULL || new_cp == NULL || proof == NULL)
        return FALSE;
      g_strlcpy (summary->origin, strand_checkpoint_get_origin (new_cp), sizeof summary->origin);
      summary->old_size = strand_checkpoint_size (old_cp);
      summary->size = strand_checkpoint_size (new_cp);
      if (trusted != NULL && !same_tree (old_cp, trusted) && !same_tree (new_cp, trusted))
        problem (&c, "untrusted-checkpoint", "", "neither checkpoint is the trusted one");
      if (!strand_merkle_verify_consistency (summary->old_size, summary->size, proof,
                                             strand_checkpoint_root (old_cp),
                                             strand_checkpoint_root (new_cp)))
        problem (&c, "bad-path", "/proof",
                 "the proof does not show the tree of %" G_GUINT64_FORMAT " records to be a prefix "
                 "of the tree of %" G_GUINT64_FORMAT,
                 summary->old_size, summary->size);
    }
  else
    problem (&c, "malformed", "/format", "'%s' is not a Strand proof format (%s, %s)", format,
             STRAND_PROOF_INCLUSION, STRAND_PROOF_CONSISTENCY);
  return problems->len == before;
}

JsonNode *
strand_proof_load (const char *path, GPtrArray *problems)
{
  GStatBuf st;
  if (g_stat (path, &st) == 0 && st.st_size > PROOF_FILE_MAX)
    {
      strand_problems_add (problems, FALSE, "too-large", path,
                           "%" G_GINT64_FORMAT " bytes: a proof is at most %" G_GINT64_FORMAT,
                           (gint64) st.st_size, (gint64) PROOF_FILE_MAX);
      return NULL;
    }
  gsize len = 0;
  g_autofree char *data = strand_read_user_file (path, &len, problems);
  if (data == NULL)
    return NULL;
  g_autoptr (JsonParser) parser = strand_json_parse_document (data, len, path, problems);
  return parser != NULL ? json_node_copy (json_parser_get_root (parser)) : NULL;
}
