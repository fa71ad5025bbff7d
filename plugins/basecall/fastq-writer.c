/* basecall: BGZF FASTQ output (see fastq-writer.h). */
#include "fastq-writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/bgzf.h>

#define BUFFER_SIZE (256u << 10)

struct FastqWriter {
  BGZF *fp;
  char name[256];
  char *buf;
  size_t len;
};

/* Byte b: bits 0-1 the base, bits 2-7 the quality; quality 0 = no-call. */
#define BASE(b) (((b) & 0xfc) == 0 ? 'N' : "ACGT"[(b) & 3])
#define QUAL(b) (((b) & 0xfc) == 0 ? '#' : (char) (((b) >> 2) + 33))
#define ROW4(b) BASE (b), BASE ((b) + 1), BASE ((b) + 2), BASE ((b) + 3)
#define QROW4(b) QUAL (b), QUAL ((b) + 1), QUAL ((b) + 2), QUAL ((b) + 3)
#define ROW16(b) ROW4 (b), ROW4 ((b) + 4), ROW4 ((b) + 8), ROW4 ((b) + 12)
#define QROW16(b) QROW4 (b), QROW4 ((b) + 4), QROW4 ((b) + 8), QROW4 ((b) + 12)
#define ROW64(b) ROW16 (b), ROW16 ((b) + 16), ROW16 ((b) + 32), ROW16 ((b) + 48)
#define QROW64(b) QROW16 (b), QROW16 ((b) + 16), QROW16 ((b) + 32), QROW16 ((b) + 48)

const char bcl_base_letter[256] = { ROW64 (0), ROW64 (64), ROW64 (128), ROW64 (192) };
const char bcl_quality_letter[256] = { QROW64 (0), QROW64 (64), QROW64 (128), QROW64 (192) };

FastqWriter *
fastq_writer_open (const char *path, const char *name, int level, BcError *e)
{
  FastqWriter *w = calloc (1, sizeof *w);
  char mode[4] = { 'w', (char) ('0' + (level < 1 ? 1 : level > 9 ? 9 : level)), '\0' };
  if (w == NULL || (w->buf = malloc (BUFFER_SIZE)) == NULL)
    {
      free (w);
      bc_error_set (e, BC_ERR_NO_MEMORY, "%s: out of memory", name);
      return NULL;
    }
  snprintf (w->name, sizeof w->name, "%s", name);
  errno = 0;
  w->fp = bgzf_open (path, mode);
  if (w->fp == NULL)
    {
      int err = errno ? errno : EIO;
      bc_error_set (e, bc_error_kind_from_errno (err), "%s: cannot create: %s", name,
                    strerror (err));
      free (w->buf);
      free (w);
      return NULL;
    }
  return w;
}

static int
flush_buffer (FastqWriter *w, BcError *e)
{
  if (w->len == 0)
    return 0;
  errno = 0;
  if (bgzf_write (w->fp, w->buf, w->len) != (ssize_t) w->len)
    {
      int err = errno ? errno : EIO;
      return bc_error_set (e, bc_error_kind_from_errno (err), "%s: write failed: %s", w->name,
                           strerror (err));
    }
  w->len = 0;
  return 0;
}

int
fastq_writer_put (FastqWriter *w, const char *name, const char *comment, const uint8_t *bcl,
                  size_t stride, int cycles, BcError *e)
{
  size_t name_len = strlen (name), comment_len = strlen (comment);
  size_t need = name_len + comment_len + 2 * (size_t) cycles + 8;
  if (w->len + need > BUFFER_SIZE && flush_buffer (w, e) < 0)
    return -1;
  if (need > BUFFER_SIZE)
    return bc_error_set (e, BC_ERR_CONFIG, "%s: a record of %zu bytes is too long", w->name,
                         need);
  char *p = w->buf + w->len;
  *p++ = '@';
  memcpy (p, name, name_len);
  p += name_len;
  *p++ = ' ';
  memcpy (p, comment, comment_len);
  p += comment_len;
  *p++ = '\n';
  char *q = p + cycles + 3; /* after the bases, "\n+\n" */
  for (int c = 0; c < cycles; c++)
    {
      uint8_t b = bcl[(size_t) c * stride];
      p[c] = bcl_base_letter[b];
      q[c] = bcl_quality_letter[b];
    }
  p += cycles;
  memcpy (p, "\n+\n", 3);
  q += cycles;
  *q++ = '\n';
  w->len = (size_t) (q - w->buf);
  return 0;
}

int
fastq_writer_close (FastqWriter *w, BcError *e)
{
  if (w == NULL)
    return 0;
  int rc = flush_buffer (w, e);
  errno = 0;
  if (bgzf_close (w->fp) < 0 && rc == 0)
    {
      int err = errno ? errno : EIO;
      rc = bc_error_set (e, bc_error_kind_from_errno (err), "%s: write failed: %s", w->name,
                         strerror (err));
    }
  free (w->buf);
  free (w);
  return rc;
}
