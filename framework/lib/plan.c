#include "plan.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "store-tree.h"

static gboolean
per_run (const StrandStage *stage)
{
  return (stage->resolved->flags & STRAND_STAGE_PER_RUN) != 0;
}

static void
plan_task_free (gpointer p)
{
  StrandPlanTask *t = p;
  g_array_unref (t->deps);
  g_array_unref (t->dependents);
  g_free (t);
}

void
strand_plan_free (StrandPlan *plan)
{
  if (plan == NULL)
    return;
  g_ptr_array_unref (plan->tasks);
  g_ptr_array_unref (plan->edges_into);
  g_free (plan->first_task);
  g_free (plan);
}

char *
strand_plan_task_id (const StrandPlanTask *task)
{
  return g_strdup_printf ("%s/%s", task->sample ? task->sample->id : "_run", task->stage->id);
}

static guint
stage_index (const StrandPipeline *pipeline, const char *id)
{
  StrandStage *s = strand_pipeline_find_stage (pipeline, id);
  return s ? s->index : G_MAXUINT;
}

/* The tasks of stage `from` that task (`to`, sample `si`) reads, calling
 * `func` for each. `si` is G_MAXUINT for a per-run consumer. */
typedef void (*ProducerFunc) (StrandPlan *plan, guint producer, gpointer user_data);

static void
foreach_producer (StrandPlan *plan, guint from, guint si, ProducerFunc func, gpointer user_data)
{
  const StrandStage *producer = plan->pipeline->stages->pdata[from];
  guint first = plan->first_task[from];
  if (per_run (producer))
    func (plan, first, user_data);
  else if (si != G_MAXUINT)
    func (plan, first + si, user_data);
  else
    for (guint k = 0; k < plan->samples->len; k++)
      func (plan, first + k, user_data);
}

static void
add_dep (StrandPlan *plan, guint producer, gpointer user_data)
{
  StrandPlanTask *task = user_data;
  for (guint i = 0; i < task->deps->len; i++)
    if (g_array_index (task->deps, guint, i) == producer)
      return;
  g_array_append_val (task->deps, producer);
  StrandPlanTask *p = plan->tasks->pdata[producer];
  g_array_append_val (p->dependents, task->index);
}

StrandPlan *
strand_plan_new (StrandPipeline *pipeline, GPtrArray *samples)
{
  StrandPlan *plan = g_new0 (StrandPlan, 1);
  plan->pipeline = pipeline;
  plan->samples = samples;
  plan->tasks = g_ptr_array_new_with_free_func (plan_task_free);
  guint n_stages = pipeline->stages->len;
  plan->first_task = g_new0 (guint, n_stages);
  plan->edges_into = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < n_stages; i++)
    {
      ((StrandStage *) pipeline->stages->pdata[i])->index = i;
      g_ptr_array_add (plan->edges_into, g_ptr_array_new ());
    }
  for (guint e = 0; e < pipeline->edges->len; e++)
    {
      StrandEdge *edge = pipeline->edges->pdata[e];
      guint to = stage_index (pipeline, edge->to_stage);
      if (to != G_MAXUINT)
        g_ptr_array_add (plan->edges_into->pdata[to], edge);
    }

  g_autoptr (GArray) order = strand_pipeline_topological_order (pipeline);
  for (guint k = 0; k < order->len; k++)
    {
      guint idx = g_array_index (order, guint, k);
      const StrandStage *stage = pipeline->stages->pdata[idx];
      plan->first_task[idx] = plan->tasks->len;
      guint n = per_run (stage) ? 1 : samples->len;
      for (guint si = 0; si < n; si++)
        {
          StrandPlanTask *t = g_new0 (StrandPlanTask, 1);
          t->index = plan->tasks->len;
          t->stage = stage;
          t->sample = per_run (stage) ? NULL : samples->pdata[si];
          t->deps = g_array_new (FALSE, FALSE, sizeof (guint));
          t->dependents = g_array_new (FALSE, FALSE, sizeof (guint));
          g_ptr_array_add (plan->tasks, t);
          GPtrArray *into = plan->edges_into->pdata[idx];
          for (guint e = 0; e < into->len; e++)
            {
              const StrandEdge *edge = into->pdata[e];
              if (edge->from_stage == NULL)
                continue;
              foreach_producer (plan, stage_index (pipeline, edge->from_stage),
                                per_run (stage) ? G_MAXUINT : si, add_dep, t);
            }
        }
    }
  return plan;
}

/* ---- inputs --------------------------------------------------------------- */

/* Gives a stored input the file name its producer chose, so tools that go by
 * extension (.bam, .fa.gz) see one: inputs/PORT/N/NAME -> the object, or a
 * directory of links for a tree. */
static char *
link_input (StrandStore *store, const char *work_dir, const char *port, guint n,
            const StrandTaskOutput *o, GError **error)
{
  g_autofree char *num = g_strdup_printf ("%u", n);
  g_autofree char *dir = g_build_filename (work_dir, "inputs", port, num, NULL);
  g_autofree char *link = g_build_filename (dir, o->name, NULL);
  if (g_mkdir_with_parents (dir, 0750) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot create %s: %s",
                   dir, g_strerror (saved));
      return NULL;
    }
  g_autofree char *view = NULL;
  if (o->tree && store != NULL && !strand_store_tree_view (store, o->sha256, &view, error))
    return NULL;
  if (symlink (view ? view : o->path, link) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot link input %s: %s",
                   link, g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&link);
}

/* A user's file: the task reads the store's copy when the run ingested it
 * (so a file changed during the run cannot reach a stage), under the file's
 * own name. */
static gboolean
add_file_input (StrandTaskSpec *spec, StrandStore *store, const char *port, guint n,
                const char *path, const char *format, const char *sample_id, const char *pinned,
                GError **error)
{
  char sha[65], md5[33];
  gboolean tree = g_file_test (path, G_FILE_TEST_IS_DIR);
  if (tree && store != NULL)
    {
      /* A directory's digest is its tree's; its files' digests are cached. */
      StrandObjectInfo info;
      if (!strand_store_ingest_tree (store, path, FALSE, &info, NULL, error))
        return FALSE;
      memcpy (sha, info.sha256, sizeof sha);
    }
  /* Cached by file identity: a large input is hashed once, not per run. */
  else if (store != NULL && !strand_store_file_digest (store, path, sha, md5, error))
    return FALSE;
  if (store != NULL && pinned && strcmp (pinned, sha) != 0)
    {
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INTEGRITY,
                   "%s has SHA-256 %s but the pipeline pins %s", path, sha, pinned);
      return FALSE;
    }
  g_autofree char *link = NULL;
  g_autofree char *name = g_path_get_basename (path);
  if (store != NULL && strand_store_contains (store, sha))
    {
      StrandTaskOutput object = { .name = name, .path = strand_store_object_path (store, sha),
                                  .sha256 = sha, .tree = tree };
      link = link_input (store, spec->work_dir, port, n, &object, error);
      g_free (object.path);
      if (link == NULL)
        return FALSE;
    }
  StrandTaskInput *ti = strand_task_spec_add_input (spec, port, link ? link : path, format);
  ti->name = g_steal_pointer (&name);
  ti->sample_id = g_strdup (sample_id);
  ti->source = link ? g_strdup (path) : NULL;
  if (store != NULL)
    ti->sha256 = g_strdup (sha);
  return TRUE;
}

static guint
inputs_on_port (const StrandTaskSpec *spec, const char *port)
{
  guint n = 0;
  for (guint i = 0; i < spec->inputs->len; i++)
    if (g_strcmp0 (((StrandTaskInput *) spec->inputs->pdata[i])->port, port) == 0)
      n++;
  return n;
}

typedef struct {
  StrandTaskResult *const *results;
  StrandStore *store;
  StrandTaskSpec *spec;
  const StrandPlanTask *task;
  const StrandEdge *edge;
  const char *formats;
  gboolean gather;  /* per-run consumer of a per-sample producer */
  guint ok;         /* producers that succeeded */
  gboolean failed;  /* a producer it cannot do without failed */
  guint n_linked;
  GError *error;
} Collect;

static void
collect_outputs (StrandPlan *plan, guint producer, gpointer user_data)
{
  Collect *c = user_data;
  if (c->error != NULL)
    return;
  const StrandPlanTask *up = plan->tasks->pdata[producer];
  const StrandTaskResult *r = c->results[producer];
  if (r == NULL || !r->ok)
    {
      if (!c->gather)
        c->failed = TRUE;
      return;
    }
  c->ok++;
  const char *want = c->task->sample ? c->task->sample->id : NULL;
  for (guint i = 0; i < r->outputs->len && c->error == NULL; i++)
    {
      const StrandTaskOutput *o = r->outputs->pdata[i];
      if (g_strcmp0 (o->port, c->edge->from_port) != 0)
        continue;
      /* A per-run producer's output made for one sample goes to that
       * sample's task only. */
      if (up->sample == NULL && o->sample_id != NULL && want != NULL && strcmp (o->sample_id, want) != 0)
        continue;
      g_autofree char *link = link_input (c->store, c->spec->work_dir, c->edge->to_port,
                                          c->n_linked++, o, &c->error);
      if (link == NULL)
        return;
      StrandTaskInput *ti = strand_task_spec_add_input (c->spec, c->edge->to_port, link, c->formats);
      ti->name = g_strdup (o->name);
      ti->sha256 = g_strdup (o->sha256);
      ti->sample_id = g_strdup (up->sample ? up->sample->id : o->sample_id);
    }
}

StrandPlanInputs
strand_plan_task_inputs (StrandPlan *plan, const StrandPlanTask *task,
                         StrandTaskResult *const *results, StrandStore *store,
                         StrandTaskSpec *spec, GError **error)
{
  const StrandStage *stage = task->stage;
  if (task->sample != NULL)
    strand_task_spec_add_run_sample (spec, task->sample->id, task->sample->meta);
  else
    for (guint i = 0; i < plan->samples->len; i++)
      {
        const StrandSample *s = plan->samples->pdata[i];
        strand_task_spec_add_run_sample (spec, s->id, s->meta);
      }

  GPtrArray *into = plan->edges_into->pdata[stage->index];
  gboolean upstream_failed = FALSE;
  for (guint e = 0; e < into->len; e++)
    {
      const StrandEdge *edge = into->pdata[e];
      if (edge->from_stage == NULL)
        {
          const StrandPipelineInput *in = strand_pipeline_find_input (plan->pipeline, edge->from_port);
          if (in != NULL && in->per_run)
            {
              if (!add_file_input (spec, store, edge->to_port, inputs_on_port (spec, edge->to_port),
                                   in->path, in->formats, NULL, in->sha256, error))
                return STRAND_PLAN_INPUT_ERROR;
              continue;
            }
          for (guint si = 0; si < plan->samples->len; si++)
            {
              const StrandSample *sample = plan->samples->pdata[si];
              if (task->sample != NULL && task->sample != sample)
                continue;
              for (guint i = 0; i < sample->files->len; i++)
                {
                  const StrandSampleFile *f = sample->files->pdata[i];
                  if (g_strcmp0 (f->input, edge->from_port) == 0 &&
                      !add_file_input (spec, store, edge->to_port,
                                       inputs_on_port (spec, edge->to_port), f->path, f->format,
                                       sample->id, f->sha256, error))
                    return STRAND_PLAN_INPUT_ERROR;
                }
            }
          continue;
        }
      guint from = stage_index (plan->pipeline, edge->from_stage);
      const StrandStage *producer = plan->pipeline->stages->pdata[from];
      const StrandPortInfo *port = strand_plugin_info_find_port (producer->resolved, TRUE,
                                                                 edge->from_port);
      Collect c = {
        .results = results,
        .store = store,
        .spec = spec,
        .task = task,
        .edge = edge,
        .formats = port ? port->formats : NULL,
        .gather = task->sample == NULL && !per_run (producer),
      };
      /* Links of several edges into one port must not collide. */
      c.n_linked = inputs_on_port (spec, edge->to_port);
      foreach_producer (plan, from, task->sample ? (guint) (task->index - plan->first_task[stage->index]) : G_MAXUINT,
                        collect_outputs, &c);
      if (c.error != NULL)
        {
          g_propagate_error (error, c.error);
          return STRAND_PLAN_INPUT_ERROR;
        }
      if (c.failed || c.ok == 0)
        upstream_failed = TRUE;
    }
  return upstream_failed ? STRAND_PLAN_UPSTREAM_FAILED : STRAND_PLAN_READY;
}
