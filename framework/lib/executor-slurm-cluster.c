/* The Slurm executor and the cluster (executor-slurm.h): what the
 * partitions can take now and when they go into maintenance, and the jobs
 * to submit for the tasks that wait. */
#include "executor-slurm-private.h"

#include <string.h>

#include "clock.h"

#define MiB ((guint64) 1 << 20)
/* Memory a worker job needs beside its tasks. */
#define WORKER_OVERHEAD (256 * MiB)
/* How far ahead maintenance is read. */
#define HORIZON_US ((gint64) 30 * 24 * 3600 * G_USEC_PER_SEC)
/* While a partition cannot take work, its state is read this often. */
#define BLOCKED_REFRESH_US (5 * G_USEC_PER_SEC)

static void
maintenance_free (gpointer p)
{
  StrandMaintenance *m = p;
  g_free (m->reason);
  g_free (m);
}

static StrandMaintenance *
maintenance_copy (const StrandMaintenance *m)
{
  StrandMaintenance *copy = g_new0 (StrandMaintenance, 1);
  copy->start_us = m->start_us;
  copy->end_us = m->end_us;
  copy->reason = g_strdup (m->reason);
  return copy;
}

SlurmPool *
strand_slurm_pool_new (const StrandSlurmPool *conf)
{
  SlurmPool *pool = g_new0 (SlurmPool, 1);
  pool->id = g_strdup (conf ? conf->id : NULL);
  pool->partition = g_strdup (conf ? conf->partition : NULL);
  pool->account = g_strdup (conf ? conf->account : NULL);
  pool->equipment = conf ? conf->equipment : NULL;
  pool->base_maintenance = g_ptr_array_new_with_free_func (maintenance_free);
  for (guint i = 0; pool->equipment && i < pool->equipment->maintenance->len; i++)
    g_ptr_array_add (pool->base_maintenance, maintenance_copy (pool->equipment->maintenance->pdata[i]));
  pool->windows = g_ptr_array_new_with_free_func (maintenance_free);
  pool->past = g_ptr_array_new_with_free_func (maintenance_free);
  pool->node_windows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_ptr_array_unref);
  pool->closed_nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  pool->status_sent = -1;
  return pool;
}

void
strand_slurm_pool_free (SlurmPool *pool)
{
  g_free (pool->id);
  g_free (pool->partition);
  g_free (pool->account);
  g_ptr_array_unref (pool->base_maintenance);
  g_ptr_array_unref (pool->windows);
  g_ptr_array_unref (pool->past);
  g_hash_table_unref (pool->node_windows);
  g_hash_table_unref (pool->closed_nodes);
  g_free (pool->unusable);
  g_free (pool->broken);
  g_free (pool);
}

/* ---- maintenance ------------------------------------------------------------- */

const StrandMaintenance *
strand_slurm_pool_next_window (const SlurmPool *pool, const char *node, gint64 now_wall)
{
  const GPtrArray *windows = node ? g_hash_table_lookup (pool->node_windows, node) : pool->windows;
  for (guint i = 0; windows && i < windows->len; i++)
    {
      const StrandMaintenance *m = windows->pdata[i];
      if (m->end_us > now_wall)
        return m;
    }
  return NULL;
}

gint64
strand_slurm_pool_room_s (const SlurmPool *pool, gint64 now_wall)
{
  const StrandMaintenance *m = strand_slurm_pool_next_window (pool, NULL, now_wall);
  if (m == NULL)
    return G_MAXINT64;
  gint64 s = (m->start_us - now_wall) / G_USEC_PER_SEC - STRAND_SLURM_START_MARGIN_S;
  /* Slurm takes time limits in whole minutes. */
  return s >= 60 ? s / 60 * 60 : 0;
}

void
strand_slurm_pilot_update_end (SlurmPilot *p, gint64 now_wall)
{
  p->end_wall = p->limit_end_wall;
  const StrandMaintenance *m = p->node ? strand_slurm_pool_next_window (p->pool, p->node, now_wall) : NULL;
  if (m == NULL)
    m = strand_slurm_pool_next_window (p->pool, NULL, now_wall);
  if (m != NULL)
    p->end_wall = MIN (p->end_wall, MAX (m->start_us, now_wall));
}

/* Windows that every node of the pool shares: the partition's own. A
 * window that began and is no longer listed (Slurm drops a reservation as
 * it ends, or an administrator deleted it) is kept as it happened. */
static void
shared_windows (SlurmPool *pool, GPtrArray *nodes, gint64 now_wall)
{
  g_autoptr (GPtrArray) before = g_ptr_array_new_with_free_func (maintenance_free);
  for (guint i = 0; i < pool->windows->len; i++)
    g_ptr_array_add (before, maintenance_copy (pool->windows->pdata[i]));
  g_ptr_array_set_size (pool->windows, 0);
  if (nodes->len == 0)
    return;
  const StrandSlurmNode *first = nodes->pdata[0];
  GPtrArray *candidates = g_hash_table_lookup (pool->node_windows, first->name);
  for (guint i = 0; candidates && i < candidates->len; i++)
    {
      const StrandMaintenance *w = candidates->pdata[i];
      gboolean everywhere = TRUE;
      for (guint n = 1; n < nodes->len && everywhere; n++)
        {
          const GPtrArray *other = g_hash_table_lookup (pool->node_windows,
                                                        ((StrandSlurmNode *) nodes->pdata[n])->name);
          gboolean found = FALSE;
          for (guint k = 0; other && k < other->len && !found; k++)
            {
              const StrandMaintenance *o = other->pdata[k];
              found = o->start_us <= w->start_us && o->end_us >= w->end_us;
            }
          everywhere = found;
        }
      if (everywhere)
        g_ptr_array_add (pool->windows, maintenance_copy (w));
    }
  for (guint i = 0; i < before->len; i++)
    {
      StrandMaintenance *w = before->pdata[i];
      gboolean listed = FALSE;
      for (guint k = 0; k < pool->windows->len && !listed; k++)
        {
          const StrandMaintenance *n = pool->windows->pdata[k];
          listed = n->start_us == w->start_us && g_strcmp0 (n->reason, w->reason) == 0;
        }
      if (!listed && w->start_us <= now_wall)
        {
          StrandMaintenance *kept = maintenance_copy (w);
          kept->end_us = MIN (kept->end_us, now_wall);
          g_ptr_array_add (pool->past, kept);
        }
    }
}

/* The equipment model gets the windows, and the monitor the status. */
static void
feed_equipment (SlurmExecutor *x, SlurmPool *pool, gint64 now_wall)
{
  if (pool->equipment != NULL)
    {
      g_ptr_array_set_size (pool->equipment->maintenance, 0);
      strand_slurm_equipment_add_maintenance (pool->equipment, pool->base_maintenance);
      strand_slurm_equipment_add_maintenance (pool->equipment, pool->past);
      strand_slurm_equipment_add_maintenance (pool->equipment, pool->windows);
    }
  if (x->monitor == NULL || pool->id == NULL)
    return;
  StrandEquipmentStatus status = pool->unusable == NULL ? STRAND_EQUIPMENT_UP
                                 : pool->maintenance_now ? STRAND_EQUIPMENT_MAINTENANCE
                                                         : STRAND_EQUIPMENT_DOWN;
  StrandEquipmentStatus now = strand_monitor_status (x->monitor, pool->id, NULL);
  /* Busy and up are the monitor's to tell apart. */
  if ((int) status == pool->status_sent ||
      (status == STRAND_EQUIPMENT_UP && now == STRAND_EQUIPMENT_BUSY))
    return;
  g_autoptr (GError) error = NULL;
  if (!strand_monitor_set_status (x->monitor, pool->id, status, pool->unusable, now_wall, &error))
    g_message ("Slurm executor: equipment %s: %s", pool->id, error->message);
  else
    pool->status_sent = (int) status;
}

static void
refresh_pool (SlurmExecutor *x, SlurmPool *pool, const GPtrArray *reservations, gint64 now_wall)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) nodes = strand_slurm_nodes (x->slurm, pool->partition, &error);
  if (nodes == NULL)
    {
      g_message ("Slurm executor: sinfo%s%s: %s", pool->partition ? " for partition " : "",
                 pool->partition ? pool->partition : "", error->message);
      return;
    }
  strand_slurm_capacity (nodes, pool->partition, &pool->capacity);
  pool->known = TRUE;
  pool->cpus_reserved = 0;
  g_hash_table_remove_all (pool->closed_nodes);
  for (guint i = 0; i < nodes->len; i++)
    {
      const StrandSlurmNode *n = nodes->pdata[i];
      if (!strand_slurm_node_usable (n))
        g_hash_table_replace (pool->closed_nodes, g_strdup (n->name), g_strdup (n->state_text));
    }
  if (reservations != NULL)
    {
      g_hash_table_remove_all (pool->node_windows);
      for (guint i = 0; i < nodes->len; i++)
        {
          const StrandSlurmNode *n = nodes->pdata[i];
          g_hash_table_replace (pool->node_windows, g_strdup (n->name),
                                strand_slurm_maintenance_windows (reservations, n->name, now_wall + HORIZON_US));
        }
      shared_windows (pool, nodes, now_wall);
    }
  const StrandMaintenance *next = strand_slurm_pool_next_window (pool, NULL, now_wall);
  pool->maintenance_now = next != NULL && next->start_us <= now_wall;
  g_clear_pointer (&pool->unusable, g_free);
  if (pool->capacity.nodes_usable == 0 || pool->maintenance_now)
    {
      g_autoptr (GString) why = g_string_new (NULL);
      for (guint i = 0; i < nodes->len && i < 4; i++)
        {
          const StrandSlurmNode *n = nodes->pdata[i];
          g_string_append_printf (why, "%s%s %s%s%s", i ? ", " : "", n->name, n->state_text,
                                  n->reason ? ": " : "", n->reason ? n->reason : "");
          pool->maintenance_now |= (n->flags & STRAND_SLURM_NODE_MAINT) != 0;
        }
      pool->unusable = g_strdup_printf ("no node of %s%s takes work now (%s%s)",
                                        pool->partition ? "partition " : "the cluster",
                                        pool->partition ? pool->partition : "", why->str,
                                        nodes->len > 4 ? ", ..." : "");
    }
  feed_equipment (x, pool, now_wall);
}

void
strand_slurm_refresh (SlurmExecutor *x)
{
  gint64 now_wall = strand_clock_now_us ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) reservations = strand_slurm_reservations (x->slurm, &error);
  if (reservations == NULL)
    g_message ("Slurm executor: scontrol show reservation: %s", error->message);
  gint64 next = strand_clock_monotonic_us () + x->refresh_us;
  for (guint i = 0; i < x->pools->len; i++)
    {
      SlurmPool *pool = x->pools->pdata[i];
      refresh_pool (x, pool, reservations, now_wall);
      if (pool->unusable != NULL)
        next = MIN (next, strand_clock_monotonic_us () + BLOCKED_REFRESH_US);
      /* Look again as the next window starts and as it ends. */
      const StrandMaintenance *m = strand_slurm_pool_next_window (pool, NULL, now_wall);
      if (m != NULL)
        {
          gint64 edge = m->start_us > now_wall ? m->start_us : m->end_us;
          next = MIN (next, strand_clock_monotonic_us () + (edge - now_wall) + G_USEC_PER_SEC);
        }
    }
  for (guint i = 0; i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      if (p->state != PILOT_CONNECTED)
        continue;
      strand_slurm_pilot_update_end (p, now_wall);
      /* A node an administrator drains or takes down is emptied: its
       * workers finish what they run, take nothing new and leave. */
      const char *closed = p->node ? g_hash_table_lookup (p->pool->closed_nodes, p->node) : NULL;
      if (closed != NULL && !p->draining)
        {
          g_message ("Slurm executor: node %s is %s: worker job %s takes no more tasks", p->node, closed, p->id);
          p->draining = TRUE;
        }
    }
  x->next_refresh = next;
  x->replan = TRUE;
}

/* ---- submitting ---------------------------------------------------------------- */

/* sbatch for `count` workers (an array when more than one) of `pool`;
 * `own` is the task of a job of its own, or NULL. */
static void
submit_workers (SlurmExecutor *x, SlurmPool *pool, guint count, guint cores, guint64 memory,
                gint64 limit_s, SlurmTask *own)
{
  g_autofree char *array = count > 1 ? g_strdup_printf ("0-%u", count - 1) : NULL;
  g_autofree char *output = g_build_filename (x->dir, count > 1 ? "worker-%A_%a.log" : "worker-%j.log", NULL);
  StrandSlurmSubmit s = {
    .job_name = x->job_name,
    .partition = pool->partition,
    .account = pool->account,
    .cpus = cores,
    .memory_bytes = memory,
    .time_limit_s = limit_s,
    .output_path = output,
    .work_dir = x->dir,
    .array = array,
    .requeue = FALSE, /* the host decides about another attempt */
  };
  g_autoptr (GError) error = NULL;
  x->stats.sbatch_calls++;
  g_autofree char *id = strand_slurm_submit (x->slurm, &s, x->script, &error);
  if (id == NULL)
    {
      if (g_error_matches (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_REFUSED) ||
          g_error_matches (error, STRAND_SLURM_ERROR, STRAND_SLURM_ERROR_INVALID) ||
          ++pool->sbatch_failures >= 5)
        {
          pool->broken = g_strdup_printf ("Slurm did not take the worker job: %s", error->message);
          g_message ("Slurm executor: %s", pool->broken);
          strand_slurm_fail_waiting (x, pool, STRAND_ERROR_CONFIG, pool->broken);
          return;
        }
      g_message ("Slurm executor: %s; trying again", error->message);
      pool->submit_after = strand_clock_monotonic_us () + pool->sbatch_failures * 10 * G_USEC_PER_SEC;
      return;
    }
  pool->sbatch_failures = 0;
  strand_slurm_poller_watch (x->poller, id);
  for (guint i = 0; i < count; i++)
    {
      g_autofree char *pilot_id = count > 1 ? g_strdup_printf ("%s_%u", id, i) : g_strdup (id);
      g_autofree char *leaf = g_strdup_printf ("worker-%s.log", pilot_id);
      g_autofree char *log = g_build_filename (x->dir, leaf, NULL);
      SlurmPilot *p = strand_slurm_pilot_add (x, pool, pilot_id, cores, memory, limit_s, log);
      if (own != NULL)
        {
          p->own_job = TRUE;
          p->own_task = own->id;
          own->own_submitted = TRUE;
        }
    }
  pool->cpus_reserved += count * cores;
}

static guint
live_jobs (SlurmExecutor *x, SlurmPool *pool)
{
  guint n = 0;
  for (guint i = 0; i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      n += p->pool == pool && p->state != PILOT_GONE && !p->released;
    }
  return n;
}

/* Fits the limit to the maintenance ahead; FALSE when no job fits now. */
static gboolean
fit_limit (SlurmPool *pool, gint64 need_s, gint64 *limit_s)
{
  gint64 room = strand_slurm_pool_room_s (pool, strand_clock_now_us ());
  if (room == G_MAXINT64)
    return TRUE;
  if (room < MAX (need_s, 60))
    return FALSE;
  if (*limit_s == 0 || *limit_s > room)
    *limit_s = room;
  return TRUE;
}

static void
plan_own_jobs (SlurmExecutor *x, SlurmPool *pool)
{
  guint live = live_jobs (x, pool);
  for (GList *l = x->waiting->head; l && live < x->max_workers && pool->broken == NULL; l = l->next)
    {
      SlurmTask *t = l->data;
      if (t->pool != pool || !t->own_job || t->own_submitted)
        continue;
      gint64 need_s = (t->need_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
      /* Twice what it may take, in whole minutes. */
      gint64 limit_s = need_s > 0 ? MAX ((2 * need_s + 59) / 60 * 60, 60) : x->worker_time_limit_s;
      if (!fit_limit (pool, need_s, &limit_s))
        continue;
      guint64 memory = t->memory ? t->memory + t->memory / 10 + WORKER_OVERHEAD : x->worker_memory;
      submit_workers (x, pool, 1, t->cores, memory, limit_s, t);
      live++;
    }
}

/* A waiting task no worker of the pool could ever take asks the smallest
 * idle one to leave, making room for a larger job. */
static void
drain_for_misfits (SlurmExecutor *x, SlurmPool *pool)
{
  for (guint i = 0; i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      if (p->pool == pool && p->draining && p->state != PILOT_GONE)
        return;
    }
  for (GList *l = x->waiting->head; l; l = l->next)
    {
      SlurmTask *t = l->data;
      if (t->pool != pool || t->own_job)
        continue;
      SlurmPilot *smallest = NULL;
      gboolean fits_one = FALSE;
      for (guint i = 0; i < x->pilots->len && !fits_one; i++)
        {
          SlurmPilot *p = x->pilots->pdata[i];
          if (p->pool != pool || p->state == PILOT_GONE || p->own_job || p->released)
            continue;
          fits_one = t->cores <= p->cores && (p->memory == 0 || t->memory <= p->memory);
          if (p->state == PILOT_CONNECTED && (smallest == NULL || p->cores < smallest->cores))
            smallest = p;
        }
      if (!fits_one && smallest != NULL)
        {
          smallest->draining = TRUE;
          return;
        }
    }
}

static void
plan_workers (SlurmExecutor *x, SlurmPool *pool)
{
  guint demand = 0, widest = 1, n = 0;
  guint64 per_core = 0;
  for (GList *l = x->waiting->head; l; l = l->next)
    {
      SlurmTask *t = l->data;
      if (t->pool != pool || t->own_job)
        continue;
      n++;
      demand += t->cores;
      widest = MAX (widest, t->cores);
      per_core = MAX (per_core, (t->memory + t->cores - 1) / t->cores);
    }
  if (n == 0)
    return;
  guint absorb = 0;
  for (guint i = 0; i < x->pilots->len; i++)
    {
      SlurmPilot *p = x->pilots->pdata[i];
      if (p->pool != pool || p->own_job || p->released || p->draining || p->state == PILOT_GONE)
        continue;
      absorb += p->state == PILOT_QUEUED ? p->cores : p->cores - MIN (p->cores_used, p->cores);
    }
  guint live = live_jobs (x, pool);
  if (live >= x->max_workers)
    {
      drain_for_misfits (x, pool);
      return;
    }
  if (demand <= absorb)
    return;
  guint uncovered = demand - absorb;
  guint slots = x->max_workers - live;
  guint node_cpus = pool->known && pool->capacity.largest_node_cpus ? pool->capacity.largest_node_cpus : widest;
  guint cores = x->worker_cores ? MAX (x->worker_cores, widest)
                                : CLAMP ((uncovered + slots - 1) / slots, widest, MAX (node_cpus, widest));
  guint count = MIN (slots, (uncovered + cores - 1) / cores);
  if (pool->known)
    {
      /* Jobs that cannot start now only wait, unless the pool has none. */
      guint avail = pool->capacity.cpus_free > pool->cpus_reserved
                        ? pool->capacity.cpus_free - pool->cpus_reserved : 0;
      if (avail < cores && live > 0)
        return;
      count = MIN (count, MAX (avail / cores, 1u));
    }
  guint64 memory = x->worker_memory;
  if (memory == 0 && per_core > 0)
    {
      memory = per_core * cores + WORKER_OVERHEAD;
      if (pool->known && pool->capacity.largest_node_memory_bytes > 0)
        memory = MIN (memory, pool->capacity.largest_node_memory_bytes);
    }
  gint64 limit_s = x->worker_time_limit_s;
  if (!fit_limit (pool, 0, &limit_s))
    return;
  submit_workers (x, pool, count, cores, memory, limit_s, NULL);
}

void
strand_slurm_plan_jobs (SlurmExecutor *x)
{
  gint64 now = strand_clock_monotonic_us ();
  for (guint i = 0; i < x->pools->len; i++)
    {
      SlurmPool *pool = x->pools->pdata[i];
      if (pool->broken != NULL)
        {
          strand_slurm_fail_waiting (x, pool, STRAND_ERROR_CONFIG, pool->broken);
          continue;
        }
      if (pool->unusable != NULL || now < pool->submit_after)
        continue;
      plan_own_jobs (x, pool);
      if (pool->broken == NULL)
        plan_workers (x, pool);
    }
}
