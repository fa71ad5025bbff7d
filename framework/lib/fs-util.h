/* Small file-system helpers the store, the ledger and the key share. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Makes a directory's entries durable (after a create, rename or unlink in
 * it). Returns 0, or the errno of the failure; file systems that cannot sync
 * a directory (EINVAL, EROFS) count as success. */
int strand_fsync_dir (const char *path);

/* Reads up to `len` bytes, fewer only at end of file; retries on EINTR.
 * Returns the count, or -1 with errno set. */
gssize strand_read_full (int fd, void *buf, gsize len);

/* Writes all `len` bytes, retrying on EINTR and short writes. Returns 0, or
 * the errno of the failure; `done` (may be NULL) receives the bytes written. */
int strand_write_all (int fd, const void *data, gsize len, gsize *done);

/* Removes a directory and everything below it, not following symbolic
 * links. Returns 0, or the errno of the first failure. */
int strand_remove_tree (const char *path);

G_END_DECLS
