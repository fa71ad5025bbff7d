/* basecall: RunInfo.xml through expat (see run-info.h). */
#include "run-info.h"

#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 32     /* deeper elements are skipped, not refused */
#define MAX_TEXT 256     /* longest text we keep (ids, tile names) */
#define MAX_TILES 100000 /* per run */

typedef enum {
  TEXT_NONE = 0,
  TEXT_FLOWCELL,
  TEXT_INSTRUMENT,
  TEXT_TILE,
} TextTarget;

typedef struct {
  XML_Parser parser;
  const char *name;
  RunInfo *info;
  BcError *error;
  int depth;
  const char *stack[MAX_DEPTH]; /* element names, valid during the callback */
  char stack_names[MAX_DEPTH][24];
  bool seen_root;
  bool seen_run;
  bool seen_reads;
  bool seen_layout;
  int surface_count, swath_count, tile_count;
  bool five_digit;
  TextTarget target;
  char text[MAX_TEXT + 1];
  size_t text_len;
  size_t tiles_cap;
} Ctx;

static unsigned long
line_of (const Ctx *c)
{
  return (unsigned long) XML_GetCurrentLineNumber (c->parser);
}

/* Records the failure and stops expat. */
__attribute__ ((format (printf, 3, 4))) static void
stop (Ctx *c, BcErrorKind kind, const char *format, ...)
{
  if (c->error->kind == BC_ERR_NONE)
    {
      char msg[768];
      va_list ap;
      va_start (ap, format);
      vsnprintf (msg, sizeof msg, format, ap);
      va_end (ap);
      bc_error_set (c->error, kind, "%s:%lu: %s", c->name, line_of (c), msg);
    }
  XML_StopParser (c->parser, XML_FALSE);
}

/* Whether the open elements are exactly `path` (names joined by '/'). */
static bool
at (const Ctx *c, const char *path)
{
  int d = 0;
  const char *p = path;
  while (*p)
    {
      const char *slash = strchr (p, '/');
      size_t n = slash ? (size_t) (slash - p) : strlen (p);
      if (d >= c->depth || d >= MAX_DEPTH || strlen (c->stack[d]) != n
          || memcmp (c->stack[d], p, n) != 0)
        return false;
      d++;
      p += n + (slash ? 1 : 0);
    }
  return d == c->depth;
}

static const char *
attr (const XML_Char **atts, const char *key)
{
  for (size_t i = 0; atts[i] != NULL; i += 2)
    if (strcmp (atts[i], key) == 0)
      return atts[i + 1];
  return NULL;
}

/* A decimal integer in [min, max], nothing else (surrounding blanks are
 * allowed: XML attributes are often padded by hand). */
static bool
parse_int (const char *s, long min, long max, long *out)
{
  if (s == NULL)
    return false;
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s < '0' || *s > '9')
    return false;
  long v = 0;
  for (; *s >= '0' && *s <= '9'; s++)
    {
      v = v * 10 + (*s - '0');
      if (v > max)
        return false;
    }
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s != '\0' || v < min)
    return false;
  *out = v;
  return true;
}

static bool
int_attr (Ctx *c, const XML_Char **atts, const char *element, const char *key,
          long min, long max, bool required, long *out)
{
  const char *v = attr (atts, key);
  if (v == NULL)
    {
      if (required)
        stop (c, BC_ERR_CORRUPT, "<%s> has no %s attribute", element, key);
      return !required;
    }
  if (!parse_int (v, min, max, out))
    {
      stop (c, BC_ERR_CORRUPT, "<%s> %s '%.40s' is not a whole number in %ld..%ld",
            element, key, v, min, max);
      return false;
    }
  return true;
}

static bool
yes_no (Ctx *c, const char *element, const char *key, const char *v, bool *out)
{
  if (v == NULL || strcmp (v, "N") == 0 || strcmp (v, "n") == 0)
    *out = false;
  else if (strcmp (v, "Y") == 0 || strcmp (v, "y") == 0)
    *out = true;
  else
    {
      stop (c, BC_ERR_CORRUPT, "<%s> %s '%.40s' is neither Y nor N", element,
            key, v);
      return false;
    }
  return true;
}

static char *
dup_or_fail (Ctx *c, const char *s)
{
  char *d = strdup (s);
  if (d == NULL)
    stop (c, BC_ERR_NO_MEMORY, "out of memory");
  return d;
}

static void
start_read (Ctx *c, const XML_Char **atts)
{
  RunInfo *info = c->info;
  if (info->n_reads == RUN_INFO_MAX_READS)
    {
      stop (c, BC_ERR_CORRUPT, "more than %d <Read> elements", RUN_INFO_MAX_READS);
      return;
    }
  long number = 0, cycles = 0;
  if (!int_attr (c, atts, "Read", "Number", 1, RUN_INFO_MAX_READS, true, &number)
      || !int_attr (c, atts, "Read", "NumCycles", 1, RUN_INFO_MAX_CYCLES_PER_READ,
                    true, &cycles))
    return;
  bool is_index = false;
  if (!yes_no (c, "Read", "IsIndexedRead", attr (atts, "IsIndexedRead"), &is_index))
    return;
  for (size_t i = 0; i < info->n_reads; i++)
    if (info->reads[i].number == number)
      {
        stop (c, BC_ERR_CORRUPT, "two <Read> elements have Number %ld", number);
        return;
      }
  RunRead *r = &info->reads[info->n_reads++];
  r->number = (int) number;
  r->cycles = (int) cycles;
  r->is_index = is_index;
}

static void
start_layout (Ctx *c, const XML_Char **atts)
{
  long lanes = 0, surfaces = 1, swaths = 1, tiles = 1;
  if (!int_attr (c, atts, "FlowcellLayout", "LaneCount", 1, RUN_INFO_MAX_LANES, true, &lanes)
      || !int_attr (c, atts, "FlowcellLayout", "SurfaceCount", 1, 2, false, &surfaces)
      || !int_attr (c, atts, "FlowcellLayout", "SwathCount", 1, 9, false, &swaths)
      || !int_attr (c, atts, "FlowcellLayout", "TileCount", 1, 99, false, &tiles))
    return;
  c->seen_layout = true;
  c->info->lane_count = (int) lanes;
  c->surface_count = (int) surfaces;
  c->swath_count = (int) swaths;
  c->tile_count = (int) tiles;
}

static bool
add_tile (Ctx *c, int lane, int tile)
{
  RunInfo *info = c->info;
  if (info->n_tiles == MAX_TILES)
    {
      stop (c, BC_ERR_CORRUPT, "more than %d tiles", MAX_TILES);
      return false;
    }
  if (info->n_tiles == c->tiles_cap)
    {
      size_t cap = c->tiles_cap ? c->tiles_cap * 2 : 64;
      RunTile *t = realloc (info->tiles, cap * sizeof *t);
      if (t == NULL)
        {
          stop (c, BC_ERR_NO_MEMORY, "out of memory");
          return false;
        }
      info->tiles = t;
      c->tiles_cap = cap;
    }
  info->tiles[info->n_tiles].lane = lane;
  info->tiles[info->n_tiles].tile = tile;
  info->n_tiles++;
  return true;
}

/* "<lane>_<tile>", as in <Tile>1_1101</Tile>. */
static void
end_tile (Ctx *c)
{
  char *text = c->text;
  while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
    text++;
  size_t n = strlen (text);
  while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n'
                   || text[n - 1] == '\r'))
    text[--n] = '\0';
  char *us = strchr (text, '_');
  long lane, tile;
  if (us == NULL)
    {
      stop (c, BC_ERR_CORRUPT, "<Tile> '%.40s' is not LANE_TILE (e.g. 1_1101)", text);
      return;
    }
  *us = '\0';
  if (!parse_int (text, 1, RUN_INFO_MAX_LANES, &lane)
      || !parse_int (us + 1, 1, RUN_INFO_MAX_TILE, &tile))
    {
      *us = '_';
      stop (c, BC_ERR_CORRUPT, "<Tile> '%.40s' is not LANE_TILE with a lane in 1..%d and a "
            "tile in 1..%d", text, RUN_INFO_MAX_LANES, RUN_INFO_MAX_TILE);
      return;
    }
  add_tile (c, (int) lane, (int) tile);
}

static void XMLCALL
on_start (void *data, const XML_Char *el, const XML_Char **atts)
{
  Ctx *c = data;
  if (c->depth == 0)
    {
      if (strcmp (el, "RunInfo") != 0)
        {
          stop (c, BC_ERR_CORRUPT, "the root element is <%.40s>, not <RunInfo>", el);
          return;
        }
      c->seen_root = true;
    }
  if (c->depth < MAX_DEPTH)
    {
      snprintf (c->stack_names[c->depth], sizeof c->stack_names[c->depth], "%s", el);
      /* A name longer than the slot never matches a path we look for. */
      if (strlen (el) >= sizeof c->stack_names[c->depth])
        c->stack_names[c->depth][0] = '\0';
      c->stack[c->depth] = c->stack_names[c->depth];
    }
  c->depth++;
  if (c->depth > MAX_DEPTH)
    return;

  c->target = TEXT_NONE;
  if (at (c, "RunInfo/Run"))
    {
      if (c->seen_run)
        {
          stop (c, BC_ERR_CORRUPT, "more than one <Run> element");
          return;
        }
      c->seen_run = true;
      const char *id = attr (atts, "Id");
      long number = 0;
      if (!int_attr (c, atts, "Run", "Number", 0, 99999999, false, &number))
        return;
      c->info->run_number = (int) number;
      if (id != NULL)
        {
          free (c->info->run_id);
          c->info->run_id = dup_or_fail (c, id);
        }
    }
  else if (at (c, "RunInfo/Run/Reads"))
    c->seen_reads = true;
  else if (at (c, "RunInfo/Run/Reads/Read"))
    start_read (c, atts);
  else if (at (c, "RunInfo/Run/FlowcellLayout"))
    start_layout (c, atts);
  else if (at (c, "RunInfo/Run/FlowcellLayout/TileSet"))
    {
      const char *conv = attr (atts, "TileNamingConvention");
      c->five_digit = conv != NULL && strcmp (conv, "FiveDigit") == 0;
    }
  else if (at (c, "RunInfo/Run/Flowcell"))
    c->target = TEXT_FLOWCELL;
  else if (at (c, "RunInfo/Run/Instrument"))
    c->target = TEXT_INSTRUMENT;
  else if (at (c, "RunInfo/Run/FlowcellLayout/TileSet/Tiles/Tile"))
    c->target = TEXT_TILE;
  c->text_len = 0;
  c->text[0] = '\0';
}

static void XMLCALL
on_text (void *data, const XML_Char *s, int len)
{
  Ctx *c = data;
  if (c->target == TEXT_NONE || len <= 0)
    return;
  if (c->text_len + (size_t) len > MAX_TEXT)
    {
      stop (c, BC_ERR_CORRUPT, "element text longer than %d bytes", MAX_TEXT);
      return;
    }
  memcpy (c->text + c->text_len, s, (size_t) len);
  c->text_len += (size_t) len;
  c->text[c->text_len] = '\0';
}

static bool
printable (const char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

static void XMLCALL
on_end (void *data, const XML_Char *el)
{
  Ctx *c = data;
  if (c->depth <= MAX_DEPTH)
    {
      switch (c->target)
        {
        case TEXT_FLOWCELL:
        case TEXT_INSTRUMENT:
          if (!printable (c->text))
            stop (c, BC_ERR_CORRUPT, "<%s> holds control characters", el);
          else if (c->target == TEXT_FLOWCELL)
            {
              free (c->info->flowcell);
              c->info->flowcell = dup_or_fail (c, c->text);
            }
          else
            {
              free (c->info->instrument);
              c->info->instrument = dup_or_fail (c, c->text);
            }
          break;
        case TEXT_TILE:
          end_tile (c);
          break;
        case TEXT_NONE:
          break;
        }
    }
  c->target = TEXT_NONE;
  c->depth--;
}

static int
compare_tiles (const void *a, const void *b)
{
  const RunTile *x = a, *y = b;
  if (x->lane != y->lane)
    return x->lane < y->lane ? -1 : 1;
  return x->tile < y->tile ? -1 : x->tile > y->tile;
}

static int
compare_reads (const void *a, const void *b)
{
  const RunRead *x = a, *y = b;
  return x->number < y->number ? -1 : x->number > y->number;
}

/* Whatever expat accepted still has to make sense as a run. */
static int
check (Ctx *c)
{
  RunInfo *info = c->info;
  const char *name = c->name;
  BcError *e = c->error;
  if (!c->seen_run)
    return bc_error_set (e, BC_ERR_CORRUPT, "%s: no <Run> element", name);
  if (info->n_reads == 0)
    return bc_error_set (e, BC_ERR_CORRUPT, "%s: no <Read> elements under <Run><Reads>", name);
  qsort (info->reads, info->n_reads, sizeof info->reads[0], compare_reads);
  int n_index = 0, n_seq = 0, cycle = 1;
  for (size_t i = 0; i < info->n_reads; i++)
    {
      RunRead *r = &info->reads[i];
      if (r->number != (int) i + 1)
        return bc_error_set (e, BC_ERR_CORRUPT,
                             "%s: <Read> numbers are not 1..%zu (read %zu is missing)",
                             name, info->n_reads, i + 1);
      r->first_cycle = cycle;
      cycle += r->cycles;
      if (r->is_index)
        n_index++;
      else
        n_seq++;
    }
  info->total_cycles = cycle - 1;
  if (n_seq == 0)
    return bc_error_set (e, BC_ERR_CORRUPT, "%s: every <Read> is an index read", name);
  if (n_seq > 2 || n_index > 2)
    return bc_error_set (e, BC_ERR_CORRUPT,
                         "%s: %d sequenced and %d index reads; at most 2 of each are "
                         "supported", name, n_seq, n_index);
  if (!c->seen_layout)
    return bc_error_set (e, BC_ERR_CORRUPT,
                         "%s: no <FlowcellLayout>: the lanes and tiles are unknown", name);
  if (info->n_tiles == 0)
    {
      if (c->five_digit)
        return bc_error_set (e, BC_ERR_CORRUPT,
                             "%s: FiveDigit tile names need a <Tiles> list", name);
      for (int lane = 1; lane <= info->lane_count; lane++)
        for (int s = 1; s <= c->surface_count; s++)
          for (int w = 1; w <= c->swath_count; w++)
            for (int t = 1; t <= c->tile_count; t++)
              if (!add_tile (c, lane, s * 1000 + w * 100 + t))
                return -1;
    }
  qsort (info->tiles, info->n_tiles, sizeof info->tiles[0], compare_tiles);
  for (size_t i = 0; i < info->n_tiles; i++)
    {
      if (info->tiles[i].lane > info->lane_count)
        return bc_error_set (e, BC_ERR_CORRUPT,
                             "%s: tile %d_%d is on lane %d but LaneCount is %d", name,
                             info->tiles[i].lane, info->tiles[i].tile, info->tiles[i].lane,
                             info->lane_count);
      if (i > 0 && compare_tiles (&info->tiles[i - 1], &info->tiles[i]) == 0)
        return bc_error_set (e, BC_ERR_CORRUPT, "%s: tile %d_%d is listed twice", name,
                             info->tiles[i].lane, info->tiles[i].tile);
    }
  if (info->run_id == NULL)
    info->run_id = strdup ("");
  if (info->flowcell == NULL)
    info->flowcell = strdup ("");
  if (info->instrument == NULL)
    info->instrument = strdup ("");
  if (info->run_id == NULL || info->flowcell == NULL || info->instrument == NULL)
    return bc_error_set (e, BC_ERR_NO_MEMORY, "out of memory");
  return 0;
}

int
run_info_parse (const char *data, size_t len, const char *name, RunInfo *info,
                BcError *error)
{
  memset (info, 0, sizeof *info);
  if (len > (size_t) 64 << 20)
    return bc_error_set (error, BC_ERR_CORRUPT, "%s: larger than 64 MiB", name);
  Ctx c = { .name = name, .info = info, .error = error };
  c.parser = XML_ParserCreate (NULL);
  if (c.parser == NULL)
    return bc_error_set (error, BC_ERR_NO_MEMORY, "out of memory");
  XML_SetUserData (c.parser, &c);
  XML_SetElementHandler (c.parser, on_start, on_end);
  XML_SetCharacterDataHandler (c.parser, on_text);
  /* No DTD, no external entities: a run folder has no business with them. */
  XML_SetParamEntityParsing (c.parser, XML_PARAM_ENTITY_PARSING_NEVER);

  enum XML_Status st = XML_Parse (c.parser, data, (int) len, XML_TRUE);
  if (st != XML_STATUS_OK && error->kind == BC_ERR_NONE)
    bc_error_set (error, BC_ERR_CORRUPT, "%s:%lu: not well-formed XML: %s", name,
                  (unsigned long) XML_GetCurrentLineNumber (c.parser),
                  XML_ErrorString (XML_GetErrorCode (c.parser)));
  XML_ParserFree (c.parser);
  c.parser = NULL;
  if (error->kind == BC_ERR_NONE && !c.seen_root)
    bc_error_set (error, BC_ERR_CORRUPT, "%s: empty document", name);
  if (error->kind == BC_ERR_NONE)
    check (&c);
  if (error->kind != BC_ERR_NONE)
    {
      run_info_clear (info);
      return -1;
    }
  return 0;
}

int
bc_read_small_file (const char *path, const char *name, size_t max_bytes, char **data,
                    size_t *len, BcError *error)
{
  *data = NULL;
  *len = 0;
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    {
      int err = errno;
      if (err == ENOENT)
        return bc_error_set (error, BC_ERR_CORRUPT, "%s: missing", name);
      return bc_error_set (error, bc_error_kind_from_errno (err), "%s: cannot open: %s",
                           name, strerror (err));
    }
  struct stat st;
  if (fstat (fileno (f), &st) != 0 || !S_ISREG (st.st_mode))
    {
      fclose (f);
      return bc_error_set (error, BC_ERR_CORRUPT, "%s: not a regular file", name);
    }
  if ((uint64_t) st.st_size > max_bytes)
    {
      fclose (f);
      return bc_error_set (error, BC_ERR_CORRUPT, "%s: larger than %zu bytes", name,
                           max_bytes);
    }
  size_t size = (size_t) st.st_size;
  char *buf = malloc (size + 1);
  if (buf == NULL)
    {
      fclose (f);
      return bc_error_set (error, BC_ERR_NO_MEMORY, "%s: out of memory", name);
    }
  size_t got = fread (buf, 1, size, f);
  int err = ferror (f) ? errno : 0;
  fclose (f);
  if (err != 0 || got != size)
    {
      free (buf);
      return bc_error_set (error, err ? bc_error_kind_from_errno (err) : BC_ERR_IO,
                           "%s: read failed: %s", name, err ? strerror (err) : "short read");
    }
  buf[size] = '\0';
  *data = buf;
  *len = size;
  return 0;
}

int
run_info_load (const char *path, const char *name, RunInfo *info, BcError *error)
{
  memset (info, 0, sizeof *info);
  char *data;
  size_t len;
  if (bc_read_small_file (path, name, (size_t) 64 << 20, &data, &len, error) < 0)
    return -1;
  int rc = run_info_parse (data, len, name, info, error);
  free (data);
  return rc;
}

void
run_info_clear (RunInfo *info)
{
  free (info->run_id);
  free (info->flowcell);
  free (info->instrument);
  free (info->tiles);
  memset (info, 0, sizeof *info);
}

size_t
run_info_reads (const RunInfo *info, bool index, const RunRead **out, size_t max)
{
  size_t n = 0;
  for (size_t i = 0; i < info->n_reads && n < max; i++)
    if (info->reads[i].is_index == index)
      out[n++] = &info->reads[i];
  return n;
}
