/* Fuzz target: the files of a run folder that basecall reads, and the
 * reference FASTA that simulate-run reads. The first byte picks the parser,
 * the rest is the file:
 *
 *   0 RunInfo.xml   1 SampleSheet.csv   2 a plain BCL   3 a gzip BCL
 *   4 a filter file   5 a locs file   6 a FASTA reference
 *
 * For 2-5 the other files of the tile are valid (16 clusters, 2 cycles)
 * and the tile is read to its end in odd-sized chunks. Any bytes must give
 * a result or one error with a message, never a crash. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "bcl.h"
#include "reference.h"
#include "run-info.h"
#include "sample-sheet.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CLUSTERS 16

static char *dir;

static void
put (const char *rel, const void *bytes, size_t len, gboolean gz)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_mkdir_with_parents (parent, 0700);
  if (!gz)
    {
      /* Not g_file_set_contents, and no truncation: both make ext4 write
       * the file out at once, thousands of times. A new file does not. */
      g_unlink (path);
      FILE *out = fopen (path, "wb");
      if (out == NULL || (len > 0 && fwrite (bytes, 1, len, out) != len) || fclose (out) != 0)
        g_error ("cannot write %s", path);
      return;
    }
  gzFile out = gzopen (path, "wb1");
  if (out == NULL || (len > 0 && gzwrite (out, bytes, (unsigned) len) != (int) len)
      || gzclose (out) != Z_OK)
    g_error ("cannot write %s", path);
}

/* A valid tile: 16 clusters, 2 cycles (C1 plain, C2 gzip), filter, locs. */
static void
valid_tile (void)
{
  uint8_t bcl[4 + CLUSTERS] = { CLUSTERS, 0, 0, 0 };
  for (int k = 0; k < CLUSTERS; k++)
    bcl[4 + k] = (uint8_t) ((30 + k) << 2 | (k & 3));
  char rel[128];
  bcl_path (rel, sizeof rel, 1, 1101, 1, 0);
  put (rel, bcl, sizeof bcl, FALSE);
  bcl_path (rel, sizeof rel, 1, 1101, 2, 1);
  put (rel, bcl, sizeof bcl, TRUE);
  uint8_t filter[12 + CLUSTERS] = { 0, 0, 0, 0, 3, 0, 0, 0, CLUSTERS, 0, 0, 0 };
  memset (filter + 12, 1, CLUSTERS);
  bcl_filter_path (rel, sizeof rel, 1, 1101);
  put (rel, filter, sizeof filter, FALSE);
  uint8_t locs[12 + 8 * CLUSTERS] = { 1, 0, 0, 0, 0, 0, 0x80, 0x3f, CLUSTERS, 0, 0, 0 };
  for (int k = 0; k < CLUSTERS; k++)
    {
      float xy[2] = { (float) k, (float) (2 * k) };
      memcpy (locs + 12 + 8 * k, xy, 8);
    }
  bcl_locs_path (rel, sizeof rel, 1, 1101);
  put (rel, locs, sizeof locs, FALSE);
}

static void
check_message (const char *message)
{
  if (message[0] == '\0' || !g_utf8_validate (message, -1, NULL))
    g_error ("an error without a readable message");
}

static void
read_tile (void)
{
  BcError e = { 0 };
  BclTile *t = bcl_tile_open (dir, 1, 1101, 2, &e);
  if (t == NULL)
    {
      check_message (e.message);
      return;
    }
  uint8_t bcl[2 * 7], pass[7];
  int32_t x[7], y[7];
  uint32_t n = bcl_tile_clusters (t);
  int rc = 0;
  for (uint32_t done = 0; rc == 0 && done < n;)
    {
      uint32_t m = n - done < 7 ? n - done : 7;
      rc = bcl_tile_read (t, m, bcl, pass, x, y, &e);
      done += m;
    }
  if (rc == 0)
    rc = bcl_tile_finish (t, &e);
  if (rc != 0)
    check_message (e.message);
  bcl_tile_close (t);
}

/* Replaces one file of the valid tile with the input, reads the tile,
 * and puts the valid file back. */
static void
read_with (const char *rel, const char *bytes, size_t len)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *saved = NULL;
  gsize saved_len = 0;
  if (!g_file_get_contents (path, &saved, &saved_len, NULL))
    g_error ("cannot read %s", path);
  put (rel, bytes, len, FALSE);
  read_tile ();
  put (rel, saved, saved_len, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (dir == NULL)
    {
      dir = g_dir_make_tmp ("fuzz-basecall-XXXXXX", NULL);
      valid_tile ();
    }
  if (size < 1)
    return 0;
  int which = data[0] % 7;
  const char *text = (const char *) data + 1;
  size_t len = size - 1;
  BcError e = { 0 };
  char rel[128];
  switch (which)
    {
    case 0:
      {
        RunInfo info;
        if (run_info_parse (text, len, "RunInfo.xml", &info, &e) == 0)
          {
            for (size_t i = 1; i < info.n_tiles; i++)
              if (info.tiles[i].lane < info.tiles[i - 1].lane)
                g_error ("tiles out of order");
            run_info_clear (&info);
          }
        else
          check_message (e.message);
        break;
      }
    case 1:
      {
        SampleSheet sheet;
        if (sample_sheet_parse (text, len, "SampleSheet.csv", &sheet, &e) == 0)
          {
            for (size_t i = 0; i < sheet.n_samples; i++)
              if (!sample_sheet_valid_index (sheet.samples[i].index))
                g_error ("an invalid index passed");
            sample_sheet_clear (&sheet);
          }
        else
          check_message (e.message);
        break;
      }
    case 2:
    case 3:
      bcl_path (rel, sizeof rel, 1, 1101, which == 2 ? 1 : 2, which == 3);
      read_with (rel, text, len);
      break;
    case 4:
      bcl_filter_path (rel, sizeof rel, 1, 1101);
      read_with (rel, text, len);
      break;
    case 5:
      bcl_locs_path (rel, sizeof rel, 1, 1101);
      read_with (rel, text, len);
      break;
    default:
      {
        Reference ref;
        SimError se = { 0 };
        if (reference_parse (text, len, "reference.fa", &ref, &se) == 0)
          reference_clear (&ref);
        else if (se.message[0] == '\0')
          g_error ("an error without a message");
        break;
      }
    }
  return 0;
}
