/* Helpers the test programs share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes a file or a directory tree, read-only parts included (the store
 * makes its objects read-only); symlinks are removed, never followed. */
void strand_test_remove_tree (const char *path);

/* Writes `contents` to `dir`/`name` and returns that path. */
char *strand_test_write (const char *dir, const char *name, const char *contents);

/* Runs a program from an argv (NULL-terminated list after `program`) in
 * directory `cwd` (NULL: this one) with `envp` (NULL: this process's
 * environment), and returns its exit status,
 * or 128 + the signal that ended it. `out` and `err` (may be NULL) receive
 * what it printed; with --verbose the output is echoed. */
int strand_test_spawn (const char *cwd, char **envp, char **out, char **err, const char *program, ...)
    G_GNUC_NULL_TERMINATED;

/* The same with the program and its arguments as a NULL-terminated argv. */
int strand_test_spawn_argv (const char *cwd, char **envp, const char *const *argv, char **out, char **err);

G_END_DECLS
