/* The data formats ports may declare, and how two ports' formats meet. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* True when `name` is a format the host knows (see STRAND_FORMAT_* in the SDK). */
gboolean strand_format_is_known (const char *name);
/* The known formats, NULL-terminated, in a stable order. */
const char *const *strand_format_names (void);

/* Splits a port's comma-separated list; empty items are kept as "" so the
 * caller can report them. */
GStrv strand_formats_split (const char *formats);

/* True when a producer of `out_formats` may feed a consumer of `in_formats`:
 * some format is in both, or either side is "any". */
gboolean strand_formats_compatible (const char *out_formats, const char *in_formats);

G_END_DECLS
