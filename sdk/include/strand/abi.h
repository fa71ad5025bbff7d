/* Strand plugin SDK: ABI version and shared basic types.
 *
 * Compatibility rule: a host loads a plugin when the ABI majors are equal and
 * the minor the plugin was built against is at most the host's. Structs that
 * cross the boundary start with their own size; new members are only ever
 * appended (and bump the minor), so a host reads an older, shorter struct by
 * copying it into a zero-filled one of today's size.
 *
 * Only standard C types are used: a plugin author needs no other library. */
#ifndef STRAND_ABI_H
#define STRAND_ABI_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STRAND_ABI_MAJOR 1
#define STRAND_ABI_MINOR 2

/* "STRD": first member of every stage descriptor. */
#define STRAND_DESCRIPTOR_MAGIC 0x44525453u

/* The one symbol a plugin exports. */
#define STRAND_STAGE_ENTRY_SYMBOL "strand_stage_entry"

#if defined(__GNUC__)
#define STRAND_EXPORT __attribute__((visibility("default")))
#define STRAND_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define STRAND_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define STRAND_EXPORT
#define STRAND_PRINTF(fmt, args)
#define STRAND_WARN_UNUSED
#endif

/* Return codes of every SDK call: >= 0 success, < 0 one of these. */
typedef enum {
  STRAND_OK = 0,
  STRAND_E_FAILED = -1,      /* the stage failed; see its error class */
  STRAND_E_INVALID = -2,     /* bad argument (unknown port, index, name) */
  STRAND_E_NOT_FOUND = -3,   /* no such parameter/input, and no default */
  STRAND_E_TYPE = -4,        /* parameter exists with another type */
  STRAND_E_IO = -5,          /* operating-system I/O failure */
  STRAND_E_NO_SPACE = -6,    /* storage exhausted or quota reached */
  STRAND_E_CANCELLED = -7,   /* the host asked the stage to stop */
  STRAND_E_TOOL = -8,        /* an external tool failed or could not start */
  STRAND_E_UNSUPPORTED = -9, /* the host is too old for this call */
} StrandStatus;

/* What went wrong, as the host's error policies see it. */
typedef enum {
  STRAND_ERROR_NONE = 0,
  STRAND_ERROR_TRANSIENT,     /* temporary I/O or network trouble */
  STRAND_ERROR_RESOURCE,      /* out of memory or another resource limit */
  STRAND_ERROR_TIMEOUT,       /* ran past its wall-time limit */
  STRAND_ERROR_INVALID_INPUT, /* corrupt or malformed input data */
  STRAND_ERROR_INTEGRITY,     /* a digest did not match */
  STRAND_ERROR_CRASH,         /* the stage crashed (signal) */
  STRAND_ERROR_EQUIPMENT,     /* the instrument or node failed */
  STRAND_ERROR_STORAGE,       /* disk full, quota exceeded */
  STRAND_ERROR_CONFIG,        /* bad parameters or setup */
  STRAND_ERROR_INTERNAL,      /* a bug in the stage */
  STRAND_ERROR_CLASS_COUNT
} StrandErrorClass;

/* How a stage classifies a failed system call: a full disk or quota is
 * storage, no memory is a resource shortage, anything else transient. */
static inline StrandErrorClass
strand_error_class_from_errno (int err)
{
  if (err == ENOSPC || err == EFBIG
#ifdef EDQUOT
      || err == EDQUOT
#endif
  )
    return STRAND_ERROR_STORAGE;
  if (err == ENOMEM)
    return STRAND_ERROR_RESOURCE;
  return STRAND_ERROR_TRANSIENT;
}

typedef enum {
  STRAND_LOG_ERROR = 0,
  STRAND_LOG_WARNING,
  STRAND_LOG_INFO,
  STRAND_LOG_DEBUG,
} StrandLogLevel;

#ifdef __cplusplus
}
#endif

#endif /* STRAND_ABI_H */
