/* The equipment event feed: one JSON event per line
 * (schemas/equipment-event.schema.json, equipment-monitor.h), read from a
 * file, a named pipe, stdin or any descriptor without ever blocking the
 * host.
 *
 * Reading takes what is there now and hands every complete line to the
 * monitor. A malformed line, an unknown machine or a time going backwards is
 * one error naming the feed and the line ("feed.jsonl:12: ..."), passed to
 * the error handler; the feed keeps going with the next line. The feed ends
 * at end of file, or when the last writer of a pipe closes it (a named pipe
 * nobody has opened yet is waited for, not taken as ended).
 *
 * In a GLib main loop, strand_event_feed_attach() reads whenever the
 * descriptor is readable; without one, strand_event_feed_fd() can be polled
 * and strand_event_feed_read() called, or strand_event_feed_run() reads to
 * the end. */
#pragma once

#include <glib.h>

#include "equipment-monitor.h"

G_BEGIN_DECLS

/* Lines longer than this are errors (and skipped). */
#define STRAND_FEED_MAX_LINE 65536

typedef struct StrandEventFeed StrandEventFeed;

/* Opens a file or a named pipe for non-blocking reads; "-" is stdin. */
StrandEventFeed *strand_event_feed_open (const char *path, StrandMonitor *monitor, GError **error);
/* Reads from `fd` (made non-blocking; closed with the feed), named `name`
 * in errors. */
StrandEventFeed *strand_event_feed_new_fd (int fd, const char *name, StrandMonitor *monitor);
void strand_event_feed_free (StrandEventFeed *feed);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandEventFeed, strand_event_feed_free)

/* Called once per line that could not be applied: `error` is a
 * STRAND_MONITOR_ERROR whose message starts with "NAME:LINE: ". */
typedef void (*StrandFeedErrorFunc) (const GError *error, gpointer user_data);
void strand_event_feed_set_error_func (StrandEventFeed *feed, StrandFeedErrorFunc func,
                                       gpointer user_data);

typedef enum {
  STRAND_FEED_AGAIN, /* nothing more to read now; more may come */
  STRAND_FEED_END,   /* end of file, or the writers are gone */
  STRAND_FEED_FAILED /* the descriptor could not be read */
} StrandFeedStatus;

/* Reads what is available now (at most a few hundred KiB, so a main loop
 * stays responsive) and applies the complete lines. At the end a last line
 * without its newline is applied too. */
StrandFeedStatus strand_event_feed_read (StrandEventFeed *feed, GError **error);
/* Reads until the end, waiting for data in poll(). FALSE only when the
 * descriptor fails; bad lines are errors of the handler, not of this call. */
gboolean strand_event_feed_run (StrandEventFeed *feed, GError **error);

/* Reads in `context` (NULL: the default) whenever data comes. When the feed
 * ends or fails, `done` (may be NULL) is called once with the status and the
 * source is removed. Returns the source id in `context`. The feed must
 * outlive the source; freeing the feed removes it. */
typedef void (*StrandFeedDoneFunc) (StrandEventFeed *feed, StrandFeedStatus status,
                                    const GError *error, gpointer user_data);
guint strand_event_feed_attach (StrandEventFeed *feed, GMainContext *context,
                                StrandFeedDoneFunc done, gpointer user_data);

int strand_event_feed_fd (StrandEventFeed *feed);
const char *strand_event_feed_name (StrandEventFeed *feed);
/* Lines seen so far, blank ones included. */
guint64 strand_event_feed_lines (StrandEventFeed *feed);
/* Events applied, and lines that failed. */
guint64 strand_event_feed_applied (StrandEventFeed *feed);
guint64 strand_event_feed_errors (StrandEventFeed *feed);

G_END_DECLS
