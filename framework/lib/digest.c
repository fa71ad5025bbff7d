#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

struct StrandSha256 {
  EVP_MD_CTX *md;
};

StrandSha256 *
strand_sha256_new (void)
{
  StrandSha256 *ctx = g_new0 (StrandSha256, 1);
  ctx->md = EVP_MD_CTX_new ();
  if (ctx->md == NULL || EVP_DigestInit_ex (ctx->md, EVP_sha256 (), NULL) != 1)
    g_error ("libcrypto could not initialise SHA-256");
  return ctx;
}

void
strand_sha256_update (StrandSha256 *ctx, const void *data, gsize len)
{
  if (len > 0 && EVP_DigestUpdate (ctx->md, data, len) != 1)
    g_error ("libcrypto SHA-256 update failed");
}

void
strand_sha256_finish (StrandSha256 *ctx, guint8 out[STRAND_SHA256_LEN])
{
  unsigned int n = 0;
  if (EVP_DigestFinal_ex (ctx->md, out, &n) != 1 || n != STRAND_SHA256_LEN)
    g_error ("libcrypto SHA-256 final failed");
}

void
strand_sha256_finish_hex (StrandSha256 *ctx, char hex[STRAND_SHA256_HEX_LEN + 1])
{
  static const char digits[] = "0123456789abcdef";
  guint8 raw[STRAND_SHA256_LEN];
  strand_sha256_finish (ctx, raw);
  for (int i = 0; i < STRAND_SHA256_LEN; i++)
    {
      hex[2 * i] = digits[raw[i] >> 4];
      hex[2 * i + 1] = digits[raw[i] & 0xf];
    }
  hex[STRAND_SHA256_HEX_LEN] = '\0';
}

void
strand_sha256_reset (StrandSha256 *ctx)
{
  if (EVP_DigestInit_ex (ctx->md, EVP_sha256 (), NULL) != 1)
    g_error ("libcrypto could not reset SHA-256");
}

void
strand_sha256_free (StrandSha256 *ctx)
{
  if (ctx == NULL)
    return;
  EVP_MD_CTX_free (ctx->md);
  g_free (ctx);
}

char *
strand_sha256_file (const char *path, guint64 *size_out, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "%s: %s", path, g_strerror (saved));
      return NULL;
    }
#ifdef POSIX_FADV_SEQUENTIAL
  (void) posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  gsize buf_size = 1 << 20;
  g_autofree guint8 *buf = g_malloc (buf_size);
  guint64 total = 0;
  for (;;)
    {
      ssize_t n = read (fd, buf, buf_size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                       "%s: read failed after %" G_GUINT64_FORMAT " bytes: %s",
                       path, total, g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      strand_sha256_update (ctx, buf, (gsize) n);
      total += (guint64) n;
    }
  close (fd);
  char hex[STRAND_SHA256_HEX_LEN + 1];
  strand_sha256_finish_hex (ctx, hex);
  if (size_out != NULL)
    *size_out = total;
  return g_strdup (hex);
}

char *
strand_sha256_hex (const void *data, gsize len)
{
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  strand_sha256_update (ctx, data, len);
  char hex[STRAND_SHA256_HEX_LEN + 1];
  strand_sha256_finish_hex (ctx, hex);
  return g_strdup (hex);
}

gboolean
strand_sha256_hex_is_valid (const char *text)
{
  if (text == NULL || strlen (text) != STRAND_SHA256_HEX_LEN)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}
