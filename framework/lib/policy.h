/* Error policies: how a failed task is classified, and what happens next.
 *
 * Classification reads the system, not exit-code lists: a worker killed by
 * SIGKILL while its resident memory had grown to its limit (rusage), one
 * that saw its own address space at its RLIMIT_AS as it died (whatever
 * status or signal the tool chose), or one the cgroup's OOM killer ended
 * (memory.events) is out of memory; a worker
 * the host stopped at its deadline timed out; any other signal is a crash;
 * otherwise the class the stage gave with host->fail() stands.
 *
 * Each stage has one rule per error class: the pipeline's override for that
 * class (or its "any" rule), else the plugin's default, else the host's
 * (strand_policy_default_rule). strand_policy_decide() turns a failure into
 * a decision: another attempt (after a back-off that doubles, on the clock's
 * time), with escalated memory and time, on other equipment or with the
 * fallback plugin; or, once attempts are spent, failing the sample
 * (quarantining what it made), halting the run, or continuing downstream. */
#pragma once

#include <glib.h>

#include "pipeline.h"
#include "plugin-info.h"

G_BEGIN_DECLS

/* Why the host itself ended a worker. */
typedef enum {
  STRAND_KILL_NONE = 0,
  STRAND_KILL_TIMEOUT,
  STRAND_KILL_CANCEL,
} StrandKillReason;

/* Everything known about how a worker ended. */
typedef struct {
  gboolean started;            /* FALSE: it never ran (fork failed, equipment down) */
  int exit_status;             /* -1 when killed by a signal */
  int term_signal;             /* 0 when it exited */
  StrandKillReason killed_by_host;
  gint64 timeout_us;
  guint64 max_rss_bytes;       /* from wait4's rusage */
  guint64 base_rss_bytes;      /* resident when it started (a forked worker
                                * shares its parent's pages) */
  guint64 memory_limit_bytes;  /* what the task was granted; 0: no limit */
  guint64 cgroup_oom_kills;    /* memory.events oom_kill, when a cgroup was used */
  gboolean memory_exhausted;   /* the worker saw its address space at its limit as it died */
  gboolean done_seen;          /* run() returned */
  gint64 done_status;
  gboolean fail_seen;          /* the stage (or the worker) said why it failed */
  StrandErrorClass reported_class;
  const char *reported_message;
  const char *log_path;
} StrandWorkerExit;

/* The class of the failure (STRAND_ERROR_NONE: it succeeded) and a one-line
 * message saying what the system saw. */
StrandErrorClass strand_classify_exit (const StrandWorkerExit *exit, char **message);

typedef struct StrandPolicy StrandPolicy;

/* The rules of one stage: `overrides` (StrandPolicyOverride from the
 * pipeline, may be NULL) over `plugin`'s over the host's defaults. */
StrandPolicy *strand_policy_new (const StrandPluginInfo *plugin, GPtrArray *overrides);
void strand_policy_free (StrandPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandPolicy, strand_policy_free)

typedef struct {
  StrandAction action;
  guint max_attempts;     /* total, first included */
  guint backoff_ms;       /* before the 2nd attempt; doubles after */
  double escalate_factor; /* memory and time, per attempt */
  const char *fallback_plugin;
  const char *source;     /* "pipeline", "plugin" or "host" */
} StrandRule;

const StrandRule *strand_policy_rule (const StrandPolicy *policy, StrandErrorClass error_class);
/* The host's rule for a class no one else gave one for. */
void strand_policy_default_rule (StrandErrorClass error_class, StrandRule *rule);

typedef struct {
  StrandAction action;      /* what the rule says */
  gboolean run_again;       /* another attempt follows */
  gboolean exhausted;       /* the rule wanted another attempt, but none is left */
  StrandAction final;       /* when not running again: FAIL_SAMPLE, HALT or CONTINUE */
  gint64 delay_us;          /* before the next attempt */
  double memory_factor;     /* multiply the memory and time limits by these */
  double time_factor;
  const char *fallback_plugin;
  const char *rule_source;
} StrandDecision;

/* What to do after attempt `attempt` (from 1) failed with `error_class`.
 * `fallen_back`: the task already runs its fallback plugin (a second
 * fallback is not taken). */
void strand_policy_decide (const StrandPolicy *policy, StrandErrorClass error_class, int attempt,
                           gboolean fallen_back, StrandDecision *decision);

G_END_DECLS
