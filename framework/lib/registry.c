#include "registry.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"
#include "json-util.h"
#include "plugin-load.h"
#include "plugin-scan.h"

#ifndef STRAND_PLUGINDIR
#error "STRAND_PLUGINDIR must be defined by the build"
#endif

/* How long one plugin may take to load before it is reported as hung;
 * STRAND_SCAN_TIMEOUT_MS overrides it (tests use a short one). */
static guint
scan_timeout_ms (void)
{
  guint64 ms = 10000;
  const char *env = g_getenv ("STRAND_SCAN_TIMEOUT_MS");
  if (env != NULL)
    g_ascii_string_to_unsigned (env, 10, 1, 600000, &ms, NULL);
  return (guint) ms;
}
#define CACHE_FORMAT "strand-registry-cache"
#define CACHE_VERSION 1

typedef struct {
  char *dir;
  gboolean explicit_dir;
} SearchDir;

struct StrandRegistry {
  GPtrArray *dirs;     /* SearchDir */
  char *cache_file;
  GPtrArray *plugins;  /* StrandPluginInfo */
  GPtrArray *problems; /* StrandPluginProblem */
  guint cache_hits;
};

static void
search_dir_free (gpointer p)
{
  SearchDir *d = p;
  g_free (d->dir);
  g_free (d);
}

static void
problem_free (gpointer p)
{
  StrandPluginProblem *problem = p;
  g_free (problem->path);
  g_clear_error (&problem->error);
  g_free (problem);
}

StrandRegistry *
strand_registry_new (void)
{
  StrandRegistry *registry = g_new0 (StrandRegistry, 1);
  registry->dirs = g_ptr_array_new_with_free_func (search_dir_free);
  registry->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_plugin_info_free);
  registry->problems = g_ptr_array_new_with_free_func (problem_free);
  return registry;
}

void
strand_registry_free (StrandRegistry *registry)
{
  if (registry == NULL)
    return;
  g_ptr_array_unref (registry->dirs);
  g_ptr_array_unref (registry->plugins);
  g_ptr_array_unref (registry->problems);
  g_free (registry->cache_file);
  g_free (registry);
}

static void
add_dir (StrandRegistry *registry, const char *dir, gboolean explicit_dir)
{
  SearchDir *d = g_new0 (SearchDir, 1);
  d->dir = g_canonicalize_filename (dir, NULL);
  d->explicit_dir = explicit_dir;
  g_ptr_array_add (registry->dirs, d);
}

void
strand_registry_add_dir (StrandRegistry *registry, const char *dir)
{
  add_dir (registry, dir, TRUE);
}

void
strand_registry_add_default_dirs (StrandRegistry *registry)
{
  const char *env = g_getenv ("STRAND_PLUGIN_PATH");
  if (env != NULL)
    {
      g_auto (GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
      for (char **p = parts; *p; p++)
        if (**p)
          add_dir (registry, *p, FALSE);
    }
  add_dir (registry, STRAND_PLUGINDIR, FALSE);
}

void
strand_registry_set_cache_file (StrandRegistry *registry, const char *path)
{
  g_free (registry->cache_file);
  registry->cache_file = g_strdup (path);
}

char *
strand_registry_default_cache_file (void)
{
  const char *env = g_getenv ("STRAND_REGISTRY_CACHE");
  if (env != NULL)
    return *env ? g_strdup (env) : NULL;
  return g_build_filename (g_get_user_cache_dir (), "strand", "registry-v1.json", NULL);
}

static void
add_problem (StrandRegistry *registry, const char *path, GError *error)
{
  StrandPluginProblem *problem = g_new0 (StrandPluginProblem, 1);
  problem->path = g_strdup (path);
  problem->error = error;
  g_ptr_array_add (registry->problems, problem);
}

/* ---- cache ---------------------------------------------------------------- */

typedef struct {
  JsonObject *files;   /* path -> {dev, ino, size, mtime_ns, sha256} */
  JsonObject *results; /* sha256 -> scan result */
  gboolean enabled;    /* FALSE: no cache file; record nothing */
  gboolean dirty;
} Cache;

static void
cache_load (Cache *cache, const char *path)
{
  cache->files = json_object_new ();
  cache->results = json_object_new ();
  cache->enabled = path != NULL;
  if (path == NULL)
    return;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_mapped_file (parser, path, NULL))
    return; /* missing or unreadable: start afresh */
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObject *o = json_node_get_object (root);
  g_autofree char *abi = g_strdup_printf ("%d.%d", STRAND_ABI_MAJOR, STRAND_ABI_MINOR);
  if (g_strcmp0 (strand_json_string (o, "format", ""), CACHE_FORMAT) ||
      strand_json_int (o, "version", 0) != CACHE_VERSION ||
      g_strcmp0 (strand_json_string (o, "host_abi", ""), abi))
    return;
  JsonNode *files = json_object_get_member (o, "files");
  JsonNode *results = json_object_get_member (o, "results");
  if (files && JSON_NODE_HOLDS_OBJECT (files) && results && JSON_NODE_HOLDS_OBJECT (results))
    {
      json_object_unref (cache->files);
      json_object_unref (cache->results);
      cache->files = json_object_ref (json_node_get_object (files));
      cache->results = json_object_ref (json_node_get_object (results));
    }
}

static void
cache_save (Cache *cache, const char *path)
{
  if (path == NULL || !cache->dirty)
    return;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, CACHE_FORMAT);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, CACHE_VERSION);
  json_builder_set_member_name (b, "host_abi");
  g_autofree char *abi = g_strdup_printf ("%d.%d", STRAND_ABI_MAJOR, STRAND_ABI_MINOR);
  json_builder_add_string_value (b, abi);
  json_builder_set_member_name (b, "files");
  JsonNode *files = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (files, cache->files);
  json_builder_add_value (b, files);
  json_builder_set_member_name (b, "results");
  JsonNode *results = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (results, cache->results);
  json_builder_add_value (b, results);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);
  g_autofree char *dir = g_path_get_dirname (path);
  /* The cache only saves time: failing to write it is not an error. */
  if (g_mkdir_with_parents (dir, 0700) == 0)
    (void) g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL);
}

static void
cache_free (Cache *cache)
{
  json_object_unref (cache->files);
  json_object_unref (cache->results);
}

/* The file's digest, reused from the cache while its identity is unchanged. */
static char *
file_digest (Cache *cache, const char *path, const struct stat *st, GError **error)
{
  gint64 mtime_ns = (gint64) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
  JsonNode *entry = json_object_get_member (cache->files, path);
  if (entry != NULL && JSON_NODE_HOLDS_OBJECT (entry))
    {
      JsonObject *e = json_node_get_object (entry);
      const char *sha = strand_json_string (e, "sha256", NULL);
      if (strand_json_int (e, "dev", -1) == (gint64) st->st_dev &&
          strand_json_int (e, "ino", -1) == (gint64) st->st_ino &&
          strand_json_int (e, "size", -1) == (gint64) st->st_size &&
          strand_json_int (e, "mtime_ns", -1) == mtime_ns &&
          strand_sha256_hex_is_valid (sha))
        return g_strdup (sha);
    }
  char *sha = strand_sha256_file (path, NULL, error);
  if (sha == NULL || !cache->enabled)
    return sha;
  JsonObject *e = json_object_new ();
  json_object_set_int_member (e, "dev", (gint64) st->st_dev);
  json_object_set_int_member (e, "ino", (gint64) st->st_ino);
  json_object_set_int_member (e, "size", (gint64) st->st_size);
  json_object_set_int_member (e, "mtime_ns", mtime_ns);
  json_object_set_string_member (e, "sha256", sha);
  json_object_set_object_member (cache->files, path, e);
  cache->dirty = TRUE;
  return sha;
}

/* ---- scanning ------------------------------------------------------------- */

typedef struct {
  char *path;
  char *sha256;
  guint64 size;
} Candidate;

static void
candidate_free (gpointer p)
{
  Candidate *c = p;
  g_free (c->path);
  g_free (c->sha256);
  g_free (c);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Lists the plugin files of one directory in a stable order. */
static void
list_dir (StrandRegistry *registry, const SearchDir *d, GPtrArray *paths)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (d->dir, 0, &error);
  if (dir == NULL)
    {
      if (d->explicit_dir)
        add_problem (registry, d->dir,
                     g_error_new (STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE,
                                  "plugin directory cannot be read: %s", error->message));
      return;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".so") && name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    g_ptr_array_add (paths, g_build_filename (d->dir, names->pdata[i], NULL));
}

static int
compare_plugins (gconstpointer a, gconstpointer b)
{
  const StrandPluginInfo *pa = *(StrandPluginInfo *const *) a;
  const StrandPluginInfo *pb = *(StrandPluginInfo *const *) b;
  int c = g_strcmp0 (pa->name, pb->name);
  return c != 0 ? c : strand_version_compare (pa->version, pb->version);
}

/* Accepts a scanned plugin into the registry, or records why not. */
static void
admit (StrandRegistry *registry, GHashTable *seen, StrandScanResult *result,
       const Candidate *c)
{
  if (result->info == NULL)
    {
      add_problem (registry, c->path, g_steal_pointer (&result->error));
      return;
    }
  StrandPluginInfo *info = g_steal_pointer (&result->info);
  g_free (info->path);
  info->path = g_strdup (c->path);
  g_free (info->sha256);
  info->sha256 = g_strdup (c->sha256);
  info->file_size = c->size;

  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  if (!strand_plugin_info_check (info, problems))
    {
      /* One line per file: the first problem; `plugins check` lists them all. */
      GError *first = problems->pdata[0];
      g_autofree char *extra =
          problems->len > 1 ? g_strdup_printf (" (and %u more: run 'strand plugins check %s')",
                                               problems->len - 1, c->path)
                            : g_strdup ("");
      add_problem (registry, c->path,
                   g_error_new (STRAND_PLUGIN_ERROR, first->code, "%s%s", first->message, extra));
      strand_plugin_info_free (info);
      return;
    }
  g_autofree char *key = g_strdup_printf ("%s@%s", info->name, info->version);
  const char *earlier = g_hash_table_lookup (seen, key);
  if (earlier != NULL)
    {
      add_problem (registry, c->path,
                   g_error_new (STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_DUPLICATE,
                                "duplicate of %s %s already loaded from %s; this copy is ignored",
                                info->name, info->version, earlier));
      strand_plugin_info_free (info);
      return;
    }
  g_hash_table_insert (seen, g_steal_pointer (&key), g_strdup (c->path));
  g_ptr_array_add (registry->plugins, info);
}

void
strand_registry_scan (StrandRegistry *registry)
{
  g_ptr_array_set_size (registry->plugins, 0);
  g_ptr_array_set_size (registry->problems, 0);
  registry->cache_hits = 0;

  Cache cache = { 0 };
  cache_load (&cache, registry->cache_file);

  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < registry->dirs->len; i++)
    {
      const SearchDir *d = registry->dirs->pdata[i];
      /* The same directory twice on the path would only produce duplicates. */
      gboolean repeated = FALSE;
      for (guint j = 0; j < i; j++)
        repeated |= strcmp (((SearchDir *) registry->dirs->pdata[j])->dir, d->dir) == 0;
      if (!repeated)
        list_dir (registry, d, paths);
    }

  /* Hash everything; pre-open checks need no plugin code, so run them here. */
  g_autoptr (GPtrArray) candidates = g_ptr_array_new_with_free_func (candidate_free);
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = paths->pdata[i];
      struct stat st;
      GError *error = NULL;
      if (stat (path, &st) != 0)
        {
          add_problem (registry, path,
                       g_error_new (STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE,
                                    "cannot stat: %s", g_strerror (errno)));
          continue;
        }
      if (!strand_plugin_file_check (path, &error))
        {
          add_problem (registry, path, error);
          continue;
        }
      Candidate *c = g_new0 (Candidate, 1);
      c->path = g_strdup (path);
      c->size = (guint64) st.st_size;
      c->sha256 = file_digest (&cache, path, &st, &error);
      if (c->sha256 == NULL)
        {
          add_problem (registry, path,
                       g_error_new (STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE,
                                    "cannot read: %s", error->message));
          g_error_free (error);
          candidate_free (c);
          continue;
        }
      g_ptr_array_add (candidates, c);
    }

  /* Results from the cache; scan only what it lacks, in one scanner run. */
  g_autoptr (GPtrArray) results = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_scan_result_free);
  g_ptr_array_set_size (results, candidates->len);
  g_autoptr (GPtrArray) to_scan = g_ptr_array_new ();
  g_autoptr (GArray) to_scan_index = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < candidates->len; i++)
    {
      Candidate *c = candidates->pdata[i];
      StrandScanResult *cached =
          strand_scan_result_from_json (c->path, json_object_get_member (cache.results, c->sha256));
      if (cached != NULL)
        {
          results->pdata[i] = cached;
          registry->cache_hits++;
          continue;
        }
      g_ptr_array_add (to_scan, c->path);
      g_array_append_val (to_scan_index, i);
    }
  if (to_scan->len > 0)
    {
      g_autoptr (GPtrArray) scanned =
          strand_plugin_scan ((const char *const *) to_scan->pdata, to_scan->len, scan_timeout_ms ());
      for (guint k = 0; k < scanned->len; k++)
        {
          guint i = g_array_index (to_scan_index, guint, k);
          StrandScanResult *r = g_steal_pointer (&scanned->pdata[k]);
          if (r->cacheable && cache.enabled)
            {
              json_object_set_member (cache.results,
                                      ((Candidate *) candidates->pdata[i])->sha256,
                                      strand_scan_result_to_json (r));
              cache.dirty = TRUE;
            }
          results->pdata[i] = r;
        }
    }

  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < candidates->len; i++)
    admit (registry, seen, results->pdata[i], candidates->pdata[i]);
  g_ptr_array_sort (registry->plugins, compare_plugins);

  cache_save (&cache, registry->cache_file);
  cache_free (&cache);
}

GPtrArray *
strand_registry_plugins (StrandRegistry *registry)
{
  return registry->plugins;
}

GPtrArray *
strand_registry_problems (StrandRegistry *registry)
{
  return registry->problems;
}

guint
strand_registry_cache_hits (StrandRegistry *registry)
{
  return registry->cache_hits;
}

/* ---- versions ------------------------------------------------------------- */

static gboolean
satisfies_one (const char *version, const char *clause, gboolean *well_formed)
{
  const char *ops[] = { ">=", "<=", ">", "<", "=", "^", "" };
  const char *op = "";
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    if (g_str_has_prefix (clause, ops[i]))
      {
        op = ops[i];
        break;
      }
  const char *want = clause + strlen (op);
  guint64 v[3];
  g_autofree char *full = NULL;
  /* "^1.2" and ">=1" are shorthand for 1.2.0 and 1.0.0. */
  int dots = 0;
  for (const char *p = want; *p; p++)
    dots += *p == '.';
  full = dots == 0 ? g_strconcat (want, ".0.0", NULL)
                   : dots == 1 ? g_strconcat (want, ".0", NULL) : g_strdup (want);
  if (!strand_version_parse (full, v))
    {
      *well_formed = FALSE;
      return FALSE;
    }
  if (version == NULL)
    return FALSE;
  int c = strand_version_compare (version, full);
  if (strcmp (op, ">=") == 0)
    return c >= 0;
  if (strcmp (op, "<=") == 0)
    return c <= 0;
  if (strcmp (op, ">") == 0)
    return c > 0;
  if (strcmp (op, "<") == 0)
    return c < 0;
  if (strcmp (op, "^") == 0)
    {
      guint64 have[3];
      return c >= 0 && strand_version_parse (version, have) && have[0] == v[0];
    }
  return c == 0;
}

static gboolean
evaluate_constraint (const char *version, const char *constraint, gboolean *well_formed)
{
  *well_formed = TRUE;
  if (constraint == NULL || *constraint == '\0')
    return TRUE;
  g_auto (GStrv) clauses = g_strsplit (constraint, ",", -1);
  gboolean ok = TRUE;
  for (char **c = clauses; *c; c++)
    {
      g_strstrip (*c);
      ok &= satisfies_one (version, *c, well_formed);
    }
  return ok && *well_formed;
}

gboolean
strand_version_constraint_valid (const char *constraint)
{
  gboolean well_formed;
  evaluate_constraint (NULL, constraint, &well_formed);
  return well_formed;
}

gboolean
strand_version_satisfies (const char *version, const char *constraint)
{
  gboolean well_formed;
  return evaluate_constraint (version, constraint, &well_formed);
}

const StrandPluginInfo *
strand_registry_lookup (StrandRegistry *registry, const char *name, const char *constraint)
{
  const StrandPluginInfo *best = NULL;
  for (guint i = 0; i < registry->plugins->len; i++)
    {
      const StrandPluginInfo *p = registry->plugins->pdata[i];
      if (g_strcmp0 (p->name, name) == 0 && strand_version_satisfies (p->version, constraint))
        best = p; /* sorted ascending: the last match is the newest */
    }
  return best;
}

/* ---- one file ------------------------------------------------------------- */

StrandPluginInfo *
strand_registry_check_file (const char *path, GPtrArray *problems)
{
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  const char *paths[] = { abs };
  g_autoptr (GPtrArray) results = strand_plugin_scan (paths, 1, scan_timeout_ms ());
  StrandScanResult *r = results->pdata[0];
  if (r->info == NULL)
    {
      g_ptr_array_add (problems, g_steal_pointer (&r->error));
      return NULL;
    }
  StrandPluginInfo *info = g_steal_pointer (&r->info);
  g_free (info->path);
  info->path = g_strdup (abs);
  g_autoptr (GError) error = NULL;
  info->sha256 = strand_sha256_file (abs, &info->file_size, &error);
  strand_plugin_info_check (info, problems);
  return info;
}
