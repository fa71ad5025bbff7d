/* Writing a run's archive (archive.h). */
#include "run-archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run-archive-private.h"
#include "clock.h"
#include "checkpoint.h"
#include "digest.h"
#include "export-rocrate.h"
#include "fs-util.h"
#include "merkle-proof.h"
#include "merkle-tree.h"
#include "record-build.h"
#include "store-tree.h"

G_DEFINE_QUARK (strand-archive-error-quark, strand_archive_error)

/* One file of the archive: from the store (`object`) or from memory. */
typedef struct {
  char *path;    /* under RUN/ */
  char *object;  /* sha256 of a store object, or NULL */
  GBytes *bytes; /* or the bytes */
  guint64 size;
  gboolean executable;
  gboolean dir;  /* an (empty) directory of a tree */
  char sha256[65];
  char md5[33];
} Entry;

static void
entry_free (gpointer p)
{
  Entry *e = p;
  if (e == NULL)
    return; /* moved elsewhere */
  g_free (e->path);
  g_free (e->object);
  g_clear_pointer (&e->bytes, g_bytes_unref);
  g_free (e);
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(Entry *const *) a)->path, (*(Entry *const *) b)->path);
}

typedef struct {
  StrandProvenance *prov;
  StrandStore *store;
  const char *run_id;
  GPtrArray *payload;     /* Entry under data/ */
  GPtrArray *dirs;        /* Entry: directories of trees */
  GPtrArray *tags;        /* Entry: every other file but the manifests */
  GHashTable *paths;      /* archive paths taken */
  GHashTable *seqs;       /* guint64 seq -> StrandProofRecord: records to include */
  GHashTable *named;      /* sha256 -> TRUE: what those records used or made */
  GHashTable *trees_seen; /* sha256 -> TRUE */
  GPtrArray *subjects;    /* char*: exported objects, for the export record */
  gint64 mtime;
} Plan;

static gboolean
add_payload_object (Plan *p, const char *path, const char *sha256, gboolean executable,
                    GError **error)
{
  if (!g_hash_table_add (p->paths, g_strdup (path)))
    return TRUE; /* the same output named twice (two attempts recorded it) */
  g_autofree char *object = strand_store_object_path (p->store, sha256);
  struct stat st;
  if (object == NULL || stat (object, &st) != 0)
    {
      g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_INTEGRITY,
                   "%s: object %s is not in the store", path, sha256);
      return FALSE;
    }
  Entry *e = g_new0 (Entry, 1);
  e->path = g_strdup (path);
  e->object = g_strdup (sha256);
  e->size = (guint64) st.st_size;
  e->executable = executable;
  g_ptr_array_add (p->payload, e);
  g_ptr_array_add (p->subjects, g_strdup (sha256));
  return TRUE;
}

static void
add_tag (Plan *p, const char *path, GBytes *bytes)
{
  Entry *e = g_new0 (Entry, 1);
  e->path = g_strdup (path);
  e->bytes = g_bytes_ref (bytes);
  e->size = g_bytes_get_size (bytes);
  g_ptr_array_add (p->tags, e);
}

/* An output: a file, or a tree expanded under its name. */
static gboolean
add_output (Plan *p, const char *dir, const char *sha256, GError **error)
{
  if (!strand_store_is_tree (p->store, sha256))
    return add_payload_object (p, dir, sha256, FALSE, error);
  g_autoptr (StrandDirTree) tree = strand_store_read_tree (p->store, sha256, error);
  if (tree == NULL)
    return FALSE;
  for (guint i = 0; i < tree->entries->len; i++)
    {
      const StrandDirEntry *te = tree->entries->pdata[i];
      g_autofree char *path = g_strconcat (dir, "/", te->path, NULL);
      if (!add_payload_object (p, path, te->sha256, te->executable, error))
        return FALSE;
    }
  /* Directories too, so empty ones come back on extraction. */
  for (guint i = 0; i < tree->dirs->len; i++)
    {
      Entry *e = g_new0 (Entry, 1);
      e->path = g_strconcat (dir, "/", (char *) tree->dirs->pdata[i], NULL);
      e->dir = TRUE;
      g_ptr_array_add (p->dirs, e);
    }
  if (g_hash_table_add (p->trees_seen, g_strdup (sha256)))
    {
      g_autofree char *manifest_path = strand_store_object_path (p->store, sha256);
      g_autofree char *data = NULL;
      gsize len = 0;
      if (!g_file_get_contents (manifest_path, &data, &len, error))
        return FALSE;
      g_autofree char *tag = g_strdup_printf ("provenance/trees/%s.json", sha256);
      g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&data), len);
      add_tag (p, tag, bytes);
      g_ptr_array_add (p->subjects, g_strdup (sha256));
    }
  return TRUE;
}

static const char *
member_string (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n) : NULL;
}

/* The records to include: the run's and those of everything upstream of it
 * (ingests of its inputs, runs that made them), from the lineage index. */
static gboolean
plan_records (Plan *p, GError **error)
{
  StrandIndex *index = strand_provenance_index (p->prov, error);
  if (index == NULL)
    return FALSE;
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonNode) lineage = strand_lineage (index, p->run_id, STRAND_LINEAGE_UP, -1, &local);
  JsonObject *root = lineage ? json_node_get_object (lineage) : NULL;
  if (root == NULL || g_strcmp0 (member_string (root, "matched"), "run") != 0)
    {
      g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_NOT_FOUND,
                   "no run '%s' in the store's records", p->run_id);
      return FALSE;
    }
  JsonArray *activities = json_object_get_array_member (root, "activities");
  for (guint i = 0; i < json_array_get_length (activities); i++)
    {
      JsonObject *a = json_array_get_object_element (activities, i);
      StrandProofRecord *rec = g_new0 (StrandProofRecord, 1);
      rec->seq = (guint64) json_object_get_int_member (a, "seq");
      const char *const lists[] = { "used", "generated" };
      for (guint k = 0; k < G_N_ELEMENTS (lists); k++)
        {
          JsonArray *list = json_object_get_array_member (a, lists[k]);
          for (guint j = 0; list && j < json_array_get_length (list); j++)
            g_hash_table_add (p->named, g_strdup (json_array_get_string_element (list, j)));
          if (list && json_array_get_length (list) > 0)
            *(k == 0 ? &rec->used : &rec->generated) = TRUE;
        }
      g_hash_table_insert (p->seqs, &rec->seq, rec);
      const char *finished = member_string (a, "finished");
      gint64 t;
      if (finished && strand_clock_parse_rfc3339 (finished, &t) && t / G_USEC_PER_SEC > p->mtime)
        p->mtime = t / G_USEC_PER_SEC;
    }
  return TRUE;
}

/* Replaces every "@id" equal to `from` by `to`, anywhere under `node`. */
static void
rename_id (JsonNode *node, const char *from, const char *to)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        rename_id (json_array_get_element (a, i), from, to);
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *o = json_node_get_object (node);
      if (g_strcmp0 (member_string (o, "@id"), from) == 0)
        json_object_set_string_member (o, "@id", to);
      g_autoptr (GList) members = json_object_get_members (o);
      for (GList *m = members; m; m = m->next)
        rename_id (json_object_get_member (o, m->data), from, to);
    }
}

/* The crate's root is the bag's data/ folder, so its files' ids lose the
 * "data/" their places start with; a directory output becomes a Dataset
 * ("dir/") whose sha256 stays the tree manifest's, which the bag carries. */
static void
crate_ids_for_bag (JsonNode *metadata, GHashTable *paths, GHashTable *trees)
{
  JsonArray *graph = json_object_get_array_member (json_node_get_object (metadata), "@graph");
  GHashTableIter it;
  gpointer sha, value;
  g_hash_table_iter_init (&it, paths);
  while (g_hash_table_iter_next (&it, &sha, &value))
    {
      const char *rel = value;
      gboolean tree = g_hash_table_contains (trees, sha);
      g_autofree char *to = g_strconcat (rel + strlen ("data/"), tree ? "/" : "", NULL);
      rename_id (metadata, rel, to);
      for (guint i = 0; tree && graph && i < json_array_get_length (graph); i++)
        {
          JsonObject *e = json_array_get_object_element (graph, i);
          if (g_strcmp0 (member_string (e, "@id"), to) != 0)
            continue;
          json_object_set_string_member (e, "@type", "Dataset");
          g_autofree char *what = g_strdup_printf (
              "A directory, stored as a tree; its sha256 is that of the tree's manifest, "
              "provenance/trees/%s.json in the bag", (char *) sha);
          json_object_set_string_member (e, "description", what);
        }
    }
}

/* What goes under data/: the run's RO-Crate (Workflow Run Crate) and the
 * files it describes, at the places the crate gives them. Raw inputs only
 * when asked; otherwise the crate describes them by digest. */
static gboolean
plan_payload (Plan *p, const StrandArchiveOptions *options, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (StrandRunRecords) run =
      strand_run_records_load (strand_provenance_dir (p->prov), p->run_id, &local);
  if (run == NULL)
    {
      g_set_error (error, STRAND_ARCHIVE_ERROR,
                   g_error_matches (local, STRAND_RUN_RECORDS_ERROR, STRAND_RUN_RECORDS_ERROR_NO_RUN)
                       ? STRAND_ARCHIVE_ERROR_NOT_FOUND : STRAND_ARCHIVE_ERROR_INTEGRITY,
                   "%s", local->message);
      return FALSE;
    }
  for (guint i = 0; !options->with_inputs && i < run->entities->len; i++)
    {
      StrandRunEntity *e = run->entities->pdata[i];
      if (e->generated_by == NULL)
        e->in_store = FALSE;
    }
  g_autoptr (GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (JsonNode) metadata = strand_export_rocrate_metadata (run, paths);
  g_autoptr (GList) shas = g_hash_table_get_keys (paths);
  shas = g_list_sort (shas, (GCompareFunc) strcmp);
  for (GList *l = shas; l; l = l->next)
    {
      const char *rel = g_hash_table_lookup (paths, l->data);
      if (!strand_archive_path_is_safe (rel) || !g_str_has_prefix (rel, "data/") ||
          strcmp (rel, STRAND_ARCHIVE_CRATE) == 0)
        {
          g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_FORMAT,
                       "the records name a file '%s' that cannot be a path in the archive", rel);
          return FALSE;
        }
      if (!add_output (p, rel, l->data, error))
        return FALSE;
    }
  crate_ids_for_bag (metadata, paths, p->trees_seen);
  /* An archive is a snapshot of the run as it ended: dated so, the same run
   * gives the same bytes whenever it is archived. */
  JsonArray *graph = json_object_get_array_member (json_node_get_object (metadata), "@graph");
  for (guint i = 0; graph && i < json_array_get_length (graph); i++)
    {
      JsonObject *e = json_array_get_object_element (graph, i);
      if (g_strcmp0 (member_string (e, "@id"), "./") == 0 && run->finished_us > 0)
        {
          g_autofree char *when = strand_clock_format_rfc3339 (run->finished_us);
          json_object_set_string_member (e, "datePublished", when);
        }
    }
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, metadata);
  gsize len = 0;
  char *text = json_generator_to_data (gen, &len);
  Entry *e = g_new0 (Entry, 1);
  e->path = g_strdup (STRAND_ARCHIVE_CRATE);
  e->bytes = g_bytes_new_take (text, len);
  e->size = len;
  g_ptr_array_add (p->payload, e);
  return TRUE;
}

typedef struct {
  GHashTable *seqs;
  GString *lines;
  guint count;
} Collect;

static gboolean
collect_line (const char *line, gsize len, guint64 seq, const char *hash, guint64 offset,
              gpointer user_data)
{
  Collect *c = user_data;
  if (g_hash_table_contains (c->seqs, &seq))
    {
      g_string_append_len (c->lines, line, (gssize) len);
      g_string_append_c (c->lines, '\n');
      c->count++;
    }
  return TRUE;
}

/* ---- writing -------------------------------------------------------------- */

typedef struct {
  struct archive *a;
  GHashTable *dirs; /* directories already written */
  const char *top;
  gint64 mtime;
} Writer;

static gboolean
archive_failed (struct archive *a, const char *what, GError **error)
{
  g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_IO, "%s: %s", what,
               archive_error_string (a) ? archive_error_string (a) : "unknown error");
  return FALSE;
}

static gboolean
write_header (Writer *w, const char *path, gboolean dir, guint64 size, gboolean executable,
              GError **error)
{
  g_autofree char *full = g_strconcat (w->top, "/", path, NULL);
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, full);
  archive_entry_set_filetype (e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm (e, dir || executable ? 0755 : 0644);
  archive_entry_set_size (e, dir ? 0 : (la_int64_t) size);
  archive_entry_set_mtime (e, w->mtime, 0);
  int rc = archive_write_header (w->a, e);
  archive_entry_free (e);
  return rc == ARCHIVE_OK || archive_failed (w->a, full, error);
}

/* Directory entries first, parents before children, once each: empty
 * directories of a tree survive and extractors need not guess modes. */
static gboolean
write_parents (Writer *w, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  if (strcmp (dir, ".") == 0 || g_hash_table_contains (w->dirs, dir))
    return TRUE;
  if (!write_parents (w, dir, error))
    return FALSE;
  g_hash_table_add (w->dirs, g_strdup (dir));
  return write_header (w, dir, TRUE, 0, FALSE, error);
}

static gboolean
write_entry (Writer *w, StrandStore *store, Entry *e, GError **error)
{
  if (!write_parents (w, e->path, error) || !write_header (w, e->path, FALSE, e->size, e->executable, error))
    return FALSE;
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr (GChecksum) md5 = g_checksum_new (G_CHECKSUM_MD5);
  if (e->bytes)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (e->bytes, &len);
      g_checksum_update (sha, data, (gssize) len);
      g_checksum_update (md5, data, (gssize) len);
      if (len > 0 && archive_write_data (w->a, data, len) != (la_ssize_t) len)
        return archive_failed (w->a, e->path, error);
    }
  else
    {
      g_autofree char *object = strand_store_object_path (store, e->object);
      int fd = open (object, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          int saved = errno;
          g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_IO, "%s: %s", object,
                       g_strerror (saved));
          return FALSE;
        }
      g_autofree guint8 *buf = g_malloc (1 << 20);
      guint64 total = 0;
      gssize n;
      while ((n = strand_read_full (fd, buf, 1 << 20)) > 0)
        {
          g_checksum_update (sha, buf, n);
          g_checksum_update (md5, buf, n);
          total += (guint64) n;
          if (archive_write_data (w->a, buf, (size_t) n) != n)
            {
              close (fd);
              return archive_failed (w->a, e->path, error);
            }
          if (n < (1 << 20))
            break;
        }
      close (fd);
      if (n < 0 || total != e->size)
        {
          g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_IO,
                       "%s: object %s changed size while it was archived", e->path, e->object);
          return FALSE;
        }
    }
  g_strlcpy (e->sha256, g_checksum_get_string (sha), sizeof e->sha256);
  g_strlcpy (e->md5, g_checksum_get_string (md5), sizeof e->md5);
  /* Never archive a damaged object as if it were the recorded one. */
  if (e->object && strcmp (e->sha256, e->object) != 0)
    {
      g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_INTEGRITY,
                   "%s: object %s in the store is damaged (its bytes hash to %s)", e->path,
                   e->object, e->sha256);
      return FALSE;
    }
  return TRUE;
}

static int
strcmp_ptr (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static GBytes *
manifest (GPtrArray *entries, gboolean md5)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = entries->pdata[i];
      g_string_append_printf (s, "%s  %s\n", md5 ? e->md5 : e->sha256, e->path);
    }
  return g_string_free_to_bytes (s);
}

static gboolean
write_memory (Writer *w, GPtrArray *done, const char *path, GBytes *bytes, GError **error)
{
  Entry *e = g_new0 (Entry, 1);
  e->path = g_strdup (path);
  e->bytes = g_bytes_ref (bytes);
  e->size = g_bytes_get_size (bytes);
  g_ptr_array_add (done, e);
  return write_entry (w, NULL, e, error);
}

static gboolean
file_sha256 (const char *path, char out[65], GError **error)
{
  g_autoptr (GMappedFile) map = g_mapped_file_new (path, FALSE, error);
  if (map == NULL)
    return FALSE;
  g_autofree char *hex = g_compute_checksum_for_data (
      G_CHECKSUM_SHA256, (const guchar *) g_mapped_file_get_contents (map), g_mapped_file_get_length (map));
  g_strlcpy (out, hex, 65);
  return TRUE;
}

/* Records the export: no data leaves the store unrecorded. */
static gboolean
record_export (StrandProvenance *prov, Plan *p, const char *out_path, const char *archive_sha256,
               GError **error)
{
  g_autoptr (GArray) subjects = g_array_new (FALSE, FALSE, sizeof (StrandRecordFile));
  g_ptr_array_sort (p->subjects, (GCompareFunc) strcmp_ptr);
  for (guint i = 0; i < p->subjects->len; i++)
    {
      if (i > 0 && strcmp (p->subjects->pdata[i], p->subjects->pdata[i - 1]) == 0)
        continue;
      StrandRecordFile f = { NULL, p->subjects->pdata[i], NULL };
      g_array_append_val (subjects, f);
    }
  g_autofree char *abs = g_canonicalize_filename (out_path, NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "run");
  json_builder_add_string_value (b, p->run_id);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, abs);
  json_builder_set_member_name (b, "archive_sha256");
  json_builder_add_string_value (b, archive_sha256);
  json_builder_set_member_name (b, "operator");
  json_builder_add_string_value (b, strand_operator_name ());
  json_builder_end_object (b);
  g_autoptr (JsonNode) details = json_builder_get_root (b);
  StrandEventFacts facts = {
    .event = "archive",
    .time_us = strand_clock_now_us (),
    .details = details,
    .subjects = (const StrandRecordFile *) subjects->data,
    .n_subjects = subjects->len,
  };
  g_autoptr (JsonNode) statement = strand_statement_event (&facts);
  return strand_provenance_record (prov, statement, error);
}

static int
compare_seq (gconstpointer a, gconstpointer b)
{
  guint64 x = ((const StrandProofRecord *) a)->seq, y = ((const StrandProofRecord *) b)->seq;
  return x < y ? -1 : x > y;
}

/* A checkpoint of the log as it stood at the run's last record, and the
 * inclusion proof of every archived record in it: that the records are the
 * log's, for someone who holds only the archive and the host's key. The
 * checkpoint is always the one at that size, so archives stay
 * reproducible. */
static gboolean
add_proofs (StrandProvenance *prov, Plan *p, GError **error)
{
  g_autoptr (GArray) records = g_array_new (FALSE, FALSE, sizeof (StrandProofRecord));
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, p->seqs);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_array_append_vals (records, value, 1);
  g_array_sort (records, compare_seq);
  if (records->len == 0)
    return TRUE;
  guint64 size = g_array_index (records, StrandProofRecord, records->len - 1).seq;
  const char *store_dir = strand_provenance_dir (prov);
  g_autoptr (StrandTree) tree =
      strand_tree_open_readonly (strand_ledger_path (strand_provenance_ledger (prov)), error);
  if (tree == NULL)
    return FALSE;
  g_autoptr (StrandCheckpoint) cp = strand_checkpoint_find (store_dir, size, error);
  if (cp == NULL && (error == NULL || *error == NULL))
    cp = strand_checkpoint_make (store_dir, tree, size, error);
  if (cp == NULL || !strand_checkpoint_check_tree (cp, tree, error))
    return FALSE;
  g_autoptr (GPtrArray) subjects = g_ptr_array_new ();
  g_autoptr (GList) named = g_hash_table_get_keys (p->named);
  named = g_list_sort (named, (GCompareFunc) strcmp);
  for (GList *l = named; l; l = l->next)
    g_ptr_array_add (subjects, l->data);
  g_ptr_array_add (subjects, NULL);
  g_autoptr (JsonNode) proof =
      strand_proof_inclusion (tree, cp, p->run_id, (const char *const *) subjects->pdata,
                              (const StrandProofRecord *) records->data, records->len, error);
  if (proof == NULL)
    return FALSE;
  g_autoptr (StrandNoteKey) vkey = strand_checkpoint_store_key (store_dir, error);
  if (vkey == NULL)
    return FALSE;
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, proof);
  gsize len = 0;
  char *text = json_generator_to_data (gen, &len);
  g_autoptr (GBytes) proof_bytes = g_bytes_new_take (text, len);
  add_tag (p, "provenance/inclusion-proof.json", proof_bytes);
  const char *note = strand_checkpoint_text (cp);
  g_autoptr (GBytes) note_bytes = g_bytes_new (note, strlen (note));
  add_tag (p, "provenance/checkpoint", note_bytes);
  g_autofree char *vkey_line = strand_note_key_to_string (vkey);
  g_autofree char *vkey_text = g_strconcat (vkey_line, "\n", NULL);
  g_autoptr (GBytes) vkey_bytes = g_bytes_new (vkey_text, strlen (vkey_text));
  add_tag (p, "provenance/host.vkey", vkey_bytes);
  return TRUE;
}

/* Writes the bag: bagit.txt and bag-info.txt, the payload, the tag files,
 * the manifests, and last the tag manifest that covers them. */
static gboolean
write_bag (Writer *w, Plan *p, const char *tmp, GError **error)
{
  guint64 payload_bytes = 0;
  for (guint i = 0; i < p->payload->len; i++)
    payload_bytes += ((Entry *) p->payload->pdata[i])->size;
  g_autoptr (GDateTime) when = g_date_time_new_from_unix_utc (w->mtime);
  g_autofree char *date = g_date_time_format (when, "%Y-%m-%d");
  g_autoptr (GPtrArray) done_tags = g_ptr_array_new_with_free_func (entry_free);

  w->a = archive_write_new ();
  if (archive_write_add_filter_zstd (w->a) != ARCHIVE_OK ||
      archive_write_set_format_pax_restricted (w->a) != ARCHIVE_OK ||
      archive_write_open_filename (w->a, tmp) != ARCHIVE_OK)
    return archive_failed (w->a, tmp, error);
  static const char bagit_text[] = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
  g_autoptr (GBytes) bagit = g_bytes_new_static (bagit_text, sizeof bagit_text - 1);
  g_autofree char *info_text = g_strdup_printf (
      "Bagging-Date: %s\nExternal-Identifier: %s\nExternal-Description: outputs and signed "
      "provenance records of a Strand run\nPayload-Oxum: %" G_GUINT64_FORMAT ".%u\n",
      date, p->run_id, payload_bytes, p->payload->len);
  g_autoptr (GBytes) info = g_bytes_new (info_text, strlen (info_text));
  if (!write_memory (w, done_tags, "bagit.txt", bagit, error) ||
      !write_memory (w, done_tags, "bag-info.txt", info, error))
    return FALSE;
  g_ptr_array_sort (p->dirs, compare_entries);
  for (guint i = 0; i < p->dirs->len; i++)
    {
      Entry *d = p->dirs->pdata[i];
      if (g_hash_table_contains (w->dirs, d->path))
        continue;
      if (!write_parents (w, d->path, error))
        return FALSE;
      g_hash_table_add (w->dirs, g_strdup (d->path));
      if (!write_header (w, d->path, TRUE, 0, FALSE, error))
        return FALSE;
    }
  for (guint i = 0; i < p->payload->len; i++)
    if (!write_entry (w, p->store, p->payload->pdata[i], error))
      return FALSE;
  for (guint i = 0; i < p->tags->len; i++)
    if (!write_entry (w, NULL, p->tags->pdata[i], error))
      return FALSE;
  g_autoptr (GBytes) md5_manifest = manifest (p->payload, TRUE);
  g_autoptr (GBytes) sha_manifest = manifest (p->payload, FALSE);
  if (!write_memory (w, done_tags, "manifest-md5.txt", md5_manifest, error) ||
      !write_memory (w, done_tags, "manifest-sha256.txt", sha_manifest, error))
    return FALSE;
  for (guint i = 0; i < p->tags->len; i++)
    g_ptr_array_add (done_tags, g_steal_pointer (&p->tags->pdata[i]));
  g_ptr_array_set_size (p->tags, 0);
  g_ptr_array_sort (done_tags, compare_entries);
  g_autoptr (GBytes) tag_manifest = manifest (done_tags, FALSE);
  g_autoptr (GPtrArray) last = g_ptr_array_new_with_free_func (entry_free);
  if (!write_memory (w, last, "tagmanifest-sha256.txt", tag_manifest, error))
    return FALSE;
  if (archive_write_close (w->a) != ARCHIVE_OK)
    return archive_failed (w->a, tmp, error);
  int fd = open (tmp, O_RDONLY | O_CLOEXEC);
  gboolean synced = fd >= 0 && fsync (fd) == 0;
  int saved = errno;
  if (fd >= 0)
    close (fd);
  if (!synced)
    {
      g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_IO, "cannot write %s: %s",
                   tmp, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static gboolean
archive_run (StrandProvenance *prov, Plan *p, Writer *w, const char *out_path, const char *tmp,
             const StrandArchiveOptions *options, StrandArchiveSummary *summary, GError **error)
{
  if (!plan_records (p, error) || !plan_payload (p, options, error))
    return FALSE;
  Collect c = { p->seqs, g_string_new (NULL), 0 };
  gboolean read = strand_ledger_read (strand_ledger_path (strand_provenance_ledger (prov)), 0,
                                      collect_line, &c, error);
  g_autoptr (GBytes) records = g_string_free_to_bytes (c.lines);
  if (!read)
    return FALSE;
  g_ptr_array_sort (p->payload, compare_entries);

  g_autofree char *pub_path = g_build_filename (strand_provenance_dir (prov), "keys", "host.pub", NULL);
  g_autofree char *pub = NULL;
  gsize pub_len = 0;
  if (!g_file_get_contents (pub_path, &pub, &pub_len, error))
    return FALSE;
  g_autoptr (GBytes) pub_bytes = g_bytes_new (pub, pub_len);
  add_tag (p, "provenance/host.pub", pub_bytes);
  add_tag (p, "provenance/records.jsonl", records);
  if (!add_proofs (prov, p, error))
    return FALSE;
  for (guint i = 0; i < options->n_extras; i++)
    {
      if (!strand_archive_path_is_safe (options->extras[i].path))
        {
          g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_FORMAT,
                       "'%s' cannot be an archive path", options->extras[i].path);
          return FALSE;
        }
      add_tag (p, options->extras[i].path, options->extras[i].bytes);
    }
  g_ptr_array_sort (p->tags, compare_entries);
  w->mtime = p->mtime ? p->mtime : strand_clock_now_us () / G_USEC_PER_SEC;

  if (!write_bag (w, p, tmp, error))
    return FALSE;
  if (g_rename (tmp, out_path) != 0)
    {
      int saved = errno;
      g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_IO, "cannot write %s: %s",
                   out_path, g_strerror (saved));
      return FALSE;
    }
  g_autofree char *out_dir = g_path_get_dirname (out_path);
  strand_fsync_dir (out_dir);

  summary->payload_files = p->payload->len;
  summary->payload_bytes = 0;
  for (guint i = 0; i < p->payload->len; i++)
    summary->payload_bytes += ((Entry *) p->payload->pdata[i])->size;
  summary->records = c.count;
  if (!file_sha256 (out_path, summary->sha256, error))
    return FALSE;
  return record_export (prov, p, out_path, summary->sha256, error);
}

gboolean
strand_archive_run (StrandProvenance *prov, const char *run_id, const char *out_path,
                    const StrandArchiveOptions *options, StrandArchiveSummary *summary,
                    GError **error)
{
  static const StrandArchiveOptions defaults = { 0 };
  StrandArchiveSummary local = { 0 };
  if (!strand_archive_path_is_safe (run_id) || strchr (run_id, '/') != NULL)
    {
      g_set_error (error, STRAND_ARCHIVE_ERROR, STRAND_ARCHIVE_ERROR_NOT_FOUND,
                   "'%s' is not a run id", run_id);
      return FALSE;
    }
  Plan p = {
    .prov = prov,
    .store = strand_provenance_store (prov),
    .run_id = run_id,
    .payload = g_ptr_array_new_with_free_func (entry_free),
    .dirs = g_ptr_array_new_with_free_func (entry_free),
    .tags = g_ptr_array_new_with_free_func (entry_free),
    .paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .seqs = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free),
    .named = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .trees_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .subjects = g_ptr_array_new_with_free_func (g_free),
  };
  Writer w = { NULL, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), run_id, 0 };
  g_autofree char *tmp = g_strdup_printf ("%s.partial-%d", out_path, (int) getpid ());
  gboolean ok = archive_run (prov, &p, &w, out_path, tmp, options ? options : &defaults,
                             summary ? summary : &local, error);
  if (w.a)
    archive_write_free (w.a);
  if (!ok)
    g_unlink (tmp);
  g_hash_table_unref (w.dirs);
  g_ptr_array_unref (p.payload);
  g_ptr_array_unref (p.dirs);
  g_ptr_array_unref (p.tags);
  g_hash_table_unref (p.paths);
  g_hash_table_unref (p.seqs);
  g_hash_table_unref (p.named);
  g_hash_table_unref (p.trees_seen);
  g_ptr_array_unref (p.subjects);
  return ok;
}
