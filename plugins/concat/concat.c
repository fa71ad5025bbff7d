/* concat: joins all files on its input, in order, byte for byte.
 *
 * The output is one file named by the "file_name" parameter. It copies with
 * read(2)/write(2) through one 1 MiB buffer, so memory does not grow with
 * the input, and it carries the format of its inputs through ("any"). */
#include <strand/strand-sdk.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUFFER_SIZE (1u << 20)
#define PROGRESS_SHIFT 26 /* report progress every 64 MiB */

/* Reads the "file_name" parameter and checks it names a plain file in the
 * output directory. */
static int
get_file_name (StrandTask *task, const StrandHost *host, const char **name)
{
  if (host->param_string (task, "file_name", name) < 0 || *name == NULL)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "cannot read parameter file_name");
  const char *s = *name;
  if (s[0] == '\0')
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "param 'file_name': must not be empty");
  if (strchr (s, '/') != NULL)
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "param 'file_name': '%s' contains '/'; give a file "
                       "name, not a path",
                       s);
  if (s[0] == '.')
    return host->fail (task, STRAND_ERROR_CONFIG,
                       "param 'file_name': '%s' starts with '.'", s);
  return STRAND_OK;
}

static int
validate (StrandTask *task, const StrandHost *host)
{
  const char *name;
  return get_file_name (task, host, &name);
}

/* Writes all of `buf`, resuming after short writes and signals. Returns 0 or
 * an errno value. */
static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return errno;
        }
      if (n == 0)
        return EIO;
      buf += n;
      len -= (size_t) n;
    }
  return 0;
}

/* Appends the file at `in_path` to `out_fd`. `done`/`total` track bytes
 * for progress. */
static int
copy_file (StrandTask *task, const StrandHost *host, const char *in_path,
           int out_fd, const char *out_path, char *buf, uint64_t *done,
           uint64_t total)
{
  int in_fd;
  do
    in_fd = open (in_path, O_RDONLY | O_CLOEXEC);
  while (in_fd < 0 && errno == EINTR);
  if (in_fd < 0)
    {
      int err = errno;
      return host->fail (task, strand_error_class_from_errno (err), "%s: cannot open: %s",
                         in_path, strerror (err));
    }

  int ret = STRAND_OK;
  for (;;)
    {
      if (host->cancelled (task))
        {
          host->log (task, STRAND_LOG_INFO, "cancelled while copying %s",
                     in_path);
          ret = STRAND_E_CANCELLED;
          break;
        }
      ssize_t n = read (in_fd, buf, BUFFER_SIZE);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          int err = errno;
          ret = host->fail (task, strand_error_class_from_errno (err), "%s: read failed: %s",
                            in_path, strerror (err));
          break;
        }
      if (n == 0)
        break;
      int err = write_all (out_fd, buf, (size_t) n);
      if (err != 0)
        {
          ret = host->fail (task, strand_error_class_from_errno (err),
                            "%s: write failed: %s", out_path, strerror (err));
          break;
        }
      uint64_t before = *done;
      *done += (uint64_t) n;
      if (total > 0 && (before >> PROGRESS_SHIFT) != (*done >> PROGRESS_SHIFT))
        host->progress (task, (double) *done / (double) total, "copying");
    }
  close (in_fd);
  return ret;
}

static int
run (StrandTask *task, const StrandHost *host)
{
  const char *file_name;
  int ret = get_file_name (task, host, &file_name);
  if (ret != STRAND_OK)
    return ret;

  int count = host->input_count (task, "in");
  if (count < 0)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "cannot list the inputs of port 'in'");

  /* Sizes first, for progress; a missing input is caught when opened. */
  uint64_t total = 0;
  for (int i = 0; i < count; i++)
    {
      const char *p = host->input_path (task, "in", (size_t) i);
      struct stat st;
      if (p != NULL && stat (p, &st) == 0 && st.st_size > 0)
        total += (uint64_t) st.st_size;
    }

  const char *out_path = NULL;
  if (host->output_path (task, "out", file_name, &out_path) < 0
      || out_path == NULL)
    return host->fail (task, STRAND_ERROR_INTERNAL,
                       "no output path for port 'out' and file '%s'",
                       file_name);

  char *buf = malloc (BUFFER_SIZE);
  if (buf == NULL)
    return host->fail (task, STRAND_ERROR_RESOURCE,
                       "out of memory for a %u-byte copy buffer",
                       BUFFER_SIZE);

  int out_fd;
  do
    out_fd = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  while (out_fd < 0 && errno == EINTR);
  if (out_fd < 0)
    {
      int err = errno;
      free (buf);
      return host->fail (task, strand_error_class_from_errno (err), "%s: cannot create: %s",
                         out_path, strerror (err));
    }

  uint64_t done = 0;
  for (int i = 0; i < count && ret == STRAND_OK; i++)
    {
      const char *in_path = host->input_path (task, "in", (size_t) i);
      if (in_path == NULL)
        ret = host->fail (task, STRAND_ERROR_INTERNAL,
                          "no path for input %d of port 'in'", i);
      else
        ret = copy_file (task, host, in_path, out_fd, out_path, buf, &done,
                         total);
    }
  free (buf);

  /* close() is where NFS and some quotas report a failed write. */
  if (close (out_fd) != 0 && ret == STRAND_OK && errno != EINTR)
    {
      int err = errno;
      ret = host->fail (task, strand_error_class_from_errno (err), "%s: write failed: %s",
                        out_path, strerror (err));
    }
  if (ret != STRAND_OK)
    return ret;

  host->metric (task, "files", (double) count);
  host->metric (task, "bytes", (double) done);
  host->progress (task, 1.0, "done");
  return STRAND_OK;
}

static const StrandPort inputs[] = {
  { .name = "in", .formats = STRAND_FORMAT_ANY, .flags = STRAND_PORT_MULTIPLE,
    .description = "files to join, in order" },
};

static const StrandPort outputs[] = {
  { .name = "out", .formats = STRAND_FORMAT_ANY, .flags = 0,
    .description = "the inputs, one after another, byte for byte" },
};

static const StrandParamSpec params[] = {
  { .name = "file_name", .type = STRAND_PARAM_STRING, .flags = 0,
    .description = "name of the output file (no '/', no leading '.')",
    .default_value = "concatenated" },
};

static const StrandResources resources = {
  .cores = 1,
  .memory_bytes = 8u << 20,
  .output_bytes = 0, /* the sum of the inputs: not known in advance */
  .expected_seconds = 2.0,
};

static const StrandPolicyRule policy[] = {
  { .error_class = STRAND_ERROR_TRANSIENT, .action = STRAND_ACTION_RETRY,
    .max_attempts = 3, .backoff_ms = 1000 },
  { .error_class = STRAND_ERROR_RESOURCE,
    .action = STRAND_ACTION_RETRY_ESCALATE, .max_attempts = 3,
    .escalate_factor = 1.5 },
  { .error_class = STRAND_ERROR_INVALID_INPUT,
    .action = STRAND_ACTION_FAIL_SAMPLE, .max_attempts = 1 },
};

static const StrandStageDescriptor descriptor = {
  STRAND_DESCRIPTOR_HEADER,
  .name = "concat",
  .version = "0.1.0",
  .description = "Concatenates its input files, in order, into one file",
  .license = "Apache-2.0",
  .url = NULL,
  .flags = STRAND_STAGE_DETERMINISTIC,
  .inputs = inputs,
  .n_inputs = STRAND_N_ELEMENTS (inputs),
  .outputs = outputs,
  .n_outputs = STRAND_N_ELEMENTS (outputs),
  .params = params,
  .n_params = STRAND_N_ELEMENTS (params),
  .policy = policy,
  .n_policy = STRAND_N_ELEMENTS (policy),
  .resources = &resources,
  .run = run,
  .validate = validate,
};

STRAND_STAGE_DEFINE (descriptor);
