/* RFC 6962 Merkle tree over leaf hashes in memory (merkle.h). */
#include "merkle.h"

#include <string.h>

#include "digest.h"
#include "ledger.h"

#define HLEN STRAND_MERKLE_HASH_LEN

static const guint8 leaf_prefix = 0x00, node_prefix = 0x01;

static void
leaf_with (StrandSha256 *ctx, const void *data, gsize len, guint8 out[HLEN])
{
  strand_sha256_reset (ctx);
  strand_sha256_update (ctx, &leaf_prefix, 1);
  strand_sha256_update (ctx, data, len);
  strand_sha256_finish (ctx, out);
}

/* `out` may alias `left` or `right`. */
static void
node_with (StrandSha256 *ctx, const guint8 *left, const guint8 *right, guint8 out[HLEN])
{
  strand_sha256_reset (ctx);
  strand_sha256_update (ctx, &node_prefix, 1);
  strand_sha256_update (ctx, left, HLEN);
  strand_sha256_update (ctx, right, HLEN);
  strand_sha256_finish (ctx, out);
}

void
strand_merkle_leaf_hash (const void *data, gsize len, guint8 out[HLEN])
{
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  leaf_with (ctx, data, len, out);
}

void
strand_merkle_node_hash (const guint8 left[HLEN], const guint8 right[HLEN], guint8 out[HLEN])
{
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  node_with (ctx, left, right, out);
}

/* The largest power of two smaller than n (n >= 2). */
static guint64
split_point (guint64 n)
{
  guint64 k = 1;
  while (k << 1 < n)
    k <<= 1;
  return k;
}

/* MTH(D[0:n]) of `leaves` (n >= 1). Recursion depth is log2(n). */
static void
mth (StrandSha256 *ctx, const guint8 *leaves, guint64 n, guint8 out[HLEN])
{
  if (n == 1)
    {
      memcpy (out, leaves, HLEN);
      return;
    }
  guint64 k = split_point (n);
  guint8 left[HLEN], right[HLEN];
  mth (ctx, leaves, k, left);
  mth (ctx, leaves + k * HLEN, n - k, right);
  node_with (ctx, left, right, out);
}

gboolean
strand_merkle_root (const guint8 *leaf_hashes, guint64 n, guint8 root[HLEN])
{
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  if (n == 0)
    {
      strand_sha256_finish (ctx, root); /* SHA-256 of the empty string */
      return TRUE;
    }
  g_return_val_if_fail (leaf_hashes != NULL, FALSE);
  mth (ctx, leaf_hashes, n, root);
  return TRUE;
}

typedef struct {
  StrandSha256 *ctx;
  GArray *leaves;
} BuildState;

static gboolean
build_line (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
            gpointer user_data)
{
  BuildState *state = user_data;
  guint8 leaf[HLEN];
  leaf_with (state->ctx, line, len, leaf);
  g_array_append_vals (state->leaves, leaf, 1);
  return TRUE;
}

gboolean
strand_merkle_build (const char *log_path, GArray **leaf_hashes_out, GError **error)
{
  g_return_val_if_fail (log_path != NULL && leaf_hashes_out != NULL, FALSE);
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  g_autoptr (GArray) leaves = g_array_new (FALSE, FALSE, HLEN);
  BuildState state = { ctx, leaves };
  if (!strand_ledger_read (log_path, 0, build_line, &state, error))
    return FALSE;
  *leaf_hashes_out = g_steal_pointer (&leaves);
  return TRUE;
}

/* ---- Inclusion: RFC 6962 2.1.1 ---- */

/* Appends PATH(m, D[0:n]) to `proof`, deepest sibling first. */
static void
path (StrandSha256 *ctx, const guint8 *leaves, guint64 n, guint64 m, GArray *proof)
{
  if (n <= 1)
    return;
  guint64 k = split_point (n);
  guint8 sibling[HLEN];
  if (m < k)
    {
      path (ctx, leaves, k, m, proof);
      mth (ctx, leaves + k * HLEN, n - k, sibling);
    }
  else
    {
      path (ctx, leaves + k * HLEN, n - k, m - k, proof);
      mth (ctx, leaves, k, sibling);
    }
  g_array_append_vals (proof, sibling, 1);
}

GArray *
strand_merkle_inclusion_proof (const guint8 *leaf_hashes, guint64 n, guint64 m)
{
  if (leaf_hashes == NULL || m >= n)
    return NULL;
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  GArray *proof = g_array_new (FALSE, FALSE, HLEN);
  path (ctx, leaf_hashes, n, m, proof);
  return proof;
}

/* RFC 9162 2.1.3.2. */
gboolean
strand_merkle_verify_inclusion (const guint8 leaf_hash[HLEN], guint64 m, guint64 n,
                                const GArray *proof, const guint8 root[HLEN])
{
  g_return_val_if_fail (leaf_hash != NULL && root != NULL, FALSE);
  if (proof == NULL || g_array_get_element_size ((GArray *) proof) != HLEN || m >= n)
    return FALSE;
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  guint64 fn = m, sn = n - 1;
  guint8 r[HLEN];
  memcpy (r, leaf_hash, HLEN);
  for (guint i = 0; i < proof->len; i++)
    {
      const guint8 *p = (const guint8 *) proof->data + (gsize) i * HLEN;
      if (sn == 0)
        return FALSE;
      if ((fn & 1) || fn == sn)
        {
          node_with (ctx, p, r, r);
          while (!(fn & 1) && fn != 0)
            {
              fn >>= 1;
              sn >>= 1;
            }
        }
      else
        node_with (ctx, r, p, r);
      fn >>= 1;
      sn >>= 1;
    }
  return sn == 0 && memcmp (r, root, HLEN) == 0;
}

/* ---- Consistency: RFC 6962 2.1.2 ---- */

/* Appends SUBPROOF(m, D[0:n], b) to `proof`. */
static void
subproof (StrandSha256 *ctx, const guint8 *leaves, guint64 n, guint64 m, gboolean b,
          GArray *proof)
{
  guint8 h[HLEN];
  if (m == n)
    {
      if (!b)
        {
          mth (ctx, leaves, n, h);
          g_array_append_vals (proof, h, 1);
        }
      return;
    }
  guint64 k = split_point (n);
  if (m <= k)
    {
      subproof (ctx, leaves, k, m, b, proof);
      mth (ctx, leaves + k * HLEN, n - k, h);
    }
  else
    {
      subproof (ctx, leaves + k * HLEN, n - k, m - k, FALSE, proof);
      mth (ctx, leaves, k, h);
    }
  g_array_append_vals (proof, h, 1);
}

GArray *
strand_merkle_consistency_proof (const guint8 *leaf_hashes, guint64 n, guint64 m)
{
  if (leaf_hashes == NULL || m == 0 || m > n)
    return NULL;
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  GArray *proof = g_array_new (FALSE, FALSE, HLEN);
  subproof (ctx, leaf_hashes, n, m, TRUE, proof);
  return proof;
}

/* RFC 9162 2.1.4.2 (with m == n handled first, as the RFC leaves it out). */
gboolean
strand_merkle_verify_consistency (guint64 m, guint64 n, const GArray *proof,
                                  const guint8 old_root[HLEN], const guint8 new_root[HLEN])
{
  g_return_val_if_fail (old_root != NULL && new_root != NULL, FALSE);
  if (proof == NULL || g_array_get_element_size ((GArray *) proof) != HLEN || m == 0 || m > n)
    return FALSE;
  if (m == n)
    return proof->len == 0 && memcmp (old_root, new_root, HLEN) == 0;
  if (proof->len == 0)
    return FALSE;

  const guint8 *c = (const guint8 *) proof->data;
  guint len = proof->len;
  guint i = 0;
  const guint8 *first;
  /* Step 2: when m is a power of two, old_root is the first element. */
  if ((m & (m - 1)) == 0)
    first = old_root;
  else
    first = c + (gsize) i++ * HLEN;

  guint64 fn = m - 1, sn = n - 1;
  while (fn & 1)
    {
      fn >>= 1;
      sn >>= 1;
    }
  g_autoptr (StrandSha256) ctx = strand_sha256_new ();
  guint8 fr[HLEN], sr[HLEN];
  memcpy (fr, first, HLEN);
  memcpy (sr, first, HLEN);
  for (; i < len; i++)
    {
      const guint8 *p = c + (gsize) i * HLEN;
      if (sn == 0)
        return FALSE;
      if ((fn & 1) || fn == sn)
        {
          node_with (ctx, p, fr, fr);
          node_with (ctx, p, sr, sr);
          while (!(fn & 1) && fn != 0)
            {
              fn >>= 1;
              sn >>= 1;
            }
        }
      else
        node_with (ctx, sr, p, sr);
      fn >>= 1;
      sn >>= 1;
    }
  return sn == 0 && memcmp (fr, old_root, HLEN) == 0 && memcmp (sr, new_root, HLEN) == 0;
}
