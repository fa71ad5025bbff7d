/* Fuzz target: run archives as a stranger could send them (run-archive.h),
 * checked without extraction. */
#include <glib/gstdio.h>
#include <stdint.h>
#include <unistd.h>

#include "run-archive.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("strand-fuzz-archive-XXXXXX", &path, NULL);
  if (fd < 0)
    return 0;
  gboolean written = write (fd, data, size) == (ssize_t) size;
  close (fd);
  if (written)
    {
      StrandArchiveLimits limits = { 1 << 20, 8 << 20, 1000 };
      g_autoptr (GPtrArray) problems = strand_problems_new ();
      g_auto (StrandArchiveReport) report = { 0 };
      gboolean ok = strand_archive_verify (path, NULL, &limits, NULL, NULL, &report, problems);
      if (!ok && problems->len == 0)
        g_error ("refused without a problem");
    }
  g_unlink (path);
  return 0;
}
