#include "samples.h"

#include <math.h>
#include <string.h>

#include "clock.h"
#include "digest.h"
#include "formats.h"
#include "json-util.h"

static void
file_free (gpointer p)
{
  StrandSampleFile *f = p;
  g_free (f->input);
  g_free (f->path);
  g_free (f->sha256);
  g_free (f->format);
  g_free (f->where);
  g_free (f);
}

StrandSample *
strand_sample_new (const char *id)
{
  StrandSample *s = g_new0 (StrandSample, 1);
  s->id = g_strdup (id);
  s->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s->files = g_ptr_array_new_with_free_func (file_free);
  s->quality = NAN;
  return s;
}

void
strand_sample_free (StrandSample *s)
{
  if (s == NULL)
    return;
  g_free (s->id);
  g_free (s->type);
  g_free (s->degradation_class);
  g_free (s->priority);
  g_hash_table_unref (s->meta);
  g_ptr_array_unref (s->files);
  g_free (s->where);
  g_free (s);
}

StrandSampleFile *
strand_sample_add_file (StrandSample *sample, const char *input, const char *path)
{
  StrandSampleFile *f = g_new0 (StrandSampleFile, 1);
  f->input = g_strdup (input);
  f->path = g_strdup (path);
  g_ptr_array_add (sample->files, f);
  return f;
}

/* Sample ids name folders and read groups: keep them to a safe alphabet. */
static gboolean
valid_sample_id (const char *id)
{
  if (id == NULL || *id == '\0' || strlen (id) > 128 || *id == '.')
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.')
      return FALSE;
  return TRUE;
}

static gboolean
valid_priority (const char *p)
{
  return g_strcmp0 (p, "routine") == 0 || g_strcmp0 (p, "urgent") == 0 || g_strcmp0 (p, "stat") == 0;
}

/* A quality score in the sample type's unit (RIN, DIN, percent...). */
#define MAX_QUALITY 1e6

static gboolean
valid_quality (double q)
{
  return isfinite (q) && q >= 0 && q <= MAX_QUALITY;
}

typedef struct {
  const char *name;     /* the sheet, for locations */
  const char *base_dir;
  GPtrArray *problems;
  GPtrArray *samples;
  GHashTable *by_id;    /* id -> StrandSample* */
  GHashTable *first_text; /* TSV: "column\tid" -> the text of the sample's first row */
} Sheet;

static void G_GNUC_PRINTF (4, 5)
complain (Sheet *sh, const char *code, const char *where, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  strand_problems_add (sh->problems, FALSE, code, where, "%s", msg);
}

/* Checks and records one input file of a sample. */
static void
add_file (Sheet *sh, StrandSample *s, const char *input, const char *path, const char *sha256,
          const char *format, const char *where)
{
  if (path == NULL || *path == '\0')
    {
      complain (sh, "missing-field", where, "sample '%s': input '%s' has no path", s->id, input);
      return;
    }
  g_autofree char *full = g_canonicalize_filename (path, sh->base_dir);
  StrandSampleFile *f = strand_sample_add_file (s, input, full);
  f->where = g_strdup (where);
  if (sha256 != NULL)
    {
      if (!strand_sha256_hex_is_valid (sha256))
        complain (sh, "bad-digest", where, "sample '%s': sha256 '%s' is not 64 lower-case hex digits",
                  s->id, sha256);
      f->sha256 = g_strdup (sha256);
    }
  if (format != NULL)
    {
      if (!strand_format_is_known (format) || strcmp (format, "any") == 0)
        complain (sh, "unknown-format", where, "sample '%s': format '%s' is unknown", s->id, format);
      f->format = g_strdup (format);
    }
}

/* ---- JSON ---------------------------------------------------------------------- */

static void
load_json_sample (Sheet *sh, JsonNode *n, guint i)
{
  g_autofree char *where = g_strdup_printf ("%s#/samples/%u", sh->name, i);
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      complain (sh, "wrong-type", where, "a sample must be an object");
      return;
    }
  JsonObject *o = json_node_get_object (n);
  static const char *const keys[] = { "id", "type", "collected", "degradation_class", "priority",
                                      "due", "quality", "inputs", "meta", NULL };
  g_autoptr (GList) members = json_object_get_members (o);
  for (GList *m = members; m; m = m->next)
    if (!g_strv_contains (keys, m->data))
      complain (sh, "unknown-field", where, "'%s' is not a sample field (free fields go in 'meta')",
                (char *) m->data);
  const char *id = strand_json_string (o, "id", NULL);
  if (!valid_sample_id (id))
    {
      complain (sh, "bad-sample-id", where,
                "sample id must be 1-128 letters, digits, '.', '_' or '-', not starting with '.'");
      return;
    }
  if (g_hash_table_contains (sh->by_id, id))
    {
      StrandSample *first = g_hash_table_lookup (sh->by_id, id);
      complain (sh, "duplicate-sample-id", where, "sample id '%s' is used twice (first at %s)", id,
                first->where);
      return;
    }
  StrandSample *s = strand_sample_new (id);
  s->where = g_strdup (where);
  g_ptr_array_add (sh->samples, s);
  g_hash_table_insert (sh->by_id, s->id, s);

  const char *text_fields[] = { "type", "collected", "degradation_class", "priority", "due" };
  for (guint k = 0; k < G_N_ELEMENTS (text_fields); k++)
    {
      JsonNode *v = json_object_get_member (o, text_fields[k]);
      if (v != NULL && (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING))
        complain (sh, "wrong-type", where, "'%s' must be a string", text_fields[k]);
    }
  s->type = g_strdup (strand_json_string (o, "type", NULL));
  s->degradation_class = g_strdup (strand_json_string (o, "degradation_class", NULL));
  s->priority = g_strdup (strand_json_string (o, "priority", NULL));
  if (s->priority && !valid_priority (s->priority))
    complain (sh, "bad-priority", where, "sample '%s': priority '%s' is not routine, urgent or stat",
              id, s->priority);
  const char *collected = strand_json_string (o, "collected", NULL);
  if (collected && !strand_clock_parse_rfc3339 (collected, &s->collected_us))
    complain (sh, "bad-time", where, "sample '%s': collected '%s' is not an RFC 3339 time with a zone",
              id, collected);
  const char *due = strand_json_string (o, "due", NULL);
  if (due && !strand_clock_parse_rfc3339 (due, &s->due_us))
    complain (sh, "bad-time", where, "sample '%s': due '%s' is not an RFC 3339 time with a zone", id,
              due);
  JsonNode *quality = json_object_get_member (o, "quality");
  if (quality != NULL)
    {
      GType t = JSON_NODE_HOLDS_VALUE (quality) ? json_node_get_value_type (quality) : G_TYPE_INVALID;
      double q = t == G_TYPE_INT64 || t == G_TYPE_DOUBLE ? json_node_get_double (quality) : NAN;
      if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        complain (sh, "wrong-type", where, "'quality' must be a number");
      else if (!valid_quality (q))
        complain (sh, "out-of-range", where, "sample '%s': quality %g is not a number from 0 to %g",
                  id, q, MAX_QUALITY);
      else
        s->quality = q;
    }

  JsonNode *meta = json_object_get_member (o, "meta");
  if (meta != NULL && !JSON_NODE_HOLDS_OBJECT (meta))
    complain (sh, "wrong-type", where, "'meta' must be an object of strings");
  else if (meta != NULL)
    {
      JsonObject *mo = json_node_get_object (meta);
      g_autoptr (GList) keys2 = json_object_get_members (mo);
      for (GList *m = keys2; m; m = m->next)
        {
          const char *v = strand_json_string (mo, m->data, NULL);
          if (v == NULL)
            complain (sh, "wrong-type", where, "meta '%s' must be a string", (char *) m->data);
          else
            g_hash_table_replace (s->meta, g_strdup (m->data), g_strdup (v));
        }
    }

  JsonNode *inputs = json_object_get_member (o, "inputs");
  if (inputs == NULL)
    return;
  if (!JSON_NODE_HOLDS_OBJECT (inputs))
    {
      complain (sh, "wrong-type", where, "'inputs' must be an object of input name to files");
      return;
    }
  JsonObject *io = json_node_get_object (inputs);
  g_autoptr (GList) names = json_object_get_members (io);
  names = g_list_sort (names, (GCompareFunc) strcmp);
  for (GList *m = names; m; m = m->next)
    {
      JsonNode *files = json_object_get_member (io, m->data);
      g_autofree char *iw = g_strdup_printf ("%s/inputs/%s", where, (char *) m->data);
      if (!JSON_NODE_HOLDS_ARRAY (files))
        {
          complain (sh, "wrong-type", iw, "must be an array of files");
          continue;
        }
      JsonArray *fa = json_node_get_array (files);
      for (guint k = 0; k < json_array_get_length (fa); k++)
        {
          JsonNode *f = json_array_get_element (fa, k);
          g_autofree char *fw = g_strdup_printf ("%s/%u", iw, k);
          if (JSON_NODE_HOLDS_VALUE (f) && json_node_get_value_type (f) == G_TYPE_STRING)
            add_file (sh, s, m->data, json_node_get_string (f), NULL, NULL, fw);
          else if (JSON_NODE_HOLDS_OBJECT (f))
            {
              JsonObject *fo = json_node_get_object (f);
              add_file (sh, s, m->data, strand_json_string (fo, "path", NULL),
                        strand_json_string (fo, "sha256", NULL), strand_json_string (fo, "format", NULL),
                        fw);
            }
          else
            complain (sh, "wrong-type", fw, "a file is a path or {\"path\", \"sha256\", \"format\"}");
        }
    }
}

static void
load_json (Sheet *sh, const char *data, gsize len)
{
  g_autoptr (JsonParser) parser = strand_json_parse_document (data, len, sh->name, sh->problems);
  if (parser == NULL)
    return;
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *list = root && JSON_NODE_HOLDS_OBJECT (root)
                       ? json_object_get_member (json_node_get_object (root), "samples") : NULL;
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY (list))
    {
      g_autofree char *where = g_strdup_printf ("%s#/samples", sh->name);
      complain (sh, "missing-field", where, "a sample sheet is an object with a 'samples' array");
      return;
    }
  JsonArray *a = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (a); i++)
    load_json_sample (sh, json_array_get_element (a, i), i);
}

/* ---- TSV ----------------------------------------------------------------------- */

enum { COL_ID, COL_TYPE, COL_COLLECTED, COL_DEGRADATION, COL_PRIORITY, COL_INPUT, COL_PATH,
       COL_SHA256, COL_FORMAT, COL_DUE, COL_QUALITY, N_KNOWN };
static const char *const known_columns[N_KNOWN] = {
  "sample_id", "type", "collected", "degradation_class", "priority", "input", "path", "sha256",
  "format", "due", "quality",
};

/* A later row of a sample must agree with what the first said. */
static void
agree (Sheet *sh, StrandSample *s, char **field, const char *value, const char *column,
       const char *where)
{
  if (value == NULL || *value == '\0')
    return;
  if (*field == NULL)
    *field = g_strdup (value);
  else if (strcmp (*field, value) != 0)
    complain (sh, "conflicting-metadata", where, "sample '%s': %s is '%s' here but '%s' at %s",
              s->id, column, value, *field, s->where);
}

static void
load_tsv (Sheet *sh, const char *data, gsize len)
{
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  gint col[N_KNOWN];
  for (int k = 0; k < N_KNOWN; k++)
    col[k] = -1;
  g_auto (GStrv) header = NULL;
  guint n_columns = 0;
  guint lineno = 0;
  for (char **line = lines; *line; line++)
    {
      lineno++;
      char *text = *line;
      gsize l = strlen (text);
      if (l > 0 && text[l - 1] == '\r')
        text[--l] = '\0';
      if (l == 0 || text[0] == '#')
        continue;
      g_autofree char *where = g_strdup_printf ("%s:%u", sh->name, lineno);
      g_auto (GStrv) cells = g_strsplit (text, "\t", -1);
      guint n = g_strv_length (cells);
      if (header == NULL)
        {
          header = g_steal_pointer (&cells);
          n_columns = n;
          g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
          for (guint c = 0; c < n_columns; c++)
            {
              g_strstrip (header[c]);
              if (*header[c] == '\0' || !g_hash_table_add (seen, header[c]))
                complain (sh, "bad-header", where, "column %u: the header is empty or repeated", c + 1);
              for (int k = 0; k < N_KNOWN; k++)
                if (strcmp (header[c], known_columns[k]) == 0)
                  col[k] = (gint) c;
            }
          if (col[COL_ID] < 0)
            {
              complain (sh, "missing-field", where, "the header has no 'sample_id' column");
              return;
            }
          if ((col[COL_PATH] < 0) != (col[COL_INPUT] < 0))
            complain (sh, "bad-header", where, "'input' and 'path' columns go together");
          continue;
        }
      if (n != n_columns)
        {
          complain (sh, "bad-row", where, "%u fields where the header has %u", n, n_columns);
          continue;
        }
      for (guint c = 0; c < n; c++)
        g_strstrip (cells[c]);
#define CELL(k) (col[k] >= 0 && *cells[col[k]] ? cells[col[k]] : NULL)
      const char *id = CELL (COL_ID);
      if (!valid_sample_id (id))
        {
          complain (sh, "bad-sample-id", where,
                    "sample id must be 1-128 letters, digits, '.', '_' or '-', not starting with '.'");
          continue;
        }
      StrandSample *s = g_hash_table_lookup (sh->by_id, id);
      if (s == NULL)
        {
          s = strand_sample_new (id);
          s->where = g_strdup (where);
          g_ptr_array_add (sh->samples, s);
          g_hash_table_insert (sh->by_id, s->id, s);
          const char *collected = CELL (COL_COLLECTED);
          if (collected && !strand_clock_parse_rfc3339 (collected, &s->collected_us))
            complain (sh, "bad-time", where, "sample '%s': collected '%s' is not an RFC 3339 time "
                      "with a zone", id, collected);
          const char *due = CELL (COL_DUE);
          if (due && !strand_clock_parse_rfc3339 (due, &s->due_us))
            complain (sh, "bad-time", where, "sample '%s': due '%s' is not an RFC 3339 time "
                      "with a zone", id, due);
          const char *quality = CELL (COL_QUALITY);
          char *end = NULL;
          double q = quality ? g_ascii_strtod (quality, &end) : NAN;
          if (quality && (end == quality || *end != '\0' || !valid_quality (q)))
            complain (sh, "out-of-range", where, "sample '%s': quality '%s' is not a number from 0 "
                      "to %g", id, quality, MAX_QUALITY);
          else if (quality)
            s->quality = q;
          if (CELL (COL_PRIORITY) && !valid_priority (CELL (COL_PRIORITY)))
            complain (sh, "bad-priority", where, "sample '%s': priority '%s' is not routine, urgent "
                      "or stat", id, CELL (COL_PRIORITY));
        }
      else if (col[COL_PATH] < 0)
        {
          complain (sh, "duplicate-sample-id", where, "sample id '%s' is used twice (first at %s)",
                    id, s->where);
          continue;
        }
      else if (CELL (COL_PRIORITY) && !valid_priority (CELL (COL_PRIORITY)))
        complain (sh, "bad-priority", where, "sample '%s': priority '%s' is not routine, urgent "
                  "or stat", id, CELL (COL_PRIORITY));
      static const int checked_columns[] = { COL_COLLECTED, COL_DUE, COL_QUALITY };
      for (guint k = 0; k < G_N_ELEMENTS (checked_columns); k++)
        {
          char *key = g_strdup_printf ("%s\t%s", known_columns[checked_columns[k]], s->id);
          char *first = g_strdup (g_hash_table_lookup (sh->first_text, key));
          agree (sh, s, &first, CELL (checked_columns[k]), known_columns[checked_columns[k]], where);
          if (first)
            g_hash_table_replace (sh->first_text, key, first);
          else
            g_free (key);
        }
      agree (sh, s, &s->type, CELL (COL_TYPE), "type", where);
      agree (sh, s, &s->degradation_class, CELL (COL_DEGRADATION), "degradation_class", where);
      agree (sh, s, &s->priority, CELL (COL_PRIORITY), "priority", where);
      for (guint c = 0; c < n; c++)
        {
          gboolean known = FALSE;
          for (int k = 0; k < N_KNOWN; k++)
            known |= col[k] == (gint) c;
          if (known || *cells[c] == '\0')
            continue;
          char *current = g_strdup (g_hash_table_lookup (s->meta, header[c]));
          agree (sh, s, &current, cells[c], header[c], where);
          g_hash_table_replace (s->meta, g_strdup (header[c]), current);
        }
      if (CELL (COL_PATH) || CELL (COL_INPUT))
        {
          if (CELL (COL_INPUT) == NULL)
            complain (sh, "missing-field", where, "sample '%s': a path needs its 'input' name", id);
          else
            add_file (sh, s, CELL (COL_INPUT), CELL (COL_PATH), CELL (COL_SHA256), CELL (COL_FORMAT),
                      where);
        }
#undef CELL
    }
  if (header == NULL)
    complain (sh, "empty-file", sh->name, "the sheet has no header row");
}

/* ---- entry points -------------------------------------------------------------- */

/* One read group belongs to one sample. */
static void
check_read_groups (Sheet *sh)
{
  g_autoptr (GHashTable) owner = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < sh->samples->len; i++)
    {
      StrandSample *s = sh->samples->pdata[i];
      const char *rg = g_hash_table_lookup (s->meta, "read_group");
      if (rg == NULL)
        continue;
      StrandSample *other = g_hash_table_lookup (owner, rg);
      if (other != NULL)
        complain (sh, "conflicting-metadata", s->where,
                  "read group '%s' is claimed by samples '%s' and '%s'", rg, other->id, s->id);
      else
        g_hash_table_insert (owner, (gpointer) rg, s);
    }
}

GPtrArray *
strand_samples_load_data (const char *data, gsize len, const char *name, const char *base_dir,
                          GPtrArray *problems)
{
  Sheet sh = {
    .name = name,
    .base_dir = base_dir,
    .problems = problems,
    .samples = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_sample_free),
    .by_id = g_hash_table_new (g_str_hash, g_str_equal),
    .first_text = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free),
  };
  if (len == 0)
    complain (&sh, "empty-file", name, "the file is empty");
  else if (!g_utf8_validate_len (data, len, NULL) || memchr (data, '\0', len) != NULL)
    complain (&sh, "not-utf8", name, "the file is not UTF-8 text");
  else
    {
      gsize skip = 0;
      while (skip < len && g_ascii_isspace (data[skip]))
        skip++;
      g_autofree char *text = g_strndup (data, len);
      if (skip < len && data[skip] == '{')
        load_json (&sh, text, len);
      else
        load_tsv (&sh, text, len);
      check_read_groups (&sh);
    }
  g_hash_table_unref (sh.by_id);
  g_hash_table_unref (sh.first_text);
  return sh.samples;
}

GPtrArray *
strand_samples_load (const char *path, GPtrArray *problems)
{
  gsize len = 0;
  g_autofree char *contents = strand_read_user_file (path, &len, problems);
  if (contents == NULL)
    return NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_canonicalize_filename (dir, NULL); /* relative paths need an absolute base */
  return strand_samples_load_data (contents, len, path, base, problems);
}
