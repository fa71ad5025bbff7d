/* Strand plugin SDK: the functions the host lends a running stage.
 *
 * A stage never links against the host. Its run() receives `const StrandHost *`
 * and calls through it, as SQLite extensions do with sqlite3_api_routines.
 * Members are only ever appended; a plugin that uses a member newer than the
 * oldest host it supports checks STRAND_HOST_HAS (host, member) first.
 *
 * Every call takes the task it acts for, from the thread that called run(),
 * except where a member says otherwise. Strings returned by the host stay
 * valid until run() returns. Status returns follow StrandStatus: >= 0 success,
 * < 0 an error. */
#ifndef STRAND_HOST_H
#define STRAND_HOST_H

#include <strand/stage.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One command of an external tool run, or one step of a pipe of them. */
typedef struct {
  const char *const *argv;         /* argv[0] looked up on PATH; NULL-terminated */
  const char *const *version_argv; /* how to ask its version, e.g. {"bwa", NULL};
                                      NULL: `argv[0] --version` */
} StrandCommand;

/* How to connect a tool run (a pipe of one or more commands) to files. */
typedef struct {
  uint32_t struct_size;    /* sizeof (StrandToolRun) */
  const char *stdin_path;  /* NULL: /dev/null */
  const char *stdout_path; /* NULL: the task log */
  const char *stderr_path; /* NULL: the task log */
} StrandToolRun;

struct StrandHost {
  uint32_t struct_size; /* sizeof (StrandHost) of the host's build */
  uint16_t abi_major;
  uint16_t abi_minor;

  /* Logging, into the task's log and the host's. */
  void (*log) (StrandTask *task, StrandLogLevel level, const char *format, ...)
      STRAND_PRINTF (3, 4);
  /* Says why the stage failed and how to classify it; returns STRAND_E_FAILED
   * so a stage can write `return host->fail (task, ...);`. */
  int (*fail) (StrandTask *task, StrandErrorClass error_class,
               const char *format, ...) STRAND_PRINTF (3, 4);

  /* The task. */
  const char *(*sample_id) (StrandTask *task); /* NULL for a run-wide task */
  const char *(*sample_meta) (StrandTask *task, const char *key); /* or NULL */
  uint32_t (*cores) (StrandTask *task);        /* granted cores, >= 1 */
  uint64_t (*memory_bytes) (StrandTask *task); /* granted memory, 0: unlimited */
  int (*attempt) (StrandTask *task);           /* 1 for the first attempt */

  /* Parameters, with defaults and ranges already applied by the host. */
  int (*param_string) (StrandTask *task, const char *name, const char **value);
  int (*param_int) (StrandTask *task, const char *name, int64_t *value);
  int (*param_double) (StrandTask *task, const char *name, double *value);
  int (*param_bool) (StrandTask *task, const char *name, bool *value);

  /* Inputs: read-only files, verified against their recorded digests. */
  int (*input_count) (StrandTask *task, const char *port);
  const char *(*input_path) (StrandTask *task, const char *port, size_t index);
  const char *(*input_format) (StrandTask *task, const char *port, size_t index);

  /* Outputs: a fresh path in the task's staging area. Write the file there;
   * the host hashes and stores it once run() has returned STRAND_OK. The
   * stage may instead create a directory at that path (a sequencer's run
   * folder, an aligner's index): the host stores every regular file in it
   * and the directory as a tree whose digest names the whole; downstream
   * stages receive it as a read-only directory. */
  int (*output_path) (StrandTask *task, const char *port, const char *file_name,
                      const char **path);

  /* Progress in [0, 1] and a short message (may be NULL). */
  void (*progress) (StrandTask *task, double fraction, const char *message);
  /* True once the host wants the stage to stop; check it between chunks.
   * Callable from any thread of the stage. */
  bool (*cancelled) (StrandTask *task);
  /* A private scratch directory, removed after the task. */
  const char *(*scratch_dir) (StrandTask *task);

  /* Runs `n` commands connected by pipes (never through a shell) and records
   * each tool's path and version in the task's provenance. `exit_status`
   * receives the last command's exit status, or 128 + signal. */
  int (*run_tool) (StrandTask *task, const StrandCommand *commands, size_t n,
                   const StrandToolRun *io, int *exit_status);

  /* Records a named metric of this task (QC figures, counts). */
  int (*metric) (StrandTask *task, const char *name, double value);

  /* ---- ABI 1.1 ---- */

  /* The samples of the run, in sample-sheet order: what a per-run stage
   * (STRAND_STAGE_PER_RUN: a sequencer, demultiplexing, a cohort report)
   * works for. A per-sample task sees only its own sample. */
  size_t (*run_sample_count) (StrandTask *task);
  const char *(*run_sample_id) (StrandTask *task, size_t index); /* or NULL */
  const char *(*run_sample_meta) (StrandTask *task, const char *sample_id,
                                  const char *key); /* or NULL */
  /* Like output_path, for an output of a per-run stage that belongs to one
   * sample of the run (a demultiplexed FASTQ): downstream per-sample stages
   * receive it as that sample's input only. Outputs from output_path reach
   * every sample's downstream task. STRAND_E_INVALID for an unknown sample. */
  int (*sample_output_path) (StrandTask *task, const char *port, const char *sample_id,
                             const char *file_name, const char **path);
  /* The sample an input belongs to (a per-run stage gathering per-sample
   * outputs), or NULL when it belongs to the run as a whole. */
  const char *(*input_sample) (StrandTask *task, const char *port, size_t index);

  /* ---- ABI 1.2 ---- */

  /* Stops the task's tools: every command of the run_tool in progress gets
   * SIGTERM, and no later run_tool of the task starts anything; each returns
   * STRAND_E_CANCELLED. Callable from any thread of the stage, with or
   * without a run in progress: a stage that checks its inputs in a thread
   * while its tools read them stops the tools at the first bad record, then
   * says why once run_tool has returned. */
  int (*stop_tools) (StrandTask *task);
};

#define STRAND_HOST_HAS(host, member)                   \
  ((host)->struct_size >= offsetof (StrandHost, member) + \
                              sizeof (((StrandHost *) 0)->member))

#ifdef __cplusplus
}
#endif

#endif /* STRAND_HOST_H */
