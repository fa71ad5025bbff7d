/* Fuzz target: the data checks (datacheck.h) and the manifest reader on
 * arbitrary bytes. Whatever the input, they must return problems, never
 * crash, leak, print or hang, and every problem must be well formed UTF-8.
 *
 * Built with fuzz-driver.c for `meson test --suite fuzz`; the same file
 * links with libFuzzer (clang -fsanitize=fuzzer) unchanged. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datacheck.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The reference the CRAM seed (corpus/datacheck/good.cram) was made with. */
static const char reference[] =
  ">chr1\n"
  "TTTCCTCATGCAATTCAAAACCATGTCCGTAATGTAGGCGAAATAGTAAACCATTTTACG\n"
  "GAGGATACCAAATTCCTCCTTATTCAGGACCTAACCTGAGGTAAACCAGGTCTCTCCGCC\n"
  "CCCTTATAAAAGCTGTTGCACCTAGCCAAGTTCAACGGCAGCTGCAATGGAAATAGGCAA\n"
  "TGACGGATATATATTAAAAAGTGTTTTAAGATACATTGAGGCCCGTTCGTGCTCCTCGCC\n"
  ">chr2\n"
  "CTGAAGCATTGCTTTGTGAAGAGGGACTTCAGCCAATAGACCTGCATACCGGCTCATTCT\n"
  "TCATGTGCAACCTAGGGAGAATGTGTACATACGCTCTTACTGCGGTCGCGTCTAATAATA\n";

static char *dir, *input, *ref_path;

static void
cleanup (void)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
  g_free (dir);
  g_free (input);
  g_free (ref_path);
}

static void
setup (void)
{
  if (dir != NULL)
    return;
  dir = g_dir_make_tmp ("strand-fuzz-datacheck-XXXXXX", NULL);
  g_assert_nonnull (dir);
  input = g_build_filename (dir, "input", NULL);
  ref_path = g_build_filename (dir, "ref.fa", NULL);
  g_assert_true (g_file_set_contents (ref_path, reference, -1, NULL));
  /* CRAM decoding must never look further than the reference given. */
  g_setenv ("REF_PATH", "/nonexistent/%s", TRUE);
  g_unsetenv ("REF_CACHE");
  atexit (cleanup);
}

static void
assert_sound (GPtrArray *problems, gboolean ok, const StrandDataSummary *s)
{
  guint errors = 0;
  for (guint i = 0; i < problems->len; i++)
    {
      const StrandProblem *p = problems->pdata[i];
      g_assert_true (p->code && *p->code && p->where && p->message && *p->message);
      g_assert_true (g_utf8_validate (p->where, -1, NULL));
      g_assert_true (g_utf8_validate (p->message, -1, NULL));
      g_assert_null (strchr (p->message, '\n'));
      errors += !p->warning;
    }
  g_assert_cmpint (ok, ==, errors == 0);
  g_assert_nonnull (s->format);
  g_assert_nonnull (s->compression);
  g_assert_true (s->n_fraction >= 0 && s->n_fraction <= 1);
  g_assert_true (s->mean_quality >= 0 && s->mean_quality <= 93);
  g_assert_cmpuint (s->bases, >=, 0);
  for (guint i = 0; s->samples && i < s->samples->len; i++)
    g_assert_true (g_utf8_validate (s->samples->pdata[i], -1, NULL));
  for (guint i = 0; s->contigs && i < s->contigs->len; i++)
    g_assert_true (g_utf8_validate (s->contigs->pdata[i], -1, NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  setup ();
  /* Not g_file_set_contents, whose fsync would be most of the time spent;
   * and a new file each time: ext4 writes a file truncated and rewritten
   * back to disk at once. */
  g_unlink (input);
  FILE *fp = fopen (input, "wb");
  g_assert_nonnull (fp);
  g_assert_cmpuint (fwrite (data, 1, size, fp), ==, size);
  g_assert_cmpint (fclose (fp), ==, 0);
  /* Sniffed; forced through our own parsers; deep with digests; CRAM with
   * and without its reference. */
  const StrandCheckOptions runs[] = {
    { .prefix_bytes = 4096 },
    { .deep = TRUE, .sha256 = "00", .md5 = "d41d8cd98f00b204e9800998ecf8427e" },
    { .format = "fastq" },
    { .format = "fasta", .deep = TRUE },
    { .format = "cram", .reference = ref_path, .deep = TRUE },
    { .format = "text" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      g_auto (StrandDataSummary) summary = { 0 };
      gboolean ok = strand_check_file (input, &runs[i], &summary, problems);
      assert_sound (problems, ok, &summary);
    }
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  g_autoptr (GPtrArray) entries = strand_manifest_load (input, problems);
  g_assert_nonnull (entries);
  for (guint i = 0; i < entries->len; i++)
    {
      const StrandManifestEntry *e = entries->pdata[i];
      g_assert_true (e->path && g_path_is_absolute (e->path));
      g_assert_true ((e->sha256 && strlen (e->sha256) == 64) || (e->md5 && strlen (e->md5) == 32));
    }
  for (guint i = 0; i < problems->len; i++)
    g_assert_true (g_utf8_validate (((StrandProblem *) problems->pdata[i])->where, -1, NULL));
  return 0;
}
