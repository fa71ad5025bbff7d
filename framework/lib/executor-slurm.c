/* The Slurm executor (executor-slurm.h): tasks, worker jobs and their
 * connections. What the cluster can take, and the jobs to submit, are in
 * executor-slurm-cluster.c. */
#include "executor-slurm-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"

#define HANDSHAKE_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define MAX_PENDING 64
/* Pilots that end in a row without connecting before the pool is given up. */
#define MAX_FAILED_STARTS 3

typedef enum {
  POLLED_LISTEN,
  POLLED_PENDING,
  POLLED_PILOT,
} PolledKind;

typedef struct {
  PolledKind kind;
  gpointer what;
} Polled;

typedef struct {
  StrandPilotConn *conn;
  char *nonce;
  char *peer;
  gint64 deadline;
} Pending;

static void
pending_free (Pending *p)
{
  strand_pilot_conn_free (p->conn);
  g_free (p->nonce);
  g_free (p->peer);
  g_free (p);
}

static void
pilot_free (SlurmPilot *p)
{
  g_free (p->id);
  strand_pilot_conn_free (p->conn);
  g_free (p->node);
  g_clear_pointer (&p->placement, json_node_unref);
  g_free (p->log_path);
  g_free (p);
}

static SlurmExecutor *
slurm_executor (StrandExecutor *executor)
{
  return (SlurmExecutor *) executor;
}

/* ---- events ---------------------------------------------------------------------- */

static void
task_done (SlurmExecutor *x, SlurmTask *t, StrandTaskResult *result)
{
  StrandExecutorEvent ev = { t->id, result };
  g_array_append_val (x->events, ev);
  t->pool->held_cores -= t->cores;
  t->pool->held_tasks--;
  if (t->pilot == NULL)
    g_queue_remove (x->waiting, t);
  g_hash_table_remove (x->tasks, &t->id);
}

void
strand_slurm_queue_failure (SlurmExecutor *x, SlurmTask *t, StrandErrorClass cls, const char *message,
                            JsonNode *placement)
{
  StrandTaskResult *r = strand_task_result_new ();
  r->error_class = cls;
  r->message = g_strdup (message);
  r->end_us = strand_clock_now_us ();
  r->start_us = t->sent_wall ? t->sent_wall : r->end_us;
  if (t->spec->work_dir)
    r->log_path = g_build_filename (t->spec->work_dir, "task.log", NULL);
  r->placement = placement ? json_node_copy (placement) : NULL;
  task_done (x, t, r);
}

void
strand_slurm_fail_waiting (SlurmExecutor *x, SlurmPool *pool, StrandErrorClass cls, const char *message)
{
  g_autoptr (GPtrArray) failing = g_ptr_array_new ();
  for (GList *l = x->waiting->head; l; l = l->next)
    {
      SlurmTask *t = l->data;
      if (t->pool == pool)
        g_ptr_array_add (failing, t);
    }
  for (guint i = 0; i < failing->len; i++)
    strand_slurm_queue_failure (x, failing->pdata[i], cls, message, NULL);
}

/* ---- workers ---------------------------------------------------------------------- */

SlurmPilot *
strand_slurm_pilot_add (SlurmExecutor *x, SlurmPool *pool, const char *id, guint cores, guint64 memory,
                        gint64 limit_s, const char *log_path)
{
  SlurmPilot *p = g_new0 (SlurmPilot, 1);
  p->id = g_strdup (id);
  p->pool = pool;
  p->cores = cores;
  p->memory = memory;
  p->limit_s = limit_s;
  p->limit_end_wall = p->end_wall = G_MAXINT64;
  p->log_path = g_strdup (log_path);
  g_ptr_array_add (x->pilots, p);
  g_ptr_array_add (x->job_ids, g_strdup (id));
  x->stats.jobs_submitted++;
  return p;
}

static void
cancel_jobs (SlurmExecutor *x, GPtrArray *ids)
{
  if (ids->len == 0)
    return;
  g_ptr_array_add (ids, NULL);
  g_autoptr (GError) error = NULL;
  if (!strand_slurm_cancel (x->slurm, (const char *const *) ids->pdata, &error))
    g_message ("Slurm executor: scancel: %s", error->message);
  g_ptr_array_set_size (ids, ids->len - 1);
}

/* What Slurm says of a job, for the message of a task it took down. */
static char *
slurm_says (SlurmExecutor *x, const char *id)
{
  const StrandSlurmJob *job = strand_slurm_poller_job (x->poller, id);
  g_autoptr (StrandSlurmJob) shown = NULL;
  if (job == NULL || !strand_slurm_job_state_is_final (job->state))
    job = shown = strand_slurm_show_job (x->slurm, id, NULL);
  if (job == NULL)
    return NULL;
  return g_strdup_printf ("Slurm has it %s%s%s", job->state_name, job->reason ? ": " : "",
                          job->reason ? job->reason : "");
}

/* The worker is gone: every task it held is an equipment failure, and
 * nothing it says later counts. */
static void
pilot_lost (SlurmExecutor *x, SlurmPilot *p, const char *why, gboolean ask_slurm)
{
  if (p->state == PILOT_GONE)
    return;
  gboolean was_connected = p->state == PILOT_CONNECTED;
  gboolean had_tasks = p->n_tasks > 0;
  p->state = PILOT_GONE;
  /* Its CPUs are free again, as far as the next sinfo is concerned. */
  if (was_connected && p->pool->known)
    p->pool->capacity.cpus_free = MIN (p->pool->capacity.cpus_free + p->cores, p->pool->capacity.cpus_usable);
  g_clear_pointer (&p->conn, strand_pilot_conn_free);
  gboolean expected = p->released || p->cancelled;
  if (!expected || p->n_tasks > 0)
    x->stats.workers_lost++;
  if (p->n_tasks > 0)
    {
      g_autofree char *slurm = ask_slurm ? slurm_says (x, p->id) : NULL;
      g_autofree char *message = g_strdup_printf (
          "worker job %s%s%s ended while the task ran: %s%s%s; see %s", p->id, p->node ? " on node " : "",
          p->node ? p->node : "", why, slurm ? "; " : "", slurm ? slurm : "", p->log_path);
      g_message ("Slurm executor: %s", message);
      g_autoptr (GPtrArray) lost = g_ptr_array_new ();
      GHashTableIter it;
      gpointer value;
      g_hash_table_iter_init (&it, x->tasks);
      while (g_hash_table_iter_next (&it, NULL, &value))
        if (((SlurmTask *) value)->pilot == p)
          g_ptr_array_add (lost, value);
      for (guint i = 0; i < lost->len; i++)
        strand_slurm_queue_failure (x, lost->pdata[i], STRAND_ERROR_EQUIPMENT, message, p->placement);
      x->stats.tasks_lost += lost->len;
      p->n_tasks = 0;
    }
  else if (!expected && !was_connected)
    {
      /* It never reached the host: a job that cannot start the worker
       * would fail forever. */
      SlurmPool *pool = p->pool;
      pool->failed_starts++;
      g_message ("Slurm executor: worker job %s ended before connecting: %s; see %s", p->id, why,
                 p->log_path);
      if (pool->failed_starts >= MAX_FAILED_STARTS && pool->broken == NULL)
        {
          pool->broken = g_strdup_printf ("%u worker jobs in a row ended before connecting back to the "
                                          "host (the last, %s: %s); see %s", pool->failed_starts, p->id,
                                          why, p->log_path);
          strand_slurm_fail_waiting (x, pool, STRAND_ERROR_CONFIG, pool->broken);
        }
    }
  if (p->own_job)
    {
      /* Its task, if it never got it, asks for another job. */
      SlurmTask *t = g_hash_table_lookup (x->tasks, &p->own_task);
      if (t != NULL && t->pilot == NULL)
        t->own_submitted = FALSE;
    }
  const StrandSlurmJob *job = strand_slurm_poller_job (x->poller, p->id);
  if (!p->cancelled && !(p->released && !had_tasks) &&
      (job == NULL || !strand_slurm_job_state_is_final (job->state)))
    {
      /* A worker that fell silent may still hold its node. */
      g_autoptr (GPtrArray) ids = g_ptr_array_new ();
      g_ptr_array_add (ids, p->id);
      cancel_jobs (x, ids);
      p->cancelled = TRUE;
    }
  x->replan = TRUE;
}

static void
release (SlurmExecutor *x, SlurmPilot *p, const char *reason)
{
  if (p->released || p->state != PILOT_CONNECTED)
    return;
  p->released = TRUE;
  StrandPilotMsg msg = { .type = STRAND_PILOT_MSG_EXIT, .reason = (char *) reason };
  strand_pilot_conn_send (p->conn, &msg);
}

/* ---- tasks -------------------------------------------------------------------------- */

static SlurmPool *
pool_for (SlurmExecutor *x, const StrandTaskSpec *spec)
{
  SlurmPool *any = NULL;
  for (guint i = 0; i < x->pools->len; i++)
    {
      SlurmPool *pool = x->pools->pdata[i];
      if (pool->id != NULL && spec->equipment != NULL && strcmp (pool->id, spec->equipment) == 0)
        return pool;
      if (pool->id == NULL && any == NULL)
        any = pool;
    }
  return any ? any : x->pools->pdata[0];
}

/* How long the task may run: its limit, else 1.5 times what its plugin
 * expects; 0: not known. */
static gint64
need_us (const StrandTaskSpec *spec)
{
  if (spec->timeout_us > 0)
    return spec->timeout_us;
  double expected = spec->plugin ? spec->plugin->resources.expected_seconds : 0;
  return expected > 0 ? (gint64) (expected * 1.5 * G_USEC_PER_SEC) : 0;
}

static gboolean
pilot_takes (const SlurmPilot *p, const SlurmTask *t, gint64 now_wall)
{
  if (p->state != PILOT_CONNECTED || p->released || p->draining || p->pool != t->pool)
    return FALSE;
  if (p->own_job || t->own_job)
    return p->own_job && t->own_job && p->own_task == t->id && p->n_tasks == 0;
  if (p->cores_used + t->cores > p->cores)
    return FALSE;
  if (p->memory > 0 && t->memory > 0 && p->memory_used + t->memory > p->memory)
    return FALSE;
  if (now_wall >= p->end_wall)
    return FALSE;
  return t->need_us == 0 || p->end_wall == G_MAXINT64 || now_wall + t->need_us <= p->end_wall;
}

static void
send_task (SlurmExecutor *x, SlurmTask *t, SlurmPilot *p, gint64 now_wall)
{
  StrandPilotMsg msg = { .type = STRAND_PILOT_MSG_TASK, .id = t->id, .spec = (StrandTaskSpec *) t->spec };
  strand_pilot_conn_send (p->conn, &msg);
  t->pilot = p;
  t->sent_wall = now_wall;
  p->cores_used += t->cores;
  p->memory_used += t->memory;
  p->n_tasks++;
  x->stats.tasks_sent++;
}

/* Hands waiting tasks to connected workers with room, in order; a task no
 * worker takes now waits, and the ones after it may pass. */
static void
place_waiting (SlurmExecutor *x)
{
  gint64 now_wall = strand_clock_now_us ();
  for (GList *l = x->waiting->head; l;)
    {
      SlurmTask *t = l->data;
      GList *next = l->next;
      SlurmPilot *best = NULL;
      for (guint i = 0; i < x->pilots->len; i++)
        {
          SlurmPilot *p = x->pilots->pdata[i];
          /* The emptiest worker first: the load spreads over the jobs. */
          if (pilot_takes (p, t, now_wall) && (best == NULL || p->cores_used < best->cores_used))
            best = p;
        }
      if (best != NULL)
        {
          g_queue_delete_link (x->waiting, l);
          send_task (x, t, best, now_wall);
        }
      l = next;
    }
}

static gboolean
slurm_can_start (StrandExecutor *executor, const StrandTaskSpec *spec)
{
  SlurmExecutor *x = slurm_executor (executor);
  SlurmPool *pool = pool_for (x, spec);
  if (pool->broken != NULL)
    return TRUE; /* it fails at once, saying why */
  if (pool->unusable != NULL)
    return FALSE;
  gint64 need = need_us (spec);
  gint64 now_wall = strand_clock_now_us ();
  if (need > 0)
    {
      /* It must end before the maintenance: in a worker that runs now, or
       * in one that could be submitted now. */
      gboolean fits = strand_slurm_pool_room_s (pool, now_wall) >= (need + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
      for (guint i = 0; !fits && i < x->pilots->len; i++)
        {
          SlurmPilot *p = x->pilots->pdata[i];
          fits = p->pool == pool && p->state == PILOT_CONNECTED && !p->own_job && !p->released &&
                 !p->draining && (p->end_wall == G_MAXINT64 || now_wall + need <= p->end_wall);
        }
      if (!fits)
        return FALSE;
    }
  guint cores = MAX (spec->cores, 1u);
  guint per_job = x->worker_cores ? x->worker_cores
                  : pool->known && pool->capacity.largest_node_cpus ? pool->capacity.largest_node_cpus : 1;
  return pool->held_tasks == 0 || pool->held_cores + cores <= x->max_workers * MAX (per_job, cores);
}

static gboolean
slurm_submit (StrandExecutor *executor, guint64 id, const StrandTaskSpec *spec,
              StrandErrorClass *error_class, GError **error)
{
  SlurmExecutor *x = slurm_executor (executor);
  SlurmPool *pool = pool_for (x, spec);
  if (pool->broken != NULL)
    {
      *error_class = STRAND_ERROR_CONFIG;
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_REFUSED, "%s", pool->broken);
      return FALSE;
    }
  /* A worker job starts in another folder, on another machine. */
  const char *relative = !g_path_is_absolute (spec->work_dir) ? spec->work_dir
                         : !g_path_is_absolute (spec->plugin->path) ? spec->plugin->path : NULL;
  for (guint i = 0; relative == NULL && i < spec->inputs->len; i++)
    if (!g_path_is_absolute (((StrandTaskInput *) spec->inputs->pdata[i])->path))
      relative = ((StrandTaskInput *) spec->inputs->pdata[i])->path;
  if (relative != NULL)
    {
      *error_class = STRAND_ERROR_CONFIG;
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID,
                   "a worker job cannot find '%s': the Slurm executor needs absolute paths", relative);
      return FALSE;
    }
  if (g_hash_table_contains (x->tasks, &id))
    {
      *error_class = STRAND_ERROR_INTERNAL;
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID, "task %" G_GUINT64_FORMAT
                   " was submitted twice", id);
      return FALSE;
    }
  SlurmTask *t = g_new0 (SlurmTask, 1);
  t->id = id;
  t->spec = spec;
  t->pool = pool;
  t->cores = MAX (spec->cores, 1u);
  t->memory = spec->memory_bytes;
  t->need_us = need_us (spec);
  double expected = spec->plugin ? spec->plugin->resources.expected_seconds : 0;
  t->own_job = (x->own_job_seconds > 0 && expected > x->own_job_seconds) ||
               (x->own_job_memory > 0 && t->memory > x->own_job_memory);
  g_hash_table_insert (x->tasks, &t->id, t);
  g_queue_push_tail (x->waiting, t);
  pool->held_cores += t->cores;
  pool->held_tasks++;
  x->replan = TRUE;
  place_waiting (x);
  return TRUE;
}

static void
slurm_cancel (StrandExecutor *executor, guint64 id, gboolean force)
{
  SlurmExecutor *x = slurm_executor (executor);
  SlurmTask *t = g_hash_table_lookup (x->tasks, &id);
  if (t == NULL)
    return;
  if (t->pilot != NULL)
    {
      StrandPilotMsg msg = { .type = STRAND_PILOT_MSG_CANCEL, .id = id, .force = force };
      strand_pilot_conn_send (t->pilot->conn, &msg);
      return;
    }
  /* Not started anywhere: it ends here, as a cancelled local task would. */
  for (guint i = 0; t->own_job && i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      if (p->own_job && p->own_task == id && p->state == PILOT_QUEUED)
        {
          g_autoptr (GPtrArray) ids = g_ptr_array_new ();
          g_ptr_array_add (ids, p->id);
          cancel_jobs (x, ids);
          p->cancelled = TRUE;
          p->state = PILOT_GONE;
        }
    }
  strand_slurm_queue_failure (x, t, STRAND_ERROR_TRANSIENT, "cancelled: the run was stopped", NULL);
}

static guint
slurm_running (StrandExecutor *executor)
{
  return g_hash_table_size (slurm_executor (executor)->tasks);
}

static guint
slurm_capacity (StrandExecutor *executor)
{
  SlurmExecutor *x = slurm_executor (executor);
  guint total = 0;
  for (guint i = 0; i < x->pools->len; i++)
    {
      SlurmPool *pool = x->pools->pdata[i];
      guint per_job = x->worker_cores ? x->worker_cores
                      : pool->known && pool->capacity.largest_node_cpus ? pool->capacity.largest_node_cpus : 1;
      total += x->max_workers * per_job;
    }
  return total;
}

/* ---- connections ----------------------------------------------------------------------- */

static char *
peer_name (int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (getpeername (fd, (struct sockaddr *) &ss, &len) == 0)
    {
      if (ss.ss_family == AF_INET6)
        {
          struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
          inet_ntop (AF_INET6, &a->sin6_addr, host, sizeof host);
          port = ntohs (a->sin6_port);
        }
      else if (ss.ss_family == AF_INET)
        {
          struct sockaddr_in *a = (struct sockaddr_in *) &ss;
          inet_ntop (AF_INET, &a->sin_addr, host, sizeof host);
          port = ntohs (a->sin_port);
        }
    }
  return g_strdup_printf ("%s port %d", host, port);
}

static void
accept_connections (SlurmExecutor *x)
{
  for (;;)
    {
      int fd = accept4 (x->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;
      if (x->pending->len >= MAX_PENDING)
        {
          close (fd);
          continue;
        }
      Pending *p = g_new0 (Pending, 1);
      p->conn = strand_pilot_conn_new (fd);
      p->nonce = strand_pilot_secret_new ();
      p->peer = peer_name (fd);
      p->deadline = strand_clock_monotonic_us () + HANDSHAKE_TIMEOUT_US;
      StrandPilotMsg challenge = { .type = STRAND_PILOT_MSG_CHALLENGE, .version = STRAND_PILOT_PROTOCOL,
                                   .nonce = p->nonce };
      strand_pilot_conn_send (p->conn, &challenge);
      g_ptr_array_add (x->pending, p);
    }
}

static SlurmPilot *
pilot_of_hello (SlurmExecutor *x, const StrandPilotMsg *hello)
{
  g_autofree char *id = hello->array_job && hello->array_task >= 0
                            ? g_strdup_printf ("%s_%" G_GINT64_FORMAT, hello->array_job, hello->array_task)
                            : g_strdup (hello->job);
  for (guint i = 0; id && i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      if (strcmp (p->id, id) == 0)
        return p;
    }
  return NULL;
}

static JsonNode *
placement_of (const SlurmPilot *p, const StrandPilotMsg *hello, const char *partition)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "executor", "slurm");
  json_object_set_string_member (o, "job_id", hello->job ? hello->job : p->id);
  if (hello->array_job && hello->array_task >= 0)
    {
      json_object_set_string_member (o, "array_job_id", hello->array_job);
      json_object_set_int_member (o, "array_task_id", hello->array_task);
    }
  if (hello->node)
    json_object_set_string_member (o, "node", hello->node);
  if (partition)
    json_object_set_string_member (o, "partition", partition);
  if (p->own_job)
    json_object_set_boolean_member (o, "own_job", TRUE);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, o);
  return node;
}

/* A worker proved it holds the token: it becomes the pilot it says it is. */
static gboolean
welcome (SlurmExecutor *x, Pending *pending, const StrandPilotMsg *hello, const char **refusal)
{
  SlurmPilot *p = pilot_of_hello (x, hello);
  if (p == NULL || p->state != PILOT_QUEUED)
    {
      *refusal = p == NULL ? "not a job of this host" : "that job is already connected, or was given up";
      return FALSE;
    }
  gint64 now = strand_clock_monotonic_us ();
  gint64 now_wall = strand_clock_now_us ();
  p->state = PILOT_CONNECTED;
  p->connected_once = TRUE;
  p->conn = g_steal_pointer (&pending->conn);
  p->node = g_strdup (hello->node);
  p->cores = hello->cores;
  p->memory = hello->memory_bytes;
  p->last_heard = p->idle_since = now;
  p->next_heartbeat = now + x->heartbeat_us;
  p->pool->failed_starts = 0;
  x->stats.workers_connected++;
  /* When its time ends: from Slurm's start time when known. */
  gint64 limit_s = p->limit_s;
  gint64 start_wall = now_wall - 5 * G_USEC_PER_SEC;
  g_autoptr (StrandSlurmJob) job = strand_slurm_show_job (x->slurm, p->id, NULL);
  p->placement = placement_of (p, hello, p->pool->partition ? p->pool->partition : job ? job->partition : NULL);
  if (job != NULL)
    {
      if (job->time_limit_s > 0)
        limit_s = job->time_limit_s;
      if (job->start_us > 0 && job->start_us <= now_wall)
        start_wall = job->start_us;
    }
  p->limit_end_wall = limit_s > 0 ? start_wall + limit_s * G_USEC_PER_SEC : G_MAXINT64;
  strand_slurm_pilot_update_end (p, now_wall);
  g_autofree char *proof = strand_pilot_proof (x->token, "host", hello->nonce);
  StrandPilotMsg msg = { .type = STRAND_PILOT_MSG_WELCOME, .proof = proof,
                         .heartbeat_ms = x->heartbeat_us / 1000, .max_tasks = p->own_job ? 1 : 0 };
  strand_pilot_conn_send (p->conn, &msg);
  return TRUE;
}

/* Reads a connection that has not proved itself yet. FALSE: done with it. */
static gboolean
read_pending (SlurmExecutor *x, Pending *pending)
{
  g_autoptr (GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
  g_autoptr (GError) error = NULL;
  gboolean open = strand_pilot_conn_read (pending->conn, msgs, &error);
  if (msgs->len == 0)
    return open;
  StrandPilotMsg *hello = msgs->pdata[0];
  const char *refusal = NULL;
  if (msgs->len > 1 || hello->type != STRAND_PILOT_MSG_HELLO || hello->version != STRAND_PILOT_PROTOCOL)
    refusal = "it did not say hello in this protocol";
  else if (!strand_pilot_proof_check (x->token, "worker", pending->nonce, hello->proof))
    refusal = "it does not hold this host's token";
  else if (welcome (x, pending, hello, &refusal))
    return FALSE;
  g_message ("Slurm executor: refused a worker from %s: %s", pending->peer, refusal);
  if (pending->conn != NULL)
    {
      StrandPilotMsg bye = { .type = STRAND_PILOT_MSG_BYE, .reason = (char *) refusal };
      strand_pilot_conn_send (pending->conn, &bye);
    }
  return FALSE;
}

static void
take_result (SlurmExecutor *x, SlurmPilot *p, StrandPilotMsg *msg)
{
  SlurmTask *t = g_hash_table_lookup (x->tasks, &msg->id);
  if (t == NULL || t->pilot != p)
    {
      /* Not a task this worker holds: an answer to a cancelled or lost
       * attempt. It must not count twice. */
      x->stats.late_results++;
      g_message ("Slurm executor: worker job %s sent a result for task %" G_GUINT64_FORMAT
                 " it does not hold; ignored", p->id, msg->id);
      return;
    }
  StrandTaskResult *r = g_steal_pointer (&msg->result);
  g_clear_pointer (&r->placement, json_node_unref);
  r->placement = json_node_copy (p->placement);
  p->cores_used -= t->cores;
  p->memory_used -= t->memory;
  p->n_tasks--;
  if (p->n_tasks == 0)
    p->idle_since = strand_clock_monotonic_us ();
  task_done (x, t, r);
  if (p->own_job)
    release (x, p, "its task is done");
  x->replan = TRUE;
}

/* Reads a worker's messages. */
static void
read_pilot (SlurmExecutor *x, SlurmPilot *p)
{
  g_autoptr (GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
  g_autoptr (GError) error = NULL;
  gboolean open = strand_pilot_conn_read (p->conn, msgs, &error);
  if (msgs->len > 0)
    p->last_heard = strand_clock_monotonic_us ();
  for (guint i = 0; i < msgs->len && p->state == PILOT_CONNECTED; i++)
    {
      StrandPilotMsg *msg = msgs->pdata[i];
      switch (msg->type)
        {
        case STRAND_PILOT_MSG_RESULT:
          take_result (x, p, msg);
          break;
        case STRAND_PILOT_MSG_HEARTBEAT:
          break;
        case STRAND_PILOT_MSG_BYE:
          {
            g_autofree char *why = g_strdup_printf ("the worker left: %s", msg->reason ? msg->reason : "");
            pilot_lost (x, p, why, TRUE);
            break;
          }
        default:
          pilot_lost (x, p, "it broke the protocol", FALSE);
          break;
        }
    }
  if (!open && p->state == PILOT_CONNECTED)
    {
      gboolean closed = g_error_matches (error, STRAND_PILOT_ERROR, STRAND_PILOT_ERROR_CLOSED);
      g_autofree char *why = closed ? g_strdup ("its connection closed")
                                    : g_strdup_printf ("its connection failed: %s", error->message);
      pilot_lost (x, p, why, p->n_tasks > 0);
    }
}

/* ---- the loop's side ---------------------------------------------------------------------- */

static void
add_poll (SlurmExecutor *x, GArray *pollfds, int fd, short events, PolledKind kind, gpointer what)
{
  struct pollfd p = { .fd = fd, .events = events };
  g_array_append_val (pollfds, p);
  Polled polled = { kind, what };
  g_array_append_val (x->polled, polled);
}

static gint64
slurm_prepare (StrandExecutor *executor, GArray *pollfds)
{
  SlurmExecutor *x = slurm_executor (executor);
  gint64 now = strand_clock_monotonic_us ();
  g_array_set_size (x->polled, 0);
  add_poll (x, pollfds, x->listen_fd, POLLIN, POLLED_LISTEN, NULL);
  for (guint i = 0; i < x->pending->len; i++)
    {
      Pending *p = x->pending->pdata[i];
      add_poll (x, pollfds, strand_pilot_conn_fd (p->conn),
                POLLIN | (strand_pilot_conn_pending (p->conn) ? POLLOUT : 0), POLLED_PENDING, p);
    }
  for (guint i = 0; i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      if (p->state == PILOT_CONNECTED)
        add_poll (x, pollfds, strand_pilot_conn_fd (p->conn),
                  POLLIN | (strand_pilot_conn_pending (p->conn) ? POLLOUT : 0), POLLED_PILOT, p);
    }
  if (x->events->len > 0 || x->replan)
    return now;
  /* Heartbeats, silences, the poller, idle workers and refreshes are
   * looked at once a second: none of them needs to be sharper. */
  return now + G_USEC_PER_SEC;
}

static void
poll_jobs (SlurmExecutor *x)
{
  gboolean watching = FALSE;
  for (guint i = 0; i < x->pilots->len && !watching; i++)
    watching = ((SlurmPilot *) x->pilots->pdata[i])->state != PILOT_GONE;
  if (!watching || strand_clock_monotonic_us () < strand_slurm_poller_due_us (x->poller))
    return;
  GPtrArray *changed = NULL;
  g_autoptr (GError) error = NULL;
  if (!strand_slurm_poller_poll (x->poller, &changed, &error))
    {
      g_message ("Slurm executor: squeue: %s", error->message);
      return;
    }
  for (guint c = 0; c < changed->len; c++)
    {
      const StrandSlurmJob *job = changed->pdata[c];
      if (!strand_slurm_job_state_is_final (job->state))
        continue;
      /* An array ended before its tasks were split ("12_[0-3]") ends each. */
      gboolean range = strchr (job->id, '[') != NULL;
      g_autofree char *prefix = range ? g_strdup_printf ("%" G_GUINT64_FORMAT "_", job->array_job_id) : NULL;
      for (guint i = 0; i < x->pilots->len; i++)
        {
          SlurmPilot *p = x->pilots->pdata[i];
          if (p->state == PILOT_GONE)
            continue;
          if (!(strcmp (p->id, job->id) == 0 ||
                (range && g_str_has_prefix (p->id, prefix) && strand_slurm_poller_job (x->poller, p->id) == NULL)))
            continue;
          g_autofree char *why = g_strdup_printf ("Slurm reports its job %s%s%s", job->state_name,
                                                  job->reason ? ": " : "", job->reason ? job->reason : "");
          pilot_lost (x, p, why, FALSE);
        }
    }
}

static void
check_pilots (SlurmExecutor *x)
{
  gint64 now = strand_clock_monotonic_us ();
  gint64 now_wall = strand_clock_now_us ();
  for (guint i = 0; i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      if (p->state != PILOT_CONNECTED)
        continue;
      if (now - p->last_heard > 4 * x->heartbeat_us)
        {
          g_autofree char *why = g_strdup_printf ("nothing heard from it for %.0f s",
                                                  (double) (now - p->last_heard) / G_USEC_PER_SEC);
          pilot_lost (x, p, why, TRUE);
          continue;
        }
      if (now >= p->next_heartbeat)
        {
          StrandPilotMsg hb = { .type = STRAND_PILOT_MSG_HEARTBEAT };
          strand_pilot_conn_send (p->conn, &hb);
          p->next_heartbeat = now + x->heartbeat_us;
        }
      if (p->n_tasks == 0 && !p->released)
        {
          /* Idle: it leaves at once when tasks of its pool wait that it
           * cannot take (their size, its time left: another job must run
           * them, and it holds their place), else after the idle timeout. */
          gboolean useful = FALSE, others = FALSE;
          for (GList *l = x->waiting->head; l && !useful; l = l->next)
            {
              SlurmTask *t = l->data;
              useful = pilot_takes (p, t, now_wall);
              others |= t->pool == p->pool;
            }
          if (p->draining)
            release (x, p, "it takes no more tasks");
          else if (!useful && others)
            release (x, p, "the waiting tasks need a worker of another size");
          else if (!useful && now - p->idle_since >= x->idle_timeout_us)
            release (x, p, "idle");
        }
    }
  for (guint i = 0; i < x->pending->len;)
    {
      Pending *p = x->pending->pdata[i];
      if (now >= p->deadline)
        {
          g_message ("Slurm executor: a connection from %s did not say hello in time; closed", p->peer);
          g_ptr_array_remove_index_fast (x->pending, i);
          continue;
        }
      i++;
    }
}

static void
slurm_dispatch (StrandExecutor *executor, GArray *pollfds, guint first, GArray *events)
{
  SlurmExecutor *x = slurm_executor (executor);
  for (guint i = 0; i < x->polled->len && first + i < pollfds->len; i++)
    {
      const Polled *polled = &g_array_index (x->polled, Polled, i);
      short revents = g_array_index (pollfds, struct pollfd, first + i).revents;
      if (revents == 0)
        continue;
      switch (polled->kind)
        {
        case POLLED_LISTEN:
          accept_connections (x);
          break;
        case POLLED_PENDING:
          {
            Pending *p = polled->what;
            if ((revents & POLLOUT) && !strand_pilot_conn_flush (p->conn, NULL))
              revents |= POLLERR;
            if (!read_pending (x, p) || (revents & POLLERR))
              g_ptr_array_remove_fast (x->pending, p);
            break;
          }
        case POLLED_PILOT:
          {
            SlurmPilot *p = polled->what;
            if (p->state != PILOT_CONNECTED)
              break;
            if ((revents & POLLOUT) && !strand_pilot_conn_flush (p->conn, NULL))
              {
                pilot_lost (x, p, "its connection failed", TRUE);
                break;
              }
            if (revents & (POLLIN | POLLHUP | POLLERR))
              read_pilot (x, p);
            break;
          }
        }
    }
  g_array_set_size (x->polled, 0);
  check_pilots (x);
  poll_jobs (x);
  if (strand_clock_monotonic_us () >= x->next_refresh)
    strand_slurm_refresh (x);
  if (x->replan || !g_queue_is_empty (x->waiting))
    {
      x->replan = FALSE;
      place_waiting (x);
      strand_slurm_plan_jobs (x);
      place_waiting (x);
    }
  g_array_append_vals (events, x->events->data, x->events->len);
  g_array_set_size (x->events, 0);
}

/* ---- the end -------------------------------------------------------------------------------- */

static void
slurm_free (StrandExecutor *executor)
{
  SlurmExecutor *x = slurm_executor (executor);
  /* Workers leave by themselves when told; what has not left by then, or
   * never started, is cancelled. */
  gint64 until = strand_clock_monotonic_us () + 3 * G_USEC_PER_SEC;
  for (guint i = 0; i < x->pilots->len; i++)
    release (x, x->pilots->pdata[i], "the run is over");
  for (;;)
    {
      g_autoptr (GArray) fds = g_array_new (FALSE, FALSE, sizeof (struct pollfd));
      g_autoptr (GPtrArray) who = g_ptr_array_new ();
      for (guint i = 0; i < x->pilots->len; i++)
        {
          SlurmPilot *p = x->pilots->pdata[i];
          if (p->state != PILOT_CONNECTED || p->n_tasks > 0)
            continue;
          struct pollfd pfd = { .fd = strand_pilot_conn_fd (p->conn),
                                .events = POLLIN | (strand_pilot_conn_pending (p->conn) ? POLLOUT : 0) };
          g_array_append_val (fds, pfd);
          g_ptr_array_add (who, p);
        }
      gint64 left = until - strand_clock_monotonic_us ();
      if (fds->len == 0 || left <= 0)
        break;
      if (poll ((struct pollfd *) fds->data, fds->len, (int) (left / 1000 + 1)) <= 0)
        continue;
      for (guint i = 0; i < fds->len; i++)
        {
          SlurmPilot *p = who->pdata[i];
          short revents = g_array_index (fds, struct pollfd, i).revents;
          if ((revents & POLLOUT) && !strand_pilot_conn_flush (p->conn, NULL))
            revents |= POLLERR;
          if (revents & (POLLIN | POLLHUP | POLLERR))
            {
              g_autoptr (GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
              if (!strand_pilot_conn_read (p->conn, msgs, NULL) || (revents & POLLERR))
                {
                  p->state = PILOT_GONE;
                  g_clear_pointer (&p->conn, strand_pilot_conn_free);
                }
            }
        }
    }
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  for (guint i = 0; i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      gboolean ended = p->state == PILOT_GONE && (p->released || p->cancelled);
      const StrandSlurmJob *job = strand_slurm_poller_job (x->poller, p->id);
      if (!ended && (job == NULL || !strand_slurm_job_state_is_final (job->state)))
        g_ptr_array_add (ids, p->id);
    }
  cancel_jobs (x, ids);
  if (x->token_path)
    g_unlink (x->token_path);
  if (x->listen_fd >= 0)
    close (x->listen_fd);
  g_ptr_array_unref (x->pending);
  g_ptr_array_unref (x->pilots);
  g_hash_table_unref (x->tasks);
  g_queue_free (x->waiting);
  for (guint i = 0; i < x->events->len; i++)
    strand_task_result_free (g_array_index (x->events, StrandExecutorEvent, i).result);
  g_array_unref (x->events);
  g_array_unref (x->polled);
  g_ptr_array_unref (x->pools);
  g_ptr_array_unref (x->job_ids);
  strand_slurm_poller_free (x->poller);
  strand_slurm_free (x->slurm);
  if (x->token)
    sodium_memzero (x->token, strlen (x->token));
  g_free (x->token);
  g_free (x->program);
  g_free (x->dir);
  g_free (x->token_path);
  g_free (x->script);
  g_free (x->address);
  g_free (x->job_name);
  g_free (x);
}

static const StrandExecutorClass slurm_class = {
  .name = "slurm",
  .can_start = slurm_can_start,
  .submit = slurm_submit,
  .prepare = slurm_prepare,
  .dispatch = slurm_dispatch,
  .cancel = slurm_cancel,
  .running = slurm_running,
  .capacity = slurm_capacity,
  .free = slurm_free,
};

/* ---- making one ------------------------------------------------------------------------------ */

static int
listen_any (guint16 *port, GError **error)
{
  int fd = socket (AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0)
    {
      int off = 0;
      setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
      struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
      if (bind (fd, (struct sockaddr *) &a, sizeof a) != 0)
        {
          close (fd);
          fd = -1;
        }
    }
  if (fd < 0)
    {
      fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_ANY) };
      if (fd >= 0 && bind (fd, (struct sockaddr *) &a, sizeof a) != 0)
        {
          close (fd);
          fd = -1;
        }
    }
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (fd < 0 || listen (fd, 128) != 0 || getsockname (fd, (struct sockaddr *) &ss, &len) != 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot listen for workers: %s",
                   g_strerror (saved));
      return -1;
    }
  *port = ss.ss_family == AF_INET6 ? ntohs (((struct sockaddr_in6 *) &ss)->sin6_port)
                                   : ntohs (((struct sockaddr_in *) &ss)->sin_port);
  return fd;
}

StrandExecutor *
strand_executor_slurm_new (const StrandSlurmExecutorOptions *opt, GError **error)
{
  if (opt->worker_program == NULL || opt->state_dir == NULL)
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID,
                   "the Slurm executor needs the worker program and a state directory");
      return NULL;
    }
  if (!g_file_test (opt->worker_program, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID,
                   "the worker program %s is not an executable", opt->worker_program);
      return NULL;
    }
  SlurmExecutor *x = g_new0 (SlurmExecutor, 1);
  x->parent.klass = &slurm_class;
  x->listen_fd = -1;
  x->program = g_canonicalize_filename (opt->worker_program, NULL);
  x->job_name = g_strdup (opt->job_name ? opt->job_name : "strand-worker");
  x->max_workers = opt->max_workers ? opt->max_workers : 4;
  x->worker_cores = opt->worker_cores;
  x->worker_memory = opt->worker_memory_bytes;
  x->worker_time_limit_s = opt->worker_time_limit_s;
  x->idle_timeout_us = opt->idle_timeout_us > 0 ? opt->idle_timeout_us : 30 * G_USEC_PER_SEC;
  x->heartbeat_us = opt->heartbeat_us > 0 ? opt->heartbeat_us : 5 * G_USEC_PER_SEC;
  x->grace_us = opt->grace_us > 0 ? opt->grace_us : 10 * G_USEC_PER_SEC;
  x->own_job_seconds = opt->own_job_seconds > 0 ? opt->own_job_seconds : 3600;
  x->own_job_memory = opt->own_job_memory_bytes;
  x->refresh_us = opt->refresh_us > 0 ? opt->refresh_us : 60 * G_USEC_PER_SEC;
  x->monitor = opt->monitor;
  /* SLURM_CONF named, so that a missing file is said at once rather than
   * after Slurm's own minute of retries. */
  x->slurm = strand_slurm_new (opt->slurm_conf ? opt->slurm_conf : g_getenv ("SLURM_CONF"));
  x->poller = strand_slurm_poller_new (x->slurm, 2 * G_USEC_PER_SEC, 30 * G_USEC_PER_SEC);
  x->pools = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_slurm_pool_free);
  for (guint i = 0; i < opt->n_pools; i++)
    g_ptr_array_add (x->pools, strand_slurm_pool_new (&opt->pools[i]));
  if (x->pools->len == 0)
    g_ptr_array_add (x->pools, strand_slurm_pool_new (NULL));
  x->pilots = g_ptr_array_new_with_free_func ((GDestroyNotify) pilot_free);
  x->tasks = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  x->waiting = g_queue_new ();
  x->events = g_array_new (FALSE, FALSE, sizeof (StrandExecutorEvent));
  x->pending = g_ptr_array_new_with_free_func ((GDestroyNotify) pending_free);
  x->polled = g_array_new (FALSE, FALSE, sizeof (Polled));
  x->job_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (StrandExecutor) owned = &x->parent;

  /* The cluster answers, and knows each partition. */
  for (guint i = 0; i < x->pools->len; i++)
    {
      SlurmPool *pool = x->pools->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (GPtrArray) nodes = strand_slurm_nodes (x->slurm, pool->partition, &local);
      if (nodes == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "Slurm: ");
          return NULL;
        }
      if (nodes->len == 0)
        {
          g_set_error (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_REFUSED,
                       "Slurm: %s%s%s has no nodes", pool->partition ? "partition '" : "the cluster",
                       pool->partition ? pool->partition : "", pool->partition ? "'" : "");
          return NULL;
        }
    }
  strand_slurm_refresh (x);

  /* Its folder: the token only its user reads, the script, the logs. */
  if (g_mkdir_with_parents (opt->state_dir, 0750) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot create %s: %s",
                   opt->state_dir, g_strerror (errno));
      return NULL;
    }
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (strand_clock_now_us () / G_USEC_PER_SEC);
  g_autofree char *stamp = g_date_time_format (dt, "%Y%m%dT%H%M%SZ");
  g_autofree char *leaf = g_strdup_printf ("workers-%s-XXXXXX", stamp);
  g_autofree char *state_dir = g_canonicalize_filename (opt->state_dir, NULL);
  x->dir = g_build_filename (state_dir, leaf, NULL);
  if (g_mkdtemp_full (x->dir, 0700) == NULL)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "cannot create %s: %s", x->dir,
                   g_strerror (errno));
      return NULL;
    }
  x->token = strand_pilot_secret_new ();
  x->token_path = g_build_filename (x->dir, "token", NULL);
  if (!strand_pilot_token_write (x->token_path, x->token, error))
    return NULL;
  guint16 port = 0;
  x->listen_fd = listen_any (&port, error);
  if (x->listen_fd < 0)
    return NULL;
  const char *host = opt->advertise ? opt->advertise : g_get_host_name ();
  x->address = strchr (host, ':') ? g_strdup_printf ("[%s]:%u", host, port)
                                  : g_strdup_printf ("%s:%u", host, port);
  x->script = g_build_filename (x->dir, "worker.sh", NULL);
  g_autofree char *grace = g_strdup_printf ("%.3f", (double) x->grace_us / G_USEC_PER_SEC);
  const char *argv[] = { x->program, "worker", "--connect", x->address, "--token-file", x->token_path,
                         "--grace", grace, NULL };
  if (!strand_slurm_write_script (x->script, argv, error))
    return NULL;
  return g_steal_pointer (&owned);
}

/* ---- for reports ---------------------------------------------------------------------------- */

void
strand_executor_slurm_stats (StrandExecutor *executor, StrandSlurmExecutorStats *stats)
{
  g_return_if_fail (executor->klass == &slurm_class);
  SlurmExecutor *x = slurm_executor (executor);
  *stats = x->stats;
  stats->slurm_calls = strand_slurm_calls (x->slurm);
}

const char *
strand_executor_slurm_address (StrandExecutor *executor)
{
  g_return_val_if_fail (executor->klass == &slurm_class, NULL);
  return slurm_executor (executor)->address;
}

const char *
strand_executor_slurm_dir (StrandExecutor *executor)
{
  g_return_val_if_fail (executor->klass == &slurm_class, NULL);
  return slurm_executor (executor)->dir;
}

GPtrArray *
strand_executor_slurm_jobs (StrandExecutor *executor)
{
  g_return_val_if_fail (executor->klass == &slurm_class, NULL);
  return slurm_executor (executor)->job_ids;
}
