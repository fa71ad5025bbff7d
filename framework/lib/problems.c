#include "problems.h"

#include <stdarg.h>

void
strand_problem_free (StrandProblem *problem)
{
  if (problem == NULL)
    return;
  g_free (problem->code);
  g_free (problem->where);
  g_free (problem->message);
  g_free (problem);
}

GPtrArray *
strand_problems_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) strand_problem_free);
}

void
strand_problems_add (GPtrArray *problems, gboolean warning, const char *code,
                     const char *pointer, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  StrandProblem *p = g_new0 (StrandProblem, 1);
  p->code = g_strdup (code);
  p->where = g_strdup (pointer);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  p->message = g_utf8_make_valid (msg, -1);
  p->warning = warning;
  va_end (ap);
  g_ptr_array_add (problems, p);
}

guint
strand_problems_errors (GPtrArray *problems)
{
  guint n = 0;
  for (guint i = 0; i < problems->len; i++)
    n += !((StrandProblem *) problems->pdata[i])->warning;
  return n;
}


JsonNode *
strand_problems_to_json (GPtrArray *problems)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (guint i = 0; i < problems->len; i++)
    {
      const StrandProblem *p = problems->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "severity");
      json_builder_add_string_value (b, p->warning ? "warning" : "error");
      json_builder_set_member_name (b, "code");
      json_builder_add_string_value (b, p->code);
      json_builder_set_member_name (b, "where");
      json_builder_add_string_value (b, p->where);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, p->message);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}
