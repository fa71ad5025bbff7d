/* Helpers the test programs share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes a file or a directory tree, read-only parts included (the store
 * makes its objects read-only); symlinks are removed, never followed. */
void strand_test_remove_tree (const char *path);

/* Runs a program from an argv (NULL-terminated list after `program`) in
 * directory `cwd` (NULL: this one) with `envp` (NULL: this process's
 * environment), and returns its exit status,
 * or 128 + the signal that ended it. `out` and `err` (may be NULL) receive
 * what it printed; with --verbose the output is echoed. */
int strand_test_spawn (const char *cwd, char **envp, char **out, char **err, const char *program, ...)
    G_GNUC_NULL_TERMINATED;

G_END_DECLS
