/* The clock from its users' side: discrete-event time that jumps from event
 * to event, virtual time moved by hand, accelerated time, and the one event
 * loop that works in every mode. Issue 6, part 1. */
#include "clock.h"

#include <glib.h>

#define HOUR_US ((gint64) 3600 * G_USEC_PER_SEC)
#define T0 ((gint64) 1799020800 * G_USEC_PER_SEC) /* Monday 2027-01-04 00:00 UTC */

typedef struct {
  GArray *seen; /* gint64: the time each event saw, in order */
  GArray *tags; /* int: which event it was */
} Log;

typedef struct {
  Log *log;
  int tag;
} Probe;

static void
record (gint64 due_us, gpointer data)
{
  Probe *p = data;
  gint64 now = strand_clock_now_us ();
  g_array_append_val (p->log->seen, now);
  g_array_append_val (p->log->tags, p->tag);
  g_assert_cmpint (now, >=, due_us);
}

static Log *
log_new (void)
{
  Log *log = g_new0 (Log, 1);
  log->seen = g_array_new (FALSE, FALSE, sizeof (gint64));
  log->tags = g_array_new (FALSE, FALSE, sizeof (int));
  return log;
}

static void
log_free (Log *log)
{
  g_array_unref (log->seen);
  g_array_unref (log->tags);
  g_free (log);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Log, log_free)

/* Discrete time: each wait jumps to the next event; events at the same time
 * run in the order they were scheduled, whatever order they were added in. */
static void
test_discrete_jumps (void)
{
  strand_clock_use_discrete (T0);
  g_assert_cmpint (strand_clock_mode (), ==, STRAND_CLOCK_DISCRETE);
  g_autoptr (Log) log = log_new ();
  Probe p[5] = { { log, 0 }, { log, 1 }, { log, 2 }, { log, 3 }, { log, 4 } };
  strand_clock_schedule (T0 + 5 * HOUR_US, record, &p[0]);
  strand_clock_schedule (T0 + 1 * HOUR_US, record, &p[1]);
  strand_clock_schedule (T0 + 5 * HOUR_US, record, &p[2]);
  strand_clock_schedule (T0 + 3 * HOUR_US, record, &p[3]);
  guint64 cancelled = strand_clock_schedule (T0 + 2 * HOUR_US, record, &p[4]);
  g_assert_true (strand_clock_cancel (cancelled));
  g_assert_false (strand_clock_cancel (cancelled));
  g_assert_cmpuint (strand_clock_pending (), ==, 4);
  g_assert_cmpint (strand_clock_next_event_us (), ==, T0 + HOUR_US);

  g_assert_true (strand_clock_run_next (G_MAXINT64));
  g_assert_cmpint (strand_clock_now_us (), ==, T0 + HOUR_US);
  g_assert_cmpint (strand_clock_monotonic_us (), ==, HOUR_US);
  g_assert_true (strand_clock_run_next (G_MAXINT64));
  g_assert_cmpint (strand_clock_now_us (), ==, T0 + 3 * HOUR_US);
  /* Both events of 05:00 run in one step, in the order they were scheduled. */
  g_assert_true (strand_clock_run_next (G_MAXINT64));
  g_assert_cmpuint (log->tags->len, ==, 4);
  int order[] = { 1, 3, 0, 2 };
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (g_array_index (log->tags, int, i), ==, order[i]);
  g_assert_cmpint (g_array_index (log->seen, gint64, 3), ==, T0 + 5 * HOUR_US);
  /* Nothing left: the wait stops at its limit instead of running off. */
  g_assert_false (strand_clock_run_next (T0 + 6 * HOUR_US));
  g_assert_cmpint (strand_clock_now_us (), ==, T0 + 6 * HOUR_US);
  g_assert_false (strand_clock_run_next (G_MAXINT64));
  g_assert_cmpint (strand_clock_now_us (), ==, T0 + 6 * HOUR_US);
}

typedef struct {
  int left;
  gint64 step;
  guint fired;
} Chain;

/* An event that schedules the next one, the way a simulated task ending
 * starts the next task. */
static void
chain_step (gint64 due_us, gpointer data)
{
  Chain *c = data;
  c->fired++;
  if (--c->left > 0)
    strand_clock_schedule (due_us + c->step, chain_step, c);
}

/* A week of events every minute (10,080 of them) on the discrete clock,
 * driven by the same loop a host would use. */
static void
test_discrete_week (void)
{
  strand_clock_use_discrete (T0);
  Chain c = { .left = 7 * 24 * 60, .step = 60 * G_USEC_PER_SEC };
  strand_clock_schedule (T0 + c.step, chain_step, &c);
  guint ran = strand_clock_run_until (T0 + 7 * 24 * HOUR_US);
  g_assert_cmpuint (ran, ==, 7 * 24 * 60);
  g_assert_cmpuint (c.fired, ==, 7 * 24 * 60);
  g_assert_cmpint (strand_clock_now_us (), ==, T0 + 7 * 24 * HOUR_US);
  g_assert_cmpuint (strand_clock_pending (), ==, 0);
}

/* Virtual time moves only when told, and moving it runs what falls due on
 * the way, each event seeing its own time. */
static void
test_virtual_advance (void)
{
  strand_clock_use_virtual (T0);
  g_autoptr (Log) log = log_new ();
  Probe a = { log, 1 }, b = { log, 2 };
  strand_clock_schedule (T0 + 2 * HOUR_US, record, &b);
  strand_clock_schedule (T0 + HOUR_US, record, &a);
  g_assert_false (strand_clock_run_next (G_MAXINT64)); /* not due: no waiting in virtual time */
  g_assert_cmpint (strand_clock_now_us (), ==, T0);
  strand_clock_advance_us ((gint64) 90 * 60 * G_USEC_PER_SEC);
  g_assert_cmpuint (log->seen->len, ==, 1);
  g_assert_cmpint (g_array_index (log->seen, gint64, 0), ==, T0 + HOUR_US);
  g_assert_cmpint (strand_clock_now_us (), ==, T0 + (gint64) 90 * 60 * G_USEC_PER_SEC);
  strand_clock_advance_us (HOUR_US);
  g_assert_cmpuint (log->seen->len, ==, 2);
  g_assert_cmpint (g_array_index (log->seen, gint64, 1), ==, T0 + 2 * HOUR_US);
  /* Switching modes drops what is pending. */
  strand_clock_schedule (T0 + 10 * HOUR_US, record, &a);
  strand_clock_use_discrete (T0);
  g_assert_cmpuint (strand_clock_pending (), ==, 0);
}

/* Accelerated time runs faster than real time, and an event loop waits the
 * shortened time. */
static void
test_accelerated (void)
{
  strand_clock_use_accelerated (T0, 3600.0); /* an hour per second */
  g_assert_cmpint (strand_clock_mode (), ==, STRAND_CLOCK_ACCELERATED);
  g_autoptr (Log) log = log_new ();
  Probe a = { log, 1 };
  strand_clock_schedule (T0 + (gint64) 36 * G_USEC_PER_SEC, record, &a); /* 10 ms of real time */
  gint64 real0 = strand_clock_real_monotonic_us ();
  g_assert_true (strand_clock_run_next (G_MAXINT64));
  gint64 real_waited = strand_clock_real_monotonic_us () - real0;
  g_assert_cmpint (g_array_index (log->seen, gint64, 0), >=, T0 + (gint64) 36 * G_USEC_PER_SEC);
  g_assert_cmpint (real_waited, >=, 5000);
  /* Virtual time kept running: at least 3600 times the real time elapsed. */
  g_assert_cmpint (strand_clock_now_us () - T0, >=, 3600 * (strand_clock_real_monotonic_us () - real0) / 2);
  strand_clock_use_real ();
}

/* Real time: the wait sleeps until the event is due. */
static void
test_real_wait (void)
{
  strand_clock_use_real ();
  g_autoptr (Log) log = log_new ();
  Probe a = { log, 1 };
  gint64 due = strand_clock_now_us () + 20000;
  strand_clock_schedule (due, record, &a);
  g_assert_true (strand_clock_run_next (G_MAXINT64));
  g_assert_cmpuint (log->seen->len, ==, 1);
  g_assert_cmpint (g_array_index (log->seen, gint64, 0), >=, due);
  g_assert_false (strand_clock_run_next (strand_clock_now_us () + 1000)); /* nothing: returns at the limit */
}

static void
test_rfc3339 (void)
{
  gint64 t = 0;
  g_assert_true (strand_clock_parse_rfc3339 ("2027-01-04T00:00:00Z", &t));
  g_assert_cmpint (t, ==, T0);
  g_assert_true (strand_clock_parse_rfc3339 ("2027-01-04T01:00:00+01:00", &t));
  g_assert_cmpint (t, ==, T0);
  g_assert_false (strand_clock_parse_rfc3339 ("2027-01-04 00:00:00", &t));
  g_autofree char *text = strand_clock_format_rfc3339 (T0 + 1);
  g_assert_cmpstr (text, ==, "2027-01-04T00:00:00.000001Z");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/clock/discrete/jumps", test_discrete_jumps);
  g_test_add_func ("/clock/discrete/week", test_discrete_week);
  g_test_add_func ("/clock/virtual/advance", test_virtual_advance);
  g_test_add_func ("/clock/accelerated", test_accelerated);
  g_test_add_func ("/clock/real/wait", test_real_wait);
  g_test_add_func ("/clock/rfc3339", test_rfc3339);
  return g_test_run ();
}
