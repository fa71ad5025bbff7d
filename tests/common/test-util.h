/* Helpers the test programs share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Removes a file or a directory tree, read-only parts included (the store
 * makes its objects read-only); symlinks are removed, never followed. */
void strand_test_remove_tree (const char *path);

G_END_DECLS
