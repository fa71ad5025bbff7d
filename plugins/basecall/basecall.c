/* basecall: an Illumina run folder to demultiplexed FASTQ, the job of
 * bcl2fastq.
 *
 * A per-run stage: it reads RunInfo.xml (run-info.h) and the sample sheet
 * (sample-sheet.h; the run folder's own SampleSheet.csv unless one is
 * connected), checks the indices cannot collide within the mismatches
 * allowed (demux.h), then reads the BCL files tile by tile (bcl.h) and
 * writes each cluster that passed the filter to its sample's gzip FASTQ
 * (fastq-writer.h), or to Undetermined. Each sample's files go out through
 * sample_output_path, so the host hands them to that sample's downstream
 * stages only. The statistics (demux-stats.h) go out as JSON and as
 * metrics.
 *
 * The samples of the run must all be in the sample sheet; sheet rows of
 * other samples (another project on the same flow cell) are demultiplexed,
 * so their reads do not end up in Undetermined, and counted, but not
 * written. Output is the same bytes for the same inputs and parameters,
 * whatever the number of cores. */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>


#include "bcl.h"
#include "demux-stats.h"
#include "demux.h"
#include "fastq-writer.h"
#include "run-info.h"
#include "sample-sheet.h"

#define CHUNK_CLUSTERS 16384     /* clusters per read of a tile's files, */
#define CHUNK_BYTES (16u << 20)   /* unless that makes a chunk larger than this */
#define MAX_NAME 160         /* "instrument:run:flowcell:lane:tile:x:y" */

/* How one lane is demultiplexed. */
typedef struct {
  int lane;
  DemuxTable table;
  int *row_of_entry; /* sheet row of each table entry */
  char **labels;
  int len7, len5;    /* index bases compared (the sheet's lengths) */
  bool has_samples;
} LanePlan;

typedef struct {
  StrandTask *task;
  const StrandHost *host;
  BcError error;

  int64_t mismatches;
  bool rc_i5;
  bool include_filtered;
  bool split_lanes;
  int64_t level;

  const char *run_dir;
  RunInfo info;
  SampleSheet sheet;
  char sheet_name[64];
  const RunRead *seq[2];
  size_t n_seq;
  const RunRead *idx[2];
  size_t n_idx;

  bool *row_in_run;
  LanePlan *plans; /* by lane - 1 */
  int n_slots;     /* lane slots of writers: lane_count when split, else 1 */
  FastqWriter **writers;      /* [(number - 1) * n_slots + slot][read] */
  FastqWriter **undetermined; /* [slot][read] */
  DemuxStats *stats;
  char name_prefix[MAX_NAME]; /* "instrument:run:flowcell" */
} Basecall;

/* ---- failures ---------------------------------------------------------- */

static StrandErrorClass
error_class (BcErrorKind kind)
{
  switch (kind)
    {
    case BC_ERR_CORRUPT: return STRAND_ERROR_INVALID_INPUT;
    case BC_ERR_CONFIG: return STRAND_ERROR_CONFIG;
    case BC_ERR_NO_MEMORY: return STRAND_ERROR_RESOURCE;
    case BC_ERR_NO_SPACE: return STRAND_ERROR_STORAGE;
    case BC_ERR_IO:
    case BC_ERR_NONE:
    default: return STRAND_ERROR_TRANSIENT;
    }
}

static int
fail_with (StrandTask *task, const StrandHost *host, const BcError *e)
{
  return host->fail (task, error_class (e->kind), "%s", e->message);
}

/* ---- parameters and inputs ------------------------------------------- */

static int
read_params (Basecall *b)
{
  const StrandHost *host = b->host;
  if (host->param_int (b->task, "mismatches", &b->mismatches) < 0
      || host->param_bool (b->task, "i5_reverse_complement", &b->rc_i5) < 0
      || host->param_bool (b->task, "include_filtered", &b->include_filtered) < 0
      || host->param_bool (b->task, "split_lanes", &b->split_lanes) < 0
      || host->param_int (b->task, "compression_level", &b->level) < 0)
    return host->fail (b->task, STRAND_ERROR_CONFIG,
                       "cannot read parameters mismatches, i5_reverse_complement, "
                       "include_filtered, split_lanes, compression_level");
  if (b->mismatches < 0 || b->mismatches > 2 || b->level < 1 || b->level > 9)
    return host->fail (b->task, STRAND_ERROR_CONFIG,
                       "mismatches must be 0..2 and compression_level 1..9");
  return STRAND_OK;
}

static bool
is_directory (const char *path)
{
  struct stat st;
  return path != NULL && stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static char *
join (const char *dir, const char *name)
{
  size_t n = strlen (dir) + strlen (name) + 2;
  char *p = malloc (n);
  if (p != NULL)
    snprintf (p, n, "%s/%s", dir, name);
  return p;
}

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* The connected sample sheet, else the run folder's SampleSheet.csv; NULL
 * (and nothing set) when neither is available yet. */
static int
load_sheet (StrandTask *task, const StrandHost *host, const char *run_dir, SampleSheet *sheet,
            char *name, size_t name_size, BcError *e)
{
  char *path = NULL;
  if (host->input_count (task, "sample_sheet") > 0)
    {
      const char *in = host->input_path (task, "sample_sheet", 0);
      if (in == NULL)
        return bc_error_set (e, BC_ERR_CONFIG, "no path for input 'sample_sheet'");
      snprintf (name, name_size, "%s", base_name (in));
      path = strdup (in);
    }
  else if (run_dir != NULL)
    {
      snprintf (name, name_size, "SampleSheet.csv");
      path = join (run_dir, "SampleSheet.csv");
    }
  else
    return 1;
  if (path == NULL)
    return bc_error_set (e, BC_ERR_NO_MEMORY, "out of memory");
  int rc = sample_sheet_load (path, name, sheet, e);
  free (path);
  return rc;
}

/* ---- the demultiplexing plan --------------------------------------- */

static void
plans_free (Basecall *b)
{
  if (b->plans == NULL)
    return;
  for (int l = 0; l < b->info.lane_count; l++)
    {
      LanePlan *p = &b->plans[l];
      for (size_t i = 0; i < p->table.n; i++)
        free (p->labels[i]);
      free (p->labels);
      free (p->table.entries);
      free (p->row_of_entry);
    }
  free (b->plans);
  b->plans = NULL;
}

/* One lane's table: the sheet rows for it, their indices packed, and the
 * collision check. `idx_cycles` are the index reads' lengths (0: none). */
static int
plan_lane (LanePlan *p, int lane, const SampleSheet *sheet, const char *sheet_name,
           int mismatches, bool rc_i5, const int idx_cycles[2], bool name_lane, BcError *e)
{
  p->lane = lane;
  p->table.mismatches = mismatches;
  size_t n = 0;
  for (size_t r = 0; r < sheet->n_samples; r++)
    n += sheet->samples[r].lane == 0 || sheet->samples[r].lane == lane;
  p->has_samples = n > 0;
  p->len7 = idx_cycles[0];
  p->len5 = idx_cycles[1];
  if (n == 0)
    return 0;
  p->table.entries = calloc (n, sizeof *p->table.entries);
  p->row_of_entry = calloc (n, sizeof *p->row_of_entry);
  p->labels = calloc (n, sizeof *p->labels);
  if (p->table.entries == NULL || p->row_of_entry == NULL || p->labels == NULL)
    return bc_error_set (e, BC_ERR_NO_MEMORY, "out of memory");
  for (size_t r = 0; r < sheet->n_samples; r++)
    {
      const SheetSample *s = &sheet->samples[r];
      if (s->lane != 0 && s->lane != lane)
        continue;
      int len7 = (int) strlen (s->index), len5 = (int) strlen (s->index2);
      char where[96] = "";
      if (s->line > 0)
        snprintf (where, sizeof where, "%s:%zu: ", sheet_name, s->line);
      if (len7 > idx_cycles[0] || len5 > idx_cycles[1])
        return bc_error_set (e, BC_ERR_CONFIG,
                             "%ssample '%s' has an index of %d+%d bases but the run reads "
                             "only %d+%d index cycles", where, s->id, len7, len5, idx_cycles[0],
                             idx_cycles[1]);
      if (p->table.n > 0 && (len7 != p->len7 || len5 != p->len5))
        return bc_error_set (e, BC_ERR_CONFIG,
                             "%ssample '%s' has an index of %d+%d bases but other samples of "
                             "lane %d have %d+%d", where, s->id, len7, len5, lane, p->len7,
                             p->len5);
      p->len7 = len7;
      p->len5 = len5;
      size_t k = p->table.n++;
      DemuxEntry *entry = &p->table.entries[k];
      entry->sample = (int) r;
      entry->i7 = index_code_from_string (s->index, (size_t) len7);
      entry->i5 = index_code_from_string (s->index2, (size_t) len5);
      if (rc_i5)
        entry->i5 = index_code_reverse_complement (entry->i5);
      size_t label_size = strlen (s->id) + strlen (sheet_name) + 32;
      p->labels[k] = malloc (label_size);
      if (p->labels[k] == NULL)
        return bc_error_set (e, BC_ERR_NO_MEMORY, "out of memory");
      if (s->line > 0)
        snprintf (p->labels[k], label_size, "'%s' (%s:%zu)", s->id, sheet_name, s->line);
      else
        snprintf (p->labels[k], label_size, "'%s'", s->id);
      entry->label = p->labels[k];
      p->row_of_entry[k] = (int) r;
    }
  p->table.dual = p->len5 > 0;
  if (demux_check_collisions (&p->table, e) < 0 && name_lane)
    {
      char msg[sizeof e->message];
      snprintf (msg, sizeof msg, "lane %d: %.1000s", lane, e->message);
      memcpy (e->message, msg, sizeof msg);
    }
  return e->kind == BC_ERR_NONE ? 0 : -1;
}

static void
index_cycles (const RunInfo *info, int out[2])
{
  const RunRead *idx[2];
  size_t n = run_info_reads (info, true, idx, 2);
  out[0] = n > 0 ? idx[0]->cycles : 0;
  out[1] = n > 1 ? idx[1]->cycles : 0;
}

/* Every sample of the run must be in the sheet, with the indices its own
 * metadata gives (when it gives any). Marks the rows whose reads are
 * written. */
static int
match_run_samples (Basecall *b)
{
  const StrandHost *host = b->host;
  size_t n_run = host->run_sample_count (b->task);
  b->row_in_run = calloc (b->sheet.n_samples ? b->sheet.n_samples : 1, sizeof *b->row_in_run);
  if (b->row_in_run == NULL)
    return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory");
  for (size_t i = 0; i < n_run; i++)
    {
      const char *id = host->run_sample_id (b->task, i);
      bool found = false;
      for (size_t r = 0; id != NULL && r < b->sheet.n_samples; r++)
        {
          const SheetSample *s = &b->sheet.samples[r];
          if (strcmp (s->id, id) != 0)
            continue;
          found = true;
          b->row_in_run[r] = true;
          const char *meta[2] = { host->run_sample_meta (b->task, id, "index"),
                                  host->run_sample_meta (b->task, id, "index2") };
          const char *sheet_idx[2] = { s->index, s->index2 };
          const char *key[2] = { "index", "index2" };
          for (int k = 0; k < 2; k++)
            if (meta[k] != NULL && meta[k][0] != '\0' && strcasecmp (meta[k], sheet_idx[k]) != 0)
              return bc_error_set (&b->error, BC_ERR_CONFIG,
                                   "sample '%s': its %s is %s in the run's samples but %s "
                                   "in %s:%zu", id, key[k], meta[k],
                                   sheet_idx[k][0] ? sheet_idx[k] : "empty", b->sheet_name,
                                   s->line);
        }
      if (!found)
        return bc_error_set (&b->error, BC_ERR_CONFIG,
                             "sample '%s' of the run is not in %s", id ? id : "(null)",
                             b->sheet_name);
    }
  return 0;
}

static int
make_plans (Basecall *b, const int idx_cycles[2])
{
  b->plans = calloc ((size_t) b->info.lane_count, sizeof *b->plans);
  if (b->plans == NULL)
    return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory");
  for (int l = 0; l < b->info.lane_count; l++)
    if (plan_lane (&b->plans[l], l + 1, &b->sheet, b->sheet_name, (int) b->mismatches,
                   b->rc_i5, idx_cycles, b->info.lane_count > 1, &b->error) < 0)
      return -1;
  return 0;
}

/* ---- outputs ------------------------------------------------------------ */

static bool
lane_has_tiles (const RunInfo *info, int lane)
{
  for (size_t t = 0; t < info->n_tiles; t++)
    if (info->tiles[t].lane == lane)
      return true;
  return false;
}

static FastqWriter *
open_writer (Basecall *b, const char *port, const char *sample, const char *file_name)
{
  const char *path = NULL;
  int rc = sample ? b->host->sample_output_path (b->task, port, sample, file_name, &path)
                  : b->host->output_path (b->task, port, file_name, &path);
  if (rc < 0 || path == NULL)
    {
      bc_error_set (&b->error, rc == STRAND_E_NO_SPACE ? BC_ERR_NO_SPACE : BC_ERR_IO,
                    "no output path for %s on port '%s'", file_name, port);
      return NULL;
    }
  return fastq_writer_open (path, file_name, (int) b->level, &b->error);
}

/* bcl2fastq's names: <id>_S<n>[_L00<lane>]_R<read>_001.fastq.gz. */
static void
file_name (char *out, size_t size, const char *id, int number, int lane, size_t read)
{
  char lane_part[16] = "";
  if (lane > 0)
    snprintf (lane_part, sizeof lane_part, "_L%03d", lane);
  snprintf (out, size, "%s_S%d%s_R%zu_001.fastq.gz", id, number, lane_part, read + 1);
}

static int
open_outputs (Basecall *b)
{
  static const char *const ports[2] = { "read1", "read2" };
  b->n_slots = b->split_lanes ? b->info.lane_count : 1;
  size_t n_numbers = (size_t) b->sheet.n_numbers;
  b->writers = calloc (n_numbers * (size_t) b->n_slots * 2 + 1, sizeof *b->writers);
  b->undetermined = calloc ((size_t) b->n_slots * 2, sizeof *b->undetermined);
  if (b->writers == NULL || b->undetermined == NULL)
    return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory");
  char name[256];
  for (int slot = 0; slot < b->n_slots; slot++)
    {
      int lane = b->split_lanes ? slot + 1 : 0;
      if (lane > 0 && !lane_has_tiles (&b->info, lane))
        continue;
      for (size_t r = 0; r < b->sheet.n_samples; r++)
        {
          const SheetSample *s = &b->sheet.samples[r];
          if (!b->row_in_run[r] || (lane > 0 && s->lane != 0 && s->lane != lane))
            continue;
          for (size_t read = 0; read < b->n_seq; read++)
            {
              FastqWriter **w =
                  &b->writers[(((size_t) s->number - 1) * (size_t) b->n_slots + (size_t) slot) * 2
                              + read];
              if (*w != NULL)
                continue; /* the same sample on another row of this lane slot */
              file_name (name, sizeof name, s->id, s->number, lane, read);
              if ((*w = open_writer (b, ports[read], s->id, name)) == NULL)
                return -1;
            }
        }
      for (size_t read = 0; read < b->n_seq; read++)
        {
          file_name (name, sizeof name, "Undetermined", 0, lane, read);
          if ((b->undetermined[slot * 2 + (int) read] = open_writer (b, "undetermined", NULL, name))
              == NULL)
            return -1;
        }
    }
  return 0;
}

static int
close_outputs (Basecall *b)
{
  int rc = 0;
  size_t n = (size_t) b->sheet.n_numbers * (size_t) b->n_slots * 2;
  for (size_t i = 0; b->writers != NULL && i < n; i++)
    if (fastq_writer_close (b->writers[i], &b->error) < 0)
      rc = -1;
  for (int i = 0; b->undetermined != NULL && i < b->n_slots * 2; i++)
    if (fastq_writer_close (b->undetermined[i], &b->error) < 0)
      rc = -1;
  free (b->writers);
  free (b->undetermined);
  b->writers = NULL;
  b->undetermined = NULL;
  return rc;
}

/* Read names hold no blanks or control characters, whatever RunInfo.xml
 * says the instrument and flow cell are called. */
static void
clean_name_part (char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s <= ' ' || *s == 0x7f || *s == ':')
      *s = '_';
}

/* ---- the tiles ---------------------------------------------------------- */

typedef struct {
  uint8_t *bcl;
  uint8_t *pass;
  int32_t *x;
  int32_t *y;
} Chunk;

static int
process_chunk (Basecall *b, const LanePlan *plan, LaneStats *ls, int tile, const Chunk *c,
               size_t n)
{
  char name[MAX_NAME + 48];
  char comment[2 * DEMUX_MAX_INDEX + 32];
  char indices[2 * DEMUX_MAX_INDEX + 2];
  int slot = b->split_lanes ? plan->lane - 1 : 0;
  size_t prefix_len = strlen (b->name_prefix);
  memcpy (name, b->name_prefix, prefix_len);
  for (size_t k = 0; k < n; k++)
    {
      bool pass = c->pass[k] != 0;
      if (pass)
        ls->clusters_pf++;
      else if (!b->include_filtered)
        continue;

      IndexCode i7 = { 0, 0, 0 }, i5 = { 0, 0, 0 };
      if (b->n_idx > 0)
        i7 = index_code_from_bcl (c->bcl + (size_t) (b->idx[0]->first_cycle - 1) * n + k, n,
                                  (size_t) plan->len7);
      if (b->n_idx > 1)
        i5 = index_code_from_bcl (c->bcl + (size_t) (b->idx[1]->first_cycle - 1) * n + k, n,
                                  (size_t) plan->len5);
      int mismatches = 0;
      int entry = plan->has_samples ? demux_match (&plan->table, i7, i5, &mismatches) : -1;
      int row = entry >= 0 ? plan->row_of_entry[entry] : -1;

      index_code_to_string (i7, indices);
      if (plan->len5 > 0 || (!plan->has_samples && b->n_idx > 1))
        {
          size_t l7 = strlen (indices);
          indices[l7] = '+';
          index_code_to_string (i5, indices + l7 + 1);
        }
      if (b->n_idx == 0 || (plan->has_samples && plan->len7 == 0))
        /* Nothing to show: bcl2fastq writes the sample number instead. */
        snprintf (indices, sizeof indices, "%d", row >= 0 ? b->sheet.samples[row].number : 0);

      snprintf (name + prefix_len, sizeof name - prefix_len, ":%d:%d:%" PRId32 ":%" PRId32,
                plan->lane, tile, c->x[k], c->y[k]);

      DemuxCounts *counts = NULL;
      FastqWriter **w = NULL;
      if (row >= 0)
        {
          const SheetSample *s = &b->sheet.samples[row];
          counts = &ls->rows[row];
          if (b->row_in_run[row])
            w = &b->writers[(((size_t) s->number - 1) * (size_t) b->n_slots + (size_t) slot) * 2];
        }
      else
        {
          counts = &ls->undetermined;
          w = &b->undetermined[slot * 2];
          if (pass)
            demux_stats_unknown (b->stats, plan->lane, indices);
        }
      if (pass)
        {
          counts->clusters++;
          counts->perfect += mismatches == 0;
          counts->one_mismatch += mismatches == 1;
        }
      for (size_t r = 0; r < b->n_seq; r++)
        {
          const uint8_t *bases = c->bcl + (size_t) (b->seq[r]->first_cycle - 1) * n + k;
          if (pass)
            demux_counts_add_bases (counts, bases, n, b->seq[r]->cycles);
          if (w == NULL)
            continue;
          snprintf (comment, sizeof comment, "%zu:%c:0:%s", r + 1, pass ? 'N' : 'Y', indices);
          if (fastq_writer_put (w[r], name, comment, bases, n, b->seq[r]->cycles, &b->error) < 0)
            return -1;
        }
    }
  return 0;
}

static int
process_tiles (Basecall *b)
{
  size_t cycles = (size_t) b->info.total_cycles;
  size_t chunk = CHUNK_BYTES / cycles < CHUNK_CLUSTERS ? CHUNK_BYTES / cycles : CHUNK_CLUSTERS;
  Chunk c = { 0 };
  c.bcl = malloc (cycles * chunk);
  c.pass = malloc (chunk);
  c.x = malloc (chunk * sizeof *c.x);
  c.y = malloc (chunk * sizeof *c.y);
  int rc = 0;
  if (c.bcl == NULL || c.pass == NULL || c.x == NULL || c.y == NULL)
    rc = bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory for %zu cycles", cycles);
  for (size_t t = 0; rc == 0 && t < b->info.n_tiles; t++)
    {
      int lane = b->info.tiles[t].lane, tile = b->info.tiles[t].tile;
      const LanePlan *plan = &b->plans[lane - 1];
      LaneStats *ls = demux_stats_lane (b->stats, lane);
      char msg[64];
      snprintf (msg, sizeof msg, "lane %d, tile %d", lane, tile);
      b->host->progress (b->task, (double) t / (double) b->info.n_tiles, msg);
      BclTile *bt = bcl_tile_open (b->run_dir, lane, tile, (int) cycles, &b->error);
      if (bt == NULL)
        {
          rc = -1;
          break;
        }
      uint32_t total = bcl_tile_clusters (bt);
      ls->clusters_raw += total;
      for (uint32_t done = 0; rc == 0 && done < total;)
        {
          if (b->host->cancelled (b->task))
            {
              rc = 1;
              break;
            }
          size_t n = total - done < chunk ? total - done : chunk;
          if (bcl_tile_read (bt, n, c.bcl, c.pass, c.x, c.y, &b->error) < 0
              || process_chunk (b, plan, ls, tile, &c, n) < 0)
            rc = -1;
          done += (uint32_t) n;
        }
      if (rc == 0 && bcl_tile_finish (bt, &b->error) < 0)
        rc = -1;
      bcl_tile_close (bt);
    }
  free (c.bcl);
  free (c.pass);
  free (c.x);
  free (c.y);
  return rc;
}

/* A tile keeps every cycle's file open: make room for them. */
static int
raise_file_limit (Basecall *b)
{
  struct rlimit rl;
  rlim_t need = (rlim_t) b->info.total_cycles + 64
                + (rlim_t) b->sheet.n_numbers * (rlim_t) b->n_slots * 2;
  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
    return 0;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
    return bc_error_set (&b->error, BC_ERR_NO_MEMORY,
                         "needs %llu open files at once but the limit is %llu",
                         (unsigned long long) need, (unsigned long long) rl.rlim_max);
  rl.rlim_cur = need;
  if (setrlimit (RLIMIT_NOFILE, &rl) != 0)
    return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "cannot raise the open-file limit to %llu",
                         (unsigned long long) need);
  return 0;
}

/* ---- report ------------------------------------------------------------- */

static int
write_report (Basecall *b)
{
  const char *path = NULL;
  if (b->host->output_path (b->task, "stats", "demux-stats.json", &path) < 0 || path == NULL)
    return bc_error_set (&b->error, BC_ERR_IO, "no output path for port 'stats'");
  FILE *out = fopen (path, "w");
  if (out == NULL)
    return bc_error_set (&b->error, bc_error_kind_from_errno (errno),
                         "demux-stats.json: cannot create: %s", strerror (errno));
  DemuxReportOptions opt = { .mismatches = (int) b->mismatches, .row_in_run = b->row_in_run };
  int rc = demux_stats_write_json (b->stats, &b->info, &b->sheet, &opt, out);
  int err = rc < 0 ? (errno ? errno : EIO) : 0;
  if (fclose (out) != 0 && err == 0)
    err = errno;
  if (err != 0)
    return bc_error_set (&b->error, bc_error_kind_from_errno (err),
                         "demux-stats.json: write failed: %s", strerror (err));

  const StrandHost *host = b->host;
  DemuxCounts all = demux_stats_total (b->stats, &b->sheet, NULL, false);
  DemuxCounts und = demux_stats_total (b->stats, &b->sheet, NULL, true);
  uint64_t raw = 0, pf = 0;
  for (int l = 1; l <= b->info.lane_count; l++)
    {
      LaneStats *ls = demux_stats_lane (b->stats, l);
      if (ls != NULL)
        {
          raw += ls->clusters_raw;
          pf += ls->clusters_pf;
        }
    }
  uint64_t yield = all.yield + und.yield, q30 = all.yield_q30 + und.yield_q30;
  host->metric (b->task, "clusters_raw", (double) raw);
  host->metric (b->task, "clusters_pf", (double) pf);
  host->metric (b->task, "undetermined_clusters", (double) und.clusters);
  host->metric (b->task, "undetermined_fraction", pf ? (double) und.clusters / (double) pf : 0.0);
  host->metric (b->task, "yield", (double) yield);
  host->metric (b->task, "percent_q30", yield ? 100.0 * (double) q30 / (double) yield : 0.0);
  host->log (b->task, STRAND_LOG_INFO,
             "%" PRIu64 " clusters, %" PRIu64 " passed the filter, %" PRIu64 " undetermined",
             raw, pf, und.clusters);
  for (size_t r = 0; r < b->sheet.n_samples; r++)
    {
      const SheetSample *s = &b->sheet.samples[r];
      if (!b->row_in_run[r])
        continue;
      bool first = true;
      for (size_t q = 0; q < r && first; q++)
        first = strcmp (b->sheet.samples[q].id, s->id) != 0;
      if (!first)
        continue;
      DemuxCounts c = demux_stats_total (b->stats, &b->sheet, s->id, false);
      double pq30 = c.yield ? 100.0 * (double) c.yield_q30 / (double) c.yield : 0.0;
      char metric[SAMPLE_SHEET_MAX_ID + 32];
      snprintf (metric, sizeof metric, "sample.%s.clusters", s->id);
      host->metric (b->task, metric, (double) c.clusters);
      snprintf (metric, sizeof metric, "sample.%s.percent_q30", s->id);
      host->metric (b->task, metric, pq30);
      host->log (b->task, STRAND_LOG_INFO,
                 "%s: %" PRIu64 " clusters (%" PRIu64 " perfect index, %" PRIu64
                 " one mismatch), %.1f%% >= Q30",
                 s->id, c.clusters, c.perfect, c.one_mismatch, pq30);
    }
  return 0;
}

/* ---- run and validate ---------------------------------------------------- */

static void
basecall_clear (Basecall *b)
{
  close_outputs (b);
  demux_stats_free (b->stats);
  plans_free (b);
  free (b->row_in_run);
  sample_sheet_clear (&b->sheet);
  run_info_clear (&b->info);
}

static int
basecall (Basecall *b)
{
  if (b->host->input_count (b->task, "run") < 1)
    return bc_error_set (&b->error, BC_ERR_CONFIG, "no run folder on input 'run'");
  b->run_dir = b->host->input_path (b->task, "run", 0);
  if (!is_directory (b->run_dir))
    return bc_error_set (&b->error, BC_ERR_CORRUPT, "input 'run' is not a run folder "
                         "(a directory with RunInfo.xml)");
  char *run_info = join (b->run_dir, "RunInfo.xml");
  if (run_info == NULL)
    return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory");
  int rc = run_info_load (run_info, "RunInfo.xml", &b->info, &b->error);
  free (run_info);
  if (rc < 0)
    return -1;
  b->n_seq = run_info_reads (&b->info, false, b->seq, 2);
  b->n_idx = run_info_reads (&b->info, true, b->idx, 2);
  int idx_cycles[2];
  index_cycles (&b->info, idx_cycles);
  if (load_sheet (b->task, b->host, b->run_dir, &b->sheet, b->sheet_name, sizeof b->sheet_name,
                  &b->error) != 0
      || make_plans (b, idx_cycles) < 0 || match_run_samples (b) < 0)
    return -1;

  char instrument[64], flowcell[64];
  snprintf (instrument, sizeof instrument, "%s", b->info.instrument[0] ? b->info.instrument : "UNKNOWN");
  snprintf (flowcell, sizeof flowcell, "%s", b->info.flowcell[0] ? b->info.flowcell : "UNKNOWN");
  clean_name_part (instrument);
  clean_name_part (flowcell);
  snprintf (b->name_prefix, sizeof b->name_prefix, "%s:%d:%s", instrument, b->info.run_number,
            flowcell);

  /* The FASTQ files are compressed in this thread, each on its own: one
   * htslib thread pool shared by every sample's writers once lost a BGZF
   * block of a file under load (records spliced, the file still valid
   * gzip), and a demultiplexer must never do that. */
  b->stats = demux_stats_new (&b->info, &b->sheet);
  if (b->stats == NULL)
    return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory");
  b->n_slots = b->split_lanes ? b->info.lane_count : 1;
  if (raise_file_limit (b) < 0 || open_outputs (b) < 0)
    return -1;
  rc = process_tiles (b);
  if (rc != 0)
    return rc;
  if (close_outputs (b) < 0)
    return -1;
  return write_report (b);
}

static int
run (StrandTask *task, const StrandHost *host)
{
  Basecall b = { .task = task, .host = host };
  int ret = read_params (&b);
  if (ret != STRAND_OK)
    return ret;
  int rc = basecall (&b);
  basecall_clear (&b);
  if (rc > 0)
    {
      host->log (task, STRAND_LOG_INFO, "cancelled");
      return STRAND_E_CANCELLED;
    }
  if (rc < 0)
    return fail_with (task, host, &b.error);
  host->progress (task, 1.0, "done");
  return STRAND_OK;
}

/* The samples' own index metadata as a sample sheet, when every sample of
 * the run has an index; 1 when some have none (nothing to check). */
static int
sheet_from_metadata (Basecall *b)
{
  const StrandHost *host = b->host;
  size_t n = host->run_sample_count (b->task);
  snprintf (b->sheet_name, sizeof b->sheet_name, "samples");
  b->sheet.samples = calloc (n ? n : 1, sizeof *b->sheet.samples);
  if (b->sheet.samples == NULL)
    return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory");
  for (size_t i = 0; i < n; i++)
    {
      const char *id = host->run_sample_id (b->task, i);
      const char *i7 = id ? host->run_sample_meta (b->task, id, "index") : NULL;
      const char *i5 = id ? host->run_sample_meta (b->task, id, "index2") : NULL;
      if (i7 == NULL || i7[0] == '\0')
        return 1;
      if (!sample_sheet_valid_index (i7) || (i5 != NULL && !sample_sheet_valid_index (i5)))
        return bc_error_set (&b->error, BC_ERR_CONFIG,
                             "sample '%s': index metadata must be at most %d bases of A, C, "
                             "G and T", id, SAMPLE_SHEET_MAX_INDEX);
      SheetSample *s = &b->sheet.samples[b->sheet.n_samples++];
      s->id = strdup (id);
      s->index = strdup (i7);
      s->index2 = strdup (i5 ? i5 : "");
      s->name = strdup (id);
      s->project = strdup ("");
      s->number = (int) b->sheet.n_samples;
      s->line = 0; /* not a line of a file */
      if (!s->id || !s->index || !s->index2 || !s->name || !s->project)
        return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory");
      for (char *p = s->index; *p; p++)
        *p = (char) (*p & ~0x20);
      for (char *p = s->index2; *p; p++)
        *p = (char) (*p & ~0x20);
    }
  return 0;
}

/* Checks what run() will check, as far as it can be known before the run.
 * The run folder may not exist yet (a sequencer upstream makes it): then
 * the connected sample sheet, or else the indices in the samples' metadata,
 * are checked for collisions within `mismatches`, with as many index
 * cycles as the indices need. */
static int
check_before_run (Basecall *b)
{
  const StrandHost *host = b->host;
  int cycles[2] = { SAMPLE_SHEET_MAX_INDEX, SAMPLE_SHEET_MAX_INDEX };
  const char *run_dir = host->input_count (b->task, "run") > 0
                            ? host->input_path (b->task, "run", 0) : NULL;
  if (run_dir != NULL)
    {
      if (!is_directory (run_dir))
        return bc_error_set (&b->error, BC_ERR_CORRUPT, "input 'run' is not a run folder "
                             "(a directory with RunInfo.xml)");
      char *path = join (run_dir, "RunInfo.xml");
      if (path == NULL)
        return bc_error_set (&b->error, BC_ERR_NO_MEMORY, "out of memory");
      int rc = run_info_load (path, "RunInfo.xml", &b->info, &b->error);
      free (path);
      if (rc < 0)
        return -1;
      index_cycles (&b->info, cycles);
    }
  else
    b->info.lane_count = RUN_INFO_MAX_LANES;
  int rc = load_sheet (b->task, host, run_dir, &b->sheet, b->sheet_name, sizeof b->sheet_name,
                       &b->error);
  if (rc < 0)
    return -1;
  if (rc == 0)
    return make_plans (b, cycles) < 0 || match_run_samples (b) < 0 ? -1 : 0;
  rc = sheet_from_metadata (b);
  if (rc != 0)
    return rc < 0 ? -1 : 0;
  b->info.lane_count = 1;
  snprintf (b->sheet_name, sizeof b->sheet_name, "the samples' index metadata");
  return make_plans (b, cycles);
}

static int
validate (StrandTask *task, const StrandHost *host)
{
  Basecall b = { .task = task, .host = host };
  int ret = read_params (&b);
  if (ret != STRAND_OK)
    return ret;
  int rc = check_before_run (&b);
  basecall_clear (&b);
  return rc < 0 ? fail_with (task, host, &b.error) : STRAND_OK;
}

/* ---- descriptor ------------------------------------------------------------ */

static const StrandPort inputs[] = {
  { .name = "run", .formats = STRAND_FORMAT_BCL_RUN, .flags = 0,
    .description = "Illumina run folder: RunInfo.xml, BCL and filter files" },
  { .name = "sample_sheet", .formats = STRAND_FORMAT_TEXT, .flags = STRAND_PORT_OPTIONAL,
    .description = "SampleSheet.csv to use instead of the run folder's" },
};

static const StrandPort outputs[] = {
  { .name = "read1", .formats = STRAND_FORMAT_FASTQ, .flags = STRAND_PORT_MULTIPLE,
    .description = "read 1 of each sample, gzip (BGZF) FASTQ" },
  { .name = "read2", .formats = STRAND_FORMAT_FASTQ, .flags = STRAND_PORT_MULTIPLE,
    .description = "read 2 of each sample of a paired-end run" },
  { .name = "undetermined", .formats = STRAND_FORMAT_FASTQ, .flags = STRAND_PORT_MULTIPLE,
    .description = "reads whose indices match no sample (R1, R2)" },
  { .name = "stats", .formats = STRAND_FORMAT_JSON, .flags = 0,
    .description = "demultiplexing statistics per lane and sample" },
};

static const StrandParamSpec params[] = {
  { .name = "mismatches", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "index mismatches tolerated, per index read", .default_value = "1",
    .min = 0, .max = 2 },
  { .name = "i5_reverse_complement", .type = STRAND_PARAM_BOOL, .flags = 0,
    .description = "the instrument reads i5 as the reverse complement of the sheet's index2",
    .default_value = "false" },
  { .name = "include_filtered", .type = STRAND_PARAM_BOOL, .flags = 0,
    .description = "also write clusters that failed the filter (flagged Y)",
    .default_value = "false" },
  { .name = "split_lanes", .type = STRAND_PARAM_BOOL, .flags = 0,
    .description = "one FASTQ per lane (_L00N_) instead of lanes merged",
    .default_value = "false" },
  { .name = "compression_level", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "gzip level of the FASTQ files", .default_value = "4", .min = 1, .max = 9 },
};

static const StrandResources resources = {
  .cores = 2,
  .memory_bytes = 256u << 20,
  .output_bytes = 512u << 20,
  .expected_seconds = 30.0,
};

static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 1000 },
  { .error_class = STRAND_ERROR_RESOURCE, .action = STRAND_ACTION_RETRY_ESCALATE,
    .max_attempts = 2, .escalate_factor = 2.0 },
  /* A damaged run folder or a sample sheet that cannot work will not get
   * better on a second try: stop the run and tell the operator. */
  { .error_class = STRAND_ERROR_INVALID_INPUT, .action = STRAND_ACTION_HALT,
    .max_attempts = 1 },
  { .error_class = STRAND_ERROR_CONFIG, .action = STRAND_ACTION_HALT, .max_attempts = 1 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "basecall",
  .version = "0.1.0",
  .description = "Converts an Illumina run folder (BCL) to demultiplexed gzip FASTQ",
  .license = "Apache-2.0",
  .url = NULL,
  .flags = STRAND_STAGE_DETERMINISTIC | STRAND_STAGE_PER_RUN,
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .params = params,
  .n_params = STRAND_N_ELEMENTS (params),
  .policy = policy,
  .n_policy = STRAND_N_ELEMENTS (policy),
  .resources = &resources,
  .run = run,
  .validate = validate,
};

STRAND_STAGE_DEFINE (descriptor);
