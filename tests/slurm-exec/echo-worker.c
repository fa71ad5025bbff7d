/* A worker that misbehaves, for the live tests of the Slurm executor:
 *
 *   sx-echo-worker worker --connect ADDR --token-file FILE [...]
 *       what the executor's batch script runs in its place: it proves
 *       itself like `strand worker`, then answers every task without
 *       running it (ok, no outputs) twice over, and once more for a task
 *       it was never given; it leaves when let go
 *   sx-echo-worker probe ADDR TOKEN_FILE
 *       connects and says hello with the token in the file: exits 0 when
 *       welcomed, 3 when refused, 4 on anything else */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "pilot-wire.h"

static StrandPilotMsg *
next (StrandPilotConn *conn, GPtrArray *inbox, int timeout_ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (inbox->len == 0 && g_get_monotonic_time () < until)
    {
      struct pollfd p = { .fd = strand_pilot_conn_fd (conn), .events = POLLIN };
      if (strand_pilot_conn_pending (conn))
        p.events |= POLLOUT;
      poll (&p, 1, 100);
      strand_pilot_conn_flush (conn, NULL);
      if (!strand_pilot_conn_read (conn, inbox, NULL) && inbox->len == 0)
        return NULL;
    }
  return inbox->len ? g_ptr_array_steal_index (inbox, 0) : NULL;
}

/* 0: welcomed, 3: refused, 4: anything else. */
static int
hello (StrandPilotConn *conn, GPtrArray *inbox, const char *token)
{
  g_autoptr (StrandPilotMsg) challenge = next (conn, inbox, 10000);
  if (challenge == NULL || challenge->type != STRAND_PILOT_MSG_CHALLENGE)
    return 4;
  g_autofree char *nonce = strand_pilot_secret_new ();
  g_autofree char *proof = strand_pilot_proof (token, "worker", challenge->nonce);
  StrandPilotMsg msg = {
    .type = STRAND_PILOT_MSG_HELLO, .version = 1, .nonce = nonce, .proof = proof,
    .job = (char *) g_getenv ("SLURM_JOB_ID"), .array_job = (char *) g_getenv ("SLURM_ARRAY_JOB_ID"),
    .array_task = g_getenv ("SLURM_ARRAY_TASK_ID") ? g_ascii_strtoll (g_getenv ("SLURM_ARRAY_TASK_ID"), NULL, 10) : -1,
    .node = (char *) g_get_host_name (), .cores = 1, .memory_bytes = 1u << 30, .pid = getpid (),
  };
  strand_pilot_conn_send (conn, &msg);
  g_autoptr (StrandPilotMsg) answer = next (conn, inbox, 10000);
  if (answer == NULL)
    return 4;
  if (answer->type == STRAND_PILOT_MSG_BYE)
    {
      printf ("refused: %s\n", answer->reason ? answer->reason : "");
      return 3;
    }
  return answer->type == STRAND_PILOT_MSG_WELCOME && strand_pilot_proof_check (token, "host", nonce, answer->proof)
             ? 0 : 4;
}

static int
echo (StrandPilotConn *conn, GPtrArray *inbox)
{
  for (;;)
    {
      g_autoptr (StrandPilotMsg) msg = next (conn, inbox, 60000);
      if (msg == NULL)
        return 1;
      if (msg->type == STRAND_PILOT_MSG_EXIT)
        return 0;
      if (msg->type == STRAND_PILOT_MSG_HEARTBEAT)
        {
          StrandPilotMsg hb = { .type = STRAND_PILOT_MSG_HEARTBEAT };
          strand_pilot_conn_send (conn, &hb);
          continue;
        }
      if (msg->type != STRAND_PILOT_MSG_TASK)
        continue;
      g_autoptr (StrandTaskResult) r = strand_task_result_new ();
      r->ok = TRUE;
      r->exit_status = 0;
      r->start_us = r->end_us = strand_clock_now_us ();
      for (int i = 0; i < 3; i++)
        {
          StrandPilotMsg result = { .type = STRAND_PILOT_MSG_RESULT, .id = i < 2 ? msg->id : msg->id + 1000000,
                                    .result = r };
          strand_pilot_conn_send (conn, &result);
        }
      fprintf (stderr, "echo-worker: answered task %" G_GUINT64_FORMAT " three times\n", msg->id);
    }
}

int
main (int argc, char **argv)
{
  const char *address = NULL, *token_file = NULL;
  gboolean probe = argc == 4 && strcmp (argv[1], "probe") == 0;
  if (probe)
    {
      address = argv[2];
      token_file = argv[3];
    }
  for (int i = 1; !probe && i + 1 < argc; i++)
    {
      if (strcmp (argv[i], "--connect") == 0)
        address = argv[i + 1];
      if (strcmp (argv[i], "--token-file") == 0)
        token_file = argv[i + 1];
    }
  if (address == NULL || token_file == NULL)
    {
      fprintf (stderr, "usage: sx-echo-worker worker --connect ADDR --token-file FILE | probe ADDR FILE\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *token = strand_pilot_token_read (token_file, &error);
  int fd = token ? strand_pilot_connect (address, 10000, &error) : -1;
  if (fd < 0)
    {
      fprintf (stderr, "echo-worker: %s\n", error->message);
      return 4;
    }
  g_autoptr (StrandPilotConn) conn = strand_pilot_conn_new (fd);
  g_autoptr (GPtrArray) inbox = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_pilot_msg_free);
  int rc = hello (conn, inbox, token);
  if (probe || rc != 0)
    return rc;
  rc = echo (conn, inbox);
  strand_pilot_conn_drain (conn, 2000);
  return rc;
}
