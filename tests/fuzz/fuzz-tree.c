/* Fuzz target: tree manifests as a damaged or hostile store could hold them
 * (store-tree.h). Whatever parses must be safe to build a view from. */
#include <stdint.h>
#include <string.h>

#include "store-tree.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_path (const char *path)
{
  if (path[0] == '/' || strstr (path, "//") != NULL || strcmp (path, "..") == 0 ||
      g_str_has_prefix (path, "../") || g_str_has_suffix (path, "/..") || strstr (path, "/../"))
    g_error ("unsafe path accepted: %s", path);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StrandDirTree) tree = strand_dir_tree_parse ((const char *) data, size, &error);
  if (tree == NULL)
    {
      if (error == NULL || error->message == NULL)
        g_error ("refused without a reason");
      return 0;
    }
  for (guint i = 0; i < tree->dirs->len; i++)
    check_path (tree->dirs->pdata[i]);
  for (guint i = 0; i < tree->entries->len; i++)
    {
      const StrandDirEntry *e = tree->entries->pdata[i];
      check_path (e->path);
      if (i > 0 && strcmp (((StrandDirEntry *) tree->entries->pdata[i - 1])->path, e->path) >= 0)
        g_error ("entries out of order accepted");
    }
  return 0;
}
