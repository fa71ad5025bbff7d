#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "canonical-json.h"
#include "clock.h"
#include "plan.h"
#include "policy.h"
#include "record-build.h"
#include "run-report.h"
#include "runner-cache.h"
#include "runner-schedule.h"
#include "store-tree.h"

/* ---- the public records ------------------------------------------------------ */

static void
record_free (gpointer p)
{
  StrandTaskRecord *r = p;
  g_free (r->sample_id);
  g_free (r->stage_id);
  strand_task_result_free (r->result);
  g_free (r->plugin);
  g_free (r->equipment);
  g_free (r->cache_key);
  g_free (r->explain);
  g_ptr_array_unref (r->decisions);
  g_free (r);
}

void
strand_run_free (StrandRun *run)
{
  if (run == NULL)
    return;
  g_free (run->run_id);
  g_free (run->run_dir);
  g_ptr_array_unref (run->tasks);
  g_free (run);
}

/* The stage's task with `plugin`, the stage's own or its fallback: the
 * plugin's parameters, from the stage where it sets them. */
static StrandTaskSpec *
task_spec_for (const StrandStage *stage, const StrandPluginInfo *plugin, const char *sample_id,
               const char *work_dir)
{
  g_autofree char *task_id = g_strdup_printf ("%s/%s", sample_id ? sample_id : "_run", stage->id);
  StrandTaskSpec *spec = strand_task_spec_new (plugin, task_id);
  spec->sample_id = g_strdup (sample_id);
  spec->stage_id = g_strdup (stage->id);
  spec->work_dir = g_strdup (work_dir);
  for (guint i = 0; i < plugin->params->len; i++)
    {
      const StrandParamInfo *p = plugin->params->pdata[i];
      char *v = strand_stage_param_text (stage, p->name);
      if (v == NULL)
        v = g_strdup (p->default_value);
      if (v != NULL)
        g_hash_table_insert (spec->params, g_strdup (p->name), v);
    }
  spec->cores = MAX (stage->resources.cores ? stage->resources.cores : plugin->resources.cores, 1u);
  spec->memory_bytes = stage->resources.memory_bytes ? stage->resources.memory_bytes
                                                     : plugin->resources.memory_bytes;
  spec->scratch_bytes = plugin->resources.scratch_bytes;
  return spec;
}

StrandTaskSpec *
strand_stage_task_spec (const StrandStage *stage, const char *sample_id, const char *work_dir)
{
  return task_spec_for (stage, stage->resolved, sample_id, work_dir);
}

/* ---- cancellation by signal ----------------------------------------------------- */

static int cancel_pipe[2] = { -1, -1 };

void
strand_run_request_cancel (void)
{
  if (cancel_pipe[1] >= 0)
    {
      char c = 'c';
      ssize_t ignored = write (cancel_pipe[1], &c, 1);
      (void) ignored;
    }
}

static void
on_cancel_signal (int sig)
{
  (void) sig;
  int saved = errno;
  strand_run_request_cancel ();
  errno = saved;
}

/* ---- the run's state -------------------------------------------------------------- */

typedef enum {
  PHASE_WAITING = 0, /* for upstream tasks */
  PHASE_QUEUED,      /* in the task queue */
  PHASE_DELAYED,     /* backing off before another attempt */
  PHASE_RUNNING,
  PHASE_FINISHED,
} Phase;

typedef struct Task Task;
struct Task {
  guint64 id;            /* its index in the plan */
  const StrandPlanTask *plan;
  StrandTaskRecord *record;
  const StrandStage *stage;
  const StrandSample *sample; /* NULL: the task of a per-run stage */
  guint sample_index;
  guint waiting;
  Phase phase;
  gboolean usable;       /* finished, and downstream may read what it made */
  int attempt;
  double memory_factor;
  double time_factor;
  const StrandPluginInfo *plugin;
  gboolean fallen_back;
  GPtrArray *excluded;   /* equipment ids rerouted away from */
  gint64 ready_at;
  StrandTaskSpec *spec;  /* the attempt being prepared or run */
  JsonNode *cache;       /* its cache key */
  gboolean stop_asked;   /* cancelled, or its sample failed, while it ran */
  gboolean equipment_down; /* its equipment failed while it ran */
  StrandTaskResult *standin; /* what downstream reads of a failed task the policy
                                lets them go past: nothing */
};

typedef struct {
  StrandPipeline *pipeline;
  GPtrArray *samples;
  StrandProvenance *prov;
  StrandStore *store;
  const StrandRunOptions *opt;
  StrandRun *run;
  StrandPlan *plan;
  GPtrArray *tasks;         /* Task* by id, in plan order */
  StrandTaskResult **results; /* per task: what downstream tasks may read, or NULL */
  GPtrArray *policies;      /* per stage: StrandPolicy* */
  guint n_stages;
  StrandExecutor *executor;
  StrandRunSchedule *schedule;
  GPtrArray *delayed;       /* Task* */
  GPtrArray *to_publish;    /* Task*: succeeded, record appended, outputs not yet stored */
  guint64 publish_bytes;    /* their size */
  StrandRunCache *cache;
  gboolean *sample_failed;
  guint *sample_left;       /* per sample: its tasks not finished */
  guint *sample_running;    /* per sample: its tasks running */
  guint samples_done, samples_failed, samples_running;
  gboolean stopping;
  gboolean cancelled;
  gboolean halted;
  guint cancel_requests;
  guint64 records;
  guint64 uncommitted;
  guint64 kill_at;
  GError *fatal;            /* the ledger refused a record, or new objects could not be made
                               durable: the run cannot go on */
  guint unfinished;
  guint running;
  gint64 started_mono;
  gint64 last_tick;
  gint64 last_commit;
  GHashTable *damaged;      /* digests found damaged while resuming */
} Runner;

static void
task_free (gpointer p)
{
  Task *t = p;
  g_clear_pointer (&t->excluded, g_ptr_array_unref);
  strand_task_spec_free (t->spec);
  g_clear_pointer (&t->cache, json_node_unref);
  strand_task_result_free (t->standin);
  g_free (t);
}

/* ---- records ------------------------------------------------------------------------ */

/* Appends a record; it becomes durable at the next commit. The injected
 * host kill happens once the N-th record is on disk. */
static void
append_record (Runner *rn, JsonNode *statement)
{
  if (rn->prov == NULL || rn->fatal != NULL)
    return;
  if (strand_ledger_append (strand_provenance_ledger (rn->prov), statement, NULL, &rn->fatal) == 0)
    return;
  rn->records++;
  rn->uncommitted++;
  if (rn->kill_at && rn->records == rn->kill_at)
    {
      strand_ledger_sync (strand_provenance_ledger (rn->prov), NULL);
      kill (getpid (), SIGKILL);
    }
}

static gboolean
commit_records (Runner *rn)
{
  if (rn->prov == NULL || rn->fatal != NULL || rn->uncommitted == 0)
    return rn->fatal == NULL;
  rn->uncommitted = 0;
  return strand_ledger_sync (strand_provenance_ledger (rn->prov), &rn->fatal);
}

static void G_GNUC_PRINTF (5, 6)
record_decision (Runner *rn, Task *t, const char *decision, JsonNode *details, const char *format,
                 ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *reason = g_strdup_vprintf (format, ap);
  va_end (ap);
  const StrandTaskResult *r = t->record->result;
  g_ptr_array_add (t->record->decisions, g_strdup_printf ("%s: %s", decision, reason));
  if (rn->prov == NULL)
    return;
  StrandDecisionFacts facts = {
    .run_id = rn->run->run_id,
    .stage = t->stage->id,
    .sample = t->sample ? t->sample->id : NULL,
    .attempt = t->attempt,
    .decision = decision,
    .error_class = r && !r->ok ? strand_error_class_name (r->error_class) : NULL,
    .reason = reason,
    .details = details,
    .time_us = strand_clock_now_us (),
  };
  g_autoptr (JsonNode) st = strand_statement_decision (&facts);
  append_record (rn, st);
}

/* One signed record per attempt, successful or not. */
static void
record_attempt (Runner *rn, Task *t, const StrandTaskResult *r)
{
  if (rn->prov == NULL)
    return;
  const StrandTaskSpec *spec = t->spec;
  g_autoptr (GArray) inputs = g_array_new (FALSE, FALSE, sizeof (StrandRecordFile));
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const StrandTaskInput *in = spec->inputs->pdata[i];
      if (in->sha256 == NULL)
        continue;
      g_autofree char *base = in->name ? g_strdup (in->name) : g_path_get_basename (in->path);
      /* A per-run task's inputs say whose they are: "reads/@s1/s1.fastq". */
      char *name = spec->sample_id == NULL && in->sample_id
                       ? g_strdup_printf ("%s/@%s/%s", in->port, in->sample_id, base)
                       : g_strdup_printf ("%s/%s", in->port, base);
      g_ptr_array_add (names, name);
      StrandRecordFile f = { name, in->sha256, NULL };
      g_array_append_val (inputs, f);
    }
  g_autoptr (GArray) outputs = g_array_new (FALSE, FALSE, sizeof (StrandRecordFile));
  for (guint i = 0; r->ok && i < r->outputs->len; i++)
    {
      const StrandTaskOutput *out = r->outputs->pdata[i];
      char *name = out->sample_id ? g_strdup_printf ("%s/@%s/%s", out->port, out->sample_id, out->name)
                                  : g_strdup_printf ("%s/%s", out->port, out->name);
      g_ptr_array_add (names, name);
      StrandRecordFile f = { name, out->sha256, out->md5 };
      g_array_append_val (outputs, f);
    }
  g_autoptr (GArray) tools = g_array_new (FALSE, FALSE, sizeof (StrandRecordTool));
  for (guint i = 0; i < r->tools->len; i++)
    {
      const StrandToolUse *tu = r->tools->pdata[i];
      if (tu->sha256 == NULL)
        continue;
      StrandRecordTool tool = { tu->path, tu->version, tu->sha256 };
      g_array_append_val (tools, tool);
    }
  g_autoptr (JsonNode) cache = t->cache ? json_node_copy (t->cache) : NULL;
  if (cache)
    json_object_set_string_member (json_node_get_object (cache), "work_dir", spec->work_dir);
  const StrandPluginInfo *plugin = spec->plugin;
  StrandStageRunFacts facts = {
    .run_id = rn->run->run_id,
    .stage = t->stage->id,
    .sample = spec->sample_id,
    .plugin_name = plugin->name,
    .plugin_version = plugin->version,
    .plugin_path = plugin->path,
    .plugin_sha256 = plugin->sha256,
    .params = spec->params,
    .inputs = (const StrandRecordFile *) inputs->data,
    .n_inputs = inputs->len,
    .outputs = (const StrandRecordFile *) outputs->data,
    .n_outputs = outputs->len,
    .tools = (const StrandRecordTool *) tools->data,
    .n_tools = tools->len,
    .equipment = spec->equipment,
    .cores = spec->cores,
    .memory_bytes = spec->memory_bytes,
    .attempt = spec->attempt,
    .started_us = r->start_us,
    .finished_us = r->end_us,
    .exit_status = r->exit_status,
    .error_class = r->ok ? NULL : strand_error_class_name (r->error_class),
    .message = r->ok ? NULL : r->message,
    .host_id = strand_provenance_host_id (rn->prov),
    .cache = cache,
    .placement = r->placement,
  };
  g_autoptr (JsonNode) statement = strand_statement_stage_run (&facts);
  append_record (rn, statement);
}

static void G_GNUC_PRINTF (3, 4)
fail_result (StrandTaskResult *r, StrandErrorClass error_class, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_free (r->message);
  r->message = g_strdup_vprintf (format, ap);
  va_end (ap);
  r->ok = FALSE;
  r->error_class = error_class;
}

/* ---- progress ------------------------------------------------------------------------ */

static void
counts_of (Runner *rn, StrandRunCounts *c)
{
  StrandRun *run = rn->run;
  *c = (StrandRunCounts) { .total = run->tasks->len, .done = run->succeeded + run->cached,
                           .failed = run->failed, .skipped = run->skipped,
                           .running = rn->running, .eta_us = -1 };
  c->waiting = c->total - c->done - c->failed - c->skipped - c->running;
  c->samples = rn->samples->len;
  c->samples_done = rn->samples_done;
  c->samples_failed = rn->samples_failed;
  c->samples_running = rn->samples_running;
  /* Nothing runs and the scheduler waits for a machine to open. */
  gint64 next = rn->schedule && rn->running == 0 ? strand_run_schedule_next_change_us (rn->schedule)
                                                 : G_MAXINT64;
  c->next_start_us = next != G_MAXINT64 && next > strand_clock_now_us () + G_USEC_PER_SEC ? next : 0;
  guint finished = c->done + c->failed + c->skipped;
  gint64 elapsed = strand_clock_monotonic_us () - rn->started_mono;
  if (run->succeeded > 0 && finished < c->total)
    c->eta_us = elapsed / finished * (c->total - finished);
}

/* A task of the sample started (+1) or ended (-1). */
static void
now_running (Runner *rn, Task *t, int delta)
{
  rn->running += delta;
  if (t->sample == NULL)
    return;
  guint *n = &rn->sample_running[t->sample_index];
  if (delta > 0 && (*n)++ == 0)
    rn->samples_running++;
  else if (delta < 0 && --*n == 0)
    rn->samples_running--;
}

static void
report (Runner *rn, const StrandTaskRecord *record)
{
  if (rn->opt->progress == NULL)
    return;
  StrandRunCounts c;
  counts_of (rn, &c);
  rn->opt->progress (record, &c, rn->opt->user_data);
}

/* ---- finishing tasks ------------------------------------------------------------------ */

static void become_ready (Runner *rn, Task *t);

/* The task is over for this run: tell its downstream tasks. */
static void
finish_task (Runner *rn, Task *t, const char *status, gboolean usable)
{
  g_assert (t->phase != PHASE_FINISHED);
  t->phase = PHASE_FINISHED;
  t->usable = usable;
  t->record->status = status;
  if (strcmp (status, "ok") == 0)
    rn->run->succeeded++;
  else if (strcmp (status, "cached") == 0)
    rn->run->cached++;
  else if (strcmp (status, "failed") == 0)
    rn->run->failed++;
  else
    rn->run->skipped++;
  rn->unfinished--;
  if (t->sample && --rn->sample_left[t->sample_index] == 0 && !rn->sample_failed[t->sample_index])
    rn->samples_done++;
  strand_run_schedule_ended (rn->schedule, t->id,
                             strcmp (status, "ok") == 0       ? STRAND_RUN_TASK_DONE
                             : strcmp (status, "cached") == 0 ? STRAND_RUN_TASK_REUSED
                                                              : STRAND_RUN_TASK_DROPPED);
  rn->results[t->id] = !usable ? NULL : t->standin ? t->standin : t->record->result;
  g_clear_pointer (&t->spec, strand_task_spec_free);
  report (rn, t->record);
  for (guint i = 0; i < t->plan->dependents->len; i++)
    {
      Task *d = rn->tasks->pdata[g_array_index (t->plan->dependents, guint, i)];
      if (--d->waiting == 0 && d->phase == PHASE_WAITING)
        become_ready (rn, d);
    }
}

/* ---- quarantine ------------------------------------------------------------------------ */

/* Moves a failed attempt's folder out of the way, into quarantine/. */
static void
quarantine_attempt (Runner *rn, Task *t)
{
  if (t->spec == NULL || t->spec->work_dir == NULL)
    return;
  g_autofree char *name = g_strdup_printf ("%s.%d", t->stage->id, t->attempt);
  g_autofree char *dir = g_build_filename (rn->run->run_dir, "quarantine",
                                           t->sample ? t->sample->id : "_run", NULL);
  g_autofree char *dest = g_build_filename (dir, name, NULL);
  if (g_mkdir_with_parents (dir, 0750) == 0 && g_rename (t->spec->work_dir, dest) == 0)
    {
      StrandTaskResult *r = t->record->result;
      if (r && r->log_path && g_str_has_prefix (r->log_path, t->spec->work_dir))
        {
          char *moved = g_strconcat (dest, r->log_path + strlen (t->spec->work_dir), NULL);
          g_free (r->log_path);
          r->log_path = moved;
        }
      g_free (t->spec->work_dir);
      t->spec->work_dir = g_steal_pointer (&dest);
    }
}

/* The sample stops: nothing more of it runs, and what it made in this run
 * is quarantined (a decision record names every object). */
static void
fail_sample (Runner *rn, Task *failed)
{
  if (failed->sample == NULL || rn->sample_failed[failed->sample_index])
    return;
  rn->sample_failed[failed->sample_index] = TRUE;
  rn->samples_failed++;
  g_autoptr (GArray) subjects = g_array_new (FALSE, FALSE, sizeof (StrandRecordFile));
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "stages");
  json_builder_begin_array (b);
  for (guint i = 0; i < rn->tasks->len; i++)
    {
      Task *t = rn->tasks->pdata[i];
      if (t->sample != failed->sample)
        continue;
      if (t->phase == PHASE_RUNNING && t != failed)
        {
          t->stop_asked = TRUE;
          strand_executor_cancel (rn->executor, t->id, FALSE);
        }
      if (t->phase != PHASE_FINISHED || !t->usable || t->record->result == NULL)
        continue;
      t->record->quarantined = TRUE;
      json_builder_add_string_value (b, t->stage->id);
      for (guint k = 0; k < t->record->result->outputs->len; k++)
        {
          const StrandTaskOutput *o = t->record->result->outputs->pdata[k];
          if (o->sha256 == NULL)
            continue;
          char *name = g_strdup_printf ("%s/%s/%s", t->stage->id, o->port, o->name);
          g_ptr_array_add (names, name);
          StrandRecordFile f = { name, o->sha256, o->md5 };
          g_array_append_val (subjects, f);
        }
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) details = json_builder_get_root (b);
  if (rn->prov == NULL)
    return;
  StrandDecisionFacts facts = {
    .run_id = rn->run->run_id,
    .stage = failed->stage->id,
    .sample = failed->sample->id,
    .attempt = failed->attempt,
    .decision = "quarantine",
    .reason = "the sample failed: its outputs of this run are not to be used",
    .details = details,
    .subjects = (const StrandRecordFile *) subjects->data,
    .n_subjects = subjects->len,
    .time_us = strand_clock_now_us (),
  };
  g_autoptr (JsonNode) st = strand_statement_decision (&facts);
  append_record (rn, st);
}

/* ---- preparing a task -------------------------------------------------------------------- */

/* How an input that could not be prepared fails its task. */
static StrandErrorClass
input_error_class (const GError *error)
{
  if (g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INTEGRITY))
    return STRAND_ERROR_INTEGRITY;
  if (g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE))
    return STRAND_ERROR_STORAGE;
  return STRAND_ERROR_TRANSIENT;
}

/* The spec of the task's next attempt: parameters and resources, and its
 * inputs as the plan routes them (plan.h), linked in the attempt's folder
 * SAMPLE/STAGE, then SAMPLE/STAGE.2... (_run for a per-run task). */
static StrandTaskSpec *
build_spec (Runner *rn, Task *t, StrandPlanInputs *ready, GError **error)
{
  const char *sample_id = t->sample ? t->sample->id : NULL;
  g_autofree char *leaf = t->attempt == 1 ? g_strdup (t->stage->id)
                                          : g_strdup_printf ("%s.%d", t->stage->id, t->attempt);
  g_autofree char *work_dir = g_build_filename (rn->run->run_dir, sample_id ? sample_id : "_run",
                                                leaf, NULL);
  StrandTaskSpec *spec = task_spec_for (t->stage, t->plugin, sample_id, work_dir);
  spec->attempt = t->attempt;
  if (t->sample)
    spec->sample_meta = g_hash_table_ref (t->sample->meta);
  if (spec->memory_bytes > 0)
    spec->memory_bytes = (guint64) ((double) spec->memory_bytes * t->memory_factor);
  spec->scratch_bytes = (guint64) ((double) spec->scratch_bytes * t->memory_factor);
  if (rn->opt->task_timeout_us > 0)
    spec->timeout_us = (gint64) ((double) rn->opt->task_timeout_us * t->time_factor);
  *ready = strand_plan_task_inputs (rn->plan, t->plan, rn->results, rn->store, spec, error);
  /* What came from the store is checked against its digest before use. */
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      StrandTaskInput *in = spec->inputs->pdata[i];
      in->verify = rn->store != NULL && in->sha256 != NULL && !rn->opt->no_verify_inputs;
    }
  return spec;
}

/* A stage that names a bad input names the store's copy it read; the
 * operator knows the file by the name they gave it. */
static void
name_user_files (const StrandTaskSpec *spec, StrandTaskResult *r)
{
  for (guint i = 0; !r->ok && r->message && i < spec->inputs->len; i++)
    {
      const StrandTaskInput *in = spec->inputs->pdata[i];
      if (in->source == NULL || strstr (r->message, in->path) == NULL)
        continue;
      g_auto (GStrv) parts = g_strsplit (r->message, in->path, -1);
      g_free (r->message);
      r->message = g_strjoinv (in->source, parts);
    }
}

/* ---- resuming ----------------------------------------------------------------------------- */

/* A cached output counts only when every object is in the store and still
 * has its digest; an object recorded but not yet stored (the host died
 * between the two) is stored now from where it was staged. */
static gboolean
cached_outputs_verified (Runner *rn, const StrandCacheEntry *e)
{
  /* Every output is looked at, not only up to the first damaged one: the
   * rerun's copies replace each damaged object (publish). */
  gboolean verified = TRUE;
  for (guint i = 0; i < e->outputs->len; i++)
    {
      const StrandCachedFile *f = e->outputs->pdata[i];
      if (g_hash_table_contains (rn->damaged, f->sha256))
        {
          verified = FALSE;
          continue;
        }
      if (!strand_store_contains (rn->store, f->sha256) && e->work_dir != NULL)
        {
          g_autofree char *staged = g_build_filename (e->work_dir, "outputs", f->name, NULL);
          StrandObjectInfo info;
          if (g_file_test (staged, G_FILE_TEST_IS_REGULAR))
            {
              g_chmod (staged, 0444);
              if (strand_store_ingest_file (rn->store, staged, TRUE, &info, NULL) &&
                  strcmp (info.sha256, f->sha256) != 0)
                strand_store_remove (rn->store, info.sha256, NULL);
            }
        }
      g_autoptr (GError) error = NULL;
      if (!strand_store_verify (rn->store, f->sha256, &error))
        {
          /* The rerun's good copy replaces it (publish). */
          if (g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INTEGRITY))
            g_message ("store object %s is damaged; the task that made it runs again", f->sha256);
          g_hash_table_add (rn->damaged, g_strdup (f->sha256));
          verified = FALSE;
        }
    }
  return verified;
}

/* Outputs recorded but never stored by runs that died, whatever their key:
 * stored now, so no record names an object the store lacks. */
static void
roll_forward_objects (Runner *rn)
{
  GPtrArray *entries = strand_run_cache_entries (rn->cache);
  for (guint i = 0; i < entries->len; i++)
    {
      const StrandCacheEntry *e = entries->pdata[i];
      for (guint k = 0; k < e->outputs->len && e->work_dir; k++)
        {
          const StrandCachedFile *f = e->outputs->pdata[k];
          if (strand_store_contains (rn->store, f->sha256))
            continue;
          g_autofree char *staged = g_build_filename (e->work_dir, "outputs", f->name, NULL);
          StrandObjectInfo info;
          if (g_file_test (staged, G_FILE_TEST_IS_DIR))
            {
              /* A recorded tree whose put never happened: stored now, if the
               * staged folder still makes the recorded tree (else refused). */
              strand_store_put_tree (rn->store, staged, f->sha256, TRUE, &info, NULL);
              continue;
            }
          if (!g_file_test (staged, G_FILE_TEST_IS_REGULAR))
            continue;
          g_chmod (staged, 0444);
          if (strand_store_ingest_file (rn->store, staged, TRUE, &info, NULL) &&
              strcmp (info.sha256, f->sha256) != 0)
            strand_store_remove (rn->store, info.sha256, NULL);
        }
    }
}

/* The same, in one batch: one sync for all of them. */
static void
roll_forward (Runner *rn)
{
  strand_store_begin_batch (rn->store);
  roll_forward_objects (rn);
  g_autoptr (GError) error = NULL;
  if (!strand_store_end_batch (rn->store, &error))
    g_message ("%s", error->message); /* what is not durable is verified before reuse */
}

static gboolean
try_reuse (Runner *rn, Task *t)
{
  const char *key = strand_statement_string (json_node_get_object (t->cache), "key");
  const StrandCacheEntry *e = strand_run_cache_lookup (rn->cache, key);
  if (e == NULL || !cached_outputs_verified (rn, e))
    {
      t->record->explain = strand_run_cache_explain (rn->cache, t->stage->id,
                                                     t->sample ? t->sample->id : NULL, t->cache,
                                                     t->spec->params);
      return FALSE;
    }
  StrandTaskResult *r = strand_task_result_new ();
  r->ok = TRUE;
  r->start_us = r->end_us = strand_clock_now_us ();
  g_autoptr (GArray) subjects = g_array_new (FALSE, FALSE, sizeof (StrandRecordFile));
  for (guint i = 0; i < e->outputs->len; i++)
    {
      const StrandCachedFile *f = e->outputs->pdata[i];
      StrandTaskOutput *out = g_new0 (StrandTaskOutput, 1);
      /* "PORT/FILE", or "PORT/@SAMPLE/FILE" for a per-run task's output
       * made for one sample. */
      const char *slash = strchr (f->name, '/');
      out->port = slash ? g_strndup (f->name, (gsize) (slash - f->name)) : g_strdup (f->name);
      const char *rest = slash ? slash + 1 : f->name;
      const char *next = rest[0] == '@' ? strchr (rest, '/') : NULL;
      out->sample_id = next ? g_strndup (rest + 1, (gsize) (next - rest - 1)) : NULL;
      out->name = g_strdup (next ? next + 1 : rest);
      out->tree = strand_store_is_tree (rn->store, f->sha256);
      out->sha256 = g_strdup (f->sha256);
      out->md5 = g_strdup (f->md5);
      out->path = strand_store_object_path (rn->store, f->sha256);
      GStatBuf st;
      if (g_stat (out->path, &st) == 0)
        out->size = (guint64) st.st_size;
      g_ptr_array_add (r->outputs, out);
      StrandRecordFile sf = { f->name, f->sha256, f->md5 };
      g_array_append_val (subjects, sf);
    }
  t->record->result = r;
  if (rn->prov)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "from_run");
      json_builder_add_string_value (b, e->run_id ? e->run_id : "");
      json_builder_set_member_name (b, "cache_key");
      json_builder_add_string_value (b, key);
      json_builder_end_object (b);
      g_autoptr (JsonNode) details = json_builder_get_root (b);
      StrandDecisionFacts facts = {
        .run_id = rn->run->run_id,
        .stage = t->stage->id,
        .sample = t->sample ? t->sample->id : NULL,
        .decision = "reuse",
        .reason = "a verified output of an earlier run has the same cache key",
        .details = details,
        .subjects = (const StrandRecordFile *) subjects->data,
        .n_subjects = subjects->len,
        .time_us = strand_clock_now_us (),
      };
      g_autoptr (JsonNode) st = strand_statement_decision (&facts);
      append_record (rn, st);
    }
  g_ptr_array_add (t->record->decisions, g_strdup_printf ("reuse: output of run %s", e->run_id));
  return TRUE;
}

/* ---- readiness ----------------------------------------------------------------------------- */

static void
enqueue (Runner *rn, Task *t)
{
  t->phase = PHASE_QUEUED;
  strand_run_schedule_ready (rn->schedule, t->id);
}

static void on_result (Runner *rn, Task *t, StrandTaskResult *r);

/* An attempt that fails before a worker starts: recorded and answered by
 * the policy like any other. */
static void
fail_before_start (Runner *rn, Task *t, StrandErrorClass cls, const char *message)
{
  StrandTaskResult *r = strand_task_result_new ();
  r->start_us = r->end_us = strand_clock_now_us ();
  fail_result (r, cls, "%s", message);
  now_running (rn, t, +1);
  t->phase = PHASE_RUNNING;
  on_result (rn, t, r);
}

/* Every upstream task has finished: skip, reuse or queue the task. */
static void
become_ready (Runner *rn, Task *t)
{
  if (rn->stopping)
    {
      finish_task (rn, t, "not-run", FALSE);
      return;
    }
  if (t->sample && rn->sample_failed[t->sample_index])
    {
      finish_task (rn, t, "skipped", FALSE);
      return;
    }
  g_autoptr (GError) error = NULL;
  StrandPlanInputs ready;
  t->spec = build_spec (rn, t, &ready, &error);
  if (ready == STRAND_PLAN_UPSTREAM_FAILED)
    {
      finish_task (rn, t, "skipped", FALSE);
      return;
    }
  if (ready == STRAND_PLAN_INPUT_ERROR)
    {
      t->record->attempts = t->attempt;
      fail_before_start (rn, t, input_error_class (error), error->message);
      return;
    }
  if (t->cache == NULL)
    {
      const StrandResourceInfo *res = &t->stage->resolved->resources;
      t->cache = strand_task_cache_key (t->spec,
                                        t->stage->resources.cores ? t->stage->resources.cores : res->cores,
                                        t->stage->resources.gpus ? t->stage->resources.gpus : res->gpus,
                                        t->stage->resources.equipment_class
                                            ? t->stage->resources.equipment_class
                                            : res->equipment_class);
      t->record->cache_key = g_strdup (strand_statement_string (json_node_get_object (t->cache), "key"));
    }
  if (rn->cache && try_reuse (rn, t))
    {
      finish_task (rn, t, "cached", TRUE);
      return;
    }
  enqueue (rn, t);
}

/* ---- equipment ------------------------------------------------------------------------------ */

/* The first equipment of the stage's class that is up and not rerouted
 * away from; NULL when there is no inventory, or none is left. */
static const StrandEquipment *
pick_equipment (Runner *rn, Task *t, gboolean *none_left)
{
  *none_left = FALSE;
  if (rn->opt->inventory == NULL)
    return NULL;
  const char *cls = t->stage->resources.equipment_class ? t->stage->resources.equipment_class
                    : t->plugin->resources.equipment_class ? t->plugin->resources.equipment_class
                                                           : "compute";
  gboolean any = FALSE;
  for (guint i = 0; i < rn->opt->inventory->items->len; i++)
    {
      const StrandEquipment *e = rn->opt->inventory->items->pdata[i];
      if (g_strcmp0 (e->equipment_class, cls) != 0)
        continue;
      any = TRUE;
      gboolean excluded = FALSE;
      for (guint k = 0; t->excluded && k < t->excluded->len; k++)
        excluded |= strcmp (t->excluded->pdata[k], e->id) == 0;
      if (!excluded)
        return e;
    }
  *none_left = any;
  return NULL;
}

/* The equipment monitor hears of every task started and ended on a named
 * machine: its busy time, runs and service counters follow the run, and
 * the scheduler, which reads them, stops giving work to a machine due for
 * service. A monitor that cannot record costs the run nothing but a line. */
static void
monitor_task (Runner *rn, Task *t, gboolean started)
{
  if (rn->opt->monitor == NULL || t->spec == NULL || t->spec->equipment == NULL ||
      strand_monitor_equipment (rn->opt->monitor, t->spec->equipment) == NULL)
    return;
  g_autofree char *label = strand_plan_task_id (t->plan);
  g_autoptr (GError) error = NULL;
  gint64 now = strand_clock_now_us ();
  gboolean ok = started
      ? strand_monitor_task_started (rn->opt->monitor, t->spec->equipment, label, now, &error)
      : strand_monitor_task_finished (rn->opt->monitor, t->spec->equipment, label, now, &error);
  if (!ok)
    g_message ("equipment %s: %s", t->spec->equipment, error->message);
}

static void
on_equipment_down (const char *equipment, gint64 at_us, gpointer user_data)
{
  Runner *rn = user_data;
  if (rn->schedule)
    strand_run_schedule_equipment_down (rn->schedule, equipment, NULL);
  if (rn->opt->monitor && strand_monitor_equipment (rn->opt->monitor, equipment))
    {
      g_autoptr (GError) error = NULL;
      if (!strand_monitor_set_status (rn->opt->monitor, equipment, STRAND_EQUIPMENT_DOWN,
                                      "injected fault", at_us, &error))
        g_message ("equipment %s: %s", equipment, error->message);
    }
  for (guint i = 0; i < rn->tasks->len; i++)
    {
      Task *t = rn->tasks->pdata[i];
      if (t->phase == PHASE_RUNNING && t->spec && g_strcmp0 (t->spec->equipment, equipment) == 0)
        {
          t->equipment_down = TRUE;
          strand_executor_cancel (rn->executor, t->id, TRUE);
        }
    }
}

/* ---- after an attempt ---------------------------------------------------------------------- */

static const char *
plugin_label (const StrandPluginInfo *p, char **owned)
{
  return *owned = g_strdup_printf ("%s@%s", p->name, p->version);
}

static void
handle_failure (Runner *rn, Task *t)
{
  StrandTaskResult *r = t->record->result;
  if (t->stop_asked || rn->cancelled)
    {
      record_decision (rn, t, "cancel", NULL, "%s", rn->cancelled ? "the run was cancelled"
                                                                  : "its sample failed");
      finish_task (rn, t, rn->cancelled ? "cancelled" : "skipped", FALSE);
      return;
    }
  StrandPolicy *policy = rn->policies->pdata[t->stage->index];
  StrandDecision d;
  strand_policy_decide (policy, r->error_class, t->attempt, t->fallen_back, &d);
  const char *cls = strand_error_class_name (r->error_class);
  if (d.run_again && d.action == STRAND_ACTION_FALLBACK)
    {
      g_autofree char *name = g_strdup (d.fallback_plugin);
      char *at = strchr (name, '@');
      if (at)
        *at++ = '\0';
      const StrandPluginInfo *fb = rn->opt->registry ? strand_registry_lookup (rn->opt->registry, name, at)
                                                     : NULL;
      if (fb == NULL)
        {
          d.run_again = FALSE;
          d.exhausted = TRUE;
        }
      else
        {
          t->plugin = fb;
          t->fallen_back = TRUE;
        }
    }
  /* Equipment that is a pool of nodes (a Slurm partition) lost one node:
   * the next attempt goes to another node of it, not away from it. */
  gboolean one_node = r->placement != NULL && JSON_NODE_HOLDS_OBJECT (r->placement) &&
                      json_object_has_member (json_node_get_object (r->placement), "node");
  if (d.run_again && d.action == STRAND_ACTION_REROUTE && t->spec->equipment && !one_node)
    {
      if (t->excluded == NULL)
        t->excluded = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (t->excluded, g_strdup (t->spec->equipment));
      gboolean none_left;
      if (pick_equipment (rn, t, &none_left) == NULL && none_left)
        {
          d.run_again = FALSE;
          d.exhausted = TRUE;
        }
    }
  if (d.run_again)
    {
      t->memory_factor *= d.memory_factor;
      t->time_factor *= d.time_factor;
      int failed_attempt = t->attempt;
      t->attempt++;
      g_autoptr (GError) error = NULL;
      StrandPlanInputs ready;
      StrandTaskSpec *next = build_spec (rn, t, &ready, &error);
      if (ready != STRAND_PLAN_READY)
        g_clear_pointer (&next, strand_task_spec_free);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "next_attempt");
      json_builder_add_int_value (b, t->attempt);
      json_builder_set_member_name (b, "delay_ms");
      json_builder_add_int_value (b, d.delay_us / 1000);
      json_builder_set_member_name (b, "rule");
      json_builder_add_string_value (b, d.rule_source);
      if (next && next->memory_bytes)
        {
          json_builder_set_member_name (b, "memory_bytes");
          json_builder_add_int_value (b, (gint64) next->memory_bytes);
        }
      if (next && next->timeout_us)
        {
          json_builder_set_member_name (b, "timeout_us");
          json_builder_add_int_value (b, next->timeout_us);
        }
      g_autofree char *label = NULL;
      json_builder_set_member_name (b, "plugin");
      json_builder_add_string_value (b, plugin_label (t->plugin, &label));
      if (t->excluded)
        {
          json_builder_set_member_name (b, "rerouted_from");
          json_builder_add_string_value (b, g_ptr_array_index (t->excluded, t->excluded->len - 1));
        }
      json_builder_end_object (b);
      g_autoptr (JsonNode) details = json_builder_get_root (b);
      g_autofree char *what = NULL;
      switch (d.action)
        {
        case STRAND_ACTION_RETRY_ESCALATE:
          what = g_strdup_printf ("attempt %d with memory and time x%g", t->attempt, d.memory_factor);
          break;
        case STRAND_ACTION_REROUTE:
          what = g_strdup_printf ("attempt %d on other equipment", t->attempt);
          break;
        case STRAND_ACTION_FALLBACK:
          what = g_strdup_printf ("attempt %d with fallback plugin %s", t->attempt, label);
          break;
        default:
          what = g_strdup_printf ("attempt %d after %.1f s", t->attempt, (double) d.delay_us / 1e6);
        }
      /* The decision follows the attempt it answers. */
      t->attempt = failed_attempt;
      record_decision (rn, t, strand_action_name (d.action), details, "%s after %s (%s rule): %s",
                       cls, r->message ? r->message : "", d.rule_source, what);
      t->attempt = failed_attempt + 1;
      if (next == NULL)
        {
          record_decision (rn, t, "fail-sample", NULL, "the next attempt cannot be prepared: %s",
                           error ? error->message : "an input is missing");
          fail_sample (rn, t);
          finish_task (rn, t, "failed", FALSE);
          return;
        }
      strand_run_schedule_retry (rn->schedule, t->id,
                                 d.action == STRAND_ACTION_REROUTE && t->excluded
                                     ? g_ptr_array_index (t->excluded, t->excluded->len - 1)
                                     : NULL);
      strand_task_spec_free (t->spec);
      t->spec = next;
      t->ready_at = strand_clock_monotonic_us () + d.delay_us;
      t->phase = PHASE_DELAYED;
      g_ptr_array_add (rn->delayed, t);
      return;
    }
  StrandAction final = d.exhausted ? STRAND_ACTION_FAIL_SAMPLE : d.final;
  g_autofree char *why = d.exhausted
      ? g_strdup_printf ("%s after attempt %d; the %s rule (%s) has no attempt left", cls, t->attempt,
                         d.rule_source, strand_action_name (d.action))
      : g_strdup_printf ("%s (%s rule)", cls, d.rule_source);
  switch (final)
    {
    case STRAND_ACTION_CONTINUE:
      record_decision (rn, t, "continue", NULL, "%s: downstream stages run without its outputs", why);
      /* Nothing it half-made may reach them. */
      g_ptr_array_set_size (t->record->result->outputs, 0);
      t->standin = strand_task_result_new ();
      t->standin->ok = TRUE;
      finish_task (rn, t, "failed", TRUE);
      break;
    case STRAND_ACTION_HALT:
      record_decision (rn, t, "halt", NULL, "%s: no new task starts; the run can be resumed", why);
      rn->stopping = TRUE;
      rn->halted = TRUE;
      finish_task (rn, t, "failed", FALSE);
      break;
    default:
      record_decision (rn, t, "fail-sample", NULL, "%s: the sample stops", why);
      quarantine_attempt (rn, t);
      fail_sample (rn, t);
      finish_task (rn, t, "failed", FALSE);
      break;
    }
}

/* The attempt's outputs: hashed (once; the digest cache remembers them),
 * then the record; they are stored after the record is durable. */
static void
on_result (Runner *rn, Task *t, StrandTaskResult *r)
{
  now_running (rn, t, -1);
  monitor_task (rn, t, FALSE);
  strand_task_result_free (t->record->result);
  t->record->result = r;
  name_user_files (t->spec, r);
  if (t->equipment_down && !r->ok)
    fail_result (r, STRAND_ERROR_EQUIPMENT, "equipment %s went down while the task ran",
                 t->spec->equipment);
  if (r->ok && rn->store)
    {
      guint64 total = 0;
      for (guint i = 0; r->ok && i < r->outputs->len; i++)
        {
          StrandTaskOutput *out = r->outputs->pdata[i];
          g_autoptr (GError) error = NULL;
          char sha[65], md5[33];
          if (out->tree)
            {
              /* A directory is named by its manifest's digest, taken here
               * without storing anything: like a file, it is stored after
               * its record. */
              g_autoptr (StrandDirTree) tree = NULL;
              if (!strand_store_digest_tree (rn->store, out->path, sha, &tree, &error))
                fail_result (r, g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID)
                                    ? STRAND_ERROR_INTERNAL : STRAND_ERROR_TRANSIENT,
                             "output '%s' could not be read: %s", out->port, error->message);
              else
                {
                  out->sha256 = g_strdup (sha);
                  out->size = tree->bytes;
                  total += tree->bytes;
                }
              continue;
            }
          g_chmod (out->path, 0444);
          if (!strand_store_file_digest (rn->store, out->path, sha, md5, &error))
            fail_result (r, STRAND_ERROR_TRANSIENT, "output '%s' could not be read: %s", out->port,
                         error->message);
          else
            {
              out->sha256 = g_strdup (sha);
              out->md5 = g_strdup (md5);
              total += out->size;
            }
        }
      /* Outputs of this turn not stored yet count too: they are stored
       * together after the commit. */
      g_autoptr (GError) space = NULL;
      if (r->ok && !strand_store_check_space (rn->store, total + rn->publish_bytes, &space))
        fail_result (r, STRAND_ERROR_STORAGE, "its outputs do not fit in the store: %s", space->message);
      if (r->ok)
        rn->publish_bytes += total;
    }
  record_attempt (rn, t, r);
  if (r->ok && r->outputs->len == 0)
    finish_task (rn, t, "ok", TRUE); /* nothing to make visible */
  else if (r->ok)
    g_ptr_array_add (rn->to_publish, t);
  if (r->ok)
    return;
  handle_failure (rn, t);
}

/* After the commit: the recorded outputs enter the store. */
static void
publish (Runner *rn, Task *t)
{
  StrandTaskResult *r = t->record->result;
  guint64 corrupt = rn->opt->faults
      ? strand_faults_corrupt_bytes (rn->opt->faults, t->stage->id, t->sample ? t->sample->id : NULL,
                                     t->attempt)
      : 0;
  /* With an injected ENOSPC the bytes must be written to be counted. */
  gboolean allow_link = strand_faults_enospc_after (rn->opt->faults) == G_MAXUINT64;
  for (guint i = 0; rn->store && i < r->outputs->len; i++)
    {
      StrandTaskOutput *out = r->outputs->pdata[i];
      g_autoptr (GError) error = NULL;
      StrandObjectInfo info;
      if (g_hash_table_contains (rn->damaged, out->sha256))
        strand_store_remove (rn->store, out->sha256, NULL);
      /* A tree's members first, its manifest last. */
      if (out->tree ? !strand_store_put_tree (rn->store, out->path, out->sha256, allow_link, &info, &error)
                    : !strand_store_ingest_file (rn->store, out->path, allow_link, &info, &error))
        {
          fail_result (r, g_error_matches (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE)
                              ? STRAND_ERROR_STORAGE : STRAND_ERROR_TRANSIENT,
                       "output '%s' could not be stored: %s", out->port, error->message);
          handle_failure (rn, t);
          return;
        }
      /* The staged folder is already a view of the stored tree: the tasks
       * that read it link to it instead of rebuilding one, file by file. */
      if (out->tree)
        strand_store_adopt_view (rn->store, out->sha256, out->path);
      g_free (out->path);
      out->path = strand_store_object_path (rn->store, info.sha256);
      if (corrupt && !out->tree)
        strand_faults_corrupt_file (out->path, corrupt, strand_faults_seed (rn->opt->faults), NULL);
    }
  finish_task (rn, t, "ok", TRUE);
}

/* ---- starting tasks --------------------------------------------------------------------------- */

static gboolean
fits (guint64 id, gpointer data)
{
  Runner *rn = data;
  Task *t = rn->tasks->pdata[id];
  return t->spec == NULL || strand_executor_can_start (rn->executor, t->spec);
}

static void
start (Runner *rn, Task *t, const char *equipment)
{
  if (t->sample && rn->sample_failed[t->sample_index])
    {
      finish_task (rn, t, "skipped", FALSE);
      return;
    }
  StrandTaskSpec *spec = t->spec;
  g_free (t->record->plugin);
  t->record->plugin = g_strdup_printf ("%s@%s", t->plugin->name, t->plugin->version);
  t->record->attempts = t->attempt;
  t->record->memory_bytes = spec->memory_bytes;
  t->record->timeout_us = spec->timeout_us;
  g_free (spec->equipment);
  spec->equipment = g_strdup (equipment);
  g_free (t->record->equipment);
  t->record->equipment = g_strdup (spec->equipment);
  if (rn->opt->faults)
    {
      const StrandFault *f = strand_faults_for_task (rn->opt->faults, t->stage->id,
                                                     t->sample ? t->sample->id : NULL, t->attempt);
      spec->fault = f ? (int) f->kind : 0;
      spec->fault_class = f ? f->error_class : STRAND_ERROR_NONE;
      spec->fault_signal = f ? f->signal : 0;
    }
  g_autoptr (GError) error = NULL;
  StrandErrorClass cls = STRAND_ERROR_TRANSIENT;
  gboolean started = FALSE;
  if (spec->equipment && strand_faults_equipment_down (rn->opt->faults, spec->equipment,
                                                       strand_clock_now_us ()))
    {
      cls = STRAND_ERROR_EQUIPMENT;
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "equipment %s is down", spec->equipment);
    }
  else if (rn->store && !strand_store_check_space (rn->store, t->plugin->resources.output_bytes, &error))
    cls = STRAND_ERROR_STORAGE;
  else
    started = strand_executor_submit (rn->executor, t->id, spec, &cls, &error);
  if (started)
    {
      t->phase = PHASE_RUNNING;
      now_running (rn, t, +1);
      monitor_task (rn, t, TRUE);
      return;
    }
  /* Nothing ran: the attempt fails where a run's failure goes. */
  fail_before_start (rn, t, cls, error->message);
}

/* Samples the scheduler found unable to make their stability window or
 * due time: each gets a decision record; unless the run accepts late
 * samples, the sample stops and its queued tasks do not run. */
static void
take_late (Runner *rn)
{
  g_autoptr (GArray) late = g_array_new (FALSE, FALSE, sizeof (StrandRunLate));
  if (strand_run_schedule_take_late (rn->schedule, late) == 0)
    return;
  for (guint k = 0; k < late->len; k++)
    {
      const StrandRunLate *l = &g_array_index (late, StrandRunLate, k);
      const StrandSample *sample = rn->samples->pdata[l->sample];
      Task *first = NULL;
      for (guint i = 0; i < rn->tasks->len && first == NULL; i++)
        {
          Task *t = rn->tasks->pdata[i];
          if (t->sample == sample && t->phase != PHASE_FINISHED)
            first = t;
        }
      if (first == NULL)
        continue;
      g_autoptr (GDateTime) until = l->usable_until_us != G_MAXINT64
          ? g_date_time_new_from_unix_utc (l->usable_until_us / G_USEC_PER_SEC) : NULL;
      g_autoptr (GDateTime) due = l->due_us != G_MAXINT64
          ? g_date_time_new_from_unix_utc (l->due_us / G_USEC_PER_SEC) : NULL;
      g_autofree char *until_text = until ? g_date_time_format_iso8601 (until) : NULL;
      g_autofree char *due_text = due ? g_date_time_format_iso8601 (due) : NULL;
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      if (until_text)
        {
          json_builder_set_member_name (b, "usable_until");
          json_builder_add_string_value (b, until_text);
        }
      if (due_text)
        {
          json_builder_set_member_name (b, "due");
          json_builder_add_string_value (b, due_text);
        }
      json_builder_end_object (b);
      g_autoptr (JsonNode) details = json_builder_get_root (b);
      g_autofree char *why = g_strdup_printf (
          "sample %s can no longer be processed in time (%s%s%s%s%s)", sample->id,
          until_text ? "usable until " : "", until_text ? until_text : "",
          until_text && due_text ? ", " : "", due_text ? "due " : "", due_text ? due_text : "");
      if (rn->opt->accept_late)
        {
          record_decision (rn, first, "accept-late", details, "%s; processed anyway", why);
          continue;
        }
      record_decision (rn, first, "late", details, "%s; it is not processed (--accept-late processes it)",
                       why);
      fail_sample (rn, first);
      for (guint i = 0; i < rn->tasks->len; i++)
        {
          Task *t = rn->tasks->pdata[i];
          if (t->sample == sample && t->phase == PHASE_QUEUED)
            finish_task (rn, t, "skipped", FALSE);
        }
    }
}

static void
start_ready (Runner *rn)
{
  guint id;
  const char *equipment;
  while (!rn->stopping && strand_run_schedule_next (rn->schedule, fits, rn, &id, &equipment))
    start (rn, rn->tasks->pdata[id], equipment);
  take_late (rn);
  g_autoptr (GArray) unplaceable = g_array_new (FALSE, FALSE, sizeof (guint));
  strand_run_schedule_take_unplaceable (rn->schedule, unplaceable);
  for (guint k = 0; k < unplaceable->len; k++)
    {
      Task *t = rn->tasks->pdata[g_array_index (unplaceable, guint, k)];
      if (t->phase != PHASE_QUEUED)
        continue;
      const StrandPluginInfo *p = t->plugin;
      const char *cls = t->stage->resources.equipment_class ? t->stage->resources.equipment_class
                        : p->resources.equipment_class ? p->resources.equipment_class : "compute";
      g_autofree char *message = g_strdup_printf (
          "no %s equipment can run it: none has %u cores and %" G_GUINT64_FORMAT
          " bytes of memory free in a window long enough, within the scheduling horizon",
          cls, t->spec ? t->spec->cores : 1, t->spec ? t->spec->memory_bytes : 0);
      t->record->attempts = t->attempt;
      fail_before_start (rn, t, STRAND_ERROR_CONFIG, message);
    }
}

/* ---- planning ------------------------------------------------------------------------------------- */

static void
plan (Runner *rn)
{
  StrandPipeline *p = rn->pipeline;
  rn->plan = strand_plan_new (p, rn->samples);
  rn->n_stages = p->stages->len;
  rn->policies = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_policy_free);
  for (guint i = 0; i < rn->n_stages; i++)
    {
      StrandStage *s = p->stages->pdata[i];
      g_ptr_array_add (rn->policies, strand_policy_new (s->resolved, s->policy));
    }
  rn->tasks = g_ptr_array_new_with_free_func (task_free);
  rn->results = g_new0 (StrandTaskResult *, MAX (rn->plan->tasks->len, 1));
  rn->sample_failed = g_new0 (gboolean, MAX (rn->samples->len, 1));
  rn->sample_left = g_new0 (guint, MAX (rn->samples->len, 1));
  rn->sample_running = g_new0 (guint, MAX (rn->samples->len, 1));
  g_autoptr (GHashTable) sample_index = g_hash_table_new (NULL, NULL);
  for (guint si = 0; si < rn->samples->len; si++)
    g_hash_table_insert (sample_index, rn->samples->pdata[si], GUINT_TO_POINTER (si));
  for (guint i = 0; i < rn->plan->tasks->len; i++)
    {
      const StrandPlanTask *pt = rn->plan->tasks->pdata[i];
      StrandTaskRecord *record = g_new0 (StrandTaskRecord, 1);
      record->sample_id = g_strdup (pt->sample ? pt->sample->id : NULL);
      record->stage_id = g_strdup (pt->stage->id);
      record->status = "not-run";
      record->decisions = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (rn->run->tasks, record);
      Task *t = g_new0 (Task, 1);
      t->id = i;
      t->plan = pt;
      t->record = record;
      t->stage = pt->stage;
      t->sample = pt->sample;
      t->sample_index = pt->sample ? GPOINTER_TO_UINT (g_hash_table_lookup (sample_index, pt->sample))
                                   : 0;
      t->attempt = 1;
      t->memory_factor = t->time_factor = 1;
      t->plugin = pt->stage->resolved;
      t->waiting = pt->deps->len;
      if (t->sample)
        rn->sample_left[t->sample_index]++;
      g_ptr_array_add (rn->tasks, t);
    }
  rn->unfinished = rn->tasks->len;
}

static const char *
stage_class (const StrandStage *stage)
{
  const StrandResourceInfo *res = &stage->resolved->resources;
  return stage->resources.equipment_class ? stage->resources.equipment_class
         : res->equipment_class               ? res->equipment_class
                                              : "compute";
}

/* The scheduler's view of the run: every task, its estimate and needs, and
 * the stages that handle the samples' material (not compute). */
static StrandRunSchedule *
make_schedule (Runner *rn)
{
  const StrandRunOptions *opt = rn->opt;
  StrandRunScheduleSetup setup = {
    .samples = rn->samples,
    .inventory = opt->inventory,
    .sample_types = opt->sample_types,
    .local_slots = opt->executor ? 4096 : opt->jobs ? opt->jobs : g_get_num_processors (),
    .accept_late = opt->accept_late,
  };
  for (guint i = 0; i < rn->tasks->len; i++)
    {
      const Task *t = rn->tasks->pdata[i];
      if (strcmp (stage_class (t->stage), "compute") == 0)
        continue;
      if (t->sample)
        setup.material_per_sample = TRUE;
      else
        setup.material_per_run = TRUE;
    }
  StrandRunSchedule *rs = strand_run_schedule_new (&setup);
  for (guint i = 0; i < rn->tasks->len; i++)
    {
      const Task *t = rn->tasks->pdata[i];
      const StrandResourceInfo *res = &t->stage->resolved->resources;
      double expected = t->stage->resources.expected_seconds ? t->stage->resources.expected_seconds
                                                              : res->expected_seconds;
      StrandTaskInfo info = {
        .stage = t->stage->id,
        .equipment_class = stage_class (t->stage),
        .estimate_us = (gint64) (expected * G_USEC_PER_SEC),
        .cores = t->stage->resources.cores ? t->stage->resources.cores : res->cores,
        .memory_bytes = t->stage->resources.memory_bytes ? t->stage->resources.memory_bytes
                                                         : res->memory_bytes,
        .gpus = t->stage->resources.gpus ? t->stage->resources.gpus : res->gpus,
        .stabilises = strcmp (stage_class (t->stage), "compute") != 0,
      };
      strand_run_schedule_add (rs, t->sample ? t->sample_index : STRAND_RUN_SCHEDULE_PER_RUN, &info,
                               (const guint *) t->plan->deps->data, t->plan->deps->len);
    }
  return rs;
}

/* The run's own files (samples' and per-run inputs) enter the store with
 * their ingest records before anything runs, so every stage's record names
 * inputs an auditor can find and a reproduction can use. */
static gboolean
ingest_inputs (StrandProvenance *prov, StrandPipeline *pipeline, GPtrArray *samples,
               GError **error)
{
  for (guint i = 0; i < pipeline->inputs->len; i++)
    {
      const StrandPipelineInput *in = pipeline->inputs->pdata[i];
      if (in->per_run && in->path != NULL &&
          !strand_provenance_ingest (prov, in->path, NULL, NULL, NULL, NULL, error))
        return FALSE;
    }
  for (guint i = 0; i < samples->len; i++)
    {
      const StrandSample *s = samples->pdata[i];
      for (guint k = 0; k < s->files->len; k++)
        {
          const StrandSampleFile *f = s->files->pdata[k];
          if (!strand_provenance_ingest (prov, f->path, s->id, f->format, NULL, NULL, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* The run as it starts, in one record: enough to run it again from the
 * records alone (strand reproduce). */
static JsonNode *
run_start_details (Runner *rn, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "run");
  json_builder_add_string_value (b, rn->run->run_id);
  json_builder_set_member_name (b, "pipeline");
  json_builder_add_value (b, strand_pipeline_to_json (rn->pipeline));
  json_builder_set_member_name (b, "plugins");
  json_builder_begin_object (b);
  for (guint i = 0; i < rn->n_stages; i++)
    {
      const StrandStage *s = rn->pipeline->stages->pdata[i];
      json_builder_set_member_name (b, s->id);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, s->resolved->name);
      json_builder_set_member_name (b, "version");
      json_builder_add_string_value (b, s->resolved->version);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, s->resolved->sha256);
      json_builder_set_member_name (b, "deterministic");
      json_builder_add_boolean_value (b, (s->resolved->flags & STRAND_STAGE_DETERMINISTIC) != 0);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "samples");
  json_builder_begin_array (b);
  for (guint i = 0; i < rn->samples->len; i++)
    {
      const StrandSample *s = rn->samples->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, s->id);
      json_builder_set_member_name (b, "meta");
      json_builder_begin_object (b);
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, s->meta);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          json_builder_set_member_name (b, k);
          json_builder_add_string_value (b, v);
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "files");
      json_builder_begin_array (b);
      for (guint f = 0; f < s->files->len; f++)
        {
          const StrandSampleFile *sf = s->files->pdata[f];
          char sha[65], md5[33];
          if (!strand_store_file_digest (rn->store, sf->path, sha, md5, error))
            return NULL;
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "input");
          json_builder_add_string_value (b, sf->input);
          json_builder_set_member_name (b, "path");
          json_builder_add_string_value (b, sf->path);
          json_builder_set_member_name (b, "sha256");
          json_builder_add_string_value (b, sha);
          if (sf->format)
            {
              json_builder_set_member_name (b, "format");
              json_builder_add_string_value (b, sf->format);
            }
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "options");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "resume");
  json_builder_add_boolean_value (b, rn->opt->resume);
  json_builder_set_member_name (b, "task_timeout_us");
  json_builder_add_int_value (b, rn->opt->task_timeout_us);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
record_event (Runner *rn, const char *event, JsonNode *details)
{
  if (rn->prov == NULL)
    return;
  StrandEventFacts facts = { .event = event, .time_us = strand_clock_now_us (), .details = details };
  g_autoptr (JsonNode) st = strand_statement_event (&facts);
  append_record (rn, st);
}

/* ---- the loop ------------------------------------------------------------------------------------- */

static void
on_cancel_request (Runner *rn)
{
  rn->cancel_requests++;
  gboolean force = rn->cancel_requests > 1;
  if (!rn->cancelled)
    g_message ("run %s: stopping: no new task starts; running tasks are asked to stop%s",
               rn->run->run_id, force ? "" : " (again to kill them)");
  rn->stopping = TRUE;
  rn->cancelled = TRUE;
  for (guint i = 0; i < rn->tasks->len; i++)
    {
      Task *t = rn->tasks->pdata[i];
      if (t->phase == PHASE_RUNNING)
        {
          t->stop_asked = TRUE;
          strand_executor_cancel (rn->executor, t->id, force);
        }
    }
}

static void
loop (Runner *rn)
{
  g_autoptr (GArray) pollfds = g_array_new (FALSE, FALSE, sizeof (struct pollfd));
  g_autoptr (GArray) events = g_array_new (FALSE, FALSE, sizeof (StrandExecutorEvent));
  gboolean virtual_time = strand_clock_mode () == STRAND_CLOCK_VIRTUAL;
  while (rn->unfinished > 0 && rn->fatal == NULL)
    {
      start_ready (rn);
      if (rn->unfinished == 0)
        break;
      gint64 decision = strand_run_schedule_next_change_us (rn->schedule);
      if (rn->running == 0 && (rn->stopping || (rn->delayed->len == 0 &&
                                                (strand_run_schedule_waiting (rn->schedule) == 0 ||
                                                 decision == G_MAXINT64))))
        break; /* nothing can move any more: the rest does not run */
      g_array_set_size (pollfds, 0);
      struct pollfd cp = { .fd = cancel_pipe[0], .events = POLLIN };
      g_array_append_val (pollfds, cp);
      gint64 next = strand_executor_prepare (rn->executor, pollfds);
      for (guint i = 0; i < rn->delayed->len && !rn->stopping; i++)
        next = MIN (next, ((Task *) rn->delayed->pdata[i])->ready_at);
      if (decision != G_MAXINT64)
        next = MIN (next, strand_clock_monotonic_us () + MAX (decision - strand_clock_now_us (), 0));
      if (rn->opt->faults)
        {
          gint64 eq = strand_faults_next_equipment_event (rn->opt->faults, strand_clock_now_us ());
          if (eq != G_MAXINT64)
            next = MIN (next, strand_clock_monotonic_us () + (eq - strand_clock_now_us ()));
        }
      if (rn->opt->progress)
        next = MIN (next, rn->last_tick + G_USEC_PER_SEC);
      if (rn->uncommitted > 0)
        next = MIN (next, rn->last_commit + G_USEC_PER_SEC);
      gint64 now = strand_clock_monotonic_us ();
      int timeout_ms = next == G_MAXINT64 ? -1 : (int) CLAMP ((next - now + 999) / 1000, 0, G_MAXINT);
      if (virtual_time && timeout_ms > 0)
        {
          /* Discrete events: idle time passes at once; while workers run,
           * it passes as they are waited for. */
          if (rn->running == 0)
            {
              strand_clock_advance_us (next - now);
              timeout_ms = 0;
            }
          else
            timeout_ms = MIN (timeout_ms, 10);
        }
      int n = poll ((struct pollfd *) pollfds->data, pollfds->len, timeout_ms);
      if (n < 0 && errno != EINTR)
        g_error ("poll: %s", g_strerror (errno));
      if (virtual_time && n == 0 && timeout_ms > 0)
        strand_clock_advance_us ((gint64) timeout_ms * 1000);
      if (n > 0 && g_array_index (pollfds, struct pollfd, 0).revents)
        {
          char buf[16];
          ssize_t got = read (cancel_pipe[0], buf, sizeof buf);
          for (ssize_t i = 0; i < got; i++)
            on_cancel_request (rn);
        }
      g_array_set_size (events, 0);
      strand_executor_dispatch (rn->executor, pollfds, 1, events);
      for (guint i = 0; i < events->len; i++)
        {
          StrandExecutorEvent *ev = &g_array_index (events, StrandExecutorEvent, i);
          on_result (rn, rn->tasks->pdata[ev->id], ev->result);
        }
      /* Group commit: one sync for every record of this turn, then the
       * outputs they name become visible. Records that name nothing to
       * publish (failures, decisions, tasks that made nothing) wait for the
       * next such sync, a thousand records or a second: a crash before it
       * loses only what a resumed run does again. */
      gint64 turn = strand_clock_monotonic_us ();
      if (rn->to_publish->len > 0 || rn->uncommitted >= 1000 ||
          (rn->uncommitted > 0 && turn - rn->last_commit >= G_USEC_PER_SEC))
        {
          rn->last_commit = turn;
          if (!commit_records (rn))
            break;
          g_autoptr (GPtrArray) ready = g_ptr_array_copy (rn->to_publish, NULL, NULL);
          g_ptr_array_set_size (rn->to_publish, 0);
          rn->publish_bytes = 0;
          /* One sync for all the turn's objects, not two per object. */
          if (rn->store && ready->len > 0)
            strand_store_begin_batch (rn->store);
          for (guint i = 0; i < ready->len; i++)
            publish (rn, ready->pdata[i]);
          if (rn->store && ready->len > 0 && !strand_store_end_batch (rn->store, &rn->fatal))
            break;
        }
      now = strand_clock_monotonic_us ();
      for (guint i = 0; i < rn->delayed->len;)
        {
          Task *t = rn->delayed->pdata[i];
          if (rn->stopping || t->ready_at <= now)
            {
              g_ptr_array_remove_index (rn->delayed, i);
              if (rn->stopping)
                finish_task (rn, t, rn->cancelled ? "cancelled" : "not-run", FALSE);
              else
                enqueue (rn, t);
              continue;
            }
          i++;
        }
      if (rn->opt->faults)
        strand_faults_tick (rn->opt->faults, strand_clock_now_us ());
      if (rn->opt->progress && now >= rn->last_tick + G_USEC_PER_SEC)
        {
          rn->last_tick = now;
          report (rn, NULL);
        }
    }
}

static void
runner_clear (Runner *rn)
{
  g_clear_pointer (&rn->tasks, g_ptr_array_unref);
  g_clear_pointer (&rn->plan, strand_plan_free);
  g_clear_pointer (&rn->results, g_free);
  g_clear_pointer (&rn->policies, g_ptr_array_unref);
  g_clear_pointer (&rn->delayed, g_ptr_array_unref);
  g_clear_pointer (&rn->to_publish, g_ptr_array_unref);
  g_clear_pointer (&rn->cache, strand_run_cache_free);
  g_clear_pointer (&rn->damaged, g_hash_table_unref);
  g_free (rn->sample_failed);
  g_free (rn->sample_left);
  g_free (rn->sample_running);
}

StrandRun *
strand_run_pipeline_with (StrandPipeline *pipeline, GPtrArray *samples, StrandProvenance *prov,
                          const char *runs_dir, const StrandRunOptions *options, GError **error)
{
  StrandRunOptions defaults = { 0 };
  const StrandRunOptions *opt = options ? options : &defaults;
  gint64 now = strand_clock_now_us ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now / G_USEC_PER_SEC);
  g_autofree char *stamp = g_date_time_format (dt, "%Y%m%dT%H%M%SZ");
  g_autoptr (StrandRun) run = g_new0 (StrandRun, 1);
  run->run_id = g_strdup_printf ("%s-%08x", stamp, g_random_int ());
  /* Absolute, so that links a stage makes to its inputs resolve anywhere. */
  g_autofree char *runs_abs = g_canonicalize_filename (runs_dir, NULL);
  run->run_dir = g_build_filename (runs_abs, run->run_id, NULL);
  run->tasks = g_ptr_array_new_with_free_func (record_free);
  if (g_mkdir_with_parents (run->run_dir, 0750) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "cannot create run directory %s: %s", run->run_dir, g_strerror (errno));
      return NULL;
    }

  Runner rn = { .pipeline = pipeline, .samples = samples, .prov = prov, .opt = opt, .run = run };
  rn.store = prov ? strand_provenance_store (prov) : NULL;
  rn.delayed = g_ptr_array_new ();
  rn.to_publish = g_ptr_array_new ();
  rn.damaged = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  rn.kill_at = strand_faults_kill_host_record (opt->faults);
  if (rn.store && opt->faults && strand_faults_enospc_after (opt->faults) != G_MAXUINT64)
    strand_store_inject_enospc_after (rn.store, strand_faults_enospc_after (opt->faults));
  if (opt->faults)
    {
      strand_faults_start (opt->faults, now);
      strand_faults_watch_equipment (opt->faults, on_equipment_down, &rn);
    }
  if (prov && !ingest_inputs (prov, pipeline, samples, error))
    {
      runner_clear (&rn);
      return NULL;
    }
  plan (&rn);
  if (opt->resume && prov)
    {
      rn.cache = strand_run_cache_load (prov, error);
      if (rn.cache == NULL)
        {
          runner_clear (&rn);
          return NULL;
        }
      roll_forward (&rn);
    }
  if (prov)
    {
      g_autoptr (JsonNode) details = run_start_details (&rn, error);
      if (details == NULL)
        {
          runner_clear (&rn);
          return NULL;
        }
      record_event (&rn, "run-start", details);
      commit_records (&rn);
    }

  rn.executor = opt->executor ? opt->executor : strand_executor_local_new (opt->jobs, 0, opt->grace_us);
  rn.schedule = make_schedule (&rn);
  struct sigaction old_int, old_term;
  if (pipe2 (cancel_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    g_error ("pipe: %s", g_strerror (errno));
  if (opt->handle_signals)
    {
      struct sigaction sa = { .sa_handler = on_cancel_signal };
      sigemptyset (&sa.sa_mask);
      sigaction (SIGINT, &sa, &old_int);
      sigaction (SIGTERM, &sa, &old_term);
    }
  rn.started_mono = rn.last_tick = strand_clock_monotonic_us ();
  for (guint i = 0; i < rn.tasks->len; i++)
    {
      Task *t = rn.tasks->pdata[i];
      if (t->phase == PHASE_WAITING && t->waiting == 0)
        become_ready (&rn, t);
    }
  loop (&rn);
  /* Every object the run stored is durable before it reports. */
  if (rn.store && rn.fatal == NULL)
    strand_store_sync_wait (rn.store, &rn.fatal);
  if (opt->handle_signals)
    {
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGTERM, &old_term, NULL);
    }
  /* What could not run: waiting for tasks that never finished, or queued
   * when the run stopped. */
  for (guint i = 0; i < rn.tasks->len; i++)
    {
      Task *t = rn.tasks->pdata[i];
      if (t->phase != PHASE_FINISHED && t->phase != PHASE_RUNNING)
        {
          t->phase = PHASE_FINISHED;
          t->record->status = rn.cancelled ? "cancelled" : "not-run";
          run->skipped++;
        }
    }
  if (opt->executor == NULL)
    strand_executor_free (rn.executor);
  g_clear_pointer (&rn.schedule, strand_run_schedule_free);
  close (cancel_pipe[0]);
  close (cancel_pipe[1]);
  cancel_pipe[0] = cancel_pipe[1] = -1;

  run->status = rn.cancelled ? "cancelled" : rn.halted ? "halted"
                : run->failed > 0 || run->skipped > 0 ? "failed" : "complete";
  if (rn.fatal == NULL && prov)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "run");
      json_builder_add_string_value (b, run->run_id);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, run->status);
      json_builder_set_member_name (b, "succeeded");
      json_builder_add_int_value (b, run->succeeded);
      json_builder_set_member_name (b, "cached");
      json_builder_add_int_value (b, run->cached);
      json_builder_set_member_name (b, "failed");
      json_builder_add_int_value (b, run->failed);
      json_builder_set_member_name (b, "skipped");
      json_builder_add_int_value (b, run->skipped);
      json_builder_end_object (b);
      g_autoptr (JsonNode) details = json_builder_get_root (b);
      record_event (&rn, "run-end", details);
      commit_records (&rn);
    }
  if (rn.fatal != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&rn.fatal),
                                  "run %s stopped: its records or objects could not be made durable: ",
                                  run->run_id);
      runner_clear (&rn);
      return NULL;
    }
  runner_clear (&rn);

  g_autoptr (JsonNode) summary = strand_run_to_json (run, pipeline);
  strand_run_summary_add (summary, run, pipeline, opt->inventory);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, summary);
  g_autofree char *summary_path = g_build_filename (run->run_dir, "run.json", NULL);
  if (!json_generator_to_file (gen, summary_path, error))
    return NULL;
  return g_steal_pointer (&run);
}

StrandRun *
strand_run_pipeline (StrandPipeline *pipeline, GPtrArray *samples, StrandProvenance *prov,
                     const char *runs_dir, StrandRunProgress progress, gpointer user_data,
                     GError **error)
{
  StrandRunOptions options = { .progress = progress, .user_data = user_data };
  return strand_run_pipeline_with (pipeline, samples, prov, runs_dir, &options, error);
}

/* ---- the summary ------------------------------------------------------------------------------------ */

static void
add_string (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

JsonNode *
strand_run_to_json (const StrandRun *run, const StrandPipeline *pipeline)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "run_id", run->run_id);
  add_string (b, "run_dir", run->run_dir);
  add_string (b, "pipeline", pipeline->name);
  add_string (b, "status", run->status ? run->status : "complete");
  json_builder_set_member_name (b, "succeeded");
  json_builder_add_int_value (b, run->succeeded);
  json_builder_set_member_name (b, "cached");
  json_builder_add_int_value (b, run->cached);
  json_builder_set_member_name (b, "failed");
  json_builder_add_int_value (b, run->failed);
  json_builder_set_member_name (b, "skipped");
  json_builder_add_int_value (b, run->skipped);
  json_builder_set_member_name (b, "tasks");
  json_builder_begin_array (b);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      const StrandTaskRecord *t = run->tasks->pdata[i];
      const StrandTaskResult *r = t->result;
      json_builder_begin_object (b);
      add_string (b, "sample", t->sample_id);
      add_string (b, "stage", t->stage_id);
      add_string (b, "status", t->status);
      json_builder_set_member_name (b, "attempts");
      json_builder_add_int_value (b, t->attempts);
      if (t->plugin)
        add_string (b, "plugin", t->plugin);
      if (t->memory_bytes)
        {
          json_builder_set_member_name (b, "memory_bytes");
          json_builder_add_int_value (b, (gint64) t->memory_bytes);
        }
      if (t->timeout_us)
        {
          json_builder_set_member_name (b, "timeout_seconds");
          json_builder_add_double_value (b, (double) t->timeout_us / G_USEC_PER_SEC);
        }
      if (t->equipment)
        add_string (b, "equipment", t->equipment);
      if (t->cache_key)
        add_string (b, "cache_key", t->cache_key);
      if (t->explain)
        add_string (b, "explain", t->explain);
      if (t->quarantined)
        {
          json_builder_set_member_name (b, "quarantined");
          json_builder_add_boolean_value (b, TRUE);
        }
      json_builder_set_member_name (b, "decisions");
      json_builder_begin_array (b);
      for (guint k = 0; k < t->decisions->len; k++)
        json_builder_add_string_value (b, t->decisions->pdata[k]);
      json_builder_end_array (b);
      if (r != NULL)
        {
          json_builder_set_member_name (b, "seconds");
          json_builder_add_double_value (b, (double) (r->end_us - r->start_us) / G_USEC_PER_SEC);
          if (!r->ok)
            {
              add_string (b, "error_class", strand_error_class_name (r->error_class));
              add_string (b, "message", r->message ? r->message : "");
            }
          if (r->max_rss_bytes)
            {
              json_builder_set_member_name (b, "max_rss_bytes");
              json_builder_add_int_value (b, (gint64) r->max_rss_bytes);
            }
          if (r->cpu_us > 0)
            {
              json_builder_set_member_name (b, "cpu_seconds");
              json_builder_add_double_value (b, (double) r->cpu_us / G_USEC_PER_SEC);
            }
          add_string (b, "log", r->log_path);
          json_builder_set_member_name (b, "outputs");
          json_builder_begin_array (b);
          for (guint k = 0; r->ok && k < r->outputs->len; k++)
            {
              const StrandTaskOutput *o = r->outputs->pdata[k];
              json_builder_begin_object (b);
              add_string (b, "port", o->port);
              add_string (b, "name", o->name);
              add_string (b, "path", o->path);
              add_string (b, "sha256", o->sha256);
              json_builder_set_member_name (b, "size");
              json_builder_add_int_value (b, (gint64) o->size);
              add_string (b, "sample", o->sample_id);
              json_builder_set_member_name (b, "tree");
              json_builder_add_boolean_value (b, o->tree);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_set_member_name (b, "metrics");
          json_builder_begin_object (b);
          g_autoptr (GList) keys = g_hash_table_get_keys (r->metrics);
          keys = g_list_sort (keys, (GCompareFunc) strcmp);
          for (GList *l = keys; l; l = l->next)
            {
              json_builder_set_member_name (b, l->data);
              json_builder_add_double_value (b, *(double *) g_hash_table_lookup (r->metrics, l->data));
            }
          json_builder_end_object (b);
          json_builder_set_member_name (b, "tools");
          json_builder_begin_array (b);
          for (guint k = 0; k < r->tools->len; k++)
            {
              const StrandToolUse *tool = r->tools->pdata[k];
              json_builder_begin_object (b);
              add_string (b, "path", tool->path);
              add_string (b, "version", tool->version ? tool->version : "");
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
