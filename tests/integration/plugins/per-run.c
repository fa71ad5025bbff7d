/* Per-run stages for the runner's routing tests (ABI 1.1).
 *
 * fixture-sequencer (default): once per run, writes a run folder (a
 * directory output, with an empty subdirectory) and, for every sample of the
 * run, a reads file through sample_output_path holding the sample's id, its
 * "index" metadata and the first line of the per-run "reference" input; plus
 * one run-wide "notes" file every sample's downstream task receives.
 *
 * fixture-gather (GATHER): once per run, lists every input it got as
 * "PORT SAMPLE NAME: CONTENT" (the sample that input belongs to, or "-"), and
 * for a directory input the files inside it, into one report. */
#include <strand/strand-sdk.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
first_line (const char *path, char *buf, size_t size)
{
  FILE *f = fopen (path, "r");
  if (f == NULL)
    return -1;
  if (fgets (buf, (int) size, f) == NULL)
    buf[0] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
  fclose (f);
  return 0;
}

#ifndef GATHER

static int
write_text (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  if (f == NULL)
    return -1;
  fputs (text, f);
  return fclose (f);
}

static int
run (StrandTask *task, const StrandHost *host)
{
  char reference[128] = "none";
  if (host->input_count (task, "reference") > 0 &&
      first_line (host->input_path (task, "reference", 0), reference, sizeof reference) != 0)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT, "cannot read the reference");

  const char *folder;
  char path[4096], text[512];
  if (host->output_path (task, "run", "RunFolder", &folder) != STRAND_OK ||
      mkdir (folder, 0750) != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot create the run folder");
  snprintf (path, sizeof path, "%s/Data", folder);
  mkdir (path, 0750);
  snprintf (path, sizeof path, "%s/Data/empty", folder);
  mkdir (path, 0750);
  snprintf (path, sizeof path, "%s/RunInfo.txt", folder);
  snprintf (text, sizeof text, "samples=%zu\n", host->run_sample_count (task));
  if (write_text (path, text) != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", path);

  for (size_t i = 0; i < host->run_sample_count (task); i++)
    {
      const char *id = host->run_sample_id (task, i);
      const char *index = host->run_sample_meta (task, id, "index");
      const char *out;
      snprintf (path, sizeof path, "%s/Data/%s.bcl", folder, id);
      if (write_text (path, id) != 0)
        return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", path);
      if (host->sample_output_path (task, "reads", id, "reads.txt", &out) != STRAND_OK)
        return host->fail (task, STRAND_ERROR_INTERNAL, "no output path for sample %s", id);
      snprintf (text, sizeof text, "%s index=%s ref=%s\n", id, index ? index : "-", reference);
      if (write_text (out, text) != 0)
        return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
    }
  const char *notes;
  if (host->sample_output_path (task, "reads", "no-such-sample", "x.txt", &notes) != STRAND_E_INVALID)
    return host->fail (task, STRAND_ERROR_INTERNAL, "an unknown sample was accepted");
  if (host->output_path (task, "notes", "notes.txt", &notes) != STRAND_OK ||
      write_text (notes, "for everyone\n") != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write the notes");
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { "reference", STRAND_FORMAT_ANY, STRAND_PORT_OPTIONAL, "one file for the run" },
};
static const StrandPort outputs[] = {
  { "run", STRAND_FORMAT_DIR, 0, "the run folder" },
  { "reads", STRAND_FORMAT_TEXT, STRAND_PORT_MULTIPLE, "one file per sample" },
  { "notes", STRAND_FORMAT_TEXT, 0, "for every sample" },
};
#define NAME "fixture-sequencer"

#else

static void
list_dir (FILE *report, const char *root, const char *rel)
{
  char path[4096];
  snprintf (path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
  struct dirent **names;
  int n = scandir (path, &names, NULL, alphasort);
  for (int i = 0; i < n; i++)
    {
      const char *name = names[i]->d_name;
      if (strcmp (name, ".") != 0 && strcmp (name, "..") != 0)
        {
          char child_rel[1024], child[4096], line[128];
          snprintf (child_rel, sizeof child_rel, "%s%s%s", rel, *rel ? "/" : "", name);
          snprintf (child, sizeof child, "%s/%s", root, child_rel);
          struct stat st;
          stat (child, &st);
          if (S_ISDIR (st.st_mode))
            {
              fprintf (report, "  %s/\n", child_rel);
              list_dir (report, root, child_rel);
            }
          else if (first_line (child, line, sizeof line) == 0)
            fprintf (report, "  %s: %s\n", child_rel, line);
        }
      free (names[i]);
    }
  if (n >= 0)
    free (names);
}

static int
run (StrandTask *task, const StrandHost *host)
{
  const char *out;
  if (host->output_path (task, "report", "report.txt", &out) != STRAND_OK)
    return host->fail (task, STRAND_ERROR_INTERNAL, "no output path");
  FILE *report = fopen (out, "w");
  if (report == NULL)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
  for (int i = 0; i < host->input_count (task, "items"); i++)
    {
      const char *path = host->input_path (task, "items", (size_t) i);
      const char *sample = host->input_sample (task, "items", (size_t) i);
      const char *slash = strrchr (path, '/');
      struct stat st;
      char line[256] = "";
      if (stat (path, &st) == 0 && S_ISDIR (st.st_mode))
        {
          fprintf (report, "items %s %s: directory\n", sample ? sample : "-", slash + 1);
          list_dir (report, path, "");
          continue;
        }
      first_line (path, line, sizeof line);
      fprintf (report, "items %s %s: %s\n", sample ? sample : "-", slash + 1, line);
    }
  return fclose (report) == 0 ? STRAND_OK : host->fail (task, STRAND_ERROR_TRANSIENT, "write");
}

static const StrandPort inputs[] = {
  { "items", STRAND_FORMAT_ANY, STRAND_PORT_MULTIPLE, "anything, from every sample" },
};
static const StrandPort outputs[] = {
  { "report", STRAND_FORMAT_TEXT, 0, "what arrived, and whose" },
};
#define NAME "fixture-gather"
#endif

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = NAME,
  .version = "1.0.0",
  .description = "per-run routing test stage",
  .license = "Apache-2.0",
  .flags = STRAND_STAGE_DETERMINISTIC | STRAND_STAGE_PER_RUN,
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .run = run,
};

STRAND_STAGE_DEFINE (descriptor);
