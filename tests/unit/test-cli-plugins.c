/* The `strand plugins` command from the user's side: argv in (never through
 * a shell), exit status and output back. 0 success, 1 the thing checked is
 * bad, 2 usage error. `plugins inspect --json` output is validated against
 * schemas/plugin-inspect.schema.json with python3-jsonschema. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <strand/abi.h>
#include <sys/wait.h>

#include "test-util.h"

#ifndef STRAND_CLI
#error "STRAND_CLI must be defined by the build"
#endif
#ifndef STRAND_FIXTURE_DIR
#error "STRAND_FIXTURE_DIR must be defined by the build"
#endif

#define HOST_ABI G_STRINGIFY (STRAND_ABI_MAJOR) "." G_STRINGIFY (STRAND_ABI_MINOR)
#define SCHEMA STRAND_SOURCE_ROOT "/schemas/plugin-inspect.schema.json"
#define PYTHON "/usr/bin/python3"

/* ---- helpers -------------------------------------------------------------- */

typedef struct {
  int status; /* exit status */
  char *out;
  char *err;
} Result;

static void
result_free (Result *r)
{
  g_free (r->out);
  g_free (r->err);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Result, result_free)

/* Runs argv (argv[0] an absolute path) with the test environment and returns
 * what it did. The process must exit, not die of a signal. */
static Result *
spawn (const char *const *argv)
{
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "STRAND_SCAN_TIMEOUT_MS", "500", TRUE);
  env = g_environ_setenv (env, "STRAND_PLUGIN_PATH", "", TRUE);
  env = g_environ_setenv (env, "STRAND_REGISTRY_CACHE", "", TRUE);
  g_autoptr (GString) cmdline = g_string_new (NULL);
  for (const char *const *a = argv; *a; a++)
    {
      gsize len = strlen (*a);
      g_string_append_printf (cmdline, "%s%.*s%s", a == argv ? "" : " ", (int) MIN (len, 100),
                              *a, len > 100 ? "[...]" : "");
    }
  g_test_message ("$ %s", cmdline->str);

  Result *r = g_new0 (Result, 1);
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &r->out, &r->err,
                &wait_status, &error);
  g_assert_no_error (error);
  if (*r->out)
    g_test_message ("stdout:\n%.4000s%s", r->out, strlen (r->out) > 4000 ? "[...]" : "");
  if (*r->err)
    g_test_message ("stderr:\n%s", r->err);
  if (!WIFEXITED (wait_status))
    g_error ("%s died of signal %d", cmdline->str, WTERMSIG (wait_status));
  r->status = WEXITSTATUS (wait_status);
  return r;
}

/* Runs the strand command with the NULL-terminated arguments. */
static Result *G_GNUC_NULL_TERMINATED
strand (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) STRAND_CLI);
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return spawn ((const char *const *) argv->pdata);
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("expected \"%s\" in:\n%s", needle, haystack);
}

static guint
count_occurrences (const char *haystack, const char *needle)
{
  guint n = 0;
  for (const char *p = strstr (haystack, needle); p; p = strstr (p + 1, needle))
    n++;
  return n;
}

static char *
fixture_so (const char *name)
{
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  return g_build_filename (STRAND_FIXTURE_DIR, file, NULL);
}

typedef struct {
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("strand-test-cli-XXXXXX", &error);
  g_assert_no_error (error);
  f->dir = g_canonicalize_filename (dir, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
write_file (const char *dir, const char *name, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0755,
                            &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
  return path;
}

static char *
copy_fixture (const char *fixture, const char *dir)
{
  g_autofree char *src = fixture_so (fixture);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (src, &contents, &len, &error);
  g_assert_no_error (error);
  g_autofree char *name = g_strconcat (fixture, ".so", NULL);
  return write_file (dir, name, contents, len);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/* ---- version and usage ---------------------------------------------------- */

static void
test_version (void)
{
  g_autoptr (Result) r = strand ("--version", NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_true (g_str_has_prefix (r->out, "strand "));
  assert_contains (r->out, "plugin ABI " HOST_ABI ")");
  g_assert_cmpstr (r->err, ==, "");
}

static void
test_usage_errors (void)
{
  g_autoptr (Result) none = strand (NULL, NULL);
  g_assert_cmpint (none->status, ==, 2);
  assert_contains (none->err, "Usage: strand COMMAND");

  g_autoptr (Result) unknown = strand ("frobnicate", NULL);
  g_assert_cmpint (unknown->status, ==, 2);
  assert_contains (unknown->err, "unknown command 'frobnicate'");

  g_autoptr (Result) bare = strand ("plugins", NULL);
  g_assert_cmpint (bare->status, ==, 2);
  assert_contains (bare->err, "list, inspect, check");

  g_autoptr (Result) sub = strand ("plugins", "frobnicate", NULL);
  g_assert_cmpint (sub->status, ==, 2);
  assert_contains (sub->err, "unknown plugins subcommand 'frobnicate'");
  g_assert_cmpstr (sub->out, ==, "");

  g_autoptr (Result) option = strand ("plugins", "list", "--no-such-option", NULL);
  g_assert_cmpint (option->status, ==, 2);
  assert_contains (option->err, "no-such-option");

  g_autoptr (Result) extra = strand ("plugins", "list", "surplus", NULL);
  g_assert_cmpint (extra->status, ==, 2);

  g_autoptr (Result) check = strand ("plugins", "check", NULL);
  g_assert_cmpint (check->status, ==, 2);

  g_autoptr (Result) inspect = strand ("plugins", "inspect", NULL);
  g_assert_cmpint (inspect->status, ==, 2);

  g_autoptr (Result) help = strand ("--help", NULL);
  g_assert_cmpint (help->status, ==, 0);
  assert_contains (help->out, "plugins list");
}

/* ---- plugins list --------------------------------------------------------- */

static const char *const list_good[] = { "good", "full" };
static const struct {
  const char *fixture;
  const char *code;
} list_bad[] = {
  { "bad-magic", "bad-magic" },
  { "abi-major-2", "abi-major-mismatch" },
  { "invalid-fields", "invalid-field" },
  { "ctor-segv", "load-crashed" },
  { "unknown-format", "unknown-format" },
};

static void
test_list (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (list_good); i++)
    g_free (copy_fixture (list_good[i], f->dir));
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (list_bad); i++)
    g_ptr_array_add (bad, copy_fixture (list_bad[i].fixture, f->dir));
  static const char text[] = "not a plugin\n";
  g_ptr_array_add (bad, write_file (f->dir, "x.so", text, sizeof text - 1));

  g_autoptr (Result) r = strand ("plugins", "list", "-P", f->dir, "--no-cache", NULL);
  g_assert_cmpint (r->status, ==, 0);

  /* stdout: the good plugins and a summary. */
  g_auto (GStrv) out_lines = g_strsplit (r->out, "\n", -1);
  guint listed = 0;
  for (char **l = out_lines; *l; l++)
    if (g_str_has_prefix (*l, "fixture-good ") || g_str_has_prefix (*l, "fixture-full "))
      listed++;
  g_assert_cmpuint (listed, ==, 2);
  assert_contains (r->out, "A good, minimal fixture plugin");
  g_autofree char *summary = g_strdup_printf ("2 plugins, %u files refused", bad->len);
  assert_contains (r->out, summary);
  /* The refused never appear among the plugins. */
  g_assert_null (strstr (r->out, "fixture-bad-magic"));
  g_assert_null (strstr (r->out, "fixture-ctor-segv"));

  /* stderr: exactly one line per refused file, naming it and the reason. */
  g_auto (GStrv) err_lines = g_strsplit (r->err, "\n", -1);
  guint n_err = 0;
  for (char **l = err_lines; *l; l++)
    if (**l)
      n_err++;
  g_assert_cmpuint (n_err, ==, bad->len);
  for (guint i = 0; i < bad->len; i++)
    {
      g_autofree char *prefix = g_strdup_printf ("strand: plugin %s: ", (char *) bad->pdata[i]);
      const char *line = NULL;
      for (char **l = err_lines; *l; l++)
        if (g_str_has_prefix (*l, prefix))
          {
            g_assert_null (line);
            line = *l;
          }
      if (line == NULL)
        g_error ("no stderr line for %s", (char *) bad->pdata[i]);
      g_autofree char *code = g_strdup_printf (
          "[%s]", i < G_N_ELEMENTS (list_bad) ? list_bad[i].code : "not-shared-object");
      g_assert_true (g_str_has_suffix (line, code));
    }
  for (guint i = 0; i < G_N_ELEMENTS (list_good); i++)
    {
      g_autofree char *name = g_strconcat ("/", list_good[i], ".so", NULL);
      g_assert_null (strstr (r->err, name));
    }
}

static void
test_list_json (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir);
  g_autofree char *bad = copy_fixture ("bad-magic", f->dir);
  g_autoptr (Result) r =
      strand ("plugins", "list", "--json", "-P", f->dir, "--no-cache", NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_cmpstr (r->err, ==, ""); /* with --json, problems are in the JSON */
  g_autoptr (JsonNode) root = parse_json (r->out);
  JsonObject *o = json_node_get_object (root);
  JsonArray *plugins = json_object_get_array_member (o, "plugins");
  JsonArray *refused = json_object_get_array_member (o, "refused");
  g_assert_cmpuint (json_array_get_length (plugins), ==, 1);
  g_assert_cmpuint (json_array_get_length (refused), ==, 1);
  JsonObject *p = json_array_get_object_element (plugins, 0);
  g_assert_cmpstr (json_object_get_string_member (p, "name"), ==, "fixture-good");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (p, "file"),
                                                  "path"),
                   ==, good);
  JsonObject *x = json_array_get_object_element (refused, 0);
  g_assert_cmpstr (json_object_get_string_member (x, "path"), ==, bad);
  g_assert_cmpstr (json_object_get_string_member (x, "code"), ==, "bad-magic");
  assert_contains (json_object_get_string_member (x, "message"), "0xdeadbeef");
}

/* ---- plugins check -------------------------------------------------------- */

static void
test_check_good (void)
{
  g_autofree char *good = fixture_so ("good");
  g_autofree char *full = fixture_so ("full");
  g_autoptr (Result) r = strand ("plugins", "check", good, NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_autofree char *line = g_strdup_printf ("%s: ok: fixture-good 0.1.0, ABI " HOST_ABI "\n", good);
  g_assert_cmpstr (r->out, ==, line);

  g_autoptr (Result) two = strand ("plugins", "check", good, full, NULL);
  g_assert_cmpint (two->status, ==, 0);
  g_assert_cmpuint (count_occurrences (two->out, ": ok: "), ==, 2);
  assert_contains (two->out, "fixture-full 1.2.3-rc.1+build.5");
}

static void
test_check_bad (void)
{
  g_autofree char *bad = fixture_so ("invalid-fields");
  g_autoptr (Result) r = strand ("plugins", "check", bad, NULL);
  g_assert_cmpint (r->status, ==, 1);
  /* Every problem, one line each. */
  const char *problems[] = {
    "name 'Bad Name' is not",
    "version '1.0' is not a semantic version",
    "input port 'reads' is declared twice",
    "param 'threads': min 8 is above max 1",
    "param 'level': default 12 is above the maximum 9",
  };
  g_autofree char *prefix = g_strdup_printf ("%s: invalid-field: ", bad);
  g_auto (GStrv) lines = g_strsplit (r->out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (problems) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (problems); i++)
    {
      guint found = 0;
      for (char **l = lines; *l; l++)
        if (g_str_has_prefix (*l, prefix) && strstr (*l, problems[i]))
          found++;
      if (found != 1)
        g_error ("expected one line with \"%s\", found %u", problems[i], found);
    }
  g_assert_null (strstr (r->out, ": ok: "));

  /* The same as JSON. */
  g_autoptr (Result) j = strand ("plugins", "check", "--json", bad, NULL);
  g_assert_cmpint (j->status, ==, 1);
  g_autoptr (JsonNode) root = parse_json (j->out);
  JsonArray *files = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (files), ==, 1);
  JsonObject *file = json_array_get_object_element (files, 0);
  g_assert_false (json_object_get_boolean_member (file, "ok"));
  JsonArray *list = json_object_get_array_member (file, "problems");
  g_assert_cmpuint (json_array_get_length (list), ==, G_N_ELEMENTS (problems));
  for (guint i = 0; i < G_N_ELEMENTS (problems); i++)
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (list, i), "code"), ==,
        "invalid-field");
  /* The descriptor was read, so its description comes with the problems. */
  JsonObject *plugin = json_object_get_object_member (file, "plugin");
  g_assert_cmpstr (json_object_get_string_member (plugin, "name"), ==, "Bad Name");
}

static void
test_check_refused (void)
{
  const struct {
    const char *fixture;
    const char *code;
    const char *detail;
  } cases[] = {
    { "bad-magic", "bad-magic", "0xdeadbeef" },
    { "abi-major-0", "abi-major-mismatch", "ABI 0.0" },
    { "abi-minor-newer", "abi-minor-too-new", "newer than this host's " HOST_ABI },
    { "no-entry", "missing-entry-symbol", "strand_stage_entry" },
    { "unknown-format", "unknown-format", "'sff'" },
    { "ctor-segv", "load-crashed", "signal 11" },
    { "ctor-hang", "load-crashed", "hung" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = fixture_so (cases[i].fixture);
      g_autoptr (Result) r = strand ("plugins", "check", path, NULL);
      g_assert_cmpint (r->status, ==, 1);
      g_autofree char *prefix = g_strdup_printf ("%s: %s: ", path, cases[i].code);
      g_assert_true (g_str_has_prefix (r->out, prefix));
      assert_contains (r->out, cases[i].detail);
    }

  /* One bad file among good ones fails the whole check, and each file gets
   * its answer. */
  g_autofree char *good = fixture_so ("good");
  g_autofree char *bad = fixture_so ("bad-magic");
  g_autofree char *missing = g_build_filename (STRAND_FIXTURE_DIR, "no-such-file.so", NULL);
  g_autoptr (Result) mixed = strand ("plugins", "check", good, bad, missing, NULL);
  g_assert_cmpint (mixed->status, ==, 1);
  g_autofree char *ok = g_strdup_printf ("%s: ok: ", good);
  g_autofree char *refused = g_strdup_printf ("%s: bad-magic: ", bad);
  g_autofree char *absent = g_strdup_printf ("%s: not-regular-file: ", missing);
  assert_contains (mixed->out, ok);
  assert_contains (mixed->out, refused);
  assert_contains (mixed->out, absent);
}

/* ---- plugins inspect ------------------------------------------------------ */

/* Validates each "valid:PATH" / "invalid:PATH" argument against the schema
 * (after checking the schema itself); exits 1 when any answer differs. */
static const char validate_py[] =
  "import json, sys\n"
  "from jsonschema import Draft202012Validator\n"
  "schema = json.load(open(sys.argv[1]))\n"
  "Draft202012Validator.check_schema(schema)\n"
  "validator = Draft202012Validator(schema)\n"
  "wrong = 0\n"
  "for arg in sys.argv[2:]:\n"
  "    want, path = arg.split(':', 1)\n"
  "    with open(path) as f:\n"
  "        doc = json.load(f)\n"
  "    errors = list(validator.iter_errors(doc))\n"
  "    if want == 'valid' and errors:\n"
  "        wrong += 1\n"
  "        for e in errors:\n"
  "            print('%s: /%s: %s' % (path, '/'.join(map(str, e.absolute_path)), e.message))\n"
  "    elif want == 'invalid' and not errors:\n"
  "        wrong += 1\n"
  "        print('%s: accepted, but it should not be' % path)\n"
  "    else:\n"
  "        print('%s: %s, as expected' % (path, want))\n"
  "sys.exit(1 if wrong else 0)\n";

static char *
inspect_json (const char *dir, const char *name)
{
  g_autoptr (Result) r =
      strand ("plugins", "inspect", name, "--json", "-P", dir, "--no-cache", NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_autoptr (JsonNode) node = parse_json (r->out);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "name"), ==,
                   name);
  return g_steal_pointer (&r->out);
}

/* Sets (or with value NULL removes) the member at a slash-separated path of
 * object keys and array indexes. */
static void
json_set_path (JsonNode *root, const char *path, const char *value)
{
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", -1);
  guint n = g_strv_length (parts);
  JsonNode *node = root;
  for (guint i = 0; i + 1 < n; i++)
    {
      if (JSON_NODE_HOLDS_ARRAY (node))
        node = json_array_get_element (json_node_get_array (node),
                                       (guint) g_ascii_strtoull (parts[i], NULL, 10));
      else
        node = json_object_get_member (json_node_get_object (node), parts[i]);
      g_assert_nonnull (node);
    }
  JsonObject *parent = json_node_get_object (node);
  if (value == NULL)
    {
      g_assert_true (json_object_has_member (parent, parts[n - 1]));
      json_object_remove_member (parent, parts[n - 1]);
    }
  else
    json_object_set_member (parent, parts[n - 1], parse_json (value));
}

static void
test_inspect_schema (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (args, g_strdup (PYTHON));
  g_ptr_array_add (args, g_strdup ("-c"));
  g_ptr_array_add (args, g_strdup (validate_py));
  g_ptr_array_add (args, g_strdup (SCHEMA));

  /* Every shipped plugin, as the list command finds them. */
  g_autoptr (Result) list =
      strand ("plugins", "list", "--json", "-P", STRAND_PLUGIN_BUILD_DIR, "--no-cache", NULL);
  g_assert_cmpint (list->status, ==, 0);
  g_autoptr (JsonNode) list_root = parse_json (list->out);
  JsonArray *shipped = json_object_get_array_member (json_node_get_object (list_root), "plugins");
  g_assert_cmpuint (json_array_get_length (shipped), >=, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_node_get_object (list_root), "refused")),
                    ==, 0);
  for (guint i = 0; i < json_array_get_length (shipped); i++)
    {
      const char *name =
          json_object_get_string_member (json_array_get_object_element (shipped, i), "name");
      g_autofree char *text = inspect_json (STRAND_PLUGIN_BUILD_DIR, name);
      g_autofree char *file = g_strconcat ("shipped-", name, ".json", NULL);
      g_autofree char *path = write_file (f->dir, file, text, strlen (text));
      g_ptr_array_add (args, g_strconcat ("valid:", path, NULL));
    }

  /* Fixtures that use every member, and an older, shorter descriptor. */
  g_autofree char *plugins = g_build_filename (f->dir, "plugins", NULL);
  g_assert_cmpint (g_mkdir (plugins, 0755), ==, 0);
  g_free (copy_fixture ("full", plugins));
  g_free (copy_fixture ("abi-minor-older", plugins));
  g_autofree char *full_text = inspect_json (plugins, "fixture-full");
  g_autofree char *full_path = write_file (f->dir, "fixture-full.json", full_text,
                                           strlen (full_text));
  g_ptr_array_add (args, g_strconcat ("valid:", full_path, NULL));
  g_autofree char *older_text = inspect_json (plugins, "fixture-older");
  g_autofree char *older_path = write_file (f->dir, "fixture-older.json", older_text,
                                            strlen (older_text));
  g_ptr_array_add (args, g_strconcat ("valid:", older_path, NULL));

  /* Negative controls: the schema is strict, so each of these one-member
   * changes to a valid document must be rejected. */
  const char *mutations[][2] = {
    { "/surplus", "1" },
    { "/file", NULL },
    { "/file/sha256", "\"AB260B8C6653D4E1D7BB52D09BF8F675C0E5D544E20C7C5B70C55796A76E5FC7\"" },
    { "/file/sha256", "\"ab260b8c\"" },
    { "/file/sha256", "null" },
    { "/file/path", "\"relative/fixture-full.so\"" },
    { "/name", "\"Fixture-Full\"" },
    { "/version", "\"1.2\"" },
    { "/version", "\"01.2.3\"" },
    { "/description", "\"\"" },
    { "/deterministic", "\"yes\"" },
    { "/abi/minor", "\"0\"" },
    { "/abi/surplus", "0" },
    { "/inputs/0/formats", "\"fastq,sff\"" },
    { "/inputs/0/formats", "\"\"" },
    { "/inputs/0/surplus", "true" },
    { "/inputs/0/optional", NULL },
    { "/params/0/type", "\"float\"" },
    { "/params/0/type", "2" },
    { "/params/0/default", "\"four\"" },
    { "/params/2/choices", NULL },
    { "/params/2/choices", "[]" },
    { "/params/3/default", "\"/ref/index\"" },
    { "/params/4/default", "\"yes\"" },
    { "/params/5/min", "1" },
    { "/params/1/max", "\"2\"" },
    { "/resources/cores", "-1" },
    { "/resources/equipment_class", "\"GPU node\"" },
    { "/resources/expected_seconds", "-1" },
    { "/error_policy/0/error_class", "\"none\"" },
    { "/error_policy/0/action", "\"explode\"" },
    { "/error_policy/0/max_attempts", "0" },
    { "/error_policy/1/escalate_factor", "0.5" },
    { "/error_policy/3/fallback_plugin", "null" },
    { "/callbacks/run", "false" },
    { "/callbacks/surplus", "true" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (mutations); i++)
    {
      g_autoptr (JsonNode) doc = parse_json (full_text);
      json_set_path (doc, mutations[i][0], mutations[i][1]);
      g_autofree char *text = json_to_string (doc, TRUE);
      g_autofree char *name = g_strdup_printf ("invalid-%02u.json", i);
      g_autofree char *path = write_file (f->dir, name, text, strlen (text));
      g_test_message ("%s: %s = %s", name, mutations[i][0],
                      mutations[i][1] ? mutations[i][1] : "(removed)");
      g_ptr_array_add (args, g_strconcat ("invalid:", path, NULL));
    }
  g_ptr_array_add (args, NULL);

  g_autoptr (Result) r = spawn ((const char *const *) args->pdata);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_cmpuint (count_occurrences (r->out, ", as expected\n"), ==, args->len - 5);
}

static void
test_inspect (void)
{
  g_autoptr (Result) r =
      strand ("plugins", "inspect", "fastq-stats", "-P", STRAND_PLUGIN_BUILD_DIR, "--no-cache",
              NULL);
  g_assert_cmpint (r->status, ==, 0);
  g_assert_true (g_str_has_prefix (r->out, "fastq-stats "));
  assert_contains (r->out, "SHA-256:");
  assert_contains (r->out, STRAND_PLUGIN_BUILD_DIR "/fastq-stats.so");

  g_autoptr (Result) nosuch =
      strand ("plugins", "inspect", "nosuch", "-P", STRAND_PLUGIN_BUILD_DIR, "--no-cache", NULL);
  g_assert_cmpint (nosuch->status, ==, 1);
  assert_contains (nosuch->err, "no plugin 'nosuch'");
  g_assert_cmpstr (nosuch->out, ==, "");

  g_autoptr (Result) json = strand ("plugins", "inspect", "nosuch", "--json", "-P",
                                    STRAND_PLUGIN_BUILD_DIR, "--no-cache", NULL);
  g_assert_cmpint (json->status, ==, 1);
  g_assert_cmpstr (json->out, ==, "");

  /* Version constraints: one that matches, one that does not, a bad one. */
  g_autoptr (Result) match = strand ("plugins", "inspect", "concat", "-V", ">=0.1, <1",
                                     "-P", STRAND_PLUGIN_BUILD_DIR, "--no-cache", NULL);
  g_assert_cmpint (match->status, ==, 0);
  g_autoptr (Result) newer = strand ("plugins", "inspect", "concat", "-V", ">=99",
                                     "-P", STRAND_PLUGIN_BUILD_DIR, "--no-cache", NULL);
  g_assert_cmpint (newer->status, ==, 1);
  assert_contains (newer->err, ">=99");
  g_autoptr (Result) bad = strand ("plugins", "inspect", "concat", "-V", "about 1",
                                   "-P", STRAND_PLUGIN_BUILD_DIR, "--no-cache", NULL);
  g_assert_cmpint (bad->status, ==, 2);
  assert_contains (bad->err, "not valid");
}

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/version", test_version);
  g_test_add_func ("/cli/usage-errors", test_usage_errors);
  ADD ("/cli/plugins/list", test_list);
  ADD ("/cli/plugins/list-json", test_list_json);
  g_test_add_func ("/cli/plugins/check-good", test_check_good);
  g_test_add_func ("/cli/plugins/check-bad", test_check_bad);
  g_test_add_func ("/cli/plugins/check-refused", test_check_refused);
  g_test_add_func ("/cli/plugins/inspect", test_inspect);
  ADD ("/cli/plugins/inspect-schema", test_inspect_schema);
  return g_test_run ();
}
