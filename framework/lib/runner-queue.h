/* The "next task" policy of a run: which ready task starts next.
 *
 * The run loop pushes every task whose inputs are ready and, whenever the
 * executor has room, asks for the next one. The order is the queue's
 * business: a scheduler supplies its own (priority from degradation slack,
 * equipment allocation with backfill) through the same vtable. The default
 * is a heap: longest critical path first (the chain of stages still ahead),
 * then sample-sheet order, then stage order. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the queue may know of a ready task. */
typedef struct {
  guint64 id;              /* the run's handle for the task */
  const char *sample_id;   /* NULL for a run-wide task */
  const char *stage_id;
  guint sample_index;      /* in the sample sheet */
  guint stage_order;       /* in the pipeline's topological order */
  double critical_path;    /* expected seconds of the longest chain from here on */
  guint cores;
  guint64 memory_bytes;
  const char *equipment_class;
} StrandReadyTask;

typedef struct StrandTaskQueue StrandTaskQueue;

typedef struct {
  void (*push) (StrandTaskQueue *queue, const StrandReadyTask *task);
  /* The task to start next, removed from the queue; FALSE when empty.
   * `fits` says whether a task can start now (the executor's room); a
   * queue may pass over one that does not (backfill) or wait for it. */
  gboolean (*pop) (StrandTaskQueue *queue, gboolean (*fits) (guint64 id, gpointer data),
                   gpointer data, guint64 *id);
  guint (*length) (StrandTaskQueue *queue);
  void (*free) (StrandTaskQueue *queue);
} StrandTaskQueueClass;

struct StrandTaskQueue {
  const StrandTaskQueueClass *klass;
};

StrandTaskQueue *strand_task_queue_default_new (void);
void strand_task_queue_push (StrandTaskQueue *queue, const StrandReadyTask *task);
gboolean strand_task_queue_pop (StrandTaskQueue *queue, gboolean (*fits) (guint64 id, gpointer data),
                                gpointer data, guint64 *id);
guint strand_task_queue_length (StrandTaskQueue *queue);
void strand_task_queue_free (StrandTaskQueue *queue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandTaskQueue, strand_task_queue_free)

G_END_DECLS
