/* The host's Ed25519 key: keys/host.key (the 64-byte libsodium secret key
 * in hex, mode 0600) and keys/host.pub (the 32-byte public key in hex). */
#include "ledger-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "fs-util.h"

#define KEY_FILE_MAX 512 /* host.key is 129 bytes; anything much longer is not a key */

void
strand_sodium_init (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      if (sodium_init () < 0)
        g_error ("libsodium could not initialise");
      g_once_init_leave (&done, 1);
    }
}

static gboolean
set_errno_error (GError **error, int saved, const char *what, const char *path)
{
  g_set_error (error, STRAND_LEDGER_ERROR,
               saved == ENOSPC || saved == EDQUOT ? STRAND_LEDGER_ERROR_NO_SPACE
                                                  : STRAND_LEDGER_ERROR_IO,
               "%s %s: %s", what, path, g_strerror (saved));
  return FALSE;
}

static gboolean
fsync_dir (const char *dir, GError **error)
{
  int err = strand_fsync_dir (dir);
  return err == 0 || set_errno_error (error, err, "cannot sync", dir);
}

static void
key_fill_ids (StrandKey *key)
{
  sodium_bin2hex (key->pub_hex, sizeof key->pub_hex, key->pk, sizeof key->pk);
  g_autoptr (StrandSha256) sha = strand_sha256_new ();
  strand_sha256_update (sha, key->pk, sizeof key->pk);
  strand_sha256_finish_hex (sha, key->keyid);
}

static gboolean
parse_hex (const char *text, gsize len, guint8 *out, gsize out_len)
{
  while (len > 0 && g_ascii_isspace (text[len - 1]))
    len--;
  if (len != 2 * out_len)
    return FALSE;
  gsize bin_len = 0;
  const char *end = NULL;
  return sodium_hex2bin (out, out_len, text, len, NULL, &bin_len, &end) == 0 &&
         bin_len == out_len && end == text + len;
}

static gboolean
read_public (const char *pub_path, guint8 pk[crypto_sign_PUBLICKEYBYTES], GError **error)
{
  int fd = open (pub_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, STRAND_LEDGER_ERROR,
                   saved == ENOENT ? STRAND_LEDGER_ERROR_NO_KEY : STRAND_LEDGER_ERROR_IO,
                   "cannot read public key %s: %s", pub_path, g_strerror (saved));
      return FALSE;
    }
  char buf[KEY_FILE_MAX];
  gssize n = strand_read_full (fd, buf, sizeof buf);
  int saved = errno;
  close (fd);
  if (n < 0)
    return set_errno_error (error, saved, "cannot read public key", pub_path);
  if (!parse_hex (buf, (gsize) n, pk, crypto_sign_PUBLICKEYBYTES))
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY,
                   "%s is not an Ed25519 public key (64 hex digits)", pub_path);
      return FALSE;
    }
  return TRUE;
}

/* Writes host.pub by rename, so a reader never sees half of it. */
static gboolean
write_public (const char *keys_dir, const char *pub_path, const StrandKey *key, GError **error)
{
  g_autofree char *tmp = g_build_filename (keys_dir, ".host.pub.XXXXXX", NULL);
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return set_errno_error (error, errno, "cannot create", tmp);
  char text[66];
  memcpy (text, key->pub_hex, 64);
  text[64] = '\n';
  gboolean ok = fchmod (fd, 0644) == 0 && strand_write_all (fd, text, 65, NULL) == 0 && fsync (fd) == 0;
  int saved = errno;
  close (fd);
  if (!ok || rename (tmp, pub_path) < 0)
    {
      if (ok)
        saved = errno;
      g_unlink (tmp);
      return set_errno_error (error, saved, "cannot write", pub_path);
    }
  return fsync_dir (keys_dir, error);
}

/* Writes a new secret key to a private temporary file and links it into
 * place: host.key is either absent or complete, never replaced. FALSE with
 * `exists` set when another process created it first. */
static gboolean
write_secret (const char *keys_dir, const char *key_path, const StrandKey *key,
              gboolean *exists, GError **error)
{
  *exists = FALSE;
  g_autofree char *tmp = g_build_filename (keys_dir, ".host.key.XXXXXX", NULL);
  /* mkstemp opens with O_CREAT|O_EXCL and mode 0600 whatever the umask
   * leaves of it; fchmod makes sure the owner can read it back. */
  int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, "cannot create", tmp);
  char text[2 * crypto_sign_SECRETKEYBYTES + 2];
  sodium_bin2hex (text, sizeof text, key->sk, sizeof key->sk);
  text[2 * crypto_sign_SECRETKEYBYTES] = '\n';
  gboolean ok = fchmod (fd, 0600) == 0 &&
                strand_write_all (fd, text, 2 * crypto_sign_SECRETKEYBYTES + 1, NULL) == 0 && fsync (fd) == 0;
  int saved = errno;
  sodium_memzero (text, sizeof text);
  close (fd);
  if (ok && link (tmp, key_path) < 0)
    {
      ok = FALSE;
      saved = errno;
      *exists = saved == EEXIST;
    }
  g_unlink (tmp);
  if (!ok)
    return *exists ? FALSE : set_errno_error (error, saved, "cannot write", key_path);
  return fsync_dir (keys_dir, error);
}

gboolean
strand_key_create (const char *dir, GError **error)
{
  strand_sodium_init ();
  g_autofree char *keys_dir = g_build_filename (dir, "keys", NULL);
  g_autofree char *key_path = g_build_filename (keys_dir, "host.key", NULL);
  g_autofree char *pub_path = g_build_filename (keys_dir, "host.pub", NULL);
  if (g_mkdir_with_parents (keys_dir, 0700) < 0)
    return set_errno_error (error, errno, "cannot create", keys_dir);

  if (!g_file_test (key_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr (StrandKey) key = g_new0 (StrandKey, 1);
      crypto_sign_keypair (key->pk, key->sk);
      key->has_secret = TRUE;
      key_fill_ids (key);
      gboolean exists = FALSE;
      if (write_secret (keys_dir, key_path, key, &exists, error))
        return write_public (keys_dir, pub_path, key, error);
      if (!exists)
        return FALSE;
      /* Lost a race with another `strand init`: use theirs. */
    }
  /* The key exists: check it, and publish its public half if missing. */
  g_autoptr (StrandKey) key = strand_key_load (dir, error);
  if (key == NULL)
    return FALSE;
  if (g_file_test (pub_path, G_FILE_TEST_EXISTS))
    return TRUE;
  return write_public (keys_dir, pub_path, key, error);
}

StrandKey *
strand_key_load (const char *dir, GError **error)
{
  strand_sodium_init ();
  g_autofree char *key_path = g_build_filename (dir, "keys", "host.key", NULL);
  g_autofree char *pub_path = g_build_filename (dir, "keys", "host.pub", NULL);
  int fd = open (key_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      if (saved == ENOENT)
        g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_NO_KEY,
                     "no host key at %s: run `strand init`", key_path);
      else if (saved == ELOOP)
        g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY,
                     "%s is a symbolic link: the host key must be a plain file", key_path);
      else
        set_errno_error (error, saved, "cannot read host key", key_path);
      return NULL;
    }
  struct stat st;
  if (fstat (fd, &st) < 0)
    {
      int saved = errno;
      close (fd);
      set_errno_error (error, saved, "cannot read host key", key_path);
      return NULL;
    }
  if (!S_ISREG (st.st_mode) || (st.st_mode & 077) != 0)
    {
      close (fd);
      if (!S_ISREG (st.st_mode))
        g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY,
                     "%s is not a regular file", key_path);
      else
        g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY,
                     "%s is open to group or others (mode %04o); it must be private: "
                     "chmod 600 %s",
                     key_path, (unsigned) (st.st_mode & 07777), key_path);
      return NULL;
    }
  char buf[KEY_FILE_MAX];
  gssize n = strand_read_full (fd, buf, sizeof buf);
  int saved = errno;
  close (fd);
  if (n < 0)
    {
      set_errno_error (error, saved, "cannot read host key", key_path);
      return NULL;
    }

  g_autoptr (StrandKey) key = g_new0 (StrandKey, 1);
  gboolean parsed = n == crypto_sign_SECRETKEYBYTES
                        ? (memcpy (key->sk, buf, crypto_sign_SECRETKEYBYTES), TRUE)
                        : parse_hex (buf, (gsize) n, key->sk, crypto_sign_SECRETKEYBYTES);
  sodium_memzero (buf, sizeof buf);
  /* libsodium's secret key is seed || public key: derive the pair from the
   * seed again, so a damaged file cannot sign with a mismatched half. */
  guint8 seed_sk[crypto_sign_SECRETKEYBYTES];
  if (parsed)
    parsed = crypto_sign_seed_keypair (key->pk, seed_sk, key->sk) == 0 &&
             sodium_memcmp (seed_sk, key->sk, sizeof seed_sk) == 0;
  sodium_memzero (seed_sk, sizeof seed_sk);
  if (!parsed)
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY,
                   "%s is not an Ed25519 secret key (128 hex digits or 64 bytes)", key_path);
      return NULL;
    }
  key->has_secret = TRUE;
  key_fill_ids (key);

  if (g_file_test (pub_path, G_FILE_TEST_EXISTS))
    {
      guint8 pk[crypto_sign_PUBLICKEYBYTES];
      if (!read_public (pub_path, pk, error))
        return NULL;
      if (memcmp (pk, key->pk, sizeof pk) != 0)
        {
          g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY,
                       "%s does not match %s: records signed with this key would not "
                       "verify against the published key",
                       pub_path, key_path);
          return NULL;
        }
    }
  return g_steal_pointer (&key);
}

StrandKey *
strand_key_load_public (const char *pub_path, GError **error)
{
  strand_sodium_init ();
  g_autoptr (StrandKey) key = g_new0 (StrandKey, 1);
  if (!read_public (pub_path, key->pk, error))
    return NULL;
  key_fill_ids (key);
  return g_steal_pointer (&key);
}

StrandKey *
strand_key_from_public_hex (const char *text, gsize len, const char *where, GError **error)
{
  strand_sodium_init ();
  g_autoptr (StrandKey) key = g_new0 (StrandKey, 1);
  if (len > KEY_FILE_MAX || !parse_hex (text, len, key->pk, crypto_sign_PUBLICKEYBYTES))
    {
      g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_BAD_KEY,
                   "%s is not an Ed25519 public key (64 hex digits)", where);
      return NULL;
    }
  key_fill_ids (key);
  return g_steal_pointer (&key);
}

void
strand_key_free (StrandKey *key)
{
  if (key == NULL)
    return;
  sodium_memzero (key, sizeof *key);
  g_free (key);
}

const char *
strand_key_id (const StrandKey *key)
{
  return key->keyid;
}

const char *
strand_key_public_hex (const StrandKey *key)
{
  return key->pub_hex;
}

void
strand_key_public (const StrandKey *key, guint8 pk[crypto_sign_PUBLICKEYBYTES])
{
  memcpy (pk, key->pk, crypto_sign_PUBLICKEYBYTES);
}

StrandKey *
strand_key_from_public (const guint8 pk[crypto_sign_PUBLICKEYBYTES])
{
  strand_sodium_init ();
  StrandKey *key = g_new0 (StrandKey, 1);
  memcpy (key->pk, pk, crypto_sign_PUBLICKEYBYTES);
  key_fill_ids (key);
  return key;
}

gboolean
strand_key_sign (const StrandKey *key, const void *data, gsize len, guint8 sig[crypto_sign_BYTES])
{
  g_return_val_if_fail (key->has_secret, FALSE);
  return crypto_sign_detached (sig, NULL, data, len, key->sk) == 0;
}
