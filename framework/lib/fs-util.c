#include "fs-util.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int
strand_fsync_dir (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  int rc = fsync (fd) < 0 ? errno : 0;
  close (fd);
  return rc == EINVAL || rc == EROFS ? 0 : rc;
}
