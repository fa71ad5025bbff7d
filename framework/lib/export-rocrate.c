/* RO-Crate with the Workflow Run Crate profiles (export-rocrate.h). */
#include "export-rocrate.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "clock.h"

G_DEFINE_QUARK (strand-export-error-quark, strand_export_error)

#define RO_CRATE "https://w3id.org/ro/crate/1.1"
#define WORKFLOW_RO_CRATE "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
#define PROCESS_RUN "https://w3id.org/ro/wfrun/process/0.5"
#define WORKFLOW_RUN "https://w3id.org/ro/wfrun/workflow/0.5"
#define PROVENANCE_RUN "https://w3id.org/ro/wfrun/provenance/0.5"

/* --- JSON-LD helpers ---------------------------------------------------------- */

static JsonObject *
ref (const char *id)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "@id", id);
  return o;
}

static void
set_ref (JsonObject *o, const char *key, const char *id)
{
  json_object_set_object_member (o, key, ref (id));
}

static void
add_ref (JsonArray *a, const char *id)
{
  json_array_add_object_element (a, ref (id));
}

static JsonObject *
entity (JsonArray *graph, const char *id, const char *type)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "@id", id);
  json_object_set_string_member (o, "@type", type);
  json_array_add_object_element (graph, o);
  return o;
}

static JsonObject *
entity_types (JsonArray *graph, const char *id, const char *const *types)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "@id", id);
  JsonArray *t = json_array_new ();
  for (guint i = 0; types[i]; i++)
    json_array_add_string_element (t, types[i]);
  json_object_set_array_member (o, "@type", t);
  json_array_add_object_element (graph, o);
  return o;
}

static void
set_string (JsonObject *o, const char *key, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, key, value);
}

static void
set_time (JsonObject *o, const char *key, gint64 us)
{
  if (us == G_MININT64 || us == G_MAXINT64)
    return;
  g_autofree char *text = strand_clock_format_rfc3339 (us);
  json_object_set_string_member (o, key, text);
}

/* --- where items go in the crate ------------------------------------------------ */

/* One path component from a name a plugin or a sheet chose: letters,
 * digits, '.', '-', '_' kept, anything else '_', and never "", "." or "..",
 * so a crafted name cannot leave the crate. */
static char *
safe_component (const char *text)
{
  GString *s = g_string_new (NULL);
  for (const char *p = text; p && *p; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) || *p == '.' || *p == '-' || *p == '_' ? *p : '_');
  if (s->len == 0 || strcmp (s->str, ".") == 0 || strcmp (s->str, "..") == 0)
    g_string_prepend_c (s, '_');
  return g_string_free (s, FALSE);
}

static char *
safe_relative (const char *name)
{
  g_auto (GStrv) parts = g_strsplit (name ? name : "item", "/", -1);
  GString *s = g_string_new (NULL);
  for (guint i = 0; parts[i]; i++)
    {
      if (parts[i][0] == '\0')
        continue;
      g_autofree char *c = safe_component (parts[i]);
      if (s->len)
        g_string_append_c (s, '/');
      g_string_append (s, c);
    }
  if (s->len == 0)
    g_string_append (s, "item");
  return g_string_free (s, FALSE);
}

/* data/SAMPLE/STAGE/PORT/FILE for what a stage made (SAMPLE "_run" for a
 * per-run stage), data/inputs/NAME for
 * the rest; a second item at the same place gets its digest's first 12
 * digits before the name. */
static GHashTable *
plan_paths (const StrandRunRecords *run)
{
  GHashTable *paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) taken = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < run->entities->len; i++)
    {
      const StrandRunEntity *e = run->entities->pdata[i];
      if (!e->in_store)
        continue;
      g_autofree char *rel = NULL;
      if (e->generated_by != NULL)
        {
          g_autofree char *stage = safe_component (e->generated_by->stage);
          g_autofree char *name = safe_relative (e->name);
          g_autofree char *sample = e->generated_by->sample ? safe_component (e->generated_by->sample) : NULL;
          /* "_run" cannot be a sample id, so a per-run stage's folder never
           * meets a sample's. */
          rel = g_strdup_printf ("data/%s/%s/%s", sample ? sample : "_run", stage, name);
        }
      else
        {
          g_autofree char *base = g_path_get_basename (e->path ? e->path : e->name ? e->name : "input");
          g_autofree char *name = safe_component (base);
          rel = g_strdup_printf ("data/inputs/%s", name);
        }
      if (g_hash_table_contains (taken, rel))
        {
          g_autofree char *dir = g_path_get_dirname (rel);
          g_autofree char *base = g_path_get_basename (rel);
          g_free (rel);
          rel = g_strdup_printf ("%s/%.12s-%s", dir, e->sha256, base);
        }
      char *key = g_strdup (e->sha256);
      char *value = g_strdup (rel);
      g_hash_table_insert (paths, key, value);
      g_hash_table_add (taken, value);
    }
  return paths;
}

static char *
file_id (const StrandRunEntity *e, GHashTable *paths)
{
  const char *rel = g_hash_table_lookup (paths, e->sha256);
  return rel ? g_strdup (rel) : g_strconcat ("#sha256-", e->sha256, NULL);
}

static char *
stage_run_id (const StrandStageRun *sr)
{
  return g_strdup_printf ("#stage-run-%" G_GUINT64_FORMAT, sr->seq);
}

static char *
plugin_id (const StrandStageRun *sr)
{
  return g_strconcat ("#plugin-", sr->plugin_sha256, NULL);
}

static char *
step_id (const char *stage)
{
  g_autofree char *safe = safe_component (stage);
  return g_strconcat ("#step-", safe, NULL);
}

static void
add_profile (JsonArray *graph, const char *id, const char *name, const char *version)
{
  JsonObject *p = entity (graph, id, "CreativeWork");
  json_object_set_string_member (p, "name", name);
  json_object_set_string_member (p, "version", version);
}

/* Is `e` used by some stage run of the run? */
static gboolean
used_in_run (const StrandRunRecords *run, const StrandRunEntity *e)
{
  for (guint i = 0; i < run->stage_runs->len; i++)
    {
      const StrandStageRun *sr = run->stage_runs->pdata[i];
      for (guint k = 0; k < sr->inputs->len; k++)
        if (((StrandRunFileRef *) sr->inputs->pdata[k])->entity == e)
          return TRUE;
    }
  return FALSE;
}

JsonNode *
strand_export_rocrate_metadata (const StrandRunRecords *run, GHashTable *paths_out)
{
  g_autoptr (GHashTable) paths = plan_paths (run);
  JsonArray *graph = json_array_new ();
  g_autofree char *run_action = g_strconcat ("#run-", run->run_id, NULL);
  const char *workflow = "#pipeline";

  JsonObject *descriptor = entity (graph, "ro-crate-metadata.json", "CreativeWork");
  set_ref (descriptor, "about", "./");
  JsonArray *dconf = json_array_new ();
  add_ref (dconf, RO_CRATE);
  add_ref (dconf, WORKFLOW_RO_CRATE);
  json_object_set_array_member (descriptor, "conformsTo", dconf);

  JsonObject *root = entity (graph, "./", "Dataset");
  g_autofree char *root_name = g_strdup_printf ("Strand run %s", run->run_id);
  json_object_set_string_member (root, "name", root_name);
  g_autofree char *root_desc = g_strdup_printf (
      "Run %s as its signed records in the Strand ledger describe it: %u stage runs, with the "
      "data they used and made. Every action names the ledger record it comes from "
      "(identifier: the record's SHA-256).",
      run->run_id, run->stage_runs->len);
  json_object_set_string_member (root, "description", root_desc);
  set_time (root, "datePublished", strand_clock_now_us ());
  JsonArray *rconf = json_array_new ();
  add_ref (rconf, PROCESS_RUN);
  add_ref (rconf, WORKFLOW_RUN);
  add_ref (rconf, PROVENANCE_RUN);
  add_ref (rconf, WORKFLOW_RO_CRATE);
  json_object_set_array_member (root, "conformsTo", rconf);
  set_ref (root, "mainEntity", workflow);
  JsonArray *mentions = json_array_new ();
  add_ref (mentions, run_action);
  json_object_set_array_member (root, "mentions", mentions);
  JsonArray *has_part = json_array_new ();
  json_object_set_array_member (root, "hasPart", has_part);

  add_profile (graph, PROCESS_RUN, "Process Run Crate", "0.5");
  add_profile (graph, WORKFLOW_RUN, "Workflow Run Crate", "0.5");
  add_profile (graph, PROVENANCE_RUN, "Provenance Run Crate", "0.5");
  add_profile (graph, WORKFLOW_RO_CRATE, "Workflow RO-Crate", "1.0");

  /* The pipeline, its steps and the plugins that implement them. */
  static const char *const wf_types[] = { "SoftwareSourceCode", "ComputationalWorkflow", "HowTo", NULL };
  JsonObject *wf = entity_types (graph, workflow, wf_types);
  g_autofree char *wf_name = g_strdup_printf ("The pipeline of run %s", run->run_id);
  json_object_set_string_member (wf, "name", wf_name);
  json_object_set_string_member (wf, "description",
                                 "The stages of the run and the plugin builds that ran them, as "
                                 "the ledger recorded them.");
  set_ref (wf, "programmingLanguage", "#strand-pipeline");
  JsonArray *wf_parts = json_array_new ();
  JsonArray *wf_steps = json_array_new ();
  json_object_set_array_member (wf, "hasPart", wf_parts);
  json_object_set_array_member (wf, "step", wf_steps);
  JsonObject *lang = entity (graph, "#strand-pipeline", "ComputerLanguage");
  json_object_set_string_member (lang, "name", "Strand pipeline");
  json_object_set_string_member (lang, "alternateName", "Strand");

  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint position = 0;
  for (guint i = 0; i < run->stage_runs->len; i++)
    {
      const StrandStageRun *sr = run->stage_runs->pdata[i];
      g_autofree char *pid = plugin_id (sr);
      if (!g_hash_table_contains (seen, pid))
        {
          JsonObject *app = entity (graph, pid, "SoftwareApplication");
          json_object_set_string_member (app, "name", sr->plugin);
          json_object_set_string_member (app, "softwareVersion", sr->plugin_version);
          json_object_set_string_member (app, "sha256", sr->plugin_sha256);
          set_string (app, "description", sr->plugin_path);
          add_ref (wf_parts, pid);
          g_hash_table_add (seen, g_strdup (pid));
        }
      g_autofree char *sid = step_id (sr->stage);
      if (!g_hash_table_contains (seen, sid))
        {
          JsonObject *step = entity (graph, sid, "HowToStep");
          json_object_set_string_member (step, "name", sr->stage);
          g_autofree char *pos = g_strdup_printf ("%u", position++);
          json_object_set_string_member (step, "position", pos);
          set_ref (step, "workExample", pid);
          add_ref (wf_steps, sid);
          g_hash_table_add (seen, g_strdup (sid));
        }
    }

  /* Strand itself, and the host that signed. */
  JsonObject *engine = entity (graph, "#strand", "SoftwareApplication");
  json_object_set_string_member (engine, "name", "Strand");
  json_object_set_string_member (engine, "description", "Host for genomic data pipelines");
  JsonObject *organize = entity (graph, "#strand-run", "OrganizeAction");
  g_autofree char *organize_name = g_strdup_printf ("Strand orchestrating run %s", run->run_id);
  json_object_set_string_member (organize, "name", organize_name);
  set_ref (organize, "instrument", "#strand");
  set_ref (organize, "result", run_action);
  set_time (organize, "startTime", run->started_us);
  set_time (organize, "endTime", run->finished_us);
  JsonArray *controls = json_array_new ();
  json_object_set_array_member (organize, "object", controls);
  if (run->builders->len > 0)
    {
      JsonArray *agents = json_array_new ();
      for (guint i = 0; i < run->builders->len; i++)
        {
          g_autofree char *hid = g_strconcat ("#", (char *) run->builders->pdata[i], NULL);
          add_ref (agents, hid);
          JsonObject *host = entity (graph, hid, "SoftwareApplication");
          g_autofree char *host_name = g_strdup_printf ("Strand host %s", (char *) run->builders->pdata[i]);
          json_object_set_string_member (host, "name", host_name);
          json_object_set_string_member (host, "identifier", run->builders->pdata[i]);
        }
      json_object_set_array_member (organize, "agent", agents);
    }

  /* The files. */
  for (guint i = 0; i < run->entities->len; i++)
    {
      const StrandRunEntity *e = run->entities->pdata[i];
      g_autofree char *fid = file_id (e, paths);
      JsonObject *f = entity (graph, fid, "File");
      g_autofree char *base = g_path_get_basename (e->name ? e->name : fid);
      json_object_set_string_member (f, "name", base);
      json_object_set_string_member (f, "sha256", e->sha256);
      set_string (f, "md5", e->md5);
      if (e->size >= 0)
        {
          g_autofree char *size = g_strdup_printf ("%" G_GINT64_FORMAT, e->size);
          json_object_set_string_member (f, "contentSize", size);
        }
      set_string (f, "encodingFormat", e->format);
      set_string (f, "alternateName", e->name);
      if (e->path)
        {
          g_autofree char *desc = g_strdup_printf ("ingested from %s", e->path);
          json_object_set_string_member (f, "description", desc);
        }
      if (!e->in_store)
        json_object_set_string_member (f, "description",
                                       "not in the store: only its digest is recorded, so it is "
                                       "not part of this crate");
      if (e->in_store)
        add_ref (has_part, fid);
    }

  /* The run as a whole. */
  JsonObject *action = entity (graph, run_action, "CreateAction");
  g_autofree char *action_name = g_strdup_printf ("Run %s", run->run_id);
  json_object_set_string_member (action, "name", action_name);
  set_ref (action, "instrument", workflow);
  set_time (action, "startTime", run->started_us);
  set_time (action, "endTime", run->finished_us);
  JsonArray *run_objects = json_array_new ();
  JsonArray *run_results = json_array_new ();
  gboolean all_ok = TRUE;
  for (guint i = 0; i < run->entities->len; i++)
    {
      const StrandRunEntity *e = run->entities->pdata[i];
      g_autofree char *fid = file_id (e, paths);
      if (e->generated_by == NULL)
        add_ref (run_objects, fid);
      else if (!used_in_run (run, e))
        add_ref (run_results, fid);
    }
  json_object_set_array_member (action, "object", run_objects);
  json_object_set_array_member (action, "result", run_results);

  /* Each stage run. */
  for (guint i = 0; i < run->stage_runs->len; i++)
    {
      const StrandStageRun *sr = run->stage_runs->pdata[i];
      g_autofree char *aid = stage_run_id (sr);
      g_autofree char *pid = plugin_id (sr);
      g_autofree char *label = strand_stage_run_label (sr);
      JsonObject *a = entity (graph, aid, "CreateAction");
      g_autofree char *name = g_strdup_printf ("%s, attempt %" G_GINT64_FORMAT, label, sr->attempt);
      json_object_set_string_member (a, "name", name);
      set_ref (a, "instrument", pid);
      set_time (a, "startTime", sr->started_us);
      set_time (a, "endTime", sr->finished_us);
      json_object_set_string_member (a, "identifier", sr->hash);
      gboolean ok = strcmp (sr->status, "ok") == 0;
      all_ok = all_ok && ok;
      set_ref (a, "actionStatus", ok ? "http://schema.org/CompletedActionStatus"
                                     : "http://schema.org/FailedActionStatus");
      if (!ok)
        {
          g_autofree char *why = g_strdup_printf ("%s%s%s", sr->status, sr->message ? ": " : "",
                                                  sr->message ? sr->message : "");
          json_object_set_string_member (a, "error", why);
        }
      JsonArray *objects = json_array_new ();
      for (guint k = 0; k < sr->inputs->len; k++)
        {
          g_autofree char *fid = file_id (((StrandRunFileRef *) sr->inputs->pdata[k])->entity, paths);
          add_ref (objects, fid);
        }
      JsonObjectIter it;
      const char *pname;
      JsonNode *value;
      json_object_iter_init (&it, sr->params);
      while (json_object_iter_next (&it, &pname, &value))
        {
          g_autofree char *safe = safe_component (pname);
          g_autofree char *pv_id = g_strdup_printf ("#stage-run-%" G_GUINT64_FORMAT "-param-%s", sr->seq, safe);
          JsonObject *pv = entity (graph, pv_id, "PropertyValue");
          json_object_set_string_member (pv, "name", pname);
          json_object_set_string_member (pv, "value", json_node_get_string (value));
          add_ref (objects, pv_id);
        }
      json_object_set_array_member (a, "object", objects);
      JsonArray *results = json_array_new ();
      for (guint k = 0; k < sr->outputs->len; k++)
        {
          g_autofree char *fid = file_id (((StrandRunFileRef *) sr->outputs->pdata[k])->entity, paths);
          add_ref (results, fid);
        }
      json_object_set_array_member (a, "result", results);

      g_autofree char *cid = g_strdup_printf ("#control-%" G_GUINT64_FORMAT, sr->seq);
      JsonObject *control = entity (graph, cid, "ControlAction");
      g_autofree char *cname = g_strdup_printf ("orchestrate %s", label);
      json_object_set_string_member (control, "name", cname);
      g_autofree char *sid = step_id (sr->stage);
      set_ref (control, "instrument", sid);
      set_ref (control, "object", aid);
      add_ref (controls, cid);
    }
  set_ref (action, "actionStatus", all_ok ? "http://schema.org/CompletedActionStatus"
                                          : "http://schema.org/FailedActionStatus");

  JsonObject *doc = json_object_new ();
  JsonArray *context = json_array_new ();
  json_array_add_string_element (context, RO_CRATE "/context");
  JsonObject *terms = json_object_new ();
  json_object_set_string_member (terms, "sha256", "https://w3id.org/ro/terms/workflow-run#sha256");
  json_object_set_string_member (terms, "md5", "urn:strand:ns:md5");
  json_array_add_object_element (context, terms);
  json_object_set_array_member (doc, "@context", context);
  json_object_set_array_member (doc, "@graph", graph);
  if (paths_out != NULL)
    {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init (&it, paths);
      while (g_hash_table_iter_next (&it, &k, &v))
        g_hash_table_insert (paths_out, g_strdup (k), g_strdup (v));
    }
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, doc);
  return node;
}

static gboolean
is_empty_dir (const char *dir, gboolean *exists)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  *exists = g_file_test (dir, G_FILE_TEST_EXISTS);
  if (d == NULL)
    return !*exists;
  return g_dir_read_name (d) == NULL;
}

gboolean
strand_export_rocrate (StrandProvenance *prov, const StrandRunRecords *run, const char *dir,
                       GError **error)
{
  gboolean exists;
  if (!is_empty_dir (dir, &exists))
    {
      g_set_error (error, STRAND_EXPORT_ERROR, STRAND_EXPORT_ERROR_NOT_EMPTY,
                   "%s is not an empty directory: a crate is written into a new one", dir);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, 0750) != 0)
    {
      int saved = errno;
      g_set_error (error, STRAND_EXPORT_ERROR, STRAND_EXPORT_ERROR_IO, "cannot create %s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  g_autoptr (GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (JsonNode) metadata = strand_export_rocrate_metadata (run, paths);
  GHashTableIter it;
  gpointer sha, rel;
  g_hash_table_iter_init (&it, paths);
  while (g_hash_table_iter_next (&it, &sha, &rel))
    {
      g_autofree char *dest = g_build_filename (dir, (char *) rel, NULL);
      g_autofree char *parent = g_path_get_dirname (dest);
      if (g_mkdir_with_parents (parent, 0750) != 0)
        {
          int saved = errno;
          g_set_error (error, STRAND_EXPORT_ERROR, STRAND_EXPORT_ERROR_IO, "cannot create %s: %s",
                       parent, g_strerror (saved));
          return FALSE;
        }
      if (!strand_provenance_materialize (prov, sha, dest, error))
        return FALSE;
    }
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, metadata);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  g_autofree char *path = g_build_filename (dir, "ro-crate-metadata.json", NULL);
  if (!g_file_set_contents (path, text, -1, error))
    return FALSE;
  return TRUE;
}
