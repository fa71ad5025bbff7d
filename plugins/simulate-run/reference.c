/* simulate-run: the FASTA reader (see reference.h). */
#include "reference.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_CONTIGS 100000
#define MAX_NAME 255

typedef struct {
  Reference *ref;
  const char *name;
  SimError *error;
  size_t line_no;
  size_t cap;      /* of ref->contigs */
  size_t seq_cap;  /* of the current contig's seq */
  bool in_header;  /* a header line continues in the next chunk */
  bool at_line_start;
  char header[MAX_NAME + 2];
  size_t header_len;
  bool header_too_long;
} Parser;

/* SAM's rule for reference names, which VCF contig IDs also satisfy. */
static bool
valid_name (const char *s)
{
  if (*s == '\0' || *s == '*' || *s == '=')
    return false;
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c < '!' || c > '~' || c == '\\' || c == ',' || c == '"' || c == '`' || c == '\''
          || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == '<'
          || c == '>')
        return false;
    }
  return true;
}

static int
finish_contig (Parser *p)
{
  Reference *ref = p->ref;
  if (ref->n == 0)
    return 0;
  Contig *c = &ref->contigs[ref->n - 1];
  if (c->len == 0)
    return sim_error_set (p->error, SIM_ERR_INPUT, "%s:%zu: sequence '%s' has no bases",
                          p->name, p->line_no, c->name);
  return 0;
}

static int
start_contig (Parser *p)
{
  Reference *ref = p->ref;
  if (p->header_too_long)
    return sim_error_set (p->error, SIM_ERR_INPUT, "%s:%zu: sequence name longer than %d bytes",
                          p->name, p->line_no, MAX_NAME);
  p->header[p->header_len] = '\0';
  /* The name is the header's first word. */
  char *name = p->header + 1;
  size_t n = strcspn (name, " \t\r");
  name[n] = '\0';
  if (!valid_name (name))
    {
      char shown[64];
      size_t k = 0;
      for (const char *c = name; *c && k < 60; c++)
        shown[k++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
      shown[k] = '\0';
      return sim_error_set (p->error, SIM_ERR_INPUT,
                            "%s:%zu: '%s' is not a usable sequence name (printable, no "
                            "blanks, commas, quotes or brackets)", p->name, p->line_no, shown);
    }
  if (finish_contig (p) < 0)
    return -1;
  for (size_t i = 0; i < ref->n; i++)
    if (strcmp (ref->contigs[i].name, name) == 0)
      return sim_error_set (p->error, SIM_ERR_INPUT, "%s:%zu: sequence '%s' appears twice",
                            p->name, p->line_no, name);
  if (ref->n == MAX_CONTIGS)
    return sim_error_set (p->error, SIM_ERR_INPUT, "%s:%zu: more than %d sequences", p->name,
                          p->line_no, MAX_CONTIGS);
  if (ref->n == p->cap)
    {
      size_t cap = p->cap ? p->cap * 2 : 16;
      Contig *c = realloc (ref->contigs, cap * sizeof *c);
      if (c == NULL)
        return sim_error_set (p->error, SIM_ERR_NO_MEMORY, "%s: out of memory", p->name);
      ref->contigs = c;
      p->cap = cap;
    }
  Contig *c = &ref->contigs[ref->n++];
  memset (c, 0, sizeof *c);
  c->name = strdup (name);
  c->seq = malloc (1024);
  p->seq_cap = 1024;
  if (c->name == NULL || c->seq == NULL)
    return sim_error_set (p->error, SIM_ERR_NO_MEMORY, "%s: out of memory", p->name);
  c->seq[0] = '\0';
  return 0;
}

static char
base_of (unsigned char ch)
{
  switch (ch | 0x20)
    {
    case 'a': return 'A';
    case 'c': return 'C';
    case 'g': return 'G';
    case 't': return 'T';
    case 'u': return 'T';
    default: return 'N';
    }
}

/* Feeds a chunk of the file to the parser. */
static int
feed (Parser *p, const char *data, size_t len)
{
  Reference *ref = p->ref;
  for (size_t i = 0; i < len; i++)
    {
      unsigned char ch = (unsigned char) data[i];
      if (p->in_header)
        {
          if (ch == '\n')
            {
              p->in_header = false;
              p->at_line_start = true;
              if (start_contig (p) < 0)
                return -1;
              p->line_no++;
              continue;
            }
          if (ch == '\0')
            return sim_error_set (p->error, SIM_ERR_INPUT, "%s:%zu: NUL byte in a header",
                                  p->name, p->line_no);
          if (p->header_len < MAX_NAME + 1)
            p->header[p->header_len++] = (char) ch;
          else
            {
              p->header[p->header_len] = '\0';
              if (strcspn (p->header + 1, " \t\r") >= MAX_NAME)
                p->header_too_long = true;
            }
          continue;
        }
      if (ch == '\n')
        {
          p->line_no++;
          p->at_line_start = true;
          continue;
        }
      if (ch == '>' && p->at_line_start)
        {
          p->in_header = true;
          p->header_len = 0;
          p->header_too_long = false;
          p->header[p->header_len++] = '>';
          continue;
        }
      p->at_line_start = false;
      if (ch == '\r' || ch == ' ' || ch == '\t')
        continue;
      if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
        {
          if (ch >= 0x21 && ch <= 0x7e)
            return sim_error_set (p->error, SIM_ERR_INPUT,
                                  "%s:%zu: '%c' is not a nucleotide code", p->name,
                                  p->line_no, ch);
          return sim_error_set (p->error, SIM_ERR_INPUT,
                                "%s:%zu: byte 0x%02x is not a nucleotide code", p->name,
                                p->line_no, ch);
        }
      if (ref->n == 0)
        return sim_error_set (p->error, SIM_ERR_INPUT,
                              "%s:%zu: sequence before the first '>' header: not FASTA",
                              p->name, p->line_no);
      Contig *c = &ref->contigs[ref->n - 1];
      if (ref->total >= REFERENCE_MAX_BASES)
        return sim_error_set (p->error, SIM_ERR_INPUT, "%s:%zu: more than %zu bases", p->name,
                              p->line_no, REFERENCE_MAX_BASES);
      if (c->len + 1 >= p->seq_cap)
        {
          size_t cap = p->seq_cap * 2;
          char *seq = realloc (c->seq, cap);
          if (seq == NULL)
            return sim_error_set (p->error, SIM_ERR_NO_MEMORY, "%s: out of memory", p->name);
          c->seq = seq;
          p->seq_cap = cap;
        }
      c->seq[c->len++] = base_of (ch);
      c->seq[c->len] = '\0';
      ref->total++;
    }
  return 0;
}

static int
finish (Parser *p)
{
  if (p->in_header)
    {
      p->in_header = false;
      if (start_contig (p) < 0)
        return -1;
    }
  if (p->ref->n == 0)
    return sim_error_set (p->error, SIM_ERR_INPUT, "%s: no sequences: not FASTA", p->name);
  return finish_contig (p);
}

int
reference_parse (const char *data, size_t len, const char *name, Reference *ref,
                 SimError *error)
{
  memset (ref, 0, sizeof *ref);
  Parser p = { .ref = ref, .name = name, .error = error, .line_no = 1, .at_line_start = true };
  if (feed (&p, data, len) < 0 || finish (&p) < 0)
    {
      reference_clear (ref);
      return -1;
    }
  return 0;
}

int
reference_load (const char *path, const char *name, Reference *ref, SimError *error)
{
  memset (ref, 0, sizeof *ref);
  errno = 0;
  gzFile gz = gzopen (path, "rb");
  if (gz == NULL)
    {
      int err = errno;
      return sim_error_set (error, err == ENOENT ? SIM_ERR_INPUT : sim_error_kind_from_errno (err),
                            "%s: cannot open: %s", name, err ? strerror (err) : "out of memory");
    }
  gzbuffer (gz, 128u << 10);
  Parser p = { .ref = ref, .name = name, .error = error, .line_no = 1, .at_line_start = true };
  char *buf = malloc (64u << 10);
  int rc = buf ? 0 : sim_error_set (error, SIM_ERR_NO_MEMORY, "%s: out of memory", name);
  while (rc == 0)
    {
      int n = gzread (gz, buf, 64u << 10);
      int errnum = Z_OK;
      const char *msg = gzerror (gz, &errnum);
      if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END))
        {
          if (errnum == Z_ERRNO)
            rc = sim_error_set (error, sim_error_kind_from_errno (errno), "%s: read failed: %s",
                                name, strerror (errno));
          else
            rc = sim_error_set (error, SIM_ERR_INPUT,
                                "%s:%zu: corrupt or truncated compressed data: %s", name,
                                p.line_no, msg ? msg : "zlib error");
          break;
        }
      if (n == 0)
        break;
      rc = feed (&p, buf, (size_t) n);
    }
  if (rc == 0)
    rc = finish (&p);
  free (buf);
  gzclose_r (gz);
  if (rc != 0)
    reference_clear (ref);
  return rc;
}

void
reference_clear (Reference *ref)
{
  for (size_t i = 0; i < ref->n; i++)
    {
      free (ref->contigs[i].name);
      free (ref->contigs[i].seq);
    }
  free (ref->contigs);
  memset (ref, 0, sizeof *ref);
}
