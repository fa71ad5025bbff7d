/* basecall's parts on their own: RunInfo.xml, the sample sheet, index
 * matching and collisions, and the BCL tile reader on hand-made files,
 * damaged ones included. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

#include "bcl.h"
#include "demux.h"
#include "run-info.h"
#include "sample-sheet.h"
#include "test-util.h"

static const char run_info_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<RunInfo xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" Version=\"2\">\n"
    "  <Run Id=\"250101_M0001_0042_A000H3\" Number=\"42\">\n"
    "    <Flowcell>000000000-H3</Flowcell>\n"
    "    <Instrument>M0001</Instrument>\n"
    "    <!-- a comment the parser must skip -->\n"
    "    <Reads>\n"
    "      <Read Number=\"4\" NumCycles=\"5\" IsIndexedRead=\"N\" />\n"
    "      <Read Number=\"1\" NumCycles=\"5\" IsIndexedRead=\"N\" />\n"
    "      <Read Number=\"2\" NumCycles=\"4\" IsIndexedRead=\"Y\" />\n"
    "      <Read Number=\"3\" NumCycles=\"4\" IsIndexedRead=\"Y\" />\n"
    "    </Reads>\n"
    "    <FlowcellLayout LaneCount=\"2\" SurfaceCount=\"2\" SwathCount=\"1\" TileCount=\"2\">\n"
    "      <TileSet TileNamingConvention=\"FourDigit\"><Tiles>\n"
    "        <Tile>2_1101</Tile><Tile>1_2101</Tile><Tile>1_1101</Tile>\n"
    "      </Tiles></TileSet>\n"
    "    </FlowcellLayout>\n"
    "  </Run>\n"
    "</RunInfo>\n";

static void
test_run_info (void)
{
  RunInfo info;
  BcError e = { 0 };
  g_assert_cmpint (run_info_parse (run_info_xml, strlen (run_info_xml), "RunInfo.xml", &info, &e),
                   ==, 0);
  g_assert_cmpstr (info.run_id, ==, "250101_M0001_0042_A000H3");
  g_assert_cmpstr (info.flowcell, ==, "000000000-H3");
  g_assert_cmpstr (info.instrument, ==, "M0001");
  g_assert_cmpint (info.run_number, ==, 42);
  /* Reads in number order, cycles counted through the run. */
  g_assert_cmpuint (info.n_reads, ==, 4);
  int first[] = { 1, 6, 10, 14 };
  for (int i = 0; i < 4; i++)
    {
      g_assert_cmpint (info.reads[i].number, ==, i + 1);
      g_assert_cmpint (info.reads[i].first_cycle, ==, first[i]);
    }
  g_assert_true (info.reads[1].is_index && info.reads[2].is_index);
  g_assert_false (info.reads[3].is_index);
  g_assert_cmpint (info.total_cycles, ==, 18);
  /* Tiles from the list, sorted by lane then tile. */
  g_assert_cmpuint (info.n_tiles, ==, 3);
  g_assert_cmpint (info.tiles[0].lane, ==, 1);
  g_assert_cmpint (info.tiles[0].tile, ==, 1101);
  g_assert_cmpint (info.tiles[1].tile, ==, 2101);
  g_assert_cmpint (info.tiles[2].lane, ==, 2);
  run_info_clear (&info);
}

/* Without a <Tiles> list the tiles follow from the layout counts. */
static void
test_run_info_derived_tiles (void)
{
  const char *xml = "<RunInfo><Run Id='x' Number='1'><Reads>"
                    "<Read Number='1' NumCycles='10' IsIndexedRead='N'/></Reads>"
                    "<FlowcellLayout LaneCount='1' SurfaceCount='2' SwathCount='3' TileCount='2'/>"
                    "</Run></RunInfo>";
  RunInfo info;
  BcError e = { 0 };
  g_assert_cmpint (run_info_parse (xml, strlen (xml), "RunInfo.xml", &info, &e), ==, 0);
  g_assert_cmpuint (info.n_tiles, ==, 12);
  g_assert_cmpint (info.tiles[0].tile, ==, 1101);
  g_assert_cmpint (info.tiles[1].tile, ==, 1102);
  g_assert_cmpint (info.tiles[2].tile, ==, 1201);
  g_assert_cmpint (info.tiles[11].tile, ==, 2302);
  run_info_clear (&info);
}

typedef struct {
  const char *xml;
  const char *message; /* a part of the expected message */
} BadRunInfo;

static void
test_run_info_bad (void)
{
  const BadRunInfo cases[] = {
    { "", "RunInfo.xml:1: not well-formed XML: no element found" },
    { "<RunInfo><Run>", "RunInfo.xml:1: not well-formed XML" },
    { "<NotRunInfo/>", "root element is <NotRunInfo>" },
    { "<RunInfo/>", "no <Run> element" },
    { "<RunInfo><Run><Reads/></Run></RunInfo>", "no <Read> elements" },
    { "<RunInfo><Run><Reads>\n<Read Number='1' IsIndexedRead='N'/></Reads></Run></RunInfo>",
      "RunInfo.xml:2: <Read> has no NumCycles attribute" },
    { "<RunInfo><Run><Reads><Read Number='1' NumCycles='-3' IsIndexedRead='N'/></Reads></Run>"
      "</RunInfo>", "NumCycles '-3' is not a whole number" },
    { "<RunInfo><Run><Reads><Read Number='1' NumCycles='5000' IsIndexedRead='N'/></Reads></Run>"
      "</RunInfo>", "in 1..1000" },
    { "<RunInfo><Run><Reads><Read Number='1' NumCycles='5' IsIndexedRead='maybe'/></Reads>"
      "</Run></RunInfo>", "neither Y nor N" },
    { "<RunInfo><Run><Reads><Read Number='1' NumCycles='5' IsIndexedRead='N'/>"
      "<Read Number='1' NumCycles='5' IsIndexedRead='N'/></Reads></Run></RunInfo>",
      "two <Read> elements have Number 1" },
    { "<RunInfo><Run><Reads><Read Number='2' NumCycles='5' IsIndexedRead='N'/></Reads></Run>"
      "</RunInfo>", "read 1 is missing" },
    { "<RunInfo><Run><Reads><Read Number='1' NumCycles='5' IsIndexedRead='N'/></Reads></Run>"
      "</RunInfo>", "no <FlowcellLayout>" },
    { "<RunInfo><Run><Reads><Read Number='1' NumCycles='5' IsIndexedRead='N'/></Reads>"
      "<FlowcellLayout LaneCount='1'><TileSet><Tiles><Tile>3_1101</Tile></Tiles></TileSet>"
      "</FlowcellLayout></Run></RunInfo>", "tile 3_1101 is on lane 3 but LaneCount is 1" },
    { "<RunInfo><Run><Reads><Read Number='1' NumCycles='5' IsIndexedRead='N'/></Reads>"
      "<FlowcellLayout LaneCount='1'><TileSet><Tiles><Tile>1101</Tile></Tiles></TileSet>"
      "</FlowcellLayout></Run></RunInfo>", "is not LANE_TILE" },
    { "<RunInfo><Run><Reads><Read Number='1' NumCycles='5' IsIndexedRead='Y'/></Reads>"
      "</Run></RunInfo>", "every <Read> is an index read" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      RunInfo info;
      BcError e = { 0 };
      g_assert_cmpint (run_info_parse (cases[i].xml, strlen (cases[i].xml), "RunInfo.xml", &info,
                                       &e), ==, -1);
      g_assert_cmpint (e.kind, ==, BC_ERR_CORRUPT);
      if (strstr (e.message, cases[i].message) == NULL)
        g_error ("case %" G_GSIZE_FORMAT ": '%s' does not say '%s'", i, e.message,
                 cases[i].message);
      g_assert_null (info.tiles);
    }
}

static const char sheet_csv[] =
    "\xef\xbb\xbf[Header]\r\nIEMFileVersion,4\r\nDate,1/1/2025\r\n\r\n[Reads]\r\n151\r\n151\r\n"
    "[Settings]\r\nAdapter,AGATCGGAAGAGC\r\n\r\n"
    "[Data]\r\n"
    "Lane,Sample_ID,Sample_Name,I7_Index_ID,index,I5_Index_ID,index2,Sample_Project,\r\n"
    "1,S1,Blood one,D701,acgtacgt,D501,TTGGCCAA,\"Project, A\",\r\n"
    ",,,,,,,,\r\n"
    "2,S2,,D702,GGTTAACC,D502,CATGCATG,,\r\n"
    "2,S1,,D703,ACGTACGT,D503,TTGGCCAA,,\r\n";

static void
test_sample_sheet (void)
{
  SampleSheet sheet;
  BcError e = { 0 };
  g_assert_cmpint (sample_sheet_parse (sheet_csv, strlen (sheet_csv), "SampleSheet.csv", &sheet,
                                       &e), ==, 0);
  g_assert_cmpuint (sheet.n_samples, ==, 3);
  g_assert_cmpint (sheet.n_numbers, ==, 2);
  const SheetSample *s = sheet.samples;
  g_assert_cmpint (s[0].lane, ==, 1);
  g_assert_cmpstr (s[0].id, ==, "S1");
  g_assert_cmpstr (s[0].name, ==, "Blood one");
  g_assert_cmpstr (s[0].project, ==, "Project, A");
  g_assert_cmpstr (s[0].index, ==, "ACGTACGT");
  g_assert_cmpstr (s[0].index2, ==, "TTGGCCAA");
  g_assert_cmpint (s[0].number, ==, 1);
  g_assert_cmpuint (s[0].line, ==, 13);
  g_assert_cmpstr (s[1].name, ==, "S2");
  g_assert_cmpint (s[1].number, ==, 2);
  /* The same sample on another lane keeps its number. */
  g_assert_cmpstr (s[2].id, ==, "S1");
  g_assert_cmpint (s[2].number, ==, 1);
  sample_sheet_clear (&sheet);
}

static void
test_sample_sheet_bad (void)
{
  const BadRunInfo cases[] = {
    { "[Header]\nA,B\n", "no [Data] section" },
    { "[Data]\nSample_ID,index\n", "lists no samples" },
    { "[Data]\nSample_Name,index\nA,ACGT\n", "SampleSheet.csv:2: the [Data] header has no Sample_ID" },
    { "[Data]\nSample_ID,index\nA,ACGU\n", "SampleSheet.csv:3: sample 'A': index 'ACGU'" },
    { "[Data]\nSample_ID,index\nA/B,ACGT\n", "SampleSheet.csv:3: Sample_ID 'A/B'" },
    { "[Data]\nSample_ID,index\nA,ACGT\nA,TTTT\n", "SampleSheet.csv:4: sample 'A' is listed again" },
    { "[Data]\nSample_ID,index\nA,ACGT\nB,TTTTT\n", "SampleSheet.csv:4: sample 'B' has indices of 5+0" },
    { "[Data]\nSample_ID,index,index\nA,ACGT,ACGT\n", "column 'index' appears twice" },
    { "[Data]\nSample_ID,index\n\"A,ACGT\n", "SampleSheet.csv:3: a quoted field is not closed" },
    { "[Data]\nLane,Sample_ID,index\n0,A,ACGT\n", "Lane '0' is not a lane number" },
    { "[Data]\nSample_ID,index,index2\nA,,ACGT\n", "has an index2 but no index" },
    { "[Data\nSample_ID\n", "section name has no ']'" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      SampleSheet sheet;
      BcError e = { 0 };
      g_assert_cmpint (sample_sheet_parse (cases[i].xml, strlen (cases[i].xml), "SampleSheet.csv",
                                           &sheet, &e), ==, -1);
      g_assert_cmpint (e.kind, ==, BC_ERR_CONFIG);
      if (strstr (e.message, cases[i].message) == NULL)
        g_error ("case %" G_GSIZE_FORMAT ": '%s' does not say '%s'", i, e.message,
                 cases[i].message);
      g_assert_null (sheet.samples);
    }
}

static IndexCode
code (const char *s)
{
  return index_code_from_string (s, strlen (s));
}

static void
test_index_codes (void)
{
  g_assert_cmpint (index_code_distance (code ("ACGTACGT"), code ("ACGTACGT")), ==, 0);
  g_assert_cmpint (index_code_distance (code ("ACGTACGT"), code ("ACGTACGA")), ==, 1);
  g_assert_cmpint (index_code_distance (code ("ACGTACGT"), code ("TGCATGCA")), ==, 8);
  /* A no-call is a mismatch, even against itself. */
  g_assert_cmpint (index_code_distance (code ("ACGTNCGT"), code ("ACGTACGT")), ==, 1);
  g_assert_cmpint (index_code_distance (code ("NNNNNNNN"), code ("NNNNNNNN")), ==, 8);
  /* 32 bases use every bit. */
  g_assert_cmpint (index_code_distance (code ("ACGTACGTACGTACGTACGTACGTACGTACGT"),
                                        code ("ACGTACGTACGTACGTACGTACGTACGTACGA")), ==, 1);
  char out[DEMUX_MAX_INDEX + 1];
  index_code_to_string (code ("ACGTNA"), out);
  g_assert_cmpstr (out, ==, "ACGTNA");
  index_code_to_string (index_code_reverse_complement (code ("AACGTN")), out);
  g_assert_cmpstr (out, ==, "NACGTT");
  /* From BCL bytes: quality 0 is a no-call whatever the base bits. */
  const uint8_t bcl[] = { (30 << 2) | 0, 0, (30 << 2) | 3, 2, (12 << 2) | 1 };
  index_code_to_string (index_code_from_bcl (bcl, 1, 5), out);
  g_assert_cmpstr (out, ==, "ANTNC");
}

static void
test_demux_match (void)
{
  DemuxEntry entries[] = {
    { 0, code ("AAAAAAAA"), code ("CCCCCCCC"), "'A'" },
    { 1, code ("GGGGGGGG"), code ("TTTTTTTT"), "'B'" },
  };
  DemuxTable t = { entries, 2, 1, true };
  int mm = -1;
  g_assert_cmpint (demux_match (&t, code ("AAAAAAAA"), code ("CCCCCCCC"), &mm), ==, 0);
  g_assert_cmpint (mm, ==, 0);
  /* One mismatch in each index is within mismatches=1 per index. */
  g_assert_cmpint (demux_match (&t, code ("AAAAAAAT"), code ("CCCCNCCC"), &mm), ==, 0);
  g_assert_cmpint (mm, ==, 2);
  g_assert_cmpint (demux_match (&t, code ("GGGGGGGG"), code ("TTTTTTTA"), &mm), ==, 1);
  g_assert_cmpint (mm, ==, 1);
  /* Two in one index is not. */
  g_assert_cmpint (demux_match (&t, code ("AAAAAATT"), code ("CCCCCCCC"), &mm), ==, -1);
  g_assert_cmpint (demux_match (&t, code ("AAAAAAAA"), code ("CCCCCCGG"), &mm), ==, -1);
  t.mismatches = 0;
  g_assert_cmpint (demux_match (&t, code ("AAAAAAAT"), code ("CCCCCCCC"), &mm), ==, -1);
  /* One index read: i5 is not compared. */
  t.dual = false;
  g_assert_cmpint (demux_match (&t, code ("GGGGGGGG"), code ("AAAAAAAA"), &mm), ==, 1);
}

static void
test_collisions (void)
{
  DemuxEntry entries[] = {
    { 0, code ("ACGTACGT"), code ("CCCCCCCC"), "'A' (SampleSheet.csv:5)" },
    { 1, code ("ACGTACTA"), code ("CCCCCCAA"), "'B' (SampleSheet.csv:6)" },
  };
  DemuxTable t = { entries, 2, 1, true };
  BcError e = { 0 };
  /* Two mismatches in i7 and in i5: one read could be one from each. */
  g_assert_cmpint (demux_check_collisions (&t, &e), ==, -1);
  g_assert_cmpint (e.kind, ==, BC_ERR_CONFIG);
  g_assert_nonnull (strstr (e.message, "'A' (SampleSheet.csv:5) (ACGTACGT+CCCCCCCC)"));
  g_assert_nonnull (strstr (e.message, "'B' (SampleSheet.csv:6)"));
  g_assert_nonnull (strstr (e.message, "mismatches=0"));
  t.mismatches = 0;
  memset (&e, 0, sizeof e);
  g_assert_cmpint (demux_check_collisions (&t, &e), ==, 0);
  /* i5 three apart tells them apart at mismatches=1. */
  entries[1].i5 = code ("CCCCCAAA");
  t.mismatches = 1;
  g_assert_cmpint (demux_check_collisions (&t, &e), ==, 0);
  /* Without i5, the i7s alone collide. */
  t.dual = false;
  g_assert_cmpint (demux_check_collisions (&t, &e), ==, -1);
  /* The same indices collide whatever the mismatches. */
  entries[1].i7 = entries[0].i7;
  t.mismatches = 0;
  memset (&e, 0, sizeof e);
  g_assert_cmpint (demux_check_collisions (&t, &e), ==, -1);
  g_assert_nonnull (strstr (e.message, "have the same index ACGTACGT"));
}

/* ---- BCL files made by hand ------------------------------------------------ */

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-bcl-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
}

static void
put_le32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v, v >> 8, v >> 16, v >> 24 };
  g_byte_array_append (a, b, 4);
}

static char *
path_in (Fixture *f, const char *rel)
{
  char *path = g_build_filename (f->dir, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return path;
}

static void
write_file (Fixture *f, const char *rel, const guint8 *data, gsize len, gboolean gz)
{
  g_autofree char *path = path_in (f, rel);
  if (!gz)
    {
      g_assert_true (g_file_set_contents (path, (const char *) data, len, NULL));
      return;
    }
  gzFile out = gzopen (path, "wb6");
  g_assert_nonnull (out);
  g_assert_cmpint (gzwrite (out, data, len), ==, (int) len);
  g_assert_cmpint (gzclose (out), ==, Z_OK);
}

/* One tile of `n` clusters and `cycles` cycles: cluster k's byte at cycle
 * c is ((k + c) % 40 + 2) << 2 | (k + c) % 4; cluster 1 is a no-call at
 * cycle 2. Odd cycles are gzipped. */
static void
write_tile (Fixture *f, guint32 n, int cycles, gboolean locs)
{
  for (int c = 1; c <= cycles; c++)
    {
      g_autoptr (GByteArray) a = g_byte_array_new ();
      put_le32 (a, n);
      for (guint32 k = 0; k < n; k++)
        {
          guint8 b = (guint8) ((((k + c) % 40 + 2) << 2) | ((k + c) % 4));
          if (k == 1 && c == 2)
            b = 0;
          g_byte_array_append (a, &b, 1);
        }
      char rel[128];
      bcl_path (rel, sizeof rel, 1, 1101, c, c % 2);
      write_file (f, rel, a->data, a->len, c % 2);
    }
  g_autoptr (GByteArray) filter = g_byte_array_new ();
  put_le32 (filter, 0);
  put_le32 (filter, 3);
  put_le32 (filter, n);
  for (guint32 k = 0; k < n; k++)
    {
      guint8 b = k % 3 != 0; /* every third fails */
      g_byte_array_append (filter, &b, 1);
    }
  char rel[128];
  bcl_filter_path (rel, sizeof rel, 1, 1101);
  write_file (f, rel, filter->data, filter->len, FALSE);
  if (!locs)
    return;
  g_autoptr (GByteArray) pos = g_byte_array_new ();
  put_le32 (pos, 1);
  float one = 1.0f;
  g_byte_array_append (pos, (const guint8 *) &one, 4);
  put_le32 (pos, n);
  for (guint32 k = 0; k < n; k++)
    {
      float xy[2] = { 0.5f * (float) k, 123.46f };
      g_byte_array_append (pos, (const guint8 *) xy, 8);
    }
  bcl_locs_path (rel, sizeof rel, 1, 1101);
  write_file (f, rel, pos->data, pos->len, FALSE);
}

static void
test_bcl_read (Fixture *f, gconstpointer data)
{
  const guint32 n = 1000;
  const int cycles = 7;
  write_tile (f, n, cycles, TRUE);
  BcError e = { 0 };
  BclTile *t = bcl_tile_open (f->dir, 1, 1101, cycles, &e);
  g_assert_nonnull (t);
  g_assert_cmpuint (bcl_tile_clusters (t), ==, n);
  g_assert_true (bcl_tile_has_positions (t));
  /* Read in uneven chunks: the bytes come back in place. */
  guint8 bcl[7 * 300], pass[300];
  gint32 x[300], y[300];
  guint32 done = 0;
  const guint32 chunks[] = { 1, 299, 300, 300, 100 };
  for (gsize i = 0; i < G_N_ELEMENTS (chunks); i++)
    {
      guint32 m = chunks[i];
      g_assert_cmpint (bcl_tile_read (t, m, bcl, pass, x, y, &e), ==, 0);
      for (guint32 k = 0; k < m; k++)
        {
          guint32 id = done + k;
          for (int c = 1; c <= cycles; c++)
            {
              guint8 want = (guint8) ((((id + c) % 40 + 2) << 2) | ((id + c) % 4));
              if (id == 1 && c == 2)
                want = 0;
              g_assert_cmpuint (bcl[(c - 1) * m + k], ==, want);
            }
          g_assert_cmpuint (pass[k], ==, id % 3 != 0);
          g_assert_cmpint (x[k], ==, bcl_coordinate (0.5f * (float) id));
          g_assert_cmpint (y[k], ==, 2235); /* round (1234.6 + 1000) */
        }
      done += m;
    }
  g_assert_cmpint (bcl_tile_finish (t, &e), ==, 0);
  bcl_tile_close (t);
  g_assert_cmpint (bcl_coordinate (0.0f), ==, 1000);
  g_assert_cmpint (bcl_coordinate (12.34f), ==, 1123);
}

/* Without a locs file, x is the cluster's number and y is 0. */
static void
test_bcl_no_positions (Fixture *f, gconstpointer data)
{
  write_tile (f, 10, 2, FALSE);
  BcError e = { 0 };
  BclTile *t = bcl_tile_open (f->dir, 1, 1101, 2, &e);
  g_assert_nonnull (t);
  g_assert_false (bcl_tile_has_positions (t));
  guint8 bcl[20], pass[10];
  gint32 x[10], y[10];
  g_assert_cmpint (bcl_tile_read (t, 10, bcl, pass, x, y, &e), ==, 0);
  g_assert_cmpint (x[0], ==, 1);
  g_assert_cmpint (x[9], ==, 10);
  g_assert_cmpint (y[9], ==, 0);
  bcl_tile_close (t);
}

/* Reads the whole tile; returns the error. */
static BcError
read_tile (Fixture *f, int cycles)
{
  BcError e = { 0 };
  BclTile *t = bcl_tile_open (f->dir, 1, 1101, cycles, &e);
  if (t == NULL)
    return e;
  guint32 n = bcl_tile_clusters (t);
  g_autofree guint8 *bcl = g_malloc ((gsize) cycles * 64);
  guint8 pass[64];
  gint32 x[64], y[64];
  for (guint32 done = 0; done < n;)
    {
      guint32 m = MIN (64, n - done);
      if (bcl_tile_read (t, m, bcl, pass, x, y, &e) < 0)
        break;
      done += m;
    }
  if (e.kind == BC_ERR_NONE)
    bcl_tile_finish (t, &e);
  bcl_tile_close (t);
  return e;
}

static void
expect_corrupt (BcError e, const char *file, const char *what)
{
  g_assert_cmpint (e.kind, ==, BC_ERR_CORRUPT);
  if (strstr (e.message, file) == NULL || strstr (e.message, what) == NULL)
    g_error ("'%s' should name %s and say '%s'", e.message, file, what);
}

static void
rewrite (Fixture *f, const char *rel, gsize keep, const char *append, gsize append_len)
{
  g_autofree char *path = g_build_filename (f->dir, rel, NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_autoptr (GByteArray) a = g_byte_array_new ();
  g_byte_array_append (a, (guint8 *) data, MIN (keep, len));
  if (append)
    g_byte_array_append (a, (const guint8 *) append, append_len);
  g_assert_true (g_file_set_contents (path, (char *) a->data, a->len, NULL));
}

/* Overwrites `n` bytes at `offset`. */
static void
patch (Fixture *f, const char *rel, gsize offset, const char *bytes, gsize n)
{
  g_autofree char *path = g_build_filename (f->dir, rel, NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (offset + n, <=, len);
  memcpy (data + offset, bytes, n);
  g_assert_true (g_file_set_contents (path, data, len, NULL));
}

static void
test_bcl_damaged (Fixture *f, gconstpointer data)
{
  const char *c2 = "Data/Intensities/BaseCalls/L001/C2.1/s_1_1101.bcl";
  const char *c3 = "Data/Intensities/BaseCalls/L001/C3.1/s_1_1101.bcl.gz";
  const char *filter = "Data/Intensities/BaseCalls/L001/s_1_1101.filter";
  const char *locs = "Data/Intensities/L001/s_1_1101.locs";

  write_tile (f, 500, 4, TRUE);
  g_assert_cmpint (read_tile (f, 4).kind, ==, BC_ERR_NONE);

  /* A plain BCL cut short. */
  rewrite (f, c2, 4 + 300, NULL, 0);
  expect_corrupt (read_tile (f, 4), c2, "truncated: declares 500 clusters but ends after 300");
  write_tile (f, 500, 4, TRUE);

  /* One byte too many. */
  rewrite (f, c2, G_MAXSIZE, "x", 1);
  expect_corrupt (read_tile (f, 4), c2, "more data than its 500 declared clusters");
  write_tile (f, 500, 4, TRUE);

  /* A cluster count that disagrees with the tile's. */
  patch (f, c2, 0, "\xf3\x01\x00\x00", 4);
  expect_corrupt (read_tile (f, 4), c2, "499 clusters, but the filter file of the tile says 500");
  write_tile (f, 500, 4, TRUE);

  /* A gzip stream cut short, and damaged gzip data. */
  g_autofree char *c3_path = g_build_filename (f->dir, c3, NULL);
  g_autofree char *gz = NULL;
  gsize gz_len;
  g_assert_true (g_file_get_contents (c3_path, &gz, &gz_len, NULL));
  rewrite (f, c3, gz_len / 2, NULL, 0);
  expect_corrupt (read_tile (f, 4), c3, "damaged gzip data");
  gz[gz_len / 2] ^= 0x55;
  gz[gz_len / 2 + 1] ^= 0x55;
  g_assert_true (g_file_set_contents (c3_path, gz, gz_len, NULL));
  BcError e = read_tile (f, 4);
  g_assert_cmpint (e.kind, ==, BC_ERR_CORRUPT);
  g_assert_nonnull (strstr (e.message, c3));
  write_tile (f, 500, 4, TRUE);

  /* A ".gz" that is not gzip. */
  g_assert_true (g_file_set_contents (c3_path, "\xf4\x01\x00\x00plain bytes", 15, NULL));
  expect_corrupt (read_tile (f, 4), c3, "not gzip data");
  write_tile (f, 500, 4, TRUE);

  /* A missing cycle. */
  g_autofree char *c2_path = g_build_filename (f->dir, c2, NULL);
  g_assert_cmpint (g_unlink (c2_path), ==, 0);
  expect_corrupt (read_tile (f, 4), c2, "missing: cycle 2 of lane 1, tile 1101");
  write_tile (f, 500, 4, TRUE);

  /* More cycles than the run folder holds. */
  expect_corrupt (read_tile (f, 5), "C5.1/s_1_1101.bcl", "missing");

  /* The filter file: missing, wrong version, short header. */
  g_autofree char *filter_path = g_build_filename (f->dir, filter, NULL);
  g_assert_cmpint (g_unlink (filter_path), ==, 0);
  expect_corrupt (read_tile (f, 4), filter, "missing");
  write_tile (f, 500, 4, TRUE);
  patch (f, filter, 4, "\x02", 1);
  expect_corrupt (read_tile (f, 4), filter, "not a filter file of version 3");
  rewrite (f, filter, 6, NULL, 0);
  expect_corrupt (read_tile (f, 4), filter, "truncated: 6 of the 12 header bytes");
  write_tile (f, 500, 4, TRUE);
  rewrite (f, filter, 12 + 100, NULL, 0);
  expect_corrupt (read_tile (f, 4), filter, "truncated");
  write_tile (f, 500, 4, TRUE);

  /* The locs file: a count that disagrees, a bad position. */
  patch (f, locs, 8, "\x01\x00", 2);
  expect_corrupt (read_tile (f, 4), locs, "1 clusters, but the filter file says 500");
  write_tile (f, 500, 4, TRUE);
  g_autofree char *locs_path = g_build_filename (f->dir, locs, NULL);
  g_autofree char *pos = NULL;
  gsize pos_len;
  g_assert_true (g_file_get_contents (locs_path, &pos, &pos_len, NULL));
  memcpy (pos + 12 + 8 * 7, "\x00\x00\xc0\x7f", 4); /* NaN */
  g_assert_true (g_file_set_contents (locs_path, pos, pos_len, NULL));
  expect_corrupt (read_tile (f, 4), locs, "cluster 8: position is not a number in range");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/basecall/run-info", test_run_info);
  g_test_add_func ("/basecall/run-info/derived-tiles", test_run_info_derived_tiles);
  g_test_add_func ("/basecall/run-info/bad", test_run_info_bad);
  g_test_add_func ("/basecall/sample-sheet", test_sample_sheet);
  g_test_add_func ("/basecall/sample-sheet/bad", test_sample_sheet_bad);
  g_test_add_func ("/basecall/index-codes", test_index_codes);
  g_test_add_func ("/basecall/demux/match", test_demux_match);
  g_test_add_func ("/basecall/demux/collisions", test_collisions);
  g_test_add ("/basecall/bcl/read", Fixture, NULL, fixture_setup, test_bcl_read, fixture_teardown);
  g_test_add ("/basecall/bcl/no-positions", Fixture, NULL, fixture_setup, test_bcl_no_positions,
              fixture_teardown);
  g_test_add ("/basecall/bcl/damaged", Fixture, NULL, fixture_setup, test_bcl_damaged,
              fixture_teardown);
  return g_test_run ();
}
