/* Two runs compared stage by stage (run-diff.h). */
#include "run-diff.h"

#include <string.h>

static char *
stage_key (const StrandStageRun *sr)
{
  return g_strdup_printf ("%s\x1f%s", sr->sample ? sr->sample : "", sr->stage);
}

/* (sample, stage) -> its last attempt, and the keys in record order. */
static GHashTable *
last_attempts (const StrandRunRecords *run, GPtrArray *order)
{
  GHashTable *t = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < run->stage_runs->len; i++)
    {
      StrandStageRun *sr = run->stage_runs->pdata[i];
      char *key = stage_key (sr);
      if (!g_hash_table_contains (t, key) && order)
        g_ptr_array_add (order, g_strdup (key));
      g_hash_table_insert (t, key, sr); /* by seq: a later attempt replaces */
    }
  return t;
}

static void
pair (JsonObject *changes, const char *group, const char *name, const char *first,
      const char *second)
{
  JsonObject *target = changes;
  if (group != NULL)
    {
      if (!json_object_has_member (changes, group))
        json_object_set_object_member (changes, group, json_object_new ());
      target = json_object_get_object_member (changes, group);
    }
  JsonObject *p = json_object_new ();
  if (first)
    json_object_set_string_member (p, "first", first);
  else
    json_object_set_null_member (p, "first");
  if (second)
    json_object_set_string_member (p, "second", second);
  else
    json_object_set_null_member (p, "second");
  json_object_set_object_member (target, name, p);
}

static void
compare_value (JsonObject *changes, const char *group, const char *name, const char *a,
               const char *b)
{
  if (g_strcmp0 (a, b) != 0)
    pair (changes, group, name, a, b);
}

/* Name -> value maps of both sides compared member by member, in the order
 * the first side names them, then what only the second has. */
static void
compare_maps (JsonObject *changes, const char *group, GPtrArray *names_a, GHashTable *a,
              GPtrArray *names_b, GHashTable *b)
{
  for (guint i = 0; i < names_a->len; i++)
    {
      const char *n = names_a->pdata[i];
      compare_value (changes, group, n, g_hash_table_lookup (a, n), g_hash_table_lookup (b, n));
    }
  for (guint i = 0; i < names_b->len; i++)
    {
      const char *n = names_b->pdata[i];
      if (!g_hash_table_contains (a, n))
        compare_value (changes, group, n, NULL, g_hash_table_lookup (b, n));
    }
}

typedef struct {
  GPtrArray *names;
  GHashTable *values;
} Map;

static void
map_init (Map *m)
{
  m->names = g_ptr_array_new_with_free_func (g_free);
  m->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static void
map_clear (Map *m)
{
  g_ptr_array_unref (m->names);
  g_hash_table_unref (m->values);
}

static void
map_put (Map *m, const char *name, const char *value)
{
  if (!g_hash_table_contains (m->values, name))
    g_ptr_array_add (m->names, g_strdup (name));
  g_hash_table_insert (m->values, g_strdup (name), g_strdup (value));
}

static void
files_map (Map *m, GPtrArray *refs)
{
  map_init (m);
  for (guint i = 0; i < refs->len; i++)
    {
      const StrandRunFileRef *f = refs->pdata[i];
      map_put (m, f->name, f->entity->sha256);
    }
}

static void
params_map (Map *m, JsonObject *params)
{
  map_init (m);
  JsonObjectIter it;
  const char *name;
  JsonNode *value;
  json_object_iter_init (&it, params);
  while (json_object_iter_next (&it, &name, &value))
    map_put (m, name, json_node_get_string (value));
}

static void
tools_map (Map *m, GPtrArray *tools)
{
  map_init (m);
  for (guint i = 0; i < tools->len; i++)
    {
      const StrandRunTool *t = tools->pdata[i];
      g_autofree char *v = g_strdup_printf ("%s sha256:%s", t->version ? t->version : "(no version)",
                                            t->sha256);
      map_put (m, t->path, v);
    }
}

static void
compare_group (JsonObject *changes, const char *group, Map *a, Map *b)
{
  compare_maps (changes, group, a->names, a->values, b->names, b->values);
  map_clear (a);
  map_clear (b);
}

static JsonArray *
labels_only_in (GPtrArray *order, GHashTable *here, GHashTable *there)
{
  JsonArray *out = json_array_new ();
  for (guint i = 0; i < order->len; i++)
    if (!g_hash_table_contains (there, order->pdata[i]))
      {
        g_autofree char *label = strand_stage_run_label (g_hash_table_lookup (here, order->pdata[i]));
        json_array_add_string_element (out, label);
      }
  return out;
}

JsonNode *
strand_run_diff (const StrandRunRecords *first, const StrandRunRecords *second,
                 gboolean *identical_outputs)
{
  g_autoptr (GPtrArray) order_a = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) order_b = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) a = last_attempts (first, order_a);
  g_autoptr (GHashTable) b = last_attempts (second, order_b);
  gboolean same = TRUE;

  JsonObject *root = json_object_new ();
  json_object_set_string_member (root, "first", first->run_id);
  json_object_set_string_member (root, "second", second->run_id);
  JsonArray *only_a = labels_only_in (order_a, a, b);
  JsonArray *only_b = labels_only_in (order_b, b, a);
  same = same && json_array_get_length (only_a) == 0 && json_array_get_length (only_b) == 0;
  JsonArray *stages = json_array_new ();
  for (guint i = 0; i < order_a->len; i++)
    {
      const StrandStageRun *x = g_hash_table_lookup (a, order_a->pdata[i]);
      const StrandStageRun *y = g_hash_table_lookup (b, order_a->pdata[i]);
      if (y == NULL)
        continue;
      JsonObject *changes = json_object_new ();
      compare_value (changes, NULL, "plugin", x->plugin, y->plugin);
      compare_value (changes, NULL, "plugin_version", x->plugin_version, y->plugin_version);
      compare_value (changes, NULL, "plugin_sha256", x->plugin_sha256, y->plugin_sha256);
      compare_value (changes, NULL, "status", x->status, y->status);
      Map ma, mb;
      params_map (&ma, x->params);
      params_map (&mb, y->params);
      compare_group (changes, "params", &ma, &mb);
      files_map (&ma, x->inputs);
      files_map (&mb, y->inputs);
      compare_group (changes, "inputs", &ma, &mb);
      tools_map (&ma, x->tools);
      tools_map (&mb, y->tools);
      compare_group (changes, "tools", &ma, &mb);
      guint causes = json_object_get_size (changes);
      files_map (&ma, x->outputs);
      files_map (&mb, y->outputs);
      compare_group (changes, "outputs", &ma, &mb);
      gboolean outputs_changed = json_object_has_member (changes, "outputs");
      same = same && !outputs_changed;
      if (json_object_get_size (changes) == 0)
        {
          json_object_unref (changes);
          continue;
        }
      JsonObject *s = json_object_new ();
      if (x->sample)
        json_object_set_string_member (s, "sample", x->sample);
      else
        json_object_set_null_member (s, "sample");
      json_object_set_string_member (s, "stage", x->stage);
      json_object_set_boolean_member (s, "unexplained", outputs_changed && causes == 0);
      json_object_set_object_member (s, "changes", changes);
      json_array_add_object_element (stages, s);
    }
  json_object_set_boolean_member (root, "identical_outputs", same);
  json_object_set_array_member (root, "only_in_first", only_a);
  json_object_set_array_member (root, "only_in_second", only_b);
  json_object_set_array_member (root, "stages", stages);
  if (identical_outputs)
    *identical_outputs = same;
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, root);
  return node;
}

static const char *
side (JsonObject *p, const char *key)
{
  JsonNode *n = json_object_get_member (p, key);
  return n && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_string (n) : "(none)";
}

static void
format_pair (GString *out, const char *where, const char *what, JsonObject *p)
{
  g_string_append_printf (out, "  %s: %s: %s -> %s\n", where, what, side (p, "first"),
                          side (p, "second"));
}

char *
strand_run_diff_format (JsonNode *diff)
{
  JsonObject *root = json_node_get_object (diff);
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "--- %s\n+++ %s\n", json_object_get_string_member (root, "first"),
                          json_object_get_string_member (root, "second"));
  static const char *const groups[] = { "params", "inputs", "tools", "outputs" };
  static const char *const group_label[] = { "parameter", "input", "tool", "output" };
  JsonArray *only_a = json_object_get_array_member (root, "only_in_first");
  JsonArray *only_b = json_object_get_array_member (root, "only_in_second");
  for (guint i = 0; i < json_array_get_length (only_a); i++)
    g_string_append_printf (out, "  %s: only in the first run\n", json_array_get_string_element (only_a, i));
  for (guint i = 0; i < json_array_get_length (only_b); i++)
    g_string_append_printf (out, "  %s: only in the second run\n", json_array_get_string_element (only_b, i));
  JsonArray *stages = json_object_get_array_member (root, "stages");
  for (guint i = 0; i < json_array_get_length (stages); i++)
    {
      JsonObject *s = json_array_get_object_element (stages, i);
      JsonNode *sample = json_object_get_member (s, "sample");
      const char *stage = json_object_get_string_member (s, "stage");
      g_autofree char *where = JSON_NODE_HOLDS_NULL (sample)
                                   ? g_strdup (stage)
                                   : g_strdup_printf ("%s/%s", json_node_get_string (sample), stage);
      JsonObject *changes = json_object_get_object_member (s, "changes");
      static const char *const single[] = { "plugin", "plugin_version", "plugin_sha256", "status" };
      for (guint k = 0; k < G_N_ELEMENTS (single); k++)
        if (json_object_has_member (changes, single[k]))
          format_pair (out, where, single[k], json_object_get_object_member (changes, single[k]));
      for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
        {
          if (!json_object_has_member (changes, groups[g]))
            continue;
          JsonObject *members = json_object_get_object_member (changes, groups[g]);
          JsonObjectIter it;
          const char *name;
          JsonNode *value;
          json_object_iter_init (&it, members);
          while (json_object_iter_next (&it, &name, &value))
            {
              g_autofree char *what = g_strdup_printf ("%s %s", group_label[g], name);
              format_pair (out, where, what, json_node_get_object (value));
            }
        }
      if (json_object_get_boolean_member (s, "unexplained"))
        g_string_append_printf (out, "  %s: outputs changed with the same plugin, parameters, "
                                     "inputs and tools (a nondeterministic stage?)\n",
                                where);
    }
  g_string_append (out, json_object_get_boolean_member (root, "identical_outputs")
                            ? "outputs identical\n"
                            : "outputs differ\n");
  return g_string_free (out, FALSE);
}
