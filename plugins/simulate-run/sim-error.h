/* simulate-run: how its modules report a failure to simulate-run.c, which
 * turns it into the task's failure with the matching error class. The
 * modules know nothing of the host, so unit tests drive them alone. */
#ifndef SIM_ERROR_H
#define SIM_ERROR_H

#include <stdarg.h>

typedef enum {
  SIM_ERR_NONE = 0,
  SIM_ERR_INPUT,     /* the reference is malformed */
  SIM_ERR_CONFIG,    /* the parameters or the samples cannot work */
  SIM_ERR_IO,        /* the operating system failed a read or a write */
  SIM_ERR_NO_MEMORY, /* an allocation failed */
  SIM_ERR_NO_SPACE,  /* the disk or the quota is full */
} SimErrorKind;

typedef struct {
  SimErrorKind kind;
  char message[1024];
} SimError;

/* Records the first failure only; returns -1. */
int sim_error_set (SimError *error, SimErrorKind kind, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/* The kind a failed write's errno calls for. */
SimErrorKind sim_error_kind_from_errno (int err);

#endif /* SIM_ERROR_H */
