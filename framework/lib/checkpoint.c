/* Signed notes and checkpoints, C2SP signed-note and tlog-checkpoint
 * (checkpoint.h). Everything here reads text a user may hand over: every
 * length is bounded, every line checked, and an error names the line. */
#include "checkpoint.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#include "digest.h"

G_DEFINE_QUARK (strand-checkpoint-error-quark, strand_checkpoint_error)

#define HLEN STRAND_MERKLE_HASH_LEN
#define PK_LEN 32
#define SIG_LEN 64
#define ID_LEN 4
#define NOTE_MAX (1024 * 1024) /* bytes in a note: room for many post-quantum cosignatures */
#define SIGNATURES_MAX 100     /* lines; the note specification asks for at least 16 */
#define KEY_FILE_MAX 4096
#define ALG_ED25519 0x01
#define ORIGIN_PREFIX "strand/ledger/"
#define EM_DASH_SPACE "\xe2\x80\x94 "

struct StrandNoteKey {
  char *name;
  guint8 id[ID_LEN];
  guint8 pk[PK_LEN];
};

typedef struct {
  char *name;
  guint8 id[ID_LEN];
  guint8 *sig; /* what follows the id */
  gsize sig_len;
} NoteSignature;

struct StrandCheckpoint {
  char *text;      /* the whole note, NUL-terminated */
  gsize body_len;  /* the signed text: up to and with its final newline */
  char *origin;
  guint64 size;
  guint8 root[HLEN];
  GPtrArray *signatures; /* NoteSignature */
};

/* ---- Encodings ---- */

static char *
b64_encode (const guint8 *data, gsize len)
{
  gsize n = sodium_base64_ENCODED_LEN (len, sodium_base64_VARIANT_ORIGINAL);
  char *out = g_malloc (n);
  sodium_bin2base64 (out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
  return out;
}

/* Strict base64 (RFC 4648 section 4, padded, canonical): decodes into a new
 * buffer; NULL when `text` is anything else. */
static guint8 *
b64_decode (const char *text, gsize len, gsize *out_len)
{
  gsize max = len / 4 * 3 + 3;
  g_autofree guint8 *out = g_malloc (max);
  const char *end = NULL;
  if (len == 0 || len % 4 != 0 ||
      sodium_base642bin (out, max, text, len, NULL, out_len, &end,
                         sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text + len)
    return NULL;
  g_autofree char *again = b64_encode (out, *out_len);
  if (strlen (again) != len || memcmp (again, text, len) != 0)
    return NULL;
  return g_steal_pointer (&out);
}

static void
key_id (const char *name, const guint8 pk[PK_LEN], guint8 id[ID_LEN])
{
  static const guint8 sep_alg[2] = { '\n', ALG_ED25519 };
  g_autoptr (StrandSha256) sha = strand_sha256_new ();
  guint8 digest[32];
  strand_sha256_update (sha, name, strlen (name));
  strand_sha256_update (sha, sep_alg, sizeof sep_alg);
  strand_sha256_update (sha, pk, PK_LEN);
  strand_sha256_finish (sha, digest);
  memcpy (id, digest, ID_LEN);
}

static guint32
id_value (const guint8 id[ID_LEN])
{
  return (guint32) id[0] << 24 | (guint32) id[1] << 16 | (guint32) id[2] << 8 | id[3];
}

/* A key name: non-empty, and neither Unicode spaces nor '+' (`name` is
 * valid UTF-8). */
static gboolean
valid_name (const char *name, gsize len)
{
  if (len == 0)
    return FALSE;
  for (const char *p = name; p < name + len; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c == '+' || g_unichar_isspace (c) || g_unichar_type (c) == G_UNICODE_SPACE_SEPARATOR)
        return FALSE;
    }
  return TRUE;
}

/* ---- Verifier keys ---- */

char *
strand_checkpoint_origin (const StrandKey *key)
{
  return g_strconcat (ORIGIN_PREFIX, strand_key_id (key), NULL);
}

static StrandNoteKey *
note_key_new (const char *name, const guint8 pk[PK_LEN])
{
  StrandNoteKey *k = g_new0 (StrandNoteKey, 1);
  k->name = g_strdup (name);
  memcpy (k->pk, pk, PK_LEN);
  key_id (name, pk, k->id);
  return k;
}

StrandNoteKey *
strand_note_key_from_host (const StrandKey *key)
{
  g_autofree char *origin = strand_checkpoint_origin (key);
  guint8 pk[PK_LEN];
  strand_key_public (key, pk);
  return note_key_new (origin, pk);
}

static gboolean
bad_key (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad_key (GError **error, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error_literal (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_BAD_KEY, message);
  return FALSE;
}

StrandNoteKey *
strand_note_key_parse (const char *vkey, GError **error)
{
  g_return_val_if_fail (vkey != NULL, NULL);
  const char *form = "a verifier key is NAME+KEY_ID+BASE64 (8 hex digits, then 0x01 and an "
                     "Ed25519 public key in base64)";
  gsize len = strlen (vkey);
  if (len > KEY_FILE_MAX || !g_utf8_validate (vkey, (gssize) len, NULL))
    return bad_key (error, "%s", form), NULL;
  /* The name has no '+'; the base64 may. */
  const char *plus1 = strchr (vkey, '+');
  const char *plus2 = plus1 ? strchr (plus1 + 1, '+') : NULL;
  if (plus2 == NULL || !valid_name (vkey, (gsize) (plus1 - vkey)) || plus2 - plus1 - 1 != 8)
    return bad_key (error, "%s", form), NULL;
  guint8 declared[ID_LEN];
  for (guint i = 0; i < ID_LEN; i++)
    {
      int hi = g_ascii_xdigit_value (plus1[1 + 2 * i]), lo = g_ascii_xdigit_value (plus1[2 + 2 * i]);
      if (hi < 0 || lo < 0)
        return bad_key (error, "%s", form), NULL;
      declared[i] = (guint8) (hi << 4 | lo);
    }
  gsize raw_len = 0;
  g_autofree guint8 *raw = b64_decode (plus2 + 1, strlen (plus2 + 1), &raw_len);
  if (raw == NULL || raw_len != 1 + PK_LEN || raw[0] != ALG_ED25519)
    return bad_key (error, "%s", form), NULL;
  g_autofree char *name = g_strndup (vkey, (gsize) (plus1 - vkey));
  g_autoptr (StrandNoteKey) k = note_key_new (name, raw + 1);
  if (memcmp (k->id, declared, ID_LEN) != 0)
    return bad_key (error, "the verifier key's id %08x is not the one of its name and key (%08x)",
                    id_value (declared), id_value (k->id)),
           NULL;
  return g_steal_pointer (&k);
}

StrandNoteKey *
strand_note_key_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_IO, "%s", local->message);
      return NULL;
    }
  if (len > KEY_FILE_MAX || memchr (text, '\0', len) != NULL)
    return bad_key (error, "%s is not a verifier key or a public key", path), NULL;
  g_strstrip (text);
  /* host.pub: 64 hex digits. */
  guint8 pk[PK_LEN];
  gsize bin_len = 0;
  const char *end = NULL;
  if (strlen (text) == 2 * PK_LEN &&
      sodium_hex2bin (pk, PK_LEN, text, 2 * PK_LEN, NULL, &bin_len, &end) == 0 &&
      bin_len == PK_LEN && end == text + 2 * PK_LEN)
    {
      g_autoptr (StrandKey) host = strand_key_from_public (pk);
      return strand_note_key_from_host (host);
    }
  StrandNoteKey *k = strand_note_key_parse (text, &local);
  if (k == NULL)
    g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_BAD_KEY,
                 "%s: %s, or a host.pub (64 hex digits)", path, local->message);
  return k;
}

void
strand_note_key_free (StrandNoteKey *key)
{
  if (key == NULL)
    return;
  g_free (key->name);
  g_free (key);
}

char *
strand_note_key_to_string (const StrandNoteKey *key)
{
  guint8 raw[1 + PK_LEN];
  raw[0] = ALG_ED25519;
  memcpy (raw + 1, key->pk, PK_LEN);
  g_autofree char *b64 = b64_encode (raw, sizeof raw);
  return g_strdup_printf ("%s+%08x+%s", key->name, id_value (key->id), b64);
}

const char *
strand_note_key_name (const StrandNoteKey *key)
{
  return key->name;
}

StrandKey *
strand_note_key_host_key (const StrandNoteKey *key)
{
  return strand_key_from_public (key->pk);
}

/* ---- Parsing ---- */

static void
signature_free (gpointer p)
{
  NoteSignature *s = p;
  g_free (s->name);
  g_free (s->sig);
  g_free (s);
}

void
strand_checkpoint_free (StrandCheckpoint *cp)
{
  if (cp == NULL)
    return;
  g_free (cp->text);
  g_free (cp->origin);
  if (cp->signatures != NULL)
    g_ptr_array_unref (cp->signatures);
  g_free (cp);
}

static gboolean
malformed (GError **error, const char *where, guint line, const char *format, ...)
    G_GNUC_PRINTF (4, 5);

static gboolean
malformed (GError **error, const char *where, guint line, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *raw = g_strdup_vprintf (format, ap);
  va_end (ap);
  /* A message may quote the note's bytes, which need not be UTF-8. */
  g_autofree char *message = g_utf8_make_valid (raw, -1);
  if (line > 0)
    g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_MALFORMED, "%s:%u: %s",
                 where, line, message);
  else
    g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_MALFORMED, "%s: %s",
                 where, message);
  return FALSE;
}

static guint
line_of (const char *text, gsize at)
{
  guint line = 1;
  for (gsize i = 0; i < at; i++)
    line += text[i] == '\n';
  return line;
}

/* One signature line (without its newline). */
static gboolean
parse_signature (StrandCheckpoint *cp, const char *line, gsize len, const char *where,
                 guint lineno, GError **error)
{
  gsize prefix = strlen (EM_DASH_SPACE);
  if (len < prefix || memcmp (line, EM_DASH_SPACE, prefix) != 0)
    return malformed (error, where, lineno,
                      "a signature line starts with an em dash (U+2014) and a space");
  const char *name = line + prefix;
  const char *space = memchr (name, ' ', len - prefix);
  if (space == NULL || !valid_name (name, (gsize) (space - name)))
    return malformed (error, where, lineno,
                      "a signature line is '— NAME SIGNATURE', NAME without spaces or '+'");
  const char *b64 = space + 1;
  gsize b64_len = len - (gsize) (b64 - line);
  gsize raw_len = 0;
  g_autofree guint8 *raw = b64_decode (b64, b64_len, &raw_len);
  if (raw == NULL || raw_len <= ID_LEN)
    return malformed (error, where, lineno,
                      "the signature is not base64 of a 4-byte key id and a signature");
  NoteSignature *s = g_new0 (NoteSignature, 1);
  s->name = g_strndup (name, (gsize) (space - name));
  memcpy (s->id, raw, ID_LEN);
  s->sig_len = raw_len - ID_LEN;
  s->sig = g_memdup2 (raw + ID_LEN, s->sig_len);
  g_ptr_array_add (cp->signatures, s);
  return TRUE;
}

/* The note text: origin, size, root, then extension lines (kept in the
 * signed text, not interpreted). */
static gboolean
parse_body (StrandCheckpoint *cp, const char *where, GError **error)
{
  g_autofree char *body = g_strndup (cp->text, cp->body_len - 1); /* without the last newline */
  g_auto (GStrv) lines = g_strsplit (body, "\n", -1);
  guint n_lines = g_strv_length (lines);
  for (guint i = 0; i < n_lines; i++)
    if (lines[i][0] == '\0')
      return malformed (error, where, i + 1, "an empty line in the checkpoint text");
  if (n_lines < 3)
    return malformed (error, where, n_lines + 1,
                      "a checkpoint's text is three lines: origin, tree size, root hash");
  cp->origin = g_strdup (lines[0]);
  const char *size = lines[1];
  guint64 value = 0;
  gboolean digits = TRUE;
  for (const char *c = size; *c != '\0'; c++)
    digits = digits && g_ascii_isdigit (*c);
  if (!digits || (size[0] == '0' && size[1] != '\0') || strlen (size) > 20 ||
      !g_ascii_string_to_unsigned (size, 10, 0, G_MAXUINT64, &value, NULL))
    return malformed (error, where, 2,
                      "the tree size is a decimal number without leading zeros, not '%.40s'", size);
  cp->size = value;
  gsize root_len = 0;
  g_autofree guint8 *root = b64_decode (lines[2], strlen (lines[2]), &root_len);
  if (root == NULL || root_len != HLEN)
    return malformed (error, where, 3, "the root hash is base64 of 32 bytes");
  memcpy (cp->root, root, HLEN);
  return TRUE;
}

StrandCheckpoint *
strand_checkpoint_parse (const char *text, gsize len, const char *where, GError **error)
{
  g_return_val_if_fail (text != NULL || len == 0, NULL);
  if (where == NULL)
    where = "checkpoint";
  if (len > NOTE_MAX)
    return malformed (error, where, 0, "%" G_GSIZE_FORMAT " bytes: a checkpoint is at most %d",
                      len, NOTE_MAX),
           NULL;
  const char *bad_utf8 = NULL;
  if (!g_utf8_validate_len (text, len, &bad_utf8))
    return malformed (error, where, line_of (text, (gsize) (bad_utf8 - text)), "not UTF-8"), NULL;
  for (gsize i = 0; i < len; i++)
    if ((guchar) text[i] < 0x20 && text[i] != '\n')
      return malformed (error, where, line_of (text, i),
                        "control character 0x%02x: a note has none but newlines",
                        (guchar) text[i]),
             NULL;
  /* The text ends at the last blank line. */
  gsize blank = 0;
  for (gsize i = len; i-- > 1;)
    if (text[i] == '\n' && text[i - 1] == '\n')
      {
        blank = i;
        break;
      }
  if (blank == 0)
    return malformed (error, where, 0,
                      "no blank line between the checkpoint text and its signatures"),
           NULL;

  g_autoptr (StrandCheckpoint) cp = g_new0 (StrandCheckpoint, 1);
  cp->text = g_strndup (text, len);
  cp->body_len = blank;
  cp->signatures = g_ptr_array_new_with_free_func (signature_free);
  if (!parse_body (cp, where, error))
    return NULL;

  guint lineno = line_of (text, blank) + 1;
  gsize at = blank + 1;
  if (at == len)
    return malformed (error, where, lineno, "no signature line after the blank line"), NULL;
  while (at < len)
    {
      const char *nl = memchr (text + at, '\n', len - at);
      if (nl == NULL)
        return malformed (error, where, lineno, "the last signature line has no newline"), NULL;
      if (cp->signatures->len == SIGNATURES_MAX)
        return malformed (error, where, lineno, "more than %d signatures", SIGNATURES_MAX), NULL;
      if (!parse_signature (cp, text + at, (gsize) (nl - (text + at)), where, lineno, error))
        return NULL;
      at = (gsize) (nl - text) + 1;
      lineno++;
    }
  return g_steal_pointer (&cp);
}

StrandCheckpoint *
strand_checkpoint_load (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  /* The size first: a huge file is refused without reading it. */
  GStatBuf st;
  if (g_stat (path, &st) == 0 && st.st_size > NOTE_MAX)
    return malformed (error, path, 0, "%" G_GINT64_FORMAT " bytes: a checkpoint is at most %d",
                      (gint64) st.st_size, NOTE_MAX),
           NULL;
  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_IO, "%s", local->message);
      return NULL;
    }
  return strand_checkpoint_parse (text, len, path, error);
}

/* ---- Signing and verifying ---- */

StrandCheckpoint *
strand_checkpoint_sign (const StrandKey *key, guint64 size, const guint8 root[HLEN])
{
  g_autoptr (StrandNoteKey) nk = strand_note_key_from_host (key);
  g_autofree char *root_b64 = b64_encode (root, HLEN);
  g_autoptr (GString) text = g_string_new (NULL);
  g_string_append_printf (text, "%s\n%" G_GUINT64_FORMAT "\n%s\n", nk->name, size, root_b64);
  guint8 blob[ID_LEN + SIG_LEN];
  memcpy (blob, nk->id, ID_LEN);
  if (!strand_key_sign (key, text->str, text->len, blob + ID_LEN))
    return NULL;
  g_autofree char *sig = b64_encode (blob, sizeof blob);
  g_string_append_printf (text, "\n" EM_DASH_SPACE "%s %s\n", nk->name, sig);
  g_autoptr (GError) error = NULL;
  StrandCheckpoint *cp = strand_checkpoint_parse (text->str, text->len, "signed checkpoint", &error);
  if (cp == NULL)
    g_error ("a checkpoint signed here does not parse: %s", error->message);
  return cp;
}

gboolean
strand_checkpoint_verify (const StrandCheckpoint *cp, const StrandNoteKey *key, GError **error)
{
  if (strcmp (cp->origin, key->name) != 0)
    {
      g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_WRONG_LOG,
                   "the checkpoint is of log '%s', the key of log '%s'", cp->origin, key->name);
      return FALSE;
    }
  gboolean verified = FALSE;
  for (guint i = 0; i < cp->signatures->len; i++)
    {
      const NoteSignature *s = cp->signatures->pdata[i];
      if (strcmp (s->name, key->name) != 0 || memcmp (s->id, key->id, ID_LEN) != 0)
        continue; /* another key's: a witness, or a rotated key */
      if (s->sig_len != SIG_LEN ||
          crypto_sign_verify_detached (s->sig, (const guint8 *) cp->text, cp->body_len, key->pk) != 0)
        {
          g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_BAD_SIGNATURE,
                       "the signature by %s (key id %08x) does not verify: the checkpoint was "
                       "changed after it was signed",
                       key->name, id_value (key->id));
          return FALSE;
        }
      verified = TRUE;
    }
  if (!verified)
    g_set_error (error, STRAND_CHECKPOINT_ERROR, STRAND_CHECKPOINT_ERROR_UNSIGNED,
                 "no signature by %s (key id %08x)", key->name, id_value (key->id));
  return verified;
}

const char *
strand_checkpoint_get_origin (const StrandCheckpoint *cp)
{
  return cp->origin;
}

guint64
strand_checkpoint_size (const StrandCheckpoint *cp)
{
  return cp->size;
}

const guint8 *
strand_checkpoint_root (const StrandCheckpoint *cp)
{
  return cp->root;
}

const char *
strand_checkpoint_text (const StrandCheckpoint *cp)
{
  return cp->text;
}

guint
strand_checkpoint_n_signatures (const StrandCheckpoint *cp)
{
  return cp->signatures->len;
}
