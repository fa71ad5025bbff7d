#include "runner-reproduce.h"

#include <string.h>

#include "clock.h"
#include "digest.h"
#include "record-build.h"
#include "records.h"
#include "runner-cache.h"
#include "validator.h"

static void
task_free (gpointer p)
{
  StrandReproducedTask *t = p;
  g_free (t->sample);
  g_free (t->stage);
  g_ptr_array_unref (t->recorded);
  g_ptr_array_unref (t->reproduced);
  g_free (t);
}

void
strand_reproduction_free (StrandReproduction *repro)
{
  if (repro == NULL)
    return;
  g_free (repro->run_id);
  g_free (repro->new_run_id);
  g_free (repro->into);
  g_ptr_array_unref (repro->tasks);
  g_free (repro);
}

/* What the recorded run left in the ledger. */
typedef struct {
  const char *wanted;
  char *run_id;
  gboolean ambiguous;
  JsonNode *start;      /* details of its run-start record */
  GHashTable *outputs;  /* "stage\nsample" -> GPtrArray of "PORT/FILE sha256" (last success) */
} Scan;

static GPtrArray *
subject_list (JsonObject *st)
{
  GPtrArray *list = g_ptr_array_new_with_free_func (g_free);
  JsonNode *sn = json_object_get_member (st, "subject");
  JsonArray *a = sn && JSON_NODE_HOLDS_ARRAY (sn) ? json_node_get_array (sn) : NULL;
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        continue;
      JsonObject *o = json_node_get_object (e);
      const char *name = strand_statement_string (o, "name");
      const char *sha = strand_statement_string (o, "digest.sha256");
      if (name && sha)
        g_ptr_array_add (list, g_strdup_printf ("%s %s", name, sha));
    }
  g_ptr_array_sort (list, (GCompareFunc) g_strcmp0);
  return list;
}

static gboolean
scan_statement (JsonObject *st, guint64 seq, gpointer data)
{
  Scan *scan = data;
  const char *type = strand_statement_string (st, "predicateType");
  if (g_strcmp0 (type, STRAND_RECORD_EVENT) == 0 &&
      g_strcmp0 (strand_statement_string (st, "predicate.event"), "run-start") == 0)
    {
      const char *run = strand_statement_string (st, "predicate.details.run");
      if (run == NULL || !g_str_has_prefix (run, scan->wanted))
        return TRUE;
      if (scan->run_id && strcmp (scan->run_id, run) != 0)
        {
          scan->ambiguous = TRUE;
          return TRUE;
        }
      scan->run_id = g_strdup (run);
      g_clear_pointer (&scan->start, json_node_unref);
      scan->start = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (scan->start, strand_statement_object (st, "predicate.details"));
      return TRUE;
    }
  if (scan->run_id == NULL)
    return TRUE;
  const char *run = NULL, *stage = NULL, *sample = NULL;
  if (g_strcmp0 (type, STRAND_RECORD_STAGE_RUN) == 0)
    {
      JsonObject *ext = strand_statement_object (st, "predicate.buildDefinition.externalParameters");
      run = strand_statement_string (ext, "run");
      stage = strand_statement_string (ext, "stage");
      sample = strand_statement_string (ext, "sample");
      JsonObject *details = strand_statement_object (st, "predicate.runDetails");
      JsonNode *bp = details ? json_object_get_member (details, "byproducts") : NULL;
      JsonArray *a = bp && JSON_NODE_HOLDS_ARRAY (bp) ? json_node_get_array (bp) : NULL;
      for (guint i = 0; a && i < json_array_get_length (a); i++)
        if (JSON_NODE_HOLDS_OBJECT (json_array_get_element (a, i)) &&
            strand_statement_string (json_node_get_object (json_array_get_element (a, i)),
                                     "annotations.error_class"))
          return TRUE; /* a failed attempt made nothing */
    }
  else if (g_strcmp0 (type, STRAND_RECORD_DECISION) == 0 &&
           g_strcmp0 (strand_statement_string (st, "predicate.decision"), "reuse") == 0)
    {
      run = strand_statement_string (st, "predicate.run");
      stage = strand_statement_string (st, "predicate.stage");
      sample = strand_statement_string (st, "predicate.sample");
    }
  if (run == NULL || stage == NULL || strcmp (run, scan->run_id) != 0)
    return TRUE;
  g_hash_table_replace (scan->outputs, g_strdup_printf ("%s\n%s", stage, sample ? sample : ""),
                        subject_list (st));
  return TRUE;
}

/* The samples as the run-start record has them, their files checked. */
static GPtrArray *
samples_from (JsonObject *details, GError **error)
{
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  JsonNode *sn = json_object_get_member (details, "samples");
  JsonArray *a = sn && JSON_NODE_HOLDS_ARRAY (sn) ? json_node_get_array (sn) : NULL;
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      JsonObject *so = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *id = so ? strand_statement_string (so, "id") : NULL;
      if (id == NULL)
        continue;
      StrandSample *s = strand_sample_new (id);
      s->where = g_strdup ("(the recorded run)");
      g_ptr_array_add (samples, s);
      JsonObject *meta = strand_statement_object (so, "meta");
      g_autoptr (GList) keys = meta ? json_object_get_members (meta) : NULL;
      for (GList *l = keys; l; l = l->next)
        if (strand_statement_string (meta, l->data))
          g_hash_table_replace (s->meta, g_strdup (l->data),
                                g_strdup (strand_statement_string (meta, l->data)));
      JsonNode *fn = json_object_get_member (so, "files");
      JsonArray *files = fn && JSON_NODE_HOLDS_ARRAY (fn) ? json_node_get_array (fn) : NULL;
      for (guint k = 0; files && k < json_array_get_length (files); k++)
        {
          JsonNode *fe = json_array_get_element (files, k);
          JsonObject *fo = JSON_NODE_HOLDS_OBJECT (fe) ? json_node_get_object (fe) : NULL;
          const char *input = fo ? strand_statement_string (fo, "input") : NULL;
          const char *path = fo ? strand_statement_string (fo, "path") : NULL;
          const char *sha = fo ? strand_statement_string (fo, "sha256") : NULL;
          if (input == NULL || path == NULL || sha == NULL)
            continue;
          g_autofree char *now = strand_sha256_file (path, NULL, NULL);
          if (g_strcmp0 (now, sha) != 0)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "sample '%s' input '%s': %s %s (the run read sha256 %s)", id, input, path,
                           now ? "has changed" : "is gone", sha);
              return NULL;
            }
          StrandSampleFile *f = strand_sample_add_file (s, input, path);
          f->sha256 = g_strdup (sha);
          f->format = g_strdup (strand_statement_string (fo, "format"));
        }
    }
  return g_steal_pointer (&samples);
}

/* Pins every stage to the build the run used, found by digest. */
static gboolean
pin_plugins (StrandPipeline *pipeline, JsonObject *plugins, StrandRegistry *registry,
             GHashTable *deterministic, GError **error)
{
  GPtrArray *installed = strand_registry_plugins (registry);
  g_autoptr (GString) missing = g_string_new (NULL);
  for (guint i = 0; i < pipeline->stages->len; i++)
    {
      StrandStage *s = pipeline->stages->pdata[i];
      JsonObject *p = plugins ? strand_statement_object (plugins, s->id) : NULL;
      const char *sha = p ? strand_statement_string (p, "sha256") : NULL;
      const char *version = p ? strand_statement_string (p, "version") : NULL;
      if (sha == NULL || version == NULL)
        {
          g_string_append_printf (missing, "\n  stage '%s': the record names no plugin build", s->id);
          continue;
        }
      JsonNode *det = json_object_get_member (p, "deterministic");
      g_hash_table_insert (deterministic, g_strdup (s->id),
                           GINT_TO_POINTER (det && JSON_NODE_HOLDS_VALUE (det) &&
                                            json_node_get_boolean (det)));
      const StrandPluginInfo *found = NULL;
      for (guint k = 0; k < installed->len && found == NULL; k++)
        if (g_strcmp0 (((StrandPluginInfo *) installed->pdata[k])->sha256, sha) == 0)
          found = installed->pdata[k];
      if (found == NULL)
        {
          g_string_append_printf (missing, "\n  stage '%s': plugin %s %s built as sha256 %s is not "
                                  "on the plugin path", s->id, s->plugin, version, sha);
          continue;
        }
      g_free (s->sha256);
      s->sha256 = g_strdup (sha);
      g_free (s->version);
      s->version = g_strdup_printf ("=%s", found->version);
    }
  if (missing->len > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "the exact plugin builds of the run are needed to reproduce it:%s", missing->str);
      return FALSE;
    }
  return TRUE;
}

StrandReproduction *
strand_reproduce_run (const char *store_dir, const char *run_id, StrandRegistry *registry,
                      const char *into, guint jobs, GError **error)
{
  Scan scan = { .wanted = run_id,
                .outputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                  (GDestroyNotify) g_ptr_array_unref) };
  g_autoptr (StrandReproduction) repro = NULL;
  g_autoptr (GHashTable) deterministic = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (StrandPipeline) pipeline = NULL;
  g_autoptr (GPtrArray) samples = NULL;
  g_autoptr (StrandProvenance) prov = NULL;
  g_autoptr (StrandRun) run = NULL;
  if (!strand_ledger_foreach_statement (store_dir, scan_statement, &scan, error))
    goto out;
  if (scan.run_id == NULL || scan.ambiguous)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, scan.ambiguous
                   ? "'%s' names more than one run of store %s: give more of the id"
                   : "store %s has no run '%s' (no run-start record)",
                   scan.ambiguous ? run_id : store_dir, scan.ambiguous ? store_dir : run_id);
      goto out;
    }
  JsonObject *details = json_node_get_object (scan.start);
  JsonNode *pn = json_object_get_member (details, "pipeline");
  if (pn == NULL || !JSON_NODE_HOLDS_OBJECT (pn))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "run %s: its start record has no "
                   "pipeline", scan.run_id);
      goto out;
    }
  {
    g_autofree char *text = json_to_string (pn, FALSE);
    g_autoptr (GPtrArray) problems = strand_problems_new ();
    g_autofree char *name = g_strdup_printf ("run %s", scan.run_id);
    pipeline = strand_pipeline_load_data (text, strlen (text), name, problems);
    if (pipeline == NULL || strand_problems_errors (problems) > 0)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "run %s: its recorded pipeline "
                     "does not load", scan.run_id);
        goto out;
      }
    if (!pin_plugins (pipeline, strand_statement_object (details, "plugins"), registry,
                      deterministic, error))
      goto out;
    samples = samples_from (details, error);
    if (samples == NULL)
      goto out;
    StrandValidateOptions checks = { .skip_data = TRUE };
    if (!strand_validate (pipeline, registry, samples, NULL, &checks, problems))
      {
        const StrandProblem *p = problems->pdata[0];
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "run %s: %s: %s", scan.run_id,
                     p->where, p->message);
        goto out;
      }
  }
  if (g_file_test (into, G_FILE_TEST_EXISTS))
    {
      g_autoptr (GDir) dir = g_dir_open (into, 0, NULL);
      if (dir == NULL || g_dir_read_name (dir) != NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s exists and is not empty: a run "
                       "is reproduced into a fresh store", into);
          goto out;
        }
    }
  if (!strand_provenance_init (into, error) || (prov = strand_provenance_open (into, error)) == NULL)
    goto out;
  {
    g_autofree char *runs = g_build_filename (into, "runs", NULL);
    StrandRunOptions options = { .jobs = jobs, .registry = registry };
    run = strand_run_pipeline_with (pipeline, samples, prov, runs, &options, error);
    if (run == NULL)
      goto out;
  }

  repro = g_new0 (StrandReproduction, 1);
  repro->run_id = g_strdup (scan.run_id);
  repro->new_run_id = g_strdup (run->run_id);
  repro->into = g_strdup (into);
  repro->tasks = g_ptr_array_new_with_free_func (task_free);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      const StrandTaskRecord *r = run->tasks->pdata[i];
      StrandReproducedTask *t = g_new0 (StrandReproducedTask, 1);
      t->sample = g_strdup (r->sample_id);
      t->stage = g_strdup (r->stage_id);
      t->deterministic = GPOINTER_TO_INT (g_hash_table_lookup (deterministic, r->stage_id));
      t->reproduced = g_ptr_array_new_with_free_func (g_free);
      gboolean made = r->result && r->result->ok && g_strcmp0 (r->status, "ok") == 0;
      for (guint k = 0; made && k < r->result->outputs->len; k++)
        {
          const StrandTaskOutput *o = r->result->outputs->pdata[k];
          g_ptr_array_add (t->reproduced, g_strdup_printf ("%s/%s %s", o->port, o->name, o->sha256));
        }
      g_ptr_array_sort (t->reproduced, (GCompareFunc) g_strcmp0);
      g_autofree char *key = g_strdup_printf ("%s\n%s", r->stage_id, r->sample_id ? r->sample_id : "");
      GPtrArray *recorded = g_hash_table_lookup (scan.outputs, key);
      t->recorded = recorded ? g_ptr_array_ref (recorded) : g_ptr_array_new_with_free_func (g_free);
      if (recorded == NULL)
        t->status = "not-recorded";
      else if (!made)
        t->status = "not-reproduced";
      else
        {
          gboolean same = recorded->len == t->reproduced->len;
          for (guint k = 0; same && k < recorded->len; k++)
            same = strcmp (recorded->pdata[k], t->reproduced->pdata[k]) == 0;
          t->status = same ? "match" : "mismatch";
        }
      if (strcmp (t->status, "match") == 0)
        repro->matched++;
      else if (strcmp (t->status, "mismatch") == 0 && t->deterministic)
        repro->mismatched++;
      else if (strcmp (t->status, "mismatch") == 0)
        repro->mismatched_nondeterministic++;
      else
        repro->missing++;
      g_ptr_array_add (repro->tasks, t);
    }
  {
    /* The comparison is itself on the record, in the new store. */
    g_autoptr (JsonNode) summary = strand_reproduction_to_json (repro);
    StrandEventFacts facts = { .event = "reproduce", .time_us = strand_clock_now_us (),
                               .details = summary };
    g_autoptr (JsonNode) st = strand_statement_event (&facts);
    if (!strand_provenance_record (prov, st, error))
      g_clear_pointer (&repro, strand_reproduction_free);
  }
out:
  g_free (scan.run_id);
  g_clear_pointer (&scan.start, json_node_unref);
  g_hash_table_unref (scan.outputs);
  return g_steal_pointer (&repro);
}

gboolean
strand_reproduction_ok (const StrandReproduction *repro)
{
  return repro->mismatched == 0 && repro->missing == 0;
}

static void
add_list (JsonBuilder *b, const char *key, GPtrArray *list)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; i < list->len; i++)
    json_builder_add_string_value (b, list->pdata[i]);
  json_builder_end_array (b);
}

JsonNode *
strand_reproduction_to_json (const StrandReproduction *repro)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "run");
  json_builder_add_string_value (b, repro->run_id);
  json_builder_set_member_name (b, "reproduced_as");
  json_builder_add_string_value (b, repro->new_run_id);
  json_builder_set_member_name (b, "into");
  json_builder_add_string_value (b, repro->into);
  json_builder_set_member_name (b, "matched");
  json_builder_add_int_value (b, repro->matched);
  json_builder_set_member_name (b, "mismatched");
  json_builder_add_int_value (b, repro->mismatched);
  json_builder_set_member_name (b, "mismatched_nondeterministic");
  json_builder_add_int_value (b, repro->mismatched_nondeterministic);
  json_builder_set_member_name (b, "missing");
  json_builder_add_int_value (b, repro->missing);
  json_builder_set_member_name (b, "tasks");
  json_builder_begin_array (b);
  for (guint i = 0; i < repro->tasks->len; i++)
    {
      const StrandReproducedTask *t = repro->tasks->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "sample");
      json_builder_add_string_value (b, t->sample);
      json_builder_set_member_name (b, "stage");
      json_builder_add_string_value (b, t->stage);
      json_builder_set_member_name (b, "deterministic");
      json_builder_add_boolean_value (b, t->deterministic);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, t->status);
      add_list (b, "recorded", t->recorded);
      add_list (b, "reproduced", t->reproduced);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
