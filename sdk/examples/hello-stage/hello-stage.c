/* hello-stage: the smallest useful Strand stage plugin. Copy it to start your
 * own.
 *
 * It writes "hello, <name>\n" to its output and, when its optional input is
 * connected, appends that input's bytes.
 *
 * A plugin is one shared object exporting one function, strand_stage_entry,
 * which returns a constant descriptor: what the stage consumes and produces,
 * its parameters, its resource needs, its error policy and its run()
 * callback. The host reads the descriptor without running any other plugin
 * code, so keep everything below static and constant.
 *
 * The plugin includes only the SDK (plus libc) and never links against the
 * host: everything it needs from the host arrives through `host`, a table of
 * functions passed to run(). Build with -fvisibility=hidden so that
 * strand_stage_entry is the only symbol you export. */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* run() is called once per task (this stage applied to one sample), in an
 * isolated worker process. Return STRAND_OK, or the value of host->fail(),
 * which records why the task failed and how the host should classify it. */
static int
run (StrandTask *task, const StrandHost *host)
{
  /* Parameters arrive with defaults and ranges already applied. */
  const char *name = NULL;
  if (host->param_string (task, "name", &name) < 0)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "cannot read parameter 'name'");

  /* Ask the host where to write: a fresh file in the task's staging area.
   * The host hashes and stores it after run() returns STRAND_OK. */
  const char *out_path = NULL;
  if (host->output_path (task, "greeting", "greeting.txt", &out_path) < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no output path for port 'greeting'");

  FILE *out = fopen (out_path, "w");
  if (out == NULL)
    return host->fail (task, errno == ENOSPC ? STRAND_ERROR_STORAGE
                                             : STRAND_ERROR_TRANSIENT,
                       "%s: cannot create: %s", out_path, strerror (errno));
  int write_err = 0; /* errno of the first failed write, 0: none */
  if (fprintf (out, "hello, %s\n", name) < 0)
    write_err = errno;

  /* An optional input: input_count() is 0 when nothing is connected. */
  long long copied = 0;
  int ret = STRAND_OK;
  if (write_err == 0 && host->input_count (task, "text") > 0)
    {
      const char *in_path = host->input_path (task, "text", 0);
      FILE *in = in_path ? fopen (in_path, "r") : NULL;
      if (in == NULL)
        ret = host->fail (task, STRAND_ERROR_TRANSIENT, "%s: cannot open: %s",
                          in_path ? in_path : "(input 'text')",
                          strerror (errno));
      else
        {
          /* Stream with a fixed buffer: never read a whole file at once. */
          char buf[64 * 1024];
          size_t n;
          while ((n = fread (buf, 1, sizeof buf, in)) > 0)
            {
              /* Check for cancellation between chunks; stop promptly. */
              if (host->cancelled (task))
                {
                  host->log (task, STRAND_LOG_INFO, "cancelled");
                  ret = STRAND_E_CANCELLED;
                  break;
                }
              if (fwrite (buf, 1, n, out) != n)
                {
                  write_err = errno;
                  break;
                }
              copied += (long long) n;
            }
          if (ret == STRAND_OK && ferror (in))
            ret = host->fail (task, STRAND_ERROR_TRANSIENT,
                              "%s: read failed", in_path);
          fclose (in);
        }
    }

  /* Buffered writes may fail only when flushed: check fclose() too. */
  if (fclose (out) != 0 && write_err == 0)
    write_err = errno;
  if (write_err != 0 && ret == STRAND_OK)
    ret = host->fail (task, write_err == ENOSPC ? STRAND_ERROR_STORAGE
                                                : STRAND_ERROR_TRANSIENT,
                      "%s: write failed: %s", out_path, strerror (write_err));
  if (ret != STRAND_OK)
    return ret;

  /* The host table only ever grows. A plugin that may meet hosts older than
   * the SDK it was built with checks that a member exists before calling it
   * (metric is in ABI 1.0, so this is a demonstration). */
  if (STRAND_HOST_HAS (host, metric))
    host->metric (task, "input_bytes", (double) copied);

  host->log (task, STRAND_LOG_INFO, "greeted %s", name);
  return STRAND_OK;
}

/* Ports: names are [a-z0-9_-]+; formats are names the host knows. */
static const StrandPort inputs[] = {
  { .name = "text", .formats = STRAND_FORMAT_TEXT,
    .flags = STRAND_PORT_OPTIONAL,
    .description = "text appended after the greeting (optional)" },
};

static const StrandPort outputs[] = {
  { .name = "greeting", .formats = STRAND_FORMAT_TEXT, .flags = 0,
    .description = "the greeting, then the input text if any" },
};

/* Parameters: the host checks types, ranges and required-ness for you. */
static const StrandParamSpec params[] = {
  { .name = "name", .type = STRAND_PARAM_STRING, .flags = 0,
    .description = "who to greet", .default_value = "world" },
};

/* What one task needs; the scheduler plans with it. */
static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 4u << 20,
  .output_bytes = 4096,
  .expected_seconds = 0.1,
};

/* The default error policy, per error class; a pipeline may override it. */
static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 1000 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER, /* always first: magic, ABI version, sizes */
  .name = "hello-stage",
  .version = "0.1.0",
  .description = "Writes a greeting, followed by its optional input",
  .license = "Apache-2.0",
  .url = NULL,
  .flags = STRAND_STAGE_DETERMINISTIC, /* same inputs, same output bytes */
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .params = params,
  .n_params = STRAND_N_ELEMENTS (params),
  .policy = policy,
  .n_policy = STRAND_N_ELEMENTS (policy),
  .resources = &resources,
  .run = run,
};

/* Exports strand_stage_entry(), returning &descriptor. */
STRAND_STAGE_DEFINE (descriptor);
