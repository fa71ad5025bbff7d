/* The plugin registry, through libstrand's C API: every way a plugin file can
 * be bad is refused with its own code and a message naming the facts, while
 * the good plugins beside it still load; ABI minor skew; the registry cache;
 * version constraints; the JSON form of a plugin.
 *
 * Each test gets a fresh temporary directory, copies in the fixture plugins it
 * needs (tests/fixtures/plugins, built into STRAND_FIXTURE_DIR) and scans it
 * with no cache unless it tests the cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "plugin-info.h"
#include "registry.h"
#include "test-util.h"

#ifndef STRAND_FIXTURE_DIR
#error "STRAND_FIXTURE_DIR must be defined by the build"
#endif

/* The ABI this host speaks, as messages print it: "1.0". */
#define HOST_ABI G_STRINGIFY (STRAND_ABI_MAJOR) "." G_STRINGIFY (STRAND_ABI_MINOR)

/* Short, so the hung-plugin cases cost half a second each. */
#define SCAN_TIMEOUT_MS "500"

#define GOOD_NAME "fixture-good"
#define GOOD_VERSION "0.1.0"

/* ---- helpers -------------------------------------------------------------- */

typedef struct {
  char *dir; /* a fresh temporary directory of plugin files */
  StrandRegistry *registry;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("strand-test-registry-XXXXXX", &error);
  g_assert_no_error (error);
  /* The registry names files by their canonical path: so do we. */
  f->dir = g_canonicalize_filename (dir, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->registry, strand_registry_free);
  strand_test_remove_tree (f->dir);
  g_free (f->dir);
}

static char *
fixture_so (const char *name)
{
  g_autofree char *file = g_strconcat (name, ".so", NULL);
  return g_build_filename (STRAND_FIXTURE_DIR, file, NULL);
}

static char *
read_file (const char *path, gsize *len)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  g_file_get_contents (path, &contents, len, &error);
  g_assert_no_error (error);
  return contents;
}

/* Writes `len` bytes as dir/name, mode 0755, and returns the path. */
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

/* Copies any file into dir/name. */
static char *
copy_file (const char *src, const char *dir, const char *name)
{
  gsize len = 0;
  g_autofree char *contents = read_file (src, &len);
  return write_file (dir, name, contents, len);
}

/* Copies fixture `fixture` into dir/name (name NULL: "FIXTURE.so"). */
static char *
copy_fixture (const char *fixture, const char *dir, const char *name)
{
  g_autofree char *src = fixture_so (fixture);
  g_autofree char *file = name ? g_strdup (name) : g_strconcat (fixture, ".so", NULL);
  return copy_file (src, dir, file);
}

static StrandRegistry *
scan_dir (const char *dir, const char *cache_file)
{
  StrandRegistry *registry = strand_registry_new ();
  strand_registry_add_dir (registry, dir);
  strand_registry_set_cache_file (registry, cache_file);
  strand_registry_scan (registry);
  return registry;
}

static void
rescan (Fixture *f, const char *cache_file)
{
  g_clear_pointer (&f->registry, strand_registry_free);
  f->registry = scan_dir (f->dir, cache_file);
}

static const StrandPluginProblem *
find_problem (StrandRegistry *registry, const char *path)
{
  GPtrArray *problems = strand_registry_problems (registry);
  const StrandPluginProblem *found = NULL;
  for (guint i = 0; i < problems->len; i++)
    {
      const StrandPluginProblem *p = problems->pdata[i];
      if (g_strcmp0 (p->path, path) == 0)
        {
          g_assert_null (found); /* one problem per file */
          found = p;
        }
    }
  return found;
}

static const StrandPluginInfo *
find_plugin_at (StrandRegistry *registry, const char *path)
{
  GPtrArray *plugins = strand_registry_plugins (registry);
  for (guint i = 0; i < plugins->len; i++)
    {
      const StrandPluginInfo *p = plugins->pdata[i];
      if (g_strcmp0 (p->path, path) == 0)
        return p;
    }
  return NULL;
}

static void
dump_registry (StrandRegistry *registry)
{
  GPtrArray *plugins = strand_registry_plugins (registry);
  GPtrArray *problems = strand_registry_problems (registry);
  for (guint i = 0; i < plugins->len; i++)
    {
      const StrandPluginInfo *p = plugins->pdata[i];
      g_test_message ("loaded %s %s from %s", p->name, p->version, p->path);
    }
  for (guint i = 0; i < problems->len; i++)
    {
      const StrandPluginProblem *p = problems->pdata[i];
      g_test_message ("refused %s: %s [%s]", p->path, p->error->message,
                      strand_plugin_error_code_name (p->error->code));
    }
}

/* Asserts that `path` was refused with `code` and returns the message. */
static const char *
assert_refused (StrandRegistry *registry, const char *path, StrandPluginErrorCode code)
{
  const StrandPluginProblem *p = find_problem (registry, path);
  if (p == NULL)
    dump_registry (registry);
  g_assert_nonnull (p);
  g_assert_nonnull (p->error);
  g_test_message ("%s: %s [%s]", path, p->error->message,
                  strand_plugin_error_code_name (p->error->code));
  g_assert_error (p->error, STRAND_PLUGIN_ERROR, (gint) code);
  g_assert_null (find_plugin_at (registry, path));
  return p->error->message;
}

static void
assert_contains (const char *haystack, const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("expected \"%s\" in \"%s\"", needle, haystack);
}

/* Asserts that the good fixture loaded from `path` and is what lookup finds. */
static void
assert_good_loaded (StrandRegistry *registry, const char *path)
{
  const StrandPluginInfo *p = find_plugin_at (registry, path);
  if (p == NULL)
    dump_registry (registry);
  g_assert_nonnull (p);
  g_assert_cmpstr (p->name, ==, GOOD_NAME);
  g_assert_cmpstr (p->version, ==, GOOD_VERSION);
  g_assert_true (p == strand_registry_lookup (registry, GOOD_NAME, GOOD_VERSION));
  g_assert_null (find_problem (registry, path));
}

static char *
sha256_of_file (const char *path)
{
  gsize len = 0;
  g_autofree char *contents = read_file (path, &len);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
}

/* ---- each bad fixture beside a good one ----------------------------------- */

typedef struct {
  const char *fixture; /* fixture name (STRAND_FIXTURE_DIR/NAME.so) */
  const char *copy_as; /* its name in the temporary directory; NULL: NAME.so */
  StrandPluginErrorCode code;
  /* All must appear in the message. Placeholders: {good} the good copy's
   * path, {host} this host's ABI, {newer} the next minor, {min} and {small}
   * the minimum and the too-small descriptor sizes. */
  const char *needles[4];
} BadCase;

static const BadCase bad_cases[] = {
  { "no-entry", NULL, STRAND_PLUGIN_ERROR_NO_ENTRY,
    { "no entry symbol", "'" STRAND_STAGE_ENTRY_SYMBOL "'", "STRAND_STAGE_DEFINE" } },
  { "bad-magic", NULL, STRAND_PLUGIN_ERROR_BAD_MAGIC,
    { "magic is 0xdeadbeef", "expected 0x44525453" } },
  { "abi-major-0", NULL, STRAND_PLUGIN_ERROR_ABI_MAJOR,
    { "built for Strand ABI 0.0", "this host speaks ABI {host}", "rebuild" } },
  { "abi-major-2", NULL, STRAND_PLUGIN_ERROR_ABI_MAJOR,
    { "built for Strand ABI 2.0", "this host speaks ABI {host}", "rebuild" } },
  { "abi-minor-newer", NULL, STRAND_PLUGIN_ERROR_ABI_MINOR,
    { "built for Strand ABI {newer}", "this host's {host}", "upgrade strand" } },
  { "size-too-small", NULL, STRAND_PLUGIN_ERROR_BAD_SIZE,
    { "descriptor size {small} is outside {min}..65536" } },
  { "invalid-fields", NULL, STRAND_PLUGIN_ERROR_INVALID_FIELD,
    { "name 'Bad Name' is not", "and 4 more", "strand plugins check" } },
  { "unknown-format", NULL, STRAND_PLUGIN_ERROR_UNKNOWN_FORMAT,
    { "output port 'reads'", "format 'sff' is unknown" } },
  /* Sorted after good.so, so the good copy is the one loaded first. */
  { "duplicate", "zz-duplicate.so", STRAND_PLUGIN_ERROR_DUPLICATE,
    { "duplicate of " GOOD_NAME " " GOOD_VERSION, "already loaded from {good}" } },
  /* Sorted before good.so: the scanner must restart for the good one. */
  { "ctor-segv", NULL, STRAND_PLUGIN_ERROR_LOAD_CRASHED,
    { "crashed while loading", "signal 11", "remove the file" } },
  { "entry-abort", NULL, STRAND_PLUGIN_ERROR_LOAD_CRASHED,
    { "crashed while loading", "signal 6" } },
  /* Sorted after good.so: the scanner has answered for good.so already. */
  { "ctor-hang", NULL, STRAND_PLUGIN_ERROR_LOAD_CRASHED,
    { "hung while loading", "no answer in " SCAN_TIMEOUT_MS " ms" } },
};

static char *
expand_needle (const char *needle, const char *good_path)
{
  g_autoptr (GString) s = g_string_new (needle);
  g_autofree char *newer = g_strdup_printf ("%d.%d", STRAND_ABI_MAJOR, STRAND_ABI_MINOR + 1);
  g_autofree char *min = g_strdup_printf ("%zu", (gsize) STRAND_DESCRIPTOR_MIN_SIZE);
  g_autofree char *small =
      g_strdup_printf ("%zu", (gsize) offsetof (StrandStageDescriptor, run));
  g_string_replace (s, "{good}", good_path, 0);
  g_string_replace (s, "{host}", HOST_ABI, 0);
  g_string_replace (s, "{newer}", newer, 0);
  g_string_replace (s, "{min}", min, 0);
  g_string_replace (s, "{small}", small, 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_bad_plugin (Fixture *f, gconstpointer data)
{
  const BadCase *c = data;
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *bad = copy_fixture (c->fixture, f->dir, c->copy_as);

  f->registry = scan_dir (f->dir, NULL);
  assert_good_loaded (f->registry, good);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 1);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 1);
  g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 0);
  const char *message = assert_refused (f->registry, bad, c->code);
  for (guint i = 0; i < G_N_ELEMENTS (c->needles) && c->needles[i]; i++)
    {
      g_autofree char *needle = expand_needle (c->needles[i], good);
      assert_contains (message, needle);
    }
  /* One line: the CLI prints it as one. */
  g_assert_null (strchr (message, '\n'));
}

/* Every bad fixture in one directory: one scanner run meets several crashes
 * and a hang in a row, and must still answer for every file. */
static void
test_bad_plugins_together (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *full = copy_fixture ("full", f->dir, NULL);
  g_autoptr (GPtrArray) bad = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    g_ptr_array_add (bad, copy_fixture (bad_cases[i].fixture, f->dir, bad_cases[i].copy_as));

  f->registry = scan_dir (f->dir, NULL);
  assert_good_loaded (f->registry, good);
  g_assert_nonnull (find_plugin_at (f->registry, full));
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 2);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, G_N_ELEMENTS (bad_cases));
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    assert_refused (f->registry, bad->pdata[i], bad_cases[i].code);
}

/* ---- files that are not plugins at all ------------------------------------ */

static void
test_not_shared_object (Fixture *f, gconstpointer data)
{
  static const char text[] = "#!/bin/sh\necho this is not a plugin\n";
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *script = write_file (f->dir, "x.so", text, sizeof text - 1);
  g_autofree char *empty = write_file (f->dir, "empty.so", "", 0);
  /* An ELF object for a 32-bit machine. */
  gsize len = 0;
  g_autofree char *elf32 = read_file (good, &len);
  elf32[4] = 1; /* EI_CLASS = ELFCLASS32 */
  g_autofree char *elf32_path = write_file (f->dir, "elf32.so", elf32, len);

  f->registry = scan_dir (f->dir, NULL);
  assert_good_loaded (f->registry, good);
  assert_contains (assert_refused (f->registry, script, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT),
                   "no ELF header");
  assert_contains (assert_refused (f->registry, empty, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT),
                   "no ELF header");
  assert_contains (
      assert_refused (f->registry, elf32_path, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT),
      "not a shared object for this machine");
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 3);
}

static void
test_not_regular_file (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *dir = g_build_filename (f->dir, "dir.so", NULL);
  g_autofree char *fifo = g_build_filename (f->dir, "fifo.so", NULL);
  g_autofree char *dangling = g_build_filename (f->dir, "dangling.so", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  /* A FIFO must be refused, not opened and waited on. */
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  g_assert_cmpint (symlink ("no-such-target.so", dangling), ==, 0);

  f->registry = scan_dir (f->dir, NULL);
  assert_good_loaded (f->registry, good);
  assert_refused (f->registry, dir, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE);
  assert_refused (f->registry, fifo, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE);
  assert_refused (f->registry, dangling, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 3);
}

static void
test_truncated (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  gsize len = 0;
  g_autofree char *contents = read_file (good, &len);
  g_assert_cmpuint (len, >, 1000);
  g_autofree char *half = write_file (f->dir, "truncated-half.so", contents, len / 2);
  g_autofree char *hundred = write_file (f->dir, "truncated-100.so", contents, 100);
  g_autofree char *forty = write_file (f->dir, "truncated-40.so", contents, 40);

  f->registry = scan_dir (f->dir, NULL);
  assert_good_loaded (f->registry, good);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 1);
  g_autofree char *half_size = g_strdup_printf ("truncated: %zu bytes", len / 2);
  assert_contains (assert_refused (f->registry, half, STRAND_PLUGIN_ERROR_CORRUPT), half_size);
  assert_contains (assert_refused (f->registry, hundred, STRAND_PLUGIN_ERROR_CORRUPT),
                   "truncated: 100 bytes");
  const char *msg = assert_refused (f->registry, forty, STRAND_PLUGIN_ERROR_CORRUPT);
  assert_contains (msg, "truncated: 40 bytes");
  assert_contains (msg, "shorter than an ELF header");
}

/* A block of bytes in the middle overwritten: whatever the loader makes of
 * it, the host survives, accounts for the file, and loads the others. */
static void
test_corrupted (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *full = copy_fixture ("full", f->dir, NULL);
  gsize len = 0;
  g_autofree char *original = read_file (good, &len);
  g_autoptr (GRand) rand = g_rand_new_with_seed (20240611);
  g_autoptr (GPtrArray) corrupt = g_ptr_array_new_with_free_func (g_free);
  const double where[] = { 0.05, 0.25, 0.5, 0.75, 0.95 };
  for (guint i = 0; i < G_N_ELEMENTS (where); i++)
    for (guint fill = 0; fill < 2; fill++)
      {
        g_autofree char *copy = g_memdup2 (original, len);
        gsize at = (gsize) (where[i] * (double) len), n = MIN ((gsize) 512, len - at);
        for (gsize k = 0; k < n; k++)
          copy[at + k] = fill ? (char) g_rand_int_range (rand, 0, 256) : (char) 0xff;
        g_assert_true (memcmp (copy, original, len) != 0);
        g_autofree char *name = g_strdup_printf ("x-corrupt-%u-%u.so", i, fill);
        g_ptr_array_add (corrupt, write_file (f->dir, name, copy, len));
      }

  f->registry = scan_dir (f->dir, NULL);
  dump_registry (f->registry);
  assert_good_loaded (f->registry, good);
  g_assert_nonnull (find_plugin_at (f->registry, full));
  /* Each corrupt copy is refused (perhaps as a duplicate of good.so) or, if
   * its descriptor still reads as another plugin, loaded: never both, never
   * lost. */
  for (guint i = 0; i < corrupt->len; i++)
    {
      const char *path = corrupt->pdata[i];
      gboolean refused = find_problem (f->registry, path) != NULL;
      gboolean loaded = find_plugin_at (f->registry, path) != NULL;
      g_assert_true (refused != loaded);
    }
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len +
                        strand_registry_problems (f->registry)->len,
                    ==, corrupt->len + 2);
}

/* An executable is not a plugin, whether position-dependent (ELF type
 * ET_EXEC) or position-independent, whose ELF type is a shared object's
 * (ET_DYN). Either way the user should hear "not a shared object" with the
 * fix, not that a shared object is corrupt. */
static void
test_executable (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *pie = copy_file ("/bin/true", f->dir, "x.so");
  gsize len = 0;
  g_autofree char *exec = read_file (pie, &len);
  g_assert_cmpuint (len, >, 64);
  g_assert_true (memcmp (exec, "\177ELF", 4) == 0);
  exec[16] = 2; /* e_type = ET_EXEC, as a non-PIE build has */
  exec[17] = 0;
  g_autofree char *nopie = write_file (f->dir, "y.so", exec, len);

  f->registry = scan_dir (f->dir, NULL);
  assert_good_loaded (f->registry, good);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 1);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 2);
  const char *msg = assert_refused (f->registry, nopie, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT);
  assert_contains (msg, "ELF type 2");

  const StrandPluginProblem *p = find_problem (f->registry, pie);
  g_assert_nonnull (p);
  g_assert_null (find_plugin_at (f->registry, pie));
  g_test_message ("%s: %s [%s]", pie, p->error->message,
                  strand_plugin_error_code_name (p->error->code));
  if (!g_error_matches (p->error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT))
    {
      g_test_fail_printf ("regression: %s", "a PIE executable is reported as a corrupt shared "
                         "object, not as not-shared-object");
      return;
    }
}

/* ---- permissions ---------------------------------------------------------- */

static void
test_world_writable_file (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *full = copy_fixture ("full", f->dir, NULL);
  g_assert_cmpint (g_chmod (full, 0666), ==, 0);

  f->registry = scan_dir (f->dir, NULL);
  assert_good_loaded (f->registry, good);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 1);
  const char *msg = assert_refused (f->registry, full, STRAND_PLUGIN_ERROR_UNSAFE_PERMISSIONS);
  assert_contains (msg, "world-writable");
  assert_contains (msg, "chmod o-w");
  g_assert_null (strand_registry_lookup (f->registry, "fixture-full", NULL));

  /* Fixed, it loads. */
  g_assert_cmpint (g_chmod (full, 0644), ==, 0);
  rescan (f, NULL);
  g_assert_nonnull (find_plugin_at (f->registry, full));
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 0);
}

static void
test_world_writable_dir (Fixture *f, gconstpointer data)
{
  const char *fixtures[] = { "good", "full", "abi-minor-older" };
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    g_ptr_array_add (paths, copy_fixture (fixtures[i], f->dir, NULL));
  g_assert_cmpint (g_chmod (f->dir, 0777), ==, 0);

  f->registry = scan_dir (f->dir, NULL);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 0);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, paths->len);
  for (guint i = 0; i < paths->len; i++)
    {
      const char *msg =
          assert_refused (f->registry, paths->pdata[i], STRAND_PLUGIN_ERROR_UNSAFE_PERMISSIONS);
      assert_contains (msg, "directory");
      assert_contains (msg, f->dir);
      assert_contains (msg, "world-writable");
    }

  /* A sticky, world-writable directory (like /tmp) is no safer. */
  g_assert_cmpint (g_chmod (f->dir, 01777), ==, 0);
  rescan (f, NULL);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 0);

  g_assert_cmpint (g_chmod (f->dir, 0755), ==, 0);
  rescan (f, NULL);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, paths->len);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 0);
}

/* A symbolic link is followed, and what it leads to must be as safe as a
 * file in the directory itself would have to be: a link into a world-writable
 * directory lets anyone replace the plugin it names. */
static void
test_symlinks (Fixture *f, gconstpointer data)
{
  g_autofree char *store = g_build_filename (f->dir, "store", NULL);
  g_autofree char *open_dir = g_build_filename (f->dir, "open", NULL);
  g_assert_cmpint (g_mkdir (store, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (open_dir, 0755), ==, 0);
  g_autofree char *good_target = copy_fixture ("good", store, NULL);
  g_autofree char *full_target = copy_fixture ("full", open_dir, NULL);
  g_assert_cmpint (g_chmod (open_dir, 0777), ==, 0);
  g_autofree char *good = g_build_filename (f->dir, "good.so", NULL);
  g_autofree char *full = g_build_filename (f->dir, "full.so", NULL);
  g_assert_cmpint (symlink ("store/good.so", good), ==, 0);
  g_assert_cmpint (symlink (full_target, full), ==, 0);

  f->registry = scan_dir (f->dir, NULL);
  /* A link to a safe file loads, under the link's name. */
  assert_good_loaded (f->registry, good);
  const StrandPluginProblem *p = find_problem (f->registry, full);
  if (p == NULL)
    {
      dump_registry (f->registry);
      g_test_fail_printf ("regression: %s", "a symlink to a plugin in a world-writable directory "
                         "is loaded");
      return;
    }
  g_assert_error (p->error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_UNSAFE_PERMISSIONS);
  assert_contains (p->error->message, "world-writable");
  g_assert_null (find_plugin_at (f->registry, full));
}

/* Directories are searched in the order given, then STRAND_PLUGIN_PATH; the
 * first copy of a name and version wins and later ones are duplicates; the
 * same directory named twice is searched once. */
static void
test_search_order (Fixture *f, gconstpointer data)
{
  const char *names[] = { "first", "second", "third" };
  g_autoptr (GPtrArray) dir_list = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) copy_list = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      char *dir = g_build_filename (f->dir, names[i], NULL);
      g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
      g_ptr_array_add (dir_list, dir);
      g_ptr_array_add (copy_list, copy_fixture ("good", dir, NULL));
    }
  char **dirs = (char **) dir_list->pdata;
  char **copies = (char **) copy_list->pdata;
  g_autofree char *newer = copy_fixture ("good-newer", dirs[2], NULL);
  g_autofree char *env_path = g_strjoin (":", dirs[1], "", dirs[2], NULL);
  g_autofree char *saved = g_strdup (g_getenv ("STRAND_PLUGIN_PATH"));
  g_setenv ("STRAND_PLUGIN_PATH", env_path, TRUE);

  f->registry = strand_registry_new ();
  strand_registry_add_dir (f->registry, dirs[0]);
  strand_registry_add_dir (f->registry, dirs[0]); /* named twice */
  strand_registry_add_default_dirs (f->registry);
  strand_registry_scan (f->registry);
  if (saved != NULL)
    g_setenv ("STRAND_PLUGIN_PATH", saved, TRUE);
  else
    g_unsetenv ("STRAND_PLUGIN_PATH");

  dump_registry (f->registry);
  assert_good_loaded (f->registry, copies[0]);
  g_assert_nonnull (find_plugin_at (f->registry, newer));
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 2);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 2);
  for (guint i = 1; i < 3; i++)
    {
      const char *msg = assert_refused (f->registry, copies[i], STRAND_PLUGIN_ERROR_DUPLICATE);
      g_autofree char *from = g_strdup_printf ("already loaded from %s;", copies[0]);
      assert_contains (msg, from);
    }
  /* Problems come in search order. */
  GPtrArray *problems = strand_registry_problems (f->registry);
  g_assert_cmpstr (((StrandPluginProblem *) problems->pdata[0])->path, ==, copies[1]);
  g_assert_cmpstr (((StrandPluginProblem *) problems->pdata[1])->path, ==, copies[2]);
  /* Plugins come sorted by name, then version. */
  GPtrArray *plugins = strand_registry_plugins (f->registry);
  g_assert_cmpstr (((StrandPluginInfo *) plugins->pdata[0])->version, ==, "0.1.0");
  g_assert_cmpstr (((StrandPluginInfo *) plugins->pdata[1])->version, ==, "0.2.0");
}

static void
test_missing_dir (Fixture *f, gconstpointer data)
{
  g_autofree char *missing = g_build_filename (f->dir, "no-such-dir", NULL);
  f->registry = scan_dir (missing, NULL);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 0);
  const char *msg = assert_refused (f->registry, missing, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE);
  assert_contains (msg, "cannot be read");
}

/* ---- ABI minor skew ------------------------------------------------------- */

static void
test_minor_newer (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *newer = copy_fixture ("abi-minor-newer", f->dir, NULL);
  f->registry = scan_dir (f->dir, NULL);
  assert_good_loaded (f->registry, good);
  const char *msg = assert_refused (f->registry, newer, STRAND_PLUGIN_ERROR_ABI_MINOR);
  g_autofree char *plugin_abi =
      g_strdup_printf ("ABI %d.%d", STRAND_ABI_MAJOR, STRAND_ABI_MINOR + 1);
  assert_contains (msg, plugin_abi);
  assert_contains (msg, HOST_ABI);
  g_assert_null (strand_registry_lookup (f->registry, "fixture-minor-newer", NULL));
}

static void
test_minor_older (Fixture *f, gconstpointer data)
{
  g_autofree char *older = copy_fixture ("abi-minor-older", f->dir, NULL);
  g_autofree char *full = copy_fixture ("full", f->dir, NULL);
  f->registry = scan_dir (f->dir, NULL);
  dump_registry (f->registry);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 0);

  const StrandPluginInfo *p = strand_registry_lookup (f->registry, "fixture-older", NULL);
  g_assert_nonnull (p);
  g_assert_cmpstr (p->path, ==, older);
  g_assert_cmpuint (p->abi_major, ==, STRAND_ABI_MAJOR);
  g_assert_cmpuint (p->abi_minor, ==, STRAND_ABI_MINOR);
  g_assert_cmpuint (p->descriptor_size, ==, offsetof (StrandStageDescriptor, validate));
  g_assert_cmpuint (p->descriptor_size, <, sizeof (StrandStageDescriptor));
  g_assert_true (p->has_run);
  /* The plugin's bytes past its struct_size are not read. */
  g_assert_false (p->has_validate);
  g_assert_false (p->has_cancel);
  /* The members it does have were read. */
  g_assert_cmpstr (p->version, ==, "0.3.0");
  g_assert_cmpstr (p->license, ==, "Apache-2.0");
  g_assert_cmpuint (p->inputs->len, ==, 1);
  g_assert_cmpstr (((StrandPortInfo *) p->inputs->pdata[0])->formats, ==, "any");

  /* Control: a current descriptor does report its validate and cancel. */
  const StrandPluginInfo *cur = strand_registry_lookup (f->registry, "fixture-full", NULL);
  g_assert_nonnull (cur);
  g_assert_cmpuint (cur->descriptor_size, ==, sizeof (StrandStageDescriptor));
  g_assert_true (cur->has_validate);
  g_assert_true (cur->has_cancel);
}

/* ---- the registry cache --------------------------------------------------- */

/* What a registry holds, as text, to compare two scans. */
static char *
registry_text (StrandRegistry *registry)
{
  g_autoptr (GString) s = g_string_new (NULL);
  GPtrArray *plugins = strand_registry_plugins (registry);
  GPtrArray *problems = strand_registry_problems (registry);
  for (guint i = 0; i < plugins->len; i++)
    {
      g_autoptr (JsonNode) node = strand_plugin_info_to_json (plugins->pdata[i]);
      g_autofree char *text = json_to_string (node, TRUE);
      g_string_append_printf (s, "%s\n", text);
    }
  for (guint i = 0; i < problems->len; i++)
    {
      const StrandPluginProblem *p = problems->pdata[i];
      g_string_append_printf (s, "%s: %s [%d]\n", p->path, p->error->message, p->error->code);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_cache (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *older = copy_fixture ("abi-minor-older", f->dir, NULL);
  g_autofree char *full = copy_fixture ("full", f->dir, NULL);
  g_autofree char *bad = copy_fixture ("bad-magic", f->dir, NULL);
  g_autofree char *crash = copy_fixture ("entry-abort", f->dir, NULL);
  g_autofree char *cache = g_build_filename (f->dir, "cache", "registry.json", NULL);

  /* First scan: nothing cached yet; the cache file is written. */
  rescan (f, cache);
  g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 0);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 3);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 2);
  g_assert_true (g_file_test (cache, G_FILE_TEST_IS_REGULAR));
  g_autofree char *first = registry_text (f->registry);

  /* Second scan: every file whose answer was kept comes from the cache and
   * gives the same result. A crash is not kept: it is retried each time. */
  rescan (f, cache);
  g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 4);
  g_autofree char *second = registry_text (f->registry);
  g_assert_cmpstr (second, ==, first);
  assert_contains (assert_refused (f->registry, crash, STRAND_PLUGIN_ERROR_LOAD_CRASHED),
                   "signal 6");
  assert_refused (f->registry, bad, STRAND_PLUGIN_ERROR_BAD_MAGIC);

  /* What a hit returns really is the cached answer, not a fresh look at the
   * file: an edited description in the cache shows through. */
  {
    g_autoptr (GError) error = NULL;
    gsize saved_len = 0;
    g_autofree char *saved = read_file (cache, &saved_len);
    g_autoptr (JsonParser) parser = json_parser_new ();
    json_parser_load_from_data (parser, saved, (gssize) saved_len, &error);
    g_assert_no_error (error);
    g_autofree char *sha = sha256_of_file (good);
    JsonObject *results =
        json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                       "results");
    g_assert_true (json_object_has_member (results, sha));
    JsonObject *plugin =
        json_object_get_object_member (json_object_get_object_member (results, sha), "plugin");
    json_object_set_string_member (plugin, "description", "As remembered by the cache");
    g_autofree char *text = json_to_string (json_parser_get_root (parser), FALSE);
    g_assert_true (g_file_set_contents (cache, text, -1, &error));
    rescan (f, cache);
    g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 4);
    const StrandPluginInfo *cached = find_plugin_at (f->registry, good);
    g_assert_nonnull (cached);
    g_assert_cmpstr (cached->description, ==, "As remembered by the cache");
    g_assert_true (g_file_set_contents (cache, saved, (gssize) saved_len, &error));
  }

  /* Replace good.so with different bytes of the same name and version: that
   * file alone is opened again, and its new description shows it was. */
  g_autofree char *dup_src = fixture_so ("duplicate");
  g_autofree char *replaced = copy_file (dup_src, f->dir, "good.so");
  g_assert_cmpstr (replaced, ==, good);
  g_autofree char *new_sha = sha256_of_file (good);
  rescan (f, cache);
  g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 3);
  const StrandPluginInfo *p = find_plugin_at (f->registry, good);
  g_assert_nonnull (p);
  g_assert_cmpstr (p->description, ==, "A byte-different copy of fixture-good 0.1.0");
  g_assert_cmpstr (p->sha256, ==, new_sha);

  /* And the new answer is cached in turn. */
  rescan (f, cache);
  g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 4);
  p = find_plugin_at (f->registry, good);
  g_assert_nonnull (p);
  g_assert_cmpstr (p->description, ==, "A byte-different copy of fixture-good 0.1.0");

  /* Overwritten in place (as `cp` does), keeping its inode: the changed
   * size or mtime makes it rehashed. The mtime is moved on explicitly, as
   * file timestamps are coarser than two writes in a row. */
  GStatBuf before;
  g_assert_cmpint (g_stat (good, &before), ==, 0);
  g_autofree char *good_src = fixture_so ("good");
  gsize len = 0;
  g_autofree char *contents = read_file (good_src, &len);
  {
    FILE *out = fopen (good, "r+b");
    g_assert_nonnull (out);
    g_assert_cmpint (ftruncate (fileno (out), 0), ==, 0);
    g_assert_cmpuint (fwrite (contents, 1, len, out), ==, len);
    g_assert_cmpint (fclose (out), ==, 0);
  }
  struct timespec times[2] = { { before.st_mtime + 2, 0 }, { before.st_mtime + 2, 0 } };
  g_assert_cmpint (utimensat (AT_FDCWD, good, times, 0), ==, 0);
  GStatBuf after;
  g_assert_cmpint (g_stat (good, &after), ==, 0);
  g_assert_cmpuint (after.st_ino, ==, before.st_ino);
  rescan (f, cache);
  g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 4); /* known again */
  p = find_plugin_at (f->registry, good);
  g_assert_nonnull (p);
  g_assert_cmpstr (p->description, ==, "A good, minimal fixture plugin");
  g_autofree char *old_sha = sha256_of_file (good);
  g_assert_cmpstr (p->sha256, ==, old_sha);
}

/* Damaged cache files of every kind: each is ignored (or the damaged entries
 * in it), the plugins are opened afresh and come out the same as without a
 * cache, and the next scan has a whole cache again. */
typedef struct {
  GBytes *bytes;
  guint hits; /* cache hits expected with it */
} DamagedCache;

static void
damaged_cache_free (gpointer p)
{
  DamagedCache *d = p;
  g_bytes_unref (d->bytes);
  g_free (d);
}

static void
add_damaged (GPtrArray *all, GBytes *bytes, guint hits)
{
  DamagedCache *d = g_new0 (DamagedCache, 1);
  d->bytes = bytes;
  d->hits = hits;
  g_ptr_array_add (all, d);
}

/* The valid cache `valid` with member `key` of every object under `section`
 * ("results" -> each result's "plugin", or "files" -> each file entry) set to
 * the JSON `value`. */
static GBytes *
mutate_cache (const char *valid, gsize valid_len, const char *section, const char *key,
              const char *value, guint expect_mutated)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  json_parser_load_from_data (parser, valid, (gssize) valid_len, &error);
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *entries = json_object_get_object_member (root, section);
  g_autoptr (GList) names = json_object_get_members (entries);
  guint mutated = 0;
  for (GList *k = names; k; k = k->next)
    {
      JsonObject *target = json_object_get_object_member (entries, k->data);
      if (strcmp (section, "results") == 0)
        {
          if (!json_object_has_member (target, "plugin"))
            continue;
          target = json_object_get_object_member (target, "plugin");
        }
      JsonNode *node = json_from_string (value, &error);
      g_assert_no_error (error);
      if (key != NULL)
        json_object_set_member (target, key, node);
      else /* the whole entry */
        json_object_set_member (entries, k->data, node);
      mutated++;
    }
  g_assert_cmpuint (mutated, ==, expect_mutated);
  char *text = json_to_string (json_parser_get_root (parser), FALSE);
  return g_bytes_new_take (text, strlen (text));
}

/* GLib criticals (g_return_if_fail) raised while reading a damaged cache.
 * G_DEBUG=fatal-criticals (test_env) would abort on the first; this test
 * counts them instead, so that every case still runs and is reported. */
static guint criticals_seen;

static void
count_critical (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  if (level & G_LOG_LEVEL_CRITICAL)
    {
      criticals_seen++;
      g_test_message ("CRITICAL from %s: %s", domain ? domain : "(none)", message);
      return;
    }
  g_log_default_handler (domain, level, message, data);
}

/* Whole files of garbage: random bytes, cut JSON, other JSON. */
static void
add_garbage_files (GPtrArray *damaged, const char *valid, gsize valid_len)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  guint8 noise[4096];
  for (guint i = 0; i < sizeof noise; i++)
    noise[i] = (guint8) g_rand_int_range (rand, 0, 256);
  add_damaged (damaged, g_bytes_new (noise, sizeof noise), 0);
  add_damaged (damaged, g_bytes_new (valid, valid_len / 2), 0);
  add_damaged (damaged, g_bytes_new (valid, valid_len - 1), 0);
  add_damaged (damaged, g_bytes_new ("", 0), 0);
  add_damaged (damaged, g_bytes_new_static ("null", 4), 0);
  add_damaged (damaged, g_bytes_new_static ("[1,2,3]", 7), 0);
  static const char wrong_header[] =
      "{\"format\":5,\"version\":\"1\",\"host_abi\":[],\"files\":{},\"results\":{}}";
  add_damaged (damaged, g_bytes_new_static (wrong_header, sizeof wrong_header - 1), 0);

  /* Right header, wrong shapes. */
  const char *shapes[] = {
    "\"files\":[],\"results\":5",
    "\"files\":{\"x\":1},\"results\":{\"y\":[]}",
    "\"files\":null,\"results\":null",
  };
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      char *text = g_strdup_printf (
          "{\"format\":\"strand-registry-cache\",\"version\":1,\"host_abi\":\"%d.%d\",%s}",
          STRAND_ABI_MAJOR, STRAND_ABI_MINOR, shapes[i]);
      add_damaged (damaged, g_bytes_new_take (text, strlen (text)), 0);
    }
}

/* The real cache with members of the wrong JSON type. */
static void
add_mistyped_members (GPtrArray *damaged, const char *valid, gsize valid_len)
{
  static const char object_header[] =
      "{\"format\":{},\"version\":[],\"host_abi\":{},\"files\":{},\"results\":{}}";
  add_damaged (damaged, g_bytes_new_static (object_header, sizeof object_header - 1), 0);

  /* The real cache with members of both cached plugins mistyped: their
   * entries are worthless, bad-magic's (no "plugin") is still good. */
  const char *plugin_mutations[][2] = {
    { "name", "42" },
    { "abi", "\"1.0\"" },
    { "abi", "{\"major\":1.5,\"minor\":0,\"descriptor_size\":168}" },
    { "file", "[]" },
    { "inputs", "[5]" },
    { "inputs", "[{\"name\":[],\"formats\":{},\"optional\":\"no\",\"multiple\":0}]" },
    { "params", "[7]" },
    { "params", "[{\"name\":\"p\",\"type\":\"enum\",\"required\":false,\"description\":null,"
                "\"default\":null,\"choices\":[{}]}]" },
    { "params", "[{\"name\":\"p\",\"type\":\"enum\",\"required\":false,\"description\":null,"
                "\"default\":null,\"choices\":[[\"a\"]]}]" },
    { "params", "[{\"name\":\"p\",\"type\":{},\"required\":false,\"description\":null,"
                "\"default\":null,\"min\":\"1\"}]" },
    { "resources", "[]" },
    { "resources", "{\"cores\":\"8\"}" },
    { "error_policy", "[{\"error_class\":[],\"action\":{}}]" },
    { "error_policy", "{}" },
    { "callbacks", "{\"run\":\"yes\"}" },
    { "callbacks", "null" },
  };
  for (guint m = 0; m < G_N_ELEMENTS (plugin_mutations); m++)
    add_damaged (damaged,
                 mutate_cache (valid, valid_len, "results", plugin_mutations[m][0],
                               plugin_mutations[m][1], 2),
                 1);
  /* Whole result entries replaced. */
  add_damaged (damaged, mutate_cache (valid, valid_len, "results", NULL, "[]", 2), 1);
  add_damaged (damaged,
               mutate_cache (valid, valid_len, "results", NULL, "{\"ok\":\"yes\"}", 2), 1);
  add_damaged (damaged,
               mutate_cache (valid, valid_len, "results", NULL,
                             "{\"ok\":false,\"code_num\":9999,\"message\":\"x\"}", 2),
               1);
  add_damaged (damaged,
               mutate_cache (valid, valid_len, "results", NULL,
                             "{\"ok\":false,\"code_num\":\"6\",\"message\":[]}", 2),
               1);
  /* File identities damaged: the files are hashed again, and their digests
   * still find the (intact) results. */
  const char *file_mutations[][2] = {
    { "sha256", "5" },
    { "sha256", "\"not-a-digest\"" },
    { "dev", "\"x\"" },
    { "mtime_ns", "{}" },
    { NULL, "[]" },
  };
  for (guint m = 0; m < G_N_ELEMENTS (file_mutations); m++)
    add_damaged (damaged,
                 mutate_cache (valid, valid_len, "files", file_mutations[m][0],
                               file_mutations[m][1], 3),
                 3);
}

/* data: FALSE for whole files of garbage (random bytes, cut JSON, other
 * JSON), TRUE for a real cache with members of the wrong JSON type. */
static void
test_cache_garbage (Fixture *f, gconstpointer data)
{
  gboolean mistyped = GPOINTER_TO_INT (data);
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *full = copy_fixture ("full", f->dir, NULL);
  g_autofree char *bad = copy_fixture ("bad-magic", f->dir, NULL);
  g_autofree char *cache = g_build_filename (f->dir, "registry.json", NULL);

  rescan (f, NULL);
  g_autofree char *expected = registry_text (f->registry);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 2);

  /* A good cache file to damage. */
  rescan (f, cache);
  rescan (f, cache);
  g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 3);
  gsize valid_len = 0;
  g_autofree char *valid = read_file (cache, &valid_len);

  g_autoptr (GPtrArray) damaged = g_ptr_array_new_with_free_func (damaged_cache_free);
  if (mistyped)
    add_mistyped_members (damaged, valid, valid_len);
  else
    add_garbage_files (damaged, valid, valid_len);

  g_autoptr (GString) critical_cases = g_string_new (NULL);
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  GLogFunc old_handler = g_log_set_default_handler (count_critical, NULL);
  for (guint i = 0; i < damaged->len; i++)
    {
      const DamagedCache *d = damaged->pdata[i];
      criticals_seen = 0;
      gsize len = 0;
      const char *bytes = g_bytes_get_data (d->bytes, &len);
      g_test_message ("damaged cache %u: %.*s", i, (int) MIN (len, (gsize) 300),
                      g_utf8_validate_len (bytes, len, NULL) ? bytes : "(binary)");
      g_autofree char *written = write_file (f->dir, "registry.json", bytes, len);
      rescan (f, cache);
      g_autofree char *got = registry_text (f->registry);
      g_assert_cmpstr (got, ==, expected);
      g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, d->hits);
      /* And the cache is whole again afterwards. */
      rescan (f, cache);
      g_assert_cmpuint (strand_registry_cache_hits (f->registry), ==, 3);
      g_autofree char *again = registry_text (f->registry);
      g_assert_cmpstr (again, ==, expected);
      if (criticals_seen > 0)
        g_string_append_printf (critical_cases, " %u", i);
    }
  g_log_set_default_handler (old_handler, NULL);
  g_log_set_always_fatal (fatal);
  if (critical_cases->len > 0)
    {
      g_test_message ("damaged caches that raised criticals:%s", critical_cases->str);
      g_test_fail_printf ("a cache member of the wrong JSON type raised GLib criticals");
      return;
    }
}

/* ---- version constraints -------------------------------------------------- */

static void
assert_lookup (StrandRegistry *registry, const char *name, const char *constraint,
               const char *expected_version)
{
  const StrandPluginInfo *p = strand_registry_lookup (registry, name, constraint);
  g_test_message ("lookup %s '%s' -> %s", name, constraint ? constraint : "(null)",
                  p ? p->version : "(none)");
  if (expected_version == NULL)
    g_assert_null (p);
  else
    {
      g_assert_nonnull (p);
      g_assert_cmpstr (p->name, ==, name);
      g_assert_cmpstr (p->version, ==, expected_version);
    }
}

static void
test_lookup (Fixture *f, gconstpointer data)
{
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  g_autofree char *newer = copy_fixture ("good-newer", f->dir, NULL);
  g_autofree char *full = copy_fixture ("full", f->dir, NULL);
  f->registry = scan_dir (f->dir, NULL);
  g_assert_cmpuint (strand_registry_problems (f->registry)->len, ==, 0);
  g_assert_cmpuint (strand_registry_plugins (f->registry)->len, ==, 3);

  StrandRegistry *r = f->registry;
  assert_lookup (r, GOOD_NAME, NULL, "0.2.0");
  assert_lookup (r, GOOD_NAME, "", "0.2.0");
  assert_lookup (r, GOOD_NAME, "0.1.0", "0.1.0");
  assert_lookup (r, GOOD_NAME, "=0.1.0", "0.1.0");
  assert_lookup (r, GOOD_NAME, "0.2.0", "0.2.0");
  assert_lookup (r, GOOD_NAME, "0.3.0", NULL);
  assert_lookup (r, GOOD_NAME, ">=0.1", "0.2.0");
  assert_lookup (r, GOOD_NAME, ">0.1.0", "0.2.0");
  assert_lookup (r, GOOD_NAME, ">0.2.0", NULL);
  assert_lookup (r, GOOD_NAME, "<0.1.0", NULL);
  assert_lookup (r, GOOD_NAME, "<0.2.0", "0.1.0");
  assert_lookup (r, GOOD_NAME, "<=0.1.0", "0.1.0");
  assert_lookup (r, GOOD_NAME, ">=0.1.0, <0.2.0", "0.1.0");
  assert_lookup (r, GOOD_NAME, ">=0.1.0,<0.2.0", "0.1.0");
  assert_lookup (r, GOOD_NAME, ">0.1.0, <0.2.0", NULL);
  assert_lookup (r, GOOD_NAME, "^0", "0.2.0");
  assert_lookup (r, GOOD_NAME, "^0.2", "0.2.0");
  assert_lookup (r, GOOD_NAME, "^0.3", NULL);
  assert_lookup (r, GOOD_NAME, "^1", NULL);
  assert_lookup (r, GOOD_NAME, "1.0.0", NULL);
  /* A bad constraint matches nothing. */
  assert_lookup (r, GOOD_NAME, ">=banana", NULL);
  assert_lookup (r, "no-such-plugin", NULL, NULL);
  assert_lookup (r, "fixture", NULL, NULL);

  /* Pre-releases sort before their release. */
  assert_lookup (r, "fixture-full", NULL, "1.2.3-rc.1+build.5");
  assert_lookup (r, "fixture-full", "1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5");
  assert_lookup (r, "fixture-full", ">=1.2.2", "1.2.3-rc.1+build.5");
  assert_lookup (r, "fixture-full", "^1.2", "1.2.3-rc.1+build.5");
  assert_lookup (r, "fixture-full", ">=1.2.3", NULL);
  assert_lookup (r, "fixture-full", "<1.2.3", "1.2.3-rc.1+build.5");
}

static void
test_constraint_valid (void)
{
  const char *valid[] = {
    "", "1", "1.2", "1.2.3", "=1.2.3", ">=1.0", ">1", "<2.0.0", "<=2", "^1.2", "^0",
    ">=1.0.0, <2.0.0", ">=1.0.0,<2.0.0", " >=1.0.0 , <2.0.0 ", "1.2.3-rc.1", "0.0.0",
  };
  const char *invalid[] = {
    "abc", ">=", "^", "=", "1.2.3.4", "01.2.3", "1.02", ">=1.x", "~1.2", ",", ">=1.0,",
    ",>=1.0", "1..2", "-1", ">=-1", "1.2.3 4", "v1.2.3", "1234567890.0.0", "1.2.3-rc!",
  };
  g_assert_true (strand_version_constraint_valid (NULL));
  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    if (!strand_version_constraint_valid (valid[i]))
      g_error ("constraint '%s' should be valid", valid[i]);
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    if (strand_version_constraint_valid (invalid[i]))
      g_error ("constraint '%s' should be invalid", invalid[i]);

  g_assert_true (strand_version_satisfies ("1.4.0", ">=1.2, <2"));
  g_assert_false (strand_version_satisfies ("2.0.0", ">=1.2, <2"));
  g_assert_false (strand_version_satisfies ("1.1.9", ">=1.2, <2"));
  g_assert_true (strand_version_satisfies ("1.9.0", "^1.2"));
  g_assert_false (strand_version_satisfies ("2.0.0", "^1.2"));
  g_assert_false (strand_version_satisfies ("1.1.0", "^1.2"));
  g_assert_false (strand_version_satisfies ("1.4.0", "garbage"));
}

/* Semantic Versioning 2.0.0 precedence (semver.org, item 11): build metadata
 * is ignored, and numeric pre-release identifiers compare as numbers. */
static void
test_version_precedence (void)
{
  struct {
    const char *a, *b;
    int sign;
  } cases[] = {
    { "1.0.0", "1.0.0", 0 },
    { "1.0.0", "1.0.1", -1 },
    { "1.10.0", "1.9.0", 1 },
    { "1.0.0-alpha", "1.0.0", -1 },
    { "1.0.0-alpha", "1.0.0-alpha.1", -1 },
    { "1.0.0-alpha.1", "1.0.0-beta", -1 },
    { "1.0.0-rc.1", "1.0.0", -1 },
    { "1.0.0+build.1", "1.0.0", 0 },
    /* Hyphens are allowed in build metadata: that is not a pre-release. */
    { "1.0.0+build-5", "1.0.0", 0 },
    { "1.0.0-rc.9", "1.0.0-rc.10", -1 },
  };
  guint failures = 0;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      int c = strand_version_compare (cases[i].a, cases[i].b);
      int sign = (c > 0) - (c < 0);
      if (sign != cases[i].sign)
        {
          g_test_message ("strand_version_compare (\"%s\", \"%s\") = %d, expected %d",
                          cases[i].a, cases[i].b, sign, cases[i].sign);
          failures++;
        }
    }
  if (failures > 0)
    {
      g_test_fail_printf ("regression: %s", "strand_version_compare() does not follow SemVer "
                         "precedence (see the messages above)");
      return;
    }
}

/* ---- the JSON form -------------------------------------------------------- */

static void
assert_round_trip (const StrandPluginInfo *info)
{
  g_autoptr (JsonNode) first = strand_plugin_info_to_json (info);
  g_autofree char *first_text = json_to_string (first, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandPluginInfo) back = strand_plugin_info_from_json (first, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_autoptr (JsonNode) second = strand_plugin_info_to_json (back);
  g_autofree char *second_text = json_to_string (second, TRUE);
  g_assert_cmpstr (second_text, ==, first_text);

  /* Also through text, as the cache and the scanner pipe carry it. */
  g_autoptr (JsonNode) parsed = json_from_string (first_text, &error);
  g_assert_no_error (error);
  g_autoptr (StrandPluginInfo) again = strand_plugin_info_from_json (parsed, &error);
  g_assert_no_error (error);
  g_autoptr (JsonNode) third = strand_plugin_info_to_json (again);
  g_autofree char *third_text = json_to_string (third, TRUE);
  g_assert_cmpstr (third_text, ==, first_text);

  /* And what came back is the same plugin, field by field. */
  g_assert_cmpstr (again->name, ==, info->name);
  g_assert_cmpstr (again->version, ==, info->version);
  g_assert_cmpstr (again->sha256, ==, info->sha256);
  g_assert_cmpuint (again->flags, ==, info->flags);
  g_assert_cmpuint (again->params->len, ==, info->params->len);
  for (guint i = 0; i < info->params->len; i++)
    {
      const StrandParamInfo *a = info->params->pdata[i], *b = again->params->pdata[i];
      g_assert_cmpstr (a->name, ==, b->name);
      g_assert_cmpint (a->type, ==, b->type);
      g_assert_cmpuint (a->flags, ==, b->flags);
      g_assert_cmpstr (a->default_value, ==, b->default_value);
      if (a->flags & STRAND_PARAM_HAS_MIN)
        g_assert_cmpfloat (a->min, ==, b->min);
      if (a->flags & STRAND_PARAM_HAS_MAX)
        g_assert_cmpfloat (a->max, ==, b->max);
    }
  g_assert_cmpuint (again->policy->len, ==, info->policy->len);
  g_assert_cmpuint (again->resources.memory_bytes, ==, info->resources.memory_bytes);
  g_assert_cmpfloat (again->resources.expected_seconds, ==, info->resources.expected_seconds);
  g_assert_cmpstr (again->resources.equipment_class, ==, info->resources.equipment_class);
  g_assert_cmpint (again->has_validate, ==, info->has_validate);
  g_assert_cmpint (again->has_cancel, ==, info->has_cancel);
}

static void
test_json_round_trip_shipped (void)
{
  g_autoptr (StrandRegistry) registry = scan_dir (STRAND_PLUGIN_BUILD_DIR, NULL);
  dump_registry (registry);
  GPtrArray *plugins = strand_registry_plugins (registry);
  g_assert_cmpuint (strand_registry_problems (registry)->len, ==, 0);
  g_assert_cmpuint (plugins->len, >=, 3);
  for (guint i = 0; i < plugins->len; i++)
    assert_round_trip (plugins->pdata[i]);
}

static void
test_json_round_trip_fixtures (Fixture *f, gconstpointer data)
{
  g_autofree char *full = copy_fixture ("full", f->dir, NULL);
  g_autofree char *older = copy_fixture ("abi-minor-older", f->dir, NULL);
  g_autofree char *good = copy_fixture ("good", f->dir, NULL);
  f->registry = scan_dir (f->dir, NULL);
  GPtrArray *plugins = strand_registry_plugins (f->registry);
  g_assert_cmpuint (plugins->len, ==, 3);
  for (guint i = 0; i < plugins->len; i++)
    assert_round_trip (plugins->pdata[i]);

  /* The full fixture's every member made it through the scanner. */
  const StrandPluginInfo *p = strand_registry_lookup (f->registry, "fixture-full", NULL);
  g_assert_nonnull (p);
  g_assert_cmpstr (p->url, ==, "https://example.org/fixture-full");
  g_assert_cmpuint (p->inputs->len, ==, 3);
  g_assert_cmpuint (p->outputs->len, ==, 2);
  g_assert_cmpuint (p->params->len, ==, 6);
  g_assert_cmpuint (p->policy->len, ==, 7);
  const StrandParamInfo *mode = strand_plugin_info_find_param (p, "mode");
  g_assert_nonnull (mode);
  g_assert_cmpint (mode->type, ==, STRAND_PARAM_ENUM);
  const StrandParamInfo *score = strand_plugin_info_find_param (p, "min_score");
  g_assert_nonnull (score);
  g_assert_cmpfloat (score->min, ==, -1.5);
  g_assert_cmpuint (p->resources.memory_bytes, ==, G_GUINT64_CONSTANT (17179869184));
  g_assert_cmpstr (p->resources.equipment_class, ==, "gpu-node");
  g_assert_cmpuint (p->flags & STRAND_STAGE_DETERMINISTIC, !=, 0);
  g_autofree char *sha = sha256_of_file (full);
  g_assert_cmpstr (p->sha256, ==, sha);
}

static void
test_json_from_bad (void)
{
  const char *bad[] = {
    "null", "[]", "\"plugin\"", "{}", "{\"name\":\"x\"}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) node = json_from_string (bad[i], &error);
      g_assert_no_error (error);
      g_autoptr (StrandPluginInfo) info = strand_plugin_info_from_json (node, &error);
      g_assert_null (info);
      g_assert_error (error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_INVALID_FIELD);
    }
  g_autoptr (GError) error = NULL;
  g_assert_null (strand_plugin_info_from_json (NULL, &error));
  g_assert_error (error, STRAND_PLUGIN_ERROR, STRAND_PLUGIN_ERROR_INVALID_FIELD);
}

/* ---- main ----------------------------------------------------------------- */

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("STRAND_SCAN_TIMEOUT_MS", SCAN_TIMEOUT_MS, TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/registry/bad/%s", bad_cases[i].fixture);
      g_test_add (path, Fixture, &bad_cases[i], fixture_setup, test_bad_plugin,
                  fixture_teardown);
    }
  ADD ("/registry/bad/all-together", test_bad_plugins_together);
  ADD ("/registry/file/not-shared-object", test_not_shared_object);
  ADD ("/registry/file/not-regular", test_not_regular_file);
  ADD ("/registry/file/truncated", test_truncated);
  ADD ("/registry/file/corrupted", test_corrupted);
  ADD ("/registry/file/executable", test_executable);
  ADD ("/registry/permissions/world-writable-file", test_world_writable_file);
  ADD ("/registry/permissions/world-writable-dir", test_world_writable_dir);
  ADD ("/registry/permissions/symlinks", test_symlinks);
  ADD ("/registry/dir/missing", test_missing_dir);
  ADD ("/registry/dir/search-order", test_search_order);
  ADD ("/registry/abi/minor-newer", test_minor_newer);
  ADD ("/registry/abi/minor-older", test_minor_older);
  ADD ("/registry/cache/hits", test_cache);
  g_test_add ("/registry/cache/garbage", Fixture, GINT_TO_POINTER (FALSE), fixture_setup,
              test_cache_garbage, fixture_teardown);
  g_test_add ("/registry/cache/mistyped-members", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_cache_garbage, fixture_teardown);
  ADD ("/registry/version/lookup", test_lookup);
  g_test_add_func ("/registry/version/constraint-valid", test_constraint_valid);
  g_test_add_func ("/registry/version/precedence", test_version_precedence);
  g_test_add_func ("/registry/json/round-trip-shipped", test_json_round_trip_shipped);
  ADD ("/registry/json/round-trip-fixtures", test_json_round_trip_fixtures);
  g_test_add_func ("/registry/json/from-bad", test_json_from_bad);
  return g_test_run ();
}
