/* The StrandHost function table as implemented inside a worker process.
 * Everything here runs in the worker, never in the host process. */
#pragma once

#include <strand/host.h>

#include "task.h"

G_BEGIN_DECLS

/* Fills `task` for `spec`, writing protocol lines to `report_fd`. */
struct StrandTask {
  const StrandTaskSpec *spec;
  const StrandStageDescriptor *desc;
  int report_fd;
  char *outputs_dir;
  char *scratch_dir;
  GHashTable *strings;     /* keeps returned strings alive: key -> value */
  GHashTable *output_files; /* "port/file" already created */
  GHashTable *tools_seen;  /* argv[0] already recorded */
  /* The tool run in progress, for stop_tools from another of the stage's
   * threads: its processes (0 once reaped), and whether the stage stopped
   * its tools. */
  GMutex tools_lock;
  GPid *tool_pids;
  size_t n_tool_pids;
  gboolean tools_stopped;
};

const StrandHost *strand_host_table (void);
void strand_task_init (StrandTask *task, const StrandTaskSpec *spec,
                       const StrandStageDescriptor *desc, int report_fd);
void strand_task_clear (StrandTask *task);
/* Sends one protocol line ({"t": type, ...}) to the host. */
void strand_task_report (StrandTask *task, JsonNode *message);
/* Set from the worker's SIGTERM handler. */
extern volatile int strand_task_cancel_requested;

G_END_DECLS
