/* Stand-ins for an aligner and a variant caller, with the ports, parameters
 * and resources of the real ones, for validation tests. MOCK_CALLER selects
 * the caller. They copy their first input to their output. */
#include <strand/strand-sdk.h>

#include <stdio.h>

static int
run (StrandTask *task, const StrandHost *host)
{
  return host->fail (task, STRAND_ERROR_CONFIG, "a mock stage does not run");
}

#ifndef MOCK_CALLER
static const StrandPort inputs[] = {
  { "reads", STRAND_FORMAT_FASTQ, STRAND_PORT_MULTIPLE, "reads to align" },
};
static const StrandPort outputs[] = {
  { "alignments", STRAND_FORMAT_BAM, 0, "sorted alignments" },
};
static const StrandParamSpec params[] = {
  { "reference", STRAND_PARAM_PATH, STRAND_PARAM_REQUIRED, "reference FASTA", NULL, 0, 0, NULL },
  { "threads", STRAND_PARAM_INT, STRAND_PARAM_HAS_MIN | STRAND_PARAM_HAS_MAX, "threads", "4", 1, 64, NULL },
  { "mode", STRAND_PARAM_ENUM, 0, "seeding mode", "fast", 0, 0, "fast,sensitive" },
  { "min_score", STRAND_PARAM_DOUBLE, STRAND_PARAM_HAS_MIN, "minimum score", "30", 0, 0, NULL },
  { "mark_duplicates", STRAND_PARAM_BOOL, 0, "mark duplicates", "true", 0, 0, NULL },
};
static const StrandResources resources = {
  .cores = 4, .memory_bytes = 8ull << 30, .expected_seconds = 7200,
};
#define NAME "mock-align"
#else
static const StrandPort inputs[] = {
  { "alignments", STRAND_FORMAT_BAM "," STRAND_FORMAT_CRAM, 0, "alignments" },
};
static const StrandPort outputs[] = {
  { "variants", STRAND_FORMAT_VCF, 0, "variant calls" },
};
static const StrandParamSpec params[] = {
  { "reference", STRAND_PARAM_PATH, STRAND_PARAM_REQUIRED, "reference FASTA", NULL, 0, 0, NULL },
};
static const StrandResources resources = {
  .cores = 2, .memory_bytes = 2ull << 30, .expected_seconds = 600,
};
#define NAME "mock-call"
#endif

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = NAME,
  .version = "1.2.0",
  .description = "validation test stand-in",
  .license = "Apache-2.0",
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
