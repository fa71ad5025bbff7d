/* The provenance index from its users' side: an analyst asking where a VCF
 * came from and what a raw file fed, an operator recalling what an
 * instrument touched, and the index surviving deletion, damage, a log cut
 * back and a log that grows. Issue 4, part 3.
 *
 * The ledger is a real one (ledger.h, signed records from record-build.h):
 * one run over two samples, ingest -> basecall -> qc -> align -> call, the
 * call a fan-in over both samples and a reference. */
#include "clock.h"
#include "ledger.h"
#include "lineage.h"
#include "lineage-private.h"
#include "record-build.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test-util.h"

#define MINUTE ((gint64) 60 * G_USEC_PER_SEC)
/* 2026-11-27T08:00:00Z */
#define T0 ((gint64) 1795766400 * G_USEC_PER_SEC)

typedef struct {
  char *dir;
  char *log;     /* dir/ledger/log.jsonl */
  char *db;      /* dir/index.sqlite */
  StrandKey *key;
  StrandLedger *ledger;
  GHashTable *sha; /* short name -> digest */
  guint64 seq_materialize;
} Fixture;

/* The digest of a made-up data item, remembered under its short name. */
static const char *
sha (Fixture *f, const char *name)
{
  const char *known = g_hash_table_lookup (f->sha, name);
  if (known != NULL)
    return known;
  char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, name, -1);
  g_hash_table_insert (f->sha, g_strdup (name), digest);
  return digest;
}

static guint64
append (Fixture *f, JsonNode *statement)
{
  g_autoptr (GError) error = NULL;
  g_assert_nonnull (statement);
  guint64 seq = strand_ledger_append (f->ledger, statement, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, >, 0);
  json_node_unref (statement);
  g_assert_true (strand_ledger_sync (f->ledger, &error));
  g_assert_no_error (error);
  return seq;
}

static guint64
ingest (Fixture *f, const char *path, const char *name, const char *sample, gint64 t)
{
  StrandIngestFacts facts = {
    .path = path, .sha256 = sha (f, name), .size = strlen (name) * 1000, .format = "fastq",
    .sample = sample, .time_us = t,
  };
  return append (f, strand_statement_ingest (&facts));
}

typedef struct {
  const char *stage, *sample, *equipment, *error_class;
  const char *in[6], *out[3]; /* short names; "port/file" names are made from them */
  int attempt;
  gint64 started, finished;
  const char *run;
} Task;

static guint64
stage_run (Fixture *f, const Task *t)
{
  StrandRecordFile in[6], out[3];
  guint n_in = 0, n_out = 0;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (; n_in < G_N_ELEMENTS (t->in) && t->in[n_in] != NULL; n_in++)
    {
      char *name = g_strconcat ("in/", t->in[n_in], NULL);
      g_ptr_array_add (names, name);
      in[n_in] = (StrandRecordFile){ name, sha (f, t->in[n_in]) };
    }
  for (; n_out < G_N_ELEMENTS (t->out) && t->out[n_out] != NULL; n_out++)
    {
      const char *slash = strchr (t->out[n_out], '/');
      char *name = g_strconcat ("out/", slash ? slash + 1 : t->out[n_out], NULL);
      g_ptr_array_add (names, name);
      out[n_out] = (StrandRecordFile){ name, sha (f, t->out[n_out]) };
    }
  g_autofree char *plugin_path = g_strdup_printf ("/usr/lib/strand/plugins/%s.so", t->stage);
  g_autofree char *plugin_key = g_strconcat ("plugin:", t->stage, NULL);
  StrandStageRunFacts facts = {
    .run_id = t->run ? t->run : "run-1", .stage = t->stage, .sample = t->sample,
    .plugin_name = t->stage, .plugin_version = "1.2.0", .plugin_path = plugin_path,
    .plugin_sha256 = sha (f, plugin_key), .inputs = in, .n_inputs = n_in, .outputs = out,
    .n_outputs = n_out, .equipment = t->equipment, .attempt = t->attempt ? t->attempt : 1,
    .started_us = t->started, .finished_us = t->finished,
    .exit_status = t->error_class ? 1 : 0, .error_class = t->error_class,
    .host_id = strand_key_id (f->key),
  };
  return append (f, strand_statement_stage_run (&facts));
}

static guint64
event (Fixture *f, const char *what, gint64 t)
{
  StrandEventFacts facts = { .event = what, .time_us = t };
  return append (f, strand_statement_event (&facts));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-lineage-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->log = g_build_filename (f->dir, "ledger", "log.jsonl", NULL);
  f->db = g_build_filename (f->dir, "index.sqlite", NULL);
  f->sha = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_key_create (f->dir, &error));
  g_assert_no_error (error);
  f->key = strand_key_load (f->dir, &error);
  g_assert_no_error (error);
  f->ledger = strand_ledger_open (f->dir, f->key, NULL, &error);
  g_assert_no_error (error);

  event (f, "run-start", T0);
  ingest (f, "/data/A.pod5", "A.pod5", "A", T0 + 1 * MINUTE);
  ingest (f, "/data/B.pod5", "B.pod5", "B", T0 + 2 * MINUTE);
  ingest (f, "/ref/GRCh38.fa", "ref", NULL, T0 + 3 * MINUTE);
  stage_run (f, &(Task){ "basecall", "A", "gpu-1", NULL, { "A.pod5" },
                         { "A/reads.fastq", "A/summary.txt" }, 1, T0 + 10 * MINUTE, T0 + 40 * MINUTE });
  stage_run (f, &(Task){ "basecall", "B", "gpu-1", NULL, { "B.pod5" },
                         { "B/reads.fastq", "B/summary.txt" }, 1, T0 + 40 * MINUTE, T0 + 70 * MINUTE });
  stage_run (f, &(Task){ "qc", "A", "cpu-1", "crash", { "A/reads.fastq" }, { NULL }, 1,
                         T0 + 41 * MINUTE, T0 + 42 * MINUTE });
  stage_run (f, &(Task){ "qc", "A", "cpu-1", NULL, { "A/reads.fastq" },
                         { "A/trimmed.fastq", "A/qc.json" }, 2, T0 + 43 * MINUTE, T0 + 50 * MINUTE });
  stage_run (f, &(Task){ "qc", "B", "cpu-1", NULL, { "B/reads.fastq" },
                         { "B/trimmed.fastq", "B/qc.json" }, 1, T0 + 71 * MINUTE, T0 + 80 * MINUTE });
  stage_run (f, &(Task){ "align", "A", "cpu-2", NULL, { "A/trimmed.fastq", "ref" },
                         { "A/aligned.bam", "A/aligned.bam.bai" }, 1, T0 + 51 * MINUTE,
                         T0 + 90 * MINUTE });
  stage_run (f, &(Task){ "align", "B", "cpu-2", NULL, { "B/trimmed.fastq", "ref" },
                         { "B/aligned.bam", "B/aligned.bam.bai" }, 1, T0 + 90 * MINUTE,
                         T0 + 120 * MINUTE });
  stage_run (f, &(Task){ "call", NULL, "cpu-1", NULL,
                         { "A/aligned.bam", "A/aligned.bam.bai", "B/aligned.bam",
                           "B/aligned.bam.bai", "ref" },
                         { "cohort.vcf.gz" }, 1, T0 + 121 * MINUTE, T0 + 150 * MINUTE });
  StrandMaterializeFacts m = { .sha256 = sha (f, "cohort.vcf.gz"),
                               .path = "/results/cohort.vcf.gz", .method = "copy",
                               .time_us = T0 + 151 * MINUTE };
  f->seq_materialize = append (f, strand_statement_materialize (&m));
  event (f, "run-end", T0 + 152 * MINUTE);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_ledger_close (f->ledger);
  strand_key_free (f->key);
  strand_test_remove_tree (f->dir);
  g_hash_table_unref (f->sha);
  g_free (f->log);
  g_free (f->db);
  g_free (f->dir);
}

static StrandIndex *
open_index (Fixture *f, gboolean expect_rebuilt)
{
  g_autoptr (GError) error = NULL;
  gboolean rebuilt = !expect_rebuilt;
  StrandIndex *index = strand_index_open (f->db, f->log, &rebuilt, &error);
  g_assert_no_error (error);
  g_assert_nonnull (index);
  g_assert_cmpint (rebuilt, ==, expect_rebuilt);
  return index;
}

static JsonObject *
lineage (StrandIndex *index, const char *target, StrandLineageDirection direction, int depth,
         JsonNode **keep)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = strand_lineage (index, target, direction, depth, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  *keep = node;
  return json_node_get_object (node);
}

/* "stage/sample/attempt" of each activity, in order, e.g.
 * "ingest/A basecall/A/1 call/-/1". */
static char *
summary (JsonObject *answer)
{
  JsonArray *acts = json_object_get_array_member (answer, "activities");
  g_autoptr (GString) s = g_string_new (NULL);
  gint64 last_seq = 0;
  for (guint i = 0; i < json_array_get_length (acts); i++)
    {
      JsonObject *a = json_array_get_object_element (acts, i);
      gint64 seq = json_object_get_int_member (a, "seq");
      g_assert_cmpint (seq, >, last_seq); /* by seq */
      last_seq = seq;
      const char *kind = json_object_get_string_member (a, "kind");
      const char *sample = json_object_get_string_member_with_default (a, "sample", NULL);
      if (json_object_get_null_member (a, "sample"))
        sample = "-";
      if (strcmp (kind, "stage-run") == 0)
        g_string_append_printf (s, "%s%s/%s/%" G_GINT64_FORMAT, s->len ? " " : "",
                                json_object_get_string_member (a, "stage"), sample,
                                json_object_get_int_member (a, "attempt"));
      else
        g_string_append_printf (s, "%s%s/%s", s->len ? " " : "", kind, sample);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
has_entity (JsonObject *answer, const char *digest)
{
  JsonArray *ents = json_object_get_array_member (answer, "entities");
  for (guint i = 0; i < json_array_get_length (ents); i++)
    if (strcmp (json_object_get_string_member (json_array_get_object_element (ents, i), "sha256"),
                digest) == 0)
      return TRUE;
  return FALSE;
}

static char *
to_text (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

/* How was the cohort VCF made: every record that led to it, from both
 * samples and the reference, and nothing that only happened near it. */
static void
test_up_from_digest (Fixture *f, gconstpointer data)
{
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  g_assert_cmpuint (strand_index_last_seq (index), ==, 14);
  g_autoptr (JsonNode) keep = NULL;
  JsonObject *o = lineage (index, sha (f, "cohort.vcf.gz"), STRAND_LINEAGE_UP, -1, &keep);
  g_assert_cmpstr (json_object_get_string_member (o, "matched"), ==, "digest");
  g_assert_cmpstr (json_object_get_string_member (o, "direction"), ==, "up");
  g_autofree char *s = summary (o);
  g_assert_cmpstr (s, ==,
                   "ingest/A ingest/B ingest/- basecall/A/1 basecall/B/1 qc/A/2 qc/B/1 align/A/1 "
                   "align/B/1 call/-/1");

  /* Every digest the activities name is described once, raw inputs with
   * their size, sample and path, outputs with their PORT/FILE name. */
  JsonArray *ents = json_object_get_array_member (o, "entities");
  g_assert_cmpuint (json_array_get_length (ents), ==, 16);
  JsonObject *first = json_array_get_object_element (ents, 0);
  g_assert_cmpstr (json_object_get_string_member (first, "sha256"), ==, sha (f, "A.pod5"));
  g_assert_cmpint (json_object_get_int_member (first, "size"), ==, 6000);
  g_assert_cmpstr (json_object_get_string_member (first, "sample"), ==, "A");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (first, "names"), 0),
                   ==, "/data/A.pod5");
  JsonObject *last = json_array_get_object_element (ents, 15);
  g_assert_cmpstr (json_object_get_string_member (last, "sha256"), ==, sha (f, "cohort.vcf.gz"));
  JsonArray *names = json_object_get_array_member (last, "names");
  g_assert_cmpuint (json_array_get_length (names), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (names, 0), ==, "out/cohort.vcf.gz");
  g_assert_cmpstr (json_array_get_string_element (names, 1), ==, "/results/cohort.vcf.gz");
  g_assert_false (json_object_has_member (last, "sample")); /* a run-wide task's output */
  g_assert_true (has_entity (o, sha (f, "A/summary.txt"))); /* a sibling output */

  /* The call: fan-in of five inputs, with everything the record said. */
  JsonArray *acts = json_object_get_array_member (o, "activities");
  JsonObject *call = json_array_get_object_element (acts, 9);
  g_assert_cmpstr (json_object_get_string_member (call, "kind"), ==, "stage-run");
  g_assert_cmpstr (json_object_get_string_member (call, "run"), ==, "run-1");
  g_assert_cmpstr (json_object_get_string_member (call, "plugin"), ==, "call");
  g_assert_cmpstr (json_object_get_string_member (call, "plugin_version"), ==, "1.2.0");
  g_assert_cmpstr (json_object_get_string_member (call, "plugin_sha256"), ==, sha (f, "plugin:call"));
  g_assert_cmpstr (json_object_get_string_member (call, "equipment"), ==, "cpu-1");
  g_assert_cmpstr (json_object_get_string_member (call, "status"), ==, "ok");
  g_assert_cmpstr (json_object_get_string_member (call, "started"), ==,
                   "2026-11-27T10:01:00.000000Z");
  g_assert_cmpstr (json_object_get_string_member (call, "finished"), ==,
                   "2026-11-27T10:30:00.000000Z");
  JsonArray *used = json_object_get_array_member (call, "used");
  g_assert_cmpuint (json_array_get_length (used), ==, 5);
  g_assert_cmpstr (json_array_get_string_element (used, 4), ==, sha (f, "ref"));
  JsonArray *generated = json_object_get_array_member (call, "generated");
  g_assert_cmpuint (json_array_get_length (generated), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (generated, 0), ==, sha (f, "cohort.vcf.gz"));
  /* An ingest has no plugin: null members, but all of them. */
  JsonObject *ing = json_array_get_object_element (acts, 0);
  g_assert_true (json_object_get_null_member (ing, "plugin"));
  g_assert_true (json_object_get_null_member (ing, "run"));
  g_assert_cmpstr (json_object_get_string_member (ing, "started"), ==, "2026-11-27T08:01:00.000000Z");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (ing, "generated")), ==, 1);
}

/* What did the raw file feed: its sample's chain, the failed attempt too,
 * the joint call and the copy handed to the user; not the other sample. */
static void
test_down_from_path (Fixture *f, gconstpointer data)
{
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  g_autoptr (JsonNode) keep = NULL;
  JsonObject *o = lineage (index, "/data/A.pod5", STRAND_LINEAGE_DOWN, -1, &keep);
  g_assert_cmpstr (json_object_get_string_member (o, "matched"), ==, "path");
  g_autofree char *s = summary (o);
  g_assert_cmpstr (s, ==, "basecall/A/1 qc/A/1 qc/A/2 align/A/1 call/-/1 materialize/-");
  JsonObject *failed = json_array_get_object_element (json_object_get_array_member (o, "activities"), 1);
  g_assert_cmpstr (json_object_get_string_member (failed, "status"), ==, "crash");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (failed, "generated")), ==, 0);

  /* Up from the raw path: the ingest alone. Paths are canonicalised. */
  g_autoptr (JsonNode) keep2 = NULL;
  o = lineage (index, "/data/./x/../A.pod5", STRAND_LINEAGE_UP, -1, &keep2);
  g_autofree char *s2 = summary (o);
  g_assert_cmpstr (s2, ==, "ingest/A");

  /* The materialised path answers for its object. */
  g_autoptr (JsonNode) keep3 = NULL;
  o = lineage (index, "/results/cohort.vcf.gz", STRAND_LINEAGE_UP, -1, &keep3);
  g_assert_cmpstr (json_object_get_string_member (o, "matched"), ==, "path");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "activities")), ==, 10);
}

/* A sample stands for its own records: up adds what they were made from
 * (the reference), down what they fed (the joint call and its copy). */
static void
test_sample_and_run (Fixture *f, gconstpointer data)
{
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  struct { const char *target, *matched; StrandLineageDirection dir; const char *expect; } cases[] = {
    { "A", "sample", STRAND_LINEAGE_UP,
      "ingest/A ingest/- basecall/A/1 qc/A/1 qc/A/2 align/A/1" },
    { "A", "sample", STRAND_LINEAGE_DOWN,
      "ingest/A basecall/A/1 qc/A/1 qc/A/2 align/A/1 call/-/1 materialize/-" },
    { "run-1", "run", STRAND_LINEAGE_UP,
      "ingest/A ingest/B ingest/- basecall/A/1 basecall/B/1 qc/A/1 qc/A/2 qc/B/1 align/A/1 "
      "align/B/1 call/-/1" },
    { "run-1", "run", STRAND_LINEAGE_DOWN,
      "basecall/A/1 basecall/B/1 qc/A/1 qc/A/2 qc/B/1 align/A/1 align/B/1 call/-/1 "
      "materialize/-" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonNode) keep = NULL;
      JsonObject *o = lineage (index, cases[i].target, cases[i].dir, -1, &keep);
      g_assert_cmpstr (json_object_get_string_member (o, "matched"), ==, cases[i].matched);
      g_autofree char *s = summary (o);
      g_assert_cmpstr (s, ==, cases[i].expect);
    }
}

/* Depth counts records along a path; a prefix of 12 hex digits is enough;
 * anything else is a clear NOT_FOUND. */
static void
test_depth_prefix_unknown (Fixture *f, gconstpointer data)
{
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  const char *vcf = sha (f, "cohort.vcf.gz");
  struct { int depth; const char *expect; guint entities; } cases[] = {
    { 0, "", 1 },
    { 1, "call/-/1", 6 },
    { 2, "ingest/- align/A/1 align/B/1 call/-/1", 8 },
    { 3, "ingest/- qc/A/2 qc/B/1 align/A/1 align/B/1 call/-/1", 12 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonNode) keep = NULL;
      JsonObject *o = lineage (index, vcf, STRAND_LINEAGE_UP, cases[i].depth, &keep);
      g_autofree char *s = summary (o);
      g_assert_cmpstr (s, ==, cases[i].expect);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "entities")), ==,
                        cases[i].entities);
    }

  /* Twelve hex digits are enough, upper case too; eleven are not. */
  g_autofree char *prefix = g_ascii_strup (vcf, 12);
  g_autoptr (JsonNode) keep = NULL;
  JsonObject *o = lineage (index, prefix, STRAND_LINEAGE_UP, 1, &keep);
  g_assert_cmpstr (json_object_get_string_member (o, "matched"), ==, "digest");
  g_autofree char *s = summary (o);
  g_assert_cmpstr (s, ==, "call/-/1");
  g_autofree char *with_scheme = g_strconcat ("sha256:", vcf, NULL);
  g_autoptr (JsonNode) keep2 = NULL;
  lineage (index, with_scheme, STRAND_LINEAGE_UP, 1, &keep2);

  const char *unknown[] = { "no-such-thing", "/no/such/path", g_strndup (vcf, 11),
                            "0000000000000000000000000000000000000000000000000000000000000000" };
  for (guint i = 0; i < G_N_ELEMENTS (unknown); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) none = strand_lineage (index, unknown[i], STRAND_LINEAGE_DOWN, -1, &error);
      g_assert_null (none);
      g_assert_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_NOT_FOUND);
      g_assert_nonnull (strstr (error->message, unknown[i]));
    }
  g_free ((char *) unknown[2]);
}

/* Two digests that share their first 12 hex digits: the prefix is
 * ambiguous, and says so. */
static void
test_ambiguous_prefix (Fixture *f, gconstpointer data)
{
  const char *twins[] = { "abcdef012345" "1000000000000000000000000000000000000000000000000000",
                          "abcdef012345" "2000000000000000000000000000000000000000000000000000" };
  for (guint i = 0; i < 2; i++)
    {
      StrandIngestFacts facts = { .path = i ? "/data/twin2" : "/data/twin1", .sha256 = twins[i],
                                  .size = 1, .time_us = T0 + 200 * MINUTE };
      append (f, strand_statement_ingest (&facts));
    }
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) none = strand_lineage (index, "abcdef012345", STRAND_LINEAGE_UP, -1, &error);
  g_assert_null (none);
  g_assert_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_AMBIGUOUS);
  g_autoptr (JsonNode) keep = NULL;
  JsonObject *o = lineage (index, "abcdef0123452", STRAND_LINEAGE_UP, -1, &keep);
  JsonArray *ents = json_object_get_array_member (o, "entities");
  g_assert_cmpuint (json_array_get_length (ents), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (ents, 0), "sha256"),
                   ==, twins[1]);
}

static char *
equipment_summary (StrandIndex *index, const char *equipment, gint64 from, gint64 until)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = strand_lineage_equipment (index, equipment, from, until, &error);
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "equipment"), ==, equipment);
  return summary (o);
}

/* A recall: everything gpu-1 touched in a window. Intervals are half open:
 * a task that ended as the window began is not in it. */
static void
test_equipment_window (Fixture *f, gconstpointer data)
{
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  struct { const char *equipment; gint64 from, until; const char *expect; } cases[] = {
    { "gpu-1", T0, T0 + 20 * MINUTE, "basecall/A/1" },
    { "gpu-1", T0 + 40 * MINUTE, T0 + 41 * MINUTE, "basecall/B/1" },
    { "gpu-1", T0 + 39 * MINUTE, T0 + 41 * MINUTE, "basecall/A/1 basecall/B/1" },
    { "gpu-1", T0 + 70 * MINUTE, T0 + 500 * MINUTE, "" },
    { "gpu-1", T0 - 500 * MINUTE, T0 + 10 * MINUTE, "" },
    { "cpu-1", T0, T0 + 1000 * MINUTE, "qc/A/1 qc/A/2 qc/B/1 call/-/1" },
    { "cpu-1", T0 + 100 * MINUTE, T0 + 122 * MINUTE, "call/-/1" },
    { "cpu-2", T0 + 89 * MINUTE, T0 + 91 * MINUTE, "align/A/1 align/B/1" },
    { "no-such-instrument", T0, T0 + 1000 * MINUTE, "" },
    { "gpu-1", G_MININT64, G_MAXINT64, "basecall/A/1 basecall/B/1" }, /* open window */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *s = equipment_summary (index, cases[i].equipment, cases[i].from, cases[i].until);
      g_assert_cmpstr (s, ==, cases[i].expect);
    }
  g_autoptr (JsonNode) open = strand_lineage_equipment (index, "gpu-1", G_MININT64, G_MAXINT64, NULL);
  g_assert_true (json_object_get_null_member (json_node_get_object (open), "from"));
  g_assert_true (json_object_get_null_member (json_node_get_object (open), "until"));

  /* The activities name their digests. */
  g_autoptr (JsonNode) node = strand_lineage_equipment (index, "gpu-1", T0, T0 + 20 * MINUTE, NULL);
  JsonObject *act = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (node), "activities"), 0);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (act, "used"), 0),
                   ==, sha (f, "A.pod5"));
}

/* Several answers as text, to compare an index with its rebuilt self. */
static char *
answers (Fixture *f, StrandIndex *index)
{
  g_autoptr (GString) all = g_string_new (NULL);
  const char *targets[] = { sha (f, "cohort.vcf.gz"), "/data/A.pod5", "A", "B", "run-1",
                            sha (f, "ref") };
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    for (int dir = 0; dir < 2; dir++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (JsonNode) node = strand_lineage (index, targets[i], dir, -1, &error);
        g_assert_no_error (error);
        g_autofree char *text = to_text (node);
        g_string_append_printf (all, "%s\n", text);
      }
  g_autoptr (JsonNode) eq = strand_lineage_equipment (index, "cpu-1", T0, T0 + 1000 * MINUTE, NULL);
  g_autofree char *text = to_text (eq);
  g_string_append (all, text);
  return g_string_free (g_steal_pointer (&all), FALSE);
}

static void
test_rebuild_when_deleted (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  {
    g_autoptr (StrandIndex) index = open_index (f, TRUE);
    StrandIndexInfo info;
    strand_index_info (index, &info);
    g_assert_cmpstr (info.rebuild_reason, ==, "no index yet");
    before = answers (f, index);
  }
  {
    /* Unchanged: opened as it is. */
    g_autoptr (StrandIndex) index = open_index (f, FALSE);
    StrandIndexInfo info;
    strand_index_info (index, &info);
    g_assert_null (info.rebuild_reason);
    g_autofree char *same = answers (f, index);
    g_assert_cmpstr (same, ==, before);
  }
  g_assert_cmpint (g_unlink (f->db), ==, 0);
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  g_autofree char *after = answers (f, index);
  g_assert_cmpstr (after, ==, before);
}

/* One process keeps the index open while another deletes and rebuilds it:
 * the first notices on its next update and follows. */
static void
test_two_handles (Fixture *f, gconstpointer data)
{
  g_autoptr (StrandIndex) first = open_index (f, TRUE);
  g_assert_cmpint (g_unlink (f->db), ==, 0);
  guint64 seq = event (f, "maintenance", T0 + 200 * MINUTE);
  g_autoptr (StrandIndex) second = open_index (f, TRUE);
  g_assert_cmpuint (strand_index_last_seq (second), ==, seq);
  guint64 seq2 = stage_run (f, &(Task){ "qc", "B", "cpu-9", NULL, { "B/reads.fastq" },
                                        { "B/qc-again.json" }, 1, T0 + 210 * MINUTE,
                                        T0 + 220 * MINUTE, "run-9" });
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_index_update (first, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strand_index_last_seq (first), ==, seq2);
  g_assert_true (strand_index_update (second, &error));
  g_autofree char *a = answers (f, first);
  g_autofree char *b = answers (f, second);
  g_assert_cmpstr (a, ==, b);
  g_autofree char *e = equipment_summary (first, "cpu-9", T0, T0 + 1000 * MINUTE);
  g_assert_cmpstr (e, ==, "qc/B/1");
}

/* A file of garbage where the database was: moved aside, rebuilt. */
static void
test_rebuild_when_garbage (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  {
    g_autoptr (StrandIndex) index = open_index (f, TRUE);
    before = answers (f, index);
  }
  g_autofree char *junk = g_malloc (16384);
  for (guint i = 0; i < 16384; i++)
    junk[i] = (char) (i * 7919 % 251);
  g_assert_true (g_file_set_contents (f->db, junk, 16384, NULL));
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  StrandIndexInfo info;
  strand_index_info (index, &info);
  g_assert_true (g_str_has_prefix (info.rebuild_reason, "the database is damaged"));
  g_autofree char *after = answers (f, index);
  g_assert_cmpstr (after, ==, before);
  g_autofree char *aside = g_strconcat (f->db, ".damaged", NULL);
  g_assert_true (g_file_test (aside, G_FILE_TEST_EXISTS));
  g_autofree char *lock = g_strconcat (f->db, ".lock", NULL);
  g_assert_true (g_file_test (lock, G_FILE_TEST_EXISTS));

  /* An empty file, and a database of someone else's, are no better. */
  strand_index_close (g_steal_pointer (&index));
  g_assert_true (g_file_set_contents (f->db, "", 0, NULL));
  index = open_index (f, TRUE);
  strand_index_close (g_steal_pointer (&index));
  g_unlink (f->db);
  sqlite3 *other = NULL;
  g_assert_cmpint (sqlite3_open (f->db, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "CREATE TABLE t (x)", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (other);
  index = open_index (f, TRUE);
  g_autofree char *again = answers (f, index);
  g_assert_cmpstr (again, ==, before);

  /* A scratch index leaves nothing behind. */
  strand_index_close (g_steal_pointer (&index));
  strand_index_remove_files (f->db);
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_prefix (name, "index.sqlite"));
}

/* Damage the open path does not see (a table's pages, not meta): the query
 * that meets it rebuilds and still answers. */
static void
test_rebuild_when_damaged_under_query (Fixture *f, gconstpointer data)
{
  g_autofree char *before = NULL;
  gint64 root = 0, page_size = 0;
  {
    g_autoptr (StrandIndex) index = open_index (f, TRUE);
    before = answers (f, index);
  }
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (f->db, &db), ==, SQLITE_OK);
  sqlite3_stmt *stmt = NULL;
  sqlite3_prepare_v2 (db, "SELECT rootpage, (SELECT page_size FROM pragma_page_size)"
                          " FROM sqlite_schema WHERE name = 'generated'", -1, &stmt, NULL);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  root = sqlite3_column_int64 (stmt, 0);
  page_size = sqlite3_column_int64 (stmt, 1);
  sqlite3_finalize (stmt);
  sqlite3_exec (db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
  sqlite3_close (db);

  int fd = open (f->db, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  g_autofree char *junk = g_malloc (page_size);
  memset (junk, 0x5a, page_size);
  g_assert_cmpint (pwrite (fd, junk, page_size, (root - 1) * page_size), ==, page_size);
  close (fd);

  g_autoptr (StrandIndex) index = open_index (f, FALSE);
  g_autofree char *after = answers (f, index);
  g_assert_cmpstr (after, ==, before);
  StrandIndexInfo info;
  strand_index_info (index, &info);
  g_assert_true (g_str_has_prefix (info.rebuild_reason, "the database is damaged"));
}

/* Cuts the log back to its first `keep` lines. */
static void
cut_log (Fixture *f, guint keep)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (f->log, &text, &len, NULL));
  const char *p = text;
  for (guint i = 0; i < keep; i++)
    p = strchr (p, '\n') + 1;
  g_assert_cmpint (truncate (f->log, p - text), ==, 0);
}

/* Torn-tail recovery cut the last records: the index no longer shows them. */
static void
test_log_cut_back (Fixture *f, gconstpointer data)
{
  {
    g_autoptr (StrandIndex) index = open_index (f, TRUE);
    g_autoptr (JsonNode) keep = NULL;
    lineage (index, "/results/cohort.vcf.gz", STRAND_LINEAGE_UP, -1, &keep);
  }
  strand_ledger_close (g_steal_pointer (&f->ledger));
  cut_log (f, (guint) f->seq_materialize - 1);
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  StrandIndexInfo info;
  strand_index_info (index, &info);
  g_assert_cmpstr (info.rebuild_reason, ==, "the log was cut back");
  g_assert_cmpuint (strand_index_last_seq (index), ==, f->seq_materialize - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) none = strand_lineage (index, "/results/cohort.vcf.gz", STRAND_LINEAGE_UP,
                                              -1, &error);
  g_assert_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_NOT_FOUND);
  g_autoptr (JsonNode) keep = NULL;
  g_autofree char *s = summary (lineage (index, sha (f, "cohort.vcf.gz"), STRAND_LINEAGE_DOWN, -1, &keep));
  g_assert_cmpstr (s, ==, "");

  /* Cut back and written on past where it ended: the record the index
   * ended with is not there any more. */
  g_autoptr (GError) open_error = NULL;
  f->ledger = strand_ledger_open (f->dir, f->key, NULL, &open_error);
  g_assert_no_error (open_error);
  for (int i = 0; i < 3; i++)
    event (f, "maintenance", T0 + (300 + i) * MINUTE);
  strand_index_close (g_steal_pointer (&index));
  strand_ledger_close (g_steal_pointer (&f->ledger));
  cut_log (f, (guint) f->seq_materialize - 3);
  f->ledger = strand_ledger_open (f->dir, f->key, NULL, &open_error);
  g_assert_no_error (open_error);
  for (int i = 0; i < 4; i++)
    event (f, "maintenance-again", T0 + (400 + i) * MINUTE);
  strand_ledger_close (g_steal_pointer (&f->ledger));
  index = open_index (f, TRUE);
  strand_index_info (index, &info);
  g_assert_cmpstr (info.rebuild_reason, ==, "the log no longer holds the last record indexed");
  g_assert_cmpuint (strand_index_last_seq (index), ==, f->seq_materialize + 1);

  /* Cut to nothing: an empty index, no error. */
  strand_index_close (g_steal_pointer (&index));
  g_assert_cmpint (truncate (f->log, 0), ==, 0);
  index = open_index (f, TRUE);
  g_assert_cmpuint (strand_index_last_seq (index), ==, 0);
  g_clear_error (&error);
  g_autoptr (JsonNode) gone = strand_lineage (index, "A", STRAND_LINEAGE_UP, -1, &error);
  g_assert_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_NOT_FOUND);
}

/* Records appended later are added, not rebuilt; a torn last line (a
 * record being written) waits for its newline. */
static void
test_appended_incrementally (Fixture *f, gconstpointer data)
{
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  g_assert_cmpuint (strand_index_last_seq (index), ==, 14);
  /* A second run re-aligns sample B. */
  guint64 seq = stage_run (f, &(Task){ "align", "B", "cpu-3", NULL, { "B/trimmed.fastq", "ref" },
                                       { "B/aligned-v2.bam" }, 1, T0 + 300 * MINUTE,
                                       T0 + 330 * MINUTE, "run-2" });
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_index_update (index, &error));
  g_assert_no_error (error);
  StrandIndexInfo info;
  strand_index_info (index, &info);
  g_assert_null (info.rebuild_reason);
  g_assert_cmpuint (strand_index_last_seq (index), ==, seq);
  g_autoptr (JsonNode) keep = NULL;
  g_autofree char *s = summary (lineage (index, "run-2", STRAND_LINEAGE_UP, 1, &keep));
  g_assert_cmpstr (s, ==, "align/B/1");
  g_autofree char *e = equipment_summary (index, "cpu-3", T0, T0 + 1000 * MINUTE);
  g_assert_cmpstr (e, ==, "align/B/1");

  /* Another process appends while the index is closed. */
  strand_index_close (g_steal_pointer (&index));
  guint64 seq2 = event (f, "run-end", T0 + 331 * MINUTE);
  index = open_index (f, FALSE);
  g_assert_cmpuint (strand_index_last_seq (index), ==, seq2);

  /* A torn line is not a record yet. */
  GStatBuf st;
  g_assert_cmpint (g_stat (f->log, &st), ==, 0);
  FILE *log = fopen (f->log, "a");
  fputs ("{\"dsse\":{\"payload\":\"eyJf", log);
  fclose (log);
  g_assert_true (strand_index_update (index, &error));
  g_assert_no_error (error);
  strand_index_info (index, &info);
  g_assert_null (info.rebuild_reason);
  g_assert_cmpuint (info.unreadable, ==, 0);
  g_assert_cmpuint (strand_index_last_seq (index), ==, seq2);

  g_assert_cmpint (truncate (f->log, st.st_size), ==, 0);

  /* And the index grown record by record answers as a rebuilt one does. */
  g_autofree char *grown = answers (f, index);
  g_assert_true (strand_index_rebuild (index, &error));
  g_assert_no_error (error);
  strand_index_info (index, &info);
  g_assert_cmpstr (info.rebuild_reason, ==, "asked to");
  g_autofree char *rebuilt = answers (f, index);
  g_assert_cmpstr (grown, ==, rebuilt);
}

static gboolean
is_live (GHashTable *live, Fixture *f, const char *name)
{
  return g_hash_table_contains (live, sha (f, name));
}

/* What gc must keep: every digest named, minus those collected since. */
static void
test_live_digests (Fixture *f, gconstpointer data)
{
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) live = strand_index_live_digests (index, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (live), ==, 16);
  g_assert_true (is_live (live, f, "A/reads.fastq"));

  StrandRecordFile removed[] = { { NULL, sha (f, "A/reads.fastq") },
                                 { NULL, sha (f, "A/summary.txt") } };
  StrandGcFacts gc = { .removed = removed, .n_removed = 2, .bytes = 100,
                       .time_us = T0 + 400 * MINUTE };
  append (f, strand_statement_gc (&gc));
  g_assert_true (strand_index_update (index, &error));
  g_clear_pointer (&live, g_hash_table_unref);
  live = strand_index_live_digests (index, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (live), ==, 14);
  g_assert_false (is_live (live, f, "A/reads.fastq"));
  g_assert_false (is_live (live, f, "A/summary.txt"));
  g_assert_true (is_live (live, f, "A/trimmed.fastq"));

  /* Lineage still knows it: the record of how it was made stays. */
  g_autoptr (JsonNode) keep = NULL;
  g_autofree char *s = summary (lineage (index, sha (f, "A/reads.fastq"), STRAND_LINEAGE_UP, -1, &keep));
  g_assert_cmpstr (s, ==, "ingest/A basecall/A/1");

  /* Made again later: live again. */
  stage_run (f, &(Task){ "basecall", "A", "gpu-1", NULL, { "A.pod5" }, { "A/reads.fastq" }, 1,
                         T0 + 500 * MINUTE, T0 + 530 * MINUTE, "run-3" });
  g_assert_true (strand_index_update (index, &error));
  g_clear_pointer (&live, g_hash_table_unref);
  live = strand_index_live_digests (index, &error);
  g_assert_true (is_live (live, f, "A/reads.fastq"));
  g_assert_false (is_live (live, f, "A/summary.txt"));
}

/* A line that is not a record (damage the verifier will name) does not
 * stop the index: it is counted and the rest answers. */
static void
test_unreadable_line (Fixture *f, gconstpointer data)
{
  strand_ledger_close (g_steal_pointer (&f->ledger));
  FILE *log = fopen (f->log, "a");
  fputs ("this is not a record\n", log);
  fputs ("{\"dsse\":{\"payload\":\"!!!\"},\"seq\":16}\n", log);
  fclose (log);
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  StrandIndexInfo info;
  strand_index_info (index, &info);
  g_assert_cmpuint (info.unreadable, ==, 2);
  g_assert_cmpuint (info.last_seq, ==, 16);
  g_autoptr (JsonNode) keep = NULL;
  g_autofree char *s = summary (lineage (index, "/data/B.pod5", STRAND_LINEAGE_DOWN, 1, &keep));
  g_assert_cmpstr (s, ==, "basecall/B/1");
  /* Reopened: the same, without a rebuild. */
  strand_index_close (g_steal_pointer (&index));
  index = open_index (f, FALSE);
  strand_index_info (index, &info);
  g_assert_cmpuint (info.unreadable, ==, 2);
}

/* Another log at the same path (a new ledger): rebuilt from it. */
static void
test_log_replaced (Fixture *f, gconstpointer data)
{
  {
    g_autoptr (StrandIndex) index = open_index (f, TRUE);
  }
  strand_ledger_close (g_steal_pointer (&f->ledger));
  g_unlink (f->log);
  g_autoptr (GError) error = NULL;
  f->ledger = strand_ledger_open (f->dir, f->key, NULL, &error);
  g_assert_no_error (error);
  ingest (f, "/data/C.pod5", "C.pod5", "C", T0);
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  StrandIndexInfo info;
  strand_index_info (index, &info);
  g_assert_cmpstr (info.rebuild_reason, ==, "the log was replaced");
  g_assert_cmpuint (strand_index_last_seq (index), ==, 1);
  g_autoptr (JsonNode) keep = NULL;
  g_autofree char *s = summary (lineage (index, "C", STRAND_LINEAGE_UP, -1, &keep));
  g_assert_cmpstr (s, ==, "ingest/C");
}

/* Names with quotes, backslashes and non-ASCII letters survive the trip
 * through JSON escapes and back. */
static void
test_names_with_escapes (Fixture *f, gconstpointer data)
{
  const char *path = "/data/Probe \"7\" \\ Ünïcødé 𝄞\ttab.fastq";
  ingest (f, path, "odd", "S\"1", T0 + 600 * MINUTE);
  g_autoptr (StrandIndex) index = open_index (f, TRUE);
  g_autoptr (JsonNode) keep = NULL;
  JsonObject *o = lineage (index, path, STRAND_LINEAGE_UP, -1, &keep);
  JsonObject *e = json_array_get_object_element (json_object_get_array_member (o, "entities"), 0);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (e, "names"), 0), ==,
                   path);
  g_assert_cmpstr (json_object_get_string_member (e, "sample"), ==, "S\"1");
  g_autoptr (JsonNode) keep2 = NULL;
  g_autofree char *s = summary (lineage (index, "S\"1", STRAND_LINEAGE_DOWN, -1, &keep2));
  g_assert_cmpstr (s, ==, "ingest/S\"1");
}

/* The record reader against json-glib and the clock, on the odd cases. */
static void
test_reader (void)
{
  g_autoptr (LinReader) r = lin_reader_new ();
  LinRecord rec;
  g_autoptr (GError) error = NULL;
  /* A payload with whitespace, \/ escapes and a \u escape in a key. */
  const char *statement =
      "{ \"_type\" : \"https://in-toto.io/Statement/v1\", \"predicateType\":"
      " \"urn:strand:record:ingest:v1\", \"subject\": [ {\"name\": \"\\/x\\/y\", \"digest\":"
      " {\"sha256\": \"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "\"}}],"
      " \"predicate\": {\"p\\u0061th\": \"\\/x\\/y\", \"size\": 12, \"time\":"
      " \"2026-11-27T09:00:00.5+01:00\", \"sample\": \"\\ud834\\udd1e\", \"n\": [1.5e3, -0, true,"
      " false, null, {}]}}";
  g_autofree char *b64 = g_base64_encode ((const guchar *) statement, strlen (statement));
  g_autofree char *line = g_strdup_printf ("{\"dsse\": {\"payload\": \"%s\"}, \"seq\": 1}", b64);
  g_assert_true (lin_reader_parse (r, line, strlen (line), &rec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rec.kind, ==, LIN_KIND_INGEST);
  g_assert_cmpstr (rec.path, ==, "/x/y");
  g_assert_cmpint (rec.size, ==, 12);
  g_assert_cmpstr (rec.sample, ==, "𝄞");
  g_assert_cmpint (rec.started, ==, T0 + 500000);
  g_assert_cmpuint (rec.generated->len, ==, 1);
  g_assert_cmpstr (g_array_index (rec.generated, LinRef, 0).name, ==, "/x/y");

  const char *bad[] = {
    "", "{", "[1,]", "{\"dsse\":{\"payload\":\"YQ\"}}", "{\"dsse\":{\"payload\":\"YWJj\"}}",
    "{\"dsse\":{\"payload\":1}}", "{\"a\":\"\\x\"}", "{\"a\":01x}", "\"unterminated",
    "{\"dsse\":{\"payload\":\"e30=\"}} trailing",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_clear_error (&error);
      g_assert_false (lin_reader_parse (r, bad[i], strlen (bad[i]), &rec, &error));
      g_assert_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_CORRUPT);
    }
  /* Nesting past the cap is an error, not a stack overflow. */
  g_autoptr (GString) deep = g_string_new (NULL);
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  g_clear_error (&error);
  g_assert_false (lin_reader_parse (r, deep->str, deep->len, &rec, &error));
  /* "{}" decodes but is not a statement of a known kind: kept as other. */
  g_clear_error (&error);
  g_assert_true (lin_reader_parse (r, "{\"dsse\":{\"payload\":\"e30=\"}}", 27, &rec, &error));
  g_assert_cmpint (rec.kind, ==, LIN_KIND_OTHER);

  const char *times[] = { "2026-11-27T10:00:00Z", "2026-11-27T10:00:00.123456Z",
                          "2026-11-27T10:00:00.1Z", "2026-11-27T10:00:00-05:30",
                          "1969-12-31T23:59:59Z", "2024-02-29T12:00:00.999999999+00:00",
                          "2026-11-27 10:00:00Z" };
  for (guint i = 0; i < G_N_ELEMENTS (times); i++)
    {
      gint64 ours = 0, clock = 0;
      gboolean a = lin_parse_time (times[i], &ours);
      gboolean b = strand_clock_parse_rfc3339 (times[i], &clock);
      g_assert_cmpint (a, ==, b);
      if (a)
        g_assert_cmpint (ours, ==, clock);
    }

  gint64 ids[] = { 5, 6, 7, 1, 1000000000000, 3 };
  g_autoptr (GByteArray) packed = g_byte_array_new ();
  lin_ids_pack (packed, ids, G_N_ELEMENTS (ids));
  g_autoptr (GArray) back = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_assert_true (lin_ids_unpack (packed->data, packed->len, back));
  g_assert_cmpmem (back->data, back->len * sizeof (gint64), ids, sizeof ids);
  guint8 truncated[] = { 0x80 };
  g_assert_false (lin_ids_unpack (truncated, 1, back));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/lineage/up/digest", test_up_from_digest);
  ADD ("/lineage/down/path", test_down_from_path);
  ADD ("/lineage/sample-and-run", test_sample_and_run);
  ADD ("/lineage/depth-prefix-unknown", test_depth_prefix_unknown);
  ADD ("/lineage/ambiguous-prefix", test_ambiguous_prefix);
  ADD ("/lineage/equipment", test_equipment_window);
  ADD ("/lineage/live-digests", test_live_digests);
  ADD ("/lineage/names-with-escapes", test_names_with_escapes);
  ADD ("/index/rebuild/deleted", test_rebuild_when_deleted);
  ADD ("/index/rebuild/garbage", test_rebuild_when_garbage);
  ADD ("/index/rebuild/damaged-under-query", test_rebuild_when_damaged_under_query);
  ADD ("/index/rebuild/log-cut-back", test_log_cut_back);
  ADD ("/index/rebuild/log-replaced", test_log_replaced);
  ADD ("/index/appended", test_appended_incrementally);
  ADD ("/index/two-handles", test_two_handles);
  ADD ("/index/unreadable-line", test_unreadable_line);
  g_test_add_func ("/index/reader", test_reader);
  return g_test_run ();
}
