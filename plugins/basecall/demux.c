/* basecall: index matching and collision checks (see demux.h). */
#include "demux.h"

#include <stdio.h>

#define EVEN_BITS UINT64_C (0x5555555555555555)

static int
base_code (char c)
{
  switch (c)
    {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    default: return -1;
    }
}

IndexCode
index_code_from_string (const char *seq, size_t len)
{
  IndexCode code = { 0, 0, 0 };
  if (len > DEMUX_MAX_INDEX)
    len = DEMUX_MAX_INDEX;
  for (size_t i = 0; i < len; i++)
    {
      int b = base_code (seq[i]);
      if (b < 0)
        code.nocall |= UINT64_C (3) << (2 * i);
      else
        code.bits |= (uint64_t) b << (2 * i);
    }
  code.len = (uint8_t) len;
  return code;
}

IndexCode
index_code_from_bcl (const uint8_t *bcl, size_t stride, size_t len)
{
  IndexCode code = { 0, 0, 0 };
  if (len > DEMUX_MAX_INDEX)
    len = DEMUX_MAX_INDEX;
  for (size_t i = 0; i < len; i++)
    {
      uint8_t byte = bcl[i * stride];
      /* Quality 0 is a no-call whatever the base bits say. */
      if ((byte & 0xfc) == 0)
        code.nocall |= UINT64_C (3) << (2 * i);
      else
        code.bits |= (uint64_t) (byte & 3) << (2 * i);
    }
  code.len = (uint8_t) len;
  return code;
}

int
index_code_distance (IndexCode a, IndexCode b)
{
  uint64_t x = a.bits ^ b.bits;
  uint64_t diff = (x | (x >> 1) | a.nocall | b.nocall) & EVEN_BITS;
  if (a.len < 32)
    diff &= (UINT64_C (1) << (2 * a.len)) - 1;
  return __builtin_popcountll (diff);
}

void
index_code_to_string (IndexCode code, char *out)
{
  static const char bases[4] = { 'A', 'C', 'G', 'T' };
  for (size_t i = 0; i < code.len; i++)
    out[i] = ((code.nocall >> (2 * i)) & 3) ? 'N' : bases[(code.bits >> (2 * i)) & 3];
  out[code.len] = '\0';
}

IndexCode
index_code_reverse_complement (IndexCode code)
{
  IndexCode rc = { 0, 0, code.len };
  for (size_t i = 0; i < code.len; i++)
    {
      size_t j = code.len - 1 - i;
      uint64_t b = (code.bits >> (2 * i)) & 3;
      uint64_t n = (code.nocall >> (2 * i)) & 3;
      if (n)
        rc.nocall |= UINT64_C (3) << (2 * j);
      else
        rc.bits |= (3 - b) << (2 * j); /* A<->T, C<->G */
    }
  return rc;
}

int
demux_check_collisions (const DemuxTable *t, BcError *error)
{
  int limit = 2 * t->mismatches;
  for (size_t i = 0; i < t->n; i++)
    for (size_t j = 0; j < i; j++)
      {
        const DemuxEntry *a = &t->entries[j], *b = &t->entries[i];
        int d7 = index_code_distance (a->i7, b->i7);
        int d5 = t->dual ? index_code_distance (a->i5, b->i5) : 0;
        if (d7 > limit || d5 > limit)
          continue;
        char s7a[DEMUX_MAX_INDEX + 1], s7b[DEMUX_MAX_INDEX + 1];
        char s5a[DEMUX_MAX_INDEX + 1], s5b[DEMUX_MAX_INDEX + 1];
        index_code_to_string (a->i7, s7a);
        index_code_to_string (b->i7, s7b);
        index_code_to_string (a->i5, s5a);
        index_code_to_string (b->i5, s5b);
        char both_a[2 * DEMUX_MAX_INDEX + 2], both_b[2 * DEMUX_MAX_INDEX + 2];
        snprintf (both_a, sizeof both_a, "%s%s%s", s7a, t->dual ? "+" : "", t->dual ? s5a : "");
        snprintf (both_b, sizeof both_b, "%s%s%s", s7b, t->dual ? "+" : "", t->dual ? s5b : "");
        int worst = d7 > d5 ? d7 : d5;
        if (worst == 0)
          return bc_error_set (error, BC_ERR_CONFIG,
                               "index collision: samples %s and %s have the same index %s",
                               a->label, b->label, both_a);
        char differ[64];
        if (t->dual)
          snprintf (differ, sizeof differ, "%d i7 and %d i5 positions", d7, d5);
        else
          snprintf (differ, sizeof differ, "%d position%s", d7, d7 == 1 ? "" : "s");
        return bc_error_set (error, BC_ERR_CONFIG,
                             "index collision: samples %s (%s) and %s (%s) differ in %s; "
                             "with mismatches=%d one read could match both (use "
                             "mismatches=%d or change the indices)",
                             a->label, both_a, b->label, both_b, differ, t->mismatches,
                             (worst - 1) / 2);
      }
  return 0;
}

int
demux_match (const DemuxTable *t, IndexCode i7, IndexCode i5, int *mismatches_out)
{
  for (size_t k = 0; k < t->n; k++)
    {
      const DemuxEntry *e = &t->entries[k];
      int d = index_code_distance (i7, e->i7);
      if (d > t->mismatches)
        continue;
      if (t->dual)
        {
          int d5 = index_code_distance (i5, e->i5);
          if (d5 > t->mismatches)
            continue;
          d += d5;
        }
      if (mismatches_out)
        *mismatches_out = d;
      return (int) k;
    }
  return -1;
}
