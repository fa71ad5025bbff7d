#include "faults.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fs-util.h"
#include "plugin-info.h"

G_DEFINE_QUARK (strand-faults-error-quark, strand_faults_error)

struct StrandFaults {
  guint64 seed;
  GPtrArray *rules; /* StrandFault */
  gint64 start_us;
  GHashTable *fired; /* equipment-down rules already announced (by index) */
  StrandEquipmentDownFunc watch;
  gpointer watch_data;
};

static const char *const kind_names[] = {
  [STRAND_FAULT_NONE] = "none",
  [STRAND_FAULT_FAIL] = "fail",
  [STRAND_FAULT_CRASH] = "crash",
  [STRAND_FAULT_HANG] = "hang",
  [STRAND_FAULT_CORRUPT] = "corrupt",
  [STRAND_FAULT_ENOSPC] = "enospc",
  [STRAND_FAULT_EQUIPMENT_DOWN] = "equipment-down",
  [STRAND_FAULT_KILL_HOST] = "kill-host",
};

static const struct {
  const char *name;
  int signal;
} signal_names[] = {
  { "SEGV", SIGSEGV }, { "ABRT", SIGABRT }, { "KILL", SIGKILL },
  { "BUS", SIGBUS },   { "ILL", SIGILL },   { "FPE", SIGFPE },
};

const char *
strand_fault_kind_name (StrandFaultKind kind)
{
  return (guint) kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "unknown";
}

static void
fault_free (gpointer p)
{
  StrandFault *f = p;
  g_free (f->stage);
  g_free (f->sample);
  g_free (f->equipment);
  g_free (f);
}

void
strand_faults_free (StrandFaults *faults)
{
  if (faults == NULL)
    return;
  g_ptr_array_unref (faults->rules);
  g_hash_table_unref (faults->fired);
  g_free (faults);
}

static gboolean
parse_u64 (const char *text, guint64 max, guint64 *out)
{
  return g_ascii_string_to_unsigned (text, 10, 0, max, out, NULL);
}

/* Fills one key of `f`; FALSE with a reason when the key or value is bad. */
static gboolean
set_key (StrandFault *f, const char *key, const char *value, char **why)
{
  guint64 n;
  if (strcmp (key, "stage") == 0 && f->kind <= STRAND_FAULT_CORRUPT)
    g_free (f->stage), f->stage = g_strdup (value);
  else if (strcmp (key, "sample") == 0 && f->kind <= STRAND_FAULT_CORRUPT)
    g_free (f->sample), f->sample = g_strdup (value);
  else if (strcmp (key, "attempt") == 0 && f->kind <= STRAND_FAULT_CORRUPT)
    {
      if (!parse_u64 (value, 1000000, &n) || n == 0)
        return (*why = g_strdup_printf ("attempt '%s' is not a number from 1", value)), FALSE;
      f->attempt = (int) n;
    }
  else if (strcmp (key, "p") == 0 && f->kind <= STRAND_FAULT_CORRUPT)
    {
      char *end = NULL;
      double p = g_ascii_strtod (value, &end);
      if (end == value || *end != '\0' || !(p >= 0 && p <= 1))
        return (*why = g_strdup_printf ("p '%s' is not a probability in [0, 1]", value)), FALSE;
      f->probability = p;
    }
  else if (strcmp (key, "class") == 0 && f->kind == STRAND_FAULT_FAIL)
    {
      if (!strand_error_class_from_name (value, &f->error_class) ||
          f->error_class == STRAND_ERROR_NONE)
        return (*why = g_strdup_printf ("unknown error class '%s'", value)), FALSE;
    }
  else if (strcmp (key, "signal") == 0 && f->kind == STRAND_FAULT_CRASH)
    {
      const char *name = g_str_has_prefix (value, "SIG") ? value + 3 : value;
      f->signal = 0;
      for (guint i = 0; i < G_N_ELEMENTS (signal_names); i++)
        if (strcmp (signal_names[i].name, name) == 0)
          f->signal = signal_names[i].signal;
      if (f->signal == 0)
        return (*why = g_strdup_printf ("unknown signal '%s' (SEGV, ABRT, KILL, BUS, ILL, FPE)",
                                        value)), FALSE;
    }
  else if (strcmp (key, "bytes") == 0 &&
           (f->kind == STRAND_FAULT_CORRUPT || f->kind == STRAND_FAULT_ENOSPC))
    {
      if (!parse_u64 (value, G_MAXUINT64 - 1, &n))
        return (*why = g_strdup_printf ("bytes '%s' is not a number", value)), FALSE;
      f->bytes = n;
    }
  else if (strcmp (key, "id") == 0 && f->kind == STRAND_FAULT_EQUIPMENT_DOWN)
    g_free (f->equipment), f->equipment = g_strdup (value);
  else if (strcmp (key, "at") == 0 && f->kind == STRAND_FAULT_EQUIPMENT_DOWN)
    {
      if (value[0] == '+')
        {
          char *end = NULL;
          double s = g_ascii_strtod (value + 1, &end);
          if (end == value + 1 || *end != '\0' || !(s >= 0 && s < 1e9))
            return (*why = g_strdup_printf ("at '%s' is not +SECONDS", value)), FALSE;
          f->at_us = (gint64) (s * G_USEC_PER_SEC);
          f->at_relative = TRUE;
        }
      else if (!strand_clock_parse_rfc3339 (value, &f->at_us))
        return (*why = g_strdup_printf ("at '%s' is neither +SECONDS nor an RFC 3339 time", value)),
               FALSE;
    }
  else if (strcmp (key, "record") == 0 && f->kind == STRAND_FAULT_KILL_HOST)
    {
      if (!parse_u64 (value, G_MAXUINT64 - 1, &n) || n == 0)
        return (*why = g_strdup_printf ("record '%s' is not a number from 1", value)), FALSE;
      f->record = n;
    }
  else
    return (*why = g_strdup_printf ("'%s' is not a key of %s", key,
                                    strand_fault_kind_name (f->kind))), FALSE;
  return TRUE;
}

static gboolean
check_rule (const StrandFault *f, char **why)
{
  switch (f->kind)
    {
    case STRAND_FAULT_FAIL:
      if (f->error_class == STRAND_ERROR_NONE)
        return (*why = g_strdup ("fail needs class=CLASS")), FALSE;
      break;
    case STRAND_FAULT_CORRUPT:
    case STRAND_FAULT_ENOSPC:
      if (f->bytes == 0 && f->kind == STRAND_FAULT_CORRUPT)
        return (*why = g_strdup ("corrupt needs bytes=N, N >= 1")), FALSE;
      break;
    case STRAND_FAULT_EQUIPMENT_DOWN:
      if (f->equipment == NULL || (!f->at_relative && f->at_us == 0))
        return (*why = g_strdup ("equipment-down needs id=EQUIPMENT and at=TIME")), FALSE;
      break;
    case STRAND_FAULT_KILL_HOST:
      if (f->record == 0)
        return (*why = g_strdup ("kill-host needs record=N")), FALSE;
      break;
    default:
      break;
    }
  return TRUE;
}

static StrandFaults *
faults_new (void)
{
  StrandFaults *faults = g_new0 (StrandFaults, 1);
  faults->seed = 1;
  faults->rules = g_ptr_array_new_with_free_func (fault_free);
  faults->fired = g_hash_table_new (g_direct_hash, g_direct_equal);
  return faults;
}

StrandFaults *
strand_faults_parse (const char *spec, const char *source, GError **error)
{
  g_autoptr (StrandFaults) faults = faults_new ();
  if (!g_utf8_validate (spec, -1, NULL))
    {
      g_set_error (error, STRAND_FAULTS_ERROR, STRAND_FAULTS_ERROR_SYNTAX, "%s: not UTF-8", source);
      return NULL;
    }
  g_auto (GStrv) lines = g_strsplit_set (spec, ";\n", -1);
  guint index = 0;
  for (char **l = lines; *l; l++)
    {
      char *hash = strchr (*l, '#');
      if (hash)
        *hash = '\0';
      char *rule = g_strstrip (*l);
      if (*rule == '\0')
        continue;
      index++;
      char *why = NULL;
      if (g_str_has_prefix (rule, "seed="))
        {
          if (!parse_u64 (rule + 5, G_MAXUINT64, &faults->seed))
            why = g_strdup_printf ("seed '%s' is not a number", rule + 5);
        }
      else
        {
          StrandFault *f = g_new0 (StrandFault, 1);
          f->probability = 1;
          f->index = index;
          g_ptr_array_add (faults->rules, f);
          char *colon = strchr (rule, ':');
          g_autofree char *kind = colon ? g_strndup (rule, (gsize) (colon - rule)) : g_strdup (rule);
          for (guint k = STRAND_FAULT_FAIL; k < G_N_ELEMENTS (kind_names); k++)
            if (strcmp (kind, kind_names[k]) == 0)
              f->kind = (StrandFaultKind) k;
          if (f->kind == STRAND_FAULT_NONE)
            why = g_strdup_printf ("unknown fault '%s' (fail, crash, hang, corrupt, enospc, "
                                   "equipment-down, kill-host)", kind);
          if (f->kind == STRAND_FAULT_CRASH)
            f->signal = SIGSEGV;
          g_auto (GStrv) pairs = colon ? g_strsplit (colon + 1, ",", -1) : NULL;
          for (char **p = pairs; why == NULL && p && *p; p++)
            {
              char *pair = g_strstrip (*p);
              char *eq = strchr (pair, '=');
              if (eq == NULL || eq == pair || eq[1] == '\0')
                {
                  why = g_strdup_printf ("'%s' is not KEY=VALUE", pair);
                  break;
                }
              *eq = '\0';
              set_key (f, g_strstrip (pair), g_strstrip (eq + 1), &why);
            }
          if (why == NULL)
            check_rule (f, &why);
        }
      if (why != NULL)
        {
          g_set_error (error, STRAND_FAULTS_ERROR, STRAND_FAULTS_ERROR_SYNTAX,
                       "%s: rule %u '%s': %s", source, index, rule, why);
          g_free (why);
          return NULL;
        }
    }
  return g_steal_pointer (&faults);
}

StrandFaults *
strand_faults_from_env (GError **error)
{
  const char *value = g_getenv ("STRAND_FAULTS");
  if (value == NULL || *value == '\0')
    return NULL;
  const char *path = value[0] == '@' ? value + 1 : NULL;
  if (path == NULL && strchr (value, ':') == NULL && strchr (value, '=') == NULL &&
      g_file_test (value, G_FILE_TEST_IS_REGULAR))
    path = value;
  if (path == NULL)
    return strand_faults_parse (value, "STRAND_FAULTS", error);
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, STRAND_FAULTS_ERROR, STRAND_FAULTS_ERROR_UNREADABLE,
                   "STRAND_FAULTS: %s", local->message);
      return NULL;
    }
  return strand_faults_parse (text, path, error);
}

guint64
strand_faults_seed (const StrandFaults *faults)
{
  return faults->seed;
}

GPtrArray *
strand_faults_rules (const StrandFaults *faults)
{
  return faults->rules;
}

/* A draw in [0, 1) fixed by the seed, the rule and the task's attempt. */
static double
draw (const StrandFaults *faults, const StrandFault *f, const char *stage, const char *sample,
      int attempt)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT "/%u/%s/%s/%d", faults->seed,
                                           f->index, stage, sample ? sample : "", attempt);
  guint64 h = 1469598103934665603ull; /* FNV-1a */
  for (const char *c = text; *c; c++)
    h = (h ^ (guchar) *c) * 1099511628211ull;
  return (double) (h >> 11) / (double) (1ull << 53);
}

static gboolean
hits (const StrandFaults *faults, const StrandFault *f, const char *stage, const char *sample,
      int attempt)
{
  if (f->stage && g_strcmp0 (f->stage, stage) != 0)
    return FALSE;
  if (f->sample && g_strcmp0 (f->sample, sample) != 0)
    return FALSE;
  if (f->attempt && f->attempt != attempt)
    return FALSE;
  return f->probability >= 1 || draw (faults, f, stage, sample, attempt) < f->probability;
}

const StrandFault *
strand_faults_for_task (const StrandFaults *faults, const char *stage, const char *sample,
                        int attempt)
{
  if (faults == NULL)
    return NULL;
  for (guint i = 0; i < faults->rules->len; i++)
    {
      const StrandFault *f = faults->rules->pdata[i];
      if ((f->kind == STRAND_FAULT_FAIL || f->kind == STRAND_FAULT_CRASH ||
           f->kind == STRAND_FAULT_HANG) && hits (faults, f, stage, sample, attempt))
        return f;
    }
  return NULL;
}

guint64
strand_faults_corrupt_bytes (const StrandFaults *faults, const char *stage, const char *sample,
                             int attempt)
{
  if (faults == NULL)
    return 0;
  for (guint i = 0; i < faults->rules->len; i++)
    {
      const StrandFault *f = faults->rules->pdata[i];
      if (f->kind == STRAND_FAULT_CORRUPT && hits (faults, f, stage, sample, attempt))
        return f->bytes;
    }
  return 0;
}

gboolean
strand_faults_corrupt_file (const char *path, guint64 n, guint64 seed, GError **error)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0 || st.st_size == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "cannot corrupt %s: %s", path,
                   st.st_size == 0 ? "empty file" : g_strerror (errno));
      return FALSE;
    }
  g_chmod (path, st.st_mode | S_IWUSR);
  int fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_chmod (path, st.st_mode);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot corrupt %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  GRand *rand = g_rand_new_with_seed ((guint32) (seed ^ g_str_hash (path)));
  for (guint64 i = 0; i < n; i++)
    {
      off_t at = (off_t) (g_rand_double (rand) * (double) st.st_size);
      guchar byte;
      if (pread (fd, &byte, 1, at) == 1)
        {
          byte ^= (guchar) (1u << g_rand_int_range (rand, 0, 8));
          if (pwrite (fd, &byte, 1, at) != 1)
            break;
        }
    }
  g_rand_free (rand);
  fsync (fd);
  close (fd);
  /* Keep the times: a flipped byte must not look like a new file. */
  struct timespec times[2] = { st.st_atim, st.st_mtim };
  utimensat (AT_FDCWD, path, times, 0);
  g_chmod (path, st.st_mode);
  return TRUE;
}

guint64
strand_faults_enospc_after (const StrandFaults *faults)
{
  for (guint i = 0; faults && i < faults->rules->len; i++)
    {
      const StrandFault *f = faults->rules->pdata[i];
      if (f->kind == STRAND_FAULT_ENOSPC)
        return f->bytes;
    }
  return G_MAXUINT64;
}

guint64
strand_faults_kill_host_record (const StrandFaults *faults)
{
  for (guint i = 0; faults && i < faults->rules->len; i++)
    {
      const StrandFault *f = faults->rules->pdata[i];
      if (f->kind == STRAND_FAULT_KILL_HOST)
        return f->record;
    }
  return 0;
}

void
strand_faults_start (StrandFaults *faults, gint64 run_start_us)
{
  faults->start_us = run_start_us;
  g_hash_table_remove_all (faults->fired);
}

void
strand_faults_watch_equipment (StrandFaults *faults, StrandEquipmentDownFunc func,
                               gpointer user_data)
{
  faults->watch = func;
  faults->watch_data = user_data;
}

static gint64
down_at (const StrandFaults *faults, const StrandFault *f)
{
  return f->at_relative ? faults->start_us + f->at_us : f->at_us;
}

void
strand_faults_tick (StrandFaults *faults, gint64 now_us)
{
  for (guint i = 0; faults && i < faults->rules->len; i++)
    {
      const StrandFault *f = faults->rules->pdata[i];
      if (f->kind != STRAND_FAULT_EQUIPMENT_DOWN || down_at (faults, f) > now_us ||
          g_hash_table_contains (faults->fired, GUINT_TO_POINTER (f->index)))
        continue;
      g_hash_table_add (faults->fired, GUINT_TO_POINTER (f->index));
      if (faults->watch)
        faults->watch (f->equipment, down_at (faults, f), faults->watch_data);
    }
}

gboolean
strand_faults_equipment_down (const StrandFaults *faults, const char *equipment, gint64 now_us)
{
  for (guint i = 0; faults && equipment && i < faults->rules->len; i++)
    {
      const StrandFault *f = faults->rules->pdata[i];
      if (f->kind == STRAND_FAULT_EQUIPMENT_DOWN && strcmp (f->equipment, equipment) == 0 &&
          down_at (faults, f) <= now_us)
        return TRUE;
    }
  return FALSE;
}

gint64
strand_faults_next_equipment_event (const StrandFaults *faults, gint64 now_us)
{
  gint64 next = G_MAXINT64;
  for (guint i = 0; faults && i < faults->rules->len; i++)
    {
      const StrandFault *f = faults->rules->pdata[i];
      if (f->kind == STRAND_FAULT_EQUIPMENT_DOWN && down_at (faults, f) > now_us)
        next = MIN (next, down_at (faults, f));
    }
  return next;
}
