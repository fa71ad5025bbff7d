/* The ledger (issue 4): the host key, appends that survive reopening and
 * crashes, torn tails cut on open, tampering caught by verify at the record
 * it touched, one writer at a time, and records an independent Ed25519
 * implementation accepts. */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "canonical-json.h"
#include "clock.h"
#include "digest.h"
#include "ledger.h"
#include "problems.h"
#include "record-build.h"
#include "test-util.h"

typedef struct {
  char *dir;
  StrandKey *key;
  char *log;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-ledger-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_key_create (f->dir, &error));
  g_assert_no_error (error);
  f->key = strand_key_load (f->dir, &error);
  g_assert_no_error (error);
  f->log = g_build_filename (f->dir, "ledger", "log.jsonl", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->log);
  strand_key_free (f->key);
}

/* ---- Statements like the runner's ---- */

static char *
fake_sha (const char *what, guint i)
{
  g_autofree char *text = g_strdup_printf ("%s-%u", what, i);
  return strand_sha256_hex (text, strlen (text));
}

static JsonNode *
stage_run_statement (const char *host_id, guint i)
{
  g_autoptr (GHashTable) params = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (params, "threads", "4");
  g_hash_table_insert (params, "min_quality", "20");
  g_hash_table_insert (params, "reference", "GRCh38");
  g_hash_table_insert (params, "adapter", "AGATCGGAAGAGC");
  g_hash_table_insert (params, "note", "tab\there \"quoted\" ünïcode");
  g_autofree char *in1 = fake_sha ("in1", i), *in2 = fake_sha ("in2", i);
  g_autofree char *out1 = fake_sha ("out1", i), *out2 = fake_sha ("out2", i);
  g_autofree char *tool = fake_sha ("tool", 0), *so = fake_sha ("plugin", 0);
  StrandRecordFile inputs[] = { { "reads/R1.fastq.gz", in1 }, { "reads/R2.fastq.gz", in2 } };
  StrandRecordFile outputs[] = { { "bam/aligned.bam", out1 }, { "bam/aligned.bam.bai", out2 } };
  StrandRecordTool tools[] = { { "/usr/bin/bwa", "0.7.17-r1188", tool } };
  g_autofree char *run = g_strdup_printf ("run-20261127-%06u", i / 8);
  g_autofree char *sample = g_strdup_printf ("S%04u", i % 97);
  StrandStageRunFacts facts = {
    .run_id = run, .stage = "align", .sample = sample,
    .plugin_name = "bwa-align", .plugin_version = "1.2.0",
    .plugin_path = "/usr/lib/strand/plugins/bwa-align.so", .plugin_sha256 = so,
    .params = params,
    .inputs = inputs, .n_inputs = 2, .outputs = outputs, .n_outputs = 2,
    .tools = tools, .n_tools = 1,
    .equipment = "sequencer:NovaSeq-A00123", .cores = 8, .memory_bytes = 16ULL << 30,
    .attempt = 1 + (int) (i % 3), .started_us = 1795000000000000 + i * 1000000LL,
    .finished_us = 1795000000000000 + i * 1000000LL + 734567,
    .exit_status = i % 5 == 4 ? 1 : 0,
    .error_class = i % 5 == 4 ? "transient" : NULL,
    .message = i % 5 == 4 ? "out of memory" : NULL,
    .host_id = host_id,
  };
  return strand_statement_stage_run (&facts);
}

static JsonNode *
event_statement (guint i)
{
  g_autoptr (JsonNode) details = json_from_string ("{\"operator\": \"ada\", \"count\": 3}", NULL);
  StrandEventFacts facts = { .event = "run-start", .time_us = 1795000000000000 + i, .details = details };
  return strand_statement_event (&facts);
}

static JsonNode *
ingest_statement (guint i)
{
  g_autofree char *sha = fake_sha ("raw", i);
  g_autofree char *path = g_strdup_printf ("/data/incoming/S%u_R1.fastq.gz", i);
  g_autoptr (JsonNode) meta = json_from_string (
      "{\"identifier\": \"doi:10.1234/x\", \"license\": \"CC-BY-4.0\", \"access\": \"restricted\"}",
      NULL);
  StrandIngestFacts facts = { .path = path, .sha256 = sha, .size = 123456789 + i,
                              .md5 = "0123456789abcdef0123456789abcdef", .format = "fastq.gz",
                              .sample = "S1", .metadata = meta, .operator_name = "ada",
                              .time_us = 1795000000000000 };
  return strand_statement_ingest (&facts);
}

/* A mix of every kind, stage runs most often. */
static JsonNode *
some_statement (const StrandKey *key, guint i)
{
  switch (i % 6)
    {
    case 1: return event_statement (i);
    case 3: return ingest_statement (i);
    case 5:
      {
        g_autofree char *sha = fake_sha ("obj", i);
        StrandMaterializeFacts m = { sha, "/home/ada/out.bam", "reflink", "ada", 1795000000000000 };
        return strand_statement_materialize (&m);
      }
    default: return stage_run_statement (strand_key_id (key), i);
    }
}

static StrandLedger *
open_ledger (Fixture *f, guint64 *recovered)
{
  g_autoptr (GError) error = NULL;
  StrandLedger *l = strand_ledger_open (f->dir, f->key, recovered, &error);
  g_assert_no_error (error);
  g_assert_nonnull (l);
  return l;
}

/* Appends records first..last (seqs) and syncs; returns the last hash. */
static void
append_records (Fixture *f, StrandLedger *l, guint n, char last_hash[65])
{
  g_autoptr (GError) error = NULL;
  for (guint i = 0; i < n; i++)
    {
      guint64 before = strand_ledger_last_seq (l);
      g_autoptr (JsonNode) st = some_statement (f->key, (guint) before);
      guint64 seq = strand_ledger_append (l, st, last_hash, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (seq, ==, before + 1);
    }
  g_assert_true (strand_ledger_sync (l, &error));
  g_assert_no_error (error);
}

static void
make_log (Fixture *f, guint n)
{
  g_autoptr (StrandLedger) l = open_ledger (f, NULL);
  append_records (f, l, n, NULL);
}

typedef struct {
  guint64 offset;
  gsize len;
  guint64 seq;
  char hash[65];
} Line;

static gboolean
collect_line (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
              gpointer user_data)
{
  g_assert_cmpint (line[len], ==, '\0');
  Line l = { offset, len, seq, "" };
  memcpy (l.hash, hash, 65);
  g_array_append_val ((GArray *) user_data, l);
  return TRUE;
}

static GArray *
read_lines (const char *log)
{
  GArray *lines = g_array_new (FALSE, FALSE, sizeof (Line));
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_ledger_read (log, 0, collect_line, lines, &error));
  g_assert_no_error (error);
  return lines;
}

static GBytes *
file_bytes (const char *path)
{
  char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_bytes_new_take (data, len);
}

static void
write_bytes (const char *path, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, data, (gssize) len, &error));
  g_assert_no_error (error);
}

static void
assert_verifies (Fixture *f, guint64 records)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  guint64 n = 0;
  gboolean ok = strand_ledger_verify (f->log, f->key, problems, &n);
  for (guint i = 0; i < problems->len; i++)
    {
      StrandProblem *p = problems->pdata[i];
      g_printerr ("%s [%s] %s\n", p->where, p->code, p->message);
    }
  g_assert_true (ok);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_cmpuint (n, ==, records);
}

/* ---- The key ---- */

static void
test_key (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *key_path = g_build_filename (f->dir, "keys", "host.key", NULL);
  g_autofree char *pub_path = g_build_filename (f->dir, "keys", "host.pub", NULL);
  struct stat st;
  g_assert_cmpint (g_stat (key_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* host.pub holds the public key; the key id is its SHA-256. */
  g_autofree char *pub = NULL;
  g_assert_true (g_file_get_contents (pub_path, &pub, NULL, NULL));
  g_strchomp (pub);
  g_assert_cmpstr (pub, ==, strand_key_public_hex (f->key));
  guint8 raw[32];
  for (int i = 0; i < 32; i++)
    raw[i] = (guint8) g_ascii_strtoull ((char[]){ pub[2 * i], pub[2 * i + 1], 0 }, NULL, 16);
  g_autofree char *id = strand_sha256_hex (raw, 32);
  g_assert_cmpstr (id, ==, strand_key_id (f->key));

  /* Creating again keeps the key. */
  g_assert_true (strand_key_create (f->dir, &error));
  g_autoptr (StrandKey) again = strand_key_load (f->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (strand_key_id (again), ==, strand_key_id (f->key));
  g_autoptr (StrandKey) pub_only = strand_key_load_public (pub_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (strand_key_id (pub_only), ==, strand_key_id (f->key));
  /* A public key cannot write. */
  g_assert_null (strand_ledger_open (f->dir, pub_only, NULL, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_NO_KEY);
  g_clear_error (&error);

  /* A key others can read is refused, and so is a symlink to it. */
  for (const mode_t *m = (const mode_t[]){ 0644, 0640, 0604, 0601, 0 }; *m; m++)
    {
      g_assert_cmpint (chmod (key_path, *m), ==, 0);
      g_assert_null (strand_key_load (f->dir, &error));
      g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY);
      g_assert_nonnull (strstr (error->message, "chmod 600"));
      g_clear_error (&error);
    }
  g_assert_cmpint (chmod (key_path, 0400), ==, 0);
  g_autoptr (StrandKey) read_only = strand_key_load (f->dir, &error);
  g_assert_no_error (error);

  /* The secret key may also be the raw 64 bytes. */
  g_autofree char *hex_key = NULL;
  gsize hex_len = 0;
  g_assert_true (g_file_get_contents (key_path, &hex_key, &hex_len, NULL));
  g_assert_cmpuint (hex_len, ==, 129);
  guint8 raw_key[64];
  for (int i = 0; i < 64; i++)
    raw_key[i] = (guint8) g_ascii_strtoull ((char[]){ hex_key[2 * i], hex_key[2 * i + 1], 0 }, NULL, 16);
  g_assert_cmpint (chmod (key_path, 0600), ==, 0);
  write_bytes (key_path, raw_key, sizeof raw_key);
  g_assert_cmpint (chmod (key_path, 0600), ==, 0);
  g_autoptr (StrandKey) from_raw = strand_key_load (f->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (strand_key_id (from_raw), ==, strand_key_id (f->key));
  /* A damaged key (its public half no longer matches its seed) is refused. */
  raw_key[40] ^= 1;
  write_bytes (key_path, raw_key, sizeof raw_key);
  g_assert_cmpint (chmod (key_path, 0600), ==, 0);
  g_assert_null (strand_key_load (f->dir, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY);
  g_clear_error (&error);
  raw_key[40] ^= 1;
  write_bytes (key_path, raw_key, sizeof raw_key);
  g_assert_cmpint (chmod (key_path, 0600), ==, 0);

  /* A published key that is not this one is refused. */
  g_autofree char *saved_pub = g_strdup (pub);
  write_bytes (pub_path, "00000000000000000000000000000000000000000000000000000000000000ff\n", 65);
  g_assert_null (strand_key_load (f->dir, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY);
  g_clear_error (&error);
  /* Without host.pub, create publishes it again. */
  g_unlink (pub_path);
  g_assert_true (strand_key_create (f->dir, &error));
  g_assert_no_error (error);
  g_autofree char *republished = NULL;
  g_assert_true (g_file_get_contents (pub_path, &republished, NULL, NULL));
  g_assert_cmpstr (g_strchomp (republished), ==, saved_pub);

  /* No key: NO_KEY, naming `strand init`. */
  g_autofree char *empty = g_build_filename (f->dir, "elsewhere", NULL);
  g_assert_null (strand_key_load (empty, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_NO_KEY);
  g_assert_nonnull (strstr (error->message, "strand init"));
  g_clear_error (&error);

  /* Whatever the umask, a new key is 0600. */
  mode_t old = umask (0);
  g_autofree char *other = g_build_filename (f->dir, "other", NULL);
  g_assert_true (strand_key_create (other, &error));
  umask (old);
  g_autofree char *other_key = g_build_filename (other, "keys", "host.key", NULL);
  g_assert_cmpint (g_stat (other_key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_autoptr (StrandKey) other_loaded = strand_key_load (other, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (strand_key_id (other_loaded), !=, strand_key_id (f->key));
}

/* ---- Statements ---- */

static JsonObject *
path_object (JsonNode *root, const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  JsonObject *o = json_node_get_object (root);
  for (const char *k = first; k != NULL; k = va_arg (ap, const char *))
    o = json_object_get_object_member (o, k);
  va_end (ap);
  return o;
}

static void
test_statements (Fixture *f, gconstpointer data)
{
  g_autoptr (JsonNode) run = stage_run_statement (strand_key_id (f->key), 4);
  JsonObject *st = json_node_get_object (run);
  g_assert_cmpstr (json_object_get_string_member (st, "_type"), ==, STRAND_STATEMENT_TYPE);
  g_assert_cmpstr (json_object_get_string_member (st, "predicateType"), ==, STRAND_RECORD_STAGE_RUN);
  JsonArray *subject = json_object_get_array_member (st, "subject");
  g_assert_cmpuint (json_array_get_length (subject), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (subject, 0), "name"),
                   ==, "bam/aligned.bam");
  JsonObject *build = path_object (run, "predicate", "buildDefinition", NULL);
  g_assert_cmpstr (json_object_get_string_member (build, "buildType"), ==, STRAND_BUILD_TYPE);
  JsonObject *ext = json_object_get_object_member (build, "externalParameters");
  g_assert_cmpstr (json_object_get_string_member (ext, "stage"), ==, "align");
  g_assert_cmpstr (json_object_get_string_member (ext, "plugin"), ==, "bwa-align");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (ext, "params"), "threads"),
                   ==, "4");
  JsonObject *internal = json_object_get_object_member (build, "internalParameters");
  g_assert_cmpint (json_object_get_int_member (internal, "attempt"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (internal, "equipment"), ==, "sequencer:NovaSeq-A00123");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (internal, "resources"),
                                               "memory_bytes"), ==, 16LL << 30);
  JsonArray *deps = json_object_get_array_member (build, "resolvedDependencies");
  g_assert_cmpuint (json_array_get_length (deps), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (deps, 0), "name"), ==,
                   "input:reads/R1.fastq.gz");
  JsonObject *plugin = json_array_get_object_element (deps, 2);
  g_assert_cmpstr (json_object_get_string_member (plugin, "name"), ==, "plugin:bwa-align");
  g_assert_cmpstr (json_object_get_string_member (plugin, "uri"), ==, "/usr/lib/strand/plugins/bwa-align.so");
  g_autofree char *so = fake_sha ("plugin", 0);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (plugin, "digest"), "sha256"),
                   ==, so);
  JsonObject *tool = json_array_get_object_element (deps, 3);
  g_assert_cmpstr (json_object_get_string_member (tool, "name"), ==, "tool:/usr/bin/bwa");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (tool, "annotations"), "version"),
                   ==, "0.7.17-r1188");
  JsonObject *details = path_object (run, "predicate", "runDetails", NULL);
  g_autofree char *builder = g_strconcat ("strand:host:", strand_key_id (f->key), NULL);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (details, "builder"), "id"),
                   ==, builder);
  /* The builder id may be handed over whole, as provenance.c does. */
  g_autoptr (JsonNode) run2 = stage_run_statement (builder, 4);
  g_assert_cmpstr (json_object_get_string_member (
                       json_object_get_object_member (path_object (run2, "predicate", "runDetails", NULL),
                                                      "builder"), "id"),
                   ==, builder);
  JsonObject *meta = json_object_get_object_member (details, "metadata");
  g_assert_cmpstr (json_object_get_string_member (meta, "invocationId"), ==, "run-20261127-000000");
  g_assert_cmpstr (json_object_get_string_member (meta, "startedOn"), ==, "2026-11-18T11:06:44.000000Z");
  gint64 started = 0;
  g_assert_true (strand_clock_parse_rfc3339 (json_object_get_string_member (meta, "finishedOn"), &started));
  g_assert_cmpint (started, ==, 1795000004734567);
  JsonObject *exit = json_array_get_object_element (json_object_get_array_member (details, "byproducts"), 0);
  JsonObject *ann = json_object_get_object_member (exit, "annotations");
  g_assert_cmpint (json_object_get_int_member (ann, "status"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (ann, "error_class"), ==, "transient");
  /* Canonical-ready: integers stay integers. */
  g_autofree char *canonical = strand_canonical_json (run);
  g_assert_null (strstr (canonical, ".0,"));
  g_assert_nonnull (strstr (canonical, "\"memory_bytes\":17179869184"));

  g_autoptr (JsonNode) ingest = ingest_statement (7);
  JsonObject *pred = path_object (ingest, "predicate", NULL);
  g_assert_cmpint (json_object_get_int_member (pred, "size"), ==, 123456796);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (pred, "metadata"), "license"),
                   ==, "CC-BY-4.0");
  g_assert_cmpstr (json_object_get_string_member (pred, "operator"), ==, "ada");

  g_autofree char *gone = fake_sha ("gone", 1);
  StrandRecordFile removed[] = { { NULL, gone } };
  StrandGcFacts gc = { removed, 1, 4096, "ada", 0 };
  g_autoptr (JsonNode) gc_st = strand_statement_gc (&gc);
  JsonObject *gc_subject = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (gc_st), "subject"), 0);
  g_autofree char *gone_name = g_strconcat ("sha256:", gone, NULL);
  g_assert_cmpstr (json_object_get_string_member (gc_subject, "name"), ==, gone_name);

  g_autoptr (JsonNode) ev = event_statement (1);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (ev), "subject")),
                    ==, 0);
  g_assert_cmpstr (json_object_get_string_member (path_object (ev, "predicate", NULL), "event"), ==, "run-start");
}

/* ---- Appending, reopening, reading ---- */

static void
test_append_reopen (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  char hash[65] = "";
  {
    guint64 recovered = 99;
    g_autoptr (StrandLedger) l = open_ledger (f, &recovered);
    g_assert_cmpuint (recovered, ==, 0);
    g_assert_cmpuint (strand_ledger_last_seq (l), ==, 0);
    g_assert_cmpstr (strand_ledger_last_hash (l), ==, STRAND_LEDGER_GENESIS);
    g_assert_cmpstr (strand_ledger_path (l), ==, f->log);

    /* The caller's statement is not changed. */
    g_autoptr (JsonNode) st = stage_run_statement (strand_key_id (f->key), 0);
    g_autofree char *before = strand_canonical_json (st);
    g_assert_cmpuint (strand_ledger_append (l, st, hash, &error), ==, 1);
    g_autofree char *after = strand_canonical_json (st);
    g_assert_cmpstr (before, ==, after);
    /* Not a statement: refused, nothing appended. */
    g_autoptr (JsonNode) bogus = json_from_string ("{\"_type\": \"x\"}", NULL);
    g_assert_cmpuint (strand_ledger_append (l, bogus, NULL, &error), ==, 0);
    g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_INVALID);
    g_clear_error (&error);
    append_records (f, l, 99, hash);
    g_assert_cmpuint (strand_ledger_last_seq (l), ==, 100);
    g_assert_cmpstr (strand_ledger_last_hash (l), ==, hash);
  }
  {
    guint64 recovered = 99;
    g_autoptr (StrandLedger) l = open_ledger (f, &recovered);
    g_assert_cmpuint (recovered, ==, 0);
    g_assert_cmpuint (strand_ledger_last_seq (l), ==, 100);
    g_assert_cmpstr (strand_ledger_last_hash (l), ==, hash);
    append_records (f, l, 50, hash);
    /* Closing without a sync still writes what was appended. */
    g_autoptr (JsonNode) st = event_statement (0);
    g_assert_cmpuint (strand_ledger_append (l, st, hash, &error), ==, 151);
  }
  assert_verifies (f, 151);

  /* Every line: seq in order, hash of its bytes, canonical JSON, the chain
   * to the line before, and the statement as it was appended plus the
   * chain. */
  g_autoptr (GArray) lines = read_lines (f->log);
  g_assert_cmpuint (lines->len, ==, 151);
  g_autoptr (GBytes) bytes = file_bytes (f->log);
  const char *data_ = g_bytes_get_data (bytes, NULL);
  char prev[65];
  memcpy (prev, STRAND_LEDGER_GENESIS, 65);
  guint64 offset = 0;
  for (guint i = 0; i < lines->len; i++)
    {
      Line *line = &g_array_index (lines, Line, i);
      g_assert_cmpuint (line->seq, ==, i + 1);
      g_assert_cmpuint (line->offset, ==, offset);
      g_autofree char *text = g_strndup (data_ + line->offset, line->len);
      g_autofree char *sha = strand_sha256_hex (text, line->len);
      g_assert_cmpstr (sha, ==, line->hash);
      g_autoptr (JsonNode) parsed = json_from_string (text, &error);
      g_assert_no_error (error);
      g_autofree char *canonical = strand_canonical_json (parsed);
      g_assert_cmpstr (canonical, ==, text);

      guint64 seq = 0;
      char line_prev[65];
      g_autoptr (JsonNode) statement = strand_record_open (text, line->len, f->key, &seq, line_prev, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (seq, ==, i + 1);
      g_assert_cmpstr (line_prev, ==, prev);
      if (i > 0 && i < 150)
        {
          g_autoptr (JsonNode) expected = some_statement (f->key, i);
          JsonObject *o = json_node_get_object (expected);
          JsonObject *parent = json_object_get_object_member (o, "predicate");
          if (g_strcmp0 (json_object_get_string_member (o, "predicateType"), STRAND_RECORD_STAGE_RUN) == 0)
            parent = json_object_get_object_member (
                json_object_get_object_member (parent, "buildDefinition"), "internalParameters");
          JsonObject *chain = json_object_new ();
          json_object_set_string_member (chain, "prev", prev);
          json_object_set_int_member (chain, "seq", (gint64) seq);
          json_object_set_object_member (parent, "ledger", chain);
          g_autofree char *want = strand_canonical_json (expected);
          g_autofree char *got = strand_canonical_json (statement);
          g_assert_cmpstr (got, ==, want);
        }
      memcpy (prev, line->hash, 65);
      offset += line->len + 1;
    }
  g_assert_cmpuint (offset, ==, g_bytes_get_size (bytes));

  /* Reading from a record's offset; an offset inside a line is refused. */
  g_autoptr (GArray) tail = g_array_new (FALSE, FALSE, sizeof (Line));
  Line *l100 = &g_array_index (lines, Line, 100);
  g_assert_true (strand_ledger_read (f->log, l100->offset, collect_line, tail, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tail->len, ==, 51);
  g_assert_cmpuint (g_array_index (tail, Line, 0).seq, ==, 101);
  g_assert_false (strand_ledger_read (f->log, l100->offset + 3, collect_line, tail, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT);
}

/* The payload is the canonical JSON of the statement with the chain member
 * added, whatever the statement's keys and shapes around that place. */
static char *
expected_payload (JsonNode *statement, guint64 seq, const char *prev)
{
  g_autofree char *text = strand_canonical_json (statement);
  g_autoptr (JsonNode) copy = json_from_string (text, NULL);
  JsonObject *o = json_node_get_object (copy);
  JsonObject *parent = json_object_get_object_member (o, "predicate");
  if (g_strcmp0 (json_object_get_string_member (o, "predicateType"), STRAND_RECORD_STAGE_RUN) == 0)
    {
      JsonObject *build = json_object_get_object_member (parent, "buildDefinition");
      if (!json_object_has_member (build, "internalParameters"))
        json_object_set_object_member (build, "internalParameters", json_object_new ());
      parent = json_object_get_object_member (build, "internalParameters");
    }
  JsonObject *chain = json_object_new ();
  json_object_set_string_member (chain, "prev", prev);
  json_object_set_int_member (chain, "seq", (gint64) seq);
  json_object_set_object_member (parent, "ledger", chain);
  return strand_canonical_json (copy);
}

static char *
line_payload (const char *line)
{
  g_autoptr (JsonNode) node = json_from_string (line, NULL);
  JsonObject *dsse = json_object_get_object_member (json_node_get_object (node), "dsse");
  gsize len = 0;
  guchar *raw = g_base64_decode (json_object_get_string_member (dsse, "payload"), &len);
  char *text = g_strndup ((const char *) raw, len);
  g_free (raw);
  return text;
}

static void
test_chain_placement (Fixture *f, gconstpointer data)
{
  static const char *const predicates[] = {
    /* Strand types: predicate.ledger */
    "{}",
    "{\"a\": 1}",
    "{\"z\": [1, {\"ledger\": 2}]}",
    "{\"ledger\": {\"seq\": 99, \"prev\": \"x\", \"deep\": [\"}\", \"{\"]}, \"m\": 0}",
    "{\"le\\\"x\": 1, \"led\\u0001\": 2, \"lede\": \"\\\\\", \"ledgeq\": [], \"ledger2\": {}, "
    "\"ledger\\u0000\": 3, \"l\": \"}\\\"{\", \"\\u00e9\": true, \"ledgerz\": null}",
    "{\"time\": \"2026-01-01T00:00:00Z\", \"details\": {\"x\": \"a,b}]\"}, \"event\": \"e\"}",
    "{\"ledgf\": 1.5, \"ledgd\": -2, \"ledg\": false}",
  };
  static const char *const builds[] = {
    /* SLSA: predicate.buildDefinition.internalParameters.ledger */
    "{}",
    "{\"buildType\": \"t\"}",
    "{\"externalParameters\": {\"internalParameters\": {}}, \"resolvedDependencies\": []}",
    "{\"internalParameters\": {}}",
    "{\"internalParameters\": {\"attempt\": 1, \"resources\": {\"ledger\": 1}}}",
    "{\"internalParameters\": {\"ledger\": [1, 2], \"z\": 1}, \"internalParameterz\": 1, "
    "\"internalParameter\": 0, \"internal\\\"Parameters\": 2}",
    "{\"zzz\": 1, \"a\": {\"b\": \"\\\"internalParameters\\\":\"}}",
    /* Escaped keys sort by their unescaped bytes: '"' and U+0001 before 'P'. */
    "{\"internal\\\"Parameters\": 2, \"internalA\": 1, \"internal\\u0001\": 3}",
  };
  g_autoptr (StrandLedger) l = open_ledger (f, NULL);
  g_autoptr (GError) error = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (predicates) + G_N_ELEMENTS (builds); i++)
    {
      gboolean slsa = i >= G_N_ELEMENTS (predicates);
      g_autofree char *predicate = slsa
          ? g_strdup_printf ("{\"buildDefinition\": %s, \"runDetails\": {\"x\": 1}, \"ab\": 0}",
                             builds[i - G_N_ELEMENTS (predicates)])
          : g_strdup (predicates[i]);
      g_autofree char *text = g_strdup_printf (
          "{\"_type\": \"%s\", \"subject\": [{\"name\": \"p\\\"x\", \"digest\": {\"sha256\": \"00\"}}], "
          "\"predicateType\": \"%s\", \"predicate\": %s}",
          STRAND_STATEMENT_TYPE, slsa ? STRAND_RECORD_STAGE_RUN : STRAND_RECORD_EVENT, predicate);
      g_autoptr (JsonNode) st = json_from_string (text, &error);
      g_assert_no_error (error);
      g_autofree char *prev = g_strdup (strand_ledger_last_hash (l));
      guint64 seq = strand_ledger_append (l, st, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (seq, ==, i + 1);
      g_assert_true (strand_ledger_sync (l, &error));
      g_autoptr (GArray) lines = read_lines (f->log);
      g_autoptr (GBytes) bytes = file_bytes (f->log);
      Line *line = &g_array_index (lines, Line, i);
      g_autofree char *line_text = g_strndup ((const char *) g_bytes_get_data (bytes, NULL) + line->offset,
                                              line->len);
      g_autofree char *payload = line_payload (line_text);
      g_autofree char *want = expected_payload (st, seq, prev);
      g_assert_cmpstr (payload, ==, want);
    }
  assert_verifies (f, G_N_ELEMENTS (predicates) + G_N_ELEMENTS (builds));

  /* internalParameters that is not an object has no place for the chain. */
  g_autoptr (JsonNode) bad = json_from_string (
      "{\"_type\": \"" STRAND_STATEMENT_TYPE "\", \"subject\": [], \"predicateType\": \""
      STRAND_RECORD_STAGE_RUN "\", \"predicate\": {\"buildDefinition\": {\"internalParameters\": 3}}}",
      NULL);
  g_assert_cmpuint (strand_ledger_append (l, bad, NULL, &error), ==, 0);
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_INVALID);
}

static void
test_record_open_errors (Fixture *f, gconstpointer data)
{
  make_log (f, 3);
  g_autoptr (GArray) lines = read_lines (f->log);
  g_autoptr (GBytes) bytes = file_bytes (f->log);
  Line *third = &g_array_index (lines, Line, 2);
  g_autofree char *text = g_strndup ((const char *) g_bytes_get_data (bytes, NULL) + third->offset,
                                     third->len);
  g_autoptr (GError) error = NULL;

  /* Another host's key: named as such. */
  g_autofree char *other = g_build_filename (f->dir, "other", NULL);
  g_assert_true (strand_key_create (other, &error));
  g_autoptr (StrandKey) other_key = strand_key_load (other, &error);
  g_assert_null (strand_record_open (text, third->len, other_key, NULL, NULL, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "record 3"));
  g_assert_nonnull (strstr (error->message, "signed by key"));
  g_clear_error (&error);

  /* Without a key, the signature is not checked but the rest is. */
  guint64 seq = 0;
  g_autoptr (JsonNode) st = strand_record_open (text, third->len, NULL, &seq, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, 3);

  /* One base64 character of the signature changed. */
  char *sig = strstr (text, "\"sig\":\"") + 7;
  sig[5] = sig[5] == 'A' ? 'B' : 'A';
  g_assert_null (strand_record_open (text, third->len, f->key, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "record 3: the signature does not verify"));
  g_clear_error (&error);

  /* The seq on the line differs from the signed one. */
  g_autofree char *moved = g_strndup ((const char *) g_bytes_get_data (bytes, NULL) + third->offset,
                                      third->len);
  moved[third->len - 2] = '7';
  g_assert_null (strand_record_open (moved, third->len, f->key, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "record 7"));
  g_assert_nonnull (strstr (error->message, "signed statement says seq 3"));
  g_clear_error (&error);

  /* Not a record at all. */
  g_assert_null (strand_record_open ("{\"seq\":4}", 9, f->key, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "record 4: not a ledger record line"));
}

/* ---- Torn tails ---- */

static void
test_torn_tail (Fixture *f, gconstpointer data)
{
  make_log (f, 20);
  g_autoptr (GBytes) whole = file_bytes (f->log);
  const char *all = g_bytes_get_data (whole, NULL);
  gsize size = g_bytes_get_size (whole);
  g_autoptr (GArray) lines = read_lines (f->log);
  Line *last = &g_array_index (lines, Line, 19);
  Line *before = &g_array_index (lines, Line, 18);
  g_assert_cmpuint (last->offset + last->len + 1, ==, size);

  /* Cut inside the last record, at ~50 offsets through it: open cuts back to
   * record 19 exactly and says how much. */
  guint tried = 0;
  for (guint64 cut = last->offset + 1; cut < size; cut += MAX (1, last->len / 50))
    {
      guint64 end = cut == last->offset + 1 ? size - 1 : cut; /* also: all but the newline */
      write_bytes (f->log, all, end);
      guint64 recovered = 0;
      {
        g_autoptr (StrandLedger) l = open_ledger (f, &recovered);
        g_assert_cmpuint (recovered, ==, end - last->offset);
        g_assert_cmpuint (strand_ledger_last_seq (l), ==, 19);
        g_assert_cmpstr (strand_ledger_last_hash (l), ==, before->hash);
      }
      g_autoptr (GBytes) now = file_bytes (f->log);
      g_assert_cmpuint (g_bytes_get_size (now), ==, last->offset);
      g_assert_cmpint (memcmp (g_bytes_get_data (now, NULL), all, last->offset), ==, 0);
      tried++;
    }
  g_assert_cmpuint (tried, >=, 50);

  /* Garbage without a newline after the last record. */
  g_autoptr (GByteArray) junk = g_byte_array_new ();
  g_byte_array_append (junk, (const guint8 *) all, (guint) size);
  g_byte_array_append (junk, (const guint8 *) "{\"dsse\":{\"payl", 14);
  write_bytes (f->log, junk->data, junk->len);
  guint64 recovered = 0;
  {
    g_autoptr (StrandLedger) l = open_ledger (f, &recovered);
    g_assert_cmpuint (recovered, ==, 14);
    g_assert_cmpuint (strand_ledger_last_seq (l), ==, 20);
    g_assert_cmpstr (strand_ledger_last_hash (l), ==, last->hash);
  }
  /* What a power cut can leave: pages of zeros, then a line's end, then a
   * partial line. All cut; the log goes on from record 20. */
  g_byte_array_set_size (junk, (guint) size);
  guint8 zeros[5000] = { 0 };
  g_byte_array_append (junk, zeros, sizeof zeros);
  g_byte_array_append (junk, (const guint8 *) "Q==\",\"seq\":21}\n{\"dsse\"", 22);
  g_byte_array_append (junk, (const guint8 *) "\n\n", 2);
  write_bytes (f->log, junk->data, junk->len);
  {
    g_autoptr (StrandLedger) l = open_ledger (f, &recovered);
    g_assert_cmpuint (recovered, ==, sizeof zeros + 24);
    g_assert_cmpuint (strand_ledger_last_seq (l), ==, 20);
    append_records (f, l, 5, NULL);
  }
  assert_verifies (f, 25);

  /* A log with no record at all is not cut to nothing. */
  write_bytes (f->log, "hello\nworld\n", 12);
  g_autoptr (GError) error = NULL;
  g_assert_null (strand_ledger_open (f->dir, f->key, NULL, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT);
  g_clear_error (&error);
  g_autoptr (GBytes) kept = file_bytes (f->log);
  g_assert_cmpuint (g_bytes_get_size (kept), ==, 12);

  /* A lone partial first record is a torn first write. */
  write_bytes (f->log, all, 100);
  {
    g_autoptr (StrandLedger) l = open_ledger (f, &recovered);
    g_assert_cmpuint (recovered, ==, 100);
    g_assert_cmpuint (strand_ledger_last_seq (l), ==, 0);
  }
}

/* What a crash cannot do is not cut: a last record that fails its signature,
 * or does not follow the line before it. Open refuses and changes nothing. */
static void
test_tail_corrupt (Fixture *f, gconstpointer data)
{
  make_log (f, 10);
  g_autoptr (GBytes) whole = file_bytes (f->log);
  gsize size = g_bytes_get_size (whole);
  g_autoptr (GArray) lines = read_lines (f->log);
  for (guint which = 8; which <= 9; which++)
    {
      /* Record 10's signature, then record 9's payload. */
      g_autofree char *copy = g_memdup2 (g_bytes_get_data (whole, NULL), size);
      Line *line = &g_array_index (lines, Line, which);
      char *at = g_strstr_len (copy + line->offset, (gssize) line->len,
                               which == 9 ? "\"sig\":\"" : "\"payload\":\"") + 20;
      *at = *at == 'A' ? 'B' : 'A';
      write_bytes (f->log, copy, size);
      g_autoptr (GError) error = NULL;
      g_assert_null (strand_ledger_open (f->dir, f->key, NULL, &error));
      g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, "strand ledger verify"));
      g_assert_nonnull (strstr (error->message, "record 10"));
      g_autoptr (GBytes) after = file_bytes (f->log);
      g_assert_cmpuint (g_bytes_get_size (after), ==, size);
    }
  /* Opened with another host's key: refused, not cut. */
  write_bytes (f->log, g_bytes_get_data (whole, NULL), size);
  g_autofree char *other = g_build_filename (f->dir, "other", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_key_create (other, &error));
  g_autoptr (StrandKey) other_key = strand_key_load (other, &error);
  g_assert_null (strand_ledger_open (f->dir, other_key, NULL, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT);
  g_autoptr (GBytes) after = file_bytes (f->log);
  g_assert_cmpuint (g_bytes_get_size (after), ==, size);
}

/* ---- Crashes ---- */

/* A child appends and syncs `synced` records, says so, then appends without
 * syncing until it is killed. Whatever moment the kill lands, the reopened
 * log has every synced record and a valid chain. */
static void
test_crash (Fixture *f, gconstpointer data)
{
  guint64 synced = 0;
  for (int round = 0; round < 6; round++)
    {
      int pipe_fds[2];
      g_assert_cmpint (pipe (pipe_fds), ==, 0);
      pid_t pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          close (pipe_fds[0]);
          GError *error = NULL;
          StrandLedger *l = strand_ledger_open (f->dir, f->key, NULL, &error);
          if (l == NULL)
            _exit (2);
          for (int i = 0; i < 150; i++)
            {
              JsonNode *st = some_statement (f->key, (guint) i);
              if (strand_ledger_append (l, st, NULL, &error) == 0)
                _exit (3);
              json_node_unref (st);
            }
          if (!strand_ledger_sync (l, &error))
            _exit (4);
          guint64 seq = strand_ledger_last_seq (l);
          if (write (pipe_fds[1], &seq, sizeof seq) != sizeof seq)
            _exit (5);
          for (guint i = 0;; i++)
            {
              JsonNode *st = some_statement (f->key, i);
              strand_ledger_append (l, st, NULL, NULL);
              json_node_unref (st);
            }
        }
      close (pipe_fds[1]);
      guint64 child_synced = 0;
      g_assert_cmpint (read (pipe_fds[0], &child_synced, sizeof child_synced), ==, sizeof child_synced);
      close (pipe_fds[0]);
      g_assert_cmpuint (child_synced, ==, synced + 150);
      synced = child_synced;
      g_usleep (g_test_rand_int_range (1000, 60000));
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      int status = 0;
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

      guint64 recovered = 0;
      g_autoptr (StrandLedger) l = open_ledger (f, &recovered);
      g_test_message ("round %d: synced %" G_GUINT64_FORMAT ", reopened at %" G_GUINT64_FORMAT
                      ", cut %" G_GUINT64_FORMAT " bytes",
                      round, synced, strand_ledger_last_seq (l), recovered);
      g_assert_cmpuint (strand_ledger_last_seq (l), >=, synced);
      synced = strand_ledger_last_seq (l);
    }
  assert_verifies (f, synced);
}

/* ---- Tampering ---- */

static guint64
first_problem_seq (GPtrArray *problems, const char **code)
{
  g_assert_cmpuint (problems->len, >, 0);
  StrandProblem *p = problems->pdata[0];
  guint64 seq = 0, offset = 0;
  g_assert_cmpint (sscanf (p->where, "seq %" G_GUINT64_FORMAT ", byte %" G_GUINT64_FORMAT, &seq, &offset),
                   ==, 2);
  if (code)
    *code = p->code;
  return seq;
}

typedef struct {
  const char *log;
  const StrandKey *key;
  GArray *lines;
  const guint8 *orig;
  int fd;
  GHashTable *codes; /* code -> count of first problems */
} Tamper;

/* Changes one byte, verifies, puts it back. The first problem must name the
 * record the byte belongs to (a line's newline belongs to it). */
static void
tamper_one (Tamper *t, gsize pos, guint8 flipped)
{
  g_assert_cmpint (pwrite (t->fd, &flipped, 1, (off_t) pos), ==, 1);
  guint64 want = 0;
  for (guint k = 0; k < t->lines->len; k++)
    {
      Line *line = &g_array_index (t->lines, Line, k);
      if (pos >= line->offset && pos <= line->offset + line->len)
        want = line->seq;
    }
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  gboolean ok = strand_ledger_verify (t->log, t->key, problems, NULL);
  const char *code = NULL;
  if (ok || first_problem_seq (problems, &code) != want)
    {
      for (guint k = 0; k < problems->len; k++)
        {
          StrandProblem *p = problems->pdata[k];
          g_printerr ("  %s [%s] %s\n", p->where, p->code, p->message);
        }
      g_error ("byte %" G_GSIZE_FORMAT " (0x%02x -> 0x%02x, in record %" G_GUINT64_FORMAT "): %s",
               pos, t->orig[pos], flipped, want, ok ? "not caught" : "caught at the wrong record");
    }
  const char *key = g_intern_string (code);
  g_hash_table_insert (t->codes, (gpointer) key,
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (t->codes, key)) + 1));
  g_assert_cmpint (pwrite (t->fd, &t->orig[pos], 1, (off_t) pos), ==, 1);
}

/* One byte changed anywhere (a payload, a signature, a prev, a seq, a
 * brace, a newline) is caught at its record: 300 seeded random positions
 * across the log, then every byte outside the payload of two records. */
static void
test_tamper (Fixture *f, gconstpointer data)
{
  make_log (f, 40);
  g_autoptr (GArray) lines = read_lines (f->log);
  g_autoptr (GBytes) whole = file_bytes (f->log);
  gsize size = g_bytes_get_size (whole);
  const guint8 *orig = g_bytes_get_data (whole, NULL);
  Tamper t = { f->log, f->key, lines, orig, open (f->log, O_WRONLY | O_CLOEXEC),
               g_hash_table_new (g_str_hash, g_str_equal) };
  g_assert_cmpint (t.fd, >=, 0);
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261127);
  for (int i = 0; i < 300; i++)
    {
      gsize pos = (gsize) g_rand_int_range (rand, 0, (gint32) size);
      tamper_one (&t, pos, orig[pos] ^ (guint8) g_rand_int_range (rand, 1, 256));
    }
  guint systematic = 0;
  for (const guint *k = (const guint[]){ 4, 39, G_MAXUINT }; *k != G_MAXUINT; k++)
    {
      Line *line = &g_array_index (lines, Line, *k);
      const char *text = (const char *) orig + line->offset;
      gsize after_payload = (gsize) (g_strstr_len (text, (gssize) line->len, "\",\"payloadType\"") - text);
      for (gsize pos = 0; pos <= line->len; pos++)
        if (pos < 24 || pos >= after_payload)
          {
            tamper_one (&t, line->offset + pos, orig[line->offset + pos] ^ (guint8) (1u << (pos % 8)));
            systematic++;
          }
    }
  close (t.fd);
  GHashTableIter iter;
  gpointer name, count;
  g_hash_table_iter_init (&iter, t.codes);
  while (g_hash_table_iter_next (&iter, &name, &count))
    g_test_message ("%u flips first reported as %s", GPOINTER_TO_UINT (count), (const char *) name);
  g_test_message ("%u flips outside payloads", systematic);
  /* The flips landed in payloads, signatures and the line's own members. */
  g_assert_true (g_hash_table_contains (t.codes, "bad-signature"));
  g_assert_true (g_hash_table_contains (t.codes, "not-a-record"));
  g_assert_true (g_hash_table_contains (t.codes, "chain-mismatch"));
  g_assert_true (g_hash_table_contains (t.codes, "torn-tail"));
  g_hash_table_unref (t.codes);
  assert_verifies (f, 40);

  /* A record removed, two swapped, one repeated: named by seq. */
  Line *l10 = &g_array_index (lines, Line, 9), *l11 = &g_array_index (lines, Line, 10);
  g_autoptr (GByteArray) edited = g_byte_array_new ();
  g_byte_array_append (edited, orig, (guint) l10->offset);
  g_byte_array_append (edited, orig + l11->offset, (guint) (size - l11->offset));
  write_bytes (f->log, edited->data, edited->len);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_assert_false (strand_ledger_verify (f->log, f->key, problems, NULL));
  const char *code = NULL;
  g_assert_cmpuint (first_problem_seq (problems, &code), ==, 11);
  g_assert_cmpstr (code, ==, "seq-gap");
  g_assert_cmpuint (problems->len, ==, 1);

  g_byte_array_set_size (edited, 0);
  g_byte_array_append (edited, orig, (guint) size);
  g_byte_array_append (edited, orig + l10->offset, (guint) (l10->len + 1));
  write_bytes (f->log, edited->data, edited->len);
  g_ptr_array_set_size (problems, 0);
  g_assert_false (strand_ledger_verify (f->log, f->key, problems, NULL));
  g_assert_cmpuint (first_problem_seq (problems, &code), ==, 10);
  g_assert_cmpstr (code, ==, "seq-gap");
}

/* ---- One writer ---- */

static void
test_lock (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  StrandLedger *first = open_ledger (f, NULL);
  g_assert_null (strand_ledger_open (f->dir, f->key, NULL, &error));
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_LOCKED);
  g_clear_error (&error);
  /* Another process too. */
  pid_t pid = fork ();
  if (pid == 0)
    {
      GError *e = NULL;
      StrandLedger *l = strand_ledger_open (f->dir, f->key, NULL, &e);
      _exit (l == NULL && g_error_matches (e, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_LOCKED) ? 0 : 1);
    }
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  strand_ledger_close (first);
  g_autoptr (StrandLedger) second = open_ledger (f, NULL);
}

/* ---- A failed write loses nothing that was appended ---- */

static void
test_write_failure (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandLedger) l = open_ledger (f, NULL);
  append_records (f, l, 10, NULL);
  struct stat st;
  g_assert_cmpint (g_stat (f->log, &st), ==, 0);
  guint64 size = (guint64) st.st_size;

  /* The file may grow by 3000 bytes only: the sync's write fails partway. */
  struct rlimit old, small;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old), ==, 0);
  small = old;
  small.rlim_cur = size + 3000;
  void (*old_handler) (int) = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  for (int i = 0; i < 20; i++)
    {
      g_autoptr (JsonNode) st_ = some_statement (f->key, (guint) i);
      g_assert_cmpuint (strand_ledger_append (l, st_, NULL, &error), ==, 11 + (guint) i);
    }
  gboolean synced = strand_ledger_sync (l, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old), ==, 0);
  signal (SIGXFSZ, old_handler);
  g_assert_false (synced);
  g_assert_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_IO);
  g_clear_error (&error);
  /* The file holds whole records only... */
  g_assert_cmpint (g_stat (f->log, &st), ==, 0);
  g_assert_cmpuint ((guint64) st.st_size, ==, size);
  /* ...and the next sync writes them all. */
  g_assert_true (strand_ledger_sync (l, &error));
  g_assert_no_error (error);
  assert_verifies (f, 30);
}

/* ---- An independent verifier ---- */

static int
run_python_verifier (const char *log, const char *pub_hex, char **out)
{
  const char *argv[] = { "/usr/bin/python3", STRAND_SOURCE_ROOT "/tests/ledger/verify_dsse.py", log,
                         pub_hex, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("verify_dsse.py: %s%s", *out, err);
  /* A missing python3-nacl is a failure, not a skip. */
  if (strstr (err, "No module named 'nacl'") != NULL)
    g_error ("python3-nacl is missing: apt-get install -y python3-nacl");
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

static void
test_dsse_python (Fixture *f, gconstpointer data)
{
  make_log (f, 24); /* every kind: stage runs, events, ingests, materialisations */
  g_autoptr (StrandLedger) l = open_ledger (f, NULL);
  g_autofree char *gone = fake_sha ("gone", 1);
  StrandRecordFile removed[] = { { NULL, gone } };
  StrandGcFacts gc = { removed, 1, 4096, "ada", 0 };
  g_autoptr (JsonNode) gc_st = strand_statement_gc (&gc);
  g_autoptr (GError) error = NULL;
  g_assert_cmpuint (strand_ledger_append (l, gc_st, NULL, &error), ==, 25);
  g_assert_true (strand_ledger_sync (l, &error));

  g_autofree char *out = NULL;
  g_assert_cmpint (run_python_verifier (f->log, strand_key_public_hex (f->key), &out), ==, 0);
  g_assert_cmpstr (out, ==, "25 records verified\n");

  /* One payload character changed to another valid one: the signature fails. */
  g_autoptr (GBytes) whole = file_bytes (f->log);
  gsize size = g_bytes_get_size (whole);
  g_autofree char *copy = g_memdup2 (g_bytes_get_data (whole, NULL), size);
  char *at = strstr (copy, "\"payload\":\"") + 40;
  *at = *at == 'A' ? 'B' : 'A';
  write_bytes (f->log, copy, size);
  g_autofree char *out2 = NULL;
  g_assert_cmpint (run_python_verifier (f->log, strand_key_public_hex (f->key), &out2), !=, 0);
  /* Another key does not verify the intact log either. */
  write_bytes (f->log, g_bytes_get_data (whole, NULL), size);
  g_autofree char *out3 = NULL;
  g_assert_cmpint (run_python_verifier (f->log, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                                        &out3),
                   !=, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/ledger/key", Fixture, NULL, fixture_setup, test_key, fixture_teardown);
  g_test_add ("/ledger/statements", Fixture, NULL, fixture_setup, test_statements, fixture_teardown);
  g_test_add ("/ledger/append-reopen", Fixture, NULL, fixture_setup, test_append_reopen, fixture_teardown);
  g_test_add ("/ledger/chain-placement", Fixture, NULL, fixture_setup, test_chain_placement,
              fixture_teardown);
  g_test_add ("/ledger/record-open-errors", Fixture, NULL, fixture_setup, test_record_open_errors,
              fixture_teardown);
  g_test_add ("/ledger/torn-tail", Fixture, NULL, fixture_setup, test_torn_tail, fixture_teardown);
  g_test_add ("/ledger/tail-corrupt", Fixture, NULL, fixture_setup, test_tail_corrupt, fixture_teardown);
  g_test_add ("/ledger/crash", Fixture, NULL, fixture_setup, test_crash, fixture_teardown);
  g_test_add ("/ledger/tamper", Fixture, NULL, fixture_setup, test_tamper, fixture_teardown);
  g_test_add ("/ledger/lock", Fixture, NULL, fixture_setup, test_lock, fixture_teardown);
  g_test_add ("/ledger/write-failure", Fixture, NULL, fixture_setup, test_write_failure, fixture_teardown);
  g_test_add ("/ledger/dsse-python", Fixture, NULL, fixture_setup, test_dsse_python, fixture_teardown);
  return g_test_run ();
}
