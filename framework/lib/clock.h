/* The one source of time in the host.
 *
 * Every module asks this clock; nothing else calls time(), clock_gettime() or
 * g_get_real_time(). Tests switch it to virtual time and move it by hand, so
 * a facility week runs in milliseconds. Times are microseconds since the Unix
 * epoch (wall) or since an arbitrary origin (monotonic). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  STRAND_CLOCK_REAL = 0,
  STRAND_CLOCK_VIRTUAL, /* moves only when told */
} StrandClockMode;

/* Wall-clock time, for records and reports. */
gint64 strand_clock_now_us (void);
/* Monotonic time, for durations and timeouts. */
gint64 strand_clock_monotonic_us (void);

/* Switches the process to virtual time starting at `start_us` (wall). */
void strand_clock_use_virtual (gint64 start_us);
void strand_clock_use_real (void);
StrandClockMode strand_clock_mode (void);
/* Virtual mode only: moves time forward; never backwards. */
void strand_clock_advance_us (gint64 delta_us);

/* RFC 3339 UTC text of a wall time, e.g. "2026-11-27T10:00:00.123456Z". */
char *strand_clock_format_rfc3339 (gint64 wall_us);

/* Parses an RFC 3339 time with a zone ("2026-11-27T10:00:00Z", "...+01:00")
 * into wall microseconds. */
gboolean strand_clock_parse_rfc3339 (const char *text, gint64 *wall_us);

G_END_DECLS
