/* simulate-run: failure records (see sim-error.h). */
#include "sim-error.h"

#include <errno.h>
#include <stdio.h>

int
sim_error_set (SimError *error, SimErrorKind kind, const char *format, ...)
{
  if (error == NULL || error->kind != SIM_ERR_NONE)
    return -1;
  error->kind = kind;
  va_list ap;
  va_start (ap, format);
  vsnprintf (error->message, sizeof error->message, format, ap);
  va_end (ap);
  return -1;
}

SimErrorKind
sim_error_kind_from_errno (int err)
{
  if (err == ENOSPC || err == EDQUOT || err == EFBIG)
    return SIM_ERR_NO_SPACE;
  if (err == ENOMEM)
    return SIM_ERR_NO_MEMORY;
  return SIM_ERR_IO;
}
