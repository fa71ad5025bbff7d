/* The strict FASTQ reader: see fastq-reader.h.
 *
 * One buffer large enough for the longest record we accept (four lines of
 * FASTQ_MAX_LINE bytes). A record is found by four memchr() calls; when it
 * runs past the data in the buffer, the unread tail moves to the front and
 * gzread() refills the rest, so records are never copied line by line. */
#include "fastq-reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define BUFFER_SIZE (4u * FASTQ_MAX_LINE + (4u << 20))
#define ERROR_SIZE 512

struct FastqReader {
  gzFile gz;
  char *label;
  char *buf;
  size_t pos; /* first unread byte */
  size_t end; /* end of the data in buf */
  bool eof;
  uint64_t line_no; /* of the last line of the last record returned */
  char error[ERROR_SIZE];
};

/* IUPAC nucleotide codes, either case, and '.' is not one of them. */
static const bool iupac[256] = {
  ['A'] = 1, ['C'] = 1, ['G'] = 1, ['T'] = 1, ['U'] = 1, ['N'] = 1,
  ['R'] = 1, ['Y'] = 1, ['S'] = 1, ['W'] = 1, ['K'] = 1, ['M'] = 1,
  ['B'] = 1, ['D'] = 1, ['H'] = 1, ['V'] = 1,
  ['a'] = 1, ['c'] = 1, ['g'] = 1, ['t'] = 1, ['u'] = 1, ['n'] = 1,
  ['r'] = 1, ['y'] = 1, ['s'] = 1, ['w'] = 1, ['k'] = 1, ['m'] = 1,
  ['b'] = 1, ['d'] = 1, ['h'] = 1, ['v'] = 1,
};

FastqReader *
fastq_reader_open (const char *path, const char *label)
{
  FastqReader *r = calloc (1, sizeof *r);
  if (r == NULL)
    return NULL;
  r->label = strdup (label != NULL ? label : path);
  r->buf = malloc (BUFFER_SIZE);
  if (r->label == NULL || r->buf == NULL)
    {
      fastq_reader_close (r);
      errno = ENOMEM;
      return NULL;
    }
  errno = 0;
  r->gz = gzopen (path, "rb");
  if (r->gz == NULL)
    {
      int err = errno ? errno : ENOMEM;
      fastq_reader_close (r);
      errno = err;
      return NULL;
    }
  gzbuffer (r->gz, 256u << 10);
  return r;
}

void
fastq_reader_close (FastqReader *r)
{
  if (r == NULL)
    return;
  if (r->gz != NULL)
    gzclose_r (r->gz);
  free (r->buf);
  free (r->label);
  free (r);
}

const char *
fastq_reader_error (const FastqReader *r)
{
  return r->error;
}

uint64_t
fastq_reader_line (const FastqReader *r)
{
  return r->line_no;
}

int64_t
fastq_reader_offset (const FastqReader *r)
{
  return (int64_t) gzoffset (r->gz);
}

static FastqStatus
fail (FastqReader *r, FastqStatus status, uint64_t line, const char *format, ...)
  __attribute__ ((format (printf, 4, 5)));

static FastqStatus
fail (FastqReader *r, FastqStatus status, uint64_t line, const char *format, ...)
{
  int n = snprintf (r->error, sizeof r->error, "%s:%llu: ", r->label,
                    (unsigned long long) line);
  if (n < 0 || (size_t) n >= sizeof r->error)
    n = 0;
  va_list ap;
  va_start (ap, format);
  vsnprintf (r->error + n, sizeof r->error - (size_t) n, format, ap);
  va_end (ap);
  return status;
}

/* Moves the unread tail to the front and reads more. */
static FastqStatus
refill (FastqReader *r)
{
  if (r->pos > 0)
    {
      memmove (r->buf, r->buf + r->pos, r->end - r->pos);
      r->end -= r->pos;
      r->pos = 0;
    }
  size_t room = BUFFER_SIZE - r->end;
  int n = gzread (r->gz, r->buf + r->end, (unsigned) room);
  int errnum = Z_OK;
  const char *msg = gzerror (r->gz, &errnum);
  if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END))
    {
      if (errnum == Z_ERRNO)
        return fail (r, FASTQ_IO, r->line_no + 1, "read failed: %s",
                     strerror (errno));
      if (errnum == Z_MEM_ERROR)
        return fail (r, FASTQ_NO_MEMORY, r->line_no + 1, "out of memory");
      return fail (r, FASTQ_CORRUPT, r->line_no + 1,
                   "corrupt or truncated compressed data: %s",
                   msg != NULL ? msg : "zlib error");
    }
  if (n == 0)
    r->eof = true;
  r->end += (size_t) n;
  return FASTQ_OK;
}

static const char *const line_names[4] = { "header", "sequence",
                                            "'+' separator", "quality" };

FastqStatus
fastq_reader_next (FastqReader *r, FastqRecord *rec)
{
  size_t off[4], len[4];
  int n;
  for (;;)
    {
      size_t p = r->pos;
      for (n = 0; n < 4; n++)
        {
          char *nl = memchr (r->buf + p, '\n', r->end - p);
          if (nl == NULL)
            break;
          off[n] = p;
          len[n] = (size_t) (nl - (r->buf + p));
          p = (size_t) (nl - r->buf) + 1;
        }
      if (n == 4)
        {
          r->pos = p;
          break;
        }
      if (r->eof)
        {
          if (p < r->end) /* a last line without its newline */
            {
              off[n] = p;
              len[n] = r->end - p;
              n++;
              p = r->end;
            }
          if (n == 0)
            return FASTQ_END;
          if (n < 4)
            return fail (r, FASTQ_MALFORMED, r->line_no + (uint64_t) n + 1,
                         "truncated record: file ends where the %s line was "
                         "expected",
                         line_names[n]);
          r->pos = p;
          break;
        }
      if (r->pos == 0 && r->end == BUFFER_SIZE)
        return fail (r, FASTQ_MALFORMED, r->line_no + (uint64_t) n + 1,
                     "line longer than %u bytes", FASTQ_MAX_LINE);
      FastqStatus st = refill (r);
      if (st != FASTQ_OK)
        return st;
    }

  uint64_t first = r->line_no + 1;
  r->line_no += 4;
  for (int i = 0; i < 4; i++)
    {
      if (len[i] > 0 && r->buf[off[i] + len[i] - 1] == '\r')
        len[i]--;
      if (len[i] > FASTQ_MAX_LINE)
        return fail (r, FASTQ_MALFORMED, first + (uint64_t) i,
                     "line longer than %u bytes", FASTQ_MAX_LINE);
    }

  const char *h = r->buf + off[0];
  if (len[0] == 0 || h[0] != '@')
    return fail (r, FASTQ_MALFORMED, first,
                 "record header must start with '@'%s",
                 len[0] == 0 ? " (empty line)" : "");
  if (len[0] < 2 || h[1] == ' ' || h[1] == '\t')
    return fail (r, FASTQ_MALFORMED, first, "record header has no read name");

  const unsigned char *s = (const unsigned char *) r->buf + off[1];
  size_t n_bases = len[1];
  for (size_t i = 0; i < n_bases; i++)
    if (!iupac[s[i]])
      {
        if (s[i] >= 0x21 && s[i] <= 0x7e)
          return fail (r, FASTQ_MALFORMED, first + 1,
                       "column %zu: '%c' is not an IUPAC nucleotide code",
                       i + 1, s[i]);
        return fail (r, FASTQ_MALFORMED, first + 1,
                     "column %zu: byte 0x%02x is not an IUPAC nucleotide "
                     "code",
                     i + 1, s[i]);
      }

  const char *plus = r->buf + off[2];
  if (len[2] == 0 || plus[0] != '+')
    return fail (r, FASTQ_MALFORMED, first + 2,
                 "expected the '+' separator line");
  if (len[2] > 1
      && (len[2] != len[0] || memcmp (plus + 1, h + 1, len[2] - 1) != 0))
    return fail (r, FASTQ_MALFORMED, first + 2,
                 "'+' line does not repeat the header of line %llu",
                 (unsigned long long) first);

  const unsigned char *q = (const unsigned char *) r->buf + off[3];
  if (len[3] != n_bases)
    return fail (r, FASTQ_MALFORMED, first + 3,
                 "quality has %zu characters but the sequence has %zu",
                 len[3], n_bases);
  for (size_t i = 0; i < n_bases; i++)
    if ((unsigned) (q[i] - FASTQ_PHRED_OFFSET) > FASTQ_MAX_PHRED)
      return fail (r, FASTQ_MALFORMED, first + 3,
                   "column %zu: quality byte 0x%02x is outside '!'..'~'",
                   i + 1, q[i]);

  size_t name_len = 0;
  while (name_len + 1 < len[0] && h[1 + name_len] != ' '
         && h[1 + name_len] != '\t')
    name_len++;
  rec->header = h + 1;
  rec->header_len = len[0] - 1;
  rec->name = h + 1;
  rec->name_len = name_len;
  rec->seq = (const char *) s;
  rec->qual = (const char *) q;
  rec->len = n_bases;
  return FASTQ_OK;
}
