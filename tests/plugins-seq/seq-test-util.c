/* Helpers of the sequencing plugin tests (see seq-test-util.h). */
#include "seq-test-util.h"

#include <string.h>
#include <zlib.h>

GPtrArray *
seq_test_write_reference (const char *path, const gsize *lengths, gsize n, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  GPtrArray *seqs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) fasta = g_string_new (NULL);
  for (gsize c = 0; c < n; c++)
    {
      char *s = g_malloc (lengths[c] + 1);
      for (gsize i = 0; i < lengths[c]; i++)
        s[i] = "ACGT"[g_rand_int_range (rand, 0, 4)];
      s[lengths[c]] = '\0';
      g_ptr_array_add (seqs, s);
      g_string_append_printf (fasta, ">contig%" G_GSIZE_FORMAT " test sequence\n", c + 1);
      /* Lower case in places: soft-masking must not matter. */
      for (gsize i = 0; i < lengths[c]; i += 60)
        {
          gsize m = MIN (60, lengths[c] - i);
          gsize at = fasta->len;
          g_string_append_len (fasta, s + i, (gssize) m);
          if ((i / 60) % 7 == 3)
            for (gsize k = at; k < fasta->len; k++)
              fasta->str[k] = g_ascii_tolower (fasta->str[k]);
          g_string_append_c (fasta, '\n');
        }
    }
  if (g_str_has_suffix (path, ".gz"))
    {
      gzFile out = gzopen (path, "wb");
      g_assert_nonnull (out);
      g_assert_cmpint (gzwrite (out, fasta->str, (unsigned) fasta->len), ==, (int) fasta->len);
      g_assert_cmpint (gzclose (out), ==, Z_OK);
    }
  else
    g_assert_true (g_file_set_contents (path, fasta->str, (gssize) fasta->len, NULL));
  return seqs;
}

GBytes *
seq_test_gunzip (const char *path)
{
  gzFile in = gzopen (path, "rb");
  g_assert_nonnull (in);
  g_autoptr (GByteArray) a = g_byte_array_new ();
  guint8 buf[65536];
  int n;
  while ((n = gzread (in, buf, sizeof buf)) > 0)
    g_byte_array_append (a, buf, (guint) n);
  g_assert_cmpint (n, ==, 0);
  g_assert_cmpint (gzclose (in), ==, Z_OK);
  return g_byte_array_free_to_bytes (g_steal_pointer (&a));
}

static void
record_free (gpointer p)
{
  FastqRecord *r = p;
  g_free (r->name);
  g_free (r->comment);
  g_free (r->seq);
  g_free (r->qual);
  g_free (r);
}

GPtrArray *
seq_test_read_fastq (const char *path)
{
  g_autoptr (GBytes) bytes = seq_test_gunzip (path);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autofree char *text = g_strndup (data, len);
  g_assert_true (len == 0 || text[len - 1] == '\n');
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  g_assert_cmpuint (n % 4, ==, 1); /* the empty string after the last newline */
  GPtrArray *records = g_ptr_array_new_with_free_func (record_free);
  for (guint i = 0; i + 4 <= n; i += 4)
    {
      g_assert_true (lines[i][0] == '@');
      g_assert_cmpstr (lines[i + 2], ==, "+");
      g_assert_cmpuint (strlen (lines[i + 1]), ==, strlen (lines[i + 3]));
      FastqRecord *r = g_new0 (FastqRecord, 1);
      char *blank = strchr (lines[i], ' ');
      g_assert_nonnull (blank);
      r->name = g_strndup (lines[i] + 1, (gsize) (blank - lines[i] - 1));
      r->comment = g_strdup (blank + 1);
      r->seq = g_strdup (lines[i + 1]);
      r->qual = g_strdup (lines[i + 3]);
      g_ptr_array_add (records, r);
    }
  return records;
}

StageHarness *
seq_test_stage (const char *plugin, const char *dir)
{
  g_autofree char *file = g_strconcat (plugin, ".so", NULL);
  g_autofree char *path = g_build_filename (STRAND_PLUGIN_BUILD_DIR, file, NULL);
  return stage_harness_new (path, dir);
}
