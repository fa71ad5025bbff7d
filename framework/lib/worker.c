#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

extern char **environ;

#include "clock.h"
#include "digest.h"
#include "faults.h"
#include "fs-util.h"
#include "host-table.h"
#include "json-util.h"
#include "plugin-load.h"
#include "worker-scratch.h"

/* Exit codes of the worker process itself. */
#define WORKER_EXIT_OK 0
#define WORKER_EXIT_STAGE_FAILED 1
#define WORKER_EXIT_LOAD_FAILED 3

#if defined(__SANITIZE_ADDRESS__)
#define WORKER_RLIMIT_AS 0 /* ASan maps terabytes of shadow memory */
#else
#define WORKER_RLIMIT_AS 1
#endif

/* ---- inside the worker ------------------------------------------------------ */

static void
on_sigterm (int sig)
{
  (void) sig;
  strand_task_cancel_requested = 1;
}

/* Set before run(), read by the handlers below (async-signal-safe only). */
static int oom_report_fd = -1;
static guint64 oom_address_limit;
static guint64 oom_margin;

/* The worker's address space in bytes, from /proc/self/statm, with
 * async-signal-safe calls only; 0 when unknown. */
static guint64
address_space_bytes (void)
{
  int fd = open ("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char buf[64];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return 0;
  guint64 pages = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
    pages = pages * 10 + (guint64) (buf[i] - '0');
  return pages * (guint64) sysconf (_SC_PAGESIZE);
}

/* Tells the host that the worker ends with its address space at its limit:
 * an allocation failed, whatever the stage does about it (abort, SIGSEGV on
 * a NULL pointer, exit(1) after a message). */
static void
report_if_out_of_memory (void)
{
  if (oom_report_fd < 0 || oom_address_limit == 0)
    return;
  guint64 used = address_space_bytes ();
  if (used == 0 || used + oom_margin < oom_address_limit)
    return;
  static const char line[] = "{\"t\":\"oom\"}\n";
  ssize_t ignored = write (oom_report_fd, line, sizeof line - 1);
  (void) ignored;
  oom_report_fd = -1;
}

static void
on_fatal_signal (int sig)
{
  report_if_out_of_memory ();
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
on_exit_call (void)
{
  report_if_out_of_memory ();
}

static void
watch_memory (int report_fd, guint64 limit, guint64 memory_bytes)
{
  oom_report_fd = report_fd;
  oom_address_limit = limit;
  oom_margin = memory_bytes / 10 + (1u << 20);
  static char alt_stack[65536];
  stack_t ss = { .ss_sp = alt_stack, .ss_size = sizeof alt_stack };
  sigaltstack (&ss, NULL);
  struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_ONSTACK | SA_RESETHAND };
  sigaction (SIGSEGV, &sa, NULL);
  sigaction (SIGBUS, &sa, NULL);
  sigaction (SIGABRT, &sa, NULL);
  atexit (on_exit_call);
}

static void
send_done (StrandTask *task, int rc)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "t");
  json_builder_add_string_value (b, "done");
  json_builder_set_member_name (b, "status");
  json_builder_add_int_value (b, rc);
  json_builder_end_object (b);
  g_autoptr (JsonNode) done = json_builder_get_root (b);
  strand_task_report (task, done);
}

/* An input that changed since its digest was recorded must not be read. */
static gboolean
verify_inputs (StrandTask *task, const StrandTaskSpec *spec)
{
  for (guint i = 0; i < spec->inputs->len; i++)
    {
      const StrandTaskInput *in = spec->inputs->pdata[i];
      GStatBuf st;
      if (!in->verify || in->sha256 == NULL || g_stat (in->path, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      g_autoptr (GError) error = NULL;
      g_autofree char *sha = strand_sha256_file (in->path, NULL, &error);
      if (sha == NULL)
        strand_host_table ()->fail (task, STRAND_ERROR_TRANSIENT, "input %s: %s", in->path,
                                    error->message);
      else if (strcmp (sha, in->sha256) != 0)
        strand_host_table ()->fail (task, STRAND_ERROR_INTEGRITY,
                                    "input '%s' %s: its bytes no longer match its recorded digest "
                                    "(sha256 %s recorded, %s found)", in->port,
                                    in->name ? in->name : in->path, in->sha256, sha);
      if (sha == NULL || strcmp (sha, in->sha256) != 0)
        return FALSE;
    }
  return TRUE;
}

/* Before anything is set up: a line the host reads as the failure. */
static G_GNUC_NORETURN void
refuse (int report_fd, StrandErrorClass cls, const char *what, const char *path, int err)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "t");
  json_builder_add_string_value (b, "fail");
  json_builder_set_member_name (b, "class");
  json_builder_add_string_value (b, strand_error_class_name (cls));
  json_builder_set_member_name (b, "msg");
  g_autofree char *msg = g_strdup_printf ("cannot %s %s: %s", what, path, g_strerror (err));
  json_builder_add_string_value (b, msg);
  json_builder_end_object (b);
  g_autoptr (JsonNode) node = json_builder_get_root (b);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autofree char *line = g_strconcat (text, "\n", NULL);
  ssize_t ignored = write (report_fd, line, strlen (line));
  (void) ignored;
  _exit (WORKER_EXIT_LOAD_FAILED);
}

static G_GNUC_NORETURN void
worker_main (const StrandTaskSpec *spec, int report_fd, const char *log_path, pid_t host,
             const char *cgroup_dir)
{
  /* A host killed outright must not leave its workers running. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != host)
    _exit (WORKER_EXIT_LOAD_FAILED);
  /* The worker makes its own folder and log: the host's loop only forks. */
  if (g_mkdir_with_parents (spec->work_dir, 0750) != 0)
    refuse (report_fd, errno == ENOSPC || errno == EDQUOT ? STRAND_ERROR_STORAGE
                                                          : STRAND_ERROR_TRANSIENT,
            "create the task's folder", spec->work_dir, errno);
  int log_fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (log_fd < 0)
    refuse (report_fd, errno == ENOSPC || errno == EDQUOT ? STRAND_ERROR_STORAGE
                                                          : STRAND_ERROR_TRANSIENT,
            "create the task's log", log_path, errno);
  dup2 (log_fd, STDOUT_FILENO);
  dup2 (log_fd, STDERR_FILENO);
  close (log_fd);
  /* Nothing of the host's (the ledger and its lock, the store's database)
   * may outlive it in a stage that hangs on: keep only the report pipe. */
  if (report_fd > 3)
    close_range (3, (unsigned) report_fd - 1, 0);
  close_range ((unsigned) report_fd + 1, ~0U, 0);
  setvbuf (stderr, NULL, _IOLBF, 0);
  struct sigaction sa = { .sa_handler = on_sigterm };
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  if (cgroup_dir != NULL)
    {
      g_autofree char *procs = g_build_filename (cgroup_dir, "cgroup.procs", NULL);
      g_file_set_contents (procs, "0\n", -1, NULL);
    }

  g_autoptr (GError) error = NULL;
  StrandPluginModule *module = strand_plugin_module_open (spec->plugin->path, &error);
  StrandTask task;
  const StrandStageDescriptor *desc = module ? strand_plugin_module_descriptor (module) : NULL;
  strand_task_init (&task, spec, desc, report_fd);
  if (module == NULL)
    {
      strand_host_table ()->fail (&task, STRAND_ERROR_CONFIG, "plugin %s: %s",
                                  spec->plugin->path, error->message);
      _exit (WORKER_EXIT_LOAD_FAILED);
    }
  if (!verify_inputs (&task, spec))
    _exit (WORKER_EXIT_STAGE_FAILED);

  switch (spec->fault)
    {
    case STRAND_FAULT_FAIL:
      fprintf (stderr, "[fault] injected failure of class %s\n",
               strand_error_class_name (spec->fault_class));
      strand_host_table ()->fail (&task, spec->fault_class, "injected fault: %s on attempt %d",
                                  strand_error_class_name (spec->fault_class), spec->attempt);
      send_done (&task, STRAND_E_FAILED);
      _exit (WORKER_EXIT_STAGE_FAILED);
    case STRAND_FAULT_CRASH:
      fprintf (stderr, "[fault] injected crash: signal %d\n", spec->fault_signal);
      signal (spec->fault_signal, SIG_DFL);
      raise (spec->fault_signal);
      _exit (WORKER_EXIT_STAGE_FAILED);
    case STRAND_FAULT_HANG:
      fprintf (stderr, "[fault] injected hang\n");
      for (;;)
        pause ();
    default:
      break;
    }

  /* Its thread is the worker's: started before the memory limit is set. */
  StrandScratchWatch *scratch = strand_scratch_watch_start (spec, report_fd);
  if (spec->memory_bytes > 0)
    {
      /* What the stage allocates must count: heap the host freed before the
       * fork is given back where it can be, and large blocks come from
       * fresh mappings again (glibc raises its mmap threshold as a process
       * frees large blocks, and would serve them from the old heap). */
      mallopt (M_MMAP_THRESHOLD, 128 * 1024);
      malloc_trim (0);
      /* Free heap left mapped counts as the stage's: it is used first. */
      struct mallinfo2 heap = mallinfo2 ();
      guint64 base = address_space_bytes ();
      guint64 grow = spec->memory_bytes > heap.fordblks ? spec->memory_bytes - heap.fordblks : 0;
      guint64 limit = base + grow;
      if (WORKER_RLIMIT_AS && base > 0)
        {
          struct rlimit rl = { limit, limit };
          if (setrlimit (RLIMIT_AS, &rl) == 0)
            watch_memory (report_fd, limit, spec->memory_bytes);
        }
    }
  int rc = desc->run (&task, strand_host_table ());
  oom_report_fd = -1; /* run() returned: whatever it says stands */
  /* A stage that failed said why first; one that succeeded must have kept
   * to its scratch. */
  strand_scratch_watch_stop (scratch, rc == STRAND_OK);
  send_done (&task, rc);
  fflush (NULL);
  /* No cleanup: the process ends here and the plugin stays mapped. */
  _exit (rc == STRAND_OK ? WORKER_EXIT_OK : WORKER_EXIT_STAGE_FAILED);
}

/* ---- validation inside the worker ------------------------------------------ */

/* What the validate callbacks of one worker may use, in all: a plugin
 * that leaks past it fails its allocations, not the machine. */
#define CHECKS_MEMORY_BYTES ((guint64) 1 << 30)

static int
refuse_output_path (StrandTask *task, const char *port, const char *file_name, const char **path)
{
  (void) task; (void) port; (void) file_name; (void) path;
  return STRAND_E_INVALID; /* nothing is written before the run */
}

static int
refuse_sample_output_path (StrandTask *task, const char *port, const char *sample_id,
                           const char *file_name, const char **path)
{
  (void) task; (void) port; (void) sample_id; (void) file_name; (void) path;
  return STRAND_E_INVALID;
}

static void
send_check (StrandTask *task, const char *type, guint index, gboolean with_status, int rc)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "t");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "task");
  json_builder_add_int_value (b, index);
  if (with_status)
    {
      json_builder_set_member_name (b, "status");
      json_builder_add_int_value (b, rc);
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) node = json_builder_get_root (b);
  strand_task_report (task, node);
}

/* Calls the validate callback of specs[0..n), all of one plugin, as tasks
 * `first`, `first + 1`, ... of the host's batch. */
static G_GNUC_NORETURN void
checks_main (StrandTaskSpec *const *specs, guint n, guint first, int report_fd, pid_t host)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != host)
    _exit (WORKER_EXIT_LOAD_FAILED);
  /* What a plugin prints while it checks goes nowhere: its problems come
   * through host->fail(), and validation writes no task logs. */
  int devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0)
    {
      dup2 (devnull, STDIN_FILENO);
      dup2 (devnull, STDOUT_FILENO);
      dup2 (devnull, STDERR_FILENO);
    }
  if (report_fd > 3)
    close_range (3, (unsigned) report_fd - 1, 0);
  close_range ((unsigned) report_fd + 1, ~0U, 0);
  signal (SIGTERM, SIG_DFL);
  signal (SIGINT, SIG_DFL);
  struct rlimit no_core = { 0, 0 };
  setrlimit (RLIMIT_CORE, &no_core); /* a crash is reported, not dumped */
  if (n == 0)
    _exit (WORKER_EXIT_OK);

  StrandTask task;
  g_autoptr (GError) error = NULL;
  StrandPluginModule *module = strand_plugin_module_open (specs[0]->plugin->path, &error);
  const StrandStageDescriptor *desc = module ? strand_plugin_module_descriptor (module) : NULL;
  if (module == NULL)
    {
      strand_task_init (&task, specs[0], NULL, report_fd);
      strand_host_table ()->fail (&task, STRAND_ERROR_CONFIG, "plugin %s: %s",
                                  specs[0]->plugin->path, error->message);
      _exit (WORKER_EXIT_LOAD_FAILED);
    }
  if (desc->validate == NULL)
    _exit (WORKER_EXIT_OK); /* the file changed since it was scanned */
  if (WORKER_RLIMIT_AS)
    {
      guint64 base = address_space_bytes ();
      struct rlimit rl = { base + CHECKS_MEMORY_BYTES, base + CHECKS_MEMORY_BYTES };
      if (base > 0)
        setrlimit (RLIMIT_AS, &rl);
    }
  StrandHost table = *strand_host_table ();
  table.output_path = refuse_output_path;
  table.sample_output_path = refuse_sample_output_path;
  /* The host counts the ends: the next callback is that of the task after. */
  strand_task_init (&task, specs[0], desc, report_fd);
  send_check (&task, "loaded", first, FALSE, 0);
  strand_task_clear (&task);
  for (guint i = 0; i < n; i++)
    {
      strand_task_init (&task, specs[i], desc, report_fd);
      int rc = desc->validate (&task, &table);
      send_check (&task, "end", first + i, TRUE, rc);
      strand_task_clear (&task);
    }
  fflush (NULL);
  _exit (WORKER_EXIT_OK);
}

/* ---- the worker program ------------------------------------------------------ */

int
strand_worker_exec_main (int argc, char **argv)
{
  int report_fd = -1, spec_fd = -1;
  pid_t host = 0;
  const char *cgroup = NULL;
  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--report-fd") == 0)
        report_fd = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--spec-fd") == 0)
        spec_fd = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--host-pid") == 0)
        host = (pid_t) atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--cgroup") == 0)
        cgroup = argv[i + 1];
    }
  if (report_fd < 3 || spec_fd < 3 || host <= 0)
    {
      fprintf (stderr, "%s: run by the Strand host only\n", argv[0]);
      return 2;
    }
  g_autoptr (GString) text = g_string_new (NULL);
  char buf[65536];
  ssize_t n;
  while ((n = read (spec_fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (text, buf, n);
  close (spec_fd);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = json_from_string (text->str, &error);
  JsonObject *o = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  if (o != NULL && json_object_has_member (o, "validate"))
    {
      JsonNode *list = json_object_get_member (o, "validate");
      JsonNode *plugin_node = json_object_get_member (o, "plugin");
      g_autoptr (StrandPluginInfo) plugin = strand_plugin_info_from_json (plugin_node, &error);
      g_autoptr (GPtrArray) specs = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_task_spec_free);
      for (guint i = 0; plugin && JSON_NODE_HOLDS_ARRAY (list) &&
                        i < json_array_get_length (json_node_get_array (list)); i++)
        {
          JsonNode *element = json_array_get_element (json_node_get_array (list), i);
          StrandTaskSpec *one = strand_task_spec_from_json (element, &error);
          if (one == NULL)
            break;
          /* Every task shares the one description, for its stand-in. */
          g_clear_pointer (&one->owned_plugin, strand_plugin_info_free);
          one->plugin = plugin;
          g_ptr_array_add (specs, one);
        }
      if (plugin == NULL || error != NULL)
        refuse (report_fd, STRAND_ERROR_INTERNAL, "read the checks from", "the host", EINVAL);
      gint64 first = strand_json_int (o, "first", 0);
      checks_main ((StrandTaskSpec *const *) specs->pdata, specs->len,
                   (guint) CLAMP (first, 0, G_MAXUINT), report_fd, host);
    }
  StrandTaskSpec *spec = node ? strand_task_spec_from_json (node, &error) : NULL;
  if (spec == NULL)
    refuse (report_fd, STRAND_ERROR_INTERNAL, "read the task from", "the host", EINVAL);
  g_autofree char *log_path = g_build_filename (spec->work_dir, "task.log", NULL);
  worker_main (spec, report_fd, log_path, host, cgroup);
}

/* STRAND_WORKER, else the installed worker program; NULL: workers are
 * forked from the host instead. */
static const char *
worker_program (void)
{
  static gsize once = 0;
  static char *program = NULL;
  if (g_once_init_enter (&once))
    {
      const char *env = g_getenv ("STRAND_WORKER");
      if (env != NULL)
        program = *env ? g_strdup (env) : NULL;
      else if (g_file_test (STRAND_WORKER_PATH, G_FILE_TEST_IS_EXECUTABLE))
        program = g_strdup (STRAND_WORKER_PATH);
      g_once_init_leave (&once, 1);
    }
  return program;
}

/* Starts the worker program with the task as JSON in a memfd, the report
 * pipe as fd 3 and the task as fd 4: the host's cost is a vfork and an
 * exec, whatever its own size (a fork copies its page tables). */
static pid_t
spawn_worker (const char *program, const char *text, int report_fd, pid_t host,
              const char *cgroup_dir, int *saved_errno)
{
  int memfd = memfd_create ("strand-task", MFD_CLOEXEC);
  if (memfd < 0 || strand_write_all (memfd, text, strlen (text), NULL) != 0 ||
      lseek (memfd, 0, SEEK_SET) != 0)
    {
      *saved_errno = errno;
      if (memfd >= 0)
        close (memfd);
      return -1;
    }
  /* Out of the way of the numbers they take in the worker. */
  int report = fcntl (report_fd, F_DUPFD_CLOEXEC, 10);
  int task = fcntl (memfd, F_DUPFD_CLOEXEC, 10);
  close (memfd);
  g_autofree char *host_text = g_strdup_printf ("%d", (int) host);
  const char *argv[] = { program, "--report-fd", "3", "--spec-fd", "4", "--host-pid", host_text,
                         cgroup_dir ? "--cgroup" : NULL, cgroup_dir, NULL };
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, report, 3);
  posix_spawn_file_actions_adddup2 (&fa, task, 4);
  posix_spawn_file_actions_addopen (&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addclosefrom_np (&fa, 5);
  pid_t pid = -1;
  int rc = posix_spawn (&pid, program, &fa, NULL, (char *const *) argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (report);
  close (task);
  if (rc != 0)
    {
      *saved_errno = rc;
      return -1;
    }
  return pid;
}

/* ---- cgroup v2, where one is delegated to us -------------------------------- */

static char *
find_cgroup_parent (void)
{
  const char *env = g_getenv ("STRAND_CGROUP");
  g_autofree char *dir = NULL;
  if (env != NULL)
    {
      if (*env == '\0')
        return NULL;
      dir = g_strdup (env);
    }
  else
    {
      g_autofree char *self = NULL, *mounts = NULL;
      if (!g_file_get_contents ("/proc/self/cgroup", &self, NULL, NULL) ||
          !g_file_get_contents ("/proc/self/mountinfo", &mounts, NULL, NULL))
        return NULL;
      const char *path = NULL;
      g_auto (GStrv) lines = g_strsplit (self, "\n", -1);
      for (char **l = lines; *l; l++)
        if (g_str_has_prefix (*l, "0::"))
          path = *l + 3;
      g_auto (GStrv) mlines = g_strsplit (mounts, "\n", -1);
      const char *mount = NULL;
      g_auto (GStrv) fields = NULL;
      for (char **l = mlines; *l && mount == NULL; l++)
        if (strstr (*l, " - cgroup2 ") != NULL)
          {
            fields = g_strsplit (*l, " ", -1);
            if (g_strv_length (fields) > 4)
              mount = fields[4];
          }
      if (path == NULL || mount == NULL)
        return NULL;
      dir = g_build_filename (mount, path, NULL);
    }
  g_autofree char *control = g_build_filename (dir, "cgroup.subtree_control", NULL);
  g_autofree char *enabled = NULL;
  if (!g_file_get_contents (control, &enabled, NULL, NULL) || strstr (enabled, "memory") == NULL ||
      access (dir, W_OK) != 0)
    return NULL;
  return g_steal_pointer (&dir);
}

static const char *
cgroup_parent (void)
{
  static gsize once = 0;
  static char *parent = NULL;
  if (g_once_init_enter (&once))
    {
      parent = find_cgroup_parent ();
      g_once_init_leave (&once, 1);
    }
  return parent;
}

static char *
cgroup_create (guint64 memory_bytes)
{
  const char *parent = cgroup_parent ();
  if (parent == NULL)
    return NULL;
  static guint counter = 0;
  g_autofree char *name = g_strdup_printf ("strand-%d-%u", (int) getpid (), ++counter);
  char *dir = g_build_filename (parent, name, NULL);
  if (g_mkdir (dir, 0755) != 0)
    {
      g_free (dir);
      return NULL;
    }
  if (memory_bytes > 0)
    {
      g_autofree char *max = g_build_filename (dir, "memory.max", NULL);
      g_autofree char *value = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", memory_bytes);
      g_file_set_contents (max, value, -1, NULL);
    }
  return dir;
}

static guint64
cgroup_oom_kills (const char *dir)
{
  g_autofree char *events = g_build_filename (dir, "memory.events", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (events, &text, NULL, NULL))
    return 0;
  const char *p = strstr (text, "oom_kill ");
  return p ? g_ascii_strtoull (p + 9, NULL, 10) : 0;
}

/* ---- in the host ------------------------------------------------------------- */

/* The host's resident memory: what a worker shares at first. */
static guint64
resident_bytes (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/statm", &text, NULL, NULL))
    return 0;
  g_auto (GStrv) f = g_strsplit (text, " ", 3);
  return f[0] && f[1] ? g_ascii_strtoull (f[1], NULL, 10) * (guint64) sysconf (_SC_PAGESIZE) : 0;
}

struct StrandWorker {
  const StrandTaskSpec *spec;
  StrandTaskResult *result;
  pid_t pid;
  int fd;
  int pidfd;
  GString *pending;
  gboolean done_seen;
  gint64 done_status;
  gboolean fail_seen;
  gboolean oom_seen;
  gboolean reaped;
  int status;
  struct rusage usage;
  StrandKillReason killed;
  char *cgroup_dir;
  guint64 base_rss;
};

static void
take_message (StrandWorker *w, const char *line)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, line, -1, NULL))
    return;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObject *o = json_node_get_object (root);
  const char *t = strand_json_string (o, "t", "");
  StrandTaskResult *r = w->result;
  if (strcmp (t, "done") == 0)
    {
      w->done_seen = TRUE;
      w->done_status = strand_json_int (o, "status", -1);
    }
  else if (strcmp (t, "oom") == 0)
    w->oom_seen = TRUE;
  else if (strcmp (t, "fail") == 0 && !w->fail_seen)
    {
      /* The first failure is the cause; later ones are consequences. */
      w->fail_seen = TRUE;
      StrandErrorClass cls = STRAND_ERROR_INTERNAL;
      strand_error_class_from_name (strand_json_string (o, "class", ""), &cls);
      r->error_class = cls;
      g_free (r->message);
      r->message = g_strdup (strand_json_string (o, "msg", ""));
    }
  else if (strcmp (t, "output") == 0)
    {
      const char *port = strand_json_string (o, "port", NULL);
      const char *path = strand_json_string (o, "path", NULL);
      if (port && path)
        {
          StrandTaskOutput *out = g_new0 (StrandTaskOutput, 1);
          out->port = g_strdup (port);
          out->path = g_strdup (path);
          out->name = g_path_get_basename (path);
          out->sample_id = g_strdup (strand_json_string (o, "sample", NULL));
          g_ptr_array_add (r->outputs, out);
        }
    }
  else if (strcmp (t, "tool") == 0)
    {
      StrandToolUse *tool = g_new0 (StrandToolUse, 1);
      tool->path = g_strdup (strand_json_string (o, "path", ""));
      tool->version = g_strdup (strand_json_string (o, "version", NULL));
      tool->sha256 = g_strdup (strand_json_string (o, "sha256", NULL));
      g_ptr_array_add (r->tools, tool);
    }
  else if (strcmp (t, "metric") == 0)
    {
      const char *name = strand_json_string (o, "name", NULL);
      if (name)
        {
          double *v = g_new (double, 1);
          *v = strand_json_double (o, "value", 0);
          g_hash_table_replace (r->metrics, g_strdup (name), v);
        }
    }
}

static void G_GNUC_PRINTF (3, 4)
fail (StrandTaskResult *r, StrandErrorClass cls, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_free (r->message);
  r->message = g_strdup_vprintf (format, ap);
  va_end (ap);
  r->error_class = cls;
  r->ok = FALSE;
}

/* Every output the stage declared must exist, as a file or a directory of
 * its own (never a link to something else); the caller stores and hashes
 * them (once, as they enter the store). */
static void
check_outputs (StrandTaskResult *r)
{
  for (guint i = 0; i < r->outputs->len; i++)
    {
      StrandTaskOutput *out = r->outputs->pdata[i];
      GStatBuf st;
      if (g_lstat (out->path, &st) != 0)
        {
          fail (r, STRAND_ERROR_INTERNAL, "output '%s' was declared but not written: %s",
                out->port, out->path);
          return;
        }
      if (!S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode))
        {
          fail (r, STRAND_ERROR_INTERNAL, "output '%s' is neither a file nor a directory: %s",
                out->port, out->path);
          return;
        }
      out->tree = S_ISDIR (st.st_mode);
      out->size = S_ISREG (st.st_mode) ? (guint64) st.st_size : 0;
    }
}

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st; (void) flag; (void) ftw;
  return remove (path) == 0 || errno == ENOENT ? 0 : 0;
}

StrandWorker *
strand_worker_start (const StrandTaskSpec *spec, StrandErrorClass *error_class, GError **error)
{
  int saved = 0;
  *error_class = STRAND_ERROR_NONE;
  if (spec->scratch_bytes > 0)
    {
      /* The nearest folder that exists tells the file system's free space. */
      g_autofree char *where = g_strdup (spec->work_dir);
      struct statvfs vfs;
      while (statvfs (where, &vfs) != 0 && strcmp (where, "/") != 0 && strcmp (where, ".") != 0)
        {
          char *up = g_path_get_dirname (where);
          g_free (where);
          where = up;
        }
      if ((guint64) vfs.f_bavail * vfs.f_frsize < spec->scratch_bytes)
        {
          *error_class = STRAND_ERROR_STORAGE;
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
                       "not enough scratch space in %s: %" G_GUINT64_FORMAT " bytes free, %"
                       G_GUINT64_FORMAT " needed", where, (guint64) vfs.f_bavail * vfs.f_frsize,
                       spec->scratch_bytes);
          return NULL;
        }
    }
  g_autofree char *log_path = g_build_filename (spec->work_dir, "task.log", NULL);
  int fds[2] = { -1, -1 };
  if (pipe2 (fds, O_CLOEXEC) != 0)
    {
      saved = errno;
      *error_class = STRAND_ERROR_RESOURCE;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot make a pipe for a worker: %s", g_strerror (saved));
      return NULL;
    }
  char *cgroup_dir = cgroup_create (spec->memory_bytes);
  const char *program = worker_program ();
  guint64 base_rss = program ? 0 : resident_bytes ();
  pid_t host = getpid ();
  fflush (NULL);
  g_autoptr (JsonNode) node = program ? strand_task_spec_to_json (spec) : NULL;
  g_autofree char *text = node ? json_to_string (node, FALSE) : NULL;
  pid_t pid = program ? spawn_worker (program, text, fds[1], host, cgroup_dir, &saved) : fork ();
  if (pid < 0)
    {
      if (!program)
        saved = errno;
      close (fds[0]);
      close (fds[1]);
      if (cgroup_dir)
        g_rmdir (cgroup_dir);
      g_free (cgroup_dir);
      *error_class = STRAND_ERROR_RESOURCE;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot fork a worker: %s",
                   g_strerror (saved));
      return NULL;
    }
  if (pid == 0 && !program)
    {
      close (fds[0]);
      worker_main (spec, fds[1], log_path, host, cgroup_dir);
    }
  close (fds[1]);
  StrandWorker *w = g_new0 (StrandWorker, 1);
  w->spec = spec;
  w->pid = pid;
  w->fd = fds[0];
  w->pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  w->pending = g_string_new (NULL);
  w->cgroup_dir = cgroup_dir;
  w->base_rss = base_rss;
  w->result = strand_task_result_new ();
  w->result->log_path = g_steal_pointer (&log_path);
  w->result->start_us = strand_clock_now_us ();
  return w;
}

int
strand_worker_fd (StrandWorker *w)
{
  return w->fd;
}

int
strand_worker_pidfd (StrandWorker *w)
{
  return w->pidfd;
}

gboolean
strand_worker_read (StrandWorker *w)
{
  if (w->fd < 0)
    return FALSE;
  char buf[65536];
  for (;;)
    {
      ssize_t n = read (w->fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return TRUE;
      if (n <= 0)
        {
          close (w->fd);
          w->fd = -1;
          return FALSE;
        }
      g_string_append_len (w->pending, buf, n);
      char *nl;
      while ((nl = memchr (w->pending->str, '\n', w->pending->len)) != NULL)
        {
          *nl = '\0';
          take_message (w, w->pending->str);
          g_string_erase (w->pending, 0, (gssize) (nl - w->pending->str) + 1);
        }
      /* One read per call: the owner's loop polls again, so one chatty
       * worker does not starve the others. */
      return TRUE;
    }
}

gboolean
strand_worker_reap (StrandWorker *w, gboolean block)
{
  if (w->reaped)
    return TRUE;
  pid_t got;
  do
    got = wait4 (w->pid, &w->status, block ? 0 : WNOHANG, &w->usage);
  while (got < 0 && errno == EINTR);
  if (got != w->pid)
    return FALSE;
  w->reaped = TRUE;
  return TRUE;
}

void
strand_worker_kill (StrandWorker *w, int sig, StrandKillReason why)
{
  if (w->reaped)
    return;
  if (w->killed == STRAND_KILL_NONE)
    w->killed = why;
  kill (w->pid, sig);
}

static void
worker_close (StrandWorker *w)
{
  if (w->fd >= 0)
    close (w->fd);
  if (w->pidfd >= 0)
    close (w->pidfd);
  if (w->cgroup_dir)
    g_rmdir (w->cgroup_dir);
  g_free (w->cgroup_dir);
  g_string_free (w->pending, TRUE);
  g_free (w);
}

StrandTaskResult *
strand_worker_finish (StrandWorker *w)
{
  while (strand_worker_read (w))
    ;
  strand_worker_reap (w, TRUE);
  StrandTaskResult *r = g_steal_pointer (&w->result);
  r->end_us = strand_clock_now_us ();
  r->exit_status = WIFEXITED (w->status) ? WEXITSTATUS (w->status) : -1;
  r->term_signal = WIFSIGNALED (w->status) ? WTERMSIG (w->status) : 0;
  r->max_rss_bytes = (guint64) MAX (w->usage.ru_maxrss, 0) * 1024;
  r->cpu_us = (gint64) (w->usage.ru_utime.tv_sec + w->usage.ru_stime.tv_sec) * G_USEC_PER_SEC +
              w->usage.ru_utime.tv_usec + w->usage.ru_stime.tv_usec;

  StrandWorkerExit e = {
    .started = TRUE,
    .exit_status = r->exit_status,
    .term_signal = r->term_signal,
    .killed_by_host = w->killed,
    .timeout_us = w->spec->timeout_us,
    .max_rss_bytes = r->max_rss_bytes,
    .base_rss_bytes = w->base_rss,
    .memory_limit_bytes = w->spec->memory_bytes,
    .cgroup_oom_kills = w->cgroup_dir ? cgroup_oom_kills (w->cgroup_dir) : 0,
    .memory_exhausted = w->oom_seen,
    .done_seen = w->done_seen,
    .done_status = w->done_status,
    .fail_seen = w->fail_seen,
    .reported_class = r->error_class,
    .reported_message = r->message,
    .log_path = r->log_path,
  };
  g_autofree char *message = NULL;
  StrandErrorClass cls = strand_classify_exit (&e, &message);
  if (cls == STRAND_ERROR_NONE)
    {
      r->ok = TRUE;
      r->error_class = STRAND_ERROR_NONE;
      g_clear_pointer (&r->message, g_free);
      check_outputs (r);
    }
  else
    fail (r, cls, "%s", message);
  g_autofree char *scratch = g_build_filename (w->spec->work_dir, "scratch", NULL);
  nftw (scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  worker_close (w);
  return r;
}

void
strand_worker_free (StrandWorker *w)
{
  if (w == NULL)
    return;
  if (!w->reaped)
    {
      kill (w->pid, SIGKILL);
      strand_worker_reap (w, TRUE);
    }
  strand_task_result_free (w->result);
  worker_close (w);
}

StrandTaskResult *
strand_worker_run (const StrandTaskSpec *spec)
{
  StrandErrorClass cls;
  g_autoptr (GError) error = NULL;
  StrandWorker *w = strand_worker_start (spec, &cls, &error);
  if (w == NULL)
    {
      StrandTaskResult *r = strand_task_result_new ();
      r->start_us = r->end_us = strand_clock_now_us ();
      fail (r, cls, "%s", error->message);
      return r;
    }
  gint64 deadline = spec->timeout_us > 0 ? strand_clock_monotonic_us () + spec->timeout_us : 0;
  for (;;)
    {
      int wait_ms = -1;
      if (deadline)
        {
          gint64 left = deadline - strand_clock_monotonic_us ();
          if (left <= 0)
            {
              strand_worker_kill (w, SIGKILL, STRAND_KILL_TIMEOUT);
              break;
            }
          wait_ms = (int) MIN (left / 1000 + 1, G_MAXINT);
        }
      struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
      int pr = poll (&pfd, 1, wait_ms);
      if (pr < 0 && errno == EINTR)
        continue;
      if (pr > 0 && !strand_worker_read (w))
        break;
    }
  return strand_worker_finish (w);
}

pid_t
strand_worker_start_checks (GPtrArray *specs, guint first, int *report_fd, GError **error)
{
  *report_fd = -1;
  int fds[2] = { -1, -1 };
  if (pipe2 (fds, O_CLOEXEC) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot make a pipe for a worker: %s", g_strerror (saved));
      return -1;
    }
  const char *program = worker_program ();
  g_autofree char *text = NULL;
  if (program != NULL)
    {
      /* The plugin's description once, not once per task: each task is
       * written with an empty stand-in, which the worker replaces. */
      const StrandPluginInfo *plugin = ((StrandTaskSpec *) specs->pdata[0])->plugin;
      g_autoptr (StrandPluginInfo) stand_in = strand_plugin_info_new ();
      g_autoptr (JsonNode) plugin_node = strand_plugin_info_to_json (plugin);
      g_autofree char *plugin_text = json_to_string (plugin_node, FALSE);
      GString *all = g_string_new (NULL);
      g_string_append_printf (all, "{\"first\":%u,\"plugin\":%s,\"validate\":[", first, plugin_text);
      for (guint i = first; i < specs->len; i++)
        {
          StrandTaskSpec *spec = specs->pdata[i];
          spec->plugin = stand_in;
          g_autoptr (JsonNode) one = strand_task_spec_to_json (spec);
          spec->plugin = plugin;
          g_autofree char *one_text = json_to_string (one, FALSE);
          g_string_append (all, one_text);
          g_string_append_c (all, i + 1 < specs->len ? ',' : ']');
        }
      if (first >= specs->len)
        g_string_append_c (all, ']');
      g_string_append_c (all, '}');
      text = g_string_free (all, FALSE);
    }
  pid_t host = getpid ();
  int saved = 0;
  fflush (NULL);
  pid_t pid = program ? spawn_worker (program, text, fds[1], host, NULL, &saved) : fork ();
  if (pid < 0 && !program)
    saved = errno;
  if (pid == 0 && !program)
    {
      close (fds[0]);
      checks_main ((StrandTaskSpec *const *) specs->pdata + first, specs->len - MIN (first, specs->len),
                   first, fds[1], host);
    }
  close (fds[1]);
  if (pid < 0)
    {
      close (fds[0]);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot start a worker: %s",
                   g_strerror (saved));
      return -1;
    }
  *report_fd = fds[0];
  return pid;
}
