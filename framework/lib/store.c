/* The content-addressed store. See store.h for the contract; store-hash.c
 * computes the digests, store-cache.c keeps digests.sqlite.
 *
 * Every object is born in tmp/ (or, for a hard link, directly under its
 * name by link(), which is atomic), hashed as its bytes pass, made mode 0444,
 * fsynced, then renamed (RENAME_NOREPLACE) to objects/sha256/AB/<digest> and
 * the directory fsynced; inside a batch both syncs wait for one syncfs() by
 * the syncer thread once it ends. A tmp/ file is locked (flock) by the handle writing
 * it, so opening the store deletes only files whose writer is gone. */
#include "store.h"

#include "digest.h"
#include "json-util.h"
#include "fs-util.h"
#include "store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

G_DEFINE_QUARK (strand-store-error-quark, strand_store_error)

struct StrandStore {
  char *dir;
  char *objects; /* dir/objects/sha256 */
  char *tmp;     /* dir/tmp */
  StoreCache *cache;
  GMutex lock;   /* guards what follows */
  guint64 quota;
  gboolean usage_known;
  guint64 used;     /* sum of object sizes, once usage_known */
  guint64 inflight; /* bytes reserved by writes in progress through this handle */
  guint64 inject;   /* simulated ENOSPC after this many bytes; G_MAXUINT64: off */
  guint batch;      /* strand_store_begin_batch() depth */
  gboolean unsynced; /* objects stored in the batch wait for its end */
  /* The syncer thread: syncfs() for ended batches, off the caller's path. */
  GThread *syncer;
  GCond sync_cond;
  guint64 sync_asked, sync_done; /* batches handed over, and synced */
  gboolean sync_stop;
  int sync_error;                /* the first failure, until reported */
};

struct StrandStoreWriter {
  StrandStore *store;
  int fd;
  char *tmp_path;
  StoreHash *hash;
  StoreChunk *chunk; /* being filled */
  guint64 reserved;  /* against the quota */
  guint64 written;
  GError *failure;   /* set once a write failed; the partial object is gone */
};

const char *
strand_placement_name (StrandPlacement placement)
{
  switch (placement)
    {
    case STRAND_PLACE_EXISTING: return "existing";
    case STRAND_PLACE_REFLINK: return "reflink";
    case STRAND_PLACE_COPY_RANGE: return "copy_file_range";
    case STRAND_PLACE_HARDLINK: return "hardlink";
    case STRAND_PLACE_COPY: return "copy";
    case STRAND_PLACE_STREAM: return "stream";
    }
  return "unknown";
}

/* ---- small helpers ---------------------------------------------------- */

/* Makes a new object's bytes (fd) or name (dir) durable: at once, or at
 * the end of the batch. 0 or an errno. */
static int
sync_new_fd (StrandStore *store, int fd)
{
  g_mutex_lock (&store->lock);
  gboolean later = store->batch > 0;
  store->unsynced |= later;
  g_mutex_unlock (&store->lock);
  if (later)
    return 0;
  return fsync (fd) != 0 && errno != EINVAL && errno != EROFS ? errno : 0;
}

static int
sync_new_dir (StrandStore *store, const char *dir)
{
  g_mutex_lock (&store->lock);
  gboolean later = store->batch > 0;
  store->unsynced |= later;
  g_mutex_unlock (&store->lock);
  return later ? 0 : strand_fsync_dir (dir);
}

static int
code_for_errno (int err, int fallback)
{
  return err == ENOSPC || err == EDQUOT ? STRAND_STORE_ERROR_NO_SPACE : fallback;
}

G_GNUC_PRINTF (4, 5) static gboolean
fail_errno (GError **error, int err, int fallback, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, STRAND_STORE_ERROR, code_for_errno (err, fallback), "%s: %s", what,
               g_strerror (err));
  return FALSE;
}

static char *
size_text (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_LONG_FORMAT);
}

static gboolean
same_identity (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int
copy_range_all (int src, gint64 src_off, int dst, gint64 dst_off, gsize len, gsize *done)
{
  *done = 0;
  loff_t in = src_off, out = dst_off;
  while (*done < len)
    {
      ssize_t n = copy_file_range (src, &in, dst, &out, len - *done, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return errno;
      if (n == 0) /* the source shrank under us */
        return EIO;
      *done += (gsize) n;
    }
  return 0;
}

/* errno values of copy_file_range and FICLONE that mean "not here". */
static gboolean
unsupported_errno (int err)
{
  return err == EXDEV || err == EOPNOTSUPP || err == ENOTSUP || err == EINVAL || err == ENOSYS ||
         err == ENOTTY || err == EBADF || err == ETXTBSY || err == EPERM;
}

static char *
prefix_dir (StrandStore *store, const char *sha256)
{
  char prefix[3] = { sha256[0], sha256[1], '\0' };
  return g_build_filename (store->objects, prefix, NULL);
}

char *
strand_store_object_path (StrandStore *store, const char *sha256)
{
  g_return_val_if_fail (store != NULL, NULL);
  if (!strand_sha256_hex_is_valid (sha256))
    return NULL;
  char prefix[3] = { sha256[0], sha256[1], '\0' };
  return g_build_filename (store->objects, prefix, sha256, NULL);
}

static gboolean
invalid_digest (GError **error, const char *sha256)
{
  g_autofree char *shown = sha256 ? g_strescape (sha256, NULL) : g_strdup ("(null)");
  if (strlen (shown) > 80)
    strcpy (shown + 77, "...");
  g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID,
               "'%s' is not a SHA-256 digest (64 lower-case hex digits)", shown);
  return FALSE;
}

/* TRUE when the object exists with `size` bytes (a different size means it
 * was damaged; the caller may replace it). */
static gboolean
object_present (StrandStore *store, const char *sha256, guint64 size)
{
  g_autofree char *path = strand_store_object_path (store, sha256);
  struct stat st;
  return path != NULL && lstat (path, &st) == 0 && S_ISREG (st.st_mode) &&
         (guint64) st.st_size == size;
}

gboolean
strand_store_contains (StrandStore *store, const char *sha256)
{
  g_return_val_if_fail (store != NULL, FALSE);
  g_autofree char *path = strand_store_object_path (store, sha256);
  struct stat st;
  return path != NULL && lstat (path, &st) == 0 && S_ISREG (st.st_mode);
}

const char *
strand_store_dir (StrandStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  return store->dir;
}

/* ---- walking the objects ---------------------------------------------- */

typedef gboolean (*WalkFunc) (const char *sha256, const struct stat *st, gpointer data);

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static char **
sorted_names (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static void
walk_objects (StrandStore *store, WalkFunc func, gpointer data)
{
  g_auto (GStrv) prefixes = sorted_names (store->objects);
  for (char **p = prefixes; *p != NULL; p++)
    {
      if (strlen (*p) != 2)
        continue;
      g_autofree char *sub = g_build_filename (store->objects, *p, NULL);
      g_auto (GStrv) names = sorted_names (sub);
      for (char **n = names; *n != NULL; n++)
        {
          if (!strand_sha256_hex_is_valid (*n) || strncmp (*n, *p, 2) != 0)
            continue;
          g_autofree char *path = g_build_filename (sub, *n, NULL);
          struct stat st;
          if (lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
            continue;
          if (!func (*n, &st, data))
            return;
        }
    }
}

typedef struct {
  StrandStoreUsage usage;
  GHashTable *linked; /* "dev:ino" of objects with more than one link */
} UsageWalk;

static gboolean
usage_one (const char *sha256, const struct stat *st, gpointer data)
{
  UsageWalk *walk = data;
  walk->usage.objects++;
  walk->usage.bytes += (guint64) st->st_size;
  if (st->st_nlink > 1)
    {
      char *key = g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                                   (guint64) st->st_dev, (guint64) st->st_ino);
      if (!g_hash_table_add (walk->linked, key))
        return TRUE;
    }
  walk->usage.disk_bytes += (guint64) st->st_blocks * 512;
  return TRUE;
}

static void
compute_usage (StrandStore *store, StrandStoreUsage *usage)
{
  UsageWalk walk = { { 0 }, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  walk_objects (store, usage_one, &walk);
  g_hash_table_unref (walk.linked);
  *usage = walk.usage;
}

/* With store->lock held. */
static void
ensure_usage_locked (StrandStore *store)
{
  if (store->usage_known)
    return;
  StrandStoreUsage usage;
  compute_usage (store, &usage);
  store->used = usage.bytes;
  store->usage_known = TRUE;
}

void
strand_store_usage (StrandStore *store, StrandStoreUsage *usage)
{
  g_return_if_fail (store != NULL && usage != NULL);
  g_mutex_lock (&store->lock);
  compute_usage (store, usage);
  store->used = usage->bytes;
  store->usage_known = TRUE;
  g_mutex_unlock (&store->lock);
}

typedef struct {
  StrandStoreForeach func;
  gpointer data;
} ForeachWalk;

static gboolean
foreach_one (const char *sha256, const struct stat *st, gpointer data)
{
  ForeachWalk *walk = data;
  return walk->func (sha256, (guint64) st->st_size, walk->data);
}

void
strand_store_foreach (StrandStore *store, StrandStoreForeach func, gpointer user_data)
{
  g_return_if_fail (store != NULL && func != NULL);
  ForeachWalk walk = { func, user_data };
  walk_objects (store, foreach_one, &walk);
}

/* ---- space accounting ------------------------------------------------- */

/* With store->lock held: fails when `bytes` more would pass the quota. */
static gboolean
quota_allows_locked (StrandStore *store, guint64 bytes, const char *what, GError **error)
{
  if (store->quota == 0)
    return TRUE;
  ensure_usage_locked (store);
  guint64 committed = store->used + store->inflight;
  if (committed <= store->quota && bytes <= store->quota - committed)
    return TRUE;
  g_autofree char *q = size_text (store->quota);
  g_autofree char *u = size_text (store->used);
  g_autofree char *f = size_text (store->inflight);
  g_autofree char *b = size_text (bytes);
  g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE,
               "store %s: quota of %s reached (%s): objects hold %s, writes in progress %s, "
               "%s more needed (--store-quota)",
               store->dir, q, what, u, f, b);
  return FALSE;
}

static gboolean
disk_allows (StrandStore *store, guint64 bytes, const char *what, GError **error)
{
  struct statvfs vfs;
  if (statvfs (store->objects, &vfs) != 0)
    return fail_errno (error, errno, STRAND_STORE_ERROR_IO, "store %s: cannot read free space",
                       store->dir);
  guint64 avail = (guint64) vfs.f_bavail * (guint64) vfs.f_frsize;
  if (bytes <= avail)
    return TRUE;
  g_autofree char *b = size_text (bytes);
  g_autofree char *a = size_text (avail);
  g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE,
               "store %s: %s needed (%s) but only %s free on its file system", store->dir, b, what,
               a);
  return FALSE;
}

gboolean
strand_store_check_space (StrandStore *store, guint64 bytes, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  const char *what = "declared output estimate";
  g_mutex_lock (&store->lock);
  gboolean ok = quota_allows_locked (store, bytes, what, error);
  g_mutex_unlock (&store->lock);
  return ok && disk_allows (store, bytes, what, error);
}

/* Reserves `len` bytes of the quota (added to *reserved) and says how many
 * of them may really be written before the injected ENOSPC. */
static gboolean
store_reserve (StrandStore *store, guint64 len, const char *what, guint64 *reserved,
               guint64 *allowed, GError **error)
{
  g_mutex_lock (&store->lock);
  if (!quota_allows_locked (store, len, what, error))
    {
      g_mutex_unlock (&store->lock);
      return FALSE;
    }
  store->inflight += len;
  *reserved += len;
  guint64 ok = len;
  if (allowed != NULL && store->inject != G_MAXUINT64)
    {
      ok = MIN (len, store->inject);
      store->inject -= ok;
    }
  if (allowed != NULL)
    *allowed = ok;
  g_mutex_unlock (&store->lock);
  return TRUE;
}

static void
store_release (StrandStore *store, guint64 *reserved)
{
  g_mutex_lock (&store->lock);
  store->inflight -= MIN (*reserved, store->inflight);
  *reserved = 0;
  g_mutex_unlock (&store->lock);
}

static void
store_account (StrandStore *store, gint64 delta)
{
  g_mutex_lock (&store->lock);
  if (store->usage_known)
    store->used = delta < 0 ? store->used - MIN (store->used, (guint64) -delta)
                            : store->used + (guint64) delta;
  g_mutex_unlock (&store->lock);
}

void
strand_store_inject_enospc_after (StrandStore *store, guint64 bytes)
{
  g_return_if_fail (store != NULL);
  g_mutex_lock (&store->lock);
  store->inject = bytes;
  g_mutex_unlock (&store->lock);
}

/* ---- writing bytes ---------------------------------------------------- */

/* Where a copy goes: a tmp/ file of the store (accounted, fault-injected) or
 * a file outside it (materialize). */
typedef struct {
  StrandStore *store; /* NULL: outside the store */
  int fd;
  const char *what;   /* for messages: "a new object", "'PATH'" */
  const char *doing;  /* for quota messages: "writing a new object" */
  guint64 written;
  guint64 reserved;
  gboolean try_range; /* copy_file_range from the source, until it refuses */
  gboolean range_used;
} Sink;

/* Appends `len` bytes: `data`, which are also bytes [src_off, src_off+len)
 * of `src` (or src < 0). */
static gboolean
sink_put (Sink *sink, const guint8 *data, gsize len, int src, gint64 src_off, GError **error)
{
  guint64 allowed = len;
  if (sink->store != NULL &&
      !store_reserve (sink->store, len, sink->doing, &sink->reserved, &allowed, error))
    return FALSE;
  int err = 0;
  gsize done = 0;
  if (sink->try_range && src >= 0)
    {
      err = copy_range_all (src, src_off, sink->fd, (gint64) sink->written, (gsize) allowed, &done);
      if (err != 0 && done == 0 && !sink->range_used && unsupported_errno (err))
        {
          sink->try_range = FALSE; /* refused before any byte: write instead */
          err = 0;
        }
      else
        sink->range_used = TRUE;
    }
  if (!sink->try_range || src < 0)
    err = strand_write_all (sink->fd, data, (gsize) allowed, &done);
  sink->written += done;
  if (err == 0 && allowed < len)
    err = ENOSPC; /* strand_store_inject_enospc_after */
  if (err == 0)
    return TRUE;
  g_autofree char *w = size_text (sink->written);
  if (sink->store != NULL)
    g_set_error (error, STRAND_STORE_ERROR, code_for_errno (err, STRAND_STORE_ERROR_IO),
                 "store %s: %s while writing %s after %s; the partial object was removed",
                 sink->store->dir, g_strerror (err), sink->what, w);
  else
    g_set_error (error, STRAND_STORE_ERROR, code_for_errno (err, STRAND_STORE_ERROR_IO),
                 "%s: %s after %s; the partial copy was removed", sink->what, g_strerror (err), w);
  return FALSE;
}

/* A new locked file in tmp/. The lock tells strand_store_open() in another
 * handle or process that someone is still writing it. */
static int
make_tmp (StrandStore *store, char **path_out, GError **error)
{
  for (int attempt = 0; attempt < 16; attempt++)
    {
      char *path = g_build_filename (store->tmp, "obj-XXXXXX", NULL);
      int fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          int saved = errno;
          g_free (path);
          return fail_errno (error, saved, STRAND_STORE_ERROR_IO,
                             "store %s: cannot create a file in tmp/", store->dir), -1;
        }
      struct stat a, b;
      if (flock (fd, LOCK_EX) == 0 && fstat (fd, &a) == 0 && stat (path, &b) == 0 &&
          a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        {
          *path_out = path;
          return fd;
        }
      /* Cleaned away by an opening store between create and lock: again. */
      close (fd);
      g_free (path);
    }
  g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO,
               "store %s: cannot keep a file in tmp/", store->dir);
  return -1;
}

/* Deletes tmp/ files nobody holds: their writers died before committing. */
static void
clean_tmp (StrandStore *store)
{
  g_autoptr (GDir) dir = g_dir_open (store->tmp, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (store->tmp, name, NULL);
      int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0)
        {
          if (errno == ELOOP)
            g_unlink (path);
          continue;
        }
      if (flock (fd, LOCK_EX | LOCK_NB) == 0)
        {
          g_unlink (path);
          g_debug ("store %s: removed uncommitted %s", store->dir, name);
        }
      close (fd);
    }
}

static gboolean
ensure_prefix_dir (StrandStore *store, const char *sha256, char **dir_out, GError **error)
{
  char *dir = prefix_dir (store, sha256);
  if (mkdir (dir, 0755) == 0)
    {
      int err = sync_new_dir (store, store->objects);
      if (err != 0)
        {
          g_free (dir);
          return fail_errno (error, err, STRAND_STORE_ERROR_IO, "store %s: cannot sync %s",
                             store->dir, store->objects);
        }
    }
  else if (errno != EEXIST)
    {
      int saved = errno;
      g_free (dir);
      return fail_errno (error, saved, STRAND_STORE_ERROR_IO, "store %s: cannot create %s",
                         store->dir, dir);
    }
  *dir_out = dir;
  return TRUE;
}

/* Commits a fully written tmp/ file (fd still open; closed here) under its
 * digest, or drops it when the object is already there. */
static gboolean
commit_tmp (StrandStore *store, int fd, const char *tmp_path, const char *sha256, guint64 size,
            StrandPlacement how, StrandPlacement *placement, GError **error)
{
  g_autofree char *obj = strand_store_object_path (store, sha256);
  struct stat old;
  gboolean replace = FALSE;
  if (lstat (obj, &old) == 0)
    {
      if (S_ISREG (old.st_mode) && (guint64) old.st_size == size)
        {
          close (fd);
          g_unlink (tmp_path);
          *placement = STRAND_PLACE_EXISTING;
          return TRUE;
        }
      /* Damaged (wrong size) or not a file: the fresh bytes replace it. */
      replace = TRUE;
    }
  int err = fchmod (fd, 0444) != 0 ? errno : sync_new_fd (store, fd);
  if (close (fd) != 0 && err == 0)
    err = errno;
  if (err != 0)
    {
      g_unlink (tmp_path);
      g_autofree char *s = size_text (size);
      return fail_errno (error, err, STRAND_STORE_ERROR_IO,
                         "store %s: cannot sync the new object %s (%s); it was removed",
                         store->dir, sha256, s);
    }
  g_autofree char *dir = NULL;
  if (!ensure_prefix_dir (store, sha256, &dir, error))
    {
      g_unlink (tmp_path);
      return FALSE;
    }
  int rc = replace ? rename (tmp_path, obj)
                   : renameat2 (AT_FDCWD, tmp_path, AT_FDCWD, obj, RENAME_NOREPLACE);
  if (rc != 0 && !replace && (errno == EINVAL || errno == ENOSYS))
    {
      /* No RENAME_NOREPLACE here: link() refuses an existing name too. */
      rc = link (tmp_path, obj);
      if (rc == 0 || errno == EEXIST)
        g_unlink (tmp_path);
    }
  if (rc != 0 && errno == EEXIST)
    {
      /* Another writer committed the same bytes first. */
      g_unlink (tmp_path);
      *placement = STRAND_PLACE_EXISTING;
      return TRUE;
    }
  if (rc != 0)
    {
      int saved = errno;
      g_unlink (tmp_path);
      return fail_errno (error, saved, STRAND_STORE_ERROR_IO, "store %s: cannot commit %s",
                         store->dir, sha256);
    }
  err = sync_new_dir (store, dir);
  if (err != 0)
    return fail_errno (error, err, STRAND_STORE_ERROR_IO, "store %s: cannot sync %s", store->dir,
                       dir);
  store_account (store, (gint64) size - (replace && S_ISREG (old.st_mode) ? (gint64) old.st_size : 0));
  *placement = how;
  return TRUE;
}

/* ---- open, close, settings -------------------------------------------- */

static gboolean
make_dir (const char *path, int mode, GError **error)
{
  if (g_mkdir_with_parents (path, mode) != 0)
    return fail_errno (error, errno, STRAND_STORE_ERROR_IO, "store: cannot create %s", path);
  return TRUE;
}

static gboolean
load_settings (StrandStore *store, GError **error)
{
  g_autofree char *path = g_build_filename (store->dir, "store.json", NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO, "store %s: %s", store->dir,
                   local->message);
      return FALSE;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root = NULL;
  if (json_parser_load_from_data (parser, text, (gssize) len, &local))
    root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID,
                   "store %s: store.json is damaged%s%s", store->dir, local ? ": " : "",
                   local ? local->message : "");
      return FALSE;
    }
  gint64 quota = strand_json_int (json_node_get_object (root), "quota", 0);
  if (quota < 0)
    {
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID,
                   "store %s: store.json: quota %" G_GINT64_FORMAT " is negative", store->dir,
                   quota);
      return FALSE;
    }
  store->quota = (guint64) quota;
  return TRUE;
}

static gboolean
save_settings (StrandStore *store, guint64 quota, GError **error)
{
  g_autofree char *path = g_build_filename (store->dir, "store.json", NULL);
  g_autofree char *text = g_strdup_printf (
      "{\"format\":\"strand-store\",\"quota\":%" G_GUINT64_FORMAT ",\"version\":1}\n", quota);
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, STRAND_STORE_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOSPC)
                       ? STRAND_STORE_ERROR_NO_SPACE : STRAND_STORE_ERROR_IO,
                   "store %s: cannot save the quota: %s", store->dir, local->message);
      return FALSE;
    }
  int err = strand_fsync_dir (store->dir);
  if (err != 0)
    return fail_errno (error, err, STRAND_STORE_ERROR_IO, "store %s: cannot sync", store->dir);
  return TRUE;
}

StrandStore *
strand_store_open (const char *dir, GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);
  g_autoptr (StrandStore) store = g_new0 (StrandStore, 1);
  g_mutex_init (&store->lock);
  g_cond_init (&store->sync_cond);
  store->inject = G_MAXUINT64;
  store->dir = g_canonicalize_filename (dir, NULL);
  store->objects = g_build_filename (store->dir, "objects", "sha256", NULL);
  store->tmp = g_build_filename (store->dir, "tmp", NULL);
  if (!make_dir (store->objects, 0755, error) || !make_dir (store->tmp, 0700, error) ||
      !load_settings (store, error))
    return NULL;
  /* The directories themselves must survive a crash (cheap when unchanged). */
  g_autofree char *objects_parent = g_path_get_dirname (store->objects);
  int err = strand_fsync_dir (store->dir);
  if (err == 0)
    err = strand_fsync_dir (objects_parent);
  if (err != 0)
    {
      fail_errno (error, err, STRAND_STORE_ERROR_IO, "store %s: cannot sync", store->dir);
      return NULL;
    }
  clean_tmp (store);
  g_autofree char *cache_path = g_build_filename (store->dir, "digests.sqlite", NULL);
  g_autoptr (GError) cache_error = NULL;
  store->cache = store_cache_open (cache_path, &cache_error);
  if (store->cache == NULL)
    g_warning ("store %s: digest cache unavailable, every input will be hashed: %s",
               store->dir, cache_error->message);
  return g_steal_pointer (&store);
}

void
strand_store_close (StrandStore *store)
{
  if (store == NULL)
    return;
  if (store->syncer != NULL)
    {
      strand_store_sync_wait (store, NULL);
      g_mutex_lock (&store->lock);
      store->sync_stop = TRUE;
      g_cond_broadcast (&store->sync_cond);
      g_mutex_unlock (&store->lock);
      g_thread_join (store->syncer);
    }
  store_cache_close (store->cache);
  g_cond_clear (&store->sync_cond);
  g_mutex_clear (&store->lock);
  g_free (store->dir);
  g_free (store->objects);
  g_free (store->tmp);
  g_free (store);
}

gboolean
strand_store_set_quota (StrandStore *store, guint64 bytes, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  if (!save_settings (store, bytes, error))
    return FALSE;
  g_mutex_lock (&store->lock);
  store->quota = bytes;
  g_mutex_unlock (&store->lock);
  return TRUE;
}

guint64
strand_store_quota (StrandStore *store)
{
  g_return_val_if_fail (store != NULL, 0);
  g_mutex_lock (&store->lock);
  guint64 quota = store->quota;
  g_mutex_unlock (&store->lock);
  return quota;
}

/* ---- streaming writer ------------------------------------------------- */

StrandStoreWriter *
strand_store_writer_new (StrandStore *store, GError **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  char *tmp_path = NULL;
  int fd = make_tmp (store, &tmp_path, error);
  if (fd < 0)
    return NULL;
  StrandStoreWriter *writer = g_new0 (StrandStoreWriter, 1);
  writer->store = store;
  writer->fd = fd;
  writer->tmp_path = tmp_path;
  writer->hash = store_hash_new (TRUE);
  return writer;
}

/* Drops the partial object at once, so a full disk has its space back. */
static void
writer_discard (StrandStoreWriter *writer)
{
  if (writer->fd >= 0)
    {
      close (writer->fd);
      writer->fd = -1;
      g_unlink (writer->tmp_path);
    }
  store_release (writer->store, &writer->reserved);
}

static void
writer_free (StrandStoreWriter *writer)
{
  writer_discard (writer);
  store_hash_free (writer->hash);
  g_free (writer->tmp_path);
  g_clear_error (&writer->failure);
  g_free (writer);
}

static gboolean
writer_flush (StrandStoreWriter *writer, GError **error)
{
  StoreChunk *chunk = writer->chunk;
  writer->chunk = NULL;
  /* Hash first: the MD5 thread reads the chunk while write() does. */
  store_hash_give (writer->hash, chunk);
  Sink sink = { writer->store, writer->fd, "a new object", "writing a new object",
                writer->written, 0, FALSE, FALSE };
  gboolean ok = sink_put (&sink, chunk->data, chunk->len, -1, 0, error);
  writer->written = sink.written;
  writer->reserved += sink.reserved;
  return ok;
}

static gboolean
writer_failed (StrandStoreWriter *writer, GError *error_in, GError **error)
{
  writer_discard (writer);
  writer->failure = g_error_copy (error_in);
  g_propagate_error (error, error_in);
  return FALSE;
}

gboolean
strand_store_writer_write (StrandStoreWriter *writer, const void *data, gsize len, GError **error)
{
  g_return_val_if_fail (writer != NULL && (data != NULL || len == 0), FALSE);
  if (writer->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (writer->failure));
      return FALSE;
    }
  const guint8 *p = data;
  while (len > 0)
    {
      if (writer->chunk == NULL)
        writer->chunk = store_hash_take (writer->hash);
      StoreChunk *chunk = writer->chunk;
      gsize n = MIN (len, STORE_CHUNK_SIZE - chunk->len);
      memcpy (chunk->data + chunk->len, p, n);
      chunk->len += n;
      p += n;
      len -= n;
      if (chunk->len == STORE_CHUNK_SIZE)
        {
          GError *local = NULL;
          if (!writer_flush (writer, &local))
            return writer_failed (writer, local, error);
        }
    }
  return TRUE;
}

gboolean
strand_store_writer_commit (StrandStoreWriter *writer, StrandObjectInfo *info, GError **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  if (writer->failure != NULL)
    {
      g_propagate_error (error, g_error_copy (writer->failure));
      writer_free (writer);
      return FALSE;
    }
  GError *local = NULL;
  if (writer->chunk != NULL && writer->chunk->len > 0 && !writer_flush (writer, &local))
    {
      g_propagate_error (error, local);
      writer_free (writer);
      return FALSE;
    }
  if (writer->chunk != NULL)
    store_hash_put_back (writer->hash, writer->chunk);
  writer->chunk = NULL;
  StrandObjectInfo out = { .size = writer->written };
  store_hash_finish (writer->hash, out.sha256, out.md5);
  int fd = writer->fd;
  writer->fd = -1; /* commit_tmp closes it and removes the tmp file on failure */
  gboolean ok = commit_tmp (writer->store, fd, writer->tmp_path, out.sha256, out.size,
                            STRAND_PLACE_STREAM, &out.placement, error);
  writer_free (writer);
  if (ok && info != NULL)
    *info = out;
  return ok;
}

void
strand_store_writer_abort (StrandStoreWriter *writer)
{
  if (writer == NULL)
    return;
  if (writer->chunk != NULL)
    store_hash_put_back (writer->hash, writer->chunk);
  writer_free (writer);
}

/* ---- hashing files ---------------------------------------------------- */

/* One pass over `fd` from its current offset to the end. */
static gboolean
hash_fd (int fd, gboolean with_md5, const char *name, char sha256[65], char md5[33],
         guint64 *total, GError **error)
{
  g_autoptr (StoreHash) hash = store_hash_new (with_md5);
  for (;;)
    {
      StoreChunk *chunk = store_hash_take (hash);
      gssize n = strand_read_full (fd, chunk->data, STORE_CHUNK_SIZE);
      if (n < 0)
        {
          int saved = errno;
          store_hash_put_back (hash, chunk);
          return fail_errno (error, saved, STRAND_STORE_ERROR_IO,
                             "%s: read failed after %" G_GUINT64_FORMAT " bytes", name,
                             store_hash_total (hash));
        }
      if (n == 0)
        {
          store_hash_put_back (hash, chunk);
          break;
        }
      chunk->len = (gsize) n;
      store_hash_give (hash, chunk);
    }
  *total = store_hash_total (hash);
  store_hash_finish (hash, sha256, md5);
  return TRUE;
}

static gboolean
changed_error (const char *path, GError **error)
{
  g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO,
               "'%s' changed while it was being read; try again once it is complete", path);
  return FALSE;
}

/* Opens a regular file to hash or ingest. */
static int
open_input (const char *path, struct stat *st, char **real, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail_errno (error, errno, STRAND_STORE_ERROR_IO, "cannot open '%s'", path), -1;
  if (fstat (fd, st) != 0)
    {
      int saved = errno;
      close (fd);
      return fail_errno (error, saved, STRAND_STORE_ERROR_IO, "cannot stat '%s'", path), -1;
    }
  if (!S_ISREG (st->st_mode))
    {
      close (fd);
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID,
                   "'%s' is not a regular file", path);
      return -1;
    }
  char *r = realpath (path, NULL);
  *real = r != NULL ? g_strdup (r) : g_canonicalize_filename (path, NULL);
  free (r);
#ifdef POSIX_FADV_SEQUENTIAL
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return fd;
}

/* Hashes the open input and checks it did not change meanwhile. */
static gboolean
hash_input (int fd, const char *path, const struct stat *st, char sha256[65], char md5[33],
            GError **error)
{
  guint64 total = 0;
  if (lseek (fd, 0, SEEK_SET) != 0)
    return fail_errno (error, errno, STRAND_STORE_ERROR_IO, "cannot seek '%s'", path);
  if (!hash_fd (fd, TRUE, path, sha256, md5, &total, error))
    return FALSE;
  struct stat after;
  if (fstat (fd, &after) != 0 || !same_identity (st, &after) || total != (guint64) st->st_size)
    return changed_error (path, error);
  return TRUE;
}

gboolean
strand_store_file_digest (StrandStore *store, const char *path, char sha256[65], char md5[33],
                          GError **error)
{
  g_return_val_if_fail (store != NULL && path != NULL && sha256 != NULL, FALSE);
  struct stat st;
  g_autofree char *real = NULL;
  int fd = open_input (path, &st, &real, error);
  if (fd < 0)
    return FALSE;
  char s[65], m[33];
  gboolean ok = TRUE;
  if (!store_cache_lookup (store->cache, real, &st, s, m))
    {
      ok = hash_input (fd, path, &st, s, m, error);
      if (ok)
        store_cache_record (store->cache, real, &st, s, m);
    }
  close (fd);
  if (!ok)
    return FALSE;
  memcpy (sha256, s, 65);
  if (md5 != NULL)
    memcpy (md5, m, 33);
  return TRUE;
}

/* ---- ingest ----------------------------------------------------------- */

typedef enum { TRY_DONE, TRY_FAILED, TRY_NEXT } TryResult;

/* Reflink: the clone is a snapshot, so it is the clone that is hashed. */
static TryResult
try_reflink (StrandStore *store, int src, const char *path, const struct stat *st,
             StrandObjectInfo *out, GError **error)
{
  char *tmp_path = NULL;
  int fd = make_tmp (store, &tmp_path, NULL);
  if (fd < 0)
    return TRY_NEXT;
  g_autofree char *tmp = tmp_path;
  if (ioctl (fd, FICLONE, src) != 0)
    {
      close (fd);
      g_unlink (tmp);
      return TRY_NEXT;
    }
  guint64 total = 0;
  struct stat after;
  gboolean ok = hash_fd (fd, TRUE, tmp, out->sha256, out->md5, &total, error);
  if (ok && (fstat (src, &after) != 0 || !same_identity (st, &after) || total != out->size))
    ok = changed_error (path, error);
  if (!ok)
    {
      close (fd);
      g_unlink (tmp);
      return TRY_FAILED;
    }
  return commit_tmp (store, fd, tmp, out->sha256, out->size, STRAND_PLACE_REFLINK,
                     &out->placement, error) ? TRY_DONE : TRY_FAILED;
}

/* A hard link makes the user's inode the object, so it is used only when
 * that inode is already what an object must be: mode 0444 (chmod on a link
 * would change the user's file), on the store's file system. */
static gboolean
link_eligible (StrandStore *store, const struct stat *st)
{
  struct stat objects;
  return (st->st_mode & 07777) == 0444 && stat (store->objects, &objects) == 0 &&
         objects.st_dev == st->st_dev;
}

/* `cached`: digests.sqlite gave the digest of this very inode, unchanged
 * since (identity, size, mtime), so it is not read again. */
static TryResult
try_hardlink (StrandStore *store, int src, const char *path, const struct stat *st,
              gboolean cached, StrandObjectInfo *out, GError **error)
{
  if (!cached && !hash_input (src, path, st, out->sha256, out->md5, error))
    return TRY_FAILED;
  if (object_present (store, out->sha256, out->size))
    {
      out->placement = STRAND_PLACE_EXISTING;
      return TRY_DONE;
    }
  /* The bytes are the user's: make sure they are on disk first. */
  int synced = sync_new_fd (store, src);
  if (synced != 0)
    return fail_errno (error, synced, STRAND_STORE_ERROR_IO, "cannot sync '%s'", path), TRY_FAILED;
  g_autofree char *dir = NULL;
  if (!ensure_prefix_dir (store, out->sha256, &dir, error))
    return TRY_FAILED;
  g_autofree char *obj = strand_store_object_path (store, out->sha256);
  g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", src);
  int rc = linkat (AT_FDCWD, proc, AT_FDCWD, obj, AT_SYMLINK_FOLLOW);
  if (rc != 0 && errno == ENOENT && !g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR))
    {
      /* No /proc: link by name, then make sure it is the inode we hashed. */
      struct stat linked;
      rc = link (path, obj);
      if (rc == 0 && (lstat (obj, &linked) != 0 || linked.st_ino != st->st_ino ||
                      linked.st_dev != st->st_dev))
        {
          g_unlink (obj);
          return changed_error (path, error), TRY_FAILED;
        }
    }
  if (rc != 0 && errno == EEXIST)
    {
      out->placement = STRAND_PLACE_EXISTING;
      return TRY_DONE;
    }
  if (rc != 0)
    {
      /* EPERM (fs.protected_hardlinks), EMLINK, ...: copy instead. This
       * reads the file a second time; it is the rare case. */
      g_debug ("store %s: cannot hard-link '%s' (%s); copying", store->dir, path,
               g_strerror (errno));
      return TRY_NEXT;
    }
  int err = sync_new_dir (store, dir);
  if (err != 0)
    return fail_errno (error, err, STRAND_STORE_ERROR_IO, "store %s: cannot sync %s", store->dir,
                       dir), TRY_FAILED;
  store_account (store, (gint64) out->size);
  out->placement = STRAND_PLACE_HARDLINK;
  return TRY_DONE;
}

/* copy_file_range (or write) into tmp/, hashing every chunk as it passes:
 * the source is read once. */
static gboolean
copy_in (StrandStore *store, int src, const char *path, const struct stat *st,
         StrandObjectInfo *out, GError **error)
{
  char *tmp_path = NULL;
  int fd = make_tmp (store, &tmp_path, error);
  if (fd < 0)
    return FALSE;
  g_autofree char *tmp = tmp_path;
  g_autofree char *what = g_strdup_printf ("'%s'", path);
  g_autofree char *doing = g_strdup_printf ("ingesting '%s'", path);
  Sink sink = { store, fd, what, doing, 0, 0, TRUE, FALSE };
  g_autoptr (StoreHash) hash = store_hash_new (TRUE);
  gboolean ok = lseek (src, 0, SEEK_SET) == 0 ||
                fail_errno (error, errno, STRAND_STORE_ERROR_IO, "cannot seek '%s'", path);
  gint64 offset = 0;
  while (ok)
    {
      StoreChunk *chunk = store_hash_take (hash);
      gssize n = strand_read_full (src, chunk->data, STORE_CHUNK_SIZE);
      if (n <= 0)
        {
          store_hash_put_back (hash, chunk);
          if (n < 0)
            ok = fail_errno (error, errno, STRAND_STORE_ERROR_IO,
                             "'%s': read failed after %" G_GINT64_FORMAT " bytes", path, offset);
          break;
        }
      chunk->len = (gsize) n;
      store_hash_give (hash, chunk);
      ok = sink_put (&sink, chunk->data, (gsize) n, src, offset, error);
      offset += n;
    }
  struct stat after;
  if (ok && (fstat (src, &after) != 0 || !same_identity (st, &after) ||
             (guint64) offset != out->size))
    ok = changed_error (path, error);
  if (ok)
    {
      store_hash_finish (hash, out->sha256, out->md5);
      ok = commit_tmp (store, fd, tmp, out->sha256, out->size,
                       sink.range_used && sink.try_range ? STRAND_PLACE_COPY_RANGE
                                                         : STRAND_PLACE_COPY,
                       &out->placement, error);
    }
  else
    {
      close (fd);
      g_unlink (tmp);
    }
  store_release (store, &sink.reserved);
  return ok;
}

/* `cached`: digests.sqlite already gave out->sha256 (the object is gone). */
static gboolean
ingest_open (StrandStore *store, int src, const char *path, const struct stat *st,
             gboolean allow_link, gboolean cached, StrandObjectInfo *out, GError **error)
{
  g_autofree char *what = g_strdup_printf ("ingesting '%s'", path);
  g_autoptr (GError) no_room = NULL;
  /* Every object counts its size against the quota, however it is placed;
   * reflinks and hard links take no new disk space. */
  guint64 reserved = 0;
  gboolean quota_ok = store_reserve (store, out->size, what, &reserved, NULL, &no_room);
  if (quota_ok)
    {
      TryResult r = try_reflink (store, src, path, st, out, error);
      if (r == TRY_NEXT && allow_link && link_eligible (store, st))
        r = try_hardlink (store, src, path, st, cached, out, error);
      store_release (store, &reserved);
      if (r != TRY_NEXT)
        return r == TRY_DONE;
    }
  /* A copy reserves its quota chunk by chunk as it writes. */
  if (quota_ok && disk_allows (store, out->size, what, &no_room))
    return copy_in (store, src, path, st, out, error);

  /* It cannot be written; it may already be here under another name. */
  if (cached)
    {
      g_propagate_error (error, g_steal_pointer (&no_room));
      return FALSE;
    }
  if (!hash_input (src, path, st, out->sha256, out->md5, error))
    return FALSE;
  if (object_present (store, out->sha256, out->size))
    {
      out->placement = STRAND_PLACE_EXISTING;
      return TRUE;
    }
  g_propagate_error (error, g_steal_pointer (&no_room));
  return FALSE;
}

gboolean
strand_store_ingest_file (StrandStore *store, const char *path, gboolean allow_link,
                          StrandObjectInfo *info, GError **error)
{
  g_return_val_if_fail (store != NULL && path != NULL, FALSE);
  struct stat st;
  g_autofree char *real = NULL;
  int src = open_input (path, &st, &real, error);
  if (src < 0)
    return FALSE;
  StrandObjectInfo out = { .size = (guint64) st.st_size };
  gboolean ok;
  gboolean cached = store_cache_lookup (store->cache, real, &st, out.sha256, out.md5);
  if (cached && object_present (store, out.sha256, out.size))
    {
      /* Known file, known object: not a byte is read. */
      out.placement = STRAND_PLACE_EXISTING;
      ok = TRUE;
    }
  else
    {
      ok = ingest_open (store, src, path, &st, allow_link, cached, &out, error);
      if (ok)
        store_cache_record (store->cache, real, &st, out.sha256, out.md5);
    }
  close (src);
  if (ok && info != NULL)
    *info = out;
  return ok;
}

/* ---- reading objects -------------------------------------------------- */

static int
open_object (StrandStore *store, const char *sha256, struct stat *st, GError **error)
{
  g_autofree char *path = strand_store_object_path (store, sha256);
  if (path == NULL)
    return invalid_digest (error, sha256), -1;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    {
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NOT_FOUND,
                   "store %s: no object %s", store->dir, sha256);
      return -1;
    }
  if (fd < 0)
    return fail_errno (error, errno, STRAND_STORE_ERROR_IO, "store %s: cannot open object %s",
                       store->dir, sha256), -1;
  if (fstat (fd, st) != 0 || !S_ISREG (st->st_mode))
    {
      close (fd);
      g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INTEGRITY,
                   "store %s: object %s is not a regular file", store->dir, sha256);
      return -1;
    }
#ifdef POSIX_FADV_SEQUENTIAL
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return fd;
}

static gboolean
integrity_error (StrandStore *store, const char *sha256, const char *actual, GError **error)
{
  g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INTEGRITY,
               "store %s: object %s is damaged: its bytes hash to %s", store->dir, sha256, actual);
  return FALSE;
}

gboolean
strand_store_verify (StrandStore *store, const char *sha256, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  struct stat st;
  int fd = open_object (store, sha256, &st, error);
  if (fd < 0)
    return FALSE;
  char actual[65];
  guint64 total = 0;
  g_autofree char *name = g_strdup_printf ("store %s: object %s", store->dir, sha256);
  gboolean ok = hash_fd (fd, FALSE, name, actual, NULL, &total, error);
  close (fd);
  if (ok && strcmp (actual, sha256) != 0)
    ok = integrity_error (store, sha256, actual, error);
  return ok;
}

gboolean
strand_store_materialize (StrandStore *store, const char *sha256, const char *dest,
                          StrandPlacement *placement, GError **error)
{
  g_return_val_if_fail (store != NULL && dest != NULL, FALSE);
  struct stat st;
  int src = open_object (store, sha256, &st, error);
  if (src < 0)
    return FALSE;
  g_autofree char *dir = g_path_get_dirname (dest);
  g_autofree char *base = g_path_get_basename (dest);
  g_autofree char *tmp_name = g_strdup_printf (".%s.strand-XXXXXX", base);
  g_autofree char *tmp = g_build_filename (dir, tmp_name, NULL);
  /* 0666 less the umask: an ordinary file of the user's, not the store's. */
  int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      int saved = errno;
      close (src);
      return fail_errno (error, saved, STRAND_STORE_ERROR_IO, "cannot create a file beside '%s'",
                         dest);
    }
  StrandPlacement how = STRAND_PLACE_REFLINK;
  gboolean ok = TRUE;
  if (ioctl (fd, FICLONE, src) != 0)
    {
      /* Copy, checking the digest on the way: a damaged object never
       * reaches `dest`. */
      g_autofree char *what = g_strdup_printf ("'%s'", dest);
      Sink sink = { NULL, fd, what, NULL, 0, 0, TRUE, FALSE };
      g_autoptr (StoreHash) hash = store_hash_new (FALSE);
      gint64 offset = 0;
      while (ok)
        {
          StoreChunk *chunk = store_hash_take (hash);
          gssize n = strand_read_full (src, chunk->data, STORE_CHUNK_SIZE);
          if (n <= 0)
            {
              store_hash_put_back (hash, chunk);
              if (n < 0)
                ok = fail_errno (error, errno, STRAND_STORE_ERROR_IO,
                                 "store %s: reading object %s", store->dir, sha256);
              break;
            }
          chunk->len = (gsize) n;
          store_hash_give (hash, chunk);
          ok = sink_put (&sink, chunk->data, (gsize) n, src, offset, error);
          offset += n;
        }
      char actual[65];
      store_hash_finish (hash, actual, NULL);
      if (ok && strcmp (actual, sha256) != 0)
        ok = integrity_error (store, sha256, actual, error);
      how = sink.range_used && sink.try_range ? STRAND_PLACE_COPY_RANGE : STRAND_PLACE_COPY;
    }
  close (src);
  if (ok && fsync (fd) != 0)
    ok = fail_errno (error, errno, STRAND_STORE_ERROR_IO, "cannot sync '%s'", dest);
  if (close (fd) != 0 && ok)
    ok = fail_errno (error, errno, STRAND_STORE_ERROR_IO, "cannot write '%s'", dest);
  if (ok && rename (tmp, dest) != 0)
    ok = fail_errno (error, errno, STRAND_STORE_ERROR_IO, "cannot create '%s'", dest);
  if (!ok)
    {
      g_unlink (tmp);
      return FALSE;
    }
  int err = strand_fsync_dir (dir);
  if (err != 0)
    return fail_errno (error, err, STRAND_STORE_ERROR_IO, "cannot sync %s", dir);
  if (placement != NULL)
    *placement = how;
  return TRUE;
}

gboolean
strand_store_remove (StrandStore *store, const char *sha256, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  g_autofree char *path = strand_store_object_path (store, sha256);
  if (path == NULL)
    return invalid_digest (error, sha256);
  struct stat st;
  if (lstat (path, &st) != 0)
    {
      if (errno == ENOENT)
        {
          g_set_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NOT_FOUND,
                       "store %s: no object %s", store->dir, sha256);
          return FALSE;
        }
      return fail_errno (error, errno, STRAND_STORE_ERROR_IO, "store %s: object %s", store->dir,
                         sha256);
    }
  if (unlink (path) != 0)
    return fail_errno (error, errno, STRAND_STORE_ERROR_IO, "store %s: cannot remove %s",
                       store->dir, sha256);
  g_autofree char *dir = prefix_dir (store, sha256);
  int err = strand_fsync_dir (dir);
  if (err != 0)
    return fail_errno (error, err, STRAND_STORE_ERROR_IO, "store %s: cannot sync %s", store->dir,
                       dir);
  if (S_ISREG (st.st_mode))
    store_account (store, -(gint64) st.st_size);
  return TRUE;
}

void
strand_store_begin_batch (StrandStore *store)
{
  g_return_if_fail (store != NULL);
  g_mutex_lock (&store->lock);
  store->batch++;
  g_mutex_unlock (&store->lock);
}

static int
sync_objects (StrandStore *store)
{
  int fd = open (store->objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  int err = syncfs (fd) != 0 ? errno : 0;
  close (fd);
  return err;
}

/* One syncfs() covers every batch handed over before it started. */
static gpointer
syncer_main (gpointer data)
{
  StrandStore *store = data;
  g_mutex_lock (&store->lock);
  for (;;)
    {
      while (store->sync_done == store->sync_asked && !store->sync_stop)
        g_cond_wait (&store->sync_cond, &store->lock);
      if (store->sync_done == store->sync_asked)
        break;
      guint64 target = store->sync_asked;
      g_mutex_unlock (&store->lock);
      int err = sync_objects (store);
      g_mutex_lock (&store->lock);
      if (err != 0 && store->sync_error == 0)
        store->sync_error = err;
      store->sync_done = target;
      g_cond_broadcast (&store->sync_cond);
    }
  g_mutex_unlock (&store->lock);
  return NULL;
}

/* A failure of an earlier sync, reported once. */
static gboolean
take_sync_error (StrandStore *store, GError **error)
{
  int err = store->sync_error;
  store->sync_error = 0;
  if (err == 0)
    return TRUE;
  return fail_errno (error, err, STRAND_STORE_ERROR_IO, "store %s: cannot sync the new objects",
                     store->dir);
}

gboolean
strand_store_end_batch (StrandStore *store, GError **error)
{
  g_return_val_if_fail (store != NULL && store->batch > 0, FALSE);
  g_mutex_lock (&store->lock);
  gboolean sync = --store->batch == 0 && store->unsynced;
  if (sync)
    {
      store->unsynced = FALSE;
      store->sync_asked++;
      if (store->syncer == NULL)
        store->syncer = g_thread_new ("store-sync", syncer_main, store);
      g_cond_broadcast (&store->sync_cond);
    }
  gboolean ok = take_sync_error (store, error);
  g_mutex_unlock (&store->lock);
  return ok;
}

gboolean
strand_store_sync_wait (StrandStore *store, GError **error)
{
  g_return_val_if_fail (store != NULL, FALSE);
  g_mutex_lock (&store->lock);
  while (store->sync_done != store->sync_asked)
    g_cond_wait (&store->sync_cond, &store->lock);
  gboolean ok = take_sync_error (store, error);
  g_mutex_unlock (&store->lock);
  return ok;
}
