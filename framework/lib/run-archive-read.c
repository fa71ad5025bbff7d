/* Reading and checking a run's archive offline (archive.h). Nothing in the
 * archive is trusted until it has been checked, and nothing is written
 * outside the extraction directory. */
#include "run-archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run-archive-private.h"
#include "checkpoint.h"
#include "digest.h"
#include "fs-util.h"
#include "merkle-proof.h"
#include "store-tree.h"

#define TAG_FILE_MAX (256u << 20) /* records of a very large run fit easily */

gboolean
strand_archive_path_is_safe (const char *path)
{
  if (path == NULL || *path == '\0' || *path == '/' || strlen (path) > 4096 ||
      !g_utf8_validate (path, -1, NULL))
    return FALSE;
  for (const char *c = path; *c; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f || *c == '\\')
      return FALSE;
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  for (char **p = parts; *p; p++)
    if (**p == '\0' || strcmp (*p, ".") == 0 || strcmp (*p, "..") == 0)
      return FALSE;
  return TRUE;
}

void
strand_archive_report_clear (StrandArchiveReport *report)
{
  g_clear_pointer (&report->run_id, g_free);
  g_clear_pointer (&report->key_id, g_free);
  g_clear_pointer (&report->extras, g_ptr_array_unref);
}

typedef struct {
  char sha256[65];
  char md5[33];
  guint64 size;
  GBytes *bytes; /* tag files only */
} Seen;

static void
seen_free (gpointer p)
{
  Seen *s = p;
  g_clear_pointer (&s->bytes, g_bytes_unref);
  g_free (s);
}

typedef struct {
  const StrandArchiveLimits *limits;
  const char *extract_dir;
  GPtrArray *problems;
  char *top;
  GHashTable *files; /* relative path -> Seen */
  GHashTable *dirs;  /* relative path -> TRUE */
  guint entries;
  guint64 total;
} Reader;

static void G_GNUC_PRINTF (4, 5)
problem (Reader *r, const char *code, const char *where, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  strand_problems_add (r->problems, FALSE, code, where, "%s", msg);
}

static gboolean
remove_tree (const char *path)
{
  struct stat st;
  if (lstat (path, &st) != 0)
    return errno == ENOENT;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      return g_rmdir (path) == 0;
    }
  return g_unlink (path) == 0;
}

static gboolean
make_parents (Reader *r, const char *rel, const char *where)
{
  g_autofree char *dir = g_path_get_dirname (rel);
  if (strcmp (dir, ".") == 0 || g_hash_table_contains (r->dirs, dir))
    return TRUE;
  if (!make_parents (r, dir, where))
    return FALSE;
  g_autofree char *abs = g_build_filename (r->extract_dir, dir, NULL);
  if (g_mkdir (abs, 0750) != 0 && errno != EEXIST)
    {
      problem (r, "unwritable", where, "cannot create %s: %s", abs, g_strerror (errno));
      return FALSE;
    }
  g_hash_table_add (r->dirs, g_strdup (dir));
  return TRUE;
}

/* One entry: checked before a byte of it is used. FALSE stops the read. */
static gboolean
read_entry (Reader *r, struct archive *a, struct archive_entry *e)
{
  const char *raw = archive_entry_pathname (e);
  g_autofree char *name = g_strdup (raw ? raw : "");
  gsize len = strlen (name);
  while (len > 1 && name[len - 1] == '/')
    name[--len] = '\0';
  const char *where = *name ? name : "(unnamed entry)";
  if (++r->entries > r->limits->max_entries)
    {
      problem (r, "hostile-entry", where, "more than %u entries", r->limits->max_entries);
      return FALSE;
    }
  if (!strand_archive_path_is_safe (name))
    {
      problem (r, "hostile-entry", where, "an absolute path, '..', or a name that is not a plain "
                                          "relative path: refused");
      return FALSE;
    }
  mode_t type = archive_entry_filetype (e);
  if (archive_entry_hardlink (e) != NULL || type == AE_IFLNK)
    {
      problem (r, "hostile-entry", where, "a link: archives of runs hold none, refused");
      return FALSE;
    }
  if (type != AE_IFREG && type != AE_IFDIR)
    {
      problem (r, "hostile-entry", where, "a device, FIFO or socket: refused");
      return FALSE;
    }
  const char *slash = strchr (name, '/');
  g_autofree char *top = slash ? g_strndup (name, (gsize) (slash - name)) : g_strdup (name);
  if (r->top == NULL)
    r->top = g_strdup (top);
  else if (strcmp (r->top, top) != 0)
    {
      problem (r, "hostile-entry", where, "outside the archive's one top directory '%s'", r->top);
      return FALSE;
    }
  if (slash == NULL)
    {
      if (type != AE_IFDIR)
        {
          problem (r, "hostile-entry", where, "a file where the top directory belongs");
          return FALSE;
        }
      return TRUE;
    }
  const char *rel = slash + 1;
  if (g_hash_table_contains (r->files, rel))
    {
      problem (r, "hostile-entry", where, "appears twice");
      return FALSE;
    }
  if (r->extract_dir && !make_parents (r, rel, where))
    return FALSE;
  if (type == AE_IFDIR)
    {
      if (r->extract_dir && !g_hash_table_contains (r->dirs, rel))
        {
          g_autofree char *abs = g_build_filename (r->extract_dir, rel, NULL);
          if (g_mkdir (abs, 0750) != 0 && errno != EEXIST)
            {
              problem (r, "unwritable", where, "cannot create %s: %s", abs, g_strerror (errno));
              return FALSE;
            }
        }
      g_hash_table_add (r->dirs, g_strdup (rel));
      return TRUE;
    }
  if (g_hash_table_contains (r->dirs, rel))
    {
      problem (r, "hostile-entry", where, "a file where a directory was");
      return FALSE;
    }
  if (archive_entry_size_is_set (e) && (guint64) archive_entry_size (e) > r->limits->max_entry_bytes)
    {
      problem (r, "hostile-entry", where, "%" G_GINT64_FORMAT " bytes, over the limit of %"
               G_GUINT64_FORMAT, (gint64) archive_entry_size (e), r->limits->max_entry_bytes);
      return FALSE;
    }
  gboolean payload = g_str_has_prefix (rel, "data/");
  int fd = -1;
  if (r->extract_dir)
    {
      g_autofree char *abs = g_build_filename (r->extract_dir, rel, NULL);
      mode_t mode = (archive_entry_perm (e) & 0111) ? 0755 : 0644;
      fd = open (abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd < 0)
        {
          problem (r, "unwritable", where, "cannot create %s: %s", abs, g_strerror (errno));
          return FALSE;
        }
    }
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GChecksum) md5 = payload ? g_checksum_new (G_CHECKSUM_MD5) : NULL;
  g_autoptr (GByteArray) keep =
      payload && strcmp (rel, STRAND_ARCHIVE_CRATE) != 0 ? NULL : g_byte_array_new ();
  guint64 size = 0;
  char buf[65536];
  la_ssize_t n;
  gboolean ok = TRUE;
  while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
    {
      size += (guint64) n;
      r->total += (guint64) n;
      if (size > r->limits->max_entry_bytes || r->total > r->limits->max_total_bytes)
        {
          problem (r, "hostile-entry", where, "expands beyond the size limits (%" G_GUINT64_FORMAT
                   " bytes per entry, %" G_GUINT64_FORMAT " in all): refused",
                   r->limits->max_entry_bytes, r->limits->max_total_bytes);
          ok = FALSE;
          break;
        }
      g_checksum_update (sha, (const guchar *) buf, n);
      if (md5)
        g_checksum_update (md5, (const guchar *) buf, n);
      if (keep)
        {
          if (keep->len + (guint64) n > TAG_FILE_MAX)
            {
              problem (r, "hostile-entry", where, "a tag file over %u bytes", TAG_FILE_MAX);
              ok = FALSE;
              break;
            }
          g_byte_array_append (keep, (const guint8 *) buf, (guint) n);
        }
      int werr = fd >= 0 ? strand_write_all (fd, buf, (gsize) n, NULL) : 0;
      if (werr != 0)
        {
          problem (r, "unwritable", where, "cannot write: %s", g_strerror (werr));
          ok = FALSE;
          break;
        }
    }
  if (ok && n < 0)
    {
      problem (r, "damaged", where, "cannot be read: %s", archive_error_string (a));
      ok = FALSE;
    }
  if (fd >= 0 && close (fd) != 0 && ok)
    {
      problem (r, "unwritable", where, "cannot write: %s", g_strerror (errno));
      ok = FALSE;
    }
  if (!ok)
    return FALSE;
  Seen *s = g_new0 (Seen, 1);
  g_strlcpy (s->sha256, g_checksum_get_string (sha), sizeof s->sha256);
  if (md5)
    g_strlcpy (s->md5, g_checksum_get_string (md5), sizeof s->md5);
  s->size = size;
  if (keep)
    s->bytes = g_byte_array_free_to_bytes (g_steal_pointer (&keep));
  g_hash_table_insert (r->files, g_strdup (rel), s);
  return TRUE;
}

/* ---- the bag's own checks -------------------------------------------------- */

static GBytes *
tag_bytes (Reader *r, const char *rel)
{
  Seen *s = g_hash_table_lookup (r->files, rel);
  return s ? s->bytes : NULL;
}

/* A manifest: "HEX  PATH" per line. Each listed file must be there with that
 * digest, and each file `must_list` accepts must be listed. */
static void
check_manifest (Reader *r, const char *name, gboolean md5, gboolean (*must_list) (const char *rel))
{
  GBytes *bytes = tag_bytes (r, name);
  g_autofree char *where_file = g_strdup_printf ("%s/%s", r->top, name);
  if (bytes == NULL)
    {
      problem (r, "missing-manifest", where_file, "the archive has no %s", name);
      return;
    }
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autofree char *text = g_strndup (data, len);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  gsize hex_len = md5 ? 32 : 64;
  for (guint i = 0; lines[i]; i++)
    {
      if (lines[i][0] == '\0' && lines[i + 1] == NULL)
        break;
      g_autofree char *where = g_strdup_printf ("%s:%u", where_file, i + 1);
      const char *line = lines[i];
      if (strlen (line) < hex_len + 3 || line[hex_len] != ' ' || line[hex_len + 1] != ' ')
        {
          problem (r, "bad-manifest", where, "not a 'DIGEST  PATH' line");
          continue;
        }
      const char *rel = line + hex_len + 2;
      Seen *s = g_hash_table_lookup (r->files, rel);
      g_hash_table_add (listed, (gpointer) rel);
      if (s == NULL)
        problem (r, "missing-file", where, "%s is listed but not in the archive", rel);
      else if (strncmp (line, md5 ? s->md5 : s->sha256, hex_len) != 0)
        problem (r, "digest-mismatch", where, "%s: its %s is %s, the manifest says %.*s", rel,
                 md5 ? "MD5" : "SHA-256", md5 ? s->md5 : s->sha256, (int) hex_len, line);
    }
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, r->files);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (must_list (key) && !g_hash_table_contains (listed, key))
      {
        g_autofree char *where = g_strdup_printf ("%s/%s", r->top, (char *) key);
        problem (r, "unlisted-file", where, "in the archive but not in %s", name);
      }
}

static gboolean
is_payload (const char *rel)
{
  return g_str_has_prefix (rel, "data/");
}

static gboolean
is_tag (const char *rel)
{
  return !is_payload (rel) && strcmp (rel, "tagmanifest-sha256.txt") != 0;
}

static gboolean
is_fixed_tag (const char *rel)
{
  return strcmp (rel, "bagit.txt") == 0 || strcmp (rel, "bag-info.txt") == 0 ||
         strcmp (rel, "manifest-sha256.txt") == 0 || strcmp (rel, "manifest-md5.txt") == 0 ||
         strcmp (rel, "tagmanifest-sha256.txt") == 0 || strcmp (rel, "provenance/host.pub") == 0 ||
         strcmp (rel, "provenance/records.jsonl") == 0 ||
         strcmp (rel, "provenance/host.vkey") == 0 || strcmp (rel, "provenance/checkpoint") == 0 ||
         strcmp (rel, "provenance/inclusion-proof.json") == 0 ||
         (g_str_has_prefix (rel, "provenance/trees/") && g_str_has_suffix (rel, ".json"));
}

/* Every record verifies with the archive's key; every payload file is
 * something a record made, or a member of a directory a record made. */
static void
check_records (Reader *r, StrandArchiveReport *report)
{
  GBytes *pub = tag_bytes (r, "provenance/host.pub");
  GBytes *records = tag_bytes (r, "provenance/records.jsonl");
  g_autofree char *pub_where = g_strdup_printf ("%s/provenance/host.pub", r->top);
  g_autofree char *rec_where = g_strdup_printf ("%s/provenance/records.jsonl", r->top);
  if (pub == NULL || records == NULL)
    {
      problem (r, "missing-records", pub == NULL ? pub_where : rec_where,
               "the archive lacks its %s", pub == NULL ? "public key" : "records");
      return;
    }
  gsize len;
  const char *data = g_bytes_get_data (pub, &len);
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandKey) key = strand_key_from_public_hex (data, len, pub_where, &error);
  if (key == NULL)
    {
      problem (r, "bad-key", pub_where, "%s", error->message);
      return;
    }
  report->key_id = g_strdup (strand_key_id (key));
  g_autoptr (GHashTable) made = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  data = g_bytes_get_data (records, &len);
  const char *p = data, *end = data + len;
  for (guint line_no = 1; p < end; line_no++)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      gsize line_len = nl ? (gsize) (nl - p) : (gsize) (end - p);
      g_autofree char *where = g_strdup_printf ("%s:%u", rec_where, line_no);
      g_autofree char *line = g_strndup (p, line_len);
      g_clear_error (&error);
      guint64 seq = 0;
      g_autoptr (JsonNode) st = strand_record_open (line, line_len, key, &seq, NULL, &error);
      if (st == NULL)
        problem (r, "bad-record", where, "%s", error->message);
      else
        {
          report->records++;
          JsonArray *subjects = json_object_get_array_member (json_node_get_object (st), "subject");
          for (guint i = 0; subjects && i < json_array_get_length (subjects); i++)
            {
              JsonObject *s = json_array_get_object_element (subjects, i);
              JsonObject *d = s ? json_object_get_object_member (s, "digest") : NULL;
              const char *sha = d && json_object_has_member (d, "sha256")
                                    ? json_object_get_string_member (d, "sha256") : NULL;
              if (sha && strand_sha256_hex_is_valid (sha))
                g_hash_table_add (made, g_strdup (sha));
            }
        }
      p = nl ? nl + 1 : end;
    }
  /* Directories: a recorded manifest vouches for its members. */
  GHashTableIter it;
  gpointer key_rel, value;
  g_hash_table_iter_init (&it, r->files);
  while (g_hash_table_iter_next (&it, &key_rel, &value))
    {
      const char *rel = key_rel;
      Seen *s = value;
      if (!g_str_has_prefix (rel, "provenance/trees/") || !g_str_has_suffix (rel, ".json"))
        continue;
      g_autofree char *where = g_strdup_printf ("%s/%s", r->top, rel);
      g_autofree char *named = g_strndup (rel + strlen ("provenance/trees/"),
                                          strlen (rel) - strlen ("provenance/trees/") - 5);
      if (strcmp (named, s->sha256) != 0 || !g_hash_table_contains (made, s->sha256))
        {
          problem (r, "unrecorded-file", where, "a directory manifest no record names");
          continue;
        }
      const char *bytes = g_bytes_get_data (s->bytes, &len);
      g_clear_error (&error);
      g_autoptr (StrandDirTree) tree = strand_dir_tree_parse (bytes, len, &error);
      if (tree == NULL)
        {
          problem (r, "bad-tree", where, "%s", error->message);
          continue;
        }
      for (guint i = 0; i < tree->entries->len; i++)
        g_hash_table_add (made, g_strdup (((StrandDirEntry *) tree->entries->pdata[i])->sha256));
    }
  g_hash_table_iter_init (&it, r->files);
  while (g_hash_table_iter_next (&it, &key_rel, &value))
    if (is_payload (key_rel) && strcmp (key_rel, STRAND_ARCHIVE_CRATE) != 0 &&
        !g_hash_table_contains (made, ((Seen *) value)->sha256))
      {
        g_autofree char *where = g_strdup_printf ("%s/%s", r->top, (char *) key_rel);
        problem (r, "unrecorded-file", where, "no record in the archive made this file (%s)",
                 ((Seen *) value)->sha256);
      }
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static char *
bytes_text (GBytes *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  return g_strndup (data, len);
}

/* The signed checkpoint and the inclusion proof show that every archived
 * record is in the host's log as it stood: the proof verifies with the
 * archive's key against that checkpoint, and proves each record line. */
static void
check_proofs (Reader *r, StrandArchiveReport *report)
{
  GBytes *proof_bytes = tag_bytes (r, "provenance/inclusion-proof.json");
  GBytes *note = tag_bytes (r, "provenance/checkpoint");
  GBytes *records = tag_bytes (r, "provenance/records.jsonl");
  GBytes *pub = tag_bytes (r, "provenance/host.pub");
  g_autofree char *where = g_strdup_printf ("%s/provenance/inclusion-proof.json", r->top);
  if (proof_bytes == NULL || note == NULL)
    {
      problem (r, "missing-proof", where, "the archive has no %s",
               note == NULL ? "signed checkpoint" : "inclusion proof");
      return;
    }
  if (records == NULL || pub == NULL)
    return; /* reported by check_records */
  g_autoptr (GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (pub, &len);
  g_autoptr (StrandKey) host = strand_key_from_public_hex (data, len, "host.pub", NULL);
  g_autoptr (StrandNoteKey) key = host ? strand_note_key_from_host (host) : NULL;
  if (key == NULL)
    return; /* reported by check_records */
  g_autofree char *note_where = g_strdup_printf ("%s/provenance/checkpoint", r->top);
  data = g_bytes_get_data (note, &len);
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_parse (data, len, note_where, &error);
  if (cp == NULL || !strand_checkpoint_verify (cp, key, &error))
    {
      problem (r, "bad-checkpoint", note_where, "%s", error->message);
      return;
    }
  data = g_bytes_get_data (proof_bytes, &len);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize) len, &error))
    {
      problem (r, "bad-proof", where, "%s", error->message);
      return;
    }
  g_autoptr (GPtrArray) found = strand_problems_new ();
  StrandProofSummary summary = { 0 };
  strand_proof_verify (json_parser_get_root (parser), key, cp, found, &summary);
  for (guint i = 0; i < found->len; i++)
    {
      const StrandProblem *fp = found->pdata[i];
      problem (r, fp->code, where, "%s: %s", fp->where, fp->message);
    }
  if (found->len > 0)
    return;
  /* Every record the archive carries is one the proof proves. */
  g_autoptr (GHashTable) proven = g_hash_table_new (g_str_hash, g_str_equal);
  JsonObject *doc = json_node_get_object (json_parser_get_root (parser));
  JsonArray *inclusion = json_object_get_array_member (doc, "inclusion");
  for (guint i = 0; inclusion && i < json_array_get_length (inclusion); i++)
    {
      JsonObject *entry = json_array_get_object_element (inclusion, i);
      if (entry && json_object_has_member (entry, "record"))
        g_hash_table_add (proven, (gpointer) json_object_get_string_member (entry, "record"));
    }
  g_autofree char *text = bytes_text (records);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      if (lines[i][0] == '\0')
        continue;
      if (!g_hash_table_contains (proven, lines[i]))
        {
          g_autofree char *line_where = g_strdup_printf ("%s/provenance/records.jsonl:%u", r->top, i + 1);
          problem (r, "unproven-record", line_where,
                   "the inclusion proof does not show this record in the log");
        }
    }
  report->log_size = strand_checkpoint_size (cp);
}

/* The RO-Crate describes the bag's files: each File's sha256 is that file's,
 * each Dataset's (a directory output) a tree manifest the bag carries. */
static void
check_crate (Reader *r)
{
  GBytes *bytes = tag_bytes (r, STRAND_ARCHIVE_CRATE);
  g_autofree char *where = g_strdup_printf ("%s/%s", r->top, STRAND_ARCHIVE_CRATE);
  if (bytes == NULL)
    {
      problem (r, "missing-crate", where, "the archive has no RO-Crate metadata");
      return;
    }
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  JsonNode *root = json_parser_load_from_data (parser, data, (gssize) len, &error)
                       ? json_parser_get_root (parser) : NULL;
  JsonNode *graph = root && JSON_NODE_HOLDS_OBJECT (root)
                        ? json_object_get_member (json_node_get_object (root), "@graph") : NULL;
  if (graph == NULL || !JSON_NODE_HOLDS_ARRAY (graph))
    {
      problem (r, "bad-crate", where, "not RO-Crate metadata: %s",
               error ? error->message : "no @graph array");
      return;
    }
  JsonArray *items = json_node_get_array (graph);
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *n = json_array_get_element (items, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      JsonObject *o = json_node_get_object (n);
      JsonNode *idn = json_object_get_member (o, "@id");
      JsonNode *shan = json_object_get_member (o, "sha256");
      if (idn == NULL || shan == NULL || json_node_get_value_type (idn) != G_TYPE_STRING ||
          json_node_get_value_type (shan) != G_TYPE_STRING)
        continue;
      const char *id = json_node_get_string (idn);
      const char *sha = json_node_get_string (shan);
      if (*id == '#' || strchr (id, ':') != NULL)
        continue; /* described by digest or address, not part of the bag */
      g_autofree char *rel = g_strconcat ("data/", id, NULL);
      gsize rl = strlen (rel);
      if (rl > 5 && rel[rl - 1] == '/')
        {
          g_autofree char *tree = g_strdup_printf ("provenance/trees/%s.json", sha);
          if (tag_bytes (r, tree) == NULL)
            problem (r, "crate-mismatch", where, "directory %s: no tree %s in the bag", id, sha);
          continue;
        }
      Seen *s = g_hash_table_lookup (r->files, rel);
      if (s == NULL)
        problem (r, "crate-mismatch", where, "%s is described but not in the bag", id);
      else if (strcmp (s->sha256, sha) != 0)
        problem (r, "crate-mismatch", where, "%s: the crate says sha256 %s, the file is %s", id,
                 sha, s->sha256);
    }
}

gboolean
strand_archive_verify (const char *path, const char *extract_dir, const StrandArchiveLimits *limits,
                       StrandArchiveTagFunc tag_file, gpointer user_data,
                       StrandArchiveReport *report, GPtrArray *problems)
{
  StrandArchiveLimits l = limits ? *limits : (StrandArchiveLimits) { 0 };
  if (l.max_entry_bytes == 0)
    l.max_entry_bytes = G_GUINT64_CONSTANT (1) << 40;
  if (l.max_total_bytes == 0)
    l.max_total_bytes = G_GUINT64_CONSTANT (4) << 40;
  if (l.max_entries == 0)
    l.max_entries = 1000000;
  guint before = problems->len;
  report->extras = g_ptr_array_new_with_free_func (g_free);
  Reader r = {
    .limits = &l,
    .extract_dir = extract_dir,
    .problems = problems,
    .files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, seen_free),
    .dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
  };
  if (extract_dir && g_mkdir (extract_dir, 0750) != 0)
    {
      problem (&r, "unwritable", extract_dir, "cannot create the extraction directory: %s",
               g_strerror (errno));
      extract_dir = r.extract_dir = NULL;
      goto done;
    }
  struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  if (archive_read_open_filename (a, path, 1 << 16) != ARCHIVE_OK)
    problem (&r, "unreadable", path, "%s", archive_error_string (a));
  else
    {
      struct archive_entry *e = archive_entry_new ();
      int rc;
      while ((rc = archive_read_next_header2 (a, e)) == ARCHIVE_OK)
        if (!read_entry (&r, a, e))
          break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_EOF)
        problem (&r, "damaged", path, "%s", archive_error_string (a));
      archive_entry_free (e);
    }
  archive_read_free (a);
  if (problems->len == before && r.top == NULL)
    problem (&r, "empty", path, "the archive holds nothing");
  if (problems->len == before)
    {
      report->run_id = g_strdup (r.top);
      if (tag_bytes (&r, "bagit.txt") == NULL)
        problem (&r, "missing-manifest", path, "not a BagIt bag: no bagit.txt");
      check_manifest (&r, "manifest-sha256.txt", FALSE, is_payload);
      if (tag_bytes (&r, "manifest-md5.txt") != NULL)
        check_manifest (&r, "manifest-md5.txt", TRUE, is_payload);
      check_manifest (&r, "tagmanifest-sha256.txt", FALSE, is_tag);
      check_records (&r, report);
      check_proofs (&r, report);
      check_crate (&r);
      GHashTableIter it;
      gpointer rel, value;
      g_hash_table_iter_init (&it, r.files);
      while (g_hash_table_iter_next (&it, &rel, &value))
        {
          if (is_payload (rel))
            report->payload_files++;
          else if (!is_fixed_tag (rel))
            {
              g_ptr_array_add (report->extras, g_strdup (rel));
              if (tag_file)
                tag_file (rel, ((Seen *) value)->bytes, user_data);
            }
        }
      g_ptr_array_sort (report->extras, compare_strings);
    }
done:
  if (extract_dir && problems->len > before)
    remove_tree (extract_dir);
  g_free (r.top);
  g_hash_table_unref (r.files);
  g_hash_table_unref (r.dirs);
  return problems->len == before;
}
