/* How a run used its equipment, from its own task records: over the run's
 * span (the first task's start to the last one's end), for each piece of
 * equipment its tasks were assigned to, the tasks it ran and its busy share
 * = slot-time used / (capacity x span), each task holding one slot while it
 * ran; and for the run, its wall time and the tasks' summed wall and CPU
 * time. Tasks reused from an earlier run did not run and count nowhere; a
 * task's earlier attempts are not in its record and are not counted.
 *
 * This is the run's own view. utilization.h answers the facility's
 * question (a machine's working time over days, from its status history).
 *
 *   {"start": RFC3339 | null, "end": RFC3339 | null, "wall_seconds": S,
 *    "tasks": N, "task_seconds": S,
 *    "cpu_seconds": S | null, "cpu_tasks": N (tasks whose CPU time is known),
 *    "equipment": [{"id": ID | null (tasks assigned to none), "class": C | null,
 *                   "capacity": N | null (not in the inventory),
 *                   "tasks": N, "busy_seconds": S, "busy_share": X | null}]}
 *
 * Equipment comes in inventory order, then any the inventory does not
 * name, then the unassigned tasks. */
#pragma once

#include "equipment.h"
#include "runner.h"

G_BEGIN_DECLS

/* `inventory` may be NULL: capacities and shares are then unknown. */
JsonNode *strand_run_usage (const StrandRun *run, const StrandInventory *inventory);
/* A few lines for a terminal: the run's times, then one line per equipment. */
char *strand_run_usage_text (JsonNode *usage);

G_END_DECLS
