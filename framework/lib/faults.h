/* Deterministic fault injection, for testing how runs recover.
 *
 * Off unless STRAND_FAULTS is set; when it is not, the host holds a NULL
 * StrandFaults and every hook is one pointer test. The value is a spec, or
 * "@FILE" (or the path of an existing file) holding one. A spec is rules
 * separated by ';' or new lines ('#' starts a comment), each
 * KIND[:KEY=VALUE,...]:
 *
 *   seed=N                        seeds every random choice (default 1)
 *   fail:stage=S,class=C          the stage fails with error class C
 *   crash:stage=S,signal=SEGV     the worker dies of a signal (SEGV, ABRT,
 *                                 KILL, BUS, ILL, FPE)
 *   hang:stage=S                  the worker sleeps until it is killed
 *   corrupt:stage=S,bytes=N       N bytes of the stage's stored output are
 *                                 flipped after it was recorded
 *   enospc:bytes=N                the store fails with ENOSPC after N more
 *                                 bytes written
 *   equipment-down:id=E,at=T      equipment E goes down at T: "+SECONDS"
 *                                 after the run starts, or RFC 3339
 *   kill-host:record=N            the host SIGKILLs itself once its N-th
 *                                 record of the run is durable
 *
 * fail, crash, hang and corrupt also take sample=ID (default: every sample),
 * attempt=K (default: every attempt) and p=P, a probability in [0, 1] drawn
 * per task and attempt from the seed, so a run replays exactly.
 *
 * The host decides which fault hits a task (strand_faults_for_task) and puts
 * it in the task's spec; the worker carries it out. Nothing here runs in a
 * normal run. */
#pragma once

#include <glib.h>
#include <strand/abi.h>

G_BEGIN_DECLS

#define STRAND_FAULTS_ERROR (strand_faults_error_quark ())
GQuark strand_faults_error_quark (void);

typedef enum {
  STRAND_FAULTS_ERROR_SYNTAX,
  STRAND_FAULTS_ERROR_UNREADABLE,
} StrandFaultsErrorCode;

typedef enum {
  STRAND_FAULT_NONE = 0,
  STRAND_FAULT_FAIL,
  STRAND_FAULT_CRASH,
  STRAND_FAULT_HANG,
  STRAND_FAULT_CORRUPT,
  STRAND_FAULT_ENOSPC,
  STRAND_FAULT_EQUIPMENT_DOWN,
  STRAND_FAULT_KILL_HOST,
} StrandFaultKind;

typedef struct {
  StrandFaultKind kind;
  char *stage;                  /* NULL: any */
  char *sample;                 /* NULL: any */
  int attempt;                  /* 0: any */
  double probability;           /* 1: always */
  StrandErrorClass error_class; /* fail */
  int signal;                   /* crash */
  guint64 bytes;                /* corrupt, enospc */
  char *equipment;              /* equipment-down */
  gint64 at_us;                 /* equipment-down: wall time, or offset */
  gboolean at_relative;         /* at_us counts from the run's start */
  guint64 record;               /* kill-host */
  guint index;                  /* position in the spec, from 1 */
} StrandFault;

typedef struct StrandFaults StrandFaults;

/* Parses a spec; errors name the rule ("rule 2 'crash:signal=X': ..."). */
StrandFaults *strand_faults_parse (const char *spec, const char *source, GError **error);
/* From STRAND_FAULTS: NULL without error when it is unset or empty. */
StrandFaults *strand_faults_from_env (GError **error);
void strand_faults_free (StrandFaults *faults);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandFaults, strand_faults_free)

guint64 strand_faults_seed (const StrandFaults *faults);
GPtrArray *strand_faults_rules (const StrandFaults *faults); /* StrandFault, borrowed */

/* The first fail, crash or hang rule hitting this attempt of the task, or
 * NULL. Deterministic in the seed, the rule, the task and the attempt. */
const StrandFault *strand_faults_for_task (const StrandFaults *faults, const char *stage,
                                           const char *sample, int attempt);
/* Bytes to flip in this task's stored outputs (0: none). */
guint64 strand_faults_corrupt_bytes (const StrandFaults *faults, const char *stage,
                                     const char *sample, int attempt);
/* Flips `n` bytes of the file at `path` at offsets drawn from `seed`
 * (and the path), changing its mode to do it and restoring it after. */
gboolean strand_faults_corrupt_file (const char *path, guint64 n, guint64 seed, GError **error);
/* ENOSPC threshold for the store: G_MAXUINT64 when there is none. */
guint64 strand_faults_enospc_after (const StrandFaults *faults);
/* The record count at which the host kills itself; 0: never. */
guint64 strand_faults_kill_host_record (const StrandFaults *faults);

/* Equipment failures, for whoever assigns tasks to equipment (the scheduler):
 * the run tells when it starts, then asks, or is called back from
 * strand_faults_tick() once per equipment when its time comes. */
typedef void (*StrandEquipmentDownFunc) (const char *equipment, gint64 at_us, gpointer user_data);
void strand_faults_start (StrandFaults *faults, gint64 run_start_us);
void strand_faults_watch_equipment (StrandFaults *faults, StrandEquipmentDownFunc func,
                                    gpointer user_data);
/* Fires the callback for equipment whose time has come, once each. */
void strand_faults_tick (StrandFaults *faults, gint64 now_us);
gboolean strand_faults_equipment_down (const StrandFaults *faults, const char *equipment,
                                       gint64 now_us);
/* The next time an equipment goes down after `now_us`; G_MAXINT64: none. */
gint64 strand_faults_next_equipment_event (const StrandFaults *faults, gint64 now_us);

const char *strand_fault_kind_name (StrandFaultKind kind);

G_END_DECLS
