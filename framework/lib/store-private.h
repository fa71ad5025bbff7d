/* Private to the store module (store.c, store-hash.c, store-cache.c).
 *
 * store-hash.c: SHA-256 and MD5 of one stream in a single pass. SHA-256 runs
 * in the caller's thread; from the second chunk on, MD5 runs in a helper
 * thread on the same buffers, so a large file costs max(SHA-256, MD5) rather
 * than their sum. Buffers are handed back and forth: take a chunk, fill it,
 * give it; it comes back through take once both digests have consumed it.
 *
 * store-cache.c: digests.sqlite, path identity -> digest. */
#pragma once

#include <glib.h>
#include <sys/stat.h>

G_BEGIN_DECLS

#define STORE_CHUNK_SIZE ((gsize) 1 << 20)

typedef struct {
  guint8 *data; /* STORE_CHUNK_SIZE bytes */
  gsize len;    /* bytes filled */
} StoreChunk;

typedef struct StoreHash StoreHash;

/* `with_md5`: also compute MD5 (EVP_md5), as metadata. */
StoreHash *store_hash_new (gboolean with_md5);
/* An empty chunk to fill; waits while the MD5 thread still reads them all. */
StoreChunk *store_hash_take (StoreHash *hash);
/* Hashes chunk->len bytes of a chunk from store_hash_take. The chunk must not
 * be written to again until store_hash_take returns it; it may be read (for
 * example by write()) until the next store_hash_take. */
void store_hash_give (StoreHash *hash, StoreChunk *chunk);
/* Gives back a chunk without hashing it. */
void store_hash_put_back (StoreHash *hash, StoreChunk *chunk);
guint64 store_hash_total (StoreHash *hash);
/* Finishes both digests (md5 may be NULL; it is "" without with_md5). */
void store_hash_finish (StoreHash *hash, char sha256[65], char md5[33]);
void store_hash_free (StoreHash *hash);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreHash, store_hash_free)

typedef struct StoreCache StoreCache;

/* Opens or creates the cache; a damaged file is replaced (it is only a
 * cache). NULL with `error` set when it cannot be created at all. */
StoreCache *store_cache_open (const char *path, GError **error);
void store_cache_close (StoreCache *cache);
/* TRUE when `realpath` was hashed with exactly this device, inode, size and
 * modification time. */
gboolean store_cache_lookup (StoreCache *cache, const char *realpath, const struct stat *st,
                             char sha256[65], char md5[33]);
/* Best effort: a cache that cannot be written is logged, never fatal. */
void store_cache_record (StoreCache *cache, const char *realpath, const struct stat *st,
                         const char *sha256, const char *md5);

G_END_DECLS
