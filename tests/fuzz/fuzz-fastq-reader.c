/* Fuzz target: the strict FASTQ reader of fastq-qc and align, on plain and
 * gzip bytes. Any input must give records that hold together, or one error
 * naming the file and line, never a crash. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fastq-reader.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *path = NULL;

__attribute__ ((destructor)) static void
remove_input (void)
{
  if (path != NULL)
    g_unlink (path);
  g_free (path);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (path == NULL)
    {
      int fd = g_file_open_tmp ("fuzz-fastq-XXXXXX", &path, NULL);
      g_assert_cmpint (fd, >=, 0);
      close (fd);
    }
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) size, NULL));
  FastqReader *r = fastq_reader_open (path, "in.fq");
  g_assert_nonnull (r);
  FastqRecord rec;
  FastqStatus st;
  guint64 records = 0;
  while ((st = fastq_reader_next (r, &rec)) == FASTQ_OK)
    {
      records++;
      g_assert_cmpuint (rec.name_len, >, 0);
      g_assert_cmpuint (rec.name_len, <=, rec.header_len);
      g_assert_true (rec.name == rec.header);
      for (size_t i = 0; i < rec.len; i++)
        g_assert_true (rec.qual[i] >= '!' && rec.qual[i] <= '~');
      g_assert_cmpuint (fastq_reader_line (r), ==, records * 4);
    }
  if (st != FASTQ_END)
    g_assert_true (g_str_has_prefix (fastq_reader_error (r), "in.fq:"));
  fastq_reader_close (r);
  return 0;
}
