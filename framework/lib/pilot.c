/* The worker job's loop (pilot.h). */
#include "pilot.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "clock.h"
#include "digest.h"
#include "executor.h"
#include "pilot-wire.h"

#define HANDSHAKE_TIMEOUT_MS 30000
/* A host busy storing a large output does not answer for a while; one whose
 * process died closes the connection at once. Silence this long means its
 * machine is gone. */
#define HOST_SILENCE_US ((gint64) 600 * G_USEC_PER_SEC)

/* ---- signals ------------------------------------------------------------------ */

static int signal_pipe[2] = { -1, -1 };

static void
on_signal (int sig)
{
  int saved = errno;
  char c = (char) sig;
  ssize_t ignored = write (signal_pipe[1], &c, 1);
  (void) ignored;
  errno = saved;
}

/* ---- what Slurm gave the job ----------------------------------------------------- */

static guint64
env_u64 (const char *name)
{
  const char *v = g_getenv (name);
  guint64 n = 0;
  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT64, &n, NULL))
    return 0;
  return n;
}

static guint
job_cores (void)
{
  guint64 n = env_u64 ("SLURM_CPUS_PER_TASK");
  if (n == 0)
    n = env_u64 ("SLURM_CPUS_ON_NODE");
  if (n == 0)
    {
      long online = sysconf (_SC_NPROCESSORS_ONLN);
      n = online > 0 ? (guint64) online : 1;
    }
  return (guint) MIN (n, 1u << 20);
}

static guint64
job_memory (guint cores)
{
  /* Slurm states memory in MiB. */
  guint64 per_node = env_u64 ("SLURM_MEM_PER_NODE");
  if (per_node > 0)
    return per_node << 20;
  guint64 per_cpu = env_u64 ("SLURM_MEM_PER_CPU");
  if (per_cpu > 0)
    return (per_cpu << 20) * cores;
  return (guint64) sysconf (_SC_PHYS_PAGES) * (guint64) sysconf (_SC_PAGESIZE);
}

/* ---- the loop ------------------------------------------------------------------- */

typedef struct {
  StrandPilotConn *conn;
  StrandExecutor *local;
  GHashTable *running;   /* id -> StrandTaskSpec (owned): submitted to `local` */
  GQueue *waiting;       /* StrandPilotMsg (task): not started yet, no room */
  GHashTable *plugins;   /* "path\nsize\nmtime" -> sha256 */
  gint64 heartbeat_us;
  gint64 silence_us;     /* the host is lost after this long without a word */
  gint64 last_heard;
  gint64 next_heartbeat;
  gboolean exit_asked;
} Pilot;

static void
send_result (Pilot *p, guint64 id, StrandTaskResult *result)
{
  StrandPilotMsg msg = { .type = STRAND_PILOT_MSG_RESULT, .id = id, .result = result };
  strand_pilot_conn_send (p->conn, &msg);
  p->next_heartbeat = strand_clock_monotonic_us () + p->heartbeat_us;
}

static void G_GNUC_PRINTF (4, 5)
send_failure (Pilot *p, guint64 id, StrandErrorClass cls, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autoptr (StrandTaskResult) r = strand_task_result_new ();
  r->message = g_strdup_vprintf (format, ap);
  va_end (ap);
  r->error_class = cls;
  r->start_us = r->end_us = strand_clock_now_us ();
  send_result (p, id, r);
}

/* The plugin file is the one the host's registry described. */
static gboolean
plugin_checks (Pilot *p, const StrandTaskSpec *spec, GError **error)
{
  const StrandPluginInfo *plugin = spec->plugin;
  if (plugin->sha256 == NULL)
    return TRUE;
  GStatBuf st;
  if (g_stat (plugin->path, &st) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "plugin %s: %s on node %s",
                   plugin->path, g_strerror (errno), g_get_host_name ());
      return FALSE;
    }
  g_autofree char *key = g_strdup_printf ("%s\n%" G_GINT64_FORMAT "\n%" G_GINT64_FORMAT, plugin->path,
                                          (gint64) st.st_size, (gint64) st.st_mtime);
  const char *sha = g_hash_table_lookup (p->plugins, key);
  if (sha == NULL)
    {
      char *digest = strand_sha256_file (plugin->path, NULL, error);
      if (digest == NULL)
        return FALSE;
      g_hash_table_insert (p->plugins, g_strdup (key), digest);
      sha = digest;
    }
  if (strcmp (sha, plugin->sha256) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "plugin %s on node %s is not the file the host registered (sha256 %s there, "
                   "%s on the host): the nodes must see the host's plugin directory",
                   plugin->path, g_get_host_name (), sha, plugin->sha256);
      return FALSE;
    }
  return TRUE;
}

/* Starts waiting tasks while the local executor has room. */
static void
start_waiting (Pilot *p)
{
  while (!g_queue_is_empty (p->waiting))
    {
      StrandPilotMsg *msg = g_queue_peek_head (p->waiting);
      if (!strand_executor_can_start (p->local, msg->spec))
        return;
      g_queue_pop_head (p->waiting);
      g_autoptr (GError) error = NULL;
      StrandErrorClass cls = STRAND_ERROR_CONFIG;
      if (plugin_checks (p, msg->spec, &error) &&
          strand_executor_submit (p->local, msg->id, msg->spec, &cls, &error))
        g_hash_table_insert (p->running, GUINT_TO_POINTER (msg->id), g_steal_pointer (&msg->spec));
      else
        send_failure (p, msg->id, cls, "%s", error->message);
      strand_pilot_msg_free (msg);
    }
}

static void
cancel_task (Pilot *p, guint64 id, gboolean force)
{
  for (GList *l = p->waiting->head; l; l = l->next)
    {
      StrandPilotMsg *msg = l->data;
      if (msg->id != id)
        continue;
      g_queue_delete_link (p->waiting, l);
      strand_pilot_msg_free (msg);
      send_failure (p, id, STRAND_ERROR_TRANSIENT, "cancelled: the run was stopped");
      return;
    }
  if (g_hash_table_contains (p->running, GUINT_TO_POINTER (id)))
    strand_executor_cancel (p->local, id, force);
}

/* Handles the host's messages; FALSE when it must end now. */
static gboolean
take_messages (Pilot *p, GPtrArray *msgs)
{
  for (guint i = 0; i < msgs->len; i++)
    {
      StrandPilotMsg *msg = msgs->pdata[i];
      switch (msg->type)
        {
        case STRAND_PILOT_MSG_TASK:
          if (g_hash_table_contains (p->running, GUINT_TO_POINTER (msg->id)))
            {
              g_printerr ("strand worker: the host sent task %" G_GUINT64_FORMAT " twice\n", msg->id);
              return FALSE;
            }
          g_queue_push_tail (p->waiting, g_steal_pointer (&msgs->pdata[i]));
          break;
        case STRAND_PILOT_MSG_CANCEL:
          cancel_task (p, msg->id, msg->force);
          break;
        case STRAND_PILOT_MSG_EXIT:
          p->exit_asked = TRUE;
          break;
        case STRAND_PILOT_MSG_HEARTBEAT:
          break;
        case STRAND_PILOT_MSG_BYE:
          g_printerr ("strand worker: the host ended the session: %s\n", msg->reason ? msg->reason : "");
          return FALSE;
        default:
          g_printerr ("strand worker: unexpected '%d' message from the host\n", msg->type);
          return FALSE;
        }
    }
  return TRUE;
}

/* Reads one message, waiting for it (the handshake). */
static StrandPilotMsg *
read_one (StrandPilotConn *conn, int timeout_ms, GError **error)
{
  g_autoptr (GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
  gint64 until = strand_clock_monotonic_us () + (gint64) timeout_ms * 1000;
  while (msgs->len == 0)
    {
      gint64 left = until - strand_clock_monotonic_us ();
      if (left <= 0)
        {
          g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_IO, "no answer within %d s",
                       timeout_ms / 1000);
          return NULL;
        }
      struct pollfd pfd = { .fd = strand_pilot_conn_fd (conn), .events = POLLIN };
      if (strand_pilot_conn_pending (conn))
        pfd.events |= POLLOUT;
      int r = poll (&pfd, 1, (int) (left / 1000 + 1));
      if (r < 0 && errno != EINTR)
        {
          g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_IO, "poll: %s", g_strerror (errno));
          return NULL;
        }
      if (r <= 0)
        continue;
      if ((pfd.revents & POLLOUT) && !strand_pilot_conn_flush (conn, error))
        return NULL;
      if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && !strand_pilot_conn_read (conn, msgs, error) &&
          msgs->len == 0)
        return NULL;
    }
  if (msgs->len > 1)
    {
      g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_PROTOCOL,
                   "the host spoke before the handshake ended");
      return NULL;
    }
  return g_ptr_array_steal_index (msgs, 0);
}

/* Connects and authenticates both ways. */
static gboolean
handshake (Pilot *p, const StrandPilotOptions *opt, const char *token, GError **error)
{
  gint64 timeout_us = opt->connect_timeout_us > 0 ? opt->connect_timeout_us : 60 * G_USEC_PER_SEC;
  int fd = strand_pilot_connect (opt->connect, (int) (timeout_us / 1000), error);
  if (fd < 0)
    return FALSE;
  p->conn = strand_pilot_conn_new (fd);
  g_autoptr (StrandPilotMsg) challenge = read_one (p->conn, HANDSHAKE_TIMEOUT_MS, error);
  if (challenge == NULL)
    return FALSE;
  if (challenge->type != STRAND_PILOT_MSG_CHALLENGE || challenge->version != STRAND_PILOT_PROTOCOL)
    {
      g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_PROTOCOL,
                   "%s did not open with a challenge of protocol %d", opt->connect, STRAND_PILOT_PROTOCOL);
      return FALSE;
    }
  guint cores = opt->cores ? opt->cores : job_cores ();
  guint64 memory = opt->memory_bytes ? opt->memory_bytes : job_memory (cores);
  g_autofree char *nonce = strand_pilot_secret_new ();
  g_autofree char *proof = strand_pilot_proof (token, "worker", challenge->nonce);
  const char *node = g_getenv ("SLURMD_NODENAME");
  const char *job = g_getenv ("SLURM_JOB_ID");
  const char *array_job = g_getenv ("SLURM_ARRAY_JOB_ID");
  guint64 array_task = 0;
  gboolean in_array = array_job && g_getenv ("SLURM_ARRAY_TASK_ID") &&
                      g_ascii_string_to_unsigned (g_getenv ("SLURM_ARRAY_TASK_ID"), 10, 0, G_MAXINT32,
                                                  &array_task, NULL);
  StrandPilotMsg hello = {
    .type = STRAND_PILOT_MSG_HELLO,
    .version = STRAND_PILOT_PROTOCOL,
    .nonce = nonce,
    .proof = proof,
    .job = (char *) job,
    .array_job = in_array ? (char *) array_job : NULL,
    .array_task = in_array ? (gint64) array_task : -1,
    .node = (char *) (node ? node : g_get_host_name ()),
    .cores = cores,
    .memory_bytes = memory,
    .pid = getpid (),
  };
  strand_pilot_conn_send (p->conn, &hello);
  g_autoptr (StrandPilotMsg) welcome = read_one (p->conn, HANDSHAKE_TIMEOUT_MS, error);
  if (welcome == NULL)
    {
      g_prefix_error (error, "the host did not welcome this worker: ");
      return FALSE;
    }
  if (welcome->type != STRAND_PILOT_MSG_WELCOME ||
      !strand_pilot_proof_check (token, "host", nonce, welcome->proof))
    {
      g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_AUTH,
                   "%s did not prove it holds the run's token: not our host", opt->connect);
      return FALSE;
    }
  p->heartbeat_us = welcome->heartbeat_ms * 1000;
  p->silence_us = MAX (4 * p->heartbeat_us, HOST_SILENCE_US);
  p->local = strand_executor_local_new (cores, memory, opt->grace_us);
  g_printerr ("strand worker: job %s on %s: connected to %s with %u cores and %" G_GUINT64_FORMAT
              " MiB\n", job ? job : "(none)", hello.node, opt->connect, cores, memory >> 20);
  return TRUE;
}

static void
pilot_clear (Pilot *p)
{
  /* Whatever still runs is killed and reaped first. */
  strand_executor_free (p->local);
  g_clear_pointer (&p->running, g_hash_table_unref);
  if (p->waiting)
    g_queue_free_full (p->waiting, (GDestroyNotify) strand_pilot_msg_free);
  g_clear_pointer (&p->plugins, g_hash_table_unref);
  strand_pilot_conn_free (p->conn);
}

gboolean
strand_pilot_run (const StrandPilotOptions *opt, StrandPilotEnd *end, GError **error)
{
  g_autofree char *token = NULL;
  if (opt->token_file != NULL)
    token = strand_pilot_token_read (opt->token_file, error);
  else if (g_getenv ("STRAND_WORKER_TOKEN") != NULL)
    token = g_strdup (g_getenv ("STRAND_WORKER_TOKEN"));
  else
    g_set_error (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_TOKEN,
                 "no token: give a token file, or set STRAND_WORKER_TOKEN");
  if (token == NULL)
    return FALSE;

  Pilot p = { 0 };
  p.running = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) strand_task_spec_free);
  p.waiting = g_queue_new ();
  p.plugins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!handshake (&p, opt, token, error))
    {
      pilot_clear (&p);
      return FALSE;
    }
  if (pipe2 (signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    g_error ("pipe: %s", g_strerror (errno));
  struct sigaction sa = { .sa_handler = on_signal }, old_term, old_int;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGTERM, &sa, &old_term);
  sigaction (SIGINT, &sa, &old_int);

  gint64 now = strand_clock_monotonic_us ();
  p.last_heard = now;
  p.next_heartbeat = now + p.heartbeat_us;
  *end = STRAND_PILOT_END_RELEASED;
  g_autoptr (GArray) pollfds = g_array_new (FALSE, FALSE, sizeof (struct pollfd));
  g_autoptr (GArray) events = g_array_new (FALSE, FALSE, sizeof (StrandExecutorEvent));
  g_autoptr (GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
  const char *why = "the host released it";
  for (;;)
    {
      if (p.exit_asked && g_queue_is_empty (p.waiting) && g_hash_table_size (p.running) == 0)
        break;
      g_array_set_size (pollfds, 0);
      struct pollfd sp = { .fd = signal_pipe[0], .events = POLLIN };
      struct pollfd cp = { .fd = strand_pilot_conn_fd (p.conn), .events = POLLIN };
      if (strand_pilot_conn_pending (p.conn))
        cp.events |= POLLOUT;
      g_array_append_val (pollfds, sp);
      g_array_append_val (pollfds, cp);
      gint64 next = strand_executor_prepare (p.local, pollfds);
      next = MIN (next, MIN (p.next_heartbeat, p.last_heard + p.silence_us));
      now = strand_clock_monotonic_us ();
      int timeout_ms = next == G_MAXINT64 ? -1 : (int) CLAMP ((next - now + 999) / 1000, 0, G_MAXINT);
      int n = poll ((struct pollfd *) pollfds->data, pollfds->len, timeout_ms);
      if (n < 0 && errno != EINTR)
        g_error ("poll: %s", g_strerror (errno));
      struct pollfd *fds = (struct pollfd *) pollfds->data;
      if (n > 0 && fds[0].revents)
        {
          char sig = 0;
          if (read (signal_pipe[0], &sig, 1) == 1)
            {
              g_autofree char *reason = g_strdup_printf ("signal %d (%s): Slurm or an operator ended the "
                                                         "job", sig, g_strsignal (sig));
              StrandPilotMsg bye = { .type = STRAND_PILOT_MSG_BYE, .reason = reason };
              strand_pilot_conn_send (p.conn, &bye);
              strand_pilot_conn_drain (p.conn, 1000);
              *end = STRAND_PILOT_END_SIGNALLED;
              why = "it was signalled";
              break;
            }
        }
      gboolean lost = FALSE;
      if (n > 0 && (fds[1].revents & POLLOUT) && !strand_pilot_conn_flush (p.conn, NULL))
        lost = TRUE;
      if (n > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
        {
          g_autoptr (GError) local = NULL;
          g_ptr_array_set_size (msgs, 0);
          gboolean open = strand_pilot_conn_read (p.conn, msgs, &local);
          if (msgs->len > 0)
            p.last_heard = strand_clock_monotonic_us ();
          if (!take_messages (&p, msgs))
            lost = TRUE;
          if (!open)
            {
              g_printerr ("strand worker: %s\n", local->message);
              lost = TRUE;
            }
        }
      if (lost)
        {
          *end = STRAND_PILOT_END_HOST_LOST;
          why = "the host went away";
          break;
        }
      g_array_set_size (events, 0);
      strand_executor_dispatch (p.local, pollfds, 2, events);
      for (guint i = 0; i < events->len; i++)
        {
          StrandExecutorEvent *ev = &g_array_index (events, StrandExecutorEvent, i);
          send_result (&p, ev->id, ev->result);
          strand_task_result_free (ev->result);
          g_hash_table_remove (p.running, GUINT_TO_POINTER (ev->id));
        }
      start_waiting (&p);
      now = strand_clock_monotonic_us ();
      if (now - p.last_heard > p.silence_us)
        {
          g_printerr ("strand worker: nothing heard from the host for %.0f s\n",
                      (double) (now - p.last_heard) / G_USEC_PER_SEC);
          *end = STRAND_PILOT_END_HOST_LOST;
          why = "the host fell silent";
          break;
        }
      if (now >= p.next_heartbeat)
        {
          StrandPilotMsg hb = { .type = STRAND_PILOT_MSG_HEARTBEAT };
          strand_pilot_conn_send (p.conn, &hb);
          p.next_heartbeat = now + p.heartbeat_us;
        }
    }
  if (*end == STRAND_PILOT_END_RELEASED)
    strand_pilot_conn_drain (p.conn, 5000);
  guint left = g_hash_table_size (p.running) + g_queue_get_length (p.waiting);
  g_printerr ("strand worker: leaving: %s%s\n", why,
              left ? "; the tasks it ran were stopped" : "");
  sigaction (SIGTERM, &old_term, NULL);
  sigaction (SIGINT, &old_int, NULL);
  pilot_clear (&p);
  close (signal_pipe[0]);
  close (signal_pipe[1]);
  signal_pipe[0] = signal_pipe[1] = -1;
  return TRUE;
}
