/* Small file-system helpers the store, the ledger and the key share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Makes a directory's entries durable (after a create, rename or unlink in
 * it). Returns 0, or the errno of the failure; file systems that cannot sync
 * a directory (EINVAL, EROFS) count as success. */
int strand_fsync_dir (const char *path);

G_END_DECLS
