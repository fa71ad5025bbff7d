#include "executor.h"

gboolean
strand_executor_can_start (StrandExecutor *executor, const StrandTaskSpec *spec)
{
  return executor->klass->can_start (executor, spec);
}

gboolean
strand_executor_submit (StrandExecutor *executor, guint64 id, const StrandTaskSpec *spec,
                        StrandErrorClass *error_class, GError **error)
{
  return executor->klass->submit (executor, id, spec, error_class, error);
}

gint64
strand_executor_prepare (StrandExecutor *executor, GArray *pollfds)
{
  return executor->klass->prepare (executor, pollfds);
}

void
strand_executor_dispatch (StrandExecutor *executor, GArray *pollfds, guint first, GArray *events)
{
  executor->klass->dispatch (executor, pollfds, first, events);
}

void
strand_executor_cancel (StrandExecutor *executor, guint64 id, gboolean force)
{
  executor->klass->cancel (executor, id, force);
}

guint
strand_executor_running (StrandExecutor *executor)
{
  return executor->klass->running (executor);
}

guint
strand_executor_capacity (StrandExecutor *executor)
{
  return executor->klass->capacity (executor);
}

void
strand_executor_free (StrandExecutor *executor)
{
  if (executor != NULL)
    executor->klass->free (executor);
}
