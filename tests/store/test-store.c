/* The content-addressed store from its users' side: a task streaming an
 * output, an operator ingesting inputs, a full disk, a killed writer, a
 * damaged object. Issue 4, part 1. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"

#define MiB (1024 * 1024)

typedef struct {
  char *dir;        /* the fixture's temporary directory */
  char *store_dir;  /* dir/store */
  StrandStore *store;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("strand-store-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->store_dir = g_build_filename (f->dir, "store", NULL);
  g_autoptr (GError) error = NULL;
  f->store = strand_store_open (f->store_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  strand_store_close (f->store);
  strand_test_remove_tree (f->dir);
  g_free (f->store_dir);
  g_free (f->dir);
}

/* Deterministic bytes that do not compress or repeat. */
static GBytes *
make_data (gsize len, guint64 seed)
{
  guint8 *buf = g_malloc (len);
  guint64 x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (gsize i = 0; i < len; i++)
    {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      buf[i] = (guint8) ((x * 0x2545f4914f6cdd1dULL) >> 56);
    }
  return g_bytes_new_take (buf, len);
}

static char *
checksum (GChecksumType type, GBytes *bytes)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  return g_compute_checksum_for_data (type, data, len);
}

static char *
write_file (const char *dir, const char *name, GBytes *bytes, int mode)
{
  char *path = g_build_filename (dir, name, NULL);
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

/* Streams `bytes` into the store in pieces of `piece` bytes. */
static gboolean
stream (StrandStore *store, GBytes *bytes, gsize piece, StrandObjectInfo *info, GError **error)
{
  StrandStoreWriter *w = strand_store_writer_new (store, error);
  if (w == NULL)
    return FALSE;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  for (gsize off = 0; off < len; off += piece)
    if (!strand_store_writer_write (w, data + off, MIN (piece, len - off), error))
      {
        strand_store_writer_abort (w);
        return FALSE;
      }
  return strand_store_writer_commit (w, info, error);
}

static guint
count_entries (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;
  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static guint
tmp_files (Fixture *f)
{
  g_autofree char *tmp = g_build_filename (f->store_dir, "tmp", NULL);
  return count_entries (tmp);
}

static guint64
object_count (StrandStore *store)
{
  StrandStoreUsage usage;
  strand_store_usage (store, &usage);
  return usage.objects;
}

static void
assert_file_equals (const char *path, GBytes *bytes)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_autoptr (GBytes) got = g_bytes_new_take (g_steal_pointer (&contents), len);
  g_assert_true (g_bytes_equal (got, bytes));
}

static const char *
fs_name (const char *path)
{
  struct statfs fs;
  if (statfs (path, &fs) != 0)
    return "unknown";
  switch ((unsigned long) fs.f_type)
    {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x9123683E: return "btrfs";
    case 0x58465342: return "xfs";
    case 0x6969: return "nfs";
    case 0x794c7630: return "overlayfs";
    default: return "other";
    }
}

/* ---- streaming ------------------------------------------------------- */

/* A task's output streamed in odd-sized pieces (across the store's 1 MiB
 * chunks, so MD5 runs in its helper thread) lands under its SHA-256, read
 * only, with the MD5 beside it. */
static void
test_stream_digests (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (5 * MiB + 12345, 1);
  g_autofree char *sha = checksum (G_CHECKSUM_SHA256, bytes);
  g_autofree char *md5 = checksum (G_CHECKSUM_MD5, bytes);
  StrandObjectInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (stream (f->store, bytes, 65537, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (info.sha256, ==, sha);
  g_assert_cmpstr (info.md5, ==, md5);
  g_assert_cmpuint (info.size, ==, g_bytes_get_size (bytes));
  g_assert_cmpint (info.placement, ==, STRAND_PLACE_STREAM);
  g_assert_cmpstr (strand_placement_name (info.placement), ==, "stream");

  g_autofree char *path = strand_store_object_path (f->store, sha);
  g_autofree char *expected = g_build_filename (f->store_dir, "objects", "sha256",
                                                (char[]) { sha[0], sha[1], 0 }, sha, NULL);
  g_assert_cmpstr (path, ==, expected);
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0444);
  assert_file_equals (path, bytes);
  g_assert_true (strand_store_contains (f->store, sha));
  g_assert_true (strand_store_verify (f->store, sha, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tmp_files (f), ==, 0);

  /* Small and empty objects take the same road. */
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_assert_true (stream (f->store, empty, 1, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (info.sha256, ==,
                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  g_assert_cmpstr (info.md5, ==, "d41d8cd98f00b204e9800998ecf8427e");
  g_assert_cmpuint (info.size, ==, 0);
  g_autoptr (GBytes) small = g_bytes_new_static ("ACGT\n", 5);
  g_autofree char *small_md5 = checksum (G_CHECKSUM_MD5, small);
  g_assert_true (stream (f->store, small, 2, &info, &error));
  g_assert_cmpstr (info.md5, ==, small_md5);
  g_assert_cmpuint (object_count (f->store), ==, 3);
}

/* The same bytes written twice are stored once. */
static void
test_stream_dedup (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (3 * MiB, 2);
  StrandObjectInfo a, b;
  g_autoptr (GError) error = NULL;
  g_assert_true (stream (f->store, bytes, MiB, &a, &error));
  g_assert_true (stream (f->store, bytes, 4096, &b, &error));
  g_assert_no_error (error);
  g_assert_cmpint (a.placement, ==, STRAND_PLACE_STREAM);
  g_assert_cmpint (b.placement, ==, STRAND_PLACE_EXISTING);
  g_assert_cmpstr (a.sha256, ==, b.sha256);
  g_assert_cmpstr (a.md5, ==, b.md5);
  g_assert_cmpuint (object_count (f->store), ==, 1);
  g_assert_cmpuint (tmp_files (f), ==, 0);
}

typedef struct {
  StrandStore *store;
  GBytes *bytes;
  StrandObjectInfo info;
} RaceArg;

static gpointer
race_writer (gpointer data)
{
  RaceArg *arg = data;
  g_autoptr (GError) error = NULL;
  g_assert_true (stream (arg->store, arg->bytes, 100000, &arg->info, &error));
  g_assert_no_error (error);
  return NULL;
}

/* Writers racing with the same bytes: one creates the object, the others
 * find it there; nothing is left in tmp/. */
static void
test_stream_concurrent (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (3 * MiB + 7, 3);
  RaceArg args[4];
  GThread *threads[4];
  for (int i = 0; i < 4; i++)
    {
      args[i] = (RaceArg) { f->store, bytes, { { 0 } } };
      threads[i] = g_thread_new ("writer", race_writer, &args[i]);
    }
  int created = 0;
  for (int i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      created += args[i].info.placement == STRAND_PLACE_STREAM;
      g_assert_cmpstr (args[i].info.sha256, ==, args[0].info.sha256);
    }
  g_assert_cmpint (created, ==, 1);
  g_assert_cmpuint (object_count (f->store), ==, 1);
  g_assert_cmpuint (tmp_files (f), ==, 0);
}

/* ---- ingest ---------------------------------------------------------- */

/* The same content from two paths: one object; the second ingest finds it. */
static void
test_ingest_dedup (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (2 * MiB + 3, 4);
  g_autofree char *a = write_file (f->dir, "a.fastq", bytes, 0644);
  g_autofree char *b = write_file (f->dir, "b.fastq", bytes, 0644);
  StrandObjectInfo ia, ib;
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_store_ingest_file (f->store, a, FALSE, &ia, &error));
  g_assert_no_error (error);
  g_assert_true (strand_store_ingest_file (f->store, b, FALSE, &ib, &error));
  g_assert_no_error (error);
  g_autofree char *sha = checksum (G_CHECKSUM_SHA256, bytes);
  g_autofree char *md5 = checksum (G_CHECKSUM_MD5, bytes);
  g_assert_cmpstr (ia.sha256, ==, sha);
  g_assert_cmpstr (ia.md5, ==, md5);
  g_assert_cmpstr (ib.sha256, ==, sha);
  g_assert_cmpstr (ib.md5, ==, md5);
  g_assert_cmpint (ia.placement, !=, STRAND_PLACE_EXISTING);
  g_assert_cmpint (ib.placement, ==, STRAND_PLACE_EXISTING);
  g_assert_cmpuint (object_count (f->store), ==, 1);
  g_assert_true (strand_store_verify (f->store, sha, &error));
  g_assert_no_error (error);
}

/* Ingest never changes the user's file: not its bytes, not its mode, and a
 * writable file is never hard-linked even when links are allowed. */
static void
test_ingest_original_untouched (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (MiB + 1, 5);
  g_autofree char *path = write_file (f->dir, "reads.fastq", bytes, 0640);
  struct stat before, after, obj;
  g_assert_cmpint (stat (path, &before), ==, 0);
  StrandObjectInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_store_ingest_file (f->store, path, TRUE, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.placement, !=, STRAND_PLACE_HARDLINK);
  g_assert_cmpint (stat (path, &after), ==, 0);
  g_assert_cmpint (after.st_mode, ==, before.st_mode);
  g_assert_cmpint (after.st_ino, ==, before.st_ino);
  g_assert_cmpint (after.st_nlink, ==, 1);
  assert_file_equals (path, bytes);
  g_autofree char *obj_path = strand_store_object_path (f->store, info.sha256);
  g_assert_cmpint (stat (obj_path, &obj), ==, 0);
  g_assert_cmpint (obj.st_ino, !=, before.st_ino);
  g_assert_cmpint (obj.st_mode & 07777, ==, 0444);
  /* The user may now change their file; the object stays right. */
  g_assert_true (g_file_set_contents (path, "changed", -1, NULL));
  g_assert_true (strand_store_verify (f->store, info.sha256, &error));
  g_assert_no_error (error);
}

/* A read-only file on the store's file system, with links allowed, becomes
 * the object by hard link: no byte copied, its mode unchanged. Not allowed
 * or writable: a copy. */
static void
test_ingest_hardlink (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (MiB / 2, 6);
  g_autofree char *ro = write_file (f->dir, "ro.bam", bytes, 0444);
  struct stat src;
  g_assert_cmpint (stat (ro, &src), ==, 0);

  StrandObjectInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_store_ingest_file (f->store, ro, FALSE, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.placement, !=, STRAND_PLACE_HARDLINK);
  g_assert_true (strand_store_remove (f->store, info.sha256, &error));
  g_assert_no_error (error);

  g_assert_true (strand_store_ingest_file (f->store, ro, TRUE, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.placement, ==, STRAND_PLACE_HARDLINK);
  g_autofree char *obj_path = strand_store_object_path (f->store, info.sha256);
  struct stat obj, after;
  g_assert_cmpint (stat (obj_path, &obj), ==, 0);
  g_assert_cmpint (stat (ro, &after), ==, 0);
  g_assert_cmpint (obj.st_ino, ==, src.st_ino);
  g_assert_cmpint (after.st_mode, ==, src.st_mode);
  g_assert_cmpint (after.st_nlink, ==, 2);
  g_autofree char *sha = checksum (G_CHECKSUM_SHA256, bytes);
  g_assert_cmpstr (info.sha256, ==, sha);
  StrandStoreUsage usage;
  strand_store_usage (f->store, &usage);
  g_assert_cmpuint (usage.objects, ==, 1);
  g_assert_cmpuint (usage.bytes, ==, g_bytes_get_size (bytes));

  /* Removing the object leaves the user's name alone. */
  g_assert_true (strand_store_remove (f->store, info.sha256, &error));
  g_assert_no_error (error);
  assert_file_equals (ro, bytes);
  g_assert_cmpint (stat (ro, &after), ==, 0);
  g_assert_cmpint (after.st_nlink, ==, 1);
}

/* On the store's own file system the chain starts at reflink; ext4 and
 * tmpfs have none, so it ends at copy_file_range. */
static void
test_ingest_same_fs_chain (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (3 * MiB, 7);
  g_autofree char *path = write_file (f->dir, "in.vcf", bytes, 0644);
  StrandObjectInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_store_ingest_file (f->store, path, FALSE, &info, &error));
  g_assert_no_error (error);
  const char *fs = fs_name (f->dir);
  g_test_message ("store and input on %s: placement %s", fs, strand_placement_name (info.placement));
  g_assert_true (info.placement == STRAND_PLACE_REFLINK || info.placement == STRAND_PLACE_COPY_RANGE);
  if (strcmp (fs, "ext4") == 0 || strcmp (fs, "tmpfs") == 0)
    g_assert_cmpint (info.placement, ==, STRAND_PLACE_COPY_RANGE);
  g_autofree char *sha = checksum (G_CHECKSUM_SHA256, bytes);
  g_assert_cmpstr (info.sha256, ==, sha);
  g_assert_true (strand_store_verify (f->store, sha, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tmp_files (f), ==, 0);
}

/* From another file system (/dev/shm to the store): no reflink, no hard
 * link even when allowed and read-only, no copy_file_range: a plain copy. */
static void
test_ingest_cross_fs (Fixture *f, gconstpointer data)
{
  struct stat shm, here;
  if (stat ("/dev/shm", &shm) != 0 || stat (f->dir, &here) != 0 || shm.st_dev == here.st_dev)
    {
      g_test_skip ("/dev/shm is missing or on the same file system as the temporary directory");
      return;
    }
  char tmpl[] = "/dev/shm/strand-store-XXXXXX";
  g_assert_nonnull (g_mkdtemp (tmpl));
  g_autoptr (GBytes) bytes = make_data (2 * MiB + 99, 8);
  g_autofree char *path = write_file (tmpl, "in.cram", bytes, 0444);
  StrandObjectInfo info;
  g_autoptr (GError) error = NULL;
  gboolean ok = strand_store_ingest_file (f->store, path, TRUE, &info, &error);
  strand_test_remove_tree (tmpl);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_test_message ("%s -> %s: placement %s", fs_name ("/dev/shm"), fs_name (f->dir),
                  strand_placement_name (info.placement));
  g_assert_cmpint (info.placement, ==, STRAND_PLACE_COPY);
  g_autofree char *sha = checksum (G_CHECKSUM_SHA256, bytes);
  g_assert_cmpstr (info.sha256, ==, sha);
  g_assert_true (strand_store_verify (f->store, sha, &error));
  g_assert_no_error (error);
}

/* Not a regular file, or no file at all: a clear error, nothing stored. */
static void
test_ingest_invalid (Fixture *f, gconstpointer data)
{
  StrandObjectInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_false (strand_store_ingest_file (f->store, f->dir, FALSE, &info, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (f->dir, "missing.fq", NULL);
  g_assert_false (strand_store_ingest_file (f->store, missing, FALSE, &info, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);
  char sha[65];
  g_assert_false (strand_store_file_digest (f->store, f->dir, sha, NULL, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
  g_assert_cmpuint (object_count (f->store), ==, 0);
}

/* ---- atomicity ------------------------------------------------------- */

static void
test_atomic_abort (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (3 * MiB, 9);
  g_autoptr (GError) error = NULL;
  StrandStoreWriter *w = strand_store_writer_new (f->store, &error);
  g_assert_no_error (error);
  g_assert_true (strand_store_writer_write (w, g_bytes_get_data (bytes, NULL), 2 * MiB, &error));
  g_assert_cmpuint (tmp_files (f), ==, 1);
  strand_store_writer_abort (w);
  g_assert_cmpuint (tmp_files (f), ==, 0);
  g_assert_cmpuint (object_count (f->store), ==, 0);
  /* g_autoptr aborts a writer that goes out of scope. */
  {
    g_autoptr (StrandStoreWriter) w2 = strand_store_writer_new (f->store, &error);
    g_assert_true (strand_store_writer_write (w2, "ACGT", 4, &error));
  }
  g_assert_cmpuint (tmp_files (f), ==, 0);
  g_assert_cmpuint (object_count (f->store), ==, 0);
}

/* A writer killed half way: no object appears, and the next open of the
 * store deletes what it left in tmp/. */
static void
test_atomic_killed (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (6 * MiB, 10);
  g_autofree char *sha = checksum (G_CHECKSUM_SHA256, bytes);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      StrandStoreWriter *w = strand_store_writer_new (f->store, NULL);
      if (w == NULL || !strand_store_writer_write (w, g_bytes_get_data (bytes, NULL), 3 * MiB, NULL))
        _exit (1);
      raise (SIGKILL);
      _exit (2);
    }
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);

  g_assert_false (strand_store_contains (f->store, sha));
  g_assert_cmpuint (object_count (f->store), ==, 0);
  g_assert_cmpuint (tmp_files (f), ==, 1); /* never committed, never trusted */

  g_autoptr (GError) error = NULL;
  g_autoptr (StrandStore) again = strand_store_open (f->store_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tmp_files (f), ==, 0);
  g_assert_cmpuint (object_count (again), ==, 0);

  /* The whole content can still be written afterwards. */
  StrandObjectInfo info;
  g_assert_true (stream (again, bytes, MiB, &info, &error));
  g_assert_cmpstr (info.sha256, ==, sha);
}

/* Opening the store while another handle is writing leaves that write
 * alone: only files nobody holds are deleted. */
static void
test_atomic_live_writer (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (2 * MiB + 5, 11);
  gsize len = g_bytes_get_size (bytes);
  const guint8 *p = g_bytes_get_data (bytes, NULL);
  g_autoptr (GError) error = NULL;
  StrandStoreWriter *w = strand_store_writer_new (f->store, &error);
  g_assert_true (strand_store_writer_write (w, p, len / 2, &error));
  {
    g_autoptr (StrandStore) other = strand_store_open (f->store_dir, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (tmp_files (f), ==, 1);
  }
  g_assert_true (strand_store_writer_write (w, p + len / 2, len - len / 2, &error));
  StrandObjectInfo info;
  g_assert_true (strand_store_writer_commit (w, &info, &error));
  g_assert_no_error (error);
  g_autofree char *sha = checksum (G_CHECKSUM_SHA256, bytes);
  g_assert_cmpstr (info.sha256, ==, sha);
  g_assert_true (strand_store_verify (f->store, sha, &error));
  g_assert_no_error (error);
}

/* ---- space ----------------------------------------------------------- */

/* The quota fills during a write: NO_SPACE naming the quota, the partial
 * object gone, earlier objects whole; content already stored is still
 * found. The quota outlives the handle (store.json). */
static void
test_quota_mid_write (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) first = make_data (MiB / 2, 12);
  StrandObjectInfo a;
  g_assert_true (stream (f->store, first, 4096, &a, &error));
  g_assert_no_error (error);

  g_assert_true (strand_store_set_quota (f->store, 2 * MiB, &error));
  g_assert_cmpuint (strand_store_quota (f->store), ==, 2 * MiB);
  g_assert_true (strand_store_check_space (f->store, MiB, &error));
  g_assert_no_error (error);
  g_assert_false (strand_store_check_space (f->store, 2 * MiB, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, "quota"));
  g_clear_error (&error);

  g_autoptr (GBytes) big = make_data (3 * MiB, 13);
  StrandStoreWriter *w = strand_store_writer_new (f->store, &error);
  const guint8 *p = g_bytes_get_data (big, NULL);
  gboolean ok = TRUE;
  gsize off;
  for (off = 0; ok && off < 3 * MiB; off += 256 * 1024)
    ok = strand_store_writer_write (w, p + off, 256 * 1024, &error);
  g_assert_false (ok);
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "quota of "));
  g_assert_nonnull (strstr (error->message, "(2097152 bytes) reached"));
  g_assert_nonnull (strstr (error->message, f->store_dir));
  g_assert_cmpuint (off, >, MiB);  /* it failed during the write, not before */
  g_assert_cmpuint (tmp_files (f), ==, 0);  /* removed at once */
  g_clear_error (&error);
  g_assert_false (strand_store_writer_commit (w, NULL, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
  g_clear_error (&error);

  g_assert_cmpuint (object_count (f->store), ==, 1);
  g_assert_true (strand_store_verify (f->store, a.sha256, &error));
  g_assert_no_error (error);

  /* Ingest of a file that does not fit: NO_SPACE, nothing left behind. */
  g_autofree char *path = write_file (f->dir, "big.bam", big, 0644);
  StrandObjectInfo info;
  g_assert_false (strand_store_ingest_file (f->store, path, FALSE, &info, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, "big.bam"));
  g_clear_error (&error);
  g_assert_cmpuint (tmp_files (f), ==, 0);

  /* A full store still recognises what it holds. */
  g_assert_true (strand_store_set_quota (f->store, MiB / 2, &error));
  g_autofree char *same = write_file (f->dir, "same.fq", first, 0644);
  g_assert_true (strand_store_ingest_file (f->store, same, FALSE, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpint (info.placement, ==, STRAND_PLACE_EXISTING);

  /* The quota is a setting of the store, not of the handle. */
  g_autoptr (StrandStore) again = strand_store_open (f->store_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strand_store_quota (again), ==, MiB / 2);
  g_assert_true (strand_store_set_quota (again, 0, &error));
  g_assert_true (strand_store_ingest_file (again, path, FALSE, &info, &error));
  g_assert_no_error (error);
}

/* The disk fills during a write (simulated, deterministically): the same
 * promises as for the quota, with the system's words. */
static void
test_enospc_injected (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) first = make_data (MiB, 14);
  StrandObjectInfo a, info;
  g_assert_true (stream (f->store, first, MiB, &a, &error));

  strand_store_inject_enospc_after (f->store, MiB + MiB / 2);
  g_autoptr (GBytes) big = make_data (4 * MiB, 15);
  g_assert_false (stream (f->store, big, 100000, &info, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, g_strerror (ENOSPC)));
  g_assert_nonnull (strstr (error->message, "partial object was removed"));
  g_clear_error (&error);
  g_assert_cmpuint (tmp_files (f), ==, 0);
  g_assert_cmpuint (object_count (f->store), ==, 1);
  g_assert_true (strand_store_verify (f->store, a.sha256, &error));
  g_assert_no_error (error);

  /* Full again in the middle of an ingest copy: the same. */
  strand_store_inject_enospc_after (f->store, MiB + MiB / 2);
  g_autofree char *path = write_file (f->dir, "in.fq", big, 0644);
  g_assert_false (strand_store_ingest_file (f->store, path, FALSE, &info, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "in.fq"));
  g_assert_nonnull (strstr (error->message, "(1572864 bytes)"));
  g_clear_error (&error);
  g_assert_cmpuint (tmp_files (f), ==, 0);
  g_assert_cmpuint (object_count (f->store), ==, 1);

  /* Space again: the same input goes in. */
  strand_store_inject_enospc_after (f->store, G_MAXUINT64);
  g_assert_true (strand_store_ingest_file (f->store, path, FALSE, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (object_count (f->store), ==, 2);
}

/* What the subprocess of test_enospc_tmpfs has to say: its g_test_message()
 * does not reach the parent's log, so the lines go through a file too,
 * named after the parent. */
static char *
report_path (pid_t parent)
{
  g_autofree char *name = g_strdup_printf ("strand-test-store-%d.log", (int) parent);
  return g_build_filename (g_get_tmp_dir (), name, NULL);
}

G_GNUC_PRINTF (1, 2) static void
report (const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *line = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_test_message ("%s", line);
  g_autofree char *path = report_path (getppid ());
  FILE *fp = fopen (path, "a");
  if (fp != NULL)
    {
      fprintf (fp, "%s\n", line);
      fclose (fp);
    }
}

/* A real full disk: a 1 MiB tmpfs, mounted in a private mount namespace of
 * a subprocess so that nothing outlives the test. Where mounting is not
 * permitted the full disk is simulated by strand_store_inject_enospc_after
 * and the test says so. */
static void
enospc_tmpfs_body (Fixture *f)
{
  g_autofree char *mnt = g_build_filename (f->dir, "tiny", NULL);
  g_assert_cmpint (g_mkdir (mnt, 0755), ==, 0);
  gboolean mounted = FALSE;
  int why = 0;
  if (unshare (CLONE_NEWNS) != 0)
    why = errno;
  else if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    why = errno;
  else if (mount ("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0755") != 0)
    why = errno;
  else
    mounted = TRUE;
  if (!mounted)
    report ("cannot mount a 1 MiB tmpfs (%s): the full disk is simulated with "
            "strand_store_inject_enospc_after",
            g_strerror (why));
  else
    report ("store on a real 1 MiB tmpfs");

  g_autofree char *dir = g_build_filename (mnt, "store", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandStore) store = strand_store_open (dir, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) small = make_data (64 * 1024, 16);
  StrandObjectInfo a, info;
  g_assert_true (stream (store, small, 4096, &a, &error));
  g_assert_no_error (error);
  if (!mounted)
    strand_store_inject_enospc_after (store, 900 * 1024);

  /* Declared estimate larger than the disk: refused before writing. */
  if (mounted)
    {
      g_assert_false (strand_store_check_space (store, 2 * MiB, &error));
      g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
      report ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "free on its file system"));
      g_clear_error (&error);
    }

  /* A write that fills the disk. */
  g_autoptr (GBytes) big = make_data (2 * MiB, 17);
  g_assert_false (stream (store, big, 128 * 1024, &info, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
  report ("%s", error->message);
  g_assert_nonnull (strstr (error->message, g_strerror (ENOSPC)));
  g_assert_nonnull (strstr (error->message, dir));
  g_clear_error (&error);
  g_autofree char *tmp = g_build_filename (dir, "tmp", NULL);
  g_assert_cmpuint (count_entries (tmp), ==, 0);
  g_assert_cmpuint (object_count (store), ==, 1);
  g_assert_true (strand_store_verify (store, a.sha256, &error));
  g_assert_no_error (error);

  /* An input bigger than the disk. */
  g_autofree char *path = write_file (f->dir, "big.fq", big, 0644);
  g_assert_false (strand_store_ingest_file (store, path, FALSE, &info, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NO_SPACE);
  report ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (count_entries (tmp), ==, 0);

  /* The space freed by the failed write is usable again. */
  if (!mounted)
    strand_store_inject_enospc_after (store, G_MAXUINT64);
  g_autoptr (GBytes) medium = make_data (256 * 1024, 18);
  g_assert_true (stream (store, medium, 10000, &info, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (object_count (store), ==, 2);
  g_clear_pointer (&store, strand_store_close);
  if (mounted)
    g_assert_cmpint (umount2 (mnt, MNT_DETACH), ==, 0);
}

static void
test_enospc_tmpfs (Fixture *f, gconstpointer data)
{
  if (g_test_subprocess ())
    {
      enospc_tmpfs_body (f);
      return;
    }
  g_autofree char *log = report_path (getpid ());
  g_unlink (log);
  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_autofree char *lines = NULL;
  gboolean have = g_file_get_contents (log, &lines, NULL, NULL);
  g_unlink (log);
  if (have)
    {
      g_auto (GStrv) each = g_strsplit (g_strchomp (lines), "\n", -1);
      for (char **l = each; *l != NULL; l++)
        g_test_message ("subprocess: %s", *l);
    }
  g_test_trap_assert_passed ();
}

/* ---- reading --------------------------------------------------------- */

static void
flip_byte (const char *path, off_t where)
{
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  int fd = open (path, O_RDWR);
  g_assert_cmpint (fd, >=, 0);
  guint8 b = 0;
  g_assert_cmpint (pread (fd, &b, 1, where), ==, 1);
  b ^= 0x01;
  g_assert_cmpint (pwrite (fd, &b, 1, where), ==, 1);
  close (fd);
  g_assert_cmpint (g_chmod (path, 0444), ==, 0);
}

/* One flipped bit is found by verify, and materialize refuses to hand the
 * damaged bytes out. */
static void
test_verify_flipped_byte (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (2 * MiB, 19);
  StrandObjectInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (stream (f->store, bytes, MiB, &info, &error));
  g_autofree char *path = strand_store_object_path (f->store, info.sha256);
  flip_byte (path, MiB + 17);
  g_assert_false (strand_store_verify (f->store, info.sha256, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INTEGRITY);
  g_assert_nonnull (strstr (error->message, info.sha256));
  g_clear_error (&error);

  g_autofree char *dest = g_build_filename (f->dir, "out.bam", NULL);
  g_assert_false (strand_store_materialize (f->store, info.sha256, dest, NULL, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INTEGRITY);
  g_clear_error (&error);
  g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_entries (f->dir), ==, 1); /* only store/ */

  g_assert_false (strand_store_verify (f->store, "0000000000000000000000000000000000000000000000000000000000000000", &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NOT_FOUND);
}

/* A copy out of the store is the user's own file: same bytes, writable,
 * another inode; changing it leaves the store alone. */
static void
test_materialize (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (3 * MiB + 1, 20);
  StrandObjectInfo info;
  g_autoptr (GError) error = NULL;
  g_assert_true (stream (f->store, bytes, MiB, &info, &error));
  g_autofree char *dest = g_build_filename (f->dir, "result.vcf.gz", NULL);
  g_assert_true (g_file_set_contents (dest, "old contents", -1, NULL));
  StrandPlacement how;
  g_assert_true (strand_store_materialize (f->store, info.sha256, dest, &how, &error));
  g_assert_no_error (error);
  g_test_message ("materialized by %s", strand_placement_name (how));
  g_assert_true (how == STRAND_PLACE_REFLINK || how == STRAND_PLACE_COPY_RANGE ||
                 how == STRAND_PLACE_COPY);
  assert_file_equals (dest, bytes);
  struct stat d, o;
  g_assert_cmpint (stat (dest, &d), ==, 0);
  g_autofree char *obj = strand_store_object_path (f->store, info.sha256);
  g_assert_cmpint (stat (obj, &o), ==, 0);
  g_assert_cmpint (d.st_ino, !=, o.st_ino);
  g_assert_true ((d.st_mode & 0200) != 0);
  g_assert_true (g_file_set_contents (dest, "edited", -1, NULL));
  g_assert_true (strand_store_verify (f->store, info.sha256, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (f->dir), ==, 2); /* store/ and the result, no temp file */

  g_autofree char *nowhere = g_build_filename (f->dir, "no", "such", "dir", NULL);
  g_assert_false (strand_store_materialize (f->store, info.sha256, nowhere, NULL, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_IO);
  g_clear_error (&error);
  g_assert_false (strand_store_materialize (f->store, "1111111111111111111111111111111111111111111111111111111111111111", dest, NULL, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NOT_FOUND);
}

/* ---- the digest cache ------------------------------------------------ */

static void
set_mtime (const char *path, const struct timespec *mtime)
{
  struct timespec times[2] = { { 0, UTIME_OMIT }, *mtime };
  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
}

/* A file whose device, inode, size and mtime are unchanged is not read
 * again. Shown without timing: its bytes are changed in place and the old
 * mtime put back, and the store still answers the old digest (it did not
 * read the file); a new mtime makes it hash again and see the change. */
static void
test_digest_cache (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) bytes = make_data (4 * MiB, 21);
  g_autofree char *path = write_file (f->dir, "sample.bam", bytes, 0644);
  g_autofree char *sha = checksum (G_CHECKSUM_SHA256, bytes);
  g_autofree char *md5 = checksum (G_CHECKSUM_MD5, bytes);
  char s[65], m[33];
  g_autoptr (GError) error = NULL;
  g_assert_true (strand_store_file_digest (f->store, path, s, m, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (s, ==, sha);
  g_assert_cmpstr (m, ==, md5);
  StrandObjectInfo info;
  g_assert_true (strand_store_ingest_file (f->store, path, FALSE, &info, &error));
  g_assert_cmpstr (info.sha256, ==, sha);

  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  int fd = open (path, O_WRONLY);
  g_assert_cmpint (pwrite (fd, "XXXX", 4, 1000), ==, 4);
  close (fd);
  set_mtime (path, &st.st_mtim);
  GBytes *changed_bytes = NULL;
  {
    g_autofree char *c = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (path, &c, &len, NULL));
    changed_bytes = g_bytes_new_take (g_steal_pointer (&c), len);
  }
  g_autoptr (GBytes) changed = changed_bytes;
  g_autofree char *changed_sha = checksum (G_CHECKSUM_SHA256, changed);

  /* Served from the cache: the old digest, not a byte read. */
  g_assert_true (strand_store_file_digest (f->store, path, s, NULL, &error));
  g_assert_cmpstr (s, ==, sha);
  g_assert_true (strand_store_ingest_file (f->store, path, FALSE, &info, &error));
  g_assert_cmpint (info.placement, ==, STRAND_PLACE_EXISTING);
  g_assert_cmpstr (info.sha256, ==, sha);
  g_assert_cmpstr (info.md5, ==, md5);
  /* The cache belongs to the store: another handle sees it too. */
  {
    g_autoptr (StrandStore) other = strand_store_open (f->store_dir, &error);
    g_assert_true (strand_store_file_digest (other, path, s, NULL, &error));
    g_assert_cmpstr (s, ==, sha);
  }

  /* Another mtime: hashed again, and the change is seen. */
  struct timespec later = { st.st_mtim.tv_sec + 1, st.st_mtim.tv_nsec };
  set_mtime (path, &later);
  g_assert_true (strand_store_file_digest (f->store, path, s, m, &error));
  g_assert_cmpstr (s, ==, changed_sha);
  g_assert_true (strand_store_ingest_file (f->store, path, FALSE, &info, &error));
  g_assert_cmpint (info.placement, !=, STRAND_PLACE_EXISTING);
  g_assert_cmpstr (info.sha256, ==, changed_sha);
  g_assert_true (strand_store_verify (f->store, changed_sha, &error));
  g_assert_no_error (error);

  /* Another path with the old bytes is not the cached file: it is read. */
  g_autofree char *copy = write_file (f->dir, "copy.bam", bytes, 0644);
  set_mtime (copy, &later);
  g_assert_true (strand_store_file_digest (f->store, copy, s, NULL, &error));
  g_assert_cmpstr (s, ==, sha);
}

/* A damaged digests.sqlite is only a cache: it is replaced. A damaged
 * store.json is a setting: opening fails and says where. */
static void
test_damaged_files (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->store, strand_store_close);
  g_autofree char *db = g_build_filename (f->store_dir, "digests.sqlite", NULL);
  g_autofree char *wal = g_build_filename (f->store_dir, "digests.sqlite-wal", NULL);
  g_autofree char *shm = g_build_filename (f->store_dir, "digests.sqlite-shm", NULL);
  g_unlink (wal);
  g_unlink (shm);
  g_autoptr (GBytes) junk = make_data (8192, 22);
  g_assert_true (g_file_set_contents (db, g_bytes_get_data (junk, NULL), 8192, NULL));
  g_autoptr (GError) error = NULL;
  f->store = strand_store_open (f->store_dir, &error);
  g_assert_no_error (error);
  g_autofree char *path = write_file (f->dir, "x.fq", junk, 0644);
  char s[65];
  g_assert_true (strand_store_file_digest (f->store, path, s, NULL, &error));
  g_assert_no_error (error);

  g_clear_pointer (&f->store, strand_store_close);
  g_autofree char *settings = g_build_filename (f->store_dir, "store.json", NULL);
  g_assert_true (g_file_set_contents (settings, "{\"quota\": ", -1, NULL));
  g_assert_null (strand_store_open (f->store_dir, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "store.json"));
  g_clear_error (&error);
  g_unlink (settings);
  f->store = strand_store_open (f->store_dir, &error);
  g_assert_no_error (error);
}

/* ---- listing and removing -------------------------------------------- */

typedef struct {
  GPtrArray *names;
  guint64 bytes;
  guint stop_after;
} Seen;

static gboolean
collect (const char *sha256, guint64 size, gpointer data)
{
  Seen *seen = data;
  g_ptr_array_add (seen->names, g_strdup (sha256));
  seen->bytes += size;
  return seen->stop_after == 0 || seen->names->len < seen->stop_after;
}

static void
test_foreach_usage_remove (Fixture *f, gconstpointer data)
{
  gsize sizes[] = { 10, 2000, MiB };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (GBytes) b = make_data (sizes[i], 30 + i);
      StrandObjectInfo info;
      g_assert_true (stream (f->store, b, 333, &info, &error));
      g_ptr_array_add (expected, g_strdup (info.sha256));
    }
  Seen seen = { g_ptr_array_new_with_free_func (g_free), 0, 0 };
  strand_store_foreach (f->store, collect, &seen);
  g_assert_cmpuint (seen.names->len, ==, 3);
  g_assert_cmpuint (seen.bytes, ==, 10 + 2000 + MiB);
  for (guint i = 0; i < 3; i++)
    g_assert_true (g_ptr_array_find_with_equal_func (seen.names, expected->pdata[i], g_str_equal, NULL));
  /* In digest order. */
  for (guint i = 1; i < 3; i++)
    g_assert_cmpint (strcmp (seen.names->pdata[i - 1], seen.names->pdata[i]), <, 0);
  g_ptr_array_unref (seen.names);

  Seen first = { g_ptr_array_new_with_free_func (g_free), 0, 1 };
  strand_store_foreach (f->store, collect, &first);
  g_assert_cmpuint (first.names->len, ==, 1);
  g_ptr_array_unref (first.names);

  StrandStoreUsage usage;
  strand_store_usage (f->store, &usage);
  g_assert_cmpuint (usage.objects, ==, 3);
  g_assert_cmpuint (usage.bytes, ==, 10 + 2000 + MiB);
  g_assert_cmpuint (usage.disk_bytes, >=, MiB);

  const char *gone = expected->pdata[2];
  g_assert_true (strand_store_remove (f->store, gone, &error));
  g_assert_no_error (error);
  g_assert_false (strand_store_contains (f->store, gone));
  strand_store_usage (f->store, &usage);
  g_assert_cmpuint (usage.objects, ==, 2);
  g_assert_false (strand_store_remove (f->store, gone, &error));
  g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_NOT_FOUND);
}

/* Anything but 64 lower-case hex digits is refused before a path is built:
 * no "digest" reaches outside objects/. */
static void
test_malformed_digests (Fixture *f, gconstpointer data)
{
  g_autofree char *outside = g_build_filename (f->dir, "victim", NULL);
  g_assert_true (g_file_set_contents (outside, "keep me", -1, NULL));
  g_autofree char *upper = g_ascii_strup ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", -1);
  const char *bad[] = {
    "",
    "abc",
    upper,
    "../../victim",
    "../../../../../../../../../../../../../../../../../../../../victim",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85/",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
    "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  };
  g_autofree char *dest = g_build_filename (f->dir, "dest", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (strand_store_object_path (f->store, bad[i]));
      g_assert_false (strand_store_contains (f->store, bad[i]));
      g_assert_false (strand_store_verify (f->store, bad[i], &error));
      g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_false (strand_store_remove (f->store, bad[i], &error));
      g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_false (strand_store_materialize (f->store, bad[i], dest, NULL, &error));
      g_assert_error (error, STRAND_STORE_ERROR, STRAND_STORE_ERROR_INVALID);
    }
  g_assert_false (strand_store_contains (f->store, NULL));
  g_autoptr (GBytes) kept = g_bytes_new_static ("keep me", 7);
  assert_file_equals (outside, kept);
  g_assert_false (g_file_test (dest, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/store/stream/digests", test_stream_digests);
  ADD ("/store/stream/dedup", test_stream_dedup);
  ADD ("/store/stream/concurrent", test_stream_concurrent);
  ADD ("/store/ingest/dedup", test_ingest_dedup);
  ADD ("/store/ingest/original-untouched", test_ingest_original_untouched);
  ADD ("/store/ingest/hardlink", test_ingest_hardlink);
  ADD ("/store/ingest/same-fs-chain", test_ingest_same_fs_chain);
  ADD ("/store/ingest/cross-fs-copy", test_ingest_cross_fs);
  ADD ("/store/ingest/invalid", test_ingest_invalid);
  ADD ("/store/atomic/abort", test_atomic_abort);
  ADD ("/store/atomic/killed-writer", test_atomic_killed);
  ADD ("/store/atomic/live-writer", test_atomic_live_writer);
  ADD ("/store/space/quota-mid-write", test_quota_mid_write);
  ADD ("/store/space/enospc-injected", test_enospc_injected);
  ADD ("/store/space/enospc-tmpfs", test_enospc_tmpfs);
  ADD ("/store/read/verify-flipped-byte", test_verify_flipped_byte);
  ADD ("/store/read/materialize", test_materialize);
  ADD ("/store/cache/reuse", test_digest_cache);
  ADD ("/store/cache/damaged-files", test_damaged_files);
  ADD ("/store/objects/foreach-usage-remove", test_foreach_usage_remove);
  ADD ("/store/objects/malformed-digests", test_malformed_digests);
#undef ADD
  return g_test_run ();
}
