/* Holding a running task to the scratch space it declared, from inside its
 * worker (worker.c), so the local and the Slurm executor enforce it alike.
 *
 * Before a task starts the host checks that its scratch is free on the
 * disk; while it runs nothing else would stop a stage (or a tool it runs,
 * say a sort spilling temporary files) from filling the disk that other
 * tasks and the store share. A full disk then fails everyone as storage,
 * and retrying the culprit with more space never happens.
 *
 * The rule: a task that declares scratch (StrandResources.scratch_bytes)
 * may write that, plus its declared output estimate (its outputs sit on the
 * same disk until they are stored), plus a margin of a tenth and 1 MiB, as
 * its memory has. What counts is what its files take on disk (st_blocks:
 * sparse holes are free, a file with several names counts its share) under
 * the task's scratch/ and outputs/ folders. A task past its limit is
 * stopped, tools included, and fails as `resource`, saying how much it wrote
 * against what limit, so a retry-escalate rule raises the limit (the runner
 * scales scratch with memory) and the others run on untouched. A task that
 * declares no scratch is not watched. A disk that fills first is still the
 * stage's to report (ENOSPC: storage).
 *
 * Linux offers no per-directory limit to an unprivileged process (quotas and
 * fanotify need root; a size-limited tmpfs would be memory), so a thread of
 * the worker measures: at an interval a hundred times what one measurement
 * took, and at least 100 ms, so the watch costs the stage at most 1% of one
 * core; and once more when run() returns. The thread allocates nothing (a
 * thread's first malloc reserves a 64 MiB arena, which would come out of the
 * task's address-space limit) and walks at most 64 levels of folders. */
#pragma once

#include <glib.h>

#include "task.h"

G_BEGIN_DECLS

/* What `spec` may have on disk before it is stopped; 0: it declares no
 * scratch and is not watched. */
guint64 strand_scratch_limit (const StrandTaskSpec *spec);

/* Bytes the files under `work_dir`'s scratch/ and outputs/ take on disk. */
guint64 strand_scratch_usage (const char *work_dir);

typedef struct StrandScratchWatch StrandScratchWatch;

/* Starts watching `spec`'s folders from a thread of the calling worker,
 * reporting on `report_fd`; NULL when there is nothing to watch. Call it
 * before the task's memory limit is measured: the thread's stack is the
 * worker's, not the stage's. */
StrandScratchWatch *strand_scratch_watch_start (const StrandTaskSpec *spec, int report_fd);

/* run() returned: stops the watch and, when `check`, measures once more.
 * A task past its limit (now, or as the watch stopped it) never returns
 * from here: its failure is reported and the worker ends. NULL is ignored. */
void strand_scratch_watch_stop (StrandScratchWatch *watch, gboolean check);

G_END_DECLS
