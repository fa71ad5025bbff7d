#include "test-util.h"

#include <glib/gstdio.h>
#include <sys/wait.h>

void
strand_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_chmod (path, 0700);
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          strand_test_remove_tree (child);
        }
      g_rmdir (path);
      return;
    }
  g_unlink (path);
}

char *
strand_test_write (const char *dir, const char *name, const char *contents)
{
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return path;
}

int
strand_test_spawn (const char *cwd, char **envp, char **out, char **err, const char *program, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) program);
  va_list ap;
  va_start (ap, program);
  const char *arg;
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return strand_test_spawn_argv (cwd, envp, (const char *const *) argv->pdata, out, err);
}

int
strand_test_spawn_argv (const char *cwd, char **envp, const char *const *argv, char **out, char **err)
{
  int status = 0;
  g_autofree char *o = NULL, *e = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_spawn_sync (cwd, (char **) argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, &o, &e, &status, &error))
    g_error ("cannot run %s: %s", argv[0], error->message);
  if (g_test_verbose ())
    g_printerr ("%s%s", o, e);
  if (out)
    *out = g_steal_pointer (&o);
  if (err)
    *err = g_steal_pointer (&e);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}
