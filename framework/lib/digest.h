/* SHA-256 (and MD5 as metadata) over streams and files.
 *
 * OpenSSL's libcrypto is used because it takes the CPU's SHA extensions;
 * libsodium's portable SHA-256 is several times slower. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define STRAND_SHA256_LEN 32
#define STRAND_SHA256_HEX_LEN 64

typedef struct StrandSha256 StrandSha256;

StrandSha256 *strand_sha256_new (void);
void strand_sha256_update (StrandSha256 *ctx, const void *data, gsize len);
/* Finishes the digest into `hex` (65 bytes with the NUL); the context can be
 * freed or reused after strand_sha256_reset(). */
void strand_sha256_finish_hex (StrandSha256 *ctx, char hex[STRAND_SHA256_HEX_LEN + 1]);
void strand_sha256_finish (StrandSha256 *ctx, guint8 out[STRAND_SHA256_LEN]);
void strand_sha256_reset (StrandSha256 *ctx);
void strand_sha256_free (StrandSha256 *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandSha256, strand_sha256_free)

/* Hashes a whole file in one streaming pass. Returns a newly allocated lower
 * case hex digest, or NULL with `error` set (G_FILE_ERROR). */
char *strand_sha256_file (const char *path, guint64 *size_out, GError **error);

/* One-shot digest of a buffer, lower-case hex. */
char *strand_sha256_hex (const void *data, gsize len);

/* True when `text` is 64 lower-case hex digits. */
gboolean strand_sha256_hex_is_valid (const char *text);

G_END_DECLS
