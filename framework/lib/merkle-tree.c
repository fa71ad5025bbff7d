/* The ledger's Merkle tree on disk (merkle-tree.h).
 *
 * Where a hash lives: the tree of j leaves holds stored_count(j) =
 * 2j - popcount(j) hashes (every perfect subtree once). Appending leaf j
 * writes the leaf at index stored_count(j), then the node of level 1, 2, ...
 * that it completes, one after another. So the node of level L over leaves
 * [k 2^L, (k + 1) 2^L), completed by its last leaf j = (k + 1) 2^L - 1, is at
 * stored_count(j) + L.
 *
 * Any subtree RFC 6962's recursion visits is [s, s + n) with s a multiple of
 * a power of two >= n, so it is the perfect subtrees given by the binary
 * digits of n, left to right, and its hash folds them from the right: a
 * root or a proof reads O(log n) hashes. The writer keeps the perfect
 * subtrees that make up the whole tree (one per set bit of its size) in
 * memory, so an append reads nothing. */
#include "merkle-tree.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "ledger.h"

G_DEFINE_QUARK (strand-tree-error-quark, strand_tree_error)

#define HLEN STRAND_MERKLE_HASH_LEN
#define HEADER_LEN 32
#define OFFSET_LEN 8
#define CATCH_UP_FLUSH 65536               /* leaves buffered while catching up */
#define READ_CHUNK (64 * 1024)
#define LINE_MAX_BYTES ((guint64) 1 << 30) /* no record is this long */

static const char hashes_magic[HEADER_LEN] = "strand merkle tree hashes v1\n";
static const char offsets_magic[HEADER_LEN] = "strand merkle tree offsets v1\n";

struct StrandTree {
  char *log_path; /* NULL for a detached tree */
  char *hashes_path;
  char *offsets_path;
  int hashes_fd;
  int offsets_fd;
  int log_fd;
  gboolean writable;
  guint64 size;    /* leaves, buffered ones included */
  guint64 flushed; /* leaves in the files */
  guint8 edge[64][HLEN]; /* edge[L]: the tree's perfect subtree of 2^L leaves, for bits L of size */
  GByteArray *pending_hashes;
  GByteArray *pending_offsets;
  StrandSha256 *sha;
  guint64 added;
  guint64 cut;
  char *rebuild_reason;
};

/* ---- Arithmetic ---- */

static guint64
stored_count (guint64 n)
{
  return 2 * n - (guint64) __builtin_popcountll (n);
}

static guint64
node_index (guint level, guint64 k)
{
  return stored_count (((k + 1) << level) - 1) + level;
}

/* The most leaves whose hashes fit in `count` stored hashes. */
static guint64
leaves_in (guint64 count)
{
  guint64 n = count / 2;
  while (stored_count (n + 1) <= count)
    n++;
  return n;
}

/* The largest power of two smaller than n (n >= 2). */
static guint64
split_point (guint64 n)
{
  return (guint64) 1 << (63 - __builtin_clzll (n - 1));
}

static void
node_hash (StrandSha256 *sha, const guint8 *left, const guint8 *right, guint8 out[HLEN])
{
  static const guint8 prefix = 0x01;
  strand_sha256_reset (sha);
  strand_sha256_update (sha, &prefix, 1);
  strand_sha256_update (sha, left, HLEN);
  strand_sha256_update (sha, right, HLEN);
  strand_sha256_finish (sha, out);
}

static void
leaf_hash (StrandSha256 *sha, const void *line, gsize len, guint8 out[HLEN])
{
  static const guint8 prefix = 0x00;
  strand_sha256_reset (sha);
  strand_sha256_update (sha, &prefix, 1);
  strand_sha256_update (sha, line, len);
  strand_sha256_finish (sha, out);
}

/* ---- Files ---- */

static gboolean
io_error (GError **error, int saved, const char *what, const char *path)
{
  g_set_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_IO, "%s %s: %s", what, path,
               g_strerror (saved));
  return FALSE;
}

static gboolean
pread_all (int fd, void *buf, gsize len, guint64 offset)
{
  char *p = buf;
  while (len > 0)
    {
      ssize_t n = pread (fd, p, len, (off_t) offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO; /* shorter than it was: cut by someone else */
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
      offset += (guint64) n;
    }
  return TRUE;
}

static gboolean
pwrite_all (int fd, const void *buf, gsize len, guint64 offset)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = pwrite (fd, p, len, (off_t) offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = EIO;
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
      offset += (guint64) n;
    }
  return TRUE;
}

static gboolean
fd_size (int fd, guint64 *size, const char *path, GError **error)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return io_error (error, errno, "cannot stat", path);
  *size = (guint64) st.st_size;
  return TRUE;
}

static gboolean
read_hash (StrandTree *t, guint64 index, guint8 out[HLEN], GError **error)
{
  guint64 on_disk = stored_count (t->flushed);
  if (index >= on_disk)
    {
      gsize at = (gsize) (index - on_disk) * HLEN;
      g_return_val_if_fail (at + HLEN <= t->pending_hashes->len, FALSE);
      memcpy (out, t->pending_hashes->data + at, HLEN);
      return TRUE;
    }
  if (!pread_all (t->hashes_fd, out, HLEN, HEADER_LEN + index * HLEN))
    return io_error (error, errno, "cannot read", t->hashes_path);
  return TRUE;
}

static gboolean
read_offset (StrandTree *t, guint64 leaf, guint64 *offset, GError **error)
{
  guint64 le = 0;
  if (leaf >= t->flushed)
    {
      gsize at = (gsize) (leaf - t->flushed) * OFFSET_LEN;
      g_return_val_if_fail (at + OFFSET_LEN <= t->pending_offsets->len, FALSE);
      memcpy (&le, t->pending_offsets->data + at, OFFSET_LEN);
    }
  else if (!pread_all (t->offsets_fd, &le, OFFSET_LEN, HEADER_LEN + leaf * OFFSET_LEN))
    return io_error (error, errno, "cannot read", t->offsets_path);
  *offset = GUINT64_FROM_LE (le);
  return TRUE;
}

typedef enum {
  FILE_OK,
  FILE_NEW,     /* empty: given its header */
  FILE_DAMAGED, /* it did not start with its header: emptied and given one */
} FileState;

/* Opens one of the two files and checks its header; a writable file
 * without one is emptied and given one (a read-only tree refuses it). */
static gboolean
open_file (StrandTree *t, const char *path, const char magic[HEADER_LEN], int *fd_out,
           FileState *state, GError **error)
{
  int fd = open (path, (t->writable ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved = errno;
      if (saved == ENOENT && !t->writable)
        {
          g_set_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_STALE,
                       "there is no Merkle tree at %s yet: it is built when the ledger is next "
                       "opened for writing",
                       path);
          return FALSE;
        }
      return io_error (error, saved, "cannot open", path);
    }
  *fd_out = fd;
  guint64 size = 0;
  if (!fd_size (fd, &size, path, error))
    return FALSE;
  char header[HEADER_LEN];
  if (size >= HEADER_LEN && pread_all (fd, header, HEADER_LEN, 0) &&
      memcmp (header, magic, HEADER_LEN) == 0)
    {
      *state = FILE_OK;
      return TRUE;
    }
  *state = size == 0 ? FILE_NEW : FILE_DAMAGED;
  if (!t->writable)
    {
      g_set_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_STALE,
                   "%s is not a Merkle tree file: it is rebuilt when the ledger is next opened "
                   "for writing",
                   path);
      return FALSE;
    }
  if (ftruncate (fd, 0) < 0 || !pwrite_all (fd, magic, HEADER_LEN, 0))
    return io_error (error, errno, "cannot write", path);
  return TRUE;
}

/* Cuts both files to the tree of `n` leaves (writable trees). */
static gboolean
truncate_files (StrandTree *t, guint64 n, GError **error)
{
  if (ftruncate (t->hashes_fd, (off_t) (HEADER_LEN + stored_count (n) * HLEN)) < 0)
    return io_error (error, errno, "cannot cut", t->hashes_path);
  if (ftruncate (t->offsets_fd, (off_t) (HEADER_LEN + n * OFFSET_LEN)) < 0)
    return io_error (error, errno, "cannot cut", t->offsets_path);
  return TRUE;
}

/* Reads the perfect subtrees that make up the tree of t->size leaves. */
static gboolean
load_edge (StrandTree *t, GError **error)
{
  guint64 pos = 0;
  for (int level = 63; level >= 0; level--)
    if (t->size >> level & 1)
      {
        if (!read_hash (t, node_index ((guint) level, pos >> level), t->edge[level], error))
          return FALSE;
        pos += (guint64) 1 << level;
      }
  return TRUE;
}

/* Sets the tree to its first `n` leaves, in the files too when writable. */
static gboolean
set_size (StrandTree *t, guint64 n, GError **error)
{
  g_return_val_if_fail (n <= t->flushed, FALSE);
  if (t->writable && !truncate_files (t, n, error))
    return FALSE;
  g_byte_array_set_size (t->pending_hashes, 0);
  g_byte_array_set_size (t->pending_offsets, 0);
  t->size = t->flushed = n;
  return load_edge (t, error);
}

static StrandTree *
tree_new (const char *log_path, const char *hashes_path, const char *offsets_path,
          gboolean writable)
{
  StrandTree *t = g_new0 (StrandTree, 1);
  t->log_path = g_strdup (log_path);
  t->hashes_path = g_strdup (hashes_path);
  t->offsets_path = g_strdup (offsets_path);
  t->hashes_fd = t->offsets_fd = t->log_fd = -1;
  t->writable = writable;
  t->pending_hashes = g_byte_array_new ();
  t->pending_offsets = g_byte_array_new ();
  t->sha = strand_sha256_new ();
  return t;
}

/* Opens both files and takes the size they agree on. `reason` receives
 * why a writable tree starts empty ("no tree yet" for new files, or one of
 * them was damaged), or NULL. */
static gboolean
open_files (StrandTree *t, const char **reason, GError **error)
{
  FileState state_h = FILE_OK, state_o = FILE_OK;
  if (!open_file (t, t->hashes_path, hashes_magic, &t->hashes_fd, &state_h, error) ||
      !open_file (t, t->offsets_path, offsets_magic, &t->offsets_fd, &state_o, error))
    return FALSE;
  *reason = NULL;
  if (state_h == FILE_DAMAGED || state_o == FILE_DAMAGED)
    *reason = "a tree file was damaged";
  else if (state_h == FILE_NEW || state_o == FILE_NEW)
    *reason = "no tree yet";
  if (*reason != NULL)
    {
      /* Neither file can be trusted without the other. */
      t->size = t->flushed = 0;
      return truncate_files (t, 0, error);
    }
  guint64 size_h = 0, size_o = 0;
  if (!fd_size (t->hashes_fd, &size_h, t->hashes_path, error) ||
      !fd_size (t->offsets_fd, &size_o, t->offsets_path, error))
    return FALSE;
  guint64 n = MIN (leaves_in ((size_h - HEADER_LEN) / HLEN), (size_o - HEADER_LEN) / OFFSET_LEN);
  t->size = t->flushed = n;
  /* A crash can leave one file ahead of the other, or part of a hash. */
  if (t->writable && (size_h != HEADER_LEN + stored_count (n) * HLEN ||
                      size_o != HEADER_LEN + n * OFFSET_LEN) &&
      !truncate_files (t, n, error))
    return FALSE;
  return load_edge (t, error);
}

/* ---- Matching the log ---- */

/* Reads the log line that starts at `offset` into `line` (no newline, NUL
 * after it). `complete` is FALSE when no newline ends it before `log_size`
 * (or within LINE_MAX_BYTES). */
static gboolean
read_log_line (StrandTree *t, guint64 offset, guint64 log_size, GByteArray *line,
               gboolean *complete, GError **error)
{
  g_byte_array_set_size (line, 0);
  *complete = FALSE;
  guint64 pos = offset;
  while (pos < log_size && pos - offset <= LINE_MAX_BYTES)
    {
      gsize n = (gsize) MIN ((guint64) READ_CHUNK, log_size - pos);
      guint at = line->len;
      g_byte_array_set_size (line, at + (guint) n);
      if (!pread_all (t->log_fd, line->data + at, n, pos))
        return io_error (error, errno, "cannot read", t->log_path);
      guint8 *nl = memchr (line->data + at, '\n', n);
      if (nl != NULL)
        {
          *nl = '\0';
          g_byte_array_set_size (line, (guint) (nl - line->data));
          *complete = TRUE;
          return TRUE;
        }
      pos += n;
    }
  return TRUE;
}

/* Whether leaf `i` is the log's line at its offset; `end` receives the
 * offset after that line's newline. */
static gboolean
leaf_matches (StrandTree *t, guint64 i, guint64 log_size, gboolean *matches, guint64 *end,
              GError **error)
{
  *matches = FALSE;
  guint64 offset = 0;
  guint8 stored[HLEN], computed[HLEN];
  if (!read_offset (t, i, &offset, error) || !read_hash (t, node_index (0, i), stored, error))
    return FALSE;
  if (offset >= log_size)
    return TRUE;
  g_autoptr (GByteArray) line = g_byte_array_new ();
  gboolean complete = FALSE;
  if (!read_log_line (t, offset, log_size, line, &complete, error))
    return FALSE;
  if (!complete)
    return TRUE;
  leaf_hash (t->sha, line->data, line->len, computed);
  *matches = memcmp (stored, computed, HLEN) == 0;
  *end = offset + line->len + 1;
  return TRUE;
}

/* How many leaves start before byte `log_size` (offsets only grow). */
static gboolean
leaves_before (StrandTree *t, guint64 log_size, guint64 *count, GError **error)
{
  guint64 lo = 0, hi = t->size;
  while (lo < hi)
    {
      guint64 mid = lo + (hi - lo) / 2, offset = 0;
      if (!read_offset (t, mid, &offset, error))
        return FALSE;
      if (offset < log_size)
        lo = mid + 1;
      else
        hi = mid;
    }
  *count = lo;
  return TRUE;
}

typedef struct {
  StrandTree *tree;
  GError *error;
} CatchUp;

static gboolean
add_line (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
          gpointer user_data)
{
  CatchUp *c = user_data;
  guint8 leaf[HLEN];
  leaf_hash (c->tree->sha, line, len, leaf);
  strand_tree_append (c->tree, leaf, offset);
  c->tree->added++;
  if (c->tree->size - c->tree->flushed >= CATCH_UP_FLUSH)
    return strand_tree_flush (c->tree, &c->error);
  return TRUE;
}

/* Adds every complete line of the log from byte `from`. */
static gboolean
catch_up (StrandTree *t, guint64 from, GError **error)
{
  CatchUp c = { t, NULL };
  g_autoptr (GError) local = NULL;
  if (!strand_ledger_read (t->log_path, from, add_line, &c, &local) && c.error == NULL)
    {
      g_set_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  if (c.error != NULL)
    {
      g_propagate_error (error, c.error);
      return FALSE;
    }
  return strand_tree_flush (t, error);
}

/* Brings a writable tree in line with its log (see merkle-tree.h).
 * `reason`: why the files start empty, or NULL. */
static gboolean
match_log (StrandTree *t, const char *reason, GError **error)
{
  guint64 log_size = 0;
  t->log_fd = open (t->log_path, O_RDONLY | O_CLOEXEC);
  if (t->log_fd < 0 && errno != ENOENT)
    return io_error (error, errno, "cannot open", t->log_path);
  if (t->log_fd >= 0)
    {
      /* Lines a crashed writer left unsynced become durable before the
       * tree commits to them. */
      if (fdatasync (t->log_fd) < 0 && errno != EINVAL && errno != EROFS)
        return io_error (error, errno, "cannot sync", t->log_path);
      if (!fd_size (t->log_fd, &log_size, t->log_path, error))
        return FALSE;
    }

  guint64 keep = 0, resume = 0;
  if (t->size > 0)
    {
      /* Leaves whose lines are gone (the log's torn tail was cut, or the
       * log was cut back) go; the last leaf kept must be its line. */
      if (!leaves_before (t, log_size, &keep, error))
        return FALSE;
      gboolean ok = FALSE;
      if (keep > 0 && !leaf_matches (t, keep - 1, log_size, &ok, &resume, error))
        return FALSE;
      if (!ok && keep > 1)
        {
          keep--; /* the last line may be partial */
          if (!leaf_matches (t, keep - 1, log_size, &ok, &resume, error))
            return FALSE;
        }
      if (!ok && keep > 0)
        {
          reason = "the tree does not match the log";
          keep = resume = 0;
        }
      else
        t->cut = t->size - keep;
      if (keep < t->size && !set_size (t, keep, error))
        return FALSE;
    }
  if (reason != NULL && log_size > 0)
    t->rebuild_reason = g_strdup (reason);
  return log_size == 0 || catch_up (t, resume, error);
}

static void
log_tree_paths (const char *log_path, char **hashes, char **offsets)
{
  g_autofree char *dir = g_path_get_dirname (log_path);
  *hashes = g_build_filename (dir, "tree.hashes", NULL);
  *offsets = g_build_filename (dir, "tree.offsets", NULL);
}

/* ---- The API ---- */

StrandTree *
strand_tree_open (const char *log_path, GError **error)
{
  g_return_val_if_fail (log_path != NULL, NULL);
  g_autofree char *hashes = NULL, *offsets = NULL;
  log_tree_paths (log_path, &hashes, &offsets);
  g_autoptr (StrandTree) t = tree_new (log_path, hashes, offsets, TRUE);
  const char *reason = NULL;
  if (!open_files (t, &reason, error) || !match_log (t, reason, error))
    return NULL;
  return g_steal_pointer (&t);
}

StrandTree *
strand_tree_open_readonly (const char *log_path, GError **error)
{
  g_return_val_if_fail (log_path != NULL, NULL);
  g_autofree char *hashes = NULL, *offsets = NULL;
  log_tree_paths (log_path, &hashes, &offsets);
  g_autoptr (StrandTree) t = tree_new (log_path, hashes, offsets, FALSE);
  const char *reason = NULL;
  if (!open_files (t, &reason, error))
    return NULL;
  t->log_fd = open (log_path, O_RDONLY | O_CLOEXEC);
  if (t->log_fd < 0 && errno != ENOENT)
    {
      io_error (error, errno, "cannot open", log_path);
      return NULL;
    }
  guint64 log_size = 0;
  if (t->log_fd >= 0 && !fd_size (t->log_fd, &log_size, log_path, error))
    return NULL;
  gboolean ok = t->size == 0;
  guint64 end = 0;
  if (!ok && !leaf_matches (t, t->size - 1, log_size, &ok, &end, error))
    return NULL;
  if (!ok)
    {
      g_set_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_STALE,
                   "the Merkle tree beside %s does not match the log at leaf %" G_GUINT64_FORMAT
                   ": it is rebuilt when the ledger is next opened for writing",
                   log_path, t->size - 1);
      return NULL;
    }
  return g_steal_pointer (&t);
}

StrandTree *
strand_tree_open_detached (const char *prefix, GError **error)
{
  g_return_val_if_fail (prefix != NULL, NULL);
  g_autofree char *hashes = g_strconcat (prefix, ".hashes", NULL);
  g_autofree char *offsets = g_strconcat (prefix, ".offsets", NULL);
  g_autoptr (StrandTree) t = tree_new (NULL, hashes, offsets, TRUE);
  const char *reason = NULL;
  if (!open_files (t, &reason, error))
    return NULL;
  return g_steal_pointer (&t);
}

void
strand_tree_close (StrandTree *t)
{
  if (t == NULL)
    return;
  if (t->hashes_fd >= 0)
    close (t->hashes_fd);
  if (t->offsets_fd >= 0)
    close (t->offsets_fd);
  if (t->log_fd >= 0)
    close (t->log_fd);
  g_byte_array_unref (t->pending_hashes);
  g_byte_array_unref (t->pending_offsets);
  strand_sha256_free (t->sha);
  g_free (t->rebuild_reason);
  g_free (t->log_path);
  g_free (t->hashes_path);
  g_free (t->offsets_path);
  g_free (t);
}

void
strand_tree_remove_files (const char *log_path)
{
  g_autofree char *hashes = NULL, *offsets = NULL;
  log_tree_paths (log_path, &hashes, &offsets);
  g_unlink (hashes);
  g_unlink (offsets);
}

guint64
strand_tree_size (StrandTree *t)
{
  return t->size;
}

void
strand_tree_info (StrandTree *t, StrandTreeInfo *info)
{
  *info = (StrandTreeInfo){ .added = t->added, .cut = t->cut, .rebuild_reason = t->rebuild_reason };
}

void
strand_tree_append (StrandTree *t, const guint8 leaf[HLEN], guint64 offset)
{
  g_return_if_fail (t->writable);
  /* Like adding one in binary: each set low bit of the size is a subtree
   * of the same height the new one completes. */
  guint8 h[HLEN];
  memcpy (h, leaf, HLEN);
  g_byte_array_append (t->pending_hashes, h, HLEN);
  guint level = 0;
  while (t->size >> level & 1)
    {
      node_hash (t->sha, t->edge[level], h, h);
      level++;
      g_byte_array_append (t->pending_hashes, h, HLEN);
    }
  memcpy (t->edge[level], h, HLEN);
  guint64 le = GUINT64_TO_LE (offset);
  g_byte_array_append (t->pending_offsets, (const guint8 *) &le, OFFSET_LEN);
  t->size++;
}

gboolean
strand_tree_flush (StrandTree *t, GError **error)
{
  if (t->size == t->flushed)
    return TRUE;
  guint64 hashes_at = HEADER_LEN + stored_count (t->flushed) * HLEN;
  guint64 offsets_at = HEADER_LEN + t->flushed * OFFSET_LEN;
  const char *failed = NULL;
  if (!pwrite_all (t->hashes_fd, t->pending_hashes->data, t->pending_hashes->len, hashes_at))
    failed = t->hashes_path;
  else if (!pwrite_all (t->offsets_fd, t->pending_offsets->data, t->pending_offsets->len,
                        offsets_at))
    failed = t->offsets_path;
  if (failed != NULL)
    {
      int saved = errno;
      /* Back to what the files held, so that they never disagree. */
      if (ftruncate (t->hashes_fd, (off_t) hashes_at) < 0 ||
          ftruncate (t->offsets_fd, (off_t) offsets_at) < 0)
        g_debug ("tree: cannot cut back after a failed write: %s", g_strerror (errno));
      return io_error (error, saved, "cannot write", failed);
    }
  t->flushed = t->size;
  g_byte_array_set_size (t->pending_hashes, 0);
  g_byte_array_set_size (t->pending_offsets, 0);
  return TRUE;
}

/* ---- Reading ---- */

static gboolean
range_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
range_error (GError **error, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error_literal (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_RANGE, message);
  return FALSE;
}

/* MTH of leaves [lo, hi), lo < hi, lo a multiple of a power of two not
 * smaller than hi - lo (see the top of this file). */
static gboolean
range_hash (StrandTree *t, guint64 lo, guint64 hi, guint8 out[HLEN], GError **error)
{
  guint64 n = hi - lo, pos = lo;
  guint8 pieces[64][HLEN];
  guint count = 0;
  for (int level = 63; level >= 0; level--)
    if (n >> level & 1)
      {
        if (!read_hash (t, node_index ((guint) level, pos >> level), pieces[count++], error))
          return FALSE;
        pos += (guint64) 1 << level;
      }
  memcpy (out, pieces[count - 1], HLEN);
  for (guint i = count - 1; i-- > 0;)
    node_hash (t->sha, pieces[i], out, out);
  return TRUE;
}

gboolean
strand_tree_root (StrandTree *t, guint64 size, guint8 root[HLEN], GError **error)
{
  if (size > t->size)
    return range_error (error, "the tree has %" G_GUINT64_FORMAT " leaves, not %" G_GUINT64_FORMAT,
                        t->size, size);
  if (size == 0)
    {
      strand_sha256_reset (t->sha);
      strand_sha256_finish (t->sha, root); /* SHA-256 of the empty string */
      return TRUE;
    }
  if (size < t->size)
    return range_hash (t, 0, size, root, error);
  /* The whole tree: its subtrees are in memory. */
  int low = __builtin_ctzll (size);
  memcpy (root, t->edge[low], HLEN);
  for (int level = low + 1; level < 64; level++)
    if (size >> level & 1)
      node_hash (t->sha, t->edge[level], root, root);
  return TRUE;
}

gboolean
strand_tree_leaf (StrandTree *t, guint64 index, guint8 leaf[HLEN], GError **error)
{
  if (index >= t->size)
    return range_error (error, "the tree has no leaf %" G_GUINT64_FORMAT " (size %" G_GUINT64_FORMAT ")",
                        index, t->size);
  return read_hash (t, node_index (0, index), leaf, error);
}

/* PATH(m, D[start:start+n]) appended to `proof`, RFC 6962 2.1.1. */
static gboolean
path (StrandTree *t, guint64 start, guint64 n, guint64 m, GArray *proof, GError **error)
{
  if (n <= 1)
    return TRUE;
  guint64 k = split_point (n);
  guint8 sibling[HLEN];
  gboolean ok = m < k ? path (t, start, k, m, proof, error) &&
                            range_hash (t, start + k, start + n, sibling, error)
                      : path (t, start + k, n - k, m - k, proof, error) &&
                            range_hash (t, start, start + k, sibling, error);
  if (ok)
    g_array_append_vals (proof, sibling, 1);
  return ok;
}

/* SUBPROOF(m, D[start:start+n], b) appended to `proof`, RFC 6962 2.1.2. */
static gboolean
subproof (StrandTree *t, guint64 start, guint64 n, guint64 m, gboolean b, GArray *proof,
          GError **error)
{
  guint8 h[HLEN];
  if (m == n)
    {
      if (b)
        return TRUE;
      if (!range_hash (t, start, start + n, h, error))
        return FALSE;
      g_array_append_vals (proof, h, 1);
      return TRUE;
    }
  guint64 k = split_point (n);
  gboolean ok = m <= k ? subproof (t, start, k, m, b, proof, error) &&
                             range_hash (t, start + k, start + n, h, error)
                       : subproof (t, start + k, n - k, m - k, FALSE, proof, error) &&
                             range_hash (t, start, start + k, h, error);
  if (ok)
    g_array_append_vals (proof, h, 1);
  return ok;
}

GArray *
strand_tree_inclusion_proof (StrandTree *t, guint64 index, guint64 size, GError **error)
{
  if (size > t->size || index >= size)
    {
      range_error (error, "no leaf %" G_GUINT64_FORMAT " in a tree of %" G_GUINT64_FORMAT
                   " leaves (this one has %" G_GUINT64_FORMAT ")",
                   index, size, t->size);
      return NULL;
    }
  g_autoptr (GArray) proof = g_array_new (FALSE, FALSE, HLEN);
  if (!path (t, 0, size, index, proof, error))
    return NULL;
  return g_steal_pointer (&proof);
}

GArray *
strand_tree_consistency_proof (StrandTree *t, guint64 old_size, guint64 size, GError **error)
{
  if (size > t->size || old_size == 0 || old_size > size)
    {
      range_error (error, "no consistency proof from size %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                   " (the tree has %" G_GUINT64_FORMAT " leaves; sizes run from 1)",
                   old_size, size, t->size);
      return NULL;
    }
  g_autoptr (GArray) proof = g_array_new (FALSE, FALSE, HLEN);
  if (!subproof (t, 0, size, old_size, TRUE, proof, error))
    return NULL;
  return g_steal_pointer (&proof);
}

char *
strand_tree_line (StrandTree *t, guint64 index, gsize *len, GError **error)
{
  g_return_val_if_fail (t->log_path != NULL, NULL);
  guint64 offset = 0, log_size = 0;
  guint8 stored[HLEN], computed[HLEN];
  if (index >= t->size)
    {
      range_error (error, "the tree has no leaf %" G_GUINT64_FORMAT " (size %" G_GUINT64_FORMAT ")",
                   index, t->size);
      return NULL;
    }
  if (!read_offset (t, index, &offset, error) || !read_hash (t, node_index (0, index), stored, error))
    return NULL;
  if (t->log_fd < 0 || !fd_size (t->log_fd, &log_size, t->log_path, error))
    {
      if (t->log_fd < 0)
        g_set_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_MISMATCH,
                     "%s is missing: it held leaf %" G_GUINT64_FORMAT, t->log_path, index);
      return NULL;
    }
  g_autoptr (GByteArray) line = g_byte_array_new ();
  gboolean complete = FALSE;
  if (!read_log_line (t, offset, log_size, line, &complete, error))
    return NULL;
  if (complete)
    leaf_hash (t->sha, line->data, line->len, computed);
  if (!complete || memcmp (stored, computed, HLEN) != 0)
    {
      g_set_error (error, STRAND_TREE_ERROR, STRAND_TREE_ERROR_MISMATCH,
                   "%s: the line at byte %" G_GUINT64_FORMAT " is not leaf %" G_GUINT64_FORMAT
                   " of the Merkle tree: the log was changed after the tree took it (run "
                   "`strand verify`)",
                   t->log_path, offset, index);
      return NULL;
    }
  if (len != NULL)
    *len = line->len;
  g_byte_array_append (line, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&line), FALSE);
}
