/* Internals of the scheduler shared by its sources (scheduler.c and
 * scheduler-calendar.c): when a machine can run a task. */
#pragma once

#include <glib.h>

#include "equipment.h"

G_BEGIN_DECLS

typedef struct {
  gint64 start;
  gint64 end;
} StrandInterval;

/* A machine's calendar: operating hours (StrandHours, empty: always), planned
 * downtime (StrandInterval, sorted by start, not overlapping), the time it
 * is due for service (G_MAXINT64: not due). */
typedef struct {
  GArray *hours;
  GArray *downtime;
  gint64 due;
} StrandCalendar;

void strand_calendar_init (StrandCalendar *calendar);
void strand_calendar_clear (StrandCalendar *calendar);
/* Adds [start, end) to the downtime, merging what overlaps. */
void strand_calendar_add_downtime (StrandCalendar *calendar, gint64 start, gint64 end);
/* The earliest start >= `from` of a stretch of `duration` during which the
 * machine operates without a stop and ends no later than it is due;
 * G_MAXINT64 when there is none before `horizon`. */
gint64 strand_calendar_fit (const StrandCalendar *calendar, gint64 from, gint64 duration,
                            gint64 horizon);
/* Whether the machine operates at `t` (hours, downtime and due). */
gboolean strand_calendar_open (const StrandCalendar *calendar, gint64 t);

G_END_DECLS
