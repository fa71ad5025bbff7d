/* The `strand` command: argument parsing and output only; the work is done by
 * libstrand. Each subcommand returns the process exit status:
 * 0 success, 1 the thing checked is bad or the work failed, 2 usage error. */
#pragma once

#include <glib.h>
#include <stdio.h>

#include "problems.h"
#include "provenance.h"
#include "registry.h"

#define STRAND_EXIT_OK 0
#define STRAND_EXIT_FAILED 1
#define STRAND_EXIT_USAGE 2

/* The program as the user typed it, for commands we suggest. */
extern const char *strand_cli_program;

int strand_cmd_check (int argc, char **argv);
int strand_cmd_plugins (int argc, char **argv);
int strand_cmd_run (int argc, char **argv);
int strand_cmd_reproduce (int argc, char **argv);
int strand_cmd_plugins_run (int argc, char **argv);
int strand_cmd_validate (int argc, char **argv);
int strand_cmd_equipment (int argc, char **argv);
int strand_cmd_simulate (int argc, char **argv);
int strand_cmd_worker (int argc, char **argv);

/* Options every command that needs plugins takes. */
typedef struct {
  char **plugin_dirs;
  gboolean no_cache;
} StrandPluginOptions;

void strand_plugin_options_clear (StrandPluginOptions *options);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StrandPluginOptions, strand_plugin_options_clear)

void strand_cli_add_plugin_options (GOptionContext *context, StrandPluginOptions *options);
/* Builds and scans the registry the options describe; refused plugins are
 * reported on stderr, one line each, unless `quiet`. */
StrandRegistry *strand_cli_load_registry (const StrandPluginOptions *options, gboolean quiet);
void strand_cli_print_problem (const char *path, const GError *error);
/* "WHERE: [warning: ]message [code]", one line each. */
void strand_cli_print_problems (GPtrArray *problems, FILE *to);
/* The --store option every command that reads or writes a store takes. */
#define STRAND_CLI_STORE_OPTION(variable)                                   \
  { "store", 0, 0, G_OPTION_ARG_FILENAME, &(variable),                     \
    "Store of outputs and records (default: $STRAND_STORE or ./strand-store)", "DIR" }

/* The store a command works on: --store, else $STRAND_STORE, else
 * ./strand-store. */
char *strand_cli_store_dir (const char *option);
/* Opens the store, creating it (and the host key) on first use. */
StrandProvenance *strand_cli_open_store (const char *dir);

int strand_cmd_init (int argc, char **argv);
int strand_cmd_ingest (int argc, char **argv);
int strand_cmd_store (int argc, char **argv);
int strand_cmd_gc (int argc, char **argv);
int strand_cmd_lineage (int argc, char **argv);
int strand_cmd_verify (int argc, char **argv);
int strand_cmd_archive (int argc, char **argv);
int strand_cmd_verify_archive (int argc, char **argv);
int strand_cmd_export (int argc, char **argv);
int strand_cmd_diff (int argc, char **argv);
int strand_cmd_checkpoint (int argc, char **argv);
int strand_cmd_proof (int argc, char **argv);

/* Parses `argv` with `context`; on a usage error prints it and returns FALSE. */
gboolean strand_cli_parse (GOptionContext *context, int *argc, char ***argv);
