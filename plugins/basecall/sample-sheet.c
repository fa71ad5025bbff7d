/* basecall: SampleSheet.csv (see sample-sheet.h). */
#include "sample-sheet.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "run-info.h"

#define MAX_FIELDS 256
#define MAX_SAMPLES 10000 /* the checks below compare pairs */

typedef struct {
  char *fields[MAX_FIELDS];
  size_t n;
} Row;

static void
row_clear (Row *row)
{
  for (size_t i = 0; i < row->n; i++)
    free (row->fields[i]);
  row->n = 0;
}

/* Splits one line (no line end) into fields. Returns 0, or -1 with the
 * problem in `why`. */
static int
split_csv (const char *line, size_t len, Row *row, const char **why)
{
  row->n = 0;
  size_t i = 0;
  for (;;)
    {
      if (row->n == MAX_FIELDS)
        {
          *why = "more than 256 fields";
          return -1;
        }
      char *field = malloc (len - i + 1);
      if (field == NULL)
        {
          *why = "out of memory";
          return -1;
        }
      size_t n = 0;
      if (i < len && line[i] == '"')
        {
          i++;
          for (;;)
            {
              if (i == len)
                {
                  free (field);
                  *why = "a quoted field is not closed";
                  return -1;
                }
              if (line[i] == '"')
                {
                  if (i + 1 < len && line[i + 1] == '"')
                    {
                      field[n++] = '"';
                      i += 2;
                      continue;
                    }
                  i++;
                  break;
                }
              field[n++] = line[i++];
            }
          if (i < len && line[i] != ',')
            {
              free (field);
              *why = "text after a closing quote";
              return -1;
            }
        }
      else
        while (i < len && line[i] != ',')
          field[n++] = line[i++];
      /* Surrounding blanks are a spreadsheet's accident, not data. */
      size_t start = 0;
      while (start < n && (field[start] == ' ' || field[start] == '\t'))
        start++;
      while (n > start && (field[n - 1] == ' ' || field[n - 1] == '\t'))
        n--;
      memmove (field, field + start, n - start);
      field[n - start] = '\0';
      row->fields[row->n++] = field;
      if (i >= len)
        break;
      i++; /* the comma */
    }
  return 0;
}

/* A field as a message may quote it: printable ASCII, the rest as '?',
 * at most 60 bytes. */
static const char *
quote (const char *s, char *buf, size_t size)
{
  size_t n = 0;
  for (; *s && n + 1 < size && n < 60; s++)
    buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
  buf[n] = '\0';
  return buf;
}

static bool
row_empty (const Row *row)
{
  for (size_t i = 0; i < row->n; i++)
    if (row->fields[i][0] != '\0')
      return false;
  return true;
}

int
sample_sheet_valid_index (const char *s)
{
  size_t n = 0;
  for (; *s; s++, n++)
    {
      char c = *s & ~0x20;
      if (c != 'A' && c != 'C' && c != 'G' && c != 'T')
        return 0;
    }
  return n <= SAMPLE_SHEET_MAX_INDEX;
}

static bool
valid_id (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > SAMPLE_SHEET_MAX_ID)
    return false;
  for (; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')
          || *s == '_' || *s == '-'))
      return false;
  return true;
}

static char *
upper_dup (const char *s)
{
  char *d = strdup (s);
  if (d != NULL)
    for (char *p = d; *p; p++)
      if (*p >= 'a' && *p <= 'z')
        *p = (char) (*p - 'a' + 'A');
  return d;
}

typedef struct {
  int id, name, project, lane, index, index2;
} Columns;

static int
find_columns (const Row *row, Columns *col)
{
  *col = (Columns) { -1, -1, -1, -1, -1, -1 };
  for (size_t i = 0; i < row->n; i++)
    {
      const char *f = row->fields[i];
      int *slot = NULL;
      if (strcasecmp (f, "Sample_ID") == 0)
        slot = &col->id;
      else if (strcasecmp (f, "Sample_Name") == 0)
        slot = &col->name;
      else if (strcasecmp (f, "Sample_Project") == 0)
        slot = &col->project;
      else if (strcasecmp (f, "Lane") == 0)
        slot = &col->lane;
      else if (strcasecmp (f, "index") == 0)
        slot = &col->index;
      else if (strcasecmp (f, "index2") == 0)
        slot = &col->index2;
      if (slot == NULL)
        continue;
      if (*slot >= 0)
        return -(int) i - 1;
      *slot = (int) i;
    }
  return 0;
}

static const char *
field (const Row *row, int col)
{
  return col >= 0 && (size_t) col < row->n ? row->fields[col] : "";
}

static int
add_sample (SampleSheet *sheet, size_t *cap, const Row *row, const Columns *col,
            const char *name, size_t line_no, BcError *e)
{
  if (sheet->n_samples == MAX_SAMPLES)
    return bc_error_set (e, BC_ERR_CONFIG, "%s:%zu: more than %d samples", name, line_no,
                         MAX_SAMPLES);
  char q[64];
  const char *id = field (row, col->id);
  if (!valid_id (id))
    return bc_error_set (e, BC_ERR_CONFIG,
                         "%s:%zu: Sample_ID '%s' must be 1-%d characters of "
                         "A-Z, a-z, 0-9, '_' and '-'", name, line_no, quote (id, q, sizeof q),
                         SAMPLE_SHEET_MAX_ID);
  int lane = 0;
  const char *lane_text = field (row, col->lane);
  if (lane_text[0] != '\0')
    {
      char *end;
      long v = strtol (lane_text, &end, 10);
      if (*end != '\0' || v < 1 || v > RUN_INFO_MAX_LANES || lane_text[0] < '0'
          || lane_text[0] > '9')
        return bc_error_set (e, BC_ERR_CONFIG, "%s:%zu: Lane '%s' is not a lane number "
                             "in 1..%d", name, line_no, quote (lane_text, q, sizeof q),
                             RUN_INFO_MAX_LANES);
      lane = (int) v;
    }
  const char *idx[2] = { field (row, col->index), field (row, col->index2) };
  const char *what[2] = { "index", "index2" };
  for (int k = 0; k < 2; k++)
    if (!sample_sheet_valid_index (idx[k]))
      return bc_error_set (e, BC_ERR_CONFIG,
                           "%s:%zu: sample '%s': %s '%s' must be at most %d bases of "
                           "A, C, G and T", name, line_no, id, what[k],
                           quote (idx[k], q, sizeof q), SAMPLE_SHEET_MAX_INDEX);
  if (idx[0][0] == '\0' && idx[1][0] != '\0')
    return bc_error_set (e, BC_ERR_CONFIG, "%s:%zu: sample '%s' has an index2 but no index",
                         name, line_no, id);

  int number = 0;
  for (size_t i = 0; i < sheet->n_samples; i++)
    {
      const SheetSample *o = &sheet->samples[i];
      if (strcmp (o->id, id) != 0)
        continue;
      number = o->number;
      if (o->lane == lane || o->lane == 0 || lane == 0)
        return bc_error_set (e, BC_ERR_CONFIG,
                             "%s:%zu: sample '%s' is listed again for the same lane "
                             "(first at line %zu)", name, line_no, id, o->line);
    }
  if (number == 0)
    number = ++sheet->n_numbers;

  if (sheet->n_samples == *cap)
    {
      size_t ncap = *cap ? *cap * 2 : 16;
      SheetSample *s = realloc (sheet->samples, ncap * sizeof *s);
      if (s == NULL)
        return bc_error_set (e, BC_ERR_NO_MEMORY, "out of memory");
      sheet->samples = s;
      *cap = ncap;
    }
  SheetSample *s = &sheet->samples[sheet->n_samples];
  memset (s, 0, sizeof *s);
  const char *sample_name = field (row, col->name);
  s->lane = lane;
  s->number = number;
  s->line = line_no;
  s->id = strdup (id);
  s->name = strdup (sample_name[0] ? sample_name : id);
  s->project = strdup (field (row, col->project));
  s->index = upper_dup (idx[0]);
  s->index2 = upper_dup (idx[1]);
  sheet->n_samples++;
  if (!s->id || !s->name || !s->project || !s->index || !s->index2)
    return bc_error_set (e, BC_ERR_NO_MEMORY, "out of memory");
  return 0;
}

/* Within one lane, the demultiplexer compares fixed-length indices. */
static int
check_lengths (const SampleSheet *sheet, const char *name, BcError *e)
{
  for (size_t i = 0; i < sheet->n_samples; i++)
    for (size_t j = 0; j < i; j++)
      {
        const SheetSample *a = &sheet->samples[j], *b = &sheet->samples[i];
        if (a->lane != b->lane && a->lane != 0 && b->lane != 0)
          continue;
        if (strlen (a->index) != strlen (b->index) || strlen (a->index2) != strlen (b->index2))
          return bc_error_set (e, BC_ERR_CONFIG,
                               "%s:%zu: sample '%s' has indices of %zu+%zu bases but sample "
                               "'%s' (line %zu) on the same lane has %zu+%zu", name, b->line,
                               b->id, strlen (b->index), strlen (b->index2), a->id, a->line,
                               strlen (a->index), strlen (a->index2));
      }
  return 0;
}

int
sample_sheet_parse (const char *data, size_t len, const char *name, SampleSheet *sheet,
                    BcError *error)
{
  memset (sheet, 0, sizeof *sheet);
  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    {
      data += 3;
      len -= 3;
    }
  if (memchr (data, '\0', len) != NULL)
    return bc_error_set (error, BC_ERR_CONFIG, "%s: holds NUL bytes: not a text file", name);

  Row row = { 0 };
  Columns col = { 0 };
  bool in_data = false, seen_data = false, have_header = false;
  size_t cap = 0, line_no = 0, header_line = 0;
  size_t pos = 0;
  int rc = 0;
  while (pos < len && rc == 0)
    {
      const char *line = data + pos;
      const char *nl = memchr (line, '\n', len - pos);
      size_t n = nl ? (size_t) (nl - line) : len - pos;
      pos += n + (nl ? 1 : 0);
      line_no++;
      if (n > 0 && line[n - 1] == '\r')
        n--;
      if (n > 0 && line[0] == '[')
        {
          const char *close = memchr (line, ']', n);
          if (close == NULL)
            {
              rc = bc_error_set (error, BC_ERR_CONFIG, "%s:%zu: section name has no ']'",
                                 name, line_no);
              break;
            }
          size_t sn = (size_t) (close - line - 1);
          in_data = sn == 4 && strncasecmp (line + 1, "Data", 4) == 0;
          if (in_data && seen_data)
            rc = bc_error_set (error, BC_ERR_CONFIG, "%s:%zu: a second [Data] section",
                               name, line_no);
          seen_data = seen_data || in_data;
          continue;
        }
      if (!in_data)
        continue;
      const char *why = NULL;
      if (split_csv (line, n, &row, &why) < 0)
        {
          rc = bc_error_set (error, strcmp (why, "out of memory") == 0 ? BC_ERR_NO_MEMORY
                                                                       : BC_ERR_CONFIG,
                             "%s:%zu: %s", name, line_no, why);
          break;
        }
      if (row_empty (&row))
        ;
      else if (!have_header)
        {
          int dup = find_columns (&row, &col);
          if (dup < 0)
            {
              char q[64];
              rc = bc_error_set (error, BC_ERR_CONFIG, "%s:%zu: column '%s' appears twice",
                                 name, line_no, quote (row.fields[-dup - 1], q, sizeof q));
            }
          else if (col.id < 0)
            rc = bc_error_set (error, BC_ERR_CONFIG,
                               "%s:%zu: the [Data] header has no Sample_ID column", name,
                               line_no);
          have_header = true;
          header_line = line_no;
        }
      else
        rc = add_sample (sheet, &cap, &row, &col, name, line_no, error);
      row_clear (&row);
    }
  row_clear (&row);
  if (rc == 0 && !seen_data)
    rc = bc_error_set (error, BC_ERR_CONFIG, "%s: no [Data] section", name);
  if (rc == 0 && sheet->n_samples == 0)
    rc = bc_error_set (error, BC_ERR_CONFIG, "%s:%zu: the [Data] section lists no samples",
                       name, have_header ? header_line : line_no);
  if (rc == 0)
    rc = check_lengths (sheet, name, error);
  if (rc != 0)
    sample_sheet_clear (sheet);
  return rc;
}

int
sample_sheet_load (const char *path, const char *name, SampleSheet *sheet, BcError *error)
{
  memset (sheet, 0, sizeof *sheet);
  char *data;
  size_t len;
  if (bc_read_small_file (path, name, (size_t) 16 << 20, &data, &len, error) < 0)
    {
      if (error->kind == BC_ERR_CORRUPT)
        error->kind = BC_ERR_CONFIG; /* a sample sheet is configuration */
      return -1;
    }
  int rc = sample_sheet_parse (data, len, name, sheet, error);
  free (data);
  return rc;
}

void
sample_sheet_clear (SampleSheet *sheet)
{
  for (size_t i = 0; i < sheet->n_samples; i++)
    {
      SheetSample *s = &sheet->samples[i];
      free (s->id);
      free (s->name);
      free (s->project);
      free (s->index);
      free (s->index2);
    }
  free (sheet->samples);
  memset (sheet, 0, sizeof *sheet);
}
