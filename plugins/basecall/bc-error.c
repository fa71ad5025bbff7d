/* basecall: failure records shared by its modules (see bc-error.h). */
#include "bc-error.h"

#include <errno.h>
#include <stdio.h>

int
bc_error_set (BcError *error, BcErrorKind kind, const char *format, ...)
{
  if (error == NULL || error->kind != BC_ERR_NONE)
    return -1;
  error->kind = kind;
  va_list ap;
  va_start (ap, format);
  vsnprintf (error->message, sizeof error->message, format, ap);
  va_end (ap);
  return -1;
}

BcErrorKind
bc_error_kind_from_errno (int err)
{
  if (err == ENOSPC || err == EDQUOT || err == EFBIG)
    return BC_ERR_NO_SPACE;
  if (err == ENOMEM)
    return BC_ERR_NO_MEMORY;
  return BC_ERR_IO;
}
