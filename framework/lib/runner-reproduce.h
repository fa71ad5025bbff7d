/* Reproducing a recorded run from its records alone.
 *
 * The run's start record holds its pipeline, the digest of every stage's
 * plugin build and every sample with its input files by digest. The
 * pipeline is run again with exactly those builds, found by .so digest on
 * the plugin path (refused, naming each one, when a build is missing), over
 * the same input files (checked against their digests) into a fresh store;
 * then every stage's outputs are compared, sample by sample, with what the
 * recorded run made. Deterministic stages must give the same digests;
 * stages that declare themselves not deterministic are listed when they
 * differ, never hidden. */
#pragma once

#include "registry.h"
#include "runner.h"

G_BEGIN_DECLS

typedef struct {
  char *sample;
  char *stage;
  gboolean deterministic;
  const char *status; /* "match", "mismatch", "not-reproduced" (the new run did not make it),
                         "not-recorded" (the recorded run has no output for it) */
  GPtrArray *recorded;   /* char* "PORT/FILE sha256" */
  GPtrArray *reproduced; /* char* "PORT/FILE sha256" */
} StrandReproducedTask;

typedef struct {
  char *run_id;      /* the recorded run */
  char *new_run_id;
  char *into;        /* the fresh store */
  GPtrArray *tasks;  /* StrandReproducedTask */
  guint matched;
  guint mismatched;             /* deterministic stages that differ: a failure */
  guint mismatched_nondeterministic;
  guint missing;                /* not reproduced or not recorded */
} StrandReproduction;

void strand_reproduction_free (StrandReproduction *repro);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandReproduction, strand_reproduction_free)

/* Reproduces run `run_id` (or the one run whose id starts with it) of the
 * store in `store_dir` into the new store `into` (which must not exist or
 * be empty), with plugins from `registry`. */
StrandReproduction *strand_reproduce_run (const char *store_dir, const char *run_id,
                                          StrandRegistry *registry, const char *into, guint jobs,
                                          GError **error);
/* TRUE when every deterministic stage matched and nothing is missing. */
gboolean strand_reproduction_ok (const StrandReproduction *repro);
JsonNode *strand_reproduction_to_json (const StrandReproduction *repro);

G_END_DECLS
