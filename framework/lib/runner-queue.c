#include "runner-queue.h"

typedef struct {
  guint64 id;
  double critical_path;
  guint sample_index;
  guint stage_order;
} Entry;

typedef struct {
  StrandTaskQueue parent;
  GArray *heap; /* Entry, a binary heap with the next task at 0 */
} HeapQueue;

/* TRUE when `a` goes before `b`. */
static gboolean
before (const Entry *a, const Entry *b)
{
  if (a->critical_path != b->critical_path)
    return a->critical_path > b->critical_path;
  if (a->sample_index != b->sample_index)
    return a->sample_index < b->sample_index;
  if (a->stage_order != b->stage_order)
    return a->stage_order < b->stage_order;
  return a->id < b->id;
}

#define AT(h, i) (&g_array_index ((h), Entry, (i)))

static void
swap (GArray *h, guint i, guint j)
{
  Entry t = *AT (h, i);
  *AT (h, i) = *AT (h, j);
  *AT (h, j) = t;
}

static void
heap_push (StrandTaskQueue *queue, const StrandReadyTask *task)
{
  GArray *h = ((HeapQueue *) queue)->heap;
  Entry e = { task->id, task->critical_path, task->sample_index, task->stage_order };
  g_array_append_val (h, e);
  for (guint i = h->len - 1; i > 0 && before (AT (h, i), AT (h, (i - 1) / 2)); i = (i - 1) / 2)
    swap (h, i, (i - 1) / 2);
}

static void
remove_at (GArray *h, guint i)
{
  guint last = h->len - 1;
  swap (h, i, last);
  g_array_set_size (h, last);
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, best = i;
      if (l < h->len && before (AT (h, l), AT (h, best)))
        best = l;
      if (r < h->len && before (AT (h, r), AT (h, best)))
        best = r;
      if (best == i)
        break;
      swap (h, i, best);
      i = best;
    }
  for (; i > 0 && before (AT (h, i), AT (h, (i - 1) / 2)); i = (i - 1) / 2)
    swap (h, i, (i - 1) / 2);
}

/* Strict order: the first task waits for room rather than being passed
 * over, so a large task is not starved by small ones. */
static gboolean
heap_pop (StrandTaskQueue *queue, gboolean (*fits) (guint64 id, gpointer data), gpointer data,
          guint64 *id)
{
  GArray *h = ((HeapQueue *) queue)->heap;
  if (h->len == 0 || (fits && !fits (AT (h, 0)->id, data)))
    return FALSE;
  *id = AT (h, 0)->id;
  remove_at (h, 0);
  return TRUE;
}

static guint
heap_length (StrandTaskQueue *queue)
{
  return ((HeapQueue *) queue)->heap->len;
}

static void
heap_free (StrandTaskQueue *queue)
{
  g_array_unref (((HeapQueue *) queue)->heap);
  g_free (queue);
}

static const StrandTaskQueueClass heap_class = { heap_push, heap_pop, heap_length, heap_free };

StrandTaskQueue *
strand_task_queue_default_new (void)
{
  HeapQueue *q = g_new0 (HeapQueue, 1);
  q->parent.klass = &heap_class;
  q->heap = g_array_new (FALSE, FALSE, sizeof (Entry));
  return &q->parent;
}

void
strand_task_queue_push (StrandTaskQueue *queue, const StrandReadyTask *task)
{
  queue->klass->push (queue, task);
}

gboolean
strand_task_queue_pop (StrandTaskQueue *queue, gboolean (*fits) (guint64 id, gpointer data),
                       gpointer data, guint64 *id)
{
  return queue->klass->pop (queue, fits, data, id);
}

guint
strand_task_queue_length (StrandTaskQueue *queue)
{
  return queue->klass->length (queue);
}

void
strand_task_queue_free (StrandTaskQueue *queue)
{
  if (queue != NULL)
    queue->klass->free (queue);
}
