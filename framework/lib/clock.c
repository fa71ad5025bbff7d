#include "clock.h"

#include <string.h>

static StrandClockMode clock_mode = STRAND_CLOCK_REAL;
static gint64 virtual_now_us;
static gint64 virtual_origin_us;

gint64
strand_clock_now_us (void)
{
  if (clock_mode == STRAND_CLOCK_VIRTUAL)
    return virtual_now_us;
  return g_get_real_time ();
}

gint64
strand_clock_monotonic_us (void)
{
  if (clock_mode == STRAND_CLOCK_VIRTUAL)
    return virtual_now_us - virtual_origin_us;
  return g_get_monotonic_time ();
}

void
strand_clock_use_virtual (gint64 start_us)
{
  clock_mode = STRAND_CLOCK_VIRTUAL;
  virtual_now_us = start_us;
  virtual_origin_us = start_us;
}

void
strand_clock_use_real (void)
{
  clock_mode = STRAND_CLOCK_REAL;
}

StrandClockMode
strand_clock_mode (void)
{
  return clock_mode;
}

void
strand_clock_advance_us (gint64 delta_us)
{
  g_return_if_fail (clock_mode == STRAND_CLOCK_VIRTUAL);
  g_return_if_fail (delta_us >= 0);
  virtual_now_us += delta_us;
}

char *
strand_clock_format_rfc3339 (gint64 wall_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (wall_us / G_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup ("invalid-time");
  g_autofree char *base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%06dZ", base, (int) (wall_us % G_USEC_PER_SEC));
}

gboolean
strand_clock_parse_rfc3339 (const char *text, gint64 *wall_us)
{
  if (text == NULL || strlen (text) < 20 || text[10] != 'T')
    return FALSE;
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);
  if (dt == NULL)
    return FALSE;
  *wall_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}
