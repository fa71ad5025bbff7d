/* The auditor's view of a run: every output in the store with a signed
 * record, lineage up and down through the stages, verify catching a changed
 * byte in an object or a record, gc removing only what no record needs. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "provenance.h"
#include "test-util.h"

static char *tmp;

static int
strand (char **out, ...)
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
  int status = 0;
  g_autofree char *o = NULL, *e = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &o, &e,
                               &status, NULL));
  if (g_test_verbose ())
    g_printerr ("%s%s", o, e);
  if (out)
    *out = g_strconcat (e, o, NULL); /* stderr first: JSON on stdout stays whole at the end */
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

static JsonNode *
parse (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  g_assert_true (json_parser_load_from_data (p, text, -1, NULL));
  return json_node_copy (json_parser_get_root (p));
}

static void
flip_byte (const char *path, gsize offset)
{
  g_chmod (path, 0644);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_cmpuint (offset, <, len);
  bytes[offset] ^= 0x20;
  g_assert_true (g_file_set_contents (path, bytes, (gssize) len, NULL));
}

static void
test_run_lineage_verify (void)
{
  g_autofree char *store = g_build_filename (tmp, "store", NULL);
  g_autofree char *sheet = g_build_filename (tmp, "samples.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}, {\"id\": \"B\"}]}", -1, NULL));
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "run", STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.json",
                           "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR, "--store", store, "--json",
                           NULL), ==, 0);
  g_autoptr (JsonNode) run = parse (strstr (out, "{"));
  JsonObject *ro = json_node_get_object (run);
  const char *run_id = json_object_get_string_member (ro, "run_id");
  JsonArray *tasks = json_object_get_array_member (ro, "tasks");
  const char *qc_digest = NULL, *lane1_digest = NULL, *qc_path = NULL;
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      JsonObject *o = json_array_get_object_element (json_object_get_array_member (t, "outputs"), 0);
      if (strcmp (json_object_get_string_member (t, "sample"), "A"))
        continue;
      if (!strcmp (json_object_get_string_member (t, "stage"), "qc"))
        {
          qc_digest = json_object_get_string_member (o, "sha256");
          qc_path = json_object_get_string_member (o, "path");
        }
      if (!strcmp (json_object_get_string_member (t, "stage"), "lane1"))
        lane1_digest = json_object_get_string_member (o, "sha256");
    }
  g_assert_nonnull (qc_digest);
  /* Outputs live in the store, named by their digest. */
  g_assert_true (g_str_has_suffix (qc_path, qc_digest));

  /* Up from the QC report: the four stages of sample A and nothing of B. */
  g_autofree char *up = NULL;
  g_assert_cmpint (strand (&up, "lineage", qc_digest, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) upn = parse (up);
  JsonArray *acts = json_object_get_array_member (json_node_get_object (upn), "activities");
  g_assert_cmpuint (json_array_get_length (acts), ==, 4);
  for (guint i = 0; i < json_array_get_length (acts); i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (acts, i), "sample"), ==, "A");
  /* Down from lane 1: what used it (merge) and what used that (qc). */
  g_autofree char *down = NULL;
  g_assert_cmpint (strand (&down, "lineage", lane1_digest, "--down", "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) downn = parse (down);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (downn), "activities")), ==, 2);
  /* By run id: all eight tasks. */
  g_autofree char *byrun = NULL;
  g_assert_cmpint (strand (&byrun, "lineage", run_id, "--store", store, "--json", NULL), ==, 0);
  g_autoptr (JsonNode) byrunn = parse (byrun);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (byrunn), "activities")), ==, 8);
  g_assert_cmpint (strand (NULL, "lineage", "no-such-thing", "--store", store, NULL), ==, 1);

  g_autofree char *v = NULL;
  g_assert_cmpint (strand (&v, "verify", "--store", store, NULL), ==, 0);
  /* Eight stage runs between the run's start and end events. */
  g_assert_nonnull (strstr (v, "10 records, 8 objects: intact"));

  /* The record of lane 1 of sample A (tasks run concurrently, so it is the
   * one whose subject is that output, after the run-start event): an
   * in-toto statement whose subject is the output, by SHA-256 and, for
   * submission portals, MD5. */
  g_autofree char *log0 = g_build_filename (store, "ledger", "log.jsonl", NULL);
  g_autofree char *all = NULL;
  g_assert_true (g_file_get_contents (log0, &all, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (all, "\n", -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) statement = NULL;
  JsonObject *digest = NULL;
  for (guint i = 0; lines[i] && *lines[i] && digest == NULL; i++)
    {
      guint64 seq = 0;
      g_clear_pointer (&statement, json_node_unref);
      statement = strand_record_open (lines[i], strlen (lines[i]), NULL, &seq, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (seq, ==, i + 1);
      JsonObject *st = json_node_get_object (statement);
      JsonArray *subject = json_object_get_array_member (st, "subject");
      if (json_array_get_length (subject) == 0)
        continue;
      JsonObject *d = json_object_get_object_member (json_array_get_object_element (subject, 0), "digest");
      if (g_strcmp0 (json_object_get_string_member (d, "sha256"), lane1_digest) != 0)
        continue;
      g_assert_cmpstr (json_object_get_string_member (st, "predicateType"), ==,
                       "https://slsa.dev/provenance/v1");
      digest = d;
    }
  g_assert_nonnull (digest);
  g_autoptr (StrandStore) s = strand_store_open (store, &error);
  g_autofree char *lane1_path = strand_store_object_path (s, lane1_digest);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (lane1_path, &bytes, &len, NULL));
  g_autofree char *md5 = g_compute_checksum_for_data (G_CHECKSUM_MD5, (guchar *) bytes, len);
  g_assert_cmpstr (json_object_get_string_member (digest, "md5"), ==, md5);

  /* A changed byte in an object is found and named. */
  flip_byte (qc_path, 10);
  g_autofree char *v2 = NULL;
  g_assert_cmpint (strand (&v2, "verify", "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (v2, qc_digest));
  g_assert_nonnull (strstr (v2, "[object-damaged]"));
  flip_byte (qc_path, 10);
  g_assert_cmpint (strand (NULL, "verify", "--store", store, NULL), ==, 0);

  /* A changed byte in a record is found and named by its seq. */
  g_autofree char *log = g_build_filename (store, "ledger", "log.jsonl", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
  char *third = strchr (strchr (text, '\n') + 1, '\n') + 1;
  gsize offset = (gsize) (third - text) + 200;
  flip_byte (log, offset);
  g_autofree char *v3 = NULL;
  g_assert_cmpint (strand (&v3, "verify", "--store", store, NULL), ==, 1);
  g_assert_nonnull (strstr (v3, "seq 3"));
  flip_byte (log, offset);
  g_assert_cmpint (strand (NULL, "verify", "--store", store, NULL), ==, 0);
}

/* Ingest records raw data; gc removes an object nothing refers to, records
 * the removal, and keeps everything else; getting an object out is recorded. */
static void
test_ingest_get_gc (void)
{
  g_autofree char *store = g_build_filename (tmp, "store2", NULL);
  g_autofree char *raw = g_build_filename (tmp, "raw.fq", NULL);
  g_assert_true (g_file_set_contents (raw, "@r\nACGT\n+\nIIII\n", -1, NULL));
  g_autofree char *out = NULL;
  g_assert_cmpint (strand (&out, "ingest", raw, "--sample", "S1", "--format", "fastq", "--store", store,
                           "--json", NULL), ==, 0);
  g_autoptr (JsonNode) in = parse (strstr (out, "["));
  const char *digest = json_object_get_string_member (json_array_get_object_element (json_node_get_array (in), 0), "sha256");
  g_autofree char *expected = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "@r\nACGT\n+\nIIII\n", -1);
  g_assert_cmpstr (digest, ==, expected);

  /* An object with no record, as a crash between store and ledger leaves. */
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandStore) s = strand_store_open (store, &error);
  g_assert_no_error (error);
  StrandStoreWriter *w = strand_store_writer_new (s, &error);
  g_assert_true (strand_store_writer_write (w, "orphan", 6, &error));
  StrandObjectInfo orphan;
  g_assert_true (strand_store_writer_commit (w, &orphan, &error));
  g_clear_pointer (&s, strand_store_close);

  g_autofree char *gc = NULL;
  g_assert_cmpint (strand (&gc, "gc", "--store", store, NULL), ==, 0);
  g_assert_nonnull (strstr (gc, "removed 1 object"));
  g_autoptr (StrandStore) s2 = strand_store_open (store, &error);
  g_assert_false (strand_store_contains (s2, orphan.sha256));
  g_assert_true (strand_store_contains (s2, digest));

  g_autofree char *copy = g_build_filename (tmp, "copy.fq", NULL);
  g_assert_cmpint (strand (NULL, "store", "get", digest, copy, "--store", store, NULL), ==, 0);
  g_autofree char *bytes = NULL;
  g_assert_true (g_file_get_contents (copy, &bytes, NULL, NULL));
  g_assert_cmpstr (bytes, ==, "@r\nACGT\n+\nIIII\n");

  /* Three records: ingest, gc, materialize; all verify. */
  g_autofree char *v = NULL;
  g_assert_cmpint (strand (&v, "verify", "--store", store, NULL), ==, 0);
  g_assert_nonnull (strstr (v, "3 records, 1 objects: intact"));
  g_autofree char *lin = NULL;
  g_assert_cmpint (strand (&lin, "lineage", raw, "--down", "--store", store, "--json", NULL), ==, 0);
}

/* A store that fills up mid-run: the task that does not fit fails with a
 * storage error naming the quota, nothing partial is kept, and every record
 * and object written before it still verifies. */
static void
test_store_full (void)
{
  g_autofree char *store = g_build_filename (tmp, "store3", NULL);
  g_autofree char *sheet = g_build_filename (tmp, "one.json", NULL);
  g_assert_true (g_file_set_contents (sheet, "{\"samples\": [{\"id\": \"A\"}]}", -1, NULL));
  g_autofree char *out = NULL;
  /* One lane of 20,000 reads is about 6.5 MB: the second does not fit. */
  g_assert_cmpint (strand (&out, "run", STRAND_SOURCE_ROOT "/packaging/pipelines/fastq-demo.json",
                           "--samples", sheet, "-P", STRAND_PLUGIN_BUILD_DIR, "--store", store,
                           "--store-quota", "10000000", "--json", NULL), ==, 1);
  g_autoptr (JsonNode) run = parse (strstr (out, "{"));
  JsonObject *ro = json_node_get_object (run);
  g_assert_cmpint (json_object_get_int_member (ro, "succeeded"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (ro, "failed"), ==, 1);
  /* The lanes run at once: whichever ends second does not fit. */
  JsonArray *tasks = json_object_get_array_member (ro, "tasks");
  JsonObject *lane = json_array_get_object_element (tasks, 0);
  if (g_strcmp0 (json_object_get_string_member (lane, "status"), "failed") != 0)
    lane = json_array_get_object_element (tasks, 1);
  g_assert_cmpstr (json_object_get_string_member (lane, "error_class"), ==, "storage");
  g_assert_nonnull (strstr (json_object_get_string_member (lane, "message"), "quota"));
  g_autofree char *v = NULL;
  g_assert_cmpint (strand (&v, "verify", "--store", store, NULL), ==, 0);
  /* Run start, the two attempts, the decision to halt, run end. */
  g_assert_nonnull (strstr (v, "5 records, 1 objects: intact"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-prov-XXXXXX", NULL);
  g_test_add_func ("/provenance/run-lineage-verify", test_run_lineage_verify);
  g_test_add_func ("/provenance/ingest-get-gc", test_ingest_get_gc);
  g_test_add_func ("/provenance/store-full", test_store_full);
  int rc = g_test_run ();
  strand_test_remove_tree (tmp);
  g_free (tmp);
  return rc;
}
