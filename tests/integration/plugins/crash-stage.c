/* A test stage that misbehaves on purpose, one way per sample id:
 * "crash" raises SIGSEGV, "abort" aborts, "exit" calls exit(3) from run(),
 * "hang" sleeps past any timeout, "fail" fails with an invalid-input error,
 * anything else copies its input to its output. */
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
  if (sample != NULL && strcmp (sample, "crash") == 0)
    raise (SIGSEGV);
  if (sample != NULL && strcmp (sample, "abort") == 0)
    abort ();
  if (sample != NULL && strcmp (sample, "exit") == 0)
    exit (3);
  if (sample != NULL && strcmp (sample, "hang") == 0)
    for (;;)
      pause ();
  if (sample != NULL && strcmp (sample, "fail") == 0)
    return host->fail (task, STRAND_ERROR_INVALID_INPUT, "sample 'fail' always fails");

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

static const StrandPort inputs[] = {
  { "in", STRAND_FORMAT_ANY, STRAND_PORT_OPTIONAL | STRAND_PORT_MULTIPLE, "anything" },
};
static const StrandPort outputs[] = {
  { "out", STRAND_FORMAT_TEXT, 0, "the sample id" },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "crash-stage",
  .version = "1.0.0",
  .description = "misbehaves on purpose, by sample id (tests only)",
  .license = "Apache-2.0",
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .run = run,
};

STRAND_STAGE_DEFINE (descriptor);
