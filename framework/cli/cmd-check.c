/* `strand check FILE... [--manifest LIST]`: the data checks of datacheck.h on
 * any file, with one line per problem. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "datacheck.h"
#include "formats.h"

typedef struct {
  char *path;          /* as opened */
  const char *sha256;  /* from the manifest, or NULL */
  const char *md5;
} CheckJob;

static void
check_job_free (CheckJob *job)
{
  g_free (job->path);
  g_free (job);
}

/* A manifest path relative to the working directory when it lies below it,
 * so that messages read like the command line. */
static char *
relative_to_cwd (const char *path)
{
  g_autofree char *cwd = g_get_current_dir ();
  gsize n = strlen (cwd);
  if (strncmp (path, cwd, n) == 0 && path[n] == '/' && path[n + 1] != '\0')
    return g_strdup (path + n + 1);
  return g_strdup (path);
}

static JsonNode *
result_json (const char *display, gboolean ok, const StrandDataSummary *s, GPtrArray *problems)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, display);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, ok);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, s->format ? s->format : "unknown");
  json_builder_set_member_name (b, "compression");
  json_builder_add_string_value (b, s->compression ? s->compression : "none");
  json_builder_set_member_name (b, "records");
  json_builder_add_int_value (b, (gint64) MIN (s->records, (guint64) G_MAXINT64));
  json_builder_set_member_name (b, "complete");
  json_builder_add_boolean_value (b, s->complete);
  if (s->sha256)
    {
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, s->sha256);
    }
  if (s->md5)
    {
      json_builder_set_member_name (b, "md5");
      json_builder_add_string_value (b, s->md5);
    }
  json_builder_set_member_name (b, "problems");
  json_builder_add_value (b, strand_problems_to_json (problems));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

int
strand_cmd_check (int argc, char **argv)
{
  g_autofree char *format = NULL;
  g_autofree char *reference = NULL;
  g_autofree char *manifest = NULL;
  gboolean deep = FALSE, json = FALSE;
  gint threads = 0;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      "The format every FILE must be (fastq, fasta, sam, bam, cram, vcf, bcf, ...)", "F" },
    { "reference", 'r', 0, G_OPTION_ARG_FILENAME, &reference,
      "Reference FASTA to decode CRAM against (references are never downloaded)", "FASTA" },
    { "manifest", 'm', 0, G_OPTION_ARG_FILENAME, &manifest,
      "Check every file of a sha256sum or md5sum list, digest included", "LIST" },
    { "deep", 0, 0, G_OPTION_ARG_NONE, &deep,
      "Read whole files (default: the first 64 MiB, and both ends of BGZF files)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the results as JSON", NULL },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads,
      "Decompression threads (default: one per core)", "N" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context =
      g_option_context_new ("FILE... - check data files: format, integrity and digests");
  g_option_context_set_description (context,
      "Exit status: 0 when every file is sound, 1 when a problem was found, 2 on a usage error.\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  if (argc < 2 && manifest == NULL)
    {
      fprintf (stderr, "strand: check takes one or more FILEs, or --manifest LIST\n");
      return STRAND_EXIT_USAGE;
    }
  if (format != NULL && !strand_format_is_known (format))
    {
      g_autofree char *known = g_strjoinv (", ", (char **) strand_format_names ());
      fprintf (stderr, "strand: unknown format '%s'; known: %s\n", format, known);
      return STRAND_EXIT_USAGE;
    }
  if (threads < 0 || threads > 256)
    {
      fprintf (stderr, "strand: --threads takes a number from 1 to 256\n");
      return STRAND_EXIT_USAGE;
    }

  g_autoptr (GPtrArray) jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) check_job_free);
  g_autoptr (GPtrArray) manifest_problems = strand_problems_new ();
  g_autoptr (GPtrArray) entries_listed = NULL;
  g_autoptr (GHashTable) queued = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (manifest != NULL)
    {
      entries_listed = strand_manifest_load (manifest, manifest_problems);
      for (guint i = 0; entries_listed && i < entries_listed->len; i++)
        {
          const StrandManifestEntry *e = entries_listed->pdata[i];
          CheckJob *job = g_new0 (CheckJob, 1);
          job->path = relative_to_cwd (e->path);
          job->sha256 = e->sha256;
          job->md5 = e->md5;
          g_hash_table_add (queued, g_strdup (e->path));
          g_ptr_array_add (jobs, job);
        }
    }
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *abs = g_canonicalize_filename (argv[i], NULL);
      if (g_hash_table_contains (queued, abs))
        continue; /* listed in the manifest: checked there, with its digest */
      CheckJob *job = g_new0 (CheckJob, 1);
      job->path = g_strdup (argv[i]);
      g_ptr_array_add (jobs, job);
      g_hash_table_add (queued, g_steal_pointer (&abs));
    }
  gboolean all_ok = strand_problems_errors (manifest_problems) == 0;
  g_autoptr (JsonBuilder) out = json ? json_builder_new () : NULL;
  if (out)
    json_builder_begin_array (out);
  if (manifest != NULL && (manifest_problems->len > 0 || entries_listed == NULL))
    {
      g_autofree char *shown = g_filename_display_name (manifest);
      if (out)
        {
          StrandDataSummary none = { .format = (char *) "manifest" };
          json_builder_add_value (out, result_json (shown, strand_problems_errors (manifest_problems) == 0,
                                                    &none, manifest_problems));
        }
      else
        strand_cli_print_problems (manifest_problems, stdout);
    }

  for (guint i = 0; i < jobs->len; i++)
    {
      const CheckJob *job = jobs->pdata[i];
      StrandCheckOptions opts = {
        .deep = deep,
        .format = format,
        .reference = reference,
        .sha256 = job->sha256,
        .md5 = job->md5,
        .threads = (guint) threads,
      };
      g_auto (StrandDataSummary) summary = { 0 };
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      gboolean ok = strand_check_file (job->path, &opts, &summary, problems);
      all_ok &= ok;
      g_autofree char *shown = g_filename_display_name (job->path);
      if (out)
        {
          json_builder_add_value (out, result_json (shown, ok, &summary, problems));
          continue;
        }
      strand_cli_print_problems (problems, stdout);
      if (ok)
        printf ("%s: ok (%s, %" G_GUINT64_FORMAT " record%s%s)\n", shown, summary.format,
                summary.records, summary.records == 1 ? "" : "s",
                summary.complete ? ", complete" : "");
      fflush (stdout);
    }
  if (out)
    {
      json_builder_end_array (out);
      g_autoptr (JsonNode) root = json_builder_get_root (out);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_pretty (gen, TRUE);
      json_generator_set_root (gen, root);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  return all_ok ? STRAND_EXIT_OK : STRAND_EXIT_FAILED;
}
