/* Run archives (run-archive.h) as an auditor meets them: made from a store,
 * checked offline on a machine without one, with sha256sum and md5sum, and
 * refused when tampered with or hostile, without a byte written outside the
 * extraction directory. Issue 5, part 4. */
#include <archive.h>
#include <archive_entry.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

#include "test-util.h"

typedef struct {
  char *dir;
  char *store;
  char *run_id;
  char *archive; /* made by the fixture */
} Fixture;

static char *
write_file (const char *dir, const char *name, const char *contents)
{
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return path;
}

/* A run with a per-run stage writing a run folder (a tree), per-sample
 * files and a gathering stage, archived once. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-archive-XXXXXX", NULL);
  g_autofree char *ref = write_file (f->dir, "ref.txt", ">lambda\nACGT\n");
  g_autofree char *pipeline = write_file (f->dir, "pipeline.json",
      "{\"name\": \"per-run\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"any\", \"per_run\": true, \"path\": \"ref.txt\"}],"
      " \"stages\": [{\"id\": \"sequence\", \"plugin\": \"fixture-sequencer\"},"
      "              {\"id\": \"merge\", \"plugin\": \"concat\", \"params\": {\"file_name\": \"merged.txt\"}},"
      "              {\"id\": \"gather\", \"plugin\": \"fixture-gather\"}],"
      " \"edges\": [{\"from\": \"@reference\", \"to\": \"sequence.reference\"},"
      "             {\"from\": \"sequence.reads\", \"to\": \"merge.in\"},"
      "             {\"from\": \"sequence.notes\", \"to\": \"merge.in\"},"
      "             {\"from\": \"merge.out\", \"to\": \"gather.items\"},"
      "             {\"from\": \"sequence.run\", \"to\": \"gather.items\"}],"
      " \"outputs\": [\"gather.report\"]}");
  g_autofree char *sheet = write_file (f->dir, "samples.json",
      "{\"samples\": [{\"id\": \"s1\", \"meta\": {\"index\": \"ACGT\"}}, {\"id\": \"s2\"}]}");
  f->store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (strand_test_spawn (NULL, NULL, &out, NULL, STRAND_CLI, "run", pipeline, "--samples", sheet,
                                      "-P", STRAND_PLUGIN_BUILD_DIR, "-P", STRAND_TEST_PLUGIN_DIR,
                                      "--store", f->store, "--json", NULL), ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  f->run_id = g_strdup (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)),
                                                      "run_id"));
  f->archive = g_build_filename (f->dir, "run.tar.zst", NULL);
  g_assert_cmpint (strand_test_spawn (NULL, NULL, NULL, NULL, STRAND_CLI, "archive", f->run_id, "-o", f->archive,
                                      "--store", f->store, "--with-inputs", NULL), ==, 0);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->store);
  g_free (f->run_id);
  g_free (f->archive);
}

/* An environment with no store and a fresh home: what a second machine has. */
static char **
fresh_env (Fixture *f)
{
  g_autofree char *home = g_build_filename (f->dir, "elsewhere", NULL);
  g_mkdir (home, 0700);
  char **env = g_get_environ ();
  env = g_environ_setenv (env, "HOME", home, TRUE);
  g_autofree char *nostore = g_build_filename (home, "no-store-here", NULL);
  env = g_environ_setenv (env, "STRAND_STORE", nostore, TRUE);
  return env;
}

static int
verify (Fixture *f, const char *archive, const char *extract, char **out, ...)
{
  g_auto (GStrv) env = fresh_env (f);
  return extract
      ? strand_test_spawn (NULL, env, out, NULL, STRAND_CLI, "verify-archive", archive, "--extract", extract,
                           "--max-entry-size", "1000000", "--max-total-size", "20000000", NULL)
      : strand_test_spawn (NULL, env, out, NULL, STRAND_CLI, "verify-archive", archive, NULL);
}

/* Made here, checked elsewhere: the archive verifies, extracts, and the
 * standard tools agree with its manifests; the same run archives to the
 * same bytes; the export is itself recorded. */
static void
test_roundtrip (Fixture *f, gconstpointer data)
{
  g_autofree char *out = NULL;
  g_autofree char *extract = g_build_filename (f->dir, "elsewhere", "extracted", NULL);
  g_assert_cmpint (verify (f, f->archive, extract, &out), ==, 0);
  g_assert_nonnull (strstr (out, "intact"));
  g_assert_nonnull (strstr (out, f->run_id));
  g_autofree char *nostore = g_build_filename (f->dir, "elsewhere", "no-store-here", NULL);
  g_assert_false (g_file_test (nostore, G_FILE_TEST_EXISTS));

  g_autofree char *o1 = NULL, *o2 = NULL;
  g_assert_cmpint (strand_test_spawn (extract, NULL, &o1, NULL, "sha256sum", "-c", "--strict", "manifest-sha256.txt", "tagmanifest-sha256.txt", NULL), ==, 0);
  g_assert_cmpint (strand_test_spawn (extract, NULL, &o2, NULL, "md5sum", "-c", "--strict", "manifest-md5.txt", NULL), ==, 0);
  g_assert_nonnull (strstr (o1, "data/_run/sequence/run/RunFolder/Data/s1.bcl: OK"));
  g_assert_nonnull (strstr (o2, "data/inputs/ref.txt: OK"));
  /* The bag's data/ is an RO-Crate that the profiles' queries accept. */
  g_autofree char *crate = g_build_filename (extract, "data", NULL);
  g_autofree char *o3 = NULL;
  g_assert_cmpint (strand_test_spawn (NULL, NULL, &o3, NULL, "/usr/bin/python3",
                                      STRAND_SOURCE_ROOT "/tests/export/check-rocrate.py", crate,
                                      STRAND_SOURCE_ROOT "/tests/fixtures/export/ro-crate-1.1-context.excerpt.jsonld",
                                      "4", NULL), ==, 0);
  /* The checkpoint is a C2SP signed note an independent checker accepts. */
  g_autofree char *note = g_build_filename (extract, "provenance", "checkpoint", NULL);
  g_autofree char *vkey = g_build_filename (extract, "provenance", "host.vkey", NULL);
  g_autofree char *pub = g_build_filename (extract, "provenance", "host.pub", NULL);
  g_assert_cmpint (strand_test_spawn (NULL, NULL, NULL, NULL, "/usr/bin/python3",
                                      STRAND_SOURCE_ROOT "/tests/merkle/check_signed_note.py", note, vkey,
                                      pub, NULL), ==, 0);
  g_autofree char *empty = g_build_filename (extract, "data/_run/sequence/run/RunFolder/Data/empty", NULL);
  g_assert_true (g_file_test (empty, G_FILE_TEST_IS_DIR));
  g_autofree char *merged = g_build_filename (extract, "data/s1/merge/out/merged.txt", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (merged, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "s1 index=ACGT ref=>lambda\nfor everyone\n");

  g_autofree char *again = g_build_filename (f->dir, "again.tar.zst", NULL);
  g_assert_cmpint (strand_test_spawn (NULL, NULL, NULL, NULL, STRAND_CLI, "archive", f->run_id, "-o", again,
                                      "--store", f->store, "--with-inputs", NULL), ==, 0);
  g_autofree char *a = NULL, *b = NULL;
  gsize la = 0, lb = 0;
  g_assert_true (g_file_get_contents (f->archive, &a, &la, NULL));
  g_assert_true (g_file_get_contents (again, &b, &lb, NULL));
  g_assert_true (la == lb && memcmp (a, b, la) == 0);

  /* The export is recorded: the last record names the archive's path. */
  g_autofree char *log = g_build_filename (f->store, "ledger", "log.jsonl", NULL);
  g_autofree char *records = NULL;
  g_assert_true (g_file_get_contents (log, &records, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strstrip (records), "\n", -1);
  g_autoptr (JsonParser) last = json_parser_new ();
  g_assert_true (json_parser_load_from_data (last, lines[g_strv_length (lines) - 1], -1, NULL));
  JsonObject *dsse = json_object_get_object_member (json_node_get_object (json_parser_get_root (last)), "dsse");
  gsize plen = 0;
  g_autofree char *payload = (char *) g_base64_decode (json_object_get_string_member (dsse, "payload"), &plen);
  g_autofree char *statement = g_strndup (payload, plen);
  g_autofree char *abs = g_canonicalize_filename (again, NULL);
  g_assert_nonnull (strstr (statement, "\"event\":\"archive\""));
  g_assert_nonnull (strstr (statement, abs));
  g_assert_cmpint (strand_test_spawn (NULL, NULL, NULL, NULL, STRAND_CLI, "verify", "--store", f->store, NULL), ==, 0);

  g_assert_cmpint (strand_test_spawn (NULL, NULL, NULL, NULL, STRAND_CLI, "archive", "no-such-run", "-o", again,
                                      "--store", f->store, NULL), ==, 1);
}

/* ---- rewriting archives ---------------------------------------------------- */

typedef enum { KEEP, REPLACE, DROP } Verdict;
typedef Verdict (*EntryEdit) (const char *name, GByteArray *data, gpointer user_data);

/* Copies `in` to `out` through `edit`, then appends `extra` entries
 * ("name", "contents" pairs). */
static void
rewrite (const char *in, const char *out, EntryEdit edit, gpointer user_data, const char *const *extra)
{
  struct archive *r = archive_read_new ();
  archive_read_support_filter_all (r);
  archive_read_support_format_tar (r);
  g_assert_cmpint (archive_read_open_filename (r, in, 65536), ==, ARCHIVE_OK);
  struct archive *w = archive_write_new ();
  archive_write_add_filter_zstd (w);
  archive_write_set_format_pax_restricted (w);
  g_assert_cmpint (archive_write_open_filename (w, out), ==, ARCHIVE_OK);
  struct archive_entry *e;
  while (archive_read_next_header (r, &e) == ARCHIVE_OK)
    {
      g_autoptr (GByteArray) data = g_byte_array_new ();
      char buf[8192];
      la_ssize_t n;
      while ((n = archive_read_data (r, buf, sizeof buf)) > 0)
        g_byte_array_append (data, (guint8 *) buf, (guint) n);
      Verdict v = edit ? edit (archive_entry_pathname (e), data, user_data) : KEEP;
      if (v == DROP)
        continue;
      archive_entry_set_size (e, data->len);
      g_assert_cmpint (archive_write_header (w, e), ==, ARCHIVE_OK);
      if (data->len)
        archive_write_data (w, data->data, data->len);
    }
  for (const char *const *x = extra; x && x[0]; x += 2)
    {
      struct archive_entry *ne = archive_entry_new ();
      archive_entry_set_pathname (ne, x[0]);
      archive_entry_set_filetype (ne, AE_IFREG);
      archive_entry_set_perm (ne, 0644);
      archive_entry_set_size (ne, (la_int64_t) strlen (x[1]));
      g_assert_cmpint (archive_write_header (w, ne), ==, ARCHIVE_OK);
      archive_write_data (w, x[1], strlen (x[1]));
      archive_entry_free (ne);
    }
  archive_write_close (w);
  archive_write_free (w);
  archive_read_free (r);
}

static Verdict
flip_payload (const char *name, GByteArray *data, gpointer user_data)
{
  if (g_str_has_suffix (name, "/data/s2/merge/out/merged.txt"))
    {
      data->data[0] ^= 0x20;
      return REPLACE;
    }
  return KEEP;
}

static Verdict
edit_record (const char *name, GByteArray *data, gpointer user_data)
{
  if (!g_str_has_suffix (name, "/provenance/records.jsonl"))
    return KEEP;
  /* Change one character of the second record's payload. */
  const char *nl = memchr (data->data, '\n', data->len);
  gsize at = (gsize) (nl - (const char *) data->data) + 40;
  data->data[at] = data->data[at] == 'A' ? 'B' : 'A';
  return REPLACE;
}

typedef struct {
  const char *top;
  char *sha;
} AddUnrecorded;

static Verdict
list_extra (const char *name, GByteArray *data, gpointer user_data)
{
  AddUnrecorded *u = user_data;
  if (g_str_has_suffix (name, "/manifest-sha256.txt"))
    {
      g_autofree char *line = g_strdup_printf ("%s  data/s1/merge/out/smuggled.txt\n", u->sha);
      g_byte_array_append (data, (guint8 *) line, (guint) strlen (line));
      return REPLACE;
    }
  if (g_str_has_suffix (name, "/manifest-md5.txt") || g_str_has_suffix (name, "/tagmanifest-sha256.txt"))
    return DROP;
  return KEEP;
}

static Verdict
edit_checkpoint (const char *name, GByteArray *data, gpointer user_data)
{
  if (!g_str_has_suffix (name, "/provenance/checkpoint"))
    return KEEP;
  /* The root hash's first base64 character, on the third line. */
  const guint8 *nl1 = memchr (data->data, '\n', data->len);
  const guint8 *nl2 = memchr (nl1 + 1, '\n', data->len - (gsize) (nl1 + 1 - data->data));
  guint8 *c = (guint8 *) nl2 + 1;
  *c = *c == 'A' ? 'B' : 'A';
  return REPLACE;
}

static void
test_tampering (Fixture *f, gconstpointer data)
{
  g_autofree char *flipped = g_build_filename (f->dir, "flipped.tar.zst", NULL);
  rewrite (f->archive, flipped, flip_payload, NULL, NULL);
  g_autofree char *out = NULL;
  g_assert_cmpint (verify (f, flipped, NULL, &out), ==, 1);
  g_assert_nonnull (strstr (out, "data/s2/merge/out/merged.txt: its SHA-256 is"));
  g_assert_nonnull (strstr (out, "digest-mismatch"));
  g_assert_nonnull (strstr (out, "unrecorded-file")); /* no record made those bytes either */

  g_autofree char *forged = g_build_filename (f->dir, "forged.tar.zst", NULL);
  rewrite (f->archive, forged, edit_record, NULL, NULL);
  g_autofree char *out2 = NULL;
  g_assert_cmpint (verify (f, forged, NULL, &out2), ==, 1);
  g_assert_nonnull (strstr (out2, "provenance/records.jsonl:2"));
  g_assert_nonnull (strstr (out2, "bad-record"));

  g_autofree char *moved = g_build_filename (f->dir, "moved.tar.zst", NULL);
  rewrite (f->archive, moved, edit_checkpoint, NULL, NULL);
  g_autofree char *out4 = NULL;
  g_assert_cmpint (verify (f, moved, NULL, &out4), ==, 1);
  g_assert_nonnull (strstr (out4, "provenance/checkpoint"));
  g_assert_nonnull (strstr (out4, "bad-checkpoint"));

  /* A file slipped in with a correct manifest line: no record made it. */
  AddUnrecorded u = { f->run_id, g_compute_checksum_for_string (G_CHECKSUM_SHA256, "smuggled\n", -1) };
  g_autofree char *name = g_strdup_printf ("%s/data/s1/merge/out/smuggled.txt", f->run_id);
  const char *extra[] = { name, "smuggled\n", NULL, NULL };
  g_autofree char *smuggled = g_build_filename (f->dir, "smuggled.tar.zst", NULL);
  rewrite (f->archive, smuggled, list_extra, &u, extra);
  g_autofree char *out3 = NULL;
  g_assert_cmpint (verify (f, smuggled, NULL, &out3), ==, 1);
  g_assert_nonnull (strstr (out3, "smuggled.txt: no record in the archive made this file"));
  g_free (u.sha);
}

/* ---- hostile archives ------------------------------------------------------ */

typedef struct {
  const char *what;
  const char *name;
  mode_t type;
  const char *link;   /* symlink target or hardlink source */
  gsize size;         /* bytes of zeros */
} Hostile;

static void
write_hostile (const char *path, const char *top, const Hostile *h)
{
  struct archive *w = archive_write_new ();
  archive_write_add_filter_zstd (w);
  archive_write_set_format_pax_restricted (w);
  g_assert_cmpint (archive_write_open_filename (w, path), ==, ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new ();
  g_autofree char *bagit = g_strdup_printf ("%s/bagit.txt", top);
  archive_entry_set_pathname (e, bagit);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, 4);
  archive_write_header (w, e);
  archive_write_data (w, "bag\n", 4);
  archive_entry_clear (e);
  archive_entry_set_pathname (e, h->name);
  archive_entry_set_filetype (e, h->type);
  archive_entry_set_perm (e, 0644);
  if (h->type == AE_IFLNK)
    archive_entry_set_symlink (e, h->link);
  else if (h->link)
    archive_entry_set_hardlink (e, h->link);
  if (h->type == AE_IFCHR)
    archive_entry_set_rdev (e, 0x0103);
  archive_entry_set_size (e, h->type == AE_IFREG && !h->link ? (la_int64_t) h->size : 0);
  g_assert_cmpint (archive_write_header (w, e), >=, ARCHIVE_WARN);
  if (h->type == AE_IFREG && !h->link)
    {
      g_autofree char *zeros = g_malloc0 (1 << 20);
      for (gsize done = 0; done < h->size; done += 1 << 20)
        archive_write_data (w, zeros, MIN ((gsize) 1 << 20, h->size - done));
    }
  archive_entry_free (e);
  archive_write_close (w);
  archive_write_free (w);
}

static void
test_hostile (Fixture *f, gconstpointer data)
{
  g_autofree char *outside = g_build_filename (f->dir, "escaped", NULL);
  g_autofree char *abs_name = g_strdup_printf ("%s", outside);
  const Hostile cases[] = {
    { "absolute path", abs_name, AE_IFREG, NULL, 10 },
    { "dot-dot", "run/../../escaped", AE_IFREG, NULL, 10 },
    { "symlink escaping", "run/data/link", AE_IFLNK, "../../../escaped", 0 },
    { "symlink inside", "run/data/link", AE_IFLNK, "bagit.txt", 0 },
    { "hard link", "run/data/hard", AE_IFREG, "run/bagit.txt", 0 },
    { "device", "run/data/tty", AE_IFCHR, NULL, 0 },
    { "fifo", "run/data/fifo", AE_IFIFO, NULL, 0 },
    { "second top directory", "other/data/x", AE_IFREG, NULL, 10 },
    { "oversized entry", "run/data/big", AE_IFREG, NULL, 2000000 },
    { "decompression bomb", "run/data/bomb", AE_IFREG, NULL, 64u << 20 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/hostile-%u.tar.zst", f->dir, i);
      write_hostile (path, "run", &cases[i]);
      g_autofree char *extract = g_strdup_printf ("%s/extract-%u", f->dir, i);
      g_autofree char *out = NULL;
      int rc = verify (f, path, extract, &out);
      if (rc != 1 || strstr (out, "hostile-entry") == NULL)
        g_error ("%s: exit %d, %s", cases[i].what, rc, out);
      g_assert_false (g_file_test (outside, G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (extract, G_FILE_TEST_EXISTS));
      struct stat st;
      g_assert_cmpint (stat (path, &st), ==, 0);
      if (i == G_N_ELEMENTS (cases) - 1)
        g_assert_cmpint (st.st_size, <, 1 << 20); /* the bomb really is small */
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/archive/roundtrip", Fixture, NULL, fixture_setup, test_roundtrip, fixture_teardown);
  g_test_add ("/archive/tampering", Fixture, NULL, fixture_setup, test_tampering, fixture_teardown);
  g_test_add ("/archive/hostile", Fixture, NULL, fixture_setup, test_hostile, fixture_teardown);
  return g_test_run ();
}
