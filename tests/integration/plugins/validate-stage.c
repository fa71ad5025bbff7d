/* A test stage whose validate callback misbehaves on purpose, one way per
 * sample id: "crash" raises SIGSEGV, "hang" sleeps past any time limit,
 * "exit" calls exit(3), "silent" refuses without saying why, "twice"
 * reports two problems, "greedy" allocates until refused, "inputs" reports
 * what inputs it was given. Parameter "mode": "refuse" refuses every task
 * with the same message. A task it passes checks that output_path() is
 * refused during validation. run() copies the sample id to its output.
 * STAGE_PER_RUN builds a per-run variant that reports each sample of the
 * run without a "barcode" in its metadata. */
#include <strand/strand-sdk.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
run (StrandTask *task, const StrandHost *host)
{
  const char *sample = host->sample_id (task);
  const char *out = NULL;
  if (host->output_path (task, "out", "copy.txt", &out) < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL, "no output path");
  FILE *f = fopen (out, "w");
  if (f == NULL)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
  fprintf (f, "%s\n", sample ? sample : "-");
  fclose (f);
  return STRAND_OK;
}

#ifndef STAGE_PER_RUN
static int
validate (StrandTask *task, const StrandHost *host)
{
  const char *mode = NULL;
  if (host->param_string (task, "mode", &mode) == STRAND_OK && strcmp (mode, "refuse") == 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "mode 'refuse' refuses every task");
  const char *sample = host->sample_id (task);
  if (sample == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL, "a per-sample task without a sample");
  if (strcmp (sample, "crash") == 0)
    raise (SIGSEGV);
  if (strcmp (sample, "hang") == 0)
    for (;;)
      pause ();
  if (strcmp (sample, "exit") == 0)
    exit (3);
  if (strcmp (sample, "silent") == 0)
    return STRAND_E_INVALID;
  if (strcmp (sample, "twice") == 0)
    {
      host->fail (task, STRAND_ERROR_CONFIG, "first problem of 'twice'");
      return host->fail (task, STRAND_ERROR_CONFIG, "second problem of 'twice'");
    }
  if (strcmp (sample, "greedy") == 0)
    {
      /* Address space, not memory: nothing is touched. */
      size_t got = 0;
      while (got < ((size_t) 64 << 30) && malloc ((size_t) 64 << 20) != NULL)
        got += (size_t) 64 << 20;
      return host->fail (task, STRAND_ERROR_RESOURCE, "allocated %zu MiB", got >> 20);
    }
  if (strcmp (sample, "inputs") == 0)
    {
      int n = host->input_count (task, "in");
      const char *path = n > 0 ? host->input_path (task, "in", 0) : NULL;
      const char *slash = path ? strrchr (path, '/') : NULL;
      return host->fail (task, STRAND_ERROR_CONFIG, "%d input(s) on 'in', the first %s",
                         n, slash ? slash + 1 : "none");
    }
  const char *out = NULL;
  if (host->output_path (task, "out", "copy.txt", &out) >= 0)
    return host->fail (task, STRAND_ERROR_INTERNAL, "output_path was granted during validation");
  return STRAND_OK;
}
#define NAME "validate-stage"
#define FLAGS 0u
#else
static int
validate (StrandTask *task, const StrandHost *host)
{
  size_t n = host->run_sample_count (task);
  int rc = STRAND_OK;
  for (size_t i = 0; i < n; i++)
    {
      const char *id = host->run_sample_id (task, i);
      if (host->run_sample_meta (task, id, "barcode") == NULL)
        rc = host->fail (task, STRAND_ERROR_CONFIG, "sample '%s' has no barcode", id);
    }
  return rc;
}
#define NAME "validate-run-stage"
#define FLAGS STRAND_STAGE_PER_RUN
#endif

static const StrandPort inputs[] = {
  { "in", STRAND_FORMAT_ANY, STRAND_PORT_OPTIONAL | STRAND_PORT_MULTIPLE, "anything" },
};
static const StrandPort outputs[] = {
  { "out", STRAND_FORMAT_TEXT, 0, "the sample id" },
};
static const StrandParamSpec params[] = {
  { "mode", STRAND_PARAM_ENUM, 0, "how validate behaves", "normal", 0, 0, "normal,refuse" },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = NAME,
  .version = "1.0.0",
  .description = "a validate callback that misbehaves on purpose (tests only)",
  .license = "Apache-2.0",
  .flags = FLAGS,
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .params = params,
  .n_params = STRAND_N_ELEMENTS (params),
  .run = run,
  .validate = validate,
};

STRAND_STAGE_DEFINE (descriptor);
