/* basecall: the BCL, filter and locs readers (see bcl.h). */
#include "bcl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define NAME_SIZE 96
#define LOCS_CHUNK 4096 /* positions decoded per read */

typedef struct {
  gzFile gz; /* compressed BCL */
  FILE *fp;  /* plain BCL, filter, locs */
  char name[NAME_SIZE];
} Stream;

struct BclTile {
  int n_cycles;
  uint32_t clusters;
  uint32_t done;
  Stream *cycles;
  Stream filter;
  Stream locs; /* fp NULL: no positions file */
};

void
bcl_path (char *out, size_t size, int lane, int tile, int cycle, int gz)
{
  snprintf (out, size, "Data/Intensities/BaseCalls/L%03d/C%d.1/s_%d_%d.bcl%s", lane, cycle,
            lane, tile, gz ? ".gz" : "");
}

void
bcl_filter_path (char *out, size_t size, int lane, int tile)
{
  snprintf (out, size, "Data/Intensities/BaseCalls/L%03d/s_%d_%d.filter", lane, lane, tile);
}

void
bcl_locs_path (char *out, size_t size, int lane, int tile)
{
  snprintf (out, size, "Data/Intensities/L%03d/s_%d_%d.locs", lane, lane, tile);
}

int32_t
bcl_coordinate (float position)
{
  return (int32_t) floor ((double) position * 10.0 + 1000.5);
}

static uint32_t
le32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static char *
join (const char *dir, const char *rel)
{
  size_t n = strlen (dir) + strlen (rel) + 2;
  char *p = malloc (n);
  if (p != NULL)
    snprintf (p, n, "%s/%s", dir, rel);
  return p;
}

/* Opens `rel` under `dir` as a plain stream; *missing says it was not
 * there (and no error is set). */
static int
open_plain (Stream *s, const char *dir, const char *rel, bool *missing, BcError *e)
{
  snprintf (s->name, sizeof s->name, "%s", rel);
  char *path = join (dir, rel);
  if (path == NULL)
    return bc_error_set (e, BC_ERR_NO_MEMORY, "out of memory");
  s->fp = fopen (path, "rb");
  int err = errno;
  free (path);
  if (s->fp != NULL)
    {
      struct stat st;
      if (fstat (fileno (s->fp), &st) != 0 || !S_ISREG (st.st_mode))
        {
          fclose (s->fp);
          s->fp = NULL;
          return bc_error_set (e, BC_ERR_CORRUPT, "%s: not a regular file", rel);
        }
      return 0;
    }
  if (err == ENOENT && missing != NULL)
    {
      *missing = true;
      return 0;
    }
  if (err == ENOENT)
    return bc_error_set (e, BC_ERR_CORRUPT, "%s: missing", rel);
  return bc_error_set (e, err == EMFILE || err == ENFILE ? BC_ERR_NO_MEMORY
                                                         : bc_error_kind_from_errno (err),
                       "%s: cannot open: %s", rel, strerror (err));
}

/* The cycle's BCL: "name.bcl.gz" when it exists, else "name.bcl". */
static int
open_cycle (Stream *s, const char *dir, int lane, int tile, int cycle, BcError *e)
{
  char rel[NAME_SIZE];
  bool missing = false;
  bcl_path (rel, sizeof rel, lane, tile, cycle, 1);
  if (open_plain (s, dir, rel, &missing, e) < 0)
    return -1;
  if (!missing)
    {
      int fd = dup (fileno (s->fp));
      fclose (s->fp);
      s->fp = NULL;
      if (fd < 0)
        return bc_error_set (e, BC_ERR_NO_MEMORY, "%s: cannot open: %s", rel, strerror (errno));
      s->gz = gzdopen (fd, "rb");
      if (s->gz == NULL)
        {
          close (fd);
          return bc_error_set (e, BC_ERR_NO_MEMORY, "%s: cannot open: out of memory", rel);
        }
      gzbuffer (s->gz, 32u << 10);
      return 0;
    }
  missing = false;
  bcl_path (rel, sizeof rel, lane, tile, cycle, 0);
  if (open_plain (s, dir, rel, &missing, e) < 0)
    return -1;
  if (missing)
    return bc_error_set (e, BC_ERR_CORRUPT,
                         "%s(.gz): missing: cycle %d of lane %d, tile %d has no BCL file", rel,
                         cycle, lane, tile);
  return 0;
}

/* Reads up to `n` bytes; *got < n only at the end of the file. */
static int
stream_read (Stream *s, void *buf, size_t n, size_t *got, BcError *e)
{
  *got = 0;
  if (s->gz != NULL)
    {
      uint8_t *p = buf;
      while (*got < n)
        {
          size_t want = n - *got;
          int r = gzread (s->gz, p + *got, want > (1u << 30) ? 1u << 30 : (unsigned) want);
          if (r < 0)
            {
              int errnum = 0;
              const char *msg = gzerror (s->gz, &errnum);
              if (errnum == Z_ERRNO)
                return bc_error_set (e, bc_error_kind_from_errno (errno), "%s: read failed: %s",
                                     s->name, strerror (errno));
              if (errnum == Z_MEM_ERROR)
                return bc_error_set (e, BC_ERR_NO_MEMORY, "%s: out of memory", s->name);
              return bc_error_set (e, BC_ERR_CORRUPT, "%s: damaged gzip data: %s", s->name,
                                   msg ? msg : "unknown zlib error");
            }
          if (r == 0)
            {
              /* A stream cut short ends "cleanly" for gzread but leaves
               * an error behind. */
              int errnum = 0;
              const char *msg = gzerror (s->gz, &errnum);
              if (errnum != Z_OK)
                return bc_error_set (e, BC_ERR_CORRUPT, "%s: damaged gzip data: %s",
                                     s->name, msg ? msg : "unknown zlib error");
              break;
            }
          *got += (size_t) r;
        }
      return 0;
    }
  *got = fread (buf, 1, n, s->fp);
  if (*got < n && ferror (s->fp))
    return bc_error_set (e, bc_error_kind_from_errno (errno), "%s: read failed: %s", s->name,
                         strerror (errno));
  return 0;
}

static void
stream_close (Stream *s)
{
  if (s->gz != NULL)
    gzclose_r (s->gz);
  if (s->fp != NULL)
    fclose (s->fp);
  s->gz = NULL;
  s->fp = NULL;
}

static int
read_header (Stream *s, uint8_t *header, size_t n, BcError *e)
{
  size_t got;
  if (stream_read (s, header, n, &got, e) < 0)
    return -1;
  if (s->gz != NULL && gzdirect (s->gz))
    return bc_error_set (e, BC_ERR_CORRUPT, "%s: not gzip data", s->name);
  if (got < n)
    return bc_error_set (e, BC_ERR_CORRUPT, "%s: truncated: %zu of the %zu header bytes",
                         s->name, got, n);
  return 0;
}

BclTile *
bcl_tile_open (const char *run_dir, int lane, int tile, int n_cycles, BcError *e)
{
  BclTile *t = calloc (1, sizeof *t);
  if (t != NULL)
    t->cycles = calloc ((size_t) n_cycles, sizeof *t->cycles);
  if (t == NULL || t->cycles == NULL)
    {
      free (t);
      bc_error_set (e, BC_ERR_NO_MEMORY, "out of memory");
      return NULL;
    }
  t->n_cycles = n_cycles;
  uint8_t header[12];

  /* The filter file sets the count every other file must agree with. */
  char rel[NAME_SIZE];
  bcl_filter_path (rel, sizeof rel, lane, tile);
  if (open_plain (&t->filter, run_dir, rel, NULL, e) < 0 || read_header (&t->filter, header, 12, e) < 0)
    goto fail;
  if (le32 (header) != 0 || le32 (header + 4) < 3)
    {
      bc_error_set (e, BC_ERR_CORRUPT, "%s: not a filter file of version 3 or later", rel);
      goto fail;
    }
  t->clusters = le32 (header + 8);

  bool no_locs = false;
  bcl_locs_path (rel, sizeof rel, lane, tile);
  if (open_plain (&t->locs, run_dir, rel, &no_locs, e) < 0)
    goto fail;
  if (!no_locs)
    {
      float one;
      if (read_header (&t->locs, header, 12, e) < 0)
        goto fail;
      memcpy (&one, header + 4, 4);
      if (le32 (header) != 1 || one != 1.0f)
        {
          bc_error_set (e, BC_ERR_CORRUPT, "%s: not a locs file (bad header)", rel);
          goto fail;
        }
      if (le32 (header + 8) != t->clusters)
        {
          bc_error_set (e, BC_ERR_CORRUPT, "%s: %u clusters, but the filter file says %u",
                        rel, le32 (header + 8), t->clusters);
          goto fail;
        }
    }

  for (int c = 0; c < n_cycles; c++)
    {
      Stream *s = &t->cycles[c];
      if (open_cycle (s, run_dir, lane, tile, c + 1, e) < 0 || read_header (s, header, 4, e) < 0)
        goto fail;
      if (le32 (header) != t->clusters)
        {
          bc_error_set (e, BC_ERR_CORRUPT,
                        "%s: %u clusters, but the filter file of the tile says %u", s->name,
                        le32 (header), t->clusters);
          goto fail;
        }
    }
  return t;

fail:
  bcl_tile_close (t);
  return NULL;
}

uint32_t
bcl_tile_clusters (const BclTile *t)
{
  return t->clusters;
}

int
bcl_tile_has_positions (const BclTile *t)
{
  return t->locs.fp != NULL;
}

static int
read_exact (Stream *s, void *buf, size_t n, uint32_t declared, uint32_t at, BcError *e)
{
  size_t got;
  if (stream_read (s, buf, n, &got, e) < 0)
    return -1;
  if (got < n)
    return bc_error_set (e, BC_ERR_CORRUPT,
                         "%s: truncated: declares %u clusters but ends after %zu", s->name,
                         declared, (size_t) at + got);
  return 0;
}

int
bcl_tile_read (BclTile *t, size_t n, uint8_t *bcl, uint8_t *pass, int32_t *x, int32_t *y,
               BcError *e)
{
  if (n > t->clusters - t->done)
    return bc_error_set (e, BC_ERR_CONFIG, "internal: read past the tile's clusters");
  for (int c = 0; c < t->n_cycles; c++)
    if (read_exact (&t->cycles[c], bcl + (size_t) c * n, n, t->clusters, t->done, e) < 0)
      return -1;
  if (read_exact (&t->filter, pass, n, t->clusters, t->done, e) < 0)
    return -1;
  for (size_t k = 0; k < n; k++)
    pass[k] &= 1;
  if (t->locs.fp == NULL)
    {
      for (size_t k = 0; k < n; k++)
        {
          x[k] = (int32_t) (t->done + k + 1);
          y[k] = 0;
        }
    }
  else
    {
      uint8_t buf[LOCS_CHUNK * 8];
      for (size_t k = 0; k < n;)
        {
          size_t m = n - k < LOCS_CHUNK ? n - k : LOCS_CHUNK;
          if (read_exact (&t->locs, buf, m * 8, t->clusters, t->done + (uint32_t) k, e) < 0)
            return -1;
          for (size_t i = 0; i < m; i++, k++)
            {
              float fx, fy;
              uint32_t ux = le32 (buf + 8 * i), uy = le32 (buf + 8 * i + 4);
              memcpy (&fx, &ux, 4);
              memcpy (&fy, &uy, 4);
              if (!(fx > -1e6f && fx < 1e8f && fy > -1e6f && fy < 1e8f))
                return bc_error_set (e, BC_ERR_CORRUPT,
                                     "%s: cluster %u: position is not a number in range",
                                     t->locs.name, t->done + (uint32_t) k + 1);
              x[k] = bcl_coordinate (fx);
              y[k] = bcl_coordinate (fy);
            }
        }
    }
  t->done += (uint32_t) n;
  return 0;
}

static int
check_end (Stream *s, uint32_t declared, BcError *e)
{
  uint8_t extra;
  size_t got;
  if (stream_read (s, &extra, 1, &got, e) < 0)
    return -1;
  if (got != 0)
    return bc_error_set (e, BC_ERR_CORRUPT,
                         "%s: holds more data than its %u declared clusters", s->name,
                         declared);
  return 0;
}

int
bcl_tile_finish (BclTile *t, BcError *e)
{
  if (t->done != t->clusters)
    return bc_error_set (e, BC_ERR_CONFIG, "internal: tile finished early");
  for (int c = 0; c < t->n_cycles; c++)
    if (check_end (&t->cycles[c], t->clusters, e) < 0)
      return -1;
  if (check_end (&t->filter, t->clusters, e) < 0)
    return -1;
  if (t->locs.fp != NULL && check_end (&t->locs, t->clusters, e) < 0)
    return -1;
  return 0;
}

void
bcl_tile_close (BclTile *t)
{
  if (t == NULL)
    return;
  for (int c = 0; c < t->n_cycles; c++)
    stream_close (&t->cycles[c]);
  stream_close (&t->filter);
  stream_close (&t->locs);
  free (t->cycles);
  free (t);
}
