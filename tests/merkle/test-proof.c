/* The auditor's side of issue 5, part 1, through the command: `strand
 * checkpoint`, `strand proof DIGEST`, `strand proof --consistency OLD NEW`
 * and `strand proof --verify` on a store a pipeline ran in. Proofs are
 * valid against schemas/proof.schema.json, rechecked by independent
 * implementations (check_proofs.py with hashlib, check_signed_note.py with
 * PyNaCl), verified with nothing but the key in a directory without a
 * store, and refused when any part of them is changed. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "test-util.h"

static char *tmp, *store, *log_path, *vkey, *pub;

static int
spawn (char **out, const char *cwd, const char *const *argv)
{
  g_autofree char *o = NULL, *e = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_spawn_sync (cwd, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &o, &e,
                               &status, &error));
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_printerr ("%s: %s%s", argv[1], o, e);
  if (out)
    *out = g_strconcat (e, o, NULL); /* stderr first: JSON on stdout stays whole at the end */
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

/* strand ARGS... in directory `cwd` (NULL: here). */
static int
strand_in (const char *cwd, char **out, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) STRAND_CLI);
  va_list ap;
  va_start (ap, out);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return spawn (out, cwd, (const char *const *) argv->pdata);
}

#define strand(out, ...) strand_in (NULL, out, __VA_ARGS__)

static int
python (const char *script, const char *a, const char *b, const char *c)
{
  g_autofree char *path = g_build_filename (STRAND_SOURCE_ROOT, "tests", "merkle", script, NULL);
  const char *argv[] = { "/usr/bin/python3", path, a, b, c, NULL };
  return spawn (NULL, NULL, argv);
}

static JsonNode *
load_json (const char *path)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (p, path, &error));
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (p));
}

/* A copy to change: json_node_copy() shares objects and arrays. */
static JsonNode *
deep_copy (JsonNode *node)
{
  g_autofree char *text = json_to_string (node, FALSE);
  return json_from_string (text, NULL);
}

static char *
save_json (JsonNode *node, const char *name)
{
  char *path = g_build_filename (tmp, name, NULL);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  g_assert_true (json_generator_to_file (gen, path, NULL));
  return path;
}

static char *
in_tmp (const char *name)
{
  return g_build_filename (tmp, name, NULL);
}

/* All the checks a proof file must pass. */
static void
assert_proof_holds (const char *proof)
{
  g_assert_cmpint (python ("check_proof_schema.py", STRAND_SOURCE_ROOT "/schemas/proof.schema.json",
                           proof, NULL), ==, 0);
  g_assert_cmpint (python ("check_proofs.py", log_path, proof, NULL), ==, 0);
  g_assert_cmpint (python ("check_signed_note.py", proof, vkey, pub), ==, 0);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "proof", "--verify", proof, "--key", vkey, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "verified"));
  g_assert_cmpint (strand (NULL, "proof", "--verify", proof, "--key", pub, NULL), ==, 0);
}

/* `strand proof --verify` fails, naming `code`; so does check_proofs.py
 * unless `python_too` is FALSE (for what only a signature shows). */
static void
assert_refused (JsonNode *doc, const char *code, gboolean python_too)
{
  g_autofree char *path = save_json (doc, "tampered.json");
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "proof", "--verify", path, "--key", vkey, NULL), ==, 1);
  g_autofree char *bracketed = g_strdup_printf ("[%s]", code);
  if (strstr (out, bracketed) == NULL)
    g_error ("expected %s in: %s", bracketed, out);
  g_assert_nonnull (strstr (out, "NOT VERIFIED"));
  if (python_too)
    g_assert_cmpint (python ("check_proofs.py", log_path, path, NULL), !=, 0);
}

static void
flip_hex (JsonObject *o, const char *name)
{
  g_autofree char *v = g_strdup (json_object_get_string_member (o, name));
  v[7] = v[7] == '0' ? '1' : '0';
  json_object_set_string_member (o, name, v);
}

static char *qc_digest, *merge_digest, *ingested, *ingested_digest;

static void
test_inclusion (void)
{
  /* A checkpoint: printed, kept, and checked by PyNaCl. */
  g_autofree char *cp_file = in_tmp ("cp1.txt");
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "checkpoint", "--store", store, "-o", cp_file, NULL), ==, 0);
  g_autofree char *cp_text = NULL;
  g_assert_true (g_file_get_contents (cp_file, &cp_text, NULL, NULL));
  g_assert_true (g_str_has_suffix (out, cp_text));
  g_assert_cmpint (python ("check_signed_note.py", cp_file, vkey, pub), ==, 0);

  /* The output of merge: made by one record, used by QC's. */
  g_autofree char *proof = in_tmp ("merge.json");
  g_assert_cmpint (strand (NULL, "proof", merge_digest, "--store", store, "-o", proof, NULL), ==, 0);
  assert_proof_holds (proof);
  g_autoptr (JsonNode) doc = load_json (proof);
  JsonObject *o = json_node_get_object (doc);
  JsonArray *inc = json_object_get_array_member (o, "inclusion");
  g_assert_cmpuint (json_array_get_length (inc), ==, 2);
  JsonArray *r0 = json_object_get_array_member (json_array_get_object_element (inc, 0), "relations");
  JsonArray *r1 = json_object_get_array_member (json_array_get_object_element (inc, 1), "relations");
  g_assert_cmpstr (json_array_get_string_element (r0, 0), ==, "generated");
  g_assert_cmpstr (json_array_get_string_element (r1, 0), ==, "used");
  /* Against the checkpoint just made, the latest. */
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (o, "checkpoint"), "note"),
                   ==, cp_text);

  /* No store is needed to verify: the proof and the key in an empty place. */
  g_autofree char *elsewhere = in_tmp ("auditor");
  g_assert_cmpint (g_mkdir (elsewhere, 0755), ==, 0);
  g_autofree char *proof_copy = g_build_filename (elsewhere, "proof.json", NULL);
  g_autofree char *key_copy = g_build_filename (elsewhere, "host.vkey", NULL);
  g_autofree char *bytes = NULL, *key_bytes = NULL;
  g_assert_true (g_file_get_contents (proof, &bytes, NULL, NULL));
  g_assert_true (g_file_set_contents (proof_copy, bytes, -1, NULL));
  g_assert_true (g_file_get_contents (vkey, &key_bytes, NULL, NULL));
  g_assert_true (g_file_set_contents (key_copy, key_bytes, -1, NULL));
  g_autofree char *verified = NULL;
  g_assert_cmpint (strand_in (elsewhere, &verified, "proof", "--verify", "proof.json", "--key",
                              "host.vkey", "--json", NULL), ==, 0);
  g_autoptr (JsonNode) v = json_from_string (verified, NULL);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (v), "ok"));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (v), "records"), ==, 2);
  g_autofree char *no_store = g_build_filename (elsewhere, "strand-store", NULL);
  g_assert_false (g_file_test (no_store, G_FILE_TEST_EXISTS));

  /* By a digest prefix; by the path a file was ingested from (its ingest
   * made it, the copy out of the store used it); the QC report (made). */
  char prefix[13];
  g_strlcpy (prefix, merge_digest, sizeof prefix);
  g_autofree char *by_prefix = NULL;
  g_assert_cmpint (strand (&by_prefix, "proof", prefix, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) pd = json_from_string (by_prefix, NULL);
  g_assert_cmpstr (json_array_get_string_element (
                       json_object_get_array_member (json_node_get_object (pd), "subjects"), 0),
                   ==, merge_digest);
  g_autofree char *by_path = in_tmp ("ingested.json");
  g_assert_cmpint (strand (NULL, "proof", ingested, "--store", store, "-o", by_path, NULL), ==, 0);
  assert_proof_holds (by_path);
  g_autoptr (JsonNode) pp = load_json (by_path);
  JsonArray *pinc = json_object_get_array_member (json_node_get_object (pp), "inclusion");
  g_assert_cmpuint (json_array_get_length (pinc), ==, 2);
  g_autofree char *qc = in_tmp ("qc.json");
  g_assert_cmpint (strand (NULL, "proof", qc_digest, "--store", store, "-o", qc, NULL), ==, 0);
  assert_proof_holds (qc);

  /* What is not a data item of this ledger. */
  g_autofree char *err = NULL;
  g_assert_cmpint (strand (&err, "proof", "A", "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "proofs are for a data item"));
  g_assert_cmpint (strand (NULL, "proof", "0123456789abcdef0123", "--store", store, NULL), ==, 1);
  g_assert_cmpint (strand (NULL, "proof", "--store", store, NULL), ==, 2);
  g_assert_cmpint (strand (NULL, "proof", "--verify", proof, NULL), ==, 2); /* no --key */
}

static void
test_tampered (void)
{
  g_autofree char *proof = in_tmp ("merge.json");
  g_autoptr (JsonNode) good = load_json (proof);
  {
    g_autoptr (JsonNode) d = deep_copy (good);
    JsonObject *e = json_array_get_object_element (
        json_object_get_array_member (json_node_get_object (d), "inclusion"), 1);
    flip_hex (e, "leaf_hash");
    assert_refused (d, "leaf-mismatch", TRUE);
  }
  {
    g_autoptr (JsonNode) d = deep_copy (good);
    JsonObject *e = json_array_get_object_element (
        json_object_get_array_member (json_node_get_object (d), "inclusion"), 0);
    JsonArray *path = json_object_get_array_member (e, "audit_path");
    g_autofree char *h = g_strdup (json_array_get_string_element (path, 1));
    h[0] = h[0] == 'a' ? 'b' : 'a';
    json_array_remove_element (path, 1);
    JsonNode *n = json_node_new (JSON_NODE_VALUE);
    json_node_set_string (n, h);
    json_array_add_element (path, n); /* changed, and moved to the end */
    assert_refused (d, "bad-path", TRUE);
  }
  {
    /* Another record in its place: the leaf and the path no longer match,
     * and the record does not name the data item. */
    g_autoptr (JsonNode) d = deep_copy (good);
    JsonArray *inc = json_object_get_array_member (json_node_get_object (d), "inclusion");
    JsonObject *e0 = json_array_get_object_element (inc, 0);
    g_autofree char *all = NULL;
    g_assert_true (g_file_get_contents (log_path, &all, NULL, NULL));
    *strchr (all, '\n') = '\0';
    json_object_set_string_member (e0, "record", all);
    assert_refused (d, "leaf-mismatch", TRUE);
  }
  {
    /* A changed byte of the record's signature. */
    g_autoptr (JsonNode) d = deep_copy (good);
    JsonObject *e = json_array_get_object_element (
        json_object_get_array_member (json_node_get_object (d), "inclusion"), 0);
    g_autofree char *rec = g_strdup (json_object_get_string_member (e, "record"));
    char *sig = strstr (rec, "\"sig\":\"") + 12;
    *sig = *sig == 'A' ? 'B' : 'A';
    json_object_set_string_member (e, "record", rec);
    assert_refused (d, "record-signature", TRUE);
  }
  {
    /* The checkpoint says another size: its signature fails. */
    g_autoptr (JsonNode) d = deep_copy (good);
    JsonObject *cp = json_object_get_object_member (json_node_get_object (d), "checkpoint");
    g_autofree char *note = g_strdup (json_object_get_string_member (cp, "note"));
    char *size = strchr (note, '\n') + 1;
    g_autofree char *changed = g_strdup_printf ("%.*s%d%s", (int) (size - note), note,
                                                atoi (size) + 1, strchr (size, '\n'));
    json_object_set_string_member (cp, "note", changed);
    assert_refused (d, "bad-signature", FALSE);
    /* Its readable copy changed instead. */
    g_autoptr (JsonNode) d2 = deep_copy (good);
    JsonObject *cp2 = json_object_get_object_member (json_node_get_object (d2), "checkpoint");
    flip_hex (cp2, "root");
    assert_refused (d2, "checkpoint-mismatch", TRUE);
  }
  {
    g_autoptr (JsonNode) d = deep_copy (good);
    JsonObject *e = json_array_get_object_element (
        json_object_get_array_member (json_node_get_object (d), "inclusion"), 0);
    json_object_set_int_member (e, "leaf_index", json_object_get_int_member (e, "leaf_index") + 1);
    assert_refused (d, "malformed", TRUE);
    JsonObject *o = json_node_get_object (d);
    json_array_remove_element (json_object_get_array_member (o, "inclusion"), 1);
    json_array_remove_element (json_object_get_array_member (o, "inclusion"), 0);
    assert_refused (d, "no-records", TRUE);
  }

  /* Another log's key. */
  g_autofree char *other = in_tmp ("other-store");
  g_assert_cmpint (strand (NULL, "init", "--store", other, NULL), ==, 0);
  g_assert_cmpint (strand (NULL, "checkpoint", "--store", other, NULL), ==, 0);
  g_autofree char *other_key = g_build_filename (other, "keys", "host.vkey", NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "proof", "--verify", proof, "--key", other_key, NULL), ==, 1);
  g_assert_nonnull (strstr (out, "[wrong-log]"));
  g_assert_cmpint (python ("check_signed_note.py", proof, other_key, NULL), ==, 1);

  /* Not a proof at all. */
  const char *junk[] = { "", "{", "[]", "{\"format\": \"urn:strand:proof:inclusion:v2\"}",
                         "{\"format\": \"urn:strand:proof:consistency:v1\", \"old\": 1}" };
  for (guint i = 0; i < G_N_ELEMENTS (junk); i++)
    {
      g_autofree char *path = in_tmp ("junk.json");
      g_assert_true (g_file_set_contents (path, junk[i], -1, NULL));
      g_autofree char *jout = NULL;
      g_assert_cmpint (strand (&jout, "proof", "--verify", path, "--key", vkey, NULL), ==, 1);
      g_assert_nonnull (strstr (jout, "NOT VERIFIED"));
    }
}

static void
test_consistency (void)
{
  g_autofree char *cp1 = in_tmp ("cp1.txt");
  g_autofree char *more = in_tmp ("more.txt");
  g_assert_true (g_file_set_contents (more, "more data\n", -1, NULL));
  g_assert_cmpint (strand (NULL, "ingest", more, "--store", store, NULL), ==, 0);
  g_autofree char *cp2 = in_tmp ("cp2.txt");
  g_assert_cmpint (strand (NULL, "checkpoint", "--store", store, "-o", cp2, NULL), ==, 0);

  g_autofree char *proof = in_tmp ("consistency.json");
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "proof", "--consistency", cp1, cp2, "--store", store, "-o", proof,
                           NULL), ==, 0);
  g_assert_nonnull (strstr (out, "is a prefix of the tree of"));
  assert_proof_holds (proof);
  g_autoptr (JsonNode) doc = load_json (proof);
  JsonObject *o = json_node_get_object (doc);
  gint64 old_size = json_object_get_int_member (json_object_get_object_member (o, "old"), "size");
  gint64 new_size = json_object_get_int_member (json_object_get_object_member (o, "new"), "size");
  g_assert_cmpint (new_size, ==, old_size + 1);

  /* Against a trusted checkpoint: either end; not another one. */
  g_assert_cmpint (strand (NULL, "proof", "--verify", proof, "--key", vkey, "--checkpoint", cp2, NULL), ==, 0);
  g_autofree char *three = g_build_filename (store, "checkpoints", "3.checkpoint", NULL);
  g_assert_false (g_file_test (three, G_FILE_TEST_EXISTS));

  /* By tree sizes: a checkpoint of size 3 is signed now and kept. */
  g_autofree char *new_text = g_strdup_printf ("%" G_GINT64_FORMAT, new_size);
  g_autofree char *by_size = in_tmp ("by-size.json");
  g_assert_cmpint (strand (NULL, "proof", "--consistency", "3", new_text, "--store", store, "-o",
                           by_size, NULL), ==, 0);
  assert_proof_holds (by_size);
  g_assert_true (g_file_test (three, G_FILE_TEST_EXISTS));
  g_autofree char *untrusted = NULL;
  g_assert_cmpint (strand (&untrusted, "proof", "--verify", proof, "--key", vkey, "--checkpoint", three,
                           NULL), ==, 1);
  g_assert_nonnull (strstr (untrusted, "[untrusted-checkpoint]"));
  g_assert_cmpint (strand (NULL, "proof", "--consistency", new_text, "3", "--store", store, NULL), ==, 1);
  g_assert_cmpint (strand (NULL, "proof", "--consistency", "3", "100000", "--store", store, NULL), ==, 1);

  /* A changed proof element, or a wrong old size. */
  {
    g_autoptr (JsonNode) d = load_json (by_size);
    JsonArray *p = json_object_get_array_member (json_node_get_object (d), "proof");
    g_autofree char *h = g_strdup (json_array_get_string_element (p, 0));
    h[5] = h[5] == '0' ? '1' : '0';
    json_array_remove_element (p, 0);
    JsonNode *n = json_node_new (JSON_NODE_VALUE);
    json_node_set_string (n, h);
    json_array_add_element (p, n);
    assert_refused (d, "bad-path", TRUE);
  }
  {
    /* The new checkpoint replaced by the old one: not the same log growth. */
    g_autoptr (JsonNode) d = load_json (proof);
    JsonObject *dob = json_node_get_object (d);
    json_object_set_member (dob, "new", json_node_copy (json_object_get_member (dob, "old")));
    assert_refused (d, "bad-path", TRUE);
  }

  /* Proofs made now use the latest checkpoint; one older than a record is
   * refused, not silently replaced. */
  g_autofree char *latest = NULL;
  g_assert_cmpint (strand (&latest, "proof", more, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) ld = json_from_string (latest, NULL);
  g_assert_cmpint (json_object_get_int_member (
                       json_object_get_object_member (json_node_get_object (ld), "checkpoint"), "size"),
                   ==, new_size);
  g_autofree char *too_old = NULL;
  g_assert_cmpint (strand (&too_old, "proof", more, "--store", store, "--checkpoint", cp1, NULL), ==, 1);
  g_assert_nonnull (strstr (too_old, "is not in the checkpoint"));
  g_autofree char *fresh = NULL;
  g_assert_cmpint (strand (NULL, "ingest", cp1, "--store", store, NULL), ==, 0);
  g_assert_cmpint (strand (&fresh, "proof", merge_digest, "--store", store, "--fresh", "--json", NULL), ==, 0);
  g_autoptr (JsonNode) fd = json_from_string (fresh, NULL);
  g_assert_cmpint (json_object_get_int_member (
                       json_object_get_object_member (json_node_get_object (fd), "checkpoint"), "size"),
                   ==, new_size + 1);
}

static void
test_store_changes (void)
{
  /* The tree's files deleted: rebuilt from the log, same proofs. */
  g_autofree char *before = NULL, *after = NULL;
  g_assert_cmpint (strand (&before, "proof", merge_digest, "--store", store, "--json", NULL), ==, 0);
  g_autofree char *hashes = g_build_filename (store, "ledger", "tree.hashes", NULL);
  g_autofree char *offsets = g_build_filename (store, "ledger", "tree.offsets", NULL);
  g_assert_cmpint (g_unlink (hashes), ==, 0);
  g_assert_cmpint (g_unlink (offsets), ==, 0);
  g_assert_cmpint (strand (&after, "proof", merge_digest, "--store", store, "--json", NULL), ==, 0);
  g_assert_cmpstr (before, ==, after);

  /* A record changed in the log after the tree took it: no proof for it,
   * and the message says the log was changed. */
  g_autoptr (JsonNode) doc = json_from_string (before, NULL);
  gint64 seq = json_object_get_int_member (
      json_array_get_object_element (json_object_get_array_member (json_node_get_object (doc), "inclusion"), 0),
      "seq");
  g_autofree char *all = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (log_path, &all, &len, NULL));
  char *line = all;
  for (gint64 i = 1; i < seq; i++)
    line = strchr (line, '\n') + 1;
  char *sig = strstr (line, "\"sig\":\"") + 10;
  *sig = *sig == 'A' ? 'B' : 'A';
  g_assert_true (g_file_set_contents (log_path, all, (gssize) len, NULL));
  g_autofree char *err = NULL;
  g_assert_cmpint (strand (&err, "proof", merge_digest, "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "the log was changed"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-proof-XXXXXX", NULL);
  store = g_build_filename (tmp, "store", NULL);
  log_path = g_build_filename (store, "ledger", "log.jsonl", NULL);
  vkey = g_build_filename (store, "keys", "host.vkey", NULL);
  pub = g_build_filename (store, "keys", "host.pub", NULL);

  /* A run of the demo pipeline over two samples (8 stage runs), then a file
   * ingested and copied out of the store. */
  g_autofree char *sheet = in_tmp ("samples.json");
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}, {\"id\": \"B\"}]}", -1, NULL));
  g_autofree char *run = NULL;
  g_assert_cmpint (strand (&run, "run", STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.json",
                           "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR, "--store", store,
                           "--json", NULL), ==, 0);
  g_autoptr (JsonNode) rn = json_from_string (strstr (run, "{"), NULL);
  g_assert_nonnull (rn);
  JsonArray *tasks = json_object_get_array_member (json_node_get_object (rn), "tasks");
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      JsonObject *o = json_array_get_object_element (json_object_get_array_member (t, "outputs"), 0);
      if (strcmp (json_object_get_string_member (t, "sample"), "A") != 0)
        continue;
      if (strcmp (json_object_get_string_member (t, "stage"), "qc") == 0)
        qc_digest = g_strdup (json_object_get_string_member (o, "sha256"));
      if (strcmp (json_object_get_string_member (t, "stage"), "merge") == 0)
        merge_digest = g_strdup (json_object_get_string_member (o, "sha256"));
    }
  g_assert_nonnull (qc_digest);
  g_assert_nonnull (merge_digest);
  ingested = in_tmp ("reads.txt");
  g_assert_true (g_file_set_contents (ingested, "ACGT\n", -1, NULL));
  g_autofree char *ing = NULL;
  g_assert_cmpint (strand (&ing, "ingest", ingested, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) in = json_from_string (ing, NULL);
  ingested_digest = g_strdup (json_object_get_string_member (
      json_array_get_object_element (json_node_get_array (in), 0), "sha256"));
  g_autofree char *copy = in_tmp ("copy.txt");
  g_assert_cmpint (strand (NULL, "store", "get", ingested_digest, copy, "--store", store, NULL), ==, 0);

  g_test_add_func ("/proof/inclusion", test_inclusion);
  g_test_add_func ("/proof/tampered", test_tampered);
  g_test_add_func ("/proof/consistency", test_consistency);
  g_test_add_func ("/proof/store-changes", test_store_changes);
  int status = g_test_run ();
  strand_test_remove_tree (tmp);
  g_free (tmp);
  g_free (store);
  g_free (log_path);
  g_free (vkey);
  g_free (pub);
  g_free (qc_digest);
  g_free (merge_digest);
  g_free (ingested);
  g_free (ingested_digest);
  return status;
}
