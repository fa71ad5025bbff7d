/* What the genomic stages cost on the lambda phage genome, one sample of
 * simulated 2x150 reads, and what the host adds around the tools:
 *
 *   bench-genplugins STRAND PLUGIN_DIR GENDATA REFERENCE WORK_DIR [ROUNDS [COVERAGE]]
 *
 * Each round runs the germline pipeline (fastq-qc, bwa-index, align, call,
 * vcf-compare) with `strand run` into a fresh store (nothing cached) and
 * reads every task's wall time from the run summary; and it runs the argv
 * the align and call stages run (bwa mem | samtools sort, samtools reheader,
 * samtools index; bcftools mpileup | call, reheader, index) directly, piped
 * without a shell, on the same inputs, with the same threads. The two
 * alternate which goes first from one round to the next, so that a drift in
 * the machine's load falls on both. Prints medians, and per round the ratio
 * of each stage's time to its tools' time run by hand (median, min, max):
 * the host's overhead around them.
 *
 * A stage's time runs from its worker's start to the worker's end: loading
 * the plugin, verifying its inputs against their digests, align's read
 * check (now beside bwa), recording each tool's version and digest, and
 * checking the outputs exist. What the hand run also skips, and the stage
 * does not count: storing the outputs (hashing them) and signing the record,
 * done by the host after the worker ends; those appear in the run's wall
 * time outside the stages, printed last. The hand run reads the header with
 * `samtools view -H` where the stage reads it in-process, and keeps the
 * reheadered BAM in memory before writing it. */
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test-util.h"

static void
run_sync (const char *const *argv, char **out)
{
  g_autoptr (GError) error = NULL;
  int status = 0;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, out, &err, &status,
                     &error) ||
      !g_spawn_check_wait_status (status, &error))
    g_error ("%s: %s\n%s", argv[0], error->message, err ? err : "");
}

/* argv1 | argv2, without a shell. */
static void
run_pipe (const char *const *argv1, const char *const *argv2)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) l1 = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                  G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GSubprocess) p1 = g_subprocess_launcher_spawnv (l1, argv1, &error);
  g_assert_no_error (error);
  GInputStream *out1 = g_subprocess_get_stdout_pipe (p1);
  int fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (out1));
  g_autoptr (GSubprocessLauncher) l2 = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_take_stdin_fd (l2, dup (fd));
  g_autoptr (GSubprocess) p2 = g_subprocess_launcher_spawnv (l2, argv2, &error);
  g_assert_no_error (error);
  g_input_stream_close (out1, NULL, NULL);
  g_assert_true (g_subprocess_wait_check (p1, NULL, &error));
  g_assert_true (g_subprocess_wait_check (p2, NULL, &error));
  g_assert_no_error (error);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, guint n)
{
  qsort (v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* CPU seconds of the children reaped so far. */
static double
children_cpu (void)
{
  struct rusage ru;
  getrusage (RUSAGE_CHILDREN, &ru);
  return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / G_USEC_PER_SEC;
}

static const char *const stages[] = { "qc", "index", "align", "call", "compare" };
#define N_STAGES G_N_ELEMENTS (stages)

typedef struct {
  const char *strand, *plugins, *pipeline, *sheet, *work, *ref, *r1, *r2;
  guint rounds;
  double *stage_s[N_STAGES];
  double *align_hand, *call_hand, *total, *outside;
  double *align_cpu, *call_cpu, *align_hand_cpu, *call_hand_cpu;
  double reads, recall;
} Bench;

/* One `strand run` of the pipeline into a fresh store. */
static void
run_strand (Bench *b, guint r)
{
  g_autofree char *store = g_strdup_printf ("%s/store-%u", b->work, r);
  g_autofree char *out = NULL;
  const char *run[] = { b->strand, "run", b->pipeline, "--samples", b->sheet, "-P", b->plugins, "--store",
                        store, "--json", NULL };
  gint64 t0 = g_get_monotonic_time ();
  run_sync (run, &out);
  b->total[r] = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  JsonArray *tasks = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                   "tasks");
  double in_stages = 0;
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      for (guint s = 0; s < N_STAGES; s++)
        if (strcmp (json_object_get_string_member (t, "stage"), stages[s]) == 0)
          b->stage_s[s][r] = json_object_get_double_member (t, "seconds");
      if (strcmp (json_object_get_string_member (t, "stage"), "align") == 0)
        b->align_cpu[r] = json_object_get_double_member (t, "cpu_seconds");
      if (strcmp (json_object_get_string_member (t, "stage"), "call") == 0)
        b->call_cpu[r] = json_object_get_double_member (t, "cpu_seconds");
      in_stages += json_object_get_double_member (t, "seconds");
      JsonObject *m = json_object_get_object_member (t, "metrics");
      if (strcmp (json_object_get_string_member (t, "stage"), "qc") == 0)
        b->reads = json_object_get_double_member (m, "reads");
      if (strcmp (json_object_get_string_member (t, "stage"), "compare") == 0)
        b->recall = json_object_get_double_member (m, "recall");
    }
  /* The stages run one after the other here (each waits on the one before,
   * qc and index excepted, which are short): the rest is the host's. */
  b->outside[r] = MAX (b->total[r] - in_stages, 0);
  strand_test_remove_tree (store);
}

/* The align and call stages' argv, by hand. */
static void
run_by_hand (Bench *b, guint r)
{
  const char *work = b->work, *ref = b->ref;
  double cpu0 = children_cpu ();
  g_autofree char *sorted = g_build_filename (work, "sorted.bam", NULL);
  g_autofree char *prefix = g_build_filename (work, "sort", NULL);
  g_autofree char *bam = g_build_filename (work, "S1.bam", NULL);
  g_autofree char *bai = g_build_filename (work, "S1.bam.bai", NULL);
  g_autofree char *header = g_build_filename (work, "header.sam", NULL);
  gint64 t0 = g_get_monotonic_time ();
  const char *bwa[] = { "bwa", "mem", "-t", "2", "-K", "10000000", "-v", "2", "-R",
                        "@RG\\tID:S1\\tSM:S1\\tPL:ILLUMINA\\tLB:S1", ref, b->r1, b->r2, NULL };
  const char *sort[] = { "samtools", "sort", "--no-PG", "-@", "2", "-m", "512M", "-T", prefix, "-o",
                         sorted, "-", NULL };
  run_pipe (bwa, sort);
  g_autofree char *hdr = NULL;
  const char *view[] = { "samtools", "view", "-H", "--no-PG", sorted, NULL };
  run_sync (view, &hdr);
  g_file_set_contents (header, hdr, -1, NULL);
  const char *reheader[] = { "samtools", "reheader", "--no-PG", header, sorted, NULL };
  {
    /* Into the file, as the stage's run_tool does. */
    g_autoptr (GError) error = NULL;
    g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
    g_subprocess_launcher_set_stdout_file_path (l, bam);
    g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, reheader, &error);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_wait_check (p, NULL, &error));
  }
  const char *index[] = { "samtools", "index", "-b", "-@", "2", bam, bai, NULL };
  run_sync (index, NULL);
  b->align_hand[r] = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  b->align_hand_cpu[r] = children_cpu () - cpu0;
  cpu0 = children_cpu ();

  g_autofree char *calls = g_build_filename (work, "calls.vcf.gz", NULL);
  g_autofree char *vcf = g_build_filename (work, "S1.vcf.gz", NULL);
  g_autofree char *tbi = g_build_filename (work, "S1.vcf.gz.tbi", NULL);
  g_autofree char *vheader = g_build_filename (work, "header.txt", NULL);
  t0 = g_get_monotonic_time ();
  const char *mpileup[] = { "bcftools", "mpileup", "--no-version", "-f", ref, "-a", "FORMAT/AD,FORMAT/DP",
                            "-q", "0", "-Q", "13", "-d", "250", "-Ou", bam, NULL };
  const char *call[] = { "bcftools", "call", "--no-version", "-m", "-v", "--ploidy", "1", "-Oz", "-o",
                         calls, NULL };
  run_pipe (mpileup, call);
  g_autofree char *vh = NULL;
  const char *vview[] = { "bcftools", "view", "-h", "--no-version", calls, NULL };
  run_sync (vview, &vh);
  g_file_set_contents (vheader, vh, -1, NULL);
  const char *vreheader[] = { "bcftools", "reheader", "-h", vheader, "-o", vcf, calls, NULL };
  run_sync (vreheader, NULL);
  const char *vindex[] = { "bcftools", "index", "-f", "-t", "-o", tbi, vcf, NULL };
  run_sync (vindex, NULL);
  b->call_hand[r] = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  b->call_hand_cpu[r] = children_cpu () - cpu0;
}

int
main (int argc, char **argv)
{
  if (argc < 6)
    {
      fprintf (stderr, "usage: %s STRAND PLUGIN_DIR GENDATA REFERENCE WORK_DIR [ROUNDS [COVERAGE]]\n",
               argv[0]);
      return 2;
    }
  const char *strand = argv[1], *plugins = argv[2], *gendata = argv[3], *reference = argv[4];
  guint rounds = argc > 6 ? (guint) atoi (argv[6]) : 3;
  const char *coverage = argc > 7 ? argv[7] : "50";
  if (!g_file_test (reference, G_FILE_TEST_EXISTS))
    {
      printf ("SKIP: %s not installed (Debian: bowtie2-examples)\n", reference);
      return 0;
    }
  strand_test_remove_tree (argv[5]);
  g_mkdir_with_parents (argv[5], 0755);
  g_autofree char *work = g_canonicalize_filename (argv[5], NULL);

  const char *sim[] = { "python3", gendata, "simulate", reference, work, "10", coverage, "150", NULL };
  run_sync (sim, NULL);
  g_autofree char *r1 = g_build_filename (work, "sim_R1.fastq.gz", NULL);
  g_autofree char *r2 = g_build_filename (work, "sim_R2.fastq.gz", NULL);
  g_autofree char *sheet = g_build_filename (work, "samples.tsv", NULL);
  g_autofree char *sheet_text = g_strdup_printf ("sample_id\tinput\tpath\nS1\treads\t%s\nS1\treads\t%s\n"
                                                 "S1\ttruth\t%s/truth.vcf\n", r1, r2, work);
  g_file_set_contents (sheet, sheet_text, -1, NULL);
  g_autofree char *pipeline = g_build_filename (work, "pipeline.json", NULL);
  g_autofree char *pipeline_text = g_strdup_printf (
      "{\"name\": \"germline-bench\","
      " \"inputs\": [{\"name\": \"reference\", \"formats\": \"fasta\", \"per_run\": true, \"path\": \"%s\"},"
      "  {\"name\": \"reads\", \"formats\": \"fastq\"}, {\"name\": \"truth\", \"formats\": \"vcf\"}],"
      " \"stages\": [{\"id\": \"qc\", \"plugin\": \"fastq-qc\"}, {\"id\": \"index\", \"plugin\": \"bwa-index\"},"
      "  {\"id\": \"align\", \"plugin\": \"align\", \"resources\": {\"cores\": 2}},"
      "  {\"id\": \"call\", \"plugin\": \"call\", \"params\": {\"ploidy\": \"1\"}},"
      "  {\"id\": \"compare\", \"plugin\": \"vcf-compare\"}],"
      " \"edges\": [{\"from\": \"@reads\", \"to\": \"qc.reads\"}, {\"from\": \"@reference\", \"to\": \"index.reference\"},"
      "  {\"from\": \"index.index\", \"to\": \"align.reference\"}, {\"from\": \"@reads\", \"to\": \"align.reads\"},"
      "  {\"from\": \"index.index\", \"to\": \"call.reference\"}, {\"from\": \"align.bam\", \"to\": \"call.bam\"},"
      "  {\"from\": \"align.index\", \"to\": \"call.index\"}, {\"from\": \"call.vcf\", \"to\": \"compare.vcf\"},"
      "  {\"from\": \"@truth\", \"to\": \"compare.truth\"}],"
      " \"outputs\": [\"qc.report\", \"call.vcf\", \"call.index\", \"compare.report\"]}", reference);
  g_file_set_contents (pipeline, pipeline_text, -1, NULL);

  /* The reference as bwa-index lays it out, for the direct runs. */
  g_autofree char *ref_dir = g_build_filename (work, "ref", NULL);
  g_autofree char *ref = g_build_filename (ref_dir, "reference.fa", NULL);
  g_mkdir_with_parents (ref_dir, 0755);
  {
    g_autofree char *fa = NULL;
    const char *zcat[] = { "gzip", "-dc", reference, NULL };
    run_sync (zcat, &fa);
    g_file_set_contents (ref, fa, -1, NULL);
    const char *faidx[] = { "samtools", "faidx", ref, NULL };
    run_sync (faidx, NULL);
    const char *index[] = { "bwa", "index", ref, NULL };
    run_sync (index, NULL);
  }

  Bench b = { .strand = strand, .plugins = plugins, .pipeline = pipeline, .sheet = sheet, .work = work,
              .ref = ref, .r1 = r1, .r2 = r2, .rounds = rounds };
  for (guint s = 0; s < N_STAGES; s++)
    b.stage_s[s] = g_new0 (double, rounds);
  b.align_hand = g_new0 (double, rounds);
  b.call_hand = g_new0 (double, rounds);
  b.total = g_new0 (double, rounds);
  b.outside = g_new0 (double, rounds);
  b.align_cpu = g_new0 (double, rounds);
  b.call_cpu = g_new0 (double, rounds);
  b.align_hand_cpu = g_new0 (double, rounds);
  b.call_hand_cpu = g_new0 (double, rounds);
  g_autofree double *align_ratio = g_new0 (double, rounds);
  g_autofree double *call_ratio = g_new0 (double, rounds);
  for (guint r = 0; r < rounds; r++)
    {
      if (r % 2 == 0)
        {
          run_strand (&b, r);
          run_by_hand (&b, r);
        }
      else
        {
          run_by_hand (&b, r);
          run_strand (&b, r);
        }
      align_ratio[r] = b.stage_s[2][r] / b.align_hand[r];
      call_ratio[r] = b.stage_s[3][r] / b.call_hand[r];
      printf ("  round %u: align %.3f s / %.3f s by hand = %.3f; call %.3f s / %.3f s = %.3f; "
              "host outside stages %.3f s\n", r + 1, b.stage_s[2][r], b.align_hand[r], align_ratio[r],
              b.stage_s[3][r], b.call_hand[r], call_ratio[r], b.outside[r]);
    }

  printf ("lambda phage (48.5 kbp), one sample, %.0f reads of 150 bases (~%sx), align on 2 cores;"
          " median of %u rounds, alternating which goes first\n", b.reads, coverage, rounds);
  for (guint s = 0; s < N_STAGES; s++)
    printf ("  stage %-8s %8.3f s\n", stages[s], median (b.stage_s[s], rounds));
  double total = median (b.total, rounds), outside = median (b.outside, rounds);
  double align_s = median (b.stage_s[2], rounds), align_h = median (b.align_hand, rounds);
  double call_s = median (b.stage_s[3], rounds), call_h = median (b.call_hand, rounds);
  double align_r = median (align_ratio, rounds), call_r = median (call_ratio, rounds);
  printf ("  whole run (strand run, wall) %8.3f s; SNV recall %.3f\n", total, b.recall);
  printf ("  host outside the stages (start, checks, ingest, storing, records) %.3f s, %.1f%% of the run\n",
          outside, 100.0 * outside / total);
  printf ("  align: stage %.3f s, same argv by hand %.3f s; ratio median %.3f (min %.3f, max %.3f)\n",
          align_s, align_h, align_r, align_ratio[0], align_ratio[rounds - 1]);
  printf ("  call:  stage %.3f s, same argv by hand %.3f s; ratio median %.3f (min %.3f, max %.3f)\n",
          call_s, call_h, call_r, call_ratio[0], call_ratio[rounds - 1]);
  /* CPU time tells contention from work: the same work costs the same CPU. */
  printf ("  CPU: align stage %.3f s, by hand %.3f s; call stage %.3f s, by hand %.3f s\n",
          median (b.align_cpu, rounds), median (b.align_hand_cpu, rounds), median (b.call_cpu, rounds),
          median (b.call_hand_cpu, rounds));
  printf ("{\"benchmark\":\"genplugins-lambda\",\"coverage\":%s,\"rounds\":%u,\"align_ratio\":%.4f,"
          "\"call_ratio\":%.4f,\"outside_s\":%.3f,\"total_s\":%.3f}\n", coverage, rounds, align_r, call_r,
          outside, total);
  for (guint s = 0; s < N_STAGES; s++)
    g_free (b.stage_s[s]);
  g_free (b.align_hand);
  g_free (b.call_hand);
  g_free (b.total);
  g_free (b.outside);
  g_free (b.align_cpu);
  g_free (b.call_cpu);
  g_free (b.align_hand_cpu);
  g_free (b.call_hand_cpu);
  strand_test_remove_tree (work);
  return 0;
}
