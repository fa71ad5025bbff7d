/* simulate-run: the run folder writer (see run-folder.h). */
#include "run-folder.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

int
run_folder_tile_number (const RunLayout *layout, int i)
{
  int surfaces = layout->tiles >= 2 ? 2 : 1;
  int per_surface = (layout->tiles + surfaces - 1) / surfaces;
  int surface = i / per_surface, tile = i % per_surface;
  return (surface + 1) * 1000 + 100 + tile + 1;
}

int32_t
run_folder_coordinate (float position)
{
  return (int32_t) floor ((double) position * 10.0 + 1000.5);
}

static int
make_dir (const char *path, SimError *e)
{
  if (mkdir (path, 0755) == 0 || errno == EEXIST)
    return 0;
  return sim_error_set (e, sim_error_kind_from_errno (errno), "%s: cannot create: %s", path,
                        strerror (errno));
}

int
run_folder_create (const char *dir, const RunLayout *layout, int cycles, SimError *e)
{
  char path[4096];
  const char *parts[] = { "Data", "Data/Intensities", "Data/Intensities/BaseCalls" };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    {
      snprintf (path, sizeof path, "%s/%s", dir, parts[i]);
      if (make_dir (path, e) < 0)
        return -1;
    }
  for (int lane = 1; lane <= layout->lanes; lane++)
    {
      snprintf (path, sizeof path, "%s/Data/Intensities/L%03d", dir, lane);
      if (make_dir (path, e) < 0)
        return -1;
      snprintf (path, sizeof path, "%s/Data/Intensities/BaseCalls/L%03d", dir, lane);
      if (make_dir (path, e) < 0)
        return -1;
      for (int c = 1; c <= cycles; c++)
        {
          snprintf (path, sizeof path, "%s/Data/Intensities/BaseCalls/L%03d/C%d.1", dir, lane, c);
          if (make_dir (path, e) < 0)
            return -1;
        }
    }
  return 0;
}

/* Opens `name` under `dir` for writing. */
static FILE *
create (const char *dir, const char *name, SimError *e)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen (path, "wb");
  if (f == NULL)
    sim_error_set (e, sim_error_kind_from_errno (errno), "%s: cannot create: %s", name,
                   strerror (errno));
  return f;
}

static int
close_file (FILE *f, const char *name, SimError *e)
{
  int err = ferror (f) ? (errno ? errno : EIO) : 0;
  if (fclose (f) != 0 && err == 0)
    err = errno ? errno : EIO;
  if (err != 0)
    return sim_error_set (e, sim_error_kind_from_errno (err), "%s: write failed: %s", name,
                          strerror (err));
  return 0;
}

/* Text for an XML attribute or element. */
static void
put_xml (FILE *f, const char *s)
{
  for (; *s; s++)
    switch (*s)
      {
      case '&': fputs ("&amp;", f); break;
      case '<': fputs ("&lt;", f); break;
      case '>': fputs ("&gt;", f); break;
      case '"': fputs ("&quot;", f); break;
      case '\'': fputs ("&apos;", f); break;
      default: fputc (*s, f);
      }
}

int
run_folder_write_run_info (const char *dir, const RunLayout *l, SimError *e)
{
  FILE *f = create (dir, "RunInfo.xml", e);
  if (f == NULL)
    return -1;
  fputs ("<?xml version=\"1.0\"?>\n<RunInfo xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
         "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" Version=\"2\">\n"
         "  <Run Id=\"", f);
  put_xml (f, l->run_id);
  fprintf (f, "\" Number=\"%d\">\n    <Flowcell>", l->run_number);
  put_xml (f, l->flowcell);
  fputs ("</Flowcell>\n    <Instrument>", f);
  put_xml (f, l->instrument);
  fputs ("</Instrument>\n    <Date>", f);
  put_xml (f, l->date);
  fputs ("</Date>\n    <Reads>\n", f);
  int number = 1;
  fprintf (f, "      <Read Number=\"%d\" NumCycles=\"%d\" IsIndexedRead=\"N\" />\n", number++,
           l->read_length);
  if (l->i7_cycles > 0)
    fprintf (f, "      <Read Number=\"%d\" NumCycles=\"%d\" IsIndexedRead=\"Y\" />\n", number++,
             l->i7_cycles);
  if (l->i5_cycles > 0)
    fprintf (f, "      <Read Number=\"%d\" NumCycles=\"%d\" IsIndexedRead=\"Y\" />\n", number++,
             l->i5_cycles);
  if (l->paired)
    fprintf (f, "      <Read Number=\"%d\" NumCycles=\"%d\" IsIndexedRead=\"N\" />\n", number++,
             l->read_length);
  int surfaces = l->tiles >= 2 ? 2 : 1;
  fprintf (f, "    </Reads>\n    <FlowcellLayout LaneCount=\"%d\" SurfaceCount=\"%d\" "
           "SwathCount=\"1\" TileCount=\"%d\">\n      <TileSet TileNamingConvention=\"FourDigit\">\n"
           "        <Tiles>\n", l->lanes, surfaces, (l->tiles + surfaces - 1) / surfaces);
  for (int lane = 1; lane <= l->lanes; lane++)
    for (int i = 0; i < l->tiles; i++)
      fprintf (f, "          <Tile>%d_%d</Tile>\n", lane, run_folder_tile_number (l, i));
  fputs ("        </Tiles>\n      </TileSet>\n    </FlowcellLayout>\n  </Run>\n</RunInfo>\n", f);
  return close_file (f, "RunInfo.xml", e);
}

int
run_folder_write_sample_sheet (const char *dir, const RunLayout *l, const SheetRow *rows,
                               size_t n, SimError *e)
{
  FILE *f = create (dir, "SampleSheet.csv", e);
  if (f == NULL)
    return -1;
  /* The run id and the ids are plain (checked by the caller): no quoting. */
  fprintf (f, "[Header]\nIEMFileVersion,4\nExperiment Name,%s\nDate,%s\nWorkflow,GenerateFASTQ\n"
           "Application,FASTQ Only\nInstrument Type,Strand simulated sequencer\n"
           "Chemistry,%s\n\n[Reads]\n%d\n", l->run_id, l->date,
           l->i5_cycles > 0 ? "Amplicon" : "Default", l->read_length);
  if (l->paired)
    fprintf (f, "%d\n", l->read_length);
  fputs ("\n[Settings]\nAdapter,AGATCGGAAGAGCACACGTCTGAACTCCAGTCA\n", f);
  if (l->paired)
    fputs ("AdapterRead2,AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT\n", f);
  fputs ("\n[Data]\nSample_ID,Sample_Name,index,index2\n", f);
  for (size_t i = 0; i < n; i++)
    fprintf (f, "%s,%s,%s,%s\n", rows[i].id, rows[i].id, rows[i].index, rows[i].index2);
  return close_file (f, "SampleSheet.csv", e);
}

int
run_folder_write_complete (const char *dir, SimError *e)
{
  FILE *f = create (dir, "RTAComplete.txt", e);
  if (f == NULL)
    return -1;
  fputs ("RTA 3.4.4\n", f);
  return close_file (f, "RTAComplete.txt", e);
}

static void
put_le32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) v;
  p[1] = (uint8_t) (v >> 8);
  p[2] = (uint8_t) (v >> 16);
  p[3] = (uint8_t) (v >> 24);
}

/* One cycle's BCL file. */
static int
write_bcl (const char *dir, int lane, int tile, int cycle, const uint8_t *data, uint32_t n,
           bool gzip, SimError *e)
{
  char name[256], path[4096];
  snprintf (name, sizeof name, "Data/Intensities/BaseCalls/L%03d/C%d.1/s_%d_%d.bcl%s", lane,
            cycle, lane, tile, gzip ? ".gz" : "");
  snprintf (path, sizeof path, "%s/%s", dir, name);
  uint8_t header[4];
  put_le32 (header, n);
  if (!gzip)
    {
      FILE *f = fopen (path, "wb");
      if (f == NULL)
        return sim_error_set (e, sim_error_kind_from_errno (errno), "%s: cannot create: %s",
                              name, strerror (errno));
      fwrite (header, 1, 4, f);
      fwrite (data, 1, n, f);
      return close_file (f, name, e);
    }
  errno = 0;
  gzFile gz = gzopen (path, "wb1");
  if (gz == NULL)
    return sim_error_set (e, sim_error_kind_from_errno (errno ? errno : ENOMEM),
                          "%s: cannot create: %s", name, strerror (errno ? errno : ENOMEM));
  gzbuffer (gz, 128u << 10);
  bool ok = gzwrite (gz, header, 4) == 4 && (n == 0 || gzwrite (gz, data, n) == (int) n);
  int err = errno;
  int rc = gzclose_w (gz);
  if (!ok || rc != Z_OK)
    return sim_error_set (e, sim_error_kind_from_errno (err ? err : EIO), "%s: write failed: %s",
                          name, strerror (err ? err : EIO));
  return 0;
}

typedef struct {
  const char *dir;
  int lane, tile, cycles, threads, index;
  const uint8_t *bcl;
  uint32_t n;
  bool gzip;
  SimError error;
} CycleJob;

static void *
write_cycles (void *data)
{
  CycleJob *job = data;
  for (int c = job->index; c < job->cycles; c += job->threads)
    if (write_bcl (job->dir, job->lane, job->tile, c + 1, job->bcl + (size_t) c * job->n, job->n,
                   job->gzip, &job->error) < 0)
      break;
  return NULL;
}

int
run_folder_write_tile (const char *dir, int lane, int tile, int cycles, const uint8_t *bcl,
                       uint32_t n, const uint8_t *pass, const float *x, const float *y,
                       bool gzip, int threads, SimError *e)
{
  if (threads < 1)
    threads = 1;
  if (threads > cycles)
    threads = cycles;
  if (threads > 64)
    threads = 64;
  CycleJob jobs[64];
  pthread_t ids[64];
  bool running[64] = { false };
  for (int t = 0; t < threads; t++)
    jobs[t] = (CycleJob) { .dir = dir, .lane = lane, .tile = tile, .cycles = cycles,
                           .threads = threads, .index = t, .bcl = bcl, .n = n, .gzip = gzip };
  for (int t = 1; t < threads; t++)
    running[t] = pthread_create (&ids[t], NULL, write_cycles, &jobs[t]) == 0;
  write_cycles (&jobs[0]);
  /* A thread that could not start: its share is done here. */
  for (int t = 1; t < threads; t++)
    if (running[t])
      pthread_join (ids[t], NULL);
    else
      write_cycles (&jobs[t]);
  for (int t = 0; t < threads; t++)
    if (jobs[t].error.kind != SIM_ERR_NONE)
      return sim_error_set (e, jobs[t].error.kind, "%s", jobs[t].error.message);

  char name[256];
  uint8_t header[12];
  snprintf (name, sizeof name, "Data/Intensities/BaseCalls/L%03d/s_%d_%d.filter", lane, lane, tile);
  FILE *f = create (dir, name, e);
  if (f == NULL)
    return -1;
  put_le32 (header, 0);
  put_le32 (header + 4, 3);
  put_le32 (header + 8, n);
  fwrite (header, 1, 12, f);
  fwrite (pass, 1, n, f);
  if (close_file (f, name, e) < 0)
    return -1;

  snprintf (name, sizeof name, "Data/Intensities/L%03d/s_%d_%d.locs", lane, lane, tile);
  f = create (dir, name, e);
  if (f == NULL)
    return -1;
  float one = 1.0f;
  uint32_t bits;
  put_le32 (header, 1);
  memcpy (&bits, &one, 4);
  put_le32 (header + 4, bits);
  put_le32 (header + 8, n);
  fwrite (header, 1, 12, f);
  for (uint32_t k = 0; k < n; k++)
    {
      uint8_t xy[8];
      uint32_t bx, by;
      memcpy (&bx, &x[k], 4);
      memcpy (&by, &y[k], 4);
      put_le32 (xy, bx);
      put_le32 (xy + 4, by);
      fwrite (xy, 1, 8, f);
    }
  return close_file (f, name, e);
}
