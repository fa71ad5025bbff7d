/* The one source of time in the host.
 *
 * Every module asks this clock; nothing else calls time(), clock_gettime() or
 * g_get_real_time(). Tests switch it to virtual time and move it by hand, so
 * a facility week runs in milliseconds. Times are microseconds since the Unix
 * epoch (wall) or since an arbitrary origin (monotonic).
 *
 * Four modes, one interface:
 *   real         the system's time;
 *   virtual      moves only when told (strand_clock_advance_us);
 *   accelerated  virtual time that runs `factor` times faster than real time;
 *   discrete     discrete-event time: waiting for the next event jumps to it.
 *
 * Whoever must act at a time (a maintenance window opening, a sample about
 * to expire, a simulated task ending) schedules an event. An event loop
 * written against strand_clock_run_next() is the same code in every mode:
 * in real and accelerated time it sleeps until the event is due, in
 * discrete time it jumps there at once, and in virtual time it runs only
 * what is already due (the test moves the time). Events due at the same
 * time run in the order they were scheduled, so a discrete run is
 * deterministic. Switching modes drops pending events. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  STRAND_CLOCK_REAL = 0,
  STRAND_CLOCK_VIRTUAL,     /* moves only when told */
  STRAND_CLOCK_ACCELERATED, /* runs at a factor of real time */
  STRAND_CLOCK_DISCRETE,    /* jumps to the next event */
} StrandClockMode;

/* Wall-clock time, for records and reports. */
gint64 strand_clock_now_us (void);
/* Monotonic time, for durations and timeouts. */
gint64 strand_clock_monotonic_us (void);
/* Real monotonic time whatever the mode: for compute budgets (a planner's
 * ten seconds are ten real seconds) and benchmarks, never for facility time. */
gint64 strand_clock_real_monotonic_us (void);

/* Switches the process to virtual time starting at `start_us` (wall). */
void strand_clock_use_virtual (gint64 start_us);
/* Virtual time from `start_us` that runs `factor` (> 0) times real time. */
void strand_clock_use_accelerated (gint64 start_us, double factor);
/* Discrete-event time from `start_us`: it stands still until the next event. */
void strand_clock_use_discrete (gint64 start_us);
void strand_clock_use_real (void);
StrandClockMode strand_clock_mode (void);
/* Virtual and discrete modes: moves time forward, never backwards, running
 * every event that falls due on the way (each sees the time it was due at). */
void strand_clock_advance_us (gint64 delta_us);

/* ---- events -------------------------------------------------------------------- */

typedef void (*StrandClockFunc) (gint64 due_us, gpointer user_data);

/* Calls `func` at wall time `due_us` (at once, on the next run, if that has
 * passed). Returns the event's id (never 0), for strand_clock_cancel(). */
guint64 strand_clock_schedule (gint64 due_us, StrandClockFunc func, gpointer user_data);
/* Drops a pending event; FALSE when it already ran or is unknown. */
gboolean strand_clock_cancel (guint64 id);
/* Wall time of the earliest pending event; G_MAXINT64 when there is none. */
gint64 strand_clock_next_event_us (void);
guint strand_clock_pending (void);

/* Waits for the earliest pending event due no later than `until_us`, then
 * runs it and every other event due at that same time. Real and accelerated
 * time sleep (an event scheduled meanwhile from another thread wakes the
 * wait); discrete time jumps; virtual time does not wait. Returns FALSE,
 * having run nothing, when no event is due by `until_us` (discrete time then
 * stands at `until_us` if that is later than now and not G_MAXINT64). */
gboolean strand_clock_run_next (gint64 until_us);

/* Runs events until none is due by `until_us`; returns how many ran. */
guint strand_clock_run_until (gint64 until_us);

/* ---- text ------------------------------------------------------------------------ */

/* RFC 3339 UTC text of a wall time, e.g. "2026-11-27T10:00:00.123456Z". */
char *strand_clock_format_rfc3339 (gint64 wall_us);

/* Parses an RFC 3339 time with a zone ("2026-11-27T10:00:00Z", "...+01:00")
 * into wall microseconds. */
gboolean strand_clock_parse_rfc3339 (const char *text, gint64 *wall_us);

G_END_DECLS
