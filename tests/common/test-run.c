#include "test-run.h"

#include <glib/gstdio.h>
#include <string.h>

#include "runner-cache.h"
#include "test-util.h"

/* ---- folders and text ---- */

char *
strand_test_fresh_dir (const char *parent, const char *name)
{
  static guint n = 0;
  g_autofree char *leaf = g_strdup_printf ("%s-%u", name, ++n);
  char *dir = g_build_filename (parent, leaf, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

char *
strand_test_subst (const char *text, const char *token, const char *value)
{
  g_auto (GStrv) parts = g_strsplit (text, token, -1);
  return g_strjoinv (value, parts);
}

JsonObject *
strand_test_parse_object (const char *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

/* ---- the library's side ---- */

StrandRegistry *
strand_test_registry (const char *dir, ...)
{
  StrandRegistry *registry = strand_registry_new ();
  va_list ap;
  va_start (ap, dir);
  for (const char *d = dir; d != NULL; d = va_arg (ap, const char *))
    strand_registry_add_dir (registry, d);
  va_end (ap);
  strand_registry_scan (registry);
  return registry;
}

StrandPipeline *
strand_test_pipeline (StrandRegistry *registry, const char *json, GPtrArray *samples)
{
  g_autoptr (GPtrArray) problems = strand_problems_new ();
  StrandPipeline *p = strand_pipeline_load_data (json, strlen (json), "test.json", problems);
  g_assert_nonnull (p);
  g_autoptr (GPtrArray) one = NULL;
  if (samples == NULL)
    samples = one = strand_test_samples (1);
  StrandValidateOptions checks = { .skip_data = TRUE };
  strand_validate (p, registry, samples, NULL, &checks, problems);
  for (guint i = 0; i < problems->len; i++)
    {
      const StrandProblem *pr = problems->pdata[i];
      if (!pr->warning)
        g_error ("%s: %s", pr->where, pr->message);
    }
  return p;
}

GPtrArray *
strand_test_samples (guint n)
{
  GPtrArray *samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("S%u", i + 1);
      g_ptr_array_add (samples, strand_sample_new (id));
    }
  return samples;
}

StrandProvenance *
strand_test_store (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_provenance_init (dir, &error));
  g_assert_no_error (error);
  StrandProvenance *prov = strand_provenance_open (dir, &error);
  g_assert_no_error (error);
  return prov;
}

StrandRun *
strand_test_run (StrandRegistry *registry, StrandPipeline *pipeline, GPtrArray *samples,
                 const char *store, const char *faults, const StrandRunOptions *options)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandProvenance) prov = strand_test_store (store);
  g_autoptr (StrandFaults) f = faults ? strand_faults_parse (faults, "test", &error) : NULL;
  g_assert_no_error (error);
  StrandRunOptions opt = options ? *options : (StrandRunOptions) { 0 };
  opt.faults = f;
  opt.registry = registry;
  if (opt.grace_us == 0)
    opt.grace_us = 200000;
  g_autofree char *runs = g_build_filename (store, "runs", NULL);
  StrandRun *run = strand_run_pipeline_with (pipeline, samples, prov, runs, &opt, &error);
  g_assert_no_error (error);
  g_assert_nonnull (run);
  return run;
}

StrandTaskRecord *
strand_test_task (StrandRun *run, const char *sample, const char *stage)
{
  for (guint i = 0; i < run->tasks->len; i++)
    {
      StrandTaskRecord *t = run->tasks->pdata[i];
      if (g_strcmp0 (t->sample_id, sample) == 0 && strcmp (t->stage_id, stage) == 0)
        return t;
    }
  g_error ("no task %s/%s", sample ? sample : "(run)", stage);
}

gboolean
strand_test_has_decision (StrandTaskRecord *task, const char *prefix)
{
  for (guint i = 0; i < task->decisions->len; i++)
    if (g_str_has_prefix (task->decisions->pdata[i], prefix))
      return TRUE;
  return FALSE;
}

char *
strand_test_digests (StrandRun *run, const char *sample)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < run->tasks->len; i++)
    {
      StrandTaskRecord *t = run->tasks->pdata[i];
      if (g_strcmp0 (t->sample_id, sample) != 0 || t->result == NULL ||
          (strcmp (t->status, "ok") != 0 && strcmp (t->status, "cached") != 0))
        continue;
      g_string_append_printf (s, "%s:", t->stage_id);
      for (guint k = 0; k < t->result->outputs->len; k++)
        g_string_append_printf (s, "%s,", ((StrandTaskOutput *) t->result->outputs->pdata[k])->sha256);
      g_string_append_c (s, ' ');
    }
  return g_string_free (s, FALSE);
}

/* ---- the command's side ---- */

int
strand_test_cli (const char *faults, char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) STRAND_CLI);
  va_list ap;
  va_start (ap, err);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = g_get_environ ();
  env = faults ? g_environ_setenv (env, "STRAND_FAULTS", faults, TRUE)
               : g_environ_unsetenv (env, "STRAND_FAULTS");
  return strand_test_spawn_argv (NULL, env, (const char *const *) argv->pdata, out, err);
}

char *
strand_test_cli_digests (const char *json_text, GHashTable *trees)
{
  g_autoptr (JsonObject) report = strand_test_parse_object (json_text);
  JsonArray *tasks = json_object_get_array_member (report, "tasks");
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (tasks); i++)
    {
      JsonObject *t = json_array_get_object_element (tasks, i);
      const char *sample = strand_statement_string (t, "sample");
      g_string_append_printf (s, "%s/%s:", sample ? sample : "_run", json_object_get_string_member (t, "stage"));
      JsonArray *outs = json_object_get_array_member (t, "outputs");
      for (guint k = 0; outs && k < json_array_get_length (outs); k++)
        {
          JsonObject *o = json_array_get_object_element (outs, k);
          const char *sha = json_object_get_string_member (o, "sha256");
          g_string_append_printf (s, "%s,", sha);
          if (trees && json_object_get_boolean_member (o, "tree"))
            g_hash_table_add (trees, g_strdup (sha));
        }
      g_string_append_c (s, ' ');
    }
  return g_string_free (s, FALSE);
}
