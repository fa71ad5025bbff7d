/* Test stages for execution safety, one source built three ways:
 *
 *   scratch-stage  declares 1 MiB of scratch and writes "kib" KiB into its
 *                  scratch folder (or, with where=outputs, as an output), by
 *                  itself or (tool=true) through dd; then lingers "linger"
 *                  seconds checking host->cancelled(), or (tool=true) runs
 *                  `tail -f` on what it wrote until it is stopped; with
 *                  full=true it then writes to /dev/full, as a stage on a
 *                  full disk would
 *   tree-stage     makes a run folder (a directory output, stored as a tree)
 *                  from its sample and "seed", an executable file included
 *   tree-read      lists the run folder it reads, file by file */
#include <strand/strand-sdk.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static __attribute__ ((unused)) int
write_text (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  if (f == NULL)
    return -1;
  fputs (text, f);
  return fclose (f);
}

#if defined(SAFETY_SCRATCH)
#define NAME "scratch-stage"
#define FLAGS STRAND_STAGE_DETERMINISTIC
#define SCRATCH (1u << 20)

static int
write_bytes (const char *path, int64_t kib)
{
  FILE *f = fopen (path, "wb");
  if (f == NULL)
    return -1;
  char block[1024];
  memset (block, 'x', sizeof block);
  for (int64_t i = 0; i < kib; i++)
    if (fwrite (block, 1, sizeof block, f) != sizeof block)
      {
        int saved = errno;
        fclose (f);
        errno = saved;
        return -1;
      }
  return fclose (f);
}

static int
run (StrandTask *task, const StrandHost *host)
{
  int64_t kib = 0;
  double linger = 0;
  const char *where = NULL;
  bool tool = false, full = false;
  if (host->param_int (task, "kib", &kib) < 0 || host->param_double (task, "linger", &linger) < 0 ||
      host->param_string (task, "where", &where) < 0 ||
      host->param_bool (task, "tool", &tool) < 0 || host->param_bool (task, "full", &full) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read the parameters");
  char path[4096];
  const char *big = NULL;
  if (where != NULL && strcmp (where, "outputs") == 0)
    {
      if (host->output_path (task, "out", "big.bin", &big) < 0)
        return host->fail (task, STRAND_ERROR_INTERNAL, "no output path");
    }
  else
    {
      snprintf (path, sizeof path, "%s/big.bin", host->scratch_dir (task));
      big = path;
    }

  if (tool)
    {
      char of[4200], count[32];
      snprintf (of, sizeof of, "of=%s", big);
      snprintf (count, sizeof count, "count=%lld", (long long) kib);
      const char *dd[] = { "dd", "if=/dev/zero", of, "bs=1024", count, NULL };
      const char *tail[] = { "tail", "-f", big, NULL };
      StrandCommand write_it = { dd, NULL };
      StrandCommand watch_it = { tail, NULL };
      StrandToolRun quiet = { sizeof quiet, NULL, "/dev/null", "/dev/null" };
      if (host->run_tool (task, &write_it, 1, &quiet, NULL) != STRAND_OK)
        return host->fail (task, STRAND_ERROR_TRANSIENT, "dd failed");
      host->run_tool (task, &watch_it, 1, &quiet, NULL);
      return host->fail (task, STRAND_ERROR_INTERNAL, "tail -f ended: nothing stopped the task");
    }

  if (write_bytes (big, kib) != 0)
    return host->fail (task, strand_error_class_from_errno (errno), "cannot write %s: %s", big,
                       strerror (errno));
  for (double waited = 0; waited < linger; waited += 0.01)
    {
      if (host->cancelled (task))
        return STRAND_E_CANCELLED;
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  if (full && write_bytes ("/dev/full", 64) != 0)
    return host->fail (task, strand_error_class_from_errno (errno), "cannot write scratch: %s",
                       strerror (errno));

  const char *out = NULL;
  char text[64];
  snprintf (text, sizeof text, "wrote %lld KiB\n", (long long) kib);
  if (host->output_path (task, "out", "summary.txt", &out) < 0 || write_text (out, text) != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write the summary");
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { "in", STRAND_FORMAT_ANY, STRAND_PORT_OPTIONAL | STRAND_PORT_MULTIPLE, "anything" },
};
static const StrandPort outputs[] = {
  { "out", STRAND_FORMAT_ANY, STRAND_PORT_MULTIPLE, "a summary, and what it wrote there" },
};
static const StrandParamSpec params[] = {
  { .name = "kib", .type = STRAND_PARAM_INT, .flags = STRAND_PARAM_HAS_MIN,
    .description = "KiB to write", .default_value = "0", .min = 0 },
  { .name = "where", .type = STRAND_PARAM_ENUM, .description = "the folder it writes into",
    .default_value = "scratch", .choices = "scratch,outputs" },
  { .name = "linger", .type = STRAND_PARAM_DOUBLE, .flags = STRAND_PARAM_HAS_MIN,
    .description = "seconds to wait after writing", .default_value = "0", .min = 0 },
  { .name = "tool", .type = STRAND_PARAM_BOOL, .description = "write and wait through tools",
    .default_value = "false" },
  { .name = "full", .type = STRAND_PARAM_BOOL, .description = "then hit a full disk",
    .default_value = "false" },
};

#elif defined(SAFETY_TREE)
#define NAME "tree-stage"
#define FLAGS STRAND_STAGE_DETERMINISTIC

static int
run (StrandTask *task, const StrandHost *host)
{
  int64_t seed = 0;
  if (host->param_int (task, "seed", &seed) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read seed");
  const char *folder;
  if (host->output_path (task, "run", "RunFolder", &folder) != STRAND_OK || mkdir (folder, 0750) != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot create the run folder");
  const char *sample = host->sample_id (task);
  char path[4096], text[256];
  const char *const dirs[] = { "Data", "Data/empty", "bin" };
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    {
      snprintf (path, sizeof path, "%s/%s", folder, dirs[i]);
      if (mkdir (path, 0750) != 0)
        return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot create %s", path);
    }
  for (int lane = 1; lane <= 2; lane++)
    {
      snprintf (path, sizeof path, "%s/Data/lane%d.bcl", folder, lane);
      FILE *f = fopen (path, "w");
      if (f == NULL)
        return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", path);
      for (int i = 0; i < 4096; i++)
        fputc ("ACGT"[(i * 7 + lane * 13 + (int) seed) % 4], f);
      fprintf (f, "\n%s lane %d\n", sample, lane);
      fclose (f);
    }
  snprintf (path, sizeof path, "%s/RunInfo.txt", folder);
  snprintf (text, sizeof text, "sample=%s seed=%lld\n", sample, (long long) seed);
  if (write_text (path, text) != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", path);
  snprintf (path, sizeof path, "%s/bin/demux.sh", folder);
  if (write_text (path, "#!/bin/sh\necho demux\n") != 0 || chmod (path, 0755) != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", path);
  const char *notes;
  snprintf (text, sizeof text, "%s: 2 lanes\n", sample);
  if (host->output_path (task, "notes", "notes.txt", &notes) != STRAND_OK || write_text (notes, text) != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write the notes");
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { "in", STRAND_FORMAT_ANY, STRAND_PORT_OPTIONAL | STRAND_PORT_MULTIPLE, "anything" },
};
static const StrandPort outputs[] = {
  { "run", STRAND_FORMAT_DIR, 0, "the run folder" },
  { "notes", STRAND_FORMAT_TEXT, 0, "a note" },
};
static const StrandParamSpec params[] = {
  { .name = "seed", .type = STRAND_PARAM_INT, .description = "varies the bytes",
    .default_value = "0" },
};

#else /* SAFETY_TREE_READ */
#define NAME "tree-read"
#define FLAGS STRAND_STAGE_DETERMINISTIC

static int
list_dir (FILE *out, const char *root, const char *rel)
{
  char path[4096];
  snprintf (path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
  struct dirent **names;
  int n = scandir (path, &names, NULL, alphasort);
  if (n < 0)
    return -1;
  for (int i = 0; i < n; i++)
    {
      const char *name = names[i]->d_name;
      if (name[0] != '.')
        {
          char child[4096], full[8300];
          snprintf (child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", name);
          snprintf (full, sizeof full, "%s/%s", root, child);
          struct stat st;
          if (stat (full, &st) == 0 && S_ISDIR (st.st_mode))
            {
              fprintf (out, "%s/\n", child);
              list_dir (out, root, child);
            }
          else
            fprintf (out, "%s %lld\n", child, (long long) st.st_size);
        }
      free (names[i]);
    }
  free (names);
  return 0;
}

static int
run (StrandTask *task, const StrandHost *host)
{
  if (host->input_count (task, "run") != 1)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT, "one run folder expected");
  const char *out;
  if (host->output_path (task, "listing", "listing.txt", &out) != STRAND_OK)
    return host->fail (task, STRAND_ERROR_INTERNAL, "no output path");
  FILE *f = fopen (out, "w");
  if (f == NULL)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
  int rc = list_dir (f, host->input_path (task, "run", 0), "");
  fclose (f);
  if (rc != 0)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT, "cannot list the run folder");
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { "run", STRAND_FORMAT_DIR, 0, "a run folder" },
};
static const StrandPort outputs[] = {
  { "listing", STRAND_FORMAT_TEXT, 0, "its files" },
};
static const StrandParamSpec params[] = {
  { .name = "n", .type = STRAND_PARAM_INT, .description = "ignored", .default_value = "0" },
};
#endif

#ifndef SCRATCH
#define SCRATCH 0
#endif

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 64u << 20,
  .scratch_bytes = SCRATCH,
  .expected_seconds = 0.1,
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = NAME,
  .version = "1.0.0",
  .description = "a test stage for execution safety",
  .license = "Apache-2.0",
  .flags = FLAGS,
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .params = params,
  .n_params = STRAND_N_ELEMENTS (params),
  .resources = &resources,
  .run = run,
};

STRAND_STAGE_DEFINE (descriptor);
