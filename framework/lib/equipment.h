/* The equipment inventory: instruments and compute, their capacity, their
 * operating hours and planned maintenance (schemas/equipment.schema.json).
 * The scheduler plans onto it; the validator checks a pipeline can run on it. */
#pragma once

#include <glib.h>

#include "equipment-health.h"
#include "problems.h"

G_BEGIN_DECLS

typedef struct {
  gint64 start_us; /* wall time */
  gint64 end_us;
  char *reason;
} StrandMaintenance;

/* Operating hours: weekday mask (bit 0 Monday .. bit 6 Sunday) and a daily
 * span in minutes from midnight UTC; end may pass midnight (end < start). */
typedef struct {
  guint8 days;
  guint16 start_min;
  guint16 end_min;
} StrandHours;

typedef struct {
  char *id;
  char *equipment_class; /* "compute", "sequencer", ... */
  guint capacity;        /* tasks at once */
  guint cores;           /* per slot */
  guint64 memory_bytes;  /* per slot */
  guint gpus;
  GArray *hours;         /* StrandHours; empty: always operating */
  GPtrArray *maintenance; /* StrandMaintenance, sorted by start */
  char *where;
  StrandHealth *health;  /* service counters and failure estimate; never NULL */
  char *slurm_partition; /* compute backed by this Slurm partition (executor-slurm.h); NULL: none */
  char *slurm_account;   /* the Slurm account its jobs are charged to; NULL: the user's default */
} StrandEquipment;

typedef struct {
  GPtrArray *items; /* StrandEquipment */
} StrandInventory;

void strand_inventory_free (StrandInventory *inventory);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandInventory, strand_inventory_free)

StrandInventory *strand_inventory_load (const char *path, GPtrArray *problems);
StrandInventory *strand_inventory_load_data (const char *data, gsize len, const char *name,
                                             GPtrArray *problems);

/* True when the equipment operates at `wall_us`, outside maintenance. */
gboolean strand_equipment_available (const StrandEquipment *equipment, gint64 wall_us);
/* Longest stretch in [from_us, until_us) during which the equipment operates
 * without maintenance, in microseconds. */
gint64 strand_equipment_longest_window (const StrandEquipment *equipment, gint64 from_us,
                                        gint64 until_us);

G_END_DECLS
