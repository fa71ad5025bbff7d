/* Checks of input data files: opening, sniffing, digests, manifests. The
 * formats and the compression layer live in datacheck-*.c.
 *
 * Problem codes (stable; `where` is "PATH", "PATH:LINE", "PATH: record N" or
 * "PATH: byte N"):
 *
 *   file-missing, file-unreadable, not-a-regular-file, empty-file
 *   unknown-format          the declared format is not one Strand knows
 *   unrecognised-format     no format declared, and the content is none we check
 *   format-mismatch         the content is another format than the declared one
 *   unsupported-compression bzip2, xz, zstd: htslib cannot read them here
 *   not-bgzf                BAM or BCF compressed with plain gzip
 *   checksum-invalid        a declared digest is not hex of the right length
 *   checksum-mismatch       the file's digest is not the declared one
 *   truncated-gzip, gzip-corrupt, gzip-trailing-data
 *   truncated-bgzf, bgzf-corrupt, bgzf-missing-eof
 *   fastq-malformed, fastq-truncated, fastq-invalid-base, fastq-invalid-quality,
 *   fastq-length-mismatch, fastq-name-mismatch
 *   fasta-malformed, fasta-invalid-base, fasta-empty-sequence (warning)
 *   trailing-blank-lines (warning), line-too-long
 *   sam-header-malformed, sam-malformed, sam-truncated, sam-invalid-base,
 *   sam-invalid-quality, sam-unknown-contig, sam-position-out-of-range,
 *   sam-cigar-length-mismatch
 *   cram-no-reference, cram-reference-unreadable, cram-missing-eof, cram-decode-failed
 *   vcf-header-malformed, vcf-malformed, vcf-truncated, vcf-invalid-pos,
 *   vcf-unknown-contig, vcf-invalid-ref, vcf-invalid-alt, vcf-undefined-tag (warning)
 *   too-many-problems (warning: more problems than are listed)
 *   manifest-unreadable, manifest-malformed, manifest-duplicate
 */
#include "datacheck-private.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <strand/stage.h>

#include "digest.h"
#include "formats.h"

#define DEFAULT_PREFIX_BYTES (G_GUINT64_CONSTANT (64) << 20)
/* Below this size a file is read by one thread: a pool costs more than it saves. */
#define THREADS_MIN_SIZE (G_GUINT64_CONSTANT (4) << 20)

const guint8 dc_iupac[256] = {
  ['A'] = 1, ['C'] = 1, ['G'] = 1, ['T'] = 1, ['N'] = 1, ['R'] = 1, ['Y'] = 1, ['S'] = 1,
  ['W'] = 1, ['K'] = 1, ['M'] = 1, ['B'] = 1, ['D'] = 1, ['H'] = 1, ['V'] = 1,
  ['a'] = 1, ['c'] = 1, ['g'] = 1, ['t'] = 1, ['n'] = 1, ['r'] = 1, ['y'] = 1, ['s'] = 1,
  ['w'] = 1, ['k'] = 1, ['m'] = 1, ['b'] = 1, ['d'] = 1, ['h'] = 1, ['v'] = 1,
};

void
strand_data_summary_clear (StrandDataSummary *summary)
{
  g_clear_pointer (&summary->format, g_free);
  g_clear_pointer (&summary->compression, g_free);
  g_clear_pointer (&summary->samples, g_ptr_array_unref);
  g_clear_pointer (&summary->contigs, g_ptr_array_unref);
  g_clear_pointer (&summary->sha256, g_free);
  g_clear_pointer (&summary->md5, g_free);
  memset (summary, 0, sizeof *summary);
}

/* Problems and where they are. */

void
dc_problem (DcFile *f, gboolean warning, const char *code, const char *where,
            const char *format, ...)
{
  if (!warning)
    f->errors++;
  if (f->listed >= DC_MAX_PROBLEMS)
    {
      f->unlisted++;
      return;
    }
  va_list ap;
  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  strand_problems_add (f->problems, warning, code, where, "%s", message);
  f->listed++;
}

char *
dc_where_line (DcFile *f, guint64 line)
{
  return g_strdup_printf ("%s:%" G_GUINT64_FORMAT, f->display, line);
}

char *
dc_where_record (DcFile *f, guint64 record)
{
  return g_strdup_printf ("%s: record %" G_GUINT64_FORMAT, f->display, record);
}

char *
dc_where_byte (DcFile *f, guint64 offset)
{
  return g_strdup_printf ("%s: byte %" G_GUINT64_FORMAT, f->display, offset);
}

const char *
dc_byte_repr (guint8 c, char buf[16])
{
  if (c >= 0x21 && c < 0x7f && c != '\'')
    g_snprintf (buf, 16, "'%c'", c);
  else if (c == ' ')
    g_snprintf (buf, 16, "a space");
  else if (c == '\t')
    g_snprintf (buf, 16, "a tab");
  else if (c == '\r')
    g_snprintf (buf, 16, "a carriage return");
  else
    g_snprintf (buf, 16, "byte 0x%02x", c);
  return buf;
}

/* htslib's log level is global: the first checker in silences it, the last
 * out restores it. */
static GMutex quiet_lock;
static guint quiet_depth;
static enum htsLogLevel quiet_saved;

void
dc_hts_quiet_begin (void)
{
  g_mutex_lock (&quiet_lock);
  if (quiet_depth++ == 0)
    {
      quiet_saved = hts_get_log_level ();
      hts_set_log_level (HTS_LOG_OFF);
    }
  g_mutex_unlock (&quiet_lock);
}

void
dc_hts_quiet_end (void)
{
  g_mutex_lock (&quiet_lock);
  if (--quiet_depth == 0)
    hts_set_log_level (quiet_saved);
  g_mutex_unlock (&quiet_lock);
}

/* Digests, computed by a second reader beside the checks so that a whole
 * file is hashed in the time it takes to parse it. */

typedef struct {
  int fd;
  gboolean want_sha256, want_md5;
  char sha256[STRAND_SHA256_HEX_LEN + 1];
  char md5[33];
  int error;        /* errno of a failed read, or 0 */
  guint64 bytes;
  gboolean small;   /* a small buffer will do */
} DcDigest;

static void
hex_encode (const guint8 *raw, guint len, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (guint i = 0; i < len; i++)
    {
      out[2 * i] = digits[raw[i] >> 4];
      out[2 * i + 1] = digits[raw[i] & 0xf];
    }
  out[2 * len] = '\0';
}

static gpointer
digest_run (gpointer data)
{
  DcDigest *d = data;
  g_autoptr (StrandSha256) sha = d->want_sha256 ? strand_sha256_new () : NULL;
  EVP_MD_CTX *md5 = NULL;
  if (d->want_md5)
    {
      md5 = EVP_MD_CTX_new ();
      if (md5 == NULL || EVP_DigestInit_ex (md5, EVP_md5 (), NULL) != 1)
        g_error ("libcrypto could not initialise MD5");
    }
  gsize size = d->small ? 64 << 10 : 1 << 20;
  g_autofree guint8 *buf = g_malloc (size);
  guint64 off = 0;
  for (;;)
    {
      ssize_t n = pread (d->fd, buf, size, (off_t) off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          d->error = errno;
          break;
        }
      if (n == 0)
        break;
      if (sha)
        strand_sha256_update (sha, buf, (gsize) n);
      if (md5 && EVP_DigestUpdate (md5, buf, (size_t) n) != 1)
        g_error ("libcrypto MD5 update failed");
      off += (guint64) n;
    }
  d->bytes = off;
  if (sha)
    strand_sha256_finish_hex (sha, d->sha256);
  if (md5)
    {
      guint8 raw[16];
      unsigned int n = 0;
      if (EVP_DigestFinal_ex (md5, raw, &n) != 1 || n != 16)
        g_error ("libcrypto MD5 final failed");
      hex_encode (raw, 16, d->md5);
      EVP_MD_CTX_free (md5);
    }
  return NULL;
}

/* A declared digest, lower-cased, or NULL with a problem when malformed. */
static char *
declared_digest (DcFile *f, const char *text, guint hex_len, const char *name)
{
  if (text == NULL)
    return NULL;
  gsize len = strlen (text);
  gboolean ok = len == hex_len;
  for (gsize i = 0; ok && i < len; i++)
    ok = g_ascii_isxdigit (text[i]);
  if (!ok)
    {
      g_autofree char *shown = g_utf8_make_valid (text, MIN (len, 80));
      dc_problem (f, FALSE, "checksum-invalid", dc_where_file (f),
                  "the declared %s '%s' is not %u hexadecimal digits", name, shown, hex_len);
      return NULL;
    }
  return g_ascii_strdown (text, -1);
}

/* Formats. */

static const char *
format_name (enum htsExactFormat format)
{
  switch (format)
    {
    case sam: return STRAND_FORMAT_SAM;
    case bam: return STRAND_FORMAT_BAM;
    case cram: return STRAND_FORMAT_CRAM;
    case vcf: return STRAND_FORMAT_VCF;
    case bcf: return STRAND_FORMAT_BCF;
    case fastq_format: return STRAND_FORMAT_FASTQ;
    case fasta_format: return STRAND_FORMAT_FASTA;
    case bed: return STRAND_FORMAT_BED;
    case text_format: return STRAND_FORMAT_TEXT;
    case empty_format: return "empty";
    case bai: return "bai";
    case crai: return "crai";
    case csi: return "csi";
    case tbi: return "tbi";
    case gzi: return "gzi";
    case fai_format: return "fai";
    case fqi_format: return "fqi";
    default: return "unknown";
    }
}

static const char *
compression_name (enum htsCompression compression)
{
  switch (compression)
    {
    case no_compression: return "none";
    case gzip: return "gzip";
    case bgzf: return "bgzf";
    case bzip2_compression: return "bzip2";
    case xz_compression: return "xz";
    case zstd_compression: return "zstd";
    default: return "other";
    }
}

/* The formats whose content is checked, by the name a port declares. */
static enum htsExactFormat
checked_format (const char *name)
{
  static const struct { const char *name; enum htsExactFormat format; } table[] = {
    { STRAND_FORMAT_SAM, sam }, { STRAND_FORMAT_BAM, bam }, { STRAND_FORMAT_CRAM, cram },
    { STRAND_FORMAT_VCF, vcf }, { STRAND_FORMAT_BCF, bcf }, { STRAND_FORMAT_FASTQ, fastq_format },
    { STRAND_FORMAT_FASTA, fasta_format },
  };
  for (guint i = 0; name && i < G_N_ELEMENTS (table); i++)
    if (strcmp (table[i].name, name) == 0)
      return table[i].format;
  return unknown_format;
}

static gboolean
is_text_parsed_by_us (enum htsExactFormat format)
{
  return format == fastq_format || format == fasta_format;
}

/* htslib's sniffer calls a FASTQ "text" when its first record is damaged;
 * then the first byte decides, so that our parser can say what is wrong. */
static enum htsExactFormat
sniff_damaged (hFILE *hf, enum htsCompression compression)
{
  guint8 in[16384], out[256];
  ssize_t got = hpeek (hf, in, sizeof in);
  gsize n = 0;
  if (got <= 0)
    return unknown_format;
  if (compression == no_compression)
    {
      n = MIN ((gsize) got, sizeof out);
      memcpy (out, in, n);
    }
  else
    {
      z_stream z = { 0 };
      if (inflateInit2 (&z, 15 + 16) != Z_OK)
        return unknown_format;
      z.next_in = in;
      z.avail_in = (uInt) got;
      z.next_out = out;
      z.avail_out = sizeof out;
      (void) inflate (&z, Z_NO_FLUSH);
      n = sizeof out - z.avail_out;
      inflateEnd (&z);
    }
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isspace (out[i]))
      return out[i] == '@' ? fastq_format : out[i] == '>' ? fasta_format : unknown_format;
  return unknown_format;
}

static void
check_content (DcFile *f, hFILE *hf, enum htsExactFormat as)
{
  switch (as)
    {
    case fastq_format:
      dc_check_fastq (f, hf);
      break;
    case fasta_format:
      dc_check_fasta (f, hf);
      break;
    case sam:
    case bam:
    case cram:
      dc_check_sam (f, hf);
      break;
    case vcf:
    case bcf:
      dc_check_vcf (f, hf);
      break;
    default:
      {
        /* Not a format whose records we read: still prove the compression. */
        if (f->compression == gzip && (f->options->deep || f->size <= THREADS_MIN_SIZE))
          dc_gzip_verify (f);
        f->summary->complete = FALSE;
        hclose_abruptly (hf);
      }
    }
}

static int
open_file (DcFile *f, const StrandCheckOptions *options, gboolean *is_dir)
{
  *is_dir = FALSE;
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  int fd = open (f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      int e = errno;
      if (e == ENOENT || e == ENOTDIR)
        dc_problem (f, FALSE, "file-missing", dc_where_file (f), "no such file");
      else
        dc_problem (f, FALSE, "file-unreadable", dc_where_file (f), "cannot be opened: %s",
                    g_strerror (e));
      return -1;
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      int e = errno;
      dc_problem (f, FALSE, "file-unreadable", dc_where_file (f), "cannot be examined: %s",
                  g_strerror (e));
      close (fd);
      return -1;
    }
  if (S_ISDIR (st.st_mode))
    {
      *is_dir = TRUE;
      if (g_strcmp0 (options->format, STRAND_FORMAT_BCL_RUN) != 0)
        dc_problem (f, FALSE, "not-a-regular-file", dc_where_file (f),
                    "is a directory, not a data file");
      close (fd);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      dc_problem (f, FALSE, "not-a-regular-file", dc_where_file (f),
                  "is not a regular file (a device, FIFO or socket)");
      close (fd);
      return -1;
    }
  int flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    (void) fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
  f->size = (guint64) st.st_size;
  return fd;
}

static void
set_string (char **field, const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

/* Sniffs the content and hands it to the checks of its format. */
static void
check_content_of (DcFile *f)
{
  const StrandCheckOptions *options = f->options;
  StrandDataSummary *summary = f->summary;
  guint threads = options->threads ? options->threads : g_get_num_processors ();
  f->threads = f->size >= THREADS_MIN_SIZE ? MIN (threads, 64) : 0;
  /* A second descriptor for htslib; ours is only used with pread(). */
  int fd2 = dup (f->fd);
  hFILE *hf = fd2 >= 0 ? hdopen (fd2, "r") : NULL;
  htsFormat fmt = { 0 };
  if (hf == NULL || hts_detect_format2 (hf, NULL, &fmt) < 0)
    {
      int e = errno;
      dc_problem (f, FALSE, "file-unreadable", dc_where_file (f), "cannot be read: %s",
                  g_strerror (e ? e : EIO));
      if (hf)
        hclose_abruptly (hf);
      else if (fd2 >= 0)
        close (fd2);
      return;
    }
  gboolean readable_compression = fmt.compression == no_compression || fmt.compression == gzip ||
                                  fmt.compression == bgzf || fmt.format == cram;
  if ((fmt.format == text_format || fmt.format == unknown_format) && readable_compression)
    {
      enum htsExactFormat guess = sniff_damaged (hf, fmt.compression);
      if (guess != unknown_format)
        fmt.format = guess;
    }
  f->sniffed = fmt.format;
  /* CRAM compresses inside its own containers. */
  f->compression = fmt.format == cram ? no_compression : fmt.compression;
  set_string (&summary->format, format_name (fmt.format));
  set_string (&summary->compression,
              fmt.format == cram ? "cram" : compression_name (fmt.compression));

  enum htsExactFormat declared = checked_format (options->format);
  enum htsExactFormat as = checked_format (format_name (fmt.format));
  if (!readable_compression)
    {
      dc_problem (f, FALSE, "unsupported-compression", dc_where_file (f),
                  "%s compression cannot be read; use gzip or bgzip",
                  compression_name (fmt.compression));
      hclose_abruptly (hf);
      return;
    }
  if (fmt.format == empty_format)
    {
      dc_problem (f, FALSE, "empty-file", dc_where_file (f),
                  "the file holds no data once decompressed");
      hclose_abruptly (hf);
      return;
    }
  if (declared != unknown_format && declared != fmt.format)
    {
      if (as == unknown_format && is_text_parsed_by_us (declared))
        {
          /* Not recognisably FASTQ/FASTA: our parser says where and why. */
          as = declared;
          set_string (&summary->format, options->format);
        }
      else
        {
          g_autofree char *desc = hts_format_description (&fmt);
          dc_problem (f, FALSE, "format-mismatch", dc_where_file (f),
                      "declared %s, but the file is %s", options->format,
                      desc ? desc : format_name (fmt.format));
        }
    }
  else if (options->format == NULL && as == unknown_format)
    {
      g_autofree char *desc = hts_format_description (&fmt);
      dc_problem (f, FALSE, "unrecognised-format", dc_where_file (f),
                  "not a FASTQ, FASTA, SAM, BAM, CRAM, VCF or BCF file (looks like %s); "
                  "declare its format to check it anyway", desc ? desc : "unknown data");
    }
  if ((fmt.format == bam || fmt.format == bcf) && fmt.compression == gzip)
    dc_problem (f, FALSE, "not-bgzf", dc_where_file (f),
                "%s must be BGZF-compressed (bgzip), not plain gzip", format_name (fmt.format));
  if (f->compression == bgzf)
    dc_bgzf_check_ends (f);
  check_content (f, hf, as);
}

static void
digest_finish (DcFile *f, DcDigest *digest, const char *want_sha256, const char *want_md5)
{
  if (digest->error != 0)
    {
      dc_problem (f, FALSE, "file-unreadable", dc_where_file (f),
                  "read failed while computing its digest: %s", g_strerror (digest->error));
      return;
    }
  if (digest->want_sha256)
    {
      if (want_sha256 != NULL && strcmp (want_sha256, digest->sha256) != 0)
        dc_problem (f, FALSE, "checksum-mismatch", dc_where_file (f),
                    "SHA-256 is %s, but %s was declared", digest->sha256, want_sha256);
      set_string (&f->summary->sha256, digest->sha256);
    }
  if (digest->want_md5)
    {
      if (strcmp (want_md5, digest->md5) != 0)
        dc_problem (f, FALSE, "checksum-mismatch", dc_where_file (f),
                    "MD5 is %s, but %s was declared", digest->md5, want_md5);
      set_string (&f->summary->md5, digest->md5);
    }
}

/* An open regular file: digests beside the content checks. */
static void
check_open_file (DcFile *f, const char *want_sha256, const char *want_md5)
{
  DcDigest digest = {
    .fd = f->fd,
    .want_sha256 = want_sha256 != NULL || f->options->deep,
    .want_md5 = want_md5 != NULL,
    .small = f->size < THREADS_MIN_SIZE,
  };
  gboolean hashing = digest.want_sha256 || digest.want_md5;
  GThread *thread = NULL;
  if (hashing && digest.small)
    digest_run (&digest); /* a small file: a thread would cost more */
  else if (hashing)
    thread = g_thread_new ("strand-digest", digest_run, &digest);

  if (f->size == 0)
    {
      dc_problem (f, FALSE, "empty-file", dc_where_file (f), "the file is empty");
      set_string (&f->summary->format, "empty");
      f->summary->complete = TRUE;
    }
  else
    check_content_of (f);

  if (thread != NULL)
    g_thread_join (thread);
  if (hashing)
    digest_finish (f, &digest, want_sha256, want_md5);
}

gboolean
strand_check_file (const char *path, const StrandCheckOptions *options,
                   StrandDataSummary *summary, GPtrArray *problems)
{
  g_return_val_if_fail (path != NULL && problems != NULL, FALSE);
  StrandCheckOptions defaults = { 0 };
  if (options == NULL)
    options = &defaults;
  g_auto (StrandDataSummary) local = { 0 };
  if (summary == NULL)
    summary = &local;
  else
    strand_data_summary_clear (summary);
  summary->format = g_strdup ("unknown");
  summary->compression = g_strdup ("none");
  summary->samples = g_ptr_array_new_with_free_func (g_free);
  summary->contigs = g_ptr_array_new_with_free_func (g_free);

  g_autofree char *display = g_filename_display_name (path);
  DcFile f = {
    .path = path,
    .display = display,
    .options = options,
    .summary = summary,
    .problems = problems,
    .fd = -1,
    .budget = options->deep ? G_MAXUINT64
              : options->prefix_bytes ? options->prefix_bytes : DEFAULT_PREFIX_BYTES,
    .damaged_from = -1,
  };

  /* htslib logs to stderr from every layer (BGZF, sniffing, parsers). */
  dc_hts_quiet_begin ();
  if (options->format != NULL && !strand_format_is_known (options->format))
    dc_problem (&f, FALSE, "unknown-format", dc_where_file (&f),
                "'%s' is not a format Strand knows", options->format);
  g_autofree char *want_sha256 = declared_digest (&f, options->sha256, 64, "SHA-256");
  g_autofree char *want_md5 = declared_digest (&f, options->md5, 32, "MD5");

  gboolean is_dir = FALSE;
  f.fd = open_file (&f, options, &is_dir);
  if (f.fd >= 0)
    {
      summary->size = f.size;
      check_open_file (&f, want_sha256, want_md5);
      close (f.fd);
    }
  else if (is_dir && g_strcmp0 (options->format, STRAND_FORMAT_BCL_RUN) == 0)
    set_string (&summary->format, STRAND_FORMAT_BCL_RUN); /* a run folder: not ours to read */

  if (f.unlisted > 0)
    {
      guint unlisted = f.unlisted;
      f.listed = 0; /* this one is always listed */
      dc_problem (&f, TRUE, "too-many-problems", dc_where_file (&f),
                  "%u more problem%s found but not listed", unlisted, unlisted == 1 ? "" : "s");
    }
  dc_hts_quiet_end ();
  return f.errors == 0;
}

/* Manifests. */

void
strand_manifest_entry_free (StrandManifestEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->path);
  g_free (entry->sha256);
  g_free (entry->md5);
  g_free (entry);
}

static gboolean
all_hex (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* Undoes the escaping of `sha256sum` for names holding '\\' or a newline. */
static char *
unescape_name (const char *s, gsize len)
{
  GString *out = g_string_sized_new (len);
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '\\' && i + 1 < len)
        {
          char c = s[++i];
          if (c == 'n')
            g_string_append_c (out, '\n');
          else if (c == 'r')
            g_string_append_c (out, '\r');
          else if (c == '\\')
            g_string_append_c (out, '\\');
          else
            {
              g_string_free (out, TRUE);
              return NULL;
            }
        }
      else if (s[i] == '\\')
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      else
        g_string_append_c (out, s[i]);
    }
  return g_string_free (out, FALSE);
}

/* Parses one line into (hex, name) or returns FALSE with `why` set. */
static gboolean
parse_manifest_line (const char *line, gsize len, char **hex_out, char **name_out,
                     const char **why)
{
  gboolean escaped = FALSE;
  if (len > 0 && line[0] == '\\')
    {
      escaped = TRUE;
      line++;
      len--;
    }
  /* BSD tag form: "SHA256 (name) = hex" or "MD5 (name) = hex". */
  const char *tags[] = { "SHA256 (", "MD5 (" };
  for (guint t = 0; t < G_N_ELEMENTS (tags); t++)
    {
      gsize tl = strlen (tags[t]);
      if (len > tl && strncmp (line, tags[t], tl) == 0)
        {
          const char *eq = g_strrstr_len (line, (gssize) len, ") = ");
          if (eq == NULL || eq < line + tl)
            {
              *why = "a BSD-style line needs 'ALGO (NAME) = HEX'";
              return FALSE;
            }
          const char *hex = eq + 4;
          gsize hex_len = len - (gsize) (hex - line);
          gsize want = t == 0 ? 64 : 32;
          if (hex_len != want || !all_hex (hex, hex_len))
            {
              *why = t == 0 ? "the SHA256 digest is not 64 hexadecimal digits"
                            : "the MD5 digest is not 32 hexadecimal digits";
              return FALSE;
            }
          gsize name_len = (gsize) (eq - (line + tl));
          *name_out = escaped ? unescape_name (line + tl, name_len)
                              : g_strndup (line + tl, name_len);
          if (*name_out == NULL || **name_out == '\0')
            {
              g_clear_pointer (name_out, g_free);
              *why = "the file name is empty or badly escaped";
              return FALSE;
            }
          *hex_out = g_ascii_strdown (hex, (gssize) hex_len);
          return TRUE;
        }
    }
  /* GNU form: "hex  name" (text) or "hex *name" (binary). */
  gsize hex_len = 0;
  while (hex_len < len && line[hex_len] != ' ' && line[hex_len] != '\t')
    hex_len++;
  if (hex_len != 64 && hex_len != 32)
    {
      *why = "expected a 64-digit SHA-256 or 32-digit MD5, two spaces and a file name";
      return FALSE;
    }
  if (!all_hex (line, hex_len))
    {
      *why = "the digest holds characters that are not hexadecimal";
      return FALSE;
    }
  if (len < hex_len + 2 || line[hex_len] != ' ' || (line[hex_len + 1] != ' ' && line[hex_len + 1] != '*'))
    {
      *why = "the digest must be followed by two spaces (or ' *') and a file name";
      return FALSE;
    }
  const char *name = line + hex_len + 2;
  gsize name_len = len - hex_len - 2;
  if (name_len == 0)
    {
      *why = "the file name is missing";
      return FALSE;
    }
  *name_out = escaped ? unescape_name (name, name_len) : g_strndup (name, name_len);
  if (*name_out == NULL)
    {
      *why = "the file name is badly escaped";
      return FALSE;
    }
  *hex_out = g_ascii_strdown (line, (gssize) hex_len);
  return TRUE;
}

GPtrArray *
strand_manifest_load (const char *path, GPtrArray *problems)
{
  g_return_val_if_fail (path != NULL && problems != NULL, NULL);
  g_autofree char *display = g_filename_display_name (path);
  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      strand_problems_add (problems, FALSE, "manifest-unreadable", display, "%s",
                           error->message);
      return NULL;
    }
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_canonicalize_filename (dir, NULL);
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) strand_manifest_entry_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint lineno = 0;
  guint listed = 0;
  const char *p = contents, *end = contents + length;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      const char *line_end = nl ? nl : end;
      gsize len = (gsize) (line_end - p);
      lineno++;
      if (len > 0 && p[len - 1] == '\r')
        len--;
      const char *line = p;
      p = nl ? nl + 1 : end;
      gboolean blank = TRUE;
      for (gsize i = 0; blank && i < len; i++)
        blank = line[i] == ' ' || line[i] == '\t';
      if (blank)
        continue;
      g_autofree char *where = g_strdup_printf ("%s:%u", display, lineno);
      if (listed >= DC_MAX_PROBLEMS)
        continue;
      if (memchr (line, '\0', len) != NULL)
        {
          strand_problems_add (problems, FALSE, "manifest-malformed", where,
                               "the line holds a NUL byte; is this a checksum list?");
          listed++;
          continue;
        }
      g_autofree char *hex = NULL, *name = NULL;
      const char *why = NULL;
      if (!parse_manifest_line (line, len, &hex, &name, &why))
        {
          strand_problems_add (problems, FALSE, "manifest-malformed", where, "%s", why);
          listed++;
          continue;
        }
      StrandManifestEntry *e = g_new0 (StrandManifestEntry, 1);
      e->path = g_canonicalize_filename (name, base);
      e->line = lineno;
      if (strlen (hex) == 64)
        e->sha256 = g_steal_pointer (&hex);
      else
        e->md5 = g_steal_pointer (&hex);
      StrandManifestEntry *before = g_hash_table_lookup (seen, e->path);
      if (before != NULL)
        {
          g_autofree char *shown = g_filename_display_name (name);
          gboolean same = g_strcmp0 (before->sha256, e->sha256) == 0 &&
                          g_strcmp0 (before->md5, e->md5) == 0;
          strand_problems_add (problems, same, "manifest-duplicate", where,
                               "%s is already listed on line %u%s", shown, before->line,
                               same ? "" : " with another digest");
          listed++;
          strand_manifest_entry_free (e);
          continue;
        }
      g_hash_table_insert (seen, e->path, e);
      g_ptr_array_add (entries, e);
    }
  return entries;
}
