/* Shared by run-archive-write.c and run-archive-read.c. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A relative path that stays inside the directory it is taken from: not
 * empty, not absolute, no empty, "." or ".." components, valid UTF-8 without
 * control characters, at most 4096 bytes. */
gboolean strand_archive_path_is_safe (const char *path);

G_END_DECLS
