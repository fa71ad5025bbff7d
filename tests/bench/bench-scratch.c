/* What watching a task's scratch costs: one measurement of a scratch folder
 * of FILES files in folders of 100 (st_blocks of each, as the worker's
 * watch takes it), the interval the watch then keeps (a hundred times one
 * measurement, at least 100 ms) and the share of one core it takes.
 *
 *   meson test -C BUILD --benchmark -v scratch-watch
 *   BUILD/tests/bench/bench-scratch DIR [FILES] */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>

#include "test-util.h"
#include "worker-scratch.h"

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: %s DIR [FILES]\n", argv[0]);
      return 2;
    }
  guint files = argc > 2 ? (guint) atoi (argv[2]) : 100000;
  g_autofree char *work = g_build_filename (argv[1], "scratch-task", NULL);
  strand_test_remove_tree (work);
  for (guint i = 0; i < files; i++)
    {
      g_autofree char *dir = g_strdup_printf ("%s/scratch/d%u", work, i / 100);
      if (i % 100 == 0)
        g_mkdir_with_parents (dir, 0700);
      g_autofree char *path = g_strdup_printf ("%s/f%u", dir, i);
      if (!g_file_set_contents (path, "ACGT\n", 5, NULL))
        g_error ("cannot write %s", path);
    }
  guint64 used = strand_scratch_usage (work); /* warm, as a running task's folders are */
  const guint rounds = 10;
  gint64 t0 = g_get_monotonic_time ();
  for (guint r = 0; r < rounds; r++)
    used = strand_scratch_usage (work);
  double took = (double) (g_get_monotonic_time () - t0) / rounds / 1e6;
  double interval = MAX (0.1, took * 100);
  printf ("scratch of %u files (%.1f MiB on disk): one measurement %.2f ms (%.2f us per file); "
          "the watch measures every %.2f s, %.2f%% of one core\n",
          files, (double) used / (1 << 20), took * 1e3, took * 1e6 / files, interval,
          100 * took / interval);
  strand_test_remove_tree (work);
  return 0;
}
