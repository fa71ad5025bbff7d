#include "fs-util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
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

gssize
strand_read_full (int fd, void *buf, gsize len)
{
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, (char *) buf + got, len - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      got += (gsize) n;
    }
  return (gssize) got;
}

int
strand_write_all (int fd, const void *data, gsize len, gsize *done)
{
  gsize written = 0;
  int err = 0;
  while (written < len)
    {
      ssize_t n = write (fd, (const char *) data + written, len - written);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          err = n < 0 ? errno : EIO;
          break;
        }
      written += (gsize) n;
    }
  if (done != NULL)
    *done = written;
  return err;
}

static int
remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  return (type == FTW_DP ? rmdir (path) : unlink (path)) != 0 ? errno : 0;
}

int
strand_remove_tree (const char *path)
{
  int rc = nftw (path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc < 0 ? errno : rc;
}
