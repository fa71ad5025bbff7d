/* The content-addressed store: every data item once, named by its SHA-256.
 *
 * Layout under the store directory:
 *   objects/sha256/AB/ABCDEF...   read-only objects (mode 0444)
 *   tmp/                          objects being written; never trusted
 *   digests.sqlite                path identity -> digest cache
 *   store.json                    settings (quota)
 *
 * Objects are hashed once, while they stream in. They become visible only by
 * rename after their digest is known and their bytes are on disk (file and
 * directory fsync); a file left in tmp/ by a writer that died is deleted by
 * the next strand_store_open() (live writers hold an flock on theirs).
 * Ingesting a file that is already there costs a hash and nothing else, and
 * not even the hash while the file's identity is in digests.sqlite;
 * otherwise the bytes arrive by reflink, a read-only hard link (only when
 * allowed, see strand_store_ingest_file), copy_file_range, or a plain copy,
 * the first that works. When the disk or the quota fills during a write, the
 * partial object is removed and the caller gets STRAND_STORE_ERROR_NO_SPACE;
 * nothing else changes.
 *
 * A StrandStore may be shared by threads. Several processes may open the
 * same directory; each handle counts its own writes in progress against the
 * quota and learns the others' objects only when it sums the objects again
 * (at the first quota check and in strand_store_usage()), so the quota is
 * exact for one writer process and approximate for several. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define STRAND_STORE_ERROR (strand_store_error_quark ())
GQuark strand_store_error_quark (void);

typedef enum {
  STRAND_STORE_ERROR_IO,
  STRAND_STORE_ERROR_NO_SPACE,   /* disk full (ENOSPC, EDQUOT) or store quota reached */
  STRAND_STORE_ERROR_NOT_FOUND,  /* no such object */
  STRAND_STORE_ERROR_INTEGRITY,  /* an object's bytes no longer match its name */
  STRAND_STORE_ERROR_INVALID,    /* bad argument: not a digest, not a regular file */
} StrandStoreErrorCode;

typedef enum {
  STRAND_PLACE_EXISTING = 0, /* already in the store */
  STRAND_PLACE_REFLINK,
  STRAND_PLACE_COPY_RANGE,
  STRAND_PLACE_HARDLINK,
  STRAND_PLACE_COPY,
  STRAND_PLACE_STREAM,       /* written through a StrandStoreWriter */
} StrandPlacement;

const char *strand_placement_name (StrandPlacement placement);

typedef struct {
  char sha256[65];
  char md5[33];   /* metadata for submission portals, never identity */
  guint64 size;
  StrandPlacement placement;
} StrandObjectInfo;

typedef struct StrandStore StrandStore;

/* Opens (creating if needed) the store at `dir`. */
StrandStore *strand_store_open (const char *dir, GError **error);
void strand_store_close (StrandStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandStore, strand_store_close)

const char *strand_store_dir (StrandStore *store);
/* 0: no quota. Persisted in store.json. */
gboolean strand_store_set_quota (StrandStore *store, guint64 bytes, GError **error);
guint64 strand_store_quota (StrandStore *store);

/* Fails with NO_SPACE when `bytes` more would not fit on the disk (statvfs
 * f_bavail) or within the quota (objects plus this handle's writes in
 * progress). Call before a task writes, with its output estimate. */
gboolean strand_store_check_space (StrandStore *store, guint64 bytes, GError **error);

/* Brings a regular file into the store, reading it once (none at all when
 * digests.sqlite knows it and the object is there). Tried in order:
 *   reflink (FICLONE; btrfs, XFS): the clone is hashed, the original untouched;
 *   hard link, only if `allow_link` and the file is already mode 0444 on the
 *     store's file system: a hard link shares the user's inode and its mode,
 *     and chmod on it would change the user's file, so a writable original is
 *     never linked. `allow_link` is the caller's promise not to change it;
 *     the object is then the user's file, and removing it from the store
 *     leaves the user's name alone. Hard links come before copy_file_range,
 *     which on ext4 and tmpfs succeeds as a full copy and would otherwise
 *     make the link unreachable;
 *   copy_file_range into tmp/ (server-side on NFS, shared extents where the
 *     file system can), each chunk read and hashed first;
 *   read + write into tmp/, hashing as it goes.
 * The original's content and mode are never changed. Fails with NO_SPACE
 * when the object does not fit the quota or the disk, unless its bytes turn
 * out to be in the store already (EXISTING); with INVALID for anything but a
 * regular file; with IO when the file changes while it is read. */
gboolean strand_store_ingest_file (StrandStore *store, const char *path, gboolean allow_link,
                                   StrandObjectInfo *info, GError **error);

/* Streaming writes: the digest is computed as the bytes pass. A failed write
 * (NO_SPACE, IO) removes the partial object at once; later writes and the
 * commit return the same error; commit or abort still frees the writer. */
typedef struct StrandStoreWriter StrandStoreWriter;
StrandStoreWriter *strand_store_writer_new (StrandStore *store, GError **error);
gboolean strand_store_writer_write (StrandStoreWriter *writer, const void *data, gsize len,
                                    GError **error);
/* Makes the object visible and frees the writer, on success or failure. */
gboolean strand_store_writer_commit (StrandStoreWriter *writer, StrandObjectInfo *info,
                                     GError **error);
/* Removes the partial object and frees the writer. NULL is ignored. */
void strand_store_writer_abort (StrandStoreWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandStoreWriter, strand_store_writer_abort)

gboolean strand_store_contains (StrandStore *store, const char *sha256);
/* Path of an object (it may not exist); NULL when `sha256` is not 64
 * lower-case hex digits (every function checks this before building a path:
 * FALSE or INVALID). */
char *strand_store_object_path (StrandStore *store, const char *sha256);
/* Re-hashes an object: INTEGRITY when its bytes changed, NOT_FOUND when gone. */
gboolean strand_store_verify (StrandStore *store, const char *sha256, GError **error);
/* Copies (or reflinks) an object to `dest` atomically (a temporary file
 * beside it, fsync, rename over `dest`, directory fsync); never a link that
 * would let the user change the store. `dest` gets mode 0666 less the umask.
 * The copy paths check the digest on the way: a damaged object fails with
 * INTEGRITY and `dest` is left as it was. A reflink is not re-read. */
gboolean strand_store_materialize (StrandStore *store, const char *sha256, const char *dest,
                                   StrandPlacement *placement, GError **error);
gboolean strand_store_remove (StrandStore *store, const char *sha256, GError **error);

/* Calls `func` for every object; stop by returning FALSE. */
typedef gboolean (*StrandStoreForeach) (const char *sha256, guint64 size, gpointer user_data);
void strand_store_foreach (StrandStore *store, StrandStoreForeach func, gpointer user_data);

typedef struct {
  guint64 objects;
  guint64 bytes;          /* sum of object sizes */
  guint64 disk_bytes;     /* blocks the objects occupy (shared hard links once) */
} StrandStoreUsage;
void strand_store_usage (StrandStore *store, StrandStoreUsage *usage);

/* The SHA-256 (and MD5; `md5` may be NULL) of a regular file, reused from
 * the cache while its real path, device, inode, size and modification time
 * (ns) are unchanged. Like make and rsync, a change that keeps the size and
 * puts the old mtime back is not seen. */
gboolean strand_store_file_digest (StrandStore *store, const char *path, char sha256[65],
                                   char md5[33], GError **error);

/* Fault injection for tests: fail with ENOSPC after `bytes` more bytes have
 * been written to the store (writers and ingest copies; not reflinks or hard
 * links), and keep failing, like a full disk, until G_MAXUINT64 turns it
 * off. */
void strand_store_inject_enospc_after (StrandStore *store, guint64 bytes);

/* Many objects at once (the outputs a run publishes after one commit): in
 * a batch, new objects are not synced one by one (two fsyncs each). When
 * the outermost batch ends, the store's syncer thread makes every object
 * and name stored in it durable with one syncfs(), while the caller goes
 * on; strand_store_sync_wait() waits for every batch ended so far (and
 * closing the store does). Objects are visible before they are durable, so
 * a power loss (not a crash of the process) in between can leave an object
 * whose bytes never reached the disk: `strand verify` names it and a
 * resumed run makes it again. A failed sync is reported by the next
 * end_batch() or sync_wait(). */
void strand_store_begin_batch (StrandStore *store);
gboolean strand_store_end_batch (StrandStore *store, GError **error);
gboolean strand_store_sync_wait (StrandStore *store, GError **error);

G_END_DECLS
