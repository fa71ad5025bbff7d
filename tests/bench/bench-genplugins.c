/* What the genomic stages cost on the lambda phage genome, one sample of
 * simulated 2x150 reads at ~50x, and what the host adds around the tools:
 *
 *   bench-genplugins STRAND PLUGIN_DIR GENDATA REFERENCE WORK_DIR [ROUNDS]
 *
 * Each round runs the germline pipeline (fastq-qc, bwa-index, align, call,
 * vcf-compare) with `strand run` into a fresh store (nothing cached) and
 * reads every task's wall time from the run summary; then it runs the argv
 * the align and call stages run (bwa mem | samtools sort, samtools reheader,
 * samtools index; bcftools mpileup | call, reheader, index) directly, piped
 * without a shell, on the same inputs. Prints medians, and the ratio of each
 * stage's time to its tools' time run by hand: the host's overhead around
 * them (worker, inputs, digests, records, and align's read check). */
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static const char *const stages[] = { "qc", "index", "align", "call", "compare" };
#define N_STAGES G_N_ELEMENTS (stages)

int
main (int argc, char **argv)
{
  if (argc < 6)
    {
      fprintf (stderr, "usage: %s STRAND PLUGIN_DIR GENDATA REFERENCE WORK_DIR [ROUNDS]\n", argv[0]);
      return 2;
    }
  const char *strand = argv[1], *plugins = argv[2], *gendata = argv[3], *reference = argv[4];
  guint rounds = argc > 6 ? (guint) atoi (argv[6]) : 3;
  if (!g_file_test (reference, G_FILE_TEST_EXISTS))
    {
      printf ("SKIP: %s not installed (Debian: bowtie2-examples)\n", reference);
      return 0;
    }
  strand_test_remove_tree (argv[5]);
  g_mkdir_with_parents (argv[5], 0755);
  g_autofree char *work = g_canonicalize_filename (argv[5], NULL);

  const char *sim[] = { "python3", gendata, "simulate", reference, work, "10", "50", "150", NULL };
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

  double *stage_s[N_STAGES], *align_direct = g_new0 (double, rounds),
         *call_direct = g_new0 (double, rounds), *total = g_new0 (double, rounds);
  for (guint s = 0; s < N_STAGES; s++)
    stage_s[s] = g_new0 (double, rounds);
  double reads = 0, recall = 0;
  for (guint r = 0; r < rounds; r++)
    {
      g_autofree char *store = g_strdup_printf ("%s/store-%u", work, r);
      g_autofree char *out = NULL;
      const char *run[] = { strand, "run", pipeline, "--samples", sheet, "-P", plugins, "--store", store,
                            "--json", NULL };
      gint64 t0 = g_get_monotonic_time ();
      run_sync (run, &out);
      total[r] = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
      JsonArray *tasks = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                       "tasks");
      for (guint i = 0; i < json_array_get_length (tasks); i++)
        {
          JsonObject *t = json_array_get_object_element (tasks, i);
          for (guint s = 0; s < N_STAGES; s++)
            if (strcmp (json_object_get_string_member (t, "stage"), stages[s]) == 0)
              stage_s[s][r] = json_object_get_double_member (t, "seconds");
          JsonObject *m = json_object_get_object_member (t, "metrics");
          if (strcmp (json_object_get_string_member (t, "stage"), "qc") == 0)
            reads = json_object_get_double_member (m, "reads");
          if (strcmp (json_object_get_string_member (t, "stage"), "compare") == 0)
            recall = json_object_get_double_member (m, "recall");
        }
      strand_test_remove_tree (store);

      /* The same argv by hand. */
      g_autofree char *sorted = g_build_filename (work, "sorted.bam", NULL);
      g_autofree char *prefix = g_build_filename (work, "sort", NULL);
      g_autofree char *bam = g_build_filename (work, "S1.bam", NULL);
      g_autofree char *bai = g_build_filename (work, "S1.bam.bai", NULL);
      g_autofree char *header = g_build_filename (work, "header.sam", NULL);
      t0 = g_get_monotonic_time ();
      const char *bwa[] = { "bwa", "mem", "-t", "2", "-K", "10000000", "-v", "2", "-R",
                            "@RG\\tID:S1\\tSM:S1\\tPL:ILLUMINA\\tLB:S1", ref, r1, r2, NULL };
      const char *sort[] = { "samtools", "sort", "--no-PG", "-@", "2", "-m", "512M", "-T", prefix, "-o",
                             sorted, "-", NULL };
      run_pipe (bwa, sort);
      g_autofree char *hdr = NULL;
      const char *view[] = { "samtools", "view", "-H", "--no-PG", sorted, NULL };
      run_sync (view, &hdr);
      g_file_set_contents (header, hdr, -1, NULL);
      g_autofree char *bam_bytes = NULL;
      const char *reheader[] = { "samtools", "reheader", "--no-PG", header, sorted, NULL };
      gsize bam_len = 0;
      {
        g_autoptr (GSubprocess) p = g_subprocess_newv (reheader, G_SUBPROCESS_FLAGS_STDOUT_PIPE, NULL);
        g_autoptr (GBytes) bytes = NULL;
        g_subprocess_communicate (p, NULL, NULL, &bytes, NULL, NULL);
        bam_bytes = g_bytes_unref_to_data (g_steal_pointer (&bytes), &bam_len);
      }
      g_file_set_contents (bam, bam_bytes, (gssize) bam_len, NULL);
      const char *index[] = { "samtools", "index", "-b", "-@", "2", bam, bai, NULL };
      run_sync (index, NULL);
      align_direct[r] = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;

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
      call_direct[r] = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
    }

  printf ("lambda phage (48.5 kbp), one sample, %.0f reads of 150 bases (~50x), align on 2 cores;"
          " median of %u rounds\n", reads, rounds);
  for (guint s = 0; s < N_STAGES; s++)
    printf ("  stage %-8s %8.3f s\n", stages[s], median (stage_s[s], rounds));
  printf ("  whole run (strand run, wall) %8.3f s; SNV recall %.3f\n", median (total, rounds), recall);
  double a = median (stage_s[2], rounds), ad = median (align_direct, rounds);
  double c = median (stage_s[3], rounds), cd = median (call_direct, rounds);
  printf ("  align: stage %.3f s, same argv by hand %.3f s, ratio %.3f\n", a, ad, a / ad);
  printf ("  call:  stage %.3f s, same argv by hand %.3f s, ratio %.3f\n", c, cd, c / cd);
  for (guint s = 0; s < N_STAGES; s++)
    g_free (stage_s[s]);
  g_free (align_direct);
  g_free (call_direct);
  g_free (total);
  strand_test_remove_tree (work);
  return 0;
}
