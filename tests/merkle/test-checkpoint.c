/* Signed checkpoints (checkpoint.h): the exact C2SP note form, its key id
 * and verifier key by the specification's formulas, checked by an
 * independent implementation (check_signed_note.py, PyNaCl); a changed
 * byte, another key or another log refused; witness lines ignored; every
 * malformed note refused with the line at fault; and a store that keeps
 * its checkpoints and refuses to sign a tree that disagrees with them. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

#include "checkpoint.h"
#include "digest.h"
#include "provenance.h"
#include "record-build.h"
#include "test-util.h"

#define HLEN STRAND_MERKLE_HASH_LEN
#define EM_DASH "\xe2\x80\x94"

typedef struct {
  char *dir;
  StrandKey *key;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-checkpoint-XXXXXX", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_provenance_init (f->dir, &error));
  g_assert_no_error (error);
  f->key = strand_key_load (f->dir, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_key_free (f->key);
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
some_root (guint8 root[HLEN], guint seed)
{
  char text[16];
  g_snprintf (text, sizeof text, "root %u", seed);
  g_autoptr (StrandSha256) sha = strand_sha256_new ();
  strand_sha256_update (sha, text, strlen (text));
  strand_sha256_finish (sha, root);
}

static char *
write_file (Fixture *f, const char *name, const char *text)
{
  char *path = g_build_filename (f->dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

/* check_signed_note.py's exit status. */
static int
python_check (const char *note_path, const char *vkey_path, const char *pub_path)
{
  const char *argv[] = { "/usr/bin/python3", STRAND_SOURCE_ROOT "/tests/merkle/check_signed_note.py",
                         note_path, vkey_path, pub_path, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("check_signed_note.py: %s%s", out, err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

static void
test_form (Fixture *f, gconstpointer data)
{
  guint8 root[HLEN];
  some_root (root, 1);
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_sign (f->key, 4213, root);
  g_assert_nonnull (cp);
  g_autofree char *origin = strand_checkpoint_origin (f->key);
  g_autofree char *want_origin = g_strconcat ("strand/ledger/", strand_key_id (f->key), NULL);
  g_assert_cmpstr (origin, ==, want_origin);

  /* origin, size, base64 root, a blank line, one em-dash signature line. */
  g_auto (GStrv) lines = g_strsplit (strand_checkpoint_text (cp), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  g_assert_cmpstr (lines[0], ==, origin);
  g_assert_cmpstr (lines[1], ==, "4213");
  g_autofree char *root_b64 = g_base64_encode (root, HLEN);
  g_assert_cmpstr (lines[2], ==, root_b64);
  g_assert_cmpstr (lines[3], ==, "");
  g_autofree char *sig_prefix = g_strconcat (EM_DASH " ", origin, " ", NULL);
  g_assert_true (g_str_has_prefix (lines[4], sig_prefix));
  g_assert_cmpstr (lines[5], ==, "");

  /* The signature is base64 of the key id and an Ed25519 signature of the
   * text; the key id is SHA-256(name || 0x0A || 0x01 || key)[:4]. */
  gsize raw_len = 0;
  g_autofree guint8 *raw = g_base64_decode (lines[4] + strlen (sig_prefix), &raw_len);
  g_assert_cmpuint (raw_len, ==, 4 + 64);
  guint8 pk[32];
  strand_key_public (f->key, pk);
  g_autoptr (GByteArray) id_input = g_byte_array_new ();
  g_byte_array_append (id_input, (const guint8 *) origin, (guint) strlen (origin));
  g_byte_array_append (id_input, (const guint8 *) "\n\x01", 2);
  g_byte_array_append (id_input, pk, 32);
  g_autofree char *id_hash = strand_sha256_hex (id_input->data, id_input->len);
  g_autofree char *raw_id = g_strdup_printf ("%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3]);
  g_assert_true (g_str_has_prefix (id_hash, raw_id));

  /* The verifier key: NAME+ID+BASE64(0x01 || key), and back. */
  g_autoptr (StrandNoteKey) nk = strand_note_key_from_host (f->key);
  g_autofree char *vkey = strand_note_key_to_string (nk);
  guint8 alg_pk[33] = { 0x01 };
  memcpy (alg_pk + 1, pk, 32);
  g_autofree char *pk_b64 = g_base64_encode (alg_pk, sizeof alg_pk);
  g_autofree char *want_vkey = g_strdup_printf ("%s+%s+%s", origin, raw_id, pk_b64);
  g_assert_cmpstr (vkey, ==, want_vkey);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandNoteKey) parsed = strand_note_key_parse (vkey, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (strand_note_key_name (parsed), ==, origin);
  g_assert_true (strand_checkpoint_verify (cp, parsed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strand_checkpoint_size (cp), ==, 4213);
  g_assert_cmpmem (strand_checkpoint_root (cp), HLEN, root, HLEN);

  /* An independent implementation agrees, from the vkey and from host.pub. */
  g_autofree char *note_path = write_file (f, "note", strand_checkpoint_text (cp));
  g_autofree char *vkey_line = g_strconcat (vkey, "\n", NULL);
  g_autofree char *vkey_path = write_file (f, "vkey", vkey_line);
  g_autofree char *pub_path = g_build_filename (f->dir, "keys", "host.pub", NULL);
  g_assert_cmpint (python_check (note_path, vkey_path, pub_path), ==, 0);
  g_autoptr (StrandNoteKey) from_pub = strand_note_key_load (pub_path, &error);
  g_assert_no_error (error);
  g_autofree char *vkey2 = strand_note_key_to_string (from_pub);
  g_assert_cmpstr (vkey2, ==, vkey);
  g_autoptr (StrandNoteKey) from_file = strand_note_key_load (vkey_path, &error);
  g_assert_no_error (error);
  g_assert_true (strand_checkpoint_verify (cp, from_file, &error));

  /* Any changed byte of the text fails both. */
  g_autofree char *changed = g_strdup (strand_checkpoint_text (cp));
  char *size_at = strstr (changed, "\n4213\n") + 1;
  size_at[3] = '4';
  g_autoptr (StrandCheckpoint) bad = strand_checkpoint_parse (changed, strlen (changed), "x", &error);
  g_assert_no_error (error);
  g_assert_false (strand_checkpoint_verify (bad, nk, &error));
  g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  g_autofree char *bad_path = write_file (f, "bad-note", changed);
  g_assert_cmpint (python_check (bad_path, vkey_path, pub_path), ==, 1);
}

static void
test_other_keys (Fixture *f, gconstpointer data)
{
  guint8 root[HLEN];
  some_root (root, 2);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_sign (f->key, 7, root);
  g_autoptr (StrandNoteKey) nk = strand_note_key_from_host (f->key);

  /* A witness's cosignature line is ignored, before or after ours. */
  g_autofree char *other_dir = g_build_filename (f->dir, "other", NULL);
  g_assert_true (strand_key_create (other_dir, &error));
  g_autoptr (StrandKey) other = strand_key_load (other_dir, &error);
  g_assert_no_error (error);
  const char *text = strand_checkpoint_text (cp);
  gsize body = (gsize) (strstr (text, "\n\n") - text) + 1;
  guint8 blob[4 + 64] = { 0xde, 0xad, 0xbe, 0xef };
  g_assert_true (strand_key_sign (other, text, body, blob + 4));
  g_autofree char *blob_b64 = g_base64_encode (blob, sizeof blob);
  g_autofree char *witness = g_strdup_printf (EM_DASH " witness.example/w1 %s\n", blob_b64);
  g_autofree char *cosigned = g_strconcat (text, witness, NULL);
  g_autofree char *cosigned_first = g_strdup_printf ("%.*s\n%s%s", (int) body, text, witness,
                                                     text + body + 1);
  const char *variants[] = { cosigned, cosigned_first };
  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autoptr (StrandCheckpoint) c = strand_checkpoint_parse (variants[i], strlen (variants[i]), "c", &error);
      g_assert_no_error (error);
      g_assert_cmpuint (strand_checkpoint_n_signatures (c), ==, 2);
      g_assert_true (strand_checkpoint_verify (c, nk, &error));
      g_assert_no_error (error);
    }

  /* Only the other key's signature, under our name: unsigned. */
  g_autoptr (StrandNoteKey) other_nk = strand_note_key_from_host (other);
  g_autofree char *forged_text = g_strndup (text, body);
  guint8 forged[4 + 64];
  memcpy (forged, blob, 4);
  g_assert_true (strand_key_sign (other, text, body, forged + 4));
  g_autofree char *forged_b64 = g_base64_encode (forged, sizeof forged);
  g_autofree char *forged_note = g_strdup_printf ("%s\n" EM_DASH " %s %s\n", forged_text,
                                                  strand_note_key_name (nk), forged_b64);
  g_autoptr (StrandCheckpoint) fc = strand_checkpoint_parse (forged_note, strlen (forged_note), "f", &error);
  g_assert_no_error (error);
  g_assert_false (strand_checkpoint_verify (fc, nk, &error));
  g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_UNSIGNED);
  g_clear_error (&error);

  /* Checked with another log's key: refused for what it is. */
  g_assert_false (strand_checkpoint_verify (cp, other_nk, &error));
  g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_WRONG_LOG);
  g_clear_error (&error);

  /* Our key id under our name with a bad signature: the whole note fails,
   * even though another line would verify. */
  g_autofree char *dup = g_strdup (text);
  char *sig = strstr (dup, EM_DASH " ") + strlen (EM_DASH " ") + strlen (strand_note_key_name (nk)) + 1;
  sig[10] = sig[10] == 'A' ? 'B' : 'A';
  g_autofree char *both = g_strconcat (dup, text + body + 1, NULL);
  g_autoptr (StrandCheckpoint) bc = strand_checkpoint_parse (both, strlen (both), "b", &error);
  g_assert_no_error (error);
  g_assert_false (strand_checkpoint_verify (bc, nk, &error));
  g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
}

static void
test_malformed (Fixture *f, gconstpointer data)
{
  guint8 root[HLEN];
  some_root (root, 3);
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_sign (f->key, 12, root);
  const char *good = strand_checkpoint_text (cp);
  g_auto (GStrv) l = g_strsplit (good, "\n", -1); /* origin, size, root, "", sig, "" */
  const char *sig = l[4];
  struct {
    char *note;
    const char *where; /* "x:LINE:" expected in the message, or "x:" */
  } cases[] = {
    { g_strdup_printf ("%s\n%s\n%s\n%s\n", l[0], l[1], l[2], sig), "x:" },                 /* no blank line */
    { g_strdup_printf ("%s\n012\n%s\n\n%s\n", l[0], l[2], sig), "x:2:" },                  /* leading zero */
    { g_strdup_printf ("%s\n-1\n%s\n\n%s\n", l[0], l[2], sig), "x:2:" },
    { g_strdup_printf ("%s\n+12\n%s\n\n%s\n", l[0], l[2], sig), "x:2:" },
    { g_strdup_printf ("%s\n99999999999999999999\n%s\n\n%s\n", l[0], l[2], sig), "x:2:" }, /* > 2^64 */
    { g_strdup_printf ("%s\n12\n%s\n\n%s\n", l[0], "AAAA", sig), "x:3:" },                 /* 3 bytes */
    { g_strdup_printf ("%s\n12\n%s=\n\n%s\n", l[0], l[2], sig), "x:3:" },                  /* bad base64 */
    { g_strdup_printf ("%s\n12\n\n%s\n", l[0], sig), "x:3:" },                             /* two lines */
    { g_strdup_printf ("\n12\n%s\n\n%s\n", l[2], sig), "x:1:" },                           /* empty origin */
    { g_strdup_printf ("%s\n12\n%s\n\n%s", l[0], l[2], sig), "x:5:" },                     /* no final newline */
    { g_strdup_printf ("%s\n12\n%s\n\n", l[0], l[2]), "x:" },                              /* no signatures */
    { g_strdup_printf ("%s\n12\n%s\n\n-- %s\n", l[0], l[2], sig + 4), "x:5:" },            /* not an em dash */
    { g_strdup_printf ("%s\n12\n%s\n\n" EM_DASH " a+b %s\n", l[0], l[2], strrchr (sig, ' ') + 1), "x:5:" },
    { g_strdup_printf ("%s\n12\n%s\n\n" EM_DASH " name AAAA\n", l[0], l[2]), "x:5:" },     /* no signature */
    { g_strdup_printf ("%s\n12\n%s\n\n%s\n%s x\n", l[0], l[2], sig, sig), "x:6:" },         /* a space too many */
    { g_strdup_printf ("%s\n12\t\n%s\n\n%s\n", l[0], l[2], sig), "x:2:" },                 /* control character */
    { g_strdup_printf ("%s\n12\n%s\n\xff\n\n%s\n", l[0], l[2], sig), "x:4:" },             /* not UTF-8 */
    { g_strdup_printf ("%s\n\n12\n%s\n\n%s\n", l[0], l[2], sig), "x:2:" },                 /* empty line */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (StrandCheckpoint) c = strand_checkpoint_parse (cases[i].note, strlen (cases[i].note), "x", &error);
      if (c != NULL || !g_str_has_prefix (error->message, cases[i].where))
        g_error ("case %u: %s", i, c ? "accepted" : error->message);
      g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_MALFORMED);
      g_free (cases[i].note);
    }

  /* Limits: more than 100 signature lines; more than 1 MiB. */
  g_autoptr (GString) many = g_string_new (NULL);
  g_string_append_printf (many, "%s\n%s\n%s\n\n", l[0], l[1], l[2]);
  for (guint i = 0; i < 101; i++)
    g_string_append_printf (many, "%s\n", sig);
  g_autoptr (GError) error = NULL;
  g_assert_null (strand_checkpoint_parse (many->str, many->len, "x", &error));
  g_assert_nonnull (strstr (error->message, "more than 100"));
  g_clear_error (&error);
  g_autofree char *huge = g_malloc0 (1024 * 1024 + 1);
  memset (huge, 'a', 1024 * 1024 + 1);
  g_assert_null (strand_checkpoint_parse (huge, 1024 * 1024 + 1, "x", &error));
  g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_MALFORMED);
  g_clear_error (&error);

  /* Verifier keys. */
  g_autoptr (StrandNoteKey) nk = strand_note_key_from_host (f->key);
  g_autofree char *vkey = strand_note_key_to_string (nk);
  char *plus = strchr (vkey, '+');
  const char *bad_keys[] = { "", "name", "name+00000000", "a b+00000000+AQ==", "name+0000000+AQ==" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_keys); i++)
    {
      g_assert_null (strand_note_key_parse (bad_keys[i], &error));
      g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_BAD_KEY);
      g_clear_error (&error);
    }
  plus[3] = plus[3] == '0' ? '1' : '0'; /* the key id */
  g_assert_null (strand_note_key_parse (vkey, &error));
  g_assert_nonnull (strstr (error->message, "id"));
  g_clear_error (&error);
  plus[3] = plus[3] == '0' ? '1' : '0';
  g_autofree char *other_name = g_strconcat ("x", vkey, NULL);
  g_assert_null (strand_note_key_parse (other_name, &error));
  g_clear_error (&error);
  char *b64 = strchr (plus + 1, '+') + 1;
  b64[0] = 'B'; /* 0x04...: not an Ed25519 key */
  g_assert_null (strand_note_key_parse (vkey, &error));
  g_clear_error (&error);
}

/* ---- A store ---- */

static void
add_records (Fixture *f, guint n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandProvenance) prov = strand_provenance_open (f->dir, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (JsonNode) details = json_from_string ("{\"why\": \"test\"}", NULL);
      StrandEventFacts facts = { .event = "test", .time_us = 1795000000000000 + i, .details = details };
      g_autoptr (JsonNode) st = strand_statement_event (&facts);
      g_assert_true (strand_provenance_record (prov, st, &error));
      g_assert_no_error (error);
    }
}

static void
test_store (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (strand_checkpoint_latest (f->dir, &error));
  g_assert_no_error (error);
  add_records (f, 5);
  g_autoptr (StrandTree) tree = strand_checkpoint_open_tree (f->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strand_tree_size (tree), ==, 5);
  g_autoptr (StrandCheckpoint) cp5 = strand_checkpoint_make (f->dir, tree, 5, &error);
  g_assert_no_error (error);
  g_autofree char *kept = g_build_filename (f->dir, "checkpoints", "5.checkpoint", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (kept, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, strand_checkpoint_text (cp5));
  g_autofree char *vkey_path = g_build_filename (f->dir, "keys", "host.vkey", NULL);
  g_autofree char *pub_path = g_build_filename (f->dir, "keys", "host.pub", NULL);
  g_assert_cmpint (python_check (kept, vkey_path, pub_path), ==, 0);
  guint8 root[HLEN];
  g_assert_true (strand_tree_root (tree, 5, root, &error));
  g_assert_cmpmem (root, HLEN, strand_checkpoint_root (cp5), HLEN);
  /* Again: the same one. A smaller size: kept too. */
  g_autoptr (StrandCheckpoint) again = strand_checkpoint_make (f->dir, tree, 5, &error);
  g_assert_cmpstr (strand_checkpoint_text (again), ==, text);
  g_autoptr (StrandCheckpoint) cp2 = strand_checkpoint_make (f->dir, tree, 2, &error);
  g_assert_no_error (error);
  g_assert_null (strand_checkpoint_make (f->dir, tree, 6, &error));
  g_assert_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_RANGE);
  g_clear_error (&error);

  g_clear_pointer (&tree, strand_tree_close);
  add_records (f, 3);
  tree = strand_checkpoint_open_tree (f->dir, &error);
  g_autoptr (StrandCheckpoint) cp8 = strand_checkpoint_make (f->dir, tree, 8, &error);
  g_assert_no_error (error);
  g_autoptr (StrandCheckpoint) latest = strand_checkpoint_latest (f->dir, &error);
  g_assert_cmpuint (strand_checkpoint_size (latest), ==, 8);
  g_autoptr (StrandCheckpoint) found = strand_checkpoint_find (f->dir, 2, &error);
  g_assert_cmpstr (strand_checkpoint_text (found), ==, strand_checkpoint_text (cp2));
  g_assert_true (strand_checkpoint_check_tree (cp5, tree, &error));

  /* A tree that disagrees with what was signed: no signature for it. */
  g_autofree char *prefix = g_build_filename (f->dir, "forged", NULL);
  g_autoptr (StrandTree) forged = strand_tree_open_detached (prefix, &error);
  for (guint i = 0; i < 9; i++)
    {
      guint8 leaf[HLEN];
      some_root (leaf, 100 + i);
      strand_tree_append (forged, leaf, i);
    }
  g_assert_null (strand_checkpoint_make (f->dir, forged, 9, &error));
  g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_INCONSISTENT);
  g_assert_nonnull (strstr (error->message, "refusing to sign"));
  g_clear_error (&error);
  g_autofree char *nine = g_build_filename (f->dir, "checkpoints", "9.checkpoint", NULL);
  g_assert_false (g_file_test (nine, G_FILE_TEST_EXISTS));
  g_assert_false (strand_checkpoint_check_tree (cp8, forged, &error));
  g_clear_error (&error);

  /* A kept checkpoint changed on disk is refused when read. */
  g_autofree char *eight = g_build_filename (f->dir, "checkpoints", "8.checkpoint", NULL);
  g_autofree char *t8 = NULL;
  g_assert_true (g_file_get_contents (eight, &t8, NULL, NULL));
  *strstr (t8, "\n8\n") = '\0';
  g_autofree char *t8b = g_strconcat (t8, "\n7\n", strstr (strand_checkpoint_text (cp8), "\n8\n") + 3, NULL);
  g_assert_true (g_file_set_contents (eight, t8b, -1, NULL));
  g_assert_null (strand_checkpoint_latest (f->dir, &error));
  g_assert_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_BAD_SIGNATURE);
}

/* While a writer holds the ledger, the tree it keeps is read as it stands:
 * its synced records, not the ones still buffered. */
static void
test_live_writer (Fixture *f, gconstpointer data)
{
  add_records (f, 4);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandProvenance) writer = strand_provenance_open (f->dir, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr (JsonNode) details = json_from_string ("{\"live\": true}", NULL);
      StrandEventFacts facts = { .event = "test", .time_us = 1795000000000000 + i, .details = details };
      g_autoptr (JsonNode) st = strand_statement_event (&facts);
      g_assert_cmpuint (strand_ledger_append (strand_provenance_ledger (writer), st, NULL, &error), >, 0);
      if (i == 1)
        g_assert_true (strand_ledger_sync (strand_provenance_ledger (writer), &error));
    }
  g_autoptr (StrandTree) tree = strand_checkpoint_open_tree (f->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strand_tree_size (tree), ==, 6);
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_make (f->dir, tree, 6, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strand_checkpoint_size (cp), ==, 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/checkpoint/form", Fixture, NULL, fixture_setup, test_form, fixture_teardown);
  g_test_add ("/checkpoint/other-keys", Fixture, NULL, fixture_setup, test_other_keys, fixture_teardown);
  g_test_add ("/checkpoint/malformed", Fixture, NULL, fixture_setup, test_malformed, fixture_teardown);
  g_test_add ("/checkpoint/store", Fixture, NULL, fixture_setup, test_store, fixture_teardown);
  g_test_add ("/checkpoint/live-writer", Fixture, NULL, fixture_setup, test_live_writer,
              fixture_teardown);
  return g_test_run ();
}
