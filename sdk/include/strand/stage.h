/* Strand plugin SDK: the stage descriptor.
 *
 * A plugin is one shared object that exports one function,
 *
 *     STRAND_EXPORT const StrandStageDescriptor *strand_stage_entry (void);
 *
 * returning a pointer to a statically initialised, constant descriptor. The
 * host calls nothing else to learn what the stage is, so listing and
 * inspecting plugins runs no plugin code beyond that function. Use
 * STRAND_DESCRIPTOR_HEADER as the first initialiser: it records the ABI
 * version and the sizes of every struct the host will read.
 *
 * Formats are lowercase names the host knows (see STRAND_FORMAT_*); a port may
 * accept several, separated by commas ("fastq,fasta"). */
#ifndef STRAND_STAGE_H
#define STRAND_STAGE_H

#include <strand/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct StrandTask StrandTask;
typedef struct StrandHost StrandHost;

/* Format names the host recognises on ports. */
#define STRAND_FORMAT_FASTQ "fastq"
#define STRAND_FORMAT_FASTA "fasta"
#define STRAND_FORMAT_SAM "sam"
#define STRAND_FORMAT_BAM "bam"
#define STRAND_FORMAT_CRAM "cram"
#define STRAND_FORMAT_VCF "vcf"
#define STRAND_FORMAT_BCF "bcf"
#define STRAND_FORMAT_BED "bed"
#define STRAND_FORMAT_BCL_RUN "bcl-run" /* an Illumina run folder */
#define STRAND_FORMAT_BAI "bai"             /* BAM index (ABI 1.1) */
#define STRAND_FORMAT_CSI "csi"             /* coordinate-sorted index (ABI 1.1) */
#define STRAND_FORMAT_TBI "tbi"             /* tabix index (ABI 1.1) */
#define STRAND_FORMAT_BWA_INDEX "bwa-index" /* a directory: reference + bwa index (ABI 1.1) */
#define STRAND_FORMAT_DIR "dir"             /* any directory tree (ABI 1.1) */
#define STRAND_FORMAT_TSV "tsv"
#define STRAND_FORMAT_JSON "json"
#define STRAND_FORMAT_TEXT "text"
#define STRAND_FORMAT_ANY "any" /* accepts every format; passes it on */

/* Port flags. */
#define STRAND_PORT_OPTIONAL (1u << 0) /* an input that may stay unconnected */
#define STRAND_PORT_MULTIPLE (1u << 1) /* takes or makes several files */

typedef struct {
  const char *name;        /* [a-z0-9_-]+, unique among the stage's ports */
  const char *formats;     /* comma-separated format names */
  uint32_t flags;          /* STRAND_PORT_* */
  const char *description; /* one line for `strand plugins inspect` */
} StrandPort;

typedef enum {
  STRAND_PARAM_BOOL = 1,
  STRAND_PARAM_INT,
  STRAND_PARAM_DOUBLE,
  STRAND_PARAM_STRING,
  STRAND_PARAM_ENUM, /* a string from `choices` */
  STRAND_PARAM_PATH, /* a file the stage reads: hashed and recorded */
} StrandParamType;

/* Parameter flags. */
#define STRAND_PARAM_REQUIRED (1u << 0)
#define STRAND_PARAM_HAS_MIN (1u << 1) /* `min` applies (int, double) */
#define STRAND_PARAM_HAS_MAX (1u << 2) /* `max` applies (int, double) */

typedef struct {
  const char *name;
  uint32_t type;             /* StrandParamType */
  uint32_t flags;            /* STRAND_PARAM_* */
  const char *description;
  const char *default_value; /* in the type's text form; NULL: no default */
  double min;
  double max;
  const char *choices;       /* ENUM: comma-separated allowed values */
} StrandParamSpec;

/* What one run of the stage on one sample needs. Zero means "not stated". */
typedef struct {
  uint32_t cores;
  uint32_t gpus;
  uint64_t memory_bytes;
  uint64_t scratch_bytes;
  uint64_t output_bytes;      /* estimate, checked against free store space */
  double expected_seconds;    /* duration estimate; refined by observed runs */
  const char *equipment_class; /* NULL: any compute node */
} StrandResources;

typedef enum {
  STRAND_ACTION_FAIL_SAMPLE = 0, /* stop this sample, quarantine its outputs */
  STRAND_ACTION_RETRY,           /* run again, with back-off */
  STRAND_ACTION_RETRY_ESCALATE,  /* run again with resources multiplied */
  STRAND_ACTION_REROUTE,         /* run again on other equipment */
  STRAND_ACTION_FALLBACK,        /* run `fallback_plugin` instead */
  STRAND_ACTION_HALT,            /* stop the whole run */
  STRAND_ACTION_CONTINUE,        /* record the failure, go on downstream */
} StrandAction;

/* One rule of a stage's error policy: what to do on an error of one class. */
typedef struct {
  uint32_t error_class;        /* StrandErrorClass */
  uint32_t action;             /* StrandAction */
  uint32_t max_attempts;       /* total attempts, first included */
  uint32_t backoff_ms;         /* delay before the second attempt; doubles */
  double escalate_factor;      /* RETRY_ESCALATE: memory/time multiplier */
  const char *fallback_plugin; /* FALLBACK: "name" or "name@version" */
} StrandPolicyRule;

/* Descriptor flags. */
#define STRAND_STAGE_DETERMINISTIC (1u << 0) /* same inputs, same output bytes */
/* Runs once per run instead of once per sample (ABI 1.1): a sequencer, a
 * demultiplexer, a reference index, a cohort report. */
#define STRAND_STAGE_PER_RUN (1u << 1)

/* Called in an isolated worker for each task. Return STRAND_OK; or the value
 * of host->fail(), which says why and classifies the failure; or
 * STRAND_E_CANCELLED when stopping because host->cancelled() became true. */
typedef int (*StrandRunFunc)(StrandTask *task, const StrandHost *host);
/* Optional: checks a task's parameters (and sample inputs, where the sample
 * sheet supplies them) before any task of the run starts. Inputs made by
 * upstream stages do not exist yet: input_count() counts only what exists,
 * and output_path() is refused. Report each problem with host->fail()
 * (usually STRAND_ERROR_CONFIG) and return its value; STRAND_OK otherwise. */
typedef int (*StrandValidateFunc)(StrandTask *task, const StrandHost *host);
/* Optional: asks a running stage to stop soon; called from a signal-safe
 * context, so it may only set a flag. */
typedef void (*StrandCancelFunc)(StrandTask *task);

typedef struct StrandStageDescriptor {
  /* Header: filled by STRAND_DESCRIPTOR_HEADER, read before anything else. */
  uint32_t magic;        /* STRAND_DESCRIPTOR_MAGIC */
  uint16_t abi_major;    /* STRAND_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;    /* STRAND_ABI_MINOR the plugin was built against */
  uint32_t struct_size;  /* sizeof (StrandStageDescriptor) at build time */
  uint16_t port_size;    /* sizeof (StrandPort) */
  uint16_t param_size;   /* sizeof (StrandParamSpec) */
  uint16_t rule_size;    /* sizeof (StrandPolicyRule) */
  uint16_t resources_size; /* sizeof (StrandResources) */

  const char *name;        /* [a-z0-9][a-z0-9_-]*, at most 64 bytes */
  const char *version;     /* semantic version "MAJOR.MINOR.PATCH" */
  const char *description; /* one line */
  const char *license;     /* SPDX identifier */
  const char *url;         /* home page or source; may be NULL */
  uint32_t flags;          /* STRAND_STAGE_* */

  const StrandPort *inputs;
  uint32_t n_inputs;
  const StrandPort *outputs;
  uint32_t n_outputs;
  const StrandParamSpec *params;
  uint32_t n_params;
  const StrandPolicyRule *policy; /* default error policy; may be overridden */
  uint32_t n_policy;              /* per stage in the pipeline */

  const StrandResources *resources; /* may be NULL: nothing stated */

  StrandRunFunc run;           /* required */
  StrandValidateFunc validate; /* optional */
  StrandCancelFunc cancel;     /* optional */
} StrandStageDescriptor;

/* Offset past the last required member: a descriptor never declares less. */
#define STRAND_DESCRIPTOR_MIN_SIZE \
  (offsetof (StrandStageDescriptor, run) + sizeof (StrandRunFunc))

#define STRAND_DESCRIPTOR_HEADER                                  \
  .magic = STRAND_DESCRIPTOR_MAGIC, .abi_major = STRAND_ABI_MAJOR, \
  .abi_minor = STRAND_ABI_MINOR,                                   \
  .struct_size = sizeof (StrandStageDescriptor),                  \
  .port_size = sizeof (StrandPort), .param_size = sizeof (StrandParamSpec), \
  .rule_size = sizeof (StrandPolicyRule),                         \
  .resources_size = sizeof (StrandResources)

/* Defines the entry function returning `descriptor`; use it at file scope
 * followed by a semicolon: STRAND_STAGE_DEFINE (my_stage); */
#define STRAND_STAGE_DEFINE(descriptor)                                   \
  STRAND_EXPORT const StrandStageDescriptor *strand_stage_entry (void);   \
  STRAND_EXPORT const StrandStageDescriptor *strand_stage_entry (void)    \
  {                                                                       \
    return &(descriptor);                                                 \
  }                                                                       \
  extern const StrandStageDescriptor *strand_stage_entry (void)

#define STRAND_N_ELEMENTS(array) ((uint32_t) (sizeof (array) / sizeof ((array)[0])))

#ifdef __cplusplus
}
#endif

#endif /* STRAND_STAGE_H */
