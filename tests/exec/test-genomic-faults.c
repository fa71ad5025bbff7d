/* The fault-class table of the genomic plugins: for every stage of the
 * germline pipeline (simulate-run, basecall, fastq-qc, bwa-index, align,
 * call, vcf-compare) and every error class it can meet, a small two-sample
 * run on the lambda phage genome with that fault injected (faults.h), and
 * the outcome the stage's policy promises: the attempts made, memory and
 * time escalated, the failed sample's outputs quarantined and its later
 * stages skipped, a per-run stage failing the whole run (or halting it) the
 * way its policy says, and every sample the fault did not reach ending with
 * the same output digests as one clean run that all cases share.
 *
 * After the table, bad inputs the plugins detect themselves, where other
 * tests leave a gap: a reference cut short (bwa-index and simulate-run, in
 * the pipeline), a bwa index missing a file (align), a BAM that is not one
 * (call). Damaged run folders (basecall), bad references (simulate-run),
 * corrupt FASTQ.gz (fastq-qc) and bad VCFs and BAM indices (vcf-compare,
 * call) are in tests/plugins-seq and tests/plugins-gen. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/wait.h>

#include "clock.h"
#include "equipment.h"
#include "faults.h"
#include "policy.h"
#include "runner.h"
#include "samples.h"
#include "test-run.h"
#include "test-util.h"
#include "validator.h"

#define LAMBDA "/usr/share/doc/bowtie2/examples/reference/lambda_virus.fa.gz"

/* The hang cases' time limit, for every task of their run: well above what
 * any stage takes on this data, sanitizers included. */
#define HANG_TIMEOUT_US (2 * G_USEC_PER_SEC)

/* ---- the table ----------------------------------------------------------------- */

typedef enum {
  RECOVERS,     /* the stage succeeds on a later attempt; the run completes, every
                   output equal to the clean run's */
  SAMPLE_FAILS, /* S1 stops: its task failed, what it made quarantined, its later
                   stages skipped; S2 and the per-run stages equal the clean run */
  EVERY_SAMPLE_FAILS, /* what every sample reads is damaged: each sample stops */
  RUN_FAILS,    /* a per-run stage failed for good: every sample's stages are
                   skipped, the independent per-run branch is untouched */
  HALTS,        /* no new task starts; once the cause is gone, a resumed run ends
                   with the clean run's outputs */
} Outcome;

/* How the case's run differs from the clean one, besides its faults. */
typedef enum {
  PLAIN = 0,
  TIME_LIMIT,     /* every task gets HANG_TIMEOUT_US */
  ONE_SEQUENCER,  /* an inventory with one sequencer, seq-a */
  TWO_SEQUENCERS, /* seq-a and seq-b */
} Setup;

typedef struct {
  const char *plugin;
  const char *stage;   /* its id in the pipeline */
  const char *what;    /* the error class (and a variant) */
  const char *faults;  /* STRAND_FAULTS spec */
  Setup setup;
  Outcome outcome;
  int attempts;        /* of the stage's task (S1's, for a per-sample stage) */
  double memory;       /* factor of the plugin's memory on the last attempt */
  double time;         /* factor of the time limit on the last attempt */
  const char *error_class; /* of the failed task, when it fails */
} FaultCase;

/* Policies (plugin rules, else the host's): transient retries, resource
 * retries with more memory and time, timeout (host) doubles time and
 * memory for a second attempt, crash (host) retries once, equipment (host) goes to other
 * equipment, storage (host) halts, integrity, config and internal (host)
 * fail the sample at once. A per-run stage has no sample of its own to
 * fail: when it fails for good, every sample stops. The sequencer and the
 * demultiplexer halt the run on bad input or configuration, and so does
 * bwa-index on a bad reference: a second try would read the same bytes. */
static const FaultCase table[] = {
  /* plugin        stage        class              injected fault                                           setup           outcome          attempts memory time  failed as */
  { "simulate-run", "sequencer", "transient",      "fail:stage=sequencer,class=transient,attempt=1",        PLAIN,          RECOVERS,           2, 1,    1 },
  { "simulate-run", "sequencer", "resource",       "fail:stage=sequencer,class=resource,attempt=1",         PLAIN,          RECOVERS,           2, 2,    1 },
  { "simulate-run", "sequencer", "resource-always", "fail:stage=sequencer,class=resource",                  PLAIN,          RUN_FAILS,          2, 2,    1, "resource" },
  { "simulate-run", "sequencer", "timeout",        "hang:stage=sequencer,attempt=1",                        TIME_LIMIT,     RECOVERS,           2, 2,    2 },
  { "simulate-run", "sequencer", "crash",          "crash:stage=sequencer,signal=SEGV",                     PLAIN,          RUN_FAILS,          2, 1,    1, "crash" },
  { "simulate-run", "sequencer", "invalid-input",  "fail:stage=sequencer,class=invalid-input",              PLAIN,          HALTS,              1, 1,    1, "invalid-input" },
  { "simulate-run", "sequencer", "config",         "fail:stage=sequencer,class=config",                     PLAIN,          HALTS,              1, 1,    1, "config" },
  { "simulate-run", "sequencer", "equipment",      "equipment-down:id=seq-a,at=+0",                         TWO_SEQUENCERS, RECOVERS,           2, 1,    1 },
  { "simulate-run", "sequencer", "equipment-last", "equipment-down:id=seq-a,at=+0",                         ONE_SEQUENCER,  RUN_FAILS,          1, 1,    1, "equipment" },
  { "simulate-run", "sequencer", "storage",        "fail:stage=sequencer,class=storage",                    PLAIN,          HALTS,              1, 1,    1, "storage" },
  { "simulate-run", "sequencer", "internal",       "fail:stage=sequencer,class=internal",                   PLAIN,          RUN_FAILS,          1, 1,    1, "internal" },

  { "basecall",     "demux",     "transient",      "fail:stage=demux,class=transient,attempt=1",            PLAIN,          RECOVERS,           2, 1,    1 },
  { "basecall",     "demux",     "resource",       "fail:stage=demux,class=resource,attempt=1",             PLAIN,          RECOVERS,           2, 2,    1 },
  { "basecall",     "demux",     "resource-always", "fail:stage=demux,class=resource",                      PLAIN,          RUN_FAILS,          2, 2,    1, "resource" },
  { "basecall",     "demux",     "timeout",        "hang:stage=demux,attempt=1",                            TIME_LIMIT,     RECOVERS,           2, 2,    2 },
  { "basecall",     "demux",     "crash",          "crash:stage=demux,signal=SEGV",                         PLAIN,          RUN_FAILS,          2, 1,    1, "crash" },
  { "basecall",     "demux",     "crash-once",     "crash:stage=demux,signal=ABRT,attempt=1",               PLAIN,          RECOVERS,           2, 1,    1 },
  { "basecall",     "demux",     "invalid-input",  "fail:stage=demux,class=invalid-input",                  PLAIN,          HALTS,              1, 1,    1, "invalid-input" },
  { "basecall",     "demux",     "config",         "fail:stage=demux,class=config",                         PLAIN,          HALTS,              1, 1,    1, "config" },
  { "basecall",     "demux",     "equipment",      "fail:stage=demux,class=equipment,attempt=1",            PLAIN,          RECOVERS,           2, 1,    1 },
  { "basecall",     "demux",     "storage",        "fail:stage=demux,class=storage",                        PLAIN,          HALTS,              1, 1,    1, "storage" },

  { "fastq-qc",     "qc",        "transient",      "fail:stage=qc,sample=S1,class=transient,attempt=1",     PLAIN,          RECOVERS,           2, 1,    1 },
  { "fastq-qc",     "qc",        "resource",       "fail:stage=qc,sample=S1,class=resource,attempt=1",      PLAIN,          RECOVERS,           2, 1.5,  1 },
  { "fastq-qc",     "qc",        "resource-always", "fail:stage=qc,sample=S1,class=resource",               PLAIN,          SAMPLE_FAILS,       3, 2.25, 1, "resource" },
  { "fastq-qc",     "qc",        "timeout",        "hang:stage=qc,sample=S1,attempt=1",                     TIME_LIMIT,     RECOVERS,           2, 2,    2 },
  { "fastq-qc",     "qc",        "crash",          "crash:stage=qc,sample=S1,signal=SEGV",                  PLAIN,          SAMPLE_FAILS,       2, 1,    1, "crash" },
  { "fastq-qc",     "qc",        "invalid-input",  "fail:stage=qc,sample=S1,class=invalid-input",           PLAIN,          SAMPLE_FAILS,       1, 1,    1, "invalid-input" },
  { "fastq-qc",     "qc",        "integrity",      "corrupt:stage=demux,bytes=2",                           PLAIN,          EVERY_SAMPLE_FAILS, 1, 1,    1, "integrity" },
  { "fastq-qc",     "qc",        "config",         "fail:stage=qc,sample=S1,class=config",                  PLAIN,          SAMPLE_FAILS,       1, 1,    1, "config" },
  { "fastq-qc",     "qc",        "equipment",      "fail:stage=qc,sample=S1,class=equipment,attempt=1",     PLAIN,          RECOVERS,           2, 1,    1 },
  { "fastq-qc",     "qc",        "storage",        "fail:stage=qc,sample=S1,class=storage",                 PLAIN,          HALTS,              1, 1,    1, "storage" },

  { "bwa-index",    "index",     "transient",      "fail:stage=index,class=transient,attempt=1",            PLAIN,          RECOVERS,           2, 1,    1 },
  { "bwa-index",    "index",     "resource",       "fail:stage=index,class=resource,attempt=1",             PLAIN,          RECOVERS,           2, 2,    1 },
  { "bwa-index",    "index",     "resource-always", "fail:stage=index,class=resource",                      PLAIN,          RUN_FAILS,          2, 2,    1, "resource" },
  { "bwa-index",    "index",     "timeout",        "hang:stage=index,attempt=1",                            TIME_LIMIT,     RECOVERS,           2, 2,    2 },
  { "bwa-index",    "index",     "crash",          "crash:stage=index,signal=SEGV",                         PLAIN,          RUN_FAILS,          2, 1,    1, "crash" },
  { "bwa-index",    "index",     "invalid-input",  "fail:stage=index,class=invalid-input",                  PLAIN,          HALTS,              1, 1,    1, "invalid-input" },
  { "bwa-index",    "index",     "equipment",      "fail:stage=index,class=equipment,attempt=1",            PLAIN,          RECOVERS,           2, 1,    1 },
  { "bwa-index",    "index",     "storage",        "fail:stage=index,class=storage",                        PLAIN,          HALTS,              1, 1,    1, "storage" },
  { "bwa-index",    "index",     "internal",       "fail:stage=index,class=internal",                       PLAIN,          RUN_FAILS,          1, 1,    1, "internal" },

  { "align",        "align",     "transient",      "fail:stage=align,sample=S1,class=transient,attempt=1",  PLAIN,          RECOVERS,           2, 1,    1 },
  { "align",        "align",     "resource",       "fail:stage=align,sample=S1,class=resource,attempt=1",   PLAIN,          RECOVERS,           2, 1.5,  1 },
  { "align",        "align",     "resource-always", "fail:stage=align,sample=S1,class=resource",            PLAIN,          SAMPLE_FAILS,       3, 2.25, 1, "resource" },
  { "align",        "align",     "timeout",        "hang:stage=align,sample=S1,attempt=1",                  TIME_LIMIT,     RECOVERS,           2, 2,    2 },
  { "align",        "align",     "crash",          "crash:stage=align,sample=S1,signal=SEGV",               PLAIN,          SAMPLE_FAILS,       2, 1,    1, "crash" },
  { "align",        "align",     "invalid-input",  "fail:stage=align,sample=S1,class=invalid-input",        PLAIN,          SAMPLE_FAILS,       1, 1,    1, "invalid-input" },
  { "align",        "align",     "integrity",      "corrupt:stage=qc,sample=S1,bytes=2",                    PLAIN,          SAMPLE_FAILS,       1, 1,    1, "integrity" },
  { "align",        "align",     "config",         "fail:stage=align,sample=S1,class=config",               PLAIN,          SAMPLE_FAILS,       1, 1,    1, "config" },
  { "align",        "align",     "storage",        "fail:stage=align,sample=S1,class=storage",              PLAIN,          HALTS,              1, 1,    1, "storage" },

  { "call",         "call",      "transient",      "fail:stage=call,sample=S1,class=transient,attempt=1",   PLAIN,          RECOVERS,           2, 1,    1 },
  { "call",         "call",      "resource",       "fail:stage=call,sample=S1,class=resource,attempt=1",    PLAIN,          RECOVERS,           2, 1.5,  1 },
  { "call",         "call",      "resource-always", "fail:stage=call,sample=S1,class=resource",             PLAIN,          SAMPLE_FAILS,       3, 2.25, 1, "resource" },
  { "call",         "call",      "timeout",        "hang:stage=call,sample=S1,attempt=1",                   TIME_LIMIT,     RECOVERS,           2, 2,    2 },
  { "call",         "call",      "crash",          "crash:stage=call,sample=S1,signal=SEGV",                PLAIN,          SAMPLE_FAILS,       2, 1,    1, "crash" },
  { "call",         "call",      "invalid-input",  "fail:stage=call,sample=S1,class=invalid-input",         PLAIN,          SAMPLE_FAILS,       1, 1,    1, "invalid-input" },
  { "call",         "call",      "integrity",      "corrupt:stage=align,sample=S1,bytes=2",                 PLAIN,          SAMPLE_FAILS,       1, 1,    1, "integrity" },
  { "call",         "call",      "internal",       "fail:stage=call,sample=S1,class=internal",              PLAIN,          SAMPLE_FAILS,       1, 1,    1, "internal" },

  { "vcf-compare",  "compare",   "transient",      "fail:stage=compare,sample=S1,class=transient,attempt=1", PLAIN,         RECOVERS,           2, 1,    1 },
  { "vcf-compare",  "compare",   "resource",       "fail:stage=compare,sample=S1,class=resource,attempt=1", PLAIN,          RECOVERS,           2, 2,    1 },
  { "vcf-compare",  "compare",   "resource-always", "fail:stage=compare,sample=S1,class=resource",          PLAIN,          SAMPLE_FAILS,       2, 2,    1, "resource" },
  { "vcf-compare",  "compare",   "timeout",        "hang:stage=compare,sample=S1,attempt=1",                TIME_LIMIT,     RECOVERS,           2, 2,    2 },
  { "vcf-compare",  "compare",   "crash",          "crash:stage=compare,sample=S1,signal=SEGV",             PLAIN,          SAMPLE_FAILS,       2, 1,    1, "crash" },
  { "vcf-compare",  "compare",   "invalid-input",  "fail:stage=compare,sample=S1,class=invalid-input",      PLAIN,          SAMPLE_FAILS,       1, 1,    1, "invalid-input" },
  { "vcf-compare",  "compare",   "integrity",      "corrupt:stage=call,sample=S1,bytes=2",                  PLAIN,          SAMPLE_FAILS,       1, 1,    1, "integrity" },
  { "vcf-compare",  "compare",   "storage",        "fail:stage=compare,sample=S1,class=storage",            PLAIN,          HALTS,              1, 1,    1, "storage" },
};

/* ---- the pipeline and its clean run --------------------------------------------- */

/* germline-lambda.json with a tenth of its data: 2x coverage of 50-cycle
 * reads on one tile, and QC thresholds that such a run passes. */
static const char pipeline_template[] =
    "{\"name\": \"germline-tiny\","
    " \"inputs\": [{\"name\": \"reference\", \"formats\": \"fasta\", \"per_run\": true,"
    "               \"path\": \"@REFERENCE@\"}],"
    " \"stages\": ["
    "  {\"id\": \"sequencer\", \"plugin\": \"simulate-run\", \"params\": {\"seed\": 2026,"
    "   \"coverage\": 2, \"read_length\": 50, \"tiles\": 1, \"snv_rate\": 0.002, \"indel_rate\": 0.0002}},"
    "  {\"id\": \"demux\", \"plugin\": \"basecall\", \"params\": {\"mismatches\": 1}},"
    "  {\"id\": \"qc\", \"plugin\": \"fastq-qc\", \"params\": {\"min_reads\": 50, \"trim\": true}},"
    "  {\"id\": \"index\", \"plugin\": \"bwa-index\"},"
    "  {\"id\": \"align\", \"plugin\": \"align\"},"
    "  {\"id\": \"call\", \"plugin\": \"call\"},"
    "  {\"id\": \"compare\", \"plugin\": \"vcf-compare\"}],"
    " \"edges\": ["
    "  {\"from\": \"@reference\", \"to\": \"sequencer.reference\"},"
    "  {\"from\": \"sequencer.run\", \"to\": \"demux.run\"},"
    "  {\"from\": \"demux.read1\", \"to\": \"qc.reads\"},"
    "  {\"from\": \"demux.read2\", \"to\": \"qc.reads\"},"
    "  {\"from\": \"@reference\", \"to\": \"index.reference\"},"
    "  {\"from\": \"qc.trimmed\", \"to\": \"align.reads\"},"
    "  {\"from\": \"index.index\", \"to\": \"align.reference\"},"
    "  {\"from\": \"index.index\", \"to\": \"call.reference\"},"
    "  {\"from\": \"align.bam\", \"to\": \"call.bam\"},"
    "  {\"from\": \"align.index\", \"to\": \"call.index\"},"
    "  {\"from\": \"call.vcf\", \"to\": \"compare.vcf\"},"
    "  {\"from\": \"sequencer.truth\", \"to\": \"compare.truth\"}],"
    " \"outputs\": [\"demux.stats\", \"demux.undetermined\", \"qc.report\", \"call.vcf\","
    "  \"call.index\", \"compare.report\", \"sequencer.truth_index\"]}";

static const char samples_json[] =
    "{\"samples\": ["
    " {\"id\": \"S1\", \"meta\": {\"index\": \"ATTACTCG\", \"index2\": \"AGGCTATA\", \"library\": \"lib1\"}},"
    " {\"id\": \"S2\", \"meta\": {\"index\": \"TCCGGAGA\", \"index2\": \"GCCTCTAT\", \"library\": \"lib2\"}}]}";

static const char *const sample_ids[] = { NULL, "S1", "S2" }; /* NULL: the per-run stages */

static char *tmp;
static StrandRegistry *registry;
static StrandPipeline *pipeline;
static GPtrArray *samples;
static StrandRun *clean;
static char *clean_store;

static StrandPipeline *
pipeline_with_reference (const char *reference)
{
  g_autofree char *json = strand_test_subst (pipeline_template, "@REFERENCE@", reference);
  return strand_test_pipeline (registry, json, samples);
}

/* "sha256,..." of one task's outputs. */
static char *
task_digests (StrandTaskRecord *t)
{
  GString *s = g_string_new (NULL);
  for (guint k = 0; t->result && k < t->result->outputs->len; k++)
    g_string_append_printf (s, "%s,", ((StrandTaskOutput *) t->result->outputs->pdata[k])->sha256);
  return g_string_free (s, FALSE);
}

static void
assert_same_as_clean (StrandRun *run, const char *sample, const char *label)
{
  g_autofree char *want = strand_test_digests (clean, sample);
  g_autofree char *got = strand_test_digests (run, sample);
  if (strcmp (want, got) != 0)
    g_error ("%s: %s's outputs differ from the clean run's:\n  clean: %s\n  this:  %s", label,
             sample ? sample : "the run", want, got);
}

/* The run's status, or every task's when it is not the one expected. */
static void
assert_run_status (StrandRun *run, const char *want, const char *label)
{
  if (strcmp (run->status, want) == 0)
    return;
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      StrandTaskRecord *t = run->tasks->pdata[i];
      g_string_append_printf (s, "\n  %s/%s %s %s", t->sample_id ? t->sample_id : "(run)", t->stage_id,
                              t->status, t->result && t->result->message ? t->result->message : "");
    }
  g_error ("%s: the run is %s, not %s:%s", label, run->status, want, s->str);
}

static char *
decisions_text (StrandTaskRecord *t)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < t->decisions->len; i++)
    g_string_append_printf (s, "\n    %s", (char *) t->decisions->pdata[i]);
  if (t->result && t->result->message)
    g_string_append_printf (s, "\n    last: %s", t->result->message);
  return g_strdup (s->str);
}

/* Every task of the run downstream of `stage`, for `sample` (NULL: all). */
static gboolean
is_downstream (const char *stage, const char *of)
{
  /* The germline pipeline's order of dependence. */
  static const char *const chains[][6] = {
    { "sequencer", "demux", "qc", "align", "call", "compare" },
    { "index", "align", "call", "compare", NULL, NULL },
  };
  if (strcmp (of, "sequencer") == 0 && strcmp (stage, "compare") == 0)
    return TRUE; /* compare reads the sequencer's truth too */
  for (guint c = 0; c < G_N_ELEMENTS (chains); c++)
    {
      gboolean after = FALSE;
      for (guint k = 0; k < 6 && chains[c][k]; k++)
        {
          if (after && strcmp (chains[c][k], stage) == 0)
            return TRUE;
          if (strcmp (chains[c][k], of) == 0)
            after = TRUE;
        }
    }
  return FALSE;
}

static StrandInventory *
sequencers (guint n)
{
  g_autofree char *text = g_strdup_printf (
      "{\"equipment\": [{\"id\": \"seq-a\", \"class\": \"sequencer\", \"capacity\": 1}%s]}",
      n > 1 ? ", {\"id\": \"seq-b\", \"class\": \"sequencer\", \"capacity\": 1}" : "");
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandInventory *inv = strand_inventory_load_data (text, strlen (text), "sequencers.json", problems);
  g_assert_cmpuint (problems->len, ==, 0);
  return inv;
}

/* The failed task's sample stops: what it made before is quarantined, its
 * failed attempt's folder moved to quarantine/, what follows skipped. */
static void
assert_sample_stopped (StrandRun *run, StrandTaskRecord *failed, const char *sample)
{
  g_assert_true (strand_test_has_decision (failed, "fail-sample"));
  for (guint i = 0; i < run->tasks->len; i++)
    {
      StrandTaskRecord *o = run->tasks->pdata[i];
      if (g_strcmp0 (o->sample_id, sample) != 0 || o == failed)
        continue;
      if (strcmp (o->status, "ok") == 0)
        g_assert_true (o->quarantined);
      else if (is_downstream (o->stage_id, failed->stage_id))
        g_assert_cmpstr (o->status, ==, "skipped");
    }
  g_autofree char *leaf = g_strdup_printf ("%s.%d", failed->stage_id, failed->attempts);
  g_autofree char *q = g_build_filename (run->run_dir, "quarantine", sample, leaf, NULL);
  if (!g_file_test (q, G_FILE_TEST_IS_DIR))
    g_error ("%s: the failed attempt was not quarantined", q);
}

static void
assert_verifies (const char *store, const char *label)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  if (!strand_provenance_verify (store, problems, NULL, NULL))
    g_error ("%s: verify: %s", label, ((StrandProblem *) problems->pdata[0])->message);
}

static void
test_fault_case (gconstpointer data)
{
  const FaultCase *c = data;
  if (clean == NULL)
    {
      g_test_skip ("the lambda phage reference (Debian: bowtie2-examples) is not installed");
      return;
    }
  g_autofree char *label = g_strdup_printf ("%s / %s (%s)", c->plugin, c->what, c->faults);
  g_autofree char *store = strand_test_fresh_dir (tmp, c->stage);
  g_autoptr (StrandInventory) inventory =
      c->setup == ONE_SEQUENCER ? sequencers (1) : c->setup == TWO_SEQUENCERS ? sequencers (2) : NULL;
  StrandRunOptions opt = {
    .task_timeout_us = c->setup == TIME_LIMIT ? HANG_TIMEOUT_US : 0,
    .inventory = inventory,
  };
  g_autoptr (StrandRun) run = strand_test_run (registry, pipeline, samples, store, c->faults, &opt);

  const StrandStage *stage = strand_pipeline_find_stage (pipeline, c->stage);
  gboolean per_run = (stage->resolved->flags & STRAND_STAGE_PER_RUN) != 0;
  const char *sample = per_run ? NULL : "S1";
  StrandTaskRecord *t = strand_test_task (run, sample, c->stage);
  g_autofree char *why = decisions_text (t);
  if (t->attempts != c->attempts)
    g_error ("%s: %d attempts, expected %d:%s", label, t->attempts, c->attempts, why);
  g_test_message ("%s: %s after %d attempts:%s", label, t->status, t->attempts, why);

  /* Escalation: the last attempt's limits. */
  guint64 memory = stage->resolved->resources.memory_bytes;
  g_assert_cmpuint (t->memory_bytes, ==, (guint64) ((double) memory * c->memory));
  if (c->setup == TIME_LIMIT)
    g_assert_cmpint (t->timeout_us, ==, (gint64) ((double) HANG_TIMEOUT_US * c->time));

  switch (c->outcome)
    {
    case RECOVERS:
      g_assert_cmpstr (t->status, ==, "ok");
      assert_run_status (run, "complete", label);
      g_assert_cmpuint (t->decisions->len, ==, (guint) c->attempts - 1);
      for (guint s = 0; s < G_N_ELEMENTS (sample_ids); s++)
        assert_same_as_clean (run, sample_ids[s], label);
      if (c->setup == TWO_SEQUENCERS)
        {
          /* Not run again on the sequencer that failed. */
          g_assert_true (strand_test_has_decision (t, "reroute"));
          g_assert_cmpstr (t->equipment, ==, "seq-b");
        }
      break;

    case SAMPLE_FAILS:
      g_assert_cmpstr (t->status, ==, "failed");
      g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, c->error_class);
      assert_run_status (run, "failed", label);
      assert_sample_stopped (run, t, "S1");
      assert_same_as_clean (run, NULL, label);
      assert_same_as_clean (run, "S2", label);
      break;

    case EVERY_SAMPLE_FAILS:
      assert_run_status (run, "failed", label);
      for (guint s = 1; s < G_N_ELEMENTS (sample_ids); s++)
        {
          StrandTaskRecord *st = strand_test_task (run, sample_ids[s], c->stage);
          g_assert_cmpstr (st->status, ==, "failed");
          g_assert_cmpint (st->attempts, ==, c->attempts);
          g_assert_cmpstr (strand_error_class_name (st->result->error_class), ==, c->error_class);
          assert_sample_stopped (run, st, sample_ids[s]);
        }
      break;

    case RUN_FAILS:
      g_assert_cmpstr (t->status, ==, "failed");
      g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, c->error_class);
      assert_run_status (run, "failed", label);
      g_assert_false (strand_test_has_decision (t, "halt"));
      /* What depends on it did not run; the rest ran as in the clean run. */
      for (guint i = 0; i < run->tasks->len; i++)
        {
          StrandTaskRecord *o = run->tasks->pdata[i];
          if (o == t)
            continue;
          if (is_downstream (o->stage_id, c->stage))
            g_assert_cmpstr (o->status, ==, "skipped");
          else
            {
              g_assert_cmpstr (o->status, ==, "ok");
              g_assert_false (o->quarantined);
              g_autofree char *want = task_digests (strand_test_task (clean, o->sample_id, o->stage_id));
              g_autofree char *got = task_digests (o);
              g_assert_cmpstr (got, ==, want);
            }
        }
      break;

    case HALTS:
      {
        g_assert_cmpstr (t->status, ==, "failed");
        g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, c->error_class);
        assert_run_status (run, "halted", label);
        g_assert_true (strand_test_has_decision (t, "halt"));
        /* Nothing downstream started. */
        for (guint i = 0; i < run->tasks->len; i++)
          {
            StrandTaskRecord *o = run->tasks->pdata[i];
            if (is_downstream (o->stage_id, c->stage) &&
                (sample == NULL || g_strcmp0 (o->sample_id, sample) == 0))
              g_assert_true (strcmp (o->status, "ok") != 0 && strcmp (o->status, "failed") != 0);
          }
        /* The cause gone, resuming finishes the run as the clean one,
         * reusing what was done before the halt. */
        StrandRunOptions resume = { .resume = TRUE };
        g_autoptr (StrandRun) again = strand_test_run (registry, pipeline, samples, store, NULL, &resume);
        assert_run_status (again, "complete", label);
        g_assert_cmpuint (again->cached, ==, run->succeeded);
        for (guint s = 0; s < G_N_ELEMENTS (sample_ids); s++)
          assert_same_as_clean (again, sample_ids[s], label);
        break;
      }
    }

  if (strcmp (c->what, "integrity") == 0)
    {
      /* verify names the damaged objects; a resumed run makes them again,
       * and then everything is as in the clean run. */
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      g_assert_false (strand_provenance_verify (store, problems, NULL, NULL));
      g_assert_cmpuint (problems->len, >=, 1);
      for (guint i = 0; i < problems->len; i++)
        g_assert_cmpstr (((StrandProblem *) problems->pdata[i])->code, ==, "object-damaged");
      StrandRunOptions resume = { .resume = TRUE };
      g_autoptr (StrandRun) again = strand_test_run (registry, pipeline, samples, store, NULL, &resume);
      assert_run_status (again, "complete", label);
      for (guint s = 0; s < G_N_ELEMENTS (sample_ids); s++)
        assert_same_as_clean (again, sample_ids[s], label);
    }
  /* Whatever happened, the records and objects verify. */
  assert_verifies (store, label);
}

/* ---- bad inputs the plugins find themselves --------------------------------------- */

/* `strand plugins run NAME ARGS...`: its exit status and its one task. */
static int
plugins_run (const char *store, JsonObject **task, const char *name, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *head[] = { STRAND_CLI, "plugins", "run", name };
  for (guint i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (argv, (char *) head[i]);
  va_list ap;
  va_start (ap, name);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  const char *tail[] = { "-P", STRAND_PLUGIN_BUILD_DIR, "--store", store, "--json", NULL };
  for (guint i = 0; i < G_N_ELEMENTS (tail); i++)
    g_ptr_array_add (argv, (char *) tail[i]);
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_unsetenv (env, "STRAND_FAULTS");
  int status = 0;
  g_autofree char *out = NULL, *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err, &status, NULL));
  if (g_test_verbose ())
    g_printerr ("%s%s", out, err);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (parser, out, -1, &error))
    g_error ("plugins run %s: %s\n%s%s", name, error->message, out, err);
  JsonArray *tasks = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                   "tasks");
  g_assert_cmpuint (json_array_get_length (tasks), ==, 1);
  *task = json_object_ref (json_array_get_object_element (tasks, 0));
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static void
assert_task_failed (JsonObject *task, const char *error_class, const char *needle)
{
  g_assert_cmpstr (json_object_get_string_member (task, "status"), ==, "failed");
  g_assert_cmpstr (json_object_get_string_member (task, "error_class"), ==, error_class);
  const char *msg = json_object_get_string_member (task, "message");
  if (strstr (msg, needle) == NULL)
    g_error ("message '%s' does not say '%s'", msg, needle);
}

/* A reference cut short: the per-run readers of it (the sequencer,
 * bwa-index) say so naming the file, and their policy halts the run before
 * any sample's stage starts. */
static void
test_truncated_reference (void)
{
  if (clean == NULL)
    {
      g_test_skip ("the lambda phage reference (Debian: bowtie2-examples) is not installed");
      return;
    }
  g_autofree char *dir = strand_test_fresh_dir (tmp, "cut-reference");
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (LAMBDA, &bytes, &len, NULL));
  g_autofree char *cut = g_build_filename (dir, "lambda_cut.fa.gz", NULL);
  g_assert_true (g_file_set_contents (cut, bytes, (gssize) len / 2, NULL));
  g_autoptr (StrandPipeline) p = pipeline_with_reference (cut);
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autoptr (StrandRun) run = strand_test_run (registry, p, samples, store, NULL, NULL);
  assert_run_status (run, "halted", "truncated reference");
  guint failed = 0;
  for (guint i = 0; i < run->tasks->len; i++)
    {
      StrandTaskRecord *t = run->tasks->pdata[i];
      if (t->sample_id != NULL)
        {
          g_assert_true (strcmp (t->status, "ok") != 0 && strcmp (t->status, "failed") != 0);
          continue;
        }
      if (strcmp (t->status, "failed") != 0)
        continue;
      failed++;
      g_assert_cmpint (t->attempts, ==, 1);
      g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, "invalid-input");
      g_assert_true (strand_test_has_decision (t, "halt"));
      if (strstr (t->result->message, "lambda_cut.fa.gz") == NULL)
        g_error ("%s: '%s' does not name the file", t->stage_id, t->result->message);
    }
  g_assert_cmpuint (failed, >=, 1);
  assert_verifies (store, "truncated reference");

  /* Whichever of the two starts first halts the run: bwa-index on its own. */
  g_autofree char *in = g_strconcat ("reference=", cut, NULL);
  g_autoptr (JsonObject) task = NULL;
  g_assert_cmpint (plugins_run (store, &task, "bwa-index", "-i", in, NULL), ==, 1);
  assert_task_failed (task, "invalid-input", "lambda_cut.fa.gz");
}

/* The clean run's stored output of a task, by port. */
static const char *
clean_output (const char *sample, const char *stage, const char *port)
{
  StrandTaskRecord *t = strand_test_task (clean, sample, stage);
  for (guint k = 0; k < t->result->outputs->len; k++)
    {
      const StrandTaskOutput *o = t->result->outputs->pdata[k];
      if (strcmp (o->port, port) == 0)
        return o->path;
    }
  g_error ("%s/%s has no output '%s'", sample, stage, port);
}

/* A directory as bwa-index makes it: reference.fa, its .fai and bwa's
 * files, built here by the tools themselves. */
static char *
bwa_index_dir (const char *parent)
{
  char *index = g_build_filename (parent, "lambda", NULL);
  g_assert_cmpint (g_mkdir (index, 0755), ==, 0);
  g_autofree char *fasta = g_build_filename (index, "reference.fa", NULL);
  g_autofree char *plain = NULL;
  g_assert_cmpint (strand_test_spawn (NULL, NULL, &plain, NULL, "gzip", "-dc", LAMBDA, NULL), ==, 0);
  g_assert_true (g_file_set_contents (fasta, plain, -1, NULL));
  g_assert_cmpint (strand_test_spawn (NULL, NULL, NULL, NULL, "bwa", "index", fasta, NULL), ==, 0);
  g_assert_cmpint (strand_test_spawn (NULL, NULL, NULL, NULL, "samtools", "faidx", fasta, NULL), ==, 0);
  return index;
}

/* A pipeline of one stage reading a bwa index directory given to the run
 * and per-sample files from `sheet` (JSON). */
static StrandRun *
run_one_stage (const char *dir, const char *stage_json, const char *index, const char *sheet)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (GPtrArray) these = strand_samples_load_data (sheet, strlen (sheet), "sheet.json", dir,
                                                          problems);
  g_assert_nonnull (these);
  g_autofree char *json = strand_test_subst (stage_json, "@INDEX@", index);
  g_autoptr (StrandPipeline) p = strand_test_pipeline (registry, json, these);
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  StrandRun *run = strand_test_run (registry, p, these, store, NULL, NULL);
  assert_verifies (store, "one stage");
  return run;
}

/* A bwa index directory missing its .bwt: align says which file, as bad
 * input, before running bwa; every sample reads that index, and each one
 * stops after one attempt. */
static void
test_align_index_missing (void)
{
  if (clean == NULL)
    {
      g_test_skip ("the lambda phage reference (Debian: bowtie2-examples) is not installed");
      return;
    }
  g_autofree char *dir = strand_test_fresh_dir (tmp, "align-index");
  g_autofree char *index = bwa_index_dir (dir);
  g_autofree char *bwt = g_build_filename (index, "reference.fa.bwt", NULL);
  g_assert_cmpint (g_unlink (bwt), ==, 0);
  g_autofree char *sheet = g_strdup_printf (
      "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"reads\": [\"%s\"]}},"
      " {\"id\": \"S2\", \"inputs\": {\"reads\": [\"%s\"]}}]}",
      clean_output ("S1", "qc", "trimmed"), clean_output ("S2", "qc", "trimmed"));
  g_autoptr (StrandRun) run = run_one_stage (dir,
      "{\"name\": \"align-only\","
      " \"inputs\": [{\"name\": \"index\", \"formats\": \"bwa-index\", \"per_run\": true, \"path\": \"@INDEX@\"},"
      "            {\"name\": \"reads\", \"formats\": \"fastq\"}],"
      " \"stages\": [{\"id\": \"align\", \"plugin\": \"align\"}],"
      " \"edges\": [{\"from\": \"@index\", \"to\": \"align.reference\"}, {\"from\": \"@reads\", \"to\": \"align.reads\"}],"
      " \"outputs\": [\"align.bam\", \"align.index\"]}", index, sheet);
  assert_run_status (run, "failed", "align without .bwt");
  for (guint s = 1; s < G_N_ELEMENTS (sample_ids); s++)
    {
      StrandTaskRecord *t = strand_test_task (run, sample_ids[s], "align");
      g_assert_cmpstr (t->status, ==, "failed");
      g_assert_cmpint (t->attempts, ==, 1);
      g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, "invalid-input");
      g_assert_true (strand_test_has_decision (t, "fail-sample"));
      if (strstr (t->result->message, "the index file reference.fa.bwt is missing") == NULL)
        g_error ("'%s' does not name the missing file", t->result->message);
    }
}

/* A "BAM" that is S1's FASTQ: call says it is not a BAM, as bad input, and
 * S1 stops after one attempt; S2, given its real BAM, gets the clean run's
 * calls. */
static void
test_call_not_a_bam (void)
{
  if (clean == NULL)
    {
      g_test_skip ("the lambda phage reference (Debian: bowtie2-examples) is not installed");
      return;
    }
  g_autofree char *dir = strand_test_fresh_dir (tmp, "call-not-bam");
  g_autofree char *index = bwa_index_dir (dir);
  g_autofree char *fake = g_build_filename (dir, "S1.bam", NULL);
  g_autofree char *fastq = NULL;
  g_assert_cmpint (strand_test_spawn (NULL, NULL, &fastq, NULL, "gzip", "-dc",
                                      clean_output ("S1", "qc", "trimmed"), NULL), ==, 0);
  g_assert_true (g_file_set_contents (fake, fastq, -1, NULL));
  g_autofree char *sheet = g_strdup_printf (
      "{\"samples\": [{\"id\": \"S1\", \"inputs\": {\"bam\": [\"%s\"], \"bai\": [\"%s\"]}},"
      " {\"id\": \"S2\", \"inputs\": {\"bam\": [\"%s\"], \"bai\": [\"%s\"]}}]}",
      fake, clean_output ("S1", "align", "index"), clean_output ("S2", "align", "bam"),
      clean_output ("S2", "align", "index"));
  g_autoptr (StrandRun) run = run_one_stage (dir,
      "{\"name\": \"call-only\","
      " \"inputs\": [{\"name\": \"index\", \"formats\": \"bwa-index\", \"per_run\": true, \"path\": \"@INDEX@\"},"
      "            {\"name\": \"bam\", \"formats\": \"bam\"}, {\"name\": \"bai\", \"formats\": \"bai\"}],"
      " \"stages\": [{\"id\": \"call\", \"plugin\": \"call\"}],"
      " \"edges\": [{\"from\": \"@index\", \"to\": \"call.reference\"}, {\"from\": \"@bam\", \"to\": \"call.bam\"},"
      "             {\"from\": \"@bai\", \"to\": \"call.index\"}],"
      " \"outputs\": [\"call.vcf\", \"call.index\"]}", index, sheet);
  assert_run_status (run, "failed", "call on a FASTQ");
  StrandTaskRecord *t = strand_test_task (run, "S1", "call");
  g_assert_cmpstr (t->status, ==, "failed");
  g_assert_cmpint (t->attempts, ==, 1);
  g_assert_cmpstr (strand_error_class_name (t->result->error_class), ==, "invalid-input");
  g_assert_true (strand_test_has_decision (t, "fail-sample"));
  if (strstr (t->result->message, "not a BAM file") == NULL)
    g_error ("'%s' does not say it is not a BAM", t->result->message);
  StrandTaskRecord *s2 = strand_test_task (run, "S2", "call");
  g_assert_cmpstr (s2->status, ==, "ok");
  g_autofree char *want = task_digests (strand_test_task (clean, "S2", "call"));
  g_autofree char *got = task_digests (s2);
  g_assert_cmpstr (got, ==, want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The stores live in memory where there is a tmpfs: the cases are about
   * policies, and a disk's syncs would make the table take minutes. */
  tmp = g_strdup ("/dev/shm/strand-gfaults-XXXXXX");
  if (g_mkdtemp (tmp) == NULL)
    {
      g_free (tmp);
      tmp = g_dir_make_tmp ("strand-gfaults-XXXXXX", NULL);
    }
  g_assert_nonnull (tmp);
  registry = strand_test_registry (STRAND_PLUGIN_BUILD_DIR, NULL);
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  samples = strand_samples_load_data (samples_json, strlen (samples_json), "samples.json", tmp, problems);
  g_assert_nonnull (samples);
  /* Back-offs pass on the virtual clock; time limits are the executor's. */
  strand_clock_use_virtual (1800000000LL * G_USEC_PER_SEC);
  if (g_file_test (LAMBDA, G_FILE_TEST_EXISTS))
    {
      /* The one clean run every case is held against. */
      pipeline = pipeline_with_reference (LAMBDA);
      clean_store = strand_test_fresh_dir (tmp, "clean");
      clean = strand_test_run (registry, pipeline, samples, clean_store, NULL, NULL);
      if (strcmp (clean->status, "complete") != 0)
        g_error ("the clean run did not complete: %s", clean->status);
    }
  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_autofree char *path = g_strdup_printf ("/genomic-faults/%s/%s", table[i].plugin, table[i].what);
      g_test_add_data_func (path, &table[i], test_fault_case);
    }
  g_test_add_func ("/genomic-faults/bad-input/truncated-reference", test_truncated_reference);
  g_test_add_func ("/genomic-faults/bad-input/align-index-missing", test_align_index_missing);
  g_test_add_func ("/genomic-faults/bad-input/call-not-a-bam", test_call_not_a_bam);
  int rc = g_test_run ();
  strand_clock_use_real ();
  g_clear_pointer (&clean, strand_run_free);
  g_clear_pointer (&pipeline, strand_pipeline_free);
  g_ptr_array_unref (samples);
  strand_registry_free (registry);
  strand_test_remove_tree (tmp);
  g_free (clean_store);
  g_free (tmp);
  return rc;
}
