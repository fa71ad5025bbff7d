/* Directories in the content-addressed store: a sequencer's run folder, an
 * aligner's index. Every regular file in the directory becomes an object of
 * its own; the directory becomes a tree, a manifest object listing them:
 *
 *   {"dirs":["Data","Data/Intensities"],
 *    "entries":[{"mode":"0644","path":"Data/x.bcl","sha256":"…","size":12},…],
 *    "strand_tree":1}
 *
 * in canonical JSON (canonical-json.h), paths relative, '/'-separated,
 * sorted bytewise and unique; "dirs" names every directory, empty ones too.
 * The manifest's SHA-256 names the whole directory, so two runs that made
 * the same files get the same tree, and a tree's members are deduplicated
 * against every other object. Symbolic links and special files are refused
 * when a directory is stored: a link could point anywhere, and a stage's
 * output must be what it wrote.
 *
 * A tree is handed to a later stage as a view: a directory of read-only
 * symbolic links to the member objects, built in the task's work folder, so
 * a 100 GB run folder costs no copy. Materialising to a user path copies. */
#pragma once

#include "store.h"

G_BEGIN_DECLS

typedef struct {
  char *path;       /* relative, '/'-separated */
  char sha256[65];
  guint64 size;
  gboolean executable;
} StrandDirEntry;

typedef struct {
  GPtrArray *dirs;    /* char*: every directory, sorted */
  GPtrArray *entries; /* StrandDirEntry, sorted by path */
  guint64 bytes;      /* sum of the entries' sizes */
} StrandDirTree;

void strand_dir_tree_free (StrandDirTree *tree);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StrandDirTree, strand_dir_tree_free)

/* Stores every file under `dir` and then the manifest; `info` describes the
 * manifest object (its sha256 names the tree), `tree` (may be NULL) receives
 * the listing. `allow_link` as for strand_store_ingest_file(). INVALID for a
 * symlink or special file inside (named), NO_SPACE as a file ingest. */
gboolean strand_store_ingest_tree (StrandStore *store, const char *dir, gboolean allow_link,
                                   StrandObjectInfo *info, StrandDirTree **tree, GError **error);

/* A task's directory output is recorded before it is stored (an object
 * becomes visible only after a record names it), in two passes:
 *
 * strand_store_digest_tree() stores nothing: it takes the write bits off
 * every file under `dir` (0444; 0555 for an executable), hashes each once
 * through the store's digest cache, and gives the manifest's digest (the
 * tree's name, 64 hex digits and a NUL) and the listing (`tree`, may be
 * NULL). Errors as strand_store_ingest_tree's.
 *
 * strand_store_put_tree(), once the digest is recorded, stores the members
 * and then the manifest. The cache knows every member, so none is hashed
 * again: an object already there costs nothing, a new one (with
 * `allow_link`) is a hard link of the read-only file. IO, naming both
 * digests, when the directory no longer makes tree `sha256`; the manifest
 * is then not stored. */
gboolean strand_store_digest_tree (StrandStore *store, const char *dir, char sha256[65],
                                   StrandDirTree **tree, GError **error);
gboolean strand_store_put_tree (StrandStore *store, const char *dir, const char *sha256,
                                gboolean allow_link, StrandObjectInfo *info, GError **error);

/* Parses a manifest's bytes. INVALID, naming the fault, for anything that is
 * not a well-formed tree: unsafe paths (absolute, "..", empty parts), entries
 * out of order or repeated, bad digests. */
StrandDirTree *strand_dir_tree_parse (const char *data, gsize len, GError **error);
/* Reads and parses the tree object `sha256`: NOT_FOUND, INVALID. */
StrandDirTree *strand_store_read_tree (StrandStore *store, const char *sha256, GError **error);
/* TRUE when object `sha256` is a tree manifest (a cheap look at its first
 * bytes, then a parse). */
gboolean strand_store_is_tree (StrandStore *store, const char *sha256);

/* The store's one view of tree `sha256` (STORE/views/SHA256), built on
 * first use with strand_store_link_tree() and renamed into place, so a task
 * reading a tree (a sequencer's run folder of thousands of files) costs
 * one symbolic link, not one per file. `view` is newly allocated. */
gboolean strand_store_tree_view (StrandStore *store, const char *sha256, char **view,
                                 GError **error);
/* After tree `sha256` was stored from `dir` (a task's staged folder, whose
 * read-only files are, or equal, its members), `dir` becomes the tree's
 * view when it has none: renamed, not rebuilt. FALSE, and `dir` left as it
 * is, when a view exists or the rename fails. */
gboolean strand_store_adopt_view (StrandStore *store, const char *sha256, const char *dir);
/* Removes the views of trees not in `live` (a set of digests); returns how
 * many. */
guint strand_store_prune_views (StrandStore *store, GHashTable *live);

/* Builds at `dest` (which must not exist) a directory whose files are
 * symbolic links to the tree's member objects: a read-only view for a task. */
gboolean strand_store_link_tree (StrandStore *store, const char *sha256, const char *dest,
                                 GError **error);
/* Copies the tree to `dest` (which must not exist), checking each member's
 * digest on the way (INTEGRITY). */
gboolean strand_store_materialize_tree (StrandStore *store, const char *sha256, const char *dest,
                                        GError **error);

/* Adds to `live` (a set of digests) the members of every tree in it, so gc
 * and verify see what a recorded tree needs. */
void strand_store_add_tree_members (StrandStore *store, GHashTable *live);

G_END_DECLS
