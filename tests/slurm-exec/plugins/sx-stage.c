/* Test stages for the Slurm executor, one source built two ways:
 *
 *   wait-stage   notes that it started (a file named after its sample, its
 *                attempt and its process in the folder "started"), then
 *                waits until the file "marker" exists (or for "seconds", when
 *                there is no marker), checking host->cancelled() as it goes,
 *                and writes "SAMPLE: done" to its output: the same bytes
 *                whichever attempt and node made them
 *   long-stage   the same, declaring an expected run of ten minutes: a task
 *                that earns a Slurm job of its own */
#include <strand/strand-sdk.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(SX_LONG)
#define NAME "long-stage"
#define EXPECTED 600.0
#else
#define NAME "wait-stage"
#define EXPECTED 1.0
#endif

static const StrandPort inputs[] = {
  { "in", STRAND_FORMAT_ANY, STRAND_PORT_OPTIONAL | STRAND_PORT_MULTIPLE, "anything" },
};
static const StrandPort outputs[] = {
  { "out", STRAND_FORMAT_TEXT, 0, "SAMPLE: done" },
};

static int
run (StrandTask *task, const StrandHost *host)
{
  const char *marker = NULL, *started = NULL;
  double seconds = 0;
  if (host->param_string (task, "marker", &marker) < 0 || host->param_string (task, "started", &started) < 0 ||
      host->param_double (task, "seconds", &seconds) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read the parameters");
  const char *sample = host->sample_id (task);
  if (started[0] != '\0')
    {
      char path[4096];
      snprintf (path, sizeof path, "%s/%s.%d.%ld", started, sample ? sample : "_run", host->attempt (task),
                (long) getpid ());
      FILE *f = fopen (path, "w");
      if (f != NULL)
        fclose (f);
    }
  for (double waited = 0; marker[0] != '\0' ? access (marker, F_OK) != 0 : waited < seconds; waited += 0.01)
    {
      if (host->cancelled (task))
        return STRAND_E_CANCELLED;
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  const char *out = NULL;
  if (host->output_path (task, "out", "done.txt", &out) < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL, "no output path");
  FILE *f = fopen (out, "w");
  if (f == NULL)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
  fprintf (f, "%s: done\n", sample ? sample : "_run");
  return fclose (f) == 0 ? STRAND_OK : host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
}

static const StrandParamSpec params[] = {
  { .name = "marker", .type = STRAND_PARAM_STRING, .description = "wait until this file exists; empty: do not",
    .default_value = "" },
  { .name = "started", .type = STRAND_PARAM_STRING,
    .description = "a folder where it notes that it started; empty: none", .default_value = "" },
  { .name = "seconds", .type = STRAND_PARAM_DOUBLE, .flags = STRAND_PARAM_HAS_MIN,
    .description = "how long to wait without a marker", .default_value = "0", .min = 0 },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 16u << 20,
  .expected_seconds = EXPECTED,
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = NAME,
  .version = "1.0.0",
  .description = "a test stage for the Slurm executor",
  .license = "Apache-2.0",
  .flags = STRAND_STAGE_DETERMINISTIC,
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
