/* Test stages for the executor, one source built four ways:
 *
 *   noop-stage     does nothing and makes nothing: what a task costs the host
 *   random-stage   writes 64 random bytes: a stage that is not deterministic
 *   memory-stage   allocates "megabytes" MiB 1 MiB at a time, touching each,
 *                  and aborts when an allocation fails, as careless tools do:
 *                  only the system can tell that it ran out of memory
 *   sleep-stage    sleeps "seconds", checking host->cancelled() as it goes,
 *                  then copies its inputs' names to its output */
#include <strand/strand-sdk.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const StrandPort inputs[] = {
  { "in", STRAND_FORMAT_ANY, STRAND_PORT_OPTIONAL | STRAND_PORT_MULTIPLE, "anything" },
};
static const StrandPort outputs[] = {
  { "out", STRAND_FORMAT_TEXT, 0, "a small file" },
};

#if defined(EXEC_NOOP)
#define NAME "noop-stage"
#define FLAGS STRAND_STAGE_DETERMINISTIC
#define N_OUTPUTS 0
static int
run (StrandTask *task, const StrandHost *host)
{
  return STRAND_OK;
}
static const StrandParamSpec params[] = {
  { .name = "n", .type = STRAND_PARAM_INT, .description = "ignored; tells tasks apart",
    .default_value = "0" },
};
#elif defined(EXEC_RANDOM)
#define NAME "random-stage"
#define FLAGS 0
#define N_OUTPUTS 1
static int
run (StrandTask *task, const StrandHost *host)
{
  const char *out = NULL;
  if (host->output_path (task, "out", "random.bin", &out) < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL, "no output path");
  unsigned char bytes[64];
  int fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read (fd, bytes, sizeof bytes) != (ssize_t) sizeof bytes)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot read /dev/urandom");
  close (fd);
  FILE *f = fopen (out, "wb");
  if (f == NULL || fwrite (bytes, 1, sizeof bytes, f) != sizeof bytes || fclose (f) != 0)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
  return STRAND_OK;
}
static const StrandParamSpec params[] = {
  { .name = "n", .type = STRAND_PARAM_INT, .description = "ignored", .default_value = "0" },
};
#elif defined(EXEC_MEMORY)
#define NAME "memory-stage"
#define FLAGS STRAND_STAGE_DETERMINISTIC
#define N_OUTPUTS 1
#define MEMORY (32u << 20)
static int
run (StrandTask *task, const StrandHost *host)
{
  int64_t mb = 0;
  if (host->param_int (task, "megabytes", &mb) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read megabytes");
  char **blocks = calloc ((size_t) mb + 1, sizeof *blocks);
  for (int64_t i = 0; i < mb; i++)
    {
      blocks[i] = malloc (1u << 20);
      if (blocks[i] == NULL)
        abort (); /* no message, no class: the host must work it out */
      memset (blocks[i], (int) i, 1u << 20);
    }
  const char *out = NULL;
  if (host->output_path (task, "out", "memory.txt", &out) < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL, "no output path");
  FILE *f = fopen (out, "w");
  if (f == NULL)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
  fprintf (f, "held %lld MiB\n", (long long) mb);
  fclose (f);
  return STRAND_OK;
}
static const StrandParamSpec params[] = {
  { .name = "megabytes", .type = STRAND_PARAM_INT, .flags = STRAND_PARAM_HAS_MIN,
    .description = "MiB to hold", .default_value = "48", .min = 0 },
};
#elif defined(EXEC_SLEEP)
#define NAME "sleep-stage"
#define FLAGS STRAND_STAGE_DETERMINISTIC
#define N_OUTPUTS 1
static int
run (StrandTask *task, const StrandHost *host)
{
  double seconds = 0;
  if (host->param_double (task, "seconds", &seconds) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG, "cannot read seconds");
  for (double slept = 0; slept < seconds; slept += 0.01)
    {
      if (host->cancelled (task))
        {
          host->log (task, STRAND_LOG_INFO, "asked to stop after %.2f s", slept);
          return STRAND_E_CANCELLED;
        }
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  const char *out = NULL;
  if (host->output_path (task, "out", "slept.txt", &out) < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL, "no output path");
  FILE *f = fopen (out, "w");
  if (f == NULL)
    return host->fail (task, STRAND_ERROR_TRANSIENT, "cannot write %s", out);
  int n = host->input_count (task, "in");
  fprintf (f, "%s: %d inputs\n", host->sample_id (task), n < 0 ? 0 : n);
  fclose (f);
  return STRAND_OK;
}
static const StrandParamSpec params[] = {
  { .name = "seconds", .type = STRAND_PARAM_DOUBLE, .flags = STRAND_PARAM_HAS_MIN,
    .description = "how long to sleep", .default_value = "0", .min = 0 },
};
#endif

#ifndef MEMORY
#define MEMORY (16u << 20)
#endif

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = MEMORY,
  .expected_seconds = 0.1,
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = NAME,
  .version = "1.0.0",
  .description = "a test stage for the executor",
  .license = "Apache-2.0",
  .flags = FLAGS,
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = N_OUTPUTS,
  .params = params,
  .n_params = STRAND_N_ELEMENTS (params),
  .resources = &resources,
  .run = run,
};

STRAND_STAGE_DEFINE (descriptor);
