/* `strand worker`: what a worker job of the Slurm executor runs
 * (pilot.h). Not for people to type: the host writes the command into the
 * job's batch script. */
#include <stdio.h>

#include "cli.h"
#include "pilot.h"

int
strand_cmd_worker (int argc, char **argv)
{
  g_autofree char *connect = NULL;
  g_autofree char *token_file = NULL;
  int cores = 0;
  g_autofree char *memory = NULL;
  double grace = 0;
  GOptionEntry entries[] = {
    { "connect", 0, 0, G_OPTION_ARG_STRING, &connect, "The host to take tasks from", "HOST:PORT" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file,
      "The run's token, in a file only this user reads (default: $STRAND_WORKER_TOKEN)", "FILE" },
    { "cores", 0, 0, G_OPTION_ARG_INT, &cores, "Cores to use (default: what Slurm gave the job)", "N" },
    { "memory", 0, 0, G_OPTION_ARG_STRING, &memory,
      "Memory to use (default: what Slurm gave the job)", "BYTES" },
    { "grace", 0, 0, G_OPTION_ARG_DOUBLE, &grace,
      "Time a task asked to stop has before it is killed (default 10)", "SECONDS" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- run tasks for a host (in a Slurm job)");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!strand_cli_parse (context, &argc, &argv))
    return STRAND_EXIT_USAGE;
  guint64 memory_bytes = 0;
  g_autoptr (GError) error = NULL;
  if (argc != 1 || connect == NULL || cores < 0 || grace < 0 ||
      (memory && !g_ascii_string_to_unsigned (memory, 10, 1, G_MAXUINT64, &memory_bytes, &error)))
    {
      fprintf (stderr, "strand: worker takes --connect HOST:PORT%s%s\n", error ? "; --memory: " : "",
               error ? error->message : "");
      return STRAND_EXIT_USAGE;
    }
  StrandPilotOptions options = {
    .connect = connect,
    .token_file = token_file,
    .cores = (guint) cores,
    .memory_bytes = memory_bytes,
    .grace_us = (gint64) (grace * G_USEC_PER_SEC),
  };
  StrandPilotEnd end;
  if (!strand_pilot_run (&options, &end, &error))
    {
      fprintf (stderr, "strand worker: %s\n", error->message);
      return STRAND_EXIT_FAILED;
    }
  /* A worker let go is a job that completed; one that lost its host or was
   * signalled did not. */
  return end == STRAND_PILOT_END_RELEASED ? STRAND_EXIT_OK
         : end == STRAND_PILOT_END_SIGNALLED ? 128 + 15 : STRAND_EXIT_FAILED;
}
