/* basecall: statistics and the JSON report (see demux-stats.h). */
#include "demux-stats.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "demux.h"

#define TALLY_MAX (1u << 15) /* distinct unknown index pairs tracked */
#define TOP_UNKNOWN 20       /* reported per lane */
#define KEY_SIZE (2 * DEMUX_MAX_INDEX + 2)

typedef struct {
  char key[KEY_SIZE];
  int lane; /* 0: empty slot */
  uint64_t count;
} TallyEntry;

struct DemuxStats {
  LaneStats *lanes;
  size_t n_lanes;
  size_t n_rows;
  TallyEntry *tally;
  size_t tally_cap;
  size_t tally_used;
  uint64_t untracked; /* unknown pairs past TALLY_MAX */
};

DemuxStats *
demux_stats_new (const RunInfo *info, const SampleSheet *sheet)
{
  DemuxStats *s = calloc (1, sizeof *s);
  if (s == NULL)
    return NULL;
  s->n_rows = sheet->n_samples;
  s->lanes = calloc ((size_t) info->lane_count, sizeof *s->lanes);
  if (s->lanes == NULL)
    {
      free (s);
      return NULL;
    }
  for (size_t t = 0; t < info->n_tiles; t++)
    {
      int lane = info->tiles[t].lane;
      if (s->n_lanes > 0 && s->lanes[s->n_lanes - 1].lane == lane)
        continue;
      LaneStats *l = &s->lanes[s->n_lanes++];
      l->lane = lane;
      l->rows = calloc (s->n_rows ? s->n_rows : 1, sizeof *l->rows);
      if (l->rows == NULL)
        {
          demux_stats_free (s);
          return NULL;
        }
    }
  return s;
}

void
demux_stats_free (DemuxStats *s)
{
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->n_lanes; i++)
    free (s->lanes[i].rows);
  free (s->lanes);
  free (s->tally);
  free (s);
}

LaneStats *
demux_stats_lane (DemuxStats *s, int lane)
{
  for (size_t i = 0; i < s->n_lanes; i++)
    if (s->lanes[i].lane == lane)
      return &s->lanes[i];
  return NULL;
}

static uint64_t
hash_key (int lane, const char *key)
{
  uint64_t h = UINT64_C (0xcbf29ce484222325) ^ (uint64_t) lane;
  for (; *key; key++)
    {
      h ^= (unsigned char) *key;
      h *= UINT64_C (0x100000001b3);
    }
  return h;
}

static TallyEntry *
tally_slot (TallyEntry *table, size_t cap, int lane, const char *key)
{
  size_t i = (size_t) hash_key (lane, key) & (cap - 1);
  while (table[i].lane != 0 && (table[i].lane != lane || strcmp (table[i].key, key) != 0))
    i = (i + 1) & (cap - 1);
  return &table[i];
}

static bool
tally_grow (DemuxStats *s)
{
  size_t cap = s->tally_cap ? s->tally_cap * 2 : 1024;
  TallyEntry *table = calloc (cap, sizeof *table);
  if (table == NULL)
    return false;
  for (size_t i = 0; i < s->tally_cap; i++)
    if (s->tally[i].lane != 0)
      *tally_slot (table, cap, s->tally[i].lane, s->tally[i].key) = s->tally[i];
  free (s->tally);
  s->tally = table;
  s->tally_cap = cap;
  return true;
}

void
demux_stats_unknown (DemuxStats *s, int lane, const char *indices)
{
  if (strlen (indices) >= KEY_SIZE)
    return;
  if (s->tally_used * 2 >= s->tally_cap)
    {
      /* Past the cap, or out of memory: count it, just not by name. */
      if (s->tally_cap * 2 > 2 * TALLY_MAX || !tally_grow (s))
        {
          TallyEntry *e = s->tally_cap ? tally_slot (s->tally, s->tally_cap, lane, indices) : NULL;
          if (e != NULL && e->lane != 0)
            e->count++;
          else
            s->untracked++;
          return;
        }
    }
  TallyEntry *e = tally_slot (s->tally, s->tally_cap, lane, indices);
  if (e->lane == 0)
    {
      e->lane = lane;
      memcpy (e->key, indices, strlen (indices) + 1);
      s->tally_used++;
    }
  e->count++;
}

static void
counts_add (DemuxCounts *to, const DemuxCounts *from)
{
  to->clusters += from->clusters;
  to->perfect += from->perfect;
  to->one_mismatch += from->one_mismatch;
  to->yield += from->yield;
  to->yield_q30 += from->yield_q30;
  to->quality_sum += from->quality_sum;
}

DemuxCounts
demux_stats_total (const DemuxStats *s, const SampleSheet *sheet, const char *id,
                   bool undetermined)
{
  DemuxCounts total = { 0 };
  for (size_t l = 0; l < s->n_lanes; l++)
    {
      if (undetermined)
        {
          counts_add (&total, &s->lanes[l].undetermined);
          continue;
        }
      for (size_t r = 0; r < s->n_rows; r++)
        if (id == NULL || strcmp (sheet->samples[r].id, id) == 0)
          counts_add (&total, &s->lanes[l].rows[r]);
    }
  return total;
}

/* A JSON string: quotes, backslashes and control characters escaped; the
 * text comes from files we were handed (run id, flow cell). */
static void
put_string (FILE *out, const char *s)
{
  fputc ('"', out);
  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        fprintf (out, "\\%c", c);
      else if (c < 0x20 || c == 0x7f)
        fprintf (out, "\\u%04x", c);
      else
        fputc (c, out);
    }
  fputc ('"', out);
}

static double
percent (uint64_t part, uint64_t whole)
{
  return whole ? 100.0 * (double) part / (double) whole : 0.0;
}

static void
put_counts (FILE *out, const DemuxCounts *c, uint64_t lane_pf, bool with_index)
{
  fprintf (out, "\"clusters\":%llu", (unsigned long long) c->clusters);
  if (with_index)
    fprintf (out, ",\"perfect_index_reads\":%llu,\"one_mismatch_index_reads\":%llu",
             (unsigned long long) c->perfect, (unsigned long long) c->one_mismatch);
  fprintf (out, ",\"yield\":%llu,\"yield_q30\":%llu,\"percent_q30\":%.2f,\"mean_quality\":%.2f",
           (unsigned long long) c->yield, (unsigned long long) c->yield_q30,
           percent (c->yield_q30, c->yield),
           c->yield ? (double) c->quality_sum / (double) c->yield : 0.0);
  if (lane_pf != UINT64_MAX)
    fprintf (out, ",\"percent_of_lane\":%.2f", percent (c->clusters, lane_pf));
}

typedef struct {
  const TallyEntry *e;
} TopItem;

static int
compare_top (const void *a, const void *b)
{
  const TallyEntry *x = ((const TopItem *) a)->e, *y = ((const TopItem *) b)->e;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp (x->key, y->key);
}

static void
put_top_unknown (FILE *out, const DemuxStats *s, int lane)
{
  size_t n = 0;
  for (size_t i = 0; i < s->tally_cap; i++)
    n += s->tally[i].lane == lane;
  TopItem *items = n ? malloc (n * sizeof *items) : NULL;
  size_t k = 0;
  for (size_t i = 0; items != NULL && i < s->tally_cap; i++)
    if (s->tally[i].lane == lane)
      items[k++].e = &s->tally[i];
  if (items != NULL)
    qsort (items, k, sizeof *items, compare_top);
  fputs ("[", out);
  for (size_t i = 0; i < k && i < TOP_UNKNOWN; i++)
    {
      fprintf (out, "%s{\"index\":", i ? "," : "");
      put_string (out, items[i].e->key);
      fprintf (out, ",\"clusters\":%llu}", (unsigned long long) items[i].e->count);
    }
  fputs ("]", out);
  free (items);
}

int
demux_stats_write_json (const DemuxStats *s, const RunInfo *info, const SampleSheet *sheet,
                        const DemuxReportOptions *opt, FILE *out)
{
  locale_t c_locale = newlocale (LC_NUMERIC_MASK, "C", (locale_t) 0);
  locale_t previous = c_locale ? uselocale (c_locale) : (locale_t) 0;

  fputs ("{\"run_id\":", out);
  put_string (out, info->run_id);
  fputs (",\"flowcell\":", out);
  put_string (out, info->flowcell);
  fputs (",\"instrument\":", out);
  put_string (out, info->instrument);
  fprintf (out, ",\"run_number\":%d,\"mismatches\":%d,\"reads\":[", info->run_number,
           opt->mismatches);
  for (size_t i = 0; i < info->n_reads; i++)
    fprintf (out, "%s{\"number\":%d,\"cycles\":%d,\"index\":%s}", i ? "," : "",
             info->reads[i].number, info->reads[i].cycles,
             info->reads[i].is_index ? "true" : "false");

  fputs ("],\"lanes\":[", out);
  for (size_t l = 0; l < s->n_lanes; l++)
    {
      const LaneStats *lane = &s->lanes[l];
      uint64_t yield = lane->undetermined.yield;
      for (size_t r = 0; r < s->n_rows; r++)
        yield += lane->rows[r].yield;
      fprintf (out, "%s{\"lane\":%d,\"clusters_raw\":%llu,\"clusters_pf\":%llu,"
               "\"percent_pf\":%.2f,\"yield\":%llu,\"samples\":[", l ? "," : "", lane->lane,
               (unsigned long long) lane->clusters_raw, (unsigned long long) lane->clusters_pf,
               percent (lane->clusters_pf, lane->clusters_raw), (unsigned long long) yield);
      bool first = true;
      for (size_t r = 0; r < s->n_rows; r++)
        {
          const SheetSample *row = &sheet->samples[r];
          if (row->lane != 0 && row->lane != lane->lane)
            continue;
          fputs (first ? "{\"sample_id\":" : ",{\"sample_id\":", out);
          first = false;
          put_string (out, row->id);
          fprintf (out, ",\"sample_number\":%d,\"index\":", row->number);
          put_string (out, row->index);
          fputs (",\"index2\":", out);
          put_string (out, row->index2);
          fputc (',', out);
          put_counts (out, &lane->rows[r], lane->clusters_pf, true);
          fputc ('}', out);
        }
      fputs ("],\"undetermined\":{", out);
      put_counts (out, &lane->undetermined, lane->clusters_pf, false);
      fputs ("},\"top_unknown_barcodes\":", out);
      put_top_unknown (out, s, lane->lane);
      fputc ('}', out);
    }

  /* Per sample across lanes, in sheet order, each id once. */
  fputs ("],\"samples\":[", out);
  bool first = true;
  for (size_t r = 0; r < s->n_rows; r++)
    {
      const SheetSample *row = &sheet->samples[r];
      bool seen = false;
      for (size_t q = 0; q < r && !seen; q++)
        seen = strcmp (sheet->samples[q].id, row->id) == 0;
      if (seen)
        continue;
      DemuxCounts total = demux_stats_total (s, sheet, row->id, false);
      fputs (first ? "{\"sample_id\":" : ",{\"sample_id\":", out);
      first = false;
      put_string (out, row->id);
      fputs (",\"sample_name\":", out);
      put_string (out, row->name);
      fputs (",\"project\":", out);
      put_string (out, row->project);
      fprintf (out, ",\"sample_number\":%d,\"written\":%s,", row->number,
               opt->row_in_run == NULL || opt->row_in_run[r] ? "true" : "false");
      put_counts (out, &total, UINT64_MAX, true);
      fputc ('}', out);
    }
  DemuxCounts und = demux_stats_total (s, sheet, NULL, true);
  fputs ("],\"undetermined\":{", out);
  put_counts (out, &und, UINT64_MAX, false);
  fprintf (out, "},\"unknown_barcodes_not_tallied\":%llu}\n", (unsigned long long) s->untracked);

  if (c_locale)
    {
      uselocale (previous);
      freelocale (c_locale);
    }
  return ferror (out) ? -1 : 0;
}
