#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <strand/abi.h>

#include "cli.h"

static const char usage[] =
  "Usage: strand COMMAND [OPTIONS...]\n"
  "\n"
  "Commands:\n"
  "  plugins list       list the plugins found and the files refused\n"
  "  plugins inspect    describe one plugin: ports, parameters, resources, policy\n"
  "  plugins check      check plugin files for conformance\n"
  "  plugins run        run one stage on files, for plugin authors\n"
  "  validate           find every problem in a pipeline, samples, equipment, data\n"
  "  run                run a pipeline over samples\n"
  "  reproduce          run a recorded run again from its records; compare outputs\n"
  "  worker             take tasks from a host (what its Slurm worker jobs run)\n"
  "  init               create a store and the host's signing key\n"
  "  ingest             register raw data in the store, with its record\n"
  "  store du|get       space used; copy an object out (recorded)\n"
  "  gc                 remove objects no record needs (recorded)\n"
  "  lineage            where a data item came from, or what it fed\n"
  "  verify             check every record and object; exit 1 if anything changed\n"
  "  export             a run as W3C PROV-JSON or an RO-Crate, from its records\n"
  "  diff               what differs between two runs; exit 1 if their outputs do\n"
  "  checkpoint         sign the ledger's Merkle tree (C2SP checkpoint), keep and print it\n"
  "  proof              Merkle proofs: the records of a data item, log growth; --verify\n"
  "  check              check data files: format, integrity, digests (--manifest)\n"
  "  archive            a run's outputs and signed records in one .tar.zst\n"
  "  verify-archive     check an archive offline, on any machine\n"
  "  equipment status   machines' state, service due, failure risk (from event feeds)\n"
  "  equipment utilization  busy over available time per machine and day; forecast\n"
  "  simulate           run a facility on the discrete-event clock with the scheduler\n"
  "\n"
  "Run 'strand COMMAND --help' for a command's options.\n"
  "Global: strand --version\n";

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  strand_cli_program = argv[0]; /* suggested commands repeat it as it was typed */
  /* Usage lines name the subcommand: "strand plugins inspect [OPTION...]". */
  g_autofree char *base = g_path_get_basename (argv[0]);
  g_autofree char *prgname = argc > 2 && strcmp (argv[1], "plugins") == 0
                                 ? g_strdup_printf ("%s plugins %s", base, argv[2])
                                 : argc > 1 ? g_strdup_printf ("%s %s", base, argv[1]) : g_strdup (base);
  g_set_prgname (prgname);
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      fputs (usage, argc < 2 ? stderr : stdout);
      return argc < 2 ? STRAND_EXIT_USAGE : STRAND_EXIT_OK;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("strand %s (plugin ABI %d.%d)\n", STRAND_VERSION, STRAND_ABI_MAJOR,
              STRAND_ABI_MINOR);
      return STRAND_EXIT_OK;
    }
  if (strcmp (argv[1], "plugins") == 0)
    return strand_cmd_plugins (argc - 1, argv + 1);
  if (strcmp (argv[1], "run") == 0)
    return strand_cmd_run (argc - 1, argv + 1);
  if (strcmp (argv[1], "reproduce") == 0)
    return strand_cmd_reproduce (argc - 1, argv + 1);
  if (strcmp (argv[1], "check") == 0)
    return strand_cmd_check (argc - 1, argv + 1);
  if (strcmp (argv[1], "validate") == 0)
    return strand_cmd_validate (argc - 1, argv + 1);
  if (strcmp (argv[1], "equipment") == 0)
    return strand_cmd_equipment (argc - 1, argv + 1);
  if (strcmp (argv[1], "simulate") == 0)
    return strand_cmd_simulate (argc - 1, argv + 1);
  if (strcmp (argv[1], "worker") == 0)
    return strand_cmd_worker (argc - 1, argv + 1);
  static const struct {
    const char *name;
    int (*run) (int, char **);
  } store_commands[] = {
    { "init", strand_cmd_init },       { "ingest", strand_cmd_ingest },
    { "store", strand_cmd_store },     { "gc", strand_cmd_gc },
    { "lineage", strand_cmd_lineage }, { "verify", strand_cmd_verify },
    { "archive", strand_cmd_archive }, { "verify-archive", strand_cmd_verify_archive },
    { "export", strand_cmd_export },   { "diff", strand_cmd_diff },
    { "checkpoint", strand_cmd_checkpoint }, { "proof", strand_cmd_proof },
  };
  for (guint i = 0; i < G_N_ELEMENTS (store_commands); i++)
    if (strcmp (argv[1], store_commands[i].name) == 0)
      return store_commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "strand: unknown command '%s'\n\n%s", argv[1], usage);
  return STRAND_EXIT_USAGE;
}
