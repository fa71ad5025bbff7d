/* FASTQ and FASTA, read strictly by our own line reader (htslib's FASTQ
 * reader accepts multi-line records, odd bases and mismatched lengths).
 *
 * FASTQ: four lines per record: "@NAME ...", the bases (IUPAC letters,
 * either case), "+" optionally followed by the header again, and one quality
 * byte from '!' to '~' per base. FASTA: ">NAME ..." header lines followed by
 * lines of IUPAC letters. */
#include "datacheck-private.h"

#include <string.h>

#define LINE_BUFFER (64 << 10) /* grows as lines need */
#define MAX_LINE ((gsize) 256 << 20)

void
dc_lines_init (DcLines *r, DcFile *f, hFILE *hf)
{
  memset (r, 0, sizeof *r);
  r->f = f;
  r->s = dc_stream_new (f, hf);
  r->cap = LINE_BUFFER;
  r->buf = g_malloc (r->cap);
}

void
dc_lines_clear (DcLines *r)
{
  dc_stream_free (r->s);
  g_free (r->buf);
  memset (r, 0, sizeof *r);
}

gboolean
dc_lines_next (DcLines *r, const guint8 **line, gsize *len)
{
  for (;;)
    {
      guint8 *nl = memchr (r->buf + r->scanned, '\n', r->end - r->scanned);
      if (nl != NULL || (r->eof && r->end > r->start))
        {
          gsize stop = nl ? (gsize) (nl - r->buf) : r->end;
          *line = r->buf + r->start;
          *len = stop - r->start;
          r->has_newline = nl != NULL;
          r->consumed += *len + (nl != NULL);
          r->start = r->scanned = nl ? stop + 1 : stop;
          r->lineno++;
          if (*len > 0 && (*line)[*len - 1] == '\r')
            {
              (*len)--;
              if (!r->crlf_reported)
                {
                  r->crlf_reported = TRUE;
                  g_autofree char *where = dc_where_line (r->f, r->lineno);
                  dc_problem (r->f, FALSE, "line-ending", where,
                              "lines end with CR LF (Windows); genomic tools expect LF only");
                }
            }
          return TRUE;
        }
      if (r->eof || r->failed)
        return FALSE;
      if (r->start > 0)
        {
          memmove (r->buf, r->buf + r->start, r->end - r->start);
          r->end -= r->start;
          r->start = 0;
        }
      r->scanned = r->end;
      if (r->end == r->cap)
        {
          if (r->cap >= MAX_LINE)
            {
              g_autofree char *where = dc_where_line (r->f, r->lineno + 1);
              dc_problem (r->f, FALSE, "line-too-long", where,
                          "a line longer than %" G_GSIZE_FORMAT " MiB; is this really text?",
                          MAX_LINE >> 20);
              r->failed = TRUE;
              return FALSE;
            }
          r->cap *= 2;
          r->buf = g_realloc (r->buf, r->cap);
        }
      gssize n = dc_stream_read (r->s, r->buf + r->end, r->cap - r->end);
      if (n < 0)
        {
          r->failed = TRUE;
          return FALSE;
        }
      if (n == 0)
        r->eof = TRUE;
      r->end += (gsize) n;
    }
}

void
dc_blank_lines_flush (DcFile *f, guint64 *first, const char *code, gboolean at_end)
{
  if (*first == 0)
    return;
  g_autofree char *where = dc_where_line (f, *first);
  if (at_end)
    dc_problem (f, TRUE, "trailing-blank-lines", where, "empty lines at the end of the file");
  else
    dc_problem (f, FALSE, code, where, "an empty line between records");
  *first = 0;
}

gboolean
dc_is_blank (const guint8 *line, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t')
      return FALSE;
  return TRUE;
}

/* Counts per byte: N (either case), for the N fraction. */
static const guint8 is_n[256] = { ['N'] = 1, ['n'] = 1 };

/* The first byte of `seq` that is not an IUPAC letter, or -1; counts Ns. */
static gssize
scan_bases (const guint8 *seq, gsize len, guint64 *n_count)
{
  guint64 n = 0;
  gssize bad = -1;
  for (gsize i = 0; i < len; i++)
    {
      n += is_n[seq[i]];
      if (G_UNLIKELY (!dc_iupac[seq[i]]) && bad < 0)
        bad = (gssize) i;
    }
  *n_count += n;
  return bad;
}

static void
finish_summary (DcFile *f, guint64 records, guint64 bases, guint64 n_count, guint64 qsum,
                guint64 qcount, gboolean complete)
{
  StrandDataSummary *s = f->summary;
  s->records = records;
  s->bases = bases;
  s->n_fraction = bases ? (double) n_count / (double) bases : 0.0;
  s->mean_quality = qcount ? (double) qsum / (double) qcount : 0.0;
  s->complete = complete;
}

void
dc_check_fastq (DcFile *f, hFILE *hf)
{
  DcLines r;
  dc_lines_init (&r, f, hf);
  guint64 records = 0, bases = 0, n_count = 0, qsum = 0, qcount = 0;
  guint64 blank_first = 0;
  g_autofree guint8 *header = NULL;
  gsize header_cap = 0;
  gboolean stopped = FALSE;
  const guint8 *line;
  gsize len;
  while (dc_lines_next (&r, &line, &len))
    {
      if (dc_is_blank (line, len))
        {
          blank_first = blank_first ? blank_first : r.lineno;
          continue;
        }
      dc_blank_lines_flush (f, &blank_first, "fastq-malformed", FALSE);
      guint64 header_line = r.lineno;
      g_autofree char *where = dc_where_line (f, header_line);
      char cbuf[16];
      if (line[0] != '@')
        {
          dc_problem (f, FALSE, "fastq-malformed", where,
                      "a record must start with '@', not %s%s", dc_byte_repr (line[0], cbuf),
                      records == 0 ? "; is this FASTQ?" : "");
          stopped = TRUE;
          break;
        }
      if (len < 2 || line[1] == ' ' || line[1] == '\t')
        dc_problem (f, FALSE, "fastq-malformed", where, "the record has no name after '@'");
      /* Keep the header for the '+' line. */
      gsize hlen = len - 1;
      if (hlen + 1 > header_cap)
        {
          header_cap = hlen + 1;
          header = g_realloc (header, header_cap);
        }
      memcpy (header, line + 1, hlen);

      /* Bases. */
      if (!dc_lines_next (&r, &line, &len))
        {
          if (!r.failed)
            dc_problem (f, FALSE, "fastq-truncated", where,
                        "the last record is cut short after its header");
          stopped = TRUE;
          break;
        }
      gsize seq_len = len;
      guint64 seq_line = r.lineno;
      guint64 record_ns = 0; /* counted once the record is whole */
      gssize bad = scan_bases (line, len, &record_ns);
      if (bad >= 0)
        {
          g_autofree char *w = dc_where_line (f, seq_line);
          dc_problem (f, FALSE, "fastq-invalid-base", w,
                      "%s at column %" G_GSSIZE_FORMAT " is not an IUPAC nucleotide code",
                      dc_byte_repr (line[bad], cbuf), bad + 1);
        }

      /* Separator. */
      if (!dc_lines_next (&r, &line, &len))
        {
          if (!r.failed)
            dc_problem (f, FALSE, "fastq-truncated", where,
                        "the last record is cut short after its bases");
          stopped = TRUE;
          break;
        }
      if (len == 0 || line[0] != '+')
        {
          g_autofree char *w = dc_where_line (f, r.lineno);
          dc_problem (f, FALSE, "fastq-malformed", w,
                      "expected the '+' line, found %s (records must be exactly four lines)",
                      len ? dc_byte_repr (line[0], cbuf) : "an empty line");
          stopped = TRUE;
          break;
        }
      if (len > 1 && (len - 1 != hlen || memcmp (line + 1, header, hlen) != 0))
        {
          g_autofree char *w = dc_where_line (f, r.lineno);
          dc_problem (f, FALSE, "fastq-name-mismatch", w,
                      "the '+' line repeats another name than the record's header");
        }

      /* Qualities. */
      if (!dc_lines_next (&r, &line, &len))
        {
          if (!r.failed)
            dc_problem (f, FALSE, "fastq-truncated", where,
                        "the last record is cut short before its qualities");
          stopped = TRUE;
          break;
        }
      g_autofree char *qw = dc_where_line (f, r.lineno);
      if (len != seq_len)
        {
          if (len < seq_len && !r.has_newline && r.eof)
            dc_problem (f, FALSE, "fastq-truncated", qw,
                        "the last record is cut short: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
                        " qualities", len, seq_len);
          else
            dc_problem (f, FALSE, "fastq-length-mismatch", qw,
                        "%" G_GSIZE_FORMAT " quality values for %" G_GSIZE_FORMAT " bases",
                        len, seq_len);
        }
      guint64 sum = 0;
      gssize qbad = -1;
      for (gsize i = 0; i < len; i++)
        {
          guint8 q = line[i];
          sum += q;
          if (G_UNLIKELY (q < '!' || q > '~') && qbad < 0)
            qbad = (gssize) i;
        }
      if (qbad >= 0)
        dc_problem (f, FALSE, "fastq-invalid-quality", qw,
                    "%s at column %" G_GSSIZE_FORMAT " is not a quality character ('!' to '~')",
                    dc_byte_repr (line[qbad], cbuf), qbad + 1);
      else if (len == seq_len)
        {
          qsum += sum - (guint64) len * 33;
          qcount += len;
        }
      records++;
      bases += seq_len;
      n_count += record_ns;
      if (r.consumed >= f->budget)
        {
          stopped = TRUE;
          break;
        }
    }
  dc_blank_lines_flush (f, &blank_first, NULL, TRUE);
  /* Qualities are only summed for records whose qualities are sound. */
  finish_summary (f, records, bases, n_count, qsum, qcount, !stopped && !r.failed && r.eof);
  dc_lines_clear (&r);
}

void
dc_check_fasta (DcFile *f, hFILE *hf)
{
  DcLines r;
  dc_lines_init (&r, f, hf);
  guint64 records = 0, bases = 0, n_count = 0, residues = 0;
  guint64 blank_first = 0;
  g_autofree char *name = NULL;
  guint64 header_line = 0;
  gboolean bad_reported = FALSE, stopped = FALSE;
  const guint8 *line;
  gsize len;
  char cbuf[16];
  for (;;)
    {
      gboolean more = dc_lines_next (&r, &line, &len);
      if (!more || (len > 0 && line[0] == '>'))
        {
          /* The end of a record. */
          if (name != NULL)
            {
              if (residues == 0)
                {
                  g_autofree char *w = dc_where_line (f, header_line);
                  dc_problem (f, TRUE, "fasta-empty-sequence", w, "the sequence '%s' is empty", name);
                }
              if (more || (!r.failed && r.eof))
                g_ptr_array_add (f->summary->contigs,
                                 g_strdup_printf ("%s\t%" G_GUINT64_FORMAT, name, residues));
              g_clear_pointer (&name, g_free);
            }
          if (!more)
            break;
          dc_blank_lines_flush (f, &blank_first, "fasta-malformed", FALSE);
          if (r.consumed >= f->budget && records > 0)
            {
              stopped = TRUE;
              break;
            }
          header_line = r.lineno;
          gsize n = 1;
          while (n < len && line[n] != ' ' && line[n] != '\t')
            n++;
          if (n == 1)
            {
              g_autofree char *w = dc_where_line (f, header_line);
              dc_problem (f, FALSE, "fasta-malformed", w, "the sequence has no name after '>'");
            }
          g_autofree char *raw = g_strndup ((const char *) line + 1, n - 1);
          name = g_utf8_make_valid (raw, -1);
          records++;
          residues = 0;
          bad_reported = FALSE;
          continue;
        }
      if (dc_is_blank (line, len))
        {
          blank_first = blank_first ? blank_first : r.lineno;
          continue;
        }
      dc_blank_lines_flush (f, &blank_first, "fasta-malformed", FALSE);
      if (name == NULL)
        {
          g_autofree char *w = dc_where_line (f, r.lineno);
          dc_problem (f, FALSE, "fasta-malformed", w,
                      "a FASTA file must start with a '>' header line, not %s",
                      dc_byte_repr (line[0], cbuf));
          stopped = TRUE;
          break;
        }
      gssize bad = scan_bases (line, len, &n_count);
      if (bad >= 0 && !bad_reported)
        {
          g_autofree char *w = dc_where_line (f, r.lineno);
          dc_problem (f, FALSE, "fasta-invalid-base", w,
                      "%s at column %" G_GSSIZE_FORMAT " is not an IUPAC nucleotide code",
                      dc_byte_repr (line[bad], cbuf), bad + 1);
          bad_reported = TRUE;
        }
      residues += len;
      bases += len;
      if (r.consumed >= f->budget)
        {
          stopped = TRUE; /* mid-sequence: its length is not known */
          break;
        }
    }
  dc_blank_lines_flush (f, &blank_first, NULL, TRUE);
  finish_summary (f, records, bases, n_count, 0, 0, !stopped && !r.failed && r.eof);
  dc_lines_clear (&r);
}
