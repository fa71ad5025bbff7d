/* Reading one log line into what the index keeps (lineage-private.h).
 *
 * A small JSON reader of our own: it parses a line into a flat array of
 * nodes that point into the text, and copies only the strings the index
 * keeps. Records are canonical (records.h) but nothing here depends on it:
 * any valid JSON is read, whitespace and escapes included. Damaged input
 * gives an error, never a crash: nesting is capped, every read is bounded. */
#include <string.h>

#include "clock.h"
#include "lineage-private.h"
#include "records.h"

#define MAX_DEPTH 64

typedef enum {
  J_NULL,
  J_FALSE,
  J_TRUE,
  J_NUMBER,
  J_STRING,
  J_ARRAY,
  J_OBJECT,
} JType;

typedef struct {
  guint8 type;
  guint8 escaped;     /* the string value holds escapes */
  guint8 key_escaped; /* the member name holds escapes */
  guint32 key, key_len; /* member name, without quotes (objects' children) */
  guint32 off, len;   /* string contents without quotes, or number text */
  gint32 first;       /* first child of an array or object; -1: none */
  gint32 next;        /* next sibling; -1: none */
} JNode;

typedef struct {
  const char *text;
  gsize len;
  gsize pos;
  GArray *nodes; /* JNode */
  const char *error;
} JDoc;

struct LinReader {
  JDoc env, stmt;
  GByteArray *payload;    /* decoded statement */
  GString *unescaped;     /* scratch for strings with escapes */
  GStringChunk *strings;  /* the record's kept strings */
  GArray *used, *generated, *removed;
};

const char *
lin_kind_name (LinKind kind)
{
  switch (kind)
    {
    case LIN_KIND_STAGE_RUN: return "stage-run";
    case LIN_KIND_INGEST: return "ingest";
    case LIN_KIND_MATERIALIZE: return "materialize";
    case LIN_KIND_GC: return "gc";
    case LIN_KIND_EVENT: return "event";
    case LIN_KIND_OTHER:
    default: return "other";
    }
}

/* --- the JSON reader ---------------------------------------------------- */

static JNode *
jnode (JDoc *d, gint32 i)
{
  return &g_array_index (d->nodes, JNode, i);
}

static void
skip_space (JDoc *d)
{
  while (d->pos < d->len)
    {
      char c = d->text[d->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        return;
      d->pos++;
    }
}

/* Scans a string whose opening quote is at d->pos; leaves d->pos after the
 * closing quote. */
static gboolean
scan_string (JDoc *d, guint32 *off, guint32 *len, guint8 *escaped)
{
  gsize p = d->pos + 1;
  *escaped = 0;
  *off = (guint32) p;
  /* The closing quote is the first one not escaped: find quotes and
   * backslashes with memchr (vectorised; a payload is ~1.5 KB of base64).
   * Raw control characters, which JSON does not allow in strings and the
   * ledger never writes, are let through: they harm nothing here. */
  for (;;)
    {
      const char *quote = memchr (d->text + p, '"', d->len - p);
      if (quote == NULL)
        {
          d->error = "unterminated string";
          return FALSE;
        }
      gsize q = (gsize) (quote - d->text);
      const char *backslash = memchr (d->text + p, '\\', q - p);
      if (backslash == NULL)
        {
          p = q;
          break;
        }
      *escaped = 1;
      p = (gsize) (backslash - d->text);
      while (p < q)
        p += d->text[p] == '\\' ? 2 : 1; /* \uXXXX is checked when unescaped */
      if (p == q)
        break;
      /* p == q + 1: that quote was escaped; look further. */
      if (p >= d->len)
        {
          d->error = "unterminated string";
          return FALSE;
        }
    }
  *len = (guint32) (p - *off);
  d->pos = p + 1;
  return TRUE;
}

static gboolean
scan_number (JDoc *d, guint32 *off, guint32 *len)
{
  gsize p = d->pos;
  *off = (guint32) p;
  if (p < d->len && d->text[p] == '-')
    p++;
  gsize digits = p;
  while (p < d->len && g_ascii_isdigit (d->text[p]))
    p++;
  if (p == digits)
    {
      d->error = "bad number";
      return FALSE;
    }
  if (p < d->len && d->text[p] == '.')
    {
      p++;
      gsize frac = p;
      while (p < d->len && g_ascii_isdigit (d->text[p]))
        p++;
      if (p == frac)
        {
          d->error = "bad number";
          return FALSE;
        }
    }
  if (p < d->len && (d->text[p] == 'e' || d->text[p] == 'E'))
    {
      p++;
      if (p < d->len && (d->text[p] == '+' || d->text[p] == '-'))
        p++;
      gsize exp = p;
      while (p < d->len && g_ascii_isdigit (d->text[p]))
        p++;
      if (p == exp)
        {
          d->error = "bad number";
          return FALSE;
        }
    }
  *len = (guint32) (p - *off);
  d->pos = p;
  return TRUE;
}

static gboolean
scan_word (JDoc *d, const char *word)
{
  gsize n = strlen (word);
  if (d->len - d->pos < n || memcmp (d->text + d->pos, word, n) != 0)
    {
      d->error = "unexpected character";
      return FALSE;
    }
  d->pos += n;
  return TRUE;
}

static gint32
parse_value (JDoc *d, int depth)
{
  skip_space (d);
  if (d->pos >= d->len)
    {
      d->error = "unexpected end";
      return -1;
    }
  if (depth > MAX_DEPTH)
    {
      d->error = "nested too deeply";
      return -1;
    }
  JNode n = { .first = -1, .next = -1 };
  char c = d->text[d->pos];
  switch (c)
    {
    case '"':
      n.type = J_STRING;
      if (!scan_string (d, &n.off, &n.len, &n.escaped))
        return -1;
      break;
    case 't':
      n.type = J_TRUE;
      if (!scan_word (d, "true"))
        return -1;
      break;
    case 'f':
      n.type = J_FALSE;
      if (!scan_word (d, "false"))
        return -1;
      break;
    case 'n':
      n.type = J_NULL;
      if (!scan_word (d, "null"))
        return -1;
      break;
    case '[':
    case '{':
      {
        gboolean object = c == '{';
        n.type = object ? J_OBJECT : J_ARRAY;
        g_array_append_val (d->nodes, n);
        gint32 self = (gint32) d->nodes->len - 1;
        gint32 last = -1;
        d->pos++;
        skip_space (d);
        if (d->pos < d->len && d->text[d->pos] == (object ? '}' : ']'))
          {
            d->pos++;
            return self;
          }
        for (;;)
          {
            guint32 key = 0, key_len = 0;
            guint8 key_escaped = 0;
            if (object)
              {
                skip_space (d);
                if (d->pos >= d->len || d->text[d->pos] != '"')
                  {
                    d->error = "expected a member name";
                    return -1;
                  }
                if (!scan_string (d, &key, &key_len, &key_escaped))
                  return -1;
                skip_space (d);
                if (d->pos >= d->len || d->text[d->pos] != ':')
                  {
                    d->error = "expected ':'";
                    return -1;
                  }
                d->pos++;
              }
            gint32 child = parse_value (d, depth + 1);
            if (child < 0)
              return -1;
            JNode *cn = jnode (d, child);
            cn->key = key;
            cn->key_len = key_len;
            cn->key_escaped = key_escaped;
            if (last < 0)
              jnode (d, self)->first = child;
            else
              jnode (d, last)->next = child;
            last = child;
            skip_space (d);
            if (d->pos >= d->len)
              {
                d->error = "unexpected end";
                return -1;
              }
            char s = d->text[d->pos++];
            if (s == ',')
              continue;
            if (s == (object ? '}' : ']'))
              return self;
            d->error = object ? "expected ',' or '}'" : "expected ',' or ']'";
            return -1;
          }
      }
    default:
      if (c == '-' || g_ascii_isdigit (c))
        {
          n.type = J_NUMBER;
          if (!scan_number (d, &n.off, &n.len))
            return -1;
          break;
        }
      d->error = "unexpected character";
      return -1;
    }
  g_array_append_val (d->nodes, n);
  return (gint32) d->nodes->len - 1;
}

static gint32
jparse (JDoc *d, const char *text, gsize len)
{
  d->text = text;
  d->len = len;
  d->pos = 0;
  d->error = NULL;
  g_array_set_size (d->nodes, 0);
  if (len >= G_MAXUINT32)
    {
      d->error = "line too long";
      return -1;
    }
  gint32 root = parse_value (d, 0);
  if (root < 0)
    return -1;
  skip_space (d);
  if (d->pos != d->len)
    {
      d->error = "text after the value";
      return -1;
    }
  return root;
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static gboolean
read_u4 (const char *s, gsize left, gunichar *out)
{
  if (left < 4)
    return FALSE;
  gunichar v = 0;
  for (int i = 0; i < 4; i++)
    {
      int h = hex_value (s[i]);
      if (h < 0)
        return FALSE;
      v = (v << 4) | (gunichar) h;
    }
  *out = v;
  return TRUE;
}

/* Unescapes s[0..len) into `out` (cleared first). Lone surrogates become
 * U+FFFD. */
static gboolean
unescape (const char *s, gsize len, GString *out)
{
  g_string_truncate (out, 0);
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] != '\\')
        {
          g_string_append_c (out, s[i]);
          continue;
        }
      if (++i >= len)
        return FALSE;
      switch (s[i])
        {
        case '"': g_string_append_c (out, '"'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '/': g_string_append_c (out, '/'); break;
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u':
          {
            gunichar u;
            if (!read_u4 (s + i + 1, len - i - 1, &u))
              return FALSE;
            i += 4;
            if (u >= 0xd800 && u < 0xdc00)
              {
                gunichar lo;
                if (i + 2 < len && s[i + 1] == '\\' && s[i + 2] == 'u' &&
                    read_u4 (s + i + 3, len - i - 3, &lo) && lo >= 0xdc00 && lo < 0xe000)
                  {
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                  }
                else
                  u = 0xfffd;
              }
            else if (u >= 0xdc00 && u < 0xe000)
              u = 0xfffd;
            if (u == 0)
              u = 0xfffd; /* no NUL inside C strings */
            g_string_append_unichar (out, u);
            break;
          }
        default:
          return FALSE;
        }
    }
  return TRUE;
}

/* The member `key` of object `obj`, or -1. */
static gint32
jget (LinReader *r, JDoc *d, gint32 obj, const char *key)
{
  if (obj < 0 || jnode (d, obj)->type != J_OBJECT)
    return -1;
  gsize klen = strlen (key);
  for (gint32 c = jnode (d, obj)->first; c >= 0; c = jnode (d, c)->next)
    {
      JNode *n = jnode (d, c);
      if (!n->key_escaped)
        {
          if (n->key_len == klen && memcmp (d->text + n->key, key, klen) == 0)
            return c;
        }
      else if (unescape (d->text + n->key, n->key_len, r->unescaped) &&
               strcmp (r->unescaped->str, key) == 0)
        return c;
    }
  return -1;
}

static gint32
jpath (LinReader *r, JDoc *d, gint32 node, const char *const *keys)
{
  for (; *keys != NULL && node >= 0; keys++)
    node = jget (r, d, node, *keys);
  return node;
}
#define JPATH(r, d, node, ...) jpath ((r), (d), (node), (const char *const[]){ __VA_ARGS__, NULL })

/* A string value kept for the record (valid UTF-8), or NULL when
 * `node` is not a string. */
static const char *
jstring (LinReader *r, JDoc *d, gint32 node)
{
  if (node < 0 || jnode (d, node)->type != J_STRING)
    return NULL;
  JNode *n = jnode (d, node);
  const char *s = d->text + n->off;
  gsize len = n->len;
  if (n->escaped)
    {
      if (!unescape (s, len, r->unescaped))
        return NULL;
      s = r->unescaped->str;
      len = r->unescaped->len;
    }
  if (!g_utf8_validate_len (s, len, NULL))
    {
      g_autofree char *valid = g_utf8_make_valid (s, (gssize) len);
      return g_string_chunk_insert (r->strings, valid);
    }
  return g_string_chunk_insert_len (r->strings, s, (gssize) len);
}

/* A string without copying when it has no escapes: for digests and
 * comparisons. Sets *len. */
static const char *
jraw (JDoc *d, gint32 node, gsize *len)
{
  if (node < 0 || jnode (d, node)->type != J_STRING || jnode (d, node)->escaped)
    return NULL;
  *len = jnode (d, node)->len;
  return d->text + jnode (d, node)->off;
}

static gboolean
jraw_equal (JDoc *d, gint32 node, const char *text)
{
  gsize len = 0;
  const char *s = jraw (d, node, &len);
  return s != NULL && len == strlen (text) && memcmp (s, text, len) == 0;
}

static gboolean
jint (JDoc *d, gint32 node, gint64 *out)
{
  if (node < 0 || jnode (d, node)->type != J_NUMBER)
    return FALSE;
  JNode *n = jnode (d, node);
  if (n->len > 20)
    return FALSE;
  char buf[24];
  memcpy (buf, d->text + n->off, n->len);
  buf[n->len] = '\0';
  char *end = NULL;
  gint64 v = g_ascii_strtoll (buf, &end, 10);
  if (end == NULL || *end != '\0')
    {
      double dv = g_ascii_strtod (buf, &end);
      if (end == NULL || *end != '\0' || dv != (double) (gint64) dv)
        return FALSE;
      v = (gint64) dv;
    }
  *out = v;
  return TRUE;
}

/* --- base64, hex, times ------------------------------------------------- */

static const guint8 b64_table[256] = {
#define X 0xff
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
  52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
  X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
  X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
  41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
  X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};

/* Standard base64 with padding; nothing else allowed. */
static gboolean
base64_decode (const char *s, gsize len, GByteArray *out)
{
  g_byte_array_set_size (out, 0);
  if (len % 4 != 0)
    return FALSE;
  g_byte_array_set_size (out, len / 4 * 3);
  guint8 *o = out->data;
  for (gsize i = 0; i < len; i += 4)
    {
      guint8 a = b64_table[(guchar) s[i]], b = b64_table[(guchar) s[i + 1]];
      guint8 c = b64_table[(guchar) s[i + 2]], e = b64_table[(guchar) s[i + 3]];
      if ((a | b | c | e) < 64)
        {
          *o++ = (guint8) (a << 2 | b >> 4);
          *o++ = (guint8) (b << 4 | c >> 2);
          *o++ = (guint8) (c << 6 | e);
          continue;
        }
      /* Padding, only in the last quantum: "xx==" or "xxx=". */
      if (i + 4 != len || a > 63 || b > 63)
        return FALSE;
      *o++ = (guint8) (a << 2 | b >> 4);
      if (s[i + 2] == '=' && s[i + 3] == '=')
        break;
      if (c > 63 || s[i + 3] != '=')
        return FALSE;
      *o++ = (guint8) (b << 4 | c >> 2);
    }
  g_byte_array_set_size (out, (guint) (o - out->data));
  return TRUE;
}

/* Hex digit values plus one; 0: not a hex digit. */
static const guint8 hex_table[256] = {
  ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
  ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
  ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

gboolean
lin_hex_to_sha256 (const char *hex, gsize len, guint8 out[32])
{
  if (hex == NULL || len != 64)
    return FALSE;
  gboolean ok = TRUE;
  for (int i = 0; i < 32; i++)
    {
      int hi = hex_table[(guchar) hex[2 * i]], lo = hex_table[(guchar) hex[2 * i + 1]];
      ok &= hi != 0 && lo != 0;
      out[i] = (guint8) ((hi - 1) << 4 | (lo - 1));
    }
  return ok;
}

void
lin_sha256_to_hex (const guint8 sha[32], char hex[65])
{
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++)
    {
      hex[2 * i] = digits[sha[i] >> 4];
      hex[2 * i + 1] = digits[sha[i] & 15];
    }
  hex[64] = '\0';
}

static gboolean
digits (const char *s, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      v = v * 10 + (s[i] - '0');
    }
  *out = v;
  return TRUE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static gint64
days_from_civil (int y, int m, int d)
{
  y -= m <= 2;
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

gboolean
lin_parse_time (const char *text, gint64 *wall_us)
{
  /* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
  int y, mo, d, h, mi, s;
  gsize n = text != NULL ? strlen (text) : 0;
  if (n >= 20 && digits (text, 4, &y) && text[4] == '-' && digits (text + 5, 2, &mo) &&
      text[7] == '-' && digits (text + 8, 2, &d) && text[10] == 'T' && digits (text + 11, 2, &h) &&
      text[13] == ':' && digits (text + 14, 2, &mi) && text[16] == ':' &&
      digits (text + 17, 2, &s) && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 &&
      mi < 60 && s < 60)
    {
      const char *p = text + 19;
      gint64 us = 0;
      if (*p == '.')
        {
          int nd = 0;
          for (p++; g_ascii_isdigit (*p); p++, nd++)
            if (nd < 6)
              us = us * 10 + (*p - '0');
          if (nd == 0)
            return strand_clock_parse_rfc3339 (text, wall_us);
          for (; nd < 6; nd++)
            us *= 10;
        }
      gint64 offset_s = 0;
      gboolean ok = FALSE;
      if (p[0] == 'Z' && p[1] == '\0')
        ok = TRUE;
      else if ((p[0] == '+' || p[0] == '-') && strlen (p) == 6 && p[3] == ':')
        {
          int oh, om;
          if (digits (p + 1, 2, &oh) && digits (p + 4, 2, &om) && oh < 24 && om < 60)
            {
              offset_s = (oh * 3600 + om * 60) * (p[0] == '+' ? 1 : -1);
              ok = TRUE;
            }
        }
      if (ok)
        {
          gint64 secs = days_from_civil (y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_s;
          *wall_us = secs * G_USEC_PER_SEC + us;
          return TRUE;
        }
    }
  return strand_clock_parse_rfc3339 (text, wall_us);
}

/* --- records ------------------------------------------------------------- */

LinReader *
lin_reader_new (void)
{
  LinReader *r = g_new0 (LinReader, 1);
  r->env.nodes = g_array_sized_new (FALSE, FALSE, sizeof (JNode), 64);
  r->stmt.nodes = g_array_sized_new (FALSE, FALSE, sizeof (JNode), 256);
  r->payload = g_byte_array_sized_new (4096);
  r->unescaped = g_string_sized_new (256);
  r->strings = g_string_chunk_new (4096);
  r->used = g_array_new (FALSE, FALSE, sizeof (LinRef));
  r->generated = g_array_new (FALSE, FALSE, sizeof (LinRef));
  r->removed = g_array_new (FALSE, FALSE, sizeof (LinRef));
  return r;
}

void
lin_reader_free (LinReader *r)
{
  if (r == NULL)
    return;
  g_array_free (r->env.nodes, TRUE);
  g_array_free (r->stmt.nodes, TRUE);
  g_byte_array_free (r->payload, TRUE);
  g_string_free (r->unescaped, TRUE);
  g_string_chunk_free (r->strings);
  g_array_free (r->used, TRUE);
  g_array_free (r->generated, TRUE);
  g_array_free (r->removed, TRUE);
  g_free (r);
}

/* Adds {"name", "digest": {"sha256"}} to `refs`; entries without a valid
 * digest are skipped. `strip`: a prefix to remove from the name. */
static void
add_ref (LinReader *r, GArray *refs, gint32 desc, const char *name, gsize strip)
{
  JDoc *d = &r->stmt;
  gsize len = 0;
  const char *hex = jraw (d, JPATH (r, d, desc, "digest", "sha256"), &len);
  LinRef ref = { .name = name != NULL ? name + strip : NULL };
  if (!lin_hex_to_sha256 (hex, len, ref.sha256))
    return;
  for (guint i = 0; i < refs->len; i++)
    if (memcmp (g_array_index (refs, LinRef, i).sha256, ref.sha256, 32) == 0)
      return; /* named twice: once is enough for the index */
  g_array_append_val (refs, ref);
}

static void
add_subjects (LinReader *r, gint32 root, GArray *refs)
{
  JDoc *d = &r->stmt;
  gint32 subject = jget (r, d, root, "subject");
  if (subject < 0 || jnode (d, subject)->type != J_ARRAY)
    return;
  for (gint32 c = jnode (d, subject)->first; c >= 0; c = jnode (d, c)->next)
    add_ref (r, refs, c, jstring (r, d, jget (r, d, c, "name")), 0);
}

static gint64
time_of (LinReader *r, gint32 node)
{
  const char *text = jstring (r, &r->stmt, node);
  gint64 t;
  return text != NULL && lin_parse_time (text, &t) ? t : LIN_NO_TIME;
}

static void
read_stage_run (LinReader *r, gint32 root, LinRecord *rec)
{
  JDoc *d = &r->stmt;
  gint32 pred = jget (r, d, root, "predicate");
  gint32 build = jget (r, d, pred, "buildDefinition");
  gint32 ext = jget (r, d, build, "externalParameters");
  gint32 internal = jget (r, d, build, "internalParameters");
  gint32 details = jget (r, d, pred, "runDetails");
  gint32 meta = jget (r, d, details, "metadata");

  rec->run = jstring (r, d, jget (r, d, ext, "run"));
  if (rec->run == NULL)
    rec->run = jstring (r, d, jget (r, d, meta, "invocationId"));
  rec->stage = jstring (r, d, jget (r, d, ext, "stage"));
  rec->sample = jstring (r, d, jget (r, d, ext, "sample"));
  rec->plugin = jstring (r, d, jget (r, d, ext, "plugin"));
  rec->plugin_version = jstring (r, d, jget (r, d, ext, "plugin_version"));
  rec->equipment = jstring (r, d, jget (r, d, internal, "equipment"));
  if (!jint (d, jget (r, d, internal, "attempt"), &rec->attempt))
    rec->attempt = -1;
  rec->started = time_of (r, jget (r, d, meta, "startedOn"));
  rec->finished = time_of (r, jget (r, d, meta, "finishedOn"));

  gint32 deps = jget (r, d, build, "resolvedDependencies");
  if (deps >= 0 && jnode (d, deps)->type == J_ARRAY)
    for (gint32 c = jnode (d, deps)->first; c >= 0; c = jnode (d, c)->next)
      {
        const char *name = jstring (r, d, jget (r, d, c, "name"));
        if (name == NULL)
          continue;
        if (g_str_has_prefix (name, "input:"))
          add_ref (r, r->used, c, name, strlen ("input:"));
        else if (g_str_has_prefix (name, "plugin:") && rec->plugin_sha256 == NULL)
          {
            gsize len = 0;
            const char *hex = jraw (d, JPATH (r, d, c, "digest", "sha256"), &len);
            guint8 sha[32];
            if (lin_hex_to_sha256 (hex, len, sha))
              {
                char text[65];
                lin_sha256_to_hex (sha, text);
                rec->plugin_sha256 = g_string_chunk_insert (r->strings, text);
              }
            if (rec->plugin == NULL)
              rec->plugin = name + strlen ("plugin:");
          }
      }

  gint32 byproducts = jget (r, d, details, "byproducts");
  if (byproducts >= 0 && jnode (d, byproducts)->type == J_ARRAY)
    for (gint32 c = jnode (d, byproducts)->first; c >= 0; c = jnode (d, c)->next)
      if (jraw_equal (d, jget (r, d, c, "name"), "exit"))
        {
          /* "ok", or the error class (record-build.h writes the exit
           * status as a number and an error_class when it failed). */
          gint32 annotations = jget (r, d, c, "annotations");
          gint32 status = jget (r, d, annotations, "status");
          gint64 code = 0;
          rec->status = jstring (r, d, status);
          if (rec->status == NULL)
            rec->status = jstring (r, d, jget (r, d, annotations, "error_class"));
          if (rec->status == NULL && jint (d, status, &code) && code != 0 && code != -1)
            {
              char text[32];
              g_snprintf (text, sizeof text, "exit %" G_GINT64_FORMAT, code);
              rec->status = g_string_chunk_insert (r->strings, text);
            }
          if (rec->status == NULL)
            rec->status = "ok";
          break;
        }
  add_subjects (r, root, r->generated);
}

gboolean
lin_reader_parse (LinReader *r, const char *line, gsize len, LinRecord *rec, GError **error)
{
  g_string_chunk_clear (r->strings);
  g_array_set_size (r->used, 0);
  g_array_set_size (r->generated, 0);
  g_array_set_size (r->removed, 0);
  *rec = (LinRecord){
    .size = -1, .attempt = -1, .started = LIN_NO_TIME, .finished = LIN_NO_TIME,
    .used = r->used, .generated = r->generated, .removed = r->removed,
  };

  gint32 env = jparse (&r->env, line, len);
  if (env < 0)
    {
      g_set_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_CORRUPT,
                   "not JSON: %s at byte %" G_GSIZE_FORMAT, r->env.error, r->env.pos);
      return FALSE;
    }
  gint32 payload = JPATH (r, &r->env, env, "dsse", "payload");
  if (payload < 0 || jnode (&r->env, payload)->type != J_STRING)
    {
      g_set_error_literal (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_CORRUPT,
                           "no DSSE payload");
      return FALSE;
    }
  JNode *p = jnode (&r->env, payload);
  const char *b64 = line + p->off;
  gsize b64_len = p->len;
  if (p->escaped) /* "\/" is legal JSON, if not canonical */
    {
      gboolean ok = unescape (b64, b64_len, r->unescaped);
      b64 = r->unescaped->str;
      b64_len = ok ? r->unescaped->len : 1; /* 1: fails below */
    }
  if (!base64_decode (b64, b64_len, r->payload))
    {
      g_set_error_literal (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_CORRUPT,
                           "the DSSE payload is not base64");
      return FALSE;
    }
  JDoc *d = &r->stmt;
  gint32 root = jparse (d, (const char *) r->payload->data, r->payload->len);
  if (root < 0 || jnode (d, root)->type != J_OBJECT)
    {
      g_set_error (error, STRAND_INDEX_ERROR, STRAND_INDEX_ERROR_CORRUPT,
                   "the statement is not a JSON object%s%s", d->error ? ": " : "",
                   d->error ? d->error : "");
      return FALSE;
    }

  gint32 type = jget (r, d, root, "predicateType");
  gint32 pred = jget (r, d, root, "predicate");
  if (jraw_equal (d, type, STRAND_RECORD_STAGE_RUN))
    {
      rec->kind = LIN_KIND_STAGE_RUN;
      read_stage_run (r, root, rec);
      return TRUE;
    }
  if (jraw_equal (d, type, STRAND_RECORD_INGEST))
    {
      rec->kind = LIN_KIND_INGEST;
      rec->path = jstring (r, d, jget (r, d, pred, "path"));
      rec->format = jstring (r, d, jget (r, d, pred, "format"));
      rec->sample = jstring (r, d, jget (r, d, pred, "sample"));
      if (!jint (d, jget (r, d, pred, "size"), &rec->size) || rec->size < 0)
        rec->size = -1;
      add_subjects (r, root, r->generated);
    }
  else if (jraw_equal (d, type, STRAND_RECORD_MATERIALIZE))
    {
      rec->kind = LIN_KIND_MATERIALIZE;
      rec->path = jstring (r, d, jget (r, d, pred, "path"));
      add_subjects (r, root, r->used);
    }
  else if (jraw_equal (d, type, STRAND_RECORD_GC))
    {
      rec->kind = LIN_KIND_GC;
      add_subjects (r, root, r->removed);
    }
  else if (jraw_equal (d, type, STRAND_RECORD_EVENT))
    rec->kind = LIN_KIND_EVENT;
  else
    rec->kind = LIN_KIND_OTHER;
  rec->started = rec->finished = time_of (r, jget (r, d, pred, "time"));
  return TRUE;
}

/* --- packed id lists ------------------------------------------------------ */

void
lin_ids_pack (GByteArray *out, const gint64 *ids, guint n)
{
  g_byte_array_set_size (out, 0);
  gint64 prev = 0;
  for (guint i = 0; i < n; i++)
    {
      gint64 delta = ids[i] - prev;
      prev = ids[i];
      guint64 z = ((guint64) delta << 1) ^ (guint64) (delta >> 63);
      guint8 buf[10];
      guint k = 0;
      do
        {
          guint8 b = z & 0x7f;
          z >>= 7;
          buf[k++] = b | (z ? 0x80 : 0);
        }
      while (z);
      g_byte_array_append (out, buf, k);
    }
}

gboolean
lin_ids_unpack (const guint8 *data, gsize len, GArray *ids)
{
  g_array_set_size (ids, 0);
  gint64 prev = 0;
  gsize i = 0;
  while (i < len)
    {
      guint64 z = 0;
      for (guint shift = 0;; shift += 7)
        {
          if (i >= len || shift > 63)
            return FALSE;
          guint8 b = data[i++];
          z |= (guint64) (b & 0x7f) << shift;
          if (!(b & 0x80))
            break;
        }
      gint64 delta = (gint64) (z >> 1) ^ -(gint64) (z & 1);
      prev += delta;
      g_array_append_val (ids, prev);
    }
  return TRUE;
}
