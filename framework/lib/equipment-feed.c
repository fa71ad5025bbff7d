/* Lines in, events to the monitor: buffering, line numbers, the end of a
 * feed, and the main-loop source. */
#include "equipment-feed.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes read per call, so a long file does not hold a main loop. */
#define READ_BUDGET (256 * 1024)

struct StrandEventFeed {
  int fd;
  gboolean fifo;
  char *name;
  StrandMonitor *monitor;
  GByteArray *partial; /* the line being read */
  gboolean skipping;   /* inside a line that was too long */
  guint64 lines, applied, errors;
  gboolean ended;
  StrandFeedErrorFunc error_func;
  gpointer error_data;
  GSource *source;
  StrandFeedDoneFunc done;
  gpointer done_data;
};

static StrandEventFeed *
feed_new (int fd, const char *name, StrandMonitor *monitor, gboolean fifo)
{
  StrandEventFeed *feed = g_new0 (StrandEventFeed, 1);
  feed->fd = fd;
  feed->fifo = fifo;
  feed->name = g_strdup (name);
  feed->monitor = monitor;
  feed->partial = g_byte_array_new ();
  return feed;
}

StrandEventFeed *
strand_event_feed_new_fd (int fd, const char *name, StrandMonitor *monitor)
{
  g_return_val_if_fail (fd >= 0 && monitor != NULL, NULL);
  int flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags | O_NONBLOCK);
  struct stat st;
  gboolean fifo = fstat (fd, &st) == 0 && S_ISFIFO (st.st_mode);
  return feed_new (fd, name ? name : "feed", monitor, fifo);
}

StrandEventFeed *
strand_event_feed_open (const char *path, StrandMonitor *monitor, GError **error)
{
  g_return_val_if_fail (path != NULL && monitor != NULL, NULL);
  int fd = strcmp (path, "-") == 0 ? fcntl (0, F_DUPFD_CLOEXEC, 3)
                                   : open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s",
                   strcmp (path, "-") == 0 ? "stdin" : path, g_strerror (saved));
      return NULL;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_ISDIR, "%s: a feed is a file or a pipe, "
                   "not a directory", path);
      close (fd);
      return NULL;
    }
  return strand_event_feed_new_fd (fd, strcmp (path, "-") == 0 ? "stdin" : path, monitor);
}

void
strand_event_feed_free (StrandEventFeed *feed)
{
  if (feed == NULL)
    return;
  if (feed->source != NULL)
    {
      g_source_destroy (feed->source);
      g_source_unref (feed->source);
    }
  if (feed->fd >= 0)
    close (feed->fd);
  g_byte_array_unref (feed->partial);
  g_free (feed->name);
  g_free (feed);
}

void
strand_event_feed_set_error_func (StrandEventFeed *feed, StrandFeedErrorFunc func,
                                  gpointer user_data)
{
  feed->error_func = func;
  feed->error_data = user_data;
}

int
strand_event_feed_fd (StrandEventFeed *feed)
{
  return feed->fd;
}

const char *
strand_event_feed_name (StrandEventFeed *feed)
{
  return feed->name;
}

guint64
strand_event_feed_lines (StrandEventFeed *feed)
{
  return feed->lines;
}

guint64
strand_event_feed_applied (StrandEventFeed *feed)
{
  return feed->applied;
}

guint64
strand_event_feed_errors (StrandEventFeed *feed)
{
  return feed->errors;
}

/* ---- lines ---------------------------------------------------------------------- */

static void
report (StrandEventFeed *feed, guint64 line, const GError *cause)
{
  feed->errors++;
  if (feed->error_func == NULL)
    return;
  g_autoptr (GError) error = g_error_new (cause->domain, cause->code, "%s:%" G_GUINT64_FORMAT ": %s",
                                          feed->name, line, cause->message);
  feed->error_func (error, feed->error_data);
}

static gboolean
blank (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return FALSE;
  return TRUE;
}

/* One complete line, without its newline. */
static void
take_line (StrandEventFeed *feed, const char *data, gsize len)
{
  guint64 line = ++feed->lines;
  if (len > 0 && data[len - 1] == '\r')
    len--;
  if (blank (data, len))
    return;
  g_auto (StrandEquipmentEvent) event = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *source = g_strdup_printf ("%s:%" G_GUINT64_FORMAT, feed->name, line);
  if (!strand_equipment_event_parse (data, len, &event, &error))
    {
      report (feed, line, error);
      return;
    }
  if (!strand_monitor_apply (feed->monitor, &event, source, &error))
    {
      /* A listener's failure comes after the event was applied. */
      if (g_error_matches (error, STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_LISTENER))
        feed->applied++;
      report (feed, line, error);
      return;
    }
  feed->applied++;
}

static void
too_long (StrandEventFeed *feed)
{
  g_autoptr (GError) error = g_error_new (STRAND_MONITOR_ERROR, STRAND_MONITOR_ERROR_MALFORMED,
                                          "the line is longer than %d bytes; skipped",
                                          STRAND_FEED_MAX_LINE);
  report (feed, feed->lines + 1, error);
  g_byte_array_set_size (feed->partial, 0);
  feed->skipping = TRUE;
}

static void
consume (StrandEventFeed *feed, const char *data, gsize len)
{
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      gsize piece = nl ? (gsize) (nl - data) : len;
      if (feed->skipping)
        {
          if (nl != NULL)
            {
              feed->lines++;
              feed->skipping = FALSE;
            }
        }
      else if (feed->partial->len + piece > STRAND_FEED_MAX_LINE)
        {
          too_long (feed);
          if (nl != NULL)
            {
              feed->lines++;
              feed->skipping = FALSE;
            }
        }
      else if (nl != NULL && feed->partial->len == 0)
        take_line (feed, data, piece); /* the usual case: no copy */
      else
        {
          g_byte_array_append (feed->partial, (const guint8 *) data, (guint) piece);
          if (nl != NULL)
            {
              take_line (feed, (const char *) feed->partial->data, feed->partial->len);
              g_byte_array_set_size (feed->partial, 0);
            }
        }
      gsize used = nl ? piece + 1 : piece;
      data += used;
      len -= used;
    }
}

static void
finish (StrandEventFeed *feed)
{
  if (!feed->skipping && feed->partial->len > 0)
    take_line (feed, (const char *) feed->partial->data, feed->partial->len);
  else if (feed->skipping)
    feed->lines++;
  g_byte_array_set_size (feed->partial, 0);
  feed->skipping = FALSE;
  feed->ended = TRUE;
}

/* A named pipe reads as empty both before its first writer and after its
 * last: only the second is an end (poll says POLLHUP). */
static gboolean
writers_gone (StrandEventFeed *feed)
{
  if (!feed->fifo)
    return TRUE;
  struct pollfd p = { .fd = feed->fd, .events = POLLIN };
  return poll (&p, 1, 0) > 0 && (p.revents & POLLHUP);
}

StrandFeedStatus
strand_event_feed_read (StrandEventFeed *feed, GError **error)
{
  if (feed->ended)
    return STRAND_FEED_END;
  char chunk[16384];
  gsize budget = READ_BUDGET;
  while (budget > 0)
    {
      gssize n = read (feed->fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return STRAND_FEED_AGAIN;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", feed->name,
                       g_strerror (saved));
          return STRAND_FEED_FAILED;
        }
      if (n == 0)
        {
          if (!writers_gone (feed))
            return STRAND_FEED_AGAIN;
          finish (feed);
          return STRAND_FEED_END;
        }
      consume (feed, chunk, (gsize) n);
      budget -= MIN (budget, (gsize) n);
    }
  return STRAND_FEED_AGAIN;
}

gboolean
strand_event_feed_run (StrandEventFeed *feed, GError **error)
{
  for (;;)
    {
      StrandFeedStatus status = strand_event_feed_read (feed, error);
      if (status == STRAND_FEED_END)
        return TRUE;
      if (status == STRAND_FEED_FAILED)
        return FALSE;
      struct pollfd p = { .fd = feed->fd, .events = POLLIN };
      if (poll (&p, 1, -1) < 0 && errno != EINTR)
        {
          int saved = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", feed->name,
                       g_strerror (saved));
          return FALSE;
        }
    }
}

/* ---- main loop -------------------------------------------------------------------- */

static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  StrandEventFeed *feed = user_data;
  g_autoptr (GError) error = NULL;
  StrandFeedStatus status = strand_event_feed_read (feed, &error);
  if (status == STRAND_FEED_AGAIN)
    return G_SOURCE_CONTINUE;
  /* The context holds the source while it dispatches; `done` may free the feed. */
  g_clear_pointer (&feed->source, g_source_unref);
  if (feed->done != NULL)
    feed->done (feed, status, error, feed->done_data);
  return G_SOURCE_REMOVE;
}

guint
strand_event_feed_attach (StrandEventFeed *feed, GMainContext *context, StrandFeedDoneFunc done,
                          gpointer user_data)
{
  g_return_val_if_fail (feed->source == NULL, 0);
  feed->done = done;
  feed->done_data = user_data;
  feed->source = g_unix_fd_source_new (feed->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (feed->source, G_SOURCE_FUNC (on_readable), feed, NULL);
  g_source_set_name (feed->source, "strand equipment feed");
  return g_source_attach (feed->source, context);
}
