/* Problems found in what a user handed over: a stable code, where (a JSON
 * pointer, or file:line for line-oriented files) and a one-line message.
 * Validators collect every problem instead of stopping at the first. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  char *code;    /* stable, e.g. "unknown-plugin" */
  char *where;   /* JSON pointer ("/stages/2/plugin") or file:line */
  char *message; /* one line a bench scientist understands */
  gboolean warning;
} StrandProblem;

void strand_problem_free (StrandProblem *problem);
GPtrArray *strand_problems_new (void);
void strand_problems_add (GPtrArray *problems, gboolean warning, const char *code,
                          const char *pointer, const char *format, ...) G_GNUC_PRINTF (5, 6);
/* Count of problems that are errors, not warnings. */
guint strand_problems_errors (GPtrArray *problems);

/* {"severity", "code", "where", "message"} per problem. */
JsonNode *strand_problems_to_json (GPtrArray *problems);

G_END_DECLS
