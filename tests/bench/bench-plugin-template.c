/* bench-plugin-template: the plugin that tests/bench/bench-registry.c copies
 * N times.
 *
 * It is a small but complete stage: one input, one output, one parameter, an
 * error policy and resources, so the registry reads, checks and caches as much
 * of a descriptor as it would for a real plugin. Its name is the placeholder
 * below; the benchmark finds it (it must occur exactly once in the .so) and
 * overwrites it in each copy with "bench-plugin-NNNN", padding the rest of the
 * placeholder with NUL bytes, so every copy is a distinct plugin with its own
 * SHA-256 without compiling anything again. The placeholder is a valid plugin
 * name, so the template itself loads too.
 *
 * Keep BENCH_NAME_PLACEHOLDER identical to the one in bench-registry.c. It is
 * defined here rather than with -D because a -D definition is recorded in the
 * debug information under -g3, which would make it occur twice. */
#include <strand/strand-sdk.h>

#define BENCH_NAME_PLACEHOLDER "bench-plugin-placeholder"

static int
run (StrandTask *task, const StrandHost *host)
{
  (void) task;
  (void) host;
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { .name = "in", .formats = "fastq,fasta", .flags = 0,
    .description = "reads to pass through" },
};

static const StrandPort outputs[] = {
  { .name = "out", .formats = STRAND_FORMAT_ANY, .flags = 0,
    .description = "the same reads" },
};

static const StrandParamSpec params[] = {
  { .name = "threads", .type = STRAND_PARAM_INT,
    .flags = STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX,
    .description = "worker threads", .default_value = "1", .min = 1, .max = 64 },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 16u << 20,
  .expected_seconds = 1.0,
};

static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 100 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = BENCH_NAME_PLACEHOLDER,
  .version = "1.0.0",
  .description = "Registry benchmark plugin (does nothing)",
  .license = "Apache-2.0",
  .url = NULL,
  .flags = STRAND_STAGE_DETERMINISTIC,
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

STRAND_STAGE_DEFINE (descriptor);
