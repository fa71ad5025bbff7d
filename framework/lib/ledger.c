/* The ledger's log: ledger/log.jsonl under the store, one record per line
 * (records.h), appended through a buffer and made durable by fdatasync.
 *
 * Recovery on open reads only the end of the log, backwards:
 *   - bytes after the last newline are a write torn by a crash: cut;
 *   - complete lines at the end that are not record lines at all (the
 *     garbage a power cut can leave in pages never synced) are cut too;
 *   - the last record line must then verify with the host key and follow
 *     the line before it (seq and prev). If it does not, the log was changed
 *     by something other than a crash: open refuses with CORRUPT and cuts
 *     nothing, and `strand ledger verify` says what is wrong.
 * Damage further back is not looked for on open (that would read the whole
 * log); strand_ledger_verify() reads every record. */
#include "ledger-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonical-json.h"
#include "digest.h"
#include "fs-util.h"
#include "json-util.h"
#include "merkle-tree.h"
#include "problems.h"

G_DEFINE_QUARK (strand-ledger-error-quark, strand_ledger_error)

#define FLUSH_AT (256 * 1024) /* bytes buffered before a write() */
#define READ_CHUNK (1024 * 1024)
#define BACK_CHUNK (64 * 1024)
#define LINE_MAX_BYTES ((guint64) 1 << 30) /* no record is this long */

struct StrandLedger {
  GMutex mutex;
  char *path;
  int fd;
  int lock_fd;
  StrandKey key;      /* a copy, zeroed on close */
  guint64 last_seq;
  char last_hash[65];
  guint64 file_size;  /* bytes written to the file */
  GString *buffer;    /* whole lines appended and not yet written */
  GString *pae;       /* scratch for signing */
  StrandSplice splice; /* scratch for the payload */
  StrandSha256 *sha;
  gboolean dirty;     /* appended since the last sync */
  char *broken;       /* why the ledger refuses to go on, once it must */
  StrandTree *tree;   /* the Merkle tree beside the log (merkle-tree.h); NULL when it
                       * could not be kept, until the next open rebuilds it */
};

static gboolean
errno_error (GError **error, int saved, const char *what, const char *path)
{
  g_set_error (error, STRAND_LEDGER_ERROR,
               saved == ENOSPC || saved == EDQUOT ? STRAND_LEDGER_ERROR_NO_SPACE
                                                  : STRAND_LEDGER_ERROR_IO,
               "%s %s: %s", what, path, g_strerror (saved));
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
            errno = EIO; /* shorter than fstat said: someone else truncated it */
          return FALSE;
        }
      p += n;
      len -= (gsize) n;
      offset += (guint64) n;
    }
  return TRUE;
}

static gboolean
fsync_dir (const char *dir, GError **error)
{
  int err = strand_fsync_dir (dir);
  return err == 0 || errno_error (error, err, "cannot sync", dir);
}

static void
hash_hex (StrandSha256 *sha, const void *data, gsize len, char hex[65])
{
  strand_sha256_reset (sha);
  strand_sha256_update (sha, data, len);
  strand_sha256_finish_hex (sha, hex);
}

/* ---- Reading the end of the log backwards ---- */

/* The offset of the last newline before `pos`, or -1. */
static gboolean
find_newline_before (int fd, guint64 pos, gint64 *found, GError **error)
{
  g_autofree char *chunk = g_malloc (BACK_CHUNK);
  while (pos > 0)
    {
      gsize n = (gsize) MIN (pos, (guint64) BACK_CHUNK);
      guint64 at = pos - n;
      if (!pread_all (fd, chunk, n, at))
        return errno_error (error, errno, "cannot read", "the ledger log");
      const char *nl = memrchr (chunk, '\n', n);
      if (nl != NULL)
        {
          *found = (gint64) (at + (guint64) (nl - chunk));
          return TRUE;
        }
      pos = at;
    }
  *found = -1;
  return TRUE;
}

/* Reads the line whose newline is the byte before `end` into `line`
 * (NUL-terminated, without the newline) and gives its start. */
static gboolean
read_line_before (int fd, guint64 end, GByteArray *line, guint64 *start, GError **error)
{
  gint64 nl = -1;
  if (!find_newline_before (fd, end - 1, &nl, error))
    return FALSE;
  *start = (guint64) (nl + 1);
  guint64 len = end - 1 - *start;
  if (len > LINE_MAX_BYTES)
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT,
                   "the line at byte %" G_GUINT64_FORMAT " is %" G_GUINT64_FORMAT
                   " bytes long: not a ledger record",
                   *start, len);
      return FALSE;
    }
  g_byte_array_set_size (line, (guint) len + 1);
  if (!pread_all (fd, line->data, (gsize) len, *start))
    return errno_error (error, errno, "cannot read", "the ledger log");
  line->data[len] = '\0';
  g_byte_array_set_size (line, (guint) len);
  return TRUE;
}

static gboolean
corrupt (GError **error, const char *path, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
corrupt (GError **error, const char *path, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT,
               "%s: %s. Nothing was changed; run `strand ledger verify` to see every "
               "damaged record",
               path, what);
  return FALSE;
}

/* Finds the last good record from the end, cuts what follows it (see the
 * top of this file) and sets last_seq, last_hash and file_size. */
static gboolean
recover_tail (StrandLedger *l, guint64 *cut, GError **error)
{
  struct stat st;
  if (fstat (l->fd, &st) < 0)
    return errno_error (error, errno, "cannot stat", l->path);
  guint64 size = (guint64) st.st_size;
  guint64 end = size;
  if (size > 0)
    {
      char last = 0;
      if (!pread_all (l->fd, &last, 1, size - 1))
        return errno_error (error, errno, "cannot read", l->path);
      if (last != '\n')
        {
          gint64 nl = -1;
          if (!find_newline_before (l->fd, size - 1, &nl, error))
            return FALSE;
          end = (guint64) (nl + 1);
        }
    }

  l->last_seq = 0;
  memcpy (l->last_hash, STRAND_LEDGER_GENESIS, 65);
  g_autoptr (GByteArray) line = g_byte_array_new ();
  g_autofree char *garbage = NULL; /* why the last complete line cut was not a record */
  while (end > 0)
    {
      guint64 start = 0;
      if (!read_line_before (l->fd, end, line, &start, error))
        return FALSE;
      StrandLineParts parts;
      g_autoptr (GError) local = NULL;
      StrandRecordStatus status = strand_record_check ((const char *) line->data, line->len,
                                                       &l->key, FALSE, NULL, &parts, &local);
      if (status == STRAND_RECORD_MALFORMED)
        {
          g_free (garbage);
          garbage = g_strdup (local->message);
          end = start;
          continue;
        }
      if (status != STRAND_RECORD_OK)
        return corrupt (error, l->path, "%s (byte %" G_GUINT64_FORMAT ")", local->message, start);

      char hash[65];
      hash_hex (l->sha, line->data, line->len, hash);
      if (start == 0)
        {
          if (parts.seq != 1 || memcmp (parts.prev, STRAND_LEDGER_GENESIS, 64) != 0)
            return corrupt (error, l->path,
                            "the first line is record %" G_GUINT64_FORMAT
                            " and does not start the chain",
                            parts.seq);
        }
      else
        {
          guint64 prev_start = 0;
          g_autoptr (GByteArray) prev = g_byte_array_new ();
          if (!read_line_before (l->fd, start, prev, &prev_start, error))
            return FALSE;
          char prev_hash[65];
          hash_hex (l->sha, prev->data, prev->len, prev_hash);
          guint64 prev_seq = strand_line_seq ((const char *) prev->data, prev->len);
          if (prev_seq + 1 != parts.seq || memcmp (prev_hash, parts.prev, 64) != 0)
            return corrupt (error, l->path,
                            "record %" G_GUINT64_FORMAT " (byte %" G_GUINT64_FORMAT
                            ") does not follow the line before it (byte %" G_GUINT64_FORMAT ")",
                            parts.seq, start, prev_start);
        }
      l->last_seq = parts.seq;
      memcpy (l->last_hash, hash, 65);
      break;
    }
  if (end == 0 && garbage != NULL)
    return corrupt (error, l->path, "no line is a ledger record (%s): is this a Strand ledger?",
                    garbage);

  if (end < size)
    {
      if (ftruncate (l->fd, (off_t) end) < 0)
        return errno_error (error, errno, "cannot cut the torn tail of", l->path);
      if (fsync (l->fd) < 0)
        return errno_error (error, errno, "cannot sync", l->path);
    }
  *cut = size - end;
  l->file_size = end;
  return TRUE;
}

/* ---- Open, append, sync, close ---- */

/* The tree is derived from the log: when it cannot be kept, records are
 * still written, and the next open rebuilds it. */
static StrandTree *
open_tree (const char *log_path)
{
  g_autoptr (GError) error = NULL;
  StrandTree *tree = strand_tree_open (log_path, &error);
  if (tree == NULL)
    g_warning ("ledger %s: cannot keep its Merkle tree (%s); it is rebuilt when the ledger is "
               "next opened", log_path, error->message);
  return tree;
}

StrandLedger *
strand_ledger_open (const char *dir, StrandKey *key, guint64 *recovered, GError **error)
{
  strand_sodium_init ();
  if (key == NULL || !key->has_secret)
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_NO_KEY,
                   "writing the ledger needs the host's secret key: run `strand init`");
      return NULL;
    }
  g_autofree char *ledger_dir = g_build_filename (dir, "ledger", NULL);
  g_autofree char *lock_path = g_build_filename (ledger_dir, "lock", NULL);
  if (g_mkdir_with_parents (ledger_dir, 0755) < 0)
    {
      errno_error (error, errno, "cannot create", ledger_dir);
      return NULL;
    }

  g_autoptr (StrandLedger) l = g_new0 (StrandLedger, 1);
  g_mutex_init (&l->mutex);
  l->fd = -1;
  l->path = g_build_filename (ledger_dir, "log.jsonl", NULL);
  l->key = *key;
  l->buffer = g_string_sized_new (FLUSH_AT + 16 * 1024);
  l->pae = g_string_sized_new (8192);
  l->splice.insert = g_string_sized_new (256);
  l->sha = strand_sha256_new ();

  l->lock_fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (l->lock_fd < 0)
    {
      errno_error (error, errno, "cannot open", lock_path);
      return NULL;
    }
  if (flock (l->lock_fd, LOCK_EX | LOCK_NB) < 0)
    {
      int saved = errno;
      if (saved == EWOULDBLOCK)
        g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_LOCKED,
                     "another process is writing the ledger in %s", ledger_dir);
      else
        errno_error (error, saved, "cannot lock", lock_path);
      return NULL;
    }

  l->fd = open (l->path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (l->fd < 0 && errno == ENOENT)
    {
      /* A new log: make its name durable with its first records. */
      l->fd = open (l->path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (l->fd >= 0 && (!fsync_dir (ledger_dir, error) || !fsync_dir (dir, error)))
        return NULL;
    }
  if (l->fd < 0)
    {
      errno_error (error, errno, "cannot open", l->path);
      return NULL;
    }

  guint64 cut = 0;
  if (!recover_tail (l, &cut, error))
    return NULL;
  if (recovered != NULL)
    *recovered = cut;
  l->tree = open_tree (l->path);
  return g_steal_pointer (&l);
}

/* Writes the buffer. On failure the file is cut back to what it held
 * before, so it never ends in part of a record, and the buffer is kept. */
static gboolean
ledger_flush (StrandLedger *l, GError **error)
{
  const char *p = l->buffer->str;
  gsize left = l->buffer->len;
  while (left > 0)
    {
      ssize_t n = write (l->fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          if (ftruncate (l->fd, (off_t) l->file_size) < 0)
            l->broken = g_strdup_printf ("a failed write could not be undone (%s)",
                                         g_strerror (errno));
          return errno_error (error, saved, "cannot write", l->path);
        }
      p += n;
      left -= (gsize) n;
    }
  l->file_size += l->buffer->len;
  g_string_truncate (l->buffer, 0);
  return TRUE;
}

static gboolean
check_usable (StrandLedger *l, GError **error)
{
  if (l->broken == NULL)
    return TRUE;
  g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_IO,
               "%s: %s; close and reopen the ledger", l->path, l->broken);
  return FALSE;
}

static JsonObject *
member_object (JsonObject *object, const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Whether `statement` can take the chain members (records.h); `slsa` says
 * where they go. */
static gboolean
check_statement (JsonNode *statement, gboolean *slsa, GError **error)
{
  JsonObject *st = statement != NULL && JSON_NODE_HOLDS_OBJECT (statement)
                       ? json_node_get_object (statement)
                       : NULL;
  const char *type = strand_json_string (st, "predicateType", NULL);
  JsonObject *predicate = member_object (st, "predicate");
  if (g_strcmp0 (strand_json_string (st, "_type", NULL), STRAND_STATEMENT_TYPE) != 0 ||
      type == NULL || predicate == NULL)
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_INVALID,
                   "not an in-toto Statement v1 (_type \"%s\", predicateType and a "
                   "predicate object)",
                   STRAND_STATEMENT_TYPE);
      return FALSE;
    }
  *slsa = strcmp (type, STRAND_RECORD_STAGE_RUN) == 0;
  if (*slsa && member_object (predicate, "buildDefinition") == NULL)
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_INVALID,
                   "a SLSA provenance statement needs predicate.buildDefinition");
      return FALSE;
    }
  return TRUE;
}

guint64
strand_ledger_append (StrandLedger *l, JsonNode *statement, char hash[65], GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&l->mutex);
  if (!check_usable (l, error))
    return 0;
  guint64 seq = l->last_seq + 1;
  gboolean slsa = FALSE;
  if (!check_statement (statement, &slsa, error))
    return 0;
  /* The payload is the canonical statement with {"seq", "prev"} at its
   * chain member; it is written straight into the PAE that is signed. */
  g_autofree char *text = strand_canonical_json (statement);
  gsize text_len = strlen (text);
  if (!strand_chain_splice (text, text_len, slsa, seq, l->last_hash, &l->splice))
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_INVALID,
                   "no place for the chain members in the statement");
      return 0;
    }
  const StrandSplice *sp = &l->splice;
  gsize payload_len = text_len - sp->replace + sp->insert->len;
  g_string_truncate (l->pae, 0);
  strand_dsse_pae_append (l->pae, STRAND_DSSE_PAYLOAD_TYPE, NULL, payload_len);
  gsize payload_at = l->pae->len;
  g_string_append_len (l->pae, text, (gssize) sp->at);
  g_string_append_len (l->pae, sp->insert->str, (gssize) sp->insert->len);
  g_string_append_len (l->pae, text + sp->at + sp->replace,
                       (gssize) (text_len - sp->at - sp->replace));
  const char *payload = l->pae->str + payload_at;
  guint8 sig[crypto_sign_BYTES];
  crypto_sign_detached (sig, NULL, (const guint8 *) l->pae->str, l->pae->len, l->key.sk);

  gsize start = l->buffer->len;
  strand_line_append (l->buffer, payload, payload_len, l->key.keyid, sig, l->last_hash, seq);
  char line_hash[65];
  hash_hex (l->sha, l->buffer->str + start, l->buffer->len - start, line_hash);
  guint8 leaf[STRAND_MERKLE_HASH_LEN] = { 0 };
  guint64 line_offset = l->file_size + start;
  if (l->tree != NULL)
    strand_merkle_leaf_hash (l->buffer->str + start, l->buffer->len - start, leaf);
  g_string_append_c (l->buffer, '\n');

  if (l->buffer->len >= FLUSH_AT && !ledger_flush (l, error))
    {
      /* This record is not appended; those before it stay buffered. */
      g_string_truncate (l->buffer, start);
      return 0;
    }
  l->last_seq = seq;
  memcpy (l->last_hash, line_hash, 65);
  l->dirty = TRUE;
  if (l->tree != NULL)
    strand_tree_append (l->tree, leaf, line_offset);
  if (hash != NULL)
    memcpy (hash, line_hash, 65);
  return seq;
}

gboolean
strand_ledger_sync (StrandLedger *l, GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&l->mutex);
  if (!check_usable (l, error) || !ledger_flush (l, error))
    return FALSE;
  if (fdatasync (l->fd) < 0)
    {
      int saved = errno;
      /* After a failed fsync the kernel may have dropped the pages it could
       * not write: what the disk holds is known only after a reopen. */
      l->broken = g_strdup_printf ("fdatasync failed (%s)", g_strerror (saved));
      return errno_error (error, saved, "cannot sync", l->path);
    }
  l->dirty = FALSE;
  /* The tree takes the records once they are durable. */
  g_autoptr (GError) tree_error = NULL;
  if (l->tree != NULL && !strand_tree_flush (l->tree, &tree_error))
    {
      g_warning ("ledger %s: cannot keep its Merkle tree (%s); it is rebuilt when the ledger is "
                 "next opened", l->path, tree_error->message);
      g_clear_pointer (&l->tree, strand_tree_close);
    }
  return TRUE;
}

void
strand_ledger_close (StrandLedger *l)
{
  if (l == NULL)
    return;
  if (l->broken != NULL && l->buffer != NULL && l->buffer->len > 0)
    g_warning ("ledger %s: %" G_GSIZE_FORMAT " buffered bytes are lost: %s", l->path,
               l->buffer->len, l->broken);
  if (l->fd >= 0 && l->broken == NULL && l->dirty)
    {
      g_autoptr (GError) error = NULL;
      guint64 pending = l->buffer->len;
      if (!strand_ledger_sync (l, &error))
        g_warning ("ledger: %" G_GUINT64_FORMAT " buffered bytes may be lost: %s", pending,
                   error->message);
    }
  strand_tree_close (l->tree);
  if (l->fd >= 0)
    close (l->fd);
  if (l->lock_fd >= 0)
    close (l->lock_fd); /* releases the lock */
  sodium_memzero (&l->key, sizeof l->key);
  g_mutex_clear (&l->mutex);
  if (l->buffer != NULL)
    g_string_free (l->buffer, TRUE);
  if (l->pae != NULL)
    {
      sodium_memzero (l->pae->str, l->pae->allocated_len);
      g_string_free (l->pae, TRUE);
    }
  if (l->splice.insert != NULL)
    g_string_free (l->splice.insert, TRUE);
  strand_sha256_free (l->sha);
  g_free (l->broken);
  g_free (l->path);
  g_free (l);
}

guint64
strand_ledger_last_seq (StrandLedger *l)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&l->mutex);
  return l->last_seq;
}

const char *
strand_ledger_last_hash (StrandLedger *l)
{
  return l->last_hash;
}

const char *
strand_ledger_path (StrandLedger *l)
{
  return l->path;
}

/* ---- Reading forwards ---- */

/* Calls `func` for every complete line from `from_offset`; what follows the
 * last newline is left out and described by `tail_offset`/`tail_len`. */
static gboolean
ledger_scan (const char *log_path, guint64 from_offset, StrandLedgerRecordFunc func,
             gpointer user_data, guint64 *tail_offset, gsize *tail_len, GError **error)
{
  int fd = open (log_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error (error, errno, "cannot open", log_path);
  if (from_offset > 0)
    {
      char before = 0;
      if (!pread_all (fd, &before, 1, from_offset - 1) || before != '\n')
        {
          close (fd);
          g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT,
                       "%s: byte %" G_GUINT64_FORMAT " is not the start of a record", log_path,
                       from_offset);
          return FALSE;
        }
    }
#ifdef POSIX_FADV_SEQUENTIAL
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  g_autoptr (StrandSha256) sha = strand_sha256_new ();
  gsize cap = READ_CHUNK;
  g_autofree char *buf = g_malloc (cap + 1);
  gsize fill = 0;
  guint64 buf_offset = from_offset; /* file offset of buf[0] */
  gboolean stopped = FALSE;
  while (!stopped)
    {
      if (fill == cap)
        {
          cap *= 2; /* one line longer than the buffer */
          buf = g_realloc (buf, cap + 1);
        }
      ssize_t n = pread (fd, buf + fill, cap - fill, (off_t) (buf_offset + fill));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          return errno_error (error, saved, "cannot read", log_path);
        }
      if (n == 0)
        break;
      gsize scanned = fill;
      fill += (gsize) n;
      gsize pos = 0;
      char *nl;
      while (!stopped && (nl = memchr (buf + MAX (pos, scanned), '\n',
                                       fill - MAX (pos, scanned))) != NULL)
        {
          gsize len = (gsize) (nl - (buf + pos));
          char hash[65];
          hash_hex (sha, buf + pos, len, hash);
          *nl = '\0';
          stopped = !func (buf + pos, len, strand_line_seq (buf + pos, len), hash,
                           buf_offset + pos, user_data);
          pos += len + 1;
        }
      memmove (buf, buf + pos, fill - pos);
      fill -= pos;
      buf_offset += pos;
    }
  close (fd);
  if (tail_offset != NULL)
    *tail_offset = buf_offset;
  if (tail_len != NULL)
    *tail_len = stopped ? 0 : fill;
  return TRUE;
}

gboolean
strand_ledger_read (const char *log_path, guint64 from_offset, StrandLedgerRecordFunc func,
                    gpointer user_data, GError **error)
{
  return ledger_scan (log_path, from_offset, func, user_data, NULL, NULL, error);
}

/* ---- Verifying a whole log ---- */

typedef struct {
  const StrandKey *key;
  GPtrArray *problems;
  guint64 prev_seq;   /* seq of the line before, or our best guess at it */
  char prev_hash[65]; /* hash of the line before, as it is */
  guint64 prev_offset;
  gboolean prev_bad;  /* the line before failed its own checks */
  guint64 lines;
} VerifyState;

static const char *
problem_code (StrandRecordStatus status)
{
  switch (status)
    {
    case STRAND_RECORD_MALFORMED: return "not-a-record";
    case STRAND_RECORD_WRONG_KEY: return "wrong-key";
    case STRAND_RECORD_BAD_SIGNATURE: return "bad-signature";
    case STRAND_RECORD_BAD_STATEMENT: return "bad-statement";
    case STRAND_RECORD_CHAIN_MISMATCH: return "chain-mismatch";
    case STRAND_RECORD_OK: break;
    }
  return "ok";
}

static void
add_problem (VerifyState *v, const char *code, guint64 seq, guint64 offset, const char *format,
             ...) G_GNUC_PRINTF (5, 6);

static void
add_problem (VerifyState *v, const char *code, guint64 seq, guint64 offset, const char *format,
             ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_autofree char *where = g_strdup_printf ("seq %" G_GUINT64_FORMAT ", byte %" G_GUINT64_FORMAT,
                                            seq, offset);
  strand_problems_add (v->problems, FALSE, code, where, "%s", message);
}

static gboolean
verify_line (const char *line, gsize len, guint64 line_seq, const char *hash, guint64 offset,
             gpointer user_data)
{
  VerifyState *v = user_data;
  guint64 expected = v->prev_seq + 1;
  StrandLineParts parts;
  g_autoptr (GError) error = NULL;
  StrandRecordStatus status = strand_record_check (line, len, v->key, FALSE, NULL, &parts, &error);
  if (status != STRAND_RECORD_OK)
    {
      add_problem (v, problem_code (status), expected, offset, "%s", error->message);
      /* Two lines run together end with the second one's seq: resume the
       * count from there rather than report a gap after it. */
      v->prev_seq = status == STRAND_RECORD_MALFORMED ? MAX (expected, line_seq) : expected;
      v->prev_bad = TRUE;
    }
  else
    {
      if (parts.seq != expected)
        add_problem (v, "seq-gap", parts.seq, offset,
                     "record %" G_GUINT64_FORMAT " follows record %" G_GUINT64_FORMAT
                     " (byte %" G_GUINT64_FORMAT "): records are missing or out of order",
                     parts.seq, v->prev_seq, v->prev_offset);
      else if (!v->prev_bad && memcmp (parts.prev, v->prev_hash, 64) != 0)
        add_problem (v, "broken-chain", parts.seq, offset,
                     "record %" G_GUINT64_FORMAT " names prev %.16s... but the %s hashes "
                     "to %.16s...",
                     parts.seq, parts.prev,
                     parts.seq == 1 ? "chain starts from zeros and" : "record before it",
                     v->prev_hash);
      v->prev_seq = parts.seq;
      v->prev_bad = FALSE;
    }
  memcpy (v->prev_hash, hash, 65);
  v->prev_offset = offset;
  v->lines++;
  return TRUE;
}

gboolean
strand_ledger_verify (const char *log_path, const StrandKey *key, GPtrArray *problems,
                      guint64 *records)
{
  guint errors_before = strand_problems_errors (problems);
  VerifyState v = { .key = key, .problems = problems };
  memcpy (v.prev_hash, STRAND_LEDGER_GENESIS, 65);
  guint64 tail_offset = 0;
  gsize tail_len = 0;
  g_autoptr (GError) error = NULL;
  if (!ledger_scan (log_path, 0, verify_line, &v, &tail_offset, &tail_len, &error))
    strand_problems_add (problems, FALSE, "unreadable", log_path, "%s", error->message);
  else if (tail_len > 0)
    add_problem (&v, "torn-tail", v.prev_seq + 1, tail_offset,
                 "the log ends in %" G_GSIZE_FORMAT " bytes without a newline: a record "
                 "whose write was torn (opening the ledger cuts it)",
                 tail_len);
  if (records != NULL)
    *records = v.lines;
  return strand_problems_errors (problems) == errors_before;
}
