#include "worker-scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "plugin-info.h"

#define SCRATCH_MARGIN_FIXED (1u << 20)
#define SCRATCH_MIN_INTERVAL_US (100 * 1000)
#define SCRATCH_COST_RATIO 100 /* interval / time of one measurement */
#define SCRATCH_MAX_DEPTH 64
#define SCRATCH_THREAD_STACK (512u << 10)
#define WORKER_EXIT_STAGE_FAILED 1 /* as worker.c's */

guint64
strand_scratch_limit (const StrandTaskSpec *spec)
{
  if (spec->scratch_bytes == 0)
    return 0;
  guint64 outputs = spec->plugin ? spec->plugin->resources.output_bytes : 0;
  guint64 allowed = spec->scratch_bytes + outputs;
  if (allowed < spec->scratch_bytes) /* overflow: no practical limit */
    return G_MAXUINT64;
  guint64 margin = allowed / 10 + SCRATCH_MARGIN_FIXED;
  return allowed + margin < allowed ? G_MAXUINT64 : allowed + margin;
}

/* ---- measuring, without allocating ------------------------------------------------ */

static guint64
file_share (const struct stat *st)
{
  guint64 bytes = (guint64) st->st_blocks * 512;
  return S_ISDIR (st->st_mode) || st->st_nlink <= 1 ? bytes : bytes / st->st_nlink;
}

/* What the entries of the open folder `dir` take, folders' own blocks
 * included; closes `dir`. */
static guint64
folder_usage (int dir, int depth)
{
  guint64 bytes = 0;
  char buf[2048] __attribute__ ((aligned (8)));
  ssize_t n;
  while ((n = getdents64 (dir, buf, sizeof buf)) > 0)
    for (ssize_t off = 0; off < n;)
      {
        const struct dirent64 *d = (const struct dirent64 *) (buf + off);
        off += d->d_reclen;
        if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
          continue;
        struct stat st;
        if (fstatat (dir, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
          continue; /* removed meanwhile */
        bytes += file_share (&st);
        if (S_ISDIR (st.st_mode) && depth < SCRATCH_MAX_DEPTH)
          {
            int sub = openat (dir, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
              bytes += folder_usage (sub, depth + 1);
          }
      }
  close (dir);
  return bytes;
}

static guint64
usage_at (int work_dir)
{
  guint64 bytes = 0;
  static const char *const folders[] = { "scratch", "outputs" };
  for (guint i = 0; i < G_N_ELEMENTS (folders); i++)
    {
      int dir = openat (work_dir, folders[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dir >= 0)
        bytes += folder_usage (dir, 1);
    }
  return bytes;
}

guint64
strand_scratch_usage (const char *work_dir)
{
  int dir = open (work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return 0;
  guint64 bytes = usage_at (dir);
  close (dir);
  return bytes;
}

/* ---- stopping a task ---------------------------------------------------------------- */

/* Stops, then kills, every descendant of `pid` (the tools a stage runs, and
 * theirs): each is stopped before its children are listed, so none escapes
 * by forking meanwhile. */
static void
kill_descendants (pid_t pid, int depth)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
  int tasks = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (tasks < 0 || depth > SCRATCH_MAX_DEPTH)
    {
      if (tasks >= 0)
        close (tasks);
      return;
    }
  char buf[1024] __attribute__ ((aligned (8)));
  ssize_t n;
  while ((n = getdents64 (tasks, buf, sizeof buf)) > 0)
    for (ssize_t off = 0; off < n;)
      {
        const struct dirent64 *d = (const struct dirent64 *) (buf + off);
        off += d->d_reclen;
        if (d->d_name[0] == '.')
          continue;
        char children[320];
        snprintf (children, sizeof children, "/proc/%d/task/%s/children", (int) pid, d->d_name);
        int fd = open (children, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
          continue;
        char text[256];
        long child = 0;
        ssize_t got;
        while ((got = read (fd, text, sizeof text)) > 0)
          for (ssize_t i = 0; i < got; i++)
            {
              if (text[i] >= '0' && text[i] <= '9')
                child = child * 10 + (text[i] - '0');
              else if (child > 0)
                {
                  kill ((pid_t) child, SIGSTOP);
                  kill_descendants ((pid_t) child, depth + 1);
                  kill ((pid_t) child, SIGKILL);
                  child = 0;
                }
            }
        if (child > 0)
          {
            kill ((pid_t) child, SIGSTOP);
            kill_descendants ((pid_t) child, depth + 1);
            kill ((pid_t) child, SIGKILL);
          }
        close (fd);
      }
  close (tasks);
}

static void
format_size (char *buf, gsize len, guint64 bytes)
{
  if (bytes < 1024)
    snprintf (buf, len, "%" G_GUINT64_FORMAT " bytes", bytes);
  else if (bytes < (G_GUINT64_CONSTANT (1) << 30))
    snprintf (buf, len, "%.1f MiB", (double) bytes / (1 << 20));
  else
    snprintf (buf, len, "%.1f GiB", (double) bytes / (1 << 30));
}

enum { WATCH_RUNNING, WATCH_STOPPED, WATCH_FIRED };

struct StrandScratchWatch {
  int work_dir;
  int wake;       /* eventfd: stop the thread */
  int report_fd;
  guint64 limit;
  guint64 declared;
  guint64 outputs;
  int state;      /* WATCH_*, atomically */
  pthread_t thread;
  gboolean started;
};

/* Reports the overrun (one line, atomic on the pipe) and ends the worker. */
static G_GNUC_NORETURN void
overrun (StrandScratchWatch *w, guint64 used)
{
  char wrote[32], limit[32], declared[32], outputs[32];
  format_size (wrote, sizeof wrote, used);
  format_size (limit, sizeof limit, w->limit);
  format_size (declared, sizeof declared, w->declared);
  format_size (outputs, sizeof outputs, w->outputs);
  char msg[512];
  snprintf (msg, sizeof msg,
            "scratch space exceeded: the task wrote %s (%" G_GUINT64_FORMAT " bytes) under its "
            "scratch and outputs folders against its limit of %s (%" G_GUINT64_FORMAT " bytes: "
            "%s of scratch and %s of outputs declared, and a margin of a tenth and 1 MiB)",
            wrote, used, limit, w->limit, declared, outputs);
  char line[640];
  int len = snprintf (line, sizeof line, "{\"t\":\"fail\",\"class\":\"%s\",\"msg\":\"%s\"}\n",
                      strand_error_class_name (STRAND_ERROR_RESOURCE), msg);
  ssize_t ignored = write (w->report_fd, line, (size_t) MIN (len, (int) sizeof line - 1));
  (void) ignored;
  dprintf (STDERR_FILENO, "[fail:%s] %s\n", strand_error_class_name (STRAND_ERROR_RESOURCE), msg);
  kill_descendants (getpid (), 0);
  _exit (WORKER_EXIT_STAGE_FAILED);
}

static void *
watch_thread (void *data)
{
  StrandScratchWatch *w = data;
  for (;;)
    {
      gint64 start = strand_clock_real_monotonic_us ();
      guint64 used = usage_at (w->work_dir);
      gint64 took = strand_clock_real_monotonic_us () - start;
      if (used > w->limit)
        {
          int running = WATCH_RUNNING;
          if (__atomic_compare_exchange_n (&w->state, &running, WATCH_FIRED, FALSE,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            overrun (w, used);
          return NULL; /* run() returned first: its own check decides */
        }
      gint64 wait_us = MAX (SCRATCH_MIN_INTERVAL_US, took * SCRATCH_COST_RATIO);
      struct pollfd pfd = { .fd = w->wake, .events = POLLIN };
      int rc = poll (&pfd, 1, (int) MIN (wait_us / 1000, G_MAXINT));
      if (rc > 0 || __atomic_load_n (&w->state, __ATOMIC_SEQ_CST) != WATCH_RUNNING)
        return NULL;
    }
}

StrandScratchWatch *
strand_scratch_watch_start (const StrandTaskSpec *spec, int report_fd)
{
  guint64 limit = strand_scratch_limit (spec);
  if (limit == 0 || limit == G_MAXUINT64)
    return NULL;
  int work_dir = open (spec->work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (work_dir < 0)
    return NULL;
  StrandScratchWatch *w = g_new0 (StrandScratchWatch, 1);
  w->work_dir = work_dir;
  w->wake = eventfd (0, EFD_CLOEXEC);
  w->report_fd = report_fd;
  w->limit = limit;
  w->declared = spec->scratch_bytes;
  w->outputs = spec->plugin ? spec->plugin->resources.output_bytes : 0;
  w->state = WATCH_RUNNING;
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, SCRATCH_THREAD_STACK);
  /* Signals are the stage's main thread's to take. */
  sigset_t all, old;
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  w->started = w->wake >= 0 && pthread_create (&w->thread, &attr, watch_thread, w) == 0;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  pthread_attr_destroy (&attr);
  if (!w->started)
    fprintf (stderr, "[scratch] cannot watch the task's scratch while it runs: %s\n",
             g_strerror (errno));
  return w;
}

void
strand_scratch_watch_stop (StrandScratchWatch *w, gboolean check)
{
  if (w == NULL)
    return;
  int running = WATCH_RUNNING;
  if (!__atomic_compare_exchange_n (&w->state, &running, WATCH_STOPPED, FALSE, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
    for (;;)
      pause (); /* the watch fired: it is ending the worker */
  if (w->started)
    {
      guint64 one = 1;
      ssize_t ignored = write (w->wake, &one, sizeof one);
      (void) ignored;
      pthread_join (w->thread, NULL);
    }
  if (check)
    {
      guint64 used = usage_at (w->work_dir);
      if (used > w->limit)
        overrun (w, used);
    }
  close (w->work_dir);
  if (w->wake >= 0)
    close (w->wake);
  g_free (w);
}
