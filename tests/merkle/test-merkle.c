/* The Merkle tree over the ledger (issue 5, part 1): RFC 6962 roots and
 * proofs against the Certificate Transparency reference vectors, every
 * inclusion and consistency proof up to 64 leaves verifying and failing
 * when tampered with, and a real signed ledger's root and proofs checked by
 * an independent implementation (check_proofs.py, hashlib only). */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

#include "digest.h"
#include "ledger.h"
#include "merkle.h"
#include "problems.h"
#include "record-build.h"
#include "test-util.h"

#define HLEN STRAND_MERKLE_HASH_LEN

static void
unhex (const char *hex, guint8 out[HLEN])
{
  g_assert_cmpuint (strlen (hex), ==, 2 * HLEN);
  for (guint i = 0; i < HLEN; i++)
    out[i] = (guint8) (g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));
}

static char *
tohex (const guint8 *h)
{
  char *out = g_malloc (2 * HLEN + 1);
  for (guint i = 0; i < HLEN; i++)
    g_snprintf (out + 2 * i, 3, "%02x", h[i]);
  return out;
}

static void
assert_hash_hex (const guint8 *h, const char *hex)
{
  g_autofree char *got = tohex (h);
  g_assert_cmpstr (got, ==, hex);
}

/* The inputs of the Certificate Transparency reference tests
 * (certificate-transparency merkle_tree_test.cc, also in RFC 9162 test
 * suites): their roots and proofs were checked by hand against
 * SHA-256(0x00 || leaf) and SHA-256(0x01 || left || right). */
static const struct {
  const char *data;
  gsize len;
} ct_leaves[8] = {
  { "", 0 },
  { "\x00", 1 },
  { "\x10", 1 },
  { "\x20\x21", 2 },
  { "\x30\x31", 2 },
  { "\x40\x41\x42\x43", 4 },
  { "\x50\x51\x52\x53\x54\x55\x56\x57", 8 },
  { "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16 },
};

static const char *ct_roots[9] = {
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", /* SHA-256("") */
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static guint8 *
ct_leaf_hashes (void)
{
  guint8 *leaves = g_malloc (8 * HLEN);
  for (guint i = 0; i < 8; i++)
    strand_merkle_leaf_hash (ct_leaves[i].data, ct_leaves[i].len, leaves + i * HLEN);
  return leaves;
}

static void
assert_proof (GArray *proof, const char *const *expected, guint n_expected)
{
  g_assert_nonnull (proof);
  g_assert_cmpuint (proof->len, ==, n_expected);
  for (guint i = 0; i < n_expected; i++)
    assert_hash_hex ((guint8 *) proof->data + i * HLEN, expected[i]);
}

static void
test_hashes (void)
{
  guint8 h[HLEN], l[HLEN], r[HLEN];
  /* leaf("") = SHA-256(0x00) */
  strand_merkle_leaf_hash ("", 0, h);
  assert_hash_hex (h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  g_autofree char *direct = strand_sha256_hex ("\x00", 1);
  assert_hash_hex (h, direct);
  /* node(l, r) = SHA-256(0x01 || l || r) */
  memset (l, 0xaa, HLEN);
  memset (r, 0x55, HLEN);
  strand_merkle_node_hash (l, r, h);
  guint8 buf[1 + 2 * HLEN];
  buf[0] = 1;
  memcpy (buf + 1, l, HLEN);
  memcpy (buf + 1 + HLEN, r, HLEN);
  g_autofree char *node = strand_sha256_hex (buf, sizeof buf);
  assert_hash_hex (h, node);
}

static void
test_roots (void)
{
  g_autofree guint8 *leaves = ct_leaf_hashes ();
  guint8 root[HLEN];
  g_assert_true (strand_merkle_root (NULL, 0, root));
  assert_hash_hex (root, ct_roots[0]);
  for (guint n = 1; n <= 8; n++)
    {
      g_assert_true (strand_merkle_root (leaves, n, root));
      assert_hash_hex (root, ct_roots[n]);
    }

  /* By hand for n = 1, 2, 3, 7 and 8 from the definition. */
  guint8 *L[8];
  for (guint i = 0; i < 8; i++)
    L[i] = leaves + i * HLEN;
  guint8 a01[HLEN], a23[HLEN], a45[HLEN], a03[HLEN], a46[HLEN], a47[HLEN], a67[HLEN], want[HLEN];
  strand_merkle_root (leaves, 1, root);
  g_assert_cmpmem (root, HLEN, L[0], HLEN);
  strand_merkle_node_hash (L[0], L[1], a01);
  strand_merkle_root (leaves, 2, root);
  g_assert_cmpmem (root, HLEN, a01, HLEN);
  strand_merkle_node_hash (a01, L[2], want); /* 3 = 2 + 1 */
  strand_merkle_root (leaves, 3, root);
  g_assert_cmpmem (root, HLEN, want, HLEN);
  strand_merkle_node_hash (L[2], L[3], a23);
  strand_merkle_node_hash (a01, a23, a03);
  strand_merkle_node_hash (L[4], L[5], a45);
  strand_merkle_node_hash (a45, L[6], a46);
  strand_merkle_node_hash (a03, a46, want); /* 7 = 4 + (2 + 1) */
  strand_merkle_root (leaves, 7, root);
  g_assert_cmpmem (root, HLEN, want, HLEN);
  strand_merkle_node_hash (L[6], L[7], a67);
  strand_merkle_node_hash (a45, a67, a47);
  strand_merkle_node_hash (a03, a47, want); /* 8 = 4 + 4 */
  strand_merkle_root (leaves, 8, root);
  g_assert_cmpmem (root, HLEN, want, HLEN);
}

static void
test_reference_proofs (void)
{
  g_autofree guint8 *leaves = ct_leaf_hashes ();
  static const char *const path_0_8[] = {
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  };
  g_autoptr (GArray) inc = strand_merkle_inclusion_proof (leaves, 8, 0);
  assert_proof (inc, path_0_8, 3);
  g_autoptr (GArray) con18 = strand_merkle_consistency_proof (leaves, 8, 1);
  assert_proof (con18, path_0_8, 3);
  static const char *const proof_6_8[] = {
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  };
  g_autoptr (GArray) con68 = strand_merkle_consistency_proof (leaves, 8, 6);
  assert_proof (con68, proof_6_8, 3);
  static const char *const proof_2_5[] = {
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  };
  g_autoptr (GArray) con25 = strand_merkle_consistency_proof (leaves, 5, 2);
  assert_proof (con25, proof_2_5, 2);
  g_autoptr (GArray) con11 = strand_merkle_consistency_proof (leaves, 1, 1);
  g_assert_nonnull (con11);
  g_assert_cmpuint (con11->len, ==, 0);

  guint8 r1[HLEN], r2[HLEN], r5[HLEN], r6[HLEN], r8[HLEN];
  unhex (ct_roots[1], r1);
  unhex (ct_roots[2], r2);
  unhex (ct_roots[5], r5);
  unhex (ct_roots[6], r6);
  unhex (ct_roots[8], r8);
  g_assert_true (strand_merkle_verify_inclusion (leaves, 0, 8, inc, r8));
  g_assert_true (strand_merkle_verify_consistency (1, 8, con18, r1, r8));
  g_assert_true (strand_merkle_verify_consistency (6, 8, con68, r6, r8));
  g_assert_true (strand_merkle_verify_consistency (2, 5, con25, r2, r5));
  g_assert_true (strand_merkle_verify_consistency (1, 1, con11, r1, r1));
  g_assert_false (strand_merkle_verify_consistency (1, 1, con11, r1, r2));

  /* What has no proof. */
  g_assert_null (strand_merkle_inclusion_proof (leaves, 8, 8));
  g_assert_null (strand_merkle_inclusion_proof (leaves, 0, 0));
  g_assert_null (strand_merkle_consistency_proof (leaves, 8, 0));
  g_assert_null (strand_merkle_consistency_proof (leaves, 5, 6));
  g_assert_false (strand_merkle_verify_consistency (0, 8, con18, r1, r8));
  g_assert_false (strand_merkle_verify_consistency (9, 8, con18, r1, r8));
}

/* n distinct leaves. */
static guint8 *
make_leaves (guint n)
{
  guint8 *leaves = g_malloc ((gsize) MAX (n, 1) * HLEN);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("leaf %u", i);
      strand_merkle_leaf_hash (text, strlen (text), leaves + i * HLEN);
    }
  return leaves;
}

static guint
ceil_log2 (guint64 n)
{
  guint d = 0;
  while (((guint64) 1 << d) < n)
    d++;
  return d;
}

static GArray *
copy_proof (const GArray *proof)
{
  GArray *copy = g_array_new (FALSE, FALSE, HLEN);
  g_array_append_vals (copy, proof->data, proof->len);
  return copy;
}

#define MAX_N 64

static void
test_inclusion_all (void)
{
  g_autofree guint8 *leaves = make_leaves (MAX_N);
  guint checked = 0;
  for (guint n = 1; n <= MAX_N; n++)
    {
      guint8 root[HLEN];
      strand_merkle_root (leaves, n, root);
      for (guint m = 0; m < n; m++)
        {
          const guint8 *leaf = leaves + m * HLEN;
          g_autoptr (GArray) proof = strand_merkle_inclusion_proof (leaves, n, m);
          g_assert_nonnull (proof);
          g_assert_cmpuint (proof->len, <=, ceil_log2 (n));
          g_assert_true (strand_merkle_verify_inclusion (leaf, m, n, proof, root));
          checked++;

          /* Another leaf, or one bit of this one flipped. */
          guint8 bad[HLEN];
          memcpy (bad, leaf, HLEN);
          bad[m % HLEN] ^= 0x01;
          g_assert_false (strand_merkle_verify_inclusion (bad, m, n, proof, root));
          if (n > 1)
            g_assert_false (strand_merkle_verify_inclusion (leaves + ((m + 1) % n) * HLEN, m,
                                                            n, proof, root));
          /* Every other index, and one past the end. */
          for (guint other = 0; other <= n; other++)
            if (other != m)
              g_assert_false (strand_merkle_verify_inclusion (leaf, other, n, proof, root));
          /* The root changed. */
          memcpy (bad, root, HLEN);
          bad[31] ^= 0x80;
          g_assert_false (strand_merkle_verify_inclusion (leaf, m, n, proof, bad));
          /* Each proof element changed. */
          for (guint i = 0; i < proof->len; i++)
            {
              g_autoptr (GArray) t = copy_proof (proof);
              ((guint8 *) t->data)[i * HLEN + (i + m) % HLEN] ^= 0x10;
              g_assert_false (strand_merkle_verify_inclusion (leaf, m, n, t, root));
            }
          /* An element dropped, or one added. */
          if (proof->len > 0)
            {
              g_autoptr (GArray) t = copy_proof (proof);
              g_array_set_size (t, t->len - 1);
              g_assert_false (strand_merkle_verify_inclusion (leaf, m, n, t, root));
            }
          g_autoptr (GArray) longer = copy_proof (proof);
          g_array_append_vals (longer, root, 1);
          g_assert_false (strand_merkle_verify_inclusion (leaf, m, n, longer, root));
        }
    }
  g_assert_cmpuint (checked, ==, MAX_N * (MAX_N + 1) / 2);
}

static void
test_consistency_all (void)
{
  g_autofree guint8 *leaves = make_leaves (MAX_N);
  guint8 roots[MAX_N + 1][HLEN];
  for (guint n = 0; n <= MAX_N; n++)
    strand_merkle_root (leaves, n, roots[n]);
  guint checked = 0;
  for (guint n = 1; n <= MAX_N; n++)
    for (guint m = 1; m <= n; m++)
      {
        g_autoptr (GArray) proof = strand_merkle_consistency_proof (leaves, n, m);
        g_assert_nonnull (proof);
        g_assert_cmpuint (proof->len, <=, ceil_log2 (n) + 1);
        g_assert_true (m != n || proof->len == 0);
        g_assert_true (strand_merkle_verify_consistency (m, n, proof, roots[m], roots[n]));
        checked++;

        /* Either root changed, or another tree's. */
        guint8 bad[HLEN];
        memcpy (bad, roots[m], HLEN);
        bad[0] ^= 0x01;
        g_assert_false (strand_merkle_verify_consistency (m, n, proof, bad, roots[n]));
        memcpy (bad, roots[n], HLEN);
        bad[HLEN - 1] ^= 0x01;
        g_assert_false (strand_merkle_verify_consistency (m, n, proof, roots[m], bad));
        if (m > 1)
          g_assert_false (strand_merkle_verify_consistency (m, n, proof, roots[m - 1], roots[n]));
        if (n < MAX_N)
          g_assert_false (strand_merkle_verify_consistency (m, n, proof, roots[m], roots[n + 1]));
        /* The old size changed, its root kept. */
        if (m > 1)
          g_assert_false (strand_merkle_verify_consistency (m - 1, n, proof, roots[m], roots[n]));
        if (m < n)
          g_assert_false (strand_merkle_verify_consistency (m + 1, n, proof, roots[m], roots[n]));
        /* Each element changed, one dropped, one added. */
        for (guint i = 0; i < proof->len; i++)
          {
            g_autoptr (GArray) t = copy_proof (proof);
            ((guint8 *) t->data)[i * HLEN + (i + n) % HLEN] ^= 0x04;
            g_assert_false (strand_merkle_verify_consistency (m, n, t, roots[m], roots[n]));
          }
        if (proof->len > 0)
          {
            g_autoptr (GArray) t = copy_proof (proof);
            g_array_set_size (t, t->len - 1);
            g_assert_false (strand_merkle_verify_consistency (m, n, t, roots[m], roots[n]));
          }
        g_autoptr (GArray) longer = copy_proof (proof);
        g_array_append_vals (longer, roots[n], 1);
        g_assert_false (strand_merkle_verify_consistency (m, n, longer, roots[m], roots[n]));
      }
  g_assert_cmpuint (checked, ==, MAX_N * (MAX_N + 1) / 2);
}

/* ---- A real signed ledger ---- */

typedef struct {
  char *dir;
  char *log;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-merkle-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->log = g_build_filename (f->dir, "ledger", "log.jsonl", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->log);
}

#define N_RECORDS 20

static void
make_ledger (Fixture *f, guint n)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_key_create (f->dir, &error));
  g_assert_no_error (error);
  g_autoptr (StrandKey) key = strand_key_load (f->dir, &error);
  g_assert_no_error (error);
  g_autoptr (StrandLedger) l = strand_ledger_open (f->dir, key, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"operator\": \"ada\", \"i\": %u}", i);
      g_autoptr (JsonNode) details = json_from_string (text, NULL);
      StrandEventFacts facts = { .event = i % 2 ? "run-start" : "run-end",
                                 .time_us = 1795000000000000 + i, .details = details };
      g_autoptr (JsonNode) st = strand_statement_event (&facts);
      g_assert_cmpuint (strand_ledger_append (l, st, NULL, &error), ==, i + 1);
      g_assert_no_error (error);
    }
  g_assert_true (strand_ledger_sync (l, &error));
  g_assert_no_error (error);
  GPtrArray *problems = strand_problems_new ();
  guint64 records = 0;
  g_assert_true (strand_ledger_verify (f->log, key, problems, &records));
  g_assert_cmpuint (records, ==, n);
  g_ptr_array_unref (problems);
}

static void
append_hashes (GString *out, const GArray *proof)
{
  g_string_append_c (out, '[');
  for (guint i = 0; i < proof->len; i++)
    {
      g_autofree char *hex = tohex ((guint8 *) proof->data + i * HLEN);
      g_string_append_printf (out, "%s\"%s\"", i ? ", " : "", hex);
    }
  g_string_append_c (out, ']');
}

static int
run_checker (const char *log, const char *json, char **out)
{
  const char *argv[] = { "/usr/bin/python3", STRAND_SOURCE_ROOT "/tests/merkle/check_proofs.py",
                         log, json, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("check_proofs.py: %s%s", *out, err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

static void
test_ledger (Fixture *f, gconstpointer data)
{
  make_ledger (f, N_RECORDS);
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) leaves = NULL;
  g_assert_true (strand_merkle_build (f->log, &leaves, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (leaves->len, ==, N_RECORDS);
  g_assert_cmpuint (g_array_get_element_size (leaves), ==, HLEN);

  /* Each leaf is SHA-256(0x00 || line); the line's own hash (the chain's
   * prev) is SHA-256(line), a different value. */
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (f->log, &contents, NULL, &error));
  g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, N_RECORDS + 1);
  for (guint i = 0; i < N_RECORDS; i++)
    {
      const guint8 *leaf = (guint8 *) leaves->data + i * HLEN;
      gsize len = strlen (lines[i]);
      g_autofree guint8 *prefixed = g_malloc (len + 1);
      prefixed[0] = 0;
      memcpy (prefixed + 1, lines[i], len);
      g_autofree char *want = strand_sha256_hex (prefixed, len + 1);
      assert_hash_hex (leaf, want);
      g_autofree char *record_hash = strand_sha256_hex (lines[i], len);
      g_autofree char *got = tohex (leaf);
      g_assert_cmpstr (got, !=, record_hash);
    }

  const guint8 *L = (const guint8 *) leaves->data;
  guint8 roots[N_RECORDS + 1][HLEN];
  for (guint n = 0; n <= N_RECORDS; n++)
    g_assert_true (strand_merkle_root (L, n, roots[n]));

  /* Proofs for the independent checker. */
  static const guint inc[][2] = { { 0, 20 }, { 7, 20 }, { 19, 20 }, { 12, 13 }, { 0, 1 }, { 5, 11 } };
  static const guint con[][2] = { { 1, 20 }, { 3, 20 }, { 8, 20 }, { 13, 20 }, { 20, 20 },
                                  { 6, 7 }, { 5, 16 } };
  g_autoptr (GString) json = g_string_new (NULL);
  g_autofree char *root_hex = tohex (roots[N_RECORDS]);
  g_string_append_printf (json, "{\"size\": %u, \"root\": \"%s\",\n \"inclusion\": [", N_RECORDS,
                          root_hex);
  for (guint i = 0; i < G_N_ELEMENTS (inc); i++)
    {
      guint m = inc[i][0], n = inc[i][1];
      g_autoptr (GArray) proof = strand_merkle_inclusion_proof (L, n, m);
      g_assert_true (strand_merkle_verify_inclusion (L + m * HLEN, m, n, proof, roots[n]));
      g_autofree char *r = tohex (roots[n]);
      g_string_append_printf (json, "%s\n  {\"index\": %u, \"size\": %u, \"root\": \"%s\", \"proof\": ",
                              i ? "," : "", m, n, r);
      append_hashes (json, proof);
      g_string_append_c (json, '}');
    }
  g_string_append (json, "],\n \"consistency\": [");
  for (guint i = 0; i < G_N_ELEMENTS (con); i++)
    {
      guint m = con[i][0], n = con[i][1];
      g_autoptr (GArray) proof = strand_merkle_consistency_proof (L, n, m);
      g_assert_true (strand_merkle_verify_consistency (m, n, proof, roots[m], roots[n]));
      g_autofree char *r1 = tohex (roots[m]), *r2 = tohex (roots[n]);
      g_string_append_printf (json,
                              "%s\n  {\"first\": %u, \"second\": %u, \"first_root\": \"%s\", "
                              "\"second_root\": \"%s\", \"proof\": ",
                              i ? "," : "", m, n, r1, r2);
      append_hashes (json, proof);
      g_string_append_c (json, '}');
    }
  g_string_append (json, "]}\n");

  g_autofree char *path = g_build_filename (f->dir, "proofs.json", NULL);
  g_assert_true (g_file_set_contents (path, json->str, -1, &error));
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_assert_cmpint (run_checker (f->log, path, &out), ==, 0);
  g_assert_nonnull (strstr (out, "ok: 20 records"));

  /* Tampered: one hex digit of a consistency proof element, then of an
   * inclusion proof element, then of the root. Each must fail. */
  const char *anchors[] = { "\"second\": 20, \"first_root\"", "\"index\": 7,", "\"root\": \"" };
  for (guint i = 0; i < G_N_ELEMENTS (anchors); i++)
    {
      g_autofree char *bad = g_strdup (json->str);
      char *at = strstr (bad, anchors[i]);
      g_assert_nonnull (at);
      if (i < 2)
        at = strstr (at, "\"proof\": [\"") + strlen ("\"proof\": [\"") + 5;
      else
        at += strlen ("\"root\": \"") + 5;
      *at = *at == '0' ? '1' : '0';
      g_assert_true (g_file_set_contents (path, bad, -1, &error));
      g_assert_no_error (error);
      g_autofree char *bad_out = NULL;
      g_assert_cmpint (run_checker (f->log, path, &bad_out), ==, 1);
    }

  /* A changed record changes the root. */
  contents[10] = contents[10] == 'a' ? 'b' : 'a';
  g_assert_true (g_file_set_contents (f->log, contents, -1, &error));
  g_autoptr (GArray) changed = NULL;
  g_assert_true (strand_merkle_build (f->log, &changed, &error));
  g_assert_no_error (error);
  guint8 root2[HLEN];
  strand_merkle_root ((guint8 *) changed->data, changed->len, root2);
  g_assert_true (memcmp (root2, roots[N_RECORDS], HLEN) != 0);
}

static void
test_missing_log (void)
{
  g_autoptr (GError) error = NULL;
  GArray *leaves = NULL;
  g_assert_false (strand_merkle_build ("/nonexistent/strand/log.jsonl", &leaves, &error));
  g_assert_nonnull (error);
  g_assert_null (leaves);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/merkle/hashes", test_hashes);
  g_test_add_func ("/merkle/roots", test_roots);
  g_test_add_func ("/merkle/reference-proofs", test_reference_proofs);
  g_test_add_func ("/merkle/inclusion-all", test_inclusion_all);
  g_test_add_func ("/merkle/consistency-all", test_consistency_all);
  g_test_add_func ("/merkle/missing-log", test_missing_log);
  g_test_add ("/merkle/ledger", Fixture, NULL, fixture_setup, test_ledger, fixture_teardown);
  return g_test_run ();
}
