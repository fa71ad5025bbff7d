#include "policy.h"

#include <signal.h>

/* Memory use this close to the limit means the limit is what ended it. */
#define NEAR_LIMIT(used, limit) ((limit) > 0 && (used) >= (limit) / 10 * 9)

StrandErrorClass
strand_classify_exit (const StrandWorkerExit *e, char **message)
{
  const char *log = e->log_path ? e->log_path : "the task log";
  if (e->killed_by_host == STRAND_KILL_TIMEOUT)
    {
      *message = g_strdup_printf ("killed after its time limit of %.1f s",
                                  (double) e->timeout_us / G_USEC_PER_SEC);
      return STRAND_ERROR_TIMEOUT;
    }
  if (e->cgroup_oom_kills > 0)
    {
      *message = g_strdup_printf ("out of memory: the kernel killed it at its cgroup's limit of "
                                  "%" G_GUINT64_FORMAT " bytes (memory.events oom_kill)",
                                  e->memory_limit_bytes);
      return STRAND_ERROR_RESOURCE;
    }
  guint64 grown = e->max_rss_bytes > e->base_rss_bytes ? e->max_rss_bytes - e->base_rss_bytes : 0;
  gboolean killed_near = e->term_signal == SIGKILL && e->killed_by_host == STRAND_KILL_NONE &&
                         NEAR_LIMIT (grown, e->memory_limit_bytes);
  if (e->memory_exhausted || killed_near)
    {
      g_autofree char *how = e->term_signal ? g_strdup_printf ("signal %d (%s)", e->term_signal,
                                                               g_strsignal (e->term_signal))
                                            : g_strdup_printf ("exit status %d", e->exit_status);
      *message = g_strdup_printf ("out of memory: it ended with %s with its memory at its limit "
                                  "of %" G_GUINT64_FORMAT " bytes (peak resident %" G_GUINT64_FORMAT
                                  " bytes); see %s", how, e->memory_limit_bytes, e->max_rss_bytes,
                                  log);
      return STRAND_ERROR_RESOURCE;
    }
  if (e->killed_by_host == STRAND_KILL_CANCEL)
    {
      *message = g_strdup ("cancelled: the run was stopped");
      return STRAND_ERROR_TRANSIENT;
    }
  if (e->term_signal != 0)
    {
      *message = g_strdup_printf ("the stage crashed: signal %d (%s); see %s", e->term_signal,
                                  g_strsignal (e->term_signal), log);
      return STRAND_ERROR_CRASH;
    }
  if (!e->done_seen && e->fail_seen)
    {
      /* The worker refused before run(): the plugin did not load, or an
       * injected failure. */
      *message = g_strdup (e->reported_message ? e->reported_message : "");
      return e->reported_class;
    }
  if (!e->done_seen)
    {
      *message = g_strdup_printf ("the stage ended its worker (exit status %d) before returning; "
                                  "see %s", e->exit_status, log);
      return STRAND_ERROR_CRASH;
    }
  if (e->done_status == -7 /* STRAND_E_CANCELLED */ && !e->fail_seen)
    {
      *message = g_strdup ("cancelled");
      return STRAND_ERROR_TRANSIENT;
    }
  if (e->done_status != 0)
    {
      if (e->fail_seen)
        {
          *message = g_strdup (e->reported_message ? e->reported_message : "");
          return e->reported_class;
        }
      *message = g_strdup_printf ("the stage returned %" G_GINT64_FORMAT " without saying why",
                                  e->done_status);
      return STRAND_ERROR_INTERNAL;
    }
  *message = NULL;
  return STRAND_ERROR_NONE;
}

struct StrandPolicy {
  StrandRule rules[STRAND_ERROR_CLASS_COUNT];
  GPtrArray *strings;
};

void
strand_policy_default_rule (StrandErrorClass error_class, StrandRule *rule)
{
  *rule = (StrandRule) { .action = STRAND_ACTION_FAIL_SAMPLE, .max_attempts = 1,
                         .escalate_factor = 1, .source = "host" };
  switch (error_class)
    {
    case STRAND_ERROR_TRANSIENT:
      rule->action = STRAND_ACTION_RETRY;
      rule->max_attempts = 3;
      rule->backoff_ms = 1000;
      break;
    case STRAND_ERROR_RESOURCE:
      rule->action = STRAND_ACTION_RETRY_ESCALATE;
      rule->max_attempts = 3;
      rule->escalate_factor = 1.5;
      break;
    case STRAND_ERROR_TIMEOUT:
      rule->action = STRAND_ACTION_RETRY_ESCALATE;
      rule->max_attempts = 2;
      rule->escalate_factor = 2;
      break;
    case STRAND_ERROR_CRASH:
      rule->action = STRAND_ACTION_RETRY;
      rule->max_attempts = 2;
      break;
    case STRAND_ERROR_EQUIPMENT:
      rule->action = STRAND_ACTION_REROUTE;
      rule->max_attempts = 3;
      break;
    case STRAND_ERROR_STORAGE:
      /* Every later task would meet the same full disk: stop, resume later. */
      rule->action = STRAND_ACTION_HALT;
      break;
    default:
      break;
    }
}

static void
take_rule (StrandPolicy *policy, StrandRule *rule, StrandAction action, guint max_attempts,
           guint backoff_ms, double factor, const char *fallback, const char *source)
{
  StrandRule host;
  strand_policy_default_rule (STRAND_ERROR_NONE, &host);
  rule->action = action;
  gboolean again = action == STRAND_ACTION_RETRY || action == STRAND_ACTION_RETRY_ESCALATE ||
                   action == STRAND_ACTION_REROUTE || action == STRAND_ACTION_FALLBACK;
  rule->max_attempts = max_attempts ? max_attempts : again ? 3 : 1;
  rule->backoff_ms = backoff_ms;
  rule->escalate_factor = factor >= 1 ? factor : action == STRAND_ACTION_RETRY_ESCALATE ? 1.5 : 1;
  rule->fallback_plugin = NULL;
  if (fallback)
    {
      char *copy = g_strdup (fallback);
      g_ptr_array_add (policy->strings, copy);
      rule->fallback_plugin = copy;
    }
  rule->source = source;
}

StrandPolicy *
strand_policy_new (const StrandPluginInfo *plugin, GPtrArray *overrides)
{
  StrandPolicy *policy = g_new0 (StrandPolicy, 1);
  policy->strings = g_ptr_array_new_with_free_func (g_free);
  for (guint c = 0; c < STRAND_ERROR_CLASS_COUNT; c++)
    strand_policy_default_rule ((StrandErrorClass) c, &policy->rules[c]);
  for (guint i = 0; plugin && i < plugin->policy->len; i++)
    {
      const StrandRuleInfo *r = plugin->policy->pdata[i];
      if ((guint) r->error_class < STRAND_ERROR_CLASS_COUNT)
        take_rule (policy, &policy->rules[r->error_class], r->action, r->max_attempts,
                   r->backoff_ms, r->escalate_factor, r->fallback_plugin, "plugin");
    }
  /* The pipeline's "any" rule first, so that its rules for one class win. */
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; overrides && i < overrides->len; i++)
      {
        const StrandPolicyOverride *o = overrides->pdata[i];
        if (o->any_class != (pass == 0))
          continue;
        for (guint c = STRAND_ERROR_TRANSIENT; c < STRAND_ERROR_CLASS_COUNT; c++)
          if (o->any_class || o->error_class == c)
            take_rule (policy, &policy->rules[c], o->action, o->max_attempts, o->backoff_ms,
                       o->escalate_factor, o->fallback_plugin, "pipeline");
      }
  return policy;
}

void
strand_policy_free (StrandPolicy *policy)
{
  if (policy == NULL)
    return;
  g_ptr_array_unref (policy->strings);
  g_free (policy);
}

const StrandRule *
strand_policy_rule (const StrandPolicy *policy, StrandErrorClass error_class)
{
  if ((guint) error_class >= STRAND_ERROR_CLASS_COUNT)
    error_class = STRAND_ERROR_INTERNAL;
  return &policy->rules[error_class];
}

void
strand_policy_decide (const StrandPolicy *policy, StrandErrorClass error_class, int attempt,
                      gboolean fallen_back, StrandDecision *d)
{
  const StrandRule *rule = strand_policy_rule (policy, error_class);
  *d = (StrandDecision) { .action = rule->action, .final = STRAND_ACTION_FAIL_SAMPLE,
                          .memory_factor = 1, .time_factor = 1, .rule_source = rule->source };
  switch (rule->action)
    {
    case STRAND_ACTION_HALT:
    case STRAND_ACTION_CONTINUE:
    case STRAND_ACTION_FAIL_SAMPLE:
      d->final = rule->action;
      return;
    case STRAND_ACTION_FALLBACK:
      if (fallen_back || rule->fallback_plugin == NULL)
        {
          d->exhausted = TRUE;
          return;
        }
      d->fallback_plugin = rule->fallback_plugin;
      break;
    default:
      break;
    }
  if ((guint) attempt >= rule->max_attempts)
    {
      d->exhausted = TRUE;
      return;
    }
  d->run_again = TRUE;
  if (rule->backoff_ms > 0)
    {
      /* Doubles per attempt, capped at an hour. */
      gint64 delay = (gint64) rule->backoff_ms * 1000;
      for (int i = 1; i < attempt && delay < (gint64) 3600 * G_USEC_PER_SEC; i++)
        delay *= 2;
      d->delay_us = MIN (delay, (gint64) 3600 * G_USEC_PER_SEC);
    }
  if (rule->action == STRAND_ACTION_RETRY_ESCALATE)
    d->memory_factor = d->time_factor = rule->escalate_factor;
}
