#include "plugin-load.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ltdl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounds on what a descriptor may declare; beyond them it is garbage. */
#define MAX_PORTS 256
#define MAX_PARAMS 1024
#define MAX_RULES 64

#if defined(__x86_64__)
#define HOST_ELF_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_ELF_MACHINE EM_AARCH64
#elif defined(__riscv)
#define HOST_ELF_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_ELF_MACHINE EM_PPC64
#elif defined(__s390x__)
#define HOST_ELF_MACHINE EM_S390
#else
#define HOST_ELF_MACHINE EM_NONE /* not checked */
#endif

struct StrandPluginModule {
  lt_dlhandle handle;
  guint declared_size;
  StrandStageDescriptor desc; /* today's layout */
  /* Re-strided copies when the plugin's element sizes differ from ours. */
  StrandPort *inputs;
  StrandPort *outputs;
  StrandParamSpec *params;
  StrandPolicyRule *policy;
  StrandResources resources;
};

static void G_GNUC_PRINTF (3, 4)
set_error (GError **error, StrandPluginErrorCode code, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error_literal (error, STRAND_PLUGIN_ERROR, code, msg);
}

static gboolean
read_exact (int fd, void *buf, gsize len, guint64 offset)
{
  gsize done = 0;
  while (done < len)
    {
      ssize_t n = pread (fd, (char *) buf + done, len - done, (off_t) (offset + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += (gsize) n;
    }
  return TRUE;
}

static gboolean
check_elf (int fd, guint64 file_size, GError **error)
{
  Elf64_Ehdr eh;
  memset (&eh, 0, sizeof eh);
  if (file_size < EI_NIDENT || !read_exact (fd, eh.e_ident, EI_NIDENT, 0) ||
      memcmp (eh.e_ident, ELFMAG, SELFMAG) != 0)
    {
      set_error (error, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT,
                 "not a shared object (no ELF header)");
      return FALSE;
    }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB + (G_BYTE_ORDER == G_BIG_ENDIAN))
    {
      set_error (error, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT,
                 "not a shared object for this machine (ELF class %u, data %u)",
                 eh.e_ident[EI_CLASS], eh.e_ident[EI_DATA]);
      return FALSE;
    }
  if (file_size < sizeof eh || !read_exact (fd, &eh, sizeof eh, 0))
    {
      set_error (error, STRAND_PLUGIN_ERROR_CORRUPT,
                 "truncated: %" G_GUINT64_FORMAT " bytes, shorter than an ELF header",
                 file_size);
      return FALSE;
    }
  if (eh.e_type != ET_DYN)
    {
      set_error (error, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT,
                 "not a shared object (ELF type %u; build with shared_module() or -shared)",
                 eh.e_type);
      return FALSE;
    }
  if (HOST_ELF_MACHINE != EM_NONE && eh.e_machine != HOST_ELF_MACHINE)
    {
      set_error (error, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT,
                 "built for another architecture (ELF machine %u, this host is %u)",
                 eh.e_machine, HOST_ELF_MACHINE);
      return FALSE;
    }
  if (eh.e_phentsize != sizeof (Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 4096)
    {
      set_error (error, STRAND_PLUGIN_ERROR_CORRUPT,
                 "corrupted ELF header (%u program headers of %u bytes)", eh.e_phnum,
                 eh.e_phentsize);
      return FALSE;
    }
  /* Everything the headers promise must lie inside the file. */
  guint64 need = eh.e_phoff + (guint64) eh.e_phnum * eh.e_phentsize;
  if (eh.e_shnum > 0)
    need = MAX (need, eh.e_shoff + (guint64) eh.e_shnum * eh.e_shentsize);
  if (need > file_size)
    {
      set_error (error, STRAND_PLUGIN_ERROR_CORRUPT,
                 "truncated: %" G_GUINT64_FORMAT " bytes, its ELF headers end at %" G_GUINT64_FORMAT,
                 file_size, need);
      return FALSE;
    }
  for (guint i = 0; i < eh.e_phnum; i++)
    {
      Elf64_Phdr ph;
      if (!read_exact (fd, &ph, sizeof ph, eh.e_phoff + (guint64) i * sizeof ph))
        {
          set_error (error, STRAND_PLUGIN_ERROR_CORRUPT, "unreadable program header %u", i);
          return FALSE;
        }
      if (ph.p_type == PT_INTERP)
        {
          /* A position-independent executable is ET_DYN too. */
          set_error (error, STRAND_PLUGIN_ERROR_NOT_SHARED_OBJECT,
                     "not a shared object but an executable (it names a program "
                     "interpreter); build with shared_module() or -shared");
          return FALSE;
        }
      if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > file_size)
        {
          set_error (error, STRAND_PLUGIN_ERROR_CORRUPT,
                     "truncated: %" G_GUINT64_FORMAT " bytes, a loadable segment ends at %"
                     G_GUINT64_FORMAT, file_size, (guint64) (ph.p_offset + ph.p_filesz));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_dir_not_world_writable (const char *file, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (file);
  struct stat dst;
  if (stat (dir, &dst) == 0 && (dst.st_mode & S_IWOTH))
    {
      set_error (error, STRAND_PLUGIN_ERROR_UNSAFE_PERMISSIONS,
                 "refused: its directory %s is world-writable, so anyone could replace "
                 "the plugin (chmod o-w %s)", dir, dir);
      return FALSE;
    }
  return TRUE;
}

gboolean
strand_plugin_file_check (const char *path, GError **error)
{
  /* Both the directory named and, through symlinks, the one really holding
   * the file must be safe. */
  if (!check_dir_not_world_writable (path, error))
    return FALSE;
  g_autofree char *real = realpath (path, NULL);
  if (real != NULL && strcmp (real, path) != 0 && !check_dir_not_world_writable (real, error))
    return FALSE;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 && errno == ELOOP)
    fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a symlink: check its target */
  if (fd < 0)
    {
      set_error (error, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE, "cannot open: %s",
                 g_strerror (errno));
      return FALSE;
    }
  struct stat st;
  gboolean ok = FALSE;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    set_error (error, STRAND_PLUGIN_ERROR_NOT_REGULAR_FILE, "not a regular file");
  else if (st.st_mode & S_IWOTH)
    set_error (error, STRAND_PLUGIN_ERROR_UNSAFE_PERMISSIONS,
               "refused: the file is world-writable, so anyone could replace it "
               "(chmod o-w %s)", path);
  else
    ok = check_elf (fd, (guint64) st.st_size, error);
  close (fd);
  return ok;
}

static void
ltdl_init_once (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      if (lt_dlinit () != 0)
        g_error ("libltdl failed to initialise: %s", lt_dlerror ());
      g_once_init_leave (&done, 1);
    }
}

/* Copies `n` elements of `declared` bytes each into an array of `ours`-byte
 * elements, zero-filling members the plugin's SDK did not have. */
static gpointer
restride (const void *src, guint32 n, gsize declared, gsize ours)
{
  if (src == NULL || n == 0)
    return NULL;
  guint8 *dst = g_malloc0_n (n, ours);
  for (guint32 i = 0; i < n; i++)
    memcpy (dst + i * ours, (const guint8 *) src + i * declared, MIN (declared, ours));
  return dst;
}

static gboolean
check_element_size (const char *what, guint declared, gsize ours, guint32 count,
                    GError **error)
{
  if (count > 0 && declared < ours)
    {
      set_error (error, STRAND_PLUGIN_ERROR_BAD_SIZE,
                 "descriptor declares %s of %u bytes, below the %zu of ABI %d.0",
                 what, declared, ours, STRAND_ABI_MAJOR);
      return FALSE;
    }
  return TRUE;
}

StrandPluginModule *
strand_plugin_module_open (const char *path, GError **error)
{
  if (!strand_plugin_file_check (path, error))
    return NULL;
  ltdl_init_once ();

  lt_dladvise advise;
  lt_dladvise_init (&advise);
  lt_dladvise_local (&advise); /* one plugin's symbols never capture another's */
  lt_dlhandle handle = lt_dlopenadvise (path, advise);
  lt_dladvise_destroy (&advise);
  if (handle == NULL)
    {
      /* libltdl folds the dynamic loader's reason into "file not found";
       * ask the loader itself, which refuses the file the same way. */
      g_autofree char *why = g_strdup (lt_dlerror ());
      void *probe = dlopen (path, RTLD_NOW | RTLD_LOCAL);
      if (probe == NULL)
        {
          g_free (why);
          why = g_strdup (dlerror ());
        }
      else
        dlclose (probe);
      set_error (error, STRAND_PLUGIN_ERROR_CORRUPT, "the dynamic loader refused it: %s",
                 why ? why : "unknown error");
      return NULL;
    }

  g_autoptr (StrandPluginModule) module = g_new0 (StrandPluginModule, 1);
  module->handle = handle;

  typedef const StrandStageDescriptor *(*EntryFunc) (void);
  EntryFunc entry = (EntryFunc) lt_dlsym (handle, STRAND_STAGE_ENTRY_SYMBOL);
  if (entry == NULL)
    {
      set_error (error, STRAND_PLUGIN_ERROR_NO_ENTRY,
                 "no entry symbol '%s' (define it with STRAND_STAGE_DEFINE)",
                 STRAND_STAGE_ENTRY_SYMBOL);
      return NULL;
    }
  const StrandStageDescriptor *raw = entry ();
  if (raw == NULL)
    {
      set_error (error, STRAND_PLUGIN_ERROR_BAD_MAGIC, "the entry function returned NULL");
      return NULL;
    }
  if (raw->magic != STRAND_DESCRIPTOR_MAGIC)
    {
      set_error (error, STRAND_PLUGIN_ERROR_BAD_MAGIC,
                 "descriptor magic is 0x%08x, expected 0x%08x (start it with "
                 "STRAND_DESCRIPTOR_HEADER)", raw->magic, STRAND_DESCRIPTOR_MAGIC);
      return NULL;
    }
  if (raw->abi_major != STRAND_ABI_MAJOR)
    {
      set_error (error, STRAND_PLUGIN_ERROR_ABI_MAJOR,
                 "built for Strand ABI %u.%u, this host speaks ABI %d.%d: rebuild the "
                 "plugin against SDK %d.x", raw->abi_major, raw->abi_minor,
                 STRAND_ABI_MAJOR, STRAND_ABI_MINOR, STRAND_ABI_MAJOR);
      return NULL;
    }
  if (raw->struct_size < STRAND_DESCRIPTOR_MIN_SIZE || raw->struct_size > 65536)
    {
      set_error (error, STRAND_PLUGIN_ERROR_BAD_SIZE,
                 "descriptor size %u is outside %zu..65536", raw->struct_size,
                 (gsize) STRAND_DESCRIPTOR_MIN_SIZE);
      return NULL;
    }
  module->declared_size = raw->struct_size;
  memcpy (&module->desc, raw, MIN ((gsize) raw->struct_size, sizeof module->desc));

  StrandStageDescriptor *d = &module->desc;
  if (d->n_inputs > MAX_PORTS || d->n_outputs > MAX_PORTS || d->n_params > MAX_PARAMS ||
      d->n_policy > MAX_RULES)
    {
      set_error (error, STRAND_PLUGIN_ERROR_BAD_SIZE,
                 "descriptor declares %u inputs, %u outputs, %u params, %u policy rules: "
                 "limits are %d, %d, %d, %d", d->n_inputs, d->n_outputs, d->n_params,
                 d->n_policy, MAX_PORTS, MAX_PORTS, MAX_PARAMS, MAX_RULES);
      return NULL;
    }
  if ((d->inputs == NULL && d->n_inputs) || (d->outputs == NULL && d->n_outputs) ||
      (d->params == NULL && d->n_params) || (d->policy == NULL && d->n_policy))
    {
      set_error (error, STRAND_PLUGIN_ERROR_BAD_SIZE,
                 "descriptor declares elements behind a NULL array");
      return NULL;
    }
  if (!check_element_size ("ports", d->port_size, sizeof (StrandPort),
                           d->n_inputs + d->n_outputs, error) ||
      !check_element_size ("params", d->param_size, sizeof (StrandParamSpec), d->n_params,
                           error) ||
      !check_element_size ("policy rules", d->rule_size, sizeof (StrandPolicyRule),
                           d->n_policy, error) ||
      !check_element_size ("resources", d->resources_size, sizeof (StrandResources),
                           d->resources != NULL, error))
    return NULL;

  module->inputs = restride (d->inputs, d->n_inputs, d->port_size, sizeof (StrandPort));
  module->outputs = restride (d->outputs, d->n_outputs, d->port_size, sizeof (StrandPort));
  module->params = restride (d->params, d->n_params, d->param_size, sizeof (StrandParamSpec));
  module->policy = restride (d->policy, d->n_policy, d->rule_size, sizeof (StrandPolicyRule));
  if (d->resources != NULL)
    memcpy (&module->resources, d->resources, sizeof module->resources);
  d->inputs = module->inputs;
  d->outputs = module->outputs;
  d->params = module->params;
  d->policy = module->policy;
  d->resources = d->resources != NULL ? &module->resources : NULL;
  d->port_size = sizeof (StrandPort);
  d->param_size = sizeof (StrandParamSpec);
  d->rule_size = sizeof (StrandPolicyRule);
  d->resources_size = sizeof (StrandResources);
  return g_steal_pointer (&module);
}

void
strand_plugin_module_close (StrandPluginModule *module)
{
  if (module == NULL)
    return;
  if (module->handle != NULL)
    lt_dlclose (module->handle);
  g_free (module->inputs);
  g_free (module->outputs);
  g_free (module->params);
  g_free (module->policy);
  g_free (module);
}

const StrandStageDescriptor *
strand_plugin_module_descriptor (StrandPluginModule *module)
{
  return &module->desc;
}

guint
strand_plugin_module_declared_size (StrandPluginModule *module)
{
  return module->declared_size;
}
