/* One pass, two digests: SHA-256 (identity) in the caller's thread and MD5
 * (metadata for submission portals) in a helper thread, over shared buffers.
 * See store-private.h. */
#include "store-private.h"

#include "digest.h"

#include <openssl/evp.h>

#define N_CHUNKS 4

struct StoreHash {
  StrandSha256 *sha;
  EVP_MD_CTX *md5;      /* NULL without MD5 */
  StoreChunk chunks[N_CHUNKS];
  GAsyncQueue *free;    /* chunks ready to fill */
  GAsyncQueue *todo;    /* chunks waiting for MD5 */
  GThread *thread;      /* MD5 helper, started on the second chunk */
  gboolean threaded_ok; /* more than one CPU */
  guint64 total;
  guint64 given;        /* chunks hashed so far */
};

/* Pushed to `todo` to stop the helper. */
static StoreChunk stop_chunk;

static void
md5_update (EVP_MD_CTX *md5, const void *data, gsize len)
{
  if (len > 0 && EVP_DigestUpdate (md5, data, len) != 1)
    g_error ("libcrypto MD5 update failed");
}

static gpointer
md5_thread (gpointer data)
{
  StoreHash *hash = data;
  for (;;)
    {
      StoreChunk *chunk = g_async_queue_pop (hash->todo);
      if (chunk == &stop_chunk)
        return NULL;
      md5_update (hash->md5, chunk->data, chunk->len);
      g_async_queue_push (hash->free, chunk);
    }
}

StoreHash *
store_hash_new (gboolean with_md5)
{
  StoreHash *hash = g_new0 (StoreHash, 1);
  hash->sha = strand_sha256_new ();
  if (with_md5)
    {
      hash->md5 = EVP_MD_CTX_new ();
      if (hash->md5 == NULL || EVP_DigestInit_ex (hash->md5, EVP_md5 (), NULL) != 1)
        g_error ("libcrypto could not initialise MD5");
    }
  hash->free = g_async_queue_new ();
  hash->todo = g_async_queue_new ();
  hash->threaded_ok = g_get_num_processors () > 1;
  /* Chunks are allocated as they are first needed: a small stream uses one. */
  return hash;
}

StoreChunk *
store_hash_take (StoreHash *hash)
{
  StoreChunk *chunk = g_async_queue_try_pop (hash->free);
  if (chunk == NULL)
    {
      for (int i = 0; i < N_CHUNKS; i++)
        if (hash->chunks[i].data == NULL)
          {
            hash->chunks[i].data = g_malloc (STORE_CHUNK_SIZE);
            chunk = &hash->chunks[i];
            break;
          }
      if (chunk == NULL)
        chunk = g_async_queue_pop (hash->free);
    }
  chunk->len = 0;
  return chunk;
}

void
store_hash_put_back (StoreHash *hash, StoreChunk *chunk)
{
  chunk->len = 0;
  g_async_queue_push (hash->free, chunk);
}

void
store_hash_give (StoreHash *hash, StoreChunk *chunk)
{
  strand_sha256_update (hash->sha, chunk->data, chunk->len);
  hash->total += chunk->len;
  hash->given++;
  if (hash->md5 == NULL || chunk->len == 0)
    {
      g_async_queue_push (hash->free, chunk);
      return;
    }
  /* The first chunk inline: most streams are small and need no thread. */
  if (hash->thread == NULL && (hash->given == 1 || !hash->threaded_ok))
    {
      md5_update (hash->md5, chunk->data, chunk->len);
      g_async_queue_push (hash->free, chunk);
      return;
    }
  if (hash->thread == NULL)
    hash->thread = g_thread_new ("strand-md5", md5_thread, hash);
  g_async_queue_push (hash->todo, chunk);
}

guint64
store_hash_total (StoreHash *hash)
{
  return hash->total;
}

static void
stop_thread (StoreHash *hash)
{
  if (hash->thread == NULL)
    return;
  g_async_queue_push (hash->todo, &stop_chunk);
  g_thread_join (hash->thread);
  hash->thread = NULL;
}

void
store_hash_finish (StoreHash *hash, char sha256[65], char md5[33])
{
  stop_thread (hash);
  strand_sha256_finish_hex (hash->sha, sha256);
  if (md5 == NULL)
    return;
  md5[0] = '\0';
  if (hash->md5 == NULL)
    return;
  static const char digits[] = "0123456789abcdef";
  guint8 raw[16];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex (hash->md5, raw, &n) != 1 || n != 16)
    g_error ("libcrypto MD5 final failed");
  for (int i = 0; i < 16; i++)
    {
      md5[2 * i] = digits[raw[i] >> 4];
      md5[2 * i + 1] = digits[raw[i] & 0xf];
    }
  md5[32] = '\0';
}

void
store_hash_free (StoreHash *hash)
{
  if (hash == NULL)
    return;
  stop_thread (hash);
  strand_sha256_free (hash->sha);
  if (hash->md5 != NULL)
    EVP_MD_CTX_free (hash->md5);
  g_async_queue_unref (hash->free);
  g_async_queue_unref (hash->todo);
  for (int i = 0; i < N_CHUNKS; i++)
    g_free (hash->chunks[i].data);
  g_free (hash);
}
