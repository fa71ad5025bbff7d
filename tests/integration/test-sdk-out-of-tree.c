/* A third party's view of the SDK: install Strand into a temporary prefix,
 * build sdk/examples/hello-stage with its own Makefile, which knows only
 * `pkg-config --cflags --libs strand-sdk`, then check, inspect and run the
 * plugin in the host. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "test-util.h"

static char *tmp;

static int
spawn (const char *const *argv, const char *const *env, char **out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *o = NULL, *e = NULL;
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) argv, (char **) env, G_SPAWN_SEARCH_PATH, NULL, NULL, &o,
                     &e, &status, &error))
    g_error ("cannot run %s: %s", argv[0], error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    g_printerr ("%s failed:\n%s%s", argv[0], o, e);
  if (out)
    *out = g_steal_pointer (&o);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

/* Finds DIR/…/pkgconfig/strand-sdk.pc under the install root. */
static char *
find_pc_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);
      if (strcmp (name, "strand-sdk.pc") == 0)
        return g_path_get_dirname (child);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        {
          char *found = find_pc_dir (child);
          if (found)
            return found;
        }
    }
  return NULL;
}

static void
test_out_of_tree (void)
{
  g_autofree char *root = g_build_filename (tmp, "root", NULL);
  const char *install[] = { MESON_PROG, "install", "-C", STRAND_BUILD_ROOT, "--no-rebuild",
                            "--quiet", "--destdir", root, NULL };
  g_assert_cmpint (spawn (install, NULL, NULL), ==, 0);

  g_autofree char *pc_dir = find_pc_dir (root);
  g_assert_nonnull (pc_dir);
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "PKG_CONFIG_LIBDIR", pc_dir, TRUE);
  env = g_environ_setenv (env, "PKG_CONFIG_PATH", "", TRUE);
  env = g_environ_setenv (env, "PKG_CONFIG_SYSROOT_DIR", root, TRUE);

  /* The SDK is headers only and drags in no library of the host's. */
  g_autofree char *flags = NULL;
  const char *pc[] = { "pkg-config", "--cflags", "--libs", "strand-sdk", NULL };
  g_assert_cmpint (spawn (pc, (const char *const *) env, &flags), ==, 0);
  g_assert_nonnull (strstr (flags, "-I"));
  g_assert_null (strstr (flags, "glib"));
  g_assert_null (strstr (flags, "-lstrand"));

  /* Copy the example out of the source tree and build it there. */
  g_autofree char *src = g_build_filename (tmp, "hello-stage", NULL);
  g_assert_cmpint (g_mkdir_with_parents (src, 0755), ==, 0);
  for (const char *const *f = (const char *const[]){ "hello-stage.c", "Makefile", NULL }; *f; f++)
    {
      g_autofree char *from = g_build_filename (STRAND_SOURCE_ROOT, "sdk", "examples", "hello-stage", *f, NULL);
      g_autofree char *to = g_build_filename (src, *f, NULL);
      g_autofree char *bytes = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (from, &bytes, &len, NULL));
      g_assert_true (g_file_set_contents (to, bytes, (gssize) len, NULL));
    }
  /* Plain flags: the plugin is a third party's, built without our sanitizers. */
  env = g_environ_setenv (env, "CFLAGS", "-O2 -Werror", TRUE);
  const char *make[] = { "make", "-s", "-C", src, NULL };
  g_assert_cmpint (spawn (make, (const char *const *) env, NULL), ==, 0);
  g_autofree char *so = g_build_filename (src, "hello-stage.so", NULL);
  g_assert_true (g_file_test (so, G_FILE_TEST_IS_REGULAR));

  g_autofree char *out = NULL;
  const char *check[] = { STRAND_CLI, "plugins", "check", so, NULL };
  g_assert_cmpint (spawn (check, NULL, &out), ==, 0);
  g_assert_nonnull (strstr (out, "ok: hello-stage"));

  g_autofree char *inspect_out = NULL;
  const char *inspect[] = { STRAND_CLI, "plugins", "inspect", "hello-stage", "-P", src, NULL };
  g_assert_cmpint (spawn (inspect, NULL, &inspect_out), ==, 0);
  g_assert_nonnull (strstr (inspect_out, "greeting"));

  g_autofree char *runs = g_build_filename (tmp, "runs", NULL);

  g_autofree char *store = g_build_filename (tmp, "store", NULL);
  g_autofree char *run_out = NULL;
  const char *run[] = { STRAND_CLI, "plugins", "run", "hello-stage", "-P", src, "-p", "name=Rosalind",
                        "--runs-dir", runs, "--store", store, "--sample", "S7", NULL };
  g_assert_cmpint (spawn (run, NULL, &run_out), ==, 0);
  g_autofree char *greeting = NULL;
  g_autofree char *run_id = NULL;
  g_autoptr (GDir) d = g_dir_open (runs, 0, NULL);
  run_id = g_strdup (g_dir_read_name (d));
  g_autofree char *path = g_build_filename (runs, run_id, "S7", "hello-stage", "outputs",
                                            "greeting", "greeting.txt", NULL);
  g_assert_true (g_file_get_contents (path, &greeting, NULL, NULL));
  g_assert_cmpstr (greeting, ==, "hello, Rosalind\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("strand-sdk-XXXXXX", NULL);
  g_test_add_func ("/sdk/out-of-tree-example", test_out_of_tree);
  int rc = g_test_run ();
  strand_test_remove_tree (tmp);
  g_free (tmp);
  return rc;
}
