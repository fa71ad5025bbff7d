/* basecall: how its modules report a failure to basecall.c, which turns it
 * into the task's failure (host->fail) with the matching error class.
 *
 * The modules (run folder, sample sheet, BCL reader, demultiplexer) know
 * nothing of the host, so the fuzz target and unit tests can drive them
 * alone. A message names the file and, where there is one, the line. */
#ifndef BC_ERROR_H
#define BC_ERROR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum {
  BC_ERR_NONE = 0,
  BC_ERR_CORRUPT,   /* a file of the run folder is malformed or truncated */
  BC_ERR_CONFIG,    /* the sample sheet or the parameters cannot work */
  BC_ERR_IO,        /* the operating system failed a read or a write */
  BC_ERR_NO_MEMORY, /* an allocation failed */
  BC_ERR_NO_SPACE,  /* the disk or the quota is full */
} BcErrorKind;

typedef struct {
  BcErrorKind kind;
  char message[1024];
} BcError;

/* Records the first failure; later ones are dropped, so the message says
 * what went wrong first. Returns -1 for `return bc_error_set (...)`. */
int bc_error_set (BcError *error, BcErrorKind kind, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/* The kind that an errno from a failed read or write calls for. */
BcErrorKind bc_error_kind_from_errno (int err);

#endif /* BC_ERROR_H */
