/* One record line (records.h): writing it, reading it back strictly, and
 * checking its signature and signed chain. */
#include "ledger-private.h"

#include <string.h>

#include "json-util.h"

/* The fixed pieces of a line, in order. Their keys are already in canonical
 * order, and the values between them (base64, hex, a decimal) need no
 * escaping, so a line built from them is its own canonical JSON. */
#define LINE_HEAD "{\"dsse\":{\"payload\":\""
#define LINE_TYPE "\",\"payloadType\":\""
#define LINE_KEYID "\",\"signatures\":[{\"keyid\":\""
#define LINE_SIG "\",\"sig\":\""
#define LINE_PREV "\"}]},\"prev\":\""
#define LINE_SEQ "\",\"seq\":"
#define LINE_TAIL "}"
#define LIT(s) s, sizeof s - 1

#define SIG_B64_LEN 88 /* base64 of 64 bytes, padded */

typedef struct {
  const char *start;
  const char *p;
  const char *end;
  char **why;
} Cursor;

static gboolean
fail (Cursor *c, const char *expected)
{
  if (c->why != NULL && *c->why == NULL)
    *c->why = g_strdup_printf ("at byte %" G_GSIZE_FORMAT ": expected %s",
                               (gsize) (c->p - c->start), expected);
  return FALSE;
}

static gboolean
expect (Cursor *c, const char *literal, gsize len)
{
  if ((gsize) (c->end - c->p) < len || memcmp (c->p, literal, len) != 0)
    {
      g_autofree char *quoted = g_strdup_printf ("'%s'", literal);
      return fail (c, quoted);
    }
  c->p += len;
  return TRUE;
}

static inline gboolean
is_b64 (char ch)
{
  return g_ascii_isalnum (ch) || ch == '+' || ch == '/' || ch == '=';
}

static gboolean
span_b64 (Cursor *c, const char **out, gsize *len)
{
  const char *s = c->p;
  while (c->p < c->end && is_b64 (*c->p))
    c->p++;
  if (c->p == s)
    return fail (c, "base64");
  *out = s;
  *len = (gsize) (c->p - s);
  return TRUE;
}

static gboolean
span_hex64 (Cursor *c, const char **out)
{
  if (c->end - c->p < 64)
    return fail (c, "64 hex digits");
  for (int i = 0; i < 64; i++)
    if (!g_ascii_isdigit (c->p[i]) && !(c->p[i] >= 'a' && c->p[i] <= 'f'))
      {
        c->p += i;
        return fail (c, "a lower-case hex digit");
      }
  *out = c->p;
  c->p += 64;
  return TRUE;
}

/* A decimal without sign or leading zero, at least 1. */
static gboolean
parse_seq (Cursor *c, guint64 *out)
{
  if (c->p >= c->end || *c->p < '1' || *c->p > '9')
    return fail (c, "a seq of 1 or more");
  guint64 v = 0;
  while (c->p < c->end && g_ascii_isdigit (*c->p))
    {
      guint d = (guint) (*c->p - '0');
      if (v > (G_MAXUINT64 - d) / 10)
        return fail (c, "a seq that fits 64 bits");
      v = v * 10 + d;
      c->p++;
    }
  *out = v;
  return TRUE;
}

gboolean
strand_line_split (const char *line, gsize len, StrandLineParts *parts, char **why)
{
  Cursor c = { line, line, line + len, why };
  if (!expect (&c, LIT (LINE_HEAD)) || !span_b64 (&c, &parts->payload, &parts->payload_len) ||
      !expect (&c, LIT (LINE_TYPE)))
    return FALSE;
  parts->payload_type = c.p;
  while (c.p < c.end && *c.p != '"' && *c.p != '\\' && *c.p >= 0x20 && *c.p < 0x7f)
    c.p++;
  parts->payload_type_len = (gsize) (c.p - parts->payload_type);
  if (!expect (&c, LIT (LINE_KEYID)) || !span_hex64 (&c, &parts->keyid) ||
      !expect (&c, LIT (LINE_SIG)) || !span_b64 (&c, &parts->sig, &parts->sig_len) ||
      !expect (&c, LIT (LINE_PREV)) || !span_hex64 (&c, &parts->prev) ||
      !expect (&c, LIT (LINE_SEQ)) || !parse_seq (&c, &parts->seq) ||
      !expect (&c, LIT (LINE_TAIL)))
    return FALSE;
  if (c.p != c.end)
    return fail (&c, "the end of the line");
  return TRUE;
}

guint64
strand_line_seq (const char *line, gsize len)
{
  static const char key[] = "\"seq\":";
  if (len < sizeof key + 1 || line[len - 1] != '}')
    return 0;
  gsize i = len - 1;
  while (i > 0 && g_ascii_isdigit (line[i - 1]) && len - 1 - i < 20)
    i--;
  if (i == len - 1 || i < sizeof key - 1 ||
      memcmp (line + i - (sizeof key - 1), key, sizeof key - 1) != 0)
    return 0;
  Cursor c = { line, line + i, line + len - 1, NULL };
  guint64 seq = 0;
  if (!parse_seq (&c, &seq) || c.p != c.end)
    return 0;
  return seq;
}

static void
append_decimal (GString *out, guint64 v)
{
  char buf[24];
  int i = sizeof buf;
  do
    {
      buf[--i] = (char) ('0' + v % 10);
      v /= 10;
    }
  while (v > 0);
  g_string_append_len (out, buf + i, (gssize) (sizeof buf - (gsize) i));
}

void
strand_dsse_pae_append (GString *out, const char *payload_type, const void *payload, gsize len)
{
  g_string_append_len (out, LIT ("DSSEv1 "));
  append_decimal (out, strlen (payload_type));
  g_string_append_c (out, ' ');
  g_string_append (out, payload_type);
  g_string_append_c (out, ' ');
  append_decimal (out, len);
  g_string_append_c (out, ' ');
  if (payload != NULL)
    g_string_append_len (out, payload, (gssize) len);
}

/* Base64 of public bytes: GLib's table-driven encoder, several times faster
 * than libsodium's constant-time one, which secrets do not need here. */
static void
append_base64 (GString *out, const void *data, gsize len)
{
  gsize at = out->len;
  g_string_set_size (out, at + (len / 3 + 1) * 4 + 4);
  int state = 0, save = 0;
  gsize n = g_base64_encode_step (data, len, FALSE, out->str + at, &state, &save);
  n += g_base64_encode_close (FALSE, out->str + at + n, &state, &save);
  g_string_set_size (out, at + n);
}

void
strand_line_append (GString *out, const void *payload, gsize payload_len, const char *keyid,
                    const guint8 sig[crypto_sign_BYTES], const char *prev, guint64 seq)
{
  g_string_append_len (out, LIT (LINE_HEAD));
  append_base64 (out, payload, payload_len);
  g_string_append_len (out, LIT (LINE_TYPE));
  g_string_append_len (out, LIT (STRAND_DSSE_PAYLOAD_TYPE));
  g_string_append_len (out, LIT (LINE_KEYID));
  g_string_append_len (out, keyid, 64);
  g_string_append_len (out, LIT (LINE_SIG));
  append_base64 (out, sig, crypto_sign_BYTES);
  g_string_append_len (out, LIT (LINE_PREV));
  g_string_append_len (out, prev, 64);
  g_string_append_len (out, LIT (LINE_SEQ));
  append_decimal (out, seq);
  g_string_append_len (out, LIT (LINE_TAIL));
}

JsonObject *
strand_statement_chain_parent (JsonObject *statement)
{
  const char *type = strand_json_string (statement, "predicateType", NULL);
  JsonNode *node = json_object_get_member (statement, "predicate");
  if (type == NULL || node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  JsonObject *predicate = json_node_get_object (node);
  if (strcmp (type, STRAND_RECORD_STAGE_RUN) != 0)
    return predicate;
  node = json_object_get_member (predicate, "buildDefinition");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  node = json_object_get_member (json_node_get_object (node), "internalParameters");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_node_get_object (node);
}

/* ---- The chain members in a canonical statement ----
 *
 * Appending canonicalises the caller's statement as it is, then writes the
 * chain object into that text where the canonical form of the statement
 * with the member would have it: the same bytes, without copying the
 * caller's tree to add a member. The text is what strand_canonical_json()
 * wrote: no whitespace, members sorted by the bytes of their unescaped
 * keys, strings escaped only as \" \\ \b \f \n \r \t \u00XX. */

/* The end of the string starting at `p` (its opening quote). */
static const char *
skip_string (const char *p, const char *end)
{
  for (p++; p < end;)
    {
      const char *q = memchr (p, '"', (gsize) (end - p));
      if (q == NULL)
        return NULL;
      gsize backslashes = 0;
      while (q - backslashes > p && q[-1 - (gssize) backslashes] == '\\')
        backslashes++;
      if (backslashes % 2 == 0)
        return q + 1;
      p = q + 1; /* an escaped quote */
    }
  return NULL;
}

/* The end of the value starting at `p`. The text is NUL-terminated at
 * `end`, which strcspn() relies on. */
static const char *
skip_value (const char *p, const char *end)
{
  if (p >= end)
    return NULL;
  if (*p == '"')
    return skip_string (p, end);
  if (*p != '{' && *p != '[')
    return p + strcspn (p, ",}]");
  int depth = 0;
  for (p += strcspn (p, "\"{}[]"); p < end; p += strcspn (p, "\"{}[]"))
    {
      if (*p == '"')
        {
          p = skip_string (p, end);
          if (p == NULL)
            return NULL;
          continue;
        }
      if (*p == '{' || *p == '[')
        depth++;
      else if (--depth == 0)
        return p + 1;
      p++;
    }
  return NULL;
}

/* The next character of an escaped string, unescaped; advances `p`. */
static guchar
unescape_next (const char **p)
{
  const char *q = *p;
  if (*q != '\\')
    {
      *p = q + 1;
      return (guchar) *q;
    }
  *p = q + 2;
  switch (q[1])
    {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'u':
      *p = q + 6;
      return (guchar) (g_ascii_xdigit_value (q[4]) << 4 | g_ascii_xdigit_value (q[5]));
    default: return (guchar) q[1]; /* \" and \\ */
    }
}

/* strcmp() of the escaped key between `k` and `kend` (its closing quote),
 * unescaped, with `key`. */
static int
compare_key (const char *k, const char *kend, const char *key)
{
  const guchar *want = (const guchar *) key;
  while (k < kend && *want != 0)
    {
      guchar have = unescape_next (&k);
      if (have != *want)
        return have < *want ? -1 : 1;
      want++;
    }
  return k < kend ? 1 : *want != 0 ? -1 : 0;
}

/* In the object at `obj` ('{'), the value of member `key`: TRUE with where
 * it starts, or FALSE with `at` where such a member goes (the opening quote of
 * the first greater key, or the closing brace). */
static gboolean
find_member (const char *obj, const char *end, const char *key, const char **value,
             const char **at)
{
  *at = NULL;
  if (obj >= end || *obj != '{')
    return FALSE;
  const char *p = obj + 1;
  while (p < end && *p == '"')
    {
      const char *k_end = skip_string (p, end);
      if (k_end == NULL || k_end >= end || *k_end != ':')
        break;
      int cmp = compare_key (p + 1, k_end - 1, key);
      if (cmp == 0)
        {
          *value = k_end + 1;
          return TRUE;
        }
      if (cmp > 0 && *at == NULL)
        *at = p;
      const char *v_end = skip_value (k_end + 1, end);
      if (v_end == NULL)
        break;
      p = v_end < end && *v_end == ',' ? v_end + 1 : v_end;
    }
  if (*at == NULL)
    *at = p < end && *p == '}' ? p : NULL;
  return FALSE;
}

/* Plans a new member at `at` in the object at `obj`: `head` (its key and
 * any opening of its value), the chain, then `tail`. */
static void
plan_insert (StrandSplice *splice, const char *text, const char *obj, const char *at,
             const char *head, const char *tail)
{
  gboolean before_key = *at == '"';
  if (!before_key && at != obj + 1)
    g_string_append_c (splice->insert, ','); /* after the last member */
  g_string_append (splice->insert, head);
  splice->value_at = splice->insert->len;
  g_string_append (splice->insert, tail);
  if (before_key)
    g_string_append_c (splice->insert, ',');
  splice->at = (gsize) (at - text);
  splice->replace = 0;
}

gboolean
strand_chain_splice (const char *text, gsize len, gboolean slsa, guint64 seq, const char *prev,
                     StrandSplice *splice)
{
  const char *end = text + len;
  const char *value = NULL, *at = NULL;
  g_string_truncate (splice->insert, 0);
  if (!find_member (text, end, "predicate", &value, &at))
    return FALSE;
  const char *parent = value;
  if (slsa)
    {
      if (!find_member (value, end, "buildDefinition", &value, &at))
        return FALSE;
      const char *build = value;
      if (find_member (build, end, "internalParameters", &value, &at))
        parent = value;
      else if (at != NULL)
        {
          /* No internalParameters: the whole member goes in. */
          plan_insert (splice, text, build, at, "\"internalParameters\":{\"ledger\":", "}");
          parent = NULL;
        }
      else
        return FALSE;
    }
  if (parent != NULL && find_member (parent, end, "ledger", &value, &at))
    {
      const char *value_end = skip_value (value, end);
      if (value_end == NULL)
        return FALSE;
      splice->at = (gsize) (value - text); /* a "ledger" already there: replaced */
      splice->replace = (gsize) (value_end - value);
      splice->value_at = 0;
    }
  else if (parent != NULL && at != NULL)
    plan_insert (splice, text, parent, at, "\"ledger\":", "");
  else if (parent != NULL)
    return FALSE;
  /* {"prev":"HEX","seq":N}: keys in order, nothing to escape. */
  char chain[128];
  int n = g_snprintf (chain, sizeof chain, "{\"prev\":\"%.64s\",\"seq\":%" G_GUINT64_FORMAT "}",
                      prev, seq);
  g_string_insert_len (splice->insert, (gssize) splice->value_at, chain, n);
  return TRUE;
}

static StrandRecordStatus
record_error (GError **error, StrandRecordStatus status, const char *label, const char *format,
              ...) G_GNUC_PRINTF (4, 5);

static StrandRecordStatus
record_error (GError **error, StrandRecordStatus status, const char *label, const char *format,
              ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *what = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, STRAND_LEDGER_ERROR, STRAND_LEDGER_ERROR_CORRUPT, "%s: %s", label, what);
  return status;
}

static inline int
b64_value (char ch)
{
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Strict base64 (RFC 4648 section 4, padded): every character counts and
 * every text decodes from one encoding only (unused bits must be zero), so
 * no changed character decodes to the same bytes. */
static gboolean
decode_base64 (const char *in, gsize len, guint8 *out, gsize out_max, gsize *out_len)
{
  if (len % 4 != 0 || len / 4 * 3 > out_max)
    return FALSE;
  gsize o = 0;
  for (gsize i = 0; i < len; i += 4)
    {
      gboolean last = i + 4 == len;
      int a = b64_value (in[i]), b = b64_value (in[i + 1]);
      if (a < 0 || b < 0)
        return FALSE;
      out[o++] = (guint8) (a << 2 | b >> 4);
      if (last && in[i + 2] == '=')
        {
          if (in[i + 3] != '=' || (b & 0xf) != 0)
            return FALSE;
          break;
        }
      int c = b64_value (in[i + 2]);
      if (c < 0)
        return FALSE;
      out[o++] = (guint8) ((b & 0xf) << 4 | c >> 2);
      if (last && in[i + 3] == '=')
        {
          if ((c & 0x3) != 0)
            return FALSE;
          break;
        }
      int d = b64_value (in[i + 3]);
      if (d < 0)
        return FALSE;
      out[o++] = (guint8) ((c & 0x3) << 6 | d);
    }
  *out_len = o;
  return TRUE;
}

StrandRecordStatus
strand_record_check (const char *line, gsize len, const StrandKey *key, gboolean want_statement,
                     JsonNode **statement, StrandLineParts *parts_out, GError **error)
{
  strand_sodium_init ();
  StrandLineParts parts;
  g_autofree char *why = NULL;
  if (!strand_line_split (line, len, &parts, &why))
    {
      guint64 seq = strand_line_seq (line, len);
      g_autofree char *label = seq ? g_strdup_printf ("record %" G_GUINT64_FORMAT, seq)
                                   : g_strdup ("record");
      return record_error (error, STRAND_RECORD_MALFORMED, label,
                           "not a ledger record line (%s)", why);
    }
  if (parts_out != NULL)
    *parts_out = parts;
  char label[40];
  g_snprintf (label, sizeof label, "record %" G_GUINT64_FORMAT, parts.seq);

  gsize payload_max = parts.payload_len / 4 * 3 + 3;
  g_autofree guint8 *payload = g_malloc (payload_max);
  gsize payload_len = 0;
  if (!decode_base64 (parts.payload, parts.payload_len, payload, payload_max, &payload_len))
    return record_error (error, STRAND_RECORD_MALFORMED, label, "the payload is not base64");
  guint8 sig[crypto_sign_BYTES + 2]; /* 88 characters hold 66 bytes, 2 of them padding */
  gsize sig_len = 0;
  if (parts.sig_len != SIG_B64_LEN ||
      !decode_base64 (parts.sig, parts.sig_len, sig, sizeof sig, &sig_len) ||
      sig_len != crypto_sign_BYTES)
    return record_error (error, STRAND_RECORD_MALFORMED, label,
                         "the signature is not 64 bytes of base64");

  if (key != NULL)
    {
      if (memcmp (parts.keyid, key->keyid, 64) != 0)
        return record_error (error, STRAND_RECORD_WRONG_KEY, label,
                             "signed by key %.16s..., not by key %.16s...", parts.keyid,
                             key->keyid);
      g_autofree char *type = g_strndup (parts.payload_type, parts.payload_type_len);
      g_autoptr (GString) pae = g_string_sized_new (payload_len + 64);
      strand_dsse_pae_append (pae, type, payload, payload_len);
      if (crypto_sign_verify_detached (sig, (const guint8 *) pae->str, pae->len, key->pk) != 0)
        return record_error (error, STRAND_RECORD_BAD_SIGNATURE, label,
                             "the signature does not verify: the record was altered after "
                             "it was signed");
    }
  if (parts.payload_type_len != strlen (STRAND_DSSE_PAYLOAD_TYPE) ||
      memcmp (parts.payload_type, STRAND_DSSE_PAYLOAD_TYPE, parts.payload_type_len) != 0)
    return record_error (error, STRAND_RECORD_BAD_STATEMENT, label,
                         "payloadType is '%.*s', not '%s'", (int) parts.payload_type_len,
                         parts.payload_type, STRAND_DSSE_PAYLOAD_TYPE);

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) json_error = NULL;
  if (!json_parser_load_from_data (parser, (const char *) payload, (gssize) payload_len,
                                   &json_error))
    return record_error (error, STRAND_RECORD_BAD_STATEMENT, label,
                         "the payload is not JSON: %s", json_error->message);
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *st = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root)
                                                                 : NULL;
  if (g_strcmp0 (strand_json_string (st, "_type", NULL), STRAND_STATEMENT_TYPE) != 0)
    return record_error (error, STRAND_RECORD_BAD_STATEMENT, label,
                         "the payload is not an in-toto Statement v1 (_type)");
  JsonObject *parent = strand_statement_chain_parent (st);
  JsonNode *ledger = parent != NULL ? json_object_get_member (parent, "ledger") : NULL;
  JsonObject *chain = ledger != NULL && JSON_NODE_HOLDS_OBJECT (ledger)
                          ? json_node_get_object (ledger)
                          : NULL;
  gint64 signed_seq = strand_json_int (chain, "seq", -1);
  const char *signed_prev = strand_json_string (chain, "prev", NULL);
  if (chain == NULL || signed_seq < 1 || signed_prev == NULL)
    return record_error (error, STRAND_RECORD_BAD_STATEMENT, label,
                         "the statement has no signed ledger {seq, prev} for predicateType "
                         "'%s'",
                         strand_json_string (st, "predicateType", "(none)"));
  if ((guint64) signed_seq != parts.seq || strlen (signed_prev) != 64 ||
      memcmp (signed_prev, parts.prev, 64) != 0)
    return record_error (error, STRAND_RECORD_CHAIN_MISMATCH, label,
                         "the line says seq %" G_GUINT64_FORMAT " prev %.16s... but the signed "
                         "statement says seq %" G_GINT64_FORMAT " prev %.16s...",
                         parts.seq, parts.prev, signed_seq, signed_prev);
  if (want_statement && statement != NULL)
    *statement = json_parser_steal_root (parser);
  return STRAND_RECORD_OK;
}

JsonNode *
strand_record_open (const char *line, gsize len, const StrandKey *key, guint64 *seq,
                    char prev[65], GError **error)
{
  JsonNode *statement = NULL;
  StrandLineParts parts;
  if (strand_record_check (line, len, key, TRUE, &statement, &parts, error) != STRAND_RECORD_OK)
    return NULL;
  if (seq != NULL)
    *seq = parts.seq;
  if (prev != NULL)
    {
      memcpy (prev, parts.prev, 64);
      prev[64] = '\0';
    }
  return statement;
}
